/* symbolize.h - user addresses of one process to "function+0x12 (object)", with
 * C++ names demangled. Reads /proc/PID/maps and the objects' symbol tables. */
#ifndef FS_SYMBOLIZE_H
#define FS_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct symbolizer;

struct symbolizer *symbolizer__new(pid_t pid);
/* Re-reads the mappings (new libraries); 0 or -errno (the process is gone). */
int symbolizer__refresh(struct symbolizer *s);
/* Writes a frame's text; returns 1 if a symbol was found, 0 if only object+offset
 * or the raw address could be given. */
int symbolizer__frame(struct symbolizer *s, uint64_t ip, char *buf, size_t len);
void symbolizer__free(struct symbolizer *s);

/* ip lies in an executable mapping of the process (as of the last refresh). */
int symbolizer__is_code(const struct symbolizer *s, uint64_t ip);
/* Where a sampled user stack (n addresses, innermost first, at most max kept by
 * the kernel) ends truthfully. The kernel walks frame pointers; code built without
 * them (Debian's libraries) keeps data in rbp, so the walk reads garbage such as
 * 0x4b676f48654b5856, or stops early. Returns how many leading frames are return
 * addresses (in an executable mapping, right after a call instruction); why is "" when the stack is whole (it ends where libc calls main
 * or a thread's routine), else why it is cut ("no frame pointers in libpython3.11.so.1.0",
 * "at the limit of 32 frames"). */
int symbolizer__stack_end(struct symbolizer *s, const uint64_t *ips, int n, int max, char *why, size_t len);

/* The demangled form of a C++ name, or a copy of name. Free with free(). */
char *symbolize__demangle(const char *name);

#endif
