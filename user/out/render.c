/* render.c - text and JSON views of a snapshot. */
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include "alloc/alloc.h"
#include "model/cost.h"
#include "model/metric.h"
#include "model/sampled.h"
#include "out/render.h"

static void json_hist(struct json *j, const char *key, const int64_t *h)
{
	json__arr(j, key);
	for (int b = 0; b < FS_HIST_BUCKETS; b++) {
		if (!h[b])
			continue;
		json__obj(j, NULL);
		json__u64(j, "lt", agg__bucket_max(b));	/* values < lt (0: the value 0) */
		json__i64(j, "count", h[b]);
		json__end_obj(j);
	}
	json__end_arr(j);
}

/* The metrics of one JSON object ("": the counters at the top level), in table
 * order: integers, as the snapshot's counters are. */
/* Sampled mode counts every call at its entry: these stay exact; the rest (sizes
 * of released blocks, failures, map losses) are not counted. */
static int sampled_counts(const struct fs_metric *m, int windowed)
{
	static const char *const exact[] = { "free_null", "frees_internal", "prog_misses",
					     "allocs", "frees", "bytes_allocated", "nested_calls" };
	const char *key = metric__key(m);

	/* --window: only what the release probes count (always attached) stays exact */
	for (size_t i = 0; i < (windowed ? 3 : sizeof(exact) / sizeof(exact[0])); i++)
		if (!strcmp(key, exact[i]))
			return 1;
	return 0;
}

/* light: 1 light mode (nothing counted), 2 sampled mode (calls counted), 3 sampled
 * mode with --window (allocations counted part of the time). */
static void json_metrics(struct json *j, const char *obj, const struct fs_metric_src *src, int light)
{
	if (*obj)
		json__obj(j, obj);
	for (int i = 0; i < fs_nmetrics; i++)
		if (metric__in(&fs_metrics[i], obj) && light && !(light >= 2 && sampled_counts(&fs_metrics[i], light == 3)))
			json__str(j, metric__key(&fs_metrics[i]), NULL);	/* not counted: null, never 0 */
		else if (metric__in(&fs_metrics[i], obj))
			json__u64(j, metric__key(&fs_metrics[i]), (uint64_t)metric__i64(&fs_metrics[i], src));
	if (*obj)
		json__end_obj(j);
}

const char *render__mode_name(const struct fs_state *st)
{
	return !st || !st->light ? "exact" : st->sampled ? "sampled" : "light";
}

/* Sampled mode's estimates: blocks allocated since attach, 1 in ~period bytes. */
static void json_sampled(struct json *j, const struct fs_state *st)
{
	struct fs_sampled_est e;

	sampled__estimate(&st->snap, st->sample_bytes, sampled__duty(&st->win, &st->snap, NULL), &e);
	json__obj(j, "sampled");
	json__u64(j, "period_bytes", e.period);
	json__str(j, "intervals", e.period > 1 ? "exponential" : "every_block");
	json__u64(j, "blocks_sampled", e.sampled);
	json__u64(j, "blocks_released", e.released);
	json__u64(j, "live_samples", e.live_samples);
	json__u64(j, "live_bytes_est", (uint64_t)llround(e.live_bytes));
	json__u64(j, "live_bytes_stderr", (uint64_t)llround(e.live_stderr));
	json__u64(j, "live_blocks_est", (uint64_t)llround(e.live_blocks));
	json__u64(j, "bytes_allocated_est", (uint64_t)llround(e.bytes_allocated));
	json__u64(j, "bytes_allocated", st->snap.c[FS_C_ALLOC_BYTES]);	/* exact, to check the estimate by */
	json__bool(j, "exact", e.period <= 1 && !e.lost && !e.stale && e.duty >= 1);
	json__str(j, "covers", st->traced_from_start ? "every block" : "blocks allocated since attach");
	if (st->win.period_ns) {	/* the allocation probes were attached part of the time */
		const struct fs_window_stat *w = &st->win;
		const char *basis;

		sampled__duty(w, &st->snap, &basis);
		json__obj(j, "window");
		json__dbl(j, "on_s", (double)w->on_ns / 1e9);
		json__dbl(j, "period_s", (double)w->period_ns / 1e9);
		json__dbl(j, "attached_s", (double)w->attached_ns / 1e9);
		json__dbl(j, "elapsed_s", (double)w->elapsed_ns / 1e9);
		json__dbl(j, "user_cpu_on_s", (double)w->user_on_ns / 1e9);
		json__dbl(j, "user_cpu_s", (double)w->user_total_ns / 1e9);
		json__dbl(j, "duty", e.duty);
		json__str(j, "duty_basis", basis);
		json__u64(j, "free_calls_in_windows", st->snap.c[FS_C_SM_FREE_CALLS_WIN]);
		json__u64(j, "free_calls", st->snap.c[FS_C_SM_FREE_CALLS]);
		json__u64(j, "windows", w->windows);
		json__u64(j, "allocs_seen", st->snap.c[FS_C_ALLOCS]);
		json__u64(j, "bytes_allocated_seen", st->snap.c[FS_C_ALLOC_BYTES]);
		json__u64(j, "allocs_est", (uint64_t)llround((double)st->snap.c[FS_C_ALLOCS] / e.duty));
		json__u64(j, "bytes_allocated_est", (uint64_t)llround((double)st->snap.c[FS_C_ALLOC_BYTES] / e.duty));
		json__str(j, "note", "allocations counted and sampled only while attached, scaled by the share "
			  "of the program's release calls made then (duty); the standard errors cover the "
			  "sampling of blocks, not of time");
		json__str(j, "error", w->error[0] ? w->error : NULL);
		json__end_obj(j);
	}
	json__obj(j, "lost");
	json__u64(j, "table_full", e.lost);
	json__u64(j, "stale", e.stale);
	json__u64(j, "stacks_lost", e.stacks_lost);
	json__end_obj(j);
	json__end_obj(j);
}

/* The container's view of a process: its PID in its own PID namespace (the PID
 * when it has none of its own), its cgroup v2 path, the container id in that
 * path; null when not known. */
void render__json_container(struct json *j, const struct fs_container *c)
{
	if (c->ns_pid)
		json__i64(j, "ns_pid", c->ns_pid);
	else
		json__str(j, "ns_pid", NULL);
	json__str(j, "cgroup", c->cgroup[0] ? c->cgroup : NULL);
	json__str(j, "container", c->id[0] ? c->id : NULL);
}

/* " (PID 1 in its namespace, cgroup /x, container abc...)" for a process in a
 * namespace or container of its own; "" otherwise. */
void render__container(const struct fs_target_info *t, char *buf, size_t len)
{
	const struct fs_container *c = &t->ctr;

	buf[0] = 0;
	if ((!c->ns_pid || c->ns_pid == t->pid) && !c->id[0])
		return;
	if (c->ns_pid && c->ns_pid != t->pid)
		snprintf(buf + strlen(buf), len - strlen(buf), "PID %d in its namespace", (int)c->ns_pid);
	if (c->cgroup[0])
		snprintf(buf + strlen(buf), len - strlen(buf), "%scgroup %s", buf[0] ? ", " : "", c->cgroup);
	if (c->id[0])
		snprintf(buf + strlen(buf), len - strlen(buf), "%scontainer %.12s", buf[0] ? ", " : "", c->id);
}

void render__json_core(struct json *j, const struct fs_view *v)
{
	const struct fs_snapshot *s = v->snap;
	const struct fs_plan *p = v->plan;
	static const struct fs_memory no_memory;
	const struct fs_metric_src src = { .sn = s, .m = &no_memory, .d = s, .max_live = v->max_live };
	int light = v->st && v->st->light ? (v->st->sampled ? (v->st->win.period_ns ? 3 : 2) : 1) : 0;

	json__str(j, "mode", render__mode_name(v->st));
	json__obj(j, "target");
	json__i64(j, "pid", v->target->pid);
	render__json_container(j, &v->target->ctr);
	json__str(j, "comm", v->target->comm);
	json__bool(j, "exited", v->target->exited);
	if (v->target->exit_code >= 0)
		json__i64(j, "exit_code", v->target->exit_code);
	json__bool(j, "traced_from_start", v->target->attached_at_start);
	json__u64(j, "children_born", v->target->children);
	json__u64(j, "execs", v->target->execs);
	json__bool(j, "descendants_followed", v->target->follow);
	json__end_obj(j);

	json__obj(j, "allocator");
	json__str(j, "name", p->alloc_name);
	json__str(j, "object", p->object);
	json__str(j, "prefix", p->prefix);
	json__str(j, "found_by", p->how);
	json__end_obj(j);

	json__dbl(j, "duration_s", v->duration_s);

	json_metrics(j, "totals", &src, light);

	if (light) {
		/* no block seen: glibc's heap census (chunk bytes in use), else unknown */
		const struct fs_light_census *lc = &v->st->lc;
		const struct fs_memory *lm = &v->st->mem;

		json__obj(j, "live");
		json__str(j, "count", NULL);
		if (lc->valid)
			json__u64(j, "bytes", lc->in_use);
		else if (lm->je_valid)	/* the allocator's own statistics: allocated (usable) bytes */
			json__u64(j, "bytes", lm->je_allocated);
		else
			json__str(j, "bytes", NULL);
		json__bool(j, "exact", 0);
		json__str(j, "source", lc->valid ? "heap_census" : lm->je_valid ? "allocator_stats" : "not_known");
		json__str(j, "unit", lc->valid ? "chunk_bytes" : lm->je_valid ? "usable_bytes" : NULL);
		json__str(j, "usable_bytes", NULL);
		json__str(j, "internal_fragmentation_bytes", NULL);
		json__bool(j, "usable_exact", 0);
		json__end_obj(j);
	} else {
	json__obj(j, "live");
	json__u64(j, "count", agg__live_count(s));
	json__u64(j, "bytes", agg__live_bytes(s));
	json__bool(j, "exact", agg__lost(s) == 0);
	if (alloc__by_id(p->alloc)->usable_sizes) {
		uint64_t u = agg__live_usable(s), b = agg__live_bytes(s);

		json__u64(j, "usable_bytes", u);
		json__u64(j, "internal_fragmentation_bytes", u > b ? u - b : 0);
		json__bool(j, "usable_exact", agg__usable_exact(s));
	} else {	/* another allocator's size classes are not modelled: unknown, not guessed */
		json__str(j, "usable_bytes", NULL);
		json__str(j, "internal_fragmentation_bytes", NULL);
		json__bool(j, "usable_exact", 0);
	}
	json__end_obj(j);
	}
	json_metrics(j, "lost", &src, light);
	json_metrics(j, "", &src, light);
	if (v->st && v->st->sampled)
		json_sampled(j, v->st);

	json__arr(j, "functions");
	for (int i = 0; i < p->nprobes; i++) {
		const struct fs_probe *pr = &p->probes[i];

		json__obj(j, NULL);
		json__str(j, "name", pr->name);
		json__u64(j, "calls", i < s->nfuncs ? s->f[i].calls : 0);
		json__u64(j, "bytes", i < s->nfuncs ? s->f[i].bytes : 0);
		json__u64(j, "failed", i < s->nfuncs ? s->f[i].failed : 0);
		json__str(j, "aliases", pr->aliases);
		json__u64(j, "probe_offset", pr->place);
		json__bool(j, "emulated", pr->emulated);
		json__end_obj(j);
	}
	json__end_arr(j);

	if (light) {	/* no call seen: no sizes, no lifetimes */
		json__str(j, "histograms", NULL);
		json__str(j, "lifetime_sampling", NULL);
	} else {
		json__obj(j, "histograms");
		for (int h = 0; h < FS_H__COUNT; h++)
			json_hist(j, fs_hist_names[h], s->h[h]);
		json__end_obj(j);
		/* 1: every freed block's lifetime is in lifetime_ns; N: 1 in N, counts scaled */
		json__u64(j, "lifetime_sampling", v->st && v->st->lifetime_sampling ? v->st->lifetime_sampling : 1);
	}

	if (v->st)
		render__json_memory(j, v->st);
	render__json_probe_cost(j, v);

	json__arr(j, "notes");
	for (int i = 0; i < p->nnotes; i++)
		json__str(j, NULL, p->notes[i]);
	json__end_arr(j);
}

static void json_lat(struct json *j, const char *key, const __u64 *lat)
{
	json__arr(j, key);
	for (int b = 0; b < FS_LAT_BUCKETS; b++) {
		if (!lat[b])
			continue;
		json__obj(j, NULL);
		json__u64(j, "lt", agg__bucket_max(b));
		json__u64(j, "count", lat[b]);
		json__end_obj(j);
	}
	json__end_arr(j);
}

/* The address ledger: bytes each owner mapped since attach and still has mapped
 * (the rest of the address space is unknown); lost events make it approximate. */
static void json_maps(struct json *j, const struct fs_mapset *ms)
{
	uint64_t b[FS_M__COUNT];

	mapset__owned(ms, 0, UINT64_MAX, b);
	json__obj(j, "maps");
	json__obj(j, "owned");
	for (int i = 0; i < FS_M__COUNT; i++)
		json__u64(j, fs_map_names[i], b[i]);
	json__end_obj(j);
	json__u64(j, "intervals", ms->n);
	json__u64(j, "events", ms->events);
	json__u64(j, "lost", ms->lost);
	json__u64(j, "conflicts", ms->conflicts);
	json__bool(j, "exact", ms->lost == 0 && ms->conflicts == 0);
	json__end_obj(j);
}

const char *render__sites_note(const struct fs_state *st, char *buf, size_t len)
{
	char n1[32], n2[32], n3[32];
	const struct agg_site_scale *sc = &st->sites_live;
	size_t o;

	snprintf(buf, len, "sites: estimated from %s sampled stacks", fmt__num(st->snap.c[FS_C_SAMPLES], n1, sizeof(n1)));
	o = strlen(buf);
	if (sc->rule == AGG_SITES_SCALED)
		snprintf(buf + o, len - o, ", scaled to the exact live total (%s sampled, %s exact)",
			 fmt__bytes(sc->est_sum, n2, sizeof(n2)), fmt__bytes(sc->exact, n3, sizeof(n3)));
	else if (sc->rule == AGG_SITES_CLAMPED && sc->est_sum > sc->exact)
		snprintf(buf + o, len - o, ", scaled down to the exact live total (%s sampled, %s exact; stacks lost)",
			 fmt__bytes(sc->est_sum, n2, sizeof(n2)), fmt__bytes(sc->exact, n3, sizeof(n3)));
	else if (sc->rule == AGG_SITES_CLAMPED)
		snprintf(buf + o, len - o, ", as sampled (stacks lost: the sites seen hold part of the live bytes)");
	o = strlen(buf);
	if (st->truncated_stacks)
		snprintf(buf + o, len - o, "; %ld of %ld stacks truncated", st->truncated_stacks,
			 st->sites_total);
	return buf;
}

static void text_maps(FILE *f, const struct fs_mapset *ms)
{
	static const char *const what[FS_M__COUNT] = { "allocator", "stacks", "files", "program's own" };
	uint64_t b[FS_M__COUNT];
	char b1[32];

	mapset__owned(ms, 0, UINT64_MAX, b);
	fprintf(f, "  mapped since attach, still mapped:");
	for (int i = 0; i < FS_M__COUNT; i++)
		fprintf(f, "%s %s %s", i ? "," : "", what[i], fmt__bytes(b[i], b1, sizeof(b1)));
	if (ms->lost || ms->conflicts)
		fprintf(f, " — APPROXIMATE: %llu mapping events lost, %llu unmaps seen late or never",
			(unsigned long long)ms->lost, (unsigned long long)ms->conflicts);
	fprintf(f, "\n");
}

void render__json_je(struct json *j, const struct fs_je_stats *js, const char *why)
{
	json__bool(j, "valid", js->valid);
	if (js->valid) {
		json__u64(j, "allocated", js->allocated);
		json__u64(j, "active", js->active);
		json__u64(j, "resident", js->resident);
		json__u64(j, "mapped", js->mapped);
		json__u64(j, "retained", js->retained);
		json__u64(j, "metadata", js->metadata);
		json__u64(j, "pdirty", js->pdirty);
		json__u64(j, "pmuzzy", js->pmuzzy);
		json__u64(j, "page", js->page);
		json__u64(j, "dirty_bytes", js->pdirty * js->page);
		json__u64(j, "muzzy_bytes", js->pmuzzy * js->page);
		json__i64(j, "dirty_decay_ms", js->dirty_decay_ms);
		json__i64(j, "muzzy_decay_ms", js->muzzy_decay_ms);
		json__u64(j, "pause_ns", js->pause_ns);
	}
	if (js->background_thread < 0)
		json__str(j, "background_thread", NULL);
	else
		json__bool(j, "background_thread", js->background_thread);
	json__i64(j, "bg_threads", js->bg_threads);
	json__str(j, "how", js->valid ? js->how : NULL);
	json__str(j, "error", js->valid ? NULL : why);
}

void render__json_memory(struct json *j, const struct fs_state *st)
{
	const struct fs_memory *m = &st->mem;
	const struct fs_kstats *k = &st->snap.k;
	char note[256];

	json__obj(j, "memory");
	json__bool(j, "valid", m->valid);
	if (st->light && !st->lc.valid && !m->je_valid)
		json__str(j, "live", NULL);
	else
		json__u64(j, "live", st->light && !st->lc.valid ? m->je_allocated : m->live);
	if (st->light) {
		const struct fs_light_census *lc = &st->lc;

		/* light mode: live is glibc's heap census (chunk bytes in use) or the allocator's
		 * own statistics (allocated bytes), not counted calls */
		json__str(j, "live_source", lc->valid ? "heap_census" : m->je_valid ? "allocator_stats" : "not_known");
		json__bool(j, "live_exact", 0);
		json__obj(j, "census");
		json__bool(j, "valid", lc->valid);
		json__u64(j, "in_use", lc->in_use);
		json__u64(j, "chunks", lc->chunks);
		json__u64(j, "free", lc->free);
		json__u64(j, "free_resident", lc->free_resident);
		json__u64(j, "mmapped_bytes", lc->mmapped_bytes);
		if (lc->mm_known) {	/* glibc's own count, less what the walk found: not in in_use */
			json__u64(j, "mmapped_unaccounted_chunks", lc->mm_unaccounted_chunks);
			json__u64(j, "mmapped_unaccounted_bytes", lc->mm_unaccounted_bytes);
		} else {
			json__str(j, "mmapped_unaccounted_chunks", NULL);
			json__str(j, "mmapped_unaccounted_bytes", NULL);
		}
		json__bool(j, "approximate", lc->approximate);
		json__dbl(j, "age_s", lc->valid && st->snap.mono_ns > lc->end_ns ? (double)(st->snap.mono_ns - lc->end_ns) / 1e9 : 0);
		json__dbl(j, "walk_ms", (double)lc->walk_ns / 1e6);
		json__u64(j, "heap_bytes", lc->heap_bytes);
		if (light__ns_per_gib(lc) > 0)
			json__dbl(j, "ms_per_gib", light__ns_per_gib(lc) / 1e6);
		else	/* too little heap walked to say */
			json__str(j, "ms_per_gib", NULL);
		json__u64(j, "walks", lc->walks);
		json__u64(j, "skipped", lc->skipped);
		json__u64(j, "budget_pct", FS_LIGHT_CENSUS_PCT);
		json__end_obj(j);
	}
	json__u64(j, "held_free", m->held_free);
	json__bool(j, "held_free_known", m->held_basis != FS_B_UNKNOWN);
	json__str(j, "held_free_basis", memmodel__basis_name(m->held_basis));
	json__u64(j, "unseen", m->unseen);
	json__u64(j, "pre_attach_live", m->pre_attach_live);
	json__u64(j, "mapped", m->mapped);
	json__u64(j, "resident", m->resident);
	json__u64(j, "lazyfree", m->lazyfree);
	json__u64(j, "returned", m->returned);
	json__u64(j, "rss_anon", m->rss_anon);
	/* every anonymous byte by owner: these add up to rss_anon */
	json__u64(j, "allocator", m->own_resident[FS_OWN_ALLOCATOR]);
	json__u64(j, "stacks", m->own_resident[FS_OWN_STACK]);
	json__u64(j, "program_own", m->own_resident[FS_OWN_PROGRAM]);
	json__u64(j, "file_private", m->own_resident[FS_OWN_FILE]);
	json__u64(j, "other_anon", m->own_resident[FS_OWN_UNKNOWN]);
	json__bool(j, "owners_partial", m->owners_partial);
	json__obj(j, "owners");
	for (int o = 0; o < FS_OWN__COUNT; o++) {
		json__obj(j, memmodel__owner_name(o));
		json__u64(j, "mapped", m->own_mapped[o]);
		json__u64(j, "resident", m->own_resident[o]);
		json__end_obj(j);
	}
	json__end_obj(j);
	if (st->census_done) {
		uint64_t gone = st->snap.c[FS_C_FREES_UNKNOWN_CHUNK_BYTES];

		json__obj(j, "before_attach");
		json__u64(j, "census_in_use", st->census_in_use);
		json__u64(j, "census_chunks", st->census_chunks);
		json__u64(j, "released_since", gone);
		json__u64(j, "live_est", st->census_in_use > gone ? st->census_in_use - gone : 0);
		json__bool(j, "approximate", st->census_approximate);
		json__end_obj(j);
	}
	if (st->je.valid) {
		/* jemalloc's own figures (mallctl), not estimates; used only while no call
		 * was made since (current) */
		json__obj(j, "jemalloc");
		render__json_je(j, &st->je, NULL);
		json__dbl(j, "age_s", (double)(st->snap.mono_ns - st->je_ns) / 1e9);
		json__bool(j, "current", m->je_valid);
		json__end_obj(j);
	}
	json__dbl(j, "fragmentation", memmodel__fragmentation(m));
	json__u64(j, "peak_live", st->peak_live);
	json__u64(j, "peak_resident", st->peak_resident);
	json__u64(j, "rss_anon_start", st->rss_anon_start);
	json__u64(j, "resident_start", st->resident_start);
	json__dbl(j, "age_s", (double)st->mem_age_ns / 1e9);
	json__obj(j, "by_kind");
	for (int i = 0; i < FS_RG__COUNT; i++) {
		if (i == FS_RG_RESERVED)
			continue;
		json__obj(j, fs_kind_names[i]);
		json__u64(j, "mapped", m->kind_mapped[i]);
		json__u64(j, "resident", m->kind_resident[i]);
		json__end_obj(j);
	}
	json__end_obj(j);
	json__end_obj(j);

	json__obj(j, "releases");
	json__obj(j, "madvise");
	for (int a = 0; a < FS_A__COUNT; a++) {
		json__obj(j, fs_adv_names[a]);
		json__u64(j, "calls", k->adv[a].calls);
		json__u64(j, "bytes", k->adv[a].bytes);
		json__u64(j, "resident_bytes", k->adv[a].resident);
		json__u64(j, "errors", k->adv[a].errors);
		json_lat(j, "latency_ns", k->adv[a].lat);
		json__end_obj(j);
	}
	json__end_obj(j);
	json__obj(j, "munmap");
	json__u64(j, "calls", k->sys[FS_S_MUNMAP].calls);
	json__u64(j, "bytes", k->sys[FS_S_MUNMAP].bytes);
	json__u64(j, "resident_bytes", k->sys[FS_S_MUNMAP].resident);
	json__end_obj(j);
	json__obj(j, "brk_shrink");
	json__u64(j, "calls", k->brk_shrink_calls);
	json__u64(j, "bytes", k->brk_shrink);
	json__u64(j, "resident_bytes", k->sys[FS_S_BRK].resident);
	json__end_obj(j);
	json__obj(j, "malloc_trim");
	/* malloc_trim is an allocator function: not probed in light mode; in sampled
	 * mode it is (its calls only in --window's windows) */
	if (st->light && !(st->sampled && !st->win.period_ns)) {
		json__str(j, "calls", NULL);
		json__str(j, "released_calls", NULL);
		json__str(j, "resident_bytes", NULL);
	} else {
		json__u64(j, "calls", k->trim_calls);
		json__u64(j, "released_calls", k->trim_released);
		json__u64(j, "resident_bytes", k->src_resident[FS_R_MALLOC_TRIM]);
	}
	json__end_obj(j);
	if (st->light && !st->sampled)
		json__str(j, "note", "light mode: malloc_trim() calls are not seen; their releases count under glibc_trim");
	else if (st->sampled && st->win.period_ns)
		json__str(j, "note", "--window: malloc_trim() calls are seen only in windows; the releases of those "
			  "outside count under glibc_trim");
	json__obj(j, "by_source");
	for (int i = 0; i < FS_R__COUNT; i++) {
		if (st->light && !st->sampled && i == FS_R_MALLOC_TRIM) {
			json__str(j, fs_src_names[i], NULL);
			continue;
		}
		json__obj(j, fs_src_names[i]);
		json__u64(j, "calls", k->src_calls[i]);
		json__u64(j, "resident_bytes", k->src_resident[i]);
		if (alloc__src_name(st->allocator, i))	/* what the source is under this allocator */
			json__str(j, "means", alloc__src_name(st->allocator, i));
		json__end_obj(j);
	}
	json__end_obj(j);
	json__end_obj(j);

	/* libc_wrappers: errnos unknown (errno is thread-local), time includes the probes */
	json__str(j, "syscalls_seen_at", st->sys_tracepoints ? "tracepoints" : "libc_wrappers");
	json__obj(j, "syscalls");
	for (int i = 0; i < FS_S__COUNT; i++) {
		json__obj(j, fs_sys_names[i]);
		json__u64(j, "calls", k->sys[i].calls);
		json__u64(j, "errors", k->sys[i].errors);
		json__u64(j, "bytes", k->sys[i].bytes);
		json__u64(j, "time_ns", k->sys[i].ns);
		json__obj(j, "errnos");
		for (int e = 1; e < FS_ERRNO_MAX; e++)
			if (k->errnos[i][e]) {
				char key[16];

				snprintf(key, sizeof(key), "%d%s", e, e == FS_ERRNO_MAX - 1 ? "+" : "");
				json__u64(j, key, k->errnos[i][e]);
			}
		json__end_obj(j);
		json__end_obj(j);
	}
	json__end_obj(j);
	json_maps(j, &st->maps);
	json__obj(j, "mappings");
	for (int i = 0; i < FS_M__COUNT; i++) {
		json__obj(j, fs_map_names[i]);
		json__u64(j, "calls", k->map_calls[i]);
		json__u64(j, "bytes", k->map_bytes[i]);
		json__end_obj(j);
	}
	json__end_obj(j);
	json__obj(j, "faults");
	json__u64(j, "total", k->faults);
	json__u64(j, "churn", k->churn_faults);
	json__obj(j, "churn_by_source");	/* who released the pages faulted back in */
	for (int i = 0; i < FS_R__COUNT; i++)
		json__u64(j, fs_src_names[i], k->churn_src[i]);
	json__end_obj(j);
	json__end_obj(j);

	json__arr(j, "arenas");
	for (int i = 0; i < m->narenas; i++) {
		const struct fs_arena *a = &m->arenas[i];
		char p[32];

		json__obj(j, NULL);
		json__str(j, "kind", a->main ? "main" : "thread");
		snprintf(p, sizeof(p), "0x%llx", (unsigned long long)a->ar_ptr);
		json__str(j, "ar_ptr", a->main ? NULL : p);
		json__u64(j, "heaps", (uint64_t)a->heaps);
		json__u64(j, "mapped", a->mapped);
		json__u64(j, "resident", a->resident);
		json__u64(j, "live", a->live);
		json__u64(j, "live_blocks", a->live_blocks);
		json__end_obj(j);
	}
	json__end_arr(j);
	if (m->pages_valid) {
		json__obj(j, "pages");
		json__u64(j, "resident_no_live", m->resident_no_live);
		json__u64(j, "low_occupancy", m->low_occupancy);
		json__u64(j, "scanned", m->pages_scanned);
		json__u64(j, "mixed_not_scanned", m->pages_mixed);
		json__bool(j, "partial", m->pages_partial);
		json__bool(j, "approximate", m->pages_approximate);
		json__dbl(j, "age_s", (double)m->deep_age_ns / 1e9);
		json__end_obj(j);
	} else {
		json__str(j, "pages", NULL);
	}
	json__obj(j, "diagnosis");
	json__str(j, "kind", memmodel__diag_name(st->diag.kind));
	json__str(j, "text", st->diag.text);
	json__str(j, "remedy", st->diag.remedy);
	json__i64(j, "expected_release", st->diag.expect);
	json__str(j, "evidence", st->diag.evidence);
	json__end_obj(j);
	json__obj(j, "sampling");
	json__u64(j, "period_bytes", st->sample_bytes);
	json__u64(j, "samples", st->snap.c[FS_C_SAMPLES]);
	json__u64(j, "stacks_lost", st->snap.c[FS_C_STACKS_LOST]);
	json__i64(j, "sites", st->sites_total);
	json__bool(j, "short_stacks", st->short_stacks);
	json__i64(j, "truncated_stacks", st->truncated_stacks);
	json__str(j, "scaling", agg__site_rule_name(st->sites_live.rule));
	json__u64(j, "live_bytes_sampled", st->sites_live.est_sum);
	json__dbl(j, "live_scale", agg__site_factor(&st->sites_live));
	json__u64(j, "bytes_sampled", st->sites_bytes.est_sum);
	json__dbl(j, "bytes_scale", agg__site_factor(&st->sites_bytes));
	json__str(j, "note", render__sites_note(st, note, sizeof(note)));
	json__end_obj(j);
	json__arr(j, "sites");
	for (int i = 0; i < st->nsites; i++) {
		const struct fs_site_sym *x = &st->sites[i];

		json__obj(j, NULL);
		json__u64(j, "samples", x->samples);
		json__u64(j, "bytes_est", x->bytes);
		json__i64(j, "live_bytes_est", x->live_bytes);
		json__i64(j, "live_samples", x->live_samples);
		if (st->sampled)
			json__u64(j, "live_bytes_stderr", x->live_var > 0 ? (uint64_t)llround(sqrt((double)x->live_var)) : 0);
		json__arr(j, "stack");
		for (int f = 0; f < x->nframes; f++)
			json__str(j, NULL, x->frame[f]);
		json__end_arr(j);
		json__arr(j, "addresses");	/* of the frames, for symbolizers of one's own */
		for (int f = 0; f < x->nframes; f++) {
			char a[24];

			snprintf(a, sizeof(a), "0x%llx", (unsigned long long)x->ip[f]);
			json__str(j, NULL, a);
		}
		json__end_arr(j);
		json__str(j, "truncated", x->truncated[0] ? x->truncated : NULL);
		json__end_obj(j);
	}
	json__end_arr(j);
	json__obj(j, "settings");
	json__str(j, "MALLOC_CONF", st->settings.malloc_conf);
	json__str(j, "GLIBC_TUNABLES", st->settings.glibc_tunables);
	json__str(j, "MALLOC_ARENA_MAX", st->settings.arena_max);
	json__str(j, "TCMALLOC", st->settings.tc_env);
	json__str(j, "MIMALLOC", st->settings.mi_env);
	if (st->allocator && st->allocator->settings_text) {
		char buf[512];

		st->allocator->settings_text(&st->settings, buf, sizeof(buf));
		json__str(j, "text", buf);
	}
	json__end_obj(j);
}

/* A scratch buffer for one more figure in a line (two at a time). */
static char *ring(int k)
{
	static char b[2][32];

	return b[k & 1];
}

static void text_memory(FILE *f, const struct fs_state *st)
{
	const struct fs_memory *m = &st->mem;
	const struct fs_kstats *k = &st->snap.k;
	char b1[32], b2[32], b3[32], n1[32];

	if (!m->valid) {
		fprintf(f, "\n  memory: not read (the target exited before a sample)\n");
	} else {
		fprintf(f, "\n  memory waterfall (the allocator's memory, on evidence: %s)%s\n",
			st->light && m->held_basis == FS_B_CENSUS ? "light mode, glibc's heap census"
			: st->light && m->held_basis != FS_B_ALLOC_STATS ? "light mode, no census: held free not known"
			: m->held_basis == FS_B_TRACED ? "every block seen since the start"
			: m->held_basis == FS_B_CENSUS ? "blocks since attach, a census of those before"
			: m->held_basis == FS_B_ALLOC_STATS ? "jemalloc's own statistics"
							   : "blocks since attach; older content unseen",
			st->mem_age_ns ? " — last sample before exit" : "");
		if (st->light && st->lc.valid)
			fprintf(f, "  %12s  live        chunk bytes in use, from the heap census (not exact counts)\n",
				fmt__bytes(m->live, b1, sizeof(b1)));
		else if (st->light && m->je_valid)
			fprintf(f, "  %12s  live        allocated bytes, by the allocator's own statistics (not exact counts)\n",
				fmt__bytes(m->je_allocated, b1, sizeof(b1)));
		else if (st->light)
			fprintf(f, "  %12s  live        not known in light mode (no heap census)\n", "?");
		else
		fprintf(f, "  %12s  live        requested bytes of live blocks%s\n", fmt__bytes(m->live, b1, sizeof(b1)),
			st->traced_from_start ? "" : " allocated since attach");
		if (st->light) {
			if (st->lc.valid)
				fprintf(f, "  %12s  free        in glibc's free chunks (census), of which %s resident: what "
					   "malloc_trim(0) would release\n", fmt__bytes(st->lc.free, b1, sizeof(b1)),
					fmt__bytes(st->lc.free_resident, b2, sizeof(b2)));
		} else if (st->allocator && st->allocator->usable_sizes) {
			uint64_t u = agg__live_usable(&st->snap);

			fprintf(f, "  %12s  usable      what they take (malloc_usable_size): internal fragmentation %s%s\n",
				fmt__bytes(u, b1, sizeof(b1)), fmt__bytes(u > m->live ? u - m->live : 0, b2, sizeof(b2)),
				agg__usable_exact(&st->snap) ? "" : " (a lower bound: not exact)");
		} else {
			fprintf(f, "  %12s  usable      unknown: this allocator's size classes are not modelled\n", "?");
		}
		if (m->held_basis == FS_B_UNKNOWN && m->pre_attach_live)
			fprintf(f, "  %12s  +live       glibc's mmapped chunks from before attach, still mapped (chunk bytes)\n",
				fmt__bytes(m->pre_attach_live, b1, sizeof(b1)));
		if (m->held_basis == FS_B_ALLOC_STATS && m->pre_attach_live && !st->light)	/* light: it is the live line */
			fprintf(f, "  %12s  +live       jemalloc's allocated bytes beyond the blocks seen (from before attach; "
				   "usable bytes)\n", fmt__bytes(m->pre_attach_live, b1, sizeof(b1)));
		if (m->held_basis == FS_B_UNKNOWN) {
			fprintf(f, "  %12s  unseen      resident allocator memory beyond live that blocks from before "
				   "attach may fill: not known whether it is free\n", fmt__bytes(m->unseen, b1, sizeof(b1)));
			fprintf(f, "  %12s  held free   at least: resident, beyond live and beyond all memory mapped at "
				   "attach (fragmentation at least %.0f%%)\n", fmt__bytes(m->held_free, b1, sizeof(b1)),
				100 * memmodel__fragmentation(m));
		} else
			fprintf(f, "  %12s  held free   resident but holding no live bytes (%s; fragmentation %.0f%%)\n",
				fmt__bytes(m->held_free, b1, sizeof(b1)), memmodel__basis_name(m->held_basis),
				100 * memmodel__fragmentation(m));
		fprintf(f, "  %12s  mapped      allocator address space (heap %s, arena heaps %s, other %s)\n",
			fmt__bytes(m->mapped, b1, sizeof(b1)), fmt__bytes(m->kind_mapped[FS_RG_HEAP], b2, sizeof(b2)),
			fmt__bytes(m->kind_mapped[FS_RG_ARENA_HEAP], b3, sizeof(b3)),
			fmt__bytes(m->mapped > m->kind_mapped[FS_RG_HEAP] + m->kind_mapped[FS_RG_ARENA_HEAP]
					      ? m->mapped - m->kind_mapped[FS_RG_HEAP] - m->kind_mapped[FS_RG_ARENA_HEAP] : 0,
				      n1, sizeof(n1)));
		fprintf(f, "  %12s  resident    of which LazyFree %s\n", fmt__bytes(m->resident, b1, sizeof(b1)),
			fmt__bytes(m->lazyfree, b2, sizeof(b2)));
		if (st->census_done) {
			uint64_t gone = st->snap.c[FS_C_FREES_UNKNOWN_CHUNK_BYTES];

			fprintf(f, "  %12s  +live       blocks from before attach still live (census %s in use, "
				   "%s of it released since; chunk bytes)\n",
				fmt__bytes(st->census_in_use > gone ? st->census_in_use - gone : 0, b1, sizeof(b1)),
				fmt__bytes(st->census_in_use, b2, sizeof(b2)), fmt__bytes(gone, b3, sizeof(b3)));
		}
		if (st->je.valid)
			fprintf(f, "  jemalloc's own (%.1f s ago%s): allocated %s, active %s, dirty %s, muzzy %s, retained %s, "
				   "metadata %s\n", (double)(st->snap.mono_ns - st->je_ns) / 1e9,
				m->je_valid ? "" : "; the program called the allocator since: not used",
				fmt__bytes(st->je.allocated, b1, sizeof(b1)), fmt__bytes(st->je.active, b2, sizeof(b2)),
				fmt__bytes(st->je.pdirty * st->je.page, b3, sizeof(b3)),
				fmt__bytes(st->je.pmuzzy * st->je.page, n1, sizeof(n1)),
				fmt__bytes(st->je.retained, ring(0), 32), fmt__bytes(st->je.metadata, ring(1), 32));
		fprintf(f, "  all anonymous memory (RssAnon %s): allocator %s + stacks %s + program's own %s + "
			   "file data %s + unknown owner %s%s\n",
			fmt__bytes(m->rss_anon, b1, sizeof(b1)),
			fmt__bytes(m->own_resident[FS_OWN_ALLOCATOR], b2, sizeof(b2)),
			fmt__bytes(m->own_resident[FS_OWN_STACK], b3, sizeof(b3)),
			fmt__bytes(m->own_resident[FS_OWN_PROGRAM], n1, sizeof(n1)),
			fmt__bytes(m->own_resident[FS_OWN_FILE], ring(0), 32),
			fmt__bytes(m->own_resident[FS_OWN_UNKNOWN], ring(1), 32),
			m->owners_partial ? " (owners partly estimated)" : "");
		fprintf(f, "  %12s  returned    to the OS since attach (at the samples: peak live %s, peak resident %s)\n",
			fmt__bytes(m->returned, b1, sizeof(b1)), fmt__bytes(st->peak_live, b2, sizeof(b2)),
			fmt__bytes(st->peak_resident, b3, sizeof(b3)));
	}
	fprintf(f, "\n  %-22s %10s %12s %14s %8s\n", "releases", "calls", "asked", "resident~", "errors");
	for (int a = 0; a < FS_A__COUNT; a++) {
		char name[32];

		if (!k->adv[a].calls)
			continue;
		snprintf(name, sizeof(name), "madvise %s", fs_adv_names[a]);
		fprintf(f, "  %-22s %10s %12s %14s %8llu\n", name, fmt__num(k->adv[a].calls, n1, sizeof(n1)),
			fmt__bytes(k->adv[a].bytes, b1, sizeof(b1)), fmt__bytes(k->adv[a].resident, b2, sizeof(b2)),
			(unsigned long long)k->adv[a].errors);
	}
	fprintf(f, "  %-22s %10s %12s %14s %8llu\n", "munmap", fmt__num(k->sys[FS_S_MUNMAP].calls, n1, sizeof(n1)),
		fmt__bytes(k->sys[FS_S_MUNMAP].bytes, b1, sizeof(b1)),
		fmt__bytes(k->sys[FS_S_MUNMAP].resident, b2, sizeof(b2)), (unsigned long long)k->sys[FS_S_MUNMAP].errors);
	fprintf(f, "  %-22s %10s %12s %14s\n", "brk shrink", fmt__num(k->brk_shrink_calls, n1, sizeof(n1)),
		fmt__bytes(k->brk_shrink, b1, sizeof(b1)), fmt__bytes(k->sys[FS_S_BRK].resident, b2, sizeof(b2)));
	if (st->light && !st->sampled && !(st->allocator && st->allocator->id == FS_ALLOC_JEMALLOC))	/* none in jemalloc */
		fprintf(f, "  %-22s %10s\n", "malloc_trim()", "not seen in light mode: its releases count under glibc_trim");
	else if (st->sampled && st->win.period_ns)
		fprintf(f, "  %-22s %s calls seen in windows (--window: those outside count under glibc_trim)\n",
			"malloc_trim()", fmt__num(k->trim_calls, n1, sizeof(n1)));
	else if (k->trim_calls)
		fprintf(f, "  %-22s %10s %12s %14s\n", alloc__src_name(st->allocator, FS_R_MALLOC_TRIM) ?
			alloc__src_name(st->allocator, FS_R_MALLOC_TRIM) : "malloc_trim()", fmt__num(k->trim_calls, n1, sizeof(n1)), "",
			fmt__bytes(k->src_resident[FS_R_MALLOC_TRIM], b2, sizeof(b2)));
	fprintf(f, "  (resident~: the fall of the RSS counter across each call, exact to 32 pages per CPU)\n  by source:");
	for (int i = 0; i < FS_R__COUNT; i++)
		if (k->src_calls[i])
			fprintf(f, " %s %s (%llu calls)", alloc__src_name(st->allocator, i) ? alloc__src_name(st->allocator, i)
				: fs_src_names[i], fmt__bytes(k->src_resident[i], b1, sizeof(b1)),
				(unsigned long long)k->src_calls[i]);
	fprintf(f, "\n  syscalls%s:", st->sys_tracepoints ? "" : " (at libc's wrappers; times include ~1 us of probes a call)");
	for (int i = 0; i < FS_S__COUNT; i++)
		if (k->sys[i].calls)
			fprintf(f, " %s %s (%.1f ms%s)", fs_sys_names[i], fmt__num(k->sys[i].calls, n1, sizeof(n1)),
				(double)k->sys[i].ns / 1e6, k->sys[i].errors ? ", errors" : "");
	fprintf(f, "\n  page faults: %s (%s on pages released < 1 s before)\n", fmt__num(k->faults, n1, sizeof(n1)),
		fmt__num(k->churn_faults, b1, sizeof(b1)));
	text_maps(f, &st->maps);
	if (m->narenas) {
		fprintf(f, "\n  %-8s %-16s %6s %12s %12s %12s %10s\n", "arena", "", "heaps", "mapped", "resident",
			st->light ? "in use~" : "live", st->light ? "chunks~" : "blocks");
		for (int i = 0; i < m->narenas; i++) {
			const struct fs_arena *a = &m->arenas[i];
			char p[24];

			snprintf(p, sizeof(p), a->main ? "(brk heap)" : "0x%llx", (unsigned long long)a->ar_ptr);
			fprintf(f, "  %-8s %-16s %6d %12s %12s %12s %10s\n", a->main ? "main" : "thread", p, a->heaps,
				fmt__bytes(a->mapped, b1, sizeof(b1)), fmt__bytes(a->resident, b2, sizeof(b2)),
				fmt__bytes(a->live, b3, sizeof(b3)), fmt__num(a->live_blocks, n1, sizeof(n1)));
		}
	}
	if (m->pages_valid) {
		char mixed[96] = "";

		if (m->pages_mixed)
			snprintf(mixed, sizeof(mixed), "; %s resident in mappings shared with another owner not scanned",
				 fmt__bytes(m->pages_mixed, n1, sizeof(n1)));
		fprintf(f, "\n  pages: %s resident with no live block, %s under 10%% used (of %s scanned)%s%s%s\n",
			fmt__bytes(m->resident_no_live, b1, sizeof(b1)), fmt__bytes(m->low_occupancy, b2, sizeof(b2)),
			fmt__bytes(m->pages_scanned, b3, sizeof(b3)), m->pages_partial ? ", partial" : "", mixed,
			m->pages_approximate ? "; blocks allocated before attach are unknown, so these are upper bounds" : "");
	}
	if (m->pages_valid && m->deep_age_ns >= 1000000000ULL)
		fprintf(f, "  (arenas and pages from a sample %.1f s before the other figures)\n", (double)m->deep_age_ns / 1e9);
	if (st->nsites) {
		char b4[32], note[256];

		fprintf(f, "\n  top allocation sites by live bytes (~1 stack per %s allocated)\n  %s\n",
			fmt__bytes(st->sample_bytes, b4, sizeof(b4)), render__sites_note(st, note, sizeof(note)));
		for (int i = 0; i < st->nsites && i < 5; i++) {
			const struct fs_site_sym *x = &st->sites[i];

			fprintf(f, "  %12s live  %12s allocated  %s\n",
				fmt__bytes(x->live_bytes > 0 ? (uint64_t)x->live_bytes : 0, b1, sizeof(b1)),
				fmt__bytes(x->bytes, b2, sizeof(b2)), x->nframes ? x->frame[0] : "(no stack)");
			for (int fr = 1; fr < x->nframes && fr < 4; fr++)
				fprintf(f, "  %12s       %12s             %s\n", "", "", x->frame[fr]);
			if (x->truncated[0])
				fprintf(f, "  %12s       %12s             [truncated: %s]\n", "", "", x->truncated);
		}
	}
	fprintf(f, "\n  diagnosis: %s: %s\n", memmodel__diag_name(st->diag.kind), st->diag.text);
}

/* Whether the memory-syscall wrappers were probed (not the tracepoints). */
static int sys_uprobes(const struct fs_view *v)
{
	return v->st && !v->st->sys_tracepoints && v->plan->nsys == FS_S__COUNT;
}

void render__probe_cost_text(FILE *f, const struct fs_view *v)
{
	struct fs_cost_est e;
	char line[384];

	if (!v->rates || cost__estimate(v->plan, v->snap, sys_uprobes(v), v->duration_s, v->rates, &e))
		return;
	cost__line(&e, v->rates, line, sizeof(line));
	fprintf(f, "\n  %s\n", line);
}

void render__json_probe_cost(struct json *j, const struct fs_view *v)
{
	const struct fs_cost_rates *r = v->rates;
	struct fs_cost_kinds k;
	struct fs_cost_est e;
	uint64_t fcalls = 0;

	if (!r)
		return;
	json__obj(j, "probe_cost");
	if (cost__estimate(v->plan, v->snap, sys_uprobes(v), v->duration_s, r, &e)) {
		json__str(j, "error", "no interval to estimate over");
		json__end_obj(j);
		return;
	}
	for (int i = 0; i < v->plan->nprobes && i < v->snap->nfuncs; i++)
		fcalls += v->snap->f[i].calls;
	cost__kinds(v->plan, sys_uprobes(v), &k);
	json__dbl(j, "seconds", e.seconds);
	json__u64(j, "function_calls", fcalls);
	json__u64(j, "syscall_wrapper_calls", e.calls - fcalls);
	json__u64(j, "other_hits", e.other_hits);
	json__dbl(j, "calls_per_s", e.calls_per_s);
	json__dbl(j, "ns_per_call", e.mean_ns);
	json__dbl(j, "est_cpu_fraction", e.cpu_fraction);
	json__obj(j, "ns_per_hit");
	json__dbl(j, "emulated", r->emulated_ns);
	json__dbl(j, "single_stepped", r->stepped_ns);
	json__dbl(j, "return", r->return_ns);
	json__end_obj(j);
	json__obj(j, "probes");
	json__i64(j, "functions", k.funcs);
	json__i64(j, "emulated", k.emulated);
	json__i64(j, "single_stepped", k.stepped);
	json__i64(j, "with_return", k.returns);
	json__i64(j, "syscall_wrappers", k.sys);
	json__end_obj(j);
	json__bool(j, "measured", r->measured);
	json__str(j, "basis", r->basis);
	json__str(j, "excludes", "the BPF programs' own run time (roughly 10-30% more, BENCHMARKS.md)");
	json__end_obj(j);
}

void render__stat_json(FILE *f, const struct fs_view *v)
{
	struct json j;

	json__init(&j, f, 1);
	json__obj(&j, NULL);
	render__json_core(&j, v);
	json__end_obj(&j);
	json__finish(&j);
}

/* 1536 ns -> "1.5 us", 2.1e9 -> "2.1 s" */
static const char *duration(uint64_t ns, char *buf, size_t len)
{
	if (ns < 1000)
		snprintf(buf, len, "%llu ns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.1f us", (double)ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.1f ms", (double)ns / 1e6);
	else
		snprintf(buf, len, "%.1f s", (double)ns / 1e9);
	return buf;
}

static void text_hist(FILE *f, const char *title, const int64_t *h, int is_ns)
{
	int lo = -1, hi = -1;
	int64_t max = 0;

	for (int b = 0; b < FS_HIST_BUCKETS; b++)
		if (h[b] > 0) {
			if (lo < 0)
				lo = b;
			hi = b;
			if (h[b] > max)
				max = h[b];
		}
	if (lo < 0)
		return;
	fprintf(f, "\n  %s\n", title);
	for (int b = lo; b <= hi; b++) {
		char a[24], z[24], n[32];
		int bar = max ? (int)(h[b] * 40 / max) : 0;

		if (is_ns) {
			duration(b ? agg__bucket_max(b) / 2 : 0, a, sizeof(a));
			duration(agg__bucket_max(b), z, sizeof(z));
		} else {
			fmt__bytes(b ? agg__bucket_max(b) / 2 : 0, a, sizeof(a));
			fmt__bytes(agg__bucket_max(b), z, sizeof(z));
		}
		fprintf(f, "  %10s .. %-10s %14s |%-40.*s|\n", a, b ? z : "", fmt__num(h[b] > 0 ? (uint64_t)h[b] : 0, n, sizeof(n)),
			bar, "########################################");
	}
}

/* --mode light: no allocator call counted; the rest as in exact mode. */
static void light_text(FILE *f, const struct fs_view *v)
{
	const struct fs_light_census *lc = &v->st->lc;
	const struct fs_snapshot *s = v->snap;
	char b1[32], b2[32], b3[32], n1[32], n2[32];

	if (v->st->sampled) {
		struct fs_sampled_est e;

		sampled__estimate(&v->st->snap, v->st->sample_bytes, sampled__duty(&v->st->win, &v->st->snap, NULL), &e);
		if (e.duty < 1)
			fprintf(f, " %18s  %-22s ~%s allocations, ~%s requested: %s counted in %.1f s of %.1f s watched "
				   "(--window %.2g/%.2g), scaled\n", "~", "allocations",
				fmt__num((uint64_t)llround((double)s->c[FS_C_ALLOCS] / e.duty), n1, sizeof(n1)),
				fmt__bytes((uint64_t)llround((double)s->c[FS_C_ALLOC_BYTES] / e.duty), b1, sizeof(b1)),
				fmt__num(s->c[FS_C_ALLOCS], n2, sizeof(n2)), (double)v->st->win.attached_ns / 1e9,
				(double)v->st->win.elapsed_ns / 1e9, (double)v->st->win.on_ns / 1e9,
				(double)v->st->win.period_ns / 1e9);
		else
			fprintf(f, " %18s  %-22s %s requested (every call counted at its entry; failures not told apart)\n",
				fmt__num(s->c[FS_C_ALLOCS], n1, sizeof(n1)), "allocations", fmt__bytes(s->c[FS_C_ALLOC_BYTES], b1, sizeof(b1)));
		fprintf(f, " %18s  %-22s %s\n", fmt__num(s->c[FS_C_FREES], n1, sizeof(n1)), "frees",
			e.duty < 1 ? "(free calls all counted, realloc's only in windows; sizes not known)"
				   : "(sizes not known: blocks are not tracked, only sampled ones)");
		fprintf(f, " %18s  %-22s %s\n", fmt__num(s->c[FS_C_FREE_NULL], n1, sizeof(n1)), "free(NULL)", "");
		fmt__bytes((uint64_t)llround(e.live_stderr), b2, sizeof(b2));
		fprintf(f, " %18s  %-22s %s +- %s (standard error) in ~%s blocks, estimated from %s sampled blocks "
			   "still live (1 per ~%s allocated; %s)%s\n", "~",
			v->st->traced_from_start ? "live" : "live since attach",
			fmt__bytes((uint64_t)llround(e.live_bytes), b1, sizeof(b1)), b2,
			fmt__num((uint64_t)llround(e.live_blocks), n1, sizeof(n1)), fmt__num(e.live_samples, n2, sizeof(n2)),
			fmt__bytes(e.period, b3, sizeof(b3)), e.period > 1 ? "exponential intervals" : "every block",
			e.lost ? "; samples lost (table full): an underestimate" : "");
	} else {
		fprintf(f, " %18s  %-22s %s\n", "-", "allocations, frees", "not counted in light mode (no probe on the allocator's functions)");
	}
	if (lc->valid)
		fprintf(f, " %18s  %-22s %s in use, %s chunks, by the heap census %.1f s before the end "
			   "(chunk bytes, not exact counts%s)\n", "~", "live", fmt__bytes(lc->in_use, b1, sizeof(b1)),
			fmt__num(lc->chunks, b2, sizeof(b2)),
			v->st->snap.mono_ns > lc->end_ns ? (double)(v->st->snap.mono_ns - lc->end_ns) / 1e9 : 0.0,
			lc->approximate ? "; approximate: the heap changed during the walk" : "");
	if (lc->valid && (lc->mm_unaccounted_chunks || lc->mm_unaccounted_bytes))
		fprintf(f, " %18s  %-22s %s in %s mmapped chunks glibc counts were not found: not in live\n", "",
			"unaccounted", fmt__bytes(lc->mm_unaccounted_bytes, b1, sizeof(b1)),
			fmt__num(lc->mm_unaccounted_chunks, b2, sizeof(b2)));
	if (!lc->valid && v->st->mem.je_valid)	/* as the JSON's live: the allocator's own statistics */
		fprintf(f, " %18s  %-22s %s allocated, by the allocator's own statistics %.1f s before the end "
			   "(usable bytes, not exact counts)\n", "~", "live",
			fmt__bytes(v->st->mem.je_allocated, b1, sizeof(b1)),
			v->st->snap.mono_ns > v->st->je_ns ? (double)(v->st->snap.mono_ns - v->st->je_ns) / 1e9 : 0.0);
	else if (!lc->valid)
		fprintf(f, " %18s  %-22s %s\n", "?", "live", v->st->allocator && v->st->allocator->heap_walk
			? "not known: no heap census completed" : "not known in light mode (no heap census for this allocator)");
	if (lc->walks) {
		char gib[48] = "";

		if (light__ns_per_gib(lc) > 0)
			snprintf(gib, sizeof(gib), " (%.0f ms per GiB of heaps)", light__ns_per_gib(lc) / 1e6);
		fprintf(f, " %18s  %-22s %llu walks, last %.1f ms over %s of heaps%s and %s mmapped chunks (%s); at "
			   "most %d%% of wall time: %llu deep samples skipped one\n", "", "heap census",
			(unsigned long long)lc->walks, (double)lc->walk_ns / 1e6, fmt__bytes(lc->heap_bytes, b1, sizeof(b1)),
			gib, fmt__num(lc->mm_chunks, b2, sizeof(b2)), fmt__bytes(lc->mmapped_bytes, b3, sizeof(b3)),
			FS_LIGHT_CENSUS_PCT, (unsigned long long)lc->skipped);
	}
	text_memory(f, v->st);
	render__probe_cost_text(f, v);
	if (v->st->sampled)
		fprintf(f, "\n sampled mode over %.2f s: calls counted exactly; live bytes by site estimated from "
			   "sampled blocks; the waterfall's live bytes %s; the releases, syscalls and page faults are "
			   "the kernel's own counts\n\n", v->duration_s,
			lc->valid ? "are the heap census's (chunk bytes)"
				  : v->st->mem.je_valid ? "are the allocator's own statistics (usable bytes)" : "are not known");
	else
		fprintf(f, "\n light mode over %.2f s: no allocator call was counted; live bytes %s; the releases, "
			   "syscalls and page faults are the kernel's own counts\n\n", v->duration_s,
			lc->valid ? "are the heap census's (chunk bytes)"
				  : v->st->mem.je_valid ? "are the allocator's own statistics (usable bytes)" : "are not known");
}

void render__stat_text(FILE *f, const struct fs_view *v)
{
	const struct fs_snapshot *s = v->snap;
	const struct fs_plan *p = v->plan;
	char n1[32], b1[32];
	uint64_t lost = agg__lost(s);

	char ctr[700];

	fprintf(f, "\n fragscope stat: PID %d (%s)%s, %s allocator in %s%s\n", v->target->pid,
		v->target->comm, v->target->exited ? ", exited" : "", p->alloc_name, p->object,
		v->st && v->st->light ? (v->st->sampled ? ", sampled mode" : ", light mode") : "");
	render__container(v->target, ctr, sizeof(ctr));
	if (ctr[0])	/* as the container sees it; files read through /proc/PID/root */
		fprintf(f, " container: %s\n", ctr);
	fputc('\n', f);
	if (v->st && v->st->light) {
		light_text(f, v);
		return;
	}
#define ROW(val, label, extra) fprintf(f, " %18s  %-22s %s\n", fmt__num(val, n1, sizeof(n1)), label, extra)
	ROW(s->c[FS_C_ALLOCS], "allocations", fmt__bytes(s->c[FS_C_ALLOC_BYTES], b1, sizeof(b1)));
	ROW(s->c[FS_C_FREES], "frees", fmt__bytes(s->c[FS_C_FREE_BYTES], b1, sizeof(b1)));
	if (s->c[FS_C_FREES_UNKNOWN] || !v->target->attached_at_start)
		ROW(s->c[FS_C_FREES_UNKNOWN], "frees of unknown size", "(blocks allocated before attach)");
	if (s->c[FS_C_FREES_INTERNAL])
		ROW(s->c[FS_C_FREES_INTERNAL], "allocator-internal", "(releases of cached blocks by the allocator itself, e.g. tcache flush at thread exit: not counted as frees)");
	ROW(s->c[FS_C_FAILED], "failed allocations", "");
	ROW(s->c[FS_C_FREE_NULL], "free(NULL)", "");
	ROW(agg__live_count(s), "live blocks", fmt__bytes(agg__live_bytes(s), b1, sizeof(b1)));
	fprintf(f, " %18s  %-22s %s\n", fmt__num(s->c[FS_C_UNTRACKED], n1, sizeof(n1)), "untracked",
		s->c[FS_C_UNTRACKED] ? "(allocation map full: raise --max-live; live figures are a lower bound)"
				     : "(allocation map never full)");
	if (s->c[FS_C_STALE])
		ROW(s->c[FS_C_STALE], "releases never seen", "(address reused while live: block retired)");
	if (s->c[FS_C_UNMATCHED])
		ROW(s->c[FS_C_UNMATCHED], "returns never seen", "(calls left by longjmp or detach)");
	if (s->prog_misses)
		ROW(s->prog_misses, "probe runs skipped", "(by the kernel: counts may be short)");
#undef ROW
	fprintf(f, "\n  %-36s %14s %14s %10s\n", "function", "calls", "bytes", "failed");
	for (int i = 0; i < p->nprobes && i < s->nfuncs; i++) {
		char c[32], by[32], fl[32];

		if (!s->f[i].calls)
			continue;
		fprintf(f, "  %-36s %14s %14s %10s\n", p->probes[i].name,
			fmt__num(s->f[i].calls, c, sizeof(c)), fmt__bytes(s->f[i].bytes, by, sizeof(by)),
			fmt__num(s->f[i].failed, fl, sizeof(fl)));
	}
	text_hist(f, "allocation sizes (all)", s->h[FS_H_ALLOC_SIZE], 0);
	text_hist(f, "allocation sizes (live)", s->h[FS_H_LIVE_SIZE], 0);
	if (v->st && v->st->lifetime_sampling > 1) {
		char title[96];

		snprintf(title, sizeof(title), "lifetimes of freed blocks (1 in %u timed, counts scaled: estimates)",
			 v->st->lifetime_sampling);
		text_hist(f, title, s->h[FS_H_LIFETIME_NS], 1);
	} else {
		text_hist(f, "lifetimes of freed blocks", s->h[FS_H_LIFETIME_NS], 1);
	}
	if (v->st)
		text_memory(f, v->st);
	for (int i = 0; i < p->nnotes; i++)
		fprintf(f, "\n  note: %s", p->notes[i]);
	render__probe_cost_text(f, v);
	if ((v->target->children || v->target->execs) && !v->target->follow) {
		fprintf(f, "\n  not traced: %llu child process%s born during the trace%s (fragscope stat follows them)",
			(unsigned long long)v->target->children, v->target->children == 1 ? "" : "es",
			v->target->execs ? ", and the new image it exec'd" : "");
		fprintf(f, "\n %s over %.2f s for PID %d alone: %s\n\n", lost ? "NOT EXACT" : "exact", v->duration_s,
			v->target->pid,
			lost ? "see the counts of untracked/unseen above"
			     : v->target->attached_at_start ? "every call of its first image since start was counted"
							    : "every call since attach was counted, up to any exec");
		return;
	}
	fprintf(f, "\n %s over %.2f s: %s\n\n", lost ? "NOT EXACT" : "exact", v->duration_s,
		lost ? "see the counts of untracked/unseen above"
		     : v->target->attached_at_start ? "every call since start was counted"
						    : "every call since attach was counted");
}

/* --- a traced family: every process, what was not traced -------------------------- */

static const char *role_name(int role)
{
	return role == FS_ROLE_CHILD ? "child" : role == FS_ROLE_EXEC ? "exec" : "target";
}

static const char *traced_from(const struct fs_target_info *t)
{
	return t->role == FS_ROLE_CHILD ? "birth" : t->attached_at_start ? "start" : "attach";
}

static int view_exact(const struct fs_view *v)
{
	return agg__lost(v->snap) == 0 && !v->target->late[0];
}

/* Processes that ran untraced though they were to be traced. */
static uint64_t procs_missed(const struct fs_procs_view *pv)
{
	uint64_t n = pv->uf_more + pv->events_lost;

	for (int i = 0; i < pv->nuf; i++)
		n += !pv->uf[i].chosen;
	return n;
}

int render__procs_exact(const struct fs_procs_view *pv)
{
	if (procs_missed(pv))
		return 0;
	for (int i = 0; i < pv->n; i++)
		if (!view_exact(&pv->views[i]))
			return 0;
	return 1;
}

void render__procs_text(FILE *f, const struct fs_procs_view *pv)
{
	uint64_t allocs = 0, frees = 0, live = 0, nlive = 0;
	char n1[32], n2[32], b1[32], b2[32];
	int exact = render__procs_exact(pv), late = 0;

	if (pv->n && pv->views[0].st && pv->views[0].st->light) {
		fprintf(f, "\n processes: %d traced, light mode: calls not counted%s\n", pv->n,
			pv->follow ? " (children and new images followed)" : "");
		for (int i = 0; i < pv->n; i++)
			fprintf(f, "  %8d %8d  %-16.16s %-6s %-9.9s  %s\n", pv->views[i].target->pid, pv->views[i].target->ppid,
				pv->views[i].target->comm, role_name(pv->views[i].target->role), pv->views[i].plan->alloc_name,
				pv->views[i].target->exited ? "exited" : "running");
		goto untraced;
	}
	fprintf(f, "\n processes: %d traced%s\n", pv->n, pv->follow ? " (children and new images followed)" : "");
	fprintf(f, "  %8s %8s  %-16s %-6s %-9s %14s %14s %10s  %s\n", "PID", "PPID", "comm", "role", "allocator",
		"allocations", "frees", "live", "status");
	for (int i = 0; i < pv->n; i++) {
		const struct fs_view *v = &pv->views[i];
		const struct fs_target_info *t = v->target;
		char st[64], pp[16];

		allocs += v->snap->c[FS_C_ALLOCS];
		frees += v->snap->c[FS_C_FREES];
		live += agg__live_bytes(v->snap);
		nlive += agg__live_count(v->snap);
		late += t->late[0] != 0;
		if (t->replaced)
			snprintf(st, sizeof(st), "replaced (exec)");
		else if (t->exited && t->exit_code >= 0)
			snprintf(st, sizeof(st), "exited %d", t->exit_code);
		else
			snprintf(st, sizeof(st), "%s", t->exited ? "exited" : "running");
		snprintf(pp, sizeof(pp), t->ppid ? "%d" : "-", t->ppid);
		fprintf(f, "  %8d %8s  %-16.16s %-6s %-9.9s %14s %14s %10s  %s%s%s\n", t->pid, pp, t->comm,
			role_name(t->role), v->plan->alloc_name, fmt__num(v->snap->c[FS_C_ALLOCS], n1, sizeof(n1)),
			fmt__num(v->snap->c[FS_C_FREES], n2, sizeof(n2)),
			fmt__bytes(agg__live_bytes(v->snap), b1, sizeof(b1)), st, i == pv->primary ? " *" : "",
			view_exact(v) ? "" : " NOT EXACT");
	}
	fprintf(f, "  %8s %8s  %-16s %-6s %-9s %14s %14s %10s\n", "", "", "total", "", "",
		fmt__num(allocs, n1, sizeof(n1)), fmt__num(frees, n2, sizeof(n2)),
		fmt__bytes(live, b2, sizeof(b2)));
	fprintf(f, "  (* the process asked for; live: %s blocks in all, each process's own since it was traced)\n",
		fmt__num(nlive, n1, sizeof(n1)));
untraced:
	if (pv->nuf || pv->uf_more || pv->events_lost) {
		fprintf(f, "\n not traced:\n");
		for (int i = 0; i < pv->nuf; i++)
			fprintf(f, "  %8d %8d  %-16.16s %s\n", pv->uf[i].pid, pv->uf[i].ppid, pv->uf[i].comm, pv->uf[i].why);
		if (pv->uf_more)
			fprintf(f, "  and %llu more\n", (unsigned long long)pv->uf_more);
		if (pv->events_lost)
			fprintf(f, "  %llu births or execs never reported (event ring full)\n",
				(unsigned long long)pv->events_lost);
	}
	if (pv->n && pv->views[0].st && pv->views[0].st->light)
		return;
	if (exact && pv->nuf)
		fprintf(f, "\n exact for the processes traced; %d not followed, as asked (listed above; --follow traces them)\n\n",
			pv->nuf);
	else if (exact)
		fprintf(f, "\n exact: every call of every process was counted, each from its first instruction%s\n\n",
			pv->views[0].target->attached_at_start ? "" : " (the target: from attach)");
	else
		fprintf(f, "\n NOT EXACT: %s%s\n\n",
			procs_missed(pv) ? "processes ran untraced that were to be followed (listed above)"
					 : "some processes' counts are not exact",
			late ? "; some were not held at birth and their first calls were missed" : "");
}

/* A count, or null in light mode (not counted, never 0). */
static void jcount(struct json *j, const char *key, int light, uint64_t v)
{
	if (light)
		json__str(j, key, NULL);
	else
		json__u64(j, key, v);
}

void render__procs_json(struct json *j, const struct fs_procs_view *pv)
{
	uint64_t allocs = 0, frees = 0, ba = 0, bf = 0, live = 0, nlive = 0;
	int light = pv->n && pv->views[0].st && pv->views[0].st->light;	/* calls not counted: null */

	json__bool(j, "follow", pv->follow);
	json__arr(j, "processes");
	for (int i = 0; i < pv->n; i++) {
		const struct fs_view *v = &pv->views[i];
		const struct fs_target_info *t = v->target;
		const struct fs_snapshot *s = v->snap;

		allocs += s->c[FS_C_ALLOCS];
		frees += s->c[FS_C_FREES];
		ba += s->c[FS_C_ALLOC_BYTES];
		bf += s->c[FS_C_FREE_BYTES];
		live += agg__live_bytes(s);
		nlive += agg__live_count(s);
		json__obj(j, NULL);
		json__i64(j, "pid", t->pid);
		render__json_container(j, &t->ctr);
		json__i64(j, "ppid", t->ppid);
		json__str(j, "comm", t->comm);
		json__str(j, "role", role_name(t->role));
		json__bool(j, "primary", i == pv->primary);
		json__str(j, "traced_from", traced_from(t));
		json__bool(j, "replaced", t->replaced);
		json__bool(j, "exited", t->exited);
		if (t->exit_code >= 0)
			json__i64(j, "exit_code", t->exit_code);
		json__str(j, "allocator", v->plan->alloc_name);
		json__str(j, "object", v->plan->object);
		jcount(j, "allocs", light, s->c[FS_C_ALLOCS]);
		jcount(j, "frees", light, s->c[FS_C_FREES]);
		jcount(j, "bytes_allocated", light, s->c[FS_C_ALLOC_BYTES]);
		jcount(j, "bytes_freed", light, s->c[FS_C_FREE_BYTES]);
		jcount(j, "frees_unknown", light, s->c[FS_C_FREES_UNKNOWN]);
		jcount(j, "failed_allocs", light, s->c[FS_C_FAILED]);
		jcount(j, "free_null", light, s->c[FS_C_FREE_NULL]);
		jcount(j, "live_count", light, agg__live_count(s));
		jcount(j, "live_bytes", light, agg__live_bytes(s));
		if (alloc__by_id(v->plan->alloc)->usable_sizes) {
			jcount(j, "live_usable_bytes", light, agg__live_usable(s));
			json__bool(j, "usable_exact", agg__usable_exact(s));
		}
		json__u64(j, "children_born", t->children);
		if (v->st && v->st->mem.valid)
			json__u64(j, "resident", v->st->mem.resident);
		json__bool(j, "exact", !light && view_exact(v));
		if (t->late[0])
			json__str(j, "not_exact_why", t->late);
		json__dbl(j, "duration_s", v->duration_s);
		json__end_obj(j);
	}
	json__end_arr(j);
	json__obj(j, "processes_total");
	json__u64(j, "processes", (uint64_t)pv->n);
	jcount(j, "allocs", light, allocs);
	jcount(j, "frees", light, frees);
	jcount(j, "bytes_allocated", light, ba);
	jcount(j, "bytes_freed", light, bf);
	jcount(j, "live_count", light, nlive);
	jcount(j, "live_bytes", light, live);
	json__bool(j, "exact", !light && render__procs_exact(pv));
	json__end_obj(j);
	json__obj(j, "untraced");
	json__u64(j, "count", (uint64_t)pv->nuf + pv->uf_more + pv->events_lost);
	json__u64(j, "missed", procs_missed(pv));
	json__u64(j, "events_lost", pv->events_lost);
	json__arr(j, "processes");
	for (int i = 0; i < pv->nuf; i++) {
		json__obj(j, NULL);
		json__i64(j, "pid", pv->uf[i].pid);
		json__i64(j, "ppid", pv->uf[i].ppid);
		json__str(j, "comm", pv->uf[i].comm);
		json__str(j, "why", pv->uf[i].why);
		json__bool(j, "chosen", pv->uf[i].chosen);
		json__end_obj(j);
	}
	json__end_arr(j);
	json__end_obj(j);
}
