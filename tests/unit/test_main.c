/* test_main.c - runs the registered unit tests: `run_unit [substring...]` runs
 * those whose name contains one of the substrings, all of them without arguments. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include "test.h"

#define MAX_TESTS 256

struct unit_test {
	const char *name;
	unit_fn fn;
	const char *file;
	int line;
};

static struct unit_test tests[MAX_TESTS];
static int ntests;
static int cur_fails;	/* failed asserts in the running test */

void unit__register(const char *name, unit_fn fn, const char *file, int line)
{
	if (ntests == MAX_TESTS) {
		fprintf(stderr, "unit: more than %d tests: raise MAX_TESTS\n", MAX_TESTS);
		exit(1);
	}
	tests[ntests++] = (struct unit_test){ name, fn, file, line };
}

bool unit__fail(const char *file, int line, const char *what, const char *fmt, ...)
{
	int saved = errno;	/* for %m */
	const char *base = strrchr(file, '/');
	va_list ap;

	cur_fails++;
	printf("  FAIL %s:%d %s: ", base ? base + 1 : file, line, what);
	errno = saved;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	return false;
}

/* Constructors run in no set order: sort for a stable listing. */
static int by_place(const void *a, const void *b)
{
	const struct unit_test *x = a, *y = b;
	int c = strcmp(x->file, y->file);

	return c ? c : x->line - y->line;
}

static bool selected(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return true;
	for (int i = 1; i < argc; i++)
		if (strstr(name, argv[i]))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	qsort(tests, (size_t)ntests, sizeof(tests[0]), by_place);
	for (int i = 0; i < ntests; i++) {
		if (!selected(tests[i].name, argc, argv))
			continue;
		cur_fails = 0;
		tests[i].fn();
		printf("%s %s\n", cur_fails ? "FAIL" : "PASS", tests[i].name);
		if (cur_fails)
			failed++;
		else
			passed++;
	}
	printf("unit: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
