/* workload_cxx.cc - C++ new/delete pairs of a 64-byte object; linked with
 * -ljemalloc so that jemalloc's own operator new/delete (not its malloc) serve them.
 *   workload-cxx-je [-n PAIRS] [--gate] [--linger]
 *   BENCH workload=cxx threads=1 n=N ns_per_pair=X */
#include <pthread.h>
#include <cstdlib>
#include <cstring>
#include "workload.h"

struct obj {
	char bytes[64];
};

int main(int argc, char **argv)
{
	long npairs = 200000;
	int gate = 0, linger = 0;
	uint64_t t0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc)
			npairs = atol(argv[++i]);
		else if (!strcmp(argv[i], "--gate"))
			gate = 1;
		else if (!strcmp(argv[i], "--linger"))
			linger = 1;
	}
	gate_init();
	if (gate)
		gate_wait("READY");
	t0 = mono_ns();
	for (long i = 0; i < npairs; i++) {
		obj *p = new obj;	/* operator new(size_t) */

		ESCAPE(p);
		delete p;		/* sized operator delete(void *, size_t) */
	}
	say("BENCH workload=cxx threads=1 n=%ld ns_per_pair=%.2f\n", npairs,
	    (double)(mono_ns() - t0) / (double)npairs);
	if (linger)
		gate_wait("LINGER");
	return 0;
}
