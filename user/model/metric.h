/* metric.h - the metric vocabulary, once: every figure a snapshot row holds, with
 * its JSON key, unit, text label, whether it is exact, and its session column; and
 * the names of the enums every output spells (syscalls, advice, release sources,
 * mapping owners, region kinds, histograms). Text, JSON, CSV, sessions and HTML
 * read these tables; an exporter loops over fs_metrics. Pure. */
#ifndef FS_METRIC_H
#define FS_METRIC_H

#include <stddef.h>
#include <stdint.h>
#include "bpf/fragscope.h"
#include "model/agg.h"
#include "model/memmodel.h"
#include "model/sampled.h"

enum fs_unit {
	FS_UNIT_COUNT = 0,	/* events or blocks */
	FS_UNIT_BYTES,
	FS_UNIT_PER_S,		/* events per second */
	FS_UNIT_BYTES_PER_S,
	FS_UNIT_RATIO,		/* 0..1 */
	FS_UNIT_BOOL,		/* 0 or 1 */
	FS_UNIT_ENUM,		/* an enum's value (memmodel__basis_name, ...) */
	FS_UNIT__COUNT,
};
extern const char *const fs_unit_names[FS_UNIT__COUNT];	/* "count", "bytes", "1/s", ... */

/* Which set of session columns a metric belongs to (report --csv SERIES). */
enum fs_metric_group { SG_TIME = 1, SG_COUNTERS = 2, SG_RATES = 4, SG_MEMORY = 8, SG_RELEASES = 16 };

/* Everything a metric is read from at one moment. */
struct fs_metric_src {
	const struct fs_snapshot *sn;
	const struct fs_memory *m;	/* zeroes when memory was not read */
	const struct fs_snapshot *d;	/* sn minus the previous sample (rates) */
	double dt;			/* seconds between the two */
	int deep;			/* arenas, pages and sites were sampled too */
	uint64_t peak_live, peak_resident;
	uint32_t max_live;		/* the live map's capacity */
	const struct fs_sampled_est *sm;	/* --mode sampled: the estimates (NULL otherwise) */
	int duty_basis;			/* --window: enum fs_duty_basis */
};

/* Where a metric's value is: a uint64_t at off in the snapshot (counters, kstats),
 * in the memory figures, or in the delta (divided by dt: a rate); or get()/getd(). */
enum fs_metric_from { FS_MF_GET = 0, FS_MF_SNAP, FS_MF_MEM, FS_MF_RATE };

struct fs_metric {
	const char *column;	/* session column (snapshots table); NULL: not stored (JSON only) */
	const char *json;	/* where `stat --json` has it ("totals.allocs"), NULL: not there */
	const char *label;	/* what a text view calls it */
	int unit;		/* enum fs_unit */
	int exact;		/* 1 counted, 0 estimated (bounds, models, sampled) */
	int group;		/* enum fs_metric_group */
	int real;		/* stored as REAL (otherwise INTEGER) */
	int from;		/* enum fs_metric_from */
	size_t off;
	uint64_t (*get)(const struct fs_metric_src *s);	/* FS_MF_GET, integer metrics */
	double (*getd)(const struct fs_metric_src *s);	/* FS_MF_GET, real metrics */
};

extern const struct fs_metric fs_metrics[];
extern const int fs_nmetrics;

/* How a run was traced (sessions record it; `report --diff` says what compares).
 * exact: every allocator call counted; light: no allocator probe (live bytes from
 * glibc's heap census or the allocator's own statistics); sampled: light's figures,
 * every allocator call counted at its entry, and live bytes estimated from sampled
 * blocks (with --window, the calls counted only while the probes are attached). */
enum fs_mode { FS_MODE_EXACT = 0, FS_MODE_LIGHT, FS_MODE_SAMPLED, FS_MODE__COUNT };
extern const char *const fs_mode_names[FS_MODE__COUNT];	/* "exact", "light", "sampled" */
/* The mode named name, -1 if none. */
int metric__mode(const char *name);
/* 1 when a figure exists in a mode: light mode has no counted call (no counter,
 * call rate, counted live bytes or malloc_trim() call) and exact mode none of the
 * light-only figures (live_est, live_source, census_*). A session of that mode has
 * no column for the others: they read as absent, never as 0. */
int metric__in_mode(const struct fs_metric *m, int mode);
/* The same for a run with --window (windowed: sampled mode only): the allocation
 * probes attached part of the time, so what they count is seen-only (absent, as
 * the stat document's null totals), and the window's figures (sm_duty, the seen
 * and the scaled counts) exist. metric__in_mode(m, mode) is windowed 0. */
int metric__in_run(const struct fs_metric *m, int mode, int windowed);

/* What --window's duty is the share of (sampled__duty's basis; column sm_duty_basis). */
enum fs_duty_basis { FS_DUTY_NONE = 0, FS_DUTY_FREE_CALLS, FS_DUTY_WALL_TIME, FS_DUTY__COUNT };
extern const char *const fs_duty_basis_names[FS_DUTY__COUNT];	/* NULL, "free_calls", "wall_time" */

/* What live_est stands for in light mode (column live_source). */
enum fs_live_src { FS_LIVE_NOT_KNOWN = 0, FS_LIVE_HEAP_CENSUS, FS_LIVE_ALLOC_STATS, FS_LIVE__COUNT };
extern const char *const fs_live_src_names[FS_LIVE__COUNT];	/* "not_known", "heap_census", "allocator_stats" */
extern const char *const fs_live_src_units[FS_LIVE__COUNT];	/* NULL, "chunk_bytes", "usable_bytes" */

/* The value as stored: integer metrics as int64 (uint64 counters wrap as SQLite
 * stores them), real ones as double. */
int64_t metric__i64(const struct fs_metric *m, const struct fs_metric_src *s);
double metric__dbl(const struct fs_metric *m, const struct fs_metric_src *s);
/* The JSON key (the last part of ->json), or NULL. */
const char *metric__key(const struct fs_metric *m);
/* 1 when ->json is inside object obj ("totals", "lost"; "" the top level). */
int metric__in(const struct fs_metric *m, const char *obj);
/* By session column, NULL if none. */
const struct fs_metric *metric__by_column(const char *column);

/* The enums' names, as JSON keys, session event names and text show them. */
extern const char *const fs_sys_names[FS_S__COUNT];	/* "mmap", "munmap", ... */
extern const char *const fs_adv_names[FS_A__COUNT];	/* "DONTNEED", ... */
extern const char *const fs_adv_cols[FS_A__COUNT];	/* "dontneed", ...: in column names */
extern const char *const fs_src_names[FS_R__COUNT];	/* "glibc_trim", ... */
extern const char *const fs_map_names[FS_M__COUNT];	/* "allocator", "stack", ... */
extern const char *const fs_kind_names[FS_RG__COUNT];	/* "heap", "arena_heaps", ... */
extern const char *const fs_hist_names[FS_H__COUNT];	/* "alloc_size", ... */

#endif
