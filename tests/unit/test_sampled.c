/* test_sampled.c - `--mode sampled`: the kernel's tables (exponential intervals
 * whose mean is the period, weights size / P(sampled)), the estimates from the
 * kernel's sums (signed per-CPU deltas), and the windows' duty. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "model/sampled.h"
#include "test.h"

static uint32_t q[FS_EXP_STEPS], w[FS_WTAB_STEPS + 1];

TEST(sampled_tables)
{
	double sum = 0;

	sampled__tables(q, w);
	for (int i = 0; i < FS_EXP_STEPS; i++) {
		sum += q[i];
		if (i)
			ASSERT_TRUE(q[i] < q[i - 1], "slices nearer u = 1 have shorter intervals");
	}
	/* the intervals' mean is the period: within rounding (half a unit a slice) */
	ASSERT_TRUE(fabs(sum / FS_EXP_STEPS - 65536.0) < 1.0, "mean of the slices is 1");
	/* the first slice's conditional mean: 1 + ln(1024) */
	ASSERT_TRUE(fabs(q[0] / 65536.0 - (1 + log(1024.0))) < 1e-4, "first slice");
	ASSERT_EQ(w[0], 65536u, "f(0) = 1");
	for (int i = 1; i <= FS_WTAB_STEPS; i++)
		ASSERT_TRUE(w[i] > w[i - 1], "f increases");
	ASSERT_TRUE(fabs(w[16] / 65536.0 - 1 / (1 - exp(-1.0))) < 1e-4, "f(1) = 1 / (1 - 1/e)");
}

TEST(sampled_weights)
{
	const uint64_t T = 524288;

	sampled__tables(q, w);
	/* w(s) = s / (1 - e^(-s/T)), from the table with linear steps of 1/16 */
	for (uint64_t s = 1; s < 16 * T; s = s * 3 + 7) {
		double want = (double)s / -expm1(-(double)s / (double)T);
		double got = (double)sampled__weight(w, T, s);

		ASSERT_TRUE(fabs(got - want) / want < 2e-4, "weight within 0.02% of s / (1 - e^(-s/T))");
	}
	ASSERT_EQ(sampled__weight(w, T, 16 * T), 16 * T, "from 16 T on: certain, weight = size");
	ASSERT_EQ(sampled__weight(w, T, 1ULL << 40), 1ULL << 40, "huge");
	ASSERT_EQ(sampled__weight(w, 1, 100), 100u, "period 1: every block, weight = size");
	/* a tiny block stands for about the period */
	ASSERT_TRUE(llabs((long long)sampled__weight(w, T, 16) - (long long)T) < 16, "w(16) ~ T + 8");
}

TEST(sampled_estimate)
{
	struct fs_snapshot s;
	struct fs_sampled_est e;

	memset(&s, 0, sizeof(s));
	/* two CPUs' sums: one allocated, the other released (a negative delta) */
	s.c[FS_C_SM_LIVE_W] = 3000000 + (uint64_t)-1000000;
	s.c[FS_C_SM_LIVE_VAR] = 4000000000000ULL;
	s.c[FS_C_SM_LIVE_BLOCKS_Q16] = 10 * 65536;
	s.c[FS_C_SM_LIVE_N] = 5;
	s.c[FS_C_SM_SAMPLED] = 9;
	s.c[FS_C_SM_RELEASED] = 4;
	sampled__estimate(&s, 524288, 1, &e);
	ASSERT_TRUE(e.live_bytes == 2000000, "live: the signed sum");
	ASSERT_TRUE(fabs(e.live_stderr - 2000000) < 1, "stderr: root of the variance sum");
	ASSERT_TRUE(e.live_blocks == 10, "blocks: the sum of w / size");
	ASSERT_EQ(e.live_samples, 5u, "samples live");
	/* a window watching a quarter of the calls: everything four times */
	sampled__estimate(&s, 524288, 0.25, &e);
	ASSERT_TRUE(e.live_bytes == 8000000 && e.live_blocks == 40 && fabs(e.live_stderr - 8000000) < 1, "scaled");
	/* more released than allocated (sums met mid-update): never negative */
	s.c[FS_C_SM_LIVE_W] = (uint64_t)-5;
	sampled__estimate(&s, 524288, 1, &e);
	ASSERT_TRUE(e.live_bytes == 0, "clamped at 0");
}

TEST(sampled_duty)
{
	struct fs_window_stat ws;
	struct fs_snapshot s;
	const char *basis;

	memset(&ws, 0, sizeof(ws));
	memset(&s, 0, sizeof(s));
	ASSERT_TRUE(sampled__duty(&ws, &s, &basis) == 1 && !basis, "not windowed: 1");
	ws.on_ns = 1000000000;
	ws.period_ns = 4000000000;
	ws.attached_ns = 2000000000;
	ws.elapsed_ns = 8000000000;
	ASSERT_TRUE(sampled__duty(&ws, &s, &basis) == 0.25 && !strcmp(basis, "wall_time"), "few releases: wall time");
	/* the program ran faster unwatched: it made 9 in 10 of its releases then */
	s.c[FS_C_SM_FREE_CALLS] = 100000;
	s.c[FS_C_SM_FREE_CALLS_WIN] = 10000;
	ASSERT_TRUE(sampled__duty(&ws, &s, &basis) == 0.1 && !strcmp(basis, "free_calls"), "release calls");
}
