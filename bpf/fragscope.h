/* fragscope.h - the one ABI shared by the BPF programs and user space.
 * Only __u32/__u64 fields, explicit padding, sizes checked. */
#ifndef FRAGSCOPE_H
#define FRAGSCOPE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define FS_MAX_FUNCS 64  /* probed entry points per tracer */
#define FS_HIST_BUCKETS 64 /* log2 buckets: bucket b holds values in [2^(b-1), 2^b) , 0 in bucket 0 */

/* What a probed function does; selects the BPF program and its arguments. */
enum fs_kind {
	FS_K_MALLOC = 0,	/* p = f(size, ...): malloc, valloc, pvalloc, operator new, mallocx */
	FS_K_CALLOC,		/* p = f(n, size) */
	FS_K_MEMALIGN,		/* p = f(align, size): memalign, aligned_alloc */
	FS_K_POSIX_MEMALIGN,	/* err = f(&p, align, size) */
	FS_K_REALLOC,		/* q = f(p, size) (realloc, rallocx) */
	FS_K_REALLOCARRAY,	/* q = f(p, n, size) */
	FS_K_XALLOCX,		/* usable = f(p, size, extra, flags): resize in place */
	FS_K_FREE,		/* f(p, ...): free, dallocx, sdallocx, operator delete */
	FS_K__COUNT,
};

/* Global counters, one per-CPU array slot each; user space sums them. */
enum fs_counter {
	FS_C_ALLOCS = 0,	/* successful allocations (non-NULL result), tracked or not */
	FS_C_ALLOC_BYTES,	/* bytes requested by those */
	FS_C_FREES,		/* releases of non-NULL blocks, known or not */
	FS_C_FREE_BYTES,	/* bytes of released blocks whose size was known */
	FS_C_FAILED,		/* allocations that returned NULL / an error */
	FS_C_FREE_NULL,		/* free(NULL) and friends */
	FS_C_FREES_UNKNOWN,	/* releases of blocks not in the map (allocated before attach, or untracked) */
	FS_C_TRACKED_ALLOCS,	/* allocations inserted into the map */
	FS_C_TRACKED_BYTES,	/* their bytes */
	FS_C_TRACKED_FREES,	/* map entries removed by a release */
	FS_C_TRACKED_FREE_BYTES,/* their bytes */
	FS_C_UNTRACKED,		/* allocations not inserted: the map was full */
	FS_C_UNTRACKED_BYTES,
	FS_C_STALE,		/* an insert found the address already live: a release we never saw */
	FS_C_STALE_BYTES,
	FS_C_NESTED,		/* probe hits inside another probed call (ignored, not counted twice) */
	FS_C_UNMATCHED,		/* entries whose return never came (longjmp, detach): replaced */
	FS_C_RESIZE_IN_PLACE,	/* xallocx calls that changed a block's size */
	FS_C_FREES_INTERNAL,	/* unknown blocks released by the allocator's own code
				 * (glibc flushing a thread's tcache at exit): not the program's */
	FS_C__COUNT,
};

/* Histograms, FS_HIST_BUCKETS slots each, in one per-CPU array. */
enum fs_hist {
	FS_H_ALLOC_SIZE = 0,	/* requested size of every successful allocation */
	FS_H_LIVE_SIZE,		/* requested size of tracked live blocks (+1 alloc, -1 free) */
	FS_H_LIFETIME_NS,	/* lifetime of tracked blocks when released */
	FS_H__COUNT,
};

/* Value of the outstanding-allocations map, keyed by address. */
struct fs_block {
	__u64 size;	/* bytes requested */
	__u64 ts_ns;	/* bpf_ktime_get_ns() at allocation */
};

/* Per-function counters (per-CPU array indexed by the probe's cookie). */
struct fs_func_stat {
	__u64 calls;	/* outermost calls */
	__u64 bytes;	/* bytes requested (allocators) or released (known sizes, frees) */
	__u64 failed;	/* NULL results */
	__u64 _pad;
};

/* Per-function facts user space sets before attaching (array indexed by function). */
struct fs_func_info {
	__u64 probe_vaddr;	/* where the probe sits, in the object's own addresses */
	__u64 text_lo;		/* the object's executable segment, same addresses */
	__u64 text_hi;
};

_Static_assert(sizeof(struct fs_func_info) == 24, "fs_func_info ABI");
_Static_assert(sizeof(struct fs_block) == 16, "fs_block ABI");
_Static_assert(sizeof(struct fs_func_stat) == 32, "fs_func_stat ABI");

/* The BPF cookie of every probe: function index | kind << 8. */
#define FS_COOKIE(func, kind) ((__u64)(func) | ((__u64)(kind) << 8))
#define FS_COOKIE_FUNC(c) ((__u32)((c) & 0xff))
#define FS_COOKIE_KIND(c) ((__u32)(((c) >> 8) & 0xff))

#endif
