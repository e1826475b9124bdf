/* allocwork.c - a workload whose allocations are known exactly: it calls the C
 * allocation API in a fixed pattern and writes its own tally, so fragscope's counts
 * can be checked against it. The measured phase uses no stdio (no hidden mallocs).
 *
 *   allocwork [--threads N] [--rounds R] [--keep K] [--api LIST] [--pre N]
 *             [--wait] [--hold] [--tally FILE] [--ready FILE]
 *
 * --keep K   every K-th block of a thread stays live until exit (0: none)
 * --api LIST comma separated: malloc,calloc,realloc,reallocarray,posix_memalign,
 *            aligned_alloc,memalign,valloc,pvalloc,free_null,fail (default: all
 *            these), realloc_edge (realloc(NULL, n) then realloc(p, 0): glibc only)
 * --pre N    N blocks (size 777) allocated before the start gate, freed after it:
 *            attached by PID, fragscope sees them as frees of unknown size
 * --wait     start the measured phase on SIGUSR1 (threads already created)
 * --hold     after the tally is written, wait for SIGUSR2 before exiting
 * --ready F  written (with the PID) once waiting for SIGUSR1
 * --syscalls N  after the gate, the main thread also does N times: malloc(1 MiB)
 *            (mmapped with MALLOC_MMAP_THRESHOLD_=131072), touch, free; and N times
 *            its own mmap(64 KiB), touch, madvise(MADV_DONTNEED), munmap
 * --big      after the gate, the main thread also keeps three large blocks: 40 MiB + 1
 *            and 128 MiB + 1 (above glibc's largest dynamic mmap threshold; jemalloc
 *            rounds the second up by 32 MiB) and one grown from 1 MiB by realloc
 *            (not with --rounds 0: the tests' baseline runs do everything else)
 *
 * The tally's live_usable is the sum of malloc_usable_size of the live blocks (what
 * redis's used_memory sums), taken when each block is kept.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum api { A_MALLOC, A_CALLOC, A_REALLOC, A_REALLOCARRAY, A_POSIX_MEMALIGN, A_ALIGNED_ALLOC,
	   A_MEMALIGN, A_VALLOC, A_PVALLOC, A_FREE_NULL, A_FAIL, A_REALLOC_EDGE, A__COUNT };
static const char *const api_names[A__COUNT] = {
	"malloc", "calloc", "realloc", "reallocarray", "posix_memalign", "aligned_alloc",
	"memalign", "valloc", "pvalloc", "free_null", "fail", "realloc_edge",
};

/* What the workload itself counts, in fragscope's vocabulary. */
struct tally {
	uint64_t allocs, frees, bytes_allocated, bytes_freed, failed, free_null;
	uint64_t live_count, live_bytes, live_usable;
	uint64_t calls[A__COUNT + 1], bytes[A__COUNT + 1];	/* last slot: free */
};

#define F_FREE A__COUNT

static int nthreads = 1, keep_every, pre_count, want_wait, want_hold;
static long rounds = 1000;
static int apis[A__COUNT], napis;
static const char *tally_path, *ready_path;
/* start: all threads exist before the measured phase; done: all finished it;
 * leave: threads exit only after the tally (a thread's exit frees libc state). */
static pthread_barrier_t start_barrier, done_barrier, leave_barrier;
static struct tally totals;
static pthread_mutex_t totals_lock = PTHREAD_MUTEX_INITIALIZER;

/* Sizes cycle through small, medium, and mmap-sized blocks. */
static const size_t sizes[] = { 24, 100, 333, 1000, 4000, 17000, 70000, 200000 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static void got(struct tally *t, int api, size_t n)
{
	t->allocs++;
	t->bytes_allocated += n;
	t->calls[api]++;
	t->bytes[api] += n;
}

static void release(struct tally *t, void *p, size_t n)
{
	free(p);
	t->frees++;
	t->bytes_freed += n;
	t->calls[F_FREE]++;
	t->bytes[F_FREE] += n;
}

static void *worker(void *arg)
{
	struct tally t;
	void **kept = NULL;
	size_t *kept_size = NULL, nkept = 0;
	long seed = (long)(intptr_t)arg;

	memset(&t, 0, sizeof(t));
	if (keep_every) {
		/* Bookkeeping is mmapped: only the measured calls go through the allocator. */
		size_t cap = (size_t)(rounds / keep_every + 1);

		kept = mmap(NULL, cap * (sizeof(void *) + sizeof(size_t)), PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (kept == MAP_FAILED)
			abort();
		kept_size = (size_t *)(kept + cap);
	}
	pthread_barrier_wait(&start_barrier);
	for (long i = 0; i < rounds; i++) {
		int api = apis[(i + seed) % napis];
		/* i / NSIZES: blocks kept every K-th round take varied sizes */
		size_t n = sizes[(size_t)(i + seed + i / (long)NSIZES) % NSIZES];
		void *p = NULL;

		switch (api) {
		case A_MALLOC: p = malloc(n); break;
		case A_CALLOC: p = calloc(n / 4, 4); n = n / 4 * 4; break;
		case A_VALLOC: p = valloc(n); break;
		case A_PVALLOC: p = pvalloc(n); break;
		case A_ALIGNED_ALLOC: n = (n + 63) & ~(size_t)63; p = aligned_alloc(64, n); break;
		case A_MEMALIGN: p = memalign(256, n); break;
		case A_POSIX_MEMALIGN:
			if (posix_memalign(&p, 128, n))
				p = NULL;
			break;
		case A_REALLOC:
		case A_REALLOCARRAY: {
			/* malloc, then grow (or, every other time, shrink): one release and
			 * one allocation */
			void *q = malloc(n);
			size_t to = (i / 2) % 2 ? n / 3 : n * 2;

			got(&t, A_MALLOC, n);
			p = api == A_REALLOC ? realloc(q, to) : reallocarray(q, to, 1);
			t.frees++;
			t.bytes_freed += n;
			n = to;
			break;
		}
		case A_REALLOC_EDGE: {
			/* realloc(NULL, n) allocates (glibc: by a jump to malloc), realloc(p, 0)
			 * below releases (glibc: by calling free): one call each. A literal
			 * NULL would be folded into malloc(n) by the compiler. */
			void *volatile null = NULL;

			p = realloc(null, n);
			api = A_REALLOC;
			break;
		}
		case A_FREE_NULL: {
			void *volatile null = NULL;	/* a literal free(NULL) is folded away */

			free(null);
			t.free_null++;
			t.calls[F_FREE]++;
			continue;
		}
		case A_FAIL: {
			/* A request no allocator can satisfy; fragscope must count it failed. */
			volatile size_t huge = SIZE_MAX / 2;

			p = malloc(huge);
			t.calls[A_MALLOC]++;
			t.failed++;
			if (p)
				abort();
			continue;
		}
		}
		if (!p)
			abort();
		got(&t, api, n);
		memset(p, 1, n < 64 ? n : 64);
		if (keep_every && i % keep_every == 0) {
			kept[nkept] = p;
			kept_size[nkept++] = n;
			t.live_count++;
			t.live_bytes += n;
			t.live_usable += malloc_usable_size(p);
		} else if (apis[(i + seed) % napis] == A_REALLOC_EDGE) {
			volatile size_t zero = 0;

			if (realloc(p, zero))	/* glibc frees and returns NULL */
				abort();
			t.frees++;
			t.bytes_freed += n;
			t.calls[A_REALLOC]++;
		} else {
			release(&t, p, n);
		}
	}
	pthread_mutex_lock(&totals_lock);
	for (size_t k = 0; k < sizeof(t) / sizeof(uint64_t); k++)
		((uint64_t *)&totals)[k] += ((uint64_t *)&t)[k];
	pthread_mutex_unlock(&totals_lock);
	pthread_barrier_wait(&done_barrier);
	pthread_barrier_wait(&leave_barrier);
	/* The kept blocks stay live until the process exits. */
	return kept;
}

static int nsyscalls, want_big;
static void *big[3];

/* Memory syscalls with known callers: N by the allocator (an mmapped chunk and its
 * munmap), N of the program's own (mmap, madvise, munmap). */
static void do_syscalls(void)
{
	struct tally t;

	memset(&t, 0, sizeof(t));
	for (int i = 0; i < nsyscalls; i++) {
		char *p = malloc(1 << 20), *q;

		if (!p)
			abort();
		got(&t, A_MALLOC, 1 << 20);
		p[0] = 1;
		release(&t, p, 1 << 20);
		q = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (q == MAP_FAILED)
			abort();
		q[0] = 1;
		if (madvise(q, 65536, MADV_DONTNEED) || munmap(q, 65536))
			abort();
	}
	if (want_big && rounds) {
		/* kept until exit; only their first page is touched */
		static const size_t bs[2] = { (40u << 20) + 1, (128u << 20) + 1 };
		char *q;

		for (int i = 0; i < 2; i++) {
			if (!(big[i] = malloc(bs[i])))
				abort();
			got(&t, A_MALLOC, bs[i]);
		}
		if (!(q = malloc(1 << 20)))
			abort();
		got(&t, A_MALLOC, 1 << 20);
		if (!(big[2] = realloc(q, 3u << 20)))
			abort();
		got(&t, A_REALLOC, 3u << 20);
		t.frees++;
		t.bytes_freed += 1 << 20;
		for (int i = 0; i < 3; i++) {
			size_t n = i < 2 ? bs[i] : 3u << 20;

			*(char *)big[i] = 1;
			totals.live_count++;
			totals.live_bytes += n;
			totals.live_usable += malloc_usable_size(big[i]);
		}
	}
	totals.allocs += t.allocs;
	totals.frees += t.frees;
	totals.bytes_allocated += t.bytes_allocated;
	totals.bytes_freed += t.bytes_freed;
	for (int a = 0; a <= A__COUNT; a++) {
		totals.calls[a] += t.calls[a];
		totals.bytes[a] += t.bytes[a];
	}
}

static void write_tally(void)
{
	char buf[4096];
	int n, fd = tally_path ? open(tally_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : 2;

	n = snprintf(buf, sizeof(buf),
		     "{\"pid\": %d, \"threads\": %d, \"allocs\": %lu, \"frees\": %lu, \"bytes_allocated\": %lu, "
		     "\"bytes_freed\": %lu, \"failed_allocs\": %lu, \"free_null\": %lu, \"frees_unknown\": %d, "
		     "\"live_count\": %lu, \"live_bytes\": %lu, \"live_usable\": %lu, \"functions\": {",
		     getpid(), nthreads, totals.allocs, totals.frees + (uint64_t)pre_count, totals.bytes_allocated, totals.bytes_freed,
		     totals.failed, totals.free_null, pre_count, totals.live_count, totals.live_bytes, totals.live_usable);
	for (int a = 0; a <= A__COUNT; a++) {
		if (a == A_FREE_NULL || a == A_FAIL)
			continue;
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%s\"%s\": {\"calls\": %lu, \"bytes\": %lu}",
			      a ? ", " : "", a == F_FREE ? "free" : api_names[a], totals.calls[a], totals.bytes[a]);
	}
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "}, \"syscalls\": %d}\n", nsyscalls);
	if (write(fd, buf, (size_t)n) != n)
		_exit(3);
	if (fd != 2)
		close(fd);
}

static int parse_apis(const char *s)
{
	char *copy = strdup(s), *save = NULL;

	napis = 0;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int a;

		for (a = 0; a < A__COUNT && strcmp(t, api_names[a]); a++)
			;
		if (a == A__COUNT) {
			fprintf(stderr, "allocwork: unknown api '%s'\n", t);
			return -1;
		}
		apis[napis++] = a;
	}
	free(copy);
	return napis ? 0 : -1;
}

static void wait_signal(int sig)
{
	sigset_t set;
	int got_sig;

	sigemptyset(&set);
	sigaddset(&set, sig);
	sigwait(&set, &got_sig);
}

int main(int argc, char **argv)
{
	pthread_t *th;
	void **pre = NULL;
	sigset_t set;

	for (int a = 0; a < A_REALLOC_EDGE; a++)	/* realloc_edge only when asked */
		apis[napis++] = a;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(o, "--wait")) want_wait = 1;
		else if (!strcmp(o, "--hold")) want_hold = 1;
		else if (!strcmp(o, "--big")) want_big = 1;
		else if (v && !strcmp(o, "--threads")) { nthreads = atoi(v); i++; }
		else if (v && !strcmp(o, "--rounds")) { rounds = atol(v); i++; }
		else if (v && !strcmp(o, "--keep")) { keep_every = atoi(v); i++; }
		else if (v && !strcmp(o, "--pre")) { pre_count = atoi(v); i++; }
		else if (v && !strcmp(o, "--tally")) { tally_path = v; i++; }
		else if (v && !strcmp(o, "--ready")) { ready_path = v; i++; }
		else if (v && !strcmp(o, "--syscalls")) { nsyscalls = atoi(v); i++; }
		else if (v && !strcmp(o, "--api")) { if (parse_apis(v)) return 2; i++; }
		else {
			fprintf(stderr, "usage: allocwork [--threads N] [--rounds R] [--keep K] [--api LIST] "
					"[--pre N] [--wait] [--hold] [--tally FILE] [--ready FILE] [--syscalls N] [--big]\n");
			return 2;
		}
	}
	if (nthreads < 1 || rounds < 0 || keep_every < 0 || pre_count < 0)
		return 2;
	/* Signals are taken with sigwait, in every thread's mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if (pre_count) {
		pre = malloc(sizeof(void *) * (size_t)pre_count);
		for (int i = 0; i < pre_count; i++)
			pre[i] = malloc(777);
	}
	th = calloc((size_t)nthreads, sizeof(*th));
	pthread_barrier_init(&start_barrier, NULL, (unsigned)nthreads + 1);
	pthread_barrier_init(&done_barrier, NULL, (unsigned)nthreads + 1);
	pthread_barrier_init(&leave_barrier, NULL, (unsigned)nthreads + 1);
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)(intptr_t)(i * 7)))
			return 3;
	if (want_wait) {
		if (ready_path) {
			FILE *f = fopen(ready_path, "w");

			if (!f)
				return 3;
			fprintf(f, "%d\n", getpid());
			fclose(f);
		}
		wait_signal(SIGUSR1);
	}
	for (int i = 0; i < pre_count; i++)
		free(pre[i]);
	totals.calls[F_FREE] += (uint64_t)pre_count;
	do_syscalls();
	pthread_barrier_wait(&start_barrier);
	pthread_barrier_wait(&done_barrier);
	write_tally();
	if (want_hold)
		wait_signal(SIGUSR2);
	pthread_barrier_wait(&leave_barrier);
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	return 0;
}
