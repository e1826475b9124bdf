/* cmd_report.c - `fragscope report`: reads a session written by `record` and
 * shows it as text, JSON, CSV, an HTML page with SVG charts, folded stacks or a
 * flame graph, or two sessions side by side. Needs no root and no libbpf. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "out/chart.h"
#include "cmd/cmd.h"
#include "util/json.h"
#include "util/log.h"
#include "out/render.h"
#include "out/session.h"

static const char report_usage[] =
	"usage: fragscope report [options] [FILE]\n"
	"       fragscope report --diff A B\n"
	"\n"
	"Shows a session recorded by `fragscope record` (FILE, default fragscope.db). Needs\n"
	"no privileges and no access to the process, which may be long gone: stacks were\n"
	"symbolized while recording. A session whose recorder was killed reports up to its\n"
	"last snapshot, and says so.\n"
	"\n"
	"The text summary gives the totals at the end, the memory waterfall at the peak of\n"
	"resident allocator memory and at the end, the madvise/munmap/brk ledger of what was\n"
	"returned to the OS, the diagnosis, and the top allocation sites by live bytes and\n"
	"by bytes allocated (sampled: estimates).\n"
	"\n"
	"options (one output at a time):\n"
	"  -j, --json            one JSON document: the keys of `fragscope stat --json` as they\n"
	"                        stood at the end (totals, live, lost, functions, memory,\n"
	"                        releases, diagnosis, sites, ...) plus series (one object per\n"
	"                        snapshot), release_events, peak and session (metadata)\n"
	"      --csv SERIES      the time series as CSV on stdout, one row per snapshot;\n"
	"                        SERIES: counters, rates, memory, releases, all, or events\n"
	"                        (one row per release or mapping delta of an interval)\n"
	"      --html OUT.html   one self-contained page (no external resources): SVG charts\n"
	"                        of RssAnon, mapped, resident and live bytes over time with\n"
	"                        the releases marked, of the bytes returned to the OS (on\n"
	"                        their own scale), of the allocation and free rates, the size\n"
	"                        and lifetime histograms, the waterfall, ledger, diagnosis\n"
	"                        and the sites table\n"
	"      --folded[=WHAT]   bytes by stack, one line per site: frames outermost first\n"
	"                        joined by ';', a space, the bytes (flamegraph.pl, speedscope\n"
	"                        and inferno read it). WHAT: live (the default) the bytes\n"
	"                        still live at the end, or alloc the bytes allocated over the\n"
	"                        whole session, freed or not (a workload that frees all it\n"
	"                        allocates has no live bytes). Sampled: estimates\n"
	"      --flamegraph OUT.svg  draws the live bytes by stack as a flame graph (an SVG file)\n"
	"      --diff A B        two sessions side by side, with the difference B - A\n"
	"  -h, --help            this text\n"
	"\n"
	"Bad input (not a session, truncated, corrupt, written by a newer fragscope, no\n"
	"snapshot) gives one line on stderr naming the problem, and exit status 1.\n"
	"\n"
	"exit status: 0 ok, 1 failure, 2 usage\n";

#define COL(name) session__col(name)
#define V(row, name) session__rowd(row, COL(name))
#define U(row, name) ((uint64_t)(session__rowi(row, COL(name)) > 0 ? session__rowi(row, COL(name)) : 0))

static const struct session_row *last_row(const struct session_data *d)
{
	return &d->rows[d->nrows - 1];
}

static uint64_t site_live(const struct session_site *x)
{
	return x->live_bytes > 0 ? (uint64_t)x->live_bytes : 0;
}

/* ---- text ---- */

static void text_header(FILE *f, const struct session_data *d)
{
	const struct session_row *end = last_row(d);
	int complete = !strcmp(session__meta(d, "complete", "0"), "1");

	fprintf(f, "\n fragscope report: %s\n", d->path);
	fprintf(f, "   target   PID %s (%s), %s allocator in %s\n", session__meta(d, "pid", "?"),
		session__meta(d, "comm", "?"), session__meta(d, "allocator", "?"),
		session__meta(d, "allocator_object", "?"));
	fprintf(f, "   command  %s\n", session__meta(d, "command", "") [0] ? session__meta(d, "command", "")
								   : "(attached to a running process)");
	fprintf(f, "   recorded %s, kernel %s, fragscope %s, interval %s ms\n", session__meta(d, "start_time", "?"),
		session__meta(d, "kernel", "?"), session__meta(d, "fragscope_version", "?"),
		session__meta(d, "interval_ms", "?"));
	fprintf(f, "   %ld snapshots over %.2f s%s\n", d->nrows, end->t_s,
		complete ? "" : " -- INCOMPLETE: the recorder stopped without finishing (killed?); "
				"figures are those of the last snapshot");
}

static void text_totals(FILE *f, const struct session_row *r)
{
	char n1[32], b1[32];
	uint64_t lost = U(r, "untracked") + U(r, "stale") + U(r, "unmatched_returns") + U(r, "prog_misses");

	fprintf(f, "\n  totals at the end\n");
#define ROW(val, label, extra) fprintf(f, " %18s  %-22s %s\n", fmt__num(val, n1, sizeof(n1)), label, extra)
	ROW(U(r, "allocs"), "allocations", fmt__bytes(U(r, "bytes_allocated"), b1, sizeof(b1)));
	ROW(U(r, "frees"), "frees", fmt__bytes(U(r, "bytes_freed"), b1, sizeof(b1)));
	if (U(r, "frees_unknown"))
		ROW(U(r, "frees_unknown"), "frees of unknown size", "(blocks allocated before attach)");
	ROW(U(r, "failed_allocs"), "failed allocations", "");
	ROW(U(r, "free_null"), "free(NULL)", "");
	ROW(U(r, "live_count"), "live blocks", fmt__bytes(U(r, "live_bytes"), b1, sizeof(b1)));
	ROW(lost, "lost", lost ? "(untracked, stale, unmatched or skipped: live figures are NOT EXACT)"
			       : "(exact: every call was counted)");
#undef ROW
}

static void text_waterfall(FILE *f, const struct session_data *d)
{
	const struct session_row *end = last_row(d), *pk = session__peak(d, COL("resident"));
	static const char *const rows[] = { "live", "held_free", "mapped", "resident", "lazyfree", "returned",
					     "rss_anon" };
	char b1[32], b2[32], h1[48], h2[48];

	if (!U(end, "mem_valid") && !U(pk, "mem_valid")) {
		fprintf(f, "\n  memory: never read (the target exited before a sample)\n");
		return;
	}
	snprintf(h1, sizeof(h1), "at peak (%.1f s)", pk->t_s);
	snprintf(h2, sizeof(h2), "at the end (%.1f s)", end->t_s);
	fprintf(f, "\n  memory waterfall       %18s %20s\n", h1, h2);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		fprintf(f, "  %-20s %18s %20s   %s\n", rows[i], fmt__bytes(U(pk, rows[i]), b1, sizeof(b1)),
			fmt__bytes(U(end, rows[i]), b2, sizeof(b2)), metric__by_column(rows[i])->label);
	fprintf(f, "  %-20s %17.0f%% %19.0f%%   %s\n", "fragmentation", 100 * V(pk, "fragmentation"),
		100 * V(end, "fragmentation"), metric__by_column("fragmentation")->label);
	pk = session__peak(d, COL("live_bytes"));
	fprintf(f, "  peak live %s at %.1f s", fmt__bytes(U(pk, "live_bytes"), b1, sizeof(b1)), pk->t_s);
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
	if (U(r, "malloc_trim_calls"))
		fprintf(f, "  %-22s %10s %12s %14s\n", "malloc_trim()", fmt__num(U(r, "malloc_trim_calls"), n1, sizeof(n1)),
			"", fmt__bytes(U(r, "malloc_trim_resident"), b2, sizeof(b2)));
	fprintf(f, "  by source:");
	for (int i = 0; i < FS_R__COUNT; i++) {
		char c2[48];

		snprintf(col, sizeof(col), "src_%s_calls", fs_src_names[i]);
		snprintf(c2, sizeof(c2), "src_%s_resident", fs_src_names[i]);
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
	char b1[32], b2[32];

	fprintf(f, "  %12s live  %12s allocated  %s\n", fmt__bytes(site_live(x), b1, sizeof(b1)),
		fmt__bytes(x->bytes, b2, sizeof(b2)), x->nframes ? x->frame[0] : "(no stack)");
	for (int fr = 1; fr < x->nframes && fr < 4; fr++)
		fprintf(f, "  %12s       %12s             %s\n", "", "", x->frame[fr]);
}

static void text_sites(FILE *f, const struct session_data *d)
{
	const struct session_site **by = NULL;
	char b1[32];
	double t = -1;

	if (!d->nsites) {
		fprintf(f, "\n  allocation sites: none sampled (--sample-bytes 0, or no deep snapshot yet)\n");
		return;
	}
	for (long i = 0; i < d->nrows; i++)
		if (d->rows[i].seq == d->sites_seq)
			t = d->rows[i].t_s;
	fprintf(f, "\n  top allocation sites by live bytes (sampled every ~%s allocated: estimates; at %.1f s)\n",
		fmt__bytes((uint64_t)strtoull(session__meta(d, "sample_bytes", "0"), NULL, 10), b1, sizeof(b1)), t);
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

static void report_text(FILE *f, const struct session_data *d)
{
	text_header(f, d);
	text_totals(f, last_row(d));
	text_waterfall(f, d);
	text_ledger(f, d);
	fprintf(f, "\n  diagnosis: %s: %s\n", d->diag_kind[0] ? d->diag_kind : "none",
		d->diag_text && *d->diag_text ? d->diag_text : "(no deep snapshot was recorded)");
	text_sites(f, d);
	fputc('\n', f);
}

/* ---- JSON ---- */

static void json_row(struct json *j, const struct session_row *r, int groups)
{
	json__obj(j, NULL);
	json__i64(j, "seq", r->seq);
	json__dbl(j, "t_s", r->t_s);
	for (int c = 0; c < session__ncols(); c++) {
		if (!(session__col_group(c) & groups))
			continue;
		if (session__col_real(c))
			json__dbl(j, session__col_name(c), r->v[c].r);
		else
			json__i64(j, session__col_name(c), r->v[c].i);
	}
	json__end_obj(j);
}

static void report_json(FILE *f, const struct session_data *d)
{
	const struct session_row *end = last_row(d);
	struct json j;
	int body = 0;

	/* `stat --json`'s document as recorded, and more keys in the same object */
	if (d->stat_json) {
		const char *s = d->stat_json, *e = s + strlen(s);

		while (*s && *s != '{')
			s++;
		while (e > s && e[-1] != '}')
			e--;
		if (*s == '{' && e > s + 1) {
			s++;
			e--;
			for (const char *p = s; p < e; p++)
				if (*p != ' ' && *p != '\n' && *p != '\t' && *p != '\r')
					body = 1;
			fputc('{', f);
			if (body)
				fwrite(s, 1, (size_t)(e - s), f);
		} else {
			fputc('{', f);
		}
	} else {
		fputc('{', f);
	}
	json__init(&j, f, 1);
	j.depth = 1;
	j.need_comma[1] = body;
	if (!body) {	/* no document recorded: the counters of the last snapshot */
		json__obj(&j, "totals");
		json__u64(&j, "allocs", U(end, "allocs"));
		json__u64(&j, "frees", U(end, "frees"));
		json__u64(&j, "bytes_allocated", U(end, "bytes_allocated"));
		json__u64(&j, "bytes_freed", U(end, "bytes_freed"));
		json__u64(&j, "failed_allocs", U(end, "failed_allocs"));
		json__u64(&j, "frees_unknown", U(end, "frees_unknown"));
		json__u64(&j, "free_null", U(end, "free_null"));
		json__end_obj(&j);
		json__obj(&j, "live");
		json__u64(&j, "count", U(end, "live_count"));
		json__u64(&j, "bytes", U(end, "live_bytes"));
		json__end_obj(&j);
	}
	json__obj(&j, "session");
	json__str(&j, "path", d->path);
	json__i64(&j, "snapshots", d->nrows);
	json__dbl(&j, "duration_s", end->t_s);
	json__bool(&j, "complete", !strcmp(session__meta(d, "complete", "0"), "1"));
	json__dbl(&j, "stat_t_s", d->stat_json_t);
	json__obj(&j, "meta");
	for (int i = 0; i < d->nmeta; i++)
		json__str(&j, d->meta_key[i], d->meta_val[i]);
	json__end_obj(&j);
	json__end_obj(&j);
	json__obj(&j, "peak");
	{
		static const char *const keys[] = { "live_bytes", "resident", "mapped", "rss_anon", "live_count" };

		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			const struct session_row *p = session__peak(d, COL(keys[i]));

			json__obj(&j, keys[i]);
			json__i64(&j, "value", session__rowi(p, COL(keys[i])));
			json__dbl(&j, "t_s", p->t_s);
			json__end_obj(&j);
		}
	}
	json__end_obj(&j);
	json__arr(&j, "series");
	for (long i = 0; i < d->nrows; i++)
		json_row(&j, &d->rows[i], ~0);
	json__end_arr(&j);
	json__arr(&j, "release_events");
	for (long i = 0; i < d->nevents; i++) {
		const struct session_event *e = &d->events[i];

		json__obj(&j, NULL);
		json__i64(&j, "seq", e->seq);
		json__dbl(&j, "t_s", e->t_s);
		json__str(&j, "kind", e->kind);
		json__str(&j, "name", e->name);
		json__i64(&j, "calls", e->calls);
		json__i64(&j, "bytes", e->bytes);
		json__i64(&j, "resident_bytes", e->resident);
		json__end_obj(&j);
	}
	json__end_arr(&j);
	json__end_obj(&j);
	json__finish(&j);
}

/* ---- CSV ---- */

static void csv_str(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static int report_csv(FILE *f, const struct session_data *d, const char *series)
{
	static const struct { const char *name; int groups; } sets[] = {
		{ "counters", SG_COUNTERS }, { "rates", SG_RATES }, { "memory", SG_MEMORY },
		{ "releases", SG_RELEASES }, { "all", ~0 },
	};
	int groups = 0;

	if (!strcmp(series, "events")) {
		fprintf(f, "seq,t_s,kind,name,calls,bytes,resident_bytes\n");
		for (long i = 0; i < d->nevents; i++) {
			const struct session_event *e = &d->events[i];

			fprintf(f, "%ld,%.3f,", e->seq, e->t_s);
			csv_str(f, e->kind);
			fputc(',', f);
			csv_str(f, e->name);
			fprintf(f, ",%" PRId64 ",%" PRId64 ",%" PRId64 "\n", e->calls, e->bytes, e->resident);
		}
		return 0;
	}
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		if (!strcmp(series, sets[i].name))
			groups = sets[i].groups;
	if (!groups)
		return -1;
	fprintf(f, "seq,t_s");
	for (int c = 0; c < session__ncols(); c++)
		if (session__col_group(c) & groups)
			fprintf(f, ",%s", session__col_name(c));
	fputc('\n', f);
	for (long i = 0; i < d->nrows; i++) {
		const struct session_row *r = &d->rows[i];

		fprintf(f, "%ld,%.3f", r->seq, r->t_s);
		for (int c = 0; c < session__ncols(); c++) {
			if (!(session__col_group(c) & groups))
				continue;
			if (session__col_real(c))
				fprintf(f, isfinite(r->v[c].r) ? ",%.6g" : ",", r->v[c].r);
			else
				fprintf(f, ",%" PRId64, r->v[c].i);
		}
		fputc('\n', f);
	}
	return 0;
}

/* ---- folded stacks and the flame graph ---- */

/* A frame as one folded field: no ';' (the separator), no line breaks. */
static void folded_frame(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s == ';' ? ':' : *s == '\n' || *s == '\r' ? ' ' : *s, f);
}

/* Live bytes by stack, or (alloc) the bytes each stack allocated over the whole
 * session, freed or not: the sites of the last deep snapshot, sampled estimates. */
static void report_folded(FILE *f, const struct session_data *d, int alloc)
{
	for (int i = 0; i < d->nsites; i++) {
		const struct session_site *x = &d->sites[i];
		uint64_t v = alloc ? x->bytes : site_live(x);

		if (!v)
			continue;
		if (!x->nframes)
			fputs("[no stack]", f);
		for (int fr = x->nframes - 1; fr >= 0; fr--) {
			folded_frame(f, x->frame[fr]);
			if (fr)
				fputc(';', f);
		}
		fprintf(f, " %" PRIu64 "\n", v);
	}
}

struct fnode {
	const char *name;
	uint64_t value;
	struct fnode *child, *next;
};

static struct fnode *fnode_add(struct fnode *parent, const char *name, uint64_t value)
{
	struct fnode *n;

	for (n = parent->child; n; n = n->next)
		if (!strcmp(n->name, name))
			break;
	if (!n) {
		n = calloc(1, sizeof(*n));
		if (!n)
			return NULL;
		n->name = name;
		n->next = parent->child;
		parent->child = n;
	}
	n->value += value;
	return n;
}

static void fnode_free(struct fnode *n)
{
	while (n) {
		struct fnode *next = n->next;

		fnode_free(n->child);
		free(n);
		n = next;
	}
}

static int fnode_depth(const struct fnode *n)
{
	int best = 0;

	for (const struct fnode *c = n->child; c; c = c->next) {
		int dd = fnode_depth(c);

		if (dd > best)
			best = dd;
	}
	return best + 1;
}

#define FG_W 1200.0
#define FG_ROW 18

static void flame_draw(FILE *f, const struct fnode *n, double x, int depth, double scale, uint64_t total)
{
	double w = (double)n->value * scale;
	unsigned h = 0;
	char b[32];

	if (w < 0.3)
		return;
	for (const char *p = n->name; *p; p++)
		h = h * 31 + (unsigned char)*p;
	fprintf(f, "<g><title>");
	chart__xml(f, n->name);
	fprintf(f, " (%s, %.1f%%)</title><rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"rgb(%u,%u,%u)\" rx=\"2\"/>",
		fmt__bytes(n->value, b, sizeof(b)), total ? 100.0 * (double)n->value / (double)total : 0, x,
		30 + depth * FG_ROW, w > 0.5 ? w - 0.5 : w, FG_ROW - 1, 205 + h % 50, 80 + (h >> 8) % 130, 40 + (h >> 16) % 50);
	if (w > 30) {
		int chars = (int)(w / 7) - 1;
		int len = (int)strlen(n->name);

		fprintf(f, "<text x=\"%.2f\" y=\"%d\">", x + 3, 30 + depth * FG_ROW + 13);
		if (len <= chars) {
			chart__xml(f, n->name);
		} else if (chars > 2) {
			char *cut = strndup(n->name, (size_t)(chars - 2));

			if (cut)
				chart__xml(f, cut);
			fputs("..", f);
			free(cut);
		}
		fputs("</text>", f);
	}
	fputs("</g>\n", f);
	for (const struct fnode *c = n->child; c; c = c->next) {
		flame_draw(f, c, x, depth + 1, scale, total);
		x += (double)c->value * scale;
	}
}

static int report_flamegraph(FILE *f, const struct session_data *d)
{
	struct fnode root = { .name = "all" };
	int depth, height;
	char b[32];

	for (int i = 0; i < d->nsites; i++) {
		const struct session_site *x = &d->sites[i];
		struct fnode *n = &root;
		uint64_t v = site_live(x);

		if (!v)
			continue;
		root.value += v;
		if (!x->nframes)
			n = fnode_add(n, "[no stack]", v);
		for (int fr = x->nframes - 1; fr >= 0 && n; fr--)
			n = fnode_add(n, x->frame[fr], v);
		if (!n) {
			fnode_free(root.child);
			return -ENOMEM;
		}
	}
	depth = fnode_depth(&root);
	height = 30 + depth * FG_ROW + 20;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%d\" viewBox=\"0 0 %.0f %d\" "
		   "font-family=\"monospace\" font-size=\"11\">\n"
		   "<rect width=\"100%%\" height=\"100%%\" fill=\"#fdfdf6\"/>\n"
		   "<text x=\"%.0f\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">live bytes by allocation stack: ",
		FG_W + 20, height, FG_W + 20, height, (FG_W + 20) / 2);
	chart__xml(f, d->path);
	fprintf(f, " (%s, sampled estimates)</text>\n", fmt__bytes(root.value, b, sizeof(b)));
	if (root.value)
		flame_draw(f, &root, 10, 0, FG_W / (double)root.value, root.value);
	else
		fprintf(f, "<text x=\"10\" y=\"50\">no live bytes at any sampled site</text>\n");
	fputs("</svg>\n", f);
	fnode_free(root.child);
	return 0;
}

/* ---- HTML ---- */

/* A column over the snapshots, for a chart; memory figures of snapshots whose
 * memory was not read are NaN (not drawn), not 0. NULL when out of memory. */
static double *col_values(const struct session_data *d, const char *col, int memory)
{
	double *v = malloc(sizeof(*v) * (size_t)d->nrows);
	int c = COL(col), valid = COL("mem_valid");

	for (long i = 0; v && i < d->nrows; i++)
		v[i] = memory && !session__rowi(&d->rows[i], valid) ? NAN : session__rowd(&d->rows[i], c);
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
		s[n] = (struct chart_series){ .label = cols[n].label, .color = cols[n].color, .t = t, .n = d->nrows,
					      .v = col_values(d, cols[n].col, cols[n].memory), .dashed = n == 3 };
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
	chart__lines(f, &(struct chart){ .title = "allocation and free rates", .id = "rates", .yunit = CU_BYTES_PER_S,
					 .tmax = last_row(d)->t_s, .series = s + 5, .nseries = 2 });
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

static int report_html(FILE *f, const struct session_data *d)
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
	html_kv(f, "command", session__meta(d, "command", "")[0] ? session__meta(d, "command", "")
								 : "(attached to a running process)");
	if (session__meta(d, "variant", NULL))
		html_kv(f, "compare variant", session__meta(d, "variant", ""));
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
	NROW("allocations", U(end, "allocs"), fmt__bytes(U(end, "bytes_allocated"), b1, sizeof(b1)));
	NROW("frees", U(end, "frees"), fmt__bytes(U(end, "bytes_freed"), b1, sizeof(b1)));
	NROW("failed allocations", U(end, "failed_allocs"), "");
	NROW("live blocks", U(end, "live_count"), fmt__bytes(U(end, "live_bytes"), b1, sizeof(b1)));
	NROW("untracked", U(end, "untracked"), "");
#undef NROW
	fprintf(f, "</table>\n<h2>Waterfall</h2>\n<table><tr><th></th><th>at peak resident (%.1f s)</th>"
		   "<th>at the end (%.1f s)</th></tr>\n", pk->t_s, end->t_s);
	for (size_t i = 0; i < sizeof(wf) / sizeof(wf[0]); i++)
		fprintf(f, "<tr><th>%s</th><td class=\"n\">%s</td><td class=\"n\">%s</td></tr>\n", wf[i],
			fmt__bytes(U(pk, wf[i]), b1, sizeof(b1)), fmt__bytes(U(end, wf[i]), b2, sizeof(b2)));
	fprintf(f, "<tr><th>fragmentation</th><td class=\"n\">%.0f%%</td><td class=\"n\">%.0f%%</td></tr></table>\n",
		100 * V(pk, "fragmentation"), 100 * V(end, "fragmentation"));

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
	fprintf(f, "<tr><th>malloc_trim()</th><td class=\"n\">%s</td><td></td><td class=\"n\">%s</td></tr>\n",
		fmt__num(U(end, "malloc_trim_calls"), n1, sizeof(n1)),
		fmt__bytes(U(end, "malloc_trim_resident"), b2, sizeof(b2)));
	fprintf(f, "<tr><th colspan=\"4\">by source (who made the calls)</th></tr>\n");
	for (int i = 0; i < FS_R__COUNT; i++) {
		char c[48], c2[48];

		snprintf(c, sizeof(c), "src_%s_calls", fs_src_names[i]);
		snprintf(c2, sizeof(c2), "src_%s_resident", fs_src_names[i]);
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
	fprintf(f, "</table>\n<p><small>fragscope %s</small></p>\n</body></html>\n", FRAGSCOPE_VERSION);
	return 0;
}

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

static void report_diff(FILE *f, const struct session_data *a, const struct session_data *b)
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

/* ---- the command ---- */

static FILE *open_out(const char *path)
{
	FILE *f = fopen(path, "we");

	if (!f)
		fs_err("create %s: %s", path, strerror(errno));
	return f;
}

static int close_out(FILE *f, const char *path)
{
	int bad = ferror(f);

	if (fclose(f) || bad) {
		fs_err("write %s: %s", path, strerror(errno ? errno : EIO));
		return -1;
	}
	return 0;
}

int cmd_report(int argc, char **argv)
{
	enum { M_TEXT, M_JSON, M_CSV, M_HTML, M_FOLDED, M_FLAME, M_DIFF };
	static const struct option longopts[] = {
		{ "json", no_argument, 0, 'j' },
		{ "csv", required_argument, 0, 'C' },
		{ "html", required_argument, 0, 'H' },
		{ "folded", optional_argument, 0, 'F' },
		{ "flamegraph", required_argument, 0, 'G' },
		{ "diff", no_argument, 0, 'D' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	struct session_data *d = NULL, *d2 = NULL;
	const char *arg = NULL, *path = "fragscope.db";
	char err[4096 + 512];
	int mode = M_TEXT, modes = 0, opt, ret = EXIT_FAIL, folded_alloc = 0;
	FILE *out = NULL;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "jvh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'j': mode = M_JSON; modes++; break;
		case 'C': mode = M_CSV; arg = optarg; modes++; break;
		case 'H': mode = M_HTML; arg = optarg; modes++; break;
		case 'F':
			mode = M_FOLDED;
			modes++;
			if (optarg && strcmp(optarg, "live") && strcmp(optarg, "alloc")) {
				fs_err("unknown --folded=%s (live or alloc)", optarg);
				return EXIT_USAGE;
			}
			folded_alloc = optarg && !strcmp(optarg, "alloc");
			break;
		case 'G': mode = M_FLAME; arg = optarg; modes++; break;
		case 'D': mode = M_DIFF; modes++; break;
		case 'v': fs_verbose++; break;
		case 'h':
			fputs(report_usage, stdout);
			return EXIT_OK;
		default:
			fs_err("see fragscope report --help");
			return EXIT_USAGE;
		}
	}
	if (modes > 1) {
		fs_err("give one of --json, --csv, --html, --folded, --flamegraph, --diff (see fragscope report --help)");
		return EXIT_USAGE;
	}
	if (mode == M_DIFF ? argc - optind != 2 : argc - optind > 1) {
		fs_err(mode == M_DIFF ? "--diff takes two session files (see fragscope report --help)"
				      : "one session file at most (see fragscope report --help)");
		return EXIT_USAGE;
	}
	if (mode == M_CSV && strcmp(arg, "events") && strcmp(arg, "counters") && strcmp(arg, "rates") &&
	    strcmp(arg, "memory") && strcmp(arg, "releases") && strcmp(arg, "all")) {
		fs_err("unknown series '%s' (counters, rates, memory, releases, all, events)", arg);
		return EXIT_USAGE;
	}
	if (optind < argc)
		path = argv[optind];
	d = session__load(path, err, sizeof(err));
	if (!d) {
		fs_err("%s", err);
		return EXIT_FAIL;
	}
	if (mode == M_DIFF) {
		d2 = session__load(argv[optind + 1], err, sizeof(err));
		if (!d2) {
			fs_err("%s", err);
			goto cleanup;
		}
	}
	switch (mode) {
	case M_TEXT: report_text(stdout, d); break;
	case M_JSON: report_json(stdout, d); break;
	case M_CSV: report_csv(stdout, d, arg); break;
	case M_FOLDED: report_folded(stdout, d, folded_alloc); break;
	case M_DIFF: report_diff(stdout, d, d2); break;
	case M_HTML:
	case M_FLAME:
		out = open_out(arg);
		if (!out)
			goto cleanup;
		if (mode == M_HTML ? report_html(out, d) : report_flamegraph(out, d)) {
			fs_err("%s: out of memory", arg);
			fclose(out);
			goto cleanup;
		}
		if (close_out(out, arg))
			goto cleanup;
		break;
	}
	if (fflush(stdout)) {
		fs_err("write: %s", strerror(errno));
		goto cleanup;
	}
	ret = EXIT_OK;
cleanup:
	session__data_free(d);
	session__data_free(d2);
	return ret;
}
