/* test.h - unit-test asserts in the style of libbpf's test_progs: each ASSERT_*
 * returns true on success, or prints "  FAIL file:line what: details" and marks
 * the running test failed. Tests register themselves; test_main.c runs them. */
#ifndef FS_UNIT_TEST_H
#define FS_UNIT_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#ifndef FIXTURES
#error "FIXTURES must name the directory of the fixture binaries (make fixtures)"
#endif

typedef void (*unit_fn)(void);

void unit__register(const char *name, unit_fn fn, const char *file, int line);
/* Records a failed assertion of the running test; always returns false. */
bool unit__fail(const char *file, int line, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* TEST(name) { ... } defines and registers test "name"; tests run in file order,
 * then line order. Use `if (!ASSERT_...) goto cleanup;` where later steps depend. */
#define TEST(name)								\
	static void test_##name(void);						\
	__attribute__((constructor)) static void register_##name(void)		\
	{									\
		unit__register(#name, test_##name, __FILE__, __LINE__);		\
	}									\
	static void test_##name(void)

#define ASSERT_TRUE(cond, what) ({						\
	bool ___ok = !!(cond);							\
	if (!___ok)								\
		unit__fail(__FILE__, __LINE__, what, "expected true: %s", #cond);\
	___ok;									\
})

#define ASSERT_FALSE(cond, what) ({						\
	bool ___ok = !(cond);							\
	if (!___ok)								\
		unit__fail(__FILE__, __LINE__, what, "expected false: %s", #cond);\
	___ok;									\
})

/* expected is converted to the type of actual, so signedness never differs. */
#define ASSERT_EQ(actual, expected, what) ({					\
	__typeof__(actual) ___act = (actual);					\
	__typeof__(actual) ___exp = (expected);					\
	bool ___ok = ___act == ___exp;						\
	if (!___ok)								\
		unit__fail(__FILE__, __LINE__, what,				\
			   "%s = %lld (0x%llx), expected %lld (0x%llx)", #actual,\
			   (long long)___act, (unsigned long long)___act,	\
			   (long long)___exp, (unsigned long long)___exp);	\
	___ok;									\
})

#define ASSERT_NEQ(actual, expected, what) ({					\
	__typeof__(actual) ___act = (actual);					\
	__typeof__(actual) ___exp = (expected);					\
	bool ___ok = ___act != ___exp;						\
	if (!___ok)								\
		unit__fail(__FILE__, __LINE__, what, "%s = %lld, expected anything else",\
			   #actual, (long long)___act);				\
	___ok;									\
})

/* 0 is success for int functions returning 0 or -errno. */
#define ASSERT_OK(res, what) ({							\
	long long ___res = (res);						\
	bool ___ok = ___res == 0;						\
	if (!___ok)								\
		unit__fail(__FILE__, __LINE__, what, "%s = %lld (%s), expected 0",\
			   #res, ___res, ___res < 0 ? strerror((int)-___res) : "?");\
	___ok;									\
})

#define ASSERT_OK_PTR(ptr, what) ({						\
	const void *___ptr = (ptr);						\
	bool ___ok = ___ptr != NULL;						\
	if (!___ok)								\
		unit__fail(__FILE__, __LINE__, what, "%s is NULL (errno: %m)", #ptr);\
	___ok;									\
})

#define ASSERT_NULL(ptr, what) ({						\
	const void *___ptr = (ptr);						\
	bool ___ok = ___ptr == NULL;						\
	if (!___ok)								\
		unit__fail(__FILE__, __LINE__, what, "%s = %p, expected NULL", #ptr, ___ptr);\
	___ok;									\
})

#define ASSERT_STREQ(actual, expected, what) ({					\
	const char *___act = (actual), *___exp = (expected);			\
	bool ___ok = ___act && ___exp && !strcmp(___act, ___exp);		\
	if (!___ok)								\
		unit__fail(__FILE__, __LINE__, what, "%s = \"%s\", expected \"%s\"",\
			   #actual, ___act ? ___act : "(null)", ___exp ? ___exp : "(null)");\
	___ok;									\
})

/* actual contains needle. */
#define ASSERT_HAS_STR(actual, needle, what) ({					\
	const char *___act = (actual), *___ndl = (needle);			\
	bool ___ok = ___act && strstr(___act, ___ndl);				\
	if (!___ok)								\
		unit__fail(__FILE__, __LINE__, what, "%s = \"%s\", expected it to contain \"%s\"",\
			   #actual, ___act ? ___act : "(null)", ___ndl);	\
	___ok;									\
})

/* actual ends with suffix. */
#define ASSERT_ENDS_WITH(actual, suffix, what) ({				\
	const char *___act = (actual), *___sfx = (suffix);			\
	size_t ___la = ___act ? strlen(___act) : 0, ___ls = strlen(___sfx);	\
	bool ___ok = ___act && ___la >= ___ls && !strcmp(___act + ___la - ___ls, ___sfx);\
	if (!___ok)								\
		unit__fail(__FILE__, __LINE__, what, "%s = \"%s\", expected it to end with \"%s\"",\
			   #actual, ___act ? ___act : "(null)", ___sfx);	\
	___ok;									\
})

#endif
