/* test_alloc.c - the allocator backends' registry: lookups, identification from
 * an object's symbols, and what each backend must provide. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "alloc/alloc.h"
#include "elf/elfobj.h"
#include "elf/ldso.h"
#include "test.h"

TEST(alloc_registry)
{
	int n = 0;

	for (int i = 0; fs_allocators[i]; i++, n++) {
		const struct fs_allocator *a = fs_allocators[i];

		ASSERT_EQ(a->id, i + 1, "in enum order");
		ASSERT_TRUE(alloc__by_id(a->id) == a, "by id");
		ASSERT_TRUE(alloc__by_name(a->name) == a, "by name");
		ASSERT_TRUE(a->prefixes && a->prefixes[0] && a->markers && a->markers[0], "identifiable");
		ASSERT_TRUE(a->api && a->variants, "tables present");
		ASSERT_TRUE(!!a->refused == !a->api[0].fns, "refused exactly when it has no API to probe");
		for (const struct fs_alloc_variant *v = a->variants; v->name; v++) {
			ASSERT_TRUE(v->var || a->conf_env, "a variant's variable is its own or the backend's");
			ASSERT_TRUE(!v->var || strspn(v->var, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == strlen(v->var),
				    "a variable's name");
			ASSERT_TRUE(!v->var || v->value, "a variable of its own has a value");
		}
	}
	ASSERT_EQ(n, FS_ALLOC__COUNT - 1, "every id but unknown has a backend");
	ASSERT_TRUE(alloc__by_id(FS_ALLOC_UNKNOWN) == &fs_alloc_unknown, "unknown id");
	ASSERT_TRUE(alloc__by_id(99) == &fs_alloc_unknown, "out of range");
	ASSERT_TRUE(alloc__by_name("nosuch") == &fs_alloc_unknown, "unknown name");
	ASSERT_TRUE(alloc__by_name(NULL) == &fs_alloc_unknown, "no name");
	ASSERT_STREQ(fs_alloc_unknown.name, "unknown", "the fallback's name");
	ASSERT_TRUE(fs_alloc_unknown.api[0].fns != NULL, "the fallback probes the standard API");
	ASSERT_STREQ(alloc__by_id(FS_ALLOC_GLIBC)->name, "glibc", "glibc");
	ASSERT_STREQ(alloc__by_id(FS_ALLOC_JEMALLOC)->name, "jemalloc", "jemalloc");
	ASSERT_TRUE(alloc__by_id(FS_ALLOC_TCMALLOC)->refused == NULL, "tcmalloc traced");
	ASSERT_TRUE(alloc__by_id(FS_ALLOC_MIMALLOC)->refused == NULL, "mimalloc traced");
	ASSERT_TRUE(alloc__by_id(FS_ALLOC_HOARD)->refused != NULL, "Hoard refused");
	ASSERT_STREQ(alloc__by_id(FS_ALLOC_JEMALLOC)->variants[1].value, "background_thread:true,dirty_decay_ms:1000",
		     "jemalloc-bg's MALLOC_CONF");
	ASSERT_STREQ(alloc__by_id(FS_ALLOC_GLIBC)->variants[1].var, "MALLOC_ARENA_MAX", "glibc-arena2's variable");
}

/* Each backend's part of the diagnosis: its release sources are real ones and not
 * the program's own (the model's), listed once; the helpers write as the model does. */
TEST(alloc_diagnosis_parts)
{
	struct fs_diagnosis d;
	size_t o = 0;

	for (int i = 0; fs_allocators[i]; i++) {
		const struct fs_allocator *a = fs_allocators[i];
		int seen[FS_R__COUNT] = { 0 };

		for (const struct fs_release_text *r = a->releases; r && r->who; r++) {
			ASSERT_TRUE(r->src >= 0 && r->src < FS_R__COUNT, "a release source");
			ASSERT_TRUE(r->src != FS_R_PROGRAM, "not the model's own");
			/* the kernel side attributes only glibc's and jemalloc's releases by
			 * mechanism; another backend says what its "other" source is */
			ASSERT_TRUE(r->src != FS_R_OTHER || (a->id != FS_ALLOC_GLIBC && a->id != FS_ALLOC_JEMALLOC),
				    "other is not glibc's or jemalloc's");
			ASSERT_TRUE(r->remedy && r->remedy[0], "a remedy");
			if (r->src >= 0 && r->src < FS_R__COUNT)
				ASSERT_EQ(seen[r->src]++, 0, "listed once");
		}
		ASSERT_TRUE(!a->heap_walk || a->census_diagnosis, "a heap walk comes with its census diagnosis");
		ASSERT_TRUE(!a->unknown_note == !a->unknown_note_scanned, "both unknown-owner notes or none");
		ASSERT_TRUE(!a->variants[0].name || !a->conf_env || a->conf_word, "compare's help names its value");
	}
	ASSERT_TRUE(alloc__by_id(FS_ALLOC_GLIBC)->retention && alloc__by_id(FS_ALLOC_JEMALLOC)->retention,
		    "glibc and jemalloc write their retention paragraph");
	ASSERT_NULL(fs_alloc_unknown.retention, "the fallback: the model's generic sentence");
	ASSERT_NULL(fs_alloc_unknown.releases, "the fallback: the model's generic release texts");

	memset(&d, 0, sizeof(d));
	alloc__say(&d, &o, "%s of %d", "one", 2);
	alloc__say(&d, &o, "; %s", alloc__bytes(3u << 20));
	ASSERT_STREQ(d.text, "one of 2; 3.0 MiB", "appended");
	ASSERT_EQ(o, strlen(d.text), "offset at the end");
	o = sizeof(d.text) - 3;
	alloc__say(&d, &o, "%s", "abcdef");
	ASSERT_EQ(o, sizeof(d.text) + 3, "offset past the end, as snprintf counts");
	ASSERT_EQ(d.text[sizeof(d.text) - 1], 0, "still terminated");
	alloc__say(&d, &o, "%s", "more");
	ASSERT_EQ(o, sizeof(d.text) + 7, "nothing written past the end, still counted");
	alloc__remedy(&d, "malloc_trim", 42, "page census");
	ASSERT_STREQ(d.remedy, "malloc_trim", "remedy");
	ASSERT_EQ(d.expect, 42, "expected release");
	ASSERT_STREQ(d.evidence, "page census", "evidence");
}

/* tcmalloc's and mimalloc's settings from an environment block, their texts and
 * their part of the diagnosis. */
TEST(alloc_tcmi_settings)
{
	static const char env[] = "HOME=/\0TCMALLOC_RELEASE_RATE=0\0TCMALLOC_AGGRESSIVE_DECOMMIT=f\0"
				  "MIMALLOC_RESET_DELAY=100\0MIMALLOC_PAGE_RESET=1\0TCMALLOC_X\0";
	const struct fs_allocator *tc = alloc__by_id(FS_ALLOC_TCMALLOC), *mi = alloc__by_id(FS_ALLOC_MIMALLOC);
	struct fs_memory m;
	struct fs_settings s;
	struct fs_diagnosis d;
	char buf[512], vars[128];
	size_t o;

	ASSERT_EQ(alloc__env_prefixed(env, sizeof(env), "TCMALLOC_", vars, sizeof(vars)), 2, "two TCMALLOC_ variables");
	ASSERT_STREQ(vars, "TCMALLOC_RELEASE_RATE=0 TCMALLOC_AGGRESSIVE_DECOMMIT=f", "as NAME=VALUE, no bare name");
	ASSERT_EQ(alloc__env_prefixed(env, sizeof(env), "JE_", vars, sizeof(vars)), 0, "none");
	ASSERT_STREQ(vars, "", "empty");
	memset(&s, 0, sizeof(s));
	for (int i = 0; fs_allocators[i]; i++)	/* as memmodel does: every backend reads its own */
		if (fs_allocators[i]->settings)
			fs_allocators[i]->settings(env, sizeof(env), &s);
	ASSERT_TRUE(s.tc_release_rate == 0.0, "release rate 0");
	ASSERT_EQ(s.tc_aggressive_decommit, 0, "f is false");
	ASSERT_EQ(s.tc_thread_cache_max, 32ULL << 20, "thread caches' default cap");
	ASSERT_EQ(s.mi_decommit_delay_ms, 100, "the legacy name of decommit_delay");
	ASSERT_EQ(s.mi_segment_decommit_delay_ms, 500, "default");
	ASSERT_EQ(s.mi_allow_decommit, 1, "default");
	ASSERT_EQ(s.mi_page_reset, 1, "page reset on");
	tc->settings_text(&s, buf, sizeof(buf));
	ASSERT_HAS_STR(buf, "TCMALLOC_RELEASE_RATE=0,", "rate in the text");
	mi->settings_text(&s, buf, sizeof(buf));
	ASSERT_HAS_STR(buf, "MIMALLOC_DECOMMIT_DELAY=100 ms", "delay in the text");

	memset(&m, 0, sizeof(m));
	m.valid = 1;
	m.live = 1u << 20;
	m.held_free = 40u << 20;
	m.resident = 41u << 20;
	memset(&d, 0, sizeof(d));
	o = 0;
	tc->retention(&m, 0, &s, &d, &o);
	ASSERT_EQ(d.kind, FS_D_RETENTION, "more than the thread caches can hold");
	ASSERT_HAS_STR(d.text, "TCMALLOC_RELEASE_RATE=0 turns its release off", "the setting named");
	ASSERT_STREQ(d.remedy, "TCMALLOC_AGGRESSIVE_DECOMMIT", "its remedy");
	ASSERT_EQ(d.expect, 40 << 20, "up to what it holds beyond live");
	ASSERT_HAS_STR(d.text, "at least 8.0 MiB", "less the thread caches' cap");
	ASSERT_STREQ(d.evidence, "upper bound: held beyond live", "no page census");
	m.pages_valid = 1;	/* a fresh, complete page census: pages with no live block */
	m.resident_no_live = 36u << 20;
	memset(&d, 0, sizeof(d));
	o = 0;
	tc->retention(&m, 0, &s, &d, &o);
	ASSERT_EQ(d.expect, 36 << 20, "up to the pages holding no live block");
	ASSERT_STREQ(d.evidence, "page census of the live set", "its evidence");
	ASSERT_HAS_STR(d.text, "36.0 MiB of its resident pages hold no live block", "said");
	m.pages_approximate = 1;	/* blocks from before attach unknown: not evidence */
	memset(&d, 0, sizeof(d));
	o = 0;
	tc->retention(&m, 0, &s, &d, &o);
	ASSERT_EQ(d.expect, 40 << 20, "back to the upper bound");
	m.pages_valid = m.pages_approximate = 0;
	m.held_free = 20u << 20;
	memset(&d, 0, sizeof(d));
	o = 0;
	tc->retention(&m, 0, &s, &d, &o);
	ASSERT_EQ(d.kind, FS_D_CACHE, "within the thread caches' cap");
	memset(&d, 0, sizeof(d));
	o = 0;
	mi->retention(&m, 0, &s, &d, &o);
	ASSERT_EQ(d.kind, FS_D_RETENTION, "mimalloc");
	ASSERT_STREQ(d.remedy, "MIMALLOC_DECOMMIT_DELAY", "its remedy");
	ASSERT_HAS_STR(d.text, "decommitted 100 ms after", "the delay as set");
	ASSERT_STREQ(alloc__src_name(tc, FS_R_MALLOC_TRIM), "tcmalloc_release_call", "an explicit release");
	ASSERT_STREQ(alloc__src_name(mi, FS_R_OTHER), "mimalloc_decommit", "its own release");
	ASSERT_NULL(alloc__src_name(alloc__by_id(FS_ALLOC_GLIBC), FS_R_GLIBC_TRIM), "glibc: the generic names");
	ASSERT_NULL(alloc__src_name(NULL, FS_R_OTHER), "no backend");
}

static const struct fs_allocator *identify(const char *path, char *prefix, size_t len)
{
	struct elfobj *o = elfobj__open(path);
	const struct fs_allocator *a;

	if (!o)
		return NULL;
	a = alloc__identify(o, prefix, len);
	elfobj__free(o);
	return a;
}

TEST(alloc_identify)
{
	const struct fs_allocator *a;
	char pre[16], je[4096];

	a = identify("/lib/x86_64-linux-gnu/libc.so.6", pre, sizeof(pre));
	if (ASSERT_OK_PTR(a, "libc")) {
		ASSERT_EQ(a->id, FS_ALLOC_GLIBC, "libc is glibc");
		ASSERT_STREQ(pre, "", "no prefix");
		ASSERT_TRUE(a->libc && a->heap_walk, "the C library's, walkable heaps");
	}
	/* libjemalloc defines __libc_malloc too: replacements are tried first */
	if (ASSERT_OK(ldso__find_soname(alloc__by_id(FS_ALLOC_JEMALLOC)->preload_soname, NULL, NULL, je, sizeof(je)),
		      "the jemalloc backend's preload found")) {
		a = identify(je, pre, sizeof(pre));
		if (ASSERT_OK_PTR(a, "libjemalloc")) {
			ASSERT_EQ(a->id, FS_ALLOC_JEMALLOC, "libjemalloc is jemalloc");
			ASSERT_STREQ(pre, "", "unprefixed");
		}
	}
	a = identify(FIXTURES "/static-je-prefix", pre, sizeof(pre));
	if (ASSERT_OK_PTR(a, "static-je-prefix")) {
		ASSERT_EQ(a->id, FS_ALLOC_JEMALLOC, "je_ functions are jemalloc");
		ASSERT_STREQ(pre, "je_", "its prefix");
	}
	a = identify(FIXTURES "/libfaketcmalloc.so", pre, sizeof(pre));
	if (ASSERT_OK_PTR(a, "libfaketcmalloc"))
		ASSERT_EQ(a->id, FS_ALLOC_TCMALLOC, "tc_malloc is tcmalloc");
	a = identify(FIXTURES "/libfakehoard.so", pre, sizeof(pre));
	if (ASSERT_OK_PTR(a, "libfakehoard"))
		ASSERT_EQ(a->id, FS_ALLOC_HOARD, "xxmalloc and xxfree are Hoard's");
	a = identify(FIXTURES "/libfakemalloc.so", pre, sizeof(pre));
	if (ASSERT_OK_PTR(a, "libfakemalloc"))
		ASSERT_TRUE(a == &fs_alloc_unknown, "a plain malloc is unknown");
}
