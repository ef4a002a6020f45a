/* The daemon's federation components, each a start/stop pair around fed/: the TAXII server
 * over the store, the subscription pusher (a pass every second), and one thread per
 * [peer] running fed_peer_round at the wait it returns. A slow or hostile peer only ever
 * holds its own thread. */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "fed/fed.h"
#include "node/node_daemon.h"
#include "node/node_obs.h"
#include "node/node_pages.h"
#include "node/node_stats.h"
#include "taxii/taxii.h"
#include "util/util.h"

/* node_log_cb hands fed's levels to node_log as they are. */
_Static_assert((int)FED_LOG_ERROR == (int)NODE_LOG_ERROR &&
    (int)FED_LOG_WARN == (int)NODE_LOG_WARN && (int)FED_LOG_INFO == (int)NODE_LOG_INFO &&
    (int)FED_LOG_DEBUG == (int)NODE_LOG_DEBUG, "log levels differ");

static const struct fed_log node_fed_log = {node_log_cb, NULL};

/* ------------------------------------------------------------------ TAXII server */

struct serve_state {
	struct node_pages *pages;
	struct fed_server *fs;
};

int
node_serve_start(struct node_daemon *d, struct node_component *self)
{
	char err[1024];
	struct serve_state *st = calloc(1, sizeof(*st));
	struct taxii_http hook;
	struct taxii_watch watch = {.ctx = d->stats, .done = node_stats_taxii};
	struct fed_server_opts opts = {.log = node_fed_log, .http = &hook, .watch = &watch};
	struct fed_server *fs;

	if (st == NULL ||
	    (st->pages = node_pages_new(d->c, d->s, d->stats, err, sizeof(err))) == NULL) {
		node_log(NODE_LOG_ERROR, "pages: %s", st ? err : "out of memory");
		free(st);
		return -1;
	}
	node_pages_hook(st->pages, &hook);
	if ((fs = st->fs = fed_server_start(d->c, d->s, &opts, err, sizeof(err))) == NULL) {
		node_log(NODE_LOG_ERROR, "taxii: %s", err);
		node_pages_free(st->pages);
		free(st);
		return -1;
	}
	self->state = st;
	for (size_t i = 0; i < d->c->server.nlisten; i++) {
		const char *l = d->c->server.listen[i];
		const char *colon = strrchr(l, ':');
		char host[256];

		snprintf(host, sizeof(host), "%.*s", colon ? (int)(colon - l) : (int)strlen(l), l);
		node_stats_listen(d->stats, i, host, fed_server_port(fs, i));
		node_log(NODE_LOG_INFO, "taxii: listening on %.*s:%u (%s)",
		    colon ? (int)(colon - l) : (int)strlen(l), l, fed_server_port(fs, i),
		    d->c->server.tls_cert ? "https" : "http");
	}
	return 0;
}

void
node_serve_stop(struct node_daemon *d, struct node_component *self)
{
	struct serve_state *st = self->state;

	(void)d;
	if (st == NULL)
		return;
	fed_server_stop(st->fs);
	node_pages_free(st->pages);
	free(st);
	self->state = NULL;
}

/* ------------------------------------------------------------------ subscription push */

struct push_state {
	struct node_daemon *d;
	struct fed_pusher *p;
	pthread_t thread;
};

static void *
push_main(void *arg)
{
	struct push_state *ps = arg;

	while (!ps->d->stop) {
		fed_pusher_run(ps->p, util_now_us(), &ps->d->stop, NULL);
		if (node_daemon_sleep_until(ps->d, util_now_us() + 1000000))
			break;
	}
	return NULL;
}

int
node_push_start(struct node_daemon *d, struct node_component *self)
{
	struct push_state *ps = calloc(1, sizeof(*ps));
	struct fed_push_opts po;

	if (ps == NULL)
		return -1;
	memset(&po, 0, sizeof(po));
	po.log = node_fed_log;
	po.allow_private = d->c->server.allow_private_push;
	ps->d = d;
	ps->p = fed_pusher_new(d->s, &po);
	if (ps->p == NULL || pthread_create(&ps->thread, NULL, push_main, ps) != 0) {
		node_log(NODE_LOG_ERROR, "push: cannot start the subscription pusher");
		fed_pusher_free(ps->p);
		free(ps);
		return -1;
	}
	self->state = ps;
	return 0;
}

void
node_push_stop(struct node_daemon *d, struct node_component *self)
{
	struct push_state *ps = self->state;

	(void)d;
	if (ps == NULL)
		return;
	pthread_join(ps->thread, NULL);
	fed_pusher_free(ps->p);
	free(ps);
	self->state = NULL;
}

/* ------------------------------------------------------------------ peers */

struct peer_thread {
	struct node_daemon *d;
	const struct conf_peer *p;
	size_t idx;
	pthread_t thread;
	int running;
};

struct peers {
	struct peer_thread *t;
	size_t n;
};

static void *
peer_main(void *arg)
{
	struct peer_thread *pt = arg;
	struct fed_peer_state st = {.allow_private_push = pt->d->c->server.allow_private_push};

	while (!pt->d->stop) {
		int64_t wait = fed_peer_round(pt->d->s, pt->d->c->node.id, pt->p,
		    pt->d->c->trust.set, &pt->d->stop, &node_fed_log, &st);

		if (wait >= 0) {
			node_stats_peer(pt->d->stats, pt->idx, &st);
			node_stats_write_status(pt->d->stats);
		}
		if (wait < 0 || node_daemon_sleep_until(pt->d, util_now_us() + wait))
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
		pt->idx = i;
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
