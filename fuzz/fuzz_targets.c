/*
 * fuzz_targets: libFuzzer harness for the targets CSV reader. conf_targets_read reads a
 * path, so each input is written to one temporary file made at start-up and removed at
 * exit. A file that is accepted must give targets that conf_target_check accepts again
 * unchanged and that each have a destination key.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "conf/conf.h"
#include "fuzz/fuzz_file.h"
#include "record/record.h"
#include "util/util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *path;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	path = fuzz_file_init("fuzz_targets");
	return 0;
}

/* `keylen` bounds any key: a field cannot be longer than the file it came from, but
 * normalisation (punycode, a port) may lengthen it a little. */
static void
check_targets(const json_t *arr, size_t keylen)
{
	char *key = malloc(keylen);
	size_t i;
	json_t *t;

	if (key == NULL)
		abort();
	json_array_foreach(arr, i, t) {
		json_t *copy = json_deep_copy(t);
		char err[256] = "";

		if (copy == NULL)
			abort();
		if (conf_target_check(copy, err, sizeof(err)) != 0 || !json_equal(copy, t) ||
		    rec_target_key(t, key, keylen) != 0) {
			char *s = json_dumps(t, JSON_SORT_KEYS);

			fprintf(stderr, "accepted target is not stable: %s (%s)\n",
			    s ? s : "?", err);
			abort();
		}
		json_decref(copy);
	}
	free(key);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct util_buf errors;
	json_t *out = NULL;
	size_t nerr = 0;

	fuzz_file_put(data, size);
	util_buf_init(&errors, 1u << 20);
	if (conf_targets_read(path, (size & 1) ? "FUZZ" : NULL, &out, &errors, &nerr, NULL,
	    NULL) == 0) {
		if (!json_is_array(out))
			abort();
		check_targets(out, 4 * size + 1024);
	} else if (nerr == 0 || errors.len == 0) {
		fprintf(stderr, "conf_targets_read failed without saying why\n");
		abort();
	}
	json_decref(out);
	util_buf_fini(&errors);
	return 0;
}
