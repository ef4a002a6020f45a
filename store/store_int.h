/* Internal to store/: the handle, the write transaction, and helpers shared by store.c
 * (environment) and store_ops.c (puts and scans). */
#ifndef C2W_STORE_INT_H
#define C2W_STORE_INT_H

#include <pthread.h>
#include <string.h>

#include <lmdb.h>

#include "store/store.h"
#include "util/util.h"

enum {
	STORE_DBI_META,
	STORE_DBI_TARGETS,
	STORE_DBI_FEED,
	STORE_DBI_OBS,
	STORE_DBI_IDS,
	STORE_DBI_CURSORS,
	STORE_DBI_EVENTS,
	STORE_DBI_SUBS,
	STORE_DBI_SUM,     /* per destination, one compact entry per record (store_sum.c) */
	STORE_DBI_SUMDICT, /* what the entries refer to: vantages, contents, address sets */
	STORE_DBI_ORIGINS,
	STORE_NDBI
};

struct store {
	MDB_env *env;
	MDB_dbi dbi[STORE_NDBI];
	char *dir;
	int read_only;
	/* A data directory made before subscriptions existed, opened read-only, has no
	 * "subs" database: it then simply holds none. */
	int no_subs;
	/* Opened read-only before any c2watch that keeps summaries wrote to it: no "sum"
	 * databases, so no report can be made from it until it is opened for writing. */
	int no_sum;
	/* Likewise a directory made before records were counted by origin. */
	int no_origins;
	/* An older directory opened read-only: STORE_DBI_IDS is its "ids", keyed by id. */
	int ids_by_id;
	/* Held shared by every transaction of this process and exclusively while the map is
	 * resized: LMDB allows mdb_env_set_mapsize only with no transaction running. */
	pthread_rwlock_t lock;
	/* store_feed.c: the feed's count marks and prepared bytes, each missing only from an
	 * old directory opened read-only; the resident file bytes after the last release. */
	MDB_dbi dbi_marks, dbi_prep;
	int no_marks, no_prep;
	long resident_base;
};

struct store_txn {
	struct store *s;
	MDB_txn *txn;
	int mdb_rc;           /* the LMDB error that failed a put, for store_write */
	int64_t last_label;   /* last feed label used in this transaction; 0 = not read yet */
	int64_t last_event;   /* same for the events database */
	MDB_cursor *sum_cur;  /* on the sum database, opened by the first summary written */
	struct store_sum_cache *sum_cache; /* store_sum.c's, made by the first summary */
	int sum_cache_failed; /* no memory for it: every name is read from LMDB */
	struct store_err err;
};

static inline void
store_put_be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

static inline uint64_t
store_get_be64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Signed times sort correctly as unsigned big-endian once the sign bit is flipped. */
static inline void
store_put_time(unsigned char *p, int64_t t)
{
	store_put_be64(p, (uint64_t)t ^ UINT64_C(0x8000000000000000));
}

/* A record's key in the id index: its time, then its id. */
#define STORE_IDT_KEY (8 + STORE_ID_LEN)

static inline void
store_idt_key(unsigned char *k, int64_t observed_us, const unsigned char *id)
{
	store_put_time(k, observed_us);
	memcpy(k + 8, id, STORE_ID_LEN);
}

static inline int64_t
store_get_time(const unsigned char *p)
{
	return (int64_t)(store_get_be64(p) ^ UINT64_C(0x8000000000000000));
}

/* What a record's summary entry is made of, read from its JSON outside any transaction
 * (store_sum_prepare); the dictionary ids are given when it is put. Strings are offsets
 * into the arena the preparation appended them to, each ending in a NUL. */
struct store_sum_src {
	uint8_t usable; /* 0: the text is not a JSON object; no entry is made */
	uint8_t has_content, flags, ping_sent, ping_recv;
	uint16_t status;
	unsigned char content[UTIL_SHA256_LEN], addrs_hash[UTIL_SHA256_LEN];
	size_t names, names_len; /* node NUL vantage; names_len leaves the last NUL out */
	size_t ssdeep, ssdeep_len;
	size_t addrs, addrs_len; /* the address set's text; addrs_len 0: none */
};

/* Reads o's summary fields into src (strings appended to arena). STORE_OK (also for a
 * text no entry can be made of: src->usable 0) or STORE_ERR (memory; err set). */
int store_sum_prepare(const struct store_obs *o, struct store_sum_src *src,
    struct util_buf *arena, struct store_err *err);

/* store_sum_put for a record prepared by store_sum_prepare. */
int store_sum_put_src(struct store_txn *t, const struct store_obs *o, const unsigned char *th,
    const struct store_sum_src *src, const char *arena);

/*
 * Writes the summary entry of a record that store_put_obs_batch has just added (th is
 * sha256 of its target key), and rescores the next answered entry of its vantage when
 * the record arrived out of time order. A record whose entry exists is left alone.
 * STORE_OK or STORE_ERR (t's error set).
 */
int store_sum_put(struct store_txn *t, const struct store_obs *o, const unsigned char *th);

/* Writes what the transaction's summary cache holds back (its counters): called before
 * the commit. STORE_OK or STORE_ERR. */
int store_sum_flush(struct store_txn *t);
/* Frees the cache, after the transaction's commit or abort. */
void store_sum_cache_free(struct store_txn *t);

/* Builds the id index "idt" of a directory of schema 2 or older from its obs index and
 * feed, then drops the old "ids" (store_open). */
int store_ids_migrate(struct store *s, const struct store_opts *opts, struct store_err *err);

/* Builds the summaries of a data directory written before they existed (store_open). */
int store_sum_migrate(struct store *s, const struct store_opts *opts, struct store_err *err);
int store_txn_fail(struct store_txn *t, int mdb_rc, const char *what);

/* Begins a transaction with the resize lock held shared; store_txn_end aborts (or, for a
 * read transaction, ends) it and releases the lock. */
int store_txn_begin(struct store *s, unsigned flags, MDB_txn **txn, struct store_err *err);
void store_txn_end(struct store *s, MDB_txn *txn);

/* store_feed.c. A mark (label -> records up to it) every STORE_MARK_EVERY feed records. */
#define STORE_MARK_EVERY 256
/* Opens (creating) the marks and prepared databases inside the opening transaction. */
int store_feed_open(struct store *s, MDB_txn *txn, struct store_err *err);
/* Adds the marks a directory made before them lacks (a walk of the feed after the last
 * mark; nothing when they are complete). */
int store_feed_marks_fill(struct store *s, MDB_txn *txn, struct store_err *err);
/* Called after each feed append of `label`: writes a mark when one is due. */
int store_feed_mark(struct store_txn *t, int64_t label);

#endif
