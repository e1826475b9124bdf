/* malloc_addr.c - linked into the non-PIE fixture and workload: code that takes
 * malloc's address, as Debian's python3.11 does. In a non-PIE executable that makes
 * its PLT entry malloc's canonical address, and ld.so binds libc's own GOT slot for
 * malloc there. Built -fno-pic: the address is an absolute immediate in the code. */
#include <stdlib.h>

void *(*volatile fixture_malloc_addr)(size_t);

__attribute__((constructor)) static void take_malloc_address(void)
{
	fixture_malloc_addr = malloc;
}
