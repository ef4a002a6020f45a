/*
 * run: the daemon (node/node_daemon.h): components started in order, stopped in reverse
 * on SIGTERM or SIGINT, which only the main thread takes (sigwait): the TAXII server, the
 * observer (cycles on the anchored schedule) and the peer pollers, each with its
 * start/stop pair.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libxml/parser.h>

#include "conf/conf.h"
#include "node/cli.h"
#include "node/node_daemon.h"
#include "node/node_key.h"
#include "node/node_obs.h"
#include "node/node_stats.h"
#include "record/record.h"
#include "store/store.h"
#include "util/util.h"

#define NODE_HOOK_TIMEOUT_MS 10000

int
node_daemon_sleep_until(struct node_daemon *d, int64_t until_us)
{
	struct timespec ts = {(time_t)(until_us / 1000000), (long)(until_us % 1000000) * 1000};
	int stopping;

	pthread_mutex_lock(&d->mu);
	/* Bounded: each wait ends at the deadline or when stop is broadcast. */
	while (!d->stop && util_now_us() < until_us)
		if (pthread_cond_timedwait(&d->cv, &d->mu, &ts) == ETIMEDOUT)
			break;
	stopping = d->stop;
	pthread_mutex_unlock(&d->mu);
	return stopping;
}

/* ------------------------------------------------------------------ observer component */

struct observer_comp {
	pthread_t thread;
	struct node_hooks *hooks;
};

static void *
observer_main(void *arg)
{
	struct node_daemon *d = arg;
	struct observer_comp *oc = NULL;
	const struct conf *c = d->c;

	for (size_t i = 0; i < d->ncomps; i++)
		if (strcmp(d->comps[i].name, "observer") == 0)
			oc = d->comps[i].state;
	while (!d->stop) {
		int64_t next;
		char when[UTIL_TIME_MAX], line[512];
		struct node_observe_sum sum;
		int rc;

		if (obs_next_start(util_now_us(), c->observer.anchor_minute,
			c->observer.interval_us, &next) != 0) {
			node_log(NODE_LOG_ERROR, "observer: cannot compute the next cycle start");
			break;
		}
		util_time_format(next, 0, when);
		node_log(NODE_LOG_DEBUG, "observer: next cycle at %s", when);
		node_stats_next_cycle(d->stats, next);
		node_stats_write_status(d->stats);
		if (node_daemon_sleep_until(d, next))
			break;
		node_log(NODE_LOG_INFO, "observer: cycle starts");
		node_stats_cycle_start(d->stats, util_now_us());
		node_stats_write_status(d->stats);
		rc = node_observe_cycle(c, d->s, oc ? oc->hooks : NULL, NULL, &d->stop, 0, &sum);
		if (d->stop && rc == 0 && sum.st.aborted)
			break; /* cut short by the stop: not a cycle to count */
		node_stats_cycle_end(d->stats, rc, &sum);
		if (rc == 1) {
			node_log(NODE_LOG_INFO, "observer: no targets to observe");
		} else if (rc == 0) {
			cli_observe_summary(&sum, line, sizeof(line));
			node_log(NODE_LOG_INFO, "observer: %s", line);
		} else {
			node_log(NODE_LOG_ERROR, "observer: the cycle failed (see above)");
		}
	}
	return NULL;
}

static int
observer_start(struct node_daemon *d, struct node_component *self)
{
	struct observer_comp *oc = calloc(1, sizeof(*oc));

	if (oc == NULL)
		return -1;
	if (d->c->hook.on_change != NULL &&
	    (oc->hooks = node_hooks_new(d->c->hook.on_change, NODE_HOOK_TIMEOUT_MS)) == NULL) {
		free(oc);
		return -1;
	}
	self->state = oc;
	if (pthread_create(&oc->thread, NULL, observer_main, d) != 0) {
		node_hooks_free(oc->hooks, 0);
		free(oc);
		self->state = NULL;
		return -1;
	}
	return 0;
}

static void
observer_stop(struct node_daemon *d, struct node_component *self)
{
	struct observer_comp *oc = self->state;

	(void)d;
	if (oc == NULL)
		return;
	pthread_join(oc->thread, NULL);
	/* A stopping daemon waits for the running hook only; the events are stored. */
	node_hooks_free(oc->hooks, 0);
	free(oc);
	self->state = NULL;
}

/* ------------------------------------------------------------------ the daemon */

/* The origin of a stored record: its "node" member (store_rebuild_origins). record's
 * flat reader, reused across records, is several times faster than building jansson
 * values, which matters once, over every record of an older data directory. */
static int
record_origin(const char *json, size_t len, char *buf, size_t buflen, void *arg)
{
	struct rec_jl *jl = arg;
	const char *node;

	if (rec_jl_parse(jl, json, len) != 0)
		return -1;
	node = rec_jl_str(jl, rec_jl_get(jl, &jl->v[0], "node"));
	if (node == NULL || strlen(node) >= buflen)
		return -1;
	memcpy(buf, node, strlen(node) + 1);
	return 0;
}

/* Records stored before the store counted them by origin are counted once, here. */
static int
count_origins(struct store *s)
{
	struct store_err serr = {{0}};
	struct rec_jl jl;
	int complete = 0, rc;
	int64_t t0 = util_mono_us();

	if (store_scan_origins(s, NULL, NULL, &complete, &serr) != STORE_OK) {
		node_log(NODE_LOG_ERROR, "store: %s", serr.msg);
		return -1;
	}
	if (complete)
		return 0;
	memset(&jl, 0, sizeof(jl));
	rc = store_rebuild_origins(s, record_origin, &jl, &serr);
	rec_jl_fini(&jl);
	if (rc != STORE_OK) {
		node_log(NODE_LOG_ERROR, "store: counting records by origin: %s", serr.msg);
		return -1;
	}
	node_log(NODE_LOG_INFO, "store: records counted by origin (%.1f s)",
	    (double)(util_mono_us() - t0) / 1e6);
	return 0;
}

int
node_daemon_add(struct node_daemon *d, const char *name,
    int (*start)(struct node_daemon *, struct node_component *),
    void (*stop)(struct node_daemon *, struct node_component *))
{
	if (d->ncomps == NODE_MAX_COMPONENTS)
		return -1;
	d->comps[d->ncomps++] = (struct node_component){name, start, stop, NULL, 0};
	return 0;
}

static int
daemon_start(struct node_daemon *d)
{
	for (size_t i = 0; i < d->ncomps; i++) {
		if (d->comps[i].start(d, &d->comps[i]) != 0) {
			node_log(NODE_LOG_ERROR, "%s: cannot start", d->comps[i].name);
			return -1;
		}
		d->comps[i].started = 1;
		node_log(NODE_LOG_DEBUG, "%s: started", d->comps[i].name);
	}
	return 0;
}

static void
daemon_stop(struct node_daemon *d)
{
	pthread_mutex_lock(&d->mu);
	d->stop = 1;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	for (size_t i = d->ncomps; i-- > 0;) {
		if (!d->comps[i].started)
			continue;
		d->comps[i].stop(d, &d->comps[i]);
		d->comps[i].started = 0;
		node_log(NODE_LOG_DEBUG, "%s: stopped", d->comps[i].name);
	}
}

static int
run_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct node_daemon d;
	const char *cfile = NULL;
	struct conf *c;
	sigset_t set;
	struct rlimit rl;
	int ch, sig = 0, ret = CLI_FAIL;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfile = optarg;
			break;
		case 'h':
			cli_help(&cli_cmd_run);
			return CLI_OK;
		default:
			return cli_usage(&cli_cmd_run, "bad option");
		}
	}
	if (optind < argc)
		return cli_usage(&cli_cmd_run, "unexpected operand \"%s\"", argv[optind]);
	c = cli_load_conf(cfile);
	if (c == NULL)
		return CLI_USAGE;
	memset(&d, 0, sizeof(d));
	d.c = c;
	pthread_mutex_init(&d.mu, NULL);
	pthread_cond_init(&d.cv, NULL);
	node_log_set_level(c->node.log_level);
	/* The schedule is in the anchor's zone; set before any thread exists. */
	if (setenv("TZ", c->observer.anchor_tz, 1) != 0) {
		cli_err("cannot set the time zone %s", c->observer.anchor_tz);
		goto out;
	}
	tzset();
	d.s = cli_open_store(c, 0);
	if (d.s == NULL || count_origins(d.s) != 0)
		goto out;
	{
		char err[1024];
		size_t n;

		if (node_key_start(c, d.s, &n, err, sizeof(err)) != 0) {
			cli_err("signing key: %s", err);
			goto out;
		}
		if (n > 0)
			node_log(NODE_LOG_INFO, "signed %zu record%s this node made before records "
			    "were signed", n, n == 1 ? "" : "s");

		d.stats = node_stats_new(c, err, sizeof(err));
		if (d.stats == NULL) {
			cli_err("%s", err);
			goto out;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	/* The server holds up to 1024 connections besides the observer's and the store's
	 * descriptors: the soft limit (often 1024) goes up towards the hard one. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 &&
	    rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max < 65536 ? rl.rlim_max : 65536;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* Libraries with global state are set up before any component's thread exists. */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	xmlInitParser();
	node_daemon_add(&d, "taxii", node_serve_start, node_serve_stop);
	node_daemon_add(&d, "push", node_push_start, node_push_stop);
	if (c->observer.enabled)
		node_daemon_add(&d, "observer", observer_start, observer_stop);
	else
		node_log(NODE_LOG_INFO, "observer: disabled ([observer] enabled = false)");
	if (c->npeers)
		node_daemon_add(&d, "peers", node_peers_start, node_peers_stop);
	if (daemon_start(&d) != 0) {
		daemon_stop(&d);
		goto out;
	}
	node_stats_write_status(d.stats);
	fprintf(stderr, "c2watch: running (node %s, pid %ld)\n", c->node.id, (long)getpid());
	if (c->observer.enabled)
		node_log(NODE_LOG_INFO, "observer: every %lld s from %02d:%02d %s",
		    (long long)(c->observer.interval_us / 1000000), c->observer.anchor_minute / 60,
		    c->observer.anchor_minute % 60, c->observer.anchor_tz);
	if (sigwait(&set, &sig) != 0)
		sig = 0;
	node_log(NODE_LOG_INFO, "stopping on signal %d", sig);
	daemon_stop(&d);
	node_log(NODE_LOG_INFO, "stopped");
	ret = CLI_OK;
out:
	node_stats_free(d.stats);
	store_close(d.s);
	pthread_mutex_destroy(&d.mu);
	pthread_cond_destroy(&d.cv);
	conf_free(c);
	return ret;
}

const struct cli_cmd cli_cmd_run = {
	"run", "[-c FILE]",
	run_run,
	"Runs the node: observation cycles start at the anchor plus whole intervals, in\n"
	"the anchor's time zone; records and change events are stored as they complete and\n"
	"the on_change hook runs for each event. Logs go to stderr at the config's\n"
	"log_level. SIGTERM or SIGINT stops it cleanly (a running cycle ends early, what\n"
	"was observed is stored). With [observer] enabled = false no cycle runs.\n",
};
