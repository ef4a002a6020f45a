/*
 * Tests for observer/obs_icmp: the reply parser and the matching on synthetic packets
 * (lost, duplicate, foreign and misaddressed replies), then real echoes to loopback
 * addresses when this process may open an ICMP socket.
 */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "observer/obs_icmp.h"
#include "tests/tap.h"
#include "util/util.h"

static int64_t
mono_us(void)
{
	return util_mono_us();
}

static uint16_t
cksum(const unsigned char *p, size_t n)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)(p[n - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void
set_cksum(unsigned char *icmp, size_t n)
{
	uint16_t c;

	icmp[2] = icmp[3] = 0;
	c = cksum(icmp, n);
	icmp[2] = (unsigned char)(c >> 8);
	icmp[3] = (unsigned char)c;
}

/* Prepends a 20-byte IPv4 header (protocol ICMP, given TTL) to icmp[0..n) into out. */
static size_t
wrap_ip4(const unsigned char *icmp, size_t n, int ttl, unsigned char *out)
{
	memset(out, 0, 20);
	out[0] = 0x45;
	out[2] = (unsigned char)((n + 20) >> 8);
	out[3] = (unsigned char)(n + 20);
	out[8] = (unsigned char)ttl;
	out[9] = 1;
	memcpy(out + 20, icmp, n);
	return n + 20;
}

static struct sockaddr_in
sin4(const char *a)
{
	struct sockaddr_in s;

	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	inet_pton(AF_INET, a, &s.sin_addr);
	return s;
}

static struct sockaddr_in6
sin6(const char *a)
{
	struct sockaddr_in6 s;

	memset(&s, 0, sizeof(s));
	s.sin6_family = AF_INET6;
	inet_pton(AF_INET6, a, &s.sin6_addr);
	return s;
}

#define SA(x) ((struct sockaddr *)&(x))

static void
test_parser(void)
{
	unsigned char icmp[64], pkt[128];
	struct obs_icmp_reply r;
	size_t n;

	memset(icmp, 0xab, sizeof(icmp));
	icmp[0] = 0;
	icmp[1] = 0;
	icmp[4] = 0x12;
	icmp[5] = 0x34;
	icmp[6] = 0x00;
	icmp[7] = 0x07;
	set_cksum(icmp, 40);
	n = wrap_ip4(icmp, 40, 57, pkt);
	ok(obs_icmp_parse_reply(AF_INET, 1, pkt, n, &r) == 0, "IPv4 reply with header parses");
	is_int(r.id, 0x1234, "identifier");
	is_int(r.seq, 7, "sequence");
	is_int(r.ttl, 57, "TTL from the IP header");
	is_int(r.data_len, 32, "data length");
	ok(obs_icmp_parse_reply(AF_INET, 0, icmp, 40, &r) == 0 && r.ttl == -1,
	    "IPv4 reply without header (datagram socket) parses, TTL unknown");
	ok(obs_icmp_parse_reply(AF_INET, 1, pkt, 27, &r) == -1, "truncated ICMP header refused");
	ok(obs_icmp_parse_reply(AF_INET, 1, pkt, 19, &r) == -1, "truncated IP header refused");
	pkt[9] = 17;
	ok(obs_icmp_parse_reply(AF_INET, 1, pkt, n, &r) == -1, "non-ICMP protocol refused");
	pkt[9] = 1;
	pkt[0] = 0x4f;
	ok(obs_icmp_parse_reply(AF_INET, 1, pkt, n, &r) == -1, "IHL past the packet refused");
	pkt[0] = 0x65;
	ok(obs_icmp_parse_reply(AF_INET, 1, pkt, n, &r) == -1, "IP version 6 header refused");
	pkt[0] = 0x45;
	pkt[30] ^= 0xff;
	ok(obs_icmp_parse_reply(AF_INET, 1, pkt, n, &r) == -1, "bad checksum refused");
	pkt[30] ^= 0xff;
	ok(obs_icmp_parse_reply(AF_INET, 1, pkt, n, &r) == 0, "checksum restored parses");
	icmp[0] = 8;
	set_cksum(icmp, 40);
	ok(obs_icmp_parse_reply(AF_INET, 0, icmp, 40, &r) == -1, "echo request refused");
	icmp[0] = 3;
	set_cksum(icmp, 40);
	ok(obs_icmp_parse_reply(AF_INET, 0, icmp, 40, &r) == -1, "unreachable refused");

	icmp[0] = 129;
	ok(obs_icmp_parse_reply(AF_INET6, 0, icmp, 40, &r) == 0 && r.seq == 7,
	    "ICMPv6 echo reply parses");
	icmp[0] = 128;
	ok(obs_icmp_parse_reply(AF_INET6, 0, icmp, 40, &r) == -1, "ICMPv6 request refused");
	icmp[0] = 129;
	ok(obs_icmp_parse_reply(AF_INET6, 0, icmp, 7, &r) == -1, "short ICMPv6 refused");
	ok(obs_icmp_parse_reply(AF_UNIX, 0, icmp, 40, &r) == -1, "unknown family refused");
}

/* Turns the request in req[0..n) into the reply a host would send. */
static void
to_reply(unsigned char *req, size_t n, int v6)
{
	req[0] = v6 ? 129 : 0;
	if (!v6)
		set_cksum(req, n);
}

static void
test_matching(enum obs_icmp_mode mode)
{
	struct obs_pinger_opts o = { 0 };
	struct obs_pinger *p = NULL;
	struct sockaddr_in a1 = sin4("127.0.0.1"), a2 = sin4("127.0.0.2"), a9 = sin4("127.0.0.9");
	struct sockaddr_in6 l6 = sin6("::1");
	unsigned char req[128], pkt[160], keep[128];
	const struct obs_ping_result *res;
	char err[256];
	int n, i1, i2, i6, raw = mode == OBS_ICMP_RAW;
	size_t len;
	int64_t t0 = 1000000;
	const char *m = raw ? "raw" : "dgram";

	o.mode = mode;
	if (!ok(obs_pinger_new(&o, &p, err, sizeof(err)) == 0, "%s: new", m))
		return;
	i1 = obs_pinger_add(p, SA(a1), sizeof(a1), 3, 0, err, sizeof(err));
	i2 = obs_pinger_add(p, SA(a2), sizeof(a2), 2, 0, err, sizeof(err));
	i6 = obs_pinger_add(p, SA(l6), sizeof(l6), 2, 0, err, sizeof(err));
	ok(i1 == 0 && i2 == 1 && i6 == 2, "%s: targets numbered in order", m);

	n = obs_pinger_make_request(p, (size_t)i1, req, sizeof(req), t0);
	ok(n == 64, "%s: request is 8 + 56 bytes", m);
	is_int(req[0], 8, "%s: IPv4 echo request type", m);
	is_int(cksum(req, (size_t)n), 0, "%s: IPv4 request checksum valid", m);
	to_reply(req, (size_t)n, 0);
	memcpy(keep, req, (size_t)n);
	len = raw ? wrap_ip4(req, (size_t)n, 63, pkt) : (memcpy(pkt, req, (size_t)n), (size_t)n);

	is_int(obs_pinger_offer(p, AF_INET, SA(a9), pkt, len, -1, t0 + 5000), -1,
	    "%s: reply from another address ignored", m);
	is_int(obs_pinger_offer(p, AF_INET6, SA(l6), req, (size_t)n, -1, t0 + 5000), -1,
	    "%s: reply on the other family ignored", m);
	is_int(obs_pinger_offer(p, AF_INET, SA(a1), pkt, len, raw ? -1 : 60, t0 + 5000), i1,
	    "%s: reply matched to its target", m);
	res = obs_pinger_result(p, (size_t)i1);
	is_int(res->received, 1, "%s: received counted", m);
	ok(res->rtt_avg_ms > 4.99 && res->rtt_avg_ms < 5.01, "%s: rtt 5 ms (%.3f)", m,
	    res->rtt_avg_ms);
	is_int(res->ttl, raw ? 63 : 60, "%s: TTL taken (%s)", m, raw ? "IP header" : "cmsg");
	is_int(obs_pinger_offer(p, AF_INET, SA(a1), pkt, len, -1, t0 + 6000), -1,
	    "%s: duplicate reply ignored", m);
	is_int(res->received, 1, "%s: duplicate not counted", m);

	/* Foreign identifier: another ping process on a raw socket; the kernel's own id on a
	 * datagram socket, where it must still match. */
	n = obs_pinger_make_request(p, (size_t)i1, req, sizeof(req), t0 + 1000000);
	to_reply(req, (size_t)n, 0);
	req[4] ^= 0x5a;
	set_cksum(req, (size_t)n);
	len = raw ? wrap_ip4(req, (size_t)n, 63, pkt) : (memcpy(pkt, req, (size_t)n), (size_t)n);
	is_int(obs_pinger_offer(p, AF_INET, SA(a1), pkt, len, -1, t0 + 1002000), raw ? -1 : i1,
	    "%s: other identifier %s", m, raw ? "ignored" : "accepted (kernel's id)");

	/* Unknown sequence number, and foreign data. */
	memcpy(req, keep, 64);
	req[6] ^= 0x40;
	set_cksum(req, 64);
	len = raw ? wrap_ip4(req, 64, 63, pkt) : (memcpy(pkt, req, 64), (size_t)64);
	is_int(obs_pinger_offer(p, AF_INET, SA(a1), pkt, len, -1, t0 + 7000), -1,
	    "%s: unknown sequence ignored", m);
	n = obs_pinger_make_request(p, (size_t)i2, req, sizeof(req), t0);
	to_reply(req, (size_t)n, 0);
	req[9] ^= 1;
	set_cksum(req, (size_t)n);
	len = raw ? wrap_ip4(req, (size_t)n, 63, pkt) : (memcpy(pkt, req, (size_t)n), (size_t)n);
	is_int(obs_pinger_offer(p, AF_INET, SA(a2), pkt, len, -1, t0 + 7000), -1,
	    "%s: reply without our data ignored", m);

	/* The non-answering target: two echoes out, nothing back. */
	ok(obs_pinger_make_request(p, (size_t)i2, req, sizeof(req), t0 + 1000000) > 0,
	    "%s: second echo to the silent target", m);
	ok(obs_pinger_make_request(p, (size_t)i2, req, sizeof(req), t0) == -1,
	    "%s: no third echo past count", m);
	res = obs_pinger_result(p, (size_t)i2);
	ok(res->sent == 2 && res->received == 0, "%s: silent target 2 sent, 0 received", m);
	ok(res->loss_pct > 99.9, "%s: silent target 100%% loss", m);
	is_int(res->ttl, -1, "%s: silent target TTL unknown", m);
	res = obs_pinger_result(p, (size_t)i1);
	ok(res->sent == 2 && res->received == (raw ? 1 : 2), "%s: first target counts", m);
	ok(res->loss_pct > (raw ? 49.9 : -0.1) && res->loss_pct < (raw ? 50.1 : 0.1),
	    "%s: first target loss %.1f%%", m, res->loss_pct);

	/* IPv6: the kernel fills the checksum, the hop limit comes from a cmsg. */
	n = obs_pinger_make_request(p, (size_t)i6, req, sizeof(req), t0);
	is_int(req[0], 128, "%s: ICMPv6 echo request type", m);
	to_reply(req, (size_t)n, 1);
	is_int(obs_pinger_offer(p, AF_INET6, SA(l6), req, (size_t)n, 64, t0 + 250), i6,
	    "%s: ICMPv6 reply matched", m);
	res = obs_pinger_result(p, (size_t)i6);
	ok(res->ttl == 64 && res->rtt_avg_ms > 0.249 && res->rtt_avg_ms < 0.251,
	    "%s: ICMPv6 hop limit and rtt", m);
	ok(obs_pinger_result(p, 3) == NULL, "%s: no result past the last target", m);
	obs_pinger_free(p);
}

static void
test_api(void)
{
	struct obs_pinger_opts o = { 0 };
	struct obs_pinger *p = NULL;
	struct sockaddr_in a = sin4("127.0.0.1");
	struct sockaddr_un_like {
		sa_family_t f;
		char path[32];
	} u = { AF_UNIX, "x" };
	char err[256];

	o.payload_len = 8;
	ok(obs_pinger_new(&o, &p, err, sizeof(err)) == -1 && p == NULL,
	    "payload below 16 bytes refused");
	has_str(err, "payload_len", "error names the option");
	ok(obs_pinger_new(NULL, &p, err, sizeof(err)) == 0, "defaults");
	ok(obs_pinger_add(p, SA(a), sizeof(a), 0, 0, err, sizeof(err)) == -1, "count 0 refused");
	has_str(err, "count", "error names the count");
	ok(obs_pinger_add(p, SA(a), sizeof(a), 1, 5, err, sizeof(err)) == -1,
	    "5 ms interval refused");
	ok(obs_pinger_add(p, (struct sockaddr *)&u, sizeof(u), 1, 0, err, sizeof(err)) == -1,
	    "AF_UNIX refused");
	ok(obs_pinger_add(p, SA(a), 4, 1, 0, err, sizeof(err)) == -1, "short sockaddr refused");
	ok(obs_pinger_run(p, 100, err, sizeof(err)) == 0, "run with no targets");
	ok(obs_pinger_add(p, SA(a), sizeof(a), 1, 0, err, sizeof(err)) == -1,
	    "add after run refused");
	ok(obs_pinger_run(p, 100, err, sizeof(err)) == -1, "second run refused");
	obs_pinger_free(p);
	obs_pinger_free(NULL);

	o.payload_len = 0;
	o.max_targets = 2;
	ok(obs_pinger_new(&o, &p, err, sizeof(err)) == 0, "max_targets 2");
	obs_pinger_add(p, SA(a), sizeof(a), 1, 0, err, sizeof(err));
	obs_pinger_add(p, SA(a), sizeof(a), 1, 0, err, sizeof(err));
	ok(obs_pinger_add(p, SA(a), sizeof(a), 1, 0, err, sizeof(err)) == -1,
	    "third target past max_targets refused");
	obs_pinger_free(p);
}

/* Whether a socket of this kind may be opened here. */
static int
can_open(int type)
{
	int fd = socket(AF_INET, type, IPPROTO_ICMP);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

static void
test_live(void)
{
	struct obs_pinger_opts o = { 0 };
	struct obs_pinger *p = NULL;
	const struct obs_ping_result *r;
	char err[256], name[32];
	int64_t t0, el;
	int i, rc;

	o.reply_wait_ms = 500;
	if (!ok(obs_pinger_new(&o, &p, err, sizeof(err)) == 0, "live: new"))
		return;
	{
		struct sockaddr_in a = sin4("127.0.0.1");
		struct sockaddr_in6 b = sin6("::1");

		obs_pinger_add(p, SA(a), sizeof(a), 3, 100, err, sizeof(err));
		obs_pinger_add(p, SA(b), sizeof(b), 3, 100, err, sizeof(err));
	}
	for (i = 2; i <= 6; i++) {
		struct sockaddr_in a;

		snprintf(name, sizeof(name), "127.0.0.%d", i);
		a = sin4(name);
		obs_pinger_add(p, SA(a), sizeof(a), 3, 200, err, sizeof(err));
	}
	t0 = mono_us();
	rc = obs_pinger_run(p, 5000, err, sizeof(err));
	el = (mono_us() - t0) / 1000;
	if (!ok(rc == 0, "live: run"))
		tap_diag("%s", err);
	tap_diag("mode %s, 7 targets in %lld ms",
	    obs_pinger_mode(p) == OBS_ICMP_RAW ? "raw" : "datagram", (long long)el);
	for (i = 0; i < 7; i++) {
		r = obs_pinger_result(p, (size_t)i);
		ok(r->sent == 3 && r->received == 3 && r->loss_pct == 0.0,
		    "live: target %d 3 sent, 3 received (%d/%d)", i, r->sent, r->received);
		ok(r->rtt_avg_ms > 0.0 && r->rtt_avg_ms < 500.0, "live: target %d rtt %.3f ms", i,
		    r->rtt_avg_ms);
		ok(r->ttl > 0 && r->ttl <= 255, "live: target %d ttl %d", i, r->ttl);
	}
	/* One after another would take 5 * 400 ms for the 127.0.0.x targets alone. */
	ok(el >= 390 && el < 1900, "live: targets pinged concurrently, intervals kept (%lld ms)",
	    (long long)el);
	obs_pinger_free(p);

	/* A rate cap spaces the echoes: 20 at 100 per second take about 190 ms. */
	o.max_pps = 100;
	obs_pinger_new(&o, &p, err, sizeof(err));
	for (i = 10; i < 30; i++) {
		struct sockaddr_in a;

		snprintf(name, sizeof(name), "127.0.0.%d", i);
		a = sin4(name);
		obs_pinger_add(p, SA(a), sizeof(a), 1, 0, err, sizeof(err));
	}
	t0 = mono_us();
	obs_pinger_run(p, 3000, err, sizeof(err));
	el = (mono_us() - t0) / 1000;
	rc = 0;
	for (i = 0; i < 20; i++)
		rc += obs_pinger_result(p, (size_t)i)->received;
	is_int(rc, 20, "live: paced run gets every reply");
	ok(el >= 170 && el < 2900, "live: 100 echoes/s cap spaces 20 echoes (%lld ms)",
	    (long long)el);
	obs_pinger_free(p);
	o.max_pps = 0;

	/* The caller's deadline cuts a long run short. */
	obs_pinger_new(NULL, &p, err, sizeof(err));
	{
		struct sockaddr_in a = sin4("127.0.0.1");

		obs_pinger_add(p, SA(a), sizeof(a), 10, 300, err, sizeof(err));
	}
	t0 = mono_us();
	obs_pinger_run(p, 700, err, sizeof(err));
	el = (mono_us() - t0) / 1000;
	r = obs_pinger_result(p, 0);
	ok(r->sent >= 2 && r->sent <= 3 && el >= 690 && el < 2000,
	    "live: deadline stops sending (%d sent in %lld ms)", r->sent, (long long)el);
	obs_pinger_free(p);

	/* Source binding: a good source works, a bad one is reported. */
	o.source4 = "127.0.0.1";
	obs_pinger_new(&o, &p, err, sizeof(err));
	{
		struct sockaddr_in a = sin4("127.0.0.3");

		obs_pinger_add(p, SA(a), sizeof(a), 1, 0, err, sizeof(err));
	}
	rc = obs_pinger_run(p, 2000, err, sizeof(err));
	r = obs_pinger_result(p, 0);
	ok(rc == 0 && r->received == 1, "live: source 127.0.0.1 bound, reply received");
	obs_pinger_free(p);
	o.source4 = "192.0.2.300";
	obs_pinger_new(&o, &p, err, sizeof(err));
	{
		struct sockaddr_in a = sin4("127.0.0.1");

		obs_pinger_add(p, SA(a), sizeof(a), 1, 0, err, sizeof(err));
	}
	rc = obs_pinger_run(p, 500, err, sizeof(err));
	ok(rc == -1, "live: unusable source address fails the run");
	has_str(err, "bind", "live: error names bind");
	r = obs_pinger_result(p, 0);
	ok(r->sent == 0 && r->loss_pct == 100.0 && r->send_errno != 0,
	    "live: target of the failed family has nothing sent");
	obs_pinger_free(p);
}

static void
test_dgram(void)
{
	struct obs_pinger_opts o = { 0 };
	struct obs_pinger *p = NULL;
	struct sockaddr_in a = sin4("127.0.0.1");
	const struct obs_ping_result *r;
	char err[256];
	int rc;

	o.mode = OBS_ICMP_DGRAM;
	obs_pinger_new(&o, &p, err, sizeof(err));
	obs_pinger_add(p, SA(a), sizeof(a), 2, 50, err, sizeof(err));
	rc = obs_pinger_run(p, 2000, err, sizeof(err));
	r = obs_pinger_result(p, 0);
	if (can_open(SOCK_DGRAM)) {
		ok(rc == 0 && r->received == 2, "dgram: both replies over a datagram socket");
		ok(r->ttl > 0, "dgram: TTL from IP_RECVTTL (%d)", r->ttl);
	} else {
		ok(rc == -1 && r->sent == 0 && r->send_errno != 0,
		    "dgram: forbidden datagram socket fails the run cleanly");
		has_str(err, "datagram", "dgram: error names the socket kind");
	}
	obs_pinger_free(p);
}

int
main(void)
{
	test_parser();
	test_matching(OBS_ICMP_RAW);
	test_matching(OBS_ICMP_DGRAM);
	test_api();
	test_dgram();
	if (can_open(SOCK_RAW) || can_open(SOCK_DGRAM))
		test_live();
	else
		tap_skip("live echoes", "no raw (CAP_NET_RAW) or datagram ICMP socket "
		    "(net.ipv4.ping_group_range) permitted");
	return tap_done();
}
