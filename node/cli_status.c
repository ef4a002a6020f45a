/*
 * status: what the local operator asks first, read from the data directory alone (the
 * daemon need not answer): whether a daemon runs (DATA_DIR/daemon.lock held and the pid
 * of DATA_DIR/status.json alive), where it listens, its last and next cycle, each peer's
 * last good poll and error, the subscriptions and their backlog, and the store's size.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <jansson.h>

#include "conf/conf.h"
#include "fed/fed.h"
#include "node/cli.h"
#include "node/node_stats.h"
#include "store/store.h"
#include "util/util.h"

/* 1 when some daemon holds the directory's lock, 0 when none does (or none ever ran). */
static int
lock_held(const char *dir)
{
	char path[4096];
	int fd, held = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, NODE_LOCK_FILE);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0)
		held = errno == EWOULDBLOCK;
	else
		flock(fd, LOCK_UN);
	close(fd);
	return held;
}

static int
pid_alive(json_int_t pid)
{
	if (pid <= 0 || pid > INT32_MAX)
		return 0;
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

static const char *const sub_status[] = {"active", "paused", "unsubscribed"};

struct subs_arg {
	struct store *s;
	json_t *list;
	int failed;
};

static int
sub_cb(void *arg, const struct taxii_sub *sub)
{
	struct subs_arg *sa = arg;
	struct store_err serr = {{0}};
	size_t backlog = 0;
	json_t *j;

	/* A poll subscription has nothing waiting to be sent: only pushes have a backlog. */
	if (sub->has_push && sub->status != TAXII_SUBST_UNSUBSCRIBED &&
	    store_count_feed(sa->s, sub->delivered_us, INT64_MAX, &backlog, &serr) != STORE_OK) {
		sa->failed = 1;
		return 1;
	}
	j = json_pack("{s:s, s:s, s:s, s:s?, s:o, s:o}", "id", sub->id, "owner", sub->owner,
	    "status", sub_status[sub->status], "push_address",
	    sub->has_push ? sub->push_address : NULL, "delivered",
	    node_json_time(sub->delivered_us), "backlog",
	    sub->has_push && sub->status != TAXII_SUBST_UNSUBSCRIBED ?
	    json_integer((json_int_t)backlog) : json_null());
	if (j == NULL || json_array_append_new(sa->list, j) != 0) {
		sa->failed = 1;
		return 1;
	}
	return 0;
}

/* The store's part: size, subscriptions, peer cursors. NULL store fields when it cannot
 * be opened (a node that never ran has no data directory yet). */
static void
add_store(const struct conf *c, json_t *out, json_t *peers)
{
	struct store_err serr = {{0}};
	struct store *s = NULL;
	struct subs_arg sa = {NULL, json_array(), 0};
	size_t records = 0, targets = 0;
	char err[512] = "";

	if (store_open(c->node.data_dir, &(struct store_opts){.read_only = 1}, &s, &serr) !=
	    STORE_OK) {
		json_object_set_new(out, "store", json_null());
		json_object_set_new(out, "store_error", json_string(serr.msg));
		json_object_set_new(out, "subscriptions", sa.list);
		return;
	}
	sa.s = s;
	if (store_count_records(s, &records, &serr) != STORE_OK ||
	    store_count_targets(s, NULL, &targets, &serr) != STORE_OK)
		json_object_set_new(out, "store_error", json_string(serr.msg));
	json_object_set_new(out, "store", json_pack("{s:I, s:I, s:I}", "records",
	    (json_int_t)records, "targets", (json_int_t)targets, "bytes",
	    (json_int_t)store_disk_bytes(s)));
	if (fed_subs_list(s, NULL, sub_cb, &sa, err, sizeof(err)) != 0 || sa.failed)
		json_object_set_new(out, "store_error",
		    json_string(err[0] ? err : "reading the subscriptions failed"));
	json_object_set_new(out, "subscriptions", sa.list);
	for (size_t i = 0; i < json_array_size(peers); i++) {
		json_t *p = json_array_get(peers, i);
		char name[300];
		int64_t label = 0;

		snprintf(name, sizeof(name), "peer %s",
		    json_string_value(json_object_get(p, "name")));
		json_object_set_new(p, "cursor", store_get_cursor(s, name, &label, &serr) ==
		    STORE_OK ? node_json_time(label) : json_null());
	}
	store_close(s);
}

/* Every [peer] of the config, with what the daemon last said of it (by name). */
static json_t *
peers_json(const struct conf *c, const json_t *st)
{
	json_t *peers = json_array(), *said = json_object_get(st, "peers");

	for (size_t i = 0; peers != NULL && i < c->npeers; i++) {
		json_t *p = json_pack("{s:s, s:s}", "name", c->peers[i].name, "url",
		    c->peers[i].url), *q;
		size_t k;

		if (p == NULL)
			continue;
		json_array_foreach(said, k, q) {
			const char *n = json_string_value(json_object_get(q, "name"));

			if (n == NULL || strcmp(n, c->peers[i].name) != 0)
				continue;
			json_object_set(p, "last_ok", json_object_get(q, "last_ok"));
			json_object_set(p, "last_error", json_object_get(q, "last_error") ?
			    json_object_get(q, "last_error") : json_null());
			json_object_set(p, "last_error_at", json_object_get(q, "last_error_at"));
			json_object_set(p, "failures_in_a_row",
			    json_object_get(q, "failures_in_a_row"));
		}
		json_array_append_new(peers, p);
	}
	return peers;
}

static void
print_text(const json_t *o)
{
	const json_t *lc = json_object_get(o, "last_cycle"), *v, *st = json_object_get(o, "store");
	const char *next = json_string_value(json_object_get(o, "next_cycle"));
	const char *cur = json_string_value(json_object_get(o, "cycle_running_since"));
	size_t i;

	if (json_is_true(json_object_get(o, "running"))) {
		printf("daemon:       running, pid %lld, since %s\n",
		    (long long)json_integer_value(json_object_get(o, "pid")),
		    json_string_value(json_object_get(o, "since")));
		json_array_foreach(json_object_get(o, "listen"), i, v) {
			printf("listening:    %s://%s:%lld\n",
			    json_string_value(json_object_get(v, "scheme")),
			    json_string_value(json_object_get(v, "host")),
			    (long long)json_integer_value(json_object_get(v, "port")));
		}
	} else if (json_is_true(json_object_get(o, "stale"))) {
		printf("daemon:       not running (stale state: pid %lld is gone; last update %s)\n",
		    (long long)json_integer_value(json_object_get(o, "pid")),
		    json_string_value(json_object_get(o, "updated")));
	} else {
		printf("daemon:       not running\n");
	}
	if (cur != NULL)
		printf("cycle:        running since %s\n", cur);
	if (json_is_object(lc))
		printf("last cycle:   %s, %s, %.1f s, %lld of %lld targets answered, %lld records "
		    "stored, %lld change events\n",
		    json_string_value(json_object_get(lc, "started")),
		    json_string_value(json_object_get(lc, "result")),
		    json_number_value(json_object_get(lc, "seconds")),
		    (long long)json_integer_value(json_object_get(lc, "answered")),
		    (long long)json_integer_value(json_object_get(lc, "targets")),
		    (long long)json_integer_value(json_object_get(lc, "stored")),
		    (long long)json_integer_value(json_object_get(lc, "events")));
	else
		printf("last cycle:   none\n");
	printf("next cycle:   %s\n", next ? next : cur ? "when the running one ends" :
	    "none scheduled");
	json_array_foreach(json_object_get(o, "peers"), i, v) {
		const char *ok = json_string_value(json_object_get(v, "last_ok"));
		const char *e = json_string_value(json_object_get(v, "last_error"));

		printf("peer %s:  last good poll %s; last error %s%s%s\n",
		    json_string_value(json_object_get(v, "name")), ok ? ok : "none",
		    e ? json_string_value(json_object_get(v, "last_error_at")) : "none",
		    e ? ": " : "", e ? e : "");
	}
	json_array_foreach(json_object_get(o, "subscriptions"), i, v) {
		const char *push = json_string_value(json_object_get(v, "push_address"));

		printf("subscription: %s (%s%s%s), ", json_string_value(json_object_get(v, "id")),
		    json_string_value(json_object_get(v, "status")),
		    *json_string_value(json_object_get(v, "owner")) ? ", owner " : "",
		    json_string_value(json_object_get(v, "owner")));
		if (push && json_is_integer(json_object_get(v, "backlog")))
			printf("push to %s, backlog %lld records\n", push,
			    (long long)json_integer_value(json_object_get(v, "backlog")));
		else
			printf("%s\n", push ? push : "polled");
	}
	if (json_is_object(st))
		printf("store:        %lld records, %lld targets, %lld bytes\n",
		    (long long)json_integer_value(json_object_get(st, "records")),
		    (long long)json_integer_value(json_object_get(st, "targets")),
		    (long long)json_integer_value(json_object_get(st, "bytes")));
	else
		printf("store:        %s\n", json_string_value(json_object_get(o, "store_error")));
}

static int
run_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cfile = NULL;
	struct conf *c;
	json_t *st = NULL, *o = NULL, *obs;
	char path[4096];
	int ch, as_json = 0, running, ret = CLI_FAIL;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:jh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfile = optarg;
			break;
		case 'j':
			as_json = 1;
			break;
		case 'h':
			cli_help(&cli_cmd_status);
			return CLI_OK;
		default:
			return cli_usage(&cli_cmd_status, "bad option");
		}
	}
	if (optind < argc)
		return cli_usage(&cli_cmd_status, "unexpected operand \"%s\"", argv[optind]);
	c = cli_load_conf(cfile);
	if (c == NULL)
		return CLI_USAGE;
	snprintf(path, sizeof(path), "%s/%s", c->node.data_dir, NODE_STATUS_FILE);
	/* Written by rename: whole or absent, never half. */
	st = json_load_file(path, 0, NULL);
	running = lock_held(c->node.data_dir) &&
	    pid_alive(json_integer_value(json_object_get(st, "pid")));
	obs = json_object_get(st, "observer");
	o = json_pack("{s:b, s:b, s:s, s:s}", "running", running, "stale", st != NULL && !running,
	    "node", c->node.id, "data_dir", c->node.data_dir);
	if (o == NULL) {
		cli_err("out of memory");
		goto out;
	}
	json_object_set(o, "pid", st ? json_object_get(st, "pid") : json_null());
	json_object_set(o, "since", st ? json_object_get(st, "started") : json_null());
	json_object_set(o, "updated", st ? json_object_get(st, "updated") : json_null());
	json_object_set_new(o, "listen", running && json_object_get(st, "listen") ?
	    json_deep_copy(json_object_get(st, "listen")) : json_array());
	json_object_set(o, "last_cycle", json_object_get(obs, "last_cycle") ?
	    json_object_get(obs, "last_cycle") : json_null());
	json_object_set(o, "cycle_running_since", running &&
	    json_object_get(obs, "cycle_running_since") ?
	    json_object_get(obs, "cycle_running_since") : json_null());
	json_object_set(o, "next_cycle", running && json_object_get(obs, "next_cycle") ?
	    json_object_get(obs, "next_cycle") : json_null());
	json_object_set_new(o, "peers", peers_json(c, st));
	add_store(c, o, json_object_get(o, "peers"));
	if (as_json) {
		if (json_dumpf(o, stdout, JSON_INDENT(2)) != 0 || putchar('\n') == EOF)
			goto out;
	} else {
		print_text(o);
	}
	ret = running ? CLI_OK : CLI_FAIL;
out:
	json_decref(o);
	json_decref(st);
	conf_free(c);
	return ret;
}

const struct cli_cmd cli_cmd_status = {
	"status", "[-c FILE] [--json]",
	run_status,
	"Says how the node is doing, from its data directory alone (the daemon need not\n"
	"answer): whether `run` is running (its pid, since when, where it listens), the\n"
	"last observation cycle (when, how long, how many answered) and the next, each\n"
	"peer's last good poll and last error, the subscriptions and their push backlog,\n"
	"and the store's size. A daemon killed without stopping shows as not running,\n"
	"its state as stale. Exit status 0 when a daemon runs, 1 when none does.\n\n"
	"  -j, --json          the same as one JSON object\n",
};
