/* memmodel.h - the memory waterfall of one process: what its mappings hold, how
 * much of it is live, glibc's arenas, page occupancy, and a diagnosis. The parsing
 * and arithmetic are pure (testable on text); procmem.c does the /proc reading. */
#ifndef FS_MEMMODEL_H
#define FS_MEMMODEL_H

#include <stdint.h>
#include <stdio.h>
#include "bpf/fragscope.h"
#include "alloc/alloc.h"
#include "types.h"	/* the regions and their owners, fs_memory, fs_diagnosis */

const char *memmodel__owner_name(int owner);
const char *memmodel__basis_name(int basis);

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
void memmodel__own(struct fs_regions *rs, int brk_owned, const struct fs_owned *ev, long nev, int dflt);
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

const char *memmodel__diag_name(int kind);

/* What remains after a load: now against the peak of live bytes seen. a: the
 * allocator's backend (what it can tell decides the diagnosis). */
void memmodel__diagnose(const struct fs_memory *m, uint64_t peak_live, const struct fs_allocator *a,
			const struct fs_settings *set, struct fs_diagnosis *out);

#endif
