/* test_json.c - the JSON writer's exact output: commas, nesting, indentation,
 * escaping, null strings and non-finite doubles. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include "util/json.h"
#include "test.h"

struct buf {
	char *s;
	size_t n;
	FILE *f;
};

static bool buf_open(struct buf *b, struct json *j, int pretty)
{
	b->s = NULL;
	b->n = 0;
	b->f = open_memstream(&b->s, &b->n);
	if (!ASSERT_OK_PTR(b->f, "open_memstream"))
		return false;
	json__init(j, b->f, pretty);
	return true;
}

/* Closes the stream; b->s holds the text and must be freed. */
static const char *buf_text(struct buf *b)
{
	fclose(b->f);
	b->f = NULL;
	return b->s;
}

TEST(json_compact_nested)
{
	struct json j;
	struct buf b;

	if (!buf_open(&b, &j, 0))
		return;
	json__obj(&j, NULL);
	json__u64(&j, "a", 1);
	json__arr(&j, "list");
	json__u64(&j, NULL, 1);
	json__i64(&j, NULL, -2);
	json__obj(&j, NULL);
	json__bool(&j, "t", 1);
	json__bool(&j, "f", 0);
	json__end_obj(&j);
	json__arr(&j, NULL);
	json__end_arr(&j);
	json__end_arr(&j);
	json__obj(&j, "empty");
	json__end_obj(&j);
	json__u64(&j, "max", UINT64_MAX);
	json__i64(&j, "min", INT64_MIN);
	json__end_obj(&j);
	json__finish(&j);
	ASSERT_STREQ(buf_text(&b),
		     "{\"a\":1,\"list\":[1,-2,{\"t\":true,\"f\":false},[]],\"empty\":{},"
		     "\"max\":18446744073709551615,\"min\":-9223372036854775808}\n",
		     "compact document");
	free(b.s);
}

TEST(json_pretty_nested)
{
	struct json j;
	struct buf b;

	if (!buf_open(&b, &j, 1))
		return;
	json__obj(&j, NULL);
	json__str(&j, "name", "glibc");
	json__arr(&j, "sizes");
	json__u64(&j, NULL, 16);
	json__u64(&j, NULL, 32);
	json__end_arr(&j);
	json__obj(&j, "live");
	json__u64(&j, "count", 3);
	json__end_obj(&j);
	json__arr(&j, "notes");
	json__end_arr(&j);
	json__end_obj(&j);
	json__finish(&j);
	ASSERT_STREQ(buf_text(&b),
		     "{\n"
		     "  \"name\": \"glibc\",\n"
		     "  \"sizes\": [\n"
		     "    16,\n"
		     "    32\n"
		     "  ],\n"
		     "  \"live\": {\n"
		     "    \"count\": 3\n"
		     "  },\n"
		     "  \"notes\": []\n"
		     "}\n",
		     "pretty document");
	free(b.s);
}

TEST(json_escaping)
{
	struct json j;
	struct buf b;

	if (!buf_open(&b, &j, 0))
		return;
	json__obj(&j, NULL);
	json__str(&j, "q\"k", "say \"hi\"");
	json__str(&j, "path", "C:\\dir\\");
	json__str(&j, "lines", "a\nb\tc\rd");
	json__str(&j, "ctl", "\x01\x1f\x7f");
	json__str(&j, "utf8", "caf\xc3\xa9");
	json__str(&j, "empty", "");
	json__str(&j, "none", NULL);
	json__end_obj(&j);
	json__finish(&j);
	ASSERT_STREQ(buf_text(&b),
		     "{\"q\\\"k\":\"say \\\"hi\\\"\",\"path\":\"C:\\\\dir\\\\\","
		     "\"lines\":\"a\\nb\\tc\\u000dd\",\"ctl\":\"\\u0001\\u001f\\u007f\","
		     "\"utf8\":\"caf\xc3\xa9\",\"empty\":\"\",\"none\":null}\n",
		     "escaped strings");
	free(b.s);
}

TEST(json_doubles)
{
	struct json j;
	struct buf b;

	if (!buf_open(&b, &j, 0))
		return;
	json__arr(&j, NULL);
	json__dbl(&j, NULL, 1.5);
	json__dbl(&j, NULL, 0);
	json__dbl(&j, NULL, -0.25);
	json__dbl(&j, NULL, 2.0 / 3.0);
	json__dbl(&j, NULL, 1e21);
	json__dbl(&j, NULL, NAN);
	json__dbl(&j, NULL, INFINITY);
	json__dbl(&j, NULL, -INFINITY);
	json__end_arr(&j);
	json__finish(&j);
	ASSERT_STREQ(buf_text(&b), "[1.5,0,-0.25,0.666667,1e+21,null,null,null]\n", "doubles");
	free(b.s);
}

TEST(json_top_level_scalars)
{
	struct json j;
	struct buf b;

	if (!buf_open(&b, &j, 1))
		return;
	json__str(&j, NULL, "only");
	json__finish(&j);
	ASSERT_STREQ(buf_text(&b), "\"only\"\n", "a bare string document");
	free(b.s);
}
