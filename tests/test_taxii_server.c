/*
 * taxii server: a real server on 127.0.0.1 port 0 over an in-memory backend, spoken to
 * with libcurl: discovery, collections, poll in parts with fulfillment, COUNT_ONLY, the
 * TAXII 1.0 binding, inbox (all-or-nothing), and hostile or malformed requests, each of
 * which must get a TAXII Status Message; then the client polls and pushes to it.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>

#include "taxii/taxii.h"
#include "tests/tap.h"
#include "tests/xsd.h"
#include "util/util.h"

#define N_OBS 250
#define PART 100

static xmlSchemaPtr schema11, schema10;

static void
quiet(void *ctx, const char *fmt, ...)
{
	(void)ctx;
	(void)fmt;
}

/* ---------------------------------------------------------------------------------------
 * In-memory backend
 */

struct mem {
	pthread_mutex_t lock;
	int64_t label[N_OBS];
	char content[N_OBS][160];
	size_t n_targets;
	int polls;
};

static int64_t t0;

static int
mem_poll(void *ctx, const char *collection, int64_t begin_us, int64_t end_us, size_t offset,
    size_t limit, taxii_record_cb cb, void *arg, char *err, size_t errlen)
{
	struct mem *m = ctx;
	size_t seen = 0, given = 0;

	if (strcmp(collection, "observations") != 0)
		return 0;
	pthread_mutex_lock(&m->lock);
	m->polls++;
	pthread_mutex_unlock(&m->lock);
	for (size_t i = 0; i < N_OBS && given < limit; i++) {
		struct taxii_record r;

		if (m->label[i] <= begin_us || m->label[i] > end_us)
			continue;
		if (seen++ < offset)
			continue;
		r.content = m->content[i];
		r.content_len = strlen(m->content[i]);
		r.binding = NULL;
		r.label_us = m->label[i];
		if (cb(arg, &r) != 0) {
			snprintf(err, errlen, "stopped");
			return -1;
		}
		given++;
	}
	return 0;
}

static int
mem_count(void *ctx, const char *collection, int64_t begin_us, int64_t end_us,
    uint64_t *count, char *err, size_t errlen)
{
	struct mem *m = ctx;

	*count = 0;
	if (strcmp(collection, "targets") == 0) {
		pthread_mutex_lock(&m->lock);
		*count = m->n_targets;
		pthread_mutex_unlock(&m->lock);
		return 0;
	}
	for (size_t i = 0; i < N_OBS; i++)
		if (m->label[i] > begin_us && m->label[i] <= end_us)
			(*count)++;
	return 0;
}

static int
mem_inbox(void *ctx, const char *collection, const struct taxii_content_block *blocks,
    size_t n_blocks, char *err, size_t errlen)
{
	struct mem *m = ctx;

	/* All or nothing: one bad block refuses the message. */
	for (size_t i = 0; i < n_blocks; i++) {
		if (strstr(blocks[i].content, "REFUSE") != NULL) {
			snprintf(err, errlen, "block %zu refused by the store", i + 1);
			return -1;
		}
	}
	if (strcmp(collection, "targets") == 0) {
		pthread_mutex_lock(&m->lock);
		m->n_targets += n_blocks;
		pthread_mutex_unlock(&m->lock);
	}
	return 0;
}

/* ---------------------------------------------------------------------------------------
 * Client
 */

struct resp {
	long http;
	struct util_buf body;
	char x_content_type[128];
	char x_protocol[128];
	int www_authenticate;
	char headers[1024]; /* every other header line, for the pages' checks */
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;

	if (util_buf_add(&r->body, p, size * n) != 0)
		return 0;
	return size * n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;
	size_t len = size * n;
	static const char name[] = "X-TAXII-Content-Type:";

	if (len > sizeof(name) && strncasecmp(p, name, sizeof(name) - 1) == 0) {
		const char *v = p + sizeof(name) - 1;
		size_t vl = len - (sizeof(name) - 1);

		while (vl > 0 && (*v == ' '))
			v++, vl--;
		while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
			vl--;
		snprintf(r->x_content_type, sizeof(r->x_content_type), "%.*s", (int)vl, v);
	}
	if (len > 17 && strncasecmp(p, "X-TAXII-Protocol:", 17) == 0) {
		const char *v = p + 17;
		size_t vl = len - 17;

		while (vl > 0 && *v == ' ')
			v++, vl--;
		while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
			vl--;
		snprintf(r->x_protocol, sizeof(r->x_protocol), "%.*s", (int)vl, v);
	}
	if (len > 17 && strncasecmp(p, "WWW-Authenticate:", 17) == 0)
		r->www_authenticate = 1;
	if (strlen(r->headers) + len < sizeof(r->headers))
		strncat(r->headers, p, len);
	return len;
}

static unsigned port, closed_port;
static int closed_fd = -1;
static int chunked;              /* send the next bodies chunked, without Content-Length */
static const char *userpwd;      /* "user:password" for HTTP Basic, or NULL */
static const char *accept_hdr;   /* X-TAXII-Accept instead of the request's own binding */
static const char *tls_ca;       /* set: speak https, trusting this CA file */
static int n_checked, n_invalid; /* responses checked against the XSD */

/*
 * Sends `body` to path with the headers of `ver` (TAXII_VANY: no X-TAXII headers) and
 * `ctype` as Content-Type; `method` NULL means POST.
 */
static int
send_req(const char *method, const char *path, const char *body, size_t len,
    enum taxii_version ver, const char *ctype, struct resp *r)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[256], hb[256];
	CURLcode cc;

	memset(r, 0, sizeof(*r));
	util_buf_init(&r->body, 64 << 20);
	if (c == NULL)
		return -1;
	snprintf(url, sizeof(url), "%s://127.0.0.1:%u%s", tls_ca ? "https" : "http", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (tls_ca != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, tls_ca);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	if (method == NULL) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	} else {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	if (ctype != NULL) {
		snprintf(hb, sizeof(hb), "Content-Type: %s", ctype);
		h = curl_slist_append(h, hb);
	}
	if (ver != TAXII_VANY) {
		snprintf(hb, sizeof(hb), "X-TAXII-Content-Type: %s", taxii_http_content_type(ver));
		h = curl_slist_append(h, hb);
		snprintf(hb, sizeof(hb), "X-TAXII-Services: %s", taxii_http_services(ver));
		h = curl_slist_append(h, hb);
		snprintf(hb, sizeof(hb), "X-TAXII-Accept: %s",
		    accept_hdr ? accept_hdr : taxii_http_content_type(ver));
		h = curl_slist_append(h, hb);
		h = curl_slist_append(h, "X-TAXII-Protocol: " TAXII_PROTOCOL_HTTP);
	}
	if (userpwd != NULL) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERPWD, userpwd);
	}
	h = curl_slist_append(h, "Expect:");
	if (chunked)
		h = curl_slist_append(h, "Transfer-Encoding: chunked");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->http);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (cc != CURLE_OK)
		tap_diag("curl: %s", curl_easy_strerror(cc));
	return cc == CURLE_OK ? 0 : -1;
}

static int
schema_valid(const struct util_buf *b, enum taxii_version ver)
{
	return xsd_valid(ver == TAXII_V10 ? schema10 : schema11, b->data, b->len, 0);
}

/* Sends a message built from `m`, parses the answer; NULL when that fails. */
static struct taxii_msg *
exchange(const char *path, const struct taxii_msg *m, struct resp *r)
{
	struct util_buf b;
	struct taxii_msg *back = NULL;
	struct taxii_err err;

	util_buf_init(&b, 0);
	if (taxii_msg_write(m, &b, &err) != 0) {
		tap_diag("build: %s", err.msg);
		util_buf_fini(&b);
		return NULL;
	}
	if (send_req(NULL, path, b.data, b.len, m->version, TAXII_HTTP_CONTENT_TYPE, r) == 0) {
		if (taxii_msg_parse(r->body.data ? r->body.data : "", r->body.len, TAXII_VANY,
			&back, &err) != 0)
			tap_diag("response does not parse: %s", err.msg);
		if (schema11 != NULL && back != NULL) {
			n_checked++;
			if (!schema_valid(&r->body, back->version)) {
				n_invalid++;
				tap_diag("response does not validate: %.300s", r->body.data);
			}
		}
	}
	util_buf_fini(&b);
	return back;
}

/* Status Message of `st` answering a raw request. */
static int
raw_status(const char *method, const char *path, const char *body, enum taxii_version ver,
    const char *ctype, enum taxii_status st, long http, const char *what)
{
	struct resp r;
	struct taxii_msg *m = NULL;
	int good;

	if (send_req(method, path, body, body ? strlen(body) : 0, ver, ctype, &r) != 0) {
		util_buf_fini(&r.body);
		return ok(0, "%s: request sent", what);
	}
	good = r.body.data != NULL &&
	    taxii_msg_parse(r.body.data, r.body.len, TAXII_VANY, &m, NULL) == 0 &&
	    m->type == TAXII_MSG_STATUS && m->status == st && r.http == http;
	if (!good)
		tap_diag("HTTP %ld: %.400s", r.http, r.body.data ? r.body.data : "(empty)");
	if (good && schema11 != NULL)
		good = schema_valid(&r.body, m->version);
	ok(good, "%s: HTTP %ld and Status %s", what, http, taxii_status_name(st));
	taxii_msg_free(m);
	util_buf_fini(&r.body);
	return good;
}

static void
base(struct taxii_msg *m, enum taxii_version ver, enum taxii_msg_type type, char *id)
{
	memset(m, 0, sizeof(*m));
	taxii_msg_id_new(id);
	m->version = ver;
	m->type = type;
	m->message_id = id;
}

/* ---------------------------------------------------------------------------------------
 * Tests
 */

static void
test_discovery(void)
{
	char id[TAXII_ID_MAX], want[64];
	struct taxii_msg m, *b;
	struct resp r;

	base(&m, TAXII_V11, TAXII_MSG_DISCOVERY_REQ, id);
	b = exchange("/taxii/discovery", &m, &r);
	snprintf(want, sizeof(want), "http://127.0.0.1:%u/taxii/poll", port);
	ok(b && b->type == TAXII_MSG_DISCOVERY_RESP && b->n_services == 4 &&
	    strcmp(b->in_response_to, id) == 0, "1.1 discovery: four services, in response to");
	ok(b && b->n_services == 4 && b->services[3].type == TAXII_SVC_POLL &&
	    strcmp(b->services[3].contact.address, want) == 0, "poll service at the bound port");
	is_str(r.x_content_type, TAXII_MSG_BINDING_11, "response X-TAXII-Content-Type 1.1");
	is_str(r.x_protocol, TAXII_PROTOCOL_HTTP, "response X-TAXII-Protocol http");
	is_int(r.http, 200, "HTTP 200");
	taxii_msg_free(b);
	util_buf_fini(&r.body);

	base(&m, TAXII_V10, TAXII_MSG_DISCOVERY_REQ, id);
	b = exchange("/taxii/discovery", &m, &r);
	ok(b && b->version == TAXII_V10 && b->type == TAXII_MSG_DISCOVERY_RESP &&
	    b->n_services == 4 && b->services[1].type == TAXII_SVC_COLLECTION_MANAGEMENT,
	    "1.0 discovery answered in 1.0");
	is_str(r.x_content_type, TAXII_MSG_BINDING_10, "response X-TAXII-Content-Type 1.0");
	taxii_msg_free(b);
	util_buf_fini(&r.body);
}

static void
test_collections(struct mem *mem)
{
	char id[TAXII_ID_MAX];
	struct taxii_msg m, *b;
	struct resp r;

	base(&m, TAXII_V11, TAXII_MSG_COLLECTION_INFO_REQ, id);
	b = exchange("/taxii/collections", &m, &r);
	if (ok(b && b->type == TAXII_MSG_COLLECTION_INFO_RESP && b->n_collections == 3,
		"1.1 collections: three")) {
		ok(strcmp(b->collections[0].name, "observations") == 0 &&
		    b->collections[0].type == TAXII_COLL_DATA_FEED &&
		    b->collections[0].has_volume && b->collections[0].volume == N_OBS,
		    "observations: data feed with its volume");
		ok(strcmp(b->collections[1].name, "targets") == 0 &&
		    b->collections[1].type == TAXII_COLL_DATA_SET, "targets: data set");
		ok(b->collections[0].n_polling == 1 && b->collections[0].n_inbox == 1,
		    "polling and inbox services listed");
		ok(strcmp(b->collections[2].name, "blocklist") == 0 &&
		    b->collections[2].type == TAXII_COLL_DATA_SET &&
		    b->collections[2].n_polling == 1 && b->collections[2].n_inbox == 0,
		    "blocklist: a data set, polled, no inbox");
	}
	taxii_msg_free(b);
	util_buf_fini(&r.body);

	base(&m, TAXII_V10, TAXII_MSG_COLLECTION_INFO_REQ, id);
	b = exchange("/taxii/collections", &m, &r);
	ok(b && b->version == TAXII_V10 && b->n_collections == 3, "1.0 feed information");
	taxii_msg_free(b);
	util_buf_fini(&r.body);
	(void)mem;
}

static void
test_poll(void)
{
	char id[TAXII_ID_MAX], rid[64] = "";
	struct taxii_msg m, *b;
	struct resp r;
	int64_t prev = INT64_MIN;
	size_t got = 0;
	int ordered = 1;

	base(&m, TAXII_V11, TAXII_MSG_POLL_REQ, id);
	m.collection = "observations";
	m.has_poll_params = 1;
	b = exchange("/taxii/poll", &m, &r);
	if (ok(b && b->type == TAXII_MSG_POLL_RESP, "poll: a Poll_Response")) {
		ok(b->more && b->result_id && b->result_part == 1 && b->n_blocks == PART,
		    "part 1: more, result id, %d blocks", PART);
		ok(b->has_record_count && b->record_count == N_OBS && !b->partial_count,
		    "Record_Count is the whole result");
		ok(b->n_blocks > 0 && strcmp(b->blocks[0].binding, TAXII_CB_STIX_12) == 0 &&
		    b->blocks[0].has_timestamp && b->blocks[0].is_xml &&
		    strstr(b->blocks[0].content, "obs-0") != NULL, "blocks carry content and labels");
		if (b->result_id)
			snprintf(rid, sizeof(rid), "%s", b->result_id);
		for (size_t i = 0; i < b->n_blocks; i++, got++) {
			ordered &= b->blocks[i].timestamp_us > prev;
			prev = b->blocks[i].timestamp_us;
		}
	}
	taxii_msg_free(b);
	util_buf_fini(&r.body);

	for (uint64_t part = 2; part <= 4; part++) {
		base(&m, TAXII_V11, TAXII_MSG_POLL_FULFILLMENT, id);
		m.collection = "observations";
		m.result_id = rid;
		m.result_part = part;
		b = exchange("/taxii/poll", &m, &r);
		if (part == 2)
			ok(b && b->type == TAXII_MSG_POLL_RESP && b->more && b->result_part == 2 &&
			    b->n_blocks == PART, "part 2 by fulfillment");
		else if (part == 3)
			ok(b && b->type == TAXII_MSG_POLL_RESP && !b->more && b->result_part == 3 &&
			    b->n_blocks == N_OBS - 2 * PART, "part 3: the rest, no more");
		else
			ok(b && b->type == TAXII_MSG_STATUS &&
			    b->status == TAXII_ST_INVALID_RESPONSE_PART && b->n_details == 1 &&
			    strcmp(b->details[0].name, TAXII_SD_MAX_PART_NUMBER) == 0 &&
			    strcmp(b->details[0].value, "3") == 0,
			    "part 4: INVALID_RESPONSE_PART, MAX_PART_NUMBER 3");
		for (size_t i = 0; b && b->type == TAXII_MSG_POLL_RESP && i < b->n_blocks;
		     i++, got++) {
			ordered &= b->blocks[i].timestamp_us > prev;
			prev = b->blocks[i].timestamp_us;
		}
		taxii_msg_free(b);
		util_buf_fini(&r.body);
	}
	ok(got == N_OBS && ordered, "all %d records delivered once, in label order (%zu)", N_OBS,
	    got);

	base(&m, TAXII_V11, TAXII_MSG_POLL_FULFILLMENT, id);
	m.collection = "observations";
	m.result_id = "no-such-result";
	m.result_part = 1;
	b = exchange("/taxii/poll", &m, &r);
	ok(b && b->type == TAXII_MSG_STATUS && b->status == TAXII_ST_NOT_FOUND &&
	    b->n_details == 1 && strcmp(b->details[0].value, "no-such-result") == 0,
	    "unknown result: NOT_FOUND naming it");
	taxii_msg_free(b);
	util_buf_fini(&r.body);

	/* A window: labels are t0 + i seconds. */
	base(&m, TAXII_V11, TAXII_MSG_POLL_REQ, id);
	m.collection = "observations";
	m.has_poll_params = 1;
	m.has_begin = m.has_end = 1;
	m.begin_us = t0 + 9 * INT64_C(1000000);
	m.end_us = t0 + 19 * INT64_C(1000000);
	b = exchange("/taxii/poll", &m, &r);
	ok(b && b->type == TAXII_MSG_POLL_RESP && !b->more && b->n_blocks == 10 &&
	    b->blocks[0].timestamp_us == t0 + 10 * INT64_C(1000000) &&
	    b->blocks[9].timestamp_us == m.end_us, "window: exclusive begin, inclusive end");
	taxii_msg_free(b);
	util_buf_fini(&r.body);

	m.response_type = TAXII_RESP_COUNT_ONLY;
	m.has_begin = 0;
	b = exchange("/taxii/poll", &m, &r);
	ok(b && b->type == TAXII_MSG_POLL_RESP && b->has_record_count && b->record_count == 20 &&
	    b->n_blocks == 0, "COUNT_ONLY: Record_Count 20, no blocks");
	taxii_msg_free(b);
	util_buf_fini(&r.body);

	base(&m, TAXII_V11, TAXII_MSG_POLL_REQ, id);
	m.collection = "observations";
	m.has_poll_params = 1;
	m.has_begin = 1;
	m.begin_us = util_now_us() + INT64_C(3600) * 1000000;
	b = exchange("/taxii/poll", &m, &r);
	ok(b && b->type == TAXII_MSG_POLL_RESP && b->n_blocks == 0 && b->record_count == 0 &&
	    !b->more, "begin ahead of the clock, no end: an empty response");
	taxii_msg_free(b);
	util_buf_fini(&r.body);
	m.has_end = 1;
	m.end_us = m.begin_us - 1;
	b = exchange("/taxii/poll", &m, &r);
	ok(b && b->type == TAXII_MSG_STATUS && b->status == TAXII_ST_BAD_MESSAGE,
	    "end before begin: BAD_MESSAGE");
	taxii_msg_free(b);
	util_buf_fini(&r.body);

	base(&m, TAXII_V11, TAXII_MSG_POLL_REQ, id);
	m.collection = "nosuch";
	m.has_poll_params = 1;
	b = exchange("/taxii/poll", &m, &r);
	ok(b && b->type == TAXII_MSG_STATUS && b->status == TAXII_ST_NOT_FOUND &&
	    b->n_details == 1 && strcmp(b->details[0].name, TAXII_SD_ITEM) == 0 &&
	    strcmp(b->details[0].value, "nosuch") == 0, "unknown collection: NOT_FOUND ITEM");
	taxii_msg_free(b);
	util_buf_fini(&r.body);

	static const char *const other[] = { "urn:example:json" };
	base(&m, TAXII_V11, TAXII_MSG_POLL_REQ, id);
	m.collection = "observations";
	m.has_poll_params = 1;
	m.content_bindings.v = other;
	m.content_bindings.n = 1;
	b = exchange("/taxii/poll", &m, &r);
	ok(b && b->type == TAXII_MSG_STATUS && b->status == TAXII_ST_UNSUPPORTED_CONTENT &&
	    b->n_details == 1 && strcmp(b->details[0].value, TAXII_CB_STIX_12) == 0,
	    "unservable binding: UNSUPPORTED_CONTENT listing STIX 1.2");
	taxii_msg_free(b);
	util_buf_fini(&r.body);

	/* 1.0 has no parts: one part, Inclusive_End narrowed to its last label. */
	base(&m, TAXII_V10, TAXII_MSG_POLL_REQ, id);
	m.collection = "observations";
	b = exchange("/taxii/poll", &m, &r);
	ok(b && b->version == TAXII_V10 && b->type == TAXII_MSG_POLL_RESP &&
	    b->n_blocks == PART && b->has_end &&
	    b->end_us == b->blocks[PART - 1].timestamp_us, "1.0 poll: one part, end narrowed");
	taxii_msg_free(b);
	util_buf_fini(&r.body);
}

static void
test_inbox(struct mem *mem)
{
	char id[TAXII_ID_MAX];
	struct taxii_msg m, *b;
	struct resp r;
	struct taxii_content_block blk[2];
	const char *pkg = "<stix:STIX_Package xmlns:stix=\"http://stix.mitre.org/stix-1\" "
			  "version=\"1.2\"/>";
	const char *bad = "<stix:STIX_Package xmlns:stix=\"http://stix.mitre.org/stix-1\" "
			  "id=\"REFUSE\" version=\"1.2\"/>";

	memset(blk, 0, sizeof(blk));
	for (int i = 0; i < 2; i++) {
		blk[i].binding = TAXII_CB_STIX_12;
		blk[i].content = pkg;
		blk[i].content_len = strlen(pkg);
		blk[i].is_xml = 1;
	}
	base(&m, TAXII_V11, TAXII_MSG_INBOX, id);
	m.collection = "targets";
	m.blocks = blk;
	m.n_blocks = 2;
	b = exchange("/taxii/inbox", &m, &r);
	ok(b && b->type == TAXII_MSG_STATUS && b->status == TAXII_ST_SUCCESS &&
	    strcmp(b->in_response_to, id) == 0, "inbox of two blocks: SUCCESS");
	is_int(mem->n_targets, 2, "both stored");
	taxii_msg_free(b);
	util_buf_fini(&r.body);

	blk[1].content = bad;
	blk[1].content_len = strlen(bad);
	b = exchange("/taxii/inbox", &m, &r);
	ok(b && b->type == TAXII_MSG_STATUS && b->status == TAXII_ST_FAILURE && b->message &&
	    strstr(b->message, "block 2") != NULL, "a refused block: FAILURE saying which");
	is_int(mem->n_targets, 2, "nothing stored from the refused message");
	taxii_msg_free(b);
	util_buf_fini(&r.body);

	blk[1].content = pkg;
	blk[1].content_len = strlen(pkg);
	blk[1].binding = "urn:example:json";
	b = exchange("/taxii/inbox", &m, &r);
	ok(b && b->type == TAXII_MSG_STATUS && b->status == TAXII_ST_UNSUPPORTED_CONTENT &&
	    b->n_details == 2, "foreign binding: UNSUPPORTED_CONTENT with the supported ones");
	is_int(mem->n_targets, 2, "nothing stored");
	taxii_msg_free(b);
	util_buf_fini(&r.body);

	blk[1].binding = TAXII_CB_STIX_12;
	m.collection = "elsewhere";
	b = exchange("/taxii/inbox", &m, &r);
	ok(b && b->type == TAXII_MSG_STATUS &&
	    b->status == TAXII_ST_DESTINATION_COLLECTION_ERROR && b->n_details == 2 &&
	    strcmp(b->details[0].name, TAXII_SD_ACCEPTABLE_DESTINATION) == 0,
	    "unknown destination: DESTINATION_COLLECTION_ERROR with ACCEPTABLE_DESTINATION");
	taxii_msg_free(b);
	util_buf_fini(&r.body);

	base(&m, TAXII_V10, TAXII_MSG_INBOX, id);
	m.blocks = blk;
	m.n_blocks = 1;
	b = exchange("/taxii/inbox", &m, &r);
	ok(b && b->version == TAXII_V10 && b->type == TAXII_MSG_STATUS &&
	    b->status == TAXII_ST_SUCCESS, "1.0 inbox: SUCCESS");
	taxii_msg_free(b);
	util_buf_fini(&r.body);
}

static void
test_hostile(size_t max_body)
{
	const char *xxe =
	    "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n"
	    "<t:Poll_Request xmlns:t=\"" TAXII_NS_11 "\" message_id=\"1\" collection_name=\"&x;\">"
	    "<t:Poll_Parameters/></t:Poll_Request>";
	const char *disc = "<t:Discovery_Request xmlns:t=\"" TAXII_NS_11 "\" message_id=\"5\"/>";
	const char *poll = "<t:Poll_Request xmlns:t=\"" TAXII_NS_11 "\" message_id=\"6\" "
			   "collection_name=\"observations\"><t:Poll_Parameters/></t:Poll_Request>";
	struct util_buf big;

	raw_status(NULL, "/taxii/poll", xxe, TAXII_V11, TAXII_HTTP_CONTENT_TYPE,
	    TAXII_ST_BAD_MESSAGE, 200, "XXE");
	raw_status(NULL, "/taxii/poll", "<<<not xml", TAXII_V11, TAXII_HTTP_CONTENT_TYPE,
	    TAXII_ST_BAD_MESSAGE, 200, "garbage body");
	raw_status(NULL, "/taxii/poll", "", TAXII_V11, TAXII_HTTP_CONTENT_TYPE,
	    TAXII_ST_BAD_MESSAGE, 200, "empty body");
	raw_status("GET", "/taxii/discovery", NULL, TAXII_V11, NULL, TAXII_ST_BAD_MESSAGE, 405,
	    "GET");
	raw_status("PUT", "/taxii/inbox", NULL, TAXII_V11, NULL, TAXII_ST_BAD_MESSAGE, 405, "PUT");
	raw_status(NULL, "/taxii/discovery", disc, TAXII_V11, "application/x-www-form-urlencoded",
	    TAXII_ST_BAD_MESSAGE, 415, "wrong Content-Type");
	raw_status(NULL, "/nowhere", disc, TAXII_V11, TAXII_HTTP_CONTENT_TYPE,
	    TAXII_ST_NOT_FOUND, 404, "unknown path");
	raw_status(NULL, "/taxii/%ff%c3%28%01", disc, TAXII_V11, TAXII_HTTP_CONTENT_TYPE,
	    TAXII_ST_NOT_FOUND, 404, "unknown path of bytes that are not UTF-8");
	raw_status(NULL, "/taxii/discovery", poll, TAXII_V11, TAXII_HTTP_CONTENT_TYPE,
	    TAXII_ST_UNSUPPORTED_MESSAGE, 200, "Poll_Request sent to discovery");
	raw_status(NULL, "/taxii/discovery", disc, TAXII_V10, TAXII_HTTP_CONTENT_TYPE,
	    TAXII_ST_BAD_MESSAGE, 200, "1.1 body under 1.0 headers");

	util_buf_init(&big, 0);
	util_buf_printf(&big, "<t:Inbox_Message xmlns:t=\"%s\" message_id=\"9\"><t:Message>",
	    TAXII_NS_11);
	while (big.len <= max_body)
		util_buf_add(&big, "xxxxxxxxxxxxxxxx", 16);
	util_buf_printf(&big, "</t:Message></t:Inbox_Message>");
	ok(strlen(big.data) > max_body, "oversize body built (%zu bytes)", strlen(big.data));
	raw_status(NULL, "/taxii/inbox", big.data, TAXII_V11, TAXII_HTTP_CONTENT_TYPE,
	    TAXII_ST_BAD_MESSAGE, 413, "body over the cap");
	chunked = 1;
	raw_status(NULL, "/taxii/inbox", big.data, TAXII_V11, TAXII_HTTP_CONTENT_TYPE,
	    TAXII_ST_BAD_MESSAGE, 413, "chunked body over the cap");
	{
		struct taxii_msg *m = NULL;
		struct resp r;

		send_req(NULL, "/taxii/discovery", disc, strlen(disc), TAXII_V11,
		    TAXII_HTTP_CONTENT_TYPE, &r);
		ok(r.body.data &&
		    taxii_msg_parse(r.body.data, r.body.len, TAXII_VANY, &m, NULL) == 0 &&
		    m->type == TAXII_MSG_DISCOVERY_RESP, "small chunked body is read whole");
		taxii_msg_free(m);
		util_buf_fini(&r.body);
	}
	chunked = 0;
	util_buf_fini(&big);
}

/* Without X-TAXII headers the version comes from the body's namespace. */
static void
test_sniffed(void)
{
	const char *disc = "<t:Discovery_Request xmlns:t=\"" TAXII_NS_10 "\" message_id=\"5\"/>";
	struct taxii_msg *m = NULL;
	struct resp r;

	send_req(NULL, "/taxii/discovery", disc, strlen(disc), TAXII_VANY,
	    TAXII_HTTP_CONTENT_TYPE, &r);
	ok(r.body.data && taxii_msg_parse(r.body.data, r.body.len, TAXII_VANY, &m, NULL) == 0 &&
	    m->type == TAXII_MSG_DISCOVERY_RESP && m->version == TAXII_V10,
	    "no X-TAXII headers: a 1.0 body gets a 1.0 answer");
	taxii_msg_free(m);
	util_buf_fini(&r.body);
}

struct collect {
	size_t n, stop_at;
	int64_t last;
	int ordered;
};

static int
collect(void *arg, const struct taxii_content_block *b)
{
	struct collect *c = arg;

	if (c->stop_at && c->n + 1 == c->stop_at)
		return 1;
	if (!b->has_timestamp || b->timestamp_us <= c->last || !b->is_xml)
		c->ordered = 0;
	c->last = b->timestamp_us;
	c->n++;
	return 0;
}

static void
client_conf(struct taxii_client_conf *cc, const char *path, enum taxii_version ver,
    char *url, size_t urlsize)
{
	snprintf(url, urlsize, "http://127.0.0.1:%u%s", port, path);
	memset(cc, 0, sizeof(*cc));
	cc->url = url;
	cc->version = ver;
	cc->timeout_s = 10;
}

struct poller {
	pthread_t t;
	struct collect c;
	int rc;
};

static void *
poller_run(void *arg)
{
	struct poller *p = arg;
	struct taxii_client_conf cc;
	struct taxii_err err;
	char url[128];

	client_conf(&cc, "/taxii/poll", TAXII_V11, url, sizeof(url));
	p->c.last = INT64_MIN;
	p->c.ordered = 1;
	for (int i = 0; i < 3 && p->rc == 0; i++) {
		p->c.n = 0;
		p->c.last = INT64_MIN;
		p->rc = taxii_client_poll(&cc, "observations", -1, INT64_MAX, collect, &p->c, NULL,
		    &err);
		if (p->c.n != N_OBS)
			p->rc = -100;
	}
	return NULL;
}

/* Several clients at once: multi-part results must not get mixed up. */
static void
test_concurrent(void)
{
	struct poller p[6];
	int all = 1, started = 0;

	memset(p, 0, sizeof(p));
	for (int i = 0; i < 6; i++)
		if (pthread_create(&p[i].t, NULL, poller_run, &p[i]) == 0)
			started |= 1 << i;
	for (int i = 0; i < 6; i++) {
		if (!(started & (1 << i))) {
			all = 0;
			continue;
		}
		pthread_join(p[i].t, NULL);
		if (p[i].rc != 0 || !p[i].c.ordered)
			all = 0;
	}
	ok(all, "six concurrent clients, three full polls each, every one complete and ordered");
}

static void
test_accept(void)
{
	char id[TAXII_ID_MAX];
	struct taxii_msg m, *b;
	struct resp r;

	base(&m, TAXII_V11, TAXII_MSG_DISCOVERY_REQ, id);
	accept_hdr = TAXII_MSG_BINDING_10;
	b = exchange("/taxii/discovery", &m, &r);
	ok(b && b->version == TAXII_V10 && b->type == TAXII_MSG_DISCOVERY_RESP &&
	    strcmp(r.x_content_type, TAXII_MSG_BINDING_10) == 0,
	    "1.1 request accepting only 1.0: answered in 1.0");
	taxii_msg_free(b);
	util_buf_fini(&r.body);
	accept_hdr = NULL;
}

static int
auth_check(void *ctx, const char *user, const char *password)
{
	return (strcmp(user, "alice") == 0 && strcmp(password, "secret") == 0) ||
	    (strcmp(user, "bob") == 0 && strcmp(password, "pw") == 0) ? 0 : -1;
}

static int
auth_allow(void *ctx, const char *user, const char *collection)
{
	return strcmp(user, "alice") == 0 || strcmp(collection, "targets") == 0 ? 0 : -1;
}

/* A page handler: says what it was asked, or fails when the path says so. */
static int
page_get(void *ctx, const struct taxii_http_req *req, struct taxii_http_resp *resp,
    char *err, size_t errlen)
{
	const char *q = taxii_http_arg(req, "q");
	const char *h = taxii_http_header(req, "X-Probe");

	(void)ctx;
	if (strcmp(req->path, "/fail") == 0) {
		snprintf(err, errlen, "the page failed");
		return -1;
	}
	resp->status = strcmp(req->path, "/missing") == 0 ? 404 : 200;
	snprintf(resp->content_type, sizeof(resp->content_type), "text/html; charset=utf-8");
	if (taxii_http_add_header(resp, "X-Page", "yes") != 0)
		return -1;
	util_buf_printf(resp->body, "path=%s user=%s q=%s probe=%s", req->path,
	    req->user ? req->user : "-", q ? q : "-", h ? h : "-");
	return 0;
}

/* What the server's watch was told, from its threads. */
struct watched {
	pthread_mutex_t mu;
	int n;
	struct taxii_request_info info[32];
};

static void
watch_done(void *ctx, const struct taxii_request_info *info)
{
	struct watched *w = ctx;

	pthread_mutex_lock(&w->mu);
	if (w->n < 32)
		w->info[w->n] = *info;
	w->n++;
	pthread_mutex_unlock(&w->mu);
}

/* Whether the watch was told of one answer like this (service, HTTP, status, auth). */
static int
watched(struct watched *w, const char *service, unsigned http, int status,
    enum taxii_auth_fail auth)
{
	int found = 0;

	pthread_mutex_lock(&w->mu);
	for (int i = 0; i < w->n && i < 32; i++)
		if (strcmp(w->info[i].service, service) == 0 && w->info[i].http_status == http &&
		    w->info[i].status == status && w->info[i].auth == auth)
			found = 1;
	pthread_mutex_unlock(&w->mu);
	return found;
}

static void
test_pages(const struct taxii_backend *be)
{
	static struct watched w = {PTHREAD_MUTEX_INITIALIZER, 0, {{0}}};
	struct taxii_watch watch = { &w, watch_done };
	int64_t until;
	struct taxii_auth auth = { NULL, auth_check, auth_allow };
	struct taxii_http http = { NULL, page_get };
	struct taxii_server_conf conf;
	struct taxii_server *s = NULL;
	struct taxii_err err;
	struct taxii_http_resp hr;
	struct resp r;
	unsigned saved = port;
	char name[64];
	int i;

	memset(&conf, 0, sizeof(conf));
	conf.listen = "127.0.0.1:0";
	conf.auth = &auth;
	conf.http = &http;
	conf.watch = &watch;
	if (!ok(taxii_server_new(&conf, be, &s, &err) == 0, "server with pages (%s)", err.msg))
		return;
	port = taxii_server_port(s, 0);

	userpwd = NULL;
	send_req("GET", "/report?q=1", NULL, 0, TAXII_VANY, NULL, &r);
	ok(r.http == 401 && r.www_authenticate && r.body.data &&
	    strstr(r.body.data, "authentication required") != NULL &&
	    strstr(r.headers, "text/plain") != NULL, "a page without credentials: 401, text");
	util_buf_fini(&r.body);

	userpwd = "alice:secret";
	send_req("GET", "/report?q=a%20b", NULL, 0, TAXII_VANY, NULL, &r);
	ok(r.http == 200 && r.body.data &&
	    strcmp(r.body.data, "path=/report user=alice q=a b probe=-") == 0 &&
	    strstr(r.headers, "X-Page: yes") != NULL &&
	    strstr(r.headers, "Content-Type: text/html; charset=utf-8") != NULL,
	    "a page: its path, user, decoded argument, type and headers (%s)",
	    r.body.data ? r.body.data : "no body");
	util_buf_fini(&r.body);

	send_req("GET", "/missing", NULL, 0, TAXII_VANY, NULL, &r);
	ok(r.http == 404, "the handler's status is sent (%ld)", r.http);
	util_buf_fini(&r.body);

	send_req("GET", "/fail", NULL, 0, TAXII_VANY, NULL, &r);
	ok(r.http == 500 && r.body.data && strstr(r.body.data, "the page failed") != NULL,
	    "a failing handler: 500 with its reason");
	util_buf_fini(&r.body);

	send_req("GET", "/taxii/poll", NULL, 0, TAXII_VANY, NULL, &r);
	ok(r.http == 405, "GET of a TAXII service is still 405 (%ld)", r.http);
	util_buf_fini(&r.body);

	send_req("DELETE", "/report", NULL, 0, TAXII_VANY, NULL, &r);
	ok(r.http == 405, "other methods on pages: 405 (%ld)", r.http);
	util_buf_fini(&r.body);

	userpwd = "alice:wrong";
	send_req("GET", "/report", NULL, 0, TAXII_VANY, NULL, &r);
	ok(r.http == 401, "a page with a wrong password: 401 (%ld)", r.http);
	util_buf_fini(&r.body);
	userpwd = "alice:secret";

	/* The watch hears of an answer once it is queued: possibly after the client got it. */
	until = util_mono_us() + 5000000;
	for (;;) {
		pthread_mutex_lock(&w.mu);
		i = w.n;
		pthread_mutex_unlock(&w.mu);
		if (i >= 7 || util_mono_us() > until)
			break;
		usleep(10000);
	}
	is_int(i, 7, "the watch is told of every answer");
	ok(watched(&w, "page", 401, -1, TAXII_AUTH_MISSING), "watch: a page without credentials");
	ok(watched(&w, "page", 401, -1, TAXII_AUTH_INVALID), "watch: a page with a wrong password");
	ok(watched(&w, "page", 200, -1, TAXII_AUTH_PASSED), "watch: a page served");
	ok(watched(&w, "page", 404, -1, TAXII_AUTH_PASSED), "watch: the handler's status");
	ok(watched(&w, "page", 500, -1, TAXII_AUTH_PASSED), "watch: a failing handler");
	ok(watched(&w, "poll", 405, TAXII_ST_BAD_MESSAGE, TAXII_AUTH_PASSED),
	    "watch: GET of the poll service, by service and TAXII status");
	ok(watched(&w, "other", 405, TAXII_ST_BAD_MESSAGE, TAXII_AUTH_PASSED),
	    "watch: another method on a page");

	memset(&hr, 0, sizeof(hr));
	for (i = 0; i < TAXII_HTTP_MAX_HEADERS; i++) {
		snprintf(name, sizeof(name), "X-H%d", i);
		if (taxii_http_add_header(&hr, name, "v") != 0)
			break;
	}
	ok(i == TAXII_HTTP_MAX_HEADERS && taxii_http_add_header(&hr, "X-One-Too-Many", "v") != 0,
	    "response headers: %d taken, then refused", i);
	userpwd = NULL;
	taxii_server_free(s);
	port = saved;
}

static void
test_auth(const struct taxii_backend *be)
{
	struct taxii_auth auth = { NULL, auth_check, auth_allow };
	struct taxii_server_conf conf;
	struct taxii_server *s = NULL;
	struct taxii_err err;
	char id[TAXII_ID_MAX];
	struct taxii_msg m, *b;
	struct resp r;
	unsigned saved = port;
	const char *disc = "<t:Discovery_Request xmlns:t=\"" TAXII_NS_11 "\" message_id=\"5\"/>";

	memset(&conf, 0, sizeof(conf));
	conf.listen = "127.0.0.1:0";
	conf.auth = &auth;
	if (!ok(taxii_server_new(&conf, be, &s, &err) == 0, "server with authentication"))
		return;
	port = taxii_server_port(s, 0);

	send_req(NULL, "/taxii/discovery", disc, strlen(disc), TAXII_V11,
	    TAXII_HTTP_CONTENT_TYPE, &r);
	b = NULL;
	ok(r.http == 401 && r.www_authenticate && r.body.data &&
	    taxii_msg_parse(r.body.data, r.body.len, TAXII_VANY, &b, NULL) == 0 &&
	    b->status == TAXII_ST_UNAUTHORIZED, "no credentials: 401 and UNAUTHORIZED");
	taxii_msg_free(b);
	util_buf_fini(&r.body);

	userpwd = "alice:wrong";
	raw_status(NULL, "/taxii/discovery", disc, TAXII_V11, TAXII_HTTP_CONTENT_TYPE,
	    TAXII_ST_UNAUTHORIZED, 401, "wrong password");

	userpwd = "alice:secret";
	base(&m, TAXII_V11, TAXII_MSG_COLLECTION_INFO_REQ, id);
	b = exchange("/taxii/collections", &m, &r);
	ok(b && b->type == TAXII_MSG_COLLECTION_INFO_RESP && b->n_collections == 3,
	    "alice sees every collection");
	taxii_msg_free(b);
	util_buf_fini(&r.body);

	userpwd = "bob:pw";
	b = exchange("/taxii/collections", &m, &r);
	ok(b && b->type == TAXII_MSG_COLLECTION_INFO_RESP && b->n_collections == 1 &&
	    strcmp(b->collections[0].name, "targets") == 0, "bob sees only targets");
	taxii_msg_free(b);
	util_buf_fini(&r.body);

	base(&m, TAXII_V11, TAXII_MSG_POLL_REQ, id);
	m.collection = "observations";
	m.has_poll_params = 1;
	b = exchange("/taxii/poll", &m, &r);
	ok(b && b->type == TAXII_MSG_STATUS && b->status == TAXII_ST_UNAUTHORIZED,
	    "bob may not poll observations: UNAUTHORIZED");
	taxii_msg_free(b);
	util_buf_fini(&r.body);

	m.collection = "targets";
	b = exchange("/taxii/poll", &m, &r);
	ok(b && b->type == TAXII_MSG_POLL_RESP, "bob may poll targets");
	taxii_msg_free(b);
	util_buf_fini(&r.body);

	{
		struct taxii_client_conf cc;
		struct collect c;
		char url[128];

		memset(&c, 0, sizeof(c));
		c.last = INT64_MIN;
		client_conf(&cc, "/taxii/poll", TAXII_V11, url, sizeof(url));
		ok(taxii_client_poll(&cc, "targets", -1, INT64_MAX, collect, &c, NULL, &err) ==
			TAXII_ESTATUS && strstr(err.msg, "UNAUTHORIZED") != NULL,
		    "client without credentials: UNAUTHORIZED");
		cc.username = "bob";
		cc.password = "pw";
		ok(taxii_client_poll(&cc, "targets", -1, INT64_MAX, collect, &c, NULL, &err) == 0,
		    "client with credentials: polled");
	}

	userpwd = NULL;
	port = saved;
	taxii_server_free(s);
}

static void
test_client(struct mem *mem)
{
	struct taxii_client_conf cc;
	struct taxii_err err;
	struct collect c;
	char url[128];
	int64_t end = 0, before = util_now_us();
	int rc;

	client_conf(&cc, "/taxii/poll", TAXII_V11, url, sizeof(url));
	memset(&c, 0, sizeof(c));
	c.ordered = 1;
	c.last = INT64_MIN;
	rc = taxii_client_poll(&cc, "observations", -1, INT64_MAX, collect, &c, &end, &err);
	if (!ok(rc == 0 && c.n == N_OBS && c.ordered, "client 1.1: all %d records over three parts "
		"(%zu)", N_OBS, c.n))
		tap_diag("%s", err.msg);
	ok(end >= before && end <= util_now_us(), "end label is the server's now");

	memset(&c, 0, sizeof(c));
	c.ordered = 1;
	c.last = INT64_MIN;
	rc = taxii_client_poll(&cc, "observations", mem->label[9], mem->label[19], collect, &c,
	    &end, &err);
	ok(rc == 0 && c.n == 10 && end == mem->label[19], "client 1.1: a window of ten");

	client_conf(&cc, "/taxii/poll", TAXII_V10, url, sizeof(url));
	memset(&c, 0, sizeof(c));
	c.ordered = 1;
	c.last = INT64_MIN;
	rc = taxii_client_poll(&cc, "observations", -1, INT64_MAX, collect, &c, &end, &err);
	if (!ok(rc == 0 && c.n == N_OBS && c.ordered && end >= before,
		"client 1.0: all records by re-polling from the narrowed end (%zu)", c.n))
		tap_diag("%s", err.msg);

	client_conf(&cc, "/taxii/poll", TAXII_V11, url, sizeof(url));
	rc = taxii_client_poll(&cc, "nosuch", -1, INT64_MAX, collect, &c, &end, &err);
	ok(rc == TAXII_ESTATUS && strstr(err.msg, "NOT_FOUND") != NULL &&
	    strstr(err.msg, "nosuch") != NULL, "unknown collection: TAXII_ESTATUS naming it (%s)",
	    err.msg);

	memset(&c, 0, sizeof(c));
	c.ordered = 1;
	c.last = INT64_MIN;
	c.stop_at = 150;
	rc = taxii_client_poll(&cc, "observations", -1, INT64_MAX, collect, &c, &end, &err);
	ok(rc == TAXII_EINVAL && c.n == 149, "callback abort stops the poll");

	c.stop_at = 0;
	cc.max_response = 4096;
	rc = taxii_client_poll(&cc, "observations", -1, INT64_MAX, collect, &c, &end, &err);
	ok(rc == TAXII_ETOOBIG, "response over the client's cap: TAXII_ETOOBIG");
	cc.max_response = 0;
	cc.max_parts = 2;
	rc = taxii_client_poll(&cc, "observations", -1, INT64_MAX, collect, &c, &end, &err);
	ok(rc == TAXII_ETOOBIG, "more parts than allowed: TAXII_ETOOBIG");

	struct taxii_content_block blk;
	const char *pkg = "<stix:STIX_Package xmlns:stix=\"http://stix.mitre.org/stix-1\" "
			  "version=\"1.2\"/>";
	size_t before_targets = mem->n_targets;

	memset(&blk, 0, sizeof(blk));
	blk.binding = TAXII_CB_STIX_12;
	blk.content = pkg;
	blk.content_len = strlen(pkg);
	blk.is_xml = 1;
	client_conf(&cc, "/taxii/inbox", TAXII_V11, url, sizeof(url));
	rc = taxii_client_inbox(&cc, "targets", &blk, 1, &err);
	ok(rc == 0 && mem->n_targets == before_targets + 1, "client inbox: SUCCESS, stored");
	blk.content = "<x id=\"REFUSE\"/>";
	blk.content_len = strlen(blk.content);
	rc = taxii_client_inbox(&cc, "targets", &blk, 1, &err);
	ok(rc == TAXII_ESTATUS && strstr(err.msg, "FAILURE") != NULL &&
	    mem->n_targets == before_targets + 1, "client inbox refused: TAXII_ESTATUS FAILURE");

	client_conf(&cc, "/taxii/inbox", TAXII_V11, url, sizeof(url));
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/taxii/inbox", closed_port);
	rc = taxii_client_inbox(&cc, "targets", &blk, 1, &err);
	ok(rc == TAXII_ENET, "nothing listening: TAXII_ENET (%s)", err.msg);
	snprintf(url, sizeof(url), "file:///etc/passwd");
	rc = taxii_client_inbox(&cc, "targets", &blk, 1, &err);
	ok(rc == TAXII_ENET, "non-HTTP URL refused");
}

static void
test_tls(const struct taxii_backend *be)
{
	const char *src = getenv("TESTS_SRCDIR");
	char cert[1024], key[1024], url[160];
	struct taxii_server_conf conf;
	struct taxii_client_conf cc;
	struct taxii_server *s = NULL;
	struct taxii_err err;
	struct collect c;
	unsigned tport;

	if (src == NULL) {
		tap_skip("TLS", "TESTS_SRCDIR unset");
		return;
	}
	if (snprintf(cert, sizeof(cert), "%s/data/taxii/tls/cert.pem", src) >= (int)sizeof(cert) ||
	    snprintf(key, sizeof(key), "%s/data/taxii/tls/key.pem", src) >= (int)sizeof(key))
		return;
	memset(&conf, 0, sizeof(conf));
	conf.listen = "127.0.0.1:0";
	conf.tls_cert = cert;
	ok(taxii_server_new(&conf, be, &s, &err) == TAXII_EINVAL && s == NULL,
	    "certificate without key refused");
	conf.tls_key = "/nonexistent/key.pem";
	ok(taxii_server_new(&conf, be, &s, &err) == TAXII_EINVAL && s == NULL,
	    "unreadable key refused (%s)", err.msg);
	conf.tls_key = key;
	if (!ok(taxii_server_new(&conf, be, &s, &err) == 0, "HTTPS server starts (%s)", err.msg))
		return;
	tport = taxii_server_port(s, 0);

	memset(&cc, 0, sizeof(cc));
	snprintf(url, sizeof(url), "https://127.0.0.1:%u/taxii/poll", tport);
	cc.url = url;
	cc.ca_file = cert;
	cc.timeout_s = 10;
	memset(&c, 0, sizeof(c));
	c.last = INT64_MIN;
	c.ordered = 1;
	int rc = taxii_client_poll(&cc, "observations", -1, INT64_MAX, collect, &c, NULL, &err);

	if (!ok(rc == 0 && c.n == N_OBS && c.ordered, "client polls all records over HTTPS (%zu)",
		c.n))
		tap_diag("%s", err.msg);
	cc.ca_file = NULL;
	ok(taxii_client_poll(&cc, "observations", -1, INT64_MAX, collect, &c, NULL, &err) ==
		TAXII_ENET, "untrusted certificate refused by the client");
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/taxii/poll", tport);
	ok(taxii_client_poll(&cc, "observations", -1, INT64_MAX, collect, &c, NULL, &err) != 0,
	    "plain HTTP to the HTTPS port fails");

	/* Discovery over TLS advertises https addresses and protocol. */
	{
		unsigned saved = port;
		char id[TAXII_ID_MAX], want[80];
		struct taxii_msg m, *b;
		struct resp r;

		port = tport;
		tls_ca = cert;
		base(&m, TAXII_V11, TAXII_MSG_DISCOVERY_REQ, id);
		b = exchange("/taxii/discovery", &m, &r);
		snprintf(want, sizeof(want), "https://127.0.0.1:%u/taxii/poll", tport);
		ok(b && b->n_services == 4 &&
		    strcmp(b->services[3].contact.protocol, TAXII_PROTOCOL_HTTPS) == 0 &&
		    strcmp(b->services[3].contact.address, want) == 0,
		    "discovery over TLS: https addresses and protocol binding");
		is_str(r.x_protocol, TAXII_PROTOCOL_HTTPS, "response X-TAXII-Protocol https");
		taxii_msg_free(b);
		util_buf_fini(&r.body);
		tls_ca = NULL;
		port = saved;
	}
	taxii_server_free(s);
}

static void
test_conf(const struct taxii_backend *be)
{
	struct taxii_server_conf conf;
	struct taxii_server *s = NULL;
	struct taxii_err err;
	static const char *const bad[] = { "127.0.0.1", "127.0.0.1:", ":80", "::1:0",
		"[::1]0", "127.0.0.1:99999", "127.0.0.1:0,,", "nonsense.invalid.:0" };

	memset(&conf, 0, sizeof(conf));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		conf.listen = bad[i];
		ok(taxii_server_new(&conf, be, &s, &err) != 0 && s == NULL,
		    "listen \"%s\" refused (%s)", bad[i], err.msg);
	}
	conf.listen = "127.0.0.1:0, [::1]:0";
	if (taxii_server_new(&conf, be, &s, &err) == 0) {
		ok(taxii_server_port(s, 0) > 0 && taxii_server_port(s, 1) > 0 &&
		    taxii_server_port(s, 2) == 0, "two addresses, two bound ports");
		taxii_server_free(s);
	} else {
		tap_skip("two addresses, two bound ports", "no IPv6 loopback here (%s)", err.msg);
	}
	taxii_server_free(NULL);
}

/* ---------------------------------------------------------------------------------------
 * Streamed parts: a backend of large records, read by the server as the socket drains
 */

#define BIG_N 500
#define BIG_PART 100
/* Bytes of title per record: a part (10 MB) is more than the kernel buffers of a
 * loopback connection hold (4 MB each way at most here), so a client that stops reading
 * stops the answer. */
#define BIG_PAD 100000

struct big {
	pthread_mutex_t lock;
	int64_t label0;
	int inflight; /* backend calls under way: a read of the store, for a real backend */
	int calls;
	int fail_at;  /* the call that fails (0: none) */
};

static struct big big = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0};

/* The package of record i, into b (reset first). */
static void
big_content(size_t i, struct util_buf *b)
{
	util_buf_reset(b);
	util_buf_printf(b, "<stix:STIX_Package xmlns:stix=\"http://stix.mitre.org/stix-1\" "
	    "id=\"big-%zu\" version=\"1.2\"><stix:STIX_Header><stix:Title>", i);
	for (size_t k = 0; k < BIG_PAD / 10; k++)
		util_buf_printf(b, "r%04zu-%04zu", i % 10000, k % 10000);
	util_buf_printf(b, "</stix:Title></stix:STIX_Header></stix:STIX_Package>");
}

static int
big_poll(void *ctx, const char *collection, int64_t begin_us, int64_t end_us, size_t offset,
    size_t limit, taxii_record_cb cb, void *arg, char *err, size_t errlen)
{
	struct big *g = ctx;
	struct util_buf b;
	size_t seen = 0, given = 0;
	int rc = 0, fail;

	if (strcmp(collection, "observations") != 0)
		return 0;
	pthread_mutex_lock(&g->lock);
	g->inflight++;
	fail = ++g->calls == g->fail_at;
	pthread_mutex_unlock(&g->lock);
	util_buf_init(&b, 0);
	for (size_t i = 0; i < BIG_N && given < limit && !fail; i++) {
		struct taxii_record r;
		int64_t label = g->label0 + (int64_t)i;

		if (label <= begin_us || label > end_us || seen++ < offset)
			continue;
		big_content(i, &b);
		r.content = b.data;
		r.content_len = b.len;
		r.binding = NULL;
		r.label_us = label;
		if (cb(arg, &r) != 0) {
			rc = -1;
			break;
		}
		given++;
	}
	if (fail) {
		snprintf(err, errlen, "the store failed");
		rc = -1;
	}
	util_buf_fini(&b);
	pthread_mutex_lock(&g->lock);
	g->inflight--;
	pthread_mutex_unlock(&g->lock);
	return rc;
}

static int
big_count(void *ctx, const char *collection, int64_t begin_us, int64_t end_us,
    uint64_t *count, char *err, size_t errlen)
{
	const struct big *g = ctx;

	*count = 0;
	if (strcmp(collection, "observations") != 0)
		return 0;
	for (size_t i = 0; i < BIG_N; i++)
		if (g->label0 + (int64_t)i > begin_us && g->label0 + (int64_t)i <= end_us)
			(*count)++;
	return 0;
}

static int
big_calls(int *inflight)
{
	int n;

	pthread_mutex_lock(&big.lock);
	n = big.calls;
	if (inflight)
		*inflight = big.inflight;
	pthread_mutex_unlock(&big.lock);
	return n;
}

/*
 * Whether `body` is byte for byte the answer the server assembled whole before it
 * streamed: the head of the message it announces, then each block as taxii_block_write
 * writes it from the backend's record, then the message's end.
 */
static int
assembled_same(const struct util_buf *body, const struct taxii_msg *m)
{
	struct util_buf want, rec;
	struct taxii_msg head = *m;
	int same;

	util_buf_init(&want, 0);
	util_buf_init(&rec, 0);
	head.blocks = NULL;
	head.n_blocks = 0;
	same = taxii_msg_write_open(&head, &want, NULL) == 0;
	for (size_t i = 0; same && i < m->n_blocks; i++) {
		struct taxii_content_block b;

		memset(&b, 0, sizeof(b));
		big_content((size_t)(m->blocks[i].timestamp_us - big.label0), &rec);
		b.binding = TAXII_CB_STIX_12;
		b.content = rec.data;
		b.content_len = rec.len;
		b.is_xml = 1;
		b.has_timestamp = 1;
		b.timestamp_us = m->blocks[i].timestamp_us;
		same = taxii_block_write(m->version, &b, &want, NULL) == 0;
	}
	same = same && taxii_msg_write_close(&head, &want, NULL) == 0 && want.len == body->len &&
	    memcmp(want.data, body->data, want.len) == 0;
	if (!same)
		tap_diag("streamed %zu bytes, assembled %zu", body->len, want.len);
	util_buf_fini(&want);
	util_buf_fini(&rec);
	return same;
}

static int
dial_local(unsigned p, int rcvbuf)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)p);
	/* Before connecting, so the window the server sees is small from the start. */
	if (fd >= 0 && rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Sends a Poll_Request of the whole collection over fd as HTTP/`httpver`. */
static int
send_poll(int fd, const char *httpver)
{
	struct taxii_msg m;
	struct util_buf body, req;
	char id[TAXII_ID_MAX];
	int rc = -1;

	base(&m, TAXII_V11, TAXII_MSG_POLL_REQ, id);
	m.collection = "observations";
	m.has_poll_params = 1;
	util_buf_init(&body, 0);
	util_buf_init(&req, 0);
	if (taxii_msg_write(&m, &body, NULL) == 0) {
		util_buf_printf(&req, "POST /taxii/poll HTTP/%s\r\nHost: 127.0.0.1\r\n"
		    "Content-Type: application/xml\r\nX-TAXII-Content-Type: %s\r\n"
		    "X-TAXII-Services: %s\r\nContent-Length: %zu\r\n\r\n", httpver,
		    TAXII_MSG_BINDING_11, TAXII_SERVICES_11, body.len);
		util_buf_add(&req, body.data, body.len);
		rc = write(fd, req.data, req.len) == (ssize_t)req.len ? 0 : -1;
	}
	util_buf_fini(&body);
	util_buf_fini(&req);
	return rc;
}

/* Reads fd until `want` bytes came (0: until EOF) or timeout_ms passed. Returns the
 * bytes read; *eof set when the peer closed. */
static size_t
read_some(int fd, struct util_buf *into, size_t want, int timeout_ms, int *eof)
{
	int64_t end = util_mono_us() / 1000 + timeout_ms;
	size_t got = 0;

	*eof = 0;
	while ((want == 0 || got < want) && util_mono_us() / 1000 < end) {
		struct pollfd p = { fd, POLLIN, 0 };
		char buf[16384];
		size_t cap = want ? want - got : sizeof(buf);
		ssize_t n;

		if (poll(&p, 1, 50) <= 0)
			continue;
		n = read(fd, buf, cap < sizeof(buf) ? cap : sizeof(buf));
		if (n <= 0) {
			*eof = 1;
			break;
		}
		if (into)
			util_buf_add(into, buf, (size_t)n);
		got += (size_t)n;
	}
	return got;
}

static void
test_stream(void)
{
	static struct watched w = {PTHREAD_MUTEX_INITIALIZER, 0, {{0}}};
	struct taxii_watch watch = { &w, watch_done };
	struct taxii_server_conf conf;
	struct taxii_backend be;
	struct taxii_server *s = NULL;
	struct taxii_err err;
	struct taxii_msg req, *b = NULL;
	struct resp r;
	char id[TAXII_ID_MAX], rid[TAXII_ID_MAX + 2] = "";
	unsigned saved = port;
	size_t got = 0;
	int same = 1, ordered = 1, chunked_reads = 1, parts = 0, eof, fd, inflight, max_in = 0;
	int64_t last = INT64_MIN, t;
	int before, part_reads = INT_MAX;

	big.label0 = util_now_us() - INT64_C(7200) * 1000000;
	memset(&be, 0, sizeof(be));
	be.ctx = &big;
	be.poll = big_poll;
	be.count = big_count;
	be.inbox = mem_inbox;
	memset(&conf, 0, sizeof(conf));
	conf.listen = "127.0.0.1:0";
	conf.part_size = BIG_PART;
	conf.timeout_s = 2;
	conf.watch = &watch;
	if (!ok(taxii_server_new(&conf, &be, &s, &err) == 0, "stream: a server of 10 MB parts (%s)",
	    err.msg))
		return;
	port = taxii_server_port(s, 0);

	/* Every part of the result, each parsed, and each the bytes the assembled answer had. */
	base(&req, TAXII_V11, TAXII_MSG_POLL_REQ, id);
	req.collection = "observations";
	req.has_poll_params = 1;
	for (uint64_t part = 1; part <= BIG_N / BIG_PART + 1; part++) {
		int calls = big_calls(NULL);

		if (part > 1) {
			base(&req, TAXII_V11, TAXII_MSG_POLL_FULFILLMENT, id);
			req.collection = "observations";
			req.result_id = rid;
			req.result_part = part;
		}
		{
			struct util_buf q;

			util_buf_init(&q, 0);
			b = NULL;
			if (taxii_msg_write(&req, &q, NULL) == 0 && send_req(NULL, "/taxii/poll",
			    q.data, q.len, TAXII_V11, TAXII_HTTP_CONTENT_TYPE, &r) == 0)
				(void)taxii_msg_parse(r.body.data, r.body.len, TAXII_V11, &b, NULL);
			util_buf_fini(&q);
		}
		if (b == NULL || b->type != TAXII_MSG_POLL_RESP) {
			same = 0;
			util_buf_fini(&r.body);
			taxii_msg_free(b);
			break;
		}
		parts++;
		if (part == 1 && b->result_id)
			snprintf(rid, sizeof(rid), "%s", b->result_id);
		same = same && assembled_same(&r.body, b);
		for (size_t i = 0; i < b->n_blocks; i++) {
			ordered = ordered && b->blocks[i].timestamp_us > last;
			last = b->blocks[i].timestamp_us;
		}
		got += b->n_blocks;
		/* 10 MB in fills of about 512 KB: many reads of the backend, not one. */
		chunked_reads = chunked_reads && big_calls(NULL) - calls >= 10;
		if (big_calls(NULL) - calls < part_reads)
			part_reads = big_calls(NULL) - calls;
		util_buf_fini(&r.body);
		if (!b->more) {
			taxii_msg_free(b);
			break;
		}
		taxii_msg_free(b);
	}
	ok(parts == BIG_N / BIG_PART && got == BIG_N && ordered,
	    "stream: %d parts, all %zu records once and in order", parts, got);
	ok(same, "stream: every part is byte for byte the answer assembled whole");
	ok(chunked_reads, "stream: each part read from the backend in several fills");

	/* A client that reads a little and then stops: the server reads no further ahead
	 * than it can send, holds no backend read meanwhile, and serves others. */
	before = big_calls(NULL);
	fd = dial_local(port, 4096);
	if (ok(fd >= 0 && send_poll(fd, "1.1") == 0 &&
	    read_some(fd, NULL, 1000, 5000, &eof) == 1000,
	    "stalled: a client reads the first 1000 bytes of a part, then stops")) {
		int calls0, calls1;

		usleep(300000);
		calls0 = big_calls(NULL);
		t = util_mono_us();
		while (util_mono_us() - t < 1000000) {
			big_calls(&inflight);
			if (inflight > max_in)
				max_in = inflight;
			usleep(20000);
		}
		calls1 = big_calls(NULL);
		ok(max_in == 0, "stalled: no backend read is under way while it does not read");
		ok(calls1 == calls0, "stalled: and none starts (%d then %d)", calls0, calls1);
		ok(calls0 - before >= 2 && calls0 - before < part_reads,
		    "stalled: the part was read only as far as it was sent (%d reads of a "
		    "whole part's %d)", calls0 - before, part_reads);
		base(&req, TAXII_V11, TAXII_MSG_POLL_REQ, id);
		req.collection = "observations";
		req.has_poll_params = 1;
		t = util_mono_us();
		b = exchange("/taxii/poll", &req, &r);
		ok(b && b->type == TAXII_MSG_POLL_RESP && b->n_blocks == BIG_PART &&
		    util_mono_us() - t < 2000000, "stalled: another client is served meanwhile");
		taxii_msg_free(b);
		util_buf_fini(&r.body);
		/* Nothing sent for the timeout (2 s): the stalled connection is closed. */
		t = util_mono_us();
		read_some(fd, NULL, 0, 8000, &eof);
		ok(eof && util_mono_us() - t < 7000000,
		    "stalled: its connection is closed by the timeout (%lld ms)",
		    (long long)((util_mono_us() - t) / 1000));
	}
	if (fd >= 0)
		close(fd);

	/* A client that goes away mid-part. */
	fd = dial_local(port, 4096);
	ok(fd >= 0 && send_poll(fd, "1.1") == 0 && read_some(fd, NULL, 5000, 5000, &eof) == 5000,
	    "gone: a client reads 5000 bytes and closes");
	if (fd >= 0)
		close(fd);
	usleep(200000);
	base(&req, TAXII_V11, TAXII_MSG_POLL_REQ, id);
	req.collection = "observations";
	req.has_poll_params = 1;
	b = exchange("/taxii/poll", &req, &r);
	ok(b && b->type == TAXII_MSG_POLL_RESP && b->n_blocks == BIG_PART,
	    "gone: the server goes on serving");
	taxii_msg_free(b);
	util_buf_fini(&r.body);

	/* HTTP/1.0 has no chunks: the answer ends with the connection, whole. */
	fd = dial_local(port, 0);
	if (ok(fd >= 0 && send_poll(fd, "1.0") == 0, "HTTP/1.0: a poll sent")) {
		struct util_buf all;
		const char *eoh;

		util_buf_init(&all, 0);
		read_some(fd, &all, 0, 8000, &eof);
		eoh = all.data ? strstr(all.data, "\r\n\r\n") : NULL;
		b = NULL;
		ok(eof && eoh != NULL && strncmp(all.data, "HTTP/1.", 7) == 0 &&
		    atoi(all.data + 9) == 200 && strcasestr(all.data, "chunked") == NULL &&
		    taxii_msg_parse(eoh + 4, all.len - (size_t)(eoh + 4 - all.data), TAXII_V11, &b,
			NULL) == 0 && b->type == TAXII_MSG_POLL_RESP && b->n_blocks == BIG_PART,
		    "HTTP/1.0: 200, no chunked encoding, a whole part up to the close");
		taxii_msg_free(b);
		util_buf_fini(&all);
	}
	if (fd >= 0)
		close(fd);

	/* The backend fails after the first fill: the answer is cut, never shortened. */
	pthread_mutex_lock(&w.mu);
	w.n = 0;
	pthread_mutex_unlock(&w.mu);
	pthread_mutex_lock(&big.lock);
	big.fail_at = big.calls + 3; /* the part's end label, its first fill, then this */
	pthread_mutex_unlock(&big.lock);
	{
		struct util_buf body;
		int sent;

		base(&req, TAXII_V11, TAXII_MSG_POLL_REQ, id);
		req.collection = "observations";
		req.has_poll_params = 1;
		util_buf_init(&body, 0);
		taxii_msg_write(&req, &body, NULL);
		sent = send_req(NULL, "/taxii/poll", body.data, body.len, TAXII_V11,
		    TAXII_HTTP_CONTENT_TYPE, &r);
		b = NULL;
		ok(sent != 0 && r.http == 200 && r.body.len > 0 &&
		    taxii_msg_parse(r.body.data, r.body.len, TAXII_V11, &b, NULL) != 0,
		    "failure mid-part: the client sees a cut answer (%zu bytes), not a short one",
		    r.body.len);
		taxii_msg_free(b);
		util_buf_fini(&r.body);
		util_buf_fini(&body);
	}
	usleep(200000);
	pthread_mutex_lock(&w.mu);
	ok(w.n == 1 && strcmp(w.info[0].service, "poll") == 0 && w.info[0].http_status == 200 &&
	    w.info[0].status == TAXII_ST_FAILURE, "failure mid-part: the watch counts it once, "
	    "as a FAILURE (%d told)", w.n);
	pthread_mutex_unlock(&w.mu);
	big.fail_at = 0;
	taxii_server_free(s);
	port = saved;
}

/* A socket bound to 127.0.0.1 on a port of the kernel's choosing, never listened on. */
static int
closed_socket(unsigned *port_out)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port_out = ntohs(a.sin_port);
	return fd;
}

int
main(void)
{
	const char *shared = getenv("SHARED_DIR");
	struct taxii_server_conf conf;
	struct taxii_backend be;
	struct taxii_server *s = NULL;
	struct taxii_err err;
	static struct mem mem;

	xmlInitParser();
	xmlSetGenericErrorFunc(NULL, quiet);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		tap_bail("libcurl cannot initialise");
	schema11 = xsd_load(shared, XSD_TAXII11);
	schema10 = xsd_load(shared, XSD_TAXII10);
	if (schema11 == NULL || schema10 == NULL) {
		tap_skip("responses schema-checked", "SHARED_DIR schemas not found");
		xmlSchemaFree(schema11);
		xmlSchemaFree(schema10);
		schema11 = schema10 = NULL;
	}

	pthread_mutex_init(&mem.lock, NULL);
	t0 = util_now_us() - INT64_C(3600) * 1000000;
	for (size_t i = 0; i < N_OBS; i++) {
		mem.label[i] = t0 + (int64_t)i * 1000000;
		snprintf(mem.content[i], sizeof(mem.content[i]),
		    "<stix:STIX_Package xmlns:stix=\"http://stix.mitre.org/stix-1\" "
		    "id=\"obs-%zu\" version=\"1.2\"/>", i);
	}
	memset(&be, 0, sizeof(be));
	be.ctx = &mem;
	be.poll = mem_poll;
	be.count = mem_count;
	be.inbox = mem_inbox;
	memset(&conf, 0, sizeof(conf));
	conf.listen = "127.0.0.1:0";
	conf.part_size = PART;
	conf.max_body = 64 * 1024;
	if (taxii_server_new(&conf, &be, &s, &err) != 0)
		tap_bail("the server does not start on 127.0.0.1:0: %s", err.msg);
	port = taxii_server_port(s, 0);
	ok(port > 0, "bound to port %u", port);

	test_discovery();
	test_collections(&mem);
	test_poll();
	test_inbox(&mem);
	test_hostile(conf.max_body);
	test_sniffed();
	/* A port nothing listens on, and nothing else can take meanwhile: bound, held, never
	 * listened on, so connecting to it is refused. */
	closed_fd = closed_socket(&closed_port);
	if (closed_fd < 0)
		tap_bail("cannot bind 127.0.0.1:0: %s", strerror(errno));
	test_client(&mem);
	test_concurrent();
	test_accept();
	test_auth(&be);
	test_pages(&be);
	test_tls(&be);
	test_conf(&be);
	test_stream();
	if (schema11 != NULL)
		ok(n_checked > 10 && n_invalid == 0, "all %d responses validate against the XSD",
		    n_checked);

	taxii_server_free(s);
	close(closed_fd);
	xmlSchemaFree(schema11);
	xmlSchemaFree(schema10);
	curl_global_cleanup();
	xmlCleanupParser();
	return tap_done();
}
