/* render.h - turns a snapshot into what users read: the stat summary as text,
 * and the JSON vocabulary every command shares. Pure: no libbpf. */
#ifndef FS_RENDER_H
#define FS_RENDER_H

#include <stdio.h>
#include <sys/types.h>
#include "model/agg.h"
#include "model/state.h"
#include "types.h"
#include "util/fmt.h"
#include "util/json.h"
#include "plan/resolve.h"

/* 1 if nothing was left untraced and every traced image's counts are exact. */
int render__procs_exact(const struct fs_procs_view *pv);
/* The processes table and the family's exactness line (text); the "processes",
 * "processes_total" and "untraced" keys (JSON). */
void render__procs_text(FILE *f, const struct fs_procs_view *pv);
void render__procs_json(struct json *j, const struct fs_procs_view *pv);

void render__stat_text(FILE *f, const struct fs_view *v);
/* "PID 1 in its namespace, cgroup /x, container 0123456789ab" for a process in a
 * PID namespace or container of its own (the headers' container line); "" else. */
void render__container(const struct fs_target_info *t, char *buf, size_t len);
/* The target object's ns_pid, cgroup and container keys (null when not known). */
void render__json_container(struct json *j, const struct fs_container *c);
void render__stat_json(FILE *f, const struct fs_view *v);
/* The shared keys (target, allocator, duration_s, totals, live, lost, functions,
 * histograms) written into an open JSON object. */
void render__json_core(struct json *j, const struct fs_view *v);
/* memory, releases, syscalls, arenas, pages, diagnosis keys. */
void render__json_memory(struct json *j, const struct fs_state *st);
struct fs_je_stats;
/* jemalloc's own figures, as keys of the object open in j ("error": why missing). */
void render__json_je(struct json *j, const struct fs_je_stats *js, const char *why);
/* The probes' estimated cost to the target over the trace (needs v->rates): the
 * stat summary's line, and the probe_cost JSON object. */
void render__probe_cost_text(FILE *f, const struct fs_view *v);
void render__json_probe_cost(struct json *j, const struct fs_view *v);
/* How the sites' figures relate to the exact totals, for a reader: "sites:
 * estimated from N sampled stacks, scaled to the exact live total ...". */
struct fs_state;
const char *render__sites_note(const struct fs_state *st, char *buf, size_t len);

/* "exact", "light" or "sampled" (NULL: exact). */
const char *render__mode_name(const struct fs_state *st);

#endif
