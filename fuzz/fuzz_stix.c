/*
 * fuzz_stix: libFuzzer harness for the STIX readers: stix_read (any producer's package
 * into records and targets) and stix_observation_read (c2watch's own packages). A record
 * that stix_observation_read accepts and stix_observation_write can write must read back
 * identical, which is the promise the module makes to peers. The text fast path
 * (stix_observation_text_xml) must give the record stix_observation_read gives whenever
 * both take the input, and must never read past it.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libxml/parser.h>

#include "stix/stix.h"
#include "util/util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	xmlInitParser();
	return 0;
}

static void
round_trip(const json_t *record)
{
	struct util_buf out;
	json_t *back = NULL;
	char err[256];
	int rc;

	util_buf_init(&out, STIX_MAX_BYTES);
	if (stix_observation_write(record, &out, err, sizeof(err)) != 0)
		goto out;
	rc = stix_observation_read(out.data, out.len, &back, err, sizeof(err));
	if (rc != 0 || !json_equal(back, record)) {
		char *want = json_dumps(record, JSON_SORT_KEYS);
		char *got = back ? json_dumps(back, JSON_SORT_KEYS) : NULL;

		fprintf(stderr, "record does not read back (%s: %s)\nwant %s\ngot  %s\n",
		    stix_strerror(rc), err, want ? want : "?", got ? got : "(none)");
		abort();
	}
out:
	json_decref(back);
	util_buf_fini(&out);
}

/* The text fast path on a copy of exactly `size` bytes (so a read past them is caught). */
static void
text_path(const uint8_t *data, size_t size, const json_t *record)
{
	struct util_buf out;
	struct rec_text rt;
	char *copy = malloc(size ? size : 1);
	json_t *got;
	int rc;

	if (copy == NULL)
		return;
	memcpy(copy, data, size);
	util_buf_init(&out, STIX_MAX_BYTES);
	rc = stix_observation_text_xml(copy, size, &out, &rt);
	if (rc == 1 && record != NULL) {
		got = json_loadb(rt.json, rt.len, JSON_REJECT_DUPLICATES, NULL);
		if (got == NULL || !json_equal(got, record)) {
			fprintf(stderr,
			    "text fast path: another record than stix_observation_read\n");
			abort();
		}
		json_decref(got);
	}
	util_buf_fini(&out);
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stix_result res;
	json_t *record = NULL;
	char err[256];
	int rc;

	stix_result_init(&res);
	rc = stix_read((const char *)data, size, (size & 1) ? "fuzz" : NULL, &res, err,
	    sizeof(err));
	if (rc == 0 && (res.records == NULL || res.targets == NULL || res.notes == NULL)) {
		fprintf(stderr, "stix_read succeeded without its arrays\n");
		abort();
	}
	stix_result_fini(&res);

	rc = stix_observation_read((const char *)data, size, &record, err, sizeof(err));
	if ((rc == 0) != (record != NULL)) {
		fprintf(stderr, "stix_observation_read returned %d with record %p\n", rc,
		    (void *)record);
		abort();
	}
	if (record != NULL)
		round_trip(record);
	text_path(data, size, record);
	json_decref(record);
	return 0;
}
