/* Targets: the CSV an operator imports, and the one check every target passes whatever
 * its source (CSV, STIX, Cuckoo, TAXII inbox), so that the same destination always gets
 * the same normalised form and the same key. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf/conf.h"
#include "conf/conf_int.h"
#include "record/record.h"

enum col {
	COL_THREAT,
	COL_IP,
	COL_DOMAIN,
	COL_URL,
	COL_PORT,
	COL_DATE,
	COL_SHA,
	COL_FTYPE,
	COL_SUMMARY,
	COL_UA,
	NCOL
};

static const char *const col_names[NCOL] = { "threat_id", "ip", "domain", "url", "port",
	"report_date", "malware_sha256", "file_type", "summary", "user_agent" };

#define MAX_FIELDS 64
#define THREAT_ID_MAX 256
#define SHOW_MAX 60
#define SHOW_BUF (SHOW_MAX * 4 + 16)

/* Where problems go: the CSV reader's error buffer (every problem, capped) or the
 * caller's single message (the first problem). */
struct sink {
	struct util_buf *buf;
	const char *file;
	int line;
	size_t count;
	size_t shown;
	char *first;
	size_t firstlen;
};

__attribute__((format(printf, 3, 4))) static void
report(struct sink *s, const char *col, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	util_vseterr(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s->first != NULL && s->count == 0)
		util_seterr_at(s->first, s->firstlen, NULL, 0, col, "%s", msg);
	s->count++;
	if (s->buf == NULL || s->shown >= CONF_TARGETS_MAX_ERRORS)
		return;
	s->shown++;
	if (s->line > 0)
		util_buf_printf(s->buf, "%s:%d: %s%s%s\n", s->file, s->line, col ? col : "",
		    col ? ": " : "", msg);
	else
		util_buf_printf(s->buf, "%s: %s%s%s\n", s->file, col ? col : "", col ? ": " : "",
		    msg);
}

/* A value as shown in a message: quoted, control characters escaped, long ones cut. */
static const char *
show(const char *v, char out[SHOW_BUF])
{
	size_t i, o = 0;

	out[o++] = '"';
	for (i = 0; v[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)v[i];

		/* Finish a UTF-8 sequence begun before the cut, but no more than one
		 * sequence's worth: a run of stray continuation bytes must not overflow. */
		if (i >= SHOW_MAX && ((ch & 0xc0) != 0x80 || i >= SHOW_MAX + 3)) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\') {
			o += (size_t)snprintf(out + o, 5, ch == '"' || ch == '\\' ? "\\%c" : "\\x%02x",
			    ch);
		} else {
			out[o++] = (char)ch;
		}
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

static int
utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t k, len;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (i + len > n)
			return 0;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		i += len;
	}
	return 1;
}

static int
set_string(json_t *t, const char *key, const char *val, size_t n)
{
	json_t *s = json_stringn(val, n);

	if (s == NULL)
		return -1;
	return json_object_set_new(t, key, s);
}

/* Free text: CR, LF and tab become spaces (spreadsheets put line breaks in cells); any
 * other control character is refused. */
static int
check_text(json_t *t, const char *key, const char *v, int fold, struct sink *s)
{
	char shown[SHOW_BUF];
	size_t i, n = strlen(v);
	char *copy = NULL;
	int rc = -1;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch >= 0x20 && ch != 0x7f)
			continue;
		if (fold && (ch == '\r' || ch == '\n' || ch == '\t')) {
			if (copy == NULL) {
				copy = strdup(v);
				if (copy == NULL) {
					report(s, key, "out of memory");
					goto out;
				}
			}
			copy[i] = ' ';
			continue;
		}
		report(s, key, "control character in %s", show(v, shown));
		goto out;
	}
	if (copy != NULL && set_string(t, key, copy, n) != 0) {
		report(s, key, "out of memory");
		goto out;
	}
	rc = 0;
out:
	free(copy);
	return rc;
}

/* Returns 0, or -1 when out of memory. */
static int
percent_encode(struct util_buf *b, const char *p)
{
	static const char hex[] = "0123456789ABCDEF";

	while (*p) {
		size_t run = 0;
		char enc[3];
		unsigned char ch;

		while (p[run] != '\0' && (unsigned char)p[run] > 0x20 && (unsigned char)p[run] < 0x7f)
			run++;
		if (run > 0 && util_buf_add(b, p, run) != 0)
			return -1;
		p += run;
		if (*p == '\0')
			break;
		ch = (unsigned char)*p++;
		enc[0] = '%';
		enc[1] = hex[ch >> 4];
		enc[2] = hex[ch & 15];
		if (util_buf_add(b, enc, 3) != 0)
			return -1;
	}
	return 0;
}

/* Normalises the url (and folds in the port column when the URL has none). */
static int
check_url(json_t *t, const char *v, struct sink *s)
{
	char shown[SHOW_BUF], why[160];
	struct conf_url u;
	struct util_buf b;
	json_t *jport = json_object_get(t, "port");
	int defport, port, rc = -1;
	const char *p;

	util_buf_init(&b, 0);
	for (p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			report(s, "url", "control character in %s", show(v, shown));
			goto out;
		}
	if (conf_url_parse(v, "http https", 0, &u, why, sizeof(why)) != 0) {
		report(s, "url", "bad URL %s: %s", show(v, shown), why);
		goto out;
	}
	defport = strcmp(u.scheme, "https") == 0 ? 443 : 80;
	port = u.port;
	if (json_is_integer(jport)) {
		int cport = (int)json_integer_value(jport);

		if (port >= 0 && port != cport) {
			report(s, "port", "%d does not match the port of the URL %s", cport,
			    show(v, shown));
			goto out;
		}
		port = cport;
	}
	if (util_buf_printf(&b, u.family == 6 ? "%s://[%s]" : "%s://%s", u.scheme, u.host) != 0)
		goto oom;
	if (port >= 0 && port != defport && util_buf_printf(&b, ":%d", port) != 0)
		goto oom;
	if (u.rest[0] != '/' && util_buf_add(&b, "/", 1) != 0)
		goto oom;
	if (percent_encode(&b, u.rest) != 0 || b.data == NULL || set_string(t, "url", b.data, b.len) != 0)
		goto oom;
	rc = 0;
	goto out;
oom:
	report(s, "url", "out of memory");
out:
	util_buf_fini(&b);
	return rc;
}

static int
check_port(json_t *t, json_t *v, struct sink *s)
{
	char shown[SHOW_BUF];
	long long port = -1;

	if (json_is_integer(v)) {
		port = json_integer_value(v);
		if (port < 1 || port > 65535) {
			report(s, "port", "bad port %lld (1..65535)", port);
			return -1;
		}
	} else {
		const char *p = json_string_value(v);

		for (port = 0; *p; p++) {
			if (*p < '0' || *p > '9' || port > 65535) {
				port = -1;
				break;
			}
			port = port * 10 + (*p - '0');
		}
		if (port < 1 || port > 65535) {
			report(s, "port", "bad port %s (1..65535)", show(json_string_value(v), shown));
			return -1;
		}
	}
	if (json_object_set_new(t, "port", json_integer(port)) != 0) {
		report(s, "port", "out of memory");
		return -1;
	}
	return 0;
}

static enum col
col_of(const char *key)
{
	int i;

	for (i = 0; i < NCOL; i++)
		if (strcmp(col_names[i], key) == 0)
			return (enum col)i;
	return NCOL;
}

/* Trims blanks, drops empty strings, refuses unknown keys and wrong types. */
static int
tidy(json_t *t, struct sink *s)
{
	const char *key;
	json_t *v, *tmp;
	void *it;
	size_t before = s->count;

	for (it = json_object_iter(t); it != NULL;) {
		key = json_object_iter_key(it);
		v = json_object_iter_value(it);
		if (col_of(key) == NCOL) {
			report(s, key, "unknown key");
			it = json_object_iter_next(t, it);
			continue;
		}
		if (json_is_integer(v) && col_of(key) == COL_PORT) {
			it = json_object_iter_next(t, it);
			continue;
		}
		if (!json_is_string(v)) {
			report(s, key, "not a string");
			it = json_object_iter_next(t, it);
			continue;
		}
		const char *str = json_string_value(v);
		size_t n = json_string_length(v), a = 0;

		if (strlen(str) != n) {
			report(s, key, "NUL byte in value");
			it = json_object_iter_next(t, it);
			continue;
		}
		while (a < n && (str[a] == ' ' || str[a] == '\t'))
			a++;
		while (n > a && (str[n - 1] == ' ' || str[n - 1] == '\t'))
			n--;
		if (a == n) {
			/* deleting invalidates `it`: step first */
			it = json_object_iter_next(t, it);
			json_object_del(t, key);
			continue;
		}
		if (a > 0 || n < json_string_length(v)) {
			tmp = json_stringn(str + a, n - a);
			if (tmp == NULL || json_object_iter_set_new(t, it, tmp) != 0) {
				report(s, key, "out of memory");
				return -1;
			}
		}
		it = json_object_iter_next(t, it);
	}
	return s->count == before ? 0 : -1;
}

/* Every check on one target; each problem goes to the sink. Returns 0 or -1. */
static int
check_all(json_t *t, struct sink *s)
{
	char shown[SHOW_BUF], norm[CONF_HOST_MAX];
	const char *v, *why;
	size_t before = s->count;
	json_t *jv;
	int64_t us;

	if (!json_is_object(t)) {
		report(s, NULL, "target is not an object");
		return -1;
	}
	if (tidy(t, s) != 0)
		return -1;

	v = json_string_value(json_object_get(t, "threat_id"));
	if (v == NULL)
		report(s, "threat_id", "missing (and no default threat ID given)");
	else if (strlen(v) > THREAT_ID_MAX)
		report(s, "threat_id", "longer than %d bytes", THREAT_ID_MAX);
	else
		check_text(t, "threat_id", v, 0, s);

	if ((jv = json_object_get(t, "port")) != NULL)
		check_port(t, jv, s);

	v = json_string_value(json_object_get(t, "ip"));
	if (v != NULL) {
		if (conf_ip_norm(v, norm) < 0)
			report(s, "ip", "bad %s address %s", strchr(v, ':') ? "IPv6" : "IPv4",
			    show(v, shown));
		else if (set_string(t, "ip", norm, strlen(norm)) != 0)
			report(s, "ip", "out of memory");
	}
	v = json_string_value(json_object_get(t, "domain"));
	if (v != NULL) {
		if (conf_hostname_norm(v, norm, &why) != 0)
			report(s, "domain", "bad domain %s: %s", show(v, shown), why);
		else if (set_string(t, "domain", norm, strlen(norm)) != 0)
			report(s, "domain", "out of memory");
	}
	v = json_string_value(json_object_get(t, "url"));
	if (v != NULL)
		check_url(t, v, s);

	if (json_object_get(t, "ip") == NULL && json_object_get(t, "domain") == NULL &&
	    json_object_get(t, "url") == NULL)
		report(s, "ip/domain/url", "no destination (one of ip, domain, url is required)");

	v = json_string_value(json_object_get(t, "report_date"));
	if (v != NULL) {
		char when[UTIL_TIME_MAX];

		if (util_time_parse(v, &us) != 0) {
			report(s, "report_date", "bad date %s (RFC 3339 date or date-time)",
			    show(v, shown));
		} else if (strlen(v) != 10) {
			if (util_time_format(us, us % 1000000 != 0, when) != 0)
				report(s, "report_date", "date out of range %s", show(v, shown));
			else if (set_string(t, "report_date", when, strlen(when)) != 0)
				report(s, "report_date", "out of memory");
		}
	}
	v = json_string_value(json_object_get(t, "malware_sha256"));
	if (v != NULL) {
		char low[65];
		size_t i;

		for (i = 0; i < 64 && v[i] != '\0'; i++) {
			char ch = v[i];

			if (ch >= 'A' && ch <= 'F')
				ch = (char)(ch - 'A' + 'a');
			if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
				break;
			low[i] = ch;
		}
		if (i != 64 || v[64] != '\0')
			report(s, "malware_sha256", "not a SHA-256 (64 hex digits) %s",
			    show(v, shown));
		else if (set_string(t, "malware_sha256", low, 64) != 0)
			report(s, "malware_sha256", "out of memory");
	}
	if ((v = json_string_value(json_object_get(t, "file_type"))) != NULL)
		check_text(t, "file_type", v, 1, s);
	if ((v = json_string_value(json_object_get(t, "summary"))) != NULL)
		check_text(t, "summary", v, 1, s);
	/* sent verbatim as a request header: a line break here would forge headers */
	if ((v = json_string_value(json_object_get(t, "user_agent"))) != NULL)
		check_text(t, "user_agent", v, 0, s);
	return s->count == before ? 0 : -1;
}

int
conf_target_check(json_t *target, char *err, size_t errlen)
{
	struct sink s;

	memset(&s, 0, sizeof(s));
	s.first = err;
	s.firstlen = errlen;
	if (errlen > 0)
		err[0] = '\0';
	return check_all(target, &s);
}

/* Appends the destination key of a checked target to b. 0, or -1 (none, or no memory). */
/* The CSV reader's state over the whole file in memory. */
struct csv {
	const char *data;
	size_t len, pos;
	int line;                 /* physical line at pos */
	struct util_buf fields;   /* current record's fields, each NUL-terminated */
	size_t off[MAX_FIELDS];
	size_t nlen[MAX_FIELDS];
	size_t nfields;
	size_t nall;              /* fields seen, also beyond MAX_FIELDS */
	int too_many;
	const char *syntax;       /* first syntax problem in the record, NULL if none */
};

static int
add_field_char(struct csv *c, const char *p, size_t n)
{
	return util_buf_add(&c->fields, p, n) == 0 ? 0 : -1;
}

static int
end_field(struct csv *c, size_t start)
{
	size_t a = start, e = c->fields.len;

	if (util_buf_add(&c->fields, "", 1) != 0)
		return -1;
	c->nall++;
	if (c->nfields >= MAX_FIELDS) {
		c->too_many = 1;
		return 0;
	}
	c->off[c->nfields] = a;
	c->nlen[c->nfields] = e - a;
	c->nfields++;
	return 0;
}

/* Reads one record. Returns 1, 0 at the end of the file, -1 when out of memory, -2 for an
 * unterminated quoted field (the rest of the file is unusable). */
static int
csv_record(struct csv *c)
{
	const char *d = c->data;
	size_t n = c->len;

	if (c->pos >= n)
		return 0;
	util_buf_reset(&c->fields);
	c->nfields = 0;
	c->nall = 0;
	c->too_many = 0;
	c->syntax = NULL;
	for (;;) {
		size_t start = c->fields.len;

		while (c->pos < n && (d[c->pos] == ' ' || d[c->pos] == '\t'))
			c->pos++;
		if (c->pos < n && d[c->pos] == '"') {
			c->pos++;
			for (;;) {
				size_t run = c->pos;

				while (run < n && d[run] != '"' && d[run] != '\n')
					run++;
				if (add_field_char(c, d + c->pos, run - c->pos) != 0)
					return -1;
				c->pos = run;
				if (run >= n)
					return -2;
				if (d[run] == '\n') {
					c->line++;
					if (add_field_char(c, "\n", 1) != 0)
						return -1;
					c->pos++;
					continue;
				}
				if (run + 1 < n && d[run + 1] == '"') {
					if (add_field_char(c, "\"", 1) != 0)
						return -1;
					c->pos += 2;
					continue;
				}
				c->pos++;
				break;
			}
			while (c->pos < n && (d[c->pos] == ' ' || d[c->pos] == '\t'))
				c->pos++;
			if (c->pos < n && d[c->pos] != ',' && d[c->pos] != '\n' &&
			    !(d[c->pos] == '\r' && (c->pos + 1 == n || d[c->pos + 1] == '\n'))) {
				if (c->syntax == NULL)
					c->syntax = "text after a closing quote";
				while (c->pos < n && d[c->pos] != ',' && d[c->pos] != '\n')
					c->pos++;
			}
		} else {
			size_t run = c->pos;

			while (run < n && d[run] != ',' && d[run] != '\n') {
				if (d[run] == '"' && c->syntax == NULL)
					c->syntax = "quote inside an unquoted field";
				run++;
			}
			{
				size_t e = run;

				if (e > c->pos && d[e - 1] == '\r' && (e == n || d[e] == '\n'))
					e--;
				while (e > c->pos && (d[e - 1] == ' ' || d[e - 1] == '\t'))
					e--;
				if (add_field_char(c, d + c->pos, e - c->pos) != 0)
					return -1;
			}
			c->pos = run;
		}
		if (end_field(c, start) != 0)
			return -1;
		if (c->pos < n && d[c->pos] == ',') {
			c->pos++;
			continue;
		}
		if (c->pos < n && d[c->pos] == '\r')
			c->pos++;
		if (c->pos < n && d[c->pos] == '\n') {
			c->pos++;
			c->line++;
		}
		return 1;
	}
}

static int
record_empty(const struct csv *c)
{
	return c->nfields == 1 && c->nlen[0] == 0 && c->syntax == NULL;
}

struct reader {
	struct csv csv;
	struct sink sink;
	int col_of_field[MAX_FIELDS];
	int have[NCOL];
	size_t ncols;
	const char *default_tid;
	json_t *out, *seen;
	struct util_buf key;
	conf_progress_fn progress;
	void *arg;
	int64_t last_us; /* util_mono_us of the last progress call */
};

static int
header(struct reader *r)
{
	struct csv *c = &r->csv;
	char shown[SHOW_BUF];
	size_t i;
	size_t before = r->sink.count;

	if (c->syntax != NULL)
		report(&r->sink, "header", "%s", c->syntax);
	if (c->too_many)
		report(&r->sink, "header", "more than %d columns", MAX_FIELDS);
	for (i = 0; i < c->nfields; i++) {
		const char *name = c->fields.data + c->off[i];
		enum col col = col_of(name);

		r->col_of_field[i] = (int)col;
		if (col == NCOL)
			report(&r->sink, "header", "unknown column %s", show(name, shown));
		else if (r->have[col]++)
			report(&r->sink, "header", "duplicate column %s", show(name, shown));
	}
	r->ncols = c->nfields;
	if (!r->have[COL_THREAT] && r->default_tid == NULL)
		report(&r->sink, "header",
		    "missing column \"threat_id\" (or give a default threat ID)");
	if (!r->have[COL_IP] && !r->have[COL_DOMAIN] && !r->have[COL_URL])
		report(&r->sink, "header", "needs at least one of the columns ip, domain, url");
	return r->sink.count == before ? 0 : -1;
}

static int
row(struct reader *r)
{
	struct csv *c = &r->csv;
	json_t *t = NULL;
	size_t i;
	int rc = -1;

	if (c->syntax != NULL) {
		report(&r->sink, NULL, "CSV syntax: %s", c->syntax);
		return -1;
	}
	if (c->nfields != r->ncols || c->too_many) {
		report(&r->sink, NULL, "%zu fields, but the header has %zu", c->nall, r->ncols);
		return -1;
	}
	t = json_object();
	if (t == NULL)
		goto oom;
	for (i = 0; i < c->nfields; i++) {
		const char *v = c->fields.data + c->off[i];
		const char *name = col_names[r->col_of_field[i]];

		if (c->nlen[i] == 0)
			continue;
		if (memchr(v, '\0', c->nlen[i]) != NULL) {
			report(&r->sink, name, "NUL byte in value");
			goto out;
		}
		if (!utf8_valid((const unsigned char *)v, c->nlen[i])) {
			report(&r->sink, name, "not valid UTF-8");
			goto out;
		}
		if (set_string(t, name, v, c->nlen[i]) != 0)
			goto oom;
	}
	if (json_object_get(t, "threat_id") == NULL && r->default_tid != NULL &&
	    set_string(t, "threat_id", r->default_tid, strlen(r->default_tid)) != 0)
		goto oom;
	if (check_all(t, &r->sink) != 0)
		goto out;
	if (r->sink.count > 0) {
		/* the import fails anyway: only checking from here on */
		rc = 0;
		goto out;
	}
	util_buf_reset(&r->key);
	if (util_buf_printf(&r->key, "%s\n", json_string_value(json_object_get(t, "threat_id"))) !=
		0 ||
	    rec_target_key_append(t, &r->key) != 0)
		goto oom;
	if (json_object_get(r->seen, r->key.data) != NULL) {
		rc = 0;
		goto out;
	}
	if (json_object_set_new(r->seen, r->key.data, json_true()) != 0 ||
	    json_array_append(r->out, t) != 0)
		goto oom;
	rc = 0;
	goto out;
oom:
	report(&r->sink, NULL, "out of memory");
out:
	json_decref(t);
	return rc;
}

static void
tick(struct reader *r, int force)
{
	int64_t now;

	if (r->progress == NULL)
		return;
	now = util_mono_us();
	if (!force && now - r->last_us < 100000)
		return;
	r->last_us = now;
	r->progress(r->csv.pos, r->csv.len, r->arg);
}

int
conf_targets_read(const char *path, const char *default_threat_id, json_t **out,
    struct util_buf *errors, size_t *nerrors, conf_progress_fn progress, void *arg)
{
	struct reader r;
	struct util_buf file;
	int rc = -1, got, saw_header = 0;
	unsigned long nrec = 0;

	memset(&r, 0, sizeof(r));
	util_buf_init(&file, CONF_TARGETS_MAX_FILE);
	util_buf_init(&r.csv.fields, 0);
	util_buf_init(&r.key, 0);
	r.sink.buf = errors;
	r.sink.file = path;
	r.default_tid = default_threat_id != NULL && *default_threat_id != '\0' ?
	    default_threat_id : NULL;
	r.progress = progress;
	r.arg = arg;
	if (progress != NULL)
		r.last_us = util_mono_us();

	got = util_read_file(path, &file);
	if (got == -2) {
		report(&r.sink, NULL, "larger than %u MiB", CONF_TARGETS_MAX_FILE >> 20);
		goto out;
	}
	if (got != 0) {
		report(&r.sink, NULL, "cannot read: %s", strerror(errno));
		goto out;
	}
	r.out = json_array();
	r.seen = json_object();
	if (r.out == NULL || r.seen == NULL) {
		report(&r.sink, NULL, "out of memory");
		goto out;
	}
	r.csv.data = file.data ? file.data : "";
	r.csv.len = file.len;
	r.csv.line = 1;
	if (r.csv.len >= 3 && memcmp(r.csv.data, "\xEF\xBB\xBF", 3) == 0)
		r.csv.pos = 3;

	for (;;) {
		int line = r.csv.line;

		got = csv_record(&r.csv);
		if (got == 0)
			break;
		r.sink.line = line;
		if (got == -1) {
			report(&r.sink, NULL, "out of memory");
			break;
		}
		if (got == -2) {
			report(&r.sink, NULL, "CSV syntax: quoted field not closed before the end "
					      "of the file");
			break;
		}
		if ((++nrec & 255) == 0)
			tick(&r, 0);
		if (record_empty(&r.csv))
			continue;
		if (!saw_header) {
			saw_header = 1;
			if (header(&r) != 0)
				break;
			continue;
		}
		row(&r);
	}
	if (!saw_header && r.sink.count == 0) {
		r.sink.line = 1;
		report(&r.sink, NULL, "no header row (the file is empty)");
	}
	tick(&r, 1);
	if (r.sink.count > r.sink.shown && errors != NULL)
		util_buf_printf(errors, "%s: %zu more errors not shown\n", path,
		    r.sink.count - r.sink.shown);
	if (r.sink.count == 0) {
		*out = r.out;
		r.out = NULL;
		rc = 0;
	}
out:
	if (nerrors != NULL)
		*nerrors = r.sink.count;
	json_decref(r.out);
	json_decref(r.seen);
	util_buf_fini(&r.key);
	util_buf_fini(&r.csv.fields);
	util_buf_fini(&file);
	return rc;
}
