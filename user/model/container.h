/* container.h - a process as its container sees it: its PID inside its own PID
 * namespace, its cgroup v2 path and the container id in that path; and the
 * processes of a cgroup (top --cgroup). The parsers work on text (unit-tested);
 * the readers read /proc and the cgroup2 file system. */
#ifndef FS_CONTAINER_H
#define FS_CONTAINER_H

#include <stddef.h>
#include <sys/types.h>
#include "types.h"

/* The last field of the "NSpid:" line of /proc/PID/status text (the PID in the
 * innermost namespace; the only field outside any child namespace). 0, or -1
 * when there is no such line (kernels before 4.1). */
int container__ns_pid(const char *status, pid_t *out);
/* The cgroup v2 path in the text of /proc/PID/cgroup (its "0::PATH" line; v1
 * lines name their controllers). 0, or -1 if none (cgroup v1 only) or too long. */
int container__cgroup(const char *text, char *out, size_t len);
/* The container id in a cgroup path: the last component that is 64 hex digits,
 * alone (cgroupfs drivers: /docker/ID, /kubepods/.../ID) or as a runtime's
 * systemd scope (docker-ID.scope, cri-containerd-ID.scope, crio-ID.scope,
 * libpod-ID.scope). 1 and out set, or 0 (out "") when the path has none. */
int container__id(const char *cgroup, char *out, size_t len);
/* The first cgroup2 mount point in the text of /proc/self/mounts. 0, or -1. */
int container__cgroup2_mount(const char *mounts, char *out, size_t len);

/* pid's namespace PID, cgroup and container id; what cannot be read is left
 * unknown (0, ""). */
void container__read(pid_t pid, struct fs_container *c);

/* A cgroup given on the command line (a directory of the cgroup2 file system,
 * or a path relative to its mount, with or without a leading '/'): its directory
 * and its path as /proc/PID/cgroup names it ("/a/b"). 0, or -1 with one line in
 * err: no such cgroup, not cgroup v2. */
int container__cgroup_dir(const char *arg, char *dir, size_t dirlen, char *path, size_t pathlen,
			  char *err, size_t errlen);
/* The processes (cgroup.procs) of the cgroup at dir and of every cgroup below
 * it, appended to *pids (grown as needed, *n of *cap used). 0, or -errno when
 * dir cannot be read (a cgroup below that vanishes meanwhile is skipped). */
int container__cgroup_procs(const char *dir, pid_t **pids, int *n, int *cap);

#endif
