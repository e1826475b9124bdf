/* replayer.c - the replaying process and its watcher (see replayer.h). The
 * replaying process keeps its own bookkeeping out of the heap under test: the plan,
 * the block table and the flags are mappings, not allocations. */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "util/log.h"
#include "model/memmodel.h"
#include "out/session.h"
#include "trace/replay_child.h"
#include "trace/replayer.h"
#include "trace/traced.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The replaying process's own binary beside ours, else ours (replay --child): 1 if
 * the small one. */
static int child_exe(const char *exe, char *buf, size_t len)
{
	const char *slash = strrchr(exe, '/');

	snprintf(buf, len, "%.*sfragscope-replay-child", slash ? (int)(slash - exe + 1) : 0, exe);
	if (!access(buf, X_OK))
		return 1;
	snprintf(buf, len, "%s", exe);
	return 0;
}

static uint64_t rss_anon(pid_t pid)
{
	char path[64], line[256];
	uint64_t kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %lu kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

/* Starts the replaying process: forked (untraced), or as a command traced like
 * compare's runs, into a session. The plan's and state's fds cross exec. */
static pid_t start_child(const char *exe, int plan_fd, int shm, double factor, const struct rp_session *so,
			 struct fs_traced **tp, char *err, size_t errlen)
{
	char a_plan[16], a_shm[16], a_fac[32], bin[PATH_MAX];
	char *argv[] = { bin, "replay", "--child", a_plan, a_shm, a_fac, NULL };
	char *small[] = { bin, a_plan, a_shm, a_fac, NULL };
	char **av = argv;
	pid_t pid;

	if (child_exe(exe, bin, sizeof(bin)))
		av = small;
	snprintf(a_plan, sizeof(a_plan), "%d", plan_fd);
	snprintf(a_shm, sizeof(a_shm), "%d", shm);
	snprintf(a_fac, sizeof(a_fac), "%.17g", factor);
	if (so) {
		struct fs_view v;

		fcntl(plan_fd, F_SETFD, 0);
		fcntl(shm, F_SETFD, 0);
		*tp = traced__start(0, av, so->opts, err, errlen);
		fcntl(plan_fd, F_SETFD, FD_CLOEXEC);
		fcntl(shm, F_SETFD, FD_CLOEXEC);
		if (!*tp)
			return -1;
		traced__view(*tp, &v);
		return v.target->pid;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		sigset_t none;

		prctl(PR_SET_PDEATHSIG, SIGKILL);	/* Ctrl-C of ours leaves nothing behind */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		fcntl(plan_fd, F_SETFD, 0);
		fcntl(shm, F_SETFD, 0);
		execv(bin, av);
		_exit(127);
	}
	return pid;
}

int replayer__run(const char *exe, int plan_fd, const struct rp_plan *plan, double factor, double idle_s,
		  double timeout_s, const char *label, const struct rp_session *so, struct fs_waiter *w,
		  struct rp_result *res)
{
	int shm = memfd_create("fragscope-replay-state", MFD_CLOEXEC), status, r = -1, tty = isatty(2);
	struct rp_shared *sh = MAP_FAILED;
	uint64_t t0 = mono_ns(), t_end = 0, last_sample = 0, t_endseen = 0, prev_done = 0, next_tick = 0;
	int end_taken = 0, nsample = 0, small;
	char bin[PATH_MAX];
	struct fs_traced *t = NULL;
	struct session *ses = NULL;
	pid_t pid = -1;

	memset(res, 0, sizeof(*res));
	res->ops = plan->nops;
	if (shm < 0 || ftruncate(shm, 4096) ||
	    (sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED, shm, 0)) == MAP_FAILED) {
		snprintf(res->error, sizeof(res->error), "replay state: %s", strerror(errno));
		goto out;
	}
	small = child_exe(exe, bin, sizeof(bin));
	pid = start_child(exe, plan_fd, shm, factor, so, &t, res->error, sizeof(res->error));
	if (pid < 0)
		goto out;
	if (t) {
		char serr[512];
		struct fs_view v;

		session__rotate(so->path);
		ses = session__create(so->path, serr, sizeof(serr));
		traced__view(t, &v);
		if (!ses)
			fs_warn("variant %s: no session: %s", label, serr);
		else if (session__set_target(ses, &v) || session__set_meta(ses, "variant", label) ||
			 session__set_meta(ses, "variant_settings", so->settings) ||
			 session__set_meta(ses, "replayed", "true") || session__set_meta(ses, "replayed_from", so->source) ||
			 session__set_meta(ses, "command", so->source) || session__set_meta(ses, "interval_ms", "250"))
			fs_warn("variant %s: session %s: %s", label, so->path, session__errmsg(ses));
	}
	for (;;) {
		uint64_t now = mono_ns(), rss = rss_anon(pid);
		int sig = 0, wake;

		if (t && now - last_sample >= 250000000ull) {	/* the session: compare's interval */
			struct fs_view v;
			int deep = nsample++ % 8 == 0;

			traced__sample(t, deep, deep ? 20 : 0);
			traced__view(t, &v);
			if (ses)
				session__append(ses, &v, deep);
			last_sample = now;
		}
		if (!sh->go && __atomic_load_n(&sh->state, __ATOMIC_ACQUIRE) == 2) {
			/* the small binary holds nothing but its tables: the rest is the
			 * allocator's (its own start-up included, as in the program); fragscope
			 * itself holds more, all of it subtracted (the allocator's start-up too) */
			res->baseline = small ? sh->tables_bytes : rss;
			__atomic_store_n(&sh->go, 1, __ATOMIC_RELEASE);
			next_tick = now + RP_INTERVAL_NS;
		}
		rss = rss > res->baseline ? rss - res->baseline : 0;
		if (sh->go && rss > res->peak_rss)
			res->peak_rss = rss;
		if (!t_end && __atomic_load_n(&sh->state, __ATOMIC_ACQUIRE) == 1) {
			t_end = now;
			res->calls_s = (double)sh->calls_ns / 1e9;
		}
		/* "the end" as compare sees it: on its grid of samples, the first one whose
		 * whole interval had no call; the idle period counts from there */
		if (next_tick && now >= next_tick) {
			uint64_t done = __atomic_load_n(&sh->done_ops, __ATOMIC_RELAXED);

			if (!end_taken && done && done == prev_done) {
				res->rss_end = rss;
				end_taken = 1;
				t_endseen = now;
			}
			prev_done = done;
			next_tick += RP_INTERVAL_NS;
		}
		if (end_taken && (double)(now - t_endseen) / 1e9 >= idle_s) {
			res->rss_idle = rss;
			break;
		}
		if (t ? traced__exited(t) : waitpid(pid, &status, WNOHANG) == pid) {
			snprintf(res->error, sizeof(res->error), "the replaying process ended early (%s)",
				 t ? "exited" : WIFEXITED(status) ? "exited" : strsignal(WTERMSIG(status)));
			if (!t)
				pid = -1;
			goto out;
		}
		if ((double)(now - t0) / 1e9 > timeout_s) {
			snprintf(res->error, sizeof(res->error), "still replaying after %.0f s (--timeout)", timeout_s);
			goto out;
		}
		if (tty)
			fprintf(stderr, "\rfragscope replay: %-14s %5.1f%% of %llu calls%s", label,
				plan->nops ? 100.0 * (double)__atomic_load_n(&sh->done_ops, __ATOMIC_RELAXED) /
						     (double)plan->nops : 100.0,
				(unsigned long long)plan->nops, t_end ? ", idle" : "");
		wake = traced__wait(w, NULL, -1, 0.02, &sig);
		if (wake == FS_WAKE_SIGNAL || wake == FS_WAKE_ERROR) {
			res->interrupted = 1;
			res->sig = sig;
			snprintf(res->error, sizeof(res->error), "interrupted");
			goto out;
		}
	}
	r = 0;
out:
	if (tty)
		fputc('\n', stderr);
	if (t) {
		struct fs_view v;

		/* the figures at the end of the idle period, before the replaying process goes */
		traced__sample(t, 1, 0);
		traced__view(t, &v);
		res->traced = 1;
		res->returned = v.st->mem.returned;
		res->faults = v.st->snap.k.faults;
		res->madvise_ns = v.st->snap.k.sys[FS_S_MADVISE].ns;
		res->fragmentation = memmodel__fragmentation(&v.st->mem);
		res->narenas = v.st->mem.narenas;
		snprintf(res->diag_kind, sizeof(res->diag_kind), "%s", memmodel__diag_name(v.st->diag.kind));
		traced__stop(t, SIGKILL, 20);	/* it waits to be killed */
		traced__view(t, &v);
		if (ses) {
			if (session__append(ses, &v, 1) || session__finish(ses, -1, traced__elapsed(t)))
				fs_warn("variant %s: session %s: %s", label, so->path, session__errmsg(ses));
			session__close(ses);
		}
		res->sessions_written = ses != NULL;
		traced__free(t);
	} else if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	res->wall_s = (double)(mono_ns() - t0) / 1e9;
	if (sh != MAP_FAILED)
		munmap(sh, sizeof(*sh));
	if (shm >= 0)
		close(shm);
	return r;
}
