/* test_jestats.c - the pure parts of jestats.c, and its refusals on a glibc process
 * (this one): no ptrace needed for either. */
#include <errno.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "jestats.h"
#include "test.h"

TEST(jestats_points_into)
{
	uint64_t words[4] = { 0x1000, 0x7fff00001234, 0x2000, 0 };

	ASSERT_TRUE(jestats__points_into(words, sizeof(words), 0x7fff00000000, 0x7fff00002000), "a word inside");
	ASSERT_FALSE(jestats__points_into(words, sizeof(words), 0x7fff00001235, 0x7fff00002000), "below lo");
	ASSERT_FALSE(jestats__points_into(words, sizeof(words), 0x3000, 0x7fff00001234), "hi is exclusive");
	ASSERT_TRUE(jestats__points_into(words, sizeof(words), 0x2000, 0x2001), "lo is inclusive");
	ASSERT_FALSE(jestats__points_into(words + 1, 7, 0x7fff00000000, 0x7fff00002000), "partial word ignored");
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
