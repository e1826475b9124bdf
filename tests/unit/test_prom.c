/* test_prom.c - the Prometheus exposition: names and units from the metric table,
 * escaping, the figures each mode has (absent, never 0), the cgroup and container labels. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "alloc/alloc.h"
#include "model/metric.h"
#include "model/state.h"
#include "out/prom.h"
#include "test.h"

static char *escaped(const char *s, int quote)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	prom__escape(f, s, quote);
	fclose(f);
	return buf;
}

TEST(prom_escape)
{
	char *a = escaped("a\\b\"c\nd", 1), *b = escaped("a\\b\"c\nd", 0), *c = escaped("plain", 1);

	ASSERT_STREQ(a, "a\\\\b\\\"c\\nd", "label value: backslash, quote, newline");
	ASSERT_STREQ(b, "a\\\\b\"c\\nd", "HELP: quotes stay");
	ASSERT_STREQ(c, "plain", "nothing to escape");
	free(a);
	free(b);
	free(c);
}

static int valid_name(const char *n)
{
	if (!*n || !(isalpha((unsigned char)*n) || *n == '_' || *n == ':'))
		return 0;
	for (; *n; n++)
		if (!(isalnum((unsigned char)*n) || *n == '_' || *n == ':'))
			return 0;
	return 1;
}

static const char *name_of(const char *column, char *buf, size_t len, const char **lab, const char **val)
{
	const struct fs_metric *m = metric__by_column(column);

	if (!m || prom__name(m, buf, len, lab, val))
		return NULL;
	return buf;
}

TEST(prom_names)
{
	char buf[128];
	const char *lab, *val;

	/* every exported row: a valid name, fragscope_, counters _total, bytes _bytes,
	 * and one family never has two types */
	for (int i = 0; i < fs_nmetrics; i++) {
		const struct fs_metric *m = &fs_metrics[i];
		size_t n;

		if (prom__name(m, buf, sizeof(buf), &lab, &val))
			continue;
		n = strlen(buf);
		ASSERT_TRUE(valid_name(buf) && !strncmp(buf, "fragscope_", 10), buf);
		if (!strcmp(prom__type(m), "counter"))
			ASSERT_TRUE(n > 6 && !strcmp(buf + n - 6, "_total"), buf);
		else
			ASSERT_TRUE(n < 6 || strcmp(buf + n - 6, "_total"), buf);
		if (m->unit == FS_UNIT_BYTES)
			ASSERT_TRUE(strstr(buf, "_bytes") != NULL, buf);
		for (int k = 0; k < i; k++) {
			char other[128];
			const char *l2, *v2;

			if (!prom__name(&fs_metrics[k], other, sizeof(other), &l2, &v2) && !strcmp(other, buf)) {
				ASSERT_STREQ(prom__type(&fs_metrics[k]), prom__type(m), buf);
				ASSERT_TRUE(l2 && lab && !strcmp(l2, lab) && strcmp(v2, val), "a shared family differs by a label");
			}
		}
	}
	ASSERT_STREQ(name_of("live_bytes", buf, sizeof(buf), &lab, &val), "fragscope_live_bytes", "live bytes");
	ASSERT_STREQ(prom__type(metric__by_column("live_bytes")), "gauge", "live bytes: a gauge");
	ASSERT_STREQ(name_of("live_count", buf, sizeof(buf), &lab, &val), "fragscope_live_blocks", "live blocks");
	ASSERT_STREQ(name_of("allocs", buf, sizeof(buf), &lab, &val), "fragscope_allocs_total", "allocations");
	ASSERT_STREQ(name_of("bytes_allocated", buf, sizeof(buf), &lab, &val), "fragscope_allocated_bytes_total",
		     "bytes_ first: moved to the end");
	ASSERT_STREQ(name_of("untracked", buf, sizeof(buf), &lab, &val), "fragscope_untracked_total", "untracked");
	ASSERT_STREQ(name_of("held_free", buf, sizeof(buf), &lab, &val), "fragscope_held_free_bytes", "held free");
	ASSERT_STREQ(name_of("returned", buf, sizeof(buf), &lab, &val), "fragscope_returned_bytes_total",
		     "returned: a counter");
	ASSERT_STREQ(name_of("fragmentation", buf, sizeof(buf), &lab, &val), "fragscope_fragmentation_ratio", "ratio");
	ASSERT_STREQ(name_of("census_age_ms", buf, sizeof(buf), &lab, &val), "fragscope_census_age_seconds",
		     "milliseconds as seconds");
	ASSERT_STREQ(name_of("sm_live_est", buf, sizeof(buf), &lab, &val), "fragscope_sampled_live_bytes",
		     "sampled estimate: its own name");
	ASSERT_STREQ(name_of("sm_live_stderr", buf, sizeof(buf), &lab, &val), "fragscope_sampled_live_bytes_stderr",
		     "its standard error");
	ASSERT_STREQ(name_of("src_jemalloc_decay_resident", buf, sizeof(buf), &lab, &val),
		     "fragscope_release_source_resident_bytes_total", "by source: one family");
	ASSERT_TRUE(lab && !strcmp(lab, "source") && !strcmp(val, "jemalloc_decay"), "the source as a label");
	ASSERT_STREQ(name_of("munmap_resident", buf, sizeof(buf), &lab, &val),
		     "fragscope_release_kind_resident_bytes_total", "by kind: one family");
	ASSERT_TRUE(lab && !strcmp(lab, "kind") && !strcmp(val, "munmap"), "the kind as a label");
	ASSERT_TRUE(name_of("allocs_per_s", buf, sizeof(buf), &lab, &val) == NULL, "rates: PromQL's rate()");
	ASSERT_TRUE(name_of("held_free_basis", buf, sizeof(buf), &lab, &val) == NULL, "enums: not exported");
	ASSERT_TRUE(name_of("live", buf, sizeof(buf), &lab, &val) == NULL, "memory.live: fragscope_live_bytes again");
}

struct proc_fix {
	struct fs_target_info info;
	struct fs_state *st;
	struct fs_view v;
};

static void fix_init(struct proc_fix *p, int pid, const char *comm, int light, int sampled)
{
	memset(p, 0, sizeof(*p));
	p->st = calloc(1, sizeof(*p->st));
	p->info.pid = pid;
	p->info.exit_code = -1;
	snprintf(p->info.comm, sizeof(p->info.comm), "%s", comm);
	p->st->light = light;
	p->st->sampled = sampled;
	p->st->allocator = alloc__by_name("glibc");
	p->st->mem.valid = 1;
	p->st->mem.resident = 8192;
	p->st->mem.held_basis = 1;
	p->st->mem.held_free = 4096;
	p->st->sample_bytes = 1;
	p->st->snap.c[FS_C_ALLOCS] = 7;
	p->st->snap.c[FS_C_ALLOC_BYTES] = 700;
	p->st->snap.c[FS_C_FREES] = 3;
	p->st->snap.c[FS_C_FREE_BYTES] = 300;
	p->st->snap.c[FS_C_TRACKED_BYTES] = 700;
	p->st->snap.c[FS_C_TRACKED_FREE_BYTES] = 300;
	p->st->diag.kind = 2;	/* retention */
	p->v = (struct fs_view){ .target = &p->info, .snap = &p->st->snap, .st = p->st, .max_live = 1024 };
}

static char *write_all(const struct prom_proc *pp, int n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (prom__write(f, pp, n))
		buf[0] = 0;
	fclose(f);
	return buf;
}

static int has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p += n)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
	return 0;
}

static int has_prefix(const char *text, const char *name)
{
	char pat[128];

	snprintf(pat, sizeof(pat), "\n%s{", name);
	return strstr(text, pat) != NULL;
}

#define CID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

TEST(prom_write_modes)
{
	struct proc_fix ex, lt, sm, gone;
	struct prom_proc pp[4];
	char *out;

	fix_init(&ex, 100, "svc \"a\"", 0, 0);
	fix_init(&lt, 200, "light", 1, 0);
	fix_init(&sm, 300, "samp", 1, 1);
	fix_init(&gone, 400, "gone", 0, 0);
	gone.info.exited = 1;
	snprintf(ex.info.ctr.cgroup, sizeof(ex.info.ctr.cgroup), "/system.slice/a.service");
	snprintf(lt.info.ctr.cgroup, sizeof(lt.info.ctr.cgroup), "/system.slice/docker-%s.scope", CID);
	snprintf(lt.info.ctr.id, sizeof(lt.info.ctr.id), "%s", CID);
	pp[0] = (struct prom_proc){ .v = &ex.v };
	pp[1] = (struct prom_proc){ .v = &lt.v };
	pp[2] = (struct prom_proc){ .v = &sm.v };
	pp[3] = (struct prom_proc){ .v = &gone.v };
	out = write_all(pp, 4);
	if (!ASSERT_OK_PTR(out, "written"))
		goto cleanup;
	ASSERT_TRUE(has_line(out, "# TYPE fragscope_allocs_total counter"), "TYPE line");
	ASSERT_TRUE(has_line(out, "# HELP fragscope_allocs_total allocations"), "HELP line from the table's label");
	ASSERT_TRUE(has_line(out, "fragscope_allocs_total{pid=\"100\",comm=\"svc \\\"a\\\"\",allocator=\"glibc\","
				  "mode=\"exact\",cgroup=\"/system.slice/a.service\"} 7"),
		    "exact: allocations, labels escaped, cgroup");
	ASSERT_TRUE(has_line(out, "fragscope_allocated_bytes_total{pid=\"100\",comm=\"svc \\\"a\\\"\",allocator=\"glibc\","
				  "mode=\"exact\",cgroup=\"/system.slice/a.service\"} 700"),
		    "exact: bytes allocated");
	ASSERT_TRUE(has_line(out, "fragscope_live_bytes{pid=\"100\",comm=\"svc \\\"a\\\"\",allocator=\"glibc\","
				  "mode=\"exact\",cgroup=\"/system.slice/a.service\"} 400"),
		    "exact: live bytes, allocated - freed");
	ASSERT_TRUE(has_line(out, "fragscope_held_free_bytes{pid=\"200\",comm=\"light\",allocator=\"glibc\","
				  "mode=\"light\",cgroup=\"/system.slice/docker-" CID ".scope\",container=\"" CID "\"} 4096"),
		    "light: held free, with the cgroup and the container id");
	ASSERT_TRUE(has_line(out, "fragscope_allocs_total{pid=\"300\",comm=\"samp\",allocator=\"glibc\","
				  "mode=\"sampled\"} 7"),
		    "no cgroup or container label when not known");
	ASSERT_TRUE(!strstr(out, "fragscope_allocs_total{pid=\"200\""), "light: no allocation count, not 0");
	ASSERT_TRUE(!strstr(out, "fragscope_live_bytes{pid=\"200\""), "light: no counted live bytes");
	ASSERT_TRUE(has_line(out, "fragscope_allocs_total{pid=\"300\",comm=\"samp\",allocator=\"glibc\","
				  "mode=\"sampled\"} 7"),
		    "sampled: calls counted at entry");
	ASSERT_TRUE(!strstr(out, "fragscope_freed_bytes_total{pid=\"300\""), "sampled: sizes of frees not known");
	ASSERT_TRUE(has_prefix(out, "fragscope_sampled_live_bytes") &&
		    strstr(out, "fragscope_sampled_live_bytes{pid=\"300\""), "sampled: the estimate");
	ASSERT_TRUE(!strstr(out, "fragscope_sampled_live_bytes{pid=\"100\""), "exact: no estimate");
	ASSERT_TRUE(!strstr(out, "pid=\"400\""), "an exited process: its series end");
	ASSERT_TRUE(has_line(out, "fragscope_diagnosis_info{pid=\"200\",comm=\"light\",allocator=\"glibc\","
				  "mode=\"light\",cgroup=\"/system.slice/docker-" CID ".scope\",container=\"" CID "\","
				  "kind=\"retention\"} 1"),
		    "the diagnosis as an info metric");
	ASSERT_TRUE(has_line(out, "fragscope_processes 3"), "processes watched and running");
	/* one family, one HELP and one TYPE, its series together */
	ASSERT_TRUE(!strstr(strstr(out, "# TYPE fragscope_allocs_total ") + 1, "# TYPE fragscope_allocs_total "),
		    "TYPE once");
	{
		const char *first = strstr(out, "\nfragscope_allocs_total{"), *next = strstr(out, "\n# ");

		while (next && next < first)
			next = strstr(next + 1, "\n# ");
		ASSERT_TRUE(first && strstr(first + 1, "\nfragscope_allocs_total{") < next, "series of a family together");
	}
cleanup:
	free(out);
	free(ex.st);
	free(lt.st);
	free(sm.st);
	free(gone.st);
}
