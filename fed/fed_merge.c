/* Records and targets from outside (peers, inbox, files) into the store: checked first,
 * then written in one transaction, together with the peer's cursor when there is one, so
 * a merge is either wholly there or not at all. Content blocks (polled or pushed to the
 * inbox) are read here into such a merge. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "fed/fed.h"
#include "record/record.h"
#include "stix/stix.h"
#include "store/store.h"
#include "util/util.h"

int
fed_record_keys(json_t *rec, const char **threat, const char **key, int64_t *when,
    unsigned char id[32], char *why, size_t whylen)
{
	struct rec_keys k;

	if (rec_check(rec, &k, why, whylen) != 0)
		return -1;
	*threat = k.threat_id;
	*key = k.target_key;
	*when = k.observed_us;
	memcpy(id, k.id, REC_ID_LEN);
	return 0;
}

/* What one transaction writes, prepared outside it. */
struct fed_commit {
	struct fed_merge *m;
	struct store_obs *obs;
	char **texts;
	int *results;
	size_t nobs;
	char **tkeys, **ttexts;
	size_t ntargets;
	struct store_batch *batch;
	const char *peer;
	int64_t cursor;
};

static void
commit_free(struct fed_commit *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nobs; i++)
		free(c->texts[i]);
	for (size_t i = 0; i < c->ntargets; i++) {
		free(c->tkeys[i]);
		free(c->ttexts[i]);
	}
	store_batch_free(c->batch);
	free(c->obs);
	free(c->texts);
	free(c->results);
	free(c->tkeys);
	free(c->ttexts);
	free(c);
}

/* Something is added after fed_merge_prepare: what it prepared no longer covers m. */
static void
unprepare(struct fed_merge *m)
{
	commit_free(m->prep);
	m->prep = NULL;
}

/* Where a text record's parts lie in fed_merge.text (offsets: the buffer may move). */
struct fed_text_rec {
	size_t json, json_len, threat, key, node;
	int64_t when;
	unsigned char id[STORE_ID_LEN];
};

/* A record whose fields rec_check_fields refused (rc -1) is refused as the trust set
 * refuses one, so that the rest of a poll or inbox message is still taken: why becomes
 * "record ID of node NODE refused: FIELD: what". Returns rc. */
static int
refuse_fields(int rc, const char *id, size_t idlen, const char *node, size_t nodelen,
    char *why, size_t whylen)
{
	char what[256];

	if (rc == 0)
		return 0;
	util_seterr(what, sizeof(what), "%s", why);
	util_seterr(why, whylen, "record %.*s of node %.*s refused: %s",
	    (int)(idlen > 64 ? 64 : idlen), id, (int)(nodelen > 200 ? 200 : nodelen), node, what);
	return rc;
}

struct fed_merge *
fed_merge_new(void)
{
	struct fed_merge *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	util_buf_init(&m->text, 0);
	util_buf_init(&m->scratch, 0);
	m->records = json_array();
	m->targets = json_array();
	if (m->records == NULL || m->targets == NULL) {
		fed_merge_free(m);
		return NULL;
	}
	return m;
}

void
fed_merge_free(struct fed_merge *m)
{
	if (m == NULL)
		return;
	unprepare(m);
	json_decref(m->records);
	json_decref(m->targets);
	util_buf_fini(&m->text);
	util_buf_fini(&m->scratch);
	free(m->text_recs);
	free(m);
}

size_t
fed_merge_pending(const struct fed_merge *m)
{
	return json_array_size(m->records) + json_array_size(m->targets) + m->n_text;
}

int
fed_merge_add_text(struct fed_merge *m, const struct rec_text *r, char *why, size_t whylen)
{
	struct rec_keys k;
	struct fed_text_rec t;
	size_t mark = m->text.len;

	unprepare(m);
	if (rec_check_text(r, &k, why, whylen) != 0)
		return -1;
	if (refuse_fields(rec_check_fields_text(r->json, r->len, why, whylen), r->f[REC_F_ID],
		r->flen[REC_F_ID], r->f[REC_F_NODE], r->flen[REC_F_NODE], why, whylen) != 0)
		return FED_REFUSED;
	if (m->trust != NULL && rec_trust_check_text(m->trust, r, why, whylen) == REC_TRUST_REFUSED)
		return FED_REFUSED;
	t.when = k.observed_us;
	memcpy(t.id, k.id, REC_ID_LEN);
	if (m->n_text == m->cap_text) {
		size_t cap = m->cap_text ? m->cap_text * 2 : 256;
		struct fed_text_rec *v = realloc(m->text_recs, cap * sizeof(*v));

		if (v == NULL)
			goto nomem;
		m->text_recs = v;
		m->cap_text = cap;
	}
	/* The keys as C strings, in the buffer the record will be kept in. */
	t.threat = m->text.len;
	if (util_buf_add(&m->text, k.threat_id, k.threat_len) || util_buf_add(&m->text, "", 1))
		goto nomem;
	t.key = m->text.len;
	if (util_buf_add(&m->text, k.target_key, k.key_len) || util_buf_add(&m->text, "", 1))
		goto nomem;
	t.node = m->text.len;
	if (util_buf_add(&m->text, r->f[REC_F_NODE], r->flen[REC_F_NODE]) ||
	    util_buf_add(&m->text, "", 1))
		goto nomem;
	t.json = m->text.len;
	t.json_len = r->len;
	if (util_buf_add(&m->text, r->json, r->len) || util_buf_add(&m->text, "", 1))
		goto nomem;
	m->text_recs[m->n_text++] = t;
	return 0;
nomem:
	m->text.len = mark;
	util_seterr(why, whylen, "out of memory");
	return -1;
}

int
fed_merge_add_record(struct fed_merge *m, json_t *rec, char *why, size_t whylen)
{
	const char *threat, *key;
	int64_t when;
	unsigned char id[STORE_ID_LEN];

	unprepare(m);
	if (fed_record_keys(rec, &threat, &key, &when, id, why, whylen) != 0)
		return -1;
	{
		const char *rid = json_string_value(json_object_get(rec, "id")),
			   *node = json_string_value(json_object_get(rec, "node"));

		if (refuse_fields(rec_check_fields(rec, why, whylen), rid, strlen(rid), node,
			strlen(node), why, whylen) != 0)
			return FED_REFUSED;
	}
	if (m->trust != NULL && rec_trust_check(m->trust, rec, why, whylen) == REC_TRUST_REFUSED)
		return FED_REFUSED;
	return json_array_append(m->records, rec) == 0 ? 0 : -1;
}

int
fed_merge_add_target(struct fed_merge *m, json_t *target, char *why, size_t whylen)
{
	unprepare(m);
	if (conf_target_check(target, why, whylen) != 0)
		return -1;
	return json_array_append(m->targets, target) == 0 ? 0 : -1;
}

/* Counts what store_put_target did; -1 when it failed. */
static int
count_target(int rc, struct fed_merge_stats *st)
{
	if (rc == STORE_PUT_NEW)
		st->targets_added++;
	else if (rc == STORE_PUT_UPDATED)
		st->targets_updated++;
	else if (rc == STORE_PUT_SAME)
		st->targets_same++;
	else
		return -1;
	return 0;
}

static int
commit_txn(struct store_txn *t, void *arg)
{
	struct fed_commit *c = arg;
	struct fed_merge_stats *st = &c->m->stats;

	memset(st, 0, sizeof(*st));
	if (c->nobs && store_put_batch(t, c->batch, c->results, NULL) != STORE_OK)
		return -1;
	for (size_t i = 0; i < c->nobs; i++) {
		if (c->results[i] == STORE_PUT_NEW)
			st->added++;
		else
			st->same++;
	}
	for (size_t i = 0; i < c->ntargets; i++) {
		json_t *tg = json_array_get(c->m->targets, i);
		const char *threat = json_string_value(json_object_get(tg, "threat_id"));
		int rc = store_put_target(t, threat, c->tkeys[i], c->ttexts[i],
		    strlen(c->ttexts[i]));

		if (count_target(rc, st) != 0)
			return -1;
	}
	if (c->peer && store_put_cursor(t, c->peer, c->cursor) != STORE_OK)
		return -1;
	return 0;
}

int
fed_merge_prepare(struct fed_merge *m, char *err, size_t errlen)
{
	struct fed_commit *c;
	struct store_err serr = {{0}};
	size_t nrec = json_array_size(m->records) + m->n_text, ntg = json_array_size(m->targets);
	json_t *v;
	size_t i;

	if (m->prep)
		return 0;
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		util_seterr(err, errlen, "out of memory");
		return -1;
	}
	c->m = m;
	c->obs = calloc(nrec + 1, sizeof(*c->obs));
	c->texts = calloc(nrec + 1, sizeof(*c->texts));
	c->results = calloc(nrec + 1, sizeof(*c->results));
	c->tkeys = calloc(ntg + 1, sizeof(*c->tkeys));
	c->ttexts = calloc(ntg + 1, sizeof(*c->ttexts));
	if (!c->obs || !c->texts || !c->results || !c->tkeys || !c->ttexts) {
		util_seterr(err, errlen, "out of memory");
		goto fail;
	}
	json_array_foreach(m->records, i, v) {
		struct store_obs *o = &c->obs[c->nobs];
		char why[256];

		/* Checked when added; the keys are read again into the batch here. */
		if (fed_record_keys(v, &o->threat_id, &o->target_key, &o->observed_us, o->id,
			why, sizeof(why)) != 0) {
			util_seterr(err, errlen, "%s", why);
			goto fail;
		}
		c->texts[c->nobs] = json_dumps(v, JSON_COMPACT);
		if (c->texts[c->nobs] == NULL) {
			util_seterr(err, errlen, "out of memory");
			goto fail;
		}
		o->json = c->texts[c->nobs];
		o->len = strlen(o->json);
		o->origin = json_string_value(json_object_get(v, "node"));
		c->nobs++;
	}
	for (i = 0; i < m->n_text; i++) {
		const struct fed_text_rec *t = &m->text_recs[i];
		struct store_obs *o = &c->obs[c->nobs++];

		/* Checked when added; the text is m's (c->texts[] stays NULL for it). */
		memcpy(o->id, t->id, STORE_ID_LEN);
		o->threat_id = m->text.data + t->threat;
		o->target_key = m->text.data + t->key;
		o->observed_us = t->when;
		o->json = m->text.data + t->json;
		o->len = t->json_len;
		o->origin = m->text.data + t->node;
	}
	json_array_foreach(m->targets, i, v) {
		char key[8192];

		if (rec_target_key(v, key, sizeof(key)) != 0) {
			util_seterr(err, errlen, "a target without destination");
			goto fail;
		}
		c->tkeys[i] = strdup(key);
		c->ttexts[i] = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
		c->ntargets = i + 1;
		if (c->tkeys[i] == NULL || c->ttexts[i] == NULL) {
			util_seterr(err, errlen, "out of memory");
			goto fail;
		}
	}
	if (c->nobs && store_batch_new(c->obs, c->nobs, &c->batch, &serr) != STORE_OK) {
		util_seterr(err, errlen, "%s", serr.msg);
		goto fail;
	}
	m->prep = c;
	return 0;
fail:
	commit_free(c);
	return -1;
}

int
fed_merge_commit(struct fed_merge *m, struct store *s, const char *peer, int64_t cursor,
    char *err, size_t errlen)
{
	struct store_err serr = {{0}};
	struct fed_commit *c;
	int ret = -1;

	if (fed_merge_prepare(m, err, errlen) != 0)
		return -1;
	c = m->prep;
	c->peer = peer;
	c->cursor = cursor;
	if ((c->nobs || c->ntargets || peer) && store_write(s, commit_txn, c, &serr) != STORE_OK) {
		util_seterr(err, errlen, "%s", serr.msg);
		goto out;
	}
	ret = 0;
out:
	unprepare(m);
	return ret;
}

int
fed_put_records(struct store *s, json_t *records, const struct rec_trust *trust,
    struct fed_merge_stats *st, char *why, size_t whylen, char *err, size_t errlen)
{
	struct fed_merge *m = fed_merge_new();
	char cerr[512];
	size_t i, rejected = 0;
	json_t *rec;

	if (why && whylen)
		why[0] = '\0';
	if (m == NULL) {
		util_seterr(err, errlen, "out of memory");
		return -1;
	}
	m->trust = trust;
	json_array_foreach(records, i, rec) {
		char reason[512];
		int rc = fed_merge_add_record(m, rec, reason, sizeof(reason));

		if (rc == FED_REFUSED) {
			util_seterr(err, errlen, "%s", reason);
			fed_merge_free(m);
			return FED_REFUSED;
		}
		if (rc != 0) {
			if (rejected++ == 0 && why)
				util_seterr(why, whylen, "%s", reason);
		}
	}
	if (fed_merge_commit(m, s, NULL, 0, cerr, sizeof(cerr)) != 0) {
		util_seterr(err, errlen, "storing records: %s", cerr);
		fed_merge_free(m);
		return -1;
	}
	*st = m->stats;
	st->rejected = rejected;
	fed_merge_free(m);
	return 0;
}

/* Checked targets written straight in the transaction: a whole CSV's worth never has its
 * keys and texts prepared at once, as a merge's would be. */
struct put_targets {
	json_t *targets;
	struct fed_merge_stats *st;
};

static int
put_targets_txn(struct store_txn *t, void *arg)
{
	struct put_targets *p = arg;
	size_t i;
	json_t *tg;

	memset(p->st, 0, sizeof(*p->st));
	json_array_foreach(p->targets, i, tg) {
		char key[8192];
		const char *threat = json_string_value(json_object_get(tg, "threat_id"));
		char *text;
		int rc;

		if (threat == NULL || rec_target_key(tg, key, sizeof(key)) != 0)
			return -1;
		text = json_dumps(tg, JSON_COMPACT | JSON_SORT_KEYS);
		if (text == NULL)
			return -1;
		rc = store_put_target(t, threat, key, text, strlen(text));
		free(text);
		if (count_target(rc, p->st) != 0)
			return -1;
	}
	return 0;
}

int
fed_put_targets(struct store *s, json_t *targets, struct fed_merge_stats *st, char *err,
    size_t errlen)
{
	struct put_targets p = {targets, st};
	struct store_err serr = {{0}};

	if (store_write(s, put_targets_txn, &p, &serr) != STORE_OK) {
		util_seterr(err, errlen, "storing targets: %s", serr.msg);
		return -1;
	}
	return 0;
}

int
fed_content_merge(struct fed_merge *m, const struct taxii_content_block *blocks, size_t n,
    const char *threat_override, char *err, size_t errlen)
{
	struct stix_result res;
	struct util_buf *scratch = &m->scratch;
	char why[512];
	size_t i;
	json_t *v;
	int ret = -1;

	stix_result_init(&res);
	for (i = 0; i < n; i++) {
		struct rec_text rt;
		int rc;

		/* c2watch's own records travel as canonical text: kept as such, unparsed. */
		if (blocks[i].node != NULL || (blocks[i].is_xml && blocks[i].content != NULL)) {
			util_buf_reset(scratch);
			rc = blocks[i].node != NULL ?
			    stix_observation_text(blocks[i].node, scratch, &rt) :
			    stix_observation_text_xml(blocks[i].content, blocks[i].content_len,
				scratch, &rt);
			if (rc < 0) {
				util_seterr(err, errlen, "content block %zu: %s", i + 1,
				    stix_strerror(rc));
				goto out;
			}
			if (rc == 1) {
				rc = fed_merge_add_text(m, &rt, why, sizeof(why));
				if (rc == FED_REFUSED) {
					fed_logf(m->log, FED_LOG_WARN, "%s", why);
					m->refused++;
				} else if (rc != 0) {
					util_seterr(err, errlen, "%s", why);
					goto out;
				}
				continue;
			}
		}
		rc = blocks[i].node != NULL ?
		    stix_read_node(blocks[i].node, threat_override, &res, why, sizeof(why)) :
		    stix_read(blocks[i].content, blocks[i].content_len, threat_override, &res, why,
			sizeof(why));

		if (rc != STIX_OK) {
			util_seterr(err, errlen, "content block %zu: %s", i + 1, why);
			goto out;
		}
	}
	json_array_foreach(res.records, i, v) {
		int rc = fed_merge_add_record(m, v, why, sizeof(why));

		if (rc == FED_REFUSED) {
			fed_logf(m->log, FED_LOG_WARN, "%s", why);
			m->refused++;
		} else if (rc != 0) {
			util_seterr(err, errlen, "%s", why);
			goto out;
		}
	}
	json_array_foreach(res.targets, i, v) {
		if (threat_override)
			json_object_set_new(v, "threat_id", json_string(threat_override));
		if (fed_merge_add_target(m, v, why, sizeof(why)) != 0) {
			util_seterr(err, errlen, "indicator skipped: %s", why);
			goto out;
		}
	}
	ret = 0;
out:
	stix_result_fini(&res);
	return ret;
}
