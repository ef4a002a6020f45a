/*
 * A stand-in of a Cuckoo or CAPE sandbox's REST API for the tests: it listens on
 * 127.0.0.1 at a port the kernel picks, prints "port N" on stdout, and keeps every request
 * it gets in a directory of its own, DIR/req-N/: method, url, authorization (the header),
 * and for a multipart/form-data body, fields/NAME (a field's value) and files/NAME with
 * filenames/NAME (an uploaded file's content and name). It answers as Cuckoo does
 * ({"task_id": N}), or as CAPE does when the path ends in "/"; with DIR/fail present it
 * answers 500 instead. It never runs longer than its lifetime (default 60 s), so it
 * cannot outlive a test that failed to stop it; SIGTERM stops it at once. PORT (default
 * 0) binds a port given, so a test can bring a server back where one was before.
 *
 * usage: sandbox_api DIR [LIFETIME_SECONDS [PORT]]
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

#define MAX_REQUESTS 100
#define MAX_BODY (64u * 1024 * 1024)

static const char *dir;
static int nreq;

struct req {
	char path[PATH_MAX];
	struct MHD_PostProcessor *pp;
	size_t body;
	int too_big;
};

/* Writes `len` bytes to DIR/req-N/name (appending when `append`). Returns 0 or -1. */
static int
put(const struct req *r, const char *name, const char *data, size_t len, int append)
{
	char p[PATH_MAX + 64];
	FILE *fp;
	int rc;

	snprintf(p, sizeof(p), "%s/%s", r->path, name);
	fp = fopen(p, append ? "a" : "w");
	if (fp == NULL)
		return -1;
	rc = (len == 0 || fwrite(data, 1, len, fp) == len) ? 0 : -1;
	if (fclose(fp) != 0)
		rc = -1;
	return rc;
}

/* A form name is used as a file name: only [A-Za-z0-9_-], so no path can be made of it. */
static int
safe_name(const char *s)
{
	size_t n = 0;

	for (; s != NULL && *s; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			(*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return 0;
	return n > 0 && n < 64;
}

static enum MHD_Result
form_part(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
    const char *content_type, const char *transfer_encoding, const char *data, uint64_t off,
    size_t size)
{
	struct req *r = cls;
	char name[128];

	(void)kind;
	(void)content_type;
	(void)transfer_encoding;
	if (!safe_name(key))
		return MHD_YES; /* kept out of the record; the test sees the field missing */
	snprintf(name, sizeof(name), "%s/%s", filename ? "files" : "fields", key);
	if (put(r, name, data, size, off > 0) != 0)
		return MHD_NO;
	if (filename != NULL && off == 0) {
		snprintf(name, sizeof(name), "filenames/%s", key);
		if (put(r, name, filename, strlen(filename), 0) != 0)
			return MHD_NO;
	}
	return MHD_YES;
}

static enum MHD_Result
answer(struct MHD_Connection *c, unsigned status, const char *body)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(body), (void *)body,
	    MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", "application/json");
	rc = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return rc;
}

/* The first call of a request makes its directory and notes what is known at once. */
static struct req *
req_new(struct MHD_Connection *c, const char *url, const char *method)
{
	struct req *r = calloc(1, sizeof(*r));
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	char sub[PATH_MAX + 32];

	if (r == NULL)
		return NULL;
	snprintf(r->path, sizeof(r->path), "%s/req-%d", dir, ++nreq);
	if (mkdir(r->path, 0755) != 0)
		goto fail;
	snprintf(sub, sizeof(sub), "%s/fields", r->path);
	if (mkdir(sub, 0755) != 0)
		goto fail;
	snprintf(sub, sizeof(sub), "%s/files", r->path);
	if (mkdir(sub, 0755) != 0)
		goto fail;
	snprintf(sub, sizeof(sub), "%s/filenames", r->path);
	if (mkdir(sub, 0755) != 0)
		goto fail;
	if (put(r, "method", method, strlen(method), 0) != 0 ||
	    put(r, "url", url, strlen(url), 0) != 0 ||
	    (auth != NULL && put(r, "authorization", auth, strlen(auth), 0) != 0))
		goto fail;
	/* NULL unless the body is a form: such a body is counted but not kept. */
	r->pp = MHD_create_post_processor(c, 64 * 1024, form_part, r);
	return r;
fail:
	fprintf(stderr, "sandbox_api: %s: %s\n", r->path, strerror(errno));
	free(r);
	return NULL;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct req *r = *con_cls;
	char body[128], p[PATH_MAX + 8];
	size_t n;

	(void)cls;
	(void)version;
	if (r == NULL) {
		if (nreq >= MAX_REQUESTS)
			return answer(c, 503, "{\"error\": \"too many requests\"}");
		r = req_new(c, url, method);
		if (r == NULL)
			return MHD_NO;
		*con_cls = r;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		r->body += *upload_size;
		if (r->body > MAX_BODY)
			r->too_big = 1;
		else if (r->pp != NULL && MHD_post_process(r->pp, upload, *upload_size) != MHD_YES)
			r->too_big = 1;
		*upload_size = 0;
		return MHD_YES;
	}
	snprintf(p, sizeof(p), "%s/fail", dir);
	if (r->too_big)
		return answer(c, 413, "{\"error\": \"body refused\"}");
	if (access(p, F_OK) == 0)
		return answer(c, 500, "{\"error\": \"told to fail\"}");
	n = strlen(url);
	if (n > 0 && url[n - 1] == '/')
		snprintf(body, sizeof(body), "{\"error\": false, \"data\": {\"task_ids\": [%d]}}",
		    nreq);
	else
		snprintf(body, sizeof(body), "{\"task_id\": %d}", nreq);
	return answer(c, 200, body);
}

static void
done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t)
{
	struct req *r = *con_cls;

	(void)cls;
	(void)c;
	(void)t;
	if (r == NULL)
		return;
	if (r->pp != NULL)
		MHD_destroy_post_processor(r->pp);
	free(r);
	*con_cls = NULL;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	unsigned lifetime = 60;
	sigset_t set;
	int sig;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: sandbox_api DIR [LIFETIME_SECONDS [PORT]]\n");
		return 2;
	}
	dir = argv[1];
	if (argc >= 3)
		lifetime = (unsigned)strtoul(argv[2], NULL, 10);
	memset(&sin, 0, sizeof(sin));
	if (argc == 4)
		sin.sin_port = htons((uint16_t)strtoul(argv[3], NULL, 10));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* SIGTERM and the lifetime's alarm are taken by sigwait below, in this thread only. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	    handle, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
	    MHD_OPTION_NOTIFY_COMPLETED, done, NULL, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
	    MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "sandbox_api: cannot start the server\n");
		return 1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (info == NULL || info->port == 0) {
		fprintf(stderr, "sandbox_api: no port\n");
		MHD_stop_daemon(d);
		return 1;
	}
	printf("port %u\n", (unsigned)info->port);
	fflush(stdout);
	alarm(lifetime);
	if (sigwait(&set, &sig) != 0)
		sig = 0;
	MHD_stop_daemon(d);
	return sig == SIGALRM ? 1 : 0;
}
