/*
 * bench_auth: what wrong passwords cost everyone else. A TAXII server with a users file
 * (real scrypt hashes) on 127.0.0.1; a correct client on 127.0.0.2 sends Discovery
 * requests one after another over one kept-alive connection and times each answer, alone
 * first, then while 8 clients send wrong passwords as fast as they can, all from
 * 127.0.0.1, then each from an address of its own (127.0.0.11-18). Prints one JSON line:
 * the correct client's median and p99 in ms and the wrong attempts answered per second,
 * for each phase, and how many of those reached scrypt (the rest were refused before:
 * throttled source, or the checker busy).
 *
 *   bench/bench_auth [SECONDS]     seconds per phase (default 5)
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libxml/parser.h>

#include "conf/conf.h"
#include "taxii/taxii.h"
#include "util/util.h"

#define ATTACKERS 8
#define MAX_SAMPLES 200000

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
be_poll(void *ctx, const char *collection, int64_t begin_us, int64_t end_us, size_t offset,
    size_t limit, taxii_record_cb cb, void *arg, char *err, size_t errlen)
{
	(void)ctx, (void)collection, (void)begin_us, (void)end_us, (void)offset, (void)limit;
	(void)cb, (void)arg, (void)err, (void)errlen;
	return 0;
}

static int
be_count(void *ctx, const char *collection, int64_t begin_us, int64_t end_us,
    uint64_t *count, char *err, size_t errlen)
{
	(void)ctx, (void)collection, (void)begin_us, (void)end_us, (void)err, (void)errlen;
	*count = 0;
	return 0;
}

static int
be_inbox(void *ctx, const char *collection, const struct taxii_content_block *blocks,
    size_t n_blocks, char *err, size_t errlen)
{
	(void)ctx, (void)collection, (void)blocks, (void)n_blocks;
	snprintf(err, errlen, "read-only");
	return -1;
}

static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static long checked_wrong; /* wrong passwords conf_users_verify really checked */

/* As the daemon wires it (node_taxii.c). */
static int
auth_check(void *ctx, const char *user, const char *password)
{
	int rc = conf_users_verify(ctx, user, password);

	if (rc == 0) {
		pthread_mutex_lock(&count_lock);
		checked_wrong++;
		pthread_mutex_unlock(&count_lock);
	}
	return rc == 1 ? 0 : rc < 0 ? -2 : -1;
}

static size_t
sink(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

struct client {
	char url[128];
	const char *source;
	const char *password;
	struct curl_slist *hdr;
	const char *body;
	CURL *cu;
};

static int
client_init(struct client *c, unsigned port, const char *source, const char *password,
    const char *body, struct curl_slist *hdr)
{
	snprintf(c->url, sizeof(c->url), "http://127.0.0.1:%u/taxii/discovery", port);
	c->source = source;
	c->password = password;
	c->body = body;
	c->hdr = hdr;
	if ((c->cu = curl_easy_init()) == NULL)
		return -1;
	curl_easy_setopt(c->cu, CURLOPT_URL, c->url);
	curl_easy_setopt(c->cu, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->cu, CURLOPT_INTERFACE, source);
	curl_easy_setopt(c->cu, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c->cu, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c->cu, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(c->cu, CURLOPT_USERNAME, "alice");
	curl_easy_setopt(c->cu, CURLOPT_PASSWORD, password);
	curl_easy_setopt(c->cu, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c->cu, CURLOPT_TIMEOUT, 30L);
	return 0;
}

/* One request; the HTTP status, or 0. */
static long
client_send(struct client *c)
{
	long http = 0;

	if (curl_easy_perform(c->cu) == CURLE_OK)
		curl_easy_getinfo(c->cu, CURLINFO_RESPONSE_CODE, &http);
	return http;
}

struct attacker {
	pthread_t th;
	struct client c;
	volatile int *stop;
	long attempts;
};

static void *
attack_main(void *arg)
{
	struct attacker *a = arg;

	while (!*a->stop)
		if (client_send(&a->c) != 0)
			a->attempts++;
	return NULL;
}

static int
cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

struct phase {
	double median_ms, p99_ms, max_ms, wrong_per_s, scrypt_per_s;
	long requests, failed;
};

/* One phase: the correct client for `secs`, with `mode` 0 no attackers, 1 all from
 * 127.0.0.1, 2 each from its own address. */
static int
run_phase(unsigned port, int mode, double secs, const char *body, struct curl_slist *hdr,
    struct phase *ph)
{
	static double samples[MAX_SAMPLES];
	static char sources[ATTACKERS][32];
	struct attacker at[ATTACKERS];
	struct client good;
	volatile int stop = 0;
	size_t n = 0;
	double t0, t_end;
	long wrong = 0, checked0;
	int started = 0;

	memset(ph, 0, sizeof(*ph));
	memset(at, 0, sizeof(at));
	if (client_init(&good, port, "127.0.0.2", "correct horse battery", body, hdr) != 0)
		return -1;
	/* The first answer pays the scrypt once; the cache serves the rest. */
	if (client_send(&good) != 200) {
		fprintf(stderr, "bench_auth: the correct client is not served\n");
		curl_easy_cleanup(good.cu);
		return -1;
	}
	for (int i = 0; mode != 0 && i < ATTACKERS; i++) {
		snprintf(sources[i], sizeof(sources[i]), mode == 1 ? "127.0.0.1" : "127.0.0.%d",
		    11 + i);
		at[i].stop = &stop;
		if (client_init(&at[i].c, port, sources[i], "wrong", body, hdr) != 0 ||
		    pthread_create(&at[i].th, NULL, attack_main, &at[i]) != 0)
			break;
		started++;
	}
	pthread_mutex_lock(&count_lock);
	checked0 = checked_wrong;
	pthread_mutex_unlock(&count_lock);
	t0 = now_s();
	t_end = t0 + secs;
	while (now_s() < t_end && n < MAX_SAMPLES) {
		double t = now_s();
		long http = client_send(&good);

		ph->requests++;
		if (http != 200)
			ph->failed++;
		samples[n++] = (now_s() - t) * 1000.0;
	}
	stop = 1;
	for (int i = 0; i < started; i++) {
		pthread_join(at[i].th, NULL);
		wrong += at[i].attempts;
		curl_easy_cleanup(at[i].c.cu);
	}
	curl_easy_cleanup(good.cu);
	qsort(samples, n, sizeof(samples[0]), cmp_double);
	ph->median_ms = n ? samples[n / 2] : 0;
	ph->p99_ms = n ? samples[(n * 99) / 100] : 0;
	ph->max_ms = n ? samples[n - 1] : 0;
	ph->wrong_per_s = (double)wrong / (now_s() - t0);
	pthread_mutex_lock(&count_lock);
	ph->scrypt_per_s = (double)(checked_wrong - checked0) / (now_s() - t0);
	pthread_mutex_unlock(&count_lock);
	return started == (mode ? ATTACKERS : 0) ? 0 : -1;
}

int
main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 5.0;
	char dir[] = "/tmp/bench_auth.XXXXXX", path[256], hash[256], cmd[300];
	struct conf_err cerr = {{0}};
	struct conf_users *users = NULL;
	struct taxii_server *srv = NULL;
	struct taxii_server_conf sc;
	struct taxii_backend be;
	struct taxii_auth auth;
	struct taxii_err terr;
	struct curl_slist *hdr = NULL;
	struct util_buf body;
	struct taxii_msg m;
	char id[TAXII_ID_MAX];
	struct phase ph[3];
	int rc = 1;

	if (secs <= 0)
		secs = 5.0;
	util_buf_init(&body, 0);
	if (mkdtemp(dir) == NULL || curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return 1;
	xmlInitParser();
	snprintf(path, sizeof(path), "%s/users", dir);
	if (conf_user_hash("correct horse battery", hash, sizeof(hash)) != 0 ||
	    conf_users_set(path, "alice", hash, NULL, &cerr) < 0 ||
	    (users = conf_users_load(path, &cerr)) == NULL) {
		fprintf(stderr, "bench_auth: users file: %s\n", cerr.msg);
		goto out;
	}
	memset(&be, 0, sizeof(be));
	be.poll = be_poll;
	be.count = be_count;
	be.inbox = be_inbox;
	auth.ctx = users;
	auth.check = auth_check;
	auth.allow = NULL;
	memset(&sc, 0, sizeof(sc));
	sc.listen = "127.0.0.1:0";
	sc.auth = &auth;
	if (taxii_server_new(&sc, &be, &srv, &terr) != 0) {
		fprintf(stderr, "bench_auth: server: %s\n", terr.msg);
		goto out;
	}
	memset(&m, 0, sizeof(m));
	taxii_msg_id_new(id);
	m.version = TAXII_V11;
	m.type = TAXII_MSG_DISCOVERY_REQ;
	m.message_id = id;
	if (taxii_msg_write(&m, &body, NULL) != 0)
		goto out;
	hdr = curl_slist_append(hdr, "Content-Type: application/xml");
	hdr = curl_slist_append(hdr, "X-TAXII-Content-Type: " TAXII_MSG_BINDING_11);
	hdr = curl_slist_append(hdr, "X-TAXII-Services: " TAXII_SERVICES_11);
	hdr = curl_slist_append(hdr, "Expect:");
	for (int mode = 0; mode < 3; mode++) {
		if (run_phase(taxii_server_port(srv, 0), mode, secs, body.data, hdr, &ph[mode]) !=
		    0) {
			fprintf(stderr, "bench_auth: phase %d failed\n", mode);
			goto out;
		}
		/* Let throttles of the last phase expire, so phases do not bleed. */
		if (mode == 1)
			sleep(1);
	}
	printf("{\"bench\": \"auth\", \"seconds_per_phase\": %.1f, \"attackers\": %d, "
	       "\"alone\": {\"median_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.1f, \"requests\": %ld, "
	       "\"failed\": %ld}, "
	       "\"one_source\": {\"median_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.1f, \"requests\": %ld, "
	       "\"failed\": %ld, \"wrong_per_s\": %.0f, \"wrong_checked_per_s\": %.2f}, "
	       "\"eight_sources\": {\"median_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.1f, \"requests\": %ld, "
	       "\"failed\": %ld, \"wrong_per_s\": %.0f, \"wrong_checked_per_s\": %.2f}}\n",
	    secs, ATTACKERS, ph[0].median_ms, ph[0].p99_ms, ph[0].max_ms, ph[0].requests,
	    ph[0].failed, ph[1].median_ms, ph[1].p99_ms, ph[1].max_ms, ph[1].requests,
	    ph[1].failed, ph[1].wrong_per_s, ph[1].scrypt_per_s, ph[2].median_ms, ph[2].p99_ms,
	    ph[2].max_ms, ph[2].requests, ph[2].failed, ph[2].wrong_per_s, ph[2].scrypt_per_s);
	rc = 0;
out:
	taxii_server_free(srv);
	conf_users_free(users);
	curl_slist_free_all(hdr);
	util_buf_fini(&body);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_auth: could not remove %s\n", dir);
	curl_global_cleanup();
	return rc;
}
