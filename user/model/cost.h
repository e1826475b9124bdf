/* cost.h - what the probes cost the traced program. Every probe hit is a trap; an
 * entry probe on an instruction the kernel emulates costs far less than one the
 * kernel must single-step (~13x on the VMs PROBING.md measured), and a return
 * probe adds a second trap. From the plan (where each probe sits) and the counts
 * (how often each function ran), an estimate of the CPU time the probes add to the
 * target. Pure: no libbpf, no root. */
#ifndef FS_COST_H
#define FS_COST_H

#include <stddef.h>
#include <stdint.h>
#include "model/agg.h"
#include "plan/resolve.h"

/* ns per hit of each kind of trap, with where the figures come from. */
struct fs_cost_rates {
	double emulated_ns;	/* entry probe on an emulated instruction */
	double stepped_ns;	/* entry probe on a single-stepped instruction */
	double return_ns;	/* what a return probe adds to its entry's trap */
	int measured;		/* 1: measured on this machine by fragscope; 0: constants */
	char basis[160];	/* one phrase for the output */
};

/* The constants PROBING.md measured on a 2-vCPU AMD EPYC VM (kernel 6.18, empty
 * programs): emulated 700 ns, single-stepped 9,300 ns, return +500 ns. */
void cost__default_rates(struct fs_cost_rates *r);

/* How many probes of each kind a plan has. */
struct fs_cost_kinds {
	int funcs;		/* allocator functions probed */
	int emulated;		/* of which at an emulated instruction */
	int stepped;		/* at a single-stepped one */
	int returns;		/* with a return probe as well */
	int sampled;		/* --mode sampled: those returns run for sampled calls only */
	int sys;		/* memory-syscall wrappers probed (entry + return) */
	int sys_stepped;
};
void cost__kinds(const struct fs_plan *plan, int sys_uprobes, struct fs_cost_kinds *k);

/* A function whose calls are frequent in most programs: the C API (malloc, free,
 * calloc, realloc), jemalloc's mallocx/rallocx/dallocx/sdallocx and the plain and
 * sized C++ operators new/delete; name with its prefix (je_, _rjem_) stripped. */
int cost__hot(const char *name, const char *prefix);

/* ns one call of probe p costs: its entry trap, plus the return trap of the
 * functions that have one (every kind but releases). */
double cost__call_ns(const struct fs_probe *p, const struct fs_cost_rates *r);

struct fs_cost_est {
	uint64_t calls;		/* counted calls of the probed functions (and wrappers) */
	uint64_t other_hits;	/* hits not counted as a function's call: nested calls and
				 * the allocator's internal releases, costed at the mean */
	double seconds;
	double calls_per_s;	/* (calls + other_hits) / seconds */
	double busy_ns;		/* estimated trap time over the interval */
	double cpu_fraction;	/* busy_ns / interval: CPUs' worth the probes take */
	double mean_ns;		/* per hit */
};

/* The estimate over an interval of seconds in which the counters in s accrued
 * (a total since attach, or one interval's delta). sys_uprobes: the memory-syscall
 * wrappers were probed (their calls count). 0, or -EINVAL for no interval. */
int cost__estimate(const struct fs_plan *plan, const struct fs_snapshot *s, int sys_uprobes, double seconds,
		   const struct fs_cost_rates *r, struct fs_cost_est *e);

/* The attach report: one line of kinds and costs per call (no newline). */
void cost__kinds_line(const struct fs_cost_kinds *k, const struct fs_cost_rates *r, char *buf, size_t len);
/* The warning for probe p when it is a hot function single-stepped: 1 and buf
 * filled, else 0. */
int cost__stepped_warning(const struct fs_plan *plan, const struct fs_probe *p, const struct fs_cost_rates *r,
			  char *buf, size_t len);
/* "probes cost the target about 3.2% of a CPU (estimate: 41,000 calls/s x trap cost
 * measured here ...)" (no newline). */
void cost__line(const struct fs_cost_est *e, const struct fs_cost_rates *r, char *buf, size_t len);
/* "3.2%", "<0.1%" */
const char *cost__percent(double fraction, char *buf, size_t len);

#endif
