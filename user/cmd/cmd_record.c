/* cmd_record.c - `fragscope record`: trace a PID or a command like `stat`, and
 * write every snapshot to a session file as it goes (user/session.c). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "cmd/cmd.h"
#include "util/log.h"
#include "util/parse.h"
#include "model/procmem.h"
#include "out/render.h"
#include "out/session.h"
#include "trace/traced.h"

#define DEEP_EVERY 10	/* intervals between deep samples (live set, arenas, sites) */

static const char record_usage[] =
	"usage: fragscope record [options] -p PID\n"
	"       fragscope record [options] -- COMMAND [ARGS...]\n"
	"\n"
	"Traces one process as `fragscope stat` does and records it into a session file,\n"
	"to study later with `fragscope report`, share, or compare with another run.\n"
	"Every interval adds one snapshot (counters, memory waterfall, rates, the madvise\n"
	"ledger and the releases since the previous one); every tenth interval and the\n"
	"end also add the sampled allocation sites with symbolized stacks, the size and\n"
	"lifetime histograms and the diagnosis. Each snapshot is committed when taken: a\n"
	"recorder killed (even with SIGKILL) leaves a session that reports up to its last\n"
	"interval. The session is an SQLite database (schema in the README, section\n"
	"\"Sessions\"), created mode 0600: it holds command lines and addresses.\n"
	"With --mode light the session records what light mode has (no allocator call is\n"
	"counted: the releases, the waterfall, live bytes from glibc's heap census or the\n"
	"allocator's own statistics, labelled so); `report` says the mode.\n"
	"With --mode sampled it records light mode's figures, the calls counted exactly\n"
	"at their entry, and the live bytes (in all and by site) estimated from the\n"
	"sampled blocks with their standard errors; with --window, the counts seen in\n"
	"the windows, the duty, and the counts scaled by it, marked estimated.\n"
	"\n"
	"options:\n"
	"  -p, --pid PID         attach to a running process\n"
	"  -o, --output FILE     the session file (default fragscope.db); an existing FILE\n"
	"                        is first renamed FILE.old, as perf record does\n"
	"  -i, --interval MS     one snapshot every MS milliseconds (default 1000, >= 10)\n"
	"  -d, --duration SECS   stop after SECS seconds (default: until Ctrl-C or exit);\n"
	"                        a COMMAND then gets SIGTERM\n"
	"  -q, --quiet           no progress line on stderr\n"
	"      --trace           also record every allocator call in order (operation,\n"
	"                        size, alignment, addresses, thread, time) and the\n"
	"                        program's own madvise/munmap, compressed into the\n"
	"                        session, for `fragscope replay`; calls the ring had no\n"
	"                        room for are counted per thread and the trace is marked\n"
	"                        lossy. With -p, glibc: a heap census first (--census)\n"
	"      --trace-ring SIZE the calls ring (default 16M, a power of two of pages):\n"
	"                        raise it if calls are lost (about 48 bytes a call,\n"
	"                        drained every 5 ms)\n"
	FS_TRACE_OPTS_HELP
	"  -v                    more diagnostics on stderr (-vv debug, -vvv libbpf)\n"
	"  -h, --help            this text\n"
	"\n"
	"While recording, stderr shows one line updated in place: elapsed time,\n"
	"snapshots written and the size of the file (with its write-ahead log); when\n"
	"stderr is not a terminal, only the final line is written.\n"
	"\n"
	"exit status: 0 ok (or the command's own), 1 failure, 2 usage\n"
	"\n"
	"example:\n"
	"  fragscope record -o before.db -- ./server --load-test\n"
	"  fragscope report before.db\n";

static long long file_size(const char *path)
{
	char wal[4200];
	struct stat sb;
	long long n = 0;

	if (!stat(path, &sb))
		n += sb.st_size;
	snprintf(wal, sizeof(wal), "%s-wal", path);
	if (!stat(wal, &sb))
		n += sb.st_size;
	return n;
}

static void progress(const char *path, double elapsed, long snaps, int last)
{
	char b[32];

	if (!last && !isatty(STDERR_FILENO))
		return;	/* a log file gets the final line only, not every update glued by \r */
	fprintf(stderr, "%sfragscope record: %.1f s, %ld snapshot%s, %s %s  %s",
		isatty(STDERR_FILENO) ? "\r" : "", elapsed, snaps, snaps == 1 ? "" : "s",
		fmt__bytes((uint64_t)file_size(path), b, sizeof(b)), path, last ? "\n" : "");
	fflush(stderr);
}

/* What a replay must know of the trace's start: blocks that predate it. */
static int trace_meta(struct session *s, const struct fs_view *v, const struct fs_traced *t)
{
	const struct fs_pre_block *pre;
	int partial;
	long npre = traced__pre_blocks(t, &pre, &partial);
	char buf[320];

	_Static_assert(sizeof(*pre) == 2 * sizeof(uint64_t), "pairs");
	if (npre > 0 && session__trace_before(s, (const uint64_t *)pre, npre))
		return -1;

	if (v->st->traced_from_start)
		snprintf(buf, sizeof(buf), "none (traced from the first instruction)");
	else if (v->st->census_done && !partial)
		snprintf(buf, sizeof(buf), "census: %llu bytes in %llu chunks%s, %ld listed in trace_before (address,"
			 " chunk size: a replay allocates them first, from one thread, chunk size - 16 bytes each)",
			 (unsigned long long)v->st->census_in_use, (unsigned long long)v->st->census_chunks,
			 v->st->census_approximate ? " (the census is approximate: the heap changed during it)" : "",
			 npre);
	else if (v->st->census_done)
		snprintf(buf, sizeof(buf), "census: %llu bytes in %llu chunks, only part of them listed (out of"
			 " memory): a replay starts without the others", (unsigned long long)v->st->census_in_use,
			 (unsigned long long)v->st->census_chunks);
	else
		snprintf(buf, sizeof(buf), "unknown (no heap census for this allocator): their releases are"
			 " in the trace but not their allocations; a replay skips them");
	if (session__set_meta(s, "trace_before_attach", buf))
		return -1;
	/* the functions' names, by the index events carry */
	{
		char *list = calloc((size_t)v->plan->nprobes + 1, sizeof(v->plan->probes[0].name) + 1);
		int r;

		if (!list)
			return -1;
		for (int i = 0; i < v->plan->nprobes; i++) {
			if (i)
				strcat(list, ",");
			strcat(list, v->plan->probes[i].name);
		}
		r = session__set_meta(s, "trace_funcs", list);
		free(list);
		return r;
	}
}

static void trace_summary(const struct fs_traced *t, int quiet)
{
	uint64_t calls, lost, bytes;
	char b[32];

	traced__trace_counts(t, &calls, &lost, &bytes);
	if (quiet && !lost)
		return;
	fprintf(stderr, "fragscope record: trace of %llu calls, %s compressed (%.1f bytes a call)%s",
		(unsigned long long)calls, fmt__bytes(bytes, b, sizeof(b)), calls ? (double)bytes / (double)calls : 0.0,
		lost ? "" : ", none lost\n");
	if (lost)
		fprintf(stderr, ", %llu LOST (ring full: the trace is marked lossy; raise --trace-ring)\n",
			(unsigned long long)lost);
}

int cmd_record(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, 0, 'p' },
		{ "output", required_argument, 0, 'o' },
		{ "interval", required_argument, 0, 'i' },
		{ "duration", required_argument, 0, 'd' },
		{ "quiet", no_argument, 0, 'q' },
		{ "trace", no_argument, 0, 'T' },
		{ "trace-ring", required_argument, 0, 'R' },
		FS_TRACE_LONGOPTS,
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	struct fs_trace_opts topts = FS_TRACE_OPTS_DEFAULT;
	struct fs_traced *t = NULL;
	struct session *s = NULL;
	struct fs_view view;
	const char *path = "fragscope.db";
	double duration = 0, interval = 1.0;
	int quiet = 0, opt, idx, ret = EXIT_FAIL, stop_sig = 0, code, rotated = 0, failed = 0;
	char err[512] = "", old[4200];
	pid_t pid = 0;
	struct fs_waiter *w = NULL;
	long n = 0;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "+:p:o:i:d:qvh", longopts, &idx)) != -1) {
		switch (opt) {
		case 'p':
			if (traced__parse_pid(optarg, &pid))
				return EXIT_USAGE;
			break;
		case 'o':
			if (!*optarg) {
				fs_err("invalid output file name ''");
				return EXIT_USAGE;
			}
			path = optarg;
			break;
		case 'i':
			if (parse__interval("-i", optarg, 10, PARSE_INTERVAL_MAX_MS, &interval))
				return EXIT_USAGE;
			interval /= 1000;
			break;
		case 'd':
			if (parse__duration("-d", optarg, 0, &duration))
				return EXIT_USAGE;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'T':
			topts.trace_calls = 1;
			break;
		case 'R': {
			uint64_t v;

			if (parse__size("--trace-ring", optarg, 4096, 1ull << 30, &v))
				return EXIT_USAGE;
			if (v & (v - 1) || v % 4096) {
				parse__complain("size", "--trace-ring", optarg, PARSE_RANGE,
						"a power of two, 4K to 1G");
				return EXIT_USAGE;
			}
			topts.trace_ring_bytes = (uint32_t)v;
			break;
		}
		default: {
			int r = traced__shared_opt(opt, opt == 'L' ? longopts[idx].name : NULL, optarg, &topts,
						   "record", record_usage);

			if (r >= 0)
				return r;
			break;
		}
		}
	}
	if (traced__check_target("record", pid != 0, optind < argc) || traced__check_opts("record", &topts))
		return EXIT_USAGE;
	if (topts.trace_calls && (topts.light || topts.sampled)) {
		fs_err("--trace needs --mode exact: --mode %s does not see every allocator call",
		       topts.light ? "light" : "sampled");
		return EXIT_USAGE;
	}
	if (topts.trace_ring_bytes && !topts.trace_calls) {
		fs_err("--trace-ring without --trace");
		return EXIT_USAGE;
	}
	if (topts.trace_calls && pid)
		topts.census = 1;	/* glibc: what the heap held before the probes */
	if (traced__can_trace())
		return EXIT_FAIL;

	/* The file first: nothing is started if it cannot be written. */
	snprintf(old, sizeof(old), "%s.old", path);
	if (access(path, F_OK) == 0) {
		int r = session__rotate(path);

		if (r) {
			fs_err("rename %s to %s: %s", path, old, strerror(-r));
			return EXIT_FAIL;
		}
		rotated = 1;
	}
	/* the mode is the session's: its columns are the figures that mode has */
	s = session__create_run(path, topts.light ? FS_MODE_LIGHT : topts.sampled ? FS_MODE_SAMPLED : FS_MODE_EXACT,
				topts.sampled && topts.window_period_s > 0, err, sizeof(err));
	if (!s) {
		fs_err("%s", err);
		goto undo;
	}
	if (topts.sampled && topts.window_period_s > 0) {
		char win[64];

		snprintf(win, sizeof(win), "%g/%g", topts.window_on_s, topts.window_period_s);
		if (session__set_meta(s, "window", win)) {
			fs_err("%s: %s", path, session__errmsg(s));
			goto undo;
		}
	}
	if (session__set_run(s, argc, argv, optind, interval, DEEP_EVERY)) {
		fs_err("%s: %s", path, session__errmsg(s));
		goto undo;
	}

	w = traced__waiter_new();
	if (!w)
		goto undo;
	t = traced__start(pid, argv + optind, &topts, err, sizeof(err));
	if (!t) {
		fs_err("%s", err);
		goto undo;
	}
	traced__view(t, &view);
	if (pid) {	/* what runs there, for the report's command line */
		char cl[1024];

		procmem__cmdline(pid, cl, sizeof(cl));
		if (cl[0] && session__set_meta(s, "attached_cmdline", cl))
			failed = 1;
	}
	if (failed || session__set_target(s, &view) || (topts.trace_calls && trace_meta(s, &view, t))) {
		fs_err("%s: %s", path, session__errmsg(s));
		failed = 1;
	}
	while (!failed) {
		double left;
		int wake, deep = n % DEEP_EVERY == DEEP_EVERY - 1;

		traced__sample(t, deep, deep ? 50 : 0);
		traced__view(t, &view);
		if (session__append(s, &view, deep) || traced__trace_flush(t, s, 0)) {
			fs_err("%s%s: %s", quiet || !isatty(STDERR_FILENO) ? "" : "\n", path, session__errmsg(s));
			failed = 1;
			break;
		}
		n++;
		if (!quiet)
			progress(path, view.duration_s, n, 0);
		left = duration ? duration - traced__elapsed(t) : interval;
		if (duration && left <= 0) {
			stop_sig = traced__is_command(t) ? SIGTERM : 0;
			break;
		}
		wake = traced__wait(w, t, -1, left < interval ? left : interval, &stop_sig);
		if (wake == FS_WAKE_SIGNAL || wake == FS_WAKE_ERROR)
			break;
		if (traced__exited(t))
			break;
	}
	if (traced__stop(t, failed ? SIGTERM : stop_sig, 200)) {
		fs_err("%sread BPF maps: %s", quiet || !isatty(STDERR_FILENO) ? "" : "\n", strerror(errno));
		failed = 1;
	}
	code = traced__exit_code(t);
	if (!failed) {
		traced__view(t, &view);
		if (session__append(s, &view, 1) || traced__trace_flush(t, s, 1) ||
		    session__finish(s, code, view.duration_s)) {
			fs_err("%s%s: %s", quiet || !isatty(STDERR_FILENO) ? "" : "\n", path, session__errmsg(s));
			failed = 1;
		} else if (!quiet) {
			progress(path, view.duration_s, session__count(s), 1);
		}
		if (!failed && topts.trace_calls)
			trace_summary(t, quiet);
	}
	ret = failed ? EXIT_FAIL : code >= 0 ? code : EXIT_OK;
	goto cleanup;
undo:
	/* nothing recorded: the previous session stays the current one */
	if (s) {
		session__close(s);
		s = NULL;
		unlink(path);
	}
	if (rotated)
		rename(old, path);
cleanup:
	session__close(s);
	traced__free(t);
	traced__waiter_free(w);
	return ret;
}
