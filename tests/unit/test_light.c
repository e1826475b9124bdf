/* test_light.c - `--mode light`: the census's budget of wall time, what a census
 * stands for in the waterfall and the arenas, and how light mode is rendered
 * (calls null, never 0; live marked as the census's). */
#include <stdlib.h>
#include "model/light.h"
#include "model/state.h"
#include "out/render.h"
#include "test.h"

#define MS 1000000ull

TEST(light_census_budget)
{
	struct fs_light_census lc = { 0 };

	ASSERT_TRUE(light__census_due(&lc, 5 * MS, 1, 0), "the first census is always due");
	lc.walks = 1;
	lc.walk_ns = 10 * MS;
	lc.end_ns = 1000 * MS;
	/* 1%: a 10 ms walk, then 990 ms without: 10 / 1000 of the time */
	ASSERT_FALSE(light__census_due(&lc, 1000 * MS + 989 * MS, 1, 0), "989 ms after a 10 ms walk: over 1%");
	ASSERT_TRUE(light__census_due(&lc, 1000 * MS + 990 * MS, 1, 0), "990 ms after: exactly 1%");
	ASSERT_TRUE(light__census_due(&lc, 1000 * MS + 1 * MS, 1, 1), "the last sample always has one");
	ASSERT_FALSE(light__census_due(&lc, 500 * MS, 1, 0), "a clock before the last walk's end: not due");
	/* 50%: as long again as the walk took */
	ASSERT_FALSE(light__census_due(&lc, 1000 * MS + 9 * MS, 50, 0), "50%: 9 ms after a 10 ms walk");
	ASSERT_TRUE(light__census_due(&lc, 1000 * MS + 10 * MS, 50, 0), "50%: 10 ms after");
	ASSERT_FALSE(light__census_due(&lc, 1000 * 1000 * MS, 0, 0), "0%: only the first and the last");
}

static void synthetic_census(struct fs_census *c)
{
	memset(c, 0, sizeof(*c));
	c->narenas = 2;
	c->arenas[0] = (struct fs_census_arena){ .ar_ptr = 0x7f0000001000, .main = 1, .size = 256 << 20,
						 .in_use = 3 << 20, .chunks_in_use = 300 };
	c->arenas[1] = (struct fs_census_arena){ .ar_ptr = 0x7e0000000020, .size = 256 << 20, .in_use = 1 << 20,
						 .chunks_in_use = 100 };
	c->mmapped_chunks = 2;
	c->mmapped_bytes = 2 << 20;
	c->in_use = (3 << 20) + (1 << 20) + (2 << 20);
	c->free = 40 << 20;
	c->free_resident = 30 << 20;
	c->approximate = 0;
}

TEST(light_census_stands_for_live)
{
	struct fs_light_census lc = { 0 };
	struct fs_census *c = malloc(sizeof(*c));
	struct fs_memory *m = calloc(1, sizeof(*m));

	if (!ASSERT_OK_PTR(c, "census") || !ASSERT_OK_PTR(m, "memory"))
		goto out;
	light__apply(&lc, 0, m);
	ASSERT_EQ(m->light, 1, "light");
	ASSERT_EQ(m->light_census, 0, "no census yet");
	ASSERT_EQ(m->live, 0, "live unknown without a census");

	synthetic_census(c);
	light__keep(&lc, c, 100 * MS, 2000 * MS);
	light__keep(&lc, c, 100 * MS, 4000 * MS);
	ASSERT_EQ(lc.walks, 2, "two walks");
	ASSERT_EQ(lc.chunks, 402, "chunks: both arenas and the mmapped ones");
	/* 100 ms per 512 MiB of heaps: 200 ms per GiB */
	ASSERT_TRUE(light__ns_per_gib(&lc) > 199.9 * MS && light__ns_per_gib(&lc) < 200.1 * MS, "ns per GiB");
	ASSERT_EQ(lc.mm_chunks, 2, "mmapped chunks found");
	{	/* a walk of a small heap: its fixed costs would pass for a cost per GiB */
		struct fs_light_census small = { 0 };

		light__keep(&small, c, 100 * MS, 2000 * MS);
		small.heap_bytes_total = 1 << 20;
		ASSERT_TRUE(light__ns_per_gib(&small) == 0, "1 MiB of heaps walked: no figure per GiB");
	}

	m->narenas = 3;
	m->arenas[0] = (struct fs_arena){ .ar_ptr = 0, .main = 1, .live = 77 };
	m->arenas[1] = (struct fs_arena){ .ar_ptr = 0x7e0000000020, .live = 77 };
	m->arenas[2] = (struct fs_arena){ .ar_ptr = 0x7d0000000020, .live = 77 };	/* made after the census */
	light__apply(&lc, 4500 * MS, m);
	ASSERT_EQ(m->live, 6ull << 20, "live: the census's bytes in use");
	ASSERT_EQ(m->light_census, 1, "census behind it");
	ASSERT_EQ(m->light_trim, 30ull << 20, "malloc_trim's figure: free resident");
	ASSERT_EQ(m->light_age_ns, 500 * MS, "age");
	ASSERT_EQ(m->arenas[0].live, 3ull << 20, "main arena, by its flag (its ar_ptr is not in the heap)");
	ASSERT_EQ(m->arenas[0].live_blocks, 300, "main arena chunks");
	ASSERT_EQ(m->arenas[1].live, 1ull << 20, "thread arena, by ar_ptr");
	ASSERT_EQ(m->arenas[2].live, 0, "an arena the census did not see: nothing claimed");
out:
	free(c);
	free(m);
}

TEST(light_render)
{
	static struct fs_plan plan;
	static struct fs_state st;
	struct fs_target_info t = { .pid = 77, .exit_code = -1 };
	struct fs_snapshot *s = &st.snap;
	struct fs_census *c = malloc(sizeof(*c));
	struct fs_view v;
	char *out = NULL;
	size_t n = 0;
	FILE *f;

	if (!ASSERT_OK_PTR(c, "census"))
		return;
	memset(&st, 0, sizeof(st));
	plan.alloc = FS_ALLOC_GLIBC;
	plan.allocator = alloc__by_id(FS_ALLOC_GLIBC);
	snprintf(plan.alloc_name, sizeof(plan.alloc_name), "glibc");
	st.allocator = plan.allocator;
	st.light = 1;
	s->c[FS_C_ALLOCS] = 5;	/* never shown in light mode: nothing is counted */
	synthetic_census(c);
	light__keep(&st.lc, c, 10 * MS, 0);
	st.mem.valid = 1;
	st.mem.held_basis = FS_B_CENSUS;
	light__apply(&st.lc, 0, &st.mem);
	v = (struct fs_view){ .target = &t, .plan = &plan, .snap = s, .st = &st, .duration_s = 1 };

	f = open_memstream(&out, &n);
	if (!ASSERT_OK_PTR(f, "open_memstream"))
		goto done;
	render__stat_json(f, &v);
	fclose(f);
	ASSERT_HAS_STR(out, "{\n  \"mode\": \"light\",", "mode first");
	ASSERT_HAS_STR(out, "\"allocs\": null,", "allocations null, not 0");
	ASSERT_HAS_STR(out, "\"count\": null,\n    \"bytes\": 6291456,\n    \"exact\": false,\n    \"source\": \"heap_census\"",
		       "live from the census, marked");
	ASSERT_HAS_STR(out, "\"live_source\": \"heap_census\"", "memory.live_source");
	ASSERT_HAS_STR(out, "\"malloc_trim\": null", "malloc_trim source not known");
	ASSERT_FALSE(strstr(out, "\"allocs\": 5"), "no count");
	free(out);
	out = NULL;

	f = open_memstream(&out, &n);
	if (!ASSERT_OK_PTR(f, "open_memstream"))
		goto done;
	render__stat_text(f, &v);
	fclose(f);
	ASSERT_HAS_STR(out, ", light mode", "header says the mode");
	ASSERT_HAS_STR(out, "not counted in light mode", "calls not counted");
	ASSERT_HAS_STR(out, "from the heap census (not exact counts)", "live's source");
	/* seen on memcached: a census line and, under it, "live: not known: no heap census completed" */
	ASSERT_FALSE(strstr(out, "not known"), "a census that completed is not also called missing");
	ASSERT_FALSE(strstr(out, "exact over"), "never called exact");
	ASSERT_FALSE(strstr(out, "allocations            "), "no allocations row");
done:
	free(out);
	free(c);
}

TEST(light_render_exact_mode_says_exact)
{
	static struct fs_plan plan;
	struct fs_target_info t = { .pid = 77, .exit_code = -1 };
	struct fs_snapshot s = { 0 };
	struct fs_view v = { .target = &t, .plan = &plan, .snap = &s, .duration_s = 1 };
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	if (!ASSERT_OK_PTR(f, "open_memstream"))
		return;
	render__stat_json(f, &v);
	fclose(f);
	ASSERT_HAS_STR(out, "{\n  \"mode\": \"exact\",", "exact mode says so");
	ASSERT_HAS_STR(out, "\"allocs\": 0,", "counts are numbers");
	free(out);
}

/* Seen on memcached under jemalloc attached by PID in light mode: the waterfall's live
 * was jemalloc's allocated bytes, the line above it and the last line said "not known". */
TEST(light_render_allocator_stats_live)
{
	static struct fs_plan plan;
	static struct fs_state st;
	struct fs_target_info t = { .pid = 77, .exit_code = -1 };
	struct fs_view v;
	char *out = NULL;
	size_t n = 0;
	FILE *f;

	memset(&st, 0, sizeof(st));
	plan.alloc = FS_ALLOC_JEMALLOC;
	plan.allocator = alloc__by_id(FS_ALLOC_JEMALLOC);
	snprintf(plan.alloc_name, sizeof(plan.alloc_name), "jemalloc");
	st.allocator = plan.allocator;
	st.light = 1;
	st.mem.valid = 1;
	st.mem.je_valid = 1;
	st.mem.je_allocated = 432716400;
	st.mem.held_basis = FS_B_ALLOC_STATS;
	st.snap.mono_ns = 5000 * MS;
	st.je_ns = 4500 * MS;
	v = (struct fs_view){ .target = &t, .plan = &plan, .snap = &st.snap, .st = &st, .duration_s = 5 };

	f = open_memstream(&out, &n);
	if (!ASSERT_OK_PTR(f, "open_memstream"))
		return;
	render__stat_text(f, &v);
	fclose(f);
	ASSERT_HAS_STR(out, "412.7 MiB allocated, by the allocator's own statistics 0.5 s before the end (usable bytes, "
		       "not exact counts)", "live from jemalloc's statistics, with its age");
	ASSERT_HAS_STR(out, "live bytes are the allocator's own statistics (usable bytes)", "the last line agrees");
	ASSERT_FALSE(strstr(out, "not known"), "never also called not known");
	ASSERT_FALSE(strstr(out, "malloc_trim()"), "jemalloc has no malloc_trim: no line about it");
	free(out);
}
