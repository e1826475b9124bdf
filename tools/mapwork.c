/* mapwork.c - a workload whose mappings are known exactly, for the address ledger:
 * after the gate it maps memory of its own, lets the allocator map some, unmaps
 * parts, and writes what each owner holds mapped since, as JSON.
 *
 *   mapwork --ready FILE --tally FILE [--no-thread] [--churn N] [--raw-unmap]
 *
 * Between SIGUSR1 (the gate) and the tally, in this order:
 *   program's own: mmap 5 pages (A); 3 pages right below A with MAP_FIXED_NOREPLACE
 *     (B, merged with A into one VMA); 7 pages (C)
 *   allocator's: 3 x malloc(300000), kept (mmapped chunks, placed by the kernel next to
 *     C: merged VMAs), 1 x malloc(400000) freed (munmap)
 *   program's own: 4 pages (D) grown to 10 by mremap
 *   program's own again: munmap of A's last page and of C's 3rd and 4th pages, then
 *     mmap(MAP_FIXED, PROT_NONE) over the last page of a chunk (glibc's way of giving
 *     a heap's top back: still the allocator's) and into C's 3rd page (a new mapping)
 *   a thread (256 KiB stack, one guard page) whose first malloc makes glibc create an
 *     arena heap (mmap 128 MiB PROT_NONE, head and tail unmapped, 64 MiB left)
 * --churn N: then N x (mmap, munmap) of one page of its own, which leave nothing.
 * --raw-unmap: then 2 pages of its own (E) unmapped by a raw syscall (not libc's
 *   wrapper) and mapped again at the same place (MAP_FIXED_NOREPLACE): 2 pages.
 * The tally's figures come from the program's own calls, the chunk headers glibc
 * wrote, and the heap's extent in /proc/self/maps (the kernel's view). The measured
 * phase and the tally use no stdio and no allocation beyond those listed. */
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
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PG 4096ul
#define HEAP_MAX (64ul << 20)	/* glibc's HEAP_MAX_SIZE on 64-bit */
#define THREAD_STACK (256ul << 10)

static int go_pipe[2], done_pipe[2], leave_pipe[2];
static void *thread_block;
static char maps_buf[1 << 20];

static void wait_signal(int sig)
{
	sigset_t set;
	int got;

	sigemptyset(&set);
	sigaddset(&set, sig);
	sigwait(&set, &got);
}

static void *own_map(void *hint, size_t len, int flags)
{
	void *p = mmap(hint, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);

	if (p == MAP_FAILED)
		_exit(4);
	memset(p, 1, len);
	return p;
}

static void *worker(void *arg)
{
	char c;

	(void)arg;
	if (read(go_pipe[0], &c, 1) != 1)
		return NULL;
	thread_block = malloc(100);	/* this thread's first: a new arena and its heap */
	if (write(done_pipe[1], "x", 1) != 1)
		return NULL;
	if (read(leave_pipe[0], &c, 1) < 0)
		return NULL;
	free(thread_block);
	return NULL;
}

/* glibc's mapping of an mmapped chunk: its size field (the alignment offset in
 * prev_size is 0 for malloc). */
static uint64_t chunk_mapping(void *p)
{
#ifdef MAPWORK_JEMALLOC
	(void)p;
	return 0;	/* jemalloc's extents carry no header: its bytes are not tallied */
#else
	const volatile uint64_t *h = (const volatile uint64_t *)((uintptr_t)p - 16);

	if (!(h[1] & 2))	/* IS_MMAPPED */
		_exit(5);
	return (h[1] & ~7ul) + h[0];
#endif
}

/* Bytes of the VMAs inside [lo, hi), from /proc/self/maps. */
static uint64_t vma_bytes(uint64_t lo, uint64_t hi)
{
	int fd = open("/proc/self/maps", O_RDONLY);
	size_t n = 0;
	ssize_t r;
	uint64_t sum = 0;

	if (fd < 0)
		_exit(6);
	while ((r = read(fd, maps_buf + n, sizeof(maps_buf) - 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	maps_buf[n] = 0;
	for (char *l = maps_buf; *l;) {
		char *nl = strchr(l, '\n');
		uint64_t s = strtoull(l, &l, 16), e = strtoull(l + 1, NULL, 16);

		if (s >= lo && e <= hi)
			sum += e - s;
		if (!nl)
			break;
		l = nl + 1;
	}
	return sum;
}

/* The VMA holding addr, from /proc/self/maps (maps_buf as read by vma_bytes). */
static void vma_of(uint64_t addr, uint64_t *vs, uint64_t *ve)
{
	*vs = *ve = 0;
	vma_bytes(0, 0);
	for (char *l = maps_buf; *l;) {
		char *nl = strchr(l, '\n');
		uint64_t s = strtoull(l, &l, 16), e = strtoull(l + 1, NULL, 16);

		if (addr >= s && addr < e) {
			*vs = s;
			*ve = e;
		}
		if (!nl)
			break;
		l = nl + 1;
	}
}

int main(int argc, char **argv)
{
	const char *ready = NULL, *tally = NULL;
	uint64_t own = 0, alloc = 0, stack = 0, heap = 0, chunks = 0;
	int with_thread = 1, churn = 0, raw_unmap = 0, fd, merged_alloc = 0, merged_own = 0;
	pthread_attr_t attr;
	pthread_t th;
	sigset_t set;
	char buf[512];
	void *big[3];

	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && !strcmp(argv[i], "--ready"))
			ready = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--tally"))
			tally = argv[++i];
		else if (!strcmp(argv[i], "--no-thread"))
			with_thread = 0;
		else if (!strcmp(argv[i], "--raw-unmap"))
			raw_unmap = 1;
		else if (i + 1 < argc && !strcmp(argv[i], "--churn"))
			churn = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: mapwork --ready FILE --tally FILE [--no-thread] [--churn N] [--raw-unmap]\n");
			return 2;
		}
	}
	if (!ready || !tally) {
		fprintf(stderr, "usage: mapwork --ready FILE --tally FILE [--no-thread] [--churn N] [--raw-unmap]\n");
		return 2;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pipe(go_pipe) || pipe(done_pipe) || pipe(leave_pipe))
		return 3;
	fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || dprintf(fd, "%d\n", getpid()) < 0)
		return 3;
	close(fd);
	wait_signal(SIGUSR1);

	/* the program's own */
	char *a = own_map(NULL, 5 * PG, 0);
	char *b = mmap(a - 3 * PG, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (b == MAP_FAILED)	/* taken: anywhere will do, the bytes are the same */
		b = own_map(NULL, 3 * PG, 0);
	char *c = own_map(NULL, 7 * PG, 0);

	/* the allocator's: mmapped chunks (above the default 128 KiB threshold), placed
	 * by the kernel right below C: one VMA with it */
	for (int i = 0; i < 3; i++) {
		big[i] = malloc(300000);
		if (!big[i])
			return 4;
		memset(big[i], 2, 300000);
		chunks += chunk_mapping(big[i]);
	}
	alloc += chunks;
	{
		void *gone = malloc(400000);

		chunk_mapping(gone);	/* mmapped too, then unmapped by free */
		free(gone);
	}

	char *d = own_map(NULL, 4 * PG, 0);
	d = mremap(d, 4 * PG, 10 * PG, MREMAP_MAYMOVE);
	if (d == MAP_FAILED)
		return 4;
	own += 5 * PG + 3 * PG + 7 * PG + 10 * PG;

	/* the program unmaps parts of its own */
	if (munmap(a + 4 * PG, PG) || munmap(c + 2 * PG, 2 * PG))
		return 4;
	own -= 3 * PG;

	/* mmap(MAP_FIXED, PROT_NONE), as glibc gives back a heap's top: over a chunk's
	 * last page it stays the allocator's; into the hole in C it is a new mapping */
#ifndef MAPWORK_JEMALLOC
	{
		const volatile uint64_t *h = (const volatile uint64_t *)((uintptr_t)big[2] - 16);
		char *last = (char *)big[2] - 16 - h[0] + chunk_mapping(big[2]) - PG;

		if (mmap(last, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != last)
			return 4;
	}
#endif
	if (mmap(c + 2 * PG, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != c + 2 * PG)
		return 4;
	own += PG;

	if (with_thread) {
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, THREAD_STACK);
		pthread_attr_setguardsize(&attr, PG);
		if (pthread_create(&th, &attr, worker, NULL))
			return 4;
		stack += THREAD_STACK + PG;	/* glibc maps the guard beside the stack */
		if (write(go_pipe[1], "x", 1) != 1 || read(done_pipe[0], buf, 1) != 1)
			return 4;
#ifndef MAPWORK_JEMALLOC
		{
			uint64_t base = (uint64_t)thread_block & ~(HEAP_MAX - 1);

			heap = vma_bytes(base, base + HEAP_MAX);
			alloc += heap;
		}
#endif
	}
	for (int i = 0; i < churn; i++)
		if (munmap(own_map(NULL, PG, 0), PG))
			return 4;
	if (raw_unmap) {
		char *e = own_map(NULL, 2 * PG, 0);

		if (syscall(SYS_munmap, e, 2 * PG) ||
		    mmap(e, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != e)
			return 4;
		own += 2 * PG;
	}
	/* did the kernel merge a chunk with the program's mappings, and A with B? */
	for (int i = 0; i < 3; i++) {
		uint64_t vs, ve, own_at[] = { (uint64_t)a, (uint64_t)b, (uint64_t)c, (uint64_t)c + 4 * PG, (uint64_t)d };

		vma_of((uint64_t)big[i] & ~(PG - 1), &vs, &ve);
		for (size_t k = 0; k < sizeof(own_at) / sizeof(own_at[0]); k++)
			merged_alloc |= own_at[k] >= vs && own_at[k] < ve;
	}
	{
		uint64_t vs, ve;

		vma_of((uint64_t)a, &vs, &ve);
		merged_own = (uint64_t)b >= vs && (uint64_t)b < ve;
	}
	fd = open(tally, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return 3;
	/* allocator: every mapping it made and still has; other_anon: the program's own */
#ifdef MAPWORK_JEMALLOC
	snprintf(buf, sizeof(buf), "null");
#else
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)alloc);
#endif
	dprintf(fd, "{\"pid\": %d, \"allocator\": %s, \"other_anon\": %llu, \"stack\": %llu, \"chunks\": %llu, "
		"\"arena_heap\": %llu, \"merged_with_allocator\": %d, \"merged_own\": %d}\n", getpid(), buf,
		(unsigned long long)own, (unsigned long long)stack, (unsigned long long)chunks,
		(unsigned long long)heap, merged_alloc, merged_own);
	close(fd);
	wait_signal(SIGUSR2);
	if (with_thread) {
		if (write(leave_pipe[1], "x", 1) != 1)
			return 4;
		pthread_join(th, NULL);
	}
	for (int i = 0; i < 3; i++)
		free(big[i]);
	return 0;
}
