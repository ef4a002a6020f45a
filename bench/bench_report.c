/*
 * bench_report: a history at the first study's scale — 660 destinations (66 threat IDs),
 * 10 vantages, every 4 hours for 90 days (about 3.5 M records) — written as a JSON
 * records file, imported through `import --format json`'s code, then reported on. Prints
 * one JSON line: import records/s, seconds for the full report (built and written as
 * JSON), seconds for one threat ID's month, peak RSS and the anonymous memory (what is
 * not the mapped store): its peak during the import (sampled every 20 ms), and after the
 * import and after the reports.
 *
 * Usage: bench_report [DESTINATIONS [DAYS]]   (defaults 660 and 90)
 */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analysis/analysis.h"
#include "bench/bench_common.h"
#include "conf/conf.h"
#include "node/cli.h"
#include "record/record.h"
#include "store/store.h"
#include "util/util.h"

#define VANTAGES 10
#define STEP_US ((int64_t)4 * 3600 * 1000000)

static long
status_kib(const char *field)
{
	char line[256];
	long v = -1;
	FILE *fp = fopen("/proc/self/status", "r");

	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (strncmp(line, field, strlen(field)) == 0)
			v = strtol(line + strlen(field), NULL, 10);
	fclose(fp);
	return v;
}

/* The import's peak anonymous memory, sampled beside it: the mapped store's pages are
 * file-backed, so RssAnon is what the import itself holds. */
struct sampler {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	long peak_kib;
};

static void *
sample_loop(void *arg)
{
	struct sampler *sp = arg;

	pthread_mutex_lock(&sp->mu);
	while (!sp->stop) {
		struct timespec ts;
		long kib = status_kib("RssAnon:");

		if (kib > sp->peak_kib)
			sp->peak_kib = kib;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&sp->cv, &sp->mu, &ts);
	}
	pthread_mutex_unlock(&sp->mu);
	return NULL;
}

/* One record line. Destination kinds by index: never answers, a clock in the page (a
 * small change each time), a sinkhole page shared by many, fades out after 30 days, and
 * otherwise a page of its own that never changes. */
static void
write_record(FILE *fp, long d, int v, long c, int64_t t)
{
	char target[128], node[32], at[UTIL_TIME_MAX], idhex[65], sha[65];
	unsigned char id[32], h[32];
	int kind = (int)(d % 10), answered = kind != 0 && !(kind == 3 && c > 180);

	snprintf(target, sizeof(target), "http://c2-%ld.example:8080/gate.php", d);
	snprintf(node, sizeof(node), "node-%d", v / 2);
	util_time_format(t, 1, at);
	rec_id(node, target, t, id);
	util_hex(id, 32, idhex);
	fprintf(fp,
	    "{\"id\":\"%s\",\"threat_id\":\"THREAT-%02ld\",\"node\":\"%s\","
	    "\"vantage\":\"v%d\",\"observed_at\":\"%s\",\"target\":{\"input\":\"%s\","
	    "\"domain\":\"c2-%ld.example\",\"ipv4\":[\"203.0.113.%ld\"],\"ipv6\":[],\"port\":8080},"
	    "\"ping\":{\"sent\":4,\"received\":%d,\"loss_pct\":%s},",
	    idhex, d / 10, node, v, at, target, d, d % 250 + 1, answered ? 4 : 0,
	    answered ? "0.0" : "100.0");
	if (answered) {
		char body[64];

		snprintf(body, sizeof(body), "%ld/%ld", kind == 2 ? -1L : d, kind == 1 ? c : 0);
		util_sha256(body, strlen(body), h);
		util_hex(h, 32, sha);
		fprintf(fp,
		    "\"http\":{\"status\":200,\"reason\":\"OK\",\"size\":5120,\"sha256\":\"%s\","
		    "\"ssdeep\":\"96:Xk3Lm9QpTrW2bN8vYcHf5sDgJ1aZeKoU7iMxVqE4nBtR6yPwS0lCjGhA%04ld:"
		    "Xk3Lm9QpTrW2bN8vYcH%02ld\"},\"error\":null}\n",
		    sha, kind == 1 ? c : d, kind == 1 ? c % 100 : d % 100);
	} else {
		fprintf(
		    fp, "\"http\":null,\"error\":{\"kind\":\"timeout\",\"detail\":\"30 s\"}}\n");
	}
}

int
main(int argc, char **argv)
{
	long ndest = argc > 1 ? atol(argv[1]) : 660, days = argc > 2 ? atol(argv[2]) : 90;
	long cycles = days * 6, n = 0;
	char dir[] = "/tmp/c2w-bench-report-XXXXXX", file[256], conftext[512], err[512];
	struct conf_err cerr;
	struct conf *c = NULL;
	struct store *s = NULL;
	struct store_err serr;
	struct an_report *r = NULL;
	struct util_buf out;
	struct an_query q;
	int64_t t0, month_from, month_to;
	double t_imp, t_full, t_month;
	long anon_import, anon_report;
	struct sampler sp = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 };
	pthread_t sth;
	int devnull, saved, rc;
	FILE *fp;

	if (ndest < 10 || days < 31 || mkdtemp(dir) == NULL) {
		fprintf(stderr, "usage: bench_report [DESTINATIONS>=10 [DAYS>=31]]\n");
		return 2;
	}
	util_time_parse("2026-06-01T00:00:00Z", &t0);
	snprintf(file, sizeof(file), "%s/history.json", dir);
	fp = fopen(file, "w");
	if (fp == NULL)
		return 1;
	/* In time order, cycle by cycle, as a node's own history would be exported. */
	for (long cy = 0; cy < cycles; cy++)
		for (long d = 0; d < ndest; d++)
			for (int v = 0; v < VANTAGES; v++, n++)
				write_record(fp, d, v, cy, t0 + cy * STEP_US + v * 60 * 1000000);
	if (fclose(fp) != 0)
		return 1;
	snprintf(conftext, sizeof(conftext), "[node]\nid = bench\ndata_dir = %s/data\n", dir);
	c = conf_load_string(conftext, "bench.conf", &cerr);
	if (c == NULL) {
		fprintf(stderr, "bench_report: %s\n", cerr.msg);
		return 1;
	}

	/* import: its summary line goes to /dev/null, the benchmark's line to stdout */
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	devnull = open("/dev/null", O_WRONLY);
	dup2(devnull, STDOUT_FILENO);
	if (pthread_create(&sth, NULL, sample_loop, &sp) != 0)
		return 1;
	t_imp = bench_now();
	rc = cli_import_json(c, file);
	t_imp = bench_now() - t_imp;
	pthread_mutex_lock(&sp.mu);
	sp.stop = 1;
	pthread_cond_signal(&sp.cv);
	pthread_mutex_unlock(&sp.mu);
	pthread_join(sth, NULL);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(devnull);
	close(saved);
	if (rc != 0) {
		fprintf(stderr, "bench_report: import failed\n");
		return 1;
	}
	unlink(file);
	anon_import = status_kib("RssAnon:");

	if (store_open(c->node.data_dir, NULL, &s, &serr) != STORE_OK) {
		fprintf(stderr, "bench_report: %s\n", serr.msg);
		return 1;
	}
	memset(&q, 0, sizeof(q));
	q.from_us = INT64_MIN;
	q.to_us = t0 + cycles * STEP_US;
	q.remove_after_us = (int64_t)30 * 86400 * 1000000;
	q.self_node = "node-0";
	util_buf_init(&out, 0);
	t_full = bench_now();
	if (an_report_build(s, &q, &r, err, sizeof(err)) != 0 || an_report_json(r, &out) != 0) {
		fprintf(stderr, "bench_report: %s\n", err);
		return 1;
	}
	t_full = bench_now() - t_full;
	an_report_free(r);
	util_buf_reset(&out);
	util_time_parse("2026-07-01", &month_from);
	util_time_parse("2026-08-01", &month_to);
	q.threat_id = "THREAT-07";
	q.from_us = month_from;
	q.to_us = month_to;
	t_month = bench_now();
	if (an_report_build(s, &q, &r, err, sizeof(err)) != 0 || an_report_json(r, &out) != 0) {
		fprintf(stderr, "bench_report: %s\n", err);
		return 1;
	}
	t_month = bench_now() - t_month;
	anon_report = status_kib("RssAnon:");
	printf("{\"bench\": \"report\", \"destinations\": %ld, \"vantages\": %d, \"days\": %ld, "
	       "\"records\": %ld, \"import_records_per_s\": %.0f, \"import_s\": %.1f, "
	       "\"full_report_s\": %.3f, \"threat_month_report_s\": %.4f, \"peak_rss_mib\": %.1f, "
	       "\"anon_rss_after_import_mib\": %.1f, \"anon_rss_after_reports_mib\": %.1f, "
	       "\"store_disk_mib\": %.0f, \"peak_anon_rss_import_mib\": %.1f}\n",
	    ndest, VANTAGES, days, n, (double)n / t_imp, t_imp, t_full, t_month,
	    status_kib("VmHWM:") / 1024.0, anon_import / 1024.0, anon_report / 1024.0,
	    (double)store_disk_bytes(s) / 1048576.0, sp.peak_kib / 1024.0);
	an_report_free(r);
	util_buf_fini(&out);
	store_close(s);
	conf_free(c);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "bench_report: could not remove %s\n", dir);
	}
	return 0;
}
