/* obs_http against the simulated C2 farm: every field of the result, every failure kind
 * the farm can provoke, and concurrency with hostile servers among the targets. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "observer/obs_http.h"
#include "tests/farm_run.h"
#include "tests/tap.h"
#include "util/util.h"

#define MAX_BODY ((size_t)1 << 20)
#define TIMEOUT_MS 3000L /* far above what a good answer takes, even under load */

static pid_t farm_pid = -1, tls_pid = -1;
static char tmpdir[256];
static char script_path[300];

static struct farm_listener listeners[32];
static size_t nlisteners;

static void
farm_stop(void)
{
	if (tls_pid > 0) {
		kill(tls_pid, SIGTERM);
		waitpid(tls_pid, NULL, 0);
		tls_pid = -1;
	}
	if (farm_pid > 0) {
		kill(farm_pid, SIGTERM);
		waitpid(farm_pid, NULL, 0);
		farm_pid = -1;
	}
	if (script_path[0] != '\0') {
		static const char *const extra[] = {"key.pem", "cert.pem"};
		for (size_t i = 0; i < 2; i++) {
			char p[512];
			snprintf(p, sizeof(p), "%s/%s", tmpdir, extra[i]);
			unlink(p);
		}
		unlink(script_path);
	}
	if (tmpdir[0] != '\0')
		rmdir(tmpdir);
}

static int64_t
now_ms(void)
{
	return util_mono_us() / 1000;
}

static const struct farm_listener *
lst(const char *name)
{
	return farm_listener(listeners, nlisteners, name);
}

/* URL of a path on a named listener; a small ring of buffers so several can be live. */
static const char *
url(const char *name, const char *path)
{
	static char ring[8][256];
	static int next;
	const struct farm_listener *l = lst(name);
	char *u = ring[next++ % 8];

	snprintf(u, 256, "http://%s:%d%s", l->addr, l->port, path);
	return u;
}

static struct obs_http_opts
default_opts(void)
{
	struct obs_http_opts o = {
	    .user_agent = "c2watch-test/1.0",
	    .accept_encoding = "gzip, deflate",
	    .connect_timeout_ms = 1000,
	    .timeout_ms = TIMEOUT_MS,
	    .max_body = MAX_BODY,
	    .max_redirects = 5,
	    .max_inflight = 64,
	    .allow_private = 1, /* the whole farm is on loopback */
	};
	return o;
}

struct one {
	struct obs_http_result res;
	struct util_buf body;
	int called;
};

static void
one_done(void *arg, const struct obs_http_result *r)
{
	struct one *o = arg;

	o->called++;
	if (obs_http_result_copy(&o->res, r) != 0)
		exit(99);
	if (r->body != NULL)
		util_buf_add(&o->body, r->body, r->size);
}

/* Runs one request in an engine of its own and leaves the result in o. */
static void
probe(const struct obs_http_opts *opts, const char *u, const char *ua, int port,
    unsigned flags, struct one *o)
{
	char err[256];
	struct obs_http *h = obs_http_new(opts, err, sizeof(err));

	memset(o, 0, sizeof(*o));
	util_buf_init(&o->body, 0);
	if (h == NULL) {
		tap_diag("obs_http_new: %s", err);
		exit(99);
	}
	struct obs_http_req req = {
	    .url = u, .user_agent = ua, .port = port, .flags = flags, .done = one_done, .arg = o};
	if (obs_http_add(h, &req, err, sizeof(err)) != 0 || obs_http_run(h, err, sizeof(err)) != 0) {
		tap_diag("probe %s: %s", u, err);
		exit(99);
	}
	obs_http_free(h);
	if (o->called != 1) {
		tap_diag("callback ran %d times for %s", o->called, u);
		exit(99);
	}
}

static void
one_fini(struct one *o)
{
	obs_http_result_fini(&o->res);
	util_buf_fini(&o->body);
}

static void
sha_hex(const void *p, size_t n, char out[65])
{
	unsigned char d[UTIL_SHA256_LEN];

	util_sha256(p, n, d);
	util_hex(d, sizeof(d), out);
}

#define PAGE_HTML "<html><head><title>panel</title></head><body>login</body></html>"
static const char page_body[] = PAGE_HTML "\n";

static void
test_page(const struct obs_http_opts *opts)
{
	struct one o;
	char sha[65];

	probe(opts, url("web", "/"), NULL, 0, 0, &o);
	const struct obs_http_result *r = &o.res;
	is_int(r->error, OBS_HTTP_ERR_NONE, "200: no error");
	is_str(r->error_detail, "", "200: no error detail");
	is_int(r->status, 200, "200: status");
	is_str(r->reason, "OK", "200: reason");
	is_str(r->content_type, "text/html; charset=utf-8", "200: content type");
	is_str(r->server, "nginx/1.18.0", "200: server");
	ok(r->location == NULL, "200: no location");
	is_int(r->nredirects, 0, "200: no redirects");
	is_int(r->size, strlen(page_body), "200: size");
	is_int(r->truncated, 0, "200: not truncated");
	is_int(r->has_body, 1, "200: has a body");
	sha_hex(page_body, strlen(page_body), sha);
	is_str(r->sha256, sha, "200: sha256 of the body");
	has_str(r->filetype, "HTML", "200: libmagic sees HTML");
	ok(r->ssdeep != NULL && strchr(r->ssdeep, ':') != strrchr(r->ssdeep, ':'),
	    "200: ssdeep has the block:hash:hash form (%s)", r->ssdeep ? r->ssdeep : "null");
	ok(r->tls_sha256 == NULL, "200: no TLS fingerprint over plain HTTP");
	ok(r->elapsed_ms >= 0 && r->elapsed_ms < TIMEOUT_MS, "200: elapsed %lld ms",
	    (long long)r->elapsed_ms);
	ok(r->body == NULL, "200: body not exposed without KEEP_BODY");
	one_fini(&o);

	probe(opts, url("web", "/"), NULL, 0, OBS_HTTP_KEEP_BODY, &o);
	is_str(o.body.data, page_body, "KEEP_BODY exposes the body");
	one_fini(&o);

	/* The port given apart from the URL wins over the URL's. */
	char u[128];
	snprintf(u, sizeof(u), "http://%s/", lst("web")->addr);
	probe(opts, u, NULL, lst("web")->port, 0, &o);
	is_int(o.res.status, 200, "port override reaches the listener");
	one_fini(&o);
}

static void
test_status(const struct obs_http_opts *opts)
{
	struct one o;
	char sha[65];

	probe(opts, url("web", "/missing"), NULL, 0, 0, &o);
	is_int(o.res.error, OBS_HTTP_ERR_NONE, "404: an answer, not an error");
	is_int(o.res.status, 404, "404: status");
	is_str(o.res.reason, "Not Found", "404: reason");
	is_str(o.res.content_type, "text/plain", "404: content type");
	ok(o.res.server == NULL, "404: no server header");
	is_int(o.res.size, 10, "404: size of \"not found\\n\"");
	sha_hex("not found\n", 10, sha);
	is_str(o.res.sha256, sha, "404: sha256");
	one_fini(&o);

	probe(opts, url("web", "/error"), NULL, 0, 0, &o);
	is_int(o.res.error, OBS_HTTP_ERR_NONE, "500: an answer, not an error");
	is_int(o.res.status, 500, "500: status");
	is_str(o.res.reason, "Internal Server Error", "500: reason");
	is_str(o.res.server, "Apache", "500: server");
	is_int(o.res.size, 6, "500: size");
	one_fini(&o);

	probe(opts, url("web", "/custom"), NULL, 0, 0, &o);
	is_int(o.res.status, 503, "503: status");
	is_str(o.res.reason, "Go Away Now", "503: the server's own reason phrase");
	one_fini(&o);

	probe(opts, url("web", "/ctl"), NULL, 0, 0, &o);
	is_str(o.res.server, "evil?[2J\tx", "control bytes in a header value are neutralised");
	one_fini(&o);
}

static void
test_redirects(const struct obs_http_opts *opts)
{
	struct obs_http_opts o0 = *opts, o1 = *opts;
	struct one o;
	char want[128], sha[65];

	probe(opts, url("web", "/r1"), NULL, 0, 0, &o);
	is_int(o.res.error, OBS_HTTP_ERR_NONE, "chain: no error");
	is_int(o.res.status, 200, "chain: final status");
	is_int(o.res.nredirects, 2, "chain: two hops recorded");
	if (o.res.nredirects == 2) {
		snprintf(want, sizeof(want), "http://%s:%d/r2", lst("web")->addr, lst("web")->port);
		is_str(o.res.redirects[0], want, "chain: relative Location resolved");
		snprintf(want, sizeof(want), "http://%s:%d/final", lst("other")->addr,
		    lst("other")->port);
		is_str(o.res.redirects[1], want, "chain: absolute Location to another host");
	}
	ok(o.res.location == NULL, "chain: final response has no Location");
	sha_hex("final\n", 6, sha);
	is_str(o.res.sha256, sha, "chain: sha256 is the final page's");
	is_int(o.res.size, 6, "chain: size is the final page's");
	is_str(o.res.server, "final-server", "chain: headers are the final page's");
	one_fini(&o);

	o0.max_redirects = 0;
	probe(&o0, url("web", "/r1"), NULL, 0, 0, &o);
	is_int(o.res.error, OBS_HTTP_ERR_NONE, "max_redirects=0: no error");
	is_int(o.res.status, 302, "max_redirects=0: the 302 itself");
	is_str(o.res.reason, "Found", "max_redirects=0: reason");
	is_str(o.res.location, "/r2", "max_redirects=0: Location recorded as sent");
	is_int(o.res.nredirects, 0, "max_redirects=0: nothing followed");
	is_int(o.res.has_body, 1, "max_redirects=0: the 302's (empty) body");
	is_int(o.res.size, 0, "max_redirects=0: size 0");
	one_fini(&o);

	o1.max_redirects = 1;
	probe(&o1, url("web", "/r1"), NULL, 0, 0, &o);
	is_int(o.res.error, OBS_HTTP_ERR_PROTOCOL, "too many redirects: protocol error");
	has_str(o.res.error_detail, "more than 1 redirect", "too many redirects: detail");
	is_int(o.res.status, 301, "too many redirects: the last 3xx");
	is_int(o.res.nredirects, 1, "too many redirects: one hop followed");
	one_fini(&o);

	probe(opts, url("web", "/la"), NULL, 0, 0, &o);
	is_int(o.res.error, OBS_HTTP_ERR_PROTOCOL, "loop: protocol error");
	has_str(o.res.error_detail, "redirect loop", "loop: detail names the loop");
	is_int(o.res.status, 302, "loop: last status");
	is_int(o.res.nredirects, 1, "loop: stopped at the first repeat");
	ok(o.res.elapsed_ms < TIMEOUT_MS - 500, "loop: ends at once, not at the timeout (%lld ms)",
	    (long long)o.res.elapsed_ms);
	one_fini(&o);

	probe(opts, url("web", "/rftp"), NULL, 0, 0, &o);
	is_int(o.res.error, OBS_HTTP_ERR_PROTOCOL, "redirect to ftp: protocol error");
	has_str(o.res.error_detail, "scheme", "redirect to ftp: detail");
	one_fini(&o);
}

static void
test_gzip(const struct obs_http_opts *opts, const char *datadir)
{
	struct one o;
	struct util_buf plain;
	char path[1024], sha[65];

	util_buf_init(&plain, 0);
	snprintf(path, sizeof(path), "%s/page.html", datadir);
	if (util_read_file(path, &plain) != 0) {
		tap_diag("cannot read %s", path);
		exit(99);
	}
	probe(opts, url("web", "/gz"), NULL, 0, 0, &o);
	is_int(o.res.error, OBS_HTTP_ERR_NONE, "gzip: no error");
	is_int(o.res.status, 200, "gzip: status");
	is_int(o.res.size, plain.len, "gzip: size counts decoded bytes");
	sha_hex(plain.data, plain.len, sha);
	is_str(o.res.sha256, sha, "gzip: sha256 of the decoded body");
	has_str(o.res.filetype, "HTML", "gzip: libmagic sees the decoded HTML");
	is_int(o.res.truncated, 0, "gzip: not truncated");
	one_fini(&o);

	/* Without Accept-Encoding the probe records the bytes as they came. */
	struct obs_http_opts raw = *opts;
	raw.accept_encoding = NULL;
	probe(&raw, url("web", "/gz"), NULL, 0, 0, &o);
	has_str(o.res.filetype, "gzip", "no Accept-Encoding: body kept compressed");
	one_fini(&o);

	int64_t t0 = now_ms();
	probe(opts, url("web", "/bomb"), NULL, 0, 0, &o);
	is_int(o.res.error, OBS_HTTP_ERR_TOO_LARGE, "gzip bomb: too-large");
	is_int(o.res.truncated, 1, "gzip bomb: truncated");
	is_int(o.res.size, MAX_BODY, "gzip bomb: kept exactly max_body decoded bytes");
	is_int(o.res.status, 200, "gzip bomb: status still recorded");
	is_int(o.res.has_body, 1, "gzip bomb: the kept part is analysed");
	char *zeros = calloc(1, MAX_BODY);
	sha_hex(zeros, MAX_BODY, sha);
	free(zeros);
	is_str(o.res.sha256, sha, "gzip bomb: sha256 of the kept (zero) bytes");
	has_str(o.res.error_detail, "body over", "gzip bomb: detail");
	ok(now_ms() - t0 < 1000, "gzip bomb: stopped early (%lld ms)", (long long)(now_ms() - t0));
	one_fini(&o);
	util_buf_fini(&plain);
}

static void
test_hostile(const struct obs_http_opts *opts)
{
	struct one o;
	int64_t t0;

	t0 = now_ms();
	probe(opts, url("web", "/drip"), NULL, 0, 0, &o);
	int64_t dt = now_ms() - t0;
	is_int(o.res.error, OBS_HTTP_ERR_TIMEOUT, "slow drip: timeout");
	is_int(o.res.status, 0, "slow drip: no status line completed");
	ok(o.res.reason == NULL, "slow drip: no reason");
	is_int(o.res.has_body, 0, "slow drip: no body");
	is_str(o.res.sha256, "", "slow drip: no sha256");
	ok(o.res.filetype == NULL && o.res.ssdeep == NULL, "slow drip: no filetype or ssdeep");
	ok(dt >= TIMEOUT_MS - 100 && dt < TIMEOUT_MS * 4, "slow drip: ended at the timeout "
	    "(%lld ms)", (long long)dt);
	ok(o.res.elapsed_ms >= TIMEOUT_MS - 100, "slow drip: elapsed_ms %lld",
	    (long long)o.res.elapsed_ms);
	one_fini(&o);

	t0 = now_ms();
	probe(opts, url("web", "/hold"), NULL, 0, 0, &o);
	is_int(o.res.error, OBS_HTTP_ERR_TIMEOUT, "never answering: timeout");
	ok(now_ms() - t0 < TIMEOUT_MS * 4, "never answering: bounded by the timeout");
	one_fini(&o);

	probe(opts, url("web", "/headers"), NULL, 0, 0, &o);
	is_int(o.res.error, OBS_HTTP_ERR_PROTOCOL, "endless headers: protocol");
	has_str(o.res.error_detail, "headers over", "endless headers: detail");
	is_int(o.res.has_body, 0, "endless headers: no body");
	one_fini(&o);

	probe(opts, url("web", "/garbage"), NULL, 0, 0, &o);
	is_int(o.res.error, OBS_HTTP_ERR_PROTOCOL, "garbage: protocol");
	is_int(o.res.status, 0, "garbage: no status");
	ok(o.res.error_detail[0] != '\0', "garbage: detail \"%s\"", o.res.error_detail);
	one_fini(&o);

	probe(opts, url("web", "/reset"), NULL, 0, 0, &o);
	is_int(o.res.error, OBS_HTTP_ERR_RESET, "RST: reset");
	one_fini(&o);

	probe(opts, url("web", "/close"), NULL, 0, 0, &o);
	is_int(o.res.error, OBS_HTTP_ERR_RESET, "close without a byte: reset");
	has_str(o.res.error_detail, "Empty reply", "close without a byte: detail says empty reply");
	one_fini(&o);

	/* A port nobody listens on, and nobody can take meanwhile: bound, held, never
	 * listened on, closed after the probe. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sin);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) != 0)
		exit(99);
	char u[64];
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/", ntohs(sin.sin_port));
	probe(opts, u, NULL, 0, 0, &o);
	is_int(o.res.error, OBS_HTTP_ERR_REFUSED, "closed port: refused");
	is_int(o.res.status, 0, "closed port: no status");
	ok(o.res.elapsed_ms < TIMEOUT_MS - 500, "closed port: fast, not at the timeout (%lld ms)",
	    (long long)o.res.elapsed_ms);
	one_fini(&o);
	close(fd);

	/* Fill the stalled listener's backlog, then the probe's connect hangs. */
	int fill[4];
	struct sockaddr_in st = {.sin_family = AF_INET, .sin_port = htons(lst("stall")->port)};
	inet_pton(AF_INET, lst("stall")->addr, &st.sin_addr);
	for (int i = 0; i < 4; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (fill[i] >= 0)
			(void)connect(fill[i], (struct sockaddr *)&st, sizeof(st));
	}
	usleep(50000);
	struct obs_http_opts quick = *opts;
	quick.connect_timeout_ms = 300;
	quick.timeout_ms = 10 * TIMEOUT_MS; /* far from the connect timeout, even under load */
	t0 = now_ms();
	probe(&quick, url("stall", "/"), NULL, 0, 0, &o);
	dt = now_ms() - t0;
	is_int(o.res.error, OBS_HTTP_ERR_TIMEOUT, "connect never completes: timeout");
	ok(dt >= 250 && dt < quick.timeout_ms / 2, "connect timeout, not the total one (%lld ms)",
	    (long long)dt);
	has_str(o.res.error_detail, "onnect", "connect timeout: detail \"%s\"",
	    o.res.error_detail);
	one_fini(&o);
	for (int i = 0; i < 4; i++)
		if (fill[i] >= 0)
			close(fill[i]);

	t0 = now_ms();
	probe(opts, url("web", "/huge"), NULL, 0, 0, &o);
	dt = now_ms() - t0;
	is_int(o.res.error, OBS_HTTP_ERR_TOO_LARGE, "10 GB body: too-large");
	is_int(o.res.truncated, 1, "10 GB body: truncated");
	is_int(o.res.size, MAX_BODY, "10 GB body: kept max_body bytes");
	is_int(o.res.status, 200, "10 GB body: status");
	ok(dt < TIMEOUT_MS - 500, "10 GB body: abandoned quickly, not at the timeout (%lld ms)",
	    (long long)dt);
	char *pat = malloc(MAX_BODY), sha[65];
	for (size_t i = 0; i < MAX_BODY; i++)
		pat[i] = (char)('a' + (i % 65536) % 26);
	sha_hex(pat, MAX_BODY, sha);
	free(pat);
	is_str(o.res.sha256, sha, "10 GB body: sha256 of the first max_body bytes");
	one_fini(&o);
}

static void
test_ua(const struct obs_http_opts *opts)
{
	struct one o;

	probe(opts, url("gate", "/"), "EvilBot/2.1 (x)", 0, 0, &o);
	is_int(o.res.status, 200, "UA gating: the malware's UA gets the panel");
	is_int(o.res.size, 5, "UA gating: panel body");
	one_fini(&o);
	probe(opts, url("gate", "/"), NULL, 0, 0, &o);
	is_int(o.res.status, 404, "UA gating: another UA gets a 404");
	one_fini(&o);
}

static void
test_robots(const struct obs_http_opts *opts)
{
	struct obs_http_result res;
	struct util_buf body;
	char err[256];
	const char *want = "User-agent: *\nDisallow: /admin/\n";

	util_buf_init(&body, 0);
	ok(obs_http_robots_get(opts, url("web", "/some/page.php?id=1#x"), NULL, 0, &res, &body,
	       err, sizeof(err)) == 0,
	    "robots: fetched");
	is_int(res.status, 200, "robots: status");
	is_str(body.data, want, "robots: body");
	is_int(res.size, strlen(want), "robots: size");
	obs_http_result_fini(&res);

	ok(obs_http_robots_get(opts, url("other", "/x"), NULL, 0, &res, &body, err,
	       sizeof(err)) == 0,
	    "robots: absent file fetched");
	is_int(res.status, 404, "robots: 404 where there is none");
	obs_http_result_fini(&res);

	ok(obs_http_robots_get(opts, url("gate", "/"), NULL, 0, &res, &body, err,
	       sizeof(err)) == 0,
	    "robots: oversized file fetched");
	is_int(res.error, OBS_HTTP_ERR_TOO_LARGE, "robots: capped at 500 KiB");
	is_int(body.len, 500 * 1024, "robots: 500 KiB kept");
	obs_http_result_fini(&res);

	ok(obs_http_robots_get(opts, "ftp://127.0.0.1/", NULL, 0, &res, &body, err,
	       sizeof(err)) == -1,
	    "robots: refuses a non-HTTP URL");
	has_str(err, "not http", "robots: error names the problem");
	util_buf_fini(&body);
}

/* Flapping: the farm's cycle moves on SIGUSR1 and on /_farm/next. */
static void
test_cycles(const struct obs_http_opts *opts)
{
	struct one o;

	probe(opts, url("flap", "/"), NULL, 0, 0, &o);
	is_int(o.res.status, 200, "flap: cycle 0 up");
	one_fini(&o);
	kill(farm_pid, SIGUSR1);
	int seen = 0;
	for (int i = 0; i < 100 && !seen; i++) {
		probe(opts, url("flap", "/_farm/cycle"), NULL, 0, OBS_HTTP_KEEP_BODY, &o);
		seen = o.body.data != NULL && strcmp(o.body.data, "cycle 1\n") == 0;
		one_fini(&o);
		if (!seen)
			usleep(20000);
	}
	ok(seen, "flap: SIGUSR1 moved the farm to cycle 1");
	probe(opts, url("flap", "/"), NULL, 0, 0, &o);
	is_int(o.res.status, 503, "flap: cycle 1 down");
	one_fini(&o);
	probe(opts, url("flap", "/_farm/next"), NULL, 0, OBS_HTTP_KEEP_BODY, &o);
	is_str(o.body.data, "cycle 2\n", "flap: control request moves to cycle 2");
	one_fini(&o);
	probe(opts, url("flap", "/"), NULL, 0, 0, &o);
	is_int(o.res.status, 200, "flap: cycle 2 up again");
	one_fini(&o);
}

#define NGOOD 60

struct many {
	int status[NGOOD + 2];
	enum obs_http_error error[NGOOD + 2];
	int64_t finished_ms[NGOOD + 2];
	int64_t t0;
	int count;
};

struct many_arg {
	struct many *m;
	int i;
};

static void
many_done(void *arg, const struct obs_http_result *r)
{
	struct many_arg *a = arg;

	a->m->status[a->i] = r->status;
	a->m->error[a->i] = r->error;
	a->m->finished_ms[a->i] = now_ms() - a->m->t0;
	a->m->count++;
}

static void
run_many(const struct obs_http_opts *opts, struct many *m, struct obs_http_stats *st)
{
	static struct many_arg args[NGOOD + 2];
	char err[256];
	struct obs_http *h = obs_http_new(opts, err, sizeof(err));

	if (h == NULL)
		exit(99);
	memset(m, 0, sizeof(*m));
	m->t0 = now_ms();
	for (int i = 0; i < NGOOD + 2; i++) {
		args[i].m = m;
		args[i].i = i;
		/* The hostile ones first, so they hold their slots from the start. */
		const char *u = i == 0 ? url("web", "/hold") : i == 1 ? url("web", "/drip")
								       : url("web", "/");
		struct obs_http_req req = {.url = u, .done = many_done, .arg = &args[i]};
		if (obs_http_add(h, &req, err, sizeof(err)) != 0)
			exit(99);
	}
	if (obs_http_run(h, err, sizeof(err)) != 0) {
		tap_diag("run: %s", err);
		exit(99);
	}
	obs_http_get_stats(h, st);
	obs_http_free(h);
}

static void
test_concurrency(const struct obs_http_opts *opts)
{
	struct many m;
	struct obs_http_stats st;
	int good = 0;
	int64_t slowest = 0;
	/* A long timeout, so that "delayed nobody" means answered while the hostile ones
	 * still held their slots, however loaded the machine. */
	struct obs_http_opts slow = *opts;

	slow.timeout_ms = 2 * TIMEOUT_MS;
	run_many(&slow, &m, &st);
	is_int(m.count, NGOOD + 2, "concurrent: every callback ran");
	for (int i = 2; i < NGOOD + 2; i++) {
		if (m.status[i] == 200 && m.error[i] == OBS_HTTP_ERR_NONE)
			good++;
		if (m.finished_ms[i] > slowest)
			slowest = m.finished_ms[i];
	}
	is_int(good, NGOOD, "concurrent: every good target answered 200");
	ok(slowest < m.finished_ms[0] && slowest < m.finished_ms[1],
	    "concurrent: hostile targets delayed nobody (slowest %lld ms, hostile ones %lld "
	    "and %lld ms)", (long long)slowest, (long long)m.finished_ms[0],
	    (long long)m.finished_ms[1]);
	is_int(m.error[0], OBS_HTTP_ERR_TIMEOUT, "concurrent: the silent one timed out");
	is_int(m.error[1], OBS_HTTP_ERR_TIMEOUT, "concurrent: the dripping one timed out");
	ok(m.finished_ms[0] >= slow.timeout_ms - 100 && m.finished_ms[1] >= slow.timeout_ms - 100 &&
	    m.finished_ms[0] < slow.timeout_ms * 3 && m.finished_ms[1] < slow.timeout_ms * 3,
	    "concurrent: hostile ones ended at their own timeout");
	is_int(st.done, NGOOD + 2, "concurrent: stats count every request");
	is_int(st.analysed, 1, "concurrent: one distinct body analysed once");
	is_int(st.cache_hits, NGOOD - 1, "concurrent: the rest came from the cache");

	/* With a cap of 4 the queue drains all the same. */
	struct obs_http_opts capped = *opts;
	capped.max_inflight = 4;
	capped.timeout_ms = 500;
	run_many(&capped, &m, &st);
	good = 0;
	for (int i = 2; i < NGOOD + 2; i++)
		good += m.status[i] == 200;
	is_int(good, NGOOD, "capped: every good target answered through 4 slots");
	is_int(st.done, NGOOD + 2, "capped: all done");
}

static void
test_api(const struct obs_http_opts *opts)
{
	char err[256];
	struct obs_http *h = obs_http_new(opts, err, sizeof(err));
	struct one o;

	ok(h != NULL, "engine created");
	struct obs_http_req bad = {.url = "gopher://127.0.0.1/", .done = one_done, .arg = &o};
	ok(obs_http_add(h, &bad, err, sizeof(err)) == -1, "gopher URL refused");
	has_str(err, "not http or https", "error says why");
	bad.url = "http://[::1";
	ok(obs_http_add(h, &bad, err, sizeof(err)) == -1, "malformed URL refused");
	has_str(err, "bad URL", "error names the URL");
	bad.url = url("web", "/hold");
	ok(obs_http_add(h, &bad, err, sizeof(err)) == 0, "a request queued");
	is_int(obs_http_perform(h, 10, err, sizeof(err)), 1, "perform reports one in flight");
	obs_http_free(h); /* with one running: no callback, no leak */
	obs_http_free(NULL);
	obs_http_result_fini(NULL);

	struct obs_http_opts big = *opts;
	big.max_body = (size_t)4 << 30;
	ok(obs_http_new(&big, err, sizeof(err)) == NULL, "absurd max_body refused");
	has_str(err, "max_body", "error names max_body");
	is_str(obs_http_error_name(OBS_HTTP_ERR_TOO_LARGE), "too-large", "error names match the record");
	is_str(obs_http_error_name(OBS_HTTP_ERR_REFUSED), "refused", "refused name");
	ok(obs_http_error_name(OBS_HTTP_ERR_NONE) == NULL, "no name for no error");
}

/* Vantage options: source address, proxy; and TLS where there is none. */
static void
test_vantage(const struct obs_http_opts *opts)
{
	struct obs_http_opts src = *opts, prx = *opts;
	struct one o;
	char proxy[128];

	probe(opts, url("web", "/cloak"), NULL, 0, 0, &o);
	is_int(o.res.status, 404, "cloaking: the default source address is turned away");
	one_fini(&o);
	src.source_address = "127.0.0.9";
	probe(&src, url("web", "/cloak"), NULL, 0, 0, &o);
	is_int(o.res.status, 200, "source_address: the request leaves from 127.0.0.9");
	one_fini(&o);

	snprintf(proxy, sizeof(proxy), "http://%s:%d", lst("proxy")->addr, lst("proxy")->port);
	prx.proxy = proxy;
	probe(&prx, url("web", "/"), NULL, 0, 0, &o);
	is_int(o.res.status, 200, "proxy: answered");
	is_str(o.res.server, "farm-proxy", "proxy: the request went through the proxy");
	one_fini(&o);

	/* socks5h: the name goes to the proxy unresolved (a .localhost name, so that even a
	 * wrong local lookup would stay on this machine). */
	struct obs_http_opts sox = *opts;
	snprintf(proxy, sizeof(proxy), "socks5h://%s:%d", lst("socks")->addr, lst("socks")->port);
	sox.proxy = proxy;
	probe(&sox, "http://c2.localhost/", NULL, 0, 0, &o);
	is_int(o.res.error, OBS_HTTP_ERR_NONE, "socks5h: no error");
	is_int(o.res.status, 200, "socks5h: answered");
	is_str(o.res.server, "farm-socks", "socks5h: through the SOCKS proxy");
	one_fini(&o);
	probe(&sox, "http://c2.localhost:5/", NULL, 0, 0, &o);
	is_int(o.res.error, OBS_HTTP_ERR_REFUSED, "socks5h: proxy says refused: refused");
	one_fini(&o);
	probe(&sox, "http://c2.localhost:4/", NULL, 0, 0, &o);
	is_int(o.res.error, OBS_HTTP_ERR_REFUSED, "socks5h: proxy says host unreachable: refused");
	one_fini(&o);
	probe(&sox, "http://c2.localhost:6/", NULL, 0, 0, &o);
	is_int(o.res.error, OBS_HTTP_ERR_TIMEOUT, "socks5h: proxy says TTL expired: timeout");
	one_fini(&o);
	probe(&sox, "http://c2.localhost:2/", NULL, 0, 0, &o);
	is_int(o.res.error, OBS_HTTP_ERR_PROTOCOL, "socks5h: proxy says not allowed: protocol");
	has_str(o.res.error_detail, "SOCKS", "socks5h: detail names SOCKS");
	one_fini(&o);

	char u[128];
	snprintf(u, sizeof(u), "https://%s:%d/", lst("web")->addr, lst("web")->port);
	probe(opts, u, NULL, 0, 0, &o);
	is_int(o.res.error, OBS_HTTP_ERR_TLS, "https to a plain HTTP server: tls");
	ok(o.res.tls_sha256 == NULL, "https to a plain HTTP server: no fingerprint");
	one_fini(&o);
}

static int
private4(const char *a)
{
	struct sockaddr_in s = {.sin_family = AF_INET};

	if (inet_pton(AF_INET, a, &s.sin_addr) != 1)
		exit(99);
	return obs_http_addr_private((struct sockaddr *)&s);
}

static int
private6(const char *a)
{
	struct sockaddr_in6 s = {.sin6_family = AF_INET6};

	if (inet_pton(AF_INET6, a, &s.sin6_addr) != 1)
		exit(99);
	return obs_http_addr_private((struct sockaddr *)&s);
}

static void
test_private(const struct obs_http_opts *opts)
{
	static const char *const priv4[] = {"0.0.0.0", "10.1.2.3", "100.64.0.1", "127.0.0.1",
	    "127.255.255.254", "169.254.169.254", "172.16.0.1", "172.31.255.255", "192.0.2.7",
	    "192.168.1.1", "198.18.0.1", "198.51.100.9", "203.0.113.5", "224.0.0.1",
	    "240.0.0.1", "255.255.255.255"};
	static const char *const pub4[] = {"1.1.1.1", "8.8.8.8", "100.128.0.1", "172.32.0.1",
	    "172.15.255.255", "192.169.0.1", "198.20.0.1", "223.255.255.255", "11.0.0.1"};
	static const char *const priv6[] = {"::", "::1", "fc00::1", "fd12:3456::1", "fe80::1",
	    "ff02::1", "2001:db8::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1"};
	static const char *const pub6[] = {"2001:4860:4860::8888", "2606:4700::1111",
	    "::ffff:8.8.8.8", "2a00:1450::1"};

	for (size_t i = 0; i < sizeof(priv4) / sizeof(priv4[0]); i++)
		ok(private4(priv4[i]), "%s is not public", priv4[i]);
	for (size_t i = 0; i < sizeof(pub4) / sizeof(pub4[0]); i++)
		ok(!private4(pub4[i]), "%s is public", pub4[i]);
	for (size_t i = 0; i < sizeof(priv6) / sizeof(priv6[0]); i++)
		ok(private6(priv6[i]), "%s is not public", priv6[i]);
	for (size_t i = 0; i < sizeof(pub6) / sizeof(pub6[0]); i++)
		ok(!private6(pub6[i]), "%s is public", pub6[i]);

	struct obs_http_opts strict = *opts;
	struct one o;
	int64_t t0 = now_ms();
	strict.allow_private = 0;
	probe(&strict, url("web", "/"), NULL, 0, 0, &o);
	is_int(o.res.error, OBS_HTTP_ERR_PRIVATE, "allow_private=0: loopback target refused");
	is_str(obs_http_error_name(o.res.error), "private-address", "allow_private=0: error name");
	has_str(o.res.error_detail, lst("web")->addr, "allow_private=0: detail names the address");
	is_int(o.res.status, 0, "allow_private=0: nothing sent");
	ok(now_ms() - t0 < 1000, "allow_private=0: refused at once (%lld ms)",
	    (long long)(now_ms() - t0));
	one_fini(&o);

	char proxy[128];
	snprintf(proxy, sizeof(proxy), "http://%s:%d", lst("proxy")->addr, lst("proxy")->port);
	strict.proxy = proxy;
	probe(&strict, url("web", "/"), NULL, 0, 0, &o);
	is_str(o.res.server, "farm-proxy", "allow_private=0 with a proxy: the proxy decides");
	one_fini(&o);
}

/* Runs a program to completion; returns its exit status or -1. */
static int
run_prog(char *const argv[])
{
	int st;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* A real TLS server (openssl s_server with a throw-away certificate), for tls_sha256. */
static void
test_tls(const struct obs_http_opts *opts)
{
	char key[512], cert[512], line[256];
	int fds[2];

	snprintf(key, sizeof(key), "%s/key.pem", tmpdir);
	snprintf(cert, sizeof(cert), "%s/cert.pem", tmpdir);
	char *req[] = {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
	    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-subj",
	    "/CN=c2.test", "-days", "1", NULL};
	if (run_prog(req) != 0) {
		tap_skip("TLS checks", "the openssl command is not available");
		return;
	}
	if (pipe(fds) != 0)
		exit(99);
	tls_pid = fork();
	if (tls_pid < 0)
		exit(99);
	if (tls_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execlp("openssl", "openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", cert,
		    "-key", key, "-www", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	FILE *fp = fdopen(fds[0], "r");
	int port = 0;
	/* Bounded: s_server prints a few lines before ACCEPT. */
	for (int i = 0; i < 20 && fp != NULL && fgets(line, sizeof(line), fp) != NULL; i++) {
		char *colon = strrchr(line, ':');
		if (strncmp(line, "ACCEPT", 6) == 0 && colon != NULL) {
			port = atoi(colon + 1);
			break;
		}
	}
	if (fp != NULL)
		fclose(fp);
	if (port <= 0) {
		ok(0, "openssl s_server starts for the TLS checks");
		return;
	}

	char want[65] = "";
	FILE *cf = fopen(cert, "r");
	X509 *x = cf ? PEM_read_X509(cf, NULL, NULL, NULL) : NULL;
	unsigned char *der = NULL;
	int len = x ? i2d_X509(x, &der) : -1;
	if (len > 0)
		sha_hex(der, (size_t)len, want);
	OPENSSL_free(der);
	X509_free(x);
	if (cf != NULL)
		fclose(cf);

	struct one o;
	char u[64];
	snprintf(u, sizeof(u), "https://127.0.0.1:%d/", port);
	probe(opts, u, NULL, 0, 0, &o);
	is_int(o.res.error, OBS_HTTP_ERR_NONE, "TLS: no error (self-signed is recorded, not judged)");
	is_int(o.res.status, 200, "TLS: status");
	ok(want[0] != '\0', "TLS: test certificate fingerprinted");
	is_str(o.res.tls_sha256, want, "TLS: tls_sha256 is the SHA-256 of the certificate DER");
	one_fini(&o);
	kill(tls_pid, SIGTERM);
	waitpid(tls_pid, NULL, 0);
	tls_pid = -1;
}

static void
write_script(const char *datadir)
{
	FILE *fp;

	snprintf(script_path, sizeof(script_path), "%s/farm.script", tmpdir);
	fp = fopen(script_path, "w");
	if (fp == NULL)
		exit(99);
	fprintf(fp,
	    "# the test's farm\n"
	    "listen web 127.0.0.2\n"
	    "listen other 127.0.0.3 0\n"
	    "listen gate 127.0.1.4\n"
	    "listen flap 127.0.0.5\n"
	    "listen proxy 127.0.0.6\n"
	    "listen stall 127.0.0.8 0 stall\n"
	    "listen socks 127.0.0.7 0 socks5\n"
	    "rule socks / * page server=farm-socks body=via-socks\n"
	    "rule proxy * * page server=farm-proxy body=via-proxy\n"
	    "rule web /cloak * page from=127.0.0.9 body=seen\n"
	    "rule web / * page type=\"text/html; charset=utf-8\" server=nginx/1.18.0 "
	    "body=\"" PAGE_HTML "\\n\"\n"
	    "rule web /error * page status=500 server=Apache body=\"oops!\\n\"\n"
	    "rule web /custom * page status=503 reason=\"Go Away Now\"\n"
	    "rule web /ctl * page server=\"evil\\e[2J\\tx\"\n"
	    "rule web /r1 * page status=302 location=/r2\n"
	    "rule web /r2 * page status=301 location=http://{other}/final\n"
	    "rule other /final * page server=final-server body=\"final\\n\"\n"
	    "rule web /la * page status=302 location=/lb\n"
	    "rule web /lb * page status=302 location=/la\n"
	    "rule web /rftp * page status=302 location=ftp://127.0.0.1/x\n"
	    "rule web /gz * page type=text/html encoding=gzip bodyfile=%s/page.html.gz\n"
	    "rule web /bomb * page type=text/html encoding=gzip bodyfile=%s/bomb.gz\n"
	    "rule web /drip * drip body=\"slow\" interval=1000\n"
	    "rule web /hold * hold\n"
	    "rule web /headers * headers\n"
	    "rule web /garbage * garbage\n"
	    "rule web /reset * reset\n"
	    "rule web /close * close\n"
	    "rule web /huge * huge size=10G type=application/octet-stream\n"
	    "rule web /robots.txt * page type=text/plain body=\"User-agent: *\\nDisallow: "
	    "/admin/\\n\"\n"
	    "rule gate / * page ua=EvilBot/2 body=panel\n"
	    "rule gate /robots.txt * huge size=1M\n"
	    "rule flap / 0,2- page body=up\n"
	    "rule flap / * page status=503 body=down\n",
	    datadir, datadir);
	fclose(fp);
}

int
main(void)
{
	const char *bdir = getenv("TESTS_BUILDDIR"), *sdir = getenv("TESTS_SRCDIR");
	const char *tmp = getenv("TMPDIR");
	char farm[512], datadir[512];

	if (bdir == NULL || sdir == NULL)
		tap_skip_all("TESTS_BUILDDIR or TESTS_SRCDIR not set (run through make check)");
	snprintf(farm, sizeof(farm), "%s/c2farm", bdir);
	snprintf(datadir, sizeof(datadir), "%s/data/farm", sdir);
	snprintf(tmpdir, sizeof(tmpdir), "%s/c2w-http-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		tmpdir[0] = '\0';
		tap_diag("mkdtemp: %s", strerror(errno));
		return 99;
	}
	atexit(farm_stop);
	write_script(datadir);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 99;
	if ((farm_pid = farm_run(farm, script_path, listeners, 32, &nlisteners)) < 0) {
		tap_diag("the farm (%s) did not start", farm);
		return 99;
	}
	struct obs_http_opts opts = default_opts();

	test_api(&opts);
	test_page(&opts);
	test_status(&opts);
	test_redirects(&opts);
	test_gzip(&opts, datadir);
	test_ua(&opts);
	test_robots(&opts);
	test_cycles(&opts);
	test_vantage(&opts);
	test_private(&opts);
	test_tls(&opts);
	test_hostile(&opts);
	test_concurrency(&opts);

	int st = -1;
	kill(farm_pid, SIGTERM);
	waitpid(farm_pid, &st, 0);
	farm_pid = -1;
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the farm exits cleanly on SIGTERM");
	curl_global_cleanup();
	return tap_done();
}
