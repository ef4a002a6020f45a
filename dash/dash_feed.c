/*
 * The feeds: /report.json (report --json's JSON and query) and /blocklist (export --format
 * blocklist's text). Each answer carries an ETag (a hash of its body) and Last-Modified
 * (when that body first went out), and a poller that sends either back while nothing
 * changed gets 304 without a body.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dash/dash_int.h"

static void
http_date(int64_t s, char buf[40])
{
	time_t t = (time_t)s;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, 40, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
		buf[0] = '\0';
}

/* An HTTP date (RFC 9110's preferred form) in seconds, or -1. */
static int64_t
http_date_parse(const char *s)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || (end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm)) == NULL ||
	    *end != '\0')
		return -1;
	return (int64_t)timegm(&tm);
}

/* The slot of key, taking the oldest one when it has none (the lock is held). */
static struct dash_feed_slot *
slot_of(struct dash *d, const char *key)
{
	struct dash_feed_slot *s;

	for (size_t i = 0; i < DASH_FEED_SLOTS; i++)
		if (d->feeds[i].used && strcmp(d->feeds[i].key, key) == 0)
			return &d->feeds[i];
	s = &d->feeds[d->feed_next++ % DASH_FEED_SLOTS];
	memset(s, 0, sizeof(*s));
	snprintf(s->key, sizeof(s->key), "%s", key);
	s->used = 1;
	return s;
}

/*
 * Sends the body in q->b with its validators, or 304 when the request's If-None-Match or
 * If-Modified-Since says the client has it. hash is the body's (for rpz, of the body with
 * serial 0, so that the serial alone never makes a new version).
 */
static int
send_feed(struct dash_req *q, const char *ctype, const unsigned char hash[32], int64_t mtime_s)
{
	const char *inm = taxii_http_header(q->req, "If-None-Match");
	const char *ims = taxii_http_header(q->req, "If-Modified-Since");
	char etag[40], hex[65], date[40];
	int fresh = 0;

	util_hex(hash, 16, hex);
	snprintf(etag, sizeof(etag), "\"%.32s\"", hex);
	http_date(mtime_s, date);
	if (inm != NULL)
		fresh = strstr(inm, etag) != NULL || strcmp(inm, "*") == 0;
	else if (ims != NULL) {
		int64_t t = http_date_parse(ims);

		fresh = t >= 0 && mtime_s <= t;
	}
	if (dash_page_headers(q, fresh ? 304 : 200, ctype) != 0 ||
	    taxii_http_add_header(q->resp, "ETag", etag) != 0 ||
	    (date[0] && taxii_http_add_header(q->resp, "Last-Modified", date) != 0) ||
	    taxii_http_add_header(q->resp, "Cache-Control", "no-cache") != 0) {
		util_seterr(q->err, q->errlen, "too many response headers");
		return -1;
	}
	if (fresh)
		util_buf_reset(q->b);
	return 0;
}

/* Records hash of key's body; returns when that body first went out, and its serial. */
static int64_t
version(struct dash *d, const char *key, const unsigned char hash[32], uint32_t *serial)
{
	struct dash_feed_slot *s;
	int64_t now = util_now_us() / 1000000, m;

	pthread_mutex_lock(&d->mu);
	s = slot_of(d, key);
	if (s->mtime_s == 0 || memcmp(s->hash, hash, 32) != 0) {
		memcpy(s->hash, hash, 32);
		s->serial = (uint32_t)now > s->serial ? (uint32_t)now : s->serial + 1;
		s->mtime_s = now;
	}
	m = s->mtime_s;
	if (serial)
		*serial = s->serial;
	pthread_mutex_unlock(&d->mu);
	return m;
}

static const char *
arg(struct dash_req *q, const char *name)
{
	const char *v = taxii_http_arg(q->req, name);

	return v && v[0] ? v : NULL;
}

int
dash_feed_report(struct dash_req *q)
{
	const char *threat = arg(q, "threat"), *month = arg(q, "month");
	const char *from_s = arg(q, "from"), *to_s = arg(q, "to");
	struct dash_rep *rep = NULL;
	struct an_report *r = NULL;
	unsigned char h[32];
	char key[512];
	int64_t from = INT64_MIN, to = util_now_us(), mtime;
	int rc = -1;

	if (threat == NULL)
		threat = arg(q, "threat-id");
	if (month && (from_s || to_s))
		return dash_plain(q, 400, "month and from/to exclude each other");
	if (month && dash_month(month, &from, &to) != 0)
		return dash_plain(q, 400, "month is not YYYY-MM");
	if (from_s && util_time_parse(from_s, &from) != 0)
		return dash_plain(q, 400, "from is not a date or RFC 3339 time");
	if (to_s && util_time_parse(to_s, &to) != 0)
		return dash_plain(q, 400, "to is not a date or RFC 3339 time");
	if (from != INT64_MIN && from >= to)
		return dash_plain(q, 400, "the period is empty (from is not before to)");
	if (!threat && !month && !from_s && !to_s) {
		if (dash_rep_get(q->d, &rep, q->err, q->errlen) != 0)
			return -1;
	} else if (dash_report(q->d, threat, from, to, &r, q->err, q->errlen) != 0) {
		return -1;
	}
	if (an_report_json(rep ? rep->r : r, q->b) != 0) {
		util_seterr(q->err, q->errlen, "report too large or out of memory");
		goto out;
	}
	if (util_sha256(q->b->data, q->b->len, h) != 0) {
		util_seterr(q->err, q->errlen, "SHA-256 failed");
		goto out;
	}
	snprintf(key, sizeof(key), "r\n%s\n%s\n%s\n%s", threat ? threat : "", month ? month : "",
	    from_s ? from_s : "", to_s ? to_s : "");
	mtime = version(q->d, key, h, NULL);
	rc = send_feed(q, "application/json", h, mtime);
out:
	dash_rep_put(q->d, rep);
	an_report_free(r);
	return rc;
}

int
dash_feed_blocklist(struct dash_req *q)
{
	const char *style = arg(q, "style"), *verdict = arg(q, "verdict");
	const char *threat = arg(q, "threat");
	const char *ctype = "text/plain; charset=utf-8";
	struct dash_rep *rep = NULL;
	struct an_report *r = NULL;
	const struct an_report *use;
	unsigned verdicts = AN_KEEP;
	unsigned char h[32];
	char key[512], why[256];
	uint32_t serial = 0;
	int64_t mtime;
	int rc = -1;

	if (style == NULL)
		return dash_plain(q, 400, "style is required (plain, edl-url, edl-domain, edl-ip, "
		    "rpz, suricata, zeek, csv)");
	if (verdict && an_verdicts_parse(verdict, &verdicts, why, sizeof(why)) != 0)
		return dash_plain(q, 400, why);
	if (threat == NULL) {
		if (dash_rep_get(q->d, &rep, q->err, q->errlen) != 0)
			return -1;
	} else if (dash_report(q->d, threat, INT64_MIN, util_now_us(), &r, q->err,
	    q->errlen) != 0) {
		return -1;
	}
	use = rep ? rep->r : r;
	/* The version is the list without its serial; the serial grows only with it. */
	if (an_blocklist(use, style, verdicts, 0, q->b, why, sizeof(why)) != 0) {
		rc = dash_plain(q, 400, why);
		goto out;
	}
	if (util_sha256(q->b->data, q->b->len, h) != 0) {
		util_seterr(q->err, q->errlen, "SHA-256 failed");
		goto out;
	}
	snprintf(key, sizeof(key), "b\n%s\n%u\n%s", style, verdicts, threat ? threat : "");
	mtime = version(q->d, key, h, &serial);
	if (strcmp(style, "rpz") == 0) {
		util_buf_reset(q->b);
		if (an_blocklist(use, style, verdicts, serial, q->b, why, sizeof(why)) != 0) {
			util_seterr(q->err, q->errlen, "%s", why);
			goto out;
		}
	}
	if (strcmp(style, "csv") == 0)
		ctype = "text/csv; charset=utf-8";
	rc = send_feed(q, ctype, h, mtime);
out:
	dash_rep_put(q->d, rep);
	an_report_free(r);
	return rc;
}
