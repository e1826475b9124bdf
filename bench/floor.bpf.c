// SPDX-License-Identifier: GPL-2.0
/* floor.bpf.c - the cost floor of fragscope's probes: programs that do nothing,
 * attached where fragscope attaches its own (bench/floor.c). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("uprobe")
int floor_enter(void *ctx)
{
	return 0;
}

SEC("uretprobe")
int floor_exit(void *ctx)
{
	return 0;
}

SEC("uprobe")
int floor_free(void *ctx)
{
	return 0;
}

/* --sys: fragscope's syscall tracepoints too, empty (what watching the allocator's
 * mmap/munmap/madvise/brk costs every other syscall, uretprobe returns included). */
SEC("tp_btf/sys_enter")
int floor_sys_enter(void *ctx)
{
	return 0;
}

SEC("tp_btf/sys_exit")
int floor_sys_exit(void *ctx)
{
	return 0;
}
