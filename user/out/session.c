/* session.c - the SQLite session store: schema v1, the writer `record` appends
 * to (one transaction per snapshot, WAL, so a killed recorder loses at most the
 * interval in progress) and the validating reader `report` loads. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "cmd/cmd.h"
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

/* ---- schema ---- */

static const char schema_sql[] =
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);\n"
	"CREATE TABLE events(seq INTEGER NOT NULL, t_s REAL NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,"
	" calls INTEGER NOT NULL, bytes INTEGER NOT NULL, resident_bytes INTEGER NOT NULL);\n"
	"CREATE TABLE frames(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);\n"
	"CREATE TABLE sites(id INTEGER PRIMARY KEY, stack TEXT NOT NULL UNIQUE, stackid INTEGER NOT NULL,"
	" nframes INTEGER NOT NULL, first_seq INTEGER NOT NULL);\n"
	"CREATE TABLE site_frames(site INTEGER NOT NULL, depth INTEGER NOT NULL, frame INTEGER NOT NULL,"
	" PRIMARY KEY(site, depth)) WITHOUT ROWID;\n"
	"CREATE TABLE site_samples(seq INTEGER NOT NULL, site INTEGER NOT NULL, samples INTEGER NOT NULL,"
	" bytes_est INTEGER NOT NULL, live_bytes_est INTEGER NOT NULL, live_samples INTEGER NOT NULL,"
	" PRIMARY KEY(seq, site)) WITHOUT ROWID;\n"
	"CREATE TABLE histograms(seq INTEGER NOT NULL, name TEXT NOT NULL, lt INTEGER NOT NULL, count INTEGER NOT NULL);\n"
	"CREATE TABLE diagnosis(seq INTEGER NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL);\n"
	"CREATE TABLE stat_json(id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, t_s REAL NOT NULL,"
	" doc TEXT NOT NULL);\n";

/* CREATE TABLE snapshots(...) / INSERT / SELECT, from the column list. The
 * SELECT reads 0 for the columns absent (a session from an older fragscope). */
static char *snap_sql(int which, const unsigned char *absent)
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

/* ---- writing ---- */

enum { ST_SNAP, ST_EVENT, ST_FRAME_INS, ST_FRAME_GET, ST_SITE_INS, ST_SITE_GET, ST_SITE_FRAME, ST_SITE_SAMPLE,
       ST_HIST_DEL, ST_HIST, ST_DIAG, ST_JSON, ST_META, ST__COUNT };

static const char *const stmt_sql[ST__COUNT] = {
	[ST_EVENT] = "INSERT INTO events VALUES(?, ?, ?, ?, ?, ?, ?)",
	[ST_FRAME_INS] = "INSERT OR IGNORE INTO frames(name) VALUES(?)",
	[ST_FRAME_GET] = "SELECT id FROM frames WHERE name = ?",
	[ST_SITE_INS] = "INSERT OR IGNORE INTO sites(stack, stackid, nframes, first_seq) VALUES(?, ?, ?, ?)",
	[ST_SITE_GET] = "SELECT id FROM sites WHERE stack = ?",
	[ST_SITE_FRAME] = "INSERT OR REPLACE INTO site_frames VALUES(?, ?, ?)",
	[ST_SITE_SAMPLE] = "INSERT OR REPLACE INTO site_samples VALUES(?, ?, ?, ?, ?, ?)",
	[ST_HIST_DEL] = "DELETE FROM histograms",
	[ST_HIST] = "INSERT INTO histograms VALUES(?, ?, ?, ?)",
	[ST_DIAG] = "INSERT INTO diagnosis VALUES(?, ?, ?)",
	[ST_JSON] = "INSERT OR REPLACE INTO stat_json VALUES(1, ?, ?, ?)",
	[ST_META] = "INSERT OR REPLACE INTO meta VALUES(?, ?)",
};

struct session {
	sqlite3 *db;
	sqlite3_stmt *st[ST__COUNT];
	long nrows;
	double prev_t;
	struct fs_snapshot prev;	/* the previous row's counters, for deltas */
	char err[512];
};

static int fail(struct session *s, const char *what)
{
	snprintf(s->err, sizeof(s->err), "%s: %s", what, sqlite3_errmsg(s->db));
	return -EIO;
}

static int exec(struct session *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : fail(s, "write session");
}

/* Steps a prepared statement to completion and resets it. */
static int step(struct session *s, sqlite3_stmt *q)
{
	int rc = sqlite3_step(q);

	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : fail(s, "write session");
}

static int64_t lookup_id(struct session *s, sqlite3_stmt *q, const char *key)
{
	int64_t id = -1;

	sqlite3_bind_text(q, 1, key, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(q) == SQLITE_ROW)
		id = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (id < 0)
		fail(s, "write session: look-up");
	return id;
}

int session__rotate(const char *path)
{
	static const char *const sfx[] = { "-wal", "-shm" };
	char old[PATH_MAX], a[PATH_MAX], b[PATH_MAX];
	struct stat sb;

	if (lstat(path, &sb))
		return errno == ENOENT ? 0 : -errno;
	if (snprintf(old, sizeof(old), "%s.old", path) >= (int)sizeof(old))
		return -ENAMETOOLONG;
	/* an old file's leftover WAL would be applied to the new .old: move both together */
	for (int i = 0; i < 2; i++) {
		snprintf(b, sizeof(b), "%s%s", old, sfx[i]);
		unlink(b);
	}
	if (rename(path, old))
		return -errno;
	for (int i = 0; i < 2; i++) {
		snprintf(a, sizeof(a), "%s%s", path, sfx[i]);
		snprintf(b, sizeof(b), "%s%s", old, sfx[i]);
		if (rename(a, b) && errno != ENOENT)
			return -errno;
	}
	return 0;
}

struct session *session__create(const char *path, char *err, size_t errlen)
{
	struct session *s = calloc(1, sizeof(*s));
	char aux[PATH_MAX], pragmas[160], *create = NULL;
	int fd;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* 0600 from the start: sessions hold command lines and addresses. SQLite gives
	 * its -wal and -shm files the database's permissions. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "create %s: %s", path, strerror(errno));
		free(s);
		return NULL;
	}
	close(fd);
	snprintf(aux, sizeof(aux), "%s-wal", path);
	unlink(aux);
	snprintf(aux, sizeof(aux), "%s-shm", path);
	unlink(aux);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "open %s: %s", path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 2000);
	create = snap_sql(0, NULL);
	snprintf(pragmas, sizeof(pragmas), "PRAGMA application_id = %d; PRAGMA user_version = %d;",
		 SESSION_APP_ID, SESSION_SCHEMA);
	/* The schema goes into the main file before WAL starts: a session killed at any
	 * point after this is recognisable from its own header. */
	if (!create || exec(s, "PRAGMA page_size = 4096; BEGIN") || exec(s, schema_sql) || exec(s, create) ||
	    exec(s, pragmas) || exec(s, "COMMIT") || exec(s, "PRAGMA journal_mode = WAL") ||
	    exec(s, "PRAGMA synchronous = FULL")) {
		snprintf(err, errlen, "%s: %s", path, s->err);
		goto fail;
	}
	free(create);
	create = snap_sql(1, NULL);
	if (!create || sqlite3_prepare_v2(s->db, create, -1, &s->st[ST_SNAP], NULL) != SQLITE_OK)
		goto prep_fail;
	for (int i = 0; i < ST__COUNT; i++)
		if (stmt_sql[i] && sqlite3_prepare_v2(s->db, stmt_sql[i], -1, &s->st[i], NULL) != SQLITE_OK)
			goto prep_fail;
	free(create);
	if (session__set_meta(s, "format", "fragscope-session") || session__set_meta(s, "schema", "1")) {
		snprintf(err, errlen, "%s: %s", path, s->err);
		session__close(s);
		return NULL;
	}
	return s;
prep_fail:
	snprintf(err, errlen, "%s: prepare: %s", path, sqlite3_errmsg(s->db));
fail:
	free(create);
	session__close(s);
	unlink(path);
	return NULL;
}

int session__set_meta(struct session *s, const char *key, const char *value)
{
	sqlite3_bind_text(s->st[ST_META], 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s->st[ST_META], 2, value ? value : "", -1, SQLITE_TRANSIENT);
	return step(s, s->st[ST_META]);
}

static int meta_i64(struct session *s, const char *key, int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return session__set_meta(s, key, buf);
}

int session__set_target(struct session *s, const struct fs_view *v)
{
	int r = 0;

	if (exec(s, "BEGIN"))
		return -EIO;
	r = r ?: meta_i64(s, "pid", v->target->pid);
	r = r ?: session__set_meta(s, "comm", v->target->comm);
	r = r ?: meta_i64(s, "traced_from_start", v->target->attached_at_start);
	r = r ?: session__set_meta(s, "allocator", v->plan->alloc_name);
	r = r ?: session__set_meta(s, "allocator_object", v->plan->object);
	r = r ?: session__set_meta(s, "allocator_prefix", v->plan->prefix);
	r = r ?: session__set_meta(s, "allocator_found_by", v->plan->how);
	r = r ?: meta_i64(s, "probes", v->plan->nprobes);
	r = r ?: meta_i64(s, "max_live", v->max_live);
	if (v->st) {
		r = r ?: meta_i64(s, "sample_bytes", (int64_t)v->st->sample_bytes);
		r = r ?: meta_i64(s, "lifetime_sampling", (int64_t)v->st->lifetime_sampling);
		r = r ?: session__set_meta(s, "MALLOC_CONF", v->st->settings.malloc_conf);
		r = r ?: session__set_meta(s, "GLIBC_TUNABLES", v->st->settings.glibc_tunables);
		r = r ?: session__set_meta(s, "MALLOC_ARENA_MAX", v->st->settings.arena_max);
	}
	if (r) {
		exec(s, "ROLLBACK");
		return r;
	}
	return exec(s, "COMMIT");
}

/* Words joined by spaces, those with blanks or quotes single-quoted (as a shell reads them). */
static char *join_args(int argc, char **argv)
{
	size_t cap = 16, n = 0;
	char *out;

	for (int i = 0; i < argc; i++)
		cap += strlen(argv[i]) * 4 + 3;
	out = malloc(cap);
	if (!out)
		return NULL;
	out[0] = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		int quote = !*a || strpbrk(a, " \t\n'\"\\$`*?;&|<>()") != NULL;

		if (i)
			out[n++] = ' ';
		if (quote)
			out[n++] = '\'';
		for (; *a; a++) {
			if (*a == '\'' && quote) {
				memcpy(out + n, "'\\''", 4);
				n += 4;
			} else {
				out[n++] = *a;
			}
		}
		if (quote)
			out[n++] = '\'';
		out[n] = 0;
	}
	return out;
}

int session__set_run(struct session *s, int argc, char **argv, int cmd_at, double interval_s, int deep_every)
{
	char buf[64], *cmdline = NULL, *opts = NULL;
	struct utsname un;
	time_t now = time(NULL);
	struct tm tm;
	int r;

	cmdline = join_args(argc - cmd_at, argv + cmd_at);
	opts = join_args(cmd_at, argv);
	if (!cmdline || !opts) {
		free(cmdline);
		free(opts);
		snprintf(s->err, sizeof(s->err), "out of memory");
		return -ENOMEM;
	}
	r = session__set_meta(s, "fragscope_version", FRAGSCOPE_VERSION);
	r = r ?: session__set_meta(s, "command", cmdline);
	r = r ?: session__set_meta(s, "options", opts);
	r = r ?: session__set_meta(s, "kernel", uname(&un) ? "" : un.release);
	gmtime_r(&now, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	r = r ?: session__set_meta(s, "start_time", buf);
	snprintf(buf, sizeof(buf), "%lld", (long long)now);
	r = r ?: session__set_meta(s, "start_unix", buf);
	snprintf(buf, sizeof(buf), "%.0f", interval_s * 1000);
	r = r ?: session__set_meta(s, "interval_ms", buf);
	snprintf(buf, sizeof(buf), "%d", deep_every);
	r = r ?: session__set_meta(s, "deep_every", buf);
	free(cmdline);
	free(opts);
	return r;
}

static int event(struct session *s, long seq, double t, const char *kind, const char *name, int64_t calls,
		 int64_t bytes, int64_t resident)
{
	sqlite3_stmt *q = s->st[ST_EVENT];

	if (!calls && !bytes && !resident)
		return 0;
	sqlite3_bind_int64(q, 1, seq);
	sqlite3_bind_double(q, 2, t);
	sqlite3_bind_text(q, 3, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, calls);
	sqlite3_bind_int64(q, 6, bytes);
	sqlite3_bind_int64(q, 7, resident);
	return step(s, q);
}

#define D(field) ((int64_t)(k->field - p->field))

/* What the allocator gave back (and mapped) during the interval: the kernel side
 * is aggregated in BPF, so deltas per interval are the finest grain there is. */
static int events(struct session *s, long seq, double t, const struct fs_kstats *k, const struct fs_kstats *p)
{
	int r = 0;

	for (int a = 0; a < FS_A__COUNT && !r; a++)
		r = event(s, seq, t, "madvise", fs_adv_names[a], D(adv[a].calls), D(adv[a].bytes), D(adv[a].resident));
	r = r ?: event(s, seq, t, "munmap", "", D(sys[FS_S_MUNMAP].calls), D(sys[FS_S_MUNMAP].bytes),
		       D(sys[FS_S_MUNMAP].resident));
	r = r ?: event(s, seq, t, "brk_shrink", "", D(brk_shrink_calls), D(brk_shrink), D(sys[FS_S_BRK].resident));
	r = r ?: event(s, seq, t, "malloc_trim", "", D(trim_calls), 0, D(src_resident[FS_R_MALLOC_TRIM]));
	for (int i = 0; i < FS_R__COUNT && !r; i++)
		r = event(s, seq, t, "source", fs_src_names[i], D(src_calls[i]), 0, D(src_resident[i]));
	for (int i = 0; i < FS_M__COUNT && !r; i++)
		r = event(s, seq, t, "mapping", fs_map_names[i], D(map_calls[i]), D(map_bytes[i]), 0);
	return r;
}

#undef D

static int put_site(struct session *s, long seq, const struct fs_site_sym *x)
{
	size_t cap = (size_t)x->nframes * FS_SITE_FRAME + 1, n = 0;
	char *key = malloc(cap);
	int64_t id, fid;
	int r = 0, nf = x->nframes < FS_STACK_DEPTH ? x->nframes : FS_STACK_DEPTH;
	sqlite3_stmt *q;

	if (!key)
		return -ENOMEM;
	key[0] = 0;
	for (int f = 0; f < nf; f++)
		n += (size_t)snprintf(key + n, cap - n, "%s%.*s", f ? "\n" : "", FS_SITE_FRAME, x->frame[f]);
	q = s->st[ST_SITE_INS];
	sqlite3_bind_text(q, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, x->stackid);
	sqlite3_bind_int64(q, 3, nf);
	sqlite3_bind_int64(q, 4, seq);
	r = step(s, q);
	if (r)
		goto out;
	if (sqlite3_changes(s->db)) {	/* a new stack: its frames */
		id = sqlite3_last_insert_rowid(s->db);
		for (int f = 0; f < nf && !r; f++) {
			char name[FS_SITE_FRAME + 1];

			snprintf(name, sizeof(name), "%.*s", FS_SITE_FRAME, x->frame[f]);
			sqlite3_bind_text(s->st[ST_FRAME_INS], 1, name, -1, SQLITE_TRANSIENT);
			r = step(s, s->st[ST_FRAME_INS]);
			fid = r ? -1 : lookup_id(s, s->st[ST_FRAME_GET], name);
			if (fid < 0) {
				r = -EIO;
				break;
			}
			q = s->st[ST_SITE_FRAME];
			sqlite3_bind_int64(q, 1, id);
			sqlite3_bind_int64(q, 2, f);
			sqlite3_bind_int64(q, 3, fid);
			r = step(s, q);
		}
	} else {
		id = lookup_id(s, s->st[ST_SITE_GET], key);
		if (id < 0)
			r = -EIO;
	}
	if (r)
		goto out;
	q = s->st[ST_SITE_SAMPLE];
	sqlite3_bind_int64(q, 1, seq);
	sqlite3_bind_int64(q, 2, id);
	sqlite3_bind_int64(q, 3, (int64_t)x->samples);
	sqlite3_bind_int64(q, 4, (int64_t)x->bytes);
	sqlite3_bind_int64(q, 5, x->live_bytes);
	sqlite3_bind_int64(q, 6, x->live_samples);
	r = step(s, q);
out:
	free(key);
	return r;
}

static int put_deep(struct session *s, long seq, const struct fs_view *v)
{
	const struct fs_state *st = v->st;
	int r = 0;

	for (int i = 0; st && i < st->nsites && !r; i++)
		r = put_site(s, seq, &st->sites[i]);
	r = r ?: step(s, s->st[ST_HIST_DEL]);
	for (int h = 0; h < FS_H__COUNT && !r; h++)
		for (int b = 0; b < FS_HIST_BUCKETS && !r; b++) {
			sqlite3_stmt *q = s->st[ST_HIST];

			if (!v->snap->h[h][b])
				continue;
			sqlite3_bind_int64(q, 1, seq);
			sqlite3_bind_text(q, 2, fs_hist_names[h], -1, SQLITE_STATIC);
			sqlite3_bind_int64(q, 3, (int64_t)agg__bucket_max(b));
			sqlite3_bind_int64(q, 4, v->snap->h[h][b]);
			r = step(s, q);
		}
	if (!r && st) {
		sqlite3_stmt *q = s->st[ST_DIAG];

		sqlite3_bind_int64(q, 1, seq);
		sqlite3_bind_text(q, 2, memmodel__diag_name(st->diag.kind), -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, st->diag.text, -1, SQLITE_TRANSIENT);
		r = step(s, q);
	}
	return r;
}

static int put_json(struct session *s, long seq, const struct fs_view *v)
{
	char *doc = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&doc, &len);
	struct json j;
	sqlite3_stmt *q = s->st[ST_JSON];

	if (!f)
		return -ENOMEM;
	json__init(&j, f, 1);
	json__obj(&j, NULL);
	render__json_core(&j, v);
	json__end_obj(&j);
	if (fclose(f) || !doc) {
		free(doc);
		return -ENOMEM;
	}
	sqlite3_bind_int64(q, 1, seq);
	sqlite3_bind_double(q, 2, v->duration_s);
	sqlite3_bind_text(q, 3, doc, (int)len, free);
	return step(s, q);
}

int session__append(struct session *s, const struct fs_view *v, int deep)
{
	static const struct fs_state none;
	const struct fs_snapshot *sn = v->snap;
	const struct fs_state *st = v->st ? v->st : &none;
	const struct fs_memory *m = &st->mem;
	const struct fs_kstats *k = &sn->k;
	struct fs_snapshot *d = malloc(sizeof(*d));
	double dt = v->duration_s - s->prev_t;
	long seq = s->nrows;
	sqlite3_stmt *q = s->st[ST_SNAP];
	struct fs_metric_src src;
	int r, c;

	if (!d)
		return -ENOMEM;
	agg__delta(&s->prev, sn, d);
	src = (struct fs_metric_src){ .sn = sn, .m = m, .d = d, .dt = dt, .deep = deep,
				      .peak_live = st->peak_live, .peak_resident = st->peak_resident,
				      .max_live = v->max_live };
	if (exec(s, "BEGIN IMMEDIATE")) {
		free(d);
		return -EIO;
	}
	sqlite3_bind_int64(q, 1, seq);
	sqlite3_bind_double(q, 2, v->duration_s);
	for (c = 0; c < NCOLS; c++) {
		if (cols[c]->real)
			sqlite3_bind_double(q, 3 + c, metric__dbl(cols[c], &src));
		else
			sqlite3_bind_int64(q, 3 + c, metric__i64(cols[c], &src));
	}
	r = step(s, q);
	r = r ?: events(s, seq, v->duration_s, k, &s->prev.k);
	r = r ?: (deep ? put_deep(s, seq, v) : 0);
	r = r ?: put_json(s, seq, v);
	free(d);
	if (r || exec(s, "COMMIT")) {
		exec(s, "ROLLBACK");
		return r ?: -EIO;
	}
	s->prev = *sn;
	s->prev_t = v->duration_s;
	s->nrows++;
	return 0;
}

int session__finish(struct session *s, int exit_code, double duration_s)
{
	char buf[64];
	int r;

	if (exec(s, "BEGIN"))
		return -EIO;
	snprintf(buf, sizeof(buf), "%.3f", duration_s);
	r = session__set_meta(s, "complete", "1");
	r = r ?: session__set_meta(s, "duration_s", buf);
	if (exit_code >= 0)
		r = r ?: meta_i64(s, "exit_code", exit_code);
	r = r ?: meta_i64(s, "end_unix", (int64_t)time(NULL));
	if (r) {
		exec(s, "ROLLBACK");
		return r;
	}
	if (exec(s, "COMMIT"))
		return -EIO;
	/* one self-contained file to copy or mail: checkpoint and drop the WAL */
	return exec(s, "PRAGMA journal_mode = DELETE");
}

long session__count(const struct session *s) { return s ? s->nrows : 0; }
const char *session__errmsg(const struct session *s) { return s ? s->err : "no session"; }

void session__close(struct session *s)
{
	if (!s)
		return;
	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	free(s);
}

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
	free(d);
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
	return col < 0 || col >= NCOLS || !d->absent || d->absent[col];
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

	l->d->absent = malloc(NCOLS);
	if (!l->d->absent)
		return oom(l, NULL);
	memset(l->d->absent, 1, NCOLS);
	if (prep(l, &q, "SELECT name FROM pragma_table_info('snapshots')", "snapshots' columns"))
		return -1;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const unsigned char *name = sqlite3_column_text(q, 0);
		int c = name ? session__col((const char *)name) : -1;

		if (c >= 0)
			l->d->absent[c] = 0;
	}
	return done(l, q, rc, "snapshots' columns");
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
	sql = snap_sql(2, d->absent);
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
		r->v = calloc(NCOLS, sizeof(*r->v));
		if (!r->v)
			return oom(l, q);
		d->nrows++;
		r->seq = (long)sqlite3_column_int64(q, 0);
		r->t_s = sqlite3_column_double(q, 1);
		for (int c = 0; c < NCOLS; c++) {
			if (cols[c]->real)
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
	int rc;

	d->sites_seq = -1;
	if (prep(l, &q, "SELECT seq, site, samples, bytes_est, live_bytes_est, live_samples FROM site_samples"
			" WHERE seq = (SELECT max(seq) FROM site_samples) ORDER BY live_bytes_est DESC, bytes_est DESC, site",
		 "site_samples"))
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
	if (load_meta(&l) || load_rows(&l) || load_events(&l) || load_sites(&l) || load_rest(&l))
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
