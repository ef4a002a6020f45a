/*
 * bench_observe: one full observation cycle over N targets of the simulated C2 farm, each
 * on a loopback address of its own (robots.txt, GET, one ping, body hashes, records stored
 * in a temporary store), then the same robots.txt and page URLs fetched by the curl
 * command-line tool (--parallel --parallel-max 256) for comparison. Prints one JSON line.
 * The targets are made one at a time as the cycle asks for them, and the farm is as many
 * processes as needed (each serves BENCH_FARM_SPAN addresses), so that the peak RSS
 * reported is the observer's and the store's, whatever N.
 *
 * Usage: bench_observe [N] [FARM]    (N default 10000, at most 200000; FARM default
 * tests/c2farm). Target i listens on 127.(20 + i / 50000).(i / 250 % 200).(i % 250 + 1).
 * BENCH_PING=K sets the echoes per target (default 1); BENCH_NO_STORE=1 leaves the store
 * out, to tell its share of time and memory apart; BENCH_WINDOW=W sets the observer's
 * window; BENCH_NO_CURL=1 skips the curl run (ratio 0). peak_rss_kb is the whole process
 * (ru_maxrss); peak_anon_kb its largest RssAnon (heap and stacks, without mapped files such
 * as the store's data file), rss_file_kb the mapped file pages resident at the end and
 * rss_anon_kb the RssAnon at the end (after the cycle, before curl).
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "observer/observer.h"
#include "record/record.h"
#include "store/store.h"
#include "util/util.h"

#define BENCH_BATCH 256
#define BENCH_MAX 200000
#define BENCH_FARM_SPAN 15000 /* listeners per farm process: under its limit of 16384 */
#define BENCH_MAX_FARMS ((BENCH_MAX + BENCH_FARM_SPAN - 1) / BENCH_FARM_SPAN)

static pid_t farm_pids[BENCH_MAX_FARMS];
static size_t nfarms;
static char dir[256];


__attribute__((format(printf, 1, 2), noreturn)) static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bench_observe: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	for (size_t i = 0; i < nfarms; i++)
		kill(farm_pids[i], SIGTERM);
	exit(1);
}

struct sink {
	struct store *s;
	json_t *batch;
	size_t stored;
	long peak_anon_kb; /* the largest RssAnon seen: the heap without mapped store pages */
};

/* A field of /proc/self/status in kB, or -1. */
static long
status_kb(const char *field)
{
	char line[256];
	size_t fl = strlen(field);
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, fl) == 0 && line[fl] == ':')
			v = strtol(line + fl + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

/* Target i's loopback address (see the usage). */
static void
bench_addr(size_t i, char *buf, size_t len)
{
	snprintf(buf, len, "127.%zu.%zu.%zu", 20 + i / 50000, i / 250 % 200, i % 250 + 1);
}

static int
sink_txn(struct store_txn *t, void *arg)
{
	struct sink *k = arg;
	size_t n = json_array_size(k->batch);
	struct store_obs obs[BENCH_BATCH];
	char *texts[BENCH_BATCH];
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		json_t *r = json_array_get(k->batch, i);
		const char *key = json_string_value(json_object_get(json_object_get(r, "target"),
		    "input"));

		texts[i] = json_dumps(r, JSON_COMPACT);
		obs[i].threat_id = json_string_value(json_object_get(r, "threat_id"));
		obs[i].target_key = key;
		util_time_parse(json_string_value(json_object_get(r, "observed_at")),
		    &obs[i].observed_us);
		util_unhex(json_string_value(json_object_get(r, "id")), obs[i].id, STORE_ID_LEN);
		obs[i].json = texts[i] ? texts[i] : "{}";
		obs[i].len = strlen(obs[i].json);
		obs[i].origin = json_string_value(json_object_get(r, "node"));
	}
	if (store_put_obs_batch(t, obs, n, NULL, NULL) != STORE_OK)
		rc = -1;
	for (size_t i = 0; i < n; i++)
		free(texts[i]);
	return rc;
}

static int
sink_flush(struct sink *k)
{
	struct store_err err = {{0}};
	size_t n = json_array_size(k->batch);

	long anon = status_kb("RssAnon");

	if (anon > k->peak_anon_kb)
		k->peak_anon_kb = anon;
	if (n == 0)
		return 0;
	if (getenv("BENCH_NO_STORE") != NULL) {
		json_array_clear(k->batch);
		return 0;
	}
	if (store_write(k->s, sink_txn, k, &err) != STORE_OK) {
		fprintf(stderr, "bench_observe: store: %s\n", err.msg);
		return -1;
	}
	k->stored += n;
	json_array_clear(k->batch);
	return 0;
}

static int
sink_record(json_t *rec, void *arg)
{
	struct sink *k = arg;

	json_array_append(k->batch, rec);
	return json_array_size(k->batch) >= BENCH_BATCH ? sink_flush(k) : 0;
}

/* Starts one farm process on `script` and reads its "listen tI ADDR PORT" lines into
 * ports[I] until "listening". Returns the number of listeners read. */
static size_t
farm_start(const char *farm, const char *script, size_t n, unsigned short *ports)
{
	int fds[2];
	FILE *in;
	char line[256];
	size_t got = 0;
	pid_t pid;

	if (pipe(fds) != 0)
		die("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl(farm, farm, script, (char *)NULL);
		_exit(127);
	}
	farm_pids[nfarms++] = pid;
	close(fds[1]);
	in = fdopen(fds[0], "r");
	while (in && fgets(line, sizeof(line), in) != NULL) {
		char a[64];
		size_t idx;
		int p;

		if (strcmp(line, "listening\n") == 0)
			break;
		if (sscanf(line, "listen t%zu %63s %d", &idx, a, &p) == 3 && idx < n && p > 0 &&
		    p < 65536) {
			ports[idx] = (unsigned short)p;
			got++;
		}
	}
	if (in)
		fclose(in);
	return got;
}

/* The cycle's targets, made as it asks for them. */
struct gen {
	size_t i, n;
	const unsigned short *ports;
};

static int
gen_next(void *arg, json_t **out)
{
	struct gen *g = arg;
	char a[64], u[128];

	if (g->i >= g->n)
		return 0;
	bench_addr(g->i, a, sizeof(a));
	snprintf(u, sizeof(u), "http://%s:%d/gate.php", a, g->ports[g->i]);
	g->i++;
	*out = json_pack("{s:s, s:s}", "threat_id", "BENCH", "url", u);
	return *out ? 1 : -1;
}

int
main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
	const char *farm = argc > 2 ? argv[2] : "tests/c2farm";
	char script[300], curlcfg[300], storedir[300], cmd[1200], err[256];
	unsigned short *ports;
	struct obs_cycle_stats st;
	struct sink k = {0};
	struct store_err serr = {{0}};
	struct rusage ru;
	FILE *f, *cf;
	double t0, t_obs, t_curl;
	size_t got = 0;

	if (n == 0 || n > BENCH_MAX)
		die("N must be 1..%d, not %zu", BENCH_MAX, n);
	/* The farm is a check program, not built by a plain make. */
	if (access(farm, X_OK) != 0)
		die("%s: %s; build it with `make tests/c2farm` (or give the farm's path as the "
		    "second argument)", farm, strerror(errno));
	snprintf(dir, sizeof(dir), "%s/c2w-bench-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") :
	    "/tmp");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp: %s", strerror(errno));
	snprintf(curlcfg, sizeof(curlcfg), "%s/curl.cfg", dir);
	snprintf(storedir, sizeof(storedir), "%s/store", dir);
	ports = calloc(n, sizeof(*ports));
	k.batch = json_array();
	if (ports == NULL || k.batch == NULL)
		die("out of memory");
	for (size_t base = 0; base < n; base += BENCH_FARM_SPAN) {
		size_t end = base + BENCH_FARM_SPAN < n ? base + BENCH_FARM_SPAN : n;

		snprintf(script, sizeof(script), "%s/farm%zu.script", dir, nfarms);
		f = fopen(script, "w");
		if (f == NULL)
			die("%s: cannot write", script);
		for (size_t i = base; i < end; i++) {
			char a[64];

			bench_addr(i, a, sizeof(a));
			fprintf(f, "listen t%zu %s 0\n", i, a);
		}
		fprintf(f, "rule * /robots.txt * page type=text/plain body=\"User-agent: *\\n"
			   "Disallow: /admin\\n\"\n"
			   "rule * * * page server=nginx type=text/html body=\"<html><head><title>"
			   "panel</title></head><body><form action=/gate.php method=post><input "
			   "name=id></form></body></html>\"\n");
		fclose(f);
		got += farm_start(farm, script, n, ports);
	}
	if (got == 0)
		die("the farm %s started no listeners: is it tests/c2farm of this tree (`make "
		    "tests/c2farm`)?", farm);
	if (got != n)
		die("the farm started %zu listeners of %zu (too few file descriptors? ulimit -n)",
		    got, n);
	cf = fopen(curlcfg, "w");
	if (cf == NULL)
		die("%s: cannot write", curlcfg);
	for (size_t i = 0; i < n; i++) {
		char a[64];

		bench_addr(i, a, sizeof(a));
		fprintf(cf, "url = \"http://%s:%d/robots.txt\"\noutput = /dev/null\n"
			    "url = \"http://%s:%d/gate.php\"\noutput = /dev/null\n", a, ports[i], a,
		    ports[i]);
	}
	fclose(cf);

	curl_global_init(CURL_GLOBAL_ALL);
	if (store_open(storedir, &(struct store_opts){.no_sync = 1}, &k.s, &serr) != STORE_OK)
		die("store: %s", serr.msg);
	struct obs_config cfg = {
	    .node_id = "bench",
	    .concurrency = 256,
	    .host_spacing_us = 0,
	    .user_agent = "Mozilla/5.0 (compatible)",
	    .accept_encoding = "gzip, deflate",
	    .connect_timeout_us = 5000000,
	    .timeout_us = 15000000,
	    .max_redirects = 5,
	    .ping_count = 1,
	    .robots_respect = 1,
	    .allow_private = 1,
	    .dns_servers = "127.0.0.1:1",
	};
	struct gen g = {0, n, ports};

	if (getenv("BENCH_PING") != NULL)
		cfg.ping_count = (unsigned)atoi(getenv("BENCH_PING"));
	if (getenv("BENCH_WINDOW") != NULL)
		cfg.window = strtoul(getenv("BENCH_WINDOW"), NULL, 10);
	t0 = (double)util_mono_us() / 1e6;
	if (obs_cycle_run_iter(&cfg, gen_next, &g, n, sink_record, &k, &st, err,
		sizeof(err)) != 0 || sink_flush(&k) != 0)
		die("cycle: %s", err);
	t_obs = (double)util_mono_us() / 1e6 - t0;
	getrusage(RUSAGE_SELF, &ru);
	long rss_file = status_kb("RssFile"), rss_anon = status_kb("RssAnon");

	snprintf(cmd, sizeof(cmd),
	    "curl --parallel --parallel-max 256 -s -A 'Mozilla/5.0 (compatible)' "
	    "--compressed --no-progress-meter -K '%s' 2>/dev/null", curlcfg);
	t0 = (double)util_mono_us() / 1e6;
	int rc = getenv("BENCH_NO_CURL") != NULL ? 0 : system(cmd);
	t_curl = getenv("BENCH_NO_CURL") != NULL ? 0 : (double)util_mono_us() / 1e6 - t0;
	if (rc != 0)
		fprintf(stderr, "bench_observe: curl exited with %d\n", rc);

	printf("{\"targets\": %zu, \"seconds\": %.3f, \"obs_per_s\": %.1f, "
	       "\"curl_seconds\": %.3f, \"curl_obs_per_s\": %.1f, \"ratio\": %.2f, "
	       "\"peak_rss_kb\": %ld, \"peak_anon_kb\": %ld, \"rss_file_kb\": %ld, "
	       "\"records\": %zu, \"stored\": %zu, \"responded\": %zu, "
	       "\"robots_fetched\": %zu, \"pinged\": %zu, \"note\": \"%s\", "
	       "\"rss_anon_kb\": %ld}\n",
	    n, t_obs, (double)n / t_obs, t_curl, t_curl > 0 ? (double)n / t_curl : 0.0,
	    t_curl / t_obs,
	    ru.ru_maxrss, k.peak_anon_kb, rss_file, st.records, k.stored, st.responded,
	    st.robots_fetched, st.pinged, st.note, rss_anon);

	for (size_t i = 0; i < nfarms; i++) {
		kill(farm_pids[i], SIGTERM);
		waitpid(farm_pids[i], NULL, 0);
	}
	store_close(k.s);
	json_decref(k.batch);
	free(ports);
	curl_global_cleanup();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_observe: could not remove %s\n", dir);
	return 0;
}
