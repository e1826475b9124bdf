/* main.c - command dispatch, global options and usage. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "cmd/cmd.h"
#include "util/log.h"
#include "util/parse.h"

/* The commands, in the order the usage lists them; exact names, no prefixes. */
static const struct fs_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;	/* one line of the usage text */
} commands[] = {
	{ "stat", cmd_stat, "count allocations of a running PID or a command, print a summary" },
	{ "record", cmd_record, "trace like stat and record every snapshot into a session file" },
	{ "report", cmd_report, "show a recorded session: text, JSON, CSV, HTML, flame graph, diff" },
	{ "snapshot", cmd_snapshot, "what a running heap holds now, without probes (--all: every process)" },
	{ "compare", cmd_compare, "one workload under glibc, jemalloc (and tcmalloc, mimalloc) variants: a verdict" },
	{ "replay", cmd_replay, "replay a traced session's calls under compare's variants (record --trace)" },
	{ "top", cmd_top, "watch PIDs or cgroups live: full screen, --batch lines, or --prometheus" },
};

static void usage(FILE *f)
{
	fputs("usage: fragscope [-v] <command> [options]\n"
	      "\n"
	      "Explains where a process's memory goes: every allocation and free, counted\n"
	      "exactly in the kernel through uprobes on its allocator (glibc malloc, jemalloc,\n"
	      "tcmalloc, mimalloc), and what the allocator holds free, maps, keeps resident and\n"
	      "gives back. For a service that cannot be slowed: --mode light (no allocator\n"
	      "probes) or --mode sampled (one block in ~512 KiB) in stat, top and record.\n"
	      "\n"
	      "commands:\n", f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s  %s\n", commands[i].name, commands[i].summary);
	fputs("\n"
	      "  fragscope <command> --help   options of one command\n"
	      "  fragscope --version\n", f);
}

int main(int argc, char **argv)
{
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--version")) {
			printf("fragscope %s\n", FRAGSCOPE_VERSION);
			return EXIT_OK;
		} else if (argv[i][1] == 'v' && strspn(argv[i] + 1, "v") == strlen(argv[i] + 1)) {
			fs_verbose += (int)strlen(argv[i] + 1);
		} else {
			fs_err("unknown option %s", argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
		if (!strcmp(argv[i], commands[c].name)) {
			static char name[32];

			/* getopt names argv[0] in its errors: "fragscope stat: unrecognized option" */
			snprintf(name, sizeof(name), "fragscope %s", commands[c].name);
			argv[i] = name;
			opterr = 0;	/* each command says a bad option in one line (parse__bad_option) */
			parse__options_argv(argv + i);
			return commands[c].run(argc - i, argv + i);
		}
	fs_err("unknown command '%s' (see fragscope --help)", argv[i]);
	return EXIT_USAGE;
}
