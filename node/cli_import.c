/* import: targets from a CSV file (and, as the modules grow, STIX and sandbox reports)
 * into the store, all or nothing. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conf/conf.h"
#include "fed/fed.h"
#include "node/cli.h"
#include "stix/stix.h"
#include "store/store.h"
#include "util/util.h"

static void
import_progress(uint64_t done, uint64_t total, void *arg)
{
	cli_progress((const char *)arg, done, total);
}

/* Targets (or observation records) from a STIX 1.1.1 / 1.2 file of any producer. Entries
 * c2watch cannot use are skipped with a note; a file with nothing usable says so. */
static int
import_stix(const struct conf *c, const char *file, const char *threat)
{
	struct util_buf xml;
	struct stix_result res;
	char err[512];
	json_t *good = NULL, *t, *note;
	struct store *s = NULL;
	size_t i, bad = 0;
	int rc, ret = CLI_FAIL;

	stix_result_init(&res);
	util_buf_init(&xml, STIX_MAX_BYTES);
	rc = util_read_file(file, &xml);
	if (rc != 0) {
		cli_err("%s: %s", file, rc == -2 ? "larger than the STIX size cap (32 MiB)" :
		    strerror(errno));
		ret = CLI_USAGE;
		goto out;
	}
	if (stix_read(xml.data, xml.len, threat, &res, err, sizeof(err)) != STIX_OK) {
		cli_err("%s: %s", file, err);
		ret = CLI_USAGE;
		goto out;
	}
	json_array_foreach(res.notes, i, note) {
		fprintf(stderr, "c2watch: %s: %s\n", file, json_string_value(note));
	}
	s = cli_open_store(c, 0);
	if (s == NULL)
		goto out;
	if (res.kind == STIX_KIND_OBSERVATIONS) {
		struct fed_merge_stats ms;
		char why[256];

		if (fed_put_records(s, res.records, &ms, why, sizeof(why), err, sizeof(err)) != 0) {
			cli_err("%s", err);
			goto out;
		}
		if (ms.rejected)
			fprintf(stderr, "c2watch: %s: %zu record%s refused, first: %s\n", file,
			    ms.rejected, ms.rejected == 1 ? "" : "s", why);
		printf("%s: %zu observation record%s merged: %zu new, %zu already held\n", file,
		    ms.added + ms.same, ms.added + ms.same == 1 ? "" : "s", ms.added, ms.same);
		ret = CLI_OK;
		goto out;
	}
	good = json_array();
	if (good == NULL)
		goto out;
	json_array_foreach(res.targets, i, t) {
		char why[256];

		if (conf_target_check(t, why, sizeof(why)) != 0) {
			if (bad++ < 20)
				fprintf(stderr, "c2watch: %s: target skipped: %s\n", file, why);
			continue;
		}
		json_array_append(good, t);
	}
	if (json_array_size(good) == 0) {
		printf("%s: no network indicator to import\n", file);
		ret = CLI_OK;
		goto out;
	}
	{
		struct fed_merge_stats st = {0};

		if (fed_put_targets(s, good, &st, err, sizeof(err)) != 0) {
			cli_err("%s", err);
			goto out;
		}
		printf("%s: %zu target%s imported: %zu new, %zu updated, %zu unchanged%s\n", file,
		    json_array_size(good), json_array_size(good) == 1 ? "" : "s", st.targets_added,
		    st.targets_updated, st.targets_same, bad ? " (some skipped, see above)" : "");
	}
	ret = CLI_OK;
out:
	json_decref(good);
	store_close(s);
	stix_result_fini(&res);
	util_buf_fini(&xml);
	return ret;
}

static int
run_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"format", required_argument, NULL, 'f'},
		{"threat-id", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cfile = NULL, *format = "csv", *threat = NULL, *file;
	struct conf *c = NULL;
	struct store *s = NULL;
	json_t *targets = NULL;
	struct util_buf errors;
	struct fed_merge_stats st = {0};
	char err[512];
	size_t nerrors = 0;
	int ch, ret = CLI_FAIL;

	util_buf_init(&errors, 0);
	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:f:t:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfile = optarg;
			break;
		case 'f':
			format = optarg;
			break;
		case 't':
			threat = optarg;
			break;
		case 'h':
			cli_help(&cli_cmd_import);
			return CLI_OK;
		default:
			return cli_usage(&cli_cmd_import, "bad option");
		}
	}
	if (optind != argc - 1)
		return cli_usage(&cli_cmd_import, optind == argc ? "FILE is missing" :
		    "one FILE at a time");
	file = argv[optind];
	if (threat && threat[0] == '\0')
		return cli_usage(&cli_cmd_import, "--threat-id must not be empty");
	if (strcmp(format, "csv") != 0 && strcmp(format, "cuckoo") != 0 &&
	    strcmp(format, "stix") != 0 && strcmp(format, "json") != 0)
		return cli_usage(&cli_cmd_import,
		    "unknown --format \"%s\" (csv, stix, cuckoo, json)", format);
	if (threat && strcmp(format, "json") == 0)
		return cli_usage(&cli_cmd_import, "--threat-id does not apply to json records");

	c = cli_load_conf(cfile);
	if (c == NULL)
		return CLI_USAGE;
	if (strcmp(format, "stix") == 0) {
		ret = import_stix(c, file, threat);
		goto out;
	} else if (strcmp(format, "json") == 0) {
		ret = cli_import_json(c, file);
		goto out;
	} else if (strcmp(format, "cuckoo") == 0) {
		struct conf_err cerr = {{0}};
		char note[1024];

		if (conf_cuckoo_read(file, threat, &targets, note, sizeof(note), &cerr) != 0) {
			fprintf(stderr, "c2watch: %s\n", cerr.msg);
			ret = CLI_USAGE;
			goto out;
		}
		if (note[0])
			fprintf(stderr, "c2watch: %s\n", note);
	} else if (conf_targets_read(file, threat, &targets, &errors, &nerrors, import_progress,
		(void *)"import") != 0) {
		fputs(errors.data ? errors.data : "", stderr);
		fprintf(stderr, "c2watch: %s: nothing imported (%zu error%s)\n", file, nerrors,
		    nerrors == 1 ? "" : "s");
		ret = CLI_USAGE;
		goto out;
	}
	s = cli_open_store(c, 0);
	if (s == NULL)
		goto out;
	if (fed_put_targets(s, targets, &st, err, sizeof(err)) != 0) {
		cli_err("%s", err);
		goto out;
	}
	printf("%s: %zu target%s imported: %zu new, %zu updated, %zu unchanged\n", file,
	    json_array_size(targets), json_array_size(targets) == 1 ? "" : "s", st.targets_added,
	    st.targets_updated, st.targets_same);
	ret = CLI_OK;
out:
	json_decref(targets);
	util_buf_fini(&errors);
	store_close(s);
	conf_free(c);
	return ret;
}

const struct cli_cmd cli_cmd_import = {
	"import", "FILE [--format csv|stix|cuckoo|json] [--threat-id ID] [-c FILE]",
	run_import,
	"Adds the targets in FILE to the node. CSV columns: threat_id, ip, domain, url, port,\n"
	"report_date, malware_sha256, file_type, summary, user_agent (header required, order\n"
	"free). A bad line rejects the whole file, every bad line is reported as FILE:LINE,\n"
	"and the exit status is 2. The same target imported twice is one target.\n\n"
	"With --format stix, FILE is STIX 1.1.1 or 1.2 from any producer: the URLs, domains\n"
	"and addresses of its indicators and observables (watchlists too) become targets,\n"
	"with the threat ID of their campaign, indicator or package; what cannot be used is\n"
	"skipped with a note. A file of c2watch observation packages is merged as records.\n"
	"With --format cuckoo, FILE is a Cuckoo or CAPE sandbox report.json: its HTTP\n"
	"requests (with their user agent and port), looked-up names and public hosts become\n"
	"targets; the sandbox's own network is skipped.\n"
	"With --format json, FILE holds observation records as export --format json writes\n"
	"them (an array, or one record per line): each is checked as a merged record is and\n"
	"merged by id, its node kept. A bad record rejects the file (FILE:LINE: field: what),\n"
	"exit status 2, and nothing is stored.\n\n"
	"  -f, --format FMT    csv (default), stix, cuckoo or json\n"
	"  -t, --threat-id ID  threat ID for rows without one; for a sandbox report, the\n"
	"                      threat (default: the sample's SHA-256)\n",
};
