/* observe --once: one observation cycle now over the stored targets, stored, then exit. */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "conf/conf.h"
#include "node/cli.h"
#include "node/node_key.h"
#include "node/node_obs.h"
#include "store/store.h"

static volatile sig_atomic_t observe_stop;

static void
observe_on_signal(int sig)
{
	(void)sig;
	observe_stop = 1;
}

/* The summary line both observe --once and the daemon's log use. */
void
cli_observe_summary(const struct node_observe_sum *s, char *buf, size_t len)
{
	snprintf(buf, len,
	    "%zu target%s observed in %.1f s: %zu record%s stored, %zu answered, %zu event%s"
	    "%s%s%s",
	    s->st.records, s->st.records == 1 ? "" : "s", s->st.seconds, s->stored,
	    s->stored == 1 ? "" : "s", s->st.responded, s->events, s->events == 1 ? "" : "s",
	    s->st.aborted ? " (stopped early)" : "", s->st.note[0] ? "; " : "", s->st.note);
}

static int
run_observe(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"threat-id", required_argument, NULL, 't'},
		{"once", no_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cfile = NULL, *threat = NULL;
	struct node_observe_sum sum;
	struct node_hooks *hooks = NULL;
	struct store *s = NULL;
	struct conf *c;
	char line[512];
	int ch, once = 0, ret = CLI_FAIL, rc;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:t:oh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfile = optarg;
			break;
		case 't':
			threat = optarg;
			break;
		case 'o':
			once = 1;
			break;
		case 'h':
			cli_help(&cli_cmd_observe);
			return CLI_OK;
		default:
			return cli_usage(&cli_cmd_observe, "bad option");
		}
	}
	if (optind < argc)
		return cli_usage(&cli_cmd_observe, "unexpected operand \"%s\"", argv[optind]);
	if (!once)
		return cli_usage(&cli_cmd_observe,
		    "--once is required (c2watch run observes on the schedule)");
	c = cli_load_conf(cfile);
	if (c == NULL)
		return CLI_USAGE;
	node_log_set_level(c->node.log_level);
	s = cli_open_store(c, 0);
	if (s == NULL)
		goto out;
	{
		char err[1024];
		size_t n;

		if (node_key_start(c, s, &n, err, sizeof(err)) != 0) {
			cli_err("signing key: %s", err);
			goto out;
		}
		if (n > 0)
			fprintf(stderr, "c2watch: signed %zu record%s this node made before records "
			    "were signed\n", n, n == 1 ? "" : "s");
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, observe_on_signal);
	signal(SIGTERM, observe_on_signal);
	if (c->hook.on_change != NULL)
		hooks = node_hooks_new(c->hook.on_change, 10000);
	rc = node_observe_cycle(c, s, hooks, threat, &observe_stop, 1, &sum);
	if (rc == 1) {
		fprintf(stderr, "c2watch: no targets to observe%s%s\n",
		    threat ? " for threat ID " : "", threat ? threat : "");
		ret = CLI_OK;
		goto out;
	}
	cli_observe_summary(&sum, line, sizeof(line));
	printf("%s\n", line);
	ret = rc == 0 && !sum.st.aborted ? CLI_OK : CLI_FAIL;
out:
	node_hooks_free(hooks, 1); /* waits for the hooks of this cycle, each bounded */
	store_close(s);
	conf_free(c);
	return ret;
}

const struct cli_cmd cli_cmd_observe = {
	"observe", "--once [--threat-id ID] [-c FILE]",
	run_observe,
	"Runs one observation cycle now over the stored targets (targets_file is\n"
	"re-imported first when set): DNS, ping, robots.txt and the HTTP GET, politely\n"
	"spaced per host. Records and change events are stored, the on_change hook runs\n"
	"for each event, and a summary is printed.\n\n"
	"  -o, --once          required: one cycle, then exit\n"
	"  -t, --threat-id ID  only the targets of this threat ID\n",
};
