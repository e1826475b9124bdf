/* session.h - the counters bench/session.bpf.c keeps in .bss and bench/session.c
 * reads (one slot per CPU, a cache line each). */
#ifndef BENCH_SESSION_H
#define BENCH_SESSION_H

#define SESSION_NSLOT 64
#define SESSION_ALWAYS 1	/* attach cookie: a syscall wrapper, every return runs */

struct slot {
	__u64 entries;		/* sampled-kind entries */
	__u64 sampled;		/* of which the entry returned 0 */
	__u64 returns;		/* return halves that ran for them */
	__u64 always;		/* entries of SESSION_ALWAYS probes (all return) */
	__u64 always_ret;
	__u64 bad_cookie;	/* return half whose session cookie was not the entry's */
	__u64 frees;
	__u64 _pad;
};

#endif
