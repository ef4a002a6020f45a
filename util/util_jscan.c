/* A reader of JSON text that finds values in place, without building anything: for the
 * hot paths that need a few fields of a record the node already checked (its summary,
 * the keys of a record being merged). Anything it cannot read plainly (a key or string
 * with escapes, nesting deeper than UTIL_JSCAN_DEPTH) it reports, and the caller then
 * reads the text with a full parser. */
#include "config.h"

#include <string.h>

#include "util/util.h"

#define UTIL_JSCAN_DEPTH 64

static const char *
ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* After a string starting at p ('"'): the byte past its closing quote, or NULL. */
static const char *
skip_string(const char *p, const char *end, int *escaped)
{
	/* Most strings hold no escape: the closing quote found by memchr ends them when no
	 * backslash comes before it. */
	const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));

	if (q == NULL)
		return NULL;
	if (memchr(p + 1, '\\', (size_t)(q - p - 1)) == NULL)
		return q + 1;
	for (p++; p < end; p++) {
		if (*p == '\\') {
			*escaped = 1;
			p++;
		} else if (*p == '"') {
			return p + 1;
		}
	}
	return NULL;
}

const char *
util_jscan_skip(const char *p, const char *end)
{
	int depth = 0, esc = 0;

	p = ws(p, end);
	do {
		if (p >= end)
			return NULL;
		if (*p == '"') {
			if ((p = skip_string(p, end, &esc)) == NULL)
				return NULL;
		} else if (*p == '{' || *p == '[') {
			if (++depth > UTIL_JSCAN_DEPTH)
				return NULL;
			p++;
		} else if (*p == '}' || *p == ']') {
			if (--depth < 0)
				return NULL;
			p++;
		} else if (*p == ',' || *p == ':' || *p == ' ' || *p == '\t' || *p == '\n' ||
		    *p == '\r') {
			p++;
		} else {
			/* number or literal */
			while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' &&
			    *p != '\n' && *p != '\t' && *p != '\r')
				p++;
		}
	} while (depth > 0);
	return p;
}

int
util_jscan_get(
    const char *obj, const char *end, const char *key, const char **val, const char **vend)
{
	return util_jscan_getv(obj, end, &key, 1, val, vend);
}

int
util_jscan_getv(const char *obj, const char *end, const char *const *keys, size_t n,
    const char **val, const char **vend)
{
	const char *p = ws(obj, end);
	size_t found = 0;

	for (size_t i = 0; i < n; i++)
		val[i] = vend[i] = NULL;
	if (p >= end || *p != '{')
		return -1;
	p = ws(p + 1, end);
	if (p < end && *p == '}')
		return 0;
	while (p < end) {
		const char *ks, *ke, *v, *ve;
		int esc = 0;

		if (*p != '"')
			return -1;
		ks = p + 1;
		if ((ke = skip_string(p, end, &esc)) == NULL || esc)
			return -1;
		p = ws(ke, end);
		if (p >= end || *p != ':')
			return -1;
		v = ws(p + 1, end);
		if ((ve = util_jscan_skip(v, end)) == NULL)
			return -1;
		/* The first of repeated keys counts, as with util_jscan_get. */
		for (size_t i = 0; i < n; i++)
			if (val[i] == NULL && strlen(keys[i]) == (size_t)(ke - 1 - ks) &&
			    memcmp(ks, keys[i], (size_t)(ke - 1 - ks)) == 0) {
				val[i] = v;
				vend[i] = ve;
				found++;
				break;
			}
		/* All found: the rest of the object is not read (nor judged). */
		if (found == n)
			return (int)found;
		p = ws(ve, end);
		if (p < end && *p == ',') {
			p = ws(p + 1, end);
			continue;
		}
		return p < end && *p == '}' ? (int)found : -1;
	}
	return -1;
}

int
util_jscan_str(const char *v, const char *vend, const char **s, size_t *len)
{
	int esc = 0;
	const char *e;

	if (v >= vend || *v != '"')
		return v + 4 <= vend && memcmp(v, "null", 4) == 0 ? 0 : -1;
	if ((e = skip_string(v, vend, &esc)) == NULL || esc)
		return -1;
	*s = v + 1;
	*len = (size_t)(e - v - 2);
	return 1;
}

int
util_jscan_int(const char *v, const char *vend, long long *out)
{
	long long x = 0;
	int neg = 0;
	const char *p = v;

	if (p < vend && *p == '-') {
		neg = 1;
		p++;
	}
	if (p >= vend || *p < '0' || *p > '9')
		return v + 4 <= vend && memcmp(v, "null", 4) == 0 ? 0 : -1;
	for (; p < vend && *p >= '0' && *p <= '9'; p++) {
		if (x > (INT64_MAX - 9) / 10)
			return -1;
		x = x * 10 + (*p - '0');
	}
	if (p < vend && (*p == '.' || *p == 'e' || *p == 'E'))
		return -1; /* a real: not an integer */
	*out = neg ? -x : x;
	return 1;
}

/* ------------------------------------------------------------------ strict check */

struct vstate {
	const unsigned char *p, *end;
	int depth;
};

static void
vws(struct vstate *v)
{
	while (v->p < v->end && (*v->p == ' ' || *v->p == '\t' || *v->p == '\n' || *v->p == '\r'))
		v->p++;
}

static int
hexval(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string: escapes well formed (\u0000 and lone surrogates declined), UTF-8 well formed
 * (shortest forms, no surrogates), no control characters. */
static int
vstring(struct vstate *v)
{
	const unsigned char *p = v->p + 1, *end = v->end;

	while (p < end) {
		unsigned char c = *p;

		if (c == '"') {
			v->p = p + 1;
			return 1;
		}
		if (c < 0x20)
			return 0;
		if (c == '\\') {
			if (++p >= end)
				return 0;
			if (*p == 'u') {
				unsigned cp = 0;

				if (end - p < 5)
					return 0;
				for (int i = 1; i <= 4; i++) {
					if (!hexval(p[i]))
						return 0;
					cp = cp << 4 |
					    (unsigned)(p[i] <= '9' ? p[i] - '0' :
								     (p[i] | 0x20) - 'a' + 10);
				}
				/* NUL and surrogates: left to the full parser's rules */
				if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
					return 0;
				p += 5;
				continue;
			}
			if (!strchr("\"\\/bfnrt", *p) || *p == '\0')
				return 0;
			p++;
			continue;
		}
		if (c < 0x80) {
			p++;
			continue;
		}
		{
			int n = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 ? 1 : -1;
			unsigned cp;

			if (n < 0 || c > 0xf4 || end - p <= n)
				return 0;
			cp = c & (0x3f >> n);
			for (int i = 1; i <= n; i++) {
				if ((p[i] & 0xc0) != 0x80)
					return 0;
				cp = cp << 6 | (p[i] & 0x3f);
			}
			if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
			    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
				return 0;
			p += n + 1;
		}
	}
	return 0;
}

static int
vnumber(struct vstate *v)
{
	const unsigned char *p = v->p, *end = v->end, *digits;
	int real = 0;

	if (p < end && *p == '-')
		p++;
	digits = p;
	if (p < end && *p == '0')
		p++;
	else if (p < end && *p >= '1' && *p <= '9')
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	else
		return 0;
	if (p < end && *p == '.') {
		real = 1;
		if (++p >= end || *p < '0' || *p > '9')
			return 0;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		real = 1;
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || *p < '0' || *p > '9')
			return 0;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	/* Integers that may not fit 64 bits, and reals, are for the full parser to judge
	 * (it refuses a too big integer, and reals beyond a double's range). */
	if ((!real && p - digits > 18) || (real && p - v->p > 24))
		return 0;
	v->p = p;
	return 1;
}

static int
vvalue(struct vstate *v)
{
	vws(v);
	if (v->p >= v->end)
		return 0;
	switch (*v->p) {
	case '"':
		return vstring(v);
	case '{':
	case '[': {
		unsigned char close = *v->p == '{' ? '}' : ']';
		int obj = close == '}';

		if (++v->depth > UTIL_JSCAN_DEPTH)
			return 0;
		v->p++;
		vws(v);
		if (v->p < v->end && *v->p == close) {
			v->p++;
			v->depth--;
			return 1;
		}
		for (;;) {
			if (obj) {
				vws(v);
				if (v->p >= v->end || *v->p != '"' || !vstring(v))
					return 0;
				vws(v);
				if (v->p >= v->end || *v->p != ':')
					return 0;
				v->p++;
			}
			if (!vvalue(v))
				return 0;
			vws(v);
			if (v->p >= v->end)
				return 0;
			if (*v->p == ',') {
				v->p++;
				continue;
			}
			if (*v->p != close)
				return 0;
			v->p++;
			v->depth--;
			return 1;
		}
	}
	case 't':
		if (v->end - v->p >= 4 && memcmp(v->p, "true", 4) == 0) {
			v->p += 4;
			return 1;
		}
		return 0;
	case 'f':
		if (v->end - v->p >= 5 && memcmp(v->p, "false", 5) == 0) {
			v->p += 5;
			return 1;
		}
		return 0;
	case 'n':
		if (v->end - v->p >= 4 && memcmp(v->p, "null", 4) == 0) {
			v->p += 4;
			return 1;
		}
		return 0;
	default:
		return vnumber(v);
	}
}

int
util_jscan_valid(const char *text, size_t len)
{
	struct vstate v = { (const unsigned char *)text, (const unsigned char *)text + len, 0 };

	if (!vvalue(&v))
		return 0;
	vws(&v);
	return v.p == v.end;
}
