/* types.h - data types shared between layers, where a lower layer must know a
 * type an upper one fills: no functions, and it includes only bpf/fragscope.h and
 * system headers, so any folder of user/ may include it. One group per concern,
 * each under its comment. */
#ifndef FS_TYPES_H
#define FS_TYPES_H

#include <stdint.h>
#include <sys/types.h>
#include "bpf/fragscope.h"

/* ---- a process's mappings, as the memory model (model/) and the allocator
 * backends' heap walks (alloc/census) see them ---- */

enum fs_region_kind {
	FS_RG_HEAP = 0,		/* [heap]: glibc's main arena (brk) */
	FS_RG_ARENA_HEAP,	/* a glibc non-main heap (64 MiB aligned, heap_info at its start) */
	FS_RG_ANON,		/* other private anonymous memory: mmapped chunks, jemalloc extents, ... */
	FS_RG_STACK,		/* [stack] or a thread stack (guard page right below) */
	FS_RG_RESERVED,		/* PROT_NONE: reserved address space, never resident */
	FS_RG_FILE,		/* file mappings */
	FS_RG_OTHER,		/* [vdso], shared memory, ... */
	FS_RG__COUNT,
};

/* Who anonymous memory belongs to, on evidence only: the allocator (glibc's heaps,
 * mappings the allocator made while traced, mmapped chunks a census found, mappings
 * holding blocks it returned), the program's own mappings (made by its code while
 * traced), thread stacks, anonymous pages of private file mappings (data, bss,
 * relocations), and anonymous memory nothing tells the owner of (mapped before
 * attach by code fragscope did not see). */
enum fs_owner {
	FS_OWN_ALLOCATOR = 0,
	FS_OWN_PROGRAM,
	FS_OWN_STACK,
	FS_OWN_FILE,
	FS_OWN_UNKNOWN,
	FS_OWN__COUNT,
	FS_OWN_MIXED = -1,	/* a region (merged VMA) with parts of several owners */
};

/* Evidence that [start, end) belongs to owner; lists are sorted by start and do not overlap. */
struct fs_owned {
	uint64_t start, end;
	int owner;
	int prio;	/* where evidence overlaps at one start, the lower prio wins */
};

struct fs_region {
	uint64_t start, end;
	uint64_t rss, anon, lazyfree, swap;	/* bytes, from smaps */
	char perms[5];
	int kind;
	int owner;		/* enum fs_owner of the whole region, or FS_OWN_MIXED */
	uint64_t ar_ptr;	/* FS_RG_ARENA_HEAP: the arena it belongs to (from heap_info) */
	char name[48];
};

/* Residency of npages pages from start (1 byte each). 0 or -errno. */
typedef int (*fs_present_fn)(void *ctx, uint64_t start, uint64_t npages, uint8_t *present);

struct fs_regions {
	struct fs_region *r;
	int n, cap;
};

/* ---- the traced processes as output sees them: trace/ fills these, out/
 * renders them, cmd/ passes them along */

struct fs_plan;
struct fs_snapshot;
struct fs_state;
struct fs_cost_rates;

/* How a traced process came to be traced. */
enum fs_role {
	FS_ROLE_TARGET,		/* the PID or command asked for */
	FS_ROLE_CHILD,		/* born during the trace (fork), traced from birth */
	FS_ROLE_EXEC,		/* a new image of a traced process, traced from its start */
};

/* A process as its container sees it (model/container.h reads it from /proc). */
struct fs_container {
	pid_t ns_pid;		/* its PID in its own PID namespace (NSpid's last field); 0 unknown */
	char cgroup[512];	/* its cgroup v2 path ("/system.slice/x.service"); "" unknown */
	char id[72];		/* the container id in that path (64 hex digits); "" none */
};

struct fs_target_info {
	pid_t pid;
	char comm[32];
	struct fs_container ctr;	/* its PID inside its namespace, its cgroup */
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

/* ---- the allocator's settings (its backend reads them: alloc/) ---- */

/* Allocator settings a diagnosis names (from the target's environment,
 * each backend reading its own variables). */
struct fs_settings {
	char malloc_conf[256];		/* MALLOC_CONF (jemalloc) */
	char glibc_tunables[256];	/* GLIBC_TUNABLES */
	char arena_max[32];		/* MALLOC_ARENA_MAX */
	int je_background_thread;	/* background_thread:true in MALLOC_CONF */
	int je_bg_threads;		/* jemalloc_bg_thd threads running now (-1 unknown): set at run time too */
	long je_dirty_decay_ms;		/* as set; meaningful only if je_dirty_decay_set */
	int je_dirty_decay_set;		/* -1 is jemalloc's "never purge", not "unset" */
	/* gperftools' tcmalloc */
	char tc_env[256];		/* the TCMALLOC_* variables set, "NAME=VALUE ..." */
	double tc_release_rate;		/* TCMALLOC_RELEASE_RATE (default 1; 0: never on its own) */
	int tc_aggressive_decommit;	/* TCMALLOC_AGGRESSIVE_DECOMMIT */
	uint64_t tc_thread_cache_max;	/* TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES (default 32 MiB) */
	/* mimalloc 2.0 */
	char mi_env[256];		/* the MIMALLOC_* variables set, "NAME=VALUE ..." */
	long mi_decommit_delay_ms;	/* MIMALLOC_DECOMMIT_DELAY (legacy MIMALLOC_RESET_DELAY; default 25) */
	long mi_segment_decommit_delay_ms;	/* MIMALLOC_SEGMENT_DECOMMIT_DELAY (default 500) */
	int mi_allow_decommit;		/* MIMALLOC_ALLOW_DECOMMIT (default 1; 0: never returns memory) */
	int mi_page_reset;		/* MIMALLOC_PAGE_RESET (default 0): MADV_FREE pages as they empty */
};

/* ---- the memory waterfall and its diagnosis: the model (model/memmodel) fills
 * them, the allocator backends (alloc/) write their part of the diagnosis ---- */

struct fs_arena {
	uint64_t ar_ptr;	/* glibc's mstate: the identity of the arena */
	int main;
	int heaps;
	uint64_t mapped;	/* accessible bytes of its heaps */
	uint64_t resident;
	uint64_t live;		/* tracked live bytes inside it */
	uint64_t live_blocks;
};

#define FS_MAX_ARENAS 256

/* How held_free is known. */
enum fs_basis {
	FS_B_UNKNOWN = 0,	/* blocks from before attach were never counted: they may fill at most
				 * pre_attach_bound bytes (what was mapped at attach); beyond that, free */
	FS_B_TRACED,		/* every block was seen (traced from the start) */
	FS_B_CENSUS,		/* blocks from before attach counted by a heap census at attach */
	FS_B_ALLOC_STATS,	/* the allocator's own statistics (jemalloc's mallctl) */
};

/* The waterfall and what explains it, at one moment. Bytes throughout. */
struct fs_memory {
	int valid;
	uint64_t live;		/* requested bytes of live blocks (tracked since attach) */
	uint64_t held_free;	/* resident allocator memory holding no live bytes (0 unless held_basis) */
	int held_basis;		/* enum fs_basis: how held_free is known */
	uint64_t pre_attach_live;	/* bytes of blocks from before attach still live, per the basis */
	uint64_t unseen;	/* held_basis unknown: allocator resident bytes beyond live that blocks from
				 * before attach may fill (content unseen); held_free is then the rest, a floor */
	uint64_t pre_attach_bound;	/* held_basis unknown: memory mapped at attach (UINT64_MAX: not known) */
	uint64_t mapped;	/* accessible allocator address space (owner: allocator) */
	uint64_t resident;	/* of which resident (anonymous) */
	uint64_t own_mapped[FS_OWN__COUNT], own_resident[FS_OWN__COUNT];	/* all anonymous memory by owner */
	int owners_partial;	/* the evidence was incomplete (ledger lost events, residency unreadable) */
	int mmapped_scanned;	/* glibc: the mmapped chunks present at attach were looked for */
	uint64_t lazyfree;	/* of which MADV_FREE'd, still counted in RSS until reclaimed */
	uint64_t returned;	/* resident bytes given back to the OS since attach */
	uint64_t rss_anon;	/* the process's whole RssAnon (all anonymous memory) */
	uint64_t faults;	/* page faults of the target since attach */
	uint64_t churn_faults;	/* of which on pages released less than a second before */
	uint64_t churn_src[FS_R__COUNT];	/* churn_faults by who released the page (enum fs_src) */
	int busy;		/* the program allocated since the previous sample */
	uint64_t live_at_attach;	/* attached by PID: live (as the diagnosis weighs it) at the first
					 * sample; a leak needs growth beyond it. 0 when traced from the start */
	uint64_t kind_mapped[FS_RG__COUNT], kind_resident[FS_RG__COUNT];
	int narenas;		/* glibc only; 0 otherwise */
	struct fs_arena arenas[FS_MAX_ARENAS];
	/* page occupancy */
	int pages_valid, pages_partial, pages_approximate;
	uint64_t deep_age_ns;		/* arenas and pages are from a sample this much older */
	uint64_t gone_age_ns;		/* the target exited: /proc's figures (mapped, resident)
					 * are from a sample this long before the end; live is the end's */
	uint64_t pages_scanned;		/* resident allocator bytes looked at */
	uint64_t pages_mixed;		/* resident anonymous bytes of regions with parts of
					 * several owners: not looked at (the allocator's pages
					 * cannot be told from the others' there) */
	uint64_t resident_no_live;	/* resident pages holding no live block */
	uint64_t low_occupancy;		/* resident pages less than 10% live */
	uint64_t heap_no_live;		/* of resident_no_live, inside glibc heaps (what malloc_trim can reach) */
	char pages_note[160];
	/* jemalloc's own figures, when read (jestats) */
	int je_valid;
	uint64_t je_allocated, je_active, je_resident, je_mapped, je_retained, je_metadata;
	uint64_t je_dirty, je_muzzy;	/* bytes */
	/* releases seen while tracing, by malloc_trim() calls */
	uint64_t trim_calls, trim_released;
	/* --mode light: no call counted; live is the heap census's bytes in use (chunk
	 * bytes) when light_census, else unknown */
	int light, light_census;
	uint64_t light_trim;		/* what malloc_trim(0) would release, by that census */
	/* exact mode with a census at attach (glibc): another at the last sample, for what
	 * malloc_trim(0) would release then (the page census cannot place the blocks from
	 * before attach) */
	int end_census, end_census_approximate;	/* approximate: the heap changed during it */
	uint64_t end_census_trim;
	uint64_t light_age_ns;		/* how old that census is */
};

enum fs_diag_kind { FS_D_NONE = 0, FS_D_LEAK, FS_D_RETENTION, FS_D_CACHE, FS_D_ARENA_SPREAD, FS_D_UNSEEN,
		    FS_D_NOT_ALLOCATOR };

struct fs_diagnosis {
	int kind;
	char text[1536];
	/* the main remedy's figure, only when evidence backs it */
	char remedy[32];	/* "malloc_trim", "background_thread", "dirty_decay_ms"; "" none */
	int64_t expect;		/* bytes it is expected to give back (at most); -1 unknown */
	char evidence[48];	/* what backs the figure: "page census", "jemalloc stats", ... */
};

#endif
