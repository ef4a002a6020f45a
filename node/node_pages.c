/* The page dispatcher of `run`: authorization, then the dashboard (dash/) or /metrics. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "conf/conf.h"
#include "dash/dash.h"
#include "node/node_pages.h"
#include "node/node_stats.h"
#include "taxii/taxii.h"
#include "util/util.h"

struct node_pages {
	const struct conf *c;
	struct conf_users *users;
	struct store *s;
	struct node_stats *stats;
	struct an_sinkholes *sinkholes;
	struct dash *dash;
};

struct node_pages *
node_pages_new(const struct conf *c, struct store *s, struct node_stats *stats, char *err,
    size_t errlen)
{
	struct node_pages *np = calloc(1, sizeof(*np));
	struct dash_opts o;
	const char **peers = NULL;
	struct conf_err cerr = {{0}};

	if (np == NULL || (c->npeers && (peers = calloc(c->npeers, sizeof(*peers))) == NULL)) {
		util_seterr(err, errlen, "out of memory");
		goto fail;
	}
	np->c = c;
	np->s = s;
	np->stats = stats;
	if (c->server.users_file &&
	    (np->users = conf_users_load(c->server.users_file, &cerr)) == NULL) {
		util_seterr(err, errlen, "%s", cerr.msg);
		goto fail;
	}
	if (an_sinkholes_load(c->analysis.sinkholes_file, &np->sinkholes, err, errlen) != 0)
		goto fail;
	for (size_t i = 0; i < c->npeers; i++)
		peers[i] = c->peers[i].name;
	memset(&o, 0, sizeof(o));
	o.store = s;
	o.node_id = c->node.id;
	o.trust = c->trust.set;
	o.organization = c->node.organization;
	o.remove_after_us = c->analysis.remove_after_us;
	o.sinkholes = np->sinkholes;
	o.peers = peers;
	o.npeers = c->npeers;
	if ((np->dash = dash_new(&o, err, errlen)) == NULL)
		goto fail;
	free(peers);
	return np;
fail:
	free(peers);
	node_pages_free(np);
	return NULL;
}

void
node_pages_free(struct node_pages *np)
{
	if (np == NULL)
		return;
	dash_free(np->dash);
	an_sinkholes_free(np->sinkholes);
	conf_users_free(np->users);
	free(np);
}

static int
refuse(struct taxii_http_resp *resp, int status, const char *msg)
{
	resp->status = status;
	taxii_http_add_header(resp, "X-Content-Type-Options", "nosniff");
	return util_buf_add(resp->body, msg, strlen(msg));
}

static int
pages_get(void *ctx, const struct taxii_http_req *req, struct taxii_http_resp *resp,
    char *err, size_t errlen)
{
	struct node_pages *np = ctx;
	int metrics = np->c->server.metrics && np->stats != NULL &&
	    strcmp(req->path, "/metrics") == 0;

	if (!metrics && !(np->c->server.dashboard && dash_handles(req->path)))
		return refuse(resp, 404, "no such page\n") ? -1 : 0;
	/* Both show what the observations collection holds: the same right. */
	if (np->users != NULL &&
	    (req->user == NULL || !conf_users_allows(np->users, req->user, "observations"))) {
		if (np->stats != NULL)
			node_stats_forbidden(np->stats);
		return refuse(resp, 403, "this user may not poll observations\n") ? -1 : 0;
	}
	if (metrics) {
		snprintf(resp->content_type, sizeof(resp->content_type),
		    "text/plain; version=0.0.4; charset=utf-8");
		return node_metrics_text(np->stats, np->s, resp->body, err, errlen);
	}
	return dash_serve(np->dash, req, resp, err, errlen);
}

void
node_pages_hook(struct node_pages *np, struct taxii_http *out)
{
	out->ctx = np;
	out->get = pages_get;
}
