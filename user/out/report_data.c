/* report_data.c - a session as data: one JSON document (`stat --json`'s keys as
 * recorded, plus the series), or a series as CSV. Column names and types come
 * from the metric table. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/json.h"
#include "model/metric.h"
#include "out/report.h"
#include "util/fmt.h"

/* ---- JSON ---- */

static void json_row(struct json *j, const struct session_data *d, const struct session_row *r, int groups)
{
	json__obj(j, NULL);
	json__i64(j, "seq", r->seq);
	json__dbl(j, "t_s", r->t_s);
	for (int c = 0; c < session__ncols(); c++) {
		if (!(session__col_group(c) & groups))
			continue;
		if (session__col_absent(d, c))	/* not recorded, or not in this mode: null, never 0 */
			json__str(j, session__col_name(c), NULL);
		else if (session__col_real(c))
			json__dbl(j, session__col_name(c), r->v[c].r);
		else
			json__i64(j, session__col_name(c), r->v[c].i);
	}
	json__end_obj(j);
}

/* Whether stat's document starts with its "mode" key. */
static int has_mode(const char *doc)
{
	while (*doc && *doc != '{')
		doc++;
	if (*doc)
		doc++;
	while (*doc == ' ' || *doc == '\n' || *doc == '\t' || *doc == '\r')
		doc++;
	return !strncmp(doc, "\"mode\"", 6);
}

void report__json(FILE *f, const struct session_data *d)
{
	const struct session_row *end = last_row(d);
	struct json j;
	int body = 0;

	/* `stat --json`'s document as recorded, and more keys in the same object */
	if (d->stat_json) {
		const char *s = d->stat_json, *e = s + strlen(s);

		while (*s && *s != '{')
			s++;
		while (e > s && e[-1] != '}')
			e--;
		if (*s == '{' && e > s + 1) {
			s++;
			e--;
			for (const char *p = s; p < e; p++)
				if (*p != ' ' && *p != '\n' && *p != '\t' && *p != '\r')
					body = 1;
			fputc('{', f);
			if (body)
				fwrite(s, 1, (size_t)(e - s), f);
		} else {
			fputc('{', f);
		}
	} else {
		fputc('{', f);
	}
	json__init(&j, f, 1);
	j.depth = 1;
	j.need_comma[1] = body;
	/* "mode" as stat's JSON has it, first; a document recorded before the mode was
	 * (exact sessions) has none */
	if (!body || !has_mode(d->stat_json))
		json__str(&j, "mode", fs_mode_names[d->mode]);
	if (!body) {	/* no document recorded: the counters of the last snapshot, as stat names them */
		static const char *const totals[] = { "allocs", "frees", "bytes_allocated", "bytes_freed",
						      "failed_allocs", "frees_unknown", "free_null" };
		static const char *const live[] = { "live_count", "live_bytes" };

		json__obj(&j, "totals");
		for (size_t i = 0; i < sizeof(totals) / sizeof(totals[0]); i++)
			if (session__col_absent(d, COL(totals[i])))	/* not in this mode: null, never 0 */
				json__str(&j, metric__key(metric__by_column(totals[i])), NULL);
			else
				json__u64(&j, metric__key(metric__by_column(totals[i])), U(end, totals[i]));
		json__end_obj(&j);
		json__obj(&j, "live");
		for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
			if (session__col_absent(d, COL(live[i])))
				json__str(&j, metric__key(metric__by_column(live[i])), NULL);
			else
				json__u64(&j, metric__key(metric__by_column(live[i])), U(end, live[i]));
		json__end_obj(&j);
	}
	json__obj(&j, "session");
	json__str(&j, "path", d->path);
	json__str(&j, "mode", fs_mode_names[d->mode]);
	json__i64(&j, "snapshots", d->nrows);
	json__dbl(&j, "duration_s", end->t_s);
	json__bool(&j, "complete", !strcmp(session__meta(d, "complete", "0"), "1"));
	json__dbl(&j, "stat_t_s", d->stat_json_t);
	json__obj(&j, "meta");
	for (int i = 0; i < d->nmeta; i++)
		json__str(&j, d->meta_key[i], d->meta_val[i]);
	json__end_obj(&j);
	json__end_obj(&j);
	json__obj(&j, "peak");
	{
		static const char *const keys[] = { "live_bytes", "resident", "mapped", "rss_anon", "live_count",
						    "live_est", "sm_live_est" };

		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			const struct session_row *p = session__peak(d, COL(keys[i]));

			if (!strcmp(keys[i], "sm_live_est") && d->mode != FS_MODE_SAMPLED)
				continue;	/* sampled mode's only */
			if (session__col_absent(d, COL(keys[i]))) {	/* not in this mode: null */
				if (d->mode != FS_MODE_EXACT || strcmp(keys[i], "live_est"))
					json__str(&j, keys[i], NULL);
				continue;
			}
			json__obj(&j, keys[i]);
			if (!strcmp(keys[i], "live_est") && !report__live_unit(d, p))
				json__str(&j, "value", NULL);	/* no census, no allocator statistics */
			else
				json__i64(&j, "value", session__rowi(p, COL(keys[i])));
			json__dbl(&j, "t_s", p->t_s);
			if (!strcmp(keys[i], "sm_live_est")) {	/* sampled mode: an estimate, at that row */
				json__i64(&j, "stderr", session__rowi(p, COL("sm_live_stderr")));
				json__bool(&j, "exact", 0);
				json__str(&j, "source", "sampled_blocks");
				json__str(&j, "unit", "requested_bytes");
			}
			if (!strcmp(keys[i], "live_est")) {	/* light mode: what it is, at that row */
				int64_t src = session__rowi(p, COL("live_source"));

				json__bool(&j, "exact", 0);
				json__str(&j, "source", src >= 0 && src < FS_LIVE__COUNT ? fs_live_src_names[src] : "not_known");
				json__str(&j, "unit", src >= 0 && src < FS_LIVE__COUNT ? fs_live_src_units[src] : NULL);
			}
			json__end_obj(&j);
		}
	}
	json__end_obj(&j);
	json__arr(&j, "series");
	for (long i = 0; i < d->nrows; i++)
		json_row(&j, d, &d->rows[i], ~0);
	json__end_arr(&j);
	json__arr(&j, "release_events");
	for (long i = 0; i < d->nevents; i++) {
		const struct session_event *e = &d->events[i];

		json__obj(&j, NULL);
		json__i64(&j, "seq", e->seq);
		json__dbl(&j, "t_s", e->t_s);
		json__str(&j, "kind", e->kind);
		json__str(&j, "name", e->name);
		json__i64(&j, "calls", e->calls);
		json__i64(&j, "bytes", e->bytes);
		json__i64(&j, "resident_bytes", e->resident);
		json__end_obj(&j);
	}
	json__end_arr(&j);
	json__end_obj(&j);
	json__finish(&j);
}

/* ---- CSV ---- */

static void csv_str(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

int report__csv(FILE *f, const struct session_data *d, const char *series)
{
	static const struct { const char *name; int groups; } sets[] = {
		{ "counters", SG_COUNTERS }, { "rates", SG_RATES }, { "memory", SG_MEMORY },
		{ "releases", SG_RELEASES }, { "all", ~0 },
	};
	int groups = 0;

	if (!strcmp(series, "events")) {
		fprintf(f, "seq,t_s,kind,name,calls,bytes,resident_bytes\n");
		for (long i = 0; i < d->nevents; i++) {
			const struct session_event *e = &d->events[i];

			fprintf(f, "%ld,%.3f,", e->seq, e->t_s);
			csv_str(f, e->kind);
			fputc(',', f);
			csv_str(f, e->name);
			fprintf(f, ",%" PRId64 ",%" PRId64 ",%" PRId64 "\n", e->calls, e->bytes, e->resident);
		}
		return 0;
	}
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		if (!strcmp(series, sets[i].name))
			groups = sets[i].groups;
	if (!groups)
		return -1;
	fprintf(f, "seq,t_s");
	for (int c = 0; c < session__ncols(); c++)
		if (session__col_group(c) & groups)
			fprintf(f, ",%s", session__col_name(c));
	fputc('\n', f);
	for (long i = 0; i < d->nrows; i++) {
		const struct session_row *r = &d->rows[i];

		fprintf(f, "%ld,%.3f", r->seq, r->t_s);
		for (int c = 0; c < session__ncols(); c++) {
			if (!(session__col_group(c) & groups))
				continue;
			if (session__col_absent(d, c))	/* not recorded, or not in this mode: empty */
				fputc(',', f);
			else if (session__col_real(c))
				fprintf(f, isfinite(r->v[c].r) ? ",%.6g" : ",", r->v[c].r);
			else
				fprintf(f, ",%" PRId64, r->v[c].i);
		}
		fputc('\n', f);
	}
	return 0;
}
