/* rpcwork.c - a threaded RPC server under a concurrency test, in miniature: worker
 * threads serve bursts of requests, each allocating a request and a response
 * buffer of mixed sizes (1 KiB to 256 KiB) and a small session object (64 B to
 * 1 KiB) between them; one session in --survivors stays live (caches, connections),
 * pinning the pages around it; then the load ends and the threads stay idle, as a
 * server's do. The classic result: glibc keeps the RSS, jemalloc can give it back.
 *
 *   rpcwork [--threads N] [--requests R] [--burst B] [--survivors K] [--phases P]
 *           [--idle SECS] [--trim] [--wait] [--gate-after-load] [--hold]
 *           [--thp] [--freeze-thp] [--log FILE] [--ready FILE]
 *
 * --requests   requests per thread and phase (default 20000)
 * --burst      requests in flight per burst (default 64)
 * --survivors  one request in K keeps its session object live until exit (default 64; 0 none)
 * --idle       seconds of idle after the load, threads alive (default 0)
 * --trim       malloc_trim(0) after the idle phase
 * --bg-at-gate under jemalloc, turn its background thread on through mallctl when
 *              the gate after the load opens (as redis does at run time)
 * --thp        transparent huge pages as under THP "always", whatever the machine's
 *              mode: once every worker's arena exists, each private anonymous mapping
 *              (the arenas' heaps, reserved part included, the brk heap, the stacks)
 *              gets MADV_HUGEPAGE before the load; fails (exit 3) if THP is "never"
 * --freeze-thp while holding, THP off for the process (PR_SET_THP_DISABLE): no fault
 *              maps a huge page and khugepaged leaves it alone, so the held state
 *              changes only on a signal; a SIGHUP then does once what khugepaged
 *              does in the background (MADV_COLLAPSE on every private anonymous
 *              mapping: 2 MiB ranges with a page present become huge pages, their
 *              pages given back refilled) and logs "collapse BEFORE AFTER"
 * --wait       start the load on SIGUSR1; --gate-after-load: wait for another SIGUSR1
 *              after it; --hold: wait for SIGUSR2 or SIGTERM before exiting (a SIGUSR1
 *              meanwhile calls malloc_trim(0) and logs "trim BEFORE AFTER")
 * --log FILE   one line per event: "rate REQ_PER_S NS" (the load: requests of every
 *              thread and phase per second of its wall time, and that time),
 *              "loaded RSS", "idle RSS", "trim BEFORE AFTER",
 *              "resumed RSS" (after the second gate), "live COUNT BYTES",
 *              "chunks BYTES" (glibc chunk bytes of the live blocks)
 *              (RSS = RssAnon in bytes). The measured phases use
 *              no stdio, so they allocate nothing but the requests. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdbool.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#include "rssanon.h"

static int nthreads = 4, burst = 64, survivors = 64, phases = 1, want_wait, gate_after, want_hold, do_trim, bg_at_gate, thp, freeze_thp;
static long requests = 20000;
static double idle_s;
static const char *log_path, *ready_path;
static int log_fd = 2;
static pthread_barrier_t arena_b, start_b, done_b, leave_b;
static uint64_t live_count, live_bytes, live_chunks;

/* glibc's chunk for a request of n bytes: header, 16-byte alignment, 32 at least. */
static uint64_t chunk_of(size_t n)
{
	uint64_t c = ((uint64_t)n + 8 + 15) & ~15ULL;

	return c < 32 ? 32 : c;
}
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;


static void say(const char *fmt, unsigned long long a, unsigned long long b)
{
	char line[128];
	int n = snprintf(line, sizeof(line), fmt, a, b);

	if (write(log_fd, line, (size_t)n) != n)
		_exit(3);
}

/* 1 KiB .. 256 KiB, log-uniform: small requests are common, large ones rare but heavy. */
static size_t pick_size(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (size_t)1024 << ((*s >> 33) % 9) | (size_t)((*s >> 20) & 1023);
}

static void *worker(void *arg)
{
	uint64_t seed = (uint64_t)(uintptr_t)arg * 7919 + 1, n = 0, kept = 0, kept_bytes = 0, kept_chunks = 0;
	void **req = mmap(NULL, sizeof(void *) * 2 * (size_t)burst, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void **resp = req + burst, **sess = mmap(NULL, sizeof(void *) * (size_t)burst, PROT_READ | PROT_WRITE,
						  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t *sess_size = mmap(NULL, sizeof(size_t) * (size_t)burst, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (thp) {
		void *volatile first = malloc(1);	/* this thread's arena, madvised before the load */

		free(first);
	}
	pthread_barrier_wait(&arena_b);
	pthread_barrier_wait(&start_b);
	for (int ph = 0; ph < phases; ph++) {
		for (long r = 0; r < requests; r += burst) {
			int b = (int)(requests - r < burst ? requests - r : burst);

			for (int i = 0; i < b; i++) {
				size_t qs = pick_size(&seed);

				size_t rs;

				req[i] = malloc(qs);
				memset(req[i], 'q', qs);
				sess_size[i] = 64 + (size_t)((seed >> 40) % 961);
				sess[i] = malloc(sess_size[i]);
				memset(sess[i], 's', sess_size[i]);
				rs = pick_size(&seed);
				resp[i] = malloc(rs);
				memset(resp[i], 'r', rs);
			}
			for (int i = 0; i < b; i++) {
				free(req[i]);
				free(resp[i]);
				if (survivors && ++n % (uint64_t)survivors == 0) {
					kept++;		/* a session outlives the load */
					kept_bytes += sess_size[i];
					kept_chunks += chunk_of(sess_size[i]);
				} else {
					free(sess[i]);
				}
			}
		}
	}
	pthread_mutex_lock(&lock);
	live_count += kept;
	live_bytes += kept_bytes;
	live_chunks += kept_chunks;
	pthread_mutex_unlock(&lock);
	pthread_barrier_wait(&done_b);
	pthread_barrier_wait(&leave_b);	/* idle, alive: its arena and caches stay */
	return NULL;
}

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

/* advice on every private anonymous mapping of ours. MADV_HUGEPAGE: the VMAs then
 * fault in huge pages and are khugepaged's, as all are under THP "always" (0 or -1);
 * MADV_COLLAPSE: best effort, a range that cannot be collapsed stays as it is.
 * /proc/self/maps read with no allocation. */
static int thp_all(int advice)
{
	static char buf[1 << 16];
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC), n = 0, done = 0;
	ssize_t got;

	if (fd < 0)
		return -1;
	while (n < (int)sizeof(buf) - 1 && (got = read(fd, buf + n, sizeof(buf) - 1 - (size_t)n)) > 0)
		n += (int)got;
	close(fd);
	buf[n] = 0;
	for (char *l = buf, *nl; *l; l = nl + 1) {
		unsigned long lo, hi;
		char perms[8], name[64] = "";

		nl = strchr(l, '\n');
		if (!nl)
			break;
		*nl = 0;
		if (sscanf(l, "%lx-%lx %7s %*s %*s %*s %63s", &lo, &hi, perms, name) < 3 || perms[3] != 'p' ||
		    (name[0] && strcmp(name, "[heap]")))
			continue;
		if (madvise((void *)lo, hi - lo, advice) && advice == MADV_HUGEPAGE)
			return -1;
		done++;
	}
	return done ? 0 : -1;
}

static void wait_sig(int a, int b)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, a);
	if (b)
		sigaddset(&set, b);
	sigwait(&set, &sig);
}

int main(int argc, char **argv)
{
	pthread_t th[256];
	sigset_t set;

	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(o, "--wait")) want_wait = 1;
		else if (!strcmp(o, "--gate-after-load")) gate_after = 1;
		else if (!strcmp(o, "--hold")) want_hold = 1;
		else if (!strcmp(o, "--trim")) do_trim = 1;
		else if (!strcmp(o, "--bg-at-gate")) bg_at_gate = 1;
		else if (!strcmp(o, "--thp")) thp = 1;
		else if (!strcmp(o, "--freeze-thp")) freeze_thp = 1;
		else if (v && !strcmp(o, "--threads")) { nthreads = atoi(v); i++; }
		else if (v && !strcmp(o, "--requests")) { requests = atol(v); i++; }
		else if (v && !strcmp(o, "--burst")) { burst = atoi(v); i++; }
		else if (v && !strcmp(o, "--survivors")) { survivors = atoi(v); i++; }
		else if (v && !strcmp(o, "--phases")) { phases = atoi(v); i++; }
		else if (v && !strcmp(o, "--idle")) { idle_s = atof(v); i++; }
		else if (v && !strcmp(o, "--log")) { log_path = v; i++; }
		else if (v && !strcmp(o, "--ready")) { ready_path = v; i++; }
		else {
			fprintf(stderr, "usage: rpcwork [--threads N] [--requests R] [--burst B] [--survivors K] "
					"[--phases P] [--idle SECS] [--trim] [--bg-at-gate] [--wait] [--gate-after-load] [--hold] "
					"[--thp] [--freeze-thp] [--log FILE] [--ready FILE]\n");
			return 2;
		}
	}
	if (nthreads < 1 || nthreads > 256 || burst < 1 || requests < 0 || survivors < 0 || phases < 1)
		return 2;
	if (log_path && (log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644)) < 0)
		return 3;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_barrier_init(&arena_b, NULL, (unsigned)nthreads + 1);
	pthread_barrier_init(&start_b, NULL, (unsigned)nthreads + 1);
	pthread_barrier_init(&done_b, NULL, (unsigned)nthreads + 1);
	pthread_barrier_init(&leave_b, NULL, (unsigned)nthreads + 1);
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)(i + 1)))
			return 3;
	pthread_barrier_wait(&arena_b);
	if (thp && thp_all(MADV_HUGEPAGE)) {
		say("thp %llu%.0llu\n", 0, 0);	/* "thp 0": could not */
		return 3;
	}
	if (ready_path) {
		int fd = open(ready_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		char pid[32];
		int n = snprintf(pid, sizeof(pid), "%d\n", getpid());

		if (fd < 0 || write(fd, pid, (size_t)n) != n)
			return 3;
		close(fd);
	}
	if (want_wait)
		wait_sig(SIGUSR1, 0);
	{
		struct timespec t0, t1;
		uint64_t ns;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		pthread_barrier_wait(&start_b);
		pthread_barrier_wait(&done_b);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ns = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000ull + (uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec;
		/* the load's throughput: every thread's requests of every phase over its wall time */
		say("rate %llu %llu\n", (unsigned long long)((double)nthreads * (double)requests * phases * 1e9 /
								(double)(ns ? ns : 1)), (unsigned long long)ns);
	}
	say("live %llu %llu\n", (unsigned long long)live_count, (unsigned long long)live_bytes);
	say("chunks %llu%.0llu\n", (unsigned long long)live_chunks, 0);
	say("loaded %llu%.0llu\n", (unsigned long long)rss_anon(), 0);
	if (gate_after) {
		wait_sig(SIGUSR1, 0);
		say("resumed %llu%.0llu\n", (unsigned long long)rss_anon(), 0);
		if (bg_at_gate) {
			int (*ctl)(const char *, void *, size_t *, void *, size_t) =
				(int (*)(const char *, void *, size_t *, void *, size_t))dlsym(RTLD_DEFAULT, "mallctl");
			bool on = true;

			/* "background_thread 1": turned on */
			say("background_thread %llu%.0llu\n",
			    ctl && !ctl("background_thread", NULL, NULL, &on, sizeof(on)) ? 1ULL : 0ULL, 0);
		}
	}
	if (idle_s > 0) {
		struct timespec ts = { (time_t)idle_s, (long)((idle_s - (time_t)idle_s) * 1e9) };

		nanosleep(&ts, NULL);
	}
	say("idle %llu%.0llu\n", (unsigned long long)rss_anon(), 0);
	if (do_trim) {
		uint64_t before = rss_anon();

		malloc_trim(0);
		say("trim %llu %llu\n", (unsigned long long)before, (unsigned long long)rss_anon());
	}
	if (want_hold && freeze_thp && prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0))
		return 3;
	say("done %llu%.0llu\n", 0, 0);
	/* holding: SIGUSR1 trims (and says what it gave back), SIGHUP collapses
	 * (--freeze-thp), SIGUSR2 or SIGTERM ends */
	while (want_hold) {
		sigset_t hs;
		int sig;

		sigemptyset(&hs);
		sigaddset(&hs, SIGUSR1);
		sigaddset(&hs, SIGUSR2);
		sigaddset(&hs, SIGTERM);
		sigaddset(&hs, SIGHUP);
		sigwait(&hs, &sig);
		if (sig == SIGHUP && freeze_thp) {
			uint64_t before = rss_anon();

			if (prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0))
				return 3;
			thp_all(MADV_COLLAPSE);
			if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0))
				return 3;
			say("collapse %llu %llu\n", (unsigned long long)before, (unsigned long long)rss_anon());
			continue;
		}
		if (sig != SIGUSR1)
			break;
		{
			uint64_t before = rss_anon();

			malloc_trim(0);
			say("trim %llu %llu\n", (unsigned long long)before, (unsigned long long)rss_anon());
		}
	}
	pthread_barrier_wait(&leave_b);
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	return 0;
}
