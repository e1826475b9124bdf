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
/* Bytes by stack, one line per site: live bytes, or (alloc) bytes allocated. */
void report__folded(FILE *f, const struct session_data *d, int alloc);
/* SVG flame graph of the live bytes. 0, or -ENOMEM. */
int report__flamegraph(FILE *f, const struct session_data *d);
/* One self-contained page with SVG charts, signed with fragscope's version. 0, or
 * -ENOMEM. */
int report__html(FILE *f, const struct session_data *d, const char *version);
/* a and b side by side, with b - a. */
void report__diff(FILE *f, const struct session_data *a, const struct session_data *b);

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

static inline uint64_t site_live(const struct session_site *x)
{
	return x->live_bytes > 0 ? (uint64_t)x->live_bytes : 0;
}

#endif
