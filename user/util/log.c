/* log.c - one-line diagnostics prefixed with the program's name. */
#include <stdarg.h>
#include <stdio.h>
#include "util/log.h"

int fs_verbose;

static void vsay(const char *tag, const char *fmt, va_list ap)
{
	fprintf(stderr, "fragscope: %s", tag);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

#define SAY(tag, cond) do { va_list ap; if (!(cond)) return; va_start(ap, fmt); \
	vsay(tag, fmt, ap); va_end(ap); } while (0)

void fs_err(const char *fmt, ...) { SAY("", 1); }
void fs_warn(const char *fmt, ...) { SAY("warning: ", 1); }
void fs_info(const char *fmt, ...) { SAY("", fs_verbose >= 1); }
void fs_debug(const char *fmt, ...) { SAY("", fs_verbose >= 2); }
