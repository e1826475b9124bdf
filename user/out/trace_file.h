/* trace_file.h - the call trace of `record --trace` (issue 15): events encoded in
 * columns (operation, thread, time, size, address, argument, function, alignment
 * and flags), each chunk one zstd frame, stored in the session (trace_chunks) so a
 * session stays one file. Pure: encoder and decoder are unit-tested without root. */
#ifndef FS_TRACE_FILE_H
#define FS_TRACE_FILE_H

#include <stddef.h>
#include <stdint.h>
#include "bpf/fragscope.h"	/* struct fs_call_event */

#define TRACE_FORMAT 1			/* meta trace_format */
#define TRACE_CHUNK_EVENTS 65536	/* events per chunk at most */
#define TRACE_CHUNK_MAX_RAW (64u << 20)	/* a chunk decoded never exceeds this */

/* ---- encoding ---- */

struct trace_enc;

/* level: zstd's compression level (0: its default). NULL when out of memory. */
struct trace_enc *trace_enc__new(int level);
void trace_enc__free(struct trace_enc *e);
/* Adds one event to the chunk being built; 1 when the chunk is full (to be
 * finished before the next add), 0 otherwise, -ENOMEM. */
int trace_enc__add(struct trace_enc *e, const struct fs_call_event *ev);
uint32_t trace_enc__count(const struct trace_enc *e);
/* Compresses the chunk built so far into *blob (malloc'd, *len bytes) and starts a
 * new one. *raw: its size before compression. 0, or -errno (-ENODATA: empty). */
int trace_enc__finish(struct trace_enc *e, void **blob, size_t *len, size_t *raw);

/* ---- decoding ---- */

/* Decodes one chunk: *out (malloc'd) gets *n events. 0, or -1 with one line in
 * err naming what is wrong (corrupt frame, truncated stream, count mismatch). */
int trace_dec__chunk(const void *blob, size_t len, struct fs_call_event **out, uint32_t *n, char *err,
		     size_t errlen);

/* ---- names ---- */

/* "malloc", "calloc", ..., "free", "madvise", "munmap": what an event's op is
 * (function names are the plan's: see the session's trace_funcs). */
const char *trace__op_name(unsigned op);
/* Whether an event allocates (returns a block), releases one, or both (realloc). */
int trace__op_allocates(unsigned op);

/* ---- reading a session's trace ---- */

struct trace_reader;

/* Opens the trace of a session (path read-only). NULL with one line in err (no
 * trace, unreadable). Chunks come in order. */
struct trace_reader *trace_reader__open(const char *path, char *err, size_t errlen);
/* The next chunk's events (*ev owned by the reader, valid until the next call):
 * 1, 0 at the end, -1 with err set. */
int trace_reader__next(struct trace_reader *r, const struct fs_call_event **ev, uint32_t *n, char *err,
		       size_t errlen);
void trace_reader__free(struct trace_reader *r);
/* The blocks in use before the trace (record --trace -p, glibc): *pairs (malloc'd)
 * gets n pairs of user pointer and chunk size; 0 and n = 0 when none were listed.
 * 0, or -1 with err set. */
int trace__before(const char *path, uint64_t **pairs, long *n, char *err, size_t errlen);

#endif
