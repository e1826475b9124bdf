/* light.h - `--mode light`: no probe on the allocator's functions, so no call is
 * counted. What stands in for the counts: glibc's heap census (alloc/census), run
 * at deep samples within a budget of wall time, gives the bytes in use ("live",
 * chunk bytes, marked as from the census) and each arena's share. Pure. */
#ifndef FS_LIGHT_H
#define FS_LIGHT_H

#include <stdint.h>
#include "alloc/census.h"
#include "model/memmodel.h"

/* The census may take at most this share of wall time, in percent (its walk reads
 * the target's memory from outside: the target is never stopped, but the walk
 * costs a CPU and memory bandwidth). */
#define FS_LIGHT_CENSUS_PCT 1

/* The last census, as light mode keeps it. */
struct fs_light_census {
	int valid;		/* a census has completed */
	int approximate;	/* it met a chunk that did not add up (the heap changed meanwhile) */
	uint64_t in_use;	/* chunk bytes in use, headers included; mmapped chunks too */
	uint64_t chunks;	/* chunks in use (mmapped ones included) */
	uint64_t free, free_resident;	/* free chunk bytes; resident pages malloc_trim(0) would release */
	uint64_t mmapped_bytes, mm_chunks;	/* mmapped chunks found, and their bytes */
	int mm_known;		/* glibc's own count of mmapped chunks was read */
	uint64_t mm_unaccounted_chunks, mm_unaccounted_bytes;	/* in it, not found: not in in_use */
	int narenas;
	uint64_t ar_ptr[FS_CENSUS_MAX_ARENAS];	/* each arena's in-use chunk bytes and chunks */
	int ar_main[FS_CENSUS_MAX_ARENAS];
	uint64_t ar_in_use[FS_CENSUS_MAX_ARENAS], ar_chunks[FS_CENSUS_MAX_ARENAS];
	uint64_t end_ns;	/* monotonic time the last walk ended */
	uint64_t walk_ns;	/* how long it took */
	uint64_t bytes_read;	/* of the target's memory, by that walk */
	uint64_t heap_bytes;	/* arena heaps walked (their size) */
	uint64_t walks, skipped;	/* walks done; deep samples that found the budget spent */
	uint64_t walk_ns_total, heap_bytes_total;	/* over every walk */
};

/* Whether a census may run now: the first one, the last sample, or once the time
 * since the last walk ended is at least 100/pct times what that walk took. */
int light__census_due(const struct fs_light_census *lc, uint64_t now_ns, unsigned pct, int final);

/* Keeps a completed census's figures (walk_ns: how long it took; ended at now_ns). */
void light__keep(struct fs_light_census *lc, const struct fs_census *c, uint64_t walk_ns, uint64_t now_ns);

/* The waterfall's live bytes, the arenas' live figures and what malloc_trim would
 * release, from the last census, with its age at now_ns (none: live stays 0 and
 * is said to be unknown). */
void light__apply(const struct fs_light_census *lc, uint64_t now_ns, struct fs_memory *m);

/* Nanoseconds per GiB of heap walked, over every walk; 0 when not known: no walk
 * yet, or under FS_LIGHT_GIB_MIN bytes of heaps walked in all, where the walk's
 * fixed costs (the maps, the arenas, the search for mmapped chunks) would pass
 * for a cost per byte. */
#define FS_LIGHT_GIB_MIN (64ull << 20)
double light__ns_per_gib(const struct fs_light_census *lc);

#endif
