/* Host spacing across windows: for each host still inside its spacing, the time its next
 * request may start (an open-addressed table of hashes and times). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "observer/obs_int.h"
#include "util/util.h"

int64_t
cyc_spacing_get(const struct cycle *c, uint64_t hv)
{
	if (c->spacing_cap == 0)
		return 0;
	for (size_t i = hv & (c->spacing_cap - 1);; i = (i + 1) & (c->spacing_cap - 1)) {
		if (c->spacing[i].hv == hv)
			return c->spacing[i].ready_us;
		if (c->spacing[i].hv == 0)
			return 0;
	}
}

static void
cyc_spacing_insert(struct cyc_slot *tab, size_t cap, uint64_t hv, int64_t ready_us,
    size_t *n)
{
	size_t i;

	for (i = hv & (cap - 1); tab[i].hv != 0 && tab[i].hv != hv; i = (i + 1) & (cap - 1))
		;
	if (tab[i].hv == 0)
		(*n)++;
	tab[i].hv = hv;
	tab[i].ready_us = ready_us;
}

/*
 * Remembers that host hv may not be asked again before ready_us. When the table fills,
 * it is rebuilt without the hosts whose time has passed, so its size follows the hosts
 * asked within the last host_spacing, not the cycle. Returns 0, or -1 out of memory.
 */
int
cyc_spacing_set(struct cycle *c, uint64_t hv, int64_t ready_us, int64_t now_us)
{
	if (c->spacing_cap == 0 || (c->nspacing + 1) * 2 > c->spacing_cap) {
		size_t live = 0, cap = 64, n = 0;
		struct cyc_slot *tab;

		for (size_t i = 0; i < c->spacing_cap; i++)
			if (c->spacing[i].hv != 0 && c->spacing[i].ready_us > now_us)
				live++;
		while (cap < (live + 1) * 4)
			cap <<= 1;
		tab = calloc(cap, sizeof(*tab));
		if (tab == NULL)
			return -1;
		for (size_t i = 0; i < c->spacing_cap; i++)
			if (c->spacing[i].hv != 0 && c->spacing[i].ready_us > now_us)
				cyc_spacing_insert(tab, cap, c->spacing[i].hv, c->spacing[i].ready_us,
				    &n);
		free(c->spacing);
		c->spacing = tab;
		c->spacing_cap = cap;
		c->nspacing = n;
	}
	cyc_spacing_insert(c->spacing, c->spacing_cap, hv, ready_us, &c->nspacing);
	return 0;
}
