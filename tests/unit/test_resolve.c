/* test_resolve.c - allocator detection, the dynamic linker's search order done
 * statically, and the probe plans, on the fixtures (make fixtures) and this
 * machine's glibc and jemalloc. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "elf/elfobj.h"
#include "elf/insn.h"
#include "plan/resolve.h"
#include "test.h"

#define LIBJE "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"

static char *no_env[] = { NULL };

static const struct fs_probe *probe(const struct fs_plan *p, const char *name)
{
	for (int i = 0; i < p->nprobes; i++)
		if (!strcmp(p->probes[i].name, name))
			return &p->probes[i];
	return NULL;
}

/* A probe named name, of kind kind, in a file whose path ends with file. */
static bool has_probe(const struct fs_plan *p, const char *name, uint32_t kind, const char *file)
{
	const struct fs_probe *pr = probe(p, name);

	if (!ASSERT_OK_PTR(pr, name))
		return false;
	return ASSERT_EQ(pr->kind, kind, name) && ASSERT_ENDS_WITH(pr->path, file, name);
}

/* Each function is attached once: aliases share a probe. */
static bool unique_probes(const struct fs_plan *p)
{
	for (int i = 0; i < p->nprobes; i++)
		for (int k = i + 1; k < p->nprobes; k++)
			if (p->probes[i].vaddr == p->probes[k].vaddr && !strcmp(p->probes[i].path, p->probes[k].path))
				return unit__fail(__FILE__, __LINE__, "no two probes on one function",
						  "%s and %s at 0x%llx", p->probes[i].name, p->probes[k].name,
						  (unsigned long long)p->probes[i].vaddr);
	return true;
}

static bool has_note(const struct fs_plan *p, const char *text)
{
	for (int i = 0; i < p->nnotes; i++)
		if (strstr(p->notes[i], text))
			return true;
	return unit__fail(__FILE__, __LINE__, "note", "no note contains \"%s\" (%d notes)", text, p->nnotes);
}

/* The placement the resolver chose is the placer's answer on the file's bytes. */
static bool placed_from_file(const struct fs_probe *pr, int nargs)
{
	struct elfobj *o = elfobj__open(pr->path);
	struct insn_place want;
	struct elfsym s;
	uint8_t code[4096];
	uint64_t off;
	ssize_t n;
	bool ok = false;

	if (!ASSERT_OK_PTR(o, pr->path))
		return false;
	if (!ASSERT_OK(elfobj__sym(o, pr->name, &s), pr->name) ||
	    !ASSERT_OK(elfobj__vaddr_to_off(o, s.vaddr, &off), pr->name) ||
	    !ASSERT_EQ(pr->vaddr, s.vaddr, "probe vaddr") || !ASSERT_EQ(pr->sym_off, off, "probe file offset"))
		goto cleanup;
	n = elfobj__read(o, off, code, s.size < sizeof(code) ? s.size : sizeof(code));
	if (!ASSERT_TRUE(n > 0, "read function"))
		goto cleanup;
	insn__place(code, (size_t)n, nargs, &want);
	ok = ASSERT_EQ(pr->place, want.offset, pr->name) && ASSERT_EQ(pr->emulated, want.emulated, pr->name) &&
	     ASSERT_STREQ(pr->why, want.why, pr->name);
cleanup:
	elfobj__free(o);
	return ok;
}

static struct fs_plan *plan_new(void)
{
	struct fs_plan *p = calloc(1, sizeof(*p));

	ASSERT_OK_PTR(p, "calloc plan");
	return p;
}

TEST(resolve_alloc_name)
{
	ASSERT_STREQ(resolve__alloc_name(FS_ALLOC_GLIBC), "glibc", "glibc");
	ASSERT_STREQ(resolve__alloc_name(FS_ALLOC_JEMALLOC), "jemalloc", "jemalloc");
	ASSERT_STREQ(resolve__alloc_name(FS_ALLOC_TCMALLOC), "tcmalloc", "tcmalloc");
	ASSERT_STREQ(resolve__alloc_name(FS_ALLOC_MIMALLOC), "mimalloc", "mimalloc");
	ASSERT_STREQ(resolve__alloc_name(FS_ALLOC_UNKNOWN), "unknown", "unknown");
	ASSERT_STREQ(resolve__alloc_name(99), "unknown", "out of range");
}

TEST(resolve_identify)
{
	struct fs_plan *p = plan_new();

	if (!p)
		return;
	if (ASSERT_OK(resolve__identify(p, "/lib/x86_64-linux-gnu/libc.so.6"), "libc"))
		ASSERT_EQ(p->alloc, FS_ALLOC_GLIBC, "libc is glibc");
	if (ASSERT_OK(resolve__identify(p, LIBJE), "libjemalloc")) {
		ASSERT_EQ(p->alloc, FS_ALLOC_JEMALLOC, "libjemalloc is jemalloc");
		ASSERT_STREQ(p->alloc_name, "jemalloc", "name");
		ASSERT_STREQ(p->prefix, "", "no prefix");
	}
	if (ASSERT_OK(resolve__identify(p, FIXTURES "/static-je-prefix"), "static-je-prefix")) {
		ASSERT_EQ(p->alloc, FS_ALLOC_JEMALLOC, "je_ functions are jemalloc");
		ASSERT_STREQ(p->prefix, "je_", "prefix");
	}
	if (ASSERT_OK(resolve__identify(p, FIXTURES "/libfakemalloc.so"), "libfakemalloc")) {
		ASSERT_EQ(p->alloc, FS_ALLOC_UNKNOWN, "fake is unknown");
		ASSERT_STREQ(p->alloc_name, "unknown", "name");
		ASSERT_STREQ(p->prefix, "", "prefix reset");
	}
	ASSERT_EQ(resolve__identify(p, FIXTURES "/no-such-file"), -ENOENT, "missing file");
	free(p);
}

/* The memory-syscall wrappers: all six, in libc (or the static executable), each
 * probe placed on the file's bytes, kind = its enum fs_sys. */
static void syscall_wrappers(const struct fs_plan *p, const char *libc)
{
	static const char *const names[FS_S__COUNT][3] = {
		[FS_S_MMAP] = { "__mmap", "mmap64", "mmap" }, [FS_S_MUNMAP] = { "__munmap", "munmap" },
		[FS_S_MREMAP] = { "__mremap", "mremap" }, [FS_S_BRK] = { "__brk", "brk" },
		[FS_S_MADVISE] = { "__madvise", "madvise" }, [FS_S_MPROTECT] = { "__mprotect", "mprotect" },
	};
	/* the arguments the programs read: mmap's flags are its 4th */
	static const int nargs[FS_S__COUNT] = { [FS_S_MMAP] = 4, [FS_S_MUNMAP] = 2, [FS_S_MREMAP] = 3,
						[FS_S_BRK] = 1, [FS_S_MADVISE] = 3, [FS_S_MPROTECT] = 3 };

	if (!ASSERT_EQ(p->nsys, FS_S__COUNT, p->sys_why))
		return;
	for (int i = 0; i < FS_S__COUNT; i++) {
		const struct fs_probe *w = &p->sys[i];
		int known = 0;

		ASSERT_EQ(w->kind, (uint32_t)i, "wrapper kind is its syscall");
		ASSERT_STREQ(w->path, libc, "wrapper in libc");
		for (int k = 0; k < 3; k++)
			known |= names[i][k] && !strcmp(w->name, names[i][k]);
		ASSERT_TRUE(known, w->name);
		placed_from_file(w, nargs[i]);
	}
}

TEST(resolve_cmd_glibc)
{
	static const struct { const char *name; uint32_t kind; int nargs; } fns[] = {
		{ "malloc", FS_K_MALLOC, 1 }, { "free", FS_K_FREE, 1 }, { "calloc", FS_K_CALLOC, 2 },
		{ "realloc", FS_K_REALLOC, 2 }, { "reallocarray", FS_K_REALLOCARRAY, 3 },
		{ "posix_memalign", FS_K_POSIX_MEMALIGN, 3 }, { "aligned_alloc", FS_K_MEMALIGN, 2 },
		{ "valloc", FS_K_MALLOC, 1 }, { "pvalloc", FS_K_MALLOC, 1 }, { "malloc_trim", FS_K_TRIM, 1 },
	};
	struct fs_plan *p = plan_new();
	char err[256] = "";

	if (!p)
		return;
	if (!ASSERT_OK(resolve__cmd(NULL, FIXTURES "/dyn", no_env, p, err, sizeof(err)), err))
		goto cleanup;
	ASSERT_EQ(p->alloc, FS_ALLOC_GLIBC, "alloc");
	ASSERT_STREQ(p->alloc_name, "glibc", "alloc_name");
	ASSERT_ENDS_WITH(p->object, "/libc.so.6", "object");
	ASSERT_STREQ(p->prefix, "", "prefix");
	ASSERT_HAS_STR(p->how, "search order", "how");
	ASSERT_EQ(p->nprobes, 10, "ten entry points (cfree and memalign are aliases; malloc_trim included)");
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
		if (has_probe(p, fns[i].name, fns[i].kind, "/libc.so.6")) {
			ASSERT_STREQ(probe(p, fns[i].name)->path, p->object, "probes in the object");
			placed_from_file(probe(p, fns[i].name), fns[i].nargs);
		}
	if (ASSERT_OK_PTR(probe(p, "aligned_alloc"), "aligned_alloc"))
		ASSERT_STREQ(probe(p, "aligned_alloc")->aliases, "memalign", "aligned_alloc alias");
	if (ASSERT_OK_PTR(probe(p, "free"), "free"))
		ASSERT_STREQ(probe(p, "free")->aliases, "cfree", "free alias");
	if (ASSERT_OK_PTR(probe(p, "malloc"), "malloc"))
		ASSERT_STREQ(probe(p, "malloc")->aliases, "", "malloc has no alias");
	ASSERT_NULL(probe(p, "memalign"), "no separate memalign probe");
	ASSERT_NULL(probe(p, "cfree"), "no separate cfree probe");
	unique_probes(p);
	ASSERT_EQ(p->nnotes, 0, "no notes");
	syscall_wrappers(p, p->object);
cleanup:
	free(p);
}

TEST(resolve_cmd_jemalloc)
{
	struct fs_plan *p = plan_new();
	char err[256] = "";

	if (!p)
		return;
	if (!ASSERT_OK(resolve__cmd(NULL, FIXTURES "/dyn-je", no_env, p, err, sizeof(err)), err))
		goto cleanup;
	ASSERT_EQ(p->alloc, FS_ALLOC_JEMALLOC, "alloc");
	ASSERT_STREQ(p->alloc_name, "jemalloc", "alloc_name");
	ASSERT_ENDS_WITH(p->object, "/libjemalloc.so.2", "object");
	ASSERT_STREQ(p->prefix, "", "prefix");
	has_probe(p, "malloc", FS_K_MALLOC, "/libjemalloc.so.2");
	has_probe(p, "free", FS_K_FREE, "/libjemalloc.so.2");
	has_probe(p, "calloc", FS_K_CALLOC, "/libjemalloc.so.2");
	has_probe(p, "realloc", FS_K_REALLOC, "/libjemalloc.so.2");
	has_probe(p, "mallocx", FS_K_MALLOC, "/libjemalloc.so.2");
	has_probe(p, "rallocx", FS_K_REALLOC, "/libjemalloc.so.2");
	has_probe(p, "xallocx", FS_K_XALLOCX, "/libjemalloc.so.2");
	has_probe(p, "dallocx", FS_K_FREE, "/libjemalloc.so.2");
	has_probe(p, "sdallocx", FS_K_FREE, "/libjemalloc.so.2");
	has_probe(p, "_Znwm", FS_K_MALLOC, "/libjemalloc.so.2");
	has_probe(p, "_ZdlPvm", FS_K_FREE, "/libjemalloc.so.2");
	if (has_probe(p, "rallocx", FS_K_REALLOC, "/libjemalloc.so.2"))
		placed_from_file(probe(p, "rallocx"), 2);
	if (has_probe(p, "malloc", FS_K_MALLOC, "/libjemalloc.so.2"))
		placed_from_file(probe(p, "malloc"), 1);
	for (int i = 0; i < p->nprobes; i++)
		if (!ASSERT_STREQ(p->probes[i].path, p->object, p->probes[i].name))
			break;
	ASSERT_NULL(probe(p, "reallocarray"), "glibc-only entry points are not in jemalloc's plan");
	unique_probes(p);
cleanup:
	free(p);
}

TEST(resolve_cmd_preload)
{
	char *abs_env[] = { "HOME=/root", "LD_PRELOAD=" LIBJE, NULL };
	char *name_env[] = { "LD_PRELOAD=/no/such/libx.so libjemalloc.so.2", NULL };
	char *fake_env[] = { "LD_PRELOAD=" LIBJE, NULL };
	struct fs_plan *p = plan_new();
	char err[256] = "";

	if (!p)
		return;
	if (ASSERT_OK(resolve__cmd(NULL, FIXTURES "/dyn", abs_env, p, err, sizeof(err)), err)) {
		ASSERT_STREQ(p->alloc_name, "jemalloc", "preloaded by path");
		ASSERT_STREQ(p->object, LIBJE, "object is the preload");
	}
	if (ASSERT_OK(resolve__cmd(NULL, FIXTURES "/dyn", name_env, p, err, sizeof(err)), err)) {
		ASSERT_STREQ(p->alloc_name, "jemalloc", "preloaded by name, after a missing one");
		ASSERT_ENDS_WITH(p->object, "/libjemalloc.so.2", "object");
	}
	if (ASSERT_OK(resolve__cmd(NULL, FIXTURES "/dyn-fake", fake_env, p, err, sizeof(err)), err))
		ASSERT_STREQ(p->alloc_name, "jemalloc", "a preload comes before DT_NEEDED");
	free(p);
}

TEST(resolve_cmd_unknown_allocator)
{
	struct fs_plan *p = plan_new();
	char err[256] = "";

	if (!p)
		return;
	if (!ASSERT_OK(resolve__cmd(NULL, FIXTURES "/dyn-fake", no_env, p, err, sizeof(err)), err))
		goto cleanup;
	ASSERT_EQ(p->alloc, FS_ALLOC_UNKNOWN, "alloc");
	ASSERT_STREQ(p->alloc_name, "unknown", "alloc_name");
	ASSERT_STREQ(p->object, FIXTURES "/libfakemalloc.so", "found through RUNPATH $ORIGIN");
	ASSERT_EQ(p->nprobes, 4, "malloc, free, calloc, realloc");
	has_probe(p, "malloc", FS_K_MALLOC, "/libfakemalloc.so");
	has_probe(p, "free", FS_K_FREE, "/libfakemalloc.so");
	has_probe(p, "calloc", FS_K_CALLOC, "/libfakemalloc.so");
	has_probe(p, "realloc", FS_K_REALLOC, "/libfakemalloc.so");
	has_note(p, "unknown allocator");
cleanup:
	free(p);
}

/* LD_LIBRARY_PATH comes before the default directories; files that are not
 * ELF are passed over as ld.so does. */
TEST(resolve_cmd_ld_library_path)
{
	char dir[] = "/tmp/fragscope-unit-XXXXXX", bogus[64], lib[64], env_ldlp[160];
	char *env[] = { env_ldlp, NULL };
	struct fs_plan *p = plan_new();
	char err[256] = "";
	FILE *f;

	if (!p || !ASSERT_OK_PTR(mkdtemp(dir), "mkdtemp"))
		goto cleanup;
	snprintf(bogus, sizeof(bogus), "%s/bogus", dir);
	snprintf(lib, sizeof(lib), "%s/bogus/libjemalloc.so.2", dir);
	snprintf(env_ldlp, sizeof(env_ldlp), "LD_LIBRARY_PATH=%s:%s", bogus, dir);
	if (!ASSERT_OK(mkdir(bogus, 0700), "mkdir") || !ASSERT_OK_PTR(f = fopen(lib, "w"), lib))
		goto cleanup;
	fputs("not a library\n", f);
	fclose(f);
	snprintf(lib, sizeof(lib), "%s/libjemalloc.so.2", dir);
	if (!ASSERT_OK(symlink(FIXTURES "/libfakemalloc.so", lib), "symlink"))
		goto cleanup;
	if (ASSERT_OK(resolve__cmd(NULL, FIXTURES "/dyn-je", env, p, err, sizeof(err)), err)) {
		ASSERT_STREQ(p->object, lib, "the library in LD_LIBRARY_PATH");
		ASSERT_STREQ(p->alloc_name, "unknown", "which is the fake");
	}
cleanup:
	if (p && dir[strlen(dir) - 1] != 'X') {
		unlink(lib);
		snprintf(lib, sizeof(lib), "%s/bogus/libjemalloc.so.2", dir);
		unlink(lib);
		rmdir(bogus);
		rmdir(dir);
	}
	free(p);
}

TEST(resolve_cmd_static)
{
	struct fs_plan *p = plan_new();
	char err[256] = "";

	if (!p)
		return;
	if (ASSERT_OK(resolve__cmd(NULL, FIXTURES "/static", no_env, p, err, sizeof(err)), err)) {
		ASSERT_EQ(p->alloc, FS_ALLOC_GLIBC, "alloc");
		ASSERT_STREQ(p->object, FIXTURES "/static", "object is the executable");
		ASSERT_STREQ(p->how, "statically linked executable", "how");
		has_probe(p, "malloc", FS_K_MALLOC, "/static");
		has_probe(p, "free", FS_K_FREE, "/static");
		if (ASSERT_OK_PTR(probe(p, "aligned_alloc"), "aligned_alloc"))
			ASSERT_STREQ(probe(p, "aligned_alloc")->aliases, "memalign", "alias");
		unique_probes(p);
		syscall_wrappers(p, FIXTURES "/static");
	}
	memset(err, 0, sizeof(err));
	ASSERT_EQ(resolve__cmd(NULL, FIXTURES "/static-stripped", no_env, p, err, sizeof(err)), -ENOENT,
		  "stripped static executable");
	ASSERT_HAS_STR(err, "static", "error says why");
	ASSERT_HAS_STR(err, FIXTURES "/static-stripped", "error names the file");
	free(p);
}

TEST(resolve_cmd_prefixed_jemalloc)
{
	struct fs_plan *p = plan_new();
	const struct fs_probe *m;
	char err[256] = "";

	if (!p)
		return;
	if (!ASSERT_OK(resolve__cmd(NULL, FIXTURES "/static-je-prefix", no_env, p, err, sizeof(err)), err))
		goto cleanup;
	ASSERT_EQ(p->alloc, FS_ALLOC_JEMALLOC, "alloc");
	ASSERT_STREQ(p->alloc_name, "jemalloc", "alloc_name");
	ASSERT_STREQ(p->prefix, "je_", "prefix");
	ASSERT_STREQ(p->object, FIXTURES "/static-je-prefix", "object is the executable");
	has_probe(p, "je_malloc", FS_K_MALLOC, "/static-je-prefix");
	has_probe(p, "je_free", FS_K_FREE, "/static-je-prefix");
	has_probe(p, "je_calloc", FS_K_CALLOC, "/static-je-prefix");
	has_probe(p, "je_realloc", FS_K_REALLOC, "/static-je-prefix");
	ASSERT_NULL(probe(p, "je_mallctl"), "mallctl is no entry point");
	m = probe(p, "malloc");
	if (ASSERT_OK_PTR(m, "glibc's malloc traced too"))
		ASSERT_ENDS_WITH(m->path, "/libc.so.6", "glibc's malloc in libc");
	has_probe(p, "free", FS_K_FREE, "/libc.so.6");
	ASSERT_EQ(p->nprobes, 4 + 10, "four je_ functions and glibc's ten");
	has_note(p, "glibc's malloc");
	unique_probes(p);
cleanup:
	free(p);
}

TEST(resolve_cmd_tcmalloc)
{
	struct fs_plan *p = plan_new();
	char err[256] = "";

	if (!p)
		return;
	ASSERT_EQ(resolve__cmd(NULL, FIXTURES "/dyn-tc", no_env, p, err, sizeof(err)), 0, "tcmalloc is traced");
	ASSERT_EQ(p->alloc, FS_ALLOC_TCMALLOC, "identified as tcmalloc");
	has_probe(p, "malloc", FS_K_MALLOC, "/libfaketcmalloc.so");
	has_probe(p, "free", FS_K_FREE, "/libfaketcmalloc.so");
	has_probe(p, "tc_malloc", FS_K_MALLOC, "/libfaketcmalloc.so");
	unique_probes(p);
	free(p);
}

/* An allocator fragscope knows it cannot count right keeps a clear refusal. */
TEST(resolve_cmd_hoard_refused)
{
	struct fs_plan *p = plan_new();
	char err[256] = "";

	if (!p)
		return;
	ASSERT_EQ(resolve__cmd(NULL, FIXTURES "/dyn-hoard", no_env, p, err, sizeof(err)), -ENOTSUP,
		  "Hoard is not traced");
	ASSERT_HAS_STR(err, "hoard in " FIXTURES "/libfakehoard.so is not traced", "error says why");
	ASSERT_EQ(p->alloc, FS_ALLOC_HOARD, "identified as Hoard");
	free(p);
}

TEST(resolve_cmd_errors)
{
	char path[] = "/tmp/fragscope-unit-XXXXXX";
	struct fs_plan *p = plan_new();
	char err[256] = "";
	int fd = mkstemp(path);

	if (!p || !ASSERT_TRUE(fd >= 0, "mkstemp"))
		goto cleanup;
	ASSERT_EQ(write(fd, "#!/bin/sh\n", 10), 10, "write");
	close(fd);
	ASSERT_EQ(resolve__cmd(NULL, path, no_env, p, err, sizeof(err)), -ENOEXEC, "a script");
	ASSERT_HAS_STR(err, "not an x86-64 ELF executable", "error says why");
	ASSERT_EQ(resolve__cmd(NULL, FIXTURES "/no-such-file", no_env, p, err, sizeof(err)), -ENOENT, "missing");
	ASSERT_HAS_STR(err, "No such file or directory", "error says why");
	memset(p, 0, sizeof(*p));
	ASSERT_EQ(resolve__plan_probes(p, FIXTURES "/dyn", err, sizeof(err)), -ENOENT,
		  "planning an object that defines no malloc");
	ASSERT_HAS_STR(err, "defines no malloc/free", "error says why");
cleanup:
	if (fd >= 0)
		unlink(path);
	free(p);
}

/* ---- non-PIE executables: malloc's canonical address is the executable's PLT entry ---- */

/* The non-PIE fixture takes malloc's address: its .dynsym holds malloc undefined
 * but with a value (its PLT entry), which is no definition of malloc. */
TEST(elfobj_canonical_plt)
{
	struct elfobj *o = elfobj__open(FIXTURES "/nopie"), *pie = elfobj__open(FIXTURES "/dyn");
	uint64_t canon = 0, slot = 0, any = 0, lo, hi;
	struct elfsym s;

	if (!ASSERT_OK_PTR(o, "open nopie") || !ASSERT_OK_PTR(pie, "open dyn"))
		goto cleanup;
	ASSERT_FALSE(elfobj__is_dyn(o), "nopie is ET_EXEC");
	ASSERT_EQ(elfobj__sym(o, "malloc", &s), -ENOENT, "an undefined malloc is no definition");
	if (ASSERT_OK(elfobj__plt_sym(o, "malloc", &canon), "malloc has a canonical address")) {
		ASSERT_TRUE(elfobj__in_plt(o, canon), "the canonical address is in the PLT");
		ASSERT_OK(elfobj__text_range(o, &lo, &hi), "text");
		ASSERT_TRUE(canon >= lo && canon < hi, "and in the code");
	}
	ASSERT_EQ(elfobj__plt_sym(o, "free", &any), -ENOENT, "free's address is not taken");
	if (ASSERT_OK(elfobj__jump_slot(o, "malloc", &slot), "malloc's JUMP_SLOT"))
		ASSERT_FALSE(elfobj__in_plt(o, slot), "the slot is data, not PLT");
	ASSERT_OK(elfobj__got_slot(o, "malloc", &any), "got_slot finds it too");
	ASSERT_EQ(any, slot, "the same slot");
	ASSERT_EQ(elfobj__plt_sym(pie, "malloc", &any), -ENOENT, "a PIE has no canonical PLT entry");
	ASSERT_OK(elfobj__dynamic(o, &any, &lo), "PT_DYNAMIC");
	ASSERT_TRUE(lo > 0 && lo % 16 == 0, "dynamic entries are 16 bytes");
cleanup:
	elfobj__free(o);
	elfobj__free(pie);
}

/* Started from the file: the executable's undefined-with-value malloc is not taken
 * as its definition, libc is. */
TEST(resolve_cmd_nopie)
{
	struct fs_plan *p = plan_new();
	char err[256] = "";

	if (!p)
		return;
	if (!ASSERT_OK(resolve__cmd(NULL, FIXTURES "/nopie", no_env, p, err, sizeof(err)), err))
		goto cleanup;
	ASSERT_EQ(p->alloc, FS_ALLOC_GLIBC, "alloc");
	ASSERT_ENDS_WITH(p->object, "/libc.so.6", "object");
	if (has_probe(p, "malloc", FS_K_MALLOC, "/libc.so.6"))
		placed_from_file(probe(p, "malloc"), 1);
	has_probe(p, "free", FS_K_FREE, "/libc.so.6");
	unique_probes(p);
cleanup:
	free(p);
}

/* Runs the fixture with "wait" (env: extra environment entry or NULL); *in is its
 * stdin (closing it ends the fixture). The pid, or -1. */
static pid_t start_nopie(const char *env, int *in)
{
	int to[2], from[2];
	char buf[8] = "";
	pid_t pid;

	if (pipe2(to, O_CLOEXEC) || pipe2(from, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		char *argv[] = { FIXTURES "/nopie", "wait", NULL };

		dup2(to[0], 0);
		dup2(from[1], 1);
		if (env)
			putenv((char *)env);
		execv(argv[0], argv);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	/* bounded: the fixture answers at once, or dies and the pipe closes */
	if (pid < 0 || read(from[0], buf, 6) != 6 || strncmp(buf, "ready\n", 6)) {
		close(from[0]);
		close(to[1]);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		return -1;
	}
	close(from[0]);
	*in = to[1];
	return pid;
}

static void stop_nopie(pid_t pid, int in)
{
	int status = -1;

	close(in);
	waitpid(pid, &status, 0);
	ASSERT_EQ(status, 0, "fixture exited cleanly");
}

/* Attached to the running fixture: libc's GOT slot for malloc points at the
 * executable's PLT entry; the resolver looks through it to libc's malloc, through
 * the executable's own GOT slot when bound, through the link map when not
 * (LD_BIND_NOT=1 keeps it unbound). */
static void nopie_pid_case(const char *env, const char *want_how)
{
	struct fs_plan *p = plan_new();
	char err[256] = "", want[64];
	pid_t pid;
	int in = -1;

	if (!p)
		return;
	pid = start_nopie(env, &in);
	if (!ASSERT_TRUE(pid > 0, "start the nopie fixture"))
		goto cleanup;
	if (ASSERT_OK(resolve__pid(pid, p, err, sizeof(err)), err)) {
		ASSERT_EQ(p->alloc, FS_ALLOC_GLIBC, "alloc");
		ASSERT_ENDS_WITH(p->object, "/libc.so.6", "object");
		ASSERT_HAS_STR(p->how, "points at the executable's PLT entry", "how");
		ASSERT_HAS_STR(p->how, want_how, "how");
		snprintf(want, sizeof(want), "/proc/%d/root", pid);
		if (has_probe(p, "malloc", FS_K_MALLOC, "/libc.so.6")) {
			ASSERT_TRUE(!strncmp(probe(p, "malloc")->path, want, strlen(want)), "opened through the target's root");
			placed_from_file(probe(p, "malloc"), 1);
		}
		has_probe(p, "free", FS_K_FREE, "/libc.so.6");
		ASSERT_EQ(p->nprobes, 10, "glibc's ten entry points");
		ASSERT_EQ(p->nsys, FS_S__COUNT, "memory-syscall wrappers");
	}
	stop_nopie(pid, in);
cleanup:
	free(p);
}

TEST(resolve_pid_nopie_bound)
{
	nopie_pid_case(NULL, "looked through it to 0x");
}

TEST(resolve_pid_nopie_unbound)
{
	nopie_pid_case("LD_BIND_NOT=1", "not yet bound: looked through it to the first object defining malloc");
}
