/*
 * bench_store: inserts N observation records (argv[1], default 1,000,000) in batches into
 * a fresh store, then scans them by threat ID and in feed order, and prints one JSON line:
 * inserts/s, records scanned/s for both scans, peak RSS and bytes on disk per record.
 *
 * Records are realistic record JSON (about 1,000 bytes), spread over 100 threat IDs and
 * 50 targets each, with times a cycle apart, written 100,000 to a transaction. Syncing is
 * on, as in production (one fsync per batch), unless --no-sync is given. Records are
 * made before the clock starts, so inserts/s is the store's own figure.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "record/record.h"
#include "store/store.h"
#include "util/util.h"

#define THREATS 100
#define TARGETS 50
#define BATCH 100000

#define JSON_MAX 1024

struct gen {
	long first, n;
	char *json;              /* BATCH * JSON_MAX bytes */
	struct store_obs *obs;   /* BATCH records */
	char (*threats)[32];     /* THREATS names */
	char (*keys)[64];        /* THREATS * TARGETS target keys */
};


static void
make_batch(const struct gen *g)
{
	char key[64], threat[32], when[UTIL_TIME_MAX], idhex[65];

	for (long i = g->first; i < g->first + g->n; i++) {
		struct store_obs o;
		char *json = g->json + (i - g->first) * JSON_MAX;
		const size_t jcap = JSON_MAX;
		int len;

		snprintf(threat, sizeof(threat), "THREAT-%03ld", i % THREATS);
		snprintf(key, sizeof(key), "http://c2-%ld-%ld.example:8080/gate.php", i % THREATS,
		    (i / THREATS) % TARGETS);
		memset(&o, 0, sizeof(o));
		o.origin = "bench-node";
		o.threat_id = threat;
		o.target_key = key;
		o.observed_us = INT64_C(1795320000000000) + i / (THREATS * TARGETS) * INT64_C(14400000000);
		rec_id("bench-node", key, o.observed_us, o.id);
		util_hex(o.id, STORE_ID_LEN, idhex);
		util_time_format(o.observed_us, 0, when);
		len = snprintf(json, jcap,
		    "{\"id\":\"%s\",\"threat_id\":\"%s\",\"node\":\"bench-node\",\"vantage\":\"tokyo\","
		    "\"observed_at\":\"%s\",\"target\":{\"input\":\"%s\",\"domain\":\"c2.example\","
		    "\"ipv4\":[\"203.0.113.5\"],\"ipv6\":[],\"port\":8080,\"user_agent\":\"Mozilla/5.0\"},"
		    "\"ping\":{\"sent\":4,\"received\":3,\"loss_pct\":25.0,\"rtt_avg_ms\":12.3,\"ttl\":52},"
		    "\"robots\":{\"status\":404,\"present\":false,\"allowed\":true},"
		    "\"http\":{\"status\":200,\"reason\":\"OK\",\"content_type\":\"text/html\","
		    "\"server\":\"nginx\",\"location\":null,\"redirects\":[],\"size\":1234,"
		    "\"truncated\":false,\"sha256\":\"%s\",\"filetype\":\"HTML document, ASCII text\","
		    "\"ssdeep\":\"24:abcdefghijklmnopqrstuv:abcdefghijkl\",\"tls_sha256\":null,"
		    "\"elapsed_ms\":41},\"error\":null}",
		    idhex, threat, when, key, idhex);
		o.json = json;
		o.len = (size_t)len;
		/* The strings the record points to must outlive the loop. */
		g->obs[i - g->first] = o;
		g->obs[i - g->first].threat_id = g->threats[i % THREATS];
		g->obs[i - g->first].target_key = g->keys[(i % THREATS) * TARGETS + (i / THREATS) % TARGETS];
	}
}

static int
put_batch(struct store_txn *t, void *arg)
{
	const struct gen *g = arg;

	return store_put_obs_batch(t, g->obs, (size_t)g->n, NULL, NULL) == STORE_OK ? 0 : -1;
}

static int
count_cb(int64_t label, const unsigned char *id, const char *json, size_t len, void *arg)
{
	long *n = arg;

	(*n)++;
	return 0;
}

int
main(int argc, char **argv)
{
	long n = 1000000;
	int no_sync = 0;
	char dir[] = "/tmp/c2w-bench-store-XXXXXX", cmd[128];
	struct store_err err;
	struct store *s = NULL;
	struct rusage ru;
	double t0, t_ins = 0, t_threat, t_feed;
	long scanned_threat = 0, scanned_feed = 0;
	static char threats[THREATS][32], keys[THREATS * TARGETS][64];
	struct gen g = {0};
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--no-sync") == 0)
			no_sync = 1;
		else
			n = strtol(argv[i], NULL, 10);
	}
	if (n <= 0 || mkdtemp(dir) == NULL) {
		fprintf(stderr, "usage: bench_store [N>0] [--no-sync]\n");
		return 2;
	}
	if (store_open(dir, &(struct store_opts){.no_sync = no_sync}, &s, &err) != STORE_OK) {
		fprintf(stderr, "bench_store: %s\n", err.msg);
		goto out;
	}
	for (int i = 0; i < THREATS; i++) {
		snprintf(threats[i], sizeof(threats[i]), "THREAT-%03d", i);
		for (int j = 0; j < TARGETS; j++)
			snprintf(keys[i * TARGETS + j], sizeof(keys[0]),
			    "http://c2-%d-%d.example:8080/gate.php", i, j);
	}
	g.threats = threats;
	g.keys = keys;
	g.json = malloc((size_t)BATCH * JSON_MAX);
	g.obs = calloc(BATCH, sizeof(*g.obs));
	if (g.json == NULL || g.obs == NULL) {
		fprintf(stderr, "bench_store: out of memory\n");
		goto out;
	}
	for (long first = 0; first < n; first += BATCH) {
		g.first = first;
		g.n = n - first < BATCH ? n - first : BATCH;
		/* Records are made before the clock starts: the figure is the store's. */
		make_batch(&g);
		t0 = (double)util_mono_us() / 1e6;

		if (store_write(s, put_batch, &g, &err) != STORE_OK) {
			fprintf(stderr, "bench_store: %s\n", err.msg);
			goto out;
		}
		t_ins += (double)util_mono_us() / 1e6 - t0;
	}

	t0 = (double)util_mono_us() / 1e6;
	for (int i = 0; i < THREATS; i++) {
		char threat[32];

		snprintf(threat, sizeof(threat), "THREAT-%03d", i);
		if (store_scan_obs(s, threat, NULL, INT64_MIN, INT64_MAX, count_cb, &scanned_threat,
			&err) != STORE_OK) {
			fprintf(stderr, "bench_store: %s\n", err.msg);
			goto out;
		}
	}
	t_threat = (double)util_mono_us() / 1e6 - t0;

	t0 = (double)util_mono_us() / 1e6;
	if (store_scan_feed(s, 0, INT64_MAX, 0, count_cb, &scanned_feed, NULL, &err) != STORE_OK) {
		fprintf(stderr, "bench_store: %s\n", err.msg);
		goto out;
	}
	t_feed = (double)util_mono_us() / 1e6 - t0;

	getrusage(RUSAGE_SELF, &ru);
	printf("{\"records\":%ld,\"inserts_per_s\":%.0f,\"scan_threat_records_per_s\":%.0f,"
	       "\"scan_feed_records_per_s\":%.0f,\"scanned_threat\":%ld,\"scanned_feed\":%ld,"
	       "\"peak_rss_kib\":%ld,\"sync\":%s,\"disk_bytes_per_record\":%.1f,"
	       "\"insert_s\":%.3f}\n",
	    n, (double)n / t_ins, (double)scanned_threat / t_threat,
	    (double)scanned_feed / t_feed, scanned_threat, scanned_feed, ru.ru_maxrss,
	    no_sync ? "false" : "true", (double)store_disk_bytes(s) / (double)n, t_ins);
	rc = (scanned_threat == n && scanned_feed == n) ? 0 : 1;
out:
	free(g.json);
	free(g.obs);
	store_close(s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_store: could not remove %s\n", dir);
	return rc;
}
