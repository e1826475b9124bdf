/* state.h - everything known of one traced process at its last sample: the
 * counters, the memory waterfall, the diagnosis, the sampled sites. trace/collect.c
 * fills it; out/ renders it; cmd/ reads it through a view (struct fs_view). */
#ifndef FS_STATE_H
#define FS_STATE_H

#include <stdint.h>
#include "bpf/fragscope.h"
#include "alloc/alloc.h"
#include "alloc/jestats.h"
#include "model/agg.h"
#include "model/mapset.h"
#include "model/light.h"
#include "model/sampled.h"
#include "model/memmodel.h"

#define FS_SITE_FRAME 160

/* A sampled allocation site, symbolized. */
struct fs_site_sym {
	uint32_t stackid;
	uint64_t samples;
	uint64_t bytes;		/* estimated bytes allocated here (scaled: fs_state.sites_bytes) */
	int64_t live_bytes;	/* estimated live bytes (scaled: fs_state.sites_live) */
	int64_t live_samples;
	int64_t live_var;	/* --mode sampled: the live estimate's variance (stderr = its root) */
	int64_t live_var_sampled;	/* as the kernel has it (live_var: scaled by --window's duty) */
	uint64_t bytes_sampled;	/* the estimates as sampled, before scaling */
	int64_t live_sampled;
	int nframes;		/* code addresses only: the stack is cut at the first that is not */
	char truncated[80];	/* why the stack is cut short ("" whole) */
	char frame[FS_STACK_DEPTH][FS_SITE_FRAME];	/* innermost first */
	uint64_t ip[FS_STACK_DEPTH];	/* the frames' addresses */
};

struct fs_state {
	struct fs_snapshot snap;
	struct fs_memory mem;		/* mem.valid 0 if the target could not be read */
	struct fs_diagnosis diag;
	struct fs_settings settings;
	uint64_t peak_live;		/* highest live bytes seen at a sample */
	uint64_t live_first;		/* attached by PID: live bytes at the first valid sample */
	int live_first_set;
	uint64_t peak_resident;
	uint64_t prev_allocs;		/* allocations at the previous sample */
	uint64_t prev_faults;		/* light mode: page faults then (at least 1 once sampled) */
	uint64_t deep_ns;		/* when the arenas and pages were taken */
	uint64_t rss_anon_start;	/* RssAnon at the first sample (probes already attached) */
	uint64_t resident_start;
	uint64_t mem_age_ns;		/* how old the memory figures are (target gone) */
	const struct fs_allocator *allocator;	/* the target's backend */
	int traced_from_start;		/* no block predates the probes */
	int census_done;		/* a heap census ran before attach (--census) */
	int sys_tracepoints;		/* memory syscalls seen by tracepoints, not libc's wrappers */
	int census_approximate;
	uint64_t census_in_use;		/* chunk bytes in use then */
	uint64_t census_chunks;
	uint64_t sample_bytes;		/* sampling period of the sites (0: off) */
	unsigned lifetime_sampling;	/* 1 block in N has its lifetime timed (1: all) */
	struct fs_site_sym *sites;	/* top sites by live bytes (then bytes), symbolized */
	int nsites;
	long sites_total;		/* sites known in the kernel */
	int short_stacks;		/* most stacks have < 3 frames: no frame pointers */
	long truncated_stacks;		/* sites whose stack is cut short (of sites_total) */
	struct agg_site_scale sites_live, sites_bytes;	/* the sites against the exact totals */
	/* evidence of who owns anonymous memory (see memmodel__own) */
	struct fs_owned *live_ev;	/* pages of live blocks outside glibc's heaps, at the last deep sample */
	long nlive_ev;
	struct fs_owned *census_ev;	/* mmapped chunks a census found at attach (glibc, -p) */
	long ncensus_ev;
	int census_mm_more;		/* more of them than were listed */
	int mmapped_scanned;		/* they were looked for */
	uint64_t census_mapped_now;	/* their bytes still mapped at the last sample */
	int je_ask;			/* jemalloc: ask it for its statistics (not --no-ask) */
	int je_find_tries;
	uint64_t je_mallctl;		/* mallctl's address in the target (0: not found yet) */
	struct fs_je_stats je;		/* its last answer (je.valid) */
	uint64_t je_ns;			/* when (mono_ns of the sample) */
	uint64_t je_calls;		/* allocations + frees counted then */
	int je_failures;
	int final;			/* the last sample of the trace */
	uint64_t first_ns;		/* mono_ns of the first sample */
	uint64_t mapped_at_attach;	/* anonymous memory not known to be anyone else's, at the first sample */
	int mapped_at_attach_known;
	struct fs_mapset maps;		/* who mapped what since attach (address ledger) */
	int light;			/* --mode light or sampled: no block map; the waterfall's
					 * live bytes from the heap census or the allocator's stats */
	int sampled;			/* --mode sampled: calls counted at entry, live bytes by
					 * site estimated from sampled blocks (with light set) */
	struct fs_light_census lc;	/* light mode, glibc: the last heap census */
	struct fs_window_stat win;	/* sampled mode, --window: the time watched */
};

#endif
