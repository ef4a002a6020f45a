/* The id index's upgrade: a directory of schema 2 or older keeps its ids by id alone
 * ("ids"), which scatters every batch over the whole index. "idt" is keyed by time and id;
 * it is built here from the obs index (which holds each record's time and label) and the
 * feed (which holds its id), in transactions of IDT_BATCH records, before anything else
 * uses the store. The old index stays authoritative until the last transaction, which
 * drops it and writes the schema version: a build cut short starts again at next open. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "util/util.h"

#define IDT_BATCH 200000
#define OBS_KEY_MAX (STORE_THREAT_ID_MAX + 1 + UTIL_SHA256_LEN)
#define OBS_VAL_LEN 16

/* Where the build stands: the obs entry last indexed. */
struct idt_pos {
	int started;
	unsigned char key[OBS_KEY_MAX];
	size_t key_len;
	unsigned char val[OBS_VAL_LEN];
	size_t lost; /* obs entries whose label has no feed record */
};

struct idt_build {
	struct idt_pos done, next; /* as of the last commit; what the running one reached */
	size_t n;                  /* records indexed by the running transaction */
	int finished;
};

/* The last transaction: the old index must agree in its count, then it goes. */
static int
idt_finish(struct store_txn *t, struct idt_build *b)
{
	char buf[16];
	MDB_val sk = { 6, (void *)"schema" }, sv = { 0, buf };
	MDB_dbi old;
	MDB_stat st_new, st_old;
	int rc;

	if ((rc = mdb_stat(t->txn, t->s->dbi[STORE_DBI_IDS], &st_new)) != 0)
		return store_txn_fail(t, rc, "counting the id index");
	rc = mdb_dbi_open(t->txn, "ids", 0, &old);
	if (rc == 0) {
		if ((rc = mdb_stat(t->txn, old, &st_old)) != 0)
			return store_txn_fail(t, rc, "counting the old id index");
		if (st_old.ms_entries != st_new.ms_entries) {
			util_seterr(t->err.msg, sizeof(t->err.msg),
			    "%s: cannot rebuild the id index: %zu records are indexed by id, "
			    "%zu by time (%zu without a feed record); the data directory is "
			    "left as it was",
			    t->s->dir, st_old.ms_entries, st_new.ms_entries, b->next.lost);
			return STORE_ERR;
		}
		if ((rc = mdb_drop(t->txn, old, 1)) != 0)
			return store_txn_fail(t, rc, "dropping the old id index");
	} else if (rc != MDB_NOTFOUND) {
		return store_txn_fail(t, rc, "opening the old id index");
	}
	snprintf(buf, sizeof(buf), "%d", STORE_SCHEMA_VERSION);
	sv.mv_size = strlen(buf);
	if ((rc = mdb_put(t->txn, t->s->dbi[STORE_DBI_META], &sk, &sv, 0)) != 0)
		return store_txn_fail(t, rc, "writing the schema version");
	return STORE_OK;
}

static int
idt_batch(struct store_txn *t, void *arg)
{
	struct idt_build *b = arg;
	MDB_cursor *c = NULL;
	MDB_val k, v;
	int rc;

	b->next = b->done;
	b->n = 0;
	/* another process may have finished the upgrade since this one's open */
	{
		MDB_val sk = { 6, (void *)"schema" }, sv;

		char buf[16];

		rc = mdb_get(t->txn, t->s->dbi[STORE_DBI_META], &sk, &sv);
		if (rc == 0 && sv.mv_size < sizeof(buf)) {
			memcpy(buf, sv.mv_data, sv.mv_size);
			buf[sv.mv_size] = '\0';
			if (strtol(buf, NULL, 10) >= 3) {
				b->finished = 1;
				return STORE_OK;
			}
		}
	}
	if ((rc = mdb_cursor_open(t->txn, t->s->dbi[STORE_DBI_OBS], &c)) != 0)
		return store_txn_fail(t, rc, "opening a cursor");
	if (!b->next.started) {
		/* what an earlier, interrupted build left is built again */
		if ((rc = mdb_drop(t->txn, t->s->dbi[STORE_DBI_IDS], 0)) != 0) {
			mdb_cursor_close(c);
			return store_txn_fail(t, rc, "emptying the id index");
		}
		rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	} else {
		k.mv_size = b->next.key_len;
		k.mv_data = b->next.key;
		v.mv_size = OBS_VAL_LEN;
		v.mv_data = b->next.val;
		rc = mdb_cursor_get(c, &k, &v, MDB_GET_BOTH);
		if (rc == 0)
			rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	for (; rc == 0 && b->n < IDT_BATCH; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		unsigned char ik[STORE_IDT_KEY];
		MDB_val fk = { 8, (unsigned char *)v.mv_data + 8 }, fv, ikv = { STORE_IDT_KEY, ik },
			lv = { 8, (unsigned char *)v.mv_data + 8 };

		if (v.mv_size != OBS_VAL_LEN || k.mv_size > OBS_KEY_MAX)
			continue;
		b->next.started = 1;
		memcpy(b->next.key, k.mv_data, k.mv_size);
		b->next.key_len = k.mv_size;
		memcpy(b->next.val, v.mv_data, OBS_VAL_LEN);
		rc = mdb_get(t->txn, t->s->dbi[STORE_DBI_FEED], &fk, &fv);
		if (rc == MDB_NOTFOUND || (rc == 0 && fv.mv_size < STORE_ID_LEN)) {
			b->next.lost++;
			continue;
		}
		if (rc != 0)
			break;
		/* the obs value's time is already in the index's form */
		memcpy(ik, v.mv_data, 8);
		memcpy(ik + 8, fv.mv_data, STORE_ID_LEN);
		if ((rc = mdb_put(t->txn, t->s->dbi[STORE_DBI_IDS], &ikv, &lv, 0)) != 0)
			break;
		b->n++;
	}
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return store_txn_fail(t, rc, "rebuilding the id index");
	b->finished = rc == MDB_NOTFOUND;
	return b->finished ? idt_finish(t, b) : STORE_OK;
}

int
store_ids_migrate(struct store *s, const struct store_opts *opts, struct store_err *err)
{
	struct idt_build b;
	size_t total = 0, done = 0;
	MDB_txn *txn;
	MDB_stat st;

	memset(&b, 0, sizeof(b));
	if (store_txn_begin(s, MDB_RDONLY, &txn, err) != STORE_OK)
		return STORE_ERR;
	if (mdb_stat(txn, s->dbi[STORE_DBI_FEED], &st) == 0)
		total = st.ms_entries;
	store_txn_end(s, txn);
	while (!b.finished) {
		if (store_write(s, idt_batch, &b, err) != STORE_OK)
			return STORE_ERR;
		/* only a committed transaction moves the build on (store_write may run one
		 * twice when it grows the map) */
		b.done = b.next;
		done += b.n;
		if (opts && opts->progress)
			opts->progress(done < total ? done : total, total, opts->progress_arg);
	}
	return STORE_OK;
}
