/* fmt.h - numbers and byte sizes as users read them, for every output format.
 * Bottom layer: includes nothing of fragscope. */
#ifndef FS_FMT_H
#define FS_FMT_H

#include <stddef.h>
#include <stdint.h>

/* 1234567 -> "1,234,567" */
const char *fmt__num(uint64_t v, char *buf, size_t len);
/* 1536 -> "1.5 KiB" */
const char *fmt__bytes(uint64_t v, char *buf, size_t len);

#endif
