/* types.h - data types shared between layers, types only (no functions): a lower
 * layer's module fills them, a higher one reads them. Includes only the ABI header
 * and system headers. */
#ifndef FS_TYPES_H
#define FS_TYPES_H

#include <stdint.h>
#include "bpf/fragscope.h"

/* ---- a process's mappings, as the memory model (model/) and the allocator
 * backends' heap walks (alloc/census) see them ---- */

enum fs_region_kind {
	FS_RG_HEAP = 0,		/* [heap]: glibc's main arena (brk) */
	FS_RG_ARENA_HEAP,	/* a glibc non-main heap (64 MiB aligned, heap_info at its start) */
	FS_RG_ANON,		/* other private anonymous memory: mmapped chunks, jemalloc extents, ... */
	FS_RG_STACK,		/* [stack] or a thread stack (guard page right below) */
	FS_RG_RESERVED,		/* PROT_NONE: reserved address space, never resident */
	FS_RG_FILE,		/* file mappings */
	FS_RG_OTHER,		/* [vdso], shared memory, ... */
	FS_RG__COUNT,
};

/* Who anonymous memory belongs to, on evidence only: the allocator (glibc's heaps,
 * mappings the allocator made while traced, mmapped chunks a census found, mappings
 * holding blocks it returned), the program's own mappings (made by its code while
 * traced), thread stacks, anonymous pages of private file mappings (data, bss,
 * relocations), and anonymous memory nothing tells the owner of (mapped before
 * attach by code fragscope did not see). */
enum fs_owner {
	FS_OWN_ALLOCATOR = 0,
	FS_OWN_PROGRAM,
	FS_OWN_STACK,
	FS_OWN_FILE,
	FS_OWN_UNKNOWN,
	FS_OWN__COUNT,
	FS_OWN_MIXED = -1,	/* a region (merged VMA) with parts of several owners */
};

/* Evidence that [start, end) belongs to owner; lists are sorted by start and do not overlap. */
struct fs_owned {
	uint64_t start, end;
	int owner;
	int prio;	/* where evidence overlaps at one start, the lower prio wins */
};

struct fs_region {
	uint64_t start, end;
	uint64_t rss, anon, lazyfree, swap;	/* bytes, from smaps */
	char perms[5];
	int kind;
	int owner;		/* enum fs_owner of the whole region, or FS_OWN_MIXED */
	uint64_t ar_ptr;	/* FS_RG_ARENA_HEAP: the arena it belongs to (from heap_info) */
	char name[48];
};

/* Residency of npages pages from start (1 byte each). 0 or -errno. */
typedef int (*fs_present_fn)(void *ctx, uint64_t start, uint64_t npages, uint8_t *present);

struct fs_regions {
	struct fs_region *r;
	int n, cap;
};

/* ---- the allocator's settings (its backend reads them: alloc/) ---- */

/* Allocator settings a diagnosis names (from the target's environment,
 * each backend reading its own variables). */
struct fs_settings {
	char malloc_conf[256];		/* MALLOC_CONF (jemalloc) */
	char glibc_tunables[256];	/* GLIBC_TUNABLES */
	char arena_max[32];		/* MALLOC_ARENA_MAX */
	int je_background_thread;	/* background_thread:true in MALLOC_CONF */
	int je_bg_threads;		/* jemalloc_bg_thd threads running now (-1 unknown): set at run time too */
	long je_dirty_decay_ms;		/* as set; meaningful only if je_dirty_decay_set */
	int je_dirty_decay_set;		/* -1 is jemalloc's "never purge", not "unset" */
};

#endif
