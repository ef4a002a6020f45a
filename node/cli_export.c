/* export: the records this node holds, as JSON or CSV, for other tools. */
#include "config.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "conf/conf.h"
#include "node/cli.h"
#include "store/store.h"
#include "util/util.h"

enum fmt { FMT_JSON, FMT_CSV };

struct export_ctx {
	enum fmt fmt;
	int64_t since;
	size_t n, total;
	int filter_time; /* the scan does not filter by time itself */
};

static const char *const csv_cols[] = {"id", "threat_id", "node", "vantage", "observed_at",
    "input", "domain", "ipv4", "ipv6", "port", "ping_sent", "ping_received", "loss_pct",
    "rtt_avg_ms", "robots_status", "robots_allowed", "http_status", "reason", "content_type",
    "server", "location", "size", "truncated", "sha256", "ssdeep", "error"};

/* A CSV field: quoted when it holds a comma, quote or line break (RFC 4180). */
static void
csv_field(const char *s, int last)
{
	if (s && strpbrk(s, ",\"\r\n")) {
		putchar('"');
		for (; *s; s++) {
			if (*s == '"')
				putchar('"');
			putchar(*s);
		}
		putchar('"');
	} else if (s) {
		fputs(s, stdout);
	}
	putchar(last ? '\n' : ',');
}

/* Text of a JSON scalar (empty for null or absent); arrays are joined with spaces. */
static const char *
scalar(json_t *v, char *buf, size_t len)
{
	buf[0] = '\0';
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
	else if (json_is_array(v)) {
		size_t i, off = 0;
		json_t *e;

		json_array_foreach(v, i, e) {
			const char *s = json_string_value(e);

			if (s && off + strlen(s) + 2 < len)
				off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? " " : "", s);
		}
	} else if (json_is_object(v)) {
		const char *k = json_string_value(json_object_get(v, "kind"));

		return k ? k : "";
	}
	return buf;
}

static void
print_csv(json_t *r)
{
	json_t *tg = json_object_get(r, "target"), *pg = json_object_get(r, "ping"),
	       *rb = json_object_get(r, "robots"), *ht = json_object_get(r, "http");
	json_t *vals[] = {json_object_get(r, "id"), json_object_get(r, "threat_id"),
	    json_object_get(r, "node"), json_object_get(r, "vantage"),
	    json_object_get(r, "observed_at"), json_object_get(tg, "input"),
	    json_object_get(tg, "domain"), json_object_get(tg, "ipv4"),
	    json_object_get(tg, "ipv6"), json_object_get(tg, "port"), json_object_get(pg, "sent"),
	    json_object_get(pg, "received"), json_object_get(pg, "loss_pct"),
	    json_object_get(pg, "rtt_avg_ms"), json_object_get(rb, "status"),
	    json_object_get(rb, "allowed"), json_object_get(ht, "status"),
	    json_object_get(ht, "reason"), json_object_get(ht, "content_type"),
	    json_object_get(ht, "server"), json_object_get(ht, "location"),
	    json_object_get(ht, "size"), json_object_get(ht, "truncated"),
	    json_object_get(ht, "sha256"), json_object_get(ht, "ssdeep"),
	    json_object_get(r, "error")};
	char buf[1024];
	size_t n = sizeof(vals) / sizeof(vals[0]);

	for (size_t i = 0; i < n; i++)
		csv_field(scalar(vals[i], buf, sizeof(buf)), i == n - 1);
}

static int
export_one(int64_t label, const unsigned char *id, const char *json, size_t len, void *arg)
{
	struct export_ctx *x = arg;
	json_t *r;

	if (x->fmt == FMT_JSON && !x->filter_time) {
		printf("%s%.*s", x->n ? ",\n " : "[", (int)len, json);
		x->n++;
		cli_progress("export", x->n, x->total);
		return 0;
	}
	r = json_loadb(json, len, 0, NULL);
	if (r == NULL)
		return 0; /* store only holds what was checked on the way in */
	if (x->filter_time) {
		int64_t t;
		const char *at = json_string_value(json_object_get(r, "observed_at"));

		if (at == NULL || util_time_parse(at, &t) != 0 || t < x->since) {
			json_decref(r);
			return 0;
		}
	}
	if (x->fmt == FMT_JSON)
		printf("%s%.*s", x->n ? ",\n " : "[", (int)len, json);
	else
		print_csv(r);
	json_decref(r);
	x->n++;
	cli_progress("export", x->n, x->total);
	return 0;
}

static int
run_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"format", required_argument, NULL, 'f'},
		{"threat-id", required_argument, NULL, 't'},
		{"since", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cfile = NULL, *format = NULL, *threat = NULL, *since = NULL;
	struct export_ctx x = {FMT_JSON, INT64_MIN, 0, 0, 0};
	struct store_err err = {{0}};
	struct conf *c = NULL;
	struct store *s = NULL;
	int ch, rc, ret = CLI_FAIL;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:f:t:s:h", opts, NULL)) != -1) {
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
		case 's':
			since = optarg;
			break;
		case 'h':
			cli_help(&cli_cmd_export);
			return CLI_OK;
		default:
			return cli_usage(&cli_cmd_export, "bad option");
		}
	}
	if (optind < argc)
		return cli_usage(&cli_cmd_export, "unexpected operand \"%s\"", argv[optind]);
	if (format == NULL)
		return cli_usage(&cli_cmd_export, "--format is required");
	if (strcmp(format, "csv") == 0)
		x.fmt = FMT_CSV;
	else if (strcmp(format, "stix") == 0 || strcmp(format, "blocklist") == 0)
		return cli_err("export: --format %s is not available in this build yet", format),
		       CLI_FAIL;
	else if (strcmp(format, "json") != 0)
		return cli_usage(&cli_cmd_export, "unknown --format \"%s\" (json, csv)", format);
	if (since && util_time_parse(since, &x.since) != 0)
		return cli_usage(&cli_cmd_export,
		    "--since \"%s\" is not a date or RFC 3339 time (2026-11-01, "
		    "2026-11-01T00:00:00Z)", since);

	c = cli_load_conf(cfile);
	if (c == NULL)
		return CLI_USAGE;
	s = cli_open_store(c, 0);
	if (s == NULL)
		goto out;
	store_count_records(s, &x.total, &err);
	if (x.fmt == FMT_CSV)
		for (size_t i = 0; i < sizeof(csv_cols) / sizeof(csv_cols[0]); i++)
			csv_field(csv_cols[i], i == sizeof(csv_cols) / sizeof(csv_cols[0]) - 1);
	if (threat) {
		rc = store_scan_obs(s, threat, NULL, x.since, INT64_MAX, export_one, &x, &err);
	} else {
		x.filter_time = since != NULL;
		rc = store_scan_feed(s, 0, INT64_MAX, 0, export_one, &x, NULL, &err);
	}
	if (x.fmt == FMT_JSON)
		printf("%s\n", x.n ? "]" : "[]");
	if (rc != STORE_OK) {
		cli_err("export: %s", err.msg);
		goto out;
	}
	ret = CLI_OK;
out:
	store_close(s);
	conf_free(c);
	return ret;
}

const struct cli_cmd cli_cmd_export = {
	"export", "--format json|csv [--threat-id ID] [--since TIME] [-c FILE]",
	run_export,
	"Prints the observation records this node holds (its own and merged ones): json is\n"
	"an array with one record per line in DESIGN.md's record form; csv has one row per\n"
	"record with the main fields. Records come in the order they entered the node, or,\n"
	"with --threat-id, by target and time.\n\n"
	"  -f, --format FMT    json or csv\n"
	"  -t, --threat-id ID  only this threat ID\n"
	"  -s, --since TIME    only records observed at or after TIME (RFC 3339 or a date)\n",
};
