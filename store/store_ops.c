/* Puts and scans over the databases described in store.h. Keys are built in stack
 * buffers: a threat ID is at most STORE_THREAT_ID_MAX bytes and target keys enter keys
 * only as their SHA-256, so every key stays below LMDB's 511-byte limit. */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "util/util.h"

#define OBS_KEY_MAX (STORE_THREAT_ID_MAX + 1 + UTIL_SHA256_LEN)
#define OBS_VAL_LEN 16 /* time, label: sorted duplicates of one target's key */
#define CURSOR_NAME_MAX 256
#define ORIGIN_KEY_MAX 255 /* an origin longer than this is counted under its first bytes */
#define PREP_PARALLEL_MIN 4096 /* a batch this large is prepared on two threads */

/* threat_id NUL [sha256(target_key)] — the shared prefix of targets and obs keys.
 * Returns its length, or 0 when the threat ID is empty, too long or holds a NUL. */
static size_t
prefix_key(unsigned char *buf, const char *threat_id, const char *target_key)
{
	size_t n = strlen(threat_id);

	if (n == 0 || n > STORE_THREAT_ID_MAX)
		return 0;
	memcpy(buf, threat_id, n);
	buf[n++] = '\0';
	if (target_key) {
		if (util_sha256(target_key, strlen(target_key), buf + n) != 0)
			return 0;
		n += UTIL_SHA256_LEN;
	}
	return n;
}

static int
bad_threat_id(struct store_err *err, const char *threat_id)
{
	util_seterr(err->msg, sizeof(err->msg),
	    "threat ID \"%.40s%s\" is empty or longer than %d bytes",
	    threat_id, strlen(threat_id) > 40 ? "..." : "", STORE_THREAT_ID_MAX);
	return STORE_ERR;
}

int
store_put_target(struct store_txn *t, const char *threat_id, const char *key,
    const char *json, size_t len)
{
	unsigned char kb[STORE_THREAT_ID_MAX + 1 + UTIL_SHA256_LEN];
	size_t klen = strlen(key), kn = prefix_key(kb, threat_id, key);
	MDB_val k = {kn, kb}, v, old;
	unsigned char *p;
	uint32_t kl32 = (uint32_t)klen;
	int rc, ret;

	if (kn == 0)
		return bad_threat_id(&t->err, threat_id);
	/* Value: target key length (4 bytes, big-endian so a copied data directory reads
	 * the same anywhere), the key, the JSON. */
	rc = mdb_get(t->txn, t->s->dbi[STORE_DBI_TARGETS], &k, &old);
	if (rc == 0) {
		if (old.mv_size == 4 + klen + len &&
		    memcmp((unsigned char *)old.mv_data + 4 + klen, json, len) == 0)
			return STORE_PUT_SAME;
		ret = STORE_PUT_UPDATED;
	} else if (rc == MDB_NOTFOUND) {
		ret = STORE_PUT_NEW;
	} else {
		return store_txn_fail(t, rc, "reading a target");
	}
	v.mv_size = 4 + klen + len;
	rc = mdb_put(t->txn, t->s->dbi[STORE_DBI_TARGETS], &k, &v, MDB_RESERVE);
	if (rc != 0)
		return store_txn_fail(t, rc, "writing a target");
	p = v.mv_data;
	p[0] = (unsigned char)(kl32 >> 24);
	p[1] = (unsigned char)(kl32 >> 16);
	p[2] = (unsigned char)(kl32 >> 8);
	p[3] = (unsigned char)kl32;
	memcpy(p + 4, key, klen);
	memcpy(p + 4 + klen, json, len);
	return ret;
}

/* The next label of a sequence kept as the last key of `dbi`: strictly increasing and
 * unique among every process, since write transactions are serialized by LMDB. */
static int
next_label(struct store_txn *t, int dbi, int64_t *cache, int64_t *label)
{
	int64_t now = util_now_us();

	if (*cache == 0) {
		MDB_cursor *c;
		MDB_val k, v;
		int rc = mdb_cursor_open(t->txn, t->s->dbi[dbi], &c);

		if (rc != 0)
			return store_txn_fail(t, rc, "opening a cursor");
		rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
		mdb_cursor_close(c);
		if (rc == 0 && k.mv_size == 8)
			*cache = (int64_t)store_get_be64(k.mv_data);
		else if (rc != 0 && rc != MDB_NOTFOUND)
			return store_txn_fail(t, rc, "reading the last label");
		else
			*cache = 1; /* empty: any positive time is after it */
	}
	*label = now > *cache ? now : *cache + 1;
	*cache = *label;
	return STORE_OK;
}

/* One record of a batch on its way in: what store_batch_new prepared, then what a put
 * found (reset by each put: store_write may run one transaction twice). */
struct pending {
	const struct store_obs *o;
	size_t idx;                 /* position in the caller's array */
	unsigned char th[UTIL_SHA256_LEN]; /* sha256(target key) */
	unsigned char ik[STORE_IDT_KEY];   /* its key in the id index */
	struct store_sum_src sum;
	unsigned char half;         /* the arena its summary's strings are in */
	unsigned char append;       /* new and past the id index's last key */
	struct pending *dup_of;     /* an earlier copy of the same id in this batch */
	int64_t label;
	int rc;
};

struct store_batch {
	size_t n;
	struct pending *all;
	struct pending **by_id;  /* id index order: time, then id */
	struct pending **by_key; /* (threat, target, time) order: the obs index, summaries */
	struct pending **scratch;
	struct util_buf arena[2]; /* the summaries' strings, one arena per preparing half */
};

static int
by_id(const void *a, const void *b)
{
	const struct pending *x = *(struct pending *const *)a, *y = *(struct pending *const *)b;
	int c = memcmp(x->ik, y->ik, sizeof(x->ik));

	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

static int
by_obs_key(const void *a, const void *b)
{
	const struct pending *x = *(struct pending *const *)a, *y = *(struct pending *const *)b;
	int c = strcmp(x->o->threat_id, y->o->threat_id);

	if (c == 0)
		c = memcmp(x->th, y->th, sizeof(x->th));
	if (c == 0)
		c = (x->o->observed_us > y->o->observed_us) - (x->o->observed_us < y->o->observed_us);
	return c;
}

static int
put_feed(struct store_txn *t, struct pending *p)
{
	unsigned char lb[8];
	MDB_val k = {8, lb}, v = {STORE_ID_LEN + p->o->len, NULL};
	int rc;

	if (next_label(t, STORE_DBI_FEED, &t->last_label, &p->label) != STORE_OK)
		return STORE_ERR;
	store_put_be64(lb, (uint64_t)p->label);
	rc = mdb_put(t->txn, t->s->dbi[STORE_DBI_FEED], &k, &v, MDB_APPEND | MDB_RESERVE);
	if (rc != 0)
		return store_txn_fail(t, rc, "appending to the feed");
	memcpy(v.mv_data, p->o->id, STORE_ID_LEN);
	memcpy((unsigned char *)v.mv_data + STORE_ID_LEN, p->o->json, p->o->len);
	return store_feed_mark(t, p->label);
}

/* One key per target, its records as fixed-size sorted duplicates (time, label): far
 * fewer and shorter keys than one key per record, and appends stay local. */
static int
put_obs_index(struct store_txn *t, const struct pending *p)
{
	unsigned char kb[OBS_KEY_MAX], ov[OBS_VAL_LEN];
	size_t kn = strlen(p->o->threat_id);
	MDB_val k, v = {OBS_VAL_LEN, ov};
	int rc;

	memcpy(kb, p->o->threat_id, kn);
	kb[kn++] = '\0';
	memcpy(kb + kn, p->th, UTIL_SHA256_LEN);
	k.mv_size = kn + UTIL_SHA256_LEN;
	k.mv_data = kb;
	store_put_time(ov, p->o->observed_us);
	store_put_be64(ov + 8, (uint64_t)p->label);
	rc = mdb_put(t->txn, t->s->dbi[STORE_DBI_OBS], &k, &v, MDB_NODUPDATA);
	if (rc != 0)
		return store_txn_fail(t, rc, "indexing a record");
	return STORE_OK;
}

static const char *
pending_origin(const struct pending *p)
{
	return p->o->origin ? p->o->origin : "";
}

static int
by_origin(const void *a, const void *b)
{
	return strcmp(pending_origin(*(struct pending *const *)a),
	    pending_origin(*(struct pending *const *)b));
}

/* Adds n to the count of `origin`. */
static int
count_origin(struct store_txn *t, const char *origin, uint64_t n)
{
	size_t len = strlen(origin);
	unsigned char cb[8];
	MDB_val k = {len > ORIGIN_KEY_MAX ? ORIGIN_KEY_MAX : len, (void *)origin}, v;
	int rc;

	/* LMDB refuses empty keys: the unknown origin is kept as one NUL. */
	if (k.mv_size == 0) {
		k.mv_size = 1;
		k.mv_data = (void *)"";
	}
	rc = mdb_get(t->txn, t->s->dbi[STORE_DBI_ORIGINS], &k, &v);
	if (rc == 0 && v.mv_size == 8)
		n += store_get_be64(v.mv_data);
	else if (rc != 0 && rc != MDB_NOTFOUND)
		return store_txn_fail(t, rc, "reading an origin count");
	store_put_be64(cb, n);
	v.mv_size = 8;
	v.mv_data = cb;
	rc = mdb_put(t->txn, t->s->dbi[STORE_DBI_ORIGINS], &k, &v, 0);
	if (rc != 0)
		return store_txn_fail(t, rc, "counting a record's origin");
	return STORE_OK;
}

/* Pass 5 of a batch: the new records (order[0..m)) counted by origin, one update per
 * origin. A directory without the origins database (opened before it existed, only
 * read-only) never reaches a write. */
#define FEW_ORIGINS 16

static int
count_origins(struct store_txn *t, struct pending **order, size_t m)
{
	/* A batch comes from a few nodes as a rule: counted in a short list, without the
	 * sort a batch of many origins takes. */
	struct {
		const char *origin;
		uint64_t n;
	} few[FEW_ORIGINS];
	size_t nfew = 0, i;

	for (i = 0; i < m; i++) {
		const char *o = pending_origin(order[i]);
		size_t k;

		for (k = 0; k < nfew && strcmp(few[k].origin, o) != 0; k++)
			;
		if (k == nfew) {
			if (nfew == FEW_ORIGINS)
				break;
			few[nfew].origin = o;
			few[nfew++].n = 0;
		}
		few[k].n++;
	}
	if (i == m) {
		for (size_t k = 0; k < nfew; k++)
			if (count_origin(t, few[k].origin, few[k].n) != STORE_OK)
				return STORE_ERR;
		return STORE_OK;
	}
	qsort(order, m, sizeof(*order), by_origin);
	for (size_t a = 0, j; a < m; a = j) {
		for (j = a + 1; j < m && strcmp(pending_origin(order[a]), pending_origin(order[j])) == 0; j++)
			;
		if (count_origin(t, pending_origin(order[a]), j - a) != STORE_OK)
			return STORE_ERR;
	}
	return STORE_OK;
}

void
store_batch_free(struct store_batch *b)
{
	if (b == NULL)
		return;
	free(b->all);
	free(b->by_id);
	free(b->by_key);
	free(b->scratch);
	util_buf_fini(&b->arena[0]);
	util_buf_fini(&b->arena[1]);
	free(b);
}

/* One half of a batch prepared: keys hashed, summary fields read. */
struct prep_half {
	struct store_batch *b;
	size_t from, to;
	int half;
	int rc;
	struct store_err err;
};

static void *
prep_half(void *arg)
{
	struct prep_half *h = arg;
	struct store_batch *b = h->b;

	h->rc = STORE_OK;
	for (size_t i = h->from; i < h->to; i++) {
		struct pending *p = &b->all[i];
		const struct store_obs *o = p->o;
		size_t tl = strlen(o->threat_id);

		if (tl == 0 || tl > STORE_THREAT_ID_MAX) {
			bad_threat_id(&h->err, o->threat_id);
			h->rc = STORE_ERR;
			break;
		}
		store_idt_key(p->ik, o->observed_us, o->id);
		if (util_sha256(o->target_key, strlen(o->target_key), p->th) != 0) {
			util_seterr(h->err.msg, sizeof(h->err.msg), "SHA-256 failed");
			h->rc = STORE_ERR;
			break;
		}
		p->half = (unsigned char)h->half;
		if (store_sum_prepare(o, &p->sum, &b->arena[h->half], &h->err) != STORE_OK) {
			h->rc = STORE_ERR;
			break;
		}
	}
	return NULL;
}

static void *
sort_by_id(void *arg)
{
	struct store_batch *b = arg;

	qsort(b->by_id, b->n, sizeof(*b->by_id), by_id);
	return NULL;
}

int
store_batch_new(const struct store_obs *obs, size_t n, struct store_batch **out,
    struct store_err *err)
{
	struct store_batch *b = calloc(1, sizeof(*b));

	*out = NULL;
	if (b == NULL)
		goto nomem;
	util_buf_init(&b->arena[0], 0);
	util_buf_init(&b->arena[1], 0);
	b->n = n;
	b->all = calloc(n + 1, sizeof(*b->all));
	b->by_id = calloc(n + 1, sizeof(*b->by_id));
	b->by_key = calloc(n + 1, sizeof(*b->by_key));
	b->scratch = calloc(n + 1, sizeof(*b->scratch));
	if (b->all == NULL || b->by_id == NULL || b->by_key == NULL || b->scratch == NULL)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		b->all[i].o = &obs[i];
		b->all[i].idx = i;
		b->by_id[i] = b->by_key[i] = &b->all[i];
	}
	/* A large batch is prepared and sorted on two threads: the hashing and reading are
	 * most of a batch's cost outside LMDB. A thread that cannot start leaves its work
	 * to this one. */
	{
		struct prep_half h[2];
		pthread_t th;
		int two = n >= PREP_PARALLEL_MIN;

		memset(h, 0, sizeof(h));
		h[0].b = h[1].b = b;
		h[0].to = two ? n / 2 : n;
		h[1].from = h[0].to;
		h[1].to = n;
		h[1].half = 1;
		if (two && pthread_create(&th, NULL, prep_half, &h[1]) != 0)
			two = 0;
		if (!two)
			h[0].to = n;
		prep_half(&h[0]);
		if (two)
			pthread_join(th, NULL);
		else
			h[1].rc = STORE_OK;
		/* the first bad record in the batch's order is the one reported */
		for (int i = 0; i < 2; i++)
			if (h[i].rc != STORE_OK) {
				*err = h[i].err;
				goto fail;
			}
		two = n >= PREP_PARALLEL_MIN && pthread_create(&th, NULL, sort_by_id, b) == 0;
		if (!two)
			sort_by_id(b);
		qsort(b->by_key, n, sizeof(*b->by_key), by_obs_key);
		if (two)
			pthread_join(th, NULL);
	}
	*out = b;
	return STORE_OK;
nomem:
	util_seterr(err->msg, sizeof(err->msg), "out of memory for a batch of %zu records", n);
fail:
	store_batch_free(b);
	return STORE_ERR;
}

int
store_put_batch(struct store_txn *t, struct store_batch *b, int *results, int64_t *labels)
{
	struct pending **order = b->by_id;
	size_t n = b->n, nnew = 0;
	unsigned char last[STORE_IDT_KEY];
	int have_last = 0, rc;
	MDB_cursor *ic = NULL;

	for (size_t i = 0; i < n; i++) {
		b->all[i].dup_of = NULL;
		b->all[i].label = 0;
		b->all[i].rc = 0;
		b->all[i].append = 0;
	}
	/* The index's last key: records after it (most of an observation cycle's, an
	 * import in time order) are new without a lookup, and are appended. */
	if ((rc = mdb_cursor_open(t->txn, t->s->dbi[STORE_DBI_IDS], &ic)) != 0)
		return store_txn_fail(t, rc, "opening the id index");
	{
		MDB_val k, v;

		rc = mdb_cursor_get(ic, &k, &v, MDB_LAST);
		if (rc == 0 && k.mv_size == STORE_IDT_KEY) {
			memcpy(last, k.mv_data, STORE_IDT_KEY);
			have_last = 1;
		} else if (rc == MDB_NOTFOUND) {
			have_last = -1; /* empty: every record is past it */
		} else if (rc != 0) {
			mdb_cursor_close(ic);
			return store_txn_fail(t, rc, "reading the id index");
		}
	}

	/* Pass 1, in the id index's order: which records are new. */
	for (size_t i = 0; i < n; i++) {
		struct pending *p = order[i];
		MDB_val k = {STORE_IDT_KEY, p->ik}, v;

		if (i > 0 && memcmp(order[i - 1]->ik, p->ik, STORE_IDT_KEY) == 0) {
			p->dup_of = order[i - 1]->dup_of ? order[i - 1]->dup_of : order[i - 1];
			p->rc = STORE_PUT_SAME;
			continue;
		}
		if (have_last < 0 || (have_last && memcmp(p->ik, last, STORE_IDT_KEY) > 0)) {
			p->rc = STORE_PUT_NEW;
			p->append = 1;
			nnew++;
			continue;
		}
		rc = mdb_get(t->txn, t->s->dbi[STORE_DBI_IDS], &k, &v);
		if (rc == 0) {
			p->rc = STORE_PUT_SAME;
			p->label = v.mv_size == 8 ? (int64_t)store_get_be64(v.mv_data) : 0;
		} else if (rc == MDB_NOTFOUND) {
			p->rc = STORE_PUT_NEW;
			nnew++;
		} else {
			mdb_cursor_close(ic);
			return store_txn_fail(t, rc, "looking up a record id");
		}
	}

	/* Pass 2, in the caller's order: labels follow arrival, the feed is appended. */
	for (size_t i = 0; i < n; i++)
		if (b->all[i].rc == STORE_PUT_NEW && put_feed(t, &b->all[i]) != STORE_OK) {
			mdb_cursor_close(ic);
			return STORE_ERR;
		}

	/* Pass 3, still in id order: index the new ids; copies take their original's label. */
	for (size_t i = 0; i < n; i++) {
		struct pending *p = order[i];
		unsigned char lb[8];
		MDB_val k = {STORE_IDT_KEY, p->ik}, v = {8, lb};

		if (p->dup_of) {
			p->label = p->dup_of->label;
			continue;
		}
		if (p->rc != STORE_PUT_NEW)
			continue;
		store_put_be64(lb, (uint64_t)p->label);
		/* in key order, the appended ones after the others: each is past the last */
		if (p->append)
			rc = mdb_cursor_put(ic, &k, &v, MDB_APPEND);
		else
			rc = mdb_put(t->txn, t->s->dbi[STORE_DBI_IDS], &k, &v, MDB_NOOVERWRITE);
		if (rc != 0) {
			mdb_cursor_close(ic);
			return store_txn_fail(t, rc, "indexing a record id");
		}
	}
	mdb_cursor_close(ic);

	/* Pass 4, in (threat, target, time) order: the obs index and the summaries. */
	if (nnew) {
		size_t m = 0;

		for (size_t i = 0; i < n; i++) {
			struct pending *p = b->by_key[i];

			if (p->rc != STORE_PUT_NEW)
				continue;
			b->scratch[m++] = p;
			if (put_obs_index(t, p) != STORE_OK ||
			    (p->sum.usable &&
				store_sum_put_src(t, p->o, p->th, &p->sum,
				    b->arena[p->half].data) != STORE_OK))
				return STORE_ERR;
		}
		if (count_origins(t, b->scratch, m) != STORE_OK)
			return STORE_ERR;
	}

	for (size_t i = 0; i < n; i++) {
		if (results)
			results[i] = b->all[i].rc;
		if (labels)
			labels[i] = b->all[i].label;
	}
	return STORE_OK;
}

int
store_put_obs_batch(struct store_txn *t, const struct store_obs *obs, size_t n, int *results,
    int64_t *labels)
{
	struct store_batch *b;
	int rc;

	if (n == 0)
		return STORE_OK;
	if (store_batch_new(obs, n, &b, &t->err) != STORE_OK)
		return STORE_ERR;
	rc = store_put_batch(t, b, results, labels);
	store_batch_free(b);
	return rc;
}

int
store_put_obs(struct store_txn *t, const struct store_obs *o, int64_t *label)
{
	int rc;
	int64_t lab = 0;

	if (store_put_obs_batch(t, o, 1, &rc, &lab) != STORE_OK)
		return STORE_ERR;
	if (label)
		*label = lab;
	return rc;
}

int
store_put_cursor(struct store_txn *t, const char *peer, int64_t label)
{
	unsigned char lb[8];
	MDB_val k = {strlen(peer), (void *)peer}, v = {8, lb};
	int rc;

	if (k.mv_size == 0 || k.mv_size > CURSOR_NAME_MAX) {
		util_seterr(t->err.msg, sizeof(t->err.msg),
		    "peer name is empty or longer than %d bytes",
		    CURSOR_NAME_MAX);
		return STORE_ERR;
	}
	store_put_be64(lb, (uint64_t)label);
	rc = mdb_put(t->txn, t->s->dbi[STORE_DBI_CURSORS], &k, &v, 0);
	if (rc != 0)
		return store_txn_fail(t, rc, "saving a peer cursor");
	return STORE_OK;
}

int
store_rewrite_record(struct store_txn *t, int64_t label, const unsigned char id[STORE_ID_LEN],
    const char *json, size_t len)
{
	unsigned char lb[8];
	MDB_val k = {8, lb}, v;
	int rc;

	store_put_be64(lb, (uint64_t)label);
	rc = mdb_get(t->txn, t->s->dbi[STORE_DBI_FEED], &k, &v);
	if (rc == MDB_NOTFOUND || (rc == 0 && (v.mv_size < STORE_ID_LEN ||
	    memcmp(v.mv_data, id, STORE_ID_LEN) != 0))) {
		util_seterr(t->err.msg, sizeof(t->err.msg),
		    "no record with that id at feed label %lld", (long long)label);
		return STORE_ERR;
	}
	if (rc != 0)
		return store_txn_fail(t, rc, "reading a record to rewrite");
	v.mv_size = STORE_ID_LEN + len;
	v.mv_data = NULL;
	rc = mdb_put(t->txn, t->s->dbi[STORE_DBI_FEED], &k, &v, MDB_RESERVE);
	if (rc != 0)
		return store_txn_fail(t, rc, "rewriting a record");
	memcpy(v.mv_data, id, STORE_ID_LEN);
	memcpy((unsigned char *)v.mv_data + STORE_ID_LEN, json, len);
	return STORE_OK;
}

int
store_add_event(struct store_txn *t, const char *json, size_t len, int64_t *label)
{
	unsigned char lb[8];
	MDB_val k = {8, lb}, v = {len, (void *)json};
	int64_t lab;
	int rc;

	if (next_label(t, STORE_DBI_EVENTS, &t->last_event, &lab) != STORE_OK)
		return STORE_ERR;
	store_put_be64(lb, (uint64_t)lab);
	rc = mdb_put(t->txn, t->s->dbi[STORE_DBI_EVENTS], &k, &v, MDB_APPEND);
	if (rc != 0)
		return store_txn_fail(t, rc, "adding an event");
	if (label)
		*label = lab;
	return STORE_OK;
}

/* ------------------------------------------------------------------ reads */

/* A read transaction and one cursor, released together. */
struct scan {
	struct store *s;
	MDB_txn *txn;
	MDB_cursor *cur;
};

static int
scan_begin(struct store *s, int dbi, struct scan *sc, struct store_err *err)
{
	int rc;

	sc->s = s;
	sc->cur = NULL;
	if (store_txn_begin(s, MDB_RDONLY, &sc->txn, err) != STORE_OK)
		return STORE_ERR;
	rc = mdb_cursor_open(sc->txn, s->dbi[dbi], &sc->cur);
	if (rc != 0) {
		util_seterr(err->msg, sizeof(err->msg), "%s: cannot open a cursor: %s", s->dir,
		    mdb_strerror(rc));
		store_txn_end(s, sc->txn);
		return STORE_ERR;
	}
	return STORE_OK;
}

static void
scan_end(struct scan *sc)
{
	if (sc->cur)
		mdb_cursor_close(sc->cur);
	store_txn_end(sc->s, sc->txn);
}

static int
scan_fail(struct scan *sc, int rc, const char *what, struct store_err *err)
{
	util_seterr(err->msg, sizeof(err->msg), "%s: %s: %s", sc->s->dir, what, mdb_strerror(rc));
	return STORE_ERR;
}

static int
has_prefix(const MDB_val *k, const unsigned char *p, size_t n)
{
	return k->mv_size >= n && memcmp(k->mv_data, p, n) == 0;
}

int
store_scan_targets(struct store *s, const char *threat_id, store_target_cb cb, void *arg,
    struct store_err *err)
{
	unsigned char pb[STORE_THREAT_ID_MAX + 1];
	size_t pn = 0;
	struct scan sc;
	MDB_val k, v;
	MDB_cursor_op op;
	int rc, ret = STORE_OK;

	if (threat_id && (pn = prefix_key(pb, threat_id, NULL)) == 0)
		return STORE_OK; /* no such threat ID can exist */
	if (scan_begin(s, STORE_DBI_TARGETS, &sc, err) != STORE_OK)
		return STORE_ERR;
	k.mv_size = pn;
	k.mv_data = pb;
	op = pn ? MDB_SET_RANGE : MDB_FIRST;
	for (rc = mdb_cursor_get(sc.cur, &k, &v, op); rc == 0;
	     rc = mdb_cursor_get(sc.cur, &k, &v, MDB_NEXT)) {
		const unsigned char *vp = v.mv_data, *nul;
		uint32_t kl;

		if (pn && !has_prefix(&k, pb, pn)) {
			rc = MDB_NOTFOUND;
			break;
		}
		nul = memchr(k.mv_data, '\0', k.mv_size);
		if (nul == NULL || v.mv_size < 4)
			continue; /* not a key this store wrote */
		kl = (uint32_t)vp[0] << 24 | (uint32_t)vp[1] << 16 | (uint32_t)vp[2] << 8 | vp[3];
		if (kl > v.mv_size - 4)
			continue;
		ret = cb((const char *)k.mv_data, (const char *)vp + 4, kl,
		    (const char *)vp + 4 + kl, v.mv_size - 4 - kl, arg);
		if (ret != 0)
			goto out;
	}
	if (rc != MDB_NOTFOUND)
		ret = scan_fail(&sc, rc, "reading targets", err);
out:
	scan_end(&sc);
	return ret;
}

static int
count_cb(const char *threat_id, const char *key, size_t key_len, const char *json,
    size_t len, void *arg)
{
	(*(size_t *)arg)++;
	return 0;
}

int
store_count_targets(struct store *s, const char *threat_id, size_t *n, struct store_err *err)
{
	*n = 0;
	if (threat_id == NULL) {
		struct scan sc;
		MDB_stat st;

		if (scan_begin(s, STORE_DBI_TARGETS, &sc, err) != STORE_OK)
			return STORE_ERR;
		mdb_stat(sc.txn, s->dbi[STORE_DBI_TARGETS], &st);
		*n = st.ms_entries;
		scan_end(&sc);
		return STORE_OK;
	}
	return store_scan_targets(s, threat_id, count_cb, n, err);
}

/* Looks up one feed entry and hands it to cb. */
static int
give_feed(struct scan *sc, const MDB_val *label, store_record_cb cb, void *arg,
    struct store_err *err)
{
	MDB_val v;
	int rc = mdb_get(sc->txn, sc->s->dbi[STORE_DBI_FEED], (MDB_val *)label, &v);

	if (rc != 0)
		return scan_fail(sc, rc, "record indexed but missing from the feed", err);
	if (v.mv_size < STORE_ID_LEN)
		return scan_fail(sc, MDB_CORRUPTED, "short feed entry", err);
	return cb((int64_t)store_get_be64(label->mv_data), v.mv_data,
	    (const char *)v.mv_data + STORE_ID_LEN, v.mv_size - STORE_ID_LEN, arg);
}

/* Records of a scan are fetched from the feed a chunk at a time in label order, which
 * walks the feed forward instead of jumping around it; pointers into the map stay valid
 * for the whole read transaction, so nothing is copied. */
#define FETCH_CHUNK 4096
#define FETCH_SPLIT 512 /* a chunk this long or longer is looked up on two threads */

struct fetch_item {
	uint64_t label;
	size_t pos;
};

/*
 * A second thread for a long scan: the records of one threat ID lie on feed pages of their
 * own, so a lookup is mostly waiting on memory, and two threads wait side by side. It
 * looks up the first half of each chunk in a read transaction of its own, begun after
 * the scan's: the feed only grows and its records never change, so every label the scan's
 * index gave is in it, with the same bytes. Its transaction (and the pointers into the map
 * it gave) lasts until the scan ends. glibc's read-write locks let a reader in while a
 * writer waits, so the helper's read lock of the store cannot wait on the scan's.
 */
struct fetch_helper {
	struct store *s;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const struct fetch_item *items; /* the half to look up */
	MDB_val *vals;
	size_t n;
	int state; /* 0 starting, 1 idle, 2 looking up, 3 stopping, -1 failed to start */
	int rc;    /* the first failed lookup's LMDB code, or 0 */
};

struct fetch {
	struct scan *sc;
	struct fetch_helper *helper; /* NULL: one thread */
	size_t n;
	struct fetch_item items[FETCH_CHUNK];
	struct fetch_item tmp[FETCH_CHUNK];
	MDB_val vals[FETCH_CHUNK];
	uint64_t labels[FETCH_CHUNK];
};

/* Looks up n items in txn into vals (at each item's pos): 0, or the failing LMDB code
 * (MDB_CORRUPTED for an entry too short to be a record). */
static int
fetch_lookup(MDB_txn *txn, MDB_dbi feed, const struct fetch_item *items, size_t n,
    MDB_val *vals)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char lb[8];
		MDB_val k = {8, lb};
		MDB_val *v = &vals[items[i].pos];
		int rc;

		store_put_be64(lb, items[i].label);
		/* mdb_get, not a cursor: records of one threat ID seldom share a page, and a
		 * positioned cursor first tries its own page and its parents before it searches
		 * from the root as mdb_get does (about a tenth of a lookup). */
		rc = mdb_get(txn, feed, &k, v);
		if (rc != 0)
			return rc;
		if (v->mv_size < STORE_ID_LEN)
			return MDB_CORRUPTED;
	}
	return 0;
}

static void *
helper_main(void *arg)
{
	struct fetch_helper *h = arg;
	MDB_txn *txn = NULL;
	int ok;

	/* Not store_txn_begin: when another process grew the map it would take the lock
	 * exclusively to follow, and the scan holds it shared until the helper is ready. The
	 * scan then goes on alone. */
	pthread_rwlock_rdlock(&h->s->lock);
	ok = mdb_txn_begin(h->s->env, NULL, MDB_RDONLY, &txn) == 0;
	if (!ok)
		pthread_rwlock_unlock(&h->s->lock);

	pthread_mutex_lock(&h->mu);
	h->state = ok ? 1 : -1;
	pthread_cond_broadcast(&h->cv);
	while (ok) {
		int rc;

		while (h->state == 1)
			pthread_cond_wait(&h->cv, &h->mu);
		if (h->state != 2)
			break;
		pthread_mutex_unlock(&h->mu);
		rc = fetch_lookup(txn, h->s->dbi[STORE_DBI_FEED], h->items, h->n, h->vals);
		pthread_mutex_lock(&h->mu);
		h->rc = rc;
		h->state = 1;
		pthread_cond_broadcast(&h->cv);
	}
	pthread_mutex_unlock(&h->mu);
	if (ok)
		store_txn_end(h->s, txn);
	return NULL;
}

/* Starts the helper; NULL when it cannot (the scan then looks up alone). */
static struct fetch_helper *
helper_start(struct store *s)
{
	struct fetch_helper *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->s = s;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	if (pthread_create(&h->thread, NULL, helper_main, h) != 0) {
		pthread_cond_destroy(&h->cv);
		pthread_mutex_destroy(&h->mu);
		free(h);
		return NULL;
	}
	pthread_mutex_lock(&h->mu);
	while (h->state == 0)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
	if (h->state < 0) {
		pthread_join(h->thread, NULL);
		pthread_cond_destroy(&h->cv);
		pthread_mutex_destroy(&h->mu);
		free(h);
		return NULL;
	}
	return h;
}

static void
helper_stop(struct fetch_helper *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	h->state = 3;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->thread, NULL);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

/* Sorts f->items by label: a bottom-up merge sort with the comparison inline (qsort's
 * indirect calls cost more than the lookups it orders). A chunk of one target's records
 * is already in order and costs one pass. */
static void
fetch_sort(struct fetch *f)
{
	struct fetch_item *a = f->items, *b = f->tmp;
	size_t n = f->n, sorted = 1;

	for (size_t i = 1; i < n && sorted; i++)
		sorted = a[i - 1].label <= a[i].label;
	if (sorted)
		return;
	for (size_t w = 1; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
			size_t i = lo, j = mid, k = lo;

			while (i < mid && j < hi)
				b[k++] = a[j].label < a[i].label ? a[j++] : a[i++];
			while (i < mid)
				b[k++] = a[i++];
			while (j < hi)
				b[k++] = a[j++];
		}
		struct fetch_item *t = a;
		a = b;
		b = t;
	}
	if (a != f->items)
		memcpy(f->items, a, n * sizeof(*a));
}

static int
fetch_flush(struct fetch *f, store_record_cb cb, void *arg, struct store_err *err)
{
	struct fetch_helper *h = f->n >= FETCH_SPLIT ? f->helper : NULL;
	size_t half = h ? f->n / 2 : 0;
	int rc, hrc = 0;

	for (size_t i = 0; i < f->n; i++) {
		f->items[i].pos = i;
		f->items[i].label = f->labels[i];
	}
	fetch_sort(f);
	/* Each thread takes a run of neighbouring labels: they share the tree's upper pages. */
	if (h) {
		pthread_mutex_lock(&h->mu);
		h->items = f->items;
		h->vals = f->vals;
		h->n = half;
		h->state = 2;
		pthread_cond_broadcast(&h->cv);
		pthread_mutex_unlock(&h->mu);
	}
	rc = fetch_lookup(f->sc->txn, f->sc->s->dbi[STORE_DBI_FEED], f->items + half,
	    f->n - half, f->vals);
	if (h) {
		pthread_mutex_lock(&h->mu);
		while (h->state == 2)
			pthread_cond_wait(&h->cv, &h->mu);
		hrc = h->rc;
		pthread_mutex_unlock(&h->mu);
	}
	if (rc == 0)
		rc = hrc;
	if (rc == MDB_CORRUPTED)
		return scan_fail(f->sc, rc, "short feed entry", err);
	if (rc != 0)
		return scan_fail(f->sc, rc, "record indexed but missing from the feed", err);
	for (size_t i = 0; i < f->n; i++) {
		const MDB_val *v = &f->vals[i];
		int ret = cb((int64_t)f->labels[i], v->mv_data,
		    (const char *)v->mv_data + STORE_ID_LEN, v->mv_size - STORE_ID_LEN, arg);

		if (ret != 0)
			return ret;
	}
	f->n = 0;
	return STORE_OK;
}

int
store_scan_obs(struct store *s, const char *threat_id, const char *target_key,
    int64_t since_us, int64_t until_us, store_record_cb cb, void *arg,
    struct store_err *err)
{
	unsigned char kb[OBS_KEY_MAX], seek[OBS_VAL_LEN];
	size_t pn = 0;
	struct scan sc;
	struct fetch *f = NULL;
	MDB_val k, v;
	MDB_cursor_op op = MDB_FIRST;
	int rc, ret = STORE_OK, helper_tried = 0;

	if (threat_id) {
		pn = prefix_key(kb, threat_id, target_key);
		if (pn == 0)
			return STORE_OK;
		k.mv_size = pn;
		k.mv_data = kb;
		op = MDB_SET_RANGE;
		if (target_key) {
			/* One target: its records are sorted duplicates; seek to since_us. */
			memset(seek, 0, sizeof(seek));
			store_put_time(seek, since_us);
			v.mv_size = OBS_VAL_LEN;
			v.mv_data = seek;
			op = MDB_GET_BOTH_RANGE;
		}
	}
	f = malloc(sizeof(*f));
	if (f == NULL) {
		util_seterr(err->msg, sizeof(err->msg), "%s: out of memory", s->dir);
		return STORE_ERR;
	}
	if (scan_begin(s, STORE_DBI_OBS, &sc, err) != STORE_OK) {
		free(f);
		return STORE_ERR;
	}
	f->sc = &sc;
	f->helper = NULL;
	f->n = 0;
	for (rc = mdb_cursor_get(sc.cur, &k, &v, op); rc == 0;
	     rc = mdb_cursor_get(sc.cur, &k, &v, MDB_NEXT)) {
		const unsigned char *vp = v.mv_data;
		int64_t t;

		if (pn && !has_prefix(&k, kb, pn)) {
			rc = MDB_NOTFOUND;
			break;
		}
		if (v.mv_size != OBS_VAL_LEN)
			continue;
		t = store_get_time(vp);
		if (t < since_us)
			continue;
		if (t >= until_us) {
			if (target_key) {
				rc = MDB_NOTFOUND;
				break;
			}
			continue;
		}
		f->labels[f->n++] = store_get_be64(vp + 8);
		if (f->n < FETCH_CHUNK)
			continue;
		/* A scan of more than a chunk is worth the second thread. */
		if (f->helper == NULL && !helper_tried) {
			f->helper = helper_start(s);
			helper_tried = 1;
		}
		if ((ret = fetch_flush(f, cb, arg, err)) != 0)
			goto out;
	}
	if (rc != MDB_NOTFOUND) {
		ret = scan_fail(&sc, rc, "reading records", err);
		goto out;
	}
	ret = fetch_flush(f, cb, arg, err);
out:
	helper_stop(f->helper);
	free(f);
	scan_end(&sc);
	return ret;
}

int
store_scan_feed(struct store *s, int64_t after, int64_t until, size_t limit,
    store_record_cb cb, void *arg, int64_t *last, struct store_err *err)
{
	unsigned char lb[8];
	struct scan sc;
	MDB_val k = {8, lb}, v;
	size_t n = 0;
	int rc, ret = STORE_OK;

	if (last)
		*last = after;
	if (after < 0)
		after = 0;
	if (until <= after)
		return STORE_OK;
	store_put_be64(lb, (uint64_t)after + 1);
	if (scan_begin(s, STORE_DBI_FEED, &sc, err) != STORE_OK)
		return STORE_ERR;
	for (rc = mdb_cursor_get(sc.cur, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(sc.cur, &k, &v, MDB_NEXT)) {
		int64_t label;

		if (k.mv_size != 8 || v.mv_size < STORE_ID_LEN)
			continue;
		label = (int64_t)store_get_be64(k.mv_data);
		if (label > until || (limit && n == limit))
			break;
		ret = cb(label, v.mv_data, (const char *)v.mv_data + STORE_ID_LEN,
		    v.mv_size - STORE_ID_LEN, arg);
		n++;
		if (last)
			*last = label;
		if (ret != 0)
			goto out;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		ret = scan_fail(&sc, rc, "reading the feed", err);
out:
	scan_end(&sc);
	return ret;
}

int
store_count_records(struct store *s, size_t *n, struct store_err *err)
{
	struct scan sc;
	MDB_stat st;

	if (scan_begin(s, STORE_DBI_IDS, &sc, err) != STORE_OK)
		return STORE_ERR;
	mdb_stat(sc.txn, s->dbi[STORE_DBI_IDS], &st);
	*n = st.ms_entries;
	scan_end(&sc);
	return STORE_OK;
}

int
store_get_record(struct store *s, const unsigned char id[STORE_ID_LEN], int64_t observed_us,
    store_record_cb cb, void *arg, struct store_err *err)
{
	struct scan sc;
	unsigned char ik[STORE_IDT_KEY];
	MDB_val k = {STORE_IDT_KEY, ik}, v;
	int rc, ret;

	store_idt_key(ik, observed_us, id);
	if (s->ids_by_id) {
		/* an older directory, read-only: its index is by id alone */
		k.mv_size = STORE_ID_LEN;
		k.mv_data = (void *)id;
	}
	if (scan_begin(s, STORE_DBI_IDS, &sc, err) != STORE_OK)
		return STORE_ERR;
	rc = mdb_get(sc.txn, s->dbi[STORE_DBI_IDS], &k, &v);
	if (rc == MDB_NOTFOUND)
		ret = STORE_NOTFOUND;
	else if (rc != 0)
		ret = scan_fail(&sc, rc, "looking up a record id", err);
	else
		ret = give_feed(&sc, &v, cb, arg, err);
	scan_end(&sc);
	return ret;
}

int
store_get_cursor(struct store *s, const char *peer, int64_t *label, struct store_err *err)
{
	struct scan sc;
	MDB_val k = {strlen(peer), (void *)peer}, v;
	int rc, ret = STORE_OK;

	if (k.mv_size == 0 || k.mv_size > CURSOR_NAME_MAX)
		return STORE_NOTFOUND;
	if (scan_begin(s, STORE_DBI_CURSORS, &sc, err) != STORE_OK)
		return STORE_ERR;
	rc = mdb_get(sc.txn, s->dbi[STORE_DBI_CURSORS], &k, &v);
	if (rc == MDB_NOTFOUND)
		ret = STORE_NOTFOUND;
	else if (rc != 0 || v.mv_size != 8)
		ret = scan_fail(&sc, rc ? rc : MDB_CORRUPTED, "reading a peer cursor", err);
	else
		*label = (int64_t)store_get_be64(v.mv_data);
	scan_end(&sc);
	return ret;
}

int
store_scan_events(struct store *s, int64_t after, int64_t until, store_record_cb cb,
    void *arg, struct store_err *err)
{
	unsigned char lb[8];
	struct scan sc;
	MDB_val k = {8, lb}, v;
	int rc, ret = STORE_OK;

	if (after < 0)
		after = 0;
	if (until <= after)
		return STORE_OK;
	store_put_be64(lb, (uint64_t)after + 1);
	if (scan_begin(s, STORE_DBI_EVENTS, &sc, err) != STORE_OK)
		return STORE_ERR;
	for (rc = mdb_cursor_get(sc.cur, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(sc.cur, &k, &v, MDB_NEXT)) {
		int64_t label;

		if (k.mv_size != 8)
			continue;
		label = (int64_t)store_get_be64(k.mv_data);
		if (label > until)
			break;
		ret = cb(label, NULL, v.mv_data, v.mv_size, arg);
		if (ret != 0)
			goto out;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		ret = scan_fail(&sc, rc, "reading events", err);
out:
	scan_end(&sc);
	return ret;
}

/* ------------------------------------------------------------------ subscriptions */

static int
sub_key_ok(const char *id, MDB_val *k)
{
	k->mv_size = id ? strlen(id) : 0;
	k->mv_data = (void *)id;
	return k->mv_size > 0 && k->mv_size <= STORE_SUB_ID_MAX;
}

int
store_put_sub(struct store_txn *t, const char *id, const char *data, size_t len)
{
	MDB_val k, v = {len, (void *)data};
	int rc;

	if (!sub_key_ok(id, &k)) {
		util_seterr(t->err.msg, sizeof(t->err.msg),
		    "subscription id is empty or longer than %d bytes",
		    STORE_SUB_ID_MAX);
		return STORE_ERR;
	}
	if (t->s->no_subs) {
		util_seterr(t->err.msg, sizeof(t->err.msg), "%s: no subscriptions database",
		    t->s->dir);
		return STORE_ERR;
	}
	rc = mdb_put(t->txn, t->s->dbi[STORE_DBI_SUBS], &k, &v, 0);
	if (rc != 0)
		return store_txn_fail(t, rc, "saving a subscription");
	return STORE_OK;
}

int
store_txn_get_sub(struct store_txn *t, const char *id, const char **data, size_t *len)
{
	MDB_val k, v;
	int rc;

	if (!sub_key_ok(id, &k) || t->s->no_subs)
		return STORE_NOTFOUND;
	rc = mdb_get(t->txn, t->s->dbi[STORE_DBI_SUBS], &k, &v);
	if (rc == MDB_NOTFOUND)
		return STORE_NOTFOUND;
	if (rc != 0)
		return store_txn_fail(t, rc, "reading a subscription");
	*data = v.mv_data;
	*len = v.mv_size;
	return STORE_OK;
}

int
store_get_sub(struct store *s, const char *id, store_sub_cb cb, void *arg,
    struct store_err *err)
{
	struct scan sc;
	MDB_val k, v;
	int rc, ret;

	if (!sub_key_ok(id, &k) || s->no_subs)
		return STORE_NOTFOUND;
	if (scan_begin(s, STORE_DBI_SUBS, &sc, err) != STORE_OK)
		return STORE_ERR;
	rc = mdb_get(sc.txn, s->dbi[STORE_DBI_SUBS], &k, &v);
	if (rc == MDB_NOTFOUND)
		ret = STORE_NOTFOUND;
	else if (rc != 0)
		ret = scan_fail(&sc, rc, "reading a subscription", err);
	else
		ret = cb(k.mv_data, k.mv_size, v.mv_data, v.mv_size, arg);
	scan_end(&sc);
	return ret;
}

int
store_scan_subs(struct store *s, store_sub_cb cb, void *arg, struct store_err *err)
{
	struct scan sc;
	MDB_val k, v;
	int rc, ret = STORE_OK;

	if (s->no_subs)
		return STORE_OK;
	if (scan_begin(s, STORE_DBI_SUBS, &sc, err) != STORE_OK)
		return STORE_ERR;
	for (rc = mdb_cursor_get(sc.cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(sc.cur, &k, &v, MDB_NEXT)) {
		ret = cb(k.mv_data, k.mv_size, v.mv_data, v.mv_size, arg);
		if (ret != 0)
			goto out;
	}
	if (rc != MDB_NOTFOUND)
		ret = scan_fail(&sc, rc, "reading subscriptions", err);
out:
	scan_end(&sc);
	return ret;
}

/* ------------------------------------------------------------------ origin counts */

int
store_scan_origins(struct store *s, store_origin_cb cb, void *arg, int *complete,
    struct store_err *err)
{
	MDB_val k = {7, (void *)"origins"}, v;
	struct scan sc;
	int rc, ret = STORE_OK;

	if (complete != NULL)
		*complete = 0;
	if (s->no_origins)
		return STORE_OK;
	if (scan_begin(s, STORE_DBI_ORIGINS, &sc, err) != STORE_OK)
		return STORE_ERR;
	if (complete != NULL)
		*complete = mdb_get(sc.txn, s->dbi[STORE_DBI_META], &k, &v) == 0;
	for (rc = cb ? mdb_cursor_get(sc.cur, &k, &v, MDB_FIRST) : MDB_NOTFOUND; rc == 0;
	     rc = mdb_cursor_get(sc.cur, &k, &v, MDB_NEXT)) {
		char name[ORIGIN_KEY_MAX + 1];
		size_t n = k.mv_size > ORIGIN_KEY_MAX ? ORIGIN_KEY_MAX : k.mv_size;

		if (v.mv_size != 8)
			continue;
		memcpy(name, k.mv_data, n);
		name[n] = '\0';
		ret = cb(name, strlen(name), store_get_be64(v.mv_data), arg);
		if (ret != 0)
			break;
	}
	scan_end(&sc);
	if (ret == 0 && rc != 0 && rc != MDB_NOTFOUND) {
		util_seterr(err->msg, sizeof(err->msg), "%s: reading the origin counts: %s",
		    s->dir, mdb_strerror(rc));
		return STORE_ERR;
	}
	return ret;
}

struct rebuild {
	store_origin_fn origin_of;
	void *arg;
};

static int
rebuild_txn(struct store_txn *t, void *arg)
{
	const struct rebuild *rb = arg;
	MDB_cursor *c = NULL;
	MDB_val k, v, mk = {7, (void *)"origins"}, mv = {1, (void *)"1"};
	int rc;

	/* Restartable: the counts start from nothing each time. */
	rc = mdb_drop(t->txn, t->s->dbi[STORE_DBI_ORIGINS], 0);
	if (rc != 0)
		return store_txn_fail(t, rc, "clearing the origin counts");
	rc = mdb_cursor_open(t->txn, t->s->dbi[STORE_DBI_FEED], &c);
	if (rc != 0)
		return store_txn_fail(t, rc, "opening a cursor");
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		char origin[ORIGIN_KEY_MAX + 1] = "";

		if (v.mv_size < STORE_ID_LEN)
			continue;
		if (rb->origin_of((const char *)v.mv_data + STORE_ID_LEN,
			v.mv_size - STORE_ID_LEN, origin, sizeof(origin), rb->arg) != 0)
			origin[0] = '\0';
		if (count_origin(t, origin, 1) != STORE_OK) {
			mdb_cursor_close(c);
			return STORE_ERR;
		}
	}
	mdb_cursor_close(c);
	if (rc != MDB_NOTFOUND)
		return store_txn_fail(t, rc, "reading the feed");
	rc = mdb_put(t->txn, t->s->dbi[STORE_DBI_META], &mk, &mv, 0);
	if (rc != 0)
		return store_txn_fail(t, rc, "marking the origin counts complete");
	return STORE_OK;
}

int
store_rebuild_origins(struct store *s, store_origin_fn origin_of, void *arg,
    struct store_err *err)
{
	struct rebuild rb = {origin_of, arg};

	if (s->read_only || s->no_origins) {
		util_seterr(err->msg, sizeof(err->msg), "%s: opened read-only", s->dir);
		return STORE_ERR;
	}
	return store_write(s, rebuild_txn, &rb, err);
}
