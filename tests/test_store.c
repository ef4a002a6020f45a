/* store: targets, records, feed labels, cursors, events, map growth, schema versions and
 * two processes writing one data directory at once. */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lmdb.h>

#include "record/record.h"
#include "store/store.h"
#include "tests/tap.h"
#include "util/util.h"

static char tmpdir[] = "/tmp/c2w-store-XXXXXX";

static void
cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", tmpdir);
}

static const char *
subdir(const char *name)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

/* ---- a write callback that adds a batch of records */

struct batch {
	const char *threat;
	const char *node;
	int first, n;
	int64_t base_us;
	int fail_after; /* >0: return -1 after this many puts (to test aborts) */
	int added, same;
	int64_t labels[64];
	size_t pad; /* extra bytes of JSON per record, to fill maps */
};

static int
put_batch(struct store_txn *t, void *arg)
{
	struct batch *b = arg;
	char key[64], *json;
	size_t cap = 256 + b->pad;

	b->added = b->same = 0;
	json = malloc(cap);
	if (json == NULL)
		return -1;
	for (int i = b->first; i < b->first + b->n; i++) {
		struct store_obs o;
		int64_t label = 0;
		int rc, len;

		snprintf(key, sizeof(key), "http://t%d.example/", i % 7);
		memset(&o, 0, sizeof(o));
		o.origin = b->node;
		o.threat_id = b->threat;
		o.target_key = key;
		o.observed_us = b->base_us + (int64_t)i * 1000000;
		rec_id(b->node, key, o.observed_us, o.id);
		len = snprintf(json, cap, "{\"n\":%d,\"node\":\"%s\",\"pad\":\"%*s\"}", i, b->node,
		    (int)b->pad, "");
		o.json = json;
		o.len = (size_t)len;
		rc = store_put_obs(t, &o, &label);
		if (rc == STORE_ERR) {
			free(json);
			return rc;
		}
		if (rc == STORE_PUT_NEW)
			b->added++;
		else
			b->same++;
		if (i - b->first < 64)
			b->labels[i - b->first] = label;
		if (b->fail_after && b->added + b->same == b->fail_after) {
			free(json);
			return -1;
		}
	}
	free(json);
	return 0;
}

/* ---- scan collectors */

struct seen {
	int n;
	int64_t last_label;
	int ordered;
	char first_json[256];
	char keys[16][64];
};

static int
seen_record(int64_t label, const unsigned char *id, const char *json, size_t len, void *arg)
{
	struct seen *s = arg;

	if (s->n == 0)
		snprintf(s->first_json, sizeof(s->first_json), "%.*s", (int)len, json);
	if (label <= s->last_label)
		s->ordered = 0;
	s->last_label = label;
	s->n++;
	return 0;
}

static int
seen_target(const char *threat, const char *key, size_t key_len, const char *json, size_t len,
    void *arg)
{
	struct seen *s = arg;

	if (s->n < 16)
		snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s|%.*s", threat, (int)key_len, key);
	s->n++;
	return 0;
}

struct tgt {
	const char *threat, *key, *json;
	int rc;
};

static int
put_one_target(struct store_txn *t, void *arg)
{
	struct tgt *g = arg;

	g->rc = store_put_target(t, g->threat, g->key, g->json, strlen(g->json));
	return g->rc == STORE_ERR ? -1 : 0;
}

static void
test_targets(struct store *s)
{
	struct store_err err = {{0}};
	struct tgt g = {"APT-X", "http://a.example/gate.php", "{\"url\":\"http://a.example/gate.php\"}", 0};
	struct seen seen;
	size_t n = 0;

	ok(store_write(s, put_one_target, &g, &err) == 0 && g.rc == STORE_PUT_NEW, "new target");
	ok(store_write(s, put_one_target, &g, &err) == 0 && g.rc == STORE_PUT_SAME,
	    "same target again is one target");
	g.json = "{\"url\":\"http://a.example/gate.php\",\"summary\":\"x\"}";
	ok(store_write(s, put_one_target, &g, &err) == 0 && g.rc == STORE_PUT_UPDATED,
	    "changed attributes update it");
	g.threat = "APT-Y";
	ok(store_write(s, put_one_target, &g, &err) == 0 && g.rc == STORE_PUT_NEW,
	    "same destination under another threat ID is another target");
	g.threat = "APT-X";
	g.key = "1.2.3.4";
	g.json = "{\"ip\":\"1.2.3.4\"}";
	store_write(s, put_one_target, &g, &err);

	ok(store_count_targets(s, NULL, &n, &err) == 0 && n == 3, "three targets in all");
	ok(store_count_targets(s, "APT-X", &n, &err) == 0 && n == 2, "two of APT-X");
	ok(store_count_targets(s, "APT-", &n, &err) == 0 && n == 0,
	    "a threat ID prefix is not a threat ID");
	memset(&seen, 0, sizeof(seen));
	store_scan_targets(s, "APT-Y", seen_target, &seen, &err);
	is_int(seen.n, 1, "scan of APT-Y gives one");
	is_str(seen.keys[0], "APT-Y|http://a.example/gate.php", "with its threat ID and key");

	char longid[STORE_THREAT_ID_MAX + 2];
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	g.threat = longid;
	ok(store_write(s, put_one_target, &g, &err) != 0, "an over-long threat ID is refused");
	has_str(err.msg, "longer than", "and the error says why");
}

static void
test_records(struct store *s)
{
	struct store_err err = {{0}};
	struct batch b = {.threat = "APT-X", .node = "node-a", .first = 0, .n = 30,
	    .base_us = INT64_C(1795320000000000)};
	struct seen seen;
	size_t n;
	int64_t last;

	ok(store_write(s, put_batch, &b, &err) == 0, "30 records written");
	is_int(b.added, 30, "all new");
	int increasing = 1;
	for (int i = 1; i < 30; i++)
		if (b.labels[i] <= b.labels[i - 1])
			increasing = 0;
	ok(increasing, "labels strictly increase within a transaction");

	int64_t first_label = b.labels[0];
	ok(store_write(s, put_batch, &b, &err) == 0 && b.added == 0 && b.same == 30,
	    "the same records again are stored once");
	ok(b.labels[0] == first_label, "and keep their labels");
	store_count_records(s, &n, &err);
	is_int(n, 30, "30 records held");

	struct batch b2 = b;
	b2.threat = "APT-Y";
	b2.node = "node-b";
	b2.n = 5;
	store_write(s, put_batch, &b2, &err);
	ok(b2.labels[0] > b.labels[29], "a later transaction continues the label sequence");

	memset(&seen, 0, sizeof(seen));
	ok(store_scan_obs(s, "APT-X", NULL, INT64_MIN, INT64_MAX, seen_record, &seen, &err) == 0,
	    "scan by threat ID");
	is_int(seen.n, 30, "gives its 30 records, none of APT-Y");

	memset(&seen, 0, sizeof(seen));
	seen.ordered = 1;
	store_scan_obs(s, "APT-X", "http://t3.example/", INT64_MIN, INT64_MAX, seen_record, &seen,
	    &err);
	is_int(seen.n, 4, "one target's records (i %% 7 == 3: 3, 10, 17, 24)");
	ok(seen.ordered, "in time order");
	has_str(seen.first_json, "\"n\":3,", "oldest first");

	memset(&seen, 0, sizeof(seen));
	store_scan_obs(s, "APT-X", "http://t3.example/", b.base_us + 10 * 1000000,
	    b.base_us + 24 * 1000000, seen_record, &seen, &err);
	is_int(seen.n, 2, "a time window [10 s, 24 s) holds records 10 and 17");

	memset(&seen, 0, sizeof(seen));
	seen.ordered = 1;
	ok(store_scan_feed(s, 0, INT64_MAX, 0, seen_record, &seen, &last, &err) == 0,
	    "feed scan");
	is_int(seen.n, 35, "the feed holds every record");
	ok(seen.ordered && last == seen.last_label, "in label order, last label reported");

	memset(&seen, 0, sizeof(seen));
	store_scan_feed(s, b.labels[9], b.labels[19], 0, seen_record, &seen, &last, &err);
	is_int(seen.n, 10, "(label 9, label 19] is ten records");
	is_int(last, b.labels[19], "ending at label 19");

	memset(&seen, 0, sizeof(seen));
	store_scan_feed(s, 0, INT64_MAX, 7, seen_record, &seen, &last, &err);
	is_int(seen.n, 7, "a limit caps a part");
	is_int(last, b.labels[6], "and the last label is where the next part begins");

	ok(store_count_feed(s, b.labels[4], INT64_MAX, &n, &err) == 0 && n == 30,
	    "count after label 4 (25 of APT-X + 5 of APT-Y)");
	ok(store_count_feed(s, b.labels[19], b.labels[9], &n, &err) == 0 && n == 0,
	    "begin after end counts nothing");

	unsigned char id[STORE_ID_LEN];
	rec_id("node-a", "http://t0.example/", b.base_us, id);
	memset(&seen, 0, sizeof(seen));
	ok(store_get_record(s, id, b.base_us, seen_record, &seen, &err) == 0 && seen.n == 1,
	    "get a record by id");
	has_str(seen.first_json, "\"n\":0,", "the right one");
	ok(store_get_record(s, id, b.base_us + 1, seen_record, &seen, &err) == STORE_NOTFOUND,
	    "the id with another time is not that record");
	id[0] ^= 1;
	ok(store_get_record(s, id, b.base_us, seen_record, &seen, &err) == STORE_NOTFOUND,
	    "unknown id");

	/* An aborted write leaves nothing behind. */
	struct batch b3 = {.threat = "APT-Z", .node = "n", .n = 10, .base_us = 1, .fail_after = 5};
	ok(store_write(s, put_batch, &b3, &err) == -1, "a write whose callback fails fails");
	store_count_records(s, &n, &err);
	is_int(n, 35, "and none of its records are stored");
}

/* A small batch of "{}" records, one target's, at the times and by the nodes given. */
struct edge {
	const char *threat, *target;
	int no_origin; /* records without an origin (rec_id still takes the node) */
	int64_t t[6];
	const char *node[6];
	size_t n;
	int results[6];
	int64_t labels[6];
};

static int
put_edge(struct store_txn *t, void *arg)
{
	struct edge *e = arg;
	struct store_obs o[6];

	memset(o, 0, sizeof(o));
	for (size_t i = 0; i < e->n; i++) {
		o[i].threat_id = e->threat;
		o[i].target_key = e->target;
		o[i].origin = e->no_origin ? NULL : e->node[i];
		o[i].observed_us = e->t[i];
		rec_id(e->node[i], e->target, e->t[i], o[i].id);
		o[i].json = "{}";
		o[i].len = 2;
	}
	return store_put_obs_batch(t, o, e->n, e->results, e->labels);
}

static void
test_batch(struct store *s)
{
	struct store_err err = {{0}};
	/* records 0 and 2 are the same record arriving twice in one batch */
	struct edge d = {.threat = "DUP", .target = "d.example", .t = {1000, 1001, 1000, 1003},
	    .node = {"n", "n", "n", "n"}, .n = 4};
	struct seen seen = {.ordered = 1};

	ok(store_write(s, put_edge, &d, &err) == 0, "a batch with a repeated record");
	ok(d.results[0] == STORE_PUT_NEW && d.results[1] == STORE_PUT_NEW &&
		d.results[2] == STORE_PUT_SAME && d.results[3] == STORE_PUT_NEW,
	    "the repeat is reported as already present");
	ok(d.labels[2] == d.labels[0], "and carries the first copy's label");
	ok(d.labels[0] < d.labels[1] && d.labels[1] < d.labels[3],
	    "labels follow the batch's order");
	store_scan_obs(s, "DUP", "d.example", INT64_MIN, INT64_MAX, seen_record, &seen, &err);
	is_int(seen.n, 3, "three records stored");
	ok(store_write(s, put_edge, &d, &err) == 0 && d.results[0] == STORE_PUT_SAME &&
		d.results[1] == STORE_PUT_SAME && d.results[3] == STORE_PUT_SAME,
	    "the whole batch again adds nothing");
}

static void
test_append_edge(struct store *s)
{
	struct store_err err = {{0}};
	/* around the id index's last key: older records new and held, newer ones (appended
	 * without a lookup), and a copy of a newer one in the same batch */
	struct edge first = {.threat = "EDGE", .target = "e.example", .t = {100, 105, 110},
	    .node = {"n", "n", "n"}, .n = 3};
	struct edge next = {.threat = "EDGE", .target = "e.example",
	    .t = {95, 105, 105, 120, 120, 110},
	    .node = {"n", "n", "m", "n", "n", "m"}, .n = 6};
	struct seen seen;
	int want[6] = {STORE_PUT_NEW, STORE_PUT_SAME, STORE_PUT_NEW, STORE_PUT_NEW,
	    STORE_PUT_SAME, STORE_PUT_NEW};
	int right = 1;

	ok(store_write(s, put_edge, &first, &err) == 0, "edge: three records");
	ok(store_write(s, put_edge, &next, &err) == 0, "edge: a batch around the last key (%s)",
	    err.msg);
	for (int i = 0; i < 6; i++)
		if (next.results[i] != want[i])
			right = 0;
	ok(right, "older new, older held, same time other node, newer, its copy, last time "
		  "other node: %d %d %d %d %d %d", next.results[0], next.results[1],
	    next.results[2], next.results[3], next.results[4], next.results[5]);
	ok(next.labels[1] == first.labels[1] && next.labels[4] == next.labels[3],
	    "the held record and the copy carry their labels");
	for (int i = 0; i < 6; i++) {
		unsigned char id[STORE_ID_LEN];

		rec_id(next.node[i], "e.example", next.t[i], id);
		memset(&seen, 0, sizeof(seen));
		ok(store_get_record(s, id, next.t[i], seen_record, &seen, &err) == STORE_OK &&
			seen.n == 1,
		    "edge: record %d found by id and time", i);
	}
	memset(&seen, 0, sizeof(seen));
	store_scan_obs(s, "EDGE", NULL, INT64_MIN, INT64_MAX, seen_record, &seen, &err);
	is_int(seen.n, 7, "seven records held");
	ok(store_write(s, put_edge, &next, &err) == 0 && next.results[0] == STORE_PUT_SAME &&
		next.results[2] == STORE_PUT_SAME && next.results[3] == STORE_PUT_SAME &&
		next.results[5] == STORE_PUT_SAME,
	    "the batch again adds nothing");
}

/* A batch large enough to be prepared on two threads, with bad threat IDs placed by
 * the test: the first in the batch's order is the one reported, and nothing is stored. */
struct big {
	size_t n, bad[2];
	char (*threat)[260];
	int rc;
};

static int
put_big(struct store_txn *t, void *arg)
{
	struct big *g = arg;
	struct store_obs *o = calloc(g->n, sizeof(*o));

	if (o == NULL)
		return -1;
	for (size_t i = 0; i < g->n; i++) {
		o[i].threat_id = g->threat[i];
		snprintf(g->threat[i], sizeof(g->threat[i]), "BIG-%zu", i % 10);
		o[i].target_key = "b.example";
		o[i].origin = "n";
		o[i].observed_us = 5000 + (int64_t)i;
		rec_id("n", "b.example", o[i].observed_us, o[i].id);
		o[i].json = "{\"http\":{\"status\":200,\"sha256\":null}}";
		o[i].len = strlen(o[i].json);
	}
	for (int j = 0; j < 2; j++)
		if (g->bad[j] < g->n) {
			memset(g->threat[g->bad[j]], j ? 'y' : 'x', 201);
			g->threat[g->bad[j]][201] = '\0';
		}
	g->rc = store_put_obs_batch(t, o, g->n, NULL, NULL);
	free(o);
	return g->rc == STORE_OK ? 0 : -1;
}

static void
test_big_batch(struct store *s)
{
	struct store_err err = {{0}};
	struct big g = {.n = 10000};
	size_t before = 0, after = 0;
	struct seen seen;

	g.threat = calloc(g.n, sizeof(*g.threat));
	if (g.threat == NULL) {
		ok(0, "memory for the big batch");
		return;
	}
	store_count_records(s, &before, &err);
	g.bad[0] = 7000;
	g.bad[1] = 9000;
	ok(store_write(s, put_big, &g, &err) == -1, "big batch: bad threat IDs in its second half "
		"refuse it");
	has_str(err.msg, "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\" is empty or longer",
	    "and the error names the first of them");
	g.bad[0] = 9000;
	g.bad[1] = 100;
	ok(store_write(s, put_big, &g, &err) == -1, "one in each half");
	has_str(err.msg, "\"yyyyyyyy", "the first in the batch's order is reported");
	store_count_records(s, &after, &err);
	is_int(after, before, "nothing of either is stored");
	g.bad[0] = g.bad[1] = g.n;
	ok(store_write(s, put_big, &g, &err) == 0, "the batch without them is stored (%s)",
	    err.msg);
	store_count_records(s, &after, &err);
	is_int(after, before + g.n, "all 10,000 records");
	memset(&seen, 0, sizeof(seen));
	store_scan_obs(s, "BIG-3", "b.example", INT64_MIN, INT64_MAX, seen_record, &seen, &err);
	is_int(seen.n, 1000, "a tenth of them under one threat ID");
	free(g.threat);
}

/* A scan of several chunks: each record handed over with its own label and bytes, grouped
 * by target and in time order within one, whichever thread looked it up. */
struct long_seen {
	int n, stop_at, groups, bad_group, bad_time, cur_target, last_n;
	int *n_of;       /* n of each record given, in the order given */
	int64_t *labels; /* and its label */
};

static int
long_record(int64_t label, const unsigned char *id, const char *json, size_t len, void *arg)
{
	struct long_seen *s = arg;
	const char *p = memmem(json, len, "\"n\":", 4);
	int n = p ? atoi(p + 4) : -1;

	(void)id;
	if (s->stop_at && s->n == s->stop_at)
		return 1;
	if (s->n == 0 || n % 7 != s->cur_target) {
		s->groups++;
		s->cur_target = n % 7;
	} else if (n <= s->last_n) {
		s->bad_time++;
	}
	s->last_n = n;
	if (s->n < 12000) {
		s->n_of[s->n] = n;
		s->labels[s->n] = label;
	}
	s->n++;
	return 0;
}

static void
test_long_scan(struct store *s)
{
	struct store_err err = {{0}};
	struct batch b = {.threat = "LONG", .node = "n", .first = 0, .n = 12000,
	    .base_us = INT64_C(1795420000000000)};
	struct long_seen seen = {0};
	int64_t *by_n;
	int paired = 1, all = 1;

	seen.n_of = calloc(12000, sizeof(*seen.n_of));
	seen.labels = calloc(12000, sizeof(*seen.labels));
	by_n = calloc(12000, sizeof(*by_n));
	if (seen.n_of == NULL || seen.labels == NULL || by_n == NULL) {
		ok(0, "memory for the long scan");
		goto out;
	}
	ok(store_write(s, put_batch, &b, &err) == 0 && b.added == 12000,
	    "12,000 records of seven targets, their labels interleaving the targets");
	ok(store_scan_obs(s, "LONG", NULL, INT64_MIN, INT64_MAX, long_record, &seen, &err) == 0,
	    "a scan of three chunks (%s)", err.msg);
	is_int(seen.n, 12000, "gives every record once");
	is_int(seen.groups, 7, "grouped by target");
	is_int(seen.bad_time, 0, "in time order within each target");
	/* Records were written in the order of n, one transaction: labels grow with n. A
	 * label handed over with another record's bytes breaks that. */
	for (int i = 0; i < 12000 && i < seen.n; i++) {
		if (seen.n_of[i] < 0 || seen.n_of[i] >= 12000 || by_n[seen.n_of[i]] != 0) {
			all = 0;
			continue;
		}
		by_n[seen.n_of[i]] = seen.labels[i];
	}
	for (int i = 1; i < 12000; i++)
		if (by_n[i] <= by_n[i - 1])
			paired = 0;
	ok(all && paired, "each record with its own label");
	{
		int *n_of = seen.n_of;
		int64_t *labels = seen.labels;

		memset(&seen, 0, sizeof(seen));
		seen.n_of = n_of;
		seen.labels = labels;
	}
	seen.stop_at = 5000;
	ok(store_scan_obs(s, "LONG", NULL, INT64_MIN, INT64_MAX, long_record, &seen, &err) == 1 &&
	    seen.n == 5000, "a callback that stops in the second chunk stops the scan there");
out:
	free(seen.n_of);
	free(seen.labels);
	free(by_n);
}

static int
put_cursor_and_event(struct store_txn *t, void *arg)
{
	int64_t label;

	if (store_put_cursor(t, "cert-b", *(int64_t *)arg) != 0)
		return -1;
	if (store_add_event(t, "{\"kind\":\"up\"}", 13, &label) != 0)
		return -1;
	return store_add_event(t, "{\"kind\":\"down\"}", 15, &label);
}

static void
test_cursors_events(struct store *s)
{
	struct store_err err = {{0}};
	int64_t label = 12345, got = 0;
	struct seen seen;

	ok(store_get_cursor(s, "cert-b", &got, &err) == STORE_NOTFOUND, "no cursor before a poll");
	ok(store_write(s, put_cursor_and_event, &label, &err) == 0, "cursor and events written");
	ok(store_get_cursor(s, "cert-b", &got, &err) == 0 && got == 12345, "cursor read back");
	memset(&seen, 0, sizeof(seen));
	seen.ordered = 1;
	store_scan_events(s, 0, INT64_MAX, seen_record, &seen, &err);
	is_int(seen.n, 2, "two events");
	has_str(seen.first_json, "up", "oldest first");
}

/* Subscriptions: put, read back inside a write (read-modify-write), scan in id order. */
struct sub_rmw {
	const char *id;
	int found;
	char old[64];
};

static int
sub_put_two(struct store_txn *t, void *arg)
{
	(void)arg;
	if (store_put_sub(t, "sub-b", "{\"status\":\"ACTIVE\"}", 19) != 0)
		return -1;
	return store_put_sub(t, "sub-a", "{\"status\":\"PAUSED\"}", 19);
}

static int
sub_rmw(struct store_txn *t, void *arg)
{
	struct sub_rmw *r = arg;
	const char *data;
	size_t len;
	int rc = store_txn_get_sub(t, r->id, &data, &len);

	r->found = rc;
	if (rc != STORE_OK)
		return rc == STORE_NOTFOUND ? 0 : -1;
	snprintf(r->old, sizeof(r->old), "%.*s", (int)len, data);
	return store_put_sub(t, r->id, "{\"status\":\"UNSUBSCRIBED\"}", 25);
}

static int
sub_bad_id(struct store_txn *t, void *arg)
{
	return store_put_sub(t, (const char *)arg, "x", 1);
}

struct sub_seen {
	int n;
	char ids[128];
	char last[64];
};

static int
sub_seen_cb(const char *id, size_t id_len, const char *data, size_t len, void *arg)
{
	struct sub_seen *ss = arg;
	size_t used = strlen(ss->ids);

	ss->n++;
	snprintf(ss->ids + used, sizeof(ss->ids) - used, "%.*s,", (int)id_len, id);
	snprintf(ss->last, sizeof(ss->last), "%.*s", (int)len, data);
	return 0;
}

static void
test_subs(struct store *s)
{
	struct store_err err = {{0}};
	struct sub_seen ss;
	struct sub_rmw r = {.id = "sub-a"};
	char longid[STORE_SUB_ID_MAX + 2];

	memset(&ss, 0, sizeof(ss));
	ok(store_get_sub(s, "sub-a", sub_seen_cb, &ss, &err) == STORE_NOTFOUND,
	    "no subscription before one is made");
	ok(store_write(s, sub_put_two, NULL, &err) == 0, "two subscriptions written (%s)",
	    err.msg);
	ok(store_scan_subs(s, sub_seen_cb, &ss, &err) == 0, "subscriptions scanned");
	is_int(ss.n, 2, "both are there");
	is_str(ss.ids, "sub-a,sub-b,", "in id order");
	ok(store_write(s, sub_rmw, &r, &err) == 0, "read-modify-write in one transaction");
	is_int(r.found, STORE_OK, "the subscription is found inside the write");
	is_str(r.old, "{\"status\":\"PAUSED\"}", "with the bytes put before");
	memset(&ss, 0, sizeof(ss));
	ok(store_get_sub(s, "sub-a", sub_seen_cb, &ss, &err) == STORE_OK && ss.n == 1,
	    "one subscription by id");
	is_str(ss.last, "{\"status\":\"UNSUBSCRIBED\"}", "its new state was committed");
	r.id = "sub-zz";
	ok(store_write(s, sub_rmw, &r, &err) == 0 && r.found == STORE_NOTFOUND,
	    "an unknown id is STORE_NOTFOUND inside a write");
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	ok(store_write(s, sub_bad_id, longid, &err) == STORE_ERR, "an over-long id is refused");
	has_str(err.msg, "subscription id", "and the error says which");
	ok(store_write(s, sub_bad_id, "", &err) == STORE_ERR, "an empty id is refused");
}

static void
test_growth(void)
{
	struct store_opts o = {.map_size = 1 << 20, .no_sync = 1};
	struct store_err err = {{0}};
	struct store *s = NULL;
	size_t n = 0;

	ok(store_open(subdir("grow"), &o, &s, &err) == 0, "open with a 1 MiB map");
	if (s == NULL)
		return;
	/* 2,000 records of 4 KiB in one transaction: 8 MiB, far past the first map. */
	struct batch b = {.threat = "G", .node = "n", .n = 2000, .base_us = 1, .pad = 4096};
	ok(store_write(s, put_batch, &b, &err) == 0, "an 8 MiB transaction commits (%s)", err.msg);
	ok(b.added == 2000, "the rerun after growing counts each record once");
	ok(store_map_size(s) > (1 << 20), "the map grew (%zu bytes)", store_map_size(s));
	store_count_records(s, &n, &err);
	is_int(n, 2000, "every record is there");
	store_close(s);
}

static int
count_sub(const char *id, size_t id_len, const char *data, size_t len, void *arg)
{
	(void)id, (void)id_len, (void)data, (void)len;
	++*(int *)arg;
	return 0;
}

static void
test_schema(void)
{
	struct store_err err = {{0}};
	struct store *s = NULL;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = {6, "schema"}, v = {2, "99"};

	ok(store_open(subdir("schema"), NULL, &s, &err) == 0, "fresh data directory");
	store_close(s);
	s = NULL;
	/* Pretend a newer c2watch wrote it. */
	mdb_env_create(&env);
	mdb_env_set_maxdbs(env, 16);
	mdb_env_open(env, subdir("schema"), 0, 0600);
	mdb_txn_begin(env, NULL, 0, &txn);
	mdb_dbi_open(txn, "meta", 0, &dbi);
	mdb_put(txn, dbi, &k, &v, 0);
	mdb_txn_commit(txn);
	mdb_env_close(env);
	ok(store_open(subdir("schema"), NULL, &s, &err) == STORE_ERR && s == NULL,
	    "a newer schema is refused");
	has_str(err.msg, "newer c2watch (schema 99", "with a message that says so");

	ok(store_open(subdir("absent"), &(struct store_opts){.read_only = 1}, &s, &err) ==
		STORE_ERR,
	    "read-only open of a missing directory fails");
	FILE *fp = fopen(subdir("plainfile"), "w");
	if (fp)
		fclose(fp);
	ok(store_open(subdir("plainfile"), NULL, &s, &err) == STORE_ERR, "a file is no data dir");
	has_str(err.msg, "not a directory", "and says so");

	/* A data directory from before subscriptions, opened read-only, holds none. */
	{
		static const char *const old_dbs[] = { "meta", "targets", "feed", "obs", "ids",
			"cursors", "events" };
		MDB_val one = {1, "1"};
		int nsubs = 0;

		mkdir(subdir("oldschema"), 0700);
		mdb_env_create(&env);
		mdb_env_set_maxdbs(env, 16);
		mdb_env_open(env, subdir("oldschema"), 0, 0600);
		mdb_txn_begin(env, NULL, 0, &txn);
		for (size_t i = 0; i < sizeof(old_dbs) / sizeof(old_dbs[0]); i++)
			mdb_dbi_open(txn, old_dbs[i], MDB_CREATE | (i == 3 ? MDB_DUPSORT |
			    MDB_DUPFIXED : 0), &dbi);
		mdb_dbi_open(txn, "meta", 0, &dbi);
		mdb_put(txn, dbi, &k, &one, 0);
		mdb_txn_commit(txn);
		mdb_env_close(env);
		s = NULL;
		ok(store_open(subdir("oldschema"), &(struct store_opts){.read_only = 1}, &s,
		    &err) == 0, "a directory without \"subs\" opens read-only (%s)", err.msg);
		ok(s != NULL && store_scan_subs(s, count_sub, &nsubs, &err) == 0 && nsubs == 0,
		    "and holds no subscription");
		store_close(s);
		s = NULL;
		ok(store_open(subdir("oldschema"), NULL, &s, &err) == 0,
		    "opened for writing, it gains the database");
		store_close(s);
	}
}

/* Rewrites a data directory's id index the way schema 2 kept it: "ids", record id ->
 * label. With a stale "idt" (an upgrade cut short) when asked. 0 or an LMDB code. */
static int
make_schema2(const char *path, int stale_idt)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi meta, idt, ids;
	MDB_cursor *c = NULL;
	MDB_val sk = {6, "schema"}, sv = {1, "2"}, k, v;
	int rc, crc;

	if ((rc = mdb_env_create(&env)) != 0)
		return rc;
	mdb_env_set_maxdbs(env, 16);
	if ((rc = mdb_env_open(env, path, 0, 0600)) != 0 ||
	    (rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0)
		goto out;
	if ((rc = mdb_dbi_open(txn, "meta", 0, &meta)) != 0 ||
	    (rc = mdb_dbi_open(txn, "idt", 0, &idt)) != 0 ||
	    (rc = mdb_dbi_open(txn, "ids", MDB_CREATE, &ids)) != 0 ||
	    (rc = mdb_cursor_open(txn, idt, &c)) != 0)
		goto out;
	for (crc = mdb_cursor_get(c, &k, &v, MDB_FIRST); crc == 0;
	     crc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		MDB_val id = {k.mv_size - 8, (char *)k.mv_data + 8};

		if (k.mv_size != 8 + STORE_ID_LEN) {
			rc = MDB_CORRUPTED;
			goto out;
		}
		if ((rc = mdb_put(txn, ids, &id, &v, 0)) != 0)
			goto out;
	}
	mdb_cursor_close(c);
	c = NULL;
	if ((rc = mdb_drop(txn, idt, stale_idt ? 0 : 1)) != 0)
		goto out;
	if (stale_idt) {
		unsigned char junk[8 + STORE_ID_LEN] = {0x7f}, lbl[8] = {0};
		MDB_val jk = {sizeof(junk), junk}, jv = {8, lbl};

		if ((rc = mdb_put(txn, idt, &jk, &jv, 0)) != 0)
			goto out;
	}
	rc = mdb_put(txn, meta, &sk, &sv, 0);
out:
	if (c)
		mdb_cursor_close(c);
	if (txn)
		rc = rc ? (mdb_txn_abort(txn), rc) : mdb_txn_commit(txn);
	mdb_env_close(env);
	return rc;
}

/* What the directory holds: its schema, whether "ids" is there, "idt"'s entries. */
static int
inspect_ids(const char *path, char *schema, size_t schemalen, int *has_ids, size_t *idt_n)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi meta, dbi;
	MDB_val sk = {6, "schema"}, sv;
	MDB_stat st;
	int rc;

	if ((rc = mdb_env_create(&env)) != 0)
		return rc;
	mdb_env_set_maxdbs(env, 16);
	if ((rc = mdb_env_open(env, path, MDB_RDONLY, 0600)) != 0 ||
	    (rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0)
		goto out;
	if ((rc = mdb_dbi_open(txn, "meta", 0, &meta)) != 0 ||
	    (rc = mdb_get(txn, meta, &sk, &sv)) != 0)
		goto out;
	snprintf(schema, schemalen, "%.*s", (int)sv.mv_size, (const char *)sv.mv_data);
	*has_ids = mdb_dbi_open(txn, "ids", 0, &dbi) == 0;
	*idt_n = 0;
	if (mdb_dbi_open(txn, "idt", 0, &dbi) == 0 && mdb_stat(txn, dbi, &st) == 0)
		*idt_n = st.ms_entries;
out:
	if (txn)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	return rc;
}

static int idt_progress_calls;
static uint64_t idt_progress_done, idt_progress_total;

static void
idt_progress(uint64_t done, uint64_t total, void *arg)
{
	(void)arg;
	idt_progress_calls++;
	idt_progress_done = done;
	idt_progress_total = total;
}

/* A directory of schema 2 keeps its id index by id: read-only it is used as it is; opened
 * for writing it is rebuilt by time once, and what it held is still found and deduplicated. */
static void
test_ids_upgrade(void)
{
	struct store_err err = {{0}};
	struct store *s = NULL;
	struct batch b = {.threat = "UPG", .node = "node-u", .n = 40,
	    .base_us = INT64_C(1795320000000000)};
	struct seen seen;
	unsigned char id[STORE_ID_LEN];
	char schema[16] = "";
	int has_ids = 1;
	size_t n = 0, idt_n = 0;

	for (int stale = 0; stale <= 1; stale++) {
		const char *dir = subdir(stale ? "ids-stale" : "ids-old");
		char path[256];

		snprintf(path, sizeof(path), "%s", dir);
		ok(store_open(path, &(struct store_opts){.no_sync = 1}, &s, &err) == 0 &&
			store_write(s, put_batch, &b, &err) == 0 && b.added == 40,
		    "%s: 40 records written", stale ? "stale" : "old");
		store_close(s);
		s = NULL;
		is_int(make_schema2(path, stale), 0, "made schema 2%s",
		    stale ? ", with an upgrade's stale \"idt\"" : "");

		ok(store_open(path, &(struct store_opts){.read_only = 1}, &s, &err) == 0,
		    "schema 2 opens read-only (%s)", err.msg);
		rec_id("node-u", "http://t3.example/", b.base_us + 10 * 1000000, id);
		memset(&seen, 0, sizeof(seen));
		ok(s && store_get_record(s, id, b.base_us + 10 * 1000000, seen_record, &seen,
			    &err) == STORE_OK && seen.n == 1,
		    "read-only, a record is found by its id in the old index");
		has_str(seen.first_json, "\"n\":10,", "the right one");
		store_close(s);
		s = NULL;

		idt_progress_calls = 0;
		ok(store_open(path, &(struct store_opts){.no_sync = 1, .progress = idt_progress},
		       &s, &err) == 0,
		    "opened for writing, the index is rebuilt (%s)", err.msg);
		ok(idt_progress_calls >= 1 && idt_progress_done == 40 && idt_progress_total == 40,
		    "with progress (%d calls, %" PRIu64 " of %" PRIu64 ")", idt_progress_calls,
		    idt_progress_done, idt_progress_total);
		memset(&seen, 0, sizeof(seen));
		ok(s && store_get_record(s, id, b.base_us + 10 * 1000000, seen_record, &seen,
			    &err) == STORE_OK && seen.n == 1 && strstr(seen.first_json, "\"n\":10,"),
		    "the record is found by id and time");
		ok(s && store_write(s, put_batch, &b, &err) == 0 && b.added == 0 && b.same == 40,
		    "the same 40 records again add nothing");
		ok(s && store_count_records(s, &n, &err) == 0 && n == 40, "40 records held");
		store_close(s);
		s = NULL;
		is_int(inspect_ids(path, schema, sizeof(schema), &has_ids, &idt_n), 0,
		    "directory read");
		is_str(schema, "3", "schema 3 written");
		ok(!has_ids, "the old index is gone");
		is_int(idt_n, 40, "the new one holds each record once%s",
		    stale ? ", the stale entry dropped" : "");
		idt_progress_calls = 0;
		ok(store_open(path, &(struct store_opts){.progress = idt_progress}, &s, &err) == 0 &&
			idt_progress_calls == 0,
		    "the next open builds nothing");
		store_close(s);
		s = NULL;
	}
}

/* Two processes write one data directory at once, one of them growing the map. */
static void
test_two_processes(void)
{
	struct store_opts o = {.map_size = 1 << 20, .no_sync = 1};
	struct store_err err = {{0}};
	struct store *s = NULL;
	pid_t pid;
	int status = -1;

	ok(store_open(subdir("shared"), &o, &s, &err) == 0, "parent opens the shared store");
	if (s == NULL)
		return;
	pid = fork();
	if (pid == 0) {
		struct store *c = NULL;
		int bad = 0;

		if (store_open(subdir("shared"), &o, &c, &err) != 0)
			_exit(2);
		for (int i = 0; i < 40; i++) {
			struct batch b = {.threat = "C", .node = "child", .first = i * 50, .n = 50,
			    .base_us = 1, .pad = 2048};
			if (store_write(c, put_batch, &b, &err) != 0 || b.added != 50)
				bad = 1;
		}
		store_close(c);
		_exit(bad);
	}
	int bad = 0;
	for (int i = 0; i < 40; i++) {
		struct batch b = {.threat = "P", .node = "parent", .first = i * 50, .n = 50,
		    .base_us = 1, .pad = 2048};
		if (store_write(s, put_batch, &b, &err) != 0 || b.added != 50) {
			bad = 1;
			tap_diag("parent write %d: %s", i, err.msg);
		}
	}
	waitpid(pid, &status, 0);
	ok(!bad, "parent's 2,000 records written while the child writes");
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child's 2,000 records written");

	struct seen seen = {.ordered = 1};
	store_scan_feed(s, 0, INT64_MAX, 0, seen_record, &seen, NULL, &err);
	is_int(seen.n, 4000, "the feed holds both processes' records");
	ok(seen.ordered, "with labels unique and increasing across processes");
	store_close(s);
}

/* ---- the count index, prepared bytes and released pages */

struct labels {
	int64_t v[4000];
	int n;
	int prep_seen, prep_right, prep_none;
};

static int
take_label(int64_t label, const unsigned char *id, const char *json, size_t len, void *arg)
{
	struct labels *l = arg;

	(void)id, (void)json, (void)len;
	if (l->n < 4000)
		l->v[l->n++] = label;
	return 0;
}

/* Records with labels in (a, b] among the first n of l, by looking at each. */
static size_t
walk_count(const struct labels *l, int64_t a, int64_t b)
{
	size_t c = 0;

	for (int i = 0; i < l->n; i++)
		c += l->v[i] > a && l->v[i] <= b;
	return c;
}

static int
counts_agree(struct store *s, const struct labels *l, struct store_err *err)
{
	/* Windows on, between and around the marks (every 256 records). */
	static const int at[][2] = {{-1, 2999}, {0, 2999}, {254, 255}, {255, 256}, {100, 2000},
	    {255, 511}, {256, 767}, {1000, 1001}, {2047, 2999}, {-1, 255}, {2998, 2999}};
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		int64_t a = at[i][0] < 0 ? 0 : l->v[at[i][0]], b = l->v[at[i][1]];
		size_t n = 0;

		for (int64_t d = -1; d <= 1; d++) {
			if (store_count_feed(s, a, b + d, &n, err) != STORE_OK ||
			    n != walk_count(l, a, b + d)) {
				tap_diag("(%" PRId64 ", %" PRId64 "]: %zu, not %zu", a, b + d, n,
				    walk_count(l, a, b + d));
				return 0;
			}
		}
	}
	return 1;
}

struct prep_put {
	const struct labels *l;
	int rc_unknown;
};

static int
put_preps(struct store_txn *t, void *arg)
{
	struct prep_put *p = arg;
	char buf[64];

	/* Every third record gets bytes of its own. */
	for (int i = 0; i < p->l->n; i += 3) {
		int len = snprintf(buf, sizeof(buf), "<pkg n=\"%d\"/>", i);

		if (store_put_prep(t, p->l->v[i], buf, (size_t)len) != STORE_OK)
			return -1;
	}
	p->rc_unknown = store_put_prep(t, 12345, "x", 1);
	return 0;
}

static int
check_prep(int64_t label, const unsigned char *id, const char *json, size_t len,
    const char *prep, size_t prep_len, void *arg)
{
	struct labels *l = arg;
	int i = l->prep_seen++;
	char want[64];

	(void)id, (void)json, (void)len;
	if (i % 3 != 0) {
		l->prep_none += prep == NULL;
		return 0;
	}
	snprintf(want, sizeof(want), "<pkg n=\"%d\"/>", i);
	l->prep_right += prep != NULL && prep_len == strlen(want) &&
	    memcmp(prep, want, prep_len) == 0 && label == l->v[i];
	return 0;
}

static long
rss_file_kb(void)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "RssFile:", 8) == 0)
			v = strtol(line + 8, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

static void
test_feed_index(void)
{
	static struct labels l;
	struct store_err err = {{0}};
	struct store *s = NULL;
	int bad = 0;

	ok(store_open(subdir("counts"), &(struct store_opts){.no_sync = 1}, &s, &err) == 0,
	    "open a store for counts (%s)", err.msg);
	if (s == NULL)
		return;
	/* 3,000 records in batches of 60: marks fall inside batches as well as between. */
	for (int i = 0; i < 50 && !bad; i++) {
		struct batch b = {.threat = "C", .node = "n", .first = i * 60, .n = 60,
		    .base_us = 1, .pad = 2048};
		bad = store_write(s, put_batch, &b, &err) != 0 || b.added != 60;
	}
	ok(!bad, "3,000 records written (%s)", err.msg);
	memset(&l, 0, sizeof(l));
	store_scan_feed(s, 0, INT64_MAX, 0, take_label, &l, NULL, &err);
	is_int(l.n, 3000, "the feed gives them back");
	ok(counts_agree(s, &l, &err), "feed counts agree with a walk, on and off the marks");

	struct prep_put pp = {&l, 0};
	ok(store_write(s, put_preps, &pp, &err) == 0, "prepared bytes kept (%s)", err.msg);
	is_int(pp.rc_unknown, STORE_NOTFOUND, "none for a label the feed lacks");
	ok(store_scan_feed_prep(s, 0, INT64_MAX, 0, check_prep, &l, NULL, &err) == 0 &&
	    l.prep_seen == 3000, "a prepared scan gives every record");
	is_int(l.prep_right, 1000, "with the bytes kept beside a third of them");
	is_int(l.prep_none, 2000, "and none beside the others");
	int64_t lp = 0;
	ok(store_last_prep(s, &lp, &err) == 0 && lp == l.v[2997], "the last prepared label");

	long before = rss_file_kb();
	store_release_pages(s, 1);
	long after = rss_file_kb();
	ok(before > 0 && after >= 0 && after < before,
	    "releasing drops the map's resident pages (RssFile %ld kB -> %ld kB)", before, after);
	l.n = 0;
	store_scan_feed(s, 0, INT64_MAX, 0, take_label, &l, NULL, &err);
	is_int(l.n, 3000, "and the records read back the same after");
	store_close(s);

	/* A directory made before the count index: its marks are built when it is opened
	 * for writing, and until then counts still agree (they walk). */
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	int drc = mdb_env_create(&env);
	if (drc == 0)
		drc = mdb_env_set_maxdbs(env, 16);
	if (drc == 0)
		drc = mdb_env_open(env, subdir("counts"), 0, 0600);
	if (drc == 0)
		drc = mdb_txn_begin(env, NULL, 0, &txn);
	if (drc == 0)
		drc = mdb_dbi_open(txn, "feedmarks", 0, &dbi);
	if (drc == 0)
		drc = mdb_drop(txn, dbi, 1);
	if (drc == 0) {
		drc = mdb_txn_commit(txn);
		txn = NULL;
	}
	if (txn)
		mdb_txn_abort(txn);
	if (env)
		mdb_env_close(env);
	ok(drc == 0, "the count index dropped, as in an old directory (%s)", mdb_strerror(drc));
	s = NULL;
	ok(store_open(subdir("counts"), &(struct store_opts){.read_only = 1}, &s, &err) == 0,
	    "it opens read-only without the index (%s)", err.msg);
	if (s) {
		ok(counts_agree(s, &l, &err), "and counts agree");
		store_close(s);
	}
	s = NULL;
	ok(store_open(subdir("counts"), &(struct store_opts){.no_sync = 1}, &s, &err) == 0,
	    "opened for writing, the index is rebuilt (%s)", err.msg);
	if (s) {
		ok(counts_agree(s, &l, &err), "and counts agree");
		struct batch b = {.threat = "C", .node = "n", .first = 3000, .n = 300,
		    .base_us = 1};
		ok(store_write(s, put_batch, &b, &err) == 0 && b.added == 300,
		    "more records after the rebuild");
		size_t n = 0;
		int crc = store_count_feed(s, l.v[1000], INT64_MAX, &n, &err);
		ok(crc == 0 && n == 2299, "counted with them (%zu)", n);
		store_close(s);
	}
}

/* ---- records counted by origin */

struct origins_seen {
	int n;
	char names[8][32];
	uint64_t counts[8];
};

static int
origin_seen(const char *origin, size_t len, uint64_t count, void *arg)
{
	struct origins_seen *os = arg;

	(void)len;
	if (os->n < 8) {
		snprintf(os->names[os->n], sizeof(os->names[0]), "%s", origin);
		os->counts[os->n] = count;
	}
	os->n++;
	return 0;
}

/* The origin as the test's records write it: "node":"NAME". */
static int
test_origin_of(const char *json, size_t len, char *buf, size_t buflen, void *arg)
{
	const char *p = memmem(json, len, "\"node\":\"", 8), *e;

	(void)arg;
	if (p == NULL || (e = memchr(p + 8, '"', len - (size_t)(p + 8 - json))) == NULL ||
	    (size_t)(e - p - 8) >= buflen)
		return -1;
	memcpy(buf, p + 8, (size_t)(e - p - 8));
	buf[e - p - 8] = '\0';
	return 0;
}

static void
test_origins(void)
{
	struct store_err err = {{0}};
	struct store *s = NULL;
	struct batch a = {.threat = "OR", .node = "node-a", .first = 0, .n = 5, .base_us = 1000};
	struct batch b = {.threat = "OR", .node = "node-b", .first = 0, .n = 3, .base_us = 1000};
	struct edge d = {.threat = "DUP", .target = "d.example", .t = {1000, 1001, 1000, 1003},
	    .node = {"n", "n", "n", "n"}, .n = 4, .no_origin = 1};
	struct origins_seen os;
	int complete = -1;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta, origins;
	MDB_val k = {7, "origins"};

	if (!ok(store_open(subdir("origins"), &(struct store_opts){.no_sync = 1}, &s, &err) == 0,
		"origins: a new data directory"))
		return;
	ok(store_write(s, put_batch, &a, &err) == 0 && store_write(s, put_batch, &b, &err) == 0 &&
	    store_write(s, put_batch, &a, &err) == 0 && store_write(s, put_edge, &d, &err) == 0,
	    "origins: records of two nodes, one batch twice, records without an origin");
	memset(&os, 0, sizeof(os));
	ok(store_scan_origins(s, origin_seen, &os, &complete, &err) == 0, "origins: scanned");
	is_int(complete, 1, "origins: a new directory's counts are complete");
	is_int(os.n, 3, "origins: three origins");
	ok(os.n == 3 && strcmp(os.names[0], "") == 0 && os.counts[0] == 3, "origins: \"\" has 3");
	ok(os.n == 3 && strcmp(os.names[1], "node-a") == 0 && os.counts[1] == 5,
	    "origins: node-a has 5, the batch stored twice counted once");
	ok(os.n == 3 && strcmp(os.names[2], "node-b") == 0 && os.counts[2] == 3,
	    "origins: node-b has 3");
	store_close(s);
	s = NULL;

	/* A directory from before the counts: no counts, no mark. */
	mdb_env_create(&env);
	mdb_env_set_maxdbs(env, 16);
	mdb_env_open(env, subdir("origins"), 0, 0600);
	mdb_txn_begin(env, NULL, 0, &txn);
	mdb_dbi_open(txn, "meta", 0, &meta);
	mdb_dbi_open(txn, "origins", 0, &origins);
	mdb_del(txn, meta, &k, NULL);
	mdb_drop(txn, origins, 1);
	mdb_txn_commit(txn);
	mdb_env_close(env);

	if (!ok(store_open(subdir("origins"), &(struct store_opts){.read_only = 1}, &s, &err) == 0,
		"origins: an older directory opens read-only"))
		return;
	memset(&os, 0, sizeof(os));
	ok(store_scan_origins(s, origin_seen, &os, &complete, &err) == 0 && os.n == 0 &&
	    complete == 0, "origins: read-only, it has no counts and says they are incomplete");
	ok(store_rebuild_origins(s, test_origin_of, NULL, &err) == STORE_ERR,
	    "origins: no recount through a read-only handle");
	store_close(s);
	s = NULL;
	if (!ok(store_open(subdir("origins"), &(struct store_opts){.no_sync = 1}, &s, &err) == 0,
		"origins: and read-write"))
		return;
	ok(store_scan_origins(s, NULL, NULL, &complete, &err) == 0 && complete == 0,
	    "origins: still incomplete once it holds the database again");
	ok(store_rebuild_origins(s, test_origin_of, NULL, &err) == 0, "origins: recounted (%s)",
	    err.msg);
	memset(&os, 0, sizeof(os));
	ok(store_scan_origins(s, origin_seen, &os, &complete, &err) == 0 && complete == 1,
	    "origins: complete after the recount");
	ok(os.n == 3 && os.counts[0] == 3 && os.counts[1] == 5 && os.counts[2] == 3,
	    "origins: the same counts as kept with the records");
	store_close(s);
}

int
main(void)
{
	struct store_err err = {{0}};
	struct store *s = NULL;

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	is_str(store_strerror(STORE_NOTFOUND), "not found", "strerror: not found");
	ok(store_strerror(STORE_ERR) != NULL && store_strerror(-99) != NULL,
	    "strerror: every code has a text");
	ok(store_open(subdir("main"), &(struct store_opts){.no_sync = 1}, &s, &err) == 0,
	    "open a new data directory (%s)", err.msg);
	if (s) {
		struct stat st;

		ok(stat(subdir("main"), &st) == 0 && (st.st_mode & 0777) == 0700,
		    "created with mode 0700");
		test_targets(s);
		test_records(s);
		test_cursors_events(s);
		test_batch(s);
		test_append_edge(s);
		test_big_batch(s);
		test_long_scan(s);
		test_subs(s);
		store_close(s);
		s = NULL;
		ok(store_open(subdir("main"), &(struct store_opts){.read_only = 1}, &s, &err) == 0,
		    "reopen read-only");
		size_t n = 0;
		store_count_records(s, &n, &err);
		is_int(n, 22045, "records survive a reopen (38, the edge batches' 7, the big "
		    "one's 10,000, the long scan's 12,000)");
		struct sub_seen ss2;
		memset(&ss2, 0, sizeof(ss2));
		store_scan_subs(s, sub_seen_cb, &ss2, &err);
		is_int(ss2.n, 2, "subscriptions survive a reopen");
		store_close(s);
	}
	test_growth();
	test_feed_index();
	test_schema();
	test_ids_upgrade();
	test_origins();
	test_two_processes();
	cleanup();
	return tap_done();
}
