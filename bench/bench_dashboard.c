/*
 * bench_dashboard: the dashboard at the first study's scale — 660 destinations (66 threat
 * IDs), 10 vantages, every 4 hours for 90 days (about 3.5 M records, bench_report's
 * history) — served over HTTP on 127.0.0.1 by the TAXII server's page hook, while another
 * thread writes as a busy node does: an observation cycle (one record per destination,
 * stored in batches of 100) and a merge (10,000 records of a peer in one transaction),
 * over and over. Prints one JSON line: the first request of `/` (the report built while
 * it waits), then for `/`, a threat ID's month and `/categories` the median and p99 of
 * REQUESTS requests, in milliseconds, once as served (the report rebuilt in the
 * background when records arrived and it is 5 s old) and once with the report rebuilt
 * in the background without pause (the worst a busy node's pages see).
 *
 * Usage: bench_dashboard [DESTINATIONS [DAYS [REQUESTS]]]   (defaults 660, 90, 40)
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "analysis/analysis.h"
#include "bench/bench_common.h"
#include "conf/conf.h"
#include "dash/dash.h"
#include "fed/fed.h"
#include "record/record.h"
#include "store/store.h"
#include "taxii/taxii.h"
#include "util/util.h"

#define VANTAGES 10
#define STEP_US ((int64_t)4 * 3600 * 1000000)
#define BATCH 20000

/* One record, as bench_report writes it: kinds by destination index (never answers, a
 * clock in the page, a shared sinkhole page, fades out after 30 days, a page of its own). */
static int
record_text(struct util_buf *b, const char *node, const char *vantage, long d, long c,
    int64_t t, unsigned char id[32])
{
	char target[128], at[UTIL_TIME_MAX], idhex[65], sha[65];
	unsigned char h[32];
	int kind = (int)(d % 10), answered = kind != 0 && !(kind == 3 && c > 180);

	snprintf(target, sizeof(target), "http://c2-%ld.example:8080/gate.php", d);
	util_time_format(t, 1, at);
	rec_id(node, target, t, id);
	util_hex(id, 32, idhex);
	util_buf_printf(b, "{\"id\":\"%s\",\"threat_id\":\"THREAT-%02ld\",\"node\":\"%s\","
	    "\"vantage\":\"%s\",\"observed_at\":\"%s\",\"target\":{\"input\":\"%s\","
	    "\"domain\":\"c2-%ld.example\",\"ipv4\":[\"203.0.113.%ld\"],\"ipv6\":[],\"port\":8080},"
	    "\"ping\":{\"sent\":4,\"received\":%d,\"loss_pct\":%s},", idhex, d / 10, node, vantage,
	    at, target, d, d % 250 + 1, answered ? 4 : 0, answered ? "0.0" : "100.0");
	if (answered) {
		char body[64];

		snprintf(body, sizeof(body), "%ld/%ld", kind == 2 ? -1L : d, kind == 1 ? c : 0);
		util_sha256(body, strlen(body), h);
		util_hex(h, 32, sha);
		return util_buf_printf(b, "\"http\":{\"status\":200,\"reason\":\"OK\",\"size\":5120,"
		    "\"sha256\":\"%s\",\"ssdeep\":\"96:Xk3Lm9QpTrW2bN8vYcHf5sDgJ1aZeKoU7iMxVqE4nBtR6y"
		    "PwS0lCjGhA%04ld:Xk3Lm9QpTrW2bN8vYcH%02ld\"},\"error\":null}", sha,
		    kind == 1 ? c : d, kind == 1 ? c % 100 : d % 100);
	}
	return util_buf_printf(b, "\"http\":null,\"error\":{\"kind\":\"timeout\",\"detail\":\"30 s\"}}");
}

struct batch {
	struct store_obs o[BATCH];
	size_t off[BATCH], n;
	char threat[BATCH][32], target[BATCH][80];
	struct util_buf text;
};

static int
put_batch(struct store_txn *t, void *arg)
{
	struct batch *b = arg;

	for (size_t i = 0; i < b->n; i++)
		b->o[i].json = b->text.data + b->off[i];
	return store_put_obs_batch(t, b->o, b->n, NULL, NULL);
}

static int
add(struct batch *b, const char *node, const char *vantage, long d, long c, int64_t t)
{
	struct store_obs *o = &b->o[b->n];
	size_t start = b->text.len;

	if (record_text(&b->text, node, vantage, d, c, t, o->id) != 0)
		return -1;
	snprintf(b->threat[b->n], 32, "THREAT-%02ld", d / 10);
	snprintf(b->target[b->n], 80, "http://c2-%ld.example:8080/gate.php", d);
	o->threat_id = b->threat[b->n];
	o->target_key = b->target[b->n];
	o->observed_us = t;
	o->len = b->text.len - start;
	b->off[b->n++] = start;
	return 0;
}

static int
flush(struct store *s, struct batch *b)
{
	struct store_err err = {0};
	int rc = 0;

	if (b->n && store_write(s, put_batch, b, &err) != STORE_OK) {
		fprintf(stderr, "bench_dashboard: %s\n", err.msg);
		rc = -1;
	}
	b->n = 0;
	util_buf_reset(&b->text);
	return rc;
}

struct writer {
	struct store *s;
	long ndest;
	int64_t t;
	volatile int stop;
	long cycles, merged;
	struct batch *b;
};

static void *
write_main(void *arg)
{
	struct writer *w = arg;

	while (!w->stop) {
		/* An observation cycle of this node: its records stored 100 at a time. */
		for (long d = 0; d < w->ndest && !w->stop; d++) {
			add(w->b, "bench-self", "here", d, 0, w->t + d * 1000);
			if (w->b->n == 100 && flush(w->s, w->b) != 0)
				return NULL;
		}
		flush(w->s, w->b);
		w->cycles++;
		/* A merge from a peer: 10,000 records in one transaction. */
		for (long k = 0; k < 10000 && !w->stop; k++)
			add(w->b, "bench-peer", "there", k % w->ndest, 0, w->t + k * 1000 + 7);
		flush(w->s, w->b);
		w->merged += 10000;
		w->t += STEP_US;
	}
	return NULL;
}

static size_t
sink(char *p, size_t sz, size_t n, void *arg)
{
	(void)p;
	*(size_t *)arg += sz * n;
	return sz * n;
}

static int
cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Times n GETs of path: median and p99 in ms; -1 on a failed request. */
static int
time_page(CURL *h, unsigned port, const char *path, int n, double *med, double *p99,
    size_t *bytes)
{
	char url[256];
	double *ms = calloc((size_t)n, sizeof(double));
	long code = 0;

	if (ms == NULL)
		return -1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	for (int i = 0; i < n; i++) {
		double t0 = bench_now();

		*bytes = 0;
		curl_easy_setopt(h, CURLOPT_WRITEDATA, bytes);
		if (curl_easy_perform(h) != CURLE_OK ||
		    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK || code != 200) {
			fprintf(stderr, "bench_dashboard: %s: HTTP %ld\n", path, code);
			free(ms);
			return -1;
		}
		ms[i] = (bench_now() - t0) * 1000.0;
	}
	qsort(ms, (size_t)n, sizeof(double), cmpd);
	*med = ms[n / 2];
	*p99 = ms[(size_t)((n - 1) * 0.99 + 0.5)];
	free(ms);
	return 0;
}

struct hook_ctx {
	struct dash *d;
};

static int
hook_get(void *ctx, const struct taxii_http_req *req, struct taxii_http_resp *resp,
    char *err, size_t errlen)
{
	return dash_serve(((struct hook_ctx *)ctx)->d, req, resp, err, errlen);
}

int
main(int argc, char **argv)
{
	long ndest = argc > 1 ? atol(argv[1]) : 660, days = argc > 2 ? atol(argv[2]) : 90;
	int nreq = argc > 3 ? atoi(argv[3]) : 40;
	long cycles = days * 6, n = 0;
	static const char *const paths[3] = {"/", "/threat/THREAT-07?month=2026-07", "/categories"};
	static const char *const names[3] = {"index", "threat_month", "categories"};
	char dir[] = "/tmp/c2w-bench-dash-XXXXXX", conftext[512], err[512];
	double med[2][3], p99[2][3], t_fill, first_ms = 0;
	size_t bytes[3];
	struct conf_err cerr;
	struct conf *c = NULL;
	struct store *s = NULL;
	struct store_err serr = {0};
	struct batch *b = calloc(1, sizeof(*b)), *wb = calloc(1, sizeof(*wb));
	struct writer w;
	struct dash_opts o;
	struct hook_ctx hc;
	struct taxii_http hook;
	struct fed_server_opts opts = {{NULL, NULL}, NULL, NULL};
	struct fed_server *fs = NULL;
	pthread_t th;
	int64_t t0;
	CURL *h;

	if (b == NULL || wb == NULL || ndest < 80 || days < 62 || nreq < 2 || mkdtemp(dir) == NULL) {
		fprintf(stderr, "usage: bench_dashboard [DESTINATIONS>=80 [DAYS>=62 [REQUESTS>=2]]]\n");
		return 2;
	}
	util_buf_init(&b->text, 0);
	util_buf_init(&wb->text, 0);
	snprintf(conftext, sizeof(conftext), "[node]\nid = bench-self\ndata_dir = %s/data\n"
	    "[server]\nlisten = 127.0.0.1:0\n", dir);
	if ((c = conf_load_string(conftext, "bench.conf", &cerr)) == NULL) {
		fprintf(stderr, "bench_dashboard: %s\n", cerr.msg);
		return 1;
	}
	if (store_open(c->node.data_dir, NULL, &s, &serr) != STORE_OK) {
		fprintf(stderr, "bench_dashboard: %s\n", serr.msg);
		return 1;
	}
	util_time_parse("2026-06-01T00:00:00Z", &t0);
	t_fill = bench_now();
	for (long cy = 0; cy < cycles; cy++)
		for (long d = 0; d < ndest; d++)
			for (int v = 0; v < VANTAGES; v++, n++) {
				char node[32], vant[16];

				snprintf(node, sizeof(node), "node-%d", v / 2);
				snprintf(vant, sizeof(vant), "v%d", v);
				if (add(b, node, vant, d, cy, t0 + cy * STEP_US + v * 60 * 1000000) != 0 ||
				    (b->n == BATCH && flush(s, b) != 0))
					return 1;
			}
	if (flush(s, b) != 0)
		return 1;
	t_fill = bench_now() - t_fill;

	for (int pass = 0; pass < 2; pass++) {
		struct dash *d;

		memset(&o, 0, sizeof(o));
		o.store = s;
		o.node_id = "bench-self";
		o.remove_after_us = (int64_t)30 * 86400 * 1000000;
		o.reuse_us = pass == 0 ? 0 : 1; /* as served, then rebuilt without pause */
		if ((d = dash_new(&o, err, sizeof(err))) == NULL)
			return 1;
		hc.d = d;
		hook.ctx = &hc;
		hook.get = hook_get;
		opts.http = &hook;
		if ((fs = fed_server_start(c, s, &opts, err, sizeof(err))) == NULL) {
			fprintf(stderr, "bench_dashboard: %s\n", err);
			return 1;
		}
		memset(&w, 0, sizeof(w));
		w.s = s;
		w.ndest = ndest;
		w.t = t0 + cycles * STEP_US + pass * 1000 * STEP_US;
		w.b = wb;
		if (pthread_create(&th, NULL, write_main, &w) != 0)
			return 1;
		h = curl_easy_init();
		{
			double m, q;

			/* The first request waits for the first build; the timed ones follow. */
			if (time_page(h, fed_server_port(fs, 0), "/", 1, &m, &q, &bytes[0]) != 0)
				return 1;
			if (pass == 0)
				first_ms = m;
		}
		for (int p = 0; p < 3; p++)
			if (time_page(h, fed_server_port(fs, 0), paths[p], nreq, &med[pass][p],
			    &p99[pass][p], &bytes[p]) != 0)
				return 1;
		curl_easy_cleanup(h);
		w.stop = 1;
		pthread_join(th, NULL);
		fed_server_stop(fs);
		dash_free(d);
		if (pass == 1)
			fprintf(stderr, "bench_dashboard: writes during the second pass: %ld cycles, "
			    "%ld merged\n", w.cycles, w.merged);
	}
	printf("{\"bench\": \"dashboard\", \"destinations\": %ld, \"vantages\": %d, \"days\": %ld, "
	    "\"records\": %ld, \"fill_s\": %.1f, \"requests\": %d, \"index_first_ms\": %.0f",
	    ndest, VANTAGES, days, n, t_fill, nreq, first_ms);
	for (int p = 0; p < 3; p++)
		printf(", \"%s_bytes\": %zu, \"%s_median_ms\": %.1f, \"%s_p99_ms\": %.1f, "
		    "\"%s_rebuilding_median_ms\": %.1f, \"%s_rebuilding_p99_ms\": %.1f", names[p], bytes[p],
		    names[p], med[0][p], names[p], p99[0][p], names[p], med[1][p], names[p],
		    p99[1][p]);
	printf("}\n");
	store_close(s);
	conf_free(c);
	util_buf_fini(&b->text);
	util_buf_fini(&wb->text);
	free(b);
	free(wb);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "bench_dashboard: could not remove %s\n", dir);
	}
	return 0;
}
