/*
 * taxii server under hostile load, on 127.0.0.1 port 0 over an in-memory backend:
 * a 50 MB request body (with and without Content-Length) is refused with a Status Message
 * while the server's memory stays bounded by its body cap; a client that drips a request
 * byte by byte and one that stalls half-way through its headers are dropped after the
 * server's timeout while others are served without delay; and 100 concurrent pollers read
 * multi-part results while two writers push Inbox messages: every response parses (and
 * validates against the TAXII XSD when SHARED_DIR has it), every poll delivers exactly the
 * record count it announced, in label order, and never part of an Inbox message.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>

#include "taxii/taxii.h"
#include "tests/tap.h"
#include "tests/xsd.h"
#include "util/util.h"

#define BLOCKS_PER_MSG 4     /* records per Inbox message: a poll must see all or none */
#define INITIAL_MSGS 100     /* messages in the store before the pollers start */
#define MAX_MSGS 1000        /* initial + written: the store's fixed capacity */
#define MAX_RECORDS (MAX_MSGS * BLOCKS_PER_MSG)
#define PART 50              /* records per Poll_Response part */
#define N_POLLERS 100
#define POLLS_EACH 2
#define N_WRITERS 2
#define BODY_CAP (4u * 1024 * 1024)
#define BIG_BODY (50u * 1024 * 1024)
#define TIMEOUT_S 5 /* long enough that the other requests' "slowest" stays far below it */

static xmlSchemaPtr schema11;
static unsigned port;

static void
quiet(void *ctx, const char *fmt, ...)
{
	(void)ctx;
	(void)fmt;
}

static double
now_s(void)
{
	return (double)util_mono_us() / 1e6;
}

/* ---------------------------------------------------------------------------------------
 * In-memory backend: records with unique, increasing labels taken under the lock, so a
 * message's blocks are all visible to a count or poll, or none are.
 */

struct record {
	int64_t label;
	int msg;
	char content[96];
};

static struct store {
	pthread_mutex_t lock;
	struct record rec[MAX_RECORDS];
	size_t n;
	int next_msg;
} st = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int
mem_poll(void *ctx, const char *collection, int64_t begin_us, int64_t end_us, size_t offset,
    size_t limit, taxii_record_cb cb, void *arg, char *err, size_t errlen)
{
	size_t seen = 0, given = 0;
	int rc = 0;

	if (strcmp(collection, "observations") != 0)
		return 0;
	pthread_mutex_lock(&st.lock);
	for (size_t i = 0; i < st.n && given < limit; i++) {
		struct taxii_record r;

		if (st.rec[i].label <= begin_us || st.rec[i].label > end_us)
			continue;
		if (seen++ < offset)
			continue;
		r.content = st.rec[i].content;
		r.content_len = strlen(st.rec[i].content);
		r.binding = NULL;
		r.label_us = st.rec[i].label;
		if (cb(arg, &r) != 0) {
			snprintf(err, errlen, "stopped");
			rc = -1;
			break;
		}
		given++;
	}
	pthread_mutex_unlock(&st.lock);
	return rc;
}

static int
mem_count(void *ctx, const char *collection, int64_t begin_us, int64_t end_us,
    uint64_t *count, char *err, size_t errlen)
{
	*count = 0;
	if (strcmp(collection, "observations") != 0)
		return 0;
	pthread_mutex_lock(&st.lock);
	for (size_t i = 0; i < st.n; i++)
		if (st.rec[i].label > begin_us && st.rec[i].label <= end_us)
			(*count)++;
	pthread_mutex_unlock(&st.lock);
	return 0;
}

/* Appends one message's records; the caller holds the lock. Returns 0 or -1 when full. */
static int
store_msg_locked(int msg)
{
	int64_t label = util_now_us();

	if (st.n + BLOCKS_PER_MSG > MAX_RECORDS)
		return -1;
	if (st.n > 0 && label <= st.rec[st.n - 1].label)
		label = st.rec[st.n - 1].label + 1;
	for (int i = 0; i < BLOCKS_PER_MSG; i++) {
		struct record *r = &st.rec[st.n++];

		r->label = label + i;
		r->msg = msg;
		snprintf(r->content, sizeof(r->content),
		    "<rec xmlns=\"urn:c2watch:load\" m=\"%d\" i=\"%d\"/>", msg, i);
	}
	return 0;
}

static int
mem_inbox(void *ctx, const char *collection, const struct taxii_content_block *blocks,
    size_t n_blocks, char *err, size_t errlen)
{
	int rc = 0;

	if (n_blocks != BLOCKS_PER_MSG) {
		snprintf(err, errlen, "want %d blocks", BLOCKS_PER_MSG);
		return -1;
	}
	for (size_t i = 0; i < n_blocks; i++) {
		if (strstr(blocks[i].content, "REFUSE") != NULL) {
			snprintf(err, errlen, "block %zu refused", i + 1);
			return -1;
		}
	}
	pthread_mutex_lock(&st.lock);
	if (store_msg_locked(st.next_msg) != 0) {
		snprintf(err, errlen, "store full");
		rc = -1;
	} else {
		st.next_msg++;
	}
	pthread_mutex_unlock(&st.lock);
	return rc;
}

static size_t
store_count(void)
{
	size_t n;

	pthread_mutex_lock(&st.lock);
	n = st.n;
	pthread_mutex_unlock(&st.lock);
	return n;
}

/* ---------------------------------------------------------------------------------------
 * HTTP
 */

struct resp {
	long http;
	struct util_buf body;
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;

	return util_buf_add(&r->body, p, size * n) == 0 ? size * n : 0;
}

/* Streams a large body without holding it: a valid start, then filler. */
struct big {
	size_t sent, total;
};

static size_t
on_read_big(char *p, size_t size, size_t n, void *arg)
{
	static const char head[] = "<t:Inbox_Message xmlns:t=\"" TAXII_NS_11 "\" "
				   "message_id=\"1\"><t:Message>";
	struct big *b = arg;
	size_t want = size * n, done = 0;

	if (b->sent == 0 && want > sizeof(head)) {
		memcpy(p, head, sizeof(head) - 1);
		done = sizeof(head) - 1;
	}
	while (done < want && b->sent + done < b->total)
		p[done++] = 'x';
	b->sent += done;
	return done;
}

enum { SEND_CHUNKED = 1, SEND_EXPECT = 2 };

/*
 * POSTs to `path` with TAXII 1.1 headers: `body` (len bytes), or with `big` set that many
 * streamed bytes (chunked with SEND_CHUNKED in `how`; SEND_EXPECT sends "Expect:
 * 100-continue"). Returns the CURLcode; r->body owns the answer.
 */
static CURLcode
post(const char *path, const char *body, size_t len, struct big *big, int how,
    struct resp *r)
{
	int chunked = how & SEND_CHUNKED;
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[128];
	CURLcode cc;

	memset(r, 0, sizeof(*r));
	util_buf_init(&r->body, 16u << 20);
	if (c == NULL)
		return CURLE_OUT_OF_MEMORY;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	h = curl_slist_append(h, "Content-Type: " TAXII_HTTP_CONTENT_TYPE);
	h = curl_slist_append(h, "X-TAXII-Content-Type: " TAXII_MSG_BINDING_11);
	h = curl_slist_append(h, "X-TAXII-Services: " TAXII_SERVICES_11);
	h = curl_slist_append(h, "X-TAXII-Protocol: " TAXII_PROTOCOL_HTTP);
	h = curl_slist_append(h, how & SEND_EXPECT ? "Expect: 100-continue" : "Expect:");
	if (chunked)
		h = curl_slist_append(h, "Transfer-Encoding: chunked");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	if (big != NULL) {
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read_big);
		curl_easy_setopt(c, CURLOPT_READDATA, big);
		if (!chunked)
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)big->total);
	} else {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->http);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return cc;
}

/*
 * Parses a response body; with the schema loaded it must also validate. Returns the
 * message (caller frees) or NULL, with why in `why`.
 */
static struct taxii_msg *
check_response(const struct resp *r, char *why, size_t whylen)
{
	struct taxii_msg *m = NULL;
	struct taxii_err err;
	int rc = taxii_msg_parse(r->body.data ? r->body.data : "", r->body.len, TAXII_V11, &m,
	    &err);

	if (rc != 0) {
		snprintf(why, whylen, "response does not parse (%s: %.180s)", taxii_strerror(rc),
		    err.msg);
		return NULL;
	}
	if (schema11 != NULL) {
		if (!xsd_valid(schema11, r->body.data, r->body.len, 0)) {
			snprintf(why, whylen, "response does not validate: %.200s", r->body.data);
			taxii_msg_free(m);
			return NULL;
		}
	}
	return m;
}

/* Writes `m` and POSTs it; returns the checked answer or NULL with why. */
static struct taxii_msg *
exchange(const char *path, const struct taxii_msg *m, char *why, size_t whylen)
{
	struct util_buf b;
	struct taxii_msg *back = NULL;
	struct taxii_err err;
	struct resp r;
	CURLcode cc;

	util_buf_init(&b, 0);
	if (taxii_msg_write(m, &b, &err) != 0) {
		snprintf(why, whylen, "build: %.200s", err.msg);
		util_buf_fini(&b);
		return NULL;
	}
	cc = post(path, b.data, b.len, NULL, 0, &r);
	if (cc != CURLE_OK)
		snprintf(why, whylen, "curl: %s", curl_easy_strerror(cc));
	else if (r.http != 200)
		snprintf(why, whylen, "HTTP %ld", r.http);
	else
		back = check_response(&r, why, whylen);
	util_buf_fini(&r.body);
	util_buf_fini(&b);
	return back;
}

static int
discovery_ok(double *elapsed)
{
	struct taxii_msg m, *back;
	char id[TAXII_ID_MAX], why[256];
	double t = now_s();
	int good;

	memset(&m, 0, sizeof(m));
	taxii_msg_id_new(id);
	m.version = TAXII_V11;
	m.type = TAXII_MSG_DISCOVERY_REQ;
	m.message_id = id;
	back = exchange("/taxii/discovery", &m, why, sizeof(why));
	good = back != NULL && back->type == TAXII_MSG_DISCOVERY_RESP;
	if (elapsed != NULL)
		*elapsed = now_s() - t;
	taxii_msg_free(back);
	return good;
}

/* ---------------------------------------------------------------------------------------
 * A 50 MB body
 */

static long
maxrss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static void
test_big_body(void)
{
	long rss0 = maxrss_kib(), grown;

	static const char *const what[] = { "with its Content-Length",
		"sent chunked", "after Expect: 100-continue" };
	static const int how[] = { 0, SEND_CHUNKED, SEND_EXPECT };

	for (int i = 0; i < 3; i++) {
		struct big big = { 0, BIG_BODY };
		struct taxii_msg *m = NULL;
		struct resp r;
		char why[256] = "";
		CURLcode cc = post("/taxii/inbox", NULL, 0, &big, how[i], &r);

		if (cc == CURLE_OK)
			m = check_response(&r, why, sizeof(why));
		else
			snprintf(why, sizeof(why), "curl: %s", curl_easy_strerror(cc));
		ok(m != NULL && m->type == TAXII_MSG_STATUS && m->status == TAXII_ST_BAD_MESSAGE &&
		    r.http == 413, "a 50 MB body %s is refused: HTTP 413 and BAD_MESSAGE",
		    what[i]);
		if (m == NULL || r.http != 413)
			tap_diag("HTTP %ld, %s", r.http, why);
		/* Without Expect the client is sending: the server reads to the end, or
		 * closing would lose its answer; with it, nothing (or little) is sent. */
		if (how[i] & SEND_EXPECT)
			ok(big.sent < BODY_CAP, "the body was not sent (%zu bytes)", big.sent);
		else
			ok(big.sent == big.total, "the body was read to its end (%zu bytes)",
			    big.sent);
		taxii_msg_free(m);
		util_buf_fini(&r.body);
	}
	grown = maxrss_kib() - rss0;
	ok(grown < 3 * (long)(BODY_CAP / 1024) + 8192,
	    "peak memory grew by %ld KiB, bounded by the %u KiB body cap, not the body", grown,
	    BODY_CAP / 1024);
	ok(discovery_ok(NULL), "the server still answers afterwards");
}

/* ---------------------------------------------------------------------------------------
 * Slow clients
 */

struct prober {
	pthread_t t;
	volatile int stop;
	int n, failed;
	double worst;
};

static void *
prober_run(void *arg)
{
	struct prober *p = arg;

	while (!p->stop && p->n < 200) {
		double el;

		if (!discovery_ok(&el))
			p->failed++;
		if (el > p->worst)
			p->worst = el;
		p->n++;
		usleep(100 * 1000);
	}
	return NULL;
}

static int
connect_loopback(void)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
send_all(int fd, const char *s)
{
	size_t len = strlen(s);

	return send(fd, s, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/* Whether the peer has closed `fd` (EOF or an error); any bytes it sent are dropped. */
static int
peer_closed(int fd)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	char buf[4096];
	ssize_t n;

	if (poll(&pfd, 1, 0) <= 0)
		return 0;
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

static void
test_slow_clients(void)
{
	char head[512];
	struct prober pr;
	int drip = connect_loopback(), stall = connect_loopback();
	double t0 = now_s(), drip_closed = 0, stall_closed = 0;
	size_t dripped = 0;

	memset(&pr, 0, sizeof(pr));
	snprintf(head, sizeof(head),
	    "POST /taxii/inbox HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
	    "Content-Type: " TAXII_HTTP_CONTENT_TYPE "\r\n"
	    "X-TAXII-Content-Type: " TAXII_MSG_BINDING_11 "\r\n"
	    "X-TAXII-Services: " TAXII_SERVICES_11 "\r\n"
	    "Content-Length: 100000\r\n\r\n<t:Inbox_Message xmlns:t=\"" TAXII_NS_11 "\"",
	    port);
	if (drip < 0 || stall < 0 || send_all(drip, head) != 0 ||
	    send_all(stall, "POST /taxii/poll HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty") != 0) {
		ok(0, "slow clients connect");
		goto out;
	}
	if (pthread_create(&pr.t, NULL, prober_run, &pr) != 0) {
		ok(0, "prober thread starts");
		goto out;
	}
	/* One byte every 100 ms keeps the connection never idle for long. */
	/* Bounded well past the timeout: a client never dropped fails below. */
	while (now_s() - t0 < TIMEOUT_S + 20 && (drip_closed == 0 || stall_closed == 0)) {
		if (drip_closed == 0) {
			if (peer_closed(drip) || send(drip, " ", 1, MSG_NOSIGNAL) != 1)
				drip_closed = now_s() - t0;
			else
				dripped++;
		}
		if (stall_closed == 0 && peer_closed(stall))
			stall_closed = now_s() - t0;
		usleep(100 * 1000);
	}
	pr.stop = 1;
	pthread_join(pr.t, NULL);
	ok(drip_closed >= TIMEOUT_S - 0.5,
	    "a client dripping its body is dropped after the %d s timeout (at %.1f s, "
	    "%zu bytes in)", TIMEOUT_S, drip_closed, dripped);
	ok(stall_closed >= TIMEOUT_S - 0.5,
	    "a client stalled in its headers is dropped after the timeout (at %.1f s)",
	    stall_closed);
	ok(pr.n >= 5 && pr.failed == 0 && pr.worst < TIMEOUT_S / 2.0,
	    "meanwhile %d other requests were served, none failed, slowest %.2f s", pr.n,
	    pr.worst);
out:
	if (drip >= 0)
		close(drip);
	if (stall >= 0)
		close(stall);
}

/* ---------------------------------------------------------------------------------------
 * 100 pollers and two writers
 */

static volatile int pollers_done;

struct poller {
	pthread_t t;
	int id;
	int polls, parts;
	char fail[300]; /* first problem, "" when none */
};

/* Checks one full poll (every part); returns 0 or -1 with p->fail set. */
static int
poll_once(struct poller *p, size_t before)
{
	static const char *const stix12[] = { TAXII_CB_STIX_12 };
	struct taxii_msg req, *resp = NULL;
	char id[TAXII_ID_MAX], result_id[TAXII_ID_MAX + 2] = "", why[256];
	unsigned char *seen = calloc(MAX_MSGS, 1);
	uint64_t announced = 0, got = 0, part = 1;
	int64_t last = INT64_MIN;
	int more = 1, rc = -1;

	if (seen == NULL) {
		snprintf(p->fail, sizeof(p->fail), "out of memory");
		return -1;
	}
	for (int guard = 0; more && guard < MAX_RECORDS / PART + 2; guard++) {
		memset(&req, 0, sizeof(req));
		taxii_msg_id_new(id);
		req.version = TAXII_V11;
		req.message_id = id;
		req.collection = "observations";
		if (part == 1) {
			req.type = TAXII_MSG_POLL_REQ;
			req.has_poll_params = 1;
			req.content_bindings.v = stix12;
			req.content_bindings.n = 1;
		} else {
			req.type = TAXII_MSG_POLL_FULFILLMENT;
			req.result_id = result_id;
			req.result_part = part;
		}
		resp = exchange("/taxii/poll", &req, why, sizeof(why));
		if (resp == NULL || resp->type != TAXII_MSG_POLL_RESP || !resp->has_record_count) {
			snprintf(p->fail, sizeof(p->fail), "part %llu: %s%s",
			    (unsigned long long)part, resp == NULL ? why : "not a Poll_Response",
			    resp && resp->status_type ? resp->status_type : "");
			goto out;
		}
		if (part == 1) {
			announced = resp->record_count;
			if (resp->more)
				snprintf(result_id, sizeof(result_id), "%s",
				    resp->result_id ? resp->result_id : "");
		} else if (resp->record_count != announced || resp->result_part != part) {
			snprintf(p->fail, sizeof(p->fail), "part %llu: count %llu, first said %llu",
			    (unsigned long long)part, (unsigned long long)resp->record_count,
			    (unsigned long long)announced);
			goto out;
		}
		for (size_t i = 0; i < resp->n_blocks; i++) {
			const struct taxii_content_block *b = &resp->blocks[i];
			const char *mp = strstr(b->content, " m=\"");
			int msg = mp ? atoi(mp + 4) : -1;

			if (!b->is_xml || !b->has_timestamp || b->timestamp_us <= last || msg < 0 ||
			    msg >= MAX_MSGS) {
				snprintf(p->fail, sizeof(p->fail), "part %llu block %zu: out of "
				    "order or malformed: %.80s", (unsigned long long)part, i,
				    b->content);
				goto out;
			}
			last = b->timestamp_us;
			seen[msg]++;
			got++;
		}
		more = resp->more;
		p->parts++;
		part++;
		taxii_msg_free(resp);
		resp = NULL;
	}
	if (got != announced || more) {
		snprintf(p->fail, sizeof(p->fail), "%llu records delivered, %llu announced",
		    (unsigned long long)got, (unsigned long long)announced);
		goto out;
	}
	if (got < before || got > store_count()) {
		snprintf(p->fail, sizeof(p->fail), "%llu records, store had %zu before",
		    (unsigned long long)got, before);
		goto out;
	}
	for (int i = 0; i < MAX_MSGS; i++) {
		if (seen[i] != 0 && seen[i] != BLOCKS_PER_MSG) {
			snprintf(p->fail, sizeof(p->fail), "message %d torn: %d of %d records",
			    i, seen[i], BLOCKS_PER_MSG);
			goto out;
		}
	}
	rc = 0;
out:
	taxii_msg_free(resp);
	free(seen);
	return rc;
}

static void *
poller_run(void *arg)
{
	struct poller *p = arg;

	for (int i = 0; i < POLLS_EACH; i++) {
		if (poll_once(p, store_count()) != 0)
			break;
		p->polls++;
	}
	return NULL;
}

struct writer {
	pthread_t t;
	int id;
	int sent, stored, refused, bad;
	char fail[300];
};

static void *
writer_run(void *arg)
{
	struct writer *w = arg;
	struct taxii_content_block blocks[BLOCKS_PER_MSG];
	char content[BLOCKS_PER_MSG][96];
	int cap = (MAX_MSGS - INITIAL_MSGS) / N_WRITERS - 5;

	for (int n = 0; !pollers_done && n < cap; n++) {
		struct taxii_msg m, *back;
		char id[TAXII_ID_MAX], why[256];
		int refuse = n % 4 == 3;

		for (int i = 0; i < BLOCKS_PER_MSG; i++) {
			snprintf(content[i], sizeof(content[i]), "<w xmlns=\"urn:c2watch:load\" "
			    "w=\"%d\" n=\"%d\">%s</w>", w->id, n,
			    refuse && i == BLOCKS_PER_MSG - 1 ? "REFUSE" : "ok");
			memset(&blocks[i], 0, sizeof(blocks[i]));
			blocks[i].binding = TAXII_CB_STIX_12;
			blocks[i].content = content[i];
			blocks[i].content_len = strlen(content[i]);
			blocks[i].is_xml = 1;
		}
		memset(&m, 0, sizeof(m));
		taxii_msg_id_new(id);
		m.version = TAXII_V11;
		m.type = TAXII_MSG_INBOX;
		m.message_id = id;
		m.collection = "observations";
		m.blocks = blocks;
		m.n_blocks = BLOCKS_PER_MSG;
		back = exchange("/taxii/inbox", &m, why, sizeof(why));
		w->sent++;
		if (back == NULL || back->type != TAXII_MSG_STATUS) {
			w->bad++;
			if (w->fail[0] == '\0')
				snprintf(w->fail, sizeof(w->fail), "inbox %d: %s", n,
				    back ? "not a Status_Message" : why);
		} else if (back->status == TAXII_ST_SUCCESS && !refuse) {
			w->stored++;
		} else if (back->status != TAXII_ST_SUCCESS && refuse) {
			w->refused++;
		} else {
			w->bad++;
			if (w->fail[0] == '\0')
				snprintf(w->fail, sizeof(w->fail), "inbox %d: %s, refuse=%d", n,
				    back->status_type ? back->status_type : "?", refuse);
		}
		taxii_msg_free(back);
	}
	return NULL;
}

static void
test_pollers(void)
{
	static struct poller p[N_POLLERS];
	struct writer w[N_WRITERS];
	int started = 0, all_polls = 0, parts = 0, w_started = 0, stored = 0, refused = 0;
	int bad = 0;
	const char *first_fail = NULL;
	double t0 = now_s();

	memset(w, 0, sizeof(w));
	for (int i = 0; i < N_WRITERS; i++) {
		w[i].id = i;
		if (pthread_create(&w[i].t, NULL, writer_run, &w[i]) == 0)
			w_started++;
	}
	for (int i = 0; i < N_POLLERS; i++) {
		memset(&p[i], 0, sizeof(p[i]));
		p[i].id = i;
		if (pthread_create(&p[i].t, NULL, poller_run, &p[i]) != 0)
			break;
		started++;
	}
	for (int i = 0; i < started; i++) {
		pthread_join(p[i].t, NULL);
		all_polls += p[i].polls;
		parts += p[i].parts;
		if (p[i].fail[0] != '\0' && first_fail == NULL)
			first_fail = p[i].fail;
	}
	pollers_done = 1;
	for (int i = 0; i < w_started; i++) {
		pthread_join(w[i].t, NULL);
		stored += w[i].stored;
		refused += w[i].refused;
		bad += w[i].bad;
		if (w[i].fail[0] != '\0' && first_fail == NULL)
			first_fail = w[i].fail;
	}
	is_int(started, N_POLLERS, "%d poller threads started", N_POLLERS);
	is_int(w_started, N_WRITERS, "%d inbox writer threads started", N_WRITERS);
	ok(all_polls == started * POLLS_EACH,
	    "%d of %d full polls complete, consistent and ordered (%d responses, %.1f s)",
	    all_polls, started * POLLS_EACH, parts, now_s() - t0);
	ok(stored > 0 && refused > 0 && bad == 0,
	    "meanwhile %d Inbox messages stored and %d refused whole, none answered wrongly",
	    stored, refused);
	if (first_fail != NULL)
		tap_diag("first problem: %s", first_fail);
	is_int(store_count(), (size_t)(INITIAL_MSGS + stored) * BLOCKS_PER_MSG,
	    "the store holds exactly the initial and the accepted messages' records");
}

int
main(void)
{
	const char *shared = getenv("SHARED_DIR");
	struct taxii_server_conf conf;
	struct taxii_backend be;
	struct taxii_server *s = NULL;
	struct taxii_err err;

	xmlInitParser();
	xmlSetGenericErrorFunc(NULL, quiet);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		tap_bail("libcurl cannot initialise");
	schema11 = xsd_load(shared, XSD_TAXII11);
	if (schema11 == NULL)
		tap_skip("responses schema-checked", "SHARED_DIR schemas not found");

	for (int i = 0; i < INITIAL_MSGS; i++) {
		store_msg_locked(st.next_msg);
		st.next_msg++;
	}
	memset(&be, 0, sizeof(be));
	be.poll = mem_poll;
	be.count = mem_count;
	be.inbox = mem_inbox;
	memset(&conf, 0, sizeof(conf));
	conf.listen = "127.0.0.1:0";
	conf.part_size = PART;
	conf.max_body = BODY_CAP;
	conf.threads = 4;
	conf.timeout_s = TIMEOUT_S;
	/* The 100 pollers and the writers all come from 127.0.0.1: the per-source cap is
	 * not what this test is about (test_taxii_harden is). */
	conf.max_per_source = 256;
	if (taxii_server_new(&conf, &be, &s, &err) != 0)
		tap_bail("the server does not start on 127.0.0.1:0: %s", err.msg);
	port = taxii_server_port(s, 0);
	ok(port > 0, "bound to port %u", port);

	test_big_body();
	test_slow_clients();
	test_pollers();

	taxii_server_free(s);
	xmlSchemaFree(schema11);
	curl_global_cleanup();
	xmlCleanupParser();
	return tap_done();
}
