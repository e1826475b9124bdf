/* memmodel.h - the memory waterfall of one process: what its mappings hold, how
 * much of it is live, glibc's arenas, page occupancy, and a diagnosis. The parsing
 * and arithmetic are pure (testable on text); procmem.c does the /proc reading. */
#ifndef FS_MEMMODEL_H
#define FS_MEMMODEL_H

#include <stdint.h>
#include <stdio.h>

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

struct fs_region {
	uint64_t start, end;
	uint64_t rss, anon, lazyfree, swap;	/* bytes, from smaps */
	char perms[5];
	int kind;
	uint64_t ar_ptr;	/* FS_RG_ARENA_HEAP: the arena it belongs to (from heap_info) */
	char name[48];
};

struct fs_regions {
	struct fs_region *r;
	int n, cap;
};

struct fs_arena {
	uint64_t ar_ptr;	/* glibc's mstate: the identity of the arena */
	int main;
	int heaps;
	uint64_t mapped;	/* accessible bytes of its heaps */
	uint64_t resident;
	uint64_t live;		/* tracked live bytes inside it */
	uint64_t live_blocks;
};

#define FS_MAX_ARENAS 256

/* The waterfall and what explains it, at one moment. Bytes throughout. */
struct fs_memory {
	int valid;
	uint64_t live;		/* requested bytes of live blocks (tracked since attach) */
	uint64_t held_free;	/* resident allocator memory holding no live bytes */
	uint64_t mapped;	/* accessible allocator address space */
	uint64_t resident;	/* of which resident (anonymous) */
	uint64_t lazyfree;	/* of which MADV_FREE'd, still counted in RSS until reclaimed */
	uint64_t returned;	/* resident bytes given back to the OS since attach */
	uint64_t rss_anon;	/* the process's whole RssAnon (all anonymous memory) */
	uint64_t faults;	/* page faults of the target since attach */
	uint64_t churn_faults;	/* of which on pages released less than a second before */
	int busy;		/* the program allocated since the previous sample */
	uint64_t kind_mapped[FS_RG__COUNT], kind_resident[FS_RG__COUNT];
	int narenas;		/* glibc only; 0 otherwise */
	struct fs_arena arenas[FS_MAX_ARENAS];
	/* page occupancy */
	int pages_valid, pages_partial, pages_approximate;
	uint64_t deep_age_ns;		/* arenas and pages are from a sample this much older */
	uint64_t pages_scanned;		/* resident allocator bytes looked at */
	uint64_t resident_no_live;	/* resident pages holding no live block */
	uint64_t low_occupancy;		/* resident pages less than 10% live */
	char pages_note[160];
};

/* Parses /proc/PID/smaps text. 0 or -errno. */
int memmodel__parse_smaps(FILE *f, struct fs_regions *out);
void memmodel__regions_free(struct fs_regions *rs);
/* Sets each region's kind; glibc: 64 MiB aligned anonymous mappings are heaps. */
void memmodel__classify(struct fs_regions *rs, int glibc);
/* Counts an allocator region (one the waterfall includes)? */
int memmodel__is_allocator(int kind);
/* Fills mapped/resident/lazyfree and per-kind figures from classified regions. */
void memmodel__sum(const struct fs_regions *rs, struct fs_memory *m);
/* held_free from resident, lazyfree and live. */
void memmodel__finish(struct fs_memory *m);
/* (resident - live) / resident: the share of resident allocator memory without live data. */
double memmodel__fragmentation(const struct fs_memory *m);

/* glibc arenas from classified regions (heaps carry ar_ptr) and the live blocks
 * inside each: main arena first. */
void memmodel__arenas(const struct fs_regions *rs, const uint64_t *addr, const uint64_t *size,
		      long nblocks, struct fs_memory *m);

/* Page occupancy: blocks sorted by address ([addr, addr+size)), regions classified,
 * present(page address) tells residency. Stops after max_bytes of regions and
 * says so (pages_partial). */
typedef int (*fs_present_fn)(void *ctx, uint64_t start, uint64_t npages, uint8_t *present);
void memmodel__occupancy(const struct fs_regions *rs, const uint64_t *addr, const uint64_t *size,
			 long nblocks, fs_present_fn present, void *ctx, uint64_t max_bytes,
			 struct fs_memory *m);

/* Allocator settings a diagnosis names (from the target's environment). */
struct fs_settings {
	char malloc_conf[256];		/* MALLOC_CONF (jemalloc) */
	char glibc_tunables[256];	/* GLIBC_TUNABLES */
	char arena_max[32];		/* MALLOC_ARENA_MAX */
	int je_background_thread;	/* background_thread:true in MALLOC_CONF */
	long je_dirty_decay_ms;		/* as set; meaningful only if je_dirty_decay_set */
	int je_dirty_decay_set;		/* -1 is jemalloc's "never purge", not "unset" */
};

/* Parses a NUL-separated environment block of len bytes (no NUL needed at the end). */
void memmodel__settings(const char *env, size_t len, struct fs_settings *s);

enum fs_diag_kind { FS_D_NONE = 0, FS_D_LEAK, FS_D_RETENTION, FS_D_CACHE, FS_D_ARENA_SPREAD };
const char *memmodel__diag_name(int kind);

struct fs_diagnosis {
	int kind;
	char text[1536];
};

/* What remains after a load: now against the peak of live bytes seen. flavour is
 * enum fs_flavour. trims: malloc_trim calls so far. */
void memmodel__diagnose(const struct fs_memory *m, uint64_t peak_live, int flavour,
			const struct fs_settings *set, struct fs_diagnosis *out);

#endif
