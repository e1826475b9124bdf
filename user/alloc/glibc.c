/* glibc.c - the backend of glibc's malloc (ptmalloc): its API, its heaps walked
 * from outside (census.c), its tunables, and compare's glibc variants. */
#include <stddef.h>
#include "alloc/alloc.h"

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
	.conf_env = "GLIBC_TUNABLES",
	.settings = settings,
	.variants = variants,
};
