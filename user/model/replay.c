/* replay.c - from recorded calls to a replay program: threads, block ids, waits. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/replay.h"

/* Live addresses of the trace -> block ids (open addressing, ptr 0 empty, tombstones ~0). */
struct amap {
	uint64_t *key;
	uint32_t *val;
	uint64_t cap, used;
};

#define TOMB (~0ull)

static uint64_t hash(uint64_t k)
{
	return (k >> 4) * 0x9E3779B97F4A7C15ull;
}

static int amap_grow(struct amap *m)
{
	struct amap n = { .cap = m->cap ? m->cap * 2 : 4096 };

	n.key = calloc(n.cap, sizeof(*n.key));
	n.val = calloc(n.cap, sizeof(*n.val));
	if (!n.key || !n.val) {
		free(n.key);
		free(n.val);
		return -ENOMEM;
	}
	for (uint64_t i = 0; i < m->cap; i++) {
		uint64_t j;

		if (!m->key[i] || m->key[i] == TOMB)
			continue;
		for (j = hash(m->key[i]) & (n.cap - 1); n.key[j]; j = (j + 1) & (n.cap - 1))
			;
		n.key[j] = m->key[i];
		n.val[j] = m->val[i];
		n.used++;
	}
	free(m->key);
	free(m->val);
	*m = n;
	return 0;
}

/* The slot of k, or (insert) where it goes. */
static uint64_t amap_find(const struct amap *m, uint64_t k, int *found)
{
	uint64_t j = hash(k) & (m->cap - 1), tomb = ~0ull;

	for (; m->key[j]; j = (j + 1) & (m->cap - 1)) {
		if (m->key[j] == k) {
			*found = 1;
			return j;
		}
		if (m->key[j] == TOMB && tomb == ~0ull)
			tomb = j;
	}
	*found = 0;
	return tomb != ~0ull ? tomb : j;
}

static uint32_t amap_take(struct amap *m, uint64_t k)
{
	int found;
	uint64_t j;

	if (!m->cap || !k)
		return 0;
	j = amap_find(m, k, &found);
	if (!found)
		return 0;
	m->key[j] = TOMB;
	return m->val[j];
}

/* 1 if k was live already (its value replaced), 0, -ENOMEM. */
static int amap_put(struct amap *m, uint64_t k, uint32_t v)
{
	int found;
	uint64_t j;

	if ((m->used + 1) * 2 > m->cap && amap_grow(m))
		return -ENOMEM;
	j = amap_find(m, k, &found);
	if (!found) {
		if (!m->key[j])
			m->used++;
		m->key[j] = k;
	}
	m->val[j] = v;
	return found;
}

static void amap_free(struct amap *m)
{
	free(m->key);
	free(m->val);
}

void rp__free(struct rp_plan *p)
{
	if (!p)
		return;
	free(p->th);
	free(p->ops);
	memset(p, 0, sizeof(*p));
}

static int th_index(struct rp_plan *p, uint32_t tid, uint32_t *cap)
{
	for (uint32_t i = p->nthreads; i-- > 0;)	/* few threads: the newest are likelier */
		if (p->th[i].tid == tid)
			return (int)i;
	if (p->nthreads == *cap) {
		uint32_t nc = *cap ? *cap * 2 : 16;
		struct rp_thread *nt = realloc(p->th, nc * sizeof(*nt));

		if (!nt)
			return -1;
		p->th = nt;
		*cap = nc;
	}
	memset(&p->th[p->nthreads], 0, sizeof(p->th[0]));
	p->th[p->nthreads].tid = tid;
	return (int)p->nthreads++;
}

#define PRE_OWNER (~0u)
#define RP_SCAN_BUDGET (1ull << 28)	/* live-set slots scanned for madvise calls, at most */

int rp__build(const struct fs_call_event *ev, size_t n, const uint64_t *pre, long npre, struct rp_plan *p,
	      char *err, size_t errlen)
{
	struct amap live = { 0 };
	uint32_t cap = 0, *owner = NULL, *tix = NULL;
	uint64_t *bsize = NULL, scanned = 0;
	uint64_t *last_ts = NULL, *fill = NULL, t0 = n ? ev[0].ts : 0, t1 = t0;
	size_t ocap = 1024 + (npre > 0 ? (size_t)npre : 0);
	int r = -1;

	memset(p, 0, sizeof(*p));
	tix = calloc(n ? n : 1, sizeof(*tix));	/* each call's thread index, or ~0: not replayed */
	owner = malloc(ocap * sizeof(*owner));
	bsize = malloc(ocap * sizeof(*bsize));
	if (!tix || !owner || !bsize)
		goto oom;
	p->ops = calloc(n ? n : 1, sizeof(*p->ops));	/* in recorded order first, regrouped below */
	if (!p->ops)
		goto oom;
	for (long k = 0; k < npre; k++) {	/* ids 1..npre: allocated before the threads start */
		uint32_t id = ++p->nblocks;

		owner[id] = PRE_OWNER;
		bsize[id] = pre[2 * k + 1] > 16 ? pre[2 * k + 1] - 16 : 1;
		p->live_count++;
		p->live_bytes += bsize[id];
		if (amap_put(&live, pre[2 * k], id) < 0)
			goto oom;
	}
	p->npre = npre > 0 ? (uint64_t)npre : 0;
	for (size_t i = 0; i < n; i++) {
		const struct fs_call_event *e = &ev[i];
		struct rp_op *o = &p->ops[i];
		int t = th_index(p, e->tid, &cap), re = e->op == FS_K_REALLOC || e->op == FS_K_REALLOCARRAY;
		uint32_t old = 0;

		if (t < 0)
			goto oom;
		tix[i] = ~0u;
		if (e->ts < t0)
			t0 = e->ts;
		if (e->ts > t1)
			t1 = e->ts;
		if (e->op >= FS_OP_SYS) {
			/* madvise(DONTNEED or FREE) inside a live block: the program gives back
			 * pages of its own block; replayed at the same offset. Found by a scan
			 * of the live set, within a budget (such calls are rare). */
			uint32_t b = 0;

			if (e->op == FS_OP_SYS + FS_S_MADVISE && (e->arg == 4 || e->arg == 8) &&
			    scanned + live.cap <= RP_SCAN_BUDGET) {
				scanned += live.cap;
				for (uint64_t j = 0; j < live.cap && !b; j++) {
					uint64_t k = live.key[j];

					if (k && k != TOMB && k <= e->ptr && e->ptr - k < bsize[live.val[j]])
						b = live.val[j];
				}
			}
			if (!b) {
				p->skip.syscalls++;
				continue;
			}
			o->kind = RP_MADVISE;
			o->align_lg = (uint8_t)e->arg;
			o->ref = b;
			for (uint64_t j = 0; j < live.cap; j++)
				if (live.key[j] && live.key[j] != TOMB && live.val[j] == b)
					o->off = e->ptr - live.key[j];
			o->size = e->size < bsize[b] - o->off ? e->size : bsize[b] - o->off;
			if (owner[b] != (uint32_t)t && owner[b] != PRE_OWNER)
				o->flags |= RP_WAIT;
			p->madvised++;
			tix[i] = (uint32_t)t;
			continue;
		}
		if (e->flags & FS_CF_FAILED) {
			p->skip.failed++;
			continue;
		}
		switch (e->op) {
		case FS_K_XALLOCX:
			p->skip.resizes++;
			continue;
		case FS_K_TRIM:
			o->kind = RP_TRIM;
			break;
		case FS_K_FREE:
			old = amap_take(&live, e->ptr);
			if (!old) {
				p->skip.unknown_frees++;
				continue;
			}
			o->kind = RP_FREE;
			break;
		default:
			if (re && e->arg) {
				old = amap_take(&live, e->arg);
				if (!old)
					p->skip.unknown_reallocs++;
			}
			if (re && !e->ptr) {	/* realloc(p, 0) freed p */
				if (!old) {
					p->skip.unknown_frees++;
					continue;
				}
				o->kind = RP_FREE;
				break;
			}
			o->kind = re && old ? RP_REALLOC : e->op == FS_K_CALLOC ? RP_CALLOC
				: e->align_lg ? RP_ALIGNED : RP_MALLOC;
			o->size = e->size;
			o->align_lg = e->align_lg;
			if (p->nblocks + 2 > ocap) {
				uint32_t *no = realloc(owner, ocap * 2 * sizeof(*owner));
				uint64_t *nb = no ? realloc(bsize, ocap * 2 * sizeof(*bsize)) : NULL;

				if (no)
					owner = no;
				if (!nb)
					goto oom;
				bsize = nb;
				ocap *= 2;
			}
			o->id = ++p->nblocks;
			owner[o->id] = (uint32_t)t;
			bsize[o->id] = e->size;
			p->live_count++;
			p->live_bytes += e->size;
			switch (amap_put(&live, e->ptr, o->id)) {
			case 1: p->skip.reused++; break;
			case 0: break;
			default: goto oom;
			}
			break;
		}
		o->old = old;
		if (old) {
			p->live_count--;
			p->live_bytes -= bsize[old];
			p->pre_freed += old <= p->npre;
		}
		if (old && owner[old] != (uint32_t)t && owner[old] != PRE_OWNER)
			o->flags |= RP_WAIT;
		tix[i] = (uint32_t)t;
	}
	/* regroup by thread, in recorded order within each; gaps per thread */
	{
		struct rp_op *ops = NULL;
		uint64_t total = 0;

		last_ts = calloc(p->nthreads ? p->nthreads : 1, sizeof(*last_ts));
		fill = calloc(p->nthreads ? p->nthreads : 1, sizeof(*fill));
		if (!last_ts || !fill)
			goto oom;
		for (size_t i = 0; i < n; i++)
			if (tix[i] != ~0u)
				p->th[tix[i]].n++;
		for (uint32_t t = 0; t < p->nthreads; t++) {
			p->th[t].first = total;
			total += p->th[t].n;
			last_ts[t] = t0;
		}
		ops = calloc(total ? total : 1, sizeof(*ops));
		if (!ops)
			goto oom;
		for (size_t i = 0; i < n; i++) {
			uint32_t t = tix[i];
			struct rp_op *o;

			if (t == ~0u)
				continue;
			o = &ops[p->th[t].first + fill[t]++];
			*o = p->ops[i];
			o->gap_ns = ev[i].ts > last_ts[t] ? ev[i].ts - last_ts[t] : 0;
			o->at_ns = ev[i].ts - t0;
			if (ev[i].ts > last_ts[t])
				last_ts[t] = ev[i].ts;
		}
		free(p->ops);
		p->ops = ops;
		p->nops = total;
	}
	if (p->npre) {	/* the pseudo-thread of what predates the trace, last */
		struct rp_op *ops = realloc(p->ops, (p->nops + p->npre) * sizeof(*ops));
		struct rp_thread *th = realloc(p->th, (p->nthreads + 1) * sizeof(*th));

		if (ops)
			p->ops = ops;
		if (th)
			p->th = th;
		if (!ops || !th)
			goto oom;
		for (uint64_t k = 0; k < p->npre; k++)
			p->ops[p->nops + k] = (struct rp_op){ .kind = RP_MALLOC, .size = bsize[k + 1], .id = (uint32_t)k + 1 };
		p->th[p->nthreads++] = (struct rp_thread){ .tid = RP_PRE_TID, .first = p->nops, .n = p->npre };
		p->nops += p->npre;
	}
	p->span_ns = t1 - t0;
	r = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory building the replay of %zu calls", n);
	rp__free(p);
out:
	amap_free(&live);
	free(owner);
	free(bsize);
	free(tix);
	free(last_ts);
	free(fill);
	return r;
}

size_t rp__size(const struct rp_plan *p)
{
	return sizeof(struct rp_header) + p->nthreads * sizeof(struct rp_thread) + p->nops * sizeof(struct rp_op);
}

void rp__serialize(const struct rp_plan *p, void *buf)
{
	struct rp_header h = { .magic = RP_MAGIC, .nthreads = p->nthreads, .nops = p->nops, .nblocks = p->nblocks };
	char *b = buf;

	memcpy(b, &h, sizeof(h));
	b += sizeof(h);
	memcpy(b, p->th, p->nthreads * sizeof(struct rp_thread));
	b += p->nthreads * sizeof(struct rp_thread);
	memcpy(b, p->ops, p->nops * sizeof(struct rp_op));
}

int rp__view(const void *buf, size_t len, struct rp_plan *p)
{
	const struct rp_header *h = buf;
	const char *b = buf;

	memset(p, 0, sizeof(*p));
	if (len < sizeof(*h) || h->magic != RP_MAGIC || h->nthreads > (1u << 20) ||
	    len != sizeof(*h) + h->nthreads * sizeof(struct rp_thread) + h->nops * sizeof(struct rp_op))
		return -EINVAL;
	p->nthreads = h->nthreads;
	p->nops = h->nops;
	p->nblocks = h->nblocks;
	p->th = (struct rp_thread *)(b + sizeof(*h));
	p->ops = (struct rp_op *)(b + sizeof(*h) + h->nthreads * sizeof(struct rp_thread));
	for (uint32_t t = 0; t < p->nthreads; t++)
		if (p->th[t].first > p->nops || p->th[t].n > p->nops - p->th[t].first)
			return -EINVAL;
	for (uint64_t i = 0; i < p->nops; i++)
		if (p->ops[i].id > p->nblocks || p->ops[i].old > p->nblocks || p->ops[i].ref > p->nblocks)
			return -EINVAL;
	return 0;
}
