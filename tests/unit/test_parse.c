/* test_parse.c - the strict command-line numbers (util/parse.h): every form the
 * commands take, every form they refuse, and the one-line message of a refusal. */
#include <stdint.h>
#include <stdlib.h>
#include "util/parse.h"
#include "test.h"

/* What the parsers print on stderr while fn runs, for exact comparison. */
struct capture {
	FILE *saved;
	char *s;
	size_t n;
};

static void capture_begin(struct capture *c)
{
	c->s = NULL;
	c->n = 0;
	c->saved = stderr;
	stderr = open_memstream(&c->s, &c->n);
	if (!stderr)
		stderr = c->saved;
}

/* The text printed; free it. */
static char *capture_end(struct capture *c)
{
	if (stderr != c->saved) {
		fclose(stderr);
		stderr = c->saved;
	}
	return c->s ? c->s : calloc(1, 1);
}

TEST(parse_decimal_good)
{
	static const struct {
		const char *s;
		double v;
	} good[] = {
		{ "0", 0 }, { "20", 20 }, { "007", 7 }, { "0.5", 0.5 }, { ".5", 0.5 }, { "5.", 5 },
		{ "0.1", 0.1 }, { "10.5", 10.5 }, { "3600000", 3600000 }, { "1000000000", 1e9 },
		{ "99999999999999999999999", 99999999999999999999999.0 },
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		double v = -1;

		ASSERT_EQ(parse__decimal(good[i].s, &v), PARSE_OK, good[i].s);
		/* exactly what strtod made of it before: the value does not move */
		ASSERT_TRUE(v == good[i].v && v == strtod(good[i].s, NULL), good[i].s);
	}
}

TEST(parse_decimal_bad)
{
	static const struct {
		const char *s;
		int err;
	} bad[] = {
		{ "", PARSE_EMPTY },
		{ "nan", PARSE_SYNTAX }, { "NAN", PARSE_SYNTAX }, { "inf", PARSE_SYNTAX },
		{ "infinity", PARSE_SYNTAX }, { "-nan", PARSE_SYNTAX }, { "-inf", PARSE_SYNTAX },
		{ "20abc", PARSE_SYNTAX }, { "abc", PARSE_SYNTAX }, { "20s", PARSE_SYNTAX },
		{ "500ms", PARSE_SYNTAX }, { "2m", PARSE_SYNTAX }, { "1e3", PARSE_SYNTAX },
		{ "1e999", PARSE_SYNTAX }, { "0x10", PARSE_SYNTAX }, { " 5", PARSE_SYNTAX },
		{ "5 ", PARSE_SYNTAX }, { "+5", PARSE_SYNTAX }, { ".", PARSE_SYNTAX }, { "-", PARSE_SYNTAX },
		{ "1.2.3", PARSE_SYNTAX }, { "1,5", PARSE_SYNTAX }, { "--5", PARSE_SYNTAX },
		{ "-5", PARSE_NEGATIVE }, { "-0", PARSE_NEGATIVE }, { "-0.5", PARSE_NEGATIVE },
		{ "-.5", PARSE_NEGATIVE },
	};
	char huge[400];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		double v = 42;

		ASSERT_EQ(parse__decimal(bad[i].s, &v), bad[i].err, bad[i].s);
		ASSERT_TRUE(v == 42, "no value on refusal");
	}
	/* beyond a double: 1 and 330 zeros */
	memset(huge, '0', sizeof(huge));
	huge[0] = '1';
	huge[331] = '\0';
	ASSERT_EQ(parse__decimal(huge, &(double){ 0 }), PARSE_OVERFLOW, "1e330");
}

TEST(parse_uint_good)
{
	static const struct {
		const char *s;
		uint64_t v;
	} good[] = {
		{ "0", 0 }, { "1", 1 }, { "007", 7 }, { "64", 64 }, { "1048576", 1048576 },
		{ "2147483647", 2147483647 }, { "18446744073709551615", UINT64_MAX },
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint64_t v = 42;

		ASSERT_EQ(parse__uint(good[i].s, &v), PARSE_OK, good[i].s);
		ASSERT_EQ(v, good[i].v, good[i].s);
	}
}

TEST(parse_uint_bad)
{
	static const struct {
		const char *s;
		int err;
	} bad[] = {
		{ "", PARSE_EMPTY },
		{ "nan", PARSE_SYNTAX }, { "inf", PARSE_SYNTAX }, { "20abc", PARSE_SYNTAX },
		{ "1.5", PARSE_SYNTAX }, { "5.", PARSE_SYNTAX }, { "1e3", PARSE_SYNTAX },
		{ "0x10", PARSE_SYNTAX }, { " 5", PARSE_SYNTAX }, { "5 ", PARSE_SYNTAX },
		{ "+5", PARSE_SYNTAX }, { "-", PARSE_SYNTAX }, { "64K", PARSE_SYNTAX },
		{ "-1", PARSE_NEGATIVE }, { "-0", PARSE_NEGATIVE }, { "-5", PARSE_NEGATIVE },
		{ "18446744073709551616", PARSE_OVERFLOW }, { "99999999999999999999999", PARSE_OVERFLOW },
		{ "184467440737095516150", PARSE_OVERFLOW },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v = 42;

		ASSERT_EQ(parse__uint(bad[i].s, &v), bad[i].err, bad[i].s);
		ASSERT_EQ(v, 42, "no value on refusal");
	}
}

TEST(parse_strerror_words)
{
	ASSERT_STREQ(parse__strerror(PARSE_EMPTY), "empty", "empty");
	ASSERT_STREQ(parse__strerror(PARSE_SYNTAX), "not a number", "syntax");
	ASSERT_STREQ(parse__strerror(PARSE_NEGATIVE), "negative", "negative");
	ASSERT_STREQ(parse__strerror(PARSE_OVERFLOW), "too large", "overflow");
	ASSERT_STREQ(parse__strerror(PARSE_RANGE), "out of range", "range");
}

/* One call of a reporting parser: its result, and what it printed. */
#define EXPECT_REFUSED(call, msg) do {						\
	struct capture ___c;							\
	char *___t;								\
	capture_begin(&___c);							\
	ASSERT_EQ((call), -1, #call);						\
	___t = capture_end(&___c);						\
	ASSERT_STREQ(___t, "fragscope: " msg "\n", #call);			\
	free(___t);								\
} while (0)

#define EXPECT_TAKEN(call) do {							\
	struct capture ___c;							\
	char *___t;								\
	capture_begin(&___c);							\
	ASSERT_EQ((call), 0, #call);						\
	___t = capture_end(&___c);						\
	ASSERT_STREQ(___t, "", "silent: " #call);				\
	free(___t);								\
} while (0)

TEST(parse_duration)
{
	double d = -1;

	EXPECT_TAKEN(parse__duration("-d", "20", 0, &d));
	ASSERT_TRUE(d == 20, "20");
	EXPECT_TAKEN(parse__duration("-d", "0.1", 0, &d));
	ASSERT_TRUE(d == 0.1, "0.1");
	EXPECT_TAKEN(parse__duration("-d", "1000000000", 0, &d));
	ASSERT_TRUE(d == 1e9, "the longest");
	EXPECT_TAKEN(parse__duration("--idle", "0", 1, &d));
	ASSERT_TRUE(d == 0, "idle 0");

	d = 7;
	EXPECT_REFUSED(parse__duration("-d", "nan", 0, &d),
		       "invalid duration 'nan' for -d: not a number (seconds, > 0, at most 1000000000)");
	EXPECT_REFUSED(parse__duration("-d", "inf", 0, &d),
		       "invalid duration 'inf' for -d: not a number (seconds, > 0, at most 1000000000)");
	EXPECT_REFUSED(parse__duration("-d", "20abc", 0, &d),
		       "invalid duration '20abc' for -d: not a number (seconds, > 0, at most 1000000000)");
	EXPECT_REFUSED(parse__duration("-d", "-5", 0, &d),
		       "invalid duration '-5' for -d: negative (seconds, > 0, at most 1000000000)");
	EXPECT_REFUSED(parse__duration("-d", "", 0, &d),
		       "invalid duration '' for -d: empty (seconds, > 0, at most 1000000000)");
	EXPECT_REFUSED(parse__duration("-d", "0", 0, &d),
		       "invalid duration '0' for -d: out of range (seconds, > 0, at most 1000000000)");
	EXPECT_REFUSED(parse__duration("-d", "1000000000.5", 0, &d),
		       "invalid duration '1000000000.5' for -d: out of range (seconds, > 0, at most 1000000000)");
	EXPECT_REFUSED(parse__duration("--timeout", "99999999999999999999999", 0, &d),
		       "invalid duration '99999999999999999999999' for --timeout: out of range "
		       "(seconds, > 0, at most 1000000000)");
	EXPECT_REFUSED(parse__duration("--idle", "-0", 1, &d),
		       "invalid duration '-0' for --idle: negative (seconds, 0 to 1000000000)");
	ASSERT_TRUE(d == 7, "untouched by refusals");
}

TEST(parse_interval)
{
	double ms = -1;

	EXPECT_TAKEN(parse__interval("-i", "10", 10, 3600000, &ms));
	ASSERT_TRUE(ms == 10, "the shortest");
	EXPECT_TAKEN(parse__interval("-i", "3600000", 10, 3600000, &ms));
	ASSERT_TRUE(ms == 3600000, "the longest");
	EXPECT_TAKEN(parse__interval("-i", "250.5", 10, PARSE_INTERVAL_MAX_MS, &ms));
	ASSERT_TRUE(ms == 250.5, "a fraction of a millisecond");

	EXPECT_REFUSED(parse__interval("-i", "0", 10, 3600000, &ms),
		       "invalid interval '0' for -i: out of range (milliseconds, 10 to 3600000)");
	EXPECT_REFUSED(parse__interval("-i", "9.99", 10, 3600000, &ms),
		       "invalid interval '9.99' for -i: out of range (milliseconds, 10 to 3600000)");
	EXPECT_REFUSED(parse__interval("-i", "3600001", 10, 3600000, &ms),
		       "invalid interval '3600001' for -i: out of range (milliseconds, 10 to 3600000)");
	EXPECT_REFUSED(parse__interval("-i", "nan", 10, PARSE_INTERVAL_MAX_MS, &ms),
		       "invalid interval 'nan' for -i: not a number (milliseconds, 10 to 86400000)");
	EXPECT_REFUSED(parse__interval("-i", "500ms", 10, PARSE_INTERVAL_MAX_MS, &ms),
		       "invalid interval '500ms' for -i: not a number (milliseconds, 10 to 86400000)");
	EXPECT_REFUSED(parse__interval("-i", "-100", 10, PARSE_INTERVAL_MAX_MS, &ms),
		       "invalid interval '-100' for -i: negative (milliseconds, 10 to 86400000)");
	ASSERT_TRUE(ms == 250.5, "untouched by refusals");
}

TEST(parse_count_and_size)
{
	uint64_t v = 0;

	EXPECT_TAKEN(parse__count("PID", "-p", "1", 1, 0x7fffffff, &v));
	ASSERT_EQ(v, 1, "PID 1");
	EXPECT_TAKEN(parse__count("PID", "-p", "2147483647", 1, 0x7fffffff, &v));
	ASSERT_EQ(v, 0x7fffffff, "the largest PID");
	EXPECT_TAKEN(parse__count("block count", "--max-live", "1073741824", 1, 1u << 30, &v));
	ASSERT_EQ(v, 1u << 30, "2^30");
	EXPECT_TAKEN(parse__size("--sample-bytes", "0", 0, UINT64_MAX, &v));
	ASSERT_EQ(v, 0, "sampling off");
	EXPECT_TAKEN(parse__size("--sample-bytes", "18446744073709551615", 0, UINT64_MAX, &v));
	ASSERT_EQ(v, UINT64_MAX, "2^64-1");

	v = 7;
	EXPECT_REFUSED(parse__count("PID", "-p", "abc", 1, 0x7fffffff, &v),
		       "invalid PID 'abc' for -p: not a number (1 to 2147483647)");
	EXPECT_REFUSED(parse__count("PID", "-p", "0", 1, 0x7fffffff, &v),
		       "invalid PID '0' for -p: out of range (1 to 2147483647)");
	EXPECT_REFUSED(parse__count("PID", "-p", "2147483648", 1, 0x7fffffff, &v),
		       "invalid PID '2147483648' for -p: out of range (1 to 2147483647)");
	EXPECT_REFUSED(parse__count("process count", "--max-procs", "-5", 1, 1024, &v),
		       "invalid process count '-5' for --max-procs: negative (1 to 1024)");
	EXPECT_REFUSED(parse__count("iteration count", "-n", "99999999999999999999999", 1, INT64_MAX, &v),
		       "invalid iteration count '99999999999999999999999' for -n: too large "
		       "(1 to 9223372036854775807)");
	EXPECT_REFUSED(parse__count("iteration count", "-n", "3.5", 1, INT64_MAX, &v),
		       "invalid iteration count '3.5' for -n: not a number (1 to 9223372036854775807)");
	EXPECT_REFUSED(parse__size("--sample-bytes", "64K", 0, UINT64_MAX, &v),
		       "invalid size '64K' for --sample-bytes: not a number (bytes, 0 to 18446744073709551615)");
	EXPECT_REFUSED(parse__size("--sample-bytes", "18446744073709551616", 0, UINT64_MAX, &v),
		       "invalid size '18446744073709551616' for --sample-bytes: too large "
		       "(bytes, 0 to 18446744073709551615)");
	EXPECT_REFUSED(parse__size("--sample-bytes", "", 0, UINT64_MAX, &v),
		       "invalid size '' for --sample-bytes: empty (bytes, 0 to 18446744073709551615)");
	ASSERT_EQ(v, 7, "untouched by refusals");
}

/* /proc/PID/stat fields by proc(5)'s numbers, past a command name with spaces and
 * parentheses */
TEST(parse_proc_stat)
{
	const char *line = "4242 (a b) (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 77 5 0 0 20 0 3 0 123456 "
			   "1000 10 18446744073709551615\n";
	unsigned long long v = 0;

	ASSERT_OK(parse__proc_stat(line, 4, &v), "ppid");
	ASSERT_EQ(v, 1, "ppid");
	ASSERT_OK(parse__proc_stat(line, 14, &v), "utime");
	ASSERT_EQ(v, 77, "utime");
	ASSERT_OK(parse__proc_stat(line, 22, &v), "starttime");
	ASSERT_EQ(v, 123456, "starttime");
	ASSERT_OK(parse__proc_stat(line, 25, &v), "last field, before the newline");
	ASSERT_EQ(v, 18446744073709551615ull, "rsslim");
	ASSERT_TRUE(parse__proc_stat(line, 3, &v) != 0, "state is not a number");
	ASSERT_TRUE(parse__proc_stat(line, 8, &v) != 0, "tty_nr -1 is not unsigned");
	ASSERT_TRUE(parse__proc_stat(line, 26, &v) != 0, "no field 26");
	ASSERT_TRUE(parse__proc_stat("4242 no parenthesis 1 2", 4, &v) != 0, "no command name");
}
