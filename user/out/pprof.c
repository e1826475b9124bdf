/* pprof.c - allocation sites as a gzipped pprof profile: the message is built with
 * the code protobuf-c generates from the published profile.proto (Makefile), so no
 * field is encoded by hand; zlib gzips it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "proto/profile.pb-c.h"
#include "out/pprof.h"
#include "model/agg.h"
#include "model/metric.h"

typedef Perftools__Profiles__Profile Profile;
typedef Perftools__Profiles__ValueType ValueType;
typedef Perftools__Profiles__Sample Sample;
typedef Perftools__Profiles__Mapping Mapping;
typedef Perftools__Profiles__Location Location;
typedef Perftools__Profiles__Line Line;
typedef Perftools__Profiles__Function Function;
typedef Perftools__Profiles__Label Label;

/* Strings to indexes (the string table, and the keys of locations, functions and
 * mappings): open addressing, keys owned. */
struct intern {
	char **key;
	uint64_t *val;
	size_t cap, n;
};

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void intern__free(struct intern *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->key[i]);
	free(t->key);
	free(t->val);
	memset(t, 0, sizeof(*t));
}

static int intern__grow(struct intern *t)
{
	struct intern g = { .cap = t->cap ? t->cap * 2 : 64 };

	g.key = calloc(g.cap, sizeof(*g.key));
	g.val = calloc(g.cap, sizeof(*g.val));
	if (!g.key || !g.val) {
		free(g.key);
		free(g.val);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->cap; i++) {
		size_t j;

		if (!t->key[i])
			continue;
		for (j = hash(t->key[i]) & (g.cap - 1); g.key[j]; j = (j + 1) & (g.cap - 1))
			;
		g.key[j] = t->key[i];
		g.val[j] = t->val[i];
	}
	g.n = t->n;
	free(t->key);
	free(t->val);
	*t = g;
	return 0;
}

/* The value of key, or (*added set) val for a new key; *stored: the table's copy
 * of the key (may be NULL). -ENOMEM. */
static int intern__key(struct intern *t, const char *key, uint64_t val, uint64_t *out, int *added, char **stored)
{
	size_t j;

	*added = 0;
	if ((t->n + 1) * 2 > t->cap && intern__grow(t))
		return -ENOMEM;
	for (j = hash(key) & (t->cap - 1); t->key[j]; j = (j + 1) & (t->cap - 1))
		if (!strcmp(t->key[j], key)) {
			*out = t->val[j];
			if (stored)
				*stored = t->key[j];
			return 0;
		}
	t->key[j] = strdup(key);
	if (!t->key[j])
		return -ENOMEM;
	t->val[j] = val;
	t->n++;
	*out = val;
	*added = 1;
	if (stored)
		*stored = t->key[j];
	return 0;
}

static int intern__get(struct intern *t, const char *key, uint64_t val, uint64_t *out, int *added)
{
	return intern__key(t, key, val, out, added, NULL);
}

struct builder {
	Profile p;
	struct intern strs, locs, funcs, maps;
	size_t cap_str, cap_loc, cap_func, cap_map;
};

static int grow(void *pp, size_t *cap, size_t n, size_t size)
{
	void **p = pp, *q;

	if (n < *cap)
		return 0;
	q = realloc(*p, (*cap ? *cap * 2 : 64) * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = *cap ? *cap * 2 : 64;
	return 0;
}

/* The string table's index of s (the table's strings are the intern's keys). */
static int str(struct builder *b, const char *s, int64_t *idx)
{
	uint64_t v;
	char *key;
	int added;

	if (grow(&b->p.string_table, &b->cap_str, b->p.n_string_table, sizeof(char *)) ||
	    intern__key(&b->strs, s, b->p.n_string_table, &v, &added, &key))
		return -ENOMEM;
	if (added)
		b->p.string_table[b->p.n_string_table++] = key;
	*idx = (int64_t)v;
	return 0;
}

/* A frame's parts: "func+0xoff (object)" gives func and object; "object+0xoff"
 * keeps its whole text as the function and names object; "0xaddr" has no object. */
static void split_frame(const char *frame, char *func, size_t flen, char *obj, size_t olen)
{
	const char *paren = strstr(frame, " (");
	const char *plus;
	size_t n = strlen(frame);

	obj[0] = 0;
	if (paren && n > 2 && frame[n - 1] == ')') {
		const char *p;

		while ((p = strstr(paren + 1, " (")))	/* the last " (": C++ names have parentheses */
			paren = p;
		snprintf(obj, olen, "%.*s", (int)(frame + n - 1 - (paren + 2)), paren + 2);
		plus = NULL;
		for (const char *q = frame; q < paren; q++)
			if (q[0] == '+' && q[1] == '0' && q[2] == 'x')
				plus = q;
		snprintf(func, flen, "%.*s", (int)((plus ? plus : paren) - frame), frame);
		return;
	}
	snprintf(func, flen, "%s", frame);
	plus = strstr(frame, "+0x");
	if (plus && strncmp(frame, "0x", 2))
		snprintf(obj, olen, "%.*s", (int)(plus - frame), frame);
}

static int mapping(struct builder *b, const char *obj, uint64_t *id)
{
	Mapping *m;
	int added;

	if (!obj[0]) {
		*id = 0;
		return 0;
	}
	if (intern__get(&b->maps, obj, b->p.n_mapping + 1, id, &added))
		return -ENOMEM;
	if (!added)
		return 0;
	if (grow(&b->p.mapping, &b->cap_map, b->p.n_mapping, sizeof(*b->p.mapping)) || !(m = malloc(sizeof(*m))))
		return -ENOMEM;
	perftools__profiles__mapping__init(m);
	b->p.mapping[b->p.n_mapping++] = m;
	m->id = *id;
	m->has_functions = 1;	/* symbolized already: pprof does not look for the file */
	return str(b, obj, &m->filename);
}

static int function(struct builder *b, const char *func, const char *obj, uint64_t *id)
{
	char key[2 * FS_SITE_FRAME + 2];
	Function *fn;
	int added;

	snprintf(key, sizeof(key), "%s\n%s", func, obj);
	if (intern__get(&b->funcs, key, b->p.n_function + 1, id, &added))
		return -ENOMEM;
	if (!added)
		return 0;
	if (grow(&b->p.function, &b->cap_func, b->p.n_function, sizeof(*b->p.function)) || !(fn = malloc(sizeof(*fn))))
		return -ENOMEM;
	perftools__profiles__function__init(fn);
	b->p.function[b->p.n_function++] = fn;
	fn->id = *id;
	if (str(b, func, &fn->name))
		return -ENOMEM;
	fn->system_name = fn->name;
	return 0;
}

/* The location of one frame: by its address when known, else by its text. */
static int location(struct builder *b, const char *frame, uint64_t ip, uint64_t *id)
{
	char key[FS_SITE_FRAME + 24], func[FS_SITE_FRAME + 1], obj[FS_SITE_FRAME + 1];
	uint64_t fid, mid;
	Location *l;
	int added;

	if (ip)
		snprintf(key, sizeof(key), "@%llx", (unsigned long long)ip);
	else
		snprintf(key, sizeof(key), "%s", frame);
	if (intern__get(&b->locs, key, b->p.n_location + 1, id, &added))
		return -ENOMEM;
	if (!added)
		return 0;
	split_frame(frame, func, sizeof(func), obj, sizeof(obj));
	if (mapping(b, obj, &mid) || function(b, func, obj, &fid))
		return -ENOMEM;
	if (grow(&b->p.location, &b->cap_loc, b->p.n_location, sizeof(*b->p.location)) || !(l = malloc(sizeof(*l))))
		return -ENOMEM;
	perftools__profiles__location__init(l);
	b->p.location[b->p.n_location++] = l;
	l->id = *id;
	l->mapping_id = mid;
	l->address = ip;
	l->line = calloc(1, sizeof(*l->line));
	if (!l->line || !(l->line[0] = malloc(sizeof(Line))))
		return -ENOMEM;
	perftools__profiles__line__init(l->line[0]);
	l->n_line = 1;
	l->line[0]->function_id = fid;
	return 0;
}

static int value_type(struct builder *b, const char *type, const char *unit, ValueType **out)
{
	ValueType *v = malloc(sizeof(*v));

	*out = v;
	if (!v)
		return -ENOMEM;
	perftools__profiles__value_type__init(v);
	return str(b, type, &v->type) ?: str(b, unit, &v->unit);
}

static void builder__free(struct builder *b)
{
	Profile *p = &b->p;

	for (size_t i = 0; i < p->n_sample_type; i++)
		free(p->sample_type[i]);
	free(p->sample_type);
	free(p->period_type);
	for (size_t i = 0; i < p->n_sample; i++)
		if (p->sample[i]) {
			free(p->sample[i]->location_id);
			free(p->sample[i]->value);
			if (p->sample[i]->label)
				free(p->sample[i]->label[0]);
			free(p->sample[i]->label);
			free(p->sample[i]);
		}
	free(p->sample);
	for (size_t i = 0; i < p->n_mapping; i++)
		free(p->mapping[i]);
	free(p->mapping);
	for (size_t i = 0; i < p->n_location; i++) {
		for (size_t j = 0; j < p->location[i]->n_line; j++)
			free(p->location[i]->line[j]);
		free(p->location[i]->line);
		free(p->location[i]);
	}
	free(p->location);
	for (size_t i = 0; i < p->n_function; i++)
		free(p->function[i]);
	free(p->function);
	free(p->string_table);
	free(p->comment);
	intern__free(&b->strs);
	intern__free(&b->locs);
	intern__free(&b->funcs);
	intern__free(&b->maps);
}

static const char *const types[4][2] = {
	{ "alloc_objects", "count" }, { "alloc_space", "bytes" }, { "inuse_objects", "count" }, { "inuse_space", "bytes" },
};

static int build(struct builder *b, const struct pprof_info *info, const struct pprof_site *sites, int nsites)
{
	Profile *p = &b->p;
	int64_t idx;

	perftools__profiles__profile__init(p);
	if (str(b, "", &idx))
		return -ENOMEM;
	p->sample_type = calloc(4, sizeof(*p->sample_type));
	if (!p->sample_type)
		return -ENOMEM;
	for (int t = 0; t < 4; t++) {
		p->n_sample_type = (size_t)t + 1;
		if (value_type(b, types[t][0], types[t][1], &p->sample_type[t]))
			return -ENOMEM;
	}
	if (value_type(b, "space", "bytes", &p->period_type))
		return -ENOMEM;
	p->period = info->period;
	p->time_nanos = info->time_ns;
	p->duration_nanos = info->duration_ns;
	p->default_sample_type = p->sample_type[3]->type;	/* inuse_space, as Go's heap profiles */
	if (info->ncomments > 0) {
		p->comment = calloc((size_t)info->ncomments, sizeof(*p->comment));
		if (!p->comment)
			return -ENOMEM;
		for (int i = 0; i < info->ncomments && i < PPROF_MAX_COMMENTS; i++) {
			if (str(b, info->comment[i], &p->comment[i]))
				return -ENOMEM;
			p->n_comment = (size_t)i + 1;
		}
	}
	p->sample = calloc((size_t)(nsites > 0 ? nsites : 1), sizeof(*p->sample));
	if (!p->sample)
		return -ENOMEM;
	for (int i = 0; i < nsites; i++) {
		const struct pprof_site *x = &sites[i];
		int nf = x->nframes > 0 ? x->nframes : 1;
		Sample *s = malloc(sizeof(*s));

		if (!s)
			return -ENOMEM;
		perftools__profiles__sample__init(s);
		p->sample[p->n_sample++] = s;
		s->location_id = calloc((size_t)nf, sizeof(*s->location_id));
		s->value = calloc(4, sizeof(*s->value));
		if (!s->location_id || !s->value)
			return -ENOMEM;
		s->n_value = 4;
		if (x->pid > 0) {
			s->label = calloc(1, sizeof(*s->label));
			if (!s->label || !(s->label[0] = malloc(sizeof(Label))))
				return -ENOMEM;
			perftools__profiles__label__init(s->label[0]);
			s->n_label = 1;
			s->label[0]->num = x->pid;
			if (str(b, "pid", &s->label[0]->key))
				return -ENOMEM;
		}
		s->value[0] = x->alloc_objects > 0 ? x->alloc_objects : 0;
		s->value[1] = x->alloc_bytes > 0 ? x->alloc_bytes : 0;
		s->value[2] = x->inuse_objects > 0 ? x->inuse_objects : 0;
		s->value[3] = x->inuse_bytes > 0 ? x->inuse_bytes : 0;
		for (int f = 0; f < nf; f++) {	/* pprof's order too: the leaf first */
			const char *fr = x->nframes > 0 ? x->frame[f] : "(no stack)";

			if (location(b, fr, x->nframes > 0 && x->ip ? x->ip[f] : 0, &s->location_id[f]))
				return -ENOMEM;
			s->n_location_id = (size_t)f + 1;
		}
	}
	return 0;
}

static int gzip(const uint8_t *in, size_t inlen, void **out, size_t *outlen)
{
	z_stream z = { 0 };
	uLong cap;
	uint8_t *buf;
	int r;

	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	cap = deflateBound(&z, (uLong)inlen) + 32;
	buf = malloc(cap);
	if (!buf) {
		deflateEnd(&z);
		return -ENOMEM;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)inlen;
	z.next_out = buf;
	z.avail_out = (uInt)cap;
	r = deflate(&z, Z_FINISH);
	*outlen = z.total_out;
	deflateEnd(&z);
	if (r != Z_STREAM_END) {
		free(buf);
		return -EIO;
	}
	*out = buf;
	return 0;
}

int pprof__encode(const struct pprof_info *info, const struct pprof_site *sites, int nsites, void **out,
		  size_t *outlen)
{
	struct builder b = { 0 };
	uint8_t *raw = NULL;
	size_t n;
	int r;

	*out = NULL;
	*outlen = 0;
	r = build(&b, info, sites, nsites);
	if (!r) {
		n = perftools__profiles__profile__get_packed_size(&b.p);
		raw = malloc(n ? n : 1);
		r = raw ? 0 : -ENOMEM;
	}
	if (!r) {
		perftools__profiles__profile__pack(&b.p, raw);
		r = gzip(raw, n, out, outlen);
	}
	free(raw);
	builder__free(&b);
	return r;
}

int pprof__write(const char *path, const struct pprof_info *info, const struct pprof_site *sites, int nsites,
		 char *err, size_t errlen)
{
	void *buf;
	size_t n;
	FILE *f;
	int r = pprof__encode(info, sites, nsites, &buf, &n);

	if (r) {
		snprintf(err, errlen, "pprof profile: %s", strerror(-r));
		return r;
	}
	f = fopen(path, "wb");
	if (!f) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		free(buf);
		return r;
	}
	if (fwrite(buf, 1, n, f) != n)
		r = -(errno ? errno : EIO);
	if (fclose(f) && !r)
		r = -(errno ? errno : EIO);
	if (r)
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
	free(buf);
	return r;
}

static const char sampled_note[] =
	"inuse_space and alloc_space: Horvitz-Thompson estimates from the sampled blocks; inuse_space sums to the "
	"sites' estimated live bytes";
static const char exact_note[] =
	"inuse_space and alloc_space: the sampled sites scaled to the exact totals (fragscope's ratio estimator, "
	"rounded down); inuse_space sums to the sites' share of the exact live bytes";
static const char objects_note[] =
	"alloc_objects and inuse_objects count sampled allocations (samples); they are object counts only when "
	"every allocation is sampled (--sample-bytes 1)";

int pprof__write_session(const char *path, const struct session_data *d, char *err, size_t errlen)
{
	struct pprof_info info = { 0 };
	struct pprof_site *s;
	char c1[200];
	int r;

	s = calloc((size_t)(d->nsites > 0 ? d->nsites : 1), sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "pprof profile: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	for (int i = 0; i < d->nsites; i++) {
		const struct session_site *x = &d->sites[i];

		s[i].alloc_objects = (int64_t)x->samples;
		s[i].alloc_bytes = (int64_t)x->bytes;
		s[i].inuse_objects = x->live_samples;
		s[i].inuse_bytes = x->live_bytes;
		s[i].nframes = x->nframes;
		s[i].frame = (const char *const *)x->frame;
	}
	info.period = strtoll(session__meta(d, "sample_bytes", "0"), NULL, 10);
	for (long i = 0; i < d->nrows; i++)
		if (d->rows[i].seq == d->sites_seq)
			info.duration_ns = (int64_t)(d->rows[i].t_s * 1e9);
	snprintf(c1, sizeof(c1), "fragscope %s mode session %s", fs_mode_names[d->mode], d->path);
	info.comment[info.ncomments++] = c1;
	info.comment[info.ncomments++] = d->mode == FS_MODE_SAMPLED ? sampled_note : exact_note;
	info.comment[info.ncomments++] = objects_note;
	info.comment[info.ncomments++] = "stored sites only (the top sites of the last deep snapshot); addresses not stored";
	r = pprof__write(path, &info, s, d->nsites, err, errlen);
	free(s);
	return r;
}

int pprof__write_views(const char *path, const struct fs_view *v, int nviews, int64_t time_ns, char *err,
		       size_t errlen)
{
	struct pprof_info info = { .time_ns = time_ns };
	struct pprof_site *s = NULL;
	const char **fr = NULL;
	char c1[64], c2[PPROF_MAX_COMMENTS][200];
	int n = 0, total = 0, r, mode = -1, modes = 0, cut = 0;

	for (int k = 0; k < nviews; k++)
		total += v[k].st ? v[k].st->nsites : 0;
	s = calloc((size_t)(total > 0 ? total : 1), sizeof(*s));
	fr = calloc((size_t)(total > 0 ? total : 1) * FS_STACK_DEPTH, sizeof(*fr));
	if (!s || !fr) {
		free(s);
		free(fr);
		snprintf(err, errlen, "pprof profile: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	for (int k = 0; k < nviews; k++) {
		const struct fs_state *st = v[k].st;
		int m;

		if (!st)
			continue;
		m = st->sampled ? FS_MODE_SAMPLED : st->light ? FS_MODE_LIGHT : FS_MODE_EXACT;
		modes |= 1 << m;
		mode = m;
		if (!info.period)
			info.period = (int64_t)st->sample_bytes;
		if (v[k].duration_s * 1e9 > (double)info.duration_ns)
			info.duration_ns = (int64_t)(v[k].duration_s * 1e9);
		for (int i = 0; i < st->nsites; i++, n++) {
			const struct fs_site_sym *x = &st->sites[i];

			s[n].alloc_objects = (int64_t)x->samples;
			s[n].alloc_bytes = (int64_t)x->bytes;
			s[n].inuse_objects = x->live_samples;
			s[n].inuse_bytes = x->live_bytes;
			s[n].nframes = x->nframes < FS_STACK_DEPTH ? x->nframes : FS_STACK_DEPTH;
			for (int f = 0; f < s[n].nframes; f++)
				fr[n * FS_STACK_DEPTH + f] = x->frame[f];
			s[n].frame = &fr[n * FS_STACK_DEPTH];
			s[n].ip = x->ip;
			s[n].pid = v[k].target ? v[k].target->pid : 0;
		}
		if (st->nsites < st->sites_total && cut < PPROF_MAX_COMMENTS - 4) {
			snprintf(c2[cut], sizeof(c2[cut]), "PID %d: %d of %ld sites (the top by live bytes); the "
				 "others are not in this profile", v[k].target ? (int)v[k].target->pid : 0, st->nsites,
				 st->sites_total);
			cut++;
		}
	}
	snprintf(c1, sizeof(c1), "fragscope %s mode", modes & (modes - 1) ? "mixed" : mode >= 0 ? fs_mode_names[mode] : "no");
	info.comment[info.ncomments++] = c1;
	if (modes & (1 << FS_MODE_SAMPLED))
		info.comment[info.ncomments++] = sampled_note;
	if (modes & ~(1 << FS_MODE_SAMPLED))
		info.comment[info.ncomments++] = exact_note;
	info.comment[info.ncomments++] = objects_note;
	for (int i = 0; i < cut && info.ncomments < PPROF_MAX_COMMENTS; i++)
		info.comment[info.ncomments++] = c2[i];
	r = pprof__write(path, &info, s, n, err, errlen);
	free(s);
	free(fr);
	return r;
}
