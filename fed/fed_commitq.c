/* The committing thread of fed.h's fed_commitq: a one-slot hand-over, emptied only when its
 * merge is committed, so the caller waits instead of piling merges up. */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>

#include "fed/fed.h"
#include "util/util.h"

struct fed_commitq {
	struct store *s;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct fed_merge *slot; /* handed over, waiting or in its commit */
	const char *peer;       /* the slot's cursor */
	int64_t cursor;
	int done;               /* no more merges come */
	int failed;             /* a commit failed: err says why, nothing more is taken */
	char err[1024];
	struct fed_merge_stats st;
};

static void
add_stats(struct fed_merge_stats *to, const struct fed_merge_stats *from)
{
	to->added += from->added;
	to->same += from->same;
	to->rejected += from->rejected;
	to->targets_added += from->targets_added;
	to->targets_updated += from->targets_updated;
	to->targets_same += from->targets_same;
}

static void *
commit_loop(void *arg)
{
	struct fed_commitq *q = arg;
	char err[sizeof(q->err)];

	pthread_mutex_lock(&q->mu);
	for (;;) {
		struct fed_merge *m;
		struct fed_merge_stats st;
		const char *peer;
		int64_t cursor;
		int rc;

		while (q->slot == NULL && !q->done)
			pthread_cond_wait(&q->cv, &q->mu);
		if (q->slot == NULL)
			break;
		m = q->slot;
		peer = q->peer;
		cursor = q->cursor;
		pthread_mutex_unlock(&q->mu);
		err[0] = '\0';
		rc = fed_merge_commit(m, q->s, peer, cursor, err, sizeof(err));
		st = m->stats;
		/* Freed before the slot empties, so that two merges are the most. */
		fed_merge_free(m);
		pthread_mutex_lock(&q->mu);
		q->slot = NULL;
		if (rc != 0) {
			q->failed = 1;
			util_seterr(q->err, sizeof(q->err), "%s", err[0] ? err : "commit failed");
		} else {
			add_stats(&q->st, &st);
		}
		pthread_cond_broadcast(&q->cv);
		if (rc != 0)
			break;
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

struct fed_commitq *
fed_commitq_new(struct store *s, char *err, size_t errlen)
{
	struct fed_commitq *q = calloc(1, sizeof(*q));

	if (q == NULL) {
		util_seterr(err, errlen, "out of memory");
		return NULL;
	}
	q->s = s;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	if (pthread_create(&q->thread, NULL, commit_loop, q) != 0) {
		util_seterr(err, errlen, "cannot start the committing thread");
		pthread_cond_destroy(&q->cv);
		pthread_mutex_destroy(&q->mu);
		free(q);
		return NULL;
	}
	return q;
}

int
fed_commitq_put(struct fed_commitq *q, struct fed_merge **mp, const char *peer,
    int64_t cursor, char *err, size_t errlen)
{
	struct fed_merge *next;
	int failed;

	if (fed_merge_prepare(*mp, err, errlen) != 0)
		return -1;
	next = fed_merge_new();
	if (next == NULL) {
		util_seterr(err, errlen, "out of memory");
		return -1;
	}
	next->trust = (*mp)->trust;
	next->log = (*mp)->log;
	pthread_mutex_lock(&q->mu);
	while (q->slot != NULL && !q->failed)
		pthread_cond_wait(&q->cv, &q->mu);
	failed = q->failed;
	if (failed) {
		util_seterr(err, errlen, "%s", q->err);
	} else {
		q->slot = *mp;
		q->peer = peer;
		q->cursor = cursor;
		*mp = next;
		pthread_cond_broadcast(&q->cv);
	}
	pthread_mutex_unlock(&q->mu);
	if (failed) {
		fed_merge_free(next);
		return -1;
	}
	return 0;
}

int
fed_commitq_free(struct fed_commitq *q, struct fed_merge_stats *st, char *err,
    size_t errlen)
{
	int failed;

	if (q == NULL)
		return 0;
	pthread_mutex_lock(&q->mu);
	q->done = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->thread, NULL);
	/* The thread takes what was handed over before it stops, and a failure empties the
	 * slot: nothing is left in it, and nothing handed over goes uncommitted unless a
	 * commit failed first. */
	failed = q->failed;
	if (failed)
		util_seterr(err, errlen, "%s", q->err);
	if (st != NULL)
		add_stats(st, &q->st);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q);
	return failed ? -1 : 0;
}
