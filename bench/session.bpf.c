// SPDX-License-Identifier: GPL-2.0
/* session.bpf.c - spike for issue 14's sampled mode (bench only): one uprobe
 * SESSION program per allocating function (BPF_TRACE_UPROBE_SESSION, Linux 6.13+),
 * whose entry returns 0 (run the return half) for 1 call in N per thread and 1
 * (skip it) otherwise; plain entry programs on releases, as the floor. Counts what
 * it saw in .bss so the loader can check the skip works (bench/session.c).
 *
 * libbpf 1.1.2 knows neither SEC("uprobe.session") nor these kfuncs: the program is
 * SEC("uprobe") (BPF_PROG_TYPE_KPROBE) and the loader sets its expected attach
 * type to 57 before load; the kfuncs are declared by hand below and resolved by
 * libbpf against the kernel's BTF like any __ksym extern. The verifier wants the
 * return value provably 0 or 1: return constants (clang 14 compiles
 * `return !bpf_session_is_return();` to `w0 ^= 1` on an unbounded scalar, which
 * is refused). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "session.h"

char LICENSE[] SEC("license") = "GPL";

/* kernel/trace/bpf_trace.c (6.10+ for kprobes, 6.13+ for uprobes) */
extern bool bpf_session_is_return(void) __ksym;
extern __u64 *bpf_session_cookie(void) __ksym;

const volatile __u32 period = 64;	/* N: 1 call in N per thread runs the return half */

#define NSLOT SESSION_NSLOT
#define ALWAYS SESSION_ALWAYS
#define COOKIE_TAG 0xc00c1e0000000000ULL

struct slot counts[NSLOT];

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u32);		/* calls left until the next sampled one */
} left SEC(".maps");

static __always_inline struct slot *my_slot(void)
{
	return &counts[bpf_get_smp_processor_id() & (NSLOT - 1)];
}

SEC("uprobe")
int session_alloc(struct pt_regs *ctx)
{
	struct slot *s = my_slot();
	int always = bpf_get_attach_cookie(ctx) & ALWAYS;
	__u64 *cookie;
	__u32 *n;

	if (bpf_session_is_return()) {
		cookie = bpf_session_cookie();
		if ((*cookie & ~0xffffffffULL) != COOKIE_TAG)
			__sync_fetch_and_add(&s->bad_cookie, 1);
		__sync_fetch_and_add(always ? &s->always_ret : &s->returns, 1);
		return 0;
	}
	if (always) {
		__sync_fetch_and_add(&s->always, 1);
		goto sample;
	}
	__sync_fetch_and_add(&s->entries, 1);
	n = bpf_task_storage_get(&left, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!n)
		return 1;
	if (*n > 1) {
		*n -= 1;
		return 1;	/* not sampled: the kernel skips the return half */
	}
	*n = period;
	__sync_fetch_and_add(&s->sampled, 1);
sample:
	/* what the real mode would stash for its return half: the request */
	cookie = bpf_session_cookie();
	*cookie = COOKIE_TAG | (PT_REGS_PARM1(ctx) & 0xffffffffULL);
	return 0;
}

SEC("uprobe")
int session_free(struct pt_regs *ctx)
{
	__sync_fetch_and_add(&my_slot()->frees, 1);
	return 0;
}

/* --entry-only: the lower bound, an empty entry probe on every function */
SEC("uprobe")
int entry_only(void *ctx)
{
	return 0;
}
