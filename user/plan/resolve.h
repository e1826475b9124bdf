/* resolve.h - which allocator a process (or a command about to run) uses, and
 * the plan of probes for its whole API. Reads files and /proc, never attaches. */
#ifndef FS_RESOLVE_H
#define FS_RESOLVE_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>
#include "bpf/fragscope.h"
#include "alloc/alloc.h"


struct fs_probe {
	char name[64];		/* symbol (with prefix if any) */
	char aliases[96];	/* other names at the same address, comma separated */
	char path[PATH_MAX];	/* file to attach to, as this process sees it */
	uint64_t vaddr;		/* symbol address in the file */
	uint64_t size;		/* the function's length (its symbol's size; 0 unknown) */
	uint64_t sym_off;	/* file offset of the function */
	uint64_t text_lo, text_hi; /* the object's code, to tell its own calls apart */
	uint64_t internal_ret[FS_INTERNAL_CALLERS]; /* returns of the object's direct calls of it */
	uint64_t tail_to;	/* probes (bit = index) this function may end by jumping into */
	uint32_t place;		/* probe offset inside the function */
	uint32_t kind;		/* enum fs_kind */
	int emulated;		/* placed on an instruction the kernel emulates */
	char why[96];		/* placement decision */
};

#define FS_MAX_NOTES 6

struct fs_plan {
	const struct fs_allocator *allocator;	/* its backend: ask it, do not switch on alloc */
	int alloc;		/* enum fs_alloc_id (bpf/fragscope.h), allocator->id */
	char alloc_name[32];	/* "glibc", "jemalloc", "tcmalloc", "mimalloc", "unknown" */
	char object[PATH_MAX];	/* the object malloc binds to, as the target names it */
	char prefix[16];	/* symbol prefix ("je_", "_rjem_") or "" */
	char how[256];		/* how the binding was found */
	int nprobes;
	struct fs_probe probes[FS_MAX_FUNCS];
	/* libc's memory-syscall wrappers (kind: enum fs_sys), nsys = FS_S__COUNT when
	 * all were found, else 0 with the cause in sys_why */
	int nsys;
	struct fs_probe sys[FS_S__COUNT];
	char sys_why[192];
	int nnotes;
	char notes[FS_MAX_NOTES][192];	/* caveats to show the user */
};

const char *resolve__alloc_name(int alloc);

/* For a running process. root is the prefix to open its files ("/proc/PID/root"). */
int resolve__pid(pid_t pid, struct fs_plan *plan, char *err, size_t errlen);
/* For a command not yet started: the dynamic linker's search, done statically.
 * path: the executable (already found on PATH); env: the environment it will get;
 * root: NULL, or the prefix through which the process's files are seen
 * ("/proc/PID/root": an exec in another mount namespace), path being its own. */
int resolve__cmd(const char *root, const char *path, char *const env[], struct fs_plan *plan, char *err,
		 size_t errlen);
/* Builds the probe list from the allocator object (the file at path). */
int resolve__plan_probes(struct fs_plan *plan, const char *path, char *err, size_t errlen);
/* Plans probes on the memory-syscall wrappers of the libc at libc_path (or of a
 * static executable): 0, or -ENOENT with plan->sys_why set and plan->nsys 0. */
int resolve__plan_syscalls(struct fs_plan *plan, const char *libc_path);
/* Which allocator an object is, from its symbols; fills plan->allocator/alloc/alloc_name/prefix. */
int resolve__identify(struct fs_plan *plan, const char *path);

#endif
