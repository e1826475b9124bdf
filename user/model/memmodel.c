/* memmodel.c - smaps parsing, region classification, the waterfall, page occupancy
 * and the diagnosis. No I/O beyond the FILE* and callbacks it is given. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "bpf/fragscope.h"
#include "model/memmodel.h"
#include "util/fmt.h"

#define HEAP_ALIGN (64ULL << 20)
#define PAGE 4096ULL

static struct fs_region *push(struct fs_regions *rs)
{
	if (rs->n == rs->cap) {
		int cap = rs->cap ? rs->cap * 2 : 256;
		struct fs_region *r = realloc(rs->r, sizeof(*r) * (size_t)cap);

		if (!r)
			return NULL;
		rs->r = r;
		rs->cap = cap;
	}
	memset(&rs->r[rs->n], 0, sizeof(rs->r[0]));
	return &rs->r[rs->n++];
}

int memmodel__parse_smaps(FILE *f, struct fs_regions *out)
{
	char line[512];
	struct fs_region *cur = NULL;

	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, b, kb;
		char perms[8], key[64];
		int pos = 0;

		if (sscanf(line, "%llx-%llx %7s %*s %*s %*s%n", &a, &b, perms, &pos) == 3 && pos > 0) {
			char *name = line + pos;

			cur = push(out);
			if (!cur)
				return -ENOMEM;
			cur->start = a;
			cur->end = b;
			snprintf(cur->perms, sizeof(cur->perms), "%.4s", perms);
			while (*name == ' ')
				name++;
			name[strcspn(name, "\n")] = 0;
			snprintf(cur->name, sizeof(cur->name), "%s", name);
			continue;
		}
		if (!cur || sscanf(line, "%63[^:]: %llu kB", key, &kb) != 2)
			continue;
		if (!strcmp(key, "Rss"))
			cur->rss = kb * 1024;
		else if (!strcmp(key, "Anonymous"))
			cur->anon = kb * 1024;
		else if (!strcmp(key, "LazyFree"))
			cur->lazyfree = kb * 1024;
		else if (!strcmp(key, "Swap"))
			cur->swap = kb * 1024;
	}
	return 0;
}

void memmodel__regions_free(struct fs_regions *rs)
{
	free(rs->r);
	rs->r = NULL;
	rs->n = rs->cap = 0;
}

static int is_anon_name(const char *n)
{
	return !n[0] || !strncmp(n, "[anon:", 6);
}

void memmodel__classify(struct fs_regions *rs, int heap_walk)
{
	for (int i = 0; i < rs->n; i++) {
		struct fs_region *r = &rs->r[i];
		const struct fs_region *prev = i ? &rs->r[i - 1] : NULL;

		if (!strcmp(r->name, "[heap]"))
			r->kind = FS_RG_HEAP;
		else if (!strcmp(r->name, "[stack]"))
			r->kind = FS_RG_STACK;
		else if (r->name[0] == '/' || !strncmp(r->name, "[anon_shmem", 11))
			r->kind = r->perms[3] == 'p' && r->name[0] == '/' ? FS_RG_FILE : FS_RG_OTHER;
		else if (!is_anon_name(r->name) || r->perms[3] != 'p')
			r->kind = FS_RG_OTHER;
		else if (!strncmp(r->perms, "---", 3))
			r->kind = FS_RG_RESERVED;
		else if (heap_walk && !(r->start & (HEAP_ALIGN - 1)))
			r->kind = FS_RG_ARENA_HEAP;	/* checked against heap_info by procmem */
		else if (prev && prev->end == r->start && !strncmp(prev->perms, "---", 3) &&
			 is_anon_name(prev->name) && (prev->end - prev->start) <= (1u << 20) &&
			 !(heap_walk && !(prev->start & (HEAP_ALIGN - 1))))
			r->kind = FS_RG_STACK;		/* a guard right below: pthread stack */
		else
			r->kind = FS_RG_ANON;
	}
	/* A brk heap that grew after fork() is two VMAs or more (the kernel does not merge
	 * pages of different anon_vmas: a pre-fork server's worker, as nginx's): one heap
	 * to glibc, one region here. Walked from its second piece, nginx's heap read as
	 * "0 B in use, 752 KiB free" (malloc_trim released 368 KiB of 1.5 MiB). */
	int n = 0;

	for (int i = 0; i < rs->n; i++) {
		struct fs_region *p = n ? &rs->r[n - 1] : NULL;
		const struct fs_region *r = &rs->r[i];

		if (p && p->kind == FS_RG_HEAP && r->kind == FS_RG_HEAP && p->end == r->start &&
		    !strcmp(p->perms, r->perms)) {
			p->end = r->end;
			p->rss += r->rss;
			p->anon += r->anon;
			p->lazyfree += r->lazyfree;
			p->swap += r->swap;
			continue;
		}
		if (n != i)
			rs->r[n] = *r;
		n++;
	}
	rs->n = n;
}

int memmodel__is_allocator(int kind)
{
	return kind == FS_RG_HEAP || kind == FS_RG_ARENA_HEAP || kind == FS_RG_ANON;
}

const char *memmodel__owner_name(int owner)
{
	static const char *const n[] = { "allocator", "program", "stacks", "file_private", "unknown" };

	return owner >= 0 && owner < FS_OWN__COUNT ? n[owner] : "mixed";
}

const char *memmodel__basis_name(int basis)
{
	static const char *const n[] = { "unknown", "traced", "census", "allocator_stats" };

	return basis >= 0 && basis <= FS_B_ALLOC_STATS ? n[basis] : "unknown";
}

/* First evidence range ending after addr (ev sorted by start, disjoint). */
static long ev_first(const struct fs_owned *ev, long nev, uint64_t addr)
{
	long a = 0, z = nev;

	while (a < z) {
		long mid = a + (z - a) / 2;

		if (ev[mid].end <= addr)
			a = mid + 1;
		else
			z = mid;
	}
	return a;
}

/* Bytes of [lo, hi) per owner; what no evidence covers goes to dflt. */
static void ev_split(const struct fs_owned *ev, long nev, uint64_t lo, uint64_t hi, int dflt, uint64_t *bytes)
{
	uint64_t at = lo;

	for (long i = ev_first(ev, nev, lo); i < nev && ev[i].start < hi; i++) {
		uint64_t s = ev[i].start > at ? ev[i].start : at, e = ev[i].end < hi ? ev[i].end : hi;

		if (s > at)
			bytes[dflt] += s - at;
		if (e > s && ev[i].owner >= 0 && ev[i].owner < FS_OWN__COUNT)
			bytes[ev[i].owner] += e - s;
		if (e > at)
			at = e;
	}
	if (hi > at)
		bytes[dflt] += hi - at;
}

/* The owner of one page: the evidence covering most of it, else dflt. */
static int ev_page_owner(const struct fs_owned *ev, long nev, uint64_t lo, int dflt)
{
	uint64_t b[FS_OWN__COUNT] = { 0 };
	int best = dflt;

	ev_split(ev, nev, lo, lo + PAGE, dflt, b);
	for (int o = 0; o < FS_OWN__COUNT; o++)
		if (b[o] > b[best])
			best = o;
	return best;
}

/* The owner a region's kind gives it before any evidence. */
static int kind_owner(const struct fs_region *r, int brk_owned)
{
	switch (r->kind) {
	case FS_RG_HEAP:	/* glibc's main arena, or an allocator that calls sbrk itself */
		return brk_owned ? FS_OWN_ALLOCATOR : FS_OWN_UNKNOWN;
	case FS_RG_ARENA_HEAP:
		return FS_OWN_ALLOCATOR;	/* validated against its heap_info */
	case FS_RG_STACK:
		return FS_OWN_STACK;
	case FS_RG_FILE:
		return FS_OWN_FILE;
	default:
		return FS_OWN_UNKNOWN;
	}
}

void memmodel__own(struct fs_regions *rs, int brk_owned, const struct fs_owned *ev, long nev, int dflt)
{
	for (int i = 0; i < rs->n; i++) {
		struct fs_region *r = &rs->r[i];
		uint64_t b[FS_OWN__COUNT] = { 0 };
		int owner = kind_owner(r, brk_owned), n = 0;

		r->owner = owner;
		if (r->kind != FS_RG_ANON)
			continue;
		ev_split(ev, nev, r->start, r->end, dflt, b);
		for (int o = 0; o < FS_OWN__COUNT; o++)
			if (b[o]) {
				n++;
				owner = o;
			}
		r->owner = n == 1 ? owner : FS_OWN_MIXED;
	}
}

void memmodel__sum(const struct fs_regions *rs, const struct fs_owned *ev, long nev, int dflt,
		   fs_present_fn present, void *ctx, struct fs_memory *m)
{
	uint8_t *pres = NULL;
	uint64_t cap = 0;

	m->mapped = m->resident = m->lazyfree = m->rss_anon = 0;
	memset(m->kind_mapped, 0, sizeof(m->kind_mapped));
	memset(m->kind_resident, 0, sizeof(m->kind_resident));
	memset(m->own_mapped, 0, sizeof(m->own_mapped));
	memset(m->own_resident, 0, sizeof(m->own_resident));
	for (int i = 0; i < rs->n; i++) {
		const struct fs_region *r = &rs->r[i];
		uint64_t size = r->end - r->start;

		m->rss_anon += r->anon;
		if (r->kind != FS_RG_RESERVED) {
			m->kind_mapped[r->kind] += size;
			m->kind_resident[r->kind] += r->anon;
		}
		if (r->owner >= 0) {
			/* reserved address space is never resident: not mapped memory of anyone */
			if (r->kind != FS_RG_RESERVED && r->kind != FS_RG_FILE && (r->kind != FS_RG_OTHER || r->anon))
				m->own_mapped[r->owner] += size;
			m->own_resident[r->owner] += r->anon;
			if (r->owner == FS_OWN_ALLOCATOR)
				m->lazyfree += r->lazyfree;
			continue;
		}
		/* a merged mapping of several owners: split page by page */
		{
			uint64_t np = size / PAGE, b[FS_OWN__COUNT] = { 0 };

			ev_split(ev, nev, r->start, r->end, dflt, b);
			for (int o = 0; o < FS_OWN__COUNT; o++)
				m->own_mapped[o] += b[o];
			if (np > cap) {
				uint8_t *p = realloc(pres, np);

				if (p) {
					pres = p;
					cap = np;
				}
			}
			if (r->anon && present && np <= cap && !present(ctx, r->start, np, pres)) {
				uint64_t seen = 0, rb[FS_OWN__COUNT] = { 0 };

				for (uint64_t p = 0; p < np; p++)
					if (pres[p]) {
						rb[ev_page_owner(ev, nev, r->start + p * PAGE, dflt)] += PAGE;
						seen += PAGE;
					}
				/* pagemap and smaps are read moments apart: smaps' total stands, split as the pages are */
				for (int o = 0; o < FS_OWN__COUNT; o++)
					m->own_resident[o] += seen ? (uint64_t)((double)r->anon * (double)rb[o] / (double)seen) : 0;
				if (!seen)
					m->own_resident[dflt] += r->anon;
			} else if (r->anon) {
				/* residency unreadable: in proportion to the address space */
				for (int o = 0; o < FS_OWN__COUNT; o++)
					m->own_resident[o] += (uint64_t)((double)r->anon * (double)b[o] / (double)size);
				m->owners_partial = 1;
			}
			if (b[FS_OWN_ALLOCATOR])
				m->lazyfree += (uint64_t)((double)r->lazyfree * (double)b[FS_OWN_ALLOCATOR] / (double)size);
		}
	}
	free(pres);
	m->mapped = m->own_mapped[FS_OWN_ALLOCATOR];
	m->resident = m->own_resident[FS_OWN_ALLOCATOR];
	m->valid = 1;
}

void memmodel__claim(struct fs_memory *m, uint64_t resident, uint64_t mapped)
{
	uint64_t r = resident > m->own_resident[FS_OWN_ALLOCATOR] ? resident - m->own_resident[FS_OWN_ALLOCATOR] : 0;
	uint64_t v = mapped > m->own_mapped[FS_OWN_ALLOCATOR] ? mapped - m->own_mapped[FS_OWN_ALLOCATOR] : 0;

	r = r < m->own_resident[FS_OWN_UNKNOWN] ? r : m->own_resident[FS_OWN_UNKNOWN];
	v = v < m->own_mapped[FS_OWN_UNKNOWN] ? v : m->own_mapped[FS_OWN_UNKNOWN];
	m->own_resident[FS_OWN_UNKNOWN] -= r;
	m->own_resident[FS_OWN_ALLOCATOR] += r;
	m->own_mapped[FS_OWN_UNKNOWN] -= v;
	m->own_mapped[FS_OWN_ALLOCATOR] += v;
	m->resident = m->own_resident[FS_OWN_ALLOCATOR];
	m->mapped = m->own_mapped[FS_OWN_ALLOCATOR];
}

void memmodel__finish(struct fs_memory *m)
{
	uint64_t used = m->live + m->lazyfree + m->pre_attach_live;

	m->held_free = m->unseen = 0;
	if (m->held_basis == FS_B_ALLOC_STATS && m->je_valid) {
		/* jemalloc's own: fragmentation inside active extents, plus unpurged pages */
		m->held_free = (m->je_active > m->je_allocated ? m->je_active - m->je_allocated : 0) +
			       m->je_dirty + m->je_muzzy;
		return;
	}
	m->held_free = m->resident > used ? m->resident - used : 0;
	if (m->held_basis == FS_B_UNKNOWN) {
		/* blocks from before attach lie in memory mapped at attach: at most that much is unseen */
		m->unseen = m->held_free < m->pre_attach_bound ? m->held_free : m->pre_attach_bound;
		m->held_free -= m->unseen;
	}
}

/* (resident - live) / resident; memory not seen (unseen: blocks from before attach may
 * fill it) is not counted as free, so attached without a census this is a floor, as
 * held free is (it was 98% on python3 attached by PID with 0 B known to be free). */
double memmodel__fragmentation(const struct fs_memory *m)
{
	uint64_t live = m->live + m->pre_attach_live + m->unseen;

	if (!m->resident)
		return 0;
	return m->resident > live ? (double)(m->resident - live) / (double)m->resident : 0;
}

void memmodel__occupancy(const struct fs_regions *rs, const uint64_t *addr, const uint64_t *size,
			 long nblocks, fs_present_fn present, void *ctx, uint64_t max_bytes,
			 struct fs_memory *m)
{
	uint8_t *pres = NULL;
	uint64_t cap = 0;
	long b = 0;	/* first block that may still overlap the current page */

	m->pages_scanned = m->resident_no_live = m->low_occupancy = m->heap_no_live = 0;
	m->pages_partial = 0;
	m->pages_mixed = 0;
	for (int i = 0; i < rs->n; i++) {
		const struct fs_region *r = &rs->r[i];
		uint64_t np = (r->end - r->start) / PAGE;

		int heap = r->kind == FS_RG_HEAP || r->kind == FS_RG_ARENA_HEAP;

		if (r->owner == FS_OWN_MIXED)
			m->pages_mixed += r->anon;
		if (r->owner != FS_OWN_ALLOCATOR || !r->anon)
			continue;
		if (m->pages_scanned + r->anon > max_bytes) {
			m->pages_partial = 1;
			break;
		}
		if (np > cap) {
			uint8_t *p = realloc(pres, np);

			if (!p) {
				m->pages_partial = 1;
				break;
			}
			pres = p;
			cap = np;
		}
		if (present(ctx, r->start, np, pres)) {
			m->pages_partial = 1;
			continue;
		}
		while (b < nblocks && addr[b] + size[b] <= r->start)
			b++;
		for (uint64_t p = 0; p < np; p++) {
			uint64_t lo = r->start + p * PAGE, hi = lo + PAGE, live = 0;

			if (!pres[p])
				continue;
			m->pages_scanned += PAGE;
			/* blocks are sorted by start and do not overlap: sweep forward */
			while (b < nblocks && addr[b] + size[b] <= lo)
				b++;
			for (long k = b; k < nblocks && addr[k] < hi; k++) {
				uint64_t s = addr[k] > lo ? addr[k] : lo;
				uint64_t e = addr[k] + size[k] < hi ? addr[k] + size[k] : hi;

				if (e > s)
					live += e - s;
			}
			if (!live) {
				m->resident_no_live += PAGE;
				if (heap)
					m->heap_no_live += PAGE;
			}
			else if (live * 10 < PAGE)
				m->low_occupancy += PAGE;
		}
	}
	free(pres);
	m->pages_valid = 1;
}

/* Live bytes and blocks starting inside [lo, hi) (blocks sorted by address). */
static void live_in(uint64_t lo, uint64_t hi, const uint64_t *addr, const uint64_t *size, long n,
		    uint64_t *bytes, uint64_t *blocks)
{
	long a = 0, z = n;

	while (a < z) {		/* first block >= lo */
		long mid = a + (z - a) / 2;

		if (addr[mid] < lo)
			a = mid + 1;
		else
			z = mid;
	}
	for (; a < n && addr[a] < hi; a++) {
		*bytes += size[a];
		(*blocks)++;
	}
}

void memmodel__arenas(const struct fs_regions *rs, const uint64_t *addr, const uint64_t *size,
		      long nblocks, struct fs_memory *m)
{
	m->narenas = 0;
	for (int i = 0; i < rs->n; i++) {
		const struct fs_region *r = &rs->r[i];
		struct fs_arena *a = NULL;

		if (r->kind != FS_RG_HEAP && r->kind != FS_RG_ARENA_HEAP)
			continue;
		for (int k = 0; k < m->narenas; k++)
			if ((r->kind == FS_RG_HEAP && m->arenas[k].main) ||
			    (r->kind == FS_RG_ARENA_HEAP && !m->arenas[k].main && m->arenas[k].ar_ptr == r->ar_ptr))
				a = &m->arenas[k];
		if (!a) {
			if (m->narenas >= FS_MAX_ARENAS)
				continue;
			a = &m->arenas[m->narenas++];
			memset(a, 0, sizeof(*a));
			a->main = r->kind == FS_RG_HEAP;
			a->ar_ptr = r->ar_ptr;
		}
		a->heaps++;
		a->mapped += r->end - r->start;
		a->resident += r->anon;
		live_in(r->start, r->end, addr, size, nblocks, &a->live, &a->live_blocks);
	}
	/* main arena first, as glibc lists them */
	for (int k = 1; k < m->narenas; k++)
		if (m->arenas[k].main) {
			struct fs_arena t = m->arenas[0];

			m->arenas[0] = m->arenas[k];
			m->arenas[k] = t;
		}
}

/* Every backend reads its own variables: whichever allocator runs, the settings
 * the environment holds are shown. */
void memmodel__settings(const char *env, size_t len, struct fs_settings *s)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; fs_allocators[i]; i++)
		if (fs_allocators[i]->settings)
			fs_allocators[i]->settings(env, len, s);
}

const char *memmodel__diag_name(int kind)
{
	static const char *const n[] = { "none", "leak", "retention", "allocator_cache", "arena_spread", "unseen",
					 "not_allocator" };

	return kind >= 0 && kind <= FS_D_NOT_ALLOCATOR ? n[kind] : "none";
}

/* Human sizes for one message: a ring of buffers, so several fit in one printf. */
static const char *MIB(uint64_t v)
{
	static char ring[8][32];
	static unsigned next;

	return fmt__bytes(v, ring[next++ % 8], sizeof(ring[0]));
}

static void diagnose(const struct fs_memory *m, uint64_t peak_live, const struct fs_allocator *a,
		     const struct fs_settings *set, struct fs_diagnosis *out);

/* Who released pages that were faulted back in, and the remedy of that very
 * mechanism: the backend's texts for the sources it produces; churn after the
 * program's own munmap is no allocator's doing. */
static void churn_cause(int src, const struct fs_allocator *a, const char **who, const char **remedy)
{
	for (const struct fs_release_text *r = a->releases; r && r->who; r++)
		if (r->src == src) {
			*who = r->who;
			*remedy = r->remedy;
			return;
		}
	switch (src) {
	case FS_R_PROGRAM:
		*who = "the program's own munmap or madvise calls released them, not the allocator";
		*remedy = "its own memory manager (pymalloc's arenas, a runtime's heap) gives back pages it soon "
			  "needs again, which no allocator setting changes; the remedy is in the program (keep "
			  "released regions for reuse; for Python, PYTHONMALLOC=malloc hands small objects to malloc)";
		break;
	case FS_R_MUNMAP_BLOCK:
		*who = "the allocator unmapped large blocks";
		*remedy = "the program allocates them again soon";
		break;
	default:
		*who = "the allocator released them";
		*remedy = "its settings for returning memory decide";
		break;
	}
}

/* Memory given back only to be faulted in again: speed lost, not memory. */
static void churn(const struct fs_memory *m, const struct fs_allocator *a, struct fs_diagnosis *out)
{
	size_t o = strlen(out->text);
	uint64_t bytes = m->churn_faults * PAGE, known = 0;
	int first = -1, second = -1;

	if (bytes < (16u << 20) || m->churn_faults * 4 < m->faults || o + 2 >= sizeof(out->text))
		return;
	for (int i = 0; i < FS_R__COUNT; i++) {
		known += m->churn_src[i];
		if (!m->churn_src[i])
			continue;
		if (first < 0 || m->churn_src[i] > m->churn_src[first]) {
			second = first;
			first = i;
		} else if (second < 0 || m->churn_src[i] > m->churn_src[second]) {
			second = i;
		}
	}
	o += (size_t)snprintf(out->text + o, sizeof(out->text) - o,
			      "%s Churn: %s were faulted back in less than a second after being returned (%.0f%% of "
			      "%llu page faults)",
			      o && out->text[o - 1] != '.' && out->text[o - 1] != ' ' ? "." : "", MIB(bytes),
			      100.0 * (double)m->churn_faults / (double)m->faults, (unsigned long long)m->faults);
	if (first < 0) {
		if (o < sizeof(out->text))
			snprintf(out->text + o, sizeof(out->text) - o, ": who released them is not known.");
		return;
	}
	/* the main mechanism, and a second one when it holds a quarter or more */
	for (int k = 0; k < 2 && o < sizeof(out->text); k++) {
		int src = k ? second : first;
		const char *who, *remedy;

		if (src < 0 || (k && m->churn_src[src] * 4 < known))
			break;
		churn_cause(src, a, &who, &remedy);
		o += (size_t)snprintf(out->text + o, sizeof(out->text) - o, "%s %s (%.0f%% of those pages): %s",
				      k ? ";" : ":", who, 100.0 * (double)m->churn_src[src] / (double)known, remedy);
	}
	if (o < sizeof(out->text))
		snprintf(out->text + o, sizeof(out->text) - o, ".");
}

void memmodel__diagnose(const struct fs_memory *m, uint64_t peak_live, const struct fs_allocator *a,
			const struct fs_settings *set, struct fs_diagnosis *out)
{
	diagnose(m, peak_live, a, set, out);
	if (m->valid)
		churn(m, a, out);
}

/* Anonymous memory that is not the allocator's: the program's own mappings and
 * memory nothing tells the owner of. */
static uint64_t foreign(const struct fs_memory *m)
{
	return m->own_resident[FS_OWN_PROGRAM] + m->own_resident[FS_OWN_UNKNOWN];
}

/* Appends to out->text at offset o. */
#define SAY(...) (o += (size_t)snprintf(out->text + o, o < sizeof(out->text) ? sizeof(out->text) - o : 0, __VA_ARGS__))

/* What the memory outside the allocator is, as far as the evidence goes. */
static void foreign_detail(const struct fs_memory *m, const struct fs_allocator *a, struct fs_diagnosis *out, size_t *op)
{
	size_t o = *op;

	if (m->own_resident[FS_OWN_PROGRAM])
		SAY("%s the program mapped itself while traced (a runtime's heap, a buffer pool): no allocator "
		    "setting and no malloc_trim returns it. ", MIB(m->own_resident[FS_OWN_PROGRAM]));
	if (m->own_resident[FS_OWN_UNKNOWN])
		SAY("%s has no known owner: mapped before attach by code fragscope did not see (the program's own "
		    "heap, as Go's, Java's or pymalloc's%s). ", MIB(m->own_resident[FS_OWN_UNKNOWN]),
		    !a->unknown_note ? "" : m->mmapped_scanned ? a->unknown_note_scanned : a->unknown_note);
	*op = o;
}

static void diagnose(const struct fs_memory *m, uint64_t peak_live, const struct fs_allocator *a,
		     const struct fs_settings *set, struct fs_diagnosis *out)
{
	uint64_t idle = m->held_free, away = foreign(m);
	size_t o = 0;

	memset(out, 0, sizeof(*out));
	out->expect = -1;
	if (!m->valid) {
		out->kind = FS_D_NONE;
		SAY("no memory figures (the target exited before they were read)");
		return;
	}
	/* A command that ran a few ms: its only sample came before it allocated ("resident
	 * 0 B, of which 1.1 MiB live"): the two figures are of different moments */
	if (m->gone_age_ns && m->live + m->pre_attach_live > 2 * (m->resident + m->lazyfree)) {	/* not a few untouched pages */
		out->kind = FS_D_NONE;
		SAY("the process exited %.2f s after the last memory sample, which saw %s resident, before most of "
		    "the %s live at its exit: nothing to diagnose (a longer run, or a shorter -i, samples after "
		    "the allocations)", (double)m->gone_age_ns / 1e9, MIB(m->resident), MIB(m->live + m->pre_attach_live));
		return;
	}
	if (m->held_basis == FS_B_UNKNOWN && m->unseen >= (8u << 20) && m->unseen * 4 >= m->resident) {
		out->kind = FS_D_UNSEEN;
		SAY("the allocator holds %s resident beyond the %s live that fragscope saw allocated since attach: "
		    "what that memory holds (blocks from before attach, or free memory) has not been seen, so "
		    "no remedy can promise any of it back. ", MIB(m->unseen), MIB(m->live));
		if (a->unseen_hint)
			SAY("%s", a->unseen_hint);
		goto foreign_note;
	}
	/* Small heaps, or resident memory mostly live: nothing to explain. */
	if (m->resident < (8u << 20) || idle * 4 < m->resident) {
		if (peak_live > (8u << 20) && m->live * 2 >= peak_live && m->live * 4 >= m->resident * 3 && m->busy) {
			out->kind = FS_D_NONE;
			SAY("live bytes are near their peak (%s) while the program keeps allocating: a load in "
			    "progress. A leak shows as live bytes that stay once the load ends.", MIB(m->live));
			goto foreign_note;
		}
		/* a leak is growth that stays: attached by PID, beyond what was live at attach (light
		 * mode called memcached's 413 MiB of slabs a leak after 5 s of no change) */
		if (peak_live > (8u << 20) + m->live_at_attach && m->live * 2 >= peak_live &&
		    m->live * 4 >= m->resident * 3) {
			out->kind = FS_D_LEAK;
			SAY("live bytes stay at %s of a peak of %s: memory is held by the program, not the "
			    "allocator (a leak, or a cache that never shrinks).%s",
			    MIB(m->live), MIB(peak_live), m->light ? "" : " See the live sizes histogram.");
			goto foreign_note;
		}
		if (away >= (8u << 20) && away > m->resident) {
			out->kind = FS_D_NOT_ALLOCATOR;
			SAY("%s of anonymous memory is not known to be the allocator's, which holds only %s resident "
			    "(%s of it live). ", MIB(away), MIB(m->resident), MIB(m->live + m->pre_attach_live));
			foreign_detail(m, a, out, &o);
			return;
		}
		out->kind = FS_D_NONE;
		/* nginx's worker attached by PID read "resident 968.0 KiB, of which 0 B live: the
		 * allocator holds little beyond what is in use": unseen memory is not in use, nor free */
		if (m->unseen)
			SAY("resident %s, of which %s live and %s unseen (blocks from before attach, or free: not "
			    "known)%s", MIB(m->resident), MIB(m->live + m->pre_attach_live), MIB(m->unseen),
			    m->resident < (8u << 20) ? ": a small heap, nothing to explain" : "");
		else if (idle * 4 >= m->resident)
			SAY("resident %s, of which %s live: a small heap, nothing to explain", MIB(m->resident),
			    MIB(m->live + m->pre_attach_live));
		else if (m->live + m->pre_attach_live > m->resident)	/* memcached: 413.0 MiB "of" 412.7 MiB */
			SAY("resident %s, live %s (live blocks' bytes include pages never touched): the allocator "
			    "holds little beyond what is in use", MIB(m->resident), MIB(m->live + m->pre_attach_live));
		else
			SAY("resident %s, of which %s live: the allocator holds little beyond what is in use",
			    MIB(m->resident), MIB(m->live + m->pre_attach_live));
		goto foreign_note;
	}
	/* the allocator's own paragraph and remedy, if its backend has one */
	if (a->retention) {
		a->retention(m, peak_live, set, out, &o);
		goto foreign_note;
	}
	out->kind = FS_D_RETENTION;
	SAY("the allocator holds %s resident beyond %s live", MIB(idle), MIB(m->live));
foreign_note:
	if (away >= (8u << 20) && out->kind != FS_D_NOT_ALLOCATOR) {
		SAY(" Besides, %s of anonymous memory is not known to be the allocator's: ", MIB(away));
		foreign_detail(m, a, out, &o);
	}
#undef SAY
}
