/* test_mapset.c - the address ledger: splits, overwrites, remaps, owned bytes, and
 * random operations checked against a page-by-page model. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include "model/mapset.h"
#include "test.h"

#define P 4096ull
#define A FS_M_ALLOCATOR
#define S FS_M_STACK
#define O FS_M_OTHER_ANON

static uint64_t owned1(const struct fs_mapset *ms, uint64_t lo, uint64_t hi, int owner)
{
	uint64_t b[FS_M__COUNT];

	mapset__owned(ms, lo, hi, b);
	return b[owner];
}

/* sorted, disjoint, non-empty, touching neighbours of one owner merged */
static bool well_formed(const struct fs_mapset *ms)
{
	for (size_t i = 0; i < ms->n; i++) {
		const struct fs_interval *x = mapset__at(ms, i), *p = i ? mapset__at(ms, i - 1) : NULL;

		if (x->start >= x->end || x->owner >= FS_M__COUNT)
			return false;
		if (p && (p->end > x->start || (p->end == x->start && p->owner == x->owner)))
			return false;
	}
	return !mapset__at(ms, ms->n);
}

TEST(mapset_map_merge_and_overwrite)
{
	struct fs_mapset ms = { 0 };

	ASSERT_OK(mapset__map(&ms, 10 * P, 2 * P, O), "map");
	ASSERT_OK(mapset__map(&ms, 12 * P, 3 * P, O), "adjacent, same owner");
	ASSERT_EQ(ms.n, (size_t)1, "merged into one interval");
	ASSERT_OK(mapset__map(&ms, 15 * P, 1 * P, A), "adjacent, other owner");
	ASSERT_EQ(ms.n, (size_t)2, "not merged across owners");
	ASSERT_EQ(owned1(&ms, 0, ~0ull, O), 5 * P, "program's bytes");
	ASSERT_EQ(owned1(&ms, 0, ~0ull, A), 1 * P, "allocator's bytes");
	/* MAP_FIXED across both: the overlapped parts change hands */
	ASSERT_OK(mapset__map(&ms, 14 * P, 2 * P, S), "overwrite");
	ASSERT_EQ(owned1(&ms, 0, ~0ull, O), 4 * P, "program's after overwrite");
	ASSERT_EQ(owned1(&ms, 0, ~0ull, A), 0ull, "allocator's page taken over");
	ASSERT_EQ(owned1(&ms, 0, ~0ull, S), 2 * P, "new owner");
	/* inside one interval: split in three */
	ASSERT_OK(mapset__map(&ms, 11 * P, 1 * P, A), "overwrite the middle");
	ASSERT_EQ(ms.n, (size_t)4, "split");
	ASSERT_EQ(owned1(&ms, 10 * P, 14 * P, O), 3 * P, "both sides kept");
	ASSERT_EQ(owned1(&ms, 10 * P, 14 * P, A), 1 * P, "middle");
	/* putting the owner back restores one interval */
	ASSERT_OK(mapset__map(&ms, 11 * P, 1 * P, O), "overwrite back");
	ASSERT_EQ(ms.n, (size_t)2, "merged again");
	ASSERT_TRUE(well_formed(&ms), "well formed");
	ASSERT_EQ(mapset__map(&ms, 0, P, FS_M__COUNT), -EINVAL, "bad owner");
	ASSERT_EQ(mapset__map(&ms, ~0ull - P, 2 * P, O), -EINVAL, "wrapping range");
	ASSERT_OK(mapset__map(&ms, 100 * P, 0, O), "empty range: nothing");
	ASSERT_EQ(ms.n, (size_t)2, "unchanged");
	mapset__free(&ms);
	ASSERT_EQ(ms.n, (size_t)0, "freed");
	mapset__free(NULL);
}

TEST(mapset_unmap_splits)
{
	struct fs_mapset ms = { 0 };

	ASSERT_OK(mapset__map(&ms, 0x10000, 16 * P, O), "map");
	ASSERT_OK(mapset__unmap(&ms, 0x10000 + 4 * P, 2 * P), "hole in the middle");
	ASSERT_EQ(ms.n, (size_t)2, "split in two");
	ASSERT_EQ(owned1(&ms, 0, ~0ull, O), 14 * P, "bytes left");
	ASSERT_OK(mapset__unmap(&ms, 0x10000 - P, 2 * P), "head, from before it");
	ASSERT_EQ(mapset__at(&ms, 0)->start, 0x10000 + P, "head cut");
	ASSERT_OK(mapset__unmap(&ms, 0x10000 + 15 * P, 10 * P), "tail, past it");
	ASSERT_EQ(mapset__at(&ms, 1)->end, 0x10000 + 15 * P, "tail cut");
	ASSERT_EQ(owned1(&ms, 0, ~0ull, O), 12 * P, "bytes left");
	ASSERT_OK(mapset__unmap(&ms, 0, 0x100000), "everything");
	ASSERT_EQ(ms.n, (size_t)0, "empty");
	ASSERT_OK(mapset__unmap(&ms, 0, P), "unmap of nothing");
	mapset__free(&ms);
}

/* glibc's arena heap: mmap(128 MiB, PROT_NONE), head and tail cut to align 64 MiB,
 * then a release over its top with mmap(MAP_FIXED, PROT_NONE). */
TEST(mapset_glibc_heap)
{
	struct fs_mapset ms = { 0 };
	uint64_t mb = 1 << 20, base = 0x7f0000000000ull + 12 * mb, aligned = 0x7f0004000000ull;

	ASSERT_OK(mapset__map(&ms, base, 128 * mb, A), "reserve");
	ASSERT_OK(mapset__unmap(&ms, base, aligned - base), "head");
	ASSERT_OK(mapset__unmap(&ms, aligned + 64 * mb, base + 128 * mb - aligned - 64 * mb), "tail");
	ASSERT_EQ(owned1(&ms, 0, ~0ull, A), 64 * mb, "a 64 MiB heap");
	ASSERT_OK(mapset__fill(&ms, aligned + 32 * mb, 32 * mb, O), "release over its top");
	ASSERT_EQ(owned1(&ms, 0, ~0ull, A), 64 * mb, "still the allocator's");
	ASSERT_EQ(owned1(&ms, 0, ~0ull, O), 0ull, "nothing else");
	ASSERT_EQ(ms.n, (size_t)1, "one interval");
	mapset__free(&ms);
}

TEST(mapset_fill_holes_only)
{
	struct fs_mapset ms = { 0 };

	ASSERT_OK(mapset__map(&ms, 10 * P, 2 * P, A), "a");
	ASSERT_OK(mapset__map(&ms, 14 * P, 2 * P, S), "b");
	ASSERT_OK(mapset__fill(&ms, 8 * P, 10 * P, O), "fill [8, 18)");
	ASSERT_EQ(owned1(&ms, 0, ~0ull, A), 2 * P, "a kept");
	ASSERT_EQ(owned1(&ms, 0, ~0ull, S), 2 * P, "b kept");
	ASSERT_EQ(owned1(&ms, 0, ~0ull, O), 6 * P, "holes: [8,10) [12,14) [16,18)");
	ASSERT_EQ(ms.n, (size_t)5, "five intervals");
	ASSERT_TRUE(well_formed(&ms), "well formed");
	mapset__free(&ms);
}

TEST(mapset_remap)
{
	struct fs_mapset ms = { 0 };

	/* an mmapped chunk grown by moving (realloc): owners travel, growth extends */
	ASSERT_OK(mapset__map(&ms, 100 * P, 4 * P, A), "chunk");
	ASSERT_OK(mapset__remap(&ms, 100 * P, 4 * P, 200 * P, 6 * P, O, 0), "move and grow");
	ASSERT_EQ(owned1(&ms, 100 * P, 104 * P, A), 0ull, "old place empty");
	ASSERT_EQ(owned1(&ms, 200 * P, 206 * P, A), 6 * P, "new place, growth the chunk's owner");
	/* shrink in place: the tail goes */
	ASSERT_OK(mapset__remap(&ms, 200 * P, 6 * P, 200 * P, 2 * P, O, 0), "shrink in place");
	ASSERT_EQ(owned1(&ms, 0, ~0ull, A), 2 * P, "shrunk");
	/* a partly unknown range: holes stay unknown; growth of an unknown end is grow_owner's */
	ASSERT_OK(mapset__map(&ms, 300 * P, 1 * P, S), "known first page");
	ASSERT_OK(mapset__remap(&ms, 300 * P, 3 * P, 400 * P, 5 * P, O, 0), "move");
	ASSERT_EQ(owned1(&ms, 400 * P, 401 * P, S), 1 * P, "known page moved");
	ASSERT_EQ(owned1(&ms, 401 * P, 403 * P, S) + owned1(&ms, 401 * P, 403 * P, O), 0ull, "unknown stays unknown");
	ASSERT_EQ(owned1(&ms, 403 * P, 405 * P, O), 2 * P, "growth: grow_owner");
	/* onto a range in use (MREMAP_FIXED): replaced */
	ASSERT_OK(mapset__map(&ms, 500 * P, 4 * P, O), "target in use");
	ASSERT_OK(mapset__remap(&ms, 200 * P, 2 * P, 501 * P, 2 * P, O, 0), "move onto it");
	ASSERT_EQ(owned1(&ms, 500 * P, 504 * P, O), 2 * P, "the sides remain");
	ASSERT_EQ(owned1(&ms, 500 * P, 504 * P, A), 2 * P, "the middle replaced");
	/* MREMAP_DONTUNMAP: the old range stays */
	ASSERT_OK(mapset__remap(&ms, 400 * P, 1 * P, 600 * P, 1 * P, O, 1), "dontunmap");
	ASSERT_EQ(owned1(&ms, 400 * P, 401 * P, S), 1 * P, "old kept");
	ASSERT_EQ(owned1(&ms, 600 * P, 601 * P, S), 1 * P, "new too");
	ASSERT_TRUE(well_formed(&ms), "well formed");
	mapset__free(&ms);
}

TEST(mapset_owned_clips)
{
	struct fs_mapset ms = { 0 };
	uint64_t b[FS_M__COUNT];

	ASSERT_OK(mapset__map(&ms, 10 * P, 10 * P, A), "a");
	ASSERT_OK(mapset__map(&ms, 30 * P, 10 * P, O), "o");
	mapset__owned(&ms, 15 * P, 35 * P, b);
	ASSERT_EQ(b[A], 5 * P, "clipped left");
	ASSERT_EQ(b[O], 5 * P, "clipped right");
	ASSERT_EQ(b[S] + b[FS_M_FILE], 0ull, "nobody else");
	mapset__owned(&ms, 20 * P, 30 * P, b);
	ASSERT_EQ(b[A] + b[O], 0ull, "the gap is unknown");
	ASSERT_FALSE(mapset__any(&ms, 20 * P, 30 * P), "nothing in the gap");
	ASSERT_TRUE(mapset__any(&ms, 19 * P, 30 * P), "the last page of a");
	ASSERT_TRUE(mapset__any(&ms, 20 * P, 31 * P), "the first page of o");
	ASSERT_FALSE(mapset__any(&ms, 40 * P, 41 * P), "past the end");
	ASSERT_FALSE(mapset__any(&ms, 12 * P, 12 * P), "empty range");
	mapset__free(&ms);
}

/* Random operations in NPG pages against a page-by-page model (the array grows
 * with its gap anywhere). */
static void random_vs_model(int NPG, int steps, unsigned seed)
{
	struct fs_mapset ms = { 0 };
	int *model = calloc((size_t)NPG, sizeof(int)), *tmp = calloc((size_t)NPG, sizeof(int));
	bool ok = ASSERT_OK_PTR(model, "model") && ASSERT_OK_PTR(tmp, "model copy");

	for (int i = 0; i < NPG && ok; i++)
		model[i] = -1;
	for (int step = 0; step < steps && ok; step++) {
		int op = rand_r(&seed) % 4, a = rand_r(&seed) % NPG, len = 1 + rand_r(&seed) % 24;
		int owner = rand_r(&seed) % FS_M__COUNT, b = rand_r(&seed) % NPG, len2 = 1 + rand_r(&seed) % 24;
		int keep = rand_r(&seed) % 8 == 0;

		if (a + len > NPG)
			len = NPG - a;
		if (b + len2 > NPG)
			len2 = NPG - b;
		switch (op) {
		case 0:
			ok = ASSERT_OK(mapset__map(&ms, a * P, len * P, owner), "map");
			for (int i = a; i < a + len; i++)
				model[i] = owner;
			break;
		case 1:
			ok = ASSERT_OK(mapset__unmap(&ms, a * P, len * P), "unmap");
			for (int i = a; i < a + len; i++)
				model[i] = -1;
			break;
		case 2:
			ok = ASSERT_OK(mapset__fill(&ms, a * P, len * P, owner), "fill");
			for (int i = a; i < a + len; i++)
				if (model[i] < 0)
					model[i] = owner;
			break;
		case 3: {
			int moved = len < len2 ? len : len2, grow = model[a + len - 1] >= 0 ? model[a + len - 1] : owner;

			ok = ASSERT_OK(mapset__remap(&ms, a * P, len * P, b * P, len2 * P, owner, keep), "remap");
			memcpy(tmp, model, sizeof(int) * (size_t)NPG);
			if (!keep)
				for (int i = a; i < a + len; i++)
					model[i] = -1;
			for (int i = 0; i < len2; i++)
				model[b + i] = i < moved ? tmp[a + i] : grow;
			break;
		}
		}
		ok = ok && ASSERT_TRUE(well_formed(&ms), "well formed");
		for (int i = 0; i < NPG && ok; i++) {
			uint64_t bytes[FS_M__COUNT];

			mapset__owned(&ms, i * P, (i + 1) * P, bytes);
			for (int o = 0; o < FS_M__COUNT && ok; o++)
				ok = ASSERT_EQ(bytes[o], o == model[i] ? P : 0, "page owner as the model's");
		}
	}
	mapset__free(&ms);
	free(model);
	free(tmp);
}

TEST(mapset_random_vs_model)
{
	random_vs_model(256, 20000, 12345);
	random_vs_model(4096, 3000, 777);	/* hundreds of intervals: the array grows */
}
