/* tracer.c - libbpf side: skeleton, uprobe attachment with cookies, map reads. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "fragscope.skel.h"
#include "fragscope_atomic.skel.h"

/* The two objects are built from one source and differ only in code: their
 * skeletons have the same layout, and the tracer uses either as fragscope_bpf. */
_Static_assert(sizeof(struct fragscope_bpf) == sizeof(struct fragscope_atomic_bpf), "skeletons differ");
_Static_assert(sizeof(*((struct fragscope_bpf *)0)->rodata) == sizeof(*((struct fragscope_atomic_bpf *)0)->rodata),
	       "rodata differs");
_Static_assert(sizeof(*((struct fragscope_bpf *)0)->bss) == sizeof(*((struct fragscope_atomic_bpf *)0)->bss),
	       "bss differs");
_Static_assert(offsetof(struct fragscope_bpf, rodata) == offsetof(struct fragscope_atomic_bpf, rodata) &&
	       offsetof(struct fragscope_bpf, bss) == offsetof(struct fragscope_atomic_bpf, bss) &&
	       offsetof(struct fragscope_bpf, progs) == offsetof(struct fragscope_atomic_bpf, progs) &&
	       offsetof(struct fragscope_bpf, maps) == offsetof(struct fragscope_atomic_bpf, maps),
	       "skeleton layouts differ");
#include "util/log.h"
#include "model/mapset.h"
#include "model/procmem.h"
#include "model/sampled.h"
#include "trace/tracer.h"
#include "trace/umulti.h"

struct tracer {
	struct fragscope_bpf *skel;
	struct bpf_link *links[FS_MAX_FUNCS * 2 + FS_S__COUNT * 2 + 4];
	int nlinks;
	int multi;		/* programs loaded for uprobe_multi links */
	int atomic;		/* the object with atomic adds (no bpf_preempt_disable) */
	int mfds[FS_MAX_FUNCS * 2 + 2];	/* uprobe_multi link fds, in attach order */
	int mentry[FS_MAX_FUNCS * 2 + 2];	/* that link is of entry probes */
	int nmfds;
	int nfuncs;
	uint32_t nbuckets;	/* of the live-block table */
	int sys_uprobes;	/* memory syscalls seen at libc's wrappers, not tracepoints */
	int ncpu;
	pid_t pid;
	void *buf;	/* per-CPU read buffer, sized for the largest value */
	struct ring_buffer *map_rb;	/* the address ledger's events */
	struct fs_mapset *drain_to;	/* where tracer__drain_maps applies them */
	uint64_t maps_dropped;		/* events read but not applied (no memory) */
	uint64_t page;
	int sampled;		/* --mode sampled: session programs on the allocating functions */
	/* --window: the session links are attached on_ns of every period_ns by a thread */
	const struct fs_plan *plan;
	uint64_t win_on_ns, win_period_ns;
	pthread_t win_th;
	int win_started;
	pthread_mutex_t win_mu;
	pthread_cond_t win_cv;
	int win_stop;
	int win_attached;		/* the session links are attached now */
	uint64_t win_t0, win_since, win_on_total;	/* attach time; this window's start; on so far */
	uint64_t win_windows;		/* windows closed */
	/* the target's user CPU time (its own work, which the traps do not slow): at
	 * attach, at this window's start, in windows so far */
	uint64_t win_u0, win_usince, win_uon;
	uint64_t win_ulast;		/* the last reading (a process gone reads 0: this stays) */
	char win_err[160];		/* why a window could not open (the target went away) */
	int trace_calls;	/* record --trace */
};

/* The process's user CPU time in ns (all threads, /proc/PID/stat utime), 0 unread. */
static uint64_t user_ns(pid_t pid)
{
	unsigned long long ut = 0;

	if (procmem__stat_field(pid, 14, &ut))
		return 0;
	return (uint64_t)(ut * (1e9 / (double)sysconf(_SC_CLK_TCK)));
}

/* The target's user CPU time, never going back (callers hold win_mu or are alone). */
static uint64_t user_now(struct tracer *t)
{
	uint64_t u = user_ns(t->pid);

	if (u > t->win_ulast)
		t->win_ulast = u;
	return t->win_ulast;
}

static uint64_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int print_libbpf(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	if (fs_verbose < 3 && lvl != LIBBPF_WARN)
		return 0;
	if (fs_verbose < 2 && lvl == LIBBPF_WARN)
		return 0;	/* failures are reported by us, in one line */
	return vfprintf(stderr, fmt, ap);
}

/* Whether the running kernel's BTF has a function of that name. */
static int kernel_has_func(const char *name)
{
	struct btf *btf = btf__load_vmlinux_btf();
	int r = btf && btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) > 0;

	btf__free(btf);
	return r;
}

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

/* The kernel rounds every length up to whole pages. */
static uint64_t pages_of(const struct tracer *t, uint64_t len)
{
	return len + t->page - 1 < len ? len : (len + t->page - 1) & ~(t->page - 1);
}

static int on_map_event(void *ctx, void *data, size_t size)
{
	struct tracer *t = ctx;
	const struct fs_map_event *e = data;
	struct fs_mapset *ms = t->drain_to;
	uint64_t len;
	int r = -EINVAL;

	if (size < sizeof(*e) || !ms) {
		t->maps_dropped++;
		return 0;
	}
	len = pages_of(t, e->len);
	switch (e->kind) {
	case FS_E_MAP:
		/* without MAP_FIXED the kernel only maps free space */
		if (!(e->flags & MAP_FIXED) && mapset__any(ms, e->addr, e->addr + len))
			ms->conflicts++;
		r = mapset__map(ms, e->addr, len, e->owner);
		break;
	case FS_E_UNMAP:
		r = mapset__unmap(ms, e->addr, len);
		break;
	case FS_E_REMAP: {
		uint64_t nlen = pages_of(t, e->new_len), from = e->new_addr == e->addr ? e->addr + len : e->new_addr;

		/* grown in place, or moved without MREMAP_FIXED: onto free space only */
		if (!(e->flags & MREMAP_FIXED) && from < e->new_addr + nlen && mapset__any(ms, from, e->new_addr + nlen))
			ms->conflicts++;
		/* old_size 0 duplicates a shared mapping: the old one stays too */
		r = mapset__remap(ms, e->addr, len, e->new_addr, pages_of(t, e->new_len), e->owner,
				  (e->flags & MREMAP_DONTUNMAP) || !e->len);
		break;
	}
	case FS_E_RELEASE:
		r = mapset__fill(ms, e->addr, len, e->owner);
		break;
	}
	if (r)
		t->maps_dropped++;
	else
		ms->events++;
	return 0;	/* go on: a bad event is counted, not a reason to stop */
}

/* log2 of the live-block table's buckets for room for want blocks: one bucket (two
 * slots) per 8 blocks, at least 2^10, at most 2^27. */
static uint32_t bucket_bits_for(uint32_t want)
{
	uint32_t bits = 10;

	while (bits < 28 && (1u << bits) < want / 8)
		bits++;
	return bits;
}

static uint64_t meminfo_kib(const char *key)
{
	char line[128];
	uint64_t v = 0;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/meminfo", "re");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':') {
			v = strtoull(line + n + 1, NULL, 10);
			break;
		}
	if (f)
		fclose(f);
	return v;
}

/* The live-block maps for want blocks, checked before anything is created (the
 * kernel takes tens of seconds to allocate and clear gigabytes, then may refuse):
 * - the overflow hash: the kernel rounds its buckets up to a power of 2 of 16-byte
 *   heads that must fit in 4 GiB (htab_map_alloc: -E2BIG past 2^27 entries);
 * - both maps are preallocated kernel memory, charged when they are created (to the
 *   memory cgroup since Linux 5.11, not RLIMIT_MEMLOCK, which libbpf raises where it
 *   still applies): the table's buckets (64 bytes each, vmalloc'ed whole for mmap),
 *   and per hash entry an element (48-byte header, 8-byte key, the fs_block value)
 *   and its share of the bucket heads, plus one spare element per CPU. More than
 *   half of MemAvailable is refused: the target and the machine need the rest.
 * Called when --max-live is parsed and again here. 0, or -E2BIG / -ENOMEM with err set. */
int tracer__check_max_live(uint32_t want, char *err, size_t errlen)
{
	int ncpu = libbpf_num_possible_cpus();

	const uint64_t hash_max = 1ULL << 27, elem = 48 + 8 + ((sizeof(struct fs_block) + 7) & ~7ULL);
	uint64_t heads = 1, pinned, avail;

	if (want > hash_max) {
		snprintf(err, errlen, "--max-live %u: the kernel's hash map holds at most %llu entries", want,
			 (unsigned long long)hash_max);
		return -E2BIG;
	}
	while (heads < want)
		heads <<= 1;
	pinned = (64ULL << bucket_bits_for(want)) + heads * 16 + (want + (uint64_t)(ncpu > 0 ? ncpu : 1)) * elem;
	avail = meminfo_kib("MemAvailable") * 1024;
	if (avail && pinned > avail / 2) {
		snprintf(err, errlen, "--max-live %u: its maps would pin %.1f GiB of kernel memory, more than half of "
			 "MemAvailable (%.1f GiB)", want, (double)pinned / (1 << 30), (double)avail / (1 << 30));
		return -ENOMEM;
	}
	return 0;
}

struct tracer *tracer__new(const struct tracer_opts *opts, char *err, size_t errlen)
{
	struct tracer *t = calloc(1, sizeof(*t));
	int r;

	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	libbpf_set_print(print_libbpf);
	t->pid = opts->pid;
	t->ncpu = libbpf_num_possible_cpus();
	if (t->ncpu <= 0) {
		snprintf(err, errlen, "cannot count possible CPUs: %s", strerror(-t->ncpu));
		goto fail;
	}
	if (tracer__check_max_live(opts->max_live ? opts->max_live : 1 << 20, err, errlen))
		goto fail;
	t->buf = calloc((size_t)t->ncpu, sizeof(struct fs_kstats) + 8 * (FS_H__COUNT * FS_HIST_BUCKETS + FS_C__COUNT + 8));
	t->multi = !getenv("FRAGSCOPE_NO_UPROBE_MULTI");
	/* Plain adds under bpf_preempt_disable (Linux 6.10+), else atomic adds. */
	{
		/* asked once: the kernel's BTF is megabytes to parse, and every process
		 * followed gets a tracer */
		static int has_preempt = -1;

		if (has_preempt < 0)
			has_preempt = kernel_has_func("bpf_preempt_disable");
		t->atomic = getenv("FRAGSCOPE_ATOMIC_ADDS") || !has_preempt;
	}
	if (t->atomic)
		fs_info("counters: atomic adds (%s)", getenv("FRAGSCOPE_ATOMIC_ADDS") ? "FRAGSCOPE_ATOMIC_ADDS"
			: "the kernel has no bpf_preempt_disable");
	t->sampled = opts->sampled;
	if (t->sampled)
		t->multi = 1;	/* sessions are uprobe_multi links */
	if (t->sampled && opts->window_on_ns && opts->window_period_ns > opts->window_on_ns) {
		t->win_on_ns = opts->window_on_ns;
		t->win_period_ns = opts->window_period_ns;
	}
	pthread_mutex_init(&t->win_mu, NULL);
	pthread_cond_init(&t->win_cv, NULL);
again:
	t->skel = t->atomic ? (struct fragscope_bpf *)fragscope_atomic_bpf__open() : fragscope_bpf__open();
	if (!t->skel || !t->buf) {
		snprintf(err, errlen, "open BPF object: %s", strerror(errno));
		goto fail;
	}
	if (t->multi) {
		bpf_program__set_expected_attach_type(t->skel->progs.alloc_enter, FS_ATTACH_UPROBE_MULTI);
		bpf_program__set_expected_attach_type(t->skel->progs.alloc_exit, FS_ATTACH_UPROBE_MULTI);
		bpf_program__set_expected_attach_type(t->skel->progs.free_enter, FS_ATTACH_UPROBE_MULTI);
		bpf_program__set_expected_attach_type(t->skel->progs.sysw_enter, FS_ATTACH_UPROBE_MULTI);
		bpf_program__set_expected_attach_type(t->skel->progs.sysw_exit, FS_ATTACH_UPROBE_MULTI);
	}
	/* Sampled mode: a session program on the allocating functions, entry probes on
	 * the releasing ones; exact mode: entry and return programs. */
	bpf_program__set_autoload(t->skel->progs.alloc_session, t->sampled);
	bpf_program__set_autoload(t->skel->progs.free_sampled, t->sampled);
	if (t->sampled) {
		const char *ty = getenv("FRAGSCOPE_SESSION_ATTACH_TYPE");	/* tests: a kernel that refuses */

		bpf_program__set_expected_attach_type(t->skel->progs.alloc_session,
						      ty ? (enum bpf_attach_type)atoi(ty) : FS_ATTACH_UPROBE_SESSION);
		bpf_program__set_expected_attach_type(t->skel->progs.free_sampled, FS_ATTACH_UPROBE_MULTI);
		t->skel->rodata->sampled_mode = 1;
		sampled__tables(t->skel->rodata->exp_q, t->skel->rodata->wtab);
		t->skel->rodata->sample_seed = opts->sample_seed;
		bpf_map__set_max_entries(t->skel->maps.sampled, opts->sampled_max ? opts->sampled_max : 65536);
	}
	/* The memory syscalls: libc's wrappers, or (without them) the syscall tracepoints. */
	t->sys_uprobes = opts->sys_uprobes;
	bpf_program__set_autoload(t->skel->progs.sysw_enter, t->sys_uprobes);
	bpf_program__set_autoload(t->skel->progs.sysw_exit, t->sys_uprobes);
	bpf_program__set_autoload(t->skel->progs.sys_enter, !t->sys_uprobes);
	bpf_program__set_autoload(t->skel->progs.sys_exit, !t->sys_uprobes);
	t->skel->rodata->target_tgid = (__u32)opts->pid;
	t->skel->rodata->flavour = (__u32)opts->flavour;
	t->skel->rodata->sample_period = opts->sample_bytes;
	t->skel->rodata->lifetime_shift = opts->lifetime_shift;
	t->skel->rodata->follow = opts->follow ? 1 : 0;
	t->skel->rodata->exec_skip = (__u32)opts->exec_skip;
	t->skel->rodata->light = opts->light ? 1 : 0;
	if (opts->trace_calls) {
		uint32_t ring = opts->trace_ring_bytes ? opts->trace_ring_bytes : FS_CALL_RING_BYTES;

		t->skel->rodata->trace_calls = 1;
		t->skel->rodata->trace_wake_bytes = ring / 2;
		bpf_map__set_max_entries(t->skel->maps.calls, ring);
		t->trace_calls = 1;
	}
	/* Room for max_live blocks, guaranteed by the overflow hash alone; the table in
	 * front of it takes the common case, one cache line a call, with a bucket (two
	 * slots) per 8 blocks: small enough to stay in the caches and the TLB. */
	{
		uint32_t want = opts->max_live ? opts->max_live : 1 << 20, bits = bucket_bits_for(want);

		t->nbuckets = 1u << bits;
		t->skel->rodata->bucket_bits = bits;
		bpf_map__set_max_entries(t->skel->maps.buckets, t->nbuckets);
		bpf_map__set_max_entries(t->skel->maps.allocs, want);
		/* Preallocating the room (~80 bytes a block) takes most of a tracer's start-up
		 * (0.3 s of system time at 2^20); allocated as used, an insert can fail for want
		 * of memory, and is then counted untracked like one beyond the room. */
		if (opts->lazy)
			bpf_map__set_map_flags(t->skel->maps.allocs,
					       bpf_map__map_flags(t->skel->maps.allocs) | BPF_F_NO_PREALLOC);
	}
	/* Tests shrink the ledger's ring (a power of 2 of pages) to see lost events counted. */
	if (getenv("FRAGSCOPE_MAP_EVENTS_BYTES"))
		bpf_map__set_max_entries(t->skel->maps.map_events,
					 (__u32)strtoul(getenv("FRAGSCOPE_MAP_EVENTS_BYTES"), NULL, 0));
	r = fragscope_bpf__load(t->skel);
	if (r && t->sampled && r != -EPERM) {
		char msg[128];

		libbpf_strerror(r, msg, sizeof(msg));
		snprintf(err, errlen, "--mode sampled needs uprobe sessions (Linux 6.13+), which this kernel "
			 "refused (%s): use --mode exact or --mode light", msg);
		goto fail;
	}
	if (r && t->multi && r != -EPERM) {
		/* an older kernel: one perf event per probe */
		fs_debug("uprobe_multi unavailable (%s): falling back to one link per probe", strerror(-r));
		fragscope_bpf__destroy(t->skel);
		t->skel = NULL;
		t->multi = 0;
		goto again;
	}
	if (r) {
		char msg[128];

		libbpf_strerror(r, msg, sizeof(msg));
		snprintf(err, errlen, "load BPF programs: %s%s", msg,
			 r == -EPERM ? " (needs root: CAP_BPF and CAP_PERFMON)" : "");
		goto fail;
	}
	t->page = (uint64_t)sysconf(_SC_PAGESIZE);
	t->map_rb = ring_buffer__new(bpf_map__fd(t->skel->maps.map_events), on_map_event, t, NULL);
	if (!t->map_rb) {
		snprintf(err, errlen, "map events ring buffer: %s", strerror(errno));
		goto fail;
	}
	return t;
fail:
	tracer__free(t);
	return NULL;
}

/* Why an attach failed, in words (524 is the kernel's ENOTSUPP, unknown to libc). */
static const char *attach_errstr(int err, char *buf, size_t len)
{
	if (err == -ESRCH)
		return "the process is gone";
	if (err == -524)
		return "the kernel refuses a uprobe on the instruction there (ENOTSUPP)";
	libbpf_strerror(err, buf, len);
	return buf;
}

/* A probe's cookie: its function, kind and, for jemalloc's usable sizes, where the
 * call's alignment comes from when the kind does not say (names may carry a prefix). */
static uint64_t probe_cookie(int func, const struct fs_probe *p)
{
	const char *n = p->name;
	size_t len = strlen(n);
	uint64_t al = FS_AL_NONE;

#define ENDS(s) (len >= sizeof(s) - 1 && !strcmp(n + len - (sizeof(s) - 1), s))
	if (p->kind == FS_K_MALLOC && strstr(n, "align_val_t"))
		al = FS_AL_ARG2;
	else if (ENDS("valloc"))	/* valloc, pvalloc */
		al = FS_AL_PAGE;
	else if (ENDS("mallocx"))
		al = FS_AL_FLAGS2;
	else if (ENDS("rallocx"))
		al = FS_AL_FLAGS3;
	else if (ENDS("aligned_alloc"))
		al = FS_AL_BUMP0;
#undef ENDS
	return FS_COOKIE(func, p->kind) | al << 16;
}

static int attach_one(struct tracer *t, struct bpf_program *prog, const struct fs_probe *p,
		      int func, int retprobe, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o, .retprobe = retprobe,
		    .bpf_cookie = probe_cookie(func, p));
	struct bpf_link *l;
	char msg[128];
	int r;

	l = bpf_program__attach_uprobe_opts(prog, t->pid, p->path, p->sym_off + p->place, &o);
	if (!l) {
		r = -errno;
		snprintf(err, errlen, "attach %s%s in %s: %s", p->name, retprobe ? " (return)" : "",
			 p->path, attach_errstr(r, msg, sizeof(msg)));
		return r;
	}
	t->links[t->nlinks++] = l;
	fs_info("attached %-36s %s+0x%llx (probe at +%u: %s)%s", p->name, p->path,
		(unsigned long long)p->sym_off, p->place, p->why, retprobe ? " [return]" : "");
	return 0;
}

/* One link for every probe of one kind (program) in one file. */
static int attach_multi(struct tracer *t, struct bpf_program *prog, const struct fs_plan *plan, int want_free,
			int ret, char *err, size_t errlen)
{
	for (int i = 0; i < plan->nprobes; i++) {
		const char *path = plan->probes[i].path;
		uint64_t offs[FS_MAX_FUNCS], cookies[FS_MAX_FUNCS];
		int n = 0, done = 0, fd;

		if ((plan->probes[i].kind == FS_K_FREE) != want_free)
			continue;
		for (int k = 0; k < i; k++)	/* this file already attached */
			if ((plan->probes[k].kind == FS_K_FREE) == want_free && !strcmp(plan->probes[k].path, path))
				done = 1;
		if (done)
			continue;
		for (int k = i; k < plan->nprobes; k++) {
			const struct fs_probe *p = &plan->probes[k];

			if ((p->kind == FS_K_FREE) != want_free || strcmp(p->path, path))
				continue;
			offs[n] = p->sym_off + p->place;
			cookies[n++] = probe_cookie(k, p);
			fs_info("attached %-36s %s+0x%llx (probe at +%u: %s)%s", p->name, path,
				(unsigned long long)p->sym_off, p->place, p->why, ret ? " [return]" : "");
		}
		if (t->sampled && prog == t->skel->progs.alloc_session)
			fd = umulti__attach_as(FS_ATTACH_UPROBE_SESSION, bpf_program__fd(prog), path, offs, cookies,
					       n, 0, t->pid);
		else
			fd = umulti__attach(bpf_program__fd(prog), path, offs, cookies, n, ret, t->pid);
		if (fd < 0) {
			char msg[128];

			snprintf(err, errlen, "attach %d probe%s in %s: %s%s", n, n > 1 ? "s" : "", path,
				 attach_errstr(fd, msg, sizeof(msg)),
				 t->sampled && prog == t->skel->progs.alloc_session
				 ? " (a uprobe session: Linux 6.13+)" : "");
			return fd;
		}
		/* 2: a session link, which --window closes and opens again */
		t->mentry[t->nmfds] = t->sampled && prog == t->skel->progs.alloc_session ? 2 : !want_free && !ret;
		t->mfds[t->nmfds++] = fd;
	}
	return 0;
}

/* libc's memory-syscall wrappers: entries (ret 0) or returns (ret 1), cookie = enum fs_sys. */
static int attach_sys(struct tracer *t, const struct fs_plan *plan, int ret, char *err, size_t errlen)
{
	struct bpf_program *prog = ret ? t->skel->progs.sysw_exit : t->skel->progs.sysw_enter;
	uint64_t offs[FS_S__COUNT], cookies[FS_S__COUNT];
	int fd;

	for (int i = 0; i < plan->nsys; i++) {
		const struct fs_probe *p = &plan->sys[i];

		offs[i] = p->sym_off + p->place;
		cookies[i] = p->kind;
		fs_info("attached %-36s %s+0x%llx (probe at +%u: %s)%s", p->name, p->path,
			(unsigned long long)p->sym_off, p->place, p->why, ret ? " [return]" : "");
		if (!t->multi) {
			LIBBPF_OPTS(bpf_uprobe_opts, o, .retprobe = ret, .bpf_cookie = p->kind);
			struct bpf_link *l = bpf_program__attach_uprobe_opts(prog, t->pid, p->path,
									     p->sym_off + p->place, &o);
			char msg[128];

			if (!l) {
				fd = -errno;
				snprintf(err, errlen, "attach %s%s in %s: %s", p->name, ret ? " (return)" : "",
					 p->path, attach_errstr(fd, msg, sizeof(msg)));
				return fd;
			}
			t->links[t->nlinks++] = l;
		}
	}
	if (!t->multi || !plan->nsys)
		return 0;
	fd = umulti__attach(bpf_program__fd(prog), plan->sys[0].path, offs, cookies, plan->nsys, ret, t->pid);
	if (fd < 0) {
		char msg[128];

		snprintf(err, errlen, "attach %d probes in %s: %s", plan->nsys, plan->sys[0].path,
			 attach_errstr(fd, msg, sizeof(msg)));
		return fd;
	}
	t->mentry[t->nmfds] = !ret;
	t->mfds[t->nmfds++] = fd;
	return 0;
}

static void close_links(struct tracer *t, int entry);

/* --window: the session links come and go; releases stay watched (a sampled
 * block's free must never be missed), so a window bounds the allocations' cost. */
static void *window_main(void *arg)
{
	struct tracer *t = arg;
	char err[160];

	pthread_mutex_lock(&t->win_mu);
	while (!t->win_stop) {
		uint64_t now = mono_now(), until;
		struct timespec ts;

		/* the window's time is up, or the pause's */
		until = t->win_attached ? t->win_since + t->win_on_ns : t->win_since + t->win_period_ns;
		if (now < until) {
			ts.tv_sec = (time_t)(until / 1000000000ULL);
			ts.tv_nsec = (long)(until % 1000000000ULL);
			pthread_cond_timedwait(&t->win_cv, &t->win_mu, &ts);
			continue;
		}
		pthread_mutex_unlock(&t->win_mu);
		if (t->win_attached) {
			/* calls armed now lose their return: the generation tells the programs */
			__atomic_store_n(&t->skel->data->win_open, 0, __ATOMIC_SEQ_CST);
			__atomic_fetch_add(&t->skel->bss->win_gen, 1, __ATOMIC_SEQ_CST);
			close_links(t, 2);
			pthread_mutex_lock(&t->win_mu);
			t->win_on_total += mono_now() - t->win_since;
			t->win_uon += user_now(t) - t->win_usince;
			t->win_attached = 0;
			t->win_windows++;
		} else {
			int r = attach_multi(t, t->skel->progs.alloc_session, t->plan, 0, 0, err, sizeof(err));

			pthread_mutex_lock(&t->win_mu);
			if (r) {	/* the target is gone: no more windows */
				snprintf(t->win_err, sizeof(t->win_err), "%s", err);
				break;
			}
			t->win_attached = 1;
			t->win_since = mono_now();
			t->win_usince = user_now(t);
			__atomic_store_n(&t->skel->data->win_open, 1, __ATOMIC_SEQ_CST);
			continue;
		}
		t->win_since += t->win_on_ns;	/* the period starts with its window */
	}
	pthread_mutex_unlock(&t->win_mu);
	return NULL;
}

static void window_stop(struct tracer *t)
{
	if (!t->win_started)
		return;
	pthread_mutex_lock(&t->win_mu);
	t->win_stop = 1;
	pthread_cond_signal(&t->win_cv);
	pthread_mutex_unlock(&t->win_mu);
	pthread_join(t->win_th, NULL);
	t->win_started = 0;
	pthread_mutex_lock(&t->win_mu);
	if (t->win_attached) {
		t->win_on_total += mono_now() - t->win_since;
		t->win_uon += user_now(t) - t->win_usince;
	}
	t->win_attached = 0;
	pthread_mutex_unlock(&t->win_mu);
}

int tracer__window(struct tracer *t, struct fs_window_stat *w)
{
	uint64_t now = mono_now();

	memset(w, 0, sizeof(*w));
	if (!t || !t->win_period_ns)
		return 0;
	pthread_mutex_lock(&t->win_mu);
	w->on_ns = t->win_on_ns;
	w->period_ns = t->win_period_ns;
	w->attached_ns = t->win_on_total + (t->win_attached ? now - t->win_since : 0);
	w->elapsed_ns = t->win_t0 ? now - t->win_t0 : 0;
	w->windows = t->win_windows + t->win_attached;
	{
		uint64_t u = user_now(t);

		if (u >= t->win_u0) {
			w->user_total_ns = u - t->win_u0;
			w->user_on_ns = t->win_uon + (t->win_attached && u >= t->win_usince ? u - t->win_usince : 0);
		}
	}
	snprintf(w->error, sizeof(w->error), "%s", t->win_err);
	pthread_mutex_unlock(&t->win_mu);
	return 1;
}

int tracer__attach(struct tracer *t, const struct fs_plan *plan, char *err, size_t errlen)
{
	int r = 0;

	t->nfuncs = plan->nprobes;
	for (__u32 i = 0; i < (__u32)plan->nprobes; i++) {
		const struct fs_probe *p = &plan->probes[i];
		struct fs_func_info fi = { p->vaddr + p->place, p->text_lo, p->text_hi, { 0 } };

		memcpy(fi.internal_ret, p->internal_ret, sizeof(fi.internal_ret));
		fi.func_lo = p->vaddr;
		fi.func_len = p->size;
		fi.tail_to = p->tail_to;

		if (bpf_map_update_elem(bpf_map__fd(t->skel->maps.func_infos), &i, &fi, 0)) {
			snprintf(err, errlen, "update func_infos: %s", strerror(errno));
			return -errno;
		}
	}
	/* Releases first: a block must never be recorded before its free is watched. */
	if (t->sampled) {
		r = attach_multi(t, t->skel->progs.free_sampled, plan, 1, 0, err, errlen);
	} else if (t->multi) {
		r = attach_multi(t, t->skel->progs.free_enter, plan, 1, 0, err, errlen);
		if (!r)
			r = attach_multi(t, t->skel->progs.alloc_exit, plan, 0, 1, err, errlen);
	}
	for (int i = 0; !t->multi && !r && i < plan->nprobes; i++)
		if (plan->probes[i].kind == FS_K_FREE)
			r = attach_one(t, t->skel->progs.free_enter, &plan->probes[i], i, 0, err, errlen);
	for (int i = 0; !t->multi && !r && i < plan->nprobes; i++)
		if (plan->probes[i].kind != FS_K_FREE)
			r = attach_one(t, t->skel->progs.alloc_exit, &plan->probes[i], i, 1, err, errlen);
	/* The memory syscalls: returns, then entries, of libc's wrappers. */
	if (t->sys_uprobes && !r)
		r = attach_sys(t, plan, 1, err, errlen);
	if (t->sys_uprobes && !r)
		r = attach_sys(t, plan, 0, err, errlen);
	/* Page faults (and without the wrappers, the syscalls): BTF tracepoints, no tracefs. */
	{
		struct bpf_program *progs[] = { t->skel->progs.proc_fork, t->skel->progs.proc_exec,
						 t->skel->progs.page_fault_user, t->skel->progs.sys_enter,
						 t->skel->progs.sys_exit };

		for (size_t i = 0; !r && i < (t->sys_uprobes ? 3 : 5); i++) {
			struct bpf_link *l = bpf_program__attach(progs[i]);

			if (!l) {
				char msg[128];

				r = -errno;
				libbpf_strerror(r, msg, sizeof(msg));
				snprintf(err, errlen, "attach %s: %s", bpf_program__name(progs[i]), msg);
			} else {
				t->links[t->nlinks++] = l;
			}
		}
	}
	if (t->multi && !r)
		r = attach_multi(t, t->sampled ? t->skel->progs.alloc_session : t->skel->progs.alloc_enter,
				 plan, 0, 0, err, errlen);
	for (int i = 0; !t->multi && !r && i < plan->nprobes; i++)
		if (plan->probes[i].kind != FS_K_FREE)
			r = attach_one(t, t->skel->progs.alloc_enter, &plan->probes[i], i, 0, err, errlen);
	if (!r && t->win_period_ns) {
		t->plan = plan;
		t->win_t0 = t->win_since = mono_now();
		t->win_u0 = t->win_usince = user_now(t);
		t->win_attached = 1;	/* the first window opens now */
		t->win_started = !pthread_create(&t->win_th, NULL, window_main, t);
		if (!t->win_started) {
			snprintf(err, errlen, "start the window thread: %s", strerror(errno));
			r = -1;
		}
	}
	if (r)
		tracer__detach(t);
	return r;
}

void tracer__set_alloc_text(struct tracer *t, uint64_t bias, uint64_t lo, uint64_t hi)
{
	if (!t || !t->skel || !t->skel->bss)
		return;
	t->skel->bss->alloc_bias = bias;
	t->skel->bss->alloc_text_lo = lo;
	__atomic_store_n(&t->skel->bss->alloc_text_hi, hi, __ATOMIC_SEQ_CST);	/* last: the check reads it */
}

static void *close_fd(void *arg)
{
	close((int)(intptr_t)arg);
	return NULL;
}

/* Links of entries (class 1: window links too), of the rest (0), or of the window
 * only (2). */
static int link_class(int mentry, int want)
{
	return want == 1 ? mentry >= 1 : mentry == want;
}

/* Closes the uprobe_multi links of entries (entry 1) or of the rest, all at once:
 * each close waits for the kernel's grace periods (~40 ms here), which concurrent
 * closes share. */
static void close_links(struct tracer *t, int entry)
{
	pthread_t th[FS_MAX_FUNCS * 2 + 2];
	int started[FS_MAX_FUNCS * 2 + 2] = { 0 };

	for (int i = 0; i < t->nmfds; i++) {
		if (t->mfds[i] < 0 || !link_class(t->mentry[i], entry))
			continue;
		started[i] = !pthread_create(&th[i], NULL, close_fd, (void *)(intptr_t)t->mfds[i]);
		if (!started[i])
			close(t->mfds[i]);
	}
	for (int i = 0; i < t->nmfds; i++) {
		if (t->mfds[i] < 0 || !link_class(t->mentry[i], entry))
			continue;
		if (started[i])
			pthread_join(th[i], NULL);
		t->mfds[i] = -1;
	}
}

void tracer__detach(struct tracer *t)
{
	if (!t)
		return;
	/* The programs ignore calls entered from now on: the links go away one at a
	 * time, and a window with releases seen but allocations not would turn
	 * blocks into unknown releases. */
	if (t->skel && t->skel->bss)
		__atomic_store_n(&t->skel->bss->stopping, 1, __ATOMIC_SEQ_CST);
	window_stop(t);
	/* Entries first, so no call starts that its return probe would miss. */
	close_links(t, 1);
	close_links(t, 0);
	t->nmfds = 0;
	while (t->nlinks > 0)
		bpf_link__destroy(t->links[--t->nlinks]);
}

static uint64_t prog_misses(struct bpf_program *p)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
		return 0;
	return info.recursion_misses;
}

int tracer__snapshot(struct tracer *t, struct fs_snapshot *s)
{
	struct timespec ts;
	__u32 zero = 0;
	int r;

	memset(s, 0, sizeof(*s));
	clock_gettime(CLOCK_MONOTONIC, &ts);
	s->mono_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	r = bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.counters), &zero, t->buf);
	if (r)
		return -errno;
	agg__add_counters(s, t->buf, t->ncpu);
	agg__derive(s);
	r = bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.hists), &zero, t->buf);
	if (r)
		return -errno;
	agg__add_hists(s, t->buf, t->ncpu);
	r = bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.kstats), &zero, t->buf);
	if (r)
		return -errno;
	agg__add_kstats(s, t->buf, t->ncpu);
	for (__u32 i = 0; i < (__u32)t->nfuncs; i++) {
		if (bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.funcs), &i, t->buf))
			return -errno;
		agg__add_func(s, (int)i, t->buf, t->ncpu);
	}
	s->nfuncs = t->nfuncs;
	s->prog_misses = prog_misses(t->skel->progs.alloc_enter) +
			 prog_misses(t->skel->progs.alloc_exit) +
			 prog_misses(t->skel->progs.free_enter) + prog_misses(t->skel->progs.sys_enter) +
			 prog_misses(t->skel->progs.sys_exit) + prog_misses(t->skel->progs.page_fault_user) +
			 prog_misses(t->skel->progs.sysw_enter) + prog_misses(t->skel->progs.sysw_exit);
	return 0;
}

static int cmp_block(const void *a, const void *b)
{
	const struct fs_live_block *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

long tracer__live_blocks(struct tracer *t, struct fs_live_block **out)
{
	int fd = bpf_map__fd(t->skel->maps.allocs);
	__u32 ocap = bpf_map__max_entries(t->skel->maps.allocs), batch = 8192, n;
	size_t cap = (size_t)t->nbuckets * FS_BUCKET_SLOTS + ocap, tsize = (size_t)t->nbuckets * sizeof(struct fs_bucket);
	__u64 *keys = NULL, in = 0, outb = 0;
	struct fs_block *vals = NULL;
	struct fs_live_block *res = NULL;
	const struct fs_bucket *tab;
	long count = 0, err = 0;
	int first = 1;
	__u32 overflowed = 0;

	keys = malloc(sizeof(*keys) * batch);
	vals = malloc(sizeof(*vals) * batch);
	res = malloc(sizeof(*res) * cap);
	if (!keys || !vals || !res) {
		err = -ENOMEM;
		goto cleanup;
	}
	/* The table, read in place (a slot being filled or emptied meanwhile is either). */
	tab = mmap(NULL, tsize, PROT_READ, MAP_SHARED, bpf_map__fd(t->skel->maps.buckets), 0);
	if (tab == MAP_FAILED) {
		err = -errno;
		goto cleanup;
	}
	for (size_t i = 0; i < t->nbuckets; i++) {
		overflowed |= __atomic_load_n(&tab[i].s[0].ovf, __ATOMIC_RELAXED);
		for (int k = 0; k < FS_BUCKET_SLOTS; k++) {
			__u64 p = __atomic_load_n(&tab[i].s[k].ptr, __ATOMIC_ACQUIRE), size;

			if (p <= FS_SLOT_BUSY)
				continue;
			size = __atomic_load_n(&tab[i].s[k].size, __ATOMIC_ACQUIRE);
			if (__atomic_load_n(&tab[i].s[k].ptr, __ATOMIC_ACQUIRE) == p)	/* not refilled meanwhile */
				res[count++] = (struct fs_live_block){ p, FS_SLOT_SIZE(size) };
		}
	}
	munmap((void *)tab, tsize);
	/* The overflow hash, only if some bucket overflowed: a batch read walks all of
	 * its buckets, empty or not (milliseconds for a million). */
	for (; overflowed;) {
		LIBBPF_OPTS(bpf_map_batch_opts, o);

		n = batch;
		err = bpf_map_lookup_batch(fd, first ? NULL : &in, &outb, keys, vals, &n, &o);
		if (err)
			err = -errno;
		for (__u32 i = 0; i < n && count < (long)cap; i++)
			res[count++] = (struct fs_live_block){ keys[i], vals[i].size };
		if (err == -ENOENT) {
			err = 0;
			break;
		}
		if (err)
			goto cleanup;
		in = outb;
		first = 0;
	}
	qsort(res, (size_t)count, sizeof(*res), cmp_block);
	{	/* a block that moved between the table and the hash during the read */
		long n = 0;

		for (long i = 0; i < count; i++)
			if (!n || res[i].addr != res[n - 1].addr)
				res[n++] = res[i];
		count = n;
	}
	*out = res;
	res = NULL;
cleanup:
	free(keys);
	free(vals);
	free(res);
	return err ? err : count;
}

long tracer__sites(struct tracer *t, struct fs_site **out)
{
	int sfd = bpf_map__fd(t->skel->maps.sites), kfd = bpf_map__fd(t->skel->maps.stacks);
	struct fs_site *res = NULL;
	long n = 0, cap = 0;
	__u32 key, next, *prev = NULL;

	while (!bpf_map_get_next_key(sfd, prev, &next)) {
		struct fs_site *s;

		key = next;
		prev = &key;
		if (n == cap) {
			struct fs_site *r = realloc(res, sizeof(*r) * (size_t)(cap = cap ? cap * 2 : 256));

			if (!r) {
				free(res);
				return -ENOMEM;
			}
			res = r;
		}
		s = &res[n];
		memset(s, 0, sizeof(*s));
		s->stackid = key;
		if (bpf_map_lookup_elem(sfd, &key, &s->stat))
			continue;
		if (!bpf_map_lookup_elem(kfd, &key, s->ips))
			while (s->nframes < FS_STACK_DEPTH && s->ips[s->nframes])
				s->nframes++;
		n++;
	}
	*out = res;
	return n;
}

int tracer__drain_maps(struct tracer *t, struct fs_mapset *ms)
{
	int n;

	t->drain_to = ms;
	n = ring_buffer__consume(t->map_rb);
	t->drain_to = NULL;
	ms->lost = __atomic_load_n(&t->skel->bss->map_events_lost, __ATOMIC_RELAXED) + t->maps_dropped;
	return n < 0 ? n : 0;
}

int tracer__proc_events_fd(const struct tracer *t)
{
	return bpf_map__fd(t->skel->maps.proc_events);
}

void tracer__procs(const struct tracer *t, uint64_t *forks, uint64_t *execs, uint64_t *lost)
{
	*forks = __atomic_load_n(&t->skel->bss->nforks, __ATOMIC_RELAXED);
	*execs = __atomic_load_n(&t->skel->bss->nexecs, __ATOMIC_RELAXED);
	*lost = __atomic_load_n(&t->skel->bss->proc_events_lost, __ATOMIC_RELAXED);
}

int tracer__calls_fd(const struct tracer *t)
{
	return t && t->trace_calls ? bpf_map__fd(t->skel->maps.calls) : -1;
}

uint64_t tracer__calls_lost(const struct tracer *t, void (*fn)(void *ctx, uint32_t tid, uint64_t lost), void *ctx)
{
	uint32_t key, next, *prev = NULL;
	int fd;

	if (!t || !t->trace_calls)
		return 0;
	fd = bpf_map__fd(t->skel->maps.calls_lost);
	while (fn && !bpf_map_get_next_key(fd, prev, &next)) {
		uint64_t v = 0;

		if (!bpf_map_lookup_elem(fd, &next, &v))
			fn(ctx, next, v);
		key = next;
		prev = &key;
	}
	return __atomic_load_n(&t->skel->bss->trace_lost, __ATOMIC_RELAXED);
}

void tracer__free(struct tracer *t)
{
	if (!t)
		return;
	tracer__detach(t);
	ring_buffer__free(t->map_rb);
	fragscope_bpf__destroy(t->skel);
	free(t->buf);
	free(t);
}
