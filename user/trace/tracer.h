/* tracer.h - loads the BPF object, attaches a plan's probes to one process,
 * and reads its state into snapshots. The only file that knows the skeleton. */
#ifndef FS_TRACER_H
#define FS_TRACER_H

#include <sys/types.h>
#include "model/agg.h"
#include "model/sampled.h"
#include "plan/resolve.h"

struct tracer;
struct fs_mapset;

struct fs_live_block {
	uint64_t addr;
	uint64_t size;
};

struct tracer_opts {
	pid_t pid;		/* the process (tgid) to trace */
	uint32_t max_live;	/* capacity of the outstanding-allocations map */
	int flavour;		/* enum fs_alloc_id: how releases are attributed */
	uint64_t sample_bytes;	/* mean bytes between sampled allocation stacks; 0 off */
	unsigned lifetime_shift;	/* time 1 block's lifetime in 2^shift (0: all) */
	int sys_uprobes;	/* memory syscalls at the plan's libc wrappers (plan->nsys),
				 * else with the syscall tracepoints */
	int follow;		/* stop new children and new images (SIGSTOP) for user space */
	int exec_skip;		/* execs to let pass unseen (a command's own first one) */
	int lazy;		/* the overflow hash allocated as used, not up front: a process
				 * waits, stopped, while its tracer is made (children, execs) */
	int light;		/* --mode light: the plan has no allocator probe; the allocator's
				 * code range comes from tracer__set_alloc_text */
	int sampled;		/* --mode sampled: uprobe sessions, 1 block in ~sample_bytes bytes
				 * recorded; calls counted at entry */
	uint32_t sampled_max;	/* room for sampled blocks (0: 65536) */
	uint64_t sample_seed;	/* sampled mode: 0 random intervals, else reproducible from it */
	uint64_t window_on_ns, window_period_ns;	/* sampled mode, --window: allocation probes
						 * attached on_ns of every period_ns (0: always) */
	int trace_calls;	/* record --trace: every accounted call into the calls ring */
	uint32_t trace_ring_bytes;	/* its size (a power of 2 of pages); 0: FS_CALL_RING_BYTES */
};

/* Opens and loads; NULL with the cause in err. */
struct tracer *tracer__new(const struct tracer_opts *opts, char *err, size_t errlen);
/* Whether the kernel would take live-block maps for max_live blocks, and the memory
 * they would pin fits: before anything is created. 0, or -errno with err set. */
int tracer__check_max_live(uint32_t max_live, char *err, size_t errlen);
/* Attaches every probe of the plan (releases first, then returns, then entries, so
 * no block is seen allocated without its release being watched). All or nothing. */
int tracer__attach(struct tracer *t, const struct fs_plan *plan, char *err, size_t errlen);
void tracer__detach(struct tracer *t);
/* Light mode: the allocator's code, [lo, hi) file addresses plus bias (its load
 * address), so that its memory syscalls are told from the program's. */
void tracer__set_alloc_text(struct tracer *t, uint64_t bias, uint64_t lo, uint64_t hi);
int tracer__snapshot(struct tracer *t, struct fs_snapshot *s);
/* --window: how long the allocation probes have been attached so far; 0 when not
 * windowed (w zeroed), else 1. */
int tracer__window(struct tracer *t, struct fs_window_stat *w);
struct fs_site {
	uint32_t stackid;
	struct fs_site_stat stat;
	int nframes;
	uint64_t ips[FS_STACK_DEPTH];	/* innermost (the allocation's caller) first */
};

/* Every sampled site with its stack; count or -errno. *out malloc'd. */
long tracer__sites(struct tracer *t, struct fs_site **out);
/* The live blocks (address, requested size), sorted by address; count or -errno.
 * *out is malloc'd, to be freed by the caller. */
long tracer__live_blocks(struct tracer *t, struct fs_live_block **out);
/* Applies the mmap/munmap/mremap events since the last call to the ledger ms (one
 * ledger per tracer: events are consumed) and sets ms->lost to the events missed
 * so far. No wait: what the kernel has not written yet comes next time. 0 or -errno. */
int tracer__drain_maps(struct tracer *t, struct fs_mapset *ms);
/* The ring of struct fs_proc_event (children born, images exec'd): its map fd, for a
 * ring_buffer that watches every tracer of a family. */
int tracer__proc_events_fd(const struct tracer *t);
/* Children born, execs, and events that found the ring full, since load. */
void tracer__procs(const struct tracer *t, uint64_t *forks, uint64_t *execs, uint64_t *lost);
/* record --trace: the calls ring's map fd (-1 when not tracing calls); events
 * lost in total, and per thread through fn (threads beyond the per-thread map's
 * room are counted in *lost only). */
int tracer__calls_fd(const struct tracer *t);
uint64_t tracer__calls_lost(const struct tracer *t, void (*fn)(void *ctx, uint32_t tid, uint64_t lost), void *ctx);
void tracer__free(struct tracer *t);

#endif
