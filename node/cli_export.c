/* export: the records this node holds, as JSON or CSV, for other tools. */
#include "config.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "analysis/analysis.h"
#include "conf/conf.h"
#include "node/cli.h"
#include "stix/stix.h"
#include "store/store.h"
#include "util/util.h"

enum fmt { FMT_JSON, FMT_CSV, FMT_STIX };

struct export_ctx {
	enum fmt fmt;
	struct util_buf xml; /* FMT_STIX: one package at a time */
	int failed;
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

/* One record's package, nested in the export's wrapper package: the document's root is
 * renamed stix:Package (its namespace declarations kept) and its XML declaration left
 * out. */
static int
export_stix_one(struct export_ctx *x, const char *json, size_t len)
{
	static const char root[] = "<stix:STIX_Package", end[] = "</stix:STIX_Package>";
	char err[256];
	const char *p, *e;

	util_buf_reset(&x->xml);
	if (stix_observation_write_text(json, len, &x->xml, err, sizeof(err)) != STIX_OK ||
	    util_buf_add(&x->xml, "", 1) != 0) {
		cli_err("export: a record cannot be written as STIX: %s", err);
		x->failed = 1;
		return 1;
	}
	p = strstr(x->xml.data, root);
	e = p ? strstr(p, end) : NULL;
	if (e == NULL) {
		cli_err("export: unexpected STIX package form");
		x->failed = 1;
		return 1;
	}
	printf("  <stix:Related_Package>\n    <stix:Package%.*s</stix:Package>\n"
	    "  </stix:Related_Package>\n", (int)(e - p - (sizeof(root) - 1)),
	    p + sizeof(root) - 1);
	x->n++;
	cli_progress("export", x->n, x->total);
	return 0;
}

/* The wrapper of --format stix: one package relating every record's package. */
static void
stix_open(void)
{
	char now[UTIL_TIME_MAX], hex[65];
	unsigned char h[32];
	int64_t t = util_now_us();

	util_time_format(t, 0, now);
	util_sha256(&t, sizeof(t), h);
	util_hex(h, 16, hex);
	printf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<stix:STIX_Package xmlns:stix=\"http://stix.mitre.org/stix-1\"\n"
	    "    xmlns:c2watch=\"urn:c2watch\"\n"
	    "    id=\"c2watch:Package-%.8s-%.4s-%.4s-%.4s-%.12s\" version=\"1.2\" "
	    "timestamp=\"%s\">\n"
	    "  <stix:STIX_Header>\n    <stix:Title>c2watch export</stix:Title>\n"
	    "  </stix:STIX_Header>\n  <stix:Related_Packages>\n", hex, hex + 8, hex + 12,
	    hex + 16, hex + 20, now);
}

/* --format blocklist: the report's destinations (as of now) with a chosen verdict. */
static int
export_blocklist(const struct conf *c, struct store *s, const char *threat,
    const char *style, unsigned verdicts)
{
	struct an_report *r = NULL;
	struct util_buf out;
	char err[512];
	int ret;

	util_buf_init(&out, 0);
	ret = cli_build_report(c, s, threat, INT64_MIN, util_now_us(), &r);
	if (ret != CLI_OK)
		goto out;
	if (an_blocklist(r, style, verdicts, (uint32_t)(util_now_us() / 1000000), &out, err,
		sizeof(err)) != 0) {
		cli_err("export: %s", err);
		ret = CLI_FAIL;
		goto out;
	}
	fwrite(out.data, 1, out.len, stdout);
	ret = fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
out:
	util_buf_fini(&out);
	an_report_free(r);
	return ret;
}

static int
export_one(int64_t label, const unsigned char *id, const char *json, size_t len, void *arg)
{
	struct export_ctx *x = arg;
	json_t *r;

	if (x->fmt == FMT_STIX && !x->filter_time)
		return export_stix_one(x, json, len);
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
	if (x->fmt == FMT_STIX) {
		json_decref(r);
		return export_stix_one(x, json, len);
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
		{"style", required_argument, NULL, 'S'},
		{"verdict", required_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cfile = NULL, *format = NULL, *threat = NULL, *since = NULL;
	const char *style = NULL, *verdict = "keep";
	struct export_ctx x = {.fmt = FMT_JSON, .since = INT64_MIN};
	unsigned verdicts = 0;
	int blocklist = 0;
	struct store_err err = {{0}};
	struct conf *c = NULL;
	struct store *s = NULL;
	int ch, rc, ret = CLI_FAIL;

	optind = 0;
	util_buf_init(&x.xml, 0);
	while ((ch = getopt_long(argc, argv, "c:f:t:s:S:V:h", opts, NULL)) != -1) {
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
		case 'S':
			style = optarg;
			break;
		case 'V':
			verdict = optarg;
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
	else if (strcmp(format, "stix") == 0)
		x.fmt = FMT_STIX;
	else if (strcmp(format, "blocklist") == 0)
		blocklist = 1;
	else if (strcmp(format, "json") != 0)
		return cli_usage(&cli_cmd_export,
		    "unknown --format \"%s\" (json, csv, stix, blocklist)", format);
	if (blocklist) {
		char why[256];
		static const char *const styles[] = {"plain", "edl-url", "edl-domain", "edl-ip",
		    "rpz", "suricata", "zeek", "csv"};
		int known = 0;

		if (style == NULL)
			return cli_usage(&cli_cmd_export, "--format blocklist needs --style");
		for (size_t i = 0; i < sizeof(styles) / sizeof(styles[0]); i++)
			known |= strcmp(style, styles[i]) == 0;
		if (!known)
			return cli_usage(&cli_cmd_export, "unknown --style \"%s\" (plain, edl-url, "
			    "edl-domain, edl-ip, rpz, suricata, zeek, csv)", style);
		if (an_verdicts_parse(verdict, &verdicts, why, sizeof(why)) != 0)
			return cli_usage(&cli_cmd_export, "--verdict: %s", why);
		if (since)
			return cli_usage(&cli_cmd_export, "--since does not apply to a blocklist");
	} else if (style) {
		return cli_usage(&cli_cmd_export, "--style is for --format blocklist");
	}
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
	if (blocklist) {
		ret = export_blocklist(c, s, threat, style, verdicts);
		goto out;
	}
	store_count_records(s, &x.total, &err);
	if (x.fmt == FMT_STIX)
		stix_open();
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
	if (x.fmt == FMT_STIX)
		printf("  </stix:Related_Packages>\n</stix:STIX_Package>\n");
	if (x.failed)
		goto out;
	if (rc != STORE_OK) {
		cli_err("export: %s", err.msg);
		goto out;
	}
	ret = CLI_OK;
out:
	util_buf_fini(&x.xml);
	store_close(s);
	conf_free(c);
	return ret;
}

const struct cli_cmd cli_cmd_export = {
	"export", "--format json|csv|stix|blocklist [--style S] [--verdict V,..] [--threat-id ID]\n"
	"               [--since TIME] [-c FILE]",
	run_export,
	"Prints the observation records this node holds (its own and merged ones): json is\n"
	"an array with one record per line in DESIGN.md's record form; csv has one row per\n"
	"record with the main fields. Records come in the order they entered the node, or,\n"
	"with --threat-id, by target and time.\n\n"
	"stix is one XML document: a STIX 1.2 package whose Related_Packages hold each\n"
	"record's package, as TAXII serves it. blocklist prints the destinations to block,\n"
	"deduplicated, as of now: --style plain, edl-url, edl-domain, edl-ip (Palo Alto\n"
	"EDLs), rpz (a DNS response policy zone), suricata (IP reputation), zeek (Intel\n"
	"framework) or csv; --verdict chooses which (default keep).\n\n"
	"  -f, --format FMT    json, csv, stix or blocklist\n"
	"  -t, --threat-id ID  only this threat ID\n"
	"  -s, --since TIME    only records observed at or after TIME (RFC 3339 or a date)\n"
	"  -S, --style S       the blocklist's form\n"
	"  -V, --verdict V,..  keep, sinkholed, remove-candidate (default keep)\n",
};
