/* traced_priv.h - what struct fs_traced holds: for trace/'s own files (traced.c,
 * family.c). Commands see the struct as opaque (traced.h). */
#ifndef FS_TRACED_PRIV_H
#define FS_TRACED_PRIV_H

#include "plan/resolve.h"
#include "trace/collect.h"
#include "trace/target.h"
#include "trace/traced.h"

struct tracer;
struct symbolizer;

struct fs_traced {
	struct target tg;
	struct fs_plan plan;
	struct tracer *tr;
	struct fs_state st;
	struct symbolizer *sym;
	struct fs_target_info info;
	struct fs_trace_opts opts;
	uint64_t t0_ns;		/* monotonic time tracing began */
	uint64_t sample_ns;	/* how long the last sample took */
	int detached;
	int done;		/* final figures taken, tracer released (exited, or exec'd) */
	uint64_t forks, execs;	/* children born, images replaced (from the kernel) */
	uint64_t proc_lost;	/* births or execs the event ring had no room for */
	/* light mode: the allocator's code (file addresses) and object, until its load
	 * address is known (light_text_set) */
	uint64_t light_text_lo, light_text_hi;
	char light_path[PATH_MAX];
	int light_text_set;
	struct callrec *cr;	/* record --trace's ring reader */
	/* record --trace -p, glibc: the blocks in use before attach (the census's chunks:
	 * user pointer, chunk size), for a replay to start from the same heap */
	struct fs_pre_block *pre;
	long npre, precap;
	int pre_failed;		/* out of memory listing them: the list is partial */
};

#endif
