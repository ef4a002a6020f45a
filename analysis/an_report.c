/* The report's figures, computed from the store's summaries in one pass over the
 * destinations in scope (DESIGN.md "Analysis"; the choices the design leaves open are
 * written in the README's "Analysis" section). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis/an_int.h"
#include "store/store.h"

#define HOUR_US ((int64_t)3600 * 1000000)
#define NSTATUS 1001 /* 0..999, and 1000 for null (unanswered) */
#define NULL_STATUS 1000

/* Content id -> how many destinations answered it; the destinations past the first are
 * kept only for contents that turn out shared. */
struct cslot {
	uint32_t content, ndest, first, last;
};

struct pair {
	uint32_t content, dest;
};

struct vinfo {
	const char *node, *label;
	int self, known;
};

struct mcount {
	int ym; /* year * 12 + month - 1 */
	size_t obs, ans, n11, n10, n01, n00;
};

struct build {
	const struct an_query *q;
	struct store_snap *sn;
	struct an_report *r;
	int64_t from, to;
	size_t status[NSTATUS];
	uint32_t *trans; /* NSTATUS * NSTATUS counts */
	struct cslot *cs;
	size_t ncs, cscap;
	struct pair *pairs;
	size_t npairs, cappairs;
	struct vinfo *v;
	size_t nv;
	uint32_t *sink_content; /* content ids of the list's sha256 entries */
	const struct an_sink_entry **sink_content_e;
	size_t nsink_content;
	struct mcount *mc;
	size_t nmc, capmc;
	char *month_threat;
	size_t capdests;
	struct obsref {
		int64_t t;
		uint32_t vantage, content;
		uint16_t status;
	} *obs;
	size_t capobs;
	char *err;
	size_t errlen;
};

const char *
an_verdict_name(enum an_verdict v)
{
	switch (v) {
	case AN_SINKHOLED:
		return "sinkholed";
	case AN_REMOVE:
		return "remove-candidate";
	case AN_KEEP:
		break;
	}
	return "keep";
}

/* 1, not -1: a scan callback's own failure must not look like the store's. */
static int
nomem(struct build *b)
{
	util_seterr(b->err, b->errlen, "out of memory");
	return 1;
}

static int
grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 64;
	void *np;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	np = realloc(*p, c * size);
	if (np == NULL)
		return -1;
	*p = np;
	*cap = c;
	return 0;
}

static const struct vinfo *
vantage(struct build *b, uint32_t id)
{
	if (id >= b->nv) {
		size_t n = b->nv ? b->nv : 64;
		struct vinfo *nv;

		while (n <= id)
			n *= 2;
		nv = realloc(b->v, n * sizeof(*nv));
		if (nv == NULL)
			return NULL;
		memset(nv + b->nv, 0, (n - b->nv) * sizeof(*nv));
		b->v = nv;
		b->nv = n;
	}
	if (!b->v[id].known) {
		if (store_snap_vantage(b->sn, id, &b->v[id].node, &b->v[id].label) != STORE_OK) {
			b->v[id].node = "";
			b->v[id].label = "";
		}
		b->v[id].self = b->q->self_node && strcmp(b->v[id].node, b->q->self_node) == 0;
		b->v[id].known = 1;
	}
	return &b->v[id];
}

/* ------------------------------------------------------------------ shared content */

static uint32_t
hash32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
}

static struct cslot *
cslot(struct build *b, uint32_t content)
{
	size_t mask, i;

	if ((b->ncs + 1) * 2 > b->cscap) {
		size_t ncap = b->cscap ? b->cscap * 2 : 4096;
		struct cslot *n = calloc(ncap, sizeof(*n));

		if (n == NULL)
			return NULL;
		for (i = 0; i < b->cscap; i++) {
			size_t j;

			if (b->cs[i].content == 0)
				continue;
			for (j = hash32(b->cs[i].content) & (ncap - 1); n[j].content;
			     j = (j + 1) & (ncap - 1))
				;
			n[j] = b->cs[i];
		}
		free(b->cs);
		b->cs = n;
		b->cscap = ncap;
	}
	mask = b->cscap - 1;
	for (i = hash32(content) & mask; b->cs[i].content && b->cs[i].content != content;
	     i = (i + 1) & mask)
		;
	if (b->cs[i].content == 0) {
		b->cs[i].content = content;
		b->ncs++;
	}
	return &b->cs[i];
}

static int
add_pair(struct build *b, uint32_t content, uint32_t dest)
{
	if (grow((void **)&b->pairs, &b->cappairs, b->npairs + 1, sizeof(*b->pairs)) != 0)
		return -1;
	b->pairs[b->npairs].content = content;
	b->pairs[b->npairs++].dest = dest;
	return 0;
}

static int
note_content(struct build *b, uint32_t content, uint32_t dest)
{
	struct cslot *c = cslot(b, content);

	if (c == NULL)
		return -1;
	if (c->ndest && c->last == dest)
		return 0;
	if (c->ndest == 0)
		c->first = dest;
	else if (c->ndest == 1 && add_pair(b, content, c->first) != 0)
		return -1;
	if (c->ndest >= 1 && add_pair(b, content, dest) != 0)
		return -1;
	c->ndest++;
	c->last = dest;
	return 0;
}

/* ------------------------------------------------------------------ months */

static int
month_of(int64_t us)
{
	time_t s = (time_t)(us >= 0 ? us / 1000000 : (us - 999999) / 1000000);
	struct tm tm;

	gmtime_r(&s, &tm);
	return (tm.tm_year + 1900) * 12 + tm.tm_mon;
}

static struct mcount *
mcount(struct build *b, int ym)
{
	for (size_t i = b->nmc; i > 0; i--)
		if (b->mc[i - 1].ym == ym)
			return &b->mc[i - 1];
	if (grow((void **)&b->mc, &b->capmc, b->nmc + 1, sizeof(*b->mc)) != 0)
		return NULL;
	memset(&b->mc[b->nmc], 0, sizeof(b->mc[0]));
	b->mc[b->nmc].ym = ym;
	return &b->mc[b->nmc++];
}

static int
by_ym(const void *x, const void *y)
{
	const struct mcount *a = x, *c = y;

	return (a->ym > c->ym) - (a->ym < c->ym);
}

/* Moves the month counts of the threat just finished into the report. */
static int
flush_months(struct build *b)
{
	struct an_report *r = b->r;

	if (b->month_threat == NULL)
		return 0;
	qsort(b->mc, b->nmc, sizeof(*b->mc), by_ym);
	for (size_t i = 0; i < b->nmc; i++) {
		const struct mcount *m = &b->mc[i];
		struct an_month *o;
		double r1 = (double)(m->n11 + m->n10), r0 = (double)(m->n01 + m->n00);
		double c1 = (double)(m->n11 + m->n01), c0 = (double)(m->n10 + m->n00);
		size_t cap = r->nmonths;

		o = realloc(r->months, (cap + 1) * sizeof(*o));
		if (o == NULL)
			return -1;
		r->months = o;
		o = &r->months[r->nmonths];
		memset(o, 0, sizeof(*o));
		o->threat_id = strdup(b->month_threat);
		if (o->threat_id == NULL)
			return -1;
		r->nmonths++;
		o->year = m->ym / 12;
		o->month = m->ym % 12 + 1;
		o->observations = m->obs;
		o->answered = m->ans;
		o->response_rate_pct = m->obs ? (double)m->ans * 100.0 / (double)m->obs : 0;
		if (r1 > 0 && r0 > 0 && c1 > 0 && c0 > 0) {
			o->has_phi = 1;
			o->phi = ((double)m->n11 * (double)m->n00 - (double)m->n10 * (double)m->n01) /
			    sqrt(r1 * r0 * c1 * c0);
		}
	}
	b->nmc = 0;
	free(b->month_threat);
	b->month_threat = NULL;
	return 0;
}

/* ------------------------------------------------------------------ one destination */

static int
by_time(const void *x, const void *y)
{
	const struct obsref *a = x, *c = y;

	if (a->t != c->t)
		return (a->t > c->t) - (a->t < c->t);
	return (a->vantage > c->vantage) - (a->vantage < c->vantage);
}

static int
by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
fmt_time(int64_t us, char buf[UTIL_TIME_MAX])
{
	util_time_format(us, us % 1000000 != 0, buf);
}

static const char *
category(double x, double y, size_t changes)
{
	if (y < 0.5) {
		if (changes == 0)
			return "up-unchanged";
		return x < 0.5 ? "up-small-change" : "up-large-change";
	}
	return x < 0.5 ? "down-single-content" : "down-large-change";
}

/* The verdict as of the period's end, from every entry before it. */
static int
verdict(struct build *b, struct an_dest *d, const struct store_sum *e, size_t n)
{
	const struct store_sum *last_ans = NULL, *last_ping = NULL, *last_addr = NULL;
	int64_t first = INT64_MAX, since = b->to - b->q->remove_after_us;
	const struct an_sink_entry *hit = NULL;
	const char *hit_addr = NULL;
	char one[128], t1[UTIL_TIME_MAX], t2[UTIL_TIME_MAX], t3[UTIL_TIME_MAX];
	struct util_buf ev;
	size_t nv = 0;
	uint32_t prev_v = UINT32_MAX;
	int rc;

	for (size_t i = 0; i < n; i++) {
		if (e[i].vantage != prev_v)
			nv++;
		prev_v = e[i].vantage;
		if (e[i].t < first)
			first = e[i].t;
		if (e[i].status < STORE_SUM_UNANSWERED && (!last_ans || e[i].t > last_ans->t))
			last_ans = &e[i];
		if (e[i].ping_recv > 0 && (!last_ping || e[i].t > last_ping->t))
			last_ping = &e[i];
		if (e[i].addrs && (!last_addr || e[i].t > last_addr->t))
			last_addr = &e[i];
	}
	d->last_answered = last_ans ? last_ans->t : INT64_MIN;
	d->last_ping_reply = last_ping ? last_ping->t : INT64_MIN;
	if (last_ans && last_ans->content)
		for (size_t i = 0; i < b->nsink_content; i++)
			if (b->sink_content[i] == last_ans->content)
				hit = b->sink_content_e[i];
	if (hit == NULL && last_addr && b->q->sinkholes) {
		const char *text;

		if (store_snap_addrs(b->sn, last_addr->addrs, &text) == STORE_OK) {
			const char *p = text;

			while (*p && hit == NULL) {
				size_t l = strcspn(p, " ");

				if (l < sizeof(one)) {
					memcpy(one, p, l);
					one[l] = '\0';
					if ((hit = an_sink_net(b->q->sinkholes, one)) != NULL)
						hit_addr = one;
				}
				p += l;
				while (*p == ' ')
					p++;
			}
		}
	}
	util_buf_init(&ev, 0);
	if (last_ans) {
		const struct vinfo *v = vantage(b, last_ans->vantage);

		fmt_time(last_ans->t, t1);
		rc = util_buf_printf(&ev, "last answer %s (HTTP %u) from %s/%s", t1,
		    last_ans->status, v ? v->node : "?", v ? v->label : "?");
	} else {
		rc = util_buf_printf(&ev, "never answered");
	}
	if (last_ping) {
		fmt_time(last_ping->t, t2);
		rc |= util_buf_printf(&ev, "; last ping reply %s", t2);
	} else {
		rc |= util_buf_printf(&ev, "; no ping reply");
	}
	rc |= util_buf_printf(&ev, "; %zu vantage%s", nv, nv == 1 ? "" : "s");
	if (hit) {
		d->verdict = AN_SINKHOLED;
		if (hit_addr)
			rc |= util_buf_printf(&ev, "; resolves to %s, in sinkhole list entry \"%s\"%s%s",
			    hit_addr, hit->text, hit->note[0] ? ": " : "", hit->note);
		else
			rc |= util_buf_printf(&ev, "; its latest answer's body is sinkhole list entry "
			    "\"%s\"%s%s", hit->text, hit->note[0] ? ": " : "", hit->note);
	} else if (first <= since && (!last_ans || last_ans->t < since) &&
	    (!last_ping || last_ping->t < since)) {
		d->verdict = AN_REMOVE;
		fmt_time(since, t3);
		rc |= util_buf_printf(&ev, "; no HTTP answer or ping reply from any vantage since %s",
		    t3);
	} else {
		d->verdict = AN_KEEP;
		if (first > since) {
			fmt_time(first, t3);
			rc |= util_buf_printf(&ev, "; first observed %s, less than remove_after ago",
			    t3);
		}
	}
	if (rc != 0 || util_buf_add(&ev, "", 1) != 0) {
		util_buf_fini(&ev);
		return -1;
	}
	d->evidence = ev.data; /* the buffer's storage becomes the evidence */
	return 0;
}

static int
nodes_of(struct build *b, struct an_dest *d, const struct store_sum *e, size_t n)
{
	uint32_t prev = UINT32_MAX;

	for (size_t i = 0; i < n; i++) {
		const struct vinfo *v;
		size_t j;

		if (e[i].t < b->from || e[i].vantage == prev)
			continue;
		prev = e[i].vantage;
		if ((v = vantage(b, e[i].vantage)) == NULL)
			return -1;
		for (j = 0; j < d->nnodes; j++)
			if (strcmp(d->nodes[j], v->node) == 0)
				break;
		if (j < d->nnodes)
			continue;
		{
			char **nn = realloc(d->nodes, (d->nnodes + 1) * sizeof(*nn));

			if (nn == NULL)
				return -1;
			d->nodes = nn;
			if ((d->nodes[d->nnodes] = strdup(v->node)) == NULL)
				return -1;
			d->nnodes++;
		}
	}
	qsort(d->nodes, d->nnodes, sizeof(*d->nodes), by_str);
	return 0;
}

static int
dest_cb(const char *threat, const char *target, const struct store_sum *e, size_t n,
    void *arg)
{
	struct build *b = arg;
	struct an_report *r = b->r;
	struct an_dest *d;
	size_t inperiod = 0, nobs = 0, changes = 0;
	double change_sum = 0;
	uint32_t di;

	for (size_t i = 0; i < n; i++)
		if (e[i].t >= b->from)
			inperiod++;
	if (inperiod == 0)
		return 0;
	if (b->month_threat && strcmp(b->month_threat, threat) != 0 && flush_months(b) != 0)
		return nomem(b);
	if (b->month_threat == NULL && (b->month_threat = strdup(threat)) == NULL)
		return nomem(b);
	if (grow((void **)&r->dests, &b->capdests, r->ndests + 1, sizeof(*r->dests)) != 0)
		return nomem(b);
	di = (uint32_t)r->ndests;
	d = &r->dests[r->ndests++];
	memset(d, 0, sizeof(*d));
	d->threat_id = strdup(threat);
	d->target = strdup(target);
	if (d->threat_id == NULL || d->target == NULL)
		return nomem(b);
	if (grow((void **)&b->obs, &b->capobs, n, sizeof(*b->obs)) != 0)
		return nomem(b);

	/* Entries come by vantage, then time: one vantage's run at a time. */
	for (size_t i = 0; i < n;) {
		size_t j = i;
		int prev_status = -2, seen_answer = 0;
		const struct vinfo *v = vantage(b, e[i].vantage);

		if (v == NULL)
			return nomem(b);
		for (; j < n && e[j].vantage == e[i].vantage; j++) {
			const struct store_sum *x = &e[j];
			struct mcount *m;
			int st, ans;

			if (x->t < b->from)
				continue;
			d->records++;
			r->records++;
			if (!v->self)
				d->unverified++;
			if (x->status == STORE_SUM_NOT_RUN)
				continue;
			ans = x->status < STORE_SUM_UNANSWERED;
			st = ans ? x->status : NULL_STATUS;
			b->status[st]++;
			if (prev_status >= 0 && prev_status != st)
				b->trans[(size_t)prev_status * NSTATUS + (size_t)st]++;
			prev_status = st;
			if (ans) {
				d->answered++;
				if (seen_answer && x->score != STORE_SUM_NO_SCORE) {
					changes++;
					change_sum += 1.0 - x->score / 100.0;
				}
				seen_answer = 1;
				if (x->content && note_content(b, x->content, di) != 0)
					return nomem(b);
			} else {
				d->unanswered++;
			}
			if ((m = mcount(b, month_of(x->t))) == NULL)
				return nomem(b);
			m->obs++;
			m->ans += ans;
			if (x->flags & STORE_SUM_PING) {
				int reply = x->ping_recv > 0;

				m->n11 += ans && reply;
				m->n10 += ans && !reply;
				m->n01 += !ans && reply;
				m->n00 += !ans && !reply;
			}
			b->obs[nobs].t = x->t;
			b->obs[nobs].vantage = x->vantage;
			b->obs[nobs].content = x->content;
			b->obs[nobs++].status = (uint16_t)st;
		}
		i = j;
	}
	/* Records with only not-run entries still appear in their month. */
	if (nobs == 0)
		for (size_t i = 0; i < n; i++)
			if (e[i].t >= b->from && mcount(b, month_of(e[i].t)) == NULL)
				return nomem(b);
	d->observations = d->answered + d->unanswered;
	d->changes = changes;
	d->mean_change_ratio = changes ? change_sum / (double)changes : 0;
	/* No observation at all: it never answered, so it counts as wholly inactive. */
	d->inactive_ratio = d->observations ?
	    (double)d->unanswered / (double)d->observations : 1.0;
	d->category = category(d->mean_change_ratio, d->inactive_ratio, changes);

	/* Cloaking: pairs of observations from different vantages at most an hour apart. */
	qsort(b->obs, nobs, sizeof(*b->obs), by_time);
	for (size_t i = 0; i < nobs; i++)
		for (size_t j = i + 1; j < nobs && b->obs[j].t - b->obs[i].t <= HOUR_US; j++) {
			if (b->obs[j].vantage == b->obs[i].vantage)
				continue;
			d->cloaking_compared++;
			if (b->obs[j].status != b->obs[i].status ||
			    b->obs[j].content != b->obs[i].content)
				d->cloaking_pairs++;
		}
	d->cloaking_suspect = d->cloaking_pairs >= 3 &&
	    d->cloaking_pairs * 4 >= d->cloaking_compared;
	if (nodes_of(b, d, e, n) != 0 || verdict(b, d, e, n) != 0)
		return nomem(b);
	return 0;
}

/* ------------------------------------------------------------------ ordering */

static int
by_status_count(const void *x, const void *y)
{
	const struct an_status_count *a = x, *c = y;

	if (a->count != c->count)
		return a->count < c->count ? 1 : -1;
	/* Equal counts: by status, null last. */
	return (a->status < 0 ? 1000 : a->status) - (c->status < 0 ? 1000 : c->status);
}

static int
by_trans_count(const void *x, const void *y)
{
	const struct an_transition *a = x, *c = y;

	if (a->count != c->count)
		return a->count < c->count ? 1 : -1;
	if (a->from != c->from)
		return (a->from < 0 ? 1000 : a->from) - (c->from < 0 ? 1000 : c->from);
	return (a->to < 0 ? 1000 : a->to) - (c->to < 0 ? 1000 : c->to);
}

static int
by_pair(const void *x, const void *y)
{
	const struct pair *a = x, *c = y;

	if (a->content != c->content)
		return a->content < c->content ? -1 : 1;
	return (a->dest > c->dest) - (a->dest < c->dest);
}

static int
by_shared(const void *x, const void *y)
{
	const struct an_shared *a = x, *c = y;

	if (a->destinations != c->destinations)
		return a->destinations < c->destinations ? 1 : -1;
	return memcmp(a->sha256, c->sha256, 32);
}

static int
finish(struct build *b)
{
	struct an_report *r = b->r;
	size_t total = 0;

	for (size_t i = 0; i < NSTATUS; i++)
		total += b->status[i];
	for (size_t i = 0; i < NSTATUS; i++) {
		struct an_status_count *sc;

		if (b->status[i] == 0)
			continue;
		sc = realloc(r->status, (r->nstatus + 1) * sizeof(*sc));
		if (sc == NULL)
			return -1;
		r->status = sc;
		sc[r->nstatus].status = i == NULL_STATUS ? -1 : (int)i;
		sc[r->nstatus].count = b->status[i];
		sc[r->nstatus].pct = (double)b->status[i] * 100.0 / (double)total;
		r->nstatus++;
	}
	qsort(r->status, r->nstatus, sizeof(*r->status), by_status_count);
	for (size_t i = 0; i < (size_t)NSTATUS * NSTATUS; i++) {
		struct an_transition *t;

		if (b->trans[i] == 0)
			continue;
		t = realloc(r->transitions, (r->ntransitions + 1) * sizeof(*t));
		if (t == NULL)
			return -1;
		r->transitions = t;
		t[r->ntransitions].from = i / NSTATUS == NULL_STATUS ? -1 : (int)(i / NSTATUS);
		t[r->ntransitions].to = i % NSTATUS == NULL_STATUS ? -1 : (int)(i % NSTATUS);
		t[r->ntransitions].count = b->trans[i];
		r->ntransitions++;
	}
	qsort(r->transitions, r->ntransitions, sizeof(*r->transitions), by_trans_count);

	qsort(b->pairs, b->npairs, sizeof(*b->pairs), by_pair);
	for (size_t i = 0; i < b->npairs;) {
		size_t j = i;
		struct an_shared *sh;

		while (j < b->npairs && b->pairs[j].content == b->pairs[i].content)
			j++;
		sh = realloc(r->shared, (r->nshared + 1) * sizeof(*sh));
		if (sh == NULL)
			return -1;
		r->shared = sh;
		sh = &r->shared[r->nshared++];
		memset(sh, 0, sizeof(*sh));
		sh->destinations = j - i;
		if (store_snap_content(b->sn, b->pairs[i].content, sh->sha256, NULL) != STORE_OK)
			memset(sh->sha256, 0, 32);
		for (size_t k = i; k < j; k++) {
			const char *th = r->dests[b->pairs[k].dest].threat_id;
			size_t m;
			char **nt;

			for (m = 0; m < sh->nthreat_ids; m++)
				if (strcmp(sh->threat_ids[m], th) == 0)
					break;
			if (m < sh->nthreat_ids)
				continue;
			nt = realloc(sh->threat_ids, (sh->nthreat_ids + 1) * sizeof(*nt));
			if (nt == NULL)
				return -1;
			sh->threat_ids = nt;
			if ((nt[sh->nthreat_ids] = strdup(th)) == NULL)
				return -1;
			sh->nthreat_ids++;
		}
		qsort(sh->threat_ids, sh->nthreat_ids, sizeof(char *), by_str);
		i = j;
	}
	qsort(r->shared, r->nshared, sizeof(*r->shared), by_shared);
	return 0;
}

/* The earliest entry in scope, when the period starts "at the first record". */
static int
first_cb(const char *threat, const char *target, const struct store_sum *e, size_t n,
    void *arg)
{
	int64_t *first = arg;

	(void)threat;
	(void)target;
	for (size_t i = 0; i < n; i++)
		if (e[i].t < *first)
			*first = e[i].t;
	return 0;
}

int
an_report_build(struct store *s, const struct an_query *q, struct an_report **out,
    char *err, size_t errlen)
{
	struct build *b = calloc(1, sizeof(*b));
	struct store_err serr = {{0}};
	int ret = -1, rc;

	if (b == NULL || (b->r = calloc(1, sizeof(*b->r))) == NULL ||
	    (b->trans = calloc((size_t)NSTATUS * NSTATUS, sizeof(*b->trans))) == NULL) {
		util_seterr(err, errlen, "out of memory");
		goto out;
	}
	b->q = q;
	b->err = err;
	b->errlen = errlen;
	b->to = q->to_us;
	rc = store_snap_open(s, &b->sn, &serr);
	if (rc != STORE_OK) {
		util_seterr(err, errlen, "%s", serr.msg);
		goto out;
	}
	b->from = q->from_us;
	if (b->from == INT64_MIN) {
		int64_t first = INT64_MAX;

		/* A first pass over the same snapshot: cheap next to the report itself. */
		if (store_snap_dests(b->sn, q->threat_id, NULL, q->to_us, first_cb, &first, &serr)
		    != STORE_OK) {
			util_seterr(err, errlen, "%s", serr.msg);
			goto out;
		}
		b->from = first == INT64_MAX ? q->to_us : first;
	}
	b->r->from_us = b->from;
	b->r->to_us = b->to;
	if (q->sinkholes) {
		const struct an_sinkholes *sl = q->sinkholes;

		b->sink_content = calloc(sl->n + 1, sizeof(*b->sink_content));
		b->sink_content_e = calloc(sl->n + 1, sizeof(*b->sink_content_e));
		if (b->sink_content == NULL || b->sink_content_e == NULL) {
			nomem(b);
			goto out;
		}
		for (size_t i = 0; i < sl->n; i++) {
			uint32_t id;

			if (!sl->e[i].is_net &&
			    store_snap_content_id(b->sn, sl->e[i].sha256, &id) == STORE_OK) {
				b->sink_content[b->nsink_content] = id;
				b->sink_content_e[b->nsink_content++] = &sl->e[i];
			}
		}
	}
	rc = store_snap_dests(b->sn, q->threat_id, NULL, q->to_us, dest_cb, b, &serr);
	if (rc == STORE_ERR) {
		util_seterr(err, errlen, "%s", serr.msg);
		goto out;
	}
	if (rc != 0)
		goto out; /* err set by the callback */
	if (flush_months(b) != 0 || finish(b) != 0) {
		nomem(b);
		goto out;
	}
	*out = b->r;
	b->r = NULL;
	ret = 0;
out:
	if (b) {
		store_snap_close(b->sn);
		an_report_free(b->r);
		free(b->trans);
		free(b->cs);
		free(b->pairs);
		free(b->v);
		free(b->sink_content);
		free(b->sink_content_e);
		free(b->mc);
		free(b->month_threat);
		free(b->obs);
		free(b);
	}
	return ret;
}

void
an_report_free(struct an_report *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->ndests; i++) {
		struct an_dest *d = &r->dests[i];

		free(d->threat_id);
		free(d->target);
		for (size_t j = 0; j < d->nnodes; j++)
			free(d->nodes[j]);
		free(d->nodes);
		free(d->evidence);
	}
	for (size_t i = 0; i < r->nshared; i++) {
		for (size_t j = 0; j < r->shared[i].nthreat_ids; j++)
			free(r->shared[i].threat_ids[j]);
		free(r->shared[i].threat_ids);
	}
	for (size_t i = 0; i < r->nmonths; i++)
		free(r->months[i].threat_id);
	free(r->dests);
	free(r->shared);
	free(r->months);
	free(r->status);
	free(r->transitions);
	free(r);
}
