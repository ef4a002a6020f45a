/*
 * bench_poll: loads N records (argv[1], default 1,000,000) into a store, serves it from a
 * TAXII server in a child process, and polls the whole observations collection over HTTP
 * on 127.0.0.1: one Poll_Request, then a Poll_Fulfillment per further part, each answer
 * parsed and its content blocks counted. Like a real poller, the client asks for the next
 * part while it parses the last one (a second thread does the HTTP), so the figure is
 * bounded by the slower side rather than the sum of both. Prints one JSON line:
 * records/s, MB/s of XML, time to first byte, p50/p99 per part (request to last byte),
 * and the server's peak RSS. The records' packages are prepared first, as the first poll of
 * a record does (prepared, prepare_s), so the poll timed is a later one; BENCH_COLD=1 times
 * a first poll instead. Then one COUNT_ONLY poll of the collection (count_only_ms).
 * Last, the same poll again by a client that parses nothing and only counts the content
 * blocks as bytes arrive (server_*): what the server sends, where the first figures are
 * bounded by the client's own parse of the XML.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libxml/parser.h>

#include "bench/bench_common.h"
#include "fed/fed.h"
#include "store/store.h"
#include "taxii/taxii.h"
#include "util/util.h"

struct resp {
	struct util_buf body;
};

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;

	return util_buf_add(&r->body, p, size * n) == 0 ? size * n : 0;
}

static void poll_msg(struct taxii_msg *m, char *id, uint64_t part, const char *result_id);

/* A client that only counts blocks: their end tags, across the writes of the body. */
#define BLOCK_END "</taxii_11:Content_Block>"

struct counter {
	char carry[sizeof(BLOCK_END)];
	size_t ncarry, blocks, bytes;
	char head[4096]; /* the body's start, where result_id and more are */
	size_t nhead;
};

static size_t
on_count(char *p, size_t size, size_t n, void *arg)
{
	struct counter *c = arg;
	size_t len = size * n, tl = sizeof(BLOCK_END) - 1;
	char win[2 * sizeof(BLOCK_END)];
	const char *q, *end = p + len;

	if (c->nhead < sizeof(c->head) - 1) {
		size_t k = len < sizeof(c->head) - 1 - c->nhead ? len : sizeof(c->head) - 1 - c->nhead;

		memcpy(c->head + c->nhead, p, k);
		c->nhead += k;
		c->head[c->nhead] = '\0';
	}
	/* A tag split between two writes: the last bytes before with the first ones now. */
	if (c->ncarry > 0) {
		size_t k = len < tl - 1 ? len : tl - 1;

		memcpy(win, c->carry, c->ncarry);
		memcpy(win + c->ncarry, p, k);
		for (size_t i = 0; i + tl <= c->ncarry + k; i++)
			if (i < c->ncarry && memcmp(win + i, BLOCK_END, tl) == 0)
				c->blocks++;
	}
	for (q = p; (q = memmem(q, (size_t)(end - q), BLOCK_END, tl)) != NULL; q += tl)
		c->blocks++;
	c->ncarry = len < tl - 1 ? len : tl - 1;
	memcpy(c->carry, end - c->ncarry, c->ncarry);
	c->bytes += len;
	return len;
}

/* Polls every part over handle h, counting blocks only. Returns 0 or -1. */
static int
count_poll(CURL *h, size_t *blocks, size_t *bytes, double *secs, double *ttfb)
{
	struct util_buf req;
	struct taxii_msg m;
	struct taxii_err err = {0};
	char id[TAXII_ID_MAX], result_id[TAXII_ID_MAX + 2] = "";
	double t0 = bench_now();
	int more = 1, ret = -1;

	*blocks = *bytes = 0;
	*ttfb = 0;
	util_buf_init(&req, 0);
	for (uint64_t part = 1; more && part < 10000000; part++) {
		struct counter c;
		const char *rid, *tag;

		memset(&c, 0, sizeof(c));
		poll_msg(&m, id, part, result_id);
		util_buf_reset(&req);
		if (taxii_msg_write(&m, &req, &err) != 0)
			goto out;
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.data);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)req.len);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_count);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &c);
		if (curl_easy_perform(h) != CURLE_OK)
			goto out;
		if (part == 1) {
			curl_off_t st = 0;

			curl_easy_getinfo(h, CURLINFO_STARTTRANSFER_TIME_T, &st);
			*ttfb = (double)st / 1e6;
		}
		*blocks += c.blocks;
		*bytes += c.bytes;
		/* The Poll_Response's start tag says whether more parts follow. */
		tag = strstr(c.head, "Poll_Response");
		if (tag == NULL)
			goto out;
		more = strstr(tag, " more=\"true\"") != NULL &&
		    strstr(tag, " more=\"true\"") < strchr(tag, '>');
		if (part == 1 && more) {
			rid = strstr(tag, " result_id=\"");
			if (rid == NULL)
				goto out;
			rid += 12;
			snprintf(result_id, sizeof(result_id), "%.*s", (int)strcspn(rid, "\""), rid);
		}
	}
	*secs = bench_now() - t0;
	ret = 0;
out:
	util_buf_fini(&req);
	return ret;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* One HTTP exchange, run on its own thread so the next part travels while the last one
 * is parsed. */
struct fetch {
	CURL *h;
	struct util_buf req, body;
	double secs, ttfb;
	int ok;
	pthread_t thread;
};

static void *
fetch_run(void *arg)
{
	struct fetch *f = arg;
	struct resp r;
	curl_off_t st = 0;
	double t0 = bench_now();

	util_buf_init(&r.body, 256u * 1024 * 1024);
	curl_easy_setopt(f->h, CURLOPT_POSTFIELDS, f->req.data);
	curl_easy_setopt(f->h, CURLOPT_POSTFIELDSIZE, (long)f->req.len);
	curl_easy_setopt(f->h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(f->h, CURLOPT_WRITEDATA, &r);
	f->ok = curl_easy_perform(f->h) == CURLE_OK;
	f->secs = bench_now() - t0;
	curl_easy_getinfo(f->h, CURLINFO_STARTTRANSFER_TIME_T, &st);
	f->ttfb = (double)st / 1e6;
	f->body = r.body;
	return NULL;
}

static int
fetch_start(struct fetch *f, const struct taxii_msg *req)
{
	struct taxii_err err = {0};

	util_buf_reset(&f->req);
	util_buf_fini(&f->body);
	if (taxii_msg_write(req, &f->req, &err) != 0)
		return -1;
	return pthread_create(&f->thread, NULL, fetch_run, f) == 0 ? 0 : -1;
}

static void
poll_msg(struct taxii_msg *m, char *id, uint64_t part, const char *result_id)
{
	memset(m, 0, sizeof(*m));
	taxii_msg_id_new(id);
	m->version = TAXII_V11;
	m->message_id = id;
	m->collection = "observations";
	if (part == 1) {
		m->type = TAXII_MSG_POLL_REQ;
		m->has_poll_params = 1;
		m->response_type = TAXII_RESP_FULL;
	} else {
		m->type = TAXII_MSG_POLL_FULFILLMENT;
		m->result_id = result_id;
		m->result_part = part;
	}
}

int
main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
	char dir[] = "/tmp/c2w-bench-poll-XXXXXX", url[128], id[TAXII_ID_MAX], cmd[128];
	struct curl_slist *hdrs = NULL;
	unsigned port = 0;
	pid_t server = -1;
	CURL *h = NULL;
	double *parts = NULL, t0, total_s, first_ttfb = 0;
	size_t nparts = 0, cap = 1024, records = 0, bytes = 0;
	long server_rss;
	size_t prepared = 0;
	double prepare_s = 0, count_only_ms = -1, disk_per_record = 0;
	uint64_t counted = 0;
	size_t srv_blocks = 0, srv_bytes = 0;
	double srv_s = 0, srv_ttfb = 0;
	int rc = 1;

	if (n <= 0 || mkdtemp(dir) == NULL) {
		fprintf(stderr, "usage: bench_poll [N>0]\n");
		return 2;
	}
	if (bench_fill(dir, "bench-node", n) != 0)
		goto out;
	/* The packages a first poll would prepare, prepared ahead and timed (fed_prepare),
	 * so that the poll measured is a later one; BENCH_COLD=1 measures a first poll. */
	if (getenv("BENCH_COLD") == NULL) {
		struct store *ps = NULL;
		struct store_err serr = {{0}};
		char perr[512];

		t0 = bench_now();
		if (store_open(dir, &(struct store_opts){.no_sync = 1}, &ps, &serr) != STORE_OK ||
		    fed_prepare(ps, 0, &prepared, perr, sizeof(perr)) != 0) {
			fprintf(stderr, "bench_poll: preparing: %s\n", ps ? perr : serr.msg);
			store_close(ps);
			goto out;
		}
		prepare_s = bench_now() - t0;
		disk_per_record = (double)store_disk_bytes(ps) / (double)n;
		store_close(ps);
	}
	server = bench_server(dir, "bench-node", &port);
	if (server < 0) {
		fprintf(stderr, "bench_poll: the server did not start\n");
		goto out;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	xmlInitParser();
	h = curl_easy_init();
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/taxii/poll", port);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/xml");
	hdrs = curl_slist_append(hdrs, "Accept: application/xml");
	hdrs = curl_slist_append(hdrs, "X-TAXII-Content-Type: urn:taxii.mitre.org:message:xml:1.1");
	hdrs = curl_slist_append(hdrs, "X-TAXII-Accept: urn:taxii.mitre.org:message:xml:1.1");
	hdrs = curl_slist_append(hdrs, "X-TAXII-Services: urn:taxii.mitre.org:services:1.1");
	hdrs = curl_slist_append(hdrs, "X-TAXII-Protocol: urn:taxii.mitre.org:protocol:http:1.0");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	parts = malloc(cap * sizeof(*parts));
	if (parts == NULL)
		goto out;

	t0 = bench_now();
	{
		struct fetch f[2];
		struct taxii_msg req, *m = NULL;
		struct taxii_err err = {0};
		char result_id[TAXII_ID_MAX + 2] = "", id2[TAXII_ID_MAX];
		int cur = 0, more = 1;

		for (int i = 0; i < 2; i++) {
			memset(&f[i], 0, sizeof(f[i]));
			f[i].h = i == 0 ? h : curl_easy_duphandle(h);
			util_buf_init(&f[i].req, 0);
			util_buf_init(&f[i].body, 0);
		}
		poll_msg(&req, id, 1, NULL);
		if (fetch_start(&f[0], &req) != 0)
			goto out;
		for (uint64_t part = 1; more; part++) {
			struct fetch *fp = &f[cur];

			pthread_join(fp->thread, NULL);
			if (!fp->ok) {
				fprintf(stderr, "bench_poll: part %llu: HTTP failed\n",
				    (unsigned long long)part);
				goto out;
			}
			/* After the first part the result id is known: ask for the next part
			 * before parsing this one. */
			if (part > 1) {
				poll_msg(&req, id2, part + 1, result_id);
				if (fetch_start(&f[1 - cur], &req) != 0)
					goto out;
			}
			if (taxii_msg_parse(fp->body.data, fp->body.len, TAXII_V11, &m, &err) != 0 ||
			    m->type != TAXII_MSG_POLL_RESP) {
				fprintf(stderr, "bench_poll: part %llu: %s\n", (unsigned long long)part,
				    m && m->message ? m->message : err.msg);
				taxii_msg_free(m);
				if (part > 1)
					pthread_join(f[1 - cur].thread, NULL);
				goto out;
			}
			if (part == 1)
				first_ttfb = fp->ttfb;
			if (nparts == cap) {
				double *np = realloc(parts, 2 * cap * sizeof(*parts));

				if (np == NULL) {
					fprintf(stderr, "bench_poll: out of memory\n");
					goto out;
				}
				parts = np;
				cap *= 2;
			}
			parts[nparts++] = fp->secs;
			bytes += fp->body.len;
			records += m->n_blocks;
			more = m->more;
			if (part == 1 && m->result_id)
				snprintf(result_id, sizeof(result_id), "%s", m->result_id);
			taxii_msg_free(m);
			m = NULL;
			if (part == 1 && more) {
				poll_msg(&req, id2, 2, result_id);
				if (fetch_start(&f[1 - cur], &req) != 0)
					goto out;
			} else if (part > 1 && !more) {
				/* The speculative request past the last part: drop its answer. */
				pthread_join(f[1 - cur].thread, NULL);
			}
			cur = 1 - cur;
		}
		for (int i = 0; i < 2; i++) {
			util_buf_fini(&f[i].req);
			util_buf_fini(&f[i].body);
			if (i == 1)
				curl_easy_cleanup(f[i].h);
		}
	}
	total_s = bench_now() - t0;
	/* One COUNT_ONLY poll of the whole collection, request to last byte. */
	{
		struct fetch cf;
		struct taxii_msg req, *m = NULL;
		struct taxii_err err = {0};

		memset(&cf, 0, sizeof(cf));
		cf.h = h;
		util_buf_init(&cf.req, 0);
		util_buf_init(&cf.body, 0);
		poll_msg(&req, id, 1, NULL);
		req.response_type = TAXII_RESP_COUNT_ONLY;
		if (fetch_start(&cf, &req) == 0) {
			pthread_join(cf.thread, NULL);
			if (cf.ok && taxii_msg_parse(cf.body.data, cf.body.len, TAXII_V11, &m,
				&err) == 0 && m->type == TAXII_MSG_POLL_RESP && m->has_record_count) {
				count_only_ms = cf.secs * 1000;
				counted = m->record_count;
			}
			taxii_msg_free(m);
		}
		util_buf_fini(&cf.req);
		util_buf_fini(&cf.body);
	}
	if (count_poll(h, &srv_blocks, &srv_bytes, &srv_s, &srv_ttfb) != 0 || srv_s <= 0)
		fprintf(stderr, "bench_poll: the counting poll failed\n");
	server_rss = bench_peak_rss_kib(server);
	qsort(parts, nparts, sizeof(*parts), cmp_double);
	{
		struct rusage ru;

		getrusage(RUSAGE_SELF, &ru);
		printf("{\"records\":%zu,\"parts\":%zu,\"seconds\":%.3f,\"records_per_s\":%.0f,"
		       "\"xml_mb_per_s\":%.1f,\"xml_mb\":%.1f,\"ttfb_ms\":%.2f,\"part_p50_ms\":%.2f,"
		       "\"part_p99_ms\":%.2f,\"server_peak_rss_kib\":%ld,\"client_peak_rss_kib\":%ld,"
		       "\"prepared\":%zu,\"prepare_s\":%.3f,\"count_only_ms\":%.2f,"
		       "\"count_only_records\":%llu,\"disk_bytes_per_record\":%.0f,"
		       "\"server_records\":%zu,\"server_seconds\":%.3f,"
		       "\"server_records_per_s\":%.0f,\"server_mb_per_s\":%.1f,"
		       "\"server_ttfb_ms\":%.2f}\n",
		    records, nparts, total_s, (double)records / total_s,
		    (double)bytes / 1e6 / total_s, (double)bytes / 1e6, first_ttfb * 1000,
		    parts[nparts / 2] * 1000, parts[(size_t)((double)nparts * 0.99)] * 1000,
		    server_rss, ru.ru_maxrss, prepared, prepare_s, count_only_ms,
		    (unsigned long long)counted, disk_per_record, srv_blocks, srv_s,
		    srv_s > 0 ? (double)srv_blocks / srv_s : 0, srv_s > 0 ?
		    (double)srv_bytes / 1e6 / srv_s : 0, srv_ttfb * 1000);
	}
	rc = records == (size_t)n && srv_blocks == (size_t)n ? 0 : 1;
	if (rc)
		fprintf(stderr, "bench_poll: polled %zu records of %ld (counting client: %zu)\n",
		    records, n, srv_blocks);
out:
	if (server > 0)
		bench_server_stop(server);
	curl_slist_free_all(hdrs);
	if (h)
		curl_easy_cleanup(h);
	free(parts);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_poll: could not remove %s\n", dir);
	return rc;
}
