/* The scheduler's data: targets grouped by host and origin (robots.txt outcomes taken
 * from the cache), and the heap of hosts ordered by when each may be sent to next. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "observer/obs_int.h"
#include "observer/obs_robots.h"
#include "util/util.h"

static int
cyc_heap_less(const struct cycle *c, size_t a, size_t b)
{
	return c->hosts[c->heap[a]].ready_us < c->hosts[c->heap[b]].ready_us;
}

static void
cyc_heap_swap(struct cycle *c, size_t a, size_t b)
{
	size_t x = c->heap[a];

	c->heap[a] = c->heap[b];
	c->heap[b] = x;
}

void
cyc_heap_push(struct cycle *c, size_t h)
{
	size_t i = c->nheap++;

	c->heap[i] = h;
	c->hosts[h].queued = 1;
	while (i > 0 && cyc_heap_less(c, i, (i - 1) / 2)) {
		cyc_heap_swap(c, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

size_t
cyc_heap_pop(struct cycle *c)
{
	size_t top = c->heap[0], i = 0;

	c->heap[0] = c->heap[--c->nheap];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < c->nheap && cyc_heap_less(c, l, m))
			m = l;
		if (r < c->nheap && cyc_heap_less(c, r, m))
			m = r;
		if (m == i)
			break;
		cyc_heap_swap(c, i, m);
		i = m;
	}
	c->hosts[top].queued = 0;
	return top;
}

/*
 * The politeness key of a target: the address it resolved to (the first), so that many
 * names on one server share its spacing; the host name when nothing was resolved (behind
 * a proxy).
 */
static const char *
cyc_host_key(const struct cyc_target *t)
{
	if (json_array_size(t->ipv4))
		return json_string_value(json_array_get(t->ipv4, 0));
	if (json_array_size(t->ipv6))
		return json_string_value(json_array_get(t->ipv6, 0));
	return t->host;
}

/* Groups the targets still to probe by host and by origin. */
int
cyc_group(struct cycle *c)
{
	size_t cap = 0;

	/* Sorting would be faster for huge lists; a hash of names keeps it linear. */
	size_t hsize = 1;
	while (hsize < c->nt * 2 + 2)
		hsize <<= 1;
	size_t *slots = malloc(hsize * sizeof(*slots));
	int ret = -1;

	if (slots == NULL)
		goto out;
	for (size_t i = 0; i < hsize; i++)
		slots[i] = SIZE_MAX;
	for (size_t i = 0; i < c->nt; i++) {
		struct cyc_target *t = &c->t[i];
		unsigned long hv = 5381;
		size_t s, hi;
		struct cyc_host *h;

		if (t->skip || t->finished)
			continue;
		const char *hk = cyc_host_key(t);
		for (const char *p = hk; *p; p++)
			hv = hv * 33 + (unsigned char)*p;
		for (s = hv & (hsize - 1); slots[s] != SIZE_MAX; s = (s + 1) & (hsize - 1))
			if (strcmp(c->hosts[slots[s]].name, hk) == 0)
				break;
		if (slots[s] == SIZE_MAX) {
			if (c->nhosts == cap) {
				size_t nc = cap ? cap * 2 : 64;
				struct cyc_host *nh = realloc(c->hosts, nc * sizeof(*nh));
				if (nh == NULL)
					goto out;
				c->hosts = nh;
				cap = nc;
			}
			memset(&c->hosts[c->nhosts], 0, sizeof(c->hosts[0]));
			if ((c->hosts[c->nhosts].name = strdup(hk)) == NULL)
				goto out;
			/* A host asked at the end of the last window still waits its turn. */
			c->hosts[c->nhosts].ready_us = cyc_spacing_get(c, cyc_hash(hk));
			slots[s] = c->nhosts++;
		}
		hi = slots[s];
		h = &c->hosts[hi];
		size_t *nt = realloc(h->targets, (h->ntargets + 1) * sizeof(*nt));
		if (nt == NULL)
			goto out;
		h->targets = nt;
		h->targets[h->ntargets++] = i;
		t->hidx = hi;
		size_t o;
		for (o = 0; o < h->norigins; o++)
			if (strcmp(h->origins[o].origin, t->origin) == 0)
				break;
		if (o == h->norigins) {
			struct cyc_origin *no = realloc(h->origins, (o + 1) * sizeof(*no));
			if (no == NULL)
				goto out;
			h->origins = no;
			memset(&no[o], 0, sizeof(no[o]));
			if ((no[o].origin = strdup(t->origin)) == NULL)
				goto out;
			h->norigins++;
			const struct cyc_rent *e = c->cfg->robots_respect ?
			    cyc_rcache_get(c, t->origin) : NULL;
			if (e != NULL) {
				no[o].state = RB_DONE;
				no[o].status = e->status;
				no[o].error_kind = e->error_kind;
				no[o].cached = e;
				if (e->detail && (no[o].detail = strdup(e->detail)) == NULL)
					goto out;
			}
		}
		t->oidx = o;
	}
	/* Targets of an origin an earlier window fetched are decided now, while its entry
	 * cannot yet be pushed out by this window's fetches. */
	for (size_t i = 0; i < c->nt; i++) {
		struct cyc_target *t = &c->t[i];
		const struct cyc_rent *e;
		struct obs_robots *rules = NULL;
		char rerr[256];

		if (t->skip || t->finished)
			continue;
		e = c->hosts[t->hidx].origins[t->oidx].cached;
		if (e == NULL || e->status <= 0)
			continue;
		if (obs_robots_from_fetch(e->status, e->body, e->blen, t->ua, &rules, rerr,
			sizeof(rerr)) != 0) {
			util_seterr(c->err, c->errlen, "robots.txt of %s: %s", e->origin, rerr);
			free(slots);
			return -1;
		}
		t->robots_allowed = obs_robots_allowed(rules, t->path);
		obs_robots_free(rules);
	}
	for (size_t i = 0; i < c->nhosts; i++)
		for (size_t o = 0; o < c->hosts[i].norigins; o++)
			c->hosts[i].origins[o].cached = NULL;
	/* Filled by the HTTP phase with the hosts that still need a request. */
	c->heap = malloc((c->nhosts + 1) * sizeof(*c->heap));
	if (c->heap == NULL)
		goto out;
	c->nheap = 0;
	ret = 0;
out:
	if (ret != 0)
		util_seterr(c->err, c->errlen, "grouping targets: out of memory");
	free(slots);
	return ret;
}
