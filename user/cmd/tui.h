/* tui.h - the full-screen view of `fragscope top` (ncurses): one column per traced
 * process, drawn from the figures cmd_top.c keeps for it. */
#ifndef FS_TUI_H
#define FS_TUI_H

#include <stdint.h>
#include "model/agg.h"
#include "model/memmodel.h"

struct fs_traced;

/* One point of the history graph. */
struct top_point {
	uint64_t ns;		/* CLOCK_MONOTONIC */
	uint64_t resident;	/* resident allocator memory (the waterfall's) */
	uint64_t live;
};

/* What top keeps per process between intervals. */
struct top_proc {
	struct fs_traced *t;
	struct fs_snapshot prev;	/* counters at the sample before the last */
	struct fs_snapshot delta;	/* last sample - prev: the last interval */
	int have_delta;
	int frozen;			/* exited: the last figures stay */
	int threads;			/* entries of /proc/PID/task */
	char cmdline[512];
	struct top_point *hist;		/* ring */
	int hist_cap, hist_n, hist_head;	/* head: next slot written */
	uint64_t last_ns;		/* time of the last sample */
};

enum top_sort { TOP_SORT_LIVE = 0, TOP_SORT_BYTES, TOP_SORT_SAMPLES, TOP_SORT__COUNT };

struct tui_state {
	int sort;		/* enum top_sort */
	int window_s;		/* history window shown */
	int paused;
	int help;		/* help overlay shown */
	unsigned interval_ms;
	uint64_t now_ns;	/* for the history of running processes */
	const char *note;	/* the last line (top --cgroup: waiting, skipped), NULL none */
};

const char *tui__sort_name(int sort);
/* Screen on; 0 or -1 (no terminal). Keys come through getch() without delay. */
int tui__init(void);
/* Screen off, terminal restored; safe to call twice. */
void tui__end(void);
void tui__draw(struct top_proc *p, int n, const struct tui_state *ui);
/* The next draw repaints the whole screen (something else wrote to the terminal:
 * a process attached meanwhile says so on stderr). */
void tui__repaint(void);

#endif
