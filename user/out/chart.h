/* chart.h - the SVG charts of the HTML pages (report --html, compare --html):
 * time series on axes with human units (B..GiB, ns..s) and round ticks. Pure
 * (no libbpf), so the axis arithmetic is unit-tested. */
#ifndef FS_CHART_H
#define FS_CHART_H

#include <stddef.h>
#include <stdio.h>

enum chart_unit {
	CU_BYTES,	/* B, KiB, MiB, GiB, TiB, PiB (1024) */
	CU_BYTES_PER_S,	/* the same, "/s" */
	CU_NS,		/* ns, us, ms, s (1000), from nanoseconds */
	CU_SECONDS,	/* the same ladder, from seconds */
	CU_COUNT,	/* plain, k, M, G (1000) */
};

/* One value with its unit, at most 3 significant digits: "1.5 GiB", "134 us". */
const char *chart__fmt(double v, enum chart_unit u, char *buf, size_t len);

#define CHART_MAX_TICKS 16

/* An axis from 0: ticks at 0, step, 2 step, ... (step 1, 2 or 5 times a power of
 * ten, in the unit max is shown in), all labelled in that one unit. */
struct chart_axis {
	enum chart_unit u;
	double scale;		/* bytes (or ns...) per unit of the labels */
	const char *unit;	/* "MiB", "ms", ... */
	double step;		/* between ticks, in the input's unit */
	double top;		/* the axis' end, in the input's unit */
	int nticks;		/* 0 included, at most CHART_MAX_TICKS */
	int decimals;		/* of the labels */
};

/* An axis for values in [0, max] with about target intervals. With cover, the
 * axis ends on the first tick >= max (a value axis); without, at max itself (a
 * time axis: no time beyond the data). A max that is not > 0 gives [0, 1 unit]. */
void chart__axis(struct chart_axis *a, double max, enum chart_unit u, int target, int cover);
/* The label of tick i: "0", "1.5 GiB", "20 s". */
const char *chart__tick_label(const struct chart_axis *a, int i, char *buf, size_t len);

/* Text for XML content or an attribute value (escapes <>&"', drops control bytes). */
void chart__xml(FILE *f, const char *s);

struct chart_series {
	const char *label, *color;
	const char *cls;	/* the polyline's class, "series" when NULL */
	const double *t, *v;	/* n points (seconds, value); non-finite ones are skipped */
	long n;
	int dashed;
};

struct chart_mark {		/* a triangle under the time axis, its title shown on hover */
	double t;
	const char *title;
};

struct chart {
	const char *title;	/* the caption */
	const char *id;		/* the svg element's id, or NULL */
	enum chart_unit yunit;
	double tmax;		/* the time axis' end; <= 0: the data's last time */
	int height;		/* of the drawing; 0: the default (250) */
	const struct chart_series *series;
	int nseries;
	const struct chart_mark *marks;
	long nmarks;
};

/* A line chart (figure, caption, svg) scaling down to narrow windows. */
void chart__lines(FILE *f, const struct chart *c);

#endif
