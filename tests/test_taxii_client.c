/*
 * taxii client against a scripted server on 127.0.0.1 (port 0): each test queues the
 * exact answers a real server might give (fixtures under tests/data/taxii/client, some
 * with extra namespace declarations, zoneless or fractional labels, an empty last part, a
 * 1.0-only peer) and checks what the client sent and what it made of them: discovery,
 * collection information, counts, polls in parts, the fallback to TAXII 1.0 and its
 * memory, caps, hostile answers, and content handed over as parsed trees.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "taxii/taxii.h"
#include "tests/script.h"
#include "tests/tap.h"
#include "util/util.h"

static const char *srcdir;

static char *
fixture(const char *name)
{
	char path[4096];
	struct util_buf b;

	snprintf(path, sizeof(path), "%s/data/taxii/client/%s", srcdir, name);
	util_buf_init(&b, 1024 * 1024);
	if (util_read_file(path, &b) != 0) {
		tap_diag("cannot read %s", path);
		util_buf_fini(&b);
		return strdup("");
	}
	return b.data; /* util_buf keeps its data NUL-terminated and malloc'd */
}

/* A fixture with its first `from` replaced by `to` (the fixture as is when absent). */
static char *
fixture_with(const char *name, const char *from, const char *to)
{
	char *f = fixture(name), *at = strstr(f, from), *out;
	size_t fl = strlen(from), tl = strlen(to), n = strlen(f);

	if (at == NULL || (out = malloc(n - fl + tl + 1)) == NULL)
		return f;
	memcpy(out, f, (size_t)(at - f));
	memcpy(out + (at - f), to, tl);
	memcpy(out + (at - f) + tl, at + fl, n - (size_t)(at - f) - fl + 1);
	free(f);
	return out;
}

/* ---------------------------------------------------------------------------------------
 * Poll callback
 */
struct got {
	int n;
	int64_t label[16];
	int has_label[16];
	char binding[16][64];
	int nodes, texts;
	char node_name[64];
	int abort_at; /* 0: never */
};

static int
collect(void *arg, const struct taxii_content_block *b)
{
	struct got *g = arg;

	if (g->n < 16) {
		g->label[g->n] = b->timestamp_us;
		g->has_label[g->n] = b->has_timestamp;
		snprintf(g->binding[g->n], sizeof(g->binding[g->n]), "%s",
		    b->binding ? b->binding : "");
	}
	if (b->node != NULL) {
		const xmlNode *n = b->node;

		g->nodes++;
		snprintf(g->node_name, sizeof(g->node_name), "%s", (const char *)n->name);
	}
	if (b->content != NULL)
		g->texts++;
	g->n++;
	return g->abort_at && g->n == g->abort_at ? 1 : 0;
}

static int64_t
t(const char *s)
{
	int64_t us = 0;

	if (util_time_parse(s, &us) != 0)
		tap_diag("bad test time %s", s);
	return us;
}

static struct taxii_client_conf
conf_for(const struct script *s, char *url, size_t urllen, const char *path)
{
	struct taxii_client_conf c;

	snprintf(url, urllen, "http://127.0.0.1:%u%s", s->port, path);
	memset(&c, 0, sizeof(c));
	c.url = url;
	c.timeout_s = 10;
	return c;
}

/* ---------------------------------------------------------------------------------------
 * Tests
 */
static void
test_discovery(struct script *s)
{
	char url[128];
	struct taxii_client_conf c = conf_for(s, url, sizeof(url), "/taxii/discovery");
	struct taxii_msg *m = NULL;
	struct taxii_err err = { 0 };

	script_reset(s);
	script_add(s, 200, fixture("discovery_response.xml"));
	ok(taxii_client_discovery(&c, &m, &err) == 0, "discovery: answered (%s)", err.msg);
	has_str(s->req_body[0], "Discovery_Request", "discovery: a Discovery_Request was sent");
	is_str(s->req_ver[0], TAXII_MSG_BINDING_11, "discovery: in TAXII 1.1");
	if (m != NULL) {
		is_int(m->n_services, 2, "discovery: two services");
		is_int(m->services[0].type, TAXII_SVC_POLL, "discovery: the first is a poll service");
		is_str(m->services[0].contact.address, "http://127.0.0.1/taxii/poll",
		    "discovery: its address");
		is_int(m->services[1].type, TAXII_SVC_COLLECTION_MANAGEMENT,
		    "discovery: the second is collection management");
	}
	taxii_msg_free(m);

	/* A poll answer to a discovery request is not a discovery answer. */
	script_reset(s);
	script_add(s, 200, fixture("poll_response_labels.xml"));
	is_int(taxii_client_discovery(&c, &m, &err), TAXII_EMSG,
	    "discovery: another kind of answer is refused");
	ok(m == NULL, "discovery: nothing returned then");
	has_str(err.msg, "Discovery_Response", "discovery: the error names what was expected");
}

static void
test_collections(struct script *s)
{
	char url[128];
	struct taxii_client_conf c = conf_for(s, url, sizeof(url), "/taxii/collections");
	struct taxii_msg *m = NULL;
	struct taxii_err err = { 0 };

	script_reset(s);
	script_add(s, 200, fixture("collection_info_extra_ns.xml"));
	ok(taxii_client_collections(&c, &m, &err) == 0,
	    "collections: answer with extra namespace declarations read (%s)", err.msg);
	has_str(s->req_body[0], "Collection_Information_Request",
	    "collections: a Collection_Information_Request was sent");
	if (m != NULL) {
		is_int(m->n_collections, 2, "collections: two collections");
		is_str(m->collections[0].name, "observations", "collections: first name");
		is_int(m->collections[1].type, TAXII_COLL_DATA_SET, "collections: second is a set");
		ok(m->collections[0].n_polling == 1 &&
		    strcmp(m->collections[0].polling[0].address, "http://127.0.0.1/taxii/poll") == 0,
		    "collections: the polling service address");
	}
	taxii_msg_free(m);

	script_reset(s);
	script_add(s, 200, fixture("status_denied.xml"));
	is_int(taxii_client_collections(&c, &m, &err), TAXII_ESTATUS,
	    "collections: a Status Message is an error");
	has_str(err.msg, "DENIED", "collections: which names the status");
}

static void
test_labels(struct script *s)
{
	char url[128];
	struct taxii_client_conf c = conf_for(s, url, sizeof(url), "/taxii/poll");
	struct taxii_err err = { 0 };
	struct got g = { 0 };
	int64_t end = 0;

	script_reset(s);
	script_add(s, 200, fixture("poll_response_labels.xml"));
	ok(taxii_client_poll(&c, "observations", -1, INT64_MAX, collect, &g, &end, &err) == 0,
	    "labels: poll read (%s)", err.msg);
	is_int(g.n, 3, "labels: three blocks");
	is_int(g.label[0], t("2026-11-22T04:00:00Z"), "labels: whole seconds, Z");
	is_int(g.label[1], t("2026-11-22T04:00:00.5Z"), "labels: a fraction and +09:00");
	is_int(g.label[2], t("2026-11-22T04:00:01.123456Z"), "labels: no zone is read as UTC");
	is_int(end, t("2026-11-22T04:00:02Z"), "labels: the end is the peer's Inclusive_End");
	has_str(s->req_body[0], "Poll_Request", "labels: a Poll_Request was sent");
	has_str(s->req_body[0], "observations", "labels: naming the collection");
	is_int(g.texts, 3, "labels: content as text by default");
}

static void
test_parts(struct script *s)
{
	char url[128];
	struct taxii_client_conf c = conf_for(s, url, sizeof(url), "/taxii/poll");
	struct taxii_err err = { 0 };
	struct got g = { 0 };
	int64_t end = 0;

	script_reset(s);
	script_add(s, 200, fixture("poll_part1.xml"));
	script_add(s, 200, fixture("poll_part2.xml"));
	script_add(s, 200, fixture("poll_part3_empty.xml"));
	c.blocks_as_nodes = 1;
	ok(taxii_client_poll(&c, "observations", t("2026-11-01T00:00:00Z"), INT64_MAX, collect,
	       &g, &end, &err) == 0, "parts: poll in three parts (%s)", err.msg);
	is_int(g.n, 3, "parts: every block of every part");
	is_int(s->n_reqs, 3, "parts: three requests");
	has_str(s->req_body[1], "Poll_Fulfillment", "parts: the second asks for a fulfillment");
	has_str(s->req_body[1], "result_part_number=\"2\"", "parts: of part 2");
	has_str(s->req_body[2], "result_part_number=\"3\"", "parts: then part 3");
	has_str(s->req_body[2], "result_id=\"R-77\"", "parts: with the result id");
	is_int(g.nodes, 3, "parts: blocks_as_nodes hands over parsed trees");
	is_int(g.texts, 0, "parts: and no text");
	is_str(g.node_name, "STIX_Package", "parts: the tree is the Content's element");
	is_int(end, t("2026-11-22T05:00:00Z"), "parts: end from the first part");

	/* An abort at the second block, while part 2 is being fetched, ends cleanly. */
	script_reset(s);
	script_add(s, 200, fixture("poll_part1.xml"));
	script_add(s, 200, fixture("poll_part2.xml"));
	script_add(s, 200, fixture("poll_part3_empty.xml"));
	memset(&g, 0, sizeof(g));
	g.abort_at = 2;
	is_int(taxii_client_poll(&c, "observations", -1, INT64_MAX, collect, &g, &end, &err),
	    TAXII_EINVAL, "parts: a callback that aborts stops the poll");
	is_int(g.n, 2, "parts: nothing delivered after the abort");

	/* The next part is asked for as soon as a part's start tag is parsed and says more:
	 * a look-alike of more="true" inside another attribute asks for nothing. */
	script_reset(s);
	script_add(s, 200, fixture("poll_part1.xml"));
	script_add(s, 200, fixture_with("poll_part2.xml", "more=\"true\"",
	    "more=\"false\" x:note=' more=\"true\"' xmlns:x=\"urn:example:x\""));
	script_add(s, 200, fixture("status_denied.xml"));
	memset(&g, 0, sizeof(g));
	ok(taxii_client_poll(&c, "observations", -1, INT64_MAX, collect, &g, &end, &err) == 0,
	    "parts: a look-alike of more is harmless (%s)", err.msg);
	is_int(g.n, 3, "parts: the blocks of the two parts there are");
	is_int(s->n_reqs, 2, "parts: and no third part asked for");

	/* Spaces around '=': still more, the parser reads it. */
	script_reset(s);
	script_add(s, 200, fixture("poll_part1.xml"));
	script_add(s, 200, fixture_with("poll_part2.xml", "more=\"true\"", "more = \"true\""));
	script_add(s, 200, fixture("poll_part3_empty.xml"));
	memset(&g, 0, sizeof(g));
	ok(taxii_client_poll(&c, "observations", -1, INT64_MAX, collect, &g, &end, &err) == 0,
	    "parts: more without the hint is followed (%s)", err.msg);
	is_int(g.n, 3, "parts: every block");
	is_int(s->n_reqs, 3, "parts: three requests");
	has_str(s->req_body[2], "result_part_number=\"3\"", "parts: the last for part 3");

	/* max_parts bounds a peer that always says there is more. */
	script_reset(s);
	script_add(s, 200, fixture("poll_part1.xml"));
	script_add(s, 200, fixture("poll_part2.xml"));
	script_add(s, 200, fixture("poll_part2.xml"));
	memset(&g, 0, sizeof(g));
	c.max_parts = 2;
	is_int(taxii_client_poll(&c, "observations", -1, INT64_MAX, collect, &g, &end, &err),
	    TAXII_ETOOBIG, "parts: more parts than max_parts is an error");
	has_str(err.msg, "more than 2 parts", "parts: saying so");
}

static void
test_count(struct script *s)
{
	char url[128];
	struct taxii_client_conf c = conf_for(s, url, sizeof(url), "/taxii/poll");
	struct taxii_err err = { 0 };
	uint64_t n = 0;
	int partial = -1;

	script_reset(s);
	script_add(s, 200, fixture("poll_count_more.xml"));
	ok(taxii_client_count(&c, "observations", -1, INT64_MAX, &n, &partial, &err) == 0,
	    "count: read (%s)", err.msg);
	is_int(n, 4242, "count: the Record_Count");
	is_int(partial, 1, "count: partial_count read");
	is_int(s->n_reqs, 1, "count: `more` on a count is not followed");
	has_str(s->req_body[0], "COUNT_ONLY", "count: a COUNT_ONLY poll was sent");
}

static void
test_fallback(struct script *s)
{
	char url[128], url2[128];
	struct taxii_client_conf c = conf_for(s, url, sizeof(url), "/taxii/poll-10");
	struct taxii_err err = { 0 };
	struct got g = { 0 };
	int64_t end = 0;

	is_int(taxii_client_peer_version(&c), TAXII_V11, "fallback: a new peer is asked in 1.1");
	script_reset(s);
	script_add(s, 200, fixture("status_unsupported_protocol.xml"));
	script_add(s, 200, fixture("poll_response_10.xml"));
	ok(taxii_client_poll(&c, "observations", -1, INT64_MAX, collect, &g, &end, &err) == 0,
	    "fallback: UNSUPPORTED_PROTOCOL, then a 1.0 poll (%s)", err.msg);
	is_int(s->n_reqs, 2, "fallback: two requests");
	is_str(s->req_ver[0], TAXII_MSG_BINDING_11, "fallback: first in 1.1");
	is_str(s->req_ver[1], TAXII_MSG_BINDING_10, "fallback: then in 1.0");
	has_str(s->req_body[1], "feed_name=\"observations\"", "fallback: a 1.0 Poll_Request");
	is_int(g.n, 2, "fallback: the 1.0 blocks");
	is_str(g.binding[0], TAXII_CB_STIX_111, "fallback: with their 1.0 binding");
	is_int(taxii_client_peer_version(&c), TAXII_V10, "fallback: the peer is remembered");

	/* Remembered: the next poll speaks 1.0 at once. */
	script_reset(s);
	script_add(s, 200, fixture("poll_response_10.xml"));
	memset(&g, 0, sizeof(g));
	ok(taxii_client_poll(&c, "observations", -1, INT64_MAX, collect, &g, &end, &err) == 0,
	    "fallback: next poll (%s)", err.msg);
	is_int(s->n_reqs, 1, "fallback: one request");
	is_str(s->req_ver[0], TAXII_MSG_BINDING_10, "fallback: in 1.0 straight away");

	/* A 1.0 answer to a 1.1 request also means 1.0, for another peer. */
	c = conf_for(s, url2, sizeof(url2), "/taxii/other-10");
	script_reset(s);
	script_add(s, 200, fixture("poll_response_10.xml"));
	script_add(s, 200, fixture("poll_response_10.xml"));
	memset(&g, 0, sizeof(g));
	ok(taxii_client_poll(&c, "observations", -1, INT64_MAX, collect, &g, &end, &err) == 0,
	    "fallback: a 1.0 answer to 1.1 (%s)", err.msg);
	is_int(s->n_reqs, 2, "fallback: asked again");
	is_str(s->req_ver[1], TAXII_MSG_BINDING_10, "fallback: in 1.0");
	is_int(g.n, 2, "fallback: blocks delivered once, from the 1.0 answer");

	/* A version fixed by the caller is never changed. */
	c = conf_for(s, url2, sizeof(url2), "/taxii/fixed");
	c.version = TAXII_V11;
	script_reset(s);
	script_add(s, 200, fixture("status_unsupported_protocol.xml"));
	memset(&g, 0, sizeof(g));
	is_int(taxii_client_poll(&c, "observations", -1, INT64_MAX, collect, &g, &end, &err),
	    TAXII_ESTATUS, "fallback: not with a fixed version");
	has_str(err.msg, "UNSUPPORTED_PROTOCOL", "fallback: the status is reported");
	is_int(s->n_reqs, 1, "fallback: no second request");
}

static void
test_refusals(struct script *s)
{
	char url[128];
	struct taxii_client_conf c = conf_for(s, url, sizeof(url), "/taxii/poll");
	struct taxii_err err = { 0 };
	struct got g = { 0 };
	int rc;

	script_reset(s);
	script_add(s, 200, fixture("poll_response_doctype.xml"));
	rc = taxii_client_poll(&c, "observations", -1, INT64_MAX, collect, &g, NULL, &err);
	is_int(rc, TAXII_EHOSTILE, "refused: an answer with a DOCTYPE");
	is_int(g.n, 0, "refused: nothing delivered");

	script_reset(s);
	script_add(s, 200, fixture("poll_response_labels.xml"));
	c.max_response = 200;
	memset(&g, 0, sizeof(g));
	is_int(taxii_client_poll(&c, "observations", -1, INT64_MAX, collect, &g, NULL, &err),
	    TAXII_ETOOBIG, "refused: an answer over max_response");
	has_str(err.msg, "response too large (over 200 bytes)", "refused: saying so");
	c.max_response = 0;

	script_reset(s);
	script_add(s, 503, strdup("not xml"));
	is_int(taxii_client_poll(&c, "observations", -1, INT64_MAX, collect, &g, NULL, &err),
	    TAXII_ENET, "refused: an HTTP error without a Status Message");
	has_str(err.msg, "HTTP 503", "refused: naming the HTTP status");

	script_reset(s);
	script_add(s, 200, fixture("status_denied.xml"));
	is_int(taxii_client_poll(&c, "observations", -1, INT64_MAX, collect, &g, NULL, &err),
	    TAXII_ESTATUS, "refused: a Status Message to a poll");
	has_str(err.msg, "DENIED", "refused: naming it");
}

static volatile sig_atomic_t cancel_flag;

static double
now_s(void)
{
	return (double)util_mono_us() / 1e6;
}

static void *
cancel_later(void *arg)
{
	(void)arg;
	usleep(300000);
	cancel_flag = 1;
	return NULL;
}

/* A peer that takes the connection and never answers: cancel abandons the wait. */
static void
test_cancel(struct script *s)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	struct taxii_client_conf c;
	struct taxii_err err = {0};
	struct got g = {0};
	char url[128];
	pthread_t th;
	double t0;
	int fd, rc;

	c = conf_for(s, url, sizeof(url), "/taxii/poll");
	cancel_flag = 1;
	c.cancel = &cancel_flag;
	script_reset(s);
	script_add(s, 200, fixture("poll_response_labels.xml"));
	is_int(taxii_client_poll(&c, "observations", -1, INT64_MAX, collect, &g, NULL, &err),
	    TAXII_ENET, "cancel: set before the poll, it fails");
	has_str(err.msg, "cancelled", "cancel: saying so");
	is_int(s->n_reqs, 0, "cancel: and nothing was sent");

	/* The kernel completes the handshake from the backlog; nobody ever reads. */
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 4) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
		ok(0, "cancel: a silent peer listens");
		if (fd >= 0)
			close(fd);
		return;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/taxii/poll", ntohs(a.sin_port));
	c.timeout_s = 30;
	cancel_flag = 0;
	t0 = now_s();
	if (pthread_create(&th, NULL, cancel_later, NULL) != 0) {
		ok(0, "cancel: a thread");
		close(fd);
		return;
	}
	rc = taxii_client_poll(&c, "observations", -1, INT64_MAX, collect, &g, NULL, &err);
	pthread_join(th, NULL);
	is_int(rc, TAXII_ENET, "cancel: a poll waiting on a silent peer is abandoned");
	ok(now_s() - t0 < 5.0, "cancel: within seconds, not the 30 s timeout (%.1f s)",
	    now_s() - t0);
	has_str(err.msg, "cancelled", "cancel: saying so");
	close(fd);
}


/* ---------------------------------------------------------------------------------------
 * A peer that sends its answer a few bytes at a time, and may stop half way: one
 * connection, raw HTTP/1.1, on 127.0.0.1 (port 0).
 */
struct dribble {
	int fd;
	unsigned port;
	pthread_t th;
	const char *body;
	size_t len;
	int with_length;    /* Content-Length sent (else the end is the connection's) */
	size_t piece;       /* bytes per write */
	size_t stall_at;    /* after this many body bytes, write nothing more (0: never) */
	volatile int stop;  /* the test is done with it */
};

static void *
dribble_serve(void *arg)
{
	struct dribble *d = arg;
	char req[8192], head[256];
	size_t got = 0, want = 0;
	struct pollfd pf = { d->fd, POLLIN, 0 };
	int c, one = 1;

	if (poll(&pf, 1, 10000) != 1 || (c = accept(d->fd, NULL, NULL)) < 0)
		return NULL;
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* The request: headers, then Content-Length bytes (bounded by req's size). */
	for (int i = 0; i < 1000 && got < sizeof(req) - 1; i++) {
		char *eoh, *cl;
		ssize_t n = recv(c, req + got, sizeof(req) - 1 - got, 0);

		if (n <= 0)
			break;
		got += (size_t)n;
		req[got] = '\0';
		if ((eoh = strstr(req, "\r\n\r\n")) == NULL)
			continue;
		cl = strcasestr(req, "Content-Length:");
		want = (size_t)(eoh + 4 - req) + (cl ? strtoul(cl + 15, NULL, 10) : 0);
		if (got >= want)
			break;
	}
	if (d->with_length)
		snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\n"
		    "Content-Length: %zu\r\nConnection: close\r\n\r\n", d->len);
	else
		snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\n"
		    "Connection: close\r\n\r\n");
	if (send(c, head, strlen(head), MSG_NOSIGNAL) < 0)
		goto out;
	for (size_t off = 0; off < d->len; off += d->piece) {
		size_t n = d->len - off < d->piece ? d->len - off : d->piece;

		if (d->stall_at && off >= d->stall_at) {
			/* Silent, the connection open, until the test is done (at most 20 s). */
			for (int i = 0; i < 2000 && !d->stop; i++)
				usleep(10000);
			break;
		}
		if (send(c, d->body + off, n, MSG_NOSIGNAL) < 0)
			break;
	}
out:
	close(c);
	return NULL;
}

static int
dribble_start(struct dribble *d)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (d->fd < 0 || bind(d->fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(d->fd, 4) != 0 || getsockname(d->fd, (struct sockaddr *)&a, &al) != 0 ||
	    pthread_create(&d->th, NULL, dribble_serve, d) != 0) {
		if (d->fd >= 0)
			close(d->fd);
		return -1;
	}
	d->port = ntohs(a.sin_port);
	return 0;
}

static void
dribble_stop(struct dribble *d)
{
	d->stop = 1;
	pthread_join(d->th, NULL);
	close(d->fd);
}

/* An answer read as its bytes arrive: a byte at a time it gives what it gives whole; a
 * peer that stops half way through a part meets the timeout; and a part past the cap,
 * with no length announced, is refused once the cap is passed. */
static void
test_streamed(void)
{
	char *body = fixture("poll_response_labels.xml"), *at;
	struct taxii_client_conf c;
	struct taxii_err err = {0};
	struct dribble d;
	struct got g = {0};
	char url[128];
	int64_t end = 0;
	double t0;
	int rc;

	memset(&d, 0, sizeof(d));
	d.body = body;
	d.len = strlen(body);
	d.with_length = 1;
	d.piece = 1;
	if (!ok(dribble_start(&d) == 0, "streamed: a dribbling peer listens")) {
		free(body);
		return;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/taxii/poll", d.port);
	memset(&c, 0, sizeof(c));
	c.url = url;
	c.version = TAXII_V11;
	c.timeout_s = 20;
	rc = taxii_client_poll(&c, "observations", -1, INT64_MAX, collect, &g, &end, &err);
	dribble_stop(&d);
	is_int(rc, 0, "streamed: an answer sent a byte at a time is read (%s)", err.msg);
	is_int(g.n, 3, "streamed: its three blocks");
	ok(g.label[0] == t("2026-11-22T04:00:00Z") && g.label[1] == t("2026-11-22T04:00:00.5Z") &&
	    g.label[2] == t("2026-11-22T04:00:01.123456Z"), "streamed: with their labels");
	is_int(end, t("2026-11-22T04:00:02Z"), "streamed: and the peer's end");

	/* Silent after the first block: the poll ends at the timeout, not later. */
	at = strstr(body, "</taxii_11:Content_Block>");
	memset(&d, 0, sizeof(d));
	d.body = body;
	d.len = strlen(body);
	d.with_length = 1;
	d.piece = 64;
	d.stall_at = at ? (size_t)(at - body) + 64 : 100;
	memset(&g, 0, sizeof(g));
	if (dribble_start(&d) == 0) {
		snprintf(url, sizeof(url), "http://127.0.0.1:%u/taxii/poll", d.port);
		c.timeout_s = 1;
		t0 = now_s();
		rc = taxii_client_poll(&c, "observations", -1, INT64_MAX, collect, &g, &end, &err);
		dribble_stop(&d);
		is_int(rc, TAXII_ENET, "streamed: a peer that stalls mid-part fails the poll");
		has_str(err.msg, "Timeout", "streamed: at the timeout (%s)", err.msg);
		ok(now_s() - t0 < 6.0, "streamed: within seconds of it (%.1f s)", now_s() - t0);
		is_int(g.n, 1, "streamed: the block before the stall was read as it came");
	} else {
		ok(0, "streamed: a stalling peer listens");
	}

	/* No Content-Length: the cap is met while reading, and named. */
	memset(&d, 0, sizeof(d));
	d.body = body;
	d.len = strlen(body);
	d.piece = 100;
	memset(&g, 0, sizeof(g));
	if (dribble_start(&d) == 0) {
		snprintf(url, sizeof(url), "http://127.0.0.1:%u/taxii/poll", d.port);
		c.timeout_s = 20;
		c.max_response = d.len - 10;
		rc = taxii_client_poll(&c, "observations", -1, INT64_MAX, collect, &g, &end, &err);
		dribble_stop(&d);
		is_int(rc, TAXII_ETOOBIG, "streamed: a part past the cap is refused");
		has_str(err.msg, "too large", "streamed: saying it is too large (%s)", err.msg);
	} else {
		ok(0, "streamed: a third peer listens");
	}
	free(body);
}

int
main(void)
{
	struct script s;

	srcdir = getenv("TESTS_SRCDIR");
	if (srcdir == NULL)
		tap_skip_all("TESTS_SRCDIR not set");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	xmlInitParser();
	if (script_start(&s) != 0)
		tap_bail("the scripted server does not start on 127.0.0.1:0: %s", strerror(errno));
	test_discovery(&s);
	test_collections(&s);
	test_labels(&s);
	test_parts(&s);
	test_count(&s);
	test_fallback(&s);
	test_refusals(&s);
	test_cancel(&s);
	test_streamed();
	script_stop(&s);
	curl_global_cleanup();
	return tap_done();
}
