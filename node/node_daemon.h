/*
 * The daemon (c2watch run) as a small set of components: each is started in order and
 * stopped in reverse order when SIGTERM or SIGINT arrives. The observer is one; the TAXII
 * server and peer polling join the same way, each with a start function that starts its
 * threads (or libmicrohttpd daemon) and a stop function that ends and joins them. Signals
 * are taken by the main thread alone, so components never see them: they watch `stop`,
 * and sleep with node_daemon_sleep_until, which wakes when the daemon stops. Internal to
 * node/.
 */
#ifndef C2W_NODE_DAEMON_H
#define C2W_NODE_DAEMON_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define NODE_MAX_COMPONENTS 8

struct conf;
struct store;
struct node_daemon;
struct node_stats;
struct fed_server;
struct taxii_http;

struct node_component {
	const char *name;
	/* Starts the component (its threads take what they need from d). 0 or -1 (logged). */
	int (*start)(struct node_daemon *d, struct node_component *self);
	/* Ends it after d->stop was set: returns when its threads are joined. */
	void (*stop)(struct node_daemon *d, struct node_component *self);
	void *state; /* the component's own, set by start, freed by stop */
	int started;
};

struct node_daemon {
	const struct conf *c;       /* lives as long as the daemon */
	struct store *s;            /* shared by every component (LMDB handles threads) */
	volatile sig_atomic_t stop; /* set once, by the main thread, under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;          /* broadcast when stop is set */
	struct node_component comps[NODE_MAX_COMPONENTS];
	size_t ncomps;
	struct node_stats *stats;   /* the counters and status.json (node_stats.h) */
	/* The TAXII server once started (atomic: pages read it from server threads). */
	struct fed_server *fs;
};

/* Adds a component to start after those already added. Returns 0, or -1 when there are
 * NODE_MAX_COMPONENTS already. */
int node_daemon_add(struct node_daemon *d, const char *name,
    int (*start)(struct node_daemon *, struct node_component *),
    void (*stop)(struct node_daemon *, struct node_component *));

/* Sleeps until real time until_us (microseconds since the epoch) or until the daemon
 * stops, whichever comes first. Returns 1 when the daemon is stopping, else 0. */
int node_daemon_sleep_until(struct node_daemon *d, int64_t until_us);

/* The pages beside TAXII (node_pages.c): http gets the dispatcher over d. */
void node_pages_init(struct node_daemon *d, struct taxii_http *http);

/* The TAXII server over the store, the subscription pusher (a pass every second) and the
 * peer pollers (node_serve.c, around fed/). */
int node_serve_start(struct node_daemon *d, struct node_component *self);
void node_serve_stop(struct node_daemon *d, struct node_component *self);
int node_push_start(struct node_daemon *d, struct node_component *self);
void node_push_stop(struct node_daemon *d, struct node_component *self);
int node_peers_start(struct node_daemon *d, struct node_component *self);
void node_peers_stop(struct node_daemon *d, struct node_component *self);

#endif
