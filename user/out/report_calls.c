/* report_calls.c - `report --calls`: record --trace's calls decoded, one line each,
 * in the order recorded. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "out/report.h"
#include "out/trace_file.h"

/* The name of probed function i, from the session's comma-separated list. */
static void func_name(const char *list, unsigned i, char *buf, size_t len)
{
	const char *p = list;

	for (unsigned k = 0; p && k < i; k++) {
		p = strchr(p, ',');
		if (p)
			p++;
	}
	if (!p || !*p) {
		snprintf(buf, len, "#%u", i);
		return;
	}
	snprintf(buf, len, "%.*s", (int)(strchr(p, ',') ? strchr(p, ',') - p : (long)strlen(p)), p);
}

int report__calls(FILE *f, const struct session_data *d, char *err, size_t errlen)
{
	const char *funcs = session__meta(d, "trace_funcs", "");
	struct trace_reader *r = trace_reader__open(d->path, err, errlen);
	const struct fs_call_event *ev;
	uint64_t seq = 0, t0 = 0;
	uint32_t n;
	int rc;

	if (!r)
		return -1;
	while ((rc = trace_reader__next(r, &ev, &n, err, errlen)) == 1) {
		if (!seq)	/* after the first chunk decoded: a damaged one prints nothing */
			fprintf(f, "# seq time_us tid op function size align ptr arg flags\n");
		for (uint32_t i = 0; i < n; i++) {
			const struct fs_call_event *e = &ev[i];
			char fn[128];

			if (!seq)
				t0 = e->ts;
			if (e->op < FS_K__COUNT)
				func_name(funcs, e->func, fn, sizeof(fn));
			else
				snprintf(fn, sizeof(fn), "-");
			fprintf(f, "%" PRIu64 " %.3f %u %s %s %llu %llu 0x%llx 0x%llx %s%s%s\n", ++seq,
				(double)(int64_t)(e->ts - t0) / 1e3, e->tid, trace__op_name(e->op), fn,
				(unsigned long long)e->size, e->align_lg ? 1ull << e->align_lg : 0ull,
				(unsigned long long)e->ptr, (unsigned long long)e->arg,
				e->flags & FS_CF_FAILED ? "failed" : "", e->flags == 3 ? "," : "",
				e->flags & FS_CF_OLD_UNKNOWN ? "old_unknown" : e->flags ? "" : "-");
		}
	}
	trace_reader__free(r);
	return rc < 0 ? -1 : 0;
}
