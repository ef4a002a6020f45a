/* The feed's fast paths: a sparse count index (feed counts in O(log n) instead of a walk),
 * prepared bytes kept beside a record (a poll then copies them instead of converting the
 * record), and giving back the map's resident pages after large writes and scans. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "store/store_int.h"
#include "util/util.h"

/* Resident map pages (bytes) past which they are given back: enough for the top of every
 * tree to stay warm between transactions, small beside a big cycle's or poll's pages. */
#define RELEASE_SLACK ((long)32 << 20)

int
store_feed_open(struct store *s, MDB_txn *txn, struct store_err *err)
{
	static const char *const names[2] = {"feedmarks", "prepared"};
	MDB_dbi *dbis[2] = {&s->dbi_marks, &s->dbi_prep};
	int *missing[2] = {&s->no_marks, &s->no_prep};

	for (int i = 0; i < 2; i++) {
		int rc = mdb_dbi_open(txn, names[i], s->read_only ? 0 : MDB_CREATE, dbis[i]);

		/* A read-only look at a directory made before these existed: counts walk the
		 * feed and polls convert every record, as they did then. */
		if (rc == MDB_NOTFOUND && s->read_only) {
			*missing[i] = 1;
			continue;
		}
		if (rc != 0) {
			util_seterr(err->msg, sizeof(err->msg), "%s: cannot open database \"%s\": %s",
			    s->dir, names[i], mdb_strerror(rc));
			return STORE_ERR;
		}
	}
	return STORE_OK;
}

int
store_feed_marks_fill(struct store *s, MDB_txn *txn, struct store_err *err)
{
	MDB_cursor *fc = NULL, *mc = NULL;
	MDB_val k, v;
	MDB_stat st;
	unsigned char lb[8], ob[8];
	uint64_t ord = 0;
	int rc, ret = STORE_ERR;

	if (s->read_only || s->no_marks)
		return STORE_OK;
	if ((rc = mdb_stat(txn, s->dbi[STORE_DBI_FEED], &st)) != 0)
		goto fail;
	if ((rc = mdb_cursor_open(txn, s->dbi_marks, &mc)) != 0 ||
	    (rc = mdb_cursor_open(txn, s->dbi[STORE_DBI_FEED], &fc)) != 0)
		goto fail;
	/* From the last mark on: the marks before it stay right, since the feed only ever
	 * grows at its end. */
	rc = mdb_cursor_get(mc, &k, &v, MDB_LAST);
	if (rc == 0 && k.mv_size == 8 && v.mv_size == 8) {
		ord = store_get_be64(v.mv_data);
		if (st.ms_entries - ord < STORE_MARK_EVERY) {
			ret = STORE_OK;
			goto out;
		}
		store_put_be64(lb, store_get_be64(k.mv_data) + 1);
		k.mv_size = 8;
		k.mv_data = lb;
		rc = mdb_cursor_get(fc, &k, &v, MDB_SET_RANGE);
	} else if (rc == MDB_NOTFOUND) {
		if (st.ms_entries < STORE_MARK_EVERY) {
			ret = STORE_OK;
			goto out;
		}
		rc = mdb_cursor_get(fc, &k, &v, MDB_FIRST);
	} else {
		goto fail;
	}
	for (; rc == 0; rc = mdb_cursor_get(fc, &k, &v, MDB_NEXT)) {
		MDB_val mk = {8, lb}, mv = {8, ob};

		if (++ord % STORE_MARK_EVERY != 0)
			continue;
		memcpy(lb, k.mv_data, 8);
		store_put_be64(ob, ord);
		if ((rc = mdb_put(txn, s->dbi_marks, &mk, &mv, MDB_APPEND)) != 0)
			goto fail;
	}
	if (rc != MDB_NOTFOUND)
		goto fail;
	ret = STORE_OK;
	goto out;
fail:
	util_seterr(err->msg, sizeof(err->msg), "%s: indexing the feed's counts: %s", s->dir,
	    mdb_strerror(rc));
out:
	if (fc)
		mdb_cursor_close(fc);
	if (mc)
		mdb_cursor_close(mc);
	return ret;
}

int
store_feed_mark(struct store_txn *t, int64_t label)
{
	MDB_stat st;
	unsigned char lb[8], ob[8];
	MDB_val k = {8, lb}, v = {8, ob};
	int rc;

	if (t->s->no_marks)
		return STORE_OK;
	rc = mdb_stat(t->txn, t->s->dbi[STORE_DBI_FEED], &st);
	if (rc != 0)
		return store_txn_fail(t, rc, "counting the feed");
	if (st.ms_entries % STORE_MARK_EVERY != 0)
		return STORE_OK;
	store_put_be64(lb, (uint64_t)label);
	store_put_be64(ob, (uint64_t)st.ms_entries);
	rc = mdb_put(t->txn, t->s->dbi_marks, &k, &v, MDB_APPEND);
	if (rc != 0)
		return store_txn_fail(t, rc, "marking the feed's count");
	return STORE_OK;
}

/* Records with labels <= x: the nearest mark at or before x, then a walk of the feed from
 * there (under STORE_MARK_EVERY entries while the marks are complete). */
static int
feed_rank(struct store *s, MDB_txn *txn, MDB_cursor *fc, MDB_cursor *mc, uint64_t x,
    uint64_t total, uint64_t last, uint64_t *rank)
{
	unsigned char lb[8];
	MDB_val k = {8, lb}, v;
	uint64_t from = 0, n = 0;
	int rc;

	(void)txn;
	if (x >= last) {
		*rank = total;
		return 0;
	}
	if (mc != NULL && x < UINT64_MAX) {
		store_put_be64(lb, x + 1);
		rc = mdb_cursor_get(mc, &k, &v, MDB_SET_RANGE);
		if (rc == 0)
			rc = mdb_cursor_get(mc, &k, &v, MDB_PREV);
		else if (rc == MDB_NOTFOUND)
			rc = mdb_cursor_get(mc, &k, &v, MDB_LAST);
		if (rc == 0 && k.mv_size == 8 && v.mv_size == 8 && store_get_be64(k.mv_data) <= x) {
			from = store_get_be64(k.mv_data);
			n = store_get_be64(v.mv_data);
		} else if (rc != 0 && rc != MDB_NOTFOUND) {
			return rc;
		}
	}
	store_put_be64(lb, from + 1);
	k.mv_size = 8;
	k.mv_data = lb;
	for (rc = mdb_cursor_get(fc, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(fc, &k, &v, MDB_NEXT)) {
		if (k.mv_size == 8 && store_get_be64(k.mv_data) > x)
			break;
		n++;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	(void)s;
	*rank = n;
	return 0;
}

int
store_count_feed(struct store *s, int64_t after, int64_t until, size_t *n,
    struct store_err *err)
{
	MDB_txn *txn;
	MDB_cursor *fc = NULL, *mc = NULL;
	MDB_val k, v;
	MDB_stat st;
	uint64_t last = 0, ra = 0, ru = 0;
	int rc;

	*n = 0;
	if (after < 0)
		after = 0;
	if (until <= after)
		return STORE_OK;
	if (store_txn_begin(s, MDB_RDONLY, &txn, err) != STORE_OK)
		return STORE_ERR;
	rc = mdb_stat(txn, s->dbi[STORE_DBI_FEED], &st);
	if (rc == 0)
		rc = mdb_cursor_open(txn, s->dbi[STORE_DBI_FEED], &fc);
	if (rc == 0 && !s->no_marks)
		rc = mdb_cursor_open(txn, s->dbi_marks, &mc);
	if (rc == 0) {
		rc = mdb_cursor_get(fc, &k, &v, MDB_LAST);
		if (rc == 0 && k.mv_size == 8)
			last = store_get_be64(k.mv_data);
		if (rc == MDB_NOTFOUND)
			rc = 0;
	}
	if (rc == 0 && st.ms_entries > 0)
		rc = feed_rank(s, txn, fc, mc, (uint64_t)until, st.ms_entries, last, &ru);
	if (rc == 0 && st.ms_entries > 0 && ru > 0)
		rc = feed_rank(s, txn, fc, mc, (uint64_t)after, st.ms_entries, last, &ra);
	if (mc)
		mdb_cursor_close(mc);
	if (fc)
		mdb_cursor_close(fc);
	store_txn_end(s, txn);
	if (rc != 0) {
		util_seterr(err->msg, sizeof(err->msg), "%s: counting the feed: %s", s->dir,
		    mdb_strerror(rc));
		return STORE_ERR;
	}
	*n = ru > ra ? (size_t)(ru - ra) : 0;
	return STORE_OK;
}

/* ------------------------------------------------------------------ prepared bytes */

int
store_put_prep(struct store_txn *t, int64_t label, const char *data, size_t len)
{
	unsigned char lb[8];
	MDB_val k = {8, lb}, v = {len, (void *)data}, fv;
	int rc;

	if (t->s->no_prep)
		return STORE_OK;
	store_put_be64(lb, (uint64_t)label);
	/* Only beside a record: a label the feed lacks would be served by nobody. */
	rc = mdb_get(t->txn, t->s->dbi[STORE_DBI_FEED], &k, &fv);
	if (rc == MDB_NOTFOUND)
		return STORE_NOTFOUND;
	if (rc == 0)
		rc = mdb_put(t->txn, t->s->dbi_prep, &k, &v, 0);
	if (rc != 0)
		return store_txn_fail(t, rc, "keeping prepared bytes");
	return STORE_OK;
}

int
store_scan_feed_prep(struct store *s, int64_t after, int64_t until, size_t limit,
    store_prep_cb cb, void *arg, int64_t *last, struct store_err *err)
{
	unsigned char lb[8];
	MDB_txn *txn;
	MDB_cursor *fc = NULL, *pc = NULL;
	MDB_val k = {8, lb}, v, pk = {0, NULL}, pv = {0, NULL};
	size_t n = 0;
	int rc, prc = MDB_NOTFOUND, ret = STORE_OK;

	if (last)
		*last = after;
	if (after < 0)
		after = 0;
	if (until <= after)
		return STORE_OK;
	if (store_txn_begin(s, MDB_RDONLY, &txn, err) != STORE_OK)
		return STORE_ERR;
	rc = mdb_cursor_open(txn, s->dbi[STORE_DBI_FEED], &fc);
	if (rc == 0 && !s->no_prep)
		rc = mdb_cursor_open(txn, s->dbi_prep, &pc);
	if (rc != 0)
		goto fail;
	store_put_be64(lb, (uint64_t)after + 1);
	if (pc != NULL) {
		pk = k;
		prc = mdb_cursor_get(pc, &pk, &pv, MDB_SET_RANGE);
		if (prc != 0 && prc != MDB_NOTFOUND) {
			rc = prc;
			goto fail;
		}
	}
	/* Both databases are in label order: the prepared cursor follows the feed's. */
	for (rc = mdb_cursor_get(fc, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(fc, &k, &v, MDB_NEXT)) {
		uint64_t label;
		const char *p = NULL;
		size_t plen = 0;

		if (k.mv_size != 8 || v.mv_size < STORE_ID_LEN)
			continue;
		label = store_get_be64(k.mv_data);
		if (label > (uint64_t)until || (limit && n == limit))
			break;
		while (prc == 0 && (pk.mv_size != 8 || store_get_be64(pk.mv_data) < label))
			prc = mdb_cursor_get(pc, &pk, &pv, MDB_NEXT);
		if (prc != 0 && prc != MDB_NOTFOUND) {
			rc = prc;
			goto fail;
		}
		if (prc == 0 && store_get_be64(pk.mv_data) == label) {
			p = pv.mv_data;
			plen = pv.mv_size;
		}
		ret = cb((int64_t)label, v.mv_data, (const char *)v.mv_data + STORE_ID_LEN,
		    v.mv_size - STORE_ID_LEN, p, plen, arg);
		n++;
		if (last)
			*last = (int64_t)label;
		if (ret != 0)
			goto out;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		goto fail;
	goto out;
fail:
	util_seterr(err->msg, sizeof(err->msg), "%s: reading the feed: %s", s->dir,
	    mdb_strerror(rc));
	ret = STORE_ERR;
out:
	if (pc)
		mdb_cursor_close(pc);
	if (fc)
		mdb_cursor_close(fc);
	store_txn_end(s, txn);
	store_release_pages(s, 0);
	return ret;
}

/* The highest 8-byte key of database dbi (0: none), in a read transaction of its own. */
static int
last_label_of(struct store *s, MDB_dbi dbi, int64_t *label, const char *what,
    struct store_err *err)
{
	MDB_txn *txn;
	MDB_cursor *c = NULL;
	MDB_val k, v;
	int rc;

	*label = 0;
	if (store_txn_begin(s, MDB_RDONLY, &txn, err) != STORE_OK)
		return STORE_ERR;
	rc = mdb_cursor_open(txn, dbi, &c);
	if (rc == 0)
		rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	if (rc == 0 && k.mv_size == 8)
		*label = (int64_t)store_get_be64(k.mv_data);
	if (c)
		mdb_cursor_close(c);
	store_txn_end(s, txn);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		util_seterr(err->msg, sizeof(err->msg), "%s: reading %s: %s", s->dir, what,
		    mdb_strerror(rc));
		return STORE_ERR;
	}
	return STORE_OK;
}

int
store_last_prep(struct store *s, int64_t *label, struct store_err *err)
{
	*label = 0;
	if (s->no_prep)
		return STORE_OK;
	return last_label_of(s, s->dbi_prep, label, "the prepared bytes", err);
}

int
store_last_label(struct store *s, int64_t *label, struct store_err *err)
{
	return last_label_of(s, s->dbi[STORE_DBI_FEED], label, "the feed", err);
}

/* ------------------------------------------------------------------ resident pages */

/* Bytes of file-backed pages resident in this process (the map's, with the program's own
 * mapped files), from /proc/self/statm; -1 when unreadable. */
static long
resident_file_bytes(void)
{
	char buf[128];
	long size, res, shared;
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (sscanf(buf, "%ld %ld %ld", &size, &res, &shared) != 3)
		return -1;
	return shared * sysconf(_SC_PAGESIZE);
}

/* Drops this process's mapped pages of the data file. LMDB says where its map is only
 * with MDB_FIXEDMAP, so the mapping is found by the file's device and inode in
 * /proc/self/maps; the caller holds the resize lock, so the map cannot move meanwhile. */
static void
release_map(const struct store *s)
{
	char path[4096], line[4352];
	struct stat st;
	FILE *f;

	snprintf(path, sizeof(path), "%s/data.mdb", s->dir);
	if (stat(path, &st) != 0)
		return;
	f = fopen("/proc/self/maps", "re");
	if (f == NULL)
		return;
	/* Bounded by the process's mappings, which the kernel caps (vm.max_map_count). */
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi, off, ino;
		unsigned dmaj, dmin;
		char perms[8];

		if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu", &lo, &hi, perms, &off, &dmaj, &dmin,
			&ino) != 7)
			continue;
		if (ino != (unsigned long)st.st_ino || makedev(dmaj, dmin) != st.st_dev ||
		    perms[3] != 's')
			continue;
		(void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
	}
	fclose(f);
}

void
store_release_pages(struct store *s, int force)
{
	long now = resident_file_bytes(), base;

	if (now < 0)
		return;
	base = __atomic_load_n(&s->resident_base, __ATOMIC_RELAXED);
	if (!force && now - base < RELEASE_SLACK)
		return;
	/* The map is MAP_SHARED (with or without MDB_WRITEMAP): MADV_DONTNEED only drops this
	 * process's page table entries, never data, and a later access faults the same bytes
	 * back in from the page cache. So it is safe even while other threads read through the
	 * map. The shared lock keeps the map where it is (no resize meanwhile). */
	pthread_rwlock_rdlock(&s->lock);
	release_map(s);
	pthread_rwlock_unlock(&s->lock);
	now = resident_file_bytes();
	if (now >= 0)
		__atomic_store_n(&s->resident_base, now, __ATOMIC_RELAXED);
}
