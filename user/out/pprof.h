/* pprof.h - allocation sites as a gzipped pprof profile (profile.proto, as `pprof`,
 * Pyroscope and Parca read it): the heap profile's four sample types, the sampling
 * period, and the sites' stacks as mappings, locations and functions. Pure: it takes
 * sites and writes bytes (protobuf-c, zlib). */
#ifndef FS_PPROF_H
#define FS_PPROF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "model/state.h"
#include "types.h"
#include "out/session.h"

/* One site: its four values (sample types alloc_objects/count, alloc_space/bytes,
 * inuse_objects/count, inuse_space/bytes, in that order) and its stack. */
struct pprof_site {
	int64_t alloc_objects, alloc_bytes, inuse_objects, inuse_bytes;
	int nframes;
	const char *const *frame;	/* innermost first: "func+0xoff (object)", "object+0xoff", "0xaddr" */
	const uint64_t *ip;		/* the frames' addresses; NULL when not known (sessions) */
	int64_t pid;			/* > 0: a numeric label "pid" (several processes in one profile) */
};

#define PPROF_MAX_COMMENTS 8

struct pprof_info {
	int64_t period;			/* bytes between samples (--sample-bytes) */
	int64_t time_ns, duration_ns;	/* when the profile was taken (epoch), over how long; 0 unknown */
	int ncomments;
	const char *comment[PPROF_MAX_COMMENTS];	/* how the values were obtained */
};

/* The profile, gzipped, into a malloc'd buffer (*out, *outlen). Each distinct
 * address is one Location (each distinct frame when addresses are not known), with
 * one Line to a Function named by the frame's symbol; objects are Mappings by file
 * name. Frames without a symbol keep their whole text as the function's name. A
 * site without a stack has the one frame "(no stack)". 0 or -ENOMEM / -EIO. */
int pprof__encode(const struct pprof_info *info, const struct pprof_site *sites, int nsites, void **out,
		  size_t *outlen);
/* pprof__encode to path (created or truncated). 0, or -errno with the cause in err. */
int pprof__write(const char *path, const struct pprof_info *info, const struct pprof_site *sites, int nsites,
		 char *err, size_t errlen);

/* The sites of a session's last deep snapshot (report --pprof). */
int pprof__write_session(const char *path, const struct session_data *d, char *err, size_t errlen);
/* The sites of traced processes' last deep samples (stat/top --pprof), with their
 * frames' addresses, each sample labelled with its process's pid; time_ns: the
 * epoch time it stands for. Views without state (nothing collected) add nothing. */
int pprof__write_views(const char *path, const struct fs_view *v, int nviews, int64_t time_ns, char *err,
		       size_t errlen);

#endif
