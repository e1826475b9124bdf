/* test_census.c - the glibc heap census on a synthetic heap image: chunks laid out
 * as glibc 2.36 does in byte buffers standing for the target's mappings, main_arena
 * in a fake libc data segment, thread heaps with heap_info, tcache and fastbins. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include "alloc/alloc.h"
#include "alloc/census.h"
#include "test.h"

#define PG 4096ULL
#define PREV_INUSE 1ULL
#define IS_MMAPPED 2ULL
#define NON_MAIN 4ULL

/* Addresses as a process would have them; thread heaps are 64 MiB aligned. */
#define HEAP 0x555555559000ULL		/* [heap] */
#define LIBC_RW 0x7ffff7e1a000ULL	/* libc's .data/.bss */
#define LIBC_RW_LEN 0x4000ULL
#define MAIN_AR (LIBC_RW + 0x1000)	/* main_arena */
#define TH_A2 0x7fffe4000000ULL		/* arena A's second (newest) heap: below the first */
#define TH_A1 0x7fffe8000000ULL		/* arena A's first heap: holds its malloc_state */
#define TH_B 0x7fffec000000ULL		/* arena B's only heap */
#define MMAPPED 0x7ffff7a00000ULL	/* an mmapped chunk */

/* A target's memory: mapped buffers, regions as procmem classifies them, and
 * what pagemap says of its pages (ranges; every other page FS_PG_NONE). */
struct seg {
	uint64_t addr, len;
	uint8_t *buf;
};

struct pgrange {
	uint64_t lo, hi;
	uint8_t st;
};

struct fake {
	struct seg seg[16];
	int nseg;
	struct fs_region reg[16];
	struct fs_regions rs;
	struct pgrange pg[64];
	int npresent;
	int faults;	/* reads of anonymous pages holding nothing: each would fault one in */
	int reads;
};

static void fake_init(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	f->rs.r = f->reg;
	f->rs.cap = 16;
}

static void fake_free(struct fake *f)
{
	for (int i = 0; i < f->nseg; i++)
		free(f->seg[i].buf);
}

/* A readable mapping [addr, addr + len), zero-filled. */
static void fake_map(struct fake *f, uint64_t addr, uint64_t len)
{
	f->seg[f->nseg++] = (struct seg){ addr, len, calloc(1, len) };
}

/* Regions in address order, as smaps lists them. */
static void fake_region(struct fake *f, uint64_t start, uint64_t end, int kind, uint64_t ar_ptr)
{
	struct fs_region *g = &f->reg[f->rs.n++];

	memset(g, 0, sizeof(*g));
	g->start = start;
	g->end = end;
	g->kind = kind;
	g->ar_ptr = ar_ptr;
	g->rss = g->anon = end - start;
	strcpy(g->perms, "rw-p");
}

static uint8_t *at(struct fake *f, uint64_t addr, uint64_t len)
{
	for (int i = 0; i < f->nseg; i++)
		if (addr >= f->seg[i].addr && len <= f->seg[i].len && addr - f->seg[i].addr <= f->seg[i].len - len)
			return f->seg[i].buf + (addr - f->seg[i].addr);
	fprintf(stderr, "test_census: image has no 0x%llx\n", (unsigned long long)addr);
	abort();
}

static void w64(struct fake *f, uint64_t addr, uint64_t v)
{
	memcpy(at(f, addr, 8), &v, 8);
}

static void w16(struct fake *f, uint64_t addr, uint16_t v)
{
	memcpy(at(f, addr, 2), &v, 2);
}

static uint8_t page_state(const struct fake *f, uint64_t page)
{
	for (int j = 0; j < f->npresent; j++)
		if (page >= f->pg[j].lo && page < f->pg[j].hi)
			return f->pg[j].st;
	return FS_PG_NONE;
}

/* /proc/PID/mem as pread sees it: a read running past a mapping's end copies what
 * the mapping holds, then fails. With page states given, reading an anonymous
 * page that holds nothing is counted: the kernel would fault it in. */
static int fake_read(void *ctx, uint64_t addr, void *buf, uint64_t len)
{
	struct fake *f = ctx;

	f->reads++;
	if (f->npresent)
		for (int i = 0; i < f->rs.n; i++) {
			const struct fs_region *g = &f->reg[i];

			if (g->kind == FS_RG_FILE || addr + len <= g->start || addr >= g->end)
				continue;
			for (uint64_t p = addr & ~(PG - 1); p < addr + len; p += PG) {
				uint8_t st = page_state(f, p);

				if (p >= g->start && p < g->end && st != FS_PG_RESIDENT && st != FS_PG_SWAPPED)
					f->faults++;
			}
		}
	for (int i = 0; i < f->nseg; i++) {
		struct seg *s = &f->seg[i];

		if (addr < s->addr || addr - s->addr >= s->len)
			continue;
		if (len <= s->len - (addr - s->addr)) {
			memcpy(buf, s->buf + (addr - s->addr), len);
			return 0;
		}
		memcpy(buf, s->buf + (addr - s->addr), s->len - (addr - s->addr));
		return -EIO;
	}
	return -EFAULT;
}

static int fake_present(void *ctx, uint64_t start, uint64_t npages, uint8_t *out)
{
	struct fake *f = ctx;

	for (uint64_t i = 0; i < npages; i++)
		out[i] = page_state(f, start + i * PG);
	return 0;
}

/* Pages [lo, hi) in state st (FS_PG_*). */
static void fake_pages(struct fake *f, uint64_t lo, uint64_t hi, uint8_t st)
{
	f->pg[f->npresent++] = (struct pgrange){ lo, hi, st };
}

static void fake_page(struct fake *f, uint64_t page)
{
	fake_pages(f, page, page + PG, FS_PG_RESIDENT);
}

/* A malloc_state: only what the census reads. */
static void fake_arena(struct fake *f, uint64_t ar, uint64_t top, uint64_t next, uint64_t system_mem)
{
	w64(f, ar + GL_ARENA_TOP, top);
	w64(f, ar + GL_ARENA_NEXT, next);
	w64(f, ar + GL_ARENA_SYSTEM_MEM, system_mem);
}

/* A thread heap: its mapping (mprotect_size readable), region and heap_info. */
static void fake_heap(struct fake *f, uint64_t h, uint64_t ar, uint64_t prev, uint64_t size, uint64_t mprotect)
{
	fake_map(f, h, mprotect);
	fake_region(f, h, h + mprotect, FS_RG_ARENA_HEAP, ar);
	w64(f, h, ar);
	w64(f, h + 8, prev);
	w64(f, h + 16, size);
	w64(f, h + 24, mprotect);
	w64(f, h + 32, PG);
}

/* Lays chunks out one after another, keeping PREV_INUSE and free chunks' footers
 * right. flags: NON_MAIN in thread heaps. */
struct lay {
	struct fake *f;
	uint64_t p, flags;
	int prev_free;
};

static uint64_t lay_chunk(struct lay *l, uint64_t size, int free)
{
	uint64_t c = l->p;

	w64(l->f, c + 8, size | l->flags | (l->prev_free ? 0 : PREV_INUSE));
	if (free)
		w64(l->f, c + size, size);	/* the next chunk's prev_size */
	l->prev_free = free;
	l->p += size;
	return c;
}

static uint64_t lay_use(struct lay *l, uint64_t size)
{
	return lay_chunk(l, size, 0);
}

static uint64_t lay_free(struct lay *l, uint64_t size)
{
	return lay_chunk(l, size, 1);
}

/* The top chunk runs to the heap's end; its predecessor is always in use. */
static uint64_t lay_top(struct lay *l, uint64_t end)
{
	return lay_use(l, end - l->p);
}

/* The end of a non-newest thread heap (sysmalloc): the old top freed, a 16-byte
 * fencepost and a 0-sized one in the last 32 bytes. */
static uint64_t lay_fenceposts(struct lay *l, uint64_t end)
{
	uint64_t old_top = lay_free(l, end - 32 - l->p);

	w64(l->f, end - 24, 16);	/* old top free: PREV_INUSE clear */
	w64(l->f, end - 8, 0 | PREV_INUSE);
	return old_top;
}

/* The main heap and libc's data, main_arena the only arena. */
static void fake_main(struct fake *f, uint64_t heap_len)
{
	fake_map(f, HEAP, heap_len);
	fake_region(f, HEAP, HEAP + heap_len, FS_RG_HEAP, 0);
	fake_map(f, LIBC_RW, LIBC_RW_LEN);
	fake_arena(f, MAIN_AR, 0, MAIN_AR, heap_len);
}

static const struct fs_census_arena *arena_of(const struct fs_census *c, uint64_t ar)
{
	for (int i = 0; i < c->narenas; i++)
		if (c->arenas[i].ar_ptr == ar)
			return &c->arenas[i];
	return NULL;
}

static int census(struct fake *f, uint64_t rw_lo, uint64_t rw_hi, struct fs_census *c)
{
	return census__glibc(&f->rs, rw_lo, rw_hi, fake_read, f, f->npresent ? fake_present : NULL, f,
			     NULL, c);
}

TEST(census_main_heap)
{
	struct fs_census *c = calloc(1, sizeof(*c));
	const struct fs_census_arena *a;
	struct fake f;
	struct lay l;
	uint64_t last, top;

	fake_init(&f);
	fake_main(&f, 0x21000);
	l = (struct lay){ &f, HEAP };
	lay_use(&l, 0x20);
	lay_use(&l, 0x30);
	lay_use(&l, 0x100);
	lay_free(&l, 0x410);
	last = lay_use(&l, 0x40);
	top = lay_top(&l, HEAP + 0x21000);
	w64(&f, MAIN_AR + GL_ARENA_TOP, top);
	/* Decoys before main_arena, each failing one check of the search: next not
	 * itself, system_mem 0, top outside the heap, top misaligned. */
	w64(&f, LIBC_RW + 0x100 + GL_ARENA_TOP, top);
	w64(&f, LIBC_RW + 0x100 + GL_ARENA_NEXT, 0x1234);
	w64(&f, LIBC_RW + 0x100 + GL_ARENA_SYSTEM_MEM, 0x21000);
	fake_arena(&f, LIBC_RW + 0x300, top, LIBC_RW + 0x300, 0);
	fake_arena(&f, LIBC_RW + 0x500, LIBC_RW, LIBC_RW + 0x500, 0x21000);
	fake_arena(&f, LIBC_RW + 0x700, top + 8, LIBC_RW + 0x700, 0x21000);

	if (!ASSERT_OK_PTR(c, "calloc") || !ASSERT_OK(census(&f, LIBC_RW, LIBC_RW + LIBC_RW_LEN, c), "census"))
		goto cleanup;
	ASSERT_EQ(c->narenas, 1, "narenas");
	a = &c->arenas[0];
	ASSERT_EQ(a->ar_ptr, MAIN_AR, "main_arena found past the decoys");
	ASSERT_EQ(a->main, 1, "main");
	ASSERT_EQ(a->heaps, 1, "heaps");
	ASSERT_EQ(a->size, 0x21000, "size");
	ASSERT_EQ(a->in_use, 0x20 + 0x30 + 0x100 + 0x40, "in_use");
	ASSERT_EQ(a->chunks_in_use, 4, "chunks_in_use");
	ASSERT_EQ(a->top, HEAP + 0x21000 - top, "top");
	ASSERT_EQ(a->free, 0x410 + a->top, "free: the free chunk and top");
	ASSERT_EQ(a->cached, 0, "cached");
	ASSERT_EQ(a->largest_free, a->top, "largest_free");
	ASSERT_EQ(a->pin_addr, last, "pin_addr: the last in-use chunk");
	ASSERT_EQ(a->pin_size, 0x40, "pin_size");
	ASSERT_EQ(a->free_resident, 0, "free_resident without residency");
	ASSERT_EQ(a->walk_cut, 0, "walk_cut");
	ASSERT_EQ(c->in_use, a->in_use, "census in_use");
	ASSERT_EQ(c->free, a->free, "census free");
	ASSERT_EQ(c->mapped, 0x21000, "mapped: the heap only");
	ASSERT_EQ(c->approximate, 0, "approximate");
	ASSERT_TRUE(c->bytes_read > 0, "bytes_read");

	/* Without libc's data the search cannot run: the heap is walked to its end. */
	if (!ASSERT_OK(census(&f, 0, 0, c), "census without libc rw"))
		goto cleanup;
	ASSERT_EQ(c->approximate, 1, "approximate without main_arena");
	ASSERT_HAS_STR(c->note, "main_arena not found", "note");
	ASSERT_EQ(c->arenas[0].walk_cut, 1, "walk_cut without main_arena");
	ASSERT_EQ(c->arenas[0].free, 0x410, "free without main_arena: top unknown");
cleanup:
	free(c);
	fake_free(&f);
}

TEST(census_free_resident)
{
	struct fs_census *c = calloc(1, sizeof(*c));
	const struct fs_census_arena *a;
	struct fake f;
	struct lay l;
	uint64_t top;

	fake_init(&f);
	fake_main(&f, 0xa000);
	l = (struct lay){ &f, HEAP };
	lay_use(&l, 0xfe0);
	/* [HEAP+0xfe0, HEAP+0x5fe0): malloc_trim keeps its first 48 bytes, so whole
	 * pages from HEAP+0x2000 up to HEAP+0x5000. */
	lay_free(&l, 0x5000);
	lay_use(&l, 0x20);
	top = lay_top(&l, HEAP + 0xa000);		/* HEAP+0x6000: pages from +0x7000 */
	w64(&f, MAIN_AR + GL_ARENA_TOP, top);
	fake_page(&f, HEAP);		/* chunk headers: a page glibc has written */
	fake_page(&f, HEAP + 0x1000);	/* the free chunk's header page */
	fake_page(&f, HEAP + 0x2000);
	fake_page(&f, HEAP + 0x4000);
	fake_page(&f, HEAP + 0x5000);	/* partly the next chunk */
	fake_page(&f, HEAP + 0x6000);	/* top's header page */
	fake_page(&f, HEAP + 0x9000);

	if (!ASSERT_OK_PTR(c, "calloc") || !ASSERT_OK(census(&f, LIBC_RW, LIBC_RW + LIBC_RW_LEN, c), "census"))
		goto cleanup;
	a = &c->arenas[0];
	ASSERT_EQ(a->top, 0x4000, "top");
	ASSERT_EQ(a->free, 0x5000 + 0x4000, "free");
	ASSERT_EQ(a->largest_free, 0x5000, "largest_free: the free chunk");
	ASSERT_EQ(a->free_resident, 2 * PG + PG, "free_resident: 2 pages of the chunk, 1 of top");
	ASSERT_EQ(c->free_resident, a->free_resident, "census free_resident");
	ASSERT_EQ(c->approximate, 0, "approximate");
	ASSERT_EQ(f.faults, 0, "no page holding nothing was read");
cleanup:
	free(c);
	fake_free(&f);
}

/* Arena A: two heaps, the first (higher) holding its malloc_state, the second
 * (lower: mmap places it below) holding top; arena B: one heap. A -> B -> main -> A.
 * A's first chunk is its thread's tcache (empty); main has a chunk in a fastbin.
 * a1_mprotect: A1's readable bytes (heap_info.size is 0x10000). */
#define AR_A (TH_A1 + GL_HEAP_INFO_SIZE)
#define AR_B (TH_B + GL_HEAP_INFO_SIZE)
#define FIRST_AFTER_ARENA(h) ((h) + 0x8d0)	/* aligned chunk after heap_info + malloc_state */

struct threads {
	uint64_t main_fast, a_tcache, a_old_top, a2_first, a2_last, a2_top, b_top, main_top;
};

static void fake_threads(struct fake *f, uint64_t a1_mprotect, struct threads *t)
{
	struct lay l;

	fake_init(f);
	fake_map(f, HEAP, 0x21000);
	fake_region(f, HEAP, HEAP + 0x21000, FS_RG_HEAP, 0);
	l = (struct lay){ f, HEAP };
	lay_use(&l, 0x30);
	t->main_fast = lay_use(&l, 0x20);
	t->main_top = lay_top(&l, HEAP + 0x21000);

	fake_heap(f, TH_A2, AR_A, TH_A1, 0x8000, 0x8000);
	l = (struct lay){ f, TH_A2 + GL_HEAP_INFO_SIZE, NON_MAIN };
	t->a2_first = lay_use(&l, 0x40);
	t->a2_last = lay_use(&l, 0x80);
	t->a2_top = lay_top(&l, TH_A2 + 0x8000);

	fake_heap(f, TH_A1, AR_A, 0, 0x10000, a1_mprotect);
	l = (struct lay){ f, FIRST_AFTER_ARENA(TH_A1), NON_MAIN };
	t->a_tcache = lay_use(&l, GL_TCACHE_CHUNK);	/* the thread's tcache, empty */
	lay_use(&l, 0x200);
	t->a_old_top = lay_fenceposts(&l, TH_A1 + 0x10000);
	fake_arena(f, AR_A, t->a2_top, AR_B, 0x18000);

	fake_heap(f, TH_B, AR_B, 0, 0x8000, 0x8000);
	l = (struct lay){ f, FIRST_AFTER_ARENA(TH_B), NON_MAIN };
	lay_use(&l, 0x50);
	t->b_top = lay_top(&l, TH_B + 0x8000);
	fake_arena(f, AR_B, t->b_top, MAIN_AR, 0x8000);

	fake_map(f, LIBC_RW, LIBC_RW_LEN);
	fake_arena(f, MAIN_AR, t->main_top, AR_A, 0x21000);
	w64(f, MAIN_AR + GL_ARENA_FASTBINS, t->main_fast);	/* fastbin 0 */
	w64(f, t->main_fast + 16, 0 ^ ((t->main_fast + 16) >> 12));
}

TEST(census_thread_arenas)
{
	struct fs_census *c = calloc(1, sizeof(*c));
	const struct fs_census_arena *m, *a, *b;
	struct threads t;
	struct fake f;

	/* A1 readable past heap_info.size (shrunk once), so its fenceposts are read
	 * whole: census_bug_fencepost_at_mapping_end is the tight case. */
	fake_threads(&f, 0x20000, &t);
	/* No libc data: main_arena can only come from the arena list. */
	if (!ASSERT_OK_PTR(c, "calloc") || !ASSERT_OK(census(&f, 0, 0, c), "census"))
		goto cleanup;
	ASSERT_EQ(c->narenas, 3, "narenas");
	m = &c->arenas[0];
	a = arena_of(c, AR_A);
	b = arena_of(c, AR_B);
	if (!ASSERT_OK_PTR(a, "arena A") || !ASSERT_OK_PTR(b, "arena B"))
		goto cleanup;
	ASSERT_EQ(m->ar_ptr, MAIN_AR, "main: the arena outside any heap");
	ASSERT_EQ(m->main, 1, "main flag");
	ASSERT_EQ(a->main, 0, "A not main");
	ASSERT_EQ(b->main, 0, "B not main");
	ASSERT_EQ(m->in_use, 0x30, "main in_use");
	ASSERT_EQ(m->cached, 0x20, "main cached: its fastbin");
	ASSERT_EQ(m->top, 0x21000 - 0x50, "main top");

	ASSERT_EQ(a->heaps, 2, "A heaps");
	ASSERT_EQ(a->size, 0x10000 + 0x8000, "A size: heap_info sizes");
	ASSERT_EQ(a->in_use, GL_TCACHE_CHUNK + 0x200 + 0x40 + 0x80, "A in_use");
	ASSERT_EQ(a->chunks_in_use, 4, "A chunks_in_use");
	ASSERT_EQ(a->top, TH_A2 + 0x8000 - t.a2_top, "A top");
	ASSERT_EQ(a->free, a->top + (TH_A1 + 0x10000 - 32 - t.a_old_top), "A free: top and the old top");
	ASSERT_EQ(a->largest_free, TH_A1 + 0x10000 - 32 - t.a_old_top, "A largest_free: the old top");
	ASSERT_EQ(a->walk_cut, 0, "A walk_cut: fenceposts end the walk");

	ASSERT_EQ(b->heaps, 1, "B heaps");
	ASSERT_EQ(b->size, 0x8000, "B size");
	ASSERT_EQ(b->in_use, 0x50, "B in_use");
	ASSERT_EQ(b->top, TH_B + 0x8000 - t.b_top, "B top");
	ASSERT_EQ(b->pin_addr, FIRST_AFTER_ARENA(TH_B), "B pin_addr");

	ASSERT_EQ(c->in_use, 0x30 + 0x550 + 0x50, "census in_use: the fastbin chunk is free");
	ASSERT_EQ(c->mapped, 0x21000 + 0x8000 + 0x20000 + 0x8000, "mapped");
	ASSERT_EQ(c->approximate, 0, "approximate");
cleanup:
	free(c);
	fake_free(&f);
}

/* A tcache_perthread_struct (first chunk of the heap) holding two 0x30 chunks, and
 * fastbin 3 (0x50) holding two more: all four look in use. */
TEST(census_tcache_fastbins)
{
	struct fs_census *c = calloc(1, sizeof(*c));
	const struct fs_census_arena *a;
	uint64_t tc, x1, x2, y1, y2, last, top;
	struct fake f;
	struct lay l;

	fake_init(&f);
	fake_main(&f, 0x21000);
	l = (struct lay){ &f, HEAP };
	tc = lay_use(&l, GL_TCACHE_CHUNK);
	x1 = lay_use(&l, 0x30);
	x2 = lay_use(&l, 0x30);
	lay_use(&l, 0x40);
	y1 = lay_use(&l, 0x50);
	y2 = lay_use(&l, 0x50);
	last = lay_use(&l, 0x20);
	top = lay_top(&l, HEAP + 0x21000);
	w64(&f, MAIN_AR + GL_ARENA_TOP, top);

	/* tcache bin 1: x2 -> x1; heads are plain user pointers, links safe-linked */
	w16(&f, tc + 16 + 2 * 1, 2);
	w64(&f, tc + 16 + 128 + 8 * 1, x2 + 16);
	w64(&f, x2 + 16, (x1 + 16) ^ ((x2 + 16) >> 12));
	w64(&f, x1 + 16, 0 ^ ((x1 + 16) >> 12));
	/* fastbin 3: y2 -> y1; chunk pointers, fd at chunk+16 safe-linked */
	w64(&f, MAIN_AR + GL_ARENA_FASTBINS + 8 * 3, y2);
	w64(&f, y2 + 16, y1 ^ ((y2 + 16) >> 12));
	w64(&f, y1 + 16, 0 ^ ((y1 + 16) >> 12));

	if (!ASSERT_OK_PTR(c, "calloc") || !ASSERT_OK(census(&f, LIBC_RW, LIBC_RW + LIBC_RW_LEN, c), "census"))
		goto cleanup;
	a = &c->arenas[0];
	ASSERT_EQ(a->in_use, GL_TCACHE_CHUNK + 0x40 + 0x20, "in_use: tcache struct and two chunks");
	ASSERT_EQ(a->chunks_in_use, 3, "chunks_in_use");
	ASSERT_EQ(a->cached, 2 * 0x30 + 2 * 0x50, "cached: tcache and fastbin chunks");
	ASSERT_EQ(a->free, a->cached + a->top, "free: cached and top");
	ASSERT_EQ(a->free_resident, 0, "free_resident: cached chunks are not trimmed");
	ASSERT_EQ(a->pin_addr, last, "pin_addr");
	ASSERT_EQ(a->walk_cut, 0, "walk_cut");

	/* An impossible count (8 > tcache_count): not a tcache, its chunks in use. */
	w16(&f, tc + 16 + 2 * 1, 8);
	if (!ASSERT_OK(census(&f, LIBC_RW, LIBC_RW + LIBC_RW_LEN, c), "census, count 8"))
		goto cleanup;
	ASSERT_EQ(c->arenas[0].cached, 2 * 0x50, "cached: fastbins only");
	ASSERT_EQ(c->arenas[0].chunks_in_use, 5, "chunks_in_use with no tcache");
cleanup:
	free(c);
	fake_free(&f);
}

/* A bad chunk in the middle of the main heap: the walk stops there, keeping what
 * it counted before, and says so. */
TEST(census_corrupt_chunk)
{
	static const struct {
		uint64_t word;
		const char *what;
	} bad[] = {
		{ 0x48 | PREV_INUSE, "not 16-aligned" },
		{ 0x10 | PREV_INUSE, "below MINSIZE" },
		{ 0x100000 | PREV_INUSE, "past the heap" },
		{ 0x40 | IS_MMAPPED | PREV_INUSE, "IS_MMAPPED inside a heap" },
	};
	struct fs_census *c = calloc(1, sizeof(*c));
	uint64_t bad_chunk, top;
	struct fake f;
	struct lay l;

	fake_init(&f);
	fake_main(&f, 0x21000);
	l = (struct lay){ &f, HEAP };
	lay_use(&l, 0x30);
	lay_use(&l, 0x40);
	bad_chunk = lay_use(&l, 0x40);
	top = lay_top(&l, HEAP + 0x21000);
	w64(&f, MAIN_AR + GL_ARENA_TOP, top);
	if (!ASSERT_OK_PTR(c, "calloc"))
		goto cleanup;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const struct fs_census_arena *a = &c->arenas[0];

		w64(&f, bad_chunk + 8, bad[i].word);
		if (!ASSERT_OK(census(&f, LIBC_RW, LIBC_RW + LIBC_RW_LEN, c), bad[i].what))
			continue;
		ASSERT_EQ(a->walk_cut, 1, bad[i].what);
		ASSERT_EQ(c->approximate, 1, bad[i].what);
		ASSERT_HAS_STR(a->note, "chunk at 0x555555559070", bad[i].what);
		ASSERT_EQ(a->in_use, 0x70, bad[i].what);
		ASSERT_EQ(a->chunks_in_use, 2, bad[i].what);
		ASSERT_EQ(a->free, 0, bad[i].what);
		ASSERT_EQ(a->top, 0, bad[i].what);
	}

	/* A top chunk whose size runs past the heap. */
	w64(&f, bad_chunk + 8, 0x40 | PREV_INUSE);
	w64(&f, top + 8, 0x22000 | PREV_INUSE);
	if (!ASSERT_OK(census(&f, LIBC_RW, LIBC_RW + LIBC_RW_LEN, c), "bad top"))
		goto cleanup;
	ASSERT_EQ(c->arenas[0].walk_cut, 1, "bad top: walk_cut");
	ASSERT_HAS_STR(c->arenas[0].note, "top chunk", "bad top: note");
	ASSERT_EQ(c->arenas[0].in_use, 0xb0, "bad top: in_use kept");
	ASSERT_EQ(c->arenas[0].top, 0, "bad top: top");

cleanup:
	free(c);
	fake_free(&f);
}

TEST(census_mmapped_chunk)
{
	struct fs_census *c = calloc(1, sizeof(*c));
	struct fake f;
	struct lay l;
	uint64_t top;

	fake_init(&f);
	fake_main(&f, 0x21000);
	l = (struct lay){ &f, HEAP };
	lay_use(&l, 0x30);
	top = lay_top(&l, HEAP + 0x21000);
	w64(&f, MAIN_AR + GL_ARENA_TOP, top);
	/* a 128 KiB + 1 page malloc, and an anonymous mapping that is no chunk */
	fake_map(&f, MMAPPED, 0x21000);
	fake_region(&f, MMAPPED, MMAPPED + 0x21000, FS_RG_ANON, 0);
	w64(&f, MMAPPED + 8, 0x21000 | IS_MMAPPED);
	fake_map(&f, MMAPPED + 0x100000, 0x10000);
	fake_region(&f, MMAPPED + 0x100000, MMAPPED + 0x110000, FS_RG_ANON, 0);
	w64(&f, MMAPPED + 0x100000 + 8, 0x8000 | IS_MMAPPED | PREV_INUSE);	/* glibc never sets both */

	if (!ASSERT_OK_PTR(c, "calloc") || !ASSERT_OK(census(&f, LIBC_RW, LIBC_RW + LIBC_RW_LEN, c), "census"))
		goto cleanup;
	ASSERT_EQ(c->mmapped_chunks, 1, "mmapped_chunks");
	ASSERT_EQ(c->mmapped_bytes, 0x21000, "mmapped_bytes");
	ASSERT_EQ(c->in_use, 0x30 + 0x21000, "in_use: arena and mmapped chunk");
	ASSERT_EQ(c->mapped, 0x21000 + 0x21000 + 0x10000, "mapped");
	ASSERT_EQ(c->narenas, 1, "narenas");
cleanup:
	free(c);
	fake_free(&f);
}

/* glibc's mp_ (struct malloc_par) in the fake libc data: what the census reads. */
#define MP (LIBC_RW + 0x400)
static void fake_mp(struct fake *f, int32_t n_mmaps, uint64_t mmapped_mem)
{
	w64(f, MP + GL_MP_MMAP_THRESHOLD, 128 << 10);
	memcpy(at(f, MP + GL_MP_N_MMAPS, 4), &n_mmaps, 4);
	memcpy(at(f, MP + GL_MP_N_MMAPS_MAX, 4), &(int32_t){ 65536 }, 4);
	memcpy(at(f, MP + GL_MP_MAX_N_MMAPS, 4), &n_mmaps, 4);
	w64(f, MP + GL_MP_MMAPPED_MEM, mmapped_mem);
	w64(f, MP + GL_MP_MAX_MMAPPED_MEM, mmapped_mem);
	w64(f, MP + GL_MP_SBRK_BASE, HEAP);
	w64(f, MP + GL_MP_TCACHE_BINS, 64);
}

/* One VMA as the kernel merges it (mappings made top-down): chunk A, 64 KiB of the
 * program's own (not a chunk: Python's arenas, say), chunk B, 20 KiB of its own,
 * then chunk D with a 64-byte alignment offset (memalign). */
static void fake_interleaved(struct fake *f)
{
	uint64_t top;
	struct lay l;

	fake_main(f, 0x21000);
	l = (struct lay){ f, HEAP };
	lay_use(&l, 0x30);
	top = lay_top(&l, HEAP + 0x21000);
	w64(f, MAIN_AR + GL_ARENA_TOP, top);
	fake_map(f, MMAPPED, 0x60000);
	fake_region(f, MMAPPED, MMAPPED + 0x60000, FS_RG_ANON, 0);
	w64(f, MMAPPED + 8, 0x21000 | IS_MMAPPED);				/* A */
	memset(at(f, MMAPPED + 0x21000, 0x10000), 0x5a, 0x10000);		/* own */
	w64(f, MMAPPED + 0x31000 + 8, 0x22000 | IS_MMAPPED);			/* B */
	memset(at(f, MMAPPED + 0x53000, 0x5000), 0x5a, 0x5000);		/* own */
	w64(f, MMAPPED + 0x58040, 0x40);					/* D */
	w64(f, MMAPPED + 0x58048, (0x8000 - 0x40) | IS_MMAPPED);
}

/* Chunks after a mapping that is not one, in the same VMA: found by looking past
 * it, up to glibc's own count (mp_), which is found by its sbrk_base. */
TEST(census_mmapped_beside_own_mappings)
{
	struct fs_census *c = calloc(1, sizeof(*c));
	struct fake f;

	fake_init(&f);
	fake_interleaved(&f);
	fake_mp(&f, 2, 0x21000 + 0x22000);	/* D not made yet: glibc counts A and B */
	w64(&f, MMAPPED + 0x58048, 0);
	if (!ASSERT_OK_PTR(c, "calloc") || !ASSERT_OK(census(&f, LIBC_RW, LIBC_RW + LIBC_RW_LEN, c), "census"))
		goto cleanup;
	ASSERT_EQ(c->mp_valid, 1, "mp_ found");
	ASSERT_EQ(c->mp_addr, MP, "mp_ where it is");
	ASSERT_EQ(c->mmapped_chunks, 2, "A and B");
	ASSERT_EQ(c->mmapped_mapped, 0x43000, "their mappings: hblkhd");
	ASSERT_EQ(c->mm_unaccounted_chunks, 0, "nothing unaccounted");
	ASSERT_EQ(c->mm_unaccounted_bytes, 0, "nothing unaccounted, bytes");
	ASSERT_EQ(c->mm_scanned, 1, "looked past the program's own mapping");
	ASSERT_EQ(c->nmm, 2, "two ranges");
	ASSERT_EQ(c->mm[1].start, MMAPPED + 0x31000, "B's range");
	ASSERT_EQ(c->in_use, 0x30 + 0x21000 + 0x22000, "in_use");
	ASSERT_FALSE(c->approximate, "not approximate");
cleanup:
	free(c);
	fake_free(&f);
}

/* What the search cannot find (a chunk with an alignment offset past a foreign
 * mapping) is said: glibc's count less what was found, never a silent gap; and
 * without glibc's count (no mp_ found), nothing is claimed about completeness. */
TEST(census_mmapped_unaccounted)
{
	struct fs_census *c = calloc(1, sizeof(*c));
	struct fake f;

	fake_init(&f);
	fake_interleaved(&f);
	fake_mp(&f, 3, 0x21000 + 0x22000 + 0x8000);
	if (!ASSERT_OK_PTR(c, "calloc") || !ASSERT_OK(census(&f, LIBC_RW, LIBC_RW + LIBC_RW_LEN, c), "census"))
		goto cleanup;
	ASSERT_EQ(c->mmapped_chunks, 2, "A and B found");
	ASSERT_EQ(c->mp_chunks, 3, "glibc counts 3");
	ASSERT_EQ(c->mm_unaccounted_chunks, 1, "D unaccounted");
	ASSERT_EQ(c->mm_unaccounted_bytes, 0x8000, "its mapping's bytes");
	/* an mp_ whose sbrk_base is not the heap's: not glibc's, not used */
	w64(&f, MP + GL_MP_SBRK_BASE, HEAP + 0x100000);
	if (!ASSERT_OK(census(&f, LIBC_RW, LIBC_RW + LIBC_RW_LEN, c), "census 2"))
		goto cleanup;
	ASSERT_EQ(c->mp_valid, 0, "no mp_");
	ASSERT_EQ(c->mm_unaccounted_chunks, 0, "unaccounted: not known (0, mp_valid 0)");
	ASSERT_EQ(c->mm_scanned, 0, "no count to search for: no page-by-page search");
	ASSERT_EQ(c->mmapped_chunks, 1, "A only, from the VMA's start");
cleanup:
	free(c);
	fake_free(&f);
}

/* Regression tests of bugs census.c had, each asserting what glibc's heap holds. */

/* A non-newest heap whose rw mapping ends at heap_info.size (no shrink since it
 * grew: the usual case). rd64's fallback read of 64 bytes at end-24 fails, so the
 * old top counts as in use and the fencepost is "unreadable". */
TEST(census_bug_fencepost_at_mapping_end)
{
	struct fs_census *c = calloc(1, sizeof(*c));
	const struct fs_census_arena *a;
	struct threads t;
	struct fake f;

	fake_threads(&f, 0x10000, &t);
	if (!ASSERT_OK_PTR(c, "calloc") || !ASSERT_OK(census(&f, 0, 0, c), "census"))
		goto cleanup;
	a = arena_of(c, AR_A);
	if (!ASSERT_OK_PTR(a, "arena A"))
		goto cleanup;
	ASSERT_EQ(a->walk_cut, 0, "walk_cut");
	ASSERT_EQ(a->in_use, GL_TCACHE_CHUNK + 0x200 + 0x40 + 0x80, "in_use: old top is free");
	ASSERT_EQ(a->free, a->top + (TH_A1 + 0x10000 - 32 - t.a_old_top), "free");
cleanup:
	free(c);
	fake_free(&f);
}

/* A thread's tcache holds chunks of any arena, and a later heap of its arena sits
 * below the first: chunks walked before the tcache_perthread_struct is met are
 * counted in use. */
TEST(census_bug_tcache_met_late)
{
	struct fs_census *c = calloc(1, sizeof(*c));
	const struct fs_census_arena *a;
	struct threads t;
	struct fake f;

	fake_threads(&f, 0x20000, &t);
	w16(&f, t.a_tcache + 16 + 2 * 2, 1);			/* bin 2: 0x40 */
	w64(&f, t.a_tcache + 16 + 128 + 8 * 2, t.a2_first + 16);
	w64(&f, t.a2_first + 16, 0 ^ ((t.a2_first + 16) >> 12));
	if (!ASSERT_OK_PTR(c, "calloc") || !ASSERT_OK(census(&f, 0, 0, c), "census"))
		goto cleanup;
	a = arena_of(c, AR_A);
	if (!ASSERT_OK_PTR(a, "arena A"))
		goto cleanup;
	ASSERT_EQ(a->cached, 0x40, "cached: A2's chunk in A1's tcache");
	ASSERT_EQ(a->in_use, GL_TCACHE_CHUNK + 0x200 + 0x80, "in_use");
cleanup:
	free(c);
	fake_free(&f);
}

/* pin_addr is "the highest in-use chunk below top": in the heap holding top, not
 * whichever heap of the arena the walk happened to visit last. */
TEST(census_bug_pin_in_top_heap)
{
	struct fs_census *c = calloc(1, sizeof(*c));
	const struct fs_census_arena *a;
	struct threads t;
	struct fake f;

	fake_threads(&f, 0x20000, &t);
	if (!ASSERT_OK_PTR(c, "calloc") || !ASSERT_OK(census(&f, 0, 0, c), "census"))
		goto cleanup;
	a = arena_of(c, AR_A);
	if (!ASSERT_OK_PTR(a, "arena A"))
		goto cleanup;
	ASSERT_EQ(a->pin_addr, t.a2_last, "pin_addr: below A's top, in A2");
	ASSERT_EQ(a->pin_size, 0x80, "pin_size");
cleanup:
	free(c);
	fake_free(&f);
}

/* A size that wraps p + size past 2^64 passes `p + size > end`: the walk goes
 * backwards and adds ~2^64 to free and largest_free. */
TEST(census_bug_size_wraps)
{
	struct fs_census *c = calloc(1, sizeof(*c));
	const struct fs_census_arena *a;
	uint64_t bad_chunk, top;
	struct fake f;
	struct lay l;

	fake_init(&f);
	fake_main(&f, 0x21000);
	l = (struct lay){ &f, HEAP };
	lay_use(&l, 0x30);
	lay_use(&l, 0x40);
	bad_chunk = lay_use(&l, 0x40);
	top = lay_top(&l, HEAP + 0x21000);
	w64(&f, MAIN_AR + GL_ARENA_TOP, top);
	w64(&f, bad_chunk + 8, 0xfffffffffffffff0ULL | PREV_INUSE);
	if (!ASSERT_OK_PTR(c, "calloc") || !ASSERT_OK(census(&f, LIBC_RW, LIBC_RW + LIBC_RW_LEN, c), "census"))
		goto cleanup;
	a = &c->arenas[0];
	ASSERT_EQ(a->walk_cut, 1, "walk_cut");
	ASSERT_HAS_STR(a->note, "chunk at 0x555555559070", "note names the bad chunk");
	ASSERT_EQ(a->in_use, 0x70, "in_use");
	ASSERT_EQ(a->free, 0, "free");
	ASSERT_EQ(a->largest_free, 0, "largest_free");
cleanup:
	free(c);
	fake_free(&f);
}

/* main_arena.top inside a chunk (read as the heap changed): the walk steps over it
 * and counts the top chunk in use, with no note. */
TEST(census_bug_top_never_met)
{
	struct fs_census *c = calloc(1, sizeof(*c));
	struct fake f;
	struct lay l;
	uint64_t top;

	fake_init(&f);
	fake_main(&f, 0x21000);
	l = (struct lay){ &f, HEAP };
	lay_use(&l, 0x30);
	top = lay_top(&l, HEAP + 0x21000);
	w64(&f, MAIN_AR + GL_ARENA_TOP, top + 0x1000);
	if (!ASSERT_OK_PTR(c, "calloc") || !ASSERT_OK(census(&f, LIBC_RW, LIBC_RW + LIBC_RW_LEN, c), "census"))
		goto cleanup;
	ASSERT_EQ(c->arenas[0].walk_cut, 1, "walk_cut: top never met");
	ASSERT_EQ(c->approximate, 1, "approximate");
cleanup:
	free(c);
	fake_free(&f);
}

/* find_main_arena's loop stops one word early: an arena ending at rw_hi is missed. */
TEST(census_bug_arena_at_range_end)
{
	struct fs_census *c = calloc(1, sizeof(*c));
	uint64_t ar = LIBC_RW + LIBC_RW_LEN - GL_ARENA_SIZE, top;
	struct fake f;
	struct lay l;

	fake_init(&f);
	fake_main(&f, 0x21000);
	l = (struct lay){ &f, HEAP };
	lay_use(&l, 0x30);
	top = lay_top(&l, HEAP + 0x21000);
	w64(&f, MAIN_AR + GL_ARENA_NEXT, 0);	/* no arena at the usual place */
	fake_arena(&f, ar, top, ar, 0x21000);
	if (!ASSERT_OK_PTR(c, "calloc") || !ASSERT_OK(census(&f, LIBC_RW, LIBC_RW + LIBC_RW_LEN, c), "census"))
		goto cleanup;
	ASSERT_EQ(c->arenas[0].ar_ptr, ar, "main_arena at the range's end");
cleanup:
	free(c);
	fake_free(&f);
}

/* An empty tcache met before anything was cached: census.c calls qsort(NULL, 0),
 * which UBSan reports (nonnull argument); fatal with -fno-sanitize-recover. */
TEST(census_bug_empty_tcache_qsort_null)
{
	struct fs_census *c = calloc(1, sizeof(*c));
	struct fake f;
	struct lay l;
	uint64_t top;

	fake_init(&f);
	fake_main(&f, 0x21000);
	l = (struct lay){ &f, HEAP };
	lay_use(&l, GL_TCACHE_CHUNK);
	top = lay_top(&l, HEAP + 0x21000);
	w64(&f, MAIN_AR + GL_ARENA_TOP, top);
	if (!ASSERT_OK_PTR(c, "calloc") || !ASSERT_OK(census(&f, LIBC_RW, LIBC_RW + LIBC_RW_LEN, c), "census"))
		goto cleanup;
	ASSERT_EQ(c->arenas[0].in_use, GL_TCACHE_CHUNK, "in_use");
cleanup:
	free(c);
	fake_free(&f);
}



/* The reader's window after a read that ran short: a heap of 1.5 MiB is read as a
 * 1 MiB window, then a read past the mapping's end, which (as pread on
 * /proc/PID/mem does) fills part of the buffer before failing. The window kept
 * describing the first MiB while holding the second: the main walk, starting over
 * at the heap's start, read chunk sizes from the wrong place ("heap changed"). */
TEST(census_window_after_short_read)
{
	static const uint64_t sizes[] = { 0x20, 0x30, 0x110, 0x40, 0x1010, 0x90, 0x250 };
	struct fs_census *c = calloc(1, sizeof(*c));
	uint64_t len = 0x180000, in_use = 0, n = 0, top;
	struct fake f;
	struct lay l;

	fake_init(&f);
	fake_main(&f, len);
	l = (struct lay){ &f, HEAP };
	while (l.p < HEAP + len - 0x4000) {
		in_use += sizes[n % 7];
		lay_use(&l, sizes[n++ % 7]);
	}
	top = lay_top(&l, HEAP + len);
	w64(&f, MAIN_AR + GL_ARENA_TOP, top);
	if (!ASSERT_OK_PTR(c, "calloc") || !ASSERT_OK(census(&f, LIBC_RW, LIBC_RW + LIBC_RW_LEN, c), "census"))
		goto cleanup;
	ASSERT_EQ(c->arenas[0].walk_cut, 0, "walk_cut");
	ASSERT_EQ(c->arenas[0].in_use, in_use, "in_use");
	ASSERT_EQ(c->arenas[0].chunks_in_use, n, "chunks_in_use");
	ASSERT_EQ(c->arenas[0].top, HEAP + len - top, "top");
	ASSERT_EQ(c->approximate, 0, "approximate");
cleanup:
	free(c);
	fake_free(&f);
}

/* Pages that hold nothing (never touched, or given back) are never read: a read
 * through /proc/PID/mem would fault them in. Their contents are zeros: no chunk
 * header is there. A swapped page has contents and is read; it is not resident.
 * Mmapped chunks side by side in one mapping (the kernel merged them) are walked
 * chunk by chunk, a memalign'ed one included, up to the first thing that is not
 * a chunk. */
#define MM2 (MMAPPED + 0x100000)	/* a mapping whose first page holds nothing */
#define MM3 (MMAPPED + 0x200000)	/* one chunk of its own */
TEST(census_never_reads_empty_pages)
{
	struct fs_census *c = calloc(1, sizeof(*c));
	const struct fs_census_arena *a;
	uint64_t top;
	struct fake f;
	struct lay l;

	fake_init(&f);
	fake_main(&f, 0x40000);
	l = (struct lay){ &f, HEAP };
	lay_use(&l, 0x30);
	lay_use(&l, 0x8fd0);		/* to +0x9000: live, pages 1 to 8 never written */
	lay_free(&l, 0x6000);		/* to +0xf000: only pages 9 and 0xc resident */
	lay_use(&l, 0x40);		/* on a swapped page */
	top = lay_top(&l, HEAP + 0x40000);
	w64(&f, MAIN_AR + GL_ARENA_TOP, top);
	fake_page(&f, HEAP);
	fake_page(&f, HEAP + 0x9000);
	fake_page(&f, HEAP + 0xc000);
	fake_pages(&f, HEAP + 0xf000, HEAP + 0x10000, FS_PG_SWAPPED);
	fake_page(&f, HEAP + 0x10000);
	fake_pages(&f, HEAP + 0x11000, HEAP + 0x12000, FS_PG_ZERO);	/* read once: zero page */
	fake_pages(&f, LIBC_RW, LIBC_RW + LIBC_RW_LEN, FS_PG_RESIDENT);

	/* one mapping: chunks of 0x5000, 0x3000 (user pointer aligned 0x40 further:
	 * prev_size 0x40) and 0x2000, then program data, then what looks like a chunk */
	fake_map(&f, MMAPPED, 0x20000);
	fake_region(&f, MMAPPED, MMAPPED + 0x20000, FS_RG_ANON, 0);
	w64(&f, MMAPPED + 8, 0x5000 | IS_MMAPPED);
	fake_page(&f, MMAPPED);
	w64(&f, MMAPPED + 0x5040, 0x40);
	w64(&f, MMAPPED + 0x5048, (0x3000 - 0x40) | IS_MMAPPED);
	fake_page(&f, MMAPPED + 0x5000);
	w64(&f, MMAPPED + 0x8008, 0x2000 | IS_MMAPPED);
	fake_pages(&f, MMAPPED + 0x8000, MMAPPED + 0xa000, FS_PG_RESIDENT);
	w64(&f, MMAPPED + 0xa000, 0x1234);
	w64(&f, MMAPPED + 0xa008, 0x5678);
	w64(&f, MMAPPED + 0xb008, 0x1000 | IS_MMAPPED);
	fake_pages(&f, MMAPPED + 0xa000, MMAPPED + 0xc000, FS_PG_RESIDENT);
	fake_map(&f, MM2, 0x3000);
	fake_region(&f, MM2, MM2 + 0x3000, FS_RG_ANON, 0);
	fake_map(&f, MM3, 0x2000);
	fake_region(&f, MM3, MM3 + 0x2000, FS_RG_ANON, 0);
	w64(&f, MM3 + 8, 0x2000 | IS_MMAPPED);
	fake_page(&f, MM3);

	if (!ASSERT_OK_PTR(c, "calloc") || !ASSERT_OK(census(&f, LIBC_RW, LIBC_RW + LIBC_RW_LEN, c), "census"))
		goto cleanup;
	ASSERT_EQ(f.faults, 0, "reads of pages holding nothing");
	a = &c->arenas[0];
	ASSERT_EQ(a->walk_cut, 0, "walk_cut");
	ASSERT_EQ(a->in_use, 0x30 + 0x8fd0 + 0x40, "in_use");
	ASSERT_EQ(a->free, 0x6000 + a->top, "free");
	/* the free chunk: page 0xc; top (from +0xf040): page 0x10, not the swapped one
	 * nor the zero page */
	ASSERT_EQ(a->free_resident, 2 * PG, "free_resident: resident pages only");
	ASSERT_EQ(c->mmapped_chunks, 4, "mmapped_chunks: three side by side, one alone");
	ASSERT_EQ(c->mmapped_bytes, 0x5000 + 0x2fc0 + 0x2000 + 0x2000, "mmapped_bytes: chunk sizes");
	if (!ASSERT_EQ(c->nmm, 2, "nmm"))
		goto cleanup;
	ASSERT_EQ(c->mm[0].start, MMAPPED, "range 0 start");
	ASSERT_EQ(c->mm[0].end, MMAPPED + 0xa000, "range 0 end: not the program's data after it");
	ASSERT_EQ(c->mm[0].resident, 4 * PG, "range 0 resident");
	ASSERT_EQ(c->mm[1].start, MM3, "range 1 start");
	ASSERT_EQ(c->mm[1].end, MM3 + 0x2000, "range 1 end");
	ASSERT_EQ(c->mm[1].resident, PG, "range 1 resident");
	ASSERT_EQ(c->mm_more, 0, "mm_more");
	ASSERT_EQ(c->in_use, a->in_use + c->mmapped_bytes, "census in_use");
	ASSERT_EQ(c->approximate, 0, "approximate");
cleanup:
	free(c);
	fake_free(&f);
}

/* What malloc_trim(0) releases: it consolidates fastbin chunks first, so a fastbin
 * chunk beside a free chunk widens it (one more page here), and one below top
 * joins top; a thread arena's top is never trimmed by it. */
TEST(census_trim_prediction)
{
	struct fs_census *c = calloc(1, sizeof(*c));
	uint64_t f1, f2, f3, f4, top;
	const struct fs_census_arena *a, *b;
	struct threads t;
	struct fake f;
	struct lay l;

	fake_init(&f);
	fake_main(&f, 0x20000);
	l = (struct lay){ &f, HEAP };
	lay_use(&l, 0x30);
	f1 = lay_use(&l, 0x40);		/* fastbin */
	lay_free(&l, 0x3f90);		/* to +0x4000 */
	f2 = lay_use(&l, 0x40);
	f3 = lay_use(&l, 0x40);
	lay_free(&l, 0x1f80);		/* to +0x6000 */
	lay_use(&l, 0xfd0);
	f4 = lay_use(&l, 0x30);
	top = lay_top(&l, HEAP + 0x20000);	/* at +0x7000 */
	w64(&f, MAIN_AR + GL_ARENA_TOP, top);
	w64(&f, MAIN_AR + GL_ARENA_FASTBINS + 8 * 2, f3);	/* 0x40: f3 -> f2 -> f1 */
	w64(&f, f3 + 16, f2 ^ ((f3 + 16) >> 12));
	w64(&f, f2 + 16, f1 ^ ((f2 + 16) >> 12));
	w64(&f, f1 + 16, 0 ^ ((f1 + 16) >> 12));
	w64(&f, MAIN_AR + GL_ARENA_FASTBINS + 8 * 1, f4);	/* 0x30 */
	w64(&f, f4 + 16, 0 ^ ((f4 + 16) >> 12));
	fake_pages(&f, HEAP, HEAP + 0x20000, FS_PG_RESIDENT);
	fake_pages(&f, LIBC_RW, LIBC_RW + LIBC_RW_LEN, FS_PG_RESIDENT);
	if (!ASSERT_OK_PTR(c, "calloc") || !ASSERT_OK(census(&f, LIBC_RW, LIBC_RW + LIBC_RW_LEN, c), "census"))
		goto cleanup;
	a = &c->arenas[0];
	ASSERT_EQ(a->cached, 3 * 0x40 + 0x30, "cached: the fastbin chunks");
	/* [+0x30, +0x6000) after consolidation: pages 1 to 5; top from +0x6fd0 keeps
	 * 33 bytes: pages 7 to 0x1f */
	ASSERT_EQ(a->free_resident, (5 + 0x19) * PG, "free_resident");
	fake_free(&f);

	fake_threads(&f, 0x20000, &t);
	fake_pages(&f, HEAP, HEAP + 0x21000, FS_PG_RESIDENT);
	fake_pages(&f, TH_A2, TH_A2 + 0x8000, FS_PG_RESIDENT);
	fake_pages(&f, TH_A1, TH_A1 + 0x20000, FS_PG_RESIDENT);
	fake_pages(&f, TH_B, TH_B + 0x8000, FS_PG_RESIDENT);
	if (!ASSERT_OK(census(&f, 0, 0, c), "census, threads"))
		goto cleanup;
	a = arena_of(c, AR_A);
	b = arena_of(c, AR_B);
	if (!ASSERT_OK_PTR(a, "arena A") || !ASSERT_OK_PTR(b, "arena B"))
		goto cleanup;
	ASSERT_EQ(b->free_resident, 0, "B: its top is not trimmed");
	ASSERT_EQ(a->free_resident, ((TH_A1 + 0x10000 - 32) & ~(PG - 1)) - ((t.a_old_top + 48 + PG - 1) & ~(PG - 1)),
		  "A: the old top only, not its top");
	ASSERT_EQ(c->arenas[0].free_resident, 0x20 * PG, "main: top with the fastbin chunk below it");
cleanup:
	free(c);
	fake_free(&f);
}

/* Two heaps of one arena, the newer one full (read-write to its end), so the
 * kernel merged them into one VMA: the second heap, with its own heap_info 64 MiB
 * in, is walked too. */
TEST(census_heaps_in_one_mapping)
{
	struct fs_census *c = calloc(1, sizeof(*c));
	const struct fs_census_arena *a;
	uint64_t top, old_top, x;
	struct fake f;
	struct lay l;

	fake_init(&f);
	fake_main(&f, 0x21000);
	l = (struct lay){ &f, HEAP };
	lay_use(&l, 0x30);
	w64(&f, MAIN_AR + GL_ARENA_TOP, lay_top(&l, HEAP + 0x21000));
	fake_map(&f, TH_A2, GL_HEAP_MAX + 0x10000);
	fake_region(&f, TH_A2, TH_A1 + 0x10000, FS_RG_ARENA_HEAP, AR_A);
	for (x = TH_A2; x <= TH_A1; x += GL_HEAP_MAX) {
		w64(&f, x, AR_A);
		w64(&f, x + 8, x == TH_A2 ? TH_A1 : 0);
		w64(&f, x + 16, x == TH_A2 ? GL_HEAP_MAX : 0x10000);
		w64(&f, x + 24, x == TH_A2 ? GL_HEAP_MAX : 0x10000);
		w64(&f, x + 32, PG);
	}
	l = (struct lay){ &f, TH_A2 + GL_HEAP_INFO_SIZE, NON_MAIN };
	lay_use(&l, 0x40);
	lay_use(&l, 0x80);
	top = lay_top(&l, TH_A2 + GL_HEAP_MAX);
	l = (struct lay){ &f, FIRST_AFTER_ARENA(TH_A1), NON_MAIN };
	lay_use(&l, GL_TCACHE_CHUNK);
	lay_use(&l, 0x200);
	old_top = lay_fenceposts(&l, TH_A1 + 0x10000);
	fake_arena(&f, AR_A, top, MAIN_AR, GL_HEAP_MAX + 0x10000);
	w64(&f, MAIN_AR + GL_ARENA_NEXT, AR_A);
	if (!ASSERT_OK_PTR(c, "calloc") || !ASSERT_OK(census(&f, LIBC_RW, LIBC_RW + LIBC_RW_LEN, c), "census"))
		goto cleanup;
	a = arena_of(c, AR_A);
	if (!ASSERT_OK_PTR(a, "arena A"))
		goto cleanup;
	ASSERT_EQ(a->heaps, 2, "heaps");
	ASSERT_EQ(a->size, GL_HEAP_MAX + 0x10000, "size");
	ASSERT_EQ(a->in_use, 0x40 + 0x80 + GL_TCACHE_CHUNK + 0x200, "in_use: both heaps");
	ASSERT_EQ(a->free, (TH_A2 + GL_HEAP_MAX - top) + (TH_A1 + 0x10000 - 32 - old_top), "free: top and old top");
	ASSERT_EQ(a->walk_cut, 0, "walk_cut");
	ASSERT_EQ(c->mapped, 0x21000 + GL_HEAP_MAX + 0x10000, "mapped: the VMA once");
	ASSERT_EQ(c->approximate, 0, "approximate");
cleanup:
	free(c);
	fake_free(&f);
}

/* snapshot's diagnosis from a census is glibc's backend's: what malloc_trim would
 * release when free resident memory is a quarter or more, else little to give back. */
TEST(census_diagnosis_glibc)
{
	const struct fs_allocator *g = alloc__by_id(FS_ALLOC_GLIBC);
	struct fs_census *c = calloc(1, sizeof(*c));
	char buf[512];
	int kind = -1;

	if (!ASSERT_OK_PTR(c, "calloc") || !ASSERT_OK_PTR(g->census_diagnosis, "glibc's hook")) {
		free(c);
		return;
	}
	c->in_use = 10ULL << 20;
	c->free = 45ULL << 20;
	c->free_resident = 40ULL << 20;
	c->resident = 50ULL << 20;
	g->census_diagnosis(c, buf, sizeof(buf), &kind);
	ASSERT_EQ(kind, FS_D_RETENTION, "retention");
	ASSERT_STREQ(buf, "malloc_trim would release about 40.0 MiB now: 40.0 MiB of free memory is resident inside "
			  "glibc's heaps (10.0 MiB in use). glibc never returns free pages in the middle of a heap on "
			  "its own.", "its text");
	c->free_resident = 2ULL << 20;
	g->census_diagnosis(c, buf, sizeof(buf), &kind);
	ASSERT_EQ(kind, FS_D_NONE, "little free: none");
	ASSERT_STREQ(buf, "10.0 MiB in use, 45.0 MiB free of which 2.0 MiB resident: little to give back", "little");
	/* a quarter of glibc's own chunks, not of all the anonymous memory looked at
	 * (python3: 18.4 MiB to trim in a 20 MiB heap beside 347 MiB of pymalloc's arenas) */
	c->in_use = 2ULL << 20;
	c->free = 19ULL << 20;
	c->free_resident = 18ULL << 20;
	c->resident = 368ULL << 20;
	g->census_diagnosis(c, buf, sizeof(buf), &kind);
	ASSERT_EQ(kind, FS_D_RETENTION, "most of glibc's heap free and resident: retention, whatever lies beside it");
	free(c);
}
