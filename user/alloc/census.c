/* census.c - a read-only walk of glibc's arenas in another process. Every pointer
 * and size is checked before use: the process keeps running, so a chunk that does
 * not add up ends that heap's walk with a note, never a wrong total. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alloc/census.h"

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
	fs_present_fn pages;
	void *pctx;
	const struct fs_regions *rs;
	uint8_t *buf;
	uint64_t lo, hi;	/* buffered [lo, hi); empty while buf is being refilled */
	int centered;		/* windows around the address: lists go either way */
	uint64_t *bytes_read;
};

static const struct fs_region *region_of(const struct fs_regions *rs, uint64_t a);

/* Kinds the allocator may own (memmodel__is_allocator's rule: model/ is above alloc/). */
static int allocator_kind(int kind)
{
	return kind == FS_RG_HEAP || kind == FS_RG_ARENA_HEAP || kind == FS_RG_ANON;
}

static int anon_kind(int kind)
{
	return kind == FS_RG_HEAP || kind == FS_RG_ARENA_HEAP || kind == FS_RG_ANON || kind == FS_RG_STACK;
}

/* Reads [addr, addr + len) without faulting anything in: inside private anonymous
 * memory, pages neither present nor swapped (never touched, or given back) hold
 * zeros and are not read; /proc/PID/mem would fault them in. Elsewhere (libc's
 * .data, which is a file's) or without pagemap, a plain read. A read may span
 * mappings (libc's .data, then its .bss). */
static int read_sparse(struct reader *r, uint64_t addr, void *buf, uint64_t len)
{
	uint8_t st[256], *out = buf;
	uint64_t end = addr + len;

	for (uint64_t a = addr; a < end;) {
		const struct fs_region *g = r->pages ? region_of(r->rs, a) : NULL;
		uint64_t piece_end = g && g->end < end ? g->end : end;

		if (!g || !anon_kind(g->kind)) {
			*r->bytes_read += piece_end - a;
			if (r->rd(r->ctx, a, out + (a - addr), piece_end - a))
				return -EFAULT;
			a = piece_end;
			continue;
		}
		while (a < piece_end) {
			uint64_t first = a & ~(PAGE - 1), np = (piece_end - first + PAGE - 1) / PAGE, i = 0;

			if (np > sizeof(st))
				np = sizeof(st);
			if (r->pages(r->pctx, first, np, st))
				return -EIO;
			while (i < np && a < piece_end) {
				uint64_t j = i, to;
				int data = st[i] == FS_PG_RESIDENT || st[i] == FS_PG_SWAPPED;

				while (j < np && (st[j] == FS_PG_RESIDENT || st[j] == FS_PG_SWAPPED) == data)
					j++;
				to = first + j * PAGE < piece_end ? first + j * PAGE : piece_end;
				if (!data) {
					memset(out + (a - addr), 0, to - a);
				} else {
					*r->bytes_read += to - a;
					if (r->rd(r->ctx, a, out + (a - addr), to - a))
						return -EFAULT;
				}
				a = to;
				i = j;
			}
		}
	}
	return 0;
}

/* Refills the window at addr, up to WINDOW bytes and never past the mapping's end
 * (a read crossing it fails after writing part of the buffer). */
static int fill(struct reader *r, uint64_t addr)
{
	const struct fs_region *g = region_of(r->rs, addr);
	uint64_t lo = addr & ~(PAGE - 1), hi = lo + WINDOW;

	if (g && r->centered) {
		lo = lo - g->start > WINDOW / 2 ? lo - WINDOW / 2 : g->start;
		hi = lo + WINDOW;
	}
	if (!g)
		hi = lo + PAGE;
	else if (hi > g->end)
		hi = g->end;
	r->lo = r->hi = 0;	/* what buf holds is about to change */
	if (read_sparse(r, lo, r->buf, hi - lo))
		return -EFAULT;
	r->lo = lo;
	r->hi = hi;
	return 0;
}

static int rd64(struct reader *r, uint64_t addr, uint64_t *v)
{
	if (addr < r->lo || addr + 8 > r->hi) {
		/* the window cannot hold it (a stale smaps, a word across a mapping's end):
		 * only what was asked */
		if (fill(r, addr) || addr + 8 > r->hi)
			return read_sparse(r, addr, v, 8) ? -EFAULT : 0;
	}
	memcpy(v, r->buf + (addr - r->lo), 8);
	return 0;
}

static int read_direct(struct reader *r, uint64_t addr, uint64_t *v)
{
	return read_sparse(r, addr, v, 8);
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

/* Resident pages malloc_trim could release from free memory [p, p + size) of which
 * it keeps the first hdr bytes (a binned chunk's header and links; MINSIZE + 1 of
 * the main arena's top, as systrim does). */
static uint64_t releasable(uint64_t p, uint64_t size, uint64_t hdr, fs_present_fn present, void *pctx)
{
	uint64_t lo = (p + hdr + PAGE - 1) & ~(PAGE - 1), hi = (p + size) & ~(PAGE - 1), n, r = 0;
	uint8_t pres[256];

	if (!present || hi <= lo)
		return 0;
	for (uint64_t a = lo; a < hi; a += n * PAGE) {
		n = (hi - a) / PAGE < sizeof(pres) ? (hi - a) / PAGE : sizeof(pres);
		if (present(pctx, a, n, pres))
			return r;
		for (uint64_t i = 0; i < n; i++)
			r += pres[i] == FS_PG_RESIDENT ? PAGE : 0;
	}
	return r;
}

/* Resident bytes of [p, p + len), p and len page multiples. */
static uint64_t resident(uint64_t p, uint64_t len, fs_present_fn present, void *pctx)
{
	return releasable(p, len, 0, present, pctx);
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
 * links hold chunk pointers (user pointer - 16). Long lists are read through the
 * reader's window (a fastbin may hold millions of chunks). -E2BIG when the list has
 * more than limit entries (it changed under us, or loops). */
static int walk_list(struct reader *r, uint64_t mem, const struct fs_regions *rs, struct addrset *out,
		     uint64_t limit, int fastbin)
{
	const struct fs_region *g = NULL;

	for (uint64_t i = 0; mem; i++) {
		uint64_t stored, next;

		if (i >= limit)
			return -E2BIG;
		if (!g || mem < g->start || mem >= g->end)
			g = region_of(rs, mem);
		if ((mem & (GL_ALIGN - 1)) || !g || (fastbin ? rd64(r, mem, &stored) : read_direct(r, mem, &stored)))
			return 0;
		set_add(out, mem - 16);
		next = stored ^ (mem >> 12);
		mem = next && fastbin ? next + 16 : next;
	}
	return 0;
}

/* The chunks in an arena's fastbins: never more than its memory holds. */
static int fastbin_chunks(struct reader *r, const struct fs_regions *rs, uint64_t ar_ptr, struct addrset *cached)
{
	uint64_t sysmem;
	int err = 0;

	if (read_direct(r, ar_ptr + GL_ARENA_SYSTEM_MEM, &sysmem))
		return 0;
	for (int i = 0; i < 10; i++) {
		uint64_t ch;

		if (read_direct(r, ar_ptr + GL_ARENA_FASTBINS + 8 * (uint64_t)i, &ch) || !ch)
			continue;
		if (walk_list(r, ch + 16, rs, cached, sysmem / GL_MINSIZE + 1, 1))
			err = -E2BIG;
	}
	return err;
}

/* A tcache_perthread_struct: counts[64] (uint16, at most 7 each), entries[64], an
 * entry present exactly where its count is not 0. Its chunks are cached, not live. */
static int tcache_chunks(struct reader *r, const struct fs_regions *rs, uint64_t mem, struct addrset *cached)
{
	uint16_t counts[64];
	uint64_t entries[64];

	if (read_sparse(r, mem, counts, sizeof(counts)) || read_sparse(r, mem + 128, entries, sizeof(entries)))
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
	struct addrset *tc, *fb;	/* chunks in a tcache; in a fastbin */
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
			tcache_chunks(w->r, w->rs, p + 16, w->tc);
		p += size;
	}
}

/* Walks chunks from first to the top chunk (or the heap's end). What malloc_trim(0)
 * releases is predicted as it works: it consolidates fastbin chunks with their free
 * neighbours (and into top) first, then gives back the whole pages of every binned
 * free chunk past its first 48 bytes; then, in the main arena only, top's pages
 * past its first MINSIZE + 1 bytes (systrim). Tcache chunks stay as they are. */
static void walk_heap(struct walk *w, struct fs_census_arena *a, uint64_t first, uint64_t end, uint64_t top)
{
	uint64_t p = first, size, next_size, pin = 0, pin_size = 0;
	uint64_t run = 0, run_len = 0;	/* free and fastbin chunks side by side: one chunk after consolidation */

	while (p + 16 <= end) {
		uint64_t word;
		int in_use, tc, fb;

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
			/* fastbin chunks just below top join it; a thread arena's top is never trimmed */
			if (a->main)
				a->free_resident += run ? releasable(run, run_len + size, GL_MINSIZE + 1, w->present, w->pctx)
							: releasable(p, size, GL_MINSIZE + 1, w->present, w->pctx);
			run = 0;
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
		tc = in_use && set_has(w->tc, p);
		fb = in_use && !tc && set_has(w->fb, p);
		if (in_use && !tc && !fb) {
			a->in_use += size;
			a->chunks_in_use++;
			if (w->c->on_chunk)
				w->c->on_chunk(w->c->on_chunk_ctx, p + 16, size);
			pin = p;
			pin_size = size;
		} else {
			a->free += size;
			if (in_use)
				a->cached += size;
			if (size > a->largest_free)
				a->largest_free = size;
		}
		if (!in_use || fb) {
			if (!run)
				run = p;
			run_len += size;
		} else if (run) {
			a->free_resident += releasable(run, run_len, CHUNK_FREE_HDR, w->present, w->pctx);
			run = run_len = 0;
		}
		w->done += size;
		if (w->progress && w->total > (256ULL << 20) && !(w->done & ((64ULL << 20) - 1)))
			w->progress(w->done, w->total);
		p += size;
	}
	if (run)
		a->free_resident += releasable(run, run_len, CHUNK_FREE_HDR, w->present, w->pctx);
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
	if (!buf || read_sparse(r, lo, buf, hi - lo)) {
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

/* A valid mmapped chunk whose mapping starts at a: IS_MMAPPED alone in its flags,
 * prev_size the offset of the chunk in its mapping (memalign), a 16-aligned user
 * pointer, the mapping a whole number of pages inside [a, end). The offset is
 * searched for in the mapping's first page (larger alignment offsets are not
 * recognised). Returns the mapping's length, 0 if none. */
static uint64_t mmapped_chunk_at(struct reader *r, uint64_t a, uint64_t end, uint64_t *chunk_size)
{
	uint64_t pg[PAGE / 8], lim = end - a < PAGE ? end - a : PAGE;

	if (end - a < PAGE || read_sparse(r, a, pg, lim))
		return 0;
	for (uint64_t off = 0; off + 16 <= lim; off += GL_ALIGN) {
		uint64_t prev = pg[off / 8], word = pg[off / 8 + 1], size = word & ~7ULL;

		if (prev != off || (word & 7) != FL_MMAPPED || !size || size > end - a - off ||
		    ((off + size) & (PAGE - 1)))
			continue;
		*chunk_size = size;
		return off + size;
	}
	return 0;
}

static void add_mmapped(struct walk *w, uint64_t a, uint64_t len, uint64_t size)
{
	struct fs_census *c = w->c;

	c->mmapped_chunks++;
	c->mmapped_bytes += size;
	c->mmapped_mapped += len;
	if (c->on_chunk)
		c->on_chunk(c->on_chunk_ctx, a + len - size + 16, size);
	if (c->nmm && c->mm[c->nmm - 1].end == a) {
		c->mm[c->nmm - 1].end = a + len;
	} else if (c->nmm < FS_CENSUS_MAX_MM) {
		c->mm[c->nmm++] = (struct fs_census_range){ a, a + len, 0 };
	} else {
		c->mm_more = 1;
		return;
	}
	c->mm[c->nmm - 1].resident += resident(a, len, w->present, w->pctx);
}

/* The mmapped chunks of a mapping from a, chunk by chunk; returns where the walk
 * stopped (g->end: at the mapping's end). */
static uint64_t mmapped_from(struct walk *w, const struct fs_region *g, uint64_t a)
{
	uint64_t len, size;

	while (a < g->end && (len = mmapped_chunk_at(w->r, a, g->end, &size))) {
		add_mmapped(w, a, len, size);
		a += len;
	}
	return a < g->end ? a : g->end;
}

/* Every mmapped chunk of one anonymous mapping, from its start, chunk by chunk;
 * where the walk stopped short of the mapping's end (0: it did not). */
static uint64_t mmapped_chunks(struct walk *w, const struct fs_region *g)
{
	uint64_t stop = mmapped_from(w, g, g->start);

	return stop < g->end ? stop : 0;
}

/* The kernel merges a chunk's mapping with an adjacent anonymous mapping of the
 * same flags, whoever made it: a program's own mmap (Python's arenas) may sit
 * before chunks in one VMA, and the walk from the start stops there. Past such a
 * stop, every page's start is looked at for a chunk's header (prev_size 0: one
 * with an alignment offset is not recognised here), until glibc's own count
 * (want_*) is reached. Pages neither present nor swapped are not read (zeros). */
static void mmapped_scan(struct walk *w, const struct fs_region *g, uint64_t a, uint64_t want_chunks,
			 uint64_t want_bytes)
{
	struct fs_census *c = w->c;

	w->c->mm_scanned = 1;
	for (a += PAGE; a + PAGE <= g->end;) {
		uint64_t prev, word, size;

		if (c->mmapped_chunks >= want_chunks && c->mmapped_mapped >= want_bytes)
			return;
		if (rd64(w->r, a, &prev) || rd64(w->r, a + 8, &word)) {
			a += PAGE;
			continue;
		}
		size = word & ~7ULL;
		if (!prev && (word & 7) == FL_MMAPPED && size >= PAGE && !(size & (PAGE - 1)) && size <= g->end - a)
			a = mmapped_from(w, g, a);	/* this chunk, and those right after it */
		else
			a += PAGE;
	}
}

/* In a static executable, glibc's startup takes the first bytes of the brk heap for
 * the main thread's TLS and TCB (__libc_setup_tls calls sbrk) before malloc's first
 * sbrk: its first chunk, mp_.sbrk_base, is that far past the start of [heap]. */
#define GL_BRK_TLS_MAX (1ULL << 20)

/* Chunks follow one another from a (the first with PREV_INUSE set): each a 16-aligned
 * size of 32 bytes or more that stays in the heap, for n chunks or to its end. */
static int brk_chain_ok(struct reader *r, uint64_t a, uint64_t end, int n)
{
	for (int i = 0; i < n && a < end; i++) {
		uint64_t sz;

		if (end - a < 32 || read_sparse(r, a + 8, &sz, sizeof(sz)) || (!i && !(sz & 1)))
			return 0;
		sz &= ~7ULL;
		if (sz < 32 || (sz & 15) || sz > end - a)
			return 0;
		a += sz;
	}
	return 1;
}

/* glibc's mp_ in libc's data: a struct malloc_par whose sbrk_base is the start of
 * the brk heap (or just past a static executable's TLS there), with its counts
 * consistent. 0 when none, or more than one, fits. */
static uint64_t find_mp(struct reader *r, const struct fs_region *heap, uint64_t lo, uint64_t hi)
{
	uint64_t *buf, found = 0;
	size_t n = (size_t)((hi - lo) / 8);
	int hits = 0;
	/* sbrk_base past the heap's start only when no chunk starts there (a static
	 * executable's TLS): where one does, glibc's data has other pointers into the heap */
	int past_start;

	if (!heap || !lo || hi <= lo || hi - lo > (64ULL << 20))
		return 0;
	past_start = !brk_chain_ok(r, heap->start, heap->end, 1);
	buf = malloc((size_t)(hi - lo));
	if (!buf || read_sparse(r, lo, buf, hi - lo)) {
		free(buf);
		return 0;
	}
	for (size_t i = 0; i + GL_MP_SIZE / 8 <= n; i++) {
		const uint64_t *m = buf + i;
		int32_t nm, nmax, maxn;
		uint64_t base = m[GL_MP_SBRK_BASE / 8];

		if (base != heap->start && (!past_start || base < heap->start || base >= heap->end ||
					    base - heap->start >= GL_BRK_TLS_MAX || (base & 15)))
			continue;
		/* past the heap's start (static: after its TLS), the first chunk must be there:
		 * PREV_INUSE set, a 16-aligned size that fits the heap (a static executable's
		 * data holds other words that point just past the TLS) */
		if (base != heap->start && !brk_chain_ok(r, base, heap->end, 16))
			continue;
		memcpy(&nm, (const char *)m + GL_MP_N_MMAPS, 4);
		memcpy(&nmax, (const char *)m + GL_MP_N_MMAPS_MAX, 4);
		memcpy(&maxn, (const char *)m + GL_MP_MAX_N_MMAPS, 4);
		if (nm < 0 || nmax < 0 || maxn < nm || m[GL_MP_MMAPPED_MEM / 8] > m[GL_MP_MAX_MMAPPED_MEM / 8] ||
		    (m[GL_MP_MMAPPED_MEM / 8] & (PAGE - 1)) || m[GL_MP_MMAP_THRESHOLD / 8] > GL_HEAP_MAX / 2 ||
		    m[GL_MP_TCACHE_BINS / 8] > 64 || (!nm) != (!m[GL_MP_MMAPPED_MEM / 8]))
			continue;
		found = lo + i * 8;
		hits++;
	}
	free(buf);
	return hits == 1 ? found : 0;
}

/* The brk heap's first chunk: mp_.sbrk_base when mp_ was found and it lies in the heap
 * (a static executable's TLS comes first), else the heap's start. */
static uint64_t brk_first_chunk(struct reader *r, const struct fs_region *heap, uint64_t mp)
{
	uint64_t base;

	if (!mp || read_sparse(r, mp + GL_MP_SBRK_BASE, &base, sizeof(base)) || base < heap->start ||
	    base >= heap->end || base - heap->start >= GL_BRK_TLS_MAX || (base & 15))
		return heap->start;
	return base;
}

/* mp_.n_mmaps and mp_.mmapped_mem now. 0 or -EFAULT. */
static int read_mp(struct reader *r, uint64_t mp, uint64_t *chunks, uint64_t *bytes)
{
	uint64_t m[GL_MP_SIZE / 8];
	int32_t nm;

	if (read_sparse(r, mp, m, sizeof(m)))
		return -EFAULT;
	memcpy(&nm, (const char *)m + GL_MP_N_MMAPS, 4);
	*chunks = nm > 0 ? (uint64_t)nm : 0;
	*bytes = m[GL_MP_MMAPPED_MEM / 8];
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct fs_census_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Every anonymous mapping's mmapped chunks, checked against glibc's own count
 * (mp, 0: not known); what stays missing is c->mm_unaccounted_*. */
static int all_mmapped(struct walk *w, uint64_t mp)
{
	const struct fs_regions *rs = w->rs;
	struct fs_census *c = w->c;
	uint64_t *stop = calloc((size_t)rs->n + 1, sizeof(*stop)), n0 = 0, b0 = 0;
	int have = mp && !read_mp(w->r, mp, &n0, &b0);

	if (!stop)
		return -ENOMEM;
	for (int i = 0; i < rs->n; i++)
		if (rs->r[i].kind == FS_RG_ANON)
			stop[i] = mmapped_chunks(w, &rs->r[i]);
	for (int i = 0; have && i < rs->n; i++)
		if (stop[i] && (c->mmapped_chunks < n0 || c->mmapped_mapped < b0))
			mmapped_scan(w, &rs->r[i], stop[i], n0, b0);
	free(stop);
	if (c->nmm > 1)	/* the scan adds ranges out of order */
		qsort(c->mm, (size_t)c->nmm, sizeof(c->mm[0]), cmp_range);
	if (!have || read_mp(w->r, mp, &c->mp_chunks, &c->mp_bytes))
		return 0;
	c->mp_valid = 1;
	c->mp_addr = mp;
	c->mp_changed = c->mp_chunks != n0 || c->mp_bytes != b0;
	c->mm_unaccounted_chunks = c->mp_chunks > c->mmapped_chunks ? c->mp_chunks - c->mmapped_chunks : 0;
	c->mm_unaccounted_bytes = c->mp_bytes > c->mmapped_mapped ? c->mp_bytes - c->mmapped_mapped : 0;
	return 0;
}

/* glibc 2.36's heap_info: ar_ptr, prev, size, mprotect_size, pagesize. */
static int heap_info_ok(const uint64_t h[5])
{
	return h[0] && !(h[0] & 7) && h[2] >= PAGE && h[2] <= GL_HEAP_MAX && h[3] <= GL_HEAP_MAX &&
	       (h[4] == PAGE || h[4] == (2u << 20)) && !(h[1] & (GL_HEAP_MAX - 1));
}

/* The kernel merges adjacent heaps that are read-write to their end (full ones)
 * into one VMA: each 64 MiB-aligned piece of an arena-heap region is a heap of its
 * own, with its own heap_info and maybe another arena. A piece without a valid
 * heap_info is other anonymous memory. xs: the regions with those split. */
static int split_heaps(struct reader *r, const struct fs_regions *rs, struct fs_regions *xs)
{
	int n = 0;

	for (int i = 0; i < rs->n; i++)
		n += rs->r[i].kind == FS_RG_ARENA_HEAP ? (int)((rs->r[i].end - rs->r[i].start + GL_HEAP_MAX - 1) / GL_HEAP_MAX) : 1;
	xs->r = calloc((size_t)n + 1, sizeof(*xs->r));
	if (!xs->r)
		return -ENOMEM;
	xs->cap = n + 1;
	xs->n = 0;
	for (int i = 0; i < rs->n; i++) {
		const struct fs_region *g = &rs->r[i];

		if (g->kind != FS_RG_ARENA_HEAP || g->end - g->start <= GL_HEAP_MAX) {
			xs->r[xs->n++] = *g;
			continue;
		}
		for (uint64_t a = g->start; a < g->end; a += GL_HEAP_MAX) {
			struct fs_region *x = &xs->r[xs->n++];
			uint64_t h[5];

			*x = *g;
			x->start = a;
			x->end = g->end - a > GL_HEAP_MAX ? a + GL_HEAP_MAX : g->end;
			x->rss = x->anon = x->lazyfree = x->swap = 0;	/* smaps' figures are the whole VMA's */
			if (a == g->start)
				continue;
			if (read_sparse(r, a, h, sizeof(h)) || !heap_info_ok(h)) {
				x->kind = FS_RG_ANON;
				x->ar_ptr = 0;
			} else {
				x->ar_ptr = h[0];
			}
		}
	}
	return 0;
}

int census__glibc(const struct fs_regions *rs0, uint64_t rw_lo, uint64_t rw_hi, fs_read_fn rd, void *rctx,
		  fs_present_fn pages, void *pctx, void (*progress)(uint64_t done, uint64_t total),
		  struct fs_census *c)
{
	struct fs_regions xs = { 0 };
	const struct fs_regions *rs = &xs;
	struct reader r = { rd, rctx, pages, pctx, rs0, NULL, 0, 0, 0, &c->bytes_read };
	struct reader lr = { rd, rctx, pages, pctx, rs, NULL, 0, 0, 1, &c->bytes_read };
	int lists_cut = 0;
	struct addrset tc = { 0 }, fb = { 0 };
	struct walk w = { &r, rs, pages, pctx, c, &tc, &fb, progress, 0, 0 };
	const struct fs_region *heap = NULL;
	uint64_t main_ar = 0, first_thread = 0;
	void (*on_chunk)(void *, uint64_t, uint64_t) = c->on_chunk;
	void *on_chunk_ctx = c->on_chunk_ctx;

	memset(c, 0, sizeof(*c));
	c->on_chunk = on_chunk;
	c->on_chunk_ctx = on_chunk_ctx;
	r.buf = malloc(WINDOW);
	lr.buf = malloc(WINDOW);
	if (!r.buf || !lr.buf || split_heaps(&r, rs0, &xs)) {
		free(r.buf);
		free(lr.buf);
		return -ENOMEM;
	}
	r.rs = rs;
	for (int i = 0; i < rs0->n; i++) {
		const struct fs_region *g = &rs0->r[i];

		if (allocator_kind(g->kind)) {
			c->mapped += g->end - g->start;
			c->resident += g->anon;
			w.total += g->end - g->start;
		}
	}
	for (int i = 0; i < rs->n; i++) {
		const struct fs_region *g = &rs->r[i];

		if (g->kind == FS_RG_HEAP)
			heap = g;
		if (g->kind == FS_RG_ARENA_HEAP && !first_thread)
			first_thread = g->ar_ptr;
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
	uint64_t mp = heap ? find_mp(&r, heap, rw_lo, rw_hi) : 0;
	uint64_t brk_first = heap ? brk_first_chunk(&r, heap, mp) : 0;

	/* Fastbin chunks of every arena, before the walks (tcaches are met on the way). */
	if (main_ar)
		lists_cut |= fastbin_chunks(&lr, rs, main_ar, &fb);
	for (int i = 0; i < rs->n; i++)
		if (rs->r[i].kind == FS_RG_ARENA_HEAP && rs->r[i].ar_ptr &&
		    (i == 0 || rs->r[i - 1].ar_ptr != rs->r[i].ar_ptr))
			lists_cut |= fastbin_chunks(&lr, rs, rs->r[i].ar_ptr, &fb);
	/* First pass: the tcaches of every heap. */
	for (int i = 0; i < rs->n; i++) {
		const struct fs_region *g = &rs->r[i];
		uint64_t top = 0, next, hsize;

		if (g->kind == FS_RG_HEAP && main_ar && valid_arena(&r, rs, main_ar, &top, &next))
			find_tcaches(&w, g == heap ? brk_first : g->start, g->end, top);
		else if (g->kind == FS_RG_ARENA_HEAP && g->ar_ptr && valid_arena(&r, rs, g->ar_ptr, &top, &next) &&
			 !read_direct(&r, g->start + 16, &hsize) && hsize <= g->end - g->start)
			find_tcaches(&w, heap_first_chunk(g), g->start + hsize,
				     top >= g->start && top < g->end ? top : 0);
	}
	if (tc.n)
		qsort(tc.a, (size_t)tc.n, sizeof(uint64_t), cmp_u64);
	if (fb.n)
		qsort(fb.a, (size_t)fb.n, sizeof(uint64_t), cmp_u64);

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
			walk_heap(&w, a, brk_first, heap->end, top);
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
	/* mmapped chunks: the kernel merges adjacent anonymous mappings, so one VMA may
	 * hold many chunks side by side, and other things; glibc's own count checks them */
	all_mmapped(&w, mp);
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
	} else if (c->mp_changed) {
		c->approximate = 1;
		snprintf(c->note, sizeof(c->note), "glibc's count of its mmapped chunks changed during the walk: "
			 "the unaccounted figure is approximate");
	} else if (lists_cut) {
		c->approximate = 1;
		snprintf(c->note, sizeof(c->note), "a fastbin list longer than its arena could hold: it changed "
			 "during the walk; chunks past that point count as in use");
	}
	free(tc.a);
	free(fb.a);
	free(r.buf);
	free(lr.buf);
	free(xs.r);
	return 0;
}

int census__glibc_mmapped(const struct fs_regions *rs, uint64_t rw_lo, uint64_t rw_hi, fs_read_fn rd, void *rctx,
			  fs_present_fn pages, void *pctx, struct fs_census *c)
{
	struct reader r = { rd, rctx, pages, pctx, rs, NULL, 0, 0, 0, &c->bytes_read };
	struct walk w = { &r, rs, pages, pctx, c, NULL, NULL, NULL, 0, 0 };
	const struct fs_region *heap = NULL;
	int err;

	memset(c, 0, sizeof(*c));
	r.buf = malloc(WINDOW);
	if (!r.buf)
		return -ENOMEM;
	for (int i = 0; i < rs->n; i++)
		if (rs->r[i].kind == FS_RG_HEAP)
			heap = &rs->r[i];
	/* one page read at each chunk's start: cheap whatever the size of the mappings
	 * (other pages only when glibc's count says some are missing) */
	err = all_mmapped(&w, heap ? find_mp(&r, heap, rw_lo, rw_hi) : 0);
	c->in_use = c->mmapped_bytes;
	free(r.buf);
	return err;
}
