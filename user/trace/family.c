/* family.c - following a traced process's children and new images. Each process
 * (each image, after an exec) has its own tracer: its own live-block table,
 * counters and probes, as if fragscope had been attached to it at its first
 * instruction. The tracers' kernel side stops every child at birth and every new
 * image before its loader runs; here their tracers are attached, then they go on.
 * A process is never left stopped: whatever happens (failure, end of tracing),
 * each one stopped for us gets its SIGCONT. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "trace/family.h"
#include "trace/traced_priv.h"
#include "util/log.h"
#include "trace/tracer.h"

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

/* An event read from a ring, acted on once the read is over (acting adds rings). */
struct fs_proc_pending {
	struct fs_proc_event e;
};

static int on_event(void *ctx, void *data, size_t size)
{
	struct fs_family *f = ctx;

	if (size < sizeof(struct fs_proc_event))
		return 0;
	if (f->npend == f->cappend) {
		int cap = f->cappend ? f->cappend * 2 : 16;
		struct fs_proc_pending *np = realloc(f->pend, (size_t)cap * sizeof(*np));

		if (!np) {
			/* Cannot queue it: the process must not stay stopped. */
			const struct fs_proc_event *e = data;

			if (!e->held)
				kill((pid_t)e->pid, SIGCONT);
			f->events_lost++;
			return 0;
		}
		f->pend = np;
		f->cappend = cap;
	}
	memcpy(&f->pend[f->npend++].e, data, sizeof(struct fs_proc_event));
	return 0;
}

static void note_untraced(struct fs_family *f, pid_t pid, pid_t ppid, int chosen, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void note_untraced(struct fs_family *f, pid_t pid, pid_t ppid, int chosen, const char *fmt, ...)
{
	struct fs_unfollowed *u;
	va_list ap;

	if (f->nuf == f->capuf) {
		int cap = f->capuf ? f->capuf * 2 : 8;
		struct fs_unfollowed *nu = cap <= 1024 ? realloc(f->uf, (size_t)cap * sizeof(*nu)) : NULL;

		if (!nu) {
			f->uf_more++;
			return;
		}
		f->uf = nu;
		f->capuf = cap;
	}
	u = &f->uf[f->nuf++];
	memset(u, 0, sizeof(*u));
	u->pid = pid;
	u->ppid = ppid;
	if (target__comm(pid, u->comm, sizeof(u->comm)))
		snprintf(u->comm, sizeof(u->comm), "?");
	va_start(ap, fmt);
	vsnprintf(u->why, sizeof(u->why), fmt, ap);
	va_end(ap);
	u->chosen = chosen;
	if (chosen)
		fs_info("PID %d (%s) not traced: %s", pid, u->comm, u->why);
	else
		fs_warn("PID %d (%s) not traced: %s", pid, u->comm, u->why);
}

static int add_member(struct fs_family *f, struct fs_traced *t)
{
	if (f->n == f->cap) {
		int cap = f->cap ? f->cap * 2 : 4;
		struct fs_traced **nm = realloc(f->m, (size_t)cap * sizeof(*nm));

		if (!nm)
			return -ENOMEM;
		f->m = nm;
		f->cap = cap;
	}
	if (f->rb && ring_buffer__add(f->rb, tracer__proc_events_fd(t->tr), on_event, f))
		return -errno;
	f->m[f->n++] = t;
	return 0;
}

/* The image that process pid runs now, or -1. */
static int current_image(const struct fs_family *f, pid_t pid)
{
	for (int i = f->n - 1; i >= 0; i--)
		if (f->m[i]->tg.pid == pid && !f->m[i]->info.replaced)
			return i;
	return -1;
}

static int running(const struct fs_family *f)
{
	int n = 0;

	for (int i = 0; i < f->n; i++)
		n += !f->m[i]->done && !f->m[i]->info.replaced;
	return n;
}

struct fs_family *family__start(pid_t pid, char *const argv[], const struct fs_trace_opts *o, int max_procs,
				char *err, size_t errlen)
{
	struct fs_family *f = calloc(1, sizeof(*f));
	struct fs_traced *t;

	if (!f) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	f->opts = *o;
	f->max_procs = max_procs > 0 ? max_procs : FS_MAX_PROCS_DEFAULT;
	t = traced__start(pid, argv, o, err, errlen);
	if (!t) {
		free(f);
		return NULL;
	}
	f->rb = ring_buffer__new(tracer__proc_events_fd(t->tr), on_event, f, NULL);
	if (!f->rb) {
		snprintf(err, errlen, "process events ring buffer: %s", strerror(errno));
		traced__free(t);
		free(f);
		return NULL;
	}
	f->m = calloc(4, sizeof(*f->m));
	if (!f->m) {
		snprintf(err, errlen, "out of memory");
		ring_buffer__free(f->rb);
		traced__free(t);
		free(f);
		return NULL;
	}
	f->cap = 4;
	f->m[f->n++] = t;
	return f;
}

/* An fd readable when a process event waits. */
static int family__fd(const struct fs_family *f)
{
	return f->rb ? ring_buffer__epoll_fd(f->rb) : -1;
}

struct fs_traced *family__primary(const struct fs_family *f)
{
	return f->m[f->primary];
}

static void handle_fork(struct fs_family *f, const struct fs_proc_event *e, int ending)
{
	pid_t pid = (pid_t)e->pid, ppid = (pid_t)e->ppid;
	struct fs_traced *t;
	char err[512];

	if (e->held == 1) {
		note_untraced(f, pid, ppid, 1, "child of PID %d born during the trace: not followed (--follow traces children)",
			      ppid);
		return;
	}
	if (ending) {
		note_untraced(f, pid, ppid, 0, "born as tracing ended");
		goto cont;
	}
	if (running(f) >= f->max_procs) {
		note_untraced(f, pid, ppid, 0, "child of PID %d: %d processes traced already (--max-procs)", ppid,
			      f->max_procs);
		goto cont;
	}
	t = traced__adopt(pid, FS_ROLE_CHILD, ppid, &f->opts, err, sizeof(err));
	if (!t) {
		if (kill(pid, 0) && errno == ESRCH) {
			fs_debug("child %d of %d gone before it ran: nothing to trace", pid, ppid);
			return;
		}
		note_untraced(f, pid, ppid, 0, "child of PID %d: %s", ppid, err);
		goto cont;
	}
	if (e->held < 0)
		snprintf(t->info.late, sizeof(t->info.late), "not held at birth (%s): its first calls were missed",
			 strerror((int)-e->held));
	if (add_member(f, t)) {
		note_untraced(f, pid, ppid, 0, "child of PID %d: out of memory", ppid);
		traced__free(t);
	} else {
		fs_info("following child PID %d (%s) of PID %d", pid, t->tg.comm, ppid);
	}
cont:
	if (!e->held)
		kill(pid, SIGCONT);
}

static void handle_exec(struct fs_family *f, const struct fs_proc_event *e, int ending)
{
	pid_t pid = (pid_t)e->pid;
	int i = current_image(f, pid);
	struct fs_traced *old, *t;
	char err[512];

	if (i < 0) {	/* an image this family no longer traces */
		if (!e->held)
			kill(pid, SIGCONT);
		return;
	}
	old = f->m[i];
	old->info.replaced = 1;	/* its tracer ignores calls since the exec */
	traced__finish(old, 10);
	if (e->held == 1 || ending) {
		note_untraced(f, pid, old->info.ppid, !ending, "replaced its image (exec): the new one is not traced%s",
			      ending ? " (tracing ended)" : " (--follow traces it)");
		goto cont;
	}
	t = traced__adopt(pid, FS_ROLE_EXEC, old->info.ppid, &f->opts, err, sizeof(err));
	if (!t) {
		if (!(kill(pid, 0) && errno == ESRCH))
			note_untraced(f, pid, old->info.ppid, 0, "new image (exec): %s", err);
		goto cont;
	}
	if (e->held < 0)
		snprintf(t->info.late, sizeof(t->info.late), "not held at exec (%s): its first calls were missed",
			 strerror((int)-e->held));
	/* the command's exit status comes to us, through whichever image ends it */
	t->tg.child = old->tg.child;
	old->tg.child = 0;
	if (add_member(f, t)) {
		note_untraced(f, pid, old->info.ppid, 0, "new image (exec): out of memory");
		old->tg.child = t->tg.child;
		traced__free(t);
		goto cont;
	}
	if (i == f->primary)
		f->primary = f->n - 1;
	fs_info("following PID %d into its new image %s", pid, t->tg.path);
cont:
	if (!e->held)
		kill(pid, SIGCONT);
}

static int handle(struct fs_family *f, int ending)
{
	int n;

	if (!f->rb)
		return 0;
	f->npend = 0;
	ring_buffer__consume(f->rb);
	n = f->npend;
	for (int i = 0; i < f->npend; i++) {
		struct fs_proc_event e = f->pend[i].e;

		if (e.kind == FS_PE_FORK)
			handle_fork(f, &e, ending);
		else if (e.kind == FS_PE_EXEC)
			handle_exec(f, &e, ending);
	}
	f->npend = 0;
	return n;
}

int family__wait(struct fs_waiter *w, struct fs_family *f, double timeout_s, int *sig)
{
	struct timespec ts;
	double end;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	end = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + timeout_s;
	for (;;) {
		double left;
		int r = traced__wait(w, family__primary(f), family__fd(f), timeout_s, sig);

		if (r != FS_WAKE_INPUT)
			return r;
		/* a new process waits, stopped, for its tracer: handled at once */
		handle(f, 0);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		left = end - ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
		timeout_s = left > 0 ? left : 0;
	}
}

int family__sample(struct fs_family *f, int deep, int nsites)
{
	int r = 0;

	handle(f, 0);
	for (int i = 0; i < f->n; i++) {
		struct fs_traced *t = f->m[i];

		if (t->done)
			continue;
		/* a process that has gone: its final figures now, and its maps' memory back */
		if (i != f->primary && traced__exited(t)) {
			traced__finish(t, 10);
			continue;
		}
		if (traced__sample(t, deep, nsites) && i == f->primary)
			r = -1;
	}
	return r;
}

int family__exited(struct fs_family *f)
{
	for (int i = 0; i < f->n; i++)
		if (!f->m[i]->done && !traced__exited(f->m[i]))
			return 0;
	return 1;
}

int family__stop(struct fs_family *f, int sig, int nsites)
{
	int r;

	handle(f, 0);
	r = traced__stop(f->m[f->primary], sig, nsites);
	for (int i = 0; i < f->n; i++) {
		struct fs_traced *t = f->m[i];

		if (i == f->primary || t->done)
			continue;
		if (t->tg.child || traced__exited(t))
			traced__finish(t, nsites);
		else
			traced__stop(t, 0, nsites);	/* still running: detached, left running */
	}
	/* Every tracer is detached now: no more stops. Continue whoever was stopped
	 * meanwhile. */
	handle(f, 1);
	return r;
}

int family__views(const struct fs_family *f, struct fs_view **views, struct fs_procs_view *pv)
{
	struct fs_view *v = calloc((size_t)f->n, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (int i = 0; i < f->n; i++)
		traced__view(f->m[i], &v[i]);
	memset(pv, 0, sizeof(*pv));
	pv->views = v;
	pv->n = f->n;
	pv->primary = f->primary;
	pv->follow = f->opts.follow;
	pv->uf = f->uf;
	pv->nuf = f->nuf;
	pv->uf_more = f->uf_more;
	pv->events_lost = f->events_lost;
	for (int i = 0; i < f->n; i++)
		pv->events_lost += f->m[i]->proc_lost;
	*views = v;
	return 0;
}

void family__free(struct fs_family *f)
{
	if (!f)
		return;
	/* detach everything, then let go of whoever waits stopped */
	for (int i = 0; i < f->n; i++)
		if (f->m[i]->tr)
			tracer__detach(f->m[i]->tr);
	handle(f, 1);
	for (int i = 0; i < f->n; i++)
		traced__free(f->m[i]);
	ring_buffer__free(f->rb);
	free(f->m);
	free(f->pend);
	free(f->uf);
	free(f);
}
