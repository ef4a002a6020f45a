/*
 * fed: federation. Records from outside (peers, an inbox, a file) merged into the store by
 * record id (a set union: a record is stored once, with its origin node kept, and only when
 * its id is the SHA-256 of its node, target input and time); the TAXII server's backend
 * over the store (polls of the feed and the targets, inbox merges, subscriptions); polls of
 * peers from their cursors, backing off while a peer fails; TAXII subscriptions kept in the
 * store; and the one push loop that both a peer's push and a subscription's push go
 * through (see fed_push_run for its policy). doc/ARCHITECTURE.md draws where it sits.
 *
 * It uses store, stix, taxii, conf and util; it never includes node/ and never prints:
 * what its threads and loops have to say goes to the fed_log the caller gives, and every
 * other failure comes back as -1 with an error text.
 */
#ifndef C2W_FED_H
#define C2W_FED_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "taxii/taxii.h"
#include "util/util.h"

struct conf;
struct conf_peer;
struct store;

/* ------------------------------------------------------------------ logging */

/* Levels in the order of the config's log_level: error, warn, info, debug. */
enum { FED_LOG_ERROR, FED_LOG_WARN, FED_LOG_INFO, FED_LOG_DEBUG };

/* Where fed's loops say what happened: one message (no line end) at a level. A NULL fn
 * drops the messages. */
struct fed_log {
	void (*fn)(void *arg, int level, const char *msg);
	void *arg;
};

/* Formats a message and hands it to log (NULL, or fn NULL: nothing happens). */
void fed_logf(const struct fed_log *log, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------------ merging */

struct fed_merge_stats {
	size_t added, same, rejected;
	size_t targets_added, targets_updated, targets_same;
};

/*
 * A set of checked records and targets to store at once. Add to it (each add checks its
 * item and returns -1 with why filled when it is refused), then commit: one transaction
 * that also saves a peer's cursor when `peer` is given, so a poll's cursor moves only
 * with the records it covers.
 */
struct fed_text_rec;
struct rec_trust;
struct fed_merge {
	/* Set by the caller before adding (both may stay NULL): the trust set every record
	 * is checked against (rec_trust_check), and where fed_content_merge logs a record
	 * it refuses for it. */
	const struct rec_trust *trust;
	const struct fed_log *log;
	size_t refused; /* records fed_content_merge refused (FED_REFUSED) */
	json_t *records, *targets;
	struct fed_merge_stats stats; /* filled by fed_merge_commit */
	/* Records added as checked text (fed_merge_add_text): texts and keys in `text`. */
	struct util_buf text;
	struct fed_text_rec *text_recs;
	size_t n_text, cap_text;
	/* Where fed_content_merge reads a record before adding it (kept between calls). */
	struct util_buf scratch;
	/* What fed_merge_prepare made ready for the commit; dropped by the next add. */
	struct fed_commit *prep;
};

/* fed_merge_add_record and fed_merge_add_text return this when the record is refused
 * on its own, the rest of its poll or message still taken: the trust set refuses it (its
 * signature fails, or its node is unknown and refused), or rec_check_fields does (a field
 * of the wrong type). why says "record ID of node NODE refused: what". */
#define FED_REFUSED (-2)

struct fed_merge *fed_merge_new(void);
void fed_merge_free(struct fed_merge *m);
int fed_merge_add_record(struct fed_merge *m, json_t *rec, char *why, size_t whylen);
int fed_merge_add_target(struct fed_merge *m, json_t *target, char *why, size_t whylen);
int fed_merge_commit(struct fed_merge *m, struct store *s, const char *peer, int64_t cursor,
    char *err, size_t errlen);

/* Readies m for fed_merge_commit (the records' keys and summaries read, the batch sorted)
 * without the store, so a caller with two threads can prepare one merge while another
 * commits. fed_merge_commit prepares what is not prepared. 0, or -1 with err filled. */
int fed_merge_prepare(struct fed_merge *m, char *err, size_t errlen);

/*
 * A record already in canonical JSON text (what stix_observation_text gives), with its
 * indexed fields located (record/record.h). Checked by rec_check_text and
 * rec_check_fields_text, as fed_merge_add_record checks a parsed record, and copied;
 * stored as this text. Returns 0, FED_REFUSED, or -1 with why filled.
 */
struct rec_text;
int fed_merge_add_text(struct fed_merge *m, const struct rec_text *r, char *why,
    size_t whylen);

/* Records and targets waiting in m. */
size_t fed_merge_pending(const struct fed_merge *m);

/*
 * A thread that commits full merges while its caller reads the next one, so that reading
 * (parsing, checking, preparing) runs beside the store's writes instead of between them.
 * A merge is handed over whole; the hand-over waits while the merge before it is still
 * being committed, so the caller is never more than one merge ahead and two merges are
 * all the memory it holds. Merges are committed in the order handed over, each with the
 * cursor it was handed with.
 */
struct fed_commitq;

/* Starts the thread over store s. NULL, with err filled, when it cannot start. */
struct fed_commitq *fed_commitq_new(struct store *s, char *err, size_t errlen);

/* Prepares *mp (here, beside the commit of the merge before it), hands it over to be
 * committed with `peer`'s cursor set to `cursor` (peer NULL: no cursor), and puts a new
 * merge in *mp with the same trust set and log. 0, or -1 with err filled when this or an
 * earlier commit failed or memory ran out (*mp is then left to the caller to free). */
int fed_commitq_put(struct fed_commitq *q, struct fed_merge **mp, const char *peer,
    int64_t cursor, char *err, size_t errlen);

/* Waits until every merge handed over is committed and stops the thread; adds what the
 * commits stored to *st (may be NULL). 0, or -1 with err saying why the first failed
 * commit failed. q may be NULL. */
int fed_commitq_free(struct fed_commitq *q, struct fed_merge_stats *st, char *err,
    size_t errlen);

/*
 * Checks and stores a JSON array of observation records in one transaction: a record is
 * refused (counted, with the first reason in `why`) when a required field is missing or
 * its id is not the SHA-256 of its node, target input and observation time; the others
 * are stored unless already present. A record the trust set (may be NULL) or
 * rec_check_fields refuses stores nothing: a file that holds one is not taken
 * (FED_REFUSED, err naming the record).
 * Returns 0, or -1 with err saying why nothing was stored.
 */
int fed_put_records(struct store *s, json_t *records, const struct rec_trust *trust,
    struct fed_merge_stats *st, char *why, size_t whylen, char *err, size_t errlen);

/*
 * Stores a JSON array of checked target objects (conf_targets_read's output) in one
 * transaction, all or nothing, counting them in st's targets_* fields. Returns 0, or -1
 * with err saying why nothing was stored.
 */
int fed_put_targets(struct store *s, json_t *targets, struct fed_merge_stats *st,
    char *err, size_t errlen);

/*
 * The record fields the store indexes, checked: threat ID, target key (target.input),
 * observation time, id. Returns 0, or -1 with why filled.
 */
int fed_record_keys(json_t *rec, const char **threat, const char **key, int64_t *when,
    unsigned char id[32], char *why, size_t whylen);

/*
 * Adds what content blocks hold to m: c2watch observation records, and the network
 * indicators of any producer as targets (threat_override, when not NULL, names their
 * threat). A record m's trust set refuses is logged (m->log, naming its id and origin
 * node), counted in m->refused and left out, and the rest is still taken: one forged or
 * altered record does not cost a peer's whole poll. Returns 0, or -1 with err saying
 * which block or item was refused.
 */
int fed_content_merge(struct fed_merge *m, const struct taxii_content_block *blocks,
    size_t n, const char *threat_override, char *err, size_t errlen);

/* ------------------------------------------------------------------ the TAXII server */

/* What the caller adds to the TAXII server of `run`. */
struct taxii_http;
struct taxii_watch;
struct fed_server_opts {
	struct fed_log log;              /* what an operator should know: throttled logins,
					  * inbox records refused by c->trust.set */
	const struct taxii_http *http;   /* pages beside TAXII (dashboard, metrics); NULL: none */
	const struct taxii_watch *watch; /* told of every answer (copied; its ctx must outlive
					  * the server); NULL: none */
};

/* The TAXII server of `run` ([server] of c), serving s, which must outlive it, as c and
 * opts' pointers must (opts may be NULL). Inbox records are checked against
 * c->trust.set; refusals are logged. NULL with err filled when it cannot listen or the
 * users file is bad. */
struct fed_server;
struct fed_server *fed_server_start(const struct conf *c, struct store *s,
    const struct fed_server_opts *opts, char *err, size_t errlen);
/* The port the i-th listen address is bound to (0: none such). */
unsigned fed_server_port(const struct fed_server *fs, size_t i);
/* Stops serving and frees it; NULL is a no-op. */
void fed_server_stop(struct fed_server *fs);

/*
 * Prepares the STIX packages polls serve, ahead of the polls: for up to `max` records
 * (0: all) after the last one prepared, writes the package and keeps it beside the record
 * (store_put_prep), 256 to a transaction. A record the writer refuses is left for the poll
 * that reaches it to report. The server's polls do the same for each record they serve
 * without a package (the first poll of a record prepares it, the later ones copy it);
 * this does it ahead, for a caller that wants the first poll fast too. Returns 0 (*done,
 * may be NULL: packages written), or -1 with err.
 */
int fed_prepare(struct store *s, size_t max, size_t *done, char *err, size_t errlen);

/* ------------------------------------------------------------------ peers */

struct fed_poll_stats {
	size_t blocks, added, same, targets_added, targets_updated;
	size_t refused; /* records the trust set refused (each logged) */
	int64_t begin, end; /* the window polled: cursor before and after */
	size_t cursor_moves; /* batches committed with the cursor before the poll ended */
};

/*
 * Polls a peer once from its cursor (kept under cursor_name) and merges what it sends,
 * committing every 10,000 records; the cursor moves in the same transaction as the last
 * records. While every block so far is an observation record whose Timestamp_Label is
 * above the one before (a c2watch peer's feed), each batch committed also moves the
 * cursor to its last label, so a poll cut short resumes there. `cancel` (may be NULL)
 * turning non-zero abandons the poll within about a second, as a failure. Records are
 * checked against trust (may be NULL); one it refuses is logged to log (may be NULL) and
 * left out, the rest merged. Returns 0, or -1 with err (nothing after the failure
 * stored; the cursor where the last batch committed left it).
 */
int fed_peer_poll(struct store *s, const struct conf_peer *peer, const char *cursor_name,
    const volatile sig_atomic_t *cancel, const struct rec_trust *trust,
    const struct fed_log *log, struct fed_poll_stats *st, char *err, size_t errlen);

/* The first line of a password file, without its line end, into buf. 0 or -1 (err). */
int fed_read_secret(const char *path, char *buf, size_t len, char *err, size_t errlen);

/*
 * The TAXII client settings for `peer` at `url` (its poll URL, or the inbox derived from
 * it): credentials, certificates and CA file, with the password and the client key's
 * passphrase read from their files into the caller's buffers, which the caller wipes
 * after use. 0 or -1 (err names the file).
 */
struct fed_peer_secrets {
	char password[1024];
	char key_password[1024];
};
int fed_peer_client(const struct conf_peer *peer, const char *url,
    struct taxii_client_conf *cc, struct fed_peer_secrets *sec, char *err, size_t errlen);

/* The wait after `failures` (at least 1) failures in a row: first_us, doubling with each
 * failure, never more than max_us. The peers' and the subscriptions' backoff. */
int64_t fed_backoff_us(int64_t first_us, int64_t max_us, int failures);

/* What a peer's polling keeps from one round to the next. Zero it before the first. */
struct fed_peer_state {
	int failures; /* polls failed in a row */
	int allow_private_push; /* set by the caller: pushes may reach non-public addresses */
	/* What status and metrics show, kept by fed_peer_round: */
	uint64_t polls, polls_failed; /* polls tried (not those a stop abandoned), failed */
	uint64_t added;        /* new records the polls merged */
	int64_t last_ok_us;    /* real time the last good poll ended; 0: none yet */
	int64_t last_fail_us;  /* when the last poll failed; 0: none yet */
	char last_error[512];  /* why it failed; kept after a good poll */
};

/*
 * One round of a [peer]: a poll, then with push = true this node's (node_id's) new records
 * sent to the peer's inbox, everything logged. Returns the wait before the next round:
 * the peer's interval, or while polls fail a backoff from 5 s doubling up to the interval
 * (the peer is polled from the same cursor when it returns, so nothing is missed); -1
 * when *stop ended the round, which is nobody's failure.
 */
int64_t fed_peer_round(struct store *s, const char *node_id, const struct conf_peer *p,
    const struct rec_trust *trust, volatile sig_atomic_t *stop, const struct fed_log *log,
    struct fed_peer_state *ps);

/* ------------------------------------------------------------------ pushing */

/*
 * The one push loop. Records of the feed after `from` are written as STIX packages and
 * sent `batch` at a time; after each batch the receiver accepted, `sent` saves the cursor
 * (the label of the batch's last record, or of the last record passed over).
 *
 * Policy: a record that cannot be encoded stops the push at that record. What comes
 * before it in its batch is sent and the cursor saved just before it; the push then fails
 * with an error naming the record's id, which the caller logs, and the next push starts
 * at that record again. Nothing is skipped silently: a gap the receiver never learns of
 * is worse than a push held up where the log says why.
 */
struct fed_push {
	struct store *s;
	int64_t from;           /* the cursor: records with labels after it */
	size_t batch;           /* records per Inbox_Message, at least 1 */
	const char *only_node;  /* only records of this node; others are passed over, the
				 * cursor moving past them. NULL: every record */
	int labels;             /* give each block its feed label as Timestamp_Label */
	volatile sig_atomic_t *stop; /* checked between batches; may be NULL */
	/* Sends n blocks covering labels (from, to]. 0, or -1 with err filled. */
	int (*send)(void *arg, const struct taxii_content_block *blocks, size_t n, int64_t from,
	    int64_t to, char *err, size_t errlen);
	/* The cursor moves to `to`. 0 to go on, 1 to stop here (as a success), -1 with err. */
	int (*sent)(void *arg, int64_t to, char *err, size_t errlen);
	void *arg;
};

/* Runs the loop until the feed is sent, *stop or `sent` stops it. Returns the number of
 * records sent, or -1 with err filled (what was sent before stays sent). */
long fed_push_run(const struct fed_push *p, char *err, size_t errlen);

/* ------------------------------------------------------------------ subscriptions */

/*
 * TAXII subscriptions kept in the store, and their push delivery. The TAXII server makes
 * and changes subscriptions through its backend (fed_server.c calls the fed_subs_*
 * functions below, which keep each one as a JSON text in the store's subs database). The
 * pusher sends every ACTIVE subscription with Push_Parameters the records that entered
 * the node after its cursor, in batches of Inbox_Messages, and moves the cursor only past
 * a batch the subscriber answered with SUCCESS: PAUSE stops delivery, RESUME continues
 * where it stopped, and a subscriber that is down is retried later with backoff, so
 * nothing is skipped.
 */

/* The four calls of struct taxii_sub_backend over the store (same returns: 0, 1 for no
 * such subscription where the backend has it, -1 with err filled). */
int fed_subs_add(struct store *s, const struct taxii_sub *sub, char *err, size_t errlen);
int fed_subs_get(struct store *s, const char *id, struct taxii_sub *out, char *err,
    size_t errlen);
int fed_subs_set_status(struct store *s, const char *id, enum taxii_sub_status st,
    struct taxii_sub *out, char *err, size_t errlen);
int fed_subs_list(struct store *s, const char *collection, taxii_sub_cb cb, void *arg,
    char *err, size_t errlen);

/*
 * Moves the push cursor of `id` to `label` (never backwards). Returns 0, 1 when there is
 * no such subscription, -1 with err filled.
 */
int fed_subs_delivered(struct store *s, const char *id, int64_t label, char *err,
    size_t errlen);

struct fed_push_opts {
	size_t batch;          /* records per Inbox_Message; 0: 100 */
	long timeout_s;        /* per Inbox_Message; 0: 30 */
	int64_t backoff_us;    /* first wait after a failure (doubling); 0: 5 s */
	int64_t backoff_max_us; /* longest wait; 0: 10 min */
	const char *ca_file;   /* trusted CAs for https subscribers; NULL: the system's */
	const char *client_cert; /* presented to https subscribers, or NULL */
	const char *client_key;
	int allow_private;     /* 0: connect to public addresses only (allow_private_push) */
	const char *const *resolve; /* names pinned to addresses (taxii_client_conf), or NULL */
	struct fed_log log;    /* failures and deliveries; fn NULL: not logged */
};

struct fed_push_stats {
	size_t sent;      /* records the subscribers accepted in this pass */
	size_t failed;    /* subscriptions whose delivery failed in this pass */
	size_t deferred;  /* subscriptions skipped because they are backing off */
};

struct fed_pusher;

/* A pusher over `s` (which must outlive it); opts copied (its strings borrowed), may be
 * NULL. NULL when out of memory. */
struct fed_pusher *fed_pusher_new(struct store *s, const struct fed_push_opts *opts);

/*
 * One delivery pass at time now_us: for every ACTIVE subscription with Push_Parameters
 * (response type FULL) that is not backing off, sends batches until it has everything or
 * a send fails (then it backs off, and the failure is logged). *stop (may be NULL) is
 * checked between batches. Fills *st (may be NULL). Returns 0, or -1 when the
 * subscriptions could not be read (logged).
 */
int fed_pusher_run(struct fed_pusher *p, int64_t now_us, volatile sig_atomic_t *stop,
    struct fed_push_stats *st);

/* Frees the pusher. NULL is a no-op. */
void fed_pusher_free(struct fed_pusher *p);

#endif
