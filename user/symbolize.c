/* symbolize.c - addresses to symbols through /proc/PID/maps and libelf. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "elfobj.h"
#include "symbolize.h"

char *__cxa_demangle(const char *mangled, char *out, size_t *len, int *status);

struct smap {
	uint64_t start, end, off;
	int obj;	/* index in objs, -1 none */
};

struct sobj {
	char *path;
	struct elfobj *elf;	/* NULL: could not open */
	uint64_t bias;		/* load address - ELF base vaddr */
	int tried;
};

struct symbolizer {
	pid_t pid;
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

	if (!s)
		return NULL;
	s->pid = pid;
	symbolizer__refresh(s);
	return s;
}

static const char *base(const char *p)
{
	const char *b = strrchr(p, '/');

	return b ? b + 1 : p;
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
		o = &s->objs[m->obj];
		if (!o->tried) {
			char path[4200];

			snprintf(path, sizeof(path), "/proc/%d/root%s", s->pid, o->path);
			o->elf = elfobj__open(path);
			if (!o->elf)
				o->elf = elfobj__open(o->path);
			if (o->elf && o->bias != UINT64_MAX)
				o->bias -= elfobj__base_vaddr(o->elf);
			o->tried = 1;
		}
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
	free(s);
}
