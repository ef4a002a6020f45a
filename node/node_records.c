/* Records and targets from outside (peers, inbox, files) into the store: checked first,
 * then written in one transaction, together with the peer's cursor when there is one, so
 * a merge is either wholly there or not at all. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "node/cli.h"
#include "node/node.h"
#include "record/record.h"
#include "store/store.h"
#include "util/util.h"

int
node_record_keys(json_t *rec, const char **threat, const char **key, int64_t *when,
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

/* Where a text record's parts lie in node_merge.text (offsets: the buffer may move). */
struct node_text_rec {
	size_t json, json_len, threat, key;
	int64_t when;
	unsigned char id[STORE_ID_LEN];
};

struct node_merge *
node_merge_new(void)
{
	struct node_merge *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	util_buf_init(&m->text, 0);
	util_buf_init(&m->scratch, 0);
	m->records = json_array();
	m->targets = json_array();
	if (m->records == NULL || m->targets == NULL) {
		node_merge_free(m);
		return NULL;
	}
	return m;
}

void
node_merge_free(struct node_merge *m)
{
	if (m == NULL)
		return;
	json_decref(m->records);
	json_decref(m->targets);
	util_buf_fini(&m->text);
	util_buf_fini(&m->scratch);
	free(m->text_recs);
	free(m);
}

size_t
node_merge_pending(const struct node_merge *m)
{
	return json_array_size(m->records) + json_array_size(m->targets) + m->n_text;
}

int
node_merge_add_text(struct node_merge *m, const struct rec_text *r, char *why, size_t whylen)
{
	struct rec_keys k;
	struct node_text_rec t;
	size_t mark = m->text.len;

	if (rec_check_text(r, &k, why, whylen) != 0)
		return -1;
	t.when = k.observed_us;
	memcpy(t.id, k.id, REC_ID_LEN);
	if (m->n_text == m->cap_text) {
		size_t cap = m->cap_text ? m->cap_text * 2 : 256;
		struct node_text_rec *v = realloc(m->text_recs, cap * sizeof(*v));

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
	t.json = m->text.len;
	t.json_len = r->len;
	if (util_buf_add(&m->text, r->json, r->len) || util_buf_add(&m->text, "", 1))
		goto nomem;
	m->text_recs[m->n_text++] = t;
	return 0;
nomem:
	m->text.len = mark;
	snprintf(why, whylen, "out of memory");
	return -1;
}

int
node_merge_add_record(struct node_merge *m, json_t *rec, char *why, size_t whylen)
{
	const char *threat, *key;
	int64_t when;
	unsigned char id[STORE_ID_LEN];

	if (node_record_keys(rec, &threat, &key, &when, id, why, whylen) != 0)
		return -1;
	return json_array_append(m->records, rec) == 0 ? 0 : -1;
}

int
node_merge_add_target(struct node_merge *m, json_t *target, char *why, size_t whylen)
{
	if (conf_target_check(target, why, whylen) != 0)
		return -1;
	return json_array_append(m->targets, target) == 0 ? 0 : -1;
}

/* What one transaction writes, prepared outside it. */
struct commit {
	struct node_merge *m;
	struct store_obs *obs;
	char **texts;
	int *results;
	size_t nobs;
	char **tkeys, **ttexts;
	size_t ntargets;
	const char *peer;
	int64_t cursor;
};

static int
commit_txn(struct store_txn *t, void *arg)
{
	struct commit *c = arg;
	struct node_merge_stats *st = &c->m->stats;

	memset(st, 0, sizeof(*st));
	if (c->nobs && store_put_obs_batch(t, c->obs, c->nobs, c->results, NULL) != STORE_OK)
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

		if (rc == STORE_PUT_NEW)
			st->targets_added++;
		else if (rc == STORE_PUT_UPDATED)
			st->targets_updated++;
		else if (rc == STORE_PUT_SAME)
			st->targets_same++;
		else
			return -1;
	}
	if (c->peer && store_put_cursor(t, c->peer, c->cursor) != STORE_OK)
		return -1;
	return 0;
}

int
node_merge_commit(struct node_merge *m, struct store *s, const char *peer, int64_t cursor,
    char *err, size_t errlen)
{
	struct commit c;
	struct store_err serr = {{0}};
	size_t nrec = json_array_size(m->records) + m->n_text, ntg = json_array_size(m->targets);
	json_t *v;
	size_t i;
	int ret = -1;

	memset(&c, 0, sizeof(c));
	c.m = m;
	c.peer = peer;
	c.cursor = cursor;
	c.obs = calloc(nrec + 1, sizeof(*c.obs));
	c.texts = calloc(nrec + 1, sizeof(*c.texts));
	c.results = calloc(nrec + 1, sizeof(*c.results));
	c.tkeys = calloc(ntg + 1, sizeof(*c.tkeys));
	c.ttexts = calloc(ntg + 1, sizeof(*c.ttexts));
	if (!c.obs || !c.texts || !c.results || !c.tkeys || !c.ttexts) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	json_array_foreach(m->records, i, v) {
		struct store_obs *o = &c.obs[c.nobs];
		char why[256];

		/* Checked when added; the keys are read again into the batch here. */
		if (node_record_keys(v, &o->threat_id, &o->target_key, &o->observed_us, o->id,
			why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s", why);
			goto out;
		}
		c.texts[c.nobs] = json_dumps(v, JSON_COMPACT);
		if (c.texts[c.nobs] == NULL) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		o->json = c.texts[c.nobs];
		o->len = strlen(o->json);
		c.nobs++;
	}
	for (i = 0; i < m->n_text; i++) {
		const struct node_text_rec *t = &m->text_recs[i];
		struct store_obs *o = &c.obs[c.nobs++];

		/* Checked when added; the text is m's (c.texts[] stays NULL for it). */
		memcpy(o->id, t->id, STORE_ID_LEN);
		o->threat_id = m->text.data + t->threat;
		o->target_key = m->text.data + t->key;
		o->observed_us = t->when;
		o->json = m->text.data + t->json;
		o->len = t->json_len;
	}
	json_array_foreach(m->targets, i, v) {
		char key[8192];

		if (rec_target_key(v, key, sizeof(key)) != 0) {
			snprintf(err, errlen, "a target without destination");
			goto out;
		}
		c.tkeys[i] = strdup(key);
		c.ttexts[i] = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
		c.ntargets = i + 1;
		if (c.tkeys[i] == NULL || c.ttexts[i] == NULL) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	if ((c.nobs || c.ntargets || peer) && store_write(s, commit_txn, &c, &serr) != STORE_OK) {
		snprintf(err, errlen, "%s", serr.msg);
		goto out;
	}
	ret = 0;
out:
	for (i = 0; i < c.nobs; i++)
		free(c.texts[i]);
	for (i = 0; i < c.ntargets; i++) {
		free(c.tkeys[i]);
		free(c.ttexts[i]);
	}
	free(c.obs);
	free(c.texts);
	free(c.results);
	free(c.tkeys);
	free(c.ttexts);
	return ret;
}

int
node_put_records(struct store *s, json_t *records, struct node_merge_stats *st, char *why,
    size_t whylen)
{
	struct node_merge *m = node_merge_new();
	char err[512];
	size_t i, rejected = 0;
	json_t *rec;

	if (why && whylen)
		why[0] = '\0';
	if (m == NULL) {
		cli_err("out of memory");
		return -1;
	}
	json_array_foreach(records, i, rec) {
		char reason[256];

		if (node_merge_add_record(m, rec, reason, sizeof(reason)) != 0) {
			if (rejected++ == 0 && why)
				snprintf(why, whylen, "%s", reason);
		}
	}
	if (node_merge_commit(m, s, NULL, 0, err, sizeof(err)) != 0) {
		cli_err("storing records: %s", err);
		node_merge_free(m);
		return -1;
	}
	*st = m->stats;
	st->rejected = rejected;
	node_merge_free(m);
	return 0;
}
