/*
 * Many names through one c-ares channel, driven by poll(): ares_getaddrinfo() asks for A
 * and AAAA together, and a window of max_inflight names keeps thousands of targets from
 * arriving at the recursive resolver as one burst. Also the special-purpose address
 * blocks (IANA IPv4 and IPv6 Special-Purpose Address Registries) behind allow_private.
 */
#include <config.h>

#include <arpa/inet.h>
#include <ares.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/util.h"
#include "observer/obs_dns.h"

struct name_q {
	char *name;
	struct obs_resolver *r;
	int started, finished;
	struct obs_dns_result res;
};

struct obs_resolver {
	struct obs_resolver_opts opts;
	ares_channel ch;
	int lib_init;
	struct name_q *q;
	size_t nq, capq;
	size_t inflight, finished;
	int ran;
};


const char *
obs_dns_status_name(enum obs_dns_status st)
{
	switch (st) {
	case OBS_DNS_OK: return "ok";
	case OBS_DNS_NXDOMAIN: return "NXDOMAIN";
	case OBS_DNS_NODATA: return "NODATA";
	case OBS_DNS_SERVFAIL: return "SERVFAIL";
	case OBS_DNS_REFUSED: return "REFUSED";
	case OBS_DNS_TIMEOUT: return "timeout";
	case OBS_DNS_BADNAME: return "bad-name";
	case OBS_DNS_ERROR: break;
	}
	return "error";
}

const char *
obs_dns_error_kind(enum obs_dns_status st)
{
	return st == OBS_DNS_OK ? NULL : "dns";
}

int
obs_resolver_new(const struct obs_resolver_opts *opts, struct obs_resolver **out,
    char *err, size_t errsz)
{
	struct obs_resolver *r = NULL;
	struct ares_options ao;
	int mask, st, rc = -1;

	if (out == NULL) {
		util_seterr(err, errsz, "obs_resolver_new: NULL argument");
		return -1;
	}
	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		util_seterr(err, errsz, "obs_resolver_new: out of memory");
		goto out;
	}
	if (opts != NULL)
		r->opts = *opts;
	if (r->opts.timeout_ms <= 0)
		r->opts.timeout_ms = 2000;
	if (r->opts.tries <= 0)
		r->opts.tries = 2;
	if (r->opts.max_inflight == 0)
		r->opts.max_inflight = 256;
	if (r->opts.max_addrs == 0)
		r->opts.max_addrs = 64;
	if (r->opts.max_names == 0)
		r->opts.max_names = 100000;
	r->opts.servers = NULL; /* not kept: the caller's string need not outlive us */

	st = ares_library_init(ARES_LIB_INIT_ALL);
	if (st != ARES_SUCCESS) {
		util_seterr(err, errsz, "obs_resolver_new: ares_library_init: %s", ares_strerror(st));
		goto out;
	}
	r->lib_init = 1;
	memset(&ao, 0, sizeof(ao));
	ao.timeout = r->opts.timeout_ms;
	ao.tries = r->opts.tries;
	ao.lookups = r->opts.use_hosts ? (char *)"fb" : (char *)"b";
	/* Targets are fully qualified: a system search domain would turn a missing C2
	 * domain into a query about the operator's own zone. */
	ao.flags = ARES_FLAG_NOSEARCH;
	/* Report SERVFAIL and REFUSED as such instead of skipping to the next server and
	 * ending in "could not contact DNS servers": from a recursive resolver they are an
	 * answer about the name (a dead C2 domain's broken delegation shows as SERVFAIL). */
	ao.flags |= ARES_FLAG_NOCHECKRESP;
	ao.ndomains = 0;
	ao.domains = NULL;
	mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS | ARES_OPT_FLAGS |
	    ARES_OPT_DOMAINS;
	st = ares_init_options(&r->ch, &ao, mask);
	if (st != ARES_SUCCESS) {
		r->ch = NULL;
		util_seterr(err, errsz, "obs_resolver_new: ares_init_options: %s", ares_strerror(st));
		goto out;
	}
	if (opts != NULL && opts->servers != NULL) {
		st = ares_set_servers_ports_csv(r->ch, opts->servers);
		if (st != ARES_SUCCESS) {
			util_seterr(err, errsz, "obs_resolver_new: servers \"%s\": %s", opts->servers,
			    ares_strerror(st));
			goto out;
		}
	}
	*out = r;
	r = NULL;
	rc = 0;
out:
	obs_resolver_free(r);
	return rc;
}

/* Host names in LDH form (underscores tolerated: they occur in the wild), or an
 * address literal; everything else is refused before c-ares sees it. */
static int
name_ok(const char *n)
{
	unsigned char buf[sizeof(struct in6_addr)];
	size_t len = strlen(n), label = 0, i;

	if (inet_pton(AF_INET, n, buf) == 1 || inet_pton(AF_INET6, n, buf) == 1)
		return 1;
	if (len > 0 && n[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)n[i];

		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
		if (++label > 63)
			return 0;
	}
	return 1;
}

int
obs_resolver_add(struct obs_resolver *r, const char *name, char *err, size_t errsz)
{
	struct name_q *q;

	if (r == NULL || name == NULL) {
		util_seterr(err, errsz, "obs_resolver_add: NULL argument");
		return -1;
	}
	if (r->ran) {
		util_seterr(err, errsz, "obs_resolver_add: the resolver has already run");
		return -1;
	}
	if (r->nq >= r->opts.max_names) {
		util_seterr(err, errsz, "obs_resolver_add: more than %zu names", r->opts.max_names);
		return -1;
	}
	if (r->nq == r->capq) {
		size_t ncap = r->capq ? r->capq * 2 : 16;
		struct name_q *nv = realloc(r->q, ncap * sizeof(*nv));

		if (nv == NULL) {
			util_seterr(err, errsz, "obs_resolver_add: out of memory");
			return -1;
		}
		r->q = nv;
		r->capq = ncap;
	}
	q = &r->q[r->nq];
	memset(q, 0, sizeof(*q));
	q->name = strdup(name);
	if (q->name == NULL) {
		util_seterr(err, errsz, "obs_resolver_add: out of memory");
		return -1;
	}
	q->r = r;
	return (int)r->nq++;
}

static void
finish(struct name_q *q, enum obs_dns_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
finish(struct name_q *q, enum obs_dns_status st, const char *fmt, ...)
{
	va_list ap;

	if (q->finished)
		return;
	q->finished = 1;
	q->r->finished++;
	if (q->started)
		q->r->inflight--;
	q->res.status = st;
	q->res.detail[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		util_vseterr(q->res.detail, sizeof(q->res.detail), fmt, ap);
		va_end(ap);
	}
}

/* Copies the addresses of one answer, without duplicates, up to max_addrs per family.
 * Returns 0 or -1 (memory). */
static int
take_addrs(struct name_q *q, const struct ares_addrinfo *ai, size_t cap)
{
	const struct ares_addrinfo_node *n;
	size_t c4 = 0, c6 = 0, j;

	for (n = ai->nodes; n != NULL; n = n->ai_next) {
		if (n->ai_family == AF_INET)
			c4++;
		else if (n->ai_family == AF_INET6)
			c6++;
	}
	c4 = c4 < cap ? c4 : cap;
	c6 = c6 < cap ? c6 : cap;
	if (c4 > 0 && (q->res.v4 = calloc(c4, sizeof(*q->res.v4))) == NULL)
		return -1;
	if (c6 > 0 && (q->res.v6 = calloc(c6, sizeof(*q->res.v6))) == NULL)
		return -1;
	for (n = ai->nodes; n != NULL; n = n->ai_next) {
		if (n->ai_family == AF_INET && q->res.n4 < c4 &&
		    n->ai_addrlen >= (ares_socklen_t)sizeof(struct sockaddr_in)) {
			const struct in_addr *a =
			    &((const struct sockaddr_in *)(const void *)n->ai_addr)->sin_addr;

			for (j = 0; j < q->res.n4; j++)
				if (memcmp(&q->res.v4[j], a, sizeof(*a)) == 0)
					break;
			if (j == q->res.n4)
				q->res.v4[q->res.n4++] = *a;
		} else if (n->ai_family == AF_INET6 && q->res.n6 < c6 &&
		    n->ai_addrlen >= (ares_socklen_t)sizeof(struct sockaddr_in6)) {
			const struct in6_addr *a =
			    &((const struct sockaddr_in6 *)(const void *)n->ai_addr)->sin6_addr;

			for (j = 0; j < q->res.n6; j++)
				if (memcmp(&q->res.v6[j], a, sizeof(*a)) == 0)
					break;
			if (j == q->res.n6)
				q->res.v6[q->res.n6++] = *a;
		}
	}
	return 0;
}

static void
on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct name_q *q = arg;
	const char *n = q->name;

	if (q->finished) {
		ares_freeaddrinfo(ai);
		return;
	}
	switch (status) {
	case ARES_SUCCESS:
		if (ai == NULL || take_addrs(q, ai, q->r->opts.max_addrs) < 0)
			finish(q, OBS_DNS_ERROR, "error: %s: out of memory", n);
		else if (q->res.n4 + q->res.n6 == 0)
			finish(q, OBS_DNS_NODATA, "NODATA: %s has no A or AAAA record", n);
		else
			finish(q, OBS_DNS_OK, NULL);
		break;
	case ARES_ENOTFOUND:
		finish(q, OBS_DNS_NXDOMAIN, "NXDOMAIN: %s does not exist", n);
		break;
	case ARES_ENODATA:
		finish(q, OBS_DNS_NODATA, "NODATA: %s has no A or AAAA record", n);
		break;
	case ARES_ESERVFAIL:
		finish(q, OBS_DNS_SERVFAIL, "SERVFAIL: the server failed to resolve %s", n);
		break;
	case ARES_EREFUSED:
		finish(q, OBS_DNS_REFUSED, "REFUSED: the server refused the query for %s", n);
		break;
	case ARES_ETIMEOUT:
		finish(q, OBS_DNS_TIMEOUT, "timeout: no answer for %s after %d tries", n,
		    timeouts);
		break;
	case ARES_ECANCELLED:
	case ARES_EDESTRUCTION:
		finish(q, OBS_DNS_TIMEOUT, "timeout: %s unanswered at the deadline", n);
		break;
	case ARES_ECONNREFUSED:
		finish(q, OBS_DNS_ERROR, "error: no DNS server could be reached for %s", n);
		break;
	case ARES_EBADNAME:
		finish(q, OBS_DNS_BADNAME, "bad-name: \"%s\" is not a host name", n);
		break;
	default:
		finish(q, OBS_DNS_ERROR, "error: %s: %s", n, ares_strerror(status));
		break;
	}
	ares_freeaddrinfo(ai);
}

/* Starts queued names while the window allows. */
static void
start_more(struct obs_resolver *r, size_t *next)
{
	struct ares_addrinfo_hints h;

	memset(&h, 0, sizeof(h));
	h.ai_family = AF_UNSPEC;
	/* Sorting would connect() a UDP socket per address to rank them: not wanted. */
	h.ai_flags = ARES_AI_NOSORT;
	while (*next < r->nq && r->inflight < r->opts.max_inflight) {
		struct name_q *q = &r->q[(*next)++];

		if (!name_ok(q->name)) {
			finish(q, OBS_DNS_BADNAME, "bad-name: \"%.100s\" is not a host name",
			    q->name);
			continue;
		}
		q->started = 1;
		r->inflight++;
		/* May call back at once (address literals, hosts file). */
		ares_getaddrinfo(r->ch, q->name, NULL, &h, on_addrinfo, q);
	}
}

int
obs_resolver_run(struct obs_resolver *r, int timeout_ms, char *err, size_t errsz)
{
	int64_t deadline;
	size_t next = 0, i;
	int rc = 0;

	if (r == NULL || timeout_ms <= 0) {
		util_seterr(err, errsz, "obs_resolver_run: NULL resolver or timeout <= 0");
		return -1;
	}
	if (r->ran) {
		util_seterr(err, errsz, "obs_resolver_run: the resolver has already run");
		return -1;
	}
	r->ran = 1;
	deadline = util_mono_us() / 1000 + timeout_ms;
	for (;;) {
		ares_socket_t socks[ARES_GETSOCK_MAXNUM];
		struct pollfd pfd[ARES_GETSOCK_MAXNUM];
		struct timeval maxtv, tv, *tvp;
		int64_t now, left;
		nfds_t nfd = 0;
		int bits, k, n, wait;

		start_more(r, &next);
		if (r->finished == r->nq)
			break;
		now = util_mono_us() / 1000;
		left = deadline - now;
		if (left <= 0)
			break;
		bits = ares_getsock(r->ch, socks, ARES_GETSOCK_MAXNUM);
		for (k = 0; k < ARES_GETSOCK_MAXNUM; k++) {
			short ev = 0;

			/* ARES_GETSOCK_WRITABLE() shifts a signed 1 into the sign bit. */
			if (((unsigned)bits >> k) & 1u)
				ev |= POLLIN;
			if (((unsigned)bits >> (k + ARES_GETSOCK_MAXNUM)) & 1u)
				ev |= POLLOUT;
			if (ev == 0)
				continue;
			pfd[nfd].fd = socks[k];
			pfd[nfd].events = ev;
			pfd[nfd].revents = 0;
			nfd++;
		}
		maxtv.tv_sec = (time_t)(left / 1000);
		maxtv.tv_usec = (suseconds_t)(left % 1000) * 1000;
		tvp = ares_timeout(r->ch, &maxtv, &tv);
		wait = (int)(tvp->tv_sec * 1000 + (tvp->tv_usec + 999) / 1000);
		n = poll(pfd, nfd, wait);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			util_seterr(err, errsz, "obs_resolver_run: poll: %s", strerror(errno));
			rc = -1;
			break;
		}
		if (n == 0) {
			/* Lets c-ares notice its own timeouts and retry or give up. */
			ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
			continue;
		}
		for (i = 0; i < (size_t)nfd; i++) {
			ares_socket_t rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;

			if (pfd[i].revents & (POLLIN | POLLERR | POLLHUP))
				rfd = pfd[i].fd;
			if (pfd[i].revents & POLLOUT)
				wfd = pfd[i].fd;
			if (rfd != ARES_SOCKET_BAD || wfd != ARES_SOCKET_BAD)
				ares_process_fd(r->ch, rfd, wfd);
		}
	}
	if (r->finished < r->nq) {
		/* Calls back every open query with ARES_ECANCELLED. */
		ares_cancel(r->ch);
		for (i = 0; i < r->nq; i++)
			finish(&r->q[i], OBS_DNS_TIMEOUT, "timeout: %s %s at the deadline",
			    r->q[i].name, r->q[i].started ? "unanswered" : "not asked");
	}
	return rc;
}

const struct obs_dns_result *
obs_resolver_result(const struct obs_resolver *r, size_t idx)
{
	if (r == NULL || idx >= r->nq)
		return NULL;
	return &r->q[idx].res;
}

void
obs_resolver_free(struct obs_resolver *r)
{
	size_t i;

	if (r == NULL)
		return;
	/* Destroying the channel calls back open queries, which still point into r->q. */
	if (r->ch != NULL)
		ares_destroy(r->ch);
	for (i = 0; i < r->nq; i++) {
		free(r->q[i].name);
		free(r->q[i].res.v4);
		free(r->q[i].res.v6);
	}
	free(r->q);
	if (r->lib_init)
		ares_library_cleanup();
	free(r);
}
