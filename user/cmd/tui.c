/* tui.c - draws `fragscope top` with ncurses: processes side by side, each with
 * its waterfall, rates, releases, history graph, diagnosis and allocation sites. */
#include <curses.h>
#include <langinfo.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "trace/calib.h"
#include "model/cost.h"
#include "out/render.h"
#include "trace/traced.h"
#include "model/sampled.h"
#include "cmd/tui.h"

enum { C_HEAD = 1, C_LIVE, C_HELD, C_RES, C_RET, C_WARN, C_DIM };

static int tui_on, utf8, colors;

/* Bars and graphs in eighths of a cell; ASCII stand-ins when the locale is not UTF-8. */
static const char *const eighths_u[8] = { "▏", "▎", "▍", "▌", "▋", "▊", "▉", "█" };
static const char *const spark_u[8] = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };
static const char *const spark_a[8] = { "_", ".", "-", "~", "=", "+", "*", "#" };

static const char *const sort_names[TOP_SORT__COUNT] = { "live bytes", "allocated bytes", "samples" };

const char *tui__sort_name(int sort)
{
	return sort >= 0 && sort < TOP_SORT__COUNT ? sort_names[sort] : "?";
}

int tui__init(void)
{
	setlocale(LC_ALL, "");
	utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");
	if (!initscr())
		return -1;
	tui_on = 1;
	cbreak();
	noecho();
	nodelay(stdscr, TRUE);
	keypad(stdscr, TRUE);
	curs_set(0);
	if (has_colors()) {
		colors = 1;
		start_color();
		use_default_colors();
		init_pair(C_HEAD, COLOR_BLACK, COLOR_CYAN);
		init_pair(C_LIVE, COLOR_GREEN, -1);
		init_pair(C_HELD, COLOR_YELLOW, -1);
		init_pair(C_RES, COLOR_CYAN, -1);
		init_pair(C_RET, COLOR_BLUE, -1);
		init_pair(C_WARN, COLOR_RED, -1);
		init_pair(C_DIM, COLOR_WHITE, -1);
	}
	return 0;
}

void tui__end(void)
{
	if (!tui_on)
		return;
	tui_on = 0;
	curs_set(1);
	endwin();
}

static int attr_of(int pair)
{
	return colors ? COLOR_PAIR(pair) : 0;
}

/* Writes at most w columns (UTF-8 aware: continuation bytes take no column). */
static void put(int y, int x, int w, int attr, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void put(int y, int x, int w, int attr, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	int cols = 0, i;

	if (w <= 0 || y < 0 || y >= LINES || x >= COLS)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (i = 0; buf[i]; i++) {
		if (buf[i] == '\n' || buf[i] == '\t')
			buf[i] = ' ';
		if (((unsigned char)buf[i] & 0xc0) != 0x80 && cols++ == w)
			break;
	}
	buf[i] = 0;
	attron(attr);
	mvaddstr(y, x, buf);
	attroff(attr);
}

/* A bar of v against max, w cells wide. */
static void bar(int y, int x, int w, uint64_t v, uint64_t max, int pair)
{
	char buf[1024];
	int o = 0;
	uint64_t e;

	if (w <= 0 || !max || !v)
		return;
	e = (uint64_t)((double)v / (double)max * w * 8 + 0.5);
	if (!e)
		e = 1;	/* something, however little */
	for (int c = 0; c < w && e && o < (int)sizeof(buf) - 8; c++) {
		int n = e >= 8 ? 8 : (int)e;
		const char *g = utf8 ? eighths_u[n - 1] : (n >= 4 ? "#" : "|");

		o += snprintf(buf + o, sizeof(buf) - (size_t)o, "%s", g);
		e -= (uint64_t)n;
	}
	put(y, x, w, attr_of(pair), "%s", buf);
}

static const struct top_point *hist_at(const struct top_proc *p, int i)	/* 0: oldest */
{
	return &p->hist[(p->hist_head - p->hist_n + i + p->hist_cap) % p->hist_cap];
}

/* The largest value of each of w time slots over the window ending at end_ns. */
static void hist_slots(const struct top_proc *p, uint64_t end_ns, uint64_t window_ns, int w, int live,
		       uint64_t *out, int *have)
{
	uint64_t start = end_ns > window_ns ? end_ns - window_ns : 0;
	int last = -1;

	for (int c = 0; c < w; c++)
		out[c] = 0, have[c] = 0;
	for (int i = 0; i < p->hist_n; i++) {
		const struct top_point *pt = hist_at(p, i);
		uint64_t v = live ? pt->live : pt->resident;
		int c;

		if (pt->ns < start || pt->ns > end_ns)
			continue;
		c = (int)((double)(pt->ns - start) / (double)window_ns * w);
		if (c >= w)
			c = w - 1;
		/* hold the level across empty slots since the previous point */
		for (int k = last + 1; last >= 0 && k < c; k++)
			out[k] = out[last], have[k] = 1;
		if (!have[c] || v > out[c])
			out[c] = v;
		have[c] = 1;
		last = c;
	}
}

static void spark(int y, int x, int w, const uint64_t *v, const int *have, uint64_t max, int pair)
{
	char buf[4096];
	int o = 0;

	for (int c = 0; c < w && o < (int)sizeof(buf) - 8; c++) {
		int lv;

		if (!have[c]) {
			buf[o++] = ' ';
			continue;
		}
		lv = max ? (int)((double)v[c] / (double)max * 8 + 0.999) : 0;
		lv = lv < 1 ? 1 : lv > 8 ? 8 : lv;
		o += snprintf(buf + o, sizeof(buf) - (size_t)o, "%s", utf8 ? spark_u[lv - 1] : spark_a[lv - 1]);
	}
	buf[o] = 0;
	put(y, x, w, attr_of(pair), "%s", buf);
}

static int cmp_sort;
static const struct fs_site_sym *cmp_sites;

static int cmp_site(const void *a, const void *b)
{
	const struct fs_site_sym *x = &cmp_sites[*(const int *)a], *y = &cmp_sites[*(const int *)b];
	int64_t kx, ky;

	switch (cmp_sort) {
	case TOP_SORT_BYTES:
		kx = (int64_t)x->bytes, ky = (int64_t)y->bytes;
		break;
	case TOP_SORT_SAMPLES:
		kx = (int64_t)x->samples, ky = (int64_t)y->samples;
		break;
	default:
		kx = x->live_bytes, ky = y->live_bytes;
	}
	if (kx != ky)
		return kx < ky ? 1 : -1;
	return *(const int *)a - *(const int *)b;
}

static const char *bytes_s(int64_t v, char *buf, size_t len)
{
	return fmt__bytes(v > 0 ? (uint64_t)v : 0, buf, len);
}

static double per_s(uint64_t v, uint64_t ns)
{
	return ns ? (double)v * 1e9 / (double)ns : 0;
}

/* y0: first row, h rows, columns [x, x+w). */
static void draw_proc(struct top_proc *p, int y0, int x, int w, int h, const struct tui_state *ui)
{
	struct fs_view v;
	const struct fs_target_info *ti;
	const struct fs_plan *plan;
	const struct fs_state *st;
	const struct fs_memory *m;
	const struct fs_snapshot *s, *d = &p->delta;
	char b1[32], b2[32], b3[32], b4[32], n1[32], n2[32], n3[32], ctr[700];
	int y = y0, ymax = y0 + h, lw = 11, vw = 11, bw;
	uint64_t max;

	traced__view(p->t, &v);
	ti = v.target;
	plan = v.plan;
	st = v.st;
	m = &st->mem;
	s = &st->snap;
#define ROW() if (y >= ymax) return; else y++
	put(y, x, w, A_BOLD, "PID %d  %s", ti->pid, ti->comm);
	if (ti->exited) {
		int l = (int)strlen(ti->comm) + snprintf(n1, sizeof(n1), "%d", ti->pid) + 7;

		put(y, x + l, w - l, attr_of(C_WARN) | A_BOLD | A_REVERSE, " exited ");
	}
	ROW();
	render__container(ti, ctr, sizeof(ctr));
	if (ctr[0]) {	/* in a container: its own PID, its cgroup */
		put(y, x, w, 0, "%s", ctr);
		ROW();
	}
	put(y, x, w, 0, "%s", p->cmdline);
	ROW();
	put(y, x, w, 0, "allocator %s  %s", plan->alloc_name, plan->object);
	ROW();
	if (*st->settings.malloc_conf || *st->settings.glibc_tunables || *st->settings.arena_max ||
	    *st->settings.tc_env || *st->settings.mi_env)
		put(y, x, w, 0, "settings %s%s%s%s%s%s %s %s", *st->settings.malloc_conf ? " MALLOC_CONF=" : "",
		    st->settings.malloc_conf, *st->settings.glibc_tunables ? " GLIBC_TUNABLES=" : "",
		    st->settings.glibc_tunables, *st->settings.arena_max ? " MALLOC_ARENA_MAX=" : "",
		    st->settings.arena_max, st->settings.tc_env, st->settings.mi_env);
	else
		put(y, x, w, attr_of(C_DIM), "settings (allocator defaults)");
	ROW();
	if (plan->allocator->heap_walk)	/* arenas counted */
		put(y, x, w, 0, "threads %d  arenas %d", p->threads, m->narenas);
	else
		put(y, x, w, 0, "threads %d", p->threads);
	ROW();
	ROW();

	/* the waterfall, bars against the address space (returned is a running total
	 * that can be many times it: its bar is clipped) */
	max = m->mapped;
	max = m->resident > max ? m->resident : max;
	/* live with the blocks from before attach fragscope knows of, a floor ('+') when
	 * more may be unseen (as --batch's LIVE) */
	max = m->live + m->pre_attach_live > max ? m->live + m->pre_attach_live : max;
	bw = w - lw - vw - 1;
	{
		const char *const label[5] = { m->unseen ? "live+" : "live", m->unseen ? "held free+" : "held free",
					       "mapped", "resident", "returned" };
		const uint64_t v[5] = { m->live + m->pre_attach_live, m->held_free, m->mapped, m->resident,
					m->returned };
		static const int pair[5] = { C_LIVE, C_HELD, C_DIM, C_RES, C_RET };

		for (int i = 0; i < 5; i++) {
			put(y, x, lw, 0, "%s", label[i]);
			put(y, x + lw, vw, A_BOLD, "%*s", vw - 1, fmt__bytes(v[i], b1, sizeof(b1)));
			if (m->valid || i == 0)
				bar(y, x + lw + vw + 1, bw, v[i] < max ? v[i] : max, max, pair[i]);
			ROW();
		}
	}
	if (m->valid)
		put(y, x, w, 0, "fragmentation %.1f%%  RssAnon %s: allocator %s, stacks %s, program %s, unknown %s%s",
		    memmodel__fragmentation(m) * 100, fmt__bytes(m->rss_anon, b1, sizeof(b1)),
		    fmt__bytes(m->own_resident[FS_OWN_ALLOCATOR], n1, sizeof(n1)),
		    fmt__bytes(m->own_resident[FS_OWN_STACK], b2, sizeof(b2)),
		    fmt__bytes(m->own_resident[FS_OWN_PROGRAM], b3, sizeof(b3)),
		    fmt__bytes(m->own_resident[FS_OWN_UNKNOWN], b4, sizeof(b4)),
		    st->mem_age_ns ? "  (memory figures from before the exit)" : "");
	if (m->valid && m->unseen) {
		ROW();
		put(y, x, w, attr_of(C_WARN), "unseen %s: allocator memory blocks from before attach may fill (not known "
		    "to be free; held free is a floor)", fmt__bytes(m->unseen, b1, sizeof(b1)));
	}
	else
		put(y, x, w, attr_of(C_WARN), "memory of the process unreadable");
	ROW();
	ROW();

	/* rates over the last interval */
	if (st->sampled) {	/* calls counted at entry; live from the samples */
		struct fs_sampled_est e;

		sampled__estimate(s, st->sample_bytes, sampled__duty(&st->win, &st->snap, NULL), &e);
		put(y, x, w, 0, "alloc/s %12s  %10s/s   sampled mode: live since attach ~%s +- %s",
		    fmt__num((uint64_t)per_s(d->c[FS_C_ALLOCS], d->mono_ns), n1, sizeof(n1)),
		    fmt__bytes((uint64_t)per_s(d->c[FS_C_ALLOC_BYTES], d->mono_ns), b1, sizeof(b1)),
		    fmt__bytes((uint64_t)e.live_bytes, b2, sizeof(b2)), fmt__bytes((uint64_t)e.live_stderr, b3, sizeof(b3)));
		ROW();
		put(y, x, w, 0, "free/s  %12s  (sizes of frees not known: blocks are sampled, 1 per ~%s)",
		    fmt__num((uint64_t)per_s(d->c[FS_C_FREES], d->mono_ns), n1, sizeof(n1)),
		    fmt__bytes(st->sample_bytes, b1, sizeof(b1)));
		ROW();
	} else if (st->light) {
		put(y, x, w, attr_of(C_WARN), "light mode: allocations and frees not counted; live %s",
		    st->lc.valid ? "from the heap census (chunk bytes in use)" : "not known");
		ROW();
		ROW();
	} else {
	put(y, x, w, 0, "alloc/s %12s  %10s/s", fmt__num((uint64_t)per_s(d->c[FS_C_ALLOCS], d->mono_ns), n1, sizeof(n1)),
	    fmt__bytes((uint64_t)per_s(d->c[FS_C_ALLOC_BYTES], d->mono_ns), b1, sizeof(b1)));
	ROW();
	put(y, x, w, 0, "free/s  %12s  %10s/s", fmt__num((uint64_t)per_s(d->c[FS_C_FREES], d->mono_ns), n1, sizeof(n1)),
	    fmt__bytes((uint64_t)per_s(d->c[FS_C_FREE_BYTES], d->mono_ns), b1, sizeof(b1)));
	ROW();
	}
	{
		uint64_t adv = 0;

		for (int a = 0; a < FS_A__COUNT; a++)
			if (a == FS_A_DONTNEED || a == FS_A_FREE)
				adv += d->k.adv[a].calls;
		put(y, x, w, 0, "released/interval  madvise %s  munmap %s  brk %s  = %s", fmt__num(adv, n1, sizeof(n1)),
		    fmt__num(d->k.sys[FS_S_MUNMAP].calls, n2, sizeof(n2)),
		    fmt__num(d->k.brk_shrink_calls, n3, sizeof(n3)), fmt__bytes(agg__returned(d), b1, sizeof(b1)));
	}
	ROW();
	if (!st->light) {
	put(y, x, w, 0, "allocs %s  frees %s  live blocks %s", fmt__num(s->c[FS_C_ALLOCS], n1, sizeof(n1)),
	    fmt__num(s->c[FS_C_FREES], n2, sizeof(n2)), fmt__num(agg__live_count(s), n3, sizeof(n3)));
	ROW();
	}
	put(y, x, w, s->c[FS_C_UNTRACKED] || agg__lost(s) ? attr_of(C_WARN) | A_BOLD : 0,
	    "untracked %s (%s)  lost %s%s", fmt__num(s->c[FS_C_UNTRACKED], n1, sizeof(n1)),
	    fmt__bytes(s->c[FS_C_UNTRACKED_BYTES], b1, sizeof(b1)), fmt__num(agg__lost(s), n2, sizeof(n2)),
	    agg__lost(s) ? "  live figures are a lower bound" : "");
	ROW();
	if (ti->children || ti->execs) {
		/* top watches the PID only: what it started is not in these figures */
		put(y, x, w, attr_of(C_WARN), "not traced: %llu child process%s born%s (fragscope stat --follow)",
		    (unsigned long long)ti->children, ti->children == 1 ? "" : "es",
		    ti->execs ? ", and it exec'd a new image" : "");
		ROW();
	}
	{	/* what the probes cost the target over the last interval */
		const struct fs_cost_rates *r = calib__rates();
		struct fs_cost_est e;

		if (p->have_delta && !cost__estimate(plan, d, !st->sys_tracepoints && plan->nsys == FS_S__COUNT,
						     (double)d->mono_ns / 1e9, r, &e))
			put(y, x, w, e.cpu_fraction >= 0.1 ? attr_of(C_WARN) : 0,
			    "probes cost the target about %s of a CPU (estimate: %s calls/s x ~%.1f us; %s)",
			    cost__percent(e.cpu_fraction, b1, sizeof(b1)),
			    fmt__num((uint64_t)e.calls_per_s, n1, sizeof(n1)), e.mean_ns / 1000,
			    r->measured ? "trap costs measured here" : "built-in trap costs");
		else
			put(y, x, w, attr_of(C_DIM), "probes cost the target: (after the first interval)");
	}
	ROW();
	ROW();

	/* history: resident against live, on one scale */
	{
		int gw = w - 6 > 1 ? w - 6 : 1, have_r[1024], have_l[1024];
		uint64_t vr[1024], vl[1024], top = 0, end = p->frozen ? p->last_ns : ui->now_ns;

		gw = gw > 1024 ? 1024 : gw;
		hist_slots(p, end, (uint64_t)ui->window_s * 1000000000ull, gw, 0, vr, have_r);
		hist_slots(p, end, (uint64_t)ui->window_s * 1000000000ull, gw, 1, vl, have_l);
		for (int c = 0; c < gw; c++) {
			top = vr[c] > top ? vr[c] : top;
			top = vl[c] > top ? vl[c] : top;
		}
		put(y, x, w, 0, "history, last %d %s (top %s)", ui->window_s >= 120 ? ui->window_s / 60 : ui->window_s,
		    ui->window_s >= 120 ? "min" : "s", fmt__bytes(top, b1, sizeof(b1)));
		ROW();
		put(y, x, 5, 0, "RSS");
		spark(y, x + 5, gw, vr, have_r, top, C_RES);
		ROW();
		put(y, x, 5, 0, "live");
		spark(y, x + 5, gw, vl, have_l, top, C_LIVE);
		ROW();
	}
	ROW();
	put(y, x, w, st->diag.kind ? attr_of(C_WARN) | A_BOLD : 0, "diagnosis %s: %s", memmodel__diag_name(st->diag.kind),
	    st->diag.text);
	ROW();
	ROW();

	/* allocation sites */
	if (!st->sample_bytes) {
		put(y, x, w, attr_of(C_DIM), "sites: stack sampling off (--sample-bytes 0)");
		return;
	}
	put(y, x, w, A_BOLD, "sites by %s (1 stack per %s allocated, %s%s%s)", tui__sort_name(ui->sort),
	    fmt__bytes(st->sample_bytes, b1, sizeof(b1)),
	    st->sites_live.rule == AGG_SITES_SCALED ? "scaled to the exact live total"
	    : st->sites_live.rule == AGG_SITES_CLAMPED && st->sites_live.est_sum > st->sites_live.exact
		    ? "scaled down to the exact live total" : "as sampled",
	    st->truncated_stacks ? "; truncated stacks: " : "",
	    st->truncated_stacks ? fmt__num((uint64_t)st->truncated_stacks, b3, sizeof(b3)) : "");
	ROW();
	put(y, x, w, A_UNDERLINE, "%10s %10s %8s  %s", "live~", "alloc~", "samples", "where");
	ROW();
	if (!st->nsites) {
		put(y, x, w, attr_of(C_DIM), "(none sampled yet)");
		return;
	}
	{
		int *order = calloc((size_t)st->nsites, sizeof(int));

		if (!order)
			return;
		for (int i = 0; i < st->nsites; i++)
			order[i] = i;
		cmp_sort = ui->sort;
		cmp_sites = st->sites;
		qsort(order, (size_t)st->nsites, sizeof(int), cmp_site);
		for (int i = 0; i < st->nsites && y < ymax; i++) {
			const struct fs_site_sym *x2 = &st->sites[order[i]];

			put(y, x, w, 0, "%10s %10s %8s  %s%s%s%s%s%s", bytes_s(x2->live_bytes, b1, sizeof(b1)),
			    fmt__bytes(x2->bytes, b2, sizeof(b2)), fmt__num(x2->samples, n1, sizeof(n1)),
			    x2->nframes ? x2->frame[0] : "(no stack)", x2->nframes > 1 ? " < " : "",
			    x2->nframes > 1 ? x2->frame[1] : "", x2->truncated[0] ? " [truncated: " : "",
			    x2->truncated, x2->truncated[0] ? "]" : "");
			y++;
		}
		free(order);
	}
#undef ROW
}

static void draw_help(void)
{
	static const char *const lines[] = {
		"fragscope top - keys",
		"",
		"  q        quit (also Ctrl-C)",
		"  space    pause / resume sampling",
		"  s        sort the sites: live bytes, allocated bytes, samples",
		"  t        history window: 1 min / 5 min",
		"  ?        this help (any key closes it)",
		"",
		"live: bytes the program holds; held free: resident allocator memory",
		"with no live data; returned: given back to the OS since attach;",
		"fragmentation: (resident - live) / resident. Sites are estimates",
		"from byte-sampled stacks (~ marks an estimate), scaled so that they",
		"sum to the exact live total; a stack is cut where frame pointers end.",
	};
	int n = (int)(sizeof(lines) / sizeof(lines[0])), w = 72, h = n + 2;
	int y0 = (LINES - h) / 2, x0 = (COLS - w) / 2;

	if (y0 < 1)
		y0 = 1;
	if (x0 < 0)
		x0 = 0;
	for (int i = 0; i < h && y0 + i < LINES; i++) {
		move(y0 + i, x0);
		for (int c = 0; c < w && x0 + c < COLS; c++) {
			int edge = c == 0 || c == w - 1, top = i == 0, bottom = i == h - 1;

			addch(top && c == 0 ? ACS_ULCORNER : top && edge ? ACS_URCORNER
			      : bottom && c == 0 ? ACS_LLCORNER : bottom && edge ? ACS_LRCORNER
			      : top || bottom ? ACS_HLINE : edge ? ACS_VLINE : ' ');
		}
		if (i > 0 && i < h - 1)
			put(y0 + i, x0 + 2, w - 4, i == 1 ? A_BOLD : 0, "%s", lines[i - 1]);
	}
}

void tui__draw(struct top_proc *p, int n, const struct tui_state *ui)
{
	char tbuf[16], left[160];
	static const char right[] = "s sort  t history  space pause  ? help  q quit";
	time_t now = time(NULL);
	int cw, rl = (int)strlen(right);

	erase();
	strftime(tbuf, sizeof(tbuf), "%H:%M:%S", localtime(&now));
	snprintf(left, sizeof(left), " fragscope top  %s  every %u ms  %d process%s%s", tbuf, ui->interval_ms, n,
		 n == 1 ? "" : "es", ui->paused ? "  PAUSED" : "");
	attron(attr_of(C_HEAD) | (colors ? 0 : A_REVERSE));
	mvhline(0, 0, ' ', COLS);
	attroff(attr_of(C_HEAD) | (colors ? 0 : A_REVERSE));
	put(0, 0, COLS, attr_of(C_HEAD) | (colors ? 0 : A_REVERSE) | A_BOLD, "%s", left);
	/* right-aligned, ending in the last column, when it fits beside the left part */
	if (COLS >= (int)strlen(left) + rl + 2)
		put(0, COLS - rl, rl, attr_of(C_HEAD) | (colors ? 0 : A_REVERSE), "%s", right);
	cw = n ? COLS / n : COLS;
	for (int i = 0; i < n; i++) {
		int x = i * cw;

		draw_proc(&p[i], 2, x + 1, cw - 2, LINES - 2, ui);
		if (i < n - 1)
			mvvline(1, x + cw - 1, ACS_VLINE, LINES - 1);
	}
	if (ui->note)
		put(LINES - 1, 0, COLS, attr_of(C_WARN), "%s", ui->note);
	if (ui->help)
		draw_help();
	refresh();
}

void tui__repaint(void)
{
	clearok(curscr, TRUE);
}
