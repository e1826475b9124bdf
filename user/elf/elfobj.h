/* elfobj.h - what fragscope needs to know of one ELF file: symbols, dynamic
 * section, relocations, and the bytes behind a virtual address. No libbpf here. */
#ifndef FS_ELFOBJ_H
#define FS_ELFOBJ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct elfobj;

struct elfsym {
	uint64_t vaddr;
	uint64_t size;
	int ifunc;	/* STT_GNU_IFUNC: a probe there would hit the resolver */
};

/* NULL with errno set (ENOEXEC: not a 64-bit x86 ELF file). */
struct elfobj *elfobj__open(const char *path);
void elfobj__free(struct elfobj *o);

const char *elfobj__path(const struct elfobj *o);
int elfobj__has_interp(const struct elfobj *o);	/* dynamically linked executable */
int elfobj__is_dyn(const struct elfobj *o);	/* ET_DYN (PIE or shared object) */
int elfobj__has_symtab(const struct elfobj *o);	/* .symtab: not stripped */
int elfobj__has_dynsym(const struct elfobj *o);
const char *elfobj__soname(const struct elfobj *o);	/* NULL if none */
int elfobj__needed_count(const struct elfobj *o);
const char *elfobj__needed(const struct elfobj *o, int i);
const char *elfobj__runpath(const struct elfobj *o);	/* DT_RUNPATH, else DT_RPATH, else NULL */
int elfobj__has_runpath(const struct elfobj *o);	/* DT_RUNPATH (which hides DT_RPATH) */

/* A defined function or object named name (exact, unversioned): .dynsym, then .symtab. */
int elfobj__sym(const struct elfobj *o, const char *name, struct elfsym *out);
/* The function containing vaddr (nearest preceding FUNC symbol within its size, or
 * the nearest at all when sizes are 0); name stays valid while o lives. */
int elfobj__addr_sym(struct elfobj *o, uint64_t vaddr, const char **name, uint64_t *off);
/* Address of the GOT slot (GLOB_DAT or JUMP_SLOT relocation) bound to name. */
int elfobj__got_slot(const struct elfobj *o, const char *name, uint64_t *vaddr);
/* Address of the GOT slot of name's JUMP_SLOT relocation (its PLT entry's slot). */
int elfobj__jump_slot(const struct elfobj *o, const char *name, uint64_t *vaddr);
/* The canonical address of a function o uses but does not define: a non-PIE
 * executable that takes name's address gives it the address of its own PLT entry
 * (.dynsym, st_shndx SHN_UNDEF, st_value != 0), and every object binds name there. */
int elfobj__plt_sym(const struct elfobj *o, const char *name, uint64_t *vaddr);
/* vaddr of the dynamic section (PT_DYNAMIC); -ENOENT if none. */
int elfobj__dynamic(const struct elfobj *o, uint64_t *vaddr, uint64_t *size);
/* 1 if vaddr lies in a PLT section (.plt, .plt.sec, .plt.got) of o. */
int elfobj__in_plt(const struct elfobj *o, uint64_t vaddr);
/* vaddr of the lowest PT_LOAD, page aligned: load bias = mapping start - this. */
uint64_t elfobj__base_vaddr(const struct elfobj *o);
/* [lo, hi) of the executable PT_LOAD segments; -ENOENT if none. */
int elfobj__text_range(const struct elfobj *o, uint64_t *lo, uint64_t *hi);
int elfobj__vaddr_to_off(const struct elfobj *o, uint64_t vaddr, uint64_t *off);
/* Reads file bytes at file offset off; returns bytes read or -errno. */
ssize_t elfobj__read(const struct elfobj *o, uint64_t off, void *buf, size_t len);

#endif
