/* symbolize.c - addresses to symbols through /proc/PID/maps and libelf. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "elf/elfobj.h"
#include "elf/symbolize.h"

char *__cxa_demangle(const char *mangled, char *out, size_t *len, int *status);

struct smap {
	uint64_t start, end, off;
	int obj;	/* index in objs, -1 none */
	int exec;	/* mapped executable: a return address can only be here */
};

struct sobj {
	char *path;
	struct elfobj *elf;	/* NULL: could not open */
	uint64_t bias;		/* load address - ELF base vaddr */
	int tried;
};

struct symbolizer {
	pid_t pid;
	int rootfd;		/* the process's root directory (its mount namespace), -1 none */
	int host_view;		/* it shares our mount namespace: its paths are ours */
	struct smap *maps;
	int nmaps;
	struct sobj *objs;
	int nobjs;
};

char *symbolize__demangle(const char *name)
{
	int status = -1;
	char *d = NULL;

	if (!strncmp(name, "_Z", 2))
		d = __cxa_demangle(name, NULL, NULL, &status);
	return status == 0 && d ? d : strdup(name);
}

static int obj_index(struct symbolizer *s, const char *path)
{
	struct sobj *n;

	for (int i = 0; i < s->nobjs; i++)
		if (!strcmp(s->objs[i].path, path))
			return i;
	n = realloc(s->objs, sizeof(*n) * (size_t)(s->nobjs + 1));
	if (!n)
		return -1;
	s->objs = n;
	memset(&s->objs[s->nobjs], 0, sizeof(*n));
	s->objs[s->nobjs].path = strdup(path);
	s->objs[s->nobjs].bias = UINT64_MAX;
	return s->nobjs++;
}

int symbolizer__refresh(struct symbolizer *s)
{
	char path[64], line[4096 + 128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", s->pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	s->nmaps = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, b, off;
		char perms[8];
		int pos = 0;
		struct smap *m;
		char *file;

		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s%n", &a, &b, perms, &off, &pos) < 4)
			continue;
		file = line + pos;
		while (*file == ' ')
			file++;
		file[strcspn(file, "\n")] = 0;
		m = realloc(s->maps, sizeof(*m) * (size_t)(s->nmaps + 1));
		if (!m)
			break;
		s->maps = m;
		m = &s->maps[s->nmaps++];
		m->start = a;
		m->end = b;
		m->off = off;
		m->exec = perms[2] == 'x';
		m->obj = file[0] == '/' ? obj_index(s, file) : -1;
		if (m->obj >= 0 && off == 0 && s->objs[m->obj].bias == UINT64_MAX)
			s->objs[m->obj].bias = a;	/* base vaddr subtracted when opened */
	}
	fclose(f);
	return 0;
}

struct symbolizer *symbolizer__new(pid_t pid)
{
	struct symbolizer *s = calloc(1, sizeof(*s));
	char path[64], theirs[64], ours[64];
	ssize_t n, m;

	if (!s)
		return NULL;
	s->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	s->rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	n = readlink(path, theirs, sizeof(theirs) - 1);
	m = readlink("/proc/self/ns/mnt", ours, sizeof(ours) - 1);
	s->host_view = n > 0 && n == m && !memcmp(theirs, ours, (size_t)n);
	symbolizer__refresh(s);
	return s;
}

static const char *base(const char *p)
{
	const char *b = strrchr(p, '/');

	return b ? b + 1 : p;
}

static struct sobj *obj_open(struct symbolizer *s, int i)
{
	struct sobj *o = &s->objs[i];

	if (!o->tried) {
		char path[4200];

		/* Through the process's root, held open since the start: a container's
		 * files, even once the process has exited. Our own path names another
		 * file there, unless it sees the mounts we see. */
		if (s->rootfd >= 0)
			snprintf(path, sizeof(path), "/proc/self/fd/%d%s", s->rootfd, o->path);
		else
			snprintf(path, sizeof(path), "/proc/%d/root%s", s->pid, o->path);
		o->elf = elfobj__open(path);
		if (!o->elf && s->host_view)
			o->elf = elfobj__open(o->path);
		if (o->elf && o->bias != UINT64_MAX)
			o->bias -= elfobj__base_vaddr(o->elf);
		o->tried = 1;
	}
	return o;
}

int symbolizer__frame(struct symbolizer *s, uint64_t ip, char *buf, size_t len)
{
	for (int i = 0; i < s->nmaps; i++) {
		struct smap *m = &s->maps[i];
		struct sobj *o;
		const char *name;
		uint64_t off;

		if (ip < m->start || ip >= m->end)
			continue;
		if (m->obj < 0)
			break;
		o = obj_open(s, m->obj);
		if (o->elf && o->bias != UINT64_MAX && !elfobj__addr_sym(o->elf, ip - o->bias, &name, &off)) {
			char *d = symbolize__demangle(name);

			snprintf(buf, len, "%s+0x%llx (%s)", d, (unsigned long long)off, base(o->path));
			free(d);
			return 1;
		}
		snprintf(buf, len, "%s+0x%llx", base(o->path), (unsigned long long)(ip - m->start + m->off));
		return 0;
	}
	snprintf(buf, len, "0x%llx", (unsigned long long)ip);
	return 0;
}

static const struct smap *map_of(const struct symbolizer *s, uint64_t ip)
{
	for (int i = 0; i < s->nmaps; i++)
		if (ip >= s->maps[i].start && ip < s->maps[i].end)
			return &s->maps[i];
	return NULL;
}

int symbolizer__is_code(const struct symbolizer *s, uint64_t ip)
{
	const struct smap *m = map_of(s, ip);

	return m && m->exec;
}

/* The object holding ip, for messages: its file name, or the kind of mapping. */
static const char *obj_name(const struct symbolizer *s, uint64_t ip)
{
	const struct smap *m = map_of(s, ip);

	if (!m)
		return "unmapped memory";
	return m->obj >= 0 ? base(s->objs[m->obj].path) : "anonymous code";
}

/* The x86-64 instruction ending at ip (b holds the 8 bytes before it) is an
 * indirect call, `call *r/m` (ff /2) in any of its lengths. */
static int ends_indirect_call(const uint8_t b[8])
{
	for (int k = 2; k <= 7; k++) {
		uint8_t modrm = b[8 - k + 1];
		int mod = modrm >> 6, rm = modrm & 7, len = 2;

		if (b[8 - k] != 0xff || ((modrm >> 3) & 7) != 2)
			continue;
		if (mod != 3 && rm == 4) {
			len++;	/* SIB */
			if (mod == 0 && (b[8 - k + 2] & 7) == 5)
				len += 4;
		}
		if (mod == 0 && rm == 5)
			len += 4;	/* rip-relative */
		else if (mod == 1)
			len += 1;
		else if (mod == 2)
			len += 4;
		if (len == k)
			return 1;
	}
	return 0;
}

/* The 8 code bytes before ip, from its object's file: 0, or -1 when they cannot be
 * read (anonymous code, an object that will not open). */
static int bytes_before(struct symbolizer *s, const struct smap *m, uint64_t ip, uint8_t b[8])
{
	struct sobj *o;
	uint64_t off;

	if (m->obj < 0)
		return -1;
	o = obj_open(s, m->obj);
	if (!o->elf || o->bias == UINT64_MAX || elfobj__vaddr_to_off(o->elf, ip - o->bias, &off) || off < 8 ||
	    elfobj__read(o->elf, off - 8, b, 8) != 8)
		return -1;
	return 0;
}

/* A return address follows a call: direct (e8 rel32) or indirect. Garbage read
 * through a broken frame pointer chain that happens to point into code rarely
 * does. When the bytes cannot be read, it is taken as code. */
static int after_call(struct symbolizer *s, const struct smap *m, uint64_t ip)
{
	uint8_t b[8];

	return bytes_before(s, m, ip, b) || b[3] == 0xe8 || ends_indirect_call(b);
}

/* Every thread's stack starts in libc: __libc_start_call_main calls main, and
 * start_thread the thread's routine, both through a pointer, with rbp 0 from
 * the entry point, so the frame pointer walk ends there. A stack that ends in
 * libc after a direct call (libc's own code calling malloc: opendir, strdup) or
 * anywhere else was cut short. */
static int is_root(struct symbolizer *s, uint64_t ip)
{
	const struct smap *m = map_of(s, ip);
	uint8_t b[8];
	const char *n;

	if (!m || m->obj < 0)
		return 0;
	n = base(s->objs[m->obj].path);
	if (strncmp(n, "libc.so", 7) && strncmp(n, "libc-", 5))
		return 0;
	return !bytes_before(s, m, ip, b) && b[3] != 0xe8 && ends_indirect_call(b);
}

/* Every frame of a user stack is a return address: in an executable mapping,
 * right after a call instruction. */
static int is_return_address(struct symbolizer *s, uint64_t ip)
{
	const struct smap *m = map_of(s, ip);

	return m && m->exec && after_call(s, m, ip);
}

int symbolizer__stack_end(struct symbolizer *s, const uint64_t *ips, int n, int max, char *why, size_t len)
{
	int k = 0;

	*why = 0;
	while (k < n && is_return_address(s, ips[k]))
		k++;
	if (k < n) {
		/* the frame pointer chain ran into something that is not code: the last
		 * function kept (or its callee) used rbp for data */
		if (k)
			snprintf(why, len, "no frame pointers in %s", obj_name(s, ips[k - 1]));
		else
			snprintf(why, len, "not a return address: 0x%llx", (unsigned long long)ips[0]);
	} else if (n >= max) {
		snprintf(why, len, "at the limit of %d frames", max);
	} else if (n && !is_root(s, ips[n - 1])) {
		/* the walk stopped on an unreadable frame pointer before a thread's start */
		snprintf(why, len, "no frame pointers in %s", obj_name(s, ips[n - 1]));
	}
	return k;
}

void symbolizer__free(struct symbolizer *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->nobjs; i++) {
		elfobj__free(s->objs[i].elf);
		free(s->objs[i].path);
	}
	free(s->objs);
	free(s->maps);
	if (s->rootfd >= 0)
		close(s->rootfd);
	free(s);
}
