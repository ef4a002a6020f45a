/* The summaries' dictionaries as batches write them: names that repeat, more names than
 * a transaction's cache holds, a transaction that aborts after making ids, a batch rerun
 * after the map grew, and batches prepared outside the transaction. Every entry's ids are
 * read back to the names its record carried, which the test made itself. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "record/record.h"
#include "store/store.h"
#include "tests/tap.h"
#include "util/util.h"

#define HOUR ((int64_t)3600 * 1000000)
#define NREC 6000   /* records a batch: more contents than the cache's slots */
#define NDEST 40
#define NVANT 3
#define NADDR 700   /* address sets */
#define T0 ((int64_t)1790000000 * 1000000)

static char tmp[] = "/tmp/c2w-test-sum-XXXXXX";

/* What record i of generation g says; the test knows each name from (g, i) alone. */
struct rec {
	char threat[16], key[64], vant[16], sha[65], ssdeep[64], addr[32];
	int64_t when;
	int status;
};

static void
make_rec(int g, int i, struct rec *r)
{
	int c = g * NREC / 2 + i; /* generations overlap by half in their contents */

	snprintf(r->threat, sizeof(r->threat), "T%d", i % 4);
	snprintf(r->key, sizeof(r->key), "http://d%d.example/", i % NDEST);
	snprintf(r->vant, sizeof(r->vant), "v%d", i % NVANT);
	snprintf(r->sha, sizeof(r->sha), "%064x", c + 1);
	snprintf(r->ssdeep, sizeof(r->ssdeep), "3:abc%d:def%d", c, c % 7);
	snprintf(r->addr, sizeof(r->addr), "198.51.%d.%d", (i % NADDR) / 250,
	    (i % NADDR) % 250 + 1);
	r->when = T0 + ((int64_t)g * NREC + i) * HOUR;
	/* every seventh is unanswered: no content, only its vantage and addresses */
	r->status = i % 7 == 3 ? 0 : 200;
}

struct gen {
	int g;
	struct rec *r;
	struct store_obs *o;
	char **texts;
	int abort_after; /* the write function fails after putting (an aborted transaction) */
	int prepared;    /* put through store_batch_new outside the transaction */
	struct store_batch *b;
	size_t added;
};

static int
gen_make(struct gen *x, int g)
{
	x->g = g;
	x->r = calloc(NREC, sizeof(*x->r));
	x->o = calloc(NREC, sizeof(*x->o));
	x->texts = calloc(NREC, sizeof(*x->texts));
	if (!x->r || !x->o || !x->texts)
		return -1;
	for (int i = 0; i < NREC; i++) {
		struct rec *r = &x->r[i];
		char t[1024];

		make_rec(g, i, r);
		if (r->status)
			snprintf(t, sizeof(t),
			    "{\"node\":\"n\",\"vantage\":\"%s\",\"target\":{\"input\":\"%s\","
			    "\"ipv4\":[\"%s\"]},\"http\":{\"status\":200,\"sha256\":\"%s\","
			    "\"ssdeep\":\"%s\"},\"ping\":null,\"error\":null}",
			    r->vant, r->key, r->addr, r->sha, r->ssdeep);
		else
			snprintf(t, sizeof(t),
			    "{\"node\":\"n\",\"vantage\":\"%s\",\"target\":{\"input\":\"%s\","
			    "\"ipv4\":[\"%s\"]},\"http\":null,\"ping\":null,"
			    "\"error\":{\"kind\":\"timeout\"}}",
			    r->vant, r->key, r->addr);
		if ((x->texts[i] = strdup(t)) == NULL)
			return -1;
		x->o[i].threat_id = r->threat;
		x->o[i].target_key = r->key;
		x->o[i].observed_us = r->when;
		x->o[i].json = x->texts[i];
		x->o[i].len = strlen(t);
		x->o[i].origin = "n";
		rec_id("n", r->key, r->when, x->o[i].id);
	}
	return 0;
}

static void
gen_free(struct gen *x)
{
	for (int i = 0; x->texts && i < NREC; i++)
		free(x->texts[i]);
	free(x->texts);
	free(x->o);
	free(x->r);
	store_batch_free(x->b);
}

static int
put_gen(struct store_txn *t, void *arg)
{
	struct gen *x = arg;
	int *res = calloc(NREC, sizeof(*res));
	int rc;

	if (res == NULL)
		return -1;
	rc = x->prepared ? store_put_batch(t, x->b, res, NULL) :
			   store_put_obs_batch(t, x->o, NREC, res, NULL);
	x->added = 0;
	for (int i = 0; i < NREC; i++)
		x->added += res[i] == STORE_PUT_NEW;
	free(res);
	if (rc != STORE_OK || x->abort_after)
		return -1;
	return 0;
}

/* What every entry of the store says, checked against the records of the generations
 * stored (gens[0..ng)). */
struct check {
	struct store_snap *sn;
	size_t entries, bad_vant, bad_content, bad_addrs, bad_status;
	uint32_t max_content;
};

static int
check_cb(const char *threat, const char *target, const struct store_sum *e, size_t n,
    void *arg)
{
	struct check *c = arg;

	(void)threat;
	for (size_t k = 0; k < n; k++) {
		const char *node, *label, *ssdeep, *addrs;
		unsigned char sha[32];
		struct rec r;
		int g = (int)((e[k].t - T0) / HOUR / NREC), i = (int)((e[k].t - T0) / HOUR % NREC);
		char hex[65];

		c->entries++;
		make_rec(g, i, &r);
		if (strcmp(target, r.key) != 0 ||
		    store_snap_vantage(c->sn, e[k].vantage, &node, &label) != STORE_OK ||
		    strcmp(node, "n") != 0 || strcmp(label, r.vant) != 0)
			c->bad_vant++;
		if (store_snap_addrs(c->sn, e[k].addrs, &addrs) != STORE_OK ||
		    strcmp(addrs, r.addr) != 0)
			c->bad_addrs++;
		if ((r.status == 200) != (e[k].status == 200))
			c->bad_status++;
		if (r.status != 200) {
			if (e[k].content != 0)
				c->bad_content++;
			continue;
		}
		if (store_snap_content(c->sn, e[k].content, sha, &ssdeep) != STORE_OK ||
		    (util_hex(sha, 32, hex), strcmp(hex, r.sha) != 0) ||
		    strcmp(ssdeep, r.ssdeep) != 0)
			c->bad_content++;
		if (e[k].content > c->max_content)
			c->max_content = e[k].content;
	}
	return 0;
}

static void
check_store(struct store *s, const char *what, size_t want_entries, uint32_t want_contents)
{
	struct check c;
	struct store_err err = { { 0 } };

	memset(&c, 0, sizeof(c));
	if (!ok(store_snap_open(s, &c.sn, &err) == STORE_OK, "%s: a snapshot (%s)", what,
		err.msg))
		return;
	for (int th = 0; th < 4; th++) {
		char threat[16];

		snprintf(threat, sizeof(threat), "T%d", th);
		if (store_snap_dests(c.sn, threat, NULL, INT64_MAX, check_cb, &c, &err) !=
		    STORE_OK)
			tap_diag("%s", err.msg);
	}
	is_int(c.entries, want_entries, "%s: an entry a record", what);
	is_int(c.bad_vant, 0, "%s: every vantage id names the record's vantage", what);
	is_int(c.bad_content, 0, "%s: every content id names the record's sha256 and ssdeep",
	    what);
	is_int(c.bad_addrs, 0, "%s: every address set id names the record's addresses", what);
	is_int(c.bad_status, 0, "%s: answered or not as the record says", what);
	/* Ids are given from 1 up, never to an aborted transaction's contents: the highest
	 * is the number of distinct answered contents stored. */
	is_int(c.max_content, want_contents, "%s: content ids dense, none lost to an abort",
	    what);
	store_snap_close(c.sn);
}

/* Distinct answered contents among generations 0..ng-1 (they overlap by half). */
static uint32_t
contents_of(int ng)
{
	unsigned char *seen = calloc((size_t)(ng + 1) * NREC, 1);
	uint32_t n = 0;

	for (int g = 0; seen && g < ng; g++)
		for (int i = 0; i < NREC; i++) {
			int c = g * NREC / 2 + i;

			if (i % 7 != 3 && !seen[c]) {
				seen[c] = 1;
				n++;
			}
		}
	free(seen);
	return n;
}

static void
test_transactions(void)
{
	char dir[300];
	struct store *s = NULL;
	struct store_err err = { { 0 } };
	struct gen g0, g1, g2;
	size_t answered = 0;

	memset(&g0, 0, sizeof(g0));
	memset(&g1, 0, sizeof(g1));
	memset(&g2, 0, sizeof(g2));
	snprintf(dir, sizeof(dir), "%s/txns", tmp);
	if (!ok(gen_make(&g0, 0) == 0 && gen_make(&g1, 1) == 0 && gen_make(&g2, 2) == 0,
		"three generations of records made") ||
	    !ok(store_open(dir, &(struct store_opts){ .no_sync = 1 }, &s, &err) == STORE_OK,
		"store opened (%s)", err.msg))
		goto out;
	for (int i = 0; i < NREC; i++)
		answered += i % 7 != 3;

	/* Generation 1 first, in a transaction that fails after its puts: nothing of it,
	 * its new ids included, may remain. */
	g1.abort_after = 1;
	ok(store_write(s, put_gen, &g1, &err) != STORE_OK && g1.added == NREC,
	    "a transaction that put %d records and failed is abandoned", NREC);
	g1.abort_after = 0;
	memset(&err, 0, sizeof(err));
	ok(store_write(s, put_gen, &g0, &err) == STORE_OK && g0.added == NREC,
	    "generation 0 stored (%s)", err.msg);
	check_store(s, "after an abort", NREC, contents_of(1));

	/* Generation 1 prepared outside the transaction that puts it. */
	g1.prepared = 1;
	ok(store_batch_new(g1.o, NREC, &g1.b, &err) == STORE_OK, "generation 1 prepared (%s)",
	    err.msg);
	ok(g1.b && store_write(s, put_gen, &g1, &err) == STORE_OK && g1.added == NREC,
	    "and stored: its contents half old, half new");
	check_store(s, "two transactions", 2 * NREC, contents_of(2));
	/* The same prepared batch again: every record already held, no entry twice. */
	ok(g1.b && store_write(s, put_gen, &g1, &err) == STORE_OK && g1.added == 0,
	    "the batch put again adds nothing");
	ok(store_write(s, put_gen, &g2, &err) == STORE_OK && g2.added == NREC,
	    "generation 2 stored");
	check_store(s, "three transactions", 3 * NREC, contents_of(3));
	store_close(s);
	s = NULL;
	memset(&err, 0, sizeof(err));

	/* One transaction over a map far too small: store_write grows it and runs the same
	 * prepared batch again, which must give what a single run gives. */
	snprintf(dir, sizeof(dir), "%s/grow", tmp);
	ok(store_open(dir, &(struct store_opts){ .no_sync = 1, .map_size = 1 << 20 }, &s,
	       &err) == STORE_OK,
	    "a store with a 1 MiB map (%s)", err.msg);
	if (s == NULL)
		goto out;
	store_batch_free(g1.b);
	g1.b = NULL;
	ok(store_batch_new(g1.o, NREC, &g1.b, &err) == STORE_OK &&
		store_write(s, put_gen, &g1, &err) == STORE_OK && g1.added == NREC,
	    "a prepared batch stored across the map's growth (%s)", err.msg);
	ok(store_map_size(s) > (1 << 20), "the map grew (%zu bytes)", store_map_size(s));
	check_store(s, "after growing", NREC, (uint32_t)answered);
out:
	store_close(s);
	gen_free(&g0);
	gen_free(&g1);
	gen_free(&g2);
}

static void
test_bad_batch(void)
{
	struct store_obs o[2];
	struct store_batch *b = (struct store_batch *)&o; /* must be set to NULL */
	struct store_err err = { { 0 } };
	char longid[300];

	memset(o, 0, sizeof(o));
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	o[0].threat_id = "T";
	o[0].target_key = "k";
	o[0].json = "{}";
	o[0].len = 2;
	o[1] = o[0];
	o[1].threat_id = longid;
	ok(store_batch_new(o, 2, &b, &err) == STORE_ERR && b == NULL,
	    "a batch with an over-long threat ID is not prepared");
	has_str(err.msg, "threat ID", "and the error names the field");
	o[1].threat_id = "";
	ok(store_batch_new(o, 2, &b, &err) == STORE_ERR && b == NULL,
	    "nor one with an empty threat ID");
}

int
main(void)
{
	char cmd[400];

	if (mkdtemp(tmp) == NULL) {
		printf("Bail out! mkdtemp: cannot make a directory\n");
		return 1;
	}
	test_transactions();
	test_bad_batch();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", tmp);
	return tap_done();
}
