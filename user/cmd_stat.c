/* cmd_stat.c - `fragscope stat`: trace a PID or a command, print a perf-stat style summary. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "fragscope.h"
#include "log.h"
#include "collect.h"
#include "procmem.h"
#include "render.h"
#include "resolve.h"
#include "symbolize.h"
#include "target.h"
#include "tracer.h"

extern char **environ;

static const char stat_usage[] =
	"usage: fragscope stat [options] -p PID\n"
	"       fragscope stat [options] -- COMMAND [ARGS...]\n"
	"\n"
	"Counts every allocation and release of one process, exactly, and prints a summary\n"
	"when the duration ends, on Ctrl-C, or when the process exits. With a COMMAND, the\n"
	"probes are in place before it runs its first instruction and its exit status is\n"
	"passed through.\n"
	"\n"
	"options:\n"
	"  -p, --pid PID         attach to a running process\n"
	"  -d, --duration SECS   stop after SECS seconds (default: until Ctrl-C or exit)\n"
	"  -i, --interval MS     sample memory (/proc/PID/smaps) every MS ms (default 500)\n"
	"  -j, --json            print one JSON document on stdout (keys in README)\n"
	"  -o, --output FILE     write the summary to FILE instead (text goes to stderr\n"
	"                        by default when a COMMAND shares stdout, as perf stat)\n"
	"      --sample-bytes N  sample the stack of about one allocation per N bytes\n"
	"                        (default 524288; 0 off): allocation sites, estimated\n"
	"      --max-live N      capacity of the live-allocation map (default 1048576);\n"
	"                        allocations beyond it are counted as 'untracked'\n"
	"  -v                    more diagnostics on stderr (-vv debug, -vvv libbpf)\n"
	"  -h, --help            this text\n"
	"\n"
	"exit status: 0 ok (or the command's own), 1 failure, 2 usage\n";

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void show_plan(const struct fs_plan *plan)
{
	fs_info("allocator: %s in %s (%s)", plan->alloc_name, plan->object, plan->how);
	for (int i = 0; i < plan->nprobes; i++) {
		const struct fs_probe *p = &plan->probes[i];

		fs_info("  %-36s 0x%-8llx probe +%-2u %s%s%s%s", p->name, (unsigned long long)p->vaddr,
			p->place, p->emulated ? "emulated" : "single-stepped", *p->aliases ? " (also " : "",
			p->aliases, *p->aliases ? ")" : "");
		fs_debug("    placement: %s", p->why);
	}
	for (int i = 0; i < plan->nnotes; i++)
		fs_info("note: %s", plan->notes[i]);
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || end == s || *end || s[0] == '-' ? -1 : 0;
}

int cmd_stat(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, 0, 'p' },
		{ "duration", required_argument, 0, 'd' },
		{ "json", no_argument, 0, 'j' },
		{ "max-live", required_argument, 0, 'L' },
		{ "output", required_argument, 0, 'o' },
		{ "interval", required_argument, 0, 'i' },
		{ "sample-bytes", required_argument, 0, 'S' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	struct fs_target_info info = { .exit_code = -1 };
	struct tracer_opts topts = { .max_live = 1 << 20, .sample_bytes = 512 << 10 };
	struct symbolizer *sym = NULL;
	struct fs_state *st = NULL;
	struct fs_plan *plan = NULL;
	struct tracer *tr = NULL;
	struct target tg = { .pidfd = -1, .gate = -1, .errpipe = -1 };
	char err[512] = "";
	const char *outfile = NULL;
	double duration = 0, interval = 0.5;
	int json = 0, opt, ret = EXIT_FAIL, sfd = -1, stop_sig = 0;
	uint64_t pid = 0, v, t0, deadline = 0, next_sample;
	sigset_t mask, oldmask;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+p:d:i:jo:vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (parse_u64(optarg, &pid) || !pid || pid > 0x7fffffff) {
				fs_err("invalid PID '%s'", optarg);
				return EXIT_USAGE;
			}
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
		case 'L':
			if (parse_u64(optarg, &v) || v < 1 || v > (1u << 30)) {
				fs_err("invalid --max-live '%s' (1 to 2^30)", optarg);
				return EXIT_USAGE;
			}
			topts.max_live = (uint32_t)v;
			break;
		case 'S':
			if (parse_u64(optarg, &v) || (v && v < 64)) {
				fs_err("invalid --sample-bytes '%s' (0, or at least 64)", optarg);
				return EXIT_USAGE;
			}
			topts.sample_bytes = v;
			break;
		case 'v':
			fs_verbose++;
			break;
		case 'h':
			fputs(stat_usage, stdout);
			return EXIT_OK;
		default:
			fs_err("see fragscope stat --help");
			return EXIT_USAGE;
		}
	}
	if (!pid == (optind >= argc)) {
		fs_err("%s (see fragscope stat --help)",
		       pid ? "give either -p PID or a command, not both" : "nothing to trace: give -p PID or -- COMMAND");
		return EXIT_USAGE;
	}
	if (check_can_trace())
		return EXIT_FAIL;

	/* Signals arrive through a signalfd; the child gets our mask back before exec. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, &oldmask);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);

	plan = calloc(1, sizeof(*plan));
	st = calloc(1, sizeof(*st));
	if (!plan || !st) {
		fs_err("out of memory");
		goto cleanup;
	}
	if (pid) {
		if (target__open(&tg, (pid_t)pid, err, sizeof(err)) ||
		    resolve__pid(tg.pid, plan, err, sizeof(err))) {
			fs_err("%s", err);
			goto cleanup;
		}
	} else {
		if (target__spawn(&tg, argv + optind, err, sizeof(err))) {
			fs_err("%s", err);
			goto cleanup;
		}
		if (resolve__cmd(tg.path, environ, plan, err, sizeof(err))) {
			fs_err("%s", err);
			goto cleanup;
		}
		info.attached_at_start = 1;
	}
	info.pid = tg.pid;
	snprintf(info.comm, sizeof(info.comm), "%s", tg.comm);
	show_plan(plan);

	topts.pid = tg.pid;
	topts.flavour = plan->alloc == FS_ALLOC_GLIBC ? FS_F_GLIBC : plan->alloc == FS_ALLOC_JEMALLOC ? FS_F_JEMALLOC : FS_F_OTHER;
	st->flavour = topts.flavour;
	st->traced_from_start = info.attached_at_start;
	st->sample_bytes = topts.sample_bytes;
	tr = tracer__new(&topts, err, sizeof(err));
	if (!tr || tracer__attach(tr, plan, err, sizeof(err))) {
		fs_err("%s", err);
		goto cleanup;
	}
	if (tg.child) {
		if (target__release(&tg, err, sizeof(err))) {
			fs_err("%s", err);
			goto cleanup;
		}
	} else if (target__check(&tg)) {
		fs_err("PID %d exited while the probes were being attached", tg.pid);
		goto cleanup;
	}
	procmem__settings(tg.pid, &st->settings);
	sym = symbolizer__new(tg.pid);
	fs_info("tracing PID %d (%s)%s", tg.pid, tg.comm, duration ? "" : "; Ctrl-C to stop");

	t0 = now_ns();
	next_sample = t0;
	if (duration)
		deadline = t0 + (uint64_t)(duration * 1e9);
	for (;;) {
		struct pollfd pf[2] = { { .fd = sfd, .events = POLLIN }, { .fd = tg.pidfd, .events = POLLIN } };
		int timeout;
		uint64_t now = now_ns();

		if (now >= next_sample) {
			collect__sample(st, tr, tg.pid, 1, 0, 0);
			if (sym)
				symbolizer__refresh(sym);	/* libraries loaded since */
			next_sample = now + (uint64_t)(interval * 1e9);
		}
		timeout = (int)((next_sample - now) / 1000000) + 1;
		if (deadline) {
			if (now >= deadline) {
				stop_sig = tg.child ? SIGTERM : 0;	/* as perf stat --timeout */
				break;
			}
			if ((deadline - now) / 1000000 < (uint64_t)timeout)
				timeout = (int)((deadline - now) / 1000000) + 1;
		}
		if (poll(pf, tg.pidfd >= 0 ? 2 : 1, timeout) < 0 && errno != EINTR)
			break;
		if (pf[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si))
				stop_sig = (int)si.ssi_signo;
			break;
		}
		if (target__check(&tg))
			break;
	}

	if (tg.child && !tg.exited && stop_sig) {
		/* Like perf stat: the command stops with us (it may have had the signal already). */
		kill(tg.pid, stop_sig);
		for (int i = 0; i < 200 && !target__check(&tg); i++)
			usleep(10000);
	}
	/* A running target is detached first, so the snapshot is the state at the stop. */
	if (!tg.exited)
		tracer__detach(tr);
	info.exited = target__check(&tg);
	if (collect__sample(st, tr, tg.pid, !info.exited, 1, 16ull << 30)) {
		fs_err("read BPF maps: %s", strerror(errno));
		goto cleanup;
	}
	if (sym && !info.exited)
		symbolizer__refresh(sym);
	if (topts.sample_bytes)
		collect__sites(st, tr, sym, 10);
	if (tg.child && info.exited)
		info.exit_code = WIFEXITED(tg.status) ? WEXITSTATUS(tg.status) : 128 + WTERMSIG(tg.status);
	{
		struct fs_view view = { &info, plan, &st->snap, st, (double)(now_ns() - t0) / 1e9, topts.max_live };

		FILE *out = outfile ? fopen(outfile, "we") : (json || !tg.child ? stdout : stderr);

		if (!out) {
			fs_err("open %s: %s", outfile, strerror(errno));
			goto cleanup;
		}
		/* Like perf stat, text goes to stderr when a command shares our stdout. */
		if (json)
			render__stat_json(out, &view);
		else
			render__stat_text(out, &view);
		if (outfile)
			fclose(out);
	}
	ret = info.exit_code >= 0 ? info.exit_code : EXIT_OK;
cleanup:
	tracer__free(tr);
	if (tg.child && tg.gate >= 0)	/* never released: it must not run untraced */
		target__abort(&tg);
	target__close(&tg);
	free(plan);
	if (st)
		collect__free(st);
	free(st);
	symbolizer__free(sym);
	if (sfd >= 0)
		close(sfd);
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	return ret;
}
