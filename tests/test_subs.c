/*
 * TAXII subscriptions as the node serves them: every Manage Collection Subscription action
 * against a real server over a real store (each answer checked against the TAXII 1.1
 * XSD), status transitions, unknown ids, polls by subscription; the same through the
 * TAXII client (taxii_client_subscription, taxii_client_poll_sub, in 1.1 and 1.0); push
 * delivery to a subscriber's inbox on 127.0.0.1 (batches, pause, resume without a gap, a
 * subscriber that fails or is down); and client certificates made at test time with the
 * openssl tool (no certificate, one from another CA, a good one, an encrypted client key).
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>

#include "conf/conf.h"
#include "node/node_daemon.h"
#include "fed/fed.h"
#include "record/record.h"
#include "store/store.h"
#include "taxii/taxii.h"
#include "tests/tap.h"
#include "tests/xsd.h"
#include "util/util.h"

static char dir[] = "/tmp/c2w-subs-XXXXXX";
static xmlSchemaPtr schema11, schema10;
static int n_checked, n_invalid;

static void
quiet(void *ctx, const char *fmt, ...)
{
	(void)ctx;
	(void)fmt;
}

/* ---------------------------------------------------------------------------------------
 * The node under test and its records
 */

struct node {
	struct conf *conf;
	struct store *store;
	struct fed_server *taxii;
	unsigned port;
};

static struct node a;
static int record_seq;

static json_t *
make_record(int i)
{
	char input[128], idhex[65], when[UTIL_TIME_MAX];
	unsigned char id[STORE_ID_LEN];
	int64_t at = INT64_C(1795320000000000) + (int64_t)i * 60000000;

	snprintf(input, sizeof(input), "http://c2-%d.example/gate.php", i % 7);
	rec_id("node-a", input, at, id);
	util_hex(id, STORE_ID_LEN, idhex);
	util_time_format(at, 0, when);
	return json_pack("{s:s, s:s, s:s, s:s, s:s,"
			 " s:{s:s, s:s, s:[s], s:[], s:i, s:s},"
			 " s:n, s:n, s:n, s:n}",
	    "id", idhex, "threat_id", "APT-SUB", "node", "node-a", "vantage", "tokyo",
	    "observed_at", when,
	    "target", "input", input, "domain", "c2.example", "ipv4", "203.0.113.5", "ipv6",
	    "port", 80, "user_agent", "Mozilla/5.0",
	    "ping", "robots", "http", "error");
}

/* Adds n new records to the node's store; they enter with labels later than any before. */
static int
add_records(int n)
{
	json_t *arr = json_array();
	struct fed_merge_stats st;
	char why[256], err[512] = "";
	int rc;

	for (int i = 0; i < n; i++)
		json_array_append_new(arr, make_record(record_seq++));
	rc = fed_put_records(a.store, arr, &st, why, sizeof(why), err, sizeof(err));
	json_decref(arr);
	if (rc != 0 || (int)st.added != n)
		tap_diag("add_records: %s%s (added %zu)", why, err, st.added);
	return rc == 0 && (int)st.added == n ? 0 : -1;
}

static int
node_up(struct node *n, const char *name, const char *extra)
{
	char text[4096], path[512], err[512];
	struct conf_err cerr;
	struct store_err serr;

	snprintf(path, sizeof(path), "%s/%s.conf", dir, name);
	snprintf(text, sizeof(text),
	    "[node]\nid = node-a\ndata_dir = %s/node-a\n[server]\nlisten = 127.0.0.1:0\n%s",
	    dir, extra ? extra : "");
	n->conf = conf_load_string(text, path, &cerr);
	if (n->conf == NULL) {
		tap_diag("%s", cerr.msg);
		return -1;
	}
	if (n->store == NULL &&
	    store_open(n->conf->node.data_dir, &(struct store_opts){.no_sync = 1}, &n->store,
		&serr) != 0) {
		tap_diag("%s", serr.msg);
		return -1;
	}
	n->taxii = fed_server_start(n->conf, n->store, NULL, err, sizeof(err));
	if (n->taxii == NULL) {
		tap_diag("%s", err);
		return -1;
	}
	n->port = fed_server_port(n->taxii, 0);
	return 0;
}

/* ---------------------------------------------------------------------------------------
 * HTTP
 */

struct tls_opts {
	const char *ca, *cert, *key;
};

struct resp {
	struct util_buf body;
	long http;
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;

	return util_buf_add(&r->body, p, size * n) == 0 ? size * n : 0;
}

static const char *userpwd; /* "user:password" for HTTP Basic, or NULL */

static int
post(const char *url, const char *body, size_t len, const struct tls_opts *tls,
    enum taxii_version ver, struct resp *r)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	CURLcode cc;

	memset(r, 0, sizeof(*r));
	util_buf_init(&r->body, 16 << 20);
	if (c == NULL)
		return -1;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	if (tls != NULL) {
		curl_easy_setopt(c, CURLOPT_CAINFO, tls->ca);
		if (tls->cert != NULL) {
			curl_easy_setopt(c, CURLOPT_SSLCERT, tls->cert);
			curl_easy_setopt(c, CURLOPT_SSLKEY, tls->key);
		}
	}
	if (userpwd != NULL) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERPWD, userpwd);
	}
	h = curl_slist_append(h, "Content-Type: application/xml");
	if (ver == TAXII_V10) {
		h = curl_slist_append(h, "X-TAXII-Content-Type: " TAXII_MSG_BINDING_10);
		h = curl_slist_append(h, "X-TAXII-Services: " TAXII_SERVICES_10);
		h = curl_slist_append(h, "X-TAXII-Accept: " TAXII_MSG_BINDING_10);
	} else {
		h = curl_slist_append(h, "X-TAXII-Content-Type: " TAXII_MSG_BINDING_11);
		h = curl_slist_append(h, "X-TAXII-Services: " TAXII_SERVICES_11);
		h = curl_slist_append(h, "X-TAXII-Accept: " TAXII_MSG_BINDING_11);
	}
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->http);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (cc != CURLE_OK)
		tap_diag("curl %s: %s", url, curl_easy_strerror(cc));
	return cc == CURLE_OK ? 0 : -1;
}

static int
schema_valid(const struct util_buf *b, enum taxii_version ver)
{
	return xsd_valid(ver == TAXII_V10 ? schema10 : schema11, b->data, b->len, 0);
}

/* Sends `m` to path of `port` (https with tls), parses and XSD-checks the answer. */
static struct taxii_msg *
exchange_at(unsigned port, const struct tls_opts *tls, const char *path,
    const struct taxii_msg *m, long *http)
{
	struct util_buf b;
	struct taxii_msg *back = NULL;
	struct taxii_err err;
	struct resp r;
	char url[256];

	util_buf_init(&b, 0);
	if (taxii_msg_write(m, &b, &err) != 0) {
		tap_diag("build: %s", err.msg);
		util_buf_fini(&b);
		return NULL;
	}
	snprintf(url, sizeof(url), "%s://127.0.0.1:%u%s", tls ? "https" : "http", port, path);
	if (post(url, b.data, b.len, tls, m->version, &r) == 0) {
		if (taxii_msg_parse(r.body.data ? r.body.data : "", r.body.len, m->version, &back,
			&err) != 0)
			tap_diag("response does not parse: %s", err.msg);
		if (schema11 != NULL && schema10 != NULL && back != NULL) {
			n_checked++;
			if (!schema_valid(&r.body, m->version)) {
				n_invalid++;
				tap_diag("response does not validate: %.600s", r.body.data);
			}
		}
	}
	if (http != NULL)
		*http = r.http;
	util_buf_fini(&r.body);
	util_buf_fini(&b);
	return back;
}

static unsigned target_port; /* the server exchange() talks to; 0: node a's */

static struct taxii_msg *
exchange(const char *path, const struct taxii_msg *m)
{
	return exchange_at(target_port ? target_port : a.port, NULL, path, m, NULL);
}

static char msg_id[TAXII_ID_MAX];

static void
base(struct taxii_msg *m, enum taxii_msg_type type)
{
	memset(m, 0, sizeof(*m));
	taxii_msg_id_new(msg_id);
	m->version = TAXII_V11;
	m->type = type;
	m->message_id = msg_id;
}

static const char *const mb11[] = { TAXII_MSG_BINDING_11 };

/* A Subscription_Management_Request; push_addr NULL: no Push_Parameters. */
static struct taxii_msg *
manage(const char *collection, enum taxii_sub_action action, const char *id,
    const char *push_addr)
{
	struct taxii_contact push = { TAXII_PROTOCOL_HTTP, push_addr, { mb11, 1 } };
	struct taxii_msg m;

	base(&m, TAXII_MSG_SUBSCRIPTION_REQ);
	m.collection = collection;
	m.action = action;
	m.subscription_id = id;
	if (push_addr != NULL)
		m.push = &push;
	return exchange("/taxii/collections", &m);
}

static int
is_status(const struct taxii_msg *m, enum taxii_status st)
{
	return m != NULL && m->type == TAXII_MSG_STATUS && m->status == st;
}

/* The answer carries exactly one subscription, `id` (NULL: any) in status st. */
static int
one_sub(const struct taxii_msg *m, const char *id, enum taxii_sub_status st)
{
	if (m == NULL || m->type != TAXII_MSG_SUBSCRIPTION_RESP || m->n_subscriptions != 1) {
		if (m != NULL && m->type == TAXII_MSG_STATUS)
			tap_diag("status %s: %s", m->status_type, m->message ? m->message : "");
		return 0;
	}
	return (id == NULL || strcmp(m->subscriptions[0].id, id) == 0) &&
	    m->subscriptions[0].status == st;
}

/* ---------------------------------------------------------------------------------------
 * A subscriber: an inbox that records what it is pushed
 */

#define SUB_MAX 4096

struct subscriber {
	pthread_mutex_t lock;
	int64_t labels[SUB_MAX];
	size_t n;
	size_t messages;
	int fail; /* answer FAILURE, storing nothing */
	struct taxii_server *srv;
	unsigned port;
	char inbox[128];
};

static struct subscriber sub;

static int
sub_poll(void *ctx, const char *collection, int64_t begin_us, int64_t end_us, size_t offset,
    size_t limit, taxii_record_cb cb, void *arg, char *err, size_t errlen)
{
	(void)ctx, (void)collection, (void)begin_us, (void)end_us, (void)offset, (void)limit;
	(void)cb, (void)arg, (void)err, (void)errlen;
	return 0;
}

static int
sub_count(void *ctx, const char *collection, int64_t begin_us, int64_t end_us,
    uint64_t *count, char *err, size_t errlen)
{
	(void)ctx, (void)collection, (void)begin_us, (void)end_us, (void)err, (void)errlen;
	*count = 0;
	return 0;
}

static int
sub_inbox(void *ctx, const char *collection, const struct taxii_content_block *blocks,
    size_t n_blocks, char *err, size_t errlen)
{
	struct subscriber *s = ctx;
	int ret = 0;

	(void)collection;
	pthread_mutex_lock(&s->lock);
	if (s->fail) {
		snprintf(err, errlen, "subscriber refuses for now");
		ret = -1;
	} else {
		s->messages++;
		for (size_t i = 0; i < n_blocks && s->n < SUB_MAX; i++) {
			/* Each block is one whole STIX package with its feed label. */
			if (strstr(blocks[i].content, "STIX_Package") == NULL ||
			    !blocks[i].has_timestamp)
				ret = -1;
			s->labels[s->n++] = blocks[i].timestamp_us;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int
subscriber_up(unsigned port)
{
	struct taxii_server_conf sc;
	struct taxii_backend be;
	struct taxii_err err;
	char listen[64];

	snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
	memset(&sc, 0, sizeof(sc));
	sc.listen = listen;
	memset(&be, 0, sizeof(be));
	be.ctx = &sub;
	be.poll = sub_poll;
	be.count = sub_count;
	be.inbox = sub_inbox;
	if (taxii_server_new(&sc, &be, &sub.srv, &err) != 0) {
		tap_diag("subscriber on %s: %s", listen, err.msg);
		return -1;
	}
	sub.port = taxii_server_port(sub.srv, 0);
	snprintf(sub.inbox, sizeof(sub.inbox), "http://127.0.0.1:%u/taxii/inbox", sub.port);
	return 0;
}

/* Labels of the node's feed after `after`, into v (at most max); returns how many. */
struct labels {
	int64_t *v;
	size_t n, max;
};

static int
on_label(int64_t label, const unsigned char *id, const char *json, size_t len, void *arg)
{
	struct labels *l = arg;

	(void)id, (void)json, (void)len;
	if (l->n < l->max)
		l->v[l->n++] = label;
	return 0;
}

/* Whether the subscriber holds exactly the node's records after `after`, in order. */
static int
subscriber_has_all_after(int64_t after)
{
	static int64_t want[SUB_MAX];
	struct labels l = { want, 0, SUB_MAX };
	struct store_err err;
	int same;

	store_scan_feed(a.store, after, INT64_MAX, 0, on_label, &l, NULL, &err);
	pthread_mutex_lock(&sub.lock);
	same = l.n == sub.n && memcmp(want, sub.labels, l.n * sizeof(want[0])) == 0;
	if (!same)
		tap_diag("node holds %zu records after the subscription, subscriber got %zu",
		    l.n, sub.n);
	pthread_mutex_unlock(&sub.lock);
	return same;
}

/* ---------------------------------------------------------------------------------------
 * Tests
 */

static void
test_collections(void)
{
	struct taxii_msg m, *b;
	int obs = 0, tgt = 0;

	base(&m, TAXII_MSG_COLLECTION_INFO_REQ);
	b = exchange("/taxii/collections", &m);
	for (size_t i = 0; b != NULL && i < b->n_collections; i++) {
		const struct taxii_collection *c = &b->collections[i];

		if (strcmp(c->name, "observations") == 0)
			obs = c->n_subscription == 1 &&
			    strstr(c->subscription[0].address, "/taxii/collections") != NULL;
		if (strcmp(c->name, "targets") == 0)
			tgt = c->n_subscription == 0;
	}
	ok(obs, "Collection_Information_Response: observations offers a subscription service");
	ok(tgt, "the targets data set offers none");
	taxii_msg_free(b);
}

static void
test_actions(void)
{
	char id[TAXII_SUB_ID_MAX] = "", push_id[TAXII_SUB_ID_MAX] = "";
	struct taxii_msg *b;

	b = manage("observations", TAXII_SUB_SUBSCRIBE, NULL, NULL);
	ok(one_sub(b, NULL, TAXII_SUBST_ACTIVE), "SUBSCRIBE: one subscription, ACTIVE");
	if (b && b->n_subscriptions == 1) {
		const struct taxii_subscription *s = &b->subscriptions[0];

		snprintf(id, sizeof(id), "%s", s->id);
		ok(strncmp(s->id, "urn:c2watch:subscription:", 25) == 0 && strlen(s->id) == 57,
		    "with a random URN as Subscription_ID (%s)", s->id);
		ok(s->has_params && s->response_type == TAXII_RESP_FULL &&
		    s->content_bindings.n == 1 &&
		    strcmp(s->content_bindings.v[0], TAXII_CB_STIX_12) == 0,
		    "its Subscription_Parameters: FULL, STIX 1.2");
		ok(s->n_poll_instances == 1 &&
		    strstr(s->poll_instances[0].address, "/taxii/poll") != NULL,
		    "a Poll_Instance to fetch it from");
		ok(s->push == NULL, "no Push_Parameters when none were asked for");
		is_str(b->collection, "observations", "collection_name echoed");
	}
	taxii_msg_free(b);

	b = manage("observations", TAXII_SUB_SUBSCRIBE, NULL, "http://127.0.0.1:9/taxii/inbox");
	ok(one_sub(b, NULL, TAXII_SUBST_ACTIVE) && b->subscriptions[0].push &&
	    strcmp(b->subscriptions[0].push->address, "http://127.0.0.1:9/taxii/inbox") == 0 &&
	    strcmp(b->subscriptions[0].push->protocol, TAXII_PROTOCOL_HTTP) == 0 &&
	    strcmp(b->subscriptions[0].push->message_bindings.v[0], TAXII_MSG_BINDING_11) == 0,
	    "SUBSCRIBE with Push_Parameters: they are kept and echoed");
	if (b && b->n_subscriptions == 1)
		snprintf(push_id, sizeof(push_id), "%s", b->subscriptions[0].id);
	taxii_msg_free(b);

	b = manage("observations", TAXII_SUB_STATUS, id, NULL);
	ok(one_sub(b, id, TAXII_SUBST_ACTIVE), "STATUS by id: ACTIVE");
	taxii_msg_free(b);
	b = manage("observations", TAXII_SUB_STATUS, NULL, NULL);
	ok(b && b->type == TAXII_MSG_SUBSCRIPTION_RESP && b->n_subscriptions == 2,
	    "STATUS without an id lists every subscription");
	taxii_msg_free(b);

	b = manage("observations", TAXII_SUB_PAUSE, id, NULL);
	ok(one_sub(b, id, TAXII_SUBST_PAUSED), "PAUSE: PAUSED");
	taxii_msg_free(b);
	b = manage("observations", TAXII_SUB_STATUS, id, NULL);
	ok(one_sub(b, id, TAXII_SUBST_PAUSED), "STATUS after PAUSE: PAUSED (kept in the store)");
	taxii_msg_free(b);
	b = manage("observations", TAXII_SUB_PAUSE, id, NULL);
	ok(one_sub(b, id, TAXII_SUBST_PAUSED), "PAUSE twice: still PAUSED");
	taxii_msg_free(b);
	b = manage("observations", TAXII_SUB_RESUME, id, NULL);
	ok(one_sub(b, id, TAXII_SUBST_ACTIVE), "RESUME: ACTIVE");
	taxii_msg_free(b);
	b = manage("observations", TAXII_SUB_UNSUBSCRIBE, id, NULL);
	ok(one_sub(b, id, TAXII_SUBST_UNSUBSCRIBED), "UNSUBSCRIBE: UNSUBSCRIBED");
	taxii_msg_free(b);
	b = manage("observations", TAXII_SUB_UNSUBSCRIBE, id, NULL);
	ok(one_sub(b, id, TAXII_SUBST_UNSUBSCRIBED), "UNSUBSCRIBE twice: still UNSUBSCRIBED");
	taxii_msg_free(b);
	b = manage("observations", TAXII_SUB_RESUME, id, NULL);
	ok(is_status(b, TAXII_ST_NOT_FOUND), "RESUME after UNSUBSCRIBE: NOT_FOUND (it is final)");
	taxii_msg_free(b);
	b = manage("observations", TAXII_SUB_STATUS, id, NULL);
	ok(one_sub(b, id, TAXII_SUBST_UNSUBSCRIBED), "STATUS of an ended one: UNSUBSCRIBED");
	taxii_msg_free(b);

	static const enum taxii_sub_action acts[] = { TAXII_SUB_STATUS, TAXII_SUB_PAUSE,
		TAXII_SUB_RESUME, TAXII_SUB_UNSUBSCRIBE };
	for (size_t i = 0; i < 4; i++) {
		b = manage("observations", acts[i], "urn:c2watch:subscription:nope", NULL);
		ok(is_status(b, TAXII_ST_NOT_FOUND) && b->n_details == 1 &&
		    strcmp(b->details[0].value, "urn:c2watch:subscription:nope") == 0,
		    "unknown Subscription_ID (action %d): NOT_FOUND naming it", (int)acts[i]);
		taxii_msg_free(b);
	}
	b = manage("observations", TAXII_SUB_PAUSE, NULL, NULL);
	ok(is_status(b, TAXII_ST_BAD_MESSAGE), "PAUSE without an id: BAD_MESSAGE");
	taxii_msg_free(b);
	b = manage("targets", TAXII_SUB_SUBSCRIBE, NULL, NULL);
	ok(is_status(b, TAXII_ST_NOT_FOUND), "SUBSCRIBE to the targets data set: NOT_FOUND");
	taxii_msg_free(b);
	b = manage("nonesuch", TAXII_SUB_SUBSCRIBE, NULL, NULL);
	ok(is_status(b, TAXII_ST_NOT_FOUND), "SUBSCRIBE to an unknown collection: NOT_FOUND");
	taxii_msg_free(b);
	b = manage("targets", TAXII_SUB_STATUS, push_id, NULL);
	ok(is_status(b, TAXII_ST_NOT_FOUND), "a subscription is found only in its collection");
	taxii_msg_free(b);

	/* Push parameters this node cannot honour. */
	{
		struct taxii_contact push = { "urn:example:smtp", "mailto:x@example.org",
			{ mb11, 1 } };
		static const char *const mb_json[] = { "urn:taxii.mitre.org:message:json:1.1" };
		static const char *const cb_other[] = { "urn:example:other" };
		struct taxii_msg m;

		base(&m, TAXII_MSG_SUBSCRIPTION_REQ);
		m.collection = "observations";
		m.action = TAXII_SUB_SUBSCRIBE;
		m.push = &push;
		b = exchange("/taxii/collections", &m);
		ok(is_status(b, TAXII_ST_UNSUPPORTED_PROTOCOL) && b->n_details == 2,
		    "push over an unknown protocol: UNSUPPORTED_PROTOCOL listing HTTP and HTTPS");
		taxii_msg_free(b);
		push.protocol = TAXII_PROTOCOL_HTTP;
		push.address = "http://127.0.0.1:9/inbox";
		push.message_bindings.v = mb_json;
		b = exchange("/taxii/collections", &m);
		ok(is_status(b, TAXII_ST_UNSUPPORTED_MESSAGE),
		    "push in another message binding: UNSUPPORTED_MESSAGE");
		taxii_msg_free(b);
		push.message_bindings.v = mb11;
		push.address = "/taxii/inbox";
		b = exchange("/taxii/collections", &m);
		ok(is_status(b, TAXII_ST_BAD_MESSAGE), "a relative push address: BAD_MESSAGE");
		taxii_msg_free(b);
		push.protocol = TAXII_PROTOCOL_HTTPS;
		push.address = "http://127.0.0.1:9/inbox";
		b = exchange("/taxii/collections", &m);
		ok(is_status(b, TAXII_ST_BAD_MESSAGE), "an http address with the https binding: "
		    "BAD_MESSAGE");
		taxii_msg_free(b);
		m.push = NULL;
		m.has_poll_params = 1;
		m.content_bindings.v = cb_other;
		m.content_bindings.n = 1;
		b = exchange("/taxii/collections", &m);
		ok(is_status(b, TAXII_ST_UNSUPPORTED_CONTENT),
		    "a content binding it does not serve: UNSUPPORTED_CONTENT");
		taxii_msg_free(b);
	}
}

static struct taxii_msg *
poll_sub(const char *id)
{
	struct taxii_msg m;

	base(&m, TAXII_MSG_POLL_REQ);
	m.collection = "observations";
	m.subscription_id = id;
	return exchange("/taxii/poll", &m);
}

static void
test_poll_by_subscription(void)
{
	char id[TAXII_SUB_ID_MAX] = "", count_id[TAXII_SUB_ID_MAX] = "";
	struct taxii_msg m, *b;

	ok(add_records(3) == 0, "three records before the subscription");
	b = manage("observations", TAXII_SUB_SUBSCRIBE, NULL, NULL);
	if (b && b->n_subscriptions == 1)
		snprintf(id, sizeof(id), "%s", b->subscriptions[0].id);
	taxii_msg_free(b);
	base(&m, TAXII_MSG_SUBSCRIPTION_REQ);
	m.collection = "observations";
	m.action = TAXII_SUB_SUBSCRIBE;
	m.has_poll_params = 1;
	m.response_type = TAXII_RESP_COUNT_ONLY;
	b = exchange("/taxii/collections", &m);
	ok(one_sub(b, NULL, TAXII_SUBST_ACTIVE) &&
	    b->subscriptions[0].response_type == TAXII_RESP_COUNT_ONLY,
	    "a COUNT_ONLY subscription");
	if (b && b->n_subscriptions == 1)
		snprintf(count_id, sizeof(count_id), "%s", b->subscriptions[0].id);
	taxii_msg_free(b);

	b = poll_sub(id);
	ok(b && b->type == TAXII_MSG_POLL_RESP && b->n_blocks == 0 && b->subscription_id &&
	    strcmp(b->subscription_id, id) == 0,
	    "poll by Subscription_ID: nothing from before it was made, its id echoed");
	taxii_msg_free(b);
	ok(add_records(4) == 0, "four records after");
	b = poll_sub(id);
	ok(b && b->type == TAXII_MSG_POLL_RESP && b->n_blocks == 4 && b->has_record_count &&
	    b->record_count == 4, "poll by Subscription_ID: exactly the four");
	taxii_msg_free(b);
	b = poll_sub(count_id);
	ok(b && b->type == TAXII_MSG_POLL_RESP && b->n_blocks == 0 && b->record_count == 4,
	    "the COUNT_ONLY subscription polls a count of 4 and no content");
	taxii_msg_free(b);
	b = poll_sub("urn:c2watch:subscription:nope");
	ok(is_status(b, TAXII_ST_NOT_FOUND), "poll by an unknown Subscription_ID: NOT_FOUND");
	taxii_msg_free(b);
	taxii_msg_free(manage("observations", TAXII_SUB_UNSUBSCRIBE, id, NULL));
	b = poll_sub(id);
	ok(is_status(b, TAXII_ST_NOT_FOUND), "poll by an ended subscription: NOT_FOUND");
	taxii_msg_free(b);
	taxii_msg_free(manage("observations", TAXII_SUB_UNSUBSCRIBE, count_id, NULL));
}

/* ---------------------------------------------------------------------------------------
 * The client side: taxii_client_subscription and taxii_client_poll_sub against the node
 */

static int
count_block(void *arg, const struct taxii_content_block *b)
{
	(void)b;
	++*(int *)arg;
	return 0;
}

/* One action through the client; returns the subscription's status, or -1 on an error
 * (then err says why). */
static int
client_act(struct taxii_client_conf *c, enum taxii_sub_action action, const char *id,
    struct taxii_err *err)
{
	struct taxii_msg *m = NULL;
	int st = -1;

	if (taxii_client_subscription(c, "observations", action, id, NULL, &m, err) == 0)
		st = (int)m->subscriptions[0].status;
	taxii_msg_free(m);
	return st;
}

static void
test_client_manage(void)
{
	char url[128], id[TAXII_SUB_ID_MAX] = "";
	struct taxii_client_conf c;
	struct taxii_client_sub_req sr = { TAXII_RESP_FULL, NULL };
	struct taxii_msg *m = NULL;
	struct taxii_err err;
	int n = 0, rc;
	int64_t end = 0;

	memset(&c, 0, sizeof(c));
	memset(&err, 0, sizeof(err));
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/taxii/collections", a.port);
	c.url = url;
	c.version = TAXII_VANY;
	c.timeout_s = 10;

	rc = taxii_client_subscription(&c, "observations", TAXII_SUB_SUBSCRIBE, NULL, &sr, &m,
	    &err);
	ok(rc == 0 && m->n_subscriptions == 1 && m->subscriptions[0].status == TAXII_SUBST_ACTIVE,
	    "client: subscribe gives an active subscription (%s)", rc ? err.msg : "");
	if (rc == 0)
		snprintf(id, sizeof(id), "%s", m->subscriptions[0].id);
	taxii_msg_free(m);
	m = NULL;
	ok(add_records(5) == 0, "five records after the client subscribed");
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/taxii/poll", a.port);
	rc = taxii_client_poll_sub(&c, "observations", id, -1, INT64_MAX, count_block, &n, &end,
	    &err);
	ok(rc == 0 && n == 5 && end > 0, "client: a poll by the subscription gets exactly those "
	    "five (%d; %s)", n, rc ? err.msg : "");
	n = 0;
	rc = taxii_client_poll_sub(&c, "observations", id, end, INT64_MAX, count_block, &n, NULL,
	    &err);
	ok(rc == 0 && n == 0, "client: and nothing past its end label");

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/taxii/collections", a.port);
	is_int(client_act(&c, TAXII_SUB_STATUS, id, &err), TAXII_SUBST_ACTIVE,
	    "client: status of the subscription");
	is_int(client_act(&c, TAXII_SUB_PAUSE, id, &err), TAXII_SUBST_PAUSED, "client: pause");
	is_int(client_act(&c, TAXII_SUB_RESUME, id, &err), TAXII_SUBST_ACTIVE, "client: resume");
	rc = taxii_client_subscription(&c, "observations", TAXII_SUB_STATUS, NULL, NULL, &m, &err);
	ok(rc == 0 && m->n_subscriptions >= 1, "client: status of all its subscriptions");
	if (rc == 0) {
		int found = 0;

		for (size_t i = 0; i < m->n_subscriptions; i++)
			found |= strcmp(m->subscriptions[i].id, id) == 0;
		ok(found, "client: the new one among them");
	} else {
		ok(0, "client: the new one among them");
	}
	taxii_msg_free(m);
	m = NULL;
	is_int(client_act(&c, TAXII_SUB_UNSUBSCRIBE, id, &err), TAXII_SUBST_UNSUBSCRIBED,
	    "client: unsubscribe");
	is_int(client_act(&c, TAXII_SUB_RESUME, id, &err), -1,
	    "client: an ended subscription cannot be resumed");
	ok(strstr(err.msg, "NOT_FOUND") != NULL, "client: the peer's NOT_FOUND is named (%s)",
	    err.msg);
	rc = client_act(&c, TAXII_SUB_STATUS, "urn:c2watch:subscription:nope", &err);
	ok(rc == -1 && err.code == TAXII_ESTATUS, "client: an unknown id is the peer's refusal");

	/* Refused before anything is sent. */
	ok(taxii_client_subscription(&c, "observations", TAXII_SUB_PAUSE, NULL, NULL, &m, &err) ==
		TAXII_EINVAL && m == NULL, "client: pause without an id is refused");
	sr.push_address = "ftp://127.0.0.1/inbox";
	ok(taxii_client_subscription(&c, "observations", TAXII_SUB_SUBSCRIBE, NULL, &sr, &m,
	       &err) == TAXII_EINVAL, "client: a push address that is not http(s) is refused");
	rc = taxii_client_subscription(&c, "nowhere", TAXII_SUB_SUBSCRIBE, NULL, NULL, &m, &err);
	ok(rc == TAXII_ESTATUS && strstr(err.msg, "NOT_FOUND"), "client: an unknown collection "
	    "(%s)", err.msg);

	/* Push subscriptions, in 1.1 and in 1.0: the binding follows the version spoken. */
	sr.push_address = "http://127.0.0.1:9/taxii/inbox";
	rc = taxii_client_subscription(&c, "observations", TAXII_SUB_SUBSCRIBE, NULL, &sr, &m,
	    &err);
	ok(rc == 0 && m->subscriptions[0].push != NULL &&
	    strcmp(m->subscriptions[0].push->address, sr.push_address) == 0 &&
	    strcmp(m->subscriptions[0].push->message_bindings.v[0], TAXII_MSG_BINDING_11) == 0,
	    "client: a push subscription names the inbox and the 1.1 binding (%s)",
	    rc ? err.msg : "");
	if (rc == 0)
		taxii_msg_free(manage("observations", TAXII_SUB_UNSUBSCRIBE,
		    m->subscriptions[0].id, NULL));
	taxii_msg_free(m);
	m = NULL;
	c.version = TAXII_V10;
	rc = taxii_client_subscription(&c, "observations", TAXII_SUB_SUBSCRIBE, NULL, &sr, &m,
	    &err);
	ok(rc == 0 && m->version == TAXII_V10 && m->subscriptions[0].push != NULL &&
	    m->n_subscriptions == 1,
	    "client: in TAXII 1.0 too (%s)", rc ? err.msg : "");
	if (rc == 0) {
		snprintf(id, sizeof(id), "%s", m->subscriptions[0].id);
		/* A 1.0 answer has no status: ask again in 1.1. */
		ok(client_act(&c, TAXII_SUB_UNSUBSCRIBE, id, &err) >= 0,
		    "client: and ended in 1.0 (%s)", err.msg);
		c.version = TAXII_V11;
		is_int(client_act(&c, TAXII_SUB_STATUS, id, &err), TAXII_SUBST_UNSUBSCRIBED,
		    "client: which 1.1 confirms");
	}
	taxii_msg_free(m);
}

static void
test_push(void)
{
	struct fed_push_opts po = { .batch = 2, .timeout_s = 5, .backoff_us = 1000000 };
	struct fed_pusher *p = fed_pusher_new(a.store, &po);
	struct fed_push_stats st;
	struct taxii_sub ts;
	char id[TAXII_SUB_ID_MAX] = "", err[512];
	struct taxii_msg *b;
	int64_t now = util_now_us(), created = 0;
	unsigned sub_port;

	memset(&ts, 0, sizeof(ts));
	pthread_mutex_init(&sub.lock, NULL);
	if (!ok(p != NULL && subscriber_up(0) == 0, "a subscriber inbox on 127.0.0.1:%u",
		sub.port)) {
		fed_pusher_free(p);
		return;
	}
	sub_port = sub.port;
	/* Earlier subscriptions are ended or have nowhere to push: silence the one to port 9. */
	{
		struct taxii_msg *l = manage("observations", TAXII_SUB_STATUS, NULL, NULL);

		for (size_t i = 0; l && i < l->n_subscriptions; i++)
			if (l->subscriptions[i].status == TAXII_SUBST_ACTIVE)
				taxii_msg_free(manage("observations", TAXII_SUB_UNSUBSCRIBE,
				    l->subscriptions[i].id, NULL));
		taxii_msg_free(l);
	}
	b = manage("observations", TAXII_SUB_SUBSCRIBE, NULL, sub.inbox);
	ok(one_sub(b, NULL, TAXII_SUBST_ACTIVE), "subscribed with push to the subscriber");
	if (b && b->n_subscriptions == 1)
		snprintf(id, sizeof(id), "%s", b->subscriptions[0].id);
	taxii_msg_free(b);
	if (fed_subs_get(a.store, id, &ts, err, sizeof(err)) == 0)
		created = ts.created_us;
	ok(created > 0, "the subscription is in the store");

	ok(fed_pusher_run(p, now, NULL, &st) == 0 && st.sent == 0 && st.failed == 0,
	    "nothing new: nothing pushed");
	ok(add_records(5) == 0, "five new records");
	ok(fed_pusher_run(p, now, NULL, &st) == 0 && st.sent == 5 && st.failed == 0,
	    "push: 5 sent");
	is_int(sub.messages, 3, "in batches of two: three Inbox_Messages");
	ok(subscriber_has_all_after(created), "the subscriber holds exactly those, in order");
	ok(fed_subs_get(a.store, id, &ts, err, sizeof(err)) == 0 && sub.n > 0 &&
	    ts.delivered_us == sub.labels[sub.n - 1], "the cursor is at the last label delivered");
	ok(fed_pusher_run(p, now, NULL, &st) == 0 && st.sent == 0, "a second pass sends nothing");

	b = manage("observations", TAXII_SUB_PAUSE, id, NULL);
	ok(one_sub(b, id, TAXII_SUBST_PAUSED), "PAUSE");
	taxii_msg_free(b);
	ok(add_records(3) == 0, "three records while paused");
	ok(fed_pusher_run(p, now, NULL, &st) == 0 && st.sent == 0 && sub.n == 5,
	    "paused: nothing delivered");
	b = manage("observations", TAXII_SUB_RESUME, id, NULL);
	ok(one_sub(b, id, TAXII_SUBST_ACTIVE), "RESUME");
	taxii_msg_free(b);
	ok(fed_pusher_run(p, now, NULL, &st) == 0 && st.sent == 3, "resumed: the three follow");
	ok(subscriber_has_all_after(created), "no gap: the subscriber holds all eight");

	/* The subscriber fails: nothing moves, and it is retried later. */
	sub.fail = 1;
	ok(add_records(4) == 0, "four records while the subscriber fails");
	ok(fed_pusher_run(p, now, NULL, &st) == 0 && st.sent == 0 && st.failed == 1,
	    "a FAILURE answer counts as a failed delivery");
	ok(fed_subs_get(a.store, id, &ts, err, sizeof(err)) == 0 &&
	    ts.delivered_us == sub.labels[sub.n - 1], "the cursor did not move");
	ok(fed_pusher_run(p, now + 500000, NULL, &st) == 0 && st.deferred == 1 && st.failed == 0,
	    "within the backoff it is not tried again");
	/* Then it is down altogether. */
	taxii_server_free(sub.srv);
	sub.srv = NULL;
	sub.fail = 0;
	ok(fed_pusher_run(p, now + 2000000, NULL, &st) == 0 && st.failed == 1,
	    "subscriber down: the delivery fails");
	ok(fed_pusher_run(p, now + 2500000, NULL, &st) == 0 && st.deferred == 1,
	    "and backs off longer (doubled)");
	if (!ok(subscriber_up(sub_port) == 0, "the subscriber returns on the same port"))
		goto out;
	ok(fed_pusher_run(p, now + 60000000, NULL, &st) == 0 && st.sent == 4 && st.failed == 0,
	    "after the backoff the four are delivered");
	ok(subscriber_has_all_after(created), "nothing lost: all twelve, in order");

	b = manage("observations", TAXII_SUB_UNSUBSCRIBE, id, NULL);
	taxii_msg_free(b);
	ok(add_records(2) == 0 && fed_pusher_run(p, now + 120000000, NULL, &st) == 0 &&
	    st.sent == 0, "UNSUBSCRIBE: nothing more is pushed");
out:
	taxii_server_free(sub.srv);
	sub.srv = NULL;
	fed_pusher_free(p);
}

/* TAXII 1.0 Manage Feed Subscription: SUBSCRIBE, STATUS, UNSUBSCRIBE, and 1.0 pushes. */
static void
test_v10(void)
{
	static const char *const mb10[] = { TAXII_MSG_BINDING_10 };
	struct fed_pusher *p = fed_pusher_new(a.store, NULL);
	struct taxii_contact push = { TAXII_PROTOCOL_HTTP, NULL, { mb10, 1 } };
	struct fed_push_stats st;
	struct taxii_msg m, *b;
	char id[TAXII_SUB_ID_MAX] = "", num[TAXII_ID_MAX];
	int feed_ok = 0;

	pthread_mutex_lock(&sub.lock);
	sub.n = sub.messages = 0;
	pthread_mutex_unlock(&sub.lock);
	if (!ok(p != NULL && subscriber_up(0) == 0, "1.0: a subscriber"))
		goto out;
	push.address = sub.inbox;

	base(&m, TAXII_MSG_COLLECTION_INFO_REQ);
	m.version = TAXII_V10;
	snprintf(num, sizeof(num), "%d", 1001);
	m.message_id = num;
	b = exchange("/taxii/collections", &m);
	for (size_t i = 0; b != NULL && i < b->n_collections; i++)
		if (strcmp(b->collections[i].name, "observations") == 0)
			feed_ok = b->collections[i].n_subscription == 1;
	ok(feed_ok, "1.0 Feed_Information_Response: the feed offers a subscription service");
	taxii_msg_free(b);

	memset(&m, 0, sizeof(m));
	m.version = TAXII_V10;
	m.type = TAXII_MSG_SUBSCRIPTION_REQ;
	m.message_id = num;
	m.collection = "observations";
	m.action = TAXII_SUB_SUBSCRIBE;
	m.push = &push;
	b = exchange("/taxii/collections", &m);
	ok(b && b->type == TAXII_MSG_SUBSCRIPTION_RESP && b->version == TAXII_V10 &&
	    b->n_subscriptions == 1 && b->subscriptions[0].push &&
	    strcmp(b->subscriptions[0].push->address, sub.inbox) == 0 &&
	    b->subscriptions[0].n_poll_instances == 1,
	    "1.0 SUBSCRIBE: a subscription with its push parameters and a poll instance");
	if (b && b->n_subscriptions == 1)
		snprintf(id, sizeof(id), "%s", b->subscriptions[0].id);
	taxii_msg_free(b);
	m.action = TAXII_SUB_STATUS;
	m.push = NULL;
	m.subscription_id = id;
	b = exchange("/taxii/collections", &m);
	ok(b && b->type == TAXII_MSG_SUBSCRIPTION_RESP && b->n_subscriptions == 1 &&
	    strcmp(b->subscriptions[0].id, id) == 0, "1.0 STATUS by id");
	taxii_msg_free(b);
	m.subscription_id = "urn:c2watch:subscription:nope";
	b = exchange("/taxii/collections", &m);
	ok(is_status(b, TAXII_ST_NOT_FOUND), "1.0 STATUS of an unknown id: NOT_FOUND");
	taxii_msg_free(b);

	ok(add_records(2) == 0 && fed_pusher_run(p, util_now_us(), NULL, &st) == 0 &&
	    st.sent == 2 && sub.n == 2, "1.0 push: the subscriber's 1.0 inbox takes two records");

	m.action = TAXII_SUB_UNSUBSCRIBE;
	m.subscription_id = id;
	b = exchange("/taxii/collections", &m);
	ok(b && b->type == TAXII_MSG_SUBSCRIPTION_RESP && b->n_subscriptions == 1,
	    "1.0 UNSUBSCRIBE");
	taxii_msg_free(b);
	ok(add_records(1) == 0 && fed_pusher_run(p, util_now_us(), NULL, &st) == 0 &&
	    st.sent == 0, "and nothing is pushed after it");
	b = manage("observations", TAXII_SUB_STATUS, id, NULL);
	ok(one_sub(b, id, TAXII_SUBST_UNSUBSCRIBED), "1.1 STATUS sees it UNSUBSCRIBED");
	taxii_msg_free(b);
out:
	taxii_server_free(sub.srv);
	sub.srv = NULL;
	fed_pusher_free(p);
}

/* The daemon's push component delivers on its own, about once a second. */
static void
test_daemon_push(void)
{
	struct node_daemon d;
	struct node_component comp;
	struct taxii_msg *b;
	char id[TAXII_SUB_ID_MAX] = "";
	int64_t created = 0, deadline;
	struct taxii_sub ts;
	char err[256];
	int done = 0;

	memset(&d, 0, sizeof(d));
	memset(&comp, 0, sizeof(comp));
	memset(&ts, 0, sizeof(ts));
	d.c = a.conf;
	d.s = a.store;
	pthread_mutex_init(&d.mu, NULL);
	pthread_cond_init(&d.cv, NULL);
	pthread_mutex_lock(&sub.lock);
	sub.n = sub.messages = 0;
	pthread_mutex_unlock(&sub.lock);
	if (!ok(subscriber_up(0) == 0, "a second subscriber"))
		return;
	b = manage("observations", TAXII_SUB_SUBSCRIBE, NULL, sub.inbox);
	if (one_sub(b, NULL, TAXII_SUBST_ACTIVE))
		snprintf(id, sizeof(id), "%s", b->subscriptions[0].id);
	taxii_msg_free(b);
	if (fed_subs_get(a.store, id, &ts, err, sizeof(err)) == 0)
		created = ts.created_us;
	ok(node_push_start(&d, &comp) == 0, "the push component starts");
	ok(add_records(3) == 0, "three new records");
	deadline = util_now_us() + 10000000;
	while (!done && util_now_us() < deadline) {
		usleep(50000);
		pthread_mutex_lock(&sub.lock);
		done = sub.n >= 3;
		pthread_mutex_unlock(&sub.lock);
	}
	ok(done && subscriber_has_all_after(created),
	    "the daemon pushed them to the subscriber by itself");
	pthread_mutex_lock(&d.mu);
	d.stop = 1;
	pthread_cond_broadcast(&d.cv);
	pthread_mutex_unlock(&d.mu);
	node_push_stop(&d, &comp);
	ok(comp.state == NULL, "and stops when the daemon does");
	taxii_msg_free(manage("observations", TAXII_SUB_UNSUBSCRIBE, id, NULL));
	taxii_server_free(sub.srv);
	sub.srv = NULL;
	pthread_cond_destroy(&d.cv);
	pthread_mutex_destroy(&d.mu);
}

/* With users, a subscription belongs to the user who made it. */
static void
test_owners(void)
{
	char users[600], extra[700], hash[200], id[TAXII_SUB_ID_MAX] = "";
	struct conf_err cerr;
	struct node un = {0};
	struct taxii_msg *b;
	int ok_setup;

	snprintf(users, sizeof(users), "%s/users", dir);
	ok_setup = conf_user_hash("pw", hash, sizeof(hash)) == 0 &&
	    conf_users_set(users, "alice", hash, "*", &cerr) == 0 &&
	    conf_users_set(users, "bob", hash, "*", &cerr) == 0 &&
	    conf_users_set(users, "carol", hash, "targets", &cerr) == 0;
	snprintf(extra, sizeof(extra), "users_file = %s\n", users);
	un.store = a.store;
	if (!ok(ok_setup && node_up(&un, "users", extra) == 0, "a node with users starts"))
		goto out;
	target_port = un.port;

	userpwd = "alice:pw";
	b = manage("observations", TAXII_SUB_SUBSCRIBE, NULL, NULL);
	ok(one_sub(b, NULL, TAXII_SUBST_ACTIVE), "alice subscribes");
	if (b && b->n_subscriptions == 1)
		snprintf(id, sizeof(id), "%s", b->subscriptions[0].id);
	taxii_msg_free(b);
	userpwd = "bob:pw";
	b = manage("observations", TAXII_SUB_STATUS, id, NULL);
	ok(is_status(b, TAXII_ST_NOT_FOUND), "bob cannot see alice's subscription");
	taxii_msg_free(b);
	b = manage("observations", TAXII_SUB_UNSUBSCRIBE, id, NULL);
	ok(is_status(b, TAXII_ST_NOT_FOUND), "nor end it");
	taxii_msg_free(b);
	b = poll_sub(id);
	ok(is_status(b, TAXII_ST_NOT_FOUND), "nor poll it");
	taxii_msg_free(b);
	b = manage("observations", TAXII_SUB_STATUS, NULL, NULL);
	ok(b && b->type == TAXII_MSG_SUBSCRIPTION_RESP && b->n_subscriptions == 0,
	    "bob's STATUS lists none of it");
	taxii_msg_free(b);
	userpwd = "carol:pw";
	b = manage("observations", TAXII_SUB_SUBSCRIBE, NULL, NULL);
	ok(is_status(b, TAXII_ST_UNAUTHORIZED), "carol, without observations: UNAUTHORIZED");
	taxii_msg_free(b);
	userpwd = NULL;
	b = manage("observations", TAXII_SUB_STATUS, id, NULL);
	ok(is_status(b, TAXII_ST_UNAUTHORIZED), "no credentials: UNAUTHORIZED");
	taxii_msg_free(b);
	userpwd = "alice:pw";
	b = manage("observations", TAXII_SUB_PAUSE, id, NULL);
	ok(one_sub(b, id, TAXII_SUBST_PAUSED), "alice pauses her own");
	taxii_msg_free(b);
	b = manage("observations", TAXII_SUB_STATUS, NULL, NULL);
	ok(b && b->type == TAXII_MSG_SUBSCRIPTION_RESP && b->n_subscriptions == 1,
	    "alice's STATUS lists exactly hers");
	taxii_msg_free(b);

	/* One user cannot pile up subscriptions. */
	{
		int made = 1, refused = 0;

		for (int i = 0; i < 120 && !refused; i++) {
			b = manage("observations", TAXII_SUB_SUBSCRIBE, NULL, NULL);
			if (one_sub(b, NULL, TAXII_SUBST_ACTIVE))
				made++;
			else
				refused = is_status(b, TAXII_ST_FAILURE);
			taxii_msg_free(b);
		}
		ok(refused && made == 100, "the 101st live subscription of a user is refused (%d)",
		    made);
		userpwd = "bob:pw";
		b = manage("observations", TAXII_SUB_SUBSCRIBE, NULL, NULL);
		ok(one_sub(b, NULL, TAXII_SUBST_ACTIVE), "while another user may still subscribe");
		taxii_msg_free(b);
	}
out:
	userpwd = NULL;
	target_port = 0;
	fed_server_stop(un.taxii);
	conf_free(un.conf);
}

/* ---------------------------------------------------------------------------------------
 * Client certificates
 */

static int
sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc != 0)
		tap_diag("command failed (%d): %.300s", rc, cmd);
	return rc;
}

/* A CA, a server certificate for 127.0.0.1, a client certificate from that CA (its key also
 * encrypted), and a client certificate from another CA. */
static int
make_pki(const char *d)
{
	char cmd[4096];

	/* One subshell, so openssl's chatter stays out of the TAP stream. */
	snprintf(cmd, sizeof(cmd),
	    "( cd '%s' && umask 077 && "
	    "printf 'basicConstraints=CA:FALSE\\nsubjectAltName=IP:127.0.0.1\\n"
	    "extendedKeyUsage=serverAuth\\n' > srv.ext && "
	    "printf 'basicConstraints=CA:FALSE\\nextendedKeyUsage=clientAuth\\n' > cli.ext && "
	    "for ca in ca other; do openssl req -x509 -newkey ec "
	    "-pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $ca.key -out $ca.pem "
	    "-days 2 -subj /CN=test-$ca || exit 1; done && "
	    "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
	    "-keyout srv.key -out srv.csr -subj /CN=127.0.0.1 && "
	    "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
	    "-out srv.pem -days 2 -extfile srv.ext && "
	    "for c in good:ca bad:other; do n=${c%%:*}; ca=${c#*:}; "
	    "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
	    "-keyout $n.key -out $n.csr -subj /CN=client-$n && "
	    "openssl x509 -req -in $n.csr -CA $ca.pem -CAkey $ca.key -CAcreateserial "
	    "-out $n.pem -days 2 -extfile cli.ext || exit 1; done && "
	    "openssl pkey -in good.key -aes256 -passout pass:s3cret -out good-enc.key "
	    ") >/dev/null 2>&1",
	    d);
	return sh(cmd);
}

static int
collect_none(void *arg, const struct taxii_content_block *blk)
{
	(void)blk;
	++*(size_t *)arg;
	return 0;
}

static void
test_client_certs(void)
{
	char pki[600], extra[2400], f[6][700], url[160];
	struct node tn = {0};
	struct tls_opts tls;
	struct taxii_client_conf cc;
	struct taxii_err terr;
	struct taxii_msg m, *b;
	size_t nblocks = 0;
	long http = 0;

	if (sh("openssl version >/dev/null 2>&1") != 0) {
		tap_diag("no openssl command: client certificates not tested");
		return;
	}
	snprintf(pki, sizeof(pki), "%s/pki", dir);
	if (!ok(mkdir(pki, 0700) == 0 && make_pki(pki) == 0,
		"a throwaway CA, server and client certificates"))
		return;
	static const char *const names[] = { "ca.pem", "srv.pem", "srv.key", "good.pem",
		"good.key", "bad.pem" };
	for (int i = 0; i < 6; i++)
		snprintf(f[i], sizeof(f[i]), "%s/%s", pki, names[i]);

	tn.store = a.store;
	snprintf(extra, sizeof(extra), "tls_cert = %s\ntls_key = %s\nclient_ca = %s\n", f[1],
	    f[2], f[0]);
	if (!ok(node_up(&tn, "certs", extra) == 0, "a node with client_ca starts"))
		goto out;
	tls.ca = f[0];
	base(&m, TAXII_MSG_DISCOVERY_REQ);

	tls.cert = tls.key = NULL;
	b = exchange_at(tn.port, &tls, "/taxii/discovery", &m, &http);
	ok(is_status(b, TAXII_ST_UNAUTHORIZED) && http == 403,
	    "no client certificate: HTTP 403 and UNAUTHORIZED (%ld)", http);
	taxii_msg_free(b);

	tls.cert = f[5];
	{
		char badkey[700];

		snprintf(badkey, sizeof(badkey), "%s/bad.key", pki);
		tls.key = badkey;
		b = exchange_at(tn.port, &tls, "/taxii/discovery", &m, &http);
	}
	ok(is_status(b, TAXII_ST_UNAUTHORIZED) && http == 403,
	    "a client certificate from another CA: HTTP 403 and UNAUTHORIZED");
	taxii_msg_free(b);

	tls.cert = f[3];
	tls.key = f[4];
	b = exchange_at(tn.port, &tls, "/taxii/discovery", &m, &http);
	ok(b && b->type == TAXII_MSG_DISCOVERY_RESP && http == 200,
	    "a client certificate from client_ca: served");
	taxii_msg_free(b);

	/* The TAXII client with an encrypted key and its passphrase. */
	memset(&cc, 0, sizeof(cc));
	snprintf(url, sizeof(url), "https://127.0.0.1:%u/taxii/poll", tn.port);
	cc.url = url;
	cc.ca_file = f[0];
	cc.client_cert = f[3];
	{
		char enc[700];

		snprintf(enc, sizeof(enc), "%s/good-enc.key", pki);
		cc.client_key = enc;
		cc.client_key_password = "s3cret";
		cc.timeout_s = 10;
		ok(taxii_client_poll(&cc, "observations", -1, INT64_MAX, collect_none, &nblocks,
		    NULL, &terr) == 0 && nblocks > 0,
		    "client: an encrypted key with client_key_password polls");
		cc.client_key_password = "wrong";
		ok(taxii_client_poll(&cc, "observations", -1, INT64_MAX, collect_none, &nblocks,
		    NULL, &terr) != 0, "client: a wrong passphrase fails (%s)", terr.msg);
	}
	/* The same through a [peer] section: client_key_password_file. */
	{
		struct conf_peer pr;
		struct fed_poll_stats st;
		char enc[700], pwf[700], perr[512] = "";
		FILE *fp;

		snprintf(enc, sizeof(enc), "%s/good-enc.key", pki);
		snprintf(pwf, sizeof(pwf), "%s/key.pw", pki);
		if ((fp = fopen(pwf, "w")) != NULL) {
			fputs("s3cret\n", fp);
			fclose(fp);
		}
		memset(&pr, 0, sizeof(pr));
		pr.name = (char *)"certs";
		pr.url = url;
		pr.collection = (char *)"observations";
		pr.ca_file = f[0];
		pr.client_cert = f[3];
		pr.client_key = enc;
		pr.client_key_password_file = pwf;
		ok(fed_peer_poll(a.store, &pr, "peer certs", NULL, &st, perr, sizeof(perr)) == 0 &&
			st.blocks > 0,
		    "peer: an encrypted client_key with client_key_password_file polls (%s)", perr);
		if ((fp = fopen(pwf, "w")) != NULL) {
			fputs("wrong\n", fp);
			fclose(fp);
		}
		ok(fed_peer_poll(a.store, &pr, "peer certs 2", NULL, &st, perr, sizeof(perr)) != 0,
		    "peer: with the wrong passphrase it fails (%s)", perr);
	}
	cc.client_cert = NULL;
	cc.client_key = NULL;
	cc.client_key_password = NULL;
	ok(taxii_client_poll(&cc, "observations", -1, INT64_MAX, collect_none, &nblocks, NULL,
	    &terr) == TAXII_ESTATUS && strstr(terr.msg, "UNAUTHORIZED") != NULL,
	    "client without a certificate: the UNAUTHORIZED status reaches it (%s)", terr.msg);

	/* client_ca without TLS is refused at start. */
	{
		struct taxii_server_conf sc;
		struct taxii_backend be;
		struct taxii_server *srv = NULL;

		memset(&sc, 0, sizeof(sc));
		memset(&be, 0, sizeof(be));
		be.poll = sub_poll;
		be.count = sub_count;
		be.inbox = sub_inbox;
		sc.listen = "127.0.0.1:0";
		sc.client_ca = f[0];
		ok(taxii_server_new(&sc, &be, &srv, &terr) == TAXII_EINVAL && srv == NULL,
		    "client_ca without tls_cert: refused (%s)", terr.msg);
	}
out:
	fed_server_stop(tn.taxii);
	conf_free(tn.conf);
}

int
main(void)
{
	const char *shared = getenv("SHARED_DIR");
	char cmd[600];

	if (mkdtemp(dir) == NULL)
		return 99;
	xmlInitParser();
	xmlSetGenericErrorFunc(NULL, quiet);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		tap_skip_all("libcurl cannot initialise");
	schema11 = xsd_load(shared, XSD_TAXII11);
	schema10 = xsd_load(shared, XSD_TAXII10);
	if (schema11 == NULL || schema10 == NULL) {
		tap_diag("SHARED_DIR schemas not found: responses not schema-checked");
		xmlSchemaFree(schema11);
		xmlSchemaFree(schema10);
		schema11 = schema10 = NULL;
	}
	if (!ok(node_up(&a, "node-a", NULL) == 0, "the node serves its store on 127.0.0.1:%u",
		a.port))
		goto out;
	test_collections();
	test_actions();
	test_poll_by_subscription();
	test_client_manage();
	test_push();
	test_daemon_push();
	test_v10();
	test_owners();
	test_client_certs();
	if (schema11 != NULL && schema10 != NULL)
		ok(n_checked > 100 && n_invalid == 0, "all %d answers validate against the XSD",
		    n_checked);
out:
	fed_server_stop(a.taxii);
	store_close(a.store);
	conf_free(a.conf);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", dir);
	xmlSchemaFree(schema11);
	xmlSchemaFree(schema10);
	curl_global_cleanup();
	xmlCleanupParser();
	return tap_done();
}
