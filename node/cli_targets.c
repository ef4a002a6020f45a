/* targets: lists the destinations this node observes. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "conf/conf.h"
#include "node/cli.h"
#include "store/store.h"

struct list_ctx {
	int json;
	size_t n;
};

static int
print_target(const char *threat, const char *key, size_t key_len, const char *json,
    size_t len, void *arg)
{
	struct list_ctx *l = arg;

	if (l->json) {
		printf("%s%.*s", l->n ? ",\n " : "[", (int)len, json);
	} else {
		json_t *t = json_loadb(json, len, 0, NULL);
		const char *summary = json_string_value(json_object_get(t, "summary"));

		if (l->n == 0)
			printf("%-24s %-48s %s\n", "THREAT_ID", "DESTINATION", "SUMMARY");
		printf("%-24s %-48.*s %s\n", threat, (int)key_len, key, summary ? summary : "");
		json_decref(t);
	}
	l->n++;
	return 0;
}

static int
run_targets(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"threat-id", required_argument, NULL, 't'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cfile = NULL, *threat = NULL;
	struct list_ctx l = {0, 0};
	struct store_err err = {{0}};
	struct conf *c;
	struct store *s;
	int ch, ret = CLI_FAIL;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:t:jh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfile = optarg;
			break;
		case 't':
			threat = optarg;
			break;
		case 'j':
			l.json = 1;
			break;
		case 'h':
			cli_help(&cli_cmd_targets);
			return CLI_OK;
		default:
			return cli_usage(&cli_cmd_targets, "bad option");
		}
	}
	if (optind < argc)
		return cli_usage(&cli_cmd_targets, "unexpected operand \"%s\"", argv[optind]);
	c = cli_load_conf(cfile);
	if (c == NULL)
		return CLI_USAGE;
	s = cli_open_store(c, 0);
	if (s == NULL)
		goto out;
	if (store_scan_targets(s, threat, print_target, &l, &err) != STORE_OK) {
		cli_err("%s", err.msg);
		goto out;
	}
	if (l.json)
		printf("%s\n", l.n ? "]" : "[]");
	else if (l.n == 0)
		fprintf(stderr, "c2watch: no targets%s%s\n", threat ? " for threat ID " : "",
		    threat ? threat : "");
	ret = CLI_OK;
out:
	store_close(s);
	conf_free(c);
	return ret;
}

const struct cli_cmd cli_cmd_targets = {
	"targets", "[--threat-id ID] [--json] [-c FILE]",
	run_targets,
	"Lists the targets this node observes, by threat ID.\n\n"
	"  -t, --threat-id ID  only this threat ID\n"
	"  -j, --json          a JSON array of target objects (the CSV columns as keys)\n",
};
