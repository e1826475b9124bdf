/* trace_file.c - the call trace's chunks: column streams of varints (deltas where
 * neighbours are alike: times, a thread's successive addresses), one zstd frame a
 * chunk; every chunk decodes on its own. And the reader of a session's chunks. */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include "out/trace_file.h"

/* The columns, in the order they are stored. */
enum { S_OP, S_TID, S_TS, S_SIZE, S_PTR, S_ARG, S_FUNC, S_AF, S__COUNT };

#define CHUNK_MAGIC "FSC1"
#define HDR_BYTES (4 + 4 + 4 * S__COUNT)
#define OP_ARG 0x40	/* an argument follows in S_ARG */
#define OP_TID 0x80	/* another thread than the previous event's: its id in S_TID */
#define NSLOTS 64	/* threads whose last address is remembered (by tid % NSLOTS) */

struct stream {
	uint8_t *b;
	size_t len, cap;
};

struct slots {
	uint32_t tid[NSLOTS];
	uint64_t prev[NSLOTS];
};

struct trace_enc {
	struct stream s[S__COUNT];
	uint32_t n;
	uint32_t tid;
	uint64_t ts;
	struct slots sl;
	ZSTD_CCtx *cctx;
	int level;
};

static int is_realloc(unsigned op)
{
	return op == FS_K_REALLOC || op == FS_K_REALLOCARRAY;
}

static uint64_t zig(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzig(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static uint64_t *slot_prev(struct slots *sl, uint32_t tid)
{
	uint32_t i = tid % NSLOTS;

	if (sl->tid[i] != tid) {
		sl->tid[i] = tid;
		sl->prev[i] = 0;
	}
	return &sl->prev[i];
}

static int put(struct stream *s, const void *p, size_t n)
{
	if (s->len + n > s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 4096;
		uint8_t *nb;

		while (nc < s->len + n)
			nc *= 2;
		nb = realloc(s->b, nc);
		if (!nb)
			return -ENOMEM;
		s->b = nb;
		s->cap = nc;
	}
	memcpy(s->b + s->len, p, n);
	s->len += n;
	return 0;
}

static int put_u8(struct stream *s, uint8_t v)
{
	return put(s, &v, 1);
}

static int put_var(struct stream *s, uint64_t v)
{
	uint8_t b[10];
	size_t n = 0;

	while (v >= 0x80) {
		b[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b[n++] = (uint8_t)v;
	return put(s, b, n);
}

struct trace_enc *trace_enc__new(int level)
{
	struct trace_enc *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->cctx = ZSTD_createCCtx();
	if (!e->cctx) {
		free(e);
		return NULL;
	}
	e->level = level ? level : ZSTD_CLEVEL_DEFAULT;
	/* a checksum per chunk: damage is found, never decoded into other calls */
	if (ZSTD_isError(ZSTD_CCtx_setParameter(e->cctx, ZSTD_c_compressionLevel, e->level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(e->cctx, ZSTD_c_checksumFlag, 1))) {
		trace_enc__free(e);
		return NULL;
	}
	return e;
}

void trace_enc__free(struct trace_enc *e)
{
	if (!e)
		return;
	for (int i = 0; i < S__COUNT; i++)
		free(e->s[i].b);
	ZSTD_freeCCtx(e->cctx);
	free(e);
}

uint32_t trace_enc__count(const struct trace_enc *e)
{
	return e->n;
}

int trace_enc__add(struct trace_enc *e, const struct fs_call_event *ev)
{
	unsigned op = ev->op;
	int has_arg = ev->arg != 0, r = 0;
	uint64_t *prev;

	if (op > 0x3f || ev->align_lg > 63 || ev->flags > 3)
		return -EINVAL;
	if (!e->n)
		e->tid = ~ev->tid;	/* the first event names its thread */
	r |= put_u8(&e->s[S_OP], (uint8_t)(op | (has_arg ? OP_ARG : 0) | (ev->tid != e->tid ? OP_TID : 0)));
	if (ev->tid != e->tid)
		r |= put_var(&e->s[S_TID], ev->tid);
	e->tid = ev->tid;
	r |= put_var(&e->s[S_TS], zig((int64_t)(ev->ts - e->ts)));	/* ring order can step back a little */
	e->ts = ev->ts;
	if (op != FS_K_FREE)
		r |= put_var(&e->s[S_SIZE], ev->size);
	prev = slot_prev(&e->sl, ev->tid);
	r |= put_var(&e->s[S_PTR], zig((int64_t)(ev->ptr - *prev)));
	if (ev->ptr)
		*prev = ev->ptr;
	if (has_arg)
		r |= put_var(&e->s[S_ARG], is_realloc(op) ? zig((int64_t)(ev->arg - ev->ptr)) : ev->arg);
	r |= put_u8(&e->s[S_FUNC], ev->func);
	r |= put_u8(&e->s[S_AF], (uint8_t)(ev->align_lg | ev->flags << 6));
	if (r)
		return -ENOMEM;
	e->n++;
	return e->n >= TRACE_CHUNK_EVENTS;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int trace_enc__finish(struct trace_enc *e, void **blob, size_t *len, size_t *raw)
{
	size_t total = HDR_BYTES, bound, z;
	uint8_t *src, *p, *dst;

	if (!e->n)
		return -ENODATA;
	for (int i = 0; i < S__COUNT; i++)
		total += e->s[i].len;
	src = malloc(total);
	if (!src)
		return -ENOMEM;
	memcpy(src, CHUNK_MAGIC, 4);
	put_le32(src + 4, e->n);
	p = src + 8;
	for (int i = 0; i < S__COUNT; i++, p += 4)
		put_le32(p, (uint32_t)e->s[i].len);
	for (int i = 0; i < S__COUNT; i++) {
		if (e->s[i].len)
			memcpy(p, e->s[i].b, e->s[i].len);
		p += e->s[i].len;
		e->s[i].len = 0;
	}
	bound = ZSTD_compressBound(total);
	dst = malloc(bound);
	if (!dst) {
		free(src);
		return -ENOMEM;
	}
	z = ZSTD_compress2(e->cctx, dst, bound, src, total);
	free(src);
	if (ZSTD_isError(z)) {
		free(dst);
		return -EIO;
	}
	*blob = dst;
	*len = z;
	*raw = total;
	e->n = 0;
	e->ts = 0;
	memset(&e->sl, 0, sizeof(e->sl));
	return 0;
}

/* ---- decoding ---- */

struct rd {
	const uint8_t *p, *end;
};

static int get_var(struct rd *r, uint64_t *v)
{
	uint64_t x = 0;

	for (int sh = 0; sh < 64; sh += 7) {
		uint8_t b;

		if (r->p >= r->end)
			return -1;
		b = *r->p++;
		x |= (uint64_t)(b & 0x7f) << sh;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -1;	/* longer than 10 bytes */
}

static int get_u8(struct rd *r, uint8_t *v)
{
	if (r->p >= r->end)
		return -1;
	*v = *r->p++;
	return 0;
}

static const char *const stream_names[S__COUNT] = { "operation", "thread", "time", "size", "address",
						    "argument", "function", "alignment" };

int trace_dec__chunk(const void *blob, size_t len, struct fs_call_event **out, uint32_t *n, char *err,
		     size_t errlen)
{
	unsigned long long want = ZSTD_getFrameContentSize(blob, len);
	struct rd s[S__COUNT];
	struct fs_call_event *ev = NULL;
	struct slots sl = { 0 };
	uint8_t *raw = NULL;
	const uint8_t *p;
	uint32_t cnt, tid = 0;
	uint64_t ts = 0, total = HDR_BYTES;
	size_t got;
	int bad = -1;

	*out = NULL;
	*n = 0;
	if (want == ZSTD_CONTENTSIZE_ERROR || want == ZSTD_CONTENTSIZE_UNKNOWN) {
		snprintf(err, errlen, "not a zstd frame of known size (%zu bytes)", len);
		return -1;
	}
	if (want < HDR_BYTES || want > TRACE_CHUNK_MAX_RAW) {
		snprintf(err, errlen, "chunk of %llu bytes decoded: not %s", want,
			 want < HDR_BYTES ? "a chunk (shorter than its header)" : "plausible (at most 64 MiB)");
		return -1;
	}
	raw = malloc(want);
	if (!raw) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	got = ZSTD_decompress(raw, want, blob, len);
	if (ZSTD_isError(got) || got != want) {
		snprintf(err, errlen, "corrupt zstd frame (%s)",
			 ZSTD_isError(got) ? ZSTD_getErrorName(got) : "shorter than it says");
		goto out;
	}
	if (memcmp(raw, CHUNK_MAGIC, 4)) {
		snprintf(err, errlen, "not a trace chunk of this format (magic)");
		goto out;
	}
	cnt = get_le32(raw + 4);
	p = raw + HDR_BYTES;
	for (int i = 0; i < S__COUNT; i++) {
		uint32_t l = get_le32(raw + 8 + 4 * i);

		total += l;
		if (total > want) {
			snprintf(err, errlen, "truncated chunk (its %s column runs past its end)", stream_names[i]);
			goto out;
		}
		s[i].p = p;
		s[i].end = p + l;
		p += l;
	}
	if (total != want) {
		snprintf(err, errlen, "corrupt chunk (%llu bytes after its columns)", (unsigned long long)(want - total));
		goto out;
	}
	if (cnt > TRACE_CHUNK_EVENTS || cnt > s[S_OP].end - s[S_OP].p) {
		snprintf(err, errlen, "corrupt chunk (%u events, %zu operations)", cnt,
			 (size_t)(s[S_OP].end - s[S_OP].p));
		goto out;
	}
	ev = calloc(cnt ? cnt : 1, sizeof(*ev));
	if (!ev) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < cnt; i++) {
		struct fs_call_event *e = &ev[i];
		uint64_t v, *prev;
		uint8_t h, af;
		int col;

		col = S_OP;
		if (get_u8(&s[S_OP], &h))
			goto trunc;
		e->op = h & 0x3f;
		if (h & OP_TID) {
			col = S_TID;
			if (get_var(&s[S_TID], &v) || v > UINT32_MAX)
				goto trunc;
			tid = (uint32_t)v;
		} else if (!i) {
			col = S_TID;
			goto trunc;
		}
		e->tid = tid;
		col = S_TS;
		if (get_var(&s[S_TS], &v))
			goto trunc;
		ts += (uint64_t)unzig(v);
		e->ts = ts;
		col = S_SIZE;
		if (e->op != FS_K_FREE && get_var(&s[S_SIZE], &v))
			goto trunc;
		e->size = e->op != FS_K_FREE ? v : 0;
		col = S_PTR;
		if (get_var(&s[S_PTR], &v))
			goto trunc;
		prev = slot_prev(&sl, tid);
		e->ptr = *prev + (uint64_t)unzig(v);
		if (e->ptr)
			*prev = e->ptr;
		col = S_ARG;
		if (h & OP_ARG) {
			if (get_var(&s[S_ARG], &v))
				goto trunc;
			e->arg = is_realloc(e->op) ? e->ptr + (uint64_t)unzig(v) : v;
		}
		col = S_FUNC;
		if (get_u8(&s[S_FUNC], &e->func))
			goto trunc;
		col = S_AF;
		if (get_u8(&s[S_AF], &af))
			goto trunc;
		e->align_lg = af & 63;
		e->flags = af >> 6;
		continue;
trunc:
		snprintf(err, errlen, "truncated chunk (its %s column ends at event %u of %u)", stream_names[col],
			 i + 1, cnt);
		goto out;
	}
	for (int i = 0; i < S__COUNT; i++)
		if (s[i].p != s[i].end) {
			snprintf(err, errlen, "corrupt chunk (%zu bytes left in its %s column)",
				 (size_t)(s[i].end - s[i].p), stream_names[i]);
			goto out;
		}
	*out = ev;
	*n = cnt;
	ev = NULL;
	bad = 0;
out:
	free(ev);
	free(raw);
	return bad;
}

/* ---- names ---- */

const char *trace__op_name(unsigned op)
{
	static const char *const kinds[FS_K__COUNT] = {
		[FS_K_MALLOC] = "malloc", [FS_K_CALLOC] = "calloc", [FS_K_MEMALIGN] = "memalign",
		[FS_K_POSIX_MEMALIGN] = "posix_memalign", [FS_K_REALLOC] = "realloc",
		[FS_K_REALLOCARRAY] = "reallocarray", [FS_K_XALLOCX] = "xallocx", [FS_K_FREE] = "free",
		[FS_K_TRIM] = "malloc_trim",
	};
	static const char *const sys[FS_S__COUNT] = {
		[FS_S_MMAP] = "mmap", [FS_S_MUNMAP] = "munmap", [FS_S_MREMAP] = "mremap", [FS_S_BRK] = "brk",
		[FS_S_MADVISE] = "madvise", [FS_S_MPROTECT] = "mprotect",
	};

	if (op < FS_K__COUNT)
		return kinds[op];
	if (op >= FS_OP_SYS && op < FS_OP_SYS + FS_S__COUNT)
		return sys[op - FS_OP_SYS];
	return "?";
}

int trace__op_allocates(unsigned op)
{
	return op <= FS_K_REALLOCARRAY;
}

/* ---- a session's chunks ---- */

struct trace_reader {
	sqlite3 *db;
	sqlite3_stmt *q;
	struct fs_call_event *ev;
	long chunk;
};

struct trace_reader *trace_reader__open(const char *path, char *err, size_t errlen)
{
	struct trace_reader *r = calloc(1, sizeof(*r));
	sqlite3_stmt *q = NULL;
	int has = 0;

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open: %s", path, r->db ? sqlite3_errmsg(r->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(r->db, 2000);
	if (sqlite3_prepare_v2(r->db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'trace_chunks'",
			       -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
		has = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	if (!has) {
		snprintf(err, errlen, "%s: no call trace in this session (record it with --trace)", path);
		goto fail;
	}
	if (sqlite3_prepare_v2(r->db, "SELECT seq, data FROM trace_chunks ORDER BY seq", -1, &r->q, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: corrupt session (trace_chunks: %s)", path, sqlite3_errmsg(r->db));
		goto fail;
	}
	return r;
fail:
	trace_reader__free(r);
	return NULL;
}

int trace_reader__next(struct trace_reader *r, const struct fs_call_event **ev, uint32_t *n, char *err,
		       size_t errlen)
{
	char why[256];
	int rc = sqlite3_step(r->q);

	free(r->ev);
	r->ev = NULL;
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW) {
		snprintf(err, errlen, "corrupt session (trace_chunks: %s)", sqlite3_errmsg(r->db));
		return -1;
	}
	r->chunk = (long)sqlite3_column_int64(r->q, 0);
	if (trace_dec__chunk(sqlite3_column_blob(r->q, 1), (size_t)sqlite3_column_bytes(r->q, 1), &r->ev, n, why,
			     sizeof(why))) {
		snprintf(err, errlen, "trace chunk %ld: %s", r->chunk, why);
		return -1;
	}
	*ev = r->ev;
	return 1;
}

void trace_reader__free(struct trace_reader *r)
{
	if (!r)
		return;
	sqlite3_finalize(r->q);
	sqlite3_close(r->db);
	free(r->ev);
	free(r);
}

int trace__before(const char *path, uint64_t **pairs, long *n, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	long cap = 0;
	int rc, r = -1;

	*pairs = NULL;
	*n = 0;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	if (sqlite3_prepare_v2(db, "SELECT addr, chunk FROM trace_before ORDER BY rowid", -1, &q, NULL) != SQLITE_OK) {
		r = 0;	/* no such table: nothing was listed */
		goto out;
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (*n == cap) {
			uint64_t *np = realloc(*pairs, (size_t)(cap = cap ? cap * 2 : 4096) * 2 * sizeof(*np));

			if (!np) {
				snprintf(err, errlen, "out of memory");
				goto out;
			}
			*pairs = np;
		}
		(*pairs)[2 * *n] = (uint64_t)sqlite3_column_int64(q, 0);
		(*pairs)[2 * *n + 1] = (uint64_t)sqlite3_column_int64(q, 1);
		(*n)++;
	}
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "%s: corrupt session (trace_before: %s)", path, sqlite3_errmsg(db));
		goto out;
	}
	r = 0;
out:
	if (r) {
		free(*pairs);
		*pairs = NULL;
		*n = 0;
	}
	sqlite3_finalize(q);
	sqlite3_close(db);
	return r;
}
