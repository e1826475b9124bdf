/* fixture_stepped.c - N pairs of malloc(64) + free through libfakestep.so, whose
 * free starts with an instruction the kernel single-steps: the integration tests
 * check the attach warning and the probe-cost estimate against these counts. No
 * stdio, so nothing else allocates. */
#include <stdlib.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1;

	for (long i = 0; i < n; i++) {
		void *volatile p = malloc(64);

		if (!p)
			return 1;
		free(p);
	}
	return 0;
}
