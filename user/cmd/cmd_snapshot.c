/* cmd_snapshot.c - `fragscope snapshot`: what a running heap holds right now, read
 * from outside (no probes, no BPF): glibc's arenas walked through /proc/PID/mem. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "alloc/census.h"
#include "cmd/cmd.h"
#include "alloc/jestats.h"
#include "util/json.h"
#include "util/log.h"
#include "util/parse.h"
#include "model/memmodel.h"
#include "model/procmem.h"
#include "out/render.h"
#include "plan/resolve.h"
#include "trace/target.h"

static const char snapshot_usage[] =
	"usage: fragscope snapshot [options] -p PID\n"
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
static const char *why_diag(const struct fs_allocator *al, const struct fs_census *c, char *buf, size_t len,
			    int *kind)
{
	*kind = FS_D_NONE;
	if (len)
		buf[0] = 0;
	if (al->census_diagnosis)
		al->census_diagnosis(c, buf, len, kind);
	return buf;
}


static void print_json(const struct fs_plan *plan, pid_t pid, const char *comm, const struct fs_census *c,
		       const struct fs_memory *m, const struct fs_settings *set, int heap_walk,
		       const struct fs_je_stats *js, const char *je_why)
{
	struct json j;
	char diag[512];
	int kind;

	json__init(&j, stdout, 1);
	json__obj(&j, NULL);
	json__obj(&j, "target");
	json__i64(&j, "pid", pid);
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
		why_diag(plan->allocator, c, diag, sizeof(diag), &kind);
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
	char a[32], b[32], d[32], e[32], f[32], n[32], diag[512];
	int kind;

	printf("\n fragscope snapshot: PID %d (%s), %s allocator in %s%s\n\n", pid, comm, plan->alloc_name,
	       plan->object, c->approximate ? " — APPROXIMATE (the heap changed during the walk)" : "");
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
	printf("  %12s  resident    of which free and resident: %s (what malloc_trim(0) would release)\n\n",
	       fmt__bytes(m->resident, a, sizeof(a)), fmt__bytes(c->free_resident, b, sizeof(b)));
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
	else if (heap_walk && c->mp_valid)
		printf("  mmapped chunks: all %llu of glibc's own count found\n", (unsigned long long)c->mp_chunks);
	else if (heap_walk)
		printf("  mmapped chunks: glibc's own count not found (no brk heap?): whether any were missed is not known\n");
	printf("\n  diagnosis: %s\n\n", why_diag(plan->allocator, c, diag, sizeof(diag), &kind));
}

int cmd_snapshot(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, 0, 'p' },
		{ "json", no_argument, 0, 'j' },
		{ "no-ask", no_argument, 0, 'N' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	struct fs_plan *plan = calloc(1, sizeof(*plan));
	struct fs_census *c = calloc(1, sizeof(*c));
	struct fs_memory *m = calloc(1, sizeof(*m));
	struct fs_regions rs = { 0 };
	struct fs_settings set;
	pid_t tpid = 0;
	struct target tg = { .pidfd = -1, .gate = -1, .errpipe = -1 };
	struct fs_je_stats js = { .background_thread = -1 };
	char err[512], je_why[512] = "";
	int json = 0, opt, ret = EXIT_FAIL, heap_walk, ask = 1;
	long pid = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "p:jvh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p': {
			uint64_t v;

			if (parse__count("PID", "-p", optarg, 1, 0x7fffffff, &v)) {
				ret = EXIT_USAGE;
				goto cleanup;
			}
			pid = (long)v;
			break;
		}
		case 'j': json = 1; break;
		case 'N': ask = 0; break;
		case 'v': fs_verbose++; break;
		case 'h':
			fputs(snapshot_usage, stdout);
			ret = EXIT_OK;
			goto cleanup;
		default:
			fs_err("see fragscope snapshot --help");
			ret = EXIT_USAGE;
			goto cleanup;
		}
	}
	if (!pid || optind < argc) {
		fs_err("give the process with -p PID (see fragscope snapshot --help)");
		ret = EXIT_USAGE;
		goto cleanup;
	}
	if (!plan || !c || !m) {
		fs_err("out of memory");
		goto cleanup;
	}
	if (geteuid() != 0) {
		fs_err("must run as root: reading another process's memory needs CAP_SYS_PTRACE");
		goto cleanup;
	}
	if (target__open(&tg, (pid_t)pid, err, sizeof(err)) || resolve__pid((pid_t)pid, plan, err, sizeof(err))) {
		fs_err("%s", err);
		goto cleanup;
	}
	heap_walk = plan->allocator->heap_walk;	/* the census; else mappings and its own figures */
	tpid = (pid_t)pid;
	if (!plan->allocator->heap_walk && !plan->allocator->own_stats)
		fs_warn("%s allocator: only its mappings are shown", plan->alloc_name);
	if (procmem__regions((pid_t)pid, heap_walk, &rs)) {
		fs_err("read /proc/%ld/smaps: %s", pid, strerror(errno));
		goto cleanup;
	}
	memmodel__own(&rs, heap_walk || plan->allocator->brk_heap, NULL, 0, FS_OWN_UNKNOWN);
	memmodel__sum(&rs, NULL, 0, FS_OWN_UNKNOWN, procmem__present, &tpid, m);
	procmem__settings((pid_t)pid, &set);
	if (heap_walk) {
		int r = procmem__census((pid_t)pid, &rs, progress, c);

		if (r) {
			fs_err("read /proc/%ld/mem: %s", pid, strerror(-r));
			goto cleanup;
		}
		if (isatty(2) && m->mapped > (256ULL << 20))
			fputc('\n', stderr);
		fs_info("read %llu MiB of the target's memory", (unsigned long long)(c->bytes_read >> 20));
		/* the mmapped chunks it found are the allocator's: the waterfall again, with them */
		{
			struct fs_owned *ev = calloc((size_t)c->nmm + 1, sizeof(*ev));

			for (int i = 0; ev && i < c->nmm; i++)
				ev[i] = (struct fs_owned){ c->mm[i].start, c->mm[i].end, FS_OWN_ALLOCATOR, 0 };
			if (ev) {
				memmodel__own(&rs, heap_walk || plan->allocator->brk_heap, ev, c->nmm, FS_OWN_UNKNOWN);
				memmodel__sum(&rs, ev, c->nmm, FS_OWN_UNKNOWN, procmem__present, &tpid, m);
			}
			free(ev);
		}
	}
	if (plan->allocator->own_stats) {
		uint64_t mallctl;
		int bg = jestats__bg_threads((pid_t)pid);

		js.bg_threads = bg < 0 ? 0 : bg;
		if (!ask) {
			snprintf(je_why, sizeof(je_why), "not asked: --no-ask");
		} else if (jestats__find((pid_t)pid, &mallctl, je_why, sizeof(je_why)) ||
			   jestats__read((pid_t)pid, mallctl, &js, je_why, sizeof(je_why))) {
			fs_warn("jemalloc's own figures: %s", je_why);
		} else {
			fs_info("jemalloc's own figures: %s", js.how);
			je_diagnose(m, &js, &set, plan->allocator);
		}
	}
	if (target__check(&tg)) {
		fs_err("PID %ld exited during the snapshot", pid);
		goto cleanup;
	}
	if (json)
		print_json(plan, (pid_t)pid, tg.comm, c, m, &set, heap_walk, &js, je_why);
	else
		print_text(plan, (pid_t)pid, tg.comm, c, m, &set, heap_walk, &js, je_why);
	ret = EXIT_OK;
cleanup:
	target__close(&tg);
	memmodel__regions_free(&rs);
	free(plan);
	free(c);
	free(m);
	return ret;
}
