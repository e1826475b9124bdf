/* sampled.h - `--mode sampled`: what the sampled blocks say. Each block of size s
 * is sampled with probability p = 1 - e^(-s/T) (T: --sample-bytes) and stands for
 * w = s / p bytes (Horvitz-Thompson), so sums of w over the sampled blocks still
 * live estimate the live bytes without bias; the kernel also sums w * (w - s),
 * the unbiased estimate of that estimate's variance. Pure. */
#ifndef FS_SAMPLED_H
#define FS_SAMPLED_H

#include <stdint.h>
#include "model/agg.h"

struct fs_sampled_est {
	uint64_t period;		/* T, bytes */
	uint64_t sampled;		/* blocks sampled since attach */
	uint64_t released;		/* of which released (seen) */
	uint64_t live_samples;		/* sampled blocks live now */
	uint64_t live_sampled_bytes;	/* their requested bytes */
	double live_bytes;		/* estimated live bytes (blocks allocated since attach) */
	double live_stderr;		/* its standard error */
	double live_blocks;		/* estimated live blocks */
	double bytes_allocated;		/* estimated from the samples (the exact count is FS_C_ALLOC_BYTES) */
	uint64_t lost;			/* sampled but not recorded (table full): estimates are low */
	uint64_t stale;			/* a sampled address came back before its release was seen */
	uint64_t stacks_lost;		/* sampled blocks without a stack (in the totals, in no site) */
	double duty;			/* --window: the share of time watched (1: always); the
					 * estimates above are scaled by 1/duty */
};

/* The kernel's tables (bpf/fragscope.h), in 1/65536: q[FS_EXP_STEPS], the
 * conditional means of equal-probability slices of an exponential of mean 1;
 * w[FS_WTAB_STEPS + 1], f(x) = x / (1 - e^-x) every 1/FS_WTAB_SCALE. */
void sampled__tables(volatile uint32_t *q, volatile uint32_t *w);
/* A block's weight as the kernel computes it from those tables. */
uint64_t sampled__weight(const volatile uint32_t *w, uint64_t period, uint64_t size);

/* --window: the allocation probes attached on_ns of every period_ns. */
struct fs_window_stat {
	uint64_t on_ns, period_ns;	/* as asked */
	uint64_t attached_ns;		/* how long they have been attached */
	uint64_t elapsed_ns;		/* since the first attach */
	uint64_t windows;		/* windows opened */
	uint64_t user_on_ns, user_total_ns;	/* the target's user CPU time in windows, in all */
	char error[160];		/* why windows stopped ("" running) */
};

/* The share of the program's calls the windows saw (1 when not windowed): its
 * release calls, which are counted all the time, in windows over all of them (wall
 * time would not do: the traps slow it while watched, so it does more unwatched);
 * with under 1,000 releases, the share of wall time. basis: "free_calls",
 * "wall_time" or NULL (not windowed). */
double sampled__duty(const struct fs_window_stat *w, const struct fs_snapshot *s, const char **basis);

/* duty: sampled__duty() of the windows (1 without). */
void sampled__estimate(const struct fs_snapshot *s, uint64_t period, double duty, struct fs_sampled_est *e);
/* A 95% interval's half width, in the estimate's unit. */
double sampled__ci95(double stderr_);

#endif
