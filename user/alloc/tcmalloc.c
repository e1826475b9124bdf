/* tcmalloc.c - the backend of gperftools' tcmalloc (libtcmalloc_minimal and the full
 * libtcmalloc, 2.10 in Debian 12): its C API, its tc_* names and C++ operators
 * (which never reach its exported malloc/free), the MallocExtension calls that give
 * memory back, its environment settings, its part of the diagnosis, and compare's
 * tcmalloc variants. */
#include <stddef.h>
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

static const char *const prefixes[] = { "", NULL };
static const char *const markers[] = { "tc_malloc", NULL };
static const struct fs_alloc_variant variants[] = { { 0 } };

const struct fs_allocator fs_alloc_tcmalloc = {
	.id = FS_ALLOC_TCMALLOC,
	.name = "tcmalloc",
	.prefixes = prefixes,
	.markers = markers,
	.api = api,
	.variants = variants,
};
