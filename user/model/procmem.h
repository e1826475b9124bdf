/* procmem.h - reads a live process's memory state from /proc: smaps, glibc's
 * heap_info headers, pagemap, the allocator settings in its environment. */
#ifndef FS_PROCMEM_H
#define FS_PROCMEM_H

#include <sys/types.h>
#include "model/memmodel.h"

/* Regions of PID, classified; with heap_walk (the backend's), glibc heaps are
 * validated against their heap_info. */
int procmem__regions(pid_t pid, int heap_walk, struct fs_regions *rs);
/* Residency of npages pages from start (pagemap bit 63). 0 or -errno. */
int procmem__present(void *pidp, uint64_t start, uint64_t npages, uint8_t *present);
int procmem__settings(pid_t pid, struct fs_settings *s);
/* Field `field` of /proc/PID/stat (proc(5)'s numbers: 14 utime, 22 starttime). 0, or
 * -1 when the process is gone or the field is not an unsigned number. */
int procmem__stat_field(pid_t pid, int field, unsigned long long *out);
/* pid's command line, its arguments joined by spaces ("" when gone or a kernel thread). */
void procmem__cmdline(pid_t pid, char *buf, size_t len);

/* PID's pagemap, open for procmem__pages. */
struct procmem_pagemap {
	int fd;
	uint64_t zero_pfn;	/* the shared zero page's frame, 0 if unknown */
};
int procmem__pagemap_open(pid_t pid, struct procmem_pagemap *pm);
void procmem__pagemap_close(struct procmem_pagemap *pm);
/* Each page's state from pagemap as census.h's FS_PG_* (an fs_present_fn on a
 * struct procmem_pagemap). 0 or -errno. */
int procmem__pages(void *pm, uint64_t start, uint64_t npages, uint8_t *state);

struct fs_census;
/* A census of glibc's heap in PID (see census.h): regions classified with glibc=1.
 * progress may be NULL. 0 or -errno. */
int procmem__census(pid_t pid, const struct fs_regions *rs, void (*progress)(uint64_t, uint64_t),
		    struct fs_census *c);

/* Only glibc's mmapped chunks (census__glibc_mmapped): one page read each. */
int procmem__census_mmapped(pid_t pid, const struct fs_regions *rs, struct fs_census *c);

#endif
