/* report: the analysis of the records this node holds, as tables or DESIGN.md's JSON. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis/analysis.h"
#include "conf/conf.h"
#include "node/cli.h"
#include "store/store.h"
#include "util/util.h"

/* "YYYY-MM" into the month's first microsecond and the next month's. 0 or -1. */
static int
parse_month(const char *s, int64_t *from, int64_t *to)
{
	char buf[32];
	int y, m;

	if (strlen(s) != 7 || s[4] != '-' || sscanf(s, "%4d-%2d", &y, &m) != 2 || m < 1 ||
	    m > 12 || y < 1970 || y > 9998)
		return -1;
	snprintf(buf, sizeof(buf), "%04d-%02d-01", y, m);
	if (util_time_parse(buf, from) != 0)
		return -1;
	snprintf(buf, sizeof(buf), "%04d-%02d-01", m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1);
	return util_time_parse(buf, to);
}

int
cli_build_report(const struct conf *c, struct store *s, const char *threat, int64_t from,
    int64_t to, struct an_report **out)
{
	struct an_sinkholes *sl = NULL;
	struct an_query q;
	char err[1024];
	int ret = CLI_FAIL;

	if (an_sinkholes_load(c->analysis.sinkholes_file, &sl, err, sizeof(err)) != 0) {
		cli_err("%s", err);
		return CLI_USAGE;
	}
	memset(&q, 0, sizeof(q));
	q.threat_id = threat;
	q.from_us = from;
	q.to_us = to;
	q.remove_after_us = c->analysis.remove_after_us;
	q.self_node = c->node.id;
	q.sinkholes = sl;
	if (an_report_build(s, &q, out, err, sizeof(err)) != 0)
		cli_err("report: %s", err);
	else
		ret = CLI_OK;
	an_sinkholes_free(sl);
	return ret;
}

int
cli_report_period(const struct cli_cmd *cmd, const char *month, const char *from_s,
    const char *to_s, int64_t *from, int64_t *to)
{
	*from = INT64_MIN;
	*to = util_now_us();
	if (month && (from_s || to_s))
		return cli_usage(cmd, "--month and --from/--to exclude each other");
	if (month && parse_month(month, from, to) != 0)
		return cli_usage(cmd, "--month \"%s\" is not YYYY-MM", month);
	if (from_s && util_time_parse(from_s, from) != 0)
		return cli_usage(cmd, "--from \"%s\" is not a date or RFC 3339 time", from_s);
	if (to_s && util_time_parse(to_s, to) != 0)
		return cli_usage(cmd, "--to \"%s\" is not a date or RFC 3339 time", to_s);
	if (*from != INT64_MIN && *from >= *to)
		return cli_usage(cmd, "the period is empty (--from is not before --to)");
	return CLI_OK;
}

static int
run_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"threat-id", required_argument, NULL, 't'},
		{"month", required_argument, NULL, 'm'},
		{"from", required_argument, NULL, 'f'},
		{"to", required_argument, NULL, 'T'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cfile = NULL, *threat = NULL, *month = NULL, *from_s = NULL, *to_s = NULL;
	struct conf *c = NULL;
	struct store *s = NULL;
	struct an_report *r = NULL;
	struct util_buf out;
	int64_t from, to;
	int ch, json = 0, ret = CLI_FAIL;

	util_buf_init(&out, 0);
	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:t:m:f:T:jh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfile = optarg;
			break;
		case 't':
			threat = optarg;
			break;
		case 'm':
			month = optarg;
			break;
		case 'f':
			from_s = optarg;
			break;
		case 'T':
			to_s = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			cli_help(&cli_cmd_report);
			return CLI_OK;
		default:
			return cli_usage(&cli_cmd_report, "bad option");
		}
	}
	if (optind < argc)
		return cli_usage(&cli_cmd_report, "unexpected operand \"%s\"", argv[optind]);
	if (threat && threat[0] == '\0')
		return cli_usage(&cli_cmd_report, "--threat-id must not be empty");
	if ((ret = cli_report_period(&cli_cmd_report, month, from_s, to_s, &from, &to)) != CLI_OK)
		return ret;
	ret = CLI_FAIL;
	c = cli_load_conf(cfile);
	if (c == NULL)
		return CLI_USAGE;
	s = cli_open_store(c, 0);
	if (s == NULL)
		goto out;
	if ((ret = cli_build_report(c, s, threat, from, to, &r)) != CLI_OK)
		goto out;
	ret = CLI_FAIL;
	if (json) {
		if (an_report_json(r, &out) != 0) {
			cli_err("report: out of memory");
			goto out;
		}
		fwrite(out.data, 1, out.len, stdout);
	} else if (an_report_text(r, stdout) != 0) {
		goto out;
	}
	if (fflush(stdout) != 0) {
		cli_err("report: writing the output failed");
		goto out;
	}
	ret = CLI_OK;
out:
	util_buf_fini(&out);
	an_report_free(r);
	store_close(s);
	conf_free(c);
	return ret;
}

const struct cli_cmd cli_cmd_report = {
	"report", "[--threat-id ID] [--month YYYY-MM | --from TIME --to TIME] [--json] [-c FILE]",
	run_report,
	"Analyses the records this node holds (its own and merged ones) over a period:\n"
	"HTTP status share, status transitions, content shared by several destinations,\n"
	"the monthly response rate per threat ID with ping/HTTP agreement, and per\n"
	"destination its inactive ratio, content changes, category, cloaking, and verdict\n"
	"(keep, sinkholed, remove-candidate) with its evidence.\n\n"
	"  -t, --threat-id ID  only this threat ID\n"
	"  -m, --month M       the UTC calendar month YYYY-MM\n"
	"  -f, --from TIME     start (RFC 3339 or a date; default: the first record)\n"
	"  -T, --to TIME       end, exclusive (default: now); verdicts are as of it\n"
	"  -j, --json          DESIGN.md's JSON instead of tables\n",
};
