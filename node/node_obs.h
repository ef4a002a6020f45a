/* Wiring of the observer into the node: config to observer settings, one stored cycle
 * (obs_store_cycle with the targets_file re-imported first, its change events logged and
 * handed to the hooks), the hook runner and the daemon's logging. Internal to node/. */
#ifndef C2W_NODE_OBS_H
#define C2W_NODE_OBS_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "observer/observer.h"

struct conf;
struct store;

/* Log levels as in the config (enum conf_log_level): error, warn, info, debug. */
enum { NODE_LOG_ERROR, NODE_LOG_WARN, NODE_LOG_INFO, NODE_LOG_DEBUG };

/* Messages at or below this level are written (default info). */
void node_log_set_level(int level);

/* Writes "TIME c2watch: LEVEL: message" to stderr when level is enabled; errno is kept. */
void node_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* node_log as a callback for fed's struct fed_log (arg unused; the levels are the same). */
void node_log_cb(void *arg, int level, const char *msg);

/* Fills oc from the config's [node] and [observer] sections; the strings stay the
 * config's (oc lives no longer than c). Key and id functions are conf's and store's. */
void node_obs_config(const struct conf *c, struct obs_config *oc);

/*
 * Runs the on_change hook: each event pushed is written as one JSON text to the standard
 * input of a new process of `cmd`, one process at a time in a thread of the runner's own,
 * so that a slow or hanging hook never holds up observation. A hook still running after
 * timeout_ms is killed. Failures are logged. At most NODE_HOOK_QUEUE events wait; more are
 * dropped and logged.
 */
#define NODE_HOOK_QUEUE 4096
struct node_hooks;

/* Returns a new runner, or NULL (logged) when its thread cannot start. */
struct node_hooks *node_hooks_new(const char *cmd, int timeout_ms);

/* Queues one event (the text is copied). NULL runner: nothing happens. */
void node_hooks_push(struct node_hooks *h, const char *json);

/* Stops the thread and frees the runner. With `drain` the events still queued run first
 * (each bounded by the timeout); without, they are dropped (and counted in the log) and
 * only the hook already running is waited for. NULL is a no-op. */
void node_hooks_free(struct node_hooks *h, int drain);

/* Change event kinds as counted (obs_events' kinds; another is "other"). */
enum { NODE_EV_UP, NODE_EV_DOWN, NODE_EV_STATUS, NODE_EV_CONTENT, NODE_EV_OTHER, NODE_EV_KINDS };
extern const char *const node_event_kinds[NODE_EV_KINDS];

struct node_observe_sum {
	struct obs_cycle_stats st;
	size_t stored;   /* new records stored */
	size_t events;   /* change events stored */
	size_t by_kind[NODE_EV_KINDS]; /* the events by kind */
	struct obs_tally tally;        /* the records by probe outcome */
	size_t imported; /* targets re-imported from targets_file */
};

/*
 * One cycle over the stored targets (of threat_id, or all with NULL): targets_file is
 * re-imported first when set, then obs_store_cycle stores the records and change events;
 * each event is logged and handed to hooks (may be NULL).
 * `progress`: show progress on a terminal. Returns 0, 1 when there was nothing to
 * observe, or -1 after logging why.
 */
int node_observe_cycle(const struct conf *c, struct store *s, struct node_hooks *hooks,
    const char *threat_id, volatile sig_atomic_t *stop, int progress,
    struct node_observe_sum *sum);

/* The one-line summary of a stored cycle (observe --once prints it, run logs it). */
void cli_observe_summary(const struct node_observe_sum *s, char *buf, size_t len);

#endif
