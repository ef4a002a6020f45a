/* Outcomes of records counted by probe and by error kind, for the daemon's counters: a
 * fixed set of names, so a hostile answer cannot grow the set of labels. */
#include "config.h"

#include <string.h>

#include <jansson.h>

#include "observer/observer.h"

static const char *const probe_names[OBS_PROBES] = {"ping", "robots", "http"};

/* Outcome names per probe, each list ending in NULL; index 0 is "the probe did not run". */
static const char *const outcome_names[OBS_PROBES][OBS_OUTCOMES + 1] = {
	{"not_run", "answered", "silent", NULL},
	{"not_run", "allowed", "disallowed", "failed", NULL},
	{"not_run", "1xx", "2xx", "3xx", "4xx", "5xx", "failed", NULL},
};

/* The record's error kinds (README "Observation"); any other is "other", the last. */
static const char *const error_names[OBS_ERROR_KINDS + 1] = {
	"excluded", "dns", "private-address", "robots-disallowed", "refused", "timeout",
	"reset", "tls", "protocol", "too-large", "other", NULL,
};

const char *
obs_tally_probe(int probe)
{
	return probe >= 0 && probe < OBS_PROBES ? probe_names[probe] : NULL;
}

const char *
obs_tally_outcome(int probe, int i)
{
	if (probe < 0 || probe >= OBS_PROBES || i < 0 || i >= OBS_OUTCOMES)
		return NULL;
	return outcome_names[probe][i];
}

const char *
obs_tally_error(int i)
{
	return i >= 0 && i < OBS_ERROR_KINDS ? error_names[i] : NULL;
}

static int
http_outcome(const json_t *http)
{
	json_int_t st;

	if (!json_is_object(http))
		return 0;
	if (!json_is_integer(json_object_get(http, "status")))
		return 6;
	st = json_integer_value(json_object_get(http, "status"));
	return st >= 100 && st < 600 ? (int)(st / 100) : 6;
}

void
obs_tally_record(const json_t *rec, struct obs_tally *t)
{
	const json_t *ping = json_object_get(rec, "ping"), *robots = json_object_get(rec, "robots");
	const char *kind = json_string_value(json_object_get(json_object_get(rec, "error"),
	    "kind"));
	int i;

	if (json_is_object(ping))
		t->outcome[OBS_PROBE_PING][json_integer_value(json_object_get(ping,
		    "received")) > 0 ? 1 : 2]++;
	else
		t->outcome[OBS_PROBE_PING][0]++;
	if (!json_is_object(robots))
		i = 0;
	else if (json_object_get(robots, "error") != NULL)
		i = 3;
	else
		i = json_is_true(json_object_get(robots, "allowed")) ? 1 : 2;
	t->outcome[OBS_PROBE_ROBOTS][i]++;
	t->outcome[OBS_PROBE_HTTP][http_outcome(json_object_get(rec, "http"))]++;
	if (kind == NULL)
		return;
	for (i = 0; i < OBS_ERROR_KINDS - 1; i++)
		if (strcmp(kind, error_names[i]) == 0)
			break;
	t->error[i]++;
}

void
obs_tally_add(struct obs_tally *to, const struct obs_tally *from)
{
	for (int p = 0; p < OBS_PROBES; p++)
		for (int i = 0; i < OBS_OUTCOMES; i++)
			to->outcome[p][i] += from->outcome[p][i];
	for (int i = 0; i < OBS_ERROR_KINDS; i++)
		to->error[i] += from->error[i];
}
