/* fragscope.h - command entry points and what they share. */
#ifndef FRAGSCOPE_MAIN_H
#define FRAGSCOPE_MAIN_H

#define FRAGSCOPE_VERSION "0.1.0"

/* Exit codes: 0 ok, 1 failure, 2 usage. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

int cmd_stat(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_top(int argc, char **argv);
/* Checks common to every tracing command: root, BTF. 0 or prints why and returns -1. */
int check_can_trace(void);

#endif
