/* analysis over a generated history with known answers: every figure of the report is
 * computed again here, directly from the generated records (not from the summaries), and
 * compared. The records reach the store in a shuffled order and several batches, so the
 * summaries' out-of-order rescoring is exercised too. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fuzzy.h>
#include <lmdb.h>

#include "analysis/analysis.h"
#include "record/record.h"
#include "store/store.h"
#include "tests/tap.h"
#include "util/util.h"

#define HOUR ((int64_t)3600 * 1000000)
#define DAY (24 * HOUR)
#define NCYCLES 400 /* every 12 h: 200 days */
#define STEP (12 * HOUR)
#define MAXREC 20000
#define NV 3

enum kind { ANS, UNANS, NOTRUN };

struct rec {
	const char *threat, *target, *node, *vantage;
	int64_t t;
	enum kind kind;
	int status;
	char sha[65], ssdeep[FUZZY_MAX_RESULT];
	int ping; /* -1 not run, else replies of 4 */
	const char *addr;
};

static struct rec recs[MAXREC];
static size_t nrec;
static int64_t t0;

static const char *const vnode[NV] = { "n1", "n1", "n2" };
static const char *const vlabel[NV] = { "tokyo", "osaka", "paris" };

struct destdef {
	const char *threat, *target;
};

static const struct destdef dests[] = {
	{ "T1", "http://never.example/gate.php" },
	{ "T1", "http://same.example/" },
	{ "T1", "http://sink.example/" },
	{ "T2", "sink2.example" },
	{ "T1", "http://clock.example/" },
	{ "T1", "http://swap.example/" },
	{ "T2", "http://wake.example/" },
	{ "T2", "http://fade.example/" },
	{ "T2", "203.0.113.9:8080" },
	{ "T2", "http://drift.example/" },
	{ "T2", "http://notrun.example/" },
	{ "T2", "dns-sink.example" },
	{ "T3", "http://half.example/" },
	{ "T3", "http://x-half.example/" },
	{ "T3", "http://empty.example/" },
	{ "T3", "http://empty2.example/" },
};
#define NDEST (sizeof(dests) / sizeof(dests[0]))

static unsigned long rng = 12345;
static unsigned
rnd(void)
{
	rng = rng * 6364136223846793005UL + 1442695040888963407UL;
	return (unsigned)(rng >> 33);
}

/* A page of about 6 KiB: deterministic text from `seed`, with `stamp` in the middle (a
 * clock in the page when it changes each time). */
static char *
page(unsigned seed, const char *stamp)
{
	static const char *const words[] = { "alpha", "bravo", "charlie", "delta", "echo",
		"foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima", "mike" };
	size_t cap = 8192, n = 0;
	char *p = malloc(cap);
	unsigned s = seed;

	for (int i = 0; i < 900 && n + 40 < cap; i++) {
		s = s * 1103515245u + 12345u;
		n += (size_t)snprintf(p + n, cap - n, "%s ", words[(s >> 16) % 13]);
		if (i == 450)
			n += (size_t)snprintf(p + n, cap - n, "%s ", stamp);
	}
	p[n] = '\0';
	return p;
}

static void
set_body(struct rec *r, const char *body)
{
	unsigned char h[32];

	util_sha256(body, strlen(body), h);
	util_hex(h, 32, r->sha);
	if (fuzzy_hash_buf((const unsigned char *)body, (uint32_t)strlen(body), r->ssdeep) != 0)
		r->ssdeep[0] = '\0';
}

static struct rec *
add(int d, int v, int64_t t, enum kind k, int status)
{
	struct rec *r = &recs[nrec++];

	memset(r, 0, sizeof(*r));
	r->threat = dests[d].threat;
	r->target = dests[d].target;
	r->node = vnode[v];
	r->vantage = vlabel[v];
	/* One node's two exits observe a minute apart (the record id is node, target and
	 * time: at one time they would be one record); tokyo and paris at equal times. */
	r->t = v == 1 ? t + 60 * 1000000 : t;
	r->kind = k;
	r->status = k == ANS ? status : -1;
	r->ping = -1;
	return r;
}

static void
generate(void)
{
	char *parked = page(1, "parked"), *sink = page(2, "sinkhole"), *real = page(3, "real");

	util_time_parse("2026-01-01T00:00:00Z", &t0);
	for (int c = 0; c < NCYCLES; c++) {
		int64_t t = t0 + c * STEP;
		/* March 2026 (cycles 118..179): ping not run anywhere. */
		int month_no_ping = t >= t0 + 59 * DAY && t < t0 + 90 * DAY;

		for (int v = 0; v < NV; v++) {
			struct rec *r;
			char stamp[64];

			/* Missed cycles: paris misses every 7th. */
			if (v == 2 && c % 7 == 3)
				continue;
			/* 0 never answers */
			r = add(0, v, t, UNANS, 0);
			r->ping = month_no_ping ? -1 : 0;
			/* 1 same page; osaka loses every 10th answer */
			if (v == 1 && c % 10 == 5) {
				r = add(1, v, t, UNANS, 0);
			} else {
				r = add(1, v, t, ANS, 200);
				set_body(r, parked);
			}
			r->ping = month_no_ping ? -1 : 4;
			r->addr = "198.51.100.7";
			/* 2, 3: the sinkhole page, at two destinations of two threats */
			r = add(2, v, t, ANS, 200);
			set_body(r, sink);
			r = add(3, v, t, ANS, 200);
			set_body(r, sink);
			/* 4: a clock in the page */
			snprintf(stamp, sizeof(stamp), "time-%d", c);
			r = add(4, v, t, ANS, 200);
			{
				char *pg = page(4, stamp);

				set_body(r, pg);
				free(pg);
			}
			r->ping = month_no_ping ? -1 : (c % 3 == 0 ? 0 : 3);
			/* 5: parked, then real content */
			r = add(5, v, t, ANS, 200);
			set_body(r, c < NCYCLES / 2 ? parked : real);
			/* 6: wakes up after 150 days */
			if (c < 300) {
				r = add(6, v, t, UNANS, 0);
				r->ping = month_no_ping ? -1 : 0;
			} else {
				r = add(6, v, t, ANS, 200);
				set_body(r, real);
				r->ping = month_no_ping ? -1 : 4;
			}
			/* 7: fades out after 30 days */
			if (c < 60) {
				r = add(7, v, t, ANS, 200);
				set_body(r, real);
			} else {
				r = add(7, v, t, UNANS, 0);
			}
			/* 8: cloaking: tokyo gets the page, the others 403 */
			r = add(8, v, t, ANS, v == 0 ? 200 : 403);
			set_body(r, v == 0 ? real : parked);
			/* 9: drift 200 -> 404 -> 500 */
			r = add(9, v, t, ANS, c < 130 ? 200 : c < 260 ? 404 : 500);
			set_body(r, c < 130 ? real : parked);
			/* 10: never run (robots.txt disallows) */
			add(10, v, t, NOTRUN, 0);
			/* 11: resolves into a sinkhole range, never answers */
			r = add(11, v, t, UNANS, 0);
			r->addr = "131.253.18.5";
			/* 12: exactly half the observations answered: y = 0.5 */
			r = add(12, v, t, c % 2 ? ANS : UNANS, 200);
			if (c % 2)
				set_body(r, parked);
			/* 13: x exactly 0.5: the same ssdeep under two bodies (ratio 0), then an
			 * unrelated one (ratio 1), in each vantage, once */
			if (c < 3) {
				r = add(13, v, t, ANS, 200);
				snprintf(r->sha, sizeof(r->sha), "%064x", c + 1);
				strcpy(
				    r->ssdeep, c < 2 ? "3:abcdefgh:ijklmn" : "3:zyxwvuts:rqponm");
			}
			/* 14, 15: an empty body, shared */
			r = add(14, v, t, ANS, 204);
			set_body(r, "");
			r = add(15, v, t, ANS, 204);
			set_body(r, "");
		}
	}
	free(parked);
	free(sink);
	free(real);
}

static char *
rec_json(const struct rec *r)
{
	char at[UTIL_TIME_MAX], ping[128], http[512], err[128], addr[64];
	char *out = malloc(2048);

	util_time_format(r->t, 1, at);
	if (r->ping < 0)
		strcpy(ping, "null");
	else
		snprintf(ping, sizeof(ping), "{\"sent\":4,\"received\":%d}", r->ping);
	if (r->kind == ANS)
		snprintf(http, sizeof(http), "{\"status\":%d,\"sha256\":\"%s\",\"ssdeep\":\"%s\"}",
		    r->status, r->sha, r->ssdeep);
	else
		strcpy(http, "null");
	snprintf(err, sizeof(err), "%s",
	    r->kind == UNANS      ? "{\"kind\":\"timeout\",\"detail\":\"x\"}" :
		r->kind == NOTRUN ? "{\"kind\":\"robots-disallowed\",\"detail\":\"x\"}" :
				    "null");
	snprintf(addr, sizeof(addr), r->addr ? "[\"%s\"]" : "[]", r->addr);
	snprintf(out, 2048,
	    "{\"threat_id\":\"%s\",\"node\":\"%s\",\"vantage\":\"%s\","
	    "\"observed_at\":\"%s\",\"target\":{\"input\":\"%s\",\"ipv4\":%s},\"ping\":%s,"
	    "\"http\":%s,\"error\":%s}",
	    r->threat, r->node, r->vantage, at, r->target, addr, ping, http, err);
	return out;
}

struct batch {
	struct store_obs *o;
	size_t n;
};

static int
put_batch(struct store_txn *t, void *arg)
{
	const struct batch *b = arg;

	return store_put_obs_batch(t, b->o, b->n, NULL, NULL);
}

static int
store_all(struct store *s)
{
	size_t *perm = malloc(nrec * sizeof(*perm));
	struct store_obs *o = calloc(nrec, sizeof(*o));
	char **texts = calloc(nrec, sizeof(*texts));
	struct store_err err;
	int rc = 0;

	for (size_t i = 0; i < nrec; i++)
		perm[i] = i;
	for (size_t i = nrec - 1; i > 0; i--) {
		size_t j = rnd() % (i + 1), x = perm[i];

		perm[i] = perm[j];
		perm[j] = x;
	}
	for (size_t i = 0; i < nrec; i++) {
		const struct rec *r = &recs[perm[i]];

		texts[i] = rec_json(r);
		o[i].threat_id = r->threat;
		o[i].target_key = r->target;
		o[i].observed_us = r->t;
		o[i].json = texts[i];
		o[i].len = strlen(texts[i]);
		rec_id(r->node, r->target, r->t, o[i].id);
	}
	/* Several transactions, each a slice of the shuffled records. */
	for (size_t off = 0; off < nrec && rc == 0; off += 3000) {
		struct batch b = { o + off, nrec - off < 3000 ? nrec - off : 3000 };

		rc = store_write(s, put_batch, &b, &err);
		if (rc != 0)
			tap_diag("%s", err.msg);
	}
	for (size_t i = 0; i < nrec; i++)
		free(texts[i]);
	free(texts);
	free(o);
	free(perm);
	return rc;
}

/* ------------------------------------------------------------------ expected values */

static int
in_scope(const struct rec *r, const char *threat, int64_t from, int64_t to)
{
	return (threat == NULL || strcmp(r->threat, threat) == 0) && r->t >= from && r->t < to;
}

static int
st_of(const struct rec *r)
{
	return r->kind == ANS ? r->status : -1;
}

static int
by_time_rec(const void *a, const void *b)
{
	const struct rec *x = *(const struct rec *const *)a, *y = *(const struct rec *const *)b;

	return (x->t > y->t) - (x->t < y->t);
}

/* One destination's records of one vantage in time order (vantage NULL: all). */
static size_t
select_recs(int d, int v, int64_t from, int64_t to, const struct rec **out)
{
	size_t n = 0;

	for (size_t i = 0; i < nrec; i++) {
		const struct rec *r = &recs[i];

		if (strcmp(r->target, dests[d].target) != 0 || r->t < from || r->t >= to)
			continue;
		if (v >= 0 &&
		    (strcmp(r->node, vnode[v]) != 0 || strcmp(r->vantage, vlabel[v]) != 0))
			continue;
		out[n++] = r;
	}
	if (n > 1)
		qsort(out, n, sizeof(*out), by_time_rec);
	return n;
}

struct expect {
	size_t records, obs, ans, unans, changes, unverified, pairs, compared;
	double y, x;
	const char *category;
};

static const struct rec *sel[MAXREC];

static void
expect_dest(int d, int64_t from, int64_t to, struct expect *e)
{
	double xsum = 0;

	memset(e, 0, sizeof(*e));
	for (int v = 0; v < NV; v++) {
		size_t n = select_recs(d, v, from, to, sel);
		const struct rec *prev = NULL;

		for (size_t i = 0; i < n; i++) {
			const struct rec *r = sel[i];

			e->records++;
			if (strcmp(r->node, "n1") != 0)
				e->unverified++;
			if (r->kind == NOTRUN)
				continue;
			e->obs++;
			if (r->kind == UNANS) {
				e->unans++;
				continue;
			}
			e->ans++;
			if (prev && strcmp(prev->sha, r->sha) != 0) {
				int sc = fuzzy_compare(prev->ssdeep, r->ssdeep);

				e->changes++;
				xsum += 1.0 - (sc < 0 ? 0 : sc) / 100.0;
			}
			prev = r;
		}
	}
	e->x = e->changes ? xsum / (double)e->changes : 0;
	e->y = e->obs ? (double)e->unans / (double)e->obs : 1;
	if (e->y < 0.5)
		e->category = e->changes == 0 ? "up-unchanged" :
		    e->x < 0.5                ? "up-small-change" :
						"up-large-change";
	else
		e->category = e->x < 0.5 ? "down-single-content" : "down-large-change";
	/* cloaking: every pair from different vantages at most an hour apart */
	{
		size_t n = select_recs(d, -1, from, to, sel);

		for (size_t i = 0; i < n; i++)
			for (size_t j = i + 1; j < n; j++) {
				const struct rec *a = sel[i], *b = sel[j];

				if (a->kind == NOTRUN || b->kind == NOTRUN || b->t - a->t > HOUR ||
				    (strcmp(a->node, b->node) == 0 &&
					strcmp(a->vantage, b->vantage) == 0))
					continue;
				e->compared++;
				if (st_of(a) != st_of(b) ||
				    (a->kind == ANS && b->kind == ANS &&
					strcmp(a->sha, b->sha) != 0))
					e->pairs++;
			}
	}
}

static const struct an_dest *
find_dest(const struct an_report *r, int d)
{
	for (size_t i = 0; i < r->ndests; i++)
		if (strcmp(r->dests[i].target, dests[d].target) == 0 &&
		    strcmp(r->dests[i].threat_id, dests[d].threat) == 0)
			return &r->dests[i];
	return NULL;
}

static void
check_dests(
    const struct an_report *r, int64_t from, int64_t to, const char *threat, const char *what)
{
	for (size_t d = 0; d < NDEST; d++) {
		struct expect e;
		const struct an_dest *got = find_dest(r, (int)d);

		if (threat && strcmp(dests[d].threat, threat) != 0) {
			ok(got == NULL, "%s: %s out of scope", what, dests[d].target);
			continue;
		}
		expect_dest((int)d, from, to, &e);
		if (e.records == 0) {
			ok(got == NULL, "%s: %s has no record in the period", what,
			    dests[d].target);
			continue;
		}
		if (!ok(got != NULL, "%s: %s reported", what, dests[d].target))
			continue;
		is_int(got->records, e.records, "%s: %s records", what, dests[d].target);
		is_int(got->observations, e.obs, "%s: %s observations", what, dests[d].target);
		is_int(got->answered, e.ans, "%s: %s answered", what, dests[d].target);
		is_int(got->unanswered, e.unans, "%s: %s unanswered", what, dests[d].target);
		is_int(got->changes, e.changes, "%s: %s changes", what, dests[d].target);
		ok(fabs(got->inactive_ratio - e.y) < 1e-12, "%s: %s inactive ratio %g (want %g)",
		    what, dests[d].target, got->inactive_ratio, e.y);
		ok(fabs(got->mean_change_ratio - e.x) < 1e-12,
		    "%s: %s mean change ratio %g (want %g)", what, dests[d].target,
		    got->mean_change_ratio, e.x);
		is_str(got->category, e.category, "%s: %s category", what, dests[d].target);
		is_int(got->unverified, e.unverified, "%s: %s unverified", what, dests[d].target);
		is_int(got->cloaking_compared, e.compared, "%s: %s cloaking compared", what,
		    dests[d].target);
		is_int(
		    got->cloaking_pairs, e.pairs, "%s: %s cloaking pairs", what, dests[d].target);
		ok(got->cloaking_suspect == (e.pairs >= 3 && e.pairs * 4 >= e.compared),
		    "%s: %s cloaking suspect", what, dests[d].target);
	}
}

static void
check_shares(
    const struct an_report *r, int64_t from, int64_t to, const char *threat, const char *what)
{
	size_t count[1001] = { 0 }, total = 0, recs_in = 0, ntrans = 0;
	static size_t trans[1001][1001];

	memset(trans, 0, sizeof(trans));
	for (size_t i = 0; i < nrec; i++)
		if (in_scope(&recs[i], threat, from, to)) {
			recs_in++;
			if (recs[i].kind != NOTRUN) {
				count[recs[i].kind == ANS ? recs[i].status : 1000]++;
				total++;
			}
		}
	is_int(r->records, recs_in, "%s: records", what);
	for (size_t d = 0; d < NDEST; d++)
		for (int v = 0; v < NV; v++) {
			size_t n;
			int prev = -2;

			if (threat && strcmp(dests[d].threat, threat) != 0)
				continue;
			n = select_recs((int)d, v, from, to, sel);
			for (size_t i = 0; i < n; i++) {
				int st;

				if (sel[i]->kind == NOTRUN)
					continue;
				st = sel[i]->kind == ANS ? sel[i]->status : 1000;
				if (prev != -2 && prev != st)
					trans[prev][st]++;
				prev = st;
			}
		}
	{
		size_t want = 0, ok_all = 1;

		for (int i = 0; i <= 1000; i++)
			want += count[i] != 0;
		is_int(r->nstatus, want, "%s: distinct statuses", what);
		for (size_t i = 0; i < r->nstatus; i++) {
			int st = r->status[i].status < 0 ? 1000 : r->status[i].status;

			ok_all &= r->status[i].count == count[st];
			ok_all &= fabs(r->status[i].pct -
				      (double)count[st] * 100.0 / (double)total) < 1e-12;
			if (i > 0)
				ok_all &= r->status[i - 1].count >= r->status[i].count;
		}
		ok(ok_all, "%s: status counts, percentages, order", what);
		ok_all = 1;
		for (int a = 0; a <= 1000; a++)
			for (int b = 0; b <= 1000; b++)
				ntrans += trans[a][b] != 0;
		is_int(r->ntransitions, ntrans, "%s: distinct transitions", what);
		for (size_t i = 0; i < r->ntransitions; i++) {
			int a = r->transitions[i].from < 0 ? 1000 : r->transitions[i].from;
			int b = r->transitions[i].to < 0 ? 1000 : r->transitions[i].to;

			ok_all &= r->transitions[i].count == trans[a][b];
			if (i > 0)
				ok_all &= r->transitions[i - 1].count >= r->transitions[i].count;
		}
		ok(ok_all, "%s: transition counts and order", what);
	}
}

static void
check_months(const struct an_report *r, int64_t from, int64_t to, const char *what)
{
	for (size_t i = 0; i < r->nmonths; i++) {
		const struct an_month *m = &r->months[i];
		char mb[32], me[32];
		int64_t ms, mend;
		size_t obs = 0, ans = 0, n[2][2] = { { 0, 0 }, { 0, 0 } };

		snprintf(mb, sizeof(mb), "%04d-%02d-01", m->year, m->month);
		snprintf(me, sizeof(me), "%04d-%02d-01", m->month == 12 ? m->year + 1 : m->year,
		    m->month == 12 ? 1 : m->month + 1);
		util_time_parse(mb, &ms);
		util_time_parse(me, &mend);
		for (size_t k = 0; k < nrec; k++) {
			const struct rec *x = &recs[k];

			if (strcmp(x->threat, m->threat_id) != 0 || x->t < ms || x->t >= mend ||
			    x->t < from || x->t >= to || x->kind == NOTRUN)
				continue;
			obs++;
			ans += x->kind == ANS;
			if (x->ping >= 0)
				n[x->kind == ANS][x->ping > 0]++;
		}
		is_int(m->observations, obs, "%s: %s %s observations", what, m->threat_id, mb);
		is_int(m->answered, ans, "%s: %s %s answered", what, m->threat_id, mb);
		ok(fabs(m->response_rate_pct - (obs ? ans * 100.0 / obs : 0)) < 1e-12,
		    "%s: %s %s response rate", what, m->threat_id, mb);
		{
			double r1 = n[1][1] + n[1][0], r0 = n[0][1] + n[0][0];
			double c1 = n[1][1] + n[0][1], c0 = n[1][0] + n[0][0];
			int has = r1 > 0 && r0 > 0 && c1 > 0 && c0 > 0;

			is_int(m->has_phi, has, "%s: %s %s phi defined", what, m->threat_id, mb);
			if (has)
				ok(fabs(m->phi -
				       ((double)n[1][1] * n[0][0] - (double)n[1][0] * n[0][1]) /
					   sqrt(r1 * r0 * c1 * c0)) < 1e-12,
				    "%s: %s %s phi %g", what, m->threat_id, mb, m->phi);
		}
	}
}

static const struct an_shared *
find_shared(const struct an_report *r, const char *sha)
{
	for (size_t i = 0; i < r->nshared; i++) {
		char hex[65];

		util_hex(r->shared[i].sha256, 32, hex);
		if (strcmp(hex, sha) == 0)
			return &r->shared[i];
	}
	return NULL;
}

/* The full report's JSON (to = end). */
static char *
full_json(struct store *s, const struct an_query *q0)
{
	struct an_query q = *q0;
	struct an_report *r = NULL;
	struct util_buf j;
	char err[512];

	q.threat_id = NULL;
	q.from_us = INT64_MIN;
	util_buf_init(&j, 0);
	if (an_report_build(s, &q, &r, err, sizeof(err)) != 0 || an_report_json(r, &j) != 0 ||
	    util_buf_add(&j, "", 1) != 0) {
		tap_diag("%s", err);
		util_buf_fini(&j);
		an_report_free(r);
		return NULL;
	}
	an_report_free(r);
	return j.data;
}

/* Makes the data directory look as c2watch wrote it before summaries: schema 1, no
 * "sum" databases, and the id index "ids" keyed by record id alone (the index by time
 * "idt" came with schema 3). */
static int
downgrade(const char *path)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi, idt, ids;
	MDB_cursor *c = NULL;
	MDB_val k = { 6, (void *)"schema" }, v = { 1, (void *)"1" }, ik, iv;
	int rc, crc;

	if (mdb_env_create(&env) != 0)
		return -1;
	mdb_env_set_maxdbs(env, 16);
	mdb_env_set_mapsize(env, (size_t)1 << 30);
	rc = mdb_env_open(env, path, 0, 0600);
	if (rc == 0)
		rc = mdb_txn_begin(env, NULL, 0, &txn);
	if (rc == 0) {
		if (mdb_dbi_open(txn, "sum", 0, &dbi) == 0)
			rc |= mdb_drop(txn, dbi, 1);
		if (mdb_dbi_open(txn, "sumdict", 0, &dbi) == 0)
			rc |= mdb_drop(txn, dbi, 1);
		rc |= mdb_dbi_open(txn, "idt", 0, &idt);
		rc |= mdb_dbi_open(txn, "ids", MDB_CREATE, &ids);
		if (rc == 0)
			rc = mdb_cursor_open(txn, idt, &c);
		for (crc = rc ? MDB_NOTFOUND : mdb_cursor_get(c, &ik, &iv, MDB_FIRST); crc == 0;
		     crc = mdb_cursor_get(c, &ik, &iv, MDB_NEXT)) {
			MDB_val id = { ik.mv_size - 8, (char *)ik.mv_data + 8 };

			if (ik.mv_size <= 8 || mdb_put(txn, ids, &id, &iv, 0) != 0) {
				rc = -1;
				break;
			}
		}
		if (c)
			mdb_cursor_close(c);
		if (rc == 0)
			rc = mdb_drop(txn, idt, 1);
		rc |= mdb_dbi_open(txn, "meta", 0, &dbi);
		rc |= mdb_put(txn, dbi, &k, &v, 0);
		rc = rc ? (mdb_txn_abort(txn), rc) : mdb_txn_commit(txn);
	}
	mdb_env_close(env);
	return rc ? -1 : 0;
}

static size_t progress_calls;
static uint64_t progress_last;

static void
on_progress(uint64_t done, uint64_t total, void *arg)
{
	(void)arg;
	(void)total;
	progress_calls++;
	progress_last = done;
}

struct one {
	struct store_snap *sn;
	size_t n;
	struct store_sum e[4];
};

static int
one_cb(const char *threat, const char *target, const struct store_sum *e, size_t n, void *arg)
{
	struct one *o = arg;

	(void)threat;
	(void)target;
	for (size_t i = 0; i < n && o->n < 4; i++)
		o->e[o->n++] = e[i];
	return 0;
}

/* A record whose fields hold escapes is read by the full parser, and gives the entry the
 * plain form gives. */
static void
test_escaped(const char *dir)
{
	static const char *const texts[2] = {
		"{\"node\":\"n1\",\"vantage\":\"osaka\",\"target\":{\"input\":\"e.example\","
		"\"ipv4\":[\"192.0.2.1\"]},\"http\":{\"status\":301,\"sha256\":\""
		"00000000000000000000000000000000000000000000000000000000000000aa\",\"ssdeep\":"
		"\"3:a:b\"},\"ping\":{\"sent\":2,\"received\":1},\"error\":null}",
		"{\"node\":\"n\\u0031\",\"vantage\":\"os\\u0061ka\",\"target\":{\"input\":"
		"\"e.example\",\"ipv4\":[\"192.0.2.1\"]},\"http\":{\"status\":301,\"sha256\":\""
		"00000000000000000000000000000000000000000000000000000000000000aa\",\"ssdeep\":"
		"\"3:a:b\"},\"ping\":{\"sent\":2,\"received\":1},\"error\":null}",
	};
	char path[300];
	struct store *s = NULL;
	struct store_err err;
	struct store_obs o[2];
	struct batch b = { o, 2 };
	struct one got = { NULL, 0, { { 0 } } };
	const char *node = NULL, *label = NULL;

	snprintf(path, sizeof(path), "%s/esc", dir);
	memset(o, 0, sizeof(o));
	for (int i = 0; i < 2; i++) {
		o[i].threat_id = "E";
		o[i].target_key = "e.example";
		o[i].observed_us = t0 + i * HOUR;
		o[i].json = texts[i];
		o[i].len = strlen(texts[i]);
		rec_id("n1", "e.example", o[i].observed_us, o[i].id);
	}
	if (!ok(store_open(path, &(struct store_opts){ .no_sync = 1 }, &s, &err) == STORE_OK &&
		    store_write(s, put_batch, &b, &err) == STORE_OK,
		"records with escapes stored"))
		goto out;
	ok(store_snap_open(s, &got.sn, &err) == STORE_OK &&
		store_snap_dests(got.sn, "E", NULL, INT64_MAX, one_cb, &got, &err) == STORE_OK,
	    "their entries read");
	is_int(got.n, 2, "two entries");
	if (got.n == 2) {
		ok(got.e[0].vantage == got.e[1].vantage && got.e[0].content == got.e[1].content &&
			got.e[0].addrs == got.e[1].addrs && got.e[0].status == 301 &&
			got.e[1].status == 301 && got.e[1].ping_recv == 1 &&
			got.e[1].flags == STORE_SUM_PING,
		    "escaped and plain fields give one entry form");
		is_int(got.e[1].score, STORE_SUM_NO_SCORE, "same content: no change score");
		ok(store_snap_vantage(got.sn, got.e[1].vantage, &node, &label) == STORE_OK &&
			strcmp(node, "n1") == 0 && strcmp(label, "osaka") == 0,
		    "vantage n1/osaka");
	}
	store_snap_close(got.sn);
	got.sn = NULL;
	/* A node name far longer than any key: the merge must not fail on it. */
	{
		size_t nl = 3000;
		char *longnode = malloc(nl + 1), *text = malloc(nl + 200);
		struct store_obs lo;
		struct batch lb = { &lo, 1 };
		struct one lg = { NULL, 0, { { 0 } } };

		memset(longnode, 'n', nl);
		longnode[nl] = '\0';
		snprintf(text, nl + 200,
		    "{\"node\":\"%s\",\"vantage\":\"v\",\"target\":"
		    "{\"input\":\"long.example\"},\"http\":null,\"error\":\"dns\"}",
		    longnode);
		memset(&lo, 0, sizeof(lo));
		lo.threat_id = "L";
		lo.target_key = "long.example";
		lo.observed_us = t0;
		lo.json = text;
		lo.len = strlen(text);
		rec_id(longnode, "long.example", t0, lo.id);
		ok(store_write(s, put_batch, &lb, &err) == STORE_OK,
		    "a 3000-byte node name is stored");
		ok(store_snap_open(s, &lg.sn, &err) == STORE_OK &&
			store_snap_dests(lg.sn, "L", NULL, INT64_MAX, one_cb, &lg, &err) ==
			    STORE_OK &&
			lg.n == 1 && lg.e[0].status == STORE_SUM_UNANSWERED &&
			store_snap_vantage(lg.sn, lg.e[0].vantage, &node, &label) == STORE_OK &&
			strcmp(node, longnode) == 0 && strcmp(label, "v") == 0,
		    "and its entry names it whole");
		store_snap_close(lg.sn);
		free(longnode);
		free(text);
	}
out:
	store_close(s);
}

static void
test_numbers(void)
{
	static const struct {
		double v;
		const char *want;
	} cases[] = {
		{ 0.723, "0.723" },
		{ 50, "50" },
		{ 1e-7, "1e-7" },
		{ 100.0 / 3, "33.333333333333336" },
		{ 0.1 + 0.2, "0.30000000000000004" },
		{ 1e21, "1e+21" },
		{ 123e18, "123000000000000000000" },
		{ -2.5, "-2.5" },
		{ 0.000001, "0.000001" },
		{ -0.0, "0" },
		{ 5e-324, "5e-324" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[32];

		an_num(cases[i].v, buf);
		is_str(buf, cases[i].want, "number %zu in its shortest form", i);
	}
}

int
main(void)
{
	char dir[] = "/tmp/c2w-analysis-XXXXXX", path[256], err[512], list[256];
	struct store *s = NULL;
	struct store_err serr;
	struct an_sinkholes *sl = NULL;
	struct an_report *r = NULL;
	struct an_query q;
	int64_t end;
	const struct rec *sinkrec = NULL, *emptyrec = NULL;
	FILE *fp;

	generate();
	end = t0 + NCYCLES * STEP;
	if (mkdtemp(dir) == NULL)
		return 99;
	snprintf(path, sizeof(path), "%s/data", dir);
	if (store_open(path, &(struct store_opts){ .no_sync = 1 }, &s, &serr) != STORE_OK) {
		printf("Bail out! %s\n", serr.msg);
		return 99;
	}
	ok(store_all(s) == 0, "%zu generated records stored, shuffled, in batches", nrec);
	for (size_t i = 0; i < nrec; i++) {
		if (recs[i].target == dests[2].target && sinkrec == NULL)
			sinkrec = &recs[i];
		if (recs[i].target == dests[14].target && emptyrec == NULL)
			emptyrec = &recs[i];
	}
	snprintf(list, sizeof(list), "%s/sinkholes.txt", dir);
	fp = fopen(list, "w");
	fprintf(fp, "# test list\nsha256 %s the test sinkhole page\n\nnet 131.253.18.0/24 ms\n",
	    sinkrec->sha);
	fclose(fp);
	ok(an_sinkholes_load(list, &sl, err, sizeof(err)) == 0, "sinkhole list loads");
	is_int(an_sinkholes_count(sl), 2, "two entries");

	/* The whole history. */
	memset(&q, 0, sizeof(q));
	q.from_us = INT64_MIN;
	q.to_us = end;
	q.remove_after_us = 30 * DAY;
	q.self_node = "n1";
	q.sinkholes = sl;
	if (!ok(an_report_build(s, &q, &r, err, sizeof(err)) == 0, "full report builds")) {
		tap_diag("%s", err);
		return tap_done();
	}
	is_int(r->from_us, t0, "from defaults to the first record");
	check_shares(r, t0, end, NULL, "full");
	check_dests(r, t0, end, NULL, "full");
	check_months(r, t0, end, "full");
	{
		const struct an_shared *sh = find_shared(r, sinkrec->sha);
		const struct an_shared *em = find_shared(r, emptyrec->sha);

		ok(sh && sh->destinations == 2 && sh->nthreat_ids == 2 &&
			strcmp(sh->threat_ids[0], "T1") == 0 &&
			strcmp(sh->threat_ids[1], "T2") == 0,
		    "the sinkhole page is shared by 2 destinations of T1 and T2");
		is_str(emptyrec->sha,
		    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		    "the empty body's hash");
		ok(em && em->destinations == 2, "the empty body is shared content too");
	}
	{
		const struct an_dest *d;

		d = find_dest(r, 0);
		is_int(d->verdict, AN_REMOVE, "never-answering destination: remove-candidate");
		ok(d->last_answered == INT64_MIN && d->last_ping_reply == INT64_MIN,
		    "never answered, never a ping reply");
		is_int(find_dest(r, 1)->verdict, AN_KEEP, "live destination: keep");
		is_int(find_dest(r, 2)->verdict, AN_SINKHOLED, "sinkhole page: sinkholed");
		has_str(find_dest(r, 2)->evidence, sinkrec->sha, "evidence names the list entry");
		is_int(find_dest(r, 11)->verdict, AN_SINKHOLED, "resolves into a sinkhole range");
		has_str(find_dest(r, 11)->evidence, "131.253.18.5", "evidence names the address");
		is_int(find_dest(r, 7)->verdict, AN_REMOVE, "faded out: remove-candidate");
		is_int(find_dest(r, 6)->verdict, AN_KEEP, "woke up: keep");
		d = find_dest(r, 10);
		is_int(d->observations, 0, "only not-run records: no observation");
		is_str(d->category, "down-single-content", "only not-run: never answered");
		is_str(find_dest(r, 12)->category, "down-single-content", "y = 0.5 is down");
		ok(find_dest(r, 13)->mean_change_ratio == 0.5, "x = 0.5 exactly");
		is_str(find_dest(r, 13)->category, "up-large-change", "x = 0.5 is a large change");
		ok(find_dest(r, 8)->cloaking_suspect, "one vantage answered differently: cloaking");
		ok(!find_dest(r, 1)->cloaking_suspect, "a few lost answers are not cloaking");
		is_str(find_dest(r, 4)->category, "up-small-change", "a clock in the page");
		is_str(find_dest(r, 5)->category, "up-large-change", "parked page swapped");
	}
	{
		struct util_buf j;

		util_buf_init(&j, 0);
		ok(an_report_json(r, &j) == 0 && util_buf_add(&j, "", 1) == 0, "JSON written");
		has_str(j.data,
		    "{\"from\": \"2026-01-01T00:00:00Z\", \"to\": ", "JSON opens as documented");
		has_str(j.data, "\"ping_http_phi\": null", "a month without ping has a null phi");
		has_str(j.data, "\"status\": null", "null status");
		util_buf_fini(&j);
	}
	an_report_free(r);
	r = NULL;

	/* A node listed as trusted ([trust] keys_file) is not counted as unverified. */
	{
		struct rec_key *k = rec_key_new(err, sizeof(err));
		struct rec_trust *trust = rec_trust_new();
		struct an_query tq = q;

		ok(k != NULL && trust != NULL &&
		    rec_trust_add(trust, "n2", rec_key_public(k), err, sizeof(err)) == 0,
		    "a trust set listing n2 (%s)", err);
		tq.trust = trust;
		if (ok(an_report_build(s, &tq, &r, err, sizeof(err)) == 0, "report with n2 trusted")) {
			size_t unv = 0;

			for (size_t i = 0; i < r->ndests; i++)
				unv += r->dests[i].unverified;
			is_int(unv, 0, "no record unverified when every other node is trusted");
		}
		an_report_free(r);
		r = NULL;
		rec_trust_free(trust);
		rec_key_free(k);
	}

	/* One threat ID's month (March 2026: no ping anywhere). */
	{
		int64_t ms, me;

		util_time_parse("2026-03-01", &ms);
		util_time_parse("2026-04-01", &me);
		q.threat_id = "T2";
		q.from_us = ms;
		q.to_us = me;
		if (ok(an_report_build(s, &q, &r, err, sizeof(err)) == 0, "T2 March report")) {
			check_shares(r, ms, me, "T2", "T2-March");
			check_dests(r, ms, me, "T2", "T2-March");
			check_months(r, ms, me, "T2-March");
			is_int(r->nmonths, 1, "one month");
			ok(r->nmonths == 1 && !r->months[0].has_phi,
			    "no ping that month: phi null");
		}
		an_report_free(r);
		r = NULL;
	}
	/* A data directory of an older c2watch: read-only it opens without summaries;
	 * for writing, they are built once, and the report is the same. */
	{
		char *before = full_json(s, &q), *after;
		struct store_snap *sn = NULL;

		store_close(s);
		s = NULL;
		ok(downgrade(path) == 0, "data directory made schema 1, without summaries");
		ok(store_open(path, &(struct store_opts){ .read_only = 1 }, &s, &serr) == STORE_OK,
		    "schema 1 opens read-only");
		ok(s && store_snap_open(s, &sn, &serr) == STORE_NOTFOUND,
		    "read-only, it has no summaries to report from");
		has_str(serr.msg, "no summaries yet", "and says so");
		store_snap_close(sn);
		store_close(s);
		s = NULL;
		ok(store_open(path, &(struct store_opts){ .no_sync = 1, .progress = on_progress },
		       &s, &serr) == STORE_OK,
		    "schema 1 opens for writing");
		ok(progress_calls >= 1 && progress_last == nrec, "the build reported its progress");
		after = s ? full_json(s, &q) : NULL;
		ok(before && after && strcmp(before, after) == 0,
		    "summaries built from the records give the same report");
		free(before);
		free(after);
	}
	test_numbers();
	test_escaped(dir);
	an_sinkholes_free(sl);
	store_close(s);
	{
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			tap_diag("could not remove %s", dir);
	}
	return tap_done();
}
