/* dash: routing, the shared report, and the HTML writer every page uses. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dash/dash_int.h"
#include "store/store.h"

/* No script, no outside resources, no framing, forms only to this node. */
#define DASH_CSP "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; " \
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

static const char *const palette[] = {
	"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
	"#e377c2", "#7f7f7f", "#bcbd22", "#393b79", "#ad494a",
};

static void rep_free(struct dash_rep *rep);

struct dash *
dash_new(const struct dash_opts *opts, char *err, size_t errlen)
{
	struct dash *d = calloc(1, sizeof(*d));

	if (d == NULL)
		goto nomem;
	d->o = *opts;
	if (d->o.reuse_us <= 0)
		d->o.reuse_us = 5000000;
	if (opts->npeers) {
		if ((d->peers = calloc(opts->npeers, sizeof(char *))) == NULL)
			goto nomem;
		for (size_t i = 0; i < opts->npeers; i++)
			if ((d->peers[i] = strdup(opts->peers[i])) == NULL)
				goto nomem;
	}
	d->o.peers = (const char *const *)d->peers;
	if (pthread_mutex_init(&d->mu, NULL) != 0)
		goto nomem;
	return d;
nomem:
	if (d != NULL) {
		for (size_t i = 0; d->peers && i < opts->npeers; i++)
			free(d->peers[i]);
		free(d->peers);
		free(d);
	}
	util_seterr(err, errlen, "out of memory");
	return NULL;
}

void
dash_free(struct dash *d)
{
	if (d == NULL)
		return;
	if (d->builder_joinable)
		pthread_join(d->builder, NULL);
	rep_free(d->full);
	for (size_t i = 0; i < d->o.npeers; i++)
		free(d->peers[i]);
	free(d->peers);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

/* ------------------------------------------------------------------ escapes */

int
dash_esc_html(struct util_buf *out, const char *s, size_t len)
{
	size_t run = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *rep = NULL;

		switch (c) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default:
			if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
				rep = "\xef\xbf\xbd";
		}
		if (rep == NULL)
			continue;
		if (util_buf_add(out, s + run, i - run) != 0 || util_buf_add(out, rep, strlen(rep)) != 0)
			return -1;
		run = i + 1;
	}
	return util_buf_add(out, s + run, len - run);
}

int
dash_esc_url(struct util_buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[3];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			if (util_buf_add(out, s + i, 1) != 0)
				return -1;
			continue;
		}
		e[0] = '%';
		e[1] = hex[c >> 4];
		e[2] = hex[c & 15];
		if (util_buf_add(out, e, 3) != 0)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ HTML writer */

int
dash_put(struct dash_req *q, const char *s)
{
	return util_buf_add(q->b, s, strlen(s));
}

int
dash_putf(struct dash_req *q, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = util_buf_vprintf(q->b, fmt, ap);
	va_end(ap);
	return rc;
}

int
dash_text(struct dash_req *q, const char *s)
{
	return s ? dash_esc_html(q->b, s, strlen(s)) : 0;
}

int
dash_textn(struct dash_req *q, const char *s, size_t n)
{
	return dash_esc_html(q->b, s, n);
}

int
dash_url(struct dash_req *q, const char *s)
{
	return s ? dash_esc_url(q->b, s, strlen(s)) : 0;
}

int
dash_dest_link(struct dash_req *q, const char *threat, const char *target)
{
	/* Percent-encoding leaves only [A-Za-z0-9%._~-], which no HTML context reads as
	 * markup; the '&' between the arguments is written as a reference. */
	return dash_put(q, "<a href=\"/destination?threat=") || dash_url(q, threat) ||
	    dash_put(q, "&amp;target=") || dash_url(q, target) || dash_put(q, "\">");
}

static const char page_css[] =
	"body{font:15px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;"
	"color:#1b1f24;background:#f6f7f9}"
	"header{background:#1b2a3a;color:#fff;padding:.6em 1em;display:flex;flex-wrap:wrap;"
	"gap:.4em 1.4em;align-items:baseline}"
	"header a{color:#cfe3ff;text-decoration:none}header a:hover{text-decoration:underline}"
	"header strong{font-size:1.15em;color:#fff}"
	"main{max-width:1360px;margin:0 auto;padding:.5em 1em 2em}"
	"h1{font-size:1.35em;margin:.8em 0 .3em;overflow-wrap:anywhere}"
	"h2{font-size:1.1em;margin:1.4em 0 .4em}"
	"section{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:.6em 1em;"
	"margin:.8em 0}"
	".grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:.8em}"
	".grid section{margin:0}"
	".scroll{overflow-x:auto}"
	"table{border-collapse:collapse;font-size:.93em;min-width:100%}"
	"th,td{text-align:left;padding:.25em .6em;border-bottom:1px solid #e6e8eb;"
	"vertical-align:top}"
	"th{background:#f0f2f5;font-weight:600}td.n,th.n{text-align:right;"
	"font-variant-numeric:tabular-nums}"
	"td.t{overflow-wrap:anywhere;max-width:38em}"
	"a{color:#0b5cad}"
	"svg{display:block;width:100%;height:auto;max-width:100%}"
	"svg text{font:11px system-ui,sans-serif;fill:#333}"
	"svg .ax{stroke:#999;stroke-width:1}svg .gr{stroke:#e3e6ea;stroke-width:1}"
	".legend{display:flex;flex-wrap:wrap;gap:.2em 1em;margin:.4em 0;padding:0;"
	"list-style:none;font-size:.9em}"
	".legend li{overflow-wrap:anywhere}"
	".sw{display:inline-block;width:.9em;height:.9em;border-radius:2px;"
	"vertical-align:-.1em;margin-right:.3em}"
	".big{font-size:1.6em;font-weight:600}"
	".muted{color:#5b6470}"
	".v-keep{color:#a11}.v-sinkholed{color:#6a3d9a}.v-remove-candidate{color:#2a7a2a}"
	"@media (max-width:640px){main{padding:.3em .5em}section{padding:.5em}"
	".scroll svg{min-width:860px}"
	"table{font-size:.85em}th,td{padding:.2em .35em}}";

int
dash_head(struct dash_req *q, const char *title)
{
	const char *org = q->d->o.organization;

	return dash_put(q, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
		"<meta name=\"referrer\" content=\"no-referrer\"><title>") ||
	    dash_text(q, title) || dash_put(q, " \xe2\x80\x94 c2watch</title><style>") ||
	    dash_put(q, page_css) ||
	    dash_put(q, "</style></head><body><header><strong>c2watch</strong>") ||
	    dash_put(q, "<span>") || dash_text(q, q->d->o.node_id) ||
	    (org && org[0] ? dash_put(q, " \xc2\xb7 ") || dash_text(q, org) : 0) ||
	    dash_put(q, "</span><nav><a href=\"/\">Overview</a> \xc2\xb7 "
		"<a href=\"/categories\">Categories</a> \xc2\xb7 <a href=\"/tables\">Tables</a>"
		" \xc2\xb7 <a href=\"/report.json\">report.json</a>"
		" \xc2\xb7 <a href=\"/blocklist?style=plain\">blocklist</a></nav></header><main>");
}

int
dash_foot(struct dash_req *q)
{
	return dash_put(q, "</main></body></html>\n");
}

int
dash_page_headers(struct dash_req *q, int status, const char *ctype)
{
	struct taxii_http_resp *r = q->resp;

	r->status = status ? status : 200;
	snprintf(r->content_type, sizeof(r->content_type), "%s", ctype);
	if (taxii_http_add_header(r, "Content-Security-Policy", DASH_CSP) != 0 ||
	    taxii_http_add_header(r, "X-Content-Type-Options", "nosniff") != 0 ||
	    taxii_http_add_header(r, "Referrer-Policy", "no-referrer") != 0) {
		util_seterr(q->err, q->errlen, "too many response headers");
		return -1;
	}
	return 0;
}

int
dash_plain(struct dash_req *q, int status, const char *msg)
{
	util_buf_reset(q->b);
	if (dash_page_headers(q, status, "text/plain; charset=utf-8") != 0)
		return -1;
	if (dash_put(q, msg) != 0 || dash_put(q, "\n") != 0) {
		util_seterr(q->err, q->errlen, "page too large");
		return -1;
	}
	return 0;
}

void
dash_time(int64_t us, char buf[32])
{
	time_t t;
	struct tm tm;

	if (us == INT64_MIN) {
		snprintf(buf, 32, "never");
		return;
	}
	t = (time_t)(us / 1000000);
	if (gmtime_r(&t, &tm) == NULL || strftime(buf, 32, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(buf, 32, "?");
}

const char *
dash_color(size_t i)
{
	return palette[i % (sizeof(palette) / sizeof(palette[0]))];
}

const char *
dash_status_color(int st)
{
	if (st < 0 || st == STORE_SUM_UNANSWERED || st == STORE_SUM_NOT_RUN)
		return "#9aa0a6";
	if (st >= 500)
		return st == 500 ? "#d62728" : "#8c1a1b";
	if (st >= 400)
		return st == 404 ? "#ff7f0e" : "#a84d00";
	if (st >= 300)
		return st == 302 || st == 301 ? "#1f77b4" : "#0b3f6b";
	if (st >= 200)
		return st == 200 ? "#2ca02c" : "#145a14";
	return "#8c564b";
}

void
dash_status_name(int status, char buf[16])
{
	if (status == STORE_SUM_UNANSWERED || status < 0)
		snprintf(buf, 16, "no answer");
	else if (status == STORE_SUM_NOT_RUN)
		snprintf(buf, 16, "not run");
	else
		snprintf(buf, 16, "%d", status);
}

int
dash_month(const char *s, int64_t *from, int64_t *to)
{
	int y, m;
	char tail;
	struct tm tm;

	if (s == NULL || strlen(s) != 7 || sscanf(s, "%4d-%2d%c", &y, &m, &tail) != 2 ||
	    s[4] != '-' || y < 1970 || y > 9998 || m < 1 || m > 12)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = 1;
	*from = (int64_t)timegm(&tm) * 1000000;
	tm.tm_mon = m == 12 ? 0 : m;
	tm.tm_year = m == 12 ? y + 1 - 1900 : y - 1900;
	*to = (int64_t)timegm(&tm) * 1000000;
	return 0;
}

/* ------------------------------------------------------------------ reports */

int
dash_report(struct dash *d, const char *threat, int64_t from, int64_t to,
    struct an_report **out, char *err, size_t errlen)
{
	struct an_query aq;

	memset(&aq, 0, sizeof(aq));
	aq.threat_id = threat;
	aq.from_us = from;
	aq.to_us = to;
	aq.remove_after_us = d->o.remove_after_us;
	aq.self_node = d->o.node_id;
	aq.trust = d->o.trust;
	aq.sinkholes = d->o.sinkholes;
	return an_report_build(d->o.store, &aq, out, err, errlen);
}

struct vant {
	uint32_t id;
	int64_t last;
	size_t n;
};

struct vscan {
	struct vant *v;
	size_t n, cap;
};

static int
vscan_cb(const char *threat, const char *target, const struct store_sum *e, size_t n,
    void *arg)
{
	struct vscan *vs = arg;

	(void)threat;
	(void)target;
	for (size_t i = 0; i < n; i++) {
		size_t j;

		/* Entries come by vantage, then time: the last of a run is its latest. */
		if (i + 1 < n && e[i + 1].vantage == e[i].vantage)
			continue;
		for (j = 0; j < vs->n && vs->v[j].id != e[i].vantage; j++)
			;
		if (j == vs->n) {
			if (vs->n == vs->cap) {
				size_t c = vs->cap ? vs->cap * 2 : 16;
				struct vant *nv = realloc(vs->v, c * sizeof(*nv));

				if (nv == NULL)
					return -1;
				vs->v = nv;
				vs->cap = c;
			}
			vs->v[vs->n].id = e[i].vantage;
			vs->v[vs->n].last = INT64_MIN;
			vs->v[vs->n].n = 0;
			vs->n++;
		}
		vs->v[j].n++;
		if (e[i].t > vs->v[j].last)
			vs->v[j].last = e[i].t;
	}
	return 0;
}

/* Each vantage's latest record and destinations, from the summaries. 0, or -1 with err. */
static int
vantages(struct dash *d, struct dash_rep *rep, char *err, size_t errlen)
{
	struct store_snap *sn = NULL;
	struct store_err serr = {0};
	struct vscan vs = {0};
	int rc = -1;

	if (store_snap_open(d->o.store, &sn, &serr) != STORE_OK ||
	    store_snap_dests(sn, NULL, NULL, INT64_MAX, vscan_cb, &vs, &serr) != STORE_OK) {
		util_seterr(err, errlen, "%s", serr.msg[0] ? serr.msg : "out of memory");
		goto out;
	}
	if (vs.n && (rep->vant = calloc(vs.n, sizeof(*rep->vant))) == NULL)
		goto nomem;
	for (size_t i = 0; i < vs.n; i++) {
		const char *node = "?", *label = "";

		store_snap_vantage(sn, vs.v[i].id, &node, &label);
		rep->vant[i].node = strdup(node);
		rep->vant[i].label = strdup(label ? label : "");
		rep->vant[i].last = vs.v[i].last;
		rep->vant[i].dests = vs.v[i].n;
		rep->nvant++;
		if (rep->vant[i].node == NULL || rep->vant[i].label == NULL)
			goto nomem;
	}
	rc = 0;
	goto out;
nomem:
	util_seterr(err, errlen, "out of memory");
out:
	free(vs.v);
	store_snap_close(sn);
	return rc;
}

static void
rep_free(struct dash_rep *rep)
{
	if (rep == NULL)
		return;
	an_report_free(rep->r);
	for (size_t i = 0; i < rep->nvant; i++) {
		free(rep->vant[i].node);
		free(rep->vant[i].label);
	}
	free(rep->vant);
	free(rep);
}

/* Builds the full report and makes it the shared one. 0, or -1 with err. */
static int
rebuild(struct dash *d, size_t nrecords, struct dash_rep **out, char *err, size_t errlen)
{
	struct dash_rep *rep = calloc(1, sizeof(*rep)), *old;

	if (rep == NULL) {
		util_seterr(err, errlen, "out of memory");
		return -1;
	}
	rep->built_mono_us = util_mono_us();
	if (dash_report(d, NULL, INT64_MIN, util_now_us(), &rep->r, err, errlen) != 0 ||
	    vantages(d, rep, err, errlen) != 0) {
		rep_free(rep);
		return -1;
	}
	rep->nrecords = nrecords;
	rep->refs = out ? 2 : 1; /* the cache's, and the caller's */
	pthread_mutex_lock(&d->mu);
	old = d->full;
	d->full = rep;
	if (old != NULL && --old->refs > 0)
		old = NULL;
	pthread_mutex_unlock(&d->mu);
	rep_free(old);
	if (out)
		*out = rep;
	return 0;
}

struct build_arg {
	struct dash *d;
	size_t nrecords;
};

static void *
build_main(void *arg)
{
	struct build_arg *b = arg;
	char err[256];

	/* A failed rebuild keeps the old report; the next stale request tries again. */
	rebuild(b->d, b->nrecords, NULL, err, sizeof(err));
	pthread_mutex_lock(&b->d->mu);
	b->d->building = 0;
	pthread_mutex_unlock(&b->d->mu);
	free(b);
	return NULL;
}

int
dash_rep_get(struct dash *d, struct dash_rep **out, char *err, size_t errlen)
{
	struct store_err serr = {0};
	size_t n = 0;
	int64_t now = util_mono_us();

	if (store_count_records(d->o.store, &n, &serr) != STORE_OK) {
		util_seterr(err, errlen, "%s", serr.msg);
		return -1;
	}
	pthread_mutex_lock(&d->mu);
	if (d->full != NULL) {
		int64_t age = now - d->full->built_mono_us;
		/* The same records: fresh for a minute (verdicts age with time). New records:
		 * fresh for reuse_us. A stale report is still served while one thread builds
		 * the next, so no request waits for a build once the first one is done. */
		int stale = (d->full->nrecords != n && age >= d->o.reuse_us) || age >= 60000000;

		if (stale && !d->building) {
			struct build_arg *b = malloc(sizeof(*b));

			if (d->builder_joinable) {
				pthread_join(d->builder, NULL);
				d->builder_joinable = 0;
			}
			if (b != NULL) {
				b->d = d;
				b->nrecords = n;
				d->building = 1;
				if (pthread_create(&d->builder, NULL, build_main, b) == 0) {
					d->builder_joinable = 1;
				} else {
					d->building = 0;
					free(b);
				}
			}
		}
		d->full->refs++;
		*out = d->full;
		pthread_mutex_unlock(&d->mu);
		return 0;
	}
	pthread_mutex_unlock(&d->mu);
	return rebuild(d, n, out, err, errlen);
}

void
dash_rep_put(struct dash *d, struct dash_rep *rep)
{
	int last;

	if (rep == NULL)
		return;
	pthread_mutex_lock(&d->mu);
	last = --rep->refs == 0;
	pthread_mutex_unlock(&d->mu);
	if (last)
		rep_free(rep);
}

/* ------------------------------------------------------------------ routing */

int
dash_handles(const char *path)
{
	return strcmp(path, "/") == 0 || strcmp(path, "/categories") == 0 ||
	    strcmp(path, "/tables") == 0 || strcmp(path, "/destination") == 0 ||
	    strcmp(path, "/report.json") == 0 || strcmp(path, "/blocklist") == 0 ||
	    strncmp(path, "/threat/", 8) == 0;
}

int
dash_serve(struct dash *d, const struct taxii_http_req *req, struct taxii_http_resp *resp,
    char *err, size_t errlen)
{
	struct dash_req q = {d, req, resp, resp->body, err, errlen};
	const char *p = req->path;
	int rc;

	if (strcmp(p, "/") == 0)
		rc = dash_page_index(&q);
	else if (strncmp(p, "/threat/", 8) == 0 && p[8] != '\0')
		rc = dash_page_threat(&q, p + 8);
	else if (strcmp(p, "/destination") == 0)
		rc = dash_page_destination(&q);
	else if (strcmp(p, "/categories") == 0)
		rc = dash_page_categories(&q);
	else if (strcmp(p, "/tables") == 0)
		rc = dash_page_tables(&q);
	else if (strcmp(p, "/report.json") == 0)
		return dash_feed_report(&q);
	else if (strcmp(p, "/blocklist") == 0)
		return dash_feed_blocklist(&q);
	else
		return dash_plain(&q, 404, "no such page");
	if (rc != 0 && err[0] == '\0')
		util_seterr(err, errlen, "page too large or out of memory");
	return rc;
}
