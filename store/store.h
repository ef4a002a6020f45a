/*
 * store: the node's LMDB environment — targets, observation records, the poll feed, peer
 * cursors, change events and meta. It is the only module that talks to LMDB.
 *
 * Everything is kept as the caller's bytes (records and targets as compact JSON text) plus
 * the keys needed to find them again:
 *
 *   targets   threat_id NUL sha256(target key)          -> target key + target JSON
 *   feed      label (64-bit, big-endian)                 -> record id + record JSON
 *   feedmarks label of every 256th feed record           -> records up to it (count index)
 *   prepared  label                                      -> the caller's prepared bytes
 *   obs       threat_id NUL sha256(target key)          -> (time, label) sorted duplicates
 *   idt       observed_at (64 bits) + record id          -> label
 *   cursors   peer name                                  -> label
 *   events    label                                      -> event JSON
 *   subs      subscription id                            -> subscription (caller's bytes)
 *   sum       threat_id NUL sha256(target key)          -> summary entries (sorted
 *                                                           duplicates, see store_sum)
 *   sumdict   'd' + the key above -> target key; 'v'/'V' vantages, 'c'/'C' contents,
 *             'a'/'A' address sets, each name <-> a 32-bit id; '#' + kind -> next id
 *   origins   origin node id                             -> records held (64-bit count)
 *   meta      "schema"                                   -> schema version
 *
 * The feed label is the time (microseconds since the epoch) a record entered this node,
 * made strictly increasing and unique across every process sharing the data directory:
 * it is what TAXII polls serve in order. A record whose id is already present is never
 * stored twice. The id index leads with the record's time, which its id is made from
 * (rec_id): the records of a batch, a cycle or a poll are near in time, so their index
 * entries share a few pages instead of touching every page of the index.
 *
 * Several processes (the daemon and CLI commands) may use one data directory at once:
 * LMDB's lock file serializes writers. The map grows when full; no MDB_MAP_FULL reaches the
 * caller. The store never logs and never exits.
 */
#ifndef C2W_STORE_H
#define C2W_STORE_H

#include <stddef.h>
#include <stdint.h>

/* 2: summaries (sum, sumdict). A version 1 directory gets them built when opened for
 * writing; opened read-only it still reads, without summaries.
 * 3: the id index keyed by time and id ("idt", was "ids" by id alone), rebuilt from the
 * obs index when an older directory is opened for writing. */
#define STORE_SCHEMA_VERSION 3
#define STORE_ID_LEN 32         /* a record id: SHA-256 */
#define STORE_THREAT_ID_MAX 200 /* bytes; longer threat IDs are refused */

enum store_rc {
	STORE_OK = 0,
	STORE_ERR = -1,      /* see store_err.msg */
	STORE_NOTFOUND = -2, /* the thing asked for is not there */
};

struct store_err {
	char msg[512];
};

/* A static English text for an enum store_rc value (never NULL); store_err.msg says more. */
const char *store_strerror(int code);

struct store;
struct store_txn;

struct store_opts {
	size_t map_size; /* first map size in bytes; 0: a default. It doubles when full. */
	int read_only;   /* open without creating or writing anything */
	int no_sync;     /* skip fsync at commit (tests and benchmarks only) */
	/* Called while summaries are built for a data directory that had none (records done
	 * so far, records in all), at least once at the end; may be NULL. */
	void (*progress)(uint64_t done, uint64_t total, void *arg);
	void *progress_arg;
};

/*
 * Opens (creating when absent, unless read_only) the LMDB environment in directory `dir`,
 * which is created with mode 0700 if missing. A data directory written by a newer schema
 * is refused. Returns STORE_OK and a new handle in *out, or STORE_ERR with err filled
 * (and *out untouched). opts may be NULL.
 */
int store_open(const char *dir, const struct store_opts *opts, struct store **out,
    struct store_err *err);

/* Closes the environment. No transaction may be running. NULL is a no-op. */
void store_close(struct store *s);

/* Current map size in bytes (grows as data does). */
size_t store_map_size(const struct store *s);

/* Bytes the data file takes on disk. */
int64_t store_disk_bytes(const struct store *s);

/* ------------------------------------------------------------------ writes */

/*
 * Runs fn inside one write transaction and commits it. When fn returns non-zero the
 * transaction is aborted and that value returned (with err filled by the failing store
 * call, or a generic message). If the map fills, the transaction is aborted, the map
 * grown, and fn run again from the start: fn must therefore be restartable (reset any
 * counters of its own on entry). Nothing fn wrote is visible unless STORE_OK is returned.
 */
typedef int (*store_write_fn)(struct store_txn *txn, void *arg);
int store_write(struct store *s, store_write_fn fn, void *arg, struct store_err *err);

/* Outcome of a put, for callers that count what changed. */
enum store_put {
	STORE_PUT_NEW = 1,
	STORE_PUT_SAME = 2,    /* already present, unchanged */
	STORE_PUT_UPDATED = 3, /* target already present, its attributes replaced */
};

/*
 * Adds or replaces the target (threat_id, key). json is the target's JSON text. Returns an
 * enum store_put, or STORE_ERR (with the transaction's error set) — fn should return it.
 */
int store_put_target(struct store_txn *t, const char *threat_id, const char *key,
    const char *json, size_t len);

/* An observation record to add. All pointers are borrowed for the call. id and observed_us
 * go together (rec_id makes the one from the other): a record is known by both. */
struct store_obs {
	unsigned char id[STORE_ID_LEN];
	const char *threat_id;
	const char *target_key;
	int64_t observed_us;
	const char *json;
	size_t len;
	const char *origin; /* the node that made it (its "node"); NULL: counted under "" */
};

/*
 * Adds a record unless its id is already present. On STORE_PUT_NEW, *label (if not NULL)
 * receives the feed label given to it; on STORE_PUT_SAME the label it already had.
 * Returns an enum store_put or STORE_ERR.
 */
int store_put_obs(struct store_txn *t, const struct store_obs *o, int64_t *label);

/*
 * Adds n records at once; the same as n store_put_obs calls in array order (labels follow
 * that order), but the indexes are written in key order, which is several times faster
 * for large batches. results[i] (if not NULL) gets STORE_PUT_NEW or STORE_PUT_SAME and
 * labels[i] (if not NULL) the record's label. Returns STORE_OK or STORE_ERR.
 */
int store_put_obs_batch(struct store_txn *t, const struct store_obs *obs, size_t n,
    int *results, int64_t *labels);

/*
 * The same in two steps, so the part that needs no transaction (hashing the target keys,
 * reading each record's summary fields, sorting) can run outside it, beside another
 * batch's commit: store_batch_new prepares the n records of obs (borrowed: they must
 * outlive the batch); store_put_batch writes them (and may be called again for the same
 * batch, as store_write does when it grows the map). STORE_OK or STORE_ERR.
 */
struct store_batch;
int store_batch_new(const struct store_obs *obs, size_t n, struct store_batch **out,
    struct store_err *err);
int store_put_batch(struct store_txn *t, struct store_batch *b, int *results, int64_t *labels);
void store_batch_free(struct store_batch *b);

/* Sets peer's cursor (the last label fully merged from it). STORE_OK or STORE_ERR. */
int store_put_cursor(struct store_txn *t, const char *peer, int64_t label);

/* Replaces the text of the record at feed label `label`, which must hold the record `id`:
 * same id, same label, same indexes. Only for a record this node made before records
 * were signed, rewritten once with its signature added (nothing else may change). */
int store_rewrite_record(struct store_txn *t, int64_t label, const unsigned char id[STORE_ID_LEN],
    const char *json, size_t len);

/* Appends a change event (JSON text); *label gets its key. STORE_OK or STORE_ERR. */
int store_add_event(struct store_txn *t, const char *json, size_t len, int64_t *label);

/* Longest subscription id the subs database takes, in bytes. */
#define STORE_SUB_ID_MAX 128

/*
 * Adds or replaces subscription `id` (1 to STORE_SUB_ID_MAX bytes) with the caller's bytes
 * (the TAXII subscription state, as its owner encodes it). STORE_OK or STORE_ERR.
 */
int store_put_sub(struct store_txn *t, const char *id, const char *data, size_t len);

/*
 * Reads subscription `id` inside a write transaction, so a caller can change it and put
 * it back atomically. *data points into the map and lives until the next put or the end
 * of the transaction. STORE_OK, STORE_NOTFOUND, or STORE_ERR.
 */
int store_txn_get_sub(struct store_txn *t, const char *id, const char **data, size_t *len);

/* ------------------------------------------------------------------ reads */

/*
 * Every scan runs in its own read transaction (a consistent snapshot) and calls cb once
 * per item. Pointers given to cb point into the map and live only until cb returns. A
 * non-zero return from cb stops the scan; the scan then returns that value. Otherwise
 * scans return STORE_OK, or STORE_ERR with err filled.
 */

typedef int (*store_target_cb)(const char *threat_id, const char *key, size_t key_len,
    const char *json, size_t len, void *arg);

/* Targets of one threat ID (NULL: all), ordered by threat ID. */
int store_scan_targets(struct store *s, const char *threat_id, store_target_cb cb,
    void *arg, struct store_err *err);

/* Number of targets (of one threat ID, or all with NULL). */
int store_count_targets(struct store *s, const char *threat_id, size_t *n,
    struct store_err *err);

typedef int (*store_record_cb)(int64_t label, const unsigned char id[STORE_ID_LEN],
    const char *json, size_t len, void *arg);

/*
 * Records of one threat ID, grouped by target and in observation time order within a
 * target; target_key narrows to one target (NULL: every target). Only records observed in
 * [since_us, until_us) are given; pass INT64_MIN / INT64_MAX for no bound.
 */
int store_scan_obs(struct store *s, const char *threat_id, const char *target_key,
    int64_t since_us, int64_t until_us, store_record_cb cb, void *arg,
    struct store_err *err);

/*
 * Records in feed order with labels in (after, until] — TAXII's Exclusive_Begin and
 * Inclusive_End. At most `limit` records (0: no limit). *last (if not NULL) receives the
 * label of the last record given, or `after` when none was.
 */
int store_scan_feed(struct store *s, int64_t after, int64_t until, size_t limit,
    store_record_cb cb, void *arg, int64_t *last, struct store_err *err);

/* Number of records with labels in (after, until]: O(log n) (a sparse count index, one
 * mark every 256 records), not a walk of the range. */
int store_count_feed(struct store *s, int64_t after, int64_t until, size_t *n,
    struct store_err *err);

/*
 * Prepared bytes beside a record: the caller's own rendering of it (fed keeps the STIX
 * package a poll serves), kept under the record's feed label so that a poll copies them
 * instead of converting the record again. The store neither reads nor checks them.
 * store_put_prep keeps (or replaces) them for the record of `label`: STORE_OK,
 * STORE_NOTFOUND when the feed has no such label, or STORE_ERR.
 */
int store_put_prep(struct store_txn *t, int64_t label, const char *data, size_t len);

/* As store_record_cb, with the record's prepared bytes (prep NULL when none are kept). */
typedef int (*store_prep_cb)(int64_t label, const unsigned char id[STORE_ID_LEN],
    const char *json, size_t len, const char *prep, size_t prep_len, void *arg);

/* store_scan_feed, with each record's prepared bytes. */
int store_scan_feed_prep(struct store *s, int64_t after, int64_t until, size_t limit,
    store_prep_cb cb, void *arg, int64_t *last, struct store_err *err);

/* The highest label holding prepared bytes (0: none): where preparing ahead goes on. */
int store_last_prep(struct store *s, int64_t *label, struct store_err *err);

/*
 * The highest label of the feed as committed now (0: empty). Writers are serialized and
 * each takes labels above every label committed before it, so no record committed later
 * can have a label at or below this one: a poll may end here without missing one.
 */
int store_last_label(struct store *s, int64_t *label, struct store_err *err);

/*
 * Gives back this process's resident pages of the store's map (madvise MADV_DONTNEED: the
 * data stays in the page cache and on disk) once they exceed a slack of 32 MiB since the
 * last release, or always with `force`. Writes and feed scans call it themselves, so a
 * big observation cycle, merge or poll leaves the RSS flat; callers may too.
 */
void store_release_pages(struct store *s, int force);

/* Total records held. */
int store_count_records(struct store *s, size_t *n, struct store_err *err);

/*
 * Records held per origin (the store_obs.origin they were stored with), ordered by origin;
 * the counts move in the same transaction as the records, so reading them costs one
 * entry per origin. *complete (may be NULL) is set to 0 when the data directory holds
 * records stored before the counts existed and store_rebuild_origins has not run yet:
 * the counts then miss those. cb NULL: only *complete is read.
 */
typedef int (*store_origin_cb)(const char *origin, size_t len, uint64_t count, void *arg);
int store_scan_origins(struct store *s, store_origin_cb cb, void *arg, int *complete,
    struct store_err *err);

/*
 * Counts every record again by origin, in one write transaction, with `origin_of`
 * reading a record's origin from its JSON text into buf (0, or -1: counted under "").
 * For a data directory that is not complete (store_scan_origins). STORE_OK or STORE_ERR.
 */
typedef int (*store_origin_fn)(const char *json, size_t len, char *buf, size_t buflen,
    void *arg);
int store_rebuild_origins(struct store *s, store_origin_fn origin_of, void *arg,
    struct store_err *err);

/* One record by id and the time it was made from: STORE_OK (cb called once),
 * STORE_NOTFOUND, or STORE_ERR. */
int store_get_record(struct store *s, const unsigned char id[STORE_ID_LEN], int64_t observed_us,
    store_record_cb cb, void *arg, struct store_err *err);

/* Peer's cursor: STORE_OK with *label set, STORE_NOTFOUND when never polled, STORE_ERR. */
int store_get_cursor(struct store *s, const char *peer, int64_t *label,
    struct store_err *err);

/* Change events with labels in (after, until], oldest first; cb gets a NULL id. */
int store_scan_events(struct store *s, int64_t after, int64_t until, store_record_cb cb,
    void *arg, struct store_err *err);

typedef int (*store_sub_cb)(const char *id, size_t id_len, const char *data, size_t len,
    void *arg);

/* One subscription: STORE_OK (cb called once), STORE_NOTFOUND, or STORE_ERR. */
int store_get_sub(struct store *s, const char *id, store_sub_cb cb, void *arg,
    struct store_err *err);

/* Every subscription, ordered by id. */
int store_scan_subs(struct store *s, store_sub_cb cb, void *arg, struct store_err *err);

/* ------------------------------------------------------------------ summaries */

/*
 * Kept per destination, written in the same transaction as each record (by every
 * store_put_obs / store_put_obs_batch), so a report reads them instead of the records.
 * One entry per record, ordered by vantage then observation time. The store reads these
 * fields from the record's JSON: node and vantage (the vantage id), http.status (answered
 * when it is an integer 0..999), error (unanswered when http.status is absent and error's
 * kind is dns, refused, timeout, reset, tls or protocol; not run otherwise), http.sha256
 * and http.ssdeep (the content id), ping.sent / ping.received (clamped to 255), and
 * target.ipv4 / target.ipv6 (the address set id).
 */
#define STORE_SUM_UNANSWERED 1000 /* status of an observation the GET got no answer to */
#define STORE_SUM_NOT_RUN 1001    /* status of one whose GET was not run */
#define STORE_SUM_PING 1u         /* flags: the ping ran (sent > 0) */
#define STORE_SUM_NO_SCORE 255    /* score: not a change (or the first answer) */

struct store_sum {
	int64_t t;        /* observed_at, microseconds */
	uint32_t vantage; /* store_snap_vantage */
	uint32_t content; /* body, store_snap_content; 0 when not answered or no sha256 */
	uint32_t addrs;   /* store_snap_addrs; 0 when the record resolved no address */
	uint16_t status;  /* HTTP status, STORE_SUM_UNANSWERED or STORE_SUM_NOT_RUN */
	uint8_t ping_sent, ping_recv, flags;
	/* For an answered entry whose content differs from the previous answered entry of
	 * the same vantage: fuzzy_compare of their ssdeep hashes (0..100; 0 when either has
	 * none). Else STORE_SUM_NO_SCORE. Kept right when records arrive out of order. */
	uint8_t score;
};

/* A read transaction over the summaries: one consistent snapshot for a whole report. */
struct store_snap;

/*
 * Opens a snapshot. STORE_OK with *out set, STORE_NOTFOUND when the data directory has no
 * summaries (an older one opened read-only), or STORE_ERR. Close it with
 * store_snap_close (NULL is a no-op) before the store.
 */
int store_snap_open(struct store *s, struct store_snap **out, struct store_err *err);
void store_snap_close(struct store_snap *sn);

/*
 * Calls cb once per destination of threat_id (NULL: all, ordered by threat ID) or only for
 * target_key (with a threat_id), with every entry of that destination observed before
 * until_us, ordered by vantage then time. The entries array is the scan's and lives until
 * cb returns. A non-zero return from cb stops the scan and is returned.
 */
typedef int (*store_dest_cb)(const char *threat_id, const char *target_key,
    const struct store_sum *e, size_t n, void *arg);
int store_snap_dests(struct store_snap *sn, const char *threat_id, const char *target_key,
    int64_t until_us, store_dest_cb cb, void *arg, struct store_err *err);

/*
 * What the ids of an entry stand for. Pointers point into the map and live until the
 * snapshot is closed. Each returns STORE_OK, STORE_NOTFOUND or STORE_ERR.
 */
int store_snap_vantage(struct store_snap *sn, uint32_t id, const char **node,
    const char **label);
int store_snap_content(struct store_snap *sn, uint32_t id, unsigned char sha256[32],
    const char **ssdeep);
int store_snap_content_id(struct store_snap *sn, const unsigned char sha256[32], uint32_t *id);
/* The address set as text: addresses separated by one space, NUL-terminated. */
int store_snap_addrs(struct store_snap *sn, uint32_t id, const char **text);

#endif
