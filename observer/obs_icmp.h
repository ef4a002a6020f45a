/*
 * obs_icmp: ICMP and ICMPv6 echo ("ping") of many targets at once. A pinger owns at most
 * one IPv4 and one IPv6 socket and drives every target from one poll() loop: each target
 * gets `count` echo requests spaced by its interval, and the loop ends when every target
 * has its answers or has waited long enough for them, or when the caller's deadline
 * passes. It uses a raw socket when the process may (CAP_NET_RAW), else the kernel's
 * datagram ICMP socket (net.ipv4.ping_group_range). Replies are matched by sequence number
 * (unique across the pinger) and source address, and by identifier on raw sockets, where
 * the identifier is ours (datagram sockets have the kernel choose it). The pinger never
 * resolves names, never logs and never sleeps outside its loop.
 */
#ifndef C2W_OBS_ICMP_H
#define C2W_OBS_ICMP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* How the pinger reaches the network. */
enum obs_icmp_mode {
	OBS_ICMP_AUTO = 0, /* raw if permitted, else datagram */
	OBS_ICMP_RAW,
	OBS_ICMP_DGRAM,
};

struct obs_pinger_opts {
	enum obs_icmp_mode mode;
	const char *source4;  /* numeric IPv4 source address, or NULL */
	const char *source6;  /* numeric IPv6 source address, or NULL */
	int reply_wait_ms;    /* wait for the last reply after the last request; 0: 1000 */
	size_t payload_len;   /* echo data bytes, 16..1024; 0: 56 */
	size_t max_targets;   /* 0: 65536 */
	int max_pps;          /* echo requests per second, all targets together; 0: no cap */
};

/* Results of one target, kept current as echoes go out and replies come in. */
struct obs_ping_result {
	int sent;          /* echo requests the kernel accepted */
	int received;      /* distinct replies matched */
	double loss_pct;   /* 100 * (sent - received) / sent; 100 when nothing was sent */
	double rtt_avg_ms; /* mean round trip of the replies; 0 when none */
	int ttl;           /* TTL / hop limit of the last reply; -1 when unknown */
	int send_errno;    /* last errno of a refused send (EHOSTUNREACH ...), or 0 */
};

struct obs_pinger;

/*
 * Creates a pinger. The sockets are opened lazily, for the families of the targets added,
 * when obs_pinger_run() starts. `opts` may be NULL (all defaults).
 * Returns 0 and sets *out (free with obs_pinger_free()), or -1 with *out NULL and err set.
 */
int obs_pinger_new(const struct obs_pinger_opts *opts, struct obs_pinger **out, char *err,
    size_t errsz);

/*
 * Adds a target: an AF_INET or AF_INET6 address (the port is ignored), `count` echoes
 * (1..1000) spaced by `interval_ms` (0 means 1000; at least 10). The same address may be
 * added twice; each is its own target. Returns the target's index (0, 1, ...) for
 * obs_pinger_result(), or -1 (bad address or count, too many targets, no memory, or the
 * pinger has already run) with err set and the pinger unchanged.
 */
int obs_pinger_add(struct obs_pinger *p, const struct sockaddr *addr, socklen_t addrlen,
    int count, int interval_ms, char *err, size_t errsz);

/*
 * Pings every target concurrently until each is done or `timeout_ms` (> 0) has passed;
 * echoes not yet sent by then are not sent and not counted. Runs once per pinger.
 * Returns 0, or -1 when no socket could be opened for a family in use or poll() failed,
 * with err naming the socket kind and the errno text. Results are filled either way.
 */
int obs_pinger_run(struct obs_pinger *p, int timeout_ms, char *err, size_t errsz);

/* The mode the last run used (RAW or DGRAM), or AUTO before a run. */
enum obs_icmp_mode obs_pinger_mode(const struct obs_pinger *p);

/*
 * The result of target `idx`, or NULL when there is no such target. The pointer lives as
 * long as the pinger.
 */
const struct obs_ping_result *obs_pinger_result(const struct obs_pinger *p, size_t idx);

/* Frees the pinger and closes its sockets; NULL is a no-op. */
void obs_pinger_free(struct obs_pinger *p);

/* One ICMP message taken apart by obs_icmp_parse_reply(). */
struct obs_icmp_reply {
	int type;     /* ICMP or ICMPv6 type */
	uint16_t id;  /* identifier, as on the wire (datagram sockets: the kernel's) */
	uint16_t seq; /* sequence number */
	int ttl;      /* from the IPv4 header when one was present, else -1 */
	const unsigned char *data; /* echo data (points into the packet) */
	size_t data_len;
};

/*
 * Takes apart one packet as read from an ICMP socket of `family` (AF_INET or AF_INET6).
 * `with_ip_header` says whether an IPv4 header comes first (raw IPv4 sockets). Only echo
 * replies are accepted. Returns 0 and fills *out, or -1 when the packet is short, malformed,
 * not an echo reply, or (IPv4 with header) not ICMP. Exposed so tests can feed it
 * synthetic packets.
 */
int obs_icmp_parse_reply(int family, int with_ip_header, const unsigned char *pkt,
    size_t len, struct obs_icmp_reply *out);

/*
 * Offers one received packet to the pinger as its loop would: parsed, then matched to an
 * outstanding echo by sequence number, source address and (raw mode) identifier, and
 * counted once. `ttl` is the value from the control message or -1; `now_us` a
 * CLOCK_MONOTONIC time in microseconds. Returns the index of the target credited, or -1
 * when the packet was ignored. For tests and for callers that run their own loop; the
 * pinger's mode must be set (a run started, or opts.mode not AUTO).
 */
int obs_pinger_offer(struct obs_pinger *p, int family, const struct sockaddr *from,
    const unsigned char *pkt, size_t len, int ttl, int64_t now_us);

/*
 * Builds the echo request obs_pinger_run() would send for target `idx`'s next echo into
 * buf (with room for opts.payload_len + 8 bytes), records it as sent at `now_us`, and
 * returns its length; -1 when the target is done or unknown. For tests of the matching.
 */
int obs_pinger_make_request(struct obs_pinger *p, size_t idx, unsigned char *buf,
    size_t bufsz, int64_t now_us);

#endif
