/* cmd_compare.c - `fragscope compare`: the same workload under glibc and jemalloc
 * variants, each traced and recorded, side by side, with a verdict. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "chart.h"
#include "fragscope.h"
#include "json.h"
#include "log.h"
#include "render.h"
#include "session.h"
#include "traced.h"

#define JEMALLOC_LIB "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"	/* Debian's libjemalloc2 */

static const char *jemalloc_lib = JEMALLOC_LIB;
#define MAX_VARIANTS 16
#define MAX_POINTS 4096
#define DEEP_EVERY 8	/* intervals between deep samples (sites, histograms, diagnosis) */

static const char compare_usage[] =
	"usage: fragscope compare [options] -- COMMAND [ARGS...]\n"
	"\n"
	"Would this program keep less memory under jemalloc, or with other settings, and\n"
	"why? Runs COMMAND once per allocator variant, each traced from its first\n"
	"instruction and recorded as a session, with the same arguments and environment\n"
	"otherwise. For each: the peak RSS, the RSS when the load ends (the first interval\n"
	"without allocations, or the end of --load), the RSS after --idle more seconds, live\n"
	"bytes at those moments, fragmentation, bytes returned to the OS, page faults, time\n"
	"in madvise, wall time and allocation rate (a memory win that costs speed shows).\n"
	"Then a verdict, and the session files for `fragscope report --diff`.\n"
	"\n"
	"A COMMAND that keeps running after its load (a server) gets SIGTERM after the idle\n"
	"period; one that exits ends its variant.\n"
	"\n"
	"options:\n"
	"      --variants LIST   comma separated (default glibc,glibc-arena2,jemalloc,jemalloc-bg):\n"
	"                          glibc         glibc malloc, defaults\n"
	"                          glibc-arena2  glibc with MALLOC_ARENA_MAX=2\n"
	"                          jemalloc      LD_PRELOAD of jemalloc (--jemalloc)\n"
	"                          jemalloc-bg   jemalloc, MALLOC_CONF=background_thread:true,dirty_decay_ms:1000\n"
	"                        or your own: NAME=glibc[:TUNABLES] (GLIBC_TUNABLES) or\n"
	"                        NAME=jemalloc[:CONF] (MALLOC_CONF), e.g.\n"
	"                        trim=glibc:glibc.malloc.trim_threshold=65536\n"
	"      --idle SECS       keep watching SECS after the load ends (default 5)\n"
	"      --jemalloc PATH   the jemalloc library to preload (default " JEMALLOC_LIB ")\n"
	"      --load 'CMD'      a separate load command (run with sh -c) against each\n"
	"                        variant, started 1 s after COMMAND; its end ends the load\n"
	"  -i, --interval MS     sampling interval (default 250)\n"
	"  -o, --output DIR      where the sessions go (default fragscope-compare)\n"
	"      --timeout SECS    longest run of one variant (default 600)\n"
	"  -j, --json            the table as one JSON document on stdout\n"
	"      --sample-bytes N  stack sampling of every run (default 524288; 0 off)\n"
	"      --max-live N      capacity of the live-allocation map (default 1048576)\n"
	"      --html OUT.html   the comparison as one page, RSS curves on one chart\n"
	"  -v                    more diagnostics on stderr\n"
	"  -h, --help            this text\n"
	"\n"
	"exit status: 0 if every variant ran, 1 if one failed (the others are still\n"
	"compared), 2 usage\n";

struct variant {
	char name[32];
	int jemalloc;
	char conf[256];		/* MALLOC_CONF or GLIBC_TUNABLES */
	char arena_max[16];
	/* results */
	int ran;
	char error[256];
	char session[4200];
	uint64_t peak_rss, rss_end, rss_idle, live_end, live_idle, returned, faults, madvise_ns;
	uint64_t allocs_load, untracked;
	double frag_idle, wall_s, load_s;
	int narenas, exit_code, exited;
	char diag_kind[24];
	char diag[512];
	int npoints;
	float t[MAX_POINTS], rss[MAX_POINTS], live[MAX_POINTS];
};

static volatile int stop_all;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int parse_variant(const char *spec, struct variant *v)
{
	const char *eq = strchr(spec, '=');

	memset(v, 0, sizeof(*v));
	if (!eq) {
		snprintf(v->name, sizeof(v->name), "%s", spec);
		if (!strcmp(spec, "glibc"))
			return 0;
		if (!strcmp(spec, "glibc-arena2")) {
			snprintf(v->arena_max, sizeof(v->arena_max), "2");
			return 0;
		}
		if (!strcmp(spec, "jemalloc")) {
			v->jemalloc = 1;
			return 0;
		}
		if (!strcmp(spec, "jemalloc-bg")) {
			v->jemalloc = 1;
			snprintf(v->conf, sizeof(v->conf), "background_thread:true,dirty_decay_ms:1000");
			return 0;
		}
		return -1;
	}
	if (eq == spec || (size_t)(eq - spec) >= sizeof(v->name))
		return -1;
	snprintf(v->name, sizeof(v->name), "%.*s", (int)(eq - spec), spec);
	if (!strncmp(eq + 1, "glibc", 5) && (eq[6] == 0 || eq[6] == ':')) {
		if (eq[6] == ':')
			snprintf(v->conf, sizeof(v->conf), "%s", eq + 7);
		return 0;
	}
	if (!strncmp(eq + 1, "jemalloc", 8) && (eq[9] == 0 || eq[9] == ':')) {
		v->jemalloc = 1;
		if (eq[9] == ':')
			snprintf(v->conf, sizeof(v->conf), "%s", eq + 10);
		return 0;
	}
	return -1;
}

static void settings_text(const struct variant *v, char *buf, size_t len)
{
	if (v->jemalloc)
		snprintf(buf, len, "LD_PRELOAD=%s%s%s", jemalloc_lib, v->conf[0] ? " MALLOC_CONF=" : "", v->conf);
	else if (v->arena_max[0])
		snprintf(buf, len, "MALLOC_ARENA_MAX=%s", v->arena_max);
	else if (v->conf[0])
		snprintf(buf, len, "GLIBC_TUNABLES=%s", v->conf);
	else
		snprintf(buf, len, "(defaults)");
}

/* The variant's environment in ours, for the child to inherit; undone after. */
static void apply_env(const struct variant *v)
{
	unsetenv("MALLOC_CONF");
	unsetenv("MALLOC_ARENA_MAX");
	unsetenv("GLIBC_TUNABLES");
	unsetenv("LD_PRELOAD");
	if (v->jemalloc) {
		setenv("LD_PRELOAD", jemalloc_lib, 1);
		if (v->conf[0])
			setenv("MALLOC_CONF", v->conf, 1);
	} else {
		if (v->arena_max[0])
			setenv("MALLOC_ARENA_MAX", v->arena_max, 1);
		if (v->conf[0])
			setenv("GLIBC_TUNABLES", v->conf, 1);
	}
}

struct saved_env {
	char *val[4];
};
static const char *const env_names[4] = { "MALLOC_CONF", "MALLOC_ARENA_MAX", "GLIBC_TUNABLES", "LD_PRELOAD" };

static void save_env(struct saved_env *s)
{
	for (int i = 0; i < 4; i++) {
		const char *v = getenv(env_names[i]);

		s->val[i] = v ? strdup(v) : NULL;
	}
}

static void restore_env(struct saved_env *s)
{
	for (int i = 0; i < 4; i++) {
		if (s->val[i])
			setenv(env_names[i], s->val[i], 1);
		else
			unsetenv(env_names[i]);
	}
}

static pid_t start_load(const char *cmd)
{
	pid_t p = fork();

	if (p == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	return p;
}

static void run_variant(struct variant *v, char **argv, const char *dir, const char *load, double idle,
			double interval, double timeout, const struct fs_trace_opts *opts, int sfd)
{
	struct saved_env saved;
	struct fs_traced *t;
	struct session *ses = NULL;
	struct fs_view view;
	char err[512];
	uint64_t prev_allocs = 0, load_end_ns = 0, t0;
	pid_t load_pid = -1;
	int n = 0, stop_sig = SIGTERM;

	if (v->jemalloc && access(jemalloc_lib, R_OK)) {
		snprintf(v->error, sizeof(v->error), "jemalloc library %s is missing (apt-get install libjemalloc2)",
			 jemalloc_lib);
		return;
	}
	save_env(&saved);
	apply_env(v);
	t = traced__start(0, argv, opts, err, sizeof(err));
	restore_env(&saved);
	for (int i = 0; i < 4; i++)
		free(saved.val[i]);
	if (!t) {
		snprintf(v->error, sizeof(v->error), "%s", err);
		return;
	}
	snprintf(v->session, sizeof(v->session), "%s/%s.db", dir, v->name);
	session__rotate(v->session);
	ses = session__create(v->session, err, sizeof(err));
	if (!ses)
		fs_warn("variant %s: no session: %s", v->name, err);
	else {
		char set[512];
		int argc = 0;

		while (argv[argc])
			argc++;
		settings_text(v, set, sizeof(set));
		traced__view(t, &view);
		/* the metadata record writes (command, kernel, start, version...), and the variant's */
		if (session__set_run(ses, argc, argv, 0, interval, DEEP_EVERY) || session__set_target(ses, &view) ||
		    session__set_meta(ses, "variant", v->name) || session__set_meta(ses, "variant_settings", set))
			fs_warn("variant %s: session %s: %s", v->name, v->session, session__errmsg(ses));
	}
	t0 = now_ns();
	for (;;) {
		struct pollfd pf[2] = { { .fd = sfd, .events = POLLIN }, { .fd = t->tg.pidfd, .events = POLLIN } };
		double el = (double)(now_ns() - t0) / 1e9;
		int deep = n % DEEP_EVERY == 0, exited;

		traced__sample(t, deep, deep ? 20 : 0);
		traced__view(t, &view);
		if (ses)
			session__append(ses, &view, deep);
		exited = traced__exited(t);
		if (t->st.mem.valid && t->st.mem.rss_anon > v->peak_rss)
			v->peak_rss = t->st.mem.rss_anon;
		if (v->npoints < MAX_POINTS && t->st.mem.valid) {
			v->t[v->npoints] = (float)el;
			v->rss[v->npoints] = (float)t->st.mem.rss_anon;
			v->live[v->npoints++] = (float)t->st.mem.live;
		}
		if (load && load_pid < 0 && el >= 1.0)
			load_pid = start_load(load);
		/* The load ends with the load command, or at the first quiet interval. */
		if (!load_end_ns) {
			int ended = load ? (load_pid > 0 && waitpid(load_pid, NULL, WNOHANG) == load_pid)
					 : (t->st.snap.c[FS_C_ALLOCS] > 0 && t->st.snap.c[FS_C_ALLOCS] == prev_allocs);

			if (ended || exited) {
				load_end_ns = now_ns();
				v->rss_end = t->st.mem.rss_anon;
				v->live_end = t->st.mem.live;
				v->load_s = el;
				v->allocs_load = t->st.snap.c[FS_C_ALLOCS];
				fs_info("variant %s: load ended after %.1f s", v->name, el);
			}
		}
		prev_allocs = t->st.snap.c[FS_C_ALLOCS];
		if (exited)
			break;
		if (load_end_ns && (double)(now_ns() - load_end_ns) / 1e9 >= idle)
			break;
		if (el > timeout) {
			snprintf(v->error, sizeof(v->error), "still running after %.0f s (--timeout)", timeout);
			break;
		}
		if (isatty(2))
			fprintf(stderr, "\rfragscope: %-14s %5.1f s  RSS %-10.1f MiB%s", v->name, el,
				(double)t->st.mem.rss_anon / 1048576, load_end_ns ? "  idle" : "  load");
		if (poll(pf, t->tg.pidfd >= 0 ? 2 : 1, (int)(interval * 1000)) > 0 && (pf[0].revents & POLLIN)) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si))
				stop_sig = (int)si.ssi_signo;
			stop_all = 1;
			snprintf(v->error, sizeof(v->error), "interrupted");
			break;
		}
		n++;
	}
	if (isatty(2))
		fputc('\n', stderr);
	if (load_pid > 0) {
		kill(load_pid, SIGTERM);
		waitpid(load_pid, NULL, 0);
	}
	v->exited = traced__exited(t);
	traced__stop(t, stop_sig, 20);
	traced__view(t, &view);
	if (ses) {
		session__append(ses, &view, 1);
		session__finish(ses, traced__exit_code(t), traced__elapsed(t));
		session__close(ses);
	}
	v->rss_idle = t->st.mem.rss_anon;
	v->live_idle = t->st.mem.live;
	if (!load_end_ns) {
		v->rss_end = v->rss_idle;
		v->live_end = v->live_idle;
	}
	v->frag_idle = memmodel__fragmentation(&t->st.mem);
	v->returned = t->st.mem.returned;
	v->faults = t->st.snap.k.faults;
	v->madvise_ns = t->st.snap.k.sys[FS_S_MADVISE].ns;
	v->untracked = t->st.snap.c[FS_C_UNTRACKED];
	v->narenas = t->st.mem.narenas;
	v->wall_s = traced__elapsed(t);
	v->exit_code = traced__exit_code(t);
	if (!v->load_s)
		v->load_s = v->wall_s;
	if (!v->allocs_load)
		v->allocs_load = t->st.snap.c[FS_C_ALLOCS];
	snprintf(v->diag_kind, sizeof(v->diag_kind), "%s", memmodel__diag_name(t->st.diag.kind));
	snprintf(v->diag, sizeof(v->diag), "%s", t->st.diag.text);
	if (v->exited && v->exit_code > 0 && v->exit_code != 128 + SIGTERM && !v->error[0])
		snprintf(v->error, sizeof(v->error), "exited with status %d", v->exit_code);
	v->ran = 1;
	traced__free(t);
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0;
}

static void verdict(const struct variant *vs, int n, char *out, size_t len)
{
	const struct variant *best = NULL, *worst = NULL;
	size_t o = 0;
	char a[32], b[32];

	for (int i = 0; i < n; i++) {
		if (!vs[i].ran || vs[i].error[0])
			continue;
		if (!best || vs[i].rss_idle < best->rss_idle)
			best = &vs[i];
		if (!worst || vs[i].rss_idle > worst->rss_idle)
			worst = &vs[i];
	}
	if (!best) {
		snprintf(out, len, "no variant ran to the end");
		return;
	}
	o += (size_t)snprintf(out + o, len - o, "%s keeps the least after the idle period: %s (it returns %.0f%% of its "
			      "post-load RSS)", best->name, render__bytes(best->rss_idle, a, sizeof(a)),
			      best->rss_end > best->rss_idle ? pct(best->rss_end - best->rss_idle, best->rss_end) : 0.0);
	if (worst && worst != best && o < len)
		o += (size_t)snprintf(out + o, len - o, "; %s keeps %s%s%s%s", worst->name,
				      render__bytes(worst->rss_idle, b, sizeof(b)),
				      worst->narenas ? " in " : "", worst->narenas ? "glibc arenas" : "",
				      strcmp(worst->diag_kind, "none") ? " (" : "");
	if (worst && worst != best && strcmp(worst->diag_kind, "none") && o < len)
		o += (size_t)snprintf(out + o, len - o, "%s)", worst->diag_kind);
	if (o < len)
		snprintf(out + o, len - o, ".");
}

static void print_table(FILE *f, const struct variant *vs, int n, const char *verdict_text)
{
	char b[12][32];

	fprintf(f, "\n %-14s %10s %10s %10s %10s %10s %6s %10s %9s %9s %7s %10s %9s\n", "variant", "peak RSS",
		"RSS end", "RSS idle", "live end", "live idle", "frag", "returned", "faults", "madvise", "wall",
		"allocs/s", "untracked");
	for (int i = 0; i < n; i++) {
		const struct variant *v = &vs[i];

		if (!v->ran) {
			fprintf(f, " %-14s %s\n", v->name, v->error[0] ? v->error : "not run");
			continue;
		}
		snprintf(b[0], 32, "%.0f%%", 100 * v->frag_idle);
		snprintf(b[1], 32, "%.0f ms", (double)v->madvise_ns / 1e6);
		snprintf(b[2], 32, "%.1f s", v->wall_s);
		fprintf(f, " %-14s %10s %10s %10s %10s %10s %6s %10s %9s %9s %7s %10s %9s%s%s\n", v->name,
			render__bytes(v->peak_rss, b[3], 32), render__bytes(v->rss_end, b[4], 32),
			render__bytes(v->rss_idle, b[5], 32), render__bytes(v->live_end, b[6], 32),
			render__bytes(v->live_idle, b[7], 32), b[0], render__bytes(v->returned, b[8], 32),
			render__num(v->faults, b[9], 32), b[1], b[2],
			render__num(v->load_s > 0 ? (uint64_t)((double)v->allocs_load / v->load_s) : 0, b[10], 32),
			render__num(v->untracked, b[11], 32), v->error[0] ? "  ! " : "", v->error);
	}
	fprintf(f, "\n verdict: %s\n", verdict_text);
	fprintf(f, "\n sessions:");
	for (int i = 0; i < n; i++)
		if (vs[i].ran && vs[i].session[0])
			fprintf(f, " %s", vs[i].session);
	fprintf(f, "\n (fragscope report --diff A B compares two of them)\n\n");
}

static void print_json(const struct variant *vs, int n, const char *verdict_text)
{
	struct json j;
	char set[512];

	json__init(&j, stdout, 1);
	json__obj(&j, NULL);
	json__arr(&j, "variants");
	for (int i = 0; i < n; i++) {
		const struct variant *v = &vs[i];

		settings_text(v, set, sizeof(set));
		json__obj(&j, NULL);
		json__str(&j, "name", v->name);
		json__str(&j, "settings", set);
		json__bool(&j, "ran", v->ran);
		json__str(&j, "error", v->error[0] ? v->error : NULL);
		json__u64(&j, "peak_rss", v->peak_rss);
		json__u64(&j, "rss_end", v->rss_end);
		json__u64(&j, "rss_idle", v->rss_idle);
		json__u64(&j, "live_end", v->live_end);
		json__u64(&j, "live_idle", v->live_idle);
		json__dbl(&j, "fragmentation", v->frag_idle);
		json__u64(&j, "returned", v->returned);
		json__u64(&j, "page_faults", v->faults);
		json__u64(&j, "madvise_ns", v->madvise_ns);
		json__dbl(&j, "wall_s", v->wall_s);
		json__dbl(&j, "load_s", v->load_s);
		json__dbl(&j, "allocs_per_s", v->load_s > 0 ? (double)v->allocs_load / v->load_s : 0);
		json__u64(&j, "untracked", v->untracked);
		json__i64(&j, "arenas", v->narenas);
		json__str(&j, "diagnosis", v->diag_kind);
		json__str(&j, "session", v->session[0] ? v->session : NULL);
		json__end_obj(&j);
	}
	json__end_arr(&j);
	json__str(&j, "verdict", verdict_text);
	json__end_obj(&j);
	json__finish(&j);
}

/* RssAnon of every variant over time (solid), its live bytes (dashed, same colour),
 * on report's chart code. */
static int html_chart(FILE *f, const struct variant *vs, int n)
{
	static const char *const colors[] = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b" };
	struct chart_series *s = calloc((size_t)n * 2 + 1, sizeof(*s));
	char (*labels)[48] = calloc((size_t)n * 2 + 1, sizeof(*labels));
	int ns = 0, r = -ENOMEM;

	if (!s || !labels)
		goto cleanup;
	for (int i = 0; i < n; i++) {
		const struct variant *v = &vs[i];
		double *t, *rss, *live;

		if (!v->npoints)
			continue;
		t = malloc(sizeof(double) * (size_t)v->npoints * 3);
		if (!t)
			goto cleanup;
		rss = t + v->npoints;
		live = rss + v->npoints;
		for (int k = 0; k < v->npoints; k++) {
			t[k] = v->t[k];
			rss[k] = v->rss[k];
			live[k] = v->live[k];
		}
		snprintf(labels[ns], sizeof(labels[ns]), "%s RssAnon", v->name);
		s[ns] = (struct chart_series){ .label = labels[ns], .color = colors[i % 6], .cls = "variant", .t = t,
					       .v = rss, .n = v->npoints };
		ns++;
		snprintf(labels[ns], sizeof(labels[ns]), "%s live", v->name);
		s[ns] = (struct chart_series){ .label = labels[ns], .color = colors[i % 6], .cls = "variant-live", .t = t,
					       .v = live, .n = v->npoints, .dashed = 1 };
		ns++;
	}
	chart__lines(f, &(struct chart){ .title = "RssAnon (solid) and live bytes (dashed) of each variant",
					 .id = "rss", .yunit = CU_BYTES, .series = s, .nseries = ns });
	r = 0;
cleanup:
	for (int i = 0; s && i < ns; i += 2)
		free((void *)s[i].t);
	free(s);
	free(labels);
	return r;
}

static int write_html(const char *path, const struct variant *vs, int n, const char *verdict_text)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	fprintf(f, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>fragscope compare</title>"
		   "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
		   "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td{white-space:nowrap}th{background:#eee}"
		   "figure{margin:12px 0}figcaption{font-weight:600}.wide{overflow-x:auto}</style></head><body>"
		   "<h1>fragscope compare</h1><p>");
	chart__xml(f, verdict_text);	/* variant names are the user's */
	fprintf(f, "</p>\n");
	if (html_chart(f, vs, n)) {
		fclose(f);
		return -ENOMEM;
	}
	fprintf(f, "<div class=\"wide\"><table><tr><th>variant</th><th>peak RSS</th><th>RSS end</th><th>RSS idle</th>"
		   "<th>live idle</th><th>fragmentation</th><th>returned</th><th>faults</th><th>wall s</th><th>diagnosis</th></tr>");
	for (int i = 0; i < n; i++) {
		const struct variant *v = &vs[i];
		char c[6][32];

		fprintf(f, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%.0f%%</td><td>%s</td>"
			   "<td>%llu</td><td>%.1f</td><td>%s</td></tr>", v->name, render__bytes(v->peak_rss, c[0], 32),
			render__bytes(v->rss_end, c[1], 32), render__bytes(v->rss_idle, c[2], 32),
			render__bytes(v->live_idle, c[3], 32), 100 * v->frag_idle, render__bytes(v->returned, c[4], 32),
			(unsigned long long)v->faults, v->wall_s, v->error[0] ? v->error : v->diag_kind);
	}
	fprintf(f, "</table></div></body></html>\n");
	return fclose(f) ? -errno : 0;
}

int cmd_compare(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "variants", required_argument, 0, 'V' },
		{ "idle", required_argument, 0, 'I' },
		{ "jemalloc", required_argument, 0, 'J' },
		{ "load", required_argument, 0, 'l' },
		{ "interval", required_argument, 0, 'i' },
		{ "output", required_argument, 0, 'o' },
		{ "timeout", required_argument, 0, 'T' },
		{ "json", no_argument, 0, 'j' },
		{ "html", required_argument, 0, 'H' },
		FS_TRACE_LONGOPTS,
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	struct fs_trace_opts topts = FS_TRACE_OPTS_DEFAULT;
	const char *list = "glibc,glibc-arena2,jemalloc,jemalloc-bg", *dir = "fragscope-compare", *load = NULL;
	const char *html = NULL;
	double idle = 5, interval = 0.25, timeout = 600;
	int json = 0, opt, idx, nv = 0, ret = EXIT_OK, sfd;
	struct variant *vs = calloc(MAX_VARIANTS, sizeof(*vs));
	char *copy, *tok, *save = NULL, vtext[1024];
	sigset_t oldmask;

	if (!vs)
		return EXIT_FAIL;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+i:o:jvh", longopts, &idx)) != -1) {
		switch (opt) {
		case 'V': list = optarg; break;
		case 'I': idle = strtod(optarg, NULL); break;
		case 'J': jemalloc_lib = optarg; break;
		case 'l': load = optarg; break;
		case 'i': interval = strtod(optarg, NULL) / 1000; break;
		case 'o': dir = optarg; break;
		case 'T': timeout = strtod(optarg, NULL); break;
		case 'j': json = 1; break;
		case 'H': html = optarg; break;
		case 'L':
			if (traced__parse_opt(&topts, longopts[idx].name, optarg) < 0)
				goto usage;
			break;
		case 'v': fs_verbose++; break;
		case 'h':
			fputs(compare_usage, stdout);
			free(vs);
			return EXIT_OK;
		default:
			fs_err("see fragscope compare --help");
			goto usage;
		}
	}
	if (optind >= argc) {
		fs_err("nothing to compare: give -- COMMAND (see fragscope compare --help)");
		goto usage;
	}
	if (idle < 0 || interval < 0.01 || timeout <= 0) {
		fs_err("invalid --idle, --interval or --timeout");
		goto usage;
	}
	copy = strdup(list);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (nv == MAX_VARIANTS || parse_variant(tok, &vs[nv])) {
			fs_err("unknown variant '%s' (glibc, glibc-arena2, jemalloc, jemalloc-bg, or NAME=glibc[:TUNABLES] / "
			       "NAME=jemalloc[:CONF])", tok);
			free(copy);
			goto usage;
		}
		nv++;
	}
	free(copy);
	if (check_can_trace()) {
		free(vs);
		return EXIT_FAIL;
	}
	if (mkdir(dir, 0700) && errno != EEXIST) {
		fs_err("create %s: %s", dir, strerror(errno));
		free(vs);
		return EXIT_FAIL;
	}
	sfd = traced__signalfd(&oldmask);
	for (int i = 0; i < nv && !stop_all; i++) {
		fs_info("variant %s", vs[i].name);
		fprintf(stderr, "fragscope: variant %d of %d: %s\n", i + 1, nv, vs[i].name);
		run_variant(&vs[i], argv + optind, dir, load, idle, interval, timeout, &topts, sfd);
		if (vs[i].error[0]) {
			fs_err("variant %s: %s", vs[i].name, vs[i].error);
			ret = EXIT_FAIL;
		}
	}
	verdict(vs, nv, vtext, sizeof(vtext));
	if (json)
		print_json(vs, nv, vtext);
	else
		print_table(stdout, vs, nv, vtext);
	if (html && write_html(html, vs, nv, vtext)) {
		fs_err("write %s: %s", html, strerror(errno));
		ret = EXIT_FAIL;
	}
	if (sfd >= 0)
		close(sfd);
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	free(vs);
	return ret;
usage:
	free(vs);
	return EXIT_USAGE;
}
