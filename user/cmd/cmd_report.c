/* cmd_report.c - `fragscope report`: reads a session written by `record` and
 * shows it as text, JSON, CSV, an HTML page with SVG charts, folded stacks or a
 * flame graph, a pprof profile, or two sessions side by side (the formats: out/report_*.c). Needs no
 * root and no libbpf. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd/cmd.h"
#include "out/pprof.h"
#include "out/report.h"
#include "util/log.h"
#include "util/parse.h"

static const char report_usage[] =
	"usage: fragscope report [options] [FILE]\n"
	"       fragscope report --diff A B\n"
	"\n"
	"Shows a session recorded by `fragscope record` (FILE, default fragscope.db). Needs\n"
	"no privileges and no access to the process, which may be long gone: stacks were\n"
	"symbolized while recording. A session whose recorder was killed reports up to its\n"
	"last snapshot, and says so.\n"
	"\n"
	"The text summary gives the totals at the end, the memory waterfall at the peak of\n"
	"resident allocator memory and at the end, the madvise/munmap/brk ledger of what was\n"
	"returned to the OS, the diagnosis, and the top allocation sites by live bytes and\n"
	"by bytes allocated (sampled: estimates).\n"
	"\n"
	"options (one output at a time):\n"
	"  -j, --json            one JSON document: the keys of `fragscope stat --json` as they\n"
	"                        stood at the end (totals, live, lost, functions, memory,\n"
	"                        releases, diagnosis, sites, ...) plus series (one object per\n"
	"                        snapshot), release_events, peak and session (metadata)\n"
	"      --csv SERIES      the time series as CSV on stdout, one row per snapshot;\n"
	"                        SERIES: counters, rates, memory, releases, all, or events\n"
	"                        (one row per release or mapping delta of an interval)\n"
	"      --html OUT.html   one self-contained page (no external resources): SVG charts\n"
	"                        of RssAnon, mapped, resident and live bytes over time with\n"
	"                        the releases marked, of the bytes returned to the OS (on\n"
	"                        their own scale), of the allocation and free rates, the size\n"
	"                        and lifetime histograms, the waterfall, ledger, diagnosis\n"
	"                        and the sites table\n"
	"      --folded[=WHAT]   bytes by stack, one line per site: frames outermost first\n"
	"                        joined by ';', a space, the bytes (flamegraph.pl, speedscope\n"
	"                        and inferno read it). WHAT: live (the default) the bytes\n"
	"                        still live at the end, or alloc the bytes allocated over the\n"
	"                        whole session, freed or not (a workload that frees all it\n"
	"                        allocates has no live bytes). Sampled: estimates\n"
	"      --flamegraph OUT.svg  draws the live bytes by stack as a flame graph (an SVG file)\n"
	"      --pprof OUT.pb.gz a gzipped pprof profile (profile.proto) of the sites: sample\n"
	"                        types alloc_objects, alloc_space, inuse_objects and\n"
	"                        inuse_space (the default), period --sample-bytes; for\n"
	"                        pprof, Pyroscope and Parca. Objects are sample counts\n"
	"                        (exact with --sample-bytes 1); bytes as the sites table's\n"
	"      --diff A B        two sessions side by side, with the difference B - A\n"
	"      --calls           record --trace's calls in order, one line each: sequence,\n"
	"                        time (us from the first), thread, operation, function,\n"
	"                        size, alignment, address, argument (realloc: the old\n"
	"                        block; madvise: the advice), flags\n"
	"  -h, --help            this text\n"
	"\n"
	"Bad input (not a session, truncated, corrupt, written by a newer fragscope, no\n"
	"snapshot) gives one line on stderr naming the problem, and exit status 1.\n"
	"\n"
	"exit status: 0 ok, 1 failure, 2 usage\n";

/* ---- the command ---- */

static FILE *open_out(const char *path)
{
	FILE *f = fopen(path, "we");

	if (!f)
		fs_err("create %s: %s", path, strerror(errno));
	return f;
}

static int close_out(FILE *f, const char *path)
{
	int bad = ferror(f);

	if (fclose(f) || bad) {
		fs_err("write %s: %s", path, strerror(errno ? errno : EIO));
		return -1;
	}
	return 0;
}

int cmd_report(int argc, char **argv)
{
	enum { M_TEXT, M_JSON, M_CSV, M_HTML, M_FOLDED, M_FLAME, M_DIFF, M_CALLS, M_PPROF };
	static const struct option longopts[] = {
		{ "json", no_argument, 0, 'j' },
		{ "csv", required_argument, 0, 'C' },
		{ "html", required_argument, 0, 'H' },
		{ "folded", optional_argument, 0, 'F' },
		{ "flamegraph", required_argument, 0, 'G' },
		{ "diff", no_argument, 0, 'D' },
		{ "calls", no_argument, 0, 'K' },
		{ "pprof", required_argument, 0, 'P' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	struct session_data *d = NULL, *d2 = NULL;
	const char *arg = NULL, *path = "fragscope.db";
	char err[4096 + 512];
	int mode = M_TEXT, modes = 0, opt, ret = EXIT_FAIL, folded_alloc = 0;
	FILE *out = NULL;

	optind = 0;
	while ((opt = getopt_long(argc, argv, ":jvh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'j': mode = M_JSON; modes++; break;
		case 'C': mode = M_CSV; arg = optarg; modes++; break;
		case 'H': mode = M_HTML; arg = optarg; modes++; break;
		case 'F':
			mode = M_FOLDED;
			modes++;
			if (optarg && strcmp(optarg, "live") && strcmp(optarg, "alloc")) {
				fs_err("unknown --folded=%s (live or alloc)", optarg);
				return EXIT_USAGE;
			}
			folded_alloc = optarg && !strcmp(optarg, "alloc");
			break;
		case 'G': mode = M_FLAME; arg = optarg; modes++; break;
		case 'D': mode = M_DIFF; modes++; break;
		case 'K': mode = M_CALLS; modes++; break;
		case 'P': mode = M_PPROF; arg = optarg; modes++; break;
		case 'v': fs_verbose++; break;
		case 'h':
			fputs(report_usage, stdout);
			return EXIT_OK;
		default:
			return parse__bad_option("report", opt);
		}
	}
	if (modes > 1) {
		fs_err("give one of --json, --csv, --html, --folded, --flamegraph, --pprof, --diff, --calls (see fragscope report --help)");
		return EXIT_USAGE;
	}
	if (mode == M_DIFF ? argc - optind != 2 : argc - optind > 1) {
		fs_err(mode == M_DIFF ? "--diff takes two session files (see fragscope report --help)"
				      : "one session file at most (see fragscope report --help)");
		return EXIT_USAGE;
	}
	if (mode == M_CSV && strcmp(arg, "events") && strcmp(arg, "counters") && strcmp(arg, "rates") &&
	    strcmp(arg, "memory") && strcmp(arg, "releases") && strcmp(arg, "all")) {
		fs_err("unknown series '%s' (counters, rates, memory, releases, all, events)", arg);
		return EXIT_USAGE;
	}
	if (optind < argc)
		path = argv[optind];
	d = session__load(path, err, sizeof(err));
	if (!d) {
		fs_err("%s", err);
		return EXIT_FAIL;
	}
	if (mode == M_DIFF) {
		d2 = session__load(argv[optind + 1], err, sizeof(err));
		if (!d2) {
			fs_err("%s", err);
			goto cleanup;
		}
	}
	switch (mode) {
	case M_TEXT: report__text(stdout, d); break;
	case M_JSON: report__json(stdout, d); break;
	case M_CSV: report__csv(stdout, d, arg); break;
	case M_FOLDED:
		if (!report__folded(stdout, d, folded_alloc))	/* say why stdout is empty, on stderr */
			fs_warn("no %s at any sampled site%s", folded_alloc ? "bytes allocated" : "live bytes",
				folded_alloc ? "" : " (--folded=alloc: the bytes each stack allocated, freed or not)");
		break;
	case M_DIFF: report__diff(stdout, d, d2); break;
	case M_CALLS:
		if (report__calls(stdout, d, err, sizeof(err))) {
			fs_err("%s", err);
			goto cleanup;
		}
		break;
	case M_PPROF:
		if (pprof__write_session(arg, d, err, sizeof(err))) {
			fs_err("%s", err);
			goto cleanup;
		}
		if (!d->nsites)
			fs_warn("%s: the session has no allocation sites (--sample-bytes 0, light mode, or no deep "
				"snapshot): the profile has no samples", arg);
		break;
	case M_HTML:
	case M_FLAME:
		out = open_out(arg);
		if (!out)
			goto cleanup;
		if (mode == M_HTML ? report__html(out, d, FRAGSCOPE_VERSION) : report__flamegraph(out, d)) {
			fs_err("%s: out of memory", arg);
			fclose(out);
			goto cleanup;
		}
		if (close_out(out, arg))
			goto cleanup;
		break;
	}
	if (fflush(stdout)) {
		fs_err("write: %s", strerror(errno));
		goto cleanup;
	}
	ret = EXIT_OK;
cleanup:
	session__data_free(d);
	session__data_free(d2);
	return ret;
}
