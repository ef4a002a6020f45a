/* Federation wired as the node wires it: a store served by the TAXII server, polled by
 * another node's store through the TAXII client, loops between the two, inbox pushes of
 * records and indicators, a CERT's feed of other tools' STIX indicators (played by a
 * scripted peer), and a peer that is down. Everything on 127.0.0.1, ports chosen by the
 * kernel. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libxml/parser.h>

#include "conf/conf.h"
#include "fed/fed.h"
#include "fed/fed_int.h"
#include "stix/stix.h"
#include "record/record.h"
#include "store/store.h"
#include "taxii/taxii.h"
#include "tests/script.h"
#include "tests/tap.h"
#include "util/util.h"

static char dir[] = "/tmp/c2w-fed-XXXXXX";

/* An observation record made by `node`, with a correct id. */
static json_t *
make_record(const char *node, const char *threat, int i)
{
	char input[128], idhex[65], when[UTIL_TIME_MAX];
	unsigned char id[STORE_ID_LEN];
	int64_t at = INT64_C(1795320000000000) + (int64_t)i * 60000000;

	snprintf(input, sizeof(input), "http://c2-%d.example/gate.php", i % 13);
	rec_id(node, input, at, id);
	util_hex(id, STORE_ID_LEN, idhex);
	util_time_format(at, 0, when);
	return json_pack("{s:s, s:s, s:s, s:s, s:s,"
			 " s:{s:s, s:s, s:[s], s:[], s:i, s:s},"
			 " s:{s:i, s:i, s:f, s:f, s:i}, s:{s:i, s:b, s:b},"
			 " s:{s:i, s:s, s:s, s:s, s:n, s:[], s:i, s:b, s:s, s:s, s:s, s:n, s:i},"
			 " s:n}",
	    "id", idhex, "threat_id", threat, "node", node, "vantage", node, "observed_at", when,
	    "target", "input", input, "domain", "c2.example", "ipv4", "203.0.113.5", "ipv6",
	    "port", 80, "user_agent", "Mozilla/5.0",
	    "ping", "sent", 4, "received", 3, "loss_pct", 25.0, "rtt_avg_ms", 12.5, "ttl", 52,
	    "robots", "status", 404, "present", 0, "allowed", 1,
	    "http", "status", 200, "reason", "OK", "content_type", "text/html", "server", "nginx",
	    "location", "redirects", "size", 1234, "truncated", 0, "sha256",
	    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "filetype",
	    "HTML document, ASCII text", "ssdeep", "3:abc:def", "tls_sha256", "elapsed_ms", 41,
	    "error");
}

static int
add_records(struct store *s, const char *node, int first, int n)
{
	json_t *arr = json_array();
	struct fed_merge_stats st;
	char why[256], err[512];
	int rc;

	for (int i = first; i < first + n; i++)
		json_array_append_new(arr, make_record(node, "APT-FED", i));
	rc = fed_put_records(s, arr, NULL, &st, why, sizeof(why), err, sizeof(err));
	json_decref(arr);
	return rc == 0 && (int)st.added == n && st.rejected == 0 ? 0 : -1;
}

static size_t
count(struct store *s)
{
	struct store_err err;
	size_t n = 0;

	store_count_records(s, &n, &err);
	return n;
}

struct node {
	struct conf *conf;
	struct store *store;
	struct fed_server *taxii;
	char poll_url[128], inbox_url[128];
};

static int
node_up(struct node *n, const char *name)
{
	char text[1024], path[512];
	struct conf_err cerr;
	struct store_err serr;
	char err[512];

	snprintf(path, sizeof(path), "%s/%s.conf", dir, name);
	snprintf(text, sizeof(text),
	    "[node]\nid = %s\ndata_dir = %s/%s\n[server]\nlisten = 127.0.0.1:0\n", name, dir,
	    name);
	n->conf = conf_load_string(text, path, &cerr);
	if (n->conf == NULL) {
		tap_diag("%s", cerr.msg);
		return -1;
	}
	if (store_open(n->conf->node.data_dir, &(struct store_opts){.no_sync = 1}, &n->store,
		&serr) != 0) {
		tap_diag("%s", serr.msg);
		return -1;
	}
	n->taxii = fed_server_start(n->conf, n->store, NULL, err, sizeof(err));
	if (n->taxii == NULL) {
		tap_diag("%s", err);
		return -1;
	}
	snprintf(n->poll_url, sizeof(n->poll_url), "http://127.0.0.1:%u/taxii/poll",
	    fed_server_port(n->taxii, 0));
	snprintf(n->inbox_url, sizeof(n->inbox_url), "http://127.0.0.1:%u/taxii/inbox",
	    fed_server_port(n->taxii, 0));
	return 0;
}

static void
node_down(struct node *n)
{
	fed_server_stop(n->taxii);
	store_close(n->store);
	conf_free(n->conf);
}

static int
poll_peer(struct node *from, struct node *to, const char *collection,
    struct fed_poll_stats *st, char *err, size_t errlen)
{
	struct conf_peer p;
	char cursor[64];

	memset(&p, 0, sizeof(p));
	p.name = (char *)"peer";
	p.url = to->poll_url;
	p.collection = (char *)collection;
	snprintf(cursor, sizeof(cursor), "peer %s %s", to->conf->node.id, collection);
	return fed_peer_poll(from->store, &p, cursor, NULL, NULL, NULL, st, err, errlen);
}

static int
push(const char *url, const char *collection, const char *xml, char *err, size_t errlen)
{
	struct taxii_client_conf cc;
	struct taxii_content_block b;
	struct taxii_err terr = {0};
	int rc;

	memset(&cc, 0, sizeof(cc));
	cc.url = url;
	memset(&b, 0, sizeof(b));
	b.binding = TAXII_CB_STIX_12;
	b.content = xml;
	b.content_len = strlen(xml);
	b.is_xml = 1;
	rc = taxii_client_inbox(&cc, collection, &b, 1, &terr);
	snprintf(err, errlen, "%s", terr.msg);
	return rc;
}


static int
take_json(int64_t label, const unsigned char *id, const char *json, size_t len, void *arg)
{
	json_t **out = arg;

	(void)label;
	(void)id;
	*out = json_loadb(json, len, 0, NULL);
	return 0;
}

/* The record `rec` as stored in s (a new reference), or NULL. */
static json_t *
stored(struct store *s, const json_t *rec)
{
	unsigned char id[STORE_ID_LEN];
	struct store_err serr;
	json_t *got = NULL;

	int64_t when;

	if (util_unhex(json_string_value(json_object_get(rec, "id")), id, STORE_ID_LEN) != 0 ||
	    util_time_parse(json_string_value(json_object_get(rec, "observed_at")), &when) != 0)
		return NULL;
	store_get_record(s, id, when, take_json, &got, &serr);
	return got;
}

/* The store entry of rec, written as text: keyed as a record of APT-FED observed at
 * minute `minute` of the test's history, whatever the text now says. */
static void
forged_obs(struct store_obs *o, const json_t *rec, const char *text, int64_t minute)
{
	memset(o, 0, sizeof(*o));
	util_unhex(json_string_value(json_object_get(rec, "id")), o->id, STORE_ID_LEN);
	o->threat_id = "APT-FED";
	o->target_key = json_string_value(json_object_get(json_object_get(rec, "target"),
	    "input"));
	o->observed_us = INT64_C(1795320000000000) + minute * INT64_C(60000000);
	o->json = text;
	o->len = strlen(text);
}

static int
put_forged(struct store_txn *t, void *arg)
{
	return store_put_obs(t, arg, NULL) == STORE_PUT_NEW ? 0 : -1;
}

/*
 * A peer serving a record whose id does not match its fields (its package id consistent,
 * as a forger would make it): the poll fails, nothing is stored, the cursor stays.
 */
static void
test_forged_record(struct node *a, struct node *b)
{
	json_t *rec = make_record("node-b", "APT-FED", 9000);
	struct fed_poll_stats st = { 0 };
	struct store_obs o;
	struct store_err serr;
	char *text, err[512];
	int64_t before = 0, after = 0;
	size_t n0 = count(a->store);

	/* Fields changed after the id was made: observed a minute later. */
	json_object_set_new(rec, "observed_at", json_string("2026-11-23T00:00:00Z"));
	text = json_dumps(rec, JSON_COMPACT);
	memset(&o, 0, sizeof(o));
	util_unhex(json_string_value(json_object_get(rec, "id")), o.id, STORE_ID_LEN);
	o.threat_id = "APT-FED";
	o.target_key = json_string_value(json_object_get(json_object_get(rec, "target"), "input"));
	o.observed_us = INT64_C(1795400000000000);
	o.json = text;
	o.len = strlen(text);
	ok(store_write(b->store, put_forged, &o, &serr) == STORE_OK, "a forged record in B");
	store_get_cursor(a->store, "peer node-b observations", &before, &serr);
	ok(poll_peer(a, b, "observations", &st, err, sizeof(err)) == -1,
	    "A's poll of B fails on the forged record");
	has_str(err, "id is not SHA-256", "saying why (%s)", err);
	is_int(count(a->store), n0, "nothing of that poll stored");
	store_get_cursor(a->store, "peer node-b observations", &after, &serr);
	ok(before == after, "and A's cursor for B stays");
	free(text);
	json_decref(rec);
}

static void take_log(void *arg, int level, const char *msg);

/* Whether s holds rec. */
static int
holds(struct store *s, const json_t *rec)
{
	json_t *got = stored(s, rec);

	json_decref(got);
	return got != NULL;
}

/*
 * A peer serving a record whose id is right but whose http.status is a string: that
 * record is refused on its own (rec_check_fields), logged with why, and the rest of the
 * poll taken; the inbox does the same with a message holding it and a good record.
 */
static void
test_malformed_record(struct node *a, struct node *b)
{
	json_t *rec = make_record("node-b", "APT-FED", 9100);
	json_t *good = make_record("node-b", "APT-FED", 9101);
	struct fed_poll_stats st = { 0 };
	struct conf_peer p;
	struct fed_log log;
	struct store_obs o;
	struct store_err serr;
	struct util_buf logs, xml, x2;
	struct taxii_client_conf cc;
	struct taxii_content_block bl[2];
	struct taxii_err terr = { 0 };
	char *text, err[512], cursor[64];
	size_t n0 = count(a->store);

	util_buf_init(&logs, 0);
	util_buf_init(&xml, 0);
	util_buf_init(&x2, 0);
	json_object_set_new(json_object_get(rec, "http"), "status", json_string("200"));
	text = json_dumps(rec, JSON_COMPACT);
	forged_obs(&o, rec, text, 9100);
	ok(store_write(b->store, put_forged, &o, &serr) == STORE_OK,
	    "malformed: a record with http.status a string in B");
	ok(add_records(b->store, "node-b", 9101, 1) == 0, "malformed: and a good one after it");

	memset(&p, 0, sizeof(p));
	p.name = (char *)"peer";
	p.url = b->poll_url;
	p.collection = (char *)"observations";
	snprintf(cursor, sizeof(cursor), "peer %s observations", b->conf->node.id);
	log.fn = take_log;
	log.arg = &logs;
	ok(fed_peer_poll(a->store, &p, cursor, NULL, NULL, &log, &st, err, sizeof(err)) == 0,
	    "malformed: A's poll of B is taken (%s)", err);
	is_int(st.refused, 1, "malformed: one record refused");
	has_str(logs.data ? logs.data : "", "http.status: not an integer from 0 to 999",
	    "malformed: the log says why (%s)", logs.data ? logs.data : "");
	has_str(logs.data ? logs.data : "", json_string_value(json_object_get(rec, "id")),
	    "malformed: and names the record");
	ok(!holds(a->store, rec), "malformed: the record is not stored");
	ok(holds(a->store, good), "malformed: the rest of the poll is");
	is_int(count(a->store), n0 + 1, "malformed: exactly one record taken");

	/* The inbox: a message of a good record and the malformed one. */
	json_decref(good);
	good = make_record("node-b", "APT-FED", 9102);
	stix_observation_write(good, &xml, err, sizeof(err));
	stix_observation_write(rec, &x2, err, sizeof(err));
	memset(&cc, 0, sizeof(cc));
	cc.url = a->inbox_url;
	memset(bl, 0, sizeof(bl));
	bl[0].binding = bl[1].binding = TAXII_CB_STIX_12;
	bl[0].is_xml = bl[1].is_xml = 1;
	bl[0].content = xml.data;
	bl[0].content_len = xml.len;
	bl[1].content = x2.data;
	bl[1].content_len = x2.len;
	ok(taxii_client_inbox(&cc, "observations", bl, 2, &terr) == 0,
	    "malformed: an inbox message with it and a good record is taken (%s)", terr.msg);
	ok(holds(a->store, good) && !holds(a->store, rec),
	    "malformed: the good record stored, the malformed one not");
	is_int(count(a->store), n0 + 2, "malformed: nothing else stored");
	free(text);
	json_decref(rec);
	json_decref(good);
	util_buf_fini(&logs);
	util_buf_fini(&xml);
	util_buf_fini(&x2);
}

/* ---------------------------------------------------------------------------------------
 * A feed from another producer: a CERT's or an ISAC's TAXII server (played by the scripted
 * peer) whose collection holds STIX indicators written by other tools.
 */

static const struct {
	const char *file, *binding;
} feed_files[] = {
	{ "idiom-c2-ip-indicator.xml", TAXII_CB_STIX_12 },
	{ "idiom-malicious-url.xml", TAXII_CB_STIX_12 },
	{ "ip-watchlist-1.2.xml", TAXII_CB_STIX_12 },
	{ "misp-event2-stix11.xml", TAXII_CB_STIX_111 },
};

/* A TAXII 1.1 Poll_Response holding each feed file as one content block, or NULL. */
static char *
feed_response(const char *shared)
{
	struct util_buf out, f;
	char path[1024];
	int fail = 0;

	util_buf_init(&out, 0);
	util_buf_init(&f, 16u << 20);
	fail |= util_buf_printf(&out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<taxii_11:Poll_Response xmlns:taxii_11=\"http://taxii.mitre.org/messages/taxii_xml_"
	    "binding-1.1\" message_id=\"r1\" in_response_to=\"q1\" collection_name=\"cert-feed\" "
	    "more=\"false\">\n<taxii_11:Inclusive_End_Timestamp>2026-11-20T00:00:00Z"
	    "</taxii_11:Inclusive_End_Timestamp>\n");
	for (size_t i = 0; i < sizeof(feed_files) / sizeof(feed_files[0]) && !fail; i++) {
		const char *x;

		snprintf(path, sizeof(path), "%s/testdata/stix/%s", shared, feed_files[i].file);
		util_buf_reset(&f);
		if (util_read_file(path, &f) != 0) {
			tap_diag("cannot read %s", path);
			fail = 1;
			break;
		}
		/* Content holds elements: no XML declaration. */
		x = f.data;
		if (strncmp(x, "<?xml", 5) == 0 && (x = strstr(x, "?>")) != NULL)
			x += 2;
		fail |= util_buf_printf(&out, "<taxii_11:Content_Block><taxii_11:Content_Binding "
		    "binding_id=\"%s\"/><taxii_11:Content>%s</taxii_11:Content>"
		    "<taxii_11:Timestamp_Label>2026-11-19T0%zu:00:00Z</taxii_11:Timestamp_Label>"
		    "</taxii_11:Content_Block>\n", feed_files[i].binding, x ? x : "", i);
	}
	fail |= util_buf_printf(&out, "</taxii_11:Poll_Response>\n");
	util_buf_fini(&f);
	if (fail) {
		util_buf_fini(&out);
		return NULL;
	}
	return out.data;
}

static void
test_foreign_feed(struct node *b, struct node *c)
{
	const char *shared = getenv("SHARED_DIR");
	struct script sp;
	struct conf_peer p;
	struct fed_poll_stats st;
	struct store_err serr;
	char url[128], err[1024] = "", stixdir[1024];
	size_t n = 0;
	char *resp;
	struct stat sb;

	snprintf(stixdir, sizeof(stixdir), "%s/testdata/stix", shared ? shared : "");
	if (shared == NULL || *shared == '\0' || stat(stixdir, &sb) != 0) {
		tap_skip("a CERT's feed", "SHARED_DIR (%s) absent: no third-party STIX to serve",
		    shared ? shared : "unset");
		return;
	}
	if ((resp = feed_response(shared)) == NULL || script_start(&sp) != 0) {
		free(resp);
		ok(0, "a CERT's feed is served");
		return;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/taxii-data", sp.port);
	memset(&p, 0, sizeof(p));
	p.name = (char *)"cert";
	p.url = url;
	p.collection = (char *)"cert-feed";
	script_add(&sp, 200, strdup(resp));
	memset(&st, 0, sizeof(st));
	ok(fed_peer_poll(b->store, &p, "peer cert", NULL, NULL, NULL, &st, err, sizeof(err)) == 0 &&
		st.blocks == 4 && st.targets_added == 7 && st.added == 0,
	    "a CERT's feed of four packages from other tools: seven targets, no records (%s)",
	    err);
	store_count_targets(b->store, "IP Address for known C2 channel", &n, &serr);
	is_int(n, 1, "each under the threat ID its package gives");
	has_str(sp.req_body[0], "cert-feed", "the poll named the feed's collection");

	/* With threat_id = set, every destination is filed under it: 10.0.0.0, in two of
	 * the packages, is then one target. */
	p.threat_id = (char *)"CERT-FEED";
	script_add(&sp, 200, resp);
	memset(&st, 0, sizeof(st));
	ok(fed_peer_poll(c->store, &p, "peer cert", NULL, NULL, NULL, &st, err, sizeof(err)) == 0 &&
		st.targets_added == 6,
	    "with the peer's threat_id set: six targets, one destination named twice (%s)",
	    err);
	store_count_targets(c->store, "CERT-FEED", &n, &serr);
	is_int(n, 6, "all under that threat ID");
	store_count_targets(c->store, NULL, &n, &serr);
	is_int(n, 6, "and under no other");
	script_stop(&sp);
}

/* ---------------------------------------------------------------------------------------
 * The push policy: a stored record that cannot be written as STIX stops a push at that
 * record, is logged with its id, and is tried again by the next push; what follows it is
 * never sent past it. Checked on the loop itself, on a peer's push and on a subscription's.
 */

struct feed_entry {
	int64_t label, observed_us;
	char id[2 * STORE_ID_LEN + 1];
};

struct feed_list {
	struct feed_entry e[16];
	size_t n;
};

static int
list_feed(int64_t label, const unsigned char *id, const char *json, size_t len, void *arg)
{
	struct feed_list *fl = arg;

	const char *at, *ae, *t;
	size_t tl;
	char tb[64];

	if (fl->n == 16)
		return 1;
	fl->e[fl->n].label = label;
	fl->e[fl->n].observed_us = 0;
	if (util_jscan_get(json, json + len, "observed_at", &at, &ae) == 1 &&
	    util_jscan_str(at, ae, &t, &tl) == 1 && tl < sizeof(tb)) {
		memcpy(tb, t, tl);
		tb[tl] = '\0';
		util_time_parse(tb, &fl->e[fl->n].observed_us);
	}
	util_hex(id, STORE_ID_LEN, fl->e[fl->n].id);
	fl->n++;
	return 0;
}

struct fake_receiver {
	size_t blocks, messages;
	int64_t cursor;
	int saves;
};

static int
fake_send(void *arg, const struct taxii_content_block *blocks, size_t n, int64_t from,
    int64_t to, char *err, size_t errlen)
{
	struct fake_receiver *fr = arg;

	(void)from, (void)to, (void)err, (void)errlen;
	for (size_t i = 0; i < n; i++)
		if (blocks[i].is_xml && strstr(blocks[i].content, "STIX_Package") != NULL)
			fr->blocks++;
	fr->messages++;
	return 0;
}

static int
fake_sent(void *arg, int64_t to, char *err, size_t errlen)
{
	struct fake_receiver *fr = arg;

	(void)err, (void)errlen;
	fr->cursor = to;
	fr->saves++;
	return 0;
}

static void
take_log(void *arg, int level, const char *msg)
{
	struct util_buf *b = arg;

	util_buf_printf(b, "%d %s\n", level, msg);
}

static size_t
count_of(struct store *s, const char *node)
{
	struct feed_list fl = {.n = 0};
	struct store_err serr;
	size_t n = 0;

	store_scan_feed(s, 0, INT64_MAX, 0, list_feed, &fl, NULL, &serr);
	for (size_t i = 0; i < fl.n; i++) {
		unsigned char id[STORE_ID_LEN];
		json_t *got = NULL;

		util_unhex(fl.e[i].id, id, STORE_ID_LEN);
		store_get_record(s, id, fl.e[i].observed_us, take_json, &got, &serr);
		if (got && strcmp(json_string_value(json_object_get(got, "node")), node) == 0)
			n++;
		json_decref(got);
	}
	return n;
}

static void
test_push_policy(struct node *c)
{
	struct node p = {0};
	json_t *rec = make_record("node-p", "APT-FED", 3);
	struct fake_receiver fr = {0, 0, 0, 0};
	struct feed_list fl = {.n = 0};
	struct fed_push fp;
	struct fed_log log;
	struct fed_peer_state ps = {.allow_private_push = 1}; /* the peer is on loopback */
	struct conf_peer peer;
	struct store_obs o;
	struct store_err serr;
	struct util_buf logs;
	const char *bad;
	char *text = NULL, err[1024];
	size_t held;

	util_buf_init(&logs, 0);
	if (!ok(node_up(&p, "node-p") == 0, "a fresh node P"))
		goto out;
	ok(add_records(p.store, "node-p", 0, 3) == 0, "P holds three records");
	/* Fourth: stored, but without the observation time STIX needs. */
	json_object_del(rec, "observed_at");
	text = json_dumps(rec, JSON_COMPACT);
	forged_obs(&o, rec, text, 3);
	ok(store_write(p.store, put_forged, &o, &serr) == STORE_OK,
	    "a fourth record STIX cannot be written from");
	ok(add_records(p.store, "node-p", 4, 2) == 0, "and two good ones after it");
	store_scan_feed(p.store, 0, INT64_MAX, 0, list_feed, &fl, NULL, &serr);
	is_int(fl.n, 6, "six records in P's feed");
	if (fl.n != 6)
		goto out;
	bad = fl.e[3].id;

	/* The loop itself, two records a message. */
	memset(&fp, 0, sizeof(fp));
	fp.s = p.store;
	fp.batch = 2;
	fp.send = fake_send;
	fp.sent = fake_sent;
	fp.arg = &fr;
	ok(fed_push_run(&fp, err, sizeof(err)) == -1, "push: the record stops the push");
	has_str(err, bad, "push: the error names its id (%s)", err);
	is_int(fr.blocks, 3, "push: the three before it are sent");
	is_int(fr.messages, 2, "push: in two messages");
	ok(fr.cursor == fl.e[2].label, "push: the cursor stops just before it");
	fp.from = fr.cursor;
	fr.blocks = fr.messages = 0;
	fr.saves = 0;
	err[0] = '\0';
	ok(fed_push_run(&fp, err, sizeof(err)) == -1 && strstr(err, bad) != NULL,
	    "push: the next push tries it again, and stops again");
	ok(fr.blocks == 0 && fr.saves == 0 && fr.cursor == fl.e[2].label,
	    "push: nothing after it is sent, the cursor stays");

	/* A peer's push (push = true) towards C: the same stop, logged with the id. */
	log.fn = take_log;
	log.arg = &logs;
	memset(&peer, 0, sizeof(peer));
	peer.name = (char *)"c";
	peer.url = c->poll_url;
	peer.collection = (char *)"observations";
	peer.interval_us = INT64_C(60000000);
	peer.push = 1;
	held = count_of(c->store, "node-p");
	ok(fed_peer_round(p.store, "node-p", &peer, NULL, NULL, &log, &ps) == peer.interval_us,
	    "peer: the round polls C and pushes");
	is_int(count_of(c->store, "node-p") - held, 3, "peer: C receives the three before it");
	has_str(logs.data ? logs.data : "", bad, "peer: the log names the record");
	util_buf_reset(&logs);
	fed_peer_round(p.store, "node-p", &peer, NULL, NULL, &log, &ps);
	has_str(logs.data ? logs.data : "", bad, "peer: the next round stops there again");
	is_int(count_of(c->store, "node-p") - held, 3, "peer: and sends nothing past it");

	/* A subscription whose push address is C's inbox. */
	{
		struct fed_push_opts po = {.batch = 2, .timeout_s = 5, .allow_private = 1,
		    .log = log};
		struct fed_pusher *pu = fed_pusher_new(p.store, &po);
		struct fed_push_stats st;
		struct taxii_sub sub;

		memset(&sub, 0, sizeof(sub));
		snprintf(sub.id, sizeof(sub.id), "urn:test:policy");
		snprintf(sub.collection, sizeof(sub.collection), "observations");
		sub.status = TAXII_SUBST_ACTIVE;
		sub.response_type = TAXII_RESP_FULL;
		sub.has_push = 1;
		snprintf(sub.push_protocol, sizeof(sub.push_protocol), "%s", TAXII_PROTOCOL_HTTP);
		snprintf(sub.push_address, sizeof(sub.push_address), "%s", c->inbox_url);
		snprintf(sub.push_binding, sizeof(sub.push_binding), "%s", TAXII_MSG_BINDING_11);
		ok(pu != NULL && fed_subs_add(p.store, &sub, err, sizeof(err)) == 0,
		    "subs: a push subscription to C");
		util_buf_reset(&logs);
		ok(pu && fed_pusher_run(pu, util_now_us(), NULL, &st) == 0 && st.failed == 1 &&
			st.sent == 0, "subs: the delivery fails at the record");
		has_str(logs.data ? logs.data : "", bad, "subs: the log names the record");
		ok(fed_subs_get(p.store, sub.id, &sub, err, sizeof(err)) == 0 &&
			sub.delivered_us == fl.e[2].label,
		    "subs: the cursor is just before it");
		util_buf_reset(&logs);
		ok(pu && fed_pusher_run(pu, util_now_us() + INT64_C(3600000000), NULL, &st) == 0 &&
			st.failed == 1 && strstr(logs.data ? logs.data : "", bad) != NULL,
		    "subs: after its backoff it is tried again, and stops again");
		ok(fed_subs_get(p.store, sub.id, &sub, err, sizeof(err)) == 0 &&
			sub.delivered_us == fl.e[2].label,
		    "subs: nothing past it delivered");
		fed_pusher_free(pu);
	}
out:
	free(text);
	json_decref(rec);
	util_buf_fini(&logs);
	node_down(&p);
}

struct prep_seen {
	int n, tagged;
	int64_t first;
};

/* Bytes an earlier c2watch kept (its tag, the package uncompressed), here not even XML:
 * served, they would be refused by the poller. */
#define OLD_PREP "c2watch-stix-1.2/1\n<not a package>"

static int
put_old_prep(struct store_txn *t, void *arg)
{
	return store_put_prep(t, *(const int64_t *)arg, OLD_PREP, sizeof(OLD_PREP) - 1) ==
		STORE_OK ? 0 : -1;
}

static int
see_prep(int64_t label, const unsigned char *id, const char *json, size_t len,
    const char *prep, size_t prep_len, void *arg)
{
	struct prep_seen *p = arg;

	(void)label, (void)id, (void)json, (void)len;
	if (p->n++ == 0)
		p->first = label;
	p->tagged += prep != NULL && prep_len > 0 && fed_prep_current(prep, prep_len);
	return 0;
}

static void test_prep_bytes(struct store *s, size_t want);

/*
 * Prepared packages: the first poll of a record keeps its package beside it, later polls
 * copy it (and give what the writer gives), and fed_prepare writes the missing ones ahead.
 */
static void
test_prepared(void)
{
	struct node d = {0}, e = {0}, f = {0};
	struct fed_poll_stats st;
	struct prep_seen ps = {0};
	struct store_err serr;
	char err[1024];
	size_t done = 99;

	if (node_up(&d, "node-d") != 0 || node_up(&e, "node-e") != 0 ||
	    node_up(&f, "node-f") != 0) {
		ok(0, "three more nodes start");
		goto out;
	}
	ok(add_records(d.store, "node-d", 0, 230) == 0, "node D holds 230 records");
	store_scan_feed_prep(d.store, 0, INT64_MAX, 0, see_prep, &ps, NULL, &serr);
	ok(ps.n == 230 && ps.tagged == 0, "no package is kept before a poll");
	ok(store_write(d.store, put_old_prep, &ps.first, &serr) == STORE_OK,
	    "the first record has bytes an earlier c2watch kept");
	ok(poll_peer(&e, &d, "observations", &st, err, sizeof(err)) == 0 && st.added == 230,
	    "E polls D's 230 in parts, the first written again, not served as kept (%s)", err);
	/* The server keeps the packages its polls wrote a few thousand at a time, and the
	 * rest when it stops. */
	fed_server_stop(d.taxii);
	d.taxii = fed_server_start(d.conf, d.store, NULL, err, sizeof(err));
	if (d.taxii == NULL) {
		ok(0, "D's server starts again (%s)", err);
		goto out;
	}
	snprintf(d.poll_url, sizeof(d.poll_url), "http://127.0.0.1:%u/taxii/poll",
	    fed_server_port(d.taxii, 0));
	memset(&ps, 0, sizeof(ps));
	store_scan_feed_prep(d.store, 0, INT64_MAX, 0, see_prep, &ps, NULL, &serr);
	ok(ps.n == 230 && ps.tagged == 230,
	    "D kept a package beside every record it served, the first's replaced (%d)",
	    ps.tagged);
	ok(fed_prepare(d.store, 0, &done, err, sizeof(err)) == 0 && done == 0,
	    "so nothing is left to prepare");
	ok(add_records(d.store, "node-d", 230, 40) == 0, "D observes 40 more");
	int prc = fed_prepare(d.store, 0, &done, err, sizeof(err));
	ok(prc == 0 && done == 40, "fed_prepare writes the 40 new packages ahead (%zu)", done);
	ok(poll_peer(&f, &d, "observations", &st, err, sizeof(err)) == 0 && st.added == 270,
	    "F polls all 270 from the kept packages (%s)", err);
	test_prep_bytes(d.store, 270);
	{
		json_t *want = make_record("node-d", "APT-FED", 250), *got = stored(f.store, want);

		ok(got != NULL && json_equal(got, want),
		    "a record served from its package is stored identical to the original");
		json_decref(got);
		json_decref(want);
		want = make_record("node-d", "APT-FED", 7);
		got = stored(f.store, want);
		ok(got != NULL && json_equal(got, want), "as is one prepared by a poll");
		json_decref(got);
		json_decref(want);
	}
out:
	node_down(&d);
	node_down(&e);
	node_down(&f);
}

/* Kept packages open to exactly the writer's bytes, and kept bytes that are not whole
 * or not this writer's open to nothing. */
struct prep_check {
	size_t n, same, refused;
	struct util_buf xml, got;
};

static int
check_prep(int64_t label, const unsigned char *id, const char *json, size_t len,
    const char *prep, size_t prep_len, void *arg)
{
	struct prep_check *c = arg;
	char err[256], *bad;

	(void)label, (void)id;
	if (prep == NULL)
		return 0;
	c->n++;
	util_buf_reset(&c->xml);
	if (stix_observation_write_text(json, len, &c->xml, err, sizeof(err)) == STIX_OK &&
	    fed_prep_open(prep, prep_len, &c->got) == 0 && c->got.len == c->xml.len &&
	    memcmp(c->got.data, c->xml.data, c->xml.len) == 0)
		c->same++;
	/* Cut short, under another tag, and with a length that is not the package's. */
	bad = malloc(prep_len);
	if (bad == NULL)
		return -1;
	memcpy(bad, prep, prep_len);
	c->refused += fed_prep_open(bad, prep_len - 1, &c->got) != 0;
	bad[0] ^= 1;
	c->refused += fed_prep_open(bad, prep_len, &c->got) != 0 && !fed_prep_current(bad, prep_len);
	bad[0] ^= 1;
	{
		const char *nl = memchr(bad, '\n', prep_len);

		if (nl != NULL && (size_t)(nl - bad) + 4 < prep_len)
			bad[nl - bad + 4] ^= 1; /* the length's lowest byte */
	}
	c->refused += fed_prep_open(bad, prep_len, &c->got) != 0 && c->got.len == 0;
	free(bad);
	return 0;
}

static void
test_prep_bytes(struct store *s, size_t want)
{
	struct prep_check c = {0};
	struct store_err serr;
	char xml_err[256];
	struct util_buf big;

	util_buf_init(&c.xml, 0);
	util_buf_init(&c.got, 0);
	store_scan_feed_prep(s, 0, INT64_MAX, 0, check_prep, &c, NULL, &serr);
	is_int(c.n, want, "every kept package is read back");
	is_int(c.same, want, "each opens to exactly the bytes the writer gives its record");
	is_int(c.refused, 3 * want,
	    "kept bytes cut short, under another tag or with a wrong length open to nothing");
	/* A package larger than the buffer it opens into is refused, not truncated. */
	util_buf_init(&big, 64);
	{
		struct fed_prep_batch b;
		json_t *r = make_record("node-x", "APT-FED", 3);
		char *j = json_dumps(r, JSON_COMPACT);

		int added;

		fed_prep_init(&b);
		util_buf_reset(&c.xml);
		added = j != NULL && stix_observation_write_text(j, strlen(j), &c.xml, xml_err,
		    sizeof(xml_err)) == STIX_OK && fed_prep_add(&b, 1, c.xml.data, c.xml.len) == 0;
		ok(added && b.n == 1 && b.items[0].len < c.xml.len / 3,
		    "a package is kept in under a third of its size (%zu of %zu bytes)",
		    b.n ? b.items[0].len : 0, c.xml.len);
		ok(b.n == 1 && fed_prep_open(b.bytes.data, b.items[0].len, &big) != 0 && big.len == 0,
		    "and does not open into a buffer capped below its size");
		fed_prep_fini(&b);
		free(j);
		json_decref(r);
	}
	util_buf_fini(&big);
	util_buf_fini(&c.xml);
	util_buf_fini(&c.got);
}

/* Merges handed to the committing thread are stored in order, each moving the cursor it
 * came with; a failed commit is reported by the next hand-over or at the end. */
static void
test_commitq(void)
{
	char qdir[64], err[512];
	struct store *s = NULL;
	struct store_err serr;
	struct fed_commitq *q;
	struct fed_merge *m = NULL;
	struct fed_merge_stats ms = {0};
	int64_t cur = 0;
	int okput = 1, rc;

	snprintf(qdir, sizeof(qdir), "%s/commitq", dir);
	if (store_open(qdir, &(struct store_opts){.no_sync = 1}, &s, &serr) != STORE_OK) {
		ok(0, "a store for the committer (%s)", serr.msg);
		return;
	}
	q = fed_commitq_new(s, err, sizeof(err));
	m = fed_merge_new();
	for (int b = 0; q && m && b < 5; b++) {
		for (int i = 0; i < 100; i++) {
			json_t *r = make_record("node-q", "APT-FED", b * 100 + i);
			char why[256];

			okput &= fed_merge_add_record(m, r, why, sizeof(why)) == 0;
			json_decref(r);
		}
		okput &= fed_commitq_put(q, &m, "peer q", 1000 + b, err, sizeof(err)) == 0;
		okput &= m != NULL && fed_merge_pending(m) == 0;
	}
	ok(q != NULL && okput, "five merges handed over, each replaced by an empty one (%s)", err);
	rc = fed_commitq_free(q, &ms, err, sizeof(err));
	ok(rc == 0 && ms.added == 500 && ms.same == 0, "all 500 records stored (%zu)", ms.added);
	rc = store_get_cursor(s, "peer q", &cur, &serr);
	ok(rc == STORE_OK && cur == 1004, "the cursor is the last merge's (%lld)", (long long)cur);
	store_close(s);
	s = NULL;

	/* Read-only, every commit fails. */
	if (store_open(qdir, &(struct store_opts){.read_only = 1}, &s, &serr) != STORE_OK) {
		ok(0, "the store read-only (%s)", serr.msg);
		fed_merge_free(m);
		return;
	}
	q = fed_commitq_new(s, err, sizeof(err));
	{
		json_t *r = make_record("node-q", "APT-FED", 900);
		char why[256];
		int put1, put2 = 0;

		fed_merge_add_record(m, r, why, sizeof(why));
		put1 = fed_commitq_put(q, &m, NULL, 0, err, sizeof(err));
		fed_merge_add_record(m, r, why, sizeof(why));
		/* The second waits for the first's commit, which fails. */
		put2 = fed_commitq_put(q, &m, NULL, 0, err, sizeof(err));
		json_decref(r);
		ok(q != NULL && put1 == 0 && put2 == -1 && strstr(err, "read-only") != NULL,
		    "the hand-over after a failed commit fails, saying why (%s)", err);
	}
	err[0] = '\0';
	memset(&ms, 0, sizeof(ms));
	ok(fed_commitq_free(q, &ms, err, sizeof(err)) == -1 && strstr(err, "read-only") &&
	    ms.added == 0, "and so does the end (%s)", err);
	ok(fed_commitq_free(NULL, NULL, err, sizeof(err)) == 0, "freeing no committer is a no-op");
	fed_merge_free(m);
	store_close(s);
}

/* A c2watch peer's feed comes in label order: each batch of 10,000 committed moves the
 * cursor with it (a poll cut after it resumes there; test_merge.sh cuts one). */
static void
test_cursor_moves(void)
{
	struct node g = {0}, h = {0};
	struct fed_poll_stats st;
	struct store_err serr;
	char err[1024];
	int64_t cur = 0;

	if (node_up(&g, "node-g") != 0 || node_up(&h, "node-h") != 0) {
		ok(0, "two more nodes start");
		goto out;
	}
	ok(add_records(g.store, "node-g", 0, 10050) == 0, "node G holds 10,050 records");
	ok(poll_peer(&h, &g, "observations", &st, err, sizeof(err)) == 0 && st.added == 10050,
	    "H polls them all (%s)", err);
	is_int(st.cursor_moves, 1, "the batch of 10,000 committed moved the cursor before the end");
	ok(store_get_cursor(h.store, "peer node-g observations", &cur, &serr) == 0 &&
	    cur == st.end, "and the poll's end is the cursor now");
out:
	node_down(&g);
	node_down(&h);
}

/* A write that has taken its label and is still open while a peer polls. */
struct held_write {
	struct store *s;
	json_t *rec;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int taken, release, rc;
	int64_t label;
};

static int
held_txn(struct store_txn *t, void *arg)
{
	struct held_write *h = arg;
	struct rec_keys k;
	struct store_obs o;
	char *text = rec_json_dump(h->rec), why[256];
	int rc;

	memset(&o, 0, sizeof(o));
	if (text == NULL || rec_check(h->rec, &k, why, sizeof(why)) != 0) {
		free(text);
		return -1;
	}
	memcpy(o.id, k.id, sizeof(o.id));
	o.threat_id = k.threat_id;
	o.target_key = k.target_key;
	o.observed_us = k.observed_us;
	o.json = text;
	o.len = strlen(text);
	rc = store_put_obs(t, &o, &h->label);
	free(text);
	pthread_mutex_lock(&h->lock);
	h->taken = 1;
	pthread_cond_broadcast(&h->cond);
	while (!h->release)
		pthread_cond_wait(&h->cond, &h->lock);
	pthread_mutex_unlock(&h->lock);
	return rc == STORE_PUT_NEW ? 0 : -1;
}

static void *
held_main(void *arg)
{
	struct held_write *h = arg;
	struct store_err serr;

	h->rc = store_write(h->s, held_txn, h, &serr);
	return NULL;
}

/*
 * A record whose write took its label before a poll and committed after it: the poll
 * ends where the feed was complete, not at the clock, so the next poll from that end
 * still gets the record (no gap a cursor could pass over).
 */
static void
test_no_gap(void)
{
	struct node g = {0}, h = {0};
	struct held_write hw = {0};
	struct fed_poll_stats st;
	pthread_t th;
	char err[1024];
	int started = 0;

	pthread_mutex_init(&hw.lock, NULL);
	pthread_cond_init(&hw.cond, NULL);
	if (node_up(&g, "node-gap") != 0 || node_up(&h, "node-gap-poller") != 0) {
		ok(0, "gap: two nodes start");
		goto out;
	}
	ok(add_records(g.store, "node-gap", 0, 5) == 0, "gap: the peer holds 5 records");
	hw.s = g.store;
	hw.rec = make_record("node-gap", "APT-FED", 99);
	started = pthread_create(&th, NULL, held_main, &hw) == 0;
	pthread_mutex_lock(&hw.lock);
	while (started && !hw.taken)
		pthread_cond_wait(&hw.cond, &hw.lock);
	pthread_mutex_unlock(&hw.lock);
	ok(started && hw.label > 0, "gap: a sixth record has its label, not yet committed");
	usleep(20000); /* the clock moves past the pending label */
	ok(poll_peer(&h, &g, "observations", &st, err, sizeof(err)) == 0 && st.added == 5,
	    "gap: a poll meanwhile gets the 5 committed (%s)", err);
	ok(st.end < hw.label, "gap: and ends before the pending label (%lld < %lld)",
	    (long long)st.end, (long long)hw.label);
	pthread_mutex_lock(&hw.lock);
	hw.release = 1;
	pthread_cond_broadcast(&hw.cond);
	pthread_mutex_unlock(&hw.lock);
	if (started)
		pthread_join(th, NULL);
	ok(started && hw.rc == STORE_OK, "gap: the sixth record commits");
	ok(poll_peer(&h, &g, "observations", &st, err, sizeof(err)) == 0 && st.added == 1,
	    "gap: the next poll from the cursor gets it (%zu new, %s)", st.added, err);
out:
	json_decref(hw.rec);
	node_down(&g);
	node_down(&h);
}

int
main(void)
{
	struct node a = {0}, b = {0}, c = {0};
	struct fed_poll_stats st;
	char err[1024];
	struct util_buf xml;

	if (mkdtemp(dir) == NULL)
		return 99;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	xmlInitParser();
	if (node_up(&a, "node-a") != 0 || node_up(&b, "node-b") != 0 ||
	    node_up(&c, "node-c") != 0) {
		ok(0, "three nodes start");
		goto out;
	}
	ok(add_records(a.store, "node-a", 0, 250) == 0, "node A holds 250 records of its own");

	ok(poll_peer(&b, &a, "observations", &st, err, sizeof(err)) == 0, "B polls A (%s)", err);
	is_int(st.added, 250, "B merges all 250, delivered in parts");
	is_int(count(b.store), 250, "B holds them");
	ok(st.end > 0, "and the cursor is a label of A's");
	ok(poll_peer(&b, &a, "observations", &st, err, sizeof(err)) == 0 && st.blocks == 0 &&
		st.added == 0,
	    "polling again from the cursor gets nothing");

	ok(add_records(a.store, "node-a", 250, 30) == 0, "A observes 30 more");
	ok(poll_peer(&b, &a, "observations", &st, err, sizeof(err)) == 0 && st.blocks == 30 &&
		st.added == 30,
	    "B gets exactly the 30 new ones");

	/* A loop: A polls B, which re-serves A's own records. */
	ok(poll_peer(&a, &b, "observations", &st, err, sizeof(err)) == 0, "A polls B");
	is_int(st.added, 0, "its own records come back and add nothing");
	is_int(st.same, 280, "all recognised by id");
	ok(add_records(b.store, "node-b", 1000, 10) == 0, "B observes 10 of its own");
	ok(poll_peer(&a, &b, "observations", &st, err, sizeof(err)) == 0 && st.added == 10 &&
		st.blocks == 10,
	    "A gets B's 10 and nothing else");
	ok(poll_peer(&b, &a, "observations", &st, err, sizeof(err)) == 0 && st.added == 0 &&
		st.same == 10,
	    "B polls A: its own 10 come back, nothing new");
	{
		json_t *want = make_record("node-b", "APT-FED", 1003), *got = stored(a.store, want);

		ok(got != NULL && json_equal(got, want),
		    "a record of B's, polled by A, is stored identical to B's");
		json_decref(got);
		json_decref(want);
	}
	is_int(count(a.store), 290, "A holds 290 records");
	is_int(count(b.store), 290, "B holds the same 290: no duplicates, no amplification");

	/* Inbox. */
	util_buf_init(&xml, 0);
	json_t *rec = make_record("node-c", "APT-FED", 5000);
	stix_observation_write(rec, &xml, err, sizeof(err));
	ok(push(a.inbox_url, "observations", xml.data, err, sizeof(err)) == 0,
	    "an observation package pushed to A's inbox (%s)", err);
	is_int(count(a.store), 291, "is merged");
	ok(push(a.inbox_url, "observations", xml.data, err, sizeof(err)) == 0 &&
		count(a.store) == 291,
	    "the same package again is stored once");
	json_decref(rec);

	rec = make_record("node-c", "APT-FED", 5001);
	json_object_set_new(rec, "observed_at", json_string("2026-01-01T00:00:00Z"));
	util_buf_reset(&xml);
	stix_observation_write(rec, &xml, err, sizeof(err));
	ok(push(a.inbox_url, "observations", xml.data, err, sizeof(err)) != 0,
	    "a record whose id does not match its fields is refused");
	has_str(err, "id is not SHA-256", "and the Status Message says why");
	is_int(count(a.store), 291, "nothing of it stored");
	json_decref(rec);

	/* The trust set: records of a listed node must verify; a refused one is left out of
	 * the message and the rest is taken. */
	{
		struct rec_key *k = rec_key_new(err, sizeof(err));
		struct util_buf x2;
		struct taxii_client_conf cc;
		struct taxii_content_block bl[2];
		struct taxii_err terr = {0};
		json_t *good = make_record("node-c", "APT-FED", 5002);
		json_t *bad = make_record("node-c", "APT-FED", 5003);

		ok(k != NULL && rec_trust_add(a.conf->trust.set, "node-c", rec_key_public(k), err,
		    sizeof(err)) == 0, "inbox: node-c listed in A's trust set");
		rec_sign(good, k, err, sizeof(err));
		rec_sign(bad, k, err, sizeof(err));
		json_object_set_new(bad, "vantage", json_string("elsewhere"));
		util_buf_reset(&xml);
		util_buf_init(&x2, 0);
		stix_observation_write(good, &xml, err, sizeof(err));
		stix_observation_write(bad, &x2, err, sizeof(err));
		memset(&cc, 0, sizeof(cc));
		cc.url = a.inbox_url;
		memset(bl, 0, sizeof(bl));
		bl[0].binding = bl[1].binding = TAXII_CB_STIX_12;
		bl[0].is_xml = bl[1].is_xml = 1;
		bl[0].content = xml.data;
		bl[0].content_len = xml.len;
		bl[1].content = x2.data;
		bl[1].content_len = x2.len;
		ok(taxii_client_inbox(&cc, "observations", bl, 2, &terr) == 0,
		    "inbox: a message with a signed record and an altered one is taken (%s)",
		    terr.msg);
		is_int(count(a.store), 292, "inbox: the signed record stored, the altered one not");
		ok(stored(a.store, bad) == NULL, "inbox: the altered record is not there");
		ok(push(a.inbox_url, "observations", x2.data, err, sizeof(err)) != 0,
		    "inbox: a message of refused records only is refused");
		has_str(err, "every record refused", "and the Status Message says why");
		json_decref(good);
		json_decref(bad);
		util_buf_fini(&x2);
		rec_key_free(k);
	}
	is_int(count(a.store), 292, "nothing more stored");

	ok(push(a.inbox_url, "observations", "<p>hello</p>", err, sizeof(err)) != 0,
	    "content that is not STIX is refused");
	is_int(count(a.store), 292, "and nothing stored");

	json_t *tg = json_pack("{s:s, s:s, s:s}", "threat_id", "ISAC-LIST", "domain",
	    "new-c2.example", "summary", "from the hub");
	util_buf_reset(&xml);
	stix_target_write(tg, &xml, err, sizeof(err));
	ok(push(a.inbox_url, "targets", xml.data, err, sizeof(err)) == 0,
	    "an indicator pushed to A's targets collection (%s)", err);
	size_t nt = 0;
	struct store_err serr;
	store_count_targets(a.store, "ISAC-LIST", &nt, &serr);
	is_int(nt, 1, "becomes a target of A");
	json_decref(tg);
	util_buf_fini(&xml);

	ok(poll_peer(&b, &a, "targets", &st, err, sizeof(err)) == 0 && st.targets_added == 1,
	    "B polls A's targets collection and takes the indicator as a target (%s)", err);
	store_count_targets(b.store, "ISAC-LIST", &nt, &serr);
	is_int(nt, 1, "under its threat ID");

	test_malformed_record(&a, &b);
	test_forged_record(&a, &b);
	test_foreign_feed(&b, &c);
	test_push_policy(&c);

	/* Backoff: doubling from the first wait, never past the longest. */
	ok(fed_backoff_us(5000000, 60000000, 1) == 5000000 &&
		fed_backoff_us(5000000, 60000000, 2) == 10000000 &&
		fed_backoff_us(5000000, 60000000, 4) == 40000000,
	    "backoff: 5 s, 10 s, ... doubling");
	ok(fed_backoff_us(5000000, 60000000, 5) == 60000000 &&
		fed_backoff_us(5000000, 60000000, 1000) == 60000000,
	    "backoff: at most the longest wait, however many failures");

	/* A peer that is down: an error, the cursor stays. */
	int64_t before = 0, after = 0;
	store_get_cursor(b.store, "peer node-a observations", &before, &serr);
	fed_server_stop(a.taxii);
	a.taxii = NULL;
	ok(poll_peer(&b, &a, "observations", &st, err, sizeof(err)) == -1, "a peer that is down");
	ok(err[0] != '\0', "gives an error (%s)", err);
	store_get_cursor(b.store, "peer node-a observations", &after, &serr);
	ok(before == after && before > 0, "and leaves the cursor where it was");
	test_cursor_moves();
	test_no_gap();
	test_prepared();
	test_commitq();
out:
	node_down(&a);
	node_down(&b);
	node_down(&c);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			tap_diag("could not remove %s", dir);
	}
	xmlCleanupParser();
	curl_global_cleanup();
	return tap_done();
}
