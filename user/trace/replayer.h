/* replayer.h - `fragscope replay`'s two sides: the replaying process (fragscope
 * re-executed under a variant's environment, so LD_PRELOAD and MALLOC_CONF apply)
 * runs a plan (model/replay.h), one thread per recorded thread; the parent watches
 * its RssAnon, at the end of the calls and after the idle period. */
#ifndef FS_REPLAYER_H
#define FS_REPLAYER_H

#include <stdint.h>
#include "model/replay.h"

struct fs_waiter;
struct fs_trace_opts;

/* A replay traced as compare traces a variant, into a session. */
struct rp_session {
	const struct fs_trace_opts *opts;
	const char *path;	/* the session file (an existing one becomes .old) */
	const char *source;	/* the session replayed */
	const char *settings;	/* the variant's, in words */
};

#define RP_INTERVAL_NS 250000000ull	/* compare's sampling interval: "the end" of the load is,
					 * as for compare, the first sample of this grid whose
					 * interval had no call; the idle period counts from there */

struct rp_result {
	uint64_t peak_rss, rss_end, rss_idle;	/* RssAnon, bytes, less the baseline */
	uint64_t baseline;	/* subtracted: the replaying process's own tables (its small
				 * binary), or all it held before the first call (fragscope's) */
	double calls_s, wall_s;	/* time to replay the calls; in all */
	uint64_t ops;
	int interrupted;	/* a signal: *sig */
	int sig;
	int sessions_written;
	/* traced (with a session): as compare reports them, at the end of the idle period */
	int traced;
	uint64_t returned, faults, madvise_ns;
	double fragmentation;
	int narenas;
	char diag_kind[24];
	char error[256];
};

/* Runs one replay: exe (fragscope itself) re-executed with the current environment,
 * idle_s seconds watched after the calls end, then killed; with so, traced from its
 * first instruction and recorded into so->path. label names it in the progress
 * line. 0, or -1 with res->error (or res->interrupted) set. */
int replayer__run(const char *exe, int plan_fd, const struct rp_plan *plan, double factor, double idle_s,
		  double timeout_s, const char *label, const struct rp_session *so, struct fs_waiter *w,
		  struct rp_result *res);

#endif
