/* The LMDB environment behind struct store: opening, growing the map, and the write loop
 * that reruns a transaction after the map grew. The key layouts are described in
 * store.h; the puts and scans are in store_ops.c. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/store_int.h"
#include "util/util.h"

#define DEFAULT_MAP_SIZE ((size_t)1 << 30) /* 1 GiB of address space; the file is sparse */
#define MAX_MAP_STEP ((size_t)8 << 30)     /* grow by doubling, at most 8 GiB at a time */
#define WRITE_ATTEMPTS 40

const char *
store_strerror(int code)
{
	switch (code) {
	case STORE_OK: return "success";
	case STORE_ERR: return "storage error";
	case STORE_NOTFOUND: return "not found";
	default: return "unknown store error";
	}
}

int
store_txn_fail(struct store_txn *t, int mdb_rc, const char *what)
{
	t->mdb_rc = mdb_rc;
	util_seterr(t->err.msg, sizeof(t->err.msg), "%s: %s: %s", t->s->dir, what,
	    mdb_strerror(mdb_rc));
	return STORE_ERR;
}

static const char *const dbi_names[STORE_NDBI] = {
	"meta", "targets", "feed", "obs", "idt", "cursors", "events", "subs", "sum", "sumdict",
	"origins",
};

/* Grows the map to at least `want` bytes, or adopts the size another process set when
 * want is 0. Holding the lock exclusively guarantees no transaction of this process runs,
 * which mdb_env_set_mapsize requires. */
static int
store_grow(struct store *s, size_t want, struct store_err *err)
{
	MDB_envinfo info;
	int rc = 0;

	pthread_rwlock_wrlock(&s->lock);
	mdb_env_info(s->env, &info);
	if (want == 0 || info.me_mapsize < want)
		rc = mdb_env_set_mapsize(s->env, want);
	pthread_rwlock_unlock(&s->lock);
	if (rc != 0) {
		util_seterr(err->msg, sizeof(err->msg), "%s: cannot grow the map to %zu bytes: %s",
		    s->dir, want,
		    mdb_strerror(rc));
		return STORE_ERR;
	}
	return STORE_OK;
}

static size_t
next_map_size(const struct store *s)
{
	size_t cur = store_map_size(s);

	return cur + (cur < MAX_MAP_STEP ? cur : MAX_MAP_STEP);
}

int
store_txn_begin(struct store *s, unsigned flags, MDB_txn **txn, struct store_err *err)
{
	for (int attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
		int rc;

		pthread_rwlock_rdlock(&s->lock);
		rc = mdb_txn_begin(s->env, NULL, flags, txn);
		if (rc == 0)
			return STORE_OK;
		pthread_rwlock_unlock(&s->lock);
		if (rc != MDB_MAP_RESIZED) {
			util_seterr(err->msg, sizeof(err->msg),
			    "%s: cannot begin a transaction: %s", s->dir,
			    mdb_strerror(rc));
			return STORE_ERR;
		}
		/* Another process grew the map: take its size and try again. */
		if (store_grow(s, 0, err) != STORE_OK)
			return STORE_ERR;
	}
	util_seterr(err->msg, sizeof(err->msg), "%s: the map kept being resized; gave up", s->dir);
	return STORE_ERR;
}

void
store_txn_end(struct store *s, MDB_txn *txn)
{
	mdb_txn_abort(txn);
	pthread_rwlock_unlock(&s->lock);
}

int
store_write(struct store *s, store_write_fn fn, void *arg, struct store_err *err)
{
	struct store_txn t;
	int rc;

	if (s->read_only) {
		util_seterr(err->msg, sizeof(err->msg), "%s: opened read-only", s->dir);
		return STORE_ERR;
	}
	for (int attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
		memset(&t, 0, sizeof(t));
		t.s = s;
		if (store_txn_begin(s, 0, &t.txn, err) != STORE_OK)
			return STORE_ERR;
		rc = fn(&t, arg);
		if (rc == 0 && store_sum_flush(&t) != STORE_OK)
			rc = STORE_ERR;
		if (rc != 0) {
			mdb_txn_abort(t.txn);
			pthread_rwlock_unlock(&s->lock);
			store_sum_cache_free(&t);
			if (t.mdb_rc == MDB_MAP_FULL) {
				if (store_grow(s, next_map_size(s), err) != STORE_OK)
					return STORE_ERR;
				continue;
			}
			if (t.err.msg[0])
				memcpy(err->msg, t.err.msg, sizeof(err->msg));
			else
				util_seterr(err->msg, sizeof(err->msg),
				    "%s: write abandoned by the caller", s->dir);
			return rc;
		}
		rc = mdb_txn_commit(t.txn);
		pthread_rwlock_unlock(&s->lock);
		store_sum_cache_free(&t);
		if (rc == MDB_MAP_FULL) {
			if (store_grow(s, next_map_size(s), err) != STORE_OK)
				return STORE_ERR;
			continue;
		}
		if (rc != 0) {
			util_seterr(err->msg, sizeof(err->msg), "%s: commit failed: %s", s->dir,
			    mdb_strerror(rc));
			return STORE_ERR;
		}
		store_release_pages(s, 0);
		return STORE_OK;
	}
	util_seterr(err->msg, sizeof(err->msg),
	    "%s: the map is still full after growing it %d times", s->dir,
	    WRITE_ATTEMPTS);
	return STORE_ERR;
}

/*
 * The origins database counts records by origin as they are stored; meta "origins" says
 * the counts cover every record. A new (empty) store is covered from the start; one that
 * already holds records from before the counts existed is not until
 * store_rebuild_origins has run.
 */
static int
store_origins_init(struct store *s, MDB_txn *txn, struct store_err *err)
{
	MDB_val k = {7, (void *)"origins"}, v = {1, (void *)"1"};
	MDB_stat st;
	int rc = mdb_get(txn, s->dbi[STORE_DBI_META], &k, &v);

	if (rc == 0)
		return STORE_OK;
	if (rc == MDB_NOTFOUND) {
		/* the feed: the id index of an older directory is not built yet */
		rc = mdb_stat(txn, s->dbi[STORE_DBI_FEED], &st);
		if (rc == 0 && st.ms_entries > 0)
			return STORE_OK;
		v.mv_size = 1;
		v.mv_data = (void *)"1";
		if (rc == 0)
			rc = mdb_put(txn, s->dbi[STORE_DBI_META], &k, &v, 0);
	}
	if (rc != 0) {
		util_seterr(err->msg, sizeof(err->msg), "%s: cannot set up the origin counts: %s",
		    s->dir, mdb_strerror(rc));
		return STORE_ERR;
	}
	return STORE_OK;
}

/* Opens or creates the named databases and checks the schema version. */
static int
store_init_dbs(struct store *s, long *version, struct store_err *err)
{
	MDB_txn *txn = NULL;
	unsigned flags = s->read_only ? MDB_RDONLY : 0;
	MDB_val k = {6, (void *)"schema"}, v;
	int rc, ret = STORE_ERR, idt_missing = 0;

	if (store_txn_begin(s, flags, &txn, err) != STORE_OK)
		return STORE_ERR;
	for (int i = 0; i < STORE_NDBI; i++) {
		unsigned dflags = i == STORE_DBI_OBS || i == STORE_DBI_SUM ?
		    MDB_DUPSORT | MDB_DUPFIXED : 0;

		if (!s->read_only)
			dflags |= MDB_CREATE;
		rc = mdb_dbi_open(txn, dbi_names[i], dflags, &s->dbi[i]);
		if (rc == MDB_NOTFOUND && i == STORE_DBI_IDS) {
			idt_missing = 1; /* read-only: the older index is looked for below */
			continue;
		}
		if (rc == MDB_NOTFOUND && i == STORE_DBI_SUBS) {
			s->no_subs = 1;
			continue;
		}
		if (rc == MDB_NOTFOUND && (i == STORE_DBI_SUM || i == STORE_DBI_SUMDICT)) {
			s->no_sum = 1;
			continue;
		}
		if (rc == MDB_NOTFOUND && i == STORE_DBI_ORIGINS) {
			s->no_origins = 1;
			continue;
		}
		if (rc == MDB_NOTFOUND) {
			util_seterr(err->msg, sizeof(err->msg),
			    "%s: not a c2watch data directory (no \"%s\" database)",
			    s->dir, dbi_names[i]);
			goto out;
		}
		if (rc != 0) {
			util_seterr(err->msg, sizeof(err->msg),
			    "%s: cannot open database \"%s\": %s", s->dir,
			    dbi_names[i], mdb_strerror(rc));
			goto out;
		}
	}
	rc = mdb_get(txn, s->dbi[STORE_DBI_META], &k, &v);
	if (rc == 0) {
		char buf[16];
		long ver;

		if (v.mv_size == 0 || v.mv_size >= sizeof(buf)) {
			util_seterr(err->msg, sizeof(err->msg), "%s: unreadable schema version",
			    s->dir);
			goto out;
		}
		memcpy(buf, v.mv_data, v.mv_size);
		buf[v.mv_size] = '\0';
		ver = strtol(buf, NULL, 10);
		if (ver > STORE_SCHEMA_VERSION) {
			util_seterr(err->msg, sizeof(err->msg),
			    "%s: data written by a newer c2watch (schema %ld; this one reads up "
			    "to %d); upgrade c2watch or use another data_dir",
			    s->dir, ver, STORE_SCHEMA_VERSION);
			goto out;
		}
		if (ver < 1) {
			util_seterr(err->msg, sizeof(err->msg),
			    "%s: unreadable schema version \"%s\"", s->dir, buf);
			goto out;
		}
		*version = ver;
		/* Read-only, an older directory's summaries may be missing or half built. */
		if (ver < 2 && s->read_only)
			s->no_sum = 1;
	} else if (rc == MDB_NOTFOUND && !s->read_only) {
		char buf[16];

		*version = STORE_SCHEMA_VERSION;
		snprintf(buf, sizeof(buf), "%d", STORE_SCHEMA_VERSION);
		v.mv_size = strlen(buf);
		v.mv_data = buf;
		rc = mdb_put(txn, s->dbi[STORE_DBI_META], &k, &v, 0);
		if (rc != 0) {
			util_seterr(err->msg, sizeof(err->msg),
			    "%s: cannot write the schema version: %s", s->dir,
			    mdb_strerror(rc));
			goto out;
		}
	} else if (rc != MDB_NOTFOUND) {
		util_seterr(err->msg, sizeof(err->msg), "%s: cannot read the schema version: %s",
		    s->dir,
		    mdb_strerror(rc));
		goto out;
	}
	/* Read-only, a directory of schema 2 or older is read through its index by id, even
	 * when an upgrade cut short left the new one half built. */
	if (s->read_only && (idt_missing || (*version > 0 && *version < 3))) {
		rc = mdb_dbi_open(txn, "ids", 0, &s->dbi[STORE_DBI_IDS]);
		if (rc != 0) {
			util_seterr(err->msg, sizeof(err->msg),
			    "%s: no id index (\"%s\" nor \"ids\"): %s", s->dir,
			    dbi_names[STORE_DBI_IDS], mdb_strerror(rc));
			goto out;
		}
		s->ids_by_id = 1;
	}
	if (store_feed_open(s, txn, err) != STORE_OK || store_feed_marks_fill(s, txn, err) !=
	    STORE_OK || (!s->read_only && store_origins_init(s, txn, err) != STORE_OK))
		goto out;
	/* Committing, even a read-only transaction, keeps the database handles open. */
	{
		rc = mdb_txn_commit(txn);
		txn = NULL;
		pthread_rwlock_unlock(&s->lock);
		if (rc != 0) {
			util_seterr(err->msg, sizeof(err->msg),
			    "%s: cannot create the databases: %s", s->dir,
			    mdb_strerror(rc));
			return STORE_ERR;
		}
	}
	ret = STORE_OK;
out:
	if (txn)
		store_txn_end(s, txn);
	return ret;
}

int
store_open(const char *dir, const struct store_opts *opts, struct store **out,
    struct store_err *err)
{
	struct store_opts defaults = {0};
	struct store *s;
	struct stat st;
	unsigned flags = MDB_NOTLS;
	long version = 0;
	int rc;

	if (opts == NULL)
		opts = &defaults;
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->dir = strdup(dir)) == NULL) {
		free(s);
		util_seterr(err->msg, sizeof(err->msg), "%s: out of memory", dir);
		return STORE_ERR;
	}
	s->read_only = opts->read_only;
	pthread_rwlock_init(&s->lock, NULL);

	if (stat(dir, &st) != 0) {
		if (errno != ENOENT || s->read_only) {
			util_seterr(err->msg, sizeof(err->msg), "%s: %s", dir, strerror(errno));
			goto fail;
		}
		if (mkdir(dir, 0700) != 0) {
			util_seterr(err->msg, sizeof(err->msg),
			    "%s: cannot create the data directory: %s", dir,
			    strerror(errno));
			goto fail;
		}
	} else if (!S_ISDIR(st.st_mode)) {
		util_seterr(err->msg, sizeof(err->msg), "%s: not a directory", dir);
		goto fail;
	}

	if ((rc = mdb_env_create(&s->env)) != 0) {
		util_seterr(err->msg, sizeof(err->msg), "%s: %s", dir, mdb_strerror(rc));
		goto fail;
	}
	mdb_env_set_maxdbs(s->env, STORE_NDBI + 8);
	mdb_env_set_maxreaders(s->env, 512);
	mdb_env_set_mapsize(s->env, opts->map_size ? opts->map_size : DEFAULT_MAP_SIZE);
	if (s->read_only)
		flags |= MDB_RDONLY;
	if (opts->no_sync)
		flags |= MDB_NOSYNC;
	rc = mdb_env_open(s->env, dir, flags, 0600);
	if (rc != 0) {
		util_seterr(err->msg, sizeof(err->msg), "%s: cannot open the LMDB environment: %s",
		    dir,
		    mdb_strerror(rc));
		goto fail;
	}
	if (store_init_dbs(s, &version, err) != STORE_OK)
		goto fail;
	/* A directory of schema 1 gets its summaries once, before anything else uses it. */
	if (!s->read_only && version < 2 && store_sum_migrate(s, opts, err) != STORE_OK)
		goto fail;
	/* And one of schema 2 or older its id index by time. */
	if (!s->read_only && version < 3 && store_ids_migrate(s, opts, err) != STORE_OK)
		goto fail;
	*out = s;
	return STORE_OK;
fail:
	store_close(s);
	return STORE_ERR;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->env)
		mdb_env_close(s->env);
	pthread_rwlock_destroy(&s->lock);
	free(s->dir);
	free(s);
}

size_t
store_map_size(const struct store *s)
{
	MDB_envinfo info;

	mdb_env_info(s->env, &info);
	return info.me_mapsize;
}

int64_t
store_disk_bytes(const struct store *s)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/data.mdb", s->dir);
	if (stat(path, &st) != 0)
		return -1;
	return (int64_t)st.st_blocks * 512;
}
