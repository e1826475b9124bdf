/* test_metric.c - the metric table as an exporter reads it: every metric named,
 * united and labelled, keys and columns unique, values read from the right place. */
#include <stdint.h>
#include <string.h>
#include "model/metric.h"
#include "out/session.h"
#include "test.h"

TEST(metric_table_complete)
{
	int stored = 0;

	ASSERT_TRUE(fs_nmetrics > 60, "the table is filled");
	for (int i = 0; i < fs_nmetrics; i++) {
		const struct fs_metric *m = &fs_metrics[i];
		const char *name = m->column ? m->column : m->json;

		if (!ASSERT_TRUE(name && *name, "a metric has a column or a JSON key"))
			break;
		/* a metric not stored in sessions is one `stat --json` shows */
		if (!ASSERT_TRUE(m->column || m->json, name))
			break;
		if (!ASSERT_TRUE(m->label && *m->label, name))
			break;
		if (!ASSERT_TRUE(m->unit >= 0 && m->unit < FS_UNIT__COUNT && fs_unit_names[m->unit], name))
			break;
		if (!ASSERT_TRUE(m->exact == 0 || m->exact == 1, name))
			break;
		if (!ASSERT_TRUE(m->group == SG_TIME || m->group == SG_COUNTERS || m->group == SG_RATES ||
				 m->group == SG_MEMORY || m->group == SG_RELEASES, name))
			break;
		/* a value comes from somewhere: a struct offset, or a getter of its type */
		if (m->from == FS_MF_GET) {
			if (!ASSERT_TRUE(m->real ? m->getd != NULL : m->get != NULL, name))
				break;
		} else if (!ASSERT_TRUE(!m->get && !m->getd, name)) {
			break;
		}
		if (m->column)
			stored++;
		for (int k = 0; k < i; k++) {
			const struct fs_metric *o = &fs_metrics[k];

			if (m->column && o->column && !ASSERT_TRUE(strcmp(m->column, o->column), m->column))
				return;
			if (m->json && o->json && !ASSERT_TRUE(strcmp(m->json, o->json), m->json))
				return;
		}
	}
	/* the session's columns are the stored metrics, in table order */
	ASSERT_EQ(session__ncols(), stored, "one column per stored metric");
	for (int c = 0, i = 0; c < session__ncols(); c++, i++) {
		while (!fs_metrics[i].column)
			i++;
		if (!ASSERT_STREQ(session__col_name(c), fs_metrics[i].column, "column order"))
			break;
	}
}

TEST(metric_names)
{
	for (int i = 0; i < FS_A__COUNT; i++) {
		char up[16];
		size_t n = strlen(fs_adv_cols[i]);

		for (size_t k = 0; k <= n; k++)
			up[k] = (char)(fs_adv_cols[i][k] >= 'a' && fs_adv_cols[i][k] <= 'z' ? fs_adv_cols[i][k] - 32
											  : fs_adv_cols[i][k]);
		ASSERT_STREQ(up, fs_adv_names[i], "advice column name is the advice's");
	}
	for (int i = 0; i < FS_R__COUNT; i++)
		ASSERT_TRUE(fs_src_names[i] && *fs_src_names[i], "every release source named");
	for (int i = 0; i < FS_RG__COUNT; i++)
		ASSERT_TRUE(fs_kind_names[i] && *fs_kind_names[i], "every region kind named");
	ASSERT_STREQ(fs_src_names[FS_R_JE_DECAY], "jemalloc_decay", "a source by its enum");
	ASSERT_STREQ(fs_map_names[FS_M_OTHER_ANON], "other_anon", "a mapping owner by its enum");
}

TEST(metric_values)
{
	static struct fs_snapshot sn, d;
	static struct fs_memory mem;
	struct fs_metric_src src = { .sn = &sn, .m = &mem, .d = &d, .dt = 2.0, .peak_live = 77, .max_live = 9 };
	const struct fs_metric *m;

	sn.c[FS_C_ALLOCS] = 5;
	sn.k.adv[FS_A_FREE].resident = 4096;
	d.c[FS_C_ALLOCS] = 10;
	mem.resident = 1000;
	mem.live = 250;
	mem.valid = 1;

	m = metric__by_column("allocs");
	ASSERT_EQ(metric__i64(m, &src), 5, "a counter");
	ASSERT_STREQ(metric__key(m), "allocs", "its JSON key");
	ASSERT_TRUE(metric__in(m, "totals") && !metric__in(m, "lost") && !metric__in(m, ""), "its JSON object");
	ASSERT_EQ(metric__i64(metric__by_column("madv_free_resident"), &src), 4096, "a kernel figure");
	ASSERT_EQ(metric__i64(metric__by_column("resident"), &src), 1000, "a memory figure");
	ASSERT_EQ(metric__i64(metric__by_column("mem_valid"), &src), 1, "an int field");
	ASSERT_EQ(metric__i64(metric__by_column("peak_live"), &src), 77, "a figure of the state");
	ASSERT_TRUE(metric__dbl(metric__by_column("allocs_per_s"), &src) == 5.0, "a rate over dt");
	ASSERT_TRUE(metric__dbl(metric__by_column("fragmentation"), &src) == 0.75, "a derived ratio");
	ASSERT_TRUE(metric__in(metric__by_column("nested_calls"), ""), "a top-level key");
	ASSERT_TRUE(metric__by_column("no_such_column") == NULL, "unknown column");
}
