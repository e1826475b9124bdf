/* session.h - the session store of `fragscope record`/`report`: one SQLite file
 * per recording (schema in README, "Sessions"). Pure: no libbpf, so the writer and
 * the reader are unit-tested and the reader is fuzzed. */
#ifndef FS_SESSION_H
#define FS_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include "model/metric.h"
#include "out/render.h"

/* PRAGMA user_version: 1 for an exact session (readable by every fragscope that
 * reads sessions); 2 for a session of another mode, whose table has no column for
 * the figures that mode lacks: a reader of schema 1 only would print those as 0 */
#define SESSION_SCHEMA 2
#define SESSION_SCHEMA_EXACT 1
#define SESSION_APP_ID 0x46536370	/* PRAGMA application_id: "FScp" */

struct session;

/* ---- writing ---- */

/* Creates path (which must not exist) mode 0600, WAL, schema v1 (exact; v2 otherwise), for a run in
 * mode (enum fs_mode, model/metric.h: meta "mode"; the snapshots table has a
 * column only for the figures that mode has). NULL with the cause in err. */
struct session *session__create_mode(const char *path, int mode, char *err, size_t errlen);
/* The same for a run with --window (windowed, sampled mode only): its table has
 * the window's columns and none for the counts the windows make seen-only
 * (metric__in_run). */
struct session *session__create_run(const char *path, int mode, int windowed, char *err, size_t errlen);
/* session__create_mode(path, FS_MODE_EXACT, ...). */
struct session *session__create(const char *path, char *err, size_t errlen);
/* One metadata key (replaces an earlier value). 0 or -EIO. */
int session__set_meta(struct session *s, const char *key, const char *value);
/* The run, as metadata: fragscope's version, the command (argv[cmd_at..argc),
 * quoted as a shell reads it), fragscope's own options (argv[0..cmd_at)), the
 * kernel, the start time, the interval and the deep-sample cadence. 0 or -errno. */
int session__set_run(struct session *s, int argc, char **argv, int cmd_at, double interval_s, int deep_every);
/* Target, allocator and settings from a view, as metadata. */
int session__set_target(struct session *s, const struct fs_view *v);
/* One snapshot, committed before it returns: its counters and waterfall, the
 * release deltas since the previous one, and `stat --json`'s document. With deep,
 * also the sites (new stacks and frames as they appear), histograms and the diagnosis. */
int session__append(struct session *s, const struct fs_view *v, int deep);
/* Marks the recording complete and leaves one self-contained file (journal_mode DELETE). */
int session__finish(struct session *s, int exit_code, double duration_s);
long session__count(const struct session *s);
const char *session__errmsg(const struct session *s);
void session__close(struct session *s);

/* perf style: an existing path becomes path.old (with its -wal, if a crashed
 * recorder left one). 0, or -errno. */
int session__rotate(const char *path);

/* ---- the snapshot columns ---- */

/* The stored metrics of model/metric.h (fs_metrics with a column), in its order;
 * col_group is enum fs_metric_group. */
int session__ncols(void);
const char *session__col_name(int col);
int session__col_group(int col);
int session__col_real(int col);
/* Index of a column by name, -1 if none. */
int session__col(const char *name);
/* The metric a column stores (model/metric.h); NULL if none. */
const struct fs_metric *session__col_metric(int col);
/* Per column, 1 when a session of mode (enum fs_mode) has no such column. */
void session__mode_absent(int mode, unsigned char *absent);
/* The same for a run with or without --window (metric__in_run). */
void session__run_absent(int mode, int windowed, unsigned char *absent);
/* The snapshots table's SQL from the columns (writer and reader): 0 CREATE TABLE,
 * 1 INSERT (both without the columns in absent), 2 SELECT (0 for the columns in
 * absent); absent may be NULL. Free it. */
char *session__snap_sql(int which, const unsigned char *absent);

union session_val {
	int64_t i;
	double r;
};

struct session_row {
	long seq;
	double t_s;
	union session_val *v;	/* session__ncols() values */
};

/* A column as a double / int64, whatever its type. */
double session__rowd(const struct session_row *r, int col);
int64_t session__rowi(const struct session_row *r, int col);

/* ---- reading ---- */

struct session_event {		/* a release (or mapping) delta over one interval */
	long seq;
	double t_s;
	char kind[16];		/* "madvise", "munmap", "brk_shrink", "malloc_trim", "source", "mapping" */
	char name[32];		/* advice, source or mapping kind; "" for the others */
	int64_t calls, bytes, resident;
};

struct session_site {
	long id;
	uint64_t samples, bytes;	/* estimated bytes allocated */
	int64_t live_bytes, live_samples;
	int64_t live_stderr;		/* sampled mode: live_bytes' standard error; -1 not
					 * known (another mode: no such column) */
	int nframes;
	char **frame;			/* innermost first */
};

struct session_hist {
	char name[16];			/* alloc_size, live_size, lifetime_ns */
	uint64_t lt;			/* values < lt (and >= lt/2); 0: the value 0 */
	int64_t count;
};

struct session_data {
	char path[4096];
	int nmeta;
	char **meta_key, **meta_val;
	long nrows;
	struct session_row *rows;
	long nevents;
	struct session_event *events;
	long sites_seq;			/* the deep snapshot the sites are from, -1 none */
	int nsites;
	struct session_site *sites;	/* by live bytes, then bytes */
	int nhists;
	struct session_hist *hists;
	char diag_kind[32];
	char *diag_text;
	unsigned char *absent;		/* per column: 1 when the file has no such column */
	int mode;			/* enum fs_mode: meta "mode"; sessions before it are exact */
	int windowed;			/* sampled mode with --window: the table has sm_duty */
	char *stat_json;		/* `stat --json` as of the last snapshot, NULL if none */
	double stat_json_t;
	struct session_trace *trace;	/* record --trace's summary (session__trace) */
};

/* Opens path read-only, checks it is a session this version reads (SQLite header,
 * size, application id, schema version, integrity, at least one snapshot) and
 * reads it whole. NULL with one line naming the problem in err. */
struct session_data *session__load(const char *path, char *err, size_t errlen);
void session__data_free(struct session_data *d);
/* A metadata value, or def. */
const char *session__meta(const struct session_data *d, const char *key, const char *def);
/* 1 when the session has no such column (written by an older fragscope, or a
 * figure its mode does not have): its values read 0 but are unknown. */
int session__col_absent(const struct session_data *d, int col);
/* The row with the highest value of col (first of equals); NULL when no rows. */
const struct session_row *session__peak(const struct session_data *d, int col);

/* ---- the call trace (record --trace; out/trace_file.h encodes the chunks) ---- */

/* Creates the trace's tables (trace_chunks, trace_threads) if absent. 0 or -EIO. */
int session__trace_begin(struct session *s);
/* One compressed chunk of nevents calls (raw: bytes before compression), in seq order. */
int session__trace_chunk(struct session *s, long seq, uint32_t nevents, size_t raw, const void *blob, size_t len);
/* The blocks in use before the trace began (glibc's heap census): n pairs of user
 * pointer and chunk size, into trace_before. 0 or -EIO. */
int session__trace_before(struct session *s, const uint64_t *pairs, long n);
/* A thread's calls recorded and calls lost (replaces an earlier row). */
int session__trace_thread(struct session *s, uint32_t tid, uint64_t calls, uint64_t lost);

struct session_tthread {
	uint32_t tid;
	int64_t calls, lost;
};

/* A session's trace, as session__load reads it (has_trace 0: none recorded). */
struct session_trace {
	int has_trace;
	int64_t calls, raw_bytes, bytes, chunks, lost;
	int nthreads;
	struct session_tthread *threads;	/* by calls, most first */
};

/* The trace's summary of a loaded session (never NULL: zeros when none). */
const struct session_trace *session__trace(const struct session_data *d);

#endif
