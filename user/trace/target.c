/* target.c - process handling: the exec gate for `-- CMD`, pidfds, exit status. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "trace/target.h"

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* With --json our stdout carries one document: a started command writes to stderr. */
static int child_stdout_to_stderr;

void target__stdout_to_stderr(int on)
{
	child_stdout_to_stderr = on;
}

int target__comm(pid_t pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f))
		buf[0] = 0;
	buf[strcspn(buf, "\n")] = 0;
	fclose(f);
	return 0;
}

int target__interpreter(const char *path, char *out, size_t outlen)
{
	char cur[PATH_MAX];
	int script = 0;

	snprintf(cur, sizeof(cur), "%s", path);
	for (int depth = 0; depth < 4; depth++) {
		char line[256], *p, *end;
		FILE *f = fopen(cur, "re");
		size_t n;

		if (!f)
			return script ? 1 : -errno;
		n = fread(line, 1, sizeof(line) - 1, f);
		fclose(f);
		line[n] = 0;
		if (n < 3 || line[0] != '#' || line[1] != '!')
			break;
		p = line + 2;
		while (*p == ' ' || *p == '\t')
			p++;
		end = p + strcspn(p, " \t\n");
		*end = 0;
		if (!*p)
			break;
		snprintf(cur, sizeof(cur), "%s", p);
		script = 1;
	}
	if (script)
		snprintf(out, outlen, "%s", cur);
	return script;
}

int target__find_exe(const char *name, char *out, size_t outlen)
{
	const char *path = getenv("PATH");
	char *copy, *d, *save = NULL;
	int r = -ENOENT;

	if (strchr(name, '/')) {
		snprintf(out, outlen, "%s", name);
		return access(out, X_OK) ? -errno : 0;
	}
	copy = strdup(path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		struct stat st;

		snprintf(out, outlen, "%s/%s", *d ? d : ".", name);
		if (!stat(out, &st) && S_ISREG(st.st_mode) && !access(out, X_OK)) {
			r = 0;
			break;
		}
	}
	free(copy);
	return r;
}

int target__spawn(struct target *t, char *const argv[], char *err, size_t errlen)
{
	int gate[2], ep[2];
	sigset_t none;
	pid_t pid;

	memset(t, 0, sizeof(*t));
	t->pidfd = t->gate = t->errpipe = -1;
	{
		int r = target__find_exe(argv[0], t->path, sizeof(t->path));

		if (r == -ENOENT || (r && !strchr(argv[0], '/'))) {
			snprintf(err, errlen, "%s: command not found", argv[0]);
			return -ENOENT;
		}
		if (r) {
			snprintf(err, errlen, "%s: %s", argv[0], strerror(-r));
			return r;
		}
	}
	if (pipe2(gate, O_CLOEXEC) || pipe2(ep, O_CLOEXEC)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		char go;
		int e;

		close(gate[1]);
		close(ep[0]);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (read(gate[0], &go, 1) != 1)
			_exit(127);	/* fragscope went away before the probes were in place */
		if (!child_stdout_to_stderr || dup2(2, 1) == 1)
			execv(t->path, argv);
		e = errno;
		if (write(ep[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(gate[0]);
	close(ep[1]);
	t->pid = pid;
	t->child = 1;
	t->gate = gate[1];
	t->errpipe = ep[0];
	t->pidfd = pidfd_open_(pid);
	snprintf(t->comm, sizeof(t->comm), "%s", strrchr(t->path, '/') ? strrchr(t->path, '/') + 1 : t->path);
	return 0;
}

int target__release(struct target *t, char *err, size_t errlen)
{
	int e = 0;
	ssize_t n;

	if (write(t->gate, "g", 1) != 1) {
		snprintf(err, errlen, "start %s: %s", t->path, strerror(errno));
		return -errno;
	}
	close(t->gate);
	t->gate = -1;
	n = read(t->errpipe, &e, sizeof(e));
	close(t->errpipe);
	t->errpipe = -1;
	if (n == sizeof(e)) {
		snprintf(err, errlen, "exec %s: %s", t->path, strerror(e));
		/* it exits right after telling us: reap it, leave no zombie */
		if (waitpid(t->pid, &t->status, 0) == t->pid)
			t->exited = 1;
		return -e;
	}
	return 0;
}

int target__open(struct target *t, pid_t pid, char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	t->gate = t->errpipe = -1;
	t->pid = pid;
	t->pidfd = pidfd_open_(pid);
	if (t->pidfd < 0) {
		int e = errno;

		snprintf(err, errlen, e == ESRCH ? "no process with PID %d" : "open PID %d: %s", pid, strerror(e));
		return -e;
	}
	if (target__comm(pid, t->comm, sizeof(t->comm)))
		snprintf(t->comm, sizeof(t->comm), "?");
	return 0;
}

int target__check(struct target *t)
{
	struct pollfd p = { .fd = t->pidfd, .events = POLLIN };

	if (t->exited)
		return 1;
	if (t->child) {
		pid_t r = waitpid(t->pid, &t->status, WNOHANG);

		if (r == t->pid)
			t->exited = 1;
		return t->exited;
	}
	if (t->pidfd >= 0 && poll(&p, 1, 0) == 1)
		t->exited = 1;
	else if (t->pidfd < 0 && kill(t->pid, 0) && errno == ESRCH)
		t->exited = 1;
	return t->exited;
}

void target__abort(struct target *t)
{
	if (!t->child || t->exited)
		return;
	kill(t->pid, SIGKILL);
	waitpid(t->pid, &t->status, 0);
	t->exited = 1;
}

void target__close(struct target *t)
{
	if (t->pidfd >= 0)
		close(t->pidfd);
	if (t->gate >= 0)
		close(t->gate);
	if (t->errpipe >= 0)
		close(t->errpipe);
	t->pidfd = t->gate = t->errpipe = -1;
}
