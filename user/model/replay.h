/* replay.h - a recorded call trace turned into a replay program (issue 15, part
 * 2): the calls grouped by thread in their recorded order, blocks named by ids
 * instead of addresses (an address is reused; an id is not), a release made by
 * another thread than its allocation's marked to wait for it, and each thread's
 * gaps kept (its idle periods). Pure: built and checked without root. */
#ifndef FS_REPLAY_H
#define FS_REPLAY_H

#include <stddef.h>
#include <stdint.h>
#include "bpf/fragscope.h"	/* struct fs_call_event */

enum rp_kind { RP_MALLOC = 0, RP_CALLOC, RP_ALIGNED, RP_REALLOC, RP_FREE, RP_TRIM,
	       RP_MADVISE };	/* the program's own madvise inside one of its blocks */

#define RP_WAIT 1	/* op.old was allocated by another thread: wait until it is */

struct rp_op {
	uint64_t size;
	uint64_t gap_ns;	/* since this thread's previous call (the first: since the trace's first) */
	uint64_t at_ns;		/* since the trace's first call */
	uint32_t id;		/* the block it allocates (1..nblocks), 0 none */
	uint32_t old;		/* the block it releases (free, realloc), 0 none */
	uint8_t kind;		/* enum rp_kind */
	uint8_t align_lg;	/* RP_MADVISE: the advice */
	uint8_t flags;
	uint8_t _pad[5];
	uint64_t off;		/* RP_MADVISE: where in block ref, size the length (within it) */
	uint32_t ref;
	uint32_t _pad2;
};

struct rp_thread {
	uint32_t tid;		/* as recorded */
	uint32_t _pad;
	uint64_t first, n;	/* its ops: ops[first .. first + n) */
};

/* What the trace held that a replay does not repeat, counted. */
struct rp_skipped {
	uint64_t unknown_frees;	/* releases of blocks allocated before the trace (or lost) */
	uint64_t unknown_reallocs; /* reallocs of such blocks: replayed as allocations */
	uint64_t failed;	/* calls that failed (NULL) */
	uint64_t resizes;	/* xallocx: resized in place */
	uint64_t syscalls;	/* the program's own madvise/munmap of its own mappings (or
				 * inside its blocks beyond the look-up budget) */
	uint64_t reused;	/* an allocation at an address still live in the trace (a lost free) */
};

struct rp_plan {
	uint32_t nthreads;
	struct rp_thread *th;
	uint64_t nops;
	struct rp_op *ops;	/* grouped by thread */
	uint32_t nblocks;
	uint64_t span_ns;	/* the trace's first to last call */
	uint64_t live_count, live_bytes;	/* blocks of the replay still allocated at its end */
	uint64_t npre, pre_freed;	/* blocks from before the trace; of which released in it */
	uint64_t madvised;	/* the program's madvise calls inside its own blocks: replayed */
	struct rp_skipped skip;
};

#define RP_PRE_TID 0	/* the last thread of a plan, if its tid is 0: the blocks that predate the
			 * trace, allocated by the replaying process before its threads start */

/* Builds the plan from n calls in recorded order, and npre blocks in use before the
 * trace (pairs of user pointer and chunk size: glibc's census; NULL, 0 if none).
 * 0, or -1 with one line in err. */
int rp__build(const struct fs_call_event *ev, size_t n, const uint64_t *pre, long npre, struct rp_plan *p,
	      char *err, size_t errlen);
void rp__free(struct rp_plan *p);

/* The plan as one buffer (header, threads, ops) for the replaying process, which
 * maps it; rp__view checks one and points p into it (no copy). */
#define RP_MAGIC 0x31505246u	/* "FRP1" */
struct rp_header {
	uint32_t magic, nthreads;
	uint64_t nops;
	uint32_t nblocks, _pad;
};
size_t rp__size(const struct rp_plan *p);
void rp__serialize(const struct rp_plan *p, void *buf);
int rp__view(const void *buf, size_t len, struct rp_plan *p);

#endif
