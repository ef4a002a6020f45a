/*
 * RFC 8785, the JSON Canonicalization Scheme: what a record's signature is computed over,
 * so that any implementation can verify it. Object members sorted by their names' UTF-16
 * code units, no whitespace, strings with only the escapes ECMAScript's JSON.stringify
 * writes, and numbers in ECMAScript's Number-to-String form (the shortest digits that
 * read back as the same double, plain between 1e-6 and 1e21, an exponent with its sign
 * outside). Values I-JSON cannot carry (NaN, infinities, integers beyond 2^53) are
 * refused rather than written in a form another verifier would read differently.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record/rec_int.h"
#include "record/record.h"

#define JCS_MAX_DEPTH 64
#define JCS_INT_MAX 9007199254740992LL /* 2^53: beyond it, integers are not exact doubles */

int
rec_jcs_number(double v, char buf[REC_JCS_NUM_MAX])
{
	char e[40], digits[24];
	int k = 0, exp10, n, len = 0;
	char *p = buf;

	if (!isfinite(v))
		return -1;
	if (v == 0) {
		memcpy(buf, "0", 2); /* -0 too */
		return 1;
	}
	if (v < 0) {
		*p++ = '-';
		v = -v;
	}
	/* The fewest significant digits that read back as v (%e rounds correctly, so it
	 * gives the closest such digits, as ECMAScript asks). */
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec - 1, v);
		if (strtod(e, NULL) == v)
			break;
	}
	for (const char *q = e; *q != 'e' && *q != '\0'; q++)
		if (*q >= '0' && *q <= '9')
			digits[k++] = *q;
	while (k > 1 && digits[k - 1] == '0')
		k--;
	digits[k] = '\0';
	exp10 = atoi(strchr(e, 'e') + 1);
	n = exp10 + 1; /* where the decimal point goes, counted from the first digit */
	if (k <= n && n <= 21) {
		memcpy(p, digits, (size_t)k);
		memset(p + k, '0', (size_t)(n - k));
		len = n;
	} else if (0 < n && n <= 21) {
		memcpy(p, digits, (size_t)n);
		p[n] = '.';
		memcpy(p + n + 1, digits + n, (size_t)(k - n));
		len = k + 1;
	} else if (-6 < n && n <= 0) {
		memcpy(p, "0.", 2);
		memset(p + 2, '0', (size_t)-n);
		memcpy(p + 2 - n, digits, (size_t)k);
		len = 2 - n + k;
	} else {
		p[0] = digits[0];
		len = 1;
		if (k > 1) {
			p[1] = '.';
			memcpy(p + 2, digits + 1, (size_t)(k - 1));
			len = k + 1;
		}
		len += snprintf(p + len, 8, "e%c%d", n - 1 < 0 ? '-' : '+', abs(n - 1));
	}
	p[len] = '\0';
	return (int)(p - buf) + len;
}

/* Writes s (n bytes of UTF-8) as a JSON string the way JSON.stringify does. */
static int
jcs_string(struct util_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t run = 0;

	if (util_buf_add(b, "\"", 1) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char esc[6];
		size_t el;

		if (u[i] >= 0x20 && u[i] != '"' && u[i] != '\\')
			continue;
		el = rec_json_escape(u[i], hex, esc);
		if (util_buf_add(b, s + run, i - run) != 0 || util_buf_add(b, esc, el) != 0)
			return -1;
		run = i + 1;
	}
	if (util_buf_add(b, s + run, n - run) != 0 || util_buf_add(b, "\"", 1) != 0)
		return -1;
	return 0;
}

/* The next UTF-16 code unit of UTF-8 text at *p (end e), with *pending holding the low
 * surrogate of a pair between calls. */
static unsigned
utf16_next(const unsigned char **p, const unsigned char *e, unsigned *pending)
{
	const unsigned char *u = *p;
	unsigned long cp;

	if (*pending) {
		unsigned lo = *pending;

		*pending = 0;
		return lo;
	}
	if (u[0] < 0x80 || u + 1 >= e) {
		cp = u[0];
		*p += 1;
	} else if (u[0] < 0xe0) {
		cp = ((u[0] & 0x1fUL) << 6) | (u[1] & 0x3f);
		*p += 2;
	} else if (u[0] < 0xf0 || u + 3 >= e) {
		cp = u + 2 < e ? ((u[0] & 0x0fUL) << 12) | ((u[1] & 0x3fUL) << 6) | (u[2] & 0x3f) :
		    u[0];
		*p += u + 2 < e ? 3 : 1;
	} else {
		cp = ((u[0] & 0x07UL) << 18) | ((u[1] & 0x3fUL) << 12) | ((u[2] & 0x3fUL) << 6) |
		    (u[3] & 0x3f);
		*p += 4;
	}
	if (cp >= 0x10000) {
		cp -= 0x10000;
		*pending = (unsigned)(0xdc00 | (cp & 0x3ff));
		return (unsigned)(0xd800 | (cp >> 10));
	}
	return (unsigned)cp;
}

struct jcs_member {
	const char *k;
	size_t klen;
	const json_t *v;
};

/* Member names in UTF-16 code unit order, as RFC 8785 section 3.2.3 sorts them. */
static int
jcs_cmp(const void *a, const void *b)
{
	const struct jcs_member *x = a, *y = b;
	const unsigned char *p = (const unsigned char *)x->k, *pe = p + x->klen;
	const unsigned char *q = (const unsigned char *)y->k, *qe = q + y->klen;
	unsigned px = 0, qx = 0;

	while ((p < pe || px) && (q < qe || qx)) {
		unsigned cu = utf16_next(&p, pe, &px), cv = utf16_next(&q, qe, &qx);

		if (cu != cv)
			return cu < cv ? -1 : 1;
	}
	if (p < pe || px)
		return 1;
	if (q < qe || qx)
		return -1;
	return 0;
}

static int jcs_value(struct util_buf *b, const json_t *j, int depth, int skip_sig,
    char *why, size_t whylen);

static int
jcs_object(struct util_buf *b, const json_t *j, int depth, int skip_sig, char *why,
    size_t whylen)
{
	size_t n = json_object_size(j), i = 0;
	struct jcs_member *m = calloc(n + 1, sizeof(*m));
	const char *k;
	json_t *v;
	int ret = -1, first = 1;

	if (m == NULL) {
		util_seterr(why, whylen, "out of memory");
		return -1;
	}
	json_object_foreach((json_t *)j, k, v) {
		if (i == n)
			break;
		/* The signature's own members are not signed (top level only). */
		if (skip_sig && (strcmp(k, "sig") == 0 || strcmp(k, "key") == 0))
			continue;
		m[i].k = k;
		m[i].klen = strlen(k);
		m[i].v = v;
		i++;
	}
	qsort(m, i, sizeof(*m), jcs_cmp);
	if (util_buf_add(b, "{", 1) != 0)
		goto nomem;
	for (size_t a = 0; a < i; a++) {
		if ((!first && util_buf_add(b, ",", 1) != 0) || jcs_string(b, m[a].k, m[a].klen) ||
		    util_buf_add(b, ":", 1) != 0)
			goto nomem;
		first = 0;
		if (jcs_value(b, m[a].v, depth + 1, 0, why, whylen) != 0)
			goto out;
	}
	if (util_buf_add(b, "}", 1) != 0)
		goto nomem;
	ret = 0;
	goto out;
nomem:
	util_seterr(why, whylen, "out of memory");
out:
	free(m);
	return ret;
}

static int
jcs_value(struct util_buf *b, const json_t *j, int depth, int skip_sig, char *why,
    size_t whylen)
{
	char num[REC_JCS_NUM_MAX];
	int n;

	if (depth > JCS_MAX_DEPTH) {
		util_seterr(why, whylen, "nested deeper than %d", JCS_MAX_DEPTH);
		return -1;
	}
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return jcs_object(b, j, depth, skip_sig, why, whylen);
	case JSON_ARRAY:
		if (util_buf_add(b, "[", 1) != 0)
			goto nomem;
		for (size_t i = 0; i < json_array_size(j); i++) {
			if (i > 0 && util_buf_add(b, ",", 1) != 0)
				goto nomem;
			if (jcs_value(b, json_array_get(j, i), depth + 1, 0, why, whylen) != 0)
				return -1;
		}
		if (util_buf_add(b, "]", 1) != 0)
			goto nomem;
		return 0;
	case JSON_STRING:
		if (jcs_string(b, json_string_value(j), json_string_length(j)) != 0)
			goto nomem;
		return 0;
	case JSON_INTEGER: {
		json_int_t v = json_integer_value(j);

		if (v > JCS_INT_MAX || v < -JCS_INT_MAX) {
			util_seterr(why, whylen, "integer %" JSON_INTEGER_FORMAT
			    " is beyond 2^53 (not exact in I-JSON)", v);
			return -1;
		}
		n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, v);
		if (util_buf_add(b, num, (size_t)n) != 0)
			goto nomem;
		return 0;
	}
	case JSON_REAL:
		n = rec_jcs_number(json_real_value(j), num);
		if (n < 0) {
			util_seterr(why, whylen, "a number I-JSON cannot carry");
			return -1;
		}
		if (util_buf_add(b, num, (size_t)n) != 0)
			goto nomem;
		return 0;
	case JSON_TRUE:
		return util_buf_add(b, "true", 4) == 0 ? 0 : (util_seterr(why, whylen,
		    "out of memory"), -1);
	case JSON_FALSE:
		return util_buf_add(b, "false", 5) == 0 ? 0 : (util_seterr(why, whylen,
		    "out of memory"), -1);
	case JSON_NULL:
		return util_buf_add(b, "null", 4) == 0 ? 0 : (util_seterr(why, whylen,
		    "out of memory"), -1);
	}
	util_seterr(why, whylen, "not a JSON value");
	return -1;
nomem:
	util_seterr(why, whylen, "out of memory");
	return -1;
}

int
rec_jcs(const json_t *j, unsigned flags, struct util_buf *out, char *why, size_t whylen)
{
	size_t mark = out->len;

	if (jcs_value(out, j, 0, (flags & REC_JCS_UNSIGNED) != 0, why, whylen) != 0) {
		out->len = mark;
		if (out->data != NULL)
			out->data[mark] = '\0';
		return -1;
	}
	return 0;
}
