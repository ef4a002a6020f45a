/* TAXII subscriptions over the store (one JSON text per subscription) and the pusher that
 * delivers new records to subscribers' inboxes through fed_push_run. See fed.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fed/fed.h"
#include "store/store.h"
#include "util/util.h"

#define SUB_JSON_MAX 8192
#define DEFAULT_BATCH 100
#define MAX_BATCH 1000
#define MAX_BACKOFF_ENTRIES 1024
#define MAX_PUSH_SUBS 10000      /* subscriptions one pass looks at */

static const char *const status_names[] = { "ACTIVE", "PAUSED", "UNSUBSCRIBED" };

/* ------------------------------------------------------------------ encoding */

static int
sub_encode(const struct taxii_sub *sub, char **out, size_t *len)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "id", sub->id,
	    "collection", sub->collection, "owner", sub->owner,
	    "status", status_names[sub->status],
	    "response_type", sub->response_type == TAXII_RESP_COUNT_ONLY ? "COUNT_ONLY" : "FULL",
	    "created_us", (json_int_t)sub->created_us,
	    "delivered_us", (json_int_t)sub->delivered_us);

	if (o == NULL)
		return -1;
	if (sub->has_push &&
	    json_object_set_new(o, "push", json_pack("{s:s, s:s, s:s}", "protocol",
		sub->push_protocol, "address", sub->push_address, "binding",
		sub->push_binding)) != 0) {
		json_decref(o);
		return -1;
	}
	*out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (*out == NULL)
		return -1;
	*len = strlen(*out);
	return 0;
}

static int
copy_str(json_t *o, const char *key, char *dst, size_t dstlen)
{
	const char *v = json_string_value(json_object_get(o, key));

	if (v == NULL || strlen(v) >= dstlen)
		return -1;
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int
sub_decode(const char *data, size_t len, struct taxii_sub *sub)
{
	json_t *o = json_loadb(data, len, 0, NULL), *push;
	char status[16], rt[16];
	int ret = -1;

	memset(sub, 0, sizeof(*sub));
	if (o == NULL)
		return -1;
	if (copy_str(o, "id", sub->id, sizeof(sub->id)) != 0 ||
	    copy_str(o, "collection", sub->collection, sizeof(sub->collection)) != 0 ||
	    copy_str(o, "owner", sub->owner, sizeof(sub->owner)) != 0 ||
	    copy_str(o, "status", status, sizeof(status)) != 0 ||
	    copy_str(o, "response_type", rt, sizeof(rt)) != 0 ||
	    !json_is_integer(json_object_get(o, "created_us")) ||
	    !json_is_integer(json_object_get(o, "delivered_us")))
		goto out;
	if (strcmp(status, "ACTIVE") == 0)
		sub->status = TAXII_SUBST_ACTIVE;
	else if (strcmp(status, "PAUSED") == 0)
		sub->status = TAXII_SUBST_PAUSED;
	else if (strcmp(status, "UNSUBSCRIBED") == 0)
		sub->status = TAXII_SUBST_UNSUBSCRIBED;
	else
		goto out;
	sub->response_type = strcmp(rt, "COUNT_ONLY") == 0 ? TAXII_RESP_COUNT_ONLY :
	    TAXII_RESP_FULL;
	sub->created_us = json_integer_value(json_object_get(o, "created_us"));
	sub->delivered_us = json_integer_value(json_object_get(o, "delivered_us"));
	push = json_object_get(o, "push");
	if (json_is_object(push)) {
		if (copy_str(push, "protocol", sub->push_protocol,
			sizeof(sub->push_protocol)) != 0 ||
		    copy_str(push, "address", sub->push_address, sizeof(sub->push_address)) != 0 ||
		    copy_str(push, "binding", sub->push_binding, sizeof(sub->push_binding)) != 0)
			goto out;
		sub->has_push = 1;
	}
	ret = 0;
out:
	json_decref(o);
	return ret;
}

/* ------------------------------------------------------------------ store calls */

struct sub_write {
	const struct taxii_sub *add;  /* add this one, or */
	const char *id;               /* change this one: */
	int set_status;
	enum taxii_sub_status status;
	int set_delivered;
	int64_t delivered;
	struct taxii_sub result;
	int found;
	char why[128];
};

static int
sub_write_fn(struct store_txn *t, void *arg)
{
	struct sub_write *w = arg;
	const char *data;
	char *json = NULL;
	size_t len;
	int rc;

	w->found = 0;
	if (w->add != NULL) {
		w->result = *w->add;
	} else {
		rc = store_txn_get_sub(t, w->id, &data, &len);
		if (rc == STORE_NOTFOUND)
			return 0; /* nothing to change; found stays 0 */
		if (rc != STORE_OK)
			return rc;
		if (sub_decode(data, len, &w->result) != 0) {
			util_seterr(w->why, sizeof(w->why), "subscription %.80s: unreadable record",
			    w->id);
			return -1;
		}
		if (w->set_status)
			w->result.status = w->status;
		if (w->set_delivered && w->delivered > w->result.delivered_us)
			w->result.delivered_us = w->delivered;
	}
	w->found = 1;
	if (sub_encode(&w->result, &json, &len) != 0) {
		util_seterr(w->why, sizeof(w->why), "out of memory");
		return -1;
	}
	rc = store_put_sub(t, w->result.id, json, len);
	free(json);
	return rc;
}

static int
sub_write(struct store *s, struct sub_write *w, char *err, size_t errlen)
{
	struct store_err serr = {{0}};

	if (store_write(s, sub_write_fn, w, &serr) != STORE_OK) {
		util_seterr(err, errlen, "%s", w->why[0] ? w->why : serr.msg);
		return -1;
	}
	return w->found ? 0 : 1;
}

int
fed_subs_add(struct store *s, const struct taxii_sub *sub, char *err, size_t errlen)
{
	struct sub_write w;

	memset(&w, 0, sizeof(w));
	w.add = sub;
	return sub_write(s, &w, err, errlen) == 0 ? 0 : -1;
}

int
fed_subs_set_status(struct store *s, const char *id, enum taxii_sub_status st,
    struct taxii_sub *out, char *err, size_t errlen)
{
	struct sub_write w;
	int rc;

	memset(&w, 0, sizeof(w));
	w.id = id;
	w.set_status = 1;
	w.status = st;
	rc = sub_write(s, &w, err, errlen);
	if (rc == 0 && out != NULL)
		*out = w.result;
	return rc;
}

int
fed_subs_delivered(struct store *s, const char *id, int64_t label, char *err,
    size_t errlen)
{
	struct sub_write w;

	memset(&w, 0, sizeof(w));
	w.id = id;
	w.set_delivered = 1;
	w.delivered = label;
	return sub_write(s, &w, err, errlen);
}

struct sub_read {
	const char *collection; /* list: only this collection's */
	taxii_sub_cb cb;
	void *arg;
	struct taxii_sub *one; /* get */
	int bad;
};

static int
on_stored_sub(const char *id, size_t id_len, const char *data, size_t len, void *arg)
{
	struct sub_read *r = arg;
	struct taxii_sub sub;

	(void)id, (void)id_len;
	if (sub_decode(data, len > SUB_JSON_MAX ? 0 : len, &sub) != 0) {
		/* One damaged record must not hide the others. */
		r->bad++;
		return 0;
	}
	if (r->one != NULL) {
		*r->one = sub;
		return 0;
	}
	if (r->collection != NULL && strcmp(sub.collection, r->collection) != 0)
		return 0;
	return r->cb(r->arg, &sub) != 0 ? 1 : 0;
}

int
fed_subs_get(struct store *s, const char *id, struct taxii_sub *out, char *err,
    size_t errlen)
{
	struct sub_read r = { NULL, NULL, NULL, out, 0 };
	struct store_err serr = {{0}};
	int rc = store_get_sub(s, id, on_stored_sub, &r, &serr);

	if (rc == STORE_NOTFOUND)
		return 1;
	if (rc != STORE_OK) {
		util_seterr(err, errlen, "%s", serr.msg);
		return -1;
	}
	if (r.bad) {
		util_seterr(err, errlen, "subscription %.80s: unreadable record", id);
		return -1;
	}
	return 0;
}

int
fed_subs_list(struct store *s, const char *collection, taxii_sub_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct sub_read r = { collection, cb, arg, NULL, 0 };
	struct store_err serr = {{0}};
	int rc = store_scan_subs(s, on_stored_sub, &r, &serr);

	if (rc == STORE_ERR) {
		util_seterr(err, errlen, "%s", serr.msg);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ pushing */

struct backoff {
	char id[TAXII_SUB_ID_MAX];
	int failures;
	int64_t next_us;
};

struct fed_pusher {
	struct store *s;
	struct fed_push_opts o;
	struct backoff *bo;
	size_t nbo;
};

struct fed_pusher *
fed_pusher_new(struct store *s, const struct fed_push_opts *opts)
{
	struct fed_pusher *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->s = s;
	if (opts != NULL)
		p->o = *opts;
	if (p->o.batch == 0)
		p->o.batch = DEFAULT_BATCH;
	if (p->o.batch > MAX_BATCH)
		p->o.batch = MAX_BATCH;
	if (p->o.timeout_s <= 0)
		p->o.timeout_s = 30;
	if (p->o.backoff_us <= 0)
		p->o.backoff_us = INT64_C(5000000);
	if (p->o.backoff_max_us <= 0)
		p->o.backoff_max_us = INT64_C(600000000);
	p->bo = calloc(MAX_BACKOFF_ENTRIES, sizeof(*p->bo));
	if (p->bo == NULL) {
		free(p);
		return NULL;
	}
	return p;
}

void
fed_pusher_free(struct fed_pusher *p)
{
	if (p == NULL)
		return;
	free(p->bo);
	free(p);
}

static struct backoff *
backoff_find(struct fed_pusher *p, const char *id)
{
	for (size_t i = 0; i < p->nbo; i++)
		if (strcmp(p->bo[i].id, id) == 0)
			return &p->bo[i];
	return NULL;
}

static void
backoff_clear(struct fed_pusher *p, const char *id)
{
	struct backoff *b = backoff_find(p, id);

	if (b != NULL)
		*b = p->bo[--p->nbo];
}

/* Notes one more failure; returns the wait before the next try. */
static int64_t
backoff_fail(struct fed_pusher *p, const char *id, int64_t now_us)
{
	struct backoff *b = backoff_find(p, id);
	int64_t wait;

	if (b == NULL) {
		/* A full table forgets the oldest entry's history, never a delivery. */
		b = p->nbo < MAX_BACKOFF_ENTRIES ? &p->bo[p->nbo++] : &p->bo[0];
		memset(b, 0, sizeof(*b));
		snprintf(b->id, sizeof(b->id), "%s", id);
	}
	b->failures++;
	wait = fed_backoff_us(p->o.backoff_us, p->o.backoff_max_us, b->failures);
	b->next_us = now_us + wait;
	return wait;
}

struct sub_vec {
	struct taxii_sub *v;
	size_t n, cap;
	int oom;
};

static int
gather(void *arg, const struct taxii_sub *sub)
{
	struct sub_vec *sv = arg;

	if (sub->status != TAXII_SUBST_ACTIVE || !sub->has_push ||
	    sub->response_type != TAXII_RESP_FULL)
		return 0;
	if (sv->n == MAX_PUSH_SUBS)
		return 1;
	if (sv->n == sv->cap) {
		size_t cap = sv->cap ? 2 * sv->cap : 8;
		struct taxii_sub *v = realloc(sv->v, cap * sizeof(*v));

		if (v == NULL) {
			sv->oom = 1;
			return 1;
		}
		sv->v = v;
		sv->cap = cap;
	}
	sv->v[sv->n++] = *sub;
	return 0;
}

/* A subscription's push: its client, and the subscription as the store now has it. */
struct sub_push {
	struct fed_pusher *p;
	struct taxii_client_conf cc;
	struct taxii_sub sub;
};

static int
sub_send(void *arg, const struct taxii_content_block *blocks, size_t n, int64_t from,
    int64_t to, char *err, size_t errlen)
{
	struct sub_push *sp = arg;
	struct taxii_err terr = {0};
	int rc;

	/* A subscriber that asked for the 1.0 binding gets 1.0 Inbox_Messages, which have no
	 * Source_Subscription. */
	if (strcmp(sp->sub.push_binding, TAXII_MSG_BINDING_10) == 0) {
		sp->cc.version = TAXII_V10;
		rc = taxii_client_inbox(&sp->cc, NULL, blocks, n, &terr);
	} else {
		rc = taxii_client_inbox_sub(&sp->cc, sp->sub.collection, sp->sub.id, from, to,
		    blocks, n, &terr);
	}
	if (rc != 0) {
		util_seterr(err, errlen, "push to %.500s: %.300s", sp->sub.push_address, terr.msg);
		return -1;
	}
	return 0;
}

static int
sub_sent(void *arg, int64_t to, char *err, size_t errlen)
{
	struct sub_push *sp = arg;
	int rc = fed_subs_delivered(sp->p->s, sp->sub.id, to, err, errlen);

	if (rc != 0) {
		if (rc > 0)
			util_seterr(err, errlen, "subscription vanished while pushing");
		return -1;
	}
	/* PAUSE or UNSUBSCRIBE between two batches stops the delivery. */
	rc = fed_subs_get(sp->p->s, sp->sub.id, &sp->sub, err, errlen);
	return rc != 0 || sp->sub.status != TAXII_SUBST_ACTIVE ? 1 : 0;
}

/* Delivers everything after sub's cursor. Returns records sent, or -1 (err filled). */
static long
deliver(struct fed_pusher *p, const struct taxii_sub *sub, volatile sig_atomic_t *stop,
    char *err, size_t errlen)
{
	struct sub_push sp;
	struct fed_push fp = {.s = p->s, .from = sub->delivered_us, .batch = p->o.batch,
	    .labels = 1, .stop = stop, .send = sub_send, .sent = sub_sent, .arg = &sp};

	memset(&sp, 0, sizeof(sp));
	sp.p = p;
	sp.sub = *sub;
	sp.cc.url = sp.sub.push_address;
	sp.cc.version = TAXII_V11;
	sp.cc.ca_file = p->o.ca_file;
	sp.cc.client_cert = p->o.client_cert;
	sp.cc.client_key = p->o.client_key;
	sp.cc.timeout_s = p->o.timeout_s;
	sp.cc.cancel = stop;
	sp.cc.public_only = !p->o.allow_private;
	sp.cc.resolve = p->o.resolve;
	return fed_push_run(&fp, err, errlen);
}

int
fed_pusher_run(struct fed_pusher *p, int64_t now_us, volatile sig_atomic_t *stop,
    struct fed_push_stats *st)
{
	struct fed_push_stats local;
	struct sub_vec sv = { NULL, 0, 0, 0 };
	char err[1024];

	if (st == NULL)
		st = &local;
	memset(st, 0, sizeof(*st));
	if (fed_subs_list(p->s, NULL, gather, &sv, err, sizeof(err)) != 0 || sv.oom) {
		fed_logf(&p->o.log, FED_LOG_ERROR, "push: cannot read subscriptions: %s",
		    sv.oom ? "out of memory" : err);
		free(sv.v);
		return -1;
	}
	/* Forget the backoff of subscriptions no longer pushed to (paused or ended). */
	for (size_t j = p->nbo; j-- > 0;) {
		size_t k = 0;

		while (k < sv.n && strcmp(sv.v[k].id, p->bo[j].id) != 0)
			k++;
		if (k == sv.n)
			p->bo[j] = p->bo[--p->nbo];
	}
	for (size_t i = 0; i < sv.n && (stop == NULL || !*stop); i++) {
		const struct taxii_sub *sub = &sv.v[i];
		struct backoff *b = backoff_find(p, sub->id);
		long n;

		if (b != NULL && b->next_us > now_us) {
			st->deferred++;
			continue;
		}
		n = deliver(p, sub, stop, err, sizeof(err));
		if (n < 0) {
			int64_t wait = backoff_fail(p, sub->id, now_us);

			st->failed++;
			fed_logf(&p->o.log, FED_LOG_WARN,
			    "push: subscription %s: %s; next try in %lld s", sub->id, err,
			    (long long)(wait / 1000000));
			continue;
		}
		if (b != NULL)
			fed_logf(&p->o.log, FED_LOG_INFO,
			    "push: subscription %s: subscriber reachable again", sub->id);
		backoff_clear(p, sub->id);
		if (n > 0)
			fed_logf(&p->o.log, FED_LOG_INFO,
			    "push: subscription %s: %ld record%s delivered to %s", sub->id, n,
			    n == 1 ? "" : "s", sub->push_address);
		st->sent += (size_t)n;
	}
	free(sv.v);
	return 0;
}
