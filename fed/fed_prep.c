/* Prepared packages: the STIX package of each record, written once and kept beside it in
 * the store, compressed, so that a poll decompresses bytes instead of converting every
 * record again. The format of kept bytes is in fed_int.h. */
#include "config.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <lz4.h>

#include "fed/fed.h"
#include "fed/fed_int.h"
#include "stix/stix.h"
#include "store/store.h"
#include "util/util.h"

#define PREP_CAP (8u * 1024 * 1024) /* one package; records are far smaller */
#define PREP_BATCH FED_PREP_MAX_ITEMS /* packages per write transaction */
#define PREP_BATCH_BYTES (6u << 20) /* with LMDB's copy of it, what a commit holds */
#define PREP_LEN_BYTES 4

/* Records whose packages make the dictionary: one with every probe answered, one whose
 * probes failed. What packages share with them is kept as references to them. */
static const char *const dict_records[] = {
	"{\"id\":\"5f0c4e2a9b7d13e86a1f04c2d9b3e7a85c6f1d20e4b9a7c3f8d2e1b06a9c4d7e\","
	"\"threat_id\":\"THREAT-SAMPLE\",\"node\":\"sample-node\",\"vantage\":\"sample\","
	"\"observed_at\":\"2026-01-01T00:00:00Z\",\"target\":{\"input\":"
	"\"http://c2.example:8080/gate.php\",\"domain\":\"c2.example\",\"ipv4\":"
	"[\"203.0.113.5\"],\"ipv6\":[\"2001:db8::5\"],\"port\":8080,\"user_agent\":"
	"\"Mozilla/5.0 (Windows NT 10.0; Win64; x64)\"},\"ping\":{\"sent\":4,\"received\":3,"
	"\"loss_pct\":25.0,\"rtt_avg_ms\":12.3,\"ttl\":52},\"robots\":{\"status\":404,"
	"\"present\":false,\"allowed\":true},\"http\":{\"status\":200,\"reason\":\"OK\","
	"\"content_type\":\"text/html\",\"server\":\"nginx\",\"location\":null,"
	"\"redirects\":[],\"size\":1234,\"truncated\":false,\"sha256\":"
	"\"9a3e5c1f7b2d48e06c9f1a3b5d7e2c4f8a0b6d1e3f5a7c9b2d4e6f8a1c3b5d7e\","
	"\"filetype\":\"HTML document, ASCII text\",\"ssdeep\":"
	"\"24:abcdefghijklmnopqrstuv:abcdefghijkl\",\"tls_sha256\":null,\"elapsed_ms\":41},"
	"\"error\":null}",
	"{\"id\":\"0e7d2b9c4a6f18e35b0c7d2a9e4f6b1c8d3a5e7f9b2c4d6e8a1f3b5c7d9e2a4b\","
	"\"threat_id\":\"THREAT-SAMPLE\",\"node\":\"sample-node\",\"vantage\":\"sample\","
	"\"observed_at\":\"2026-01-01T04:00:00Z\",\"target\":{\"input\":\"198.51.100.7\","
	"\"domain\":null,\"ipv4\":[\"198.51.100.7\"],\"ipv6\":[],\"port\":443,"
	"\"user_agent\":null},\"ping\":{\"sent\":4,\"received\":0,\"loss_pct\":100,"
	"\"rtt_avg_ms\":null,\"ttl\":null},\"robots\":null,\"http\":null,"
	"\"error\":{\"kind\":\"timeout\",\"detail\":\"no answer within 10 s\"}}",
};

/* LZ4's acceleration: 1. A higher one compresses faster but finds fewer references to the
 * dictionary: at 4, bench_poll's kept packages took 1.6 KB of disk a record instead of 1.1
 * (3,246 bytes a record in all instead of 2,769): fewer of them fit an LMDB page. */
#define PREP_LZ4_ACCEL 1

/* The dictionary, the tag made from it and a compressor's state with it loaded (copied
 * into a batch's state before each package, as lz4.h suggests, instead of loading the
 * dictionary again each time), once per process. */
static struct {
	struct util_buf dict;
	char tag[64];
	size_t tag_len;
	LZ4_stream_t *loaded; /* NULL when it could not be made: no package is kept */
} prep_dict;
static pthread_once_t prep_dict_once = PTHREAD_ONCE_INIT;

static void
dict_make(void)
{
	struct util_buf xml;
	uint32_t h = 2166136261u; /* FNV-1a: the tag changes with the dictionary's bytes */
	char err[256];
	int n;

	util_buf_init(&prep_dict.dict, 0);
	util_buf_init(&xml, PREP_CAP);
	for (size_t i = 0; i < sizeof(dict_records) / sizeof(dict_records[0]); i++) {
		util_buf_reset(&xml);
		/* A sample that cannot be written (or memory that ran out) only makes the
		 * dictionary shorter, and the tag says which dictionary it is. */
		if (stix_observation_write_text(dict_records[i], strlen(dict_records[i]), &xml,
			err, sizeof(err)) == STIX_OK &&
		    util_buf_add(&prep_dict.dict, xml.data, xml.len) != 0)
			break;
	}
	util_buf_fini(&xml);
	for (size_t i = 0; i < prep_dict.dict.len; i++)
		h = (h ^ (unsigned char)prep_dict.dict.data[i]) * 16777619u;
	n = snprintf(prep_dict.tag, sizeof(prep_dict.tag), "%s lz4 %08x\n", FED_PREP_VERSION,
	    (unsigned)h);
	prep_dict.tag_len = n > 0 && (size_t)n < sizeof(prep_dict.tag) ? (size_t)n : 0;
	prep_dict.loaded = LZ4_createStream();
	if (prep_dict.loaded != NULL && prep_dict.dict.len > 0)
		LZ4_loadDict(prep_dict.loaded, prep_dict.dict.data, (int)prep_dict.dict.len);
}

static void
dict_get(void)
{
	(void)pthread_once(&prep_dict_once, dict_make);
}

int
fed_prep_current(const char *prep, size_t len)
{
	dict_get();
	return prep != NULL && prep_dict.tag_len > 0 &&
	    len > prep_dict.tag_len + PREP_LEN_BYTES &&
	    memcmp(prep, prep_dict.tag, prep_dict.tag_len) == 0;
}

int
fed_prep_open(const char *prep, size_t len, struct util_buf *out)
{
	const unsigned char *p = (const unsigned char *)prep;
	size_t tl, n;
	char *at;
	int got;

	if (!fed_prep_current(prep, len)) /* which also makes the dictionary */
		return -1;
	tl = prep_dict.tag_len;
	n = (size_t)p[tl] << 24 | (size_t)p[tl + 1] << 16 | (size_t)p[tl + 2] << 8 | p[tl + 3];
	if (n == 0 || n > PREP_CAP || len - tl - PREP_LEN_BYTES > INT_MAX)
		return -1;
	util_buf_reset(out);
	at = util_buf_extend(out, n);
	if (at == NULL)
		return -1;
	got = LZ4_decompress_safe_usingDict(prep + tl + PREP_LEN_BYTES, at,
	    (int)(len - tl - PREP_LEN_BYTES), (int)n, prep_dict.dict.data,
	    (int)prep_dict.dict.len);
	if (got < 0 || (size_t)got != n) {
		util_buf_reset(out);
		return -1;
	}
	return 0;
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
	if (b->lz != NULL)
		LZ4_freeStream(b->lz);
	free(b->z);
	memset(b, 0, sizeof(*b));
}

/* Appends one item of kept bytes. */
static int
prep_append(struct fed_prep_batch *b, int64_t label, const char *data, size_t len)
{
	size_t off = b->bytes.len;

	if (b->n >= FED_PREP_MAX_ITEMS || b->bytes.len + len > PREP_BATCH_BYTES)
		return 1; /* full: kept next time */
	if (b->n == b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 64;
		struct fed_prep_item *ni = realloc(b->items, nc * sizeof(*ni));

		if (ni == NULL)
			return -1;
		b->items = ni;
		b->cap = nc;
	}
	if (util_buf_add(&b->bytes, data, len) != 0)
		return -1;
	b->items[b->n].label = label;
	b->items[b->n].off = off;
	b->items[b->n].len = len;
	b->n++;
	return 0;
}

int
fed_prep_add(struct fed_prep_batch *b, int64_t label, const char *xml, size_t len)
{
	size_t tl, bound;
	int zn;

	dict_get();
	tl = prep_dict.tag_len;
	if (tl == 0 || prep_dict.loaded == NULL || len == 0 || len > PREP_CAP)
		return 1; /* nothing kept: the next poll writes it again */
	bound = (size_t)LZ4_compressBound((int)len);
	if (b->zcap < tl + PREP_LEN_BYTES + bound) {
		char *nz = realloc(b->z, tl + PREP_LEN_BYTES + bound);

		if (nz == NULL)
			return -1;
		b->z = nz;
		b->zcap = tl + PREP_LEN_BYTES + bound;
	}
	if (b->lz == NULL && (b->lz = LZ4_createStream()) == NULL)
		return -1;
	/* Each package on its own against the dictionary: any one can be opened alone. */
	memcpy(b->lz, prep_dict.loaded, sizeof(LZ4_stream_t));
	zn = LZ4_compress_fast_continue(b->lz, xml, b->z + tl + PREP_LEN_BYTES, (int)len,
	    (int)bound, PREP_LZ4_ACCEL);
	if (zn <= 0)
		return 1;
	memcpy(b->z, prep_dict.tag, tl);
	b->z[tl] = (char)(len >> 24);
	b->z[tl + 1] = (char)(len >> 16);
	b->z[tl + 2] = (char)(len >> 8);
	b->z[tl + 3] = (char)len;
	return prep_append(b, label, b->z, tl + PREP_LEN_BYTES + (size_t)zn);
}

int
fed_prep_move(struct fed_prep_batch *dst, struct fed_prep_batch *src)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < src->n; i++) {
		const struct fed_prep_item *it = &src->items[i];

		rc = prep_append(dst, it->label, src->bytes.data + it->off, it->len);
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
	int rc;

	(void)id;
	if (fed_prep_current(prep, prep_len))
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
