/*
 * The record's JSON form, written and read: the canonical dump (what every package embeds
 * and every store keeps) and the careful parse of text c2watch wrote.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record/rec_int.h"
#include "record/record.h"

int
rec_real_format(double v, char buf[REC_REAL_MAX])
{
	char *e, *start, *end, *comma;
	int n = -1;

	/*
	 * The shortest of 15, 16 and 17 significant digits that reads back as v: %g drops
	 * trailing zeros, so 15 already gives 0.723 its three digits, and only a double
	 * that 15 cannot name takes more.
	 */
	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(buf, REC_REAL_MAX, "%.*g", prec, v);
		if (n < 0 || (size_t)n + 3 >= REC_REAL_MAX)
			return -1;
		if (prec == 17 || strtod(buf, NULL) == v)
			break;
	}
	/* A locale's decimal comma (strtod above read it the same way): JSON has a point. */
	if ((comma = strchr(buf, ',')) != NULL)
		*comma = '.';
	if (strchr(buf, '.') == NULL && strchr(buf, 'e') == NULL) {
		memcpy(buf + n, ".0", 3);
		n += 2;
	}
	if ((e = strchr(buf, 'e')) != NULL) {
		start = e + 1;
		end = start + 1;
		if (*start == '-')
			start++;
		while (*end == '0')
			end++;
		if (end != start) {
			memmove(start, end, (size_t)n - (size_t)(end - buf) + 1);
			n -= (int)(end - start);
		}
	}
	return n;
}

/*
 * The canonical dump, written directly: jansson's own sorted dump goes through a callback
 * per token and sorts every object's keys by copying them, which made it the largest cost
 * of writing and of checking a package. The output is what
 * json_dumps(JSON_COMPACT | JSON_SORT_KEYS) writes but for reals, which take their
 * shortest round-trip form (rec_real_format); U+FFFE/U+FFFF make it start again in
 * jansson's JSON_ENSURE_ASCII form, and only values nested deeper than 64 are left to
 * jansson.
 */
static void
jd_grow(struct rec_jdump *d, size_t n)
{
	size_t cap = d->cap ? d->cap : 1024;
	char *np;

	while (cap - d->len < n + 1) {
		if (cap > SIZE_MAX / 2) {
			d->give_up = 1;
			return;
		}
		cap *= 2;
	}
	if ((np = realloc(d->p, cap)) == NULL) {
		d->give_up = 1;
		return;
	}
	d->p = np;
	d->cap = cap;
}

void
rec_jd_put(struct rec_jdump *d, const char *s, size_t n)
{
	if (d->cap - d->len < n + 1) {
		jd_grow(d, n);
		if (d->give_up)
			return;
	}
	memcpy(d->p + d->len, s, n);
	d->len += n;
}

/* The code point of the UTF-8 sequence at u (valid UTF-8, as jansson keeps), its length
 * in *len. */
static unsigned long
utf8_cp(const unsigned char *u, size_t *len)
{
	if (u[0] < 0xe0) {
		*len = 2;
		return ((u[0] & 0x1fUL) << 6) | (u[1] & 0x3f);
	}
	if (u[0] < 0xf0) {
		*len = 3;
		return ((u[0] & 0x0fUL) << 12) | ((u[1] & 0x3fUL) << 6) | (u[2] & 0x3f);
	}
	*len = 4;
	return ((u[0] & 0x07UL) << 18) | ((u[1] & 0x3fUL) << 12) | ((u[2] & 0x3fUL) << 6) |
	    (u[3] & 0x3f);
}

void
rec_jd_string(struct rec_jdump *d, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *u = (const unsigned char *)s;
	size_t run = 0, i;

	rec_jd_put(d, "\"", 1);
	for (i = 0; i < n; i++) {
		char esc[16];

		if (u[i] >= 0x80 && d->ascii) {
			size_t cl;
			unsigned long cp = utf8_cp(u + i, &cl);

			if (i + cl > n) {
				d->give_up = 1;
				return;
			}
			rec_jd_put(d, s + run, i - run);
			if (cp < 0x10000) {
				snprintf(esc, sizeof(esc), "\\u%04lX", cp);
			} else {
				cp -= 0x10000;
				snprintf(esc, sizeof(esc), "\\u%04lX\\u%04lX", 0xd800 | (cp >> 10),
				    0xdc00 | (cp & 0x3ff));
			}
			rec_jd_put(d, esc, strlen(esc));
			i += cl - 1;
			run = i + 1;
			continue;
		}
		if (u[i] >= 0x20 && u[i] != '"' && u[i] != '\\') {
			/* Not XML characters: the whole dump must be written in \u form. */
			if (u[i] == 0xef && i + 2 < n && u[i + 1] == 0xbf &&
			    (u[i + 2] == 0xbe || u[i + 2] == 0xbf))
				d->give_up = 1;
			continue;
		}
		rec_jd_put(d, s + run, i - run);
		run = i + 1;
		rec_jd_put(d, esc, rec_json_escape(u[i], hex, esc));
	}
	rec_jd_put(d, s + run, n - run);
	rec_jd_put(d, "\"", 1);
}

void
rec_jd_real(struct rec_jdump *d, double v)
{
	char buf[REC_REAL_MAX];
	int n = rec_real_format(v, buf);

	if (n < 0) {
		d->give_up = 1; /* leave it to jansson */
		return;
	}
	rec_jd_put(d, buf, (size_t)n);
}

struct jkey {
	const char *k;
	const json_t *v;
};

static int
jkey_cmp(const void *a, const void *b)
{
	return strcmp(((const struct jkey *)a)->k, ((const struct jkey *)b)->k);
}

static void
jd_value(struct rec_jdump *d, const json_t *j, int depth)
{
	char num[32];
	size_t i, n;
	int len;

	if (d->give_up)
		return;
	if (depth > 64) {
		d->give_up = 1;
		return;
	}
	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		struct jkey small[32], *keys = small;
		const char *k;
		json_t *v;

		n = json_object_size(j);
		if (n > sizeof(small) / sizeof(small[0]) &&
		    (keys = malloc(n * sizeof(*keys))) == NULL) {
			d->give_up = 1;
			return;
		}
		i = 0;
		json_object_foreach((json_t *)j, k, v) {
			if (i < n) {
				keys[i].k = k;
				keys[i].v = v;
			}
			i++;
		}
		if (i != n) {
			d->give_up = 1;
		} else {
			/* Insertion sort: a record's objects are small. */
			for (size_t a = 1; a < n && n <= 32; a++)
				for (size_t b = a; b > 0 && strcmp(keys[b - 1].k, keys[b].k) > 0; b--) {
					struct jkey t = keys[b];

					keys[b] = keys[b - 1];
					keys[b - 1] = t;
				}
			if (n > 32)
				qsort(keys, n, sizeof(*keys), jkey_cmp);
			rec_jd_put(d, "{", 1);
			for (i = 0; i < n && !d->give_up; i++) {
				if (i > 0)
					rec_jd_put(d, ",", 1);
				rec_jd_string(d, keys[i].k, strlen(keys[i].k));
				rec_jd_put(d, ":", 1);
				jd_value(d, keys[i].v, depth + 1);
			}
			rec_jd_put(d, "}", 1);
		}
		if (keys != small)
			free(keys);
		return;
	}
	case JSON_ARRAY:
		rec_jd_put(d, "[", 1);
		n = json_array_size(j);
		for (i = 0; i < n && !d->give_up; i++) {
			if (i > 0)
				rec_jd_put(d, ",", 1);
			jd_value(d, json_array_get(j, i), depth + 1);
		}
		rec_jd_put(d, "]", 1);
		return;
	case JSON_STRING:
		rec_jd_string(d, json_string_value(j), json_string_length(j));
		return;
	case JSON_INTEGER:
		len = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
		rec_jd_put(d, num, (size_t)len);
		return;
	case JSON_REAL:
		rec_jd_real(d, json_real_value(j));
		return;
	case JSON_TRUE:
		rec_jd_put(d, "true", 4);
		return;
	case JSON_FALSE:
		rec_jd_put(d, "false", 5);
		return;
	case JSON_NULL:
		rec_jd_put(d, "null", 4);
		return;
	}
	d->give_up = 1;
}

char *
rec_json_dump_fast(const json_t *j, int ascii, size_t *len)
{
	struct rec_jdump d = { NULL, 0, 0, ascii, 0 };

	/* jansson dumps only containers without JSON_ENCODE_ANY: so does this one. */
	if (!json_is_object(j) && !json_is_array(j))
		return NULL;
	jd_value(&d, j, 0);
	if (d.give_up) {
		free(d.p);
		return NULL;
	}
	d.p[d.len] = '\0';
	if (len != NULL)
		*len = d.len;
	return d.p;
}

char *
rec_json_dump(const json_t *j)
{
	size_t flags = JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17);
	char *s = rec_json_dump_fast(j, 0, NULL);

	if (s == NULL)
		s = rec_json_dump_fast(j, 1, NULL);
	if (s != NULL)
		return s;
	/* Nested deeper than 64 (nothing c2watch writes): jansson, at 17 digits. */
	s = json_dumps(j, flags);
	if (s != NULL && (strstr(s, "\xef\xbf\xbe") != NULL || strstr(s, "\xef\xbf\xbf") != NULL)) {
		free(s);
		s = json_dumps(j, flags | JSON_ENSURE_ASCII);
	}
	return s;
}

json_t *
rec_json_parse(const char *text)
{
	json_t *j, *again = NULL;
	char *canon;

	j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	if (j == NULL)
		return NULL;
	/*
	 * jansson's lexer drops a character when its buffer cannot grow and carries on, so
	 * a parse under memory pressure can succeed with a different value. What c2watch
	 * wrote is the canonical dump: when it does not come out again, a second parse must
	 * agree with the first.
	 */
	canon = rec_json_dump(j);
	if (canon != NULL && strcmp(canon, text) == 0)
		goto out;
	again = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	if (again == NULL || !json_equal(again, j)) {
		json_decref(j);
		j = NULL;
	}
out:
	free(canon);
	json_decref(again);
	return j;
}

