/* mimalloc.c - mimalloc: recognised (by mi_malloc) and refused, not traced yet. */
#include <stddef.h>
#include "alloc/alloc.h"

static const char *const prefixes[] = { "", NULL };
static const char *const markers[] = { "mi_malloc", NULL };
static const struct fs_api_part api[] = { { 0 } };
static const struct fs_alloc_variant variants[] = { { 0 } };

const struct fs_allocator fs_alloc_mimalloc = {
	.id = FS_ALLOC_MIMALLOC,
	.name = "mimalloc",
	.prefixes = prefixes,
	.markers = markers,
	.api = api,
	.refused = "is not traced yet: its fast paths would make the numbers wrong",
	.variants = variants,
};
