/* parse.c - strict numbers from the command line (parse.h): the syntax is checked
 * here character by character, so strtod and strtoull never see what they would
 * stretch ("nan", "1e3", "0x10", " 5", "20abc"). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/common.h"
#include "util/log.h"
#include "util/parse.h"

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Digits with at most one '.', and at least one digit: its length, or 0 if s is not
 * that entirely. */
static size_t decimal_len(const char *s)
{
	size_t i = 0, digits = 0, dots = 0;

	for (; s[i]; i++) {
		if (is_digit(s[i]))
			digits++;
		else if (s[i] == '.' && !dots)
			dots++;
		else
			return 0;
	}
	return digits ? i : 0;
}

static size_t digits_len(const char *s)
{
	size_t i = 0;

	while (is_digit(s[i]))
		i++;
	return i && !s[i] ? i : 0;
}

int parse__decimal(const char *s, double *out)
{
	char *end;
	double v;

	if (!*s)
		return PARSE_EMPTY;
	if (!decimal_len(s))
		return s[0] == '-' && decimal_len(s + 1) ? PARSE_NEGATIVE : PARSE_SYNTAX;
	/* The syntax is a subset of strtod's in the C locale (options are parsed before
	 * anything calls setlocale): the value is exactly what strtod made of it before. */
	errno = 0;
	v = strtod(s, &end);
	if (*end)
		return PARSE_SYNTAX;
	if (errno == ERANGE && isinf(v))
		return PARSE_OVERFLOW;
	*out = v;
	return PARSE_OK;
}

int parse__uint(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return PARSE_EMPTY;
	if (!digits_len(s))
		return s[0] == '-' && digits_len(s + 1) ? PARSE_NEGATIVE : PARSE_SYNTAX;
	for (; *s; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return PARSE_OVERFLOW;
		v = v * 10 + d;
	}
	*out = v;
	return PARSE_OK;
}

const char *parse__strerror(int err)
{
	switch (err) {
	case PARSE_OK: return "ok";
	case PARSE_EMPTY: return "empty";
	case PARSE_SYNTAX: return "not a number";
	case PARSE_NEGATIVE: return "negative";
	case PARSE_OVERFLOW: return "too large";
	case PARSE_RANGE: return "out of range";
	default: return "invalid";
	}
}

void parse__complain(const char *what, const char *opt, const char *arg, int err, const char *range)
{
	fs_err("invalid %s '%s' for %s: %s (%s)", what, arg, opt, parse__strerror(err), range);
}

/* A decimal in [min, max] (min itself refused if min_open): 0, or -1 after saying why. */
static int decimal_in(const char *what, const char *opt, const char *arg, double min, int min_open, double max,
		      const char *range, double *out)
{
	double v = 0;
	int err = parse__decimal(arg, &v);

	if (!err && (v < min || (min_open && v == min) || v > max))
		err = PARSE_RANGE;
	if (err) {
		parse__complain(what, opt, arg, err, range);
		return -1;
	}
	*out = v;
	return 0;
}

static int uint_in(const char *what, const char *opt, const char *arg, uint64_t min, uint64_t max,
		   const char *unit, uint64_t *out)
{
	uint64_t v = 0;
	int err = parse__uint(arg, &v);
	char range[96];

	if (!err && (v < min || v > max))
		err = PARSE_RANGE;
	if (err) {
		snprintf(range, sizeof(range), "%s%llu to %llu", unit, (unsigned long long)min,
			 (unsigned long long)max);
		parse__complain(what, opt, arg, err, range);
		return -1;
	}
	*out = v;
	return 0;
}

int parse__duration(const char *opt, const char *arg, int zero_ok, double *secs)
{
	char range[96];

	snprintf(range, sizeof(range), zero_ok ? "seconds, 0 to %.0f" : "seconds, > 0, at most %.0f",
		 PARSE_SECONDS_MAX);
	return decimal_in("duration", opt, arg, 0, !zero_ok, PARSE_SECONDS_MAX, range, secs);
}

int parse__interval(const char *opt, const char *arg, double min_ms, double max_ms, double *ms)
{
	char range[96];

	snprintf(range, sizeof(range), "milliseconds, %.15g to %.15g", min_ms, max_ms);
	return decimal_in("interval", opt, arg, min_ms, 0, max_ms, range, ms);
}

int parse__size(const char *opt, const char *arg, uint64_t min, uint64_t max, uint64_t *bytes)
{
	return uint_in("size", opt, arg, min, max, "bytes, ", bytes);
}

int parse__count(const char *what, const char *opt, const char *arg, uint64_t min, uint64_t max,
		 uint64_t *out)
{
	return uint_in(what, opt, arg, min, max, "", out);
}

int parse__proc_stat(const char *line, int field, unsigned long long *out)
{
	const char *p = strrchr(line, ')');	/* the end of the command name */
	char *end;

	if (!p || field < 3)
		return -1;
	p++;
	for (int f = 3; f <= field; f++) {	/* each field after one space */
		if (*p != ' ')
			return -1;
		p++;
		if (f < field)
			p += strcspn(p, " ");
	}
	if (*p < '0' || *p > '9')
		return -1;
	errno = 0;
	*out = strtoull(p, &end, 10);
	return errno || (*end && *end != ' ' && *end != '\n') ? -1 : 0;
}

static char *const *opt_argv;

void parse__options_argv(char *const *argv)
{
	opt_argv = argv;
}

int parse__bad_option(const char *cmd, int code)
{
	const char *word = opt_argv && optind > 0 ? opt_argv[optind - 1] : NULL;
	char name[64];

	/* a long option is named as written (up to any '='), a short one alone */
	if (word && word[0] == '-' && word[1] == '-')
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(word, "="), word);
	else if (optopt)
		snprintf(name, sizeof(name), "-%c", optopt);
	else
		snprintf(name, sizeof(name), "%s", word ? word : "?");
	/* '?' with optopt set for a long option: known, but given a value it takes none */
	fprintf(stderr, "fragscope %s: %s '%s'%s (see fragscope %s --help)\n", cmd,
		code == ':' ? "a value is missing after option"
		: optopt && word && word[0] == '-' && word[1] == '-' ? "option" : "unrecognized option",
		name, code != ':' && optopt && word && word[0] == '-' && word[1] == '-' ? " takes no value" : "", cmd);
	return EXIT_USAGE;
}
