/* census.h - what a running glibc heap holds, read from outside without stopping
 * the process: arenas, chunks in use and free, top chunks, mmapped chunks, and
 * what malloc_trim could give back. Pure: memory comes through a read callback,
 * so the walk is testable on a synthetic heap image. Never writes. */
#ifndef FS_CENSUS_H
#define FS_CENSUS_H

#include <stdint.h>
#include "types.h"	/* fs_regions, fs_present_fn */

/* Reads len bytes of the target at addr; 0 or -errno. May have written part of buf
 * when it fails (as a short pread of /proc/PID/mem does). */
typedef int (*fs_read_fn)(void *ctx, uint64_t addr, void *buf, uint64_t len);

/* What pagemap says of a page, for the census's page-state callback (an
 * fs_present_fn whose bytes are these values). In anonymous memory a page that is
 * neither present nor swapped holds zeros and is never read: a read through
 * /proc/PID/mem would fault it in (the target's RSS would grow because we looked). */
enum {
	FS_PG_NONE = 0,		/* not present, not swapped: zeros, no RSS */
	FS_PG_RESIDENT = 1,	/* present, a page of its own: counts in RSS */
	FS_PG_SWAPPED = 2,	/* in swap: has contents, not resident */
	FS_PG_ZERO = 3,		/* mapped to the shared zero page: zeros, no RSS */
};

/* glibc 2.36 x86-64 layout (malloc/malloc.c, malloc/arena.c). */
#define GL_MINSIZE 32ULL
#define GL_ALIGN 16ULL
#define GL_HEAP_MAX (64ULL << 20)
#define GL_HEAP_INFO_SIZE 48ULL		/* sizeof(heap_info), 16-aligned */
#define GL_ARENA_SIZE 2200ULL		/* sizeof(struct malloc_state) */
#define GL_ARENA_TOP 96			/* offsetof(struct malloc_state, top) */
#define GL_ARENA_FASTBINS 16		/* fastbinsY[10] */
#define GL_ARENA_NEXT 2160
#define GL_ARENA_SYSTEM_MEM 2184
#define GL_TCACHE_CHUNK 0x290ULL	/* tcache_perthread_struct's chunk */
/* struct malloc_par mp_ (glibc 2.35+: with the hugetlb fields): mallinfo2's hblks
 * and hblkhd are its n_mmaps and mmapped_mem */
#define GL_MP_MMAP_THRESHOLD 16
#define GL_MP_N_MMAPS 60		/* int */
#define GL_MP_N_MMAPS_MAX 64		/* int */
#define GL_MP_MAX_N_MMAPS 68		/* int */
#define GL_MP_MMAPPED_MEM 80
#define GL_MP_MAX_MMAPPED_MEM 88
#define GL_MP_SBRK_BASE 96
#define GL_MP_TCACHE_BINS 104
#define GL_MP_SIZE 136

struct fs_census_arena {
	uint64_t ar_ptr;	/* malloc_state address */
	int main;
	int heaps;
	uint64_t size;		/* bytes of its heaps (system_mem) */
	uint64_t in_use;	/* chunk bytes in use (headers included) */
	uint64_t chunks_in_use;
	uint64_t free;		/* free chunk bytes: bins, fastbins, tcache, top */
	uint64_t cached;	/* of which in fastbins or a tcache (look in use to glibc) */
	uint64_t largest_free;
	uint64_t top;		/* top chunk size */
	uint64_t free_resident;	/* resident pages malloc_trim(0) would release: free chunks
				 * merged with fastbin chunks (it consolidates them first),
				 * and the main arena's top; never a thread arena's top */
	uint64_t pin_addr;	/* the highest in-use chunk below top: what pins the heap's end */
	uint64_t pin_size;
	int walk_cut;		/* a chunk failed validation: figures are partial */
	char note[128];
};

#define FS_CENSUS_MAX_ARENAS 128
#define FS_CENSUS_MAX_MM 4096

/* Address space holding glibc's mmapped chunks (each chunk's whole mapping,
 * alignment offset included; adjacent chunks merged into one range). */
struct fs_census_range {
	uint64_t start, end;
	uint64_t resident;	/* bytes of its pages present (pagemap) */
};

struct fs_census {
	int narenas;
	struct fs_census_arena arenas[FS_CENSUS_MAX_ARENAS];
	/* mmapped chunks: found by walking every private anonymous mapping from its
	 * start chunk by chunk (the kernel merges adjacent chunk mappings into one
	 * VMA); the walk of a mapping stops at the first thing that is not a valid
	 * mmapped chunk and what follows is not claimed. mmapped_bytes: chunk sizes
	 * (what is in use); the mappings' bytes are the ranges'. */
	uint64_t mmapped_chunks, mmapped_bytes;
	uint64_t mmapped_mapped;	/* their mappings' bytes (alignment offsets included) */
	/* glibc's own count of its mmapped chunks (mp_.n_mmaps, mp_.mmapped_mem: what
	 * mallinfo2() calls hblks and hblkhd), read from libc's data before and after
	 * the walk. When the walk found fewer, the rest is unaccounted: chunks in a
	 * mapping the kernel merged with (after) something that is not a chunk -- a
	 * program's own mmap, e.g. Python's arenas -- are looked for page by page
	 * (those with an alignment offset are not), and what is still missing is said. */
	int mp_valid;		/* mp_ found and read (glibc with a brk heap) */
	int mp_changed;		/* it changed during the walk: the figures below are approximate */
	uint64_t mp_addr;
	uint64_t mp_chunks, mp_bytes;	/* n_mmaps, mmapped_mem after the walk */
	uint64_t mm_unaccounted_chunks, mm_unaccounted_bytes;	/* glibc's count minus those found; 0 when !mp_valid */
	int mm_scanned;		/* mappings were searched page by page past a foreign mapping */
	int nmm;
	int mm_more;		/* more ranges than FS_CENSUS_MAX_MM: counted above, not listed */
	struct fs_census_range mm[FS_CENSUS_MAX_MM];
	uint64_t in_use, free, free_resident, mapped, resident;
	int approximate;
	char note[256];
	uint64_t bytes_read;
	/* Optional, set by the caller before the walk (kept across it): every chunk in use
	 * (not cached in a tcache or fastbin) and every mmapped chunk, as its user pointer
	 * and chunk size. record --trace lists the blocks that predate its trace. */
	void (*on_chunk)(void *ctx, uint64_t mem, uint64_t chunk_size);
	void *on_chunk_ctx;
};

/* Walks every arena reachable from the classified regions: heaps carry ar_ptr (see
 * procmem); main_arena is found through the arena list, or, with one arena, by a
 * validated search of rw_lo..rw_hi (libc's writable data). pages() gives each
 * page's FS_PG_* state (may be NULL: then every byte is read and nothing counts as
 * resident). progress(ctx, done, total) may be NULL. */
int census__glibc(const struct fs_regions *rs, uint64_t rw_lo, uint64_t rw_hi, fs_read_fn rd, void *rctx,
		  fs_present_fn pages, void *pctx, void (*progress)(uint64_t done, uint64_t total),
		  struct fs_census *out);

/* Only the mmapped chunks (glibc's blocks above the mmap threshold) of the
 * anonymous regions: what they are and where (mm ranges), in_use their bytes, and
 * glibc's own count of them (mp_, found in rw_lo..rw_hi). Reads one page at each
 * chunk's start, never the heaps (other mappings only when glibc's count says
 * chunks are missing). */
int census__glibc_mmapped(const struct fs_regions *rs, uint64_t rw_lo, uint64_t rw_hi, fs_read_fn rd, void *rctx,
			  fs_present_fn pages, void *pctx, struct fs_census *c);

#endif
