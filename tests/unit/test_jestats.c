/* test_jestats.c - the pure parts of jestats.c, and its refusals on a glibc process
 * (this one): no ptrace needed for either. */
#include <errno.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "alloc/jestats.h"
#include "test.h"

TEST(jestats_points_into)
{
	uint64_t words[4] = { 0x1000, 0x7fff00001234, 0x2000, 0 };
	struct fs_je_code c = { 0x7fff00000000, 0x7fff00002000, 0, 0, NULL };

	ASSERT_TRUE(jestats__points_into(words, sizeof(words), &c), "a word inside");
	c.lo = 0x7fff00001235;
	ASSERT_FALSE(jestats__points_into(words, sizeof(words), &c), "below lo");
	c.lo = 0x3000, c.hi = 0x7fff00001234;
	ASSERT_FALSE(jestats__points_into(words, sizeof(words), &c), "hi is exclusive");
	c.lo = 0x2000, c.hi = 0x2001;
	ASSERT_TRUE(jestats__points_into(words, sizeof(words), &c), "lo is inclusive");
	c.lo = 0x7fff00000000, c.hi = 0x7fff00002000;
	ASSERT_FALSE(jestats__points_into(words + 1, 7, &c), "a partial word is not read");
}

/* A static link: the program's functions, then jemalloc's objects (globals je_-named,
 * statics between them), then the program's again. */
TEST(jestats_code_ranges)
{
	struct fs_je_fn fns[] = {
		{ 0x1000, 1, 0 },	/* main */
		{ 0x1100, 0, -1 },	/* a static of no known object: next global is jemalloc's, so counted */
		{ 0x1200, 0, -1 },	/* jemalloc's first object starts with a static */
		{ 0x1300, 1, 1 },	/* je_arena_... */
		{ 0x1400, 0, -1 },	/* a static inside jemalloc */
		{ 0x1500, 1, 1 },	/* malloc */
		{ 0x1600, 1, 0 },	/* the program again */
		{ 0x1700, 0, -1 },
		{ 0x1800, 1, 0 },
	};
	uint64_t iv[8][2];
	struct fs_je_code c = { 0x1000, 0x2000, 0, 8, iv };

	if (!ASSERT_EQ(jestats__code_ranges(fns, 9, 0x1900, &c), 0, "ranges"))
		return;
	ASSERT_EQ(c.niv, 1, "one run");
	ASSERT_EQ(iv[0][0], 0x1100, "starts at the statics before the first global");
	ASSERT_EQ(iv[0][1], 0x1600, "ends where the program's next function starts");
	ASSERT_FALSE(jestats__in_code(&c, 0x10ff), "main");
	ASSERT_TRUE(jestats__in_code(&c, 0x1200), "first jemalloc byte");
	ASSERT_TRUE(jestats__in_code(&c, 0x1450), "jemalloc's static");
	ASSERT_FALSE(jestats__in_code(&c, 0x1600), "end is exclusive");
	ASSERT_FALSE(jestats__in_code(&c, 0x1750), "the program's later static");
	ASSERT_FALSE(jestats__in_code(&c, 0x2500), "outside the object");
	c.maxiv = 0;
	ASSERT_EQ(jestats__code_ranges(fns, 9, 0x1900, &c), -E2BIG, "no room");
}

/* Statics whose object (STT_FILE) is known keep their side, whatever their neighbours. */
TEST(jestats_code_ranges_known_objects)
{
	struct fs_je_fn fns[] = {
		{ 0x1000, 1, 0 },	/* main */
		{ 0x1100, 0, 0 },	/* the program's static (jework.c), before jemalloc */
		{ 0x1200, 0, 1 },	/* arena.o's static */
		{ 0x1300, 1, 1 },	/* je_arena_... */
		{ 0x1400, 1, 0 },	/* the program */
		{ 0x1500, 0, 1 },	/* a cold part of a jemalloc static, far away */
		{ 0x1600, 1, 0 },
	};
	uint64_t iv[8][2];
	struct fs_je_code c = { 0x1000, 0x2000, 0, 8, iv };

	if (!ASSERT_EQ(jestats__code_ranges(fns, 7, 0x1700, &c), 0, "ranges"))
		return;
	ASSERT_EQ(c.niv, 2, "two runs");
	ASSERT_FALSE(jestats__in_code(&c, 0x1150), "the program's static");
	ASSERT_TRUE(jestats__in_code(&c, 0x1250), "jemalloc's static");
	ASSERT_TRUE(jestats__in_code(&c, 0x1550), "jemalloc's cold part");
	ASSERT_FALSE(jestats__in_code(&c, 0x1450), "the program between");
}

TEST(jestats_forking_syscalls)
{
	ASSERT_TRUE(jestats__forking_syscall(SYS_clone), "clone");
	ASSERT_TRUE(jestats__forking_syscall(SYS_fork), "fork");
	ASSERT_TRUE(jestats__forking_syscall(SYS_vfork), "vfork");
	ASSERT_TRUE(jestats__forking_syscall(SYS_clone3), "clone3");
	ASSERT_FALSE(jestats__forking_syscall(SYS_read), "read");
	ASSERT_FALSE(jestats__forking_syscall(-1), "not in a syscall");
}

TEST(jestats_glibc_process)
{
	char err[256] = "";
	uint64_t addr = 0;

	/* this test program uses glibc's malloc: no mallctl anywhere, one line saying so */
	ASSERT_EQ(jestats__find(getpid(), &addr, err, sizeof(err)), -ENOENT, "find");
	ASSERT_TRUE(strstr(err, "has no jemalloc: no mallctl") != NULL, err);
	ASSERT_TRUE(strchr(err, '\n') == NULL, "one line");
	ASSERT_EQ(jestats__bg_threads(getpid()), 0, "no background threads");
	ASSERT_TRUE(jestats__bg_threads(0x7ffffff0) < 0, "no such process");
}
