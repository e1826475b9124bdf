/* test_cost.c - the probes' cost: kinds counted from a plan, hot functions, and the
 * estimate's arithmetic on counts whose answer is worked out by hand. */
#include <errno.h>
#include <string.h>
#include "model/cost.h"
#include "test.h"

static void probe(struct fs_plan *pl, const char *name, unsigned kind, int emulated)
{
	struct fs_probe *p = &pl->probes[pl->nprobes++];

	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->path, sizeof(p->path), "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2");
	p->kind = kind;
	p->emulated = emulated;
}

static void rates(struct fs_cost_rates *r)
{
	memset(r, 0, sizeof(*r));
	r->emulated_ns = 1000;
	r->stepped_ns = 10000;
	r->return_ns = 500;
	r->measured = 1;
}

TEST(cost_kinds_and_hot)
{
	static struct fs_plan pl;
	struct fs_cost_kinds k;

	memset(&pl, 0, sizeof(pl));
	snprintf(pl.prefix, sizeof(pl.prefix), "je_");
	probe(&pl, "je_malloc", FS_K_MALLOC, 1);
	probe(&pl, "je_free", FS_K_FREE, 0);
	probe(&pl, "je_calloc", FS_K_CALLOC, 1);
	probe(&pl, "_ZnwmRKSt9nothrow_t", FS_K_MALLOC, 0);
	pl.nsys = FS_S__COUNT;
	for (int i = 0; i < FS_S__COUNT; i++) {
		pl.sys[i].kind = (uint32_t)i;
		pl.sys[i].emulated = i != FS_S_MMAP;
	}
	cost__kinds(&pl, 0, &k);
	ASSERT_EQ(k.funcs, 4, "functions");
	ASSERT_EQ(k.emulated, 2, "emulated");
	ASSERT_EQ(k.stepped, 2, "single-stepped");
	ASSERT_EQ(k.returns, 3, "all but the free have a return probe");
	ASSERT_EQ(k.sys, 0, "wrappers not probed (tracepoints)");
	cost__kinds(&pl, 1, &k);
	ASSERT_EQ(k.sys, FS_S__COUNT, "wrappers");
	ASSERT_EQ(k.sys_stepped, 1, "mmap single-stepped");

	ASSERT_TRUE(cost__hot("je_free", "je_"), "prefixed free");
	ASSERT_TRUE(cost__hot("free", ""), "free");
	ASSERT_TRUE(cost__hot("_ZdlPvm", ""), "sized delete");
	ASSERT_TRUE(cost__hot("sdallocx", NULL), "sdallocx");
	ASSERT_FALSE(cost__hot("_ZnwmRKSt9nothrow_t", ""), "nothrow new is rare");
	ASSERT_FALSE(cost__hot("posix_memalign", ""), "posix_memalign");
	ASSERT_FALSE(cost__hot("freedom", ""), "a prefix of a name is not the name");
}

TEST(cost_warning_names_function_and_cost)
{
	static struct fs_plan pl;
	struct fs_cost_rates r;
	char buf[256];

	memset(&pl, 0, sizeof(pl));
	rates(&r);
	probe(&pl, "free", FS_K_FREE, 0);
	probe(&pl, "malloc", FS_K_MALLOC, 1);
	probe(&pl, "_ZnwmRKSt9nothrow_t", FS_K_MALLOC, 0);
	ASSERT_TRUE(cost__stepped_warning(&pl, &pl.probes[0], &r, buf, sizeof(buf)), "free single-stepped");
	ASSERT_HAS_STR(buf, "free in libjemalloc.so.2", "names the function and object");
	ASSERT_HAS_STR(buf, "~10.0 us instead of ~1.0 us (10x, measured here)", "the cost difference");
	ASSERT_FALSE(cost__stepped_warning(&pl, &pl.probes[1], &r, buf, sizeof(buf)), "malloc emulated");
	ASSERT_FALSE(cost__stepped_warning(&pl, &pl.probes[2], &r, buf, sizeof(buf)), "not hot");
}

TEST(cost_estimate_arithmetic)
{
	static struct fs_plan pl;
	static struct fs_snapshot s;
	struct fs_cost_rates r;
	struct fs_cost_est e;
	char buf[384];

	memset(&pl, 0, sizeof(pl));
	memset(&s, 0, sizeof(s));
	rates(&r);
	probe(&pl, "malloc", FS_K_MALLOC, 1);	/* 1000 + 500 a call */
	probe(&pl, "free", FS_K_FREE, 0);	/* 10000 a call */
	probe(&pl, "calloc", FS_K_CALLOC, 0);	/* 10000 + 500 */
	pl.nsys = FS_S__COUNT;
	for (int i = 0; i < FS_S__COUNT; i++) {
		pl.sys[i].kind = (uint32_t)i;
		pl.sys[i].emulated = 1;		/* 1000 + 500 */
	}
	s.nfuncs = 3;
	s.f[0].calls = 4000;
	s.f[1].calls = 3000;
	s.f[2].calls = 1000;
	s.k.sys[FS_S_MMAP].calls = 1000;
	s.c[FS_C_NESTED] = 500;
	s.c[FS_C_FREES_INTERNAL] = 500;

	ASSERT_EQ(cost__call_ns(&pl.probes[0], &r), 1500.0, "emulated entry + return");
	ASSERT_EQ(cost__call_ns(&pl.probes[1], &r), 10000.0, "single-stepped entry, no return");

	/* without the wrappers: 4000*1500 + 3000*10000 + 1000*10500 = 46.5e6 ns for
	 * 8000 calls (mean 5812.5), + 1000 other hits at the mean = 52.3125e6 ns over 2 s */
	ASSERT_OK(cost__estimate(&pl, &s, 0, 2.0, &r, &e), "estimate");
	ASSERT_EQ(e.calls, 8000, "calls");
	ASSERT_EQ(e.other_hits, 1000, "nested + internal hits");
	ASSERT_EQ(e.mean_ns, 5812.5, "mean");
	ASSERT_EQ(e.busy_ns, 52312500.0, "busy");
	ASSERT_EQ(e.calls_per_s, 4500.0, "calls/s");
	ASSERT_TRUE(e.cpu_fraction > 0.026156 && e.cpu_fraction < 0.026157, "fraction 0.02615625");

	/* with them: + 1000 mmap calls * 1500 = 48e6 for 9000 calls, + 1000 other hits
	 * at 5333.3: 53.33e6 ns over 2 s, 2.67% */
	ASSERT_OK(cost__estimate(&pl, &s, 1, 2.0, &r, &e), "estimate with wrappers");
	ASSERT_EQ(e.calls, 9000, "calls with mmap");
	ASSERT_EQ(e.busy_ns, 48e6 + 1000 * (48e6 / 9000), "busy with wrappers");
	ASSERT_EQ(e.calls_per_s, 5000.0, "calls/s with wrappers");

	cost__line(&e, &r, buf, sizeof(buf));
	ASSERT_HAS_STR(buf, "probes cost the target about 2.7% of a CPU (estimate: 5,000 probed calls/s x ~5.3 us a call",
		       "the line");
	ASSERT_HAS_STR(buf, "measured on this machine", "basis");

	e.calls_per_s = 1234567.8;
	cost__line(&e, &r, buf, sizeof(buf));
	ASSERT_HAS_STR(buf, "(estimate: 1,234,568 probed calls/s", "grouped");
	e.calls_per_s = 999;
	cost__line(&e, &r, buf, sizeof(buf));
	ASSERT_HAS_STR(buf, "(estimate: 999 probed calls/s", "under a thousand");

	ASSERT_EQ(cost__estimate(&pl, &s, 0, 0, &r, &e), -EINVAL, "no interval");
	memset(&s, 0, sizeof(s));
	ASSERT_OK(cost__estimate(&pl, &s, 1, 1.0, &r, &e), "nothing called");
	ASSERT_EQ(e.cpu_fraction, 0.0, "no calls, no cost");
}

TEST(cost_percent)
{
	char b[16];

	ASSERT_STREQ(cost__percent(0.0004, b, sizeof(b)), "<0.1%", "tiny");
	ASSERT_STREQ(cost__percent(0.0321, b, sizeof(b)), "3.2%", "small");
	ASSERT_STREQ(cost__percent(0.456, b, sizeof(b)), "46%", "large");
	ASSERT_STREQ(cost__percent(1.5, b, sizeof(b)), "150%", "beyond one CPU (threads)");
}

TEST(cost_kinds_line)
{
	struct fs_cost_kinds k = { .funcs = 34, .emulated = 33, .stepped = 1, .returns = 18 };
	struct fs_cost_rates r;
	char buf[512];

	rates(&r);
	cost__kinds_line(&k, &r, buf, sizeof(buf));
	ASSERT_STREQ(buf, "probes: 34 functions, 33 at an emulated instruction (~1.0 us a hit), 1 single-stepped "
		     "(~10.0 us); 18 with a return probe (+500 ns) [measured here]", "line");
	cost__default_rates(&r);
	ASSERT_FALSE(r.measured, "constants");
	cost__kinds_line(&k, &r, buf, sizeof(buf));
	ASSERT_HAS_STR(buf, "(~700 ns a hit), 1 single-stepped (~9.3 us)", "PROBING.md's figures");
	ASSERT_HAS_STR(buf, "[not measured here: built-in constants]", "labelled");
	/* light mode: no allocator function, only the memory-syscall wrappers */
	rates(&r);
	k = (struct fs_cost_kinds){ .sys = 6, .sys_stepped = 1 };
	cost__kinds_line(&k, &r, buf, sizeof(buf));
	ASSERT_STREQ(buf, "probes: no allocator function (a trap costs ~1.0 us here); 6 memory-syscall wrappers "
		     "(entry and return, some single-stepped) [measured here]", "light");
	/* sampled mode: the return half runs for sampled calls only */
	k = (struct fs_cost_kinds){ .funcs = 10, .emulated = 10, .returns = 9, .sampled = 1 };
	cost__kinds_line(&k, &r, buf, sizeof(buf));
	ASSERT_HAS_STR(buf, "; 9 with a return probe (+500 ns for sampled calls only)", "sampled");
}
