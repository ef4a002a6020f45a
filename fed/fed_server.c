/* The TAXII server wired to the store: its backend turns stored records and targets into
 * STIX packages for polls, and inbox content into merged records and targets. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "fed/fed.h"
#include "stix/stix.h"
#include "store/store.h"
#include "taxii/taxii.h"
#include "util/util.h"

#define XML_CAP (8u * 1024 * 1024) /* one package; records are far smaller */

struct fed_server {
	struct store *store;
	struct conf_users *users;
	struct taxii_server *server;
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
};

static int
give(struct feed_ctx *f, int64_t label)
{
	struct taxii_record r = {f->xml.data, f->xml.len, NULL, label};

	return f->cb(f->arg, &r);
}

static int
feed_record(int64_t label, const unsigned char *id, const char *json, size_t len, void *arg)
{
	struct feed_ctx *f = arg;
	int rc;

	if (f->skip) {
		f->skip--;
		return 0;
	}
	util_buf_reset(&f->xml);
	rc = stix_observation_write_text(json, len, &f->xml, f->err, f->errlen);
	if (rc != STIX_OK) {
		f->failed = 1;
		if (f->err[0] == '\0')
			util_seterr(f->err, f->errlen, "a stored record could not be written as STIX");
		return -1;
	}
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

static int
be_poll(void *ctx, const char *collection, int64_t begin_us, int64_t end_us, size_t offset,
    size_t limit, taxii_record_cb cb, void *arg, char *err, size_t errlen)
{
	struct fed_server *nt = ctx;
	struct feed_ctx f = {offset, cb, arg, {0}, end_us, err, errlen, 0};
	struct store_err serr = {{0}};
	int rc;

	err[0] = '\0';
	util_buf_init(&f.xml, XML_CAP);
	if (strcmp(collection, "targets") == 0) {
		struct limit_ctx l = {&f, limit ? limit : SIZE_MAX};

		rc = store_scan_targets(nt->store, NULL, limited_target, &l, &serr);
		if (rc == 1)
			rc = STORE_OK;
	} else {
		rc = store_scan_feed(nt->store, begin_us < 0 ? 0 : begin_us, end_us,
		    limit ? offset + limit : 0, feed_record, &f, NULL, &serr);
	}
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
	if (fed_content_merge(m, blocks, n_blocks, NULL, err, errlen) != 0)
		goto out;
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

	return conf_users_verify(nt->users, user, password) ? 0 : -1;
}

static int
auth_allow(void *ctx, const char *user, const char *collection)
{
	struct fed_server *nt = ctx;

	return conf_users_allows(nt->users, user, collection) ? 0 : -1;
}

struct fed_server *
fed_server_start(const struct conf *c, struct store *s, const struct fed_server_hooks *hooks,
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
	for (size_t i = 0; i < c->server.nlisten; i++)
		util_buf_printf(&listen, "%s%s", i ? "," : "", c->server.listen[i]);
	memset(&sc, 0, sizeof(sc));
	sc.listen = listen.data;
	sc.tls_cert = c->server.tls_cert;
	sc.tls_key = c->server.tls_key;
	sc.client_ca = c->server.client_ca;
	if (hooks != NULL) {
		sc.http = hooks->http;
		sc.watch = hooks->watch;
	}
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

int
fed_server_allows(const struct fed_server *nt, const char *user, const char *collection)
{
	if (nt->users == NULL)
		return 1;
	return user != NULL && conf_users_allows(nt->users, user, collection);
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
	conf_users_free(nt->users);
	free(nt);
}
