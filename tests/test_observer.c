/* The observation cycle against the simulated C2 farm: records field by field, robots.txt,
 * exclusions, the address policy, per-target user agents, host spacing, the concurrency
 * bound and hostile targets, all again with one target per window (what must carry from
 * one window to the next does); targets streamed through an iterator; change events on
 * synthetic record pairs; the cycle clock. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "observer/observer.h"
#include "tests/farm_run.h"
#include "tests/tap.h"
#include "util/util.h"

static pid_t farm_pid = -1;
static char tmpdir[256], script_path[300], exclude_path[300];

static struct farm_listener listeners[64];
static size_t nlisteners;

static void
cleanup(void)
{
	if (farm_pid > 0) {
		kill(farm_pid, SIGTERM);
		waitpid(farm_pid, NULL, 0);
		farm_pid = -1;
	}
	if (script_path[0])
		unlink(script_path);
	if (exclude_path[0])
		unlink(exclude_path);
	if (tmpdir[0])
		rmdir(tmpdir);
}

static int64_t
mono_ms(void)
{
	return util_mono_us() / 1000;
}

static const struct farm_listener *
lst(const char *name)
{
	return farm_listener(listeners, nlisteners, name);
}

static const char *
url(const char *name, const char *path)
{
	static char ring[16][256];
	static int next;
	char *u = ring[next++ % 16];

	snprintf(u, 256, "http://%s:%d%s", lst(name)->addr, lst(name)->port, path);
	return u;
}

/* The window every cycle uses (0: the observer's default). */
static size_t test_window;

static struct obs_config
base_config(void)
{
	struct obs_config c = {
	    .window = test_window,
	    .node_id = "test-node",
	    .vantage = "lab",
	    .concurrency = 16,
	    .host_spacing_us = 0,
	    .user_agent = "Mozilla/5.0 (compatible)",
	    .accept_encoding = "gzip, deflate",
	    .connect_timeout_us = 1000000,
	    .timeout_us = 1500000,
	    .max_body = 1u << 20,
	    .max_redirects = 5,
	    .ping_count = 0,
	    .robots_respect = 1,
	    .allow_private = 1,
	    /* Nothing listens there: names other than the hosts file's fail at once, and no
	     * query leaves the machine. */
	    .dns_servers = "127.0.0.1:1",
	    .dns_timeout_ms = 2000,
	};
	return c;
}

static int
collect(json_t *rec, void *arg)
{
	return json_array_append(arg, rec);
}

/* Runs a cycle over targets given as JSON text; returns the records (caller decrefs). */
static json_t *
cycle(const struct obs_config *cfg, const char *targets_json, struct obs_cycle_stats *st,
    int *rc)
{
	json_error_t jerr;
	json_t *targets = json_loads(targets_json, 0, &jerr), *recs = json_array();
	char err[256];

	if (targets == NULL) {
		fprintf(stderr, "bad test targets: %s\n", jerr.text);
		exit(99);
	}
	*rc = obs_cycle_run(cfg, targets, collect, recs, st, err, sizeof(err));
	if (*rc != 0)
		tap_diag("cycle failed: %s", err);
	json_decref(targets);
	return recs;
}

static json_t *
find(json_t *recs, const char *input)
{
	size_t i;
	json_t *r;

	json_array_foreach(recs, i, r) {
		const char *in = json_string_value(json_object_get(json_object_get(r, "target"),
		    "input"));
		if (in && strcmp(in, input) == 0)
			return r;
	}
	return NULL;
}

static const char *
s_at(json_t *r, const char *a, const char *b)
{
	json_t *o = json_object_get(r, a);

	return json_string_value(b ? json_object_get(o, b) : o);
}

static long long
i_at(json_t *r, const char *a, const char *b)
{
	json_t *o = json_object_get(r, a);

	o = b ? json_object_get(o, b) : o;
	return json_is_integer(o) ? (long long)json_integer_value(o) : -1;
}

static int
is_null(json_t *r, const char *a, const char *b)
{
	json_t *o = json_object_get(r, a);

	return json_is_null(b ? json_object_get(o, b) : o);
}

static int64_t
when(json_t *r)
{
	int64_t t = 0;

	util_time_parse(s_at(r, "observed_at", NULL), &t);
	return t;
}

/* 1 when this machine has an IPv6 loopback to listen on (containers may not). */
static int have_v6;

static int
v6_available(void)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	int fd = socket(AF_INET6, SOCK_STREAM, 0), ok6;

	if (fd < 0)
		return 0;
	ok6 = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok6;
}

/* Origins whose robots.txt is just under the observer's 500 KiB cap: 17 of them together
 * are more than the 8 MiB the cycle keeps across windows, 16 are not. */
#define RC_ORIGINS 17
#define RC_BODY (500 * 1024 - 1000)

static void
write_script(void)
{
	char big[400];
	FILE *f;

	snprintf(big, sizeof(big), "%s/big-robots.txt", tmpdir);
	f = fopen(big, "w");
	if (f == NULL)
		exit(99);
	fprintf(f, "User-agent: *\nDisallow: /private\n");
	for (long n = 33; n < RC_BODY; n += 64)
		fprintf(f, "#%0*d\n", (int)(RC_BODY - n < 64 ? RC_BODY - n - 2 : 62), 0);
	fclose(f);
	f = fopen(script_path, "w");
	if (f == NULL)
		exit(99);
	for (int i = 1; i <= RC_ORIGINS; i++)
		fprintf(f, "listen rc%d 127.0.0.1 0\n"
			   "rule rc%d /robots.txt * page type=text/plain bodyfile=big-robots.txt\n"
			   "rule rc%d * * page body=rc\n", i, i, i);
	if (have_v6)
		fprintf(f, "listen v6 ::1 0\n"
			   "rule v6 /robots.txt * page type=text/plain body=\"User-agent: *\\n\"\n"
			   "rule v6 * * page server=farm-v6 body=over-ipv6\n");
	fprintf(f,
	    "listen a 127.0.0.1 0\n"
	    "listen b 127.0.0.2 0\n"
	    "listen h1 127.0.0.11 0\n"
	    "listen h2 127.0.0.12 0\n"
	    "listen h3 127.0.0.13 0\n"
	    "listen h4 127.0.0.14 0\n"
	    "listen h5 127.0.0.15 0\n"
	    "listen h6 127.0.0.16 0\n"
	    "listen x1 127.0.0.21 0\n"
	    "listen x2 127.0.0.22 0\n"
	    "listen x3 127.0.0.23 0\n"
	    "listen r5 127.0.0.31 0\n"
	    "listen px 127.0.0.41 0\n"
	    "listen sa 127.0.0.42 0\n"
	    "rule a /robots.txt * page type=text/plain "
	    "body=\"User-agent: *\\nDisallow: /private\\n\\nUser-agent: Strict\\nDisallow: /\\n\"\n"
	    "rule a /page * page server=nginx type=text/html body=\"<html>observed</html>\"\n"
	    "rule a /moved * page status=302 reason=Found location=http://{a}/page\n"
	    "rule a /ua * page ua=Special body=special-agent\n"
	    "rule a /toexcluded * page status=302 reason=Found "
	    "location=http://www.excluded.example/landing\n"
	    "rule a /ua * page status=403 reason=Forbidden body=no\n"
	    "rule b * * page body=b\n"
	    "rule h1 * * hold\n"
	    "rule h2 * * hold\n"
	    "rule h3 * * hold\n"
	    "rule h4 * * hold\n"
	    "rule h5 * * hold\n"
	    "rule h6 * * hold\n"
	    "rule x1 * * headers\n"
	    "rule x2 * * huge size=2G\n"
	    "rule x3 * * garbage\n"
	    "rule r5 /robots.txt * page status=503 reason=Unavailable body=down\n"
	    "rule r5 * * page body=never\n"
	    "rule px * * page server=farm-proxy body=via-proxy\n"
	    "rule sa * * page from=127.0.0.9 body=from-nine\n"
	    "rule sa * * page status=403 reason=Forbidden body=other\n");
	fclose(f);
}

static void
test_basic(void)
{
	struct obs_config cfg = base_config();
	struct obs_cycle_stats st;
	char targets[4096];
	json_t *recs, *r;
	int rc;

	snprintf(targets, sizeof(targets),
	    "[{\"threat_id\":\"T1\",\"url\":\"%s\"},"
	    " {\"threat_id\":\"T1\",\"url\":\"%s\"},"
	    " {\"threat_id\":\"T1\",\"url\":\"%s\"},"
	    " {\"threat_id\":\"T2\",\"url\":\"%s\"},"
	    " {\"threat_id\":\"T2\",\"url\":\"%s\",\"user_agent\":\"Special/2.0\"},"
	    " {\"threat_id\":\"T2\",\"url\":\"%s\"},"
	    " {\"threat_id\":\"T3\",\"ip\":\"%s\",\"port\":%d},"
	    " {\"threat_id\":\"T3\",\"domain\":\"localhost\",\"port\":%d},"
	    " {\"threat_id\":\"T3\",\"url\":\"%s\"},"
	    " {\"threat_id\":\"T3\",\"summary\":\"no destination\"},"
	    " {\"threat_id\":\"T4\",\"url\":\"%s\",\"user_agent\":\"Strict/1.0\"}]",
	    url("a", "/page"), url("a", "/missing"), url("a", "/moved"), url("a", "/private/x"),
	    url("a", "/ua"), url("a", "/ua?x=1"), lst("b")->addr, lst("b")->port, lst("a")->port,
	    url("r5", "/gate"), url("a", "/page"));
	recs = cycle(&cfg, targets, &st, &rc);
	is_int(rc, 0, "a cycle over the farm succeeds");
	is_int(json_array_size(recs), 10, "one record per observable target");
	is_int(st.skipped, 1, "the target without a destination is skipped");
	is_int(st.robots_fetched, 4, "robots.txt fetched once per origin (a, b, a's localhost, r5)");

	{
		size_t i;
		json_t *x;

		r = NULL;
		json_array_foreach(recs, i, x) {
			if (strcmp(s_at(x, "threat_id", NULL), "T4") == 0)
				r = x;
		}
	}
	is_str(s_at(r, "error", "kind"), "robots-disallowed",
	    "robots.txt rules follow each target's user agent (Strict: Disallow /)");
	r = find(recs, url("a", "/page"));
	ok(r != NULL, "200 page: record found");
	is_int(strlen(s_at(r, "id", NULL) ? s_at(r, "id", NULL) : ""), 64, "id: 64 hex digits");
	is_str(s_at(r, "threat_id", NULL), "T1", "threat_id");
	is_str(s_at(r, "node", NULL), "test-node", "node");
	is_str(s_at(r, "vantage", NULL), "lab", "vantage");
	ok(when(r) > 0, "observed_at is an RFC 3339 time");
	ok(is_null(r, "target", "domain"), "target.domain is null for an address");
	is_str(json_string_value(json_array_get(json_object_get(json_object_get(r, "target"),
	    "ipv4"), 0)), "127.0.0.1", "target.ipv4 holds the address");
	is_int(json_array_size(json_object_get(json_object_get(r, "target"), "ipv6")), 0,
	    "target.ipv6 is empty");
	is_int(i_at(r, "target", "port"), lst("a")->port, "target.port");
	is_str(s_at(r, "target", "user_agent"), "Mozilla/5.0 (compatible)",
	    "target.user_agent is the config's");
	ok(is_null(r, "ping", NULL), "ping null with ping_count 0");
	is_int(i_at(r, "robots", "status"), 200, "robots.status");
	ok(json_is_true(json_object_get(json_object_get(r, "robots"), "present")), "robots.present");
	ok(json_is_true(json_object_get(json_object_get(r, "robots"), "allowed")), "robots.allowed");
	is_int(i_at(r, "http", "status"), 200, "http.status");
	is_str(s_at(r, "http", "reason"), "OK", "http.reason");
	is_str(s_at(r, "http", "content_type"), "text/html", "http.content_type");
	is_str(s_at(r, "http", "server"), "nginx", "http.server");
	ok(is_null(r, "http", "location"), "http.location null");
	is_int(json_array_size(json_object_get(json_object_get(r, "http"), "redirects")), 0,
	    "http.redirects empty");
	is_int(i_at(r, "http", "size"), 21, "http.size");
	ok(json_is_false(json_object_get(json_object_get(r, "http"), "truncated")), "not truncated");
	{
		unsigned char md[32];
		char hex[65];
		util_sha256("<html>observed</html>", 21, md);
		util_hex(md, 32, hex);
		is_str(s_at(r, "http", "sha256"), hex, "http.sha256 of the body");
	}
	has_str(s_at(r, "http", "filetype"), "HTML", "http.filetype from libmagic");
	ok(s_at(r, "http", "ssdeep") != NULL, "http.ssdeep");
	ok(is_null(r, "http", "tls_sha256"), "http.tls_sha256 null over plain HTTP");
	ok(json_is_integer(json_object_get(json_object_get(r, "http"), "elapsed_ms")),
	    "http.elapsed_ms");
	ok(is_null(r, "error", NULL), "error null");
	{
		char want[65], *key = NULL;
		unsigned char md[32];
		char t[UTIL_TIME_MAX];
		struct util_buf b;

		util_time_format(when(r), 1, t);
		util_buf_init(&b, 0);
		util_buf_add(&b, "test-node", 10);
		key = (char *)url("a", "/page");
		util_buf_add(&b, key, strlen(key) + 1);
		util_buf_add(&b, t, strlen(t) + 1);
		util_sha256(b.data, b.len, md);
		util_hex(md, 32, want);
		util_buf_fini(&b);
		is_str(s_at(r, "id", NULL), want, "id: SHA-256 of node, key and time");
	}

	r = find(recs, url("a", "/missing"));
	is_int(i_at(r, "http", "status"), 404, "404: status");
	ok(is_null(r, "error", NULL), "404: an answer, not an error");

	r = find(recs, url("a", "/moved"));
	is_int(i_at(r, "http", "status"), 200, "redirect followed to the page");
	is_str(json_string_value(json_array_get(json_object_get(json_object_get(r, "http"),
	    "redirects"), 0)), url("a", "/page"), "redirects lists the hop");

	r = find(recs, url("a", "/private/x"));
	ok(json_is_false(json_object_get(json_object_get(r, "robots"), "allowed")),
	    "robots-disallowed: robots.allowed false");
	ok(is_null(r, "http", NULL), "robots-disallowed: no GET (http null)");
	is_str(s_at(r, "error", "kind"), "robots-disallowed", "robots-disallowed: error kind");

	r = find(recs, url("a", "/ua"));
	is_str(s_at(r, "target", "user_agent"), "Special/2.0", "UA per target recorded");
	is_int(i_at(r, "http", "status"), 200, "UA per target sent (the farm answers it)");
	r = find(recs, url("a", "/ua?x=1"));
	is_int(i_at(r, "http", "status"), 403, "the config's UA elsewhere");

	{
		char key[128];
		snprintf(key, sizeof(key), "%s:%d", lst("b")->addr, lst("b")->port);
		r = find(recs, key);
		ok(r != NULL, "ip target keyed ip:port");
		is_int(i_at(r, "http", "status"), 200, "ip target: GET of /");
		snprintf(key, sizeof(key), "localhost:%d", lst("a")->port);
		r = find(recs, key);
		is_str(s_at(r, "target", "domain"), "localhost", "domain target: domain recorded");
		is_int(i_at(r, "http", "status"), 404, "domain target: GET of / (404 there)");
	}
	r = find(recs, url("r5", "/gate"));
	is_int(i_at(r, "robots", "status"), 503, "robots.txt 503: status recorded");
	is_str(s_at(r, "error", "kind"), "robots-disallowed", "robots.txt 5xx disallows all");
	json_decref(recs);
}

static void
test_policy(void)
{
	struct obs_config cfg = base_config();
	struct obs_cycle_stats st;
	char targets[2048];
	json_t *recs, *r;
	FILE *f;
	int rc;

	f = fopen(exclude_path, "w");
	fprintf(f, "# benign\nexcluded.example\n  Other.Example.  \ngithub.io\n");
	fclose(f);
	cfg.exclude_file = exclude_path;
	cfg.allow_private = 0;
	snprintf(targets, sizeof(targets),
	    "[{\"threat_id\":\"P\",\"url\":\"http://www.excluded.example/x\"},"
	    " {\"threat_id\":\"P\",\"domain\":\"other.example\"},"
	    " {\"threat_id\":\"P\",\"domain\":\"notexcluded.example\"},"
	    " {\"threat_id\":\"P\",\"url\":\"%s\"},"
	    " {\"threat_id\":\"P\",\"domain\":\"localhost\"},"
	    " {\"threat_id\":\"P\",\"domain\":\"github.io\"},"
	    " {\"threat_id\":\"P\",\"domain\":\"evil.github.io\"}]",
	    url("a", "/page"));
	recs = cycle(&cfg, targets, &st, &rc);
	is_int(rc, 0, "policy cycle succeeds");
	r = find(recs, "http://www.excluded.example/x");
	is_str(s_at(r, "error", "kind"), "excluded", "a subdomain of an excluded domain");
	ok(is_null(r, "http", NULL) && is_null(r, "robots", NULL) && is_null(r, "ping", NULL),
	    "excluded: nothing probed");
	r = find(recs, "other.example");
	is_str(s_at(r, "error", "kind"), "excluded", "exclusion entries are trimmed and lowercased");
	r = find(recs, "notexcluded.example");
	is_str(s_at(r, "error", "kind"), "dns", "a suffix that is not a parent domain is not excluded");
	r = find(recs, url("a", "/page"));
	is_str(s_at(r, "error", "kind"), "private-address", "allow_private=0 refuses loopback");
	ok(is_null(r, "http", NULL) && is_null(r, "robots", NULL), "private: nothing contacted");
	r = find(recs, "localhost");
	is_str(s_at(r, "error", "kind"), "private-address", "also after DNS (localhost)");
	is_str(json_string_value(json_array_get(json_object_get(json_object_get(r, "target"),
	    "ipv4"), 0)), "127.0.0.1", "and the resolved address is recorded");
	r = find(recs, "github.io");
	is_str(s_at(r, "error", "kind"), "excluded", "a public suffix listed is excluded itself");
	r = find(recs, "evil.github.io");
	is_str(s_at(r, "error", "kind"), "dns",
	    "but not the sites under it (libpsl: each is someone else's)");
	is_int(st.excluded, 3, "stats: excluded");
	is_int(st.private_refused, 2, "stats: private refused");
	is_int(st.requests + st.robots_fetched, 0, "no request was sent");
	json_decref(recs);

	cfg.allow_private = 1;
	snprintf(targets, sizeof(targets), "[{\"threat_id\":\"P\",\"url\":\"%s\"}]",
	    url("a", "/toexcluded"));
	recs = cycle(&cfg, targets, &st, &rc);
	r = json_array_get(recs, 0);
	is_int(i_at(r, "http", "status"), 302, "a redirect to an excluded domain is not followed");
	is_str(s_at(r, "http", "location"), "http://www.excluded.example/landing",
	    "its Location is recorded");
	is_int(json_array_size(json_object_get(json_object_get(r, "http"), "redirects")), 0,
	    "and no hop was made");
	ok(is_null(r, "error", NULL), "which is not an error");
	json_decref(recs);

	cfg.exclude_file = "/nonexistent/exclude.txt";
	recs = cycle(&cfg, "[]", &st, &rc);
	is_int(rc, -1, "a missing exclusion file fails the cycle");
	json_decref(recs);
}

static void
test_spacing(void)
{
	struct obs_config cfg = base_config();
	struct obs_cycle_stats st;
	char targets[2048];
	json_t *recs;
	int64_t t[3];
	int rc;

	cfg.host_spacing_us = 300000;
	snprintf(targets, sizeof(targets),
	    "[{\"threat_id\":\"S\",\"url\":\"%s\"},{\"threat_id\":\"S\",\"url\":\"%s\"},"
	    "{\"threat_id\":\"S\",\"url\":\"%s\"}]",
	    url("b", "/1"), url("b", "/2"), url("b", "/3"));
	int64_t t0 = mono_ms();
	recs = cycle(&cfg, targets, &st, &rc);
	int64_t el = mono_ms() - t0;
	is_int(json_array_size(recs), 3, "spacing: three records");
	for (int i = 0; i < 3; i++)
		t[i] = when(json_array_get(recs, (size_t)i));
	ok(t[1] - t[0] >= 300000 && t[2] - t[1] >= 300000,
	    "host_spacing holds between the GETs (%lld, %lld us)", (long long)(t[1] - t[0]),
	    (long long)(t[2] - t[1]));
	ok(el >= 900, "robots + 3 GETs to one host take 3 spacings (%lld ms)", (long long)el);
	json_decref(recs);

	/* What robots.txt decides needs no request of its own, so no spacing either: three
	 * targets of a host that refuses, and three that a's robots.txt disallows for the
	 * user agent, end with their robots.txt fetch, not spacings later. */
	cfg.host_spacing_us = 3000000;
	snprintf(targets, sizeof(targets),
	    "[{\"threat_id\":\"S\",\"url\":\"http://127.0.0.99:1/1\"},"
	    "{\"threat_id\":\"S\",\"url\":\"http://127.0.0.99:1/2\"},"
	    "{\"threat_id\":\"S\",\"url\":\"http://127.0.0.99:1/3\"},"
	    "{\"threat_id\":\"S\",\"url\":\"%s\"},{\"threat_id\":\"S\",\"url\":\"%s\"},"
	    "{\"threat_id\":\"S\",\"url\":\"%s\"}]",
	    url("a", "/private/1"), url("a", "/private/2"), url("a", "/private/3"));
	t0 = mono_ms();
	recs = cycle(&cfg, targets, &st, &rc);
	el = mono_ms() - t0;
	is_int(json_array_size(recs), 6, "settle: six records");
	int refused = 0, disallowed = 0;
	for (size_t i = 0; i < json_array_size(recs); i++) {
		const char *k = s_at(json_array_get(recs, i), "error", "kind");
		refused += k != NULL && strcmp(k, "refused") == 0;
		disallowed += k != NULL && strcmp(k, "robots-disallowed") == 0;
	}
	ok(refused == 3 && disallowed == 3, "settle: three refused, three disallowed (%d, %d)",
	    refused, disallowed);
	ok(el < 2500, "settle: done without waiting out a 3 s spacing (%lld ms)", (long long)el);
	json_decref(recs);
}

/* Vantage options (proxy, source address) and spacing by server address. */
static void
test_vantage(void)
{
	struct obs_config cfg = base_config();
	struct obs_cycle_stats st;
	char targets[1024], proxy[128], key[128];
	json_t *recs, *r, *r2;
	int rc;

	snprintf(proxy, sizeof(proxy), "http://%s:%d", lst("px")->addr, lst("px")->port);
	cfg.proxy = proxy;
	cfg.ping_count = 1;
	recs = cycle(&cfg, "[{\"threat_id\":\"V\",\"domain\":\"c2.invalid\"}]", &st, &rc);
	r = json_array_get(recs, 0);
	is_str(s_at(r, "http", "server"), "farm-proxy", "proxy: the GET went through it");
	is_int(json_array_size(json_object_get(json_object_get(r, "target"), "ipv4")), 0,
	    "proxy: no local DNS (the proxy resolves)");
	ok(is_null(r, "ping", NULL), "proxy: ping null");
	has_str(st.note, "proxy", "proxy: the note says why ping was skipped");
	json_decref(recs);

	cfg = base_config();
	cfg.source_address = "127.0.0.9";
	snprintf(targets, sizeof(targets), "[{\"threat_id\":\"V\",\"url\":\"%s\"}]",
	    url("sa", "/"));
	recs = cycle(&cfg, targets, &st, &rc);
	r = json_array_get(recs, 0);
	is_int(i_at(r, "http", "status"), 200, "source_address: requests leave from it");
	json_decref(recs);

	cfg = base_config();
	cfg.host_spacing_us = 300000;
	snprintf(key, sizeof(key), "localhost:%d", lst("a")->port);
	snprintf(targets, sizeof(targets),
	    "[{\"threat_id\":\"V\",\"url\":\"%s\"},"
	    " {\"threat_id\":\"V\",\"domain\":\"localhost\",\"port\":%d}]",
	    url("a", "/page"), lst("a")->port);
	recs = cycle(&cfg, targets, &st, &rc);
	r = find(recs, url("a", "/page"));
	r2 = find(recs, key);
	ok(r && r2 && llabs(when(r) - when(r2)) >= 300000,
	    "a name and an address of one server share its spacing (%lld us)",
	    r && r2 ? (long long)llabs(when(r) - when(r2)) : -1LL);
	json_decref(recs);
	cfg = base_config();
	recs = cycle(&cfg, "[{\"threat_id\":\"V\",\"url\":\"http://127.0.0.1:1/gate\"}]", &st,
	    &rc);
	r = json_array_get(recs, 0);
	is_str(s_at(r, "error", "kind"), "refused", "nothing listening: error refused");
	has_str(s_at(r, "error", "detail"), "robots.txt", "found when fetching robots.txt");
	ok(is_null(r, "robots", "status"), "robots.status null without an answer");
	is_str(s_at(json_object_get(r, "robots"), "error", "kind"), "refused",
	    "robots.error says why");
	ok(is_null(r, "http", NULL), "and no GET was sent");
	json_decref(recs);
}

static void
test_ipv6(void)
{
	struct obs_config cfg = base_config();
	struct obs_cycle_stats st;
	char targets[512], u[128], key[128];
	json_t *recs, *r;
	int rc;

	if (!have_v6) {
		tap_skip("IPv6 checks", "no IPv6 loopback here");
		return;
	}
	cfg.ping_count = 1;
	cfg.ping_interval_ms = 100;
	snprintf(u, sizeof(u), "http://[::1]:%d/gate", lst("v6")->port);
	snprintf(key, sizeof(key), "[::1]:%d", lst("v6")->port);
	snprintf(targets, sizeof(targets),
	    "[{\"threat_id\":\"6\",\"url\":\"%s\"},"
	    " {\"threat_id\":\"6\",\"ip\":\"::1\",\"port\":%d}]", u, lst("v6")->port);
	recs = cycle(&cfg, targets, &st, &rc);
	r = find(recs, u);
	is_int(i_at(r, "http", "status"), 200, "IPv6 URL: answered");
	is_str(s_at(r, "http", "server"), "farm-v6", "IPv6 URL: by the v6 listener");
	is_str(json_string_value(json_array_get(json_object_get(json_object_get(r, "target"),
	    "ipv6"), 0)), "::1", "IPv6 URL: target.ipv6");
	is_int(json_array_size(json_object_get(json_object_get(r, "target"), "ipv4")), 0,
	    "IPv6 URL: target.ipv4 empty");
	ok(is_null(r, "target", "domain"), "IPv6 URL: no domain");
	if (!is_null(r, "ping", NULL))
		is_int(i_at(r, "ping", "received"), 1, "IPv6: ICMPv6 echo answered");
	r = find(recs, key);
	is_int(i_at(r, "http", "status"), 200, "IPv6 address target keyed [::1]:port, GET of /");
	json_decref(recs);
}

static void
test_concurrency(void)
{
	struct obs_config cfg = base_config();
	struct obs_cycle_stats st;
	char targets[2048];
	json_t *recs, *r;
	size_t i;
	int rc, all = 1;

	cfg.concurrency = 2;
	cfg.robots_respect = 0;
	cfg.timeout_us = 400000;
	snprintf(targets, sizeof(targets),
	    "[{\"threat_id\":\"C\",\"url\":\"%s\"},{\"threat_id\":\"C\",\"url\":\"%s\"},"
	    "{\"threat_id\":\"C\",\"url\":\"%s\"},{\"threat_id\":\"C\",\"url\":\"%s\"},"
	    "{\"threat_id\":\"C\",\"url\":\"%s\"},{\"threat_id\":\"C\",\"url\":\"%s\"}]",
	    url("h1", "/"), url("h2", "/"), url("h3", "/"), url("h4", "/"), url("h5", "/"),
	    url("h6", "/"));
	int64_t t0 = mono_ms();
	recs = cycle(&cfg, targets, &st, &rc);
	int64_t el = mono_ms() - t0;
	json_array_foreach(recs, i, r) {
		if (strcmp(s_at(r, "error", "kind") ? s_at(r, "error", "kind") : "", "timeout") != 0)
			all = 0;
		if (!is_null(r, "robots", NULL))
			all = 0;
	}
	is_int(json_array_size(recs), 6, "concurrency: six records");
	ok(all, "silent servers time out; robots = ignore leaves robots null");
	ok(el >= 1150, "at most 2 in flight: 6 timeouts of 0.4 s take 1.2 s (%lld ms)",
	    (long long)el);
	ok(el < 15000, "and the timeouts end it (not a hang)");

	cfg.concurrency = 16;
	cfg.robots_respect = 1;
	cfg.timeout_us = 1500000;
	snprintf(targets, sizeof(targets),
	    "[{\"threat_id\":\"X\",\"url\":\"%s\"},{\"threat_id\":\"X\",\"url\":\"%s\"},"
	    "{\"threat_id\":\"X\",\"url\":\"%s\"}]",
	    url("x1", "/"), url("x2", "/"), url("x3", "/"));
	t0 = mono_ms();
	json_decref(recs);
	recs = cycle(&cfg, targets, &st, &rc);
	el = mono_ms() - t0;
	/* Each would hold the cycle for minutes: the timeout ends them, however loaded. */
	ok(el < 15000, "hostile targets: robots and GET bounded by the timeout (%lld ms)",
	    (long long)el);
	is_int(json_array_size(recs), 3, "hostile targets: one record each");
	json_array_foreach(recs, i, r) {
		ok(s_at(r, "error", "kind") != NULL, "hostile %zu: error %s", i,
		    s_at(r, "error", "kind") ? s_at(r, "error", "kind") : "(none)");
	}
	json_decref(recs);
}

static void
test_ping_and_stop(void)
{
	struct obs_config cfg = base_config();
	struct obs_cycle_stats st;
	volatile sig_atomic_t stop = 1;
	char targets[1024];
	json_t *recs, *r;
	int rc;

	cfg.ping_count = 2;
	cfg.ping_interval_ms = 100;
	snprintf(targets, sizeof(targets), "[{\"threat_id\":\"G\",\"url\":\"%s\"}]",
	    url("a", "/page"));
	recs = cycle(&cfg, targets, &st, &rc);
	r = json_array_get(recs, 0);
	if (is_null(r, "ping", NULL)) {
		has_str(st.note, "ping skipped", "no ICMP socket: ping null with a note");
		tap_skip("ping over loopback", "no ICMP socket permitted here");
	} else {
		is_int(i_at(r, "ping", "sent"), 2, "ping.sent");
		is_int(i_at(r, "ping", "received"), 2, "ping.received from loopback");
		ok(json_real_value(json_object_get(json_object_get(r, "ping"), "loss_pct")) == 0.0,
		    "ping.loss_pct 0");
		ok(i_at(r, "ping", "ttl") > 0, "ping.ttl");
	}
	is_int(i_at(r, "http", "status"), 200, "with ping: the GET still ran");
	json_decref(recs);

	cfg.stop = &stop;
	recs = cycle(&cfg, targets, &st, &rc);
	is_int(rc, 0, "a stopped cycle returns 0");
	ok(st.aborted, "and says it stopped early");
	is_int(json_array_size(recs), 0, "no record for a target not observed");
	json_decref(recs);
}

/* A record callback that keeps the records, and stops the cycle or fails at a given one. */
struct sink {
	json_t *recs;
	int n, stop_at, fail_at;
	volatile sig_atomic_t *stop;
};

static int
sink_cb(json_t *rec, void *arg)
{
	struct sink *k = arg;

	k->n++;
	if (k->fail_at && k->n == k->fail_at)
		return -1;
	json_array_append(k->recs, rec);
	if (k->stop_at && k->n == k->stop_at)
		*k->stop = 1;
	return 0;
}

/* Six targets, one window each, on listener a. */
static json_t *
six_targets(void)
{
	json_t *t = json_array();

	for (int i = 0; i < 6; i++) {
		char u[300];

		snprintf(u, sizeof(u), "%s?n=%d", url("a", "/page"), i);
		json_array_append_new(t, json_pack("{s:s, s:s}", "threat_id", "S", "url", u));
	}
	return t;
}

/* A cycle stopped by its caller mid-way, and one whose record callback fails. */
static void
test_stop_and_fail(void)
{
	struct obs_config cfg = base_config();
	struct obs_cycle_stats st;
	volatile sig_atomic_t stop = 0;
	struct sink k = {json_array(), 0, 2, 0, &stop};
	json_t *targets = six_targets(), *r;
	char err[256] = "";
	size_t i;
	int rc, all = 1;

	cfg.window = 1;
	cfg.stop = &stop;
	rc = obs_cycle_run(&cfg, targets, sink_cb, &k, &st, err, sizeof(err));
	is_int(rc, 0, "stopped mid-way: the cycle returns 0 (%s)", err);
	ok(st.aborted, "and says it stopped early");
	ok(k.n >= 2 && k.n < 6, "records up to the stop, not all six (%d)", k.n);
	json_array_foreach(k.recs, i, r)
		if (i_at(r, "http", "status") != 200)
			all = 0;
	ok(all, "each record given is a complete observation");
	is_int(st.targets, 6, "every target is counted");
	is_int(st.skipped, 6 - (size_t)k.n, "those without a record as skipped");
	json_decref(k.recs);

	stop = 0;
	k = (struct sink){json_array(), 0, 0, 3, &stop};
	cfg.stop = NULL;
	err[0] = '\0';
	rc = obs_cycle_run(&cfg, targets, sink_cb, &k, &st, err, sizeof(err));
	is_int(rc, -1, "a failing record callback fails the cycle");
	has_str(err, "record callback failed", "and err says so");
	is_int(k.n, 3, "no record is given after the failure");
	is_int(json_array_size(k.recs), 2, "the records before it were given");
	json_decref(k.recs);
	json_decref(targets);
}

/* The robots.txt outcomes kept across windows: a hit needs no fetch; past the cache's 8 MiB
 * the oldest is dropped and fetched again when its origin comes back. */
static void
test_robots_cache(void)
{
	struct obs_config cfg = base_config();
	struct obs_cycle_stats st;
	json_t *targets = json_array(), *recs = json_array(), *r;
	char err[256] = "", name[16];
	size_t i;
	int rc, allowed = 1;

	for (int n = 1; n <= RC_ORIGINS + 2; n++) {
		/* rc1 .. rc17, then rc17 again (still kept), then rc1 (dropped by then) */
		int o = n <= RC_ORIGINS ? n : n == RC_ORIGINS + 1 ? RC_ORIGINS : 1;

		snprintf(name, sizeof(name), "rc%d", o);
		json_array_append_new(targets, json_pack("{s:s, s:s}", "threat_id", "R", "url",
		    url(name, "/page")));
	}
	cfg.window = 1;
	rc = obs_cycle_run(&cfg, targets, collect, recs, &st, err, sizeof(err));
	is_int(rc, 0, "robots cache: the cycle runs (%s)", err);
	is_int(json_array_size(recs), RC_ORIGINS + 2, "robots cache: a record for each target");
	json_array_foreach(recs, i, r)
		if (i_at(r, "robots", "status") != 200 || i_at(r, "http", "status") != 200)
			allowed = 0;
	ok(allowed, "robots cache: every robots.txt read and obeyed, cached or not");
	is_int(st.robots_fetched, RC_ORIGINS + 1,
	    "robots cache: %d origins fetched once, the one kept not again, the oldest dropped "
	    "past 8 MiB and fetched again", RC_ORIGINS);
	json_decref(recs);
	json_decref(targets);
}

/* Targets made one at a time, as a store scan would give them. */
struct gen {
	size_t i, n, fail_at; /* fail_at: the call that fails (0: none) */
	char urls[2][256];
};

static int
gen_next(void *arg, json_t **out)
{
	struct gen *g = arg;
	char u[300];

	if (g->fail_at && g->i + 1 == g->fail_at)
		return -1;
	if (g->i >= g->n)
		return 0;
	snprintf(u, sizeof(u), "%s?n=%zu", g->urls[g->i % 2], g->i);
	g->i++;
	*out = json_pack("{s:s, s:s}", "threat_id", "W", "url", u);
	return *out ? 1 : -1;
}

static void
test_windows(void)
{
	struct obs_config cfg = base_config();
	struct obs_cycle_stats st;
	struct gen g = {0, 25, 0, {"", ""}};
	json_t *recs = json_array(), *r;
	char err[256];
	size_t i;
	int rc, all200 = 1, pinged = 1, distinct = 1;

	snprintf(g.urls[0], sizeof(g.urls[0]), "%s", url("a", "/page"));
	snprintf(g.urls[1], sizeof(g.urls[1]), "%s", url("b", "/x"));
	cfg.window = 4;
	cfg.ping_count = 1;
	cfg.ping_interval_ms = 50;
	rc = obs_cycle_run_iter(&cfg, gen_next, &g, 25, collect, recs, &st, err, sizeof(err));
	is_int(rc, 0, "iterator: 25 targets in windows of 4");
	is_int(json_array_size(recs), 25, "iterator: a record for each");
	is_int(st.targets, 25, "iterator: stats count the targets taken");
	is_int(st.robots_fetched, 2, "robots.txt once per origin across 7 windows");
	is_int(st.requests, 25, "and one GET per target");
	json_array_foreach(recs, i, r) {
		if (i_at(r, "http", "status") != 200)
			all200 = 0;
		if (is_null(r, "ping", NULL))
			pinged = 0;
		for (size_t k = 0; k < i; k++)
			if (strcmp(s_at(r, "target", "input"),
				s_at(json_array_get(recs, k), "target", "input")) == 0)
				distinct = 0;
	}
	ok(all200, "every GET answered 200");
	ok(distinct, "each target observed once");
	if (st.pinged == 0) {
		has_str(st.note, "ping skipped", "no ICMP socket: windows ping nothing, with a note");
		tap_skip("windows ping their targets", "no ICMP socket permitted here");
	} else {
		is_int(st.pinged, 25, "every window pinged its targets");
		ok(pinged, "every record carries its window's ping");
	}
	json_array_clear(recs);

	/* A source that fails stops the cycle with an error; what was observed stays given. */
	g = (struct gen){0, 25, 11, {"", ""}};
	snprintf(g.urls[0], sizeof(g.urls[0]), "%s", url("a", "/page"));
	snprintf(g.urls[1], sizeof(g.urls[1]), "%s", url("b", "/x"));
	cfg.ping_count = 0;
	rc = obs_cycle_run_iter(&cfg, gen_next, &g, 25, collect, recs, &st, err, sizeof(err));
	is_int(rc, -1, "a failing source fails the cycle");
	has_str(err, "reading the targets failed", "and err says so");
	is_int(json_array_size(recs), 8, "the two windows before it were observed");
	is_int(st.targets, 10, "the targets taken are counted");
	json_array_clear(recs);

	/* Host spacing holds across windows: one target per window, one host. */
	g = (struct gen){0, 3, 0, {"", ""}};
	snprintf(g.urls[0], sizeof(g.urls[0]), "%s", url("b", "/s"));
	snprintf(g.urls[1], sizeof(g.urls[1]), "%s", url("b", "/t"));
	cfg.window = 1;
	cfg.robots_respect = 0;
	cfg.host_spacing_us = 300000;
	rc = obs_cycle_run_iter(&cfg, gen_next, &g, 0, collect, recs, &st, err, sizeof(err));
	is_int(rc, 0, "spacing over windows of one: the cycle succeeds");
	if (json_array_size(recs) == 3) {
		int64_t t0 = when(json_array_get(recs, 0)), t1 = when(json_array_get(recs, 1)),
			t2 = when(json_array_get(recs, 2));
		ok(t1 - t0 >= 300000 && t2 - t1 >= 300000,
		    "host_spacing holds from one window to the next (%lld, %lld us)",
		    (long long)(t1 - t0), (long long)(t2 - t1));
	} else {
		ok(0, "spacing over windows: three records (%zu)", json_array_size(recs));
	}
	is_int(obs_cycle_run_iter(&cfg, NULL, NULL, 0, collect, recs, &st, err, sizeof(err)), -1,
	    "no target source: refused");
	json_decref(recs);
}

static json_t *
rec(const char *id, json_t *status, const char *sha, int received)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:{s:s}, s:{s:i}, s:{s:o, s:o}}", "id", id,
	    "threat_id", "E", "node", "n1", "observed_at", "2026-11-22T04:00:00Z", "target",
	    "input", "http://x.example/", "ping", "received", received, "http", "status", status,
	    "sha256", sha ? json_string(sha) : json_null());
}

static void
test_events(void)
{
	json_t *down = rec("a1", json_null(), NULL, 0);
	json_t *up = rec("a2", json_integer(200), "aa", 0);
	json_t *up2 = rec("a3", json_integer(404), "bb", 0);
	json_t *pingonly = rec("a4", json_null(), NULL, 3);
	json_t *pingweb = rec("a5", json_integer(200), "aa", 3);
	json_t *ev, *e;

	ev = obs_events(NULL, up);
	is_int(json_array_size(ev), 0, "events: none without a previous record");
	json_decref(ev);
	ev = obs_events(down, up);
	is_int(json_array_size(ev), 1, "events: silence then an answer");
	e = json_array_get(ev, 0);
	is_str(json_string_value(json_object_get(e, "kind")), "up", "event kind up");
	is_str(json_string_value(json_object_get(e, "threat_id")), "E", "event threat_id");
	is_str(json_string_value(json_object_get(e, "target")), "http://x.example/", "event target");
	is_str(json_string_value(json_object_get(e, "node")), "n1", "event node");
	is_str(json_string_value(json_object_get(e, "time")), "2026-11-22T04:00:00Z", "event time");
	is_str(json_string_value(json_object_get(e, "record")), "a2", "event record id");
	is_str(json_string_value(json_object_get(e, "from")), "down", "event from");
	is_str(json_string_value(json_object_get(e, "to")), "up", "event to");
	json_decref(ev);
	ev = obs_events(up, down);
	is_int(json_array_size(ev), 1, "events: an answer then silence");
	is_str(json_string_value(json_object_get(json_array_get(ev, 0), "kind")), "down", "down");
	json_decref(ev);
	ev = obs_events(up, up2);
	is_int(json_array_size(ev), 2, "events: status and content changed");
	e = json_array_get(ev, 0);
	is_str(json_string_value(json_object_get(e, "kind")), "status", "status event");
	is_int(json_integer_value(json_object_get(e, "from")), 200, "status from");
	is_int(json_integer_value(json_object_get(e, "to")), 404, "status to");
	e = json_array_get(ev, 1);
	is_str(json_string_value(json_object_get(e, "kind")), "content", "content event");
	is_str(json_string_value(json_object_get(e, "to")), "bb", "content to");
	json_decref(ev);
	ev = obs_events(up, up);
	is_int(json_array_size(ev), 0, "events: nothing changed, no event");
	json_decref(ev);
	ev = obs_events(down, pingonly);
	is_int(json_array_size(ev), 1, "events: a ping reply is an answer too");
	json_decref(ev);
	ev = obs_events(pingweb, pingonly);
	is_int(json_array_size(ev), 1, "events: HTTP went silent while ping answers");
	e = json_array_get(ev, 0);
	is_str(json_string_value(json_object_get(e, "kind")), "status", "as a status event");
	ok(json_integer_value(json_object_get(e, "from")) == 200 &&
	    json_is_null(json_object_get(e, "to")), "from 200 to null");
	json_decref(ev);
	json_decref(pingweb);
	json_decref(down);
	json_decref(up);
	json_decref(up2);
	json_decref(pingonly);
}

static int64_t
t_(const char *s)
{
	int64_t us = 0;

	util_time_parse(s, &us);
	return us;
}

static void
test_schedule(void)
{
	int64_t next = 0;

	setenv("TZ", "Asia/Tokyo", 1);
	tzset();
	ok(obs_next_start(t_("2026-11-22T03:59:59Z"), 0, 4 * 3600000000LL, &next) == 0 &&
	    next == t_("2026-11-22T07:00:00Z"), "Tokyo 00:00 + 4h: 12:59:59 JST -> 16:00 JST");
	ok(obs_next_start(t_("2026-11-22T07:00:00Z"), 0, 4 * 3600000000LL, &next) == 0 &&
	    next == t_("2026-11-22T11:00:00Z"), "a start time itself -> the next one");
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	ok(obs_next_start(t_("2026-03-28T23:30:00Z"), 0, 4 * 3600000000LL, &next) == 0 &&
	    next == t_("2026-03-29T02:00:00Z"), "spring forward: 00:30 CET -> 04:00 CEST");
	ok(obs_next_start(t_("2026-10-24T12:00:00Z"), 390, 24 * 3600000000LL, &next) == 0 &&
	    next == t_("2026-10-25T05:30:00Z"), "fall back: daily 06:30 is 06:30 CET");
	ok(obs_next_start(t_("2026-10-24T12:00:00Z"), 0, 90 * 1000000LL, &next) == 0 &&
	    next == t_("2026-10-24T12:00:00Z") + 90 * 1000000LL, "90 s interval");
	is_int(obs_next_start(0, 0, 500000, &next), -1, "an interval under 1 s is refused");
	unsetenv("TZ");
	tzset();
}

int
main(void)
{
	const char *bdir = getenv("TESTS_BUILDDIR");
	char farm[512];

	test_events();
	test_schedule();
	if (bdir == NULL)
		bdir = "tests";
	snprintf(farm, sizeof(farm), "%s/c2farm", bdir);
	snprintf(tmpdir, sizeof(tmpdir), "%s/c2w-obs-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") :
	    "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		tmpdir[0] = '\0';
		return 99;
	}
	snprintf(script_path, sizeof(script_path), "%s/farm.script", tmpdir);
	snprintf(exclude_path, sizeof(exclude_path), "%s/exclude.txt", tmpdir);
	atexit(cleanup);
	have_v6 = v6_available();
	write_script();
	curl_global_init(CURL_GLOBAL_ALL);
	if ((farm_pid = farm_run(farm, script_path, listeners, 64, &nlisteners)) < 0) {
		tap_diag("the farm (%s) did not start", farm);
		return 99;
	}
	test_basic();
	test_policy();
	test_spacing();
	test_vantage();
	test_ipv6();
	test_concurrency();
	test_ping_and_stop();
	test_windows();
	test_stop_and_fail();
	test_robots_cache();
	/* Everything again, taking one target at a time: robots.txt outcomes, host spacing
	 * and exclusions must carry from one window to the next. */
	tap_diag("again with windows of one target");
	test_window = 1;
	test_basic();
	test_policy();
	test_spacing();
	test_vantage();
	test_ipv6();
	test_ping_and_stop();
	curl_global_cleanup();
	return tap_done();
}
