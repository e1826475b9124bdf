/* report_flame.c - the sites' bytes by stack: folded lines (flamegraph.pl,
 * speedscope, inferno) and a self-drawn SVG flame graph. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/metric.h"
#include "out/chart.h"
#include "out/report.h"
#include "util/fmt.h"

/* ---- folded stacks and the flame graph ---- */

/* A frame as one folded field: no ';' (the separator), no line breaks. */
static void folded_frame(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s == ';' ? ':' : *s == '\n' || *s == '\r' ? ' ' : *s, f);
}

/* Live bytes by stack, or (alloc) the bytes each stack allocated over the whole
 * session, freed or not: the sites of the last deep snapshot, sampled estimates. */
int report__folded(FILE *f, const struct session_data *d, int alloc)
{
	int lines = 0;

	for (int i = 0; i < d->nsites; i++) {
		const struct session_site *x = &d->sites[i];
		uint64_t v = alloc ? x->bytes : site_live(x);

		if (!v)
			continue;
		if (!x->nframes)
			fputs("[no stack]", f);
		for (int fr = x->nframes - 1; fr >= 0; fr--) {
			folded_frame(f, x->frame[fr]);
			if (fr)
				fputc(';', f);
		}
		fprintf(f, " %" PRIu64 "\n", v);
		lines++;
	}
	return lines;
}

struct fnode {
	const char *name;
	uint64_t value;
	struct fnode *child, *next;
};

static struct fnode *fnode_add(struct fnode *parent, const char *name, uint64_t value)
{
	struct fnode *n;

	for (n = parent->child; n; n = n->next)
		if (!strcmp(n->name, name))
			break;
	if (!n) {
		n = calloc(1, sizeof(*n));
		if (!n)
			return NULL;
		n->name = name;
		n->next = parent->child;
		parent->child = n;
	}
	n->value += value;
	return n;
}

static void fnode_free(struct fnode *n)
{
	while (n) {
		struct fnode *next = n->next;

		fnode_free(n->child);
		free(n);
		n = next;
	}
}

static int fnode_depth(const struct fnode *n)
{
	int best = 0;

	for (const struct fnode *c = n->child; c; c = c->next) {
		int dd = fnode_depth(c);

		if (dd > best)
			best = dd;
	}
	return best + 1;
}

#define FG_W 1200.0
#define FG_ROW 18

static void flame_draw(FILE *f, const struct fnode *n, double x, int depth, double scale, uint64_t total)
{
	double w = (double)n->value * scale;
	unsigned h = 0;
	char b[32];

	if (w < 0.3)
		return;
	for (const char *p = n->name; *p; p++)
		h = h * 31 + (unsigned char)*p;
	fprintf(f, "<g><title>");
	chart__xml(f, n->name);
	fprintf(f, " (%s, %.1f%%)</title><rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"rgb(%u,%u,%u)\" rx=\"2\"/>",
		fmt__bytes(n->value, b, sizeof(b)), total ? 100.0 * (double)n->value / (double)total : 0, x,
		30 + depth * FG_ROW, w > 0.5 ? w - 0.5 : w, FG_ROW - 1, 205 + h % 50, 80 + (h >> 8) % 130, 40 + (h >> 16) % 50);
	if (w > 30) {
		int chars = (int)(w / 7) - 1;
		int len = (int)strlen(n->name);

		fprintf(f, "<text x=\"%.2f\" y=\"%d\">", x + 3, 30 + depth * FG_ROW + 13);
		if (len <= chars) {
			chart__xml(f, n->name);
		} else if (chars > 2) {
			char *cut = strndup(n->name, (size_t)(chars - 2));

			if (cut)
				chart__xml(f, cut);
			fputs("..", f);
			free(cut);
		}
		fputs("</text>", f);
	}
	fputs("</g>\n", f);
	for (const struct fnode *c = n->child; c; c = c->next) {
		flame_draw(f, c, x, depth + 1, scale, total);
		x += (double)c->value * scale;
	}
}

int report__flamegraph(FILE *f, const struct session_data *d)
{
	struct fnode root = { .name = "all" };
	int depth, height;
	char b[32];

	for (int i = 0; i < d->nsites; i++) {
		const struct session_site *x = &d->sites[i];
		struct fnode *n = &root;
		uint64_t v = site_live(x);

		if (!v)
			continue;
		root.value += v;
		if (!x->nframes)
			n = fnode_add(n, "[no stack]", v);
		for (int fr = x->nframes - 1; fr >= 0 && n; fr--)
			n = fnode_add(n, x->frame[fr], v);
		if (!n) {
			fnode_free(root.child);
			return -ENOMEM;
		}
	}
	depth = fnode_depth(&root);
	height = 30 + depth * FG_ROW + 20;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%d\" viewBox=\"0 0 %.0f %d\" "
		   "font-family=\"monospace\" font-size=\"11\">\n"
		   "<rect width=\"100%%\" height=\"100%%\" fill=\"#fdfdf6\"/>\n"
		   "<text x=\"%.0f\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">live bytes by allocation stack: ",
		FG_W + 20, height, FG_W + 20, height, (FG_W + 20) / 2);
	chart__xml(f, d->path);
	fprintf(f, " (%s, sampled estimates)</text>\n", fmt__bytes(root.value, b, sizeof(b)));
	if (root.value)
		flame_draw(f, &root, 10, 0, FG_W / (double)root.value, root.value);
	else
		fprintf(f, "<text x=\"10\" y=\"50\">no live bytes at any sampled site</text>\n");
	fputs("</svg>\n", f);
	fnode_free(root.child);
	return 0;
}
