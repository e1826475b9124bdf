/* traced.c - the lifecycle of one traced process, shared by the commands. */
#include <errno.h>
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
#include "util/common.h"
#include "util/log.h"
#include "util/parse.h"
#include "alloc/census.h"
#include "alloc/jestats.h"
#include "model/container.h"
#include "model/procmem.h"
#include "elf/elfobj.h"
#include "elf/symbolize.h"
#include "trace/calib.h"
#include "trace/callrec.h"
#include "trace/traced_priv.h"
#include "trace/tracer.h"

extern char **environ;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int traced__can_trace(void)
{
	struct stat st;

	if (geteuid() != 0) {
		fs_err("must run as root: loading BPF programs and attaching uprobes need CAP_BPF and CAP_PERFMON");
		return -1;
	}
	if (stat("/sys/kernel/btf/vmlinux", &st)) {
		fs_err("this kernel has no BTF (/sys/kernel/btf/vmlinux is missing): fragscope needs CONFIG_DEBUG_INFO_BTF=y");
		return -1;
	}
	return 0;
}

int traced__parse_pid(const char *s, pid_t *out)
{
	uint64_t v;

	if (parse__count("PID", "-p", s, 1, 0x7fffffff, &v))
		return -1;
	*out = (pid_t)v;
	return 0;
}

int traced__check_target(const char *cmd, int have_pid, int have_command)
{
	if (have_pid == have_command) {
		fs_err("%s (see fragscope %s --help)",
		       have_pid ? "give either -p PID or a command, not both" : "nothing to trace: give -p PID or -- COMMAND",
		       cmd);
		return 2;
	}
	return 0;
}

int traced__check_opts(const char *cmd, const struct fs_trace_opts *o)
{
	if (o->window_period_s && !o->sampled) {
		fs_err("--window is for --mode sampled (see fragscope %s --help)", cmd);
		return 2;
	}
	return 0;
}

int traced__parse_opt(struct fs_trace_opts *o, const char *name, const char *arg)
{
	char msg[160];
	uint64_t v;

	if (!strcmp(name, "census")) {
		o->census = 1;
		return 1;
	}
	if (!strcmp(name, "no-census")) {
		o->census = 0;
		return 1;
	}
	if (!strcmp(name, "sys-tracepoints")) {
		o->sys_tracepoints = 1;
		return 1;
	}
	if (!strcmp(name, "exact-lifetimes")) {
		o->exact_lifetimes = 1;
		return 1;
	}
	if (!strcmp(name, "no-ask")) {
		o->no_ask = 1;
		return 1;
	}
	if (!strcmp(name, "mode")) {
		if (!strcmp(arg, "exact") || !strcmp(arg, "light") || !strcmp(arg, "sampled")) {
			o->light = !strcmp(arg, "light");
			o->sampled = !strcmp(arg, "sampled");
			return 1;
		}
		fs_err("--mode %s: not a mode (exact, light or sampled)", arg);
		return -1;
	}
	if (!strcmp(name, "window")) {
		char on[64];
		const char *slash = strchr(arg, '/');

		if (!slash || (size_t)(slash - arg) >= sizeof(on)) {
			fs_err("invalid window '%s' for --window: give ON/PERIOD in seconds, e.g. 1/4", arg);
			return -1;
		}
		memcpy(on, arg, (size_t)(slash - arg));
		on[slash - arg] = 0;
		if (parse__duration("--window", on, 0, &o->window_on_s) ||
		    parse__duration("--window", slash + 1, 0, &o->window_period_s))
			return -1;
		if (o->window_on_s < 0.05 || o->window_on_s >= o->window_period_s) {
			fs_err("invalid window '%s' for --window: ON must be at least 0.05 s and less than PERIOD", arg);
			return -1;
		}
		return 1;
	}
	if (!strcmp(name, "sample-seed")) {
		if (parse__count("seed", "--sample-seed", arg, 1, UINT64_MAX, &v))
			return -1;
		o->sample_seed = v;
		return 1;
	}
	if (strcmp(name, "max-live") && strcmp(name, "sample-bytes"))
		return 0;
	if (!strcmp(name, "max-live")) {
		if (parse__count("block count", "--max-live", arg, 1, 1u << 30, &v))
			return -1;
		o->max_live = (uint32_t)v;
		if (tracer__check_max_live(o->max_live, msg, sizeof(msg))) {
			fs_err("%s", msg);
			return -1;
		}
	} else {
		if (parse__size("--sample-bytes", arg, 0, UINT64_MAX, &v))
			return -1;
		if (v > 1 && v < 64) {
			parse__complain("size", "--sample-bytes", arg, PARSE_RANGE, "bytes: 0, 1, or at least 64");
			return -1;
		}
		if (v > (1ULL << 40)) {
			parse__complain("size", "--sample-bytes", arg, PARSE_RANGE, "bytes: at most 1 TiB");
			return -1;
		}
		o->sample_bytes = v;
	}
	return 1;
}

int traced__shared_opt(int c, const char *name, const char *arg, struct fs_trace_opts *o,
		       const char *cmd, const char *usage)
{
	switch (c) {
	case 'L':
		return traced__parse_opt(o, name, arg) < 0 ? EXIT_USAGE : -1;
	case 'v':
		fs_verbose++;
		return -1;
	case 'h':
		fputs(usage, stdout);
		return EXIT_OK;
	default:	/* '?' or ':' */
		return parse__bad_option(cmd, c);
	}
}

struct fs_waiter {
	int sfd;
	sigset_t oldmask;
};

struct fs_waiter *traced__waiter_new(void)
{
	struct fs_waiter *w = calloc(1, sizeof(*w));
	sigset_t mask;
	int err;

	if (!w)
		return NULL;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, &w->oldmask);
	w->sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (w->sfd < 0) {
		err = errno;
		fs_err("signalfd: %s", strerror(err));
		sigprocmask(SIG_SETMASK, &w->oldmask, NULL);
		free(w);
		errno = err;
		return NULL;
	}
	return w;
}

void traced__waiter_free(struct fs_waiter *w)
{
	if (!w)
		return;
	close(w->sfd);
	sigprocmask(SIG_SETMASK, &w->oldmask, NULL);
	free(w);
}

int traced__wait(struct fs_waiter *w, struct fs_traced *t, int input_fd, double timeout_s, int *sig)
{
	uint64_t end = now_ns() + (uint64_t)(timeout_s > 0 ? timeout_s * 1e9 : 0);

	for (;;) {
		struct pollfd pf[3] = { { .fd = w->sfd, .events = POLLIN } };
		int np = 1, ix = -1, ii = -1, r;
		uint64_t now = now_ns();

		/* a process that has exited (or is done) is not watched: its pidfd stays readable */
		if (t && !t->done && !t->info.exited && t->tg.pidfd >= 0) {
			ix = np;
			pf[np++] = (struct pollfd){ .fd = t->tg.pidfd, .events = POLLIN };
		}
		if (input_fd >= 0) {
			ii = np;
			pf[np++] = (struct pollfd){ .fd = input_fd, .events = POLLIN };
		}
		/* +1 ms: poll rounds down, and waking just before the end would be no tick */
		r = poll(pf, (nfds_t)np, now < end ? (int)((end - now) / 1000000) + 1 : 0);
		if (r < 0) {
			if (errno != EINTR) {
				fs_err("poll: %s", strerror(errno));
				return FS_WAKE_ERROR;
			}
			if (ii >= 0)
				return FS_WAKE_INPUT;
			continue;
		}
		if (pf[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(w->sfd, &si, sizeof(si)) == sizeof(si))
				*sig = (int)si.ssi_signo;
			else
				fs_debug("signalfd: %s", strerror(errno));
			return FS_WAKE_SIGNAL;
		}
		if (ix >= 0 && pf[ix].revents)
			return FS_WAKE_EXITED;
		if (ii >= 0 && pf[ii].revents)
			return FS_WAKE_INPUT;
		if (!r)
			return FS_WAKE_TICK;
	}
}

static void show_plan(const struct fs_plan *plan, int light)
{
	fs_info("allocator: %s in %s (%s)", plan->alloc_name, plan->object, plan->how);
	if (light) {
		fs_info("light mode: none of its %d functions probed; memory syscalls, page faults, /proc%s",
			plan->nprobes, plan->allocator && plan->allocator->heap_walk ? " and the heap census" : "");
		return;
	}
	for (int i = 0; i < plan->nprobes; i++) {
		const struct fs_probe *p = &plan->probes[i];

		fs_info("  %-36s 0x%-8llx probe +%-2u %s%s%s%s", p->name, (unsigned long long)p->vaddr,
			p->place, p->emulated ? "emulated" : "single-stepped", *p->aliases ? " (also " : "",
			p->aliases, *p->aliases ? ")" : "");
		fs_debug("    placement: %s", p->why);
		if (p->tail_to) {
			char to[256] = "";

			for (int k = 0; k < plan->nprobes && k < 64; k++)
				if (p->tail_to >> k & 1)
					snprintf(to + strlen(to), sizeof(to) - strlen(to), " %s", plan->probes[k].name);
			fs_debug("    may end by jumping into:%s", to);
		}
	}
	for (int i = 0; i < plan->nnotes; i++)
		fs_info("note: %s", plan->notes[i]);
}

static void show_sys(const struct fs_plan *plan, int uprobes)
{
	if (uprobes) {
		fs_info("memory syscalls: probes on the wrappers in %s", plan->sys[0].path);
		for (int i = 0; i < plan->nsys; i++)
			fs_debug("  %-36s 0x%-8llx probe +%u", plan->sys[i].name,
				 (unsigned long long)plan->sys[i].vaddr, plan->sys[i].place);
	} else {
		fs_info("memory syscalls: syscall tracepoints (%s)",
			plan->nsys ? "--sys-tracepoints" : plan->sys_why);
	}
}

static void note_pre_block(void *ctx, uint64_t mem, uint64_t chunk)
{
	struct fs_traced *t = ctx;

	if (t->npre == t->precap) {
		long nc = t->precap ? t->precap * 2 : 4096;
		struct fs_pre_block *np = realloc(t->pre, (size_t)nc * sizeof(*np));

		if (!np) {
			t->pre_failed = 1;
			return;
		}
		t->pre = np;
		t->precap = nc;
	}
	t->pre[t->npre++] = (struct fs_pre_block){ mem, chunk };
}

long traced__pre_blocks(const struct fs_traced *t, const struct fs_pre_block **out, int *partial)
{
	*out = t->pre;
	*partial = t->pre_failed;
	return t->npre;
}

/* Census of what predates the probes, tracer, probes: the part of starting that
 * does not depend on how the process came to be traced. */
static int traced__attach(struct fs_traced *t, int exec_skip, char *err, size_t errlen)
{
	const struct fs_trace_opts *o = &t->opts;
	struct tracer_opts topts;
	pid_t pid = t->tg.pid;

	t->info.pid = t->tg.pid;
	snprintf(t->info.comm, sizeof(t->info.comm), "%s", t->tg.comm);
	container__read(pid, &t->info.ctr);	/* its PID in its namespace, its cgroup */
	show_plan(&t->plan, o->light);
	if (o->sampled) {
		/* the waterfall as in light mode (no block map: the heap census or the
		 * allocator's statistics), the calls and the sampled profile on top */
		t->st.light = 1;
		t->st.sampled = 1;
	}
	if (o->light) {
		/* what tells the allocator's syscalls from the program's: its code, learnt from
		 * its mapping once mapped (light_learn_text); then no probe on its functions */
		if (t->plan.nprobes) {
			t->light_text_lo = t->plan.probes[0].text_lo;
			t->light_text_hi = t->plan.probes[0].text_hi;
			snprintf(t->light_path, sizeof(t->light_path), "%s", t->plan.probes[0].path);
		}
		t->plan.nprobes = 0;
		t->st.light = 1;
	}

	if (!t->info.attached_at_start && t->plan.allocator->heap_walk) {
		/* What the heap held before the probes: with a census every chunk, counted now,
		 * its releases seen later; without, only the mmapped chunks (one page read
		 * each), so the allocator's big blocks are not taken for someone else's memory.
		 * By default (exact mode) the census runs when the heaps are small enough to
		 * walk in a few seconds; light and sampled modes take their own censuses. */
		struct fs_regions rs = { 0 };
		struct fs_census *c = calloc(1, sizeof(*c));
		int census = o->census > 0;

		if (c && o->trace_calls && o->census > 0) {	/* record --trace: the blocks themselves */
			c->on_chunk = note_pre_block;
			c->on_chunk_ctx = t;
		}
		if (c && procmem__regions(pid, 1, &rs))
			rs.n = 0;
		if (rs.n && o->census == FS_CENSUS_AUTO && !o->light && !o->sampled) {
			uint64_t heaps = 0;

			for (int i = 0; i < rs.n; i++)
				if (rs.r[i].kind == FS_RG_HEAP || rs.r[i].kind == FS_RG_ARENA_HEAP)
					heaps += rs.r[i].end - rs.r[i].start;
			census = heaps <= FS_CENSUS_AUTO_MAX;
			if (!census)
				fs_warn("no heap census: %.1f GiB of heaps (a walk of seconds before the probes attach); "
					"--census walks them, --no-census silences this", (double)heaps / (1ull << 30));
		}
		if (c && rs.n &&
		    !(census ? procmem__census(pid, &rs, NULL, c) : procmem__census_mmapped(pid, &rs, c))) {
			t->st.census_ev = calloc((size_t)c->nmm + 1, sizeof(*t->st.census_ev));
			for (int i = 0; t->st.census_ev && i < c->nmm; i++)
				t->st.census_ev[t->st.ncensus_ev++] =
					(struct fs_owned){ c->mm[i].start, c->mm[i].end, FS_OWN_ALLOCATOR };
			t->st.census_mm_more = c->mm_more;
			t->st.mmapped_scanned = 1;
			if (census) {
				t->st.census_done = 1;
				t->st.census_in_use = c->in_use;
				t->st.census_chunks = c->mmapped_chunks;	/* in_use counts them too */
				for (int i = 0; i < c->narenas; i++)
					t->st.census_chunks += c->arenas[i].chunks_in_use;
				t->st.census_approximate = c->approximate;
				fs_info("census: %llu bytes in %llu chunks in use before attach",
					(unsigned long long)c->in_use, (unsigned long long)t->st.census_chunks);
			} else {
				fs_info("before attach: %llu mmapped chunks, %llu bytes", (unsigned long long)c->mmapped_chunks,
					(unsigned long long)c->mmapped_bytes);
			}
		} else if (census) {
			fs_warn("heap census of PID %d failed: live figures cover blocks allocated after attach only", pid);
		}
		memmodel__regions_free(&rs);
		free(c);
	} else if (o->census > 0 && !t->info.attached_at_start) {
		fs_warn("--census reads glibc heaps only: not done for %s", t->plan.alloc_name);
	}
	memset(&topts, 0, sizeof(topts));
	topts.pid = t->tg.pid;
	topts.max_live = o->max_live;
	topts.sample_bytes = o->sample_bytes;
	topts.sys_uprobes = t->plan.nsys == FS_S__COUNT && !o->sys_tracepoints;
	topts.lifetime_shift = o->exact_lifetimes ? 0 : FS_LIFETIME_SHIFT;
	topts.follow = o->follow;
	t->info.follow = o->follow;
	topts.exec_skip = exec_skip;
	topts.lazy = t->info.role != FS_ROLE_TARGET;
	topts.light = o->light;
	topts.sampled = o->sampled;
	topts.sample_seed = o->sample_seed;
	topts.window_on_ns = (uint64_t)(o->window_on_s * 1e9);
	topts.window_period_ns = (uint64_t)(o->window_period_s * 1e9);
	if (o->window_period_s && !o->sampled) {
		snprintf(err, errlen, "--window is for --mode sampled");
		return -1;
	}
	topts.trace_calls = o->trace_calls;
	topts.trace_ring_bytes = o->trace_ring_bytes;
	if (o->light || o->sampled)
		topts.max_live = 1024;	/* no block is ever recorded: the maps need no room */
	if (o->sampled)	/* the sampled blocks' table: --max-live if given, else 65536 */
		topts.sampled_max = o->max_live != (1u << 20) ? o->max_live : 0;
	t->st.lifetime_sampling = 1u << topts.lifetime_shift;
	t->st.sys_tracepoints = !topts.sys_uprobes;
	show_sys(&t->plan, topts.sys_uprobes);
	topts.flavour = t->plan.allocator->id;
	t->st.allocator = t->plan.allocator;
	t->st.traced_from_start = t->info.attached_at_start;
	/* found at the first samples (a command has not mapped its libraries yet) */
	t->st.je_ask = t->plan.allocator->own_stats && !o->no_ask;
	t->st.sample_bytes = o->sample_bytes;
	t->tr = tracer__new(&topts, err, errlen);
	if (!t->tr)
		return -1;
	if (tracer__attach(t->tr, &t->plan, err, errlen)) {
		/* its libraries' paths and its PID are gone with it (ENOENT, ESRCH): say why */
		if (target__check(&t->tg))
			snprintf(err, errlen, "process %d exited while fragscope was attaching", t->tg.pid);
		return -1;
	}
	if (o->trace_calls && !(t->cr = callrec__start(t->tr, err, errlen)))
		return -1;
	return 0;
}

static struct fs_traced *traced__alloc(const struct fs_trace_opts *o)
{
	struct fs_traced *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->tg.pidfd = t->tg.gate = t->tg.errpipe = -1;
	t->info.exit_code = -1;
	t->opts = *o;
	return t;
}

static void traced__begun(struct fs_traced *t)
{
	procmem__settings(t->tg.pid, &t->st.settings);
	t->sym = symbolizer__new(t->tg.pid);
	t->t0_ns = now_ns();
	/* what was mapped at attach bounds what blocks from before it can hold: read now,
	 * before anyone is told tracing began (a load started then must not count) */
	if (!t->info.attached_at_start)
		traced__sample(t, 0, 0);
	fs_info("tracing PID %d (%s)", t->tg.pid, t->tg.comm);
}

struct fs_traced *traced__start(pid_t pid, char *const argv[], const struct fs_trace_opts *o,
				char *err, size_t errlen)
{
	struct fs_traced *t;

	/* The trap costs are measured first (once a run, ~10 ms of CPU, up to a few
	 * hundred ms of waiting for the kernel): between "tracing PID" and the first
	 * sample they would let a target's load start before what was mapped at attach
	 * is read, and that figure bounds the diagnosis's promises. */
	calib__rates();
	t = traced__alloc(o);
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (pid) {
		if (target__open(&t->tg, pid, err, errlen) || resolve__pid(t->tg.pid, &t->plan, err, errlen))
			goto fail;
	} else {
		char interp[PATH_MAX];
		/* a script: what runs is its interpreter (followed, it execs the rest) */
		int script = 0;

		if (target__spawn(&t->tg, argv, err, errlen))
			goto fail;
		script = target__interpreter(t->tg.path, interp, sizeof(interp)) == 1;
		if (script)
			fs_info("%s is a script run by %s", t->tg.path, interp);
		if (resolve__cmd(NULL, script ? interp : t->tg.path, environ, &t->plan, err, errlen))
			goto fail;
		t->info.attached_at_start = 1;
	}
	if (traced__attach(t, pid ? 0 : 1, err, errlen))
		goto fail;
	if (t->tg.child) {
		if (target__release(&t->tg, err, errlen))
			goto fail;
	} else if (target__check(&t->tg)) {
		snprintf(err, errlen, "PID %d exited while the probes were being attached", t->tg.pid);
		goto fail;
	}
	calib__report_attach(&t->plan, !t->st.sys_tracepoints, t->st.sampled);	/* measured already: no wait */
	traced__begun(t);
	return t;
fail:
	traced__free(t);
	return NULL;
}

/* A NULL-terminated copy of a process's environment (what its loader will read). */
static char **read_environ(pid_t pid)
{
	char path[64], *buf = NULL, **env;
	size_t len = 0, cap = 0, n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	for (;;) {
		size_t got;

		if (len + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap = (cap ? cap * 2 : 8192));

			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		got = fread(buf + len, 1, 4096, f);
		len += got;
		if (!got)
			break;
	}
	fclose(f);
	buf[len] = 0;
	for (size_t i = 0; i < len; i++)
		n += !buf[i];
	env = calloc(n + 2, sizeof(*env) + 0);
	if (!env) {
		free(buf);
		return NULL;
	}
	n = 0;
	for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
		env[n++] = buf + i;
	env[n] = NULL;
	env[n + 1] = buf;	/* the strings, freed with the array */
	return env;
}

static void free_environ(char **env)
{
	size_t n = 0;

	if (!env)
		return;
	while (env[n])
		n++;
	free(env[n + 1]);
	free(env);
}

struct fs_traced *traced__adopt(pid_t pid, int role, pid_t ppid, const struct fs_trace_opts *o,
				char *err, size_t errlen)
{
	struct fs_traced *t = traced__alloc(o);

	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->info.role = role;
	t->info.ppid = ppid;
	if (target__open(&t->tg, pid, err, errlen))
		goto fail;
	if (role == FS_ROLE_EXEC) {
		/* Stopped before the loader's first instruction: nothing but the executable and
		 * the loader is mapped yet, so its libraries are found as the loader will find
		 * them, with the environment it was given. */
		char exe[64], root[64], rooted[PATH_MAX + 64], **env = read_environ(pid);
		ssize_t n;
		int r;

		snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
		n = readlink(exe, t->tg.path, sizeof(t->tg.path) - 1);
		if (n <= 0 || !env) {
			snprintf(err, errlen, "PID %d: read its new image: %s", pid, strerror(errno));
			free_environ(env);
			goto fail;
		}
		t->tg.path[n] = 0;
		/* Its files as it sees them, through its root: in a container, the host's
		 * file at that path is another one, or none. If its executable is gone from
		 * there (replaced), /proc/PID/exe still reaches the mapped file. */
		snprintf(root, sizeof(root), "/proc/%d/root", pid);
		snprintf(rooted, sizeof(rooted), "%s%s", root, t->tg.path);
		if (!access(rooted, R_OK))
			r = resolve__cmd(root, t->tg.path, env, &t->plan, err, errlen);
		else
			r = resolve__cmd(NULL, exe, env, &t->plan, err, errlen);
		free_environ(env);
		if (r)
			goto fail;
		t->info.attached_at_start = 1;
	} else if (resolve__pid(pid, &t->plan, err, errlen)) {
		goto fail;
	}
	if (traced__attach(t, 0, err, errlen))
		goto fail;
	traced__begun(t);
	return t;
fail:
	traced__free(t);
	return NULL;
}

int traced__exited(struct fs_traced *t)
{
	if (t->info.replaced)
		return 1;
	if (!t->info.exited && target__check(&t->tg)) {
		t->info.exited = 1;
		if (t->tg.child)
			t->info.exit_code = WIFEXITED(t->tg.status) ? WEXITSTATUS(t->tg.status)
								   : 128 + WTERMSIG(t->tg.status);
	}
	return t->info.exited;
}

/* Light mode: the allocator's load address, from its first mapping (file offset 0)
 * in /proc/PID/maps, so that the kernel side can tell its syscalls from the
 * program's. Until then (a command that has not mapped it yet) every memory
 * syscall counts as the allocator's, as in exact mode before its first call. */
static void light_learn_text(struct fs_traced *t)
{
	char path[64], line[PATH_MAX + 128];
	const char *base = strrchr(t->light_path, '/');
	struct stat sb;
	FILE *f;

	base = base ? base + 1 : t->light_path;
	if (stat(t->light_path, &sb))
		return;
	snprintf(path, sizeof(path), "/proc/%d/maps", t->tg.pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, off, ino;
		char perms[8], *name = strrchr(line, '/');
		unsigned maj, mnr;
		struct elfobj *o;

		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu", &start, &end, perms, &off, &maj, &mnr, &ino) != 7 ||
		    ino != (unsigned long long)sb.st_ino || off || !name || strncmp(name + 1, base, strlen(base)))
			continue;
		o = elfobj__open(t->light_path);
		if (!o)
			break;
		tracer__set_alloc_text(t->tr, start - elfobj__base_vaddr(o), t->light_text_lo, t->light_text_hi);
		elfobj__free(o);
		t->light_text_set = 1;
		fs_info("light mode: %s at 0x%llx: its memory syscalls are the allocator's", t->light_path, start);
		break;
	}
	fclose(f);
}

int traced__sample(struct fs_traced *t, int deep, int nsites)
{
	int alive, r;
	uint64_t t0 = now_ns();

	if (t->done)
		return 0;
	alive = !traced__exited(t) && !t->info.replaced;
	if (t->st.light && alive && !t->light_text_set && t->light_text_hi && t->tr)
		light_learn_text(t);

	r = collect__sample(&t->st, t->tr, t->tg.pid, alive, deep, 16ull << 30);
	if (r)
		return r;
	tracer__procs(t->tr, &t->forks, &t->execs, &t->proc_lost);
	if (!t->opts.follow && (t->forks > t->info.children || t->execs > t->info.execs)) {
		/* said once for each new event, as it happens: these calls are not counted */
		if (t->forks > t->info.children && t->opts.cgroup_watch)
			fs_info("PID %d (%s): %llu child process%s born, attached at the next interval if in a "
				"watched cgroup (calls until then not counted)", t->tg.pid, t->tg.comm,
				(unsigned long long)(t->forks - t->info.children),
				t->forks - t->info.children > 1 ? "es" : "");
		else if (t->forks > t->info.children)
			fs_warn("PID %d (%s): %llu child process%s born, not traced (fragscope stat follows children)",
				t->tg.pid, t->tg.comm, (unsigned long long)(t->forks - t->info.children),
				t->forks - t->info.children > 1 ? "es" : "");
		if (t->execs > t->info.execs)
			fs_warn("PID %d (%s) replaced its image (exec): not traced from there (fragscope stat follows it)",
				t->tg.pid, t->tg.comm);
	}
	t->info.children = t->forks;
	t->info.execs = t->execs;
	t->sample_ns = now_ns() - t0;
	fs_debug("%s sample took %.2f ms", deep ? "deep" : "light", (double)t->sample_ns / 1e6);
	if (t->sym && alive)
		symbolizer__refresh(t->sym);	/* libraries loaded since */
	if (nsites && t->opts.sample_bytes)
		collect__sites(&t->st, t->tr, t->sym, nsites);
	return 0;
}

int traced__finish(struct fs_traced *t, int nsites)
{
	int r;

	if (t->done)
		return 0;
	t->st.final = 1;
	r = traced__sample(t, 0, nsites);
	t->done = 1;
	callrec__stop(t->cr);
	tracer__free(t->tr);
	t->tr = NULL;
	symbolizer__free(t->sym);
	t->sym = NULL;
	return r;
}

int traced__stop(struct fs_traced *t, int sig, int nsites)
{
	if (t->done)
		return 0;
	if (t->tg.child && !traced__exited(t) && sig && t->st.je_mallctl) {
		/* jemalloc's statistics while the command still runs: it is about to end */
		t->st.final = 1;
		traced__sample(t, 1, 0);
	}
	if (t->tg.child && !traced__exited(t) && sig) {
		/* Like perf stat: the command stops with us (it may have had the signal already). */
		kill(t->tg.pid, sig);
		for (int i = 0; i < 200 && !traced__exited(t); i++)
			usleep(10000);
		if (!traced__exited(t)) {
			/* it ignored the signal: ours to end, not to leave running untraced */
			fs_warn("%s (PID %d) ignored %s: killed", t->tg.comm, t->tg.pid, strsignal(sig));
			kill(t->tg.pid, SIGKILL);
			for (int i = 0; i < 500 && !traced__exited(t); i++)
				usleep(10000);
		}
	}
	t->st.final = 1;	/* the last sample: jemalloc's statistics are read afresh */
	/* A running target is detached first, so the figures are the state at the stop. */
	if (!traced__exited(t) && !t->detached) {
		tracer__detach(t->tr);
		t->detached = 1;
	}
	callrec__stop(t->cr);	/* no call comes after this */
	return traced__sample(t, 1, nsites);
}

double traced__elapsed(const struct fs_traced *t)
{
	return (double)(now_ns() - t->t0_ns) / 1e9;
}

void traced__view(const struct fs_traced *t, struct fs_view *v)
{
	memset(v, 0, sizeof(*v));
	v->target = &t->info;
	v->plan = &t->plan;
	v->snap = &t->st.snap;
	v->st = &t->st;
	v->duration_s = traced__elapsed(t);
	v->max_live = t->opts.max_live;
	v->rates = calib__rates();
}

int traced__is_command(const struct fs_traced *t)
{
	return t->tg.child;
}

int traced__exit_code(const struct fs_traced *t)
{
	return t->info.exit_code;
}

void traced__free(struct fs_traced *t)
{
	if (!t)
		return;
	callrec__free(t->cr);
	free(t->pre);
	tracer__free(t->tr);
	if (t->tg.child && t->tg.gate >= 0)	/* never released: it must not run untraced */
		target__abort(&t->tg);
	target__close(&t->tg);
	collect__free(&t->st);
	symbolizer__free(t->sym);
	free(t);
}

int traced__trace_flush(struct fs_traced *t, struct session *s, int final)
{
	return t->cr ? callrec__flush(t->cr, s, final) : 0;
}

void traced__trace_counts(const struct fs_traced *t, uint64_t *calls, uint64_t *lost, uint64_t *bytes)
{
	callrec__counts(t->cr, calls, lost, bytes);
}
