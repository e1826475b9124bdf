/* mapset.c - the address ledger: a sorted array of disjoint intervals, found by
 * binary search, with a gap where the last change was (a gap buffer): the kernel
 * places new mappings next to the previous ones (top-down), so a change moves few
 * intervals, not the whole tail. Touching intervals of one owner are merged. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "model/mapset.h"

/* The i-th interval in address order: those after the gap sit cap - n further. */
#define AT(ms, i) ((ms)->iv[(i) < (ms)->gap ? (i) : (i) + (ms)->cap - (ms)->n])

const struct fs_interval *mapset__at(const struct fs_mapset *ms, size_t i)
{
	return i < ms->n ? &AT(ms, i) : NULL;
}

/* The first interval ending after a (the one holding a, or the next one). */
static size_t first_end_after(const struct fs_mapset *ms, uint64_t a)
{
	size_t lo = 0, hi = ms->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (AT(ms, mid).end > a)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static int reserve(struct fs_mapset *ms, size_t extra)
{
	struct fs_interval *iv;
	size_t cap, tail = ms->n - ms->gap;

	if (ms->n + extra <= ms->cap)
		return 0;
	cap = ms->cap ? ms->cap * 2 : 64;
	if (cap < ms->n + extra)
		cap = ms->n + extra;
	iv = realloc(ms->iv, cap * sizeof(*iv));
	if (!iv)
		return -ENOMEM;
	/* the part after the gap goes to the new end */
	memmove(&iv[cap - tail], &iv[ms->cap - tail], tail * sizeof(*iv));
	ms->iv = iv;
	ms->cap = cap;
	return 0;
}

/* The gap to just before the i-th interval. */
static void move_gap(struct fs_mapset *ms, size_t i)
{
	size_t room = ms->cap - ms->n;

	if (i < ms->gap)
		memmove(&ms->iv[i + room], &ms->iv[i], (ms->gap - i) * sizeof(*ms->iv));
	else if (i > ms->gap)
		memmove(&ms->iv[ms->gap], &ms->iv[ms->gap + room], (i - ms->gap) * sizeof(*ms->iv));
	ms->gap = i;
}

/* Callers reserve first: these cannot fail. */
static void insert_at(struct fs_mapset *ms, size_t i, uint64_t s, uint64_t e, uint32_t owner)
{
	move_gap(ms, i);
	ms->iv[ms->gap++] = (struct fs_interval){ .start = s, .end = e, .owner = owner };
	ms->n++;
}

/* The intervals after the gap are cap - n on: fewer intervals, a wider gap. */
static void remove_at(struct fs_mapset *ms, size_t i, size_t count)
{
	move_gap(ms, i);
	ms->n -= count;
}

/* Clears [s, e), splitting the intervals it cuts; *at: where an interval starting at
 * s belongs. Reserves room for two inserts (a split and the caller's). */
static int carve(struct fs_mapset *ms, uint64_t s, uint64_t e, size_t *at)
{
	size_t i, j;

	if (reserve(ms, 2))
		return -ENOMEM;
	i = first_end_after(ms, s);
	if (i < ms->n && AT(ms, i).start < s) {
		if (AT(ms, i).end > e) {	/* the range is inside this interval */
			struct fs_interval whole = AT(ms, i);

			insert_at(ms, i + 1, e, whole.end, whole.owner);
			AT(ms, i).end = s;
			*at = i + 1;
			return 0;
		}
		AT(ms, i).end = s;
		i++;
	}
	j = first_end_after(ms, e);	/* >= i: everything before i ends by s */
	if (j < ms->n && AT(ms, j).start < e)
		AT(ms, j).start = e;
	remove_at(ms, i, j - i);
	*at = i;
	return 0;
}

/* Puts [s, e) at position at (already clear), merged with touching neighbours of
 * the same owner. */
static void put(struct fs_mapset *ms, size_t at, uint64_t s, uint64_t e, uint32_t owner)
{
	if (at > 0 && AT(ms, at - 1).end == s && AT(ms, at - 1).owner == owner) {
		AT(ms, at - 1).end = e;
		if (at < ms->n && AT(ms, at).start == e && AT(ms, at).owner == owner) {
			AT(ms, at - 1).end = AT(ms, at).end;
			remove_at(ms, at, 1);
		}
		return;
	}
	if (at < ms->n && AT(ms, at).start == e && AT(ms, at).owner == owner) {
		AT(ms, at).start = s;
		return;
	}
	insert_at(ms, at, s, e, owner);
}

/* [start, start+len) as [*s, *e): 1 if empty, -EINVAL if it wraps. */
static int range(uint64_t start, uint64_t len, uint64_t *s, uint64_t *e)
{
	if (!len)
		return 1;
	if (start + len < start)
		return -EINVAL;
	*s = start;
	*e = start + len;
	return 0;
}

int mapset__map(struct fs_mapset *ms, uint64_t start, uint64_t len, uint32_t owner)
{
	uint64_t s, e;
	size_t at;
	int r;

	if (owner >= FS_M__COUNT)
		return -EINVAL;
	r = range(start, len, &s, &e);
	if (r)
		return r < 0 ? r : 0;
	r = carve(ms, s, e, &at);
	if (r)
		return r;
	put(ms, at, s, e, owner);
	return 0;
}

int mapset__unmap(struct fs_mapset *ms, uint64_t start, uint64_t len)
{
	uint64_t s, e;
	size_t at;
	int r = range(start, len, &s, &e);

	if (r)
		return r < 0 ? r : 0;
	return carve(ms, s, e, &at);
}

int mapset__fill(struct fs_mapset *ms, uint64_t start, uint64_t len, uint32_t owner)
{
	struct fs_interval *holes;
	uint64_t s, e, cur;
	size_t nh = 0, cap;
	int r;

	if (owner >= FS_M__COUNT)
		return -EINVAL;
	r = range(start, len, &s, &e);
	if (r)
		return r < 0 ? r : 0;
	/* the holes first: mapping them moves the intervals being walked */
	cap = 1;
	for (size_t i = first_end_after(ms, s); i < ms->n && AT(ms, i).start < e; i++)
		cap++;
	holes = malloc(cap * sizeof(*holes));
	if (!holes)
		return -ENOMEM;
	cur = s;
	for (size_t i = first_end_after(ms, s); i < ms->n && AT(ms, i).start < e; i++) {
		if (AT(ms, i).start > cur)
			holes[nh++] = (struct fs_interval){ .start = cur, .end = AT(ms, i).start };
		cur = AT(ms, i).end;
	}
	if (cur < e)
		holes[nh++] = (struct fs_interval){ .start = cur, .end = e };
	for (size_t h = 0; h < nh && !r; h++)
		r = mapset__map(ms, holes[h].start, holes[h].end - holes[h].start, owner);
	free(holes);
	return r;
}

int mapset__remap(struct fs_mapset *ms, uint64_t old, uint64_t oldlen, uint64_t new_addr, uint64_t newlen,
		  uint32_t grow_owner, int keep_old)
{
	uint64_t moved = oldlen < newlen ? oldlen : newlen, s, e;
	uint32_t grow = grow_owner;
	struct fs_interval *pieces = NULL;
	size_t np = 0, cap = 1;
	int r = 0;

	if (grow_owner >= FS_M__COUNT || old + oldlen < old || new_addr + newlen < new_addr)
		return -EINVAL;
	if (oldlen) {	/* grown bytes extend the mapping they continue */
		size_t i = first_end_after(ms, old + oldlen - 1);

		if (i < ms->n && AT(ms, i).start <= old + oldlen - 1)
			grow = AT(ms, i).owner;
	}
	/* what moves, with its owners (holes stay unknown) */
	if (!range(old, moved, &s, &e)) {
		for (size_t i = first_end_after(ms, s); i < ms->n && AT(ms, i).start < e; i++)
			cap++;
		pieces = malloc(cap * sizeof(*pieces));
		if (!pieces)
			return -ENOMEM;
		for (size_t i = first_end_after(ms, s); i < ms->n && AT(ms, i).start < e; i++) {
			struct fs_interval p = AT(ms, i);

			p.start = p.start > s ? p.start : s;
			p.end = p.end < e ? p.end : e;
			pieces[np++] = p;
		}
	}
	if (!keep_old)
		r = mapset__unmap(ms, old, oldlen);
	if (!r)
		r = mapset__unmap(ms, new_addr, newlen);
	for (size_t i = 0; i < np && !r; i++)
		r = mapset__map(ms, pieces[i].start - old + new_addr, pieces[i].end - pieces[i].start,
				pieces[i].owner);
	if (!r && newlen > oldlen)
		r = mapset__map(ms, new_addr + oldlen, newlen - oldlen, grow);
	free(pieces);
	return r;
}

void mapset__owned(const struct fs_mapset *ms, uint64_t lo, uint64_t hi, uint64_t bytes[FS_M__COUNT])
{
	memset(bytes, 0, sizeof(uint64_t) * FS_M__COUNT);
	for (size_t i = first_end_after(ms, lo); i < ms->n && AT(ms, i).start < hi; i++) {
		uint64_t s = AT(ms, i).start > lo ? AT(ms, i).start : lo;
		uint64_t e = AT(ms, i).end < hi ? AT(ms, i).end : hi;

		bytes[AT(ms, i).owner] += e - s;
	}
}

int mapset__any(const struct fs_mapset *ms, uint64_t lo, uint64_t hi)
{
	size_t i = first_end_after(ms, lo);

	return lo < hi && i < ms->n && AT(ms, i).start < hi;
}

void mapset__free(struct fs_mapset *ms)
{
	if (!ms)
		return;
	free(ms->iv);
	memset(ms, 0, sizeof(*ms));
}
