/* test_chart.c - the HTML charts' axes: human units, round ticks, labels that
 * never fall back to exponents, and the drawing's guards (escaping, NaN). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "out/chart.h"
#include "test.h"

TEST(chart_fmt_units)
{
	char b[32];

	ASSERT_STREQ(chart__fmt(0, CU_BYTES, b, sizeof(b)), "0 B", "zero bytes");
	ASSERT_STREQ(chart__fmt(1023, CU_BYTES, b, sizeof(b)), "1023 B", "bytes stay integers");
	ASSERT_STREQ(chart__fmt(1024, CU_BYTES, b, sizeof(b)), "1 KiB", "1 KiB");
	ASSERT_STREQ(chart__fmt(1536, CU_BYTES, b, sizeof(b)), "1.5 KiB", "1.5 KiB");
	ASSERT_STREQ(chart__fmt(131072, CU_BYTES, b, sizeof(b)), "128 KiB", "no 128.0");
	ASSERT_STREQ(chart__fmt(1023.0 * 1024, CU_BYTES, b, sizeof(b)), "1023 KiB", "no exponent under the next unit");
	ASSERT_STREQ(chart__fmt(3.1 * (1 << 30), CU_BYTES, b, sizeof(b)), "3.1 GiB", "GiB");
	ASSERT_STREQ(chart__fmt(2048, CU_BYTES_PER_S, b, sizeof(b)), "2 KiB/s", "a rate");
	/* the lifetime histogram's bucket bounds (powers of two nanoseconds) */
	ASSERT_STREQ(chart__fmt(512, CU_NS, b, sizeof(b)), "512 ns", "ns");
	ASSERT_STREQ(chart__fmt(2048, CU_NS, b, sizeof(b)), "2.05 us", "us");
	ASSERT_STREQ(chart__fmt(134217728, CU_NS, b, sizeof(b)), "134 ms", "1.34e+05 us is 134 ms");
	ASSERT_STREQ(chart__fmt(1073741824, CU_NS, b, sizeof(b)), "1.07 s", "s");
	ASSERT_STREQ(chart__fmt(5e12, CU_NS, b, sizeof(b)), "5000 s", "seconds are the largest unit");
	ASSERT_STREQ(chart__fmt(0.25, CU_SECONDS, b, sizeof(b)), "250 ms", "seconds in ms");
	ASSERT_STREQ(chart__fmt(43936, CU_COUNT, b, sizeof(b)), "43.9 k", "a count");
	ASSERT_STREQ(chart__fmt(12, CU_COUNT, b, sizeof(b)), "12", "a small count");
	ASSERT_STREQ(chart__fmt(NAN, CU_BYTES, b, sizeof(b)), "?", "NaN");
	ASSERT_STREQ(chart__fmt(INFINITY, CU_NS, b, sizeof(b)), "?", "infinity");
}

/* Every label of an axis, joined by '|'. */
static const char *labels(const struct chart_axis *a, char *out, size_t len)
{
	size_t n = 0;
	char b[32];

	out[0] = 0;
	for (int i = 0; i < a->nticks && n < len; i++)
		n += (size_t)snprintf(out + n, len - n, "%s%s", i ? "|" : "", chart__tick_label(a, i, b, sizeof(b)));
	return out;
}

TEST(chart_axis_ticks)
{
	struct chart_axis a;
	char b[256];

	/* the demo's RSS: 17.3 MiB -> 0, 5, 10, 15, 20 MiB (the axis covers the value) */
	chart__axis(&a, 17.3 * (1 << 20), CU_BYTES, 5, 1);
	ASSERT_STREQ(labels(&a, b, sizeof(b)), "0|5 MiB|10 MiB|15 MiB|20 MiB", "MiB axis");
	ASSERT_EQ(a.top, 20.0 * (1 << 20), "ends on the tick above");
	/* 3.1 GiB of returned bytes: whole GiB */
	chart__axis(&a, 3.1 * (1 << 30), CU_BYTES, 5, 1);
	ASSERT_STREQ(labels(&a, b, sizeof(b)), "0|1 GiB|2 GiB|3 GiB|4 GiB", "GiB axis");
	/* a step under one unit gets the decimals it needs, and no more */
	chart__axis(&a, 1.5 * (1 << 30), CU_BYTES, 5, 1);
	ASSERT_STREQ(labels(&a, b, sizeof(b)), "0|0.5 GiB|1.0 GiB|1.5 GiB", "half GiB");
	/* a value on a tick: that tick is the end */
	chart__axis(&a, 4096, CU_BYTES, 4, 1);
	ASSERT_STREQ(labels(&a, b, sizeof(b)), "0|1 KiB|2 KiB|3 KiB|4 KiB", "exact top");
	/* tiny values: no fractions of a byte */
	chart__axis(&a, 3, CU_BYTES, 5, 1);
	ASSERT_STREQ(labels(&a, b, sizeof(b)), "0|1 B|2 B|3 B", "bytes");
	/* nothing recorded: a valid axis all the same */
	chart__axis(&a, 0, CU_BYTES, 5, 1);
	ASSERT_TRUE(a.top > 0 && a.nticks >= 2, "zero max");
	chart__axis(&a, NAN, CU_BYTES, 5, 1);
	ASSERT_TRUE(a.top > 0 && a.nticks >= 2 && isfinite(a.step), "NaN max");
	/* time: ends at the data (no cover), round seconds */
	chart__axis(&a, 74.66, CU_SECONDS, 8, 0);
	ASSERT_STREQ(labels(&a, b, sizeof(b)), "0|10 s|20 s|30 s|40 s|50 s|60 s|70 s", "74.66 s");
	ASSERT_EQ(a.top, 74.66, "the time axis ends with the data");
	chart__axis(&a, 0.5, CU_SECONDS, 5, 0);
	ASSERT_STREQ(labels(&a, b, sizeof(b)), "0|100 ms|200 ms|300 ms|400 ms|500 ms", "under a second");
	chart__axis(&a, 7.2, CU_SECONDS, 8, 0);
	ASSERT_STREQ(labels(&a, b, sizeof(b)), "0|1 s|2 s|3 s|4 s|5 s|6 s|7 s", "seconds");
	/* rates and counts */
	chart__axis(&a, 94.6 * (1 << 20), CU_BYTES_PER_S, 5, 1);
	ASSERT_STREQ(labels(&a, b, sizeof(b)), "0|20 MiB/s|40 MiB/s|60 MiB/s|80 MiB/s|100 MiB/s", "rate");
	chart__axis(&a, 43936, CU_COUNT, 4, 1);
	ASSERT_STREQ(labels(&a, b, sizeof(b)), "0|20 k|40 k|60 k", "count");
	/* never more ticks than the array the drawing assumes */
	for (double m = 1e-3; m < 1e18; m *= 1.7) {
		chart__axis(&a, m, CU_BYTES, 100, 1);
		if (!ASSERT_TRUE(a.nticks >= 1 && a.nticks <= CHART_MAX_TICKS && a.top >= m, "tick count bounded"))
			break;
	}
}

TEST(chart_lines_guards)
{
	static const double t[] = { 0, 1, NAN, 3, INFINITY }, v[] = { 10, NAN, 5, -4, 2 };
	const struct chart_series s = { .label = "a<b&\"c\"", .color = "#123456", .t = t, .v = v, .n = 5 };
	const struct chart_mark m = { .t = 2, .title = "x</title><script>" };
	const struct chart c = { .title = "t<1>", .yunit = CU_BYTES, .series = &s, .nseries = 1, .marks = &m,
				 .nmarks = 1 };
	char *doc = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&doc, &len);

	if (!ASSERT_TRUE(f != NULL, "memstream"))
		return;
	chart__lines(f, &c);
	fclose(f);
	ASSERT_TRUE(!strstr(doc, "<script>") && strstr(doc, "x&lt;/title&gt;&lt;script&gt;"), "mark title escaped");
	ASSERT_TRUE(strstr(doc, "a&lt;b&amp;&quot;c&quot;") != NULL, "label escaped");
	ASSERT_TRUE(strstr(doc, "t&lt;1&gt;") != NULL, "caption escaped");
	ASSERT_TRUE(!strstr(doc, "nan") && !strstr(doc, "inf"), "no non-finite coordinates");
	/* three finite points: (0,10), (3,0 clamped from -4) and none for the NaN/inf ones */
	ASSERT_TRUE(strstr(doc, "points=\"66.0,30.0 842.0,212.0 \"") != NULL, "points");
	ASSERT_TRUE(!strstr(doc, "<circle"), "two points make a line, no dot");
	free(doc);
	/* one point draws no line: it gets a dot */
	doc = NULL;
	f = open_memstream(&doc, &len);
	if (!ASSERT_TRUE(f != NULL, "memstream"))
		return;
	chart__lines(f, &(struct chart){ .title = "one", .yunit = CU_BYTES,
					 .series = &(struct chart_series){ .label = "x", .color = "#000", .t = t, .v = v, .n = 1 },
					 .nseries = 1 });
	fclose(f);
	ASSERT_TRUE(strstr(doc, "<circle") != NULL, "a dot for a single point");
	free(doc);
}
