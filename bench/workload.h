/* workload.h - what the benchmark workloads share: the start gate, the PRNG,
 * the clock, and output written with write(2) so that reporting never mallocs. */
#ifndef BENCH_WORKLOAD_H
#define BENCH_WORKLOAD_H

#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define BENCH_SEED 0x9e3779b97f4a7c15ull

/* Prevents the compiler from eliding a malloc/free (or new/delete) pair. */
#define ESCAPE(p) __asm__ volatile("" : : "r"(p) : "memory")

static inline uint64_t xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static inline uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One line on stdout without stdio (stdio's buffer would be a malloc of its own). */
static inline void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 1;
	if (write(1, buf, (size_t)n) < 0)
		_exit(3);
}

/* SIGUSR1 is blocked from the start so that it queues until we wait for it. */
static inline void gate_init(void)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
}

static inline void gate_wait(const char *what)
{
	sigset_t s;
	int sig;

	say("%s pid=%d\n", what, (int)getpid());
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigwait(&s, &sig);
}

#endif
