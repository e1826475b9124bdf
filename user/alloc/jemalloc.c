/* jemalloc.c - the backend of jemalloc: recognised with or without a symbol prefix,
 * its extended API and C++ operators, its own statistics (jestats.c), its part of
 * the diagnosis, MALLOC_CONF, and compare's jemalloc variants (LD_PRELOAD of libjemalloc.so.2). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "alloc/alloc.h"

static const struct fs_api_fn jemalloc_api[] = {
	{ "mallocx", FS_K_MALLOC, 1 }, { "rallocx", FS_K_REALLOC, 2 },
	{ "xallocx", FS_K_XALLOCX, 3 }, { "dallocx", FS_K_FREE, 1 }, { "sdallocx", FS_K_FREE, 1 },
	{ 0 },
};

static const struct fs_api_part api[] = {
	{ fs_c_api, FS_API_PREFIXED },
	{ jemalloc_api, FS_API_PREFIXED },
	{ fs_cxx_api, FS_API_UNPREFIXED_ONLY },
	{ 0 },
};

/* MALLOC_CONF (or a je_ build's JE_MALLOC_CONF) and what a diagnosis needs of it. */
static void settings(const char *env, size_t len, struct fs_settings *s)
{
	const char *v;

	s->je_dirty_decay_ms = -1;
	s->je_bg_threads = -1;
	if (!alloc__env_val(env, len, "MALLOC_CONF", s->malloc_conf, sizeof(s->malloc_conf)))
		alloc__env_val(env, len, "JE_MALLOC_CONF", s->malloc_conf, sizeof(s->malloc_conf));
	if (strstr(s->malloc_conf, "background_thread:true"))
		s->je_background_thread = 1;
	if ((v = strstr(s->malloc_conf, "dirty_decay_ms:"))) {
		s->je_dirty_decay_ms = strtol(v + 15, NULL, 10);
		s->je_dirty_decay_set = 1;
	}
}

static int je_bg_running(const struct fs_settings *set)
{
	return set->je_bg_threads > 0 || (set->je_bg_threads < 0 && set->je_background_thread);
}

/* What it holds beyond live: unpurged pages (dirty, muzzy) and what purging them
 * takes, or fragmentation inside its slabs, from its own statistics when read. */
static void retention(const struct fs_memory *m, uint64_t peak_live, const struct fs_settings *set,
		      struct fs_diagnosis *out, size_t *o)
{
	uint64_t frag = m->je_active > m->je_allocated ? m->je_active - m->je_allocated : 0;
	uint64_t purge = m->je_dirty + m->je_muzzy;

	(void)peak_live;
	out->kind = m->je_valid && frag > purge ? FS_D_RETENTION : FS_D_CACHE;
	alloc__say(out, o, "jemalloc holds %s beyond %s live (%s returned so far", alloc__bytes(m->held_free),
		   alloc__bytes(m->je_valid ? m->je_allocated : m->live), alloc__bytes(m->returned));
	if (m->je_valid)
		alloc__say(out, o, "; jemalloc's own stats: %s dirty and %s muzzy pages not yet purged, %s in partly used "
			   "slabs and size-class rounding). ", alloc__bytes(m->je_dirty), alloc__bytes(m->je_muzzy), alloc__bytes(frag));
	else
		alloc__say(out, o, "; how much of it is unpurged pages is not known without jemalloc's own stats: "
			   "`fragscope snapshot -p PID` reads them). ");
	if (m->je_valid && purge < (1u << 20)) {
		alloc__say(out, o, "Nothing worth a purge setting awaits purging%s. ",
			   je_bg_running(set) ? " (background_thread is on: its threads run)" : "");
	} else if (!je_bg_running(set)) {
		alloc__remedy(out, "background_thread", m->je_valid ? (int64_t)purge : -1, m->je_valid ? "jemalloc stats" : "");
		alloc__say(out, o, "Without background_thread, dirty pages are purged only when the allocator is called: "
			   "idle threads never give them back. Remedy: MALLOC_CONF=background_thread:true "
			   "(or mallctl \"background_thread\" at run time), %s%s%s within dirty_decay_ms "
			   "(default 10 s); a lower dirty_decay_ms returns it sooner.",
			   m->je_valid ? "expected to return the " : "amount unknown",
			   m->je_valid ? alloc__bytes(purge) : "", m->je_valid ? " of unpurged pages (jemalloc's stats)" : "");
	} else if (set->je_dirty_decay_set && set->je_dirty_decay_ms < 0) {
		alloc__remedy(out, "dirty_decay_ms", m->je_valid ? (int64_t)purge : -1, m->je_valid ? "jemalloc stats" : "");
		alloc__say(out, o, "dirty_decay_ms:-1 turns purging off: this memory never comes back on its own. "
			   "Remedy: a dirty_decay_ms >= 0 (%s%s).", m->je_valid ? "expected to return " : "amount unknown",
			   m->je_valid ? alloc__bytes(purge) : "");
	} else {
		alloc__remedy(out, "dirty_decay_ms", m->je_valid ? (int64_t)purge : -1, m->je_valid ? "jemalloc stats" : "");
		alloc__say(out, o, "background_thread is on%s: dirty pages are purged after dirty_decay_ms (%ld ms%s). "
			   "Remedy: lower dirty_decay_ms to return %s%s sooner.",
			   set->je_bg_threads > 0 ? " (its threads run)" : "",
			   set->je_dirty_decay_set ? set->je_dirty_decay_ms : 10000,
			   set->je_dirty_decay_set ? "" : ", default", m->je_valid ? alloc__bytes(purge) : "them",
			   m->je_valid ? " of unpurged pages" : "");
	}
	if (m->je_valid && frag >= purge && frag >= (8u << 20))
		alloc__say(out, o, " Most of it (%s) is fragmentation inside jemalloc's slabs: no purge or setting returns "
			   "it, only freeing or moving the blocks that pin them (redis: activedefrag).", alloc__bytes(frag));
}

static const struct fs_release_text releases[] = {
	{ FS_R_JE_DECAY, "jemalloc's decay purged them",
	  "a longer dirty_decay_ms (and muzzy_decay_ms) keeps pages that are about to be reused" },
	{ FS_R_JE_BACKGROUND, "jemalloc's decay purged them",
	  "a longer dirty_decay_ms (and muzzy_decay_ms) keeps pages that are about to be reused" },
	{ 0 },
};

/* A build with --with-jemalloc-prefix (je_, or Rust's _rjem_) beside the system malloc. */
static const char *const prefixes[] = { "", "je_", "_rjem_", NULL };
static const char *const markers[] = { "mallctl", "malloc", NULL };

static const struct fs_alloc_variant variants[] = {
	{ "jemalloc", NULL, NULL, "LD_PRELOAD of jemalloc (--jemalloc)" },
	{ "jemalloc-bg", NULL, "background_thread:true,dirty_decay_ms:1000",
	  "jemalloc, MALLOC_CONF=background_thread:true,dirty_decay_ms:1000" },
	{ 0 },
};

const struct fs_allocator fs_alloc_jemalloc = {
	.id = FS_ALLOC_JEMALLOC,
	.name = "jemalloc",
	.prefixes = prefixes,
	.markers = markers,
	.api = api,
	.own_stats = 1,
	.usable_sizes = 1,
	.retention = retention,
	.releases = releases,
	.unseen_hint = "`fragscope snapshot -p PID` reads jemalloc's own statistics (allocated, active, "
		       "dirty, muzzy).",
	.stats_unread = "jemalloc's own statistics were not read: live and free figures need `fragscope stat`",
	.conf_env = "MALLOC_CONF",
	.conf_env_prefixed = 1,
	.conf_word = "CONF",
	.settings = settings,
	.preload_soname = "libjemalloc.so.2",
	.preload_package = "libjemalloc2",
	.variants = variants,
};
