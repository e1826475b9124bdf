/* elfobj.c - ELF reading with libelf: symbols, DT_NEEDED, relocations, offsets. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "elf/elfobj.h"

#define MAX_NEEDED 64

struct symaddr {
	uint64_t vaddr, size;
	const char *name;
};

struct elfobj {
	struct symaddr *syms;	/* functions by address, built on first use */
	size_t nsyms;
	int syms_built;
	char *path;
	int fd;
	Elf *elf;
	int has_interp, is_dyn, has_symtab, has_dynsym, has_runpath;
	uint64_t base_vaddr;
	char *soname, *runpath;
	char *needed[MAX_NEEDED];
	int nneeded;
	Elf_Scn *dynsym, *symtab, *versym;
	size_t nphdr;
};

static char *dupstr(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void read_dynamic(struct elfobj *o, Elf_Scn *scn, GElf_Shdr *sh)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t n = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;
	const char *rpath = NULL;

	for (size_t i = 0; d && i < n; i++) {
		GElf_Dyn dyn;
		const char *s;

		if (!gelf_getdyn(d, (int)i, &dyn))
			break;
		if (dyn.d_tag != DT_NEEDED && dyn.d_tag != DT_SONAME &&
		    dyn.d_tag != DT_RUNPATH && dyn.d_tag != DT_RPATH)
			continue;
		s = elf_strptr(o->elf, sh->sh_link, dyn.d_un.d_val);
		if (!s)
			continue;
		if (dyn.d_tag == DT_NEEDED && o->nneeded < MAX_NEEDED)
			o->needed[o->nneeded++] = dupstr(s);
		else if (dyn.d_tag == DT_SONAME && !o->soname)
			o->soname = dupstr(s);
		else if (dyn.d_tag == DT_RUNPATH) {
			free(o->runpath);
			o->runpath = dupstr(s);
			o->has_runpath = 1;
		} else if (dyn.d_tag == DT_RPATH)
			rpath = s;
	}
	if (!o->runpath && rpath)
		o->runpath = dupstr(rpath);
}

struct elfobj *elfobj__open(const char *path)
{
	struct elfobj *o;
	GElf_Ehdr eh;
	Elf_Scn *scn = NULL;
	int err = ENOEXEC;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = ENOSYS;
		return NULL;
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->base_vaddr = UINT64_MAX;
	o->path = strdup(path);
	o->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (o->fd < 0) {
		err = errno;
		goto fail;
	}
	o->elf = elf_begin(o->fd, ELF_C_READ_MMAP, NULL);
	if (!o->elf || elf_kind(o->elf) != ELF_K_ELF || !gelf_getehdr(o->elf, &eh) ||
	    gelf_getclass(o->elf) != ELFCLASS64 || eh.e_machine != EM_X86_64)
		goto fail;
	o->is_dyn = eh.e_type == ET_DYN;
	if (elf_getphdrnum(o->elf, &o->nphdr))
		goto fail;
	for (size_t i = 0; i < o->nphdr; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(o->elf, (int)i, &ph))
			continue;
		if (ph.p_type == PT_INTERP)
			o->has_interp = 1;
		if (ph.p_type == PT_LOAD && ph.p_vaddr < o->base_vaddr)
			o->base_vaddr = ph.p_vaddr & ~(uint64_t)0xfff;
	}
	if (o->base_vaddr == UINT64_MAX)
		o->base_vaddr = 0;
	while ((scn = elf_nextscn(o->elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_DYNSYM) {
			o->dynsym = scn;
			o->has_dynsym = 1;
		} else if (sh.sh_type == SHT_SYMTAB) {
			o->symtab = scn;
			o->has_symtab = 1;
		} else if (sh.sh_type == SHT_GNU_versym) {
			o->versym = scn;
		} else if (sh.sh_type == SHT_DYNAMIC) {
			read_dynamic(o, scn, &sh);
		}
	}
	return o;
fail:
	elfobj__free(o);
	errno = err;
	return NULL;
}

void elfobj__free(struct elfobj *o)
{
	if (!o)
		return;
	for (int i = 0; i < o->nneeded; i++)
		free(o->needed[i]);
	free(o->syms);
	free(o->soname);
	free(o->runpath);
	if (o->elf)
		elf_end(o->elf);
	if (o->fd >= 0)
		close(o->fd);
	free(o->path);
	free(o);
}

const char *elfobj__path(const struct elfobj *o) { return o->path; }
int elfobj__has_interp(const struct elfobj *o) { return o->has_interp; }
int elfobj__is_dyn(const struct elfobj *o) { return o->is_dyn; }
int elfobj__has_symtab(const struct elfobj *o) { return o->has_symtab; }
int elfobj__has_dynsym(const struct elfobj *o) { return o->has_dynsym; }
const char *elfobj__soname(const struct elfobj *o) { return o->soname; }
int elfobj__needed_count(const struct elfobj *o) { return o->nneeded; }
const char *elfobj__needed(const struct elfobj *o, int i) { return i >= 0 && i < o->nneeded ? o->needed[i] : NULL; }
const char *elfobj__runpath(const struct elfobj *o) { return o->runpath; }
int elfobj__has_runpath(const struct elfobj *o) { return o->has_runpath; }
uint64_t elfobj__base_vaddr(const struct elfobj *o) { return o->base_vaddr; }

/* A global or weak definition of name; in .dynsym, the default version wins over
 * hidden older ones (memcpy@GLIBC_2.2.5 vs memcpy@@GLIBC_2.14). */
static int find_in(const struct elfobj *o, Elf_Scn *scn, const char *name, struct elfsym *out)
{
	Elf_Data *d, *vd = NULL;
	GElf_Shdr sh;
	int found = 0;
	size_t n;

	if (!scn || !gelf_getshdr(scn, &sh) || !(d = elf_getdata(scn, NULL)) || !sh.sh_entsize)
		return -ENOENT;
	if (scn == o->dynsym && o->versym)
		vd = elf_getdata(o->versym, NULL);
	n = sh.sh_size / sh.sh_entsize;
	for (size_t i = 1; i < n; i++) {
		GElf_Versym vs = 0;
		GElf_Sym s;
		const char *nm;
		int type, bind;

		if (!gelf_getsym(d, (int)i, &s) || s.st_shndx == SHN_UNDEF || !s.st_value)
			continue;
		type = GELF_ST_TYPE(s.st_info);
		bind = GELF_ST_BIND(s.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_OBJECT) ||
		    (bind != STB_GLOBAL && bind != STB_WEAK))
			continue;
		nm = elf_strptr(o->elf, sh.sh_link, s.st_name);
		if (!nm || strcmp(nm, name))
			continue;
		if (vd && gelf_getversym(vd, (int)i, &vs) && (vs & 0x8000) && found)
			continue;	/* hidden (non-default) version: keep what we have */
		out->vaddr = s.st_value;
		out->size = s.st_size;
		out->ifunc = type == STT_GNU_IFUNC;
		found = 1;
		if (!(vs & 0x8000))
			return 0;
	}
	return found ? 0 : -ENOENT;
}

int elfobj__sym(const struct elfobj *o, const char *name, struct elfsym *out)
{
	if (!find_in(o, o->dynsym, name, out))
		return 0;
	return find_in(o, o->symtab, name, out);
}

static int cmp_symaddr(const void *a, const void *b)
{
	const struct symaddr *x = a, *y = b;

	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static void collect_funcs(struct elfobj *o, Elf_Scn *scn, size_t *cap)
{
	GElf_Shdr sh;
	Elf_Data *d;
	size_t n;

	if (!scn || !gelf_getshdr(scn, &sh) || !(d = elf_getdata(scn, NULL)) || !sh.sh_entsize)
		return;
	n = sh.sh_size / sh.sh_entsize;
	for (size_t i = 1; i < n; i++) {
		GElf_Sym s;

		if (!gelf_getsym(d, (int)i, &s) || s.st_shndx == SHN_UNDEF || !s.st_value ||
		    (GELF_ST_TYPE(s.st_info) != STT_FUNC && GELF_ST_TYPE(s.st_info) != STT_GNU_IFUNC))
			continue;
		if (o->nsyms == *cap) {
			size_t nc = *cap ? *cap * 2 : 1024;
			struct symaddr *ns = realloc(o->syms, nc * sizeof(*ns));

			if (!ns)
				return;
			o->syms = ns;
			*cap = nc;
		}
		o->syms[o->nsyms++] = (struct symaddr){ s.st_value, s.st_size,
							elf_strptr(o->elf, sh.sh_link, s.st_name) };
	}
}

int elfobj__addr_sym(struct elfobj *o, uint64_t vaddr, const char **name, uint64_t *off)
{
	size_t lo = 0, hi, cap = 0;

	if (!o->syms_built) {
		collect_funcs(o, o->symtab, &cap);
		collect_funcs(o, o->dynsym, &cap);
		if (o->nsyms)
			qsort(o->syms, o->nsyms, sizeof(*o->syms), cmp_symaddr);
		o->syms_built = 1;
	}
	hi = o->nsyms;
	while (lo < hi) {	/* first symbol above vaddr */
		size_t mid = lo + (hi - lo) / 2;

		if (o->syms[mid].vaddr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || !o->syms[lo - 1].name)
		return -ENOENT;
	lo--;
	if (o->syms[lo].size && vaddr >= o->syms[lo].vaddr + o->syms[lo].size)
		return -ENOENT;
	*name = o->syms[lo].name;
	*off = vaddr - o->syms[lo].vaddr;
	return 0;
}

/* The GOT slot of the first relocation of name whose type is accepted. */
static int reloc_slot(const struct elfobj *o, const char *name, int jump_slot_only, uint64_t *vaddr)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(o->elf, scn))) {
		GElf_Shdr sh, symsh;
		Elf_Scn *symscn;
		Elf_Data *d, *symd;
		size_t n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !sh.sh_entsize)
			continue;
		symscn = elf_getscn(o->elf, sh.sh_link);
		if (!symscn || !gelf_getshdr(symscn, &symsh) || !(symd = elf_getdata(symscn, NULL)))
			continue;
		d = elf_getdata(scn, NULL);
		n = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; d && i < n; i++) {
			GElf_Rela r;
			GElf_Sym s;
			const char *nm;
			uint64_t t;

			if (!gelf_getrela(d, (int)i, &r))
				break;
			t = GELF_R_TYPE(r.r_info);
			if (t != R_X86_64_JUMP_SLOT && (jump_slot_only || t != R_X86_64_GLOB_DAT))
				continue;
			if (!gelf_getsym(symd, (int)GELF_R_SYM(r.r_info), &s))
				continue;
			nm = elf_strptr(o->elf, symsh.sh_link, s.st_name);
			if (nm && !strcmp(nm, name)) {
				*vaddr = r.r_offset;
				return 0;
			}
		}
	}
	return -ENOENT;
}

int elfobj__got_slot(const struct elfobj *o, const char *name, uint64_t *vaddr)
{
	return reloc_slot(o, name, 0, vaddr);
}

int elfobj__jump_slot(const struct elfobj *o, const char *name, uint64_t *vaddr)
{
	return reloc_slot(o, name, 1, vaddr);
}

int elfobj__plt_sym(const struct elfobj *o, const char *name, uint64_t *vaddr)
{
	Elf_Data *d;
	GElf_Shdr sh;
	size_t n;

	if (!o->dynsym || !gelf_getshdr(o->dynsym, &sh) || !(d = elf_getdata(o->dynsym, NULL)) || !sh.sh_entsize)
		return -ENOENT;
	n = sh.sh_size / sh.sh_entsize;
	for (size_t i = 1; i < n; i++) {
		GElf_Sym s;
		const char *nm;

		if (!gelf_getsym(d, (int)i, &s) || s.st_shndx != SHN_UNDEF || !s.st_value ||
		    GELF_ST_TYPE(s.st_info) != STT_FUNC)
			continue;
		nm = elf_strptr(o->elf, sh.sh_link, s.st_name);
		if (nm && !strcmp(nm, name)) {
			*vaddr = s.st_value;
			return 0;
		}
	}
	return -ENOENT;
}

int elfobj__dynamic(const struct elfobj *o, uint64_t *vaddr, uint64_t *size)
{
	for (size_t i = 0; i < o->nphdr; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(o->elf, (int)i, &ph) && ph.p_type == PT_DYNAMIC) {
			*vaddr = ph.p_vaddr;
			*size = ph.p_memsz;
			return 0;
		}
	}
	return -ENOENT;
}

int elfobj__in_plt(const struct elfobj *o, uint64_t vaddr)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(o->elf, &shstrndx))
		return 0;
	while ((scn = elf_nextscn(o->elf, scn))) {
		GElf_Shdr sh;
		const char *nm;

		if (!gelf_getshdr(scn, &sh) || vaddr < sh.sh_addr || vaddr >= sh.sh_addr + sh.sh_size)
			continue;
		nm = elf_strptr(o->elf, shstrndx, sh.sh_name);
		if (nm && (!strcmp(nm, ".plt") || !strcmp(nm, ".plt.sec") || !strcmp(nm, ".plt.got")))
			return 1;
	}
	return 0;
}

int elfobj__text_range(const struct elfobj *o, uint64_t *lo, uint64_t *hi)
{
	*lo = UINT64_MAX;
	*hi = 0;
	for (size_t i = 0; i < o->nphdr; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(o->elf, (int)i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		if (ph.p_vaddr < *lo)
			*lo = ph.p_vaddr;
		if (ph.p_vaddr + ph.p_memsz > *hi)
			*hi = ph.p_vaddr + ph.p_memsz;
	}
	return *hi ? 0 : -ENOENT;
}

int elfobj__vaddr_to_off(const struct elfobj *o, uint64_t vaddr, uint64_t *off)
{
	for (size_t i = 0; i < o->nphdr; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(o->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz) {
			*off = vaddr - ph.p_vaddr + ph.p_offset;
			return 0;
		}
	}
	return -ERANGE;
}

ssize_t elfobj__read(const struct elfobj *o, uint64_t off, void *buf, size_t len)
{
	ssize_t n = pread(o->fd, buf, len, (off_t)off);

	return n < 0 ? -errno : n;
}
