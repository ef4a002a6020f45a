/*
 * obs_dns: name resolution for the observer, and the address policy that goes with it. A
 * resolver takes many names, asks c-ares for their A and AAAA records all at once (with a
 * cap on queries in flight), and returns every address of each name, or a classified
 * failure (NXDOMAIN, no data, SERVFAIL, refused, timeout, bad name) under one overall
 * deadline. The address helpers say whether an IPv4 or IPv6 address is public or falls in
 * a special-purpose block (loopback, private, CGNAT, link-local, documentation, multicast,
 * reserved, ...), which is what `allow_private = false` refuses. Nothing here logs, and the
 * system's search domains are never appended: targets are fully qualified.
 */
#ifndef C2W_OBS_DNS_H
#define C2W_OBS_DNS_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

/* How the resolution of one name ended. */
enum obs_dns_status {
	OBS_DNS_OK = 0,
	OBS_DNS_NXDOMAIN, /* the name does not exist */
	OBS_DNS_NODATA,   /* the name exists but has no A or AAAA record */
	OBS_DNS_SERVFAIL, /* the server failed (often broken DNSSEC or a lame delegation) */
	OBS_DNS_REFUSED,  /* the server refused the query */
	OBS_DNS_TIMEOUT,  /* no answer within the tries, or the run's deadline passed */
	OBS_DNS_BADNAME,  /* not a host name or an address: nothing was asked */
	OBS_DNS_ERROR,    /* anything else (no server reachable, malformed answer, memory) */
};

/* Short fixed name of a status: "ok", "NXDOMAIN", "NODATA", "SERVFAIL", "REFUSED",
 * "timeout", "bad-name", "error". Never NULL. */
const char *obs_dns_status_name(enum obs_dns_status st);

/* The record's error kind for a status: NULL for OBS_DNS_OK, else "dns". */
const char *obs_dns_error_kind(enum obs_dns_status st);

struct obs_dns_result {
	enum obs_dns_status status;
	char detail[160];    /* e.g. "NXDOMAIN: x.example does not exist"; "" when OK */
	size_t n4, n6;       /* addresses found (duplicates removed, at most max_addrs) */
	struct in_addr *v4;  /* n4 addresses, or NULL; owned by the resolver */
	struct in6_addr *v6; /* n6 addresses, or NULL; owned by the resolver */
};

struct obs_resolver_opts {
	const char *servers;   /* "127.0.0.1:5353,[::1]:53"; NULL: the system's resolvers */
	int timeout_ms;        /* first try's timeout (c-ares backs off after); 0: 2000 */
	int tries;             /* tries per server; 0: 2 */
	int use_hosts;         /* also read the hosts file (before DNS); "localhost" needs it */
	size_t max_inflight;   /* names being resolved at once; 0: 256 */
	size_t max_addrs;      /* addresses kept per name and family; 0: 64 */
	size_t max_names;      /* names per resolver; 0: 100000 */
};

struct obs_resolver;

/*
 * Creates a resolver. `opts` may be NULL (defaults, hosts file not read). Returns 0 and
 * sets *out (free with obs_resolver_free()), or -1 with *out NULL and err naming what
 * failed (c-ares initialisation, a bad server list, memory).
 */
int obs_resolver_new(const struct obs_resolver_opts *opts, struct obs_resolver **out,
    char *err, size_t errsz);

/*
 * Queues a name (a host name, with or without the final dot, or a numeric IPv4 or IPv6
 * address, which resolves to itself without a query). The name is copied. Returns the
 * name's index for obs_resolver_result(), or -1 (too many names, memory, already run)
 * with err set. A malformed name is not an error here: its result will be BADNAME.
 */
int obs_resolver_add(struct obs_resolver *r, const char *name, char *err, size_t errsz);

/*
 * Resolves every queued name, at most max_inflight at a time, until all are answered or
 * `timeout_ms` (> 0) has passed; names still open then end as OBS_DNS_TIMEOUT. Runs once
 * per resolver. Returns 0 (each name has its own status), or -1 when the loop itself
 * failed (poll), with err set; the results are complete either way.
 */
int obs_resolver_run(struct obs_resolver *r, int timeout_ms, char *err, size_t errsz);

/* The result of name `idx`, or NULL when there is no such name. The pointer and the
 * address arrays live as long as the resolver. */
const struct obs_dns_result *obs_resolver_result(const struct obs_resolver *r, size_t idx);

/* Frees the resolver and every result; NULL is a no-op. */
void obs_resolver_free(struct obs_resolver *r);

#endif
