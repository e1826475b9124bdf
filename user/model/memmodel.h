/* memmodel.h - the memory waterfall of one process: what its mappings hold, how
 * much of it is live, glibc's arenas, page occupancy, and a diagnosis. The parsing
 * and arithmetic are pure (testable on text); procmem.c does the /proc reading. */
#ifndef FS_MEMMODEL_H
#define FS_MEMMODEL_H

#include <stdint.h>
#include <stdio.h>
#include "bpf/fragscope.h"
#include "alloc/alloc.h"
#include "types.h"	/* the regions and their owners */

const char *memmodel__owner_name(int owner);

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

/* How held_free is known. */
enum fs_basis {
	FS_B_UNKNOWN = 0,	/* blocks from before attach were never counted: they may fill at most
				 * pre_attach_bound bytes (what was mapped at attach); beyond that, free */
	FS_B_TRACED,		/* every block was seen (traced from the start) */
	FS_B_CENSUS,		/* blocks from before attach counted by a heap census at attach */
	FS_B_ALLOC_STATS,	/* the allocator's own statistics (jemalloc's mallctl) */
};
const char *memmodel__basis_name(int basis);

/* The waterfall and what explains it, at one moment. Bytes throughout. */
struct fs_memory {
	int valid;
	uint64_t live;		/* requested bytes of live blocks (tracked since attach) */
	uint64_t held_free;	/* resident allocator memory holding no live bytes (0 unless held_basis) */
	int held_basis;		/* enum fs_basis: how held_free is known */
	uint64_t pre_attach_live;	/* bytes of blocks from before attach still live, per the basis */
	uint64_t unseen;	/* held_basis unknown: allocator resident bytes beyond live that blocks from
				 * before attach may fill (content unseen); held_free is then the rest, a floor */
	uint64_t pre_attach_bound;	/* held_basis unknown: memory mapped at attach (UINT64_MAX: not known) */
	uint64_t mapped;	/* accessible allocator address space (owner: allocator) */
	uint64_t resident;	/* of which resident (anonymous) */
	uint64_t own_mapped[FS_OWN__COUNT], own_resident[FS_OWN__COUNT];	/* all anonymous memory by owner */
	int owners_partial;	/* the evidence was incomplete (ledger lost events, residency unreadable) */
	int mmapped_scanned;	/* glibc: the mmapped chunks present at attach were looked for */
	uint64_t lazyfree;	/* of which MADV_FREE'd, still counted in RSS until reclaimed */
	uint64_t returned;	/* resident bytes given back to the OS since attach */
	uint64_t rss_anon;	/* the process's whole RssAnon (all anonymous memory) */
	uint64_t faults;	/* page faults of the target since attach */
	uint64_t churn_faults;	/* of which on pages released less than a second before */
	uint64_t churn_src[FS_R__COUNT];	/* churn_faults by who released the page (enum fs_src) */
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
	uint64_t heap_no_live;		/* of resident_no_live, inside glibc heaps (what malloc_trim can reach) */
	char pages_note[160];
	/* jemalloc's own figures, when read (jestats) */
	int je_valid;
	uint64_t je_allocated, je_active, je_resident, je_mapped, je_retained, je_metadata;
	uint64_t je_dirty, je_muzzy;	/* bytes */
	/* releases seen while tracing, by malloc_trim() calls */
	uint64_t trim_calls, trim_released;
	/* --mode light: no call counted; live is the heap census's bytes in use (chunk
	 * bytes) when light_census, else unknown */
	int light, light_census;
	uint64_t light_trim;		/* what malloc_trim(0) would release, by that census */
	uint64_t light_age_ns;		/* how old that census is */
};

/* Parses /proc/PID/smaps text. 0 or -errno. */
int memmodel__parse_smaps(FILE *f, struct fs_regions *out);
void memmodel__regions_free(struct fs_regions *rs);
/* Sets each region's kind; heap_walk (the backend's: glibc) makes 64 MiB aligned
 * anonymous mappings heaps. */
void memmodel__classify(struct fs_regions *rs, int heap_walk);
/* Counts a region kind the allocator may own? */
int memmodel__is_allocator(int kind);
/* Sets each region's owner from its kind and the evidence (ev, sorted, disjoint):
 * glibc's heaps are the allocator's; other anonymous regions belong to whoever the
 * evidence names, the rest to dflt (FS_OWN_UNKNOWN unless every mapping was seen). A region of several owners is
 * FS_OWN_MIXED; present() (may be NULL) splits its resident bytes by page. */
void memmodel__own(struct fs_regions *rs, int heap_walk, const struct fs_owned *ev, long nev, int dflt);
/* Fills mapped/resident/lazyfree (allocator-owned), per-kind and per-owner figures
 * from classified, owned regions. present (may be NULL) splits mixed regions. */
void memmodel__sum(const struct fs_regions *rs, const struct fs_owned *ev, long nev, int dflt,
		   fs_present_fn present, void *ctx, struct fs_memory *m);
/* The allocator's own totals (jemalloc's stats.resident and mapped) claim anonymous
 * memory of unknown owner for it, as far as they go. */
void memmodel__claim(struct fs_memory *m, uint64_t resident, uint64_t mapped);
/* held_free (or unseen) from resident, lazyfree, live and the basis; jemalloc's own
 * figures when je_valid. */
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
void memmodel__occupancy(const struct fs_regions *rs, const uint64_t *addr, const uint64_t *size,
			 long nblocks, fs_present_fn present, void *ctx, uint64_t max_bytes,
			 struct fs_memory *m);

/* Parses a NUL-separated environment block of len bytes (no NUL needed at the end). */
void memmodel__settings(const char *env, size_t len, struct fs_settings *s);

enum fs_diag_kind { FS_D_NONE = 0, FS_D_LEAK, FS_D_RETENTION, FS_D_CACHE, FS_D_ARENA_SPREAD, FS_D_UNSEEN,
		    FS_D_NOT_ALLOCATOR };
const char *memmodel__diag_name(int kind);

struct fs_diagnosis {
	int kind;
	char text[1536];
	/* the main remedy's figure, only when evidence backs it */
	char remedy[32];	/* "malloc_trim", "background_thread", "dirty_decay_ms"; "" none */
	int64_t expect;		/* bytes it is expected to give back (at most); -1 unknown */
	char evidence[48];	/* what backs the figure: "page census", "jemalloc stats", ... */
};

/* What remains after a load: now against the peak of live bytes seen. a: the
 * allocator's backend (what it can tell decides the diagnosis). */
void memmodel__diagnose(const struct fs_memory *m, uint64_t peak_live, const struct fs_allocator *a,
			const struct fs_settings *set, struct fs_diagnosis *out);

#endif
