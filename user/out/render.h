/* render.h - turns a snapshot into what users read: the stat summary as text,
 * and the JSON vocabulary every command shares. Pure: no libbpf. */
#ifndef FS_RENDER_H
#define FS_RENDER_H

#include <stdio.h>
#include <sys/types.h>
#include "model/agg.h"
#include "trace/collect.h"
#include "util/fmt.h"
#include "util/json.h"
#include "plan/resolve.h"

struct fs_cost_rates;

/* How a traced process came to be traced. */
enum fs_role {
	FS_ROLE_TARGET,		/* the PID or command asked for */
	FS_ROLE_CHILD,		/* born during the trace (fork), traced from birth */
	FS_ROLE_EXEC,		/* a new image of a traced process, traced from its start */
};

struct fs_target_info {
	pid_t pid;
	char comm[32];
	int exited;
	int exit_code;		/* -1 unknown (not our child, or still running) */
	int attached_at_start;	/* started under fragscope: nothing before attach */
	int role;		/* enum fs_role */
	pid_t ppid;		/* FS_ROLE_CHILD: the traced parent */
	int replaced;		/* this image was replaced by exec: figures end there */
	char late[96];		/* not held at birth: why (calls before attach missed) */
	uint64_t children;	/* children born during the trace (traced or not) */
	uint64_t execs;		/* images replaced (exec) during the trace */
	int follow;		/* children and new images are traced (by a family) */
};

struct fs_view {
	const struct fs_target_info *target;
	const struct fs_plan *plan;
	const struct fs_snapshot *snap;
	const struct fs_state *st;	/* memory, diagnosis; NULL when not collected */
	double duration_s;
	uint32_t max_live;
	const struct fs_cost_rates *rates;	/* trap costs (cost.h); NULL: no probe_cost */
};

/* A process seen and not traced, and why. */
struct fs_unfollowed {
	pid_t pid;
	pid_t ppid;
	char comm[32];
	char why[200];
	int chosen;		/* not followed by choice (-p without --follow, --no-follow) */
};

/* Every process of a traced family (struct fs_family): the image asked for is
 * views[primary]. */
struct fs_procs_view {
	const struct fs_view *views;
	int n;
	int primary;
	int follow;
	const struct fs_unfollowed *uf;
	int nuf;
	uint64_t uf_more;	/* not traced beyond the list */
	uint64_t events_lost;	/* births or execs never reported */
};

/* 1 if nothing was left untraced and every traced image's counts are exact. */
int render__procs_exact(const struct fs_procs_view *pv);
/* The processes table and the family's exactness line (text); the "processes",
 * "processes_total" and "untraced" keys (JSON). */
void render__procs_text(FILE *f, const struct fs_procs_view *pv);
void render__procs_json(struct json *j, const struct fs_procs_view *pv);

void render__stat_text(FILE *f, const struct fs_view *v);
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

#endif
