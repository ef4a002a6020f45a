/*
 * The daemon's pages beside TAXII (struct taxii_http): one table from path to the module
 * that draws the page, and the collection a user must be allowed to see it (the users
 * file's rights; without a users file everyone who reaches the server may). Adding a page
 * is adding one line to `routes`.
 */
#include "config.h"

#include <string.h>

#include "conf/conf.h"
#include "fed/fed.h"
#include "node/node_daemon.h"
#include "node/node_stats.h"
#include "util/util.h"

typedef int (*node_page_fn)(struct node_daemon *d, const struct taxii_http_req *req,
    struct taxii_http_resp *resp, char *err, size_t errlen);

static int
page_metrics(struct node_daemon *d, const struct taxii_http_req *req,
    struct taxii_http_resp *resp, char *err, size_t errlen)
{
	(void)req;
	snprintf(resp->content_type, sizeof(resp->content_type),
	    "text/plain; version=0.0.4; charset=utf-8");
	return node_metrics_text(d->stats, d->s, resp->body, err, errlen);
}

static int
metrics_on(const struct conf *c)
{
	return c->server.metrics;
}

static const struct node_route {
	const char *path;
	const char *collection;             /* what the user must be allowed */
	int (*enabled)(const struct conf *c); /* NULL: always */
	node_page_fn get;
} routes[] = {
	{"/metrics", "observations", metrics_on, page_metrics},
};

static int
text(struct taxii_http_resp *resp, int status, const char *msg)
{
	resp->status = status;
	return util_buf_printf(resp->body, "%s\n", msg) == 0 ? 0 : -1;
}

static int
pages_get(void *ctx, const struct taxii_http_req *req, struct taxii_http_resp *resp,
    char *err, size_t errlen)
{
	struct node_daemon *d = ctx;
	struct fed_server *fs = __atomic_load_n(&d->fs, __ATOMIC_ACQUIRE);

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct node_route *r = &routes[i];

		if (strcmp(req->path, r->path) != 0)
			continue;
		if (r->enabled != NULL && !r->enabled(d->c))
			break;
		/* Requests may arrive before the server's handle is published. */
		if (fs == NULL)
			return text(resp, 503, "starting");
		if (!fed_server_allows(fs, req->user, r->collection)) {
			node_stats_forbidden(d->stats);
			return text(resp, 403, "this user may not see this page");
		}
		return r->get(d, req, resp, err, errlen);
	}
	return text(resp, 404, "no such page");
}

void
node_pages_init(struct node_daemon *d, struct taxii_http *http)
{
	http->ctx = d;
	http->get = pages_get;
}
