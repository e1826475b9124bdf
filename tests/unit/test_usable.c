/* test_usable.c - jemalloc's usable sizes as the BPF programs compute them
 * (fs_je_s2u, fs_je_sa2u in bpf/fragscope.h), against the size classes written
 * out from jemalloc's documented rule (jemalloc(3), "Size classes"): 8, then 16 to
 * 64 by 16, then four classes per doubling; and the slot packing. */
#include <string.h>
#include "test.h"
#include "model/agg.h"

/* The smallest documented class >= n (n <= 2^40). */
static uint64_t class_of(uint64_t n)
{
	static const uint64_t first[] = { 8, 16, 32, 48, 64 };

	for (size_t i = 0; i < sizeof(first) / sizeof(first[0]); i++)
		if (n <= first[i])
			return first[i];
	for (uint64_t base = 64;; base *= 2)
		for (uint64_t k = 1; k <= 4; k++)
			if (n <= base + k * base / 4)
				return base + k * base / 4;
}

TEST(je_s2u_every_size_to_2mib)
{
	uint64_t bad = 0;

	ASSERT_EQ(fs_je_s2u(0), 8, "malloc(0) takes the tiny class");
	for (uint64_t n = 1; n <= (2u << 20); n++)
		if (fs_je_s2u(n) != class_of(n) && !bad++)
			ASSERT_EQ(fs_je_s2u(n), class_of(n), "first size that differs");
	ASSERT_EQ(bad, 0, "sizes whose class differs");
}

TEST(je_s2u_large)
{
	/* the small classes end at 14 KiB, the large begin at 16 KiB, same rule on */
	ASSERT_EQ(fs_je_s2u(14336), 14336, "largest small class");
	ASSERT_EQ(fs_je_s2u(14337), 16384, "smallest large class");
	ASSERT_EQ(fs_je_s2u((40u << 20) + 1), 48u << 20, "40 MiB + 1");
	ASSERT_EQ(fs_je_s2u((128u << 20) + 1), 160u << 20, "128 MiB + 1");
	ASSERT_EQ(fs_je_s2u((1ull << 30) + 1), (1ull << 30) + (1ull << 28), "1 GiB + 1");
	for (int lg = 21; lg < 40; lg++)
		for (uint64_t d = 0; d < 3; d++) {
			uint64_t n = (1ull << lg) + d * 12345;

			if (!ASSERT_EQ(fs_je_s2u(n), class_of(n), "large size"))
				return;
		}
	ASSERT_EQ(fs_je_s2u(FS_JE_LARGE_MAXCLASS + 1), 0, "beyond the largest class");
}

TEST(je_sa2u)
{
	ASSERT_EQ(fs_je_sa2u(100, 0), 112, "no alignment: the class");
	ASSERT_EQ(fs_je_sa2u(100, 1), 112, "alignment 1: the class");
	ASSERT_EQ(fs_je_sa2u(24, 256), 256, "memalign(256, 24): the size rounded to 256 first");
	ASSERT_EQ(fs_je_sa2u(0, 256), 8, "memalign(256, 0): 0 rounds to 0");
	ASSERT_EQ(fs_je_sa2u(1, 256), 256, "posix_memalign(256, 0) is sized as 1");
	ASSERT_EQ(fs_je_sa2u(72, 64), 128, "aligned_alloc(64, 72)");
	ASSERT_EQ(fs_je_sa2u(100, 4096), 4096, "valloc(100)");
	ASSERT_EQ(fs_je_sa2u(5000, 4096), 8192, "valloc(5000)");
	ASSERT_EQ(fs_je_sa2u(12000, 4096), 12288, "a small class still");
	ASSERT_EQ(fs_je_sa2u(13000, 4096), 16384, "rounded past the small classes: the smallest large");
	ASSERT_EQ(fs_je_sa2u(8192, 8192), 16384, "alignment above a page: a large class");
	ASSERT_EQ(fs_je_sa2u(20000, 64), 20480, "large: the class, alignment from the mapping");
	ASSERT_EQ(fs_je_sa2u(100, 3), 0, "not a power of two");
}

TEST(slot_packing)
{
	uint64_t v = FS_SLOT_PACK(1000ull, 1008ull);

	ASSERT_EQ(FS_SLOT_SIZE(v), 1000, "size back");
	ASSERT_EQ(FS_SLOT_SLACK(v), 8, "usable - size back");
	ASSERT_TRUE(FS_SLOT_FITS(24ull, 24ull), "no slack");
	ASSERT_TRUE(FS_SLOT_FITS((1ull << 40) - 1, (1ull << 40) - 1 + (1ull << 24) - 1), "both at their limits");
	ASSERT_FALSE(FS_SLOT_FITS(1ull << 40, 1ull << 40), "size too big: the overflow hash");
	ASSERT_FALSE(FS_SLOT_FITS((128ull << 20) + 1, 160ull << 20), "32 MiB of slack: the overflow hash");
	ASSERT_FALSE(FS_SLOT_FITS(100ull, 99ull), "usable below size never packs");
	v = FS_SLOT_PACK((1ull << 40) - 1, (1ull << 40) - 1 + (1ull << 24) - 1);
	ASSERT_EQ(FS_SLOT_SIZE(v), (1ull << 40) - 1, "size at its limit");
	ASSERT_EQ(FS_SLOT_SLACK(v), (1ull << 24) - 1, "slack at its limit");
}

TEST(agg_live_usable)
{
	struct fs_snapshot s;

	memset(&s, 0, sizeof(s));
	s.c[FS_C_TRACKED_USABLE] = 5000;
	s.c[FS_C_TRACKED_FREE_USABLE] = 1200;
	ASSERT_EQ(agg__live_usable(&s), 3800, "usable gained - usable lost");
	ASSERT_TRUE(agg__usable_exact(&s), "exact");
	s.c[FS_C_USABLE_UNKNOWN] = 1;
	ASSERT_FALSE(agg__usable_exact(&s), "a block whose usable size was not read");
	s.c[FS_C_USABLE_UNKNOWN] = 0;
	s.c[FS_C_UNTRACKED] = 1;
	ASSERT_FALSE(agg__usable_exact(&s), "an untracked block");
}
