/* ownheap.c - a program with a heap of its own, as Go's runtime, pymalloc or a JVM
 * has: anonymous memory it maps and fills itself, beside a little malloc, and
 * thread stacks. None of its own memory is the allocator's to give back.
 *
 *   ownheap [--own MiB] [--chunks N] [--freed MiB] [--threads N] [--fork] [--ready FILE] [--log FILE]
 *
 * --own      MiB mapped with mmap and written before the ready file appears (default 64)
 * --chunks   blocks of 1 MiB kept live with malloc (glibc mmaps each: mmapped chunks
 *            side by side, which the kernel merges into one mapping) (default 0)
 * --freed    MiB of 4 KiB blocks malloced in the brk heap, written, then all freed but
 *            the last (which pins the heap's top): free resident memory that only
 *            malloc_trim(0) gives back (default 0)
 * --threads  idle threads, each touching 64 KiB of its stack (default 0)
 * --fork     a pre-fork server's worker: 64 KiB is malloced (the brk heap made), then
 *            it forks and the child does all of the above and writes its PID to the
 *            ready file: the heap it grows after fork() is a VMA of its own beside the
 *            inherited one (the kernel does not merge them); the parent waits for it
 * Then: on SIGUSR1, maps another --own MiB (after attach: the program's own mapping,
 * made by its code while traced) and logs "mapped BYTES"; on SIGHUP calls
 * malloc_trim(0) and logs glibc's mallinfo2() before it and "trimmed BYTES" (the fall of its RssAnon: the oracle of what
 * fragscope says malloc_trim would release); exits on SIGTERM/SIGUSR2.
 * --log gets "rss RssAnon" lines at ready and after each SIGUSR1. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "rssanon.h"


static void own_map(size_t bytes)
{
	char *h = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (h == MAP_FAILED) {
		perror("ownheap: mmap");
		exit(1);
	}
	memset(h, 1, bytes);
}

static void *idle_thread(void *arg)
{
	volatile char stack[64 << 10];

	for (size_t i = 0; i < sizeof(stack); i += 512)
		stack[i] = 2;
	pause();
	(void)stack[0];
	return arg;
}

int main(int argc, char **argv)
{
	size_t own = 64u << 20;
	int chunks = 0, threads = 0, freed = 0, do_fork = 0, sig, logfd = -1;
	const char *ready = NULL;
	sigset_t set;
	void **keep;

	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(o, "--fork")) {
			do_fork = 1;
			continue;
		}
		if (v && !strcmp(o, "--own")) own = (size_t)strtoul(v, NULL, 10) << 20;
		else if (v && !strcmp(o, "--chunks")) chunks = atoi(v);
		else if (v && !strcmp(o, "--threads")) threads = atoi(v);
		else if (v && !strcmp(o, "--freed")) freed = atoi(v);
		else if (v && !strcmp(o, "--ready")) ready = v;
		else if (v && !strcmp(o, "--log")) logfd = open(v, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
		else {
			fprintf(stderr, "usage: ownheap [--own MiB] [--chunks N] [--freed MiB] [--threads N] [--fork] "
				"[--ready FILE] [--log FILE]\n");
			return 2;
		}
		i++;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (do_fork) {
		char *pre = malloc(64u << 10);
		pid_t child;

		memset(pre, 5, 64u << 10);
		child = fork();
		if (child < 0) {
			perror("ownheap: fork");
			return 1;
		}
		if (child > 0) {
			int st;

			waitpid(child, &st, 0);
			return 0;
		}
		prctl(PR_SET_PDEATHSIG, SIGTERM);
	}
	if (own)
		own_map(own);
	keep = calloc((size_t)chunks + 1, sizeof(*keep));
	for (int i = 0; i < chunks; i++) {
		keep[i] = malloc(1u << 20);
		memset(keep[i], 3, 1u << 20);
	}
	if (freed > 0) {
		int n = freed * 256;
		void **f = calloc((size_t)n, sizeof(*f));

		for (int i = 0; i < n; i++) {
			f[i] = malloc(4096 - 16);	/* 4 KiB chunks, back to back */
			memset(f[i], 4, 4096 - 16);
		}
		for (int i = 0; i < n - 1; i++)
			free(f[i]);
		free(f);
	}
	for (int i = 0; i < threads; i++) {
		pthread_t t;

		pthread_create(&t, NULL, idle_thread, NULL);
	}
	usleep(100000);	/* the threads touch their stacks */
	if (logfd >= 0)
		dprintf(logfd, "rss %llu\n", (unsigned long long)rss_anon());
	if (ready) {
		int fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dprintf(fd, "%d\n", getpid());
		close(fd);
	}
	while (!sigwait(&set, &sig) && (sig == SIGUSR1 || sig == SIGHUP)) {
		if (sig == SIGHUP) {
			uint64_t before = rss_anon(), after;
			struct mallinfo2 mi = mallinfo2();

			if (logfd >= 0)	/* glibc's own figures before the trim (in use counts tcache chunks) */
				dprintf(logfd, "mallinfo2 arena %zu hblkhd %zu uordblks %zu fordblks %zu\n", mi.arena,
					mi.hblkhd, mi.uordblks, mi.fordblks);
			malloc_trim(0);
			after = rss_anon();
			if (logfd >= 0)
				dprintf(logfd, "trimmed %llu\n", (unsigned long long)(before > after ? before - after : 0));
			continue;
		}
		own_map(own);
		if (logfd >= 0)
			dprintf(logfd, "mapped %llu\nrss %llu\n", (unsigned long long)own, (unsigned long long)rss_anon());
	}
	return 0;
}
