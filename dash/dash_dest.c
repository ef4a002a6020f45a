/* The pages over the whole report: one destination, the categories scatter, the tables. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dash/dash_int.h"
#include "store/store.h"

#define W 1300.0
#define ML 210.0
#define MR 16.0
#define LANE_BUCKETS 360
#define LATEST_SHOWN 10


/* ------------------------------------------------------------------ one destination */

struct dscan {
	struct store_sum *e;
	size_t n;
	int found;
};

static int
dscan_cb(const char *threat, const char *target, const struct store_sum *e, size_t n,
    void *arg)
{
	struct dscan *ds = arg;

	(void)threat;
	(void)target;
	ds->found = 1;
	if (n == 0)
		return 0;
	if ((ds->e = malloc(n * sizeof(*e))) == NULL)
		return -1;
	memcpy(ds->e, e, n * sizeof(*e));
	ds->n = n;
	return 0;
}

struct latest {
	json_t *rec[LATEST_SHOWN];
	size_t n;
};

static int
latest_cb(int64_t label, const unsigned char *id, const char *json, size_t len, void *arg)
{
	struct latest *l = arg;
	json_t *j = json_loadb(json, len, 0, NULL);

	(void)label;
	(void)id;
	if (j == NULL)
		return 0;
	if (l->n == LATEST_SHOWN) {
		json_decref(l->rec[0]);
		memmove(l->rec, l->rec + 1, (LATEST_SHOWN - 1) * sizeof(json_t *));
		l->n--;
	}
	l->rec[l->n++] = j;
	return 0;
}

static int
cmp_t(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int
cell(struct dash_req *q, const json_t *v)
{
	if (v == NULL || json_is_null(v))
		return dash_put(q, "<td>\xe2\x80\x94</td>");
	if (json_is_string(v))
		return dash_put(q, "<td class=\"t\">") || dash_text(q, json_string_value(v)) ||
		    dash_put(q, "</td>");
	if (json_is_integer(v))
		return dash_putf(q, "<td class=\"n\">%lld</td>", (long long)json_integer_value(v));
	{
		char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		int rc;

		if (s == NULL)
			return -1;
		rc = dash_put(q, "<td class=\"t\">") || dash_text(q, s) || dash_put(q, "</td>");
		free(s);
		return rc;
	}
}

static int
dest_lanes(struct dash_req *q, struct store_snap *sn, const struct dscan *ds)
{
	int64_t t0 = INT64_MAX, t1 = INT64_MIN, span;
	size_t nv = 0;
	double per = 26, top = 6, h;

	for (size_t i = 0; i < ds->n; i++) {
		if (ds->e[i].t < t0)
			t0 = ds->e[i].t;
		if (ds->e[i].t > t1)
			t1 = ds->e[i].t;
		if (i == 0 || ds->e[i].vantage != ds->e[i - 1].vantage)
			nv++;
	}
	span = t1 - t0 + 1;
	h = top + per * (double)nv + 22;
	if (dash_put(q, "<section><h2>Per vantage over time</h2><ul class=\"legend\">"
			"<li><span class=\"sw\" style=\"background:#2ca02c\"></span>2xx</li>"
			"<li><span class=\"sw\" style=\"background:#1f77b4\"></span>3xx</li>"
			"<li><span class=\"sw\" style=\"background:#ff7f0e\"></span>4xx</li>"
			"<li><span class=\"sw\" style=\"background:#d62728\"></span>5xx</li>"
			"<li><span class=\"sw\" style=\"background:#9aa0a6\"></span>no answer</li>"
			"<li>lanes that disagree at one time: cloaking</li></ul>") ||
	    dash_putf(q, "<div class=\"scroll\"><svg viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
			 "aria-label=\"one lane per vantage\">", W, h))
		return -1;
	for (int k = 0; k <= 6; k++) {
		char t[32];
		double x = ML + (W - ML - MR) * k / 6.0;

		dash_time(t0 + span / 6 * k, t);
		if (dash_putf(q, "<line class=\"gr\" x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.1f\"/>"
				 "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">%s</text>", x, top, x,
			top + per * (double)nv, x, top + per * (double)nv + 14,
			k == 0 ? "start" : k == 6 ? "end" : "middle", t))
			return -1;
	}
	for (size_t i = 0, v = 0; i < ds->n; v++) {
		size_t j = i;
		const char *node = "?", *label = "";
		double y = top + per * (double)v + per / 2;
		int bst[LANE_BUCKETS];

		while (j < ds->n && ds->e[j].vantage == ds->e[i].vantage)
			j++;
		store_snap_vantage(sn, ds->e[i].vantage, &node, &label);
		for (int b = 0; b < LANE_BUCKETS; b++)
			bst[b] = -2;
		for (size_t k = i; k < j; k++) {
			int b = (int)((double)(ds->e[k].t - t0) / (double)span * LANE_BUCKETS);

			if (ds->e[k].status != STORE_SUM_NOT_RUN && b >= 0 && b < LANE_BUCKETS)
				bst[b] = ds->e[k].status == STORE_SUM_UNANSWERED ? -1 : ds->e[k].status;
		}
		if (dash_putf(q, "<text x=\"4\" y=\"%.1f\">", y + 4) || dash_text(q, node) ||
		    dash_put(q, "/") || dash_text(q, label) || dash_put(q, "</text>"))
			return -1;
		for (int b = 0; b < LANE_BUCKETS;) {
			int e = b, st = bst[b];
			char s0[32], s1[32], nm[16];

			while (e < LANE_BUCKETS && bst[e] == st)
				e++;
			if (st != -2) {
				double x0 = ML + (W - ML - MR) * b / LANE_BUCKETS;
				double x1 = ML + (W - ML - MR) * e / LANE_BUCKETS;

				dash_time(t0 + (int64_t)((double)span * b / LANE_BUCKETS), s0);
				dash_time(t0 + (int64_t)((double)span * e / LANE_BUCKETS), s1);
				dash_status_name(st, nm);
				if (dash_putf(q, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"14\" "
						 "fill=\"%s\"><title>", x0, y - 7, x1 - x0 + 0.3,
					dash_status_color(st)) ||
				    dash_text(q, node) || dash_put(q, "/") || dash_text(q, label) ||
				    dash_putf(q, ": %s, %s to %s UTC</title></rect>", nm, s0, s1))
					return -1;
			}
			b = e;
		}
		i = j;
	}
	return dash_put(q, "</svg></div></section>");
}

int
dash_page_destination(struct dash_req *q)
{
	const char *threat = taxii_http_arg(q->req, "threat");
	const char *target = taxii_http_arg(q->req, "target");
	struct store_snap *sn = NULL;
	struct store_err serr = {0};
	struct dscan ds = {0};
	struct latest lt = {{0}, 0};
	struct an_report *r = NULL;
	const struct an_dest *dd = NULL;
	int64_t *times = NULL, since = INT64_MIN;
	size_t nchanges = 0;
	int rc = -1;

	if (threat == NULL || target == NULL || !threat[0] || !target[0])
		return dash_plain(q, 400, "threat and target are required");
	if (strlen(threat) > STORE_THREAT_ID_MAX)
		return dash_plain(q, 404, "no such destination");
	if (store_snap_open(q->d->o.store, &sn, &serr) != STORE_OK ||
	    store_snap_dests(sn, threat, target, INT64_MAX, dscan_cb, &ds, &serr) != STORE_OK) {
		util_seterr(q->err, q->errlen, "%s", serr.msg[0] ? serr.msg : "out of memory");
		goto out;
	}
	if (!ds.found || ds.n == 0) {
		rc = dash_plain(q, 404, "no such destination");
		goto out;
	}
	if (dash_report(q->d, threat, INT64_MIN, util_now_us(), &r, q->err, q->errlen) != 0)
		goto out;
	for (size_t i = 0; i < r->ndests; i++)
		if (strcmp(r->dests[i].target, target) == 0)
			dd = &r->dests[i];
	/* The latest records: from the time of the tenth-latest entry on. */
	if ((times = malloc(ds.n * sizeof(*times))) == NULL)
		goto out;
	for (size_t i = 0; i < ds.n; i++)
		times[i] = ds.e[i].t;
	qsort(times, ds.n, sizeof(*times), cmp_t);
	since = times[ds.n > LATEST_SHOWN ? ds.n - LATEST_SHOWN : 0];
	if (store_scan_obs(q->d->o.store, threat, target, since, INT64_MAX, latest_cb, &lt,
	    &serr) != STORE_OK) {
		util_seterr(q->err, q->errlen, "%s", serr.msg);
		goto out;
	}
	if (dash_page_headers(q, 0, "text/html; charset=utf-8") || dash_head(q, target) ||
	    dash_put(q, "<h1>") || dash_text(q, target) || dash_put(q, "</h1><p>threat ID <a href=\"/threat/") ||
	    dash_url(q, threat) || dash_put(q, "\">") || dash_text(q, threat) ||
	    dash_putf(q, "</a> \xc2\xb7 %zu records</p>", ds.n))
		goto out;
	if (dd != NULL) {
		char la[32], lp[32], xr[32], yr[32];

		dash_time(dd->last_answered, la);
		dash_time(dd->last_ping_reply, lp);
		an_num(dd->mean_change_ratio, xr);
		an_num(dd->inactive_ratio, yr);
		if (dash_putf(q, "<section><h2>Verdict: <span class=\"v-%s\">%s</span></h2><p>",
			an_verdict_name(dd->verdict), an_verdict_name(dd->verdict)) ||
		    dash_text(q, dd->evidence) ||
		    dash_putf(q, "</p><table><tr><th>category</th><td>%s</td></tr>"
				 "<tr><th>inactive ratio (y)</th><td>%s</td></tr>"
				 "<tr><th>mean change ratio (x)</th><td>%s</td></tr>"
				 "<tr><th>observations</th><td>%zu (%zu answered, %zu unanswered)</td></tr>"
				 "<tr><th>last answer</th><td>%s</td></tr>"
				 "<tr><th>last ping reply</th><td>%s</td></tr>"
				 "<tr><th>cloaking</th><td>%zu of %zu compared pairs disagree%s</td></tr>"
				 "<tr><th>unverified records</th><td>%zu</td></tr><tr><th>nodes</th><td>",
			dd->category, yr, xr, dd->observations, dd->answered, dd->unanswered, la, lp,
			dd->cloaking_pairs, dd->cloaking_compared,
			dd->cloaking_suspect ? " (suspect)" : "", dd->unverified))
			goto out;
		for (size_t i = 0; i < dd->nnodes; i++)
			if ((i && dash_put(q, ", ")) || dash_text(q, dd->nodes[i]))
				goto out;
		if (dash_put(q, "</td></tr></table></section>"))
			goto out;
	}
	if (dest_lanes(q, sn, &ds))
		goto out;
	if (dash_put(q, "<section><h2>Content changes</h2><div class=\"scroll\"><table><tr>"
			"<th>time</th><th>vantage</th><th>status</th><th class=\"n\">change ratio</th>"
			"<th>new SHA-256</th></tr>"))
		goto out;
	for (size_t i = 0; i < ds.n; i++) {
		const struct store_sum *e = &ds.e[i];
		const char *node = "?", *label = "", *ssd = NULL;
		unsigned char sha[32];
		char t[32], hex[65] = "", ratio[32];

		if (e->score == STORE_SUM_NO_SCORE)
			continue;
		nchanges++;
		store_snap_vantage(sn, e->vantage, &node, &label);
		if (e->content && store_snap_content(sn, e->content, sha, &ssd) == STORE_OK)
			util_hex(sha, 32, hex);
		dash_time(e->t, t);
		an_num(1.0 - e->score / 100.0, ratio);
		if (dash_putf(q, "<tr><td>%s</td><td>", t) || dash_text(q, node) ||
		    dash_put(q, "/") || dash_text(q, label) ||
		    dash_putf(q, "</td><td>%u</td><td class=\"n\">%s</td><td class=\"t\"><code>%s"
				 "</code></td></tr>", e->status, ratio, hex))
			goto out;
	}
	if (nchanges == 0 && dash_put(q, "<tr><td colspan=\"5\">no content change</td></tr>"))
		goto out;
	if (dash_put(q, "</table></div></section><section><h2>Latest records</h2>"
			"<div class=\"scroll\"><table><tr><th>observed</th><th>node</th><th>vantage</th>"
			"<th>status</th><th>reason</th><th>server</th><th>content type</th>"
			"<th>location</th><th>ping loss %</th><th>error</th></tr>"))
		goto out;
	for (size_t k = lt.n; k-- > 0;) {
		json_t *j = lt.rec[k], *http = json_object_get(j, "http");
		json_t *ping = json_object_get(j, "ping"), *err = json_object_get(j, "error");

		if (dash_put(q, "<tr>") || cell(q, json_object_get(j, "observed_at")) ||
		    cell(q, json_object_get(j, "node")) || cell(q, json_object_get(j, "vantage")) ||
		    cell(q, json_object_get(http, "status")) || cell(q, json_object_get(http, "reason")) ||
		    cell(q, json_object_get(http, "server")) ||
		    cell(q, json_object_get(http, "content_type")) ||
		    cell(q, json_object_get(http, "location")) ||
		    cell(q, json_object_get(ping, "loss_pct")) ||
		    cell(q, json_is_object(err) ? json_object_get(err, "kind") : err) ||
		    dash_put(q, "</tr>"))
			goto out;
	}
	if (dash_put(q, "</table></div></section>") || dash_foot(q))
		goto out;
	rc = 0;
out:
	for (size_t i = 0; i < lt.n; i++)
		json_decref(lt.rec[i]);
	free(times);
	free(ds.e);
	store_snap_close(sn);
	an_report_free(r);
	if (rc != 0 && q->err[0] == '\0')
		util_seterr(q->err, q->errlen, "page too large or out of memory");
	return rc;
}

/* ------------------------------------------------------------------ categories */

int
dash_page_categories(struct dash_req *q)
{
	struct dash_rep *rep = NULL;
	const struct an_report *r;
	double S = 560, L = 60, T = 16;
	int rc = -1;

	if (dash_rep_get(q->d, &rep, q->err, q->errlen) != 0)
		return -1;
	r = rep->r;
	if (dash_page_headers(q, 0, "text/html; charset=utf-8") || dash_head(q, "Categories") ||
	    dash_putf(q, "<h1>Categories</h1><section><p class=\"muted\">x: mean change ratio of "
			 "a destination's content changes (0 without one); y: inactive ratio "
			 "(unanswered / tried). %zu destinations.</p><ul class=\"legend\">", r->ndests))
		goto out;
	for (int i = 0; i < DASH_NCATS; i++)
		if (dash_putf(q, "<li><span class=\"sw\" style=\"background:%s\"></span>%s</li>",
			dash_cat_colors[i], dash_cat_names[i]))
			goto out;
	if (dash_putf(q, "</ul><svg viewBox=\"0 0 %.0f %.0f\" style=\"max-width:760px\" "
			 "role=\"img\" aria-label=\"categories scatter\">", S + L + 20, S + T + 44))
		goto out;
	/* The five regions: y < 0.5 is up (x = 0 unchanged), y >= 0.5 down. */
	if (dash_putf(q,
		"<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"%s\" opacity=\".10\"/>"
		"<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"%s\" opacity=\".10\"/>"
		"<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"%s\" opacity=\".10\"/>"
		"<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"%s\" opacity=\".10\"/>"
		"<rect x=\"%.0f\" y=\"%.0f\" width=\"6\" height=\"%.0f\" fill=\"%s\" opacity=\".35\"/>",
		L, T, S / 2, S / 2, dash_cat_colors[3], L + S / 2, T, S / 2, S / 2, dash_cat_colors[4],
		L, T + S / 2, S / 2, S / 2, dash_cat_colors[1], L + S / 2, T + S / 2, S / 2, S / 2,
		dash_cat_colors[2], L - 3, T + S / 2, S / 2, dash_cat_colors[0]))
		goto out;
	if (dash_putf(q, "<text x=\"%.0f\" y=\"%.0f\">down-single-content</text>"
			 "<text x=\"%.0f\" y=\"%.0f\">down-large-change</text>"
			 "<text x=\"%.0f\" y=\"%.0f\">up-small-change</text>"
			 "<text x=\"%.0f\" y=\"%.0f\">up-large-change</text>"
			 "<text x=\"%.0f\" y=\"%.0f\">up-unchanged (x = 0)</text>",
		L + 8, T + 14, L + S / 2 + 8, T + 14, L + 12, T + S / 2 + 14, L + S / 2 + 8,
		T + S / 2 + 14, L + 8, T + S - 6))
		goto out;
	for (int k = 0; k <= 4; k++) {
		double f = k / 4.0;

		if (dash_putf(q, "<line class=\"ax\" x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\"/>"
				 "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%.2f</text>"
				 "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%.2f</text>",
			L - 4, T + S * (1 - f), L, T + S * (1 - f), L - 6, T + S * (1 - f) + 4, f,
			L + S * f, T + S + 16, f))
			goto out;
	}
	if (dash_putf(q, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" "
			 "stroke=\"#999\"/><text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">mean "
			 "change ratio x</text><text x=\"14\" y=\"%.0f\" transform=\"rotate(-90 14 %.0f)\" "
			 "text-anchor=\"middle\">inactive ratio y</text>", L, T, S, S, L + S / 2,
		T + S + 36, T + S / 2, T + S / 2))
		goto out;
	for (size_t i = 0; i < r->ndests; i++) {
		const struct an_dest *d = &r->dests[i];
		double x = L + S * d->mean_change_ratio, y = T + S * (1 - d->inactive_ratio);
		char xr[32], yr[32];

		an_num(d->mean_change_ratio, xr);
		an_num(d->inactive_ratio, yr);
		if (dash_dest_link(q, d->threat_id, d->target) ||
		    dash_putf(q, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" fill=\"%s\" "
				 "fill-opacity=\".75\" stroke=\"#fff\"><title>", x, y,
			dash_cat_colors[dash_cat_index(d->category)]) ||
		    dash_text(q, d->target) || dash_put(q, " (") || dash_text(q, d->threat_id) ||
		    dash_putf(q, ")\n%s: x %s, y %s, %s</title></circle></a>", d->category, xr, yr,
			an_verdict_name(d->verdict)))
			goto out;
	}
	if (dash_put(q, "</svg></section><section><h2>Destinations</h2><div class=\"scroll\">"
			"<table><tr><th>destination</th><th>threat ID</th><th>category</th>"
			"<th class=\"n\">x</th><th class=\"n\">y</th><th>verdict</th></tr>"))
		goto out;
	for (size_t i = 0; i < r->ndests; i++) {
		const struct an_dest *d = &r->dests[i];
		char xr[32], yr[32];

		an_num(d->mean_change_ratio, xr);
		an_num(d->inactive_ratio, yr);
		if (dash_put(q, "<tr><td class=\"t\">") || dash_dest_link(q, d->threat_id, d->target) ||
		    dash_text(q, d->target) || dash_put(q, "</a></td><td class=\"t\">") ||
		    dash_text(q, d->threat_id) ||
		    dash_putf(q, "</td><td>%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
				 "<td class=\"v-%s\">%s</td></tr>", d->category, xr, yr,
			an_verdict_name(d->verdict), an_verdict_name(d->verdict)))
			goto out;
	}
	if (dash_put(q, "</table></div></section>") || dash_foot(q))
		goto out;
	rc = 0;
out:
	dash_rep_put(q->d, rep);
	return rc;
}

/* ------------------------------------------------------------------ tables */

int
dash_page_tables(struct dash_req *q)
{
	struct dash_rep *rep = NULL;
	const struct an_report *r;
	int rc = -1;

	if (dash_rep_get(q->d, &rep, q->err, q->errlen) != 0)
		return -1;
	r = rep->r;
	if (dash_page_headers(q, 0, "text/html; charset=utf-8") || dash_head(q, "Tables") ||
	    dash_putf(q, "<h1>Tables</h1><p class=\"muted\">%zu records.</p><div class=\"grid\">"
			 "<section><h2>Status share</h2><table><tr><th>status</th>"
			 "<th class=\"n\">count</th><th class=\"n\">share</th></tr>", r->records))
		goto out;
	for (size_t i = 0; i < r->nstatus; i++) {
		char nm[16];

		dash_status_name(r->status[i].status, nm);
		if (dash_putf(q, "<tr><td><span class=\"sw\" style=\"background:%s\"></span>%s</td>"
				 "<td class=\"n\">%zu</td><td class=\"n\">%.1f%%</td></tr>",
			dash_status_color(r->status[i].status), nm, r->status[i].count, r->status[i].pct))
			goto out;
	}
	if (dash_put(q, "</table></section><section><h2>Transitions</h2><table><tr><th>from</th>"
			"<th>to</th><th class=\"n\">count</th></tr>"))
		goto out;
	for (size_t i = 0; i < r->ntransitions; i++) {
		char a[16], b[16];

		dash_status_name(r->transitions[i].from, a);
		dash_status_name(r->transitions[i].to, b);
		if (dash_putf(q, "<tr><td>%s</td><td>%s</td><td class=\"n\">%zu</td></tr>", a, b,
			r->transitions[i].count))
			goto out;
	}
	if (dash_put(q, "</table></section></div><section><h2>Shared content</h2>"
			"<div class=\"scroll\"><table><tr><th>body SHA-256</th>"
			"<th class=\"n\">destinations</th><th>threat IDs</th></tr>"))
		goto out;
	for (size_t i = 0; i < r->nshared; i++) {
		char hex[65];

		util_hex(r->shared[i].sha256, 32, hex);
		if (dash_putf(q, "<tr><td class=\"t\"><code>%s</code></td><td class=\"n\">%zu</td>"
				 "<td class=\"t\">", hex, r->shared[i].destinations))
			goto out;
		for (size_t k = 0; k < r->shared[i].nthreat_ids; k++)
			if ((k && dash_put(q, ", ")) || dash_put(q, "<a href=\"/threat/") ||
			    dash_url(q, r->shared[i].threat_ids[k]) || dash_put(q, "\">") ||
			    dash_text(q, r->shared[i].threat_ids[k]) || dash_put(q, "</a>"))
				goto out;
		if (dash_put(q, "</td></tr>"))
			goto out;
	}
	if (r->nshared == 0 && dash_put(q, "<tr><td colspan=\"3\">none</td></tr>"))
		goto out;
	if (dash_put(q, "</table></div></section><section><h2>Monthly response rate</h2>"
			"<div class=\"scroll\"><table><tr><th>threat ID</th><th>month</th>"
			"<th class=\"n\">observations</th><th class=\"n\">answered</th>"
			"<th class=\"n\">response rate</th><th class=\"n\">ping/HTTP phi</th></tr>"))
		goto out;
	for (size_t i = 0; i < r->nmonths; i++) {
		const struct an_month *m = &r->months[i];
		char mm[16];

		snprintf(mm, sizeof(mm), "%04d-%02d", m->year, m->month);
		if (dash_put(q, "<tr><td class=\"t\"><a href=\"/threat/") || dash_url(q, m->threat_id) ||
		    dash_putf(q, "?month=%s\">", mm) || dash_text(q, m->threat_id) ||
		    dash_putf(q, "</a></td><td>%s</td><td class=\"n\">%zu</td><td class=\"n\">%zu</td>"
				 "<td class=\"n\">%.1f%%</td><td class=\"n\">", mm, m->observations,
			m->answered, m->response_rate_pct) ||
		    (m->has_phi ? dash_putf(q, "%.3f", m->phi) : dash_put(q, "\xe2\x80\x94")) ||
		    dash_put(q, "</td></tr>"))
			goto out;
	}
	if (dash_put(q, "</table></div></section>") || dash_foot(q))
		goto out;
	rc = 0;
out:
	dash_rep_put(q->d, rep);
	return rc;
}
