/* collect.h - one sample of everything fragscope knows about a target: the
 * tracer's counters, the memory waterfall from /proc, and the diagnosis. Every
 * command (stat, and the ones built on it) reads these. */
#ifndef FS_COLLECT_H
#define FS_COLLECT_H

#include <sys/types.h>
#include "model/state.h"

struct tracer;
struct symbolizer;

/* Sorts evidence by start and clips overlaps (the earlier range keeps its bytes). */
long collect__evidence_norm(struct fs_owned *ev, long n);

/* Reads the sites, keeps the max with the most live (then allocated) bytes,
 * symbolizes them with sym (may be NULL: raw addresses). 0 or -errno. */
int collect__sites(struct fs_state *st, struct tracer *tr, struct symbolizer *sym, int max);
void collect__free(struct fs_state *st);
/* Scales the sites' estimates to the exact totals of the last sample (their
 * shares stay those of the last collect__sites). */
void collect__sites_scale(struct fs_state *st);

/* A sample: counters always; memory figures while the target lives. With deep, also
 * glibc arenas and page occupancy (dumps the live set: costlier). */
int collect__sample(struct fs_state *st, struct tracer *tr, pid_t pid, int alive, int deep,
		    uint64_t occupancy_max_bytes);

#endif
