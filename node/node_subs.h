/*
 * TAXII subscriptions kept in the store, and their push delivery. The TAXII server makes
 * and changes subscriptions through its backend (node_taxii.c calls the node_subs_*
 * functions below, which keep each one as a JSON text in the store's subs database). The
 * pusher sends every ACTIVE subscription with Push_Parameters the records that entered
 * the node after its cursor, in batches of Inbox_Messages, and moves the cursor only past
 * a batch the subscriber answered with SUCCESS: PAUSE stops delivery, RESUME continues
 * where it stopped, and a subscriber that is down is retried later with backoff, so
 * nothing is skipped. Internal to node/.
 */
#ifndef C2W_NODE_SUBS_H
#define C2W_NODE_SUBS_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "taxii/taxii.h"

struct store;
struct node_daemon;
struct node_component;

/* The four calls of struct taxii_sub_backend over the store (same returns: 0, 1 for no
 * such subscription where the backend has it, -1 with err filled). */
int node_subs_add(struct store *s, const struct taxii_sub *sub, char *err, size_t errlen);
int node_subs_get(struct store *s, const char *id, struct taxii_sub *out, char *err,
    size_t errlen);
int node_subs_set_status(struct store *s, const char *id, enum taxii_sub_status st,
    struct taxii_sub *out, char *err, size_t errlen);
int node_subs_list(struct store *s, const char *collection, taxii_sub_cb cb, void *arg,
    char *err, size_t errlen);

/*
 * Moves the push cursor of `id` to `label` (never backwards). Returns 0, 1 when there is
 * no such subscription, -1 with err filled.
 */
int node_subs_delivered(struct store *s, const char *id, int64_t label, char *err,
    size_t errlen);

/* Pushing. */
struct node_push_opts {
	size_t batch;          /* records per Inbox_Message; 0: 100 */
	long timeout_s;        /* per Inbox_Message; 0: 30 */
	int64_t backoff_us;    /* first wait after a failure (doubling); 0: 5 s */
	int64_t backoff_max_us; /* longest wait; 0: 10 min */
	const char *ca_file;   /* trusted CAs for https subscribers; NULL: the system's */
	const char *client_cert; /* presented to https subscribers, or NULL */
	const char *client_key;
	int allow_private;     /* 0: connect to public addresses only (allow_private_push) */
	const char *const *resolve; /* names pinned to addresses (taxii_client_conf), or NULL */
};

struct node_push_stats {
	size_t sent;      /* records the subscribers accepted in this pass */
	size_t failed;    /* subscriptions whose delivery failed in this pass */
	size_t deferred;  /* subscriptions skipped because they are backing off */
};

struct node_pusher;

/* A pusher over `s` (which must outlive it); opts copied (its strings borrowed), may be
 * NULL. NULL when out of memory. */
struct node_pusher *node_pusher_new(struct store *s, const struct node_push_opts *opts);

/*
 * One delivery pass at time now_us: for every ACTIVE subscription with Push_Parameters
 * (response type FULL) that is not backing off, sends batches until it has everything or
 * a send fails (then it backs off, and the failure is logged). *stop (may be NULL) is
 * checked between batches. Fills *st (may be NULL). Returns 0, or -1 when the
 * subscriptions could not be read (logged).
 */
int node_pusher_run(struct node_pusher *p, int64_t now_us, volatile sig_atomic_t *stop,
    struct node_push_stats *st);

/* Frees the pusher. NULL is a no-op. */
void node_pusher_free(struct node_pusher *p);

/* The daemon component: a thread that runs a pass every second. */
int node_push_start(struct node_daemon *d, struct node_component *self);
void node_push_stop(struct node_daemon *d, struct node_component *self);

#endif
