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

/* The demangled form of a C++ name, or a copy of name. Free with free(). */
char *symbolize__demangle(const char *name);

#endif
