/* test_ldso.c - the dynamic linker's search done statically, and the ldconfig
 * cache: this machine's /etc/ld.so.cache, and synthetic images of its format. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "elf/ldso.h"
#include "test.h"

TEST(ldso_find_lib)
{
	char out[4096];

	ASSERT_OK(ldso__find_lib("libc.so.6", NULL, NULL, NULL, NULL, NULL, out, sizeof(out)), "libc.so.6");
	ASSERT_ENDS_WITH(out, "/libc.so.6", "libc path");
	ASSERT_OK(ldso__find_lib("libjemalloc.so.2", NULL, NULL, NULL, NULL, NULL, out, sizeof(out)), "jemalloc");
	ASSERT_ENDS_WITH(out, "/libjemalloc.so.2", "jemalloc path");
	ASSERT_EQ(ldso__find_lib("libfragscope-none.so.9", NULL, NULL, NULL, NULL, NULL, out, sizeof(out)),
		  -ENOENT, "no such library");
	ASSERT_EQ(ldso__find_lib("libfakemalloc.so", NULL, NULL, NULL, NULL, NULL, out, sizeof(out)),
		  -ENOENT, "fixtures are not searched by default");

	ASSERT_OK(ldso__find_lib("libfakemalloc.so", NULL, "$ORIGIN", FIXTURES, NULL, NULL, out, sizeof(out)),
		  "$ORIGIN");
	ASSERT_STREQ(out, FIXTURES "/libfakemalloc.so", "$ORIGIN replaced");
	ASSERT_OK(ldso__find_lib("libfakemalloc.so", NULL, "${ORIGIN}", FIXTURES, NULL, NULL, out, sizeof(out)),
		  "${ORIGIN}");
	ASSERT_STREQ(out, FIXTURES "/libfakemalloc.so", "${ORIGIN} replaced");
	ASSERT_OK(ldso__find_lib("libfakemalloc.so", NULL, "/nonexistent:$ORIGIN/../fixtures", FIXTURES, NULL,
				    NULL, out, sizeof(out)), "second runpath entry");
	ASSERT_STREQ(out, FIXTURES "/../fixtures/libfakemalloc.so", "$ORIGIN inside a path");
	ASSERT_OK(ldso__find_lib("libfakemalloc.so", NULL, "/nonexistent", NULL, "/also/nonexistent;" FIXTURES,
				    NULL, out, sizeof(out)), "LD_LIBRARY_PATH");
	ASSERT_STREQ(out, FIXTURES "/libfakemalloc.so", "found in LD_LIBRARY_PATH");
	ASSERT_OK(ldso__find_lib("/libfakemalloc.so", NULL, NULL, NULL, NULL, FIXTURES, out, sizeof(out)),
		  "a path under a root");
	ASSERT_STREQ(out, FIXTURES "/libfakemalloc.so", "root prefixed");
	ASSERT_EQ(ldso__find_lib(FIXTURES "/no-such.so", NULL, NULL, NULL, NULL, NULL, out, sizeof(out)),
		  -ENOENT, "missing path");
	ASSERT_EQ(ldso__find_lib("libc.so.6", NULL, NULL, NULL, NULL, "/nonexistent-root", out, sizeof(out)),
		  -ENOENT, "nothing under a missing root");
}

TEST(ldso_cache_this_machine)
{
	char out[4096];

	if (ASSERT_OK(ldso__find_soname("libc.so.6", NULL, NULL, out, sizeof(out)), "libc.so.6 by soname"))
		ASSERT_ENDS_WITH(out, "/libc.so.6", "libc path");
	ASSERT_EQ(access(out, R_OK), 0, "and it is there");
	ASSERT_EQ(ldso__find_soname("libfragscope-none.so.9", NULL, NULL, out, sizeof(out)), -ENOENT,
		  "a missing soname");
	ASSERT_OK(ldso__find_soname("libfakemalloc.so", "/nonexistent:" FIXTURES, NULL, out, sizeof(out)),
		  "LD_LIBRARY_PATH first");
	ASSERT_STREQ(out, FIXTURES "/libfakemalloc.so", "found there");
	ASSERT_EQ(ldso__find_soname("libc.so.6", NULL, "/nonexistent-root", out, sizeof(out)), -ENOENT,
		  "nothing under a missing root");
}

/* The real cache file through the parser alone: libc.so.6 is in every glibc system's cache. */
TEST(ldso_cache_parse_real)
{
	FILE *f = fopen("/etc/ld.so.cache", "re");
	char out[4096], *buf = malloc(1 << 22);
	size_t n = 0;

	if (!ASSERT_OK_PTR(f, "open /etc/ld.so.cache") || !ASSERT_OK_PTR(buf, "buffer"))
		goto cleanup;
	n = fread(buf, 1, 1 << 22, f);
	if (ASSERT_OK(ldso__cache_lookup(buf, n, "libc.so.6", out, sizeof(out)), "libc.so.6 in the cache"))
		ASSERT_ENDS_WITH(out, "/libc.so.6", "its path");
	ASSERT_EQ(ldso__cache_lookup(buf, n, "libfragscope-none.so.9", out, sizeof(out)), -ENOENT, "missing");
	ASSERT_EQ(ldso__cache_lookup(buf, 40, "libc.so.6", out, sizeof(out)), -EINVAL, "truncated header");
	ASSERT_EQ(ldso__cache_lookup(buf, 100, "libc.so.6", out, sizeof(out)), -EINVAL, "truncated table");
cleanup:
	if (f)
		fclose(f);
	free(buf);
}

/* A cache image: the new format, alone or after the old table; entries for other
 * architectures are skipped. */
static size_t make_cache(char *buf, int old_first)
{
	static const char strs[] = "libx.so.1\0/lib32/libx.so.1\0/usr/lib/x86_64-linux-gnu/libx.so.1\0";
	uint32_t nold = 2, u;
	size_t o = 0, base;
	int32_t fl;
	uint64_t hw = 0;

	memset(buf, 0, 4096);
	if (old_first) {
		memcpy(buf, "ld.so-1.7.0", 11);
		memcpy(buf + 12, &nold, 4);
		o = 16 + 12 * nold;	/* 40: 8-aligned already */
	}
	base = o;
	memcpy(buf + o, "glibc-ld.so.cache1.1", 20);
	u = 2;
	memcpy(buf + o + 20, &u, 4);		/* nlibs */
	u = sizeof(strs);
	memcpy(buf + o + 24, &u, 4);		/* len_strings */
	/* entry 0: i386 (flags 0x0803: ELF_LIBC6, i386... not x86-64) */
	fl = 0x0003;
	memcpy(buf + o + 48, &fl, 4);
	u = 48 + 48;
	memcpy(buf + o + 52, &u, 4);		/* key */
	u = 48 + 48 + 10;
	memcpy(buf + o + 56, &u, 4);		/* value: /lib32/... */
	memcpy(buf + o + 64, &hw, 8);
	/* entry 1: x86-64 */
	fl = 0x0303;
	memcpy(buf + o + 72, &fl, 4);
	u = 48 + 48;
	memcpy(buf + o + 76, &u, 4);
	u = 48 + 48 + 10 + 17;
	memcpy(buf + o + 80, &u, 4);
	memcpy(buf + o + 96, strs, sizeof(strs));
	return base + 96 + sizeof(strs);
}

TEST(ldso_cache_parse_synthetic)
{
	char buf[4096], out[256];
	size_t n;

	for (int old = 0; old < 2; old++) {
		n = make_cache(buf, old);
		if (ASSERT_OK(ldso__cache_lookup(buf, n, "libx.so.1", out, sizeof(out)), old ? "after the old table" : "new format"))
			ASSERT_STREQ(out, "/usr/lib/x86_64-linux-gnu/libx.so.1", "the x86-64 entry, not the 32-bit one");
		ASSERT_EQ(ldso__cache_lookup(buf, n, "liby.so.1", out, sizeof(out)), -ENOENT, "absent");
		ASSERT_EQ(ldso__cache_lookup(buf, n - 20, "libx.so.1", out, sizeof(out)), -ENOENT,
			  "a string past the end is not read");
	}
	memcpy(buf, "not-a-cache-at-all!!", 20);
	ASSERT_EQ(ldso__cache_lookup(buf, 200, "libx.so.1", out, sizeof(out)), -EINVAL, "wrong magic");
}
