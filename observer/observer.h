/*
 * observer: one observation cycle over a list of destinations, and the change events
 * between two observations of one destination. A cycle resolves every target's name
 * (c-ares, all at once), pings every address concurrently, fetches robots.txt once per
 * origin, and sends the HTTP GET shaped like the malware's request — all under a global
 * concurrency bound and a per-host spacing — and hands each finished observation to the
 * caller as the JSON observation record (README "Observation"). It only ever sends
 * ping, robots.txt and GET requests; it never contacts an excluded domain, nor (unless
 * allowed) a non-public address. Targets are taken in windows of a bounded size (DNS,
 * ping, grouping by host and the records in waiting are per window), so that a cycle's
 * memory does not grow with the number of targets: only hosts still inside their spacing
 * and the robots.txt outcomes of the last few thousand origins outlive a window. It never logs, prints or exits; obs_store_cycle
 * (obs_store.c) stores a cycle's records and change events, and the caller (node/) runs
 * the hooks. It never includes taxii, stix or fed. The obs_*.h headers beside this one are
 * internal building blocks.
 */
#ifndef C2W_OBSERVER_H
#define C2W_OBSERVER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/*
 * Called once per finished record, in completion order. `rec` is borrowed: take a
 * reference to keep it. Returns 0, or non-zero to stop the cycle (obs_cycle_run then
 * returns -1 with "record callback failed").
 */
typedef int (*obs_record_fn)(json_t *rec, void *arg);

/* Called now and then with targets finished so far and the total. */
typedef void (*obs_progress_fn)(size_t done, size_t total, void *arg);

struct rec_key;

/* What a cycle needs to know; the caller fills it (node/ from its config). */
struct obs_config {
	const char *node_id;        /* required: the record's "node" */
	const char *vantage;        /* the record's "vantage"; NULL: node_id */
	const struct rec_key *key;  /* signs every record (rec_sign); NULL: unsigned */
	unsigned concurrency;       /* HTTP requests in flight at once; 0: 256 */
	int64_t host_spacing_us;    /* least time from the end of one request to a host to
				     * the start of the next, robots.txt included; a host is
				     * the first address a target resolved to (so names sharing
				     * a server share its spacing), else its name */
	const char *user_agent;     /* for targets without their own; NULL: none sent */
	const char *accept_encoding; /* NULL: none */
	int64_t connect_timeout_us, timeout_us; /* 0: 10 s, 30 s */
	uint64_t max_body;          /* 0: 5 MiB */
	unsigned max_redirects;     /* 0: record the Location, do not follow */
	unsigned ping_count;        /* echoes per target; 0: no ping (ping is null) */
	int ping_interval_ms;       /* spacing of the echoes; 0: 1000 */
	int robots_respect;         /* 1: fetch robots.txt and obey it; 0: robots is null */
	const char *exclude_file;   /* one domain per line ('#' comments): never observed,
				     * nor their subdomains; NULL: none */
	int allow_private;          /* 0: loopback, private, reserved ... are refused */
	const char *source_address; /* numeric address or interface for every probe; NULL */
	const char *proxy;          /* HTTP goes through it; no local DNS or ping then */
	const char *dns_servers;    /* "127.0.0.1:53,..."; NULL: the system's resolvers */
	int dns_timeout_ms;         /* whole resolution phase; 0: 10 s */
	size_t window;              /* targets taken at once (a DNS, ping and grouping unit);
				     * 0: 4096. Small windows lose time at each window's end,
				     * waiting for its slowest request and its pings */
	volatile sig_atomic_t *stop; /* when it becomes non-zero the cycle ends early */
	obs_progress_fn progress;
	void *progress_arg;
};

/* What a cycle did, for the caller's summary and log. */
struct obs_cycle_stats {
	size_t targets, records;  /* targets given; records handed to the callback */
	size_t skipped;           /* targets not observed: bad input or the cycle stopped */
	size_t responded;         /* records with an HTTP status */
	size_t excluded, private_refused, dns_failed, robots_disallowed, failed;
	size_t robots_fetched, requests; /* robots.txt fetches and GETs sent */
	size_t pinged;
	int aborted;              /* 1 when *stop ended the cycle early */
	double seconds;
	char note[256];           /* e.g. why ping was skipped; "" when nothing to say */
};

/*
 * Gives the cycle its next target: returns 1 with *target set to a target object of which
 * the cycle takes ownership (a new reference), 0 when there are no more, or -1 when the
 * targets cannot be read (the cycle then fails with "reading the targets failed").
 */
typedef int (*obs_next_fn)(void *arg, json_t **target);

/*
 * Observes every target `next` gives once, as obs_cycle_run() does with an array, taking
 * at most cfg->window of them at a time: the caller can stream a target list of any size.
 * `total` is the number of targets expected (for progress, and for counting those never
 * taken as skipped when the cycle is stopped); 0 when unknown. Returns as obs_cycle_run().
 */
int obs_cycle_run_iter(const struct obs_config *cfg, obs_next_fn next, void *next_arg,
    size_t total, obs_record_fn cb, void *arg, struct obs_cycle_stats *st, char *err,
    size_t errlen);

/*
 * Observes every target of `targets` (a JSON array of target objects as conf/ makes them:
 * threat_id and url, domain or ip, optional port and user_agent) once, and calls `cb` with
 * each record. A target that cannot be observed at all (no threat_id, no destination,
 * unusable URL) gets no record and is counted as skipped.
 * Returns 0 (every target observed, or the cycle stopped through cfg->stop, which sets
 * st->aborted), or -1 with err naming what failed (the exclusion file, the HTTP engine,
 * the resolver, the callback): records already given stay given. st may be NULL.
 */
int obs_cycle_run(const struct obs_config *cfg, const json_t *targets, obs_record_fn cb,
    void *arg, struct obs_cycle_stats *st, char *err, size_t errlen);

/*
 * The change events between a destination's previous record `prev` (NULL: none, which
 * yields no event) and its new one `cur`: "up" (an answer — an HTTP status or a ping
 * reply — after a record without one), "down" (the reverse), "status" (the HTTP status
 * changed between two records whose GET ran — between two answers, or between an answer
 * and none when up/down does not already say so, as when ping still answers), "content"
 * (the body's SHA-256 changed). Each is
 * {"threat_id", "target", "node", "time", "kind", "from", "to", "record"} where time and
 * node are cur's and record is cur's id. Returns a new array (maybe empty; the caller
 * owns it), or NULL when memory ran out.
 */
json_t *obs_events(const json_t *prev, const json_t *cur);

/*
 * The first cycle start after now_us: cycles start at the local wall-clock time
 * anchor_minute (minutes after midnight) plus k * interval_us, in the process's local time
 * zone (the caller sets TZ to the anchor's zone). Wall-clock steps are counted from
 * 1970-01-01 at the anchor, so a 4h interval gives the same local hours every day across
 * daylight-saving changes; a wall time that does not exist (spring forward) starts at
 * the equivalent later instant. Returns 0 with *next_us > now_us, or -1 when the interval
 * is under one second or the time cannot be represented.
 */
int obs_next_start(int64_t now_us, int anchor_minute, int64_t interval_us, int64_t *next_us);

/* ------------------------------------------------------------------ outcomes */

/*
 * Records counted by what each probe gave (ping: not_run, answered, silent; robots:
 * not_run, allowed, disallowed, failed; http: not_run, 1xx ... 5xx, failed) and by the
 * record's error kind (excluded, dns, private-address, robots-disallowed, refused,
 * timeout, reset, tls, protocol, too-large, other). Names come from the functions below,
 * indexed as the arrays are; a fixed set, whatever the answers said.
 */
enum { OBS_PROBE_PING, OBS_PROBE_ROBOTS, OBS_PROBE_HTTP, OBS_PROBES };
#define OBS_OUTCOMES 7
#define OBS_ERROR_KINDS 11

struct obs_tally {
	size_t outcome[OBS_PROBES][OBS_OUTCOMES];
	size_t error[OBS_ERROR_KINDS];
};

/* Counts one record into t. */
void obs_tally_record(const json_t *rec, struct obs_tally *t);
/* Adds every count of from to to. */
void obs_tally_add(struct obs_tally *to, const struct obs_tally *from);
/* The names: a probe's, the i-th outcome of a probe, the i-th error kind; static
 * strings, or NULL past the last. */
const char *obs_tally_probe(int probe);
const char *obs_tally_outcome(int probe, int i);
const char *obs_tally_error(int i);

/* ------------------------------------------------------------------ stored cycles */

struct store;

/* Called with each change event as JSON text once it is stored; the text lives until the
 * call returns. */
typedef void (*obs_event_fn)(void *arg, const char *json);

struct obs_store_sum {
	struct obs_cycle_stats st;
	size_t stored; /* new records stored */
	size_t events; /* change events stored */
	struct obs_tally tally; /* the cycle's records by outcome */
};

/*
 * One cycle over the targets stored in s (of threat_id, or all with NULL), read from the
 * store a chunk at a time. Records are stored as they complete, in batches (256 records or
 * 2 s); with each batch, in the same transaction, the change events (obs_events) of each
 * record against the previous record cfg->node_id made of the same destination, looked
 * for within three interval_us (at least a day) before it first, then through the whole
 * history. Each stored event is then given to on_event (may be NULL). Returns 0, 1 when
 * there was nothing to observe, or -1 with err saying what failed (what was observed
 * before the failure is stored).
 */
int obs_store_cycle(const struct obs_config *cfg, struct store *s, const char *threat_id,
    int64_t interval_us, obs_event_fn on_event, void *arg, struct obs_store_sum *sum,
    char *err, size_t errlen);

#endif
