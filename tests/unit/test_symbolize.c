/* test_symbolize.c - where a sampled stack ends: cut at the first address that is
 * not code in this very process's executable mappings (garbage read through a
 * broken frame pointer chain), whole when the frame pointer walk reaches libc's
 * call of main. The unit tests are built with frame pointers, so the walk below
 * is the kernel's. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include "elf/symbolize.h"
#include "test.h"

/* Return addresses from here to the end of the frame pointer chain (main's
 * caller in libc, which leaves no frame of its own), as bpf_get_stackid walks a
 * user stack: the kernel stops where a read fails, this walk where the next frame
 * is not further up this thread's stack. */
static __attribute__((noinline)) int walk_fp(uint64_t *ips, int max)
{
	uint64_t *fp = __builtin_frame_address(0), *lo = fp;
	int n = 0;

	while (n < max) {
		ips[n++] = fp[1];
		if ((uint64_t *)fp[0] <= fp || (uintptr_t)fp[0] - (uintptr_t)lo > (8u << 20))
			break;
		fp = (uint64_t *)fp[0];
	}
	return n;
}

/* An address in libc's code right after a call rel32 (e8 and a target inside
 * libc's own code), read from this process's own mapping of libc. */
static uint64_t libc_after_direct_call(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512], perms[8], path[256];
	unsigned long long lo, hi;
	uint64_t found = 0;

	while (f && !found && fgets(line, sizeof(line), f)) {
		path[0] = 0;
		if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %255s", &lo, &hi, perms, path) < 3 || perms[2] != 'x' ||
		    !strstr(path, "/libc.so"))
			continue;
		for (const uint8_t *p = (const uint8_t *)(uintptr_t)lo + 4096; (uintptr_t)p + 16 < hi; p++) {
			int32_t rel;

			if (*p != 0xe8)
				continue;
			memcpy(&rel, p + 1, 4);
			if ((uint64_t)(uintptr_t)(p + 5) + (int64_t)rel >= lo && (uint64_t)(uintptr_t)(p + 5) + (int64_t)rel < hi) {
				found = (uint64_t)(uintptr_t)(p + 5);
				break;
			}
		}
	}
	if (f)
		fclose(f);
	return found;
}

TEST(symbolize_stack_end)
{
	struct symbolizer *s = symbolizer__new(getpid());
	uint64_t ips[32], bad[3];
	int local = 0, n, k;
	void *heap = malloc(64);
	char why[80];

	if (!ASSERT_OK_PTR(s, "symbolizer") || !ASSERT_OK_PTR(heap, "malloc"))
		goto cleanup;
	/* a whole stack: every frame is code, the last one libc's call of main */
	n = walk_fp(ips, 32);
	if (!ASSERT_TRUE(n >= 3 && n < 32, "frames walked"))
		goto cleanup;
	for (int i = 0; i < n; i++)
		ASSERT_TRUE(symbolizer__is_code(s, ips[i]), "a return address is code");
	k = symbolizer__stack_end(s, ips, n, 32, why, sizeof(why));
	ASSERT_EQ(k, n, "whole stack kept");
	ASSERT_STREQ(why, "", "not truncated");

	/* garbage after the first frame, as read where rbp held data */
	bad[0] = ips[1];
	ips[1] = 0x4b676f48654b5856ull;
	k = symbolizer__stack_end(s, ips, n, 32, why, sizeof(why));
	ASSERT_EQ(k, 1, "cut at the garbage");
	ASSERT_STREQ(why, "no frame pointers in run_unit", "named after the last frame's object");
	ips[1] = bad[0];

	/* a stack or heap address is data, not code, even though it is mapped */
	bad[0] = ips[0];
	bad[1] = (uint64_t)(uintptr_t)&local;
	bad[2] = ips[2];
	ASSERT_FALSE(symbolizer__is_code(s, bad[1]), "stack address");
	ASSERT_FALSE(symbolizer__is_code(s, (uint64_t)(uintptr_t)heap), "heap address");
	ASSERT_EQ(symbolizer__stack_end(s, bad, 3, 32, why, sizeof(why)), 1, "cut at the stack address");
	bad[1] = (uint64_t)(uintptr_t)heap;
	ASSERT_EQ(symbolizer__stack_end(s, bad, 3, 32, why, sizeof(why)), 1, "cut at the heap address");

	/* code, but not after a call (garbage that happens to point into code): the
	 * first address in walk_fp whose 8 bytes before hold neither 0xe8 nor 0xff,
	 * so no direct or indirect call can end there whatever the compiler laid out
	 * before it (its entry alone was once preceded by "3a e8 ..") */
	{
		const uint8_t *code = (const uint8_t *)(uintptr_t)&walk_fp;
		int at = -1;

		for (int i = 8; i < 4096 && at < 0; i++) {
			int clean = 1;

			for (int k = 1; k <= 8; k++)
				if (code[i - k] == 0xe8 || code[i - k] == 0xff)
					clean = 0;
			if (clean)
				at = i;
		}
		ASSERT_TRUE(at >= 0, "an address in code after no call");
		bad[1] = (uint64_t)(uintptr_t)(code + at);
	}
	ASSERT_TRUE(symbolizer__is_code(s, bad[1]), "a function is code");
	ASSERT_EQ(symbolizer__stack_end(s, bad, 3, 32, why, sizeof(why)), 1, "cut at a function's entry");

	/* nothing usable at all */
	bad[0] = 0xfe00;
	ASSERT_EQ(symbolizer__stack_end(s, bad, 3, 32, why, sizeof(why)), 0, "no frame");
	ASSERT_STREQ(why, "not a return address: 0xfe00", "why");

	/* code all the way, but the walk stopped before libc's start: cut short */
	k = symbolizer__stack_end(s, ips, 1, 32, why, sizeof(why));
	ASSERT_EQ(k, 1, "one frame kept");
	ASSERT_STREQ(why, "no frame pointers in run_unit", "ends outside libc's start");
	/* ends in libc right after a direct call (libc's own code calling malloc,
	 * as opendir does): not a thread's start, cut short */
	bad[0] = ips[0];
	bad[1] = libc_after_direct_call();
	if (ASSERT_NEQ(bad[1], 0, "a direct call in libc's code")) {
		k = symbolizer__stack_end(s, bad, 2, 32, why, sizeof(why));
		ASSERT_EQ(k, 2, "libc return address kept");
		ASSERT_TRUE(!strncmp(why, "no frame pointers in libc", 25), "libc code that is not a start: cut short");
	}
	/* as many frames as the kernel keeps: maybe more */
	k = symbolizer__stack_end(s, ips, 3, 3, why, sizeof(why));
	ASSERT_EQ(k, 3, "three kept");
	ASSERT_STREQ(why, "at the limit of 3 frames", "depth limit");
cleanup:
	free(heap);
	symbolizer__free(s);
}
