/* cmd_top.c - `fragscope top`: watch one or more running processes live, full
 * screen (tui.c), or one line (or JSON object) per interval and process in batch. */
#include <arpa/inet.h>
#include <curses.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cmd/cmd.h"
#include "trace/calib.h"
#include "model/cost.h"
#include "util/json.h"
#include "util/log.h"
#include "util/parse.h"
#include "out/pprof.h"
#include "out/render.h"
#include "trace/traced.h"
#include "cmd/tui.h"
#include "cmd/promhttp.h"
#include "out/prom.h"
#include "model/container.h"
#include "model/procmem.h"
#include "trace/target.h"

#define TOP_MAX_PIDS 16
#define TOP_MAX_CGROUPS 8
#define TOP_DEEP_EVERY 5	/* intervals between deep samples (arenas, pages, sites) */
#define TOP_SITES 64		/* sites kept for the panel (re-sorted by the chosen key) */
#define TOP_JSON_SITES 10
#define TOP_HISTORY_S 300	/* the longest history window */

/* The batch columns, one table for the header and the help: name, printf width
 * (negative: left-aligned). */
#define TOP_COLUMNS(X) X("TIME", -8) X("PID", 7) X("COMMAND", -15) X("LIVE", 10) X("HELD_FREE", 10) \
	X("RESIDENT", 10) X("RETURNED", 10) X("ALLOC/S", 10) X("FREE/S", 10) X("STATE", -6) X("DIAGNOSIS", -22) \
	X("PROBES", 0)
#define TOP_COLUMN_ROW(n, w) { n, w },
static const struct { const char *name; int width; } top_cols[] = { TOP_COLUMNS(TOP_COLUMN_ROW) };

static const char top_usage[] =
	"usage: fragscope top [options] -p PID [-p PID ...] [--cgroup PATH ...]\n"
	"\n"
	"Watches running processes live, as top does: every allocation and release is\n"
	"counted exactly in the kernel, and every interval the view shows, per process:\n"
	"its command line, allocator and allocator settings (MALLOC_CONF, GLIBC_TUNABLES,\n"
	"MALLOC_ARENA_MAX), threads and glibc arenas; the memory waterfall with bars\n"
	"(live, held free, resident, mapped, returned); allocation and free rates (calls/s\n"
	"and bytes/s); the madvise, munmap and brk releases of the last interval; the\n"
	"fragmentation ratio; a graph of resident memory against live bytes over the last\n"
	"minute (or five); the current diagnosis; what could not be tracked; and the top\n"
	"allocation sites from sampled stacks, symbolized. Several PIDs stand side by side\n"
	"in columns, e.g. a glibc and a jemalloc build of one service under the same load.\n"
	"A process that exits keeps its last figures, marked \"exited\"; the others go on.\n"
	"With --cgroup, every process of a cgroup (and of the cgroups below it) is\n"
	"watched, and each interval the processes that entered it since are attached.\n"
	"A process in a container is watched by its PID on the host; its files are read\n"
	"through /proc/PID/root, and its PID inside its namespace and its cgroup are shown.\n"
	"\n"
	"When stdout is not a terminal, or with --batch, nothing is drawn: one line per\n"
	"interval and process is printed instead (the columns are listed below), or with\n"
	"--json one JSON object per line in the vocabulary of `fragscope stat --json`,\n"
	"plus \"time_ms\" (wall clock, ms since the epoch), \"interval\" (rates and\n"
	"releases of the last interval) and \"process\" (command line, threads): every\n"
	"key is listed below. Batch mode ends when every process has exited, after -n\n"
	"intervals, or on Ctrl-C. A process of a cgroup that cannot be traced gets one\n"
	"line, STATE skip and the reason (JSON: {\"time_ms\", \"target\", \"skipped\"}).\n"
	"\n"
	"options:\n"
	"  -p, --pid PID         a process to watch (repeat for up to 16, side by side)\n"
	"      --cgroup PATH     watch every process of a cgroup v2 and of the cgroups\n"
	"                        below it, following those that start in it (attached at\n"
	"                        the next interval) and exit (kept, marked exited); PATH:\n"
	"                        /sys/fs/cgroup/system.slice/x.service, or relative to\n"
	"                        the cgroup2 mount (system.slice/x.service, or as\n"
	"                        /proc/PID/cgroup names it). Repeatable. An empty cgroup\n"
	"                        is waited on; a process whose allocator cannot be traced\n"
	"                        (static without malloc, exited meanwhile, ...) is shown\n"
	"                        as skipped with the reason. At most 16 processes are\n"
	"                        watched at a time, -p ones included: a new one takes\n"
	"                        the place of the earliest watched that has exited;\n"
	"                        when all 16 run, it waits (said once) for one to exit.\n"
	"                        Batch mode then runs until -n or Ctrl-C\n"
	"  -i, --interval MS     refresh every MS milliseconds (default 1000, >= 10)\n"
	"  -b, --batch           print lines instead of drawing, even on a terminal\n"
	"  -j, --json            in batch mode, one JSON object per line and process\n"
	"  -n, --iterations N    stop after N intervals (default: until q, Ctrl-C, or\n"
	"                        in batch mode every process's exit)\n"
	"      --prometheus ADDR:PORT  serve the figures of every watched process at\n"
	"                        http://ADDR:PORT/metrics in Prometheus's text format\n"
	"                        (fragscope_* metrics, labels pid, comm, allocator, mode,\n"
	"                        cgroup, container); ADDR must be a loopback address\n"
	"                        (127.0.0.1, [::1]) unless --prometheus-public; IPv6 in\n"
	"                        brackets; port 0: any free port (said on stderr). top\n"
	"                        then runs until Ctrl-C or -n, even once every process\n"
	"                        has exited (their series end)\n"
	"      --prometheus-public  allow a non-loopback ADDR (0.0.0.0 or [::]: every\n"
	"                        interface): anyone who reaches it reads the processes'\n"
	"                        names, PIDs, cgroups, containers and memory figures\n"
	"                        (no authentication, no TLS)\n"
	"  -q, --quiet           no view at all (with --prometheus): only serve /metrics\n"
	"      --pprof FILE      at the end, write every site of every process as a gzipped\n"
	"                        pprof profile, samples labelled pid (see report --pprof)\n"
	FS_TRACE_OPTS_HELP
	"  -v                    more diagnostics on stderr (-vv debug, -vvv libbpf)\n"
	"  -h, --help            this text\n"
	"\n"
	"keys: q quit, space pause, s cycle the sort of the sites (live bytes, allocated\n"
	"bytes, samples), t history window (1 min / 5 min), ? help\n"
	"\n"
	"Figures: live is what the program holds (requested bytes, tracked since attach);\n"
	"held free, resident allocator memory holding no live byte; resident and mapped,\n"
	"the allocator's memory in RAM and in address space; returned, resident bytes given\n"
	"back to the OS since attach; fragmentation, (resident - live) / resident. Blocks\n"
	"allocated before attach are not in live: attach before the load to see it whole;\n"
	"held free then counts only memory they cannot fill, a floor ('+' in --batch).\n"
	"\n"
	"exit status: 0 ok, 1 failure, 2 usage\n";

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int count_threads(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* One interval of one process: counters (and, when deep, arenas, pages and sites),
 * the rates since the last sample, the history. An exited process is sampled once
 * more for its last counters, then frozen. */
static void sample(struct top_proc *p, int deep, int nsites)
{
	struct fs_view v;

	if (p->frozen)
		return;
	traced__view(p->t, &v);
	p->prev = *v.snap;
	if (traced__sample(p->t, deep, deep ? nsites : 0))
		return;
	p->last_ns = now_ns();
	if (p->prev.mono_ns) {
		agg__delta(&p->prev, v.snap, &p->delta);
		p->have_delta = 1;
	}
	if (v.target->exited) {
		p->frozen = 1;
	} else {
		p->threads = count_threads(v.target->pid);
		if (!*p->cmdline)
			procmem__cmdline(v.target->pid, p->cmdline, sizeof(p->cmdline));
	}
	if (v.st->mem.valid && !v.st->mem_age_ns) {
		struct top_point *pt = &p->hist[p->hist_head];

		pt->ns = p->last_ns;
		pt->resident = v.st->mem.resident;
		pt->live = v.st->mem.live + v.st->mem.pre_attach_live;
		p->hist_head = (p->hist_head + 1) % p->hist_cap;
		if (p->hist_n < p->hist_cap)
			p->hist_n++;
	}
}

static double rate(uint64_t v, uint64_t ns)
{
	return ns ? (double)v * 1e9 / (double)ns : 0;
}

static void batch_header(void)
{
	const struct fs_cost_rates *r = calib__rates();

	/* PROBES last: the columns before it keep their places */
	for (size_t i = 0; i < sizeof(top_cols) / sizeof(top_cols[0]); i++)
		printf("%s%*s", i ? " " : "", top_cols[i].width, top_cols[i].name);
	printf("\n");
	fprintf(stderr, "fragscope: PROBES: the CPU the probes cost the target, estimated: probed calls/s of the interval "
		"x trap cost a call (%s; the BPF programs' own work not included)\n",
		r->measured ? "trap costs measured here at start" : "trap costs from built-in constants, not measured here");
}

/* The probes' estimated cost over the last interval: 0, or -1 before the first. */
static int interval_cost(const struct top_proc *p, struct fs_cost_est *e)
{
	struct fs_view v;

	if (!p->have_delta)
		return -1;
	traced__view(p->t, &v);
	return cost__estimate(v.plan, &p->delta, !v.st->sys_tracepoints && v.plan->nsys == FS_S__COUNT,
			      (double)p->delta.mono_ns / 1e9, calib__rates(), e);
}

/* "1.5 MiB" -> "1.5MiB": one field per column. */
static const char *bytes_field(uint64_t v, char *buf, size_t len);

/* Held free, with a '+' when it is a floor (blocks from before attach unseen). */
static const char *held_field(const struct fs_memory *m, char *buf, size_t len)
{
	bytes_field(m->held_free, buf, len - 1);
	if (m->unseen)
		strcat(buf, "+");
	return buf;
}

/* Live: with the blocks from before attach fragscope knows of (glibc's mmapped chunks, a
 * census, jemalloc's allocated bytes), '+' when more of them may be unseen. memcached's
 * 413 MiB of slabs showed as "LIVE 0B" beside "HELD_FREE 0B". */
static const char *live_field(const struct fs_memory *m, char *buf, size_t len)
{
	bytes_field(m->live + m->pre_attach_live, buf, len - 1);
	if (m->unseen)
		strcat(buf, "+");
	return buf;
}

static const char *bytes_field(uint64_t v, char *buf, size_t len)
{
	char tmp[32], *o = buf;

	fmt__bytes(v, tmp, sizeof(tmp));
	for (const char *s = tmp; *s && (size_t)(o - buf) < len - 1; s++)
		if (*s != ' ')
			*o++ = *s;
	*o = 0;
	return buf;
}

static void batch_line(const struct top_proc *p)
{
	struct fs_view v;
	const struct fs_memory *m;
	const struct fs_snapshot *d = &p->delta;
	char tb[16], b1[32], b2[32], b3[32], b4[32];
	time_t now = time(NULL);

	traced__view(p->t, &v);
	m = &v.st->mem;
	strftime(tb, sizeof(tb), "%H:%M:%S", localtime(&now));
	struct fs_cost_est e;
	char pc[16] = "-";

	if (!interval_cost(p, &e))
		cost__percent(e.cpu_fraction, pc, sizeof(pc));
	if (v.st->light) {	/* calls not counted (light): '-'; live from the heap census: '~' */
		char lv[34] = "-", ar[24] = "-", fr[24] = "-";

		if (v.st->lc.valid)
			snprintf(lv, sizeof(lv), "~%s", bytes_field(m->live, b1, sizeof(b1)));
		else if (m->je_valid)	/* jemalloc's allocated bytes, as the waterfall's live */
			snprintf(lv, sizeof(lv), "~%s", bytes_field(m->je_allocated, b1, sizeof(b1)));
		if (v.st->sampled) {	/* counted at entry: exact */
			snprintf(ar, sizeof(ar), "%.0f", rate(d->c[FS_C_ALLOCS], d->mono_ns));
			snprintf(fr, sizeof(fr), "%.0f", rate(d->c[FS_C_FREES], d->mono_ns));
		}
		printf("%-8s %7d %-15s %10s %10s %10s %10s %10s %10s %-6s %-22s %s\n", tb, v.target->pid, v.target->comm,
		       lv, held_field(m, b2, sizeof(b2)), bytes_field(m->resident, b3, sizeof(b3)),
		       bytes_field(m->returned, b4, sizeof(b4)), ar, fr, v.target->exited ? "exited" : "run",
		       memmodel__diag_name(v.st->diag.kind), pc);
		return;
	}
	printf("%-8s %7d %-15s %10s %10s %10s %10s %10.0f %10.0f %-6s %-22s %s\n", tb, v.target->pid, v.target->comm,
	       live_field(m, b1, sizeof(b1)), held_field(m, b2, sizeof(b2)),
	       bytes_field(m->resident, b3, sizeof(b3)), bytes_field(m->returned, b4, sizeof(b4)),
	       rate(d->c[FS_C_ALLOCS], d->mono_ns), rate(d->c[FS_C_FREES], d->mono_ns),
	       v.target->exited ? "exited" : "run", memmodel__diag_name(v.st->diag.kind), pc);
}

/* One JSON line: the keys of `stat --json`, then top's own. The help lists the
 * keys by writing a line of zeros through this very function (top_json_keys). */
static void json_doc(FILE *f, const struct fs_view *view, const struct fs_snapshot *d, const char *cmdline,
		     int threads, long seq, uint64_t time_ms, const double *probe_frac)
{
	struct json j;
	uint64_t adv = 0;

	for (int a = 0; a < FS_A__COUNT; a++)
		if (a == FS_A_DONTNEED || a == FS_A_FREE)
			adv += d->k.adv[a].calls;
	json__init(&j, f, 0);
	json__obj(&j, NULL);
	json__u64(&j, "time_ms", time_ms);
	render__json_core(&j, view);	/* with view.st set, the memory keys too */
	json__obj(&j, "interval");
	json__i64(&j, "seq", seq);
	json__dbl(&j, "seconds", (double)d->mono_ns / 1e9);
	if (view->st && view->st->sampled) {	/* counted at entry; sizes of frees not known */
		json__dbl(&j, "allocs_per_s", rate(d->c[FS_C_ALLOCS], d->mono_ns));
		json__dbl(&j, "frees_per_s", rate(d->c[FS_C_FREES], d->mono_ns));
		json__dbl(&j, "bytes_allocated_per_s", rate(d->c[FS_C_ALLOC_BYTES], d->mono_ns));
		json__str(&j, "bytes_freed_per_s", NULL);
	} else if (view->st && view->st->light) {	/* light mode: calls are not counted */
		json__str(&j, "allocs_per_s", NULL);
		json__str(&j, "frees_per_s", NULL);
		json__str(&j, "bytes_allocated_per_s", NULL);
		json__str(&j, "bytes_freed_per_s", NULL);
	} else {
		json__dbl(&j, "allocs_per_s", rate(d->c[FS_C_ALLOCS], d->mono_ns));
		json__dbl(&j, "frees_per_s", rate(d->c[FS_C_FREES], d->mono_ns));
		json__dbl(&j, "bytes_allocated_per_s", rate(d->c[FS_C_ALLOC_BYTES], d->mono_ns));
		json__dbl(&j, "bytes_freed_per_s", rate(d->c[FS_C_FREE_BYTES], d->mono_ns));
	}
	json__u64(&j, "madvise_calls", adv);
	json__u64(&j, "munmap_calls", d->k.sys[FS_S_MUNMAP].calls);
	json__u64(&j, "brk_shrink_calls", d->k.brk_shrink_calls);
	json__u64(&j, "released_resident_bytes", agg__returned(d));
	if (probe_frac)
		json__dbl(&j, "probe_est_cpu_fraction", *probe_frac);	/* probe_cost: the whole trace */
	else
		json__str(&j, "probe_est_cpu_fraction", NULL);
	json__end_obj(&j);
	json__obj(&j, "process");
	json__str(&j, "cmdline", cmdline);
	json__i64(&j, "threads", threads);
	json__end_obj(&j);
	json__end_obj(&j);
	json__finish(&j);
}

static void json_line(const struct top_proc *p, long seq)
{
	struct fs_view view;
	struct timespec ts;
	struct fs_cost_est e;
	int have_cost = !interval_cost(p, &e);

	clock_gettime(CLOCK_REALTIME, &ts);
	traced__view(p->t, &view);
	json_doc(stdout, &view, &p->delta, p->cmdline, p->threads, seq,
		 (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000, have_cost ? &e.cpu_fraction : NULL);
}

/* Appends to out the keys at depth 1 of the JSON text js, and those at depth 2
 * inside the objects open names ("|interval|process|"): "a, b (x, y), c". */
static void json_keys(const char *js, const char *open, char *out, size_t len)
{
	int depth = 0, inner = 0;
	size_t o = strlen(out);

	for (const char *c = js; *c && o + 3 < len; c++) {
		if (*c == '"') {
			const char *k = c + 1, *e = k;

			while (*e && *e != '"')
				e += *e == '\\' && e[1] ? 2 : 1;
			if (!*e)
				break;
			if (e[1] == ':' && (depth == 1 || (depth == 2 && inner))) {
				int n = (int)(e - k), w;

				w = snprintf(out + o, len - o, "%s%.*s", o && out[o - 1] != '(' ? ", " : "", n, k);
				o = w > 0 && o + (size_t)w < len ? o + (size_t)w : len - 1;
				if (depth == 1) {
					char name[64];

					snprintf(name, sizeof(name), "|%.*s|", n, k);
					inner = strstr(open, name) != NULL;
				}
			}
			c = e;
		} else if (*c == '{' || *c == '[') {
			if (++depth == 2 && inner && *c == '{') {
				out[o++] = ' ';
				out[o++] = '(';
				out[o] = 0;
			}
		} else if (*c == '}' || *c == ']') {
			if (depth-- == 2 && inner && *c == '}') {
				out[o++] = ')';
				out[o] = 0;
				inner = 0;
			}
		}
	}
}

/* A list, wrapped at 80 columns, two spaces in. */
static void print_wrapped(FILE *f, const char *text)
{
	const char *line = text;

	while (*line) {
		const char *brk = line + strlen(line);

		if (strlen(line) > 76) {
			brk = NULL;
			for (const char *q = line; *q && q - line <= 76; q++)
				if (*q == ' ')
					brk = q;
			if (!brk)
				brk = line + strlen(line);
		}
		fprintf(f, "  %.*s\n", (int)(brk - line), line);
		line = *brk ? brk + 1 : brk;
	}
}

/* The keys of top's JSON lines, from a line of zeros written as real lines are. */
static void top_json_keys(FILE *f)
{
	struct fs_target_info info = { .pid = 0, .exit_code = -1 };
	struct fs_plan plan;
	struct fs_snapshot d;
	struct fs_state *st = calloc(1, sizeof(*st));
	struct fs_cost_rates rates;	/* the constants: help measures nothing */
	struct fs_view view = { .target = &info, .plan = &plan, .rates = &rates };
	char *buf = NULL, keys[4096] = "", keys_cols[256];
	size_t len = 0;
	FILE *m;

	memset(&plan, 0, sizeof(plan));
	memset(&d, 0, sizeof(d));
	cost__default_rates(&rates);
	m = st ? open_memstream(&buf, &len) : NULL;
	if (!m) {
		free(st);
		return;
	}
	view.snap = &st->snap;
	view.st = st;
	json_doc(m, &view, &d, "", 0, 0, 0, NULL);
	fclose(m);
	json_keys(buf, "|interval|process|", keys, sizeof(keys));
	fprintf(f, "\nbatch columns (--batch, without --json):\n");
	keys_cols[0] = 0;
	for (size_t i = 0; i < sizeof(top_cols) / sizeof(top_cols[0]); i++)
		snprintf(keys_cols + strlen(keys_cols), sizeof(keys_cols) - strlen(keys_cols), "%s%s", i ? ", " : "",
			 top_cols[i].name);
	print_wrapped(f, keys_cols);
	fprintf(f, "\nJSON keys of each line (--json; README explains those of stat --json):\n");
	print_wrapped(f, keys);
	free(buf);
	free(st);
}

/* The exposition of every process's last sample, swapped in for the next scrapes. */
static void publish(struct promhttp *srv, const struct top_proc *procs, int n)
{
	struct fs_view views[TOP_MAX_PIDS];
	struct prom_proc pp[TOP_MAX_PIDS];
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f) {
		fs_warn("--prometheus: out of memory: /metrics keeps the previous sample");
		return;
	}
	for (int i = 0; i < n; i++) {
		traced__view(procs[i].t, &views[i]);
		pp[i] = (struct prom_proc){ .v = &views[i] };
	}
	if (prom__write(f, pp, n) | fclose(f)) {
		fs_warn("--prometheus: cannot write the metrics: /metrics keeps the previous sample");
		free(buf);
		return;
	}
	promhttp__set(srv, buf, len);
}

static void *free_one(void *arg)
{
	traced__free(arg);
	return NULL;
}

/* Detaching takes seconds (uprobes leave one by one): the processes' tracers are
 * independent, so they are taken down side by side. */
/* --pprof: a last deep sample of the processes still running, with every site. */
static int write_pprof(const char *path, struct top_proc *procs, int n)
{
	struct fs_view views[TOP_MAX_PIDS];
	struct timespec now;
	char err[4096 + 256];

	for (int i = 0; i < n; i++) {
		if (!procs[i].frozen)
			traced__sample(procs[i].t, 1, INT_MAX);
		traced__view(procs[i].t, &views[i]);
	}
	clock_gettime(CLOCK_REALTIME, &now);
	if (pprof__write_views(path, views, n, (int64_t)now.tv_sec * 1000000000 + now.tv_nsec, err, sizeof(err))) {
		fs_err("%s", err);
		return -1;
	}
	return 0;
}

static void free_all(struct top_proc *procs, int n)
{
	pthread_t th[TOP_MAX_PIDS];
	int started[TOP_MAX_PIDS] = { 0 };

	for (int i = 0; procs && i < n; i++)
		if (procs[i].t && i > 0)
			started[i] = !pthread_create(&th[i], NULL, free_one, procs[i].t);
	for (int i = 0; procs && i < n; i++) {
		if (!started[i])
			traced__free(procs[i].t);
	}
	for (int i = 0; procs && i < n; i++) {
		if (started[i])
			pthread_join(th[i], NULL);
		free(procs[i].hist);
	}
}

/* Keys of the full-screen view. Returns 1 to quit. */
static int handle_keys(struct tui_state *ui, int *redraw)
{
	int ch;

	while ((ch = getch()) != ERR) {
		*redraw = 1;
		if (ui->help && ch != KEY_RESIZE) {
			ui->help = 0;
			continue;
		}
		switch (ch) {
		case 'q':
		case 'Q':
			return 1;
		case ' ':
			ui->paused = !ui->paused;
			break;
		case 's':
			ui->sort = (ui->sort + 1) % TOP_SORT__COUNT;
			break;
		case 't':
			ui->window_s = ui->window_s == 60 ? TOP_HISTORY_S : 60;
			break;
		case '?':
		case 'h':
			ui->help = 1;
			break;
		default:	/* KEY_RESIZE among them: ncurses has the new size */
			break;
		}
	}
	return 0;
}

/* The start time of pid (/proc/PID/stat, clock ticks since boot): with the PID,
 * one process (a PID reused later is another). 0 if it is gone. */
static unsigned long long start_time(pid_t pid)
{
	unsigned long long v = 0;

	return procmem__stat_field(pid, 22, &v) ? 0 : v;
}

/* What top watches: processes given with -p and those of the cgroups. */
struct top_watch {
	struct top_proc procs[TOP_MAX_PIDS];
	int n;
	struct {
		char dir[PATH_MAX];	/* in the cgroup2 file system */
		char path[PATH_MAX];	/* as /proc/PID/cgroup names it */
		int said_empty;
	} cg[TOP_MAX_CGROUPS];
	int ncg;
	struct {
		pid_t pid;
		unsigned long long start;
		int no_room;	/* skipped for want of room: tried again when there is */
	} *seen;		/* attached or skipped */
	int nseen, seen_cap;
	pid_t *list;		/* the cgroups' processes at the last scan */
	int nlist, list_cap;
	const struct fs_trace_opts *topts;
	unsigned interval_ms;
	int json, quiet, screen;
	char note[512];		/* the full-screen view's last line: waiting, skipped */
	int note_waiting;	/* the note is cgroup N-1's wait, cleared when it has a process */
};

/* The process pid started at start among those seen (attached or skipped): its
 * index, recorded now if it is new (*is_new set). -1 out of memory. */
static int watch__seen(struct top_watch *w, pid_t pid, unsigned long long start, int *is_new)
{
	*is_new = 0;
	for (int i = 0; i < w->nseen; i++)
		if (w->seen[i].pid == pid && w->seen[i].start == start)
			return i;
	if (w->nseen == w->seen_cap) {
		int cap = w->seen_cap ? w->seen_cap * 2 : 64;
		void *n = realloc(w->seen, sizeof(*w->seen) * (size_t)cap);

		if (!n) {
			fs_warn("PID %d: out of memory: not attached", pid);
			return -1;
		}
		w->seen = n;
		w->seen_cap = cap;
	}
	w->seen[w->nseen].pid = pid;
	w->seen[w->nseen].start = start;
	w->seen[w->nseen].no_room = 0;
	*is_new = 1;
	return w->nseen++;
}

/* Traces pid into the next slot. 0, or -1 with the cause in err. */
static int watch__add(struct top_watch *w, pid_t pid, char *err, size_t errlen)
{
	struct top_proc *p = &w->procs[w->n];

	memset(p, 0, sizeof(*p));
	p->t = traced__start(pid, NULL, w->topts, err, errlen);
	if (!p->t)
		return -1;
	p->hist_cap = (int)(TOP_HISTORY_S * 1000 / w->interval_ms) + 2;
	p->hist_cap = p->hist_cap > 30002 ? 30002 : p->hist_cap;
	p->hist = calloc((size_t)p->hist_cap, sizeof(*p->hist));
	if (!p->hist) {
		traced__free(p->t);
		p->t = NULL;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	procmem__cmdline(pid, p->cmdline, sizeof(p->cmdline));
	w->n++;
	return 0;
}

/* Room for pid: the earliest watched process that has exited leaves the view (its
 * series ended already), so that a cgroup's churn does not fill it with the exited. */
static void watch__evict(struct top_watch *w, pid_t pid)
{
	for (int i = 0; i < w->n; i++) {
		struct fs_view v;

		if (!w->procs[i].frozen)
			continue;
		traced__view(w->procs[i].t, &v);
		fs_info("PID %d (%s) exited: it leaves the view for PID %d", v.target->pid, v.target->comm, pid);
		traced__free(w->procs[i].t);
		free(w->procs[i].hist);
		memmove(&w->procs[i], &w->procs[i + 1], sizeof(w->procs[0]) * (size_t)(w->n - i - 1));
		w->n--;
		return;
	}
}

/* A process of a cgroup that is not watched, and why: on stderr (the full-screen
 * view's last line), and as a line of its own in batch mode. */
static void watch__skipped(struct top_watch *w, pid_t pid, const char *cgroup, const char *why)
{
	struct fs_target_info ti = { .pid = pid };
	char tb[16];
	time_t now = time(NULL);

	if (target__comm(pid, ti.comm, sizeof(ti.comm)))
		snprintf(ti.comm, sizeof(ti.comm), "?");
	container__read(pid, &ti.ctr);
	if (ti.ctr.cgroup[0])	/* its own: the watched one or one below */
		cgroup = ti.ctr.cgroup;
	if (w->screen) {
		snprintf(w->note, sizeof(w->note), "skipped PID %d (%s) of cgroup %s: %s", pid, ti.comm, cgroup, why);
		w->note_waiting = 0;
	} else {
		fs_warn("PID %d (%s) of cgroup %s skipped: %s", pid, ti.comm, cgroup, why);
	}
	if (w->screen || w->quiet)
		return;
	if (w->json) {
		struct timespec ts;
		struct json j;

		clock_gettime(CLOCK_REALTIME, &ts);
		json__init(&j, stdout, 0);
		json__obj(&j, NULL);
		json__u64(&j, "time_ms", (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
		json__obj(&j, "target");
		json__i64(&j, "pid", pid);
		render__json_container(&j, &ti.ctr);
		json__str(&j, "comm", ti.comm);
		json__end_obj(&j);
		json__str(&j, "skipped", why);
		json__end_obj(&j);
		json__finish(&j);
	} else {
		strftime(tb, sizeof(tb), "%H:%M:%S", localtime(&now));
		printf("%-8s %7d %-15s %10s %10s %10s %10s %10s %10s %-6s %s\n", tb, pid, ti.comm, "-", "-", "-", "-",
		       "-", "-", "skip", why);
	}
	fflush(stdout);
}

/* The processes that entered the watched cgroups since the last scan are attached
 * (or skipped, saying why). The scan reads each cgroup.procs below them. */
static void watch__scan(struct top_watch *w)
{
	pid_t self = getpid();

	for (int c = 0; c < w->ncg; c++) {
		int r, found = 0;

		w->nlist = 0;
		r = container__cgroup_procs(w->cg[c].dir, &w->list, &w->nlist, &w->list_cap);
		if (r) {
			if (!w->cg[c].said_empty)
				fs_warn("cgroup %s: %s (read again every interval)", w->cg[c].path, strerror(-r));
			w->cg[c].said_empty = 1;
			continue;
		}
		for (int i = 0; i < w->nlist; i++) {
			pid_t pid = w->list[i];
			unsigned long long st;
			char err[512];
			int k, is_new;

			if (pid == self)
				continue;
			found = 1;
			st = start_time(pid);
			if (!st)
				continue;	/* gone already */
			k = watch__seen(w, pid, st, &is_new);
			if (k < 0 || (!is_new && !w->seen[k].no_room))
				continue;	/* attached, or skipped for good */
			if (w->n == TOP_MAX_PIDS)
				watch__evict(w, pid);
			if (w->n == TOP_MAX_PIDS) {
				if (w->seen[k].no_room)
					continue;	/* said already; tried again while there is no room */
				w->seen[k].no_room = 1;
				snprintf(err, sizeof(err), "already watching %d running processes (top's limit; "
					 "attached when one exits)", TOP_MAX_PIDS);
				watch__skipped(w, pid, w->cg[c].path, err);
				continue;
			}
			w->seen[k].no_room = 0;
			if (watch__add(w, pid, err, sizeof(err)))
				watch__skipped(w, pid, w->cg[c].path, err);
			else
				fs_info("watching PID %d of cgroup %s", pid, w->cg[c].path);
		}
		if (found && w->note_waiting == c + 1) {	/* it has one now */
			w->note[0] = 0;
			w->note_waiting = 0;
		}
		if (!found && !w->cg[c].said_empty) {
			/* not an error: processes may come */
			if (w->screen) {
				snprintf(w->note, sizeof(w->note), "cgroup %s has no process yet: waiting for one",
					 w->cg[c].path);
				w->note_waiting = c + 1;
			} else {
				fs_warn("cgroup %s has no process yet: waiting for one", w->cg[c].path);
			}
			w->cg[c].said_empty = 1;
		}
	}
}

int cmd_top(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, 0, 'p' },
		{ "cgroup", required_argument, 0, 'C' },
		{ "interval", required_argument, 0, 'i' },
		{ "batch", no_argument, 0, 'b' },
		{ "json", no_argument, 0, 'j' },
		{ "iterations", required_argument, 0, 'n' },
		{ "prometheus", required_argument, 0, 'P' },
		{ "prometheus-public", no_argument, 0, 'U' },
		{ "quiet", no_argument, 0, 'q' },
		{ "pprof", required_argument, 0, 'F' },
		FS_TRACE_LONGOPTS,
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	struct fs_trace_opts topts = FS_TRACE_OPTS_DEFAULT;
	struct top_watch *wt = NULL;
	struct top_proc *procs;
	struct tui_state ui = { .sort = TOP_SORT_LIVE, .window_s = 60, .interval_ms = 1000 };
	pid_t pids[TOP_MAX_PIDS];
	int npids = 0, batch = 0, json = 0, opt, idx, ret = EXIT_FAIL, screen = 0, keys, sig = 0;
	long iterations = 0, seq = 0;
	char err[512] = "";
	const char *pprof = NULL;
	uint64_t next_ns;
	struct fs_waiter *w;
	struct sockaddr_storage prom_addr;
	const char *prom_arg = NULL;
	int prom_public = 0, quiet = 0;
	struct promhttp *srv = NULL;
	const char *cg_args[TOP_MAX_CGROUPS];
	int ncg = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+:p:i:bjn:qvh", longopts, &idx)) != -1) {
		switch (opt) {
		case 'p':
			if (npids == TOP_MAX_PIDS) {
				fs_err("too many PIDs (at most %d)", TOP_MAX_PIDS);
				return EXIT_USAGE;
			}
			if (traced__parse_pid(optarg, &pids[npids]))
				return EXIT_USAGE;
			for (int i = 0; i < npids; i++)
				if (pids[i] == pids[npids]) {
					fs_err("PID %d given twice", pids[i]);
					return EXIT_USAGE;
				}
			npids++;
			break;
		case 'C':
			if (ncg == TOP_MAX_CGROUPS) {
				fs_err("too many cgroups (at most %d)", TOP_MAX_CGROUPS);
				return EXIT_USAGE;
			}
			cg_args[ncg++] = optarg;
			break;
		case 'i': {
			double v;

			if (parse__interval("-i", optarg, 10, 3600000, &v))
				return EXIT_USAGE;
			ui.interval_ms = (unsigned)v;
			break;
		}
		case 'b':
			batch = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'n': {
			uint64_t v;

			if (parse__count("iteration count", "-n", optarg, 1, LONG_MAX, &v))
				return EXIT_USAGE;
			iterations = (long)v;
			break;
		}
		case 'P':
			if (promhttp__parse("--prometheus", optarg, &prom_addr))
				return EXIT_USAGE;
			prom_arg = optarg;
			break;
		case 'U':
			prom_public = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'F':
			pprof = optarg;
			break;
		case 'h':
			fputs(top_usage, stdout);
			top_json_keys(stdout);
			return EXIT_OK;
		default: {
			int r = traced__shared_opt(opt, opt == 'L' ? longopts[idx].name : NULL, optarg, &topts,
						   "top", top_usage);

			if (r >= 0)
				return r;
			break;
		}
		}
	}
	if (optind < argc) {
		fs_err("unexpected argument '%s': top watches running processes, give -p PID (see fragscope top --help)",
		       argv[optind]);
		return EXIT_USAGE;
	}
	if (!npids && !ncg) {
		fs_err("nothing to watch: give -p PID or --cgroup PATH (see fragscope top --help)");
		return EXIT_USAGE;
	}
	if (traced__check_opts("top", &topts))
		return EXIT_USAGE;
	if (quiet && !prom_arg) {
		fs_err("--quiet shows nothing: it goes with --prometheus ADDR:PORT (see fragscope top --help)");
		return EXIT_USAGE;
	}
	if (quiet && (batch || json)) {
		fs_err("--quiet draws no view and prints no line: not with --batch or --json");
		return EXIT_USAGE;
	}
	if (prom_arg && !promhttp__loopback(&prom_addr) && !prom_public) {
		fs_err("--prometheus %s: not a loopback address; add --prometheus-public to serve the processes' "
		       "figures to every host that can reach it", prom_arg);
		return EXIT_USAGE;
	}
	if (prom_public && !prom_arg) {
		fs_err("--prometheus-public goes with --prometheus ADDR:PORT");
		return EXIT_USAGE;
	}
	if (json || quiet)
		batch = 1;
	if (!isatty(STDOUT_FILENO))
		batch = 1;
	if (traced__can_trace())
		return EXIT_FAIL;

	wt = calloc(1, sizeof(*wt));
	if (!wt) {
		fs_err("out of memory");
		return EXIT_FAIL;
	}
	procs = wt->procs;
	topts.cgroup_watch = ncg > 0;
	wt->topts = &topts;
	wt->interval_ms = ui.interval_ms;
	wt->json = json;
	wt->quiet = quiet;
	wt->screen = !batch;
	for (int i = 0; i < ncg; i++) {
		/* every cgroup checked before anything is attached: a typo fails at once */
		if (container__cgroup_dir(cg_args[i], wt->cg[i].dir, sizeof(wt->cg[i].dir), wt->cg[i].path,
					  sizeof(wt->cg[i].path), err, sizeof(err))) {
			fs_err("%s", err);
			free(wt);
			return EXIT_USAGE;
		}
		wt->ncg++;
	}
	w = traced__waiter_new();
	if (!w) {
		free(wt);
		return EXIT_FAIL;
	}
	for (int i = 0; i < npids; i++) {
		if (watch__add(wt, pids[i], err, sizeof(err))) {
			fs_err("%s", err);
			goto cleanup;
		}
		int is_new;

		watch__seen(wt, pids[i], start_time(pids[i]), &is_new);	/* not attached twice by a cgroup */
	}
	if (batch && !json && !quiet)	/* before any line, a skipped process's among them */
		batch_header();
	watch__scan(wt);
	if (prom_arg) {
		srv = promhttp__start(&prom_addr, err, sizeof(err));
		if (!srv) {
			fs_err("%s", err);
			goto cleanup;
		}
		/* always said: with port 0 it is the only way to know where */
		promhttp__name(&prom_addr, promhttp__port(srv), err, sizeof(err));
		fprintf(stderr, "fragscope: serving http://%s/metrics\n", err);
	}
	if (!batch) {
		if (tui__init()) {
			fs_err("cannot draw on this terminal (TERM=%s): use --batch", getenv("TERM") ?: "unset");
			goto cleanup;
		}
		screen = 1;
	}
	keys = screen && isatty(STDIN_FILENO);

	next_ns = now_ns();
	for (;;) {
		int all_exited = 1, quit = 0, redraw = 0;
		uint64_t t;

		if (!ui.paused) {
			int deep = seq % TOP_DEEP_EVERY == 0;

			if (wt->ncg && seq) {
				int before = wt->nseen;

				watch__scan(wt);	/* processes that entered the cgroups */
				if (screen && wt->nseen != before)
					tui__repaint();	/* attaching said things on stderr */
			}
			ui.note = wt->note[0] ? wt->note : NULL;
			for (int i = 0; i < wt->n; i++) {
				struct fs_view v;

				sample(&procs[i], deep, batch ? TOP_JSON_SITES : TOP_SITES);
				traced__view(procs[i].t, &v);
				all_exited &= v.target->exited;	/* as sampled */
			}
			seq++;
			if (srv)
				publish(srv, procs, wt->n);
			if (screen) {
				redraw = 1;
			} else if (!quiet) {
				for (int i = 0; i < wt->n; i++)
					if (json)
						json_line(&procs[i], seq);
					else
						batch_line(&procs[i]);
				fflush(stdout);
			}
		} else {
			all_exited = 0;
		}
		/* watching cgroups, processes may still come: until -n or Ctrl-C */
		if ((iterations && seq >= iterations) || (!screen && all_exited && !srv && !wt->ncg)) {
			if (screen) {
				ui.now_ns = now_ns();
				tui__draw(procs, wt->n, &ui);
			}
			break;
		}
		next_ns += (uint64_t)ui.interval_ms * 1000000ull;
		t = now_ns();
		if (next_ns < t)	/* sampling took longer than the interval: no burst to catch up */
			next_ns = t + (uint64_t)ui.interval_ms * 1000000ull;
		/* wait for the next interval, answering keys, resizes and signals meanwhile */
		while (!quit) {
			int wake;

			/* keys first: a resize (ncurses' SIGWINCH handler) shows up here as KEY_RESIZE */
			if (screen && handle_keys(&ui, &redraw)) {
				quit = 1;
				break;
			}
			if (screen && redraw) {
				ui.now_ns = now_ns();
				tui__draw(procs, wt->n, &ui);
				redraw = 0;
			}
			t = now_ns();
			if (t >= next_ns)
				break;
			/* keys (and resizes: curses' handler interrupts the wait) come back as input */
			wake = traced__wait(w, NULL, keys ? STDIN_FILENO : -1, (double)(next_ns - t) / 1e9, &sig);
			if (wake == FS_WAKE_SIGNAL || wake == FS_WAKE_ERROR) {
				quit = 1;
				break;
			}
		}
		if (quit)
			break;
	}
	if (screen) {
		tui__end();
		screen = 0;
	}
	if (pprof && write_pprof(pprof, procs, wt->n))
		goto cleanup;
	ret = EXIT_OK;
cleanup:
	if (screen)
		tui__end();
	promhttp__stop(srv);
	free_all(procs, wt->n);
	free(wt->seen);
	free(wt->list);
	free(wt);
	traced__waiter_free(w);
	return ret;
}
