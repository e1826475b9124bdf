/* common.h - what every layer may say: the version and the exit codes. */
#ifndef FS_COMMON_H
#define FS_COMMON_H

#define FRAGSCOPE_VERSION "0.1.0"

/* Exit codes: 0 ok, 1 failure, 2 usage. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

#endif
