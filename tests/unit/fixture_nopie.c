/* fixture_nopie.c - a non-PIE program whose malloc has a canonical PLT entry
 * (malloc_addr.c is linked in). Without arguments it calls malloc and free and
 * exits; with "wait" it calls them, prints "ready" and blocks until its stdin closes, so a test
 * can resolve its allocator while it runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *volatile kept;

int main(int argc, char **argv)
{
	char c, *p;

	if (argc > 1 && !strcmp(argv[1], "wait")) {
		/* a call through malloc's PLT entry binds its GOT slot (lazily), unless
		 * LD_BIND_NOT=1 keeps it unbound */
		kept = malloc(100);	/* volatile: the pair is not optimised away */
		free(kept);
		if (write(1, "ready\n", 6) != 6)
			return 1;
		while (read(0, &c, 1) > 0)
			;
		return 0;
	}
	p = malloc((size_t)argc * 64);
	if (!p)
		return 1;
	snprintf(p, (size_t)argc * 64, "%s", argv[0]);
	puts(p);
	free(p);
	return 0;
}
