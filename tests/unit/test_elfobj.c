/* test_elfobj.c - ELF reading on the fixtures (make fixtures) and on this
 * machine's libc, checked against binutils where the answer is the system's. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>
#include "elf/elfobj.h"
#include "test.h"

#define LIBC "/lib/x86_64-linux-gnu/libc.so.6"

static struct elfobj *open_ok(const char *path)
{
	struct elfobj *o = elfobj__open(path);

	ASSERT_OK_PTR(o, path);
	return o;
}

/* First hex number of the first line of cmd's output that contains match. */
static bool popen_hex(const char *cmd, const char *match, uint64_t *v)
{
	char line[512];
	bool found = false;
	FILE *p = popen(cmd, "r");

	if (!ASSERT_OK_PTR(p, cmd))
		return false;
	while (!found && fgets(line, sizeof(line), p))
		if (strstr(line, match))
			found = sscanf(line, " %" SCNx64, v) == 1;
	pclose(p);
	return ASSERT_TRUE(found, cmd);
}

TEST(elfobj_kinds)
{
	struct elfobj *dyn = open_ok(FIXTURES "/dyn"), *st = open_ok(FIXTURES "/static"),
		      *strp = open_ok(FIXTURES "/static-stripped"), *lib = open_ok(FIXTURES "/libfakemalloc.so");

	if (!dyn || !st || !strp || !lib)
		goto cleanup;
	ASSERT_STREQ(elfobj__path(dyn), FIXTURES "/dyn", "path kept");
	ASSERT_EQ(elfobj__has_interp(dyn), 1, "dyn: PT_INTERP");
	ASSERT_EQ(elfobj__is_dyn(dyn), 1, "dyn: PIE");
	ASSERT_EQ(elfobj__has_symtab(dyn), 1, "dyn: .symtab");
	ASSERT_EQ(elfobj__has_dynsym(dyn), 1, "dyn: .dynsym");
	ASSERT_EQ(elfobj__has_interp(st), 0, "static: no PT_INTERP");
	ASSERT_EQ(elfobj__is_dyn(st), 0, "static: ET_EXEC");
	ASSERT_EQ(elfobj__has_symtab(st), 1, "static: .symtab");
	ASSERT_EQ(elfobj__has_symtab(strp), 0, "stripped: no .symtab");
	ASSERT_EQ(elfobj__has_dynsym(strp), 0, "stripped static: no .dynsym either");
	ASSERT_EQ(elfobj__has_interp(strp), 0, "stripped: no PT_INTERP");
	ASSERT_EQ(elfobj__has_interp(lib), 0, "library: no PT_INTERP");
	ASSERT_EQ(elfobj__is_dyn(lib), 1, "library: ET_DYN");
	ASSERT_EQ(elfobj__base_vaddr(dyn), 0, "PIE: base vaddr 0");
	ASSERT_EQ(elfobj__base_vaddr(st), 0x400000, "static non-PIE: base vaddr 0x400000");
cleanup:
	elfobj__free(dyn);
	elfobj__free(st);
	elfobj__free(strp);
	elfobj__free(lib);
}

TEST(elfobj_dynamic_section)
{
	struct elfobj *je = open_ok(FIXTURES "/dyn-je"), *fake = open_ok(FIXTURES "/dyn-fake"),
		      *dyn = open_ok(FIXTURES "/dyn"), *libc = open_ok(LIBC), *st = open_ok(FIXTURES "/static");

	if (!je || !fake || !dyn || !libc || !st)
		goto cleanup;
	ASSERT_EQ(elfobj__needed_count(je), 2, "dyn-je: two DT_NEEDED");
	ASSERT_STREQ(elfobj__needed(je, 0), "libjemalloc.so.2", "dyn-je: jemalloc first");
	ASSERT_STREQ(elfobj__needed(je, 1), "libc.so.6", "dyn-je: then libc");
	ASSERT_NULL(elfobj__needed(je, 2), "past the end");
	ASSERT_NULL(elfobj__needed(je, -1), "negative index");
	ASSERT_NULL(elfobj__soname(je), "executable: no soname");
	ASSERT_NULL(elfobj__runpath(je), "dyn-je: no runpath");
	ASSERT_EQ(elfobj__has_runpath(je), 0, "dyn-je: no DT_RUNPATH");

	ASSERT_STREQ(elfobj__needed(fake, 0), "libfakemalloc.so", "dyn-fake: fake first");
	ASSERT_STREQ(elfobj__runpath(fake), "$ORIGIN", "dyn-fake: runpath");
	ASSERT_EQ(elfobj__has_runpath(fake), 1, "dyn-fake: DT_RUNPATH (ld's default)");

	ASSERT_EQ(elfobj__needed_count(dyn), 1, "dyn: one DT_NEEDED");
	ASSERT_STREQ(elfobj__soname(libc), "libc.so.6", "libc soname");
	ASSERT_STREQ(elfobj__needed(libc, 0), "ld-linux-x86-64.so.2", "libc needs ld.so");
	ASSERT_EQ(elfobj__needed_count(st), 0, "static: no dynamic section");
cleanup:
	elfobj__free(je);
	elfobj__free(fake);
	elfobj__free(dyn);
	elfobj__free(libc);
	elfobj__free(st);
}

TEST(elfobj_sym_libc)
{
	struct elfobj *o = open_ok(LIBC);
	struct elfsym m = { 0 }, lm = { 0 }, s = { 0 };
	uint64_t want = 0;

	if (!o)
		return;
	if (ASSERT_OK(elfobj__sym(o, "malloc", &m), "malloc in libc") &&
	    popen_hex("nm -D " LIBC, " T malloc@@", &want))
		ASSERT_EQ(m.vaddr, want, "malloc vaddr as nm -D says");
	ASSERT_TRUE(m.size > 16, "malloc has a size");
	ASSERT_EQ(m.ifunc, 0, "malloc is no IFUNC");
	if (ASSERT_OK(elfobj__sym(o, "__libc_malloc", &lm), "__libc_malloc"))
		ASSERT_EQ(lm.vaddr, m.vaddr, "__libc_malloc is malloc");
	if (ASSERT_OK(elfobj__sym(o, "strlen", &s), "strlen"))
		ASSERT_EQ(s.ifunc, 1, "strlen is an IFUNC");
	if (ASSERT_OK(elfobj__sym(o, "free", &lm), "free") &&
	    ASSERT_OK(elfobj__sym(o, "cfree", &s), "cfree (old symbol version)"))
		ASSERT_EQ(s.vaddr, lm.vaddr, "cfree is free");
	ASSERT_OK(elfobj__sym(o, "stdout", &s), "objects are found too");
	ASSERT_EQ(elfobj__sym(o, "malloc@@GLIBC_2.2.5", &s), -ENOENT, "versioned names are not names");
	ASSERT_EQ(elfobj__sym(o, "mallo", &s), -ENOENT, "exact match only");
	ASSERT_EQ(elfobj__sym(o, "no_such_symbol_here", &s), -ENOENT, "missing symbol");
	elfobj__free(o);
}

TEST(elfobj_sym_fixtures)
{
	struct elfobj *dyn = open_ok(FIXTURES "/dyn"), *st = open_ok(FIXTURES "/static"),
		      *strp = open_ok(FIXTURES "/static-stripped"), *pre = open_ok(FIXTURES "/static-je-prefix");
	struct elfsym s;

	if (!dyn || !st || !strp || !pre)
		goto cleanup;
	ASSERT_EQ(elfobj__sym(dyn, "malloc", &s), -ENOENT, "dyn: malloc is undefined, not found");
	ASSERT_OK(elfobj__sym(dyn, "main", &s), "dyn: main in .symtab");
	ASSERT_OK(elfobj__sym(st, "malloc", &s), "static: malloc in .symtab");
	ASSERT_EQ(elfobj__sym(strp, "malloc", &s), -ENOENT, "stripped: no malloc");
	ASSERT_EQ(elfobj__sym(strp, "main", &s), -ENOENT, "stripped: no main");
	ASSERT_OK(elfobj__sym(pre, "je_malloc", &s), "je_malloc in .symtab");
	ASSERT_OK(elfobj__sym(pre, "je_mallctl", &s), "je_mallctl in .symtab");
cleanup:
	elfobj__free(dyn);
	elfobj__free(st);
	elfobj__free(strp);
	elfobj__free(pre);
}

TEST(elfobj_got_slot)
{
	struct elfobj *o = open_ok(LIBC), *st = open_ok(FIXTURES "/static");
	uint64_t slot = 0, want = 0;

	if (!o || !st)
		goto cleanup;
	if (ASSERT_OK(elfobj__got_slot(o, "malloc", &slot), "libc's GOT slot for malloc") &&
	    popen_hex("readelf -rW " LIBC, " malloc@@GLIBC_2.2.5", &want))
		ASSERT_EQ(slot, want, "slot as readelf -r says");
	ASSERT_EQ(elfobj__got_slot(o, "no_such_symbol_here", &slot), -ENOENT, "no relocation");
	ASSERT_EQ(elfobj__got_slot(st, "malloc", &slot), -ENOENT, "static: no GOT slot for malloc");
cleanup:
	elfobj__free(o);
	elfobj__free(st);
}

/* symbol -> file offset -> bytes: fixture.c's marker string reads back. */
TEST(elfobj_vaddr_to_off)
{
	static const char marker[] = "fragscope fixture marker";
	const char *files[] = { FIXTURES "/dyn", FIXTURES "/static" };
	char got[sizeof(marker)];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct elfobj *o = open_ok(files[i]);
		struct elfsym s;
		uint64_t off = 0;

		if (!o)
			continue;
		if (ASSERT_OK(elfobj__sym(o, "fixture_marker", &s), files[i]) &&
		    ASSERT_EQ(s.size, sizeof(marker), "marker size") &&
		    ASSERT_OK(elfobj__vaddr_to_off(o, s.vaddr, &off), "marker offset") &&
		    ASSERT_EQ(elfobj__read(o, off, got, sizeof(got)), (ssize_t)sizeof(got), "read marker"))
			ASSERT_STREQ(got, marker, "bytes at the marker's offset");
		ASSERT_EQ(elfobj__vaddr_to_off(o, 1ull << 46, &off), -ERANGE, "vaddr outside every PT_LOAD");
		ASSERT_EQ(elfobj__read(o, 1ull << 40, got, sizeof(got)), 0, "read past the end");
		elfobj__free(o);
	}
}

TEST(elfobj_open_errors)
{
	char path[] = "/tmp/fragscope-unit-XXXXXX";
	int fd = mkstemp(path);
	struct elfobj *o;

	if (!ASSERT_TRUE(fd >= 0, "mkstemp"))
		return;
	ASSERT_EQ(write(fd, "not an ELF file\n", 16), 16, "write");
	close(fd);
	errno = 0;
	o = elfobj__open(path);
	ASSERT_NULL(o, "text file");
	ASSERT_EQ(errno, ENOEXEC, "text file: ENOEXEC");
	elfobj__free(o);
	unlink(path);

	errno = 0;
	o = elfobj__open(FIXTURES "/no-such-file");
	ASSERT_NULL(o, "missing file");
	ASSERT_EQ(errno, ENOENT, "missing file: ENOENT");
	elfobj__free(o);

	errno = 0;
	o = elfobj__open(FIXTURES);
	ASSERT_NULL(o, "a directory");
	ASSERT_EQ(errno, ENOEXEC, "directory: ENOEXEC");
	elfobj__free(o);
	elfobj__free(NULL);	/* NULL-safe */
}
