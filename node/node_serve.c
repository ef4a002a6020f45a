/* The daemon's federation components: the TAXII server over the store, and one thread per
 * [peer] that polls it at its interval (backing off while it fails) and, with push = true,
 * sends this node's new records to its inbox. A slow or hostile peer only ever holds its
 * own thread. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conf/conf.h"
#include "node/node.h"
#include "node/node_daemon.h"
#include "node/node_obs.h"
#include "stix/stix.h"
#include "store/store.h"
#include "taxii/taxii.h"
#include "util/util.h"

#define BACKOFF_FIRST_US INT64_C(5000000)   /* first retry after 5 s */
#define PUSH_BATCH 100                      /* records per Inbox_Message */

/* ------------------------------------------------------------------ TAXII server */

int
node_serve_start(struct node_daemon *d, struct node_component *self)
{
	char err[1024];
	struct node_taxii *nt = node_taxii_start(d->c, d->s, err, sizeof(err));

	if (nt == NULL) {
		node_log(NODE_LOG_ERROR, "taxii: %s", err);
		return -1;
	}
	self->state = nt;
	for (size_t i = 0; i < d->c->server.nlisten; i++) {
		const char *l = d->c->server.listen[i];
		const char *colon = strrchr(l, ':');

		node_log(NODE_LOG_INFO, "taxii: listening on %.*s:%u (%s)",
		    colon ? (int)(colon - l) : (int)strlen(l), l, node_taxii_port(nt, i),
		    d->c->server.tls_cert ? "https" : "http");
	}
	return 0;
}

void
node_serve_stop(struct node_daemon *d, struct node_component *self)
{
	(void)d;
	node_taxii_stop(self->state);
	self->state = NULL;
}

/* ------------------------------------------------------------------ peers */

struct peer_thread {
	struct node_daemon *d;
	const struct conf_peer *p;
	pthread_t thread;
	int running;
};

struct peers {
	struct peer_thread *t;
	size_t n;
};

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

struct push_ctx {
	const char *node;
	struct util_buf *xml; /* one package per record, kept until sent */
	size_t offs[PUSH_BATCH + 1];
	size_t n;
	int64_t last;
};

static int
collect_own(int64_t label, const unsigned char *id, const char *json, size_t len, void *arg)
{
	struct push_ctx *pc = arg;
	json_t *rec = json_loadb(json, len, 0, NULL);
	const char *node = json_string_value(json_object_get(rec, "node"));
	char err[256];
	int own = node && strcmp(node, pc->node) == 0;

	pc->last = label;
	/* Only what this node observed: merged records go back to where they came from by
	 * their own origin's pushes and polls. */
	if (own) {
		pc->offs[pc->n] = pc->xml->len;
		if (stix_observation_write(rec, pc->xml, err, sizeof(err)) == 0)
			pc->n++;
		util_buf_add(pc->xml, "", 1); /* NUL between packages */
	}
	json_decref(rec);
	return pc->n == PUSH_BATCH ? 1 : 0;
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

/* Sends this node's records added since the push cursor, in batches; the cursor moves
 * after each batch the peer accepted. */
static int
push_new(struct peer_thread *pt, char *err, size_t errlen)
{
	const struct conf_peer *p = pt->p;
	struct store_err serr = {{0}};
	struct taxii_client_conf cc;
	struct taxii_content_block blocks[PUSH_BATCH];
	struct taxii_err terr = {0};
	struct util_buf xml;
	struct node_peer_secrets sec;
	char url[2048], name[300];
	int64_t from = 0;
	size_t sent = 0;
	int rc, ret = -1;

	if (inbox_url(p->url, url, sizeof(url)) != 0) {
		snprintf(err, errlen, "cannot derive an inbox URL from %s (it does not end in /poll)",
		    p->url);
		return -1;
	}
	snprintf(name, sizeof(name), "push %s", p->name);
	rc = store_get_cursor(pt->d->s, name, &from, &serr);
	if (rc == STORE_ERR) {
		snprintf(err, errlen, "%s", serr.msg);
		return -1;
	}
	if (node_peer_client(p, url, &cc, &sec, err, errlen) != 0) {
		memset(&sec, 0, sizeof(sec));
		return -1;
	}
	cc.timeout_s = 30;
	cc.cancel = &pt->d->stop;
	cc.public_only = !pt->d->c->server.allow_private_push;
	util_buf_init(&xml, 64u * 1024 * 1024);
	for (int round = 0; round < 10000 && !pt->d->stop; round++) {
		struct push_ctx pc = {pt->d->c->node.id, &xml, {0}, 0, from};
		struct cursor_arg ca;

		util_buf_reset(&xml);
		if (store_scan_feed(pt->d->s, from, INT64_MAX, 0, collect_own, &pc, NULL, &serr) ==
		    STORE_ERR) {
			snprintf(err, errlen, "%s", serr.msg);
			goto out;
		}
		if (pc.last == from)
			break; /* nothing after the cursor */
		for (size_t i = 0; i < pc.n; i++) {
			memset(&blocks[i], 0, sizeof(blocks[i]));
			blocks[i].binding = TAXII_CB_STIX_12;
			blocks[i].content = xml.data + pc.offs[i];
			blocks[i].content_len = strlen(blocks[i].content);
			blocks[i].is_xml = 1;
		}
		if (pc.n && taxii_client_inbox(&cc, "observations", blocks, pc.n, &terr) != 0) {
			snprintf(err, errlen, "push to %.600s: %.200s", url, terr.msg);
			goto out;
		}
		sent += pc.n;
		ca.name = name;
		ca.label = pc.last;
		if (store_write(pt->d->s, save_cursor, &ca, &serr) != STORE_OK) {
			snprintf(err, errlen, "%s", serr.msg);
			goto out;
		}
		from = pc.last;
	}
	if (sent)
		node_log(NODE_LOG_INFO, "peer %s: pushed %zu record%s", p->name, sent,
		    sent == 1 ? "" : "s");
	ret = 0;
out:
	memset(&sec, 0, sizeof(sec));
	util_buf_fini(&xml);
	return ret;
}

static void *
peer_main(void *arg)
{
	struct peer_thread *pt = arg;
	const struct conf_peer *p = pt->p;
	char cursor[300], err[1024];
	int failures = 0;

	snprintf(cursor, sizeof(cursor), "peer %s", p->name);
	while (!pt->d->stop) {
		struct node_poll_stats st = {0};
		int64_t next, wait = p->interval_us;

		if (node_peer_poll(pt->d->s, p, cursor, &pt->d->stop, &st, err, sizeof(err)) == 0) {
			if (failures)
				node_log(NODE_LOG_INFO, "peer %s: reachable again after %d failure%s",
				    p->name, failures, failures == 1 ? "" : "s");
			failures = 0;
			node_log(st.added || st.targets_added || st.targets_updated ? NODE_LOG_INFO :
			    NODE_LOG_DEBUG,
				    "peer %s: %zu block%s, %zu new record%s, %zu new target%s",
				    p->name, st.blocks, st.blocks == 1 ? "" : "s", st.added,
				    st.added == 1 ? "" : "s", st.targets_added,
				    st.targets_added == 1 ? "" : "s");
			if (p->push && push_new(pt, err, sizeof(err)) != 0)
				node_log(NODE_LOG_WARN, "peer %s: %s", p->name, err);
		} else if (pt->d->stop) {
			break; /* abandoned because the daemon stops: not the peer's failure */
		} else {
			failures++;
			/* Back off while a peer fails, never beyond its interval: it is polled
			 * from the same cursor when it returns, so nothing is missed. */
			wait = BACKOFF_FIRST_US << (failures < 10 ? failures - 1 : 9);
			if (wait > p->interval_us)
				wait = p->interval_us;
			node_log(NODE_LOG_WARN, "peer %s: poll failed (%s); next try in %lld s",
			    p->name, err, (long long)(wait / 1000000));
		}
		next = util_now_us() + wait;
		if (node_daemon_sleep_until(pt->d, next))
			break;
	}
	return NULL;
}

int
node_peers_start(struct node_daemon *d, struct node_component *self)
{
	struct peers *ps = calloc(1, sizeof(*ps));

	if (ps == NULL)
		return -1;
	ps->t = calloc(d->c->npeers ? d->c->npeers : 1, sizeof(*ps->t));
	if (ps->t == NULL) {
		free(ps);
		return -1;
	}
	self->state = ps;
	for (size_t i = 0; i < d->c->npeers; i++) {
		struct peer_thread *pt = &ps->t[i];

		pt->d = d;
		pt->p = &d->c->peers[i];
		if (pthread_create(&pt->thread, NULL, peer_main, pt) != 0) {
			node_log(NODE_LOG_ERROR, "peer %s: cannot start its thread", pt->p->name);
			return -1;
		}
		pt->running = 1;
		ps->n = i + 1;
		node_log(NODE_LOG_INFO, "peer %s: polling %s (%s) every %lld s%s", pt->p->name,
		    pt->p->url, pt->p->collection, (long long)(pt->p->interval_us / 1000000),
		    pt->p->push ? ", pushing new records" : "");
	}
	return 0;
}

void
node_peers_stop(struct node_daemon *d, struct node_component *self)
{
	struct peers *ps = self->state;

	(void)d;
	if (ps == NULL)
		return;
	for (size_t i = 0; i < ps->n; i++)
		if (ps->t[i].running)
			pthread_join(ps->t[i].thread, NULL);
	free(ps->t);
	free(ps);
	self->state = NULL;
}
