/* The daemon's counters (node_stats.h) and DATA_DIR/status.json. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <jansson.h>

#include "conf/conf.h"
#include "node/node_daemon.h"
#include "node/node_stats.h"
#include "util/util.h"

const double node_cycle_buckets[NODE_CYCLE_BUCKETS] = {1, 5, 15, 60, 300, 900, 1800, 3600,
	14400};

static char *
path_in(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

struct node_stats *
node_stats_new(const struct conf *c, char *err, size_t errlen)
{
	struct node_stats *st = calloc(1, sizeof(*st));
	char *lock = NULL, tmp[64];

	if (st == NULL) {
		util_seterr(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&st->mu, NULL);
	st->c = c;
	st->lock_fd = -1;
	st->pid = getpid();
	st->started_us = util_now_us();
	st->last_result = -1;
	snprintf(tmp, sizeof(tmp), "." NODE_STATUS_FILE ".%ld", (long)st->pid);
	st->status_path = path_in(c->node.data_dir, NODE_STATUS_FILE);
	st->tmp_path = path_in(c->node.data_dir, tmp);
	lock = path_in(c->node.data_dir, NODE_LOCK_FILE);
	st->peers = calloc(c->npeers + 1, sizeof(*st->peers));
	if (st->status_path == NULL || st->tmp_path == NULL || lock == NULL ||
	    st->peers == NULL) {
		util_seterr(err, errlen, "out of memory");
		goto fail;
	}
	st->npeers = c->npeers;
	for (size_t i = 0; i < c->npeers; i++) {
		st->peers[i].name = c->peers[i].name;
		st->peers[i].url = c->peers[i].url;
	}
	/* Shared: every daemon of the directory holds it; only a reader asks for it whole. */
	st->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (st->lock_fd < 0 || flock(st->lock_fd, LOCK_SH | LOCK_NB) != 0) {
		util_seterr(err, errlen, "%s: %s", lock, strerror(errno));
		goto fail;
	}
	free(lock);
	return st;
fail:
	free(lock);
	node_stats_free(st);
	return NULL;
}

void
node_stats_free(struct node_stats *st)
{
	if (st == NULL)
		return;
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	pthread_mutex_destroy(&st->mu);
	free(st->status_path);
	free(st->tmp_path);
	free(st->peers);
	free(st);
}

void
node_stats_listen(struct node_stats *st, size_t i, const char *host, unsigned port)
{
	if (i >= sizeof(st->listen_port) / sizeof(st->listen_port[0]))
		return;
	pthread_mutex_lock(&st->mu);
	snprintf(st->listen_host[i], sizeof(st->listen_host[i]), "%s", host);
	st->listen_port[i] = port;
	if (i >= st->nlisten)
		st->nlisten = i + 1;
	pthread_mutex_unlock(&st->mu);
}

void
node_stats_next_cycle(struct node_stats *st, int64_t next_us)
{
	pthread_mutex_lock(&st->mu);
	st->next_us = next_us;
	pthread_mutex_unlock(&st->mu);
}

void
node_stats_cycle_start(struct node_stats *st, int64_t now_us)
{
	pthread_mutex_lock(&st->mu);
	st->running_us = now_us;
	st->next_us = 0;
	pthread_mutex_unlock(&st->mu);
}

void
node_stats_cycle_end(struct node_stats *st, int rc, const struct node_observe_sum *sum)
{
	int r = rc == 0 ? NODE_CYCLE_OK : rc == 1 ? NODE_CYCLE_EMPTY : NODE_CYCLE_FAILED;
	double secs;
	size_t b = 0;

	pthread_mutex_lock(&st->mu);
	st->last_start_us = st->running_us;
	st->running_us = 0;
	st->last_end_us = util_now_us();
	secs = (double)(st->last_end_us - st->last_start_us) / 1e6;
	st->cycles[r]++;
	st->last_result = r;
	st->last = *sum;
	st->last.st.seconds = secs;
	while (b < NODE_CYCLE_BUCKETS && secs > node_cycle_buckets[b])
		b++;
	st->cycle_bucket[b]++;
	st->cycle_seconds_sum += secs;
	st->records_made += sum->stored;
	obs_tally_add(&st->tally, &sum->tally);
	for (int k = 0; k < NODE_EV_KINDS; k++)
		st->events[k] += sum->by_kind[k];
	pthread_mutex_unlock(&st->mu);
}

void
node_stats_peer(struct node_stats *st, size_t i, const struct fed_peer_state *ps)
{
	if (i >= st->npeers)
		return;
	pthread_mutex_lock(&st->mu);
	st->peers[i].st = *ps;
	pthread_mutex_unlock(&st->mu);
}

void
node_stats_forbidden(struct node_stats *st)
{
	pthread_mutex_lock(&st->mu);
	st->auth_fail[NODE_AUTH_FORBIDDEN]++;
	pthread_mutex_unlock(&st->mu);
}

void
node_stats_taxii(void *ctx, const struct taxii_request_info *info)
{
	struct node_stats *st = ctx;
	size_t i;

	pthread_mutex_lock(&st->mu);
	for (i = 0; i < st->ntaxii; i++)
		if (strcmp(st->taxii[i].service, info->service) == 0 &&
		    st->taxii[i].http == info->http_status && st->taxii[i].status == info->status)
			break;
	if (i == st->ntaxii) {
		if (st->ntaxii < NODE_TAXII_KEYS - 1) {
			st->taxii[i] = (struct node_taxii_count){info->service, info->http_status,
			    info->status, 0};
			st->ntaxii++;
		} else {
			/* Full: the last entry takes every other answer. */
			i = NODE_TAXII_KEYS - 1;
			if (st->ntaxii < NODE_TAXII_KEYS)
				st->taxii[i] = (struct node_taxii_count){"other", 0, -1, 0};
			st->ntaxii = NODE_TAXII_KEYS;
		}
	}
	st->taxii[i].n++;
	switch (info->auth) {
	case TAXII_AUTH_MISSING:
		st->auth_fail[NODE_AUTH_MISSING]++;
		break;
	case TAXII_AUTH_INVALID:
		st->auth_fail[NODE_AUTH_INVALID]++;
		break;
	case TAXII_AUTH_NO_CERT:
		st->auth_fail[NODE_AUTH_NO_CERT]++;
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&st->mu);
}

/* ------------------------------------------------------------------ status.json */

json_t *
node_json_time(int64_t us)
{
	char buf[UTIL_TIME_MAX];

	if (us <= 0 || util_time_format(us, 0, buf) != 0)
		return json_null();
	return json_string(buf);
}

static const char *const cycle_results[NODE_CYCLE_RESULTS] = {"ok", "empty", "failed"};

/* The state as JSON; st->mu held. */
static json_t *
status_json(const struct node_stats *st)
{
	const struct conf *c = st->c;
	json_t *j = json_object(), *listen = json_array(), *peers = json_array(), *obs;

	if (j == NULL || listen == NULL || peers == NULL) {
		json_decref(j);
		json_decref(listen);
		json_decref(peers);
		return NULL;
	}
	for (size_t i = 0; i < st->nlisten; i++)
		json_array_append_new(listen, json_pack("{s:s, s:i, s:s}", "host",
		    st->listen_host[i], "port", (int)st->listen_port[i], "scheme",
		    c->server.tls_cert ? "https" : "http"));
	for (size_t i = 0; i < st->npeers; i++) {
		const struct fed_peer_state *ps = &st->peers[i].st;

		json_array_append_new(peers, json_pack("{s:s, s:s, s:o, s:o, s:s?, s:I, s:I, s:i}",
		    "name", st->peers[i].name, "url", st->peers[i].url, "last_ok",
		    node_json_time(ps->last_ok_us), "last_error_at", node_json_time(ps->last_fail_us),
		    "last_error", ps->last_error[0] ? ps->last_error : NULL, "polls",
		    (json_int_t)ps->polls, "polls_failed", (json_int_t)ps->polls_failed,
		    "failures_in_a_row", ps->failures));
	}
	obs = json_pack("{s:b, s:I, s:o, s:o}", "enabled", c->observer.enabled, "interval_s",
	    (json_int_t)(c->observer.interval_us / 1000000), "next_cycle",
	    node_json_time(st->next_us), "cycle_running_since", node_json_time(st->running_us));
	if (obs != NULL && st->last_start_us > 0)
		json_object_set_new(obs, "last_cycle", json_pack(
		    "{s:o, s:o, s:s?, s:f, s:I, s:I, s:I, s:I, s:I}", "started",
		    node_json_time(st->last_start_us), "ended", node_json_time(st->last_end_us),
		    "result", st->last_result >= 0 ? cycle_results[st->last_result] : NULL,
		    "seconds", st->last_end_us ? st->last.st.seconds : 0.0, "targets",
		    (json_int_t)st->last.st.targets, "records", (json_int_t)st->last.st.records,
		    "answered", (json_int_t)st->last.st.responded, "stored",
		    (json_int_t)st->last.stored, "events", (json_int_t)st->last.events));
	json_object_set_new(j, "pid", json_integer(st->pid));
	json_object_set_new(j, "node", json_string(c->node.id));
	json_object_set_new(j, "started", node_json_time(st->started_us));
	json_object_set_new(j, "updated", node_json_time(util_now_us()));
	json_object_set_new(j, "listen", listen);
	json_object_set_new(j, "observer", obs ? obs : json_null());
	json_object_set_new(j, "peers", peers);
	return j;
}

void
node_stats_write_status(struct node_stats *st)
{
	static char last_err[256];
	char err[256] = "";
	json_t *j;
	char *text = NULL;
	FILE *fp = NULL;

	pthread_mutex_lock(&st->mu);
	j = status_json(st);
	text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
	json_decref(j);
	if (text == NULL) {
		util_seterr(err, sizeof(err), "out of memory");
		goto out;
	}
	/* A reader sees the old file or the new one, never half of one. */
	fp = fopen(st->tmp_path, "w");
	if (fp == NULL || fputs(text, fp) == EOF || fputc('\n', fp) == EOF) {
		util_seterr(err, sizeof(err), "%s: %s", st->tmp_path, strerror(errno));
		goto out;
	}
	if (fclose(fp) != 0) {
		fp = NULL;
		util_seterr(err, sizeof(err), "%s: %s", st->tmp_path, strerror(errno));
		goto out;
	}
	fp = NULL;
	if (rename(st->tmp_path, st->status_path) != 0)
		util_seterr(err, sizeof(err), "%s: %s", st->status_path, strerror(errno));
out:
	if (fp != NULL)
		fclose(fp);
	if (err[0] != '\0')
		unlink(st->tmp_path);
	/* Said once per distinct failure: a full disk must not fill the log too. */
	if (err[0] != '\0' && strcmp(err, last_err) != 0)
		node_log(NODE_LOG_WARN, "status: %s", err);
	snprintf(last_err, sizeof(last_err), "%s", err);
	pthread_mutex_unlock(&st->mu);
	free(text);
}
