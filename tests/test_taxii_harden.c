/*
 * taxii hardening against hostile clients and hostile push addresses: the push address
 * policy (each address class, IPv4 and IPv6, names that resolve to them, a name whose
 * answer changes between SUBSCRIBE and the push, no redirects), slow and greedy clients
 * (header and body drip, idle holders, the connection caps counted once for the server
 * and per source), refusals answered with Status Messages (503, 431, 429), and the cost
 * of authentication (control bytes, throttled sources, a busy checker). Every server is
 * on 127.0.0.1 at a port chosen at run time; a second loopback source (127.0.0.2) plays
 * the well-behaved client where limits are per source.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libxml/parser.h>
#include <microhttpd.h>

#include "taxii/taxii.h"
#include "tests/tap.h"
#include "util/util.h"

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------------------------------
 * An in-memory backend: three records, an inbox that counts, subscriptions in an array.
 */
#define MAX_SUBS 32

struct mem {
	pthread_mutex_t lock;
	int inbox_calls;
	struct taxii_sub subs[MAX_SUBS];
	size_t n_subs;
};

static struct mem mem = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int
mem_poll(void *ctx, const char *collection, int64_t begin_us, int64_t end_us, size_t offset,
    size_t limit, taxii_record_cb cb, void *arg, char *err, size_t errlen)
{
	static const char rec[] = "<x:r xmlns:x=\"urn:test\">record</x:r>";

	(void)ctx;
	(void)collection;
	(void)begin_us;
	(void)end_us;
	(void)err;
	(void)errlen;
	for (size_t i = offset; i < 3 && i - offset < limit; i++) {
		struct taxii_record r = { rec, sizeof(rec) - 1, NULL, 1000000 * (int64_t)(i + 1) };

		if (cb(arg, &r) != 0)
			return -1;
	}
	return 0;
}

static int
mem_count(void *ctx, const char *collection, int64_t begin_us, int64_t end_us,
    uint64_t *count, char *err, size_t errlen)
{
	(void)ctx;
	(void)collection;
	(void)begin_us;
	(void)end_us;
	(void)err;
	(void)errlen;
	*count = 3;
	return 0;
}

static int
mem_inbox(void *ctx, const char *collection, const struct taxii_content_block *blocks,
    size_t n_blocks, char *err, size_t errlen)
{
	struct mem *m = ctx;

	(void)collection;
	(void)blocks;
	(void)n_blocks;
	(void)err;
	(void)errlen;
	pthread_mutex_lock(&m->lock);
	m->inbox_calls++;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

static int
inbox_calls(void)
{
	int n;

	pthread_mutex_lock(&mem.lock);
	n = mem.inbox_calls;
	pthread_mutex_unlock(&mem.lock);
	return n;
}

static int
sub_add(void *ctx, const struct taxii_sub *sub, char *err, size_t errlen)
{
	struct mem *m = ctx;
	int rc = -1;

	pthread_mutex_lock(&m->lock);
	if (m->n_subs < MAX_SUBS) {
		m->subs[m->n_subs++] = *sub;
		rc = 0;
	} else {
		snprintf(err, errlen, "test backend full");
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int
sub_get(void *ctx, const char *id, struct taxii_sub *out, char *err, size_t errlen)
{
	struct mem *m = ctx;
	int rc = 1;

	(void)err;
	(void)errlen;
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->n_subs && rc == 1; i++)
		if (strcmp(m->subs[i].id, id) == 0) {
			*out = m->subs[i];
			rc = 0;
		}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int
sub_set_status(void *ctx, const char *id, enum taxii_sub_status st, struct taxii_sub *out,
    char *err, size_t errlen)
{
	struct mem *m = ctx;
	int rc = 1;

	(void)err;
	(void)errlen;
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->n_subs && rc == 1; i++)
		if (strcmp(m->subs[i].id, id) == 0) {
			m->subs[i].status = st;
			*out = m->subs[i];
			rc = 0;
		}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int
sub_list(void *ctx, const char *collection, taxii_sub_cb cb, void *arg, char *err,
    size_t errlen)
{
	struct mem *m = ctx;
	struct taxii_sub copy[MAX_SUBS];
	size_t n;

	(void)err;
	(void)errlen;
	pthread_mutex_lock(&m->lock);
	n = m->n_subs;
	memcpy(copy, m->subs, n * sizeof(copy[0]));
	pthread_mutex_unlock(&m->lock);
	for (size_t i = 0; i < n; i++)
		if ((collection == NULL || strcmp(copy[i].collection, collection) == 0) &&
		    cb(arg, &copy[i]) != 0)
			break;
	return 0;
}

static struct taxii_backend
backend(void)
{
	struct taxii_backend be;

	memset(&be, 0, sizeof(be));
	be.ctx = &mem;
	be.poll = mem_poll;
	be.count = mem_count;
	be.inbox = mem_inbox;
	be.subs.add = sub_add;
	be.subs.get = sub_get;
	be.subs.set_status = sub_set_status;
	be.subs.list = sub_list;
	return be;
}

static struct taxii_server *
server(struct taxii_server_conf *sc, unsigned *port)
{
	struct taxii_backend be = backend();
	struct taxii_server *s = NULL;
	struct taxii_err err;

	sc->listen = "127.0.0.1:0";
	if (taxii_server_new(sc, &be, &s, &err) != 0) {
		tap_diag("server: %s", err.msg);
		return NULL;
	}
	*port = taxii_server_port(s, 0);
	return s;
}

/* ---------------------------------------------------------------------------------------
 * A resolver the test controls: names of each address class.
 */
static const struct {
	const char *name;
	const char *addrs[3];
} names[] = {
	{ "public.example", { "93.184.216.34", "2606:2800:220:1::1" } },
	{ "loop4.example", { "127.0.0.53" } },
	{ "loop6.example", { "::1" } },
	{ "private4.example", { "192.168.10.1" } },
	{ "ula.example", { "fd00:1234::1" } },
	{ "meta.example", { "169.254.169.254" } },
	{ "ll6.example", { "fe80::1" } },
	{ "cgnat.example", { "100.100.1.1" } },
	{ "doc4.example", { "198.51.100.7" } },
	{ "doc6.example", { "2001:db8::7" } },
	{ "mcast4.example", { "239.1.2.3" } },
	{ "mcast6.example", { "ff05::2" } },
	{ "zero4.example", { "0.0.0.0" } },
	{ "zero6.example", { "::" } },
	{ "reserved4.example", { "240.0.0.1" } },
	{ "mapped.example", { "::ffff:10.0.0.1" } },
	/* One bad answer among good ones is enough: the pusher may get any of them. */
	{ "mixed.example", { "93.184.216.34", "10.0.0.1" } },
};

static int
stub_resolve(void *arg, const char *host, struct sockaddr_storage *addrs, size_t max,
    size_t *n)
{
	(void)arg;
	*n = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(names[i].name, host) != 0)
			continue;
		for (size_t k = 0; k < 3 && names[i].addrs[k] != NULL && *n < max; k++) {
			struct sockaddr_in *a4 = (struct sockaddr_in *)(void *)&addrs[*n];
			struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)(void *)&addrs[*n];

			memset(&addrs[*n], 0, sizeof(addrs[*n]));
			if (inet_pton(AF_INET, names[i].addrs[k], &a4->sin_addr) == 1)
				a4->sin_family = AF_INET;
			else if (inet_pton(AF_INET6, names[i].addrs[k], &a6->sin6_addr) == 1)
				a6->sin6_family = AF_INET6;
			else
				continue;
			++*n;
		}
		return *n > 0 ? 0 : -1;
	}
	return -1;
}

/* ---------------------------------------------------------------------------------------
 * The policy itself.
 */
static void
test_policy(void)
{
	static const struct {
		const char *url, *cls; /* cls NULL: allowed */
	} cases[] = {
		{ "http://127.0.0.1:8080/inbox", "loopback" },
		{ "http://127.9.9.9/inbox", "loopback" },
		{ "http://10.1.2.3/inbox", "private" },
		{ "http://172.16.0.1/inbox", "private" },
		{ "http://192.168.1.1/inbox", "private" },
		{ "http://169.254.169.254/latest/meta-data/", "link-local" },
		{ "http://100.64.0.1/inbox", "cgnat" },
		{ "http://192.0.2.1/inbox", "documentation" },
		{ "http://198.51.100.1/inbox", "documentation" },
		{ "http://203.0.113.1/inbox", "documentation" },
		{ "http://224.0.0.1/inbox", "multicast" },
		{ "http://0.0.0.0:9090/inbox", "unspecified" },
		{ "http://240.0.0.1/inbox", "reserved" },
		{ "http://255.255.255.255/inbox", "broadcast" },
		{ "http://198.18.0.1/inbox", "benchmark" },
		{ "http://[::1]:9090/inbox", "loopback" },
		{ "http://[::]/inbox", "unspecified" },
		{ "http://[fc00::1]/inbox", "private" },
		{ "http://[fd12:3456::1]/inbox", "private" },
		{ "http://[fe80::1]/inbox", "link-local" },
		{ "http://[fe80::1%25eth0]/inbox", "link-local" },
		{ "http://[ff02::1]/inbox", "multicast" },
		{ "http://[2001:db8::1]/inbox", "documentation" },
		{ "http://[::ffff:127.0.0.1]/inbox", "loopback" },
		{ "http://[::ffff:169.254.169.254]/inbox", "link-local" },
		{ "http://[64:ff9b::a00:1]/inbox", "private" },
		{ "http://[100::1]/inbox", "reserved" },
		/* Other spellings of 127.0.0.1 that resolvers accept. */
		{ "http://2130706433/inbox", "loopback" },
		{ "http://0x7f000001/inbox", "loopback" },
		{ "http://127.1/inbox", "loopback" },
		{ "http://0177.0.0.1/inbox", "loopback" },
		/* Names, through the resolver the test controls. */
		{ "http://loop4.example/inbox", "loopback" },
		{ "http://loop6.example/inbox", "loopback" },
		{ "http://private4.example/inbox", "private" },
		{ "http://ula.example/inbox", "private" },
		{ "http://meta.example/inbox", "link-local" },
		{ "http://ll6.example/inbox", "link-local" },
		{ "http://cgnat.example/inbox", "cgnat" },
		{ "http://doc4.example/inbox", "documentation" },
		{ "http://doc6.example/inbox", "documentation" },
		{ "http://mcast4.example/inbox", "multicast" },
		{ "http://mcast6.example/inbox", "multicast" },
		{ "http://zero4.example/inbox", "unspecified" },
		{ "http://zero6.example/inbox", "unspecified" },
		{ "http://reserved4.example/inbox", "reserved" },
		{ "http://mapped.example/inbox", "private" },
		{ "http://mixed.example/inbox", "private" },
		{ "http://nx.example/inbox", "does not resolve" },
		/* Public, IPv4 and IPv6, numeric and by name. */
		{ "http://93.184.216.34/taxii/inbox", NULL },
		{ "https://[2606:2800:220:1::1]:9443/taxii/inbox", NULL },
		{ "https://public.example/taxii/inbox", NULL },
	};
	char why[320];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		why[0] = '\0';
		rc = taxii_push_allowed(cases[i].url, stub_resolve, NULL, why, sizeof(why));
		if (cases[i].cls == NULL)
			ok(rc == 0, "policy: %s is allowed (%s)", cases[i].url, why);
		else
			ok(rc == -1 && strstr(why, cases[i].cls) != NULL,
			    "policy: %s is refused as %s (%s)", cases[i].url, cases[i].cls, why);
	}
	/* The system's resolver: localhost is loopback (IPv4, IPv6 or both). */
	ok(taxii_push_allowed("https://localhost:9443/inbox", NULL, NULL, why, sizeof(why)) ==
	    -1 && strstr(why, "loopback") != NULL, "policy: localhost is refused as loopback (%s)",
	    why);
	ok(taxii_push_allowed("http:///inbox", stub_resolve, NULL, why, sizeof(why)) == -1 &&
	    strstr(why, "host") != NULL, "policy: a URL without a host is refused (%s)", why);
	ok(taxii_push_allowed("http://10.0.0.1/", stub_resolve, NULL, why, sizeof(why)) == -1 &&
	    strstr(why, "10.0.0.1 is a private address") != NULL,
	    "policy: the reason names the address and its class (%s)", why);
}

/* ---------------------------------------------------------------------------------------
 * SUBSCRIBE under the policy, and the push client at connect time.
 */
static int
subscribe(unsigned port, const char *push, struct taxii_err *err)
{
	struct taxii_client_conf c;
	struct taxii_client_sub_req sr = { TAXII_RESP_FULL, push };
	struct taxii_msg *m = NULL;
	char url[128];
	int rc;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/taxii/collections", port);
	memset(&c, 0, sizeof(c));
	c.url = url;
	c.version = TAXII_V11;
	c.timeout_s = 10;
	rc = taxii_client_subscription(&c, "observations", TAXII_SUB_SUBSCRIBE, NULL, &sr, &m,
	    err);
	taxii_msg_free(m);
	return rc;
}

static int
push_to(const char *url, int public_only, const char *const *pins, struct taxii_err *err)
{
	static const char content[] = "<x:r xmlns:x=\"urn:test\">pushed</x:r>";
	struct taxii_content_block b;
	struct taxii_client_conf c;

	memset(&b, 0, sizeof(b));
	b.binding = TAXII_CB_STIX_12;
	b.content = content;
	b.content_len = sizeof(content) - 1;
	b.is_xml = 1;
	memset(&c, 0, sizeof(c));
	c.url = url;
	c.version = TAXII_V11;
	c.timeout_s = 10;
	c.public_only = public_only;
	c.resolve = pins;
	memset(err, 0, sizeof(*err));
	return taxii_client_inbox(&c, "observations", &b, 1, err);
}

/* A server that answers every request with a redirect to `target`. */
static enum MHD_Result
redirector(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct MHD_Response *r;
	enum MHD_Result rc;

	(void)url;
	(void)method;
	(void)version;
	(void)upload_data;
	if (*con_cls == NULL) {
		*con_cls = conn;
		return MHD_YES;
	}
	if (*upload_size != 0) {
		*upload_size = 0;
		return MHD_YES;
	}
	r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Location", cls);
	rc = MHD_queue_response(conn, MHD_HTTP_TEMPORARY_REDIRECT, r);
	MHD_destroy_response(r);
	return rc;
}

static void
test_push(void)
{
	struct taxii_server_conf sc;
	struct taxii_server *strict, *lax, *recv;
	struct MHD_Daemon *redir = NULL;
	unsigned sport = 0, lport = 0, rport = 0, dport = 0;
	struct taxii_err err;
	char url[200], pin[100], target[160];
	const char *pins[2] = { pin, NULL };
	int rc, before;

	memset(&sc, 0, sizeof(sc));
	sc.resolve = stub_resolve;
	strict = server(&sc, &sport);
	sc.allow_private_push = 1;
	lax = server(&sc, &lport);
	memset(&sc, 0, sizeof(sc));
	recv = server(&sc, &rport);
	if (!ok(strict && lax && recv, "push: servers on 127.0.0.1:%u, %u and %u", sport, lport,
		rport))
		goto out;

	/* SUBSCRIBE: refused with a DENIED Status Message that says why. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/taxii/inbox", rport);
	rc = subscribe(sport, url, &err);
	ok(rc == TAXII_ESTATUS && strstr(err.msg, "DENIED") && strstr(err.msg, "loopback") &&
	    strstr(err.msg, "127.0.0.1"), "subscribe: a loopback push address is DENIED (%s)",
	    err.msg);
	rc = subscribe(sport, "http://[::1]:9/taxii/inbox", &err);
	ok(rc == TAXII_ESTATUS && strstr(err.msg, "DENIED") && strstr(err.msg, "::1 is a "
	    "loopback"), "subscribe: [::1] too (%s)", err.msg);
	rc = subscribe(sport, "http://[::ffff:192.168.0.1]/taxii/inbox", &err);
	ok(rc == TAXII_ESTATUS && strstr(err.msg, "private"),
	    "subscribe: an IPv4-mapped private address too (%s)", err.msg);
	rc = subscribe(sport, "http://meta.example/latest/", &err);
	ok(rc == TAXII_ESTATUS && strstr(err.msg, "169.254.169.254, a link-local"),
	    "subscribe: a name that resolves to the metadata address too (%s)", err.msg);
	rc = subscribe(sport, "http://ula.example/taxii/inbox", &err);
	ok(rc == TAXII_ESTATUS && strstr(err.msg, "fd00:1234::1, a private"),
	    "subscribe: a name that resolves to an IPv6 ULA too (%s)", err.msg);
	rc = subscribe(sport, "http://nx.example/taxii/inbox", &err);
	ok(rc == TAXII_ESTATUS && strstr(err.msg, "does not resolve"),
	    "subscribe: a name that does not resolve too (%s)", err.msg);
	is_int((int)mem.n_subs, 0, "subscribe: none of those was kept");
	snprintf(url, sizeof(url), "http://public.example:%u/taxii/inbox", rport);
	rc = subscribe(sport, url, &err);
	ok(rc == 0, "subscribe: a name that resolves to public addresses is taken (%s)",
	    rc ? err.msg : "");
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/taxii/inbox", rport);
	rc = subscribe(lport, url, &err);
	ok(rc == 0, "subscribe: with allow_private_push, loopback is taken (%s)",
	    rc ? err.msg : "");

	/* The push client: every connection checked. */
	before = inbox_calls();
	rc = push_to(url, 1, NULL, &err);
	ok(rc == TAXII_ENET && strstr(err.msg, "127.0.0.1 is a loopback address") &&
	    strstr(err.msg, "address policy"), "push: a loopback inbox is refused at connect (%s)",
	    err.msg);
	rc = push_to("http://[::1]:9/taxii/inbox", 1, NULL, &err);
	ok(rc == TAXII_ENET && strstr(err.msg, "::1 is a loopback address"),
	    "push: so is [::1] (%s)", err.msg);
	/* The DNS answer changed after SUBSCRIBE: public.example now points at loopback. */
	snprintf(url, sizeof(url), "http://public.example:%u/taxii/inbox", rport);
	snprintf(pin, sizeof(pin), "public.example:%u:127.0.0.1", rport);
	rc = push_to(url, 1, pins, &err);
	ok(rc == TAXII_ENET && strstr(err.msg, "127.0.0.1 is a loopback address"),
	    "push: a name now resolving to loopback is refused at connect (%s)", err.msg);
	snprintf(pin, sizeof(pin), "public.example:%u:::1", rport);
	rc = push_to(url, 1, pins, &err);
	ok(rc == TAXII_ENET && strstr(err.msg, "::1 is a loopback address"),
	    "push: to IPv6 loopback too (%s)", err.msg);
	snprintf(pin, sizeof(pin), "public.example:%u:::ffff:127.0.0.1", rport);
	rc = push_to(url, 1, pins, &err);
	ok(rc == TAXII_ENET && strstr(err.msg, "address policy"),
	    "push: to IPv4-mapped loopback too (%s)", err.msg);
	is_int(inbox_calls(), before, "push: the inbox on loopback received nothing");
	/* The same pinned name without the policy does reach it: the refusals above were
	 * the policy's, not a failed connection. */
	snprintf(pin, sizeof(pin), "public.example:%u:127.0.0.1", rport);
	rc = push_to(url, 0, pins, &err);
	ok(rc == 0 && inbox_calls() == before + 1,
	    "push: without the policy the pinned name reaches the inbox (%s)", rc ? err.msg : "");

	/* No redirect is followed, wherever it points. */
	snprintf(target, sizeof(target), "http://127.0.0.1:%u/taxii/inbox", rport);
	redir = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, redirector,
	    target, MHD_OPTION_SOCK_ADDR,
	    (struct sockaddr *)&(struct sockaddr_in){ .sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) }, MHD_OPTION_END);
	if (ok(redir != NULL, "push: a redirecting server")) {
		const union MHD_DaemonInfo *di = MHD_get_daemon_info(redir,
		    MHD_DAEMON_INFO_BIND_PORT);

		dport = di ? di->port : 0;
		snprintf(url, sizeof(url), "http://127.0.0.1:%u/taxii/inbox", dport);
		before = inbox_calls();
		rc = push_to(url, 0, NULL, &err);
		ok(rc == TAXII_ENET && strstr(err.msg, "HTTP 307") && inbox_calls() == before,
		    "push: a 307 to another inbox is an error, not followed (%s)", err.msg);
	}
out:
	if (redir != NULL)
		MHD_stop_daemon(redir);
	taxii_server_free(strict);
	taxii_server_free(lax);
	taxii_server_free(recv);
}

/* ---------------------------------------------------------------------------------------
 * Raw HTTP, from a chosen loopback source.
 */
static int have_second_source;

/* A connected socket to 127.0.0.1:port from `src` (NULL: any); -1 on failure. */
static int
dial(const char *src, unsigned port, int nonblock)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);

	if (fd < 0)
		return -1;
	if (src != NULL) {
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		inet_pton(AF_INET, src, &a.sin_addr);
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
			close(fd);
			return -1;
		}
	}
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads until the peer closes or timeout_ms pass. Returns 0 when it closed. */
static int
read_all(int fd, struct util_buf *out, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	char buf[8192];

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int64_t left = end - now_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -1;
		n = read(fd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return 0;
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return -1;
		if (n > 0 && util_buf_add(out, buf, (size_t)n) != 0)
			return -1;
	}
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The body of a Poll_Request for observations. */
static void
poll_body(struct util_buf *b)
{
	struct taxii_msg m;
	char id[TAXII_ID_MAX];
	static const char *const cb[] = { TAXII_CB_STIX_12 };

	memset(&m, 0, sizeof(m));
	taxii_msg_id_new(id);
	m.version = TAXII_V11;
	m.type = TAXII_MSG_POLL_REQ;
	m.message_id = id;
	m.collection = "observations";
	m.has_poll_params = 1;
	m.content_bindings.v = cb;
	m.content_bindings.n = 1;
	util_buf_reset(b);
	taxii_msg_write(&m, b, NULL);
}

/*
 * One request of `extra` headers and a Poll_Request body from `src`, answered and closed
 * within timeout_ms. Returns the HTTP status (0: no answer) and the answer in *resp.
 */
static int
request(const char *src, unsigned port, const char *extra, struct util_buf *resp,
    int timeout_ms)
{
	struct util_buf body, req;
	int fd, status = 0;

	util_buf_init(&body, 0);
	util_buf_init(&req, 0);
	util_buf_reset(resp);
	poll_body(&body);
	util_buf_printf(&req, "POST /taxii/poll HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Content-Type: application/xml\r\nX-TAXII-Content-Type: %s\r\n"
	    "X-TAXII-Services: %s\r\nConnection: close\r\n%sContent-Length: %zu\r\n\r\n",
	    TAXII_MSG_BINDING_11, TAXII_SERVICES_11, extra ? extra : "", body.len);
	util_buf_add(&req, body.data, body.len);
	if ((fd = dial(src, port, 0)) >= 0) {
		if (write_all(fd, req.data, req.len) == 0 && read_all(fd, resp, timeout_ms) == 0 &&
		    resp->len > 12 && strncmp(resp->data, "HTTP/1.", 7) == 0)
			status = atoi(resp->data + 9);
		close(fd);
	}
	util_buf_fini(&body);
	util_buf_fini(&req);
	return status;
}

/*
 * A connection from `src` that the server has taken in and counted: one poll over it is
 * answered 200 (read whole by its Content-Length) and the connection is kept open, idle.
 * Returns the fd, or -1.
 */
static int
held(const char *src, unsigned port)
{
	struct util_buf body, req, resp;
	int fd = dial(src, port, 0), done = 0;
	int64_t end = now_ms() + 5000;

	util_buf_init(&body, 0);
	util_buf_init(&req, 0);
	util_buf_init(&resp, 0);
	poll_body(&body);
	util_buf_printf(&req, "POST /taxii/poll HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Content-Type: application/xml\r\nX-TAXII-Content-Type: %s\r\n"
	    "X-TAXII-Services: %s\r\nContent-Length: %zu\r\n\r\n",
	    TAXII_MSG_BINDING_11, TAXII_SERVICES_11, body.len);
	util_buf_add(&req, body.data, body.len);
	if (fd >= 0 && write_all(fd, req.data, req.len) == 0) {
		while (!done && now_ms() < end) {
			struct pollfd p = { fd, POLLIN, 0 };
			char buf[4096];
			const char *eoh, *cl;
			ssize_t n;

			if (poll(&p, 1, 100) <= 0)
				continue;
			if ((n = read(fd, buf, sizeof(buf))) <= 0)
				break;
			util_buf_add(&resp, buf, (size_t)n);
			eoh = strstr(resp.data, "\r\n\r\n");
			cl = strcasestr(resp.data, "\r\nContent-Length:");
			/* Whole by its Content-Length, or (a streamed Poll_Response) by the
			 * chunked encoding's last chunk. */
			done = eoh != NULL && cl != NULL && cl < eoh &&
			    resp.len >= (size_t)(eoh + 4 - resp.data) + strtoul(cl + 17, NULL, 10);
			if (!done && eoh != NULL && strcasestr(resp.data,
			    "\r\nTransfer-Encoding: chunked\r\n") != NULL && resp.len >= 5)
				done = memcmp(resp.data + resp.len - 5, "0\r\n\r\n", 5) == 0;
		}
	}
	if (!done || strncmp(resp.data, "HTTP/1.1 200", 12) != 0) {
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	util_buf_fini(&body);
	util_buf_fini(&req);
	util_buf_fini(&resp);
	return fd;
}

/* Whether an answer is a TAXII Status Message of `type`, and no HTML page. */
static int
is_status(const struct util_buf *r, const char *type)
{
	char want[64];

	snprintf(want, sizeof(want), "status_type=\"%s\"", type);
	return r->data != NULL && strstr(r->data, "Status_Message") != NULL &&
	    strstr(r->data, want) != NULL && strstr(r->data, "<html") == NULL &&
	    strstr(r->data, "<HTML") == NULL;
}

/* ---------------------------------------------------------------------------------------
 * Oversize headers, the caps counted once and per source, the deadlines.
 */
static void
test_refusals(void)
{
	struct taxii_server_conf sc;
	struct taxii_server *s;
	struct util_buf r, big;
	unsigned port = 0;
	int hold[16], nheld = 0, st;
	int64_t t;

	util_buf_init(&r, 0);
	util_buf_init(&big, 0);
	memset(&sc, 0, sizeof(sc));
	sc.max_connections = 8;
	sc.max_per_source = 4;
	sc.threads = 4;
	sc.timeout_s = 2;
	if (!ok((s = server(&sc, &port)) != NULL, "refusals: server with caps 8 and 4 per source"))
		goto out;

	st = request(NULL, port, NULL, &r, 5000);
	ok(st == 200 && strstr(r.data, "Poll_Response"), "a plain poll is answered (%d)", st);

	/* A 100 KB header: a TAXII answer, not libmicrohttpd's HTML page. */
	util_buf_printf(&big, "X-Big: ");
	for (int i = 0; i < 100000; i++)
		util_buf_add(&big, "a", 1);
	util_buf_printf(&big, "\r\n");
	st = request(NULL, port, big.data, &r, 5000);
	ok(st == 431 && is_status(&r, "BAD_MESSAGE") && strstr(r.data, "request headers over"),
	    "a 100 KB header gets 431 and a BAD_MESSAGE Status Message (%d)", st);

	/* Per source: four held from 127.0.0.1, the fifth from it is refused, answered. */
	for (nheld = 0; nheld < 4; nheld++)
		hold[nheld] = held(NULL, port);
	ok(hold[0] >= 0 && hold[1] >= 0 && hold[2] >= 0 && hold[3] >= 0,
	    "per source: four connections served and kept open");
	st = request(NULL, port, NULL, &r, 5000);
	ok(st == 503 && is_status(&r, "RETRY") && strstr(r.data, "ESTIMATED_WAIT") &&
	    strstr(r.data, "too many connections") && strstr(r.data, "Retry-After: 1"),
	    "per source: the fifth connection is answered 503 RETRY with Retry-After (%d)", st);
	if (have_second_source) {
		st = request("127.0.0.2", port, NULL, &r, 5000);
		ok(st == 200, "per source: another source is still served (%d)", st);
		/* The cap over all sources, counted once though libmicrohttpd runs 4 threads
		 * (its own limit would be split between them). */
		for (; nheld < 7; nheld++)
			hold[nheld] = held("127.0.0.2", port);
		for (; nheld < 8; nheld++)
			hold[nheld] = held("127.0.0.3", port);
		ok(hold[4] >= 0 && hold[5] >= 0 && hold[6] >= 0 && hold[7] >= 0,
		    "global cap: four more served and kept open, from two other sources");
		st = request("127.0.0.4", port, NULL, &r, 5000);
		ok(st == 503 && is_status(&r, "RETRY"),
		    "global cap: with 8 held, a 9th from a new source is answered 503 (%d)", st);
		close(hold[--nheld]);
		usleep(300000);
		st = request("127.0.0.4", port, NULL, &r, 5000);
		ok(st == 200, "global cap: with 7 held, the 8th is served (%d)", st);
	} else {
		tap_diag("127.0.0.2 cannot be bound: per-source and global caps from one source");
	}

	/* The held connections sent nothing after their answer: each is cut by the
	 * deadline (2 s) for its next request. */
	t = now_ms();
	for (int i = 0; i < nheld; i++) {
		util_buf_reset(&r);
		ok(hold[i] >= 0 && read_all(hold[i], &r, 6000) == 0 && r.len == 0,
		    "an idle kept-alive connection is closed by the deadline");
		if (hold[i] >= 0)
			close(hold[i]);
	}
	ok(now_ms() - t < 4500, "and all within the deadline (%lld ms)", (long long)(now_ms() - t));

	/* Header drip: one byte every 300 ms never looks idle, yet is cut at the deadline. */
	{
		int fd = dial(NULL, port, 0), closed = 0;
		const char *hdr = "POST /taxii/poll HTTP/1.1\r\nX-Drip: ";
		int64_t t0 = now_ms();

		write_all(fd, hdr, strlen(hdr));
		while (!closed && now_ms() - t0 < 8000) {
			struct pollfd p = { fd, POLLIN, 0 };
			char c;

			if (poll(&p, 1, 300) > 0 && read(fd, &c, 1) <= 0)
				closed = 1;
			else if (write(fd, "a", 1) != 1)
				closed = 1;
		}
		ok(closed && now_ms() - t0 < 3500, "header drip: cut after %lld ms (deadline 2 s)",
		    (long long)(now_ms() - t0));
		close(fd);
	}
	/* Body drip: headers whole, the body a byte at a time. */
	{
		int fd = dial(NULL, port, 0), closed = 0;
		const char *hdr = "POST /taxii/poll HTTP/1.1\r\nHost: x\r\n"
				  "Content-Type: application/xml\r\nContent-Length: 100000\r\n\r\n";
		int64_t t0 = now_ms();

		write_all(fd, hdr, strlen(hdr));
		while (!closed && now_ms() - t0 < 8000) {
			struct pollfd p = { fd, POLLIN, 0 };
			char c[512];

			if (poll(&p, 1, 300) > 0 && read(fd, c, sizeof(c)) <= 0)
				closed = 1;
			else if (write(fd, "<", 1) != 1)
				closed = 1;
		}
		ok(closed && now_ms() - t0 < 3500, "body drip: cut after %lld ms (deadline 2 s)",
		    (long long)(now_ms() - t0));
		close(fd);
	}
	st = request(NULL, port, NULL, &r, 5000);
	ok(st == 200, "after all that, a poll is served (%d)", st);
out:
	taxii_server_free(s);
	util_buf_fini(&r);
	util_buf_fini(&big);
}

/* ---------------------------------------------------------------------------------------
 * 300 header-drip and 300 idle clients, greedy (each reconnects when cut), while a
 * normal client polls.
 */
#define N_DRIP 300
#define N_IDLE 300

struct attack {
	volatile int stop;
	unsigned port;
	int fd[N_DRIP + N_IDLE];
	int64_t opened[N_DRIP + N_IDLE];
	int64_t longest_ms; /* longest life of a connection the server cut */
	int cuts, dials, failed_dials;
};

static void
attack_open(struct attack *a, int i)
{
	a->fd[i] = dial(NULL, a->port, 1);
	a->opened[i] = now_ms();
	a->dials++;
	if (a->fd[i] < 0)
		a->failed_dials++;
	else if (i < N_DRIP)
		(void)!write(a->fd[i], "POST /taxii/poll HTTP/1.1\r\nX-Drip: ", 35);
}

static void *
attack_main(void *arg)
{
	struct attack *a = arg;
	static struct pollfd p[N_DRIP + N_IDLE];
	int64_t last_drip = now_ms();

	for (int i = 0; i < N_DRIP + N_IDLE; i++)
		attack_open(a, i);
	while (!a->stop) {
		int n = 0;

		for (int i = 0; i < N_DRIP + N_IDLE; i++) {
			p[i].fd = a->fd[i];
			p[i].events = POLLIN;
			p[i].revents = 0;
		}
		n = poll(p, N_DRIP + N_IDLE, 100);
		for (int i = 0; n > 0 && i < N_DRIP + N_IDLE; i++) {
			char buf[2048];
			ssize_t r;

			if (p[i].revents == 0 || a->fd[i] < 0)
				continue;
			r = read(a->fd[i], buf, sizeof(buf));
			if (r > 0 || (r < 0 && errno == EAGAIN))
				continue;
			if (now_ms() - a->opened[i] > a->longest_ms)
				a->longest_ms = now_ms() - a->opened[i];
			a->cuts++;
			close(a->fd[i]);
			attack_open(a, i);
		}
		if (now_ms() - last_drip >= 1000) {
			last_drip = now_ms();
			for (int i = 0; i < N_DRIP; i++)
				if (a->fd[i] >= 0)
					(void)!write(a->fd[i], "a", 1);
		}
		for (int i = 0; i < N_DRIP + N_IDLE; i++)
			if (a->fd[i] < 0 && now_ms() - a->opened[i] > 500)
				attack_open(a, i);
	}
	for (int i = 0; i < N_DRIP + N_IDLE; i++)
		if (a->fd[i] >= 0)
			close(a->fd[i]);
	return NULL;
}

static void
test_siege(void)
{
	static struct attack a;
	struct taxii_server_conf sc;
	struct taxii_server *s = NULL;
	struct util_buf r;
	struct rlimit rl;
	pthread_t th;
	int started = 0, answered = 0, polls = 0;
	int64_t worst = 0;

	util_buf_init(&r, 0);
	if (!ok(have_second_source, "siege: 127.0.0.2 can be bound for the normal client"))
		return;
	/* Both ends of 600 connections live in this process. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (!ok(getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= 2000,
		"siege: room for 2000 file descriptors (%llu)", (unsigned long long)rl.rlim_cur))
		return;
	memset(&sc, 0, sizeof(sc));
	sc.timeout_s = 3; /* the deadline, and the idle timeout */
	if (!ok((s = server(&sc, &a.port)) != NULL, "siege: a server with the default caps"))
		goto out;
	if (!ok(pthread_create(&th, NULL, attack_main, &a) == 0, "siege: 600 attackers start"))
		goto out;
	started = 1;
	sleep(1);
	/* Eight seconds of polls: longer than the deadline, so attackers are cut and come
	 * back meanwhile. */
	for (int64_t end = now_ms() + 8000; now_ms() < end; polls++) {
		int64_t t0 = now_ms();
		int st = request("127.0.0.2", a.port, NULL, &r, 5000);
		int64_t dt = now_ms() - t0;

		if (st == 200 && strstr(r.data, "Poll_Response") != NULL && dt <= 2000)
			answered++;
		else
			tap_diag("poll %d: HTTP %d after %lld ms", polls, st, (long long)dt);
		if (dt > worst)
			worst = dt;
		usleep(250000);
	}
	ok(polls >= 5 && answered == polls,
	    "siege: every poll of the normal client answered within 2 s (%d of %d, slowest "
	    "%lld ms)", answered, polls, (long long)worst);
	a.stop = 1;
	pthread_join(th, NULL);
	started = 0;
	ok(a.dials >= N_DRIP + N_IDLE && a.failed_dials < a.dials / 10,
	    "siege: the attackers held their connections (%d dials, %d failed)", a.dials,
	    a.failed_dials);
	ok(a.cuts >= N_DRIP + N_IDLE - 64,
	    "siege: the server cut drip and idle connections (%d cuts)", a.cuts);
	ok(a.longest_ms <= 3000 + 1500,
	    "siege: none lived past the 3 s deadline by more than 1.5 s (longest %lld ms)",
	    (long long)a.longest_ms);
out:
	if (started) {
		a.stop = 1;
		pthread_join(th, NULL);
	}
	taxii_server_free(s);
	util_buf_fini(&r);
}

/* ---------------------------------------------------------------------------------------
 * Authentication cost.
 */
static struct {
	pthread_mutex_t lock;
	int calls;
	int busy;
	char last_pass[64];
	char log[512];
	int logs;
} au = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int
auth_check(void *ctx, const char *user, const char *password)
{
	int rc;

	(void)ctx;
	pthread_mutex_lock(&au.lock);
	au.calls++;
	snprintf(au.last_pass, sizeof(au.last_pass), "%s", password);
	rc = au.busy ? -2 : strcmp(user, "alice") == 0 && strcmp(password, "s3cret") == 0 ? 0 :
	    -1;
	pthread_mutex_unlock(&au.lock);
	return rc;
}

static void
on_log(void *arg, const char *msg)
{
	(void)arg;
	pthread_mutex_lock(&au.lock);
	snprintf(au.log, sizeof(au.log), "%s", msg);
	au.logs++;
	pthread_mutex_unlock(&au.lock);
}

/* "Authorization: Basic ..." for raw credentials of n bytes. */
static void
basic(const char *raw, size_t n, char *out, size_t len)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = (size_t)snprintf(out, len, "Authorization: Basic ");

	for (size_t i = 0; i < n && o + 5 < len; i += 3) {
		unsigned v = (unsigned char)raw[i] << 16;

		v |= i + 1 < n ? (unsigned)(unsigned char)raw[i + 1] << 8 : 0;
		v |= i + 2 < n ? (unsigned char)raw[i + 2] : 0;
		out[o++] = tbl[(v >> 18) & 63];
		out[o++] = tbl[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tbl[v & 63] : '=';
	}
	snprintf(out + o, len - o, "\r\n");
}

static int
calls(void)
{
	int n;

	pthread_mutex_lock(&au.lock);
	n = au.calls;
	pthread_mutex_unlock(&au.lock);
	return n;
}

static void
test_auth(void)
{
	struct taxii_auth auth = { NULL, auth_check, NULL };
	struct taxii_server_conf sc;
	struct taxii_server *s;
	struct util_buf r;
	unsigned port = 0;
	char h[256];
	int st, c0;

	util_buf_init(&r, 0);
	memset(&sc, 0, sizeof(sc));
	sc.auth = &auth;
	sc.log = on_log;
	if (!ok((s = server(&sc, &port)) != NULL, "auth: a server with authentication"))
		goto out;
	basic("alice:s3cret", 12, h, sizeof(h));
	st = request(NULL, port, h, &r, 5000);
	ok(st == 200, "auth: the right password is served (%d)", st);

	c0 = calls();
	basic("alice:s3cret\0junk", 17, h, sizeof(h));
	st = request(NULL, port, h, &r, 5000);
	ok(st == 401 && is_status(&r, "UNAUTHORIZED") && calls() == c0,
	    "auth: the password followed by NUL and junk is refused, never checked cut short "
	    "(%d)", st);
	basic("alice:s3c\tret", 13, h, sizeof(h));
	st = request(NULL, port, h, &r, 5000);
	ok(st == 401 && calls() == c0, "auth: so is a password with a tab (%d)", st);
	basic("al\x1b" "ice:s3cret", 13, h, sizeof(h));
	st = request(NULL, port, h, &r, 5000);
	ok(st == 401 && calls() == c0, "auth: and a user name with an escape (%d)", st);

	/* Those were three failures; two wrong passwords more make five, then throttled. */
	basic("alice:wrong", 11, h, sizeof(h));
	for (int i = 0; i < 2; i++) {
		st = request(NULL, port, h, &r, 5000);
		ok(st == 401, "auth: wrong password %d: 401 (%d)", i + 1, st);
	}
	c0 = calls();
	basic("alice:s3cret", 12, h, sizeof(h));
	st = request(NULL, port, h, &r, 5000);
	ok(st == 429 && is_status(&r, "RETRY") && strstr(r.data, "Retry-After:") &&
	    strstr(r.data, "failed logins") && calls() == c0,
	    "auth: after five failures even the right password gets 429 RETRY, unchecked (%d)",
	    st);
	pthread_mutex_lock(&au.lock);
	ok(au.logs == 1 && strstr(au.log, "5 failed logins from 127.0.0.1") &&
	    strstr(au.log, "refused for 1 s"), "auth: and a log line says so (%s)", au.log);
	pthread_mutex_unlock(&au.lock);
	if (have_second_source) {
		st = request("127.0.0.2", port, h, &r, 5000);
		ok(st == 200, "auth: another source is not throttled (%d)", st);
	}
	usleep(1200000);
	st = request(NULL, port, h, &r, 5000);
	ok(st == 200, "auth: after the wait the right password is served again (%d)", st);
	/* The success forgot the failures: one wrong password is a plain 401 again. */
	basic("alice:wrong", 11, h, sizeof(h));
	st = request(NULL, port, h, &r, 5000);
	ok(st == 401, "auth: a success resets the count (%d)", st);

	pthread_mutex_lock(&au.lock);
	au.busy = 1;
	pthread_mutex_unlock(&au.lock);
	basic("alice:s3cret", 12, h, sizeof(h));
	st = request(NULL, port, h, &r, 5000);
	ok(st == 503 && is_status(&r, "RETRY"), "auth: a busy checker gets 503 RETRY (%d)", st);
	pthread_mutex_lock(&au.lock);
	au.busy = 0;
	pthread_mutex_unlock(&au.lock);
out:
	taxii_server_free(s);
	util_buf_fini(&r);
}

int
main(void)
{
	int fd;

	signal(SIGPIPE, SIG_IGN);
	xmlInitParser();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		tap_skip_all("libcurl cannot initialise");
	/* Linux routes all of 127/8 to lo: a second source for per-source limits. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd >= 0) {
		struct sockaddr_in a = { .sin_family = AF_INET };

		inet_pton(AF_INET, "127.0.0.2", &a.sin_addr);
		have_second_source = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
		close(fd);
	}
	test_policy();
	test_push();
	test_refusals();
	test_auth();
	test_siege();
	curl_global_cleanup();
	return tap_done();
}
