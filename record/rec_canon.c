/*
 * Recognizing c2watch's canonical record JSON without building it: a strict scan that
 * accepts a text only when it is byte for byte what rec_json_dump writes for the value it
 * denotes (compact, keys strictly sorted, jansson's escapes, reals with 15 digits), so that
 * a reader may keep the text instead of parsing it into jansson values and dumping it
 * again. Anything else is declined, never refused: the caller then takes the jansson path,
 * which gives the same record or the proper error.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record/record.h"

#define CANON_MAX_DEPTH 64

struct scan {
	const char *s;
	size_t len, i;
	int depth;
	struct rec_text *rt;
	size_t isac_at;
};

/* A string token at s->i: canonical escapes only. Sets *esc when it has any. */
static int
scan_string(struct scan *sc, size_t *start, size_t *end, int *esc)
{
	const unsigned char *u = (const unsigned char *)sc->s;

	*esc = 0;
	if (sc->i >= sc->len || u[sc->i] != '"')
		return -1;
	*start = ++sc->i;
	while (sc->i < sc->len) {
		unsigned char c = u[sc->i];

		if (c == '"') {
			*end = sc->i++;
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			unsigned char e;

			if (sc->i + 1 >= sc->len)
				return -1;
			e = u[sc->i + 1];
			*esc = 1;
			if (e == '"' || e == '\\' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
			    e == 't') {
				sc->i += 2;
				continue;
			}
			/* jansson writes \u only for the other control characters, as \u00XX in
			 * upper case; anything else means another writer. */
			if (e != 'u' || sc->i + 5 >= sc->len || u[sc->i + 2] != '0' ||
			    u[sc->i + 3] != '0' || (u[sc->i + 4] != '0' && u[sc->i + 4] != '1'))
				return -1;
			{
				unsigned char h = u[sc->i + 5];
				int v = (u[sc->i + 4] - '0') * 16 +
				    (h >= '0' && h <= '9' ? h - '0' : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -100);

				/* \u0000 too: jansson refuses it on reading. */
				if (v <= 0 || v == '\b' || v == '\f' || v == '\n' || v == '\r' || v == '\t')
					return -1;
			}
			sc->i += 6;
			continue;
		}
		if (c < 0x80) {
			sc->i++;
			continue;
		}
		/* UTF-8, shortest forms, no surrogates, and not U+FFFE/U+FFFF (those make the
		 * whole dump \u-escaped). */
		{
			size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
			unsigned cp;

			if (n == 0 || c > 0xf4 || sc->i + n > sc->len)
				return -1;
			cp = c & (n == 2 ? 0x1f : n == 3 ? 0x0f : 0x07);
			for (size_t k = 1; k < n; k++) {
				if ((u[sc->i + k] & 0xc0) != 0x80)
					return -1;
				cp = (cp << 6) | (u[sc->i + k] & 0x3f);
			}
			if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff) ||
					   cp == 0xfffe || cp == 0xffff)) ||
			    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
				return -1;
			sc->i += n;
		}
	}
	return -1;
}

/*
 * Whether a real token is surely in the form scan_number's general check accepts, without
 * printing it: -?(0|[1-9][0-9]*)\.([0-9]*[1-9]|0), at most 15 significant digits and a
 * decimal exponent from -4 to 14, where %.15g writes exactly these digits in fixed
 * notation (any decimal of 15 significant digits or fewer survives the round trip through
 * a double). Records carry a couple of such numbers each (loss_pct, rtt_avg_ms); 0 means
 * "not sure", and the general check decides.
 */
static int
real_surely_canonical(const char *t, size_t n)
{
	size_t i = 0, int_len, frac_len, lead0 = 0, sig;

	if (i < n && t[i] == '-')
		i++;
	int_len = 0;
	while (i + int_len < n && t[i + int_len] >= '0' && t[i + int_len] <= '9')
		int_len++;
	if (int_len == 0 || int_len > 15 || (int_len > 1 && t[i] == '0'))
		return 0;
	i += int_len;
	if (i >= n || t[i] != '.')
		return 0;
	i++;
	frac_len = n - i;
	if (frac_len == 0)
		return 0;
	for (size_t k = i; k < n; k++)
		if (t[k] < '0' || t[k] > '9')
			return 0;
	if (frac_len == 1 && t[i] == '0')
		return 1; /* "X.0": %.15g writes X and ".0" is added */
	if (t[n - 1] == '0')
		return 0; /* %.15g drops trailing zeros */
	if (int_len == 1 && t[i - 2] == '0') {
		while (lead0 < frac_len && t[i + lead0] == '0')
			lead0++;
		if (lead0 > 3)
			return 0; /* below 1e-4 %g turns to an exponent */
		sig = frac_len - lead0;
	} else {
		sig = int_len + frac_len;
	}
	return sig <= 15;
}

/* A number token: an integer as %lld writes it, or a real as rec_real_format writes it
 * (its shortest round-trip form). */
static int
scan_number(struct scan *sc)
{
	char tok[64], fmt[REC_REAL_MAX], *endp;
	size_t b = sc->i, n;
	int real = 0;

	while (sc->i < sc->len && strchr("+-0123456789.eE", sc->s[sc->i]) != NULL) {
		if (strchr(".eE", sc->s[sc->i]) != NULL)
			real = 1;
		sc->i++;
	}
	n = sc->i - b;
	if (n == 0 || n >= sizeof(tok))
		return -1;
	memcpy(tok, sc->s + b, n);
	tok[n] = '\0';
	errno = 0;
	if (!real) {
		/* What %lld writes: digits, a '-' before any but 0, no leading zero, and
		 * nothing that overflows. */
		size_t j = tok[0] == '-';

		if (tok[j] == '\0' || (tok[j] == '0' && (tok[j + 1] != '\0' || j == 1)))
			return -1;
		for (size_t k = j; tok[k] != '\0'; k++)
			if (tok[k] < '0' || tok[k] > '9')
				return -1;
		(void)strtoll(tok, &endp, 10);
		return errno == 0 && *endp == '\0' ? 0 : -1;
	} else {
		double v;

		if (real_surely_canonical(tok, n))
			return 0;
		v = strtod(tok, &endp);
		if (errno != 0 || *endp != '\0' || !isfinite(v) ||
		    rec_real_format(v, fmt) < 0)
			return -1;
	}
	return strcmp(tok, fmt) == 0 ? 0 : -1;
}

static int scan_value(struct scan *sc, int top, int in_target);

static int
key_is(const struct scan *sc, size_t ks, size_t ke, const char *k)
{
	size_t n = strlen(k);

	return ke - ks == n && memcmp(sc->s + ks, k, n) == 0;
}

/* An object; at the top (top) and in "target" (in_target) the fields the caller wants are
 * noted. Keys must be strictly increasing, as jansson sorts them, and free of escapes. */
static int
scan_object(struct scan *sc, int top, int in_target)
{
	size_t pks = 0, pke = 0, ks, ke, last_comma = 0;
	int esc, first = 1;

	sc->i++;
	if (sc->i < sc->len && sc->s[sc->i] == '}') {
		sc->i++;
		return top ? -1 : 0;
	}
	for (;;) {
		if (scan_string(sc, &ks, &ke, &esc) != 0 || esc)
			return -1;
		if (!first) {
			size_t a = pke - pks, b = ke - ks;
			int c = memcmp(sc->s + pks, sc->s + ks, a < b ? a : b);

			if (c > 0 || (c == 0 && a >= b))
				return -1;
		}
		if (sc->i >= sc->len || sc->s[sc->i] != ':')
			return -1;
		sc->i++;
		if (top || in_target) {
			for (int k = REC_F_ID; top && k < REC_F_INPUT; k++)
				if (key_is(sc, ks, ke, rec_field_name((enum rec_field)k))) {
					size_t s0, e0;

					if (scan_string(sc, &s0, &e0, &esc) != 0 || esc)
						return -1;
					sc->rt->f[k] = sc->s + s0;
					sc->rt->flen[k] = e0 - s0;
					goto next;
				}
			if (in_target && key_is(sc, ks, ke, "input")) {
				size_t s0, e0;

				if (scan_string(sc, &s0, &e0, &esc) != 0 || esc)
					return -1;
				sc->rt->f[REC_F_INPUT] = sc->s + s0;
				sc->rt->flen[REC_F_INPUT] = e0 - s0;
				goto next;
			}
			if (top && key_is(sc, ks, ke, "target")) {
				if (sc->i >= sc->len || sc->s[sc->i] != '{')
					return -1;
				if (scan_value(sc, 0, 1) != 0)
					return -1;
				goto next;
			}
			if (top && key_is(sc, ks, ke, "x-ict-isac.jp")) {
				if (first || sc->i >= sc->len || sc->s[sc->i] != '{')
					return -1;
				sc->isac_at = last_comma;
			}
		}
		if (scan_value(sc, 0, 0) != 0)
			return -1;
	next:
		first = 0;
		pks = ks;
		pke = ke;
		if (sc->i >= sc->len)
			return -1;
		if (sc->s[sc->i] == '}') {
			sc->i++;
			/* An ISAC block must be the last member, as the writer puts it. */
			return top && sc->isac_at != 0 && !key_is(sc, pks, pke, "x-ict-isac.jp") ?
			    -1 : 0;
		}
		if (sc->s[sc->i] != ',')
			return -1;
		last_comma = sc->i++;
	}
}

static int
scan_value(struct scan *sc, int top, int in_target)
{
	size_t a, b;
	int esc, rc;

	if (sc->i >= sc->len || ++sc->depth > CANON_MAX_DEPTH)
		return -1;
	switch (sc->s[sc->i]) {
	case '{':
		rc = scan_object(sc, top, in_target);
		break;
	case '[':
		sc->i++;
		rc = 0;
		if (sc->i < sc->len && sc->s[sc->i] == ']') {
			sc->i++;
			break;
		}
		for (;;) {
			if ((rc = scan_value(sc, 0, 0)) != 0)
				break;
			if (sc->i < sc->len && sc->s[sc->i] == ']') {
				sc->i++;
				break;
			}
			if (sc->i >= sc->len || sc->s[sc->i] != ',') {
				rc = -1;
				break;
			}
			sc->i++;
		}
		break;
	case '"':
		rc = scan_string(sc, &a, &b, &esc);
		break;
	case 't':
	case 'f':
	case 'n': {
		const char *lit = sc->s[sc->i] == 't' ? "true" : sc->s[sc->i] == 'f' ? "false" : "null";
		size_t n = strlen(lit);

		rc = sc->len - sc->i >= n && memcmp(sc->s + sc->i, lit, n) == 0 ? 0 : -1;
		sc->i += n;
		break;
	}
	default:
		rc = scan_number(sc);
	}
	sc->depth--;
	return rc;
}

int
rec_canon(const char *text, size_t len, struct rec_text *rt, size_t *isac_at)
{
	struct scan sc = { text, len, 0, 0, rt, 0 };

	memset(rt, 0, sizeof(*rt));
	*isac_at = 0;
	if (len == 0 || text[0] != '{' || scan_value(&sc, 1, 0) != 0 || sc.i != len)
		return -1;
	for (int k = 0; k < REC_F_COUNT; k++)
		if (rt->flen[k] == 0)
			return -1;
	rt->json = text;
	rt->len = len;
	*isac_at = sc.isac_at;
	return 0;
}
