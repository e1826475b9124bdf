/* report_html.c - one self-contained HTML page of a session: SVG charts over
 * time, the histograms, the waterfall, the ledger, the diagnosis and the sites. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "out/chart.h"
#include "model/metric.h"
#include "out/report.h"
#include "util/fmt.h"

/* ---- HTML ---- */

/* A column over the snapshots, for a chart; memory figures of snapshots whose
 * memory was not read are NaN (not drawn), not 0. NULL when out of memory. */
static double *col_values(const struct session_data *d, const char *col, int memory)
{
	double *v = malloc(sizeof(*v) * (size_t)d->nrows);
	int c = COL(col), valid = COL("mem_valid");

	int live = !strcmp(col, "live_est");

	for (long i = 0; v && i < d->nrows; i++)
		/* not in this session (a figure its mode has not), or live not known yet: not drawn */
		v[i] = (memory && !session__rowi(&d->rows[i], valid)) || session__col_absent(d, c) ||
		       (live && !report__live_unit(d, &d->rows[i])) ? NAN : session__rowd(&d->rows[i], c);
	return v;
}

#define MARK_TITLE 256

/* One mark per interval with releases: when, how many calls, how much, by whom.
 * Without marks, only counts them. Sums wrap rather than overflow: a damaged file
 * may hold any numbers. */
static long release_marks(const struct session_data *d, struct chart_mark *marks, char *titles)
{
	long n = 0;

	for (long i = 0; i < d->nevents;) {
		long seq = d->events[i].seq, k = i;
		uint64_t res = 0, calls = 0;
		char *t, b[32];
		size_t o;

		for (; k < d->nevents && d->events[k].seq == seq; k++)
			if (!strcmp(d->events[k].kind, "source")) {
				res += (uint64_t)d->events[k].resident;
				calls += (uint64_t)d->events[k].calls;
			}
		if (calls && !marks) {
			n++;
		} else if (calls) {
			t = titles + n * MARK_TITLE;
			o = (size_t)snprintf(t, MARK_TITLE, "%.1f s: %" PRIu64 " release calls, %s resident returned (",
					     d->events[i].t_s, calls, fmt__bytes((int64_t)res > 0 ? res : 0, b, sizeof(b)));
			for (long e = i, first = 1; e < k && o < MARK_TITLE; e++)
				if (!strcmp(d->events[e].kind, "source")) {
					o += (size_t)snprintf(t + o, MARK_TITLE - o, "%s%s", first ? "" : ", ", d->events[e].name);
					first = 0;
				}
			if (o < MARK_TITLE)
				snprintf(t + o, MARK_TITLE - o, ")");
			marks[n].t = d->events[i].t_s;
			marks[n++].title = t;
		}
		i = k;
	}
	return n;
}

static int html_charts(FILE *f, const struct session_data *d)
{
	static const struct { const char *col, *label, *color; int memory; } cols[] = {
		/* RssAnon last, dashed: it often runs along resident, which would hide it */
		{ "mapped", "mapped", "#8e44ad", 1 }, { "resident", "resident", "#e67e22", 1 },
		{ "live", "live", "#27ae60", 1 }, { "rss_anon", "RssAnon (whole process)", "#333333", 1 },
		{ "returned", "returned (cumulative)", "#c0392b", 0 },
		{ "bytes_allocated_per_s", "allocated/s", "#2e86c1", 0 }, { "bytes_freed_per_s", "freed/s", "#d35400", 0 },
	};
	enum { NC = sizeof(cols) / sizeof(cols[0]) };
	struct chart_series s[NC];
	long nmarks = release_marks(d, NULL, NULL);
	struct chart_mark *marks = calloc((size_t)nmarks + 1, sizeof(*marks));
	char *titles = malloc(((size_t)nmarks + 1) * MARK_TITLE);
	double *t = malloc(sizeof(*t) * (size_t)d->nrows);
	int r = -ENOMEM, n = 0;

	memset(s, 0, sizeof(s));
	if (!marks || !titles || !t)
		goto cleanup;
	for (long i = 0; i < d->nrows; i++)
		t[i] = d->rows[i].t_s;
	for (; n < NC; n++) {
		int live = !strcmp(cols[n].col, "live");

		s[n] = (struct chart_series){ .label = live && d->mode != FS_MODE_EXACT ? "live ~ (estimated)" : cols[n].label,
					      .color = cols[n].color, .t = t, .n = d->nrows,
					      .v = col_values(d, live ? live_col(d) : cols[n].col, cols[n].memory),
					      .dashed = n == 3 };
		if (!s[n].v)
			goto cleanup;
	}
	nmarks = release_marks(d, marks, titles);
	/* returned is cumulative (GiB where RSS is MiB): on one scale with RSS it would
	 * flatten the RSS-against-live story into a line at zero */
	chart__lines(f, &(struct chart){ .title = "allocator memory; red marks: releases to the OS (hover for details)",
					 .id = "memory", .yunit = CU_BYTES, .tmax = last_row(d)->t_s, .series = s,
					 .nseries = 4, .marks = marks, .nmarks = nmarks });
	chart__lines(f, &(struct chart){ .title = "bytes returned to the OS since the start (cumulative, its own scale)",
					 .id = "returned", .yunit = CU_BYTES, .tmax = last_row(d)->t_s, .series = s + 4,
					 .nseries = 1, .height = 170 });
	if (d->mode == FS_MODE_LIGHT)
		fprintf(f, "<p>allocation and free rates: not counted in light mode (no probe on the allocator's "
			   "functions)</p>\n");
	else if (d->windowed)
		fprintf(f, "<p>allocation and free rates: not counted in full with --window (the probes attached part "
			   "of the time)</p>\n");
	else
		chart__lines(f, &(struct chart){ .title = "allocation and free rates", .id = "rates",
						 .yunit = CU_BYTES_PER_S, .tmax = last_row(d)->t_s, .series = s + 5,
						 .nseries = 2 });
	r = 0;
cleanup:
	for (int i = 0; i < n; i++)
		free((void *)s[i].v);
	free(marks);
	free(titles);
	free(t);
	return r;
}

#define HI_W 860
#define HI_H 220
#define HI_L 66
#define HI_T 14
#define HI_B 26

/* A histogram of power-of-two buckets: bars on a count axis with round ticks,
 * bucket labels in human units, as many as fit without overlapping. */
static void svg_hist(FILE *f, const struct session_data *d, const char *name, const char *title, int is_ns)
{
	const double pw = HI_W - HI_L - 18, ph = HI_H - HI_T - HI_B, y0 = HI_T + ph;
	struct chart_axis ya;
	int n = 0, k = 0, every = 1;
	int64_t max = 0;
	size_t longest = 1;
	double bw;
	char lab[40], cnt[32];

	for (int i = 0; i < d->nhists; i++)
		if (!strcmp(d->hists[i].name, name)) {
			n++;
			if (d->hists[i].count > max)
				max = d->hists[i].count;
			chart__fmt((double)d->hists[i].lt, is_ns ? CU_NS : CU_BYTES, lab, sizeof(lab));
			if (strlen(lab) + 1 > longest)
				longest = strlen(lab) + 1;
		}
	fprintf(f, "<figure><figcaption>%s</figcaption>\n", title);
	if (!n || max <= 0) {
		fprintf(f, "<p class=\"none\">none recorded</p></figure>\n");
		return;
	}
	bw = pw / n;
	/* 12px sans-serif: about 7 px a character, and a gap */
	while (every * bw < 7 * (double)longest + 10 && every < n)
		every++;
	chart__axis(&ya, (double)max, CU_COUNT, 4, 1);
	fprintf(f, "<svg class=\"hist\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		   "style=\"max-width:100%%;height:auto\" font-family=\"sans-serif\" font-size=\"12\">\n",
		HI_W, HI_H, HI_W, HI_H);
	for (int i = 0; i < ya.nticks; i++) {
		double y = y0 - ph * (i * ya.step) / ya.top;

		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>"
			   "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" fill=\"#555\">%s</text>\n", HI_L, y, HI_L + pw, y,
			i ? "#e4e4e4" : "#999", HI_L - 6, y + 4, chart__tick_label(&ya, i, cnt, sizeof(cnt)));
	}
	for (int i = 0; i < d->nhists; i++) {
		const struct session_hist *h = &d->hists[i];
		double bh, x;

		if (strcmp(h->name, name))
			continue;
		bh = h->count > 0 ? ph * (double)h->count / ya.top : 0;
		if (h->count > 0 && bh < 1.5)
			bh = 1.5;	/* a bucket with few values still shows */
		x = HI_L + k * bw;
		if (h->lt) {
			lab[0] = '<';
			chart__fmt((double)h->lt, is_ns ? CU_NS : CU_BYTES, lab + 1, sizeof(lab) - 1);
		} else {
			snprintf(lab, sizeof(lab), "0");
		}
		fprintf(f, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#2e86c1\">"
			   "<title>", x + 1, y0 - bh, bw > 3 ? bw - 2 : bw, bh);
		chart__xml(f, lab);
		fprintf(f, ": %s</title></rect>\n", fmt__num(h->count > 0 ? (uint64_t)h->count : 0, cnt, sizeof(cnt)));
		if (k % every == 0) {
			fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#555\">", x + bw / 2, HI_H - 8);
			chart__xml(f, lab);
			fprintf(f, "</text>\n");
		}
		k++;
	}
	fprintf(f, "</svg></figure>\n");
}

static void html_kv(FILE *f, const char *k, const char *v)
{
	fprintf(f, "<tr><th>");
	chart__xml(f, k);
	fprintf(f, "</th><td>");
	chart__xml(f, v);
	fprintf(f, "</td></tr>\n");
}

int report__html(FILE *f, const struct session_data *d, const char *version)
{
	static const char *const wf[] = { "live", "held_free", "mapped", "resident", "lazyfree", "returned", "rss_anon" };
	const struct session_row *end = last_row(d), *pk = session__peak(d, COL("resident"));
	char b1[32], b2[32], n1[32];

	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>fragscope report: ");
	chart__xml(f, d->path);
	fprintf(f, "</title>\n<style>\n"
		   "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}\n"
		   "h1{font-size:20px}h2{font-size:16px;margin-top:28px;border-bottom:1px solid #ccc}\n"
		   "table{border-collapse:collapse}td,th{padding:2px 10px;text-align:left;vertical-align:top}\n"
		   "td.n{text-align:right;font-variant-numeric:tabular-nums}tr:nth-child(even){background:#f5f5f5}\n"
		   "figure{margin:12px 0}figcaption{font-weight:600}.ax{font-size:11px;fill:#555}\n"
		   "code{font-size:12px}.warn{color:#a00}\n</style></head><body>\n");
	fprintf(f, "<h1>fragscope report: ");
	chart__xml(f, d->path);
	fprintf(f, "</h1>\n<table>\n");
	html_kv(f, "target", session__meta(d, "comm", "?"));
	html_kv(f, "PID", session__meta(d, "pid", "?"));
	{
		char ctr[700];

		report__container(d, ctr, sizeof(ctr));
		if (ctr[0])
			html_kv(f, "container", ctr);
	}
	if (session__meta(d, "command", "")[0])
		html_kv(f, "command", session__meta(d, "command", ""));
	else if (session__meta(d, "attached_cmdline", NULL)) {
		char cl[1100];

		snprintf(cl, sizeof(cl), "%s (attached by PID)", session__meta(d, "attached_cmdline", ""));
		html_kv(f, "command", cl);
	} else
		html_kv(f, "command", "(attached to a running process)");
	if (session__meta(d, "variant", NULL))
		html_kv(f, "compare variant", session__meta(d, "variant", ""));
	html_kv(f, "mode", d->mode == FS_MODE_LIGHT ? "light: calls not counted, live bytes estimated"
			   : d->mode == FS_MODE_SAMPLED && d->windowed
				? "sampled, --window: calls counted while attached and scaled, live bytes estimated from sampled blocks"
			   : d->mode == FS_MODE_SAMPLED ? "sampled: calls counted, live bytes estimated from sampled blocks"
							: fs_mode_names[d->mode]);
	html_kv(f, "allocator", session__meta(d, "allocator", "?"));
	html_kv(f, "allocator object", session__meta(d, "allocator_object", "?"));
	html_kv(f, "recorded", session__meta(d, "start_time", "?"));
	html_kv(f, "kernel", session__meta(d, "kernel", "?"));
	html_kv(f, "fragscope", session__meta(d, "fragscope_version", "?"));
	snprintf(b1, sizeof(b1), "%ld over %.2f s", d->nrows, end->t_s);
	html_kv(f, "snapshots", b1);
	fprintf(f, "</table>\n");
	if (strcmp(session__meta(d, "complete", "0"), "1"))
		fprintf(f, "<p class=\"warn\">Incomplete: the recorder stopped without finishing; the figures are those "
			   "of the last snapshot.</p>\n");

	fprintf(f, "<h2>Memory over time</h2>\n<div id=\"charts\">\n");
	if (html_charts(f, d))
		return -ENOMEM;
	fprintf(f, "</div>\n");

	fprintf(f, "<h2>Totals at the end</h2>\n<table>\n");
#define NROW(label, v, extra) fprintf(f, "<tr><th>%s</th><td class=\"n\">%s</td><td class=\"n\">%s</td></tr>\n", label, \
				      fmt__num(v, n1, sizeof(n1)), extra)
	if (d->mode == FS_MODE_LIGHT) {
		fprintf(f, "<tr><th>allocations, frees</th><td class=\"n\">-</td><td>not counted in light mode</td></tr>\n");
		fprintf(f, "<tr><th>live ~</th><td class=\"n\">%s</td><td>", report__live_unit(d, end)
			? fmt__bytes(U(end, "live_est"), b1, sizeof(b1)) : "?");
		chart__xml(f, live_what(d, end, NULL));
		fprintf(f, "</td></tr>\n");
	} else if (d->mode == FS_MODE_SAMPLED) {
		if (d->windowed) {
			fprintf(f, "<tr><th>allocations ~</th><td class=\"n\">%s</td><td>", fmt__num(U(end, "sm_allocs_est"), n1, sizeof(n1)));
			fprintf(f, "~%s, scaled by 1/duty (%.0f%%) from %s seen in the windows</td></tr>\n",
				fmt__bytes(U(end, "sm_bytes_allocated_est"), b1, sizeof(b1)), 100 * V(end, "sm_duty"),
				fmt__num(U(end, "sm_allocs_seen"), b2, sizeof(b2)));
		} else {
			NROW("allocations", U(end, "allocs"), fmt__bytes(U(end, "bytes_allocated"), b1, sizeof(b1)));
			NROW("frees", U(end, "frees"), "sizes not known in sampled mode");
		}
		fprintf(f, "<tr><th>live ~</th><td class=\"n\">%s</td><td>+- %s (standard error), estimated from sampled "
			   "blocks (requested bytes)</td></tr>\n", fmt__bytes(U(end, "sm_live_est"), b1, sizeof(b1)),
			fmt__bytes(U(end, "sm_live_stderr"), b2, sizeof(b2)));
		fprintf(f, "<tr><th>live blocks ~</th><td class=\"n\">%s</td><td>estimated from %s sampled blocks "
			   "still live</td></tr>\n", fmt__num(U(end, "sm_live_blocks_est"), n1, sizeof(n1)),
			fmt__num(U(end, "sm_live_samples"), b2, sizeof(b2)));
	} else {
	NROW("allocations", U(end, "allocs"), fmt__bytes(U(end, "bytes_allocated"), b1, sizeof(b1)));
	NROW("frees", U(end, "frees"), fmt__bytes(U(end, "bytes_freed"), b1, sizeof(b1)));
	NROW("failed allocations", U(end, "failed_allocs"), "");
	NROW("live blocks", U(end, "live_count"), fmt__bytes(U(end, "live_bytes"), b1, sizeof(b1)));
	NROW("untracked", U(end, "untracked"), "");
	}
#undef NROW
	fprintf(f, "</table>\n<h2>Waterfall</h2>\n<table><tr><th></th><th>at peak resident (%.1f s)</th>"
		   "<th>at the end (%.1f s)</th></tr>\n", pk->t_s, end->t_s);
	for (size_t i = 0; i < sizeof(wf) / sizeof(wf[0]); i++) {
		const char *col = i ? wf[i] : live_col(d);
		int kp = i >= 2 || report__live_unit(d, pk), ke = i >= 2 || report__live_unit(d, end);

		fprintf(f, "<tr><th>%s</th><td class=\"n\">%s</td><td class=\"n\">%s</td></tr>\n",
			i || d->mode == FS_MODE_EXACT ? wf[i] : "live ~",
			kp ? fmt__bytes(U(pk, col), b1, sizeof(b1)) : "?", ke ? fmt__bytes(U(end, col), b2, sizeof(b2)) : "?");
	}
	if (report__live_unit(d, pk))
		snprintf(b1, sizeof(b1), "%.0f%%", 100 * V(pk, "fragmentation"));
	else
		snprintf(b1, sizeof(b1), "?");
	if (report__live_unit(d, end))
		snprintf(b2, sizeof(b2), "%.0f%%", 100 * V(end, "fragmentation"));
	else
		snprintf(b2, sizeof(b2), "?");
	fprintf(f, "<tr><th>fragmentation</th><td class=\"n\">%s</td><td class=\"n\">%s</td></tr></table>\n", b1, b2);

	fprintf(f, "<h2>Returned to the OS</h2>\n<table><tr><th></th><th>calls</th><th>asked</th><th>resident</th></tr>\n");
	for (int a = 0; a < FS_A__COUNT; a++) {
		char c[48], c2[48], c3[48];

		snprintf(c, sizeof(c), "madv_%s_calls", fs_adv_cols[a]);
		snprintf(c2, sizeof(c2), "madv_%s_bytes", fs_adv_cols[a]);
		snprintf(c3, sizeof(c3), "madv_%s_resident", fs_adv_cols[a]);
		if (U(end, c))
			fprintf(f, "<tr><th>madvise %s</th><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td></tr>\n",
				fs_adv_names[a], fmt__num(U(end, c), n1, sizeof(n1)), fmt__bytes(U(end, c2), b1, sizeof(b1)),
				fmt__bytes(U(end, c3), b2, sizeof(b2)));
	}
	fprintf(f, "<tr><th>munmap</th><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td></tr>\n",
		fmt__num(U(end, "munmap_calls"), n1, sizeof(n1)), fmt__bytes(U(end, "munmap_bytes"), b1, sizeof(b1)),
		fmt__bytes(U(end, "munmap_resident"), b2, sizeof(b2)));
	fprintf(f, "<tr><th>brk shrink</th><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td></tr>\n",
		fmt__num(U(end, "brk_shrink_calls"), n1, sizeof(n1)), fmt__bytes(U(end, "brk_shrink_bytes"), b1, sizeof(b1)),
		fmt__bytes(U(end, "brk_shrink_resident"), b2, sizeof(b2)));
	if (d->mode == FS_MODE_LIGHT)
		fprintf(f, "<tr><th>malloc_trim()</th><td colspan=\"3\">not seen in light mode: its releases count under "
			   "glibc_trim</td></tr>\n");
	else if (session__col_absent(d, COL("malloc_trim_calls")) && d->windowed)
		fprintf(f, "<tr><th>malloc_trim()</th><td colspan=\"3\">calls seen only in --window's windows: not "
			   "recorded</td></tr>\n");
	else
		fprintf(f, "<tr><th>malloc_trim()</th><td class=\"n\">%s</td><td></td><td class=\"n\">%s</td></tr>\n",
			fmt__num(U(end, "malloc_trim_calls"), n1, sizeof(n1)),
			fmt__bytes(U(end, "malloc_trim_resident"), b2, sizeof(b2)));
	fprintf(f, "<tr><th colspan=\"4\">by source (who made the calls)</th></tr>\n");
	for (int i = 0; i < FS_R__COUNT; i++) {
		char c[48], c2[48];

		snprintf(c, sizeof(c), "src_%s_calls", fs_src_names[i]);
		snprintf(c2, sizeof(c2), "src_%s_resident", fs_src_names[i]);
		if (session__col_absent(d, COL(c)) && d->mode == FS_MODE_LIGHT)
			continue;	/* malloc_trim: said above */
		if (session__col_absent(d, COL(c)))
			fprintf(f, "<tr class=\"src\"><th>%s</th><td colspan=\"3\">not recorded (a session from an older "
				   "fragscope)</td></tr>\n", fs_src_names[i]);
		else if (U(end, c))
			fprintf(f, "<tr class=\"src\"><th>%s</th><td class=\"n\">%s</td><td></td><td class=\"n\">%s</td></tr>\n",
				fs_src_names[i], fmt__num(U(end, c), n1, sizeof(n1)), fmt__bytes(U(end, c2), b1, sizeof(b1)));
	}
	fprintf(f, "</table>\n");

	fprintf(f, "<h2>Diagnosis</h2>\n<p><b>");
	chart__xml(f, d->diag_kind[0] ? d->diag_kind : "none");
	fprintf(f, "</b>: ");
	chart__xml(f, d->diag_text ? d->diag_text : "(no deep snapshot was recorded)");
	fprintf(f, "</p>\n<h2>Histograms</h2>\n");
	svg_hist(f, d, "alloc_size", "allocation sizes (all allocations)", 0);
	svg_hist(f, d, "live_size", "sizes of the blocks live at the end", 0);
	svg_hist(f, d, "lifetime_ns", atoi(session__meta(d, "lifetime_sampling", "1")) > 1
		 ? "lifetimes of freed blocks (sampled, counts scaled: estimates)" : "lifetimes of freed blocks", 1);

	fprintf(f, "<h2>Allocation sites</h2>\n<p>Sampled (about one stack per %s allocated): estimates.</p>\n"
		   "<table id=\"sites\"><tr><th>#</th><th>live</th><th>allocated</th><th>samples</th><th>stack (innermost first)</th></tr>\n",
		fmt__bytes((uint64_t)strtoull(session__meta(d, "sample_bytes", "0"), NULL, 10), b1, sizeof(b1)));
	for (int i = 0; i < d->nsites; i++) {
		const struct session_site *x = &d->sites[i];

		fprintf(f, "<tr><td class=\"n\">%d</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td><code>",
			i + 1, fmt__bytes(site_live(x), b1, sizeof(b1)), fmt__bytes(x->bytes, b2, sizeof(b2)),
			fmt__num(x->samples, n1, sizeof(n1)));
		for (int fr = 0; fr < x->nframes; fr++) {
			if (fr)
				fputs("<br>", f);
			chart__xml(f, x->frame[fr]);
		}
		fprintf(f, "</code></td></tr>\n");
	}
	fprintf(f, "</table>\n<p><small>fragscope %s</small></p>\n</body></html>\n", version);
	return 0;
}
