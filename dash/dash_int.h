/* dash's own parts: the shared report, the HTML writer, the pages and the feeds. */
#ifndef C2W_DASH_INT_H
#define C2W_DASH_INT_H

#include <pthread.h>
#include <stdint.h>

#include "analysis/analysis.h"
#include "dash/dash.h"
#include "util/util.h"

/* A vantage as the overview shows it: its latest record, its destinations. */
struct dash_vantage {
	char *node, *label;
	int64_t last;
	size_t dests;
};

/* A built report shared by the requests that read it; freed by its last reader. */
struct dash_rep {
	struct an_report *r;
	struct dash_vantage *vant; /* built with r, in the same background pass */
	size_t nvant;
	size_t nrecords; /* the store's record count when it was built */
	int64_t built_mono_us;
	int refs;
};

#define DASH_FEED_SLOTS 16

/* A feed body as last sent for one query: its ETag, when it last changed, its serial. */
struct dash_feed_slot {
	char key[512];
	unsigned char hash[32];
	int64_t mtime_s;
	uint32_t serial;
	int used;
};

struct dash {
	struct dash_opts o;
	char **peers;
	pthread_mutex_t mu;
	struct dash_rep *full;
	int building;       /* a rebuild of full is running in `builder` */
	int builder_joinable;
	pthread_t builder;
	struct dash_feed_slot feeds[DASH_FEED_SLOTS];
	unsigned feed_next;
};

/* A page being answered: the request, the response, the error buffer. */
struct dash_req {
	struct dash *d;
	const struct taxii_http_req *req;
	struct taxii_http_resp *resp;
	struct util_buf *b; /* resp->body */
	char *err;
	size_t errlen;
};

/* The full report (every record, to now), shared: release with dash_rep_put. */
int dash_rep_get(struct dash *d, struct dash_rep **out, char *err, size_t errlen);
void dash_rep_put(struct dash *d, struct dash_rep *rep);
/* A report of one query, built now. */
int dash_report(struct dash *d, const char *threat, int64_t from, int64_t to,
    struct an_report **out, char *err, size_t errlen);

/* The categories (an_report's names), their colours, and the index of a name (0, the
 * first, for one not known). */
#define DASH_NCATS 5
extern const char *const dash_cat_names[DASH_NCATS];
extern const char *const dash_cat_colors[DASH_NCATS];
int dash_cat_index(const char *c);

/* HTML writing: every helper returns 0, or -1 when the body is full. */
int dash_put(struct dash_req *q, const char *s);
int dash_putf(struct dash_req *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int dash_text(struct dash_req *q, const char *s);           /* escaped */
int dash_textn(struct dash_req *q, const char *s, size_t n); /* escaped */
int dash_url(struct dash_req *q, const char *s);            /* percent-encoded */
/* <a href="/destination?threat=..&target=.."> opening tag. */
int dash_dest_link(struct dash_req *q, const char *threat, const char *target);
int dash_head(struct dash_req *q, const char *title);
int dash_foot(struct dash_req *q);
/* The security headers and the HTML type; status 0 means 200. */
int dash_page_headers(struct dash_req *q, int status, const char *ctype);
/* A plain-text answer (404, 400) with the security headers. */
int dash_plain(struct dash_req *q, int status, const char *msg);
/* A time as "2026-11-22 04:00" (UTC), or "never". */
void dash_time(int64_t us, char buf[32]);
/* The color of series i (a fixed palette, cycled). */
const char *dash_color(size_t i);
/* A status's color: a hue per class of HTTP answer (the commonest status of a class in
 * its plain shade, the others darker), grey for none. */
const char *dash_status_color(int status);
/* The status of a summary entry in words: "200", "no answer", "not run". */
void dash_status_name(int status, char buf[16]);

/* The pages. */
int dash_page_index(struct dash_req *q);
int dash_page_threat(struct dash_req *q, const char *threat);
int dash_page_destination(struct dash_req *q);
int dash_page_categories(struct dash_req *q);
int dash_page_tables(struct dash_req *q);
/* The feeds. */
int dash_feed_report(struct dash_req *q);
int dash_feed_blocklist(struct dash_req *q);

/* "YYYY-MM" into [from, to); 0, or -1 when it is not a month. */
int dash_month(const char *s, int64_t *from, int64_t *to);

#endif
