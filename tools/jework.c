/* jework.c - a jemalloc workload that reads its own statistics: it allocates a known
 * pattern, frees 70% of it, reads jemalloc's figures through mallctl (after an epoch
 * refresh) into a JSON file, then idles blocked on a pipe read until told to go on.
 * fragscope's figures read from outside are checked against that file.
 *
 *   jework --out FILE --ctl FIFO [--bg] [--churn] [--busy] [--blocks N]
 *
 * --out FILE  its own readings, written (atomically) once idle; also holds its PID
 * --ctl FIFO  the pipe it blocks on; any line then makes it allocate more, check
 *             that every surviving block still holds its pattern, and exit 0
 *             (3 if a block was changed)
 * --bg        turns background_thread on at run time through mallctl, as redis does
 * (With background threads, MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1 keeps
 * them from purging while it idles, so that the figures stay still.)
 * --churn     one more thread mallocs and frees in a loop (inside jemalloc most of
 *             the time) while it idles
 * --busy      once idle, the main thread itself mallocs and frees in a loop (checking
 *             each block) and another thread blocks on the pipe: a stopped thread is
 *             often inside jemalloc, and must be refused
 * The measured phase uses no stdio: nothing allocates between its reading and ours.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <jemalloc/jemalloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int stop_churn;

static void *churn(void *arg)
{
	(void)arg;
	while (!stop_churn) {
		void *p[64];

		for (int i = 0; i < 64; i++)
			p[i] = malloc(48 + (size_t)i * 16);
		for (int i = 0; i < 64; i++)
			free(p[i]);
	}
	return NULL;
}

static int ctl_fd;
static volatile int woken;

static void *wait_pipe(void *arg)
{
	char c[64];

	(void)arg;
	while (read(ctl_fd, c, sizeof(c)) < 0)
		;
	woken = 1;
	return NULL;
}

/* The main thread's loop in --busy: 3 if a block did not keep its contents. */
static int busy_loop(void)
{
	while (!woken) {
		unsigned char *p[128];

		for (int i = 0; i < 128; i++) {
			p[i] = malloc(16 + (size_t)(i * 97) % 30000);
			memset(p[i], i, 16);
		}
		for (int i = 0; i < 128; i++) {
			if (p[i][0] != (unsigned char)i || p[i][15] != (unsigned char)i)
				return 3;
			free(p[i]);
		}
	}
	return 0;
}

static size_t block_size(size_t i)
{
	/* small sizes in many classes, and every 50th a page-sized one (16-80 KiB) */
	return i % 50 == 49 ? (16 << 10) + (i * 4099) % (64 << 10) : 16 + (i * 37) % 2000;
}

static uint64_t get(const char *name, size_t size)
{
	uint64_t v = 0;
	size_t len = size;

	if (mallctl(name, &v, &len, NULL, 0)) {
		fprintf(stderr, "jework: mallctl(%s) failed\n", name);
		exit(2);
	}
	return size == 1 ? (v & 0xff) : v;
}

int main(int argc, char **argv)
{
	const char *out = NULL, *ctl = NULL;
	int bg = 0, busy = 0, do_churn = 0, fd, bad = 0;
	size_t n = 100000;
	char buf[2048], tmp[4096];
	pthread_t th;
	void **blocks;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--out") && i + 1 < argc)
			out = argv[++i];
		else if (!strcmp(argv[i], "--ctl") && i + 1 < argc)
			ctl = argv[++i];
		else if (!strcmp(argv[i], "--blocks") && i + 1 < argc)
			n = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--bg"))
			bg = 1;
		else if (!strcmp(argv[i], "--busy"))
			busy = 1;
		else if (!strcmp(argv[i], "--churn"))
			do_churn = 1;
		else {
			fprintf(stderr, "usage: jework --out FILE --ctl FIFO [--bg] [--churn] [--busy] [--blocks N]\n");
			return 2;
		}
	}
	if (!out || !ctl)
		return 2;
	fd = open(ctl, O_RDWR);	/* O_RDWR: open does not wait for a writer */
	if (fd < 0) {
		perror("jework: open --ctl");
		return 2;
	}
	if (bg) {
		_Bool on = 1;

		if (mallctl("background_thread", NULL, NULL, &on, sizeof(on))) {
			fprintf(stderr, "jework: cannot turn background_thread on\n");
			return 2;
		}
	}
	blocks = calloc(n, sizeof(*blocks));
	for (size_t i = 0; i < n; i++) {
		blocks[i] = malloc(block_size(i));
		memset(blocks[i], (int)(i * 7 + 1), block_size(i));
	}
	for (size_t i = 0; i < n; i++)
		if (i % 10 < 7) {
			free(blocks[i]);
			blocks[i] = NULL;
		}
	if (do_churn && pthread_create(&th, NULL, churn, NULL))
		return 2;
	if (do_churn)
		usleep(100000);	/* the churn thread's tcache is warm: its loop stays in jemalloc */
	{
		uint64_t e = 1;

		mallctl("epoch", NULL, NULL, &e, sizeof(e));
	}
	snprintf(buf, sizeof(buf),
		 "{\"pid\": %d, \"allocated\": %llu, \"active\": %llu, \"resident\": %llu, \"mapped\": %llu, "
		 "\"retained\": %llu, \"metadata\": %llu, \"pdirty\": %llu, \"pmuzzy\": %llu, \"page\": %llu, "
		 "\"background_thread\": %llu, \"dirty_decay_ms\": %lld, \"muzzy_decay_ms\": %lld}\n",
		 (int)getpid(), (unsigned long long)get("stats.allocated", 8), (unsigned long long)get("stats.active", 8),
		 (unsigned long long)get("stats.resident", 8), (unsigned long long)get("stats.mapped", 8),
		 (unsigned long long)get("stats.retained", 8), (unsigned long long)get("stats.metadata", 8),
		 (unsigned long long)get("stats.arenas.4096.pdirty", 8),
		 (unsigned long long)get("stats.arenas.4096.pmuzzy", 8), (unsigned long long)get("arenas.page", 8),
		 (unsigned long long)get("background_thread", 1), (long long)get("arenas.dirty_decay_ms", 8),
		 (long long)get("arenas.muzzy_decay_ms", 8));
	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	{
		int o = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (o < 0 || write(o, buf, strlen(buf)) != (ssize_t)strlen(buf) || close(o) || rename(tmp, out))
			return 2;
	}
	ctl_fd = fd;
	if (busy) {
		pthread_t w;

		if (pthread_create(&w, NULL, wait_pipe, NULL))
			return 2;
		bad = busy_loop();
		pthread_join(w, NULL);
	} else {
		wait_pipe(NULL);	/* idle: blocked in read(2) until the test writes a line */
	}
	stop_churn = 1;
	if (do_churn)
		pthread_join(th, NULL);
	/* go on normally: more allocations, and the survivors are intact */
	for (size_t i = 0; i < n; i++) {
		if (blocks[i]) {
			unsigned char *p = blocks[i];

			for (size_t k = 0; k < block_size(i); k++)
				if (p[k] != (unsigned char)(i * 7 + 1))
					bad = 1;
			free(blocks[i]);
		}
		blocks[i] = malloc(block_size(i));
		memset(blocks[i], 1, block_size(i));
	}
	for (size_t i = 0; i < n; i++)
		free(blocks[i]);
	free(blocks);
	return bad ? 3 : 0;
}
