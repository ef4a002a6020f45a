/* Internal to store/: the handle, the write transaction, and helpers shared by store.c
 * (environment) and store_ops.c (puts and scans). */
#ifndef C2W_STORE_INT_H
#define C2W_STORE_INT_H

#include <pthread.h>

#include <lmdb.h>

#include "store/store.h"

enum {
	STORE_DBI_META,
	STORE_DBI_TARGETS,
	STORE_DBI_FEED,
	STORE_DBI_OBS,
	STORE_DBI_IDS,
	STORE_DBI_CURSORS,
	STORE_DBI_EVENTS,
	STORE_DBI_SUBS,
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
	/* Likewise a directory made before records were counted by origin. */
	int no_origins;
	/* Held shared by every transaction of this process and exclusively while the map is
	 * resized: LMDB allows mdb_env_set_mapsize only with no transaction running. */
	pthread_rwlock_t lock;
};

struct store_txn {
	struct store *s;
	MDB_txn *txn;
	int mdb_rc;           /* the LMDB error that failed a put, for store_write */
	int64_t last_label;   /* last feed label used in this transaction; 0 = not read yet */
	int64_t last_event;   /* same for the events database */
	struct store_err err;
};

int store_txn_fail(struct store_txn *t, int mdb_rc, const char *what);

/* Begins a transaction with the resize lock held shared; store_txn_end aborts (or, for a
 * read transaction, ends) it and releases the lock. */
int store_txn_begin(struct store *s, unsigned flags, MDB_txn **txn, struct store_err *err);
void store_txn_end(struct store *s, MDB_txn *txn);

#endif
