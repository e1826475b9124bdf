/* parse.h - strict numbers from the command line: durations, intervals, sizes and
 * counts, one syntax and one error line for every command.
 *
 * A value is plain decimal digits; durations and intervals may have one decimal
 * point ("0.5", ".5", "5."). Nothing else: no sign, space, exponent, hex, nan or inf,
 * no unit or other text after the number. A refusal is one line on stderr naming
 * the option and the value, then the command exits with EXIT_USAGE:
 *   fragscope: invalid duration '20abc' for -d: not a number (seconds, > 0, at most 1000000000)
 * Parse options before starting or attaching anything, so a refusal leaves nothing
 * behind. */
#ifndef FS_PARSE_H
#define FS_PARSE_H

#include <stdint.h>

/* Why a value was refused. */
enum parse_err {
	PARSE_OK,
	PARSE_EMPTY,		/* "" */
	PARSE_SYNTAX,		/* "20abc", "nan", "1e3", " 5": not a number */
	PARSE_NEGATIVE,		/* "-5": a number, negative */
	PARSE_OVERFLOW,		/* beyond what the type holds */
	PARSE_RANGE,		/* a number outside the option's range */
};

/* The syntax alone, no range and no message: PARSE_OK with *out set, or why not.
 * Decimal: digits with at most one '.'; unsigned: digits only, up to 2^64-1. */
int parse__decimal(const char *s, double *out);
int parse__uint(const char *s, uint64_t *out);
/* The reason in words: "not a number", "negative", ... */
const char *parse__strerror(int err);

/* Prints the refusal: "invalid WHAT 'ARG' for OPT: REASON (RANGE)". For callers whose
 * range is not one interval (--sample-bytes: 0, or at least 64). */
void parse__complain(const char *what, const char *opt, const char *arg, int err, const char *range);

/* Field number `field` (1-based, as proc(5) numbers them: 1 pid, 2 comm, 3 state,
 * 14 utime, 22 starttime) of a /proc/PID/stat line, as an unsigned number; the
 * command name may hold spaces and parentheses. 0, or -1 if the line has no such
 * numeric field. */
int parse__proc_stat(const char *line, int field, unsigned long long *out);

/* Option errors in one line (opterr is 0; optstrings start with ':', after any
 * '+'): call parse__options_argv once with the command's argv, then, when getopt
 * returns ':' (a value missing) or '?' (no such option), parse__bad_option(cmd, that
 * code) prints "fragscope CMD: option '--duration' needs a value (see fragscope CMD
 * --help)" or "...: unrecognized option '--foo' ..." and returns EXIT_USAGE. */
void parse__options_argv(char *const *argv);
int parse__bad_option(const char *cmd, int code);

/* Longest duration taken: about 31 years, far beyond any trace, and finite. */
#define PARSE_SECONDS_MAX 1e9
/* Longest sampling interval of stat, record and compare: a day (a poll timeout in
 * milliseconds must fit an int). top keeps its own, an hour. */
#define PARSE_INTERVAL_MAX_MS 86400000

/* Each returns 0 with *out set, or -1 after printing why (above). opt names the
 * option as the user knows it: "-d", "--idle". */

/* A duration in seconds (SECS): > 0, or >= 0 with zero_ok; at most PARSE_SECONDS_MAX. */
int parse__duration(const char *opt, const char *arg, int zero_ok, double *secs);
/* An interval in milliseconds (MS), min_ms to max_ms. */
int parse__interval(const char *opt, const char *arg, double min_ms, double max_ms, double *ms);
/* A size in bytes (N), min to max. No suffixes: no option takes K/M/G today. */
int parse__size(const char *opt, const char *arg, uint64_t min, uint64_t max, uint64_t *bytes);
/* A whole number, min to max; what names it in the message ("PID", "iteration count"). */
int parse__count(const char *what, const char *opt, const char *arg, uint64_t min, uint64_t max,
		 uint64_t *out);

#endif
