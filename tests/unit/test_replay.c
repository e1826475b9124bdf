/* test_replay.c - the replay plan: calls grouped by thread in order, blocks named
 * by ids across address reuse, releases by another thread marked to wait, what is
 * not replayed counted, and the serialized plan checked before use. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "model/replay.h"
#include "test.h"

#define EV(t, ts_, o, sz, p, a) ((struct fs_call_event){ .tid = (t), .ts = (ts_), .op = (o), .size = (sz), .ptr = (p), .arg = (a) })

TEST(replay_plan)
{
	struct fs_call_event ev[] = {
		EV(1, 1000, FS_K_MALLOC, 100, 0xa0, 0),		/* block 1 */
		EV(1, 2000, FS_K_CALLOC, 200, 0xb0, 0),		/* block 2 */
		EV(2, 2500, FS_K_FREE, 0, 0xa0, 0),		/* thread 2 frees block 1: waits */
		EV(1, 3000, FS_K_MALLOC, 300, 0xa0, 0),		/* address reused: block 3 */
		EV(1, 5003000, FS_K_REALLOC, 400, 0xc0, 0xa0),	/* block 3 -> block 4, after 5 ms idle */
		EV(2, 5004000, FS_K_FREE, 0, 0xdead, 0),	/* allocated before the trace */
		EV(2, 5005000, FS_K_MALLOC, 1 << 20, 0, 0),	/* failed */
		EV(2, 5006000, FS_OP_SYS + FS_S_MADVISE, 4096, 0x7000, 4),
		EV(1, 5007000, FS_K_REALLOC, 0, 0, 0xc0),	/* realloc(p, 0): frees block 4 */
		EV(2, 5008000, FS_K_POSIX_MEMALIGN, 64, 0xe0, 0),	/* block 5, aligned */
	};
	struct rp_plan p, v;
	char err[128] = "";
	void *buf = NULL;

	ev[6].flags = FS_CF_FAILED;
	ev[9].align_lg = 6;
	if (!ASSERT_OK(rp__build(ev, sizeof(ev) / sizeof(ev[0]), NULL, 0, &p, err, sizeof(err)), err))
		return;
	ASSERT_EQ(p.nthreads, 2, "threads");
	ASSERT_EQ(p.nblocks, 5, "blocks");
	ASSERT_EQ(p.nops, 7, "ops replayed");
	ASSERT_EQ(p.skip.unknown_frees, 1, "free of a block from before");
	ASSERT_EQ(p.skip.failed, 1, "failed call");
	ASSERT_EQ(p.skip.syscalls, 1, "own madvise");
	ASSERT_EQ(p.skip.reused, 0, "no lost free");
	ASSERT_EQ(p.live_count, 2, "live at the end: blocks 2 and 5");
	ASSERT_EQ(p.live_bytes, 264, "their bytes");
	ASSERT_EQ(p.span_ns, 5007000, "span");
	if (ASSERT_EQ(p.th[0].n, 5, "thread 1's ops") && ASSERT_EQ(p.th[1].n, 2, "thread 2's ops")) {
		const struct rp_op *t1 = &p.ops[p.th[0].first], *t2 = &p.ops[p.th[1].first];

		ASSERT_EQ(t1[0].kind, RP_MALLOC, "malloc");
		ASSERT_EQ(t1[1].kind, RP_CALLOC, "calloc");
		ASSERT_EQ(t1[2].id, 3, "reused address, new block");
		ASSERT_EQ(t1[3].kind, RP_REALLOC, "realloc");
		ASSERT_EQ(t1[3].old, 3, "of block 3");
		ASSERT_EQ(t1[3].id, 4, "into block 4");
		ASSERT_EQ(t1[3].gap_ns, 5000000, "the idle gap");
		ASSERT_EQ(t1[3].at_ns, 5002000, "its time");
		ASSERT_EQ(t1[4].kind, RP_FREE, "realloc(p, 0) frees");
		ASSERT_EQ(t1[4].old, 4, "block 4");
		ASSERT_EQ(t1[4].flags, 0, "same thread: no wait");
		ASSERT_EQ(t2[0].kind, RP_FREE, "cross-thread free");
		ASSERT_EQ(t2[0].old, 1, "block 1, not block 3 at the same address");
		ASSERT_EQ(t2[0].flags, RP_WAIT, "waits for its allocation");
		ASSERT_EQ(t2[1].kind, RP_ALIGNED, "aligned");
		ASSERT_EQ(t2[1].align_lg, 6, "64 bytes");
	}
	buf = malloc(rp__size(&p));
	if (ASSERT_OK_PTR(buf, "malloc")) {
		rp__serialize(&p, buf);
		ASSERT_OK(rp__view(buf, rp__size(&p), &v), "view");
		ASSERT_EQ(v.nops, 7, "viewed ops");
		ASSERT_EQ(memcmp(v.ops, p.ops, 7 * sizeof(*v.ops)), 0, "same ops");
		ASSERT_EQ(rp__view(buf, rp__size(&p) - 1, &v), -EINVAL, "short buffer refused");
		((struct rp_op *)((char *)buf + rp__size(&p)) - 1)->old = 99;
		ASSERT_EQ(rp__view(buf, rp__size(&p), &v), -EINVAL, "block id out of range refused");
	}
	free(buf);
	rp__free(&p);
}

TEST(replay_lost_free)
{
	/* the free of 0xa0 was lost: its address comes back while the trace thinks it live */
	struct fs_call_event ev[] = {
		EV(1, 1, FS_K_MALLOC, 10, 0xa0, 0),
		EV(1, 2, FS_K_MALLOC, 20, 0xa0, 0),
		EV(1, 3, FS_K_FREE, 0, 0xa0, 0),
	};
	struct rp_plan p;
	char err[128] = "";

	if (!ASSERT_OK(rp__build(ev, 3, NULL, 0, &p, err, sizeof(err)), err))
		return;
	ASSERT_EQ(p.skip.reused, 1, "counted");
	ASSERT_EQ(p.ops[2].old, 2, "the free releases the newer block");
	ASSERT_EQ(p.live_count, 1, "the older one stays allocated in the replay");
	rp__free(&p);
}

TEST(replay_before_trace)
{
	/* two blocks from before attach; the trace frees one, from another thread */
	uint64_t pre[] = { 0x1010, 48, 0x2010, 4112 };
	struct fs_call_event ev[] = {
		EV(7, 10, FS_K_FREE, 0, 0x2010, 0),
		EV(7, 20, FS_K_FREE, 0, 0x3010, 0),
	};
	struct rp_plan p;
	char err[128] = "";

	if (!ASSERT_OK(rp__build(ev, 2, pre, 2, &p, err, sizeof(err)), err))
		return;
	ASSERT_EQ(p.npre, 2, "blocks before");
	ASSERT_EQ(p.pre_freed, 1, "one released in the trace");
	ASSERT_EQ(p.skip.unknown_frees, 1, "the other release: unknown");
	ASSERT_EQ(p.nthreads, 2, "the thread and the pre-allocation");
	ASSERT_EQ(p.th[1].tid, RP_PRE_TID, "pre-allocation last");
	ASSERT_EQ(p.th[1].n, 2, "two blocks");
	ASSERT_EQ(p.ops[p.th[1].first + 1].size, 4096, "chunk size - 16");
	ASSERT_EQ(p.ops[p.th[0].first].old, 2, "the free releases pre-block 2");
	ASSERT_EQ(p.ops[p.th[0].first].flags, 0, "allocated before any thread starts: no wait");
	ASSERT_EQ(p.live_count, 1, "one left");
	ASSERT_EQ(p.live_bytes, 32, "its bytes");
	rp__free(&p);
}

TEST(replay_own_madvise)
{
	/* a 1 MiB block, the program's madvise of 64 KiB inside it (replayed), one of its
	 * own mapping and a munmap (not: the replay does not map them) */
	struct fs_call_event ev[] = {
		EV(1, 1, FS_K_MALLOC, 1 << 20, 0x100010, 0),
		EV(2, 2, FS_OP_SYS + FS_S_MADVISE, 1 << 16, 0x102000, 4),
		EV(1, 3, FS_OP_SYS + FS_S_MADVISE, 4096, 0x900000, 4),
		EV(1, 4, FS_OP_SYS + FS_S_MUNMAP, 4096, 0x900000, 0),
		EV(1, 5, FS_OP_SYS + FS_S_MADVISE, 1 << 20, 0x1ff000, 8),	/* runs past the block's end */
	};
	struct rp_plan p;
	char err[128] = "";

	if (!ASSERT_OK(rp__build(ev, 5, NULL, 0, &p, err, sizeof(err)), err))
		return;
	ASSERT_EQ(p.madvised, 2, "two inside the block");
	ASSERT_EQ(p.skip.syscalls, 2, "own mapping's madvise and munmap");
	if (ASSERT_EQ(p.nthreads, 2, "threads") && ASSERT_EQ(p.th[1].n, 1, "thread 2's madvise")) {
		const struct rp_op *m = &p.ops[p.th[1].first], *m2 = &p.ops[p.th[0].first + 1];

		ASSERT_EQ(m->kind, RP_MADVISE, "madvise");
		ASSERT_EQ(m->ref, 1, "in block 1");
		ASSERT_EQ(m->off, 0x1ff0, "at its offset");
		ASSERT_EQ(m->size, 1 << 16, "its length");
		ASSERT_EQ(m->align_lg, 4, "MADV_DONTNEED");
		ASSERT_EQ(m->flags, RP_WAIT, "another thread's block: waits for it");
		ASSERT_EQ(m2->size, (1 << 20) - 0xfeff0, "clamped to the block");
		ASSERT_EQ(m2->old, 0, "releases nothing");
	}
	ASSERT_EQ(p.live_count, 1, "the block stays");
	rp__free(&p);
}
