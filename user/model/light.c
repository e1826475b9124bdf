/* light.c - what light mode's heap census stands for (see light.h). */
#include <string.h>
#include "model/light.h"

int light__census_due(const struct fs_light_census *lc, uint64_t now_ns, unsigned pct, int final)
{
	uint64_t since;

	if (!lc->walks || final)
		return 1;
	if (!pct)
		return 0;
	since = now_ns > lc->end_ns ? now_ns - lc->end_ns : 0;
	/* walk / (walk + since) <= pct%  <=>  since * pct >= walk * (100 - pct) */
	return (double)since * pct >= (double)lc->walk_ns * (100 - (pct < 100 ? pct : 100));
}

void light__keep(struct fs_light_census *lc, const struct fs_census *c, uint64_t walk_ns, uint64_t now_ns)
{
	lc->valid = 1;
	lc->approximate = c->approximate;
	lc->in_use = c->in_use;
	lc->free = c->free;
	lc->free_resident = c->free_resident;
	lc->mmapped_bytes = c->mmapped_bytes;
	lc->mm_chunks = c->mmapped_chunks;
	lc->mm_known = c->mp_valid;
	lc->mm_unaccounted_chunks = c->mm_unaccounted_chunks;
	lc->mm_unaccounted_bytes = c->mm_unaccounted_bytes;
	lc->chunks = c->mmapped_chunks;
	lc->heap_bytes = 0;
	lc->narenas = c->narenas < FS_CENSUS_MAX_ARENAS ? c->narenas : FS_CENSUS_MAX_ARENAS;
	for (int i = 0; i < lc->narenas; i++) {
		lc->ar_ptr[i] = c->arenas[i].ar_ptr;
		lc->ar_main[i] = c->arenas[i].main;
		lc->ar_in_use[i] = c->arenas[i].in_use;
		lc->ar_chunks[i] = c->arenas[i].chunks_in_use;
		lc->chunks += c->arenas[i].chunks_in_use;
		lc->heap_bytes += c->arenas[i].size;
	}
	lc->bytes_read = c->bytes_read;
	lc->walk_ns = walk_ns;
	lc->end_ns = now_ns;
	lc->walks++;
	lc->walk_ns_total += walk_ns;
	lc->heap_bytes_total += lc->heap_bytes;
}

void light__apply(const struct fs_light_census *lc, uint64_t now_ns, struct fs_memory *m)
{
	m->light = 1;
	m->live = 0;
	if (!lc->valid)
		return;
	m->light_census = 1;
	m->light_trim = lc->free_resident;
	m->light_age_ns = now_ns > lc->end_ns ? now_ns - lc->end_ns : 0;
	m->live = lc->in_use;
	for (int k = 0; k < m->narenas; k++) {
		struct fs_arena *a = &m->arenas[k];

		a->live = a->live_blocks = 0;
		for (int i = 0; i < lc->narenas; i++)
			if (a->main ? lc->ar_main[i] : (!lc->ar_main[i] && lc->ar_ptr[i] == a->ar_ptr)) {
				a->live = lc->ar_in_use[i];
				a->live_blocks = lc->ar_chunks[i];
				break;
			}
	}
}

double light__ns_per_gib(const struct fs_light_census *lc)
{
	if (lc->heap_bytes_total < FS_LIGHT_GIB_MIN)
		return 0;
	return (double)lc->walk_ns_total / ((double)lc->heap_bytes_total / (1ull << 30));
}
