/* Helpers of the TAXII benchmarks: a store filled with realistic records and a server
 * child process over it, so the server's memory is measured on its own. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libxml/parser.h>

#include "bench/bench_common.h"
#include "conf/conf.h"
#include "fed/fed.h"
#include "record/record.h"
#include "store/store.h"
#include "util/util.h"

#define BATCH 10000
#define JSON_MAX 1200

double
bench_now(void)
{
	return (double)util_mono_us() / 1e6;
}

struct fill {
	const char *node;
	long first, n;
	char *json;
	char (*keys)[80];
	char (*threats)[32];
	struct store_obs *obs;
};

static int
fill_txn(struct store_txn *t, void *arg)
{
	const struct fill *f = arg;

	return store_put_obs_batch(t, f->obs, (size_t)f->n, NULL, NULL) == STORE_OK ? 0 : -1;
}

int
bench_fill(const char *dir, const char *node, long n)
{
	struct store *s = NULL;
	struct store_err err;
	struct fill f = {node, 0, 0, NULL, NULL, NULL, NULL};
	int ret = -1;

	f.json = malloc((size_t)BATCH * JSON_MAX);
	f.keys = calloc(BATCH, sizeof(*f.keys));
	f.threats = calloc(BATCH, sizeof(*f.threats));
	f.obs = calloc(BATCH, sizeof(*f.obs));
	if (!f.json || !f.keys || !f.threats || !f.obs ||
	    store_open(dir, &(struct store_opts){.no_sync = 1}, &s, &err) != 0) {
		fprintf(stderr, "bench: cannot set up the store in %s\n", dir);
		goto out;
	}
	for (long first = 0; first < n; first += BATCH) {
		f.first = first;
		f.n = n - first < BATCH ? n - first : BATCH;
		for (long i = 0; i < f.n; i++) {
			long k = first + i;
			struct store_obs *o = &f.obs[i];
			char idhex[65], when[UTIL_TIME_MAX], *j = f.json + i * JSON_MAX;
			int len;

			snprintf(f.threats[i], sizeof(f.threats[i]), "THREAT-%03ld", k % 100);
			snprintf(f.keys[i], sizeof(f.keys[i]), "http://c2-%ld-%ld.example:8080/gate.php",
			    k % 100, (k / 100) % 50);
			o->threat_id = f.threats[i];
			o->target_key = f.keys[i];
			o->origin = node;
			o->observed_us = INT64_C(1795320000000000) + k / 5000 * INT64_C(14400000000);
			rec_id(node, f.keys[i], o->observed_us, o->id);
			util_hex(o->id, STORE_ID_LEN, idhex);
			util_time_format(o->observed_us, 0, when);
			len = snprintf(j, JSON_MAX,
			    "{\"id\":\"%s\",\"threat_id\":\"%s\",\"node\":\"%s\",\"vantage\":\"tokyo\","
			    "\"observed_at\":\"%s\",\"target\":{\"input\":\"%s\",\"domain\":\"c2.example\","
			    "\"ipv4\":[\"203.0.113.5\"],\"ipv6\":[],\"port\":8080,\"user_agent\":"
			    "\"Mozilla/5.0\"},\"ping\":{\"sent\":4,\"received\":3,\"loss_pct\":25.0,"
			    "\"rtt_avg_ms\":12.3,\"ttl\":52},\"robots\":{\"status\":404,\"present\":false,"
			    "\"allowed\":true},\"http\":{\"status\":200,\"reason\":\"OK\",\"content_type\":"
			    "\"text/html\",\"server\":\"nginx\",\"location\":null,\"redirects\":[],"
			    "\"size\":1234,\"truncated\":false,\"sha256\":\"%s\",\"filetype\":"
			    "\"HTML document, ASCII text\",\"ssdeep\":\"24:abcdefghijkl:abcdef\","
			    "\"tls_sha256\":null,\"elapsed_ms\":41},\"error\":null}",
			    idhex, f.threats[i], node, when, f.keys[i], idhex);
			o->json = j;
			o->len = (size_t)len;
		}
		if (store_write(s, fill_txn, &f, &err) != STORE_OK) {
			fprintf(stderr, "bench: %s\n", err.msg);
			goto out;
		}
	}
	ret = 0;
out:
	store_close(s);
	free(f.json);
	free(f.keys);
	free(f.threats);
	free(f.obs);
	return ret;
}

static volatile sig_atomic_t stop_server;

static void
on_term(int sig)
{
	(void)sig;
	stop_server = 1;
}

pid_t
bench_server(const char *dir, const char *node, unsigned *port)
{
	int fds[2];
	pid_t pid;

	if (pipe(fds) != 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char text[1024], err[512];
		struct conf_err cerr;
		struct store_err serr;
		struct conf *c;
		struct store *s = NULL;
		struct fed_server *nt;
		unsigned p = 0;

		close(fds[0]);
		signal(SIGTERM, on_term);
		curl_global_init(CURL_GLOBAL_DEFAULT);
		xmlInitParser();
		snprintf(text, sizeof(text),
		    "[node]\nid = %s\ndata_dir = %s\n[server]\nlisten = 127.0.0.1:0\n", node, dir);
		c = conf_load_string(text, "/bench.conf", &cerr);
		if (c == NULL || store_open(dir, NULL, &s, &serr) != 0)
			_exit(1);
		nt = fed_server_start(c, s, NULL, err, sizeof(err));
		if (nt == NULL) {
			fprintf(stderr, "bench server: %s\n", err);
			_exit(1);
		}
		p = fed_server_port(nt, 0);
		if (write(fds[1], &p, sizeof(p)) != (ssize_t)sizeof(p))
			_exit(1);
		close(fds[1]);
		while (!stop_server)
			pause();
		fed_server_stop(nt);
		store_close(s);
		conf_free(c);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], port, sizeof(*port)) != (ssize_t)sizeof(*port)) {
		close(fds[0]);
		bench_server_stop(pid);
		return -1;
	}
	close(fds[0]);
	return pid;
}

long
bench_peak_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	fp = fopen(path, "r");
	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	fclose(fp);
	return kib;
}

void
bench_server_stop(pid_t pid)
{
	int status;

	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
}
