/* The robots.txt outcomes of the most recent origins, kept across windows (bounded in
 * entries and in bytes) so that an origin's robots.txt is fetched once per cycle. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "observer/obs_int.h"
#include "util/util.h"

uint64_t
cyc_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h ? h : 1;
}

struct cyc_rent *
cyc_rcache_get(const struct cycle *c, const char *origin)
{
	uint64_t hv;

	if (c->rcache.buckets == NULL)
		return NULL;
	hv = cyc_hash(origin);
	for (struct cyc_rent *e = c->rcache.buckets[hv % (2 * CYC_RCACHE_MAX)]; e; e = e->next)
		if (e->hv == hv && strcmp(e->origin, origin) == 0)
			return e;
	return NULL;
}

static void
cyc_rent_free(struct cyc_rent *e)
{
	if (e == NULL)
		return;
	free(e->origin);
	free(e->detail);
	free(e->body);
	free(e);
}

/* Drops the oldest entry. */
static void
cyc_rcache_evict(struct cycle *c)
{
	struct cyc_rcache *rc = &c->rcache;
	struct cyc_rent *e = rc->ring[rc->head], **pp;

	for (pp = &rc->buckets[e->hv % (2 * CYC_RCACHE_MAX)]; *pp != e; pp = &(*pp)->next)
		;
	*pp = e->next;
	rc->bytes -= e->blen;
	rc->head = (rc->head + 1) % CYC_RCACHE_MAX;
	rc->n--;
	cyc_rent_free(e);
}

/*
 * Keeps an origin's robots.txt outcome for later windows. Running out of memory only
 * means a later window fetches it again, so it is not an error.
 */
void
cyc_rcache_put(struct cycle *c, const struct cyc_origin *o, const char *body, size_t blen)
{
	struct cyc_rcache *rc = &c->rcache;
	struct cyc_rent *e;

	if (blen > CYC_RCACHE_BODY_MAX || cyc_rcache_get(c, o->origin) != NULL)
		return;
	if (rc->buckets == NULL) {
		rc->buckets = calloc(2 * CYC_RCACHE_MAX, sizeof(*rc->buckets));
		rc->ring = calloc(CYC_RCACHE_MAX, sizeof(*rc->ring));
		if (rc->buckets == NULL || rc->ring == NULL) {
			free(rc->buckets);
			free(rc->ring);
			rc->buckets = rc->ring = NULL;
			return;
		}
	}
	while (rc->n > 0 && (rc->n == CYC_RCACHE_MAX || rc->bytes + blen > CYC_RCACHE_BYTES))
		cyc_rcache_evict(c);
	e = calloc(1, sizeof(*e));
	if (e == NULL || (e->origin = strdup(o->origin)) == NULL ||
	    (o->detail && (e->detail = strdup(o->detail)) == NULL) ||
	    (body && blen && (e->body = malloc(blen)) == NULL)) {
		cyc_rent_free(e);
		return;
	}
	if (e->body)
		memcpy(e->body, body, blen);
	e->blen = e->body ? blen : 0;
	e->hv = cyc_hash(o->origin);
	e->status = o->status;
	e->error_kind = o->error_kind;
	e->next = rc->buckets[e->hv % (2 * CYC_RCACHE_MAX)];
	rc->buckets[e->hv % (2 * CYC_RCACHE_MAX)] = e;
	rc->ring[(rc->head + rc->n) % CYC_RCACHE_MAX] = e;
	rc->n++;
	rc->bytes += e->blen;
}

void
cyc_rcache_fini(struct cycle *c)
{
	while (c->rcache.n > 0)
		cyc_rcache_evict(c);
	free(c->rcache.buckets);
	free(c->rcache.ring);
	memset(&c->rcache, 0, sizeof(c->rcache));
}
