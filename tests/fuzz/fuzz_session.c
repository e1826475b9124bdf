/* fuzz_session.c - libFuzzer target for the session reader and every report
 * view: any file must give a report or one error line, never a crash.
 *
 *   FUZZ_SESSION_SEED=corpus/seed.db ./fuzz_session   writes a small real session, exits
 *   ./fuzz_session -max_total_time=30 corpus           fuzzes (make fuzz)
 */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cmd/cmd.h"
#include "out/session.h"

static char path[64], wal[80], shm[80];

/* A small real session of mode (enum fs_mode): light has no counted columns and
 * live_est from a census (from the second snapshot on), and no sites; sampled has
 * light's columns, the calls, the sampled estimates and the sites' standard
 * errors (windowed: --window's columns too). */
static int write_seed(const char *out, int mode, int windowed)
{
	static struct fs_target_info info = { .pid = 77, .comm = "seed", .exit_code = 0, .attached_at_start = 1 };
	static struct fs_plan plan = { .alloc_name = "glibc", .object = "/lib/libc.so.6", .nprobes = 1 };
	static struct fs_state st;
	struct fs_view v = { .target = &info, .plan = &plan, .snap = &st.snap, .st = &st, .max_live = 64 };
	char err[512];
	struct session *s;
	sqlite3 *db = NULL;

	unlink(out);
	memset(&st, 0, sizeof(st));
	s = session__create_run(out, mode, windowed, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "seed: %s\n", err);
		return 1;
	}
	snprintf(plan.probes[0].name, sizeof(plan.probes[0].name), "malloc");
	st.sites = calloc(2, sizeof(*st.sites));
	st.nsites = mode == FS_MODE_LIGHT ? 0 : 2;
	st.light = st.mem.light = mode != FS_MODE_EXACT;
	st.sampled = mode == FS_MODE_SAMPLED;
	st.sample_bytes = 4096;
	if (windowed) {
		st.win.on_ns = 1;
		st.win.period_ns = 2;
		st.win.attached_ns = 1;
		st.win.elapsed_ns = 2;
	}
	st.snap.nfuncs = 1;
	session__set_target(s, &v);
	session__set_meta(s, "command", "seed --x 'a b'");
	for (int i = 0; i < 3; i++) {
		st.snap.c[FS_C_ALLOCS] = st.snap.c[FS_C_TRACKED_ALLOCS] = 10ull * (i + 1);
		st.snap.c[FS_C_TRACKED_BYTES] = 1000ull * (i + 1);
		st.snap.h[FS_H_ALLOC_SIZE][5] = i + 1;
		st.snap.h[FS_H_LIFETIME_NS][20] = i;
		st.snap.k.adv[FS_A_DONTNEED].calls = (uint64_t)i;
		st.snap.k.src_calls[FS_R_GLIBC_TRIM] = (uint64_t)i;
		st.snap.k.src_resident[FS_R_GLIBC_TRIM] = 4096ull * i;
		st.mem.valid = 1;
		st.mem.resident = 8192ull * (i + 1);
		st.mem.mapped = 16384;
		st.mem.live = 1000ull * (i + 1);
		st.mem.light_census = st.light && i > 0;
		st.snap.c[FS_C_SM_LIVE_W] = 5000ull * (i + 1);
		st.snap.c[FS_C_SM_LIVE_VAR] = 4000000;
		st.snap.c[FS_C_SM_LIVE_BLOCKS_Q16] = 3ull << 16;
		st.snap.c[FS_C_SM_SAMPLED] = 4ull * (i + 1);
		st.mem.light_trim = st.light ? 4096 : 0;
		st.diag.kind = FS_D_LEAK;
		snprintf(st.diag.text, sizeof(st.diag.text), "<leak> & \"more\"");
		for (int k = 0; k < 2; k++) {
			st.sites[k].samples = 3;
			st.sites[k].bytes = 300;
			st.sites[k].live_bytes = 100 * (k + 1);
			st.sites[k].live_var = 900 * k;
			st.sites[k].nframes = 2;
			snprintf(st.sites[k].frame[0], FS_SITE_FRAME, "f%d;x <y>", k);
			snprintf(st.sites[k].frame[1], FS_SITE_FRAME, "main");
		}
		v.duration_s = 0.1 * (i + 1);
		if (session__append(s, &v, i == 2)) {
			fprintf(stderr, "seed: %s\n", session__errmsg(s));
			return 1;
		}
	}
	session__finish(s, 0, v.duration_s);
	session__close(s);
	free(st.sites);
	/* small pages make a small seed: mutations then hit structure, not padding */
	if (sqlite3_open(out, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA page_size = 512; VACUUM;", NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "seed: vacuum: %s\n", sqlite3_errmsg(db));
		return 1;
	}
	sqlite3_close(db);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *seed = getenv("FUZZ_SESSION_SEED");

	(void)argc;
	(void)argv;
	if (seed) {
		char light[4200], sampled[4200], windowed[4200];

		snprintf(light, sizeof(light), "%s.light", seed);
		snprintf(sampled, sizeof(sampled), "%s.sampled", seed);
		snprintf(windowed, sizeof(windowed), "%s.sampled-window", seed);
		exit(write_seed(seed, FS_MODE_EXACT, 0) || write_seed(light, FS_MODE_LIGHT, 0) ||
		     write_seed(sampled, FS_MODE_SAMPLED, 0) || write_seed(windowed, FS_MODE_SAMPLED, 1));
	}
	snprintf(path, sizeof(path), "/tmp/fuzz_session.%d.db", (int)getpid());
	snprintf(wal, sizeof(wal), "%s-wal", path);
	snprintf(shm, sizeof(shm), "%s-shm", path);
	if (!freopen("/dev/null", "w", stdout))
		return 1;
	return 0;
}

static void report(const char *a1, const char *a2)
{
	char *argv[5] = { "report", (char *)a1, (char *)a2, NULL, NULL };
	int argc = a2 ? 3 : 2;

	if (!a1) {
		argv[1] = path;
		argc = 2;
	} else {
		argv[argc++] = path;
	}
	cmd_report(argc, argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd;

	unlink(wal);
	unlink(shm);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	close(fd);
	report(NULL, NULL);
	report("--json", NULL);
	report("--csv", "all");
	report("--csv", "events");
	report("--html", "/dev/null");
	report("--folded", NULL);
	report("--folded=alloc", NULL);
	report("--flamegraph", "/dev/null");
	report("--pprof", "/dev/null");
	{
		char *argv[] = { "report", "--diff", path, path, NULL };

		cmd_report(4, argv);
	}
	return 0;
}
