/* chart.c - the SVG line charts of report's and compare's HTML pages: axes with
 * round ticks in human units, series, release marks. One copy for both pages,
 * so the escaping and the guards against non-finite values are in one place. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "out/chart.h"

struct ladder {
	double base, mul;	/* mul: input units to the ladder's first unit */
	int n;
	const char *const *names;
};

static const char *const byte_names[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
static const char *const rate_names[] = { "B/s", "KiB/s", "MiB/s", "GiB/s", "TiB/s", "PiB/s" };
static const char *const time_names[] = { "ns", "us", "ms", "s" };
static const char *const count_names[] = { "", "k", "M", "G", "T" };

static struct ladder ladder_of(enum chart_unit u)
{
	switch (u) {
	case CU_BYTES: return (struct ladder){ 1024, 1, 6, byte_names };
	case CU_BYTES_PER_S: return (struct ladder){ 1024, 1, 6, rate_names };
	case CU_NS: return (struct ladder){ 1000, 1, 4, time_names };
	case CU_SECONDS: return (struct ladder){ 1000, 1e9, 4, time_names };
	default: return (struct ladder){ 1000, 1, 5, count_names };
	}
}

/* The unit v (input units, >= 0) is shown in: its index and input units per unit. */
static int pick(const struct ladder *l, double v, double *scale)
{
	int i = 0;

	*scale = 1 / l->mul;
	v *= l->mul;
	while (v >= l->base && i < l->n - 1) {
		v /= l->base;
		*scale *= l->base;
		i++;
	}
	return i;
}

const char *chart__fmt(double v, enum chart_unit u, char *buf, size_t len)
{
	struct ladder l = ladder_of(u);
	double scale, s;
	int i;

	if (!isfinite(v)) {
		snprintf(buf, len, "?");
		return buf;
	}
	i = pick(&l, fabs(v), &scale);
	s = v / scale;
	/* %.3g would write 1000..1023 KiB as 1.02e+03 */
	snprintf(buf, len, fabs(s) >= 100 || (i == 0 && u != CU_COUNT) ? "%.0f%s%s" : "%.3g%s%s", s,
		 l.names[i][0] ? " " : "", l.names[i]);
	return buf;
}

void chart__axis(struct chart_axis *a, double max, enum chart_unit u, int target, int cover)
{
	struct ladder l = ladder_of(u);
	double scale, v, raw, mag, norm, step;
	int i;
	long n;

	if (!(max > 0) || !isfinite(max))
		max = 1 / l.mul;	/* one of the first unit: 1 B, 1 ns, 1 s */
	if (target < 1)
		target = 1;
	if (target > CHART_MAX_TICKS / 2)
		target = CHART_MAX_TICKS / 2;
	i = pick(&l, max, &scale);
	v = max / scale;
	raw = v / target;
	mag = pow(10, floor(log10(raw)));
	norm = raw / mag;
	step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
	if (i == 0 && u != CU_COUNT && step < 1)
		step = 1;	/* no half bytes or half nanoseconds */
	n = cover ? (long)ceil(v / step - 1e-9) : (long)floor(v / step + 1e-9);
	if (n < 0)
		n = 0;
	if (n > CHART_MAX_TICKS - 1)
		n = CHART_MAX_TICKS - 1;
	a->u = u;
	a->scale = scale;
	a->unit = l.names[i];
	a->step = step * scale;
	a->top = cover ? (double)n * step * scale : max;
	if (cover && n == 0)
		a->top = step * scale;
	a->nticks = (int)n + 1;
	a->decimals = step >= 1 - 1e-9 ? 0 : (int)ceil(-log10(step) - 1e-9);
}

const char *chart__tick_label(const struct chart_axis *a, int i, char *buf, size_t len)
{
	if (i == 0)
		snprintf(buf, len, "0");
	else
		snprintf(buf, len, "%.*f%s%s", a->decimals, i * a->step / a->scale, a->unit[0] ? " " : "", a->unit);
	return buf;
}

void chart__xml(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '<')
			fputs("&lt;", f);
		else if (c == '>')
			fputs("&gt;", f);
		else if (c == '&')
			fputs("&amp;", f);
		else if (c == '"')
			fputs("&quot;", f);
		else if (c == '\'')
			fputs("&#39;", f);
		else if (c < 0x20 && c != '\n' && c != '\t')
			fputc(' ', f);	/* not allowed in XML 1.0 */
		else
			fputc(c, f);
	}
}

/* The drawing's size (the viewBox: the svg scales down with the window). */
#define W 860
#define H_DEFAULT 250
#define ML 66	/* left: the value labels */
#define MR 18
#define MT 30	/* top: the legend */
#define MB 38	/* bottom: the release marks and the time labels */

void chart__lines(FILE *f, const struct chart *c)
{
	const int H = c->height >= MT + MB + 40 ? c->height : H_DEFAULT;
	const double pw = W - ML - MR, ph = H - MT - MB, y0 = MT + ph;
	struct chart_axis ya, ta;
	double tmax = c->tmax, ymax = 0, lx = ML;
	char b[48];

	for (int s = 0; s < c->nseries; s++)
		for (long i = 0; i < c->series[s].n; i++) {
			double t = c->series[s].t[i], v = c->series[s].v[i];

			if (!isfinite(t) || !isfinite(v))
				continue;
			if (v > ymax)
				ymax = v;
			if (c->tmax <= 0 && t > tmax)
				tmax = t;
		}
	if (!(tmax > 0) || !isfinite(tmax))
		tmax = 1;
	chart__axis(&ya, ymax, c->yunit, 5, 1);
	chart__axis(&ta, tmax, CU_SECONDS, 8, 0);
	fprintf(f, "<figure><figcaption>");
	chart__xml(f, c->title);
	fprintf(f, "</figcaption>\n<svg class=\"chart\"");
	if (c->id) {
		fprintf(f, " id=\"");
		chart__xml(f, c->id);
		fputc('"', f);
	}
	fprintf(f, " xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		   "style=\"max-width:100%%;height:auto\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H, W, H);
	/* the value axis: a grid line and a label per tick */
	for (int i = 0; i < ya.nticks; i++) {
		double y = y0 - ph * (i * ya.step) / ya.top;

		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>"
			   "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" fill=\"#555\">%s</text>\n",
			ML, y, ML + pw, y, i ? "#e4e4e4" : "#999", ML - 6, y + 4, chart__tick_label(&ya, i, b, sizeof(b)));
	}
	/* the time axis: a tick and a label per round time, none past the data */
	for (int i = 0; i < ta.nticks; i++) {
		double x = ML + pw * (i * ta.step) / tmax;

		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#f0f0f0\"/>"
			   "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\"/>"
			   "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#555\">%s</text>\n",
			x, MT, x, y0, x, y0, x, y0 + 4, x, H - 6, chart__tick_label(&ta, i, b, sizeof(b)));
	}
	for (int s = 0; s < c->nseries; s++) {
		const struct chart_series *se = &c->series[s];
		double lastx = 0, lasty = 0;
		long drawn = 0;

		fprintf(f, "<polyline class=\"");
		chart__xml(f, se->cls ? se->cls : "series");
		fprintf(f, "\" fill=\"none\" stroke=\"");
		chart__xml(f, se->color);
		fprintf(f, "\" stroke-width=\"2\"%s points=\"", se->dashed ? " stroke-dasharray=\"6 4\"" : "");
		for (long i = 0; i < se->n; i++) {
			double t = se->t[i], v = se->v[i];

			if (!isfinite(v) || !isfinite(t))
				continue;
			t = t < 0 ? 0 : t > tmax ? tmax : t;
			v = v < 0 ? 0 : v > ya.top ? ya.top : v;
			lastx = ML + pw * t / tmax;
			lasty = y0 - ph * v / ya.top;
			fprintf(f, "%.1f,%.1f ", lastx, lasty);
			drawn++;
		}
		fprintf(f, "\"><title>");
		chart__xml(f, se->label);
		fprintf(f, "</title></polyline>\n");
		if (drawn == 1) {	/* one point draws no line: a dot */
			fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"", lastx, lasty);
			chart__xml(f, se->color);
			fprintf(f, "\"/>\n");
		}
		/* the legend, in a row above the plot */
		fprintf(f, "<rect x=\"%.0f\" y=\"%d\" width=\"14\" height=\"%d\" fill=\"", lx, se->dashed ? 10 : 6,
		se->dashed ? 3 : 10);
		chart__xml(f, se->color);
		fprintf(f, "\"/><text x=\"%.0f\" y=\"15\" fill=\"#333\">", lx + 19);
		chart__xml(f, se->label);
		fprintf(f, "</text>\n");
		lx += 19 + 7 * (double)strlen(se->label ? se->label : "") + 18;
	}
	for (long i = 0; i < c->nmarks; i++) {
		double t = c->marks[i].t, x;

		if (!isfinite(t))
			continue;
		x = ML + pw * (t < 0 ? 0 : t > tmax ? 1 : t / tmax);
		fprintf(f, "<path class=\"release\" d=\"M%.1f %.1f l-4 8 h8 z\" fill=\"#c0392b\"><title>", x, y0 + 6);
		chart__xml(f, c->marks[i].title);
		fprintf(f, "</title></path>\n");
	}
	fprintf(f, "</svg></figure>\n");
}
