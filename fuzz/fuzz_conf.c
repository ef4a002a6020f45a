/*
 * fuzz_conf: libFuzzer harness for the INI config reader (conf_load_string). A config it
 * accepts is printed with conf_print, and the printed text must load again and print the
 * same: the promise check-config makes to operators who save its output. Paths a fuzzed
 * config names are only stat()ed and access()ed by the reader, never opened for writing.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* conf_print's output in a new string (caller frees), or NULL. */
static char *
print(const struct conf *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	if (fp == NULL)
		return NULL;
	conf_print(c, fp);
	if (fclose(fp) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *c = NULL, *again = NULL;
	struct conf_err err, err2;
	char *text = malloc(size + 1), *first = NULL, *second = NULL;

	if (text == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	c = conf_load_string(text, "fuzz.conf", &err);
	if (c == NULL && err.msg[0] == '\0') {
		fprintf(stderr, "conf_load_string failed without saying why\n");
		abort();
	}
	if (c != NULL) {
		if ((first = print(c)) == NULL)
			abort();
		again = conf_load_string(first, "fuzz.conf", &err2);
		if (again == NULL || (second = print(again)) == NULL ||
		    strcmp(first, second) != 0) {
			fprintf(stderr, "printed config does not load back the same: %s\n"
			    "--- first\n%s\n--- second\n%s\n", again ? "" : err2.msg, first,
			    second ? second : "(none)");
			abort();
		}
	}
	free(second);
	free(first);
	conf_free(again);
	conf_free(c);
	free(text);
	return 0;
}
