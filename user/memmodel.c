/* memmodel.c - smaps parsing, region classification, the waterfall, page occupancy
 * and the diagnosis. No I/O beyond the FILE* and callbacks it is given. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "../bpf/fragscope.h"
#include "memmodel.h"
#include "render.h"

#define HEAP_ALIGN (64ULL << 20)
#define PAGE 4096ULL

static struct fs_region *push(struct fs_regions *rs)
{
	if (rs->n == rs->cap) {
		int cap = rs->cap ? rs->cap * 2 : 256;
		struct fs_region *r = realloc(rs->r, sizeof(*r) * (size_t)cap);

		if (!r)
			return NULL;
		rs->r = r;
		rs->cap = cap;
	}
	memset(&rs->r[rs->n], 0, sizeof(rs->r[0]));
	return &rs->r[rs->n++];
}

int memmodel__parse_smaps(FILE *f, struct fs_regions *out)
{
	char line[512];
	struct fs_region *cur = NULL;

	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, b, kb;
		char perms[8], key[64];
		int pos = 0;

		if (sscanf(line, "%llx-%llx %7s %*s %*s %*s%n", &a, &b, perms, &pos) == 3 && pos > 0) {
			char *name = line + pos;

			cur = push(out);
			if (!cur)
				return -ENOMEM;
			cur->start = a;
			cur->end = b;
			snprintf(cur->perms, sizeof(cur->perms), "%.4s", perms);
			while (*name == ' ')
				name++;
			name[strcspn(name, "\n")] = 0;
			snprintf(cur->name, sizeof(cur->name), "%s", name);
			continue;
		}
		if (!cur || sscanf(line, "%63[^:]: %llu kB", key, &kb) != 2)
			continue;
		if (!strcmp(key, "Rss"))
			cur->rss = kb * 1024;
		else if (!strcmp(key, "Anonymous"))
			cur->anon = kb * 1024;
		else if (!strcmp(key, "LazyFree"))
			cur->lazyfree = kb * 1024;
		else if (!strcmp(key, "Swap"))
			cur->swap = kb * 1024;
	}
	return 0;
}

void memmodel__regions_free(struct fs_regions *rs)
{
	free(rs->r);
	rs->r = NULL;
	rs->n = rs->cap = 0;
}

static int is_anon_name(const char *n)
{
	return !n[0] || !strncmp(n, "[anon:", 6);
}

void memmodel__classify(struct fs_regions *rs, int glibc)
{
	for (int i = 0; i < rs->n; i++) {
		struct fs_region *r = &rs->r[i];
		const struct fs_region *prev = i ? &rs->r[i - 1] : NULL;

		if (!strcmp(r->name, "[heap]"))
			r->kind = FS_RG_HEAP;
		else if (!strcmp(r->name, "[stack]"))
			r->kind = FS_RG_STACK;
		else if (r->name[0] == '/' || !strncmp(r->name, "[anon_shmem", 11))
			r->kind = r->perms[3] == 'p' && r->name[0] == '/' ? FS_RG_FILE : FS_RG_OTHER;
		else if (!is_anon_name(r->name) || r->perms[3] != 'p')
			r->kind = FS_RG_OTHER;
		else if (!strncmp(r->perms, "---", 3))
			r->kind = FS_RG_RESERVED;
		else if (glibc && !(r->start & (HEAP_ALIGN - 1)))
			r->kind = FS_RG_ARENA_HEAP;	/* checked against heap_info by procmem */
		else if (prev && prev->end == r->start && !strncmp(prev->perms, "---", 3) &&
			 is_anon_name(prev->name) && (prev->end - prev->start) <= (1u << 20) &&
			 !(glibc && !(prev->start & (HEAP_ALIGN - 1))))
			r->kind = FS_RG_STACK;		/* a guard right below: pthread stack */
		else
			r->kind = FS_RG_ANON;
	}
}

int memmodel__is_allocator(int kind)
{
	return kind == FS_RG_HEAP || kind == FS_RG_ARENA_HEAP || kind == FS_RG_ANON;
}

void memmodel__sum(const struct fs_regions *rs, struct fs_memory *m)
{
	m->mapped = m->resident = m->lazyfree = m->rss_anon = 0;
	memset(m->kind_mapped, 0, sizeof(m->kind_mapped));
	memset(m->kind_resident, 0, sizeof(m->kind_resident));
	for (int i = 0; i < rs->n; i++) {
		const struct fs_region *r = &rs->r[i];

		m->rss_anon += r->anon;
		if (r->kind == FS_RG_RESERVED)
			continue;
		m->kind_mapped[r->kind] += r->end - r->start;
		m->kind_resident[r->kind] += r->anon;
		if (!memmodel__is_allocator(r->kind))
			continue;
		m->mapped += r->end - r->start;
		m->resident += r->anon;
		m->lazyfree += r->lazyfree;
	}
	m->valid = 1;
}

void memmodel__finish(struct fs_memory *m)
{
	uint64_t used = m->live + m->lazyfree;

	m->held_free = m->resident > used ? m->resident - used : 0;
}

double memmodel__fragmentation(const struct fs_memory *m)
{
	if (!m->resident)
		return 0;
	return m->resident > m->live ? (double)(m->resident - m->live) / (double)m->resident : 0;
}

void memmodel__occupancy(const struct fs_regions *rs, const uint64_t *addr, const uint64_t *size,
			 long nblocks, fs_present_fn present, void *ctx, uint64_t max_bytes,
			 struct fs_memory *m)
{
	uint8_t *pres = NULL;
	uint64_t cap = 0;
	long b = 0;	/* first block that may still overlap the current page */

	m->pages_scanned = m->resident_no_live = m->low_occupancy = 0;
	m->pages_partial = 0;
	for (int i = 0; i < rs->n; i++) {
		const struct fs_region *r = &rs->r[i];
		uint64_t np = (r->end - r->start) / PAGE;

		if (!memmodel__is_allocator(r->kind) || !r->anon)
			continue;
		if (m->pages_scanned + r->anon > max_bytes) {
			m->pages_partial = 1;
			break;
		}
		if (np > cap) {
			uint8_t *p = realloc(pres, np);

			if (!p) {
				m->pages_partial = 1;
				break;
			}
			pres = p;
			cap = np;
		}
		if (present(ctx, r->start, np, pres)) {
			m->pages_partial = 1;
			continue;
		}
		while (b < nblocks && addr[b] + size[b] <= r->start)
			b++;
		for (uint64_t p = 0; p < np; p++) {
			uint64_t lo = r->start + p * PAGE, hi = lo + PAGE, live = 0;

			if (!pres[p])
				continue;
			m->pages_scanned += PAGE;
			/* blocks are sorted by start and do not overlap: sweep forward */
			while (b < nblocks && addr[b] + size[b] <= lo)
				b++;
			for (long k = b; k < nblocks && addr[k] < hi; k++) {
				uint64_t s = addr[k] > lo ? addr[k] : lo;
				uint64_t e = addr[k] + size[k] < hi ? addr[k] + size[k] : hi;

				if (e > s)
					live += e - s;
			}
			if (!live)
				m->resident_no_live += PAGE;
			else if (live * 10 < PAGE)
				m->low_occupancy += PAGE;
		}
	}
	free(pres);
	m->pages_valid = 1;
}

/* Live bytes and blocks starting inside [lo, hi) (blocks sorted by address). */
static void live_in(uint64_t lo, uint64_t hi, const uint64_t *addr, const uint64_t *size, long n,
		    uint64_t *bytes, uint64_t *blocks)
{
	long a = 0, z = n;

	while (a < z) {		/* first block >= lo */
		long mid = a + (z - a) / 2;

		if (addr[mid] < lo)
			a = mid + 1;
		else
			z = mid;
	}
	for (; a < n && addr[a] < hi; a++) {
		*bytes += size[a];
		(*blocks)++;
	}
}

void memmodel__arenas(const struct fs_regions *rs, const uint64_t *addr, const uint64_t *size,
		      long nblocks, struct fs_memory *m)
{
	m->narenas = 0;
	for (int i = 0; i < rs->n; i++) {
		const struct fs_region *r = &rs->r[i];
		struct fs_arena *a = NULL;

		if (r->kind != FS_RG_HEAP && r->kind != FS_RG_ARENA_HEAP)
			continue;
		for (int k = 0; k < m->narenas; k++)
			if ((r->kind == FS_RG_HEAP && m->arenas[k].main) ||
			    (r->kind == FS_RG_ARENA_HEAP && !m->arenas[k].main && m->arenas[k].ar_ptr == r->ar_ptr))
				a = &m->arenas[k];
		if (!a) {
			if (m->narenas >= FS_MAX_ARENAS)
				continue;
			a = &m->arenas[m->narenas++];
			memset(a, 0, sizeof(*a));
			a->main = r->kind == FS_RG_HEAP;
			a->ar_ptr = r->ar_ptr;
		}
		a->heaps++;
		a->mapped += r->end - r->start;
		a->resident += r->anon;
		live_in(r->start, r->end, addr, size, nblocks, &a->live, &a->live_blocks);
	}
	/* main arena first, as glibc lists them */
	for (int k = 1; k < m->narenas; k++)
		if (m->arenas[k].main) {
			struct fs_arena t = m->arenas[0];

			m->arenas[0] = m->arenas[k];
			m->arenas[k] = t;
		}
}

/* The value of key in a NUL-separated block, copied into out (never reads past len). */
static int env_val(const char *env, size_t len, const char *key, char *out, size_t outlen)
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

void memmodel__settings(const char *env, size_t len, struct fs_settings *s)
{
	const char *v;

	memset(s, 0, sizeof(*s));
	s->je_dirty_decay_ms = -1;
	if (!env_val(env, len, "MALLOC_CONF", s->malloc_conf, sizeof(s->malloc_conf)))
		env_val(env, len, "JE_MALLOC_CONF", s->malloc_conf, sizeof(s->malloc_conf));
	env_val(env, len, "GLIBC_TUNABLES", s->glibc_tunables, sizeof(s->glibc_tunables));
	env_val(env, len, "MALLOC_ARENA_MAX", s->arena_max, sizeof(s->arena_max));
	if (strstr(s->malloc_conf, "background_thread:true"))
		s->je_background_thread = 1;
	if ((v = strstr(s->malloc_conf, "dirty_decay_ms:"))) {
		s->je_dirty_decay_ms = strtol(v + 15, NULL, 10);
		s->je_dirty_decay_set = 1;
	}
}

const char *memmodel__diag_name(int kind)
{
	static const char *const n[] = { "none", "leak", "retention", "allocator_cache", "arena_spread" };

	return kind >= 0 && kind <= FS_D_ARENA_SPREAD ? n[kind] : "none";
}

/* Human sizes for one message: a ring of buffers, so several fit in one printf. */
static const char *MIB(uint64_t v)
{
	static char ring[8][32];
	static unsigned next;

	return render__bytes(v, ring[next++ % 8], sizeof(ring[0]));
}

static void diagnose(const struct fs_memory *m, uint64_t peak_live, int flavour,
		     const struct fs_settings *set, struct fs_diagnosis *out);

/* Memory given back only to be faulted in again: speed lost, not memory. */
static void churn(const struct fs_memory *m, int flavour, struct fs_diagnosis *out)
{
	size_t o = strlen(out->text);
	uint64_t bytes = m->churn_faults * PAGE;

	if (bytes < (16u << 20) || m->churn_faults * 4 < m->faults || o + 2 >= sizeof(out->text))
		return;
	snprintf(out->text + o, sizeof(out->text) - o,
		 "%s Churn: %s were faulted back in less than a second after being returned (%.0f%% of %llu page "
		 "faults)%s", o && out->text[o - 1] != '.' && out->text[o - 1] != ' ' ? "." : "", MIB(bytes), 100.0 * (double)m->churn_faults / (double)m->faults,
		 (unsigned long long)m->faults,
		 flavour == FS_F_GLIBC ? ": glibc trims heap tops after frees and faults them in again; a higher "
					 "glibc.malloc.trim_threshold (or glibc.malloc.top_pad) trades that memory for speed."
				       : ": a longer decay (dirty_decay_ms) keeps pages that are about to be reused.");
}

void memmodel__diagnose(const struct fs_memory *m, uint64_t peak_live, int flavour,
			const struct fs_settings *set, struct fs_diagnosis *out)
{
	diagnose(m, peak_live, flavour, set, out);
	if (m->valid)
		churn(m, flavour, out);
}

static void diagnose(const struct fs_memory *m, uint64_t peak_live, int flavour,
		     const struct fs_settings *set, struct fs_diagnosis *out)
{
	uint64_t idle = m->resident > m->live ? m->resident - m->live : 0;
	size_t o = 0;

#define SAY(...) (o += (size_t)snprintf(out->text + o, o < sizeof(out->text) ? sizeof(out->text) - o : 0, __VA_ARGS__))
	memset(out, 0, sizeof(*out));
	if (!m->valid) {
		out->kind = FS_D_NONE;
		SAY("no memory figures (the target exited before they were read)");
		return;
	}
	/* Small heaps, or resident memory mostly live: nothing to explain. */
	if (m->resident < (8u << 20) || idle * 4 < m->resident) {
		if (peak_live > (8u << 20) && m->live * 2 >= peak_live && m->live * 4 >= m->resident * 3 && m->busy) {
			out->kind = FS_D_NONE;
			SAY("live bytes are near their peak (%s) while the program keeps allocating: a load in "
			    "progress. A leak shows as live bytes that stay once the load ends.", MIB(m->live));
			return;
		}
		if (peak_live > (8u << 20) && m->live * 2 >= peak_live && m->live * 4 >= m->resident * 3) {
			out->kind = FS_D_LEAK;
			SAY("live bytes stay at %s of a peak of %s: memory is held by the program, not the "
			    "allocator (a leak, or a cache that never shrinks). See the live sizes histogram.",
			    MIB(m->live), MIB(peak_live));
			return;
		}
		out->kind = FS_D_NONE;
		SAY("resident %s, of which %s live: the allocator holds little beyond what is in use",
		    MIB(m->resident), MIB(m->live));
		return;
	}
	if (flavour == FS_F_JEMALLOC) {
		out->kind = FS_D_CACHE;
		SAY("jemalloc holds %s resident beyond %s live (%s returned so far). ", MIB(idle), MIB(m->live),
		    MIB(m->returned));
		if (!set->je_background_thread)
			SAY("Without background_thread, dirty pages are purged only when the allocator is called: "
			    "idle threads never give them back. Remedy: MALLOC_CONF=background_thread:true "
			    "(expected to return about %s within dirty_decay_ms, default 10 s); "
			    "a lower dirty_decay_ms returns it sooner.", MIB(idle));
		else if (set->je_dirty_decay_set && set->je_dirty_decay_ms < 0)
			SAY("dirty_decay_ms:-1 turns purging off: this memory never comes back on its own. "
			    "Remedy: a dirty_decay_ms >= 0 (expected to return about %s).", MIB(idle));
		else
			SAY("background_thread is on: dirty pages are purged after dirty_decay_ms (%ld ms%s). "
			    "Remedy: lower dirty_decay_ms to return about %s sooner.",
			    set->je_dirty_decay_set ? set->je_dirty_decay_ms : 10000,
			    set->je_dirty_decay_set ? "" : ", default", MIB(idle));
		return;
	}
	if (flavour != FS_F_GLIBC) {
		out->kind = FS_D_RETENTION;
		SAY("the allocator holds %s resident beyond %s live", MIB(idle), MIB(m->live));
		return;
	}
	/* glibc: free memory inside heaps that it never returns on its own. */
	{
		int pinned = 0;

		for (int i = 0; i < m->narenas; i++)
			if (!m->arenas[i].main && m->arenas[i].resident > (4u << 20) &&
			    m->arenas[i].live * 4 < m->arenas[i].resident)
				pinned++;
		out->kind = pinned >= 2 ? FS_D_ARENA_SPREAD : FS_D_RETENTION;
		if (pinned >= 2)
			SAY("%d of %d glibc arenas keep mostly free memory, each pinned by a few live blocks: "
			    "%s resident, %s live. ", pinned, m->narenas, MIB(m->resident), MIB(m->live));
		else
			SAY("retention by fragmentation: live bytes fell to %s (peak %s) but %s stays resident. ",
			    MIB(m->live), MIB(peak_live > m->live ? peak_live : m->live), MIB(m->resident));
		if (m->pages_valid && m->deep_age_ns < 2000000000ULL)
			SAY("%s of resident heap pages hold no live block%s (%s more are under 10%% used). ",
			    MIB(m->resident_no_live), m->pages_approximate ? " that fragscope saw allocated" : "",
			    MIB(m->low_occupancy));
		SAY("glibc returns memory only from the top of a heap: free pages in the middle stay until "
		    "malloc_trim(). Remedies: call malloc_trim(0) after a load (expected to release about %s); ",
		    MIB(m->pages_valid && m->deep_age_ns < 2000000000ULL ? m->resident_no_live : idle));
		if (m->narenas > 2)
			SAY("MALLOC_ARENA_MAX=2 (glibc.malloc.arena_max) to keep fewer arenas (%d now); ", m->narenas);
		SAY("a lower glibc.malloc.trim_threshold trims heap tops sooner; or switch to jemalloc "
		    "with background_thread:true, which purges free pages over time.");
	}
#undef SAY
}
