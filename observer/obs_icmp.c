/*
 * ICMP echo of many targets from one poll() loop. Every echo gets a sequence number unique
 * within the pinger (a 16-bit counter indexing a table of outstanding echoes), so a reply
 * is found in O(1) whatever socket kind carried it: on a datagram socket the kernel
 * replaces our identifier with its own, but leaves the sequence number and the data alone.
 * The data starts with 8 random bytes of this pinger, which keeps replies to other ping
 * processes on the host (a raw socket sees them all) from being counted.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "util/util.h"
#include "observer/obs_icmp.h"

#define NSLOTS 65536
#define MAGIC_LEN 8
#define RECV_BURST 512   /* packets read per wake-up before the schedule is looked at */
#define RETRY_US 10000   /* resend delay after EAGAIN / ENOBUFS */
#define PACE_BURST_US 10000 /* a paced pinger may catch up on at most this much lag */

struct echo_slot {
	int64_t sent_us;
	int32_t target; /* -1: free */
	uint8_t answered;
};

struct target {
	struct sockaddr_storage addr;
	int family;
	int count;
	int64_t interval_us;
	int tries;          /* sends attempted, accepted or not */
	int64_t next_us;    /* when the next echo is due */
	int64_t last_us;    /* when the last echo went out */
	int done;
	double rtt_sum_ms;
	struct obs_ping_result res;
};

struct obs_pinger {
	struct obs_pinger_opts opts;
	struct target *t;
	size_t nt, capt, pending;
	struct echo_slot *slots;
	uint16_t next_seq;
	uint16_t id;
	unsigned char magic[MAGIC_LEN];
	int fd4, fd6;
	enum obs_icmp_mode mode4, mode6;
	int ran;
	int64_t pace_us;   /* gap between two sends under max_pps, or 0 */
	int64_t slot_us;   /* earliest time the next send may go out */
};


static uint16_t
inet_cksum(const unsigned char *p, size_t n)
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

int
obs_pinger_new(const struct obs_pinger_opts *opts, struct obs_pinger **out, char *err,
    size_t errsz)
{
	struct obs_pinger *p = NULL;
	unsigned char rnd[2 + MAGIC_LEN];
	size_t i;
	int rc = -1;

	if (out == NULL) {
		util_seterr(err, errsz, "obs_pinger_new: NULL argument");
		return -1;
	}
	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		goto nomem;
	p->fd4 = p->fd6 = -1;
	if (opts != NULL)
		p->opts = *opts;
	if (p->opts.reply_wait_ms <= 0)
		p->opts.reply_wait_ms = 1000;
	if (p->opts.payload_len == 0)
		p->opts.payload_len = 56;
	if (p->opts.max_targets == 0)
		p->opts.max_targets = 65536;
	if (p->opts.max_pps < 0) {
		util_seterr(err, errsz, "obs_pinger_new: max_pps %d < 0", p->opts.max_pps);
		goto out;
	}
	if (p->opts.max_pps > 0)
		p->pace_us = 1000000 / p->opts.max_pps > 0 ? 1000000 / p->opts.max_pps : 1;
	if (p->opts.payload_len < 16 || p->opts.payload_len > 1024) {
		util_seterr(err, errsz, "obs_pinger_new: payload_len %zu not in 16..1024",
		    p->opts.payload_len);
		goto out;
	}
	if (p->opts.mode != OBS_ICMP_AUTO && p->opts.mode != OBS_ICMP_RAW &&
	    p->opts.mode != OBS_ICMP_DGRAM) {
		util_seterr(err, errsz, "obs_pinger_new: unknown mode %d", (int)p->opts.mode);
		goto out;
	}
	p->mode4 = p->mode6 = p->opts.mode;
	p->slots = malloc(NSLOTS * sizeof(*p->slots));
	if (p->slots == NULL)
		goto nomem;
	for (i = 0; i < NSLOTS; i++) {
		p->slots[i].target = -1;
		p->slots[i].answered = 0;
		p->slots[i].sent_us = 0;
	}
	if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
		/* Unpredictability only guards against counting strangers' replies. */
		uint64_t x = (uint64_t)util_mono_us() ^ ((uint64_t)getpid() << 32);

		for (i = 0; i < sizeof(rnd); i++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			rnd[i] = (unsigned char)(x >> 56);
		}
	}
	p->id = (uint16_t)(rnd[0] << 8 | rnd[1]);
	memcpy(p->magic, rnd + 2, MAGIC_LEN);
	p->next_seq = (uint16_t)(rnd[2] << 8 | rnd[3]);
	*out = p;
	p = NULL;
	rc = 0;
	goto out;
nomem:
	util_seterr(err, errsz, "obs_pinger_new: out of memory");
out:
	obs_pinger_free(p);
	return rc;
}

/* Keeps the derived figures current, so a result is readable at any time. */
static void
update_stats(struct target *t)
{
	struct obs_ping_result *r = &t->res;

	r->loss_pct = r->sent > 0 ?
	    100.0 * (double)(r->sent - r->received) / (double)r->sent : 100.0;
	r->rtt_avg_ms = r->received > 0 ? t->rtt_sum_ms / r->received : 0.0;
}

int
obs_pinger_add(struct obs_pinger *p, const struct sockaddr *addr, socklen_t addrlen,
    int count, int interval_ms, char *err, size_t errsz)
{
	struct target *t;

	if (p == NULL || addr == NULL) {
		util_seterr(err, errsz, "obs_pinger_add: NULL argument");
		return -1;
	}
	if (p->ran) {
		util_seterr(err, errsz, "obs_pinger_add: the pinger has already run");
		return -1;
	}
	if (!(addr->sa_family == AF_INET && addrlen >= (socklen_t)sizeof(struct sockaddr_in)) &&
	    !(addr->sa_family == AF_INET6 &&
	    addrlen >= (socklen_t)sizeof(struct sockaddr_in6))) {
		util_seterr(err, errsz, "obs_pinger_add: not an IPv4 or IPv6 address");
		return -1;
	}
	if (count < 1 || count > 1000) {
		util_seterr(err, errsz, "obs_pinger_add: count %d not in 1..1000", count);
		return -1;
	}
	if (interval_ms == 0)
		interval_ms = 1000;
	if (interval_ms < 10 || interval_ms > 3600000) {
		util_seterr(err, errsz, "obs_pinger_add: interval %d ms not in 10..3600000",
		    interval_ms);
		return -1;
	}
	if (p->nt >= p->opts.max_targets) {
		util_seterr(err, errsz, "obs_pinger_add: more than %zu targets", p->opts.max_targets);
		return -1;
	}
	if (p->nt == p->capt) {
		size_t ncap = p->capt ? p->capt * 2 : 16;
		struct target *nv = realloc(p->t, ncap * sizeof(*nv));

		if (nv == NULL) {
			util_seterr(err, errsz, "obs_pinger_add: out of memory");
			return -1;
		}
		p->t = nv;
		p->capt = ncap;
	}
	t = &p->t[p->nt];
	memset(t, 0, sizeof(*t));
	memcpy(&t->addr, addr, addr->sa_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6));
	t->family = addr->sa_family;
	t->count = count;
	t->interval_us = (int64_t)interval_ms * 1000;
	t->res.ttl = -1;
	update_stats(t);
	p->pending++;
	return (int)p->nt++;
}

/* Writes the echo request with sequence `seq` for target t; returns its length. */
static size_t
build_request(const struct obs_pinger *p, const struct target *t, uint16_t seq,
    unsigned char *buf)
{
	size_t n = 8 + p->opts.payload_len, i;
	uint16_t ck;

	buf[0] = t->family == AF_INET ? 8 : ICMP6_ECHO_REQUEST;
	buf[1] = 0;
	buf[2] = buf[3] = 0;
	buf[4] = (unsigned char)(p->id >> 8);
	buf[5] = (unsigned char)p->id;
	buf[6] = (unsigned char)(seq >> 8);
	buf[7] = (unsigned char)seq;
	memcpy(buf + 8, p->magic, MAGIC_LEN);
	for (i = 8 + MAGIC_LEN; i < n; i++)
		buf[i] = (unsigned char)i;
	/* ICMPv6 checksums cover a pseudo-header; the kernel fills them in. */
	if (t->family == AF_INET) {
		ck = inet_cksum(buf, n);
		buf[2] = (unsigned char)(ck >> 8);
		buf[3] = (unsigned char)ck;
	}
	return n;
}

static void
commit_send(struct obs_pinger *p, size_t idx, uint16_t seq, int64_t now)
{
	struct echo_slot *s = &p->slots[seq];

	s->target = (int32_t)idx;
	s->sent_us = now;
	s->answered = 0;
	p->t[idx].res.sent++;
	p->t[idx].last_us = now;
	update_stats(&p->t[idx]);
}

int
obs_pinger_make_request(struct obs_pinger *p, size_t idx, unsigned char *buf,
    size_t bufsz, int64_t now_us)
{
	struct target *t;
	uint16_t seq;
	size_t n;

	if (p == NULL || idx >= p->nt || bufsz < 8 + p->opts.payload_len)
		return -1;
	t = &p->t[idx];
	if (t->done || t->tries >= t->count)
		return -1;
	seq = p->next_seq++;
	n = build_request(p, t, seq, buf);
	t->tries++;
	commit_send(p, idx, seq, now_us);
	return (int)n;
}

int
obs_icmp_parse_reply(int family, int with_ip_header, const unsigned char *pkt, size_t len,
    struct obs_icmp_reply *out)
{
	size_t off = 0;
	int ttl = -1;

	if (pkt == NULL || out == NULL)
		return -1;
	if (family == AF_INET && with_ip_header) {
		size_t ihl;

		if (len < 20 || (pkt[0] >> 4) != 4)
			return -1;
		ihl = (size_t)(pkt[0] & 15) * 4;
		if (ihl < 20 || ihl > len || pkt[9] != IPPROTO_ICMP)
			return -1;
		ttl = pkt[8];
		off = ihl;
	} else if (family != AF_INET && family != AF_INET6) {
		return -1;
	}
	pkt += off;
	len -= off;
	if (len < 8)
		return -1;
	if (family == AF_INET) {
		if (pkt[0] != 0 || pkt[1] != 0)
			return -1;
		/* A raw socket hands us whatever arrived, damaged or not. */
		if (inet_cksum(pkt, len) != 0)
			return -1;
	} else if (pkt[0] != ICMP6_ECHO_REPLY || pkt[1] != 0) {
		return -1;
	}
	out->type = pkt[0];
	out->id = (uint16_t)(pkt[4] << 8 | pkt[5]);
	out->seq = (uint16_t)(pkt[6] << 8 | pkt[7]);
	out->ttl = ttl;
	out->data = pkt + 8;
	out->data_len = len - 8;
	return 0;
}

static int
same_addr(const struct sockaddr *a, const struct sockaddr_storage *b)
{
	if (a->sa_family != b->ss_family)
		return 0;
	if (a->sa_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)(const void *)a)->sin_addr,
		    &((const struct sockaddr_in *)(const void *)b)->sin_addr,
		    sizeof(struct in_addr)) == 0;
	return memcmp(&((const struct sockaddr_in6 *)(const void *)a)->sin6_addr,
	    &((const struct sockaddr_in6 *)(const void *)b)->sin6_addr,
	    sizeof(struct in6_addr)) == 0;
}

static void
maybe_done(struct obs_pinger *p, struct target *t)
{
	if (!t->done && t->tries >= t->count && t->res.received >= t->res.sent) {
		t->done = 1;
		p->pending--;
	}
}

int
obs_pinger_offer(struct obs_pinger *p, int family, const struct sockaddr *from,
    const unsigned char *pkt, size_t len, int ttl, int64_t now_us)
{
	enum obs_icmp_mode mode;
	struct obs_icmp_reply r;
	struct echo_slot *s;
	struct target *t;

	if (p == NULL || from == NULL || (family != AF_INET && family != AF_INET6))
		return -1;
	mode = family == AF_INET ? p->mode4 : p->mode6;
	if (mode == OBS_ICMP_AUTO)
		return -1;
	if (obs_icmp_parse_reply(family, family == AF_INET && mode == OBS_ICMP_RAW, pkt, len,
	    &r) < 0)
		return -1;
	if (mode == OBS_ICMP_RAW && r.id != p->id)
		return -1;
	if (r.data_len < MAGIC_LEN || memcmp(r.data, p->magic, MAGIC_LEN) != 0)
		return -1;
	s = &p->slots[r.seq];
	if (s->target < 0 || (size_t)s->target >= p->nt || s->answered)
		return -1;
	t = &p->t[s->target];
	if (t->family != family || !same_addr(from, &t->addr))
		return -1;
	s->answered = 1;
	t->res.received++;
	t->rtt_sum_ms += (double)(now_us - s->sent_us) / 1000.0;
	if (ttl >= 0)
		t->res.ttl = ttl;
	else if (r.ttl >= 0)
		t->res.ttl = r.ttl;
	update_stats(t);
	maybe_done(p, t);
	return s->target;
}

static int
bind_source(int fd, int family, const char *src)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		if (inet_pton(AF_INET, src, &sin->sin_addr) != 1) {
			errno = EINVAL;
			return -1;
		}
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, src, &sin6->sin6_addr) != 1) {
			errno = EINVAL;
			return -1;
		}
		sl = sizeof(*sin6);
	}
	return bind(fd, (struct sockaddr *)&ss, sl);
}

/* Opens and sets up the socket for one family. Returns the fd, or -1 with errno set. */
static int
open_socket(struct obs_pinger *p, int family, enum obs_icmp_mode *mode, const char **what)
{
	int proto = family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	const char *src = family == AF_INET ? p->opts.source4 : p->opts.source6;
	int fd = -1, on = 1, rcvbuf = 1 << 20, saved;

	*what = "socket";
	if (*mode == OBS_ICMP_AUTO || *mode == OBS_ICMP_RAW) {
		fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
		if (fd >= 0)
			*mode = OBS_ICMP_RAW;
		else if (*mode == OBS_ICMP_RAW || (errno != EPERM && errno != EACCES))
			return -1;
	}
	if (fd < 0) {
		fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
		if (fd < 0)
			return -1;
		*mode = OBS_ICMP_DGRAM;
	}
	/* A bigger buffer keeps a burst of thousands of replies from being dropped. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	*what = "setsockopt";
	if (family == AF_INET) {
		if (setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &on, sizeof(on)) < 0)
			goto fail;
	} else {
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof(on)) < 0)
			goto fail;
		if (*mode == OBS_ICMP_RAW) {
			struct icmp6_filter f;

			ICMP6_FILTER_SETBLOCKALL(&f);
			ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
			if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f)) < 0)
				goto fail;
		}
	}
	if (src != NULL && *src != '\0') {
		*what = "bind";
		if (bind_source(fd, family, src) < 0)
			goto fail;
	}
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* Sends target idx's next echo; 0 when handled (sent or refused), 1 to retry soon. */
static int
send_next(struct obs_pinger *p, size_t idx, unsigned char *buf, int64_t now)
{
	struct target *t = &p->t[idx];
	int fd = t->family == AF_INET ? p->fd4 : p->fd6;
	socklen_t sl = t->family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);
	uint16_t seq = p->next_seq;
	size_t n = build_request(p, t, seq, buf);
	ssize_t w;

	w = sendto(fd, buf, n, 0, (const struct sockaddr *)&t->addr, sl);
	if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS ||
	    errno == EINTR))
		return 1;
	p->next_seq++;
	t->tries++;
	if (w < 0)
		t->res.send_errno = errno;
	else
		commit_send(p, idx, seq, now);
	return 0;
}

/* Reads what is waiting on fd and offers it; bounded per call. */
static void
drain(struct obs_pinger *p, int fd, int family)
{
	unsigned char pkt[2048];
	union {
		char buf[CMSG_SPACE(sizeof(int)) * 4];
		struct cmsghdr align;
	} cbuf;
	int i;

	for (i = 0; i < RECV_BURST; i++) {
		struct sockaddr_storage from;
		struct iovec iov = { pkt, sizeof(pkt) };
		struct msghdr mh;
		struct cmsghdr *c;
		ssize_t n;
		int ttl = -1;

		memset(&mh, 0, sizeof(mh));
		mh.msg_name = &from;
		mh.msg_namelen = sizeof(from);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = sizeof(cbuf.buf);
		n = recvmsg(fd, &mh, 0);
		if (n < 0)
			return;
		if (mh.msg_flags & MSG_TRUNC)
			continue;
		for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
			if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) ||
			    (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT))
				memcpy(&ttl, CMSG_DATA(c), sizeof(ttl));
		}
		(void)obs_pinger_offer(p, family, (struct sockaddr *)&from, pkt, (size_t)n, ttl,
		    util_mono_us());
	}
}

int
obs_pinger_run(struct obs_pinger *p, int timeout_ms, char *err, size_t errsz)
{
	unsigned char *buf = NULL;
	int64_t start, deadline, next_due, now;
	int need4 = 0, need6 = 0, rc = -1, sock_failed = 0;
	size_t i;

	if (p == NULL || timeout_ms <= 0) {
		util_seterr(err, errsz, "obs_pinger_run: NULL pinger or timeout <= 0");
		return -1;
	}
	if (p->ran) {
		util_seterr(err, errsz, "obs_pinger_run: the pinger has already run");
		return -1;
	}
	p->ran = 1;
	buf = malloc(8 + p->opts.payload_len);
	if (buf == NULL) {
		util_seterr(err, errsz, "obs_pinger_run: out of memory");
		goto out;
	}
	for (i = 0; i < p->nt; i++) {
		need4 |= p->t[i].family == AF_INET;
		need6 |= p->t[i].family == AF_INET6;
	}
	if (need4 || need6) {
		int fam[2] = { AF_INET, AF_INET6 }, need[2] = { need4, need6 }, k;

		for (k = 0; k < 2; k++) {
			enum obs_icmp_mode *mode = k == 0 ? &p->mode4 : &p->mode6;
			int *fd = k == 0 ? &p->fd4 : &p->fd6;
			const char *what;
			int e;

			if (!need[k])
				continue;
			*fd = open_socket(p, fam[k], mode, &what);
			if (*fd >= 0)
				continue;
			e = errno;
			if (!sock_failed)
				util_seterr(err, errsz, "obs_pinger_run: %s ICMP%s socket: %s: %s",
				    *mode == OBS_ICMP_DGRAM ? "datagram" :
				    *mode == OBS_ICMP_RAW ? "raw" : "raw or datagram",
				    k == 0 ? "" : "v6", what, strerror(e));
			sock_failed = 1;
			/* Targets of a family we cannot reach are done, with nothing sent. */
			for (i = 0; i < p->nt; i++)
				if (p->t[i].family == fam[k] && !p->t[i].done) {
					p->t[i].res.send_errno = e;
					p->t[i].done = 1;
					p->pending--;
				}
		}
	}

	start = util_mono_us();
	deadline = start + (int64_t)timeout_ms * 1000;
	for (i = 0; i < p->nt; i++)
		p->t[i].next_us = start;
	next_due = start;
	while (p->pending > 0) {
		struct pollfd pfd[2];
		nfds_t nfd = 0;
		int wait_ms, n;

		now = util_mono_us();
		if (now >= deadline)
			break;
		if (now >= next_due) {
			/* Nothing but this scan changes the schedule, so it runs only when
			 * something is due, not on every reply. */
			next_due = deadline;
			for (i = 0; i < p->nt; i++) {
				struct target *t = &p->t[i];
				int64_t due;

				if (t->done)
					continue;
				if (t->tries < t->count && now >= t->next_us &&
				    p->pace_us > 0 && now < p->slot_us) {
					/* Over the rate: wait for the next slot, keep the turn. */
					if (p->slot_us < next_due)
						next_due = p->slot_us;
					continue;
				}
				if (t->tries < t->count && now >= t->next_us) {
					if (p->pace_us > 0) {
						/* Average rate exact, bursts at most PACE_BURST_US
						 * worth, whatever poll()'s millisecond grain. */
						if (p->slot_us < now - PACE_BURST_US)
							p->slot_us = now - PACE_BURST_US;
						p->slot_us += p->pace_us;
					}
					if (send_next(p, i, buf, now)) {
						t->next_us = now + RETRY_US;
					} else {
						t->next_us += t->interval_us;
						if (t->next_us < now)
							t->next_us = now;
					}
				}
				if (t->tries >= t->count) {
					due = t->last_us + (int64_t)p->opts.reply_wait_ms * 1000;
					if (t->res.sent == 0 || now >= due ||
					    t->res.received >= t->res.sent) {
						t->done = 1;
						p->pending--;
						continue;
					}
				} else {
					due = t->next_us;
				}
				if (due < next_due)
					next_due = due;
			}
			continue;
		}
		if (p->fd4 >= 0) {
			pfd[nfd].fd = p->fd4;
			pfd[nfd++].events = POLLIN;
		}
		if (p->fd6 >= 0) {
			pfd[nfd].fd = p->fd6;
			pfd[nfd++].events = POLLIN;
		}
		wait_ms = (int)((next_due - now + 999) / 1000);
		n = poll(pfd, nfd, wait_ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			util_seterr(err, errsz, "obs_pinger_run: poll: %s", strerror(errno));
			sock_failed = 1;
			break;
		}
		for (i = 0; i < (size_t)nfd; i++)
			if (pfd[i].revents & (POLLIN | POLLERR))
				drain(p, pfd[i].fd, pfd[i].fd == p->fd4 ? AF_INET : AF_INET6);
	}
	rc = sock_failed ? -1 : 0;
out:
	free(buf);
	return rc;
}

enum obs_icmp_mode
obs_pinger_mode(const struct obs_pinger *p)
{
	return p->fd4 >= 0 ? p->mode4 : p->fd6 >= 0 ? p->mode6 : OBS_ICMP_AUTO;
}

const struct obs_ping_result *
obs_pinger_result(const struct obs_pinger *p, size_t idx)
{
	if (p == NULL || idx >= p->nt)
		return NULL;
	return &p->t[idx].res;
}

void
obs_pinger_free(struct obs_pinger *p)
{
	if (p == NULL)
		return;
	if (p->fd4 >= 0)
		close(p->fd4);
	if (p->fd6 >= 0)
		close(p->fd6);
	free(p->slots);
	free(p->t);
	free(p);
}
