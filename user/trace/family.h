/* family.h - a traced PID or command and every process it becomes: its children
 * (fork) and its new images (exec), each traced by a tracer of its own from its
 * first instruction. The kernel side stops each new one (SIGSTOP) before it runs;
 * family__handle attaches its tracer, then lets it go (SIGCONT). */
#ifndef FS_FAMILY_H
#define FS_FAMILY_H

#include <sys/types.h>
#include "trace/traced.h"

#define FS_MAX_PROCS_DEFAULT 32

struct fs_family {
	struct fs_traced **m;	/* every image traced, in order; m[0] the one asked for */
	int n, cap;
	int primary;		/* the image the PID (or command) asked for runs now */
	int max_procs;		/* images traced at once, at most */
	struct fs_trace_opts opts;
	struct ring_buffer *rb;	/* every tracer's process events */
	struct fs_proc_pending *pend;	/* events read, to act on after the read */
	int npend, cappend;
	struct fs_unfollowed *uf;	/* not traced: not followed, or following failed */
	int nuf, capuf;
	uint64_t uf_more;	/* beyond the list's room */
	uint64_t events_lost;	/* children or execs the ring had no room to report */
};

/* Starts tracing (as traced__start); with o->follow, descendants too. */
struct fs_family *family__start(pid_t pid, char *const argv[], const struct fs_trace_opts *o, int max_procs,
				char *err, size_t errlen);
/* An fd readable when a process event waits (poll it with the command's own). */
int family__fd(const struct fs_family *f);
/* Acts on the waiting events: traces each new process, then continues it. Returns
 * the number of events handled. */
int family__handle(struct fs_family *f);
struct fs_traced *family__primary(const struct fs_family *f);
/* Samples every image still running; final figures of those that ended. */
int family__sample(struct fs_family *f, int deep, int nsites);
/* 1 once every traced process has exited. */
int family__exited(struct fs_family *f);
/* Ends tracing: the command (if started) gets sig, the rest are detached. */
int family__stop(struct fs_family *f, int sig, int nsites);
/* The views renderers take: views[] one per image, in order (allocated, n). */
int family__views(const struct fs_family *f, struct fs_view **views, struct fs_procs_view *pv);
void family__free(struct fs_family *f);

#endif
