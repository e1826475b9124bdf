/* session_write.c - the writer `record` appends to: schema v1 (exact) or v2 (light, sampled), one transaction
 * per snapshot, WAL, so a killed recorder loses at most the interval in progress. */
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
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "util/common.h"
#include "model/metric.h"
#include "model/sampled.h"
#include "out/session.h"

/* ---- schema (the snapshots table is built from the metric table) ---- */

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
/* sampled mode: each site's live estimate has a standard error (older readers
 * select site_samples' columns by name: one more does not disturb them) */
static const char sampled_sql[] = "ALTER TABLE site_samples ADD COLUMN live_bytes_stderr INTEGER NOT NULL DEFAULT 0;\n";
static const char site_sample_sampled_sql[] = "INSERT OR REPLACE INTO site_samples VALUES(?, ?, ?, ?, ?, ?, ?)";

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
	int mode;			/* enum fs_mode */
	unsigned char *absent;		/* per column: not in this mode's table */
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
	return session__create_mode(path, FS_MODE_EXACT, err, errlen);
}

struct session *session__create_mode(const char *path, int mode, char *err, size_t errlen)
{
	return session__create_run(path, mode, 0, err, errlen);
}

struct session *session__create_run(const char *path, int mode, int windowed, char *err, size_t errlen)
{
	struct session *s = calloc(1, sizeof(*s));
	char aux[PATH_MAX], pragmas[160], *create = NULL;
	int fd;

	if (s)
		s->absent = malloc((size_t)session__ncols());
	if (!s || !s->absent) {
		snprintf(err, errlen, "out of memory");
		free(s);
		return NULL;
	}
	if (mode < 0 || mode >= FS_MODE__COUNT) {
		snprintf(err, errlen, "%s: no such mode (%d)", path, mode);
		free(s->absent);
		free(s);
		return NULL;
	}
	if (windowed && mode != FS_MODE_SAMPLED) {
		snprintf(err, errlen, "%s: --window is for --mode sampled", path);
		free(s->absent);
		free(s);
		return NULL;
	}
	s->mode = mode;
	session__run_absent(mode, windowed, s->absent);
	/* 0600 from the start: sessions hold command lines and addresses. SQLite gives
	 * its -wal and -shm files the database's permissions. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "create %s: %s", path, strerror(errno));
		free(s->absent);
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
	create = session__snap_sql(0, s->absent);
	snprintf(pragmas, sizeof(pragmas), "PRAGMA application_id = %d; PRAGMA user_version = %d;",
		 SESSION_APP_ID, mode == FS_MODE_EXACT ? SESSION_SCHEMA_EXACT : SESSION_SCHEMA);
	/* The schema goes into the main file before WAL starts: a session killed at any
	 * point after this is recognisable from its own header. */
	if (!create || exec(s, "PRAGMA page_size = 4096; BEGIN") || exec(s, schema_sql) || exec(s, create) ||
	    (mode == FS_MODE_SAMPLED && exec(s, sampled_sql)) || exec(s, pragmas) || exec(s, "COMMIT") || exec(s, "PRAGMA journal_mode = WAL") ||
	    exec(s, "PRAGMA synchronous = FULL")) {
		snprintf(err, errlen, "%s: %s", path, s->err);
		goto fail;
	}
	free(create);
	create = session__snap_sql(1, s->absent);
	if (!create || sqlite3_prepare_v2(s->db, create, -1, &s->st[ST_SNAP], NULL) != SQLITE_OK)
		goto prep_fail;
	for (int i = 0; i < ST__COUNT; i++) {
		const char *q = i == ST_SITE_SAMPLE && mode == FS_MODE_SAMPLED ? site_sample_sampled_sql : stmt_sql[i];

		if (q && sqlite3_prepare_v2(s->db, q, -1, &s->st[i], NULL) != SQLITE_OK)
			goto prep_fail;
	}
	free(create);
	if (session__set_meta(s, "format", "fragscope-session") ||
	    session__set_meta(s, "schema", mode == FS_MODE_EXACT ? "1" : "2") ||
	    session__set_meta(s, "mode", fs_mode_names[mode])) {
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
	if (v->target->ctr.ns_pid)	/* the container's view: its PID inside, its cgroup */
		r = r ?: meta_i64(s, "ns_pid", v->target->ctr.ns_pid);
	r = r ?: session__set_meta(s, "cgroup", v->target->ctr.cgroup);
	r = r ?: session__set_meta(s, "container", v->target->ctr.id);
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
		r = r ?: session__set_meta(s, "TCMALLOC", v->st->settings.tc_env);
		r = r ?: session__set_meta(s, "MIMALLOC", v->st->settings.mi_env);
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
	if (s->mode == FS_MODE_SAMPLED)
		sqlite3_bind_int64(q, 7, x->live_var > 0 ? llround(sqrt((double)x->live_var)) : 0);
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
	struct fs_sampled_est e;
	const char *basis = NULL;
	int r, c, arg = 3;

	if (!d)
		return -ENOMEM;
	agg__delta(&s->prev, sn, d);
	src = (struct fs_metric_src){ .sn = sn, .m = m, .d = d, .dt = dt, .deep = deep,
				      .peak_live = st->peak_live, .peak_resident = st->peak_resident,
				      .max_live = v->max_live };
	if (s->mode == FS_MODE_SAMPLED) {	/* as stat's "sampled" object has them */
		sampled__estimate(sn, st->sample_bytes, sampled__duty(&st->win, sn, &basis), &e);
		src.sm = &e;
		src.duty_basis = !basis ? FS_DUTY_NONE : !strcmp(basis, "free_calls") ? FS_DUTY_FREE_CALLS
											: FS_DUTY_WALL_TIME;
	}
	if (exec(s, "BEGIN IMMEDIATE")) {
		free(d);
		return -EIO;
	}
	sqlite3_bind_int64(q, 1, seq);
	sqlite3_bind_double(q, 2, v->duration_s);
	for (c = 0; c < session__ncols(); c++) {
		const struct fs_metric *mt = session__col_metric(c);

		if (s->absent[c])	/* a figure this mode does not have: no column */
			continue;
		if (mt->real)
			sqlite3_bind_double(q, arg++, metric__dbl(mt, &src));
		else
			sqlite3_bind_int64(q, arg++, metric__i64(mt, &src));
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
	free(s->absent);
	free(s);
}

/* ---- the call trace (record --trace): tables a session without it lacks ---- */

int session__trace_begin(struct session *s)
{
	return exec(s, "CREATE TABLE IF NOT EXISTS trace_chunks(seq INTEGER PRIMARY KEY, nevents INTEGER NOT NULL,"
		       " raw_bytes INTEGER NOT NULL, data BLOB NOT NULL);"
		       "CREATE TABLE IF NOT EXISTS trace_threads(tid INTEGER PRIMARY KEY, calls INTEGER NOT NULL,"
		       " lost INTEGER NOT NULL);");
}

static int trace_put(struct session *s, const char *sql, const int64_t *v, int nv, const void *blob, size_t len)
{
	sqlite3_stmt *q = NULL;
	int r;

	if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
		return fail(s, "write session: trace");
	for (int i = 0; i < nv; i++)
		sqlite3_bind_int64(q, i + 1, v[i]);
	if (blob)
		sqlite3_bind_blob64(q, nv + 1, blob, len, SQLITE_STATIC);
	r = sqlite3_step(q) == SQLITE_DONE ? 0 : fail(s, "write session: trace");
	sqlite3_finalize(q);
	return r;
}

int session__trace_chunk(struct session *s, long seq, uint32_t nevents, size_t raw, const void *blob, size_t len)
{
	int64_t v[3] = { seq, nevents, (int64_t)raw };

	return trace_put(s, "INSERT INTO trace_chunks VALUES(?, ?, ?, ?)", v, 3, blob, len);
}

int session__trace_before(struct session *s, const uint64_t *pairs, long n)
{
	sqlite3_stmt *q = NULL;
	int r = 0;

	if (exec(s, "CREATE TABLE IF NOT EXISTS trace_before(addr INTEGER NOT NULL, chunk INTEGER NOT NULL); BEGIN"))
		return -EIO;
	if (sqlite3_prepare_v2(s->db, "INSERT INTO trace_before VALUES(?, ?)", -1, &q, NULL) != SQLITE_OK)
		r = fail(s, "write session: trace_before");
	for (long i = 0; !r && i < n; i++) {
		sqlite3_bind_int64(q, 1, (int64_t)pairs[2 * i]);
		sqlite3_bind_int64(q, 2, (int64_t)pairs[2 * i + 1]);
		r = step(s, q);
	}
	sqlite3_finalize(q);
	if (r) {
		exec(s, "ROLLBACK");
		return r;
	}
	return exec(s, "COMMIT");
}

int session__trace_thread(struct session *s, uint32_t tid, uint64_t calls, uint64_t lost)
{
	int64_t v[3] = { tid, (int64_t)calls, (int64_t)lost };

	return trace_put(s, "INSERT OR REPLACE INTO trace_threads VALUES(?, ?, ?)", v, 3, NULL, 0);
}
