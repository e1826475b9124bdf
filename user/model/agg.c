/* agg.c - sums per-CPU kernel counters into snapshots and derives live figures. */
#include <string.h>
#include "model/agg.h"

struct counters_v { uint64_t c[FS_C__COUNT]; };
struct hists_v { int64_t h[FS_H__COUNT * FS_HIST_BUCKETS]; };

#define STRIDE(t) ((sizeof(t) + 7) & ~(size_t)7)

void agg__add_counters(struct fs_snapshot *s, const void *percpu, int ncpu)
{
	for (int cpu = 0; cpu < ncpu; cpu++) {
		const struct counters_v *v = (const void *)((const char *)percpu + cpu * STRIDE(struct counters_v));

		for (int i = 0; i < FS_C__COUNT; i++)
			s->c[i] += v->c[i];
	}
}

void agg__add_hists(struct fs_snapshot *s, const void *percpu, int ncpu)
{
	for (int cpu = 0; cpu < ncpu; cpu++) {
		const struct hists_v *v = (const void *)((const char *)percpu + cpu * STRIDE(struct hists_v));

		for (int i = 0; i < FS_H__COUNT * FS_HIST_BUCKETS; i++)
			s->h[i / FS_HIST_BUCKETS][i % FS_HIST_BUCKETS] += v->h[i];
	}
}

void agg__add_func(struct fs_snapshot *s, int func, const void *percpu, int ncpu)
{
	if (func < 0 || func >= FS_MAX_FUNCS)
		return;
	for (int cpu = 0; cpu < ncpu; cpu++) {
		const struct fs_func_stat *v = (const void *)((const char *)percpu + cpu * STRIDE(struct fs_func_stat));

		s->f[func].calls += v->calls;
		s->f[func].bytes += v->bytes;
		s->f[func].failed += v->failed;
	}
	if (func >= s->nfuncs)
		s->nfuncs = func + 1;
}

void agg__add_kstats(struct fs_snapshot *s, const void *percpu, int ncpu)
{
	const size_t n = sizeof(struct fs_kstats) / sizeof(uint64_t);
	uint64_t *dst = (uint64_t *)&s->k;

	for (int cpu = 0; cpu < ncpu; cpu++) {
		const uint64_t *v = (const void *)((const char *)percpu + cpu * STRIDE(struct fs_kstats));

		for (size_t i = 0; i < n; i++)
			dst[i] += v[i];
	}
}

uint64_t agg__returned(const struct fs_snapshot *s)
{
	uint64_t r = 0;

	for (int i = 0; i < FS_R__COUNT; i++)
		if (i != FS_R_PROGRAM)	/* the program's own releases are not the allocator's */
			r += s->k.src_resident[i];
	return r;
}

void agg__derive(struct fs_snapshot *s)
{
	/* exact mode's counters, or sampled mode's counts at entry: one of them is 0 */
	s->c[FS_C_ALLOCS] = s->c[FS_C_TRACKED_ALLOCS] + s->c[FS_C_UNTRACKED] + s->c[FS_C_SM_ALLOCS];
	s->c[FS_C_ALLOC_BYTES] = s->c[FS_C_TRACKED_BYTES] + s->c[FS_C_UNTRACKED_BYTES] + s->c[FS_C_SM_ALLOC_BYTES];
	s->c[FS_C_FREES] = s->c[FS_C_TRACKED_FREES] + s->c[FS_C_FREES_UNKNOWN] + s->c[FS_C_SM_FREES];
	s->c[FS_C_FREE_BYTES] = s->c[FS_C_TRACKED_FREE_BYTES];
}

uint64_t agg__live_count(const struct fs_snapshot *s)
{
	return s->c[FS_C_TRACKED_ALLOCS] - s->c[FS_C_TRACKED_FREES] - s->c[FS_C_STALE];
}

uint64_t agg__live_bytes(const struct fs_snapshot *s)
{
	return s->c[FS_C_TRACKED_BYTES] - s->c[FS_C_TRACKED_FREE_BYTES] - s->c[FS_C_STALE_BYTES] +
	       s->c[FS_C_RESIZE_GROW_BYTES] - s->c[FS_C_RESIZE_SHRINK_BYTES];
}

uint64_t agg__live_usable(const struct fs_snapshot *s)
{
	return s->c[FS_C_TRACKED_USABLE] - s->c[FS_C_TRACKED_FREE_USABLE];
}

int agg__usable_exact(const struct fs_snapshot *s)
{
	return agg__lost(s) == 0 && s->c[FS_C_USABLE_UNKNOWN] == 0;
}

uint64_t agg__lost(const struct fs_snapshot *s)
{
	return s->c[FS_C_UNTRACKED] + s->c[FS_C_STALE] + s->c[FS_C_UNMATCHED] + s->prog_misses;
}

void agg__delta(const struct fs_snapshot *a, const struct fs_snapshot *b, struct fs_snapshot *d)
{
	memset(d, 0, sizeof(*d));
	d->mono_ns = b->mono_ns - a->mono_ns;
	for (int i = 0; i < FS_C__COUNT; i++)
		d->c[i] = b->c[i] - a->c[i];
	for (int i = 0; i < FS_H__COUNT; i++)
		for (int k = 0; k < FS_HIST_BUCKETS; k++)
			d->h[i][k] = b->h[i][k] - a->h[i][k];
	d->nfuncs = b->nfuncs;
	for (int i = 0; i < FS_MAX_FUNCS; i++) {
		d->f[i].calls = b->f[i].calls - a->f[i].calls;
		d->f[i].bytes = b->f[i].bytes - a->f[i].bytes;
		d->f[i].failed = b->f[i].failed - a->f[i].failed;
	}
	d->prog_misses = b->prog_misses - a->prog_misses;
	for (size_t i = 0; i < sizeof(d->k) / sizeof(uint64_t); i++)
		((uint64_t *)&d->k)[i] = ((const uint64_t *)&b->k)[i] - ((const uint64_t *)&a->k)[i];
}

uint64_t agg__bucket_max(int b)
{
	if (b <= 0)
		return 0;
	return b >= 64 ? UINT64_MAX : (uint64_t)1 << b;
}

int agg__bucket_of(uint64_t v)
{
	int b = 0;

	while (v) {
		v >>= 1;
		b++;
	}
	return b < FS_HIST_BUCKETS ? b : FS_HIST_BUCKETS - 1;
}

void agg__site_scale_init(struct agg_site_scale *sc, uint64_t est_sum, uint64_t exact, int samples_lost)
{
	sc->est_sum = est_sum;
	sc->exact = exact;
	if (!est_sum)
		sc->rule = AGG_SITES_AS_SAMPLED;
	else if (samples_lost)
		sc->rule = AGG_SITES_CLAMPED;
	else
		sc->rule = AGG_SITES_SCALED;
}

uint64_t agg__site_scaled(const struct agg_site_scale *sc, int64_t est)
{
	uint64_t v = est > 0 ? (uint64_t)est : 0;

	if (sc->rule == AGG_SITES_AS_SAMPLED || (sc->rule == AGG_SITES_CLAMPED && sc->est_sum <= sc->exact))
		return v;
	/* 128 bits: est * exact overflows 64 beyond 4 GiB * 4 GiB; rounding down keeps
	 * the sum of the sites at or below exact */
	return (uint64_t)((unsigned __int128)v * sc->exact / sc->est_sum);
}

double agg__site_factor(const struct agg_site_scale *sc)
{
	if (sc->rule == AGG_SITES_AS_SAMPLED || (sc->rule == AGG_SITES_CLAMPED && sc->est_sum <= sc->exact))
		return 1.0;
	return (double)sc->exact / (double)sc->est_sum;
}

const char *agg__site_rule_name(int rule)
{
	switch (rule) {
	case AGG_SITES_SCALED: return "scaled_to_exact";
	case AGG_SITES_CLAMPED: return "clamped_to_exact";
	default: return "as_sampled";
	}
}
