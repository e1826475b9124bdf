/* traced.h - one traced process from start to stop, as every tracing command
 * needs it: resolve the allocator, load and attach, start the command (or open
 * the PID), sample, stop cleanly. Commands differ only in what they show. */
#ifndef FS_TRACED_H
#define FS_TRACED_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "types.h"

struct fs_trace_opts {
	uint32_t max_live;	/* live-allocation map capacity */
	uint64_t sample_bytes;	/* stack sampling period, 0 off */
	int census;		/* glibc, by PID, exact mode: a heap census before attaching;
				 * FS_CENSUS_AUTO (the default): when its heaps total at most
				 * FS_CENSUS_AUTO_MAX; 1 (--census): always; 0 (--no-census) never */
	int sys_tracepoints;	/* memory syscalls via tracepoints, not libc's wrappers */
	int exact_lifetimes;	/* time every block's lifetime, not 1 in 16 */
	int no_ask;		/* jemalloc: never stop a thread to call mallctl */
	int follow;		/* stop the target's children and new images for their own tracers
				 * (struct fs_family); else they are only counted */
	int cgroup_watch;	/* top --cgroup: a child born is attached by the cgroup's scan
				 * (said so, not "not traced") */
	int light;		/* --mode light: no probe on the allocator's functions (no call
				 * counted); memory syscalls, faults, /proc and glibc's heap census */
	int sampled;		/* --mode sampled: light's figures, plus every call counted at its
				 * entry and a live-heap profile from 1 block in ~sample_bytes */
	uint64_t sample_seed;	/* --sample-seed: reproducible sampling (0: random) */
	double window_on_s, window_period_s;	/* --window ON/PERIOD (sampled mode; 0: always) */
	int trace_calls;	/* record --trace: every call, in order (traced__trace_flush) */
	uint32_t trace_ring_bytes;	/* the calls ring; 0: FS_CALL_RING_BYTES */
};

#define FS_LIFETIME_SHIFT 4	/* by default 1 block in 16 has its lifetime timed */
#define FS_CENSUS_AUTO (-1)
#define FS_CENSUS_AUTO_MAX (2ull << 30)	/* ~2-4 s of walk before the probes attach */
#define FS_TRACE_OPTS_DEFAULT { .max_live = 1 << 20, .sample_bytes = 512 << 10, .census = FS_CENSUS_AUTO }

/* One traced process (traced_priv.h: its fields are trace/'s own; commands read
 * it through traced__view and the functions below). */
struct fs_traced;

/* The options every tracing command takes: getopt_long entries (all 'L', handled by
 * traced__parse_opt) and their --help lines. */
#define FS_TRACE_LONGOPTS \
	{ "max-live", required_argument, 0, 'L' }, \
	{ "sample-bytes", required_argument, 0, 'L' }, \
	{ "census", no_argument, 0, 'L' }, \
	{ "no-census", no_argument, 0, 'L' }, \
	{ "sys-tracepoints", no_argument, 0, 'L' }, \
	{ "exact-lifetimes", no_argument, 0, 'L' }, \
	{ "no-ask", no_argument, 0, 'L' }, \
	{ "mode", required_argument, 0, 'L' }, \
	{ "sample-seed", required_argument, 0, 'L' }, \
	{ "window", required_argument, 0, 'L' }
#define FS_TRACE_OPTS_HELP \
	"      --mode MODE       exact (default): every allocator call counted, about\n" \
	"                        1 us per malloc+free in the target (a debugging run,\n" \
	"                        a test, a canary); light (stat, top, record): no\n" \
	"                        probe on the allocator's functions, for a busy\n" \
	"                        production service: memory syscalls and releases,\n" \
	"                        page faults, the waterfall, arenas, and (glibc) live\n" \
	"                        bytes from a heap census (at most 1% of the time\n" \
	"                        between its first and last walk); calls are not\n" \
	"                        counted; sampled (stat, top, record; Linux 6.13+):\n" \
	"                        light's figures, plus every call counted (one trap\n" \
	"                        each, no return probe) and live bytes by site\n" \
	"                        estimated from about one block per --sample-bytes,\n" \
	"                        with their standard error\n" \
	"      --sample-bytes N  sample the stack of about one allocation per N bytes\n" \
	"                        (default 524288; 0 off; 1 every allocation): sites,\n" \
	"                        estimated\n" \
	"      --window ON/PERIOD  sampled mode: attach the allocation probes ON seconds\n" \
	"                        of every PERIOD (e.g. 1/4), for a lower cost; counts\n" \
	"                        and live bytes are then scaled by the time watched and\n" \
	"                        marked estimated; releases stay watched all the time\n" \
	"      --sample-seed N   sampled mode: draw the intervals from N (every thread\n" \
	"                        alike), so a run repeats its samples; default random\n" \
	"      --census          with -p, glibc: count the heap's blocks in use before\n" \
	"                        attaching (as fragscope snapshot), so live figures\n" \
	"                        include what predates the probes (in chunk bytes);\n" \
	"                        the default in exact mode when the heaps total at\n" \
	"                        most 2 GiB (a walk of ~1-2 s per GiB before the\n" \
	"                        probes attach); --census walks bigger heaps too\n" \
	"      --no-census       with -p: no heap census (blocks from before attach\n" \
	"                        are then unseen, not known to be live or free)\n" \
	"      --max-live N      room for at least N live blocks (default 1048576);\n" \
	"                        allocations beyond the room are counted as\n" \
	"                        'untracked'\n" \
	"      --sys-tracepoints watch mmap, munmap, mremap, brk, madvise and mprotect\n" \
	"                        with the syscall tracepoints instead of probes on\n" \
	"                        libc's wrappers: also sees raw syscall(2) and the\n" \
	"                        dynamic loader's own calls, and errno values, but\n" \
	"                        slows every syscall on the machine (~30 ns each)\n" \
	"      --exact-lifetimes time every block's lifetime (default: 1 in 16 at\n" \
	"                        random, counts scaled), ~45 ns more per malloc+free\n" \
	"      --no-ask          jemalloc: never stop a thread of the target to call\n" \
	"                        its mallctl (by default, at attach, every 10 s and at\n" \
	"                        the end, one thread outside allocator code is stopped\n" \
	"                        for the call: held free then comes from jemalloc's own\n" \
	"                        statistics; without them it is unknown when attached)\n"

/* The getopt cases every tracing command shares: 'L' (FS_TRACE_LONGOPTS, named
 * name), -v, -h (prints usage) and unknown options. -1 to go on parsing, else the
 * exit status for the command to return. */
int traced__shared_opt(int c, const char *name, const char *arg, struct fs_trace_opts *o,
		       const char *cmd, const char *usage);
/* A PID argument: 0, or -1 after saying why. */
int traced__parse_pid(const char *s, pid_t *out);
/* Exactly one of -p PID and -- COMMAND: 0, or EXIT_USAGE after saying why. */
int traced__check_target(const char *cmd, int have_pid, int have_command);
/* Options that contradict one another (--window without --mode sampled): 0, or
 * EXIT_USAGE after saying why, before anything is attached. */
int traced__check_opts(const char *cmd, const struct fs_trace_opts *o);

/* Common option parsing: --max-live N, --sample-bytes N, --census (arg NULL).
 * Returns 1 if the option was one of these (0 if not, -1 on a bad value, reported). */
int traced__parse_opt(struct fs_trace_opts *o, const char *name, const char *arg);

/* Traces pid, or starts argv traced from its first instruction. NULL with the cause
 * in err; nothing is left attached or running then. */
struct fs_traced *traced__start(pid_t pid, char *const argv[], const struct fs_trace_opts *o,
				char *err, size_t errlen);
/* Traces pid, a process stopped by the tracer of its parent (FS_ROLE_CHILD, just
 * born) or by its own former tracer (FS_ROLE_EXEC, a new image). The process is not
 * continued here. NULL with the cause in err. */
struct fs_traced *traced__adopt(pid_t pid, int role, pid_t ppid, const struct fs_trace_opts *o,
				char *err, size_t errlen);
/* Final figures of a process that has exited or replaced its image, then the tracer
 * (and the kernel memory of its maps) is released. 0 or -errno. */
int traced__finish(struct fs_traced *t, int nsites);
/* A periodic sample (cheap) or a deep one (arenas, page occupancy, sites). */
int traced__sample(struct fs_traced *t, int deep, int nsites);
/* 1 once the target has exited. */
int traced__exited(struct fs_traced *t);
/* Ends tracing: a started command gets sig (if non-zero) and up to 2 s to exit;
 * a running target is detached. Then the final deep sample. */
int traced__stop(struct fs_traced *t, int sig, int nsites);
/* The view renderers take. */
void traced__view(const struct fs_traced *t, struct fs_view *v);
double traced__elapsed(const struct fs_traced *t);
/* 1 if fragscope started it (a COMMAND, or an image it became): its exit status
 * is ours to pass on, and ending the trace ends it. */
int traced__is_command(const struct fs_traced *t);
/* The command's exit status (0..255, 128+signal), or -1 if not ours or running. */
int traced__exit_code(const struct fs_traced *t);
void traced__free(struct fs_traced *t);

/* record --trace: writes the call trace's finished chunks into s (final: after
 * traced__stop, also each thread's calls and losses, and the trace's state). 0 or
 * -errno. */
struct session;
int traced__trace_flush(struct fs_traced *t, struct session *s, int final);
/* record --trace -p (glibc): the blocks in use before attach, from the heap census
 * (user pointer, chunk size); their count (0: none), *partial 1 if some could not
 * be listed (out of memory). */
struct fs_pre_block {
	uint64_t addr, chunk;
};
long traced__pre_blocks(const struct fs_traced *t, const struct fs_pre_block **out, int *partial);
/* Calls recorded, calls lost, compressed bytes so far (zeros without --trace). */
void traced__trace_counts(const struct fs_traced *t, uint64_t *calls, uint64_t *lost, uint64_t *bytes);

/* Checks every tracing command needs before it starts: root, BTF. 0, or -1 after
 * saying why. */
int traced__can_trace(void);

/* Waiting between samples, the same way for every command. A waiter blocks
 * SIGINT, SIGTERM and SIGHUP (children get the old mask back before exec) and reads
 * them through a signalfd; freeing it restores the mask. */
struct fs_waiter;

/* What ended a wait. */
enum fs_wake {
	FS_WAKE_TICK = 0,	/* the time ran out */
	FS_WAKE_SIGNAL,		/* SIGINT, SIGTERM or SIGHUP: its number in *sig */
	FS_WAKE_EXITED,		/* the traced process exited */
	FS_WAKE_INPUT,		/* the caller's input fd is readable, or a handler of the
				 * caller's ran (EINTR: e.g. curses' SIGWINCH, a resize) */
	FS_WAKE_ERROR,		/* poll failed: said on stderr */
};

/* NULL after saying why if the signalfd could not be made (signals stay as they were). */
struct fs_waiter *traced__waiter_new(void);
void traced__waiter_free(struct fs_waiter *w);
/* Waits up to timeout_s seconds for a signal, the exit of t (NULL: none watched)
 * or input on input_fd (-1: none). EINTR without input_fd is waited through. */
int traced__wait(struct fs_waiter *w, struct fs_traced *t, int input_fd, double timeout_s, int *sig);

#endif
