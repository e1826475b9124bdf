/* render.c - text and JSON views of a snapshot. */
#include <inttypes.h>
#include <string.h>
#include "render.h"

const char *render__num(uint64_t v, char *buf, size_t len)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v), o = 0;

	for (int i = 0; i < n; i++) {
		int comma = i && (n - i) % 3 == 0;

		if ((size_t)(o + comma + 1) >= len)
			break;
		if (comma)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = 0;
	return buf;
}

const char *render__bytes(uint64_t v, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double d = (double)v;
	int u = 0;

	while (d >= 1024 && u < 5) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRIu64 " B", v);
	else
		snprintf(buf, len, "%.1f %s", d, unit[u]);
	return buf;
}

static const char *hist_names[FS_H__COUNT] = { "alloc_size", "live_size", "lifetime_ns" };

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

void render__json_core(struct json *j, const struct fs_view *v)
{
	const struct fs_snapshot *s = v->snap;
	const struct fs_plan *p = v->plan;

	json__obj(j, "target");
	json__i64(j, "pid", v->target->pid);
	json__str(j, "comm", v->target->comm);
	json__bool(j, "exited", v->target->exited);
	if (v->target->exit_code >= 0)
		json__i64(j, "exit_code", v->target->exit_code);
	json__bool(j, "traced_from_start", v->target->attached_at_start);
	json__end_obj(j);

	json__obj(j, "allocator");
	json__str(j, "name", p->alloc_name);
	json__str(j, "object", p->object);
	json__str(j, "prefix", p->prefix);
	json__str(j, "found_by", p->how);
	json__end_obj(j);

	json__dbl(j, "duration_s", v->duration_s);

	json__obj(j, "totals");
	json__u64(j, "allocs", s->c[FS_C_ALLOCS]);
	json__u64(j, "frees", s->c[FS_C_FREES]);
	json__u64(j, "bytes_allocated", s->c[FS_C_ALLOC_BYTES]);
	json__u64(j, "bytes_freed", s->c[FS_C_FREE_BYTES]);
	json__u64(j, "failed_allocs", s->c[FS_C_FAILED]);
	json__u64(j, "frees_unknown", s->c[FS_C_FREES_UNKNOWN]);
	json__u64(j, "free_null", s->c[FS_C_FREE_NULL]);
	json__u64(j, "resized_in_place", s->c[FS_C_RESIZE_IN_PLACE]);
	json__u64(j, "frees_internal", s->c[FS_C_FREES_INTERNAL]);
	json__end_obj(j);

	json__obj(j, "live");
	json__u64(j, "count", agg__live_count(s));
	json__u64(j, "bytes", agg__live_bytes(s));
	json__bool(j, "exact", agg__lost(s) == 0);
	json__end_obj(j);

	json__obj(j, "lost");
	json__u64(j, "untracked", s->c[FS_C_UNTRACKED]);
	json__u64(j, "untracked_bytes", s->c[FS_C_UNTRACKED_BYTES]);
	json__u64(j, "stale", s->c[FS_C_STALE]);
	json__u64(j, "stale_bytes", s->c[FS_C_STALE_BYTES]);
	json__u64(j, "unmatched_returns", s->c[FS_C_UNMATCHED]);
	json__u64(j, "prog_misses", s->prog_misses);
	json__u64(j, "map_capacity", v->max_live);
	json__end_obj(j);

	json__u64(j, "nested_calls", s->c[FS_C_NESTED]);

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

	json__obj(j, "histograms");
	for (int h = 0; h < FS_H__COUNT; h++)
		json_hist(j, hist_names[h], s->h[h]);
	json__end_obj(j);

	json__arr(j, "notes");
	for (int i = 0; i < p->nnotes; i++)
		json__str(j, NULL, p->notes[i]);
	json__end_arr(j);
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
			snprintf(a, sizeof(a), "%.3g us", b ? (double)(agg__bucket_max(b) / 2) / 1000 : 0);
			snprintf(z, sizeof(z), "%.3g us", (double)agg__bucket_max(b) / 1000);
		} else {
			render__bytes(b ? agg__bucket_max(b) / 2 : 0, a, sizeof(a));
			render__bytes(agg__bucket_max(b), z, sizeof(z));
		}
		fprintf(f, "  %10s .. %-10s %14s |%-40.*s|\n", a, b ? z : "", render__num(h[b] > 0 ? (uint64_t)h[b] : 0, n, sizeof(n)),
			bar, "########################################");
	}
}

void render__stat_text(FILE *f, const struct fs_view *v)
{
	const struct fs_snapshot *s = v->snap;
	const struct fs_plan *p = v->plan;
	char n1[32], b1[32];
	uint64_t lost = agg__lost(s);

	fprintf(f, "\n fragscope stat: PID %d (%s)%s, %s allocator in %s\n\n", v->target->pid,
		v->target->comm, v->target->exited ? ", exited" : "", p->alloc_name, p->object);
#define ROW(val, label, extra) fprintf(f, " %18s  %-22s %s\n", render__num(val, n1, sizeof(n1)), label, extra)
	ROW(s->c[FS_C_ALLOCS], "allocations", render__bytes(s->c[FS_C_ALLOC_BYTES], b1, sizeof(b1)));
	ROW(s->c[FS_C_FREES], "frees", render__bytes(s->c[FS_C_FREE_BYTES], b1, sizeof(b1)));
	if (s->c[FS_C_FREES_UNKNOWN] || !v->target->attached_at_start)
		ROW(s->c[FS_C_FREES_UNKNOWN], "frees of unknown size", "(blocks allocated before attach)");
	if (s->c[FS_C_FREES_INTERNAL])
		ROW(s->c[FS_C_FREES_INTERNAL], "allocator-internal", "(releases of cached blocks by the allocator itself, e.g. tcache flush at thread exit: not counted as frees)");
	ROW(s->c[FS_C_FAILED], "failed allocations", "");
	ROW(s->c[FS_C_FREE_NULL], "free(NULL)", "");
	ROW(agg__live_count(s), "live blocks", render__bytes(agg__live_bytes(s), b1, sizeof(b1)));
	fprintf(f, " %18s  %-22s %s\n", render__num(s->c[FS_C_UNTRACKED], n1, sizeof(n1)), "untracked",
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
			render__num(s->f[i].calls, c, sizeof(c)), render__bytes(s->f[i].bytes, by, sizeof(by)),
			render__num(s->f[i].failed, fl, sizeof(fl)));
	}
	text_hist(f, "allocation sizes (all)", s->h[FS_H_ALLOC_SIZE], 0);
	text_hist(f, "allocation sizes (live)", s->h[FS_H_LIVE_SIZE], 0);
	text_hist(f, "lifetimes of freed blocks", s->h[FS_H_LIFETIME_NS], 1);
	for (int i = 0; i < p->nnotes; i++)
		fprintf(f, "\n  note: %s", p->notes[i]);
	fprintf(f, "\n %s over %.2f s: %s\n\n", lost ? "NOT EXACT" : "exact", v->duration_s,
		lost ? "see the counts of untracked/unseen above"
		     : v->target->attached_at_start ? "every call since start was counted"
						    : "every call since attach was counted");
}
