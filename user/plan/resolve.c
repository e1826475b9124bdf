/* resolve.c - find the allocator malloc binds to, and plan a probe for each entry
 * point of its API. Files are opened through /proc/PID/root so containers work. */
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "elf/elfobj.h"
#include "elf/insn.h"
#include "elf/ldso.h"
#include "util/log.h"
#include "alloc/alloc.h"
#include "plan/resolve.h"

const char *resolve__alloc_name(int alloc)
{
	return alloc__by_id(alloc)->name;
}

static void note(struct fs_plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct fs_plan *p, const char *fmt, ...)
{
	va_list ap;

	if (p->nnotes >= FS_MAX_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(p->notes[p->nnotes++], sizeof(p->notes[0]), fmt, ap);
	va_end(ap);
}

static void identify_obj(struct fs_plan *plan, const struct elfobj *o)
{
	plan->allocator = alloc__identify(o, plan->prefix, sizeof(plan->prefix));
	plan->alloc = plan->allocator->id;
	snprintf(plan->alloc_name, sizeof(plan->alloc_name), "%s", plan->allocator->name);
}

int resolve__identify(struct fs_plan *plan, const char *path)
{
	struct elfobj *o = elfobj__open(path);

	if (!o)
		return -errno;
	identify_obj(plan, o);
	elfobj__free(o);
	return 0;
}

/* A probe on the function at symbol s of o: file offset, code range and placement. */
static int fill_probe(struct fs_probe *p, const struct elfobj *o, const char *path, const char *name,
		      const struct elfsym *s, unsigned kind, int nargs)
{
	static uint8_t code[65536];	/* the whole function: branches back into its prologue */
	struct insn_place pl;
	uint64_t off;
	ssize_t n;

	if (elfobj__vaddr_to_off(o, s->vaddr, &off))
		return -ENOENT;
	n = elfobj__read(o, off, code, s->size && s->size < sizeof(code) ? s->size : sizeof(code));
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->path, sizeof(p->path), "%s", path);
	p->vaddr = s->vaddr;
	p->size = s->size;
	p->sym_off = off;
	elfobj__text_range(o, &p->text_lo, &p->text_hi);
	p->kind = kind;
	insn__place(code, n > 0 ? (size_t)n : 0, nargs, &pl);
	p->place = pl.offset;
	p->emulated = pl.emulated;
	snprintf(p->why, sizeof(p->why), "%s", pl.why);
	return 0;
}

static int add_probe(struct fs_plan *plan, const struct elfobj *o, const char *path,
		     const char *prefix, const struct fs_api_fn *fn)
{
	struct elfsym s;
	struct fs_probe *p;
	char name[128];

	snprintf(name, sizeof(name), "%s%s", prefix, fn->name);
	if (elfobj__sym(o, name, &s))
		return 0;
	if (s.ifunc) {
		note(plan, "%s is an IFUNC in %s: not probed (a probe would hit its resolver)", name, path);
		return 0;
	}
	for (int i = 0; i < plan->nprobes; i++) {
		p = &plan->probes[i];
		if (p->vaddr == s.vaddr && !strcmp(p->path, path)) {	/* alias: attach once */
			size_t l = strlen(p->aliases);

			snprintf(p->aliases + l, sizeof(p->aliases) - l, "%s%s", l ? "," : "", name);
			return 0;
		}
	}
	if (plan->nprobes >= FS_MAX_FUNCS)
		return -E2BIG;
	if (!fill_probe(&plan->probes[plan->nprobes], o, path, name, &s, fn->kind, fn->nargs))
		plan->nprobes++;
	return 0;
}

static int add_api(struct fs_plan *plan, const struct elfobj *o, const char *path,
		   const char *prefix, const struct fs_api_fn *api)
{
	for (; api->name; api++) {
		int err = add_probe(plan, o, path, prefix, api);

		if (err)
			return err;
	}
	return 0;
}

/* A rel32 branch anywhere in the object into (vaddr, vaddr + place] of a probe
 * placed past its function's start: fill_probe saw only the function's own
 * branches; a jump from elsewhere (a .cold part, a shared tail) would reach the
 * probe without passing the start, or twice per call. The probe goes back to +0.
 * Raw bytes: a false hit only costs the cheaper placement. */
static void branch_in_from_elsewhere(struct fs_plan *plan, int first, const uint8_t *text, uint64_t lo,
				     uint64_t hi, uint64_t i, int64_t rel, int len)
{
	uint64_t target = lo + i + (uint64_t)len + (uint64_t)rel;

	for (int k = first; k < plan->nprobes; k++) {
		struct fs_probe *p = &plan->probes[k];

		if (!p->place || target <= p->vaddr || target > p->vaddr + p->place || p->vaddr < lo || p->vaddr >= hi)
			continue;
		snprintf(p->why, sizeof(p->why), "+%u emulated but a branch at 0x%llx lands before it: +0",
			 p->place, (unsigned long long)(lo + i));
		p->place = 0;
		p->emulated = insn__emulated(text + (p->vaddr - lo), hi - p->vaddr < 16 ? hi - p->vaddr : 16);
	}
}

/* The GOT slot a PLT entry at target jumps through (jmp *slot(%rip), after an
 * endbr64 and a bnd prefix in .plt.sec), or 0. */
static uint64_t plt_slot(const uint8_t *text, uint64_t lo, uint64_t hi, uint64_t target)
{
	uint64_t i = target - lo;
	int32_t rel;

	if (target < lo || target + 12 > hi)
		return 0;
	if (text[i] == 0xf3 && text[i + 1] == 0x0f && text[i + 2] == 0x1e && text[i + 3] == 0xfa)
		i += 4;
	if (text[i] == 0xf2)
		i++;
	if (text[i] != 0xff || text[i + 1] != 0x25)
		return 0;
	memcpy(&rel, text + i + 2, 4);
	return lo + i + 6 + (uint64_t)(int64_t)rel;
}

/* A jump at `at` to `target` (a probed function, or a PLT entry of this object
 * whose GOT slot is a probed function's: slot[k]; mimalloc's memalign jumps to
 * mi_memalign@plt): if it lies in another probed function's body, that function
 * may end by jumping into the target, so the target's probe hit is part of its
 * call (sampled mode tells nesting by this, without return probes: bpf tail_to).
 * Raw bytes: a false hit only lets a call of the target from the same frame and
 * return address be taken for part of the other's. */
#define SLOTS_PER_PROBE 4

static void tail_jump(struct fs_plan *plan, int first, const struct elfobj *o,
		      const uint64_t (*slot)[SLOTS_PER_PROBE], const uint8_t *text, uint64_t lo, uint64_t hi,
		      uint64_t at, uint64_t target)
{
	int plt = -1;	/* target is a PLT entry: not asked yet */
	uint64_t got = 0;

	for (int k = first; k < plan->nprobes; k++) {
		if (plan->probes[k].vaddr != target) {
			int hit = 0;

			if (!slot[k][0] || !plt)
				continue;
			if (plt < 0) {
				plt = elfobj__in_plt(o, target) && (got = plt_slot(text, lo, hi, target)) != 0;
				if (!plt)
					continue;
			}
			for (int m = 0; m < SLOTS_PER_PROBE; m++)
				hit |= slot[k][m] && slot[k][m] == got;
			if (!hit)
				continue;
		}
		for (int j = first; j < plan->nprobes; j++) {
			struct fs_probe *a = &plan->probes[j];

			if (j != k && at >= a->vaddr && at < a->vaddr + a->size)
				a->tail_to |= 1ULL << (k & 63);
		}
	}
}

/* The allocator's own direct calls (call rel32) of its releasing functions: their
 * return addresses tell an internal release from the program's. Also checks every
 * rel32 branch against the probes placed past their function's start, and finds
 * the probed functions that end by jumping into another (tail_jump). */
static void internal_callers(struct fs_plan *plan, const struct elfobj *o, int first)
{
	uint64_t lo, hi, off, slot[FS_MAX_FUNCS][SLOTS_PER_PROBE] = { { 0 } };
	uint8_t *text;

	/* each probed function's GOT slots for this object's PLT, by its name and its
	 * aliases (mimalloc has one for mi_free and another for libc's free) */
	for (int k = first; k < plan->nprobes; k++) {
		char names[sizeof(plan->probes[k].name) + sizeof(plan->probes[k].aliases) + 2], *save = NULL;
		int m = 0;

		snprintf(names, sizeof(names), "%s,%s", plan->probes[k].name, plan->probes[k].aliases);
		for (char *n = strtok_r(names, ",", &save); n && m < SLOTS_PER_PROBE; n = strtok_r(NULL, ",", &save))
			if (!elfobj__jump_slot(o, n, &slot[k][m]))
				m++;
	}

	if (elfobj__text_range(o, &lo, &hi) || hi - lo > (256u << 20) || elfobj__vaddr_to_off(o, lo, &off))
		return;
	text = malloc(hi - lo);
	if (!text)
		return;
	if (elfobj__read(o, off, text, hi - lo) == (ssize_t)(hi - lo)) {
		for (uint64_t i = 0; i + 5 <= hi - lo; i++) {
			int32_t rel;
			uint64_t target;

			if (text[i] == 0xe9 || (text[i] == 0x0f && (text[i + 1] & 0xf0) == 0x80 && i + 6 <= hi - lo)) {
				int n = text[i] == 0xe9 ? 5 : 6;

				memcpy(&rel, text + i + n - 4, 4);
				branch_in_from_elsewhere(plan, first, text, lo, hi, i, rel, n);
				tail_jump(plan, first, o, (const uint64_t (*)[SLOTS_PER_PROBE])slot, text, lo, hi, lo + i, lo + i + (uint64_t)n + (uint64_t)(int64_t)rel);
				continue;
			}
			if (text[i] == 0xeb || (text[i] & 0xf0) == 0x70)	/* jmp / jcc rel8 */
				tail_jump(plan, first, o, (const uint64_t (*)[SLOTS_PER_PROBE])slot, text, lo, hi, lo + i, lo + i + 2 + (uint64_t)(int64_t)(int8_t)text[i + 1]);
			if (text[i] != 0xe8)
				continue;
			memcpy(&rel, text + i + 1, 4);
			branch_in_from_elsewhere(plan, first, text, lo, hi, i, rel, 5);
			target = lo + i + 5 + (uint64_t)(int64_t)rel;
			for (int k = first; k < plan->nprobes; k++) {
				struct fs_probe *p = &plan->probes[k];
				int n = 0;

				if (p->kind != FS_K_FREE || p->vaddr != target)
					continue;
				while (n < FS_INTERNAL_CALLERS && p->internal_ret[n])
					n++;
				if (n < FS_INTERNAL_CALLERS)
					p->internal_ret[n] = lo + i + 5;
			}
		}
	}
	free(text);
}

static int plan_object(struct fs_plan *plan, const struct elfobj *o, const char *path,
		       char *err, size_t errlen)
{
	const char *pre = plan->prefix;
	int before = plan->nprobes, r;
	int have_malloc = 0, have_free = 0;

	if (plan->allocator->refused) {
		snprintf(err, errlen, "%s in %s %s", plan->alloc_name, path, plan->allocator->refused);
		return -ENOTSUP;
	}
	r = 0;
	for (const struct fs_api_part *part = plan->allocator->api; !r && part->fns; part++) {
		if ((part->flags & FS_API_UNPREFIXED_ONLY) && *pre)
			continue;
		r = add_api(plan, o, path, part->flags & FS_API_PREFIXED ? pre : "", part->fns);
	}
	if (!r && plan->allocator->plan_note)
		note(plan, plan->allocator->plan_note, path);
	if (r) {
		snprintf(err, errlen, "too many entry points in %s", path);
		return r;
	}
	for (int i = before; i < plan->nprobes; i++) {
		char m[64], f[64];

		snprintf(m, sizeof(m), "%smalloc", pre);
		snprintf(f, sizeof(f), "%sfree", pre);
		have_malloc |= !strcmp(plan->probes[i].name, m);
		have_free |= !strcmp(plan->probes[i].name, f);
	}
	if (!have_malloc || !have_free) {
		snprintf(err, errlen, "%s defines no %smalloc/%sfree function to probe%s", path, pre, pre,
			 !elfobj__has_symtab(o) && !elfobj__has_dynsym(o) ? " (stripped: no symbol table)" : "");
		return -ENOENT;
	}
	if (!elfobj__has_symtab(o) && !elfobj__has_interp(o) && !elfobj__is_dyn(o))
		note(plan, "%s has no .symtab: using .dynsym", path);
	internal_callers(plan, o, before);
	return 0;
}

/* libc's wrappers of the memory syscalls, by every name they go by; the allocators
 * call these (glibc's malloc its internal aliases of the same code, jemalloc the
 * exported names), so probing them sees what the allocator asks of the kernel
 * without slowing every syscall as syscall tracepoints do. */
static const struct { unsigned sys; int nargs; const char *names[3]; } sys_wrappers[FS_S__COUNT] = {
	{ FS_S_MMAP, 4, { "__mmap", "mmap64", "mmap" } },
	{ FS_S_MUNMAP, 2, { "__munmap", "munmap" } },
	{ FS_S_MREMAP, 3, { "__mremap", "mremap" } },
	{ FS_S_BRK, 1, { "__brk", "brk" } },
	{ FS_S_MADVISE, 3, { "__madvise", "madvise" } },
	{ FS_S_MPROTECT, 3, { "__mprotect", "mprotect" } },
};

int resolve__plan_syscalls(struct fs_plan *plan, const char *libc_path)
{
	struct elfobj *o = elfobj__open(libc_path);

	plan->nsys = 0;
	if (!o) {
		snprintf(plan->sys_why, sizeof(plan->sys_why), "cannot open %s: %s", libc_path, strerror(errno));
		return -ENOENT;
	}
	for (int i = 0; i < FS_S__COUNT; i++) {
		struct elfsym s;
		int k = 0;

		while (k < 3 && sys_wrappers[i].names[k] && elfobj__sym(o, sys_wrappers[i].names[k], &s))
			k++;
		if (k == 3 || !sys_wrappers[i].names[k] || s.ifunc ||
		    fill_probe(&plan->sys[i], o, libc_path, sys_wrappers[i].names[k], &s,
			       sys_wrappers[i].sys, sys_wrappers[i].nargs)) {
			snprintf(plan->sys_why, sizeof(plan->sys_why), "no %s wrapper found in %s",
				 sys_wrappers[i].names[0] + 2, libc_path);
			elfobj__free(o);
			return -ENOENT;
		}
	}
	plan->nsys = FS_S__COUNT;
	elfobj__free(o);
	return 0;
}

int resolve__plan_probes(struct fs_plan *plan, const char *path, char *err, size_t errlen)
{
	struct elfobj *o = elfobj__open(path);
	int r;

	if (!o) {
		r = -errno;
		snprintf(err, errlen, "open %s: %s", path, strerror(errno));
		return r;
	}
	identify_obj(plan, o);
	r = plan_object(plan, o, path, err, errlen);
	elfobj__free(o);
	return r;
}

static const char *env_get(char *const env[], const char *key)
{
	size_t k = strlen(key);

	for (; env && *env; env++)
		if (!strncmp(*env, key, k) && (*env)[k] == '=')
			return *env + k + 1;
	return NULL;
}

#define MAX_OBJS 256

struct objlist {
	char *path[MAX_OBJS];
	char *name[MAX_OBJS];
	int n;
};

static int objlist_has(const struct objlist *l, const char *name, const char *path)
{
	for (int i = 0; i < l->n; i++)
		if ((name && l->name[i] && !strcmp(l->name[i], name)) || !strcmp(l->path[i], path))
			return 1;
	return 0;
}

static void objlist_add(struct objlist *l, const char *name, const char *path)
{
	if (l->n < MAX_OBJS && !objlist_has(l, name, path)) {
		l->name[l->n] = name ? strdup(name) : NULL;
		l->path[l->n++] = strdup(path);
	}
}

static void objlist_free(struct objlist *l)
{
	for (int i = 0; i < l->n; i++) {
		free(l->path[i]);
		free(l->name[i]);
	}
}

static void add_preloads(struct objlist *l, const char *list, const char *ldlp, const char *root)
{
	char *copy, *save = NULL, *t, path[PATH_MAX];

	if (!list)
		return;
	copy = strdup(list);
	for (t = strtok_r(copy, " :\t\n", &save); t; t = strtok_r(NULL, " :\t\n", &save))
		if (!ldso__find_lib(t, NULL, NULL, NULL, ldlp, root, path, sizeof(path)))
			objlist_add(l, t, path);
	free(copy);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = calloc(1, 65536);
	n = buf ? fread(buf, 1, 65535, f) : 0;
	if (buf)
		buf[n] = 0;
	fclose(f);
	return buf;
}

/* path without the root prefix: the name the process knows it by. */
static const char *unrooted(const char *root, const char *path)
{
	size_t n = root ? strlen(root) : 0;

	return n && !strncmp(path, root, n) && path[n] == '/' ? path + n : path;
}

/* Objects in the order ld.so binds symbols: executable, preloads, DT_NEEDED breadth
 * first. Paths are root + the path the process will see (root NULL: ours). */
static void load_order(const char *root, const char *exe, char *const env[], struct objlist *l)
{
	const char *ldlp = env_get(env, "LD_LIBRARY_PATH");
	char pre[PATH_MAX], *preload_file;

	snprintf(pre, sizeof(pre), "%s/etc/ld.so.preload", root ? root : "");
	preload_file = read_file(pre);
	objlist_add(l, NULL, exe);
	add_preloads(l, env_get(env, "LD_PRELOAD"), ldlp, root);
	add_preloads(l, preload_file, ldlp, root);
	free(preload_file);
	for (int i = 0; i < l->n; i++) {
		struct elfobj *o = elfobj__open(l->path[i]);
		char origin[PATH_MAX], path[PATH_MAX], *slash;

		if (!o)
			continue;
		snprintf(origin, sizeof(origin), "%s", unrooted(root, l->path[i]));	/* $ORIGIN: its own view */
		slash = strrchr(origin, '/');
		if (slash)
			*slash = 0;
		for (int k = 0; k < elfobj__needed_count(o); k++) {
			const char *nm = elfobj__needed(o, k);

			if (objlist_has(l, nm, "\x01"))
				continue;
			const char *rp = elfobj__runpath(o);
			int has_runpath = elfobj__has_runpath(o);

			if (!ldso__find_lib(nm, has_runpath ? NULL : rp, has_runpath ? rp : NULL, origin, ldlp,
				      root, path, sizeof(path)))
				objlist_add(l, nm, path);
		}
		elfobj__free(o);
	}
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static int defines_sym(const char *path, const char *name)
{
	struct elfobj *o = elfobj__open(path);
	struct elfsym s;
	int r = o && elfobj__sym(o, name, &s) == 0 && !s.ifunc;

	elfobj__free(o);
	return r;
}

static int defines_malloc(const char *path)
{
	return defines_sym(path, "malloc");
}

/* A statically linked allocator with a prefix (jemalloc's je_malloc) lives beside
 * the C library's malloc: trace both. */
static int add_prefixed(struct fs_plan *plan, const char *exe, const char *libc_path,
				 char *err, size_t errlen)
{
	struct elfobj *o = elfobj__open(exe);
	struct fs_plan je;
	int r = 0;

	if (!o)
		return 0;
	memset(&je, 0, sizeof(je));
	identify_obj(&je, o);
	if (je.prefix[0] && je.allocator->api[0].fns && plan->allocator->libc) {
		char *libc_probes = NULL;
		const char *libc_name = plan->allocator->name;
		int n = plan->nprobes;

		libc_probes = malloc(sizeof(plan->probes[0]) * (size_t)n);
		if (!libc_probes) {
			elfobj__free(o);
			return -ENOMEM;
		}
		memcpy(libc_probes, plan->probes, sizeof(plan->probes[0]) * (size_t)n);
		plan->nprobes = 0;
		plan->allocator = je.allocator;
		plan->alloc = je.alloc;
		snprintf(plan->alloc_name, sizeof(plan->alloc_name), "%s", je.alloc_name);
		snprintf(plan->prefix, sizeof(plan->prefix), "%s", je.prefix);
		r = plan_object(plan, o, exe, err, errlen);
		for (int i = 0; !r && i < n && plan->nprobes < FS_MAX_FUNCS; i++)
			plan->probes[plan->nprobes++] = ((struct fs_probe *)libc_probes)[i];
		free(libc_probes);
		note(plan, "%s (prefix %s) is linked into %s; %s's malloc in %s is traced too",
		     je.alloc_name, je.prefix, exe, libc_name, libc_path);
		snprintf(plan->object, sizeof(plan->object), "%s", exe);
	}
	elfobj__free(o);
	return r;
}

int resolve__cmd(const char *root, const char *name, char *const env[], struct fs_plan *plan, char *err,
		 size_t errlen)
{
	struct objlist l = { 0 };
	struct elfobj *exe;
	const char *winner = NULL;
	char path[PATH_MAX];
	int r;

	memset(plan, 0, sizeof(*plan));
	snprintf(path, sizeof(path), "%s%s", root ? root : "", name);
	exe = elfobj__open(path);
	if (!exe) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", name, errno == ENOEXEC ? "not an x86-64 ELF executable" : strerror(errno));
		return r;
	}
	if (!elfobj__has_interp(exe)) {
		elfobj__free(exe);
		if (!defines_malloc(path)) {
			snprintf(err, errlen, "%s is statically linked and %s", name,
				 "has no malloc symbol (stripped, or no allocator)");
			return -ENOENT;
		}
		snprintf(plan->object, sizeof(plan->object), "%s", name);
		snprintf(plan->how, sizeof(plan->how), "statically linked executable");
		r = resolve__plan_probes(plan, path, err, errlen);
		if (!r)
			resolve__plan_syscalls(plan, path);
		return r;
	}
	elfobj__free(exe);
	load_order(root, path, env, &l);
	for (int i = 0; i < l.n && !winner; i++)
		if (defines_malloc(l.path[i]))
			winner = l.path[i];
	if (!winner) {
		snprintf(err, errlen, "no object loaded by %s defines malloc", name);
		objlist_free(&l);
		return -ENOENT;
	}
	/* the object as the process names it; its probes on the file under root */
	snprintf(plan->object, sizeof(plan->object), "%s", unrooted(root, winner));
	snprintf(plan->how, sizeof(plan->how), "first definition in the dynamic linker's search order");
	r = resolve__plan_probes(plan, winner, err, errlen);
	if (!r) {
		r = add_prefixed(plan, path, winner, err, errlen);
		memmove(plan->object, unrooted(root, plan->object), strlen(unrooted(root, plan->object)) + 1);
	}
	if (!r) {	/* libc's wrappers: the object named libc.so*, else the first defining munmap */
		const char *libc = NULL;

		for (int i = 0; i < l.n && !libc; i++)
			if (!strncmp(base_name(l.path[i]), "libc.so", 7))
				libc = l.path[i];
		for (int i = 0; i < l.n && !libc; i++)
			if (defines_sym(l.path[i], "munmap"))
				libc = l.path[i];
		if (libc)
			resolve__plan_syscalls(plan, libc);
		else
			snprintf(plan->sys_why, sizeof(plan->sys_why), "no object loaded by %s defines munmap", name);
	}
	objlist_free(&l);
	return r;
}

/* ---- running processes ---- */

struct mapping {
	uint64_t start, end, off;
	int obj;
};

#define MAX_MAPS 4096

struct procmaps {
	struct mapping m[MAX_MAPS];
	int nm;
	char *obj[MAX_OBJS];
	uint64_t obj_start[MAX_OBJS];	/* start of its mapping at file offset 0 */
	int nobj;
};

static int read_maps(pid_t pid, struct procmaps *pm)
{
	char path[64], line[PATH_MAX + 128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f) && pm->nm < MAX_MAPS) {
		unsigned long long s, e, off;
		char perms[8], *file;
		int pos = 0, k;

		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s%n", &s, &e, perms, &off, &pos) < 4)
			continue;
		file = line + pos;
		while (*file == ' ')
			file++;
		file[strcspn(file, "\n")] = 0;
		if (file[0] != '/')
			continue;
		for (k = 0; k < pm->nobj && strcmp(pm->obj[k], file); k++)
			;
		if (k == pm->nobj) {
			if (pm->nobj >= MAX_OBJS)
				continue;
			pm->obj[pm->nobj] = strdup(file);
			pm->obj_start[pm->nobj++] = UINT64_MAX;
		}
		if (off == 0 && pm->obj_start[k] == UINT64_MAX)
			pm->obj_start[k] = s;
		pm->m[pm->nm++] = (struct mapping){ s, e, off, k };
	}
	fclose(f);
	return 0;
}

static void free_maps(struct procmaps *pm)
{
	for (int i = 0; i < pm->nobj; i++)
		free(pm->obj[i]);
}

/* The object of pm whose mapping holds addr, or -1. */
static int obj_at(const struct procmaps *pm, uint64_t addr)
{
	for (int i = 0; i < pm->nm; i++)
		if (addr >= pm->m[i].start && addr < pm->m[i].end)
			return pm->m[i].obj;
	return -1;
}

static int read_u64(int fd, uint64_t addr, uint64_t *v)
{
	return pread(fd, v, 8, (off_t)addr) == 8 ? 0 : -EIO;
}

/* Opens the file of mapped object k; its load bias in *bias. NULL if not mapped at offset 0. */
static struct elfobj *open_mapped(const struct procmaps *pm, const char *root, int k, uint64_t *bias)
{
	char path[PATH_MAX];
	struct elfobj *o;

	if (k < 0 || pm->obj_start[k] == UINT64_MAX)
		return NULL;
	snprintf(path, sizeof(path), "%s%s", root, pm->obj[k]);
	o = elfobj__open(path);
	if (o)
		*bias = pm->obj_start[k] - elfobj__base_vaddr(o);
	return o;
}

/* The first object other than skip in the process's link map (ld.so's load order,
 * the order its symbol search follows; the executable comes first) that defines
 * malloc. An object dlopen'ed without RTLD_GLOBAL is in the chain too but not in the
 * search; it comes after the initial objects, libc among them. The chain starts at the
 * r_debug the dynamic linker publishes through the executable's DT_DEBUG entry;
 * struct r_debug and struct link_map are glibc's public ABI (<link.h>). */
static int first_in_link_map(int fd, const struct procmaps *pm, const char *root, int exe, int skip)
{
	struct elfobj *o;
	uint64_t bias = 0, dyn, dynsz, rdebug = 0, lm = 0;
	int found = -1;

	o = open_mapped(pm, root, exe, &bias);
	if (!o)
		return -1;
	if (elfobj__dynamic(o, &dyn, &dynsz))
		dynsz = 0;
	elfobj__free(o);
	for (uint64_t off = 0; off + 16 <= dynsz && !rdebug; off += 16) {
		uint64_t tag, val;

		if (read_u64(fd, bias + dyn + off, &tag) || tag == DT_NULL)
			break;
		if (tag == DT_DEBUG && !read_u64(fd, bias + dyn + off + 8, &val))
			rdebug = val;
	}
	if (!rdebug || read_u64(fd, rdebug + offsetof(struct r_debug, r_map), &lm))
		return -1;
	for (int n = 0; lm && n < 2 * MAX_OBJS && found < 0; n++) {
		uint64_t ld, next;
		char path[PATH_MAX];
		int k;

		if (read_u64(fd, lm + offsetof(struct link_map, l_ld), &ld) ||
		    read_u64(fd, lm + offsetof(struct link_map, l_next), &next))
			break;
		k = obj_at(pm, ld);
		if (k >= 0 && k != skip) {
			snprintf(path, sizeof(path), "%s%s", root, pm->obj[k]);
			if (defines_malloc(path))
				found = k;
		}
		lm = next;
	}
	return found;
}

/* A non-PIE executable that takes malloc's address (or just references it) makes
 * its own PLT entry malloc's canonical address, and ld.so binds libc's GLOB_DAT for
 * malloc there: the slot names the executable, not the allocator. That PLT entry
 * jumps through the executable's JUMP_SLOT, which ld.so binds past the executable
 * (lookups for PLT relocations skip undefined symbols), so read that slot instead.
 * Before the first call through the entry (lazy binding) the slot still points into
 * the PLT; then the allocator is what ld.so will bind: the first object in its
 * search order defining malloc. 1: looked through, 0: not a PLT entry, -1: a PLT
 * entry that leads nowhere. */
static int look_through_plt(int fd, const struct procmaps *pm, const char *root, int exe, int obj,
			    uint64_t addr, int *winner, uint64_t *addr_out, char *how, size_t howlen)
{
	struct elfobj *o;
	uint64_t bias = 0, canon = 0, slot, to = 0;
	char who[PATH_MAX + 8];
	int plt, k = -1;

	if (obj == exe)
		snprintf(who, sizeof(who), "the executable's");
	else
		snprintf(who, sizeof(who), "%s's", pm->obj[obj]);
	o = open_mapped(pm, root, obj, &bias);
	if (!o)
		return 0;
	plt = (!elfobj__plt_sym(o, "malloc", &canon) && canon == addr - bias) || elfobj__in_plt(o, addr - bias);
	if (plt && !elfobj__jump_slot(o, "malloc", &slot) && !read_u64(fd, bias + slot, &to))
		k = obj_at(pm, to);
	elfobj__free(o);
	if (!plt)
		return 0;
	if (k >= 0 && k != obj) {
		*winner = k;
		*addr_out = to;
		snprintf(how, howlen, "libc's GOT slot for malloc points at %s PLT entry 0x%llx: looked through it "
			 "to 0x%llx (its GOT slot for malloc)", who, (unsigned long long)addr, (unsigned long long)to);
		return 1;
	}
	k = first_in_link_map(fd, pm, root, exe, obj);
	if (k < 0)
		return -1;
	*winner = k;
	*addr_out = 0;
	snprintf(how, howlen, "libc's GOT slot for malloc points at %s PLT entry 0x%llx, not yet bound: looked "
		 "through it to the first object defining malloc in the link map", who, (unsigned long long)addr);
	return 1;
}

/* libc's own GOT slot for malloc holds the address the dynamic linker bound. */
static int bound_by_got(pid_t pid, struct procmaps *pm, const char *root, int libc, int exe,
			int *winner, uint64_t *addr_out, char *how, size_t howlen)
{
	char path[PATH_MAX];
	struct elfobj *o;
	uint64_t slot, bias = 0, addr = 0;
	int fd, k, r = -ENOENT;

	o = open_mapped(pm, root, libc, &bias);
	if (!o)
		return -ENOENT;
	if (elfobj__got_slot(o, "malloc", &slot)) {
		elfobj__free(o);
		return -ENOENT;
	}
	elfobj__free(o);
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (!read_u64(fd, bias + slot, &addr) && (k = obj_at(pm, addr)) >= 0) {
		int through = k == libc ? 0 : look_through_plt(fd, pm, root, exe, k, addr, winner, addr_out, how, howlen);

		r = through < 0 ? -ENOENT : 0;
		if (!through) {
			*winner = k;
			*addr_out = addr;
			snprintf(how, howlen, "libc's GOT slot for malloc points to 0x%llx", (unsigned long long)addr);
		}
	}
	close(fd);
	return r;
}

int resolve__pid(pid_t pid, struct fs_plan *plan, char *err, size_t errlen)
{
	struct procmaps *pm;
	char root[64], link[64], exe[PATH_MAX], path[PATH_MAX];
	int libc = -1, winner = -1, r = 0, exe_idx = -1;
	uint64_t addr = 0;
	ssize_t n;

	memset(plan, 0, sizeof(*plan));
	snprintf(root, sizeof(root), "/proc/%d/root", pid);
	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n < 0) {
		r = -errno;
		if (errno == ENOENT && access(root, F_OK) == 0)
			snprintf(err, errlen, "process %d has no executable (kernel thread or zombie)", pid);
		else if (errno == ENOENT)
			snprintf(err, errlen, "no process with PID %d", pid);
		else
			snprintf(err, errlen, "read %s: %s", link, strerror(errno));
		return r;
	}
	exe[n] = 0;
	pm = calloc(1, sizeof(*pm));
	if (!pm)
		return -ENOMEM;
	r = read_maps(pid, pm);
	if (r) {
		snprintf(err, errlen, "read /proc/%d/maps: %s", pid, strerror(-r));
		goto out;
	}
	for (int i = 0; i < pm->nobj; i++) {
		if (!strcmp(pm->obj[i], exe))
			exe_idx = i;
		if (!strncmp(base_name(pm->obj[i]), "libc.so", 7))
			libc = i;
	}
	if (exe_idx < 0 && strstr(exe, " (deleted)")) {
		snprintf(err, errlen, "the executable of PID %d was deleted: cannot place probes on it", pid);
		r = -ENOENT;
		goto out;
	}
	if (libc >= 0 && !bound_by_got(pid, pm, root, libc, exe_idx, &winner, &addr, plan->how, sizeof(plan->how))) {
		fs_debug("malloc of PID %d bound to 0x%llx in %s", pid, (unsigned long long)addr, pm->obj[winner]);
	} else {
		/* Static, or no libc: the executable, then whatever else defines malloc. */
		int order[MAX_OBJS], no = 0;

		if (exe_idx >= 0)
			order[no++] = exe_idx;
		for (int i = 0; i < pm->nobj; i++)
			if (i != exe_idx && i != libc)
				order[no++] = i;
		if (libc >= 0)
			order[no++] = libc;
		for (int i = 0; i < no && winner < 0; i++) {
			snprintf(path, sizeof(path), "%s%s", root, pm->obj[order[i]]);
			if (defines_malloc(path))
				winner = order[i];
		}
		snprintf(plan->how, sizeof(plan->how), "%s",
			 libc < 0 ? "statically linked: malloc defined in the executable"
				  : "first mapped object defining malloc (libc's GOT slot gave no answer)");
	}
	if (winner < 0) {
		snprintf(path, sizeof(path), "%s%s", root, exe);
		struct elfobj *o = elfobj__open(path);

		struct elfsym gs;

		snprintf(err, errlen, "no allocator found in PID %d: %s defines no malloc%s", pid, exe,
			 o && elfobj__sym(o, "runtime.mallocgc", &gs) == 0
				 ? " (a Go program without cgo: its heap is the Go runtime's, not a C allocator's; "
				   "GODEBUG=gctrace=1 or runtime/pprof tell what it holds)"
			 : o && !elfobj__has_symtab(o) && !elfobj__has_dynsym(o)
				 ? " (stripped: no .symtab or .dynsym)" : "");
		elfobj__free(o);
		r = -ENOENT;
		goto out;
	}
	snprintf(plan->object, sizeof(plan->object), "%s", pm->obj[winner]);
	snprintf(path, sizeof(path), "%s%s", root, pm->obj[winner]);
	r = resolve__plan_probes(plan, path, err, errlen);
	if (!r && exe_idx >= 0 && winner != exe_idx) {
		char exe_path[PATH_MAX];

		snprintf(exe_path, sizeof(exe_path), "%s%s", root, exe);
		r = add_prefixed(plan, exe_path, pm->obj[winner], err, errlen);
	}
	if (!r && (libc >= 0 || exe_idx >= 0)) {	/* libc's wrappers, or a static executable's */
		snprintf(path, sizeof(path), "%s%s", root, pm->obj[libc >= 0 ? libc : exe_idx]);
		resolve__plan_syscalls(plan, path);
	} else if (!r) {
		snprintf(plan->sys_why, sizeof(plan->sys_why), "no libc mapped in PID %d", pid);
	}
out:
	free_maps(pm);
	free(pm);
	return r;
}
