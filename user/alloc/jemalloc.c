/* jemalloc.c - the backend of jemalloc: recognised with or without a symbol prefix,
 * its extended API and C++ operators, its own statistics (jestats.c), MALLOC_CONF,
 * and compare's jemalloc variants (LD_PRELOAD of libjemalloc.so.2). */
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
	.conf_env = "MALLOC_CONF",
	.conf_env_prefixed = 1,
	.settings = settings,
	.preload_soname = "libjemalloc.so.2",
	.preload_package = "libjemalloc2",
	.variants = variants,
};
