/* Targets from any source (CSV, STIX, sandbox reports, TAXII inbox) into the store. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "record/record.h"
#include "node/cli.h"
#include "node/node.h"
#include "store/store.h"

struct put_ctx {
	json_t *targets;
	struct node_put_stats *st;
};

static int
put_targets(struct store_txn *t, void *arg)
{
	struct put_ctx *p = arg;
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
		if (rc == STORE_PUT_NEW)
			p->st->added++;
		else if (rc == STORE_PUT_UPDATED)
			p->st->updated++;
		else if (rc == STORE_PUT_SAME)
			p->st->same++;
		else
			return -1;
	}
	return 0;
}

int
node_put_targets(struct store *s, json_t *targets, struct node_put_stats *st)
{
	struct put_ctx p = {targets, st};
	struct store_err err = {{0}};

	if (store_write(s, put_targets, &p, &err) != STORE_OK) {
		cli_err("storing targets: %s", err.msg);
		return -1;
	}
	return 0;
}
