/* cmd_snapshot.c - `fragscope snapshot`: what a running heap holds right now, read
 * from outside (no probes, no BPF): glibc's arenas walked through /proc/PID/mem. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "alloc/census.h"
#include "cmd/cmd.h"
#include "alloc/jestats.h"
#include "util/json.h"
#include "util/log.h"
#include "util/parse.h"
#include "model/memmodel.h"
#include "model/container.h"
#include "model/procmem.h"
#include "out/render.h"
#include "plan/resolve.h"
#include "trace/target.h"

static const char snapshot_usage[] =
	"usage: fragscope snapshot [options] -p PID\n"
	"       fragscope snapshot --all [--json] [--min-rss N] [--max-heap N] [--max-seconds S]\n"
	"\n"
	"A one-shot census of a running process's heap, for a process fragscope has never\n"
	"traced: how much of its RSS is live data and how much is free memory the allocator\n"
	"keeps. No probes are attached; glibc processes are never stopped or written to.\n"
	"\n"
	"glibc: every arena is walked through /proc/PID/mem (main and thread arenas, their\n"
	"heaps, chunks in use and free, fastbin and tcache chunks, top chunks, mmapped\n"
	"chunks, also side by side in one mapping); with /proc/PID/pagemap, how much\n"
	"free memory is resident: what malloc_trim(0) would give back now. Pages never\n"
	"written are not read (that would fault them in). The process keeps running:\n"
	"a chunk that does not add up ends that heap's walk and the figures say\n"
	"'approximate'.\n"
	"jemalloc: its mappings and their residency, its settings, and its own statistics\n"
	"asked of jemalloc itself: one thread, stopped while outside jemalloc's code (the\n"
	"others keep running), calls jemalloc's mallctl for fragscope and is restored\n"
	"exactly, within milliseconds (README: \"jemalloc's own figures\").\n"
	"Its background threads are counted from /proc without stopping anything.\n"
	"\n"
	"options:\n"
	"  -p, --pid PID   the process\n"
	"      --all       every process on the machine, ranked by what glibc's free\n"
	"                  chunks hold resident (what malloc_trim(0) would release now);\n"
	"                  no probes, nothing stopped (jemalloc's own figures are not\n"
	"                  asked of every process); progress on stderr\n"
	"      --min-rss N   --all: skip processes with less RssAnon (default 1048576)\n"
	"      --max-heap N  --all: do not walk heaps mapping more (default 4294967296;\n"
	"                  a walk costs ~1-2 s per GiB); 0: no limit\n"
	"      --max-seconds S  --all: stop measuring after S seconds (default 60);\n"
	"                  the rest is counted, not shown\n"
	"  -j, --json      one JSON document on stdout (keys in README)\n"
	"      --no-ask    jemalloc: do not stop a thread to call mallctl (mappings,\n"
	"                  settings and background threads only)\n"
	"  -v              more diagnostics on stderr\n"
	"  -h, --help      this text\n"
	"\n"
	"exit status: 0 ok, 1 failure, 2 usage\n";

/* jemalloc's figures through the memory model: its totals claim the anonymous
 * memory, held free and the diagnosis from its own statistics. */
static struct fs_diagnosis je_diag;
static int je_diag_valid;

static void je_diagnose(struct fs_memory *m, const struct fs_je_stats *js, struct fs_settings *set,
			const struct fs_allocator *a)
{
	memmodel__claim(m, js->resident, js->mapped + js->retained);
	m->je_valid = 1;
	m->je_allocated = js->allocated;
	m->je_active = js->active;
	m->je_resident = js->resident;
	m->je_mapped = js->mapped;
	m->je_retained = js->retained;
	m->je_metadata = js->metadata;
	m->je_dirty = js->pdirty * js->page;
	m->je_muzzy = js->pmuzzy * js->page;
	m->held_basis = FS_B_ALLOC_STATS;
	m->pre_attach_live = js->allocated;
	set->je_bg_threads = js->bg_threads;
	memmodel__finish(m);
	memmodel__diagnose(m, 0, a, set, &je_diag);
	je_diag_valid = 1;
}

static void progress(uint64_t done, uint64_t total)
{
	if (isatty(2))
		fprintf(stderr, "\rfragscope: walking heaps: %llu of %llu MiB", (unsigned long long)(done >> 20),
			(unsigned long long)(total >> 20));
}

/* The backend's diagnosis from its census (every heap_walk backend has one). */
static const char *why_diag(const struct fs_allocator *al, const struct fs_census *c, const struct fs_memory *m,
			    char *buf, size_t len, int *kind)
{
	uint64_t away = m->own_resident[FS_OWN_PROGRAM] + m->own_resident[FS_OWN_UNKNOWN];
	char a[32], b[32];
	size_t n;

	*kind = FS_D_NONE;
	if (len)
		buf[0] = 0;
	if (al->census_diagnosis)
		al->census_diagnosis(c, buf, len, kind);
	/* the heaps are not all of RSS: say what lies outside them (a python3 holding 347 MiB
	 * in pymalloc's arenas beside 20 MiB of glibc heap was told "little to give back") */
	n = strlen(buf);
	if (away > (4u << 20) && away > m->own_resident[FS_OWN_ALLOCATOR] && n < len)
		snprintf(buf + n, len - n, "%sBesides, %s of the %s of anonymous memory is outside %s's heaps and chunks "
			 "(the program's own mappings, e.g. pymalloc's arenas or a runtime's heap, or of unknown owner): "
			 "no malloc_trim or allocator setting returns it",
			 n && buf[n - 1] == '.' ? " " : n ? ". " : "", fmt__bytes(away, a, sizeof(a)),
			 fmt__bytes(m->rss_anon, b, sizeof(b)), al->name);
	return buf;
}


static void print_json(const struct fs_plan *plan, pid_t pid, const char *comm, const struct fs_census *c,
		       const struct fs_memory *m, const struct fs_settings *set, int heap_walk,
		       const struct fs_je_stats *js, const char *je_why)
{
	struct fs_target_info ti = { .pid = pid };
	struct json j;
	char diag[1024];
	int kind;

	json__init(&j, stdout, 1);
	json__obj(&j, NULL);
	json__obj(&j, "target");
	json__i64(&j, "pid", pid);
	container__read(pid, &ti.ctr);	/* its PID inside its namespace, its cgroup */
	render__json_container(&j, &ti.ctr);
	json__str(&j, "comm", comm);
	json__end_obj(&j);
	json__obj(&j, "allocator");
	json__str(&j, "name", plan->alloc_name);
	json__str(&j, "object", plan->object);
	json__end_obj(&j);
	json__bool(&j, "approximate", c->approximate);
	json__arr(&j, "arenas");
	for (int i = 0; i < c->narenas; i++) {
		const struct fs_census_arena *a = &c->arenas[i];

		json__obj(&j, NULL);
		json__str(&j, "kind", a->main ? "main" : "thread");
		json__u64(&j, "ar_ptr", a->ar_ptr);
		json__u64(&j, "heaps", (uint64_t)a->heaps);
		json__u64(&j, "size", a->size);
		json__u64(&j, "in_use", a->in_use);
		json__u64(&j, "free", a->free);
		json__u64(&j, "cached", a->cached);
		json__u64(&j, "free_resident", a->free_resident);
		json__u64(&j, "largest_free", a->largest_free);
		json__u64(&j, "top", a->top);
		json__u64(&j, "chunks_in_use", a->chunks_in_use);
		json__obj(&j, "pinned_by");
		json__u64(&j, "addr", a->pin_addr);
		json__u64(&j, "size", a->pin_size);
		json__end_obj(&j);
		json__bool(&j, "approximate", a->walk_cut);
		json__str(&j, "note", a->note);
		json__end_obj(&j);
	}
	json__end_arr(&j);
	json__obj(&j, "totals");
	json__u64(&j, "in_use", c->in_use);
	json__u64(&j, "free", c->free);
	json__u64(&j, "free_resident", c->free_resident);
	json__u64(&j, "mapped", m->mapped);
	json__u64(&j, "resident", m->resident);
	json__u64(&j, "lazyfree", m->lazyfree);
	json__u64(&j, "mmapped_chunks", c->mmapped_chunks);
	json__u64(&j, "mmapped_bytes", c->mmapped_bytes);
	json__end_obj(&j);
	/* where glibc's mmapped chunks are: anonymous memory that is the allocator's */
	json__obj(&j, "mmapped");
	json__u64(&j, "chunks", c->mmapped_chunks);
	json__u64(&j, "bytes", c->mmapped_bytes);
	json__bool(&j, "ranges_complete", !c->mm_more);
	json__u64(&j, "mapped_bytes", c->mmapped_mapped);
	/* glibc's own count (mp_: mallinfo2's hblks, hblkhd); what the walk did not find */
	if (c->mp_valid) {
		json__u64(&j, "glibc_chunks", c->mp_chunks);
		json__u64(&j, "glibc_bytes", c->mp_bytes);
		json__u64(&j, "unaccounted_chunks", c->mm_unaccounted_chunks);
		json__u64(&j, "unaccounted_bytes", c->mm_unaccounted_bytes);
		json__bool(&j, "complete", !c->mm_unaccounted_chunks && !c->mm_unaccounted_bytes && !c->mp_changed);
	} else {	/* glibc's count not found: whether chunks were missed is not known */
		json__str(&j, "glibc_chunks", NULL);
		json__str(&j, "glibc_bytes", NULL);
		json__str(&j, "unaccounted_chunks", NULL);
		json__str(&j, "unaccounted_bytes", NULL);
		json__str(&j, "complete", NULL);
	}
	json__bool(&j, "searched_past_other_mappings", c->mm_scanned);
	json__arr(&j, "ranges");
	for (int i = 0; i < c->nmm; i++) {
		json__obj(&j, NULL);
		json__u64(&j, "start", c->mm[i].start);
		json__u64(&j, "end", c->mm[i].end);
		json__u64(&j, "resident", c->mm[i].resident);
		json__end_obj(&j);
	}
	json__end_arr(&j);
	json__end_obj(&j);
	json__obj(&j, "diagnosis");
	if (heap_walk) {
		why_diag(plan->allocator, c, m, diag, sizeof(diag), &kind);
		json__str(&j, "kind", memmodel__diag_name(kind));
		json__str(&j, "text", diag);
	} else if (je_diag_valid) {
		json__str(&j, "kind", memmodel__diag_name(je_diag.kind));
		json__str(&j, "text", je_diag.text);
		json__str(&j, "remedy", je_diag.remedy);
		json__i64(&j, "expected_release", je_diag.expect);
		json__str(&j, "evidence", je_diag.evidence);
	} else {
		json__str(&j, "kind", "none");
		json__str(&j, "text", plan->allocator->stats_unread ? plan->allocator->stats_unread
					: "the allocator's own statistics were not read: live and free figures need "
					  "`fragscope stat`");
	}
	json__end_obj(&j);
	json__obj(&j, "settings");
	json__str(&j, "MALLOC_CONF", set->malloc_conf);
	json__str(&j, "GLIBC_TUNABLES", set->glibc_tunables);
	json__str(&j, "MALLOC_ARENA_MAX", set->arena_max);
	json__str(&j, "TCMALLOC", set->tc_env);
	json__str(&j, "MIMALLOC", set->mi_env);
	if (plan->allocator->settings_text) {
		char buf[512];

		plan->allocator->settings_text(set, buf, sizeof(buf));
		json__str(&j, "text", buf);
	}
	json__end_obj(&j);
	if (plan->allocator->own_stats)
	{
		json__obj(&j, "jemalloc");
		render__json_je(&j, js, je_why);
		json__end_obj(&j);
	}
	json__str(&j, "note", c->note);
	json__end_obj(&j);
	json__finish(&j);
}

static void text_je(const struct fs_je_stats *js, const char *why)
{
	char a[32], b[32];

	if (!js->valid) {
		printf("  jemalloc's own figures: not read (%s)\n", why);
	} else {
		printf("  jemalloc's own figures (mallctl; %s):\n", js->how);
		printf("  %12s  allocated   blocks in use, at their size classes\n", fmt__bytes(js->allocated, a, sizeof(a)));
		printf("  %12s  active      pages of extents in use (allocated + free space in its slabs)\n",
		       fmt__bytes(js->active, a, sizeof(a)));
		printf("  %12s  resident    data and metadata pages it has touched and not purged\n",
		       fmt__bytes(js->resident, a, sizeof(a)));
		printf("  %12s  mapped      extents mapped in use or dirty/muzzy\n", fmt__bytes(js->mapped, a, sizeof(a)));
		printf("  %12s  retained    address space kept after purging (not resident)\n",
		       fmt__bytes(js->retained, a, sizeof(a)));
		printf("  %12s  metadata\n", fmt__bytes(js->metadata, a, sizeof(a)));
		printf("  %12s  dirty       %llu pages freed and not purged (dirty_decay_ms %ld)\n",
		       fmt__bytes(js->pdirty * js->page, a, sizeof(a)), (unsigned long long)js->pdirty,
		       js->dirty_decay_ms);
		printf("  %12s  muzzy       %llu pages lazily purged, may still be resident (muzzy_decay_ms %ld)\n",
		       fmt__bytes(js->pmuzzy * js->page, b, sizeof(b)), (unsigned long long)js->pmuzzy,
		       js->muzzy_decay_ms);
	}
	printf("  background threads: %s (mallctl background_thread), %d jemalloc_bg_thd thread%s running\n",
	       js->background_thread < 0 ? "unknown" : js->background_thread ? "on" : "off", js->bg_threads,
	       js->bg_threads == 1 ? "" : "s");
}

static void print_text(const struct fs_plan *plan, pid_t pid, const char *comm, const struct fs_census *c,
		       const struct fs_memory *m, const struct fs_settings *set, int heap_walk,
		       const struct fs_je_stats *js, const char *je_why)
{
	struct fs_target_info ti = { .pid = pid };
	char a[32], b[32], d[32], e[32], f[32], n[32], diag[1024], ctr[700];
	int kind;

	printf("\n fragscope snapshot: PID %d (%s), %s allocator in %s%s\n", pid, comm, plan->alloc_name,
	       plan->object, c->approximate ? " — APPROXIMATE (the heap changed during the walk)" : "");
	container__read(pid, &ti.ctr);
	render__container(&ti, ctr, sizeof(ctr));
	if (ctr[0])
		printf(" container: %s\n", ctr);
	printf("\n");
	if (!heap_walk) {
		printf("  %12s  mapped      anonymous memory outside stacks\n", fmt__bytes(m->mapped, a, sizeof(a)));
		printf("  %12s  resident    (LazyFree %s)\n", fmt__bytes(m->resident, a, sizeof(a)),
		       fmt__bytes(m->lazyfree, b, sizeof(b)));
		if (plan->allocator->settings_text) {
			char buf[512];

			plan->allocator->settings_text(set, buf, sizeof(buf));
			printf("\n  settings: %s\n", buf);
		} else {
			printf("\n  settings: MALLOC_CONF=%s\n", set->malloc_conf[0] ? set->malloc_conf : "(default)");
		}
		if (plan->allocator->own_stats) {
			printf("\n");
			text_je(js, je_why);
		}
		if (!js->valid)
			printf("  how much of this is live, dirty or retained needs tracing:\n"
			       "  `fragscope stat -p %d` counts it from now on.\n", pid);
		else if (je_diag_valid)
			printf("\n  diagnosis: %s: %s\n", memmodel__diag_name(je_diag.kind), je_diag.text);
		printf("\n");
		return;
	}
	printf("  %12s  in use      chunks in use (headers included; the live requested bytes are a little less)\n",
	       fmt__bytes(c->in_use, a, sizeof(a)));
	printf("  %12s  free        held by glibc: bins, fastbins and tcaches, top chunks\n",
	       fmt__bytes(c->free, a, sizeof(a)));
	printf("  %12s  mapped      heaps and mmapped chunks\n", fmt__bytes(m->mapped, a, sizeof(a)));
	printf("  %12s  resident    of which free and resident: %s (what malloc_trim(0) would release)\n",
	       fmt__bytes(m->resident, a, sizeof(a)), fmt__bytes(c->free_resident, b, sizeof(b)));
	printf("  all anonymous memory (RssAnon %s): %s %s + stacks %s + program's own %s + file data %s + "
	       "unknown owner %s\n\n", fmt__bytes(m->rss_anon, a, sizeof(a)), plan->allocator->name,
	       fmt__bytes(m->own_resident[FS_OWN_ALLOCATOR], b, sizeof(b)),
	       fmt__bytes(m->own_resident[FS_OWN_STACK], d, sizeof(d)),
	       fmt__bytes(m->own_resident[FS_OWN_PROGRAM], e, sizeof(e)),
	       fmt__bytes(m->own_resident[FS_OWN_FILE], f, sizeof(f)),
	       fmt__bytes(m->own_resident[FS_OWN_UNKNOWN], n, sizeof(n)));
	printf("  %-6s %6s %11s %11s %11s %11s %11s %11s  %s\n", "arena", "heaps", "size", "in use", "free",
	       "free+resid", "largest", "top", "pinned by (highest chunk in use)");
	for (int i = 0; i < c->narenas; i++) {
		const struct fs_census_arena *x = &c->arenas[i];

		snprintf(n, sizeof(n), "0x%llx+%llu", (unsigned long long)x->pin_addr, (unsigned long long)x->pin_size);
		printf("  %-6s %6d %11s %11s %11s %11s %11s %11s  %s%s%s\n", x->main ? "main" : "thread", x->heaps,
		       fmt__bytes(x->size, a, sizeof(a)), fmt__bytes(x->in_use, b, sizeof(b)),
		       fmt__bytes(x->free, d, sizeof(d)), fmt__bytes(x->free_resident, e, sizeof(e)),
		       fmt__bytes(x->largest_free, f, sizeof(f)), fmt__bytes(x->top, diag, sizeof(diag)),
		       x->pin_addr ? n : "-", x->walk_cut ? "  (walk cut: " : "", x->walk_cut ? x->note : "");
	}
	if (c->mmapped_chunks) {
		uint64_t mapped = 0, res = 0;

		for (int i = 0; i < c->nmm; i++) {
			mapped += c->mm[i].end - c->mm[i].start;
			res += c->mm[i].resident;
		}
		printf("  mmapped chunks: %llu in use, %s in %d range%s%s (%s mapped, %s resident)\n",
		       (unsigned long long)c->mmapped_chunks, fmt__bytes(c->mmapped_bytes, a, sizeof(a)), c->nmm,
		       c->nmm == 1 ? "" : "s", c->mm_more ? " listed, more not" : "", fmt__bytes(mapped, b, sizeof(b)),
		       fmt__bytes(res, d, sizeof(d)));
	}
	if (heap_walk && c->mp_valid && (c->mm_unaccounted_chunks || c->mm_unaccounted_bytes))
		printf("  mmapped chunks unaccounted: %llu (%s) of glibc's own count (%llu, %s) were not found%s\n",
		       (unsigned long long)c->mm_unaccounted_chunks, fmt__bytes(c->mm_unaccounted_bytes, a, sizeof(a)),
		       (unsigned long long)c->mp_chunks, fmt__bytes(c->mp_bytes, b, sizeof(b)),
		       c->mp_changed ? " (it changed during the walk)" : "");
	else if (heap_walk && c->mp_valid && !c->mp_chunks)
		printf("  mmapped chunks: none (glibc's own count is 0)\n");
	else if (heap_walk && c->mp_valid)
		printf("  mmapped chunks: all %llu of glibc's own count found\n", (unsigned long long)c->mp_chunks);
	else if (heap_walk)
		printf("  mmapped chunks: glibc's own count not found (no brk heap?): whether any were missed is not known\n");
	printf("\n  diagnosis: %s\n\n", why_diag(plan->allocator, c, m, diag, sizeof(diag), &kind));
}

/* One process measured: what `snapshot -p` shows, and what `--all` ranks. */
struct snap {
	struct fs_plan plan;
	struct fs_census c;
	struct fs_memory m;
	struct fs_regions rs;
	struct fs_settings set;
	struct fs_je_stats js;
	struct target tg;
	char je_why[512];
	int heap_walk;		/* glibc: the census ran */
	double walk_s;		/* how long the measure took */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Resolves, reads the mappings, walks glibc's heap (unless its arenas map more
 * than max_heap: heap_walk is then 0 and err says so) and, with ask, jemalloc's own
 * figures. 0, or -1 with the cause in err. */
static int snap_measure(pid_t pid, int ask, uint64_t max_heap, void (*prog)(uint64_t, uint64_t), struct snap *s,
			char *err, size_t errlen)
{
	pid_t tpid = pid;
	uint64_t t0 = mono_ns();

	s->tg = (struct target){ .pidfd = -1, .gate = -1, .errpipe = -1 };
	s->js = (struct fs_je_stats){ .background_thread = -1 };
	if (target__open(&s->tg, pid, err, errlen) || resolve__pid(pid, &s->plan, err, errlen))
		return -1;
	s->heap_walk = s->plan.allocator->heap_walk;	/* the census; else mappings and its own figures */
	if (procmem__regions(pid, s->heap_walk, &s->rs)) {
		snprintf(err, errlen, "read /proc/%d/smaps: %s", (int)pid, strerror(errno));
		return -1;
	}
	memmodel__own(&s->rs, s->heap_walk || s->plan.allocator->brk_heap, NULL, 0, FS_OWN_UNKNOWN);
	memmodel__sum(&s->rs, NULL, 0, FS_OWN_UNKNOWN, procmem__present, &tpid, &s->m);
	procmem__settings(pid, &s->set);
	if (s->heap_walk && max_heap && s->m.mapped > max_heap) {
		char a[32], b[32];

		snprintf(err, errlen, "heap not walked: its %s of mappings exceed --max-heap %s",
			 fmt__bytes(s->m.mapped, a, sizeof(a)), fmt__bytes(max_heap, b, sizeof(b)));
		s->heap_walk = 0;
	}
	if (s->heap_walk) {
		int r = procmem__census(pid, &s->rs, prog, &s->c);

		if (r) {
			snprintf(err, errlen, "read /proc/%d/mem: %s", (int)pid, strerror(-r));
			return -1;
		}
		/* the mmapped chunks it found are the allocator's: the waterfall again, with them */
		{
			struct fs_owned *ev = calloc((size_t)s->c.nmm + 1, sizeof(*ev));

			for (int i = 0; ev && i < s->c.nmm; i++)
				ev[i] = (struct fs_owned){ s->c.mm[i].start, s->c.mm[i].end, FS_OWN_ALLOCATOR, 0 };
			if (ev) {
				memset(&s->m, 0, sizeof(s->m));
				memmodel__own(&s->rs, 1, ev, s->c.nmm, FS_OWN_UNKNOWN);
				memmodel__sum(&s->rs, ev, s->c.nmm, FS_OWN_UNKNOWN, procmem__present, &tpid, &s->m);
			}
			free(ev);
		}
	}
	if (s->plan.allocator->own_stats) {
		uint64_t mallctl;
		int bg = jestats__bg_threads(pid);

		s->js.bg_threads = bg < 0 ? 0 : bg;
		if (!ask) {
			snprintf(s->je_why, sizeof(s->je_why), "not asked: --no-ask");
		} else if (jestats__find(pid, &mallctl, s->je_why, sizeof(s->je_why)) ||
			   jestats__read(pid, mallctl, &s->js, s->je_why, sizeof(s->je_why))) {
			fs_warn("jemalloc's own figures: %s", s->je_why);
		} else {
			fs_info("jemalloc's own figures: %s", s->js.how);
			je_diagnose(&s->m, &s->js, &s->set, s->plan.allocator);
		}
	}
	if (target__check(&s->tg)) {
		snprintf(err, errlen, "PID %d exited during the snapshot", (int)pid);
		return -1;
	}
	s->walk_s = (double)(mono_ns() - t0) / 1e9;
	return 0;
}

static void snap_free(struct snap *s)
{
	target__close(&s->tg);
	memmodel__regions_free(&s->rs);
}

/* --all: one row per process. */
struct snap_row {
	pid_t pid;
	char comm[32], alloc[32];
	struct fs_container ctr;	/* its PID in its namespace, cgroup, container id */
	uint64_t rss_anon, resident, in_use;
	int64_t releasable;	/* glibc: what malloc_trim(0) would release now; -1 not known */
	int walked, approximate;
	double walk_s;
};

static int cmp_row(const void *a, const void *b)
{
	const struct snap_row *x = a, *y = b;

	if (x->releasable != y->releasable)
		return x->releasable < y->releasable ? 1 : -1;
	return x->rss_anon < y->rss_anon ? 1 : x->rss_anon > y->rss_anon ? -1 : 0;
}

/* RssAnon of a process in bytes, 0 when it has none (a kernel thread) or is gone. */
static uint64_t rss_anon_of(pid_t pid)
{
	char path[64], line[256];
	uint64_t kib = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %" SCNu64, &kib) == 1)
			break;
	fclose(f);
	return kib * 1024;
}

static int snapshot_all(int json, uint64_t min_rss, uint64_t max_heap, double budget_s)
{
	struct snap_row *rows = NULL;
	struct { pid_t pid; char comm[32]; char why[160]; } *skip = NULL;
	size_t nrows = 0, nskip = 0, cap = 0, scap = 0, small = 0, seen = 0, over = 0;
	uint64_t t0 = mono_ns();
	struct dirent *de;
	DIR *d = opendir("/proc");
	int tty = isatty(2);

	if (!d) {
		fs_err("open /proc: %s", strerror(errno));
		return EXIT_FAIL;
	}
	while ((de = readdir(d))) {
		char *end, err[512];
		long pid = strtol(de->d_name, &end, 10);
		struct snap *s;
		uint64_t rss;

		if (*end || pid <= 0 || pid == getpid())
			continue;
		seen++;
		rss = rss_anon_of((pid_t)pid);
		if (rss < min_rss) {	/* kernel threads (none), small processes */
			small++;
			continue;
		}
		if ((double)(mono_ns() - t0) / 1e9 > budget_s) {
			over++;
			continue;
		}
		if (tty)
			fprintf(stderr, "\rfragscope: snapshot --all: %zu measured, PID %ld...   ", nrows, pid);
		s = calloc(1, sizeof(*s));
		if (!s)
			break;
		if (snap_measure((pid_t)pid, 0, max_heap, NULL, s, err, sizeof(err))) {
			if (nskip == scap) {
				scap = scap ? scap * 2 : 64;
				skip = realloc(skip, scap * sizeof(*skip));
			}
			if (skip) {
				skip[nskip].pid = (pid_t)pid;
				snprintf(skip[nskip].comm, sizeof(skip[nskip].comm), "%s", s->tg.comm);
				snprintf(skip[nskip++].why, sizeof(skip[0].why), "%s", err);
			}
			fs_debug("PID %ld: %s", pid, err);
		} else {
			if (nrows == cap) {
				cap = cap ? cap * 2 : 64;
				rows = realloc(rows, cap * sizeof(*rows));
			}
			if (rows) {
				struct snap_row *r = &rows[nrows++];

				memset(r, 0, sizeof(*r));
				r->pid = (pid_t)pid;
				container__read(r->pid, &r->ctr);
				snprintf(r->comm, sizeof(r->comm), "%s", s->tg.comm);
				snprintf(r->alloc, sizeof(r->alloc), "%s", s->plan.alloc_name);
				r->rss_anon = s->m.rss_anon ? s->m.rss_anon : rss;
				r->resident = s->m.resident;
				r->walked = s->heap_walk;
				r->in_use = s->heap_walk ? s->c.in_use : 0;
				r->releasable = s->heap_walk ? (int64_t)s->c.free_resident : -1;
				r->approximate = s->c.approximate;
				r->walk_s = s->walk_s;
			}
		}
		snap_free(s);
		free(s);
		err[0] = 0;
	}
	closedir(d);
	if (tty)
		fprintf(stderr, "\r%80s\r", "");
	if (rows)
		qsort(rows, nrows, sizeof(*rows), cmp_row);
	if (json) {
		struct json j;

		json__init(&j, stdout, 1);
		json__obj(&j, NULL);
		json__dbl(&j, "elapsed_s", (double)(mono_ns() - t0) / 1e9);
		json__dbl(&j, "budget_s", budget_s);
		json__u64(&j, "min_rss_anon", min_rss);
		json__u64(&j, "max_heap", max_heap);
		json__u64(&j, "processes_seen", seen);
		json__u64(&j, "below_min_rss", small);
		json__u64(&j, "over_budget", over);
		json__arr(&j, "processes");
		for (size_t i = 0; i < nrows; i++) {
			const struct snap_row *r = &rows[i];

			json__obj(&j, NULL);
			json__i64(&j, "pid", r->pid);
			if (r->ctr.ns_pid)
				json__i64(&j, "ns_pid", r->ctr.ns_pid);
			else
				json__str(&j, "ns_pid", NULL);
			json__str(&j, "cgroup", r->ctr.cgroup[0] ? r->ctr.cgroup : NULL);
			json__str(&j, "container", r->ctr.id[0] ? r->ctr.id : NULL);
			json__str(&j, "comm", r->comm);
			json__str(&j, "allocator", r->alloc);
			json__u64(&j, "rss_anon", r->rss_anon);
			json__u64(&j, "allocator_resident", r->resident);
			if (r->walked) {
				json__u64(&j, "in_use", r->in_use);
				json__u64(&j, "malloc_trim_releasable", (uint64_t)r->releasable);
			} else {	/* not walked (not glibc, or over --max-heap): not known, never 0 */
				json__str(&j, "in_use", NULL);
				json__str(&j, "malloc_trim_releasable", NULL);
			}
			json__bool(&j, "heap_walked", r->walked);
			json__bool(&j, "approximate", r->approximate);
			json__dbl(&j, "seconds", r->walk_s);
			json__end_obj(&j);
		}
		json__end_arr(&j);
		json__arr(&j, "skipped");
		for (size_t i = 0; i < nskip; i++) {
			json__obj(&j, NULL);
			json__i64(&j, "pid", skip[i].pid);
			json__str(&j, "comm", skip[i].comm);
			json__str(&j, "reason", skip[i].why);
			json__end_obj(&j);
		}
		json__end_arr(&j);
		json__end_obj(&j);
		json__finish(&j);
	} else {
		char a[32], b[32], c[32], e[32];

		printf("\n fragscope snapshot --all: %zu processes measured in %.1f s (%zu with RssAnon under %s, %zu "
		       "could not be read, %zu over the %.0f s budget)\n\n", nrows, (double)(mono_ns() - t0) / 1e9, small,
		       fmt__bytes(min_rss, a, sizeof(a)), nskip, over, budget_s);
		printf("  %7s %-16s %-9s %11s %11s %11s %13s  %s\n", "PID", "command", "allocator", "RssAnon",
		       "alloc resid", "in use", "trim releases", "container");
		for (size_t i = 0; i < nrows; i++) {
			const struct snap_row *r = &rows[i];

			printf("  %7d %-16.16s %-9s %11s %11s %11s %13s  %.12s%s\n", r->pid, r->comm, r->alloc,
			       fmt__bytes(r->rss_anon, a, sizeof(a)), fmt__bytes(r->resident, b, sizeof(b)),
			       r->walked ? fmt__bytes(r->in_use, c, sizeof(c)) : "?",
			       r->walked ? fmt__bytes((uint64_t)r->releasable, e, sizeof(e)) : "?",
			       r->ctr.id[0] ? r->ctr.id : "-", r->approximate ? "  (approximate)" : "");
		}
		printf("\n  trim releases: resident pages in glibc's free chunks, what malloc_trim(0) would give back\n"
		       "  now (heap census, no probes, nothing stopped); ?: not glibc (its own statistics are not asked\n"
		       "  of every process: `fragscope snapshot -p PID`), or a heap over --max-heap.\n"
		       "  container: the first 12 digits of its container id (--json: ns_pid, cgroup, container).\n\n");
	}
	free(rows);
	free(skip);
	return EXIT_OK;
}

int cmd_snapshot(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, 0, 'p' },
		{ "json", no_argument, 0, 'j' },
		{ "no-ask", no_argument, 0, 'N' },
		{ "all", no_argument, 0, 'A' },
		{ "min-rss", required_argument, 0, 'R' },
		{ "max-heap", required_argument, 0, 'H' },
		{ "max-seconds", required_argument, 0, 'S' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	struct snap *s = NULL;
	char err[512];
	int json = 0, opt, ret = EXIT_FAIL, ask = 1, all = 0;
	uint64_t min_rss = 1 << 20, max_heap = 4ULL << 30;
	double budget = 60;
	long pid = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, ":p:jvh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p': {
			uint64_t v;

			if (parse__count("PID", "-p", optarg, 1, 0x7fffffff, &v))
				return EXIT_USAGE;
			pid = (long)v;
			break;
		}
		case 'j': json = 1; break;
		case 'N': ask = 0; break;
		case 'A': all = 1; break;
		case 'R':
			if (parse__size("--min-rss", optarg, 0, UINT64_MAX, &min_rss))
				return EXIT_USAGE;
			break;
		case 'H':
			if (parse__size("--max-heap", optarg, 0, UINT64_MAX, &max_heap))
				return EXIT_USAGE;
			break;
		case 'S':
			if (parse__duration("--max-seconds", optarg, 0, &budget))
				return EXIT_USAGE;
			break;
		case 'v': fs_verbose++; break;
		case 'h':
			fputs(snapshot_usage, stdout);
			return EXIT_OK;
		default:
			return parse__bad_option("snapshot", opt);
		}
	}
	if ((!pid == !all) || optind < argc) {
		fs_err("give the process with -p PID, or --all (see fragscope snapshot --help)");
		return EXIT_USAGE;
	}
	if (geteuid() != 0) {
		fs_err("must run as root: reading another process's memory needs CAP_SYS_PTRACE");
		return EXIT_FAIL;
	}
	if (all)
		return snapshot_all(json, min_rss, max_heap, budget);
	s = calloc(1, sizeof(*s));
	if (!s) {
		fs_err("out of memory");
		return EXIT_FAIL;
	}
	if (snap_measure((pid_t)pid, ask, 0, progress, s, err, sizeof(err))) {
		fs_err("%s", err);
		goto cleanup;
	}
	if (!s->plan.allocator->heap_walk && !s->plan.allocator->own_stats)
		fs_warn("%s allocator: only its mappings are shown", s->plan.alloc_name);
	if (s->heap_walk) {
		if (isatty(2) && s->m.mapped > (256ULL << 20))
			fputc('\n', stderr);
		fs_info("read %llu MiB of the target's memory", (unsigned long long)(s->c.bytes_read >> 20));
	}
	if (json)
		print_json(&s->plan, (pid_t)pid, s->tg.comm, &s->c, &s->m, &s->set, s->heap_walk, &s->js, s->je_why);
	else
		print_text(&s->plan, (pid_t)pid, s->tg.comm, &s->c, &s->m, &s->set, s->heap_walk, &s->js, s->je_why);
	ret = EXIT_OK;
cleanup:
	snap_free(s);
	free(s);
	return ret;
}
