/* session.c - the session store's snapshot columns (the stored metrics of the
 * metric table) and the SQL built from them, shared by the writer (session_write.c)
 * and the reader (session_read.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/metric.h"
#include "out/session.h"

/* ---- the snapshot columns: one row per interval ---- */

/* The metrics the table stores (model/metric.h), in its order. */
static const struct fs_metric *cols[256];
static int ncols_;

static int ncols(void)
{
	if (ncols_)
		return ncols_;
	for (int i = 0; i < fs_nmetrics; i++)
		if (fs_metrics[i].column && ncols_ < (int)(sizeof(cols) / sizeof(cols[0])))
			cols[ncols_++] = &fs_metrics[i];
	return ncols_;
}
#define NCOLS ncols()

int session__ncols(void) { return NCOLS; }
const char *session__col_name(int c) { return c >= 0 && c < NCOLS ? cols[c]->column : NULL; }
int session__col_group(int c) { return c >= 0 && c < NCOLS ? cols[c]->group : 0; }
int session__col_real(int c) { return c >= 0 && c < NCOLS ? cols[c]->real : 0; }
const struct fs_metric *session__col_metric(int c) { return c >= 0 && c < NCOLS ? cols[c] : NULL; }

int session__col(const char *name)
{
	for (int c = 0; c < NCOLS; c++)
		if (!strcmp(cols[c]->column, name))
			return c;
	return -1;
}

double session__rowd(const struct session_row *r, int c)
{
	if (c < 0 || c >= NCOLS)
		return 0;
	return cols[c]->real ? r->v[c].r : (double)r->v[c].i;
}

int64_t session__rowi(const struct session_row *r, int c)
{
	double d;

	if (c < 0 || c >= NCOLS)
		return 0;
	if (!cols[c]->real)
		return r->v[c].i;
	d = r->v[c].r;	/* a corrupt file may hold anything: no UB on conversion */
	return d == d && d > -9e18 && d < 9e18 ? (int64_t)d : 0;
}

void session__mode_absent(int mode, unsigned char *absent)
{
	session__run_absent(mode, 0, absent);
}

void session__run_absent(int mode, int windowed, unsigned char *absent)
{
	for (int c = 0; c < NCOLS; c++)
		absent[c] = !metric__in_run(cols[c], mode, windowed);
}

/* CREATE TABLE snapshots(...) / INSERT / SELECT, from the column list. The
 * CREATE and INSERT leave out the columns absent (those the mode has no figure
 * for); the SELECT reads 0 for them (and for a session from an older fragscope). */
char *session__snap_sql(int which, const unsigned char *absent)
{
	size_t cap = 64 + NCOLS * 48;
	char *q = malloc(cap);
	size_t n = 0;

	if (!q)
		return NULL;
	if (which == 0)
		n += (size_t)snprintf(q + n, cap - n, "CREATE TABLE snapshots(seq INTEGER PRIMARY KEY, t_s REAL NOT NULL");
	else if (which == 1)
		n += (size_t)snprintf(q + n, cap - n, "INSERT INTO snapshots VALUES(?, ?");
	else
		n += (size_t)snprintf(q + n, cap - n, "SELECT seq, t_s");
	for (int c = 0; c < NCOLS; c++) {
		if (which != 2 && absent && absent[c])
			continue;
		if (which == 0)
			n += (size_t)snprintf(q + n, cap - n, ", %s %s NOT NULL", cols[c]->column,
					      cols[c]->real ? "REAL" : "INTEGER");
		else if (which == 1)
			n += (size_t)snprintf(q + n, cap - n, ", ?");
		else if (absent && absent[c])
			n += (size_t)snprintf(q + n, cap - n, ", 0");
		else
			n += (size_t)snprintf(q + n, cap - n, ", %s", cols[c]->column);
	}
	snprintf(q + n, cap - n, which == 2 ? " FROM snapshots ORDER BY seq" : ")");
	return q;
}
