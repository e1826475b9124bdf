/* collect.c - builds fs_state samples from the tracer and /proc. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "collect.h"
#include "log.h"
#include "procmem.h"
#include "symbolize.h"
#include "tracer.h"

static void deep_figures(struct fs_state *st, struct tracer *tr, pid_t pid, const struct fs_regions *rs,
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
		if (rs && st->flavour == FS_F_GLIBC)
			memmodel__arenas(rs, addr, size, n, &st->mem);
		if (rs)
			memmodel__occupancy(rs, addr, size, n, procmem__present, &pid, max_bytes, &st->mem);
	}
	free(addr);
	free(size);
	free(blocks);
}

int collect__sample(struct fs_state *st, struct tracer *tr, pid_t pid, int alive, int deep,
		    uint64_t occupancy_max_bytes)
{
	struct fs_regions rs = { 0 };
	uint64_t prev_ns = st->snap.mono_ns;
	int r = tracer__snapshot(tr, &st->snap);

	if (!r)
		r = tracer__drain_maps(tr, &st->maps);
	if (r)
		return r;
	if (alive && !procmem__regions(pid, st->flavour == FS_F_GLIBC, &rs)) {
		struct fs_memory keep_pages = st->mem;

		memset(&st->mem, 0, sizeof(st->mem));
		memmodel__sum(&rs, &st->mem);
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
			memcpy(st->mem.pages_note, keep_pages.pages_note, sizeof(st->mem.pages_note));
		}
		st->mem_age_ns = 0;
		if (!st->rss_anon_start) {
			st->rss_anon_start = st->mem.rss_anon;
			st->resident_start = st->mem.resident;
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
	st->mem.returned = agg__returned(&st->snap);
	st->mem.faults = st->snap.k.faults;
	st->mem.busy = alive && st->prev_allocs && st->snap.c[FS_C_ALLOCS] > st->prev_allocs;
	st->prev_allocs = st->snap.c[FS_C_ALLOCS];
	st->mem.churn_faults = st->snap.k.churn_faults;
	if (st->mem.valid)
		memmodel__finish(&st->mem);
	if (st->mem.live > st->peak_live)
		st->peak_live = st->mem.live;
	if (st->mem.resident > st->peak_resident)
		st->peak_resident = st->mem.resident;
	memmodel__diagnose(&st->mem, st->peak_live, st->flavour, &st->settings, &st->diag);
	return 0;
}

static int cmp_site(const void *a, const void *b)
{
	const struct fs_site *x = a, *y = b;

	if (x->stat.live_bytes != y->stat.live_bytes)
		return x->stat.live_bytes < y->stat.live_bytes ? 1 : -1;
	return x->stat.bytes < y->stat.bytes ? 1 : x->stat.bytes > y->stat.bytes ? -1 : 0;
}

int collect__sites(struct fs_state *st, struct tracer *tr, struct symbolizer *sym, int max)
{
	struct fs_site *all = NULL;
	long n = tracer__sites(tr, &all), shorts = 0;

	if (n < 0)
		return (int)n;
	qsort(all, (size_t)n, sizeof(*all), cmp_site);
	free(st->sites);
	st->nsites = (int)(n < max ? n : max);
	st->sites_total = n;
	st->sites = calloc((size_t)(st->nsites ? st->nsites : 1), sizeof(*st->sites));
	if (!st->sites) {
		free(all);
		st->nsites = 0;
		return -ENOMEM;
	}
	for (long i = 0; i < n; i++)
		shorts += all[i].nframes < 3;
	st->short_stacks = n && shorts * 2 > n;
	for (int i = 0; i < st->nsites; i++) {
		struct fs_site_sym *d = &st->sites[i];

		d->stackid = all[i].stackid;
		d->samples = all[i].stat.samples;
		d->bytes = all[i].stat.bytes;
		d->live_bytes = all[i].stat.live_bytes;
		d->live_samples = all[i].stat.live_samples;
		d->nframes = all[i].nframes;
		for (int f = 0; f < d->nframes; f++) {
			if (sym)
				symbolizer__frame(sym, all[i].ips[f], d->frame[f], FS_SITE_FRAME);
			else
				snprintf(d->frame[f], FS_SITE_FRAME, "0x%llx", (unsigned long long)all[i].ips[f]);
		}
	}
	free(all);
	return 0;
}

void collect__free(struct fs_state *st)
{
	free(st->sites);
	st->sites = NULL;
	st->nsites = 0;
	mapset__free(&st->maps);
}
