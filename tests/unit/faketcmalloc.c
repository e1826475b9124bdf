/* faketcmalloc.c - fixture: exports malloc and tc_malloc, so the resolver takes it for
 * tcmalloc. Only inspected, never run. */
#include <stddef.h>

static char arena[1 << 16];
static size_t used;

void *malloc(size_t n)
{
	void *p = arena + used;

	used += (n + 15) & ~(size_t)15;
	return used <= sizeof(arena) ? p : NULL;
}
void free(void *p) { (void)p; }
void *tc_malloc(size_t n) { return malloc(n); }
