/* procmem.c - /proc readers for the memory model. Never writes to the target. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "alloc/census.h"
#include "model/procmem.h"
#include "util/parse.h"

#define HEAP_MAX (64ULL << 20)

/* glibc 2.36 heap_info: ar_ptr, prev, size, mprotect_size, pagesize. */
struct heap_info {
	uint64_t ar_ptr, prev, size, mprotect_size, pagesize;
};

static int heap_info_ok(const struct heap_info *h, uint64_t start)
{
	return h->ar_ptr && h->size >= 4096 && h->size <= HEAP_MAX && h->mprotect_size <= HEAP_MAX &&
	       (h->pagesize == 4096 || h->pagesize == (2u << 20)) &&
	       (!h->prev || !(h->prev & (HEAP_MAX - 1))) && h->prev != start;
}

int procmem__regions(pid_t pid, int heap_walk, struct fs_regions *rs)
{
	char path[64];
	FILE *f;
	int r, fd;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	r = memmodel__parse_smaps(f, rs);
	fclose(f);
	if (r)
		return r;
	memmodel__classify(rs, heap_walk);
	if (!heap_walk)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	for (int i = 0; i < rs->n; i++) {
		struct fs_region *g = &rs->r[i];
		struct heap_info h;

		if (g->kind != FS_RG_ARENA_HEAP)
			continue;
		if (fd < 0 || pread(fd, &h, sizeof(h), (off_t)g->start) != sizeof(h) || !heap_info_ok(&h, g->start))
			g->kind = FS_RG_ANON;	/* aligned by chance: not a heap */
		else
			g->ar_ptr = h.ar_ptr;
	}
	if (fd >= 0)
		close(fd);
	return 0;
}

/* The shared zero pages' frames: reading untouched anonymous memory (as the target
 * itself may) can map the 4 KiB zero page, or in a THP-eligible range the huge zero
 * page (512 frames), and pagemap then says "present" for pages that hold nothing
 * and cost no RSS. Learnt from pages of our own: a frame is taken for a zero page
 * only if two untouched pages read back map the same one. Some kernels map no zero
 * page on reads (a fresh page each time); then no frame is one, and a frame learnt
 * from a page we then free must never be taken for it (the target may get it). */
static uint64_t zero_small, zero_huge;	/* 0: none */

static uint64_t frame_of(int fd, const volatile char *p)
{
	uint64_t e = 0;

	(void)p[0];
	if (pread(fd, &e, 8, (off_t)((uintptr_t)p / 4096 * 8)) != 8 || !(e >> 63))
		return 0;
	return e & ((1ULL << 55) - 1);
}

static void zero_frames_learn(void)
{
	static int learnt;
	uint64_t a, b, hp = 2ULL << 20;
	char *p;
	int fd;

	if (learnt)
		return;
	learnt = 1;
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	p = mmap(NULL, 3 * hp, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED) {
		a = frame_of(fd, p);
		b = frame_of(fd, p + 4096);
		if (a && a == b)
			zero_small = a;
		munmap(p, 3 * hp);
	}
	/* two huge-page-aligned reads of a range advised for THP: the same frame, and
	 * its next 4 KiB the next frame, is the huge zero page */
	p = mmap(NULL, 4 * hp, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED) {
		char *h = (char *)(((uintptr_t)p + hp - 1) & ~(uintptr_t)(hp - 1));

		if (!madvise(h, 2 * hp, MADV_HUGEPAGE)) {
			a = frame_of(fd, h);
			b = frame_of(fd, h + hp);
			if (a && a == b && frame_of(fd, h + 4096) == a + 1 && !(a & 511))
				zero_huge = a;
		}
		munmap(p, 4 * hp);
	}
	close(fd);
}

static int zero_frame(uint64_t pfn)
{
	return (zero_small && pfn == zero_small) || (zero_huge && pfn >= zero_huge && pfn < zero_huge + 512);
}

static uint64_t zero_pfn(void)
{
	zero_frames_learn();
	return zero_small;
}

int procmem__present(void *pidp, uint64_t start, uint64_t npages, uint8_t *present)
{
	zero_frames_learn();
	pid_t pid = *(pid_t *)pidp;
	uint64_t buf[512];
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (uint64_t done = 0; done < npages;) {
		uint64_t n = npages - done < 512 ? npages - done : 512;
		ssize_t got = pread(fd, buf, n * 8, (off_t)((start / 4096 + done) * 8));

		if (got <= 0) {
			close(fd);
			return got < 0 ? -errno : -EIO;
		}
		n = (uint64_t)got / 8;
		for (uint64_t i = 0; i < n; i++)
			present[done + i] = (buf[i] >> 63) & 1 && !zero_frame(buf[i] & ((1ULL << 55) - 1));
		done += n;
	}
	close(fd);
	return 0;
}

int procmem__pagemap_open(pid_t pid, struct procmem_pagemap *pm)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	pm->zero_pfn = zero_pfn();
	pm->fd = open(path, O_RDONLY | O_CLOEXEC);
	return pm->fd < 0 ? -errno : 0;
}

void procmem__pagemap_close(struct procmem_pagemap *pm)
{
	if (pm->fd >= 0)
		close(pm->fd);
	pm->fd = -1;
}

int procmem__pages(void *pmp, uint64_t start, uint64_t npages, uint8_t *state)
{
	const struct procmem_pagemap *pm = pmp;
	uint64_t buf[512];

	for (uint64_t done = 0; done < npages;) {
		uint64_t n = npages - done < 512 ? npages - done : 512;
		ssize_t got = pread(pm->fd, buf, n * 8, (off_t)((start / 4096 + done) * 8));

		if (got <= 0)
			return got < 0 ? -errno : -EIO;
		n = (uint64_t)got / 8;
		for (uint64_t i = 0; i < n; i++) {
			uint64_t e = buf[i];

			if (e >> 63)
				state[done + i] = zero_frame(e & ((1ULL << 55) - 1)) ? FS_PG_ZERO : FS_PG_RESIDENT;
			else
				state[done + i] = (e >> 62) & 1 ? FS_PG_SWAPPED : FS_PG_NONE;
		}
		done += n;
	}
	return 0;
}

int procmem__settings(pid_t pid, struct fs_settings *s)
{
	char path[64], *buf;
	size_t len;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	f = fopen(path, "re");
	if (!f) {
		memmodel__settings("", 0, s);
		return -errno;
	}
	buf = calloc(1, 1 << 20);
	len = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
	fclose(f);
	memmodel__settings(buf ? buf : "", len, s);
	free(buf);
	return 0;
}

static int read_mem(void *ctx, uint64_t addr, void *buf, uint64_t len)
{
	ssize_t n = pread(*(int *)ctx, buf, (size_t)len, (off_t)addr);

	return n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
}

/* libc's writable data (.data then .bss): where main_arena lives. Without a libc.so
 * (a static executable, whose [heap] glibc's census walked from its TLS and found
 * nothing), the executable's: the first file mapped. */
static void libc_rw(const struct fs_regions *rs, uint64_t *lo, uint64_t *hi)
{
	const char *exe = NULL;

	*lo = *hi = 0;
	for (int pass = 0; pass < 2 && !*lo; pass++) {
		for (int i = 0; i < rs->n; i++) {
			const char *b = strrchr(rs->r[i].name, '/');

			if (!exe && rs->r[i].name[0] == '/')
				exe = rs->r[i].name;
			if (!b || strncmp(rs->r[i].perms, "rw", 2) ||
			    (pass == 0 ? strncmp(b + 1, "libc.so", 7) : strcmp(rs->r[i].name, exe)))
				continue;
			*lo = rs->r[i].start;
			*hi = rs->r[i].end;
			if (i + 1 < rs->n && rs->r[i + 1].start == *hi && !rs->r[i + 1].name[0])
				*hi = rs->r[i + 1].end;
			break;
		}
	}
}

static int census(pid_t pid, const struct fs_regions *rs, int mmapped_only,
		  void (*progress)(uint64_t, uint64_t), struct fs_census *c)
{
	struct procmem_pagemap pm;
	char path[64];
	uint64_t lo, hi;
	int fd, r;

	/* without pagemap the walk would fault in every untouched page it reads */
	r = procmem__pagemap_open(pid, &pm);
	if (r)
		return r;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		procmem__pagemap_close(&pm);
		return r;
	}
	libc_rw(rs, &lo, &hi);
	if (mmapped_only)
		r = census__glibc_mmapped(rs, lo, hi, read_mem, &fd, procmem__pages, &pm, c);
	else
		r = census__glibc(rs, lo, hi, read_mem, &fd, procmem__pages, &pm, progress, c);
	close(fd);
	procmem__pagemap_close(&pm);
	return r;
}

int procmem__census(pid_t pid, const struct fs_regions *rs, void (*progress)(uint64_t, uint64_t),
		    struct fs_census *c)
{
	return census(pid, rs, 0, progress, c);
}

int procmem__census_mmapped(pid_t pid, const struct fs_regions *rs, struct fs_census *c)
{
	return census(pid, rs, 1, NULL, c);
}

void procmem__cmdline(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, len - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		buf[0] = 0;
		return;
	}
	while (n > 0 && !buf[n - 1])
		n--;
	for (ssize_t i = 0; i < n; i++)
		if (!buf[i])
			buf[i] = ' ';
	buf[n] = 0;
}

int procmem__stat_field(pid_t pid, int field, unsigned long long *out)
{
	char path[64], buf[1024];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return parse__proc_stat(buf, field, out);
}
