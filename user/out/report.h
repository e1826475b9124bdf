/* report.h - the formats of `fragscope report`, each from a loaded session
 * (session_read.c): text, JSON and CSV, folded stacks and the flame graph, the
 * HTML page, and two sessions side by side. cmd_report.c parses the options and
 * picks one. Pure: no libbpf. */
#ifndef FS_REPORT_H
#define FS_REPORT_H

#include <stdint.h>
#include <stdio.h>
#include "out/session.h"

/* The summary: header, totals, waterfall, release ledger, diagnosis, sites. */
void report__text(FILE *f, const struct session_data *d);
/* `stat --json`'s document as recorded, plus series, release_events, peak, session. */
void report__json(FILE *f, const struct session_data *d);
/* series: counters, rates, memory, releases, all or events. -1: unknown series. */
int report__csv(FILE *f, const struct session_data *d, const char *series);
/* Bytes by stack, one line per site: live bytes, or (alloc) bytes allocated.
 * Returns the lines written (0: no site had any). */
int report__folded(FILE *f, const struct session_data *d, int alloc);
/* SVG flame graph of the live bytes. 0, or -ENOMEM. */
int report__flamegraph(FILE *f, const struct session_data *d);
/* One self-contained page with SVG charts, signed with fragscope's version. 0, or
 * -ENOMEM. */
int report__html(FILE *f, const struct session_data *d, const char *version);
/* a and b side by side, with b - a where a figure compares. */
void report__diff(FILE *f, const struct session_data *a, const struct session_data *b);
/* Whether column col of row ra of a and of row rb of b is the same figure in the
 * same unit: 1 (B - A is exact), 2 (the same unit, but one or both are sampled
 * mode's estimates: live bytes are compared in standard errors, why says which is
 * estimated), 0 with the reason in why: a session has no such figure (light mode
 * counts no call; --window sees part of them; an older fragscope), or live bytes
 * (and what is derived from them: held_free, fragmentation) are in different units
 * (requested bytes counted or estimated from sampled blocks, chunk bytes from a
 * heap census, usable bytes from the allocator). col names exact mode's column:
 * live_bytes and live_count stand for the blocks' figures (light: live_est;
 * sampled: sm_live_est, sm_live_blocks_est), live and live_est for the waterfall's. */
int report__diff_cmp(const struct session_data *a, const struct session_row *ra, const struct session_data *b,
		     const struct session_row *rb, const char *col, char *why, size_t whylen);
/* The unit of a row's live figure: "requested_bytes" (counted), "chunk_bytes",
 * "usable_bytes"; NULL when not known. */
/* The recorded process as its container saw it ("PID 7 in its namespace, cgroup
 * ..., container ..."); "" outside any, or for sessions from before those keys. */
void report__container(const struct session_data *d, char *buf, size_t len);
const char *report__live_unit(const struct session_data *d, const struct session_row *r);

/* record --trace's calls, decoded, one line each in order. 0, or -1 with one line in err. */
int report__calls(FILE *f, const struct session_data *d, char *err, size_t errlen);

/* ---- shared by the report_*.c files ---- */

/* A snapshot column by name: its index, as a double, as a count (negatives read 0). */
#define COL(name) session__col(name)
#define V(row, name) session__rowd(row, COL(name))
#define U(row, name) ((uint64_t)(session__rowi(row, COL(name)) > 0 ? session__rowi(row, COL(name)) : 0))

static inline const struct session_row *last_row(const struct session_data *d)
{
	return &d->rows[d->nrows - 1];
}

/* The waterfall's live figure of a row: counted live bytes (exact mode) or, in
 * light and sampled mode, live_est (the heap census's chunk bytes or the
 * allocator's allocated bytes). */
static inline const char *live_col(const struct session_data *d)
{
	return d->mode == FS_MODE_EXACT ? "live" : "live_est";
}

/* What a row's waterfall live figure is, in words; its source (enum fs_live_src)
 * in *src (light and sampled mode), -1 when counted. */
static inline const char *live_what(const struct session_data *d, const struct session_row *r, int *src)
{
	int64_t s = d->mode != FS_MODE_EXACT ? session__rowi(r, session__col("live_source")) : -1;

	if (src)
		*src = (int)s;
	if (s < 0)
		return "requested bytes of live blocks (counted)";
	if (s == FS_LIVE_HEAP_CENSUS)
		return "chunk bytes in use, from the heap census (not exact counts)";
	if (s == FS_LIVE_ALLOC_STATS)
		return "allocated bytes, by the allocator's own statistics (not exact counts)";
	return d->mode == FS_MODE_SAMPLED ? "not known in the waterfall (no heap census, no allocator statistics)"
					  : "not known in light mode (no heap census, no allocator statistics)";
}

static inline uint64_t site_live(const struct session_site *x)
{
	return x->live_bytes > 0 ? (uint64_t)x->live_bytes : 0;
}

#endif
