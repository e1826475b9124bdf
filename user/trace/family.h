/* family.h - a traced PID or command and every process it becomes: its children
 * (fork) and its new images (exec), each traced by a tracer of its own from its
 * first instruction. The kernel side stops each new one (SIGSTOP) before it runs;
 * family__wait attaches its tracer, then lets it go (SIGCONT). */
#ifndef FS_FAMILY_H
#define FS_FAMILY_H

#include <sys/types.h>
#include "trace/traced.h"

#define FS_MAX_PROCS_DEFAULT 32

struct fs_family;

/* Starts tracing (as traced__start); with o->follow, descendants too. */
struct fs_family *family__start(pid_t pid, char *const argv[], const struct fs_trace_opts *o, int max_procs,
				char *err, size_t errlen);
/* traced__wait for a family: the processes born or exec'd meanwhile (stopped,
 * waiting for their tracers) are traced and continued as they come; EXITED when
 * the primary image exits. */
int family__wait(struct fs_waiter *w, struct fs_family *f, double timeout_s, int *sig);
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
