/* mimalloc.c - the backend of mimalloc 2.0 (libmimalloc2.0, 2.0.9 in Debian 12): its
 * C API, its mi_* entry points and C++ operators (which never reach its exported
 * malloc/free), mi_collect, the MIMALLOC_* options, its part of the diagnosis, and
 * compare's mimalloc variants. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "alloc/alloc.h"

/* Names at one address (malloc and mi_malloc, free and mi_free and unsized delete)
 * are one probe; the thin wrappers (valloc, memalign, ...) tail-jump to their mi_
 * twin, which the kernel side counts once. The (size, alignment) forms take their
 * size first, as malloc does; the alignment only matters to usable sizes, which
 * are not modelled here. */
static const struct fs_api_fn mi_api[] = {
	{ "pvalloc", FS_K_MALLOC, 1 }, { "reallocarray", FS_K_REALLOCARRAY, 3 },
	{ "reallocf", FS_K_REALLOC, 2 }, { "cfree", FS_K_FREE, 1 }, { "vfree", FS_K_FREE, 1 },
	{ "__libc_valloc", FS_K_MALLOC, 1 }, { "__libc_pvalloc", FS_K_MALLOC, 1 },
	{ "__libc_memalign", FS_K_MEMALIGN, 2 }, { "__posix_memalign", FS_K_POSIX_MEMALIGN, 3 },
	{ "_aligned_malloc", FS_K_MALLOC, 1 },
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

static const char *const prefixes[] = { "", NULL };
static const char *const markers[] = { "mi_malloc", NULL };
static const struct fs_alloc_variant variants[] = { { 0 } };

const struct fs_allocator fs_alloc_mimalloc = {
	.id = FS_ALLOC_MIMALLOC,
	.name = "mimalloc",
	.prefixes = prefixes,
	.markers = markers,
	.api = api,
	.variants = variants,
};
