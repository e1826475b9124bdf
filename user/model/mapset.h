/* mapset.h - the address ledger: disjoint address intervals, each with the owner
 * (enum fs_map) that mapped it since attach. Bytes it holds no interval for are
 * unknown (mapped before attach, or never mapped). Pure: no libbpf. */
#ifndef FS_MAPSET_H
#define FS_MAPSET_H

#include <stddef.h>
#include <stdint.h>
#include "bpf/fragscope.h"

struct fs_interval {
	uint64_t start, end;	/* [start, end) */
	uint32_t owner;		/* enum fs_map */
	uint32_t _pad;
};

/* Zero-initialised is empty. */
struct fs_mapset {
	struct fs_interval *iv;	/* sorted by start, disjoint, touching intervals of one owner
				 * merged; a gap buffer: read them with mapset__at */
	size_t n, cap;		/* intervals, room */
	size_t gap;		/* intervals before the gap */
	uint64_t events;	/* events applied */
	uint64_t lost;		/* events missed (the kernel's ring was full, or no memory to apply
				 * one): the ledger is then approximate */
	uint64_t conflicts;	/* new mappings (not MAP_FIXED) that landed on bytes the ledger
				 * held: an unmap it saw late (another thread's, reported after) or
				 * never (a raw syscall bypassing libc's wrappers); approximate too */
};

/* [start, start+len) is owner's now, whatever held it (MAP_FIXED replaces). 0 or -errno. */
int mapset__map(struct fs_mapset *ms, uint64_t start, uint64_t len, uint32_t owner);
/* Only the parts of [start, start+len) no interval holds become owner's: a range
 * remapped in place keeps its owners. 0 or -errno. */
int mapset__fill(struct fs_mapset *ms, uint64_t start, uint64_t len, uint32_t owner);
/* [start, start+len) is unmapped: intervals are cut, split if the range is inside. */
int mapset__unmap(struct fs_mapset *ms, uint64_t start, uint64_t len);
/* mremap: the first min(oldlen, newlen) bytes at old move to new with their owners
 * (unknown stays unknown), the rest of the old range goes away (unless keep_old:
 * MREMAP_DONTUNMAP), whatever was at [new, new+newlen) is replaced, and bytes grown
 * beyond oldlen take the owner of the old range's last byte, or grow_owner if that
 * is unknown. 0 or -errno. */
int mapset__remap(struct fs_mapset *ms, uint64_t old, uint64_t oldlen, uint64_t new_addr, uint64_t newlen,
		  uint32_t grow_owner, int keep_old);
/* The i-th interval in address order, NULL past the last (i >= n). */
const struct fs_interval *mapset__at(const struct fs_mapset *ms, size_t i);
/* Bytes of [lo, hi) held by each owner; the rest of the range is unknown. */
void mapset__owned(const struct fs_mapset *ms, uint64_t lo, uint64_t hi, uint64_t bytes[FS_M__COUNT]);
/* Whether any interval holds a byte of [lo, hi). */
int mapset__any(const struct fs_mapset *ms, uint64_t lo, uint64_t hi);
void mapset__free(struct fs_mapset *ms);

#endif
