/* umulti.c - one BPF_LINK_CREATE for many uprobes in one file. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "trace/umulti.h"

#define BPF_LINK_CREATE_CMD 28
#define UPROBE_MULTI_RETURN 1		/* BPF_F_UPROBE_MULTI_RETURN */

/* union bpf_attr for BPF_LINK_CREATE with uprobe_multi (include/uapi/linux/bpf.h, 6.6+) */
struct link_create_uprobe_multi {
	uint32_t prog_fd;
	uint32_t target_fd;
	uint32_t attach_type;
	uint32_t flags;
	uint64_t path;
	uint64_t offsets;
	uint64_t ref_ctr_offsets;
	uint64_t cookies;
	uint32_t cnt;
	uint32_t multi_flags;
	uint32_t pid;
	uint32_t _pad[9];
};

int umulti__attach(int prog_fd, const char *path, const uint64_t *offsets, const uint64_t *cookies,
		   int n, int ret, pid_t pid)
{
	return umulti__attach_as(FS_ATTACH_UPROBE_MULTI, prog_fd, path, offsets, cookies, n, ret, pid);
}

int umulti__attach_as(int attach_type, int prog_fd, const char *path, const uint64_t *offsets,
		      const uint64_t *cookies, int n, int ret, pid_t pid)
{
	struct link_create_uprobe_multi a;
	long fd;

	memset(&a, 0, sizeof(a));
	a.prog_fd = (uint32_t)prog_fd;
	a.attach_type = (uint32_t)attach_type;
	a.path = (uint64_t)(uintptr_t)path;
	a.offsets = (uint64_t)(uintptr_t)offsets;
	a.cookies = (uint64_t)(uintptr_t)cookies;
	a.cnt = (uint32_t)n;
	a.multi_flags = ret ? UPROBE_MULTI_RETURN : 0;
	a.pid = (uint32_t)pid;
	fd = syscall(__NR_bpf, BPF_LINK_CREATE_CMD, &a, sizeof(a));
	return fd < 0 ? -errno : (int)fd;
}
