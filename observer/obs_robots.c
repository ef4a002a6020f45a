/*
 * robots.txt per RFC 9309. The body is read once, line by line; only the rules of the
 * groups that name our product token (or, failing any, of the "*" groups) are kept, each
 * stored already percent-normalised so that a lookup is a plain wildcard match.
 */
#include <config.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "observer/obs_robots.h"

struct obs_rule {
	char *pat;    /* normalised, without the trailing "$" */
	size_t len;   /* bytes in pat */
	size_t prio;  /* specificity: normalised length, "$" included */
	int anchored; /* pattern ended with "$" */
	int allow;
};

struct obs_rule_list {
	struct obs_rule *v;
	size_t n, cap;
};

struct obs_robots {
	enum obs_robots_policy policy;
	struct obs_rule_list rules;
	size_t dropped;
	char *agent;
};

/* Allocation goes through here so a test can fail the Nth allocation. */
static void *(*hook_malloc)(size_t);
static void *(*hook_realloc)(void *, size_t);

void
obs_robots_set_alloc(void *(*m)(size_t), void *(*r)(void *, size_t))
{
	hook_malloc = m;
	hook_realloc = r;
}

static void *
xmalloc(size_t n)
{
	return hook_malloc != NULL ? hook_malloc(n) : malloc(n);
}

static void *
xrealloc(void *p, size_t n)
{
	return hook_realloc != NULL ? hook_realloc(p, n) : realloc(p, n);
}

static void
rule_list_fini(struct obs_rule_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].pat);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static int
is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '.' || c == '_' || c == '~';
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Writes the comparable form of s[0..n) to out (which holds 3*n bytes): "%xx" of an
 * unreserved character decoded, other "%xx" uppercased, octets outside printable US-ASCII
 * percent-encoded. Both rule patterns and request paths go through here, so "/%7efoo",
 * "/~foo" and "/%7Efoo" all compare equal. Returns the bytes written.
 */
static size_t
normalise(const char *s, size_t n, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 &&
		    hexval((unsigned char)s[i + 2]) >= 0) {
			unsigned char v = (unsigned char)(hexval((unsigned char)s[i + 1]) * 16 +
			    hexval((unsigned char)s[i + 2]));

			if (is_unreserved(v)) {
				out[o++] = (char)v;
			} else {
				out[o++] = '%';
				out[o++] = hex[v >> 4];
				out[o++] = hex[v & 15];
			}
			i += 2;
		} else if (c <= 0x20 || c >= 0x7f) {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			out[o++] = (char)c;
		}
	}
	return o;
}

/*
 * Whether pattern p (with "*" matching any run of octets) matches the start of s, or all of
 * s when anchored. Greedy with one backtrack point, which is exact for "*"-only patterns and
 * costs at most O(pl * sl).
 */
static int
glob_match(const char *p, size_t pl, int anchored, const char *s, size_t sl)
{
	size_t pi = 0, si = 0, star_p = SIZE_MAX, star_s = 0;

	for (;;) {
		if (pi == pl) {
			if (!anchored || si == sl)
				return 1;
		} else if (p[pi] == '*') {
			star_p = pi++;
			star_s = si;
			continue;
		} else if (si < sl && p[pi] == s[si]) {
			pi++;
			si++;
			continue;
		}
		if (star_p == SIZE_MAX || star_s >= sl)
			return 0;
		pi = star_p + 1;
		si = ++star_s;
	}
}

static int
rule_add(struct obs_rule_list *l, const struct obs_rule *r)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 16;
		struct obs_rule *nv;

		if (ncap > OBS_ROBOTS_MAX_RULES)
			ncap = OBS_ROBOTS_MAX_RULES;
		nv = xrealloc(l->v, ncap * sizeof(*nv));
		if (nv == NULL)
			return -1;
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n++] = *r;
	return 0;
}

/* Builds a rule from a trimmed, non-empty value. Returns 0 or -1 (no memory). */
static int
rule_make(const char *val, size_t vlen, int allow, struct obs_rule *r)
{
	int slash = val[0] != '/' && val[0] != '*';
	size_t n;

	r->anchored = vlen > 0 && val[vlen - 1] == '$';
	if (r->anchored)
		vlen--;
	/* "Disallow: foo" is read as "/foo", as the major crawlers do. */
	r->pat = xmalloc(3 * vlen + 2);
	if (r->pat == NULL)
		return -1;
	n = 0;
	if (slash)
		r->pat[n++] = '/';
	n += normalise(val, vlen, r->pat + n);
	r->pat[n] = '\0';
	r->len = n;
	r->prio = n + (size_t)r->anchored;
	r->allow = allow;
	return 0;
}

static int
is_token_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' || c == '_';
}

static size_t
token_len(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && is_token_char((unsigned char)s[i]))
		i++;
	return i;
}

static int
ieq(const char *a, size_t an, const char *b)
{
	size_t i;

	for (i = 0; i < an; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (y == '\0')
			return 0;
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return 0;
	}
	return b[an] == '\0';
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static struct obs_robots *
robots_alloc(enum obs_robots_policy policy, const char *user_agent)
{
	struct obs_robots *r = xmalloc(sizeof(*r));
	const char *ua = user_agent ? user_agent : "";
	size_t n;

	if (r == NULL)
		return NULL;
	memset(r, 0, sizeof(*r));
	while (is_blank(*ua))
		ua++;
	n = token_len(ua, strlen(ua));
	r->agent = xmalloc(n + 1);
	if (r->agent == NULL) {
		free(r);
		return NULL;
	}
	memcpy(r->agent, ua, n);
	r->agent[n] = '\0';
	r->policy = policy;
	return r;
}

enum obs_robots_policy
obs_robots_status_policy(int http_status)
{
	if (http_status >= 200 && http_status <= 299)
		return OBS_ROBOTS_RULES;
	if (http_status >= 300 && http_status <= 499)
		return OBS_ROBOTS_ALLOW_ALL;
	return OBS_ROBOTS_DISALLOW_ALL;
}

/*
 * Past the byte-order marks at the start of a file: a UTF-8 BOM, one cut short (EF, or
 * EF BB: a file that lost its tail bytes when some editor or filter re-encoded it), or
 * one written twice. Crawlers read the first line in all these cases, so we do too.
 */
static const char *
skip_bom(const char *p, const char *end)
{
	static const char bom[3] = { '\xEF', '\xBB', '\xBF' };

	for (int rounds = 0; rounds < 2 && p < end && *p == bom[0]; rounds++) {
		size_t i = 0;

		while (i < 3 && p + i < end && p[i] == bom[i])
			i++;
		p += i;
		if (i < 3)
			break; /* a truncated mark ends the prefix */
	}
	return p;
}

/*
 * For a line without a colon: where its key ends when a blank separates the key from
 * the value instead ("disallow /private"), the way widely used parsers read a forgotten
 * colon. Only a line of exactly two words counts, so prose is never read as a rule.
 * Returns the first blank after the key, or NULL.
 */
static const char *
blank_separator(const char *line, const char *eol)
{
	const char *k = line, *sep, *v, *ve = eol;

	while (k < eol && is_blank(*k))
		k++;
	while (ve > k && is_blank(ve[-1]))
		ve--;
	for (sep = k; sep < ve && !is_blank(*sep); sep++)
		;
	if (sep == k || sep == ve)
		return NULL;
	for (v = sep; v < ve && is_blank(*v); v++)
		;
	for (; v < ve; v++)
		if (is_blank(*v))
			return NULL;
	return sep;
}

int
obs_robots_parse(const char *body, size_t len, const char *user_agent,
    struct obs_robots **out, char *err, size_t errsz)
{
	struct obs_rule_list specific = { 0 }, global = { 0 };
	struct obs_robots *r = NULL;
	const char *p, *end;
	int in_agents = 0, grp_specific = 0, grp_global = 0, found_specific = 0;
	size_t dropped_specific = 0, dropped_global = 0;
	int rc = -1;

	if (out == NULL || (body == NULL && len > 0)) {
		util_seterr(err, errsz, "obs_robots_parse: NULL argument");
		return -1;
	}
	*out = NULL;
	r = robots_alloc(OBS_ROBOTS_RULES, user_agent);
	if (r == NULL) {
		util_seterr(err, errsz, "obs_robots_parse: out of memory");
		goto out;
	}
	if (body == NULL)
		body = "";
	p = body;
	end = body + len;
	if (len > OBS_ROBOTS_MAX_BYTES) {
		/* Drop the line cut in two: half a path would be a different rule. */
		end = body + OBS_ROBOTS_MAX_BYTES;
		while (end > body && end[-1] != '\n' && end[-1] != '\r')
			end--;
	}
	p = skip_bom(p, end);

	while (p < end) {
		const char *line = p, *eol, *hash, *colon, *k, *ke, *v, *ve;
		size_t klen;

		while (p < end && *p != '\n' && *p != '\r')
			p++;
		eol = p;
		if (p < end && *p == '\r') {
			p++;
			if (p < end && *p == '\n')
				p++;
		} else if (p < end) {
			p++;
		}

		hash = memchr(line, '#', (size_t)(eol - line));
		if (hash != NULL)
			eol = hash;
		colon = memchr(line, ':', (size_t)(eol - line));
		if (colon == NULL && (colon = blank_separator(line, eol)) == NULL)
			continue;
		k = line;
		ke = colon;
		while (k < ke && is_blank(*k))
			k++;
		while (ke > k && is_blank(ke[-1]))
			ke--;
		v = colon + 1;
		ve = eol;
		while (v < ve && is_blank(*v))
			v++;
		while (ve > v && is_blank(ve[-1]))
			ve--;
		klen = (size_t)(ke - k);

		if (ieq(k, klen, "user-agent")) {
			size_t tl;

			if (!in_agents)
				grp_specific = grp_global = 0;
			in_agents = 1;
			if (ve - v == 1 && *v == '*') {
				grp_global = 1;
				continue;
			}
			tl = token_len(v, (size_t)(ve - v));
			if (tl > 0 && r->agent[0] != '\0' && ieq(v, tl, r->agent)) {
				grp_specific = 1;
				found_specific = 1;
			}
		} else if (ieq(k, klen, "allow") || ieq(k, klen, "disallow")) {
			struct obs_rule rule;
			int targets = 0;

			in_agents = 0;
			/* An empty value matches nothing (RFC 9309 2.2.2). */
			if (ve == v || (!grp_specific && !grp_global))
				continue;
			if (grp_specific && specific.n < OBS_ROBOTS_MAX_RULES)
				targets |= 1;
			if (grp_global && global.n < OBS_ROBOTS_MAX_RULES)
				targets |= 2;
			if (grp_specific && !(targets & 1))
				dropped_specific++;
			if (grp_global && !(targets & 2))
				dropped_global++;
			if (targets == 0)
				continue;
			if (rule_make(v, (size_t)(ve - v), klen == 5, &rule) < 0)
				goto nomem;
			if (targets == 3) {
				struct obs_rule copy = rule;

				copy.pat = xmalloc(rule.len + 1);
				if (copy.pat != NULL)
					memcpy(copy.pat, rule.pat, rule.len + 1);
				if (copy.pat == NULL || rule_add(&global, &copy) < 0) {
					free(copy.pat);
					free(rule.pat);
					goto nomem;
				}
			}
			if (rule_add(targets & 1 ? &specific : &global, &rule) < 0) {
				free(rule.pat);
				goto nomem;
			}
		}
		/* Other records (sitemap, crawl-delay, unknown keys) neither end a group nor
		 * join one. */
	}

	if (found_specific) {
		r->rules = specific;
		r->dropped = dropped_specific;
		specific.v = NULL;
		specific.n = specific.cap = 0;
	} else {
		r->rules = global;
		global.v = NULL;
		global.n = global.cap = 0;
		r->dropped = dropped_global;
	}
	*out = r;
	r = NULL;
	rc = 0;
	goto out;
nomem:
	util_seterr(err, errsz, "obs_robots_parse: out of memory at byte %zu",
	    (size_t)(p - body));
out:
	rule_list_fini(&specific);
	rule_list_fini(&global);
	obs_robots_free(r);
	return rc;
}

int
obs_robots_from_fetch(int http_status, const char *body, size_t len,
    const char *user_agent, struct obs_robots **out, char *err, size_t errsz)
{
	enum obs_robots_policy pol = obs_robots_status_policy(http_status);

	if (out == NULL) {
		util_seterr(err, errsz, "obs_robots_from_fetch: NULL argument");
		return -1;
	}
	if (pol == OBS_ROBOTS_RULES)
		return obs_robots_parse(body, len, user_agent, out, err, errsz);
	*out = robots_alloc(pol, user_agent);
	if (*out == NULL) {
		util_seterr(err, errsz, "obs_robots_from_fetch: out of memory");
		return -1;
	}
	return 0;
}

int
obs_robots_allowed(const struct obs_robots *r, const char *path_and_query)
{
	const char *path = path_and_query && *path_and_query ? path_and_query : "/";
	size_t n = strlen(path), nl, i, qpos;
	const struct obs_rule *best = NULL;
	char stackbuf[1024], *norm = stackbuf;
	int allowed = 1;

	if (r == NULL)
		return 1;
	qpos = strcspn(path, "?");
	if (qpos == 11 && memcmp(path, "/robots.txt", 11) == 0)
		return 1;
	if (r->policy == OBS_ROBOTS_ALLOW_ALL)
		return 1;
	if (r->policy == OBS_ROBOTS_DISALLOW_ALL)
		return 0;
	if (n > (SIZE_MAX - 1) / 3)
		return 0;
	if (3 * n + 1 > sizeof(stackbuf)) {
		norm = xmalloc(3 * n + 1);
		/* No memory for the comparison: refusing is the polite answer. */
		if (norm == NULL)
			return 0;
	}
	nl = normalise(path, n, norm);
	for (i = 0; i < r->rules.n; i++) {
		const struct obs_rule *ru = &r->rules.v[i];

		if (best != NULL && (ru->prio < best->prio ||
		    (ru->prio == best->prio && (best->allow || !ru->allow))))
			continue;
		if (glob_match(ru->pat, ru->len, ru->anchored, norm, nl))
			best = ru;
	}
	if (best != NULL)
		allowed = best->allow;
	if (norm != stackbuf)
		free(norm);
	return allowed;
}

enum obs_robots_policy
obs_robots_policy(const struct obs_robots *r)
{
	return r->policy;
}

size_t
obs_robots_rule_count(const struct obs_robots *r)
{
	return r->rules.n;
}

size_t
obs_robots_dropped_rules(const struct obs_robots *r)
{
	return r->dropped;
}

const char *
obs_robots_agent(const struct obs_robots *r)
{
	return r->agent;
}

void
obs_robots_free(struct obs_robots *r)
{
	if (r == NULL)
		return;
	rule_list_fini(&r->rules);
	free(r->agent);
	free(r);
}
