/* ldso.c - the dynamic linker's search for a library, done statically (for a
 * command not yet started, and compare's preloads), and the ldconfig cache. */
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "elf/elfobj.h"
#include "elf/ldso.h"

static int usable_lib(const char *path)
{
	struct elfobj *o = elfobj__open(path);
	int ok = o != NULL;

	elfobj__free(o);
	return ok;
}

static int try_dirs(const char *dirs, const char *name, const char *origin, const char *root,
		    char *out, size_t outlen)
{
	char buf[PATH_MAX], *save = NULL, *copy, *d;
	int found = 0;

	if (!dirs || !*dirs)
		return 0;
	copy = strdup(dirs);
	for (d = strtok_r(copy, ":;", &save); d && !found; d = strtok_r(NULL, ":;", &save)) {
		char dir[PATH_MAX];
		const char *o = strstr(d, "$ORIGIN");

		if (o && origin)
			snprintf(dir, sizeof(dir), "%.*s%s%s", (int)(o - d), d, origin, o + 7);
		else if (!strncmp(d, "${ORIGIN}", 9) && origin)
			snprintf(dir, sizeof(dir), "%s%s", origin, d + 9);
		else
			snprintf(dir, sizeof(dir), "%s", d);
		snprintf(buf, sizeof(buf), "%s%s/%s", root ? root : "", dir, name);
		if (usable_lib(buf)) {
			snprintf(out, outlen, "%s", buf);
			found = 1;
		}
	}
	free(copy);
	return found;
}

static void conf_dirs(const char *root, char *out, size_t outlen)
{
	char pat[PATH_MAX], line[PATH_MAX];
	glob_t g;
	size_t used = 0;

	out[0] = 0;
	snprintf(pat, sizeof(pat), "%s/etc/ld.so.conf.d/*.conf", root ? root : "");
	if (glob(pat, 0, NULL, &g))
		return;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		FILE *f = fopen(g.gl_pathv[i], "re");

		while (f && fgets(line, sizeof(line), f)) {
			line[strcspn(line, " \t\r\n#")] = 0;
			if (line[0] == '/' && used + strlen(line) + 2 < outlen)
				used += (size_t)snprintf(out + used, outlen - used, "%s%s", used ? ":" : "", line);
		}
		if (f)
			fclose(f);
	}
	globfree(&g);
}

int ldso__find_lib(const char *name, const char *rpath, const char *runpath, const char *origin,
		   const char *ld_library_path, const char *root, char *out, size_t outlen)
{
	static const char defaults[] =
		"/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib64:/usr/lib64:/lib:/usr/lib";
	char conf[4096];

	if (strchr(name, '/')) {
		snprintf(out, outlen, "%s%s", root ? root : "", name);
		return usable_lib(out) ? 0 : -ENOENT;
	}
	if (try_dirs(rpath, name, origin, root, out, outlen) ||
	    try_dirs(ld_library_path, name, origin, root, out, outlen) ||
	    try_dirs(runpath, name, origin, root, out, outlen))
		return 0;
	conf_dirs(root, conf, sizeof(conf));
	if (try_dirs(conf, name, origin, root, out, outlen) ||
	    try_dirs(defaults, name, origin, root, out, outlen))
		return 0;
	return -ENOENT;
}

/* glibc's elf/cache.c and sysdeps/generic/ldconfig.h. */
#define CACHE_OLD_MAGIC "ld.so-1.7.0"
#define CACHE_NEW_MAGIC "glibc-ld.so.cache1.1"
#define FLAG_TYPE_MASK 0x00ff
#define FLAG_ELF_LIBC6 0x0003
#define FLAG_REQUIRED_MASK 0xff00
#define FLAG_X8664_LIB64 0x0300

struct cache_new_head {
	char magic[20];		/* "glibc-ld.so.cache" "1.1" */
	uint32_t nlibs;
	uint32_t len_strings;
	uint8_t flags;
	uint8_t pad[3];
	uint32_t extension_offset;
	uint32_t unused[3];
};

struct cache_new_entry {
	int32_t flags;
	uint32_t key, value;	/* string offsets from the new cache's start */
	uint32_t osversion;
	uint64_t hwcap;
};

struct cache_old_entry {
	int32_t flags;
	uint32_t key, value;
};

_Static_assert(sizeof(struct cache_new_head) == 48, "ld.so.cache header");
_Static_assert(sizeof(struct cache_new_entry) == 24, "ld.so.cache entry");

/* The NUL-terminated string at off in base[len], or NULL if it runs past the end. */
static const char *cache_str(const char *base, size_t len, uint32_t off)
{
	if (off >= len || !memchr(base + off, 0, len - off))
		return NULL;
	return base + off;
}

int ldso__cache_lookup(const void *buf, size_t len, const char *soname, char *out, size_t outlen)
{
	const char *base = buf;
	struct cache_new_head h;

	if (len >= sizeof(CACHE_OLD_MAGIC) - 1 + 4 && !memcmp(base, CACHE_OLD_MAGIC, sizeof(CACHE_OLD_MAGIC) - 1)) {
		uint32_t nold;
		size_t off;

		/* the old table first (magic, count, 12-byte entries), the new one after it, 8-aligned */
		memcpy(&nold, base + sizeof(CACHE_OLD_MAGIC) - 1 + 1, sizeof(nold));
		off = 16 + (size_t)nold * sizeof(struct cache_old_entry);
		off = (off + 7) & ~(size_t)7;
		if (off >= len)
			return -EINVAL;
		base += off;
		len -= off;
	}
	if (len < sizeof(h) || memcmp(base, CACHE_NEW_MAGIC, sizeof(CACHE_NEW_MAGIC) - 1))
		return -EINVAL;
	memcpy(&h, base, sizeof(h));
	if (h.nlibs > (len - sizeof(h)) / sizeof(struct cache_new_entry))
		return -EINVAL;
	for (uint32_t i = 0; i < h.nlibs; i++) {
		struct cache_new_entry e;
		const char *key, *value;

		memcpy(&e, base + sizeof(h) + (size_t)i * sizeof(e), sizeof(e));
		if ((e.flags & FLAG_TYPE_MASK) != FLAG_ELF_LIBC6 || (e.flags & FLAG_REQUIRED_MASK) != FLAG_X8664_LIB64)
			continue;
		key = cache_str(base, len, e.key);
		value = cache_str(base, len, e.value);
		if (key && value && !strcmp(key, soname)) {
			snprintf(out, outlen, "%s", value);
			return 0;
		}
	}
	return -ENOENT;
}

static int cache_find(const char *soname, const char *root, char *out, size_t outlen)
{
	char path[PATH_MAX], found[PATH_MAX];
	FILE *f;
	char *buf;
	long n;
	int r = -ENOENT;

	snprintf(path, sizeof(path), "%s/etc/ld.so.cache", root ? root : "");
	f = fopen(path, "re");
	if (!f)
		return -ENOENT;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) <= 0 || n > (64L << 20) || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return -ENOENT;
	}
	buf = malloc((size_t)n);
	if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n &&
	    !ldso__cache_lookup(buf, (size_t)n, soname, found, sizeof(found))) {
		snprintf(path, sizeof(path), "%s%s", root ? root : "", found);
		if (usable_lib(path)) {
			snprintf(out, outlen, "%s", path);
			r = 0;
		}
	}
	free(buf);
	fclose(f);
	return r;
}

int ldso__find_soname(const char *soname, const char *ld_library_path, const char *root,
		      char *out, size_t outlen)
{
	static const char dirs[] = "/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/usr/local/lib:"
				   "/lib64:/usr/lib64:/lib:/usr/lib";

	if (strchr(soname, '/'))
		return ldso__find_lib(soname, NULL, NULL, NULL, NULL, root, out, outlen);
	if (try_dirs(ld_library_path, soname, NULL, root, out, outlen) ||
	    !cache_find(soname, root, out, outlen) || try_dirs(dirs, soname, NULL, root, out, outlen))
		return 0;
	return -ENOENT;
}
