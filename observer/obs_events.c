/* Change events between two observations of one destination, and the cycle clock. */
#include "config.h"

#include <stdint.h>
#include <string.h>
#include <time.h>

#include "observer/observer.h"

/* 1 when the record shows any answer from the destination: an HTTP status or a ping
 * reply. */
static int
ev_answered(const json_t *r)
{
	json_t *st = json_object_get(json_object_get(r, "http"), "status");
	json_t *rx = json_object_get(json_object_get(r, "ping"), "received");

	return (json_is_integer(st) && json_integer_value(st) > 0) ||
	    (json_is_integer(rx) && json_integer_value(rx) > 0);
}

static int
ev_add(json_t *events, const json_t *cur, const char *kind, json_t *from, json_t *to)
{
	json_t *e = json_pack("{s:O?, s:O?, s:O?, s:O?, s:s, s:o, s:o, s:O?}", "threat_id",
	    json_object_get(cur, "threat_id"), "target",
	    json_object_get(json_object_get(cur, "target"), "input"), "node",
	    json_object_get(cur, "node"), "time", json_object_get(cur, "observed_at"), "kind",
	    kind, "from", from ? from : json_null(), "to", to ? to : json_null(), "record",
	    json_object_get(cur, "id"));

	return e == NULL ? -1 : json_array_append_new(events, e);
}

json_t *
obs_events(const json_t *prev, const json_t *cur)
{
	json_t *events = json_array();
	int was, is;

	if (events == NULL || prev == NULL || cur == NULL)
		return events;
	was = ev_answered(prev);
	is = ev_answered(cur);
	if (!was && is) {
		if (ev_add(events, cur, "up", json_string("down"), json_string("up")) != 0)
			goto oom;
	} else if (was && !is) {
		if (ev_add(events, cur, "down", json_string("up"), json_string("down")) != 0)
			goto oom;
	}
	/* A status change needs the GET to have run both times. An answer that became
	 * silence (or the reverse) is a status event too unless up/down already said it:
	 * a host that still answers ping but no longer HTTP must not go unnoticed. */
	json_t *ph = json_object_get(prev, "http"), *chh = json_object_get(cur, "http");
	json_t *ps = json_object_get(ph, "status"), *cs = json_object_get(chh, "status");
	if (ps && cs && !json_equal(ps, cs) &&
	    ((json_is_integer(ps) && json_is_integer(cs)) || was == is) &&
	    ev_add(events, cur, "status", json_incref(ps), json_incref(cs)) != 0)
		goto oom;
	json_t *psha = json_object_get(ph, "sha256"), *csha = json_object_get(chh, "sha256");
	if (json_is_string(psha) && json_is_string(csha) &&
	    strcmp(json_string_value(psha), json_string_value(csha)) != 0 &&
	    ev_add(events, cur, "content", json_incref(psha), json_incref(csha)) != 0)
		goto oom;
	return events;
oom:
	json_decref(events);
	return NULL;
}

/* Wall-clock seconds (local time read as if it were UTC) of a real time. */
static int
sched_wall(time_t real, int64_t *wall)
{
	struct tm tm;

	if (localtime_r(&real, &tm) == NULL)
		return -1;
	*wall = (int64_t)timegm(&tm);
	return 0;
}

/* The real time of a wall-clock time; -1 when it cannot be represented. */
static int
sched_real(int64_t wall, int64_t *real)
{
	time_t w = (time_t)wall, r;
	struct tm tm;

	if (gmtime_r(&w, &tm) == NULL)
		return -1;
	tm.tm_isdst = -1;
	r = mktime(&tm);
	if (r == (time_t)-1)
		return -1;
	*real = (int64_t)r;
	return 0;
}

int
obs_next_start(int64_t now_us, int anchor_minute, int64_t interval_us, int64_t *next_us)
{
	int64_t now = now_us / 1000000, step = interval_us / 1000000, wall, k, real;

	if (step < 1 || anchor_minute < 0 || anchor_minute >= 24 * 60)
		return -1;
	if (sched_wall((time_t)now, &wall) != 0)
		return -1;
	int64_t base = (int64_t)anchor_minute * 60;
	k = (wall - base) / step - 1;
	if (wall - base < 0)
		k -= 1;
	/* Bounded: a daylight-saving change moves wall time by hours, a few steps at most
	 * unless the interval is tiny; the loop stops after a day's worth of steps. */
	for (int64_t i = 0; i < 4 + 86400 / step; i++, k++) {
		if (sched_real(base + k * step, &real) != 0)
			return -1;
		if (real > now) {
			*next_us = real * 1000000;
			return 0;
		}
	}
	return -1;
}
