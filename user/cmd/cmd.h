/* fragscope.h - command entry points and what they share. */
#ifndef FRAGSCOPE_MAIN_H
#define FRAGSCOPE_MAIN_H

#include "util/common.h"	/* the version, the exit codes */

int cmd_stat(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_replay(int argc, char **argv);

#endif
