/* hoard.c - Hoard (and other allocators built on Heap-Layers, whose wrappers route
 * malloc, free and the C++ operators to xxmalloc/xxfree): recognised and refused.
 * Its operators and its per-thread heaps are not modelled, so counts would be wrong. */
#include <stddef.h>
#include "alloc/alloc.h"

static const char *const prefixes[] = { "", NULL };
static const char *const markers[] = { "xxmalloc", "xxfree", NULL };
static const struct fs_api_part api[] = { { 0 } };
static const struct fs_alloc_variant variants[] = { { 0 } };

const struct fs_allocator fs_alloc_hoard = {
	.id = FS_ALLOC_HOARD,
	.name = "hoard",
	.prefixes = prefixes,
	.markers = markers,
	.api = api,
	.refused = "is not traced: fragscope does not model Hoard's (Heap-Layers') entry points, so its counts "
		   "would be wrong",
	.variants = variants,
};
