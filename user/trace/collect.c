/* collect.c - builds fs_state samples from the tracer and /proc. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "trace/collect.h"
#include "alloc/jestats.h"
#include "util/log.h"
#include "model/procmem.h"
#include "elf/symbolize.h"
#include "trace/tracer.h"

#define PAGE 4096ULL

static uint64_t now_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Every mapping since the program started is in the ledger: traced from the start,
 * nothing lost or missed. */
static int maps_complete(const struct fs_state *st)
{
	return st->traced_from_start && st->maps.events && !st->maps.lost && !st->maps.conflicts;
}

/* Anonymous memory no evidence names: the allocator's only when the program was
 * traced from its start and the ledger of mappings is not complete. */
static int anon_default(const struct fs_state *st)
{
	return st->traced_from_start && !maps_complete(st) ? FS_OWN_ALLOCATOR : FS_OWN_UNKNOWN;
}

static int cmp_owned(const void *a, const void *b)
{
	const struct fs_owned *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->prio - y->prio;	/* at one start, the stronger evidence first */
}

long collect__evidence_norm(struct fs_owned *ev, long n)
{
	long k = 0;

	if (n <= 0)
		return 0;
	qsort(ev, (size_t)n, sizeof(*ev), cmp_owned);
	for (long i = 0; i < n; i++) {
		struct fs_owned e = ev[i];

		if (e.end <= e.start)
			continue;
		if (k && e.start < ev[k - 1].end) {
			if (e.owner == ev[k - 1].owner) {
				if (e.end > ev[k - 1].end)
					ev[k - 1].end = e.end;
				continue;
			}
			e.start = ev[k - 1].end;	/* the earlier range keeps its bytes */
			if (e.end <= e.start)
				continue;
		}
		if (k && e.start == ev[k - 1].end && e.owner == ev[k - 1].owner) {
			ev[k - 1].end = e.end;
			continue;
		}
		ev[k++] = e;
	}
	return k;
}

static int in_heap(const struct fs_regions *rs, uint64_t a)
{
	long lo = 0, hi = rs->n;

	while (lo < hi) {
		long mid = lo + (hi - lo) / 2;

		if (rs->r[mid].end <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < rs->n && rs->r[lo].start <= a &&
	       (rs->r[lo].kind == FS_RG_HEAP || rs->r[lo].kind == FS_RG_ARENA_HEAP);
}

/* The pages of live blocks outside glibc's heaps are the allocator's: an mmapped
 * chunk (glibc) or an extent (jemalloc) holds them. */
static void live_evidence(struct fs_state *st, const struct fs_regions *rs, const uint64_t *addr,
			  const uint64_t *size, long n)
{
	struct fs_owned *ev = malloc(sizeof(*ev) * (size_t)(n + 1));
	long k = 0;

	if (!ev)
		return;
	for (long i = 0; i < n; i++) {
		if (in_heap(rs, addr[i]))
			continue;
		/* glibc's chunk header sits 16 bytes before the block */
		ev[k].start = (addr[i] >= 16 ? addr[i] - 16 : 0) & ~(PAGE - 1);
		ev[k].end = (addr[i] + (size[i] ? size[i] : 1) + PAGE - 1) & ~(PAGE - 1);
		ev[k].owner = FS_OWN_ALLOCATOR;
		ev[k].prio = 2;
		k++;
	}
	free(st->live_ev);
	st->live_ev = ev;
	st->nlive_ev = collect__evidence_norm(ev, k);
}

/* Every piece of evidence at hand, normalised; *out to be freed. The ledger of
 * mappings seen since attach comes first: where it overlaps other evidence, it wins. */
static long evidence(const struct fs_state *st, struct fs_owned **out)
{
	long n = st->nlive_ev + st->ncensus_ev + (long)st->maps.n, k = 0;
	struct fs_owned *ev = malloc(sizeof(*ev) * (size_t)(n + 1));
	const struct fs_interval *iv;

	*out = ev;
	if (!ev)
		return 0;
	for (size_t i = 0; (iv = mapset__at(&st->maps, i)); i++) {
		int owner = iv->owner == FS_M_ALLOCATOR ? FS_OWN_ALLOCATOR
			  : iv->owner == FS_M_OTHER_ANON ? FS_OWN_PROGRAM
			  : iv->owner == FS_M_STACK ? FS_OWN_STACK : -1;

		if (owner >= 0)
			ev[k++] = (struct fs_owned){ iv->start, iv->end, owner, 0 };
	}
	for (long i = 0; i < st->ncensus_ev; i++) {
		ev[k] = st->census_ev[i];
		ev[k++].prio = 1;
	}
	for (long i = 0; i < st->nlive_ev; i++)
		ev[k++] = st->live_ev[i];
	return collect__evidence_norm(ev, k);
}

static int cmp_owned_start(const void *a, const void *b)
{
	const struct fs_owned *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* The live blocks (sorted) and glibc's mmapped chunks found at attach (live: glibc
 * unmaps a chunk when it is freed), merged by address for the page census: memcached's
 * 413 MiB of slabs read as "412.6 MiB resident with no live block". NULL when there
 * are no such chunks (addr, size are used as they are). */
static long with_census_chunks(const struct fs_state *st, const uint64_t *addr, const uint64_t *size, long n,
			       uint64_t **oa, uint64_t **os)
{
	struct fs_owned *c;
	long k = 0, i = 0, j = 0;

	*oa = *os = NULL;
	if (!st->ncensus_ev)
		return n;
	c = malloc(sizeof(*c) * (size_t)st->ncensus_ev);
	*oa = malloc(sizeof(**oa) * (size_t)(n + st->ncensus_ev));
	*os = malloc(sizeof(**os) * (size_t)(n + st->ncensus_ev));
	if (!c || !*oa || !*os) {
		free(c);
		free(*oa);
		free(*os);
		*oa = *os = NULL;
		return n;
	}
	memcpy(c, st->census_ev, sizeof(*c) * (size_t)st->ncensus_ev);
	qsort(c, (size_t)st->ncensus_ev, sizeof(*c), cmp_owned_start);
	while (i < n || j < st->ncensus_ev) {
		if (j >= st->ncensus_ev || (i < n && addr[i] < c[j].start)) {
			(*oa)[k] = addr[i];
			(*os)[k++] = size[i++];
		} else {
			(*oa)[k] = c[j].start;
			(*os)[k++] = c[j].end - c[j].start;
			j++;
		}
	}
	free(c);
	return k;
}

static void deep_figures(struct fs_state *st, struct tracer *tr, pid_t pid, struct fs_regions *rs,
			 uint64_t max_bytes)
{
	struct fs_live_block *blocks = NULL;
	uint64_t *addr = NULL, *size = NULL;
	long n = tracer__live_blocks(tr, &blocks);

	if (n < 0) {
		snprintf(st->mem.pages_note, sizeof(st->mem.pages_note), "live set unreadable: %s", strerror((int)-n));
		return;
	}
	addr = malloc(sizeof(*addr) * (size_t)(n + 1));
	size = malloc(sizeof(*size) * (size_t)(n + 1));
	if (addr && size) {
		memset(st->snap.h[FS_H_LIVE_SIZE], 0, sizeof(st->snap.h[FS_H_LIVE_SIZE]));
		for (long i = 0; i < n; i++) {
			addr[i] = blocks[i].addr;
			size[i] = blocks[i].size;
			st->snap.h[FS_H_LIVE_SIZE][agg__bucket_of(size[i])]++;
		}
		if (rs && st->allocator->heap_walk)
			memmodel__arenas(rs, addr, size, n, &st->mem);
		if (rs)
			live_evidence(st, rs, addr, size, n);
		if (rs && !st->light) {	/* light: no live block known, the census stands for them */
			/* owners again: the live blocks are fresh evidence */
			struct fs_owned *ev = NULL;
			long nev = evidence(st, &ev);

			memmodel__own(rs, st->allocator->heap_walk || st->allocator->brk_heap, ev, nev, anon_default(st));
			free(ev);
			uint64_t *oa, *os;
			long on = with_census_chunks(st, addr, size, n, &oa, &os);

			memmodel__occupancy(rs, oa ? oa : addr, oa ? os : size, on, procmem__present, &pid, max_bytes,
					    &st->mem);
			free(oa);
			free(os);
		}
	}
	free(addr);
	free(size);
	free(blocks);
}

/* Bytes of the mmapped chunks found at attach that are still mapped: blocks from
 * before attach, live (glibc unmaps a chunk when it is freed). */
static uint64_t census_still_mapped(const struct fs_state *st, const struct fs_regions *rs)
{
	uint64_t bytes = 0;

	for (long i = 0; i < st->ncensus_ev; i++)
		for (int k = 0; k < rs->n; k++) {
			const struct fs_region *r = &rs->r[k];
			uint64_t s = r->start > st->census_ev[i].start ? r->start : st->census_ev[i].start;
			uint64_t e = r->end < st->census_ev[i].end ? r->end : st->census_ev[i].end;

			if (r->kind == FS_RG_ANON && e > s)
				bytes += e - s;
		}
	return bytes;
}

#define JE_EVERY_NS 10000000000ULL	/* jemalloc's statistics at most every 10 s between */

/* jemalloc: whether its background threads run (from their names, every sample),
 * and its own statistics (mallctl in a stopped thread: at the first sample, every
 * 10 s at deep samples, and at the last). */
static void je_figures(struct fs_state *st, pid_t pid, int alive, int deep)
{
	struct fs_memory *m = &st->mem;

	if (alive && (deep || st->final || st->settings.je_bg_threads < 0)) {
		int n = jestats__bg_threads(pid);

		if (n >= 0)
			st->settings.je_bg_threads = n;
	}
	if (!st->first_ns)
		st->first_ns = st->snap.mono_ns;
	/* a command just started may be in its loader or its constructors (jemalloc's
	 * own initialisation among them): give it a second before stopping a thread */
	if (st->traced_from_start && st->snap.mono_ns - st->first_ns < 1000000000ULL && !st->final)
		goto figures;
	if (alive && st->je_ask && !st->je_mallctl && st->je_find_tries < 5 && (deep || !st->je_find_tries)) {
		char why[256];

		if (jestats__find(pid, &st->je_mallctl, why, sizeof(why)) && ++st->je_find_tries == 5)
			fs_info("jemalloc's statistics will not be read: %s", why);
	}
	if (alive && st->je_mallctl && st->je_failures < 3 &&
	    (!st->je_ns || st->final || (deep && st->snap.mono_ns - st->je_ns >= JE_EVERY_NS))) {
		struct fs_je_stats je;
		char err[256];

		if (!jestats__read(pid, st->je_mallctl, &je, err, sizeof(err))) {
			st->je = je;
			st->je_ns = st->snap.mono_ns;
			st->je_calls = st->snap.c[FS_C_ALLOCS] + st->snap.c[FS_C_FREES];
			fs_info("jemalloc's statistics: %s", je.how);
		} else {
			st->je_failures++;
			st->je_ns = st->snap.mono_ns;
			fs_warn("jemalloc's statistics not read: %s", err);
		}
	}
figures:
	if (!st->je.valid || !m->valid)
		return;
	/* the figures hold only while the program has not called the allocator since */
	if (st->snap.c[FS_C_ALLOCS] + st->snap.c[FS_C_FREES] != st->je_calls) {
		/* but whose memory it is does not change with a call: the allocator's own totals
		 * at the reading still say how much of the memory of unknown owner is its (as in
		 * light mode, where calls are not seen; off by what it mapped or released since).
		 * Without this, top attached to a busy jemalloc server called all of its heap
		 * "not the allocator's" between two readings. */
		memmodel__claim(m, st->je.resident, st->je.mapped + st->je.retained);
		return;
	}
	m->je_valid = 1;
	m->je_allocated = st->je.allocated;
	m->je_active = st->je.active;
	m->je_resident = st->je.resident;
	m->je_mapped = st->je.mapped;
	m->je_retained = st->je.retained;
	m->je_metadata = st->je.metadata;
	m->je_dirty = st->je.pdirty * st->je.page;
	m->je_muzzy = st->je.pmuzzy * st->je.page;
	if (st->je.background_thread >= 0 && st->settings.je_bg_threads < 0)
		st->settings.je_bg_threads = st->je.background_thread ? 1 : 0;
	/* the allocator's own totals say how much of the memory of unknown owner is its */
	memmodel__claim(m, st->je.resident, st->je.mapped + st->je.retained);
}

/* Light mode, glibc: the heap census at a deep sample (or the last), within its
 * budget of wall time (FS_LIGHT_CENSUS_PCT). Its mmapped chunks are the allocator's. */
static void light_census(struct fs_state *st, pid_t pid, const struct fs_regions *rs)
{
	uint64_t t0 = now_mono_ns(), t1;
	struct fs_census *c;

	if (!light__census_due(&st->lc, t0, FS_LIGHT_CENSUS_PCT, st->final)) {
		st->lc.skipped++;
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	if (procmem__census(pid, rs, NULL, c)) {
		fs_debug("light mode: heap census of PID %d failed", pid);
		free(c);
		return;
	}
	t1 = now_mono_ns();
	light__keep(&st->lc, c, t1 - t0, t1);
	fs_debug("light mode: census %.2f ms, %llu bytes in use, %llu MiB read", (double)(t1 - t0) / 1e6,
		 (unsigned long long)c->in_use, (unsigned long long)(c->bytes_read >> 20));
	{
		struct fs_owned *ev = calloc((size_t)c->nmm + 1, sizeof(*ev));

		if (ev) {
			for (int i = 0; i < c->nmm; i++)
				ev[i] = (struct fs_owned){ c->mm[i].start, c->mm[i].end, FS_OWN_ALLOCATOR, 1 };
			free(st->census_ev);
			st->census_ev = ev;
			st->ncensus_ev = c->nmm;
			st->census_mm_more = c->mm_more;
			st->mmapped_scanned = 1;
		}
	}
	free(c);
}

/* How held_free can be known: every block seen, or a census of those before attach. */
static void set_basis(struct fs_state *st)
{
	struct fs_memory *m = &st->mem;
	uint64_t gone = st->snap.c[FS_C_FREES_UNKNOWN_CHUNK_BYTES];

	m->pre_attach_live = 0;
	if (st->light && !m->je_valid) {
		/* no block seen: the census's bytes in use are the live figure, else nothing is known */
		m->held_basis = st->lc.valid ? FS_B_CENSUS : FS_B_UNKNOWN;
		m->pre_attach_bound = UINT64_MAX;
		return;
	}
	if (m->je_valid) {
		m->held_basis = FS_B_ALLOC_STATS;
		/* jemalloc's allocated (usable bytes) covers blocks from before attach too */
		m->pre_attach_live = m->je_allocated > m->live ? m->je_allocated - m->live : 0;
	}
	else if (st->traced_from_start)
		m->held_basis = FS_B_TRACED;
	else if (st->census_done) {
		m->held_basis = FS_B_CENSUS;
		m->pre_attach_live = st->census_in_use > gone ? st->census_in_use - gone : 0;
	} else {
		m->held_basis = FS_B_UNKNOWN;
		m->pre_attach_live = st->census_mapped_now;	/* mmapped chunks found at attach */
		m->pre_attach_bound = st->mapped_at_attach_known ? st->mapped_at_attach : UINT64_MAX;
	}
}

int collect__sample(struct fs_state *st, struct tracer *tr, pid_t pid, int alive, int deep,
		    uint64_t occupancy_max_bytes)
{
	struct fs_regions rs = { 0 };
	uint64_t prev_ns = st->snap.mono_ns;
	int r = tracer__snapshot(tr, &st->snap);

	if (!r)
		tracer__window(tr, &st->win);
	if (!r)
		r = tracer__drain_maps(tr, &st->maps);
	if (r)
		return r;
	if (alive && !procmem__regions(pid, st->allocator->heap_walk, &rs)) {
		struct fs_memory keep_pages = st->mem;

		memset(&st->mem, 0, sizeof(st->mem));
		if (st->light && st->allocator->heap_walk && (deep || st->final))
			light_census(st, pid, &rs);
		if (!st->light && st->final && st->census_done && st->allocator->heap_walk) {
			struct fs_census *c = calloc(1, sizeof(*c));

			if (c && !procmem__census(pid, &rs, NULL, c)) {
				st->mem.end_census = 1;
				st->mem.end_census_approximate = c->approximate;
				st->mem.end_census_trim = c->free_resident;
			}
			free(c);
		}
		if (deep) {
			deep_figures(st, tr, pid, &rs, occupancy_max_bytes);
			st->mem.pages_approximate = !st->traced_from_start;
			st->deep_ns = st->snap.mono_ns;
		} else {
			st->mem.deep_age_ns = st->deep_ns ? st->snap.mono_ns - st->deep_ns : 0;
			/* carry the last deep figures (arenas, pages) until the next deep sample */
			st->mem.narenas = keep_pages.narenas;
			memcpy(st->mem.arenas, keep_pages.arenas, sizeof(st->mem.arenas));
			st->mem.pages_valid = keep_pages.pages_valid;
			st->mem.pages_partial = keep_pages.pages_partial;
			st->mem.pages_approximate = keep_pages.pages_approximate;
			st->mem.pages_scanned = keep_pages.pages_scanned;
			st->mem.resident_no_live = keep_pages.resident_no_live;
			st->mem.low_occupancy = keep_pages.low_occupancy;
			st->mem.heap_no_live = keep_pages.heap_no_live;
			memcpy(st->mem.pages_note, keep_pages.pages_note, sizeof(st->mem.pages_note));
		}
		{
			struct fs_owned *ev = NULL;
			long nev = evidence(st, &ev);

			memmodel__own(&rs, st->allocator->heap_walk || st->allocator->brk_heap, ev, nev, anon_default(st));
			memmodel__sum(&rs, ev, nev, anon_default(st), procmem__present, &pid, &st->mem);
			free(ev);
		}
		st->mem_age_ns = 0;
		st->census_mapped_now = census_still_mapped(st, &rs);
		if (!st->rss_anon_start) {
			st->rss_anon_start = st->mem.rss_anon;
			st->resident_start = st->mem.resident;
			/* blocks from before attach can only be in what was mapped then (the
			 * mmapped chunks found at attach are counted on their own) */
			st->mapped_at_attach = st->mem.own_mapped[FS_OWN_ALLOCATOR] + st->mem.own_mapped[FS_OWN_UNKNOWN];
			st->mapped_at_attach -= st->mapped_at_attach > st->census_mapped_now
						? st->census_mapped_now : st->mapped_at_attach;
			st->mapped_at_attach_known = 1;
		}
	} else {
		if (st->mem.valid)
			st->mem_age_ns += st->snap.mono_ns - prev_ns;
		if (st->deep_ns)
			st->mem.deep_age_ns = st->snap.mono_ns - st->deep_ns;
		if (deep)	/* gone: no regions, but the live set is still in the map */
			deep_figures(st, tr, pid, NULL, 0);
	}
	memmodel__regions_free(&rs);
	st->mem.live = agg__live_bytes(&st->snap);
	if (st->light)
		light__apply(&st->lc, st->snap.mono_ns, &st->mem);	/* bytes in use by the census, chunk bytes */
	st->mem.returned = agg__returned(&st->snap);
	st->mem.faults = st->snap.k.faults;
	st->mem.busy = alive && st->prev_allocs && st->snap.c[FS_C_ALLOCS] > st->prev_allocs;
	if (st->light)	/* no call counted: page faults since the last sample tell a load */
		st->mem.busy = alive && st->prev_faults && st->snap.k.faults > st->prev_faults;
	st->prev_faults = st->snap.k.faults ? st->snap.k.faults : 1;
	st->prev_allocs = st->snap.c[FS_C_ALLOCS];
	st->mem.churn_faults = st->snap.k.churn_faults;
	memcpy(st->mem.churn_src, st->snap.k.churn_src, sizeof(st->mem.churn_src));
	if (st->allocator->own_stats)
		je_figures(st, pid, alive, deep);
	st->mem.trim_calls = st->snap.k.trim_calls;
	st->mem.mmapped_scanned = st->mmapped_scanned;
	st->mem.trim_released = st->snap.k.src_resident[FS_R_MALLOC_TRIM];
	set_basis(st);
	if (st->mem.valid)
		memmodel__finish(&st->mem);
	/* light mode without a census: live is the allocator's own allocated bytes */
	if (st->mem.live + (st->light ? st->mem.pre_attach_live : 0) > st->peak_live)
		st->peak_live = st->mem.live + (st->light ? st->mem.pre_attach_live : 0);
	if (!st->live_first_set && st->mem.valid && (!st->light || st->lc.valid || st->mem.je_valid)) {
		st->live_first = st->traced_from_start ? 0 : st->mem.live + (st->light ? st->mem.pre_attach_live : 0);
		st->live_first_set = 1;
	}
	st->mem.live_at_attach = st->live_first;
	if (st->mem.resident > st->peak_resident)
		st->peak_resident = st->mem.resident;
	st->mem.gone_age_ns = st->mem_age_ns;
	memmodel__diagnose(&st->mem, st->peak_live, st->allocator, &st->settings, &st->diag);
	collect__sites_scale(st);	/* the sites against this sample's exact totals */
	return 0;
}

/* A sampled site with its stack cut where it stops being code, and why. */
struct cut_site {
	struct fs_site s;
	char why[80];
};

static int cmp_site(const void *a, const void *b)
{
	const struct fs_site *x = &((const struct cut_site *)a)->s, *y = &((const struct cut_site *)b)->s;

	if (x->stat.live_bytes != y->stat.live_bytes)
		return x->stat.live_bytes < y->stat.live_bytes ? 1 : -1;
	return x->stat.bytes < y->stat.bytes ? 1 : x->stat.bytes > y->stat.bytes ? -1 : 0;
}

static int cmp_stack(const void *a, const void *b)
{
	const struct fs_site *x = &((const struct cut_site *)a)->s, *y = &((const struct cut_site *)b)->s;

	if (x->nframes != y->nframes)
		return x->nframes < y->nframes ? -1 : 1;
	for (int f = 0; f < x->nframes; f++)
		if (x->ips[f] != y->ips[f])
			return x->ips[f] < y->ips[f] ? -1 : 1;
	return 0;
}

/* Stacks that differ only in the garbage cut off them are one site. */
static long merge_sites(struct cut_site *all, long n)
{
	long k = 0;

	qsort(all, (size_t)n, sizeof(*all), cmp_stack);
	for (long i = 0; i < n; i++) {
		if (k && !cmp_stack(&all[k - 1], &all[i])) {
			struct fs_site_stat *d = &all[k - 1].s.stat;

			d->samples += all[i].s.stat.samples;
			d->bytes += all[i].s.stat.bytes;
			d->live_samples += all[i].s.stat.live_samples;
			d->live_bytes += all[i].s.stat.live_bytes;
			d->live_var += all[i].s.stat.live_var;
			continue;
		}
		all[k++] = all[i];
	}
	return k;
}

int collect__sites(struct fs_state *st, struct tracer *tr, struct symbolizer *sym, int max)
{
	struct fs_site *raw = NULL;
	struct cut_site *all;
	long n = tracer__sites(tr, &raw), shorts = 0;
	uint64_t live_sum = 0, bytes_sum = 0;

	if (n < 0)
		return (int)n;
	all = calloc((size_t)(n ? n : 1), sizeof(*all));
	if (!all) {
		free(raw);
		return -ENOMEM;
	}
	for (long i = 0; i < n; i++) {
		all[i].s = raw[i];
		shorts += raw[i].nframes < 3;
		if (sym)
			all[i].s.nframes = symbolizer__stack_end(sym, raw[i].ips, raw[i].nframes, FS_STACK_DEPTH,
								 all[i].why, sizeof(all[i].why));
	}
	free(raw);
	st->short_stacks = n && shorts * 2 > n;
	n = merge_sites(all, n);
	qsort(all, (size_t)n, sizeof(*all), cmp_site);
	st->truncated_stacks = 0;
	for (long i = 0; i < n; i++) {
		live_sum += all[i].s.stat.live_bytes > 0 ? (uint64_t)all[i].s.stat.live_bytes : 0;
		bytes_sum += all[i].s.stat.bytes;
		st->truncated_stacks += !!all[i].why[0];
	}
	st->sites_live.est_sum = live_sum;
	st->sites_bytes.est_sum = bytes_sum;
	free(st->sites);
	st->nsites = (int)(n < max ? n : max);
	st->sites_total = n;
	st->sites = calloc((size_t)(st->nsites ? st->nsites : 1), sizeof(*st->sites));
	if (!st->sites) {
		free(all);
		st->nsites = 0;
		return -ENOMEM;
	}
	for (int i = 0; i < st->nsites; i++) {
		struct fs_site_sym *d = &st->sites[i];
		const struct fs_site *x = &all[i].s;

		d->stackid = x->stackid;
		d->samples = x->stat.samples;
		d->bytes_sampled = x->stat.bytes;
		d->live_sampled = x->stat.live_bytes;
		d->live_samples = x->stat.live_samples;
		d->live_var = d->live_var_sampled = x->stat.live_var;
		d->nframes = x->nframes;
		snprintf(d->truncated, sizeof(d->truncated), "%s", all[i].why);
		for (int f = 0; f < d->nframes; f++) {
			d->ip[f] = x->ips[f];
			if (sym)
				symbolizer__frame(sym, x->ips[f], d->frame[f], FS_SITE_FRAME);
			else
				snprintf(d->frame[f], FS_SITE_FRAME, "0x%llx", (unsigned long long)x->ips[f]);
		}
	}
	free(all);
	collect__sites_scale(st);
	return 0;
}

void collect__sites_scale(struct fs_state *st)
{
	int lost = st->snap.c[FS_C_STACKS_LOST] > 0;

	agg__site_scale_init(&st->sites_live, st->sites_live.est_sum, agg__live_bytes(&st->snap), lost);
	if (st->sampled)	/* no exact live total: each site's estimate stands as it is */
		st->sites_live.rule = AGG_SITES_AS_SAMPLED;
	agg__site_scale_init(&st->sites_bytes, st->sites_bytes.est_sum, st->snap.c[FS_C_ALLOC_BYTES], lost);
	for (int i = 0; i < st->nsites; i++) {
		struct fs_site_sym *d = &st->sites[i];

		d->bytes = agg__site_scaled(&st->sites_bytes, (int64_t)d->bytes_sampled);
		d->live_bytes = (int64_t)agg__site_scaled(&st->sites_live, d->live_sampled);
		d->live_var = d->live_var_sampled;
		if (st->sampled && st->win.period_ns) {	/* --window: as the totals, by the duty */
			double duty = sampled__duty(&st->win, &st->snap, NULL);

			d->live_bytes = (int64_t)((double)d->live_bytes / duty);
			d->live_var = (int64_t)((double)d->live_var_sampled / (duty * duty));
		}
	}
}

void collect__free(struct fs_state *st)
{
	free(st->live_ev);
	free(st->census_ev);
	st->live_ev = st->census_ev = NULL;
	st->nlive_ev = st->ncensus_ev = 0;
	free(st->sites);
	st->sites = NULL;
	st->nsites = 0;
	mapset__free(&st->maps);
}
