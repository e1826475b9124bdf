/* tcmalloc.c - the backend of gperftools' tcmalloc (libtcmalloc_minimal and the full
 * libtcmalloc, 2.10 in Debian 12): its C API, its tc_* names and C++ operators
 * (which never reach its exported malloc/free), the MallocExtension calls that give
 * memory back, its environment settings, its part of the diagnosis, and compare's
 * tcmalloc variants. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alloc/alloc.h"

/* Every tc_* name is an alias of a C or C++ entry point (one probe per address: the
 * names only say what a program calling them directly hits), except
 * tc_malloc_skip_new_handler. Not exported: reallocarray, malloc_trim (glibc's run). */
static const struct fs_api_fn tc_api[] = {
	{ "pvalloc", FS_K_MALLOC, 1 }, { "cfree", FS_K_FREE, 1 },
	{ "tc_malloc", FS_K_MALLOC, 1 }, { "tc_malloc_skip_new_handler", FS_K_MALLOC, 1 },
	{ "tc_free", FS_K_FREE, 1 }, { "tc_free_sized", FS_K_FREE, 1 }, { "tc_cfree", FS_K_FREE, 1 },
	{ "tc_calloc", FS_K_CALLOC, 2 }, { "tc_realloc", FS_K_REALLOC, 2 },
	{ "tc_memalign", FS_K_MEMALIGN, 2 }, { "tc_posix_memalign", FS_K_POSIX_MEMALIGN, 3 },
	{ "tc_valloc", FS_K_MALLOC, 1 }, { "tc_pvalloc", FS_K_MALLOC, 1 },
	{ "tc_new", FS_K_MALLOC, 1 }, { "tc_newarray", FS_K_MALLOC, 1 },
	{ "tc_new_nothrow", FS_K_MALLOC, 1 }, { "tc_newarray_nothrow", FS_K_MALLOC, 1 },
	{ "tc_new_aligned", FS_K_MALLOC, 1 }, { "tc_newarray_aligned", FS_K_MALLOC, 1 },
	{ "tc_new_aligned_nothrow", FS_K_MALLOC, 1 }, { "tc_newarray_aligned_nothrow", FS_K_MALLOC, 1 },
	{ "tc_delete", FS_K_FREE, 1 }, { "tc_deletearray", FS_K_FREE, 1 },
	{ "tc_delete_sized", FS_K_FREE, 1 }, { "tc_deletearray_sized", FS_K_FREE, 1 },
	{ "tc_delete_nothrow", FS_K_FREE, 1 }, { "tc_deletearray_nothrow", FS_K_FREE, 1 },
	{ "tc_delete_aligned", FS_K_FREE, 1 }, { "tc_deletearray_aligned", FS_K_FREE, 1 },
	{ "tc_delete_sized_aligned", FS_K_FREE, 1 }, { "tc_deletearray_sized_aligned", FS_K_FREE, 1 },
	{ "tc_delete_aligned_nothrow", FS_K_FREE, 1 }, { "tc_deletearray_aligned_nothrow", FS_K_FREE, 1 },
	/* explicit releases: the page heap's free spans given back now (madvise) */
	{ "MallocExtension_ReleaseFreeMemory", FS_K_TRIM, 1 },
	{ "MallocExtension_ReleaseToSystem", FS_K_TRIM, 1 },
	{ 0 },
};

static const struct fs_api_part api[] = {
	{ fs_c_api, 0 },
	{ fs_cxx_api, 0 },
	{ tc_api, 0 },
	{ 0 },
};

#define TC_THREAD_CACHE_DEFAULT (32ULL << 20)	/* 8 x kMaxThreadCacheSize (4 MiB) */

static int tc_bool(const char *v)
{
	return strchr("tTyY1", v[0]) != NULL && v[0];
}

/* TCMALLOC_* from the environment (gperftools 2.10 reads them once, at start). */
static void settings(const char *env, size_t len, struct fs_settings *s)
{
	char v[64];

	s->tc_release_rate = 1.0;
	s->tc_thread_cache_max = TC_THREAD_CACHE_DEFAULT;
	alloc__env_prefixed(env, len, "TCMALLOC_", s->tc_env, sizeof(s->tc_env));
	if (alloc__env_val(env, len, "TCMALLOC_RELEASE_RATE", v, sizeof(v)))
		s->tc_release_rate = strtod(v, NULL);
	if (alloc__env_val(env, len, "TCMALLOC_AGGRESSIVE_DECOMMIT", v, sizeof(v)))
		s->tc_aggressive_decommit = tc_bool(v);
	if (alloc__env_val(env, len, "TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES", v, sizeof(v)))
		s->tc_thread_cache_max = strtoull(v, NULL, 10);
}

static void settings_text(const struct fs_settings *s, char *buf, size_t len)
{
	snprintf(buf, len, "TCMALLOC_RELEASE_RATE=%g, TCMALLOC_AGGRESSIVE_DECOMMIT=%s, "
		 "TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES=%llu (%s%s)", s->tc_release_rate,
		 s->tc_aggressive_decommit ? "t" : "f", (unsigned long long)s->tc_thread_cache_max,
		 s->tc_env[0] ? "set in its environment: " : "defaults: none set in its environment",
		 s->tc_env);
}

/* What it holds beyond live: its thread caches (bounded in total), central free
 * lists and the page heap's free spans, which cannot be told apart from outside
 * without reading its internal layout; and when its page heap gives spans back. */
static void retention(const struct fs_memory *m, uint64_t peak_live, const struct fs_settings *set,
		      struct fs_diagnosis *out, size_t *o)
{
	uint64_t cap = set->tc_thread_cache_max ? set->tc_thread_cache_max : TC_THREAD_CACHE_DEFAULT;
	/* the page census of the live set, when fresh and complete: pages holding no live
	 * block are all a release could return (free spans only, so still an upper bound) */
	int census = m->pages_valid && m->deep_age_ns < 2000000000ULL && !m->pages_approximate;
	uint64_t up = census && m->resident_no_live < m->held_free ? m->resident_no_live : m->held_free;
	uint64_t floor = up > cap ? up - cap : 0;

	(void)peak_live;
	out->kind = m->held_free > cap ? FS_D_RETENTION : FS_D_CACHE;
	alloc__say(out, o, "tcmalloc holds %s beyond %s live (%s returned so far). It sits in its per-thread "
		   "caches (%s at most together: TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES), its central free lists "
		   "and its page heap's free spans; which of them holds how much cannot be read from outside. ",
		   alloc__bytes(m->held_free), alloc__bytes(m->live), alloc__bytes(m->returned), alloc__bytes(cap));
	if (census)
		alloc__say(out, o, "%s of its resident pages hold no live block (fragscope's page census of every live "
			   "block). ", alloc__bytes(m->resident_no_live));
	if (set->tc_aggressive_decommit) {
		alloc__say(out, o, "TCMALLOC_AGGRESSIVE_DECOMMIT is on: free spans go back as soon as they are free, "
			   "so what stays is in its caches and in spans partly used by small blocks; no setting returns "
			   "that, only freeing the blocks that pin them.");
		return;
	}
	if (set->tc_release_rate <= 1e-6)
		alloc__say(out, o, "TCMALLOC_RELEASE_RATE=0 turns its release off: free spans never go back on their "
			   "own. ");
	else
		alloc__say(out, o, "At TCMALLOC_RELEASE_RATE=%g its page heap gives back about one page per %.0f pages "
			   "freed (and nothing before the first 2 GiB freed), and only while the program frees: an idle "
			   "process keeps it all. ", set->tc_release_rate, 1000.0 / set->tc_release_rate);
	alloc__remedy(out, "TCMALLOC_AGGRESSIVE_DECOMMIT", (int64_t)up,
		      census ? "page census of the live set" : "upper bound: held beyond live");
	alloc__say(out, o, "Remedy: TCMALLOC_AGGRESSIVE_DECOMMIT=t returns each span as it becomes free (more page "
		   "faults), a higher TCMALLOC_RELEASE_RATE (e.g. 10) sooner, or the program calls "
		   "MallocExtension_ReleaseFreeMemory() when idle; expected: up to %s (%s), at least %s even if its "
		   "thread caches are full; spans partly used by small blocks stay.",
		   alloc__bytes(up), census ? "pages holding no live block" : "held beyond live", alloc__bytes(floor));
}

static const struct fs_release_text releases[] = {
	{ FS_R_OTHER, "tcmalloc's page heap released free spans (its scavenger, paced by TCMALLOC_RELEASE_RATE, "
	  "or TCMALLOC_AGGRESSIVE_DECOMMIT)",
	  "a lower TCMALLOC_RELEASE_RATE (or TCMALLOC_AGGRESSIVE_DECOMMIT off) keeps spans that are about to be "
	  "reused", "tcmalloc_page_heap" },
	{ FS_R_MALLOC_TRIM, "the program's MallocExtension_ReleaseFreeMemory() or ReleaseToSystem() calls released them",
	  "calling it less often (when idle) keeps pages that are about to be reused", "tcmalloc_release_call" },
	{ 0 },
};

static const char *const prefixes[] = { "", NULL };
static const char *const markers[] = { "tc_malloc", NULL };
static const struct fs_alloc_variant variants[] = {
	{ "tcmalloc", NULL, NULL, "LD_PRELOAD of gperftools' tcmalloc (minimal; --tcmalloc PATH: another build)" },
	{ "tcmalloc-aggr", "TCMALLOC_AGGRESSIVE_DECOMMIT", "t", "tcmalloc, TCMALLOC_AGGRESSIVE_DECOMMIT=t" },
	{ 0 },
};

const struct fs_allocator fs_alloc_tcmalloc = {
	.id = FS_ALLOC_TCMALLOC,
	.name = "tcmalloc",
	.prefixes = prefixes,
	.markers = markers,
	.api = api,
	.brk_heap = 1,	/* SbrkSysAllocator first, mmap when sbrk fails */
	.retention = retention,
	.releases = releases,
	.plan_note = "tcmalloc in %s: usable sizes not modelled (counted as requested, said so)",
	.unknown_note = ", or tcmalloc's own spans mmapped before attach: its anonymous mappings carry no mark fragscope can read from outside, so they count as no one's",
	.unknown_note_scanned = ", or tcmalloc's own spans mmapped before attach: its anonymous mappings carry no mark fragscope can read from outside, so they count as no one's",
	.unseen_hint = "tcmalloc's own statistics (MallocExtension) are readable only from inside the process: "
		       "tracing from the start (`fragscope stat -- CMD`) sees every block.",
	.stats_unread = "tcmalloc's own statistics are readable only from inside the process: live and free figures "
			"need `fragscope stat`",
	.conf_env = "TCMALLOC_RELEASE_RATE",
	.conf_word = "RATE",
	.conf_example = "rate10=tcmalloc:10",
	.settings = settings,
	.settings_text = settings_text,
	.preload_soname = "libtcmalloc_minimal.so.4",
	.preload_package = "libtcmalloc-minimal4",
	.variants = variants,
};
