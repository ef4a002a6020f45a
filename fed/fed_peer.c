/* Polling a peer once: from the label after the last one it fully delivered, content
 * merged as it arrives (in bounded batches, so a large poll never sits in memory whole;
 * a batch is committed only between parts, once the parts in it were read whole and found
 * sound, by a committing thread while the next parts are read), and the new cursor saved
 * in the same transaction as the last batch. While the peer's
 * labels come in order (a c2watch peer's feed) each batch also moves the cursor to its
 * last label, so a poll cut short resumes there; otherwise a poll that fails part way
 * leaves the cursor where it was: what was merged is merged again next time, and merging
 * by record id makes that harmless. A peer's round adds the backoff while it
 * fails and, with push = true, sends this node's new records to its inbox. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "fed/fed.h"
#include "store/store.h"
#include "taxii/taxii.h"
#include "util/util.h"

/* Records per transaction. What a poll holds at once is two batches (one being read, one
 * being committed beside it) and LMDB's dirty pages for the one being committed, which
 * grow with the pages the batch touches, not with the peer's size. Each
 * commit syncs the disk: once the parsing got cheap, 2,000 a commit left the merge waiting
 * on fdatasync (bench_federate 1,000,000: 13k records/s at 2,000, 15-16k at 5,000, 16-18k
 * at 10,000, with the poller's peak anonymous memory about 90 MB at 5,000 and 10,000). */
#define MERGE_BATCH 10000

struct poll_ctx {
	struct fed_merge *m; /* the batch being read; the committer makes the next */
	const char *threat;
	struct fed_poll_stats *st;
	char *err;
	size_t errlen;
	int failed;
	/* Whether a batch may move the cursor: every block so far an observation record
	 * with a Timestamp_Label above the previous one (and above the cursor), as a c2watch
	 * peer serves its feed. Then every record up to the last label has arrived, and a
	 * poll cut short resumes after it. One exception (a target, a block without a
	 * label, a label out of order) keeps the cursor until the poll completes. */
	const char *cursor_name;
	int64_t last_label;
	int ordered;
	struct fed_commitq *q;
};

static void
add_stats(struct fed_poll_stats *st, const struct fed_merge_stats *ms)
{
	st->added += ms->added;
	st->same += ms->same;
	st->targets_added += ms->targets_added;
	st->targets_updated += ms->targets_updated;
}

static int
on_block(void *arg, const struct taxii_content_block *b)
{
	struct poll_ctx *p = arg;
	size_t ntargets = json_array_size(p->m->targets);

	p->st->blocks++;
	if (fed_content_merge(p->m, b, 1, p->threat, p->err, p->errlen) != 0) {
		p->failed = 1;
		return 1;
	}
	if (!b->has_timestamp || b->timestamp_us <= p->last_label ||
	    json_array_size(p->m->targets) != ntargets)
		p->ordered = 0;
	else
		p->last_label = b->timestamp_us;
	return 0;
}

/* A part was read whole and found sound: only now may its records be committed (the
 * blocks come as the part is parsed, before its end tag is seen). The commit runs on the
 * committing thread while the next parts are read. */
static int
on_part(void *arg)
{
	struct poll_ctx *p = arg;

	if (fed_merge_pending(p->m) >= MERGE_BATCH) {
		p->st->refused += p->m->refused;
		if (fed_commitq_put(p->q, &p->m, p->ordered ? p->cursor_name : NULL,
			p->last_label, p->err, p->errlen) != 0) {
			p->failed = 1;
			return 1;
		}
		if (p->ordered)
			p->st->cursor_moves++;
	}
	return 0;
}

int
fed_read_secret(const char *path, char *buf, size_t len, char *err, size_t errlen)
{
	struct util_buf b;
	size_t n;

	util_buf_init(&b, 4096);
	if (util_read_file(path, &b) != 0) {
		util_seterr(err, errlen, "%s: %s", path, errno ? strerror(errno) : "too large");
		util_buf_fini(&b);
		return -1;
	}
	n = strcspn(b.data, "\r\n");
	if (n >= len) {
		util_buf_fini(&b);
		util_seterr(err, errlen, "%s: password too long", path);
		return -1;
	}
	memcpy(buf, b.data, n);
	buf[n] = '\0';
	util_buf_fini(&b);
	return 0;
}

int
fed_peer_client(const struct conf_peer *peer, const char *url,
    struct taxii_client_conf *cc, struct fed_peer_secrets *sec, char *err, size_t errlen)
{
	memset(cc, 0, sizeof(*cc));
	memset(sec, 0, sizeof(*sec));
	if (peer->password_file && fed_read_secret(peer->password_file, sec->password,
	    sizeof(sec->password), err, errlen) != 0)
		return -1;
	if (peer->client_key_password_file &&
	    fed_read_secret(peer->client_key_password_file, sec->key_password,
		sizeof(sec->key_password), err, errlen) != 0)
		return -1;
	cc->url = url;
	cc->username = peer->username;
	cc->password = peer->username ? sec->password : NULL;
	cc->ca_file = peer->ca_file;
	cc->client_cert = peer->client_cert;
	cc->client_key = peer->client_key;
	cc->client_key_password = peer->client_key_password_file ? sec->key_password : NULL;
	return 0;
}

int
fed_peer_poll(struct store *s, const struct conf_peer *peer, const char *cursor_name,
    const volatile sig_atomic_t *cancel, const struct rec_trust *trust,
    const struct fed_log *log, struct fed_poll_stats *st, char *err, size_t errlen)
{
	struct taxii_client_conf cc;
	struct taxii_err terr = {0};
	struct store_err serr = {{0}};
	struct poll_ctx p = {NULL, peer->threat_id, st, err, errlen, 0, cursor_name, 0, 1, NULL};
	struct fed_merge_stats ms = {0};
	struct fed_peer_secrets sec;
	char qerr[512];
	int64_t begin = -1, end = 0;
	int rc, ret = -1;

	memset(st, 0, sizeof(*st));
	err[0] = '\0';
	rc = store_get_cursor(s, cursor_name, &begin, &serr);
	if (rc == STORE_ERR) {
		util_seterr(err, errlen, "%s", serr.msg);
		return -1;
	}
	if (rc == STORE_NOTFOUND)
		begin = -1;
	st->begin = begin;
	p.last_label = begin < 0 ? 0 : begin;
	if (fed_peer_client(peer, peer->url, &cc, &sec, err, errlen) != 0)
		goto out;
	cc.cancel = cancel;
	cc.part_done = on_part;
	p.m = fed_merge_new();
	if (p.m == NULL) {
		util_seterr(err, errlen, "out of memory");
		goto out;
	}
	p.m->trust = trust;
	p.m->log = log;
	p.q = fed_commitq_new(s, err, errlen);
	if (p.q == NULL)
		goto out;
	rc = taxii_client_poll(&cc, peer->collection, begin, INT64_MAX, on_block, &p, &end, &terr);
	if (rc != 0 || p.failed) {
		if (!p.failed || err[0] == '\0')
			util_seterr(err, errlen, "%s", terr.msg[0] ? terr.msg : "poll failed");
		goto out;
	}
	/* The last merge moves the cursor to the poll's end, after every merge before it. */
	st->refused += p.m->refused;
	if (fed_commitq_put(p.q, &p.m, cursor_name, end > begin ? end : begin < 0 ? 0 : begin,
		err, errlen) != 0)
		goto out;
	st->end = end;
	ret = 0;
out:
	/* Merges handed over are committed even when the poll failed after them: each was
	 * read whole, and its cursor covers only what it holds. */
	if (fed_commitq_free(p.q, &ms, qerr, sizeof(qerr)) != 0 && ret == 0) {
		util_seterr(err, errlen, "%s", qerr);
		ret = -1;
	}
	add_stats(st, &ms);
	memset(&sec, 0, sizeof(sec));
	fed_merge_free(p.m);
	return ret;
}

/* ------------------------------------------------------------------ a peer's round */

#define BACKOFF_FIRST_US INT64_C(5000000) /* first retry after 5 s */
#define BACKOFF_MAX_US (BACKOFF_FIRST_US << 9) /* and never more than about 43 min */
#define PUSH_BATCH 100                    /* records per Inbox_Message */

/* The inbox of a peer whose poll service ends in /poll (as c2watch's does). */
static int
inbox_url(const char *poll, char *out, size_t len)
{
	size_t n = strlen(poll);

	if (n < 5 || strcmp(poll + n - 5, "/poll") != 0 || n + 2 > len)
		return -1;
	snprintf(out, len, "%.*s/inbox", (int)(n - 5), poll);
	return 0;
}

struct peer_push {
	struct store *s;
	struct taxii_client_conf cc;
	const char *url, *cursor;
};

static int
peer_send(void *arg, const struct taxii_content_block *blocks, size_t n, int64_t from,
    int64_t to, char *err, size_t errlen)
{
	struct peer_push *pp = arg;
	struct taxii_err terr = {0};

	(void)from, (void)to;
	if (taxii_client_inbox(&pp->cc, "observations", blocks, n, &terr) != 0) {
		util_seterr(err, errlen, "push to %.600s: %.200s", pp->url, terr.msg);
		return -1;
	}
	return 0;
}

struct cursor_arg {
	const char *name;
	int64_t label;
};

static int
save_cursor(struct store_txn *t, void *arg)
{
	const struct cursor_arg *c = arg;

	return store_put_cursor(t, c->name, c->label);
}

static int
peer_sent(void *arg, int64_t to, char *err, size_t errlen)
{
	struct peer_push *pp = arg;
	struct cursor_arg ca = {pp->cursor, to};
	struct store_err serr = {{0}};

	if (store_write(pp->s, save_cursor, &ca, &serr) != STORE_OK) {
		util_seterr(err, errlen, "%s", serr.msg);
		return -1;
	}
	return 0;
}

/* Sends this node's records added since the push cursor; the cursor moves after each
 * batch the peer accepted. Returns records sent, or -1 with err. */
static long
push_new(struct store *s, const char *node_id, const struct conf_peer *p,
    volatile sig_atomic_t *stop, int allow_private, char *err, size_t errlen)
{
	struct store_err serr = {{0}};
	struct peer_push pp = {.s = s};
	struct fed_push fp = {.s = s, .batch = PUSH_BATCH, .only_node = node_id, .stop = stop,
	    .send = peer_send, .sent = peer_sent, .arg = &pp};
	struct fed_peer_secrets sec;
	char url[2048], name[300];
	long sent;

	if (inbox_url(p->url, url, sizeof(url)) != 0) {
		util_seterr(err, errlen,
		    "cannot derive an inbox URL from %s (it does not end in /poll)", p->url);
		return -1;
	}
	snprintf(name, sizeof(name), "push %s", p->name);
	if (store_get_cursor(s, name, &fp.from, &serr) == STORE_ERR) {
		util_seterr(err, errlen, "%s", serr.msg);
		return -1;
	}
	if (fed_peer_client(p, url, &pp.cc, &sec, err, errlen) != 0) {
		memset(&sec, 0, sizeof(sec));
		return -1;
	}
	pp.cc.timeout_s = 30;
	pp.cc.cancel = stop;
	pp.cc.public_only = !allow_private;
	pp.url = url;
	pp.cursor = name;
	sent = fed_push_run(&fp, err, errlen);
	memset(&sec, 0, sizeof(sec));
	return sent;
}

int64_t
fed_backoff_us(int64_t first_us, int64_t max_us, int failures)
{
	int64_t wait = first_us << (failures < 1 ? 0 : failures < 20 ? failures - 1 : 19);

	return wait > max_us || wait <= 0 ? max_us : wait;
}

int64_t
fed_peer_round(struct store *s, const char *node_id, const struct conf_peer *p,
    const struct rec_trust *trust, volatile sig_atomic_t *stop, const struct fed_log *log,
    struct fed_peer_state *ps)
{
	struct fed_poll_stats st = {0};
	char cursor[300], err[1024];
	int64_t wait = p->interval_us;
	long sent;

	snprintf(cursor, sizeof(cursor), "peer %s", p->name);
	if (fed_peer_poll(s, p, cursor, stop, trust, log, &st, err, sizeof(err)) != 0) {
		if (stop != NULL && *stop)
			return -1; /* abandoned because the caller stops: not the peer's failure */
		ps->failures++;
		ps->polls++;
		ps->polls_failed++;
		ps->last_fail_us = util_now_us();
		snprintf(ps->last_error, sizeof(ps->last_error), "%.500s", err);
		wait = fed_backoff_us(BACKOFF_FIRST_US,
		    p->interval_us < BACKOFF_MAX_US ? p->interval_us : BACKOFF_MAX_US, ps->failures);
		fed_logf(log, FED_LOG_WARN, "peer %s: poll failed (%s); next try in %lld s",
		    p->name, err, (long long)(wait / 1000000));
		return wait;
	}
	if (ps->failures)
		fed_logf(log, FED_LOG_INFO, "peer %s: reachable again after %d failure%s", p->name,
		    ps->failures, ps->failures == 1 ? "" : "s");
	ps->failures = 0;
	ps->polls++;
	ps->added += st.added;
	ps->last_ok_us = util_now_us();
	fed_logf(log, st.added || st.targets_added || st.targets_updated || st.refused ?
	    FED_LOG_INFO : FED_LOG_DEBUG,
	    "peer %s: %zu block%s, %zu new record%s, %zu new target%s, %zu refused", p->name,
	    st.blocks, st.blocks == 1 ? "" : "s", st.added, st.added == 1 ? "" : "s",
	    st.targets_added, st.targets_added == 1 ? "" : "s", st.refused);
	if (p->push) {
		sent = push_new(s, node_id, p, stop, ps->allow_private_push, err, sizeof(err));
		if (sent < 0)
			fed_logf(log, FED_LOG_WARN, "peer %s: %s", p->name, err);
		else if (sent > 0)
			fed_logf(log, FED_LOG_INFO, "peer %s: pushed %ld record%s", p->name, sent,
			    sent == 1 ? "" : "s");
	}
	return wait;
}
