/* The shared record fixtures of tests/records.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/records.h"
#include "tests/tap.h"
#include "util/util.h"

const char *const record_cases[RECORD_CASES] = {
	"full", "probes-null", "probe-errors", "ipv6-unicode", "xml-special", "bare-ip",
};

const char *const record_mutations[RECORD_MUTATIONS][3] = {
	{ "{\"error\":", "{\"zzz\":1,\"error\":", "keys out of order" },
	{ "\"threat_id\":\"", "\"threat_id\": \"", "whitespace" },
	{ "\"vantage\":\"", "\"vantage\":\"\\u0041", "an escape jansson would not write" },
	{ "\"loss_pct\":25.0", "\"loss_pct\":25.00", "a real in another form" },
	{ "\"loss_pct\":25.0", "\"loss_pct\":2.5e1", "a real with an exponent" },
	{ "\"loss_pct\":25.0", "\"loss_pct\":0.00001", "a real %g writes with an exponent" },
	{ "\"loss_pct\":25.0", "\"loss_pct\":1000000000000000.0", "a real of 16 digits" },
	{ "\"loss_pct\":25.0", "\"loss_pct\":0.10000000000000001",
	    "a real in 17 digits that fewer name" },
	{ "\"loss_pct\":25.0", "\"loss_pct\":025.0", "a real with a leading zero" },
	{ "\"loss_pct\":25.0", "\"loss_pct\":25.", "a real without decimals" },
	{ "\"sent\":4", "\"sent\":04", "an integer in another form" },
	{ "\"sent\":4", "\"sent\":-0", "a negative zero" },
	{ "\"sent\":4", "\"sent\":+4", "a plus sign" },
	{ "\"sent\":4", "\"sent\":99999999999999999999", "an integer that overflows" },
	{ "\"sent\":4", "\"sent\":4-2", "a sign inside" },
	{ "\"ttl\":52", "\"ttl\":52,\"ttl\":53", "a duplicate key" },
	{ "\"node\":\"", "\"node\":\"\\u0000", "a NUL" },
};

json_t *
load_record(const char *name)
{
	char path[4096];
	json_error_t je;
	json_t *j;

	snprintf(path, sizeof(path), "%s/data/stix/records/%s.json", getenv("TESTS_SRCDIR"),
	    name);
	j = json_load_file(path, 0, &je);
	if (j == NULL)
		tap_diag("%s: %s", path, je.text);
	return j;
}

char *
replace_all(const char *s, const char *from, const char *to)
{
	struct util_buf b;
	const char *p;

	util_buf_init(&b, 0);
	while ((p = strstr(s, from)) != NULL) {
		util_buf_add(&b, s, (size_t)(p - s));
		util_buf_add(&b, to, strlen(to));
		s = p + strlen(from);
	}
	util_buf_add(&b, s, strlen(s));
	return b.data;
}
