/* heapwork.c - glibc heaps of a known shape for the census tests (`fragscope
 * snapshot`), held idle while fragscope reads them; the process reports glibc's own
 * figures (mallinfo2) and measures what malloc_trim(0) really gives back.
 *
 *   heapwork small              ~1.5 MiB of live blocks (16 to 496 bytes) in the main arena
 *   heapwork untouched          pages malloc'ed but never written: a 16 MiB live chunk
 *                               and a 24 MiB top in the main heap, an 8 MiB top in a
 *                               thread's arena, a 40 MiB live mmapped chunk
 *   heapwork mmapped N          N live 1 MiB blocks (mmapped chunks, written), made one
 *                               after another so their mappings sit side by side
 *   heapwork interleaved N      N rounds of: 256 KiB of the program's own (mmap, written),
 *                               then a live block of 160 to 412 KiB (an mmapped chunk);
 *                               one in 4 blocks then freed. The kernel merges each
 *                               chunk's mapping with the program's own beside it, as
 *                               with Python's arenas
 *   heapwork big MIB KEEP       MIB MiB of small blocks, half in the main arena (48 B:
 *                               fastbin chunks when freed), half in a second thread's
 *                               arena (200 B); every block freed but one in KEEP
 *
 * Then it waits for commands on stdin, one a line, and answers on stdout:
 *   info   "mallinfo UORDBLKS HBLKHD HBLKS FORDBLKS ARENA" (mallinfo2, every arena)
 *          and "tally CHUNKS MMAPPED_CHUNKS MMAPPED_BYTES": chunk bytes of its live
 *          blocks (malloc_usable_size + 8, + 16 for mmapped ones), how many are
 *          mmapped and their chunk bytes
 *   trim   "trim BEFORE AFTER": RssAnon in bytes around malloc_trim(0)
 *   rss    "rss BYTES": RssAnon
 *   quit   (or end of input) exits
 * Output goes through write(2) from stack buffers: answering allocates nothing. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "rssanon.h"

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0 && write(1, buf, (size_t)n) != n)
		_exit(3);
}


/* The live blocks, to tally their chunks. */
static void **live;
static long nlive, live_cap;

static void keep(void *p)
{
	if (nlive == live_cap) {
		live_cap = live_cap ? live_cap * 2 : 4096;
		live = realloc(live, sizeof(*live) * (size_t)live_cap);
		if (!live)
			_exit(2);
	}
	live[nlive++] = p;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p) {
		say("malloc(%zu) failed\n", n);
		_exit(2);
	}
	return p;
}

/* glibc's IS_MMAPPED bit, in the size word just below the block: the process
 * reading its own header, as glibc's free does. */
static int is_mmapped(void *p)
{
	size_t hdr = ((size_t *)p)[-1];

	return (hdr & 2) != 0;
}

static void info(void)
{
	struct mallinfo2 mi = mallinfo2();
	unsigned long long chunks = 0, mm = 0, mm_bytes = 0;

	for (long i = 0; i < nlive; i++) {
		size_t u = malloc_usable_size(live[i]);

		if (is_mmapped(live[i])) {
			mm++;
			mm_bytes += u + 16;
			chunks += u + 16;
		} else {
			chunks += u + 8;
		}
	}
	say("mallinfo %zu %zu %zu %zu %zu\n", mi.uordblks, mi.hblkhd, mi.hblks, mi.fordblks, mi.arena);
	say("tally %llu %llu %llu\n", chunks, mm, mm_bytes);
}

/* big: one arena's share, built then thinned. */
struct share {
	size_t size, bytes;
	long keep_every;
	int in_thread;
	int done[2], stay[2];
};

static void build(struct share *s)
{
	long n = (long)(s->bytes / (s->size + 16));
	void **all = xmalloc(sizeof(void *) * (size_t)n);

	for (long i = 0; i < n; i++) {
		all[i] = xmalloc(s->size);
		memset(all[i], 0x5a, s->size);
	}
	for (long i = 0; i < n; i++) {
		if (i % s->keep_every == s->keep_every / 2)
			keep(all[i]);
		else
			free(all[i]);
	}
	free(all);
}

static void *thread_main(void *arg)
{
	struct share *s = arg;
	char c;

	build(s);
	if (write(s->done[1], "x", 1) != 1)
		_exit(3);
	/* stay alive: its tcache and arena stay as they are */
	while (read(s->stay[0], &c, 1) < 0)
		;
	return NULL;
}

static void *untouched_thread(void *arg)
{
	struct share *s = arg;
	char c;

	free(xmalloc(8 << 20));	/* its arena's top: 8 MiB never written */
	if (write(s->done[1], "x", 1) != 1)
		_exit(3);
	while (read(s->stay[0], &c, 1) < 0)
		;
	return NULL;
}

int main(int argc, char **argv)
{
	struct share th = { 0 };
	pthread_t tid;
	int thread = 0;
	char line[64];
	size_t len = 0;

	if (argc < 2)
		goto usage;
	if (pipe(th.done) || pipe(th.stay))
		return 1;
	if (!strcmp(argv[1], "small") && argc == 2) {
		for (long i = 0; i < 6000; i++)
			keep(xmalloc((size_t)(16 + (i % 31) * 16)));
	} else if (!strcmp(argv[1], "untouched") && argc == 2) {
		/* no trimming, no mmap below 32 MiB: big blocks come from the heaps */
		mallopt(M_TRIM_THRESHOLD, 1 << 30);
		mallopt(M_MMAP_THRESHOLD, 32 << 20);
		keep(xmalloc(16 << 20));
		free(xmalloc(24 << 20));
		keep(xmalloc(40 << 20));
		if (pthread_create(&tid, NULL, untouched_thread, &th))
			return 1;
		thread = 1;
	} else if (!strcmp(argv[1], "mmapped") && argc == 3) {
		long n = atol(argv[2]);

		for (long i = 0; i < n; i++) {
			void *p = xmalloc(1 << 20);

			memset(p, 0x5a, 1 << 20);
			keep(p);
		}
	} else if (!strcmp(argv[1], "interleaved") && argc == 3) {
		long n = atol(argv[2]);
		void **all = xmalloc(sizeof(void *) * (size_t)(n > 0 ? n : 1));

		for (long i = 0; i < n; i++) {
			char *own = mmap(NULL, 256 << 10, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			size_t size = (160 << 10) + (size_t)(i % 8) * (36 << 10);

			if (own == MAP_FAILED)
				return 1;
			memset(own, 0x5a, 256 << 10);
			all[i] = xmalloc(size);
			memset(all[i], 0x5a, size);
		}
		for (long i = 0; i < n; i++) {	/* after every malloc: a free raises the mmap threshold */
			if (i % 4 == 3)
				free(all[i]);
			else
				keep(all[i]);
		}
		free(all);
	} else if (!strcmp(argv[1], "big") && argc == 4) {
		struct share mn = { 48, (size_t)atol(argv[2]) << 19, atol(argv[3]), 0, { 0 }, { 0 } };

		th = (struct share){ 200, mn.bytes, mn.keep_every, 1, { th.done[0], th.done[1] }, { th.stay[0], th.stay[1] } };
		if (mn.keep_every < 1)
			goto usage;
		build(&mn);
		if (pthread_create(&tid, NULL, thread_main, &th))
			return 1;
		thread = 1;
	} else {
		goto usage;
	}
	if (thread && read(th.done[0], line, 1) != 1)
		return 1;
	say("ready %d\n", getpid());
	for (;;) {
		ssize_t n = read(0, line + len, 1);

		if (n <= 0)
			break;
		if (line[len] != '\n' && len < sizeof(line) - 2) {
			len++;
			continue;
		}
		line[len] = 0;
		len = 0;
		if (!strcmp(line, "info")) {
			info();
		} else if (!strcmp(line, "trim")) {
			unsigned long long before = rss_anon(), after;

			malloc_trim(0);
			after = rss_anon();
			say("trim %llu %llu\n", before, after);
		} else if (!strcmp(line, "rss")) {
			say("rss %llu\n", (unsigned long long)rss_anon());
		} else if (!strcmp(line, "quit")) {
			break;
		} else {
			say("unknown command '%s'\n", line);
		}
	}
	if (thread) {
		if (write(th.stay[1], "x", 1) != 1)
			return 1;
		pthread_join(tid, NULL);
	}
	return 0;
usage:
	fprintf(stderr, "usage: heapwork small | untouched | mmapped N | big MIB KEEP\n");
	return 2;
}
