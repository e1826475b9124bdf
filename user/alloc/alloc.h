/* alloc.h - the allocator backends: one struct per allocator says how to recognise
 * it, which entry points to probe, what it can tell about its memory, and what
 * `compare` can run it as. Everything outside user/alloc/ asks its backend rather
 * than naming an allocator. Adding one: a new file defining its struct fs_allocator,
 * and one line in the registry (alloc.c). May include util/, elf/, the ABI header
 * and user/types.h only. */
#ifndef FS_ALLOC_H
#define FS_ALLOC_H

#include <stddef.h>
#include <stdint.h>
#include "bpf/fragscope.h"	/* enum fs_alloc_id, enum fs_kind */
#include "types.h"		/* struct fs_settings, fs_memory, fs_diagnosis */

struct elfobj;
struct fs_census;

/* One entry point: symbol (without the allocator's prefix), kind, and how many
 * integer arguments the probe reads. */
struct fs_api_fn {
	const char *name;
	unsigned char kind;	/* enum fs_kind */
	unsigned char nargs;
};

/* A table of entry points and whether the allocator's symbol prefix applies. */
enum {
	FS_API_PREFIXED = 1,	/* look the names up with the prefix ("je_malloc") */
	FS_API_UNPREFIXED_ONLY = 2,	/* only when the allocator has no prefix (its C++ operators) */
};

struct fs_api_part {
	const struct fs_api_fn *fns;	/* ends with { 0 } */
	int flags;
};

/* Who released pages faulted back in soon after (a source of enum fs_src), and
 * the remedy of that very mechanism: one line of a diagnosis's churn. */
struct fs_release_text {
	int src;		/* FS_R_* */
	const char *who;	/* NULL ends a table */
	const char *remedy;
	const char *name;	/* the source's name in text for this allocator (NULL: the generic
				 * one; JSON keeps the generic key) */
};

/* A variant `compare` offers: NAME, and the one variable it sets (none: defaults). */
struct fs_alloc_variant {
	const char *name;	/* "glibc-arena2" */
	const char *var;	/* the variable; NULL: the backend's conf_env */
	const char *value;	/* its value, or NULL for none */
	const char *help;	/* one line for --help */
};

struct fs_allocator {
	int id;			/* enum fs_alloc_id: also the BPF side's flavour, which picks
				 * how its releases are recognised (fragscope.bpf.c) */
	const char *name;	/* "glibc": in output, session files and compare's specs */

	/* Identification from an object's symbols: it defines every marker, all with
	 * one of the prefixes (tried in order; "" is none). */
	const char *const *prefixes;
	const char *const *markers;

	/* The probe plan: the tables of its API, in order. refused: not traced, the
	 * reason (printed after "NAME in PATH "). plan_note: a caveat shown with the plan
	 * ("%s": the object's path). */
	const struct fs_api_part *api;
	const char *refused;
	const char *plan_note;

	/* What it can tell about its memory (the waterfall, the diagnosis, snapshot). */
	int libc;		/* the C library's own malloc: identified after the replacements
				 * (which may define its names), compare's variants need no
				 * preload, and a prefixed allocator linked into the executable
				 * lives beside it (both are traced) */
	int heap_walk;		/* heaps at known places (glibc: brk and 64 MiB aligned arena
				 * heaps) whose chunks can be walked from outside: the census,
				 * arenas, chunk headers for the sizes of blocks freed unseen */
	int own_stats;		/* its own statistics, asked of it (jemalloc's mallctl) */
	int usable_sizes;	/* its size classes are modelled: usable bytes are known */
	int brk_heap;		/* grows the brk heap itself (tcmalloc's sbrk): [heap] is its memory
				 * even without a heap walk */

	/* Its part of the diagnosis (model/memmodel.c keeps the generic decision tree and
	 * the texts of an allocator without these). retention: for memory it holds beyond
	 * live (resident, and a quarter or more of it free): sets out->kind, appends its
	 * paragraph and remedy to out->text at *o (alloc__say), the remedy's figure with
	 * alloc__remedy; NULL: the generic sentence. releases: the sources of releases it
	 * produces, with their texts (the program's own and the generic ones are the
	 * model's). unseen_hint: how to see what blocks from before attach hold (the
	 * UNSEEN diagnosis's last sentence). unknown_note, unknown_note_scanned: appended
	 * to what memory of no known owner may be ("%s" of "...as Go's, Java's or
	 * pymalloc's%s"), before and after its own big blocks were looked for at attach
	 * (m->mmapped_scanned). */
	void (*retention)(const struct fs_memory *m, uint64_t peak_live, const struct fs_settings *set,
			  struct fs_diagnosis *out, size_t *o);
	const struct fs_release_text *releases;
	const char *unseen_hint;
	const char *unknown_note, *unknown_note_scanned;
	/* snapshot's (no tracing): census_diagnosis, from a census of its heaps (census.h;
	 * heap_walk backends): its text in buf[len] and its kind (enum fs_diag_kind).
	 * stats_unread: the diagnosis when its own statistics (own_stats) were not read;
	 * NULL: the generic sentence. */
	void (*census_diagnosis)(const struct fs_census *c, char *buf, size_t len, int *kind);
	const char *stats_unread;

	/* Its settings, read from the target's environment (and compare's). conf_env:
	 * the variable that configures it (MALLOC_CONF, GLIBC_TUNABLES); a prefixed
	 * build reads <PREFIX in capitals><conf_env> if conf_env_prefixed. */
	const char *conf_env;
	int conf_env_prefixed;
	/* compare's help for NAME=<name>[:<conf_word>] (the value of conf_env), and an
	 * example of such a spec (NULL: none). */
	const char *conf_word;
	const char *conf_example;
	/* Fills its part of s (its defaults too) from a NUL-separated environment block
	 * of len bytes; NULL if it reads none. */
	void (*settings)(const char *env, size_t len, struct fs_settings *s);
	/* Its settings in one line for text ("TCMALLOC_RELEASE_RATE=1 (default), ...");
	 * NULL: MALLOC_CONF's value. */
	void (*settings_text)(const struct fs_settings *s, char *buf, size_t len);

	/* compare: the library LD_PRELOAD substitutes it with (a soname found in the
	 * ldconfig cache), NULL if it is the C library's own; the named variants. */
	const char *preload_soname;
	const char *preload_package;	/* the Debian package that has it */
	const struct fs_alloc_variant *variants;	/* ends with { 0 }; compare's default runs
							 * them all, in the registry's order */
};

/* The C API every malloc replacement exports, and C++'s operators. */
extern const struct fs_api_fn fs_c_api[];
extern const struct fs_api_fn fs_cxx_api[];

/* The backends (NULL-terminated, in enum order), and the fallback for an allocator
 * none recognises (its standard entry points only). */
extern const struct fs_allocator *const fs_allocators[];
extern const struct fs_allocator fs_alloc_unknown;

/* The value of key in a NUL-separated environment block of len bytes, copied into
 * out (never reads past len): 1, or 0 if it is not there. */
int alloc__env_val(const char *env, size_t len, const char *key, char *out, size_t outlen);

/* Appends to d->text at offset *o and advances *o by what it would write (past
 * the end when the text is full: nothing more is written then). */
void alloc__say(struct fs_diagnosis *d, size_t *o, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The diagnosis's main remedy, its expected figure (-1 unknown) and what backs it. */
void alloc__remedy(struct fs_diagnosis *d, const char *what, int64_t expect, const char *evidence);
/* v as "35.2 MiB" for one message: a ring of buffers, so several fit in one call. */
const char *alloc__bytes(uint64_t v);

/* The backend's own name for a release source (enum fs_src) in text, or NULL. */
const char *alloc__src_name(const struct fs_allocator *a, int src);
/* Every variable of env (len bytes, NUL-separated) whose name starts with prefix, as
 * "NAME=VALUE ..." in out[outlen]: how many. */
int alloc__env_prefixed(const char *env, size_t len, const char *prefix, char *out, size_t outlen);

/* By id or name; the unknown backend for anything else (never NULL). */
const struct fs_allocator *alloc__by_id(int id);
const struct fs_allocator *alloc__by_name(const char *name);
/* Which allocator an object is, from its symbols: its backend (the unknown one if
 * none matches) and its prefix in prefix[len]. Replacements are tried before the C
 * library's own malloc (a replacement may define its names too: __libc_malloc). */
const struct fs_allocator *alloc__identify(const struct elfobj *o, char *prefix, size_t len);

#endif
