/* fakemalloc.c - libfakemalloc.so, an allocator fragscope does not know: a bump
 * allocator that never frees. Only inspected by the unit tests, never run. */
#include <stddef.h>
#include <string.h>

static char arena[1 << 20];
static size_t used;

void *malloc(size_t size)
{
	void *p;

	size = (size + 15) & ~(size_t)15;
	if (size > sizeof(arena) - used)
		return NULL;
	p = arena + used;
	used += size;
	return p;
}

void free(void *p)
{
	(void)p;
}

void *calloc(size_t n, size_t size)
{
	void *p;

	if (size && n > (size_t)-1 / size)
		return NULL;
	p = malloc(n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

void *realloc(void *old, size_t size)
{
	void *p = malloc(size);

	if (p && old)
		memcpy(p, old, size);	/* may read past old: fine for a fixture */
	return p;
}
