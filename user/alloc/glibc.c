/* glibc.c - the backend of glibc's malloc (ptmalloc): its API, its heaps walked
 * from outside (census.c), its part of the diagnosis, its tunables, and compare's
 * glibc variants. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "util/fmt.h"
#include "alloc/alloc.h"
#include "alloc/census.h"

static const struct fs_api_fn glibc_api[] = {
	{ "malloc", FS_K_MALLOC, 1 }, { "free", FS_K_FREE, 1 }, { "cfree", FS_K_FREE, 1 },
	{ "calloc", FS_K_CALLOC, 2 }, { "realloc", FS_K_REALLOC, 2 },
	{ "reallocarray", FS_K_REALLOCARRAY, 3 }, { "posix_memalign", FS_K_POSIX_MEMALIGN, 3 },
	{ "aligned_alloc", FS_K_MEMALIGN, 2 }, { "memalign", FS_K_MEMALIGN, 2 },
	{ "valloc", FS_K_MALLOC, 1 }, { "pvalloc", FS_K_MALLOC, 1 },
	{ "malloc_trim", FS_K_TRIM, 1 },
	{ 0 },
};

static const struct fs_api_part api[] = {
	{ glibc_api, 0 },
	{ 0 },
};

static void settings(const char *env, size_t len, struct fs_settings *s)
{
	alloc__env_val(env, len, "GLIBC_TUNABLES", s->glibc_tunables, sizeof(s->glibc_tunables));
	alloc__env_val(env, len, "MALLOC_ARENA_MAX", s->arena_max, sizeof(s->arena_max));
}

/* Free memory inside heaps that it never returns on its own: spread over arenas
 * each pinned by a few live blocks, or fragmentation; malloc_trim and what it
 * would give back, by the page census when there is one. */
static void retention(const struct fs_memory *m, uint64_t peak_live, const struct fs_settings *set,
		      struct fs_diagnosis *out, size_t *o)
{
	int pinned = 0, fresh = m->pages_valid && m->deep_age_ns < 2000000000ULL;

	(void)set;
	for (int i = 0; i < m->narenas; i++)
		if (!m->arenas[i].main && m->arenas[i].resident > (4u << 20) &&
		    m->arenas[i].live * 4 < m->arenas[i].resident)
			pinned++;
	out->kind = pinned >= 2 ? FS_D_ARENA_SPREAD : FS_D_RETENTION;
	if (pinned >= 2)
		alloc__say(out, o, "%d of %d glibc arenas keep mostly free memory, each pinned by a few live blocks: "
			   "%s resident, %s live. ", pinned, m->narenas, alloc__bytes(m->resident),
			   alloc__bytes(m->live + m->pre_attach_live));	/* --census: what predates attach too */
	else if (peak_live > m->live)
		alloc__say(out, o, "retention by fragmentation: live bytes fell to %s (peak %s) but %s stays resident. ",
			   alloc__bytes(m->live), alloc__bytes(peak_live), alloc__bytes(m->resident));
	else	/* attached after the load: no fall was seen */
		alloc__say(out, o, "retention by fragmentation: %s live%s (no fall seen since attach) but %s stays "
			   "resident. ", alloc__bytes(m->live + m->pre_attach_live),
			   m->pre_attach_live ? " with the blocks from before attach" : "", alloc__bytes(m->resident));
	if (fresh)
		alloc__say(out, o, "%s of resident heap pages hold no live block%s (%s more are under 10%% used). ",
			   alloc__bytes(m->resident_no_live), m->pages_approximate ? " that fragscope saw allocated" : "",
			   alloc__bytes(m->low_occupancy));
	alloc__say(out, o, "glibc returns memory only from the top of a heap: free pages in the middle stay until "
		   "malloc_trim(). Remedies: call malloc_trim(0) after a load (");
	alloc__remedy(out, "malloc_trim", -1, "");
	if (fresh && !m->pages_approximate) {
		alloc__say(out, o, "up to %s: heap pages holding no live block, by fragscope's page census of every live "
			   "block", alloc__bytes(m->heap_no_live));
		alloc__remedy(out, "malloc_trim", (int64_t)m->heap_no_live, "page census of the live set");
	} else if (fresh && m->held_basis == FS_B_UNKNOWN && m->heap_no_live > m->unseen + (1u << 20)) {
		alloc__say(out, o, "up to %s: heap pages holding no block fragscope saw allocated, less the %s that blocks "
			   "from before attach could fill at most", alloc__bytes(m->heap_no_live - m->unseen), alloc__bytes(m->unseen));
		alloc__remedy(out, "malloc_trim", (int64_t)(m->heap_no_live - m->unseen),
			      "page census, less memory mapped at attach");
	} else if (m->end_census) {
		alloc__say(out, o, "about %s: free resident pages inside glibc's heaps, by a heap census at the end%s",
			   alloc__bytes(m->end_census_trim),
			   m->end_census_approximate ? ", approximate: the heap changed during the walk" : "");
		alloc__remedy(out, "malloc_trim", (int64_t)m->end_census_trim, "heap census");
	} else if (m->light_census && m->light_age_ns < 2000000000ULL) {
		alloc__say(out, o, "about %s: free resident pages inside glibc's heaps, by the heap census",
			   alloc__bytes(m->light_trim));
		alloc__remedy(out, "malloc_trim", (int64_t)m->light_trim, "heap census");
	} else
		alloc__say(out, o, "amount unknown%s: `fragscope snapshot -p PID` tells what it would release now",
			   m->light ? ": the last heap census is too old" :
			   m->held_basis == FS_B_CENSUS ? ": the census is from attach" : "");
	if (m->trim_calls)
		alloc__say(out, o, "; while traced, %llu malloc_trim() calls released %s", (unsigned long long)m->trim_calls,
			   alloc__bytes(m->trim_released));
	alloc__say(out, o, "); ");
	if (m->narenas > 2)
		alloc__say(out, o, "MALLOC_ARENA_MAX=2 (glibc.malloc.arena_max) to keep fewer arenas (%d now); ", m->narenas);
	alloc__say(out, o, "a lower glibc.malloc.trim_threshold trims heap tops sooner; or switch to jemalloc "
		   "with background_thread:true, which purges free pages over time.");
}

/* snapshot's: what malloc_trim would release now, by the census of its heaps. */
static void census_diagnosis(const struct fs_census *c, char *buf, size_t len, int *kind)
{
	char a[32], b[32], d[32];

	*kind = FS_D_NONE;
	/* a quarter of what glibc holds (its chunks), not of all the anonymous memory the
	 * census looked at: a python3 with 18.4 MiB to trim beside 347 MiB of pymalloc's
	 * arenas was told "little to give back" (malloc_trim(0) then released 18.4 MiB) */
	if (c->free_resident > (4u << 20) && c->free_resident * 4 > c->in_use + c->free) {
		*kind = FS_D_RETENTION;
		snprintf(buf, len, "malloc_trim would release about %s now: %s of free memory is resident inside "
			 "glibc's heaps (%s in use). glibc never returns free pages in the middle of a heap on its own.",
			 fmt__bytes(c->free_resident, a, sizeof(a)), fmt__bytes(c->free_resident, b, sizeof(b)),
			 fmt__bytes(c->in_use, d, sizeof(d)));
	} else {
		snprintf(buf, len, "%s in use, %s free of which %s resident: little to give back",
			 fmt__bytes(c->in_use, a, sizeof(a)), fmt__bytes(c->free, b, sizeof(b)),
			 fmt__bytes(c->free_resident, d, sizeof(d)));
	}
}

static const struct fs_release_text releases[] = {
	{ FS_R_GLIBC_TRIM, "glibc's trim of heap tops after frees released them",
	  "a higher glibc.malloc.trim_threshold (or glibc.malloc.top_pad) trades that memory for speed" },
	{ FS_R_MALLOC_TRIM, "the program's malloc_trim() calls released them",
	  "calling it less often (when idle) keeps pages that are about to be reused" },
	{ FS_R_MUNMAP_BLOCK, "glibc unmapped large blocks (mmapped chunks, or whole heaps)",
	  "a higher glibc.malloc.mmap_threshold keeps such blocks in the heap" },
	{ 0 },
};

static const char *const prefixes[] = { "", NULL };
static const char *const markers[] = { "__libc_malloc", NULL };

static const struct fs_alloc_variant variants[] = {
	{ "glibc", NULL, NULL, "glibc malloc, defaults" },
	{ "glibc-arena2", "MALLOC_ARENA_MAX", "2", "glibc with MALLOC_ARENA_MAX=2" },
	{ 0 },
};

const struct fs_allocator fs_alloc_glibc = {
	.id = FS_ALLOC_GLIBC,
	.name = "glibc",
	.prefixes = prefixes,
	.markers = markers,
	.api = api,
	.libc = 1,
	.heap_walk = 1,
	.usable_sizes = 1,
	.retention = retention,
	.releases = releases,
	.unseen_hint = "`fragscope snapshot -p PID` counts glibc's heap now (in use, free, what malloc_trim "
		       "would release); --census counts it at attach.",
	.unknown_note = ", or glibc blocks of 128 KiB and more: `fragscope snapshot` finds those",
	.unknown_note_scanned = "; glibc's mmapped chunks were looked for at attach: they are not there",
	.census_diagnosis = census_diagnosis,
	.conf_env = "GLIBC_TUNABLES",
	.conf_word = "TUNABLES",
	.conf_example = "trim=glibc:glibc.malloc.trim_threshold=65536",
	.settings = settings,
	.variants = variants,
};
