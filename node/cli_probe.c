/* probe: observes one destination now and prints the record; nothing is stored. */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <jansson.h>

#include "conf/conf.h"
#include "node/cli.h"
#include "node/node_obs.h"

struct probe_out {
	json_t *rec;
};

static int
probe_record(json_t *rec, void *arg)
{
	struct probe_out *o = arg;

	o->rec = json_incref(rec);
	return 0;
}

/* A target object for TARGET: a URL, else an IP address, else a domain. */
static json_t *
probe_target(const char *target, const char *ua, long port, char *err, size_t errlen)
{
	unsigned char buf[16];
	const char *col = "domain";
	json_t *t;

	if (strstr(target, "://") != NULL)
		col = "url";
	else if (inet_pton(AF_INET, target, buf) == 1 || inet_pton(AF_INET6, target, buf) == 1)
		col = "ip";
	t = json_pack("{s:s, s:s}", "threat_id", "probe", col, target);
	if (t == NULL)
		return NULL;
	if (ua != NULL)
		json_object_set_new(t, "user_agent", json_string(ua));
	if (port > 0)
		json_object_set_new(t, "port", json_integer(port));
	if (conf_target_check(t, err, errlen) != 0) {
		json_decref(t);
		return NULL;
	}
	return t;
}

static const char *
jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "-";
}

/* The record as a few human-readable lines. */
static void
record_print(const json_t *rec, FILE *fp)
{
	const json_t *t = json_object_get(rec, "target"), *p = json_object_get(rec, "ping");
	const json_t *rb = json_object_get(rec, "robots"), *h = json_object_get(rec, "http");
	const json_t *e = json_object_get(rec, "error");
	size_t i;
	json_t *v;

	fprintf(fp, "target    %s\n", jstr(t, "input"));
	fprintf(fp, "observed  %s from %s (%s)\n", jstr(rec, "observed_at"), jstr(rec, "node"),
	    jstr(rec, "vantage"));
	fprintf(fp, "addresses");
	json_array_foreach(json_object_get(t, "ipv4"), i, v) {
		fprintf(fp, " %s", json_string_value(v));
	}
	json_array_foreach(json_object_get(t, "ipv6"), i, v) {
		fprintf(fp, " %s", json_string_value(v));
	}
	fprintf(fp, "\nport      %lld\n", (long long)json_integer_value(json_object_get(t, "port")));
	if (json_is_object(p))
		fprintf(fp, "ping      %lld sent, %lld received, %.0f%% loss, rtt %.2f ms\n",
		    (long long)json_integer_value(json_object_get(p, "sent")),
		    (long long)json_integer_value(json_object_get(p, "received")),
		    json_number_value(json_object_get(p, "loss_pct")),
		    json_number_value(json_object_get(p, "rtt_avg_ms")));
	else
		fprintf(fp, "ping      not run\n");
	if (json_is_object(rb) && json_is_integer(json_object_get(rb, "status")))
		fprintf(fp, "robots    status %lld, %s, %s\n",
		    (long long)json_integer_value(json_object_get(rb, "status")),
		    json_is_true(json_object_get(rb, "present")) ? "present" : "absent",
		    json_is_true(json_object_get(rb, "allowed")) ? "allowed" : "disallowed");
	else if (json_is_object(rb))
		fprintf(fp, "robots    no answer\n");
	else
		fprintf(fp, "robots    not fetched\n");
	if (json_is_object(h) && !json_is_integer(json_object_get(h, "status"))) {
		fprintf(fp, "http      no answer after %lld ms\n",
		    (long long)json_integer_value(json_object_get(h, "elapsed_ms")));
	} else if (json_is_object(h)) {
		fprintf(fp, "http      %lld %s, %s, server %s, %lld bytes%s, %lld ms\n",
		    (long long)json_integer_value(json_object_get(h, "status")), jstr(h, "reason"),
		    jstr(h, "content_type"), jstr(h, "server"),
		    (long long)json_integer_value(json_object_get(h, "size")),
		    json_is_true(json_object_get(h, "truncated")) ? " (truncated)" : "",
		    (long long)json_integer_value(json_object_get(h, "elapsed_ms")));
		json_array_foreach(json_object_get(h, "redirects"), i, v) {
			fprintf(fp, "redirect  %s\n", json_string_value(v));
		}
		if (json_is_string(json_object_get(h, "location")))
			fprintf(fp, "location  %s\n", jstr(h, "location"));
		fprintf(fp, "sha256    %s\nfiletype  %s\nssdeep    %s\n", jstr(h, "sha256"),
		    jstr(h, "filetype"), jstr(h, "ssdeep"));
	} else {
		fprintf(fp, "http      not run\n");
	}
	if (json_is_object(e))
		fprintf(fp, "error     %s: %s\n", jstr(e, "kind"), jstr(e, "detail"));
	else
		fprintf(fp, "error     none\n");
}

static int
run_probe(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"ua", required_argument, NULL, 'u'},
		{"port", required_argument, NULL, 'p'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cfile = NULL, *ua = NULL, *path;
	struct probe_out out = {NULL};
	struct obs_cycle_stats st;
	struct obs_config oc;
	struct conf *c = NULL;
	json_t *targets = NULL, *t;
	char err[512];
	long port = 0;
	int ch, json = 0, ret = CLI_FAIL;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:u:p:jh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfile = optarg;
			break;
		case 'u':
			ua = optarg;
			break;
		case 'p': {
			char *end;
			port = strtol(optarg, &end, 10);
			if (*end != '\0' || port < 1 || port > 65535)
				return cli_usage(&cli_cmd_probe, "--port: not a port \"%s\"", optarg);
			break;
		}
		case 'j':
			json = 1;
			break;
		case 'h':
			cli_help(&cli_cmd_probe);
			return CLI_OK;
		default:
			return cli_usage(&cli_cmd_probe, "bad option");
		}
	}
	if (optind != argc - 1)
		return cli_usage(&cli_cmd_probe, optind < argc ? "one TARGET only" :
								 "TARGET is missing");
	/* Without any config file the defaults serve: probing needs no data directory. */
	path = conf_find_path(cfile);
	if (cfile == NULL && access(path, F_OK) != 0) {
		c = conf_new_defaults();
		if (c == NULL || (c->node.id = strdup("probe")) == NULL) {
			cli_err("out of memory");
			goto out;
		}
	} else if ((c = cli_load_conf(cfile)) == NULL) {
		return CLI_USAGE;
	}
	t = probe_target(argv[optind], ua, port, err, sizeof(err));
	if (t == NULL) {
		ret = cli_usage(&cli_cmd_probe, "%s: %s", argv[optind], err);
		goto out;
	}
	targets = json_array();
	if (targets == NULL || json_array_append_new(targets, t) != 0) {
		cli_err("out of memory");
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	node_obs_config(c, &oc);
	if (obs_cycle_run(&oc, targets, probe_record, &out, &st, err, sizeof(err)) != 0) {
		cli_err("probe: %s", err);
		goto out;
	}
	if (out.rec == NULL) {
		cli_err("probe: %s could not be observed", argv[optind]);
		goto out;
	}
	if (json) {
		char *text = json_dumps(out.rec, JSON_COMPACT);

		if (text == NULL) {
			cli_err("out of memory");
			goto out;
		}
		printf("%s\n", text);
		free(text);
	} else {
		record_print(out.rec, stdout);
		if (st.note[0])
			printf("note      %s\n", st.note);
	}
	ret = CLI_OK;
out:
	json_decref(out.rec);
	json_decref(targets);
	conf_free(c);
	return ret;
}

const struct cli_cmd cli_cmd_probe = {
	"probe", "TARGET [--ua S] [--port N] [--json] [-c FILE]",
	run_probe,
	"Observes one destination now (a URL, a host name or an IP address) with the\n"
	"config's observer settings and prints the record. Nothing is stored and no hook\n"
	"runs. Without a config file the defaults apply.\n\n"
	"  -u, --ua S          the User-Agent to send\n"
	"  -p, --port N        the port, for a host or an address (or a URL without one)\n"
	"  -j, --json          print the record as one line of JSON\n",
};
