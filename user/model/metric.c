/* metric.c - the metric table and the enum name tables every output reads. The
 * rows are in the session's column order (a session's snapshots table is created
 * from them: append only, never reorder, or older sessions read wrong). */
#include <math.h>
#include <string.h>
#include "model/metric.h"

const char *const fs_unit_names[FS_UNIT__COUNT] = {
	[FS_UNIT_COUNT] = "count", [FS_UNIT_BYTES] = "bytes", [FS_UNIT_PER_S] = "1/s",
	[FS_UNIT_BYTES_PER_S] = "bytes/s", [FS_UNIT_RATIO] = "ratio", [FS_UNIT_BOOL] = "bool",
	[FS_UNIT_ENUM] = "enum",
};

const char *const fs_sys_names[FS_S__COUNT] = { "mmap", "munmap", "mremap", "brk", "madvise", "mprotect" };
const char *const fs_adv_names[FS_A__COUNT] = { "DONTNEED", "FREE", "HUGEPAGE", "NOHUGEPAGE", "OTHER" };
const char *const fs_adv_cols[FS_A__COUNT] = { "dontneed", "free", "hugepage", "nohugepage", "other" };
const char *const fs_src_names[FS_R__COUNT] = {
	[FS_R_GLIBC_TRIM] = "glibc_trim", [FS_R_MALLOC_TRIM] = "malloc_trim", [FS_R_JE_DECAY] = "jemalloc_decay",
	[FS_R_JE_BACKGROUND] = "jemalloc_background", [FS_R_MUNMAP_BLOCK] = "munmap_block",
	[FS_R_PROGRAM] = "program", [FS_R_OTHER] = "other",
};
_Static_assert(FS_R__COUNT == 7, "a new release source needs its name and its src_ metrics");
const char *const fs_map_names[FS_M__COUNT] = { "allocator", "stack", "file", "other_anon" };
const char *const fs_kind_names[FS_RG__COUNT] = { "heap", "arena_heaps", "anon", "stacks", "reserved",
						  "files", "other" };
const char *const fs_hist_names[FS_H__COUNT] = { "alloc_size", "live_size", "lifetime_ns" };
const char *const fs_mode_names[FS_MODE__COUNT] = { "exact", "light", "sampled" };
const char *const fs_live_src_names[FS_LIVE__COUNT] = { "not_known", "heap_census", "allocator_stats" };
const char *const fs_live_src_units[FS_LIVE__COUNT] = { NULL, "chunk_bytes", "usable_bytes" };
const char *const fs_duty_basis_names[FS_DUTY__COUNT] = { NULL, "free_calls", "wall_time" };

/* ---- the figures derived, not stored in a struct ---- */

static uint64_t get_deep(const struct fs_metric_src *s) { return (uint64_t)s->deep; }
static uint64_t get_live_count(const struct fs_metric_src *s) { return agg__live_count(s->sn); }
static uint64_t get_live_bytes(const struct fs_metric_src *s) { return agg__live_bytes(s->sn); }
static uint64_t get_live_usable(const struct fs_metric_src *s) { return agg__live_usable(s->sn); }
static uint64_t get_max_live(const struct fs_metric_src *s) { return s->max_live; }
static uint64_t get_mem_valid(const struct fs_metric_src *s) { return (uint64_t)s->m->valid; }
static uint64_t get_held_basis(const struct fs_metric_src *s) { return (uint64_t)s->m->held_basis; }
static uint64_t get_peak_live(const struct fs_metric_src *s) { return s->peak_live; }
static uint64_t get_peak_resident(const struct fs_metric_src *s) { return s->peak_resident; }
static uint64_t get_live_source(const struct fs_metric_src *s)
{
	return s->m->light_census ? FS_LIVE_HEAP_CENSUS : s->m->je_valid ? FS_LIVE_ALLOC_STATS : FS_LIVE_NOT_KNOWN;
}
static uint64_t get_live_est(const struct fs_metric_src *s)
{
	return s->m->light_census ? s->m->live : s->m->je_valid ? s->m->je_allocated : 0;
}
static uint64_t get_census_age_ms(const struct fs_metric_src *s)
{
	return s->m->light_census ? s->m->light_age_ns / 1000000 : 0;
}
/* --mode sampled (model/sampled.h): 0 without its estimates */
static uint64_t round_u(double v) { return v > 0 ? (uint64_t)llround(v) : 0; }
static uint64_t get_sm_live_est(const struct fs_metric_src *s) { return s->sm ? round_u(s->sm->live_bytes) : 0; }
static uint64_t get_sm_live_stderr(const struct fs_metric_src *s) { return s->sm ? round_u(s->sm->live_stderr) : 0; }
static uint64_t get_sm_live_blocks(const struct fs_metric_src *s) { return s->sm ? round_u(s->sm->live_blocks) : 0; }
static uint64_t get_sm_sampled(const struct fs_metric_src *s) { return s->sm ? s->sm->sampled : 0; }
static uint64_t get_sm_live_samples(const struct fs_metric_src *s) { return s->sm ? s->sm->live_samples : 0; }
static uint64_t get_sm_lost(const struct fs_metric_src *s) { return s->sm ? s->sm->lost : 0; }
static uint64_t get_sm_stale(const struct fs_metric_src *s) { return s->sm ? s->sm->stale : 0; }
static double get_sm_duty(const struct fs_metric_src *s) { return s->sm ? s->sm->duty : 1; }
static uint64_t get_sm_duty_basis(const struct fs_metric_src *s) { return (uint64_t)s->duty_basis; }
static uint64_t get_sm_allocs_est(const struct fs_metric_src *s)
{
	return s->sm ? round_u((double)s->sn->c[FS_C_ALLOCS] / s->sm->duty) : 0;
}
static uint64_t get_sm_bytes_allocated_est(const struct fs_metric_src *s)
{
	return s->sm ? round_u((double)s->sn->c[FS_C_ALLOC_BYTES] / s->sm->duty) : 0;
}
static double get_fragmentation(const struct fs_metric_src *s) { return memmodel__fragmentation(s->m); }

#define SN(f) FS_MF_SNAP, offsetof(struct fs_snapshot, f), NULL, NULL
#define MEM(f) FS_MF_MEM, offsetof(struct fs_memory, f), NULL, NULL
#define RATE(f) FS_MF_RATE, offsetof(struct fs_snapshot, f), NULL, NULL
#define GET(fn) FS_MF_GET, 0, fn, NULL
#define GETD(fn) FS_MF_GET, 0, NULL, fn

/* { column, json, label, unit, exact, group, real, from, off, get, getd } */
const struct fs_metric fs_metrics[] = {
	{ "deep", NULL, "deep sample (arenas, pages, sites)", FS_UNIT_BOOL, 1, SG_TIME, 0, GET(get_deep) },
	{ "allocs", "totals.allocs", "allocations", FS_UNIT_COUNT, 1, SG_COUNTERS, 0, SN(c[FS_C_ALLOCS]) },
	{ "frees", "totals.frees", "frees", FS_UNIT_COUNT, 1, SG_COUNTERS, 0, SN(c[FS_C_FREES]) },
	{ "bytes_allocated", "totals.bytes_allocated", "bytes allocated", FS_UNIT_BYTES, 1, SG_COUNTERS, 0, SN(c[FS_C_ALLOC_BYTES]) },
	{ "bytes_freed", "totals.bytes_freed", "bytes freed", FS_UNIT_BYTES, 1, SG_COUNTERS, 0, SN(c[FS_C_FREE_BYTES]) },
	{ "failed_allocs", "totals.failed_allocs", "failed allocations", FS_UNIT_COUNT, 1, SG_COUNTERS, 0, SN(c[FS_C_FAILED]) },
	{ "frees_unknown", "totals.frees_unknown", "frees of unknown size", FS_UNIT_COUNT, 1, SG_COUNTERS, 0, SN(c[FS_C_FREES_UNKNOWN]) },
	{ NULL, "totals.frees_unknown_chunk_bytes", "chunk bytes of frees of unknown size", FS_UNIT_BYTES, 1, SG_COUNTERS, 0, SN(c[FS_C_FREES_UNKNOWN_CHUNK_BYTES]) },
	{ "free_null", "totals.free_null", "free(NULL)", FS_UNIT_COUNT, 1, SG_COUNTERS, 0, SN(c[FS_C_FREE_NULL]) },
	{ "resized_in_place", "totals.resized_in_place", "resized in place", FS_UNIT_COUNT, 1, SG_COUNTERS, 0, SN(c[FS_C_RESIZE_IN_PLACE]) },
	{ "frees_internal", "totals.frees_internal", "frees by the allocator's own code", FS_UNIT_COUNT, 1, SG_COUNTERS, 0, SN(c[FS_C_FREES_INTERNAL]) },
	{ "live_count", "live.count", "live blocks", FS_UNIT_COUNT, 1, SG_COUNTERS, 0, GET(get_live_count) },
	{ "live_bytes", "live.bytes", "live bytes", FS_UNIT_BYTES, 1, SG_COUNTERS, 0, GET(get_live_bytes) },
	{ "untracked", "lost.untracked", "untracked (live map full)", FS_UNIT_COUNT, 1, SG_COUNTERS, 0, SN(c[FS_C_UNTRACKED]) },
	{ "untracked_bytes", "lost.untracked_bytes", "untracked bytes", FS_UNIT_BYTES, 1, SG_COUNTERS, 0, SN(c[FS_C_UNTRACKED_BYTES]) },
	{ "stale", "lost.stale", "stale (a release never seen)", FS_UNIT_COUNT, 1, SG_COUNTERS, 0, SN(c[FS_C_STALE]) },
	{ "stale_bytes", "lost.stale_bytes", "stale bytes", FS_UNIT_BYTES, 1, SG_COUNTERS, 0, SN(c[FS_C_STALE_BYTES]) },
	{ "unmatched_returns", "lost.unmatched_returns", "unmatched returns", FS_UNIT_COUNT, 1, SG_COUNTERS, 0, SN(c[FS_C_UNMATCHED]) },
	{ "prog_misses", "lost.prog_misses", "probe runs the kernel skipped", FS_UNIT_COUNT, 1, SG_COUNTERS, 0, SN(prog_misses) },
	{ NULL, "lost.map_capacity", "live map capacity", FS_UNIT_COUNT, 1, SG_COUNTERS, 0, GET(get_max_live) },
	{ "nested_calls", "nested_calls", "nested calls (not counted twice)", FS_UNIT_COUNT, 1, SG_COUNTERS, 0, SN(c[FS_C_NESTED]) },
	{ "samples", NULL, "sampled stacks", FS_UNIT_COUNT, 1, SG_COUNTERS, 0, SN(c[FS_C_SAMPLES]) },
	{ "stacks_lost", NULL, "sampled stacks lost", FS_UNIT_COUNT, 1, SG_COUNTERS, 0, SN(c[FS_C_STACKS_LOST]) },
	{ "allocs_per_s", NULL, "allocations per second", FS_UNIT_PER_S, 1, SG_RATES, 1, RATE(c[FS_C_ALLOCS]) },
	{ "frees_per_s", NULL, "frees per second", FS_UNIT_PER_S, 1, SG_RATES, 1, RATE(c[FS_C_FREES]) },
	{ "bytes_allocated_per_s", NULL, "bytes allocated per second", FS_UNIT_BYTES_PER_S, 1, SG_RATES, 1, RATE(c[FS_C_ALLOC_BYTES]) },
	{ "bytes_freed_per_s", NULL, "bytes freed per second", FS_UNIT_BYTES_PER_S, 1, SG_RATES, 1, RATE(c[FS_C_FREE_BYTES]) },
	{ "faults_per_s", NULL, "page faults per second", FS_UNIT_PER_S, 1, SG_RATES, 1, RATE(k.faults) },
	{ "mem_valid", "memory.valid", "memory read", FS_UNIT_BOOL, 1, SG_MEMORY, 0, GET(get_mem_valid) },
	{ "rss_anon", "memory.rss_anon", "the whole RssAnon of the process", FS_UNIT_BYTES, 1, SG_MEMORY, 0, MEM(rss_anon) },
	{ "mapped", "memory.mapped", "allocator address space", FS_UNIT_BYTES, 1, SG_MEMORY, 0, MEM(mapped) },
	{ "resident", "memory.resident", "of which resident", FS_UNIT_BYTES, 1, SG_MEMORY, 0, MEM(resident) },
	{ "lazyfree", "memory.lazyfree", "of which MADV_FREE'd, not yet reclaimed", FS_UNIT_BYTES, 1, SG_MEMORY, 0, MEM(lazyfree) },
	{ "live", "memory.live", "requested bytes of live blocks", FS_UNIT_BYTES, 1, SG_MEMORY, 0, MEM(live) },
	{ "live_usable", "live.usable_bytes", "usable bytes of live blocks", FS_UNIT_BYTES, 1, SG_MEMORY, 0, GET(get_live_usable) },
	{ "held_free", "memory.held_free", "resident, holding no live bytes", FS_UNIT_BYTES, 0, SG_MEMORY, 0, MEM(held_free) },
	{ "held_free_basis", "memory.held_free_basis", "how held_free is known", FS_UNIT_ENUM, 1, SG_MEMORY, 0, GET(get_held_basis) },
	{ "unseen", "memory.unseen", "resident bytes blocks from before attach may fill", FS_UNIT_BYTES, 0, SG_MEMORY, 0, MEM(unseen) },
	{ "stacks", "memory.stacks", "thread stacks (resident)", FS_UNIT_BYTES, 1, SG_MEMORY, 0, MEM(own_resident[FS_OWN_STACK]) },
	{ "program_own", "memory.program_own", "the program's own mappings (resident)", FS_UNIT_BYTES, 1, SG_MEMORY, 0, MEM(own_resident[FS_OWN_PROGRAM]) },
	{ "file_private", "memory.file_private", "anonymous pages of file mappings", FS_UNIT_BYTES, 1, SG_MEMORY, 0, MEM(own_resident[FS_OWN_FILE]) },
	{ "other_anon", "memory.other_anon", "anonymous memory of unknown owner", FS_UNIT_BYTES, 1, SG_MEMORY, 0, MEM(own_resident[FS_OWN_UNKNOWN]) },
	{ "returned", "memory.returned", "given back to the OS since the start", FS_UNIT_BYTES, 1, SG_MEMORY, 0, MEM(returned) },
	{ "fragmentation", "memory.fragmentation", "resident share without live data", FS_UNIT_RATIO, 0, SG_MEMORY, 1, GETD(get_fragmentation) },
	{ "peak_live", "memory.peak_live", "peak live bytes", FS_UNIT_BYTES, 1, SG_MEMORY, 0, GET(get_peak_live) },
	{ "peak_resident", "memory.peak_resident", "peak resident", FS_UNIT_BYTES, 1, SG_MEMORY, 0, GET(get_peak_resident) },
	{ "heap_mapped", "memory.by_kind.heap.mapped", "the brk heap, mapped", FS_UNIT_BYTES, 1, SG_MEMORY, 0, MEM(kind_mapped[FS_RG_HEAP]) },
	{ "heap_resident", "memory.by_kind.heap.resident", "the brk heap, resident", FS_UNIT_BYTES, 1, SG_MEMORY, 0, MEM(kind_resident[FS_RG_HEAP]) },
	{ "arena_heaps_mapped", "memory.by_kind.arena_heaps.mapped", "arena heaps, mapped", FS_UNIT_BYTES, 1, SG_MEMORY, 0, MEM(kind_mapped[FS_RG_ARENA_HEAP]) },
	{ "arena_heaps_resident", "memory.by_kind.arena_heaps.resident", "arena heaps, resident", FS_UNIT_BYTES, 1, SG_MEMORY, 0, MEM(kind_resident[FS_RG_ARENA_HEAP]) },
	{ "anon_mapped", "memory.by_kind.anon.mapped", "other anonymous mappings, mapped", FS_UNIT_BYTES, 1, SG_MEMORY, 0, MEM(kind_mapped[FS_RG_ANON]) },
	{ "anon_resident", "memory.by_kind.anon.resident", "other anonymous mappings, resident", FS_UNIT_BYTES, 1, SG_MEMORY, 0, MEM(kind_resident[FS_RG_ANON]) },
	{ "madv_dontneed_calls", "releases.madvise.DONTNEED.calls", "madvise(MADV_DONTNEED) calls", FS_UNIT_COUNT, 1, SG_RELEASES, 0, SN(k.adv[FS_A_DONTNEED].calls) },
	{ "madv_dontneed_bytes", "releases.madvise.DONTNEED.bytes", "madvise(MADV_DONTNEED) bytes", FS_UNIT_BYTES, 1, SG_RELEASES, 0, SN(k.adv[FS_A_DONTNEED].bytes) },
	{ "madv_dontneed_resident", "releases.madvise.DONTNEED.resident", "madvise(MADV_DONTNEED) resident bytes released", FS_UNIT_BYTES, 1, SG_RELEASES, 0, SN(k.adv[FS_A_DONTNEED].resident) },
	{ "madv_dontneed_errors", "releases.madvise.DONTNEED.errors", "madvise(MADV_DONTNEED) errors", FS_UNIT_COUNT, 1, SG_RELEASES, 0, SN(k.adv[FS_A_DONTNEED].errors) },
	{ "madv_free_calls", "releases.madvise.FREE.calls", "madvise(MADV_FREE) calls", FS_UNIT_COUNT, 1, SG_RELEASES, 0, SN(k.adv[FS_A_FREE].calls) },
	{ "madv_free_bytes", "releases.madvise.FREE.bytes", "madvise(MADV_FREE) bytes", FS_UNIT_BYTES, 1, SG_RELEASES, 0, SN(k.adv[FS_A_FREE].bytes) },
	{ "madv_free_resident", "releases.madvise.FREE.resident", "madvise(MADV_FREE) resident bytes released", FS_UNIT_BYTES, 1, SG_RELEASES, 0, SN(k.adv[FS_A_FREE].resident) },
	{ "madv_free_errors", "releases.madvise.FREE.errors", "madvise(MADV_FREE) errors", FS_UNIT_COUNT, 1, SG_RELEASES, 0, SN(k.adv[FS_A_FREE].errors) },
	{ "madv_hugepage_calls", "releases.madvise.HUGEPAGE.calls", "madvise(MADV_HUGEPAGE) calls", FS_UNIT_COUNT, 1, SG_RELEASES, 0, SN(k.adv[FS_A_HUGEPAGE].calls) },
	{ "madv_hugepage_bytes", "releases.madvise.HUGEPAGE.bytes", "madvise(MADV_HUGEPAGE) bytes", FS_UNIT_BYTES, 1, SG_RELEASES, 0, SN(k.adv[FS_A_HUGEPAGE].bytes) },
	{ "madv_hugepage_resident", "releases.madvise.HUGEPAGE.resident", "madvise(MADV_HUGEPAGE) resident bytes released", FS_UNIT_BYTES, 1, SG_RELEASES, 0, SN(k.adv[FS_A_HUGEPAGE].resident) },
	{ "madv_hugepage_errors", "releases.madvise.HUGEPAGE.errors", "madvise(MADV_HUGEPAGE) errors", FS_UNIT_COUNT, 1, SG_RELEASES, 0, SN(k.adv[FS_A_HUGEPAGE].errors) },
	{ "madv_nohugepage_calls", "releases.madvise.NOHUGEPAGE.calls", "madvise(MADV_NOHUGEPAGE) calls", FS_UNIT_COUNT, 1, SG_RELEASES, 0, SN(k.adv[FS_A_NOHUGEPAGE].calls) },
	{ "madv_nohugepage_bytes", "releases.madvise.NOHUGEPAGE.bytes", "madvise(MADV_NOHUGEPAGE) bytes", FS_UNIT_BYTES, 1, SG_RELEASES, 0, SN(k.adv[FS_A_NOHUGEPAGE].bytes) },
	{ "madv_nohugepage_resident", "releases.madvise.NOHUGEPAGE.resident", "madvise(MADV_NOHUGEPAGE) resident bytes released", FS_UNIT_BYTES, 1, SG_RELEASES, 0, SN(k.adv[FS_A_NOHUGEPAGE].resident) },
	{ "madv_nohugepage_errors", "releases.madvise.NOHUGEPAGE.errors", "madvise(MADV_NOHUGEPAGE) errors", FS_UNIT_COUNT, 1, SG_RELEASES, 0, SN(k.adv[FS_A_NOHUGEPAGE].errors) },
	{ "madv_other_calls", "releases.madvise.OTHER.calls", "madvise(MADV_OTHER) calls", FS_UNIT_COUNT, 1, SG_RELEASES, 0, SN(k.adv[FS_A_OTHER].calls) },
	{ "madv_other_bytes", "releases.madvise.OTHER.bytes", "madvise(MADV_OTHER) bytes", FS_UNIT_BYTES, 1, SG_RELEASES, 0, SN(k.adv[FS_A_OTHER].bytes) },
	{ "madv_other_resident", "releases.madvise.OTHER.resident", "madvise(MADV_OTHER) resident bytes released", FS_UNIT_BYTES, 1, SG_RELEASES, 0, SN(k.adv[FS_A_OTHER].resident) },
	{ "madv_other_errors", "releases.madvise.OTHER.errors", "madvise(MADV_OTHER) errors", FS_UNIT_COUNT, 1, SG_RELEASES, 0, SN(k.adv[FS_A_OTHER].errors) },
	{ "munmap_calls", NULL, "munmap calls", FS_UNIT_COUNT, 1, SG_RELEASES, 0, SN(k.sys[FS_S_MUNMAP].calls) },
	{ "munmap_bytes", NULL, "munmap bytes", FS_UNIT_BYTES, 1, SG_RELEASES, 0, SN(k.sys[FS_S_MUNMAP].bytes) },
	{ "munmap_resident", NULL, "munmap resident bytes released", FS_UNIT_BYTES, 1, SG_RELEASES, 0, SN(k.sys[FS_S_MUNMAP].resident) },
	{ "brk_shrink_calls", NULL, "brk shrinks", FS_UNIT_COUNT, 1, SG_RELEASES, 0, SN(k.brk_shrink_calls) },
	{ "brk_shrink_bytes", NULL, "bytes the brk heap shrank", FS_UNIT_BYTES, 1, SG_RELEASES, 0, SN(k.brk_shrink) },
	{ "brk_shrink_resident", NULL, "brk shrink resident bytes released", FS_UNIT_BYTES, 1, SG_RELEASES, 0, SN(k.sys[FS_S_BRK].resident) },
	{ "malloc_trim_calls", NULL, "malloc_trim() calls", FS_UNIT_COUNT, 1, SG_RELEASES, 0, SN(k.trim_calls) },
	{ "malloc_trim_released", NULL, "malloc_trim() calls that released memory", FS_UNIT_COUNT, 1, SG_RELEASES, 0, SN(k.trim_released) },
	{ "malloc_trim_resident", NULL, "resident bytes malloc_trim() released", FS_UNIT_BYTES, 1, SG_RELEASES, 0, SN(k.src_resident[FS_R_MALLOC_TRIM]) },
	{ "src_glibc_trim_calls", NULL, "releases by glibc_trim", FS_UNIT_COUNT, 1, SG_RELEASES, 0, SN(k.src_calls[FS_R_GLIBC_TRIM]) },
	{ "src_glibc_trim_resident", NULL, "resident bytes released by glibc_trim", FS_UNIT_BYTES, 1, SG_RELEASES, 0, SN(k.src_resident[FS_R_GLIBC_TRIM]) },
	{ "src_malloc_trim_calls", NULL, "releases by malloc_trim", FS_UNIT_COUNT, 1, SG_RELEASES, 0, SN(k.src_calls[FS_R_MALLOC_TRIM]) },
	{ "src_malloc_trim_resident", NULL, "resident bytes released by malloc_trim", FS_UNIT_BYTES, 1, SG_RELEASES, 0, SN(k.src_resident[FS_R_MALLOC_TRIM]) },
	{ "src_jemalloc_decay_calls", NULL, "releases by jemalloc_decay", FS_UNIT_COUNT, 1, SG_RELEASES, 0, SN(k.src_calls[FS_R_JE_DECAY]) },
	{ "src_jemalloc_decay_resident", NULL, "resident bytes released by jemalloc_decay", FS_UNIT_BYTES, 1, SG_RELEASES, 0, SN(k.src_resident[FS_R_JE_DECAY]) },
	{ "src_jemalloc_background_calls", NULL, "releases by jemalloc_background", FS_UNIT_COUNT, 1, SG_RELEASES, 0, SN(k.src_calls[FS_R_JE_BACKGROUND]) },
	{ "src_jemalloc_background_resident", NULL, "resident bytes released by jemalloc_background", FS_UNIT_BYTES, 1, SG_RELEASES, 0, SN(k.src_resident[FS_R_JE_BACKGROUND]) },
	{ "src_munmap_block_calls", NULL, "releases by munmap_block", FS_UNIT_COUNT, 1, SG_RELEASES, 0, SN(k.src_calls[FS_R_MUNMAP_BLOCK]) },
	{ "src_munmap_block_resident", NULL, "resident bytes released by munmap_block", FS_UNIT_BYTES, 1, SG_RELEASES, 0, SN(k.src_resident[FS_R_MUNMAP_BLOCK]) },
	{ "src_other_calls", NULL, "releases by other", FS_UNIT_COUNT, 1, SG_RELEASES, 0, SN(k.src_calls[FS_R_OTHER]) },
	{ "src_other_resident", NULL, "resident bytes released by other", FS_UNIT_BYTES, 1, SG_RELEASES, 0, SN(k.src_resident[FS_R_OTHER]) },
	{ "src_program_calls", NULL, "releases by program", FS_UNIT_COUNT, 1, SG_RELEASES, 0, SN(k.src_calls[FS_R_PROGRAM]) },
	{ "src_program_resident", NULL, "resident bytes released by program", FS_UNIT_BYTES, 1, SG_RELEASES, 0, SN(k.src_resident[FS_R_PROGRAM]) },
	{ "mmap_calls", NULL, "mmap calls", FS_UNIT_COUNT, 1, SG_RELEASES, 0, SN(k.sys[FS_S_MMAP].calls) },
	{ "mmap_bytes", NULL, "mmap bytes", FS_UNIT_BYTES, 1, SG_RELEASES, 0, SN(k.sys[FS_S_MMAP].bytes) },
	{ "brk_grow", NULL, "bytes the brk heap grew", FS_UNIT_BYTES, 1, SG_RELEASES, 0, SN(k.brk_grow) },
	{ "faults", NULL, "page faults", FS_UNIT_COUNT, 1, SG_RELEASES, 0, SN(k.faults) },
	{ "churn_faults", NULL, "faults on pages released less than a second before", FS_UNIT_COUNT, 1, SG_RELEASES, 0, SN(k.churn_faults) },
	/* light mode only (metric__in_mode): what stands for live when no call is counted */
	{ "live_est", NULL, "live bytes, not counted: the heap census's chunk bytes in use or the allocator's allocated bytes (live_source)", FS_UNIT_BYTES, 0, SG_MEMORY, 0, GET(get_live_est) },
	{ "live_source", NULL, "what live_est is (0 not known, 1 heap census, 2 allocator's statistics)", FS_UNIT_ENUM, 1, SG_MEMORY, 0, GET(get_live_source) },
	{ "census_free_resident", NULL, "resident free pages malloc_trim(0) would release, by the heap census", FS_UNIT_BYTES, 0, SG_MEMORY, 0, MEM(light_trim) },
	{ "census_age_ms", NULL, "age of the heap census live_est is from (ms)", FS_UNIT_COUNT, 1, SG_MEMORY, 0, GET(get_census_age_ms) },
	/* sampled mode only: the estimates from the sampled blocks (requested bytes of the
	 * blocks allocated since attach, Horvitz-Thompson weights; model/sampled.h) */
	{ "sm_live_est", NULL, "live bytes estimated from sampled blocks (requested bytes)", FS_UNIT_BYTES, 0, SG_COUNTERS, 0, GET(get_sm_live_est) },
	{ "sm_live_stderr", NULL, "standard error of sm_live_est", FS_UNIT_BYTES, 0, SG_COUNTERS, 0, GET(get_sm_live_stderr) },
	{ "sm_live_blocks_est", NULL, "live blocks estimated from sampled blocks", FS_UNIT_COUNT, 0, SG_COUNTERS, 0, GET(get_sm_live_blocks) },
	{ "sm_blocks_sampled", NULL, "blocks sampled since attach", FS_UNIT_COUNT, 1, SG_COUNTERS, 0, GET(get_sm_sampled) },
	{ "sm_live_samples", NULL, "sampled blocks live", FS_UNIT_COUNT, 1, SG_COUNTERS, 0, GET(get_sm_live_samples) },
	{ "sm_lost", NULL, "blocks sampled but not recorded (table full: the estimates are low)", FS_UNIT_COUNT, 1, SG_COUNTERS, 0, GET(get_sm_lost) },
	{ "sm_stale", NULL, "sampled addresses returned again before their release was seen", FS_UNIT_COUNT, 1, SG_COUNTERS, 0, GET(get_sm_stale) },
	/* sampled mode with --window only: the allocation probes attached part of the time */
	{ "sm_duty", NULL, "share of the program's calls the windows saw (estimates are scaled by 1/duty)", FS_UNIT_RATIO, 0, SG_COUNTERS, 1, GETD(get_sm_duty) },
	{ "sm_duty_basis", NULL, "what sm_duty is the share of (1 release calls, 2 wall time)", FS_UNIT_ENUM, 1, SG_COUNTERS, 0, GET(get_sm_duty_basis) },
	{ "sm_allocs_seen", NULL, "allocations counted while the probes were attached", FS_UNIT_COUNT, 1, SG_COUNTERS, 0, SN(c[FS_C_ALLOCS]) },
	{ "sm_bytes_allocated_seen", NULL, "bytes they asked for", FS_UNIT_BYTES, 1, SG_COUNTERS, 0, SN(c[FS_C_ALLOC_BYTES]) },
	{ "sm_allocs_est", NULL, "allocations, estimated: those seen scaled by 1/duty", FS_UNIT_COUNT, 0, SG_COUNTERS, 0, GET(get_sm_allocs_est) },
	{ "sm_bytes_allocated_est", NULL, "bytes allocated, estimated: those seen scaled by 1/duty", FS_UNIT_BYTES, 0, SG_COUNTERS, 0, GET(get_sm_bytes_allocated_est) },
};
const int fs_nmetrics = (int)(sizeof(fs_metrics) / sizeof(fs_metrics[0]));

#undef SN
#undef MEM
#undef RATE
#undef GET
#undef GETD

static uint64_t at(const void *base, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)base + off, sizeof(v));
	return v;
}

static double rate(uint64_t delta, double dt)
{
	return dt > 0 ? (double)delta / dt : 0;
}

int64_t metric__i64(const struct fs_metric *m, const struct fs_metric_src *s)
{
	switch (m->from) {
	case FS_MF_SNAP:
		return (int64_t)at(s->sn, m->off);
	case FS_MF_MEM:
		return (int64_t)at(s->m, m->off);
	case FS_MF_RATE:
		return (int64_t)rate(at(s->d, m->off), s->dt);
	default:
		return m->get ? (int64_t)m->get(s) : (int64_t)m->getd(s);
	}
}

double metric__dbl(const struct fs_metric *m, const struct fs_metric_src *s)
{
	switch (m->from) {
	case FS_MF_SNAP:
		return (double)at(s->sn, m->off);
	case FS_MF_MEM:
		return (double)at(s->m, m->off);
	case FS_MF_RATE:
		return rate(at(s->d, m->off), s->dt);
	default:
		return m->get ? (double)m->get(s) : m->getd(s);
	}
}

const char *metric__key(const struct fs_metric *m)
{
	const char *dot;

	if (!m->json)
		return NULL;
	dot = strrchr(m->json, '.');
	return dot ? dot + 1 : m->json;
}

int metric__in(const struct fs_metric *m, const char *obj)
{
	const char *key = metric__key(m);
	size_t n = strlen(obj);

	if (!key)
		return 0;
	if (!n)
		return key == m->json;
	return (size_t)(key - m->json) == n + 1 && !strncmp(m->json, obj, n);
}

const struct fs_metric *metric__by_column(const char *column)
{
	for (int i = 0; i < fs_nmetrics; i++)
		if (fs_metrics[i].column && !strcmp(fs_metrics[i].column, column))
			return &fs_metrics[i];
	return NULL;
}

int metric__mode(const char *name)
{
	for (int i = 0; name && i < FS_MODE__COUNT; i++)
		if (!strcmp(fs_mode_names[i], name))
			return i;
	return -1;
}

static int named(const struct fs_metric *m, const char *const *names)
{
	for (; *names; names++)
		if (m->column && !strcmp(m->column, *names))
			return 1;
	return 0;
}

int metric__in_mode(const struct fs_metric *m, int mode)
{
	return metric__in_run(m, mode, 0);
}

int metric__in_run(const struct fs_metric *m, int mode, int windowed)
{
	/* the census figures: light and sampled mode (the waterfall's live bytes) */
	static const char *const census[] = { "live_est", "live_source", "census_free_resident",
					      "census_age_ms", NULL };
	static const char *const sampled_only[] = { "sm_live_est", "sm_live_stderr", "sm_live_blocks_est",
						    "sm_blocks_sampled", "sm_live_samples", "sm_lost", "sm_stale",
						    NULL };
	static const char *const window_only[] = { "sm_duty", "sm_duty_basis", "sm_allocs_seen",
						   "sm_bytes_allocated_seen", "sm_allocs_est",
						   "sm_bytes_allocated_est", NULL };
	/* counted at the allocator's functions: light mode has no probe there */
	static const char *const counted[] = { "allocs_per_s", "frees_per_s", "bytes_allocated_per_s",
					       "bytes_freed_per_s", "live", "live_usable", "peak_live",
					       "malloc_trim_calls", "malloc_trim_released", "malloc_trim_resident",
					       "src_malloc_trim_calls", "src_malloc_trim_resident", NULL };
	/* sampled mode counts every call at its entry: these stay exact; sizes of
	 * released blocks, failures and the block map's figures are not counted */
	static const char *const sm_counted[] = { "allocs", "frees", "bytes_allocated", "free_null",
						  "frees_internal", "nested_calls", "prog_misses", "samples",
						  "stacks_lost", "allocs_per_s", "frees_per_s",
						  "bytes_allocated_per_s", "malloc_trim_calls", "malloc_trim_released",
						  "malloc_trim_resident", "src_malloc_trim_calls",
						  "src_malloc_trim_resident", NULL };
	/* --window: only the release probes (always attached) count all the time; the
	 * releases malloc_trim made in windows stay in the ledger by source */
	static const char *const sm_window_counted[] = { "free_null", "frees_internal", "prog_misses",
							 "samples", "stacks_lost", "src_malloc_trim_calls",
							 "src_malloc_trim_resident", NULL };

	if (named(m, sampled_only))
		return mode == FS_MODE_SAMPLED;
	if (named(m, window_only))
		return mode == FS_MODE_SAMPLED && windowed;
	if (mode == FS_MODE_LIGHT)
		return !(m->group & SG_COUNTERS) && !named(m, counted);
	if (mode == FS_MODE_SAMPLED)
		return (!(m->group & SG_COUNTERS) && !named(m, counted)) ||
		       named(m, windowed ? sm_window_counted : sm_counted);
	return !named(m, census);
}
