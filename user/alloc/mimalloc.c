/* mimalloc.c - the backend of mimalloc 2.0 (libmimalloc2.0, 2.0.9 in Debian 12): its
 * C API, its mi_* entry points and C++ operators (which never reach its exported
 * malloc/free), mi_collect, the MIMALLOC_* options, its part of the diagnosis, and
 * compare's mimalloc variants. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alloc/alloc.h"

/* Names at one address (malloc and mi_malloc, free and mi_free and unsized delete)
 * are one probe; the thin wrappers (valloc, memalign, ...) tail-jump to their mi_
 * twin, which the kernel side counts once. The (size, alignment) forms take their
 * size first, as malloc does; the alignment only matters to usable sizes, which
 * are not modelled here. Not probed (the plan says so; blocks they return are frees
 * of unknown size when freed): the heap-taking mi_heap_* family, mi_strdup and
 * friends (sizes known only at return), mi_expand, reallocarr, and the glibc-internal
 * names (__libc_valloc, __libc_memalign, __posix_memalign, ...), which programs do not
 * call; the table stays well under FS_MAX_FUNCS (58 probes). */
static const struct fs_api_fn mi_api[] = {
	{ "pvalloc", FS_K_MALLOC, 1 }, { "reallocarray", FS_K_REALLOCARRAY, 3 },
	{ "reallocf", FS_K_REALLOC, 2 }, { "cfree", FS_K_FREE, 1 }, { "vfree", FS_K_FREE, 1 },
	{ "mi_malloc", FS_K_MALLOC, 1 }, { "mi_zalloc", FS_K_MALLOC, 1 },
	{ "mi_malloc_small", FS_K_MALLOC, 1 }, { "mi_zalloc_small", FS_K_MALLOC, 1 },
	{ "mi_calloc", FS_K_CALLOC, 2 }, { "mi_mallocn", FS_K_CALLOC, 2 },
	{ "mi_realloc", FS_K_REALLOC, 2 }, { "mi_reallocf", FS_K_REALLOC, 2 },
	{ "mi_rezalloc", FS_K_REALLOC, 2 }, { "mi_reallocn", FS_K_REALLOCARRAY, 3 },
	{ "mi_recalloc", FS_K_REALLOCARRAY, 3 }, { "mi_reallocarray", FS_K_REALLOCARRAY, 3 },
	{ "mi_free", FS_K_FREE, 1 }, { "mi_cfree", FS_K_FREE, 1 }, { "mi_free_size", FS_K_FREE, 1 },
	{ "mi_free_aligned", FS_K_FREE, 1 }, { "mi_free_size_aligned", FS_K_FREE, 1 },
	{ "mi_posix_memalign", FS_K_POSIX_MEMALIGN, 3 }, { "mi_memalign", FS_K_MEMALIGN, 2 },
	{ "mi_aligned_alloc", FS_K_MEMALIGN, 2 }, { "mi_valloc", FS_K_MALLOC, 1 },
	{ "mi_pvalloc", FS_K_MALLOC, 1 },
	{ "mi_malloc_aligned", FS_K_MALLOC, 1 }, { "mi_malloc_aligned_at", FS_K_MALLOC, 1 },
	{ "mi_zalloc_aligned", FS_K_MALLOC, 1 }, { "mi_zalloc_aligned_at", FS_K_MALLOC, 1 },
	{ "mi_calloc_aligned", FS_K_CALLOC, 2 }, { "mi_calloc_aligned_at", FS_K_CALLOC, 2 },
	{ "mi_realloc_aligned", FS_K_REALLOC, 2 }, { "mi_realloc_aligned_at", FS_K_REALLOC, 2 },
	{ "mi_rezalloc_aligned", FS_K_REALLOC, 2 }, { "mi_rezalloc_aligned_at", FS_K_REALLOC, 2 },
	{ "mi_recalloc_aligned", FS_K_REALLOCARRAY, 3 }, { "mi_recalloc_aligned_at", FS_K_REALLOCARRAY, 3 },
	{ "mi_new", FS_K_MALLOC, 1 }, { "mi_new_nothrow", FS_K_MALLOC, 1 },
	{ "mi_new_aligned", FS_K_MALLOC, 1 }, { "mi_new_aligned_nothrow", FS_K_MALLOC, 1 },
	{ "mi_new_n", FS_K_CALLOC, 2 }, { "mi_new_realloc", FS_K_REALLOC, 2 },
	{ "mi_new_reallocn", FS_K_REALLOCARRAY, 3 },
	/* an explicit release: mi_collect(force) purges what the heaps hold free now */
	{ "mi_collect", FS_K_TRIM, 1 },
	{ 0 },
};

static const struct fs_api_part api[] = {
	{ fs_c_api, 0 },
	{ fs_cxx_api, 0 },
	{ mi_api, 0 },
	{ 0 },
};

/* MIMALLOC_* from the environment (mimalloc reads an option when first used; a
 * program may also set them with mi_option_set, which is not seen here). */
static void settings(const char *env, size_t len, struct fs_settings *s)
{
	char v[64];

	s->mi_decommit_delay_ms = 25;
	s->mi_segment_decommit_delay_ms = 500;
	s->mi_allow_decommit = 1;
	alloc__env_prefixed(env, len, "MIMALLOC_", s->mi_env, sizeof(s->mi_env));
	if (alloc__env_val(env, len, "MIMALLOC_DECOMMIT_DELAY", v, sizeof(v)) ||
	    alloc__env_val(env, len, "MIMALLOC_RESET_DELAY", v, sizeof(v)))
		s->mi_decommit_delay_ms = strtol(v, NULL, 10);
	if (alloc__env_val(env, len, "MIMALLOC_SEGMENT_DECOMMIT_DELAY", v, sizeof(v)))
		s->mi_segment_decommit_delay_ms = strtol(v, NULL, 10);
	if (alloc__env_val(env, len, "MIMALLOC_ALLOW_DECOMMIT", v, sizeof(v)))
		s->mi_allow_decommit = strtol(v, NULL, 10) != 0 || v[0] == 't' || v[0] == 'T';
	if (alloc__env_val(env, len, "MIMALLOC_PAGE_RESET", v, sizeof(v)))
		s->mi_page_reset = strtol(v, NULL, 10) != 0 || v[0] == 't' || v[0] == 'T';
}

static void settings_text(const struct fs_settings *s, char *buf, size_t len)
{
	snprintf(buf, len, "MIMALLOC_DECOMMIT_DELAY=%ld ms, MIMALLOC_SEGMENT_DECOMMIT_DELAY=%ld ms, "
		 "MIMALLOC_ALLOW_DECOMMIT=%d, MIMALLOC_PAGE_RESET=%d (%s%s)", s->mi_decommit_delay_ms,
		 s->mi_segment_decommit_delay_ms, s->mi_allow_decommit, s->mi_page_reset,
		 s->mi_env[0] ? "set in its environment: " : "defaults: none set in its environment",
		 s->mi_env);
}

/* What it holds beyond live: free pages of its segments not yet decommitted (the
 * delay runs only when the allocator is called in that thread), free segments
 * cached, and blocks free inside partly used pages (each page holds one size). */
static void retention(const struct fs_memory *m, uint64_t peak_live, const struct fs_settings *set,
		      struct fs_diagnosis *out, size_t *o)
{
	int census = m->pages_valid && m->deep_age_ns < 2000000000ULL && !m->pages_approximate;
	uint64_t up = census && m->resident_no_live < m->held_free ? m->resident_no_live : m->held_free;
	const char *ev = census ? "page census of the live set" : "upper bound: held beyond live";

	(void)peak_live;
	out->kind = FS_D_RETENTION;
	alloc__say(out, o, "mimalloc holds %s beyond %s live (%s returned so far): free pages of its segments not "
		   "yet decommitted, free segments it caches, and free blocks inside partly used pages (each page "
		   "holds blocks of one size); which is which cannot be read from outside. ",
		   alloc__bytes(m->held_free), alloc__bytes(m->live), alloc__bytes(m->returned));
	if (census)
		alloc__say(out, o, "%s of its resident pages hold no live block (fragscope's page census of every live "
			   "block). ", alloc__bytes(m->resident_no_live));
	if (!set->mi_allow_decommit) {
		alloc__remedy(out, "MIMALLOC_ALLOW_DECOMMIT", (int64_t)up, ev);
		alloc__say(out, o, "MIMALLOC_ALLOW_DECOMMIT=0: it never gives memory back. Remedy: leave it at 1 "
			   "(expected: at most %s; pages partly used by small blocks stay).", alloc__bytes(up));
		return;
	}
	alloc__say(out, o, "Free pages are decommitted %ld ms after they empty (MIMALLOC_DECOMMIT_DELAY), free "
		   "segments after %ld ms (MIMALLOC_SEGMENT_DECOMMIT_DELAY), but only when the allocator runs again "
		   "in the thread that owns them: a thread that goes idle keeps them. ",
		   set->mi_decommit_delay_ms, set->mi_segment_decommit_delay_ms);
	alloc__remedy(out, "MIMALLOC_DECOMMIT_DELAY", (int64_t)up, ev);
	alloc__say(out, o, "Remedy: MIMALLOC_DECOMMIT_DELAY=0 decommits pages as they empty (more page faults), or "
		   "the program calls mi_collect(true) when idle; expected: at most %s (%s; blocks pinning partly "
		   "used pages keep theirs).", alloc__bytes(up), census ? "pages holding no live block" : "held beyond live");
}

static const struct fs_release_text releases[] = {
	{ FS_R_OTHER, "mimalloc decommitted free pages or segments after their delay",
	  "a longer MIMALLOC_DECOMMIT_DELAY (ms, default 25) keeps pages that are about to be reused",
	  "mimalloc_decommit" },
	{ FS_R_MALLOC_TRIM, "the program's mi_collect() calls released them",
	  "calling it less often (when idle) keeps pages that are about to be reused", "mimalloc_collect" },
	{ 0 },
};

static const char *const prefixes[] = { "", NULL };
static const char *const markers[] = { "mi_malloc", NULL };
static const struct fs_alloc_variant variants[] = {
	{ "mimalloc", NULL, NULL, "LD_PRELOAD of mimalloc 2.0 (--mimalloc PATH: another build)" },
	{ "mimalloc-d0", NULL, "0", "mimalloc, MIMALLOC_DECOMMIT_DELAY=0" },
	{ 0 },
};

const struct fs_allocator fs_alloc_mimalloc = {
	.id = FS_ALLOC_MIMALLOC,
	.name = "mimalloc",
	.prefixes = prefixes,
	.markers = markers,
	.api = api,
	.retention = retention,
	.releases = releases,
	.plan_note = "mimalloc in %s: mi_heap_*, mi_str*dup, mi_realpath, mi_expand not probed (their blocks "
		     "are unknown frees); usable sizes not modelled",
	.unknown_note = ", or mimalloc's own segments from before attach: its anonymous mappings carry no mark fragscope can read from outside, so they count as no one's",
	.unknown_note_scanned = ", or mimalloc's own segments from before attach: its anonymous mappings carry no mark fragscope can read from outside, so they count as no one's",
	.unseen_hint = "mimalloc's own statistics (mi_stats_print) are printed only from inside the process: "
		       "tracing from the start (`fragscope stat -- CMD`) sees every block.",
	.stats_unread = "mimalloc's own statistics are readable only from inside the process: live and free figures "
			"need `fragscope stat`",
	.conf_env = "MIMALLOC_DECOMMIT_DELAY",
	.conf_word = "MS",
	.conf_example = "d100=mimalloc:100",
	.settings = settings,
	.settings_text = settings_text,
	.preload_soname = "libmimalloc.so.2",
	.preload_package = "libmimalloc2.0",
	.variants = variants,
};
