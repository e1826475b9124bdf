/* prom.h - the Prometheus text exposition (format 0.0.4) of watched processes:
 * one family per row of fs_metrics (model/metric.h) that a scraper can use, named
 * fragscope_* in base units, with HELP and TYPE, and labels pid, comm, allocator,
 * mode (and cgroup, container where known). Pure: the HTTP server is cmd/'s. */
#ifndef FS_PROM_H
#define FS_PROM_H

#include <stddef.h>
#include <stdio.h>
#include "types.h"

struct fs_metric;

/* One watched process as a scrape shows it. */
struct prom_proc {
	const struct fs_view *v;	/* v->st set: the sample's memory and diagnosis; v->target->ctr:
					 * the cgroup and container labels */
};

/* The family name of a metric row (with its unit suffix, "_total" for counters)
 * and, for rows folded into a labelled family (releases by source or kind), the
 * label's name and value. 0, or -1 when the row is not exported (rates: PromQL's
 * rate() does that; booleans and enums). */
int prom__name(const struct fs_metric *m, char *name, size_t len, const char **label, const char **value);
/* "counter" or "gauge". */
const char *prom__type(const struct fs_metric *m);
/* A label value with \, " and newline escaped (HELP text: quote=0, \ and newline only). */
void prom__escape(FILE *f, const char *s, int quote);
/* Every family for procs (exited ones are left out: their series end), then
 * fragscope_processes (how many are watched). 0, or -EIO. */
int prom__write(FILE *f, const struct prom_proc *procs, int n);

#endif
