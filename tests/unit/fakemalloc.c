/* fakemalloc.c - libfakemalloc.so, an allocator fragscope does not know: a bump
 * allocator that never frees. Also built as libfakestep.so (FAKE_STEPPED_FREE). */
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

#ifdef FAKE_STEPPED_FREE
/* libfakestep.so: a free whose first instruction (mov) the kernel single-steps and
 * that has no emulated one to move the probe to: fragscope warns at attach. */
__asm__(".globl free\n.type free, @function\nfree:\n\tmov %rdi, %rax\n\tret\n.size free, .-free\n");
#else
void free(void *p)
{
	(void)p;
}
#endif

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
