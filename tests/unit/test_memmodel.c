/* test_memmodel.c - the memory model on synthetic input: smaps text in the kernel's
 * format, region classes, the waterfall sums, page occupancy, glibc arenas, the
 * allocator settings from an environment block, and each diagnosis. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include "bpf/fragscope.h"	/* enum fs_alloc_id */
#include "model/memmodel.h"
#include "test.h"

#define KiB 1024ULL
#define MiB (1024ULL * 1024)
#define PG 4096ULL

/* One mapping of the fixture; sizes in kB as smaps prints them. */
struct smaps_map {
	uint64_t start, end;
	const char *perms;
	const char *rest;	/* offset, device and inode */
	const char *name;	/* NULL: anonymous */
	unsigned long size, rss, anon, lazyfree, swap;
};

/* A glibc process with one arena heap, one thread and a jemalloc-named extent,
 * in address order as the kernel lists them. */
static const struct smaps_map fixture[] = {
	{ 0x55d0c8a3e000, 0x55d0c8a5f000, "rw-p", "00000000 00:00 0", "[heap]", 132, 100, 100, 0, 12 },
	/* 64 MiB aligned: a glibc arena heap, then its PROT_NONE tail */
	{ 0x7f3c54000000, 0x7f3c54400000, "rw-p", "00000000 00:00 0", NULL, 4096, 3072, 3072, 1024, 0 },
	{ 0x7f3c54400000, 0x7f3c58000000, "---p", "00000000 00:00 0", NULL, 61440, 0, 0, 0, 0 },
	/* a pthread stack: 4 KiB guard right below 8 MiB */
	{ 0x7f3c5b7ff000, 0x7f3c5b800000, "---p", "00000000 00:00 0", NULL, 4, 0, 0, 0, 0 },
	{ 0x7f3c5b800000, 0x7f3c5c000000, "rw-p", "00000000 00:00 0", NULL, 8192, 16, 16, 0, 0 },
	{ 0x7f3c5c200000, 0x7f3c5c600000, "rw-p", "00000000 00:00 0", "[anon:jemalloc]", 4096, 2048, 2048, 512, 256 },
	{ 0x7f3c5c600000, 0x7f3c5c621000, "rw-p", "00000000 00:00 0", NULL, 132, 132, 132, 0, 0 },
	{ 0x7f3c5c800000, 0x7f3c5c828000, "r--p", "00000000 fe:00 1835203",
	  "/usr/lib/x86_64-linux-gnu/libc.so.6", 160, 160, 0, 0, 0 },
	{ 0x7ffd3a4e1000, 0x7ffd3a502000, "rw-p", "00000000 00:00 0", "[stack]", 132, 28, 28, 0, 4 },
	{ 0x7ffd3a5b2000, 0x7ffd3a5b4000, "r-xp", "00000000 00:00 0", "[vdso]", 8, 4, 0, 0, 0 },
};
#define NFIXTURE ((int)(sizeof(fixture) / sizeof(fixture[0])))

/* Prints one mapping as fs/proc/task_mmu.c does: the name padded to column 73,
 * then each figure as "%-16s%8lu kB". */
static void put_map(FILE *f, const struct smaps_map *m)
{
	unsigned long file = m->rss - m->anon, thp = m->anon >= 2048 ? 2048 : 0;
	char prefix[128];

	snprintf(prefix, sizeof(prefix), "%08llx-%08llx %s %s", (unsigned long long)m->start,
		 (unsigned long long)m->end, m->perms, m->rest);
	if (m->name)
		fprintf(f, "%-72s %s\n", prefix, m->name);
	else
		fprintf(f, "%s \n", prefix);
#define KB(key, v) fprintf(f, "%-16s%8lu kB\n", key ":", (unsigned long)(v))
	KB("Size", m->size);
	KB("KernelPageSize", 4);
	KB("MMUPageSize", 4);
	KB("Rss", m->rss);
	KB("Pss", m->anon + file / 4);
	KB("Pss_Dirty", m->anon);
	KB("Shared_Clean", file);
	KB("Shared_Dirty", 0);
	KB("Private_Clean", 0);
	KB("Private_Dirty", m->anon);
	KB("Referenced", m->rss);
	KB("Anonymous", m->anon);
	KB("KSM", 0);
	KB("LazyFree", m->lazyfree);
	KB("AnonHugePages", thp);		/* after Anonymous: must not override it */
	KB("ShmemPmdMapped", 0);
	KB("FilePmdMapped", 0);
	KB("Shared_Hugetlb", 0);
	KB("Private_Hugetlb", 0);
	KB("Swap", m->swap);
	KB("SwapPss", m->swap / 2 + 1);	/* after Swap: must not override it */
	KB("Locked", 0);
#undef KB
	fprintf(f, "%-16s%8d\n", "THPeligible:", 0);
	fprintf(f, "VmFlags: %s\n", m->perms[1] == 'w' ? "rd wr mr mw me ac " : "rd mr mw me ");
}

/* Parses the fixture through a FILE*, as procmem reads /proc/PID/smaps. */
static int parse_fixture(struct fs_regions *rs)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int err;

	if (!f)
		return -errno;
	for (int i = 0; i < NFIXTURE; i++)
		put_map(f, &fixture[i]);
	fclose(f);
	f = fmemopen(text, len, "r");
	if (!f) {
		err = -errno;
		free(text);
		return err;
	}
	err = memmodel__parse_smaps(f, rs);
	fclose(f);
	free(text);
	return err;
}

TEST(memmodel_parse_smaps)
{
	struct fs_regions rs = { 0 };

	if (!ASSERT_OK(parse_fixture(&rs), "parse") || !ASSERT_EQ(rs.n, NFIXTURE, "one region per mapping"))
		goto cleanup;
	for (int i = 0; i < rs.n; i++) {
		const struct fs_region *r = &rs.r[i];
		const struct smaps_map *m = &fixture[i];
		bool ok = true;

		ok &= ASSERT_EQ(r->start, m->start, "start");
		ok &= ASSERT_EQ(r->end, m->end, "end");
		ok &= ASSERT_STREQ(r->perms, m->perms, "perms");
		ok &= ASSERT_STREQ(r->name, m->name ? m->name : "", "name (anonymous: empty)");
		ok &= ASSERT_EQ(r->rss, m->rss * KiB, "Rss in bytes");
		ok &= ASSERT_EQ(r->anon, m->anon * KiB, "Anonymous in bytes");
		ok &= ASSERT_EQ(r->lazyfree, m->lazyfree * KiB, "LazyFree in bytes");
		ok &= ASSERT_EQ(r->swap, m->swap * KiB, "Swap in bytes");
		if (!ok) {
			printf("  (in mapping %d)\n", i);
			break;
		}
	}
	/* a few figures spelled out */
	ASSERT_EQ(rs.r[1].start, 0x7f3c54000000, "arena heap start");
	ASSERT_EQ(rs.r[1].anon, 3 * MiB, "arena heap: 3072 kB anonymous");
	ASSERT_EQ(rs.r[1].lazyfree, 1 * MiB, "arena heap: 1024 kB LazyFree");
	ASSERT_EQ(rs.r[5].swap, 256 * KiB, "jemalloc extent: 256 kB swapped");
	ASSERT_STREQ(rs.r[7].name, "/usr/lib/x86_64-linux-gnu/libc.so.6", "file name, no padding");
	ASSERT_STREQ(rs.r[3].perms, "---p", "guard page perms");
cleanup:
	memmodel__regions_free(&rs);
	ASSERT_NULL(rs.r, "regions_free clears");
	ASSERT_EQ(rs.n, 0, "regions_free clears n");
}

TEST(memmodel_parse_smaps_no_header)
{
	/* figures before any mapping header belong to nothing */
	char text[] = "Rss:                   4 kB\nAnonymous:             4 kB\n";
	struct fs_regions rs = { 0 };
	FILE *f = fmemopen(text, strlen(text), "r");

	if (!ASSERT_OK_PTR(f, "fmemopen"))
		return;
	ASSERT_OK(memmodel__parse_smaps(f, &rs), "parse");
	ASSERT_EQ(rs.n, 0, "no regions");
	fclose(f);
	memmodel__regions_free(&rs);
}

TEST(memmodel_classify)
{
	static const int want_glibc[NFIXTURE] = {
		FS_RG_HEAP, FS_RG_ARENA_HEAP, FS_RG_RESERVED, FS_RG_RESERVED, FS_RG_STACK,
		FS_RG_ANON, FS_RG_ANON, FS_RG_FILE, FS_RG_STACK, FS_RG_OTHER,
	};
	static const int want_other[NFIXTURE] = {
		FS_RG_HEAP, FS_RG_ANON, FS_RG_RESERVED, FS_RG_RESERVED, FS_RG_STACK,
		FS_RG_ANON, FS_RG_ANON, FS_RG_FILE, FS_RG_STACK, FS_RG_OTHER,
	};
	struct fs_regions rs = { 0 };

	if (!ASSERT_OK(parse_fixture(&rs), "parse") || !ASSERT_EQ(rs.n, NFIXTURE, "count"))
		goto cleanup;
	memmodel__classify(&rs, 1);
	for (int i = 0; i < rs.n; i++)
		if (!ASSERT_EQ(rs.r[i].kind, want_glibc[i], rs.r[i].name[0] ? rs.r[i].name : "glibc: anonymous"))
			printf("  (in mapping %d)\n", i);
	memmodel__classify(&rs, 0);
	for (int i = 0; i < rs.n; i++)
		if (!ASSERT_EQ(rs.r[i].kind, want_other[i], rs.r[i].name[0] ? rs.r[i].name : "not glibc: anonymous"))
			printf("  (in mapping %d)\n", i);

	ASSERT_TRUE(memmodel__is_allocator(FS_RG_HEAP), "heap is allocator memory");
	ASSERT_TRUE(memmodel__is_allocator(FS_RG_ARENA_HEAP), "arena heap is allocator memory");
	ASSERT_TRUE(memmodel__is_allocator(FS_RG_ANON), "anon is allocator memory");
	ASSERT_FALSE(memmodel__is_allocator(FS_RG_STACK), "stack is not");
	ASSERT_FALSE(memmodel__is_allocator(FS_RG_RESERVED), "reserved is not");
	ASSERT_FALSE(memmodel__is_allocator(FS_RG_FILE), "file is not");
	ASSERT_FALSE(memmodel__is_allocator(FS_RG_OTHER), "other is not");
cleanup:
	memmodel__regions_free(&rs);
}

/* nginx's worker: the brk heap it inherited across fork() and the part it grew since
 * are two VMAs (as in its smaps); they are one heap, one region. */
TEST(memmodel_classify_heap_split_by_fork)
{
	static const struct smaps_map split[] = {
		{ 0x56174b1f7000, 0x56174b239000, "rw-p", "00000000 00:00 0", "[heap]", 264, 200, 200, 0, 4 },
		{ 0x56174b239000, 0x56174b2a7000, "rw-p", "00000000 00:00 0", "[heap]", 440, 300, 300, 8, 0 },
		{ 0x7f3c5c600000, 0x7f3c5c621000, "rw-p", "00000000 00:00 0", NULL, 132, 132, 132, 0, 0 },
	};
	struct fs_regions rs = { 0 };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!ASSERT_OK_PTR(f, "open_memstream"))
		return;
	for (int i = 0; i < 3; i++)
		put_map(f, &split[i]);
	fclose(f);
	f = fmemopen(text, len, "r");
	if (!ASSERT_OK_PTR(f, "fmemopen"))
		goto cleanup;
	ASSERT_OK(memmodel__parse_smaps(f, &rs), "parse");
	fclose(f);
	ASSERT_EQ(rs.n, 3, "three VMAs parsed");
	memmodel__classify(&rs, 1);
	if (!ASSERT_EQ(rs.n, 2, "the two [heap] VMAs are one region"))
		goto cleanup;
	ASSERT_EQ(rs.r[0].kind, FS_RG_HEAP, "heap");
	ASSERT_EQ(rs.r[0].start, 0x56174b1f7000, "from the first piece's start");
	ASSERT_EQ(rs.r[0].end, 0x56174b2a7000, "to the last piece's end");
	ASSERT_EQ(rs.r[0].anon, 500 * KiB, "anonymous summed");
	ASSERT_EQ(rs.r[0].rss, 500 * KiB, "rss summed");
	ASSERT_EQ(rs.r[0].lazyfree, 8 * KiB, "lazyfree summed");
	ASSERT_EQ(rs.r[0].swap, 4 * KiB, "swap summed");
	ASSERT_EQ(rs.r[1].start, 0x7f3c5c600000, "the next region kept");
	ASSERT_EQ(rs.r[1].anon, 132 * KiB, "with its own figures");
cleanup:
	free(text);
	memmodel__regions_free(&rs);
}

TEST(memmodel_sum_and_finish)
{
	struct fs_regions rs = { 0 };
	struct fs_memory *m = malloc(sizeof(*m));

	if (!ASSERT_OK_PTR(m, "malloc") || !ASSERT_OK(parse_fixture(&rs), "parse"))
		goto cleanup;
	memmodel__classify(&rs, 1);
	/* traced from the start, no ledger: anonymous memory is the allocator's */
	memmodel__own(&rs, 1, NULL, 0, FS_OWN_ALLOCATOR);
	memset(m, 0xa5, sizeof(*m));	/* sum must reset what it fills */
	memmodel__sum(&rs, NULL, 0, FS_OWN_ALLOCATOR, NULL, NULL, m);
	ASSERT_EQ(m->valid, 1, "valid");
	/* allocator kinds: [heap], the arena heap, [anon:jemalloc], the plain anonymous region */
	ASSERT_EQ(m->mapped, (132 + 4096 + 4096 + 132) * KiB, "mapped");
	ASSERT_EQ(m->resident, (100 + 3072 + 2048 + 132) * KiB, "resident");
	ASSERT_EQ(m->lazyfree, (1024 + 512) * KiB, "lazyfree");
	ASSERT_EQ(m->rss_anon, (100 + 3072 + 16 + 2048 + 132 + 28) * KiB, "rss_anon: all regions");
	ASSERT_EQ(m->kind_mapped[FS_RG_HEAP], 132 * KiB, "heap mapped");
	ASSERT_EQ(m->kind_mapped[FS_RG_ARENA_HEAP], 4096 * KiB, "arena heaps mapped");
	ASSERT_EQ(m->kind_mapped[FS_RG_ANON], (4096 + 132) * KiB, "anon mapped");
	ASSERT_EQ(m->kind_mapped[FS_RG_STACK], (8192 + 132) * KiB, "stacks mapped");
	ASSERT_EQ(m->kind_mapped[FS_RG_RESERVED], 0, "reserved excluded");
	ASSERT_EQ(m->kind_mapped[FS_RG_FILE], 160 * KiB, "files mapped");
	ASSERT_EQ(m->kind_mapped[FS_RG_OTHER], 8 * KiB, "vdso mapped");
	ASSERT_EQ(m->kind_resident[FS_RG_STACK], (16 + 28) * KiB, "stacks resident");
	ASSERT_EQ(m->kind_resident[FS_RG_ANON], (2048 + 132) * KiB, "anon resident");
	ASSERT_EQ(m->kind_resident[FS_RG_FILE], 0, "file pages are not anonymous");
	ASSERT_EQ(m->own_resident[FS_OWN_STACK], (16 + 28) * KiB, "owner: stacks");
	ASSERT_EQ(m->own_resident[FS_OWN_ALLOCATOR] + m->own_resident[FS_OWN_STACK] + m->own_resident[FS_OWN_PROGRAM] +
			  m->own_resident[FS_OWN_FILE] + m->own_resident[FS_OWN_UNKNOWN], m->rss_anon,
		  "owners add up to rss_anon");

	/* held free = resident - live - lazyfree, when every block was seen */
	m->held_basis = FS_B_TRACED;
	m->pre_attach_live = 0;
	m->live = 2 * MiB;
	memmodel__finish(m);
	ASSERT_EQ(m->held_free, (5352 - 2048 - 1536) * KiB, "held_free");
	ASSERT_EQ(m->unseen, 0, "nothing unseen");
	m->live = 4 * MiB;	/* live + lazyfree > resident */
	memmodel__finish(m);
	ASSERT_EQ(m->held_free, 0, "held_free clamps at 0");
	m->live = 5352 * KiB - 1536 * KiB;
	memmodel__finish(m);
	ASSERT_EQ(m->held_free, 0, "held_free exactly 0");
	/* a census of the blocks from before attach counts as live */
	m->held_basis = FS_B_CENSUS;
	m->live = 1 * MiB;
	m->pre_attach_live = 1 * MiB;
	memmodel__finish(m);
	ASSERT_EQ(m->held_free, (5352 - 2048 - 1536) * KiB, "census: pre-attach blocks are not free");
	/* attached late, no census: what the allocator holds beyond live is unseen, not free */
	m->held_basis = FS_B_UNKNOWN;
	m->pre_attach_bound = UINT64_MAX;
	m->pre_attach_live = 0;
	m->live = 2 * MiB;
	memmodel__finish(m);
	ASSERT_EQ(m->held_free, 0, "unknown basis: nothing called free");
	ASSERT_EQ(m->unseen, (5352 - 2048 - 1536) * KiB, "unknown basis: unseen");
	/* fragmentation is a floor then: unseen memory is not counted free (only LazyFree is) */
	ASSERT_EQ((uint64_t)llround(memmodel__fragmentation(m) * 5352), 1536, "unknown basis: fragmentation floor");
	/* 1 MiB was mapped at attach: older blocks fill at most that, the rest is free */
	m->pre_attach_bound = 1 * MiB;
	memmodel__finish(m);
	ASSERT_EQ(m->unseen, 1 * MiB, "bounded: unseen is at most what was mapped at attach");
	ASSERT_EQ(m->held_free, (5352 - 2048 - 1536 - 1024) * KiB, "bounded: held free is the rest");
	ASSERT_EQ((uint64_t)llround(memmodel__fragmentation(m) * 5352), 5352 - 2048 - 1024, "bounded: fragmentation floor");
	/* jemalloc's own figures: active - allocated + dirty + muzzy */
	m->held_basis = FS_B_ALLOC_STATS;
	m->je_valid = 1;
	m->je_active = 10 * MiB;
	m->je_allocated = 7 * MiB;
	m->je_dirty = 2 * MiB;
	m->je_muzzy = 1 * MiB;
	memmodel__finish(m);
	ASSERT_EQ(m->held_free, 6 * MiB, "jemalloc stats: held free");
	m->je_valid = 0;

	/* attached to a running process: anonymous regions nothing vouches for are nobody's */
	memmodel__own(&rs, 1, NULL, 0, FS_OWN_UNKNOWN);
	memmodel__sum(&rs, NULL, 0, FS_OWN_UNKNOWN, NULL, NULL, m);
	ASSERT_EQ(m->mapped, (132 + 4096) * KiB, "unknown: only the heaps are the allocator's");
	ASSERT_EQ(m->resident, (100 + 3072) * KiB, "unknown: heaps resident");
	ASSERT_EQ(m->own_resident[FS_OWN_UNKNOWN], (2048 + 132) * KiB, "unknown: the anonymous regions");
	ASSERT_EQ(m->lazyfree, 1024 * KiB, "unknown: lazyfree of the heaps only");
	ASSERT_EQ(m->own_resident[FS_OWN_ALLOCATOR] + m->own_resident[FS_OWN_STACK] + m->own_resident[FS_OWN_PROGRAM] +
			  m->own_resident[FS_OWN_FILE] + m->own_resident[FS_OWN_UNKNOWN], m->rss_anon,
		  "unknown: owners add up to rss_anon");
cleanup:
	memmodel__regions_free(&rs);
	free(m);
}

TEST(memmodel_fragmentation)
{
	struct fs_memory *m = calloc(1, sizeof(*m));

	if (!ASSERT_OK_PTR(m, "calloc"))
		return;
	ASSERT_TRUE(memmodel__fragmentation(m) == 0, "nothing resident: 0");
	m->live = 1 * MiB;
	ASSERT_TRUE(memmodel__fragmentation(m) == 0, "live but nothing resident: 0");
	m->resident = 4 * MiB;
	ASSERT_TRUE(memmodel__fragmentation(m) == 0.75, "4 MiB resident, 1 MiB live: 0.75");
	m->live = 0;
	ASSERT_TRUE(memmodel__fragmentation(m) == 1, "nothing live: 1");
	m->live = 4 * MiB;
	ASSERT_TRUE(memmodel__fragmentation(m) == 0, "all live: 0");
	m->live = 5 * MiB;
	ASSERT_TRUE(memmodel__fragmentation(m) == 0, "more live than resident: 0");
	m->resident = 3;
	m->live = 1;
	ASSERT_TRUE(fabs(memmodel__fragmentation(m) - 2.0 / 3) < 1e-12, "2/3");
	free(m);
}

/* Page residency from a table: pages[i] tells whether base + i * PG is present;
 * a call for fail_start fails as a vanished mapping would. */
struct fake_pages {
	uint64_t base;
	const uint8_t *pages;
	uint64_t npages;
	uint64_t fail_start;
	int calls;
};

static int fake_present(void *ctx, uint64_t start, uint64_t npages, uint8_t *present)
{
	struct fake_pages *fp = ctx;

	fp->calls++;
	if (fp->fail_start && start == fp->fail_start)
		return -ESRCH;
	for (uint64_t p = 0; p < npages; p++) {
		uint64_t a = start + p * PG;

		present[p] = a >= fp->base && (a - fp->base) / PG < fp->npages ? fp->pages[(a - fp->base) / PG] : 0;
	}
	return 0;
}

#define OCC_BASE 0x10000000ULL
#define OCC_MORE (OCC_BASE + 16 * PG)	/* a second, identical layout */

/* 8 pages, 0-5 present: page 0 full, page 1 holds 100 bytes, page 2 nothing,
 * a block straddles pages 3-4 (2048 bytes in each), page 5 nothing. */
static const uint8_t occ_pages[] = { 1, 1, 1, 1, 1, 1, 0, 0 };
static const uint64_t occ_addr[] = {
	OCC_BASE - 64,			/* before the region: ignored */
	OCC_BASE,
	OCC_BASE + 1 * PG,
	OCC_BASE + 3 * PG + 2048,
	OCC_BASE + 7 * PG + 16,		/* on a page that is not present */
};
static const uint64_t occ_size[] = { 32, PG, 100, PG, 64 };
#define OCC_N ((long)(sizeof(occ_addr) / sizeof(occ_addr[0])))

static struct fs_region occ_region(uint64_t start, int kind)
{
	return (struct fs_region){ .start = start, .end = start + 8 * PG, .kind = kind,
				   .owner = memmodel__is_allocator(kind) ? FS_OWN_ALLOCATOR : FS_OWN_STACK,
				   .rss = 6 * PG, .anon = 6 * PG, .perms = "rw-p" };
}

static void occ_reset(struct fs_memory *m)
{
	m->pages_scanned = m->resident_no_live = m->low_occupancy = 12345;
	m->pages_valid = 0;
	m->pages_partial = 7;
}

TEST(memmodel_occupancy)
{
	struct fake_pages fp = { .base = OCC_BASE, .pages = occ_pages, .npages = 8 };
	struct fs_region one[] = { occ_region(OCC_BASE, FS_RG_ARENA_HEAP) };
	struct fs_regions rs = { .r = one, .n = 1, .cap = 1 };
	struct fs_memory *m = calloc(1, sizeof(*m));

	if (!ASSERT_OK_PTR(m, "calloc"))
		return;
	occ_reset(m);
	memmodel__occupancy(&rs, occ_addr, occ_size, OCC_N, fake_present, &fp, 1ULL << 30, m);
	ASSERT_EQ(fp.calls, 1, "one residency query");
	ASSERT_EQ(m->pages_valid, 1, "pages_valid");
	ASSERT_EQ(m->pages_partial, 0, "complete");
	ASSERT_EQ(m->pages_scanned, 6 * PG, "the 6 present pages are scanned");
	ASSERT_EQ(m->resident_no_live, 2 * PG, "pages 2 and 5 hold nothing live");
	ASSERT_EQ(m->low_occupancy, 1 * PG, "page 1 is under 10% live");
	ASSERT_EQ(m->pages_mixed, 0, "no region of mixed owners");

	/* a region of several owners: not scanned, and said */
	occ_reset(m);
	fp.calls = 0;
	one[0].owner = FS_OWN_MIXED;
	memmodel__occupancy(&rs, occ_addr, occ_size, OCC_N, fake_present, &fp, 1ULL << 30, m);
	ASSERT_EQ(fp.calls, 0, "mixed: not queried");
	ASSERT_EQ(m->pages_scanned, 0, "mixed: nothing scanned");
	ASSERT_EQ(m->pages_mixed, 6 * PG, "mixed: its resident anonymous bytes said");
	one[0].owner = FS_OWN_ALLOCATOR;

	/* max_bytes exactly the region's anonymous bytes still covers it */
	occ_reset(m);
	memmodel__occupancy(&rs, occ_addr, occ_size, OCC_N, fake_present, &fp, 6 * PG, m);
	ASSERT_EQ(m->pages_partial, 0, "max_bytes == anon: complete");
	ASSERT_EQ(m->pages_scanned, 6 * PG, "max_bytes == anon: scanned");

	/* ... one byte less and the region is not looked at */
	occ_reset(m);
	fp.calls = 0;
	memmodel__occupancy(&rs, occ_addr, occ_size, OCC_N, fake_present, &fp, 6 * PG - 1, m);
	ASSERT_EQ(m->pages_partial, 1, "max_bytes < anon: partial");
	ASSERT_EQ(m->pages_valid, 1, "partial figures are still valid");
	ASSERT_EQ(m->pages_scanned, 0, "max_bytes < anon: nothing scanned");
	ASSERT_EQ(m->resident_no_live, 0, "max_bytes < anon: no empty pages");
	ASSERT_EQ(fp.calls, 0, "max_bytes < anon: no residency query");

	/* no blocks at all: every present page is empty */
	occ_reset(m);
	memmodel__occupancy(&rs, NULL, NULL, 0, fake_present, &fp, 1ULL << 30, m);
	ASSERT_EQ(m->resident_no_live, 6 * PG, "no blocks: all present pages empty");
	ASSERT_EQ(m->low_occupancy, 0, "no blocks: none low");

	/* the 10% line: 409 bytes on page 0 is low, 410 bytes on page 1 is not */
	{
		const uint64_t a[] = { OCC_BASE, OCC_BASE + PG };
		const uint64_t sz[] = { 409, 410 };

		occ_reset(m);
		memmodel__occupancy(&rs, a, sz, 2, fake_present, &fp, 1ULL << 30, m);
		ASSERT_EQ(m->low_occupancy, 1 * PG, "409 bytes low, 410 not");
		ASSERT_EQ(m->resident_no_live, 4 * PG, "pages 2-5 empty");
	}
	free(m);
}

TEST(memmodel_occupancy_skips_and_errors)
{
	/* from the stack at OCC_BASE - 16 pages to the end of the region at OCC_MORE */
	enum { NPAGES = 40 };
	uint8_t pages[NPAGES] = { 0 };
	uint64_t addr[2 * OCC_N], size[2 * OCC_N];
	struct fake_pages fp = { .base = OCC_BASE - 16 * PG, .pages = pages, .npages = NPAGES };
	struct fs_region regions[] = {
		occ_region(OCC_BASE - 16 * PG, FS_RG_STACK),	/* all present, not allocator memory */
		occ_region(OCC_BASE, FS_RG_HEAP),
		occ_region(OCC_MORE, FS_RG_ANON),
	};
	struct fs_regions rs = { .r = regions, .n = 3, .cap = 3 };
	struct fs_memory *m = calloc(1, sizeof(*m));

	if (!ASSERT_OK_PTR(m, "calloc"))
		return;
	memset(pages, 1, 8);
	memcpy(pages + 16, occ_pages, sizeof(occ_pages));
	memcpy(pages + 32, occ_pages, sizeof(occ_pages));
	for (long i = 0; i < OCC_N; i++) {
		addr[i] = occ_addr[i];
		addr[OCC_N + i] = occ_addr[i] - OCC_BASE + OCC_MORE;
		size[i] = size[OCC_N + i] = occ_size[i];
	}

	occ_reset(m);
	memmodel__occupancy(&rs, addr, size, 2 * OCC_N, fake_present, &fp, 1ULL << 30, m);
	ASSERT_EQ(fp.calls, 2, "the stack is not queried");
	ASSERT_EQ(m->pages_partial, 0, "complete");
	ASSERT_EQ(m->pages_scanned, 2 * 6 * PG, "two regions of 6 present pages");
	ASSERT_EQ(m->resident_no_live, 2 * 2 * PG, "two empty pages in each");
	ASSERT_EQ(m->low_occupancy, 2 * PG, "one low page in each");

	/* the budget runs out before the second region */
	occ_reset(m);
	memmodel__occupancy(&rs, addr, size, 2 * OCC_N, fake_present, &fp, 6 * PG + 1, m);
	ASSERT_EQ(m->pages_partial, 1, "budget for one region: partial");
	ASSERT_EQ(m->pages_scanned, 6 * PG, "budget for one region: first scanned");

	/* the first region's residency is unreadable: the second is still counted */
	occ_reset(m);
	fp.calls = 0;
	fp.fail_start = OCC_BASE;
	memmodel__occupancy(&rs, addr, size, 2 * OCC_N, fake_present, &fp, 1ULL << 30, m);
	ASSERT_EQ(fp.calls, 2, "both queried");
	ASSERT_EQ(m->pages_partial, 1, "present() error: partial");
	ASSERT_EQ(m->pages_valid, 1, "present() error: still valid");
	ASSERT_EQ(m->pages_scanned, 6 * PG, "present() error: second region scanned");
	ASSERT_EQ(m->resident_no_live, 2 * PG, "present() error: second region's empty pages");
	ASSERT_EQ(m->low_occupancy, 1 * PG, "present() error: second region's low page");
	free(m);
}

#define AR_A 0x7f3c50000020ULL	/* heap_info.ar_ptr of arena A */
#define AR_B 0x7f3c44000020ULL

TEST(memmodel_arenas)
{
	struct fs_region r[] = {
		{ .start = 0x55d0c8a3e000, .end = 0x55d0c8a5f000, .anon = 64 * KiB, .kind = FS_RG_HEAP },
		{ .start = 0x7f3c48000000, .end = 0x7f3c48100000, .anon = 512 * KiB, .kind = FS_RG_ARENA_HEAP,
		  .ar_ptr = AR_A },
		{ .start = 0x7f3c48100000, .end = 0x7f3c4c000000, .kind = FS_RG_RESERVED },
		{ .start = 0x7f3c4c000000, .end = 0x7f3c4c200000, .anon = 1 * MiB, .kind = FS_RG_ARENA_HEAP,
		  .ar_ptr = AR_B },
		{ .start = 0x7f3c4e000000, .end = 0x7f3c4e100000, .anon = 1 * MiB, .kind = FS_RG_ANON },
		{ .start = 0x7f3c50000000, .end = 0x7f3c50400000, .anon = 3 * MiB, .kind = FS_RG_ARENA_HEAP,
		  .ar_ptr = AR_A },
		{ .start = 0x7f3c50400000, .end = 0x7f3c54000000, .kind = FS_RG_RESERVED },
	};
	static const uint64_t addr[] = {
		0x55d0c8a3f000, 0x55d0c8a40000,	/* main: 2 blocks */
		0x7f3c48000900,			/* A, first heap */
		0x7f3c4c000000,			/* B, at its very start */
		0x7f3c4e000000,			/* an mmapped chunk: no arena */
		0x7f3c50000100,			/* A, second heap */
		0x7f3c503ffff0,			/* starts in A, ends beyond it: counted whole */
		0x7f3c50400000,			/* starts at A's end: not A's */
	};
	static const uint64_t size[] = { 100, 200, 1000, 48, 5000, 300, 4096, 64 };
	struct fs_regions rs = { .r = r, .n = 7, .cap = 7 };
	const long nblocks = sizeof(addr) / sizeof(addr[0]);
	struct fs_memory *m = malloc(sizeof(*m));
	const struct fs_arena *a;

	if (!ASSERT_OK_PTR(m, "malloc"))
		return;
	memset(m, 0xa5, sizeof(*m));
	memmodel__arenas(&rs, addr, size, nblocks, m);
	if (!ASSERT_EQ(m->narenas, 3, "main, A and B"))
		goto cleanup;
	a = &m->arenas[0];
	ASSERT_EQ(a->main, 1, "main arena first");
	ASSERT_EQ(a->heaps, 1, "main: one heap");
	ASSERT_EQ(a->mapped, 132 * KiB, "main: mapped");
	ASSERT_EQ(a->resident, 64 * KiB, "main: resident");
	ASSERT_EQ(a->live, 300, "main: live");
	ASSERT_EQ(a->live_blocks, 2, "main: blocks");
	a = &m->arenas[1];
	ASSERT_EQ(a->main, 0, "A: not main");
	ASSERT_EQ(a->ar_ptr, AR_A, "A: in order of first heap");
	ASSERT_EQ(a->heaps, 2, "A: two heaps");
	ASSERT_EQ(a->mapped, 1 * MiB + 4 * MiB, "A: mapped");
	ASSERT_EQ(a->resident, 512 * KiB + 3 * MiB, "A: resident");
	ASSERT_EQ(a->live, 1000 + 300 + 4096, "A: live");
	ASSERT_EQ(a->live_blocks, 3, "A: blocks");
	a = &m->arenas[2];
	ASSERT_EQ(a->ar_ptr, AR_B, "B");
	ASSERT_EQ(a->heaps, 1, "B: one heap");
	ASSERT_EQ(a->mapped, 2 * MiB, "B: mapped");
	ASSERT_EQ(a->resident, 1 * MiB, "B: resident");
	ASSERT_EQ(a->live, 48, "B: live");
	ASSERT_EQ(a->live_blocks, 1, "B: a block at its first byte");

	/* [heap] listed after the arenas still comes out first */
	{
		struct fs_region rot[] = { r[1], r[3], r[5], r[0] };
		struct fs_regions rs2 = { .r = rot, .n = 4, .cap = 4 };

		memmodel__arenas(&rs2, addr, size, nblocks, m);
		ASSERT_EQ(m->narenas, 3, "reordered: three arenas");
		ASSERT_EQ(m->arenas[0].main, 1, "reordered: main first");
		ASSERT_EQ(m->arenas[0].live_blocks, 2, "reordered: main's blocks");
		ASSERT_EQ(m->arenas[1].main + m->arenas[2].main, 0, "reordered: one main");
	}

	/* no glibc heaps: no arenas */
	memmodel__arenas(&(struct fs_regions){ .r = &r[4], .n = 1, .cap = 1 }, addr, size, nblocks, m);
	ASSERT_EQ(m->narenas, 0, "anon only: no arenas");
cleanup:
	free(m);
}

TEST(memmodel_settings)
{
	static const char env[] = "PATH=/bin\0MALLOC_CONF=background_thread:true,dirty_decay_ms:1000\0"
				  "GLIBC_TUNABLES=glibc.malloc.arena_max=2\0MALLOC_ARENA_MAX=4\0";
	static const char je[] = "XMALLOC_CONF=a\0MALLOC_CONFIG=b\0JE_MALLOC_CONF=background_thread:false\0";
	static const char cut[] = "MALLOC_ARENA_MAX=4\0MALLOC_CONF=dirty_decay_ms:0\0";
	struct fs_settings s;

	memmodel__settings(env, sizeof(env) - 1, &s);
	ASSERT_STREQ(s.malloc_conf, "background_thread:true,dirty_decay_ms:1000", "MALLOC_CONF");
	ASSERT_STREQ(s.glibc_tunables, "glibc.malloc.arena_max=2", "GLIBC_TUNABLES");
	ASSERT_STREQ(s.arena_max, "4", "MALLOC_ARENA_MAX");
	ASSERT_EQ(s.je_background_thread, 1, "background_thread:true");
	ASSERT_EQ(s.je_dirty_decay_ms, 1000, "dirty_decay_ms");
	ASSERT_EQ(s.je_dirty_decay_set, 1, "dirty_decay_ms set");

	memmodel__settings("", 0, &s);
	ASSERT_STREQ(s.malloc_conf, "", "empty: MALLOC_CONF");
	ASSERT_STREQ(s.glibc_tunables, "", "empty: GLIBC_TUNABLES");
	ASSERT_STREQ(s.arena_max, "", "empty: MALLOC_ARENA_MAX");
	ASSERT_EQ(s.je_background_thread, 0, "empty: no background thread");
	ASSERT_EQ(s.je_dirty_decay_ms, -1, "empty: dirty_decay_ms unset");

	/* keys match whole names only; JE_MALLOC_CONF is the fallback */
	memmodel__settings(je, sizeof(je) - 1, &s);
	ASSERT_STREQ(s.malloc_conf, "background_thread:false", "JE_MALLOC_CONF");
	ASSERT_EQ(s.je_background_thread, 0, "background_thread:false");
	ASSERT_EQ(s.je_dirty_decay_ms, -1, "dirty_decay_ms still unset");

	/* nothing past len is read */
	memmodel__settings(cut, strlen(cut) + 1, &s);
	ASSERT_STREQ(s.arena_max, "4", "first entry inside len");
	ASSERT_STREQ(s.malloc_conf, "", "second entry past len");
	ASSERT_EQ(s.je_dirty_decay_ms, -1, "past len: unset");
}

/* Waterfall figures for diagnose: glibc, main arena only, no page figures. */
static struct fs_memory *diag_mem(uint64_t resident, uint64_t live)
{
	struct fs_memory *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->valid = 1;
	m->resident = m->mapped = resident;
	m->own_resident[FS_OWN_ALLOCATOR] = resident;
	m->held_basis = FS_B_TRACED;
	m->live = live;
	m->narenas = 1;
	m->arenas[0] = (struct fs_arena){ .main = 1, .heaps = 1, .resident = resident, .live = live };
	return m;
}

static const struct fs_settings no_settings = { .je_dirty_decay_ms = -1, .je_bg_threads = -1 };

/* held_free from the figures as they are now, then the diagnosis. */
static void diagnose_now(struct fs_memory *m, uint64_t peak, int alloc_id, const struct fs_settings *set,
			 struct fs_diagnosis *d)
{
	memmodel__finish(m);
	memmodel__diagnose(m, peak, alloc__by_id(alloc_id), set, d);
}

TEST(memmodel_diagnose_none_and_leak)
{
	struct fs_memory *m = diag_mem(4 * MiB, 1 * MiB);
	struct fs_diagnosis d;

	if (!ASSERT_OK_PTR(m, "calloc"))
		return;
	m->valid = 0;
	memset(&d, 0x5a, sizeof(d));
	diagnose_now(m, 64 * MiB, FS_ALLOC_GLIBC, &no_settings, &d);
	ASSERT_EQ(d.kind, FS_D_NONE, "invalid: none");
	ASSERT_HAS_STR(d.text, "exited", "invalid: the target exited");

	m->valid = 1;
	/* a command that exited 10 ms after its only sample, taken before it allocated */
	m->gone_age_ns = 10000000;
	m->resident = 0;
	diagnose_now(m, 1 * MiB, FS_ALLOC_GLIBC, &no_settings, &d);
	ASSERT_EQ(d.kind, FS_D_NONE, "sample before the allocations: none");
	ASSERT_HAS_STR(d.text, "exited 0.01 s after the last memory sample, which saw 0 B resident, before most of "
		       "the 1.0 MiB live", "the two moments told apart");
	m->resident = 768 * KiB;	/* live a little over resident: untouched pages, not two moments */
	diagnose_now(m, 1 * MiB, FS_ALLOC_GLIBC, &no_settings, &d);
	ASSERT_FALSE(strstr(d.text, "after the last memory sample"), "live under twice resident: not said");
	m->gone_age_ns = 0;
	m->resident = 4 * MiB;
	diagnose_now(m, 4 * MiB, FS_ALLOC_GLIBC, &no_settings, &d);
	ASSERT_EQ(d.kind, FS_D_NONE, "small heap: none");
	ASSERT_HAS_STR(d.text, "resident 4.0 MiB, of which 1.0 MiB live: a small heap, nothing to explain",
		       "small heap: figures, and never 'holds little beyond what is in use' with 3 of 4 MiB free");
	/* attached by PID, nothing seen (nginx's worker): unseen is neither in use nor free */
	m->held_basis = FS_B_UNKNOWN;
	m->pre_attach_bound = UINT64_MAX;
	m->live = 0;
	diagnose_now(m, 0, FS_ALLOC_GLIBC, &no_settings, &d);
	ASSERT_EQ(d.kind, FS_D_NONE, "small unseen heap: none");
	ASSERT_STREQ(d.text, "resident 4.0 MiB, of which 0 B live and 4.0 MiB unseen (blocks from before attach, or "
			     "free: not known): a small heap, nothing to explain", "unseen: said so");
	m->held_basis = FS_B_TRACED;
	m->live = 1 * MiB;
	diagnose_now(m, 4 * MiB, FS_ALLOC_JEMALLOC, &no_settings, &d);
	ASSERT_EQ(d.kind, FS_D_NONE, "small jemalloc heap: none");

	/* live (chunk bytes) over resident: not "of which" (memcached's mmapped slabs) */
	m->resident = 100 * MiB;
	m->live = 0;
	m->pre_attach_live = 101 * MiB;	/* from before attach: no peak seen */
	diagnose_now(m, 0, FS_ALLOC_GLIBC, &no_settings, &d);
	ASSERT_FALSE(strstr(d.text, "of which"), "live over resident: not a part of it");
	ASSERT_HAS_STR(d.text, "resident 100.0 MiB, live 101.0 MiB (live blocks' bytes include pages never touched)",
		       "live over resident: said");
	m->pre_attach_live = 0;

	/* mostly live, far below the peak: the program gave memory back */
	m->resident = 100 * MiB;
	m->live = 90 * MiB;
	diagnose_now(m, 400 * MiB, FS_ALLOC_GLIBC, &no_settings, &d);
	ASSERT_EQ(d.kind, FS_D_NONE, "mostly live, below peak: none");
	ASSERT_HAS_STR(d.text, "holds little beyond what is in use", "mostly live: said so");

	/* live stays at the peak and fills resident memory */
	diagnose_now(m, 100 * MiB, FS_ALLOC_GLIBC, &no_settings, &d);
	ASSERT_EQ(d.kind, FS_D_LEAK, "live near peak: leak");
	ASSERT_HAS_STR(d.text, "90.0 MiB of a peak of 100.0 MiB", "leak: figures");
	diagnose_now(m, 100 * MiB, FS_ALLOC_JEMALLOC, &no_settings, &d);
	ASSERT_EQ(d.kind, FS_D_LEAK, "leak whatever the allocator");
	/* attached by PID with all of it live already (memcached's slabs in light mode): no growth, no leak */
	m->live_at_attach = 90 * MiB;
	diagnose_now(m, 90 * MiB, FS_ALLOC_GLIBC, &no_settings, &d);
	ASSERT_EQ(d.kind, FS_D_NONE, "live at attach, unchanged: not a leak");
	/* grown by more than 8 MiB since attach and staying: a leak again */
	m->live_at_attach = 80 * MiB;
	diagnose_now(m, 90 * MiB + 1, FS_ALLOC_GLIBC, &no_settings, &d);
	ASSERT_EQ(d.kind, FS_D_LEAK, "grown since attach: leak");
	m->live_at_attach = 0;

	/* a peak of 8 MiB is too small to call a leak */
	m->resident = m->live = 8 * MiB;
	diagnose_now(m, 8 * MiB, FS_ALLOC_GLIBC, &no_settings, &d);
	ASSERT_EQ(d.kind, FS_D_NONE, "8 MiB peak: none");
	diagnose_now(m, 8 * MiB + 1, FS_ALLOC_GLIBC, &no_settings, &d);
	ASSERT_EQ(d.kind, FS_D_LEAK, "just over 8 MiB peak: leak");
	free(m);
}

TEST(memmodel_diagnose_jemalloc_cache)
{
	struct fs_memory *m = diag_mem(64 * MiB, 16 * MiB);
	struct fs_settings bg = { .je_background_thread = 1, .je_dirty_decay_ms = 1000, .je_dirty_decay_set = 1,
				  .je_bg_threads = -1 };
	struct fs_diagnosis d;

	if (!ASSERT_OK_PTR(m, "calloc"))
		return;
	m->narenas = 0;
	m->returned = 2 * MiB;
	diagnose_now(m, 64 * MiB, FS_ALLOC_JEMALLOC, &no_settings, &d);
	ASSERT_EQ(d.kind, FS_D_CACHE, "jemalloc, resident >> live: cache");
	ASSERT_HAS_STR(d.text, "jemalloc holds 48.0 MiB beyond 16.0 MiB live (2.0 MiB returned",
		       "cache: figures");
	ASSERT_HAS_STR(d.text, "amount unknown", "no jemalloc stats: no figure promised");
	ASSERT_HAS_STR(d.text, "MALLOC_CONF=background_thread:true", "no background thread: the remedy");
	ASSERT_FALSE(strstr(d.text, "malloc_trim"), "no glibc remedy");

	diagnose_now(m, 64 * MiB, FS_ALLOC_JEMALLOC, &bg, &d);
	ASSERT_EQ(d.kind, FS_D_CACHE, "background thread on: cache");
	ASSERT_FALSE(strstr(d.text, "background_thread:true"), "background thread on: not suggested");
	ASSERT_HAS_STR(d.text, "(1000 ms)", "background thread on: its dirty_decay_ms");
	bg.je_dirty_decay_set = 0;
	diagnose_now(m, 64 * MiB, FS_ALLOC_JEMALLOC, &bg, &d);
	ASSERT_HAS_STR(d.text, "(10000 ms, default)", "dirty_decay_ms unset: the default");
	bg.je_dirty_decay_set = 1;
	bg.je_dirty_decay_ms = -1;
	diagnose_now(m, 64 * MiB, FS_ALLOC_JEMALLOC, &bg, &d);
	ASSERT_HAS_STR(d.text, "turns purging off", "dirty_decay_ms:-1: never purged");

	/* neither glibc nor jemalloc: plain retention, no remedies named */
	diagnose_now(m, 64 * MiB, FS_ALLOC_UNKNOWN, &no_settings, &d);
	ASSERT_EQ(d.kind, FS_D_RETENTION, "other allocator: retention");
	ASSERT_STREQ(d.text, "the allocator holds 48.0 MiB resident beyond 16.0 MiB live", "other: text");
	free(m);
}

TEST(memmodel_diagnose_glibc)
{
	struct fs_memory *m = diag_mem(64 * MiB, 8 * MiB);
	struct fs_diagnosis d;

	if (!ASSERT_OK_PTR(m, "calloc"))
		return;
	diagnose_now(m, 60 * MiB, FS_ALLOC_GLIBC, &no_settings, &d);
	ASSERT_EQ(d.kind, FS_D_RETENTION, "glibc, resident >> live: retention");
	ASSERT_HAS_STR(d.text, "live bytes fell to 8.0 MiB (peak 60.0 MiB) but 64.0 MiB stays resident",
		       "retention: figures");
	ASSERT_HAS_STR(d.text, "malloc_trim(0) after a load (amount unknown",
		       "without page figures: no figure promised");
	ASSERT_FALSE(strstr(d.text, "MALLOC_ARENA_MAX"), "one arena: no arena_max advice");
	ASSERT_FALSE(strstr(d.text, "hold no live block"), "no page figures: not quoted");
	/* attached with a census: another at the end gives malloc_trim's figure, labelled
	 * approximate when the heap changed during that walk */
	m->end_census = 1;
	m->end_census_trim = 40 * MiB;
	diagnose_now(m, 60 * MiB, FS_ALLOC_GLIBC, &no_settings, &d);
	ASSERT_HAS_STR(d.text, "about 40.0 MiB: free resident pages inside glibc's heaps, by a heap census at the end)",
		       "end census: its figure");
	ASSERT_EQ(d.expect, 40 * MiB, "end census: the remedy's figure");
	ASSERT_STREQ(d.evidence, "heap census", "end census: the evidence");
	m->end_census_approximate = 1;
	diagnose_now(m, 60 * MiB, FS_ALLOC_GLIBC, &no_settings, &d);
	ASSERT_HAS_STR(d.text, "at the end, approximate: the heap changed during the walk", "end census: approximate said");
	m->end_census = m->end_census_approximate = 0;
	m->end_census_trim = 0;
	/* attached after the load (python3 in light mode): live never fell while watched */
	diagnose_now(m, 8 * MiB, FS_ALLOC_GLIBC, &no_settings, &d);
	ASSERT_HAS_STR(d.text, "8.0 MiB live (no fall seen since attach) but 64.0 MiB stays resident", "no fall: not said");
	ASSERT_FALSE(strstr(d.text, "fell to"), "no fall claimed");
	/* --census: the blocks from before attach are live too (python3: "0 B live" was said) */
	m->held_basis = FS_B_CENSUS;
	m->live = 0;
	m->pre_attach_live = 8 * MiB;
	diagnose_now(m, 0, FS_ALLOC_GLIBC, &no_settings, &d);
	ASSERT_HAS_STR(d.text, "8.0 MiB live with the blocks from before attach (no fall seen since attach) but 64.0 "
		       "MiB stays resident", "census: pre-attach blocks counted live");
	m->held_basis = FS_B_TRACED;
	m->pre_attach_live = 0;
	m->live = 8 * MiB;
	diagnose_now(m, 60 * MiB, FS_ALLOC_GLIBC, &no_settings, &d);

	/* with page figures the estimate is the empty pages */
	m->pages_valid = 1;
	m->resident_no_live = m->heap_no_live = 12 * MiB;
	m->low_occupancy = 3 * MiB;
	diagnose_now(m, 60 * MiB, FS_ALLOC_GLIBC, &no_settings, &d);
	ASSERT_HAS_STR(d.text, "12.0 MiB of resident heap pages hold no live block (3.0 MiB more",
		       "page figures quoted");
	ASSERT_HAS_STR(d.text, "up to 12.0 MiB: heap pages holding no live block", "release the empty pages");
	m->pages_approximate = 1;
	diagnose_now(m, 60 * MiB, FS_ALLOC_GLIBC, &no_settings, &d);
	ASSERT_HAS_STR(d.text, "hold no live block that fragscope saw allocated", "approximate pages");
	m->pages_valid = m->pages_approximate = 0;

	/* two arenas: MALLOC_ARENA_MAX=2 would change nothing */
	m->narenas = 2;
	m->arenas[1] = (struct fs_arena){ .ar_ptr = AR_A, .heaps = 1, .resident = 16 * MiB, .live = 1 * MiB };
	diagnose_now(m, 60 * MiB, FS_ALLOC_GLIBC, &no_settings, &d);
	ASSERT_EQ(d.kind, FS_D_RETENTION, "two arenas, one pinned: retention");
	ASSERT_FALSE(strstr(d.text, "MALLOC_ARENA_MAX"), "two arenas: no arena_max advice");

	/* three arenas, one pinned (the main arena, 1/8 live, never counts; 4 MiB is
	 * not over 4 MiB): still retention, and fewer arenas is advised */
	m->narenas = 3;
	m->arenas[1] = (struct fs_arena){ .ar_ptr = AR_A, .heaps = 1, .resident = 16 * MiB, .live = 1 * MiB };
	m->arenas[2] = (struct fs_arena){ .ar_ptr = AR_B, .heaps = 1, .resident = 4 * MiB, .live = 0 };
	diagnose_now(m, 60 * MiB, FS_ALLOC_GLIBC, &no_settings, &d);
	ASSERT_EQ(d.kind, FS_D_RETENTION, "one arena over 4 MiB: retention");
	ASSERT_HAS_STR(d.text, "malloc_trim", "retention: malloc_trim");
	ASSERT_HAS_STR(d.text, "MALLOC_ARENA_MAX=2", "3 arenas: arena_max advice");
	ASSERT_HAS_STR(d.text, "(3 now)", "3 arenas: count");

	/* an arena a quarter live is not pinned */
	m->arenas[2].resident = 16 * MiB;
	m->arenas[2].live = 4 * MiB;
	diagnose_now(m, 60 * MiB, FS_ALLOC_GLIBC, &no_settings, &d);
	ASSERT_EQ(d.kind, FS_D_RETENTION, "second arena a quarter live: retention");

	/* two non-main arenas over 4 MiB, each under a quarter live */
	m->arenas[2].live = 4 * MiB - 1;
	diagnose_now(m, 60 * MiB, FS_ALLOC_GLIBC, &no_settings, &d);
	ASSERT_EQ(d.kind, FS_D_ARENA_SPREAD, "two pinned arenas: arena spread");
	ASSERT_HAS_STR(d.text, "2 of 3 glibc arenas keep mostly free memory", "arena spread: counts");
	ASSERT_HAS_STR(d.text, "malloc_trim", "arena spread: malloc_trim");
	ASSERT_HAS_STR(d.text, "MALLOC_ARENA_MAX=2", "arena spread: arena_max advice");
	/* blocks a --census counted before attach are live too */
	m->pre_attach_live = 3 * MiB;
	diagnose_now(m, 60 * MiB, FS_ALLOC_GLIBC, &no_settings, &d);
	ASSERT_HAS_STR(d.text, "64.0 MiB resident, 11.0 MiB live. ", "arena spread: live with the census's blocks");

	free(m);
}

TEST(memmodel_diag_name)
{
	ASSERT_STREQ(memmodel__diag_name(FS_D_NONE), "none", "none");
	ASSERT_STREQ(memmodel__diag_name(FS_D_LEAK), "leak", "leak");
	ASSERT_STREQ(memmodel__diag_name(FS_D_RETENTION), "retention", "retention");
	ASSERT_STREQ(memmodel__diag_name(FS_D_CACHE), "allocator_cache", "cache");
	ASSERT_STREQ(memmodel__diag_name(FS_D_ARENA_SPREAD), "arena_spread", "arena spread");
	ASSERT_STREQ(memmodel__diag_name(-1), "none", "negative");
	ASSERT_STREQ(memmodel__diag_name(FS_D_UNSEEN), "unseen", "unseen");
	ASSERT_STREQ(memmodel__diag_name(FS_D_NOT_ALLOCATOR), "not_allocator", "not the allocator's");
	ASSERT_STREQ(memmodel__diag_name(FS_D_NOT_ALLOCATOR + 1), "none", "past the last");
}

TEST(memmodel_diagnose_churn)
{
	struct fs_memory *m = calloc(1, sizeof(*m));
	struct fs_settings set;
	struct fs_diagnosis d;

	if (!ASSERT_OK_PTR(m, "calloc"))
		return;
	memmodel__settings("", 0, &set);
	m->valid = 1;
	m->resident = 4u << 20;
	m->live = 3u << 20;
	m->faults = 10000;
	m->churn_faults = 9000;		/* 35.2 MiB faulted back soon after release */
	m->churn_src[FS_R_GLIBC_TRIM] = 9000;	/* all of it on pages glibc's trim released */
	diagnose_now(m, 3u << 20, FS_ALLOC_GLIBC, &set, &d);
	ASSERT_EQ(d.kind, FS_D_NONE, "churn does not change the kind");
	ASSERT_HAS_STR(d.text, "Churn: 35.2 MiB were faulted back", "churn: figure");
	ASSERT_HAS_STR(d.text, "(90% of 10000 page faults)", "churn: share");
	ASSERT_HAS_STR(d.text, "glibc's trim of heap tops after frees released them (100% of those pages)",
		       "churn: glibc's trim named");
	ASSERT_HAS_STR(d.text, "glibc.malloc.trim_threshold", "churn: glibc remedy");
	ASSERT_FALSE(strstr(d.text, "the program's own"), "churn: not the program's");

	/* pymalloc's case: a glibc process whose churn follows the program's own
	 * munmaps (its arenas) - glibc's trim is not to blame, nor its settings */
	m->churn_src[FS_R_GLIBC_TRIM] = 900;
	m->churn_src[FS_R_PROGRAM] = 8100;
	diagnose_now(m, 3u << 20, FS_ALLOC_GLIBC, &set, &d);
	ASSERT_HAS_STR(d.text, "the program's own munmap or madvise calls released them, not the allocator "
			       "(90% of those pages)", "churn: the program named");
	ASSERT_HAS_STR(d.text, "the remedy is in the program", "churn: the program's remedy");
	ASSERT_FALSE(strstr(d.text, "trim_threshold"), "churn: 10% from glibc's trim: no glibc remedy");

	/* two mechanisms of weight: both named, the larger first */
	m->churn_src[FS_R_GLIBC_TRIM] = 3000;
	m->churn_src[FS_R_PROGRAM] = 6000;
	diagnose_now(m, 3u << 20, FS_ALLOC_GLIBC, &set, &d);
	ASSERT_HAS_STR(d.text, "not the allocator (67% of those pages)", "churn: program first");
	ASSERT_HAS_STR(d.text, "; glibc's trim of heap tops after frees released them (33% of those pages): a higher "
			       "glibc.malloc.trim_threshold", "churn: glibc's trim second");

	/* jemalloc: its decay, not glibc's trim */
	memset(m->churn_src, 0, sizeof(m->churn_src));
	m->churn_src[FS_R_JE_DECAY] = 9000;
	diagnose_now(m, 3u << 20, FS_ALLOC_JEMALLOC, &set, &d);
	ASSERT_HAS_STR(d.text, "jemalloc's decay purged them (100% of those pages): a longer dirty_decay_ms",
		       "churn: jemalloc's decay");

	/* no attribution: nobody blamed */
	memset(m->churn_src, 0, sizeof(m->churn_src));
	diagnose_now(m, 3u << 20, FS_ALLOC_GLIBC, &set, &d);
	ASSERT_HAS_STR(d.text, "who released them is not known", "churn: unknown");
	ASSERT_FALSE(strstr(d.text, "trim_threshold"), "churn: unknown: no glibc remedy");
	m->churn_faults = 1000;		/* under a quarter of the faults: no word of it */
	diagnose_now(m, 3u << 20, FS_ALLOC_GLIBC, &set, &d);
	ASSERT_FALSE(strstr(d.text, "Churn"), "little churn: not mentioned");
	free(m);
}

/* The diagnosis is chosen by the backend's hooks, not by its capability flags: a
 * backend without them gets the model's generic texts, whatever it can walk. */
TEST(memmodel_diagnose_backend_without_hooks)
{
	static const struct fs_allocator bare = { .id = FS_ALLOC_UNKNOWN, .name = "bare", .heap_walk = 1 };
	struct fs_memory *m = diag_mem(64 * MiB, 16 * MiB);
	struct fs_diagnosis d;

	if (!ASSERT_OK_PTR(m, "calloc"))
		return;
	memmodel__finish(m);
	memmodel__diagnose(m, 64 * MiB, &bare, &no_settings, &d);
	ASSERT_EQ(d.kind, FS_D_RETENTION, "retention");
	ASSERT_STREQ(d.text, "the allocator holds 48.0 MiB resident beyond 16.0 MiB live", "the generic sentence");
	ASSERT_STREQ(d.remedy, "", "no remedy");

	m->held_basis = FS_B_UNKNOWN;
	m->pre_attach_bound = UINT64_MAX;
	memmodel__finish(m);
	memmodel__diagnose(m, 64 * MiB, &bare, &no_settings, &d);
	ASSERT_EQ(d.kind, FS_D_UNSEEN, "unseen");
	ASSERT_FALSE(strstr(d.text, "fragscope snapshot"), "unseen: no backend's hint");
	ASSERT_ENDS_WITH(d.text, "no remedy can promise any of it back. ", "unseen: ends there");

	m->held_basis = FS_B_TRACED;
	m->resident = 4 * MiB;
	m->own_resident[FS_OWN_ALLOCATOR] = 4 * MiB;
	m->live = 3 * MiB;
	m->faults = 10000;
	m->churn_faults = 9000;
	m->churn_src[FS_R_MUNMAP_BLOCK] = 6000;
	m->churn_src[FS_R_GLIBC_TRIM] = 3000;
	memmodel__finish(m);
	memmodel__diagnose(m, 3 * MiB, &bare, &no_settings, &d);
	ASSERT_HAS_STR(d.text, ": the allocator unmapped large blocks (67% of those pages): the program allocates "
			       "them again soon; the allocator released them (33% of those pages): its settings for "
			       "returning memory decide.", "churn: the generic texts");
	memmodel__diagnose(m, 3 * MiB, alloc__by_id(FS_ALLOC_GLIBC), &no_settings, &d);
	ASSERT_HAS_STR(d.text, ": glibc unmapped large blocks (mmapped chunks, or whole heaps) (67% of those pages): "
			       "a higher glibc.malloc.mmap_threshold keeps such blocks in the heap; glibc's trim of "
			       "heap tops", "churn: glibc's texts");
	free(m);
}

TEST(memmodel_diagnose_busy_is_not_a_leak)
{
	struct fs_memory *m = calloc(1, sizeof(*m));
	struct fs_settings set;
	struct fs_diagnosis d;

	if (!ASSERT_OK_PTR(m, "calloc"))
		return;
	memmodel__settings("", 0, &set);
	m->valid = 1;
	m->resident = 40u << 20;
	m->live = 36u << 20;
	m->busy = 1;
	diagnose_now(m, 40u << 20, FS_ALLOC_GLIBC, &set, &d);
	ASSERT_EQ(d.kind, FS_D_NONE, "allocating at the peak: a load, not a leak");
	ASSERT_HAS_STR(d.text, "a load in progress", "says why");
	m->busy = 0;
	diagnose_now(m, 40u << 20, FS_ALLOC_GLIBC, &set, &d);
	ASSERT_EQ(d.kind, FS_D_LEAK, "quiet and still at the peak: a leak");
	free(m);
}

/* One merged VMA of 8 pages: pages 0-3 the program mapped, 4-7 the allocator;
 * pages 1, 2 and 5 present. */
TEST(memmodel_owners_mixed)
{
	static const uint8_t pages[] = { 0, 1, 1, 0, 0, 1, 0, 0 };
	struct fake_pages fp = { .base = 0x20000000, .pages = pages, .npages = 8 };
	struct fs_region one[] = { { .start = 0x20000000, .end = 0x20000000 + 8 * PG, .kind = FS_RG_ANON,
				     .rss = 3 * PG, .anon = 3 * PG, .perms = "rw-p" } };
	struct fs_regions rs = { .r = one, .n = 1, .cap = 1 };
	struct fs_owned ev[] = {
		{ 0x1f000000, 0x20000000 + 4 * PG, FS_OWN_PROGRAM },	/* starts before the region */
		{ 0x20000000 + 4 * PG, 0x20000000 + 6 * PG, FS_OWN_ALLOCATOR },
	};
	struct fs_memory *m = calloc(1, sizeof(*m));

	if (!ASSERT_OK_PTR(m, "calloc"))
		return;
	memmodel__own(&rs, 1, ev, 2, FS_OWN_UNKNOWN);
	ASSERT_EQ(one[0].owner, FS_OWN_MIXED, "several owners: mixed");
	memmodel__sum(&rs, ev, 2, FS_OWN_UNKNOWN, fake_present, &fp, m);
	ASSERT_EQ(m->own_mapped[FS_OWN_PROGRAM], 4 * PG, "program mapped");
	ASSERT_EQ(m->own_mapped[FS_OWN_ALLOCATOR], 2 * PG, "allocator mapped");
	ASSERT_EQ(m->own_mapped[FS_OWN_UNKNOWN], 2 * PG, "the rest: unknown");
	ASSERT_EQ(m->own_resident[FS_OWN_PROGRAM], 2 * PG, "program resident: pages 1, 2");
	ASSERT_EQ(m->own_resident[FS_OWN_ALLOCATOR], 1 * PG, "allocator resident: page 5");
	ASSERT_EQ(m->own_resident[FS_OWN_UNKNOWN], 0, "nothing unknown resident");
	ASSERT_EQ(m->resident, 1 * PG, "the waterfall counts the allocator's part only");
	ASSERT_EQ(m->owners_partial, 0, "residency was read");

	/* one owner over the whole region: not mixed */
	ev[1].end = 0x20000000 + 8 * PG;
	ev[0].owner = FS_OWN_ALLOCATOR;
	memmodel__own(&rs, 1, ev, 2, FS_OWN_UNKNOWN);
	ASSERT_EQ(one[0].owner, FS_OWN_ALLOCATOR, "one owner");
	/* residency unreadable: split by address space, and said */
	ev[0].owner = FS_OWN_PROGRAM;
	memmodel__own(&rs, 1, ev, 2, FS_OWN_UNKNOWN);
	fp.fail_start = 0x20000000;
	memset(m, 0, sizeof(*m));
	memmodel__sum(&rs, ev, 2, FS_OWN_UNKNOWN, fake_present, &fp, m);
	ASSERT_EQ(m->owners_partial, 1, "unreadable: partial");
	ASSERT_EQ(m->own_resident[FS_OWN_PROGRAM], 3 * PG / 2, "unreadable: program's half of the space");
	ASSERT_EQ(m->own_resident[FS_OWN_PROGRAM] + m->own_resident[FS_OWN_ALLOCATOR] + m->own_resident[FS_OWN_UNKNOWN],
		  3 * PG, "split in full");
	free(m);
}

/* Attached late: what fragscope has not seen is not free, and foreign memory is not the allocator's. */
TEST(memmodel_diagnose_evidence)
{
	struct fs_memory *m = diag_mem(64 * MiB, 8 * MiB);
	struct fs_settings bg_now = { .je_dirty_decay_ms = -1, .je_bg_threads = 1 };
	struct fs_diagnosis d;

	if (!ASSERT_OK_PTR(m, "calloc"))
		return;
	m->held_basis = FS_B_UNKNOWN;
	m->pre_attach_bound = UINT64_MAX;
	diagnose_now(m, 8 * MiB, FS_ALLOC_GLIBC, &no_settings, &d);
	ASSERT_EQ(d.kind, FS_D_UNSEEN, "unknown basis: unseen");
	ASSERT_EQ(m->held_free, 0, "unseen: nothing called free");
	ASSERT_EQ(m->unseen, 56 * MiB, "unseen: resident beyond live");
	ASSERT_HAS_STR(d.text, "has not been seen", "unseen: says so");
	ASSERT_HAS_STR(d.text, "fragscope snapshot -p PID", "unseen: how to see it");
	ASSERT_FALSE(strstr(d.text, "expected to"), "unseen: no figure promised");

	/* a Go heap: the allocator holds little, the program's mappings hold much */
	m->resident = m->own_resident[FS_OWN_ALLOCATOR] = 2 * MiB;
	m->live = 1 * MiB;
	m->own_resident[FS_OWN_UNKNOWN] = 88 * MiB;
	diagnose_now(m, 8 * MiB, FS_ALLOC_GLIBC, &no_settings, &d);
	ASSERT_EQ(d.kind, FS_D_NOT_ALLOCATOR, "foreign memory: not the allocator's");
	ASSERT_HAS_STR(d.text, "88.0 MiB of anonymous memory is not known to be the allocator's", "foreign: figure");
	ASSERT_HAS_STR(d.text, "88.0 MiB has no known owner", "foreign: unknown owner");
	ASSERT_FALSE(strstr(d.text, "malloc_trim(0) after"), "foreign: no malloc_trim remedy");

	/* retention beside foreign memory: both said, the remedy covers the heap only */
	m->held_basis = FS_B_TRACED;
	m->resident = m->own_resident[FS_OWN_ALLOCATOR] = 64 * MiB;
	m->live = 8 * MiB;
	diagnose_now(m, 60 * MiB, FS_ALLOC_GLIBC, &no_settings, &d);
	ASSERT_EQ(d.kind, FS_D_RETENTION, "traced: retention");
	ASSERT_HAS_STR(d.text, "Besides, 88.0 MiB of anonymous memory is not known", "retention: foreign noted");
	m->trim_calls = 2;
	m->trim_released = 3 * MiB;
	diagnose_now(m, 60 * MiB, FS_ALLOC_GLIBC, &no_settings, &d);
	ASSERT_HAS_STR(d.text, "2 malloc_trim() calls released 3.0 MiB", "observed trims quoted");
	m->own_resident[FS_OWN_UNKNOWN] = 0;

	/* jemalloc's own stats: the remedy promises unpurged pages, not fragmentation */
	m->je_valid = 1;
	m->held_basis = FS_B_ALLOC_STATS;
	m->je_allocated = 8 * MiB;
	m->je_active = 40 * MiB;
	m->je_dirty = 2 * MiB;
	m->je_muzzy = 0;
	diagnose_now(m, 60 * MiB, FS_ALLOC_JEMALLOC, &no_settings, &d);
	ASSERT_EQ(d.kind, FS_D_RETENTION, "jemalloc stats, mostly slab fragmentation: retention");
	ASSERT_STREQ(d.remedy, "background_thread", "remedy named");
	ASSERT_EQ(d.expect, 2 * MiB, "remedy: the unpurged pages");
	ASSERT_STREQ(d.evidence, "jemalloc stats", "remedy: its evidence");
	ASSERT_EQ(m->held_free, 34 * MiB, "jemalloc stats: held free");
	ASSERT_HAS_STR(d.text, "expected to return the 2.0 MiB of unpurged pages", "only dirty+muzzy promised");
	ASSERT_HAS_STR(d.text, "32.0 MiB) is fragmentation inside jemalloc's slabs", "fragmentation named");
	/* background thread started at run time (mallctl), invisible in MALLOC_CONF */
	diagnose_now(m, 60 * MiB, FS_ALLOC_JEMALLOC, &bg_now, &d);
	ASSERT_FALSE(strstr(d.text, "MALLOC_CONF=background_thread:true"), "running background thread: not suggested");
	ASSERT_HAS_STR(d.text, "background_thread is on (its threads run)", "running background thread: said");
	/* nothing to purge: no purge remedy at all (redis after deletions) */
	m->je_dirty = 0;
	diagnose_now(m, 60 * MiB, FS_ALLOC_JEMALLOC, &bg_now, &d);
	ASSERT_HAS_STR(d.text, "Nothing worth a purge setting awaits purging", "nothing to purge: said");
	ASSERT_STREQ(d.remedy, "", "nothing to purge: no remedy");
	ASSERT_EQ(d.expect, -1, "nothing to purge: no figure");
	free(m);
}
