/*
 * obs_http: the HTTP probe on libcurl's multi interface. Redirects are followed here, hop
 * by hop, rather than by libcurl, so that every hop is recorded, loops are recognised as
 * such, and the whole chain shares one total timeout.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <netinet/in.h>

#include <curl/curl.h>
#include <fuzzy.h>
#include <magic.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "observer/obs_http.h"
#include "util/util.h"

#define OBS_HTTP_DEFAULT_CONNECT_MS 10000L
#define OBS_HTTP_DEFAULT_TIMEOUT_MS 30000L
#define OBS_HTTP_DEFAULT_MAX_BODY ((size_t)5 << 20)
#define OBS_HTTP_MAX_BODY_LIMIT ((size_t)1 << 30) /* ssdeep takes 32-bit lengths */
#define OBS_HTTP_DEFAULT_INFLIGHT 64
#define OBS_HTTP_HEADER_MAX (64 * 1024)         /* all header lines of one response */
#define OBS_HTTP_VALUE_MAX 1024                 /* one recorded header value */
#define OBS_HTTP_ROBOTS_MAX ((size_t)500 * 1024)
#define OBS_HTTP_MAGIC_MAX ((size_t)1 << 20)    /* bytes shown to libmagic */
#define OBS_HTTP_CACHE_SIZE 128

struct obs_req {
	struct obs_req *prev, *next; /* the queue, then the running list */
	struct obs_http *h;
	char *url; /* the first hop, port and robots path applied */
	char *user_agent;
	unsigned flags;
	obs_http_done_fn done;
	void *arg;

	CURL *easy;
	char errbuf[CURL_ERROR_SIZE];
	char **visited; /* effective URL of every hop so far, to recognise loops */
	size_t nvisited;
	int64_t start_ms;
	size_t max_body;
	struct util_buf body;
	size_t header_bytes;
	int header_overflow;
	int oom; /* a callback ran out of memory: a local failure, not the server's */
	char refused_addr[INET6_ADDRSTRLEN]; /* set when a private address was refused */
	curl_socket_t refused_fd;            /* the socket that must not connect */
	struct obs_http_result res;
};

struct obs_cache_entry {
	int used;
	unsigned char sha[UTIL_SHA256_LEN];
	char *filetype;
	char *ssdeep;
};

struct obs_http {
	CURLM *multi;
	magic_t magic;
	char *user_agent, *accept_encoding, *proxy, *source_address;
	long connect_timeout_ms, timeout_ms;
	size_t max_body;
	int max_redirects;
	size_t max_inflight;
	int allow_private;
	int (*follow)(const char *url, void *arg);
	void *follow_arg;

	struct obs_req *queue_head, *queue_tail;
	size_t queued;
	struct obs_req *running;
	size_t inflight;

	struct obs_cache_entry cache[OBS_HTTP_CACHE_SIZE];
	size_t cache_next;
	struct obs_http_stats stats;
};

static const char *const obs_http_error_names[] = {
	[OBS_HTTP_ERR_NONE] = NULL,
	[OBS_HTTP_ERR_DNS] = "dns",
	[OBS_HTTP_ERR_REFUSED] = "refused",
	[OBS_HTTP_ERR_TIMEOUT] = "timeout",
	[OBS_HTTP_ERR_RESET] = "reset",
	[OBS_HTTP_ERR_TLS] = "tls",
	[OBS_HTTP_ERR_PROTOCOL] = "protocol",
	[OBS_HTTP_ERR_TOO_LARGE] = "too-large",
	[OBS_HTTP_ERR_PRIVATE] = "private-address",
};

const char *
obs_http_error_name(enum obs_http_error e)
{
	if ((size_t)e >= sizeof(obs_http_error_names) / sizeof(obs_http_error_names[0]))
		return NULL;
	return obs_http_error_names[e];
}


/* strdup that treats NULL and "" alike as absent. */
static int
obs_dup_opt(const char *s, char **out)
{
	*out = NULL;
	if (s == NULL || *s == '\0')
		return 0;
	*out = strdup(s);
	return *out == NULL ? -1 : 0;
}

/* Copies a header value for the record: at most OBS_HTTP_VALUE_MAX bytes, surrounding
 * blanks removed, control bytes other than tab replaced by "?", so a hostile server cannot
 * smuggle line breaks or terminal escapes into what operators read. */
static char *
obs_dup_value(const char *p, size_t n)
{
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' ' ||
			    p[n - 1] == '\t'))
		n--;
	if (n > OBS_HTTP_VALUE_MAX)
		n = OBS_HTTP_VALUE_MAX;
	char *s = malloc(n + 1);
	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		s[i] = ((c < 0x20 && c != '\t') || c == 0x7f) ? '?' : (char)c;
	}
	s[n] = '\0';
	return s;
}

static void
obs_result_clear_response(struct obs_http_result *r)
{
	free(r->reason);
	free(r->content_type);
	free(r->server);
	free(r->location);
	r->reason = r->content_type = r->server = r->location = NULL;
	r->status = 0;
}

void
obs_http_result_fini(struct obs_http_result *res)
{
	if (res == NULL)
		return;
	obs_result_clear_response(res);
	for (size_t i = 0; i < res->nredirects; i++)
		free(res->redirects[i]);
	free(res->redirects);
	free(res->filetype);
	free(res->ssdeep);
	free(res->tls_sha256);
	memset(res, 0, sizeof(*res));
}

static int
obs_v4_private(uint32_t a)
{
	static const struct {
		uint32_t net, mask;
	} nets[] = {
		{0x00000000, 0xff000000}, /* 0/8 */
		{0x0a000000, 0xff000000}, /* 10/8 */
		{0x64400000, 0xffc00000}, /* 100.64/10 */
		{0x7f000000, 0xff000000}, /* 127/8 */
		{0xa9fe0000, 0xffff0000}, /* 169.254/16 */
		{0xac100000, 0xfff00000}, /* 172.16/12 */
		{0xc0000000, 0xffffff00}, /* 192.0.0/24 */
		{0xc0000200, 0xffffff00}, /* 192.0.2/24 */
		{0xc0a80000, 0xffff0000}, /* 192.168/16 */
		{0xc6120000, 0xfffe0000}, /* 198.18/15 */
		{0xc6336400, 0xffffff00}, /* 198.51.100/24 */
		{0xcb007100, 0xffffff00}, /* 203.0.113/24 */
		{0xe0000000, 0xe0000000}, /* 224/4 multicast, 240/4 reserved, broadcast */
	};
	for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++)
		if ((a & nets[i].mask) == nets[i].net)
			return 1;
	return 0;
}

int
obs_http_addr_private(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
		return obs_v4_private(ntohl(s4->sin_addr.s_addr));
	}
	if (sa->sa_family != AF_INET6)
		return 1;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
	const unsigned char *b = s6->sin6_addr.s6_addr;
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const unsigned char zero[15] = {0};
	if (memcmp(b, mapped, 12) == 0)
		return obs_v4_private((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
				      (uint32_t)b[14] << 8 | b[15]);
	if (memcmp(b, zero, 15) == 0)
		return 1;                          /* :: and ::1 */
	if ((b[0] & 0xfe) == 0xfc)                 /* fc00::/7 */
		return 1;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) /* fe80::/10 */
		return 1;
	if (b[0] == 0xff)                          /* multicast */
		return 1;
	if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) /* 2001:db8::/32 */
		return 1;
	return 0;
}

/* libcurl opensocket callback: the one place every connection passes, so the address
 * check also covers redirect hops and names resolved by libcurl. Refusing here would only
 * make libcurl wait for its connect timeout, so the socket is made and marked, and the
 * sockopt callback, which runs before connect, aborts the transfer at once. */
static curl_socket_t
obs_opensocket_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct obs_req *q = clientp;
	struct sockaddr_storage ss;

	(void)purpose;
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, &a->addr, a->addrlen < sizeof(ss) ? a->addrlen : sizeof(ss));
	if (!q->h->allow_private && q->h->proxy == NULL &&
	    obs_http_addr_private((struct sockaddr *)&ss)) {
		const void *in = ss.ss_family == AF_INET6
				     ? (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
				     : (const void *)&((struct sockaddr_in *)&ss)->sin_addr;
		if (inet_ntop(ss.ss_family, in, q->refused_addr, sizeof(q->refused_addr)) == NULL)
			snprintf(q->refused_addr, sizeof(q->refused_addr), "?");
		q->refused_fd = socket(a->family, a->socktype, a->protocol);
		return q->refused_fd;
	}
	return socket(a->family, a->socktype, a->protocol);
}

static int
obs_sockopt_cb(void *clientp, curl_socket_t fd, curlsocktype purpose)
{
	struct obs_req *q = clientp;

	(void)purpose;
	return fd == q->refused_fd ? CURL_SOCKOPT_ERROR : CURL_SOCKOPT_OK;
}

/* libcurl header callback: parses the status line and keeps the headers of interest of
 * the latest response (1xx and earlier responses are forgotten at each status line). */
static size_t
obs_header_cb(char *p, size_t size, size_t n, void *userdata)
{
	struct obs_req *q = userdata;
	struct obs_http_result *r = &q->res;

	n *= size;
	q->header_bytes += n;
	if (q->header_bytes > OBS_HTTP_HEADER_MAX) {
		q->header_overflow = 1;
		return 0;
	}
	if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		size_t i = 5;
		obs_result_clear_response(r);
		while (i < n && p[i] != ' ')
			i++;
		while (i < n && p[i] == ' ')
			i++;
		int status = 0, digits = 0;
		while (i < n && digits < 3 && isdigit((unsigned char)p[i])) {
			status = status * 10 + (p[i++] - '0');
			digits++;
		}
		if (digits == 3)
			r->status = status;
		if (i < n && p[i] == ' ')
			i++;
		r->reason = obs_dup_value(p + i, n - i);
		q->oom |= r->reason == NULL;
		return r->reason == NULL ? 0 : n;
	}
	static const struct {
		const char *name;
		size_t len;
		size_t field;
	} wanted[] = {
		{"content-type:", 13, offsetof(struct obs_http_result, content_type)},
		{"server:", 7, offsetof(struct obs_http_result, server)},
		{"location:", 9, offsetof(struct obs_http_result, location)},
	};
	for (size_t w = 0; w < sizeof(wanted) / sizeof(wanted[0]); w++) {
		if (n < wanted[w].len || strncasecmp(p, wanted[w].name, wanted[w].len) != 0)
			continue;
		char **slot = (char **)((char *)r + wanted[w].field);
		free(*slot);
		*slot = obs_dup_value(p + wanted[w].len, n - wanted[w].len);
		q->oom |= *slot == NULL;
		return *slot == NULL ? 0 : n;
	}
	return n;
}

/* libcurl write callback: receives decoded body bytes. The cap applies to what was
 * decoded, so a small compressed answer cannot inflate past max_body. */
static size_t
obs_write_cb(char *p, size_t size, size_t n, void *userdata)
{
	struct obs_req *q = userdata;
	size_t room = q->max_body - q->body.len;

	n *= size;
	if (n > room) {
		if (room > 0 && util_buf_add(&q->body, p, room) != 0) {
			q->oom = 1;
			return 0;
		}
		q->res.truncated = 1;
		return 0;
	}
	if (n > 0 && util_buf_add(&q->body, p, n) != 0) {
		q->oom = 1;
		return 0;
	}
	return n;
}

static void
obs_req_free(struct obs_req *q)
{
	if (q == NULL)
		return;
	if (q->easy != NULL)
		curl_easy_cleanup(q->easy);
	for (size_t i = 0; i < q->nvisited; i++)
		free(q->visited[i]);
	free(q->visited);
	free(q->url);
	free(q->user_agent);
	util_buf_fini(&q->body);
	obs_http_result_fini(&q->res);
	free(q);
}

struct obs_http *
obs_http_new(const struct obs_http_opts *opts, char *err, size_t errlen)
{
	struct obs_http *h = calloc(1, sizeof(*h));

	if (h == NULL) {
		util_seterr(err, errlen, "obs_http_new: out of memory");
		return NULL;
	}
	if (obs_dup_opt(opts->user_agent, &h->user_agent) != 0 ||
	    obs_dup_opt(opts->accept_encoding, &h->accept_encoding) != 0 ||
	    obs_dup_opt(opts->proxy, &h->proxy) != 0 ||
	    obs_dup_opt(opts->source_address, &h->source_address) != 0) {
		util_seterr(err, errlen, "obs_http_new: out of memory");
		goto fail;
	}
	h->connect_timeout_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms
							     : OBS_HTTP_DEFAULT_CONNECT_MS;
	h->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : OBS_HTTP_DEFAULT_TIMEOUT_MS;
	h->max_body = opts->max_body > 0 ? opts->max_body : OBS_HTTP_DEFAULT_MAX_BODY;
	if (h->max_body > OBS_HTTP_MAX_BODY_LIMIT) {
		util_seterr(err, errlen, "obs_http_new: max_body %zu is over the limit of %zu",
		    h->max_body, OBS_HTTP_MAX_BODY_LIMIT);
		goto fail;
	}
	if (opts->max_redirects < 0) {
		util_seterr(err, errlen, "obs_http_new: max_redirects is negative");
		goto fail;
	}
	h->max_redirects = opts->max_redirects;
	h->max_inflight = opts->max_inflight > 0 ? opts->max_inflight : OBS_HTTP_DEFAULT_INFLIGHT;
	h->allow_private = opts->allow_private;
	h->follow = opts->follow;
	h->follow_arg = opts->follow_arg;
	h->multi = curl_multi_init();
	if (h->multi == NULL) {
		util_seterr(err, errlen, "obs_http_new: curl_multi_init failed");
		goto fail;
	}
	h->magic = magic_open(MAGIC_NONE);
	if (h->magic == NULL) {
		util_seterr(err, errlen, "obs_http_new: magic_open: %s", strerror(errno));
		goto fail;
	}
	if (magic_load(h->magic, NULL) != 0) {
		util_seterr(err, errlen, "obs_http_new: magic_load: %s", magic_error(h->magic));
		goto fail;
	}
	return h;
fail:
	obs_http_free(h);
	return NULL;
}

void
obs_http_free(struct obs_http *h)
{
	if (h == NULL)
		return;
	while (h->running != NULL) {
		struct obs_req *q = h->running;
		h->running = q->next;
		curl_multi_remove_handle(h->multi, q->easy);
		obs_req_free(q);
	}
	while (h->queue_head != NULL) {
		struct obs_req *q = h->queue_head;
		h->queue_head = q->next;
		obs_req_free(q);
	}
	if (h->multi != NULL)
		curl_multi_cleanup(h->multi);
	if (h->magic != NULL)
		magic_close(h->magic);
	for (size_t i = 0; i < OBS_HTTP_CACHE_SIZE; i++) {
		free(h->cache[i].filetype);
		free(h->cache[i].ssdeep);
	}
	free(h->user_agent);
	free(h->accept_encoding);
	free(h->proxy);
	free(h->source_address);
	free(h);
}

/* Builds the first hop's URL: checks the scheme, applies the port override and, for
 * robots.txt, the path. Returns a malloc'd URL or NULL with err set. */
static char *
obs_first_url(const struct obs_http_req *req, char *err, size_t errlen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *out = NULL, *res = NULL;
	CURLUcode uc;

	if (u == NULL) {
		util_seterr(err, errlen, "obs_http_add: out of memory");
		goto out;
	}
	uc = curl_url_set(u, CURLUPART_URL, req->url, 0);
	if (uc != CURLUE_OK) {
		util_seterr(err, errlen, "obs_http_add: bad URL \"%s\": %s", req->url,
		    curl_url_strerror(uc));
		goto out;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		util_seterr(err, errlen, "obs_http_add: URL \"%s\" is not http or https", req->url);
		goto out;
	}
	if (req->port < 0 || req->port > 65535) {
		util_seterr(err, errlen, "obs_http_add: bad port %d", req->port);
		goto out;
	}
	if (req->port > 0) {
		char port[8];
		snprintf(port, sizeof(port), "%d", req->port);
		if (curl_url_set(u, CURLUPART_PORT, port, 0) != CURLUE_OK) {
			util_seterr(err, errlen, "obs_http_add: cannot set port %d", req->port);
			goto out;
		}
	}
	if ((req->flags & OBS_HTTP_ROBOTS) &&
	    (curl_url_set(u, CURLUPART_PATH, "/robots.txt", 0) != CURLUE_OK ||
		curl_url_set(u, CURLUPART_QUERY, NULL, 0) != CURLUE_OK ||
		curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK)) {
		util_seterr(err, errlen, "obs_http_add: cannot build robots.txt URL of \"%s\"",
		    req->url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_URL, &out, 0) != CURLUE_OK) {
		util_seterr(err, errlen, "obs_http_add: cannot rebuild URL \"%s\"", req->url);
		goto out;
	}
	res = strdup(out);
	if (res == NULL)
		util_seterr(err, errlen, "obs_http_add: out of memory");
out:
	curl_free(scheme);
	curl_free(out);
	curl_url_cleanup(u);
	return res;
}

int
obs_http_add(struct obs_http *h, const struct obs_http_req *req, char *err, size_t errlen)
{
	struct obs_req *q = NULL;

	if (req->url == NULL || req->done == NULL) {
		util_seterr(err, errlen, "obs_http_add: no URL or no callback");
		return -1;
	}
	q = calloc(1, sizeof(*q));
	if (q == NULL) {
		util_seterr(err, errlen, "obs_http_add: out of memory");
		return -1;
	}
	q->h = h;
	q->flags = req->flags;
	q->done = req->done;
	q->arg = req->arg;
	q->max_body = (req->flags & OBS_HTTP_ROBOTS) ? OBS_HTTP_ROBOTS_MAX : h->max_body;
	util_buf_init(&q->body, q->max_body);
	q->url = obs_first_url(req, err, errlen);
	if (q->url == NULL)
		goto fail;
	if (obs_dup_opt(req->user_agent ? req->user_agent : h->user_agent, &q->user_agent) != 0) {
		util_seterr(err, errlen, "obs_http_add: out of memory");
		goto fail;
	}
	if (h->queue_tail != NULL)
		h->queue_tail->next = q;
	else
		h->queue_head = q;
	q->prev = h->queue_tail;
	h->queue_tail = q;
	h->queued++;
	return 0;
fail:
	obs_req_free(q);
	return -1;
}

/* Sets the options of one hop on the request's easy handle. */
static int
obs_hop_setup(struct obs_req *q, const char *url)
{
	struct obs_http *h = q->h;
	CURL *e = q->easy;
	long left = h->timeout_ms - (long)(util_mono_us() / 1000 - q->start_ms);
	int https = strncasecmp(url, "https:", 6) == 0;
	CURLcode c = CURLE_OK;

	if (left < 1)
		left = 1;
	q->header_bytes = 0;
	q->header_overflow = 0;
	q->oom = 0;
	q->refused_addr[0] = '\0';
	q->refused_fd = CURL_SOCKET_BAD;
	q->res.truncated = 0;
	free(q->res.tls_sha256);
	q->res.tls_sha256 = NULL;
	util_buf_reset(&q->body);
	obs_result_clear_response(&q->res);
	q->errbuf[0] = '\0';

#define SET(opt, val)                                                                       \
	do {                                                                                \
		if (c == CURLE_OK)                                                          \
			c = curl_easy_setopt(e, opt, val);                                  \
	} while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_TIMEOUT_MS, left);
	SET(CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms < left ? h->connect_timeout_ms : left);
	SET(CURLOPT_CERTINFO, https ? 1L : 0L);
#undef SET
	return c == CURLE_OK ? 0 : -1;
}

/* Creates the easy handle of a request leaving the queue. Returns 0 or -1. */
static int
obs_req_start(struct obs_req *q)
{
	struct obs_http *h = q->h;
	CURLcode c = CURLE_OK;

	q->easy = curl_easy_init();
	if (q->easy == NULL)
		return -1;
	CURL *e = q->easy;
#define SET(opt, val)                                                                       \
	do {                                                                                \
		if (c == CURLE_OK)                                                          \
			c = curl_easy_setopt(e, opt, val);                                  \
	} while (0)
	SET(CURLOPT_PRIVATE, q);
	SET(CURLOPT_ERRORBUFFER, q->errbuf);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_HTTPGET, 1L);
	SET(CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SET(CURLOPT_HTTP09_ALLOWED, 0L);
	/* Each observation is a connection of its own, as the malware would open it. */
	SET(CURLOPT_FORBID_REUSE, 1L);
	SET(CURLOPT_FRESH_CONNECT, 1L);
	/* libcurl prunes its DNS cache by walking every entry before each connect, which
	 * with thousands of hosts (numeric ones are never pruned) costs more than the
	 * requests. The cycle makes one engine per window, so its cache never prunes and
	 * never outgrows a window: a name is looked up once per engine. */
	SET(CURLOPT_DNS_CACHE_TIMEOUT, -1L);
	/* C2 servers' certificates are recorded, not trusted or judged. */
	SET(CURLOPT_SSL_VERIFYPEER, 0L);
	SET(CURLOPT_SSL_VERIFYHOST, 0L);
	SET(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
	SET(CURLOPT_HEADERFUNCTION, obs_header_cb);
	SET(CURLOPT_HEADERDATA, q);
	SET(CURLOPT_WRITEFUNCTION, obs_write_cb);
	SET(CURLOPT_WRITEDATA, q);
	SET(CURLOPT_OPENSOCKETFUNCTION, obs_opensocket_cb);
	SET(CURLOPT_OPENSOCKETDATA, q);
	SET(CURLOPT_SOCKOPTFUNCTION, obs_sockopt_cb);
	SET(CURLOPT_SOCKOPTDATA, q);
	if (q->user_agent != NULL)
		SET(CURLOPT_USERAGENT, q->user_agent);
	if (h->accept_encoding != NULL)
		SET(CURLOPT_ACCEPT_ENCODING, h->accept_encoding);
	if (h->proxy != NULL)
		SET(CURLOPT_PROXY, h->proxy);
	else
		SET(CURLOPT_PROXY, ""); /* ignore *_proxy variables: the vantage is explicit */
	if (h->source_address != NULL)
		SET(CURLOPT_INTERFACE, h->source_address);
#undef SET
	if (c != CURLE_OK)
		return -1;
	q->start_ms = util_mono_us() / 1000;
	if (obs_hop_setup(q, q->url) != 0)
		return -1;
	return curl_multi_add_handle(h->multi, e) == CURLM_OK ? 0 : -1;
}

/* Maps a SOCKS proxy's answer about the target to the record's error kinds: through a
 * proxy, the proxy's failure to reach the target is the target's result. */
static enum obs_http_error
obs_classify_proxy(struct obs_req *q)
{
	long px = CURLPX_OK;

	curl_easy_getinfo(q->easy, CURLINFO_PROXY_ERROR, &px);
	switch (px) {
	case CURLPX_RESOLVE_HOST:
		return OBS_HTTP_ERR_DNS;
	case CURLPX_REPLY_CONNECTION_REFUSED:
	case CURLPX_REPLY_HOST_UNREACHABLE:
	case CURLPX_REPLY_NETWORK_UNREACHABLE:
		return OBS_HTTP_ERR_REFUSED;
	case CURLPX_REPLY_TTL_EXPIRED:
		return OBS_HTTP_ERR_TIMEOUT;
	default:
		return OBS_HTTP_ERR_PROTOCOL;
	}
}

/* Maps a libcurl failure to the record's error kinds. */
static enum obs_http_error
obs_classify(struct obs_req *q, CURLcode code)
{
	long oserr = 0;

	curl_easy_getinfo(q->easy, CURLINFO_OS_ERRNO, &oserr);
	switch (code) {
	case CURLE_PROXY:
		return obs_classify_proxy(q);
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return OBS_HTTP_ERR_DNS;
	case CURLE_COULDNT_CONNECT:
		return oserr == ETIMEDOUT ? OBS_HTTP_ERR_TIMEOUT : OBS_HTTP_ERR_REFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return OBS_HTTP_ERR_TIMEOUT;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return OBS_HTTP_ERR_RESET;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_USE_SSL_FAILED:
		return OBS_HTTP_ERR_TLS;
	case CURLE_FILESIZE_EXCEEDED:
		return OBS_HTTP_ERR_TOO_LARGE;
	case CURLE_WRITE_ERROR:
		return q->res.truncated ? OBS_HTTP_ERR_TOO_LARGE : OBS_HTTP_ERR_PROTOCOL;
	default:
		return OBS_HTTP_ERR_PROTOCOL;
	}
}

/* Computes sha256, filetype and ssdeep of the kept body; the last two come from the
 * cache when this content was seen before. Returns 0 or -1 (out of memory). */
static int
obs_analyse(struct obs_http *h, struct obs_req *q)
{
	struct obs_http_result *r = &q->res;
	unsigned char sha[UTIL_SHA256_LEN];
	const char *data = q->body.data ? q->body.data : "";

	if (util_sha256(data, q->body.len, sha) != 0)
		return -1;
	util_hex(sha, sizeof(sha), r->sha256);
	r->size = q->body.len;
	r->has_body = 1;
	for (size_t i = 0; i < OBS_HTTP_CACHE_SIZE; i++) {
		struct obs_cache_entry *c = &h->cache[i];
		if (c->used && memcmp(c->sha, sha, sizeof(sha)) == 0) {
			h->stats.cache_hits++;
			r->filetype = c->filetype ? strdup(c->filetype) : NULL;
			r->ssdeep = c->ssdeep ? strdup(c->ssdeep) : NULL;
			return 0;
		}
	}
	h->stats.analysed++;
	const char *type =
	    magic_buffer(h->magic, data, q->body.len < OBS_HTTP_MAGIC_MAX ? q->body.len
									  : OBS_HTTP_MAGIC_MAX);
	char fz[FUZZY_MAX_RESULT];
	int fzok = fuzzy_hash_buf((const unsigned char *)data, (uint32_t)q->body.len, fz) == 0;
	struct obs_cache_entry *c = &h->cache[h->cache_next];
	h->cache_next = (h->cache_next + 1) % OBS_HTTP_CACHE_SIZE;
	free(c->filetype);
	free(c->ssdeep);
	c->used = 1;
	memcpy(c->sha, sha, sizeof(sha));
	c->filetype = type ? strdup(type) : NULL;
	c->ssdeep = fzok ? strdup(fz) : NULL;
	if ((type && c->filetype == NULL) || (fzok && c->ssdeep == NULL)) {
		c->used = 0;
		return -1;
	}
	r->filetype = c->filetype ? strdup(c->filetype) : NULL;
	r->ssdeep = c->ssdeep ? strdup(c->ssdeep) : NULL;
	if ((c->filetype && r->filetype == NULL) || (c->ssdeep && r->ssdeep == NULL))
		return -1;
	return 0;
}

/* SHA-256 of the leaf certificate's DER, from libcurl's certificate info (PEM text). */
static void
obs_tls_fingerprint(struct obs_req *q)
{
	struct curl_certinfo *ci = NULL;

	if (curl_easy_getinfo(q->easy, CURLINFO_CERTINFO, &ci) != CURLE_OK || ci == NULL ||
	    ci->num_of_certs < 1)
		return;
	for (struct curl_slist *s = ci->certinfo[0]; s != NULL; s = s->next) {
		if (strncmp(s->data, "Cert:", 5) != 0)
			continue;
		BIO *bio = BIO_new_mem_buf(s->data + 5, -1);
		X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
		unsigned char *der = NULL;
		int len = x ? i2d_X509(x, &der) : -1;
		unsigned char sha[UTIL_SHA256_LEN];
		if (len > 0 && util_sha256(der, (size_t)len, sha) == 0) {
			q->res.tls_sha256 = malloc(2 * UTIL_SHA256_LEN + 1);
			if (q->res.tls_sha256 != NULL)
				util_hex(sha, sizeof(sha), q->res.tls_sha256);
		}
		OPENSSL_free(der);
		X509_free(x);
		BIO_free(bio);
		return;
	}
}

static void
obs_running_unlink(struct obs_http *h, struct obs_req *q)
{
	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		h->running = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	q->prev = q->next = NULL;
	h->inflight--;
}

static void
obs_req_finish(struct obs_http *h, struct obs_req *q)
{
	curl_multi_remove_handle(h->multi, q->easy);
	obs_running_unlink(h, q);
	q->res.elapsed_ms = util_mono_us() / 1000 - q->start_ms;
	if ((q->flags & OBS_HTTP_KEEP_BODY) && q->res.has_body)
		q->res.body = q->body.data ? q->body.data : "";
	h->stats.done++;
	q->done(q->arg, &q->res);
	obs_req_free(q);
}

__attribute__((format(printf, 3, 4))) static void
obs_fail(struct obs_req *q, enum obs_http_error e, const char *fmt, ...)
{
	va_list ap;

	q->res.error = e;
	va_start(ap, fmt);
	util_vseterr(q->res.error_detail, sizeof(q->res.error_detail), fmt, ap);
	va_end(ap);
}

/*
 * Whether a complete answer is a redirect to follow: returns the next URL (owned by the
 * easy handle, valid until it is changed), or NULL when this answer is the result — not a
 * redirect, following disabled, or a loop, a bad target, too many hops or no time left,
 * which set the error.
 */
static const char *
obs_next_hop(struct obs_http *h, struct obs_req *q)
{
	int st = q->res.status;
	char *next = NULL;

	if (!(st == 301 || st == 302 || st == 303 || st == 307 || st == 308) ||
	    q->res.location == NULL || h->max_redirects == 0)
		return NULL;
	curl_easy_getinfo(q->easy, CURLINFO_REDIRECT_URL, &next);
	if (next == NULL) {
		obs_fail(q, OBS_HTTP_ERR_PROTOCOL, "unusable Location \"%s\"", q->res.location);
		return NULL;
	}
	if (strncasecmp(next, "http://", 7) != 0 && strncasecmp(next, "https://", 8) != 0) {
		obs_fail(q, OBS_HTTP_ERR_PROTOCOL, "redirect to a scheme other than http(s): \"%s\"",
		    next);
		return NULL;
	}
	if (h->follow != NULL && !h->follow(next, h->follow_arg))
		return NULL;
	for (size_t i = 0; i < q->nvisited; i++) {
		if (strcmp(q->visited[i], next) == 0) {
			obs_fail(q, OBS_HTTP_ERR_PROTOCOL, "redirect loop back to %s", next);
			return NULL;
		}
	}
	if (q->res.nredirects >= (size_t)h->max_redirects) {
		obs_fail(q, OBS_HTTP_ERR_PROTOCOL, "more than %d redirects", h->max_redirects);
		return NULL;
	}
	if (util_mono_us() / 1000 - q->start_ms >= h->timeout_ms) {
		obs_fail(q, OBS_HTTP_ERR_TIMEOUT, "timeout of %ld ms reached while redirected",
		    h->timeout_ms);
		return NULL;
	}
	return next;
}

/*
 * Decides whether a finished hop is followed. Returns 1 when the next hop has been set
 * up and re-added, 0 when the request is over (result filled in), -1 on a local failure.
 */
static int
obs_hop_done(struct obs_http *h, struct obs_req *q, CURLcode code)
{
	char *eff = NULL;

	curl_easy_getinfo(q->easy, CURLINFO_EFFECTIVE_URL, &eff);
	if (eff != NULL) {
		char **nv = realloc(q->visited, (q->nvisited + 1) * sizeof(*nv));
		if (nv == NULL)
			return -1;
		q->visited = nv;
		if ((q->visited[q->nvisited] = strdup(eff)) == NULL)
			return -1;
		q->nvisited++;
	}
	if (strncasecmp(q->visited ? q->visited[q->nvisited - 1] : q->url, "https:", 6) == 0)
		obs_tls_fingerprint(q);
	{
		char *ip = NULL;

		q->res.primary_ip[0] = '\0';
		if (curl_easy_getinfo(q->easy, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip != NULL)
			snprintf(q->res.primary_ip, sizeof(q->res.primary_ip), "%s", ip);
	}

	if (q->oom)
		return -1;
	if (code != CURLE_OK) {
		enum obs_http_error e = obs_classify(q, code);
		if (q->refused_addr[0] != '\0' &&
		    (code == CURLE_COULDNT_CONNECT || code == CURLE_ABORTED_BY_CALLBACK))
			e = OBS_HTTP_ERR_PRIVATE;
		if (e == OBS_HTTP_ERR_PRIVATE)
			obs_fail(q, e, "refused to connect to %s", q->refused_addr);
		else if (q->header_overflow)
			obs_fail(q, OBS_HTTP_ERR_PROTOCOL, "response headers over %d bytes",
			    OBS_HTTP_HEADER_MAX);
		else if (e == OBS_HTTP_ERR_TOO_LARGE)
			obs_fail(q, e, "body over %zu bytes", q->max_body);
		else
			obs_fail(q, e, "%s", q->errbuf[0] ? q->errbuf : curl_easy_strerror(code));
		if (e == OBS_HTTP_ERR_TOO_LARGE && !q->header_overflow)
			return obs_analyse(h, q) == 0 ? 0 : -1;
		/* What arrived of an unfinished answer is not evidence of its content. */
		util_buf_reset(&q->body);
		return 0;
	}
	const char *next = obs_next_hop(h, q);
	if (next == NULL)
		return obs_analyse(h, q) == 0 ? 0 : -1;
	char **nr = realloc(q->res.redirects, (q->res.nredirects + 1) * sizeof(*nr));
	if (nr == NULL)
		return -1;
	q->res.redirects = nr;
	if ((nr[q->res.nredirects] = strdup(next)) == NULL)
		return -1;
	q->res.nredirects++;
	curl_multi_remove_handle(h->multi, q->easy);
	/* The port override belongs to the first hop; its URL already carries it. */
	if (obs_hop_setup(q, nr[q->res.nredirects - 1]) != 0)
		return -1;
	return curl_multi_add_handle(h->multi, q->easy) == CURLM_OK ? 1 : -1;
}

/* Handles the transfers libcurl reports as ended. Returns how many, or -1. */
static int
obs_collect(struct obs_http *h, char *err, size_t errlen)
{
	int n = 0;

	/* Bounded: each message is one finished transfer, at most one per running request. */
	for (size_t budget = h->inflight + 1; budget > 0; budget--) {
		int left = 0;
		CURLMsg *m = curl_multi_info_read(h->multi, &left);
		if (m == NULL)
			break;
		if (m->msg != CURLMSG_DONE)
			continue;
		struct obs_req *q = NULL;
		CURLcode code = m->data.result;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&q);
		int rc = obs_hop_done(h, q, code);
		if (rc < 0) {
			util_seterr(err, errlen, "obs_http_perform: out of memory finishing %s",
			    q->url);
			curl_multi_remove_handle(h->multi, q->easy);
			obs_running_unlink(h, q);
			obs_req_free(q);
			return -1;
		}
		if (rc == 0)
			obs_req_finish(h, q);
		n++;
	}
	return n;
}

int
obs_http_perform(struct obs_http *h, long wait_ms, char *err, size_t errlen)
{
	int still = 0, n = 0;
	CURLMcode mc;

	while (h->queue_head != NULL && h->inflight < h->max_inflight) {
		struct obs_req *q = h->queue_head;
		h->queue_head = q->next;
		if (h->queue_head != NULL)
			h->queue_head->prev = NULL;
		else
			h->queue_tail = NULL;
		h->queued--;
		q->prev = NULL;
		q->next = h->running;
		if (h->running != NULL)
			h->running->prev = q;
		h->running = q;
		h->inflight++;
		if (obs_req_start(q) != 0) {
			obs_running_unlink(h, q);
			obs_req_free(q);
			util_seterr(err, errlen, "obs_http_perform: cannot start a request");
			return -1;
		}
	}
	if (h->inflight == 0)
		return (int)h->queued;

	mc = curl_multi_perform(h->multi, &still);
	if (mc == CURLM_OK) {
		n = obs_collect(h, err, errlen);
		/* Wait only when nothing ended: a transfer that failed inside the first
		 * perform would otherwise sit out the whole wait. */
		if (n == 0 && still > 0) {
			mc = curl_multi_poll(h->multi, NULL, 0, (int)wait_ms, NULL);
			if (mc == CURLM_OK)
				mc = curl_multi_perform(h->multi, &still);
			if (mc == CURLM_OK)
				n = obs_collect(h, err, errlen);
		}
	}
	if (mc != CURLM_OK) {
		util_seterr(err, errlen, "obs_http_perform: %s", curl_multi_strerror(mc));
		return -1;
	}
	if (n < 0)
		return -1;
	return (int)(h->queued + h->inflight);
}

int
obs_http_run(struct obs_http *h, char *err, size_t errlen)
{
	for (;;) {
		int n = obs_http_perform(h, 1000, err, errlen);
		if (n <= 0)
			return n;
	}
}

void
obs_http_get_stats(const struct obs_http *h, struct obs_http_stats *st)
{
	*st = h->stats;
}

static char *
obs_dup_or_null(const char *s, int *oom)
{
	if (s == NULL)
		return NULL;
	char *d = strdup(s);
	if (d == NULL)
		*oom = 1;
	return d;
}

int
obs_http_result_copy(struct obs_http_result *d, const struct obs_http_result *r)
{
	int oom = 0;

	*d = *r;
	d->reason = obs_dup_or_null(r->reason, &oom);
	d->content_type = obs_dup_or_null(r->content_type, &oom);
	d->server = obs_dup_or_null(r->server, &oom);
	d->location = obs_dup_or_null(r->location, &oom);
	d->filetype = obs_dup_or_null(r->filetype, &oom);
	d->ssdeep = obs_dup_or_null(r->ssdeep, &oom);
	d->tls_sha256 = obs_dup_or_null(r->tls_sha256, &oom);
	d->body = NULL;
	d->redirects = NULL;
	d->nredirects = 0;
	if (r->nredirects > 0) {
		d->redirects = calloc(r->nredirects, sizeof(*d->redirects));
		if (d->redirects == NULL) {
			oom = 1;
		} else {
			d->nredirects = r->nredirects;
			for (size_t i = 0; i < r->nredirects; i++)
				d->redirects[i] = obs_dup_or_null(r->redirects[i], &oom);
		}
	}
	if (oom) {
		obs_http_result_fini(d);
		return -1;
	}
	return 0;
}

struct obs_robots_ctx {
	struct obs_http_result *res;
	struct util_buf *body;
	int oom;
};

static void
obs_robots_done(void *arg, const struct obs_http_result *r)
{
	struct obs_robots_ctx *ctx = arg;

	if (obs_http_result_copy(ctx->res, r) != 0)
		ctx->oom = 1;
	else if (r->body != NULL && util_buf_add(ctx->body, r->body, r->size) != 0)
		ctx->oom = 1;
}

int
obs_http_robots_get(const struct obs_http_opts *opts, const char *url,
    const char *user_agent, int port, struct obs_http_result *res, struct util_buf *body,
    char *err, size_t errlen)
{
	struct obs_http_opts o = *opts;
	struct obs_robots_ctx ctx = {.res = res, .body = body};
	struct obs_http *h;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	util_buf_reset(body);
	o.max_inflight = 1;
	h = obs_http_new(&o, err, errlen);
	if (h == NULL)
		return -1;
	struct obs_http_req req = {.url = url, .user_agent = user_agent, .port = port,
	    .flags = OBS_HTTP_ROBOTS | OBS_HTTP_KEEP_BODY, .done = obs_robots_done, .arg = &ctx};
	if (obs_http_add(h, &req, err, errlen) != 0)
		goto out;
	if (obs_http_run(h, err, errlen) != 0)
		goto out;
	if (ctx.oom) {
		util_seterr(err, errlen, "obs_http_robots_get: out of memory");
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		obs_http_result_fini(res);
		util_buf_reset(body);
	}
	obs_http_free(h);
	return rc;
}
