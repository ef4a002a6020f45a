/*
 * fuzz_taxii: libFuzzer harness for the TAXII message parser. Every input is parsed as
 * either version and as TAXII 1.1 and 1.0 explicitly; a message that parses is written
 * back with the builders, and what they write must parse again as the same message type
 * and version: the builders escape whatever the parser let through.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <libxml/parser.h>

#include "taxii/taxii.h"
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

/* Writes `m` and parses the result back; a failure of the second parse is a bug. */
static void
round_trip(const struct taxii_msg *m)
{
	struct util_buf out;
	struct taxii_msg *back = NULL;
	struct taxii_err err;
	int rc;

	util_buf_init(&out, TAXII_MSG_MAX_BYTES);
	if (taxii_msg_write(m, &out, &err) != 0)
		goto out;
	rc = taxii_msg_parse(out.data, out.len, m->version, &back, &err);
	if (rc != 0 || back->type != m->type || back->version != m->version ||
	    back->n_blocks != m->n_blocks) {
		fprintf(stderr, "written message does not parse back: %s: %s\n%.*s\n",
		    taxii_strerror(rc), err.msg, (int)(out.len > 4000 ? 4000 : out.len),
		    out.data);
		abort();
	}
out:
	taxii_msg_free(back);
	util_buf_fini(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum taxii_version vers[] = { TAXII_VANY, TAXII_V11, TAXII_V10 };

	for (size_t i = 0; i < sizeof(vers) / sizeof(vers[0]); i++) {
		struct taxii_msg *m = NULL;
		struct taxii_err err;
		int rc = taxii_msg_parse((const char *)data, size, vers[i], &m, &err);

		if ((rc == 0) != (m != NULL)) {
			fprintf(stderr, "taxii_msg_parse returned %d with *out %p\n", rc,
			    (void *)m);
			abort();
		}
		if (rc == 0 && i == 0)
			round_trip(m);
		taxii_msg_free(m);
	}
	return 0;
}
