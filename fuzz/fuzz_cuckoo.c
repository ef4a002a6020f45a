/*
 * fuzz_cuckoo: libFuzzer harness for the Cuckoo/CAPE report reader (conf_cuckoo_read),
 * whose input comes out of a sandbox that ran malware. It reads a path, so each input is
 * written to one temporary file made at start-up and removed at exit. Targets it returns
 * must pass conf_target_check unchanged and have a destination key.
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

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *path;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	path = fuzz_file_init("fuzz_cuckoo");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_err err;
	json_t *out = NULL, *t;
	char note[1024], *key;
	size_t i, keylen = 4 * size + 1024;

	fuzz_file_put(data, size);
	err.msg[0] = '\0';
	if (conf_cuckoo_read(path, (size & 1) ? "FUZZ" : NULL, &out, note, sizeof(note),
	    &err) != 0) {
		if (err.msg[0] == '\0' || out != NULL) {
			fprintf(stderr, "conf_cuckoo_read failed without saying why\n");
			abort();
		}
		return 0;
	}
	if (!json_is_array(out) || (key = malloc(keylen)) == NULL)
		abort();
	json_array_foreach(out, i, t) {
		json_t *copy = json_deep_copy(t);
		char why[256] = "";

		if (copy == NULL)
			abort();
		if (conf_target_check(copy, why, sizeof(why)) != 0 || !json_equal(copy, t) ||
		    rec_target_key(t, key, keylen) != 0) {
			char *s = json_dumps(t, JSON_SORT_KEYS);

			fprintf(stderr, "returned target is not stable: %s (%s)\n",
			    s ? s : "?", why);
			abort();
		}
		json_decref(copy);
	}
	free(key);
	json_decref(out);
	return 0;
}
