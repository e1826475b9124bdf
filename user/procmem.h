/* procmem.h - reads a live process's memory state from /proc: smaps, glibc's
 * heap_info headers, pagemap, the allocator settings in its environment. */
#ifndef FS_PROCMEM_H
#define FS_PROCMEM_H

#include <sys/types.h>
#include "memmodel.h"

/* Regions of PID, classified; glibc heaps validated against their heap_info. */
int procmem__regions(pid_t pid, int glibc, struct fs_regions *rs);
/* Residency of npages pages from start (pagemap bit 63). 0 or -errno. */
int procmem__present(void *pidp, uint64_t start, uint64_t npages, uint8_t *present);
int procmem__settings(pid_t pid, struct fs_settings *s);

struct fs_census;
/* A census of glibc's heap in PID (see census.h): regions classified with glibc=1.
 * progress may be NULL. 0 or -errno. */
int procmem__census(pid_t pid, const struct fs_regions *rs, void (*progress)(uint64_t, uint64_t),
		    struct fs_census *c);

#endif
