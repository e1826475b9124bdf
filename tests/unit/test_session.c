/* test_session.c - the session store: a written session reads back as written,
 * a recorder that dies leaves a readable session, and every bad file is refused
 * with one line naming the problem. */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "out/report.h"
#include "out/session.h"
#include "test.h"

struct fake {
	struct fs_target_info info;
	struct fs_plan plan;
	struct fs_state st;
	struct fs_view v;
};

static struct fake *fake_new(void)
{
	struct fake *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->info.pid = 4242;
	snprintf(f->info.comm, sizeof(f->info.comm), "worker");
	f->info.exit_code = -1;
	f->info.attached_at_start = 1;
	snprintf(f->plan.alloc_name, sizeof(f->plan.alloc_name), "glibc");
	snprintf(f->plan.object, sizeof(f->plan.object), "/lib/x86_64-linux-gnu/libc.so.6");
	f->plan.nprobes = 1;
	snprintf(f->plan.probes[0].name, sizeof(f->plan.probes[0].name), "malloc");
	f->st.sample_bytes = 524288;
	f->st.snap.nfuncs = 1;
	f->st.sites = calloc(2, sizeof(*f->st.sites));
	f->v.target = &f->info;
	f->v.plan = &f->plan;
	f->v.snap = &f->st.snap;
	f->v.st = &f->st;
	f->v.max_live = 1024;
	return f;
}

static void fake_free(struct fake *f)
{
	if (f)
		free(f->st.sites);
	free(f);
}

/* Snapshot i: 100 allocations and 90 frees of 64 bytes per step; one madvise per step. */
static void fake_step(struct fake *f, int i)
{
	struct fs_snapshot *s = &f->st.snap;

	f->v.duration_s = 0.5 * (i + 1);
	s->c[FS_C_ALLOCS] = s->c[FS_C_TRACKED_ALLOCS] = 100ull * (i + 1);
	s->c[FS_C_ALLOC_BYTES] = s->c[FS_C_TRACKED_BYTES] = 6400ull * (i + 1);
	s->c[FS_C_FREES] = s->c[FS_C_TRACKED_FREES] = 90ull * (i + 1);
	s->c[FS_C_FREE_BYTES] = s->c[FS_C_TRACKED_FREE_BYTES] = 5760ull * (i + 1);
	s->f[0].calls = 100ull * (i + 1);
	s->h[FS_H_ALLOC_SIZE][7] = 100 * (i + 1);
	s->k.adv[FS_A_DONTNEED].calls = (uint64_t)i + 1;
	s->k.adv[FS_A_DONTNEED].resident = 4096ull * (i + 1);
	s->k.src_calls[FS_R_GLIBC_TRIM] = (uint64_t)i + 1;
	s->k.src_resident[FS_R_GLIBC_TRIM] = 4096ull * (i + 1);
	s->k.src_calls[FS_R_PROGRAM] = 2ull * (i + 1);	/* the program's own munmaps */
	s->k.src_resident[FS_R_PROGRAM] = 8192ull * (i + 1);
	s->k.src_calls[FS_R_OTHER] = 3ull * (i + 1);
	f->st.mem.valid = 1;
	f->st.mem.resident = i == 1 ? 1 << 20 : 1 << 16;	/* the peak is at step 1 */
	f->st.mem.live = agg__live_bytes(s);
	f->st.diag.kind = FS_D_RETENTION;
	snprintf(f->st.diag.text, sizeof(f->st.diag.text), "held after step %d", i);
	f->st.nsites = 2;
	for (int k = 0; k < 2; k++) {
		struct fs_site_sym *x = &f->st.sites[k];

		x->stackid = (uint32_t)k;
		x->samples = 10;
		x->bytes = 1000ull * (k + 1);
		x->live_bytes = 500 * (2 - k);
		x->nframes = 2;
		snprintf(x->frame[0], FS_SITE_FRAME, "leaf%d+0x10 (a.out)", k);
		snprintf(x->frame[1], FS_SITE_FRAME, "main+0x20 (a.out)");
	}
}

static char *tmpdir(void)
{
	char *d = strdup("/tmp/fs-unit-session.XXXXXX");

	if (d && !mkdtemp(d)) {
		free(d);
		return NULL;
	}
	return d;
}

static void rmtree(char *dir)
{
	char cmd[256];

	if (!dir)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "rm %s failed\n", dir);
	free(dir);
}

/* Light mode's figures at step i: no census at step 0; then the census's chunk
 * bytes in use, 10,000 more per step (its counters are left as fake_step set
 * them: a light session must not store them). */
static void fake_light(struct fake *f, int i)
{
	struct fs_memory *m = &f->st.mem;

	f->st.light = 1;
	m->light = 1;
	f->st.nsites = 0;	/* no call seen: no sites */
	m->light_census = i > 0;
	m->live = i > 0 ? 10000ull * (uint64_t)i : 0;
	m->light_trim = i > 0 ? 4096 : 0;
	m->light_age_ns = i > 0 ? 3000000ull : 0;
}

/* Sampled mode at step i: light's figures (the census), the calls as fake_step
 * counts them, and the kernel's sums of the sampled blocks: live weights 1,000 a
 * step (at the end 4,000 +- 100), 10 live blocks a step, 50 blocks sampled a step;
 * site 0's live estimate +- 50. With windowed, --window 0.3/0.6 saw half the
 * program's release calls: the estimates and counts scale by 2. */
static void fake_sampled(struct fake *f, int i, int windowed)
{
	struct fs_snapshot *s = &f->st.snap;

	fake_light(f, i);
	f->st.sampled = 1;
	f->st.sample_bytes = 4096;
	f->st.nsites = 2;
	s->c[FS_C_FREE_NULL] = 7;
	s->c[FS_C_SM_LIVE_W] = 1000ull * (i + 1);
	s->c[FS_C_SM_LIVE_VAR] = 10000;
	s->c[FS_C_SM_LIVE_BLOCKS_Q16] = (10ull * (i + 1)) << 16;
	s->c[FS_C_SM_LIVE_N] = 5ull * (i + 1);
	s->c[FS_C_SM_SAMPLED] = 50ull * (i + 1);
	f->st.sites[0].live_var = 2500;
	f->st.sites[1].live_var = 0;
	if (windowed) {
		f->st.win.on_ns = 300000000;
		f->st.win.period_ns = 600000000;
		f->st.win.attached_ns = 250000000ull * (i + 1);
		f->st.win.elapsed_ns = 500000000ull * (i + 1);
		s->c[FS_C_SM_FREE_CALLS] = 2000ull * (i + 1);
		s->c[FS_C_SM_FREE_CALLS_WIN] = 1000ull * (i + 1);
	}
}

/* Writes a session of mode (enum fs_mode; sampled: with --window if windowed)
 * with n snapshots (deep every other one) at path; finished or not. */
static int write_session_run(const char *path, int n, int finish, int mode, int windowed)
{
	char err[512];
	struct fake *f = fake_new();
	struct session *s = f ? session__create_run(path, mode, windowed, err, sizeof(err)) : NULL;
	int r = -1;

	if (!s)
		goto out;
	fake_step(f, 0);
	if (mode == FS_MODE_LIGHT)
		fake_light(f, 0);
	if (mode == FS_MODE_SAMPLED)
		fake_sampled(f, 0, windowed);
	if (session__set_target(s, &f->v) || session__set_meta(s, "command", "worker --load") ||
	    (windowed && session__set_meta(s, "window", "0.3/0.6")))
		goto out;
	for (int i = 0; i < n; i++) {
		fake_step(f, i);
		if (mode == FS_MODE_LIGHT)
			fake_light(f, i);
		if (mode == FS_MODE_SAMPLED)
			fake_sampled(f, i, windowed);
		if (session__append(s, &f->v, i % 2 == 1))
			goto out;
	}
	r = finish ? session__finish(s, 0, f->v.duration_s) : 0;
out:
	session__close(s);
	fake_free(f);
	return r;
}

static int write_session_mode(const char *path, int n, int finish, int mode)
{
	return write_session_run(path, n, finish, mode, 0);
}

static int write_session(const char *path, int n, int finish)
{
	return write_session_mode(path, n, finish, FS_MODE_EXACT);
}

TEST(session_round_trip)
{
	char *dir = tmpdir(), path[256], err[512] = "";
	struct session_data *d = NULL;
	const struct session_row *pk;
	struct stat sb;
	long madv = 0;

	if (!ASSERT_OK_PTR(dir, "mkdtemp"))
		return;
	snprintf(path, sizeof(path), "%s/s.db", dir);
	if (!ASSERT_OK(write_session(path, 4, 1), "write"))
		goto cleanup;
	ASSERT_OK(stat(path, &sb), "stat");
	ASSERT_EQ(sb.st_mode & 0777, 0600, "file mode 0600");
	d = session__load(path, err, sizeof(err));
	if (!ASSERT_OK_PTR(d, err))
		goto cleanup;
	ASSERT_EQ(d->nrows, 4, "snapshots");
	ASSERT_EQ(session__rowi(&d->rows[3], session__col("allocs")), 400, "allocs at the end");
	ASSERT_EQ(session__rowi(&d->rows[3], session__col("live_count")), 40, "live count at the end");
	ASSERT_EQ(session__rowi(&d->rows[3], session__col("live_bytes")), 2560, "live bytes at the end");
	ASSERT_EQ(session__rowi(&d->rows[2], session__col("deep")), 0, "row 2 shallow");
	ASSERT_TRUE(session__rowd(&d->rows[0], session__col("allocs_per_s")) > 199.0 &&
		    session__rowd(&d->rows[0], session__col("allocs_per_s")) < 201.0, "rate over the first interval");
	pk = session__peak(d, session__col("resident"));
	ASSERT_EQ(pk ? pk->seq : -1, 1, "peak resident at snapshot 1");
	for (long i = 0; i < d->nevents; i++)
		if (!strcmp(d->events[i].kind, "madvise") && !strcmp(d->events[i].name, "DONTNEED")) {
			madv++;
			ASSERT_EQ(d->events[i].calls, 1, "one madvise per interval (a delta)");
			ASSERT_EQ(d->events[i].resident, 4096, "its resident bytes");
		}
	ASSERT_EQ(madv, 4, "madvise events");
	ASSERT_EQ(d->sites_seq, 3, "sites of the last deep snapshot");
	if (ASSERT_EQ(d->nsites, 2, "sites")) {
		ASSERT_EQ(d->sites[0].live_bytes, 1000, "by live bytes");
		ASSERT_EQ(d->sites[0].nframes, 2, "frames");
		ASSERT_STREQ(d->sites[0].frame[0], "leaf0+0x10 (a.out)", "innermost first");
		ASSERT_STREQ(d->sites[1].frame[1], "main+0x20 (a.out)", "shared frame");
	}
	ASSERT_EQ(d->nhists, 1, "one non-empty histogram bucket");
	ASSERT_STREQ(d->diag_kind, "retention", "diagnosis kind");
	ASSERT_STREQ(d->diag_text, "held after step 3", "diagnosis of the last deep snapshot");
	ASSERT_HAS_STR(d->stat_json, "\"allocs\": 400", "stat document of the end");
	ASSERT_STREQ(session__meta(d, "complete", ""), "1", "complete");
	ASSERT_STREQ(session__meta(d, "pid", ""), "4242", "pid");
	ASSERT_STREQ(session__meta(d, "command", ""), "worker --load", "command");
	ASSERT_STREQ(session__meta(d, "allocator", ""), "glibc", "allocator");
	ASSERT_EQ(session__trace(d)->has_trace, 0, "recorded without --trace: no call trace");
	snprintf(err, sizeof(err), "%s-wal", path);
	ASSERT_NEQ(access(err, F_OK), 0, "finished: no WAL left");
cleanup:
	session__data_free(d);
	rmtree(dir);
}

TEST(session_killed_recorder)
{
	char *dir = tmpdir(), path[256], err[512] = "";
	struct session_data *d = NULL;
	int status = -1;
	pid_t pid;

	if (!ASSERT_OK_PTR(dir, "mkdtemp"))
		return;
	snprintf(path, sizeof(path), "%s/k.db", dir);
	pid = fork();
	if (pid == 0) {
		char e[256];
		struct fake *f = fake_new();
		struct session *s = session__create(path, e, sizeof(e));

		for (int i = 0; s && f && i < 3; i++) {
			fake_step(f, i);
			if (session__append(s, &f->v, i == 1))
				_exit(2);
		}
		_exit(s ? 0 : 1);	/* dies without closing: the WAL stays */
	}
	waitpid(pid, &status, 0);
	if (!ASSERT_EQ(status, 0, "child wrote 3 snapshots"))
		goto cleanup;
	d = session__load(path, err, sizeof(err));
	if (!ASSERT_OK_PTR(d, err))
		goto cleanup;
	ASSERT_EQ(d->nrows, 3, "every committed snapshot");
	ASSERT_STREQ(session__meta(d, "complete", "0"), "0", "not complete");
	ASSERT_EQ(d->nsites, 2, "sites of the deep snapshot");
cleanup:
	session__data_free(d);
	rmtree(dir);
}

static void expect_refused(const char *path, const char *needle, const char *what)
{
	char err[512] = "";
	struct session_data *d = session__load(path, err, sizeof(err));

	if (!ASSERT_NULL(d, what)) {
		session__data_free(d);
		return;
	}
	ASSERT_HAS_STR(err, needle, what);
	ASSERT_NULL(strchr(err, '\n'), "one line");
}

static int copy_prefix(const char *from, const char *to, off_t n)
{
	char buf[4096];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600), r = 0;

	while (in >= 0 && out >= 0 && n > 0) {
		ssize_t k = read(in, buf, (size_t)(n < (off_t)sizeof(buf) ? n : (off_t)sizeof(buf)));

		if (k <= 0 || write(out, buf, (size_t)k) != k)
			break;
		n -= k;
	}
	r = in >= 0 && out >= 0 && n == 0 ? 0 : -1;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return r;
}

static off_t fsize(const char *path)
{
	struct stat sb;

	return stat(path, &sb) ? 0 : sb.st_size;
}

static int sql(const char *path, const char *q)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open(path, &db);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, q, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

TEST(session_bad_input)
{
	char *dir = tmpdir(), good[256], p[256], err[512];
	struct session *s;
	FILE *f;

	if (!ASSERT_OK_PTR(dir, "mkdtemp"))
		return;
	snprintf(good, sizeof(good), "%s/good.db", dir);
	if (!ASSERT_OK(write_session(good, 3, 1), "write"))
		goto cleanup;

	snprintf(p, sizeof(p), "%s/missing.db", dir);
	expect_refused(p, "No such file", "missing file");

	snprintf(p, sizeof(p), "%s/text.db", dir);
	f = fopen(p, "w");
	if (f) {
		fputs("this is not a database\n", f);
		fclose(f);
	}
	expect_refused(p, "not a fragscope session", "text file");

	snprintf(p, sizeof(p), "%s/zero.db", dir);
	close(open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600));
	expect_refused(p, "empty file", "empty file");

	snprintf(p, sizeof(p), "%s/head.db", dir);
	ASSERT_OK(copy_prefix(good, p, 50), "copy");
	expect_refused(p, "truncated", "shorter than the header");
	ASSERT_OK(copy_prefix(good, p, 10000), "copy");
	expect_refused(p, "truncated", "cut inside a page");
	ASSERT_OK(copy_prefix(good, p, 8192), "copy");
	expect_refused(p, "truncated", "cut at a page boundary");

	snprintf(p, sizeof(p), "%s/newer.db", dir);
	ASSERT_OK(copy_prefix(good, p, fsize(good)), "copy whole");
	ASSERT_EQ(sql(p, "PRAGMA user_version = 99"), SQLITE_OK, "set user_version");
	expect_refused(p, "schema version 99 is newer", "newer schema");

	snprintf(p, sizeof(p), "%s/other.db", dir);
	ASSERT_EQ(sql(p, "CREATE TABLE t(x); INSERT INTO t VALUES(1)"), SQLITE_OK, "other database");
	expect_refused(p, "not a fragscope session", "another SQLite database");

	snprintf(p, sizeof(p), "%s/empty.db", dir);
	s = session__create(p, err, sizeof(err));
	ASSERT_OK_PTR(s, err);
	session__close(s);
	expect_refused(p, "no snapshots", "no snapshots");

	snprintf(p, sizeof(p), "%s/nosnap.db", dir);
	ASSERT_OK(copy_prefix(good, p, fsize(good)), "copy whole");
	ASSERT_EQ(sql(p, "DROP TABLE snapshots"), SQLITE_OK, "drop");
	expect_refused(p, "corrupt session", "a table missing");

	snprintf(p, sizeof(p), "%s/badjson.db", dir);
	ASSERT_OK(copy_prefix(good, p, fsize(good)), "copy whole");
	ASSERT_EQ(sql(p, "UPDATE stat_json SET doc = '{\"totals\": '"), SQLITE_OK, "break the document");
	expect_refused(p, "not valid JSON", "invalid stat document");

	ASSERT_EQ(session__create(good, err, sizeof(err)), NULL, "create never overwrites");
cleanup:
	rmtree(dir);
}

TEST(session_rotate)
{
	char *dir = tmpdir(), p[256], old[256], wal[256];
	struct stat sb;

	if (!ASSERT_OK_PTR(dir, "mkdtemp"))
		return;
	snprintf(p, sizeof(p), "%s/fragscope.db", dir);
	snprintf(old, sizeof(old), "%s.old", p);
	ASSERT_OK(session__rotate(p), "nothing to rotate");
	ASSERT_OK(write_session(p, 1, 1), "write");
	/* a stale .old-wal must not be applied to the new .old; the current -wal moves along */
	snprintf(wal, sizeof(wal), "%s-wal", old);
	close(open(wal, O_WRONLY | O_CREAT | O_TRUNC, 0600));
	snprintf(wal, sizeof(wal), "%s-wal", p);
	close(open(wal, O_WRONLY | O_CREAT | O_TRUNC, 0600));
	ASSERT_OK(truncate(wal, 7), "a -wal of 7 bytes");
	ASSERT_OK(session__rotate(p), "rotate");
	ASSERT_NEQ(access(p, F_OK), 0, "moved away");
	ASSERT_OK(access(old, F_OK), "to .old");
	ASSERT_NEQ(access(wal, F_OK), 0, "-wal moved away");
	snprintf(wal, sizeof(wal), "%s-wal", old);
	ASSERT_OK(stat(wal, &sb), "to .old-wal");
	ASSERT_EQ(sb.st_size, 7, "the current one, not the stale one");
	unlink(wal);
	{
		char err[512];
		struct session_data *d = session__load(old, err, sizeof(err));

		ASSERT_OK_PTR(d, err);
		ASSERT_EQ(d ? d->nrows : 0, 1, "the .old session reads");
		session__data_free(d);
	}
	rmtree(dir);
}

TEST(session_columns)
{
	ASSERT_TRUE(session__ncols() > 60, "columns");
	ASSERT_EQ(session__col("allocs"), 1, "allocs after deep");
	ASSERT_EQ(session__col("nonesuch"), -1, "unknown column");
	ASSERT_TRUE(session__col_real(session__col("fragmentation")), "fragmentation is REAL");
	ASSERT_FALSE(session__col_real(session__col("rss_anon")), "rss_anon is INTEGER");
	ASSERT_EQ(session__col_group(session__col("resident")), SG_MEMORY, "memory group");
}

/* report's formats are pure (out/report_*.c): each reads a loaded session. */
TEST(report_formats)
{
	char *dir = tmpdir(), path[256], err[512] = "", *buf = NULL;
	struct session_data *d = NULL;
	size_t len = 0;
	FILE *f;

	if (!ASSERT_TRUE(dir != NULL, "tmpdir"))
		return;
	snprintf(path, sizeof(path), "%s/r.db", dir);
	if (!ASSERT_EQ(write_session(path, 4, 1), 0, "write") ||
	    !ASSERT_TRUE((d = session__load(path, err, sizeof(err))) != NULL, err))
		goto out;

	f = open_memstream(&buf, &len);
	report__text(f, d);
	fclose(f);
	ASSERT_TRUE(strstr(buf, "totals at the end") != NULL, "text: totals");
	ASSERT_TRUE(strstr(buf, "400  allocations") != NULL, "text: a metric's label from the table");
	free(buf);

	f = open_memstream(&buf, &len);
	ASSERT_EQ(report__csv(f, d, "counters"), 0, "csv counters");
	fclose(f);
	ASSERT_TRUE(!strncmp(buf, "seq,t_s,allocs,frees,", 21), "csv: the columns in table order");
	free(buf);

	f = open_memstream(&buf, &len);
	ASSERT_EQ(report__csv(f, d, "nonesuch"), -1, "csv: unknown series");
	fclose(f);
	free(buf);

	f = open_memstream(&buf, &len);
	report__json(f, d);
	fclose(f);
	ASSERT_TRUE(strstr(buf, "\"series\"") && strstr(buf, "\"allocs_per_s\""), "json: the series");
	free(buf);

	f = open_memstream(&buf, &len);
	report__diff(f, d, d);
	fclose(f);
	ASSERT_TRUE(strstr(buf, "allocations") != NULL, "diff");
	free(buf);
out:
	session__data_free(d);
	rmtree(dir);
}

/* Every release source has its columns and its name in the events (the program's
 * were once stored as "other", and the real "other" not at all); a session
 * written before a column existed loads, the column absent, not 0-as-if-known. */
TEST(session_release_sources)
{
	char *dir = tmpdir(), path[256], err[512] = "";
	struct session_data *d = NULL;
	const struct session_row *end;
	sqlite3 *db = NULL;
	long prog = 0, other = 0;

	if (!ASSERT_OK_PTR(dir, "mkdtemp"))
		return;
	snprintf(path, sizeof(path), "%s/s.db", dir);
	if (!ASSERT_OK(write_session(path, 4, 1), "write"))
		goto cleanup;
	d = session__load(path, err, sizeof(err));
	if (!ASSERT_OK_PTR(d, err))
		goto cleanup;
	end = &d->rows[d->nrows - 1];
	ASSERT_EQ(session__rowi(end, session__col("src_program_calls")), 8, "program calls at the end");
	ASSERT_EQ(session__rowi(end, session__col("src_program_resident")), 32768, "program resident at the end");
	ASSERT_EQ(session__rowi(end, session__col("src_other_calls")), 12, "other calls at the end");
	ASSERT_FALSE(session__col_absent(d, session__col("src_program_calls")), "present");
	for (long i = 0; i < d->nevents; i++) {
		if (strcmp(d->events[i].kind, "source"))
			continue;
		prog += !strcmp(d->events[i].name, "program") ? d->events[i].calls : 0;
		other += !strcmp(d->events[i].name, "other") ? d->events[i].calls : 0;
	}
	ASSERT_EQ(prog, 8, "program's release events sum to its calls");
	ASSERT_EQ(other, 12, "other's release events sum to its calls");
	session__data_free(d);
	d = NULL;
	/* as an older fragscope wrote it: no program columns */
	if (!ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK, "open") ||
	    !ASSERT_EQ(sqlite3_exec(db, "ALTER TABLE snapshots DROP COLUMN src_program_calls;"
				    "ALTER TABLE snapshots DROP COLUMN src_program_resident", NULL, NULL, NULL), SQLITE_OK,
		       "drop the columns"))
		goto cleanup;
	sqlite3_close(db);
	db = NULL;
	d = session__load(path, err, sizeof(err));
	if (!ASSERT_OK_PTR(d, err))
		goto cleanup;
	ASSERT_TRUE(session__col_absent(d, session__col("src_program_calls")), "absent column");
	ASSERT_EQ(session__rowi(&d->rows[3], session__col("src_program_calls")), 0, "reads 0");
	ASSERT_FALSE(session__col_absent(d, session__col("src_other_calls")), "the others present");
	ASSERT_EQ(session__rowi(&d->rows[3], session__col("allocs")), 400, "the others read");
	ASSERT_TRUE(session__col_absent(d, -1), "no such column");
cleanup:
	sqlite3_close(db);
	session__data_free(d);
	rmtree(dir);
}

TEST(session_run_meta)
{
	char *dir = tmpdir(), path[256], err[512] = "";
	char *argv[] = { "compare", "-i", "100", "./work", "a b", "it's", NULL };
	struct session_data *d = NULL;
	struct session *s;

	if (!ASSERT_OK_PTR(dir, "mkdtemp"))
		return;
	snprintf(path, sizeof(path), "%s/s.db", dir);
	s = session__create(path, err, sizeof(err));
	if (!ASSERT_OK_PTR(s, err))
		goto cleanup;
	ASSERT_OK(session__set_run(s, 6, argv, 3, 0.25, 8), "set_run");
	session__close(s);
	/* no snapshot: the loader refuses it; read the meta table directly */
	{
		sqlite3 *db = NULL;
		sqlite3_stmt *q = NULL;
		int n = 0;

		ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK, "open");
		ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT key, value FROM meta", -1, &q, NULL), SQLITE_OK, "prepare");
		while (q && sqlite3_step(q) == SQLITE_ROW) {
			const char *k = (const char *)sqlite3_column_text(q, 0), *v = (const char *)sqlite3_column_text(q, 1);

			if (!strcmp(k, "command"))
				n += ASSERT_STREQ(v, "./work 'a b' 'it'\\''s'", "the command as a shell reads it");
			else if (!strcmp(k, "options"))
				n += ASSERT_STREQ(v, "compare -i 100", "fragscope's options");
			else if (!strcmp(k, "interval_ms"))
				n += ASSERT_STREQ(v, "250", "interval");
			else if (!strcmp(k, "deep_every"))
				n += ASSERT_STREQ(v, "8", "deep cadence");
			else if (!strcmp(k, "kernel") || !strcmp(k, "fragscope_version") || !strcmp(k, "start_time"))
				n += ASSERT_TRUE(v && *v, k);
		}
		ASSERT_EQ(n, 7, "every key written");
		sqlite3_finalize(q);
		sqlite3_close(db);
	}
cleanup:
	session__data_free(d);
	rmtree(dir);
}

static char *capture_diff(const struct session_data *a, const struct session_data *b)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	report__diff(f, a, b);
	fclose(f);
	return buf;
}

/* A light session: the mode recorded, no column for what light mode does not
 * count (absent, never 0), live_est and its source; report says so in text and
 * JSON; an exact session's columns are not in it and vice versa. */
TEST(session_light_mode)
{
	char *dir = tmpdir(), path[256], err[512] = "", *buf = NULL;
	struct session_data *d = NULL;
	const struct session_row *end;
	size_t len = 0;
	FILE *f;

	if (!ASSERT_OK_PTR(dir, "mkdtemp"))
		return;
	snprintf(path, sizeof(path), "%s/l.db", dir);
	if (!ASSERT_OK(write_session_mode(path, 4, 1, FS_MODE_LIGHT), "write light"))
		goto cleanup;
	d = session__load(path, err, sizeof(err));
	if (!ASSERT_OK_PTR(d, err))
		goto cleanup;
	end = last_row(d);
	ASSERT_EQ(d->mode, FS_MODE_LIGHT, "mode read back");
	ASSERT_STREQ(session__meta(d, "mode", ""), "light", "meta mode");
	ASSERT_STREQ(session__meta(d, "schema", ""), "2", "schema 2: an older reader refuses it");
	for (const char *const *c = (const char *const[]){ "allocs", "frees", "live_count", "live_bytes", "live",
							    "allocs_per_s", "peak_live", "malloc_trim_calls",
							    "src_malloc_trim_calls", "untracked", NULL }; *c; c++)
		ASSERT_TRUE(session__col_absent(d, session__col(*c)), *c);
	ASSERT_FALSE(session__col_absent(d, session__col("faults_per_s")), "page fault rate kept");
	ASSERT_FALSE(session__col_absent(d, session__col("src_glibc_trim_calls")), "release ledger kept");
	ASSERT_EQ(session__rowi(end, session__col("allocs")), 0, "absent reads 0");
	ASSERT_EQ(session__rowi(end, session__col("src_glibc_trim_calls")), 4, "ledger at the end");
	ASSERT_EQ(session__rowi(end, session__col("live_est")), 30000, "live_est: the census's chunk bytes");
	ASSERT_EQ(session__rowi(end, session__col("live_source")), FS_LIVE_HEAP_CENSUS, "live_source");
	ASSERT_EQ(session__rowi(&d->rows[0], session__col("live_source")), FS_LIVE_NOT_KNOWN, "no census yet");
	ASSERT_EQ(session__rowi(end, session__col("census_age_ms")), 3, "census age");
	ASSERT_EQ(session__rowi(end, session__col("census_free_resident")), 4096, "what malloc_trim would release");
	ASSERT_STREQ(report__live_unit(d, end), "chunk_bytes", "unit at the end");
	ASSERT_NULL(report__live_unit(d, &d->rows[0]), "unit before the first census");
	ASSERT_HAS_STR(d->stat_json, "\"mode\": \"light\"", "stat's document says light");

	f = open_memstream(&buf, &len);
	report__text(f, d);
	fclose(f);
	ASSERT_HAS_STR(buf, "mode     light", "text: the mode");
	ASSERT_HAS_STR(buf, "not counted in light mode", "text: counts not counted");
	ASSERT_HAS_STR(buf, "29.3 KiB  live ~", "text: live from the census");
	ASSERT_HAS_STR(buf, "from the heap census (not exact counts)", "text: labelled");
	ASSERT_HAS_STR(buf, "none in light mode", "text: no sites");
	ASSERT_TRUE(!strstr(buf, "allocations            0"), "text: no zero count");
	ASSERT_HAS_STR(buf, "not seen in light mode: its releases count under glibc_trim", "text: glibc's trim");
	free(buf);
	/* the same session of a jemalloc process: glibc's malloc_trim is not its own */
	for (int i = 0; i < d->nmeta; i++)
		if (!strcmp(d->meta_key[i], "allocator")) {
			free(d->meta_val[i]);
			d->meta_val[i] = strdup("jemalloc");
		}
	f = open_memstream(&buf, &len);
	report__text(f, d);
	fclose(f);
	ASSERT_TRUE(!strstr(buf, "malloc_trim()"), "text: no malloc_trim line for jemalloc");
	free(buf);
	for (int i = 0; i < d->nmeta; i++)
		if (!strcmp(d->meta_key[i], "allocator")) {
			free(d->meta_val[i]);
			d->meta_val[i] = strdup("glibc");
		}

	f = open_memstream(&buf, &len);
	report__json(f, d);
	fclose(f);
	ASSERT_HAS_STR(buf, "\"mode\": \"light\"", "json: mode");
	ASSERT_HAS_STR(buf, "\"allocs\": null", "json: a count is null");
	ASSERT_HAS_STR(buf, "\"live_est\": 30000", "json: live_est in the series");
	ASSERT_HAS_STR(buf, "\"source\": \"heap_census\"", "json: peak live_est's source");
	ASSERT_HAS_STR(buf, "\"live_bytes\": null", "json: no counted peak");
	free(buf);

	f = open_memstream(&buf, &len);
	ASSERT_OK(report__html(f, d, "test"), "html");
	fclose(f);
	ASSERT_HAS_STR(buf, "light: calls not counted, live bytes estimated", "html: the mode");
	ASSERT_HAS_STR(buf, "<tr><th>live ~</th><td class=\"n\">29.3 KiB</td>", "html: live from the census");
	ASSERT_HAS_STR(buf, "allocation and free rates: not counted in light mode", "html: no rate chart");
	ASSERT_TRUE(!strstr(buf, "<th>allocations</th>"), "html: no zero count");
	free(buf);

	f = open_memstream(&buf, &len);
	ASSERT_OK(report__csv(f, d, "counters"), "csv counters");
	fclose(f);
	ASSERT_HAS_STR(buf, "\n3,2.000,,,", "csv: absent columns empty, not 0");
	free(buf);
	buf = NULL;
cleanup:
	free(buf);
	session__data_free(d);
	rmtree(dir);
}

/* report --diff across modes: counts light mode has not are not subtracted, live
 * bytes in different units are not either, and the figures both modes measure
 * the same way are; two light sessions' census figures compare. */
TEST(session_diff_modes)
{
	char *dir = tmpdir(), pe[256], pl[256], pl2[256], err[512] = "", why[160] = "", *buf = NULL;
	struct session_data *e = NULL, *l = NULL, *l2 = NULL;

	if (!ASSERT_OK_PTR(dir, "mkdtemp"))
		return;
	snprintf(pe, sizeof(pe), "%s/e.db", dir);
	snprintf(pl, sizeof(pl), "%s/l.db", dir);
	snprintf(pl2, sizeof(pl2), "%s/l2.db", dir);
	if (!ASSERT_OK(write_session_mode(pe, 4, 1, FS_MODE_EXACT), "write exact") ||
	    !ASSERT_OK(write_session_mode(pl, 4, 1, FS_MODE_LIGHT), "write light") ||
	    !ASSERT_OK(write_session_mode(pl2, 3, 1, FS_MODE_LIGHT), "write light 2"))
		goto cleanup;
	e = session__load(pe, err, sizeof(err));
	l = e ? session__load(pl, err, sizeof(err)) : NULL;
	l2 = l ? session__load(pl2, err, sizeof(err)) : NULL;
	if (!ASSERT_OK_PTR(l2, err))
		goto cleanup;
	ASSERT_EQ(e->mode, FS_MODE_EXACT, "exact");
	ASSERT_TRUE(session__col_absent(e, session__col("live_est")), "exact has no live_est");

	ASSERT_FALSE(report__diff_cmp(e, last_row(e), l, last_row(l), "live_bytes", why, sizeof(why)), "live: no");
	ASSERT_STREQ(why, "not comparable: A requested bytes (counted), B chunk bytes (heap census)", "live: why");
	ASSERT_FALSE(report__diff_cmp(e, last_row(e), l, last_row(l), "allocs", why, sizeof(why)), "allocs: no");
	ASSERT_STREQ(why, "B: not counted in light mode", "allocs: why");
	ASSERT_FALSE(report__diff_cmp(l, last_row(l), e, last_row(e), "held_free", why, sizeof(why)), "held: no");
	ASSERT_TRUE(report__diff_cmp(e, last_row(e), l, last_row(l), "resident", why, sizeof(why)), "resident: yes");
	ASSERT_TRUE(report__diff_cmp(e, last_row(e), l, last_row(l), "src_glibc_trim_calls", why, sizeof(why)),
		    "ledger: yes");
	ASSERT_TRUE(report__diff_cmp(l, last_row(l), l2, last_row(l2), "live_bytes", why, sizeof(why)),
		    "light vs light, both census: yes");
	ASSERT_FALSE(report__diff_cmp(l, &l->rows[0], l2, last_row(l2), "live_bytes", why, sizeof(why)),
		     "a row without a census: no");
	ASSERT_STREQ(why, "not comparable: A not known, B chunk bytes (heap census)", "not known: why");
	ASSERT_TRUE(report__diff_cmp(e, last_row(e), e, last_row(e), "live_bytes", why, sizeof(why)), "exact: yes");

	buf = capture_diff(e, l);
	ASSERT_HAS_STR(buf, "exact mode", "diff: A's mode");
	ASSERT_HAS_STR(buf, "light mode", "diff: B's mode");
	ASSERT_HAS_STR(buf, "not comparable: A requested bytes (counted), B chunk bytes (heap census)", "diff: live");
	ASSERT_HAS_STR(buf, "B: not counted in light mode", "diff: counts");
	ASSERT_TRUE(strstr(buf, "29.3 KiB") && !strstr(buf, "-26.8 KiB") && !strstr(buf, "+26.8 KiB"),
		    "diff: live shown, not subtracted");
	ASSERT_HAS_STR(buf, "no sites in light mode", "diff: sites");
	free(buf);
	buf = capture_diff(l2, l);	/* census 20,000 then 30,000 chunk bytes */
	ASSERT_HAS_STR(buf, "+9.8 KiB", "diff light vs light: live subtracted");
	free(buf);
	buf = NULL;
cleanup:
	free(buf);
	session__data_free(e);
	session__data_free(l);
	session__data_free(l2);
	rmtree(dir);
}

/* A session from before the mode was recorded is exact; a mode this fragscope does
 * not know is refused in one line. */
TEST(session_mode_old_and_unknown)
{
	char *dir = tmpdir(), path[256], err[512] = "";
	struct session_data *d = NULL;

	if (!ASSERT_OK_PTR(dir, "mkdtemp"))
		return;
	snprintf(path, sizeof(path), "%s/o.db", dir);
	if (!ASSERT_OK(write_session(path, 2, 1), "write") ||
	    !ASSERT_OK(sql(path, "DELETE FROM meta WHERE key = 'mode'"), "as an older fragscope wrote it"))
		goto cleanup;
	d = session__load(path, err, sizeof(err));
	if (ASSERT_OK_PTR(d, err)) {
		ASSERT_EQ(d->mode, FS_MODE_EXACT, "no mode: exact");
		ASSERT_STREQ(session__meta(d, "schema", ""), "1", "an exact session stays schema 1");
	}
	session__data_free(d);
	d = NULL;
	if (!ASSERT_OK(sql(path, "INSERT INTO meta VALUES('mode', 'telepathic')"), "a future mode"))
		goto cleanup;
	d = session__load(path, err, sizeof(err));
	ASSERT_NULL(d, "refused");
	ASSERT_HAS_STR(err, "recorded in mode 'telepathic', which this fragscope does not read", "why");
	ASSERT_NULL(strchr(err, '\n'), "one line");
cleanup:
	session__data_free(d);
	rmtree(dir);
}

static char *capture(void (*fn)(FILE *, const struct session_data *), const struct session_data *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fn(f, d);
	fclose(f);
	return buf;
}

/* A sampled session: light's columns, the calls counted at entry, the sampled
 * estimates with their standard error, the sites' standard errors; what sampled
 * mode does not count is absent, never 0; report labels the estimates. */
TEST(session_sampled_mode)
{
	char *dir = tmpdir(), path[256], pe[256], err[512] = "", *buf = NULL;
	struct session_data *d = NULL, *e = NULL;
	const struct session_row *end;
	const struct session_row *pk;

	if (!ASSERT_OK_PTR(dir, "mkdtemp"))
		return;
	snprintf(path, sizeof(path), "%s/s.db", dir);
	snprintf(pe, sizeof(pe), "%s/e.db", dir);
	if (!ASSERT_OK(write_session_mode(path, 4, 1, FS_MODE_SAMPLED), "write sampled") ||
	    !ASSERT_OK(write_session_mode(pe, 4, 1, FS_MODE_EXACT), "write exact"))
		goto cleanup;
	d = session__load(path, err, sizeof(err));
	e = d ? session__load(pe, err, sizeof(err)) : NULL;
	if (!ASSERT_OK_PTR(e, err))
		goto cleanup;
	end = last_row(d);
	ASSERT_EQ(d->mode, FS_MODE_SAMPLED, "mode read back");
	ASSERT_FALSE(d->windowed, "not windowed");
	ASSERT_STREQ(session__meta(d, "schema", ""), "2", "schema 2: an older reader refuses it");
	for (const char *const *c = (const char *const[]){ "bytes_freed", "failed_allocs", "live_count", "live_bytes",
							    "live", "live_usable", "peak_live", "untracked", "stale",
							    "bytes_freed_per_s", "frees_unknown", "sm_duty",
							    "sm_allocs_est", NULL }; *c; c++)
		ASSERT_TRUE(session__col_absent(d, session__col(*c)), *c);
	for (const char *const *c = (const char *const[]){ "allocs", "frees", "bytes_allocated", "free_null",
							    "allocs_per_s", "live_est", "live_source", "faults_per_s",
							    "src_glibc_trim_calls", "malloc_trim_calls", "sm_live_est",
							    "sm_live_stderr", "sm_live_blocks_est", "sm_blocks_sampled", NULL };
	     *c; c++)
		ASSERT_FALSE(session__col_absent(d, session__col(*c)), *c);
	ASSERT_EQ(session__rowi(end, session__col("allocs")), 400, "allocs: exact");
	ASSERT_EQ(session__rowi(end, session__col("bytes_allocated")), 25600, "bytes allocated: exact");
	ASSERT_EQ(session__rowi(end, session__col("frees")), 360, "frees: exact");
	ASSERT_EQ(session__rowi(end, session__col("free_null")), 7, "free(NULL)");
	ASSERT_EQ(session__rowi(end, session__col("sm_live_est")), 4000, "live estimate");
	ASSERT_EQ(session__rowi(end, session__col("sm_live_stderr")), 100, "its standard error");
	ASSERT_EQ(session__rowi(end, session__col("sm_live_blocks_est")), 40, "live blocks estimate");
	ASSERT_EQ(session__rowi(end, session__col("sm_blocks_sampled")), 200, "blocks sampled");
	ASSERT_EQ(session__rowi(end, session__col("sm_live_samples")), 20, "sampled blocks live");
	ASSERT_EQ(session__rowi(end, session__col("live_est")), 30000, "the waterfall's live: the census's");
	ASSERT_STREQ(report__live_unit(d, end), "chunk_bytes", "the waterfall's unit");
	ASSERT_TRUE(!session__col_real(session__col("sm_live_est")) &&
		    !metric__by_column("sm_live_est")->exact && !metric__by_column("sm_live_stderr")->exact &&
		    !metric__by_column("sm_live_blocks_est")->exact && metric__by_column("sm_blocks_sampled")->exact,
		    "estimates marked so in the metric table");
	ASSERT_EQ(d->nsites, 2, "sites");
	ASSERT_EQ(d->sites[0].live_stderr, 50, "site 0's standard error");
	ASSERT_EQ(d->sites[1].live_stderr, 0, "site 1's");
	ASSERT_EQ(e->sites[0].live_stderr, -1, "an exact session's sites: not known");
	ASSERT_TRUE(session__col_absent(e, session__col("sm_live_est")), "exact has no sampled column");
	ASSERT_HAS_STR(d->stat_json, "\"mode\": \"sampled\"", "stat's document says sampled");

	buf = capture(report__text, d);
	ASSERT_HAS_STR(buf, "mode     sampled: every allocator call counted at its entry", "text: the mode");
	ASSERT_HAS_STR(buf, "400  allocations", "text: allocations counted");
	ASSERT_HAS_STR(buf, "3.9 KiB +- 100 B (standard error) in ~40 blocks, estimated from 20 sampled blocks",
		       "text: the estimate with its standard error");
	ASSERT_HAS_STR(buf, "29.3 KiB  live ~ (waterfall)", "text: the census's live, labelled");
	ASSERT_HAS_STR(buf, "peak live ~3.9 KiB +- 100 B", "text: peak estimated");
	ASSERT_HAS_STR(buf, "live +- 50 B", "text: a site's standard error");
	ASSERT_TRUE(!strstr(buf, "failed allocations"), "text: no failure count");
	free(buf);

	buf = capture(report__json, d);
	ASSERT_HAS_STR(buf, "\"mode\": \"sampled\"", "json: mode");
	ASSERT_HAS_STR(buf, "\"bytes_freed\": null", "json: bytes freed null");
	ASSERT_HAS_STR(buf, "\"failed_allocs\": null", "json: failures null");
	ASSERT_HAS_STR(buf, "\"sm_live_stderr\": 100", "json: the series' standard error");
	ASSERT_HAS_STR(buf, "\"stderr\": 100,\n", "json: peak.sm_live_est's standard error");
	ASSERT_HAS_STR(buf, "\"source\": \"sampled_blocks\"", "json: peak.sm_live_est's source");
	free(buf);

	{
		char *html = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&html, &len);

		ASSERT_OK(report__html(f, d, "test"), "html");
		fclose(f);
		ASSERT_HAS_STR(html, "sampled: calls counted, live bytes estimated from sampled blocks", "html: the mode");
		ASSERT_HAS_STR(html, "<tr><th>live ~</th><td class=\"n\">3.9 KiB</td><td>+- 100 B (standard error)",
			       "html: the estimate");
		buf = html;
	}
	free(buf);
	buf = NULL;
	pk = session__peak(d, session__col("sm_live_est"));
	ASSERT_EQ(session__rowi(pk, session__col("sm_live_est")), 4000, "peak of the estimate");
	/* without stat's document, the totals from the last row: absent ones null */
	session__data_free(d);
	d = NULL;
	if (!ASSERT_OK(sql(path, "DELETE FROM stat_json"), "drop the document"))
		goto cleanup;
	d = session__load(path, err, sizeof(err));
	if (!ASSERT_OK_PTR(d, err))
		goto cleanup;
	buf = capture(report__json, d);
	ASSERT_HAS_STR(buf, "\"allocs\": 400,", "json without a document: counted");
	ASSERT_HAS_STR(buf, "\"bytes_freed\": null,", "json without a document: absent is null");
	ASSERT_HAS_STR(buf, "\"bytes\": null", "json without a document: no counted live bytes");
cleanup:
	free(buf);
	session__data_free(d);
	session__data_free(e);
	rmtree(dir);
}

/* --window: the counts the windows make seen-only are absent; the duty, the seen
 * and the scaled counts are there, and the estimates are scaled by 1/duty. */
TEST(session_sampled_window)
{
	char *dir = tmpdir(), path[256], pe[256], err[512] = "", why[160] = "", *buf = NULL;
	struct session_data *d = NULL, *e = NULL;
	const struct session_row *end;

	if (!ASSERT_OK_PTR(dir, "mkdtemp"))
		return;
	snprintf(path, sizeof(path), "%s/w.db", dir);
	snprintf(pe, sizeof(pe), "%s/e.db", dir);
	ASSERT_NULL(session__create_run(path, FS_MODE_EXACT, 1, err, sizeof(err)), "--window: sampled mode only");
	ASSERT_HAS_STR(err, "--window is for --mode sampled", "why");
	if (!ASSERT_OK(write_session_run(path, 4, 1, FS_MODE_SAMPLED, 1), "write windowed") ||
	    !ASSERT_OK(write_session_mode(pe, 4, 1, FS_MODE_EXACT), "write exact"))
		goto cleanup;
	d = session__load(path, err, sizeof(err));
	e = d ? session__load(pe, err, sizeof(err)) : NULL;
	if (!ASSERT_OK_PTR(e, err))
		goto cleanup;
	end = last_row(d);
	ASSERT_TRUE(d->windowed, "windowed");
	for (const char *const *c = (const char *const[]){ "allocs", "frees", "bytes_allocated", "allocs_per_s",
							    "malloc_trim_calls", "bytes_freed", NULL }; *c; c++)
		ASSERT_TRUE(session__col_absent(d, session__col(*c)), *c);
	for (const char *const *c = (const char *const[]){ "free_null", "sm_duty", "sm_duty_basis", "sm_allocs_seen",
							    "sm_allocs_est", "sm_bytes_allocated_est",
							    "src_malloc_trim_calls", NULL }; *c; c++)
		ASSERT_FALSE(session__col_absent(d, session__col(*c)), *c);
	ASSERT_TRUE(session__rowd(end, session__col("sm_duty")) == 0.5, "duty: half the release calls");
	ASSERT_EQ(session__rowi(end, session__col("sm_duty_basis")), FS_DUTY_FREE_CALLS, "duty's basis");
	ASSERT_EQ(session__rowi(end, session__col("sm_allocs_seen")), 400, "allocations seen");
	ASSERT_EQ(session__rowi(end, session__col("sm_allocs_est")), 800, "allocations scaled");
	ASSERT_EQ(session__rowi(end, session__col("sm_bytes_allocated_est")), 51200, "bytes scaled");
	ASSERT_EQ(session__rowi(end, session__col("sm_live_est")), 8000, "live estimate scaled");
	ASSERT_EQ(session__rowi(end, session__col("sm_live_stderr")), 200, "and its standard error");

	ASSERT_FALSE(report__diff_cmp(d, end, e, last_row(e), "allocs", why, sizeof(why)), "allocs: not compared");
	ASSERT_STREQ(why, "A: seen only in --window's windows", "allocs: why");
	ASSERT_FALSE(report__diff_cmp(d, end, e, last_row(e), "failed_allocs", why, sizeof(why)), "failures");
	ASSERT_STREQ(why, "A: not counted in sampled mode", "failures: why");

	buf = capture(report__text, d);
	ASSERT_HAS_STR(buf, "sampled, --window 0.3/0.6", "text: the window");
	ASSERT_HAS_STR(buf, "~800 allocations, ~50.0 KiB requested: 400 and 25.0 KiB counted in the windows",
		       "text: seen and scaled");
	ASSERT_HAS_STR(buf, "(50% of the program's release calls)", "text: the duty");
	free(buf);
	buf = capture_diff(e, d);
	ASSERT_HAS_STR(buf, "B: seen only in --window's windows", "diff: allocations not compared");
	free(buf);
	buf = NULL;
cleanup:
	free(buf);
	session__data_free(d);
	session__data_free(e);
	rmtree(dir);
}

/* report --diff with a sampled session: the counts compare (exact in both), the
 * live estimate against exact live bytes is shown with B - A in standard errors,
 * not as an exact delta; against light mode's census it is another unit. */
TEST(session_diff_sampled)
{
	char *dir = tmpdir(), pe[256], ps[256], pl[256], err[512] = "", why[160] = "", *buf = NULL;
	struct session_data *e = NULL, *sm = NULL, *l = NULL;

	if (!ASSERT_OK_PTR(dir, "mkdtemp"))
		return;
	snprintf(pe, sizeof(pe), "%s/e.db", dir);
	snprintf(ps, sizeof(ps), "%s/s.db", dir);
	snprintf(pl, sizeof(pl), "%s/l.db", dir);
	if (!ASSERT_OK(write_session_mode(pe, 4, 1, FS_MODE_EXACT), "write exact") ||
	    !ASSERT_OK(write_session_mode(ps, 4, 1, FS_MODE_SAMPLED), "write sampled") ||
	    !ASSERT_OK(write_session_mode(pl, 4, 1, FS_MODE_LIGHT), "write light"))
		goto cleanup;
	e = session__load(pe, err, sizeof(err));
	sm = e ? session__load(ps, err, sizeof(err)) : NULL;
	l = sm ? session__load(pl, err, sizeof(err)) : NULL;
	if (!ASSERT_OK_PTR(l, err))
		goto cleanup;
	ASSERT_EQ(report__diff_cmp(e, last_row(e), sm, last_row(sm), "allocs", why, sizeof(why)), 1, "allocs: exact");
	ASSERT_EQ(report__diff_cmp(e, last_row(e), sm, last_row(sm), "bytes_allocated", why, sizeof(why)), 1,
		  "bytes allocated: exact");
	ASSERT_EQ(report__diff_cmp(e, last_row(e), sm, last_row(sm), "live_bytes", why, sizeof(why)), 2,
		  "live: an estimate");
	ASSERT_STREQ(why, "B estimated from sampled blocks", "live: why");
	ASSERT_EQ(report__diff_cmp(sm, last_row(sm), sm, last_row(sm), "live_bytes", why, sizeof(why)), 2,
		  "sampled vs sampled: estimates");
	ASSERT_STREQ(why, "A and B estimated from sampled blocks", "both: why");
	ASSERT_FALSE(report__diff_cmp(e, last_row(e), sm, last_row(sm), "failed_allocs", why, sizeof(why)), "failures");
	ASSERT_STREQ(why, "B: not counted in sampled mode", "failures: why");
	ASSERT_FALSE(report__diff_cmp(e, last_row(e), sm, last_row(sm), "held_free", why, sizeof(why)),
		     "held free: the waterfall's live is the census's");
	ASSERT_FALSE(report__diff_cmp(sm, last_row(sm), l, last_row(l), "live_bytes", why, sizeof(why)),
		     "sampled vs light: another unit");
	ASSERT_STREQ(why, "not comparable: A requested bytes (estimated from sampled blocks), B chunk bytes (heap census)",
		     "sampled vs light: why");
	ASSERT_TRUE(report__diff_cmp(sm, last_row(sm), l, last_row(l), "held_free", why, sizeof(why)),
		    "held free: both from the census");
	ASSERT_FALSE(report__diff_cmp(sm, last_row(sm), l, last_row(l), "allocs", why, sizeof(why)), "light: no count");
	ASSERT_STREQ(why, "B: not counted in light mode", "light: why");

	/* exact live 2,560 bytes; the estimate 4,000 +- 100: 14.4 standard errors */
	buf = capture_diff(e, sm);
	ASSERT_HAS_STR(buf, "sampled mode", "diff: B's mode");
	ASSERT_HAS_STR(buf, "~3.9 KiB", "diff: the estimate marked");
	ASSERT_HAS_STR(buf, "~+1.4 KiB  14.4 standard errors (B +- 100 B)", "diff: B - A in standard errors");
	ASSERT_TRUE(!strstr(buf, "(+56%)"), "diff: no exact percentage for an estimate");
	ASSERT_HAS_STR(buf, "B estimated; standard error not recorded for this figure", "diff: live blocks");
	ASSERT_HAS_STR(buf, "not an exact\n  difference", "diff: said below");
	free(buf);
	buf = NULL;
cleanup:
	free(buf);
	session__data_free(e);
	session__data_free(sm);
	session__data_free(l);
	rmtree(dir);
}

/* --folded's line count: 0 tells the command to say why stdout is empty */
TEST(report_folded_counts_lines)
{
	char *frames[] = { "worker+0x10 (w)", "main+0x4 (w)" };
	struct session_site sites[2] = {
		{ .id = 1, .samples = 3, .bytes = 4096, .live_bytes = 0, .live_stderr = -1, .nframes = 2, .frame = frames },
		{ .id = 2, .samples = 1, .bytes = 0, .live_bytes = 0, .live_stderr = -1, .nframes = 1, .frame = frames },
	};
	struct session_data d = { .sites = sites, .nsites = 2 };
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);
	int live, alloc;

	if (!ASSERT_OK_PTR(f, "open_memstream"))
		return;
	live = report__folded(f, &d, 0);
	alloc = report__folded(f, &d, 1);
	fclose(f);
	ASSERT_EQ(live, 0, "no live bytes: no line");
	ASSERT_EQ(alloc, 1, "one site allocated");
	ASSERT_STREQ(out, "main+0x4 (w);worker+0x10 (w) 4096\n", "outermost first");
	free(out);
}
