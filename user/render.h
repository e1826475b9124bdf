/* render.h - turns a snapshot into what users read: the stat summary as text,
 * and the JSON vocabulary every command shares. Pure: no libbpf. */
#ifndef FS_RENDER_H
#define FS_RENDER_H

#include <stdio.h>
#include <sys/types.h>
#include "agg.h"
#include "collect.h"
#include "json.h"
#include "resolve.h"

struct fs_target_info {
	pid_t pid;
	char comm[32];
	int exited;
	int exit_code;		/* -1 unknown (not our child, or still running) */
	int attached_at_start;	/* started under fragscope: nothing before attach */
};

struct fs_view {
	const struct fs_target_info *target;
	const struct fs_plan *plan;
	const struct fs_snapshot *snap;
	const struct fs_state *st;	/* memory, diagnosis; NULL when not collected */
	double duration_s;
	uint32_t max_live;
};

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
/* How the sites' figures relate to the exact totals, for a reader: "sites:
 * estimated from N sampled stacks, scaled to the exact live total ...". */
struct fs_state;
const char *render__sites_note(const struct fs_state *st, char *buf, size_t len);
/* 1234567 -> "1,234,567" */
const char *render__num(uint64_t v, char *buf, size_t len);
/* 1536 -> "1.5 KiB" */
const char *render__bytes(uint64_t v, char *buf, size_t len);

#endif
