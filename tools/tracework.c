/* tracework.c - a fixed sequence of allocator calls and memory syscalls, for
 * record --trace's test: marker sizes (1001..1006, 2000..2099) tell its calls from
 * libc's own. The main thread: malloc(1001), calloc(3, 334), realloc(first, 1003),
 * posix_memalign(64, 1004), memalign(128, 1005), the four freed; its own mmap of
 * 64 KiB, madvise(MADV_DONTNEED) and munmap; malloc(1006) handed to a second thread,
 * which does malloc(2000 + i) + free 100 times, then frees that block; last, the
 * main thread's malloc(2^62), which fails.
 *
 * tracework --keep N SIZE SECS: N blocks of SIZE bytes allocated and kept, the
 * pages written, then SECS seconds idle (until SIGTERM): long-lived blocks, no
 * release, one thread, where glibc keeps less than jemalloc (whose size classes
 * round 2561 bytes up to 3072). */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void *volatile sink;

static void *worker(void *arg)
{
	for (int i = 0; i < 100; i++) {
		char *q = malloc(2000 + (size_t)i);

		if (q)
			q[0] = (char)i;
		sink = q;
		free(q);
	}
	free(arg);	/* allocated by the main thread */
	return NULL;
}

static void on_term(int sig)
{
	(void)sig;
	_exit(0);	/* the end of the idle period, asked for: not a failure */
}

static int keep(long n, size_t size, unsigned secs)
{
	signal(SIGTERM, on_term);
	for (long i = 0; i < n; i++) {
		char *p = malloc(size);

		if (!p)
			return 1;
		memset(p, 1, size);
		sink = p;
	}
	while (secs)
		secs = sleep(secs);
	return 0;
}

int main(int argc, char **argv)
{
	void *p1, *p2, *p3, *p4 = NULL, *p5, *x;
	char *m;
	pthread_t th;

	if (argc == 5 && !strcmp(argv[1], "--keep"))
		return keep(atol(argv[2]), (size_t)atol(argv[3]), (unsigned)atoi(argv[4]));
	if (argc != 1) {
		fprintf(stderr, "usage: tracework [--keep N SIZE SECS]\n");
		return 2;
	}

	p1 = malloc(1001);
	p2 = calloc(3, 334);
	p3 = realloc(p1, 1003);
	if (posix_memalign(&p4, 64, 1004))
		return 1;
	p5 = memalign(128, 1005);
	sink = p2;
	free(p2);
	free(p3);
	free(p4);
	free(p5);
	m = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return 1;
	memset(m, 1, 65536);
	madvise(m, 65536, MADV_DONTNEED);
	munmap(m, 65536);
	x = malloc(1006);
	if (pthread_create(&th, NULL, worker, x) || pthread_join(th, NULL))
		return 1;
	sink = malloc((size_t)1 << 62);
	return sink != NULL;
}
