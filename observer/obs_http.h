/*
 * obs_http: the observer's HTTP probe. It sends one GET per target, shaped like the
 * malware's own request (URL, port, User-Agent, Accept-Encoding), through libcurl's multi
 * interface so that many requests run at once and a hostile server delays nothing but its
 * own request. Each answer becomes the "http" object of an observation record: status,
 * reason, headers of interest, the redirect chain, the body's size, SHA-256, file type
 * (libmagic) and ssdeep (libfuzzy), or a classified failure. It only ever sends GET; it
 * never stores, logs or decides anything — the scheduler does that with the results.
 *
 * Memory is bounded: one body buffer per request in flight, capped by max_body, which is
 * also enforced on the decoded (decompressed) bytes; response headers are capped too.
 */
#ifndef C2W_OBS_HTTP_H
#define C2W_OBS_HTTP_H

#include <stddef.h>
#include <stdint.h>

/* How a probe failed; OBS_HTTP_ERR_NONE when it got an answer it could read whole. */
enum obs_http_error {
	OBS_HTTP_ERR_NONE = 0,
	OBS_HTTP_ERR_DNS,       /* the name (or the proxy's) did not resolve */
	OBS_HTTP_ERR_REFUSED,   /* TCP connect refused or unreachable */
	OBS_HTTP_ERR_TIMEOUT,   /* connect or total timeout */
	OBS_HTTP_ERR_RESET,     /* the connection was reset or closed before a whole answer */
	OBS_HTTP_ERR_TLS,       /* TLS handshake failure */
	OBS_HTTP_ERR_PROTOCOL,  /* not HTTP, bad encoding, redirect loop or too many redirects */
	OBS_HTTP_ERR_TOO_LARGE, /* the body passed max_body (after decoding) */
	OBS_HTTP_ERR_PRIVATE,   /* a connection would have gone to a private or reserved address */
};

/* The record's name for an error kind ("dns", "too-large", ...); NULL for OBS_HTTP_ERR_NONE. */
const char *obs_http_error_name(enum obs_http_error e);

/* Engine-wide settings; the engine copies what it needs at obs_http_new. */
struct obs_http_opts {
	const char *user_agent;      /* default User-Agent; NULL: none sent */
	const char *accept_encoding; /* e.g. "gzip, deflate"; NULL or "": none, no decoding */
	long connect_timeout_ms;     /* 0: 10 s */
	long timeout_ms;             /* whole request, redirects included; 0: 30 s */
	size_t max_body;             /* decoded bytes kept; 0: 5 MiB */
	int max_redirects;           /* 0: record the Location, do not follow */
	const char *proxy;           /* "socks5h://127.0.0.1:1080", http://, https://; NULL */
	const char *source_address;  /* CURLOPT_INTERFACE syntax; NULL: the system's choice */
	size_t max_inflight;         /* requests running at once; 0: 64 */
	int allow_private;           /* 0: refuse connections to non-public addresses (below) */
	/*
	 * Asked before a redirect is followed, with the absolute URL of the next hop; returns
	 * 1 to follow, 0 to stop there: the redirect answer is then the result, as with
	 * max_redirects 0 (no error). NULL: every hop is followed. Called from inside
	 * obs_http_perform.
	 */
	int (*follow)(const char *url, void *arg);
	void *follow_arg;
};

/*
 * Returns 1 when a socket address is not a public unicast one: unspecified, loopback,
 * private (RFC 1918, ULA), shared (100.64/10), link-local, multicast, documentation,
 * benchmarking, 240/4 and broadcast, and the IPv4-mapped forms of these. Without
 * allow_private the probe checks every address it connects to — the target's, each
 * redirect hop's, whatever a name resolves to — so a hostile server cannot aim it inward.
 * With a proxy the proxy does the connecting, and only the proxy's address is seen here.
 */
struct sockaddr;
int obs_http_addr_private(const struct sockaddr *sa);

/* What one probe found. */
struct obs_http_result {
	int status;         /* 0 when no status line arrived */
	char *reason;       /* reason phrase; NULL without a status line ("" on HTTP/2) */
	char *content_type; /* header values of the final response; NULL when absent */
	char *server;
	char *location;     /* the final response's Location, as sent */
	char **redirects;   /* each URL followed (resolved), in order; the result is the last's */
	size_t nredirects;
	/*
	 * has_body is 1 when a whole answer arrived, or with OBS_HTTP_ERR_TOO_LARGE its first
	 * max_body decoded bytes (truncated is then 1). It is 0 when there was no answer or it
	 * broke off (timeout, reset, ...): a part is no evidence of the content, so size is 0,
	 * sha256 "", filetype and ssdeep NULL — the record shows them as null.
	 */
	int has_body;
	uint64_t size;      /* decoded body bytes kept (at most max_body) */
	int truncated;      /* 1 when the body was cut at max_body */
	char sha256[65];    /* hex, of the kept body */
	char *filetype;     /* libmagic's description of the kept body; NULL if it failed */
	char *ssdeep;       /* ssdeep of the kept body; NULL if it failed */
	char *tls_sha256;   /* hex SHA-256 of the peer certificate (DER); NULL without TLS */
	int64_t elapsed_ms; /* from the start (name lookup included) to the end, all hops */
	char primary_ip[64]; /* numeric address the last hop connected to (the proxy's with a
			      * proxy); "" when no connection was made */
	enum obs_http_error error;
	char error_detail[256]; /* human text when error != OBS_HTTP_ERR_NONE, else "" */
	const char *body;   /* only with OBS_HTTP_KEEP_BODY: the kept body, NUL-terminated */
};

/* Request flags. */
#define OBS_HTTP_KEEP_BODY 0x1 /* expose the body in the result */
#define OBS_HTTP_ROBOTS 0x2    /* GET /robots.txt of the URL's origin, capped at 500 KiB */

/* Called once per finished request from inside obs_http_perform. `res` and everything it
 * points to live only until the callback returns. The callback must not call
 * obs_http_perform or obs_http_free; it may call obs_http_add. */
typedef void (*obs_http_done_fn)(void *arg, const struct obs_http_result *res);

struct obs_http_req {
	const char *url;        /* http:// or https:// */
	const char *user_agent; /* NULL: the engine's default */
	int port;               /* 0: the URL's own; else overrides it for the first hop */
	unsigned flags;         /* OBS_HTTP_* */
	obs_http_done_fn done;
	void *arg;
};

struct obs_http;

/*
 * Creates an engine. Returns it, or NULL with a message in err (errlen bytes) when the
 * options are unusable (max_body over 1 GiB, negative max_redirects) or libcurl or
 * libmagic cannot be set up. The caller owns it and frees it with obs_http_free.
 * Call curl_global_init once in the program before the first engine.
 */
struct obs_http *obs_http_new(const struct obs_http_opts *opts, char *err, size_t errlen);

/* Frees the engine; requests still queued or running are dropped without their callback.
 * NULL is a no-op. */
void obs_http_free(struct obs_http *h);

/*
 * Queues a request (strings are copied). Returns 0, or -1 with a message in err when the
 * request is invalid (no URL, a scheme other than http/https) or memory runs out; the
 * callback then never runs.
 */
int obs_http_add(struct obs_http *h, const struct obs_http_req *req, char *err, size_t errlen);

/*
 * Starts queued requests up to max_inflight, moves the running ones on, and calls the
 * callbacks of those that end. Waits at most wait_ms for network activity. Returns the
 * number of requests still queued or running (0: idle), or -1 on a failure of the engine
 * itself (libcurl, memory; message in err): the request that met it is dropped without
 * its callback, the others stay and a later call may go on with them.
 */
int obs_http_perform(struct obs_http *h, long wait_ms, char *err, size_t errlen);

/* Runs obs_http_perform until no request is left. Returns 0 or -1 (message in err). */
int obs_http_run(struct obs_http *h, char *err, size_t errlen);

/* Counters, for tests and the operator's statistics. */
struct obs_http_stats {
	uint64_t done;          /* requests finished */
	uint64_t analysed;      /* bodies given to libmagic and ssdeep */
	uint64_t cache_hits;    /* bodies whose analysis came from the SHA-256 cache */
};

/* Copies the engine's counters into st. */
void obs_http_get_stats(const struct obs_http *h, struct obs_http_stats *st);

/* Frees what a result owns (obs_http_result_copy and obs_http_robots_get fill one).
 * NULL is a no-op; the result is all zero afterwards. */
void obs_http_result_fini(struct obs_http_result *res);

/*
 * Deep-copies a result (typically the one a callback receives) into dst, which the caller
 * then owns and releases with obs_http_result_fini; the body is not copied (dst->body is
 * NULL). Returns 0, or -1 when memory runs out (dst is then all zero).
 */
int obs_http_result_copy(struct obs_http_result *dst, const struct obs_http_result *src);

/*
 * Fetches robots.txt of the origin of `url` synchronously with the engine's settings
 * (a separate one-request engine built from opts): GET /robots.txt, redirects per opts,
 * body capped at 500 KiB. On return 0 `res` holds the outcome (status 0 and res->error set
 * when there was no answer) and `body` the body bytes (cleared first; it owns its storage);
 * the caller calls obs_http_result_fini(res) and util_buf_fini(body). Returns -1 with a
 * message in err when the request could not be made at all (then nothing needs freeing).
 * The rules themselves are interpreted elsewhere.
 */
struct util_buf;
int obs_http_robots_get(const struct obs_http_opts *opts, const char *url,
    const char *user_agent, int port, struct obs_http_result *res, struct util_buf *body,
    char *err, size_t errlen);

#endif
