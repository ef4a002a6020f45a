/*
 * dash: the dashboard and the feeds served beside TAXII — HTML pages with server-drawn
 * SVG (`/`, `/threat/ID?month=`, `/destination?threat=&target=`, `/categories`,
 * `/tables`), the report's JSON (`/report.json`, the query of `report --json`) and the
 * blocklists (`/blocklist?style=&verdict=`, the text of `export --format blocklist`) with
 * ETag and Last-Modified, so a poller that has the current copy gets 304 and no body.
 *
 * Every string a page shows came from a record, so from a server an attacker runs: it is
 * escaped for where it goes (HTML text and attributes, SVG text, percent-encoded in
 * links), and every page carries a Content-Security-Policy that allows no script at all.
 *
 * It reads the store (analysis reports, the summaries, one destination's records, the
 * change events, peers' cursors) and never writes to it; it never authenticates (the
 * server and the caller do that before dash_serve), never logs and never opens a socket.
 * It takes the TAXII server's page request and response structs and nothing else of taxii.
 */
#ifndef C2W_DASH_H
#define C2W_DASH_H

#include <stddef.h>
#include <stdint.h>

#include "taxii/taxii.h"

struct store;
struct an_sinkholes;

struct rec_trust;

struct dash_opts {
	struct store *store;              /* borrowed; outlives the dash */
	const char *node_id;              /* this node's id: its records are never unverified */
	const struct rec_trust *trust;    /* nor those of its nodes (record/); may be NULL */
	const char *organization;         /* shown in the page heading; may be NULL */
	int64_t remove_after_us;          /* [analysis] remove_after */
	const struct an_sinkholes *sinkholes; /* borrowed; may be NULL */
	const char *const *peers;         /* [peer] names, for their last good poll */
	size_t npeers;
	/* How long a built report may be reused while records keep arriving (0: 5 s): the
	 * pages then lag the store by at most this, and a busy node builds one report per
	 * interval instead of one per request. An unchanged store never rebuilds. */
	int64_t reuse_us;
};

struct dash;

/* A dashboard over opts->store. NULL with err filled when memory ran out. */
struct dash *dash_new(const struct dash_opts *opts, char *err, size_t errlen);
void dash_free(struct dash *d);

/*
 * Answers one GET or HEAD for req->path: a page, a feed, or 404 (a plain-text page) for
 * any other path, 400 for a bad query. Safe to call from several server threads at once.
 * Returns 0 with resp filled, or -1 with err (the store failed; the client gets 500).
 */
int dash_serve(struct dash *d, const struct taxii_http_req *req, struct taxii_http_resp *resp,
    char *err, size_t errlen);

/* The paths dash_serve answers: 1 when path is one of them, 0 otherwise. */
int dash_handles(const char *path);

/*
 * Escapes for the pages, exposed for the tests. Each appends to out and returns 0, or -1
 * when out is full. dash_esc_html: text or a double-quoted attribute value (& < > " '
 * as references, C0 controls and DEL as U+FFFD). dash_esc_url: a URL query value or path
 * segment, every byte outside A-Z a-z 0-9 - . _ ~ percent-encoded.
 */
struct util_buf;
int dash_esc_html(struct util_buf *out, const char *s, size_t len);
int dash_esc_url(struct util_buf *out, const char *s, size_t len);

#endif
