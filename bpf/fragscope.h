/* fragscope.h - the one ABI shared by the BPF programs and user space.
 * Only __u32/__u64 fields, explicit padding, sizes checked. */
#ifndef FRAGSCOPE_H
#define FRAGSCOPE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
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
	FS_K_TRIM,		/* malloc_trim(pad): releases memory, allocates nothing */
	FS_K__COUNT,
};

/* Global counters, one per-CPU array slot each; user space sums them. The first
 * four are derived by user space (agg__derive), so the hot path pays fewer atomics. */
enum fs_counter {
	FS_C_ALLOCS = 0,	/* successful allocations (non-NULL result), tracked or not */
	FS_C_ALLOC_BYTES,	/* bytes requested by those */
	FS_C_FREES,		/* releases of non-NULL blocks, known or not */
	FS_C_FREE_BYTES,	/* bytes of released blocks whose size was known */
	FS_C_FAILED,		/* allocations that returned NULL / an error */
	FS_C_FREE_NULL,		/* free(NULL) and friends */
	FS_C_FREES_UNKNOWN,	/* releases of blocks not in the map (allocated before attach, or untracked) */
	FS_C_FREES_UNKNOWN_CHUNK_BYTES, /* glibc: their chunk sizes, read from the chunk headers */
	FS_C_TRACKED_ALLOCS,	/* allocations inserted into the map */
	FS_C_TRACKED_BYTES,	/* their bytes */
	FS_C_TRACKED_FREES,	/* map entries removed by a release */
	FS_C_TRACKED_FREE_BYTES,/* their bytes */
	FS_C_UNTRACKED,		/* allocations not inserted: the map was full */
	FS_C_UNTRACKED_BYTES,
	FS_C_STALE,		/* an insert found the address already live: a release we never saw
				 * (the old entry is retired: not a tracked free) */
	FS_C_STALE_BYTES,
	FS_C_NESTED,		/* probe hits inside another probed call (ignored, not counted twice) */
	FS_C_UNMATCHED,		/* entries whose return never came (longjmp, detach): replaced */
	FS_C_RESIZE_IN_PLACE,	/* xallocx calls that changed a block's size */
	FS_C_RESIZE_GROW_BYTES,	/* bytes those added to live blocks */
	FS_C_RESIZE_SHRINK_BYTES,
	FS_C_SAMPLES,		/* allocations whose stack was sampled */
	FS_C_STACKS_LOST,	/* samples whose stack could not be stored (stack map full or collision) */
	FS_C_FREES_INTERNAL,	/* unknown blocks released by the allocator's own code
				 * (glibc flushing a thread's tcache at exit): not the program's */
	/* Usable bytes (what malloc_usable_size reports) of tracked blocks: gained by
	 * allocations and in-place growth; lost by releases, in-place shrinking and
	 * retired (stale) blocks. Live usable = the first - the second. */
	FS_C_TRACKED_USABLE,
	FS_C_TRACKED_FREE_USABLE,
	FS_C_USABLE_UNKNOWN,	/* tracked allocations whose usable size could not be read
				 * (counted as their requested size: live usable is then not exact) */
	/* --mode sampled: every call counted at its entry (agg__derive adds these to
	 * FS_C_ALLOCS, FS_C_ALLOC_BYTES, FS_C_FREES); blocks sampled about once per
	 * sample_period bytes (exponential intervals), each standing for w bytes (w = its
	 * size / its chance to be sampled). Sums over the sampled blocks still live: */
	FS_C_SM_ALLOCS,		/* allocating calls (failed ones included: not told apart) */
	FS_C_SM_ALLOC_BYTES,	/* bytes they asked for */
	FS_C_SM_FREES,		/* releases of non-NULL pointers */
	FS_C_SM_LIVE_N,		/* sampled blocks live */
	FS_C_SM_LIVE_SIZE,	/* their requested bytes */
	FS_C_SM_LIVE_W,		/* their weights: the estimate of live bytes */
	FS_C_SM_LIVE_VAR,	/* sum of w * (w - size): the estimate's variance, estimated */
	FS_C_SM_LIVE_BLOCKS_Q16,/* sum of w / size, in 1/65536: the estimate of live blocks */
	FS_C_SM_SAMPLED,	/* blocks sampled (recorded in the sampled table) */
	FS_C_SM_RELEASED,	/* sampled blocks whose release was seen */
	FS_C_SM_ALLOC_W,	/* sum of the weights of every sampled block: bytes allocated, estimated */
	FS_C_SM_LOST,		/* blocks sampled but not recorded: the sampled table was full */
	FS_C_SM_STALE,		/* a sampled address returned again before its release was seen */
	FS_C_SM_FREE_CALLS,	/* releases by the release functions (not realloc), non-NULL */
	FS_C_SM_FREE_CALLS_WIN,	/* --window: of those, while the allocation probes were attached
				 * (the share of the program's calls the windows saw) */
	FS_C__COUNT,
};

/* Histograms, FS_HIST_BUCKETS slots each, in one per-CPU array. */
enum fs_hist {
	FS_H_ALLOC_SIZE = 0,	/* requested size of every successful allocation */
	FS_H_LIVE_SIZE,		/* requested size of tracked live blocks: filled by user space
				 * from the live set (the kernel leaves it 0) */
	FS_H_LIFETIME_NS,	/* lifetime of tracked blocks when released */
	FS_H__COUNT,
};

/* Value of the outstanding-allocations map, keyed by address. */
struct fs_block {
	__u64 size;	/* bytes requested */
	__u64 ts_ns;	/* bpf_ktime_get_ns() at allocation */
	__s32 stackid;	/* sampled: its allocation site in the stacks map; -1 not sampled */
	__u32 _pad;
	__u64 usable;	/* bytes the block really takes (malloc_usable_size) */
};

/* The table of live blocks: buckets of FS_BUCKET_SLOTS slots, one cache line each,
 * at FS_BUCKET_INDEX(address); blocks whose bucket is full go to an overflow hash,
 * counted in the bucket (so only such buckets ever look there). A slot's ptr is 0
 * when empty, FS_SLOT_BUSY while being filled. */
#define FS_BUCKET_SLOTS 2
#define FS_SLOT_BUSY 1ULL
#define FS_BUCKET_INDEX(ptr, bits) ((__u32)((((__u64)(ptr) >> 4) * 0x9E3779B97F4A7C15ULL) >> (64 - (bits))))

struct fs_slot {
	__u64 ptr;
	__u64 size;	/* requested bytes in the low FS_SLOT_SIZE_BITS, usable - requested
			 * above them; a block whose figures do not fit goes to the overflow
			 * hash, whose struct fs_block keeps both whole */
	__u64 ts_ns;
	__s32 stackid;
	__u32 ovf;	/* s[0] only: this bucket's blocks in the overflow hash */
};

struct fs_bucket {
	struct fs_slot s[FS_BUCKET_SLOTS];
};

#define FS_SLOT_SIZE_BITS 40
#define FS_SLOT_SIZE(v) ((v) & ((1ULL << FS_SLOT_SIZE_BITS) - 1))
#define FS_SLOT_SLACK(v) ((v) >> FS_SLOT_SIZE_BITS)
#define FS_SLOT_FITS(size, usable) \
	((size) < (1ULL << FS_SLOT_SIZE_BITS) && (usable) >= (size) && \
	 (usable) - (size) < (1ULL << (64 - FS_SLOT_SIZE_BITS)))
#define FS_SLOT_PACK(size, usable) ((size) | (((usable) - (size)) << FS_SLOT_SIZE_BITS))

#define FS_STACK_DEPTH 32	/* frames kept per sampled stack */

/* An allocation site (a user stack), from byte-sampled allocations. Estimates:
 * each sample stands for max(size, period) bytes, the expected bytes per sample. */
struct fs_site_stat {
	__u64 samples;		/* sampled allocations */
	__u64 bytes;		/* estimated bytes allocated */
	__s64 live_samples;	/* sampled blocks still live */
	__s64 live_bytes;	/* estimated live bytes */
	__s64 live_var;		/* --mode sampled: the live estimate's variance, estimated */
};

/* Per-function counters (per-CPU array indexed by the probe's cookie). */
struct fs_func_stat {
	__u64 calls;	/* outermost calls */
	__u64 bytes;	/* bytes requested (allocators) or released (known sizes, frees) */
	__u64 failed;	/* NULL results */
	__u64 _pad;
};

/* ---- the allocator's dealings with the kernel ---- */

enum fs_sys { FS_S_MMAP = 0, FS_S_MUNMAP, FS_S_MREMAP, FS_S_BRK, FS_S_MADVISE, FS_S_MPROTECT, FS_S__COUNT };
enum fs_adv { FS_A_DONTNEED = 0, FS_A_FREE, FS_A_HUGEPAGE, FS_A_NOHUGEPAGE, FS_A_OTHER, FS_A__COUNT };
/* Who gave memory back. */
enum fs_src {
	FS_R_GLIBC_TRIM = 0,	/* glibc trimming a heap top or a whole heap after a free */
	FS_R_MALLOC_TRIM,	/* an explicit malloc_trim() call */
	FS_R_JE_DECAY,		/* jemalloc purging dirty pages in an application thread */
	FS_R_JE_BACKGROUND,	/* jemalloc's background thread */
	FS_R_MUNMAP_BLOCK,	/* munmap of a large block (or a whole heap) */
	FS_R_PROGRAM,		/* called from outside the allocator's code: the program's own */
	FS_R_OTHER,		/* allocator unknown */
	FS_R__COUNT,
};
/* What a new mapping is for. */
enum fs_map { FS_M_ALLOCATOR = 0, FS_M_STACK, FS_M_FILE, FS_M_OTHER_ANON, FS_M__COUNT };

#define FS_LAT_BUCKETS 32	/* log2 ns */
#define FS_ERRNO_MAX 64		/* errno values counted one by one; larger ones in the last slot */

struct fs_sys_stat {
	__u64 calls;
	__u64 errors;
	__u64 bytes;		/* length argument (mapped, unmapped, advised, protected) */
	__u64 ns;		/* time inside the call */
	__u64 resident;		/* anonymous RSS it released (RSS before - after, when it fell) */
};

struct fs_adv_stat {
	__u64 calls;
	__u64 bytes;		/* asked */
	__u64 errors;
	__u64 resident;		/* really released: RSS before - after */
	__u64 lat[FS_LAT_BUCKETS];
};

struct fs_kstats {
	struct fs_sys_stat sys[FS_S__COUNT];
	struct fs_adv_stat adv[FS_A__COUNT];
	__u64 errnos[FS_S__COUNT][FS_ERRNO_MAX];
	__u64 src_calls[FS_R__COUNT];
	__u64 src_resident[FS_R__COUNT];
	__u64 map_calls[FS_M__COUNT];
	__u64 map_bytes[FS_M__COUNT];
	__u64 brk_grow;		/* bytes the brk heap grew */
	__u64 brk_shrink_calls;
	__u64 brk_shrink;	/* bytes it shrank */
	__u64 faults;		/* user page faults of the target */
	__u64 churn_faults;	/* faults on a page released less than a second before */
	__u64 trim_calls;	/* malloc_trim() calls */
	__u64 trim_released;	/* of which returned 1 (memory released) */
	__u64 churn_src[FS_R__COUNT];	/* churn_faults by who released the page (enum fs_src) */
};

/* Which allocator the target uses, one id for both sides: user space's backends
 * (user/alloc/) are indexed by it, and the BPF side gets it before load as
 * `flavour`, which selects release attribution (glibc's and jemalloc's own ways of
 * giving pages back; any other id: no allocator-specific attribution). */
enum fs_alloc_id {
	FS_ALLOC_UNKNOWN = 0,
	FS_ALLOC_GLIBC,
	FS_ALLOC_JEMALLOC,
	FS_ALLOC_TCMALLOC,
	FS_ALLOC_MIMALLOC,
	FS_ALLOC_HOARD,		/* recognised and refused */
	FS_ALLOC__COUNT
};

/* Per-function facts user space sets before attaching (array indexed by function). */
#define FS_INTERNAL_CALLERS 4

struct fs_func_info {
	__u64 probe_vaddr;	/* where the probe sits, in the object's own addresses */
	__u64 text_lo;		/* the object's executable segment, same addresses */
	__u64 text_hi;
	/* return addresses of the allocator's own direct calls of this function (glibc's
	 * tcache flush at thread exit calls free on chunks the program freed long ago) */
	__u64 internal_ret[FS_INTERNAL_CALLERS];
	/* the function's body, same addresses: a call made from inside it is nested */
	__u64 func_lo;
	__u64 func_len;
	__u64 tail_to;		/* functions (bit = index) this one may end by jumping into */
};

_Static_assert(sizeof(struct fs_func_info) == 80, "fs_func_info ABI");

/* --mode sampled: a sampled block (hash keyed by its address). */
struct fs_sampled {
	__u64 size;		/* bytes requested */
	__u64 w;		/* its weight: size / P(sampled) */
	__u64 ts_ns;		/* when it was allocated */
	__s32 stackid;		/* its site, or < 0 */
	__u32 _pad;
};
/* Exponential intervals and weights without floating point: FS_EXP_STEPS slices of
 * equal probability of an exponential of mean 1, each its conditional mean (sums
 * to exactly the mean), and f(x) = x / (1 - e^-x) at x = i / FS_WTAB_SCALE, both
 * in 1/65536; user space fills them before load (trace/tracer.c). */
#define FS_EXP_STEPS 1024
#define FS_WTAB_STEPS 256
#define FS_WTAB_SCALE 16
_Static_assert(sizeof(struct fs_block) == 32, "fs_block ABI");
_Static_assert(sizeof(struct fs_bucket) == 64, "a bucket is one cache line");
_Static_assert(sizeof(struct fs_site_stat) == 40, "fs_site_stat ABI");
_Static_assert(sizeof(struct fs_func_stat) == 32, "fs_func_stat ABI");

/* The BPF cookie of every probe: function index | kind << 8 | enum fs_align << 16. */
#define FS_COOKIE(func, kind) ((__u64)(func) | ((__u64)(kind) << 8))
#define FS_COOKIE_FUNC(c) ((__u32)((c) & 0xff))
#define FS_COOKIE_KIND(c) ((__u32)(((c) >> 8) & 0xff))
#define FS_COOKIE_ALIGN(c) ((__u32)(((c) >> 16) & 0xff))

/* Where an allocating call's alignment comes from, beyond what its kind says
 * (memalign, aligned_alloc: argument 1; posix_memalign: argument 2): jemalloc's
 * usable size depends on it. */
enum fs_align {
	FS_AL_NONE = 0,
	FS_AL_ARG2,		/* operator new(size, align_val_t) */
	FS_AL_PAGE,		/* valloc, pvalloc */
	FS_AL_FLAGS2,		/* mallocx(size, flags): MALLOCX_LG_ALIGN in flags */
	FS_AL_FLAGS3,		/* rallocx(p, size, flags) */
	FS_AL_BUMP0,		/* aligned_alloc: as its kind says, and a size of 0 counts as 1
				 * (so do posix_memalign and aligned new; not memalign, valloc) */
};

/* jemalloc 5.3's size classes as Debian builds them (LG_QUANTUM 4, 4 KiB pages,
 * SC_LG_NGROUP 2): the usable size of a request, as sz_s2u and sz_sa2u compute
 * it. Shared by the BPF programs and the unit tests. 0: no such size class. */
#define FS_JE_LG_QUANTUM 4
#define FS_JE_LG_NGROUP 2
#define FS_JE_PAGE 4096ULL
#define FS_JE_SMALL_MAXCLASS 14336ULL	/* the largest small class */
#define FS_JE_LARGE_MINCLASS 16384ULL	/* PAGE << LG_NGROUP */
#define FS_JE_LARGE_MAXCLASS (7ULL << 60)	/* 2^62 + 3 * 2^60 */

/* floor(log2(v)) for v > 0, without a loop (BPF has no clz). */
static __always_inline __u32 fs_lg_floor(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) { r += 1; }
	return r;
}

static __always_inline __u64 fs_je_s2u(__u64 size)
{
	__u32 x, lg_delta;
	__u64 mask;

	if (size > FS_JE_LARGE_MAXCLASS)
		return 0;
	if (size <= 8)		/* the one tiny class (and malloc(0)) */
		return 8;
	x = fs_lg_floor((size << 1) - 1);	/* lg of the power of two >= size */
	lg_delta = x < FS_JE_LG_NGROUP + FS_JE_LG_QUANTUM + 1 ? FS_JE_LG_QUANTUM : x - FS_JE_LG_NGROUP - 1;
	mask = (1ULL << lg_delta) - 1;
	return (size + mask) & ~mask;
}

static __always_inline __u64 fs_je_sa2u(__u64 size, __u64 align)
{
	__u64 usize;

	if (align <= 1)
		return fs_je_s2u(size);
	if (align & (align - 1))
		return 0;
	if (size <= FS_JE_SMALL_MAXCLASS && align <= FS_JE_PAGE) {
		usize = fs_je_s2u((size + align - 1) & ~(align - 1));
		if (usize < FS_JE_LARGE_MINCLASS)
			return usize;
	}
	if (align > FS_JE_LARGE_MAXCLASS)
		return 0;
	if (size <= FS_JE_LARGE_MINCLASS)
		return FS_JE_LARGE_MINCLASS;
	usize = fs_je_s2u(size);
	return usize < size ? 0 : usize;
}

/* ---- the address ledger: who mapped what since attach ----
 * One ring-buffer event per successful mmap, munmap and mremap of the target (rare
 * next to malloc/free), drained by user space at each sample; events that found the
 * ring full are counted (map_events_lost), and the ledger is then approximate. */
enum fs_map_ev {
	FS_E_MAP = 0,	/* [addr, addr+len) newly mapped (MAP_FIXED: over whatever was there) by owner */
	FS_E_UNMAP,	/* [addr, addr+len) unmapped */
	FS_E_REMAP,	/* mremap: [addr, addr+len) now at [new_addr, new_addr+new_len); owner for grown bytes */
	FS_E_RELEASE,	/* mmap(MAP_FIXED, PROT_NONE) over a range (glibc shrinking a heap): pages given
			 * back, the range keeps its owners; owner only for bytes the ledger did not know */
	FS_E__COUNT,
};

struct fs_map_event {
	__u64 addr;
	__u64 len;		/* as passed: user space rounds to pages */
	__u64 new_addr;		/* FS_E_REMAP: the result */
	__u64 new_len;
	__u32 kind;		/* enum fs_map_ev */
	__u32 owner;		/* enum fs_map */
	__u32 prot;		/* mmap */
	__u32 flags;		/* mmap's or mremap's flags */
};

#define FS_MAP_EVENTS_BYTES (4u << 20)	/* ~75,000 events between two samples */

_Static_assert(sizeof(struct fs_map_event) == 48, "fs_map_event ABI");

/* A new process or a new program image in the traced process (its descendants are
 * followed one tracer each: see user/family.c). */
enum fs_proc_ev {
	FS_PE_FORK = 1,		/* pid: the child, a new process (not a thread) */
	FS_PE_EXEC = 2,		/* pid: the traced process, which runs a new image */
};

struct fs_proc_event {
	__u32 kind;		/* enum fs_proc_ev */
	__u32 pid;
	__u32 ppid;		/* the traced process */
	__s32 held;		/* 0: stopped (SIGSTOP) before its first user instruction, for
				 * user space to attach and continue it; 1: not asked to; <0:
				 * the stop failed (-errno) */
	__u64 ts;		/* bpf_ktime_get_ns() */
};

#define FS_PROC_EVENTS_BYTES (64u << 10)

_Static_assert(sizeof(struct fs_proc_event) == 24, "fs_proc_event ABI");

/* ---- record --trace: every allocator call, in order (issue 15) ----
 * One ring-buffer event per call the probes account (allocations, releases,
 * resizes, malloc_trim; failed ones flagged) and per memory syscall the program
 * makes itself (madvise, munmap). Written with BPF_RB_NO_WAKEUP: user space drains
 * the ring on an interval, and is woken only when it is more than half full. */
enum fs_call_op {
	/* 0 .. FS_K__COUNT-1: an allocator call of that enum fs_kind (func names it) */
	FS_OP_SYS = 32,		/* + enum fs_sys: a memory syscall of the program's own code */
};

enum fs_call_flag {
	FS_CF_FAILED = 1,	/* the call returned NULL / an error */
	FS_CF_OLD_UNKNOWN = 2,	/* realloc: the old block predates the probes (or was untracked) */
};

struct fs_call_event {
	__u64 ts;		/* bpf_ktime_get_ns() when accounted (return of an allocation,
				 * entry of a release, end of a syscall) */
	__u64 ptr;		/* the block returned / released; a syscall's address */
	__u64 size;		/* bytes requested (calloc: n * size; xallocx: the new size);
				 * a syscall's length */
	__u64 arg;		/* realloc: the old block; madvise: the advice; malloc_trim: pad */
	__u32 tid;
	__u8 op;		/* enum fs_kind, or FS_OP_SYS + enum fs_sys */
	__u8 func;		/* index of the probed function in the plan */
	__u8 align_lg;		/* log2 of the alignment asked for; 0 none */
	__u8 flags;		/* enum fs_call_flag */
};

#define FS_CALL_RING_BYTES (16u << 20)	/* default ring: ~350,000 events */

_Static_assert(sizeof(struct fs_call_event) == 40, "fs_call_event ABI");

#endif
