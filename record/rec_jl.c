/*
 * A small, strict JSON reader for the records a node serves: the whole value in two flat
 * arrays (nodes and decoded strings), no allocation per value and no hash tables, which
 * is what made parsing a stored record with jansson the largest cost of serving it. It
 * reads what jansson reads the same way or declines: duplicate keys (jansson keeps the
 * last), \u0000, unpaired surrogates, numbers jansson refuses and very deep nesting are
 * declined, and the caller falls back to jansson.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record/record.h"

struct lex {
	const char *s;
	size_t len, i;
	struct rec_jl *jl;
};

static int
grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 64;
	void *np;

	while (c < need) {
		if (c > SIZE_MAX / 2 / size)
			return -1;
		c *= 2;
	}
	if (c == *cap)
		return 0;
	if ((np = realloc(*p, c * size)) == NULL)
		return -1;
	*p = np;
	*cap = c;
	return 0;
}

static uint32_t
new_node(struct rec_jl *jl, unsigned char type)
{
	struct rec_jl_node *n;

	if (jl->n >= UINT32_MAX - 1 ||
	    grow((void **)&jl->v, &jl->cap, jl->n + 1, sizeof(*jl->v)) != 0)
		return REC_JL_NONE;
	n = &jl->v[jl->n];
	memset(n, 0, sizeof(*n));
	n->type = type;
	n->first = n->next = REC_JL_NONE;
	return (uint32_t)jl->n++;
}

static int
put_bytes(struct rec_jl *jl, const char *b, size_t n)
{
	if (grow((void **)&jl->s, &jl->scap, jl->slen + n + 1, 1) != 0)
		return -1;
	memcpy(jl->s + jl->slen, b, n);
	jl->slen += n;
	return 0;
}

static void
skip_ws(struct lex *lx)
{
	while (lx->i < lx->len && (lx->s[lx->i] == ' ' || lx->s[lx->i] == '\t' ||
				      lx->s[lx->i] == '\n' || lx->s[lx->i] == '\r'))
		lx->i++;
}

static int
hex4(const char *p, unsigned *v)
{
	*v = 0;
	for (int k = 0; k < 4; k++) {
		char c = p[k];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

/* A string token, decoded into jl->s (NUL-terminated); *off and *n say where. */
static int
lex_string(struct lex *lx, uint32_t *off, uint32_t *n)
{
	const unsigned char *u = (const unsigned char *)lx->s;
	size_t start = lx->jl->slen, run;
	int closed = 0;

	if (lx->i >= lx->len || u[lx->i] != '"')
		return -1;
	run = ++lx->i;
	while (lx->i < lx->len && !closed) {
		unsigned char c = u[lx->i];

		if (c == '"') {
			if (put_bytes(lx->jl, lx->s + run, lx->i - run) != 0)
				return -1;
			lx->i++;
			closed = 1;
			continue;
		}
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			char out[4];
			size_t on = 1;
			unsigned cp;

			if (put_bytes(lx->jl, lx->s + run, lx->i - run) != 0 || lx->i + 1 >= lx->len)
				return -1;
			switch (u[lx->i + 1]) {
			case '"': out[0] = '"'; break;
			case '\\': out[0] = '\\'; break;
			case '/': out[0] = '/'; break;
			case 'b': out[0] = '\b'; break;
			case 'f': out[0] = '\f'; break;
			case 'n': out[0] = '\n'; break;
			case 'r': out[0] = '\r'; break;
			case 't': out[0] = '\t'; break;
			case 'u':
				if (lx->i + 6 > lx->len || hex4(lx->s + lx->i + 2, &cp) != 0)
					return -1;
				if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
					return -1; /* jansson refuses \u0000; pairs are rare: its job */
				if (cp < 0x80) {
					out[0] = (char)cp;
				} else if (cp < 0x800) {
					out[0] = (char)(0xc0 | (cp >> 6));
					out[1] = (char)(0x80 | (cp & 0x3f));
					on = 2;
				} else {
					out[0] = (char)(0xe0 | (cp >> 12));
					out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
					out[2] = (char)(0x80 | (cp & 0x3f));
					on = 3;
				}
				lx->i += 4;
				break;
			default:
				return -1;
			}
			if (put_bytes(lx->jl, out, on) != 0)
				return -1;
			lx->i += 2;
			run = lx->i;
			continue;
		}
		if (c < 0x80) {
			lx->i++;
			continue;
		}
		{
			size_t k, m = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
			unsigned cp;

			if (m == 0 || c > 0xf4 || lx->i + m > lx->len)
				return -1;
			cp = c & (m == 2 ? 0x1f : m == 3 ? 0x0f : 0x07);
			for (k = 1; k < m; k++) {
				if ((u[lx->i + k] & 0xc0) != 0x80)
					return -1;
				cp = (cp << 6) | (u[lx->i + k] & 0x3f);
			}
			if ((m == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
			    (m == 4 && (cp < 0x10000 || cp > 0x10ffff)))
				return -1;
			lx->i += m;
		}
	}
	if (!closed || lx->jl->slen - start > UINT32_MAX - 1 || start > UINT32_MAX ||
	    put_bytes(lx->jl, "", 1) != 0)
		return -1;
	*off = (uint32_t)start;
	*n = (uint32_t)(lx->jl->slen - 1 - start);
	return 0;
}

/* A number as jansson reads it: an integer unless it has a fraction or an exponent. */
static int
lex_number(struct lex *lx, uint32_t at)
{
	char tok[64], *end;
	size_t b = lx->i, n;
	int real = 0;

	if (lx->i < lx->len && lx->s[lx->i] == '-')
		lx->i++;
	if (lx->i >= lx->len || lx->s[lx->i] < '0' || lx->s[lx->i] > '9')
		return -1;
	if (lx->s[lx->i] == '0' && lx->i + 1 < lx->len && lx->s[lx->i + 1] >= '0' &&
	    lx->s[lx->i + 1] <= '9')
		return -1;
	while (lx->i < lx->len && lx->s[lx->i] >= '0' && lx->s[lx->i] <= '9')
		lx->i++;
	if (lx->i < lx->len && lx->s[lx->i] == '.') {
		real = 1;
		lx->i++;
		if (lx->i >= lx->len || lx->s[lx->i] < '0' || lx->s[lx->i] > '9')
			return -1;
		while (lx->i < lx->len && lx->s[lx->i] >= '0' && lx->s[lx->i] <= '9')
			lx->i++;
	}
	if (lx->i < lx->len && (lx->s[lx->i] == 'e' || lx->s[lx->i] == 'E')) {
		real = 1;
		lx->i++;
		if (lx->i < lx->len && (lx->s[lx->i] == '+' || lx->s[lx->i] == '-'))
			lx->i++;
		if (lx->i >= lx->len || lx->s[lx->i] < '0' || lx->s[lx->i] > '9')
			return -1;
		while (lx->i < lx->len && lx->s[lx->i] >= '0' && lx->s[lx->i] <= '9')
			lx->i++;
	}
	n = lx->i - b;
	if (n >= sizeof(tok))
		return -1;
	memcpy(tok, lx->s + b, n);
	tok[n] = '\0';
	errno = 0;
	if (real) {
		double d = strtod(tok, &end);

		if (*end != '\0' || !isfinite(d))
			return -1;
		lx->jl->v[at].type = REC_JL_REAL;
		lx->jl->v[at].d = d;
	} else {
		long long v = strtoll(tok, &end, 10);

		if (*end != '\0' || errno == ERANGE)
			return -1;
		lx->jl->v[at].type = REC_JL_INT;
		lx->jl->v[at].i = v;
	}
	return 0;
}

static int lex_value(struct lex *lx, uint32_t at, int depth);

/* Appends child `c` to container `at` (whose last child is *last). */
static void
link_child(struct rec_jl *jl, uint32_t at, uint32_t *last, uint32_t c)
{
	if (*last == REC_JL_NONE)
		jl->v[at].first = c;
	else
		jl->v[*last].next = c;
	*last = c;
	jl->v[at].count++;
}

static int
lex_object(struct lex *lx, uint32_t at, int depth)
{
	uint32_t last = REC_JL_NONE;

	lx->i++;
	skip_ws(lx);
	if (lx->i < lx->len && lx->s[lx->i] == '}') {
		lx->i++;
		return 0;
	}
	for (;;) {
		uint32_t koff, klen, c;

		skip_ws(lx);
		if (lex_string(lx, &koff, &klen) != 0)
			return -1;
		/* A NUL inside a key cannot be told apart by strcmp: leave it to jansson. */
		if (memchr(lx->jl->s + koff, '\0', klen) != NULL)
			return -1;
		for (uint32_t k = lx->jl->v[at].first; k != REC_JL_NONE; k = lx->jl->v[k].next)
			if (lx->jl->v[k].key_len == klen &&
			    memcmp(lx->jl->s + lx->jl->v[k].key, lx->jl->s + koff, klen) == 0)
				return -1;
		skip_ws(lx);
		if (lx->i >= lx->len || lx->s[lx->i] != ':')
			return -1;
		lx->i++;
		skip_ws(lx);
		if ((c = new_node(lx->jl, REC_JL_NULL)) == REC_JL_NONE)
			return -1;
		lx->jl->v[c].key = koff;
		lx->jl->v[c].key_len = klen;
		link_child(lx->jl, at, &last, c);
		if (lex_value(lx, c, depth + 1) != 0)
			return -1;
		skip_ws(lx);
		if (lx->i < lx->len && lx->s[lx->i] == '}') {
			lx->i++;
			return 0;
		}
		if (lx->i >= lx->len || lx->s[lx->i] != ',')
			return -1;
		lx->i++;
	}
}

static int
lex_array(struct lex *lx, uint32_t at, int depth)
{
	uint32_t last = REC_JL_NONE;

	lx->i++;
	skip_ws(lx);
	if (lx->i < lx->len && lx->s[lx->i] == ']') {
		lx->i++;
		return 0;
	}
	for (;;) {
		uint32_t c;

		skip_ws(lx);
		if ((c = new_node(lx->jl, REC_JL_NULL)) == REC_JL_NONE)
			return -1;
		link_child(lx->jl, at, &last, c);
		if (lex_value(lx, c, depth + 1) != 0)
			return -1;
		skip_ws(lx);
		if (lx->i < lx->len && lx->s[lx->i] == ']') {
			lx->i++;
			return 0;
		}
		if (lx->i >= lx->len || lx->s[lx->i] != ',')
			return -1;
		lx->i++;
	}
}

static int
lex_value(struct lex *lx, uint32_t at, int depth)
{
	if (depth > REC_JL_MAX_DEPTH || lx->i >= lx->len)
		return -1;
	switch (lx->s[lx->i]) {
	case '{':
		lx->jl->v[at].type = REC_JL_OBJ;
		return lex_object(lx, at, depth);
	case '[':
		lx->jl->v[at].type = REC_JL_ARR;
		return lex_array(lx, at, depth);
	case '"': {
		uint32_t off, n;

		if (lex_string(lx, &off, &n) != 0)
			return -1;
		lx->jl->v[at].type = REC_JL_STR;
		lx->jl->v[at].str = off;
		lx->jl->v[at].str_len = n;
		return 0;
	}
	case 't':
	case 'f':
	case 'n': {
		const char *lit = lx->s[lx->i] == 't' ? "true" : lx->s[lx->i] == 'f' ? "false" : "null";
		size_t n = strlen(lit);

		if (lx->len - lx->i < n || memcmp(lx->s + lx->i, lit, n) != 0)
			return -1;
		lx->i += n;
		lx->jl->v[at].type = lit[0] == 't' ? REC_JL_TRUE : lit[0] == 'f' ? REC_JL_FALSE :
						       REC_JL_NULL;
		return 0;
	}
	default:
		return lex_number(lx, at);
	}
}

int
rec_jl_parse(struct rec_jl *jl, const char *text, size_t len)
{
	struct lex lx = { text, len, 0, jl };
	uint32_t root;

	jl->n = 0;
	jl->slen = 0;
	skip_ws(&lx);
	if (lx.i >= len || text[lx.i] != '{' || (root = new_node(jl, REC_JL_NULL)) != 0 ||
	    lex_value(&lx, root, 1) != 0)
		return -1;
	skip_ws(&lx);
	return lx.i == len ? 0 : -1;
}

void
rec_jl_fini(struct rec_jl *jl)
{
	free(jl->v);
	free(jl->s);
	memset(jl, 0, sizeof(*jl));
}

const struct rec_jl_node *
rec_jl_get(const struct rec_jl *jl, const struct rec_jl_node *obj, const char *key)
{
	size_t kl = strlen(key);

	if (obj == NULL || obj->type != REC_JL_OBJ)
		return NULL;
	for (uint32_t k = obj->first; k != REC_JL_NONE; k = jl->v[k].next)
		if (jl->v[k].key_len == kl && memcmp(jl->s + jl->v[k].key, key, kl) == 0)
			return &jl->v[k];
	return NULL;
}

const char *
rec_jl_str(const struct rec_jl *jl, const struct rec_jl_node *n)
{
	return n != NULL && n->type == REC_JL_STR ? jl->s + n->str : NULL;
}

void
rec_jl_dump(const struct rec_jl *jl, const struct rec_jl_node *n, struct rec_jdump *d)
{
	char num[32];
	int len;

	if (d->give_up)
		return;
	switch (n->type) {
	case REC_JL_OBJ: {
		uint32_t small[32], *keys = small, k;
		size_t i = 0, cnt = n->count;

		if (cnt > 32 && (keys = malloc(cnt * sizeof(*keys))) == NULL) {
			d->give_up = 1;
			return;
		}
		for (k = n->first; k != REC_JL_NONE && i < cnt; k = jl->v[k].next)
			keys[i++] = k;
		/* Insertion sort by key, as jansson's sorted dump orders them (strcmp). */
		for (size_t a = 1; a < i; a++)
			for (size_t b = a; b > 0 && strcmp(jl->s + jl->v[keys[b - 1]].key,
							jl->s + jl->v[keys[b]].key) > 0; b--) {
				uint32_t t = keys[b];

				keys[b] = keys[b - 1];
				keys[b - 1] = t;
			}
		rec_jd_put(d, "{", 1);
		for (size_t a = 0; a < i && !d->give_up; a++) {
			const struct rec_jl_node *c = &jl->v[keys[a]];

			if (a > 0)
				rec_jd_put(d, ",", 1);
			rec_jd_string(d, jl->s + c->key, c->key_len);
			rec_jd_put(d, ":", 1);
			rec_jl_dump(jl, c, d);
		}
		rec_jd_put(d, "}", 1);
		if (keys != small)
			free(keys);
		return;
	}
	case REC_JL_ARR:
		rec_jd_put(d, "[", 1);
		for (uint32_t k = n->first; k != REC_JL_NONE && !d->give_up; k = jl->v[k].next) {
			if (k != n->first)
				rec_jd_put(d, ",", 1);
			rec_jl_dump(jl, &jl->v[k], d);
		}
		rec_jd_put(d, "]", 1);
		return;
	case REC_JL_STR:
		rec_jd_string(d, jl->s + n->str, n->str_len);
		return;
	case REC_JL_INT: {
		/* What %lld writes, without printf: a dozen of these per record. */
		unsigned long long u = n->i < 0 ? 0ULL - (unsigned long long)n->i :
		    (unsigned long long)n->i;

		len = (int)sizeof(num);
		do {
			num[--len] = (char)('0' + u % 10);
			u /= 10;
		} while (u != 0);
		if (n->i < 0)
			num[--len] = '-';
		rec_jd_put(d, num + len, sizeof(num) - (size_t)len);
		return;
	}
	case REC_JL_REAL:
		rec_jd_real(d, n->d);
		return;
	case REC_JL_TRUE:
		rec_jd_put(d, "true", 4);
		return;
	case REC_JL_FALSE:
		rec_jd_put(d, "false", 5);
		return;
	default:
		rec_jd_put(d, "null", 4);
	}
}
