/* sampled.c - sampled mode's estimates from the kernel's sums (model/sampled.h). */
#include <math.h>
#include <string.h>
#include "model/sampled.h"

/* Slice i holds u in (i/N, (i+1)/N) of -ln u, whose integral there is
 * [u - u ln u] between the ends: the slices' means average exactly 1. */
void sampled__tables(volatile uint32_t *q, volatile uint32_t *w)
{
	const double n = FS_EXP_STEPS;

	for (int i = 0; i < FS_EXP_STEPS; i++) {
		double a = i / n, b = (i + 1) / n;
		double fa = i ? a - a * log(a) : 0, fb = b - b * log(b);

		q[i] = (uint32_t)llround(n * (fb - fa) * 65536.0);
	}
	w[0] = 65536;
	for (int i = 1; i <= FS_WTAB_STEPS; i++) {
		double x = (double)i / FS_WTAB_SCALE;

		w[i] = (uint32_t)llround(x / -expm1(-x) * 65536.0);
	}
}

/* The same arithmetic as sm_weight() in bpf/fragscope.bpf.c. */
uint64_t sampled__weight(const volatile uint32_t *w, uint64_t period, uint64_t size)
{
	uint64_t x, i, fr;

	if (period <= 1 || size >= period * FS_WTAB_SCALE)
		return size;
	x = (size << 16) / period;
	i = x >> 12;
	fr = x & 4095;
	if (i >= FS_WTAB_STEPS)
		return size;
	return (period * (w[i] + (((uint64_t)(w[i + 1] - w[i]) * fr) >> 12))) >> 16;
}

void sampled__estimate(const struct fs_snapshot *s, uint64_t period, double duty, struct fs_sampled_est *e)
{
	/* sums of signed per-CPU deltas: two's complement, read as signed */
	int64_t w = (int64_t)s->c[FS_C_SM_LIVE_W], var = (int64_t)s->c[FS_C_SM_LIVE_VAR];
	int64_t q = (int64_t)s->c[FS_C_SM_LIVE_BLOCKS_Q16], n = (int64_t)s->c[FS_C_SM_LIVE_N];
	int64_t sz = (int64_t)s->c[FS_C_SM_LIVE_SIZE];

	memset(e, 0, sizeof(*e));
	e->period = period;
	e->sampled = s->c[FS_C_SM_SAMPLED];
	e->released = s->c[FS_C_SM_RELEASED];
	e->live_samples = n > 0 ? (uint64_t)n : 0;
	e->live_sampled_bytes = sz > 0 ? (uint64_t)sz : 0;
	e->live_bytes = w > 0 ? (double)w : 0;
	e->live_stderr = var > 0 ? sqrt((double)var) : 0;
	e->live_blocks = q > 0 ? (double)q / 65536.0 : 0;
	e->bytes_allocated = (double)s->c[FS_C_SM_ALLOC_W];
	e->lost = s->c[FS_C_SM_LOST];
	e->stale = s->c[FS_C_SM_STALE];
	e->stacks_lost = s->c[FS_C_STACKS_LOST];
	/* windows: blocks allocated while unwatched are represented by those watched */
	e->duty = duty > 0 && duty < 1 ? duty : 1;
	e->live_bytes /= e->duty;
	e->live_stderr /= e->duty;
	e->live_blocks /= e->duty;
	e->bytes_allocated /= e->duty;
}

double sampled__ci95(double stderr_)
{
	return 1.96 * stderr_;
}

double sampled__duty(const struct fs_window_stat *w, const struct fs_snapshot *s, const char **basis)
{
	uint64_t all = s->c[FS_C_SM_FREE_CALLS], in = s->c[FS_C_SM_FREE_CALLS_WIN];

	if (basis)
		*basis = NULL;
	if (!w->period_ns || !w->elapsed_ns || !w->attached_ns)
		return 1;
	if (all >= 1000) {
		if (basis)
			*basis = "free_calls";
		return in >= all ? 1 : in ? (double)in / (double)all : 1.0 / (double)all;
	}
	if (basis)
		*basis = "wall_time";
	return w->attached_ns >= w->elapsed_ns ? 1 : (double)w->attached_ns / (double)w->elapsed_ns;
}
