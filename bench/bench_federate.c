/*
 * bench_federate: two nodes on 127.0.0.1. Node A (a child process serving its store over
 * TAXII) holds N records (argv[1], default 1,000,000); node B, in this process, polls it
 * from zero with the same code `c2watch poll` runs, merging into its own store, then polls
 * again with nothing new. Prints one JSON line: records/s merged, seconds to converge,
 * peak RSS of both nodes, and the time of the second poll. peak_rss_kib_poller covers the
 * process's whole life (filling node A's store and B's store pages mapped in included);
 * peak_anon_kib_poll is the most anonymous memory (heap: what the poll itself holds) seen
 * while polling, sampled every 10 ms. poller_cpu_s and server_cpu_s are the CPU seconds
 * (user and system, every thread) each process spent on the first poll: on a shared
 * machine they vary far less than the wall-clock figures.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libxml/parser.h>

#include "bench/bench_common.h"
#include "conf/conf.h"
#include "fed/fed.h"
#include "store/store.h"

struct sampler {
	volatile int stop;
	long peak_kib;
};

static long
anon_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *fp = fopen("/proc/self/status", "r");

	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "RssAnon: %ld kB", &kib) == 1)
			break;
	fclose(fp);
	return kib;
}

static void *
sample(void *arg)
{
	struct sampler *sm = arg;

	while (!sm->stop) {
		long k = anon_kib();

		if (k > sm->peak_kib)
			sm->peak_kib = k;
		usleep(10000);
	}
	return NULL;
}

/* CPU seconds a process has used (user and system), or -1. */
static double
cpu_s(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	/* After the command name in parentheses: state, then 10 fields, then utime stime. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

int
main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
	char dir[] = "/tmp/c2w-bench-fed-XXXXXX", a[256], b[256], url[128], err[1024], cmd[300];
	struct store *s = NULL;
	struct store_err serr;
	struct conf_peer peer;
	struct fed_poll_stats st = {0}, st2 = {0};
	struct rusage ru;
	unsigned port = 0;
	pid_t server = -1;
	double t0, t_first, t_second, cpu0, scpu0, cpu_first, scpu_first;
	size_t held = 0;
	struct sampler sm = {0, -1};
	pthread_t sth;
	int rc = 1, sampling = 0;

	if (n <= 0 || mkdtemp(dir) == NULL) {
		fprintf(stderr, "usage: bench_federate [N>0]\n");
		return 2;
	}
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	if (bench_fill(a, "node-a", n) != 0)
		goto out;
	server = bench_server(a, "node-a", &port);
	if (server < 0) {
		fprintf(stderr, "bench_federate: node A did not start\n");
		goto out;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	xmlInitParser();
	if (store_open(b, NULL, &s, &serr) != STORE_OK) {
		fprintf(stderr, "bench_federate: %s\n", serr.msg);
		goto out;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/taxii/poll", port);
	memset(&peer, 0, sizeof(peer));
	peer.name = (char *)"node-a";
	peer.url = url;
	peer.collection = (char *)"observations";

	sampling = pthread_create(&sth, NULL, sample, &sm) == 0;
	cpu0 = cpu_s(getpid());
	scpu0 = cpu_s(server);
	t0 = bench_now();
	if (fed_peer_poll(s, &peer, "peer node-a", NULL, NULL, NULL, &st, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_federate: first poll: %s\n", err);
		goto out;
	}
	t_first = bench_now() - t0;
	cpu_first = cpu_s(getpid()) - cpu0;
	scpu_first = cpu_s(server) - scpu0;
	t0 = bench_now();
	if (fed_peer_poll(s, &peer, "peer node-a", NULL, NULL, NULL, &st2, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_federate: second poll: %s\n", err);
		goto out;
	}
	t_second = bench_now() - t0;
	sm.stop = 1;
	if (sampling)
		pthread_join(sth, NULL);
	sampling = 0;
	store_count_records(s, &held, &serr);
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"records\":%ld,\"merged\":%zu,\"seconds_to_converge\":%.3f,"
	       "\"records_per_s\":%.0f,\"second_poll_s\":%.4f,\"second_poll_new\":%zu,"
	       "\"peak_rss_kib_server\":%ld,\"peak_rss_kib_poller\":%ld,"
	       "\"peak_anon_kib_poll\":%ld,\"poller_cpu_s\":%.2f,\"server_cpu_s\":%.2f}\n",
	    n, st.added, t_first, (double)st.added / t_first, t_second, st2.added,
	    bench_peak_rss_kib(server), ru.ru_maxrss, sm.peak_kib, cpu_first, scpu_first);
	rc = held == (size_t)n && st2.added == 0 ? 0 : 1;
	if (rc)
		fprintf(stderr, "bench_federate: B holds %zu records of %ld\n", held, n);
out:
	sm.stop = 1;
	if (sampling)
		pthread_join(sth, NULL);
	store_close(s);
	if (server > 0)
		bench_server_stop(server);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_federate: could not remove %s\n", dir);
	return rc;
}
