/* test_agg.c - per-CPU sums as the kernel lays them out (one value per CPU, each
 * rounded up to 8 bytes), live figures, deltas and histogram bounds. */
#include <stdint.h>
#include <stdlib.h>
#include "model/agg.h"
#include "test.h"

#define STRIDE(sz) (((sz) + 7) & ~(size_t)7)

/* ncpu per-CPU copies of counters, CPU k holding (i + 1) * 10^k in counter i. */
static void *fill_counters(int ncpu)
{
	size_t stride = STRIDE(sizeof(uint64_t) * FS_C__COUNT);
	char *buf = calloc((size_t)ncpu, stride);
	uint64_t scale = 1;

	for (int cpu = 0; buf && cpu < ncpu; cpu++, scale *= 10) {
		uint64_t *c = (uint64_t *)(buf + (size_t)cpu * stride);

		for (int i = 0; i < FS_C__COUNT; i++)
			c[i] = (uint64_t)(i + 1) * scale;
	}
	return buf;
}

TEST(agg_counters_2_and_3_cpus)
{
	struct fs_snapshot s;
	void *two = fill_counters(2), *three = fill_counters(3);

	if (!ASSERT_OK_PTR(two, "calloc") || !ASSERT_OK_PTR(three, "calloc"))
		goto cleanup;
	memset(&s, 0, sizeof(s));
	agg__add_counters(&s, two, 2);
	for (int i = 0; i < FS_C__COUNT; i++)
		if (!ASSERT_EQ(s.c[i], (uint64_t)(i + 1) * 11, "2 CPUs: counter sum"))
			break;
	memset(&s, 0, sizeof(s));
	agg__add_counters(&s, three, 3);
	for (int i = 0; i < FS_C__COUNT; i++)
		if (!ASSERT_EQ(s.c[i], (uint64_t)(i + 1) * 111, "3 CPUs: counter sum"))
			break;
	agg__add_counters(&s, two, 2);	/* adds to what is there */
	ASSERT_EQ(s.c[FS_C_ALLOCS], 111 + 11, "second add accumulates");
	ASSERT_EQ(s.c[FS_C__COUNT - 1], (uint64_t)FS_C__COUNT * 122, "last counter");
cleanup:
	free(two);
	free(three);
}

TEST(agg_live_and_lost)
{
	struct fs_snapshot s;

	memset(&s, 0, sizeof(s));
	s.c[FS_C_TRACKED_ALLOCS] = 1000;
	s.c[FS_C_TRACKED_FREES] = 990;
	s.c[FS_C_TRACKED_BYTES] = 64000;
	s.c[FS_C_TRACKED_FREE_BYTES] = 63000;
	s.c[FS_C_ALLOCS] = 5000;	/* not part of the live figures */
	s.c[FS_C_FREES] = 7;
	ASSERT_EQ(agg__live_count(&s), 10, "live count = tracked allocs - tracked frees");
	ASSERT_EQ(agg__live_bytes(&s), 1000, "live bytes = tracked bytes - tracked freed bytes");
	ASSERT_EQ(agg__lost(&s), 0, "nothing lost");

	s.c[FS_C_UNTRACKED] = 3;
	s.c[FS_C_UNTRACKED_BYTES] = 300;	/* bytes are not counts */
	s.c[FS_C_STALE] = 5;
	s.c[FS_C_STALE_BYTES] = 500;
	s.c[FS_C_UNMATCHED] = 7;
	s.c[FS_C_NESTED] = 100;		/* ignored nested calls lose nothing */
	s.c[FS_C_FREES_UNKNOWN] = 1000;	/* frees of blocks from before attach lose nothing */
	s.prog_misses = 11;
	ASSERT_EQ(agg__lost(&s), 3 + 5 + 7 + 11, "lost = untracked + stale + unmatched + prog misses");
}

TEST(agg_hists)
{
	enum { N = FS_H__COUNT * FS_HIST_BUCKETS };
	size_t stride = STRIDE(sizeof(int64_t) * N);
	char *buf = calloc(3, stride);
	struct fs_snapshot s;

	if (!ASSERT_OK_PTR(buf, "calloc"))
		return;
	for (int cpu = 0; cpu < 3; cpu++) {
		int64_t *h = (int64_t *)(buf + (size_t)cpu * stride);

		for (int i = 0; i < N; i++)
			h[i] = i + 1000 * cpu;
		/* live sizes: allocated on CPU 0, freed on CPUs 1 and 2 */
		h[FS_H_LIVE_SIZE * FS_HIST_BUCKETS + 5] = cpu == 0 ? 2 : -1;
	}
	memset(&s, 0, sizeof(s));
	agg__add_hists(&s, buf, 3);
	ASSERT_EQ(s.h[FS_H_ALLOC_SIZE][0], 0 + 1000 + 2000, "alloc_size bucket 0");
	ASSERT_EQ(s.h[FS_H_ALLOC_SIZE][63], 3 * 63 + 3000, "alloc_size bucket 63");
	ASSERT_EQ(s.h[FS_H_LIVE_SIZE][0], 3 * 64 + 3000, "live_size bucket 0");
	ASSERT_EQ(s.h[FS_H_LIVE_SIZE][5], 0, "live_size: +2 -1 -1 across CPUs");
	ASSERT_EQ(s.h[FS_H_LIFETIME_NS][7], 3 * (128 + 7) + 3000, "lifetime bucket 7");
	ASSERT_EQ(s.h[FS_H__COUNT - 1][FS_HIST_BUCKETS - 1], 3 * (N - 1) + 3000, "last bucket");
	free(buf);
}

TEST(agg_funcs)
{
	struct fs_func_stat v[3] = {
		{ .calls = 10, .bytes = 1000, .failed = 1, ._pad = 99 },
		{ .calls = 20, .bytes = 2000, .failed = 0, ._pad = 99 },
		{ .calls = 30, .bytes = 3000, .failed = 2, ._pad = 99 },
	};
	struct fs_snapshot s;

	_Static_assert(sizeof(v[0]) == STRIDE(sizeof(struct fs_func_stat)), "no padding between CPUs");
	memset(&s, 0, sizeof(s));
	agg__add_func(&s, 5, v, 2);
	ASSERT_EQ(s.f[5].calls, 30, "2 CPUs: calls");
	ASSERT_EQ(s.f[5].bytes, 3000, "2 CPUs: bytes");
	ASSERT_EQ(s.f[5].failed, 1, "2 CPUs: failed");
	ASSERT_EQ(s.nfuncs, 6, "nfuncs covers function 5");
	agg__add_func(&s, 2, v, 3);
	ASSERT_EQ(s.f[2].calls, 60, "3 CPUs: calls");
	ASSERT_EQ(s.f[2].bytes, 6000, "3 CPUs: bytes");
	ASSERT_EQ(s.f[2].failed, 3, "3 CPUs: failed");
	ASSERT_EQ(s.nfuncs, 6, "nfuncs does not shrink");
	agg__add_func(&s, -1, v, 3);
	agg__add_func(&s, FS_MAX_FUNCS, v, 3);
	ASSERT_EQ(s.nfuncs, 6, "out-of-range functions ignored");
	agg__add_func(&s, FS_MAX_FUNCS - 1, v, 1);
	ASSERT_EQ(s.nfuncs, FS_MAX_FUNCS, "last function");
	ASSERT_EQ(s.f[FS_MAX_FUNCS - 1].calls, 10, "last function: calls");
}

TEST(agg_delta)
{
	static struct fs_snapshot a, b, d;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.mono_ns = 1000000000;
	b.mono_ns = 3500000000;
	for (int i = 0; i < FS_C__COUNT; i++) {
		a.c[i] = (uint64_t)i * 10;
		b.c[i] = (uint64_t)i * 25 + 1;
	}
	a.h[FS_H_LIVE_SIZE][4] = 7;
	b.h[FS_H_LIVE_SIZE][4] = 3;	/* live blocks can go away */
	a.h[FS_H_ALLOC_SIZE][12] = 100;
	b.h[FS_H_ALLOC_SIZE][12] = 250;
	a.f[3] = (struct fs_func_stat){ .calls = 5, .bytes = 50, .failed = 1 };
	b.f[3] = (struct fs_func_stat){ .calls = 9, .bytes = 90, .failed = 4 };
	a.nfuncs = 4;
	b.nfuncs = 6;
	a.prog_misses = 2;
	b.prog_misses = 9;
	memset(&d, 0xff, sizeof(d));	/* everything must be written */
	agg__delta(&a, &b, &d);
	ASSERT_EQ(d.mono_ns, 2500000000, "interval");
	for (int i = 0; i < FS_C__COUNT; i++)
		if (!ASSERT_EQ(d.c[i], (uint64_t)i * 15 + 1, "counter delta"))
			break;
	ASSERT_EQ(d.h[FS_H_LIVE_SIZE][4], -4, "live histogram delta is signed");
	ASSERT_EQ(d.h[FS_H_ALLOC_SIZE][12], 150, "histogram delta");
	ASSERT_EQ(d.h[FS_H_LIFETIME_NS][0], 0, "untouched bucket");
	ASSERT_EQ(d.f[3].calls, 4, "function calls delta");
	ASSERT_EQ(d.f[3].bytes, 40, "function bytes delta");
	ASSERT_EQ(d.f[3].failed, 3, "function failed delta");
	ASSERT_EQ(d.f[0].calls, 0, "untouched function");
	ASSERT_EQ(d.nfuncs, 6, "nfuncs of the later snapshot");
	ASSERT_EQ(d.prog_misses, 7, "prog_misses delta");
}

TEST(agg_bucket_max)
{
	ASSERT_EQ(agg__bucket_max(0), 0, "bucket 0 holds only 0");
	ASSERT_EQ(agg__bucket_max(1), 2, "bucket 1 holds 1");
	ASSERT_EQ(agg__bucket_max(2), 4, "bucket 2 holds 2..3");
	ASSERT_EQ(agg__bucket_max(10), 1024, "bucket 10");
	ASSERT_EQ(agg__bucket_max(63), (uint64_t)1 << 63, "bucket 63");
	ASSERT_EQ(agg__bucket_max(64), UINT64_MAX, "past the last bucket");
	ASSERT_EQ(agg__bucket_max(-1), 0, "negative bucket");
}

/* The case a user met in top: 11 samples of 512 KiB (5.5 MiB of sites) under
 * 3.3 MiB live. Scaled, the sites keep their shares (6:5) and sum to the exact
 * total, never above it. */
TEST(agg_sites_scaled_to_exact_live)
{
	struct agg_site_scale sc;
	uint64_t a, b;

	agg__site_scale_init(&sc, 11 * 524288, 3460300, 0);
	ASSERT_EQ(sc.rule, AGG_SITES_SCALED, "rule");
	a = agg__site_scaled(&sc, 6 * 524288);
	b = agg__site_scaled(&sc, 5 * 524288);
	ASSERT_EQ(a, 1887436, "site of 6 samples: 3 MiB * 3460300 / 5.5 MiB, rounded down");
	ASSERT_EQ(b, 1572863, "site of 5 samples");
	ASSERT_TRUE(a + b <= 3460300 && a + b >= 3460300 - 2, "the sites sum to the exact total (rounding down)");
	ASSERT_EQ(agg__site_scaled(&sc, -524288), 0, "a negative estimate counts as nothing");
	ASSERT_TRUE(agg__site_factor(&sc) > 0.59 && agg__site_factor(&sc) < 0.61, "factor 0.6");
	ASSERT_STREQ(agg__site_rule_name(sc.rule), "scaled_to_exact", "name");

	/* fewer sampled bytes than live: scaled up to the exact total as well */
	agg__site_scale_init(&sc, 2 * 524288, 2516582, 0);
	ASSERT_EQ(agg__site_scaled(&sc, 524288), 1258291, "half of the exact total");

	/* nothing sampled: nothing to scale */
	agg__site_scale_init(&sc, 0, 3460300, 0);
	ASSERT_EQ(sc.rule, AGG_SITES_AS_SAMPLED, "no samples");
	ASSERT_EQ(agg__site_scaled(&sc, 0), 0, "zero stays zero");

	/* 4 GiB sites of 5 GiB estimated against 3 GiB exact: no 64-bit overflow */
	agg__site_scale_init(&sc, 5ull << 30, 3ull << 30, 0);
	ASSERT_EQ(agg__site_scaled(&sc, 4ll << 30), (12ull << 30) / 5, "128-bit product");
}

/* Samples lost (stacks not stored): the sites seen cover only part of the bytes,
 * so they are never scaled up, only down to the exact total. */
TEST(agg_sites_clamped_when_samples_lost)
{
	struct agg_site_scale sc;

	agg__site_scale_init(&sc, 2 * 524288, 2516582, 1);
	ASSERT_EQ(sc.rule, AGG_SITES_CLAMPED, "rule");
	ASSERT_EQ(agg__site_scaled(&sc, 524288), 524288, "below the total: as sampled");
	ASSERT_TRUE(agg__site_factor(&sc) == 1.0, "factor 1");
	agg__site_scale_init(&sc, 11 * 524288, 3460300, 1);
	ASSERT_EQ(agg__site_scaled(&sc, 6 * 524288) + agg__site_scaled(&sc, 5 * 524288), 3460299,
		  "above the total: scaled down to it");
}
