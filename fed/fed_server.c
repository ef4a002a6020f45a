/* The TAXII server wired to the store: its backend turns stored records and targets into
 * STIX packages for polls, and inbox content into merged records and targets. */
#include "config.h"

#include <pthread.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "conf/conf.h"
#include "fed/fed.h"
#include "fed/fed_int.h"
#include "stix/stix.h"
#include "store/store.h"
#include "taxii/taxii.h"
#include "util/util.h"

#define XML_CAP (8u * 1024 * 1024) /* one package; records are far smaller */
#define PREP_QUEUE 2                /* full batches of packages waiting to be kept */

struct fed_server {
	struct store *store;
	struct fed_log log;
	const struct conf *conf;
	struct an_sinkholes *sinkholes;
	struct conf_users *users;
	struct taxii_server *server;
	const struct rec_trust *trust; /* the config's: inbox records checked against it */
	/* Packages the polls wrote, kept together until a batch is full: one transaction
	 * (one sync) per few thousand records, not one per part served. */
	pthread_mutex_t prep_lock;
	struct fed_prep_batch prep;
	/* Full batches wait here for the keeper thread, which commits them while the polls
	 * go on serving. When it falls behind (a slow disk, a peer's first poll of everything)
	 * a full batch is dropped instead: the packages are only an optimization, and the
	 * next poll of those records writes them again. */
	struct fed_prep_batch queue[PREP_QUEUE];
	size_t nqueue;
	pthread_cond_t prep_cond;
	pthread_t keeper;
	int keeper_started, keeper_stop;
};

struct feed_ctx {
	size_t skip;
	taxii_record_cb cb;
	void *arg;
	struct util_buf xml;
	int64_t label; /* for targets, which carry no label of their own */
	char *err;
	size_t errlen;
	int failed;
	struct fed_prep_batch *prep; /* packages written while serving, kept after the scan */
};

static int
give(struct feed_ctx *f, int64_t label)
{
	struct taxii_record r = {f->xml.data, f->xml.len, NULL, label};

	return f->cb(f->arg, &r);
}

/* A record of the feed: its prepared package when one is kept, else written now (and
 * kept after the scan, so the next poll only decompresses it). */
static int
feed_record(int64_t label, const unsigned char *id, const char *json, size_t len,
    const char *prep, size_t prep_len, void *arg)
{
	struct feed_ctx *f = arg;
	int rc;

	(void)id;
	if (f->skip) {
		f->skip--;
		return 0;
	}
	if (fed_prep_open(prep, prep_len, &f->xml) == 0)
		return give(f, label);
	util_buf_reset(&f->xml);
	rc = stix_observation_write_text(json, len, &f->xml, f->err, f->errlen);
	if (rc != STIX_OK) {
		f->failed = 1;
		if (f->err[0] == '\0')
			util_seterr(f->err, f->errlen, "a stored record could not be written as STIX");
		return -1;
	}
	/* Full or out of memory: simply not kept this time. */
	if (f->prep != NULL)
		(void)fed_prep_add(f->prep, label, f->xml.data, f->xml.len);
	return give(f, label);
}

static int
feed_target(const char *threat, const char *key, size_t key_len, const char *json,
    size_t len, void *arg)
{
	struct feed_ctx *f = arg;
	json_t *t;
	int rc;

	if (f->skip) {
		f->skip--;
		return 0;
	}
	t = json_loadb(json, len, 0, NULL);
	util_buf_reset(&f->xml);
	rc = t ? stix_target_write(t, &f->xml, f->err, f->errlen) : STIX_ERR_INPUT;
	json_decref(t);
	if (rc != STIX_OK) {
		f->failed = 1;
		return -1;
	}
	return give(f, f->label);
}

/* The targets collection is a data set: no time order, every target in every poll. */
struct limit_ctx {
	struct feed_ctx *f;
	size_t left;
};

static int
limited_target(const char *threat, const char *key, size_t key_len, const char *json,
    size_t len, void *arg)
{
	struct limit_ctx *l = arg;

	if (l->left == 0)
		return 1;
	if (l->f->skip == 0)
		l->left--;
	return feed_target(threat, key, key_len, json, len, l->f);
}

/* Adds a poll's packages to the server's batch, handing the batch to the keeper thread
 * when it is full (or dropping it when the keeper is behind). */
static void
prep_keep(struct fed_server *nt, struct fed_prep_batch *mine)
{
	int bounded = 0;

	pthread_mutex_lock(&nt->prep_lock);
	/* Each round empties `mine` or fills the batch: a part fits in two rounds. */
	while (mine->n > 0 && bounded++ < 3) {
		int rc = fed_prep_move(&nt->prep, mine);

		if (rc < 0)
			break;
		if (rc == 0)
			continue;
		if (nt->keeper_started && nt->nqueue < PREP_QUEUE) {
			struct fed_prep_batch t = nt->queue[nt->nqueue];

			nt->queue[nt->nqueue++] = nt->prep;
			nt->prep = t;
			pthread_cond_signal(&nt->prep_cond);
		} else {
			nt->prep.n = 0;
			util_buf_reset(&nt->prep.bytes);
		}
	}
	pthread_mutex_unlock(&nt->prep_lock);
}

/* Commits the full batches of packages, one transaction each, until told to stop. */
static void *
keeper_main(void *arg)
{
	struct fed_server *nt = arg;
	struct fed_prep_batch b;
	char err[512];

	fed_prep_init(&b);
	pthread_mutex_lock(&nt->prep_lock);
	for (;;) {
		while (nt->nqueue == 0 && !nt->keeper_stop)
			pthread_cond_wait(&nt->prep_cond, &nt->prep_lock);
		if (nt->nqueue == 0)
			break;
		/* Take the oldest; the emptied batch goes back at the end, its memory reused. */
		struct fed_prep_batch t = b;

		b = nt->queue[0];
		memmove(&nt->queue[0], &nt->queue[1], (PREP_QUEUE - 1) * sizeof(nt->queue[0]));
		nt->queue[PREP_QUEUE - 1] = t;
		nt->nqueue--;
		pthread_mutex_unlock(&nt->prep_lock);
		/* A failed commit costs only time: those packages are written again later. */
		(void)fed_prep_commit(&b, nt->store, err, sizeof(err));
		b.n = 0;
		util_buf_reset(&b.bytes);
		pthread_mutex_lock(&nt->prep_lock);
	}
	pthread_mutex_unlock(&nt->prep_lock);
	fed_prep_fini(&b);
	return NULL;
}

/*
 * The blocklist collection: the destinations whose verdict is keep as of now, each as a
 * target indicator whose summary says why. A destination the indicator form cannot hold
 * (peers' targets are attacker-controlled) is left out, as the blocklist exports do.
 */
static int
blocklist_scan(struct fed_server *nt, struct feed_ctx *f, size_t limit, size_t *count)
{
	struct an_query q;
	struct an_report *r = NULL;
	size_t given = 0, n = 0;
	int rc = -1;

	memset(&q, 0, sizeof(q));
	q.from_us = INT64_MIN;
	q.to_us = util_now_us();
	q.remove_after_us = nt->conf->analysis.remove_after_us;
	q.self_node = nt->conf->node.id;
	q.trust = nt->trust;
	q.sinkholes = nt->sinkholes;
	if (an_report_build(nt->store, &q, &r, f->err, f->errlen) != 0)
		return -1;
	for (size_t i = 0; i < r->ndests; i++) {
		const struct an_dest *d = &r->dests[i];
		unsigned char a[16];
		const char *kind = strstr(d->target, "://") ? "url" :
		    inet_pton(AF_INET, d->target, a) == 1 || inet_pton(AF_INET6, d->target, a) == 1 ?
		    "ip" : "domain";
		char why[64];
		json_t *t;
		int wr;

		if (d->verdict != AN_KEEP)
			continue;
		snprintf(why, sizeof(why), "verdict %s: ", an_verdict_name(d->verdict));
		t = json_pack("{s:s, s:s, s:s+}", "threat_id", d->threat_id, kind, d->target,
		    "summary", why, d->evidence ? d->evidence : "");
		if (t == NULL)
			goto out;
		util_buf_reset(&f->xml);
		wr = stix_target_write(t, &f->xml, f->err, f->errlen);
		json_decref(t);
		f->err[0] = '\0';
		if (wr != STIX_OK)
			continue;
		n++;
		if (count != NULL)
			continue;
		if (f->skip) {
			f->skip--;
			continue;
		}
		if (limit && given == limit)
			break;
		if (give(f, f->label) != 0) {
			f->failed = 1;
			goto out;
		}
		given++;
	}
	if (count != NULL)
		*count = n;
	rc = 0;
out:
	an_report_free(r);
	return rc;
}

static int
be_poll(void *ctx, const char *collection, int64_t begin_us, int64_t end_us, size_t offset,
    size_t limit, taxii_record_cb cb, void *arg, char *err, size_t errlen)
{
	struct fed_server *nt = ctx;
	struct feed_ctx f = {offset, cb, arg, {0}, end_us, err, errlen, 0, NULL};
	struct fed_prep_batch prep;
	struct store_err serr = {{0}};
	int rc;

	err[0] = '\0';
	util_buf_init(&f.xml, XML_CAP);
	fed_prep_init(&prep);
	if (strcmp(collection, "blocklist") == 0) {
		rc = blocklist_scan(nt, &f, limit, NULL) == 0 ? STORE_OK : -2;
	} else if (strcmp(collection, "targets") == 0) {
		struct limit_ctx l = {&f, limit ? limit : SIZE_MAX};

		rc = store_scan_targets(nt->store, NULL, limited_target, &l, &serr);
		if (rc == 1)
			rc = STORE_OK;
	} else {
		f.prep = &prep;
		rc = store_scan_feed_prep(nt->store, begin_us < 0 ? 0 : begin_us, end_us,
		    limit ? offset + limit : 0, feed_record, &f, NULL, &serr);
		/* Keeping what was written is an optimization: a failure costs only time. */
		if (rc == STORE_OK)
			prep_keep(nt, &prep);
	}
	fed_prep_fini(&prep);
	util_buf_fini(&f.xml);
	if (rc == STORE_ERR) {
		util_seterr(err, errlen, "%s", serr.msg);
		return -1;
	}
	if (f.failed || rc != STORE_OK) {
		if (err[0] == '\0')
			util_seterr(err, errlen, "poll stopped");
		return -1;
	}
	return 0;
}

static int
be_count(void *ctx, const char *collection, int64_t begin_us, int64_t end_us, uint64_t *count,
    char *err, size_t errlen)
{
	struct fed_server *nt = ctx;
	struct store_err serr = {{0}};
	size_t n = 0;
	int rc;

	if (strcmp(collection, "blocklist") == 0) {
		struct feed_ctx f = {0, NULL, NULL, {0}, 0, err, errlen, 0, NULL};

		util_buf_init(&f.xml, XML_CAP);
		rc = blocklist_scan(nt, &f, 0, &n);
		util_buf_fini(&f.xml);
		if (rc != 0)
			return -1;
		*count = n;
		return 0;
	}
	if (strcmp(collection, "targets") == 0)
		rc = store_count_targets(nt->store, NULL, &n, &serr);
	else
		rc = store_count_feed(nt->store, begin_us < 0 ? 0 : begin_us, end_us, &n, &serr);
	if (rc != STORE_OK) {
		util_seterr(err, errlen, "%s", serr.msg);
		return -1;
	}
	*count = n;
	return 0;
}

static int
be_settled(void *ctx, const char *collection, int64_t *label_us, char *err, size_t errlen)
{
	struct fed_server *nt = ctx;
	struct store_err serr = {{0}};

	/* Targets are served whole (a data set): no window to settle. */
	if (strcmp(collection, "targets") == 0) {
		*label_us = INT64_MAX;
		return 0;
	}
	if (store_last_label(nt->store, label_us, &serr) != STORE_OK) {
		util_seterr(err, errlen, "%s", serr.msg);
		return -1;
	}
	return 0;
}

static int
be_inbox(void *ctx, const char *collection, const struct taxii_content_block *blocks,
    size_t n_blocks, char *err, size_t errlen)
{
	struct fed_server *nt = ctx;
	struct fed_merge *m = fed_merge_new();
	int ret = -1;

	if (m == NULL) {
		util_seterr(err, errlen, "out of memory");
		return -1;
	}
	if (strcmp(collection, "blocklist") == 0) {
		util_seterr(err, errlen, "the blocklist collection is this node's analysis: it takes "
		    "no Inbox content");
		goto out;
	}
	m->trust = nt->trust;
	m->log = &nt->log;
	if (fed_content_merge(m, blocks, n_blocks, NULL, err, errlen) != 0)
		goto out;
	if (fed_merge_pending(m) == 0 && m->refused > 0) {
		util_seterr(err, errlen, "every record refused: %zu record%s with a malformed "
		    "field, a signature that does not verify or a node that is not trusted (each "
		    "logged with its reason)", m->refused, m->refused == 1 ? "" : "s");
		goto out;
	}
	if (fed_merge_pending(m) == 0) {
		util_seterr(err, errlen,
		    "nothing to merge: no c2watch observation record and no network indicator");
		goto out;
	}
	if (fed_merge_commit(m, nt->store, NULL, 0, err, errlen) != 0)
		goto out;
	ret = 0;
out:
	fed_merge_free(m);
	return ret;
}

/* Subscriptions: kept in the store's subs database (fed_subs.c). */
static int
be_sub_add(void *ctx, const struct taxii_sub *sub, char *err, size_t errlen)
{
	return fed_subs_add(((struct fed_server *)ctx)->store, sub, err, errlen);
}

static int
be_sub_get(void *ctx, const char *id, struct taxii_sub *out, char *err, size_t errlen)
{
	return fed_subs_get(((struct fed_server *)ctx)->store, id, out, err, errlen);
}

static int
be_sub_set_status(void *ctx, const char *id, enum taxii_sub_status st, struct taxii_sub *out,
    char *err, size_t errlen)
{
	return fed_subs_set_status(((struct fed_server *)ctx)->store, id, st, out, err, errlen);
}

static int
be_sub_list(void *ctx, const char *collection, taxii_sub_cb cb, void *arg, char *err,
    size_t errlen)
{
	return fed_subs_list(((struct fed_server *)ctx)->store, collection, cb, arg, err,
	    errlen);
}

static int
auth_check(void *ctx, const char *user, const char *password)
{
	struct fed_server *nt = ctx;
	int rc = conf_users_verify(nt->users, user, password);

	return rc == 1 ? 0 : rc < 0 ? -2 : -1;
}

static void
server_log(void *arg, const char *msg)
{
	const struct fed_server *nt = arg;

	fed_logf(&nt->log, FED_LOG_WARN, "%s", msg);
}

static int
auth_allow(void *ctx, const char *user, const char *collection)
{
	struct fed_server *nt = ctx;

	return conf_users_allows(nt->users, user, collection) ? 0 : -1;
}

struct fed_server *
fed_server_start(const struct conf *c, struct store *s, const struct fed_server_opts *opts,
    char *err, size_t errlen)
{
	struct fed_server *nt = calloc(1, sizeof(*nt));
	struct taxii_backend be;
	struct taxii_auth auth;
	struct taxii_server_conf sc;
	struct taxii_err terr = {0};
	struct conf_err cerr = {{0}};
	struct util_buf listen;

	util_buf_init(&listen, 0);
	if (nt == NULL) {
		util_seterr(err, errlen, "out of memory");
		goto fail;
	}
	nt->store = s;
	nt->trust = c->trust.set;
	if (opts != NULL)
		nt->log = opts->log;
	pthread_mutex_init(&nt->prep_lock, NULL);
	pthread_cond_init(&nt->prep_cond, NULL);
	fed_prep_init(&nt->prep);
	for (size_t i = 0; i < PREP_QUEUE; i++)
		fed_prep_init(&nt->queue[i]);
	/* Without the keeper, full batches are dropped: polls work, only slower later. */
	nt->keeper_started = pthread_create(&nt->keeper, NULL, keeper_main, nt) == 0;
	nt->conf = c;
	if (an_sinkholes_load(c->analysis.sinkholes_file, &nt->sinkholes, err, errlen) != 0)
		goto fail;
	for (size_t i = 0; i < c->server.nlisten; i++)
		util_buf_printf(&listen, "%s%s", i ? "," : "", c->server.listen[i]);
	memset(&sc, 0, sizeof(sc));
	sc.listen = listen.data;
	sc.tls_cert = c->server.tls_cert;
	sc.tls_key = c->server.tls_key;
	sc.client_ca = c->server.client_ca;
	sc.allow_private_push = c->server.allow_private_push;
	sc.log = server_log;
	sc.log_arg = nt;
	sc.http = opts != NULL ? opts->http : NULL;
	sc.watch = opts != NULL ? opts->watch : NULL;
	if (c->server.users_file) {
		nt->users = conf_users_load(c->server.users_file, &cerr);
		if (nt->users == NULL) {
			util_seterr(err, errlen, "%s", cerr.msg);
			goto fail;
		}
		auth.ctx = nt;
		auth.check = auth_check;
		auth.allow = auth_allow;
		sc.auth = &auth;
	}
	memset(&be, 0, sizeof(be));
	be.ctx = nt;
	be.poll = be_poll;
	be.count = be_count;
	be.settled = be_settled;
	be.inbox = be_inbox;
	be.subs.add = be_sub_add;
	be.subs.get = be_sub_get;
	be.subs.set_status = be_sub_set_status;
	be.subs.list = be_sub_list;
	if (taxii_server_new(&sc, &be, &nt->server, &terr) != 0) {
		util_seterr(err, errlen, "TAXII server on %s: %s", listen.data ? listen.data : "?",
		    terr.msg);
		goto fail;
	}
	util_buf_fini(&listen);
	return nt;
fail:
	util_buf_fini(&listen);
	fed_server_stop(nt);
	return NULL;
}

unsigned
fed_server_port(const struct fed_server *nt, size_t i)
{
	return nt && nt->server ? taxii_server_port(nt->server, i) : 0;
}

void
fed_server_stop(struct fed_server *nt)
{
	if (nt == NULL)
		return;
	taxii_server_free(nt->server);
	/* No poll runs any more: the keeper commits what is queued and ends; the batch not
	 * yet full is kept here. */
	if (nt->keeper_started) {
		pthread_mutex_lock(&nt->prep_lock);
		nt->keeper_stop = 1;
		pthread_cond_signal(&nt->prep_cond);
		pthread_mutex_unlock(&nt->prep_lock);
		pthread_join(nt->keeper, NULL);
	}
	{
		char err[256];

		(void)fed_prep_commit(&nt->prep, nt->store, err, sizeof(err));
	}
	fed_prep_fini(&nt->prep);
	for (size_t i = 0; i < PREP_QUEUE; i++)
		fed_prep_fini(&nt->queue[i]);
	pthread_cond_destroy(&nt->prep_cond);
	pthread_mutex_destroy(&nt->prep_lock);
	an_sinkholes_free(nt->sinkholes);
	conf_users_free(nt->users);
	free(nt);
}
