/*
 * Tests for observer/obs_dns: the special-purpose address table, then real resolutions
 * against a small DNS responder on a loopback UDP port of this test's own (run in a child
 * process, stopped by PID at the end), plus "localhost" from the hosts file and address
 * literals. Nothing leaves the machine: every resolver here is pointed at the responder.
 */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "observer/obs_dns.h"
#include "util/util.h"
#include "tests/tap.h"

#define NHOLD 40        /* "holdN.test" queries kept unanswered until this many arrived */
#define HOLD_MAX_MS 4000 /* ... or until this long passed */

static int64_t
mono_ms(void)
{
	return util_mono_us() / 1000;
}

/* ---- address classes ---- */

static void
test_classes(void)
{
	static const struct {
		const char *a;
		enum util_addr_class c;
	} t[] = {
		{ "8.8.8.8", UTIL_ADDR_PUBLIC },
		{ "1.1.1.1", UTIL_ADDR_PUBLIC },
		{ "0.0.0.0", UTIL_ADDR_UNSPECIFIED },
		{ "0.1.2.3", UTIL_ADDR_THIS_NETWORK },
		{ "10.0.0.1", UTIL_ADDR_PRIVATE },
		{ "10.255.255.255", UTIL_ADDR_PRIVATE },
		{ "11.0.0.1", UTIL_ADDR_PUBLIC },
		{ "172.15.255.255", UTIL_ADDR_PUBLIC },
		{ "172.16.0.0", UTIL_ADDR_PRIVATE },
		{ "172.31.255.255", UTIL_ADDR_PRIVATE },
		{ "172.32.0.0", UTIL_ADDR_PUBLIC },
		{ "192.168.1.1", UTIL_ADDR_PRIVATE },
		{ "192.169.0.1", UTIL_ADDR_PUBLIC },
		{ "100.63.255.255", UTIL_ADDR_PUBLIC },
		{ "100.64.0.1", UTIL_ADDR_CGNAT },
		{ "100.127.255.255", UTIL_ADDR_CGNAT },
		{ "100.128.0.0", UTIL_ADDR_PUBLIC },
		{ "127.0.0.1", UTIL_ADDR_LOOPBACK },
		{ "127.255.0.9", UTIL_ADDR_LOOPBACK },
		{ "169.254.169.254", UTIL_ADDR_LINK_LOCAL },
		{ "192.0.0.8", UTIL_ADDR_RESERVED },
		{ "192.0.2.55", UTIL_ADDR_DOCUMENTATION },
		{ "198.51.100.7", UTIL_ADDR_DOCUMENTATION },
		{ "203.0.113.5", UTIL_ADDR_DOCUMENTATION },
		{ "203.0.114.5", UTIL_ADDR_PUBLIC },
		{ "192.88.99.1", UTIL_ADDR_RESERVED },
		{ "198.18.0.1", UTIL_ADDR_BENCHMARK },
		{ "198.19.255.255", UTIL_ADDR_BENCHMARK },
		{ "198.20.0.0", UTIL_ADDR_PUBLIC },
		{ "224.0.0.1", UTIL_ADDR_MULTICAST },
		{ "239.255.255.250", UTIL_ADDR_MULTICAST },
		{ "240.0.0.1", UTIL_ADDR_RESERVED },
		{ "255.255.255.254", UTIL_ADDR_RESERVED },
		{ "255.255.255.255", UTIL_ADDR_BROADCAST },
		{ "::", UTIL_ADDR_UNSPECIFIED },
		{ "::1", UTIL_ADDR_LOOPBACK },
		{ "::2", UTIL_ADDR_RESERVED },
		{ "::ffff:127.0.0.1", UTIL_ADDR_LOOPBACK },
		{ "::ffff:10.1.1.1", UTIL_ADDR_PRIVATE },
		{ "::ffff:8.8.8.8", UTIL_ADDR_PUBLIC },
		{ "64:ff9b::192.168.0.1", UTIL_ADDR_PRIVATE },
		{ "64:ff9b::8.8.4.4", UTIL_ADDR_PUBLIC },
		{ "64:ff9b:1::1", UTIL_ADDR_PRIVATE },
		{ "100::1", UTIL_ADDR_RESERVED },
		{ "2001::1", UTIL_ADDR_RESERVED },
		{ "2001:2::1", UTIL_ADDR_BENCHMARK },
		{ "2001:db8::1", UTIL_ADDR_DOCUMENTATION },
		{ "2001:db9::1", UTIL_ADDR_PUBLIC },
		{ "2001:4860:4860::8888", UTIL_ADDR_PUBLIC },
		{ "2606:4700:4700::1111", UTIL_ADDR_PUBLIC },
		{ "2002:0a00:0001::1", UTIL_ADDR_PRIVATE },
		{ "2002:0808:0808::1", UTIL_ADDR_PUBLIC },
		{ "3fff::1", UTIL_ADDR_DOCUMENTATION },
		{ "3fff:0fff::1", UTIL_ADDR_DOCUMENTATION },
		{ "3fff:1000::1", UTIL_ADDR_PUBLIC },
		{ "5f00::1", UTIL_ADDR_RESERVED },
		{ "fc00::1", UTIL_ADDR_PRIVATE },
		{ "fd12:3456::1", UTIL_ADDR_PRIVATE },
		{ "fe80::1", UTIL_ADDR_LINK_LOCAL },
		{ "febf::1", UTIL_ADDR_LINK_LOCAL },
		{ "fec0::1", UTIL_ADDR_PRIVATE },
		{ "ff02::1", UTIL_ADDR_MULTICAST },
		{ "4000::1", UTIL_ADDR_RESERVED },
		{ "1000::1", UTIL_ADDR_RESERVED },
	};
	enum util_addr_class c;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc;

		c = UTIL_ADDR_PUBLIC;
		rc = util_addr_classify_text(t[i].a, &c);
		ok(rc == 0 && c == t[i].c, "%s is %s (got %s)", t[i].a,
		    util_addr_class_name(t[i].c), util_addr_class_name(c));
	}
	ok(util_addr_classify_text("10.0.0.256", &c) == -1, "bad IPv4 text refused");
	ok(util_addr_classify_text("example.com", &c) == -1, "a name is not an address");
	{
		struct sockaddr_in6 s6;
		struct sockaddr_in s4;
		struct sockaddr sa;

		memset(&s6, 0, sizeof(s6));
		s6.sin6_family = AF_INET6;
		inet_pton(AF_INET6, "fe80::99", &s6.sin6_addr);
		is_int(util_addr_classify_sa((struct sockaddr *)&s6), UTIL_ADDR_LINK_LOCAL,
		    "sockaddr_in6 classified");
		memset(&s4, 0, sizeof(s4));
		s4.sin_family = AF_INET;
		inet_pton(AF_INET, "93.184.216.34", &s4.sin_addr);
		is_int(util_addr_classify_sa((struct sockaddr *)&s4), UTIL_ADDR_PUBLIC,
		    "sockaddr_in classified");
		is_int(util_addr_classify(AF_INET, &s4.sin_addr), UTIL_ADDR_PUBLIC,
		    "in_addr classified");
		memset(&sa, 0, sizeof(sa));
		sa.sa_family = AF_UNIX;
		is_int(util_addr_classify_sa(&sa), UTIL_ADDR_RESERVED, "other family is reserved");
	}
	is_str(util_addr_class_name(UTIL_ADDR_CGNAT), "cgnat", "class name");
	is_str(obs_dns_status_name(OBS_DNS_NXDOMAIN), "NXDOMAIN", "status name");
	ok(obs_dns_error_kind(OBS_DNS_OK) == NULL, "no error kind for OK");
	is_str(obs_dns_error_kind(OBS_DNS_SERVFAIL), "dns", "error kind dns");
}

/* ---- the loopback responder ---- */

struct rr {
	int type; /* 1 = A, 28 = AAAA */
	const char *addr;
};

static size_t
put_rr(unsigned char *o, const struct rr *r)
{
	size_t n = 0, len = r->type == 1 ? 4 : 16;

	o[n++] = 0xc0; /* name: pointer to the question */
	o[n++] = 12;
	o[n++] = 0;
	o[n++] = (unsigned char)r->type;
	o[n++] = 0;
	o[n++] = 1;
	o[n++] = 0;
	o[n++] = 0;
	o[n++] = 0;
	o[n++] = 60;
	o[n++] = 0;
	o[n++] = (unsigned char)len;
	inet_pton(r->type == 1 ? AF_INET : AF_INET6, r->addr, o + n);
	return n + len;
}

/* Builds the answer to query q[0..qlen) into out; returns its length, 0 to stay silent,
 * -1 to hold it. */
static int
answer(const unsigned char *q, size_t qlen, unsigned char *out, int hold_released,
    int *hold_idx)
{
	char name[256];
	size_t off = 12, nl = 0, qend, n;
	int qtype, rcode = 0, an = 0, i;
	struct rr rrs[24];

	if (qlen < 12 || (q[4] << 8 | q[5]) != 1)
		return 0;
	while (off < qlen && q[off] != 0) {
		size_t l = q[off];

		if (l > 63 || off + 1 + l >= qlen || nl + l + 1 >= sizeof(name))
			return 0;
		for (i = 0; i < (int)l; i++) {
			char c = (char)q[off + 1 + (size_t)i];

			name[nl++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
		}
		name[nl++] = '.';
		off += 1 + l;
	}
	name[nl ? nl - 1 : 0] = '\0';
	if (off + 5 > qlen)
		return 0;
	qtype = q[off + 1] << 8 | q[off + 2];
	qend = off + 5;

	if (strcmp(name, "a.test") == 0) {
		rrs[an++] = (struct rr){ 1, "192.0.2.1" };
		rrs[an++] = (struct rr){ 28, "2001:db8::1" };
	} else if (strcmp(name, "multi.test") == 0) {
		rrs[an++] = (struct rr){ 1, "198.51.100.1" };
		rrs[an++] = (struct rr){ 1, "198.51.100.2" };
		rrs[an++] = (struct rr){ 1, "198.51.100.1" };
		rrs[an++] = (struct rr){ 1, "198.51.100.3" };
	} else if (strcmp(name, "six.test") == 0) {
		rrs[an++] = (struct rr){ 28, "2001:db8::6" };
	} else if (strcmp(name, "many.test") == 0) {
		static const char *m[] = { "203.0.113.1", "203.0.113.2", "203.0.113.3",
			"203.0.113.4", "203.0.113.5", "203.0.113.6", "203.0.113.7", "203.0.113.8",
			"203.0.113.9", "203.0.113.10", "203.0.113.11", "203.0.113.12" };

		for (i = 0; i < 12; i++)
			rrs[an++] = (struct rr){ 1, m[i] };
	} else if (strcmp(name, "private.test") == 0) {
		rrs[an++] = (struct rr){ 1, "10.1.2.3" };
	} else if (strncmp(name, "hold", 4) == 0) {
		*hold_idx = atoi(name + 4);
		if (!hold_released)
			return -1;
		rrs[an++] = (struct rr){ 1, "192.0.2.77" };
	} else if (strcmp(name, "nodata.test") == 0) {
		/* exists, no records */
	} else if (strcmp(name, "fail.test") == 0) {
		rcode = 2;
	} else if (strcmp(name, "refused.test") == 0) {
		rcode = 5;
	} else if (strcmp(name, "slow.test") == 0) {
		return 0;
	} else {
		rcode = 3;
	}
	memcpy(out, q, qend);
	out[2] = (unsigned char)(0x84 | (q[2] & 0x01)); /* QR, AA, RD copied */
	out[3] = (unsigned char)(0x80 | rcode);          /* RA */
	out[6] = out[7] = out[8] = out[9] = out[10] = out[11] = 0;
	n = qend;
	for (i = 0; i < an; i++) {
		if (rrs[i].type != qtype)
			continue;
		n += put_rr(out + n, &rrs[i]);
		out[7]++;
	}
	return (int)n;
}

struct held {
	unsigned char q[512];
	size_t len;
	struct sockaddr_storage from;
	socklen_t fl;
};

static void
responder(int fd)
{
	static struct held h[4 * NHOLD];
	size_t nh = 0, i;
	int released = 0, seen[NHOLD] = { 0 }, nseen = 0;
	int64_t first_hold = 0, end = mono_ms() + 30000;

	/* Bounded life: the parent kills us, but never outlive a stuck parent. */
	while (mono_ms() < end) {
		struct pollfd p = { fd, POLLIN, 0 };
		unsigned char q[512], out[1024];
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n;
		int a, idx = -1;

		if (!released && nh > 0 && mono_ms() - first_hold >= HOLD_MAX_MS)
			released = 1;
		if (released && nh > 0) {
			for (i = 0; i < nh; i++) {
				int hidx;

				a = answer(h[i].q, h[i].len, out, 1, &hidx);
				if (a > 0)
					sendto(fd, out, (size_t)a, 0, (struct sockaddr *)&h[i].from,
					    h[i].fl);
			}
			nh = 0;
		}
		if (poll(&p, 1, 20) <= 0)
			continue;
		n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
		if (n <= 0)
			continue;
		a = answer(q, (size_t)n, out, released, &idx);
		if (a > 0) {
			sendto(fd, out, (size_t)a, 0, (struct sockaddr *)&from, fl);
		} else if (a < 0 && nh < sizeof(h) / sizeof(h[0])) {
			if (nh == 0)
				first_hold = mono_ms();
			memcpy(h[nh].q, q, (size_t)n);
			h[nh].len = (size_t)n;
			h[nh].from = from;
			h[nh].fl = fl;
			nh++;
			/* Release once every hold name has asked at least once. */
			if (idx >= 0 && idx < NHOLD && !seen[idx]) {
				seen[idx] = 1;
				if (++nseen == NHOLD)
					released = 1;
			}
		}
	}
	_exit(0);
}

static pid_t
start_responder(int *port)
{
	struct sockaddr_in s;
	socklen_t sl = sizeof(s);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	pid_t pid;

	if (fd < 0)
		return -1;
	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&s, sizeof(s)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&s, &sl) < 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(s.sin_port);
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		responder(fd);
	close(fd);
	return pid;
}

/* ---- resolutions ---- */

static int
has4(const struct obs_dns_result *r, const char *a)
{
	struct in_addr x;
	size_t i;

	inet_pton(AF_INET, a, &x);
	for (i = 0; i < r->n4; i++)
		if (memcmp(&r->v4[i], &x, sizeof(x)) == 0)
			return 1;
	return 0;
}

static int
has6(const struct obs_dns_result *r, const char *a)
{
	struct in6_addr x;
	size_t i;

	inet_pton(AF_INET6, a, &x);
	for (i = 0; i < r->n6; i++)
		if (memcmp(&r->v6[i], &x, sizeof(x)) == 0)
			return 1;
	return 0;
}

static void
test_resolve(const char *servers)
{
	static const char *names[] = {
		"a.test", "multi.test", "six.test", "many.test", "nx.test", "fail.test",
		"refused.test", "slow.test", "nodata.test", "localhost", "127.0.0.1", "::1",
		"bad name", "", "a.test.", "A.TEST", "x..test",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.test",
	};
	enum { A, MULTI, SIX, MANY, NX, FAIL, REFUSED, SLOW, NODATA, LOCALHOST, LIT4, LIT6,
		BAD1, BAD2, ADOT, AUPPER, BAD3, BAD4, NNAMES };
	struct obs_resolver_opts o = { 0 };
	struct obs_resolver *r = NULL;
	const struct obs_dns_result *res[NNAMES];
	char err[256];
	int i, rc;
	int64_t t0, el;

	o.servers = servers;
	o.timeout_ms = 300;
	o.tries = 1;
	o.use_hosts = 1;
	o.max_addrs = 8;
	if (!ok(obs_resolver_new(&o, &r, err, sizeof(err)) == 0, "resolver new (%s)", err))
		return;
	for (i = 0; i < NNAMES; i++)
		if (obs_resolver_add(r, names[i], err, sizeof(err)) != i)
			break;
	is_int(i, NNAMES, "every name queued in order");
	t0 = mono_ms();
	rc = obs_resolver_run(r, 5000, err, sizeof(err));
	el = mono_ms() - t0;
	ok(rc == 0, "run");
	for (i = 0; i < NNAMES; i++)
		res[i] = obs_resolver_result(r, (size_t)i);
	ok(obs_resolver_result(r, NNAMES) == NULL, "no result past the last name");

	is_int(res[A]->status, OBS_DNS_OK, "a.test resolves");
	ok(res[A]->n4 == 1 && has4(res[A], "192.0.2.1"), "a.test A record");
	ok(res[A]->n6 == 1 && has6(res[A], "2001:db8::1"), "a.test AAAA record");
	is_str(res[A]->detail, "", "no detail when OK");
	ok(res[MULTI]->status == OBS_DNS_OK && res[MULTI]->n4 == 3 && res[MULTI]->n6 == 0,
	    "multi.test: three distinct A records (%zu), no AAAA", res[MULTI]->n4);
	ok(has4(res[MULTI], "198.51.100.1") && has4(res[MULTI], "198.51.100.2") &&
	    has4(res[MULTI], "198.51.100.3"), "multi.test: all addresses returned");
	ok(res[SIX]->status == OBS_DNS_OK && res[SIX]->n4 == 0 && res[SIX]->n6 == 1 &&
	    has6(res[SIX], "2001:db8::6"), "six.test: IPv6 only");
	ok(res[MANY]->status == OBS_DNS_OK && res[MANY]->n4 == 8,
	    "many.test: capped at max_addrs (%zu)", res[MANY]->n4);
	is_int(res[NX]->status, OBS_DNS_NXDOMAIN, "nx.test is NXDOMAIN");
	has_str(res[NX]->detail, "nx.test", "NXDOMAIN detail names the domain");
	is_str(obs_dns_error_kind(res[NX]->status), "dns", "NXDOMAIN is error kind dns");
	is_int(res[FAIL]->status, OBS_DNS_SERVFAIL, "fail.test is SERVFAIL");
	has_str(res[FAIL]->detail, "SERVFAIL", "SERVFAIL detail");
	is_int(res[REFUSED]->status, OBS_DNS_REFUSED, "refused.test is REFUSED");
	is_int(res[SLOW]->status, OBS_DNS_TIMEOUT, "slow.test times out");
	has_str(res[SLOW]->detail, "timeout", "timeout detail");
	is_int(res[NODATA]->status, OBS_DNS_NODATA, "nodata.test is NODATA");
	ok(res[LOCALHOST]->status == OBS_DNS_OK && has4(res[LOCALHOST], "127.0.0.1"),
	    "localhost from the hosts file");
	ok(res[LIT4]->status == OBS_DNS_OK && res[LIT4]->n4 == 1 &&
	    has4(res[LIT4], "127.0.0.1") && res[LIT4]->n6 == 0, "IPv4 literal is itself");
	ok(res[LIT6]->status == OBS_DNS_OK && res[LIT6]->n6 == 1 && has6(res[LIT6], "::1") &&
	    res[LIT6]->n4 == 0, "IPv6 literal is itself");
	is_int(res[BAD1]->status, OBS_DNS_BADNAME, "name with a space is bad");
	is_int(res[BAD2]->status, OBS_DNS_BADNAME, "empty name is bad");
	is_int(res[BAD3]->status, OBS_DNS_BADNAME, "empty label is bad");
	is_int(res[BAD4]->status, OBS_DNS_BADNAME, "64-octet label is bad");
	ok(res[ADOT]->status == OBS_DNS_OK && has4(res[ADOT], "192.0.2.1"),
	    "final dot accepted");
	ok(res[AUPPER]->status == OBS_DNS_OK && has4(res[AUPPER], "192.0.2.1"),
	    "names are case-insensitive");
	ok(el < 4000, "one run, slow name bounded by the per-try timeout (%lld ms)",
	    (long long)el);

	ok(obs_resolver_run(r, 1000, err, sizeof(err)) == -1, "second run refused");
	ok(obs_resolver_add(r, "b.test", err, sizeof(err)) == -1, "add after run refused");
	obs_resolver_free(r);
}

static void
test_concurrency(const char *servers)
{
	struct obs_resolver_opts o = { 0 };
	struct obs_resolver *r = NULL;
	char err[256], name[32];
	int i, good = 0;
	int64_t t0, el;

	o.servers = servers;
	o.timeout_ms = 3000;
	o.tries = 1;
	o.max_inflight = 64;
	if (!ok(obs_resolver_new(&o, &r, err, sizeof(err)) == 0, "concurrency: new"))
		return;
	for (i = 0; i < NHOLD; i++) {
		snprintf(name, sizeof(name), "hold%d.test", i);
		obs_resolver_add(r, name, err, sizeof(err));
	}
	t0 = mono_ms();
	obs_resolver_run(r, 5000, err, sizeof(err));
	el = mono_ms() - t0;
	for (i = 0; i < NHOLD; i++) {
		const struct obs_dns_result *x = obs_resolver_result(r, (size_t)i);

		good += x->status == OBS_DNS_OK && has4(x, "192.0.2.77");
	}
	is_int(good, NHOLD, "concurrency: every held name resolved");
	/* The responder answers none until all NHOLD names have asked. */
	ok(el < HOLD_MAX_MS - 1500, "concurrency: names asked at once (%lld ms)", (long long)el);
	obs_resolver_free(r);
}

static void
test_deadline(const char *servers)
{
	struct obs_resolver_opts o = { 0 };
	struct obs_resolver *r = NULL;
	char err[256];
	int64_t t0, el;

	o.servers = servers;
	o.timeout_ms = 5000;
	o.tries = 1;
	obs_resolver_new(&o, &r, err, sizeof(err));
	obs_resolver_add(r, "slow.test", err, sizeof(err));
	obs_resolver_add(r, "a.test", err, sizeof(err));
	t0 = mono_ms();
	ok(obs_resolver_run(r, 300, err, sizeof(err)) == 0, "deadline: run");
	el = mono_ms() - t0;
	ok(el >= 290 && el < 2500, "deadline: run ends at its deadline (%lld ms)",
	    (long long)el);
	is_int(obs_resolver_result(r, 0)->status, OBS_DNS_TIMEOUT, "deadline: slow name timeout");
	has_str(obs_resolver_result(r, 0)->detail, "deadline", "deadline: detail says so");
	is_int(obs_resolver_result(r, 1)->status, OBS_DNS_OK, "deadline: fast name answered");
	obs_resolver_free(r);

	/* A window of one: the fast name waits behind the slow one and never starts. */
	o.max_inflight = 1;
	obs_resolver_new(&o, &r, err, sizeof(err));
	obs_resolver_add(r, "slow.test", err, sizeof(err));
	obs_resolver_add(r, "a.test", err, sizeof(err));
	obs_resolver_run(r, 300, err, sizeof(err));
	is_int(obs_resolver_result(r, 1)->status, OBS_DNS_TIMEOUT,
	    "window: name behind a full window not asked");
	has_str(obs_resolver_result(r, 1)->detail, "not asked", "window: detail says so");
	obs_resolver_free(r);
}

static void
test_api(void)
{
	struct obs_resolver_opts o = { 0 };
	struct obs_resolver *r = NULL;
	char err[256];

	o.servers = "not a server list";
	ok(obs_resolver_new(&o, &r, err, sizeof(err)) == -1 && r == NULL,
	    "bad server list refused");
	has_str(err, "servers", "error names the servers");
	o.servers = "127.0.0.1:1";
	o.max_names = 1;
	ok(obs_resolver_new(&o, &r, err, sizeof(err)) == 0, "max_names 1");
	ok(obs_resolver_add(r, "a.test", err, sizeof(err)) == 0, "first name");
	ok(obs_resolver_add(r, "b.test", err, sizeof(err)) == -1, "second name refused");
	obs_resolver_free(r);
	obs_resolver_free(NULL);
	ok(obs_resolver_run(NULL, 10, err, sizeof(err)) == -1, "NULL resolver refused");
}

int
main(void)
{
	char servers[64];
	int port = 0, st;
	pid_t pid;

	test_classes();
	test_api();
	pid = start_responder(&port);
	if (pid < 0) {
		ok(0, "start the loopback DNS responder: %s", strerror(errno));
		return tap_done();
	}
	snprintf(servers, sizeof(servers), "127.0.0.1:%d", port);
	test_resolve(servers);
	test_concurrency(servers);
	test_deadline(servers);
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	return tap_done();
}
