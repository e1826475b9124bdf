/* json.c - streaming JSON writer used by every --json output. */
#include <inttypes.h>
#include <math.h>
#include "util/json.h"

void json__init(struct json *j, FILE *f, int pretty)
{
	j->f = f;
	j->depth = 0;
	j->need_comma[0] = 0;
	j->pretty = pretty;
}

static void indent(struct json *j)
{
	if (!j->pretty)
		return;
	fputc('\n', j->f);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

static void put_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void key(struct json *j, const char *k)
{
	if (j->need_comma[j->depth])
		fputc(',', j->f);
	j->need_comma[j->depth] = 1;
	if (j->depth)
		indent(j);
	if (k) {
		put_str(j->f, k);
		fputs(j->pretty ? ": " : ":", j->f);
	}
}

static void open(struct json *j, const char *k, char c)
{
	key(j, k);
	fputc(c, j->f);
	j->depth++;	/* callers nest a handful of levels; 31 is the hard limit */
	if (j->depth > 31)
		j->depth = 31;
	j->need_comma[j->depth] = 0;
}

static void close_(struct json *j, char c)
{
	int had = j->need_comma[j->depth];

	if (j->depth)
		j->depth--;
	if (had)
		indent(j);
	fputc(c, j->f);
}

void json__obj(struct json *j, const char *k) { open(j, k, '{'); }
void json__arr(struct json *j, const char *k) { open(j, k, '['); }
void json__end_obj(struct json *j) { close_(j, '}'); }
void json__end_arr(struct json *j) { close_(j, ']'); }

void json__str(struct json *j, const char *k, const char *v)
{
	key(j, k);
	if (v)
		put_str(j->f, v);
	else
		fputs("null", j->f);
}

void json__u64(struct json *j, const char *k, uint64_t v) { key(j, k); fprintf(j->f, "%" PRIu64, v); }
void json__i64(struct json *j, const char *k, int64_t v) { key(j, k); fprintf(j->f, "%" PRId64, v); }
void json__bool(struct json *j, const char *k, int v) { key(j, k); fputs(v ? "true" : "false", j->f); }

void json__dbl(struct json *j, const char *k, double v)
{
	key(j, k);
	if (isfinite(v))
		fprintf(j->f, "%.6g", v);
	else
		fputs("null", j->f);
}

void json__finish(struct json *j)
{
	fputc('\n', j->f);
	fflush(j->f);
}
