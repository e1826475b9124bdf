/* callrec.c - record --trace's ring reader: one thread drains the calls ring every
 * CALLREC_POLL_MS (or when the kernel side says it is half full), encodes, and
 * queues compressed chunks for the command's thread to write. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "util/log.h"
#include "out/session.h"
#include "out/trace_file.h"
#include "trace/callrec.h"
#include "trace/tracer.h"

struct chunk {
	void *blob;
	size_t len, raw;
	uint32_t n;
};

struct thr {
	uint32_t tid;
	int used;
	uint64_t calls, lost;
};

struct callrec {
	struct tracer *tr;
	struct ring_buffer *rb;
	struct trace_enc *enc;
	pthread_t th;
	int running, stopped;
	volatile int stop;
	pthread_mutex_t mu;	/* guards the queue and the counts below */
	struct chunk *q;
	long nq, capq;
	long written;		/* chunks already in the session */
	uint64_t calls, bytes, raw;
	int enc_err;		/* an encoding or compression failure: the trace is incomplete */
	struct thr *thr;	/* open addressing by tid */
	uint32_t nthr, capthr;
	uint64_t lost_seen;
};

static struct thr *thr_of(struct callrec *c, uint32_t tid)
{
	uint32_t i;

	if ((c->nthr + 1) * 2 > c->capthr) {
		uint32_t nc = c->capthr ? c->capthr * 2 : 256;
		struct thr *nt = calloc(nc, sizeof(*nt));

		if (!nt)
			return NULL;
		for (uint32_t k = 0; k < c->capthr; k++) {
			if (!c->thr[k].used)
				continue;
			for (i = c->thr[k].tid * 2654435761u % nc; nt[i].used; i = (i + 1) % nc)
				;
			nt[i] = c->thr[k];
		}
		free(c->thr);
		c->thr = nt;
		c->capthr = nc;
	}
	for (i = tid * 2654435761u % c->capthr; c->thr[i].used; i = (i + 1) % c->capthr)
		if (c->thr[i].tid == tid)
			return &c->thr[i];
	c->thr[i].used = 1;
	c->thr[i].tid = tid;
	c->nthr++;
	return &c->thr[i];
}

/* Finishes the chunk being built and queues it (the reader thread, or stop). */
static void seal(struct callrec *c)
{
	struct chunk ch = { 0 };
	int r;

	if (!trace_enc__count(c->enc))
		return;
	ch.n = trace_enc__count(c->enc);
	r = trace_enc__finish(c->enc, &ch.blob, &ch.len, &ch.raw);
	pthread_mutex_lock(&c->mu);
	if (r) {
		c->enc_err = r;
	} else if (c->nq >= c->capq) {
		long nc = c->capq ? c->capq * 2 : 16;
		struct chunk *nq = realloc(c->q, (size_t)nc * sizeof(*nq));

		if (nq) {
			c->q = nq;
			c->capq = nc;
		}
	}
	if (!r && c->nq < c->capq) {
		c->q[c->nq++] = ch;
		c->bytes += ch.len;
		c->raw += ch.raw;
	} else if (!r) {
		free(ch.blob);
		c->enc_err = -ENOMEM;
	}
	pthread_mutex_unlock(&c->mu);
}

static int on_call(void *ctx, void *data, size_t size)
{
	struct callrec *c = ctx;
	const struct fs_call_event *e = data;
	struct thr *t;
	int r;

	if (size < sizeof(*e))
		return 0;
	r = trace_enc__add(c->enc, e);
	if (r < 0) {
		c->enc_err = r;
		return 0;
	}
	pthread_mutex_lock(&c->mu);
	c->calls++;
	t = thr_of(c, e->tid);
	if (t)
		t->calls++;
	pthread_mutex_unlock(&c->mu);
	if (r == 1)
		seal(c);
	return 0;
}

static void *reader(void *arg)
{
	struct callrec *c = arg;

	while (!c->stop) {
		/* woken early only when the ring is half full; drained on the interval anyway */
		ring_buffer__poll(c->rb, CALLREC_POLL_MS);
		ring_buffer__consume(c->rb);
	}
	return NULL;
}

static void add_lost(void *ctx, uint32_t tid, uint64_t lost)
{
	struct thr *t = thr_of(ctx, tid);

	if (t)
		t->lost = lost;
}

/* The kernel's loss counts, read while its maps exist: the tracer may go after. */
static void take_lost(struct callrec *c)
{
	if (!c->tr)
		return;
	pthread_mutex_lock(&c->mu);
	c->lost_seen = tracer__calls_lost(c->tr, add_lost, c);
	pthread_mutex_unlock(&c->mu);
	c->tr = NULL;
}

struct callrec *callrec__start(struct tracer *tr, char *err, size_t errlen)
{
	struct callrec *c = calloc(1, sizeof(*c));
	int fd = tracer__calls_fd(tr), r;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&c->mu, NULL);
	c->tr = tr;
	c->enc = trace_enc__new(0);
	if (!c->enc || fd < 0) {
		snprintf(err, errlen, "call trace: %s", fd < 0 ? "no calls ring" : "out of memory");
		goto fail;
	}
	c->rb = ring_buffer__new(fd, on_call, c, NULL);
	if (!c->rb) {
		snprintf(err, errlen, "calls ring buffer: %s", strerror(errno));
		goto fail;
	}
	r = pthread_create(&c->th, NULL, reader, c);
	if (r) {
		snprintf(err, errlen, "call trace reader thread: %s", strerror(r));
		goto fail;
	}
	c->running = 1;
	return c;
fail:
	callrec__free(c);
	return NULL;
}

void callrec__stop(struct callrec *c)
{
	if (!c || c->stopped)
		return;
	c->stopped = 1;
	if (c->running) {
		c->stop = 1;
		pthread_join(c->th, NULL);
		c->running = 0;
	}
	if (c->rb)
		ring_buffer__consume(c->rb);
	seal(c);
	take_lost(c);
}

int callrec__flush(struct callrec *c, struct session *s, int final)
{
	struct chunk *q;
	long n;
	int r = 0;

	if (!c)
		return 0;
	if (!c->written && session__trace_begin(s))
		return -EIO;
	pthread_mutex_lock(&c->mu);
	q = c->q;
	n = c->nq;
	c->q = NULL;
	c->nq = c->capq = 0;
	pthread_mutex_unlock(&c->mu);
	for (long i = 0; i < n; i++) {
		if (!r && session__trace_chunk(s, c->written + 1, q[i].n, q[i].raw, q[i].blob, q[i].len))
			r = -EIO;
		else if (!r)
			c->written++;
		free(q[i].blob);
	}
	free(q);
	if (r || !final)
		return r;
	take_lost(c);
	pthread_mutex_lock(&c->mu);
	for (uint32_t i = 0; !r && i < c->capthr; i++)
		if (c->thr[i].used && session__trace_thread(s, c->thr[i].tid, c->thr[i].calls, c->thr[i].lost))
			r = -EIO;
	pthread_mutex_unlock(&c->mu);
	if (!r) {
		char buf[64];

		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)c->lost_seen);
		r = session__set_meta(s, "trace_lost", buf);
		snprintf(buf, sizeof(buf), "%d", TRACE_FORMAT);
		r = r ?: session__set_meta(s, "trace_format", buf);
		r = r ?: session__set_meta(s, "trace_state", c->enc_err ? "incomplete" : c->lost_seen ? "lossy" : "complete");
	}
	return r;
}

void callrec__counts(const struct callrec *c, uint64_t *calls, uint64_t *lost, uint64_t *bytes)
{
	struct callrec *m = (struct callrec *)c;

	*calls = *lost = *bytes = 0;
	if (!c)
		return;
	pthread_mutex_lock(&m->mu);
	*calls = c->calls;
	*bytes = c->bytes;
	pthread_mutex_unlock(&m->mu);
	*lost = c->tr ? tracer__calls_lost(c->tr, NULL, NULL) : c->lost_seen;
}

void callrec__free(struct callrec *c)
{
	if (!c)
		return;
	callrec__stop(c);
	ring_buffer__free(c->rb);
	trace_enc__free(c->enc);
	for (long i = 0; i < c->nq; i++)
		free(c->q[i].blob);
	free(c->q);
	free(c->thr);
	pthread_mutex_destroy(&c->mu);
	free(c);
}
