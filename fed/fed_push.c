/* The one push loop (a peer's push and a subscription's push both run it), and fed's
 * logging through the caller's callback. See fed_push_run in fed.h for the policy. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fed/fed.h"
#include "stix/stix.h"
#include "store/store.h"
#include "util/util.h"

#define PUSH_MAX_BATCH 1000
#define PUSH_MAX_ROUNDS 100000 /* batches in one push */
#define PUSH_XML_CAP (64u * 1024 * 1024)

void
fed_logf(const struct fed_log *log, int level, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (log == NULL || log->fn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log->fn(log->arg, level, msg);
}

/* One batch of records after the cursor, as STIX packages with a NUL after each. */
struct batch {
	const struct fed_push *p;
	struct util_buf *xml;
	size_t offs[PUSH_MAX_BATCH];
	int64_t labels[PUSH_MAX_BATCH];
	size_t n, max;
	int64_t last;  /* the label the cursor may move to: the last record taken or passed */
	int bad;       /* a record that cannot be encoded ends the batch before it */
	char why[512];
};

static int
own(const char *json, size_t len, const char *node)
{
	json_t *rec = json_loadb(json, len, 0, NULL);
	const char *n = json_string_value(json_object_get(rec, "node"));
	int yes = n != NULL && strcmp(n, node) == 0;

	json_decref(rec);
	return yes;
}

static int
collect(int64_t label, const unsigned char *id, const char *json, size_t len, void *arg)
{
	struct batch *b = arg;
	size_t mark = b->xml->len;
	char hex[2 * STORE_ID_LEN + 1], why[256] = "";
	int rc;

	/* Only what this node observed, for a peer: merged records reach their other
	 * holders through their own origin's pushes and polls. */
	if (b->p->only_node != NULL && !own(json, len, b->p->only_node)) {
		b->last = label;
		return 0;
	}
	b->offs[b->n] = mark;
	rc = stix_observation_write_text(json, len, b->xml, why, sizeof(why));
	if (rc != STIX_OK || util_buf_add(b->xml, "", 1) != 0) {
		b->xml->len = mark;
		b->bad = 1;
		util_hex(id, STORE_ID_LEN, hex);
		util_seterr(b->why, sizeof(b->why),
		    "record %s (label %lld) cannot be written as STIX (%s): the push stops there",
		    hex, (long long)label, why[0] ? why : rc != STIX_OK ? stix_strerror(rc) :
		    "the batch is too large");
		return 1;
	}
	b->labels[b->n++] = label;
	b->last = label;
	return b->n == b->max ? 1 : 0;
}

long
fed_push_run(const struct fed_push *p, char *err, size_t errlen)
{
	struct taxii_content_block *blocks = NULL;
	struct store_err serr = {{0}};
	struct util_buf xml;
	struct batch *b = NULL;
	int64_t from = p->from;
	long sent = 0, ret = -1;

	util_buf_init(&xml, PUSH_XML_CAP);
	blocks = calloc(PUSH_MAX_BATCH, sizeof(*blocks));
	b = calloc(1, sizeof(*b));
	if (blocks == NULL || b == NULL) {
		util_seterr(err, errlen, "out of memory");
		goto out;
	}
	for (int round = 0; round < PUSH_MAX_ROUNDS && (p->stop == NULL || !*p->stop); round++) {
		int rc;

		util_buf_reset(&xml);
		memset(b, 0, sizeof(*b));
		b->p = p;
		b->xml = &xml;
		b->max = p->batch < 1 ? 1 : p->batch > PUSH_MAX_BATCH ? PUSH_MAX_BATCH : p->batch;
		b->last = from;
		/* Passed-over records do not fill a batch: the scan then ends by itself. */
		rc = store_scan_feed(p->s, from, INT64_MAX, p->only_node ? 0 : b->max, collect, b,
		    NULL, &serr);
		if (rc == STORE_ERR) {
			util_seterr(err, errlen, "%s", serr.msg);
			goto out;
		}
		for (size_t i = 0; i < b->n; i++) {
			memset(&blocks[i], 0, sizeof(blocks[i]));
			blocks[i].binding = TAXII_CB_STIX_12;
			blocks[i].content = xml.data + b->offs[i];
			blocks[i].content_len = strlen(blocks[i].content);
			blocks[i].is_xml = 1;
			blocks[i].has_timestamp = p->labels;
			blocks[i].timestamp_us = p->labels ? b->labels[i] : 0;
		}
		if (b->n && p->send(p->arg, blocks, b->n, from, b->last, err, errlen) != 0)
			goto out;
		sent += (long)b->n;
		if (b->last != from) {
			rc = p->sent(p->arg, b->last, err, errlen);
			if (rc < 0)
				goto out;
			from = b->last;
			if (rc > 0)
				break;
		}
		if (b->bad) {
			util_seterr(err, errlen, "%s", b->why);
			goto out;
		}
		if (b->n < b->max)
			break; /* the feed has nothing more after the cursor */
	}
	ret = sent;
out:
	util_buf_fini(&xml);
	free(blocks);
	free(b);
	return ret;
}
