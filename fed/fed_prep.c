/* Prepared packages: the STIX package of each record, written once and kept beside it in
 * the store, so that a poll copies bytes instead of converting every record again. Kept
 * bytes open with a version tag: a writer that changes its output changes the tag, and
 * bytes under another tag are treated as absent (written again at the next poll). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fed/fed.h"
#include "fed/fed_int.h"
#include "stix/stix.h"
#include "store/store.h"
#include "util/util.h"

#define PREP_CAP (8u * 1024 * 1024) /* one package; records are far smaller */
#define PREP_BATCH 256              /* packages per write transaction */
#define PREP_BATCH_BYTES (6u << 20) /* with LMDB's copy of it, what a commit holds */

const char *
fed_prep_content(const char *prep, size_t len, size_t *content_len)
{
	size_t tl = sizeof(FED_PREP_TAG) - 1;

	if (prep == NULL || len < tl || memcmp(prep, FED_PREP_TAG, tl) != 0)
		return NULL;
	*content_len = len - tl;
	return prep + tl;
}

void
fed_prep_init(struct fed_prep_batch *b)
{
	memset(b, 0, sizeof(*b));
	util_buf_init(&b->bytes, 0);
}

void
fed_prep_fini(struct fed_prep_batch *b)
{
	util_buf_fini(&b->bytes);
	free(b->items);
	memset(b, 0, sizeof(*b));
}

/* Appends one item whose bytes are tag (may be NULL) and data. */
static int
prep_append(struct fed_prep_batch *b, int64_t label, const char *tag, const char *data,
    size_t len)
{
	size_t off = b->bytes.len, tl = tag ? strlen(tag) : 0;

	if (b->n >= FED_PREP_MAX_ITEMS || b->bytes.len + tl + len > PREP_BATCH_BYTES)
		return 1; /* full: kept next time */
	if (b->n == b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 64;
		struct fed_prep_item *ni = realloc(b->items, nc * sizeof(*ni));

		if (ni == NULL)
			return -1;
		b->items = ni;
		b->cap = nc;
	}
	if ((tl && util_buf_add(&b->bytes, tag, tl) != 0) ||
	    util_buf_add(&b->bytes, data, len) != 0)
		return -1;
	b->items[b->n].label = label;
	b->items[b->n].off = off;
	b->items[b->n].len = b->bytes.len - off;
	b->n++;
	return 0;
}

int
fed_prep_add(struct fed_prep_batch *b, int64_t label, const char *xml, size_t len)
{
	return prep_append(b, label, FED_PREP_TAG, xml, len);
}

int
fed_prep_move(struct fed_prep_batch *dst, struct fed_prep_batch *src)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < src->n; i++) {
		const struct fed_prep_item *it = &src->items[i];

		rc = prep_append(dst, it->label, NULL, src->bytes.data + it->off, it->len);
		if (rc != 0)
			break;
	}
	if (i == src->n) {
		src->n = 0;
		util_buf_reset(&src->bytes);
	} else if (i > 0) {
		/* What did not fit moves to the front; its bytes stay where they are. */
		memmove(src->items, src->items + i, (src->n - i) * sizeof(*src->items));
		src->n -= i;
	}
	return rc;
}

static int
prep_txn(struct store_txn *t, void *arg)
{
	const struct fed_prep_batch *b = arg;

	for (size_t i = 0; i < b->n; i++) {
		int rc = store_put_prep(t, b->items[i].label, b->bytes.data + b->items[i].off,
		    b->items[i].len);

		/* A label gone from the feed cannot be: the feed only grows. Skip it. */
		if (rc == STORE_ERR)
			return -1;
	}
	return 0;
}

int
fed_prep_commit(struct fed_prep_batch *b, struct store *s, char *err, size_t errlen)
{
	struct store_err serr = {{0}};

	if (b->n == 0)
		return 0;
	if (store_write(s, prep_txn, b, &serr) != STORE_OK) {
		util_seterr(err, errlen, "keeping prepared packages: %s", serr.msg);
		return -1;
	}
	b->n = 0;
	util_buf_reset(&b->bytes);
	return 0;
}

struct ahead {
	struct fed_prep_batch *b;
	struct util_buf xml;
	size_t n, max;
	int64_t last;
	char *err;
	size_t errlen;
	int failed;
};

static int
ahead_record(int64_t label, const unsigned char *id, const char *json, size_t len,
    const char *prep, size_t prep_len, void *arg)
{
	struct ahead *a = arg;
	size_t cl;
	int rc;

	(void)id;
	if (fed_prep_content(prep, prep_len, &cl) != NULL)
		return 0;
	util_buf_reset(&a->xml);
	if (stix_observation_write_text(json, len, &a->xml, a->err, a->errlen) != STIX_OK) {
		/* Not preparable: a poll reports it when it reaches it, as it always did. */
		return 0;
	}
	rc = fed_prep_add(a->b, label, a->xml.data, a->xml.len);
	if (rc < 0) {
		a->failed = 1;
		util_seterr(a->err, a->errlen, "preparing packages: out of memory");
		return -1;
	}
	if (rc > 0)
		return 1;
	a->last = label;
	a->n++;
	return a->n >= a->max || a->b->n >= PREP_BATCH ? 1 : 0;
}

int
fed_prepare(struct store *s, size_t max, size_t *done, char *err, size_t errlen)
{
	struct fed_prep_batch b;
	struct ahead a;
	struct store_err serr = {{0}};
	int64_t from = 0;
	int ret = -1;

	if (done)
		*done = 0;
	if (store_last_prep(s, &from, &serr) != STORE_OK) {
		util_seterr(err, errlen, "%s", serr.msg);
		return -1;
	}
	fed_prep_init(&b);
	memset(&a, 0, sizeof(a));
	a.b = &b;
	a.max = max ? max : SIZE_MAX;
	a.err = err;
	a.errlen = errlen;
	util_buf_init(&a.xml, PREP_CAP);
	/* A batch per transaction, each committed before the next is read: a kill at any
	 * point loses at most the batch under way, and nothing it wrote is half-kept. */
	for (;;) {
		size_t before = a.n;
		int64_t last = from;
		int rc = store_scan_feed_prep(s, from, INT64_MAX, 0, ahead_record, &a, &last,
		    &serr);

		if (a.failed)
			goto out;
		if (rc == STORE_ERR) {
			util_seterr(err, errlen, "%s", serr.msg);
			goto out;
		}
		if (fed_prep_commit(&b, s, err, errlen) != 0)
			goto out;
		if (a.n == before || a.n >= a.max || rc == 0)
			break;
		from = a.last;
	}
	if (done)
		*done = a.n;
	ret = 0;
out:
	util_buf_fini(&a.xml);
	fed_prep_fini(&b);
	return ret;
}
