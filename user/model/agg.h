/* agg.h - the one snapshot every command reads: counters, histograms and
 * per-function figures summed over CPUs, plus what is derived from them. Pure. */
#ifndef FS_AGG_H
#define FS_AGG_H

#include <stddef.h>
#include <stdint.h>
#include "bpf/fragscope.h"

struct fs_snapshot {
	uint64_t mono_ns;		/* CLOCK_MONOTONIC when read */
	uint64_t c[FS_C__COUNT];	/* enum fs_counter */
	int64_t h[FS_H__COUNT][FS_HIST_BUCKETS];
	struct fs_func_stat f[FS_MAX_FUNCS];
	int nfuncs;
	uint64_t prog_misses;		/* program runs the kernel skipped (recursion) */
	struct fs_kstats k;		/* memory syscalls, releases, faults */
};

/* Per-CPU values as the kernel returns them: ncpu copies of elem bytes, each
 * rounded up to 8. Adds them into the snapshot. */
void agg__add_counters(struct fs_snapshot *s, const void *percpu, int ncpu);
void agg__add_hists(struct fs_snapshot *s, const void *percpu, int ncpu);
void agg__add_kstats(struct fs_snapshot *s, const void *percpu, int ncpu);
void agg__add_func(struct fs_snapshot *s, int func, const void *percpu, int ncpu);

/* Fills the counters the kernel leaves to user space (allocs, frees and their
 * bytes) from the tracked, untracked and unknown ones. Call once per snapshot. */
void agg__derive(struct fs_snapshot *s);
uint64_t agg__live_count(const struct fs_snapshot *s);
uint64_t agg__live_bytes(const struct fs_snapshot *s);
/* What the live blocks really take, as malloc_usable_size reports it (glibc's
 * chunk sizes, jemalloc's size classes); exact when agg__usable_exact. */
uint64_t agg__live_usable(const struct fs_snapshot *s);
int agg__usable_exact(const struct fs_snapshot *s);
/* Counts that make live figures a bound rather than exact. */
uint64_t agg__lost(const struct fs_snapshot *s);
/* Resident bytes given back so far, all sources. */
uint64_t agg__returned(const struct fs_snapshot *s);
/* b - a, counter by counter (rates over an interval). */
void agg__delta(const struct fs_snapshot *a, const struct fs_snapshot *b, struct fs_snapshot *d);
/* The bucket of a value, as the kernel computes it. */
int agg__bucket_of(uint64_t v);
/* Upper bound of histogram bucket b (values in bucket b are < this); 0 for bucket 0. */
uint64_t agg__bucket_max(int b);

/* Sampled allocation sites against the exact totals they estimate. Each sample
 * stands for about one sampling period of bytes, so a handful of samples can add
 * up to more than the counters say (5.5 MiB of sites under 3.3 MiB live). The
 * samples are kept for what they measure well, each site's share, and the exact
 * total gives the size: a site's figure is est * exact / est_sum (a ratio
 * estimator), rounded down, so the sites never sum to more than exact. When
 * samples were lost (their stacks could not be stored), the sites seen do not
 * cover every byte: their estimates are then only ever scaled down (clamped). */
enum agg_site_rule {
	AGG_SITES_AS_SAMPLED = 0,	/* nothing to scale (no sampled bytes) */
	AGG_SITES_SCALED,		/* scaled to the exact total */
	AGG_SITES_CLAMPED,		/* scaled down to the exact total (samples were lost) */
};
struct agg_site_scale {
	uint64_t est_sum;	/* the sites' estimates summed, as sampled */
	uint64_t exact;		/* the exact total they estimate */
	int rule;		/* enum agg_site_rule */
};
void agg__site_scale_init(struct agg_site_scale *sc, uint64_t est_sum, uint64_t exact, int samples_lost);
/* A site's estimate, scaled by the rule (negative estimates count as 0). */
uint64_t agg__site_scaled(const struct agg_site_scale *sc, int64_t est);
/* The factor applied (1 when as sampled or not scaled down). */
double agg__site_factor(const struct agg_site_scale *sc);
const char *agg__site_rule_name(int rule);

#endif
