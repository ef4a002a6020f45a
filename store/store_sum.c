/* Summaries: one compact entry per record, per destination, kept in the transaction that
 * adds the record (store_sum_put), so that a report reads 28 bytes a record instead of
 * parsing its JSON. Entries are the fixed-size sorted duplicates of the destination's key
 * in the "sum" database:
 *
 *   0  vantage id   u32     big-endian: entries sort by vantage, then time
 *   4  observed_at  64 bits store_put_time form
 *   12 status       u16     HTTP status, STORE_SUM_UNANSWERED, STORE_SUM_NOT_RUN
 *   14 ping sent, 15 ping received, 16 flags, 17 score
 *   18 content id   u32
 *   22 address set  u32
 *   26 reserved (zero)
 *
 * The change score is fuzzy_compare's, computed when the entry is written because it is
 * slow; an entry that lands before later ones of its vantage rescores the next answered
 * one. Ids are given from counters in "sumdict" and never reused. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <fuzzy.h>
#include <jansson.h>

#include "store/store_int.h"
#include "util/util.h"

#define ENTRY_LEN 28
#define KEY_MAX (STORE_THREAT_ID_MAX + 1 + UTIL_SHA256_LEN)
#define NAME_KEY_MAX 300 /* longer dictionary names are keyed by their SHA-256 */
#define ADDRS_MAX 2048   /* address set text; longer sets are cut at an address */
#define MIGRATE_BATCH 20000

static void
put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t
get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
encode(unsigned char *p, const struct store_sum *e)
{
	put_u32(p, e->vantage);
	store_put_time(p + 4, e->t);
	p[12] = (unsigned char)(e->status >> 8);
	p[13] = (unsigned char)e->status;
	p[14] = e->ping_sent;
	p[15] = e->ping_recv;
	p[16] = e->flags;
	p[17] = e->score;
	put_u32(p + 18, e->content);
	put_u32(p + 22, e->addrs);
	p[26] = p[27] = 0;
}

static void
decode(const unsigned char *p, struct store_sum *e)
{
	e->vantage = get_u32(p);
	e->t = store_get_time(p + 4);
	e->status = (uint16_t)(p[12] << 8 | p[13]);
	e->ping_sent = p[14];
	e->ping_recv = p[15];
	e->flags = p[16];
	e->score = p[17];
	e->content = get_u32(p + 18);
	e->addrs = get_u32(p + 22);
}

static int
answered(const struct store_sum *e)
{
	return e->status < STORE_SUM_UNANSWERED;
}

/* ------------------------------------------------------------------ dictionaries */

/*
 * A write transaction's memory of the dictionaries: names to ids, the content ids' fuzzy
 * hashes, the counters, and the destinations whose target key is written. A batch names
 * the same vantages, pages and addresses again and again; each is then looked up in LMDB
 * once. It lives and dies with its transaction (an aborted one takes its new ids along),
 * so it never disagrees with the store; the counters reach LMDB in store_sum_flush,
 * before the commit.
 */
#define CACHE_SLOTS 4096 /* direct-mapped: a collision just costs a lookup */
#define CACHE_KEY_MAX 94
#define SSDEEP_SLOTS 1024
#define SSDEEP_CACHED 160 /* longer fuzzy hashes are read from the map each time */

struct name_slot {
	uint32_t id;
	uint8_t len; /* 0: empty */
	unsigned char key[CACHE_KEY_MAX];
};

struct ssdeep_slot {
	uint32_t id; /* 0: empty (ids start at 1) */
	char s[SSDEEP_CACHED];
};

struct store_sum_cache {
	struct name_slot names[CACHE_SLOTS];
	struct ssdeep_slot ssdeep[SSDEEP_SLOTS];
	uint32_t next[3];   /* counters of 'v', 'c', 'a' as this transaction has them */
	uint8_t have[3];    /* next[i] read from LMDB */
	uint8_t dirty[3];   /* next[i] moved: written by store_sum_flush */
};

static const char dict_kinds[3] = { 'v', 'c', 'a' };

static int
kind_index(char kind)
{
	return kind == 'v' ? 0 : kind == 'c' ? 1 : 2;
}

/* The cache of t, made on first use; NULL when memory is short (the store is then read
 * for every name, as it would be without a cache). */
static struct store_sum_cache *
cache_of(struct store_txn *t)
{
	if (t->sum_cache == NULL && !t->sum_cache_failed) {
		t->sum_cache = calloc(1, sizeof(*t->sum_cache));
		t->sum_cache_failed = t->sum_cache == NULL;
	}
	return t->sum_cache;
}

/* The slot where key would be, or NULL when it is too long to be kept. */
static struct name_slot *
name_slot(struct store_txn *t, const unsigned char *key, size_t len)
{
	struct store_sum_cache *c = len <= CACHE_KEY_MAX ? cache_of(t) : NULL;
	uint32_t h = 2166136261u;

	if (c == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ key[i]) * 16777619u;
	return &c->names[h % CACHE_SLOTS];
}

static int
slot_has(const struct name_slot *sl, const unsigned char *key, size_t len)
{
	return sl && sl->len == len && memcmp(sl->key, key, len) == 0;
}

static void
slot_fill(struct name_slot *sl, const unsigned char *key, size_t len, uint32_t id)
{
	if (sl == NULL)
		return;
	sl->len = (uint8_t)len;
	memcpy(sl->key, key, len);
	sl->id = id;
}

/* The next id of dictionary `kind`, through the cache when there is one. */
static int
dict_next(struct store_txn *t, char kind, uint32_t *next)
{
	struct store_sum_cache *c = cache_of(t);
	int ki = kind_index(kind);
	unsigned char ck[2] = { '#', (unsigned char)kind };
	MDB_val k = { 2, ck }, v;
	int rc;

	if (c && c->have[ki]) {
		*next = c->next[ki];
		return STORE_OK;
	}
	*next = 1;
	rc = mdb_get(t->txn, t->s->dbi[STORE_DBI_SUMDICT], &k, &v);
	if (rc == 0 && v.mv_size == 4)
		*next = get_u32(v.mv_data);
	else if (rc != 0 && rc != MDB_NOTFOUND)
		return store_txn_fail(t, rc, "reading a summary counter");
	if (c) {
		c->next[ki] = *next;
		c->have[ki] = 1;
	}
	return STORE_OK;
}

/* Moves the counter of `kind` past `used`: in the cache until the flush, or at once. */
static int
dict_advance(struct store_txn *t, char kind, uint32_t used)
{
	struct store_sum_cache *c = t->sum_cache;
	unsigned char ck[2] = { '#', (unsigned char)kind }, nb[4];
	MDB_val k = { 2, ck }, v = { 4, nb };
	int rc;

	if (c) {
		c->next[kind_index(kind)] = used + 1;
		c->dirty[kind_index(kind)] = 1;
		return STORE_OK;
	}
	put_u32(nb, used + 1);
	if ((rc = mdb_put(t->txn, t->s->dbi[STORE_DBI_SUMDICT], &k, &v, 0)) != 0)
		return store_txn_fail(t, rc, "writing a summary counter");
	return STORE_OK;
}

int
store_sum_flush(struct store_txn *t)
{
	struct store_sum_cache *c = t->sum_cache;

	for (int i = 0; c && i < 3; i++) {
		unsigned char ck[2] = { '#', (unsigned char)dict_kinds[i] }, nb[4];
		MDB_val k = { 2, ck }, v = { 4, nb };
		int rc;

		if (!c->dirty[i])
			continue;
		put_u32(nb, c->next[i]);
		if ((rc = mdb_put(t->txn, t->s->dbi[STORE_DBI_SUMDICT], &k, &v, 0)) != 0)
			return store_txn_fail(t, rc, "writing a summary counter");
		c->dirty[i] = 0;
	}
	return STORE_OK;
}

void
store_sum_cache_free(struct store_txn *t)
{
	free(t->sum_cache);
	t->sum_cache = NULL;
}

/* The id of `name` in dictionary `kind` ('v', 'c', 'a'), made when absent: the forward
 * key kind+name holds the id; the reverse key upper(kind)+id holds rev (rlen bytes). */
static int
dict_id(struct store_txn *t, char kind, const void *name, size_t nlen, const void *rev, size_t rlen,
    uint32_t *id)
{
	MDB_dbi dbi = t->s->dbi[STORE_DBI_SUMDICT];
	unsigned char kb[1 + NAME_KEY_MAX], rk[5], nb[4];
	MDB_val k = { 1 + nlen, kb }, v, rv;
	struct name_slot *sl;
	uint32_t next;
	int rc;

	kb[0] = (unsigned char)kind;
	if (nlen > NAME_KEY_MAX) {
		/* A name a peer made long must not fail the merge: key it by its hash, under
		 * the kind with its high bit set, which no other key begins with. */
		kb[0] = (unsigned char)(kind | 0x80);
		if (util_sha256(name, nlen, kb + 1) != 0) {
			util_seterr(t->err.msg, sizeof(t->err.msg), "SHA-256 failed");
			return STORE_ERR;
		}
		nlen = UTIL_SHA256_LEN;
		k.mv_size = 1 + nlen;
	} else {
		memcpy(kb + 1, name, nlen);
	}
	sl = name_slot(t, kb, k.mv_size);
	if (slot_has(sl, kb, k.mv_size)) {
		*id = sl->id;
		return STORE_OK;
	}
	rc = mdb_get(t->txn, dbi, &k, &v);
	if (rc == 0 && v.mv_size == 4) {
		*id = get_u32(v.mv_data);
		slot_fill(sl, kb, k.mv_size, *id);
		return STORE_OK;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		return store_txn_fail(t, rc, "reading a summary dictionary");
	if (dict_next(t, kind, &next) != STORE_OK)
		return STORE_ERR;
	if (next == UINT32_MAX) {
		util_seterr(t->err.msg, sizeof(t->err.msg), "%s: summary dictionary '%c' is full", t->s->dir, kind);
		return STORE_ERR;
	}
	if (dict_advance(t, kind, next) != STORE_OK)
		return STORE_ERR;
	put_u32(nb, next);
	v.mv_size = 4;
	v.mv_data = nb;
	if ((rc = mdb_put(t->txn, dbi, &k, &v, 0)) != 0)
		return store_txn_fail(t, rc, "writing a summary dictionary");
	rk[0] = (unsigned char)(kind - 'a' + 'A');
	put_u32(rk + 1, next);
	k.mv_size = 5;
	k.mv_data = rk;
	rv.mv_size = rlen;
	rv.mv_data = (void *)rev;
	if ((rc = mdb_put(t->txn, dbi, &k, &rv, 0)) != 0)
		return store_txn_fail(t, rc, "writing a summary dictionary");
	slot_fill(sl, kb, 1 + nlen, next);
	*id = next;
	return STORE_OK;
}

static int
dict_rev(MDB_txn *txn, MDB_dbi dbi, char kind, uint32_t id, MDB_val *v)
{
	unsigned char rk[5];
	MDB_val k = { 5, rk };

	rk[0] = (unsigned char)kind;
	put_u32(rk + 1, id);
	return mdb_get(txn, dbi, &k, v);
}

/* ------------------------------------------------------------------ one record */

/* The record fields an entry is made of, as read from its JSON (pointers into the record
 * text or into a jansson tree, valid while make_entry runs). */
struct fields {
	const char *node, *vant, *sha, *ssdeep, *err_kind;
	size_t node_len, vant_len, sha_len, ssdeep_len, err_len;
	int has_status, has_ping;
	long long status, sent, received;
	const char *addr[2][64];
	size_t addr_len[2][64], naddr[2];
};

static const char *const unanswered_kinds[] = {
	"dns",
	"refused",
	"timeout",
	"reset",
	"tls",
	"protocol",
};

static int
is_unanswered_error(const char *kind, size_t len)
{
	if (kind == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(unanswered_kinds) / sizeof(unanswered_kinds[0]); i++)
		if (strlen(unanswered_kinds[i]) == len &&
		    memcmp(kind, unanswered_kinds[i], len) == 0)
			return 1;
	return 0;
}

/* A member that is a plain string (or absent/null: *s NULL). 0, or -1: read it fully. */
static int
scan_str(const char *obj, const char *end, const char *key, const char **s, size_t *len)
{
	const char *v, *ve;
	int rc = obj ? util_jscan_get(obj, end, key, &v, &ve) : 0;

	*s = NULL;
	*len = 0;
	if (rc <= 0)
		return rc;
	rc = util_jscan_str(v, ve, s, len);
	if (rc == 0)
		*s = NULL;
	return rc < 0 ? -1 : 0;
}

/* A string member found by util_jscan_getv (v NULL: absent): as scan_str. */
static int
val_str(const char *v, const char *ve, const char **s, size_t *len)
{
	int rc = v ? util_jscan_str(v, ve, s, len) : 0;

	if (rc <= 0) {
		*s = NULL;
		*len = 0;
	}
	return rc < 0 ? -1 : 0;
}

/* An object member found by util_jscan_getv: *o NULL when absent or null. 0 or -1. */
static int
val_obj(const char *v, const char *ve, const char **o, const char **oe)
{
	*o = NULL;
	if (v == NULL || (ve - v == 4 && memcmp(v, "null", 4) == 0))
		return 0;
	if (*v != '{')
		return -1;
	*o = v;
	*oe = ve;
	return 0;
}

static int
val_int(const char *v, const char *ve, long long *out, int *has)
{
	int rc = v ? util_jscan_int(v, ve, out) : 0;

	*has = rc == 1;
	return rc < 0 ? -1 : 0;
}

/* The fields read in place, each object walked once: 0, or -1 when the text needs the
 * full parser. */
static int
scan_fields(const char *j, size_t len, struct fields *f)
{
	static const char *const top[6] = { "node", "vantage", "http", "ping", "target", "error" };
	static const char *const hk[3] = { "status", "sha256", "ssdeep" };
	static const char *const pk[2] = { "sent", "received" };
	static const char *const fams[2] = { "ipv4", "ipv6" };
	const char *end = j + len, *v[6], *ve[6], *x[3], *xe[3], *http, *he, *ping, *pe, *tg,
		   *te;
	int has = 0;

	if (util_jscan_getv(j, end, top, 6, v, ve) < 0 ||
	    val_str(v[0], ve[0], &f->node, &f->node_len) ||
	    val_str(v[1], ve[1], &f->vant, &f->vant_len) || val_obj(v[2], ve[2], &http, &he) ||
	    val_obj(v[3], ve[3], &ping, &pe) || val_obj(v[4], ve[4], &tg, &te))
		return -1;
	if (http &&
	    (util_jscan_getv(http, he, hk, 3, x, xe) < 0 ||
		val_int(x[0], xe[0], &f->status, &f->has_status) ||
		val_str(x[1], xe[1], &f->sha, &f->sha_len) ||
		val_str(x[2], xe[2], &f->ssdeep, &f->ssdeep_len)))
		return -1;
	if (v[5] && *v[5] != 'n') {
		if (*v[5] == '{') {
			if (scan_str(v[5], ve[5], "kind", &f->err_kind, &f->err_len))
				return -1;
		} else if (util_jscan_str(v[5], ve[5], &f->err_kind, &f->err_len) < 0) {
			return -1;
		}
	}
	if (ping &&
	    (util_jscan_getv(ping, pe, pk, 2, x, xe) < 0 ||
		val_int(x[0], xe[0], &f->sent, &f->has_ping) ||
		val_int(x[1], xe[1], &f->received, &has)))
		return -1;
	if (!has)
		f->received = 0;
	if (tg && util_jscan_getv(tg, te, fams, 2, x, xe) < 0)
		return -1;
	for (int k = 0; k < 2 && tg; k++) {
		const char *a = x[k], *ae = xe[k], *p;

		if (a == NULL || *a != '[')
			continue;
		for (p = a + 1; p < ae && *p != ']';) {
			const char *vv = p, *vve = util_jscan_skip(p, ae);
			const char *s;
			size_t sl;

			if (vve == NULL)
				return -1;
			if (util_jscan_str(vv, vve, &s, &sl) == 1 && f->naddr[k] < 64) {
				f->addr[k][f->naddr[k]] = s;
				f->addr_len[k][f->naddr[k]++] = sl;
			}
			p = vve;
			while (p < ae && (*p == ',' || *p == ' '))
				p++;
		}
	}
	return 0;
}

static void
take_str(json_t *v, const char **s, size_t *len)
{
	*s = json_string_value(v);
	*len = *s ? json_string_length(v) : 0;
}

/* The fields through jansson, for text the in-place reader declined. *r gets the tree
 * the fields point into (the caller frees it). 0, or -1 when it is not a JSON object. */
static int
parse_fields(const char *j, size_t len, struct fields *f, json_t **r)
{
	json_t *http, *ping, *err, *v;
	static const char *const fams[] = { "ipv4", "ipv6" };
	size_t i;

	*r = json_loadb(j, len, 0, NULL);
	if (*r == NULL || !json_is_object(*r))
		return -1;
	take_str(json_object_get(*r, "node"), &f->node, &f->node_len);
	take_str(json_object_get(*r, "vantage"), &f->vant, &f->vant_len);
	http = json_object_get(*r, "http");
	if (json_is_integer(json_object_get(http, "status"))) {
		f->has_status = 1;
		f->status = json_integer_value(json_object_get(http, "status"));
	}
	take_str(json_object_get(http, "sha256"), &f->sha, &f->sha_len);
	take_str(json_object_get(http, "ssdeep"), &f->ssdeep, &f->ssdeep_len);
	err = json_object_get(*r, "error");
	take_str(
	    json_is_object(err) ? json_object_get(err, "kind") : err, &f->err_kind, &f->err_len);
	ping = json_object_get(*r, "ping");
	if (json_is_integer(json_object_get(ping, "sent"))) {
		f->has_ping = 1;
		f->sent = json_integer_value(json_object_get(ping, "sent"));
		f->received = json_integer_value(json_object_get(ping, "received"));
	}
	for (int k = 0; k < 2; k++)
		json_array_foreach(json_object_get(json_object_get(*r, "target"), fams[k]), i, v)
		{
			if (json_is_string(v) && f->naddr[k] < 64) {
				f->addr[k][f->naddr[k]] = json_string_value(v);
				f->addr_len[k][f->naddr[k]++] = json_string_length(v);
			}
		}
	return 0;
}

struct addr_ref {
	const char *s;
	size_t len;
};

static int
by_addr(const void *a, const void *b)
{
	const struct addr_ref *x = a, *y = b;
	int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* The addresses (IPv4 then IPv6, each sorted, repeats dropped) as one text. */
static size_t
addr_text(const struct fields *f, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int k = 0; k < 2; k++) {
		struct addr_ref list[64];
		size_t n = f->naddr[k];

		for (size_t i = 0; i < n; i++) {
			list[i].s = f->addr[k][i];
			list[i].len = f->addr_len[k][i];
		}
		if (n > 1)
			qsort(list, n, sizeof(list[0]), by_addr);
		for (size_t i = 0; i < n; i++) {
			size_t l = list[i].len;

			if (l == 0 || memchr(list[i].s, ' ', l) || memchr(list[i].s, '\0', l) ||
			    (i > 0 && by_addr(&list[i], &list[i - 1]) == 0))
				continue;
			if (off + l + 2 > len)
				break;
			if (off)
				buf[off++] = ' ';
			memcpy(buf + off, list[i].s, l);
			off += l;
			buf[off] = '\0';
		}
	}
	return off;
}

/* Appends n bytes and a NUL to the arena; *off gets where they start. 0 or -1. */
static int
arena_add(struct util_buf *a, const void *p, size_t n, size_t *off)
{
	*off = a->len;
	if (util_buf_add(a, p, n) != 0 || util_buf_add(a, "", 1) != 0) {
		a->len = *off;
		return -1;
	}
	return 0;
}

int
store_sum_prepare(const struct store_obs *o, struct store_sum_src *src, struct util_buf *arena,
    struct store_err *err)
{
	struct fields f;
	json_t *r = NULL;
	char addrs[ADDRS_MAX];
	size_t al, mark = arena->len, off;
	int ret = STORE_ERR;

	memset(src, 0, sizeof(*src));
	memset(&f, 0, sizeof(f));
	if (scan_fields(o->json, o->len, &f) != 0) {
		memset(&f, 0, sizeof(f));
		if (parse_fields(o->json, o->len, &f, &r) != 0) {
			ret = STORE_OK; /* not a JSON object: nothing a report could use */
			goto out;
		}
	}
	if (f.node == NULL) {
		f.node = "";
		f.node_len = 0;
	}
	if (f.vant == NULL) {
		/* a record without a vantage label: the node is its vantage */
		f.vant = f.node;
		f.vant_len = f.node_len;
	}
	/* NUL separates node and label: a NUL inside the node would move the split */
	if (memchr(f.node, '\0', f.node_len) != NULL)
		f.node_len = strlen(f.node);
	/* node NUL vantage NUL, the vantage's name and its reverse value at once */
	if (arena_add(arena, f.node, f.node_len, &src->names) != 0 ||
	    arena_add(arena, f.vant, f.vant_len, &off) != 0)
		goto nomem;
	src->names_len = f.node_len + 1 + f.vant_len;

	if (f.has_status && f.status >= 0 && f.status <= 999) {
		char hex[65];

		src->status = (uint16_t)f.status;
		if (f.sha && f.sha_len == 64 &&
		    (memcpy(hex, f.sha, 64), hex[64] = '\0',
			util_unhex(hex, src->content, sizeof(src->content)) == 0)) {
			src->has_content = 1;
			src->ssdeep_len = f.ssdeep && f.ssdeep_len < 255 ? f.ssdeep_len : 0;
			if (arena_add(arena, f.ssdeep, src->ssdeep_len, &src->ssdeep) != 0)
				goto nomem;
		}
	} else {
		src->status = is_unanswered_error(f.err_kind, f.err_len) ? STORE_SUM_UNANSWERED :
									   STORE_SUM_NOT_RUN;
	}
	if (f.has_ping && f.sent > 0) {
		src->flags |= STORE_SUM_PING;
		src->ping_sent = (uint8_t)(f.sent > 255 ? 255 : f.sent);
		src->ping_recv =
		    (uint8_t)(f.received < 0 ? 0 : f.received > 255 ? 255 : f.received);
	}
	al = addr_text(&f, addrs, sizeof(addrs));
	if (al) {
		if (util_sha256(addrs, al, src->addrs_hash) != 0) {
			util_seterr(err->msg, sizeof(err->msg), "SHA-256 failed");
			goto fail;
		}
		if (arena_add(arena, addrs, al, &src->addrs) != 0)
			goto nomem;
		src->addrs_len = al;
	}
	src->usable = 1;
	ret = STORE_OK;
	goto out;
nomem:
	util_seterr(err->msg, sizeof(err->msg), "out of memory for a batch's summaries");
fail:
	arena->len = mark;
out:
	json_decref(r);
	return ret;
}

/* The entry of a prepared record, with its dictionary ids (made when new). */
static int
make_entry(struct store_txn *t, const struct store_obs *o, const struct store_sum_src *src,
    const char *arena, struct store_sum *e)
{
	const char *names = arena + src->names;

	memset(e, 0, sizeof(*e));
	e->t = o->observed_us;
	e->score = STORE_SUM_NO_SCORE;
	e->status = src->status;
	e->flags = src->flags;
	e->ping_sent = src->ping_sent;
	e->ping_recv = src->ping_recv;
	if (dict_id(t, 'v', names, src->names_len, names, src->names_len + 1, &e->vantage) !=
	    STORE_OK)
		return STORE_ERR;
	if (src->has_content) {
		unsigned char rev[UTIL_SHA256_LEN + 256];

		memcpy(rev, src->content, UTIL_SHA256_LEN);
		memcpy(rev + UTIL_SHA256_LEN, arena + src->ssdeep, src->ssdeep_len + 1);
		if (dict_id(t, 'c', src->content, UTIL_SHA256_LEN, rev,
			UTIL_SHA256_LEN + src->ssdeep_len + 1, &e->content) != STORE_OK)
			return STORE_ERR;
	}
	if (src->addrs_len && dict_id(t, 'a', src->addrs_hash, UTIL_SHA256_LEN,
				  arena + src->addrs, src->addrs_len + 1, &e->addrs) != STORE_OK)
		return STORE_ERR;
	return STORE_OK;
}

/* The ssdeep of content id (NULL when none): in the cache, or pointing into the map. */
static const char *
content_ssdeep(struct store_txn *t, uint32_t id)
{
	struct store_sum_cache *c = id ? cache_of(t) : NULL;
	struct ssdeep_slot *sl = c ? &c->ssdeep[id % SSDEEP_SLOTS] : NULL;
	MDB_val v;
	size_t len;

	if (sl && sl->id == id)
		return sl->s;
	if (id == 0 || dict_rev(t->txn, t->s->dbi[STORE_DBI_SUMDICT], 'C', id, &v) != 0 ||
	    v.mv_size <= UTIL_SHA256_LEN + 1)
		return NULL;
	/* The reverse value is the hash, then the ssdeep with its NUL. */
	len = strnlen((const char *)v.mv_data + UTIL_SHA256_LEN, v.mv_size - UTIL_SHA256_LEN);
	if (sl && len < SSDEEP_CACHED) {
		memcpy(sl->s, (const char *)v.mv_data + UTIL_SHA256_LEN, len);
		sl->s[len] = '\0';
		sl->id = id;
		return sl->s;
	}
	return (const char *)v.mv_data + UTIL_SHA256_LEN;
}

/* The score of `cur` after `prev` (both answered, same vantage). */
static uint8_t
score_of(struct store_txn *t, const struct store_sum *prev, const struct store_sum *cur)
{
	const char *a, *b;
	int sc;

	if (prev->content == cur->content)
		return STORE_SUM_NO_SCORE;
	a = content_ssdeep(t, prev->content);
	b = content_ssdeep(t, cur->content);
	/* Without both hashes nothing is known to be alike: the change counts as total. */
	if (a == NULL || b == NULL)
		return 0;
	sc = fuzzy_compare(a, b);
	return (uint8_t)(sc < 0 ? 0 : sc > 100 ? 100 : sc);
}

int
store_sum_put(struct store_txn *t, const struct store_obs *o, const unsigned char *th)
{
	struct store_sum_src src;
	struct util_buf arena;
	int rc;

	util_buf_init(&arena, 0);
	rc = store_sum_prepare(o, &src, &arena, &t->err);
	if (rc == STORE_OK && src.usable)
		rc = store_sum_put_src(t, o, th, &src, arena.data);
	util_buf_fini(&arena);
	return rc;
}

int
store_sum_put_src(struct store_txn *t, const struct store_obs *o, const unsigned char *th,
    const struct store_sum_src *src, const char *arena)
{
	unsigned char kb[KEY_MAX], eb[ENTRY_LEN], seek[ENTRY_LEN];
	size_t tl = strlen(o->threat_id);
	MDB_val k, v;
	struct store_sum e, x;
	int rc, have_next = 0;

	memcpy(kb, o->threat_id, tl);
	kb[tl] = '\0';
	memcpy(kb + tl + 1, th, UTIL_SHA256_LEN);
	k.mv_size = tl + 1 + UTIL_SHA256_LEN;
	k.mv_data = kb;
	if (t->sum_cur == NULL) {
		rc = mdb_cursor_open(t->txn, t->s->dbi[STORE_DBI_SUM], &t->sum_cur);
		if (rc != 0)
			return store_txn_fail(t, rc, "opening a summary cursor");
	}
	if (!src->usable)
		return STORE_OK;
	if (make_entry(t, o, src, arena, &e) != STORE_OK)
		return STORE_ERR;

	/* Where the entry goes: the first entry at or after (vantage, time). */
	memset(seek, 0, sizeof(seek));
	put_u32(seek, e.vantage);
	store_put_time(seek + 4, e.t);
	v.mv_size = ENTRY_LEN;
	v.mv_data = seek;
	rc = mdb_cursor_get(t->sum_cur, &k, &v, MDB_GET_BOTH_RANGE);
	if (rc == 0) {
		decode(v.mv_data, &x);
		if (x.vantage == e.vantage && x.t == e.t)
			return STORE_OK; /* summarized already (a migration meeting new records) */
		have_next = x.vantage == e.vantage;
		rc = mdb_cursor_get(t->sum_cur, &k, &v, MDB_PREV_DUP);
	} else if (rc == MDB_NOTFOUND) {
		/* Every entry sorts before it, or the destination has none. */
		k.mv_size = tl + 1 + UTIL_SHA256_LEN;
		k.mv_data = kb;
		rc = mdb_cursor_get(t->sum_cur, &k, &v, MDB_SET_KEY);
		if (rc == 0)
			rc = mdb_cursor_get(t->sum_cur, &k, &v, MDB_LAST_DUP);
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		return store_txn_fail(t, rc, "reading summaries");
	/* Walk back to the previous answered entry of the vantage, for the score. */
	if (answered(&e)) {
		while (rc == 0) {
			decode(v.mv_data, &x);
			if (x.vantage != e.vantage)
				break;
			if (answered(&x)) {
				e.score = score_of(t, &x, &e);
				break;
			}
			rc = mdb_cursor_get(t->sum_cur, &k, &v, MDB_PREV_DUP);
		}
		if (rc != 0 && rc != MDB_NOTFOUND)
			return store_txn_fail(t, rc, "reading summaries");
	}
	k.mv_size = tl + 1 + UTIL_SHA256_LEN;
	k.mv_data = kb;
	encode(eb, &e);
	v.mv_size = ENTRY_LEN;
	v.mv_data = eb;
	rc = mdb_put(t->txn, t->s->dbi[STORE_DBI_SUM], &k, &v, MDB_NODUPDATA);
	if (rc == 0) {
		unsigned char dk[1 + KEY_MAX];
		MDB_val d = { 1 + k.mv_size, dk },
			dv = { strlen(o->target_key), (void *)o->target_key };

		struct name_slot *sl;

		dk[0] = 'd';
		memcpy(dk + 1, kb, k.mv_size);
		sl = name_slot(t, dk, d.mv_size);
		if (!slot_has(sl, dk, d.mv_size)) {
			rc = mdb_put(t->txn, t->s->dbi[STORE_DBI_SUMDICT], &d, &dv,
			    MDB_NOOVERWRITE);
			if (rc == MDB_KEYEXIST)
				rc = 0;
			if (rc == 0)
				slot_fill(sl, dk, d.mv_size, 0);
		}
	}
	if (rc != 0)
		return store_txn_fail(t, rc, "writing a summary");
	if (!have_next || !answered(&e))
		return STORE_OK;

	/* It arrived before later entries of its vantage: the next answered one now
	 * follows it, not what it followed before. */
	v.mv_size = ENTRY_LEN;
	v.mv_data = eb;
	rc = mdb_cursor_get(t->sum_cur, &k, &v, MDB_GET_BOTH);
	if (rc == 0)
		rc = mdb_cursor_get(t->sum_cur, &k, &v, MDB_NEXT_DUP);
	while (rc == 0) {
		unsigned char nb[ENTRY_LEN];

		decode(v.mv_data, &x);
		if (x.vantage != e.vantage)
			break;
		if (!answered(&x)) {
			rc = mdb_cursor_get(t->sum_cur, &k, &v, MDB_NEXT_DUP);
			continue;
		}
		x.score = score_of(t, &e, &x);
		encode(nb, &x);
		if (memcmp(nb, v.mv_data, ENTRY_LEN) == 0)
			break;
		v.mv_size = ENTRY_LEN;
		v.mv_data = nb;
		/* Same vantage and time, so the same place among the duplicates. */
		rc = mdb_cursor_put(t->sum_cur, &k, &v, MDB_CURRENT);
		if (rc != 0)
			return store_txn_fail(t, rc, "rescoring a summary");
		break;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		return store_txn_fail(t, rc, "reading summaries");
	return STORE_OK;
}

/* ------------------------------------------------------------------ migration */

struct migrate {
	int64_t after; /* last feed label summarized, as of the last commit */
	int64_t next;  /* the same for the transaction running */
	size_t done;
	int finished;
};

static int
migrate_batch(struct store_txn *t, void *arg)
{
	struct migrate *m = arg;
	MDB_cursor *c = NULL;
	unsigned char lb[8];
	MDB_val k = { 8, lb }, v, mk = { 8, (void *)"sumbuilt" }, mv;
	int64_t last = m->after;
	size_t n = 0;
	int rc;

	if ((rc = mdb_cursor_open(t->txn, t->s->dbi[STORE_DBI_FEED], &c)) != 0)
		return store_txn_fail(t, rc, "opening a cursor");
	store_put_be64(lb, (uint64_t)m->after + 1);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && n < MIGRATE_BATCH;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		json_t *r;
		struct store_obs o;
		unsigned char th[UTIL_SHA256_LEN];
		const char *threat, *key, *at;
		char *text;

		if (k.mv_size != 8 || v.mv_size < STORE_ID_LEN)
			continue;
		last = (int64_t)store_get_be64(k.mv_data);
		n++;
		text = (char *)v.mv_data + STORE_ID_LEN;
		r = json_loadb(text, v.mv_size - STORE_ID_LEN, 0, NULL);
		threat = json_string_value(json_object_get(r, "threat_id"));
		key = json_string_value(json_object_get(json_object_get(r, "target"), "input"));
		at = json_string_value(json_object_get(r, "observed_at"));
		memset(&o, 0, sizeof(o));
		if (threat == NULL || key == NULL || at == NULL ||
		    util_time_parse(at, &o.observed_us) != 0 || strlen(threat) == 0 ||
		    strlen(threat) > STORE_THREAT_ID_MAX) {
			json_decref(r);
			continue; /* not a record this store indexed */
		}
		o.threat_id = threat;
		o.target_key = key;
		o.json = text;
		o.len = v.mv_size - STORE_ID_LEN;
		memcpy(o.id, v.mv_data, STORE_ID_LEN);
		rc = util_sha256(key, strlen(key), th) == 0 ? store_sum_put(t, &o, th) : STORE_ERR;
		json_decref(r);
		if (rc != STORE_OK) {
			mdb_cursor_close(c);
			return STORE_ERR;
		}
	}
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return store_txn_fail(t, rc, "reading the feed");
	if (n < MIGRATE_BATCH) {
		char buf[16];
		MDB_val sk = { 6, (void *)"schema" }, sv;

		snprintf(buf, sizeof(buf), "%d", 2); /* the id index is built next */
		sv.mv_size = strlen(buf);
		sv.mv_data = buf;
		rc = mdb_put(t->txn, t->s->dbi[STORE_DBI_META], &sk, &sv, 0);
		if (rc == 0)
			rc = mdb_del(t->txn, t->s->dbi[STORE_DBI_META], &mk, NULL);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return store_txn_fail(t, rc, "writing the schema version");
		m->finished = 1;
	} else {
		store_put_be64(lb, (uint64_t)last);
		mv.mv_size = 8;
		mv.mv_data = lb;
		if ((rc = mdb_put(t->txn, t->s->dbi[STORE_DBI_META], &mk, &mv, 0)) != 0)
			return store_txn_fail(t, rc, "saving the summary build's progress");
	}
	/* moved on by the caller once committed: store_write may run a transaction twice */
	m->next = last;
	m->done = n;
	return STORE_OK;
}

int
store_sum_migrate(struct store *s, const struct store_opts *opts, struct store_err *err)
{
	struct migrate m = { 0, 0, 0, 0 };
	size_t total = 0, done = 0;
	MDB_txn *txn;
	MDB_val k = { 8, (void *)"sumbuilt" }, v;

	/* Resume where a build cut short (by a crash, say) stopped. */
	if (store_txn_begin(s, MDB_RDONLY, &txn, err) != STORE_OK)
		return STORE_ERR;
	if (mdb_get(txn, s->dbi[STORE_DBI_META], &k, &v) == 0 && v.mv_size == 8)
		m.after = (int64_t)store_get_be64(v.mv_data);
	store_txn_end(s, txn);
	if (store_count_records(s, &total, err) != STORE_OK)
		return STORE_ERR;
	while (!m.finished) {
		if (store_write(s, migrate_batch, &m, err) != STORE_OK)
			return STORE_ERR;
		m.after = m.next;
		done += m.done;
		if (opts && opts->progress)
			opts->progress(done < total ? done : total, total, opts->progress_arg);
	}
	return STORE_OK;
}

/* ------------------------------------------------------------------ reads */

struct store_snap {
	struct store *s;
	MDB_txn *txn;
	struct store_sum *buf;
	size_t cap;
};

int
store_snap_open(struct store *s, struct store_snap **out, struct store_err *err)
{
	struct store_snap *sn;

	if (s->no_sum) {
		util_seterr(err->msg, sizeof(err->msg),
		    "%s: no summaries yet (made by an older c2watch): open it once "
		    "for writing, e.g. with \"c2watch report\" as its owner",
		    s->dir);
		return STORE_NOTFOUND;
	}
	sn = calloc(1, sizeof(*sn));
	if (sn == NULL) {
		util_seterr(err->msg, sizeof(err->msg), "out of memory");
		return STORE_ERR;
	}
	sn->s = s;
	if (store_txn_begin(s, MDB_RDONLY, &sn->txn, err) != STORE_OK) {
		free(sn);
		return STORE_ERR;
	}
	*out = sn;
	return STORE_OK;
}

void
store_snap_close(struct store_snap *sn)
{
	if (sn == NULL)
		return;
	store_txn_end(sn->s, sn->txn);
	free(sn->buf);
	free(sn);
}

/* Appends the entries of the cursor's current key observed before until_us. */
static int
snap_entries(struct store_snap *sn, MDB_cursor *c, int64_t until_us, size_t *n)
{
	MDB_val k, v;
	size_t count;
	int rc;

	*n = 0;
	/* A key's first value is kept inline until a second one comes: GET_MULTIPLE then
	 * finds nothing, and the one value is the current one. */
	if ((rc = mdb_cursor_count(c, &count)) != 0)
		return rc;
	if (count == 1) {
		if ((rc = mdb_cursor_get(c, &k, &v, MDB_GET_CURRENT)) != 0)
			return rc;
		if (v.mv_size != ENTRY_LEN)
			return 0;
		if (sn->cap == 0) {
			sn->buf = malloc(4096 * sizeof(*sn->buf));
			if (sn->buf == NULL)
				return ENOMEM;
			sn->cap = 4096;
		}
		decode(v.mv_data, &sn->buf[0]);
		*n = sn->buf[0].t < until_us;
		return 0;
	}
	for (rc = mdb_cursor_get(c, &k, &v, MDB_GET_MULTIPLE); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT_MULTIPLE)) {
		size_t m = v.mv_size / ENTRY_LEN;
		const unsigned char *p = v.mv_data;

		if (*n + m > sn->cap) {
			size_t cap = sn->cap ? sn->cap : 4096;
			struct store_sum *nb;

			while (cap < *n + m)
				cap *= 2;
			nb = realloc(sn->buf, cap * sizeof(*nb));
			if (nb == NULL)
				return ENOMEM;
			sn->buf = nb;
			sn->cap = cap;
		}
		for (size_t i = 0; i < m; i++, p += ENTRY_LEN) {
			decode(p, &sn->buf[*n]);
			if (sn->buf[*n].t < until_us)
				(*n)++;
		}
	}
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int
store_snap_dests(struct store_snap *sn, const char *threat_id, const char *target_key,
    int64_t until_us, store_dest_cb cb, void *arg, struct store_err *err)
{
	unsigned char kb[KEY_MAX];
	size_t pn = 0;
	MDB_cursor *c = NULL;
	MDB_val k, v;
	MDB_cursor_op op = MDB_FIRST;
	int rc, ret = STORE_OK;

	if (threat_id) {
		pn = strlen(threat_id);
		if (pn == 0 || pn > STORE_THREAT_ID_MAX)
			return STORE_OK;
		memcpy(kb, threat_id, pn);
		kb[pn++] = '\0';
		if (target_key) {
			if (util_sha256(target_key, strlen(target_key), kb + pn) != 0) {
				util_seterr(err->msg, sizeof(err->msg), "SHA-256 failed");
				return STORE_ERR;
			}
			pn += UTIL_SHA256_LEN;
		}
		op = MDB_SET_RANGE;
	}
	k.mv_size = pn;
	k.mv_data = kb;
	if ((rc = mdb_cursor_open(sn->txn, sn->s->dbi[STORE_DBI_SUM], &c)) != 0)
		goto fail;
	for (rc = mdb_cursor_get(c, &k, &v, op); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT_NODUP)) {
		unsigned char dk[1 + KEY_MAX];
		MDB_val d, dv;
		char tk[8192], th[STORE_THREAT_ID_MAX + 1];
		const unsigned char *nul;
		size_t n;

		if (pn && (k.mv_size < pn || memcmp(k.mv_data, kb, pn) != 0))
			break;
		nul = memchr(k.mv_data, '\0', k.mv_size);
		if (nul == NULL || k.mv_size > KEY_MAX)
			continue;
		dk[0] = 'd';
		memcpy(dk + 1, k.mv_data, k.mv_size);
		d.mv_size = 1 + k.mv_size;
		d.mv_data = dk;
		if (mdb_get(sn->txn, sn->s->dbi[STORE_DBI_SUMDICT], &d, &dv) != 0 ||
		    dv.mv_size >= sizeof(tk))
			continue;
		memcpy(tk, dv.mv_data, dv.mv_size);
		tk[dv.mv_size] = '\0';
		memcpy(th, k.mv_data, (size_t)(nul - (const unsigned char *)k.mv_data) + 1);
		if ((rc = snap_entries(sn, c, until_us, &n)) != 0)
			goto fail;
		if ((ret = cb(th, tk, sn->buf, n, arg)) != 0)
			goto out;
	}
	if (rc != MDB_NOTFOUND && rc != 0)
		goto fail;
	goto out;
fail:
	util_seterr(err->msg, sizeof(err->msg), "%s: reading summaries: %s", sn->s->dir,
	    rc == ENOMEM ? "out of memory" : mdb_strerror(rc));
	ret = STORE_ERR;
out:
	if (c)
		mdb_cursor_close(c);
	return ret;
}

static int
snap_rev(struct store_snap *sn, char kind, uint32_t id, MDB_val *v)
{
	int rc = dict_rev(sn->txn, sn->s->dbi[STORE_DBI_SUMDICT], kind, id, v);

	if (rc == MDB_NOTFOUND)
		return STORE_NOTFOUND;
	return rc == 0 && v->mv_size > 0 && ((const char *)v->mv_data)[v->mv_size - 1] == '\0' ?
	    STORE_OK :
	    STORE_ERR;
}

int
store_snap_vantage(struct store_snap *sn, uint32_t id, const char **node, const char **label)
{
	MDB_val v;
	int rc = snap_rev(sn, 'V', id, &v);

	if (rc != STORE_OK)
		return rc;
	*node = v.mv_data;
	*label = *node + strlen(*node) + 1;
	if (*label >= (const char *)v.mv_data + v.mv_size)
		return STORE_ERR;
	return STORE_OK;
}

int
store_snap_content(
    struct store_snap *sn, uint32_t id, unsigned char sha256[32], const char **ssdeep)
{
	MDB_val v;
	int rc = snap_rev(sn, 'C', id, &v);

	if (rc != STORE_OK)
		return rc;
	if (v.mv_size < UTIL_SHA256_LEN + 1)
		return STORE_ERR;
	memcpy(sha256, v.mv_data, UTIL_SHA256_LEN);
	if (ssdeep)
		*ssdeep = (const char *)v.mv_data + UTIL_SHA256_LEN;
	return STORE_OK;
}

int
store_snap_content_id(struct store_snap *sn, const unsigned char sha256[32], uint32_t *id)
{
	unsigned char kb[1 + UTIL_SHA256_LEN];
	MDB_val k = { sizeof(kb), kb }, v;
	int rc;

	kb[0] = 'c';
	memcpy(kb + 1, sha256, UTIL_SHA256_LEN);
	rc = mdb_get(sn->txn, sn->s->dbi[STORE_DBI_SUMDICT], &k, &v);
	if (rc == MDB_NOTFOUND)
		return STORE_NOTFOUND;
	if (rc != 0 || v.mv_size != 4)
		return STORE_ERR;
	*id = get_u32(v.mv_data);
	return STORE_OK;
}

int
store_snap_addrs(struct store_snap *sn, uint32_t id, const char **text)
{
	MDB_val v;
	int rc = snap_rev(sn, 'A', id, &v);

	if (rc == STORE_OK)
		*text = v.mv_data;
	return rc;
}
