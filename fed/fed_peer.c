/* Polling a peer once: from the label after the last one it fully delivered, content
 * merged as it arrives (in bounded batches, so a large poll never sits in memory whole),
 * and the new cursor saved in the same transaction as the last batch. A poll that fails
 * part way leaves the cursor where it was: what was merged is merged again next time, and
 * merging by record id makes that harmless. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "node/node.h"
#include "store/store.h"
#include "taxii/taxii.h"
#include "util/util.h"

/* Records per transaction. What a poll holds at once is this batch and LMDB's dirty pages
 * for it, which grow with the pages the batch touches, not with the peer's size. Each
 * commit syncs the disk: once the parsing got cheap, 2,000 a commit left the merge waiting
 * on fdatasync (bench_federate 1,000,000: 13k records/s at 2,000, 15-16k at 5,000, 16-18k
 * at 10,000, with the poller's peak anonymous memory about 90 MB at 5,000 and 10,000). */
#define MERGE_BATCH 10000

struct poll_ctx {
	struct store *s;
	struct node_merge *m;
	const char *threat;
	struct node_poll_stats *st;
	char *err;
	size_t errlen;
	int failed;
};

static void
add_stats(struct node_poll_stats *st, const struct node_merge_stats *ms)
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

	p->st->blocks++;
	if (node_content_merge(p->m, b, 1, p->threat, p->err, p->errlen) != 0) {
		p->failed = 1;
		return 1;
	}
	if (node_merge_pending(p->m) >= MERGE_BATCH) {
		if (node_merge_commit(p->m, p->s, NULL, 0, p->err, p->errlen) != 0) {
			p->failed = 1;
			return 1;
		}
		add_stats(p->st, &p->m->stats);
		node_merge_free(p->m);
		p->m = node_merge_new();
		if (p->m == NULL) {
			snprintf(p->err, p->errlen, "out of memory");
			p->failed = 1;
			return 1;
		}
	}
	return 0;
}

int
node_read_secret(const char *path, char *buf, size_t len, char *err, size_t errlen)
{
	struct util_buf b;
	size_t n;

	util_buf_init(&b, 4096);
	if (util_read_file(path, &b) != 0) {
		snprintf(err, errlen, "%s: %s", path, errno ? strerror(errno) : "too large");
		util_buf_fini(&b);
		return -1;
	}
	n = strcspn(b.data, "\r\n");
	if (n >= len) {
		util_buf_fini(&b);
		snprintf(err, errlen, "%s: password too long", path);
		return -1;
	}
	memcpy(buf, b.data, n);
	buf[n] = '\0';
	util_buf_fini(&b);
	return 0;
}

int
node_peer_client(const struct conf_peer *peer, const char *url,
    struct taxii_client_conf *cc, struct node_peer_secrets *sec, char *err, size_t errlen)
{
	memset(cc, 0, sizeof(*cc));
	memset(sec, 0, sizeof(*sec));
	if (peer->password_file && node_read_secret(peer->password_file, sec->password,
	    sizeof(sec->password), err, errlen) != 0)
		return -1;
	if (peer->client_key_password_file &&
	    node_read_secret(peer->client_key_password_file, sec->key_password,
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
node_peer_poll(struct store *s, const struct conf_peer *peer, const char *cursor_name,
    const volatile sig_atomic_t *cancel, struct node_poll_stats *st, char *err,
    size_t errlen)
{
	struct taxii_client_conf cc;
	struct taxii_err terr = {0};
	struct store_err serr = {{0}};
	struct poll_ctx p = {s, NULL, peer->threat_id, st, err, errlen, 0};
	struct node_peer_secrets sec;
	int64_t begin = -1, end = 0;
	int rc, ret = -1;

	memset(st, 0, sizeof(*st));
	err[0] = '\0';
	rc = store_get_cursor(s, cursor_name, &begin, &serr);
	if (rc == STORE_ERR) {
		snprintf(err, errlen, "%s", serr.msg);
		return -1;
	}
	if (rc == STORE_NOTFOUND)
		begin = -1;
	st->begin = begin;
	if (node_peer_client(peer, peer->url, &cc, &sec, err, errlen) != 0)
		goto out;
	cc.cancel = cancel;
	p.m = node_merge_new();
	if (p.m == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = taxii_client_poll(&cc, peer->collection, begin, INT64_MAX, on_block, &p, &end, &terr);
	if (rc != 0 || p.failed) {
		if (!p.failed || err[0] == '\0')
			snprintf(err, errlen, "%s", terr.msg[0] ? terr.msg : "poll failed");
		goto out;
	}
	if (node_merge_commit(p.m, s, cursor_name, end > begin ? end : begin < 0 ? 0 : begin,
		err, errlen) != 0)
		goto out;
	add_stats(st, &p.m->stats);
	st->end = end;
	ret = 0;
out:
	memset(&sec, 0, sizeof(sec));
	node_merge_free(p.m);
	return ret;
}
