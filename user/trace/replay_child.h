/* replay_child.h - the replaying process of `fragscope replay` (its own small
 * binary, fragscope-replay-child, so that the process under test holds little
 * besides the replayed heap; fragscope replay --child runs the same code when the
 * binary is missing), and the page it shares with its watcher (trace/replayer.c). */
#ifndef FS_REPLAY_CHILD_H
#define FS_REPLAY_CHILD_H

#include <stdint.h>

/* Shared between the two processes (one page). */
struct rp_shared {
	uint64_t done_ops;	/* calls replayed so far */
	uint32_t finished;	/* threads done with their calls */
	uint32_t state;		/* 2: ready to start (the parent reads the baseline), 1: every call replayed */
	uint32_t go;		/* set by the parent: start */
	uint32_t _pad;
	uint64_t calls_ns;	/* how long the calls took */
	uint64_t t0;		/* CLOCK_MONOTONIC when the calls began */
	uint64_t tables_bytes;	/* the replaying process's own tables (block pointers, flags) */
};

/* Runs the plan in plan_fd (rp__serialize's bytes), keeping to its schedule divided
 * by factor, reporting progress and the end in shm_fd; then waits to be killed.
 * Returns only on failure (an exit status). */
int replayer__child(int plan_fd, int shm_fd, double factor);

#endif
