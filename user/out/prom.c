/* prom.c - the Prometheus text exposition of watched processes, from the metric
 * table: each exported row of fs_metrics becomes a family (or one labelled series
 * of a family: releases by source and by kind), named in base units. A figure a
 * process's mode does not have is left out, never written as 0. Pure. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/metric.h"
#include "model/sampled.h"
#include "out/prom.h"
#include "out/render.h"

/* Rows whose mechanical name would mislead: their family name before "_total". */
static const struct {
	const char *column;
	const char *name;	/* NULL: not exported */
} renames[] = {
	{ "live_count", "fragscope_live_blocks" },
	{ "live", NULL },	/* memory.live: live.bytes again (exact mode only) */
	{ "map_capacity", "fragscope_live_map_capacity_blocks" },
	{ "samples", "fragscope_stack_samples" },
	{ "live_est", "fragscope_live_estimate_bytes" },
	{ "census_age_ms", "fragscope_census_age_seconds" },
	{ "sm_live_est", "fragscope_sampled_live_bytes" },
	{ "sm_live_stderr", "fragscope_sampled_live_bytes_stderr" },
	{ "sm_live_blocks_est", "fragscope_sampled_live_blocks" },
	{ "sm_allocs_est", "fragscope_sampled_allocs" },
	{ "sm_bytes_allocated_est", "fragscope_sampled_allocated_bytes" },
	{ "sm_bytes_allocated_seen", "fragscope_sampled_allocated_seen_bytes" },
	{ "sm_blocks_sampled", "fragscope_sampled_blocks" },
};

/* Counted-so-far rows that are not counters: levels, and estimates (a scaled count
 * can go down when the scale changes: a counter never does). */
static const char *const gauges[] = { "live_count", "live_bytes", "map_capacity", "sm_live_est", "sm_live_stderr",
				      "sm_live_blocks_est", "sm_live_samples", "sm_duty", "sm_allocs_est",
				      "sm_bytes_allocated_est", NULL };

/* The release kinds whose resident bytes are one labelled family. */
static const struct {
	const char *column, *kind;
} kinds[] = {
	{ "madv_dontneed_resident", "madv_dontneed" },
	{ "madv_free_resident", "madv_free" },
	{ "munmap_resident", "munmap" },
	{ "brk_shrink_resident", "brk_shrink" },
};

#define PROM_KIND_FAMILY "fragscope_release_kind_resident_bytes_total"
#define PROM_SRC_BYTES_FAMILY "fragscope_release_source_resident_bytes_total"
#define PROM_SRC_CALLS_FAMILY "fragscope_release_source_calls_total"

static const char *col(const struct fs_metric *m)
{
	return m->column ? m->column : metric__key(m);
}

static int listed(const char *name, const char *const *list)
{
	for (; name && *list; list++)
		if (!strcmp(name, *list))
			return 1;
	return 0;
}

const char *prom__type(const struct fs_metric *m)
{
	const char *c = col(m);

	if (m->group & SG_RELEASES)
		return "counter";
	if (c && !strcmp(c, "returned"))
		return "counter";
	if ((m->group & SG_COUNTERS) && !listed(c, gauges))
		return "counter";
	return "gauge";
}

/* src_NAME_SUFFIX: the source's name (fs_src_names), or NULL. */
static const char *src_of(const char *c, const char *suffix)
{
	size_t n = strlen(c), sl = strlen(suffix);

	if (strncmp(c, "src_", 4) || n <= 4 + sl || strcmp(c + n - sl, suffix))
		return NULL;
	for (int i = 0; i < FS_R__COUNT; i++)
		if (fs_src_names[i] && strlen(fs_src_names[i]) == n - 4 - sl && !strncmp(c + 4, fs_src_names[i], n - 4 - sl))
			return fs_src_names[i];
	return NULL;
}

int prom__name(const struct fs_metric *m, char *name, size_t len, const char **label, const char **value)
{
	const char *c = col(m), *base;
	int counter = !strcmp(prom__type(m), "counter");
	char tmp[128];

	*label = *value = NULL;
	if (!c || m->unit == FS_UNIT_PER_S || m->unit == FS_UNIT_BYTES_PER_S || m->unit == FS_UNIT_BOOL ||
	    m->unit == FS_UNIT_ENUM)
		return -1;
	if ((*value = src_of(c, "_resident"))) {
		*label = "source";
		snprintf(name, len, "%s", PROM_SRC_BYTES_FAMILY);
		return 0;
	}
	if ((*value = src_of(c, "_calls"))) {
		*label = "source";
		snprintf(name, len, "%s", PROM_SRC_CALLS_FAMILY);
		return 0;
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(c, kinds[i].column)) {
			*label = "kind";
			*value = kinds[i].kind;
			snprintf(name, len, "%s", PROM_KIND_FAMILY);
			return 0;
		}
	for (size_t i = 0; i < sizeof(renames) / sizeof(renames[0]); i++)
		if (!strcmp(c, renames[i].column)) {
			if (!renames[i].name)
				return -1;
			snprintf(name, len, "%s%s", renames[i].name, counter ? "_total" : "");
			return 0;
		}
	base = !strncmp(c, "sm_", 3) ? c + 3 : c;
	snprintf(tmp, sizeof(tmp), "%s%s", base != c ? "sampled_" : "", base);
	if (m->unit == FS_UNIT_BYTES) {
		size_t n = strlen(tmp);

		if (!strncmp(tmp, "bytes_", 6))	/* bytes_allocated -> allocated_bytes */
			snprintf(name, len, "fragscope_%s_bytes", tmp + 6);
		else if (n > 6 && !strcmp(tmp + n - 6, "_bytes"))
			snprintf(name, len, "fragscope_%s", tmp);
		else
			snprintf(name, len, "fragscope_%s_bytes", tmp);
	} else if (m->unit == FS_UNIT_RATIO) {
		snprintf(name, len, "fragscope_%s_ratio", tmp);
	} else {
		snprintf(name, len, "fragscope_%s", tmp);
	}
	if (counter && strlen(name) + 7 <= len)
		strcat(name, "_total");
	return 0;
}

void prom__escape(FILE *f, const char *s, int quote)
{
	for (; s && *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else if (*s == '"' && quote)
			fputs("\\\"", f);
		else
			fputc(*s, f);
	}
}

/* Everything one process's values are read from. */
struct pstate {
	const struct prom_proc *p;
	struct fs_metric_src src;
	struct fs_sampled_est e;
	int mode, windowed;
};

static void label1(FILE *f, const char *label, const char *value)
{
	if (!label || !value)
		return;
	fprintf(f, ",%s=\"", label);
	prom__escape(f, value, 1);
	fputc('"', f);
}

/* The process's labels, then up to two more (NULL: none). */
static void labels(FILE *f, const struct pstate *ps, const char *label, const char *value, const char *label2,
		   const char *value2)
{
	const struct fs_view *v = ps->p->v;
	const struct fs_state *st = v->st;

	fprintf(f, "{pid=\"%d\",comm=\"", (int)v->target->pid);
	prom__escape(f, v->target->comm, 1);
	fputs("\",allocator=\"", f);
	prom__escape(f, st && st->allocator ? st->allocator->name : "unknown", 1);
	fprintf(f, "\",mode=\"%s\"", fs_mode_names[ps->mode]);
	/* where known: the cgroup (v2) path, and a container id found in it */
	label1(f, "cgroup", v->target->ctr.cgroup[0] ? v->target->ctr.cgroup : NULL);
	label1(f, "container", v->target->ctr.id[0] ? v->target->ctr.id : NULL);
	label1(f, label, value);
	label1(f, label2, value2);
	fputc('}', f);
}

/* 1 when process ps has the figure m (its mode has it, and it is known now). */
static int has(const struct pstate *ps, const struct fs_metric *m)
{
	const struct fs_state *st = ps->p->v->st;
	const char *c = col(m);

	if (!metric__in_run(m, ps->mode, ps->windowed))
		return 0;
	if (m->group & SG_MEMORY) {
		if (!st || !st->mem.valid)
			return 0;
		if (!strcmp(c, "held_free"))	/* 0 stands for unknown there */
			return st->mem.held_basis != 0;
		if (!strncmp(c, "census_", 7))
			return st->mem.light_census;
		if (!strcmp(c, "live_est"))
			return st->mem.light_census || st->mem.je_valid;
	}
	return 1;
}

static void value(FILE *f, const struct fs_metric *m, const struct fs_metric_src *src)
{
	const char *c = col(m);

	if (!strcmp(c, "census_age_ms"))
		fprintf(f, " %.3f\n", (double)metric__i64(m, src) / 1000);
	else if (m->real)
		fprintf(f, " %.17g\n", metric__dbl(m, src));
	else
		fprintf(f, " %" PRIu64 "\n", (uint64_t)metric__i64(m, src));
}

/* HELP: the row's label, or the family's for folded rows. */
static void help(FILE *f, const char *name, const struct fs_metric *m, const char *label)
{
	fprintf(f, "# HELP %s ", name);
	if (!strcmp(name, PROM_KIND_FAMILY))
		fputs("resident bytes given back to the OS, by release kind (madvise advice, munmap, brk shrink)", f);
	else if (!strcmp(name, PROM_SRC_BYTES_FAMILY))
		fputs("resident bytes given back to the OS, by who released them", f);
	else if (!strcmp(name, PROM_SRC_CALLS_FAMILY))
		fputs("releases of memory to the OS, by who released it", f);
	else
		prom__escape(f, m->label, 0);
	if (!label && !m->exact)
		fputs(" (estimated)", f);
	fputc('\n', f);
}

int prom__write(FILE *f, const struct prom_proc *procs, int n)
{
	static const struct fs_state none;
	struct pstate *ps = n ? calloc((size_t)n, sizeof(*ps)) : NULL;
	char *done = calloc((size_t)fs_nmetrics, 1);
	int running = 0;

	if ((n && !ps) || !done) {
		free(ps);
		free(done);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		const struct fs_view *v = procs[i].v;
		const struct fs_state *st = v->st ? v->st : &none;
		const char *basis = NULL;

		ps[i].p = &procs[i];
		ps[i].mode = metric__mode(render__mode_name(v->st));
		ps[i].windowed = st->win.period_ns != 0;
		ps[i].src = (struct fs_metric_src){ .sn = v->snap, .m = &st->mem, .d = v->snap, .dt = 0,
						    .peak_live = st->peak_live, .peak_resident = st->peak_resident,
						    .max_live = v->max_live };
		if (ps[i].mode == FS_MODE_SAMPLED) {
			sampled__estimate(v->snap, st->sample_bytes, sampled__duty(&st->win, v->snap, &basis), &ps[i].e);
			ps[i].src.sm = &ps[i].e;
			ps[i].src.duty_basis = !basis ? FS_DUTY_NONE : !strcmp(basis, "free_calls") ? FS_DUTY_FREE_CALLS
												 : FS_DUTY_WALL_TIME;
		}
		running += !v->target->exited;
	}
	/* a family's series are written together: for each family (first row first),
	 * every process, every row of the family */
	for (int i = 0; i < fs_nmetrics; i++) {
		char name[128], other[128];
		const char *lab, *val, *l2, *v2;
		int headed = 0;

		if (done[i] || prom__name(&fs_metrics[i], name, sizeof(name), &lab, &val))
			continue;
		for (int k = 0; k < n; k++) {
			if (procs[k].v->target->exited)
				continue;
			for (int r = i; r < fs_nmetrics; r++) {
				const struct fs_metric *m = &fs_metrics[r];

				if (prom__name(m, other, sizeof(other), &l2, &v2) || strcmp(other, name))
					continue;
				if (!has(&ps[k], m))
					continue;
				if (!headed) {
					help(f, name, m, lab);
					fprintf(f, "# TYPE %s %s\n", name, prom__type(m));
					headed = 1;
				}
				fputs(name, f);
				labels(f, &ps[k], l2, v2, NULL, NULL);
				value(f, m, &ps[k].src);
			}
		}
		for (int r = i; r < fs_nmetrics; r++)
			if (!prom__name(&fs_metrics[r], other, sizeof(other), &l2, &v2) && !strcmp(other, name))
				done[r] = 1;
	}
	fputs("# HELP fragscope_diagnosis_info what fragscope finds about the process's memory now (kind), and the "
	      "remedy it backs with evidence\n# TYPE fragscope_diagnosis_info gauge\n", f);
	for (int k = 0; k < n; k++) {
		const struct fs_state *st = procs[k].v->st;
		if (procs[k].v->target->exited || !st)
			continue;
		fputs("fragscope_diagnosis_info", f);
		labels(f, &ps[k], "kind", memmodel__diag_name(st->diag.kind), "remedy",
		       *st->diag.remedy ? st->diag.remedy : NULL);
		fputs(" 1\n", f);
	}
	fprintf(f, "# HELP fragscope_processes processes watched and running\n# TYPE fragscope_processes gauge\n"
		   "fragscope_processes %d\n", running);
	free(ps);
	free(done);
	return ferror(f) ? -EIO : 0;
}
