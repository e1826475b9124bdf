/* json.h - a streaming JSON writer: one document, commas and escaping handled. */
#ifndef FS_JSON_H
#define FS_JSON_H

#include <stdint.h>
#include <stdio.h>

struct json {
	FILE *f;
	int depth;
	int need_comma[32];
	int pretty;
};

void json__init(struct json *j, FILE *f, int pretty);
void json__obj(struct json *j, const char *key);	/* key NULL inside arrays / at top */
void json__arr(struct json *j, const char *key);
void json__end_obj(struct json *j);
void json__end_arr(struct json *j);
void json__str(struct json *j, const char *key, const char *v);	/* v NULL: null */
void json__u64(struct json *j, const char *key, uint64_t v);
void json__i64(struct json *j, const char *key, int64_t v);
void json__dbl(struct json *j, const char *key, double v);
void json__bool(struct json *j, const char *key, int v);
void json__finish(struct json *j);	/* newline after the document */

#endif
