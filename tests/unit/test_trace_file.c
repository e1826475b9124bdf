/* test_trace_file.c - record --trace's format: calls read back exactly as written
 * (chunk by chunk and through a session), and damaged chunks are refused with one
 * line naming the problem. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "out/session.h"
#include "out/trace_file.h"
#include <zstd.h>
#include "test.h"

/* A varied sequence: threads interleaved, times stepping back, every kind of field. */
static void make_events(struct fs_call_event *ev, int n)
{
	for (int i = 0; i < n; i++) {
		struct fs_call_event *e = &ev[i];

		memset(e, 0, sizeof(*e));
		e->tid = 1000 + (uint32_t)(i % 3) * 7 + (i % 97 == 5 ? 100000 : 0);
		e->ts = 5000000000ull + (uint64_t)i * 1000 - (i % 5 == 4 ? 1500 : 0);
		switch (i % 7) {
		case 0: e->op = FS_K_MALLOC; e->size = (uint64_t)(i % 1024) + 16; break;
		case 1: e->op = FS_K_FREE; break;
		case 2: e->op = FS_K_CALLOC; e->size = 4096; break;
		case 3: e->op = FS_K_REALLOC; e->size = 1ull << 40; e->arg = 0x7f0000001000ull + (uint64_t)i * 48;
			e->flags = i % 2 ? FS_CF_OLD_UNKNOWN : 0; break;
		case 4: e->op = FS_K_POSIX_MEMALIGN; e->size = 100; e->align_lg = 12; break;
		case 5: e->op = FS_OP_SYS + FS_S_MADVISE; e->size = 65536; e->arg = 4; break;
		case 6: e->op = FS_K_MALLOC; e->size = ~0ull; e->flags = FS_CF_FAILED; break;
		}
		e->ptr = e->flags & FS_CF_FAILED ? 0 : 0x7f0000000000ull + (uint64_t)(i * 7919 % 5000) * 16;
		e->func = (uint8_t)(i % 7);
	}
}

static int same(const struct fs_call_event *a, const struct fs_call_event *b)
{
	return a->ts == b->ts && a->ptr == b->ptr && a->size == b->size && a->arg == b->arg && a->tid == b->tid &&
	       a->op == b->op && a->func == b->func && a->align_lg == b->align_lg && a->flags == b->flags;
}

TEST(trace_round_trip)
{
	enum { N = 5000 };
	struct fs_call_event *ev = calloc(N, sizeof(*ev)), *out = NULL;
	struct trace_enc *e = trace_enc__new(0);
	void *blob = NULL;
	size_t len = 0, raw = 0;
	uint32_t n = 0;
	char err[256] = "";
	int bad = 0;

	if (!ASSERT_OK_PTR(ev, "calloc") || !ASSERT_OK_PTR(e, "encoder"))
		goto cleanup;
	make_events(ev, N);
	for (int i = 0; i < N; i++)
		if (!ASSERT_EQ(trace_enc__add(e, &ev[i]), 0, "add"))
			goto cleanup;
	ASSERT_EQ(trace_enc__count(e), N, "count");
	if (!ASSERT_OK(trace_enc__finish(e, &blob, &len, &raw), "finish"))
		goto cleanup;
	ASSERT_EQ(trace_enc__count(e), 0, "a new chunk begins");
	ASSERT_TRUE(len < raw, "compressed");
	if (!ASSERT_OK(trace_dec__chunk(blob, len, &out, &n, err, sizeof(err)), err))
		goto cleanup;
	ASSERT_EQ(n, N, "events decoded");
	for (int i = 0; i < N && i < (int)n; i++)
		if (!same(&ev[i], &out[i]) && !bad++)
			unit__fail(__FILE__, __LINE__, "event decoded as written", "event %d differs", i);
	ASSERT_EQ(bad, 0, "every event");
	ASSERT_EQ(trace_enc__finish(e, &blob, &len, &raw), -ENODATA, "nothing to finish");
	{
		struct fs_call_event x = ev[0];

		x.flags = 4;
		ASSERT_EQ(trace_enc__add(e, &x), -EINVAL, "unknown flag refused");
	}
cleanup:
	free(out);
	free(blob);
	free(ev);
	trace_enc__free(e);
}

TEST(trace_chunk_full)
{
	struct fs_call_event ev = { .ts = 1, .ptr = 0x1000, .size = 8, .tid = 1, .op = FS_K_MALLOC };
	struct trace_enc *e = trace_enc__new(1);
	int r = 0;

	if (!ASSERT_OK_PTR(e, "encoder"))
		return;
	for (int i = 0; i < TRACE_CHUNK_EVENTS && r == 0; i++)
		r = trace_enc__add(e, &ev);
	ASSERT_EQ(r, 1, "full at TRACE_CHUNK_EVENTS");
	ASSERT_EQ(trace_enc__count(e), TRACE_CHUNK_EVENTS, "count");
	trace_enc__free(e);
}

static int one_line(const char *s)
{
	return *s && !strchr(s, '\n');
}

TEST(trace_bad_chunks)
{
	enum { N = 300 };
	struct fs_call_event ev[N], *out = NULL;
	struct trace_enc *e = trace_enc__new(0);
	void *blob = NULL;
	unsigned char *bad = NULL;
	size_t len = 0, raw = 0;
	uint32_t n = 0;
	char err[256];

	if (!ASSERT_OK_PTR(e, "encoder"))
		return;
	make_events(ev, N);
	for (int i = 0; i < N; i++)
		trace_enc__add(e, &ev[i]);
	if (!ASSERT_OK(trace_enc__finish(e, &blob, &len, &raw), "finish"))
		goto cleanup;
	bad = malloc(len);
	if (!ASSERT_OK_PTR(bad, "malloc"))
		goto cleanup;
	/* truncated: the frame ends early */
	err[0] = 0;
	ASSERT_EQ(trace_dec__chunk(blob, len - 7, &out, &n, err, sizeof(err)), -1, "truncated frame");
	ASSERT_TRUE(one_line(err), "one line");
	ASSERT_HAS_STR(err, "corrupt zstd frame", "truncated frame named");
	ASSERT_EQ(out, NULL, "nothing returned");
	/* not zstd at all */
	memset(bad, 'x', len);
	err[0] = 0;
	ASSERT_EQ(trace_dec__chunk(bad, len, &out, &n, err, sizeof(err)), -1, "garbage");
	ASSERT_HAS_STR(err, "not a zstd frame", "garbage named");
	ASSERT_EQ(trace_dec__chunk(bad, 0, &out, &n, err, sizeof(err)), -1, "empty");
	/* every single-byte corruption is refused in one line, or (a frame header field
	 * that does not change the content: the checksum covers the content) decodes to
	 * exactly the calls written: never to other calls */
	for (size_t i = 0; i < len; i++) {
		int r;

		memcpy(bad, blob, len);
		bad[i] ^= 0x5a;
		err[0] = 0;
		r = trace_dec__chunk(bad, len, &out, &n, err, sizeof(err));
		if (r && !ASSERT_TRUE(one_line(err), "one line"))
			break;
		if (!r) {
			int diff = n != N;

			for (uint32_t k = 0; !diff && k < n; k++)
				diff = !same(&out[k], &ev[k]);
			if (!ASSERT_FALSE(diff, "a corrupt chunk decoded into other calls"))
				break;
		}
		free(out);
		out = NULL;
	}
	/* a well-formed frame of a chunk whose columns are cut short */
	{
		size_t raw2 = 0;
		void *b2 = NULL;
		struct fs_call_event x = ev[0];

		trace_enc__add(e, &x);
		trace_enc__add(e, &x);
		if (ASSERT_OK(trace_enc__finish(e, &b2, &len, &raw2), "finish")) {
			/* decompress, cut the time column's length by one, recompress */
			unsigned char raw_buf[512];
			size_t got = ZSTD_decompress(raw_buf, sizeof(raw_buf), b2, len);
			unsigned char z[1024];
			size_t zl;

			if (ASSERT_FALSE(ZSTD_isError(got), "decompress")) {
				raw_buf[8 + 4 * 2] -= 1;	/* S_TS's length */
				raw_buf[8 + 4 * 3] += 1;	/* the byte goes to S_SIZE */
				zl = ZSTD_compress(z, sizeof(z), raw_buf, got, 1);
				err[0] = 0;
				ASSERT_EQ(trace_dec__chunk(z, zl, &out, &n, err, sizeof(err)), -1, "cut column");
				ASSERT_HAS_STR(err, "truncated chunk (its time column ends at event 2 of 2)", err);
			}
		}
		free(b2);
	}
cleanup:
	free(out);
	free(bad);
	free(blob);
	trace_enc__free(e);
}

TEST(trace_in_session)
{
	char dir[] = "/tmp/fs-unit-trace.XXXXXX", path[256], err[512] = "";
	struct fs_call_event ev[2000];
	const struct fs_call_event *got;
	struct trace_reader *r = NULL;
	struct session *s = NULL;
	struct trace_enc *e = trace_enc__new(0);
	uint32_t n, total = 0;
	int rc, bad = 0, chunks = 0;

	if (!ASSERT_OK_PTR(mkdtemp(dir), "mkdtemp") || !ASSERT_OK_PTR(e, "encoder"))
		goto cleanup;
	snprintf(path, sizeof(path), "%s/t.db", dir);
	s = session__create(path, err, sizeof(err));
	if (!ASSERT_OK_PTR(s, err))
		goto cleanup;
	/* no trace table yet: the reader says so */
	session__close(s);
	s = NULL;
	r = trace_reader__open(path, err, sizeof(err));
	ASSERT_EQ(r, NULL, "no trace");
	ASSERT_HAS_STR(err, "no call trace in this session (record it with --trace)", "said");
	unlink(path);
	s = session__create(path, err, sizeof(err));
	if (!ASSERT_OK_PTR(s, err))
		goto cleanup;
	make_events(ev, 2000);
	ASSERT_OK(session__trace_begin(s), "tables");
	for (int c = 0; c < 4; c++) {	/* four chunks of 500 */
		void *blob;
		size_t len, raw;

		for (int i = 0; i < 500; i++)
			trace_enc__add(e, &ev[c * 500 + i]);
		if (!ASSERT_OK(trace_enc__finish(e, &blob, &len, &raw), "finish"))
			goto cleanup;
		ASSERT_OK(session__trace_chunk(s, c + 1, 500, raw, blob, len), "chunk");
		free(blob);
	}
	ASSERT_OK(session__trace_thread(s, 1000, 1500, 0), "thread");
	ASSERT_OK(session__trace_thread(s, 1007, 500, 3), "thread");
	ASSERT_OK(session__finish(s, 0, 1.0), "finish");
	session__close(s);
	s = NULL;
	r = trace_reader__open(path, err, sizeof(err));
	if (!ASSERT_OK_PTR(r, err))
		goto cleanup;
	while ((rc = trace_reader__next(r, &got, &n, err, sizeof(err))) == 1) {
		for (uint32_t i = 0; i < n && total + i < 2000; i++)
			bad += !same(&got[i], &ev[total + i]);
		total += n;
		chunks++;
	}
	ASSERT_EQ(rc, 0, err);
	ASSERT_EQ(chunks, 4, "chunks in order");
	ASSERT_EQ(total, 2000, "every call");
	ASSERT_EQ(bad, 0, "as written");
cleanup:
	trace_reader__free(r);
	session__close(s);
	trace_enc__free(e);
	if (dir[0] && strcmp(dir, "/tmp/fs-unit-trace.XXXXXX")) {
		snprintf(path, sizeof(path), "rm -rf '%s'", dir);
		if (system(path))
			fprintf(stderr, "rm failed\n");
	}
}
