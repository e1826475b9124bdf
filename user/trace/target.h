/* target.h - the traced process: start a command held before exec, or open a
 * running PID; learn when it exits. */
#ifndef FS_TARGET_H
#define FS_TARGET_H

#include <limits.h>
#include <sys/types.h>

struct target {
	pid_t pid;
	int pidfd;		/* readable once the process has exited */
	int child;		/* we started it */
	int gate;		/* write end: one byte lets the child exec */
	int errpipe;		/* read end: errno from a failed exec, EOF on success */
	int exited;
	int status;		/* wait status, for children */
	char comm[32];
	char path[PATH_MAX];	/* the executable */
};

/* Finds argv[0] on PATH; 0 or -errno. */
int target__find_exe(const char *name, char *out, size_t outlen);
/* Forks a child that waits, with signals as ours, before exec'ing argv. */
int target__spawn(struct target *t, char *const argv[], char *err, size_t errlen);
/* Commands spawned from now on get our stderr as their stdout (on: --json). */
void target__stdout_to_stderr(int on);
/* Lets the child exec; -errno if exec failed. */
int target__release(struct target *t, char *err, size_t errlen);
int target__open(struct target *t, pid_t pid, char *err, size_t errlen);
/* 1 if the process has exited (reaps children), 0 if alive. */
int target__check(struct target *t);
/* Kills and reaps a child that must not run (attach failed). */
void target__abort(struct target *t);
void target__close(struct target *t);
int target__comm(pid_t pid, char *buf, size_t len);
/* A script's interpreter ("#!/usr/bin/env python3" -> "/usr/bin/env"), what the
 * kernel runs for it: 1 if path is a script (out set), 0 if not, -errno. Nested
 * interpreters are followed, as the kernel does, a few levels deep. */
int target__interpreter(const char *path, char *out, size_t outlen);

#endif
