/* session_read.c - the validating reader `report` loads a session with (and the
 * fuzz target feeds): header, application id, schema version and integrity checked
 * before anything is trusted. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "out/session.h"

/* ---- reading ---- */

static char *dupcol(sqlite3_stmt *q, int i)
{
	const unsigned char *t = sqlite3_column_text(q, i);

	return strdup(t ? (const char *)t : "");
}

static void copycol(sqlite3_stmt *q, int i, char *buf, size_t len)
{
	const unsigned char *t = sqlite3_column_text(q, i);

	snprintf(buf, len, "%s", t ? (const char *)t : "");
}

/* Grows *p (elements of sz) to hold n + 1. */
static int grow(void *p, long *cap, long n, size_t sz)
{
	void *np;
	long nc;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : 16;
	np = realloc(*(void **)p, (size_t)nc * sz);
	if (!np)
		return -ENOMEM;
	*(void **)p = np;
	*cap = nc;
	return 0;
}

void session__data_free(struct session_data *d)
{
	if (!d)
		return;
	for (int i = 0; i < d->nmeta; i++) {
		free(d->meta_key[i]);
		free(d->meta_val[i]);
	}
	free(d->meta_key);
	free(d->meta_val);
	for (long i = 0; i < d->nrows; i++)
		free(d->rows[i].v);
	free(d->rows);
	free(d->events);
	for (int i = 0; i < d->nsites; i++) {
		for (int f = 0; f < d->sites[i].nframes; f++)
			free(d->sites[i].frame[f]);
		free(d->sites[i].frame);
	}
	free(d->sites);
	free(d->hists);
	free(d->absent);
	free(d->diag_text);
	free(d->stat_json);
	if (d->trace)
		free(d->trace->threads);
	free(d->trace);
	free(d);
}

const struct session_trace *session__trace(const struct session_data *d)
{
	static const struct session_trace none;

	return d && d->trace ? d->trace : &none;
}

const char *session__meta(const struct session_data *d, const char *key, const char *def)
{
	for (int i = 0; d && i < d->nmeta; i++)
		if (!strcmp(d->meta_key[i], key))
			return d->meta_val[i];
	return def;
}

int session__col_absent(const struct session_data *d, int col)
{
	return col < 0 || col >= session__ncols() || !d->absent || d->absent[col];
}

const struct session_row *session__peak(const struct session_data *d, int col)
{
	const struct session_row *best = NULL;

	for (long i = 0; i < d->nrows; i++)
		if (!best || session__rowd(&d->rows[i], col) > session__rowd(best, col))
			best = &d->rows[i];
	return best;
}

/* The file's own header, before SQLite sees it: tells "not SQLite" and
 * "truncated" apart from the corruption SQLite reports. */
static int check_header(const char *path, char *err, size_t errlen)
{
	static const char magic[16] = "SQLite format 3";
	unsigned char h[100];
	struct stat sb;
	ssize_t n;
	uint32_t pgsz, npages, change, valid_for;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	n = read(fd, h, sizeof(h));
	close(fd);
	if (n <= 0) {
		snprintf(err, errlen, "%s: empty file, not a fragscope session", path);
		return -1;
	}
	if (memcmp(h, magic, (size_t)(n < 16 ? n : 16))) {
		snprintf(err, errlen, "%s: not a fragscope session (not an SQLite database)", path);
		return -1;
	}
	if (n < (ssize_t)sizeof(h)) {
		snprintf(err, errlen, "%s: truncated session (%zd bytes, shorter than its header)", path, n);
		return -1;
	}
	pgsz = (uint32_t)h[16] << 8 | h[17];
	if (pgsz == 1)
		pgsz = 65536;
	if (pgsz < 512 || pgsz > 65536 || (pgsz & (pgsz - 1))) {
		snprintf(err, errlen, "%s: corrupt session (page size %u in its header)", path, pgsz);
		return -1;
	}
	npages = (uint32_t)h[28] << 24 | (uint32_t)h[29] << 16 | (uint32_t)h[30] << 8 | h[31];
	change = (uint32_t)h[24] << 24 | (uint32_t)h[25] << 16 | (uint32_t)h[26] << 8 | h[27];
	valid_for = (uint32_t)h[92] << 24 | (uint32_t)h[93] << 16 | (uint32_t)h[94] << 8 | h[95];
	if (sb.st_size % pgsz ||
	    (npages && change == valid_for && (uint64_t)sb.st_size < (uint64_t)npages * pgsz)) {
		snprintf(err, errlen, "%s: truncated session (%lld bytes, its header says %llu)", path,
			 (long long)sb.st_size, (unsigned long long)npages * pgsz);
		return -1;
	}
	return 0;
}

static int pragma_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(q);
		if (rc == SQLITE_ROW) {
			*out = sqlite3_column_int64(q, 0);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(q);
	return rc;
}

struct loader {
	sqlite3 *db;
	struct session_data *d;
	char *err;
	size_t errlen;
};

static int corrupt(struct loader *l, const char *what)
{
	snprintf(l->err, l->errlen, "%s: corrupt session (%s: %s)", l->d->path, what, sqlite3_errmsg(l->db));
	return -1;
}

static int prep(struct loader *l, sqlite3_stmt **q, const char *sql, const char *what)
{
	if (sqlite3_prepare_v2(l->db, sql, -1, q, NULL) != SQLITE_OK) {
		*q = NULL;
		return corrupt(l, what);
	}
	return 0;
}

/* Ends a read loop: DONE is fine, anything else is corruption. */
static int done(struct loader *l, sqlite3_stmt *q, int rc, const char *what)
{
	int r = rc == SQLITE_DONE ? 0 : rc == SQLITE_NOMEM ? -ENOMEM : corrupt(l, what);

	if (rc == SQLITE_NOMEM)
		snprintf(l->err, l->errlen, "%s: out of memory reading %s", l->d->path, what);
	sqlite3_finalize(q);
	return r;
}

/* A time in a session is seconds since the run began: finite, not negative, and
 * under a century (a damaged file could hold anything; converting such a double
 * to an integer later would be undefined). */
#define SESSION_MAX_T_S 3.2e9

static int bad_time(struct loader *l, sqlite3_stmt *q, const char *what, double t)
{
	if (isfinite(t) && t >= 0 && t <= SESSION_MAX_T_S)
		return 0;
	snprintf(l->err, l->errlen, "%s: corrupt session (%s: time %g s is out of range)", l->d->path, what, t);
	sqlite3_finalize(q);
	return -1;
}

static int oom(struct loader *l, sqlite3_stmt *q)
{
	snprintf(l->err, l->errlen, "%s: out of memory", l->d->path);
	sqlite3_finalize(q);
	return -1;
}

static int load_meta(struct loader *l)
{
	struct session_data *d = l->d;
	sqlite3_stmt *q;
	long cap = 0, n = 0;
	int rc;

	if (prep(l, &q, "SELECT key, value FROM meta ORDER BY key", "meta"))
		return -1;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		long cap2 = cap;

		if (grow(&d->meta_key, &cap, n, sizeof(char *)) || grow(&d->meta_val, &cap2, n, sizeof(char *)))
			return oom(l, q);
		d->meta_key[n] = dupcol(q, 0);
		d->meta_val[n] = dupcol(q, 1);
		d->nmeta = (int)++n;
		if (!d->meta_key[n - 1] || !d->meta_val[n - 1])
			return oom(l, q);
		if (n >= INT_MAX / 2)
			break;
	}
	return done(l, q, rc, "meta");
}

/* Columns added after a session was written read as 0, and are named absent:
 * a report says "not recorded" rather than "none". */
static int find_absent(struct loader *l)
{
	sqlite3_stmt *q;
	int rc;

	l->d->absent = malloc(session__ncols());
	if (!l->d->absent)
		return oom(l, NULL);
	memset(l->d->absent, 1, session__ncols());
	if (prep(l, &q, "SELECT name FROM pragma_table_info('snapshots')", "snapshots' columns"))
		return -1;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const unsigned char *name = sqlite3_column_text(q, 0);
		int c = name ? session__col((const char *)name) : -1;

		if (c >= 0)
			l->d->absent[c] = 0;
	}
	rc = done(l, q, rc, "snapshots' columns");
	l->d->windowed = !l->d->absent[session__col("sm_duty")];
	return rc;
}

static int load_rows(struct loader *l)
{
	struct session_data *d = l->d;
	char *sql;
	sqlite3_stmt *q;
	long cap = 0;
	int rc;

	if (find_absent(l))
		return -1;
	sql = session__snap_sql(2, d->absent);
	if (!sql)
		return oom(l, NULL);
	rc = prep(l, &q, sql, "snapshots");
	free(sql);
	if (rc)
		return -1;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct session_row *r;

		if (grow(&d->rows, &cap, d->nrows, sizeof(*d->rows)))
			return oom(l, q);
		r = &d->rows[d->nrows];
		r->v = calloc(session__ncols(), sizeof(*r->v));
		if (!r->v)
			return oom(l, q);
		d->nrows++;
		r->seq = (long)sqlite3_column_int64(q, 0);
		r->t_s = sqlite3_column_double(q, 1);
		if (bad_time(l, q, "snapshots", r->t_s))
			return -1;
		for (int c = 0; c < session__ncols(); c++) {
			if (session__col_real(c))
				r->v[c].r = sqlite3_column_double(q, 2 + c);
			else
				r->v[c].i = sqlite3_column_int64(q, 2 + c);
		}
	}
	return done(l, q, rc, "snapshots");
}

static int load_events(struct loader *l)
{
	struct session_data *d = l->d;
	sqlite3_stmt *q;
	long cap = 0;
	int rc;

	if (prep(l, &q, "SELECT seq, t_s, kind, name, calls, bytes, resident_bytes FROM events ORDER BY seq, rowid",
		 "events"))
		return -1;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct session_event *e;

		if (grow(&d->events, &cap, d->nevents, sizeof(*d->events)))
			return oom(l, q);
		e = &d->events[d->nevents++];
		e->seq = (long)sqlite3_column_int64(q, 0);
		e->t_s = sqlite3_column_double(q, 1);
		if (bad_time(l, q, "events", e->t_s))
			return -1;
		copycol(q, 2, e->kind, sizeof(e->kind));
		copycol(q, 3, e->name, sizeof(e->name));
		e->calls = sqlite3_column_int64(q, 4);
		e->bytes = sqlite3_column_int64(q, 5);
		e->resident = sqlite3_column_int64(q, 6);
	}
	return done(l, q, rc, "events");
}

static int load_sites(struct loader *l)
{
	struct session_data *d = l->d;
	sqlite3_stmt *q, *fq = NULL;
	long cap = 0, n = 0;
	int64_t has_stderr = 0;
	char sql[320];
	int rc;

	d->sites_seq = -1;
	/* sampled sessions: each site's standard error (other sessions have no such column) */
	if (pragma_int(l->db, "SELECT count(*) FROM pragma_table_info('site_samples') WHERE name = 'live_bytes_stderr'",
		       &has_stderr) != SQLITE_OK)
		return corrupt(l, "site_samples' columns");
	snprintf(sql, sizeof(sql), "SELECT seq, site, samples, bytes_est, live_bytes_est, live_samples, %s FROM site_samples"
		 " WHERE seq = (SELECT max(seq) FROM site_samples) ORDER BY live_bytes_est DESC, bytes_est DESC, site",
		 has_stderr ? "live_bytes_stderr" : "-1");
	if (prep(l, &q, sql, "site_samples"))
		return -1;
	if (prep(l, &fq, "SELECT f.name FROM site_frames sf JOIN frames f ON f.id = sf.frame"
			 " WHERE sf.site = ? ORDER BY sf.depth", "site_frames")) {
		sqlite3_finalize(q);
		return -1;
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct session_site *x;
		long fcap = 0;
		int frc;

		if (n >= INT_MAX / 2 || grow(&d->sites, &cap, n, sizeof(*d->sites)))
			break;
		x = &d->sites[n];
		memset(x, 0, sizeof(*x));
		d->nsites = (int)++n;
		d->sites_seq = (long)sqlite3_column_int64(q, 0);
		x->id = (long)sqlite3_column_int64(q, 1);
		x->samples = (uint64_t)sqlite3_column_int64(q, 2);
		x->bytes = (uint64_t)sqlite3_column_int64(q, 3);
		x->live_bytes = sqlite3_column_int64(q, 4);
		x->live_samples = sqlite3_column_int64(q, 5);
		x->live_stderr = sqlite3_column_int64(q, 6);
		if (x->live_stderr < -1)	/* a damaged file */
			x->live_stderr = -1;
		sqlite3_bind_int64(fq, 1, x->id);
		/* depth order only: a damaged file's depths are not trusted as indexes */
		while ((frc = sqlite3_step(fq)) == SQLITE_ROW && x->nframes < 2 * FS_STACK_DEPTH) {
			if (grow(&x->frame, &fcap, x->nframes, sizeof(char *)))
				break;
			x->frame[x->nframes] = dupcol(fq, 0);
			if (!x->frame[x->nframes])
				break;
			x->nframes++;
		}
		sqlite3_reset(fq);
		if (frc != SQLITE_ROW && frc != SQLITE_DONE) {
			sqlite3_finalize(fq);
			sqlite3_finalize(q);
			return corrupt(l, "site_frames");
		}
	}
	sqlite3_finalize(fq);
	if (rc == SQLITE_ROW) /* out of memory above */
		return oom(l, q);
	return done(l, q, rc, "site_samples");
}

static int load_rest(struct loader *l)
{
	struct session_data *d = l->d;
	sqlite3_stmt *q;
	long cap = 0;
	int64_t njson = 0;
	int rc;

	if (prep(l, &q, "SELECT name, lt, count FROM histograms WHERE seq = (SELECT max(seq) FROM histograms)"
			" ORDER BY name, lt", "histograms"))
		return -1;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct session_hist *h;

		if (d->nhists >= INT_MAX / 2 || grow(&d->hists, &cap, d->nhists, sizeof(*d->hists)))
			return oom(l, q);
		h = &d->hists[d->nhists++];
		copycol(q, 0, h->name, sizeof(h->name));
		h->lt = (uint64_t)sqlite3_column_int64(q, 1);
		h->count = sqlite3_column_int64(q, 2);
	}
	if (done(l, q, rc, "histograms"))
		return -1;

	if (prep(l, &q, "SELECT kind, text FROM diagnosis ORDER BY seq DESC, rowid DESC LIMIT 1", "diagnosis"))
		return -1;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		copycol(q, 0, d->diag_kind, sizeof(d->diag_kind));
		d->diag_text = dupcol(q, 1);
		rc = sqlite3_step(q);
	}
	if (done(l, q, rc, "diagnosis"))
		return -1;

	if (pragma_int(l->db, "SELECT count(*) FROM stat_json", &njson) != SQLITE_OK)
		return corrupt(l, "stat_json");
	if (prep(l, &q, "SELECT t_s, doc FROM stat_json WHERE json_valid(doc) AND json_type(doc) = 'object'"
			" ORDER BY id LIMIT 1", "stat_json"))
		return -1;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		d->stat_json_t = sqlite3_column_double(q, 0);
		if (bad_time(l, q, "stat_json", d->stat_json_t))
			return -1;
		d->stat_json = dupcol(q, 1);
		rc = sqlite3_step(q);
	}
	if (done(l, q, rc, "stat_json"))
		return -1;
	if (njson && !d->stat_json) {
		snprintf(l->err, l->errlen, "%s: corrupt session (the stat document is not valid JSON)", d->path);
		return -1;
	}
	return 0;
}

/* record --trace's tables, when the session has them: totals and threads (the
 * chunks themselves are read by out/trace_file.c's reader, one at a time). */
static int load_trace(struct loader *l)
{
	struct session_trace *tr;
	sqlite3_stmt *q;
	int64_t has = 0;
	long cap = 0;
	int rc;

	if (pragma_int(l->db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'trace_chunks'",
		       &has) != SQLITE_OK)
		return corrupt(l, "schema");
	if (!has)
		return 0;
	tr = l->d->trace = calloc(1, sizeof(*tr));
	if (!tr)
		return oom(l, NULL);
	tr->has_trace = 1;
	if (prep(l, &q, "SELECT count(*), coalesce(sum(nevents), 0), coalesce(sum(raw_bytes), 0),"
			" coalesce(sum(length(data)), 0) FROM trace_chunks", "trace_chunks"))
		return -1;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		tr->chunks = sqlite3_column_int64(q, 0);
		tr->calls = sqlite3_column_int64(q, 1);
		tr->raw_bytes = sqlite3_column_int64(q, 2);
		tr->bytes = sqlite3_column_int64(q, 3);
		rc = sqlite3_step(q);
	}
	if (done(l, q, rc, "trace_chunks"))
		return -1;
	if (pragma_int(l->db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'trace_threads'",
		       &has) != SQLITE_OK)
		return corrupt(l, "schema");
	if (!has)
		return 0;
	if (prep(l, &q, "SELECT tid, calls, lost FROM trace_threads ORDER BY calls DESC, tid", "trace_threads"))
		return -1;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct session_tthread *x;

		if (tr->nthreads >= INT_MAX / 2 || grow(&tr->threads, &cap, tr->nthreads, sizeof(*tr->threads)))
			return oom(l, q);
		x = &tr->threads[tr->nthreads++];
		x->tid = (uint32_t)sqlite3_column_int64(q, 0);
		x->calls = sqlite3_column_int64(q, 1);
		x->lost = sqlite3_column_int64(q, 2);
		if (x->lost > 0)
			tr->lost += x->lost;
	}
	return done(l, q, rc, "trace_threads");
}

struct session_data *session__load(const char *path, char *err, size_t errlen)
{
	struct session_data *d = NULL;
	struct loader l = { .err = err, .errlen = errlen };
	sqlite3 *db = NULL;
	int64_t app = 0, ver = 0, ntables = 0;
	char check[256] = "";
	int rc;

	if (check_header(path, err, errlen))
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(d->path, sizeof(d->path), "%s", path);
	l.d = d;
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	l.db = db;
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(db, 2000);	/* a recorder may be committing */
	if (pragma_int(db, "PRAGMA application_id", &app) != SQLITE_OK ||
	    pragma_int(db, "PRAGMA user_version", &ver) != SQLITE_OK) {
		corrupt(&l, "header");
		goto fail;
	}
	if (app != SESSION_APP_ID) {
		snprintf(err, errlen, "%s: not a fragscope session (an SQLite database of something else)", path);
		goto fail;
	}
	if (ver > SESSION_SCHEMA) {
		snprintf(err, errlen, "%s: session schema version %lld is newer than this fragscope reads (%d): upgrade fragscope",
			 path, (long long)ver, SESSION_SCHEMA);
		goto fail;
	}
	if (ver < 1) {
		snprintf(err, errlen, "%s: not a fragscope session (schema version %lld)", path, (long long)ver);
		goto fail;
	}
	{
		sqlite3_stmt *q = NULL;

		rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &q, NULL);
		if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW)
			copycol(q, 0, check, sizeof(check));
		sqlite3_finalize(q);
		if (rc != SQLITE_ROW) {
			corrupt(&l, "integrity check");
			goto fail;
		}
		if (strcmp(check, "ok")) {
			for (char *p = check; *p; p++)	/* one line */
				if (*p == '\n' || *p == '\r')
					*p = ' ';
			snprintf(err, errlen, "%s: corrupt session (integrity check: %s)", path, check);
			goto fail;
		}
	}
	if (pragma_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'snapshots'",
		       &ntables) != SQLITE_OK) {
		corrupt(&l, "schema");
		goto fail;
	}
	if (!ntables) {
		snprintf(err, errlen, "%s: corrupt session (no snapshots table)", path);
		goto fail;
	}
	if (load_meta(&l))
		goto fail;
	/* sessions before the mode was recorded were all exact */
	d->mode = metric__mode(session__meta(d, "mode", "exact"));
	if (d->mode < 0) {
		char m[40];

		snprintf(m, sizeof(m), "%s", session__meta(d, "mode", ""));
		for (char *p = m; *p; p++)	/* one line, printable */
			if (*p < ' ' || *p > '~')
				*p = '?';
		snprintf(err, errlen, "%s: session recorded in mode '%s', which this fragscope does not read: upgrade fragscope",
			 path, m);
		goto fail;
	}
	if (load_rows(&l) || load_events(&l) || load_sites(&l) || load_rest(&l) || load_trace(&l))
		goto fail;
	if (!d->nrows) {
		snprintf(err, errlen, "%s: empty session: no snapshots (the recording ended before its first interval)",
			 path);
		goto fail;
	}
	sqlite3_close(db);
	return d;
fail:
	sqlite3_close(db);
	session__data_free(d);
	return NULL;
}
