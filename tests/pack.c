/*
 * c2pack: one record of an `export --format json` file as a STIX package, optionally
 * doctored, so integration tests can make a node hold an altered or forged record (as a
 * hostile hub would) through `import --format stix`.
 *
 * Usage: c2pack EXPORT.json INDEX [--set FIELD=TEXT]... [--time RFC3339] [--sign KEYFILE]
 *               [--json]
 *   --set   a top-level string field changed (id and signature left as they were)
 *   --time  observed_at changed and the id made again from it: a new record
 *   --sign  signed again with the PEM key in KEYFILE (sig and key replaced)
 *   --json  the record as one line of JSON instead of a package
 * The package goes to stdout, the record's id to stderr. INDEX "all" (with --json and
 * --sign only) writes every record of the file signed, one a line, and no ids.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "record/record.h"
#include "stix/stix.h"
#include "util/util.h"

static int
fail(const char *what, const char *why)
{
	fprintf(stderr, "c2pack: %s: %s\n", what, why);
	return 1;
}

/* INDEX "all": every record of the file signed with --sign's key, one a JSON line. */
static int
sign_all(json_t *all, int argc, char **argv)
{
	struct util_buf kb;
	struct rec_key *k = NULL;
	char err[512];
	size_t i;
	json_t *rec;

	if (argc != 6 || strcmp(argv[3], "--sign") != 0 || strcmp(argv[5], "--json") != 0)
		return fail("all", "takes --sign KEYFILE --json");
	util_buf_init(&kb, 0);
	if (util_read_file(argv[4], &kb) != 0)
		return fail(argv[4], "cannot read");
	k = rec_key_from_pem(kb.data, kb.len, err, sizeof(err));
	util_buf_fini(&kb);
	if (k == NULL)
		return fail(argv[4], err);
	json_array_foreach(all, i, rec) {
		char *text;

		if (rec_sign(rec, k, err, sizeof(err)) != 0 || (text = rec_json_dump(rec)) == NULL)
			return fail("record", err);
		printf("%s\n", text);
		free(text);
	}
	rec_key_free(k);
	json_decref(all);
	return 0;
}

int
main(int argc, char **argv)
{
	json_error_t je;
	json_t *all, *rec;
	struct util_buf out, kb;
	char err[512], id[REC_ID_HEX + 1];
	struct rec_key *k;
	long idx;
	int as_json = 0;

	if (argc < 3)
		return fail("usage", "c2pack EXPORT.json INDEX [--set F=T]... [--time T] "
		    "[--sign KEYFILE]");
	all = json_load_file(argv[1], 0, &je);
	if (all != NULL && strcmp(argv[2], "all") == 0)
		return sign_all(all, argc, argv);
	idx = strtol(argv[2], NULL, 10);
	if (all == NULL || (rec = json_array_get(all, (size_t)idx)) == NULL)
		return fail(argv[1], all == NULL ? je.text : "no record at that index");
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--set") == 0 && i + 1 < argc) {
			char *eq = strchr(argv[++i], '=');

			if (eq == NULL)
				return fail("--set", "expected FIELD=TEXT");
			*eq = '\0';
			json_object_set_new(rec, argv[i], json_string(eq + 1));
		} else if (strcmp(argv[i], "--time") == 0 && i + 1 < argc) {
			const char *node = json_string_value(json_object_get(rec, "node"));
			const char *key = json_string_value(json_object_get(json_object_get(rec,
			    "target"), "input"));
			int64_t us;

			if (util_time_parse(argv[++i], &us) != 0 || node == NULL || key == NULL ||
			    rec_id_hex(node, key, us, id) != 0)
				return fail("--time", "bad time or record");
			json_object_set_new(rec, "observed_at", json_string(argv[i]));
			json_object_set_new(rec, "id", json_string(id));
		} else if (strcmp(argv[i], "--sign") == 0 && i + 1 < argc) {
			util_buf_init(&kb, 0);
			if (util_read_file(argv[++i], &kb) != 0)
				return fail(argv[i], "cannot read");
			k = rec_key_from_pem(kb.data, kb.len, err, sizeof(err));
			util_buf_fini(&kb);
			if (k == NULL || rec_sign(rec, k, err, sizeof(err)) != 0)
				return fail(argv[i], err);
			rec_key_free(k);
		} else if (strcmp(argv[i], "--json") == 0) {
			as_json = 1;
		} else {
			return fail(argv[i], "unknown option");
		}
	}
	util_buf_init(&out, 0);
	if (as_json) {
		char *text = rec_json_dump(rec);

		if (text == NULL)
			return fail("JSON", "out of memory");
		util_buf_printf(&out, "%s\n", text);
		free(text);
	} else if (stix_observation_write(rec, &out, err, sizeof(err)) != 0) {
		return fail("STIX", err);
	}
	fwrite(out.data, 1, out.len, stdout);
	fprintf(stderr, "%s\n", json_string_value(json_object_get(rec, "id")));
	util_buf_fini(&out);
	json_decref(all);
	return 0;
}
