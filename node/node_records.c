/* Observation records from outside (peers, inbox, files) into the store: checked, then
 * merged by id in one transaction. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/cli.h"
#include "node/node.h"
#include "store/store.h"
#include "util/util.h"

int
node_record_keys(json_t *rec, const char **threat, const char **key, int64_t *when,
    unsigned char id[32], char *why, size_t whylen)
{
	const char *idhex = json_string_value(json_object_get(rec, "id"));
	const char *node = json_string_value(json_object_get(rec, "node"));
	const char *at = json_string_value(json_object_get(rec, "observed_at"));
	unsigned char want[STORE_ID_LEN];

	*threat = json_string_value(json_object_get(rec, "threat_id"));
	*key = json_string_value(json_object_get(json_object_get(rec, "target"), "input"));
	if (idhex == NULL || strlen(idhex) != 64 || util_unhex(idhex, id, STORE_ID_LEN) != 0) {
		snprintf(why, whylen, "id: not 64 hex digits");
		return -1;
	}
	if (*threat == NULL || **threat == '\0' || strlen(*threat) > STORE_THREAT_ID_MAX) {
		snprintf(why, whylen, "record %.16s: threat_id missing or too long", idhex);
		return -1;
	}
	if (node == NULL || *node == '\0' || *key == NULL || **key == '\0') {
		snprintf(why, whylen, "record %.16s: node or target.input missing", idhex);
		return -1;
	}
	if (at == NULL || util_time_parse(at, when) != 0) {
		snprintf(why, whylen, "record %.16s: observed_at is not an RFC 3339 time", idhex);
		return -1;
	}
	if (store_record_id(node, *key, *when, want) != 0 || memcmp(want, id, STORE_ID_LEN) != 0) {
		snprintf(why, whylen,
		    "record %.16s: id is not SHA-256 of its node, target input and time", idhex);
		return -1;
	}
	return 0;
}

struct merge {
	json_t *records;
	struct node_merge_stats *st;
	char *why;
	size_t whylen;
	struct store_obs *obs;
	char **texts;
	int *results;
	size_t n;
};

static int
merge_txn(struct store_txn *t, void *arg)
{
	struct merge *m = arg;

	if (store_put_obs_batch(t, m->obs, m->n, m->results, NULL) != STORE_OK)
		return -1;
	m->st->added = m->st->same = 0;
	for (size_t i = 0; i < m->n; i++) {
		if (m->results[i] == STORE_PUT_NEW)
			m->st->added++;
		else
			m->st->same++;
	}
	return 0;
}

int
node_put_records(struct store *s, json_t *records, struct node_merge_stats *st, char *why,
    size_t whylen)
{
	struct merge m = {records, st, why, whylen, NULL, NULL, NULL, 0};
	struct store_err err = {{0}};
	size_t i, total = json_array_size(records);
	json_t *rec;
	int ret = -1;

	memset(st, 0, sizeof(*st));
	if (why && whylen)
		why[0] = '\0';
	m.obs = calloc(total ? total : 1, sizeof(*m.obs));
	m.texts = calloc(total ? total : 1, sizeof(*m.texts));
	m.results = calloc(total ? total : 1, sizeof(*m.results));
	if (m.obs == NULL || m.texts == NULL || m.results == NULL) {
		cli_err("out of memory merging %zu records", total);
		goto out;
	}
	json_array_foreach(records, i, rec) {
		struct store_obs *o = &m.obs[m.n];
		char reason[256];

		if (node_record_keys(rec, &o->threat_id, &o->target_key, &o->observed_us, o->id,
			reason, sizeof(reason)) != 0) {
			if (st->rejected++ == 0 && why)
				snprintf(why, whylen, "%s", reason);
			continue;
		}
		m.texts[m.n] = json_dumps(rec, JSON_COMPACT);
		if (m.texts[m.n] == NULL) {
			cli_err("out of memory merging records");
			goto out;
		}
		o->json = m.texts[m.n];
		o->len = strlen(o->json);
		m.n++;
	}
	if (m.n && store_write(s, merge_txn, &m, &err) != STORE_OK) {
		cli_err("storing records: %s", err.msg);
		goto out;
	}
	ret = 0;
out:
	for (i = 0; m.texts && i < m.n; i++)
		free(m.texts[i]);
	free(m.texts);
	free(m.obs);
	free(m.results);
	return ret;
}
