/* alloc.c - the registry of allocator backends, identification from an object's
 * symbols, the API tables every allocator shares, and the helpers the backends
 * write their part of a diagnosis with. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "elf/elfobj.h"
#include "util/fmt.h"
#include "alloc/alloc.h"

extern const struct fs_allocator fs_alloc_glibc, fs_alloc_jemalloc, fs_alloc_tcmalloc, fs_alloc_mimalloc,
	fs_alloc_hoard;

/* One line per backend, in enum order (compare's default variants follow it). */
const struct fs_allocator *const fs_allocators[] = {
	&fs_alloc_glibc,
	&fs_alloc_jemalloc,
	&fs_alloc_tcmalloc,
	&fs_alloc_mimalloc,
	&fs_alloc_hoard,
	NULL,
};

const struct fs_api_fn fs_c_api[] = {
	{ "malloc", FS_K_MALLOC, 1 }, { "free", FS_K_FREE, 1 },
	{ "calloc", FS_K_CALLOC, 2 }, { "realloc", FS_K_REALLOC, 2 },
	{ "posix_memalign", FS_K_POSIX_MEMALIGN, 3 }, { "aligned_alloc", FS_K_MEMALIGN, 2 },
	{ "memalign", FS_K_MEMALIGN, 2 }, { "valloc", FS_K_MALLOC, 1 },
	{ 0 },
};

/* C++ operators an allocator may export. jemalloc's never reach its malloc/free. */
const struct fs_api_fn fs_cxx_api[] = {
	{ "_Znwm", FS_K_MALLOC, 1 }, { "_Znam", FS_K_MALLOC, 1 },
	{ "_ZnwmRKSt9nothrow_t", FS_K_MALLOC, 1 }, { "_ZnamRKSt9nothrow_t", FS_K_MALLOC, 1 },
	{ "_ZnwmSt11align_val_t", FS_K_MALLOC, 1 }, { "_ZnamSt11align_val_t", FS_K_MALLOC, 1 },
	{ "_ZnwmSt11align_val_tRKSt9nothrow_t", FS_K_MALLOC, 1 },
	{ "_ZnamSt11align_val_tRKSt9nothrow_t", FS_K_MALLOC, 1 },
	{ "_ZdlPv", FS_K_FREE, 1 }, { "_ZdaPv", FS_K_FREE, 1 },
	{ "_ZdlPvRKSt9nothrow_t", FS_K_FREE, 1 }, { "_ZdaPvRKSt9nothrow_t", FS_K_FREE, 1 },
	{ "_ZdlPvm", FS_K_FREE, 1 }, { "_ZdaPvm", FS_K_FREE, 1 },
	{ "_ZdlPvSt11align_val_t", FS_K_FREE, 1 }, { "_ZdaPvSt11align_val_t", FS_K_FREE, 1 },
	{ "_ZdlPvSt11align_val_tRKSt9nothrow_t", FS_K_FREE, 1 },
	{ "_ZdaPvSt11align_val_tRKSt9nothrow_t", FS_K_FREE, 1 },
	{ "_ZdlPvmSt11align_val_t", FS_K_FREE, 1 }, { "_ZdaPvmSt11align_val_t", FS_K_FREE, 1 },
	{ 0 },
};

static const struct fs_api_part unknown_api[] = {
	{ fs_c_api, 0 },
	{ fs_cxx_api, 0 },
	{ 0 },
};

static const char *const no_prefix[] = { "", NULL };
static const char *const no_markers[] = { NULL };
static const struct fs_alloc_variant no_variants[] = { { 0 } };

/* Not one of the registry's: what an object none of them recognises gets. */
const struct fs_allocator fs_alloc_unknown = {
	.id = FS_ALLOC_UNKNOWN,
	.name = "unknown",
	.prefixes = no_prefix,
	.markers = no_markers,
	.api = unknown_api,
	.plan_note = "unknown allocator in %s: only its standard entry points are traced",
	.variants = no_variants,
};

int alloc__env_val(const char *env, size_t len, const char *key, char *out, size_t outlen)
{
	size_t k = strlen(key);

	for (size_t i = 0; i < len;) {
		size_t n = strnlen(env + i, len - i);

		if (n > k && !strncmp(env + i, key, k) && env[i + k] == '=') {
			snprintf(out, outlen, "%.*s", (int)(n - k - 1), env + i + k + 1);
			return 1;
		}
		i += n + 1;
	}
	return 0;
}

void alloc__say(struct fs_diagnosis *d, size_t *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = *o < sizeof(d->text) ? vsnprintf(d->text + *o, sizeof(d->text) - *o, fmt, ap) : vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	*o += (size_t)n;
}

void alloc__remedy(struct fs_diagnosis *d, const char *what, int64_t expect, const char *evidence)
{
	snprintf(d->remedy, sizeof(d->remedy), "%s", what);
	d->expect = expect;
	snprintf(d->evidence, sizeof(d->evidence), "%s", evidence);
}

const char *alloc__bytes(uint64_t v)
{
	static char ring[8][32];
	static unsigned next;

	return fmt__bytes(v, ring[next++ % 8], sizeof(ring[0]));
}

const char *alloc__src_name(const struct fs_allocator *a, int src)
{
	for (const struct fs_release_text *r = a ? a->releases : NULL; r && r->who; r++)
		if (r->src == src)
			return r->name;
	return NULL;
}

int alloc__env_prefixed(const char *env, size_t len, const char *prefix, char *out, size_t outlen)
{
	size_t k = strlen(prefix), o = 0;
	int n = 0;

	if (outlen)
		out[0] = 0;
	for (size_t i = 0; i < len;) {
		size_t l = strnlen(env + i, len - i);

		if (l > k && !strncmp(env + i, prefix, k) && memchr(env + i, '=', l)) {
			if (o < outlen)
				o += (size_t)snprintf(out + o, outlen - o, "%s%.*s", n ? " " : "", (int)l, env + i);
			n++;
		}
		i += l + 1;
	}
	return n;
}

const struct fs_allocator *alloc__by_id(int id)
{
	for (int i = 0; fs_allocators[i]; i++)
		if (fs_allocators[i]->id == id)
			return fs_allocators[i];
	return &fs_alloc_unknown;
}

const struct fs_allocator *alloc__by_name(const char *name)
{
	for (int i = 0; name && fs_allocators[i]; i++)
		if (!strcmp(fs_allocators[i]->name, name))
			return fs_allocators[i];
	return &fs_alloc_unknown;
}

static int has_fn(const struct elfobj *o, const char *prefix, const char *name)
{
	struct elfsym s;
	char full[128];

	snprintf(full, sizeof(full), "%s%s", prefix, name);
	return elfobj__sym(o, full, &s) == 0;
}

static int defines_all(const struct elfobj *o, const char *prefix, const char *const *markers)
{
	for (int i = 0; markers[i]; i++)
		if (!has_fn(o, prefix, markers[i]))
			return 0;
	return markers[0] != NULL;
}

static int identifies(const struct fs_allocator *a, const struct elfobj *o, char *prefix, size_t len)
{
	for (int k = 0; a->prefixes[k]; k++) {
		if (defines_all(o, a->prefixes[k], a->markers)) {
			snprintf(prefix, len, "%s", a->prefixes[k]);
			return 1;
		}
	}
	return 0;
}

const struct fs_allocator *alloc__identify(const struct elfobj *o, char *prefix, size_t len)
{
	if (len)
		prefix[0] = 0;
	for (int i = 0; fs_allocators[i]; i++)	/* the replacements */
		if (!fs_allocators[i]->libc && identifies(fs_allocators[i], o, prefix, len))
			return fs_allocators[i];
	for (int i = 0; fs_allocators[i]; i++)	/* then the C library's own */
		if (fs_allocators[i]->libc && identifies(fs_allocators[i], o, prefix, len))
			return fs_allocators[i];
	return &fs_alloc_unknown;
}
