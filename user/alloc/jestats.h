/* jestats.h - jemalloc's own statistics of a running process, asked of jemalloc
 * itself: one thread stopped outside allocator code runs an injected mallctl call. */
#ifndef FS_JESTATS_H
#define FS_JESTATS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct fs_je_stats {
	int valid;			/* 1: figures below come from jemalloc's mallctl */
	uint64_t allocated, active, resident, mapped, retained, metadata;	/* stats.* bytes */
	uint64_t pdirty, pmuzzy;	/* stats.arenas.<MALLCTL_ARENAS_ALL>.pdirty/pmuzzy, pages */
	uint64_t page;			/* arenas.page */
	int background_thread;		/* mallctl "background_thread" (as set now, at run time); -1 unknown */
	int bg_threads;			/* threads named jemalloc_bg_thd in /proc/PID/task (no ptrace needed) */
	long dirty_decay_ms, muzzy_decay_ms;	/* arenas.dirty_decay_ms / arenas.muzzy_decay_ms (current defaults) */
	uint64_t pause_ns;		/* how long the target's thread was stopped */
	char how[96];			/* e.g. "mallctl called in thread 1234 (stopped 180 us)" */
};

/* Background threads from /proc only (never stops anything). -errno if PID is gone. */
int jestats__bg_threads(pid_t pid);
/* The address of jemalloc's mallctl in PID (mallctl, je_mallctl or _rjem_mallctl,
 * in the executable first, then in the mapped objects). 0, or -ENOENT with err set. */
int jestats__find(pid_t pid, uint64_t *mallctl_addr, char *err, size_t errlen);
/* Asks the target's jemalloc (mallctl at mallctl_addr in the target). 0 or -errno; err names the cause. */
int jestats__read(pid_t pid, uint64_t mallctl_addr, struct fs_je_stats *out, char *err, size_t errlen);

/* Pure helpers (unit-tested). */
/* jemalloc's code in the target: [lo, hi), or when niv > 0 only the intervals
 * iv[0..niv) inside it (sorted; a static link: jemalloc's functions among the program's). */
struct fs_je_code {
	uint64_t lo, hi;
	int niv, maxiv;
	uint64_t (*iv)[2];
};
struct fs_je_fn {
	uint64_t addr;
	int global;	/* not STB_LOCAL */
	int je;		/* in: 1/0 jemalloc's or not, -1 unknown (a local of no known
			 * object); out: 1/0 */
};
int jestats__in_code(const struct fs_je_code *c, uint64_t pc);
/* Sorts fns, gives each local function of unknown side the side of its global
 * neighbours (jemalloc's if either is), and writes jemalloc's runs to c->iv as [start, next function's start).
 * end: the end of the last function's code. 0, or -E2BIG past c->maxiv intervals. */
int jestats__code_ranges(struct fs_je_fn *fns, int n, uint64_t end, struct fs_je_code *c);
/* Does any 8-byte word of buf (len bytes) point into jemalloc's code? */
int jestats__points_into(const void *buf, size_t len, const struct fs_je_code *c);
/* Syscalls during which jemalloc's fork handlers hold all its locks. */
int jestats__forking_syscall(long nr);

#endif
