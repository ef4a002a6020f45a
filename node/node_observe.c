/* The observer wired to the node: the daemon's log, the config turned into observer
 * settings, the on_change hook runner, and a stored cycle (obs_store_cycle) with the
 * targets_file re-imported first and each change event logged and handed to the hooks. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "fed/fed.h"
#include "node/cli.h"
#include "node/node_key.h"
#include "node/node_obs.h"
#include "store/store.h"
#include "util/util.h"

extern char **environ;

/* ------------------------------------------------------------------ logging */

static int node_log_level = NODE_LOG_INFO;

void
node_log_set_level(int level)
{
	node_log_level = level;
}

void
node_log(int level, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};
	char when[UTIL_TIME_MAX];
	int saved = errno;
	va_list ap;

	if (level > node_log_level || level < 0 || level > NODE_LOG_DEBUG)
		return;
	if (util_time_format(util_now_us(), 0, when) != 0)
		when[0] = '\0';
	va_start(ap, fmt);
	flockfile(stderr);
	fprintf(stderr, "%s c2watch: %s: ", when, names[level]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
	va_end(ap);
	errno = saved;
}

void
node_log_cb(void *arg, int level, const char *msg)
{
	(void)arg;
	node_log(level, "%s", msg);
}

/* ------------------------------------------------------------------ config */

void
node_obs_config(const struct conf *c, struct obs_config *oc)
{
	memset(oc, 0, sizeof(*oc));
	oc->node_id = c->node.id;
	oc->vantage = c->observer.vantage;
	oc->concurrency = c->observer.concurrency;
	oc->host_spacing_us = c->observer.host_spacing_us;
	oc->user_agent = c->observer.user_agent;
	oc->accept_encoding = c->observer.accept_encoding;
	oc->connect_timeout_us = c->observer.connect_timeout_us;
	oc->timeout_us = c->observer.timeout_us;
	oc->max_body = c->observer.max_body;
	oc->max_redirects = c->observer.max_redirects;
	oc->ping_count = c->observer.ping_count;
	oc->robots_respect = c->observer.robots_respect;
	oc->exclude_file = c->observer.exclude_file;
	oc->allow_private = c->observer.allow_private;
	oc->source_address = c->observer.source_address;
	oc->proxy = c->observer.proxy;
}

/* ------------------------------------------------------------------ hooks */

struct node_hooks {
	char *cmd;
	int timeout_ms;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *queue[NODE_HOOK_QUEUE];
	size_t head, n;
	int stopping;
	pthread_t thread;
};

static int64_t
hook_ms(void)
{
	return util_mono_us() / 1000;
}

/* Runs the hook once with `json` on its standard input, within the timeout. */
static void
hook_run_one(struct node_hooks *h, const char *json)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = {h->cmd, NULL};
	int p[2] = {-1, -1}, st = 0, done = 0;
	int64_t deadline = hook_ms() + h->timeout_ms;
	size_t len = strlen(json), off = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0) {
		node_log(NODE_LOG_WARN, "hook %s: pipe: %s", h->cmd, strerror(errno));
		return;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[0], 0);
	int rc = posix_spawn(&pid, h->cmd, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[0]);
	if (rc != 0) {
		node_log(NODE_LOG_WARN, "hook %s: cannot start: %s", h->cmd, strerror(rc));
		close(p[1]);
		return;
	}
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	/* Bounded by the deadline: a hook that never reads its input is killed. */
	while (off < len) {
		struct pollfd pfd = {.fd = p[1], .events = POLLOUT};
		int64_t left = deadline - hook_ms();

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
		ssize_t w = write(p[1], json + off, len - off);
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			break;
		if (w > 0)
			off += (size_t)w;
	}
	if (off == len && write(p[1], "\n", 1) < 0)
		node_log(NODE_LOG_DEBUG, "hook %s: did not read its input", h->cmd);
	close(p[1]);
	while (hook_ms() < deadline) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid || (r < 0 && errno != EINTR)) {
			done = r == pid;
			break;
		}
		struct timespec ts = {0, 20 * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (!done && waitpid(pid, &st, WNOHANG) != pid) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		node_log(NODE_LOG_WARN, "hook %s: still running after %d ms, killed", h->cmd,
		    h->timeout_ms);
		return;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
		node_log(NODE_LOG_WARN, "hook %s: exit status %d", h->cmd, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		node_log(NODE_LOG_WARN, "hook %s: killed by signal %d", h->cmd, WTERMSIG(st));
}

static void *
hook_main(void *arg)
{
	struct node_hooks *h = arg;

	for (;;) {
		char *json;

		pthread_mutex_lock(&h->mu);
		while (h->n == 0 && !h->stopping)
			pthread_cond_wait(&h->cv, &h->mu);
		if (h->n == 0) {
			pthread_mutex_unlock(&h->mu);
			break;
		}
		json = h->queue[h->head];
		h->head = (h->head + 1) % NODE_HOOK_QUEUE;
		h->n--;
		pthread_mutex_unlock(&h->mu);
		hook_run_one(h, json);
		free(json);
	}
	return NULL;
}

struct node_hooks *
node_hooks_new(const char *cmd, int timeout_ms)
{
	struct node_hooks *h = calloc(1, sizeof(*h));

	if (h == NULL || (h->cmd = strdup(cmd)) == NULL) {
		node_log(NODE_LOG_ERROR, "hooks: out of memory");
		goto fail;
	}
	h->timeout_ms = timeout_ms;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	if (pthread_create(&h->thread, NULL, hook_main, h) != 0) {
		node_log(NODE_LOG_ERROR, "hooks: cannot start a thread");
		pthread_mutex_destroy(&h->mu);
		pthread_cond_destroy(&h->cv);
		goto fail;
	}
	return h;
fail:
	if (h)
		free(h->cmd);
	free(h);
	return NULL;
}

void
node_hooks_push(struct node_hooks *h, const char *json)
{
	char *copy;

	if (h == NULL)
		return;
	copy = strdup(json);
	pthread_mutex_lock(&h->mu);
	if (copy == NULL || h->n == NODE_HOOK_QUEUE) {
		pthread_mutex_unlock(&h->mu);
		free(copy);
		node_log(NODE_LOG_WARN, "hook %s: %s, event dropped", h->cmd,
		    copy ? "too many events waiting" : "out of memory");
		return;
	}
	h->queue[(h->head + h->n) % NODE_HOOK_QUEUE] = copy;
	h->n++;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

void
node_hooks_free(struct node_hooks *h, int drain)
{
	size_t dropped = 0;

	if (h == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	if (!drain) {
		for (; h->n > 0; h->n--, dropped++) {
			free(h->queue[h->head]);
			h->head = (h->head + 1) % NODE_HOOK_QUEUE;
		}
	}
	h->stopping = 1;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->thread, NULL);
	if (dropped)
		node_log(NODE_LOG_WARN, "hook %s: stopping, %zu event%s not handed over", h->cmd,
		    dropped, dropped == 1 ? "" : "s");
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	free(h->cmd);
	free(h);
}

/* ------------------------------------------------------------------ the stored cycle */

static void
obs_progress(size_t done, size_t total, void *arg)
{
	(void)arg;
	cli_progress("observe", done, total);
}

const char *const node_event_kinds[NODE_EV_KINDS] = {"up", "down", "status", "content",
	"other"};

struct event_ctx {
	struct node_hooks *hooks;
	struct node_observe_sum *sum;
};

static void
on_event(void *arg, const char *json)
{
	struct event_ctx *ec = arg;
	json_t *ev = json_loads(json, 0, NULL);
	const char *kind = json_string_value(json_object_get(ev, "kind"));
	int k = 0;

	while (k < NODE_EV_OTHER && (kind == NULL || strcmp(kind, node_event_kinds[k]) != 0))
		k++;
	ec->sum->by_kind[k]++;
	json_decref(ev);
	node_log(NODE_LOG_INFO, "change: %s", json);
	node_hooks_push(ec->hooks, json);
}

int
node_observe_cycle(const struct conf *c, struct store *s, struct node_hooks *hooks,
    const char *threat_id, volatile sig_atomic_t *stop, int progress,
    struct node_observe_sum *sum)
{
	struct obs_store_sum os;
	struct obs_config oc;
	struct event_ctx ec = {hooks, sum};
	char err[1024];
	int rc;

	memset(sum, 0, sizeof(*sum));
	if (c->observer.targets_file != NULL) {
		struct util_buf errors;
		struct fed_merge_stats ps = {0};
		json_t *targets = NULL;
		size_t nerr = 0;

		util_buf_init(&errors, 1u << 20);
		if (conf_targets_read(c->observer.targets_file, NULL, &targets, &errors, &nerr,
			NULL, NULL) != 0) {
			node_log(NODE_LOG_ERROR, "targets_file: %zu error%s, stored targets used:\n%s",
			    nerr, nerr == 1 ? "" : "s", errors.data ? errors.data : "");
		} else if (fed_put_targets(s, targets, &ps, err, sizeof(err)) == 0) {
			sum->imported = json_array_size(targets);
		} else {
			node_log(NODE_LOG_ERROR, "targets_file: %s", err);
		}
		json_decref(targets);
		util_buf_fini(&errors);
	}
	node_obs_config(c, &oc);
	/* Every record this node makes is signed: no key, no observation. */
	if ((oc.key = node_key(c, err, sizeof(err))) == NULL) {
		node_log(NODE_LOG_ERROR, "observe: signing key: %s", err);
		return -1;
	}
	oc.stop = stop;
	if (progress)
		oc.progress = obs_progress;
	rc = obs_store_cycle(&oc, s, threat_id, c->observer.interval_us, on_event, &ec, &os,
	    err, sizeof(err));
	sum->st = os.st;
	sum->stored = os.stored;
	sum->events = os.events;
	sum->tally = os.tally;
	if (rc < 0)
		node_log(NODE_LOG_ERROR, "observe: %s", err);
	return rc;
}
