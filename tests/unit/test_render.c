/* test_render.c - number and size formatting, and a few keys of the stat views. */
#include <stdint.h>
#include <stdlib.h>
#include "out/render.h"
#include "test.h"

TEST(render_num)
{
	char b[32];

	ASSERT_STREQ(fmt__num(0, b, sizeof(b)), "0", "zero");
	ASSERT_STREQ(fmt__num(999, b, sizeof(b)), "999", "three digits");
	ASSERT_STREQ(fmt__num(1000, b, sizeof(b)), "1,000", "four digits");
	ASSERT_STREQ(fmt__num(123456, b, sizeof(b)), "123,456", "six digits");
	ASSERT_STREQ(fmt__num(1234567, b, sizeof(b)), "1,234,567", "seven digits");
	ASSERT_STREQ(fmt__num(UINT64_MAX, b, sizeof(b)), "18,446,744,073,709,551,615", "largest");
	/* A short buffer truncates but is never overrun, and stays terminated. */
	for (size_t len = 1; len <= 12; len++) {
		memset(b, 'x', sizeof(b));
		fmt__num(1234567, b, len);
		if (!ASSERT_TRUE(strlen(b) < len && b[len] == 'x', "short buffer"))
			break;
		if (!ASSERT_TRUE(!strncmp(b, "1,234,567", strlen(b)), "a prefix of the number"))
			break;
	}
}

TEST(render_bytes)
{
	char b[32];

	ASSERT_STREQ(fmt__bytes(0, b, sizeof(b)), "0 B", "zero");
	ASSERT_STREQ(fmt__bytes(100, b, sizeof(b)), "100 B", "bytes");
	ASSERT_STREQ(fmt__bytes(1023, b, sizeof(b)), "1023 B", "just under 1 KiB");
	ASSERT_STREQ(fmt__bytes(1024, b, sizeof(b)), "1.0 KiB", "1 KiB");
	ASSERT_STREQ(fmt__bytes(1536, b, sizeof(b)), "1.5 KiB", "1.5 KiB");
	ASSERT_STREQ(fmt__bytes(3 << 20, b, sizeof(b)), "3.0 MiB", "MiB");
	ASSERT_STREQ(fmt__bytes(5ull << 40, b, sizeof(b)), "5.0 TiB", "TiB");
	ASSERT_STREQ(fmt__bytes(2048ull << 50, b, sizeof(b)), "2048.0 PiB", "PiB is the largest unit");
}

/* A view with a little of everything; the plan is large, so it is static. */
static void make_view(struct fs_view *v, struct fs_target_info *t, struct fs_plan *p,
		      struct fs_snapshot *s)
{
	memset(t, 0, sizeof(*t));
	memset(p, 0, sizeof(*p));
	memset(s, 0, sizeof(*s));
	t->pid = 4242;
	snprintf(t->comm, sizeof(t->comm), "work\"er");
	t->exited = 1;
	t->exit_code = 0;
	t->attached_at_start = 1;
	p->alloc = FS_ALLOC_GLIBC;
	snprintf(p->alloc_name, sizeof(p->alloc_name), "glibc");
	snprintf(p->object, sizeof(p->object), "/lib/x86_64-linux-gnu/libc.so.6");
	p->nprobes = 2;
	snprintf(p->probes[0].name, sizeof(p->probes[0].name), "malloc");
	snprintf(p->probes[1].name, sizeof(p->probes[1].name), "free");
	snprintf(p->probes[1].aliases, sizeof(p->probes[1].aliases), "cfree");
	p->probes[1].place = 3;
	p->probes[1].emulated = 1;
	p->nnotes = 1;
	snprintf(p->notes[0], sizeof(p->notes[0]), "a note");
	s->c[FS_C_ALLOCS] = 1234567;
	s->c[FS_C_ALLOC_BYTES] = 1536;
	s->c[FS_C_FREES] = 1234560;
	s->c[FS_C_TRACKED_ALLOCS] = 1234567;
	s->c[FS_C_TRACKED_FREES] = 1234560;
	s->c[FS_C_TRACKED_BYTES] = 2048;
	s->c[FS_C_TRACKED_FREE_BYTES] = 1024;
	s->h[FS_H_ALLOC_SIZE][5] = 1234567;
	s->f[1] = (struct fs_func_stat){ .calls = 1234560, .bytes = 512 };
	s->nfuncs = 2;
	*v = (struct fs_view){ .target = t, .plan = p, .snap = s, .duration_s = 2.5, .max_live = 1000 };
}

TEST(render_stat_json)
{
	static struct fs_plan plan;
	struct fs_target_info t;
	struct fs_snapshot s;
	struct fs_view v;
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	if (!ASSERT_OK_PTR(f, "open_memstream"))
		return;
	make_view(&v, &t, &plan, &s);
	render__stat_json(f, &v);
	fclose(f);
	ASSERT_TRUE(out[0] == '{' && n >= 3 && !strcmp(out + n - 3, "\n}\n"), "one object, then a newline");
	ASSERT_HAS_STR(out, "\"pid\": 4242,", "target pid");
	ASSERT_HAS_STR(out, "\"comm\": \"work\\\"er\"", "comm escaped");
	ASSERT_HAS_STR(out, "\"name\": \"glibc\"", "allocator name");
	ASSERT_HAS_STR(out, "\"duration_s\": 2.5,", "duration");
	ASSERT_HAS_STR(out, "\"allocs\": 1234567,", "totals.allocs");
	ASSERT_HAS_STR(out, "\"count\": 7,\n    \"bytes\": 1024,\n    \"exact\": true", "live");
	ASSERT_HAS_STR(out, "\"name\": \"free\",\n      \"calls\": 1234560,", "functions[1]");
	ASSERT_HAS_STR(out, "\"aliases\": \"cfree\",\n      \"probe_offset\": 3,\n      \"emulated\": true",
		       "functions[1] placement");
	ASSERT_HAS_STR(out, "\"alloc_size\": [\n      {\n        \"lt\": 32,\n        \"count\": 1234567\n      }\n    ]",
		       "histogram bucket 5 is [16, 32)");
	ASSERT_HAS_STR(out, "\"notes\": [\n    \"a note\"\n  ]", "notes");
	free(out);
}

TEST(render_stat_text)
{
	static struct fs_plan plan;
	struct fs_target_info t;
	struct fs_snapshot s;
	struct fs_view v;
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	if (!ASSERT_OK_PTR(f, "open_memstream"))
		return;
	make_view(&v, &t, &plan, &s);
	render__stat_text(f, &v);
	fclose(f);
	ASSERT_HAS_STR(out, "PID 4242 (work\"er), exited, glibc allocator in /lib/x86_64-linux-gnu/libc.so.6",
		       "header");
	ASSERT_HAS_STR(out, "1,234,567  allocations", "allocations row");
	ASSERT_HAS_STR(out, "1.5 KiB", "allocated bytes");
	ASSERT_HAS_STR(out, "7  live blocks", "live row");
	ASSERT_HAS_STR(out, "note: a note", "note");
	ASSERT_HAS_STR(out, "exact over 2.50 s: every call since start was counted", "verdict");
	ASSERT_FALSE(strstr(out, "frees of unknown size"), "no unknown-size row when traced from start");
	free(out);
}

/* A family of processes: totals add up; a process that was to be followed and ran
 * untraced makes the whole NOT EXACT, one not followed by choice does not. */
TEST(render_procs)
{
	static struct fs_plan plan[2];
	struct fs_target_info t[2];
	struct fs_snapshot s[2];
	struct fs_view v[2];
	struct fs_unfollowed uf = { .pid = 77, .ppid = 4243, .comm = "static", .why = "statically linked" };
	struct fs_procs_view pv = { .views = v, .n = 2, .primary = 1, .follow = 1, .uf = &uf, .nuf = 1 };
	char *out = NULL;
	size_t n = 0;
	FILE *f;

	make_view(&v[0], &t[0], &plan[0], &s[0]);
	make_view(&v[1], &t[1], &plan[1], &s[1]);
	t[0].replaced = 1;
	t[1].pid = 4243;
	t[1].role = FS_ROLE_CHILD;
	t[1].ppid = 4242;
	s[1].c[FS_C_ALLOCS] = 10;
	ASSERT_FALSE(render__procs_exact(&pv), "a process to follow ran untraced");
	uf.chosen = 1;
	ASSERT_TRUE(render__procs_exact(&pv), "not followed as asked: still exact for the rest");
	uf.chosen = 0;
	f = open_memstream(&out, &n);
	if (!ASSERT_OK_PTR(f, "open_memstream"))
		return;
	render__procs_text(f, &pv);
	fclose(f);
	ASSERT_HAS_STR(out, "processes: 2 traced (children and new images followed)", "title");
	ASSERT_HAS_STR(out, "replaced (exec)", "the first image was replaced");
	ASSERT_HAS_STR(out, "1,234,577", "total allocations: 1,234,567 + 10");
	ASSERT_HAS_STR(out, "statically linked", "the untraced process and why");
	ASSERT_HAS_STR(out, "NOT EXACT: processes ran untraced", "verdict");
	free(out);
	out = NULL;
	f = open_memstream(&out, &n);
	if (!ASSERT_OK_PTR(f, "open_memstream"))
		return;
	{
		struct json j;

		json__init(&j, f, 0);
		json__obj(&j, NULL);
		render__procs_json(&j, &pv);
		json__end_obj(&j);
		json__finish(&j);
	}
	fclose(f);
	ASSERT_HAS_STR(out, "\"role\":\"child\"", "role");
	ASSERT_HAS_STR(out, "\"missed\":1", "one missed");
	ASSERT_HAS_STR(out, "\"allocs\":1234577", "total");
	free(out);
}
