/* calib.c - measures what a probe hit costs on this machine. The costs move
 * several-fold between machines of the same kind (PROBING.md), so an estimate of
 * the probes' load on the target is only honest with figures taken here. */
#include <bpf/bpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "trace/calib.h"
#include "util/log.h"
#include "trace/umulti.h"

/* The probed functions: assembly, so their first instruction is known. */
__asm__(".pushsection .text\n"
	".p2align 4\n"
	".globl fs_calib_emulated\n.hidden fs_calib_emulated\n.type fs_calib_emulated, @function\n"
	"fs_calib_emulated:\n\tpush %rbp\n\tpop %rbp\n\tret\n"
	".size fs_calib_emulated, .-fs_calib_emulated\n"
	".p2align 4\n"
	".globl fs_calib_stepped\n.hidden fs_calib_stepped\n.type fs_calib_stepped, @function\n"
	"fs_calib_stepped:\n\tmov %rdi, %rax\n\tret\n"
	".size fs_calib_stepped, .-fs_calib_stepped\n"
	".popsection\n");
void fs_calib_emulated(void);
void fs_calib_stepped(void);

#define BATCHES 5
#define BATCH_NS 500000.0	/* ~0.5 ms a batch: 5 batches x 5 timings, ~15 ms of CPU */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
		(uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec)) * 1000;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median ns per call of fn over BATCHES batches of about BATCH_NS each: the
 * median, because the machine is shared and a batch may be preempted. */
static double per_call(void (*fn)(void))
{
	void (*volatile f)(void) = fn;
	double v[BATCHES];
	uint64_t t0;
	long n = 4;

	t0 = now_ns();
	for (long i = 0; i < n; i++)
		f();
	n = (long)(BATCH_NS / ((double)(now_ns() - t0) / (double)n + 1));
	if (n < 4)
		n = 4;
	if (n > 100000)
		n = 100000;
	for (int b = 0; b < BATCHES; b++) {
		t0 = now_ns();
		for (long i = 0; i < n; i++)
			f();
		v[b] = (double)(now_ns() - t0) / (double)n;
	}
	qsort(v, BATCHES, sizeof(v[0]), cmp_dbl);
	return v[BATCHES / 2];
}

/* The file and offset of one of our own functions, as a uprobe names it. */
static int self_offset(void (*fn)(void), char *path, size_t len, uint64_t *off)
{
	uintptr_t addr = (uintptr_t)fn;
	char line[4352];
	FILE *f = fopen("/proc/self/maps", "re");
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, fo;
		int pos = 0;

		if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %n", &lo, &hi, &fo, &pos) < 3 || !pos)
			continue;
		if (addr < lo || addr >= hi)
			continue;
		line[strcspn(line, "\n")] = 0;
		snprintf(path, len, "%s", line + pos);
		*off = addr - lo + fo;
		r = *path == '/' ? 0 : -ENOENT;
		break;
	}
	fclose(f);
	return r;
}

/* Attaches prog at fn's first instruction (a return probe with ret); the link's
 * fd or -errno. Links are closed together at the end: each close waits for an
 * RCU grace period (~10 ms here). */
static int probe_self(int prog, void (*fn)(void), int ret)
{
	char path[4096];
	uint64_t off;
	int r = self_offset(fn, path, sizeof(path), &off);

	return r ? r : umulti__attach(prog, path, &off, NULL, 1, ret, getpid());
}

static int measure(struct fs_cost_rates *r, char *why, size_t len)
{
	static const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = FS_ATTACH_UPROBE_MULTI);
	double bare_e, bare_s, both = 0;
	uint64_t t0 = now_ns(), c0 = cpu_ns();
	int prog, err = 0, link[3] = { -1, -1, -1 };

	prog = bpf_prog_load(BPF_PROG_TYPE_KPROBE, "fs_calib", "GPL", insns, 2, &o);
	if (prog < 0) {
		snprintf(why, len, "loading an empty program: %s", strerror(errno));
		return -1;
	}
	bare_e = per_call(fs_calib_emulated);
	bare_s = per_call(fs_calib_stepped);
	/* entry on the emulated one; then the stepped one; then a return on the first */
	link[0] = probe_self(prog, fs_calib_emulated, 0);
	if (link[0] >= 0) {
		r->emulated_ns = per_call(fs_calib_emulated) - bare_e;
		link[1] = probe_self(prog, fs_calib_stepped, 0);
	}
	if (link[1] >= 0) {
		r->stepped_ns = per_call(fs_calib_stepped) - bare_s;
		link[2] = probe_self(prog, fs_calib_emulated, 1);
	}
	if (link[2] >= 0)
		both = per_call(fs_calib_emulated) - bare_e;
	for (int i = 0; i < 3; i++) {
		if (link[i] < 0 && !err)
			err = link[i];
		if (link[i] >= 0)
			close(link[i]);
	}
	close(prog);
	if (err) {
		snprintf(why, len, "uprobe_multi on our own code: %s", strerror(-err));
		return -1;
	}
	r->return_ns = both - r->emulated_ns;
	if (r->return_ns < 0)	/* noise: the return trap is never free */
		r->return_ns = 0;
	if (r->emulated_ns <= 0 || r->stepped_ns <= 0) {
		snprintf(why, len, "implausible timings (emulated %.0f ns, single-stepped %.0f ns)", r->emulated_ns,
			 r->stepped_ns);
		return -1;
	}
	r->measured = 1;
	snprintf(r->basis, sizeof(r->basis), "measured here at start: empty programs on fragscope's own code, "
		 "medians of %d batches", BATCHES);
	fs_debug("trap costs measured in %.1f ms (%.1f ms of CPU): emulated %.0f ns, single-stepped %.0f ns, return +%.0f ns",
		 (double)(now_ns() - t0) / 1e6, (double)(cpu_ns() - c0) / 1e6, r->emulated_ns, r->stepped_ns, r->return_ns);
	return 0;
}

const struct fs_cost_rates *calib__rates(void)
{
	static struct fs_cost_rates rates;
	static int done;
	char why[128] = "FRAGSCOPE_NO_CALIBRATION set";
	const char *env = getenv("FRAGSCOPE_NO_CALIBRATION");

	if (done)
		return &rates;
	done = 1;
	if ((env && *env && strcmp(env, "0")) || measure(&rates, why, sizeof(why))) {
		cost__default_rates(&rates);
		fs_debug("trap costs not measured (%s): built-in constants", why);
		snprintf(rates.basis, sizeof(rates.basis), "built-in constants, measured on a 2-vCPU EPYC VM, not measured "
			 "here (%s)", why);
	}
	return &rates;
}

void calib__report_attach(const struct fs_plan *plan, int sys_uprobes, int sampled)
{
	const struct fs_cost_rates *r = calib__rates();
	struct fs_cost_kinds k;
	char line[512];

	cost__kinds(plan, sys_uprobes, &k);
	k.sampled = sampled;
	cost__kinds_line(&k, r, line, sizeof(line));
	fs_err("%s", line);	/* not an error: fs_err is the one unconditional line */
	for (int i = 0; i < plan->nprobes; i++)
		if (cost__stepped_warning(plan, &plan->probes[i], r, line, sizeof(line)))
			fs_warn("%s", line);
}
