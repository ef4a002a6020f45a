/*
 * The TAXII server: libmicrohttpd daemons (one per listen address) answering the four
 * services of the HTTP binding. Storage is reached only through struct taxii_backend.
 * Every request that cannot be served gets a TAXII Status Message; a multi-part poll
 * result is remembered (window and size only, never content) so Poll_Fulfillment can
 * fetch its later parts. Hostile clients are met here: connections are counted once for
 * the whole server and per source (libmicrohttpd's own limit is split between its
 * threads and refuses in silence), a watch thread enforces a deadline on each whole
 * request (libmicrohttpd's timeout is an idle one, which a client dripping bytes never
 * trips), Basic credentials are read here so control bytes are refused, and sources
 * with failed logins are throttled before any password is checked.
 */
#include "config.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netdb.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <libxml/parser.h>
#include <microhttpd.h>

#include "taxii/taxii.h"
#include "util/util.h"

#define MAX_LISTEN 8
#define MAX_RESULTS 256
#define RESPONSE_CAP (256u * 1024u * 1024u)
#define MAX_STATUS_SUBS 1000 /* subscriptions one STATUS answer lists */
#define MAX_LIVE_SUBS 100    /* ACTIVE or PAUSED subscriptions of one owner */
#define DEFAULT_MAX_CONNS 256
#define DEFAULT_PER_SOURCE 32
#define HELD_FACTOR 4        /* connections held open (served or being refused) per cap */
#define REFUSE_GRACE_US INT64_C(2000000) /* a refused connection's time to send its request */
#define DEFAULT_MAX_HEADERS (32u * 1024u)
#define CONN_MEMORY (256u * 1024u) /* libmicrohttpd's per-connection pool: headers fit */
#define WATCH_PERIOD_MS 200
#define THR_SLOTS 1024       /* sources with failed logins remembered */
#define THR_PROBE 8
#define THR_FREE_FAILURES 5  /* failed logins before throttling starts */
#define THR_MAX_WAIT_US INT64_C(300000000)
#define THR_FORGET_US INT64_C(900000000)
#define AUTH_USER_MAX 256
#define AUTH_PASS_MAX 1024
#define STREAM_FIRST_RECORDS 16            /* records of a part's first fill */
#define STREAM_FILL_BYTES (512u * 1024u)   /* what one later fill (one store read) aims at */
#define STREAM_BLOCK (64u * 1024u)         /* libmicrohttpd's buffer for a streamed answer */

/* One connection libmicrohttpd holds: what the limits and the request deadline need. */
struct conn {
	int in_use;
	int admitted; /* counted against the caps; else it is answered 503 */
	int cut;      /* shut down by the deadline watch */
	int fd;
	unsigned char key[16]; /* source: IPv4 as ::ffff:a.b.c.d, IPv6 its /64 */
	int64_t deadline_us;   /* CLOCK_MONOTONIC; 0: none (an answer is being made) */
};

/* Failed logins of one source. */
struct throttle {
	int used;
	unsigned char key[16];
	unsigned failures;
	int64_t last_us, until_us; /* CLOCK_MONOTONIC */
};

struct result {
	char id[TAXII_ID_MAX + 2];
	char collection[64];
	enum taxii_version ver;
	int64_t begin_us, end_us;
	uint64_t total, parts;
	int64_t expires_us;
	/* Where the next part in order begins: clients fetch parts in order, and starting
	 * from the last label served spares the backend from skipping `offset` records. */
	uint64_t next_part;
	int64_t next_begin_us;
};

struct taxii_server {
	struct taxii_backend be;
	struct taxii_auth auth;
	struct taxii_http http; /* get NULL: no pages besides TAXII */
	struct taxii_watch answers; /* done NULL: nobody told of answers */
	struct MHD_Daemon *d[MAX_LISTEN];
	unsigned port[MAX_LISTEN];
	size_t n_d;
	char base_url[300];
	int https;
	struct util_buf tls_cert, tls_key; /* PEM, kept while the daemons run */
	struct util_buf client_ca;         /* PEM; non-empty: client certificates required */
	size_t max_body, part_size;
	unsigned result_ttl_s, threads, timeout_s;
	pthread_mutex_t lock; /* results */
	struct result results[MAX_RESULTS];

	unsigned max_conns, per_source;
	size_t max_headers;
	int allow_private_push;
	taxii_resolve_fn resolve;
	void *resolve_arg;
	void (*log)(void *arg, const char *msg);
	void *log_arg;
	/* Connections, limits, throttling and the deadline watch (one lock: held briefly). */
	pthread_mutex_t clock;
	pthread_cond_t wake;
	struct conn *conns;
	size_t n_conns, hi_conn; /* slots, and one past the highest in use */
	unsigned admitted;
	struct throttle *thr;
	pthread_t watch;
	int watching, stopping;
};

struct stream;
static void stream_free(struct stream *st);
static void server_log(struct taxii_server *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Per-request state, freed when libmicrohttpd completes the request. */
struct req {
	struct util_buf body;
	unsigned refuse; /* HTTP status to answer once the body is read and dropped; 0: none */
	int page;        /* a GET or HEAD for s->http */
	int64_t start_us; /* util_mono_us, when the headers were complete */
	struct conn *slot; /* its connection's entry, or NULL */
	/* What was answered, for struct taxii_watch (http 0: nothing yet). */
	const char *service;
	unsigned http;
	int status, has_status;
	enum taxii_auth_fail auth;
	struct stream *stream; /* a Poll_Response being sent, or NULL */
};

/*
 * The request being handled by this thread. Replies are queued deep inside the
 * handlers, which know only the connection; what they answered is noted here rather than
 * threading the request through every handler. Set and cleared by on_request, so it is
 * valid exactly while libmicrohttpd runs the handler on this thread.
 */
static _Thread_local struct req *cur_req;

static void
note_answer(unsigned http, int status)
{
	if (cur_req == NULL)
		return;
	cur_req->http = http;
	if (!cur_req->has_status) {
		cur_req->status = status;
		cur_req->has_status = 1;
	}
}

static void
note_status(int status)
{
	if (cur_req != NULL && !cur_req->has_status) {
		cur_req->status = status;
		cur_req->has_status = 1;
	}
}

static void
note_auth(enum taxii_auth_fail a)
{
	if (cur_req != NULL)
		cur_req->auth = a;
}

enum endpoint { EP_NONE, EP_DISCOVERY, EP_COLLECTIONS, EP_POLL, EP_INBOX };

struct coll_def {
	const char *name;
	enum taxii_coll_type type;
	const char *description;
	int inbox; /* Inbox may fill it */
};

/* The collections every node serves: every record, the destinations to observe, and
 * those to block. */
static const struct coll_def collections[] = {
	{ "observations", TAXII_COLL_DATA_FEED,
	    "Observations of C2 destinations, this node's and those merged from peers", 1 },
	{ "targets", TAXII_COLL_DATA_SET,
	    "Destinations to observe, as STIX indicators; Inbox adds targets", 1 },
	{ "blocklist", TAXII_COLL_DATA_SET,
	    "Destinations to block (verdict keep), one STIX indicator each with its verdict "
	    "and evidence", 0 },
};
#define N_COLLECTIONS (sizeof(collections) / sizeof(collections[0]))

static const char *const served_bindings[] = { TAXII_CB_STIX_12 };
static const char *const inbox_bindings[] = { TAXII_CB_STIX_12, TAXII_CB_STIX_111 };

/* ---------------------------------------------------------------------------------------
 * Replies
 */

/* Whether the request came over TLS (libmicrohttpd answers the cipher only for TLS). */
static int
is_tls(struct MHD_Connection *conn)
{
	return MHD_get_connection_info(conn, MHD_CONNECTION_INFO_PROTOCOL) != NULL;
}

/* Extra headers of a refusal: close the connection, and when to come back (0: none). */
struct refusal {
	int close;
	unsigned retry_after_s;
};

/* Adds the TAXII headers (and a refusal's) to resp and queues it; resp stays the caller's. */
static enum MHD_Result
queue_taxii(struct MHD_Connection *conn, unsigned http, enum taxii_version ver,
    struct MHD_Response *resp, const struct refusal *rf)
{
	enum MHD_Result rc;
	char ra[16];

	if (MHD_add_response_header(resp, "Content-Type", TAXII_HTTP_CONTENT_TYPE) != MHD_YES ||
	    MHD_add_response_header(resp, "X-TAXII-Content-Type",
		taxii_http_content_type(ver)) != MHD_YES ||
	    MHD_add_response_header(resp, "X-TAXII-Protocol",
		taxii_http_protocol(is_tls(conn))) != MHD_YES ||
	    MHD_add_response_header(resp, "X-TAXII-Services", taxii_http_services(ver)) !=
		MHD_YES ||
	    (http == MHD_HTTP_METHOD_NOT_ALLOWED &&
		MHD_add_response_header(resp, "Allow", "POST") != MHD_YES))
		return MHD_NO;
	snprintf(ra, sizeof(ra), "%u", rf ? rf->retry_after_s : 0);
	if (rf != NULL && ((rf->close &&
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES) ||
	    (rf->retry_after_s > 0 &&
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra) != MHD_YES)))
		return MHD_NO;
	rc = MHD_queue_response(conn, http, resp);
	if (rc == MHD_YES)
		note_answer(http, TAXII_ST_SUCCESS);
	return rc;
}

static enum MHD_Result
reply_ex(struct MHD_Connection *conn, unsigned http, enum taxii_version ver,
    struct util_buf *b, const struct refusal *rf)
{
	struct MHD_Response *resp;
	enum MHD_Result rc;

	resp = MHD_create_response_from_buffer(b->len, b->data, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		util_buf_fini(b);
		return MHD_NO;
	}
	/* The response owns the bytes now. */
	b->data = NULL;
	b->len = b->cap = 0;
	rc = queue_taxii(conn, http, ver, resp, rf);
	MHD_destroy_response(resp);
	return rc;
}

static enum MHD_Result
reply(struct MHD_Connection *conn, unsigned http, enum taxii_version ver, struct util_buf *b)
{
	return reply_ex(conn, http, ver, b, NULL);
}

static enum MHD_Result
reply_status_ex(struct MHD_Connection *conn, unsigned http, enum taxii_version ver,
    const char *in_response_to, enum taxii_status st, const struct taxii_detail *details,
    size_t n_details, const char *text, const struct refusal *rf)
{
	struct util_buf b;

	if (ver != TAXII_V10)
		ver = TAXII_V11;
	/* Status types 1.0 lacks fall back to the closest one it has. */
	if (!taxii_status_in_version(st, ver)) {
		st = st == TAXII_ST_DESTINATION_COLLECTION_ERROR ? TAXII_ST_NOT_FOUND :
		    TAXII_ST_FAILURE;
		details = NULL;
		n_details = 0;
	}
	util_buf_init(&b, 0);
	if (taxii_status_write(ver, in_response_to, st, details, n_details, text, &b, NULL) != 0) {
		util_buf_fini(&b);
		return MHD_NO;
	}
	note_status((int)st);
	return reply_ex(conn, http, ver, &b, rf);
}

static enum MHD_Result
reply_status(struct MHD_Connection *conn, unsigned http, enum taxii_version ver,
    const char *in_response_to, enum taxii_status st, const struct taxii_detail *details,
    size_t n_details, const char *text)
{
	return reply_status_ex(conn, http, ver, in_response_to, st, details, n_details, text,
	    NULL);
}

/* A RETRY Status Message (1.1: with ESTIMATED_WAIT) and a Retry-After header. */
static enum MHD_Result
reply_retry(struct MHD_Connection *conn, unsigned http, enum taxii_version ver,
    unsigned wait_s, int close_conn, const char *text)
{
	struct refusal rf = { close_conn, wait_s ? wait_s : 1 };
	struct taxii_detail d = { TAXII_SD_ESTIMATED_WAIT, NULL };
	char w[16];

	snprintf(w, sizeof(w), "%u", rf.retry_after_s);
	d.value = w;
	return reply_status_ex(conn, http, ver, NULL, TAXII_ST_RETRY, &d,
	    ver == TAXII_V10 ? 0 : 1, text, &rf);
}

static enum MHD_Result
reply_msg(struct MHD_Connection *conn, const struct taxii_msg *m)
{
	struct util_buf b;

	util_buf_init(&b, RESPONSE_CAP);
	if (taxii_msg_write(m, &b, NULL) != 0) {
		util_buf_fini(&b);
		return reply_status(conn, MHD_HTTP_OK, m->version, m->in_response_to,
		    TAXII_ST_FAILURE, NULL, 0, "cannot write the response");
	}
	return reply(conn, MHD_HTTP_OK, m->version, &b);
}

/* Whether the authenticated `user` (NULL without authentication) may use a collection. */
static int
allowed(const struct taxii_server *s, const char *user, const char *collection)
{
	if (s->auth.check == NULL || s->auth.allow == NULL)
		return 1;
	return user != NULL && s->auth.allow(s->auth.ctx, user, collection) == 0;
}

static enum MHD_Result
reply_denied(struct MHD_Connection *conn, const struct taxii_msg *req)
{
	return reply_status(conn, MHD_HTTP_OK, req->version, req->message_id,
	    TAXII_ST_UNAUTHORIZED, NULL, 0, "not permitted on this collection");
}

/* ---------------------------------------------------------------------------------------
 * Discovery and collection management
 */

/* Subscriptions: on data feeds, when the backend keeps them. */
static int
subs_offered(const struct taxii_server *s, const struct coll_def *col, enum taxii_version ver)
{
	const struct taxii_sub_backend *sb = &s->be.subs;

	return (ver == TAXII_V11 || ver == TAXII_V10) && col->type == TAXII_COLL_DATA_FEED &&
	    sb->add != NULL &&
	    sb->get != NULL && sb->set_status != NULL && sb->list != NULL;
}

static void
contact(const struct taxii_server *s, const char *path, char *addr, size_t addrlen,
    struct taxii_contact *c)
{
	snprintf(addr, addrlen, "%s%s", s->base_url, path);
	c->protocol = taxii_http_protocol(s->https);
	c->address = addr;
	c->message_bindings.v = NULL;
	c->message_bindings.n = 0; /* the builder writes the response's own binding */
}

static enum MHD_Result
do_discovery(struct taxii_server *s, struct MHD_Connection *conn, const struct taxii_msg *req)
{
	static const char *const paths[] = { "/taxii/discovery", "/taxii/collections",
		"/taxii/inbox", "/taxii/poll" };
	char addr[4][400], id[TAXII_ID_MAX];
	struct taxii_service svc[4];
	struct taxii_msg m;

	memset(svc, 0, sizeof(svc));
	for (int i = 0; i < 4; i++) {
		svc[i].type = (enum taxii_service_type)(TAXII_SVC_DISCOVERY + i);
		svc[i].version = req->version;
		svc[i].available = 1;
		contact(s, paths[i], addr[i], sizeof(addr[i]), &svc[i].contact);
	}
	svc[2].content_bindings.v = inbox_bindings;
	svc[2].content_bindings.n = sizeof(inbox_bindings) / sizeof(inbox_bindings[0]);
	memset(&m, 0, sizeof(m));
	taxii_msg_id_new(id);
	m.version = req->version;
	m.type = TAXII_MSG_DISCOVERY_RESP;
	m.message_id = id;
	m.in_response_to = req->message_id;
	m.services = svc;
	m.n_services = 4;
	return reply_msg(conn, &m);
}

static enum MHD_Result
do_collections(struct taxii_server *s, struct MHD_Connection *conn, const struct taxii_msg *req,
    const char *user)
{
	char poll_addr[400], inbox_addr[400], sub_addr[400], id[TAXII_ID_MAX], err[200];
	struct taxii_contact pollc, inboxc, subc;
	struct taxii_collection cols[N_COLLECTIONS];
	struct taxii_msg m;

	contact(s, "/taxii/poll", poll_addr, sizeof(poll_addr), &pollc);
	contact(s, "/taxii/inbox", inbox_addr, sizeof(inbox_addr), &inboxc);
	contact(s, "/taxii/collections", sub_addr, sizeof(sub_addr), &subc);
	memset(cols, 0, sizeof(cols));
	size_t n = 0;

	for (size_t j = 0; j < N_COLLECTIONS; j++) {
		size_t i = n;

		if (!allowed(s, user, collections[j].name))
			continue;
		n++;
		cols[i].name = collections[j].name;
		cols[i].type = collections[j].type;
		cols[i].description = collections[j].description;
		cols[i].available = 1;
		cols[i].content_bindings.v = served_bindings;
		cols[i].content_bindings.n = 1;
		cols[i].polling = &pollc;
		cols[i].n_polling = 1;
		if (collections[j].inbox) {
			cols[i].inbox = &inboxc;
			cols[i].n_inbox = 1;
		}
		if (subs_offered(s, &collections[j], req->version)) {
			cols[i].subscription = &subc;
			cols[i].n_subscription = 1;
		}
		if (s->be.count != NULL &&
		    s->be.count(s->be.ctx, cols[i].name, -1, INT64_MAX, &cols[i].volume, err,
			sizeof(err)) == 0)
			cols[i].has_volume = 1;
	}
	memset(&m, 0, sizeof(m));
	taxii_msg_id_new(id);
	m.version = req->version;
	m.type = TAXII_MSG_COLLECTION_INFO_RESP;
	m.message_id = id;
	m.in_response_to = req->message_id;
	m.collections = cols;
	m.n_collections = n;
	return reply_msg(conn, &m);
}

/* ---------------------------------------------------------------------------------------
 * Poll
 */

static const struct coll_def *
find_collection(const char *name)
{
	for (size_t i = 0; name != NULL && i < N_COLLECTIONS; i++)
		if (strcmp(collections[i].name, name) == 0)
			return &collections[i];
	return NULL;
}

struct poll_out {
	struct util_buf *out;
	enum taxii_version ver;
	int rc;
	size_t n;
	int64_t last_us; /* label of the last record written */
};

static int
on_record(void *arg, const struct taxii_record *rec)
{
	struct poll_out *po = arg;
	struct taxii_content_block b;

	memset(&b, 0, sizeof(b));
	b.binding = rec->binding ? rec->binding : TAXII_CB_STIX_12;
	b.content = rec->content;
	b.content_len = rec->content_len;
	b.is_xml = 1;
	b.has_timestamp = 1;
	b.timestamp_us = rec->label_us;
	po->rc = taxii_block_write(po->ver, &b, po->out, NULL);
	if (po->rc != 0)
		return 1;
	po->n++;
	po->last_us = rec->label_us;
	return 0;
}

static int
on_label(void *arg, const struct taxii_record *rec)
{
	*(int64_t *)arg = rec->label_us;
	return 0;
}

/*
 * A Poll_Response sent as the socket drains. Its head is written and its first records
 * read before it is queued (so a failure there is still a Status Message); then each
 * time libmicrohttpd has sent what was read, stream_read reads the next records, in one
 * backend call (one short read of the store) of about STREAM_FILL_BYTES. Nothing of the
 * store is held between calls, however slowly the client reads, and a poll holds one
 * fill, never its whole part. A data feed resumes after the last label written; a data
 * set (whose records share one label) is read whole in the first fill, as it is small.
 * Owned by its request (struct req), freed when the request ends: libmicrohttpd reads
 * a response only while its request lives.
 */
struct stream {
	struct taxii_server *s;
	struct req *r;
	const char *collection; /* static: a coll_def's name */
	enum taxii_version ver;
	int by_label;
	int64_t after_us, end_us;
	size_t offset; /* records to skip in the first fill */
	size_t left;   /* records of the part not yet read */
	size_t given, given_bytes; /* what was read so far: sizes the next fill */
	struct util_buf buf;       /* bytes read and not yet sent, from pos */
	size_t pos;
	struct util_buf tail;      /* the message's end, written after the last record */
	int ended;                 /* tail is in buf */
};

static void
stream_free(struct stream *st)
{
	if (st == NULL)
		return;
	util_buf_fini(&st->buf);
	util_buf_fini(&st->tail);
	free(st);
}

/* Reads the next records of the part into st->buf (and the tail after the last one).
 * Returns 0, or -1 with err (po_rc TAXII_ETOOBIG when a block did not fit). */
static int
stream_fill(struct stream *st, int *po_rc, char *err, size_t errlen)
{
	struct poll_out po = { &st->buf, st->ver, 0, 0, INT64_MIN };
	size_t want = st->left, before = st->buf.len;

	*po_rc = 0;
	if (st->by_label && st->left > 0) {
		/* A few records first (the client's first byte comes soon), then as many as
		 * the records seen so far say fill STREAM_FILL_BYTES. */
		size_t n = STREAM_FIRST_RECORDS;

		if (st->given > 0 && st->given_bytes > 0)
			n = STREAM_FILL_BYTES / (st->given_bytes / st->given + 1) + 1;
		if (n < want)
			want = n;
	}
	if (want > 0 && st->s->be.poll(st->s->be.ctx, st->collection, st->after_us, st->end_us,
	    st->offset, want, on_record, &po, err, errlen) != 0)
		return -1;
	if (po.rc != 0) {
		*po_rc = po.rc;
		return -1;
	}
	st->offset = 0;
	st->given += po.n;
	st->given_bytes += st->buf.len - before;
	if (po.n > 0)
		st->after_us = po.last_us;
	/* Fewer than asked: the window holds no more; the part ends there. */
	st->left = po.n < want || !st->by_label ? 0 : st->left - po.n;
	if (st->left == 0 && !st->ended) {
		if (util_buf_add(&st->buf, st->tail.data, st->tail.len) != 0) {
			*po_rc = TAXII_ETOOBIG;
			return -1;
		}
		st->ended = 1;
	}
	return 0;
}

static ssize_t
stream_read(void *cls, uint64_t at, char *out, size_t max)
{
	struct stream *st = cls;
	size_t n;

	(void)at;
	if (st->pos == st->buf.len) {
		char err[256] = "";
		int po_rc;

		if (st->ended)
			return MHD_CONTENT_READER_END_OF_STREAM;
		util_buf_reset(&st->buf);
		st->pos = 0;
		if (stream_fill(st, &po_rc, err, sizeof(err)) != 0) {
			/* The status line is sent: cutting the answer short is all that is left,
			 * and the client sees an incomplete message, never a shorter one. */
			st->r->status = TAXII_ST_FAILURE;
			st->r->has_status = 1;
			server_log(st->s, "poll: an answer of %s was cut short: %s", st->collection,
			    po_rc == TAXII_ETOOBIG ? "response too large" : err[0] ? err :
			    "poll failed");
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
		if (st->buf.len == 0)
			return MHD_CONTENT_READER_END_OF_STREAM;
	}
	n = st->buf.len - st->pos;
	if (n > max)
		n = max;
	memcpy(out, st->buf.data + st->pos, n);
	st->pos += n;
	return (ssize_t)n;
}

/*
 * Answers a Poll_Response whose head is `m`, with the records of (begin, end] from the
 * offset-th on, at most limit, streamed (struct stream). A failure before the first
 * bytes are queued is answered with a FAILURE Status Message.
 */
static enum MHD_Result
send_part(struct taxii_server *s, struct MHD_Connection *conn, const struct taxii_msg *m,
    int64_t begin_us, int64_t end_us, size_t offset, size_t limit)
{
	const struct coll_def *col = find_collection(m->collection);
	struct stream *st = NULL;
	struct MHD_Response *resp = NULL;
	char err[256] = "";
	enum MHD_Result ret;
	int po_rc = 0, rc;

	if (cur_req == NULL || cur_req->stream != NULL || col == NULL ||
	    (st = calloc(1, sizeof(*st))) == NULL)
		return reply_status(conn, MHD_HTTP_OK, m->version, m->in_response_to,
		    TAXII_ST_FAILURE, NULL, 0, "cannot start the answer");
	st->s = s;
	st->r = cur_req;
	st->collection = col->name;
	st->ver = m->version;
	st->by_label = col->type == TAXII_COLL_DATA_FEED;
	st->after_us = begin_us;
	st->end_us = end_us;
	st->offset = offset;
	st->left = limit;
	util_buf_init(&st->buf, RESPONSE_CAP);
	util_buf_init(&st->tail, RESPONSE_CAP);
	rc = taxii_msg_write_open(m, &st->buf, NULL);
	if (rc == 0)
		rc = taxii_msg_write_close(m, &st->tail, NULL);
	if (rc == 0)
		rc = stream_fill(st, &po_rc, err, sizeof(err));
	if (rc != 0) {
		stream_free(st);
		return reply_status(conn, MHD_HTTP_OK, m->version, m->in_response_to,
		    TAXII_ST_FAILURE, NULL, 0,
		    po_rc == TAXII_ETOOBIG ? "response too large" : err[0] ? err :
		    "poll failed");
	}
	/* The request owns the stream from here: freed when it ends, answered or not. */
	cur_req->stream = st;
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_read,
	    st, NULL);
	if (resp == NULL)
		return MHD_NO;
	ret = queue_taxii(conn, MHD_HTTP_OK, m->version, resp, NULL);
	MHD_destroy_response(resp);
	return ret;
}

/* The label of the last record of the part that starts after `after_us` (INT64_MIN when
 * the window holds no more), so that the next part can begin there before this one is
 * sent: a client may ask for it while this one is still arriving. */
static int
part_end_label(struct taxii_server *s, const char *collection, int64_t after_us,
    int64_t end_us, size_t offset, int64_t *last, char *err, size_t errlen)
{
	*last = INT64_MIN;
	return s->be.poll(s->be.ctx, collection, after_us, end_us, offset + s->part_size - 1, 1,
	    on_label, last, err, errlen);
}

/* Notes that part `part` of result `id` ended at label `last_us`. */
static void
result_advance(struct taxii_server *s, const char *id, uint64_t part, int64_t last_us)
{
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < MAX_RESULTS; i++) {
		if (s->results[i].id[0] != '\0' && strcmp(s->results[i].id, id) == 0) {
			if (last_us != INT64_MIN) {
				s->results[i].next_part = part + 1;
				s->results[i].next_begin_us = last_us;
			}
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
}

/* Remembers a multi-part result; an expired slot, else the oldest, is reused. */
static void
result_add(struct taxii_server *s, const struct result *r)
{
	int64_t now = util_now_us();
	size_t victim = 0;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < MAX_RESULTS; i++) {
		if (s->results[i].id[0] == '\0' || s->results[i].expires_us < now) {
			victim = i;
			break;
		}
		if (s->results[i].expires_us < s->results[victim].expires_us)
			victim = i;
	}
	s->results[victim] = *r;
	pthread_mutex_unlock(&s->lock);
}

static int
result_get(struct taxii_server *s, const char *id, struct result *out)
{
	int64_t now = util_now_us();
	int found = 0;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < MAX_RESULTS && !found; i++) {
		if (s->results[i].id[0] != '\0' && strcmp(s->results[i].id, id) == 0 &&
		    s->results[i].expires_us >= now) {
			*out = s->results[i];
			found = 1;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return found ? 0 : -1;
}

static int
binding_acceptable(const struct taxii_strs *asked)
{
	if (asked->n == 0)
		return 1;
	for (size_t i = 0; i < asked->n; i++)
		if (strcmp(asked->v[i], TAXII_CB_STIX_12) == 0)
			return 1;
	return 0;
}

static int sub_lookup(struct taxii_server *s, const struct taxii_msg *req, const char *user,
    struct taxii_sub *out, char *err, size_t errlen);

static enum MHD_Result
do_poll(struct taxii_server *s, struct MHD_Connection *conn, const struct taxii_msg *req,
    const char *user)
{
	const struct coll_def *col = find_collection(req->collection);
	char id[TAXII_ID_MAX], err[256] = "";
	struct taxii_detail d;
	struct taxii_msg m;
	struct taxii_sub sub;
	struct result r; /* a multi-part result: m.result_id points into it */
	enum taxii_response_type rtype = req->response_type;
	int64_t begin, end, floor_us = -1;
	uint64_t total;

	if (col == NULL) {
		d.name = TAXII_SD_ITEM;
		d.value = req->collection;
		return reply_status(conn, MHD_HTTP_OK, req->version, req->message_id,
		    TAXII_ST_NOT_FOUND, &d, 1, "no such collection");
	}
	if (!allowed(s, user, col->name))
		return reply_denied(conn, req);
	if ((req->version == TAXII_V11 && !req->has_poll_params) ||
	    (req->version == TAXII_V10 && req->subscription_id != NULL)) {
		if (sub_lookup(s, req, user, &sub, err, sizeof(err)) != 0 ||
		    sub.status == TAXII_SUBST_UNSUBSCRIBED) {
			d.name = TAXII_SD_ITEM;
			d.value = req->subscription_id;
			return reply_status(conn, MHD_HTTP_OK, req->version, req->message_id,
			    err[0] ? TAXII_ST_FAILURE : TAXII_ST_NOT_FOUND, &d, 1,
			    err[0] ? err : "no such subscription");
		}
		/* The subscription's parameters stand in for Poll_Parameters, and its window
		 * opens when it was made. */
		floor_us = sub.created_us;
		rtype = sub.response_type;
	} else if (!binding_acceptable(&req->content_bindings)) {
		d.name = TAXII_SD_SUPPORTED_CONTENT;
		d.value = TAXII_CB_STIX_12;
		return reply_status(conn, MHD_HTTP_OK, req->version, req->message_id,
		    TAXII_ST_UNSUPPORTED_CONTENT, &d, 1, NULL);
	}
	/* The end is fixed now, so every part of a result sees the same window. */
	begin = req->has_begin ? req->begin_us : -1;
	if (begin < floor_us)
		begin = floor_us;
	end = req->has_end ? req->end_us : util_now_us();
	if (!req->has_end && s->be.settled != NULL) {
		int64_t settled;

		if (s->be.settled(s->be.ctx, col->name, &settled, err, sizeof(err)) != 0)
			return reply_status(conn, MHD_HTTP_OK, req->version, req->message_id,
			    TAXII_ST_FAILURE, NULL, 0, err[0] ? err : "reading the feed failed");
		if (settled < end)
			end = settled;
	}
	/* A client continuing from our last end label may be ahead of a clock that moved
	 * back: an empty window, not an error, unless it set both ends itself. */
	if (begin >= end && !req->has_end)
		end = begin;
	else if (begin >= end)
		return reply_status(conn, MHD_HTTP_OK, req->version, req->message_id,
		    TAXII_ST_BAD_MESSAGE, NULL, 0,
		    "Inclusive_End_Timestamp must be later than Exclusive_Begin_Timestamp");
	if (s->be.count(s->be.ctx, col->name, begin, end, &total, err, sizeof(err)) != 0)
		return reply_status(conn, MHD_HTTP_OK, req->version, req->message_id,
		    TAXII_ST_FAILURE, NULL, 0, err[0] ? err : "count failed");

	memset(&m, 0, sizeof(m));
	taxii_msg_id_new(id);
	m.version = req->version;
	m.type = TAXII_MSG_POLL_RESP;
	m.message_id = id;
	m.in_response_to = req->message_id;
	m.collection = col->name;
	m.subscription_id = floor_us >= 0 ? req->subscription_id : NULL;
	m.has_begin = begin >= 0;
	m.begin_us = begin;
	m.has_end = 1;
	m.end_us = end;

	if (req->version == TAXII_V10) {
		/* 1.0 has no parts: deliver one part and narrow Inclusive_End to its last
		 * label, so the client continues from there. */
		if (total > s->part_size) {
			int64_t last = INT64_MIN;

			if (s->be.poll(s->be.ctx, col->name, begin, end, s->part_size - 1, 1,
				on_label, &last, err, sizeof(err)) != 0 || last == INT64_MIN)
				return reply_status(conn, MHD_HTTP_OK, req->version,
				    req->message_id, TAXII_ST_FAILURE, NULL, 0,
				    err[0] ? err : "poll failed");
			end = last;
			m.end_us = last;
		}
		return send_part(s, conn, &m, begin, end, 0, s->part_size);
	}
	m.has_record_count = 1;
	m.record_count = total;
	if (rtype == TAXII_RESP_COUNT_ONLY)
		return reply_msg(conn, &m);
	if (total > s->part_size) {
		memset(&r, 0, sizeof(r));
		taxii_msg_id_new(r.id);
		snprintf(r.collection, sizeof(r.collection), "%s", col->name);
		r.ver = req->version;
		r.begin_us = begin;
		r.end_us = end;
		r.total = total;
		r.parts = (total + s->part_size - 1) / s->part_size;
		r.expires_us = util_now_us() + (int64_t)s->result_ttl_s * 1000000;
		result_add(s, &r);
		m.more = 1;
		m.result_id = r.id;
		m.result_part = 1;
		/* Where part 2 begins is known before part 1 is sent (see part_end_label). */
		if (col->type == TAXII_COLL_DATA_FEED) {
			int64_t last;

			if (part_end_label(s, col->name, begin, end, 0, &last, err,
			    sizeof(err)) != 0)
				return reply_status(conn, MHD_HTTP_OK, req->version,
				    req->message_id, TAXII_ST_FAILURE, NULL, 0,
				    err[0] ? err : "poll failed");
			result_advance(s, r.id, 1, last);
		}
	}
	return send_part(s, conn, &m, begin, end, 0, s->part_size);
}

static enum MHD_Result
do_fulfillment(struct taxii_server *s, struct MHD_Connection *conn,
    const struct taxii_msg *req, const char *user)
{
	char id[TAXII_ID_MAX], num[24];
	struct taxii_detail d;
	struct taxii_msg m;
	struct result r;
	uint64_t part = req->result_part ? req->result_part : 1;

	if (result_get(s, req->result_id, &r) != 0 || strcmp(r.collection, req->collection) != 0) {
		d.name = TAXII_SD_ITEM;
		d.value = req->result_id;
		return reply_status(conn, MHD_HTTP_OK, req->version, req->message_id,
		    TAXII_ST_NOT_FOUND, &d, 1, "no such result, or it expired");
	}
	if (!allowed(s, user, r.collection))
		return reply_denied(conn, req);
	if (part > r.parts) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)r.parts);
		d.name = TAXII_SD_MAX_PART_NUMBER;
		d.value = num;
		return reply_status(conn, MHD_HTTP_OK, req->version, req->message_id,
		    TAXII_ST_INVALID_RESPONSE_PART, &d, 1, NULL);
	}
	memset(&m, 0, sizeof(m));
	taxii_msg_id_new(id);
	m.version = req->version;
	m.type = TAXII_MSG_POLL_RESP;
	m.message_id = id;
	m.in_response_to = req->message_id;
	m.collection = find_collection(r.collection)->name;
	m.has_begin = r.begin_us >= 0;
	m.begin_us = r.begin_us;
	m.has_end = 1;
	m.end_us = r.end_us;
	m.has_record_count = 1;
	m.record_count = r.total;
	m.more = part < r.parts;
	m.result_id = req->result_id;
	m.result_part = part;
	{
		const struct coll_def *col = find_collection(r.collection);
		/* A data feed's parts in order begin where the last ended (known before it was
		 * sent); a data set's records share one label, and go by offset. */
		int in_order = col->type == TAXII_COLL_DATA_FEED && part == r.next_part &&
		    part > 1;
		int64_t after = in_order ? r.next_begin_us : r.begin_us, last;
		size_t offset = in_order ? 0 : (size_t)(part - 1) * s->part_size;
		char err[256] = "";

		if (m.more && col->type == TAXII_COLL_DATA_FEED) {
			if (part_end_label(s, r.collection, after, r.end_us, offset, &last, err,
			    sizeof(err)) != 0)
				return reply_status(conn, MHD_HTTP_OK, req->version,
				    req->message_id, TAXII_ST_FAILURE, NULL, 0,
				    err[0] ? err : "poll failed");
			result_advance(s, r.id, part, last);
		}
		return send_part(s, conn, &m, after, r.end_us, offset, s->part_size);
	}
}

/* ---------------------------------------------------------------------------------------
 * Subscription management
 */

static int
sub_owned_by(const struct taxii_sub *sub, const char *user)
{
	return strcmp(sub->owner, user != NULL ? user : "") == 0;
}

/*
 * The subscription req->subscription_id names, when it exists, belongs to req's collection
 * and to `user`. Returns 0 with *out filled; -1 otherwise (err set only when the backend
 * failed, so "" means not found). Someone else's subscription is reported as absent.
 */
static int
sub_lookup(struct taxii_server *s, const struct taxii_msg *req, const char *user,
    struct taxii_sub *out, char *err, size_t errlen)
{
	const struct coll_def *col = find_collection(req->collection);
	int rc;

	err[0] = '\0';
	if (col == NULL || req->subscription_id == NULL || !subs_offered(s, col, req->version) ||
	    strlen(req->subscription_id) >= TAXII_SUB_ID_MAX)
		return -1;
	rc = s->be.subs.get(s->be.ctx, req->subscription_id, out, err, errlen);
	if (rc < 0 && err[0] == '\0')
		util_seterr(err, errlen, "cannot read the subscription");
	if (rc != 0)
		return -1;
	if (strcmp(out->collection, col->name) != 0 || !sub_owned_by(out, user))
		return -1;
	return 0;
}

/* The response's view of one subscription; `push` and `binding` are its storage. */
static void
sub_record(const struct taxii_sub *sub, const struct taxii_contact *pollc,
    struct taxii_contact *push, const char **binding, struct taxii_subscription *r)
{
	memset(r, 0, sizeof(*r));
	r->id = sub->id;
	r->status = sub->status;
	r->has_params = 1;
	r->response_type = sub->response_type;
	r->content_bindings.v = served_bindings;
	r->content_bindings.n = 1;
	if (sub->has_push) {
		*binding = sub->push_binding;
		push->protocol = sub->push_protocol;
		push->address = sub->push_address;
		push->message_bindings.v = binding;
		push->message_bindings.n = 1;
		r->push = push;
	}
	r->poll_instances = pollc;
	r->n_poll_instances = 1;
}

static enum MHD_Result
reply_subs(struct taxii_server *s, struct MHD_Connection *conn, const struct taxii_msg *req,
    const struct taxii_sub *subs, size_t n)
{
	struct taxii_subscription *recs = NULL;
	struct taxii_contact *push = NULL, pollc;
	const char **bindings = NULL;
	char poll_addr[400], id[TAXII_ID_MAX];
	struct taxii_msg m;
	enum MHD_Result ret;

	if (n > 0) {
		recs = calloc(n, sizeof(*recs));
		push = calloc(n, sizeof(*push));
		bindings = calloc(n, sizeof(*bindings));
		if (recs == NULL || push == NULL || bindings == NULL) {
			ret = reply_status(conn, MHD_HTTP_OK, req->version, req->message_id,
			    TAXII_ST_FAILURE, NULL, 0, "out of memory");
			goto out;
		}
	}
	contact(s, "/taxii/poll", poll_addr, sizeof(poll_addr), &pollc);
	for (size_t i = 0; i < n; i++)
		sub_record(&subs[i], &pollc, &push[i], &bindings[i], &recs[i]);
	memset(&m, 0, sizeof(m));
	taxii_msg_id_new(id);
	m.version = req->version;
	m.type = TAXII_MSG_SUBSCRIPTION_RESP;
	m.message_id = id;
	m.in_response_to = req->message_id;
	m.collection = find_collection(req->collection)->name;
	m.subscriptions = recs;
	m.n_subscriptions = n;
	ret = reply_msg(conn, &m);
out:
	free(recs);
	free(push);
	free(bindings);
	return ret;
}

/* Push_Parameters this server can honour: HTTP(S) to an absolute URL, XML binding 1.1 or
 * 1.0 (pushes are then Inbox_Messages of that version). */
static enum MHD_Result
check_push(struct MHD_Connection *conn, const struct taxii_msg *req, int *bad)
{
	static const struct taxii_detail protocols[] = {
		{ TAXII_SD_SUPPORTED_PROTOCOL, TAXII_PROTOCOL_HTTP },
		{ TAXII_SD_SUPPORTED_PROTOCOL, TAXII_PROTOCOL_HTTPS },
	};
	static const struct taxii_detail bindings[] = {
		{ TAXII_SD_SUPPORTED_BINDING, TAXII_MSG_BINDING_11 },
		{ TAXII_SD_SUPPORTED_BINDING, TAXII_MSG_BINDING_10 },
	};
	const struct taxii_contact *p = req->push;
	int https;

	*bad = 1;
	https = strcmp(p->protocol, TAXII_PROTOCOL_HTTPS) == 0;
	if (!https && strcmp(p->protocol, TAXII_PROTOCOL_HTTP) != 0)
		return reply_status(conn, MHD_HTTP_OK, req->version, req->message_id,
		    TAXII_ST_UNSUPPORTED_PROTOCOL, protocols, 2, "push protocol not supported");
	if (strcmp(p->message_bindings.v[0], TAXII_MSG_BINDING_11) != 0 &&
	    strcmp(p->message_bindings.v[0], TAXII_MSG_BINDING_10) != 0)
		return reply_status(conn, MHD_HTTP_OK, req->version, req->message_id,
		    TAXII_ST_UNSUPPORTED_MESSAGE, bindings, 2, "push message binding not supported");
	if (strncmp(p->address, https ? "https://" : "http://", https ? 8 : 7) != 0 ||
	    strlen(p->address) >= TAXII_SUB_ADDR_MAX ||
	    strlen(p->address) != strcspn(p->address, " \t\r\n"))
		return reply_status(conn, MHD_HTTP_OK, req->version, req->message_id,
		    TAXII_ST_BAD_MESSAGE, NULL, 0,
		    "Push_Parameters: Address must be an absolute URL of the push protocol's scheme");
	*bad = 0;
	return MHD_YES;
}

static int
new_sub_id(char *out, size_t len)
{
	unsigned char rnd[16];
	char hex[2 * sizeof(rnd) + 1];

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -1;
	util_hex(rnd, sizeof(rnd), hex);
	snprintf(out, len, "urn:c2watch:subscription:%s", hex);
	return 0;
}

struct live_count {
	const char *user;
	size_t n;
};

static int
count_live(void *arg, const struct taxii_sub *sub)
{
	struct live_count *lc = arg;

	if (sub->status != TAXII_SUBST_UNSUBSCRIBED && sub_owned_by(sub, lc->user))
		lc->n++;
	return 0;
}

static enum MHD_Result
do_subscribe(struct taxii_server *s, struct MHD_Connection *conn, const struct taxii_msg *req,
    const char *user, const struct coll_def *col)
{
	struct taxii_detail d;
	struct taxii_sub sub;
	char err[256] = "";
	struct live_count live = { user, 0 };
	int bad;

	/* 1.0 carries the wanted content bindings in Push_Parameters. */
	if ((req->has_poll_params || req->version == TAXII_V10) &&
	    !binding_acceptable(&req->content_bindings)) {
		d.name = TAXII_SD_SUPPORTED_CONTENT;
		d.value = TAXII_CB_STIX_12;
		return reply_status(conn, MHD_HTTP_OK, req->version, req->message_id,
		    TAXII_ST_UNSUPPORTED_CONTENT, &d, 1, NULL);
	}
	if (req->push != NULL) {
		enum MHD_Result r = check_push(conn, req, &bad);
		char why[320];

		if (bad)
			return r;
		/* The pusher checks each address again as it connects (names change). */
		if (!s->allow_private_push &&
		    taxii_push_allowed(req->push->address, s->resolve, s->resolve_arg, why,
			sizeof(why)) != 0) {
			char text[400];

			snprintf(text, sizeof(text), "push address refused: %s (this server pushes "
			    "to public addresses only)", why);
			return reply_status(conn, MHD_HTTP_OK, req->version, req->message_id,
			    TAXII_ST_DENIED, NULL, 0, text);
		}
	}
	if (user != NULL && strlen(user) >= TAXII_SUB_OWNER_MAX)
		return reply_status(conn, MHD_HTTP_OK, req->version, req->message_id,
		    TAXII_ST_BAD_MESSAGE, NULL, 0, "user name too long to own a subscription");
	if (s->be.subs.list(s->be.ctx, col->name, count_live, &live, err, sizeof(err)) != 0)
		return reply_status(conn, MHD_HTTP_OK, req->version, req->message_id,
		    TAXII_ST_FAILURE, NULL, 0, err[0] ? err : "cannot count subscriptions");
	/* Each one costs the pusher work every pass: a client may not pile them up. */
	if (live.n >= MAX_LIVE_SUBS)
		return reply_status(conn, MHD_HTTP_OK, req->version, req->message_id,
		    TAXII_ST_FAILURE, NULL, 0,
		    "too many subscriptions of this user; unsubscribe some first");
	memset(&sub, 0, sizeof(sub));
	if (new_sub_id(sub.id, sizeof(sub.id)) != 0)
		return reply_status(conn, MHD_HTTP_OK, req->version, req->message_id,
		    TAXII_ST_FAILURE, NULL, 0, "no randomness for a subscription id");
	snprintf(sub.collection, sizeof(sub.collection), "%s", col->name);
	snprintf(sub.owner, sizeof(sub.owner), "%s", user != NULL ? user : "");
	sub.status = TAXII_SUBST_ACTIVE;
	sub.response_type = req->has_poll_params ? req->response_type : TAXII_RESP_FULL;
	if (req->push != NULL) {
		sub.has_push = 1;
		snprintf(sub.push_protocol, sizeof(sub.push_protocol), "%s", req->push->protocol);
		snprintf(sub.push_address, sizeof(sub.push_address), "%s", req->push->address);
		snprintf(sub.push_binding, sizeof(sub.push_binding), "%s",
		    req->push->message_bindings.v[0]);
	}
	sub.created_us = sub.delivered_us = util_now_us();
	if (s->be.subs.add(s->be.ctx, &sub, err, sizeof(err)) != 0)
		return reply_status(conn, MHD_HTTP_OK, req->version, req->message_id,
		    TAXII_ST_FAILURE, NULL, 0, err[0] ? err : "cannot keep the subscription");
	return reply_subs(s, conn, req, &sub, 1);
}

struct sub_list {
	const char *user;
	struct taxii_sub *v;
	size_t n, cap;
	int oom;
};

static int
on_sub(void *arg, const struct taxii_sub *sub)
{
	struct sub_list *l = arg;

	if (!sub_owned_by(sub, l->user))
		return 0;
	if (l->n == MAX_STATUS_SUBS)
		return 1;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		struct taxii_sub *v = realloc(l->v, cap * sizeof(*v));

		if (v == NULL) {
			l->oom = 1;
			return 1;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *sub;
	return 0;
}

static enum MHD_Result
do_sub_status_all(struct taxii_server *s, struct MHD_Connection *conn,
    const struct taxii_msg *req, const char *user, const struct coll_def *col)
{
	struct sub_list l = { user, NULL, 0, 0, 0 };
	char err[256] = "";
	enum MHD_Result ret;

	if (s->be.subs.list(s->be.ctx, col->name, on_sub, &l, err, sizeof(err)) != 0 || l.oom)
		ret = reply_status(conn, MHD_HTTP_OK, req->version, req->message_id,
		    TAXII_ST_FAILURE, NULL, 0, err[0] ? err : "cannot list subscriptions");
	else
		ret = reply_subs(s, conn, req, l.v, l.n);
	free(l.v);
	return ret;
}

static enum MHD_Result
do_subscription(struct taxii_server *s, struct MHD_Connection *conn,
    const struct taxii_msg *req, const char *user)
{
	const struct coll_def *col = find_collection(req->collection);
	enum taxii_sub_status to;
	struct taxii_detail d;
	struct taxii_sub sub;
	char err[256] = "";

	d.name = TAXII_SD_ITEM;
	if (col == NULL) {
		d.value = req->collection;
		return reply_status(conn, MHD_HTTP_OK, req->version, req->message_id,
		    TAXII_ST_NOT_FOUND, &d, 1, "no such collection");
	}
	if (!allowed(s, user, col->name))
		return reply_denied(conn, req);
	if (!subs_offered(s, col, req->version)) {
		d.value = col->name;
		return reply_status(conn, MHD_HTTP_OK, req->version, req->message_id,
		    TAXII_ST_NOT_FOUND, &d, 1, "this collection offers no subscriptions");
	}
	if (req->action == TAXII_SUB_SUBSCRIBE)
		return do_subscribe(s, conn, req, user, col);
	if (req->action == TAXII_SUB_STATUS && req->subscription_id == NULL)
		return do_sub_status_all(s, conn, req, user, col);
	if (req->subscription_id == NULL)
		return reply_status(conn, MHD_HTTP_OK, req->version, req->message_id,
		    TAXII_ST_BAD_MESSAGE, NULL, 0, "this action needs a Subscription_ID");
	d.value = req->subscription_id;
	if (sub_lookup(s, req, user, &sub, err, sizeof(err)) != 0)
		return reply_status(conn, MHD_HTTP_OK, req->version, req->message_id,
		    err[0] ? TAXII_ST_FAILURE : TAXII_ST_NOT_FOUND, &d, 1,
		    err[0] ? err : "no such subscription");
	switch (req->action) {
	case TAXII_SUB_PAUSE:
		to = TAXII_SUBST_PAUSED;
		break;
	case TAXII_SUB_RESUME:
		to = TAXII_SUBST_ACTIVE;
		break;
	case TAXII_SUB_UNSUBSCRIBE:
		to = TAXII_SUBST_UNSUBSCRIBED;
		break;
	default:
		return reply_subs(s, conn, req, &sub, 1);
	}
	/* Unsubscribing is final: an ended subscription cannot be paused or resumed. */
	if (sub.status == TAXII_SUBST_UNSUBSCRIBED && to != TAXII_SUBST_UNSUBSCRIBED)
		return reply_status(conn, MHD_HTTP_OK, req->version, req->message_id,
		    TAXII_ST_NOT_FOUND, &d, 1, "the subscription was ended");
	if (sub.status != to) {
		int rc = s->be.subs.set_status(s->be.ctx, sub.id, to, &sub, err, sizeof(err));

		if (rc != 0)
			return reply_status(conn, MHD_HTTP_OK, req->version, req->message_id,
			    rc > 0 ? TAXII_ST_NOT_FOUND : TAXII_ST_FAILURE, &d, 1,
			    err[0] ? err : "no such subscription");
	}
	return reply_subs(s, conn, req, &sub, 1);
}

/* ---------------------------------------------------------------------------------------
 * Inbox
 */

static int
inbox_binding_ok(const char *b)
{
	for (size_t i = 0; i < sizeof(inbox_bindings) / sizeof(inbox_bindings[0]); i++)
		if (strcmp(b, inbox_bindings[i]) == 0)
			return 1;
	return 0;
}

static enum MHD_Result
do_inbox(struct taxii_server *s, struct MHD_Connection *conn, const struct taxii_msg *req,
    const char *user)
{
	const char *name = req->collection ? req->collection : "observations";
	const struct coll_def *col = find_collection(name);
	struct taxii_detail d[N_COLLECTIONS + 2];
	char err[256] = "";

	if (col == NULL || !col->inbox) {
		size_t nd = 0;

		for (size_t i = 0; i < N_COLLECTIONS; i++) {
			if (!collections[i].inbox)
				continue;
			d[nd].name = TAXII_SD_ACCEPTABLE_DESTINATION;
			d[nd++].value = collections[i].name;
		}
		return reply_status(conn, MHD_HTTP_OK, req->version, req->message_id,
		    TAXII_ST_DESTINATION_COLLECTION_ERROR, d, nd,
		    col == NULL ? "no such destination collection" :
		    "this collection takes no Inbox content");
	}
	if (!allowed(s, user, col->name))
		return reply_denied(conn, req);
	for (size_t i = 0; i < req->n_blocks; i++) {
		if (!inbox_binding_ok(req->blocks[i].binding) || !req->blocks[i].is_xml) {
			d[0].name = TAXII_SD_SUPPORTED_CONTENT;
			d[0].value = inbox_bindings[0];
			d[1].name = TAXII_SD_SUPPORTED_CONTENT;
			d[1].value = inbox_bindings[1];
			return reply_status(conn, MHD_HTTP_OK, req->version, req->message_id,
			    TAXII_ST_UNSUPPORTED_CONTENT, d, 2,
			    "content blocks must be STIX XML; nothing was stored");
		}
	}
	if (req->n_blocks > 0 &&
	    s->be.inbox(s->be.ctx, col->name, req->blocks, req->n_blocks, err, sizeof(err)) != 0)
		return reply_status(conn, MHD_HTTP_OK, req->version, req->message_id,
		    TAXII_ST_FAILURE, NULL, 0, err[0] ? err : "nothing was stored");
	return reply_status(conn, MHD_HTTP_OK, req->version, req->message_id, TAXII_ST_SUCCESS,
	    NULL, 0, NULL);
}

/* ---------------------------------------------------------------------------------------
 * Request handling
 */

static enum endpoint
endpoint_of(const char *url)
{
	static const struct {
		const char *path;
		enum endpoint ep;
	} map[] = {
		{ "/taxii/discovery", EP_DISCOVERY }, { "/taxii/collections", EP_COLLECTIONS },
		{ "/taxii/poll", EP_POLL }, { "/taxii/inbox", EP_INBOX },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		size_t n = strlen(map[i].path);

		if (strncmp(url, map[i].path, n) == 0 && (url[n] == '\0' ||
		    (url[n] == '/' && url[n + 1] == '\0')))
			return map[i].ep;
	}
	return EP_NONE;
}

static int
xml_content_type(const char *ct)
{
	size_t n;

	if (ct == NULL)
		return 0;
	n = strcspn(ct, "; \t");
	return (n == 15 && strncasecmp(ct, "application/xml", n) == 0) ||
	    (n == 8 && strncasecmp(ct, "text/xml", n) == 0);
}

/* The source key of an address: IPv4 (plain or mapped) as ::ffff:a.b.c.d, IPv6 as its
 * /64, which is what one host or one customer line usually has. */
static void
source_key(const struct sockaddr *sa, unsigned char key[16])
{
	memset(key, 0, 16);
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const unsigned char *a =
		    ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
		static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

		if (memcmp(a, mapped, 12) == 0)
			memcpy(key, a, 16);
		else
			memcpy(key, a, 8);
	}
}

static void
conn_source_key(struct MHD_Connection *conn, unsigned char key[16])
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	source_key(ci != NULL ? ci->client_addr : NULL, key);
}

static void
key_text(const unsigned char key[16], char *out, size_t len)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (memcmp(key, mapped, 12) == 0) {
		inet_ntop(AF_INET, key + 12, out, (socklen_t)len);
	} else {
		inet_ntop(AF_INET6, key, out, (socklen_t)len);
		if (strlen(out) + 4 < len)
			strcat(out, "/64");
	}
}

static void
server_log(struct taxii_server *s, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	if (s->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->log(s->log_arg, msg);
}

/* ---------------------------------------------------------------------------------------
 * Failed logins, per source. Called with s->clock held.
 */
static struct throttle *
thr_find(struct taxii_server *s, const unsigned char key[16], int add, int64_t now)
{
	uint32_t h = 2166136261u;
	struct throttle *oldest = NULL;

	for (int i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	for (unsigned k = 0; k < THR_PROBE; k++) {
		struct throttle *t = &s->thr[(h + k) % THR_SLOTS];

		if (t->used && memcmp(t->key, key, 16) == 0) {
			if (now - t->last_us > THR_FORGET_US)
				t->failures = 0;
			return t;
		}
		if (oldest == NULL || !t->used || (oldest->used && t->last_us < oldest->last_us))
			oldest = t;
	}
	if (!add)
		return NULL;
	/* A full neighbourhood forgets its oldest source: an attacker cycling through many
	 * addresses costs us memory no more than THR_SLOTS entries. */
	memset(oldest, 0, sizeof(*oldest));
	oldest->used = 1;
	memcpy(oldest->key, key, 16);
	oldest->last_us = now;
	return oldest;
}

/* Seconds (rounded up) before `key` may try to log in again; 0: now. */
static unsigned
thr_wait(struct taxii_server *s, const unsigned char key[16])
{
	int64_t now = util_mono_us();
	struct throttle *t;
	unsigned w = 0;

	pthread_mutex_lock(&s->clock);
	t = thr_find(s, key, 0, now);
	if (t != NULL && t->until_us > now)
		w = (unsigned)((t->until_us - now + 999999) / 1000000);
	pthread_mutex_unlock(&s->clock);
	return w;
}

static void
thr_result(struct taxii_server *s, const unsigned char key[16], int good, const char *user)
{
	int64_t now = util_mono_us(), wait = 0;
	struct throttle *t;
	unsigned n = 0;
	char who[INET6_ADDRSTRLEN + 4];

	pthread_mutex_lock(&s->clock);
	t = thr_find(s, key, !good, now);
	if (t != NULL && good) {
		t->used = 0;
	} else if (t != NULL) {
		n = ++t->failures;
		t->last_us = now;
		if (n >= THR_FREE_FAILURES) {
			unsigned sh = n - THR_FREE_FAILURES;

			wait = sh > 20 ? THR_MAX_WAIT_US : INT64_C(1000000) << sh;
			if (wait > THR_MAX_WAIT_US)
				wait = THR_MAX_WAIT_US;
			t->until_us = now + wait;
		}
	}
	pthread_mutex_unlock(&s->clock);
	if (wait > 0) {
		key_text(key, who, sizeof(who));
		server_log(s, "auth: %u failed logins from %s (last as \"%.64s\"): its logins "
		    "are refused for %lld s", n, who, user ? user : "", (long long)(wait / 1000000));
	}
}

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decodes standard base64 (padding optional) into out; returns its length or -1. */
static long
b64_decode(const char *in, unsigned char *out, size_t max)
{
	size_t n = 0;
	unsigned acc = 0;
	int bits = 0;

	for (; *in != '\0' && *in != '='; in++) {
		int v = b64_value((unsigned char)*in);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == max)
				return -1;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	while (*in == '=')
		in++;
	return *in == '\0' ? (long)n : -1;
}

/*
 * The Basic credentials of a request, read here rather than by libmicrohttpd so that
 * what follows a NUL is seen: a user or password holding any control byte is refused,
 * never cut short. Returns 0 with user and pass set, 1 when there are none, -1 when
 * they are malformed.
 */
static int
basic_credentials(struct MHD_Connection *conn, char user[AUTH_USER_MAX],
    char pass[AUTH_PASS_MAX])
{
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	unsigned char raw[AUTH_USER_MAX + AUTH_PASS_MAX];
	const unsigned char *colon;
	long n;
	size_t ul, pl;

	user[0] = pass[0] = '\0';
	if (h == NULL)
		return 1;
	if (strncasecmp(h, "Basic ", 6) != 0)
		return 1;
	h += 6;
	while (*h == ' ')
		h++;
	if ((n = b64_decode(h, raw, sizeof(raw))) < 0)
		return -1;
	colon = memchr(raw, ':', (size_t)n);
	if (colon == NULL)
		return -1;
	ul = (size_t)(colon - raw);
	pl = (size_t)n - ul - 1;
	if (ul == 0 || ul >= AUTH_USER_MAX || pl >= AUTH_PASS_MAX)
		return -1;
	for (long i = 0; i < n; i++)
		if (raw[i] < 0x20 || raw[i] == 0x7f) {
			explicit_bzero(raw, sizeof(raw));
			return -1;
		}
	memcpy(user, raw, ul);
	user[ul] = '\0';
	memcpy(pass, colon + 1, pl);
	pass[pl] = '\0';
	explicit_bzero(raw, sizeof(raw));
	return 0;
}

enum auth_result { AUTH_OK = 0, AUTH_BAD, AUTH_BUSY, AUTH_THROTTLED };

/*
 * HTTP Basic credentials checked by the auth hook, after the source's throttle. Without
 * a hook, AUTH_OK and user "". *wait_s is set for AUTH_THROTTLED.
 */
static enum auth_result
authenticate(struct taxii_server *s, struct MHD_Connection *conn, char user[AUTH_USER_MAX],
    unsigned *wait_s)
{
	char pass[AUTH_PASS_MAX];
	unsigned char key[16];
	enum auth_result ar = AUTH_BAD;
	int rc;

	user[0] = '\0';
	*wait_s = 0;
	if (s->auth.check == NULL)
		return AUTH_OK;
	conn_source_key(conn, key);
	/* A throttled source costs nothing: no credentials decoded, no hash computed. */
	if ((*wait_s = thr_wait(s, key)) > 0)
		return AUTH_THROTTLED;
	rc = basic_credentials(conn, user, pass);
	if (rc == 1)
		return AUTH_BAD; /* no credentials: asked for, not a failed attempt */
	if (rc == 0) {
		rc = s->auth.check(s->auth.ctx, user, pass);
		ar = rc == 0 ? AUTH_OK : rc == -2 ? AUTH_BUSY : AUTH_BAD;
	}
	explicit_bzero(pass, sizeof(pass));
	if (ar != AUTH_BUSY)
		thr_result(s, key, ar == AUTH_OK, user);
	if (ar != AUTH_OK)
		user[0] = '\0';
	return ar;
}

/* Whether the request carried credentials (a refusal then means they were wrong). */
static int
auth_header(struct MHD_Connection *conn)
{
	return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization") != NULL;
}

static enum MHD_Result
reply_unauthorized(struct MHD_Connection *conn, enum taxii_version ver, const char *text)
{
	struct MHD_Response *resp;
	struct util_buf b;
	enum MHD_Result rc;

	util_buf_init(&b, 0);
	if (taxii_status_write(ver, NULL, TAXII_ST_UNAUTHORIZED, NULL, 0, text, &b, NULL) != 0) {
		util_buf_fini(&b);
		return MHD_NO;
	}
	resp = MHD_create_response_from_buffer(b.len, b.data, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		util_buf_fini(&b);
		return MHD_NO;
	}
	if (MHD_add_response_header(resp, "Content-Type", TAXII_HTTP_CONTENT_TYPE) != MHD_YES ||
	    MHD_add_response_header(resp, "X-TAXII-Content-Type",
		taxii_http_content_type(ver)) != MHD_YES ||
	    MHD_add_response_header(resp, "X-TAXII-Protocol",
		taxii_http_protocol(is_tls(conn))) != MHD_YES ||
	    MHD_add_response_header(resp, "X-TAXII-Services", taxii_http_services(ver)) !=
		MHD_YES) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	rc = MHD_queue_basic_auth_fail_response(conn, "c2watch", resp);
	MHD_destroy_response(resp);
	if (rc == MHD_YES) {
		note_auth(auth_header(conn) ? TAXII_AUTH_INVALID : TAXII_AUTH_MISSING);
		note_answer(MHD_HTTP_UNAUTHORIZED, TAXII_ST_UNAUTHORIZED);
	}
	return rc;
}

/* Serves one complete request of an authenticated `user` (NULL without authentication). */
static enum MHD_Result
serve(struct taxii_server *s, struct MHD_Connection *conn, const char *url, struct req *r,
    const char *user, enum taxii_version hv)
{
	const char *xct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    "X-TAXII-Content-Type");
	const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
	const char *xacc = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-TAXII-Accept");
	enum taxii_version ver = hv == TAXII_VANY ? TAXII_V11 : hv, rv;
	enum endpoint ep = endpoint_of(url);
	struct taxii_msg *m = NULL;
	struct taxii_err err;
	struct taxii_detail d[2];
	enum MHD_Result ret;
	int rc;

	if (ep == EP_NONE) {
		d[0].name = TAXII_SD_ITEM;
		d[0].value = url;
		return reply_status(conn, MHD_HTTP_NOT_FOUND, ver, NULL, TAXII_ST_NOT_FOUND, d, 1,
		    "no TAXII service at this address");
	}
	if (xct != NULL && hv == TAXII_VANY) {
		d[0].name = d[1].name = TAXII_SD_SUPPORTED_BINDING;
		d[0].value = TAXII_MSG_BINDING_11;
		d[1].value = TAXII_MSG_BINDING_10;
		return reply_status(conn, MHD_HTTP_OK, ver, NULL, TAXII_ST_UNSUPPORTED_MESSAGE, d, 2,
		    "unsupported X-TAXII-Content-Type");
	}
	if (!xml_content_type(ct))
		return reply_status(conn, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, ver, NULL,
		    TAXII_ST_BAD_MESSAGE, NULL, 0, "Content-Type must be application/xml");
	rc = taxii_msg_parse(r->body.data ? r->body.data : "", r->body.len, hv, &m, &err);
	if (rc != 0) {
		char text[320];

		snprintf(text, sizeof(text), "%s: %s", taxii_strerror(rc), err.msg);
		return reply_status(conn, MHD_HTTP_OK, ver, NULL,
		    rc == TAXII_EUNSUPPORTED ? TAXII_ST_UNSUPPORTED_MESSAGE :
		    rc == TAXII_ENOMEM ? TAXII_ST_FAILURE : TAXII_ST_BAD_MESSAGE,
		    NULL, 0, text);
	}
	/* The body is parsed: no need to hold it while the response is built. */
	util_buf_fini(&r->body);
	/* Answer in the binding the client accepts; handlers build in m->version. A 1.0
	 * answer needs a numeric in_response_to, so a 1.1 id keeps the 1.1 answer. */
	rv = taxii_http_accept(xacc, m->version);
	if (rv == TAXII_V10 && strspn(m->message_id, "0123456789") == strlen(m->message_id))
		m->version = TAXII_V10;
	else if (rv == TAXII_V11)
		m->version = TAXII_V11;
	switch (ep * 100 + m->type) {
	case EP_DISCOVERY * 100 + TAXII_MSG_DISCOVERY_REQ:
		ret = do_discovery(s, conn, m);
		break;
	case EP_COLLECTIONS * 100 + TAXII_MSG_COLLECTION_INFO_REQ:
		ret = do_collections(s, conn, m, user);
		break;
	case EP_COLLECTIONS * 100 + TAXII_MSG_SUBSCRIPTION_REQ:
		ret = do_subscription(s, conn, m, user);
		break;
	case EP_POLL * 100 + TAXII_MSG_POLL_REQ:
		ret = do_poll(s, conn, m, user);
		break;
	case EP_POLL * 100 + TAXII_MSG_POLL_FULFILLMENT:
		ret = m->version == TAXII_V11 ? do_fulfillment(s, conn, m, user) :
		    reply_status(conn, MHD_HTTP_OK, m->version, m->message_id,
			TAXII_ST_UNSUPPORTED_MESSAGE, NULL, 0, "no Poll_Fulfillment in TAXII 1.0");
		break;
	case EP_INBOX * 100 + TAXII_MSG_INBOX:
		ret = do_inbox(s, conn, m, user);
		break;
	default:
		ret = reply_status(conn, MHD_HTTP_OK, m->version, m->message_id,
		    TAXII_ST_UNSUPPORTED_MESSAGE, NULL, 0,
		    "this service does not handle that message type");
	}
	taxii_msg_free(m);
	return ret;
}

static enum MHD_Result
handle(struct taxii_server *s, struct MHD_Connection *conn, const char *url, struct req *r)
{
	const char *xct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    "X-TAXII-Content-Type");
	const char *xsvc = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-TAXII-Services");
	enum taxii_version hv = taxii_http_version(xct, xsvc);
	enum taxii_version av = hv == TAXII_V10 ? TAXII_V10 : TAXII_V11;
	char user[AUTH_USER_MAX];
	unsigned wait_s;

	switch (authenticate(s, conn, user, &wait_s)) {
	case AUTH_OK:
		break;
	case AUTH_THROTTLED:
		return reply_retry(conn, MHD_HTTP_TOO_MANY_REQUESTS, av, wait_s, 0,
		    "too many failed logins from this address: retry later");
	case AUTH_BUSY:
		return reply_retry(conn, MHD_HTTP_SERVICE_UNAVAILABLE, av, 1, 0,
		    "too many logins being checked at once: retry");
	case AUTH_BAD:
	default:
		return reply_unauthorized(conn, av, "authentication required");
	}
	return serve(s, conn, url, r, s->auth.check ? user : NULL, hv);
}

/* ---------------------------------------------------------------------------------------
 * Pages (GET and HEAD outside /taxii/)
 */

const char *
taxii_http_arg(const struct taxii_http_req *req, const char *name)
{
	return MHD_lookup_connection_value((struct MHD_Connection *)req->conn,
	    MHD_GET_ARGUMENT_KIND, name);
}

const char *
taxii_http_header(const struct taxii_http_req *req, const char *name)
{
	return MHD_lookup_connection_value((struct MHD_Connection *)req->conn, MHD_HEADER_KIND,
	    name);
}

int
taxii_http_add_header(struct taxii_http_resp *resp, const char *name, const char *value)
{
	size_t i = resp->n_headers;

	if (i >= TAXII_HTTP_MAX_HEADERS || strlen(name) >= sizeof(resp->header_name[0]) ||
	    strlen(value) >= sizeof(resp->header_value[0]))
		return -1;
	memcpy(resp->header_name[i], name, strlen(name) + 1);
	memcpy(resp->header_value[i], value, strlen(value) + 1);
	resp->n_headers++;
	return 0;
}

/* A plain-text answer, for refusals of pages (a browser shows text, not a TAXII XML). */
static enum MHD_Result
page_text(struct MHD_Connection *conn, unsigned status, const char *text, int auth_fail)
{
	struct MHD_Response *resp;
	enum MHD_Result rc;

	resp = MHD_create_response_from_buffer(strlen(text), (void *)text,
	    MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	if (MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8") !=
		MHD_YES ||
	    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff") != MHD_YES) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	rc = auth_fail ? MHD_queue_basic_auth_fail_response(conn, "c2watch", resp) :
	    MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	if (rc == MHD_YES) {
		if (auth_fail)
			note_auth(auth_header(conn) ? TAXII_AUTH_INVALID : TAXII_AUTH_MISSING);
		note_answer(status, -1);
	}
	return rc;
}

static enum MHD_Result
handle_page(struct taxii_server *s, struct MHD_Connection *conn, const char *url)
{
	struct taxii_http_req req = {.path = url, .conn = conn};
	struct taxii_http_resp *out = NULL;
	struct MHD_Response *resp = NULL;
	struct util_buf body;
	char user[AUTH_USER_MAX], err[512] = "";
	enum MHD_Result rc = MHD_NO;
	unsigned wait_s;

	util_buf_init(&body, s->max_body);
	switch (authenticate(s, conn, user, &wait_s)) {
	case AUTH_OK:
		break;
	case AUTH_THROTTLED:
		rc = page_text(conn, MHD_HTTP_TOO_MANY_REQUESTS,
		    "too many failed logins from this address: retry later\n", 0);
		goto out;
	case AUTH_BUSY:
		rc = page_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "too many logins being checked at once: retry\n", 0);
		goto out;
	case AUTH_BAD:
	default:
		rc = page_text(conn, MHD_HTTP_UNAUTHORIZED, "authentication required\n", 1);
		goto out;
	}
	req.user = s->auth.check ? user : NULL;
	if ((out = calloc(1, sizeof(*out))) == NULL)
		goto out;
	out->body = &body;
	if (s->http.get(s->http.ctx, &req, out, err, sizeof(err)) != 0) {
		char text[600];

		snprintf(text, sizeof(text), "%s\n", err[0] ? err : "internal error");
		rc = page_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, text, 0);
		goto out;
	}
	resp = MHD_create_response_from_buffer(body.len, body.data, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		goto out;
	if (MHD_add_response_header(resp, "Content-Type",
		out->content_type[0] ? out->content_type : "text/plain; charset=utf-8") != MHD_YES)
		goto out;
	for (size_t i = 0; i < out->n_headers; i++)
		if (MHD_add_response_header(resp, out->header_name[i], out->header_value[i]) !=
		    MHD_YES)
			goto out;
	rc = MHD_queue_response(conn, out->status ? (unsigned)out->status : MHD_HTTP_OK, resp);
	if (rc == MHD_YES)
		note_answer(out->status ? (unsigned)out->status : MHD_HTTP_OK, -1);
out:
	if (resp != NULL)
		MHD_destroy_response(resp);
	free(out);
	util_buf_fini(&body);
	return rc;
}

/*
 * Whether the connection's client certificate verifies against client_ca (libmicrohttpd
 * gave GnuTLS the CA as its trust list and asked for a certificate, but lets the
 * handshake through without one: the check that decides is this one).
 */
static int
client_cert_ok(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci;
	unsigned status = 0;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci == NULL || ci->tls_session == NULL)
		return 0;
	if (gnutls_certificate_type_get((gnutls_session_t)ci->tls_session) != GNUTLS_CRT_X509)
		return 0;
	if (gnutls_certificate_verify_peers2((gnutls_session_t)ci->tls_session, &status) !=
	    GNUTLS_E_SUCCESS)
		return 0;
	return status == 0;
}

/* The service a request is counted under (struct taxii_request_info). */
static const char *
service_of(const char *url, int page)
{
	static const char *const names[] = {
		[EP_NONE] = "other", [EP_DISCOVERY] = "discovery",
		[EP_COLLECTIONS] = "collections", [EP_POLL] = "poll", [EP_INBOX] = "inbox",
	};

	return page ? "page" : names[endpoint_of(url)];
}

/* Sums the request's header names and values. */
static enum MHD_Result
add_header_len(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	size_t *n = cls;

	(void)kind;
	*n += (key ? strlen(key) : 0) + (value ? strlen(value) : 0) + 4;
	return MHD_YES;
}

/* Whether the connection was let in under the connection caps (see on_connection). */
static int
admitted(struct taxii_server *s, const struct conn *slot)
{
	int yes;

	if (slot == NULL)
		return 0;
	pthread_mutex_lock(&s->clock);
	yes = slot->admitted;
	pthread_mutex_unlock(&s->clock);
	return yes;
}

/* Sets the deadline of a connection's next request (0: none while it is answered). */
static void
set_deadline(struct taxii_server *s, struct conn *slot, int64_t deadline_us)
{
	if (slot == NULL)
		return;
	pthread_mutex_lock(&s->clock);
	slot->deadline_us = deadline_us;
	pthread_mutex_unlock(&s->clock);
}

/* The answer to a request refused before it was served (its body read and dropped). */
static enum MHD_Result
reply_refusal(struct taxii_server *s, struct MHD_Connection *conn, const struct req *r)
{
	char text[160];

	switch (r->refuse) {
	case MHD_HTTP_SERVICE_UNAVAILABLE:
		return reply_retry(conn, MHD_HTTP_SERVICE_UNAVAILABLE, TAXII_V11, 1, 1,
		    "too many connections (from this address, or in all): retry later");
	case MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE:
		snprintf(text, sizeof(text), "request headers over %zu bytes", s->max_headers);
		return reply_status_ex(conn, r->refuse, TAXII_V11, NULL, TAXII_ST_BAD_MESSAGE,
		    NULL, 0, text, &(struct refusal){ 1, 0 });
	default:
		return reply_status(conn, MHD_HTTP_CONTENT_TOO_LARGE, TAXII_V11, NULL,
		    TAXII_ST_BAD_MESSAGE, NULL, 0, "request body over the size cap");
	}
}

static enum MHD_Result
on_request_1(struct taxii_server *s, struct MHD_Connection *conn, const char *url,
    const char *method, const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct req *r = *con_cls;

	if (r == NULL) {
		const union MHD_ConnectionInfo *ci;
		const char *cl, *te;
		size_t hdr = 0;

		if ((r = calloc(1, sizeof(*r))) == NULL)
			return MHD_NO;
		util_buf_init(&r->body, s->max_body);
		r->start_us = util_mono_us();
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		r->slot = ci != NULL ? ci->socket_context : NULL;
		*con_cls = r;
		r->service = service_of(url, 0);
		cur_req = r;
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
		te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Transfer-Encoding");
		MHD_get_connection_values(conn, MHD_HEADER_KIND, add_header_len, &hdr);
		/* Refusals decided on the headers alone. */
		if (!admitted(s, r->slot))
			r->refuse = MHD_HTTP_SERVICE_UNAVAILABLE;
		else if (hdr > s->max_headers)
			r->refuse = MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE;
		if (r->refuse != 0) {
			const char *expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
			    "Expect");

			util_buf_fini(&r->body);
			/* Without a body (or before a "100 Continue") the answer goes now; else
			 * after the body, read and dropped within the request's deadline. */
			if ((te == NULL && (cl == NULL || strtoull(cl, NULL, 10) == 0)) ||
			    (expect != NULL && strcasecmp(expect, "100-continue") == 0))
				return reply_refusal(s, conn, r);
			return MHD_YES;
		}
		if (s->client_ca.len > 0 && !client_cert_ok(conn)) {
			note_auth(TAXII_AUTH_NO_CERT);
			const char *xct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
			    "X-TAXII-Content-Type");
			const char *xsvc = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
			    "X-TAXII-Services");

			return reply_status(conn, MHD_HTTP_FORBIDDEN,
			    taxii_http_version(xct, xsvc), NULL, TAXII_ST_UNAUTHORIZED, NULL, 0,
			    "a client certificate issued by this server's client CA is required");
		}
		if (s->http.get != NULL && strncmp(url, "/taxii/", 7) != 0 &&
		    (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)) {
			r->page = 1;
			r->service = service_of(url, 1);
			return MHD_YES;
		}
		if (strcmp(method, "POST") != 0)
			return reply_status(conn, MHD_HTTP_METHOD_NOT_ALLOWED, TAXII_V11, NULL,
			    TAXII_ST_BAD_MESSAGE, NULL, 0, "TAXII services take POST only");
		if (cl != NULL && strtoull(cl, NULL, 10) > s->max_body) {
			const char *expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
			    "Expect");

			/* A client waiting for "100 Continue" has sent no body yet. */
			if (expect != NULL && strcasecmp(expect, "100-continue") == 0)
				return reply_status(conn, MHD_HTTP_CONTENT_TOO_LARGE, TAXII_V11,
				    NULL, TAXII_ST_BAD_MESSAGE, NULL, 0,
				    "request body over the size cap");
			/* Any other is already sending it: answering and closing now would
			 * reset the connection and lose the answer. The body is read and
			 * dropped instead (the request deadline bounds for how long). */
			r->refuse = MHD_HTTP_CONTENT_TOO_LARGE;
			util_buf_fini(&r->body);
		}
		return MHD_YES;
	}
	if (*upload_size != 0) {
		/* The idle timeout does not stop a client that sends a byte now and then:
		 * the whole body has a deadline too (the watch enforces it even when nothing
		 * arrives). Closing is the answer, since a reply cannot be queued while the
		 * body is still coming. Whole seconds elapsed, as the timeout is given. */
		if (util_mono_us() / 1000000 - r->start_us / 1000000 > (int64_t)s->timeout_s)
			return MHD_NO;
		if (r->refuse == 0 && util_buf_add(&r->body, upload_data, *upload_size) != 0) {
			/* Keep reading (and dropping) the rest, then answer once. */
			r->refuse = MHD_HTTP_CONTENT_TOO_LARGE;
			util_buf_fini(&r->body);
		}
		*upload_size = 0;
		return MHD_YES;
	}
	/* The whole request is here: no deadline while it is answered. */
	set_deadline(s, r->slot, 0);
	if (r->refuse != 0)
		return reply_refusal(s, conn, r);
	if (r->page)
		return handle_page(s, conn, url);
	return handle(s, conn, url, r);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
	enum MHD_Result rc;

	(void)version;
	cur_req = *con_cls;
	rc = on_request_1(cls, conn, url, method, upload_data, upload_size, con_cls);
	cur_req = NULL;
	return rc;
}

static void
on_done(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct taxii_server *s = cls;
	struct req *r = *con_cls;

	(void)conn;
	(void)toe;
	if (r == NULL)
		return;
	/* The next request on this connection must arrive whole within the timeout. */
	set_deadline(s, r->slot, util_mono_us() + (int64_t)s->timeout_s * 1000000);
	if (s->answers.done != NULL && r->http != 0) {
		struct taxii_request_info info = {r->service, r->http,
		    r->has_status ? r->status : TAXII_ST_SUCCESS, r->auth};

		s->answers.done(s->answers.ctx, &info);
	}
	stream_free(r->stream);
	util_buf_fini(&r->body);
	free(r);
	*con_cls = NULL;
}

/*
 * Each connection as libmicrohttpd opens and closes it. The caps are counted here, once
 * for the whole server (libmicrohttpd's own limit is split between its threads, and it
 * closes what it refuses without a word): a connection over them stays open just long
 * enough to be answered 503. Each gets a deadline for its first request.
 */
static void
on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct taxii_server *s = cls;
	struct conn *c = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fi =
		    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		unsigned char key[16];
		unsigned same = 0;
		size_t i, free_i = s->n_conns;
		int64_t now = util_mono_us();

		conn_source_key(conn, key);
		pthread_mutex_lock(&s->clock);
		for (i = 0; i < s->hi_conn; i++) {
			if (!s->conns[i].in_use) {
				if (free_i == s->n_conns)
					free_i = i;
			} else if (s->conns[i].admitted && memcmp(s->conns[i].key, key, 16) == 0) {
				same++;
			}
		}
		if (free_i == s->n_conns && s->hi_conn < s->n_conns)
			free_i = s->hi_conn++;
		if (free_i < s->n_conns) {
			c = &s->conns[free_i];
			memset(c, 0, sizeof(*c));
			c->in_use = 1;
			c->fd = fi != NULL ? fi->connect_fd : -1;
			memcpy(c->key, key, 16);
			c->admitted = s->admitted < s->max_conns && same < s->per_source;
			if (c->admitted)
				s->admitted++;
			c->deadline_us = now + (c->admitted ? (int64_t)s->timeout_s * 1000000 :
			    REFUSE_GRACE_US);
		}
		pthread_mutex_unlock(&s->clock);
		*socket_context = c;
		return;
	}
	if (toe != MHD_CONNECTION_NOTIFY_CLOSED || c == NULL)
		return;
	pthread_mutex_lock(&s->clock);
	if (c->admitted)
		s->admitted--;
	memset(c, 0, sizeof(*c));
	while (s->hi_conn > 0 && !s->conns[s->hi_conn - 1].in_use)
		s->hi_conn--;
	pthread_mutex_unlock(&s->clock);
	*socket_context = NULL;
}

/*
 * The request deadline, for the time libmicrohttpd does not call us: a client that drips
 * its headers a byte at a time never looks idle to it. A connection past its deadline is
 * shut down (libmicrohttpd then sees the end of the stream and closes it); the fd is
 * still its own, since an entry lives until libmicrohttpd's close notice, which comes
 * before it closes the fd, and both take s->clock.
 */
static void *
watch_main(void *arg)
{
	struct taxii_server *s = arg;
	struct timespec ts;

	pthread_mutex_lock(&s->clock);
	while (!s->stopping) {
		int64_t now = util_mono_us();

		for (size_t i = 0; i < s->hi_conn; i++) {
			struct conn *c = &s->conns[i];

			if (c->in_use && !c->cut && c->fd >= 0 && c->deadline_us != 0 &&
			    now >= c->deadline_us) {
				shutdown(c->fd, SHUT_RDWR);
				c->cut = 1;
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += WATCH_PERIOD_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->wake, &s->clock, &ts);
	}
	pthread_mutex_unlock(&s->clock);
	return NULL;
}

/* ---------------------------------------------------------------------------------------
 * Life cycle
 */

/* Splits "host:port" / "[v6]:port" (blanks around it ignored). Returns 0 or -1. */
static int
split_listen(const char *item, size_t n, char *host, size_t hostlen, char *port,
    size_t portlen)
{
	const char *h, *pstart, *colon = NULL;
	size_t hl, pl;

	while (n > 0 && (*item == ' ' || *item == '\t'))
		item++, n--;
	while (n > 0 && (item[n - 1] == ' ' || item[n - 1] == '\t'))
		n--;
	if (n == 0)
		return -1;
	if (item[0] == '[') {
		const char *close = memchr(item, ']', n);

		if (close == NULL || close + 1 >= item + n || close[1] != ':')
			return -1;
		h = item + 1;
		hl = (size_t)(close - h);
		pstart = close + 2;
	} else {
		for (size_t i = 0; i < n; i++)
			if (item[i] == ':')
				colon = item + i;
		/* A bare IPv6 address must be bracketed. */
		if (colon == NULL || memchr(item, ':', (size_t)(colon - item)) != NULL)
			return -1;
		h = item;
		hl = (size_t)(colon - item);
		pstart = colon + 1;
	}
	pl = (size_t)(item + n - pstart);
	if (hl == 0 || hl >= hostlen || pl == 0 || pl > 5 || pl >= portlen)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	memcpy(port, pstart, pl);
	port[pl] = '\0';
	for (size_t i = 0; i < pl; i++)
		if (port[i] < '0' || port[i] > '9')
			return -1;
	return atoi(port) <= 65535 ? 0 : -1;
}

/* Why binding this address fails, or NULL when it would not. */
static const char *
bind_error(const struct addrinfo *ai)
{
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, rc;
	const char *why = NULL;

	if (fd < 0)
		return strerror(errno);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	rc = bind(fd, ai->ai_addr, ai->ai_addrlen);
	if (rc != 0)
		why = strerror(errno);
	close(fd);
	return why;
}

static int
start_one(struct taxii_server *s, const char *host, const char *port, struct taxii_err *err)
{
	struct addrinfo hints, *ai = NULL;
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;
	/* epoll (MHD_USE_AUTO): select() could not watch descriptors past FD_SETSIZE, and
	 * libmicrohttpd closes such connections unanswered. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0 || ai == NULL) {
		util_seterr(err->msg, sizeof(err->msg), "listen %.100s:%s: %s", host, port,
		    gai_strerror(rc));
		return err->code = TAXII_EINVAL;
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (s->https)
		flags |= MHD_USE_TLS;
	struct MHD_OptionItem tls[] = {
		{ s->https ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, s->tls_key.data },
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert.data },
		{ s->client_ca.len > 0 ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0,
		    s->client_ca.data },
		{ MHD_OPTION_END, 0, NULL },
	};
	d = MHD_start_daemon(flags, (uint16_t)atoi(port), NULL, NULL, on_request, s,
	    MHD_OPTION_ARRAY, tls,
	    MHD_OPTION_SOCK_ADDR, ai->ai_addr,
	    MHD_OPTION_NOTIFY_COMPLETED, on_done, s,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
	    MHD_OPTION_THREAD_POOL_SIZE, s->threads,
	    MHD_OPTION_CONNECTION_TIMEOUT, s->timeout_s,
	    /* What libmicrohttpd holds, split between its threads; the caps that decide
	     * who is served are counted in on_connection, once for the whole server. */
	    MHD_OPTION_CONNECTION_LIMIT, s->max_conns * HELD_FACTOR,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
	    MHD_OPTION_END);
	if (d == NULL) {
		/* libmicrohttpd does not say why; a bind of our own usually does. */
		const char *why = bind_error(ai);

		util_seterr(err->msg, sizeof(err->msg), "listen %.100s:%s: %s%s", host, port,
		    why ? why : "cannot bind or start",
		    why == NULL && s->https ? " (or bad TLS certificate or key)" : "");
		freeaddrinfo(ai);
		return err->code = TAXII_ENET;
	}
	freeaddrinfo(ai);
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	s->port[s->n_d] = info ? info->port : 0;
	s->d[s->n_d++] = d;
	return 0;
}

int
taxii_server_new(const struct taxii_server_conf *conf, const struct taxii_backend *backend,
    struct taxii_server **out, struct taxii_err *errp)
{
	struct taxii_server *s = NULL;
	struct taxii_err local = { 0, 0, "" }, *err = errp ? errp : &local;
	char host[256], port[16], first_host[256] = "";
	const char *p;
	int rc = 0;

	*out = NULL;
	memset(err, 0, sizeof(*err));
	if (conf == NULL || conf->listen == NULL || backend == NULL || backend->poll == NULL ||
	    backend->count == NULL || backend->inbox == NULL) {
		util_seterr(err->msg, sizeof(err->msg),
		    "server: listen address and backend required");
		return err->code = TAXII_EINVAL;
	}
	xmlInitParser(); /* once, before any request thread parses */
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		util_seterr(err->msg, sizeof(err->msg), "out of memory");
		return err->code = TAXII_ENOMEM;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->clock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&s->wake, &ca);
		pthread_condattr_destroy(&ca);
	}
	util_buf_init(&s->tls_cert, 1024 * 1024);
	util_buf_init(&s->tls_key, 1024 * 1024);
	util_buf_init(&s->client_ca, 1024 * 1024);
	s->be = *backend;
	if (conf->auth != NULL)
		s->auth = *conf->auth;
	if (conf->http != NULL)
		s->http = *conf->http;
	if (conf->watch != NULL)
		s->answers = *conf->watch;
	s->max_body = conf->max_body ? conf->max_body : 16u * 1024u * 1024u;
	if (s->max_body > TAXII_MSG_MAX_BYTES)
		s->max_body = TAXII_MSG_MAX_BYTES;
	s->part_size = conf->part_size ? conf->part_size : 100;
	s->result_ttl_s = conf->result_ttl_s ? conf->result_ttl_s : 600;
	s->threads = conf->threads ? conf->threads : 2;
	s->timeout_s = conf->timeout_s ? conf->timeout_s : 30;
	s->max_conns = conf->max_connections ? conf->max_connections : DEFAULT_MAX_CONNS;
	s->per_source = conf->max_per_source ? conf->max_per_source : DEFAULT_PER_SOURCE;
	s->max_headers = conf->max_header_bytes ? conf->max_header_bytes : DEFAULT_MAX_HEADERS;
	s->allow_private_push = conf->allow_private_push;
	s->resolve = conf->resolve;
	s->resolve_arg = conf->resolve_arg;
	s->log = conf->log;
	s->log_arg = conf->log_arg;
	s->n_conns = (size_t)s->max_conns * HELD_FACTOR * MAX_LISTEN;
	s->conns = calloc(s->n_conns, sizeof(*s->conns));
	s->thr = calloc(THR_SLOTS, sizeof(*s->thr));
	if (s->conns == NULL || s->thr == NULL) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		rc = err->code = TAXII_ENOMEM;
		goto out;
	}
	if (pthread_create(&s->watch, NULL, watch_main, s) != 0) {
		snprintf(err->msg, sizeof(err->msg), "cannot start a thread");
		rc = err->code = TAXII_ENOMEM;
		goto out;
	}
	s->watching = 1;

	if ((conf->tls_cert != NULL) != (conf->tls_key != NULL)) {
		util_seterr(err->msg, sizeof(err->msg), "TLS needs both a certificate and a key");
		rc = err->code = TAXII_EINVAL;
		goto out;
	}
	if (conf->tls_cert != NULL) {
		if (util_read_file(conf->tls_cert, &s->tls_cert) != 0 || s->tls_cert.len == 0 ||
		    util_read_file(conf->tls_key, &s->tls_key) != 0 || s->tls_key.len == 0) {
			util_seterr(err->msg, sizeof(err->msg), "cannot read TLS file %.200s",
			    s->tls_cert.len == 0 ? conf->tls_cert : conf->tls_key);
			rc = err->code = TAXII_EINVAL;
			goto out;
		}
		s->https = 1;
	}
	if (conf->client_ca != NULL) {
		if (!s->https) {
			util_seterr(err->msg, sizeof(err->msg),
			    "client_ca needs tls_cert and tls_key (client certificates need TLS)");
			rc = err->code = TAXII_EINVAL;
			goto out;
		}
		if (util_read_file(conf->client_ca, &s->client_ca) != 0 ||
		    s->client_ca.len == 0) {
			util_seterr(err->msg, sizeof(err->msg), "cannot read client CA file %.200s",
			    conf->client_ca);
			rc = err->code = TAXII_EINVAL;
			goto out;
		}
	}
	p = conf->listen;
	for (size_t guard = 0; *p != '\0' && guard < MAX_LISTEN + 1; guard++) {
		size_t n = strcspn(p, ",");

		if (s->n_d == MAX_LISTEN) {
			util_seterr(err->msg, sizeof(err->msg), "more than %d listen addresses",
			    MAX_LISTEN);
			rc = err->code = TAXII_EINVAL;
			goto out;
		}
		if (split_listen(p, n, host, sizeof(host), port, sizeof(port)) != 0) {
			util_seterr(err->msg, sizeof(err->msg), "bad listen address \"%.*s\"",
			    (int)(n > 100 ? 100 : n), p);
			rc = err->code = TAXII_EINVAL;
			goto out;
		}
		if ((rc = start_one(s, host, port, err)) != 0)
			goto out;
		if (first_host[0] == '\0')
			snprintf(first_host, sizeof(first_host), "%s", host);
		p += n;
		if (*p == ',')
			p++;
	}
	if (s->n_d == 0) {
		util_seterr(err->msg, sizeof(err->msg), "no listen address");
		rc = err->code = TAXII_EINVAL;
		goto out;
	}
	if (conf->base_url != NULL)
		snprintf(s->base_url, sizeof(s->base_url), "%s", conf->base_url);
	else if (strchr(first_host, ':') != NULL)
		snprintf(s->base_url, sizeof(s->base_url), "%s://[%s]:%u",
		    s->https ? "https" : "http", first_host, s->port[0]);
	else
		snprintf(s->base_url, sizeof(s->base_url), "%s://%s:%u",
		    s->https ? "https" : "http", first_host, s->port[0]);
	*out = s;
	s = NULL;
out:
	taxii_server_free(s);
	return rc;
}

unsigned
taxii_server_port(const struct taxii_server *s, size_t i)
{
	return s != NULL && i < s->n_d ? s->port[i] : 0;
}

void
taxii_server_free(struct taxii_server *s)
{
	if (s == NULL)
		return;
	if (s->watching) {
		pthread_mutex_lock(&s->clock);
		s->stopping = 1;
		pthread_cond_signal(&s->wake);
		pthread_mutex_unlock(&s->clock);
		pthread_join(s->watch, NULL);
	}
	for (size_t i = 0; i < s->n_d; i++)
		MHD_stop_daemon(s->d[i]);
	free(s->conns);
	free(s->thr);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->clock);
	pthread_mutex_destroy(&s->lock);
	if (s->tls_key.data != NULL)
		memset(s->tls_key.data, 0, s->tls_key.len);
	util_buf_fini(&s->tls_key);
	util_buf_fini(&s->tls_cert);
	util_buf_fini(&s->client_ca);
	free(s);
}
