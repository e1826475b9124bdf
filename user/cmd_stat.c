/* cmd_stat.c - `fragscope stat`: trace a PID or a command, print a perf-stat style summary. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include "fragscope.h"
#include "log.h"
#include "render.h"
#include "traced.h"

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
	"options:\n"
	"  -p, --pid PID         attach to a running process\n"
	"  -d, --duration SECS   stop after SECS seconds (default: until Ctrl-C or exit);\n"
	"                        a COMMAND then gets SIGTERM, as with perf stat --timeout\n"
	"  -i, --interval MS     sample memory (/proc/PID/smaps) every MS ms (default 500)\n"
	"  -j, --json            print one JSON document on stdout (keys in README)\n"
	"  -o, --output FILE     write the summary to FILE instead (text goes to stderr\n"
	"                        by default when a COMMAND shares stdout, as perf stat)\n"
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
		FS_TRACE_LONGOPTS,
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	struct fs_trace_opts topts = FS_TRACE_OPTS_DEFAULT;
	struct fs_traced *t = NULL;
	const char *outfile = NULL;
	double duration = 0, interval = 0.5;
	int json = 0, opt, idx, ret = EXIT_FAIL, sfd, stop_sig = 0, code;
	char err[512] = "";
	pid_t pid = 0;
	sigset_t oldmask;
	long nsamples = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+p:d:i:jo:vh", longopts, &idx)) != -1) {
		switch (opt) {
		case 'p':
			if (traced__parse_pid(optarg, &pid))
				return EXIT_USAGE;
			break;
		case 'd':
			duration = strtod(optarg, NULL);
			if (duration <= 0) {
				fs_err("invalid duration '%s' (seconds, > 0)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'i':
			interval = strtod(optarg, NULL) / 1000;
			if (interval < 0.01) {
				fs_err("invalid interval '%s' (milliseconds, >= 10)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'j':
			json = 1;
			break;
		case 'o':
			outfile = optarg;
			break;
		default: {
			int r = traced__shared_opt(opt, opt == 'L' ? longopts[idx].name : NULL, optarg, &topts,
						   "stat", stat_usage);

			if (r >= 0)
				return r;
			break;
		}
		}
	}
	if (traced__check_target("stat", pid != 0, optind < argc))
		return EXIT_USAGE;
	if (check_can_trace())
		return EXIT_FAIL;

	sfd = traced__signalfd(&oldmask);
	t = traced__start(pid, argv + optind, &topts, err, sizeof(err));
	if (!t) {
		fs_err("%s", err);
		goto cleanup;
	}
	for (;;) {
		struct pollfd pf[2] = { { .fd = sfd, .events = POLLIN }, { .fd = t->tg.pidfd, .events = POLLIN } };
		double left = duration ? duration - traced__elapsed(t) : interval;

		/* deep samples (arenas, pages) at every interval while the heap is small, every
		 * 8th beyond: a command that exits keeps the last ones, labelled with their age */
		nsamples++;
		traced__sample(t, t->st.mem.resident < (512ull << 20) || nsamples % 8 == 2, 0);
		if (duration && left <= 0) {
			stop_sig = t->tg.child ? SIGTERM : 0;	/* as perf stat --timeout */
			break;
		}
		if (poll(pf, t->tg.pidfd >= 0 ? 2 : 1, (int)((left < interval ? left : interval) * 1000) + 1) < 0 &&
		    errno != EINTR)
			break;
		if (pf[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si))
				stop_sig = (int)si.ssi_signo;
			break;
		}
		if (traced__exited(t))
			break;
	}
	if (traced__stop(t, stop_sig, 10)) {
		fs_err("read BPF maps: %s", strerror(errno));
		goto cleanup;
	}
	{
		struct fs_view view;
		FILE *out = outfile ? fopen(outfile, "we") : (json || !t->tg.child ? stdout : stderr);

		if (!out) {
			fs_err("open %s: %s", outfile, strerror(errno));
			goto cleanup;
		}
		traced__view(t, &view);
		/* Like perf stat, text goes to stderr when a command shares our stdout. */
		if (json)
			render__stat_json(out, &view);
		else
			render__stat_text(out, &view);
		if (outfile)
			fclose(out);
	}
	code = traced__exit_code(t);
	ret = code >= 0 ? code : EXIT_OK;
cleanup:
	traced__free(t);
	if (sfd >= 0)
		close(sfd);
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	return ret;
}
