/*
 * GET /metrics: the daemon's counters (node_stats.h) and what the store holds, in the
 * Prometheus text exposition format 0.0.4: a "# HELP" and "# TYPE" line before each
 * family's samples, names c2watch_*, label values escaped (\\, \", \n).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "conf/conf.h"
#include "fed/fed.h"
#include "node/node_stats.h"
#include "store/store.h"
#include "util/util.h"

struct prom {
	struct util_buf *out;
	int failed;
};

static void
emit(struct prom *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
emit(struct prom *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (util_buf_vprintf(p->out, fmt, ap) != 0)
		p->failed = 1;
	va_end(ap);
}

static void
family(struct prom *p, const char *name, const char *type, const char *help)
{
	emit(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value as the format wants it, into buf (cut at len, escapes kept whole). */
static const char *
esc(const char *v, char *buf, size_t len)
{
	size_t o = 0;

	for (; *v && o + 3 < len; v++) {
		if (*v == '\\' || *v == '"') {
			buf[o++] = '\\';
			buf[o++] = *v;
		} else if (*v == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else {
			buf[o++] = *v;
		}
	}
	buf[o] = '\0';
	return buf;
}

struct origin_arg {
	struct prom *p;
};

static int
origin_cb(const char *origin, size_t len, uint64_t count, void *arg)
{
	struct origin_arg *oa = arg;
	char e[600];

	(void)len;
	emit(oa->p, "c2watch_records{origin=\"%s\"} %llu\n", esc(origin, e, sizeof(e)),
	    (unsigned long long)count);
	return 0;
}

struct sub_arg {
	struct prom *p;
	struct store *s;
	int failed;
};

static const char *const sub_status[] = {"active", "paused", "unsubscribed"};

static int
sub_cb(void *arg, const struct taxii_sub *sub)
{
	struct sub_arg *sa = arg;
	struct store_err serr = {{0}};
	char e1[200], e2[300];
	size_t n = 0;

	if (!sub->has_push || sub->status == TAXII_SUBST_UNSUBSCRIBED)
		return 0;
	/* A walk over the backlog's keys alone: what is waiting, not the whole feed. */
	if (store_count_feed(sa->s, sub->delivered_us, INT64_MAX, &n, &serr) != STORE_OK) {
		sa->failed = 1;
		return 1;
	}
	emit(sa->p, "c2watch_subscription_backlog_records{subscription=\"%s\",owner=\"%s\","
	    "status=\"%s\"} %zu\n", esc(sub->id, e1, sizeof(e1)), esc(sub->owner, e2, sizeof(e2)),
	    sub_status[sub->status], n);
	return 0;
}

static const char *const auth_reasons[NODE_AUTH_REASONS] = {"missing", "invalid",
	"no_certificate", "forbidden"};
static const char *const cycle_results[NODE_CYCLE_RESULTS] = {"ok", "empty", "failed"};

/* The counters part; st->mu held. */
static void
counters(struct prom *p, const struct node_stats *st, int64_t now)
{
	uint64_t cum = 0;
	char e[600];

	family(p, "c2watch_start_time_seconds", "gauge", "When the daemon started (Unix time).");
	emit(p, "c2watch_start_time_seconds %.3f\n", (double)st->started_us / 1e6);

	family(p, "c2watch_records_made_total", "counter",
	    "Records this node's observation cycles stored since the daemon started.");
	emit(p, "c2watch_records_made_total %llu\n", (unsigned long long)st->records_made);

	family(p, "c2watch_cycles_total", "counter",
	    "Observation cycles by result (ok, empty: no targets, failed).");
	for (int r = 0; r < NODE_CYCLE_RESULTS; r++)
		emit(p, "c2watch_cycles_total{result=\"%s\"} %llu\n", cycle_results[r],
		    (unsigned long long)st->cycles[r]);

	family(p, "c2watch_cycle_duration_seconds", "histogram",
	    "How long observation cycles took.");
	for (int b = 0; b <= NODE_CYCLE_BUCKETS; b++) {
		cum += st->cycle_bucket[b];
		if (b < NODE_CYCLE_BUCKETS)
			emit(p, "c2watch_cycle_duration_seconds_bucket{le=\"%g\"} %llu\n",
			    node_cycle_buckets[b], (unsigned long long)cum);
		else
			emit(p, "c2watch_cycle_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
			    (unsigned long long)cum);
	}
	emit(p, "c2watch_cycle_duration_seconds_sum %.6f\n", st->cycle_seconds_sum);
	emit(p, "c2watch_cycle_duration_seconds_count %llu\n", (unsigned long long)cum);

	family(p, "c2watch_last_cycle_end_time_seconds", "gauge",
	    "When the last observation cycle ended (Unix time; 0: none yet).");
	emit(p, "c2watch_last_cycle_end_time_seconds %.3f\n", (double)st->last_end_us / 1e6);
	family(p, "c2watch_last_cycle_answered", "gauge",
	    "Records of the last cycle with an HTTP status.");
	emit(p, "c2watch_last_cycle_answered %zu\n", st->last.st.responded);
	family(p, "c2watch_next_cycle_time_seconds", "gauge",
	    "When the next observation cycle starts (Unix time; 0: running or none).");
	emit(p, "c2watch_next_cycle_time_seconds %.3f\n", (double)st->next_us / 1e6);

	family(p, "c2watch_probe_outcomes_total", "counter",
	    "Records by what each probe gave (probe: ping, robots, http).");
	for (int pr = 0; pr < OBS_PROBES; pr++)
		for (int i = 0; obs_tally_outcome(pr, i) != NULL; i++)
			emit(p, "c2watch_probe_outcomes_total{probe=\"%s\",outcome=\"%s\"} %zu\n",
			    obs_tally_probe(pr), obs_tally_outcome(pr, i), st->tally.outcome[pr][i]);
	family(p, "c2watch_probe_errors_total", "counter", "Records by their error kind.");
	for (int i = 0; obs_tally_error(i) != NULL; i++)
		emit(p, "c2watch_probe_errors_total{kind=\"%s\"} %zu\n", obs_tally_error(i),
		    st->tally.error[i]);

	family(p, "c2watch_change_events_total", "counter", "Change events stored, by kind.");
	for (int k = 0; k < NODE_EV_KINDS; k++)
		emit(p, "c2watch_change_events_total{kind=\"%s\"} %llu\n", node_event_kinds[k],
		    (unsigned long long)st->events[k]);

	family(p, "c2watch_peer_last_success_time_seconds", "gauge",
	    "When the last good poll of each peer ended (Unix time; 0: none yet).");
	for (size_t i = 0; i < st->npeers; i++)
		emit(p, "c2watch_peer_last_success_time_seconds{peer=\"%s\"} %.3f\n",
		    esc(st->peers[i].name, e, sizeof(e)), (double)st->peers[i].st.last_ok_us / 1e6);
	family(p, "c2watch_peer_lag_seconds", "gauge",
	    "Seconds since the last good poll of each peer (since the daemon started when "
	    "none yet).");
	for (size_t i = 0; i < st->npeers; i++) {
		int64_t since = st->peers[i].st.last_ok_us ? st->peers[i].st.last_ok_us :
		    st->started_us;

		emit(p, "c2watch_peer_lag_seconds{peer=\"%s\"} %.3f\n",
		    esc(st->peers[i].name, e, sizeof(e)),
		    now > since ? (double)(now - since) / 1e6 : 0.0);
	}
	family(p, "c2watch_peer_polls_total", "counter", "Polls of each peer.");
	for (size_t i = 0; i < st->npeers; i++)
		emit(p, "c2watch_peer_polls_total{peer=\"%s\"} %llu\n",
		    esc(st->peers[i].name, e, sizeof(e)), (unsigned long long)st->peers[i].st.polls);
	family(p, "c2watch_peer_poll_failures_total", "counter", "Failed polls of each peer.");
	for (size_t i = 0; i < st->npeers; i++)
		emit(p, "c2watch_peer_poll_failures_total{peer=\"%s\"} %llu\n",
		    esc(st->peers[i].name, e, sizeof(e)),
		    (unsigned long long)st->peers[i].st.polls_failed);
	family(p, "c2watch_peer_consecutive_failures", "gauge",
	    "Polls of each peer failed in a row.");
	for (size_t i = 0; i < st->npeers; i++)
		emit(p, "c2watch_peer_consecutive_failures{peer=\"%s\"} %d\n",
		    esc(st->peers[i].name, e, sizeof(e)), st->peers[i].st.failures);

	family(p, "c2watch_taxii_requests_total", "counter",
	    "Requests the server answered, by service, HTTP code and TAXII status (none: "
	    "not a TAXII message).");
	for (size_t i = 0; i < st->ntaxii; i++) {
		const char *ts = st->taxii[i].status < 0 ? "none" :
		    taxii_status_name((enum taxii_status)st->taxii[i].status);

		emit(p, "c2watch_taxii_requests_total{service=\"%s\",code=\"%u\",status=\"%s\"} "
		    "%llu\n", st->taxii[i].service, st->taxii[i].http, ts ? ts : "CUSTOM",
		    (unsigned long long)st->taxii[i].n);
	}
	family(p, "c2watch_auth_failures_total", "counter",
	    "Requests refused for their credentials (missing, invalid, no_certificate) or "
	    "because the user may not see the page (forbidden).");
	for (int r = 0; r < NODE_AUTH_REASONS; r++)
		emit(p, "c2watch_auth_failures_total{reason=\"%s\"} %llu\n", auth_reasons[r],
		    (unsigned long long)st->auth_fail[r]);
}

int
node_metrics_text(struct node_stats *st, struct store *s, struct util_buf *out, char *err,
    size_t errlen)
{
	struct prom p = {out, 0};
	struct origin_arg oa = {&p};
	struct sub_arg sa = {&p, s, 0};
	struct store_err serr = {{0}};
	char e[600], terr[512] = "";
	size_t targets = 0;
	int complete = 0;

	family(&p, "c2watch_info", "gauge", "This node: its id and the c2watch version.");
	emit(&p, "c2watch_info{node=\"%s\",version=\"%s\"} 1\n",
	    esc(st->c->node.id, e, sizeof(e)), PACKAGE_VERSION);
	family(&p, "c2watch_records", "gauge",
	    "Records held, by the node that made them (origin).");
	if (store_scan_origins(s, origin_cb, &oa, &complete, &serr) != STORE_OK)
		goto store_fail;
	family(&p, "c2watch_records_by_origin_complete", "gauge",
	    "1 when c2watch_records covers every record held (0 in a data directory from "
	    "before the counts, until the daemon recounted).");
	emit(&p, "c2watch_records_by_origin_complete %d\n", complete);
	if (store_count_targets(s, NULL, &targets, &serr) != STORE_OK)
		goto store_fail;
	family(&p, "c2watch_targets", "gauge", "Destinations held.");
	emit(&p, "c2watch_targets %zu\n", targets);
	family(&p, "c2watch_store_bytes", "gauge", "Bytes the data file takes on disk.");
	emit(&p, "c2watch_store_bytes %lld\n", (long long)store_disk_bytes(s));
	family(&p, "c2watch_subscription_backlog_records", "gauge",
	    "Records waiting to be pushed to each push subscription (not ended).");
	if (fed_subs_list(s, "observations", sub_cb, &sa, terr, sizeof(terr)) != 0 || sa.failed) {
		util_seterr(err, errlen, "reading the subscriptions: %s", terr);
		return -1;
	}
	pthread_mutex_lock(&st->mu);
	counters(&p, st, util_now_us());
	pthread_mutex_unlock(&st->mu);
	if (p.failed) {
		util_seterr(err, errlen, "the metrics do not fit the answer");
		return -1;
	}
	return 0;
store_fail:
	util_seterr(err, errlen, "%s", serr.msg);
	return -1;
}
