/* fixture.c - a program that calls malloc and free: built dynamic, against
 * jemalloc, static and stripped, for the resolver's unit tests. Never run by them. */
#include <stdio.h>
#include <stdlib.h>

/* Read back through its symbol by the elfobj tests. */
__attribute__((used)) const char fixture_marker[] = "fragscope fixture marker";

int main(int argc, char **argv)
{
	char *p = malloc((size_t)argc * 64);

	if (!p)
		return 1;
	snprintf(p, (size_t)argc * 64, "%s", argv[0]);
	puts(p);
	free(p);
	return 0;
}
