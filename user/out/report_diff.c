/* report_diff.c - two sessions side by side, with the difference B - A. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/metric.h"
#include "out/report.h"
#include "util/fmt.h"

/* ---- diff ---- */

static void diff_row(FILE *f, const char *label, double a, double b, int bytes)
{
	char x[32], y[32], z[40];
	double dd = b - a;

	if (bytes) {
		fmt__bytes((uint64_t)(a > 0 ? a : 0), x, sizeof(x));
		fmt__bytes((uint64_t)(b > 0 ? b : 0), y, sizeof(y));
		fmt__bytes((uint64_t)fabs(dd), z + 1, sizeof(z) - 1);
	} else {
		fmt__num((uint64_t)(a > 0 ? a : 0), x, sizeof(x));
		fmt__num((uint64_t)(b > 0 ? b : 0), y, sizeof(y));
		fmt__num((uint64_t)fabs(dd), z + 1, sizeof(z) - 1);
	}
	z[0] = dd < 0 ? '-' : '+';
	if (dd == 0)
		snprintf(z, sizeof(z), "=");
	fprintf(f, "  %-26s %16s %16s %16s", label, x, y, z);
	if (a > 0 && dd != 0)
		fprintf(f, "  (%+.0f%%)", 100 * dd / a);
	fputc('\n', f);
}

void report__diff(FILE *f, const struct session_data *a, const struct session_data *b)
{
	/* the labels of this table's sentences; units from the metric table */
	static const struct { const char *col, *label; int peak; } rows[] = {
		{ "allocs", "allocations", 0 }, { "bytes_allocated", "bytes allocated", 0 },
		{ "frees", "frees", 0 }, { "failed_allocs", "failed allocations", 0 },
		{ "live_count", "live blocks", 0 }, { "live_bytes", "live bytes", 0 },
		{ "live_bytes", "peak live bytes", 1 }, { "resident", "peak resident", 1 },
		{ "rss_anon", "peak RssAnon", 1 }, { "mapped", "mapped", 0 },
		{ "resident", "resident", 0 }, { "held_free", "held free", 0 },
		{ "lazyfree", "lazyfree", 0 }, { "returned", "returned", 0 },
		{ "rss_anon", "RssAnon", 0 }, { "madv_dontneed_calls", "madvise DONTNEED calls", 0 },
		{ "madv_free_calls", "madvise FREE calls", 0 }, { "munmap_calls", "munmap calls", 0 },
		{ "brk_shrink_calls", "brk shrinks", 0 }, { "malloc_trim_calls", "malloc_trim() calls", 0 },
		{ "faults", "page faults", 0 }, { "churn_faults", "churn faults", 0 },
	};
	const struct session_row *ea = last_row(a), *eb = last_row(b);

	fprintf(f, "\n fragscope report --diff\n   A  %s: %s (%s), %s, %.2f s\n   B  %s: %s (%s), %s, %.2f s\n\n", a->path,
		session__meta(a, "comm", "?"), session__meta(a, "pid", "?"), session__meta(a, "allocator", "?"), ea->t_s,
		b->path, session__meta(b, "comm", "?"), session__meta(b, "pid", "?"), session__meta(b, "allocator", "?"),
		eb->t_s);
	fprintf(f, "  %-26s %16s %16s %16s\n", "at the end", "A", "B", "B - A");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int c = COL(rows[i].col);
		const struct session_row *ra = rows[i].peak ? session__peak(a, c) : ea;
		const struct session_row *rb = rows[i].peak ? session__peak(b, c) : eb;

		diff_row(f, rows[i].label, session__rowd(ra, c), session__rowd(rb, c),
			 metric__by_column(rows[i].col)->unit == FS_UNIT_BYTES);
	}
	fprintf(f, "  %-26s %15.0f%% %15.0f%%\n", "fragmentation", 100 * V(ea, "fragmentation"), 100 * V(eb, "fragmentation"));
	fprintf(f, "\n  diagnosis A: %s: %s\n  diagnosis B: %s: %s\n", a->diag_kind[0] ? a->diag_kind : "none",
		a->diag_text ? a->diag_text : "", b->diag_kind[0] ? b->diag_kind : "none", b->diag_text ? b->diag_text : "");
	fprintf(f, "\n  top sites by live bytes       A                B\n");
	for (int i = 0; i < 5 && (i < a->nsites || i < b->nsites); i++) {
		char x[32], y[32];

		fprintf(f, "  %-2d  %12s  %-40.40s   %12s  %-40.40s\n", i + 1,
			i < a->nsites ? fmt__bytes(site_live(&a->sites[i]), x, sizeof(x)) : "",
			i < a->nsites && a->sites[i].nframes ? a->sites[i].frame[0] : "",
			i < b->nsites ? fmt__bytes(site_live(&b->sites[i]), y, sizeof(y)) : "",
			i < b->nsites && b->sites[i].nframes ? b->sites[i].frame[0] : "");
	}
	fputc('\n', f);
}
