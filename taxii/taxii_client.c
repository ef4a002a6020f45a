/*
 * The TAXII client: asks a peer what it offers (discovery, collection information), polls
 * its collections (following every part) and pushes to its inbox over libcurl. Every
 * response is capped and parsed with the same hardened parser the server uses. A poll
 * fetches on a second thread that hands the bytes over as they come, and parses and
 * delivers on the caller's as they arrive (taxii_push): part k+1 is asked for as soon as
 * part k's start tag is parsed and says there is more, so the peer builds and sends the
 * next part while this side reads and merges the last one; no part is ever held whole,
 * only its bytes not yet parsed. A peer that answers TAXII 1.1 with 1.0 (or says it
 * does not speak the 1.1 protocol or message) is asked again in 1.0, and remembered.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "taxii/taxii.h"
#include "taxii/taxii_int.h"
#include "util/util.h"

#define DEFAULT_MAX_RESPONSE (64u * 1024u * 1024u)
#define DEFAULT_MAX_PARTS 10000u
#define MEMO_SLOTS 64
#define MEMO_URL_MAX 512

/* ---------------------------------------------------------------------------------------
 * Peers known to speak only 1.0, by URL: a small table, oldest entry overwritten.
 */
static pthread_mutex_t memo_lock = PTHREAD_MUTEX_INITIALIZER;
static char memo_url[MEMO_SLOTS][MEMO_URL_MAX];
static unsigned memo_next;

static int
memo_is_10(const char *url)
{
	int yes = 0;

	pthread_mutex_lock(&memo_lock);
	for (unsigned i = 0; i < MEMO_SLOTS && !yes; i++)
		yes = memo_url[i][0] != '\0' && strcmp(memo_url[i], url) == 0;
	pthread_mutex_unlock(&memo_lock);
	return yes;
}

static void
memo_set_10(const char *url)
{
	if (strlen(url) >= MEMO_URL_MAX || memo_is_10(url))
		return;
	pthread_mutex_lock(&memo_lock);
	snprintf(memo_url[memo_next], MEMO_URL_MAX, "%s", url);
	memo_next = (memo_next + 1) % MEMO_SLOTS;
	pthread_mutex_unlock(&memo_lock);
}

enum taxii_version
taxii_client_peer_version(const struct taxii_client_conf *conf)
{
	if (conf->version == TAXII_V10 || conf->version == TAXII_V11)
		return conf->version;
	return memo_is_10(conf->url) ? TAXII_V10 : TAXII_V11;
}

/* ---------------------------------------------------------------------------------------
 * One HTTP exchange. Its state lives in a struct so it can run on a thread of its own;
 * the curl handle is kept between exchanges so the connection is reused.
 */
struct post {
	const struct taxii_client_conf *c;
	enum taxii_version ver;
	CURL *cu;
	struct util_buf body;
	/* The answer's bytes not yet taken by its reader (all of them for an exchange read
	 * whole), and the reader's spare buffer it swaps with. Every byte of an answer
	 * counts against `limit`, however it is taken. */
	struct util_buf resp, take;
	size_t got, limit;
	int over;    /* the answer passed limit */
	long http;
	int rc;
	struct taxii_err err;
	pthread_t thread;
	int running;
	/* Between the thread that fetches and the one that reads, under lock. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int done;    /* the exchange ended: rc says how */
	int stop;    /* the reader gave up on it: the transfer is abandoned */
	char refused[INET6_ADDRSTRLEN + 48]; /* address the policy refused, and why */
};

/* ---------------------------------------------------------------------------------------
 * Address policy.
 */

/* "ADDR is a loopback address" into why (with `sep` ", " instead: "ADDR, a loopback
 * address"). */
static void
class_text(const struct sockaddr *sa, enum util_addr_class cl, const char *sep, char *why,
    size_t whylen)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, a,
		    sizeof(a));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, a,
		    sizeof(a));
	util_seterr(why, whylen, "%s%s a%s %s address", a, sep,
	    cl == UTIL_ADDR_UNSPECIFIED ? "n" : "", util_addr_class_name(cl));
}

/* The addresses getaddrinfo gives for host (arg non-NULL: numeric hosts only). */
static int
resolve_gai(void *arg, const char *host, struct sockaddr_storage *addrs, size_t max,
    size_t *n)
{
	struct addrinfo hints, *ai = NULL, *a;

	*n = 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = arg != NULL ? AI_NUMERICHOST : 0;
	if (getaddrinfo(host, NULL, &hints, &ai) != 0)
		return -1;
	for (a = ai; a != NULL && *n < max; a = a->ai_next)
		if (a->ai_addrlen <= sizeof(*addrs)) {
			memset(&addrs[*n], 0, sizeof(addrs[*n]));
			memcpy(&addrs[*n], a->ai_addr, a->ai_addrlen);
			++*n;
		}
	freeaddrinfo(ai);
	return *n > 0 ? 0 : -1;
}

#define POLICY_MAX_ADDRS 64

int
taxii_push_allowed(const char *url, taxii_resolve_fn resolve, void *arg, char *why,
    size_t whylen)
{
	struct sockaddr_storage addrs[POLICY_MAX_ADDRS];
	CURLU *u = NULL;
	char *host = NULL, *h, detail[INET6_ADDRSTRLEN + 40];
	size_t n = 0, hl;
	int rc = -1, numeric;

	if (url == NULL || (u = curl_url()) == NULL) {
		util_seterr(why, whylen, "no push address");
		return -1;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host == NULL ||
	    host[0] == '\0') {
		util_seterr(why, whylen, "push address %.200s has no host", url);
		goto out;
	}
	/* An IPv6 literal comes bracketed (and maybe with a zone): the address alone. */
	h = host;
	hl = strlen(h);
	if (h[0] == '[' && hl > 2 && h[hl - 1] == ']') {
		h[hl - 1] = '\0';
		h++;
		h[strcspn(h, "%")] = '\0';
	}
	/* A numeric host is never the resolver's business. */
	numeric = resolve_gai(addrs, h, addrs, POLICY_MAX_ADDRS, &n) == 0;
	if (!numeric && (resolve ? resolve : resolve_gai)(resolve ? arg : NULL, h, addrs,
	    POLICY_MAX_ADDRS, &n) != 0)
		n = 0;
	if (n == 0) {
		util_seterr(why, whylen, "push address host %.200s does not resolve", h);
		goto out;
	}
	/* Every answer counts: the pusher may connect to any of them. */
	for (size_t i = 0; i < n; i++) {
		enum util_addr_class cl = util_addr_classify_sa((const struct sockaddr *)&addrs[i]);

		if (cl != UTIL_ADDR_PUBLIC) {
			class_text((const struct sockaddr *)&addrs[i], cl, numeric ? " is" : ",",
			    detail, sizeof(detail));
			if (numeric)
				util_seterr(why, whylen, "%s", detail);
			else
				util_seterr(why, whylen, "push address host %.200s resolves to %s", h,
				    detail);
			goto out;
		}
	}
	rc = 0;
out:
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

/* libcurl's open-socket callback: every address a connection is about to be made to,
 * each one a happy-eyeballs race or a retry tries included, passes the policy first. */
static curl_socket_t
open_public(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct post *p = arg;
	enum util_addr_class cl;

	(void)purpose;
	cl = util_addr_classify_sa(&a->addr);
	if (cl != UTIL_ADDR_PUBLIC) {
		class_text(&a->addr, cl, " is", p->refused, sizeof(p->refused));
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype, a->protocol);
}

static void
post_init(struct post *p, const struct taxii_client_conf *c)
{
	memset(p, 0, sizeof(*p));
	p->c = c;
	util_buf_init(&p->body, 0);
	util_buf_init(&p->resp, 0);
	util_buf_init(&p->take, 0);
	p->limit = c->max_response ? c->max_response : DEFAULT_MAX_RESPONSE;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
}

/* Tells a running exchange its answer is not wanted (it ends within about a second)
 * and waits for it. */
static void
post_abandon(struct post *p)
{
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_mutex_unlock(&p->lock);
	if (p->running)
		pthread_join(p->thread, NULL);
	p->running = 0;
}

static void
post_fini(struct post *p)
{
	post_abandon(p);
	if (p->cu != NULL)
		curl_easy_cleanup(p->cu);
	p->cu = NULL;
	util_buf_fini(&p->body);
	util_buf_fini(&p->resp);
	util_buf_fini(&p->take);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
}

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct post *p = arg;
	size_t len = size * n;
	int rc = -1;

	/* A short count makes curl stop with CURLE_WRITE_ERROR: the cap is enforced here. */
	pthread_mutex_lock(&p->lock);
	if (p->got == 0)
		curl_easy_getinfo(p->cu, CURLINFO_RESPONSE_CODE, &p->http);
	if (len > p->limit - p->got)
		p->over = 1;
	else if (!p->stop && (rc = util_buf_add(&p->resp, data, len)) == 0)
		p->got += len;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return rc == 0 ? len : 0;
}

/* curl's progress callback, at least once a second while an exchange waits: a non-zero
 * return abandons it (the daemon stops, or the reader gave up). */
static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
    curl_off_t ulnow)
{
	struct post *p = arg;
	int stop;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	pthread_mutex_lock(&p->lock);
	stop = p->stop;
	pthread_mutex_unlock(&p->lock);
	return stop || (p->c->cancel != NULL && *p->c->cancel != 0);
}

static int
add_header(struct curl_slist **h, const char *name, const char *value)
{
	char line[256];
	struct curl_slist *nh;

	snprintf(line, sizeof(line), "%s%s%s", name, value ? ": " : "", value ? value : "");
	if ((nh = curl_slist_append(*h, line)) == NULL)
		return -1;
	*h = nh;
	return 0;
}

/* Sends p->body, the answer into p->resp (emptied by post_prepare). Sets p->rc (0 or a
 * negative taxii_code), then p->done. */
static void
post_exchange(struct post *p)
{
	const struct taxii_client_conf *c = p->c;
	struct curl_slist *h = NULL, *pins = NULL;
	CURLcode cc;

	p->refused[0] = '\0';
	if (c->cancel != NULL && *c->cancel) {
		p->rc = taxii_seterr(&p->err, TAXII_ENET, 0, "%s: cancelled", c->url);
		return;
	}
	if (p->cu == NULL && (p->cu = curl_easy_init()) == NULL) {
		p->rc = taxii_seterr(&p->err, TAXII_ENOMEM, 0, "cannot create a curl handle");
		return;
	}
	if (add_header(&h, "Content-Type", TAXII_HTTP_CONTENT_TYPE) ||
	    add_header(&h, "Expect:", NULL) ||
	    add_header(&h, "X-TAXII-Content-Type", taxii_http_content_type(p->ver)) ||
	    add_header(&h, "X-TAXII-Accept", taxii_http_content_type(p->ver)) ||
	    add_header(&h, "X-TAXII-Services", taxii_http_services(p->ver)) ||
	    add_header(&h, "X-TAXII-Protocol",
		taxii_http_protocol(strncmp(c->url, "https:", 6) == 0))) {
		p->rc = taxii_seterr(&p->err, TAXII_ENOMEM, 0, "out of memory");
		goto out;
	}
	curl_easy_setopt(p->cu, CURLOPT_URL, c->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(p->cu, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(p->cu, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(p->cu, CURLOPT_NOSIGNAL, 1L);
	/* A redirect would send the message somewhere the caller did not choose. */
	curl_easy_setopt(p->cu, CURLOPT_FOLLOWLOCATION, 0L);
	if (c->public_only) {
		curl_easy_setopt(p->cu, CURLOPT_OPENSOCKETFUNCTION, open_public);
		curl_easy_setopt(p->cu, CURLOPT_OPENSOCKETDATA, p);
	}
	for (size_t i = 0; c->resolve != NULL && c->resolve[i] != NULL && i < 64; i++) {
		struct curl_slist *np = curl_slist_append(pins, c->resolve[i]);

		if (np == NULL) {
			p->rc = taxii_seterr(&p->err, TAXII_ENOMEM, 0, "out of memory");
			goto out;
		}
		pins = np;
	}
	curl_easy_setopt(p->cu, CURLOPT_RESOLVE, pins);
	curl_easy_setopt(p->cu, CURLOPT_PROXY, c->proxy ? c->proxy : "");
	curl_easy_setopt(p->cu, CURLOPT_TIMEOUT, c->timeout_s > 0 ? c->timeout_s : 60L);
	curl_easy_setopt(p->cu, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(p->cu, CURLOPT_POST, 1L);
	curl_easy_setopt(p->cu, CURLOPT_POSTFIELDS, p->body.data ? p->body.data : "");
	curl_easy_setopt(p->cu, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)p->body.len);
	curl_easy_setopt(p->cu, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(p->cu, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(p->cu, CURLOPT_WRITEDATA, p);
	/* An answer that announces more than the cap is refused before its body is read. */
	curl_easy_setopt(p->cu, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)p->limit);
	curl_easy_setopt(p->cu, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(p->cu, CURLOPT_XFERINFODATA, p);
	curl_easy_setopt(p->cu, CURLOPT_NOPROGRESS, 0L);
	if (c->username != NULL) {
		curl_easy_setopt(p->cu, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(p->cu, CURLOPT_USERNAME, c->username);
		curl_easy_setopt(p->cu, CURLOPT_PASSWORD, c->password ? c->password : "");
	}
	if (c->ca_file != NULL)
		curl_easy_setopt(p->cu, CURLOPT_CAINFO, c->ca_file);
	if (c->client_cert != NULL)
		curl_easy_setopt(p->cu, CURLOPT_SSLCERT, c->client_cert);
	if (c->client_key != NULL)
		curl_easy_setopt(p->cu, CURLOPT_SSLKEY, c->client_key);
	if (c->client_key_password != NULL)
		curl_easy_setopt(p->cu, CURLOPT_KEYPASSWD, c->client_key_password);
	cc = curl_easy_perform(p->cu);
	/* The lists are ours to free: never leave the handle pointing at them. */
	curl_easy_setopt(p->cu, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(p->cu, CURLOPT_RESOLVE, NULL);
	if (p->refused[0] != '\0' && cc != CURLE_OK)
		p->rc = taxii_seterr(&p->err, TAXII_ENET, 0,
		    "%s: refused to connect: %s (address policy)",
		    c->url, p->refused);
	else if (cc == CURLE_FILESIZE_EXCEEDED || (cc == CURLE_WRITE_ERROR && p->over))
		p->rc = taxii_seterr(&p->err, TAXII_ETOOBIG, 0,
		    "%s: response too large (over %zu bytes)",
		    c->url, p->limit);
	else if (cc == CURLE_WRITE_ERROR && !p->stop)
		p->rc = taxii_seterr(&p->err, TAXII_ENOMEM, 0, "%s: out of memory", c->url);
	else if ((cc == CURLE_WRITE_ERROR || cc == CURLE_ABORTED_BY_CALLBACK) && p->stop)
		p->rc = taxii_seterr(&p->err, TAXII_EINVAL, 0, "%s: answer abandoned", c->url);
	else if (cc == CURLE_ABORTED_BY_CALLBACK)
		p->rc = taxii_seterr(&p->err, TAXII_ENET, 0, "%s: cancelled", c->url);
	else if (cc != CURLE_OK)
		p->rc = taxii_seterr(&p->err, TAXII_ENET, 0, "%s: %s", c->url,
		    curl_easy_strerror(cc));
	else {
		pthread_mutex_lock(&p->lock);
		curl_easy_getinfo(p->cu, CURLINFO_RESPONSE_CODE, &p->http);
		pthread_mutex_unlock(&p->lock);
	}
out:
	curl_slist_free_all(h);
	curl_slist_free_all(pins);
}

static void
post_run(struct post *p)
{
	post_exchange(p);
	pthread_mutex_lock(&p->lock);
	p->done = 1;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

static void *
post_thread(void *arg)
{
	post_run(arg);
	return NULL;
}

/* Writes `req` into p->body, ready to send, and clears what the last exchange left. */
static int
post_prepare(struct post *p, const struct taxii_msg *req, struct taxii_err *err)
{
	util_buf_reset(&p->body);
	util_buf_reset(&p->resp);
	util_buf_reset(&p->take);
	p->got = 0;
	p->over = p->done = p->stop = 0;
	p->http = 0;
	p->rc = 0;
	p->ver = req->version;
	return taxii_msg_write(req, &p->body, err);
}

static int
post_start(struct post *p)
{
	if (pthread_create(&p->thread, NULL, post_thread, p) != 0)
		return -1;
	p->running = 1;
	return 0;
}

static void
post_join(struct post *p)
{
	if (p->running)
		pthread_join(p->thread, NULL);
	p->running = 0;
}

/*
 * The answer of a finished exchange, parsed into *out. Returns 0 or a negative taxii_code;
 * a Status Message is returned as a message (the caller decides what it means).
 */
static int
post_answer(struct post *p, unsigned flags, struct taxii_msg **out, struct taxii_err *err)
{
	const char *url = p->c->url;
	int rc;

	*out = NULL;
	if (p->rc != 0) {
		if (err != NULL)
			*err = p->err;
		return p->rc;
	}
	/* A Status Message explains most failures, whatever the HTTP code. */
	rc = taxii_msg_parse_opts(p->resp.data ? p->resp.data : "", p->resp.len, TAXII_VANY,
	    flags, out, err);
	if (rc != 0 && p->http != 200)
		return taxii_seterr(err, TAXII_ENET, 0, "%s: HTTP %ld", url, p->http);
	if (rc != 0 && err != NULL) {
		char inner[sizeof(err->msg)];

		memcpy(inner, err->msg, sizeof(inner));
		taxii_seterr(err, rc, 0, "%.100s: answer: %.140s", url, inner);
	}
	return rc;
}

static const char *const bind11[] = { TAXII_MSG_BINDING_11 };
static const char *const bind10[] = { TAXII_MSG_BINDING_10 };

/* Whether a 1.1 request's answer says the peer speaks 1.0 only. */
static int
wants_10(const struct taxii_msg *req, const struct taxii_msg *resp)
{
	if (req->version != TAXII_V11)
		return 0;
	if (resp->version == TAXII_V10)
		return 1;
	return resp->type == TAXII_MSG_STATUS &&
	    (resp->status == TAXII_ST_UNSUPPORTED_PROTOCOL ||
		resp->status == TAXII_ST_UNSUPPORTED_MESSAGE);
}

/*
 * One synchronous exchange of `req` (built in the version taxii_client_peer_version says).
 * With fallback set, a 1.1 request the peer answers as a 1.0 peer is sent again in 1.0
 * (by `rebuild`, which turns the request into its 1.0 form) and the peer is remembered.
 */
static int
exchange(struct post *p, struct taxii_msg *req, unsigned flags, struct taxii_msg **out,
    struct taxii_err *err)
{
	const struct taxii_contact *push = req->push;
	struct taxii_contact push10;
	int rc;

	*out = NULL;
	if ((rc = post_prepare(p, req, err)) != 0)
		return rc;
	post_run(p);
	if ((rc = post_answer(p, flags, out, err)) != 0)
		return rc;
	if (p->c->version != TAXII_VANY || !wants_10(req, *out))
		return 0;
	taxii_msg_free(*out);
	*out = NULL;
	req->version = TAXII_V10;
	memo_set_10(p->c->url);
	/* A subscription's pushes are asked for in the version now spoken (the request
	 * is written out by post_prepare: push10 need not outlive it). */
	if (push != NULL) {
		push10 = *push;
		push10.message_bindings.v = bind10;
		push10.message_bindings.n = 1;
		req->push = &push10;
	}
	rc = post_prepare(p, req, err);
	req->push = push;
	if (rc != 0)
		return rc;
	post_run(p);
	return post_answer(p, flags, out, err);
}

/* A Status Message as an error naming its type, message and details. */
static int
status_err(const struct taxii_client_conf *c, const struct taxii_msg *m, struct taxii_err *err)
{
	char det[120] = "";

	if (m->n_details > 0)
		snprintf(det, sizeof(det), " (%s%s%.80s)", m->details[0].name ? m->details[0].name : "",
		    m->details[0].name ? "=" : "", m->details[0].value ? m->details[0].value : "");
	return taxii_seterr(err, TAXII_ESTATUS, 0, "%s: %s%s%s%s", c->url,
	    m->status_type ? m->status_type : "?",
	    det, m->message ? ": " : "", m->message ? m->message : "");
}

/* The answer must be of type `want` (a Status Message becomes TAXII_ESTATUS). */
static int
expect(const struct taxii_client_conf *c, const struct taxii_msg *m, enum taxii_msg_type want,
    struct taxii_err *err)
{
	if (m->type == want)
		return 0;
	if (m->type == TAXII_MSG_STATUS)
		return status_err(c, m, err);
	return taxii_seterr(err, TAXII_EMSG, 0, "%s: answer is a %s, not a %s", c->url,
	    taxii_msg_type_name(m->type, m->version) ? taxii_msg_type_name(m->type, m->version) :
						      "message of another kind",
	    taxii_msg_type_name(want, m->version) ? taxii_msg_type_name(want, m->version) : "?");
}

static void
new_msg(struct taxii_msg *m, enum taxii_version ver, enum taxii_msg_type type, char *id)
{
	memset(m, 0, sizeof(*m));
	taxii_msg_id_new(id);
	m->version = ver;
	m->type = type;
	m->message_id = id;
}

static int
check_conf(const struct taxii_client_conf *conf, struct taxii_err *err)
{
	if (conf == NULL || conf->url == NULL)
		return taxii_seterr(err, TAXII_EINVAL, 0, "client: no url");
	return 0;
}

/* Discovery and Collection Information: one request without parameters, one answer. */
static int
ask(const struct taxii_client_conf *conf, enum taxii_msg_type type, enum taxii_msg_type want,
    struct taxii_msg **out, struct taxii_err *err)
{
	struct taxii_msg req;
	struct post p;
	char id[TAXII_ID_MAX];
	int rc;

	*out = NULL;
	if ((rc = check_conf(conf, err)) != 0)
		return rc;
	post_init(&p, conf);
	new_msg(&req, taxii_client_peer_version(conf), type, id);
	if ((rc = exchange(&p, &req, 0, out, err)) == 0 &&
	    (rc = expect(conf, *out, want, err)) != 0) {
		taxii_msg_free(*out);
		*out = NULL;
	}
	post_fini(&p);
	return rc;
}

int
taxii_client_discovery(const struct taxii_client_conf *conf, struct taxii_msg **out,
    struct taxii_err *err)
{
	return ask(conf, TAXII_MSG_DISCOVERY_REQ, TAXII_MSG_DISCOVERY_RESP, out, err);
}

int
taxii_client_collections(const struct taxii_client_conf *conf, struct taxii_msg **out,
    struct taxii_err *err)
{
	return ask(conf, TAXII_MSG_COLLECTION_INFO_REQ, TAXII_MSG_COLLECTION_INFO_RESP, out, err);
}

static const char *const poll_bindings[] = { TAXII_CB_STIX_12, TAXII_CB_STIX_111 };

/* A Poll_Request: with Poll_Parameters, or by subscription when sub_id is set (the
 * subscription then says what is wanted). */
static void
poll_req(struct taxii_msg *req, enum taxii_version ver, char *id, const char *collection,
    const char *sub_id, int64_t begin, int64_t end, enum taxii_response_type rt)
{
	new_msg(req, ver, TAXII_MSG_POLL_REQ, id);
	req->collection = collection;
	req->has_begin = begin >= 0;
	req->begin_us = begin;
	req->has_end = end != INT64_MAX;
	req->end_us = end;
	req->subscription_id = sub_id;
	req->has_poll_params = sub_id == NULL;
	req->response_type = rt;
	/* 1.0 lists the bindings in the request itself, subscription or not. */
	if (sub_id == NULL || ver == TAXII_V10) {
		req->content_bindings.v = poll_bindings;
		req->content_bindings.n = 2;
	}
}

int
taxii_client_count(const struct taxii_client_conf *conf, const char *collection,
    int64_t begin_us, int64_t end_us, uint64_t *count, int *partial, struct taxii_err *err)
{
	struct taxii_msg req, *resp = NULL;
	struct post p;
	char id[TAXII_ID_MAX];
	int rc;

	if ((rc = check_conf(conf, err)) != 0)
		return rc;
	if (collection == NULL || count == NULL)
		return taxii_seterr(err, TAXII_EINVAL, 0, "count: collection and count required");
	post_init(&p, conf);
	poll_req(&req, taxii_client_peer_version(conf), id, collection, NULL, begin_us, end_us,
	    TAXII_RESP_COUNT_ONLY);
	if ((rc = exchange(&p, &req, 0, &resp, err)) != 0 ||
	    (rc = expect(conf, resp, TAXII_MSG_POLL_RESP, err)) != 0)
		goto out;
	/* `more` (some servers set it on a count) is ignored: a count has no parts. 1.0 has
	 * no count: a 1.0 peer answers with content, which is counted. */
	if (resp->has_record_count) {
		*count = resp->record_count;
		if (partial != NULL)
			*partial = resp->partial_count;
	} else if (resp->version == TAXII_V10) {
		*count = resp->n_blocks;
		if (partial != NULL)
			*partial = 0;
	} else {
		rc = taxii_seterr(err, TAXII_EMSG, 0, "%s: count answer without Record_Count",
		    conf->url);
	}
out:
	taxii_msg_free(resp);
	post_fini(&p);
	return rc;
}

/*
 * One poll under way: where its blocks go, the two exchanges it alternates between, and
 * the part asked for ahead (as soon as a part's start tag says more follow).
 */
struct poll_run {
	const struct taxii_client_conf *conf;
	const char *collection;
	taxii_block_cb cb;
	void *arg;
	unsigned flags, n, max_parts;
	int64_t max_label;
	struct post p[2];
	int k;             /* p[k] is the exchange being read */
	char result_id[256];
	uint64_t part;     /* the part being read (1.1) */
	int ahead;         /* p[1 - k] is fetching part + 1 */
	int follow;        /* a 1.1 result is being followed: parts may be asked ahead */
};

static int
poll_block(void *arg, const struct taxii_content_block *b)
{
	struct poll_run *r = arg;

	if (b->has_timestamp && b->timestamp_us > r->max_label)
		r->max_label = b->timestamp_us;
	return r->cb(r->arg, b);
}

/* Asks for part `part` of r->result_id on p (a thread of its own). */
static int
fetch_part(struct poll_run *r, struct post *p, uint64_t part, struct taxii_err *err)
{
	struct taxii_msg req;
	char id[TAXII_ID_MAX];
	int rc;

	new_msg(&req, TAXII_V11, TAXII_MSG_POLL_FULFILLMENT, id);
	req.collection = r->collection;
	req.result_id = r->result_id;
	req.result_part = part;
	if ((rc = post_prepare(p, &req, err)) != 0)
		return rc;
	if (post_start(p) != 0)
		return taxii_seterr(err, TAXII_ENOMEM, 0, "cannot start a thread");
	return 0;
}

/* A 1.1 part's start tag was read: the part after it is asked for now, so the peer builds
 * and sends it while this one is read and merged. The parsed part decides in the end: a
 * part asked for that is not wanted after all is abandoned. */
static void
poll_root(void *arg, int more, const char *result_id, uint64_t part)
{
	struct poll_run *r = arg;
	struct taxii_err err;

	if (r->result_id[0] == '\0' && result_id[0] != '\0' &&
	    strlen(result_id) < sizeof(r->result_id)) {
		snprintf(r->result_id, sizeof(r->result_id), "%s", result_id);
		r->part = part ? part : 1;
		r->follow = 1;
	}
	if (!more || !r->follow || r->ahead || r->n >= r->max_parts)
		return;
	r->n++;
	if (fetch_part(r, &r->p[1 - r->k], r->part + 1, &err) == 0)
		r->ahead = 1;
	else
		r->n--; /* asked for again, without the thread, once the part is read */
}

/*
 * Reads the answer of p[k] (its exchange running on its thread) as it arrives: a
 * Poll_Response's blocks go to the caller as they are parsed; *out is the message (without
 * those blocks), or the whole message when it was not read as it came. Returns 0 or a
 * negative taxii_code; the exchange has ended either way.
 */
static int
poll_read(struct poll_run *r, enum taxii_version want, struct taxii_push_stats *st,
    struct taxii_msg **out, struct taxii_err *err)
{
	struct post *p = &r->p[r->k];
	struct taxii_push *tp;
	struct util_buf t;
	int rc = 0, done = 0, first = 1;
	long http;

	*out = NULL;
	memset(st, 0, sizeof(*st));
	tp = taxii_push_new(r->flags, want, p->limit, poll_block, r, poll_root, r);
	if (tp == NULL) {
		post_abandon(p);
		return taxii_seterr(err, TAXII_ENOMEM, 0, "out of memory");
	}
	/* Bounded: every pass takes new bytes (at most limit in all) or sees the end, which
	 * curl's timeout, the cancel flag or the stop flag brings within its time. */
	while (!done && rc == 0) {
		pthread_mutex_lock(&p->lock);
		while (p->resp.len == 0 && !p->done)
			pthread_cond_wait(&p->cond, &p->lock);
		t = p->resp;
		p->resp = p->take;
		p->take = t;
		done = p->done;
		http = p->http;
		pthread_mutex_unlock(&p->lock);
		if (p->take.len == 0)
			continue;
		/* An HTTP error explains itself with a whole Status Message, or not at all. */
		if (first && http != 200)
			taxii_push_whole(tp);
		first = 0;
		rc = taxii_push_feed(tp, p->take.data, p->take.len, err);
		util_buf_reset(&p->take);
	}
	if (rc != 0)
		post_abandon(p);
	else
		post_join(p);
	*st = *taxii_push_stats(tp);
	if (rc == 0 && p->rc != 0) {
		if (err != NULL)
			*err = p->err;
		rc = p->rc;
		goto out;
	}
	if (rc == 0)
		rc = taxii_push_end(tp, out, err);
	if (rc != 0 && p->rc == 0 && p->http != 200)
		rc = taxii_seterr(err, TAXII_ENET, 0, "%s: HTTP %ld", r->conf->url, p->http);
	else if (rc != 0 && rc != TAXII_EINVAL && p->rc == 0 && err != NULL) {
		char inner[sizeof(err->msg)];

		memcpy(inner, err->msg, sizeof(inner));
		taxii_seterr(err, rc, 0, "%.100s: answer: %.140s", r->conf->url, inner);
	}
out:
	taxii_push_free(tp);
	return rc;
}

/* Delivers the blocks of a message read whole (none when its blocks were streamed), then
 * tells the caller the part is done. Returns 0 or TAXII_EINVAL when the caller aborts. */
static int
poll_part_done(struct poll_run *r, const struct taxii_msg *m, struct taxii_err *err)
{
	for (size_t i = 0; i < m->n_blocks; i++)
		if (poll_block(r, &m->blocks[i]) != 0)
			return taxii_seterr(err, TAXII_EINVAL, 0,
			    "poll aborted by the caller at block %zu", i + 1);
	if (r->conf->part_done != NULL && r->conf->part_done(r->arg) != 0)
		return taxii_seterr(err, TAXII_EINVAL, 0, "poll aborted by the caller after part %u",
		    r->n);
	return 0;
}

/* How many blocks an answer had and the last one's label, streamed or not. */
static void
answer_tail(const struct taxii_msg *m, const struct taxii_push_stats *st, size_t *n,
    int *has_last, int64_t *last)
{
	if (m->n_blocks > 0) {
		*n = m->n_blocks;
		*has_last = m->blocks[m->n_blocks - 1].has_timestamp;
		*last = m->blocks[m->n_blocks - 1].timestamp_us;
	} else {
		*n = st->blocks;
		*has_last = st->has_last_label;
		*last = st->last_label_us;
	}
}

/*
 * Follows the parts of a 1.1 result after `cur` (read and delivered already), each read
 * as it arrives, part k+1 asked for as soon as part k's start tag says more follow (else
 * once part k is read). Takes ownership of `cur`.
 */
static int
follow_parts(struct poll_run *r, struct taxii_msg *cur, struct taxii_err *err)
{
	const struct taxii_client_conf *conf = r->conf;
	struct taxii_push_stats st;
	int rc = 0;

	if (r->result_id[0] == '\0' && cur->result_id != NULL &&
	    strlen(cur->result_id) < sizeof(r->result_id)) {
		snprintf(r->result_id, sizeof(r->result_id), "%s", cur->result_id);
		r->part = cur->result_part ? cur->result_part : 1;
	}
	for (;;) {
		/* `more` without a result id cannot be followed: what came is all there is. */
		if (!cur->more || r->result_id[0] == '\0')
			break;
		if (!r->ahead) {
			if (++r->n > r->max_parts) {
				rc = taxii_seterr(err, TAXII_ETOOBIG, 0, "%s: more than %u parts",
				    conf->url, r->max_parts);
				goto out;
			}
			if ((rc = fetch_part(r, &r->p[1 - r->k], r->part + 1, err)) != 0)
				goto out;
		}
		r->ahead = 0;
		r->follow = 1;
		taxii_msg_free(cur);
		cur = NULL;
		r->k = 1 - r->k;
		r->part++;
		if ((rc = poll_read(r, TAXII_V11, &st, &cur, err)) != 0 ||
		    (rc = expect(conf, cur, TAXII_MSG_POLL_RESP, err)) != 0 ||
		    (rc = poll_part_done(r, cur, err)) != 0)
			goto out;
	}
out:
	taxii_msg_free(cur);
	return rc;
}

static int
poll_with(const struct taxii_client_conf *conf, const char *collection, const char *sub_id,
    int64_t begin_us, int64_t end_us, taxii_block_cb cb, void *arg, int64_t *end_us_out,
    struct taxii_err *err)
{
	struct poll_run *r;
	struct taxii_msg req, *resp = NULL;
	struct taxii_push_stats st;
	char id[TAXII_ID_MAX];
	int64_t begin = begin_us, reached = begin_us, last = 0;
	size_t nb = 0;
	int rc = 0, has_end = 0, has_last = 0, fell_back = 0, answers = 0;

	if (conf == NULL || conf->url == NULL || collection == NULL || cb == NULL)
		return taxii_seterr(err, TAXII_EINVAL, 0,
		    "poll: url, collection and callback required");
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return taxii_seterr(err, TAXII_ENOMEM, 0, "out of memory");
	r->conf = conf;
	r->collection = collection;
	r->cb = cb;
	r->arg = arg;
	r->flags = conf->blocks_as_nodes ? TAXII_PARSE_NODES : 0;
	r->max_parts = conf->max_parts ? conf->max_parts : DEFAULT_MAX_PARTS;
	r->max_label = begin_us;
	post_init(&r->p[0], conf);
	post_init(&r->p[1], conf);
	poll_req(&req, taxii_client_peer_version(conf), id, collection, sub_id, begin, end_us,
	    TAXII_RESP_FULL);
	for (;;) {
		if (++r->n > r->max_parts) {
			rc = taxii_seterr(err, TAXII_ETOOBIG, 0, "%s: more than %u parts",
			    conf->url, r->max_parts);
			goto out;
		}
		r->k = 0;
		if ((rc = post_prepare(&r->p[0], &req, err)) != 0)
			goto out;
		if (post_start(&r->p[0]) != 0) {
			rc = taxii_seterr(err, TAXII_ENOMEM, 0, "cannot start a thread");
			goto out;
		}
		if ((rc = poll_read(r, req.version, &st, &resp, err)) != 0)
			goto out;
		answers++;
		/* The first answer settles the version: a 1.1 request a peer answers as a
		 * 1.0 peer is asked again in 1.0 (such an answer is read whole, never
		 * delivered), and the peer is remembered. */
		if (answers == 1 && !fell_back && conf->version == TAXII_VANY &&
		    wants_10(&req, resp)) {
			taxii_msg_free(resp);
			resp = NULL;
			memo_set_10(conf->url);
			req.version = TAXII_V10;
			fell_back = 1;
			r->n--;
			answers--;
			continue;
		}
		if ((rc = expect(conf, resp, TAXII_MSG_POLL_RESP, err)) != 0 ||
		    (rc = poll_part_done(r, resp, err)) != 0)
			goto out;
		/* Where the peer says it delivered up to; without it, the last label seen. */
		if (resp->has_end && answers == 1) {
			has_end = 1;
			reached = resp->end_us;
		}
		if (req.version == TAXII_V11) {
			struct taxii_msg *first = resp;

			resp = NULL;
			if ((rc = follow_parts(r, first, err)) != 0)
				goto out;
			break;
		}
		if (resp->has_end)
			reached = resp->end_us;
		/* 1.0 has no parts: a peer that narrowed Inclusive_End to its last block's label
		 * has more; poll again from there. An empty answer ends it. */
		answer_tail(resp, &st, &nb, &has_last, &last);
		if (nb == 0 || !resp->has_end || !has_last || last != resp->end_us ||
		    resp->end_us >= end_us || resp->end_us <= begin)
			break;
		begin = resp->end_us;
		taxii_msg_free(resp);
		resp = NULL;
		poll_req(&req, TAXII_V10, id, collection, sub_id, begin, end_us, TAXII_RESP_FULL);
	}
	if (!has_end && r->max_label > reached)
		reached = r->max_label;
	if (end_us_out != NULL)
		*end_us_out = reached;
out:
	taxii_msg_free(resp);
	post_fini(&r->p[0]);
	post_fini(&r->p[1]);
	free(r);
	return rc;
}

int
taxii_client_poll(const struct taxii_client_conf *conf, const char *collection,
    int64_t begin_us, int64_t end_us, taxii_block_cb cb, void *arg, int64_t *end_us_out,
    struct taxii_err *err)
{
	return poll_with(conf, collection, NULL, begin_us, end_us, cb, arg, end_us_out, err);
}

int
taxii_client_poll_sub(const struct taxii_client_conf *conf, const char *collection,
    const char *sub_id, int64_t begin_us, int64_t end_us, taxii_block_cb cb, void *arg,
    int64_t *end_us_out, struct taxii_err *err)
{
	if (sub_id == NULL || *sub_id == '\0')
		return taxii_seterr(err, TAXII_EINVAL, 0, "poll: subscription id required");
	return poll_with(conf, collection, sub_id, begin_us, end_us, cb, arg, end_us_out, err);
}

/* Sends a prepared Inbox_Message; 0 when the answer is SUCCESS. */
static int
inbox_send(const struct taxii_client_conf *conf, const struct taxii_msg *req,
    struct taxii_err *err)
{
	struct taxii_msg *resp = NULL;
	struct post p;
	int rc;

	if ((rc = check_conf(conf, err)) != 0)
		return rc;
	post_init(&p, conf);
	if ((rc = exchange(&p, (struct taxii_msg *)req, 0, &resp, err)) != 0)
		goto out;
	if (resp->type != TAXII_MSG_STATUS)
		rc = taxii_seterr(err, TAXII_EMSG, 0, "%s: answer is not a Status_Message",
		    conf->url);
	else if (resp->status != TAXII_ST_SUCCESS)
		rc = status_err(conf, resp, err);
out:
	taxii_msg_free(resp);
	post_fini(&p);
	return rc;
}

int
taxii_client_inbox(const struct taxii_client_conf *conf, const char *collection,
    const struct taxii_content_block *blocks, size_t n_blocks, struct taxii_err *err)
{
	struct taxii_msg req;
	char id[TAXII_ID_MAX];

	if (conf == NULL || conf->url == NULL)
		return taxii_seterr(err, TAXII_EINVAL, 0, "inbox: url required");
	new_msg(&req, taxii_client_peer_version(conf), TAXII_MSG_INBOX, id);
	req.collection = collection;
	req.blocks = blocks;
	req.n_blocks = n_blocks;
	return inbox_send(conf, &req, err);
}

int
taxii_client_inbox_sub(const struct taxii_client_conf *conf, const char *src_collection,
    const char *sub_id, int64_t begin_us, int64_t end_us,
    const struct taxii_content_block *blocks, size_t n_blocks, struct taxii_err *err)
{
	struct taxii_msg req;
	char id[TAXII_ID_MAX];

	if (conf == NULL || conf->url == NULL || src_collection == NULL || sub_id == NULL)
		return taxii_seterr(err, TAXII_EINVAL, 0,
		    "inbox: url, collection and subscription required");
	/* Source_Subscription exists in TAXII 1.1 only. */
	new_msg(&req, TAXII_V11, TAXII_MSG_INBOX, id);
	req.source_collection = src_collection;
	req.subscription_id = sub_id;
	req.has_begin = begin_us >= 0;
	req.begin_us = begin_us;
	req.has_end = 1;
	req.end_us = end_us;
	req.blocks = blocks;
	req.n_blocks = n_blocks;
	return inbox_send(conf, &req, err);
}

/* The Push_Parameters of a SUBSCRIBE: the scheme of the address names the protocol. */
static int
push_contact(const char *address, struct taxii_contact *c, const char *const *binding,
    struct taxii_err *err)
{
	memset(c, 0, sizeof(*c));
	if (strncmp(address, "https://", 8) == 0)
		c->protocol = TAXII_PROTOCOL_HTTPS;
	else if (strncmp(address, "http://", 7) == 0)
		c->protocol = TAXII_PROTOCOL_HTTP;
	else
		return taxii_seterr(err, TAXII_EINVAL, 0,
		    "subscribe: push address %.100s is not an http(s) URL",
		    address);
	c->address = address;
	c->message_bindings.v = binding;
	c->message_bindings.n = 1;
	return 0;
}

/* The answer must name the subscription asked about (any one, for a new subscription). */
static int
sub_answer_ok(const struct taxii_client_conf *conf, const struct taxii_msg *m,
    enum taxii_sub_action action, const char *sub_id, struct taxii_err *err)
{
	if (action == TAXII_SUB_STATUS && sub_id == NULL)
		return 0;
	if (m->n_subscriptions == 0 || m->subscriptions[0].id == NULL ||
	    m->subscriptions[0].id[0] == '\0')
		return taxii_seterr(err, TAXII_EMSG, 0, "%s: the answer names no subscription",
		    conf->url);
	if (sub_id != NULL && strcmp(m->subscriptions[0].id, sub_id) != 0)
		return taxii_seterr(err, TAXII_EMSG, 0,
		    "%s: asked about %.100s, answered about %.100s",
		    conf->url, sub_id, m->subscriptions[0].id);
	return 0;
}

int
taxii_client_subscription(const struct taxii_client_conf *conf, const char *collection,
    enum taxii_sub_action action, const char *sub_id, const struct taxii_client_sub_req *sr,
    struct taxii_msg **out, struct taxii_err *err)
{
	struct taxii_msg req, *resp = NULL;
	struct taxii_contact push;
	struct post p;
	char id[TAXII_ID_MAX];
	enum taxii_version ver;
	int rc;

	if (out != NULL)
		*out = NULL;
	if ((rc = check_conf(conf, err)) != 0)
		return rc;
	if (collection == NULL || out == NULL)
		return taxii_seterr(err, TAXII_EINVAL, 0,
		    "subscription: collection and answer required");
	if (action < TAXII_SUB_SUBSCRIBE || action > TAXII_SUB_STATUS)
		return taxii_seterr(err, TAXII_EINVAL, 0, "subscription: unknown action %d",
		    (int)action);
	if (action == TAXII_SUB_SUBSCRIBE && sub_id != NULL)
		return taxii_seterr(err, TAXII_EINVAL, 0,
		    "subscribe: the peer names the subscription");
	if (action != TAXII_SUB_SUBSCRIBE && action != TAXII_SUB_STATUS &&
	    (sub_id == NULL || *sub_id == '\0'))
		return taxii_seterr(err, TAXII_EINVAL, 0,
		    "subscription: this action needs a subscription id");
	ver = taxii_client_peer_version(conf);
	new_msg(&req, ver, TAXII_MSG_SUBSCRIPTION_REQ, id);
	req.collection = collection;
	req.action = action;
	req.subscription_id = sub_id;
	if (action == TAXII_SUB_SUBSCRIBE) {
		req.has_poll_params = 1;
		req.response_type = sr != NULL ? sr->response_type : TAXII_RESP_FULL;
		req.content_bindings.v = poll_bindings;
		req.content_bindings.n = 2;
		if (sr != NULL && sr->push_address != NULL) {
			/* Pushes come in the binding this client speaks to the peer (exchange
			 * switches it to 1.0 when it falls back). */
			if ((rc = push_contact(sr->push_address, &push,
				 ver == TAXII_V10 ? bind10 : bind11, err)) != 0)
				return rc;
			req.push = &push;
		}
	}
	post_init(&p, conf);
	if ((rc = exchange(&p, &req, 0, &resp, err)) != 0)
		goto out;
	if ((rc = expect(conf, resp, TAXII_MSG_SUBSCRIPTION_RESP, err)) != 0 ||
	    (rc = sub_answer_ok(conf, resp, action, sub_id, err)) != 0)
		goto out;
	*out = resp;
	resp = NULL;
out:
	taxii_msg_free(resp);
	post_fini(&p);
	return rc;
}
