/* cmd_compare.c - `fragscope compare`: the same workload under glibc and jemalloc
 * variants, each traced and recorded, side by side, with a verdict. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "out/chart.h"
#include "cmd/cmd.h"
#include "util/json.h"
#include "util/log.h"
#include "util/parse.h"
#include "out/render.h"
#include "alloc/alloc.h"
#include "elf/ldso.h"
#include "plan/resolve.h"
#include "out/session.h"
#include "trace/target.h"
#include "trace/traced.h"
#include "trace/replay_child.h"
#include "trace/replayer.h"
#include "out/trace_file.h"
#include "model/replay.h"

extern char **environ;

/* The library each preloaded allocator's variants run with: --jemalloc, or its
 * backend's soname found as the dynamic linker would (the ldconfig cache). */
static const char *preload_lib[FS_ALLOC__COUNT];
static char preload_found[FS_ALLOC__COUNT][PATH_MAX];
#define MAX_VARIANTS 16
#define MAX_POINTS 4096
#define DEEP_EVERY 8	/* intervals between deep samples (sites, histograms, diagnosis) */

/* The help before the variants (variants_help() writes those), and after. */
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
	"Each variant's allocator is resolved before it runs, and traced while it runs. A\n"
	"variant whose allocator cannot be substituted (glibc for a program that links or\n"
	"contains jemalloc, an LD_PRELOAD a static program ignores) is not run: it is\n"
	"listed as skipped with the reason and left out of the verdict. jemalloc variants\n"
	"of a program with its own jemalloc run that jemalloc, tuned by its MALLOC_CONF\n"
	"(PREFIX_MALLOC_CONF for a prefixed build), without LD_PRELOAD.\n"
	"\n"
	"options:\n";

static const char compare_usage_tail[] =
	"      --idle SECS       keep watching SECS after the load ends (default 5)\n"
	"      --jemalloc PATH, --tcmalloc PATH, --mimalloc PATH\n"
	"                        the library to preload for that allocator's variants\n"
	"                        (default: libjemalloc.so.2, libtcmalloc_minimal.so.4,\n"
	"                        libmimalloc.so.2 where the dynamic linker finds them;\n"
	"                        by default, variants of one not installed are left out)\n"
	"      --load 'CMD'      a separate load command (run with sh -c) against each\n"
	"                        variant, started 1 s after COMMAND; its end ends the load\n"
	"  -i, --interval MS     sampling interval (default 250)\n"
	"  -o, --output DIR      where the sessions go (default fragscope-compare)\n"
	"      --timeout SECS    longest run of one variant (default 600)\n"
	"  -j, --json            the table as one JSON document on stdout (COMMAND's and\n"
	"                        --load's stdout then go to stderr)\n"
	"      --sample-bytes N  stack sampling of every run (default 524288; 0 off)\n"
	"      --max-live N      capacity of the live-allocation map (default 1048576)\n"
	"      --html OUT.html   the comparison as one page, RSS curves on one chart\n"
	"  -v                    more diagnostics on stderr\n"
	"  -h, --help            this text\n"
	"\n"
	"exit status: 0 if every variant ran or was skipped with its reason and at least\n"
	"one was compared, 1 if one failed (the others are still compared) or none could\n"
	"be compared, 2 usage\n";

struct variant {
	char name[32];
	const struct fs_allocator *alloc;	/* the allocator asked for (NULL: the program's own) */
	char var[40];		/* the variable the variant sets; "" for its allocator's conf_env */
	char conf[256];		/* its value (MALLOC_CONF, GLIBC_TUNABLES, MALLOC_ARENA_MAX) */
	/* results */
	int ran;
	char error[256];
	char session[4200];
	uint64_t peak_rss, rss_end, rss_idle, live_end, live_idle, returned, faults, madvise_ns;
	uint64_t allocs_load, untracked;
	double frag_idle, wall_s, load_s;
	int narenas, exit_code, exited;
	/* which allocator really ran: the variant is compared only if it is the one asked for */
	int native;		/* a preloaded allocator asked of a program whose own allocator it is */
	char prefix[16];	/* that build's prefix: it reads <PREFIX>MALLOC_CONF */
	char alloc_traced[32];	/* the resolved plan of the run; "" if not run */
	char alloc_object[PATH_MAX];	/* where malloc bound (or would bind, if skipped) */
	int substituted;	/* the allocator asked for is the one that ran (-1: not known) */
	char why_not[320];	/* the allocator asked for cannot be had: not run (skipped), or
				 * ran another one; either way not compared */
	char diag_kind[24];
	char diag[512];
	int npoints;
	float t[MAX_POINTS], rss[MAX_POINTS], live[MAX_POINTS];
};

static volatile int stop_all;
/* replay: the session the calls come from (the output says "replayed": true) */
static const char *replayed_from;
static struct {
	uint64_t calls, blocks_before, before_released, unknown_frees, failed, own_syscalls, own_madvise;
	uint32_t threads;
	const char *trace_state;
} replay_info;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A named variant of one of the backends, or NAME=ALLOCATOR[:CONF]. */
static int parse_variant(const char *spec, struct variant *v)
{
	const char *eq = strchr(spec, '=');

	memset(v, 0, sizeof(*v));
	if (!eq) {
		snprintf(v->name, sizeof(v->name), "%s", spec);
		for (int i = 0; fs_allocators[i]; i++) {
			for (const struct fs_alloc_variant *n = fs_allocators[i]->variants; n->name; n++) {
				if (strcmp(spec, n->name))
					continue;
				v->alloc = fs_allocators[i];
				snprintf(v->var, sizeof(v->var), "%s", n->var ? n->var : "");
				snprintf(v->conf, sizeof(v->conf), "%s", n->value ? n->value : "");
				return 0;
			}
		}
		return -1;
	}
	if (eq == spec || (size_t)(eq - spec) >= sizeof(v->name))
		return -1;
	snprintf(v->name, sizeof(v->name), "%.*s", (int)(eq - spec), spec);
	for (int i = 0; fs_allocators[i]; i++) {
		const struct fs_allocator *a = fs_allocators[i];
		size_t n = strlen(a->name);

		if (!a->variants[0].name || !a->conf_env || strncmp(eq + 1, a->name, n) ||
		    (eq[1 + n] != 0 && eq[1 + n] != ':'))
			continue;
		v->alloc = a;
		if (eq[1 + n] == ':')
			snprintf(v->conf, sizeof(v->conf), "%s", eq + 2 + n);
		return 0;
	}
	return -1;
}

/* Whether NAME=ALLOCATOR[:CONF] may name a: it has variants and a variable. */
static int custom_ok(const struct fs_allocator *a)
{
	return a->variants[0].name && a->conf_env;
}

/* --variants in --help: the backends' variants (their names by default, in the
 * registry's order), and the custom specs, one per line. */
static void variants_help(FILE *f)
{
	const char *sep = "", *example = NULL;
	int first = 1;

	fprintf(f, "      --variants LIST   comma separated (default ");
	for (int i = 0; fs_allocators[i]; i++)
		for (const struct fs_alloc_variant *n = fs_allocators[i]->variants; n->name; n++, sep = ",")
			fprintf(f, "%s%s", sep, n->name);
	fprintf(f, "):\n");
	for (int i = 0; fs_allocators[i]; i++)
		for (const struct fs_alloc_variant *n = fs_allocators[i]->variants; n->name; n++)
			fprintf(f, "                          %-13s %s\n", n->name, n->help);
	for (int i = 0; fs_allocators[i]; i++) {
		const struct fs_allocator *a = fs_allocators[i];
		int last = 1;

		if (!custom_ok(a))
			continue;
		for (int k = i + 1; fs_allocators[k]; k++)
			if (custom_ok(fs_allocators[k]))
				last = 0;
		fprintf(f, "                        %sNAME=%s[:%s] (%s)%s\n", first ? "or your own: " : "", a->name,
			a->conf_word, a->conf_env, last ? ", e.g." : " or");
		if (!example)
			example = a->conf_example;
		first = 0;
	}
	if (example)
		fprintf(f, "                        %s\n", example);
}

/* The variants --variants takes, for an error: names, then the custom specs. */
static void variants_list(char *buf, size_t len)
{
	size_t o = 0;
	const char *sep = "";

	buf[0] = 0;
	for (int i = 0; fs_allocators[i]; i++)
		for (const struct fs_alloc_variant *n = fs_allocators[i]->variants; n->name; n++, sep = ", ")
			o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s%s", sep, n->name);
	sep = ", or ";
	for (int i = 0; fs_allocators[i]; i++) {
		if (!custom_ok(fs_allocators[i]) || o >= len)
			continue;
		o += (size_t)snprintf(buf + o, len - o, "%sNAME=%s[:%s]", sep, fs_allocators[i]->name,
				      fs_allocators[i]->conf_word);
		sep = " / ";
	}
}

static const char *requested(const struct variant *v)
{
	return v->alloc ? v->alloc->name : "unknown";
}

/* A preloaded allocator (its backend names a library), or the C library's own. */
static int preloaded(const struct variant *v)
{
	return v->alloc && v->alloc->preload_soname;
}

static const char *preload_path(const struct variant *v)
{
	return preload_lib[v->alloc->id];
}

/* The variable the variant sets: its own (MALLOC_ARENA_MAX), else its allocator's
 * conf_env; a build with a prefix reads <PREFIX in capitals>MALLOC_CONF (jemalloc's
 * configure), e.g. _RJEM_MALLOC_CONF. */
static void conf_var(const struct variant *v, char *buf, size_t len)
{
	size_t n = 0;

	if (v->var[0] || !v->alloc || !v->alloc->conf_env) {
		snprintf(buf, len, "%s", v->var);
		return;
	}
	for (const char *p = v->native && v->alloc->conf_env_prefixed ? v->prefix : ""; *p && n + 12 < len; p++)
		buf[n++] = (char)toupper((unsigned char)*p);
	snprintf(buf + n, len - n, "%s", v->alloc->conf_env);
}

static void settings_text(const struct variant *v, char *buf, size_t len)
{
	char var[40];
	const char *eq = v->conf[0] ? "=" : "";

	conf_var(v, var, sizeof(var));
	if (preloaded(v) && v->native)
		snprintf(buf, len, "the program's own %s (%s)%s%s%s%s", v->alloc->name, v->alloc_object,
			 v->conf[0] ? " " : "", v->conf[0] ? var : "", eq, v->conf);
	else if (preloaded(v))
		snprintf(buf, len, "LD_PRELOAD=%s%s%s%s%s", preload_path(v), v->conf[0] ? " " : "",
			 v->conf[0] ? var : "", eq, v->conf);
	else if (v->conf[0])
		snprintf(buf, len, "%s=%s", var, v->conf);
	else
		snprintf(buf, len, "(defaults)");
}

/* The variables a variant sets, saved before and restored after: the child inherits
 * the variant's environment from ours. */
#define NENV 16
struct saved_env {
	int n;
	char name[NENV][40];
	char *val[NENV];
};

static void save_name(struct saved_env *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->name[i], name))
			return;
	if (name[0] && s->n < NENV)
		snprintf(s->name[s->n++], sizeof(s->name[0]), "%s", name);
}

/* LD_PRELOAD, every backend's variable and its variants', and this variant's own. */
static void save_env(struct saved_env *s, const struct variant *v)
{
	char var[40];

	s->n = 0;
	save_name(s, "LD_PRELOAD");
	for (int i = 0; fs_allocators[i]; i++) {
		if (fs_allocators[i]->conf_env)
			save_name(s, fs_allocators[i]->conf_env);
		for (const struct fs_alloc_variant *n = fs_allocators[i]->variants; n->name; n++)
			if (n->var)
				save_name(s, n->var);
	}
	conf_var(v, var, sizeof(var));
	save_name(s, var);
	for (int i = 0; i < s->n; i++) {
		const char *val = getenv(s->name[i]);

		s->val[i] = val ? strdup(val) : NULL;
	}
}

static void restore_env(struct saved_env *s)
{
	for (int i = 0; i < s->n; i++) {
		if (s->val[i])
			setenv(s->name[i], s->val[i], 1);
		else
			unsetenv(s->name[i]);
		free(s->val[i]);
		s->val[i] = NULL;
	}
}

static void apply_env(const struct variant *v, const struct saved_env *s)
{
	char var[40];

	for (int i = 0; i < s->n; i++)
		unsetenv(s->name[i]);
	if (preloaded(v) && !v->native)
		setenv("LD_PRELOAD", preload_path(v), 1);
	conf_var(v, var, sizeof(var));
	if (v->conf[0] && var[0])
		setenv(var, v->conf, 1);
}

/* Where malloc binds for exe under the variant's environment, as the dynamic linker
 * will find it: 0 and plan filled, or -errno (the run itself will say why). */
static int resolve_variant(const struct variant *v, const char *exe, struct fs_plan *plan)
{
	struct saved_env saved;
	char err[256];
	int r;

	save_env(&saved, v);
	apply_env(v, &saved);
	r = resolve__cmd(NULL, exe, environ, plan, err, sizeof(err));
	restore_env(&saved);
	if (r)
		fs_debug("resolve %s for variant %s: %s", exe, v->name, err);
	return r;
}

/* Why malloc cannot be had as the variant asks: where it binds instead. */
static void not_substitutable(const struct variant *v, const struct fs_plan *p, const char *exe, char *buf,
			      size_t len)
{
	const char *base = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
	int own = !strcmp(p->object, exe);

	if (preloaded(v) && own)
		snprintf(buf, len, "not substitutable: %s contains %s's malloc%s%s (%s), LD_PRELOAD cannot replace it",
			 base, p->alloc_name, p->prefix[0] ? " prefixed " : "", p->prefix, p->how);
	else if (preloaded(v))
		snprintf(buf, len, "not substitutable: with LD_PRELOAD=%s, malloc still binds to %s in %s",
			 preload_path(v), p->alloc_name, p->object);
	else
		snprintf(buf, len, "not substitutable: %s %s %s%s%s (%s)", base, own ? "contains" : "links",
			 p->alloc_name, p->prefix[0] ? " prefixed " : "", p->prefix, p->object);
}

/* Decides, before running, whether each variant can be produced: base is the plan
 * without any variant's settings (NULL if it could not be resolved). */
static void plan_variant(struct variant *v, const char *exe, const struct fs_plan *base, struct fs_plan *scratch)
{
	if (!base)
		return;
	if (!preloaded(v)) {	/* the C library's own: the program must use it */
		if (base->alloc != v->alloc->id)
			not_substitutable(v, base, exe, v->why_not, sizeof(v->why_not));
		snprintf(v->alloc_object, sizeof(v->alloc_object), "%s", base->object);
		return;
	}
	if (base->alloc == v->alloc->id) {	/* its own: tuned through its MALLOC_CONF */
		v->native = 1;
		snprintf(v->prefix, sizeof(v->prefix), "%s", base->prefix);
		snprintf(v->alloc_object, sizeof(v->alloc_object), "%s", base->object);
		return;
	}
	if (access(preload_path(v), R_OK))
		return;		/* run_variant says it is missing */
	if (!resolve_variant(v, exe, scratch)) {
		snprintf(v->alloc_object, sizeof(v->alloc_object), "%s", scratch->object);
		if (scratch->alloc != v->alloc->id)
			not_substitutable(v, scratch, exe, v->why_not, sizeof(v->why_not));
	}
}

static pid_t start_load(const char *cmd, int json)
{
	pid_t p = fork();

	if (p == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (json && dup2(2, 1) != 1)	/* stdout: the document only */
			_exit(127);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	return p;
}

static void run_variant(struct variant *v, char **argv, const char *dir, const char *load, int json, double idle,
			double interval, double timeout, const struct fs_trace_opts *opts, struct fs_waiter *w)
{
	struct saved_env saved;
	struct fs_traced *t;
	struct session *ses = NULL;
	struct fs_view view;
	const struct fs_state *st;
	char err[512];
	uint64_t prev_allocs = 0, load_end_ns = 0, t0;
	pid_t load_pid = -1;
	int n = 0, stop_sig = SIGTERM;

	if (preloaded(v) && !v->native && access(preload_path(v), R_OK)) {
		snprintf(v->error, sizeof(v->error), "%s library %s is missing (apt-get install %s)", v->alloc->name,
			 preload_path(v), v->alloc->preload_package);
		return;
	}
	save_env(&saved, v);
	apply_env(v, &saved);
	t = traced__start(0, argv, opts, err, sizeof(err));
	restore_env(&saved);
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
		double el = (double)(now_ns() - t0) / 1e9;
		int deep = n % DEEP_EVERY == 0, exited, wake;

		traced__sample(t, deep, deep ? 20 : 0);
		traced__view(t, &view);
		st = view.st;
		if (ses)
			session__append(ses, &view, deep);
		exited = traced__exited(t);
		if (st->mem.valid && st->mem.rss_anon > v->peak_rss)
			v->peak_rss = st->mem.rss_anon;
		if (v->npoints < MAX_POINTS && st->mem.valid) {
			v->t[v->npoints] = (float)el;
			v->rss[v->npoints] = (float)st->mem.rss_anon;
			v->live[v->npoints++] = (float)st->mem.live;
		}
		if (load && load_pid < 0 && el >= 1.0)
			load_pid = start_load(load, json);
		/* The load ends with the load command, or at the first quiet interval. */
		if (!load_end_ns) {
			int ended = load ? (load_pid > 0 && waitpid(load_pid, NULL, WNOHANG) == load_pid)
					 : (st->snap.c[FS_C_ALLOCS] > 0 && st->snap.c[FS_C_ALLOCS] == prev_allocs);

			if (ended || exited) {
				load_end_ns = now_ns();
				v->rss_end = st->mem.rss_anon;
				v->live_end = st->mem.live;
				v->load_s = el;
				v->allocs_load = st->snap.c[FS_C_ALLOCS];
				fs_info("variant %s: load ended after %.1f s", v->name, el);
			}
		}
		prev_allocs = st->snap.c[FS_C_ALLOCS];
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
				(double)st->mem.rss_anon / 1048576, load_end_ns ? "  idle" : "  load");
		wake = traced__wait(w, t, -1, interval, &stop_sig);
		if (wake == FS_WAKE_SIGNAL || wake == FS_WAKE_ERROR) {
			stop_all = 1;
			snprintf(v->error, sizeof(v->error), wake == FS_WAKE_SIGNAL ? "interrupted" : "poll failed");
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
	st = view.st;
	/* What really ran, from the plan the run was traced with: a variant that asked for
	 * one allocator and ran another is labelled so and left out of the verdict. */
	snprintf(v->alloc_traced, sizeof(v->alloc_traced), "%s", view.plan->alloc_name);
	snprintf(v->alloc_object, sizeof(v->alloc_object), "%s", view.plan->object);
	v->substituted = !strcmp(v->alloc_traced, requested(v));
	if (!v->substituted)
		snprintf(v->why_not, sizeof(v->why_not), "not substitutable: asked for %s, %s ran (%s)", requested(v),
			 v->alloc_traced, v->alloc_object);
	if (view.target->execs) {	/* compare traces the first image only: the program it became is unseen */
		v->substituted = -1;
		snprintf(v->alloc_traced, sizeof(v->alloc_traced), "unknown");
		snprintf(v->why_not, sizeof(v->why_not), "allocator unknown: %s replaced its image (exec) and compare "
			 "does not follow it, so what ran after was not traced", view.target->comm);
	}
	if (ses) {
		settings_text(v, err, sizeof(err));
		if (session__set_meta(ses, "variant_allocator_requested", requested(v)) ||
		    session__set_meta(ses, "variant_allocator_traced", v->alloc_traced) ||
		    session__set_meta(ses, "variant_substituted",
				      v->substituted < 0 ? "unknown" : v->substituted ? "true" : "false") ||
		    session__set_meta(ses, "variant_settings", err) || session__set_meta(ses, "variant_note", v->why_not))
			fs_warn("variant %s: session %s: metadata not written", v->name, v->session);
		session__append(ses, &view, 1);
		session__finish(ses, traced__exit_code(t), traced__elapsed(t));
		session__close(ses);
	}
	v->rss_idle = st->mem.rss_anon;
	v->live_idle = st->mem.live;
	if (!load_end_ns) {
		v->rss_end = v->rss_idle;
		v->live_end = v->live_idle;
	}
	v->frag_idle = memmodel__fragmentation(&st->mem);
	v->returned = st->mem.returned;
	v->faults = st->snap.k.faults;
	v->madvise_ns = st->snap.k.sys[FS_S_MADVISE].ns;
	v->untracked = st->snap.c[FS_C_UNTRACKED];
	v->narenas = st->mem.narenas;
	v->wall_s = traced__elapsed(t);
	v->exit_code = traced__exit_code(t);
	if (!v->load_s)
		v->load_s = v->wall_s;
	if (!v->allocs_load)
		v->allocs_load = st->snap.c[FS_C_ALLOCS];
	snprintf(v->diag_kind, sizeof(v->diag_kind), "%s", memmodel__diag_name(st->diag.kind));
	snprintf(v->diag, sizeof(v->diag), "%s", st->diag.text);
	if (v->exited && v->exit_code > 0 && v->exit_code != 128 + SIGTERM && !v->error[0])
		snprintf(v->error, sizeof(v->error), "exited with status %d", v->exit_code);
	v->ran = 1;
	traced__free(t);
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0;
}

/* In the verdict: it ran to the end, and ran the allocator it asked for. */
static int compared(const struct variant *v)
{
	return v->ran && !v->error[0] && v->substituted > 0;
}

/* "a, b" : the variants with the same why_not as vs[k]. */
static size_t names_with_reason(const struct variant *vs, int n, int k, char *out, size_t len)
{
	size_t o = 0;
	int m = 0;

	for (int i = 0; i < n && o < len; i++)
		if (vs[i].why_not[0] && !strcmp(vs[i].why_not, vs[k].why_not))
			o += (size_t)snprintf(out + o, len - o, "%s%s", m++ ? ", " : "", vs[i].name);
	return o;
}

static void verdict(const struct variant *vs, int n, char *out, size_t len)
{
	const struct variant *best = NULL, *worst = NULL;
	int ncmp = 0, one_alloc = 1, said = 0;
	size_t o = 0;
	char a[32], b[32];

	for (int i = 0; i < n; i++) {
		if (!compared(&vs[i]))
			continue;
		if (best && strcmp(best->alloc_traced, vs[i].alloc_traced))
			one_alloc = 0;
		ncmp++;
		if (!best || vs[i].rss_idle < best->rss_idle)
			best = &vs[i];
		if (!worst || vs[i].rss_idle > worst->rss_idle)
			worst = &vs[i];
	}
	if (!best) {
		o += (size_t)snprintf(out, len, "no variant could be compared.");
	} else {
		double ret = best->rss_end > best->rss_idle ? pct(best->rss_end - best->rss_idle, best->rss_end) : 0.0;
		char how[64];

		/* "returns 0%" would read as keeping everything: it was low before the idle period */
		if (ret < 0.5)
			snprintf(how, sizeof(how), "as when the load ended");
		else
			snprintf(how, sizeof(how), "it returns %.0f%% of its post-load RSS", ret);
		if (ncmp == 1)
			o += (size_t)snprintf(out, len, "only %s was compared: it keeps %s after the idle period (%s).",
					      best->name, fmt__bytes(best->rss_idle, a, sizeof(a)), how);
		else
			o += (size_t)snprintf(out, len, "%s keeps the least after the idle period: %s (%s)", best->name,
					      fmt__bytes(best->rss_idle, a, sizeof(a)), how);
	}
	if (ncmp > 1 && worst != best && o < len)
		o += (size_t)snprintf(out + o, len - o, "; %s keeps %s%s%s%s", worst->name,
				      fmt__bytes(worst->rss_idle, b, sizeof(b)),
				      worst->narenas ? " in " : "", worst->narenas ? "glibc arenas" : "",
				      strcmp(worst->diag_kind, "none") ? " (" : "");
	if (ncmp > 1 && worst != best && strcmp(worst->diag_kind, "none") && o < len)
		o += (size_t)snprintf(out + o, len - o, "%s)", worst->diag_kind);
	if (ncmp > 1 && o < len)
		o += (size_t)snprintf(out + o, len - o, ".");
	/* what was really compared: variants that could not have their allocator are named */
	for (int i = 0; i < n && o < len; i++) {
		int first = 1;

		if (!vs[i].why_not[0])
			continue;
		for (int k = 0; k < i; k++)
			if (vs[k].why_not[0] && !strcmp(vs[k].why_not, vs[i].why_not))
				first = 0;
		if (!first)
			continue;
		if (ncmp > 1 && one_alloc && !said++)
			o += (size_t)snprintf(out + o, len - o, " All compared variants ran %s: settings of one "
					      "allocator were compared, not glibc against jemalloc.", best->alloc_traced);
		if (o < len)
			o += (size_t)snprintf(out + o, len - o, " Not compared: ");
		if (o < len)
			o += names_with_reason(vs, n, i, out + o, len - o);
		if (o < len)
			o += (size_t)snprintf(out + o, len - o, " (%s%s).", vs[i].ran ? "" : "skipped, ", vs[i].why_not);
	}
}

static void print_table(FILE *f, const struct variant *vs, int n, const char *verdict_text)
{
	char b[12][32], set[512];

	fprintf(f, "\n %-14s %-9s %10s %10s %10s %10s %10s %6s %10s %9s %9s %7s %10s %9s\n", "variant", "allocator",
		"peak RSS", "RSS end", "RSS idle", "live end", "live idle", "frag", "returned", "faults", "madvise",
		"wall", "allocs/s", "untracked");
	for (int i = 0; i < n; i++) {
		const struct variant *v = &vs[i];

		if (!v->ran) {
			fprintf(f, " %-14s %-9s %s%s\n", v->name, "-", v->why_not[0] ? "skipped: " : "",
				v->why_not[0] ? v->why_not : v->error[0] ? v->error : "not run");
			continue;
		}
		snprintf(b[0], 32, "%.0f%%", 100 * v->frag_idle);
		snprintf(b[1], 32, "%.0f ms", (double)v->madvise_ns / 1e6);
		snprintf(b[2], 32, "%.1f s", v->wall_s);
		fprintf(f, " %-14s %-9s %10s %10s %10s %10s %10s %6s %10s %9s %9s %7s %10s %9s%s%s%s%s\n", v->name,
			v->alloc_traced, fmt__bytes(v->peak_rss, b[3], 32), fmt__bytes(v->rss_end, b[4], 32),
			fmt__bytes(v->rss_idle, b[5], 32), fmt__bytes(v->live_end, b[6], 32),
			fmt__bytes(v->live_idle, b[7], 32), b[0], fmt__bytes(v->returned, b[8], 32),
			fmt__num(v->faults, b[9], 32), b[1], b[2],
			fmt__num(v->load_s > 0 ? (uint64_t)((double)v->allocs_load / v->load_s) : 0, b[10], 32),
			fmt__num(v->untracked, b[11], 32), v->why_not[0] ? "  ! " : "", v->why_not,
			v->error[0] ? "  ! " : "", v->error);
	}
	fprintf(f, "\n settings:\n");
	for (int i = 0; i < n; i++)
		if (vs[i].ran) {
			settings_text(&vs[i], set, sizeof(set));
			fprintf(f, "   %-14s %s\n", vs[i].name, set);
		}
	fprintf(f, "\n verdict: %s\n", verdict_text);
	if (replayed_from) {
		int any = 0;

		for (int i = 0; i < n; i++)
			if (vs[i].ran && vs[i].session[0])
				fprintf(f, "%s %s", any++ ? "" : "\n sessions:", vs[i].session);
		if (any)
			fprintf(f, "\n (fragscope report --diff RECORDED REPLAYED compares a replay with the recording)\n");
		fprintf(f, "\n replayed from %s: predicted, not measured. Against real compare runs of the\n"
			   " bundled workloads the prediction was within 20%% (or 0.5 MiB) but for a variant still\n"
			   " decaying at the end of the load (jemalloc-bg: real runs alone vary 12-33 MiB there);\n"
			   " see README, \"fragscope replay\", and replay --help\n\n", replayed_from);
		return;
	}
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
		json__str(&j, "allocator_requested", requested(v));
		json__str(&j, "allocator_traced", v->ran ? v->alloc_traced : NULL);
		json__str(&j, "allocator_object", v->alloc_object[0] ? v->alloc_object : NULL);
		if ((v->ran && v->substituted >= 0) || (!v->ran && v->why_not[0]))
			json__bool(&j, "substituted", v->ran && v->substituted);
		else
			json__str(&j, "substituted", NULL);	/* did not start, or exec'd: unknown */
		json__bool(&j, "skipped", !v->ran && v->why_not[0]);
		json__str(&j, "note", v->why_not[0] ? v->why_not : NULL);
		json__bool(&j, "compared", compared(v));
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
	json__arr(&j, "compared");
	for (int i = 0; i < n; i++)
		if (compared(&vs[i]))
			json__str(&j, NULL, vs[i].name);
	json__end_arr(&j);
	json__str(&j, "verdict", verdict_text);
	if (replayed_from) {
		json__bool(&j, "replayed", 1);
		json__str(&j, "source", replayed_from);
		json__obj(&j, "replay");
		json__u64(&j, "calls", replay_info.calls);
		json__u64(&j, "threads", replay_info.threads);
		json__str(&j, "trace_state", replay_info.trace_state);
		json__u64(&j, "blocks_before_trace", replay_info.blocks_before);
		json__u64(&j, "released_blocks_before_trace", replay_info.before_released);
		json__u64(&j, "unknown_frees_skipped", replay_info.unknown_frees);
		json__u64(&j, "failed_calls_skipped", replay_info.failed);
		json__u64(&j, "own_syscalls_skipped", replay_info.own_syscalls);
		json__u64(&j, "own_madvise_replayed", replay_info.own_madvise);
		json__end_obj(&j);
	}
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
	fprintf(f, "<div class=\"wide\"><table><tr><th>variant</th><th>allocator</th><th>settings</th><th>peak RSS</th>"
		   "<th>RSS end</th><th>RSS idle</th><th>live idle</th><th>fragmentation</th><th>returned</th><th>faults</th>"
		   "<th>wall s</th><th>diagnosis</th></tr>");
	for (int i = 0; i < n; i++) {
		const struct variant *v = &vs[i];
		char c[6][32], set[512];

		/* the settings and notes hold the user's strings (names, MALLOC_CONF): escaped */
		settings_text(v, set, sizeof(set));
		fprintf(f, "<tr><td>");
		chart__xml(f, v->name);
		fprintf(f, "</td><td>%s</td><td style=\"text-align:left\">", v->ran ? v->alloc_traced : "-");
		chart__xml(f, set);
		if (!v->ran) {
			fprintf(f, "</td><td colspan=\"9\" style=\"text-align:left\">%s", v->why_not[0] ? "skipped: " : "");
			chart__xml(f, v->why_not[0] ? v->why_not : v->error[0] ? v->error : "not run");
			fprintf(f, "</td></tr>");
			continue;
		}
		fprintf(f, "</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%.0f%%</td><td>%s</td><td>%llu</td>"
			   "<td>%.1f</td><td>", fmt__bytes(v->peak_rss, c[0], 32), fmt__bytes(v->rss_end, c[1], 32),
			fmt__bytes(v->rss_idle, c[2], 32), fmt__bytes(v->live_idle, c[3], 32), 100 * v->frag_idle,
			fmt__bytes(v->returned, c[4], 32), (unsigned long long)v->faults, v->wall_s);
		chart__xml(f, v->error[0] ? v->error : v->diag_kind);
		if (v->why_not[0]) {
			fprintf(f, "; ");
			chart__xml(f, v->why_not);
		}
		fprintf(f, "</td></tr>");
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
		{ "tcmalloc", required_argument, 0, 'J' },
		{ "mimalloc", required_argument, 0, 'J' },
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
	const char *list = NULL, *dir = "fragscope-compare", *load = NULL;
	const char *html = NULL;
	double idle = 5, interval = 0.25, timeout = 600;
	int json = 0, opt, idx, nv = 0, ret = EXIT_OK;
	struct variant *vs = calloc(MAX_VARIANTS, sizeof(*vs));
	char *copy, *tok, *save = NULL, vtext[2048], exe[PATH_MAX], all[512];
	struct fs_plan *base = NULL, *scratch = NULL;
	struct fs_waiter *w;

	if (!vs)
		return EXIT_FAIL;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+:i:o:jvh", longopts, &idx)) != -1) {
		switch (opt) {
		case 'V': list = optarg; break;
		case 'I':
			if (parse__duration("--idle", optarg, 1, &idle))
				goto usage;
			break;
		case 'J': preload_lib[alloc__by_name(longopts[idx].name)->id] = optarg; break;
		case 'l': load = optarg; break;
		case 'i':
			if (parse__interval("-i", optarg, 10, PARSE_INTERVAL_MAX_MS, &interval))
				goto usage;
			interval /= 1000;
			break;
		case 'o': dir = optarg; break;
		case 'T':
			if (parse__duration("--timeout", optarg, 0, &timeout))
				goto usage;
			break;
		case 'j': json = 1; break;
		case 'H': html = optarg; break;
		case 'L':
			if (traced__parse_opt(&topts, longopts[idx].name, optarg) < 0)
				goto usage;
			break;
		case 'v': fs_verbose++; break;
		case 'h':
			fputs(compare_usage, stdout);
			variants_help(stdout);
			fputs(compare_usage_tail, stdout);
			free(vs);
			return EXIT_OK;
		default:
			parse__bad_option("compare", opt);
			goto usage;
		}
	}
	if (optind >= argc) {
		fs_err("nothing to compare: give -- COMMAND (see fragscope compare --help)");
		goto usage;
	}
	if (!list) {	/* every variant the backends offer */
		size_t used = 0;

		all[0] = 0;
		for (int i = 0; fs_allocators[i]; i++) {
			const struct fs_allocator *a = fs_allocators[i];

			if (a->variants[0].name && a->preload_soname && !preload_lib[a->id] &&
			    ldso__find_soname(a->preload_soname, getenv("LD_LIBRARY_PATH"), NULL, preload_found[a->id],
					      sizeof(preload_found[a->id]))) {
				fs_warn("%s is not installed (no %s; apt-get install %s): its variants are left out",
					a->name, a->preload_soname, a->preload_package);
				continue;
			}
			for (const struct fs_alloc_variant *n = a->variants; n->name; n++)
				used += (size_t)snprintf(all + used, used < sizeof(all) ? sizeof(all) - used : 0, "%s%s",
							 used ? "," : "", n->name);
		}
		list = all;
	}
	copy = strdup(list);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (nv == MAX_VARIANTS || parse_variant(tok, &vs[nv])) {
			char names[512];

			variants_list(names, sizeof(names));
			fs_err("unknown variant '%s' (%s)", tok, names);
			free(copy);
			goto usage;
		}
		nv++;
	}
	free(copy);
	if (traced__can_trace()) {
		free(vs);
		return EXIT_FAIL;
	}
	if (mkdir(dir, 0700) && errno != EEXIST) {
		fs_err("create %s: %s", dir, strerror(errno));
		free(vs);
		return EXIT_FAIL;
	}
	for (int i = 0; fs_allocators[i]; i++) {	/* the bare soname if not found: said missing later */
		const struct fs_allocator *a = fs_allocators[i];

		if (!a->preload_soname || preload_lib[a->id])
			continue;
		preload_lib[a->id] = a->preload_soname;
		if (!ldso__find_soname(a->preload_soname, getenv("LD_LIBRARY_PATH"), NULL, preload_found[a->id],
				       sizeof(preload_found[a->id])))
			preload_lib[a->id] = preload_found[a->id];
	}
	/* Which allocator each variant would run, before running any: the program's own
	 * allocator, then each variant's settings on top. */
	base = calloc(1, sizeof(*base));
	scratch = calloc(1, sizeof(*scratch));
	if (base && scratch && !target__find_exe(argv[optind], exe, sizeof(exe))) {
		struct variant defaults = { .name = "defaults" };
		char interp[PATH_MAX];
		int base_ok;

		if (target__interpreter(exe, interp, sizeof(interp)) == 1)	/* a script: what the kernel runs */
			snprintf(exe, sizeof(exe), "%s", interp);
		base_ok = !resolve_variant(&defaults, exe, base);

		for (int i = 0; i < nv; i++)
			plan_variant(&vs[i], exe, base_ok ? base : NULL, scratch);
	}
	free(base);
	free(scratch);
	target__stdout_to_stderr(json);	/* stdout: the document only */
	w = traced__waiter_new();
	if (!w) {
		free(vs);
		return EXIT_FAIL;
	}
	for (int i = 0; i < nv && !stop_all; i++) {
		if (vs[i].why_not[0]) {
			fprintf(stderr, "fragscope: variant %d of %d: %s skipped: %s\n", i + 1, nv, vs[i].name,
				vs[i].why_not);
			continue;
		}
		fs_info("variant %s", vs[i].name);
		fprintf(stderr, "fragscope: variant %d of %d: %s\n", i + 1, nv, vs[i].name);
		run_variant(&vs[i], argv + optind, dir, load, json, idle, interval, timeout, &topts, w);
		if (vs[i].error[0]) {
			fs_err("variant %s: %s", vs[i].name, vs[i].error);
			ret = EXIT_FAIL;
		} else if (vs[i].why_not[0]) {
			fs_warn("variant %s: %s", vs[i].name, vs[i].why_not);
		}
	}
	{
		int ncmp = 0;

		for (int i = 0; i < nv; i++)
			ncmp += compared(&vs[i]);
		if (!ncmp)
			ret = EXIT_FAIL;
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
	traced__waiter_free(w);
	free(vs);
	return ret;
usage:
	free(vs);
	return EXIT_USAGE;
}

/* ==== fragscope replay: a recorded trace's calls under each variant ==== */

static const char replay_usage[] =
	"usage: fragscope replay [options] SESSION\n"
	"\n"
	"Would this program keep less memory under jemalloc, or with other settings,\n"
	"without running it again? Replays the allocator calls of a session recorded with\n"
	"`fragscope record --trace` in a new process under each variant (the variants of\n"
	"`fragscope compare`), one replay thread per recorded thread, each thread's calls in\n"
	"their order, a block released by another thread only after it was allocated, the\n"
	"allocated bytes written (one byte a page), the recorded schedule kept (divided by\n"
	"--time-factor: no thread runs more than 200 us ahead of its recorded time, so\n"
	"idle periods last as they did); then, as compare does, the RSS at the end of the\n"
	"load (the first 250 ms without a call) and after --idle more seconds, and a\n"
	"verdict. Threads that are done stay alive, idle. Progress on stderr; Ctrl-C\n"
	"kills the replaying process.\n"
	"\n"
	"What a replay cannot predict: behaviour that depends on timing finer than the\n"
	"recorded schedule (200 us); memory the program maps itself (its mmap, munmap\n"
	"and madvise of its own mappings are not replayed: RSS figures are the\n"
	"allocator's part; its madvise inside a block it allocated is); blocks allocated\n"
	"before the trace began (attached by PID: glibc's census lists them, and the\n"
	"replay allocates them first, from one thread, at their chunk sizes; other\n"
	"allocators': their releases are skipped, counted);\n"
	"calls the trace lost (a lossy trace is said); other processes. Sizes of what the\n"
	"program really wrote are unknown: every page of a block is touched.\n"
	"Measured against real compare runs of the bundled workloads (README): within 20%\n"
	"(or 0.5 MiB for figures of 1-2 MiB) but for the RSS at the end of a variant still\n"
	"decaying then (jemalloc-bg: real runs alone vary 12-33 MiB there); a program whose\n"
	"own RSS varies between runs (glibc with several threads: 15-50%) is predicted as\n"
	"the recorded run was.\n"
	"\n"
	"options:\n"
	"      --variants LIST   as compare's (default: every variant of compare)\n"
	"      --idle SECS       watch SECS after the calls end (default 5)\n"
	"      --time-factor F   replay the recorded schedule F times faster (default 1:\n"
	"                        the recorded pace; jemalloc's decay runs on real time, so\n"
	"                        a larger F shortens the replay but gives decay less time\n"
	"                        in the gaps)\n"
	"      --jemalloc PATH   the jemalloc library to preload (--tcmalloc, --mimalloc: theirs)\n"
	"      --timeout SECS    longest replay of one variant (default 600)\n"
	"  -o, --output DIR      where the sessions go (default fragscope-replay): each\n"
	"                        replay is traced as compare traces a run (about 1 us more\n"
	"                        a call), for `fragscope report --diff RECORDED REPLAYED`\n"
	"      --no-sessions     no tracing, no sessions: the replay at full speed\n"
	"  -j, --json            one JSON document (compare's keys, \"replayed\": true)\n"
	"  -v                    more diagnostics on stderr\n"
	"  -h, --help            this text\n"
	"\n"
	"exit status: 0 ok, 1 failure, 2 usage\n";

/* Every call of the session's trace, in order. 0, or -1 after saying why. */
static int read_trace(const char *path, struct fs_call_event **out, size_t *n)
{
	char err[4600];
	struct trace_reader *r = trace_reader__open(path, err, sizeof(err));
	const struct fs_call_event *ev;
	size_t cap = 0;
	uint32_t k;
	int rc;

	*out = NULL;
	*n = 0;
	if (!r) {
		fs_err("%s", err);
		return -1;
	}
	while ((rc = trace_reader__next(r, &ev, &k, err, sizeof(err))) == 1) {
		if (*n + k > cap) {
			struct fs_call_event *no;

			cap = (*n + k) * 2;
			no = realloc(*out, cap * sizeof(*no));
			if (!no) {
				snprintf(err, sizeof(err), "out of memory");
				rc = -1;
				break;
			}
			*out = no;
		}
		memcpy(*out + *n, ev, k * sizeof(*ev));
		*n += k;
	}
	trace_reader__free(r);
	if (rc < 0) {
		fs_err("%s: %s", path, err);
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

int cmd_replay(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "variants", required_argument, 0, 'V' },
		{ "idle", required_argument, 0, 'I' },
		{ "time-factor", required_argument, 0, 'F' },
		{ "jemalloc", required_argument, 0, 'J' },
		{ "tcmalloc", required_argument, 0, 'J' },
		{ "mimalloc", required_argument, 0, 'J' },
		{ "timeout", required_argument, 0, 'T' },
		{ "json", no_argument, 0, 'j' },
		{ "child", no_argument, 0, 'C' },
		{ "output", required_argument, 0, 'o' },
		{ "no-sessions", no_argument, 0, 'N' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	const char *list = NULL, *path, *dir = "fragscope-replay";
	double idle = 5, factor = 1, timeout = 600;
	int json = 0, opt, idx, nv = 0, ret = EXIT_FAIL, child = 0, plan_fd = -1, no_sessions = 0;
	struct fs_trace_opts topts = FS_TRACE_OPTS_DEFAULT;
	struct variant *vs = NULL;
	struct session_data *d = NULL;
	struct fs_call_event *ev = NULL;
	uint64_t *pre = NULL;
	long npre = 0;
	struct rp_plan plan = { 0 };
	struct fs_waiter *w = NULL;
	char err[4600], all[512], vtext[2048], exe[PATH_MAX];
	size_t n = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+:o:jvh", longopts, &idx)) != -1) {
		switch (opt) {
		case 'V': list = optarg; break;
		case 'o': dir = optarg; break;
		case 'N': no_sessions = 1; break;
		case 'I':
			if (parse__duration("--idle", optarg, 1, &idle))
				return EXIT_USAGE;
			break;
		case 'F':
			if (parse__decimal(optarg, &factor) || !(factor >= 1 && factor <= 1e6)) {
				fs_err("invalid --time-factor '%s' (a number from 1 to 1000000)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'J': preload_lib[alloc__by_name(longopts[idx].name)->id] = optarg; break;
		case 'T':
			if (parse__duration("--timeout", optarg, 0, &timeout))
				return EXIT_USAGE;
			break;
		case 'j': json = 1; break;
		case 'C': child = 1; break;
		case 'v': fs_verbose++; break;
		case 'h': fputs(replay_usage, stdout); return EXIT_OK;
		default:
			return parse__bad_option("replay", opt);
		}
	}
	if (child) {	/* the replaying process: PLANFD SHMFD FACTOR */
		if (argc - optind != 3)
			return EXIT_USAGE;
		return replayer__child(atoi(argv[optind]), atoi(argv[optind + 1]), atof(argv[optind + 2]));
	}
	if (argc - optind != 1) {
		fs_err("%s (see fragscope replay --help)", argc - optind ? "one session file" : "give the session to replay");
		return EXIT_USAGE;
	}
	path = argv[optind];
	vs = calloc(MAX_VARIANTS, sizeof(*vs));
	if (!vs)
		return EXIT_FAIL;
	if (!list) {
		size_t used = 0;

		all[0] = 0;
		for (int i = 0; fs_allocators[i]; i++)
			for (const struct fs_alloc_variant *v = fs_allocators[i]->variants; v->name; v++)
				used += (size_t)snprintf(all + used, used < sizeof(all) ? sizeof(all) - used : 0, "%s%s",
							 used ? "," : "", v->name);
		list = all;
	}
	{
		char *copy = strdup(list), *tok, *save = NULL;

		for (tok = copy ? strtok_r(copy, ",", &save) : NULL; tok; tok = strtok_r(NULL, ",", &save)) {
			if (nv == MAX_VARIANTS || parse_variant(tok, &vs[nv])) {
				char names[512];

				variants_list(names, sizeof(names));
				fs_err("unknown variant '%s' (%s)", tok, names);
				free(copy);
				free(vs);
				return EXIT_USAGE;
			}
			nv++;
		}
		free(copy);
	}
	d = session__load(path, err, sizeof(err));
	if (!d) {
		fs_err("%s", err);
		goto cleanup;
	}
	if (read_trace(path, &ev, &n))
		goto cleanup;
	if (trace__before(path, &pre, &npre, err, sizeof(err))) {
		fs_err("%s", err);
		goto cleanup;
	}
	if (rp__build(ev, n, pre, npre, &plan, err, sizeof(err))) {
		fs_err("%s: %s", path, err);
		goto cleanup;
	}
	free(pre);
	pre = NULL;
	free(ev);
	ev = NULL;
	if (strcmp(session__meta(d, "trace_state", "incomplete"), "complete"))
		fs_warn("%s: the trace is %s (%s calls lost): the replay misses those calls", path,
			session__meta(d, "trace_state", "incomplete"), session__meta(d, "trace_lost", "?"));
	if (plan.npre)
		fs_info("replay: %llu blocks in use before the trace allocated first (%llu of them released in it)",
			(unsigned long long)plan.npre, (unsigned long long)plan.pre_freed);
	if (plan.skip.unknown_frees)
		fs_warn("%llu releases of blocks allocated before the trace%s are not replayed (%s)",
			(unsigned long long)plan.skip.unknown_frees, plan.npre ? " and not in its census" : "",
			session__meta(d, "trace_before_attach", "?"));
	fs_info("replay: %llu calls in %u threads, %u blocks; skipped: %llu failed, %llu own syscalls, %llu resizes",
		(unsigned long long)plan.nops, plan.nthreads, plan.nblocks, (unsigned long long)plan.skip.failed,
		(unsigned long long)plan.skip.syscalls, (unsigned long long)plan.skip.resizes);
	plan_fd = memfd_create("fragscope-replay-plan", MFD_CLOEXEC);
	if (plan_fd < 0 || ftruncate(plan_fd, (off_t)rp__size(&plan))) {
		fs_err("replay plan: %s", strerror(errno));
		goto cleanup;
	}
	{
		void *buf = mmap(NULL, rp__size(&plan), PROT_READ | PROT_WRITE, MAP_SHARED, plan_fd, 0);

		if (buf == MAP_FAILED) {
			fs_err("replay plan: %s", strerror(errno));
			goto cleanup;
		}
		rp__serialize(&plan, buf);
		munmap(buf, rp__size(&plan));
	}
	{
		ssize_t k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

		if (k <= 0) {
			fs_err("/proc/self/exe: %s", strerror(errno));
			goto cleanup;
		}
		exe[k] = 0;
	}
	for (int i = 0; fs_allocators[i]; i++) {
		const struct fs_allocator *a = fs_allocators[i];

		if (!a->preload_soname || preload_lib[a->id])
			continue;
		preload_lib[a->id] = a->preload_soname;
		if (!ldso__find_soname(a->preload_soname, getenv("LD_LIBRARY_PATH"), NULL, preload_found[a->id],
				       sizeof(preload_found[a->id])))
			preload_lib[a->id] = preload_found[a->id];
	}
	if (!no_sessions) {	/* traced replays, as compare's runs */
		if (traced__can_trace())
			goto cleanup;
		if (mkdir(dir, 0700) && errno != EEXIST) {
			fs_err("create %s: %s", dir, strerror(errno));
			goto cleanup;
		}
	}
	replayed_from = path;
	replay_info.calls = plan.nops - plan.npre;
	replay_info.threads = plan.nthreads - (plan.npre ? 1 : 0);
	replay_info.blocks_before = plan.npre;
	replay_info.before_released = plan.pre_freed;
	replay_info.unknown_frees = plan.skip.unknown_frees;
	replay_info.failed = plan.skip.failed;
	replay_info.own_syscalls = plan.skip.syscalls;
	replay_info.own_madvise = plan.madvised;
	replay_info.trace_state = session__meta(d, "trace_state", "incomplete");
	w = traced__waiter_new();
	if (!w)
		goto cleanup;
	ret = EXIT_OK;
	for (int i = 0; i < nv && !stop_all; i++) {
		struct variant *v = &vs[i];
		struct saved_env saved;
		struct rp_result res;
		struct rp_session so;
		char set[512];
		int r;

		if (preloaded(v) && access(preload_path(v), R_OK)) {
			snprintf(v->error, sizeof(v->error), "%s library %s is missing (apt-get install %s)",
				 v->alloc->name, preload_path(v), v->alloc->preload_package);
			fs_err("variant %s: %s", v->name, v->error);
			ret = EXIT_FAIL;
			continue;
		}
		fprintf(stderr, "fragscope: replay %d of %d: %s\n", i + 1, nv, v->name);
		settings_text(v, set, sizeof(set));
		snprintf(v->session, sizeof(v->session), "%s/%s.db", dir, v->name);
		so = (struct rp_session){ .opts = &topts, .path = v->session, .source = path, .settings = set };
		save_env(&saved, v);
		apply_env(v, &saved);
		r = replayer__run(exe, plan_fd, &plan, factor, idle, timeout, v->name, no_sessions ? NULL : &so, w, &res);
		restore_env(&saved);
		if (!res.sessions_written)
			v->session[0] = 0;
		if (res.interrupted)
			stop_all = 1;
		if (r) {
			snprintf(v->error, sizeof(v->error), "%s", res.error);
			fs_err("variant %s: %s", v->name, v->error);
			ret = EXIT_FAIL;
		}
		v->ran = 1;
		v->substituted = 1;	/* fragscope itself runs the calls: it takes LD_PRELOAD */
		snprintf(v->alloc_traced, sizeof(v->alloc_traced), "%s", requested(v));
		v->peak_rss = res.peak_rss;
		v->rss_end = res.rss_end;
		v->rss_idle = res.rss_idle;
		v->live_end = v->live_idle = plan.live_bytes;
		v->wall_s = res.wall_s;
		v->load_s = res.calls_s;
		v->allocs_load = plan.nblocks;
		snprintf(v->diag_kind, sizeof(v->diag_kind), "%s", res.traced ? res.diag_kind : "none");
		if (res.traced) {
			v->returned = res.returned;
			v->faults = res.faults;
			v->madvise_ns = res.madvise_ns;
			v->frag_idle = res.fragmentation;
			v->narenas = res.narenas;
		}
	}
	verdict(vs, nv, vtext, sizeof(vtext));
	if (json)
		print_json(vs, nv, vtext);
	else
		print_table(stdout, vs, nv, vtext);
	if (stop_all)
		ret = EXIT_FAIL;
cleanup:
	traced__waiter_free(w);
	if (plan_fd >= 0)
		close(plan_fd);
	rp__free(&plan);
	free(ev);
	free(pre);
	session__data_free(d);
	free(vs);
	return ret;
}
