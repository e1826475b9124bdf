/* main.c - command dispatch, global options and usage. */
#include <stdio.h>
#include <string.h>
#include "cmd/cmd.h"
#include "util/log.h"

static const char usage[] =
	"usage: fragscope [-v] <command> [options]\n"
	"\n"
	"Explains where a process's memory goes: every allocation and free, counted\n"
	"exactly in the kernel through uprobes on its allocator (glibc malloc or jemalloc).\n"
	"\n"
	"commands:\n"
	"  stat      count allocations of a running PID or a command, print a summary\n"
	"  record    trace like stat and record every snapshot into a session file\n"
	"  report    show a recorded session: text, JSON, CSV, HTML, flame graph, diff\n"
	"  snapshot  what a running heap holds now: glibc's arenas walked from outside\n"
	"  compare   glibc against jemalloc variants of one workload, with a verdict\n"
	"  top       watch running PIDs live: waterfall, rates, history, sites (full screen)\n"
	"\n"
	"  fragscope <command> --help   options of one command\n"
	"  fragscope --version\n";

int main(int argc, char **argv)
{
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--version")) {
			printf("fragscope %s\n", FRAGSCOPE_VERSION);
			return EXIT_OK;
		} else if (argv[i][1] == 'v' && strspn(argv[i] + 1, "v") == strlen(argv[i] + 1)) {
			fs_verbose += (int)strlen(argv[i] + 1);
		} else {
			fs_err("unknown option %s", argv[i]);
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[i], "stat"))
		return cmd_stat(argc - i, argv + i);
	if (!strcmp(argv[i], "record"))
		return cmd_record(argc - i, argv + i);
	if (!strcmp(argv[i], "report"))
		return cmd_report(argc - i, argv + i);
	if (!strcmp(argv[i], "snapshot"))
		return cmd_snapshot(argc - i, argv + i);
	if (!strcmp(argv[i], "compare"))
		return cmd_compare(argc - i, argv + i);
	if (!strcmp(argv[i], "top"))
		return cmd_top(argc - i, argv + i);
	fs_err("unknown command '%s' (see fragscope --help)", argv[i]);
	return EXIT_USAGE;
}
