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
util_jscan_get(const char *obj, const char *end, const char *key, const char **val,
    const char **vend)
{
	size_t klen = strlen(key);
	const char *p = ws(obj, end);

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
		if ((ke = skip_string(p, end, &esc)) == NULL)
			return -1;
		if (esc)
			return -1; /* a key with escapes: let a full parser decide */
		p = ws(ke, end);
		if (p >= end || *p != ':')
			return -1;
		v = ws(p + 1, end);
		if ((ve = util_jscan_skip(v, end)) == NULL)
			return -1;
		if ((size_t)(ke - 1 - ks) == klen && memcmp(ks, key, klen) == 0) {
			*val = v;
			*vend = ve;
			return 1;
		}
		p = ws(ve, end);
		if (p < end && *p == ',') {
			p = ws(p + 1, end);
			continue;
		}
		return p < end && *p == '}' ? 0 : -1;
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
