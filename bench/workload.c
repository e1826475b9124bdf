/* workload.c - the C benchmark workloads: malloc/free pairs timed inside the
 * process, one machine-readable line on stdout:
 *   BENCH workload=NAME threads=T n=N ns_per_pair=X
 *
 *   workload MODE [-n PAIRS] [-t THREADS] [--gate] [--linger]
 *   tight   malloc(64) + free
 *   mixed   malloc(16..1040) + free
 *   live    16k live slots, 16 B..4 KiB: free a random slot, allocate into it
 *           (with -t, every thread has its own slots; ns per pair per thread)
 *   hold    allocates N blocks (16..256 B) and keeps them (default N = 1,000,000)
 *   idle    T threads that sleep (attach/detach cost)
 * --gate    wait for SIGUSR1 before the measured phase (attaching by PID)
 * --linger  after reporting, wait for SIGUSR1 before exiting (BPF stats read)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "workload.h"

#define LIVE_SLOTS (16 * 1024)
#define TABLE 65536	/* precomputed sizes and slots, so the PRNG stays out of the loop */

enum mode { M_TIGHT, M_MIXED, M_LIVE, M_HOLD, M_IDLE };

static enum mode mode;
static long npairs = 200000;
static int nthreads = 1;
static pthread_barrier_t start;

struct worker {
	pthread_t th;
	int idx;
	double ns_per_pair;
};

static void run_tight(void)
{
	for (long i = 0; i < npairs; i++) {
		void *p = malloc(64);

		ESCAPE(p);
		free(p);
	}
}

static void run_mixed(const uint32_t *sizes)
{
	for (long i = 0; i < npairs; i++) {
		void *p = malloc(sizes[i & (TABLE - 1)]);

		ESCAPE(p);
		free(p);
	}
}

static void run_live(void **slots, const uint32_t *sizes, const uint32_t *which)
{
	for (long i = 0; i < npairs; i++) {
		uint32_t k = which[i & (TABLE - 1)];

		free(slots[k]);
		slots[k] = malloc(sizes[i & (TABLE - 1)]);
		ESCAPE(slots[k]);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t seed = BENCH_SEED + (uint64_t)w->idx * 7919, t0;
	uint32_t *sizes = malloc(TABLE * sizeof(*sizes)), *which = malloc(TABLE * sizeof(*which));
	void **slots = NULL;

	for (int i = 0; i < TABLE; i++) {
		if (mode == M_MIXED)
			sizes[i] = 16 + (uint32_t)(xorshift64(&seed) % 1025);
		else
			sizes[i] = 16 + (uint32_t)(xorshift64(&seed) % (4096 - 16 + 1));
		which[i] = (uint32_t)(xorshift64(&seed) % LIVE_SLOTS);
	}
	if (mode == M_LIVE) {
		slots = malloc(LIVE_SLOTS * sizeof(*slots));
		for (int i = 0; i < LIVE_SLOTS; i++)
			slots[i] = malloc(sizes[(i * 7) & (TABLE - 1)]);
	}
	pthread_barrier_wait(&start);
	t0 = mono_ns();
	switch (mode) {
	case M_TIGHT:
		run_tight();
		break;
	case M_MIXED:
		run_mixed(sizes);
		break;
	default:
		run_live(slots, sizes, which);
		break;
	}
	w->ns_per_pair = (double)(mono_ns() - t0) / (double)npairs;
	if (slots) {
		for (int i = 0; i < LIVE_SLOTS; i++)
			free(slots[i]);
		free(slots);
	}
	free(sizes);
	free(which);
	return NULL;
}

static void *idle_main(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static void **held;
static uint16_t *held_sizes;

/* Everything the hold phase needs is allocated before the gate. */
static void hold_prepare(void)
{
	uint64_t seed = BENCH_SEED;

	held = malloc((size_t)npairs * sizeof(*held));
	held_sizes = malloc((size_t)npairs * sizeof(*held_sizes));
	if (!held || !held_sizes)
		exit(1);
	for (long i = 0; i < npairs; i++)
		held_sizes[i] = (uint16_t)(16 + xorshift64(&seed) % 241);
}

static void hold(void)
{
	/* The traced phase: exactly npairs mallocs and nothing else. */
	for (long i = 0; i < npairs; i++)
		held[i] = malloc(held_sizes[i]);
	say("HELD count=%ld\n", npairs);
}

static void idle(void)
{
	pthread_attr_t a;

	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 * 1024);
	for (int i = 0; i < nthreads; i++) {
		pthread_t th;

		if (pthread_create(&th, &a, idle_main, NULL)) {
			say("ERROR pthread_create\n");
			exit(1);
		}
	}
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "tight", "mixed", "live", "hold", "idle" };
	int gate = 0, linger = 0, m = -1, nset = 0;
	struct worker *w;
	double sum = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc)
			npairs = atol(argv[++i]), nset = 1;
		else if (!strcmp(argv[i], "-t") && i + 1 < argc)
			nthreads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--gate"))
			gate = 1;
		else if (!strcmp(argv[i], "--linger"))
			linger = 1;
		else
			for (int k = 0; k < 5; k++)
				if (!strcmp(argv[i], names[k]))
					m = k;
	}
	if (m < 0 || npairs <= 0 || nthreads <= 0) {
		say("usage: workload tight|mixed|live|hold|idle [-n N] [-t THREADS] [--gate] [--linger]\n");
		return 2;
	}
	mode = (enum mode)m;
	gate_init();
	if (mode == M_IDLE) {
		idle();
		gate_wait("READY");	/* the idle process runs until killed or SIGUSR1 */
		return 0;
	}
	if (mode == M_HOLD) {
		if (!nset)
			npairs = 1000000;
		hold_prepare();
		if (gate)
			gate_wait("READY");
		hold();
		if (linger)
			gate_wait("LINGER");
		return 0;
	}
	w = calloc((size_t)nthreads, sizeof(*w));
	pthread_barrier_init(&start, NULL, (unsigned)nthreads);
	if (gate)
		gate_wait("READY");
	for (int i = 0; i < nthreads; i++) {
		w[i].idx = i;
		if (nthreads == 1)
			worker_main(&w[i]);	/* single-threaded: no second thread at all */
		else if (pthread_create(&w[i].th, NULL, worker_main, &w[i]))
			return 1;
	}
	for (int i = 0; nthreads > 1 && i < nthreads; i++)
		pthread_join(w[i].th, NULL);
	for (int i = 0; i < nthreads; i++)
		sum += w[i].ns_per_pair;
	say("BENCH workload=%s threads=%d n=%ld ns_per_pair=%.2f\n", names[m], nthreads, npairs,
	    sum / nthreads);
	if (linger)
		gate_wait("LINGER");
	free(w);
	return 0;
}
