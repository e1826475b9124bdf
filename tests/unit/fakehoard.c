/* fakehoard.c - fixture: an allocator built on Heap-Layers as Hoard is (its entry
 * points xxmalloc/xxfree behind malloc/free), which fragscope recognises and refuses.
 * Only inspected, never run. */
#include <stddef.h>

static char arena[1 << 16];
static size_t used;

void *xxmalloc(size_t n)
{
	void *p = arena + used;

	used += (n + 15) & ~(size_t)15;
	return used <= sizeof(arena) ? p : NULL;
}
void xxfree(void *p) { (void)p; }
void *malloc(size_t n) { return xxmalloc(n); }
void free(void *p) { xxfree(p); }
