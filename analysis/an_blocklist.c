/* Blocklists of the report's destinations in the forms firewalls and resolvers read
 * (DESIGN.md "Exports"). A destination blocks by what it names: a URL by the URL (and, in
 * host-based forms, by its host), a domain by the name, an address by the address; the
 * addresses a name resolved to are not listed (they are often shared hosting). */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>

#include "analysis/analysis.h"

/* What a destination's target text names. */
struct dest_parts {
	char url[4096];  /* without scheme; "" when not a URL */
	char host[1024]; /* domain (punycode, lowercase) or address, no brackets */
	int is_ip;       /* host is an address */
};

static void
lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static int
non_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

/* A host name a zone file or firewall takes as it is: labels of letters, digits, '-' and
 * '_', 1 to 63 bytes each, 253 in all. Targets merged from peers are attacker-controlled:
 * anything else (a ';', a blank, a line break, a '*') would change the list's meaning. */
static int
plain_name(const char *h)
{
	size_t label = 0, n = strlen(h);

	if (n == 0 || n > 253 || h[0] == '.')
		return 0;
	for (; *h; h++) {
		if (*h == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if ((*h >= 'a' && *h <= 'z') || (*h >= '0' && *h <= '9') || *h == '-' ||
		    *h == '_') {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0;
}

/* No blank, control character or comma in a URL written to a list. */
static int
plain_url(const char *u)
{
	for (; *u; u++)
		if ((unsigned char)*u <= 0x20 || *u == 0x7f || *u == ',')
			return 0;
	return 1;
}

/* 0, or -1 when the target names nothing a blocklist can hold. */
static int
split_target(const char *target, struct dest_parts *p)
{
	const char *s = strstr(target, "://"), *h, *end;
	unsigned char tmp[16];
	size_t hl;

	memset(p, 0, sizeof(*p));
	if (s) {
		h = s + 3;
		if (strlen(h) >= sizeof(p->url))
			return -1;
		strcpy(p->url, h);
		end = h + strcspn(h, "/?#");
		/* userinfo@ (never kept in a target, but a record from elsewhere may hold it) */
		for (const char *at = h; at < end; at++)
			if (*at == '@')
				h = at + 1;
	} else {
		h = target;
		end = h + strlen(h);
	}
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));

		if (rb == NULL)
			return -1;
		h++;
		end = rb;
	} else {
		const char *c1 = memchr(h, ':', (size_t)(end - h));

		/* One colon: host:port. More: a bare IPv6 address. */
		if (c1 && memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) == NULL)
			end = c1;
	}
	hl = (size_t)(end - h);
	if (hl == 0 || hl >= sizeof(p->host))
		return -1;
	memcpy(p->host, h, hl);
	p->host[hl] = '\0';
	if (inet_pton(AF_INET, p->host, tmp) == 1 || inet_pton(AF_INET6, p->host, tmp) == 1) {
		p->is_ip = 1;
		return p->url[0] && !plain_url(p->url) ? -1 : 0;
	}
	if (non_ascii(p->host)) {
		char *ace = NULL;

		if (idn2_to_ascii_8z(p->host, &ace, IDN2_NONTRANSITIONAL) != IDN2_OK ||
		    strlen(ace) >= sizeof(p->host)) {
			free(ace);
			return -1;
		}
		strcpy(p->host, ace);
		free(ace);
	}
	lower(p->host);
	while (hl > 1 && p->host[strlen(p->host) - 1] == '.')
		p->host[strlen(p->host) - 1] = '\0';
	if (!plain_name(p->host) || (p->url[0] && !plain_url(p->url)))
		return -1;
	return 0;
}

int
an_verdicts_parse(const char *list, unsigned *mask, char *err, size_t errlen)
{
	const char *p = list;

	*mask = 0;
	while (*p) {
		size_t l = strcspn(p, ",");

		if (l == 4 && strncmp(p, "keep", 4) == 0)
			*mask |= AN_KEEP;
		else if (l == 9 && strncmp(p, "sinkholed", 9) == 0)
			*mask |= AN_SINKHOLED;
		else if (l == 16 && strncmp(p, "remove-candidate", 16) == 0)
			*mask |= AN_REMOVE;
		else {
			util_seterr(err, errlen,
			    "unknown verdict \"%.*s\" (keep, sinkholed, remove-candidate)", (int)l, p);
			return -1;
		}
		p += l;
		if (*p == ',')
			p++;
	}
	if (*mask == 0) {
		util_seterr(err, errlen, "no verdict given");
		return -1;
	}
	return 0;
}

/* One line of the list, before deduplication: the key it is deduplicated by and what
 * is written. */
struct line {
	char *key, *text;
	size_t idx; /* order of arrival: the first of equal keys is kept */
};

static int
by_key(const void *a, const void *b)
{
	const struct line *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

struct lines {
	struct line *v;
	size_t n, cap;
};

static int
add_line(struct lines *ls, const char *key, const char *text)
{
	if (ls->n == ls->cap) {
		size_t cap = ls->cap ? ls->cap * 2 : 64;
		struct line *nv = realloc(ls->v, cap * sizeof(*nv));

		if (nv == NULL)
			return -1;
		ls->v = nv;
		ls->cap = cap;
	}
	ls->v[ls->n].idx = ls->n;
	ls->v[ls->n].key = strdup(key);
	ls->v[ls->n].text = strdup(text);
	if (ls->v[ls->n].key == NULL || ls->v[ls->n].text == NULL) {
		free(ls->v[ls->n].key);
		free(ls->v[ls->n].text);
		return -1;
	}
	ls->n++;
	return 0;
}

/* A one-line reason, safe inside a comment or a tab-separated field. */
static void
reason(const struct an_dest *d, char *buf, size_t len)
{
	char t[UTIL_TIME_MAX] = "never";
	size_t i;

	if (d->last_answered != INT64_MIN)
		util_time_format(d->last_answered, 0, t);
	snprintf(buf, len, "%s %s; threat %s; last answered %s", an_verdict_name(d->verdict),
	    d->category, d->threat_id, t);
	for (i = 0; buf[i]; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == ',' || buf[i] == 0x7f)
			buf[i] = ' ';
}

/* The rpz-ip owner name of an address: prefix length, then the address reversed
 * (IPv4 by octet; IPv6 by 16-bit group with the longest zero run as "zz"). */
static int
rpz_ip(const char *addr, char *out, size_t len)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, addr, a) == 1) {
		snprintf(out, len, "32.%u.%u.%u.%u.rpz-ip", a[3], a[2], a[1], a[0]);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, a) == 1) {
		unsigned g[8];
		int best = -1, bestn = 0, off;

		for (int i = 0; i < 8; i++)
			g[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
		for (int i = 0; i < 8;) {
			int j = i;

			while (j < 8 && g[j] == 0)
				j++;
			if (j - i > bestn && j - i >= 2) {
				best = i;
				bestn = j - i;
			}
			i = j > i ? j : i + 1;
		}
		off = snprintf(out, len, "128");
		for (int i = 7; i >= 0; i--) {
			if (best >= 0 && i >= best && i < best + bestn) {
				if (i == best)
					off += snprintf(out + off, len - (size_t)off, ".zz");
				continue;
			}
			off += snprintf(out + off, len - (size_t)off, ".%x", g[i]);
		}
		snprintf(out + off, len - (size_t)off, ".rpz-ip");
		return 0;
	}
	return -1;
}

static void
csv_field(struct util_buf *o, const char *s, int last, int *rc)
{
	if (strpbrk(s, ",\"\r\n")) {
		*rc |= util_buf_add(o, "\"", 1);
		for (; *s; s++)
			*rc |= *s == '"' ? util_buf_add(o, "\"\"", 2) : util_buf_add(o, s, 1);
		*rc |= util_buf_add(o, "\"", 1);
	} else {
		*rc |= util_buf_add(o, s, strlen(s));
	}
	*rc |= util_buf_add(o, last ? "\n" : ",", 1);
}

int
an_blocklist_suricata_categories(struct util_buf *out)
{
	return util_buf_printf(out,
	    "1,c2watch-keep,C2 destination c2watch keeps blocking\n"
	    "2,c2watch-sinkholed,C2 destination now answered by a sinkhole\n"
	    "3,c2watch-remove,C2 destination silent long enough to be removed\n");
}

static int
suricata_cat(enum an_verdict v)
{
	return v == AN_SINKHOLED ? 2 : v == AN_REMOVE ? 3 : 1;
}

int
an_blocklist(const struct an_report *r, const char *style, unsigned verdicts,
    uint32_t serial, struct util_buf *out, char *err, size_t errlen)
{
	static const char *const styles[] = {"plain", "edl-url", "edl-domain", "edl-ip", "rpz",
	    "suricata", "zeek", "csv"};
	struct lines ls = {NULL, 0, 0};
	int rc = 0, known = 0, ret = -1;

	for (size_t i = 0; i < sizeof(styles) / sizeof(styles[0]); i++)
		known |= strcmp(style, styles[i]) == 0;
	if (!known) {
		util_seterr(err, errlen, "unknown style \"%s\" (plain, edl-url, edl-domain, edl-ip, "
		    "rpz, suricata, zeek, csv)", style);
		return -1;
	}
	for (size_t i = 0; i < r->ndests && rc == 0; i++) {
		const struct an_dest *d = &r->dests[i];
		struct dest_parts p;
		char why[512], text[8192], name[1100];

		if (!(d->verdict & verdicts) || split_target(d->target, &p) != 0)
			continue;
		reason(d, why, sizeof(why));
		if (strcmp(style, "plain") == 0) {
			const char *v = p.url[0] ? d->target : p.host;

			if (plain_url(v))
				rc = add_line(&ls, v, v);
		} else if (strcmp(style, "edl-url") == 0) {
			if (p.url[0])
				rc = add_line(&ls, p.url, p.url);
		} else if (strcmp(style, "edl-domain") == 0) {
			if (!p.is_ip)
				rc = add_line(&ls, p.host, p.host);
		} else if (strcmp(style, "edl-ip") == 0) {
			if (p.is_ip)
				rc = add_line(&ls, p.host, p.host);
		} else if (strcmp(style, "rpz") == 0) {
			if (p.is_ip) {
				if (rpz_ip(p.host, name, sizeof(name)) != 0)
					continue;
				snprintf(text, sizeof(text), "; %s\n%s CNAME .\n", why, name);
			} else {
				snprintf(text, sizeof(text), "; %s\n%s CNAME .\n*.%s CNAME .\n", why, p.host,
				    p.host);
			}
			rc = add_line(&ls, p.host, text);
		} else if (strcmp(style, "suricata") == 0) {
			if (p.is_ip) {
				snprintf(text, sizeof(text), "# %s\n%s,%d,127\n", why, p.host,
				    suricata_cat(d->verdict));
				rc = add_line(&ls, p.host, text);
			}
		} else if (strcmp(style, "zeek") == 0) {
			const char *v = p.url[0] ? p.url : p.host;

			snprintf(text, sizeof(text), "%s\t%s\tc2watch\t%s\n", v, p.url[0] ?
			    "Intel::URL" : p.is_ip ? "Intel::ADDR" : "Intel::DOMAIN", why);
			rc = add_line(&ls, v, text);
		} else { /* csv: one row per destination, its own key */
			char t[UTIL_TIME_MAX] = "";
			struct util_buf row;
			int r2 = 0;

			util_buf_init(&row, 0);
			if (d->last_answered != INT64_MIN)
				util_time_format(d->last_answered, 0, t);
			csv_field(&row, d->target, 0, &r2);
			csv_field(&row, d->threat_id, 0, &r2);
			csv_field(&row, an_verdict_name(d->verdict), 0, &r2);
			csv_field(&row, t, 0, &r2);
			csv_field(&row, d->evidence ? d->evidence : "", 1, &r2);
			r2 |= util_buf_add(&row, "", 1);
			snprintf(name, sizeof(name), "%s\n%s", d->target, d->threat_id);
			rc = r2 ? -1 : add_line(&ls, name, row.data);
			util_buf_fini(&row);
		}
	}
	if (rc != 0) {
		util_seterr(err, errlen, "out of memory");
		goto out;
	}
	/* Deduplicated, sorted: the first destination (in the report's order) naming a key
	 * gives its line. */
	qsort(ls.v, ls.n, sizeof(*ls.v), by_key);
	{
		size_t m = 0;

		for (size_t i = 0; i < ls.n; i++) {
			if (m > 0 && strcmp(ls.v[m - 1].key, ls.v[i].key) == 0) {
				free(ls.v[i].key);
				free(ls.v[i].text);
				continue;
			}
			ls.v[m++] = ls.v[i];
		}
		ls.n = m;
	}
	if (strcmp(style, "rpz") == 0)
		rc |= util_buf_printf(out, "; c2watch response policy zone: C2 destinations to block\n"
		    "$TTL 300\n@ IN SOA localhost. hostmaster.localhost. %u 3600 600 86400 300\n"
		    "@ IN NS localhost.\n", serial);
	else if (strcmp(style, "suricata") == 0)
		rc |= util_buf_printf(out, "# c2watch IP reputation (ip,category,score); its "
		    "categories file (reputation-categories-file):\n"
		    "# 1,c2watch-keep,C2 destination c2watch keeps blocking\n"
		    "# 2,c2watch-sinkholed,C2 destination now answered by a sinkhole\n"
		    "# 3,c2watch-remove,C2 destination silent long enough to be removed\n");
	else if (strcmp(style, "zeek") == 0)
		rc |= util_buf_printf(out, "#fields\tindicator\tindicator_type\tmeta.source\t"
		    "meta.desc\n");
	else if (strcmp(style, "csv") == 0)
		rc |= util_buf_printf(out, "destination,threat_id,verdict,last_answered,evidence\n");
	for (size_t i = 0; i < ls.n; i++) {
		const char *t = ls.v[i].text;
		size_t l = strlen(t);

		rc |= util_buf_add(out, t, l);
		if (l == 0 || t[l - 1] != '\n')
			rc |= util_buf_add(out, "\n", 1);
	}
	if (rc != 0) {
		util_seterr(err, errlen, "out of memory");
		goto out;
	}
	ret = 0;
out:
	for (size_t i = 0; i < ls.n; i++) {
		free(ls.v[i].key);
		free(ls.v[i].text);
	}
	free(ls.v);
	return ret;
}
