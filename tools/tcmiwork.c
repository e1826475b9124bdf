/* tcmiwork.c - a workload of tcmalloc's or mimalloc's own entry points (tc_*, mi_*),
 * found with dlsym, so one binary serves preloaded and linked runs: it calls them in
 * a fixed pattern and writes its own tally (allocwork's format), so fragscope's counts
 * can be checked against it. With --release it then frees a known amount of memory,
 * forces the allocator to give it back (MallocExtension_ReleaseFreeMemory, or
 * mi_collect(true)) and writes RssAnon before and after that call.
 *
 *   tcmiwork tc|mi ROUNDS THREADS KEEP TALLY [--release MIB FILE]
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "rssanon.h"

typedef void *(*fn1)(size_t);
typedef void *(*fn2)(size_t, size_t);
typedef void *(*fnp2)(void *, size_t);
typedef void *(*fnp3)(void *, size_t, size_t);
typedef int (*fnpm)(void **, size_t, size_t);
typedef void *(*fnnt)(size_t, const void *);
typedef void (*ffree)(void *);
typedef void (*ffree2)(void *, size_t);
typedef void (*fvoid)(void);
typedef void (*fbool)(int);

/* The calls of one pattern: how each allocates, by the name the tally gives it. */
enum op { O_MALLOC1, O_CALLOC, O_ALIGN_SZ, O_ALIGN_AS, O_NEW_NT, O_REALLOC, O_REALLOCN, O_POSIX, O_MALLOC2,
	  O_MALLOC3 };
struct call { const char *name; enum op op; void *fn; };
#define C(name, op) { name, op, NULL }

static struct call tc_calls[] = {
	C("tc_malloc", O_MALLOC1), C("tc_calloc", O_CALLOC), C("tc_memalign", O_ALIGN_AS),
	C("tc_new", O_MALLOC2), C("tc_newarray_nothrow", O_NEW_NT), C("tc_realloc", O_REALLOC),
	C("tc_posix_memalign", O_POSIX), C("tc_malloc_skip_new_handler", O_MALLOC3), { 0 },
};
static struct call mi_calls[] = {
	C("mi_malloc", O_MALLOC1), C("mi_zalloc", O_MALLOC2), C("mi_calloc", O_CALLOC),
	C("mi_mallocn", O_CALLOC), C("mi_malloc_aligned", O_ALIGN_SZ), C("mi_realloc", O_REALLOC),
	C("mi_reallocn", O_REALLOCN), C("mi_new_n", O_CALLOC), C("mi_zalloc_aligned", O_ALIGN_SZ),
	C("mi_new_aligned", O_ALIGN_SZ), C("mi_posix_memalign", O_POSIX), { 0 },
};
/* frees, in turn: plain, sized (the size is passed), and a third name */
static const char *tc_frees[3] = { "tc_free", "tc_free_sized", "tc_deletearray" };
static const char *mi_frees[3] = { "mi_free", "mi_free_size", "mi_cfree" };

#define NCALLS 16
struct tally {
	uint64_t allocs, frees, bytes_allocated, bytes_freed, live_count, live_bytes;
	uint64_t calls[NCALLS], bytes[NCALLS], fcalls[3], fbytes[3];
};

static struct call *calls;
static const char **frees;
static void *free_fn[3];
static int ncalls, keep;
static long rounds;
static struct tally totals;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t start;
static const size_t sizes[] = { 24, 100, 333, 1000, 4000, 17000, 70000, 300000 };
static const char nothrow_tag;

static void *sym(const char *name)
{
	void *f = dlsym(RTLD_DEFAULT, name);

	if (!f) {
		fprintf(stderr, "tcmiwork: no %s in this process (preload or link the allocator)\n", name);
		exit(2);
	}
	return f;
}

static void *alloc_one(struct tally *t, int c, size_t *n, long i)
{
	struct call *k = &calls[c];
	void *p = NULL, *q;
	size_t to;

	switch (k->op) {
	case O_MALLOC1: case O_MALLOC2: case O_MALLOC3: p = ((fn1)k->fn)(*n); break;
	case O_CALLOC: *n = *n / 4 * 4; p = ((fn2)k->fn)(*n / 4, 4); break;
	case O_ALIGN_SZ: p = ((fn2)k->fn)(*n, 64); break;
	case O_ALIGN_AS: p = ((fn2)k->fn)(64, *n); break;
	case O_NEW_NT: p = ((fnnt)k->fn)(*n, &nothrow_tag); break;
	case O_POSIX: if (((fnpm)k->fn)(&p, 128, *n)) p = NULL; break;
	case O_REALLOC: case O_REALLOCN:
		/* the first call of the table allocates, then grow or shrink: one release, one allocation */
		q = ((fn1)calls[0].fn)(*n);
		t->calls[0]++;
		t->bytes[0] += *n;
		t->allocs++;
		t->bytes_allocated += *n;
		to = (i / 2) % 2 ? *n / 3 : *n * 2;
		p = k->op == O_REALLOC ? ((fnp2)k->fn)(q, to) : ((fnp3)k->fn)(q, to, 1);
		t->frees++;
		t->bytes_freed += *n;
		*n = to;
		break;
	}
	if (!p)
		abort();
	t->calls[c]++;
	t->bytes[c] += *n;
	t->allocs++;
	t->bytes_allocated += *n;
	memset(p, 1, *n < 64 ? *n : 64);
	return p;
}

static void free_one(struct tally *t, void *p, size_t n, long i)
{
	int f = (int)(i % 3);

	if (f == 1)
		((ffree2)free_fn[f])(p, n);
	else
		((ffree)free_fn[f])(p);
	t->fcalls[f]++;
	t->fbytes[f] += n;
	t->frees++;
	t->bytes_freed += n;
}

static void *worker(void *arg)
{
	long seed = (long)(intptr_t)arg;
	struct tally t;

	memset(&t, 0, sizeof(t));
	pthread_barrier_wait(&start);
	for (long i = 0; i < rounds; i++) {
		size_t n = sizes[(size_t)(i + seed + i / 8) % 8];
		void *p = alloc_one(&t, (int)((i + seed) % ncalls), &n, i);

		if (keep && i % keep == 0) {	/* kept until exit (never freed) */
			t.live_count++;
			t.live_bytes += n;
		} else {
			free_one(&t, p, n, i);
		}
	}
	pthread_mutex_lock(&lock);
	for (size_t k = 0; k < sizeof(t) / sizeof(uint64_t); k++)
		((uint64_t *)&totals)[k] += ((uint64_t *)&t)[k];
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void write_file(const char *path, const char *buf, int n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, buf, (size_t)n) != n)
		_exit(3);
	close(fd);
}

static void write_tally(const char *path, int nthreads)
{
	char buf[4096];
	int n;

	n = snprintf(buf, sizeof(buf),
		     "{\"pid\": %d, \"threads\": %d, \"allocs\": %lu, \"frees\": %lu, \"bytes_allocated\": %lu, "
		     "\"bytes_freed\": %lu, \"failed_allocs\": 0, \"free_null\": 0, \"frees_unknown\": 0, "
		     "\"live_count\": %lu, \"live_bytes\": %lu, \"functions\": {", getpid(), nthreads,
		     totals.allocs, totals.frees, totals.bytes_allocated, totals.bytes_freed, totals.live_count,
		     totals.live_bytes);
	for (int c = 0; c < ncalls; c++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "\"%s\": {\"calls\": %lu, \"bytes\": %lu}, ",
			      calls[c].name, totals.calls[c], totals.bytes[c]);
	for (int f = 0; f < 3; f++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "\"%s\": {\"calls\": %lu, \"bytes\": %lu}%s",
			      frees[f], totals.fcalls[f], totals.fbytes[f], f < 2 ? ", " : "");
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "}}\n");
	write_file(path, buf, n);
}

/* MIB MiB in blocks of 1 MiB (tcmalloc: spans of its page heap; mimalloc: large
 * pages of its segments), touched, freed, then the allocator's own release. */
static void release(int tc, long mib, const char *path)
{
	void **blocks = mmap(NULL, (size_t)mib * sizeof(void *), PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t before, after, freed;
	char buf[256];
	int n;

	if (blocks == MAP_FAILED)
		abort();
	for (long i = 0; i < mib; i++) {
		blocks[i] = ((fn1)calls[0].fn)(1 << 20);
		if (!blocks[i])
			abort();
		memset(blocks[i], 7, 1 << 20);
	}
	before = rss_anon();
	for (long i = 0; i < mib; i++)
		((ffree)free_fn[0])(blocks[i]);
	freed = rss_anon();
	if (tc)
		((fvoid)sym("MallocExtension_ReleaseFreeMemory"))();
	else
		((fbool)sym("mi_collect"))(1);
	after = rss_anon();
	n = snprintf(buf, sizeof(buf), "{\"rss_full\": %lu, \"rss_before_release\": %lu, \"rss_after_release\": %lu}\n",
		     before, freed, after);
	write_file(path, buf, n);
}

int main(int argc, char **argv)
{
	int tc, nthreads;
	pthread_t th[64];

	if (argc < 6 || (strcmp(argv[1], "tc") && strcmp(argv[1], "mi"))) {
		fprintf(stderr, "usage: tcmiwork tc|mi ROUNDS THREADS KEEP TALLY [--release MIB FILE]\n");
		return 2;
	}
	tc = !strcmp(argv[1], "tc");
	rounds = atol(argv[2]);
	nthreads = atoi(argv[3]);
	keep = atoi(argv[4]);
	if (nthreads < 1 || nthreads > 64)
		return 2;
	calls = tc ? tc_calls : mi_calls;
	frees = tc ? tc_frees : mi_frees;
	for (ncalls = 0; calls[ncalls].name; ncalls++)
		calls[ncalls].fn = sym(calls[ncalls].name);
	for (int f = 0; f < 3; f++)
		free_fn[f] = sym(frees[f]);
	pthread_barrier_init(&start, NULL, (unsigned)nthreads);
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)(intptr_t)(i * 7)))
			return 1;
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	write_tally(argv[5], nthreads);
	if (argc >= 9 && !strcmp(argv[6], "--release"))
		release(tc, atol(argv[7]), argv[8]);
	return 0;
}
