/* ldso.h - where the dynamic linker finds a library: its search for a DT_NEEDED or
 * LD_PRELOAD name (done statically, for commands not yet started), and a soname's
 * lookup in the ldconfig cache (/etc/ld.so.cache) with the usual directories after. */
#ifndef FS_LDSO_H
#define FS_LDSO_H

#include <stddef.h>

/* ld.so's order: DT_RPATH (only without DT_RUNPATH), LD_LIBRARY_PATH, DT_RUNPATH,
 * the ld.so.conf directories, the defaults. origin: the directory of the object
 * that needs it ($ORIGIN); root: prefix of every path ("/proc/PID/root") or NULL.
 * 0 and out filled with a readable ELF object, or -ENOENT. */
int ldso__find_lib(const char *name, const char *rpath, const char *runpath, const char *origin,
		   const char *ld_library_path, const char *root, char *out, size_t outlen);

/* A library by soname ("libjemalloc.so.2") as an LD_PRELOAD of that bare name
 * finds it: LD_LIBRARY_PATH, the ldconfig cache (root/etc/ld.so.cache), then the
 * multiarch and default directories (/lib/x86_64-linux-gnu, /usr/lib/x86_64-linux-gnu,
 * /usr/local/lib, ...). 0 and out filled, or -ENOENT. */
int ldso__find_soname(const char *soname, const char *ld_library_path, const char *root,
		      char *out, size_t outlen);

/* The path the cache image buf[len] gives soname for x86-64 (glibc's format
 * "glibc-ld.so.cache1.1", alone or after the old "ld.so-1.7.0" table): 0 and out
 * filled, -ENOENT if it is not there, -EINVAL if buf is no cache. */
int ldso__cache_lookup(const void *buf, size_t len, const char *soname, char *out, size_t outlen);

#endif
