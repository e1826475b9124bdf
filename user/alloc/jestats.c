/* jestats.c - jemalloc's own statistics of a running process, asked of jemalloc: a
 * call of its mallctl injected with ptrace into one thread stopped outside its code.
 *
 * Why this is safe (README, "jemalloc's own figures"):
 * - Only ONE thread is stopped (PTRACE_SEIZE + PTRACE_INTERRUPT). Every other thread
 *   keeps running, so a jemalloc lock any of them holds is released as usual and the
 *   injected call at worst waits for it: no deadlock can come from a thread we stop.
 * - The stopped thread itself holds no jemalloc lock: jemalloc takes its locks only
 *   inside its own functions, so the thread must be outside them — its RIP not in
 *   jemalloc's code and no frame of its stack in jemalloc's code. The stack is
 *   unwound with the objects' CFI (.eh_frame, through libdw); where that unwind
 *   fails, the test turns conservative: no word on the stack (RSP up to 64 KiB, or
 *   the end of the stack mapping) may point into jemalloc's code. A stale word only
 *   makes us try another thread, or the same one after a short resume. (A plain
 *   word scan alone refuses nearly every thread: uninitialised locals keep return
 *   addresses of jemalloc's start-up calls.)
 *   The exception is fork: jemalloc's prefork handler takes every lock and returns, so
 *   a thread inside fork/vfork/clone holds them with no jemalloc frame on its stack;
 *   such a thread is never chosen. jemalloc's own background threads are skipped.
 * - Every register (general, x87/SSE/AVX state) is saved and restored; the bytes
 *   written below the red zone are saved and written back. A thread stopped in a
 *   syscall gets orig_rax = -1 for the call so the kernel does not apply syscall
 *   restart to it; the saved registers bring the restart back for its own syscall.
 * - The call returns to address 0: the fault (SIGSEGV at RIP 0) is caught as a
 *   ptrace stop and never delivered. Any other signal that arrives meanwhile is
 *   held and re-queued to the thread after the detach.
 * - The pause is bounded (CALL_BUDGET_MS); every error path restores and detaches.
 *   fragscope blocks SIGINT/SIGTERM/SIGHUP/SIGQUIT meanwhile: dying with the call
 *   in flight would let the thread return to address 0 and kill the target.
 */
#include <dirent.h>
#include <elf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "elf/elfobj.h"
#include "alloc/jestats.h"
#include "util/log.h"

#define STACK_SCAN	(64 * 1024)	/* stack bytes above RSP searched for jemalloc's code */
#define ROUNDS		30		/* passes over the threads before giving up */
#define STOP_WAIT_MS	1000		/* for a thread to reach the interrupt stop */
#define CALL_BUDGET_MS	2000		/* for all the injected calls together */
#define MAX_SIGS	16
#define XSTATE_MAX	(32 * 1024)	/* xsave area: AVX-512 and AMX fit */
#define SCRATCH		1024		/* names and results, below the red zone */
#define RED_ZONE	128
#define ARENAS_ALL	"4096"		/* MALLCTL_ARENAS_ALL: the merged figures of every arena */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int jestats__points_into(const void *buf, size_t len, const struct fs_je_code *c)
{
	const unsigned char *p = buf;

	for (size_t i = 0; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		if (jestats__in_code(c, w))
			return 1;
	}
	return 0;
}

int jestats__forking_syscall(long nr)
{
	return nr == SYS_clone || nr == SYS_fork || nr == SYS_vfork || nr == SYS_clone3;
}

static int read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

static int is_bg_thread(pid_t pid, const char *tid)
{
	char path[64], comm[32];

	snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", pid, tid);
	if (read_small(path, comm, sizeof(comm)))
		return 0;
	comm[strcspn(comm, "\n")] = 0;
	return !strcmp(comm, "jemalloc_bg_thd");
}

/* Thread ids of PID (up to max), background threads left out; *bg counts them. */
static int list_threads(pid_t pid, pid_t *tids, int max, int *bg)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return -errno;
	*bg = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (is_bg_thread(pid, de->d_name))
			(*bg)++;
		else if (n < max)
			tids[n++] = (pid_t)atoi(de->d_name);
	}
	closedir(d);
	return n;
}

int jestats__bg_threads(pid_t pid)
{
	pid_t tids[1];
	int bg, r = list_threads(pid, tids, 0, &bg);

	return r < 0 ? r : bg;
}

/* ---- /proc/PID/maps ------------------------------------------------------------- */

struct jmap {
	uint64_t start, end, off;
	int x, w;
	char *path;	/* NULL if anonymous; "[stack]" etc. kept */
};

struct jmaps {
	struct jmap *m;
	int n;
};

static void maps_free(struct jmaps *ms)
{
	for (int i = 0; i < ms->n; i++)
		free(ms->m[i].path);
	free(ms->m);
	ms->m = NULL;
	ms->n = 0;
}

static int maps_read(pid_t pid, struct jmaps *ms)
{
	char path[64], line[PATH_MAX + 128];
	int cap = 0;
	FILE *f;

	ms->m = NULL;
	ms->n = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e, off;
		char perms[8], *file;
		int pos = 0;

		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s%n", &s, &e, perms, &off, &pos) < 4)
			continue;
		if (ms->n == cap) {
			struct jmap *m = realloc(ms->m, (size_t)(cap = cap ? cap * 2 : 256) * sizeof(*m));

			if (!m) {
				fclose(f);
				maps_free(ms);
				return -ENOMEM;
			}
			ms->m = m;
		}
		file = line + pos;
		while (*file == ' ')
			file++;
		file[strcspn(file, "\n")] = 0;
		ms->m[ms->n++] = (struct jmap){ s, e, off, perms[2] == 'x', perms[1] == 'w', *file ? strdup(file) : NULL };
	}
	fclose(f);
	return 0;
}

static const struct jmap *maps_at(const struct jmaps *ms, uint64_t addr)
{
	for (int i = 0; i < ms->n; i++)
		if (addr >= ms->m[i].start && addr < ms->m[i].end)
			return &ms->m[i];
	return NULL;
}

/* Where the object at path is loaded: start of its mapping at file offset 0. */
static int maps_base(const struct jmaps *ms, const char *path, uint64_t *start)
{
	for (int i = 0; i < ms->n; i++)
		if (ms->m[i].path && ms->m[i].off == 0 && !strcmp(ms->m[i].path, path)) {
			*start = ms->m[i].start;
			return 0;
		}
	return -ENOENT;
}

static const char *const prefixes[] = { "", "je_", "_rjem_" };

int jestats__find(pid_t pid, uint64_t *mallctl_addr, char *err, size_t errlen)
{
	char link[64], exe[PATH_MAX], path[PATH_MAX + 64], name[32];
	struct jmaps ms;
	ssize_t n;
	int r;

	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n < 0) {
		r = -errno;
		snprintf(err, errlen, "read %s: %s", link, strerror(errno));
		return r;
	}
	exe[n] = 0;
	r = maps_read(pid, &ms);
	if (r) {
		snprintf(err, errlen, "read /proc/%d/maps: %s", pid, strerror(-r));
		return r;
	}
	/* The executable first (a statically linked jemalloc), then every object in load order. */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < ms.n; i++) {
			const struct jmap *m = &ms.m[i];
			struct elfobj *o;
			struct elfsym s;
			uint64_t start;

			if (!m->path || m->path[0] != '/' || m->off != 0 || (pass == 0) != !strcmp(m->path, exe))
				continue;
			snprintf(path, sizeof(path), "/proc/%d/root%s", pid, m->path);
			o = elfobj__open(path);
			if (!o)
				continue;
			for (size_t k = 0; k < sizeof(prefixes) / sizeof(prefixes[0]); k++) {
				snprintf(name, sizeof(name), "%smallctl", prefixes[k]);
				if (!elfobj__sym(o, name, &s) && s.vaddr && !maps_base(&ms, m->path, &start)) {
					*mallctl_addr = start - elfobj__base_vaddr(o) + s.vaddr;
					elfobj__free(o);
					maps_free(&ms);
					return 0;
				}
			}
			elfobj__free(o);
		}
	}
	maps_free(&ms);
	snprintf(err, errlen, "PID %d has no jemalloc: no mallctl, je_mallctl or _rjem_mallctl in %s or its libraries",
		 pid, exe);
	return -ENOENT;
}

/* jemalloc's public functions, as named with prefix "" (a static link that replaces
 * malloc); with a prefix they are je_-named anyway. */
static const char *const je_api[] = {
	"malloc", "calloc", "realloc", "free", "posix_memalign", "aligned_alloc", "memalign", "valloc",
	"pvalloc", "mallocx", "rallocx", "xallocx", "sallocx", "dallocx", "sdallocx", "nallocx", "mallctl",
	"mallctlnametomib", "mallctlbymib", "malloc_stats_print", "malloc_usable_size", "free_sized",
	"free_aligned_sized", "__libc_malloc", "__libc_calloc", "__libc_realloc", "__libc_free",
	"__libc_memalign", "__libc_valloc", "__libc_pvalloc", "__posix_memalign",
};

/* jemalloc's source files (its src directory, 5.x): a static function's STT_FILE names its object. */
static const char *const je_sources[] = {
	"jemalloc", "arena", "background_thread", "base", "bin", "bin_info", "bitmap", "buf_writer",
	"cache_bin", "ckh", "counter", "ctl", "decay", "div", "ecache", "edata", "edata_cache", "ehooks",
	"emap", "eset", "exp_grow", "extent", "extent_dss", "extent_mmap", "fxp", "san", "san_bump", "hook",
	"hpa", "hpa_hooks", "hpdata", "inspect", "large", "log", "malloc_io", "mutex", "mutex_pool", "nstime",
	"pa", "pa_extra", "pai", "pac", "pages", "peak_event", "prof", "prof_data", "prof_log", "prof_recent",
	"prof_stats", "prof_sys", "psset", "rtree", "safety_check", "sc", "sec", "stats", "sz", "tcache",
	"test_hooks", "thread_event", "ticker", "tsd", "witness", "zone", "jemalloc_cpp",
};

/* 1 if the file symbol names one of jemalloc's objects ("arena.o", "arena.c",
 * "arena.pic.o"): a program's file of the same name is counted too (the safe side). */
static int je_source(const char *file)
{
	const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
	size_t len = strcspn(base, ".");

	for (size_t i = 0; i < sizeof(je_sources) / sizeof(je_sources[0]); i++)
		if (strlen(je_sources[i]) == len && !strncmp(base, je_sources[i], len))
			return 1;
	return 0;
}

static int je_named(const char *nm, const char *prefix)
{
	if (!strncmp(nm, "je_", 3) || (prefix[0] && !strncmp(nm, prefix, strlen(prefix))))
		return 1;
	for (size_t i = 0; !prefix[0] && i < sizeof(je_api) / sizeof(je_api[0]); i++)
		if (!strcmp(nm, je_api[i]))
			return 1;
	return 0;
}

static int cmp_fn(const void *a, const void *b)
{
	const struct fs_je_fn *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

int jestats__code_ranges(struct fs_je_fn *fns, int n, uint64_t end, struct fs_je_code *c)
{
	int prev = -1, next;

	qsort(fns, (size_t)n, sizeof(*fns), cmp_fn);
	/* a static (local) function of unknown object takes the side of the global
	 * functions around it. Either neighbour jemalloc's makes it jemalloc's (the safe
	 * side: a wrong guess only refuses a thread). */
	for (int i = 0; i < n; i++) {
		if (fns[i].global) {
			prev = i;
			continue;
		}
		if (fns[i].je >= 0)
			continue;	/* its object is known */
		for (next = i + 1; next < n && !fns[next].global; next++)
			;
		fns[i].je = (prev >= 0 && fns[prev].je) || (next < n && fns[next].je);
	}
	c->niv = 0;
	for (int i = 0; i < n; i++) {
		uint64_t hi = i + 1 < n ? fns[i + 1].addr : end;

		if (!fns[i].je)
			continue;
		if (c->niv && c->iv[c->niv - 1][1] == fns[i].addr) {
			c->iv[c->niv - 1][1] = hi;	/* runs merge: padding between them included */
			continue;
		}
		if (c->niv == c->maxiv)
			return -E2BIG;
		c->iv[c->niv][0] = fns[i].addr;
		c->iv[c->niv++][1] = hi;
	}
	return 0;
}

int jestats__in_code(const struct fs_je_code *c, uint64_t pc)
{
	int lo = 0, hi = c->niv;

	if (pc < c->lo || pc >= c->hi)
		return 0;
	if (!c->niv)
		return 1;
	while (lo < hi) {	/* the last interval starting at or below pc */
		int mid = (lo + hi) / 2;

		if (c->iv[mid][0] <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && pc < c->iv[lo - 1][1];
}

/* jemalloc's functions in an executable it is linked into: from .symtab (all its
 * functions, static ones too). -ENOENT if the file has none (stripped). */
static int exe_ranges(const char *path, const char *prefix, uint64_t bias, uint64_t end, struct fs_je_code *c)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), n = 0, cap = 0, r = -ENOENT, any = 0, file = -1;
	struct fs_je_fn *fns = NULL;
	Elf_Scn *scn = NULL;
	Elf *e;

	if (fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	while (e && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *nm;

			if (!gelf_getsym(d, (int)i, &sym) || !(nm = elf_strptr(e, sh.sh_link, sym.st_name)))
				continue;
			if (GELF_ST_TYPE(sym.st_info) == STT_FILE) {	/* the locals after it are its own */
				file = je_source(nm);
				continue;
			}
			if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || !sym.st_value || sym.st_shndx == SHN_UNDEF)
				continue;
			if (n == cap) {
				struct fs_je_fn *f = realloc(fns, (size_t)(cap = cap ? cap * 2 : 4096) * sizeof(*f));

				if (!f) {
					r = -ENOMEM;
					goto out;
				}
				fns = f;
			}
			fns[n].addr = sym.st_value + bias;
			fns[n].global = GELF_ST_BIND(sym.st_info) != STB_LOCAL;
			fns[n].je = fns[n].global ? je_named(nm, prefix) : file;
			any |= fns[n].global && fns[n].je;
			n++;
		}
	}
	if (any) {
		c->maxiv = n;
		c->iv = calloc((size_t)n, sizeof(*c->iv));
		r = c->iv ? jestats__code_ranges(fns, n, end, c) : -ENOMEM;
	}
out:
	free(fns);
	if (e)
		elf_end(e);
	close(fd);
	return r;
}

/* jemalloc's code in the target: a shared library's whole executable mappings; inside
 * an executable (static link), its functions (exe_ranges), else the whole executable. */
static int je_text(pid_t pid, const struct jmaps *ms, uint64_t mallctl, struct fs_je_code *c, char *err,
		   size_t errlen)
{
	const struct jmap *m = maps_at(ms, mallctl);
	char link[64], exe[PATH_MAX], path[PATH_MAX + 64];
	ssize_t n;

	memset(c, 0, sizeof(*c));
	if (!m || !m->x || !m->path) {
		snprintf(err, errlen, "0x%llx is not in an executable file mapping of PID %d",
			 (unsigned long long)mallctl, pid);
		return -EINVAL;
	}
	c->lo = UINT64_MAX;
	for (int i = 0; i < ms->n; i++)
		if (ms->m[i].x && ms->m[i].path && !strcmp(ms->m[i].path, m->path)) {
			if (ms->m[i].start < c->lo)
				c->lo = ms->m[i].start;
			if (ms->m[i].end > c->hi)
				c->hi = ms->m[i].end;
		}
	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n > 0 && (exe[n] = 0, !strcmp(exe, m->path))) {
		struct elfobj *o;
		uint64_t start, off;
		const char *name;

		snprintf(path, sizeof(path), "/proc/%d/root%s", pid, m->path);
		o = elfobj__open(path);
		if (o && !maps_base(ms, m->path, &start)) {
			uint64_t bias = start - elfobj__base_vaddr(o);
			char pre[16] = "";

			if (!elfobj__addr_sym(o, mallctl - bias, &name, &off) && off == 0 &&
			    strlen(name) > 7 && strlen(name) - 7 < sizeof(pre))
				snprintf(pre, strlen(name) - 7 + 1, "%s", name);
			if (exe_ranges(path, pre, bias, c->hi, c))
				fs_debug("no symbols of jemalloc's functions in %s: all its code counts as jemalloc's",
					 m->path);
		}
		elfobj__free(o);
	}
	return 0;
}

/* ---- ptrace ----------------------------------------------------------------------- */

struct held_sigs {
	int n;
	siginfo_t si[MAX_SIGS];
};

struct thread_state {
	pid_t tid;
	struct user_regs_struct regs;
	unsigned char xstate[XSTATE_MAX];
	size_t xlen;	/* 0: saved with PTRACE_GETFPREGS instead */
	struct user_fpregs_struct fpregs;
};

/* Waits for a stop of tid until deadline; then -ETIMEDOUT, or with block_after, waits
 * without bound (a thread with an interrupt pending will stop, and a running tracee
 * cannot be detached). -ESRCH if it exited. */
static int wait_stop(pid_t tid, uint64_t deadline, int block_after, int *status)
{
	sigset_t chld;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);	/* blocked by jestats__read: a tracee's stop sends it to us */
	for (;;) {
		uint64_t now = now_ns();
		int late = now >= deadline;
		pid_t r;

		if (late && !block_after)
			return -ETIMEDOUT;
		r = waitpid(tid, status, __WALL | (late ? 0 : WNOHANG));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == tid)
			return WIFSTOPPED(*status) ? 0 : -ESRCH;
		/* until a SIGCHLD (at most 1 ms: its notice may have come before the waitpid) */
		sigtimedwait(&chld, NULL, &(struct timespec){ 0, deadline - now < 1000000 ? (long)(deadline - now)
										     : 1000000L });
	}
}

static void hold_signal(pid_t tid, int sig, struct held_sigs *h)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (ptrace(PTRACE_GETSIGINFO, tid, 0, &si))
		si.si_signo = sig;
	if (h->n < MAX_SIGS)
		h->si[h->n++] = si;
}

/* Seizes tid and brings it to the interrupt stop. Signals met on the way are held. */
static int stop_thread(pid_t tid, struct held_sigs *h, char *why, size_t whylen)
{
	int st, r;

	if (ptrace(PTRACE_SEIZE, tid, 0, 0)) {
		r = -errno;
		snprintf(why, whylen, "ptrace thread %d: %s", tid, strerror(errno));
		return r;
	}
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0)) {
		r = -errno;
		snprintf(why, whylen, "interrupt thread %d: %s", tid, strerror(errno));
		ptrace(PTRACE_DETACH, tid, 0, 0);
		return r;
	}
	for (;;) {
		r = wait_stop(tid, now_ns() + STOP_WAIT_MS * 1000000ull, 1, &st);
		if (r) {
			snprintf(why, whylen, "thread %d exited", tid);
			return -ESRCH;
		}
		if (st >> 16 == PTRACE_EVENT_STOP) {
			if (WSTOPSIG(st) == SIGTRAP)
				return 0;
			snprintf(why, whylen, "thread %d is in a group stop", tid);	/* job control */
			return -EAGAIN;
		}
		hold_signal(tid, WSTOPSIG(st), h);
		ptrace(PTRACE_CONT, tid, 0, 0);
	}
}

/* Detaches and gives back the signals held meanwhile (their siginfo when the kernel
 * lets us queue it, else the bare signal). */
static void release_thread(pid_t pid, pid_t tid, struct held_sigs *h)
{
	ptrace(PTRACE_DETACH, tid, 0, 0);
	for (int i = 0; i < h->n; i++) {
		siginfo_t si = h->si[i];

		if (syscall(SYS_rt_tgsigqueueinfo, pid, tid, si.si_signo, &si))
			syscall(SYS_tgkill, pid, tid, si.si_signo);
	}
	h->n = 0;
}

static int save_state(struct thread_state *ts)
{
	struct iovec iov = { ts->xstate, sizeof(ts->xstate) };

	if (ptrace(PTRACE_GETREGS, ts->tid, 0, &ts->regs))
		return -errno;
	if (!ptrace(PTRACE_GETREGSET, ts->tid, (void *)NT_X86_XSTATE, &iov)) {
		ts->xlen = iov.iov_len;
		return 0;
	}
	ts->xlen = 0;
	return ptrace(PTRACE_GETFPREGS, ts->tid, 0, &ts->fpregs) ? -errno : 0;
}

static int restore_state(struct thread_state *ts)
{
	struct iovec iov = { ts->xstate, ts->xlen };
	int r = 0;

	if (ptrace(PTRACE_SETREGS, ts->tid, 0, &ts->regs))
		r = -errno;
	if (ts->xlen ? ptrace(PTRACE_SETREGSET, ts->tid, (void *)NT_X86_XSTATE, &iov)
		     : ptrace(PTRACE_SETFPREGS, ts->tid, 0, &ts->fpregs))
		r = r ? r : -errno;
	return r;
}

struct unwind {
	const struct fs_je_code *c;
	int frames, in_je;
};

static int frame_cb(Dwfl_Frame *f, void *arg)
{
	struct unwind *u = arg;
	Dwarf_Addr pc;
	bool activation;

	if (!dwfl_frame_pc(f, &pc, &activation))
		return DWARF_CB_ABORT;
	if (!activation)	/* a return address: the call is the byte before */
		pc--;
	if (jestats__in_code(u->c, pc)) {
		u->in_je = 1;
		return DWARF_CB_ABORT;
	}
	return ++u->frames < 4096 ? DWARF_CB_OK : DWARF_CB_ABORT;
}

/* .eh_frame is in the loaded objects themselves: no search for separate debug files. */
static int no_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			const char *file, const char *debuglink, GElf_Word crc, char **debuginfo_file_name)
{
	(void)mod, (void)userdata, (void)modname, (void)base, (void)file, (void)debuglink, (void)crc;
	*debuginfo_file_name = NULL;
	return -1;
}

/* Loads a module's ELF and CFI now, so that the unwind itself is quick. */
static int warm_module(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start, void *arg)
{
	Dwarf_Addr bias;

	(void)userdata, (void)name, (void)start, (void)arg;
	dwfl_module_getelf(mod, &bias);
	dwfl_module_eh_cfi(mod, &bias);
	return DWARF_CB_OK;
}

/* The target's modules, for unwinding threads we hold stopped (libdw reads their
 * registers and memory through our ptrace). NULL if libdw cannot. */
static Dwfl *unwinder(pid_t pid)
{
	static const Dwfl_Callbacks cbs = {
		.find_elf = dwfl_linux_proc_find_elf,
		.find_debuginfo = no_debuginfo,
	};
	Dwfl *d = dwfl_begin(&cbs);

	if (!d)
		return NULL;
	dwfl_report_begin(d);
	if (dwfl_linux_proc_report(d, pid) || dwfl_report_end(d, NULL, NULL) ||
	    dwfl_linux_proc_attach(d, pid, true)) {
		dwfl_end(d);
		return NULL;
	}
	dwfl_getmodules(d, warm_module, NULL, 0);
	return d;
}

/* Is the stopped thread outside jemalloc, with room below its stack pointer? */
static int suitable(Dwfl *dw, int memfd, const struct jmaps *ms, const struct user_regs_struct *r,
		    const struct fs_je_code *c, char *why, size_t whylen, pid_t tid)
{
	static unsigned char stack[STACK_SCAN];
	const struct jmap *m;
	uint64_t top;
	ssize_t n;

	if (jestats__in_code(c, r->rip)) {
		snprintf(why, whylen, "thread %d is running jemalloc's code", tid);
		return 0;
	}
	if (jestats__forking_syscall((long)r->orig_rax)) {
		snprintf(why, whylen, "thread %d is in fork (jemalloc holds its locks there)", tid);
		return 0;
	}
	m = maps_at(ms, r->rsp);
	if (!m || !m->w) {
		snprintf(why, whylen, "thread %d: its stack pointer is not in a writable mapping", tid);
		return 0;
	}
	/* The injected call needs stack below RSP: inside this mapping, or the main stack (it grows). */
	if (r->rsp - m->start < RED_ZONE + SCRATCH + 64 * 1024 && !(m->path && !strcmp(m->path, "[stack]"))) {
		snprintf(why, whylen, "thread %d: too little stack below its stack pointer", tid);
		return 0;
	}
	if (dw) {
		struct unwind u = { c, 0, 0 };
		uint64_t t0 = now_ns();
		int ur = dwfl_getthread_frames(dw, tid, frame_cb, &u);

		fs_debug("unwound thread %d: %d frames in %llu us", tid, u.frames,
			 (unsigned long long)((now_ns() - t0) / 1000));
		if (u.in_je) {
			snprintf(why, whylen, "thread %d has jemalloc's code on its stack (frame %d)", tid, u.frames);
			return 0;
		}
		if (ur == 0)
			return 1;	/* every frame unwound, none in jemalloc */
		fs_debug("unwind thread %d: %s after %d frames: scanning its stack instead", tid,
			 dwfl_errmsg(-1), u.frames);
	}
	top = r->rsp + STACK_SCAN < m->end ? r->rsp + STACK_SCAN : m->end;
	n = pread(memfd, stack, top - r->rsp, (off_t)r->rsp);
	if (n < 0) {
		snprintf(why, whylen, "read thread %d's stack: %s", tid, strerror(errno));
		return 0;
	}
	if (jestats__points_into(stack, (size_t)n, c)) {
		snprintf(why, whylen, "thread %d has jemalloc's code on its stack", tid);
		return 0;
	}
	return 1;
}

enum { V_ALLOCATED, V_ACTIVE, V_RESIDENT, V_MAPPED, V_RETAINED, V_METADATA, V_PDIRTY, V_PMUZZY, V_PAGE,
       V_BG, V_DIRTY_MS, V_MUZZY_MS, V__COUNT };

static const struct {
	const char *name;
	size_t size;
} names[V__COUNT] = {
	[V_ALLOCATED] = { "stats.allocated", sizeof(size_t) },
	[V_ACTIVE] = { "stats.active", sizeof(size_t) },
	[V_RESIDENT] = { "stats.resident", sizeof(size_t) },
	[V_MAPPED] = { "stats.mapped", sizeof(size_t) },
	[V_RETAINED] = { "stats.retained", sizeof(size_t) },
	[V_METADATA] = { "stats.metadata", sizeof(size_t) },
	[V_PDIRTY] = { "stats.arenas." ARENAS_ALL ".pdirty", sizeof(size_t) },
	[V_PMUZZY] = { "stats.arenas." ARENAS_ALL ".pmuzzy", sizeof(size_t) },
	[V_PAGE] = { "arenas.page", sizeof(size_t) },
	[V_BG] = { "background_thread", 1 /* bool */ },
	[V_DIRTY_MS] = { "arenas.dirty_decay_ms", sizeof(ssize_t) },
	[V_MUZZY_MS] = { "arenas.muzzy_decay_ms", sizeof(ssize_t) },
};

/* The scratch image written below the red zone: names, then results. */
struct scratch {
	uint64_t vals[V__COUNT];
	uint64_t lens[V__COUNT];
	uint64_t one;			/* epoch's new value */
	char epoch[8];
	char names[V__COUNT][32];
};
_Static_assert(sizeof(struct scratch) <= SCRATCH, "scratch area");

/* One call of mallctl(name, oldp, oldlenp, newp, newlen) in the stopped thread. */
static int call_mallctl(struct thread_state *ts, int memfd, uint64_t mallctl, uint64_t frame, uint64_t args[5],
			uint64_t deadline, struct held_sigs *h, int *ret, char *why, size_t whylen)
{
	struct user_regs_struct r = ts->regs;
	uint64_t zero = 0;
	int st;

	r.rip = mallctl;
	r.rsp = frame;	/* 8 mod 16, as after a call */
	r.rdi = args[0];
	r.rsi = args[1];
	r.rdx = args[2];
	r.rcx = args[3];
	r.r8 = args[4];
	r.rax = 0;
	r.orig_rax = (uint64_t)-1;	/* not in a syscall: no restart applied to this call */
	r.eflags &= ~0x400ull;		/* DF clear, as the ABI wants at a call */
	if (pwrite(memfd, &zero, 8, (off_t)frame) != 8 || ptrace(PTRACE_SETREGS, ts->tid, 0, &r) ||
	    ptrace(PTRACE_CONT, ts->tid, 0, 0)) {
		int e = errno;

		snprintf(why, whylen, "set up the call in thread %d: %s", ts->tid, strerror(e));
		return e == ESRCH ? -EIO : -e;	/* still stopped: restored by the caller */
	}
	for (;;) {
		int rr = wait_stop(ts->tid, deadline, 0, &st);

		if (rr == -ETIMEDOUT) {
			snprintf(why, whylen, "mallctl did not return within %d ms in thread %d: call abandoned, "
				 "registers restored (a jemalloc lock it took may stay held)", CALL_BUDGET_MS, ts->tid);
			return rr;
		}
		if (rr) {
			snprintf(why, whylen, "the target exited during the call");
			return -ESRCH;
		}
		if (st >> 16 == PTRACE_EVENT_STOP) {
			ptrace(PTRACE_CONT, ts->tid, 0, 0);
			continue;
		}
		if (WSTOPSIG(st) == SIGSEGV) {
			if (ptrace(PTRACE_GETREGS, ts->tid, 0, &r))
				return -errno;
			if (r.rip == 0) {
				*ret = (int)r.rax;
				return 0;
			}
			snprintf(why, whylen, "mallctl faulted in thread %d at 0x%llx", ts->tid,
				 (unsigned long long)r.rip);
			return -EFAULT;
		}
		hold_signal(ts->tid, WSTOPSIG(st), h);
		ptrace(PTRACE_CONT, ts->tid, 0, 0);
	}
}

/* All the calls in one stopped thread; registers and stack bytes restored after. */
static int inject(pid_t pid, struct thread_state *ts, int memfd, uint64_t mallctl, struct held_sigs *h,
		  struct fs_je_stats *out, char *err, size_t errlen)
{
	static struct scratch img;
	unsigned char saved[SCRATCH + 8];
	uint64_t base = (ts->regs.rsp - RED_ZONE - SCRATCH) & ~15ull, frame = base - 8;
	uint64_t deadline = now_ns() + CALL_BUDGET_MS * 1000000ull, args[5];
	int ret, r;

	memset(&img, 0, sizeof(img));
	img.one = 1;
	memcpy(img.epoch, "epoch", 6);
	for (int i = 0; i < V__COUNT; i++) {
		snprintf(img.names[i], sizeof(img.names[i]), "%s", names[i].name);
		img.lens[i] = names[i].size;
	}
	if (pread(memfd, saved, sizeof(saved), (off_t)frame) != (ssize_t)sizeof(saved)) {
		snprintf(err, errlen, "read thread %d's stack: %s", ts->tid, strerror(errno));
		return -EIO;
	}
	if (pwrite(memfd, &img, sizeof(img), (off_t)base) != (ssize_t)sizeof(img)) {
		r = -EIO;
		snprintf(err, errlen, "write thread %d's stack: %s", ts->tid, strerror(errno));
		goto restore;
	}
#define AT(field) (base + offsetof(struct scratch, field))
	/* epoch first: jemalloc's stats are a snapshot refreshed by writing it */
	args[0] = AT(epoch), args[1] = 0, args[2] = 0, args[3] = AT(one), args[4] = 8;
	r = call_mallctl(ts, memfd, mallctl, frame, args, deadline, h, &ret, err, errlen);
	if (!r && ret) {
		snprintf(err, errlen, "mallctl(\"epoch\") in PID %d: %s", pid, strerror(ret));
		r = -ret;
	}
	fs_debug("epoch call: %llu us", (unsigned long long)((now_ns() + CALL_BUDGET_MS * 1000000ull - deadline) / 1000));
	for (int i = 0; !r && i < V__COUNT; i++) {
		args[0] = AT(names[i]), args[1] = AT(vals[i]), args[2] = AT(lens[i]), args[3] = 0, args[4] = 0;
		r = call_mallctl(ts, memfd, mallctl, frame, args, deadline, h, &ret, err, errlen);
		if (r)
			break;
		if (ret == ENOENT && i == V_BG) {
			img.vals[i] = (uint64_t)-1;	/* built without background threads */
		} else if (ret == ENOENT && i <= V_PMUZZY) {
			snprintf(err, errlen, "jemalloc in PID %d keeps no statistics (%s: no such name; built with "
				 "--disable-stats)", pid, names[i].name);
			r = -ENOENT;
		} else if (ret) {
			snprintf(err, errlen, "mallctl(\"%s\") in PID %d: %s", names[i].name, pid, strerror(ret));
			r = -ret;
		}
	}
#undef AT
	fs_debug("all calls: %llu us", (unsigned long long)((now_ns() + CALL_BUDGET_MS * 1000000ull - deadline) / 1000));
	if (r == -ESRCH)
		return r;	/* gone: nothing to restore */
	if (r == -ETIMEDOUT) {
		int st;

		/* Bring it to a stop where its registers can be set back. Abandoning the call
		 * may leave a jemalloc lock it took held: the error says so. */
		if (!ptrace(PTRACE_INTERRUPT, ts->tid, 0, 0))
			while (!wait_stop(ts->tid, now_ns() + STOP_WAIT_MS * 1000000ull, 1, &st) &&
			       !(st >> 16 == PTRACE_EVENT_STOP) && WSTOPSIG(st) != SIGSEGV) {
				hold_signal(ts->tid, WSTOPSIG(st), h);
				ptrace(PTRACE_CONT, ts->tid, 0, 0);
			}
	}
	if (!r) {
		static struct scratch res;

		if (pread(memfd, &res, sizeof(res), (off_t)base) != (ssize_t)sizeof(res)) {
			r = -EIO;
			snprintf(err, errlen, "read the results in thread %d: %s", ts->tid, strerror(errno));
		} else {
			uint64_t *v = res.vals;

			out->allocated = v[V_ALLOCATED];
			out->active = v[V_ACTIVE];
			out->resident = v[V_RESIDENT];
			out->mapped = v[V_MAPPED];
			out->retained = v[V_RETAINED];
			out->metadata = v[V_METADATA];
			out->pdirty = v[V_PDIRTY];
			out->pmuzzy = v[V_PMUZZY];
			out->page = v[V_PAGE];
			out->background_thread = img.vals[V_BG] == (uint64_t)-1 ? -1 : (int)(v[V_BG] & 0xff);
			out->dirty_decay_ms = (long)(int64_t)v[V_DIRTY_MS];
			out->muzzy_decay_ms = (long)(int64_t)v[V_MUZZY_MS];
			out->valid = 1;
		}
	}
restore:
	if (pwrite(memfd, saved, sizeof(saved), (off_t)frame) != (ssize_t)sizeof(saved) || restore_state(ts)) {
		snprintf(err, errlen, "restore thread %d: %s", ts->tid, strerror(errno));
		return -EIO;
	}
	return r;
}

static int proc_status(pid_t pid, char *state, long *tracer)
{
	char path[64], buf[4096], *p;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	r = read_small(path, buf, sizeof(buf));
	if (r)
		return r;
	*state = (p = strstr(buf, "\nState:")) ? p[8 + strspn(p + 8, " \t")] : '?';
	*tracer = (p = strstr(buf, "\nTracerPid:")) ? strtol(p + 11, NULL, 10) : 0;
	return 0;
}

int jestats__read(pid_t pid, uint64_t mallctl_addr, struct fs_je_stats *out, char *err, size_t errlen)
{
	static pid_t tids[4096];
	static struct thread_state ts;
	struct held_sigs h = { 0 };
	struct jmaps ms = { 0 };
	Dwfl *dw = NULL;
	sigset_t block, old;
	char state, path[64], why[160] = "no thread to stop";
	struct fs_je_code code = { 0 };
	long tracer;
	int memfd = -1, r, tries = 0, ntid, bg;

	memset(out, 0, sizeof(*out));
	out->background_thread = -1;
	out->dirty_decay_ms = out->muzzy_decay_ms = -2;
	r = proc_status(pid, &state, &tracer);
	if (r) {
		snprintf(err, errlen, "no process with PID %d", pid);
		return r;
	}
	if (tracer) {
		snprintf(err, errlen, "PID %d is already traced by PID %ld (a debugger?): not asking its jemalloc", pid,
			 tracer);
		return -EBUSY;
	}
	if (state == 'T' || state == 't') {
		snprintf(err, errlen, "PID %d is stopped: not asking its jemalloc", pid);
		return -EAGAIN;
	}
	r = maps_read(pid, &ms);
	if (r) {
		snprintf(err, errlen, "read /proc/%d/maps: %s", pid, strerror(-r));
		return r;
	}
	r = je_text(pid, &ms, mallctl_addr, &code, err, errlen);
	if (r)
		goto out;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	memfd = open(path, O_RDWR | O_CLOEXEC);
	if (memfd < 0) {
		r = -errno;
		snprintf(err, errlen, "open %s: %s", path, strerror(errno));
		goto out;
	}
	dw = unwinder(pid);	/* before anything stops: reading the modules takes a while */
	if (!dw)
		fs_debug("libdw cannot unwind PID %d (%s): stacks are scanned instead", pid, dwfl_errmsg(-1));
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &old);
	r = -EAGAIN;
	for (int round = 0; round < ROUNDS && r == -EAGAIN; round++) {
		ntid = list_threads(pid, tids, (int)(sizeof(tids) / sizeof(tids[0])), &bg);
		if (ntid <= 0) {
			r = ntid < 0 ? ntid : -ESRCH;
			snprintf(err, errlen, "read /proc/%d/task: %s", pid, ntid < 0 ? strerror(-ntid) : "no threads");
			break;
		}
		if (round) {	/* let the threads run on before looking again */
			nanosleep(&(struct timespec){ 0, 1000000L * (round < 10 ? round : 10) }, NULL);
			maps_free(&ms);
			if ((r = maps_read(pid, &ms))) {
				snprintf(err, errlen, "read /proc/%d/maps: %s", pid, strerror(-r));
				break;
			}
			r = -EAGAIN;
		}
		for (int i = 0; i < ntid && r == -EAGAIN; i++) {
			uint64_t t0 = now_ns();
			int s;

			tries++;
			ts.tid = tids[i];
			s = stop_thread(ts.tid, &h, why, sizeof(why));
			if (s == -EPERM || s == -EBUSY) {
				r = s;
				snprintf(err, errlen, "%s", why);
				break;
			}
			if (s == -ESRCH || (s && s != -EAGAIN))
				continue;	/* exited meanwhile, or could not be seized: the next one */
			fs_debug("thread %d stopped after %llu us", ts.tid, (unsigned long long)((now_ns() - t0) / 1000));
			if (!s && save_state(&ts)) {
				snprintf(why, sizeof(why), "read thread %d's registers: %s", ts.tid, strerror(errno));
			} else if (!s && suitable(dw, memfd, &ms, &ts.regs, &code, why, sizeof(why), ts.tid)) {
				r = inject(pid, &ts, memfd, mallctl_addr, &h, out, err, errlen);
				if (r != -ESRCH)
					release_thread(pid, ts.tid, &h);
				out->pause_ns = now_ns() - t0;
				if (tries == 1)
					snprintf(out->how, sizeof(out->how), "mallctl called in thread %d (stopped %llu us)",
						 ts.tid, (unsigned long long)(out->pause_ns / 1000));
				else	/* the threads refused were each stopped for about as long as a look */
					snprintf(out->how, sizeof(out->how),
						 "mallctl called in thread %d (stopped %llu us; %d threads looked at)", ts.tid,
						 (unsigned long long)(out->pause_ns / 1000), tries);
				if (r == -EAGAIN)	/* not "try another thread" */
					r = -EIO;
				break;
			}
			release_thread(pid, ts.tid, &h);
		}
	}
	if (r == -EAGAIN)
		snprintf(err, errlen, "no thread of PID %d was outside jemalloc's code in %d tries (last: %s)", pid,
			 tries, why);
	sigprocmask(SIG_SETMASK, &old, NULL);
out:
	if (dw)
		dwfl_end(dw);
	if (memfd >= 0)
		close(memfd);
	maps_free(&ms);
	free(code.iv);
	bg = jestats__bg_threads(pid);
	out->bg_threads = bg < 0 ? 0 : bg;
	if (r)
		out->valid = 0;
	return r;
}
