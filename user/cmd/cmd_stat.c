/* cmd_stat.c - `fragscope stat`: trace a PID or a command, print a perf-stat style summary. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cmd/cmd.h"
#include "util/log.h"
#include "util/parse.h"
#include "trace/family.h"
#include "out/pprof.h"
#include "out/render.h"
#include "trace/target.h"
#include "trace/traced.h"

static const char stat_usage[] =
	"usage: fragscope stat [options] -p PID\n"
	"       fragscope stat [options] -- COMMAND [ARGS...]\n"
	"\n"
	"Counts every allocation and release of one process, exactly, and prints a summary\n"
	"when the duration ends, on Ctrl-C, or when the process exits: the counts, the\n"
	"memory waterfall (live, held free, mapped, resident, returned), the releases to the\n"
	"OS, glibc arenas, page occupancy, sampled allocation sites and a diagnosis. With a\n"
	"COMMAND, the probes are in place before it runs its first instruction and its exit\n"
	"status is passed through.\n"
	"\n"
	"A COMMAND's descendants are followed: each child it forks and each program it execs\n"
	"(a shell, env, a server's workers) is held before its first instruction until its\n"
	"own probes are in place, so every process is counted exactly, each with its own\n"
	"figures; the summary lists them all and ends when the last one exits. With -p,\n"
	"children born during the trace are counted and named, and traced with --follow.\n"
	"A process that could not be followed (a static binary, --max-procs reached) is\n"
	"named and the summary says NOT EXACT.\n"
	"\n"
	"options:\n"
	"  -p, --pid PID         attach to a running process\n"
	"  -d, --duration SECS   stop after SECS seconds (default: until Ctrl-C or exit);\n"
	"                        a COMMAND then gets SIGTERM, as with perf stat --timeout\n"
	"  -i, --interval MS     sample memory (/proc/PID/smaps) every MS ms (default 500)\n"
	"  -j, --json            print one JSON document on stdout (keys in README)\n"
	"  -o, --output FILE     write the summary to FILE instead (text goes to stderr\n"
	"                        by default when a COMMAND shares stdout, as perf stat)\n"
	"      --follow          with -p: trace the children it forks and the programs it\n"
	"                        execs from now on (default with a COMMAND)\n"
	"      --no-follow       trace only the first process (children and new images\n"
	"                        are counted and named, not traced)\n"
	"      --pprof FILE      also write the allocation sites at the end as a gzipped pprof\n"
	"                        profile (alloc/inuse objects and space; see report --pprof)\n"
	"                        of every traced process (samples labelled pid), every site\n"
	"                        (--json then lists them all, not the top 10)\n"
	"      --max-procs N     trace at most N processes at once (default 32; each\n"
	"                        tracer pins its own maps, about 100 MiB at --max-live\n"
	"                        1048576); beyond, processes run untraced and are named\n"
	FS_TRACE_OPTS_HELP
	"  -v                    more diagnostics on stderr (-vv debug, -vvv libbpf)\n"
	"  -h, --help            this text\n"
	"\n"
	"exit status: 0 ok (or the command's own), 1 failure, 2 usage\n";

int cmd_stat(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, 0, 'p' },
		{ "duration", required_argument, 0, 'd' },
		{ "interval", required_argument, 0, 'i' },
		{ "json", no_argument, 0, 'j' },
		{ "output", required_argument, 0, 'o' },
		{ "follow", no_argument, 0, 'F' },
		{ "no-follow", no_argument, 0, 'N' },
		{ "max-procs", required_argument, 0, 'M' },
		{ "pprof", required_argument, 0, 'P' },
		FS_TRACE_LONGOPTS,
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	struct fs_trace_opts topts = FS_TRACE_OPTS_DEFAULT;
	struct fs_family *fam = NULL;
	struct fs_traced *t = NULL;
	int follow = -1, max_procs = FS_MAX_PROCS_DEFAULT;
	const char *outfile = NULL, *pprof = NULL;
	double duration = 0, interval = 0.5;
	int json = 0, opt, idx, ret = EXIT_FAIL, stop_sig = 0, code;
	char err[512] = "";
	pid_t pid = 0;
	struct fs_waiter *w = NULL;
	long nsamples = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+:p:d:i:jo:vh", longopts, &idx)) != -1) {
		switch (opt) {
		case 'p':
			if (traced__parse_pid(optarg, &pid))
				return EXIT_USAGE;
			break;
		case 'd':
			if (parse__duration("-d", optarg, 0, &duration))
				return EXIT_USAGE;
			break;
		case 'i':
			if (parse__interval("-i", optarg, 10, PARSE_INTERVAL_MAX_MS, &interval))
				return EXIT_USAGE;
			interval /= 1000;
			break;
		case 'j':
			json = 1;
			break;
		case 'o':
			outfile = optarg;
			break;
		case 'F':
			follow = 1;
			break;
		case 'N':
			follow = 0;
			break;
		case 'P':
			pprof = optarg;
			break;
		case 'M': {
			uint64_t v;

			if (parse__count("process count", "--max-procs", optarg, 1, 1024, &v))
				return EXIT_USAGE;
			max_procs = (int)v;
			break;
		}
		default: {
			int r = traced__shared_opt(opt, opt == 'L' ? longopts[idx].name : NULL, optarg, &topts,
						   "stat", stat_usage);

			if (r >= 0)
				return r;
			break;
		}
		}
	}
	if (traced__check_target("stat", pid != 0, optind < argc) || traced__check_opts("stat", &topts))
		return EXIT_USAGE;
	if (traced__can_trace())
		return EXIT_FAIL;

	topts.follow = follow >= 0 ? follow : pid == 0;
	w = traced__waiter_new();
	if (!w)
		goto cleanup;
	target__stdout_to_stderr(json && !outfile);	/* stdout: the document only */
	fam = family__start(pid, argv + optind, &topts, max_procs, err, sizeof(err));
	if (!fam) {
		fs_err("%s", err);
		goto cleanup;
	}
	t = family__primary(fam);
	if (pid && isatty(STDERR_FILENO)) {	/* a person waiting at a terminal: say when it ends */
		if (duration)
			fprintf(stderr, "fragscope: tracing PID %d for %g s (Ctrl-C ends it sooner)\n", (int)pid, duration);
		else
			fprintf(stderr, "fragscope: tracing PID %d until Ctrl-C or its exit\n", (int)pid);
	}
	for (;;) {
		double left = duration ? duration - traced__elapsed(t) : interval;
		struct fs_view v;
		int wake;

		/* deep samples (arenas, pages) at every interval while the heap is small, every
		 * 8th beyond: a command that exits keeps the last ones, labelled with their age */
		nsamples++;
		traced__view(t, &v);
		family__sample(fam, v.st->mem.resident < (512ull << 20) || nsamples % 8 == 2, 0);
		t = family__primary(fam);
		if (duration && left <= 0) {
			stop_sig = traced__is_command(t) ? SIGTERM : 0;	/* as perf stat --timeout */
			break;
		}
		wake = family__wait(w, fam, left < interval ? left : interval, &stop_sig);
		t = family__primary(fam);
		if (wake == FS_WAKE_SIGNAL || wake == FS_WAKE_ERROR)
			break;
		if (family__exited(fam))
			break;
	}
	/* the profile has every site (so has --json then), the summary the top 10 */
	if (family__stop(fam, stop_sig, pprof ? INT_MAX : 10)) {
		fs_err("read BPF maps: %s", strerror(errno));
		goto cleanup;
	}
	t = family__primary(fam);
	{
		struct fs_view *views = NULL;
		struct fs_procs_view pv;
		FILE *out;

		if (family__views(fam, &views, &pv)) {
			fs_err("out of memory");
			goto cleanup;
		}
		out = outfile ? fopen(outfile, "we") : (json || !views[0].target->attached_at_start ? stdout : stderr);
		if (!out) {
			fs_err("open %s: %s", outfile, strerror(errno));
			free(views);
			goto cleanup;
		}
		/* Like perf stat, text goes to stderr when a command shares our stdout. */
		if (json) {
			struct json j;

			json__init(&j, out, 1);
			json__obj(&j, NULL);
			render__json_core(&j, &views[pv.primary]);
			render__procs_json(&j, &pv);
			json__end_obj(&j);
			json__finish(&j);
		} else {
			/* one summary per process that made allocator calls (the one asked for always) */
			for (int i = 0; i < pv.n; i++)
				if (i == pv.primary || views[i].snap->c[FS_C_ALLOCS] || views[i].snap->c[FS_C_FREES])
					render__stat_text(out, &views[i]);
			if (pv.n > 1 || pv.nuf || pv.uf_more || pv.events_lost)
				render__procs_text(out, &pv);
		}
		if (pprof) {
			struct timespec now;

			clock_gettime(CLOCK_REALTIME, &now);
			if (pprof__write_views(pprof, views, pv.n, (int64_t)now.tv_sec * 1000000000 + now.tv_nsec,
					       err, sizeof(err))) {
				fs_err("%s", err);
				free(views);
				if (outfile)
					fclose(out);
				goto cleanup;
			}
		}
		free(views);
		if (outfile)
			fclose(out);
	}
	code = traced__exit_code(t);
	ret = code >= 0 ? code : EXIT_OK;
cleanup:
	family__free(fam);
	traced__waiter_free(w);
	return ret;
}
