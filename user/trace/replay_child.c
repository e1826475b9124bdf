/* replay_child.c - the replaying process: one thread per recorded thread, each
 * keeping to its recorded schedule; its bookkeeping (the plan, the block table,
 * the flags) lives in mappings, not in the heap under test. Built into fragscope
 * and, with FS_REPLAY_CHILD_MAIN, as its own small binary. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "model/replay.h"
#include "trace/replay_child.h"

#define RP_IDLE_MIN_NS 1000000ull	/* a gap this long: the thread checks the schedule */
#define RP_SLACK_NS 200000ull		/* a thread runs up to this much ahead of the schedule */

struct rp_ctx {
	const struct rp_plan *p;
	void **ptrs;		/* block id -> the replay's pointer */
	uint8_t *ready;		/* block id -> allocated (for waits across threads) */
	struct rp_shared *sh;
	double factor;
};

struct rp_arg {
	struct rp_ctx *c;
	uint32_t t;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull), .tv_nsec = (long)(ns % 1000000000ull) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* The program wrote what it allocated: one byte a page makes it resident. */
static void touch(char *p, uint64_t size)
{
	if (!p || !size)
		return;
	for (uint64_t o = 0; o < size; o += 4096)
		p[o] = 1;
	p[size - 1] = 1;
}

static void run_ops(struct rp_ctx *c, uint32_t t)
{
	const struct rp_thread *th = &c->p->th[t];
	uint64_t since = 0;

	for (uint64_t i = 0; i < th->n; i++) {
		const struct rp_op *o = &c->p->ops[th->first + i];
		void *p = NULL, *old = NULL;

		/* never ahead of the recorded schedule (divided by the factor): the threads'
		 * interleaving follows the recording's to within the slack */
		if (o->gap_ns >= RP_IDLE_MIN_NS || (i & 63) == 0) {
			uint64_t due = c->sh->t0 + (uint64_t)((double)o->at_ns / c->factor), now = mono_ns();

			if (due > now + RP_SLACK_NS) {
				/* the count is current while a thread waits: a quiet interval is seen */
				__atomic_fetch_add(&c->sh->done_ops, since, __ATOMIC_RELAXED);
				since = 0;
				sleep_ns(due - now);
			}
		}
		if (o->old || o->ref) {
			uint32_t b = o->old ? o->old : o->ref;

			/* happens-before: the block exists before another thread releases it */
			for (unsigned spins = 0; (o->flags & RP_WAIT) && !__atomic_load_n(&c->ready[b], __ATOMIC_ACQUIRE);
			     spins++)
				if (spins < 64)
					sched_yield();
				else
					sleep_ns(20000);
			old = c->ptrs[b];
		}
		switch (o->kind) {
		case RP_MALLOC: p = malloc(o->size); break;
		case RP_CALLOC: p = calloc(1, o->size); break;
		case RP_ALIGNED:
			if (posix_memalign(&p, o->align_lg >= 3 ? 1ul << o->align_lg : sizeof(void *), o->size))
				p = NULL;
			break;
		case RP_REALLOC: p = realloc(old, o->size); break;
		case RP_FREE: free(old); break;
		case RP_TRIM: malloc_trim(0); break;
		case RP_MADVISE:
			if (old) {	/* the whole pages of the same range of the replay's block */
				uintptr_t a = ((uintptr_t)old + o->off + 4095) & ~(uintptr_t)4095;
				uintptr_t e = ((uintptr_t)old + o->off + o->size) & ~(uintptr_t)4095;

				if (e > a)
					madvise((void *)a, e - a, o->align_lg);
			}
			break;
		}
		if (o->id) {
			touch(p, o->size);
			c->ptrs[o->id] = p;
			__atomic_store_n(&c->ready[o->id], 1, __ATOMIC_RELEASE);
		}
		if (++since == 4096) {
			__atomic_fetch_add(&c->sh->done_ops, since, __ATOMIC_RELAXED);
			since = 0;
		}
	}
	__atomic_fetch_add(&c->sh->done_ops, since, __ATOMIC_RELAXED);
	__atomic_fetch_add(&c->sh->finished, 1, __ATOMIC_RELEASE);
}

static void *run_thread(void *arg)
{
	struct rp_arg *a = arg;

	run_ops(a->c, a->t);
	for (;;)	/* a thread that went idle stays: its caches and arena stay too */
		pause();
	return NULL;
}

int replayer__child(int plan_fd, int shm_fd, double factor)
{
	struct rp_plan p;
	struct rp_ctx c = { .p = &p, .factor = factor > 0 ? factor : 1 };
	struct rp_arg *args;
	struct stat sb;
	void *buf;
	pthread_attr_t at;
	uint64_t t0;

	/* no replay outlives the fragscope that watches it (traced: our parent is it) */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (fstat(plan_fd, &sb))
		return 1;
	buf = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, plan_fd, 0);
	c.sh = mmap(NULL, sizeof(*c.sh), PROT_READ | PROT_WRITE, MAP_SHARED, shm_fd, 0);
	if (buf == MAP_FAILED || c.sh == MAP_FAILED || rp__view(buf, (size_t)sb.st_size, &p))
		return 1;
	c.ptrs = mmap(NULL, (p.nblocks + 1) * sizeof(void *), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	c.ready = mmap(NULL, p.nblocks + 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	args = mmap(NULL, (p.nthreads + 1) * sizeof(*args), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c.ptrs == MAP_FAILED || c.ready == MAP_FAILED || args == MAP_FAILED)
		return 1;
	pthread_attr_init(&at);
	pthread_attr_setstacksize(&at, 256 << 10);
	/* the tables are ours, not the allocator's: resident before the baseline is read */
	memset(c.ptrs, 0, (p.nblocks + 1) * sizeof(void *));
	memset(c.ready, 0, p.nblocks + 1);
	c.sh->tables_bytes = ((p.nblocks + 1) * sizeof(void *) + 4095) / 4096 * 4096 + (p.nblocks + 1 + 4095) / 4096 * 4096;
	/* the parent reads our own RssAnon now (what fragscope itself holds), then says go */
	__atomic_store_n(&c.sh->state, 2, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&c.sh->go, __ATOMIC_ACQUIRE))
		sleep_ns(1000000);
	/* the blocks from before the trace first, in this thread, off the schedule */
	if (p.nthreads && p.th[p.nthreads - 1].tid == RP_PRE_TID)
		run_ops(&c, p.nthreads - 1);
	t0 = mono_ns();
	c.sh->t0 = t0;
	for (uint32_t t = 0; t < p.nthreads; t++) {
		pthread_t th;

		if (t == p.nthreads - 1 && p.th[t].tid == RP_PRE_TID)
			continue;

		args[t] = (struct rp_arg){ &c, t };
		if (pthread_create(&th, &at, run_thread, &args[t]))
			return 1;
	}
	while (__atomic_load_n(&c.sh->finished, __ATOMIC_ACQUIRE) < p.nthreads)
		sleep_ns(1000000);
	c.sh->calls_ns = mono_ns() - t0;
	__atomic_store_n(&c.sh->state, 1, __ATOMIC_RELEASE);
	for (;;)
		pause();
}


#ifdef FS_REPLAY_CHILD_MAIN
/* fragscope-replay-child PLANFD SHMFD FACTOR */
int main(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	return replayer__child(atoi(argv[1]), atoi(argv[2]), atof(argv[3]));
}
#endif
