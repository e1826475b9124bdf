/* report_diff.c - two sessions side by side, with the difference B - A where the
 * two figures are the same thing measured the same way; where they are not (a
 * count light mode does not make, live bytes in different units), it says why
 * instead of subtracting. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/metric.h"
#include "out/report.h"
#include "util/fmt.h"

/* ---- what compares ---- */

const char *report__live_unit(const struct session_data *d, const struct session_row *r)
{
	int64_t src;

	if (d->mode == FS_MODE_EXACT)
		return "requested_bytes";
	src = session__rowi(r, COL("live_source"));
	return src > 0 && src < FS_LIVE__COUNT ? fs_live_src_units[src] : NULL;
}

/* The unit of the blocks' live figures (live_bytes, live_count): counted, estimated
 * from sampled blocks, or light mode's stand-in (the waterfall's). */
static const char *blocks_unit(const struct session_data *d, const struct session_row *r)
{
	return d->mode == FS_MODE_SAMPLED ? "requested_bytes_est" : report__live_unit(d, r);
}

/* requested bytes, counted or estimated: one unit */
static int same_unit(const char *ua, const char *ub)
{
	static const char rq[] = "requested_bytes";

	if (!ua || !ub)
		return 0;
	if (!strncmp(ua, rq, sizeof(rq) - 1) && !strncmp(ub, rq, sizeof(rq) - 1))
		return 1;
	return !strcmp(ua, ub);
}

static const char *unit_words(const char *unit)
{
	return !unit ? "not known"
	       : !strcmp(unit, "requested_bytes") ? "requested bytes (counted)"
	       : !strcmp(unit, "requested_bytes_est") ? "requested bytes (estimated from sampled blocks)"
	       : !strcmp(unit, "chunk_bytes") ? "chunk bytes (heap census)"
	       : !strcmp(unit, "usable_bytes") ? "usable bytes (allocator's stats)" : unit;
}

/* Why a session has no column for col. */
static const char *absent_why(const struct session_data *x, const char *col)
{
	const struct fs_metric *m = metric__by_column(col);

	if (x->mode == FS_MODE_LIGHT)
		return "not counted in light mode";
	if (x->mode == FS_MODE_SAMPLED)
		return x->windowed && m && metric__in_run(m, FS_MODE_SAMPLED, 0) ? "seen only in --window's windows"
										   : "not counted in sampled mode";
	return "not recorded (older fragscope)";
}

int report__diff_cmp(const struct session_data *a, const struct session_row *ra, const struct session_data *b,
		     const struct session_row *rb, const char *col, char *why, size_t whylen)
{
	const char *ua, *ub;
	int blocks = !strcmp(col, "live_bytes") || !strcmp(col, "live_count");
	int live = !strcmp(col, "live") || !strcmp(col, "live_est");
	int derived = !strcmp(col, "held_free") || !strcmp(col, "fragmentation");

	/* light mode has no live block count: said below as a figure it has not */
	if (blocks && !(!strcmp(col, "live_count") && (a->mode == FS_MODE_LIGHT || b->mode == FS_MODE_LIGHT))) {
		ua = blocks_unit(a, ra);
		ub = blocks_unit(b, rb);
		if (!same_unit(ua, ub)) {
			snprintf(why, whylen, "not comparable: A %s, B %s", unit_words(ua), unit_words(ub));
			return 0;
		}
		if (a->mode != FS_MODE_SAMPLED && b->mode != FS_MODE_SAMPLED)
			return 1;
		snprintf(why, whylen, "%s estimated from sampled blocks",
			 a->mode == b->mode ? "A and B" : a->mode == FS_MODE_SAMPLED ? "A" : "B");
		return 2;
	}
	if (live || derived) {
		ua = report__live_unit(a, ra);
		ub = report__live_unit(b, rb);
		if (ua && ub && !strcmp(ua, ub))
			return 1;
		if (live)
			snprintf(why, whylen, "not comparable: A %s, B %s", unit_words(ua), unit_words(ub));
		else
			snprintf(why, whylen, "not comparable: from live bytes in %s",
				 !ua || !ub ? "a figure not known" : "different units");
		return 0;
	}
	if (session__col_absent(a, COL(col)) || session__col_absent(b, COL(col))) {
		int la = session__col_absent(a, COL(col)), lb = session__col_absent(b, COL(col));

		if (la && lb && strcmp(absent_why(a, col), absent_why(b, col)))
			snprintf(why, whylen, "A: %s; B: %s", absent_why(a, col), absent_why(b, col));
		else
			snprintf(why, whylen, "%s%s", la && lb ? "A and B: " : la ? "A: " : "B: ",
				 absent_why(la ? a : b, col));
		return 0;
	}
	return 1;
}

/* ---- diff ---- */

static void diff_value(char *out, size_t len, double v, int bytes, int known)
{
	if (!known)
		snprintf(out, len, "-");
	else if (bytes)
		fmt__bytes((uint64_t)(v > 0 ? v : 0), out, len);
	else
		fmt__num((uint64_t)(v > 0 ? v : 0), out, len);
}

static void diff_row(FILE *f, const char *label, double a, double b, int bytes, int known_a, int known_b,
		     const char *why)
{
	char x[32], y[32], z[40];
	double dd = b - a;

	diff_value(x, sizeof(x), a, bytes, known_a);
	diff_value(y, sizeof(y), b, bytes, known_b);
	if (why) {
		fprintf(f, "  %-26s %16s %16s   %s\n", label, x, y, why);
		return;
	}
	if (bytes)
		fmt__bytes((uint64_t)fabs(dd), z + 1, sizeof(z) - 1);
	else
		fmt__num((uint64_t)fabs(dd), z + 1, sizeof(z) - 1);
	z[0] = dd < 0 ? '-' : '+';
	if (dd == 0)
		snprintf(z, sizeof(z), "=");
	fprintf(f, "  %-26s %16s %16s %16s", label, x, y, z);
	if (a > 0 && dd != 0)
		fprintf(f, "  (%+.0f%%)", 100 * dd / a);
	fputc('\n', f);
}

/* The column a session holds a figure in: live bytes are live_est in light mode,
 * the sampled estimates in sampled mode. */
static const char *col_of(const struct session_data *d, const char *col)
{
	if (d->mode == FS_MODE_LIGHT && !strcmp(col, "live_bytes"))
		return "live_est";
	if (d->mode == FS_MODE_SAMPLED && !strcmp(col, "live_bytes"))
		return "sm_live_est";
	if (d->mode == FS_MODE_SAMPLED && !strcmp(col, "live_count"))
		return "sm_live_blocks_est";
	return col;
}

/* A figure one or both sessions estimate from sampled blocks: both values, the
 * estimates marked ~, and B - A marked ~ too, with what it is in standard errors
 * (sqrt(seA^2 + seB^2); se < 0: not recorded for this figure). */
static void diff_est_row(FILE *f, const char *label, const struct session_data *a, double va, double sea,
			 const struct session_data *b, double vb, double seb, int bytes, int known_a, int known_b)
{
	char x[40], y[40], z[40], s1[32], s2[32], note[160];
	int ea = a->mode == FS_MODE_SAMPLED, eb = b->mode == FS_MODE_SAMPLED;
	double dd = vb - va, se = sqrt((ea ? sea * sea : 0) + (eb ? seb * seb : 0));

	x[0] = y[0] = '~';
	diff_value(x + 1, sizeof(x) - 1, va, bytes, known_a);
	diff_value(y + 1, sizeof(y) - 1, vb, bytes, known_b);
	if (!known_a || !known_b) {
		fprintf(f, "  %-26s %16s %16s   not known\n", label, ea ? x : x + 1, eb ? y : y + 1);
		return;
	}
	z[0] = '~';
	z[1] = dd < 0 ? '-' : '+';
	if (bytes)
		fmt__bytes((uint64_t)fabs(dd), z + 2, sizeof(z) - 2);
	else
		fmt__num((uint64_t)fabs(dd), z + 2, sizeof(z) - 2);
	if (dd == 0)
		snprintf(z, sizeof(z), "~0");
	if ((ea && sea < 0) || (eb && seb < 0))
		snprintf(note, sizeof(note), "%s estimated; standard error not recorded for this figure: not an exact "
			 "difference", ea && eb ? "A and B" : ea ? "A" : "B");
	else if (se > 0)
		snprintf(note, sizeof(note), "%.1f standard errors (%s%s%s%s%s)", fabs(dd) / se,
			 ea ? "A +- " : "", ea ? fmt__bytes((uint64_t)llround(sea), s1, sizeof(s1)) : "",
			 ea && eb ? ", " : "", eb ? "B +- " : "", eb ? fmt__bytes((uint64_t)llround(seb), s2, sizeof(s2)) : "");
	else
		snprintf(note, sizeof(note), "standard error 0 (every block sampled)");
	fprintf(f, "  %-26s %16s %16s %16s  %s\n", label, ea ? x : x + 1, eb ? y : y + 1, z, note);
}

static const char *mode_of(const struct session_data *d)
{
	return fs_mode_names[d->mode];
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
	int cross = a->mode != b->mode, ncmp = 0, nest = 0;
	char why[160];

	fprintf(f, "\n fragscope report --diff\n   A  %s: %s (%s), %s, %.2f s, %s mode\n   B  %s: %s (%s), %s, %.2f s, %s mode\n\n",
		a->path, session__meta(a, "comm", "?"), session__meta(a, "pid", "?"), session__meta(a, "allocator", "?"),
		ea->t_s, mode_of(a), b->path, session__meta(b, "comm", "?"), session__meta(b, "pid", "?"),
		session__meta(b, "allocator", "?"), eb->t_s, mode_of(b));
	fprintf(f, "  %-26s %16s %16s %16s\n", "at the end", "A", "B", "B - A");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *ca = col_of(a, rows[i].col), *cb = col_of(b, rows[i].col);
		const struct session_row *ra = rows[i].peak ? session__peak(a, COL(ca)) : ea;
		const struct session_row *rb = rows[i].peak ? session__peak(b, COL(cb)) : eb;
		int ok = report__diff_cmp(a, ra, b, rb, rows[i].col, why, sizeof(why));
		int ka = !session__col_absent(a, COL(ca)), kb = !session__col_absent(b, COL(cb));

		/* light mode without a census or allocator statistics: live is not known */
		if (!strcmp(rows[i].col, "live_bytes")) {
			ka = ka && blocks_unit(a, ra);
			kb = kb && blocks_unit(b, rb);
		}
		ncmp += !ok;
		nest += ok == 2;
		if (ok == 2)	/* an estimate: not an exact difference */
			diff_est_row(f, rows[i].label, a, session__rowd(ra, COL(ca)),
				     strcmp(rows[i].col, "live_bytes") ? -1 : V(ra, "sm_live_stderr"), b,
				     session__rowd(rb, COL(cb)), strcmp(rows[i].col, "live_bytes") ? -1 : V(rb, "sm_live_stderr"),
				     metric__by_column(rows[i].col)->unit == FS_UNIT_BYTES, ka, kb);
		else
			diff_row(f, rows[i].label, session__rowd(ra, COL(ca)), session__rowd(rb, COL(cb)),
				 metric__by_column(rows[i].col)->unit == FS_UNIT_BYTES, ka, kb, ok ? NULL : why);
	}
	if (report__diff_cmp(a, ea, b, eb, "fragmentation", why, sizeof(why)))
		fprintf(f, "  %-26s %15.0f%% %15.0f%%\n", "fragmentation", 100 * V(ea, "fragmentation"),
			100 * V(eb, "fragmentation"));
	else
		fprintf(f, "  %-26s %15.0f%% %15.0f%%   %s\n", "fragmentation", 100 * V(ea, "fragmentation"),
			100 * V(eb, "fragmentation"), why);
	if (cross || a->mode != FS_MODE_EXACT)
		fprintf(f, "\n  modes: A %s, B %s. %d figures above are not compared (why on their line). The memory\n"
			"  waterfall's mapped, resident, lazyfree, returned and RssAnon (from /proc), the release\n"
			"  ledger and page faults (the memory syscalls) are measured the same way in every mode.%s\n",
			mode_of(a), mode_of(b), ncmp,
			a->mode == FS_MODE_LIGHT || b->mode == FS_MODE_LIGHT
				? " In light mode\n  malloc_trim() is not seen: its releases count under glibc_trim."
				: "");
	if (nest)
		fprintf(f, "  %d figures above (marked ~) are estimates from sampled blocks: B - A is not an exact\n"
			"  difference; it is given in standard errors, |B - A| / sqrt(seA^2 + seB^2) (within about 2,\n"
			"  no evidence of a change). The calls (allocations, frees, bytes allocated) are counted\n"
			"  exactly in sampled mode%s.\n", nest,
			a->windowed || b->windowed ? " (with --window, only while the probes were attached: not compared)" : "");
	fprintf(f, "\n  diagnosis A: %s: %s\n  diagnosis B: %s: %s\n", a->diag_kind[0] ? a->diag_kind : "none",
		a->diag_text ? a->diag_text : "", b->diag_kind[0] ? b->diag_kind : "none", b->diag_text ? b->diag_text : "");
	fprintf(f, "\n  top sites by live bytes       A                B\n");
	if (a->mode == FS_MODE_LIGHT || b->mode == FS_MODE_LIGHT)
		fprintf(f, "  (%s: no sites in light mode)\n",
			a->mode == b->mode ? "A and B" : a->mode == FS_MODE_LIGHT ? "A" : "B");
	if (a->mode == FS_MODE_SAMPLED || b->mode == FS_MODE_SAMPLED)
		fprintf(f, "  (%s: live bytes by site estimated from sampled blocks, without scaling to a counted total)\n",
			a->mode == b->mode ? "A and B" : a->mode == FS_MODE_SAMPLED ? "A" : "B");
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
