/* fixture_je_prefix.c - looks like a program with jemalloc linked in under the
 * je_ prefix (as Redis does), beside glibc's malloc. Only inspected, never run. */
#include <stddef.h>
#include <stdlib.h>

#define KEEP __attribute__((used, noinline))

KEEP void *je_malloc(size_t size) { return malloc(size); }
KEEP void je_free(void *p) { free(p); }
KEEP void *je_calloc(size_t n, size_t size) { return calloc(n, size); }
KEEP void *je_realloc(void *p, size_t size) { return realloc(p, size); }
KEEP int je_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
{
	(void)name; (void)oldp; (void)oldlenp; (void)newp; (void)newlen;
	return 0;
}

int main(void)
{
	void *p = je_malloc(32);

	p = je_realloc(p, 64);
	je_free(p);
	je_free(je_calloc(4, 8));
	return je_mallctl("version", NULL, NULL, NULL, 0);
}
