/* umulti.h - uprobe_multi links (kernel 6.6+) without libbpf support for them
 * (libbpf 1.1.2 has none): a raw BPF_LINK_CREATE. Shared by the tracer and the
 * benchmark's floor loader, so both pay for the same mechanism. */
#ifndef FS_UMULTI_H
#define FS_UMULTI_H

#include <stdint.h>
#include <sys/types.h>

#define FS_ATTACH_UPROBE_MULTI 48	/* BPF_TRACE_UPROBE_MULTI: a program's expected attach type */
#define FS_ATTACH_UPROBE_SESSION 57	/* BPF_TRACE_UPROBE_SESSION (6.13+): the entry's return value
					 * decides whether the return half runs */

/* Attaches prog_fd at n file offsets of path (return probes if ret), filtered to
 * pid; cookies may be NULL. The link's fd, or -errno. */
int umulti__attach(int prog_fd, const char *path, const uint64_t *offsets, const uint64_t *cookies,
		   int n, int ret, pid_t pid);
/* The same link with another attach type of the uprobe_multi family (a session). */
int umulti__attach_as(int attach_type, int prog_fd, const char *path, const uint64_t *offsets,
		      const uint64_t *cookies, int n, int ret, pid_t pid);

#endif
