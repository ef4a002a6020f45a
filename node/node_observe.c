/* The observer wired to the store: a cycle's records stored in batches as they complete,
 * change events against each destination's previous record from this node, hooks. */
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
#include "node/cli.h"
#include "node/node.h"
#include "node/node_obs.h"
#include "store/store.h"
#include "util/util.h"

extern char **environ;

#define NODE_OBS_BATCH 256
#define NODE_OBS_FLUSH_US 2000000 /* a batch waits at most this long to be stored */

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
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

struct obs_run {
	const struct conf *c;
	struct store *s;
	struct node_hooks *hooks;
	struct node_observe_sum *sum;
	json_t *batch;  /* records waiting to be stored */
	json_t *events; /* their events */
	struct store_obs obs[NODE_OBS_BATCH];
	char *texts[NODE_OBS_BATCH];
	char **evtexts;
	size_t nobs, nev;
	int results[NODE_OBS_BATCH];
	int failed;
	int progress;
	int64_t last_flush_us;
};

/* The last record before `until` that this node made of the destination. */
struct prev_find {
	const char *node;
	char needle[300]; /* "node":"ID" as compact JSON writes it; "" when ID needs escaping */
	json_t *rec;
};

static int
prev_cb(int64_t label, const unsigned char *id, const char *json, size_t len, void *arg)
{
	struct prev_find *f = arg;
	json_t *r = NULL;

	(void)label;
	(void)id;
	/* Most records of a busy destination come from peers: skip them before parsing. */
	if (f->needle[0] && memmem(json, len, f->needle, strlen(f->needle)) == NULL)
		return 0;
	r = json_loadb(json, len, 0, NULL);
	if (r == NULL)
		return 0;
	const char *node = json_string_value(json_object_get(r, "node"));

	if (node == NULL || strcmp(node, f->node) != 0) {
		json_decref(r);
		return 0;
	}
	json_decref(f->rec);
	f->rec = r;
	return 0;
}

static int
flush_txn(struct store_txn *t, void *arg)
{
	struct obs_run *r = arg;
	int64_t label;

	if (store_put_obs_batch(t, r->obs, r->nobs, r->results, NULL) != STORE_OK)
		return -1;
	for (size_t i = 0; i < r->nev; i++)
		if (store_add_event(t, r->evtexts[i], strlen(r->evtexts[i]), &label) != STORE_OK)
			return -1;
	return 0;
}

/* Stores the waiting records and their events in one transaction, then runs hooks. */
static int
obs_flush(struct obs_run *r)
{
	struct store_err err = {{0}};
	size_t i, n = json_array_size(r->batch);
	json_t *rec;
	int ret = -1;

	r->nobs = r->nev = 0;
	json_array_clear(r->events);
	json_array_foreach(r->batch, i, rec) {
		struct store_obs *o = &r->obs[r->nobs];
		char why[256];
		struct prev_find f = {r->c->node.id, "", NULL};
		int64_t window = 3 * r->c->observer.interval_us;

		if (node_record_keys(rec, &o->threat_id, &o->target_key, &o->observed_us, o->id,
			why, sizeof(why)) != 0) {
			node_log(NODE_LOG_ERROR, "observer made a bad record: %s", why);
			goto out;
		}
		r->texts[r->nobs] = json_dumps(rec, JSON_COMPACT);
		if (r->texts[r->nobs] == NULL)
			goto oom;
		o->json = r->texts[r->nobs];
		o->len = strlen(o->json);
		r->nobs++;
		if (strpbrk(f.node, "\"\\/") == NULL)
			snprintf(f.needle, sizeof(f.needle), "\"node\":\"%.280s\"", f.node);
		/* The previous record is normally one interval back: look there first, and
		 * through the whole history only when it is not. */
		if (window < 86400LL * 1000000)
			window = 86400LL * 1000000;
		int rc = store_scan_obs(r->s, o->threat_id, o->target_key, o->observed_us - window,
		    o->observed_us, prev_cb, &f, &err);
		if (rc == STORE_OK && f.rec == NULL)
			rc = store_scan_obs(r->s, o->threat_id, o->target_key, INT64_MIN,
			    o->observed_us - window, prev_cb, &f, &err);
		if (rc != STORE_OK) {
			json_decref(f.rec);
			node_log(NODE_LOG_ERROR, "reading the previous record: %s", err.msg);
			goto out;
		}
		json_t *ev = obs_events(f.rec, rec);
		json_decref(f.rec);
		if (ev == NULL || json_array_extend(r->events, ev) != 0) {
			json_decref(ev);
			goto oom;
		}
		json_decref(ev);
	}
	r->evtexts = calloc(json_array_size(r->events) + 1, sizeof(*r->evtexts));
	if (r->evtexts == NULL)
		goto oom;
	for (i = 0; i < json_array_size(r->events); i++) {
		r->evtexts[i] = json_dumps(json_array_get(r->events, i), JSON_COMPACT);
		if (r->evtexts[i] == NULL)
			goto oom;
		r->nev++;
	}
	if (n && store_write(r->s, flush_txn, r, &err) != STORE_OK) {
		node_log(NODE_LOG_ERROR, "storing %zu records: %s", n, err.msg);
		goto out;
	}
	for (i = 0; i < r->nobs; i++)
		if (r->results[i] == STORE_PUT_NEW)
			r->sum->stored++;
	r->sum->events += r->nev;
	for (i = 0; i < r->nev; i++) {
		node_log(NODE_LOG_INFO, "change: %s", r->evtexts[i]);
		node_hooks_push(r->hooks, r->evtexts[i]);
	}
	ret = 0;
	goto out;
oom:
	node_log(NODE_LOG_ERROR, "storing records: out of memory");
out:
	for (i = 0; i < r->nobs; i++)
		free(r->texts[i]);
	for (i = 0; r->evtexts && i < r->nev; i++)
		free(r->evtexts[i]);
	free(r->evtexts);
	r->evtexts = NULL;
	r->nobs = r->nev = 0;
	json_array_clear(r->batch);
	return ret;
}

static int
obs_record(json_t *rec, void *arg)
{
	struct obs_run *r = arg;

	int64_t now = util_now_us();

	if (json_array_append(r->batch, rec) != 0)
		return -1;
	if (r->last_flush_us == 0)
		r->last_flush_us = now;
	if (json_array_size(r->batch) < NODE_OBS_BATCH && now - r->last_flush_us < NODE_OBS_FLUSH_US)
		return 0;
	r->last_flush_us = now;
	if (obs_flush(r) != 0) {
		r->failed = 1;
		return -1;
	}
	return 0;
}

static void
obs_progress(size_t done, size_t total, void *arg)
{
	(void)arg;
	cli_progress("observe", done, total);
}

/*
 * The stored targets, streamed to the cycle a chunk at a time so that the whole list is
 * never held. The store can only scan from the start, so each chunk is a new scan that
 * passes over the entries up to the last one taken: store keys are threat ID, NUL, SHA-256
 * of the target key, in byte order (LMDB's), and that position is what is kept. A scan per
 * chunk holds no read transaction while the cycle writes its records.
 */
#define NODE_OBS_CHUNK 4096
#define NODE_POS_MAX (STORE_THREAT_ID_MAX + 1 + UTIL_SHA256_LEN)

struct target_iter {
	struct store *s;
	const char *threat_id;
	json_t *chunk[NODE_OBS_CHUNK];
	size_t n, pos;
	unsigned char last[NODE_POS_MAX], prev[NODE_POS_MAX];
	size_t lastlen, prevlen; /* 0: none yet */
	int done, oom, disorder;
};

static int
pos_cmp(const unsigned char *a, size_t al, const unsigned char *b, size_t bl)
{
	int d = memcmp(a, b, al < bl ? al : bl);

	return d ? d : (al > bl) - (al < bl);
}

static int
target_cb(const char *threat_id, const char *key, size_t key_len, const char *json,
    size_t len, void *arg)
{
	struct target_iter *it = arg;
	unsigned char pos[NODE_POS_MAX];
	size_t tl = strlen(threat_id), pl;
	json_t *t;

	if (tl > STORE_THREAT_ID_MAX)
		return 0; /* not a key the store writes */
	/* Entries of an earlier threat ID are passed over without hashing their key. */
	if (it->lastlen && pos_cmp((const unsigned char *)threat_id, tl + 1, it->last,
			       tl + 1 <= it->lastlen ? tl + 1 : it->lastlen) < 0)
		return 0;
	memcpy(pos, threat_id, tl + 1);
	if (util_sha256(key, key_len, pos + tl + 1) != 0) {
		it->oom = 1;
		return 1;
	}
	pl = tl + 1 + UTIL_SHA256_LEN;
	if (it->prevlen && pos_cmp(pos, pl, it->prev, it->prevlen) <= 0) {
		it->disorder = 1;
		return 1;
	}
	memcpy(it->prev, pos, pl);
	it->prevlen = pl;
	if (it->lastlen && pos_cmp(pos, pl, it->last, it->lastlen) <= 0)
		return 0;
	t = json_loadb(json, len, 0, NULL);
	if (t == NULL)
		return 0; /* the store only holds checked targets */
	it->chunk[it->n++] = t;
	memcpy(it->last, pos, pl);
	it->lastlen = pl;
	return it->n == NODE_OBS_CHUNK;
}

static int
target_next(void *arg, json_t **out)
{
	struct target_iter *it = arg;
	struct store_err serr = {{0}};
	int rc;

	if (it->pos == it->n && !it->done) {
		it->n = it->pos = 0;
		it->prevlen = 0;
		rc = store_scan_targets(it->s, it->threat_id, target_cb, it, &serr);
		if (rc < 0 || it->oom || it->disorder) {
			node_log(NODE_LOG_ERROR, "reading targets: %s",
			    it->oom ? "out of memory" :
			    it->disorder ? "the store did not give them in key order" : serr.msg);
			return -1;
		}
		if (it->n < NODE_OBS_CHUNK)
			it->done = 1;
	}
	if (it->pos == it->n)
		return 0;
	*out = it->chunk[it->pos];
	it->chunk[it->pos++] = NULL;
	return 1;
}

int
node_observe_cycle(const struct conf *c, struct store *s, struct node_hooks *hooks,
    const char *threat_id, volatile sig_atomic_t *stop, int progress,
    struct node_observe_sum *sum)
{
	struct store_err serr = {{0}};
	struct target_iter *it = calloc(1, sizeof(*it));
	struct obs_run r = {0};
	size_t ntargets = 0;
	struct obs_config oc;
	char err[512];
	int ret = -1;

	memset(sum, 0, sizeof(*sum));
	r.c = c;
	r.s = s;
	r.hooks = hooks;
	r.sum = sum;
	r.batch = json_array();
	r.events = json_array();
	if (it == NULL || r.batch == NULL || r.events == NULL) {
		node_log(NODE_LOG_ERROR, "observe: out of memory");
		goto out;
	}
	if (c->observer.targets_file != NULL) {
		struct util_buf errors;
		struct node_put_stats ps = {0, 0, 0};
		json_t *targets = NULL;
		size_t nerr = 0;

		util_buf_init(&errors, 1u << 20);
		if (conf_targets_read(c->observer.targets_file, NULL, &targets, &errors, &nerr,
			NULL, NULL) != 0) {
			node_log(NODE_LOG_ERROR, "targets_file: %zu error%s, stored targets used:\n%s",
			    nerr, nerr == 1 ? "" : "s", errors.data ? errors.data : "");
		} else if (node_put_targets(s, targets, &ps) == 0) {
			sum->imported = json_array_size(targets);
		}
		json_decref(targets);
		util_buf_fini(&errors);
	}
	if (store_count_targets(s, threat_id, &ntargets, &serr) != STORE_OK) {
		node_log(NODE_LOG_ERROR, "reading targets: %s", serr.msg);
		goto out;
	}
	if (ntargets == 0) {
		ret = 1;
		goto out;
	}
	node_obs_config(c, &oc);
	oc.stop = stop;
	if (progress) {
		oc.progress = obs_progress;
		oc.progress_arg = NULL;
	}
	it->s = s;
	it->threat_id = threat_id;
	if (obs_cycle_run_iter(&oc, target_next, it, ntargets, obs_record, &r, &sum->st, err,
		sizeof(err)) != 0) {
		if (!r.failed)
			node_log(NODE_LOG_ERROR, "observe: %s", err);
		obs_flush(&r);
		goto out;
	}
	if (obs_flush(&r) != 0)
		goto out;
	ret = 0;
out:
	for (size_t i = 0; it && i < it->n; i++)
		json_decref(it->chunk[i]);
	free(it);
	json_decref(r.batch);
	json_decref(r.events);
	return ret;
}

/* ------------------------------------------------------------------ printing */

static const char *
jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "-";
}

void
node_record_print(const json_t *rec, FILE *fp)
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
