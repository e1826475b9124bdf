/* report_text.c - `report`'s text summary of a session: totals, the waterfall at
 * the peak and at the end, the release ledger, the diagnosis and the sites. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/metric.h"
#include "out/render.h"
#include "out/report.h"
#include "util/fmt.h"

/* ---- text ---- */

/* record --trace: what was recorded, and what was lost, per thread. */
static void text_trace(FILE *f, const struct session_data *d)
{
	const struct session_trace *tr = session__trace(d);
	const char *state = session__meta(d, "trace_state", "incomplete");
	long long lost = atoll(session__meta(d, "trace_lost", "0"));
	char b1[32], b2[32];
	int shown = 0;

	if (!tr->has_trace)
		return;
	fprintf(f, "   trace    %lld calls in %lld chunks, %s compressed (%.1f bytes a call, %s raw), %s\n",
		(long long)tr->calls, (long long)tr->chunks, fmt__bytes((uint64_t)tr->bytes, b1, sizeof(b1)),
		tr->calls ? (double)tr->bytes / (double)tr->calls : 0.0, fmt__bytes((uint64_t)tr->raw_bytes, b2, sizeof(b2)),
		!strcmp(state, "complete") ? "complete: every call" :
		!strcmp(state, "lossy") ? "LOSSY: calls were lost (the ring was full; record --trace-ring raises it)" :
		"INCOMPLETE: the recorder stopped before the trace's end");
	if (lost > 0)
		fprintf(f, "            %lld calls LOST\n", lost);
	for (int i = 0; i < tr->nthreads; i++) {
		const struct session_tthread *x = &tr->threads[i];

		if (x->lost <= 0)
			continue;
		if (shown++ == 8) {
			fprintf(f, "            ... more threads lost calls\n");
			break;
		}
		fprintf(f, "            thread %u: %lld calls recorded, %lld lost\n", x->tid, (long long)x->calls,
			(long long)x->lost);
	}
	fprintf(f, "            before attach: %s\n", session__meta(d, "trace_before_attach", "?"));
}

static void text_header(FILE *f, const struct session_data *d)
{
	const struct session_row *end = last_row(d);
	int complete = !strcmp(session__meta(d, "complete", "0"), "1");
	char period[32];

	fmt__bytes((uint64_t)strtoull(session__meta(d, "sample_bytes", "0"), NULL, 10), period, sizeof(period));

	fprintf(f, "\n fragscope report: %s\n", d->path);
	fprintf(f, "   target   PID %s (%s), %s allocator in %s\n", session__meta(d, "pid", "?"),
		session__meta(d, "comm", "?"), session__meta(d, "allocator", "?"),
		session__meta(d, "allocator_object", "?"));
	{
		char ctr[700];

		report__container(d, ctr, sizeof(ctr));
		if (ctr[0])
			fprintf(f, "   container %s\n", ctr);
	}
	if (session__meta(d, "command", "")[0])
		fprintf(f, "   command  %s\n", session__meta(d, "command", ""));
	else if (session__meta(d, "attached_cmdline", NULL))
		fprintf(f, "   command  %s (attached by PID)\n", session__meta(d, "attached_cmdline", ""));
	else
		fprintf(f, "   command  (attached to a running process)\n");
	fprintf(f, "   recorded %s, kernel %s, fragscope %s, interval %s ms\n", session__meta(d, "start_time", "?"),
		session__meta(d, "kernel", "?"), session__meta(d, "fragscope_version", "?"),
		session__meta(d, "interval_ms", "?"));
	if (d->mode == FS_MODE_LIGHT)
		fprintf(f, "   mode     light: no probe on the allocator's functions; calls not counted, live bytes "
			"estimated (heap census or the allocator's own statistics)\n");
	else if (d->mode == FS_MODE_SAMPLED && d->windowed)
		fprintf(f, "   mode     sampled, --window %s: allocations counted and sampled only while the probes were "
			"attached (duty %.0f%% at the end), scaled by 1/duty and marked ~; live bytes estimated from "
			"sampled blocks (1 per ~%s allocated) with their standard error; the waterfall's live from the heap "
			"census\n", session__meta(d, "window", "?"), 100 * V(end, "sm_duty"), period);
	else if (d->mode == FS_MODE_SAMPLED)
		fprintf(f, "   mode     sampled: every allocator call counted at its entry (exact counts); live bytes "
			"estimated from sampled blocks (1 per ~%s allocated) with their standard error; the "
			"waterfall's live from the heap census\n", period);
	else
		fprintf(f, "   mode     %s\n", fs_mode_names[d->mode]);
	fprintf(f, "   %ld snapshots over %.2f s%s\n", d->nrows, end->t_s,
		complete ? "" : " -- INCOMPLETE: the recorder stopped without finishing (killed?); "
				"figures are those of the last snapshot");
	text_trace(f, d);
}

/* Sampled mode: the calls counted at their entry (with --window, those seen and
 * scaled), the sampled estimate of live bytes with its standard error, and the
 * heap census's live bytes (the waterfall's) as in light mode. */
static void text_sampled_totals(FILE *f, const struct session_data *d)
{
	const struct session_row *r = last_row(d);
	char n1[32], n2[32], n3[32], n4[32], b1[32], b2[32];
	int src;
	const char *what = live_what(d, r, &src);

	if (d->windowed) {
		fprintf(f, " %18s  %-22s ~%s allocations, ~%s requested: %s and %s counted in the windows, scaled by "
			   "1/duty (%.0f%% of the %s)\n", "~", "allocations",
			fmt__num(U(r, "sm_allocs_est"), n1, sizeof(n1)), fmt__bytes(U(r, "sm_bytes_allocated_est"), b1, sizeof(b1)),
			fmt__num(U(r, "sm_allocs_seen"), n2, sizeof(n2)), fmt__bytes(U(r, "sm_bytes_allocated_seen"), b2, sizeof(b2)),
			100 * V(r, "sm_duty"), U(r, "sm_duty_basis") == FS_DUTY_FREE_CALLS ? "program's release calls" : "wall time");
		fprintf(f, " %18s  %-22s %s\n", "-", "frees", "not counted in full with --window (realloc's only in windows)");
	} else {
		fprintf(f, " %18s  %-22s %s requested (every call counted at its entry; failures not told apart)\n",
			fmt__num(U(r, "allocs"), n1, sizeof(n1)), "allocations", fmt__bytes(U(r, "bytes_allocated"), b1, sizeof(b1)));
		fprintf(f, " %18s  %-22s %s\n", fmt__num(U(r, "frees"), n1, sizeof(n1)), "frees",
			"(sizes not known in sampled mode: only sampled blocks are tracked)");
	}
	fprintf(f, " %18s  %-22s\n", fmt__num(U(r, "free_null"), n1, sizeof(n1)), "free(NULL)");
	fprintf(f, " %18s  %-22s %s +- %s (standard error) in ~%s blocks, estimated from %s sampled blocks still live "
		   "(%s sampled in all, 1 per ~%s allocated)%s\n", "~",
		strcmp(session__meta(d, "traced_from_start", "1"), "1") ? "live since attach" : "live",
		fmt__bytes(U(r, "sm_live_est"), b1, sizeof(b1)), fmt__bytes(U(r, "sm_live_stderr"), b2, sizeof(b2)),
		fmt__num(U(r, "sm_live_blocks_est"), n1, sizeof(n1)), fmt__num(U(r, "sm_live_samples"), n2, sizeof(n2)),
		fmt__num(U(r, "sm_blocks_sampled"), n3, sizeof(n3)),
		fmt__bytes((uint64_t)strtoull(session__meta(d, "sample_bytes", "0"), NULL, 10), n4, sizeof(n4)),
		U(r, "sm_lost") ? "; samples lost (table full): an underestimate" : "");
	if (src == FS_LIVE_NOT_KNOWN)
		fprintf(f, " %18s  %-22s %s\n", "?", "live (waterfall)", what);
	else
		fprintf(f, " %18s  %-22s %s\n", fmt__bytes(U(r, "live_est"), b1, sizeof(b1)), "live ~ (waterfall)", what);
}

static void text_totals(FILE *f, const struct session_data *d)
{
	const struct session_row *r = last_row(d);
	char n1[32], b1[32];
	uint64_t lost = U(r, "untracked") + U(r, "stale") + U(r, "unmatched_returns") + U(r, "prog_misses");

	fprintf(f, "\n  totals at the end\n");
	if (d->mode == FS_MODE_LIGHT) {
		int src;
		const char *what = live_what(d, r, &src);

		fprintf(f, " %18s  %-22s %s\n", "-", "allocations, frees",
			"not counted in light mode (no probe on the allocator's functions)");
		if (src == FS_LIVE_NOT_KNOWN)
			fprintf(f, " %18s  %-22s %s\n", "?", "live", what);
		else
			fprintf(f, " %18s  %-22s %s%s", fmt__bytes(U(r, "live_est"), b1, sizeof(b1)), "live ~", what,
				src == FS_LIVE_HEAP_CENSUS ? "" : "\n");
		if (src == FS_LIVE_HEAP_CENSUS)
			fprintf(f, ", %s ms old\n", fmt__num(U(r, "census_age_ms"), n1, sizeof(n1)));
		return;
	}
	if (d->mode == FS_MODE_SAMPLED) {
		text_sampled_totals(f, d);
		return;
	}
#define ROW(val, label, extra) fprintf(f, " %18s  %-22s %s\n", fmt__num(val, n1, sizeof(n1)), label, extra)
#define MROW(col, extra) ROW(U(r, col), metric__by_column(col)->label, extra)
	MROW("allocs", fmt__bytes(U(r, "bytes_allocated"), b1, sizeof(b1)));
	MROW("frees", fmt__bytes(U(r, "bytes_freed"), b1, sizeof(b1)));
	if (U(r, "frees_unknown"))
		MROW("frees_unknown", "(blocks allocated before attach)");
	MROW("failed_allocs", "");
	MROW("free_null", "");
	MROW("live_count", fmt__bytes(U(r, "live_bytes"), b1, sizeof(b1)));
	ROW(lost, "lost", lost ? "(untracked, stale, unmatched or skipped: live figures are NOT EXACT)"
			       : "(exact: every call was counted)");
#undef MROW
#undef ROW
}

static void text_waterfall(FILE *f, const struct session_data *d)
{
	const struct session_row *end = last_row(d), *pk = session__peak(d, COL("resident"));
	static const char *const rows[] = { "live", "held_free", "mapped", "resident", "lazyfree", "returned",
					     "rss_anon" };
	char b1[32], b2[32], h1[48], h2[48];
	int src;

	if (!U(end, "mem_valid") && !U(pk, "mem_valid")) {
		fprintf(f, "\n  memory: never read (the target exited before a sample)\n");
		return;
	}
	snprintf(h1, sizeof(h1), "at peak (%.1f s)", pk->t_s);
	snprintf(h2, sizeof(h2), "at the end (%.1f s)", end->t_s);
	fprintf(f, "\n  memory waterfall       %18s %20s\n", h1, h2);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *col = i ? rows[i] : live_col(d);
		int kp = i >= 2 || report__live_unit(d, pk), ke = i >= 2 || report__live_unit(d, end);

		/* light mode before the first census (or without one): live is not known */
		live_what(d, end, &src);
		fprintf(f, "  %-20s %18s %20s   %s\n", i ? rows[i] : src >= 0 ? "live ~" : "live",
			kp ? fmt__bytes(U(pk, col), b1, sizeof(b1)) : "?", ke ? fmt__bytes(U(end, col), b2, sizeof(b2)) : "?",
			i ? (ke ? metric__by_column(rows[i])->label : "not known: live is not") : live_what(d, end, NULL));
	}
	if (report__live_unit(d, pk))
		snprintf(h1, sizeof(h1), "%.0f%%", 100 * V(pk, "fragmentation"));
	else
		snprintf(h1, sizeof(h1), "?");
	if (report__live_unit(d, end))
		snprintf(h2, sizeof(h2), "%.0f%%", 100 * V(end, "fragmentation"));
	else
		snprintf(h2, sizeof(h2), "?");
	fprintf(f, "  %-20s %18s %20s   %s\n", "fragmentation", h1, h2, report__live_unit(d, end)
		? metric__by_column("fragmentation")->label : "not known: live is not");
	if (d->mode == FS_MODE_SAMPLED) {
		pk = session__peak(d, COL("sm_live_est"));
		fprintf(f, "  peak live ~%s +- %s at %.1f s (estimated from sampled blocks)",
			fmt__bytes(U(pk, "sm_live_est"), b1, sizeof(b1)), fmt__bytes(U(pk, "sm_live_stderr"), b2, sizeof(b2)),
			pk->t_s);
	} else if (d->mode == FS_MODE_LIGHT) {
		pk = session__peak(d, COL("live_est"));
		live_what(d, pk, &src);
		if (src == FS_LIVE_NOT_KNOWN)
			fprintf(f, "  peak live not known (light mode, no census in any snapshot)");
		else
			fprintf(f, "  peak live ~%s at %.1f s (%s)", fmt__bytes(U(pk, "live_est"), b1, sizeof(b1)), pk->t_s,
				live_what(d, pk, NULL));
	} else {
		pk = session__peak(d, COL("live_bytes"));
		fprintf(f, "  peak live %s at %.1f s", fmt__bytes(U(pk, "live_bytes"), b1, sizeof(b1)), pk->t_s);
	}
	pk = session__peak(d, COL("rss_anon"));
	fprintf(f, "; peak RssAnon %s at %.1f s\n", fmt__bytes(U(pk, "rss_anon"), b1, sizeof(b1)), pk->t_s);
}

static void text_ledger(FILE *f, const struct session_data *d)
{
	const struct session_row *r = last_row(d);
	char n1[32], b1[32], b2[32], col[48];
	long intervals = 0, best = -1;
	int64_t best_res = 0, sum = 0;

	fprintf(f, "\n  %-22s %10s %12s %14s %8s\n", "returned to the OS", "calls", "asked", "resident~", "errors");
	for (int a = 0; a < FS_A__COUNT; a++) {
		char name[32];

		snprintf(col, sizeof(col), "madv_%s_calls", fs_adv_cols[a]);
		if (!session__rowi(r, COL(col)))
			continue;
		snprintf(name, sizeof(name), "madvise %s", fs_adv_names[a]);
		fprintf(f, "  %-22s %10s", name, fmt__num(U(r, col), n1, sizeof(n1)));
		snprintf(col, sizeof(col), "madv_%s_bytes", fs_adv_cols[a]);
		fprintf(f, " %12s", fmt__bytes(U(r, col), b1, sizeof(b1)));
		snprintf(col, sizeof(col), "madv_%s_resident", fs_adv_cols[a]);
		fprintf(f, " %14s", fmt__bytes(U(r, col), b2, sizeof(b2)));
		snprintf(col, sizeof(col), "madv_%s_errors", fs_adv_cols[a]);
		fprintf(f, " %8s\n", fmt__num(U(r, col), n1, sizeof(n1)));
	}
	fprintf(f, "  %-22s %10s %12s %14s\n", "munmap", fmt__num(U(r, "munmap_calls"), n1, sizeof(n1)),
		fmt__bytes(U(r, "munmap_bytes"), b1, sizeof(b1)), fmt__bytes(U(r, "munmap_resident"), b2, sizeof(b2)));
	fprintf(f, "  %-22s %10s %12s %14s\n", "brk shrink", fmt__num(U(r, "brk_shrink_calls"), n1, sizeof(n1)),
		fmt__bytes(U(r, "brk_shrink_bytes"), b1, sizeof(b1)),
		fmt__bytes(U(r, "brk_shrink_resident"), b2, sizeof(b2)));
	if (d->mode == FS_MODE_LIGHT) {	/* glibc's malloc_trim: said only of glibc */
		if (!strcmp(session__meta(d, "allocator", ""), "glibc"))
			fprintf(f, "  %-22s %s\n", "malloc_trim()",
				"not seen in light mode: its releases count under glibc_trim");
	} else if (session__col_absent(d, COL("malloc_trim_calls")) && d->windowed)
		fprintf(f, "  %-22s %s\n", "malloc_trim()", "calls seen only in --window's windows: not recorded");
	else if (U(r, "malloc_trim_calls"))
		fprintf(f, "  %-22s %10s %12s %14s\n", "malloc_trim()", fmt__num(U(r, "malloc_trim_calls"), n1, sizeof(n1)),
			"", fmt__bytes(U(r, "malloc_trim_resident"), b2, sizeof(b2)));
	fprintf(f, "  by source:");
	for (int i = 0; i < FS_R__COUNT; i++) {
		char c2[48];

		snprintf(col, sizeof(col), "src_%s_calls", fs_src_names[i]);
		snprintf(c2, sizeof(c2), "src_%s_resident", fs_src_names[i]);
		if (session__col_absent(d, COL(col)) && d->mode == FS_MODE_LIGHT)
			continue;	/* malloc_trim: said above */
		if (session__col_absent(d, COL(col)))
			fprintf(f, " %s not recorded (a session from an older fragscope)", fs_src_names[i]);
		else if (U(r, col))
			fprintf(f, " %s %s (%s calls)", fs_src_names[i], fmt__bytes(U(r, c2), b1, sizeof(b1)),
				fmt__num(U(r, col), n1, sizeof(n1)));
	}
	/* the timeline of releases, from the per-interval deltas */
	for (long i = 0, seq = -1; i < d->nevents; i++) {
		const struct session_event *e = &d->events[i];

		if (strcmp(e->kind, "source"))
			continue;
		if (e->seq != seq) {
			intervals++;
			seq = e->seq;
			sum = 0;
		}
		sum = (int64_t)((uint64_t)sum + (uint64_t)e->resident);	/* a damaged file: wrap, no UB */
		if (sum > best_res) {
			best_res = sum;
			best = i;
		}
	}
	fprintf(f, "\n  releases happened in %ld of %ld intervals", intervals, d->nrows);
	if (best >= 0)
		fprintf(f, "; the largest: %s at %.1f s", fmt__bytes((uint64_t)best_res, b1, sizeof(b1)),
			d->events[best].t_s);
	fprintf(f, "\n  page faults: %s (%s on pages released < 1 s before)\n", fmt__num(U(r, "faults"), n1, sizeof(n1)),
		fmt__num(U(r, "churn_faults"), b1, sizeof(b1)));
}

static int cmp_alloc(const void *a, const void *b)
{
	const struct session_site *x = *(const struct session_site *const *)a, *y = *(const struct session_site *const *)b;

	return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : 0;
}

static void text_site(FILE *f, const struct session_site *x)
{
	char b1[32], b2[32], b3[48] = "";

	if (x->live_stderr >= 0) {	/* sampled mode: the estimate's standard error */
		char b4[32];

		snprintf(b3, sizeof(b3), " +- %s", fmt__bytes((uint64_t)x->live_stderr, b4, sizeof(b4)));
	}
	if (b3[0])
		fprintf(f, "  %12s live%-14s  %12s allocated  %s\n", fmt__bytes(site_live(x), b1, sizeof(b1)), b3,
			fmt__bytes(x->bytes, b2, sizeof(b2)), x->nframes ? x->frame[0] : "(no stack)");
	else
		fprintf(f, "  %12s live  %12s allocated  %s\n", fmt__bytes(site_live(x), b1, sizeof(b1)),
			fmt__bytes(x->bytes, b2, sizeof(b2)), x->nframes ? x->frame[0] : "(no stack)");
	for (int fr = 1; fr < x->nframes && fr < 4; fr++)
		fprintf(f, "  %12s       %s%12s             %s\n", "", b3[0] ? "              " : "", "", x->frame[fr]);
}

static void text_sites(FILE *f, const struct session_data *d)
{
	const struct session_site **by = NULL;
	char b1[32];
	double t = -1;

	if (!d->nsites && d->mode == FS_MODE_LIGHT) {
		fprintf(f, "\n  allocation sites: none in light mode (no allocator call is seen)\n");
		return;
	}
	if (!d->nsites) {
		fprintf(f, "\n  allocation sites: none sampled (--sample-bytes 0, or no deep snapshot yet)\n");
		return;
	}
	for (long i = 0; i < d->nrows; i++)
		if (d->rows[i].seq == d->sites_seq)
			t = d->rows[i].t_s;
	fprintf(f, "\n  top allocation sites by live bytes (sampled every ~%s allocated: estimates%s; at %.1f s)\n",
		fmt__bytes((uint64_t)strtoull(session__meta(d, "sample_bytes", "0"), NULL, 10), b1, sizeof(b1)),
		d->mode == FS_MODE_SAMPLED ? " +- their standard error" : "", t);
	for (int i = 0; i < d->nsites && i < 5; i++)
		text_site(f, &d->sites[i]);
	by = malloc(sizeof(*by) * (size_t)d->nsites);
	if (!by)
		return;
	for (int i = 0; i < d->nsites; i++)
		by[i] = &d->sites[i];
	qsort(by, (size_t)d->nsites, sizeof(*by), cmp_alloc);
	fprintf(f, "\n  top allocation sites by bytes allocated\n");
	for (int i = 0; i < d->nsites && i < 5; i++)
		text_site(f, by[i]);
	free(by);
}

void report__container(const struct session_data *d, char *buf, size_t len)
{
	struct fs_target_info ti = { .pid = (pid_t)atoi(session__meta(d, "pid", "0")) };

	ti.ctr.ns_pid = (pid_t)atoi(session__meta(d, "ns_pid", "0"));
	snprintf(ti.ctr.cgroup, sizeof(ti.ctr.cgroup), "%s", session__meta(d, "cgroup", ""));
	snprintf(ti.ctr.id, sizeof(ti.ctr.id), "%s", session__meta(d, "container", ""));
	render__container(&ti, buf, len);
}

void report__text(FILE *f, const struct session_data *d)
{
	text_header(f, d);
	text_totals(f, d);
	text_waterfall(f, d);
	text_ledger(f, d);
	fprintf(f, "\n  diagnosis: %s: %s\n", d->diag_kind[0] ? d->diag_kind : "none",
		d->diag_text && *d->diag_text ? d->diag_text : "(no deep snapshot was recorded)");
	text_sites(f, d);
	fputc('\n', f);
}
