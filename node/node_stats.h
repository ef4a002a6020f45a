/*
 * The daemon's counters and its state file. What the components do is counted here
 * through the callbacks the modules already have (the TAXII server's watch, each peer
 * round's fed_peer_state, the observer's cycle summary), under one mutex, and read back by
 * GET /metrics (node_metrics.c) and by DATA_DIR/status.json, which `c2watch status` reads
 * without asking the daemon. Counts that must survive a restart (records by origin) are
 * the store's, not kept here. Internal to node/; it never prints.
 */
#ifndef C2W_NODE_STATS_H
#define C2W_NODE_STATS_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fed/fed.h"
#include "node/node_obs.h"
#include "observer/observer.h"
#include "taxii/taxii.h"

struct conf;
struct util_buf;

/* DATA_DIR/status.json, written atomically (rename), and DATA_DIR/daemon.lock, held
 * (flock, shared) by every running daemon of the directory: a status reader that can
 * take it exclusively knows no daemon runs, whatever pid status.json names. */
#define NODE_STATUS_FILE "status.json"
#define NODE_LOCK_FILE "daemon.lock"

enum { NODE_CYCLE_OK, NODE_CYCLE_EMPTY, NODE_CYCLE_FAILED, NODE_CYCLE_RESULTS };
enum { NODE_AUTH_MISSING, NODE_AUTH_INVALID, NODE_AUTH_NO_CERT, NODE_AUTH_FORBIDDEN,
	NODE_AUTH_REASONS };

/* Upper bounds (seconds) of the cycle duration histogram; +Inf follows. */
#define NODE_CYCLE_BUCKETS 9
extern const double node_cycle_buckets[NODE_CYCLE_BUCKETS];

/* Most (service, HTTP status, TAXII status) triples counted; once full, the last entry
 * (service "other", HTTP status 0, no TAXII status) takes every new triple, so the table
 * stays bounded whatever clients send. */
#define NODE_TAXII_KEYS 256

struct node_taxii_count {
	const char *service; /* a static string of the server's */
	unsigned http;
	int status;          /* enum taxii_status, -1 for pages */
	uint64_t n;
};

struct node_peer_stat {
	const char *name, *url; /* the config's */
	struct fed_peer_state st;
};

struct node_stats {
	pthread_mutex_t mu;
	const struct conf *c;
	int64_t started_us;
	pid_t pid;
	char *status_path, *tmp_path;
	int lock_fd;
	/* where the server listens: "host", port, scheme, as logged */
	size_t nlisten;
	char listen_host[8][256];
	unsigned listen_port[8];

	uint64_t cycles[NODE_CYCLE_RESULTS];
	uint64_t cycle_bucket[NODE_CYCLE_BUCKETS + 1];
	double cycle_seconds_sum;
	int64_t running_us;                        /* start of the running cycle; 0: none */
	int64_t last_start_us, last_end_us, next_us; /* the last finished cycle, the next */
	int last_result;
	struct node_observe_sum last;
	uint64_t records_made;
	struct obs_tally tally;
	uint64_t events[NODE_EV_KINDS];

	struct node_peer_stat *peers;
	size_t npeers;

	struct node_taxii_count taxii[NODE_TAXII_KEYS];
	size_t ntaxii;
	uint64_t auth_fail[NODE_AUTH_REASONS];
};

/* New counters for the daemon of c (its data directory takes the state file; the lock
 * is taken here). NULL with err filled. */
struct node_stats *node_stats_new(const struct conf *c, char *err, size_t errlen);
/* Removes nothing (status.json stays, naming a pid no longer running); frees. NULL ok. */
void node_stats_free(struct node_stats *st);

/* Where the i-th listen address is bound (after the server started). */
void node_stats_listen(struct node_stats *st, size_t i, const char *host, unsigned port);
/* The observer computed its next start. */
void node_stats_next_cycle(struct node_stats *st, int64_t next_us);
/* A cycle started. */
void node_stats_cycle_start(struct node_stats *st, int64_t now_us);
/* A cycle ended: rc as node_observe_cycle's (0, 1 nothing to observe, -1), sum its. */
void node_stats_cycle_end(struct node_stats *st, int rc, const struct node_observe_sum *sum);
/* Peer i (the config's [peer] order) finished a round; ps is copied. */
void node_stats_peer(struct node_stats *st, size_t i, const struct fed_peer_state *ps);
/* A page refused a user that may not see it. */
void node_stats_forbidden(struct node_stats *st);
/* The TAXII server's watch (ctx: the stats). */
void node_stats_taxii(void *ctx, const struct taxii_request_info *info);

/* A time as status.json writes it (RFC 3339, UTC), JSON null for none (us <= 0). */
json_t *node_json_time(int64_t us);

/* Writes status.json now (after start, or when something changed). Failures are
 * logged once per distinct error, never fatal. */
void node_stats_write_status(struct node_stats *st);

/*
 * The Prometheus text (exposition format 0.0.4) of st and of what the store holds (records
 * by origin, targets, bytes, subscription backlogs), appended to out. 0, or -1 with err.
 */
struct store;
int node_metrics_text(struct node_stats *st, struct store *s, struct util_buf *out,
    char *err, size_t errlen);

#endif
