/*
 * observer internals: the cycle's state and the parts of it that its files share (the
 * cycle itself in obs_cycle.c; targets, exclusions, the robots.txt cache, host spacing
 * and the scheduler each in a file of its own). Not part of the public API.
 */
#ifndef C2W_OBS_INT_H
#define C2W_OBS_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "observer/obs_dns.h"
#include "observer/obs_http.h"
#include "observer/obs_icmp.h"
#include "observer/obs_robots.h"
#include "observer/observer.h"

#define CYC_EXCLUDE_MAX (16u << 20) /* bytes of an exclusion file */
#define CYC_URL_MAX 8192
#define CYC_KEY_MAX 8192
#define CYC_WINDOW_DEFAULT 4096
#define CYC_RCACHE_MAX 4096          /* origins whose robots.txt outcome outlives a window */
#define CYC_RCACHE_BYTES (8u << 20)  /* their robots.txt bodies, together */
#define CYC_RCACHE_BODY_MAX (1u << 20) /* a larger body is not kept: fetched again */

enum cyc_robots_state { RB_NONE, RB_PENDING, RB_DONE };

struct cyc_origin {
	char *origin; /* scheme://host:port */
	enum cyc_robots_state state;
	int status;
	const char *error_kind; /* static name, when no answer */
	char *detail;           /* with error_kind (kept off the struct: one per origin) */
	const struct cyc_rent *cached; /* outcome of an earlier window; only while grouping */
};

/* A robots.txt outcome kept for the origins of later windows. */
struct cyc_rent {
	char *origin;
	uint64_t hv;
	int status;
	const char *error_kind;
	char *detail;
	char *body; /* 2xx bodies only */
	size_t blen;
	struct cyc_rent *next; /* in its bucket */
};

/* Bounded, oldest out first: robots.txt is fetched once per origin within the last
 * CYC_RCACHE_MAX origins fetched, which holds a whole cycle unless it has more origins
 * sharing nothing but the cycle. */
struct cyc_rcache {
	struct cyc_rent **buckets; /* 2 * CYC_RCACHE_MAX */
	struct cyc_rent **ring;    /* CYC_RCACHE_MAX, oldest at head */
	size_t head, n, bytes;
};

/* Hosts whose spacing reaches past the end of a window: a hash of the host key and the
 * earliest time of its next request. Entries past their time are dropped as it grows. */
struct cyc_slot {
	uint64_t hv; /* 0: empty */
	int64_t ready_us;
};

struct cyc_host {
	char *name;
	size_t *targets, ntargets, next;
	struct cyc_origin *origins;
	size_t norigins;
	int64_t ready_us; /* no request before this time */
	int busy;         /* a request is in flight */
	int queued;       /* in the ready heap */
};

struct cycle;

/* The request in flight of one target: its robots.txt fetch or its GET. */
struct cyc_req {
	struct cycle *c;
	size_t ti;
	int robots;
};

enum cyc_ping_state {
	PING_NONE,    /* nothing to ping in the window: its records may go out */
	PING_PENDING, /* targets added, thread not started yet */
	PING_RUNNING,
	PING_DONE,
};

/*
 * A window of targets and its pinger. Two exist: the one in its HTTP phase, and the one
 * before it, whose finished records wait for its ping. Their ping threads may overlap:
 * each pinger's random identifier and data keep their replies apart.
 */
struct cyc_win {
	struct cycle *c;
	struct cyc_target *t;
	size_t nt;
	struct obs_pinger *pinger;
	pthread_t ping_thread;
	enum cyc_ping_state ping_state;
	int ping_ok;
	char ping_err[256];
	int ping_timeout_ms;
	size_t npinged;
};

struct cyc_target {
	struct cyc_win *w;
	json_t *src; /* a reference of the window's own */
	struct cyc_req req;
	const char *threat_id;
	char *key, *url, *host, *path, *origin;
	const char *ua;
	int port;
	int is_ip;
	size_t hidx, oidx;
	int dns_idx, ping_idx;
	int64_t observed_us;
	json_t *ipv4, *ipv6;
	json_t *robots, *http, *error;
	int skip;     /* not observable: no record */
	int finished; /* the record's parts are known */
	int robots_allowed; /* decided when its origin's robots.txt arrived; -1 before */
	int emitted;
};

struct cycle {
	const struct obs_config *cfg;
	struct obs_cycle_stats *st;
	obs_record_fn cb;
	void *cbarg;
	obs_next_fn next;
	void *next_arg;
	size_t total;  /* the caller's estimate, for progress; 0: unknown */
	int exhausted; /* next() said there are no more targets */
	struct cyc_win win[2];
	struct cyc_win *cur, *prev; /* in its HTTP phase; waiting for its ping, or NULL */
	struct cyc_target *t; /* cur's targets, nt of them */
	size_t nt, window;
	struct cyc_rcache rcache;
	struct cyc_slot *spacing;
	size_t nspacing, spacing_cap;
	struct cyc_host *hosts;
	size_t nhosts;
	size_t *heap, nheap; /* host indices, min ready_us first */
	struct obs_http *http;
	size_t inflight;
	size_t done;
	char **exclude;
	unsigned char *exclude_suffix; /* 1: the entry is a public suffix (github.io) */
	size_t nexclude;
	int cb_failed;
	int failed; /* a local failure inside a callback; err says what */
	int live; /* records are handed over as they finish */
	char *err;
	size_t errlen;
};

/* obs_target.c: targets */
/* Splits an http(s) URL into lowercase host, port (the scheme's when absent), origin and
 * path (malloc'd, the caller frees them). Returns 0, or -1 (not http/https, no host, bad
 * port). */
int cyc_split_url(const char *url, char **host, int *port, char **origin, char **path);
/* Fills t from its JSON object (borrowed for the cycle); marks it skipped when it cannot
 * be observed. Returns 0, or -1 when memory ran out. */
int cyc_target_init(struct cycle *c, struct cyc_target *t, const json_t *src);

/* obs_exclude.c: the exclusion file */
/* Reads cfg->exclude_file into c (nothing when unset). Returns 0, or -1 with c->err set. */
int cyc_exclude_load(struct cycle *c);
/* The exclusion entry that covers host, or NULL. */
const char *cyc_excluded(const struct cycle *c, const char *host);

/* obs_rcache.c: the robots.txt cache */
/* A non-zero 64-bit FNV-1a hash of a string. */
uint64_t cyc_hash(const char *s);
/* The cached outcome of origin, or NULL; owned by the cache (valid until the next put). */
struct cyc_rent *cyc_rcache_get(const struct cycle *c, const char *origin);
/* Keeps o's outcome (and a 2xx body of up to CYC_RCACHE_BODY_MAX bytes), evicting the
 * oldest as the bounds require; on allocation failure nothing is kept. */
void cyc_rcache_put(struct cycle *c, const struct cyc_origin *o, const char *body, size_t blen);
/* Frees every entry. */
void cyc_rcache_fini(struct cycle *c);

/* obs_spacing.c: host spacing */
/* When the host hashed hv may next be sent to; 0 when it is free now. */
int64_t cyc_spacing_get(const struct cycle *c, uint64_t hv);
/* Notes that the host may be sent to again at ready_us (entries ready before now_us are
 * dropped as the table grows). Returns 0, or -1 when memory ran out. */
int cyc_spacing_set(struct cycle *c, uint64_t hv, int64_t ready_us, int64_t now_us);

/* obs_sched.c: grouping and the heap */
/* Queues host h by its ready time. */
void cyc_heap_push(struct cycle *c, size_t h);
/* Takes the host whose turn comes first (the heap must not be empty). */
size_t cyc_heap_pop(struct cycle *c);
/* Groups the window's targets by host and origin and fills the heap. Returns 0, or -1
 * with c->err set. */
int cyc_group(struct cycle *c);

#endif
