// SPDX-License-Identifier: GPL-2.0
/* fragscope.bpf.c - exact accounting of one process's allocations, in the kernel.
 * Three programs serve every entry point: the probe's cookie names the function
 * and what kind of call it is. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "fragscope.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 target_tgid = 0;
const volatile __u32 flavour = FS_ALLOC_GLIBC;	/* enum fs_alloc_id */
__u64 rel_gen, rel_inflight;	/* releases begun; in flight (RSS windows that may overlap) */
const volatile __u64 sample_period = 0;		/* mean bytes between sampled stacks; 0: off */
/* Lifetimes are timed for 1 block in 2^lifetime_shift, chosen at random, and counted
 * 2^lifetime_shift times: reading the clock costs ~24 ns here, twice a block. */
const volatile __u32 lifetime_shift = 4;

/* Outstanding allocations, never LRU (an eviction would fake a free): a table of
 * buckets, one cache line of FS_BUCKET_SLOTS slots each, claimed with a
 * compare-and-swap; blocks whose bucket is full go to the overflow hash. One cache
 * line touched per allocation and per release, no locks. Sized from --max-live
 * before load. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1 << 20);
	__type(key, __u32);
	__type(value, struct fs_bucket);
} buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 18);
	__type(key, __u64);
	__type(value, struct fs_block);
} allocs SEC(".maps");

const volatile __u32 bucket_bits = 20;	/* log2 of buckets' max_entries */
/* Set by user space before it detaches: calls entered from then on are ignored, so
 * the probes, which go away one link at a time, leave a consistent state (no block
 * allocated unseen and then released as unknown). Calls already entered finish. */
__u32 stopping;

/* Stacks are stored by a hash of their 32 frames, with no second bucket: two stacks
 * that share a bucket lose the second (-EEXIST, counted as a lost stack, for as long
 * as the first holds it). Stacks that differ only in the garbage past their last
 * real frame (no frame pointers) are distinct here, so there are more of them than
 * sites: 32,768 buckets (8 MiB) keep such losses rare. */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 32768);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, FS_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct fs_site_stat);
} sites SEC(".maps");

struct counters { __u64 c[FS_C__COUNT]; };
struct hists { __u64 h[FS_H__COUNT * FS_HIST_BUCKETS]; };

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct counters);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hists);
} hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FS_MAX_FUNCS);
	__type(key, __u32);
	__type(value, struct fs_func_stat);
} funcs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FS_MAX_FUNCS);
	__type(key, __u32);
	__type(value, struct fs_func_info);
} func_infos SEC(".maps");

/* Per-thread state between a call's entry and its return, and the last release
 * (to recognise `operator delete` tail-jumping into `free` with the same pointer). */
struct tstate {
	__u64 sp;		/* stack pointer at the outermost call's entry */
	__u64 size;		/* bytes requested */
	__u64 arg;		/* realloc: old pointer; posix_memalign: where the result goes */
	__u64 extra;		/* xallocx: extra */
	__u64 align;		/* alignment asked for; 0: none */
	__u64 bump0;		/* jemalloc: an aligned request of 0 bytes is sized as 1 */
	struct fs_block old;	/* realloc: the old block, removed at entry */
	__u32 func;
	__u32 kind;
	__u32 active;
	__u32 old_known;
	__u64 free_sp;
	__u64 free_ptr;
	__u32 free_func;
	__u32 free_valid;
	/* the memory syscall in progress */
	__u64 sys_ts;
	__u64 sys_arg[4];
	__s64 sys_rss;		/* anonymous RSS pages at entry, -1 unmeasured */
	__u64 sys_brk;		/* mm->brk at entry */
	__u32 sys;		/* enum fs_sys */
	__u32 sys_active;
	__u32 sys_from_alloc;	/* called from the allocator's code */
	__u32 sys_overlap;	/* another thread's release ran during this one's window */
	__u64 sys_gen;		/* rel_gen when this release began */
	__s64 sample_left;	/* bytes until the next sampled stack */
	__u32 sample_armed;
	__u32 _pad2;
	__u64 rng;		/* xorshift state: which blocks have their lifetime timed */
	/* --mode sampled: the last call counted on this thread (no return is seen for
	 * most calls, so nesting is told by the frame and the caller's address) */
	__u64 sm_sp, sm_ret;	/* its stack pointer and return address at entry */
	__u64 sm_lo, sm_len;	/* its function's body, run-time addresses */
	__u64 sm_lo2, sm_len2, sm_lo3, sm_len3;	/* the last two functions nested calls went through */
	__u32 sm_chain;		/* the last function the call went through (tail jumps chain) */
	__u32 sm_pad;
	__u32 sm_func;
	__u32 sm_sampled;	/* the call in progress was sampled: its return records the block */
	__u64 sm_rng;		/* --sample-seed: the thread's xorshift state (0: not seeded yet) */
	__u64 sm_gen;		/* win_gen when the call in progress was armed */
	struct fs_sampled sm_old;	/* realloc of a sampled block: taken at entry */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tstate);
} tstates SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fs_kstats);
} kstats SEC(".maps");

/* The last releases, to recognise pages faulted back in soon after (churn). */
#define NRELEASES 32
struct release { __u64 start, end, ts, src; };	/* src: enum fs_src, who released */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NRELEASES);
	__type(key, __u32);
	__type(value, struct release);
} releases SEC(".maps");
__u32 release_next;

/* The address ledger's events (struct fs_map_event); user space drains them at each
 * sample, so they never wake it. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, FS_MAP_EVENTS_BYTES);
} map_events SEC(".maps");
__u64 map_events_lost;	/* events that found the ring full: the ledger is approximate */

/* New processes and images of the traced process (struct fs_proc_event). Each one
 * wakes user space: when following, the process waits, stopped, until its tracer
 * is attached. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, FS_PROC_EVENTS_BYTES);
} proc_events SEC(".maps");
const volatile __u32 follow = 0;	/* stop new children and new images for user space */
const volatile __u32 exec_skip = 0;	/* execs expected (a command's own first exec) */
/* --mode light: no allocator probe; the allocator's code range (alloc_text_*) is set
 * by user space, and a memory syscall made from it counts as the allocator's */
const volatile __u32 light = 0;
/* --mode sampled: most calls have no return probe, so "inside an allocator call" is
 * told as in light mode, by the caller's code (the range is learnt at the first call) */
const volatile __u32 sampled_mode = 0;
__u32 execs_seen;
__u64 nforks, nexecs, proc_events_lost;

/* The allocator's code, learnt at its first probed call: tells its releases from
 * the program's own madvise/munmap calls. */
__u64 alloc_bias;
__u64 alloc_text_lo, alloc_text_hi;

static const __u32 zero = 0;

/* Per-CPU slots: the uprobe programs update them with plain adds between
 * bpf_preempt_disable() and bpf_preempt_enable() (a uprobe program may otherwise be
 * preempted by another thread's on the same CPU, and a lost increment would be a
 * silent miscount); the tracepoint programs, rare, with atomic adds (AADD). Built
 * with FS_ATOMIC_ADDS (kernels before 6.10, which lack those kfuncs), every add is
 * atomic and nothing disables preemption. */
#define AADD(p, v) __sync_fetch_and_add(&(p), (v))
#ifdef FS_ATOMIC_ADDS
#define ADD(p, v) AADD(p, v)
#define preempt_off()
#define preempt_on()
#else
#define ADD(p, v) ((p) += (v))
extern void bpf_preempt_disable(void) __ksym;
extern void bpf_preempt_enable(void) __ksym;
#define preempt_off() bpf_preempt_disable()
#define preempt_on() bpf_preempt_enable()
#endif

static __always_inline __u32 bucket(__u64 v)
{
	__u32 r = v ? fs_lg_floor(v) + 1 : 0;

	return r < FS_HIST_BUCKETS ? r : FS_HIST_BUCKETS - 1;
}

static __always_inline void hist_add(struct hists *h, __u32 which, __u64 v, __s64 n)
{
	__u32 i = which * FS_HIST_BUCKETS + bucket(v);

	if (i < FS_H__COUNT * FS_HIST_BUCKETS)
		ADD(h->h[i], (__u64)n);
}

static __always_inline int ours(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

static __always_inline struct fs_bucket *bucket_of(__u64 ptr)
{
	__u32 i = FS_BUCKET_INDEX(ptr, bucket_bits);

	return bpf_map_lookup_elem(&buckets, &i);
}

static __always_inline void slot_get(const struct fs_slot *sl, struct fs_block *out)
{
	__u64 v = sl->size;

	out->size = FS_SLOT_SIZE(v);
	out->usable = out->size + FS_SLOT_SLACK(v);
	out->ts_ns = sl->ts_ns;
	out->stackid = sl->stackid;
	out->_pad = 0;
}

/* Only for a block that FS_SLOT_FITS. */
static __always_inline void slot_set(struct fs_slot *sl, const struct fs_block *b)
{
	sl->size = FS_SLOT_PACK(b->size, b->usable);
	sl->ts_ns = b->ts_ns;
	sl->stackid = b->stackid;
}

/* Starts loading ptr's bucket, the one likely cache miss of a call, so that it
 * overlaps the program's other work instead of following it. */
static __always_inline void touch_bucket(__u64 ptr)
{
	struct fs_bucket *bk = bucket_of(ptr);

	if (bk) {
		__u64 v = bk->s[0].ptr;

		asm volatile("" : : "r"(v));
	}
}

/* Removes a tracked block; 1 if it was ours to remove. The caller owns ptr (it is
 * being released), so no other thread touches its slot meanwhile. */
static __always_inline int take_block(__u64 ptr, struct fs_block *out)
{
	struct fs_bucket *bk = bucket_of(ptr);
	struct fs_block *b;

	if (!bk)
		return 0;
#pragma unroll
	for (int i = 0; i < FS_BUCKET_SLOTS; i++)
		if (bk->s[i].ptr == ptr) {
			slot_get(&bk->s[i], out);
			barrier();
			bk->s[i].ptr = 0;
			return 1;
		}
	if (!bk->s[0].ovf)
		return 0;
	b = bpf_map_lookup_elem(&allocs, &ptr);
	if (!b)
		return 0;
	*out = *b;
	if (bpf_map_delete_elem(&allocs, &ptr))
		return 0;
	__sync_fetch_and_add(&bk->s[0].ovf, -1);
	return 1;
}

static __always_inline __u64 sample_weight(__u64 size)
{
	return size > sample_period ? size : sample_period;
}

static __always_inline void site_release(struct fs_block *b)
{
	struct fs_site_stat *st;
	__u32 id;

	if (b->stackid < 0)
		return;
	id = (__u32)b->stackid;
	st = bpf_map_lookup_elem(&sites, &id);
	if (st) {
		AADD(st->live_samples, -1);
		AADD(st->live_bytes, -(__s64)sample_weight(b->size));
	}
}

static __always_inline void retire_stale(struct counters *c, struct fs_block *old)
{
	ADD(c->c[FS_C_STALE], 1);
	ADD(c->c[FS_C_STALE_BYTES], old->size);
	ADD(c->c[FS_C_TRACKED_FREE_USABLE], old->usable);
	site_release(old);
}

/* Records a block: 0, or an error when neither its bucket nor the overflow has
 * room. If ptr is still recorded, its release went by unseen: the old entry is
 * counted as stale and replaced, unless c is NULL (putting back a realloc's old
 * block, which must not overwrite a newer block at the same address: -EEXIST). */
static __always_inline long put_block(__u64 ptr, const struct fs_block *nb, struct counters *c)
{
	struct fs_bucket *bk = bucket_of(ptr);
	struct fs_block *old, ob;
	int fits = FS_SLOT_FITS(nb->size, nb->usable);
	long err;

	if (!bk)
		return -1;
#pragma unroll
	for (int i = 0; i < FS_BUCKET_SLOTS; i++)
		if (bk->s[i].ptr == ptr) {
			if (!c)
				return -17;
			slot_get(&bk->s[i], &ob);
			retire_stale(c, &ob);
			if (!fits) {	/* the new block goes to the hash */
				bk->s[i].ptr = 0;
				goto overflow;
			}
			slot_set(&bk->s[i], nb);
			return 0;
		}
	if (bk->s[0].ovf) {
		old = bpf_map_lookup_elem(&allocs, &ptr);
		if (old) {
			if (!c)
				return -17;
			retire_stale(c, old);
			*old = *nb;
			return 0;
		}
	}
	if (fits) {
#pragma unroll
		for (int i = 0; i < FS_BUCKET_SLOTS; i++)
			if (!bk->s[i].ptr && __sync_val_compare_and_swap(&bk->s[i].ptr, 0, FS_SLOT_BUSY) == 0) {
				slot_set(&bk->s[i], nb);
				barrier();
				bk->s[i].ptr = ptr;
				return 0;
			}
	}
overflow:
	/* counted first: a release on another thread must know to look */
	__sync_fetch_and_add(&bk->s[0].ovf, 1);
	err = bpf_map_update_elem(&allocs, &ptr, nb, BPF_NOEXIST);
	if (err)
		__sync_fetch_and_add(&bk->s[0].ovf, -1);
	return err;
}

/* Byte-based sampling: a thread's countdown of bytes, re-armed at random in
 * [period/2, 3*period/2), so every byte has about the same chance to be sampled. */
static __always_inline __s32 maybe_sample(void *ctx, struct tstate *t, struct counters *c, __u64 size)
{
	struct fs_site_stat *st, zero_site = {};
	__u64 w = sample_weight(size);
	long id;
	__u32 key;

	if (!sample_period || !t)
		return -1;
	if (!t->sample_armed) {	/* a new thread: its first bytes are no likelier than others */
		t->sample_armed = 1;
		t->sample_left = (__s64)(bpf_get_prandom_u32() % sample_period) + 1;
	}
	t->sample_left -= (__s64)size;
	if (t->sample_left > 0)
		return -1;
	t->sample_left = (__s64)(sample_period / 2 + bpf_get_prandom_u32() % sample_period);
	id = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	if (id < 0) {
		ADD(c->c[FS_C_STACKS_LOST], 1);
		return -1;
	}
	key = (__u32)id;
	st = bpf_map_lookup_elem(&sites, &key);
	if (!st) {
		bpf_map_update_elem(&sites, &key, &zero_site, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&sites, &key);
		if (!st) {
			ADD(c->c[FS_C_STACKS_LOST], 1);
			return -1;
		}
	}
	ADD(c->c[FS_C_SAMPLES], 1);
	AADD(st->samples, 1);
	AADD(st->bytes, w);
	AADD(st->live_samples, 1);
	AADD(st->live_bytes, (__s64)w);
	return (__s32)id;
}

/* The allocation time to record: the clock for a sampled block, else 0 (untimed). */
static __always_inline __u64 alloc_ts(struct tstate *t)
{
	__u64 x = t->rng;

	if (!lifetime_shift)
		return bpf_ktime_get_ns();
	if (!x)	/* a new thread */
		x = ((__u64)bpf_get_prandom_u32() << 32) | bpf_get_prandom_u32() | 1;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	t->rng = x;
	return x >> (64 - lifetime_shift) ? 0 : bpf_ktime_get_ns();
}

static __always_inline void account_release(struct counters *c, struct hists *h,
					    struct fs_func_stat *fs, struct fs_block *b)
{
	ADD(c->c[FS_C_TRACKED_FREES], 1);
	ADD(c->c[FS_C_TRACKED_FREE_BYTES], b->size);
	ADD(c->c[FS_C_TRACKED_FREE_USABLE], b->usable);
	site_release(b);
	if (fs)
		ADD(fs->bytes, b->size);
	if (h && b->ts_ns)
		hist_add(h, FS_H_LIFETIME_NS, bpf_ktime_get_ns() - b->ts_ns, 1LL << lifetime_shift);
}

static __always_inline void account_alloc(struct counters *c, struct hists *h, __u64 ptr,
					  __u64 size, __u64 usable, __u64 now, __s32 stackid)
{
	struct fs_block b = { .size = size, .ts_ns = now, .stackid = stackid, .usable = usable };
	long err;

	if (h)
		hist_add(h, FS_H_ALLOC_SIZE, size, 1);

	err = put_block(ptr, &b, c);
	if (err) {
		ADD(c->c[FS_C_UNTRACKED], 1);
		ADD(c->c[FS_C_UNTRACKED_BYTES], size);
		site_release(&b);	/* it will never be released through the map */
		return;
	}
	ADD(c->c[FS_C_TRACKED_ALLOCS], 1);
	ADD(c->c[FS_C_TRACKED_BYTES], size);
	ADD(c->c[FS_C_TRACKED_USABLE], usable);
}

/* glibc: the size of the chunk holding user pointer p, from its header (unknown
 * blocks only: the only user-memory read on a release path). */
static __always_inline __u64 glibc_chunk_size(__u64 p)
{
	__u64 hdr = 0;

	if (flavour != FS_ALLOC_GLIBC || bpf_probe_read_user(&hdr, sizeof(hdr), (void *)(p - 8)))
		return 0;
	return hdr & ~7ULL;
}

/* The usable size of a new block (what malloc_usable_size reports): glibc's from
 * the chunk header, since no request size predicts it (a chunk taken whole from a
 * bin can be 16 bytes larger than the request needs; mmapped chunks; aligned and
 * realloc'ed chunks); jemalloc's from its size classes, exact by construction.
 * size + 2^63 when unknown (header unreadable, or another allocator). */
#define USABLE_UNKNOWN (1ULL << 63)
static __always_inline __u64 usable_of(struct tstate *t, __u64 ptr, __u64 size)
{
	__u64 hdr = 0, u;

	if (flavour == FS_ALLOC_JEMALLOC) {
		u = t->align ? fs_je_sa2u(size ? size : t->bump0, t->align) : fs_je_s2u(size);
		return u >= size ? u : size | USABLE_UNKNOWN;
	}
	if (flavour != FS_ALLOC_GLIBC || bpf_probe_read_user(&hdr, sizeof(hdr), (void *)(ptr - 8)))
		return size | USABLE_UNKNOWN;
	/* chunk size - 8 in use; an mmapped chunk (bit 1) has no next chunk to lend it
	 * the next chunk's prev_size field: - 16 */
	u = (hdr & ~7ULL) - (hdr & 2 ? 16 : 8);
	return u >= size && u - size < (1ULL << 40) ? u : size | USABLE_UNKNOWN;
}

/* A hit inside another probed call of this thread (deeper stack, or a tail jump
 * from a different function at the same stack pointer) is not a call of its own. */
static __always_inline int nested_in_call(struct tstate *t, __u64 sp, __u32 func)
{
	return t->active && (sp < t->sp || (sp == t->sp && func != t->func));
}

static __always_inline __u64 mul_or_max(__u64 a, __u64 b)
{
	__u64 lim;

	if (!a)
		return 0;
	lim = ~0ULL / a;
	asm volatile("" : "+r"(lim));	/* keep clang from turning this into a 128-bit multiply */
	if (b > lim)
		return ~0ULL;	/* overflows: the call fails, the size is never recorded */
	return a * b;
}

/* The allocator's code, from its first probed call (tells its memory syscalls from
 * the program's). */
static __always_inline void learn_alloc_text(struct pt_regs *ctx, __u32 func)
{
	if (!alloc_text_hi) {
		struct fs_func_info *fi = bpf_map_lookup_elem(&func_infos, &func);

		if (fi && fi->text_hi) {
			alloc_bias = PT_REGS_IP(ctx) - fi->probe_vaddr;
			alloc_text_lo = fi->text_lo;
			alloc_text_hi = fi->text_hi;
		}
	}
}

static __always_inline void count_trim(__u64 ret)
{
	struct fs_kstats *ks = bpf_map_lookup_elem(&kstats, &zero);

	if (ks) {
		AADD(ks->trim_calls, 1);
		if ((int)ret == 1)
			AADD(ks->trim_released, 1);
	}
}

/* record --trace's hooks, defined in its section at the end of this file */
static __always_inline void trace_emit(__u32 op, __u32 func, __u64 ptr, __u64 size, __u64 arg, __u64 align,
				       __u32 flags);
static __always_inline void trace_alloc(struct tstate *t, __u32 func, __u64 ptr, __u32 flags);
static __always_inline void trace_enter_align(struct pt_regs *ctx, struct tstate *t, __u32 kind, __u64 cookie);
static __always_inline void trace_sys(struct tstate *t, __u32 sys, int failed);

static __always_inline void alloc_enter_body(struct pt_regs *ctx)
{
	__u64 cookie, sp = PT_REGS_SP(ctx);
	struct counters *c;
	struct tstate *t;
	__u32 func, kind;

	cookie = bpf_get_attach_cookie(ctx);
	func = FS_COOKIE_FUNC(cookie);
	kind = FS_COOKIE_KIND(cookie);
	t = bpf_task_storage_get(&tstates, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	c = bpf_map_lookup_elem(&counters, &zero);
	if (!t || !c)
		return;
	learn_alloc_text(ctx, func);
	if (t->active) {
		if (nested_in_call(t, sp, func)) {
			ADD(c->c[FS_C_NESTED], 1);
			return;
		}
		/* The previous outermost call never returned through its probe. */
		ADD(c->c[FS_C_UNMATCHED], 1);
		if (t->old_known && put_block(t->arg, &t->old, 0))	/* a realloc's old block: put it back */
			retire_stale(c, &t->old);	/* no room, or its address is already reused */
	}
	t->active = 1;
	t->sp = sp;
	t->func = func;
	t->kind = kind;
	t->old_known = 0;
	t->arg = 0;
	t->align = 0;
	t->bump0 = 0;
	if (flavour == FS_ALLOC_JEMALLOC) {	/* glibc's usable size comes from the chunk header */
		switch (FS_COOKIE_ALIGN(cookie)) {
		case FS_AL_ARG2: t->align = PT_REGS_PARM2(ctx); t->bump0 = 1; break;
		case FS_AL_BUMP0: t->bump0 = 1; break;
		case FS_AL_PAGE: t->align = 4096; break;
		/* MALLOCX_LG_ALIGN(la) is la in the low 6 bits; 0 asks for none */
		case FS_AL_FLAGS2: t->align = (1ULL << (PT_REGS_PARM2(ctx) & 63)) & ~1ULL; break;
		case FS_AL_FLAGS3: t->align = (1ULL << (PT_REGS_PARM3(ctx) & 63)) & ~1ULL; break;
		}
		if (kind == FS_K_MEMALIGN)
			t->align = PT_REGS_PARM1(ctx);
		else if (kind == FS_K_POSIX_MEMALIGN) {
			t->align = PT_REGS_PARM2(ctx);
			t->bump0 = 1;
		}
	}
	trace_enter_align(ctx, t, kind, cookie);
	switch (kind) {
	case FS_K_MALLOC:
		t->size = PT_REGS_PARM1(ctx);
		break;
	case FS_K_CALLOC:
		t->size = mul_or_max(PT_REGS_PARM1(ctx), PT_REGS_PARM2(ctx));
		break;
	case FS_K_MEMALIGN:
		t->size = PT_REGS_PARM2(ctx);
		break;
	case FS_K_POSIX_MEMALIGN:
		t->arg = PT_REGS_PARM1(ctx);
		t->size = PT_REGS_PARM3(ctx);
		break;
	case FS_K_REALLOC:
	case FS_K_REALLOCARRAY:
		t->arg = PT_REGS_PARM1(ctx);
		t->size = kind == FS_K_REALLOC ? PT_REGS_PARM2(ctx)
					       : mul_or_max(PT_REGS_PARM2(ctx), PT_REGS_PARM3(ctx));
		/* Removed now, before the allocator can hand the address to another thread. */
		if (t->arg) {
			t->old_known = take_block(t->arg, &t->old);
			if (!t->old_known)	/* before realloc changes it */
				t->extra = glibc_chunk_size(t->arg);
		}
		break;
	case FS_K_XALLOCX:
		t->arg = PT_REGS_PARM1(ctx);
		t->size = PT_REGS_PARM2(ctx);
		t->extra = PT_REGS_PARM3(ctx);
		break;
	}
	return;
}

SEC("uprobe")
int BPF_KPROBE(alloc_enter)
{
	if (!ours() || stopping)
		return 0;
	/* Per-CPU counters take plain adds: nothing else runs on this CPU meanwhile. */
	preempt_off();
	alloc_enter_body(ctx);
	preempt_on();
	return 0;
}

static __always_inline void alloc_exit_body(struct pt_regs *ctx)
{
	__u64 cookie, ret, ptr, usable, sp = PT_REGS_SP(ctx);
	struct fs_func_stat *fs;
	struct counters *c;
	struct hists *h;
	struct tstate *t;
	__u32 func;

	touch_bucket(PT_REGS_RC(ctx));
	cookie = bpf_get_attach_cookie(ctx);
	func = FS_COOKIE_FUNC(cookie);
	t = bpf_task_storage_get(&tstates, bpf_get_current_task_btf(), 0, 0);
	/* Only the return of the call the entry recorded: ret pops 8 bytes. */
	if (!t || !t->active || t->func != func || sp != t->sp + 8)
		return;
	t->active = 0;
	t->free_valid = 0;	/* any earlier release on this thread is complete */
	c = bpf_map_lookup_elem(&counters, &zero);
	h = bpf_map_lookup_elem(&hists, &zero);
	fs = bpf_map_lookup_elem(&funcs, &func);
	if (!c || !fs)
		return;
	ret = PT_REGS_RC(ctx);
	ptr = ret;
	ADD(fs->calls, 1);

	switch (t->kind) {
	case FS_K_TRIM:
		count_trim(ret);
		trace_emit(FS_K_TRIM, func, 0, 0, (int)ret, 0, 0);
		return;
	case FS_K_POSIX_MEMALIGN:
		ptr = 0;
		if ((int)ret == 0 && bpf_probe_read_user(&ptr, sizeof(ptr), (void *)t->arg))
			ptr = 0;
		break;
	case FS_K_XALLOCX: {
		struct fs_block b;
		__u64 want = t->size + t->extra, nsz;

		/* Returns the usable size; the block grew or shrank in place if it covers size. */
		if (ret < t->size || !t->arg || !take_block(t->arg, &b))
			return;
		/* Taken out and put back (rare: jemalloc's xallocx only), since the new
		 * figures may not fit a slot. The caller owns the block meanwhile. */
		nsz = ret < want ? ret : want;
		if (nsz != b.size) {
			ADD(c->c[FS_C_RESIZE_IN_PLACE], 1);
			if (nsz > b.size)
				ADD(c->c[FS_C_RESIZE_GROW_BYTES], nsz - b.size);
			else
				ADD(c->c[FS_C_RESIZE_SHRINK_BYTES], b.size - nsz);
			b.size = nsz;
		}
		if (ret > b.usable)
			ADD(c->c[FS_C_TRACKED_USABLE], ret - b.usable);
		else
			ADD(c->c[FS_C_TRACKED_FREE_USABLE], b.usable - ret);
		b.usable = ret;
		trace_emit(FS_K_XALLOCX, func, t->arg, b.size, t->arg, 0, 0);
		if (put_block(t->arg, &b, 0))
			retire_stale(c, &b);	/* no room left: no longer tracked, and counted */
		return;
	}
	case FS_K_REALLOC:
	case FS_K_REALLOCARRAY:
		if (t->arg) {
			if (!ptr && t->size) {
				/* Failed: the old block is untouched. */
				ADD(c->c[FS_C_FAILED], 1);
				ADD(fs->failed, 1);
				trace_alloc(t, func, 0, FS_CF_FAILED);
				if (t->old_known && put_block(t->arg, &t->old, 0))
					retire_stale(c, &t->old);
				return;
			}
			if (t->old_known) {
				account_release(c, h, 0, &t->old);
			} else {
				ADD(c->c[FS_C_FREES_UNKNOWN], 1);
				ADD(c->c[FS_C_FREES_UNKNOWN_CHUNK_BYTES], t->extra);
			}
			if (!ptr)	/* realloc(p, 0) freed p */
				trace_alloc(t, func, 0, 0);
			if (!ptr)
				return;
		}
		break;
	}
	if (!ptr) {
		ADD(c->c[FS_C_FAILED], 1);
		ADD(fs->failed, 1);
		trace_alloc(t, func, 0, FS_CF_FAILED);
		return;
	}
	ADD(fs->bytes, t->size);
	usable = usable_of(t, ptr, t->size);
	if (usable & USABLE_UNKNOWN) {
		ADD(c->c[FS_C_USABLE_UNKNOWN], 1);
		usable = t->size;
	}
	account_alloc(c, h, ptr, t->size, usable, alloc_ts(t), maybe_sample(ctx, t, c, t->size));
	trace_alloc(t, func, ptr, 0);
	return;
}

SEC("uretprobe")
int BPF_KRETPROBE(alloc_exit)
{
	if (!ours())
		return 0;
	/* Per-CPU counters take plain adds: nothing else runs on this CPU meanwhile. */
	preempt_off();
	alloc_exit_body(ctx);
	preempt_on();
	return 0;
}

/* Only for releases of unknown blocks: is this the allocator's own internal call
 * (a direct call site found in its code), not a release by the program? */
/* The same, given the return address (sampled mode has read it already). */
static __always_inline int internal_return(struct pt_regs *ctx, struct fs_func_info *fi, __u64 ret)
{
	__u64 at = ret - (PT_REGS_IP(ctx) - fi->probe_vaddr);	/* runtime -> object address */

	for (int i = 0; i < FS_INTERNAL_CALLERS; i++)
		if (fi->internal_ret[i] && at == fi->internal_ret[i])
			return 1;
	return 0;
}

static __always_inline int called_from_allocator(struct pt_regs *ctx, __u32 func, __u64 sp)
{
	struct fs_func_info *fi = bpf_map_lookup_elem(&func_infos, &func);
	__u64 ret = 0;

	if (!fi || !fi->internal_ret[0] || bpf_probe_read_user(&ret, sizeof(ret), (void *)sp))
		return 0;
	return internal_return(ctx, fi, ret);
}

static __always_inline void free_enter_body(struct pt_regs *ctx)
{
	__u64 cookie, ptr, sp = PT_REGS_SP(ctx);
	struct fs_func_stat *fs;
	struct fs_block b;
	struct counters *c;
	struct tstate *t;
	__u32 func;

	ptr = PT_REGS_PARM1(ctx);
	touch_bucket(ptr);
	cookie = bpf_get_attach_cookie(ctx);
	func = FS_COOKIE_FUNC(cookie);
	t = bpf_task_storage_get(&tstates, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	c = bpf_map_lookup_elem(&counters, &zero);
	fs = bpf_map_lookup_elem(&funcs, &func);
	if (!t || !c || !fs)
		return;
	if (nested_in_call(t, sp, func)) {	/* e.g. realloc(p, 0) calling free */
		ADD(c->c[FS_C_NESTED], 1);
		return;
	}
	if (ptr && take_block(ptr, &b)) {
		ADD(fs->calls, 1);
		account_release(c, bpf_map_lookup_elem(&hists, &zero), fs, &b);
	} else if (t->free_valid && t->free_ptr == ptr && sp <= t->free_sp && t->free_func != func) {
		/* operator delete(p) jumping to free(p): one release, already counted. */
		ADD(c->c[FS_C_NESTED], 1);
		return;
	} else if (ptr && called_from_allocator(ctx, func, sp)) {
		ADD(c->c[FS_C_FREES_INTERNAL], 1);
		return;
	} else {
		ADD(fs->calls, 1);
		if (ptr) {
			ADD(c->c[FS_C_FREES_UNKNOWN], 1);
			ADD(c->c[FS_C_FREES_UNKNOWN_CHUNK_BYTES], glibc_chunk_size(ptr));
		} else {
			ADD(c->c[FS_C_FREE_NULL], 1);
		}
	}
	if (ptr)
		trace_emit(FS_K_FREE, func, ptr, 0, 0, 0, 0);
	t->free_valid = 1;
	t->free_ptr = ptr;
	t->free_sp = sp;
	t->free_func = func;
	return;
}

SEC("uprobe")
int BPF_KPROBE(free_enter)
{
	if (!ours() || stopping)
		return 0;
	/* Per-CPU counters take plain adds: nothing else runs on this CPU meanwhile. */
	preempt_off();
	free_enter_body(ctx);
	preempt_on();
	return 0;
}

/* ---- --mode sampled: uprobe sessions (Linux 6.13+) ----
 * Every allocating function has one session program: its entry counts the call
 * (per-CPU, exact) and decides whether the block is sampled, by a per-thread
 * countdown of bytes drawn from an exponential of mean sample_period, so a block of
 * size s is sampled with probability 1 - e^(-s/T) whatever came before it. It
 * returns 1 (no return half) for calls neither sampled nor touching a sampled
 * block: they cost one trap. The return half records a sampled block in `sampled`
 * with its weight w = s / P(sampled). Releases are plain entry probes that count
 * the call and look the pointer up in `sampled` (a miss costs ~16 ns). Nesting is
 * told without returns: a call from inside the last counted call's function, or a
 * tail jump from it (same frame, same return address), is not a call of its own. */
extern bool bpf_session_is_return(void) __ksym __weak;

const volatile __u32 exp_q[FS_EXP_STEPS];		/* see fragscope.h */
const volatile __u64 sample_seed = 0;	/* non-zero: reproducible intervals (every thread from it) */
/* --window: bumped by user space each time it closes the session links, so a call
 * armed before (whose return half will never run) is not taken as still running */
__u64 win_gen;
__u32 win_open = 1;	/* --window: the session links are attached now */
const volatile __u32 wtab[FS_WTAB_STEPS + 1];

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct fs_sampled);
} sampled SEC(".maps");

/* Bytes until the next sampled block: 0 when every block is sampled (period <= 1). */
static __always_inline __s64 sm_interval(struct tstate *t)
{
	__u32 r;

	if (sample_period <= 1)
		return 0;
	if (sample_seed) {
		__u64 x = t->sm_rng ? t->sm_rng : sample_seed;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		t->sm_rng = x;
		r = (__u32)(x >> 32) & (FS_EXP_STEPS - 1);
	} else {
		r = bpf_get_prandom_u32() & (FS_EXP_STEPS - 1);
	}
	return (__s64)((sample_period * exp_q[r]) >> 16);
}

/* A sampled block's weight: size / (1 - e^(-size/T)) = T * f(size/T). */
static __always_inline __u64 sm_weight(__u64 size)
{
	__u64 x, i, fr, f0, f1;

	if (sample_period <= 1 || size >= sample_period * FS_WTAB_SCALE)
		return size;	/* certain, or nearly (e^-16) */
	x = (size << 16) / sample_period;	/* size / T in 1/65536 */
	i = x >> 12;				/* 1/16 steps */
	fr = x & 4095;
	if (i >= FS_WTAB_STEPS)
		return size;
	f0 = wtab[i];
	f1 = wtab[i + 1];
	return (sample_period * (f0 + (((f1 - f0) * fr) >> 12))) >> 16;
}

static __always_inline void sm_count(struct counters *c, const struct fs_sampled *b, int sign)
{
	__u64 var = b->w * (b->w - b->size), q = b->size ? (b->w << 16) / b->size : 0;
	struct fs_site_stat *st;
	__u32 id;

	ADD(c->c[FS_C_SM_LIVE_N], sign > 0 ? 1 : -1);
	ADD(c->c[FS_C_SM_LIVE_SIZE], sign > 0 ? b->size : -b->size);
	ADD(c->c[FS_C_SM_LIVE_W], sign > 0 ? b->w : -b->w);
	ADD(c->c[FS_C_SM_LIVE_VAR], sign > 0 ? var : -var);
	ADD(c->c[FS_C_SM_LIVE_BLOCKS_Q16], sign > 0 ? q : -q);
	if (b->stackid < 0)
		return;
	id = (__u32)b->stackid;
	st = bpf_map_lookup_elem(&sites, &id);
	if (!st)
		return;
	if (sign > 0) {
		AADD(st->samples, 1);
		AADD(st->bytes, b->w);
	}
	AADD(st->live_samples, sign > 0 ? 1 : -1);
	AADD(st->live_bytes, sign > 0 ? (__s64)b->w : -(__s64)b->w);
	AADD(st->live_var, sign > 0 ? (__s64)var : -(__s64)var);
}

/* Where return probes send returns in this process (its uprobes area's first
 * slot), 0 before any. */
__u64 tramp_addr;	/* learnt once: the area never moves while the process lives */

static __always_inline __u64 uretprobe_tramp(void)
{
	struct task_struct *task;
	struct xol_area *xa;

	if (tramp_addr)
		return tramp_addr;
	task = bpf_get_current_task_btf();
	xa = BPF_CORE_READ(task, mm, uprobes_state.xol_area);
	if (xa)
		tramp_addr = BPF_CORE_READ(xa, vaddr);
	return tramp_addr;
}

/* Whether function `from` may end by jumping into `to` (plan/resolve's scan). */
static __always_inline int tails_to(__u32 from, __u32 to)
{
	struct fs_func_info *fi = bpf_map_lookup_elem(&func_infos, &from);

	return fi && (fi->tail_to >> (to & 63)) & 1;
}

/* Whether this entry is part of the last counted call on the thread (else it
 * becomes that call). The return address is at [sp]: probes sit before any
 * instruction that moves rsp (plan/insn). */
static __always_inline int sm_nested(struct pt_regs *ctx, struct tstate *t, __u32 func, __u64 sp,
				     __u64 *retp)
{
	struct fs_func_info *fi;
	__u64 ret = 0;

	/* a call whose return half is armed and has not returned: inside it, or its frame */
	if (t->active && t->sm_gen != win_gen)
		t->active = 0;	/* armed before its link went away: no return will come */
	if (t->active) {
		if (sp <= t->sm_sp)
			return 1;
		t->active = 0;	/* it left without returning (longjmp) */
	}
	if (bpf_probe_read_user(&ret, sizeof(ret), (void *)sp))
		ret = 0;
	*retp = ret;
	fi = bpf_map_lookup_elem(&func_infos, &func);
	if ((sp == t->sm_sp && (ret == t->sm_ret || ret == uretprobe_tramp()) && tails_to(t->sm_chain, func)) ||
	    ret - t->sm_lo < t->sm_len || ret - t->sm_lo2 < t->sm_len2 || ret - t->sm_lo3 < t->sm_len3) {
		/* A tail jump from the call: the same frame and return address (or the
		 * return-probe trampoline, when another tool's return probe took it), and
		 * a jump into this function found in the last one's code (plan/resolve:
		 * operator delete -> free, realloc(NULL, n) -> malloc, mimalloc's memalign
		 * -> mi_memalign@plt); or a call from inside its function or one of the
		 * last two it went through (realloc(p, 0) -> free; chains such as
		 * reallocarray -> reallocn -> realloc -> free). The functions passed
		 * through are kept, for the next link of a chain. */
		t->sm_chain = func;
		t->sm_lo2 = t->sm_lo3;
		t->sm_len2 = t->sm_len3;
		t->sm_lo3 = fi && fi->func_len ? PT_REGS_IP(ctx) - fi->probe_vaddr + fi->func_lo : 0;
		t->sm_len3 = fi ? fi->func_len : 0;
		return 1;
	}
	t->sm_sp = sp;
	t->sm_ret = ret;
	t->sm_func = func;
	t->sm_chain = func;
	t->sm_lo = 0;
	t->sm_len = 0;
	t->sm_lo2 = t->sm_len2 = t->sm_lo3 = t->sm_len3 = 0;
	if (fi && fi->func_len) {
		t->sm_lo = PT_REGS_IP(ctx) - fi->probe_vaddr + fi->func_lo;
		t->sm_len = fi->func_len;
	}
	return 0;
}

/* 1: run the return half. */
static __always_inline int sm_enter(struct pt_regs *ctx)
{
	__u64 cookie, sp = PT_REGS_SP(ctx), size = 0, arg = 0, ret;
	struct fs_func_stat *fs;
	struct fs_sampled *old;
	struct counters *c;
	struct tstate *t;
	__u32 func, kind;
	int sample = 0;

	cookie = bpf_get_attach_cookie(ctx);
	func = FS_COOKIE_FUNC(cookie);
	kind = FS_COOKIE_KIND(cookie);
	t = bpf_task_storage_get(&tstates, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	c = bpf_map_lookup_elem(&counters, &zero);
	fs = bpf_map_lookup_elem(&funcs, &func);
	if (!t || !c || !fs)
		return 0;
	learn_alloc_text(ctx, func);
	if (sm_nested(ctx, t, func, sp, &ret)) {
		ADD(c->c[FS_C_NESTED], 1);
		return 0;
	}
	switch (kind) {
	case FS_K_MALLOC: size = PT_REGS_PARM1(ctx); break;
	case FS_K_CALLOC: size = mul_or_max(PT_REGS_PARM1(ctx), PT_REGS_PARM2(ctx)); break;
	case FS_K_MEMALIGN: size = PT_REGS_PARM2(ctx); break;
	case FS_K_POSIX_MEMALIGN: arg = PT_REGS_PARM1(ctx); size = PT_REGS_PARM3(ctx); break;
	case FS_K_REALLOC: arg = PT_REGS_PARM1(ctx); size = PT_REGS_PARM2(ctx); break;
	case FS_K_REALLOCARRAY: arg = PT_REGS_PARM1(ctx); size = mul_or_max(PT_REGS_PARM2(ctx), PT_REGS_PARM3(ctx)); break;
	}
	ADD(fs->calls, 1);
	t->sm_sampled = 0;
	t->old_known = 0;
	if (kind == FS_K_XALLOCX)	/* resizes in place: no new block, a sampled one keeps its size */
		return 0;
	if (kind == FS_K_TRIM)
		goto arm;
	if (kind == FS_K_REALLOC || kind == FS_K_REALLOCARRAY) {
		if (arg) {
			ADD(c->c[FS_C_SM_FREES], 1);
			old = bpf_map_lookup_elem(&sampled, &arg);
			/* taken now, before the allocator can hand the address to another thread */
			if (old) {
				t->sm_old = *old;
				if (!bpf_map_delete_elem(&sampled, &arg))
					t->old_known = 1;
			}
			if (!size)	/* realloc(p, 0) frees p */
				goto done;
		}
	}
	ADD(c->c[FS_C_SM_ALLOCS], 1);
	ADD(c->c[FS_C_SM_ALLOC_BYTES], size);
	ADD(fs->bytes, size);
	if (!t->sample_armed) {	/* a new thread: a fresh interval, as any other */
		t->sample_armed = 1;
		t->sample_left = sm_interval(t);
	}
	if (size >= sample_period * FS_WTAB_SCALE && sample_period > 1) {
		/* sampled with certainty (its weight is its size; the interval runs on over
		 * the other bytes, memoryless): big requests, the ones that fail, are always
		 * seen to the end */
		sample = 1;
	} else if (size) {
		t->sample_left -= (__s64)size;
		if (t->sample_left <= 0) {
			sample = 1;
			t->sample_left = sm_interval(t);
		}
	}
done:
	/* realloc's return half always runs: reallocating goes through the allocator's
	 * own functions, which may call a probed release (mimalloc's realloc reaches
	 * mi_free from an unprobed helper), and only an armed frame tells that apart */
	if (!sample && !t->old_known && kind != FS_K_REALLOC && kind != FS_K_REALLOCARRAY)
		return 0;
arm:
	t->active = 1;
	t->sm_gen = win_gen;
	t->kind = kind;
	t->size = size;
	t->arg = arg;
	t->sm_sampled = sample;
	return 1;
}

static __always_inline void sm_exit(struct pt_regs *ctx)
{
	__u64 sp = PT_REGS_SP(ctx), ret, ptr;
	struct fs_sampled b = {}, *old;
	struct counters *c;
	struct tstate *t;
	__u32 func = FS_COOKIE_FUNC(bpf_get_attach_cookie(ctx));
	long id;

	t = bpf_task_storage_get(&tstates, bpf_get_current_task_btf(), 0, 0);
	c = bpf_map_lookup_elem(&counters, &zero);
	if (!t || !c || !t->active)
		return;
	if (t->sm_func != func || sp != t->sm_sp + 8) {
		ADD(c->c[FS_C_UNMATCHED], 1);	/* DEBUG */
		return;
	}
	t->active = 0;
	ret = PT_REGS_RC(ctx);
	ptr = ret;
	if (t->kind == FS_K_TRIM) {
		count_trim(ret);
		return;
	}
	if (t->kind == FS_K_POSIX_MEMALIGN) {
		ptr = 0;
		if ((int)ret || bpf_probe_read_user(&ptr, sizeof(ptr), (void *)t->arg))
			ptr = 0;
	}
	if (t->old_known) {	/* realloc of a sampled block */
		if (!ptr && t->size) {	/* failed: the block stays */
			if (bpf_map_update_elem(&sampled, &t->arg, &t->sm_old, BPF_NOEXIST))
				sm_count(c, &t->sm_old, -1);
		} else {
			ADD(c->c[FS_C_SM_RELEASED], 1);
			sm_count(c, &t->sm_old, -1);
		}
	}
	if (t->sm_sampled && !ptr) {	/* failed: counted as an allocation at entry */
		struct fs_func_stat *fs = bpf_map_lookup_elem(&funcs, &func);

		ADD(c->c[FS_C_SM_ALLOCS], -1);
		ADD(c->c[FS_C_SM_ALLOC_BYTES], -t->size);
		ADD(c->c[FS_C_FAILED], 1);
		if (t->arg && (t->kind == FS_K_REALLOC || t->kind == FS_K_REALLOCARRAY))
			ADD(c->c[FS_C_SM_FREES], -1);	/* and its block was not freed */
		if (fs) {
			ADD(fs->failed, 1);
			ADD(fs->bytes, -t->size);
		}
		return;
	}
	if (!t->sm_sampled)
		return;
	b.size = t->size;
	b.w = sm_weight(t->size);
	b.ts_ns = bpf_ktime_get_ns();
	id = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	b.stackid = (__s32)id;
	if (id >= 0) {
		__u32 key = (__u32)id;
		struct fs_site_stat zs = {};

		if (!bpf_map_lookup_elem(&sites, &key)) {
			bpf_map_update_elem(&sites, &key, &zs, BPF_NOEXIST);
			if (!bpf_map_lookup_elem(&sites, &key)) {	/* the sites table is full */
				ADD(c->c[FS_C_STACKS_LOST], 1);
				b.stackid = -1;
			}
		}
	} else {
		ADD(c->c[FS_C_STACKS_LOST], 1);
	}
	old = bpf_map_lookup_elem(&sampled, &ptr);
	if (old) {	/* its release went by unseen */
		ADD(c->c[FS_C_SM_STALE], 1);
		sm_count(c, old, -1);
		*old = b;
	} else if (bpf_map_update_elem(&sampled, &ptr, &b, BPF_NOEXIST)) {
		ADD(c->c[FS_C_SM_LOST], 1);
		return;
	}
	ADD(c->c[FS_C_SM_SAMPLED], 1);
	ADD(c->c[FS_C_SAMPLES], 1);
	ADD(c->c[FS_C_SM_ALLOC_W], b.w);
	sm_count(c, &b, 1);
}

SEC("uprobe")
int alloc_session(struct pt_regs *ctx)
{
	int run;

	if (bpf_session_is_return()) {
		if (ours()) {
			preempt_off();
			sm_exit(ctx);
			preempt_on();
		}
		return 0;
	}
	/* win_open: the window's exact edges, shared with the release counts */
	if (!ours() || stopping || !win_open)
		return 1;
	preempt_off();
	run = sm_enter(ctx);
	preempt_on();
	if (run)
		return 0;	/* the return half runs */
	return 1;
}

static __always_inline void sm_free_body(struct pt_regs *ctx)
{
	__u64 ptr = PT_REGS_PARM1(ctx), sp = PT_REGS_SP(ctx), ret = 0;
	__u32 func = FS_COOKIE_FUNC(bpf_get_attach_cookie(ctx));
	struct fs_func_info *fi;
	struct fs_func_stat *fs;
	struct fs_sampled *b, copy;
	struct counters *c;
	struct tstate *t;

	t = bpf_task_storage_get(&tstates, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	c = bpf_map_lookup_elem(&counters, &zero);
	fs = bpf_map_lookup_elem(&funcs, &func);
	if (!t || !c || !fs)
		return;
	if (sm_nested(ctx, t, func, sp, &ret)) {
		ADD(c->c[FS_C_NESTED], 1);
		return;
	}
	if (!ptr) {
		ADD(fs->calls, 1);
		ADD(c->c[FS_C_FREE_NULL], 1);
		return;
	}
	b = bpf_map_lookup_elem(&sampled, &ptr);
	if (b) {
		copy = *b;
		if (!bpf_map_delete_elem(&sampled, &ptr)) {
			ADD(c->c[FS_C_SM_RELEASED], 1);
			sm_count(c, &copy, -1);
		}
	} else if ((fi = bpf_map_lookup_elem(&func_infos, &func)) && fi->internal_ret[0] &&
		   internal_return(ctx, fi, ret)) {
		ADD(c->c[FS_C_FREES_INTERNAL], 1);
		return;
	}
	ADD(fs->calls, 1);
	ADD(c->c[FS_C_SM_FREES], 1);
	ADD(c->c[FS_C_SM_FREE_CALLS], 1);
	if (win_open)
		ADD(c->c[FS_C_SM_FREE_CALLS_WIN], 1);
}

SEC("uprobe")
int BPF_KPROBE(free_sampled)
{
	if (!ours() || stopping)
		return 0;
	preempt_off();
	sm_free_body(ctx);
	preempt_on();
	return 0;
}

/* ---- memory syscalls of the target: aggregated here, never streamed ---- */

#define NR_MMAP 9
#define NR_MPROTECT 10
#define NR_MUNMAP 11
#define NR_BRK 12
#define NR_MREMAP 25
#define NR_MADVISE 28
#define F_MAP_FIXED 0x10
#define F_MAP_ANONYMOUS 0x20
#define F_MAP_STACK 0x20000

/* Anonymous RSS in pages, from the percpu counter's shared part. Each CPU may hold
 * up to the counter's batch (32 pages here) unflushed, so a release measured as
 * the fall of this figure is exact to that much per CPU; the exact per-CPU parts
 * would need per-cpu offsets this kernel does not export (no KALLSYMS_ALL). */
static __always_inline __s64 anon_rss(void)
{
	struct mm_struct *mm = bpf_get_current_task_btf()->mm;

	return mm ? mm->rss_stat[MM_ANONPAGES].count : -1;
}

static __always_inline __u32 log2_ns(__u64 v)
{
	__u32 b = bucket(v);

	return b < FS_LAT_BUCKETS ? b : FS_LAT_BUCKETS - 1;
}

/* A memory syscall begins: a0..a3 are its first arguments, sp the user stack
 * pointer inside libc's wrapper (a leaf, or at its first instruction): [sp] is
 * the wrapper's caller. */
static __always_inline void sys_begin(__u32 sys, __u64 a0, __u64 a1, __u64 a2, __u64 a3, __u64 sp)
{
	struct tstate *t;

	if (stopping)	/* detaching, or the image this tracer knew is gone (exec) */
		return;
	t = bpf_task_storage_get(&tstates, bpf_get_current_task_btf(), 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!t)
		return;
	t->sys = sys;
	t->sys_active = 1;
	t->sys_arg[0] = a0;
	t->sys_arg[1] = a1;
	t->sys_arg[2] = a2;
	t->sys_arg[3] = a3;
	t->sys_rss = -1;
	/* RSS only around calls that can give memory back (mprotect and mmap are frequent). */
	if (sys == FS_S_MUNMAP || sys == FS_S_MADVISE || sys == FS_S_BRK ||
	    (sys == FS_S_MREMAP && a2 < a1) ||
	    (sys == FS_S_MMAP && (a3 & F_MAP_FIXED) && a2 == 0))
		t->sys_rss = anon_rss();
	/* Releases of several threads at once share the process's RSS counter: note it. */
	t->sys_overlap = 0;
	if (t->sys_rss >= 0) {
		t->sys_gen = __sync_fetch_and_add(&rel_gen, 1);
		t->sys_overlap = __sync_fetch_and_add(&rel_inflight, 1) > 0;
	}
	/* Unknown until learnt: the allocator. */
	t->sys_from_alloc = 1;
	if ((t->sys_rss >= 0 || light || sampled_mode) && alloc_text_hi) {
		__u64 ret = 0;

		if (!bpf_probe_read_user(&ret, sizeof(ret), (void *)sp)) {
			ret -= alloc_bias;
			t->sys_from_alloc = ret >= alloc_text_lo && ret < alloc_text_hi;
		}
	}
	if (sys == FS_S_BRK) {
		struct mm_struct *mm = bpf_get_current_task_btf()->mm;

		t->sys_brk = mm ? mm->brk : 0;
	}
	t->sys_ts = bpf_ktime_get_ns();
}

static __always_inline __u32 sys_of_nr(long id)
{
	switch (id) {
	case NR_MMAP: return FS_S_MMAP;
	case NR_MUNMAP: return FS_S_MUNMAP;
	case NR_MREMAP: return FS_S_MREMAP;
	case NR_BRK: return FS_S_BRK;
	case NR_MADVISE: return FS_S_MADVISE;
	case NR_MPROTECT: return FS_S_MPROTECT;
	}
	return FS_S__COUNT;
}

/* With --sys-tracepoints: every syscall of every process passes here. */
SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
	__u32 sys = sys_of_nr(id);

	if (sys == FS_S__COUNT || !ours())	/* the number first: this runs for every syscall */
		return 0;
	sys_begin(sys, regs->di, regs->si, regs->dx, regs->r10, regs->sp);
	return 0;
}

/* By default: entry of libc's wrapper (the cookie is the enum fs_sys). */
SEC("uprobe")
int BPF_KPROBE(sysw_enter)
{
	__u32 sys = (__u32)bpf_get_attach_cookie(ctx);

	if (sys >= FS_S__COUNT || !ours())
		return 0;
	sys_begin(sys, PT_REGS_PARM1(ctx), PT_REGS_PARM2(ctx), PT_REGS_PARM3(ctx), PT_REGS_PARM4(ctx),
		  PT_REGS_SP(ctx));
	return 0;
}

static __always_inline __u32 release_source(struct tstate *t, __u32 sys, __u64 addr)
{
	char comm[16];

	if (t->active && t->kind == FS_K_TRIM)
		return FS_R_MALLOC_TRIM;
	if (flavour == FS_ALLOC_JEMALLOC) {
		bpf_get_current_comm(comm, sizeof(comm));
		if (comm[0] == 'j' && comm[1] == 'e' && comm[2] == 'm' && comm[8] == '_' && comm[9] == 'b')
			return FS_R_JE_BACKGROUND;	/* "jemalloc_bg_thd" */
		return sys == FS_S_MUNMAP || sys == FS_S_MREMAP ? FS_R_MUNMAP_BLOCK : FS_R_JE_DECAY;
	}
	if (flavour == FS_ALLOC_GLIBC) {
		/* a whole non-main heap is 64 MiB aligned; mmapped chunks never are */
		if ((sys == FS_S_MUNMAP && (addr & ((64ULL << 20) - 1))) || sys == FS_S_MREMAP)
			return FS_R_MUNMAP_BLOCK;
		return FS_R_GLIBC_TRIM;
	}
	return FS_R_OTHER;
}

static __always_inline void note_release(__u64 start, __u64 len, __u64 now, __u32 src)
{
	__u32 i = __sync_fetch_and_add(&release_next, 1) % NRELEASES;
	struct release *r = bpf_map_lookup_elem(&releases, &i);

	if (r) {
		r->start = start;
		r->end = start + len;
		r->ts = now;
		r->src = src;
	}
}

/* One event of the address ledger (rare calls: mmap, munmap, mremap). */
static __always_inline void map_event(__u32 kind, __u32 owner, __u64 addr, __u64 len, __u64 new_addr,
				      __u64 new_len, __u64 prot, __u64 flags)
{
	struct fs_map_event *e = bpf_ringbuf_reserve(&map_events, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&map_events_lost, 1);
		return;
	}
	e->kind = kind;
	e->owner = owner;
	e->addr = addr;
	e->len = len;
	e->new_addr = new_addr;
	e->new_len = new_len;
	e->prot = (__u32)prot;
	e->flags = (__u32)flags;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/* Inside an allocator call: its probes say so; in light mode (none), the caller of
 * libc's wrapper lies in the allocator's code. */
static __always_inline int in_alloc(struct tstate *t)
{
	return t->active || ((light || sampled_mode) && t->sys_from_alloc);
}

/* Who owns a new anonymous mapping: file-backed memory is nobody's anonymous
 * bytes, a thread stack is a stack whoever creates it (jemalloc's background
 * thread is started inside a malloc call), then the allocator's calls. */
static __always_inline __u32 ledger_owner(struct tstate *t, __u64 flags)
{
	if (!(flags & F_MAP_ANONYMOUS))
		return FS_M_FILE;
	if (flags & F_MAP_STACK)
		return FS_M_STACK;
	return in_alloc(t) ? FS_M_ALLOCATOR : FS_M_OTHER_ANON;
}

/* Released bytes measured across a call, at most the pages its range covers:
 * applied only when another thread's release shared the window (alone, a release
 * the RSS counter shows late, in the next call, belongs to the run of calls). */
static __always_inline __u64 clamp_released(struct tstate *t, __u64 released, __u64 len)
{
	__u64 max = (len + 4095) & ~4095ULL;

	return !t->sys_overlap || released < max ? released : max;
}

/* The syscall ends: ret its result (the mapped address for mmap and mremap),
 * failed, with errno err (0: unknown). */
static __always_inline void sys_end(__u32 wsys, long ret, int failed, __u64 err)
{
	struct fs_kstats *ks;
	struct tstate *t;
	__u64 now, ns, len = 0, released = 0, addr, rel_len = 0;
	__u32 sys, adv = FS_A_OTHER;
	int is_release = 0;

	t = bpf_task_storage_get(&tstates, bpf_get_current_task_btf(), 0, 0);
	if (!t || !t->sys_active || t->sys != wsys)
		return;
	t->sys_active = 0;
	sys = wsys;
	asm volatile("" : "+r"(sys));	/* keep the bound check where the verifier sees it */
	ks = bpf_map_lookup_elem(&kstats, &zero);
	if (!ks || sys >= FS_S__COUNT)
		return;
	now = bpf_ktime_get_ns();
	ns = now - t->sys_ts;
	addr = t->sys_arg[0];
	if (t->sys_rss >= 0) {
		__s64 after = anon_rss();

		if (after >= 0 && after < t->sys_rss)
			released = (__u64)(t->sys_rss - after) * 4096;
		/* another release began after this one, or was running when it began */
		t->sys_overlap |= __sync_fetch_and_add(&rel_gen, 0) != t->sys_gen + 1;
		__sync_fetch_and_sub(&rel_inflight, 1);
	}

	switch (sys) {
	case FS_S_MMAP: {
		__u64 flags = t->sys_arg[3];
		__u32 cls;

		len = t->sys_arg[1];
		if (failed)
			break;
		if ((flags & F_MAP_FIXED) && t->sys_arg[2] == 0) {
			is_release = 1;	/* glibc's heap shrink without overcommit: a release */
			map_event(FS_E_RELEASE, t->active || t->sys_from_alloc ? FS_M_ALLOCATOR
					      : ledger_owner(t, flags), (__u64)ret, len, 0, 0, 0, flags);
			break;
		}
		map_event(FS_E_MAP, ledger_owner(t, flags), (__u64)ret, len, 0, 0, t->sys_arg[2], flags);
		if (t->active)
			cls = FS_M_ALLOCATOR;
		else if (flags & F_MAP_STACK)
			cls = FS_M_STACK;
		else if (!(flags & F_MAP_ANONYMOUS))
			cls = FS_M_FILE;
		else
			cls = in_alloc(t) ? FS_M_ALLOCATOR : FS_M_OTHER_ANON;
		AADD(ks->map_calls[cls], 1);
		AADD(ks->map_bytes[cls], len);
		break;
	}
	case FS_S_MUNMAP:
		len = t->sys_arg[1];
		is_release = !failed;
		if (!failed)
			map_event(FS_E_UNMAP, 0, addr, len, 0, 0, 0, 0);
		break;
	case FS_S_MREMAP:
		len = t->sys_arg[2];
		if (!failed)
			map_event(FS_E_REMAP, in_alloc(t) ? FS_M_ALLOCATOR : FS_M_OTHER_ANON, addr, t->sys_arg[1],
				  (__u64)ret, t->sys_arg[2], 0, t->sys_arg[3]);
		if (!failed && t->sys_arg[2] < t->sys_arg[1]) {
			/* shrinking in place (realloc of an mmapped chunk): the tail goes back */
			is_release = 1;
			addr = t->sys_arg[0] + t->sys_arg[2];
			rel_len = t->sys_arg[1] - t->sys_arg[2];
		}
		break;
	case FS_S_MPROTECT:
		len = t->sys_arg[1];
		break;
	case FS_S_BRK: {
		/* the break after the call (the wrapper returns 0 or -1, the syscall the break) */
		struct mm_struct *mm = bpf_get_current_task_btf()->mm;
		__u64 brk = mm ? mm->brk : 0;

		if (brk > t->sys_brk && t->sys_brk) {
			len = brk - t->sys_brk;
			AADD(ks->brk_grow, len);
		} else if (brk < t->sys_brk) {
			len = t->sys_brk - brk;
			addr = brk;
			AADD(ks->brk_shrink_calls, 1);
			AADD(ks->brk_shrink, len);
			is_release = 1;
		}
		break;
	}
	case FS_S_MADVISE: {
		struct fs_adv_stat *as;

		len = t->sys_arg[1];
		switch (t->sys_arg[2]) {
		case 4: adv = FS_A_DONTNEED; break;
		case 8: adv = FS_A_FREE; break;
		case 14: adv = FS_A_HUGEPAGE; break;
		case 15: adv = FS_A_NOHUGEPAGE; break;
		}
		as = &ks->adv[adv];
		AADD(as->calls, 1);
		AADD(as->bytes, len);
		if (failed)
			AADD(as->errors, 1);
		released = clamp_released(t, released, len);
		AADD(as->resident, released);
		AADD(as->lat[log2_ns(ns) & (FS_LAT_BUCKETS - 1)], 1);
		is_release = !failed && (adv == FS_A_DONTNEED || adv == FS_A_FREE);
		break;
	}
	}

	/* The RSS counter is the process's: another thread's release during this call
	 * falls in its window too. A call never releases more than it covers. */
	if (is_release && sys != FS_S_MADVISE)
		released = clamp_released(t, released, rel_len ? rel_len : len);
	AADD(ks->sys[sys].calls, 1);
	AADD(ks->sys[sys].ns, ns);
	AADD(ks->sys[sys].bytes, len);
	AADD(ks->sys[sys].resident, released);
	if (failed) {
		AADD(ks->sys[sys].errors, 1);
		AADD(ks->errnos[sys][err < FS_ERRNO_MAX ? err : FS_ERRNO_MAX - 1], 1);
	}
	if (is_release) {
		__u32 src = t->sys_from_alloc ? release_source(t, sys, addr) : FS_R_PROGRAM;

		if (src < FS_R__COUNT) {
			AADD(ks->src_calls[src], 1);
			AADD(ks->src_resident[src], released);
		}
		note_release(addr, rel_len ? rel_len : len, now, src);
	}
	trace_sys(t, sys, failed);
	}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	__u32 sys = sys_of_nr(regs->orig_ax);

	if (sys == FS_S__COUNT || !ours())	/* the number first: this runs for every syscall */
		return 0;
	sys_end(sys, ret, ret < 0 && ret > -4096, (__u64)(-ret));
	return 0;
}

/* Return of libc's wrapper: -1 on failure (errno, thread-local, is not read). */
SEC("uretprobe")
int BPF_KRETPROBE(sysw_exit)
{
	__u32 sys = (__u32)bpf_get_attach_cookie(ctx);
	long ret = (long)PT_REGS_RC(ctx);

	if (sys >= FS_S__COUNT || !ours())
		return 0;
	/* mmap and mremap return a pointer (MAP_FAILED), the others an int */
	sys_end(sys, ret, sys == FS_S_MMAP || sys == FS_S_MREMAP ? ret == -1 : (int)ret == -1, 0);
	return 0;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(page_fault_user, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	struct fs_kstats *ks;
	__u32 newest;
	__u64 now = 0;

	if (!ours())
		return 0;
	ks = bpf_map_lookup_elem(&kstats, &zero);
	if (!ks)
		return 0;
	AADD(ks->faults, 1);
	/* newest release first: a page faulted back in is most often one just released,
	 * and the walk stops at the first that holds it; the clock only once one does
	 * (a fault costs the target this program on every one: a busy server that
	 * releases and refaults its memory takes a million a second) */
	newest = release_next;
	for (__u32 i = 0; i < NRELEASES; i++) {
		__u32 k = (newest - 1 - i) % NRELEASES;
		struct release *r = bpf_map_lookup_elem(&releases, &k);

		if (!r || address < r->start || address >= r->end)
			continue;
		if (!now)
			now = bpf_ktime_get_ns();
		if (now - r->ts < 1000000000ULL) {
			__u64 src = r->src;

			AADD(ks->churn_faults, 1);
			if (src < FS_R__COUNT)	/* who released the page: the remedy differs */
				AADD(ks->churn_src[src], 1);
			break;
		}
	}
	return 0;
}

/* A child of the traced process: a new process, which starts as a copy of this one
 * (its heap included) but is traced by a tracer of its own. When following, it is
 * stopped before it ever runs: the signal is queued now, before the child is first
 * woken, and taken on its way out of fork into user space. */
#ifndef FS_ATOMIC_ADDS
extern int bpf_send_signal_task(struct task_struct *task, int sig, enum pid_type type, __u64 value) __ksym;
#endif

SEC("tp_btf/sched_process_fork")
int BPF_PROG(proc_fork, struct task_struct *parent, struct task_struct *child)
{
	struct fs_proc_event *e;

	if ((__u32)parent->tgid != target_tgid || child->tgid == parent->tgid)	/* a thread */
		return 0;
	AADD(nforks, 1);
	/* the event first: a child stopped with no event to say so would never resume */
	e = bpf_ringbuf_reserve(&proc_events, sizeof(*e), 0);
	if (!e) {
		AADD(proc_events_lost, 1);
		return 0;
	}
	e->kind = FS_PE_FORK;
	e->pid = (__u32)child->tgid;
	e->ppid = target_tgid;
	e->ts = bpf_ktime_get_ns();
#ifdef FS_ATOMIC_ADDS
	e->held = follow ? -38 : 1;	/* ENOSYS: no bpf_send_signal_task before Linux 6.13 */
#else
	e->held = follow ? bpf_send_signal_task(child, 19 /* SIGSTOP */, PIDTYPE_TGID, 0) : 1;
#endif
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* The traced process replaced its image: this tracer's probes belong to the old
 * one, so it ignores every call from now on (user space attaches a new tracer to
 * the new image when following). The process is stopped before the new image's
 * first instruction (the dynamic loader's). */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(proc_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct fs_proc_event *e;

	if (!ours())
		return 0;
	if (execs_seen++ < exec_skip)	/* one thread left: no race */
		return 0;
	stopping = 1;
	AADD(nexecs, 1);
	e = bpf_ringbuf_reserve(&proc_events, sizeof(*e), 0);
	if (!e) {
		AADD(proc_events_lost, 1);
		return 0;
	}
	e->kind = FS_PE_EXEC;
	e->pid = target_tgid;
	e->ppid = 0;
	e->ts = bpf_ktime_get_ns();
	e->held = follow ? bpf_send_signal(19 /* SIGSTOP */) : 1;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* ==== record --trace: every accounted call into a ring buffer (issue 15) ====
 * Off (trace_calls 0), each hook above costs one predictable branch. On, one
 * 40-byte event per call, submitted without a wake-up: user space drains the ring
 * on an interval and is woken only when it fills past trace_wake_bytes. An event
 * that finds the ring full is counted, in total and per thread. */
const volatile __u32 trace_calls = 0;
const volatile __u64 trace_wake_bytes = FS_CALL_RING_BYTES / 2;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);	/* sized by user space when tracing */
} calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);	/* thread id */
	__type(value, __u64);	/* its events lost */
} calls_lost SEC(".maps");

__u64 trace_lost, trace_lost_threads_full;	/* lost; of which by threads beyond calls_lost's room */

static __always_inline void trace_emit(__u32 op, __u32 func, __u64 ptr, __u64 size, __u64 arg, __u64 align,
				       __u32 flags)
{
	struct fs_call_event *e;
	__u32 tid;

	if (!trace_calls)
		return;
	tid = (__u32)bpf_get_current_pid_tgid();
	e = bpf_ringbuf_reserve(&calls, sizeof(*e), 0);
	if (!e) {
		__u64 one = 1, *n;

		__sync_fetch_and_add(&trace_lost, 1);
		n = bpf_map_lookup_elem(&calls_lost, &tid);
		if (n)
			__sync_fetch_and_add(n, 1);
		else if (bpf_map_update_elem(&calls_lost, &tid, &one, BPF_NOEXIST) &&
			 !bpf_map_lookup_elem(&calls_lost, &tid))
			__sync_fetch_and_add(&trace_lost_threads_full, 1);
		return;
	}
	e->ts = bpf_ktime_get_ns();
	e->ptr = ptr;
	e->size = size;
	e->arg = arg;
	e->tid = tid;
	e->op = (__u8)op;
	e->func = (__u8)func;
	e->align_lg = align > 1 ? (__u8)fs_lg_floor(align) : 0;
	e->flags = (__u8)flags;
	bpf_ringbuf_submit(e, bpf_ringbuf_query(&calls, BPF_RB_AVAIL_DATA) > trace_wake_bytes ?
			   BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

/* An allocating call's result (ptr 0: failed, or realloc(p, 0) freed p). */
static __always_inline void trace_alloc(struct tstate *t, __u32 func, __u64 ptr, __u32 flags)
{
	int re = t->kind == FS_K_REALLOC || t->kind == FS_K_REALLOCARRAY;

	if (!trace_calls)
		return;
	if (re && t->arg && !t->old_known)
		flags |= FS_CF_OLD_UNKNOWN;
	trace_emit(t->kind, func, ptr, t->size, re ? t->arg : 0, t->align, flags);
}

/* The alignment a call asks for, at its entry, for allocators whose accounting
 * does not note it already (jemalloc's does, for its usable sizes). */
static __always_inline void trace_enter_align(struct pt_regs *ctx, struct tstate *t, __u32 kind, __u64 cookie)
{
	__u64 a1, a2, a3;

	if (!trace_calls || flavour == FS_ALLOC_JEMALLOC)
		return;
	/* read up front: the verifier refuses a context offset chosen at run time */
	a1 = PT_REGS_PARM1(ctx);
	a2 = PT_REGS_PARM2(ctx);
	a3 = PT_REGS_PARM3(ctx);
	asm volatile("" : "+r"(a1), "+r"(a2), "+r"(a3));
	switch (FS_COOKIE_ALIGN(cookie)) {
	case FS_AL_ARG2: t->align = a2; break;
	case FS_AL_PAGE: t->align = 4096; break;
	case FS_AL_FLAGS2: t->align = (1ULL << (a2 & 63)) & ~1ULL; break;
	case FS_AL_FLAGS3: t->align = (1ULL << (a3 & 63)) & ~1ULL; break;
	}
	if (kind == FS_K_MEMALIGN)
		t->align = a1;
	else if (kind == FS_K_POSIX_MEMALIGN)
		t->align = a2;
}

/* The program's own madvise and munmap (not the allocator's): a replay repeats them. */
static __always_inline void trace_sys(struct tstate *t, __u32 sys, int failed)
{
	if (!trace_calls || failed || t->sys_from_alloc || (sys != FS_S_MADVISE && sys != FS_S_MUNMAP))
		return;
	trace_emit(FS_OP_SYS + sys, 0, t->sys_arg[0], t->sys_arg[1], sys == FS_S_MADVISE ? t->sys_arg[2] : 0, 0, 0);
}
/* ==== end of record --trace ==== */
