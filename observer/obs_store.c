/*
 * What a cycle observed, stored: the targets are read from the store a chunk at a time,
 * each finished record waits in a batch (256 records or 2 s), and a batch is stored in one
 * transaction with the change events it gives. A record's events are derived from the
 * previous record this node made of the same destination, found in the store, and
 * handed to the caller's callback once stored: one place that writes the records and
 * notices state changes.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "observer/observer.h"
#include "record/record.h"
#include "store/store.h"
#include "util/util.h"

#define OBS_BATCH 256
#define OBS_FLUSH_US 2000000 /* a batch waits at most this long to be stored */

struct obs_run {
	const struct obs_config *cfg;
	struct store *s;
	int64_t window;   /* where the previous record is looked for first */
	obs_event_fn on_event;
	void *arg;
	struct obs_store_sum *sum;
	json_t *batch;  /* records waiting to be stored */
	json_t *events; /* their events */
	struct store_obs obs[OBS_BATCH];
	char *texts[OBS_BATCH];
	char **evtexts;
	size_t nobs, nev;
	int results[OBS_BATCH];
	int failed;
	int64_t last_flush_us;
	char *err;
	size_t errlen;
};

/* The last record before `until` that this node made of the destination. */
struct prev_find {
	const char *node;
	char needle[300]; /* "node":"ID" as compact JSON writes it; "" when ID needs escaping */
	json_t *rec;
};

static int
prev_cb(int64_t label, const unsigned char *id, const char *json, size_t len, void *arg)
{
	struct prev_find *f = arg;
	json_t *r = NULL;

	(void)label, (void)id;
	/* Most records of a busy destination come from peers: skip them before parsing. */
	if (f->needle[0] && memmem(json, len, f->needle, strlen(f->needle)) == NULL)
		return 0;
	r = json_loadb(json, len, 0, NULL);
	if (r == NULL)
		return 0;
	const char *node = json_string_value(json_object_get(r, "node"));

	if (node == NULL || strcmp(node, f->node) != 0) {
		json_decref(r);
		return 0;
	}
	json_decref(f->rec);
	f->rec = r;
	return 0;
}

/* The fields the store indexes a record by, from the one check every record passes
 * (record/): a refusal here is the observer's own error. */
static int
record_keys(const json_t *rec, struct store_obs *o, char *why, size_t whylen)
{
	struct rec_keys k;

	if (rec_check(rec, &k, why, whylen) != 0)
		return -1;
	memcpy(o->id, k.id, STORE_ID_LEN);
	o->threat_id = k.threat_id;
	o->target_key = k.target_key;
	o->observed_us = k.observed_us;
	o->origin = json_string_value(json_object_get(rec, "node"));
	return 0;
}

static int
flush_txn(struct store_txn *t, void *arg)
{
	struct obs_run *r = arg;
	int64_t label;

	if (store_put_obs_batch(t, r->obs, r->nobs, r->results, NULL) != STORE_OK)
		return -1;
	for (size_t i = 0; i < r->nev; i++)
		if (store_add_event(t, r->evtexts[i], strlen(r->evtexts[i]), &label) != STORE_OK)
			return -1;
	return 0;
}

/* Stores the waiting records and their events in one transaction, then hands the events
 * over. Returns 0, or -1 with r->err filled. */
static int
obs_flush(struct obs_run *r)
{
	struct store_err err = {{0}};
	size_t i, n = json_array_size(r->batch);
	json_t *rec;
	int ret = -1;

	r->nobs = r->nev = 0;
	json_array_clear(r->events);
	json_array_foreach(r->batch, i, rec) {
		struct store_obs *o = &r->obs[r->nobs];
		struct prev_find f = {r->cfg->node_id, "", NULL};
		char why[256];

		obs_tally_record(rec, &r->sum->tally);
		if (record_keys(rec, o, why, sizeof(why)) != 0) {
			util_seterr(r->err, r->errlen, "the observer made a record it refuses: %s",
			    why);
			goto out;
		}
		r->texts[r->nobs] = json_dumps(rec, JSON_COMPACT);
		if (r->texts[r->nobs] == NULL)
			goto oom;
		o->json = r->texts[r->nobs];
		o->len = strlen(o->json);
		r->nobs++;
		if (strpbrk(f.node, "\"\\/") == NULL)
			snprintf(f.needle, sizeof(f.needle), "\"node\":\"%.280s\"", f.node);
		/* The previous record is normally one interval back: look there first, and
		 * through the whole history only when it is not. */
		int rc = store_scan_obs(r->s, o->threat_id, o->target_key,
		    o->observed_us - r->window, o->observed_us, prev_cb, &f, &err);
		if (rc == STORE_OK && f.rec == NULL)
			rc = store_scan_obs(r->s, o->threat_id, o->target_key, INT64_MIN,
			    o->observed_us - r->window, prev_cb, &f, &err);
		if (rc != STORE_OK) {
			json_decref(f.rec);
			util_seterr(r->err, r->errlen, "reading the previous record: %s", err.msg);
			goto out;
		}
		json_t *ev = obs_events(f.rec, rec);
		json_decref(f.rec);
		if (ev == NULL || json_array_extend(r->events, ev) != 0) {
			json_decref(ev);
			goto oom;
		}
		json_decref(ev);
	}
	r->evtexts = calloc(json_array_size(r->events) + 1, sizeof(*r->evtexts));
	if (r->evtexts == NULL)
		goto oom;
	for (i = 0; i < json_array_size(r->events); i++) {
		r->evtexts[i] = json_dumps(json_array_get(r->events, i), JSON_COMPACT);
		if (r->evtexts[i] == NULL)
			goto oom;
		r->nev++;
	}
	if (n && store_write(r->s, flush_txn, r, &err) != STORE_OK) {
		util_seterr(r->err, r->errlen, "storing %zu records: %s", n, err.msg);
		goto out;
	}
	for (i = 0; i < r->nobs; i++)
		if (r->results[i] == STORE_PUT_NEW)
			r->sum->stored++;
	r->sum->events += r->nev;
	for (i = 0; r->on_event && i < r->nev; i++)
		r->on_event(r->arg, r->evtexts[i]);
	ret = 0;
	goto out;
oom:
	util_seterr(r->err, r->errlen, "storing records: out of memory");
out:
	for (i = 0; i < r->nobs; i++)
		free(r->texts[i]);
	for (i = 0; r->evtexts && i < r->nev; i++)
		free(r->evtexts[i]);
	free(r->evtexts);
	r->evtexts = NULL;
	r->nobs = r->nev = 0;
	json_array_clear(r->batch);
	return ret;
}

static int
obs_record(json_t *rec, void *arg)
{
	struct obs_run *r = arg;
	int64_t now = util_now_us();

	if (json_array_append(r->batch, rec) != 0)
		return -1;
	if (r->last_flush_us == 0)
		r->last_flush_us = now;
	if (json_array_size(r->batch) < OBS_BATCH && now - r->last_flush_us < OBS_FLUSH_US)
		return 0;
	r->last_flush_us = now;
	if (obs_flush(r) != 0) {
		r->failed = 1;
		return -1;
	}
	return 0;
}

/*
 * The stored targets, streamed to the cycle a chunk at a time so that the whole list is
 * never held. The store can only scan from the start, so each chunk is a new scan that
 * passes over the entries up to the last one taken: store keys are threat ID, NUL, SHA-256
 * of the target key, in byte order (LMDB's), and that position is what is kept. A scan per
 * chunk holds no read transaction while the cycle writes its records.
 */
#define OBS_CHUNK 4096
#define OBS_POS_MAX (STORE_THREAT_ID_MAX + 1 + UTIL_SHA256_LEN)

struct target_iter {
	struct store *s;
	const char *threat_id;
	json_t *chunk[OBS_CHUNK];
	size_t n, pos;
	unsigned char last[OBS_POS_MAX], prev[OBS_POS_MAX];
	size_t lastlen, prevlen; /* 0: none yet */
	int done, oom, disorder, failed;
	char *err;       /* why reading failed */
	size_t errlen;
};

static int
pos_cmp(const unsigned char *a, size_t al, const unsigned char *b, size_t bl)
{
	int d = memcmp(a, b, al < bl ? al : bl);

	return d ? d : (al > bl) - (al < bl);
}

static int
target_cb(const char *threat_id, const char *key, size_t key_len, const char *json,
    size_t len, void *arg)
{
	struct target_iter *it = arg;
	unsigned char pos[OBS_POS_MAX];
	size_t tl = strlen(threat_id), pl;
	json_t *t;

	if (tl > STORE_THREAT_ID_MAX)
		return 0; /* not a key the store writes */
	/* Entries of an earlier threat ID are passed over without hashing their key. */
	if (it->lastlen && pos_cmp((const unsigned char *)threat_id, tl + 1, it->last,
			       tl + 1 <= it->lastlen ? tl + 1 : it->lastlen) < 0)
		return 0;
	memcpy(pos, threat_id, tl + 1);
	if (util_sha256(key, key_len, pos + tl + 1) != 0) {
		it->oom = 1;
		return 1;
	}
	pl = tl + 1 + UTIL_SHA256_LEN;
	if (it->prevlen && pos_cmp(pos, pl, it->prev, it->prevlen) <= 0) {
		it->disorder = 1;
		return 1;
	}
	memcpy(it->prev, pos, pl);
	it->prevlen = pl;
	if (it->lastlen && pos_cmp(pos, pl, it->last, it->lastlen) <= 0)
		return 0;
	t = json_loadb(json, len, 0, NULL);
	if (t == NULL)
		return 0; /* the store only holds checked targets */
	it->chunk[it->n++] = t;
	memcpy(it->last, pos, pl);
	it->lastlen = pl;
	return it->n == OBS_CHUNK;
}

static int
target_next(void *arg, json_t **out)
{
	struct target_iter *it = arg;
	struct store_err serr = {{0}};
	int rc;

	if (it->pos == it->n && !it->done) {
		it->n = it->pos = 0;
		it->prevlen = 0;
		rc = store_scan_targets(it->s, it->threat_id, target_cb, it, &serr);
		if (rc < 0 || it->oom || it->disorder) {
			it->failed = 1;
			util_seterr(it->err, it->errlen, "reading targets: %s",
			    it->oom ? "out of memory" :
			    it->disorder ? "the store did not give them in key order" : serr.msg);
			return -1;
		}
		if (it->n < OBS_CHUNK)
			it->done = 1;
	}
	if (it->pos == it->n)
		return 0;
	*out = it->chunk[it->pos];
	it->chunk[it->pos++] = NULL;
	return 1;
}

int
obs_store_cycle(const struct obs_config *cfg, struct store *s, const char *threat_id,
    int64_t interval_us, obs_event_fn on_event, void *arg, struct obs_store_sum *sum,
    char *err, size_t errlen)
{
	struct store_err serr = {{0}};
	struct target_iter *it = calloc(1, sizeof(*it));
	struct obs_run r;
	size_t ntargets = 0;
	char cerr[512];
	int ret = -1;

	memset(sum, 0, sizeof(*sum));
	memset(&r, 0, sizeof(r));
	r.cfg = cfg;
	r.s = s;
	r.window = 3 * interval_us;
	if (r.window < 86400LL * 1000000)
		r.window = 86400LL * 1000000;
	r.on_event = on_event;
	r.arg = arg;
	r.sum = sum;
	r.err = err;
	r.errlen = errlen;
	r.batch = json_array();
	r.events = json_array();
	if (it == NULL || r.batch == NULL || r.events == NULL) {
		util_seterr(err, errlen, "out of memory");
		goto out;
	}
	if (store_count_targets(s, threat_id, &ntargets, &serr) != STORE_OK) {
		util_seterr(err, errlen, "reading targets: %s", serr.msg);
		goto out;
	}
	if (ntargets == 0) {
		ret = 1;
		goto out;
	}
	it->s = s;
	it->threat_id = threat_id;
	it->err = err;
	it->errlen = errlen;
	if (obs_cycle_run_iter(cfg, target_next, it, ntargets, obs_record, &r, &sum->st, cerr,
		sizeof(cerr)) != 0) {
		char later[512];

		/* A failed flush or target read said why already. What is still waiting is
		 * stored all the same; the first failure is the one reported. */
		if (!r.failed && !it->failed)
			util_seterr(err, errlen, "%s", cerr);
		r.err = later;
		r.errlen = sizeof(later);
		obs_flush(&r);
		goto out;
	}
	if (obs_flush(&r) != 0)
		goto out;
	ret = 0;
out:
	for (size_t i = 0; it && i < it->n; i++)
		json_decref(it->chunk[i]);
	free(it);
	json_decref(r.batch);
	json_decref(r.events);
	return ret;
}
