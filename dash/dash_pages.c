/*
 * The pages: overview, a threat ID's month, one destination, the categories scatter and
 * the tables. Charts are SVG drawn here, every point and lane with a <title> tooltip and
 * a link to its destination; every table reads in a text browser.
 */
#include "config.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dash/dash_int.h"
#include "store/store.h"

/* The five categories in the order the design lists them, and the colour each is drawn
 * in on every page. */
const char *const dash_cat_names[DASH_NCATS] = {"up-unchanged", "up-small-change",
    "up-large-change", "down-single-content", "down-large-change"};
const char *const dash_cat_colors[DASH_NCATS] = {"#2ca02c", "#17becf", "#1f77b4", "#9467bd",
    "#d62728"};

int
dash_cat_index(const char *c)
{
	for (int i = 0; i < DASH_NCATS; i++)
		if (c && strcmp(c, dash_cat_names[i]) == 0)
			return i;
	return 0;
}

#define W 1300.0      /* SVG user units across; the page scales it to its width */
#define ML 64.0       /* left margin (axis labels) */
#define MR 16.0
#define CYCLE_US (4 * 3600 * INT64_C(1000000))

static const char *
arg(struct dash_req *q, const char *name)
{
	const char *v = taxii_http_arg(q->req, name);

	return v && v[0] ? v : NULL;
}

static int
fail_store(struct dash_req *q, const struct store_err *e)
{
	util_seterr(q->err, q->errlen, "%s", e->msg);
	return -1;
}

static void
month_of(int64_t us, char buf[16])
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, 16, "%Y-%m", &tm) == 0)
		snprintf(buf, 16, "1970-01");
}


static int
pct(struct dash_req *q, double v)
{
	return dash_putf(q, "%.1f%%", v);
}

/* ------------------------------------------------------------------ overview */

#define EVENTS_SHOWN 20

struct evring {
	char *ev[EVENTS_SHOWN];
	size_t n, next;
};

static int
ev_cb(int64_t label, const unsigned char *id, const char *json, size_t len, void *arg)
{
	struct evring *r = arg;
	char *c = malloc(len + 1);

	(void)label;
	(void)id;
	if (c == NULL)
		return -1;
	memcpy(c, json, len);
	c[len] = '\0';
	free(r->ev[r->next]);
	r->ev[r->next] = c;
	r->next = (r->next + 1) % EVENTS_SHOWN;
	if (r->n < EVENTS_SHOWN)
		r->n++;
	return 0;
}

/* A JSON scalar (status, sha256, null) as text. */
static int
json_value_text(struct dash_req *q, const json_t *v)
{
	char *s;
	int rc;

	if (v == NULL || json_is_null(v))
		return dash_put(q, "\xe2\x80\x94");
	if (json_is_string(v))
		return dash_text(q, json_string_value(v));
	if ((s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT)) == NULL)
		return -1;
	rc = dash_text(q, s);
	free(s);
	return rc;
}

static int
events_table(struct dash_req *q)
{
	struct evring ring;
	struct store_err serr = {0};
	int rc = -1;

	memset(&ring, 0, sizeof(ring));
	if (store_scan_events(q->d->o.store, INT64_MIN, INT64_MAX, ev_cb, &ring, &serr) !=
	    STORE_OK) {
		rc = fail_store(q, &serr);
		goto out;
	}
	if (dash_put(q, "<section><h2>Latest change events</h2>") != 0)
		goto out;
	if (ring.n == 0) {
		rc = dash_put(q, "<p class=\"muted\">None yet: events are made as this node "
				 "observes (woke up, went down, new status, new content).</p></section>");
		goto out;
	}
	if (dash_put(q, "<div class=\"scroll\"><table><tr><th>time</th><th>event</th>"
			"<th>destination</th><th>from</th><th>to</th><th>node</th></tr>") != 0)
		goto out;
	for (size_t k = 0; k < ring.n; k++) {
		size_t i = (ring.next + EVENTS_SHOWN - 1 - k) % EVENTS_SHOWN;
		json_t *e = json_loads(ring.ev[i], 0, NULL);
		const char *kind, *th, *tg, *tm, *nd;
		static const char *const words[][2] = {{"up", "woke up"}, {"down", "went down"},
		    {"status", "new status"}, {"content", "new content"}};
		const char *word;

		if (e == NULL)
			continue;
		kind = json_string_value(json_object_get(e, "kind"));
		th = json_string_value(json_object_get(e, "threat_id"));
		tg = json_string_value(json_object_get(e, "target"));
		tm = json_string_value(json_object_get(e, "time"));
		nd = json_string_value(json_object_get(e, "node"));
		word = kind;
		for (size_t w = 0; w < 4; w++)
			if (kind && strcmp(kind, words[w][0]) == 0)
				word = words[w][1];
		if (dash_put(q, "<tr><td>") || dash_text(q, tm) || dash_put(q, "</td><td>") ||
		    dash_text(q, word) || dash_put(q, "</td><td class=\"t\">") ||
		    (th && tg ? dash_dest_link(q, th, tg) || dash_text(q, tg) ||
			dash_put(q, "</a> <span class=\"muted\">") || dash_text(q, th) ||
			dash_put(q, "</span>") : 0) ||
		    dash_put(q, "</td><td>") || json_value_text(q, json_object_get(e, "from")) ||
		    dash_put(q, "</td><td>") || json_value_text(q, json_object_get(e, "to")) ||
		    dash_put(q, "</td><td>") || dash_text(q, nd) || dash_put(q, "</td></tr>")) {
			json_decref(e);
			goto out;
		}
		json_decref(e);
	}
	rc = dash_put(q, "</table></div></section>");
out:
	for (size_t i = 0; i < EVENTS_SHOWN; i++)
		free(ring.ev[i]);
	return rc;
}

static int
vantages_table(struct dash_req *q, const struct dash_rep *rep)
{
	if (dash_put(q, "<section><h2>Vantages</h2><div class=\"scroll\"><table><tr>"
			"<th>node</th><th>vantage</th><th>latest record</th>"
			"<th class=\"n\">destinations</th></tr>"))
		return -1;
	for (size_t i = 0; i < rep->nvant; i++) {
		char t[32];

		dash_time(rep->vant[i].last, t);
		if (dash_put(q, "<tr><td>") || dash_text(q, rep->vant[i].node) ||
		    dash_put(q, "</td><td>") || dash_text(q, rep->vant[i].label) ||
		    dash_putf(q, "</td><td>%s</td><td class=\"n\">%zu</td></tr>", t,
			rep->vant[i].dests))
			return -1;
	}
	if (rep->nvant == 0 && dash_put(q, "<tr><td colspan=\"4\">no records yet</td></tr>"))
		return -1;
	return dash_put(q, "</table></div></section>");
}

static int
peers_table(struct dash_req *q)
{
	struct dash *d = q->d;

	if (dash_put(q, "<section><h2>Peers</h2>"))
		return -1;
	if (d->o.npeers == 0)
		return dash_put(q, "<p class=\"muted\">No [peer] configured.</p></section>");
	if (dash_put(q, "<div class=\"scroll\"><table><tr><th>peer</th>"
			"<th>delivered up to (its label)</th></tr>"))
		return -1;
	for (size_t i = 0; i < d->o.npeers; i++) {
		struct store_err serr = {0};
		int64_t label = 0;
		char t[32];
		int rc = store_get_cursor(d->o.store, d->peers[i], &label, &serr);

		if (rc == STORE_ERR)
			return fail_store(q, &serr);
		if (rc == STORE_NOTFOUND)
			snprintf(t, sizeof(t), "never polled");
		else
			dash_time(label, t);
		if (dash_put(q, "<tr><td>") || dash_text(q, d->peers[i]) ||
		    dash_putf(q, "</td><td>%s</td></tr>", t))
			return -1;
	}
	return dash_put(q, "</table></div></section>");
}

int
dash_page_index(struct dash_req *q)
{
	struct dash_rep *rep = NULL;
	const struct an_report *r;
	size_t verd[3] = {0}, cats[DASH_NCATS] = {0};
	char mon[16], t[32];
	int rc = -1;

	if (dash_rep_get(q->d, &rep, q->err, q->errlen) != 0)
		return -1;
	r = rep->r;
	for (size_t i = 0; i < r->ndests; i++) {
		enum an_verdict v = r->dests[i].verdict;

		verd[v == AN_KEEP ? 0 : v == AN_SINKHOLED ? 1 : 2]++;
		cats[dash_cat_index(r->dests[i].category)]++;
	}
	month_of(r->to_us, mon);
	dash_time(r->to_us, t);
	if (dash_page_headers(q, 0, "text/html; charset=utf-8") || dash_head(q, "Overview") ||
	    dash_putf(q, "<h1>Overview</h1><p class=\"muted\">%zu records, %zu destinations, "
			 "as of %s UTC.</p><div class=\"grid\"><section><h2>Verdicts</h2>"
			 "<table><tr><th>verdict</th><th class=\"n\">destinations</th></tr>",
		r->records, r->ndests, t))
		goto out;
	for (int i = 0; i < 3; i++) {
		static const char *const vn[3] = {"keep", "sinkholed", "remove-candidate"};

		if (dash_putf(q, "<tr><td class=\"v-%s\">%s</td><td class=\"n big\">%zu</td></tr>",
			vn[i], vn[i], verd[i]))
			goto out;
	}
	if (dash_put(q, "</table><p><a href=\"/blocklist?style=plain\">blocklist (keep)</a> \xc2\xb7 "
			"<a href=\"/blocklist?style=csv&amp;verdict=keep,sinkholed,remove-candidate\">"
			"every verdict (CSV)</a></p></section><section><h2>Categories</h2><table>"
			"<tr><th>category</th><th class=\"n\">destinations</th></tr>"))
		goto out;
	for (int i = 0; i < DASH_NCATS; i++)
		if (dash_putf(q, "<tr><td><span class=\"sw\" style=\"background:%s\"></span>%s</td>"
				 "<td class=\"n big\">%zu</td></tr>", dash_cat_colors[i], dash_cat_names[i], cats[i]))
			goto out;
	if (dash_putf(q, "</table><p><a href=\"/categories\">the scatter</a></p></section></div>"
			 "<section><h2>Threat IDs this month (%s)</h2><div class=\"scroll\"><table>"
			 "<tr><th>threat ID</th><th class=\"n\">destinations</th>"
			 "<th class=\"n\">observations</th><th class=\"n\">response rate</th>"
			 "<th class=\"n\">ping/HTTP phi</th></tr>", mon))
		goto out;
	for (size_t i = 0; i < r->ndests;) {
		const char *th = r->dests[i].threat_id;
		size_t j = i;
		const struct an_month *m = NULL;

		while (j < r->ndests && strcmp(r->dests[j].threat_id, th) == 0)
			j++;
		for (size_t k = 0; k < r->nmonths; k++) {
			char mm[16];

			snprintf(mm, sizeof(mm), "%04d-%02d", r->months[k].year, r->months[k].month);
			if (strcmp(r->months[k].threat_id, th) == 0 && strcmp(mm, mon) == 0)
				m = &r->months[k];
		}
		if (dash_put(q, "<tr><td class=\"t\"><a href=\"/threat/") || dash_url(q, th) ||
		    dash_putf(q, "?month=%s\">", mon) || dash_text(q, th) ||
		    dash_putf(q, "</a></td><td class=\"n\">%zu</td>", j - i))
			goto out;
		if (m == NULL) {
			if (dash_put(q, "<td class=\"n\">0</td><td class=\"n\">\xe2\x80\x94</td>"
					"<td class=\"n\">\xe2\x80\x94</td></tr>"))
				goto out;
		} else if (dash_putf(q, "<td class=\"n\">%zu</td><td class=\"n\">", m->observations) ||
		    pct(q, m->response_rate_pct) || dash_put(q, "</td><td class=\"n\">") ||
		    (m->has_phi ? dash_putf(q, "%.3f", m->phi) : dash_put(q, "\xe2\x80\x94")) ||
		    dash_put(q, "</td></tr>")) {
			goto out;
		}
		i = j;
	}
	if (dash_put(q, "</table></div></section>") || events_table(q) || vantages_table(q, rep) ||
	    peers_table(q) || dash_foot(q))
		goto out;
	rc = 0;
out:
	dash_rep_put(q->d, rep);
	return rc;
}

/* ------------------------------------------------------------------ a threat's month */

struct bucket {
	int16_t status;  /* latest ran status in the bucket; -2: none */
	uint8_t http;    /* 0 nothing ran, 1 tried without answer, 2 answered */
	uint8_t ping;    /* 0 not run, 1 no reply, 2 reply */
	uint8_t robots;  /* 0 unknown, 1 absent, 2 present */
	uint16_t sent, recv;
};

struct tdest {
	char *target;
	struct bucket *b;
};

struct tscan {
	int64_t from, to;
	size_t nb;
	struct tdest *d;
	size_t n, cap;
	int oom;
};

static int
tscan_cb(const char *threat, const char *target, const struct store_sum *e, size_t n,
    void *arg)
{
	struct tscan *ts = arg;
	struct tdest *td;
	int64_t *lastt;

	(void)threat;
	if (ts->n == ts->cap) {
		size_t c = ts->cap ? ts->cap * 2 : 32;
		struct tdest *nd = realloc(ts->d, c * sizeof(*nd));

		if (nd == NULL)
			return ts->oom = 1, -1;
		ts->d = nd;
		ts->cap = c;
	}
	td = &ts->d[ts->n];
	td->target = strdup(target);
	td->b = calloc(ts->nb, sizeof(struct bucket));
	lastt = calloc(ts->nb, sizeof(int64_t));
	if (td->target == NULL || td->b == NULL || lastt == NULL) {
		free(td->target);
		free(td->b);
		free(lastt);
		return ts->oom = 1, -1;
	}
	ts->n++;
	for (size_t i = 0; i < ts->nb; i++)
		td->b[i].status = -2;
	for (size_t i = 0; i < n; i++) {
		struct bucket *b;
		size_t k;

		if (e[i].t < ts->from || e[i].t >= ts->to)
			continue;
		k = (size_t)((e[i].t - ts->from) / CYCLE_US);
		if (k >= ts->nb)
			continue;
		b = &td->b[k];
		if (e[i].status != STORE_SUM_NOT_RUN) {
			if (e[i].status == STORE_SUM_UNANSWERED) {
				if (b->http < 1)
					b->http = 1;
			} else {
				b->http = 2;
			}
			if (b->status == -2 || e[i].t >= lastt[k]) {
				b->status = (int16_t)(e[i].status == STORE_SUM_UNANSWERED ? -1 :
				    e[i].status);
				lastt[k] = e[i].t;
			}
		}
		if (e[i].flags & STORE_SUM_PING) {
			b->sent = (uint16_t)(b->sent + e[i].ping_sent);
			b->recv = (uint16_t)(b->recv + e[i].ping_recv);
			b->ping = e[i].ping_recv > 0 ? 2 : (b->ping < 1 ? 1 : b->ping);
		}
	}
	free(lastt);
	return 0;
}

/* robots.present of the month's records, read in place (the summaries do not keep it). */
struct rscan {
	struct tscan *ts;
	size_t cur;
};

static int
robots_cb(int64_t label, const unsigned char *id, const char *json, size_t len, void *arg)
{
	struct rscan *rs = arg;
	struct tscan *ts = rs->ts;
	const char *end = json + len, *v, *ve, *tg, *te, *in, *at;
	size_t inlen, atlen;
	int64_t t;
	char tbuf[40];
	struct bucket *b;

	(void)label;
	(void)id;
	if (util_jscan_get(json, end, "target", &tg, &te) != 1 ||
	    util_jscan_get(tg, te, "input", &v, &ve) != 1 || util_jscan_str(v, ve, &in, &inlen) != 1)
		return 0;
	if (rs->cur >= ts->n || strlen(ts->d[rs->cur].target) != inlen ||
	    memcmp(ts->d[rs->cur].target, in, inlen) != 0) {
		size_t k;

		for (k = 0; k < ts->n; k++)
			if (strlen(ts->d[k].target) == inlen && memcmp(ts->d[k].target, in, inlen) == 0)
				break;
		if (k == ts->n)
			return 0;
		rs->cur = k;
	}
	if (util_jscan_get(json, end, "observed_at", &v, &ve) != 1 ||
	    util_jscan_str(v, ve, &at, &atlen) != 1 || atlen >= sizeof(tbuf))
		return 0;
	memcpy(tbuf, at, atlen);
	tbuf[atlen] = '\0';
	if (util_time_parse(tbuf, &t) != 0 || t < ts->from || t >= ts->to)
		return 0;
	b = &ts->d[rs->cur].b[(size_t)((t - ts->from) / CYCLE_US) % ts->nb];
	if (util_jscan_get(json, end, "robots", &tg, &te) != 1 ||
	    util_jscan_get(tg, te, "present", &v, &ve) != 1)
		return 0;
	if (ve - v == 4 && memcmp(v, "true", 4) == 0)
		b->robots = 2;
	else if (ve - v == 5 && memcmp(v, "false", 5) == 0 && b->robots < 1)
		b->robots = 1;
	return 0;
}

static double
xpos(const struct tscan *ts, size_t k)
{
	return ML + (W - ML - MR) * ((double)k + 0.5) / (double)ts->nb;
}

static int
time_axis(struct dash_req *q, const struct tscan *ts, double y0, double y1)
{
	/* A grid line and a date every few days. */
	size_t step = ts->nb > 120 ? 6 * 5 : 6;

	for (size_t k = 0; k < ts->nb; k += step) {
		char t[32];
		double x = ML + (W - ML - MR) * (double)k / (double)ts->nb;

		dash_time(ts->from + (int64_t)k * CYCLE_US, t);
		t[10] = '\0';
		if (dash_putf(q, "<line class=\"gr\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
				 "<text x=\"%.1f\" y=\"%.1f\">%s</text>", x, y0, x, y1, x + 2, y1 + 13,
			t + 5))
			return -1;
	}
	return 0;
}

static int
status_chart(struct dash_req *q, const char *threat, const struct tscan *ts)
{
	int present[1000] = {0}, rows[1000], nrows = 1;
	int row_status[64];
	double rh = 22, top = 10, h;

	row_status[0] = -1;
	for (size_t i = 0; i < ts->n; i++)
		for (size_t k = 0; k < ts->nb; k++)
			if (ts->d[i].b[k].status >= 0 && ts->d[i].b[k].status < 1000)
				present[ts->d[i].b[k].status] = 1;
	for (int s = 0; s < 1000; s++) {
		rows[s] = 0;
		if (present[s] && nrows < 64) {
			rows[s] = nrows;
			row_status[nrows++] = s;
		}
	}
	h = top + rh * nrows + 24;
	if (dash_putf(q, "<section><h2>HTTP status over time</h2><div class=\"scroll\">"
			 "<svg viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"HTTP status over "
			 "time, one line per destination\">", W, h))
		return -1;
	for (int r = 0; r < nrows; r++) {
		double y = top + rh * (nrows - 1 - r) + rh / 2;
		char nm[16];

		dash_status_name(row_status[r], nm);
		if (dash_putf(q, "<line class=\"gr\" x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\"/>"
				 "<text x=\"4\" y=\"%.1f\">%s</text>", ML, y, W - MR, y, y + 4, nm))
			return -1;
	}
	if (time_axis(q, ts, top, top + rh * nrows))
		return -1;
	for (size_t i = 0; i < ts->n; i++) {
		const char *col = dash_color(i);
		int open = 0, prev = -3;
		double jitter = ((double)(i % 7) - 3) * 1.2;

		for (size_t k = 0; k < ts->nb; k++) {
			int st = ts->d[i].b[k].status;
			double y;

			if (st == -2) {
				if (open && dash_put(q, "\"/>"))
					return -1;
				open = 0;
				continue;
			}
			y = top + rh * (nrows - 1 - (st < 0 ? 0 : rows[st])) + rh / 2 + jitter;
			if (!open && dash_putf(q, "<polyline fill=\"none\" stroke=\"%s\" "
					"stroke-width=\"1.5\" points=\"", col))
				return -1;
			if (dash_putf(q, "%s%.1f,%.1f", open ? " " : "", xpos(ts, k), y))
				return -1;
			open = 1;
		}
		if (open && dash_put(q, "\"/>"))
			return -1;
		/* A dot, tooltip and link where the status changes (and at the first). */
		for (size_t k = 0; k < ts->nb; k++) {
			int st = ts->d[i].b[k].status;
			char nm[16], t[32];
			double y;

			if (st == -2 || st == prev) {
				if (st != -2)
					prev = st;
				continue;
			}
			prev = st;
			y = top + rh * (nrows - 1 - (st < 0 ? 0 : rows[st])) + rh / 2 + jitter;
			dash_status_name(st, nm);
			dash_time(ts->from + (int64_t)k * CYCLE_US, t);
			if (dash_dest_link(q, threat, ts->d[i].target) ||
			    dash_putf(q, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"><title>",
				xpos(ts, k), y, col) ||
			    dash_text(q, ts->d[i].target) ||
			    dash_putf(q, "\n%s UTC: %s</title></circle></a>", t, nm))
				return -1;
		}
	}
	return dash_put(q, "</svg></div>");
}

static int
ping_chart(struct dash_req *q, const char *threat, const struct tscan *ts)
{
	double top = 10, ph = 160, h = top + ph + 24;

	if (dash_putf(q, "<h2>Ping loss over time</h2><div class=\"scroll\"><svg viewBox=\"0 0 "
			 "%.0f %.0f\" role=\"img\" aria-label=\"ping loss percent over time, one line "
			 "per destination\">", W, h))
		return -1;
	for (int p = 0; p <= 100; p += 25) {
		double y = top + ph * (1 - p / 100.0);

		if (dash_putf(q, "<line class=\"gr\" x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\"/>"
				 "<text x=\"4\" y=\"%.1f\">%d%% loss</text>", ML, y, W - MR, y, y + 4, p))
			return -1;
	}
	if (time_axis(q, ts, top, top + ph))
		return -1;
	for (size_t i = 0; i < ts->n; i++) {
		int open = 0;

		for (size_t k = 0; k < ts->nb; k++) {
			const struct bucket *b = &ts->d[i].b[k];
			double loss, y;

			if (b->sent == 0) {
				if (open && dash_put(q, "\"/>"))
					return -1;
				open = 0;
				continue;
			}
			loss = 100.0 * (b->sent - (b->recv > b->sent ? b->sent : b->recv)) / b->sent;
			y = top + ph * (1 - loss / 100.0);
			if (!open && (dash_put(q, "<g>") || dash_dest_link(q, threat, ts->d[i].target) ||
			    dash_put(q, "<title>") || dash_text(q, ts->d[i].target) ||
			    dash_put(q, ": ping loss</title>") ||
			    dash_putf(q, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" "
					 "points=\"", dash_color(i))))
				return -1;
			if (open && dash_put(q, " "))
				return -1;
			if (dash_putf(q, "%.1f,%.1f", xpos(ts, k), y))
				return -1;
			if (!open)
				open = 1;
			if (k + 1 == ts->nb || ts->d[i].b[k + 1].sent == 0) {
				if (dash_put(q, "\"/></a></g>"))
					return -1;
				open = 0;
			}
		}
	}
	return dash_put(q, "</svg></div>");
}

static int
dest_legend(struct dash_req *q, const char *threat, const struct tscan *ts)
{
	if (dash_put(q, "<ul class=\"legend\" aria-label=\"destinations\">"))
		return -1;
	for (size_t i = 0; i < ts->n; i++)
		if (dash_putf(q, "<li><span class=\"sw\" style=\"background:%s\"></span>",
			dash_color(i)) || dash_dest_link(q, threat, ts->d[i].target) ||
		    dash_text(q, ts->d[i].target) || dash_put(q, "</a></li>"))
			return -1;
	return dash_put(q, "</ul></section>");
}

static int
pie(struct dash_req *q, const struct an_report *r)
{
	double a0 = -M_PI / 2, cx = 110, cy = 110, rad = 100;

	if (dash_put(q, "<section><h2>Status share this month</h2>"))
		return -1;
	if (r->records == 0)
		return dash_put(q, "<p class=\"muted\">No records this month.</p></section>");
	if (dash_put(q, "<div style=\"display:flex;flex-wrap:wrap;gap:1em;align-items:center\">"
			"<svg viewBox=\"0 0 220 220\" style=\"max-width:240px\" role=\"img\" "
			"aria-label=\"status share pie\">"))
		return -1;
	for (size_t i = 0; i < r->nstatus; i++) {
		double f = r->status[i].pct / 100.0, a1 = a0 + 2 * M_PI * f;
		char nm[16];

		dash_status_name(r->status[i].status, nm);
		if (f >= 0.9999) {
			if (dash_putf(q, "<circle cx=\"%.0f\" cy=\"%.0f\" r=\"%.0f\" fill=\"%s\">", cx, cy,
				rad, dash_status_color(r->status[i].status)))
				return -1;
		} else if (dash_putf(q, "<path d=\"M%.0f,%.0f L%.2f,%.2f A%.0f,%.0f 0 %d 1 %.2f,%.2f Z\" "
				      "fill=\"%s\" stroke=\"#fff\">", cx, cy, cx + rad * cos(a0),
			       cy + rad * sin(a0), rad, rad, f > 0.5, cx + rad * cos(a1),
			       cy + rad * sin(a1), dash_status_color(r->status[i].status))) {
			return -1;
		}
		if (dash_putf(q, "<title>%s: %zu (%.1f%%)</title>%s", nm, r->status[i].count,
			r->status[i].pct, f >= 0.9999 ? "</circle>" : "</path>"))
			return -1;
		a0 = a1;
	}
	if (dash_put(q, "</svg><table style=\"min-width:0;width:auto\"><tr><th>status</th><th class=\"n\">count</th>"
			"<th class=\"n\">share</th></tr>"))
		return -1;
	for (size_t i = 0; i < r->nstatus; i++) {
		char nm[16];

		dash_status_name(r->status[i].status, nm);
		if (dash_putf(q, "<tr><td><span class=\"sw\" style=\"background:%s\"></span>%s</td>"
				 "<td class=\"n\">%zu</td><td class=\"n\">%.1f%%</td></tr>",
			dash_status_color(r->status[i].status), nm, r->status[i].count, r->status[i].pct))
			return -1;
	}
	return dash_put(q, "</table></div></section>");
}

static int
lane(struct dash_req *q, const struct tscan *ts, size_t i, int which, double y,
    const char *name)
{
	static const char *const col[3] = {"#1f77b4", "#2ca02c", "#9467bd"};
	size_t k = 0;

	while (k < ts->nb) {
		const struct bucket *b = &ts->d[i].b[k];
		int st = which == 0 ? b->http : which == 1 ? b->ping : b->robots;
		size_t j = k;
		char t0[32], t1[32];

		while (j < ts->nb) {
			const struct bucket *c = &ts->d[i].b[j];

			if ((which == 0 ? c->http : which == 1 ? c->ping : c->robots) != st)
				break;
			j++;
		}
		if (st != 0) {
			double x0 = ML + (W - ML - MR) * (double)k / (double)ts->nb;
			double x1 = ML + (W - ML - MR) * (double)j / (double)ts->nb;

			dash_time(ts->from + (int64_t)k * CYCLE_US, t0);
			dash_time(ts->from + (int64_t)j * CYCLE_US, t1);
			if (dash_putf(q, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
					 "stroke=\"%s\" stroke-width=\"%s\"%s><title>", x0, y, x1, y,
				st == 2 ? col[which] : "#9aa0a6", st == 2 ? "5" : "2",
				st == 2 ? "" : " stroke-dasharray=\"4 3\"") ||
			    dash_text(q, ts->d[i].target) ||
			    dash_putf(q, "\n%s %s, %s to %s UTC</title></line>", name,
				st == 2 ? "present" : "absent", t0, t1))
				return -1;
		}
		k = j;
	}
	return 0;
}

static int
lanes(struct dash_req *q, const char *threat, const struct tscan *ts)
{
	double per = 48, top = 6, h = top + per * (double)ts->n + 24;
	static const char *const names[3] = {"HTTP answered", "ping answered",
	    "robots.txt present"};

	if (dash_put(q, "<section><h2>Per destination: HTTP, ping, robots.txt</h2>"
			"<ul class=\"legend\"><li><span class=\"sw\" style=\"background:#1f77b4\"></span>"
			"HTTP answered</li><li><span class=\"sw\" style=\"background:#2ca02c\"></span>"
			"ping answered</li><li><span class=\"sw\" style=\"background:#9467bd\"></span>"
			"robots.txt present</li><li><span class=\"sw\" style=\"background:"
			"repeating-linear-gradient(90deg,#9aa0a6 0 3px,#fff 3px 6px)\"></span>dashed grey: "
			"tried, absent</li><li>gap: not observed</li></ul>") ||
	    dash_putf(q, "<div class=\"scroll\"><svg viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
			 "aria-label=\"lanes per destination\">", W, h) ||
	    time_axis(q, ts, top, top + per * (double)ts->n))
		return -1;
	for (size_t i = 0; i < ts->n; i++) {
		double y = top + per * (double)i;

		if (dash_dest_link(q, threat, ts->d[i].target) ||
		    dash_putf(q, "<text x=\"%.0f\" y=\"%.1f\" style=\"font-weight:600\">", ML,
			y + 11) ||
		    dash_text(q, ts->d[i].target) || dash_put(q, "</text></a>"))
			return -1;
		for (int w = 0; w < 3; w++) {
			char nm[4] = {w == 0 ? 'H' : w == 1 ? 'P' : 'R', '\0'};

			if (dash_putf(q, "<text x=\"%.0f\" y=\"%.1f\">%s</text>", ML - 14,
				y + 20 + 9 * w, nm) ||
			    lane(q, ts, i, w, y + 17 + 9 * w, names[w]))
				return -1;
		}
	}
	return dash_put(q, "</svg></div></section>");
}

int
dash_page_threat(struct dash_req *q, const char *threat)
{
	const char *month = arg(q, "month");
	struct store_snap *sn = NULL;
	struct store_err serr = {0};
	struct tscan ts;
	struct rscan rs;
	struct an_report *r = NULL;
	char mon[16], title[300];
	int64_t from, to;
	int rc = -1;

	memset(&ts, 0, sizeof(ts));
	if (month == NULL) {
		month_of(util_now_us(), mon);
		month = mon;
	}
	if (dash_month(month, &from, &to) != 0)
		return dash_plain(q, 400, "month is not YYYY-MM");
	if (strlen(threat) > STORE_THREAT_ID_MAX)
		return dash_plain(q, 404, "no such threat ID");
	ts.from = from;
	ts.to = to;
	ts.nb = (size_t)((to - from + CYCLE_US - 1) / CYCLE_US);
	if (dash_report(q->d, threat, from, to, &r, q->err, q->errlen) != 0)
		goto out;
	if (store_snap_open(q->d->o.store, &sn, &serr) != STORE_OK ||
	    store_snap_dests(sn, threat, NULL, to, tscan_cb, &ts, &serr) != STORE_OK) {
		if (ts.oom)
			util_seterr(q->err, q->errlen, "out of memory");
		else
			fail_store(q, &serr);
		goto out;
	}
	store_snap_close(sn);
	sn = NULL;
	rs.ts = &ts;
	rs.cur = 0;
	if (ts.n > 0 && store_scan_obs(q->d->o.store, threat, NULL, from, to, robots_cb, &rs,
	    &serr) != STORE_OK) {
		fail_store(q, &serr);
		goto out;
	}
	snprintf(title, sizeof(title), "%s %s", threat, month);
	{
		int64_t pf, pt;
		char pm[16], nm[16];

		dash_month(month, &pf, &pt);
		month_of(pf - 1, pm);
		month_of(pt, nm);
		if (dash_page_headers(q, 0, "text/html; charset=utf-8") || dash_head(q, title) ||
		    dash_put(q, "<h1>") || dash_text(q, threat) ||
		    dash_putf(q, " <span class=\"muted\">%s</span></h1><p>", month) ||
		    dash_put(q, "<a href=\"/threat/") || dash_url(q, threat) ||
		    dash_putf(q, "?month=%s\">\xe2\x86\x90 %s</a> \xc2\xb7 ", pm, pm) ||
		    dash_put(q, "<a href=\"/threat/") || dash_url(q, threat) ||
		    dash_putf(q, "?month=%s\">%s \xe2\x86\x92</a> \xc2\xb7 ", nm, nm) ||
		    dash_put(q, "<a href=\"/report.json?threat=") || dash_url(q, threat) ||
		    dash_putf(q, "&amp;month=%s\">this month as JSON</a></p>", month) ||
		    dash_putf(q, "<p class=\"muted\">%zu records, %zu destinations observed this month; "
				 "points are 4-hour cycles, the latest status of any vantage in each."
				 "</p>", r->records, ts.n))
			goto out;
	}
	if (ts.n == 0) {
		if (dash_put(q, "<section><p>No records of this threat ID this month.</p></section>"))
			goto out;
	} else if (status_chart(q, threat, &ts) || ping_chart(q, threat, &ts) ||
	    dest_legend(q, threat, &ts) || pie(q, r) || lanes(q, threat, &ts)) {
		goto out;
	}
	if (dash_foot(q))
		goto out;
	rc = 0;
out:
	store_snap_close(sn);
	for (size_t i = 0; i < ts.n; i++) {
		free(ts.d[i].target);
		free(ts.d[i].b);
	}
	free(ts.d);
	an_report_free(r);
	return rc;
}
