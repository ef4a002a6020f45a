/* One observation cycle: targets in, records out. Targets are taken in windows of a
 * bounded size, so that a cycle's memory follows the window, not the number of targets.
 * Within a window: DNS for all its targets at once, ping in a thread of its own while the
 * HTTP phase runs, robots.txt once per origin, and a scheduler that keeps the global
 * concurrency bound and the per-host spacing. What must outlive a window is small and
 * bounded: the hosts still inside their spacing (a hash and a time each) and the robots.txt
 * outcomes of the most recent origins. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "observer/obs_int.h"
#include "record/record.h"
#include "util/util.h"

static json_t *
cyc_err_obj(const char *kind, const char *detail)
{
	return json_pack("{s:s, s:s}", "kind", kind, "detail", detail ? detail : "");
}

static json_t *
cyc_str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* ------------------------------------------------------------------ records */

static void cyc_emit_ready(struct cycle *c, struct cyc_win *w);
static void cyc_emit(struct cycle *c, struct cyc_target *t);

/* The record's time, once: when its first probe decision was taken. */
static void
cyc_stamp(struct cyc_target *t)
{
	if (t->observed_us == 0)
		t->observed_us = util_now_us();
}

static void
cyc_finish(struct cycle *c, struct cyc_target *t, const char *kind, const char *detail)
{
	cyc_stamp(t);
	if (kind != NULL) {
		json_decref(t->error);
		t->error = cyc_err_obj(kind, detail);
		if (strcmp(kind, "excluded") == 0)
			c->st->excluded++;
		else if (strcmp(kind, "private-address") == 0)
			c->st->private_refused++;
		else if (strcmp(kind, "dns") == 0)
			c->st->dns_failed++;
		else if (strcmp(kind, "robots-disallowed") == 0)
			c->st->robots_disallowed++;
		else
			c->st->failed++;
	}
	t->finished = 1;
	c->done++;
	if (c->cfg->progress)
		c->cfg->progress(c->done, c->total > c->st->targets ? c->total : c->st->targets,
		    c->cfg->progress_arg);
	if (c->live && (t->w->ping_state == PING_NONE || t->w->ping_state == PING_DONE))
		cyc_emit(c, t);
}

static json_t *
cyc_ping_json(struct cycle *c, const struct cyc_target *t)
{
	const struct obs_ping_result *p;

	(void)c;
	if (t->ping_idx < 0 || !t->w->ping_ok || t->w->ping_state != PING_DONE)
		return json_null();
	p = obs_pinger_result(t->w->pinger, (size_t)t->ping_idx);
	if (p == NULL)
		return json_null();
	return json_pack("{s:i, s:i, s:f, s:o, s:o}", "sent", p->sent, "received", p->received,
	    "loss_pct", p->loss_pct, "rtt_avg_ms",
	    p->received > 0 ? json_real(p->rtt_avg_ms) : json_null(), "ttl",
	    p->ttl >= 0 ? json_integer(p->ttl) : json_null());
}

/* Frees what a target held for its record once the record is out: a cycle's memory then
 * follows the requests in flight, not the number of targets. */
static void
cyc_target_release(struct cyc_target *t)
{
	free(t->key);
	free(t->url);
	free(t->path);
	free(t->origin);
	t->key = t->url = t->path = t->origin = NULL;
	json_decref(t->ipv4);
	json_decref(t->ipv6);
	json_decref(t->robots);
	json_decref(t->http);
	json_decref(t->error);
	t->ipv4 = t->ipv6 = t->robots = t->http = t->error = NULL;
}

/* Builds and hands over the record of a finished target. */
static void
cyc_emit(struct cycle *c, struct cyc_target *t)
{
	const struct obs_config *cfg = c->cfg;
	char when[UTIL_TIME_MAX], id[REC_ID_HEX + 1];
	json_t *rec = NULL, *target;

	t->emitted = 1;
	if (c->cb_failed)
		return;
	if (util_time_format(t->observed_us, 1, when) != 0 ||
	    rec_id_hex(cfg->node_id, t->key, t->observed_us, id) != 0)
		goto fail;
	target = json_pack("{s:s, s:s?, s:O, s:O, s:i, s:s?}", "input", t->key, "domain",
	    t->is_ip ? NULL : t->host, "ipv4", t->ipv4, "ipv6", t->ipv6, "port", t->port,
	    "user_agent", t->ua);
	if (target == NULL)
		goto fail;
	rec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:O?, s:O?, s:O?}", "id", id,
	    "threat_id", t->threat_id, "node", cfg->node_id, "vantage",
	    cfg->vantage ? cfg->vantage : cfg->node_id, "observed_at", when, "target", target,
	    "ping", cyc_ping_json(c, t), "robots", t->robots, "http", t->http, "error",
	    t->error);
	if (rec == NULL)
		goto fail;
	if (cfg->key != NULL && rec_sign(rec, cfg->key, NULL, 0) != 0)
		goto fail;
	c->st->records++;
	if (json_is_integer(json_object_get(t->http, "status")))
		c->st->responded++;
	if (c->cb(rec, c->cbarg) != 0)
		goto fail;
	json_decref(rec);
	cyc_target_release(t);
	return;
fail:
	json_decref(rec);
	c->cb_failed = 1;
}

/* Emits every finished target of w whose ping is known. */
static void
cyc_emit_ready(struct cycle *c, struct cyc_win *w)
{
	if (w == NULL || w->ping_state == PING_PENDING || w->ping_state == PING_RUNNING)
		return;
	for (size_t i = 0; i < w->nt; i++)
		if (w->t[i].finished && !w->t[i].emitted)
			cyc_emit(c, &w->t[i]);
}

/* ------------------------------------------------------------------ ping */

static void *
cyc_ping_main(void *arg)
{
	struct cyc_win *w = arg;

	w->ping_ok = obs_pinger_run(w->pinger, w->ping_timeout_ms, w->ping_err,
	    sizeof(w->ping_err)) == 0;
	return NULL;
}

static void
cyc_ping_ended(struct cycle *c, struct cyc_win *w)
{
	w->ping_state = PING_DONE;
	if (!w->ping_ok)
		snprintf(c->st->note, sizeof(c->st->note), "ping skipped: %.200s", w->ping_err);
}

/* Waits for w's ping (wait) or looks whether it ended; returns 1 when it is known. */
static int
cyc_ping_join(struct cycle *c, struct cyc_win *w, int wait)
{
	if (w == NULL || w->ping_state != PING_RUNNING)
		return 1;
	if (wait)
		pthread_join(w->ping_thread, NULL);
	else if (pthread_tryjoin_np(w->ping_thread, NULL) != 0)
		return 0;
	cyc_ping_ended(c, w);
	return 1;
}

/* Starts the ping thread of a window whose targets are added. */
static void
cyc_ping_launch(struct cycle *c, struct cyc_win *w)
{
	if (w->ping_state != PING_PENDING)
		return;
	if (pthread_create(&w->ping_thread, NULL, cyc_ping_main, w) != 0) {
		snprintf(c->st->note, sizeof(c->st->note), "ping skipped: no thread");
		for (size_t i = 0; i < w->nt; i++)
			w->t[i].ping_idx = -1;
		w->ping_state = PING_NONE;
		return;
	}
	w->ping_state = PING_RUNNING;
	c->st->pinged += w->npinged;
}

/* Adds one address per target of the window to a pinger of its own. Failing to ping is a
 * note, not an error. */
static void
cyc_ping_prepare(struct cycle *c, struct cyc_win *w)
{
	const struct obs_config *cfg = c->cfg;
	struct obs_pinger_opts po = {0};
	char err[256];
	struct in_addr a4;
	struct in6_addr a6;
	size_t n = 0;

	if (cfg->ping_count == 0)
		return;
	if (cfg->proxy != NULL) {
		snprintf(c->st->note, sizeof(c->st->note),
		    "ping skipped: with a proxy it would not leave from the vantage point");
		return;
	}
	if (cfg->source_address && inet_pton(AF_INET, cfg->source_address, &a4) == 1)
		po.source4 = cfg->source_address;
	if (cfg->source_address && inet_pton(AF_INET6, cfg->source_address, &a6) == 1)
		po.source6 = cfg->source_address;
	po.max_targets = w->nt + 1;
	if (obs_pinger_new(&po, &w->pinger, err, sizeof(err)) != 0) {
		snprintf(c->st->note, sizeof(c->st->note), "ping skipped: %.200s", err);
		return;
	}
	for (size_t i = 0; i < w->nt; i++) {
		struct cyc_target *t = &w->t[i];
		struct sockaddr_storage ss;
		socklen_t sl;
		const char *a = NULL;

		if (t->skip || t->finished)
			continue;
		memset(&ss, 0, sizeof(ss));
		if (json_array_size(t->ipv4)) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
			a = json_string_value(json_array_get(t->ipv4, 0));
			s4->sin_family = AF_INET;
			sl = sizeof(*s4);
			if (inet_pton(AF_INET, a, &s4->sin_addr) != 1)
				continue;
		} else if (json_array_size(t->ipv6)) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
			a = json_string_value(json_array_get(t->ipv6, 0));
			s6->sin6_family = AF_INET6;
			sl = sizeof(*s6);
			if (inet_pton(AF_INET6, a, &s6->sin6_addr) != 1)
				continue;
		} else {
			continue;
		}
		t->ping_idx = obs_pinger_add(w->pinger, (struct sockaddr *)&ss, sl,
		    (int)cfg->ping_count, cfg->ping_interval_ms ? cfg->ping_interval_ms : 1000, err,
		    sizeof(err));
		if (t->ping_idx >= 0)
			n++;
	}
	if (n == 0)
		return;
	w->ping_timeout_ms = (int)cfg->ping_count * (cfg->ping_interval_ms ? cfg->ping_interval_ms
									: 1000) + 2000;
	w->npinged = n;
	w->ping_state = PING_PENDING;
}

/* Frees a window whose records are out (or never will be), counting those not given. */
static void
cyc_win_retire(struct cycle *c, struct cyc_win *w)
{
	if (w == NULL)
		return;
	cyc_ping_join(c, w, 1);
	for (size_t i = 0; i < w->nt; i++) {
		struct cyc_target *t = &w->t[i];

		if (!t->emitted)
			c->st->skipped++;
		cyc_target_release(t);
		free(t->host);
		json_decref(t->src);
	}
	memset(w->t, 0, w->nt * sizeof(*w->t));
	w->nt = 0;
	obs_pinger_free(w->pinger);
	w->pinger = NULL;
	w->ping_ok = 0;
	w->ping_state = PING_NONE;
	w->npinged = 0;
}

/* The earlier window once its ping has ended (waiting for it with `wait`): its records go
 * out and it is freed. */
static void
cyc_prev_settle(struct cycle *c, int wait)
{
	if (c->prev == NULL || !cyc_ping_join(c, c->prev, wait))
		return;
	cyc_emit_ready(c, c->prev);
	cyc_win_retire(c, c->prev);
	c->prev = NULL;
}

/* ------------------------------------------------------------------ DNS and policy */

static int
cyc_resolve(struct cycle *c)
{
	const struct obs_config *cfg = c->cfg;
	struct obs_resolver_opts ro = {0};
	struct obs_resolver *r = NULL;
	int ret = -1, any = 0;

	ro.servers = cfg->dns_servers;
	ro.use_hosts = 1;
	ro.max_names = c->nt + 1;
	for (size_t i = 0; i < c->nt; i++) {
		struct cyc_target *t = &c->t[i];

		/* Behind a proxy the proxy resolves names: asking here would leak the lookup
		 * from the wrong vantage point. An address is its own answer. */
		if (t->skip || t->finished || t->is_ip || cfg->proxy != NULL)
			continue;
		/* Made for the first name only: a window of addresses needs no resolver. */
		if (r == NULL && obs_resolver_new(&ro, &r, c->err, c->errlen) != 0)
			goto out;
		t->dns_idx = obs_resolver_add(r, t->host, c->err, c->errlen);
		if (t->dns_idx < 0)
			goto out;
		any = 1;
	}
	if (any && obs_resolver_run(r, cfg->dns_timeout_ms > 0 ? cfg->dns_timeout_ms : 10000,
		       c->err, c->errlen) != 0)
		goto out;
	for (size_t i = 0; i < c->nt; i++) {
		struct cyc_target *t = &c->t[i];
		const struct obs_dns_result *d;
		struct obs_dns_result lit;
		struct in_addr l4;
		struct in6_addr l6;
		char a[INET6_ADDRSTRLEN];
		const char *bad = NULL;
		enum util_addr_class bc = UTIL_ADDR_PUBLIC;

		if (t->skip || t->finished)
			continue;
		t->ipv4 = json_array();
		t->ipv6 = json_array();
		if (t->ipv4 == NULL || t->ipv6 == NULL)
			goto oom;
		if (t->is_ip) {
			memset(&lit, 0, sizeof(lit));
			if (inet_pton(AF_INET, t->host, &l4) == 1) {
				lit.n4 = 1;
				lit.v4 = &l4;
			} else if (inet_pton(AF_INET6, t->host, &l6) == 1) {
				lit.n6 = 1;
				lit.v6 = &l6;
			}
			d = &lit;
		} else if (t->dns_idx < 0) {
			continue;
		} else {
			d = obs_resolver_result(r, (size_t)t->dns_idx);
		}
		if (d == NULL || d->status != OBS_DNS_OK) {
			cyc_finish(c, t, "dns", d ? d->detail : "no result");
			continue;
		}
		for (size_t k = 0; k < d->n4; k++) {
			enum util_addr_class cl = util_addr_classify(AF_INET, &d->v4[k]);

			inet_ntop(AF_INET, &d->v4[k], a, sizeof(a));
			if (json_array_append_new(t->ipv4, json_string(a)) != 0)
				goto oom;
			if (cl != UTIL_ADDR_PUBLIC && bad == NULL) {
				bad = json_string_value(json_array_get(t->ipv4, k));
				bc = cl;
			}
		}
		for (size_t k = 0; k < d->n6; k++) {
			enum util_addr_class cl = util_addr_classify(AF_INET6, &d->v6[k]);

			inet_ntop(AF_INET6, &d->v6[k], a, sizeof(a));
			if (json_array_append_new(t->ipv6, json_string(a)) != 0)
				goto oom;
			if (cl != UTIL_ADDR_PUBLIC && bad == NULL) {
				bad = json_string_value(json_array_get(t->ipv6, k));
				bc = cl;
			}
		}
		if (bad != NULL && !cfg->allow_private) {
			char detail[256];

			/* One special-purpose answer refuses the whole target: the HTTP client
			 * might otherwise pick exactly that address. */
			snprintf(detail, sizeof(detail), "%s resolves to %s, a %s address", t->host,
			    bad, util_addr_class_name(bc));
			cyc_finish(c, t, "private-address", detail);
		}
	}
	ret = 0;
	goto out;
oom:
	util_seterr(c->err, c->errlen, "resolving: out of memory");
out:
	obs_resolver_free(r);
	return ret;
}

static json_t *
cyc_robots_json(const struct cyc_origin *o, int allowed)
{
	json_t *r = json_pack("{s:o, s:b, s:b}", "status",
	    o->status > 0 ? json_integer(o->status) : json_null(), "present",
	    o->status >= 200 && o->status < 300, "allowed", allowed);

	if (r && o->error_kind)
		json_object_set_new(r, "error", cyc_err_obj(o->error_kind, o->detail));
	return r;
}

static void cyc_http_done(void *arg, const struct obs_http_result *res);

static int
cyc_send(struct cycle *c, size_t ti, int robots)
{
	struct cyc_target *t = &c->t[ti];
	struct cyc_req *q = &t->req;
	struct obs_http_req req = {0};
	char err[256];

	q->c = c;
	q->ti = ti;
	q->robots = robots;
	req.url = t->url;
	req.user_agent = t->ua;
	req.flags = robots ? OBS_HTTP_ROBOTS | OBS_HTTP_KEEP_BODY : 0;
	req.done = cyc_http_done;
	req.arg = q;
	if (!robots)
		t->observed_us = util_now_us();
	if (obs_http_add(c->http, &req, err, sizeof(err)) != 0) {
		/* An unusable URL is this target's problem, not the cycle's. */
		cyc_finish(c, t, "protocol", err);
		return 1;
	}
	c->inflight++;
	c->hosts[t->hidx].busy = 1;
	if (robots)
		c->st->robots_fetched++;
	else
		c->st->requests++;
	return 0;
}

/*
 * Finishes, from h->next on, the targets robots.txt has already decided without a request
 * of their own (its fetch got no answer at all, or it disallows them), and stops at the
 * first target that needs one. Called as soon as a request of the host ends too, so that
 * a dead host is done at once rather than after waiting out its spacing for nothing.
 */
static void
cyc_host_settle(struct cycle *c, struct cyc_host *h)
{
	while (h->next < h->ntargets) {
		struct cyc_target *t = &c->t[h->targets[h->next]];
		const struct cyc_origin *o = &h->origins[t->oidx];
		char detail[300];
		int allowed;

		if (t->finished) {
			h->next++;
			continue;
		}
		if (!c->cfg->robots_respect || o->state != RB_DONE)
			return;
		if (o->error_kind != NULL) {
			/* Nothing answered at all: the GET would meet the same fate. */
			t->robots = cyc_robots_json(o, 0);
			h->next++;
			snprintf(detail, sizeof(detail), "robots.txt: %.250s",
			    o->detail ? o->detail : "");
			cyc_finish(c, t, o->error_kind, detail);
			continue;
		}
		allowed = t->robots_allowed;
		/* Every target was decided when robots.txt came; should one have been missed,
		 * only a blanket permission lets it through. */
		if (allowed < 0)
			allowed = obs_robots_status_policy(o->status) == OBS_ROBOTS_ALLOW_ALL;
		if (allowed)
			return;
		t->robots = cyc_robots_json(o, 0);
		h->next++;
		if (o->status >= 500)
			snprintf(detail, sizeof(detail), "robots.txt answered %d: everything disallowed",
			    o->status);
		else
			snprintf(detail, sizeof(detail), "robots.txt disallows %.200s", t->path);
		cyc_finish(c, t, "robots-disallowed", detail);
	}
}

/*
 * Starts the next request of host hi, deciding robots.txt outcomes on the way. Returns 0
 * (a request is in flight, or the host has nothing left), or -1 on a local failure.
 */
static int
cyc_host_next(struct cycle *c, size_t hi)
{
	struct cyc_host *h = &c->hosts[hi];

	for (;;) {
		size_t ti;
		struct cyc_target *t;
		struct cyc_origin *o;
		int rc;

		cyc_host_settle(c, h);
		if (h->next >= h->ntargets)
			return 0;
		ti = h->targets[h->next];
		t = &c->t[ti];
		o = &h->origins[t->oidx];
		if (c->cfg->robots_respect && o->state == RB_NONE) {
			o->state = RB_PENDING;
			rc = cyc_send(c, ti, 1);
			if (rc < 0)
				return -1;
			if (rc == 0)
				return 0;
			o->state = RB_DONE;
			continue;
		}
		/* What settle leaves is allowed (or robots.txt is not respected). */
		if (c->cfg->robots_respect)
			t->robots = cyc_robots_json(o, 1);
		h->next++;
		rc = cyc_send(c, ti, 0);
		if (rc < 0)
			return -1;
		if (rc == 0)
			return 0;
	}
}

static json_t *
cyc_http_json(const struct obs_http_result *r)
{
	json_t *redirects = json_array(), *j;

	if (redirects == NULL)
		return NULL;
	for (size_t i = 0; i < r->nredirects; i++)
		json_array_append_new(redirects, json_string(r->redirects[i]));
	j = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:b, s:o, s:o, s:o, s:o, s:I}",
	    "status", r->status > 0 ? json_integer(r->status) : json_null(), "reason",
	    cyc_str_or_null(r->status > 0 ? r->reason : NULL), "content_type",
	    cyc_str_or_null(r->content_type), "server", cyc_str_or_null(r->server), "location",
	    cyc_str_or_null(r->location), "redirects", redirects, "size",
	    (json_int_t)(r->has_body ? r->size : 0), "truncated", r->truncated, "sha256",
	    r->has_body ? json_string(r->sha256) : json_null(), "filetype",
	    cyc_str_or_null(r->has_body ? r->filetype : NULL), "ssdeep",
	    cyc_str_or_null(r->has_body ? r->ssdeep : NULL), "tls_sha256",
	    cyc_str_or_null(r->tls_sha256), "elapsed_ms", (json_int_t)r->elapsed_ms);
	if (j && r->error != OBS_HTTP_ERR_NONE)
		json_object_set_new(j, "error",
		    cyc_err_obj(obs_http_error_name(r->error), r->error_detail));
	return j;
}

/* Moves the address actually connected to to the front of its list. */
static void
cyc_connected_first(struct cyc_target *t, const char *ip)
{
	json_t *lists[2] = {t->ipv4, t->ipv6};

	for (size_t l = 0; l < 2 && ip[0]; l++) {
		for (size_t i = 1; i < json_array_size(lists[l]); i++) {
			if (strcmp(json_string_value(json_array_get(lists[l], i)), ip) == 0) {
				json_t *v = json_incref(json_array_get(lists[l], i));
				json_array_remove(lists[l], i);
				json_array_insert_new(lists[l], 0, v);
				return;
			}
		}
	}
}

static void
cyc_http_done(void *arg, const struct obs_http_result *res)
{
	struct cyc_req *q = arg;
	struct cycle *c = q->c;
	struct cyc_target *t = &c->t[q->ti];
	struct cyc_host *h = &c->hosts[t->hidx];

	c->inflight--;
	h->busy = 0;
	h->ready_us = util_mono_us() + c->cfg->host_spacing_us;
	if (q->robots) {
		struct cyc_origin *o = &h->origins[t->oidx];

		o->state = RB_DONE;
		o->status = res->status;
		if (res->status <= 0) {
			o->error_kind = obs_http_error_name(res->error);
			if (o->error_kind == NULL)
				o->error_kind = "protocol";
			o->detail = strdup(res->error_detail);
		} else {
			/* Decided now for every target of the origin, so that no body outlives
			 * its own callback: thousands of hosts waiting out their spacing must
			 * not each hold up to 500 KiB. */
			const char *body = res->status >= 200 && res->status < 300 ? res->body : NULL;

			for (size_t k = h->next; k < h->ntargets; k++) {
				struct cyc_target *u = &c->t[h->targets[k]];
				struct obs_robots *rules = NULL;
				char err[256];

				if (u->finished || u->oidx != t->oidx)
					continue;
				if (obs_robots_from_fetch(res->status, body, body ? res->size : 0,
					u->ua, &rules, err, sizeof(err)) != 0) {
					util_seterr(c->err, c->errlen, "robots.txt of %s: %s",
					    o->origin,
					    err);
					c->failed = 1;
					break;
				}
				u->robots_allowed = obs_robots_allowed(rules, u->path);
				obs_robots_free(rules);
			}
		}
		cyc_rcache_put(c, o, res->status >= 200 && res->status < 300 ? res->body : NULL,
		    res->status >= 200 && res->status < 300 && res->body ? (size_t)res->size : 0);
	} else {
		const char *kind = obs_http_error_name(res->error);

		t->http = cyc_http_json(res);
		if (t->http == NULL)
			c->cb_failed = 1;
		cyc_connected_first(t, res->primary_ip);
		cyc_finish(c, t, kind, kind ? res->error_detail : NULL);
	}
	cyc_host_settle(c, h);
	if (h->next < h->ntargets && !h->queued)
		cyc_heap_push(c, t->hidx);
}

/* Redirects are followed only to hosts that are not excluded. */
static int
cyc_follow(const char *url, void *arg)
{
	struct cycle *c = arg;
	char *host = NULL, *origin = NULL, *path = NULL;
	int port, ok;

	if (c->nexclude == 0)
		return 1;
	ok = cyc_split_url(url, &host, &port, &origin, &path) == 0 &&
	    cyc_excluded(c, host) == NULL;
	free(host);
	free(origin);
	free(path);
	return ok;
}

static int
cyc_http_phase(struct cycle *c)
{
	const struct obs_config *cfg = c->cfg;
	struct obs_http_opts ho = {0};
	unsigned conc = cfg->concurrency ? cfg->concurrency : 256;

	ho.user_agent = cfg->user_agent;
	ho.accept_encoding = cfg->accept_encoding;
	ho.connect_timeout_ms = cfg->connect_timeout_us ? (long)(cfg->connect_timeout_us / 1000)
							: 10000;
	ho.timeout_ms = cfg->timeout_us ? (long)(cfg->timeout_us / 1000) : 30000;
	ho.max_body = cfg->max_body ? (size_t)cfg->max_body : 5u << 20;
	ho.max_redirects = (int)cfg->max_redirects;
	ho.proxy = cfg->proxy;
	ho.source_address = cfg->source_address;
	ho.max_inflight = conc;
	ho.allow_private = cfg->allow_private;
	ho.follow = cyc_follow;
	ho.follow_arg = c;
	if (c->http == NULL)
		c->http = obs_http_new(&ho, c->err, c->errlen);
	if (c->http == NULL)
		return -1;
	c->live = 1;
	/* A host whose targets robots.txt decided in an earlier window (from the cache) is done
	 * now, not once the spacing left from that window has passed. */
	for (size_t i = 0; i < c->nhosts; i++) {
		cyc_host_settle(c, &c->hosts[i]);
		if (c->hosts[i].next < c->hosts[i].ntargets)
			cyc_heap_push(c, i);
	}
	cyc_emit_ready(c, c->cur);
	for (;;) {
		int64_t now = util_mono_us();
		long wait_ms = 200;
		int left;

		if (cfg->stop && *cfg->stop) {
			c->st->aborted = 1;
			return 0;
		}
		if (c->prev != NULL)
			cyc_prev_settle(c, 0);
		if (c->cur->ping_state == PING_RUNNING && cyc_ping_join(c, c->cur, 0))
			cyc_emit_ready(c, c->cur);
		while (c->nheap > 0 && c->inflight < conc &&
		       c->hosts[c->heap[0]].ready_us <= now) {
			size_t hi = cyc_heap_pop(c);

			if (cyc_host_next(c, hi) != 0)
				return -1;
		}
		if (c->cb_failed)
			break;
		if (c->failed)
			return -1;
		if (c->nheap > 0 && c->inflight < conc) {
			int64_t d = (c->hosts[c->heap[0]].ready_us - now) / 1000 + 1;
			if (d < wait_ms)
				wait_ms = d;
		}
		if (c->inflight == 0 && c->nheap == 0)
			break;
		if ((c->prev != NULL || c->cur->ping_state == PING_RUNNING) && wait_ms > 50)
			wait_ms = 50;
		if (c->inflight == 0) {
			struct timespec ts = {wait_ms / 1000, (wait_ms % 1000) * 1000000L};
			nanosleep(&ts, NULL);
			continue;
		}
		left = obs_http_perform(c->http, wait_ms, c->err, c->errlen);
		if (left < 0)
			return -1;
		if (c->cb_failed)
			break;
	}
	return 0;
}

/* ------------------------------------------------------------------ the cycle */

/* Frees the hosts of a window's HTTP phase, keeping the spacing later windows need. */
static void
cyc_hosts_end(struct cycle *c)
{
	int64_t now = util_mono_us();

	for (size_t i = 0; i < c->nhosts; i++) {
		struct cyc_host *h = &c->hosts[i];

		if (c->cfg->host_spacing_us > 0 && h->ready_us > now &&
		    cyc_spacing_set(c, cyc_hash(h->name), h->ready_us, now) != 0 && !c->failed) {
			util_seterr(c->err, c->errlen, "host spacing: out of memory");
			c->failed = 1;
		}
		for (size_t o = 0; o < h->norigins; o++) {
			free(h->origins[o].origin);
			free(h->origins[o].detail);
		}
		free(h->origins);
		free(h->targets);
		free(h->name);
	}
	free(c->hosts);
	free(c->heap);
	c->hosts = NULL;
	c->heap = NULL;
	c->nhosts = c->nheap = 0;
}

/* Takes the next window of targets from the caller and settles those that need no probe
 * (excluded, refused). Returns 0, or -1 with err set. */
static int
cyc_window_fill(struct cycle *c)
{
	const struct obs_config *cfg = c->cfg;

	while (c->nt < c->window && !c->exhausted) {
		struct cyc_target *t = &c->t[c->nt];
		json_t *src = NULL;
		const char *ex;
		int rc = c->next(c->next_arg, &src);

		if (rc < 0) {
			json_decref(src);
			util_seterr(c->err, c->errlen, "observer: reading the targets failed");
			return -1;
		}
		if (rc == 0) {
			json_decref(src);
			c->exhausted = 1;
			break;
		}
		c->nt++;
		c->cur->nt = c->nt;
		c->st->targets++;
		t->w = c->cur;
		if (cyc_target_init(c, t, src) != 0) {
			t->src = src;
			util_seterr(c->err, c->errlen, "observer: out of memory");
			return -1;
		}
		t->src = src;
		if (t->skip)
			continue;
		ex = t->is_ip ? NULL : cyc_excluded(c, t->host);
		if (ex != NULL) {
			char detail[300];

			t->ipv4 = json_array();
			t->ipv6 = json_array();
			snprintf(detail, sizeof(detail), "%.120s is on the exclusion list (%.120s)",
			    t->host, ex);
			cyc_finish(c, t, "excluded", detail);
		} else if (t->is_ip && !cfg->allow_private) {
			enum util_addr_class cl = UTIL_ADDR_PUBLIC;

			if (util_addr_classify_text(t->host, &cl) == 0 && cl != UTIL_ADDR_PUBLIC) {
				char detail[300];

				snprintf(detail, sizeof(detail), "%.100s is a %s address", t->host,
				    util_addr_class_name(cl));
				t->ipv4 = json_array();
				t->ipv6 = json_array();
				json_array_append_new(strchr(t->host, ':') ? t->ipv6 : t->ipv4,
				    json_string(t->host));
				cyc_finish(c, t, "private-address", detail);
			}
		}
	}
	return 0;
}

int
obs_cycle_run_iter(const struct obs_config *cfg, obs_next_fn next, void *next_arg,
    size_t total, obs_record_fn cb, void *arg, struct obs_cycle_stats *st, char *err,
    size_t errlen)
{
	struct obs_cycle_stats dummy;
	struct cycle c;
	int64_t t0 = util_mono_us();
	int ret = -1;

	if (st == NULL)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	memset(&c, 0, sizeof(c));
	c.cfg = cfg;
	c.st = st;
	c.cb = cb;
	c.cbarg = arg;
	c.next = next;
	c.next_arg = next_arg;
	c.total = total;
	c.err = err;
	c.errlen = errlen;
	if (err && errlen)
		err[0] = '\0';
	if (cfg == NULL || cfg->node_id == NULL || cb == NULL || next == NULL) {
		util_seterr(err, errlen, "observer: no node id, callback or target source");
		return -1;
	}
	c.window = cfg->window ? cfg->window : CYC_WINDOW_DEFAULT;
	for (size_t i = 0; i < 2; i++) {
		c.win[i].c = &c;
		c.win[i].t = calloc(c.window, sizeof(*c.win[i].t));
		if (c.win[i].t == NULL) {
			util_seterr(err, errlen, "observer: out of memory for %zu targets",
			    c.window);
			goto out;
		}
	}
	if (cyc_exclude_load(&c) != 0)
		goto out;
	c.cur = &c.win[0];
	while (!c.exhausted) {
		if (cfg->stop && *cfg->stop) {
			st->aborted = 1;
			break;
		}
		c.live = 0;
		c.t = c.cur->t;
		c.nt = 0;
		if (cyc_window_fill(&c) != 0)
			goto out;
		if (c.nt == 0)
			break;
		if (cyc_resolve(&c) != 0)
			goto out;
		cyc_ping_prepare(&c, c.cur);
		cyc_ping_launch(&c, c.cur);
		cyc_prev_settle(&c, 0);
		if (cyc_group(&c) != 0 || cyc_http_phase(&c) != 0)
			goto out;
		cyc_hosts_end(&c);
		/* One HTTP engine per window: libcurl's DNS cache, its connection pool and the
		 * engine's body-type cache then hold one window's hosts, not the cycle's. */
		obs_http_free(c.http);
		c.http = NULL;
#ifdef __GLIBC__
		/* A window's targets, records and engine were freed: give the heap's free pages
		 * back, so a daemon rests at its size between cycles, not at its peak. */
		malloc_trim(0);
#endif
		if (st->aborted || c.cb_failed || c.failed)
			break;
		cyc_prev_settle(&c, 1);
		cyc_emit_ready(&c, c.cur);
		c.prev = c.cur;
		c.cur = c.cur == &c.win[0] ? &c.win[1] : &c.win[0];
	}
	if (!c.failed)
		ret = 0;
out:
	/* In-flight requests of a stopped or failed cycle are dropped without a record. */
	obs_http_free(c.http);
	c.http = NULL;
	/* The earlier window's records first, as they would have come. */
	struct cyc_win *order[2] = {c.prev == &c.win[1] ? &c.win[1] : &c.win[0],
	    c.prev == &c.win[1] ? &c.win[0] : &c.win[1]};
	for (size_t i = 0; i < 2; i++) {
		struct cyc_win *w = order[i];

		/* A ping never started gives no results: its records go out without. */
		if (w->ping_state == PING_PENDING)
			w->ping_state = PING_NONE;
		cyc_ping_join(&c, w, 1);
		if (w->t != NULL)
			cyc_emit_ready(&c, w);
	}
	if (ret == 0 && c.cb_failed) {
		util_seterr(err, errlen, "record callback failed");
		ret = -1;
	}
	cyc_hosts_end(&c);
	for (size_t i = 0; i < 2; i++)
		if (c.win[i].t != NULL)
			cyc_win_retire(&c, &c.win[i]);
	if (st->aborted && total > st->targets) {
		/* What the caller still had is counted as not observed, as if given. */
		st->skipped += total - st->targets;
		st->targets = total;
	}
	for (size_t i = 0; i < c.nexclude; i++)
		free(c.exclude[i]);
	free(c.exclude);
	free(c.exclude_suffix);
	free(c.win[0].t);
	free(c.win[1].t);
	free(c.spacing);
	cyc_rcache_fini(&c);
	st->seconds = (double)(util_mono_us() - t0) / 1e6;
	return ret;
}

/* The array form's source: the elements in order, each with a reference of its own. */
struct cyc_array_src {
	const json_t *arr;
	size_t i;
};

static int
cyc_array_next(void *arg, json_t **out)
{
	struct cyc_array_src *a = arg;

	if (a->i >= json_array_size(a->arr))
		return 0;
	*out = json_incref(json_array_get(a->arr, a->i++));
	return 1;
}

int
obs_cycle_run(const struct obs_config *cfg, const json_t *targets, obs_record_fn cb,
    void *arg, struct obs_cycle_stats *st, char *err, size_t errlen)
{
	struct cyc_array_src a = {targets, 0};

	if (!json_is_array(targets)) {
		if (st)
			memset(st, 0, sizeof(*st));
		util_seterr(err, errlen, "observer: no node id, callback or target array");
		return -1;
	}
	return obs_cycle_run_iter(cfg, cyc_array_next, &a, json_array_size(targets), cb, arg,
	    st, err, errlen);
}
