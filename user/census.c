/* census.c - a read-only walk of glibc's arenas in another process. Every pointer
 * and size is checked before use: the process keeps running, so a chunk that does
 * not add up ends that heap's walk with a note, never a wrong total. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "census.h"

#define PAGE 4096ULL
#define WINDOW (1ULL << 20)	/* bytes read from the target at a time */
#define FL_PREV_INUSE 1ULL
#define FL_MMAPPED 2ULL
#define FL_NON_MAIN 4ULL
#define CHUNK_FREE_HDR 48ULL	/* malloc_trim keeps a free chunk's header and list links */

/* A window onto the target's memory, so a walk reads each byte once. */
struct reader {
	fs_read_fn rd;
	void *ctx;
	uint8_t *buf;
	uint64_t lo, hi;	/* buffered [lo, hi) */
	uint64_t *bytes_read;
};

static int rd64(struct reader *r, uint64_t addr, uint64_t *v)
{
	if (addr < r->lo || addr + 8 > r->hi) {
		if (r->rd(r->ctx, addr & ~7ULL, r->buf, WINDOW)) {
			/* near the end of a mapping: only what was asked */
			*r->bytes_read += 8;
			return r->rd(r->ctx, addr, v, 8) ? -EFAULT : 0;
		} else {
			r->lo = addr & ~7ULL;
			r->hi = r->lo + WINDOW;
		}
		*r->bytes_read += r->hi - r->lo;
		if (addr + 8 > r->hi)
			return -EFAULT;
	}
	memcpy(v, r->buf + (addr - r->lo), 8);
	return 0;
}

static int read_direct(struct reader *r, uint64_t addr, uint64_t *v)
{
	return r->rd(r->ctx, addr, v, 8);
}

static const struct fs_region *region_of(const struct fs_regions *rs, uint64_t a)
{
	for (int i = 0; i < rs->n; i++)
		if (a >= rs->r[i].start && a < rs->r[i].end)
			return &rs->r[i];
	return NULL;
}

static struct fs_census_arena *arena_for(struct fs_census *c, uint64_t ar_ptr, int main)
{
	for (int i = 0; i < c->narenas; i++)
		if (c->arenas[i].ar_ptr == ar_ptr)
			return &c->arenas[i];
	if (c->narenas >= FS_CENSUS_MAX_ARENAS)
		return NULL;
	memset(&c->arenas[c->narenas], 0, sizeof(c->arenas[0]));
	c->arenas[c->narenas].ar_ptr = ar_ptr;
	c->arenas[c->narenas].main = main;
	return &c->arenas[c->narenas++];
}

/* Resident pages malloc_trim could release from a free chunk [p, p + size). */
static uint64_t releasable(uint64_t p, uint64_t size, fs_present_fn present, void *pctx)
{
	uint64_t lo = (p + CHUNK_FREE_HDR + PAGE - 1) & ~(PAGE - 1), hi = (p + size) & ~(PAGE - 1), n, r = 0;
	uint8_t pres[256];

	if (!present || hi <= lo)
		return 0;
	for (uint64_t a = lo; a < hi; a += n * PAGE) {
		n = (hi - a) / PAGE < sizeof(pres) ? (hi - a) / PAGE : sizeof(pres);
		if (present(pctx, a, n, pres))
			return r;
		for (uint64_t i = 0; i < n; i++)
			r += pres[i] ? PAGE : 0;
	}
	return r;
}

/* Chunks parked in fastbins or a tcache look in use to the heap walk: collect their
 * addresses first so they are counted as free (cached). Lists are protected by
 * glibc's safe-linking: next = stored ^ (address of the field >> 12). */
struct addrset {
	uint64_t *a;
	long n, cap;
};

static void set_add(struct addrset *s, uint64_t v)
{
	if (s->n == s->cap) {
		long cap = s->cap ? s->cap * 2 : 1024;
		uint64_t *n = realloc(s->a, sizeof(*n) * (size_t)cap);

		if (!n)
			return;
		s->a = n;
		s->cap = cap;
	}
	s->a[s->n++] = v;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int set_has(const struct addrset *s, uint64_t v)
{
	return s->n && bsearch(&v, s->a, (size_t)s->n, sizeof(v), cmp_u64);
}

/* mem: user pointer of the first entry. tcache links hold user pointers; fastbin
 * links hold chunk pointers (user pointer - 16). */
static void walk_list(struct reader *r, uint64_t mem, const struct fs_regions *rs, struct addrset *out,
		      int limit, int fastbin)
{
	for (int i = 0; mem && i < limit; i++) {
		uint64_t stored, next;

		if ((mem & (GL_ALIGN - 1)) || !region_of(rs, mem) || read_direct(r, mem, &stored))
			return;
		set_add(out, mem - 16);
		next = stored ^ (mem >> 12);
		mem = next && fastbin ? next + 16 : next;
	}
}

static void fastbin_chunks(struct reader *r, const struct fs_regions *rs, uint64_t ar_ptr, struct addrset *cached)
{
	for (int i = 0; i < 10; i++) {
		uint64_t ch;

		if (read_direct(r, ar_ptr + GL_ARENA_FASTBINS + 8 * (uint64_t)i, &ch) || !ch)
			continue;
		walk_list(r, ch + 16, rs, cached, 100000, 1);
	}
}

/* A tcache_perthread_struct: counts[64] (uint16, at most 7 each), entries[64], an
 * entry present exactly where its count is not 0. Its chunks are cached, not live. */
static int tcache_chunks(struct reader *r, const struct fs_regions *rs, uint64_t mem, struct addrset *cached)
{
	uint16_t counts[64];
	uint64_t entries[64];

	if (r->rd(r->ctx, mem, counts, sizeof(counts)) || r->rd(r->ctx, mem + 128, entries, sizeof(entries)))
		return 0;
	for (int i = 0; i < 64; i++)
		if (counts[i] > 7 || !counts[i] != !entries[i])
			return 0;
	for (int i = 0; i < 64; i++)
		if (entries[i])
			walk_list(r, entries[i], rs, cached, counts[i], 0);
	return 1;
}

struct walk {
	struct reader *r;
	const struct fs_regions *rs;
	fs_present_fn present;
	void *pctx;
	struct fs_census *c;
	struct addrset *cached;
	void (*progress)(uint64_t, uint64_t);
	uint64_t done, total;
};

/* First pass over a heap: chunk headers only, to find every thread's tcache, whose
 * chunks look in use to the walk that counts (a tcache may hold chunks of any heap). */
static void find_tcaches(struct walk *w, uint64_t p, uint64_t end, uint64_t top)
{
	while (p + 16 <= end && p != top) {
		uint64_t word, size;

		if (rd64(w->r, p + 8, &word))
			return;
		size = word & ~7ULL;
		if (size < GL_MINSIZE || (size & (GL_ALIGN - 1)) || size > end - p || (word & FL_MMAPPED))
			return;
		if (size == GL_TCACHE_CHUNK)
			tcache_chunks(w->r, w->rs, p + 16, w->cached);
		p += size;
	}
}

/* Walks chunks from first to the top chunk (or the heap's end). */
static void walk_heap(struct walk *w, struct fs_census_arena *a, uint64_t first, uint64_t end, uint64_t top)
{
	uint64_t p = first, size, next_size, pin = 0, pin_size = 0;

	while (p + 16 <= end) {
		uint64_t word;
		int in_use;

		if (rd64(w->r, p + 8, &word)) {
			a->walk_cut = 1;
			snprintf(a->note, sizeof(a->note), "unreadable chunk at 0x%llx", (unsigned long long)p);
			return;
		}
		size = word & ~7ULL;
		if (p == top) {
			if (size < GL_MINSIZE || (size & (GL_ALIGN - 1)) || size > end - p) {
				a->walk_cut = 1;
				snprintf(a->note, sizeof(a->note), "top chunk at 0x%llx has size 0x%llx",
					 (unsigned long long)p, (unsigned long long)size);
				return;
			}
			a->top += size;
			a->free += size;
			if (size > a->largest_free)
				a->largest_free = size;
			a->free_resident += releasable(p, size, w->present, w->pctx);
			break;
		}
		/* the last two words of a non-main heap that is not the arena's newest */
		if (size < GL_MINSIZE && size + 16 >= end - p)
			break;
		if (size < GL_MINSIZE || (size & (GL_ALIGN - 1)) || size > end - p || (word & FL_MMAPPED)) {
			a->walk_cut = 1;
			snprintf(a->note, sizeof(a->note), "chunk at 0x%llx has size 0x%llx: heap changed during the walk",
				 (unsigned long long)p, (unsigned long long)word);
			return;
		}
		/* in use if the next chunk says its predecessor is */
		if (p + size + 16 > end || rd64(w->r, p + size + 8, &next_size)) {
			in_use = 1;
		} else {
			in_use = next_size & FL_PREV_INUSE;
		}
		if (in_use && !set_has(w->cached, p)) {
			a->in_use += size;
			a->chunks_in_use++;
			pin = p;
			pin_size = size;
		} else {
			a->free += size;
			if (in_use)
				a->cached += size;
			else
				a->free_resident += releasable(p, size, w->present, w->pctx);
			if (size > a->largest_free)
				a->largest_free = size;
		}
		w->done += size;
		if (w->progress && w->total > (256ULL << 20) && !(w->done & ((64ULL << 20) - 1)))
			w->progress(w->done, w->total);
		p += size;
	}
	if (top && p != top) {
		/* top was not on the chunk chain: the heap changed while it was read */
		a->walk_cut = 1;
		snprintf(a->note, sizeof(a->note), "the walk never met the top chunk at 0x%llx: heap changed",
			 (unsigned long long)top);
		return;
	}
	if (pin && (top || !a->pin_addr)) {	/* the heap holding top decides what pins it */
		a->pin_addr = pin;
		a->pin_size = pin_size;
	}
}

/* A thread heap's first chunk: after heap_info, and after the arena itself in the
 * arena's first heap, placed so that its user pointer is 16-aligned. */
static uint64_t heap_first_chunk(const struct fs_region *g)
{
	uint64_t first = g->start + GL_HEAP_INFO_SIZE;

	if (g->ar_ptr >= g->start && g->ar_ptr < g->end)
		first = g->ar_ptr + GL_ARENA_SIZE;
	return ((first + 16 + GL_ALIGN - 1) & ~(GL_ALIGN - 1)) - 16;
}

static int valid_arena(struct reader *r, const struct fs_regions *rs, uint64_t ar, uint64_t *top, uint64_t *next)
{
	const struct fs_region *tr;

	if (!ar || (ar & 7) || read_direct(r, ar + GL_ARENA_TOP, top) || read_direct(r, ar + GL_ARENA_NEXT, next))
		return 0;
	tr = region_of(rs, *top);
	return tr && (tr->kind == FS_RG_HEAP || tr->kind == FS_RG_ARENA_HEAP) && !(*top & (GL_ALIGN - 1)) &&
	       *next && !(*next & 7);
}

/* main_arena lives in libc's data: a struct whose top points into [heap] and whose
 * next (with one arena) points to itself. */
static uint64_t find_main_arena(struct reader *r, const struct fs_regions *rs, uint64_t lo, uint64_t hi,
				uint64_t known_next)
{
	uint64_t *buf;
	uint64_t found = 0;
	size_t n = (size_t)((hi - lo) / 8);

	if (!lo || hi <= lo || hi - lo > (64ULL << 20))
		return 0;
	buf = malloc((size_t)(hi - lo));
	if (!buf || r->rd(r->ctx, lo, buf, hi - lo)) {
		free(buf);
		return 0;
	}
	for (size_t i = 0; i + GL_ARENA_SIZE / 8 <= n; i++) {
		uint64_t top = buf[i + GL_ARENA_TOP / 8], next = buf[i + GL_ARENA_NEXT / 8];
		uint64_t sysmem = buf[i + GL_ARENA_SYSTEM_MEM / 8], self = lo + i * 8;
		const struct fs_region *tr = region_of(rs, top);

		if (!tr || tr->kind != FS_RG_HEAP || (top & (GL_ALIGN - 1)))
			continue;
		if (next != self && next != known_next)
			continue;
		if (!sysmem || sysmem > tr->end - tr->start + (1ULL << 30))
			continue;
		found = self;
		break;
	}
	free(buf);
	return found;
}

int census__glibc(const struct fs_regions *rs, uint64_t rw_lo, uint64_t rw_hi, fs_read_fn rd, void *rctx,
		  fs_present_fn present, void *pctx, void (*progress)(uint64_t done, uint64_t total),
		  struct fs_census *c)
{
	struct reader r = { rd, rctx, NULL, 0, 0, &c->bytes_read };
	struct addrset cached = { 0 };
	struct walk w = { &r, rs, present, pctx, c, &cached, progress, 0, 0 };
	const struct fs_region *heap = NULL;
	uint64_t main_ar = 0, first_thread = 0;

	memset(c, 0, sizeof(*c));
	r.buf = malloc(WINDOW);
	if (!r.buf)
		return -ENOMEM;
	for (int i = 0; i < rs->n; i++) {
		const struct fs_region *g = &rs->r[i];

		if (g->kind == FS_RG_HEAP)
			heap = g;
		if (g->kind == FS_RG_ARENA_HEAP && !first_thread)
			first_thread = g->ar_ptr;
		if (memmodel__is_allocator(g->kind)) {
			c->mapped += g->end - g->start;
			c->resident += g->anon;
			w.total += g->end - g->start;
		}
	}
	/* The arena list is circular: from any thread arena, main_arena is on it, the
	 * one arena that does not live inside a heap mapping. */
	if (first_thread) {
		uint64_t ar = first_thread, next;

		for (int i = 0; i < FS_CENSUS_MAX_ARENAS && ar; i++) {
			const struct fs_region *g = region_of(rs, ar);

			if (!g || g->kind != FS_RG_ARENA_HEAP) {
				main_ar = ar;
				break;
			}
			if (read_direct(&r, ar + GL_ARENA_NEXT, &next) || (next & 7) || next == first_thread)
				break;
			ar = next;
		}
	}
	if (!main_ar && heap)
		main_ar = find_main_arena(&r, rs, rw_lo, rw_hi, first_thread);

	/* Fastbin chunks of every arena, before the walks (tcaches are met on the way). */
	if (main_ar)
		fastbin_chunks(&r, rs, main_ar, &cached);
	for (int i = 0; i < rs->n; i++)
		if (rs->r[i].kind == FS_RG_ARENA_HEAP && rs->r[i].ar_ptr &&
		    (i == 0 || rs->r[i - 1].ar_ptr != rs->r[i].ar_ptr))
			fastbin_chunks(&r, rs, rs->r[i].ar_ptr, &cached);
	/* First pass: the tcaches of every heap. */
	for (int i = 0; i < rs->n; i++) {
		const struct fs_region *g = &rs->r[i];
		uint64_t top = 0, next, hsize;

		if (g->kind == FS_RG_HEAP && main_ar && valid_arena(&r, rs, main_ar, &top, &next))
			find_tcaches(&w, g->start, g->end, top);
		else if (g->kind == FS_RG_ARENA_HEAP && g->ar_ptr && valid_arena(&r, rs, g->ar_ptr, &top, &next) &&
			 !read_direct(&r, g->start + 16, &hsize) && hsize <= g->end - g->start)
			find_tcaches(&w, heap_first_chunk(g), g->start + hsize,
				     top >= g->start && top < g->end ? top : 0);
	}
	if (cached.n)
		qsort(cached.a, (size_t)cached.n, sizeof(uint64_t), cmp_u64);

	/* The main arena: the brk heap, from its start to main_arena.top. */
	if (heap) {
		struct fs_census_arena *a = arena_for(c, main_ar, 1);
		uint64_t top = 0, next;

		if (a) {
			a->heaps = 1;
			a->size = heap->end - heap->start;
			if (!main_ar || !valid_arena(&r, rs, main_ar, &top, &next)) {
				a->walk_cut = 1;
				snprintf(a->note, sizeof(a->note), "main_arena not found: the brk heap was walked to its end");
				top = 0;
			}
			walk_heap(&w, a, heap->start, heap->end, top);
		}
	}
	/* Thread arenas: each heap from after its heap_info (and the arena itself in
	 * the arena's first heap) to the arena's top, or its end. */
	for (int i = 0; i < rs->n; i++) {
		const struct fs_region *g = &rs->r[i];
		struct fs_census_arena *a;
		uint64_t top = 0, next, first, hsize;

		if (g->kind != FS_RG_ARENA_HEAP || !g->ar_ptr)
			continue;
		a = arena_for(c, g->ar_ptr, 0);
		if (!a)
			continue;
		a->heaps++;
		if (read_direct(&r, g->start + 16, &hsize) || hsize > g->end - g->start)
			hsize = g->end - g->start;
		a->size += hsize;
		if (!valid_arena(&r, rs, g->ar_ptr, &top, &next)) {
			a->walk_cut = 1;
			snprintf(a->note, sizeof(a->note), "arena at 0x%llx unreadable", (unsigned long long)g->ar_ptr);
			continue;
		}
		first = heap_first_chunk(g);
		walk_heap(&w, a, first, g->start + hsize, top >= g->start && top < g->end ? top : 0);
	}
	/* mmapped chunks: an anonymous mapping that starts with one chunk marked IS_MMAPPED */
	for (int i = 0; i < rs->n; i++) {
		const struct fs_region *g = &rs->r[i];
		uint64_t prev, size;

		if (g->kind != FS_RG_ANON || read_direct(&r, g->start, &prev) || read_direct(&r, g->start + 8, &size))
			continue;
		if ((size & FL_MMAPPED) && (size & ~7ULL) + prev == g->end - g->start && !(prev & (GL_ALIGN - 1))) {
			c->mmapped_chunks++;
			c->mmapped_bytes += size & ~7ULL;
		}
	}
	for (int i = 0; i < c->narenas; i++) {
		c->in_use += c->arenas[i].in_use;
		c->free += c->arenas[i].free;
		c->free_resident += c->arenas[i].free_resident;
		c->approximate |= c->arenas[i].walk_cut;
	}
	c->in_use += c->mmapped_bytes;
	if (heap && !main_ar) {
		c->approximate = 1;
		snprintf(c->note, sizeof(c->note), "main_arena not found in libc's data");
	}
	free(cached.a);
	free(r.buf);
	return 0;
}
