/* test_pprof.c - the pprof encoder (out/pprof.c): its output gunzipped and decoded
 * with protobuf-c against the same profile.proto, field by field. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "proto/profile.pb-c.h"
#include "out/pprof.h"
#include "test.h"

typedef Perftools__Profiles__Profile Profile;

static Profile *decode(const void *gz, size_t n)
{
	z_stream z = { 0 };
	size_t cap = 1 << 20;
	uint8_t *raw = malloc(cap);
	Profile *p = NULL;

	if (!raw || inflateInit2(&z, 15 + 16) != Z_OK) {
		free(raw);
		return NULL;
	}
	z.next_in = (Bytef *)gz;
	z.avail_in = (uInt)n;
	z.next_out = raw;
	z.avail_out = (uInt)cap;
	if (inflate(&z, Z_FINISH) == Z_STREAM_END)
		p = perftools__profiles__profile__unpack(NULL, z.total_out, raw);
	inflateEnd(&z);
	free(raw);
	return p;
}

static const char *S(const Profile *p, int64_t i)
{
	return i >= 0 && (size_t)i < p->n_string_table ? p->string_table[i] : "(bad index)";
}

static const Perftools__Profiles__Location *loc(const Profile *p, uint64_t id)
{
	for (size_t i = 0; i < p->n_location; i++)
		if (p->location[i]->id == id)
			return p->location[i];
	return NULL;
}

static const Perftools__Profiles__Function *fn(const Profile *p, uint64_t id)
{
	for (size_t i = 0; i < p->n_function; i++)
		if (p->function[i]->id == id)
			return p->function[i];
	return NULL;
}

static const Perftools__Profiles__Mapping *map(const Profile *p, uint64_t id)
{
	for (size_t i = 0; i < p->n_mapping; i++)
		if (p->mapping[i]->id == id)
			return p->mapping[i];
	return NULL;
}

/* The function name and mapping file of a sample's frame f. */
static void frame_of(const Profile *p, const Perftools__Profiles__Sample *s, size_t f, const char **name,
		     const char **file, uint64_t *addr)
{
	const Perftools__Profiles__Location *l = f < s->n_location_id ? loc(p, s->location_id[f]) : NULL;
	const Perftools__Profiles__Function *x = l && l->n_line == 1 ? fn(p, l->line[0]->function_id) : NULL;
	const Perftools__Profiles__Mapping *m = l ? map(p, l->mapping_id) : NULL;

	*name = x ? S(p, x->name) : "(none)";
	*file = m ? S(p, m->filename) : "";
	*addr = l ? l->address : ~0ULL;
}

TEST(pprof_roundtrip)
{
	static const char *const s1[] = { "leaf_a+0x1a (allocwork)", "main+0x40 (allocwork)",
					  "__libc_start_call_main+0x7a (libc.so.6)" };
	static const char *const s2[] = { "libfoo.so+0x1234", "main+0x52 (allocwork)",
					  "__libc_start_call_main+0x7a (libc.so.6)" };
	static const char *const s3[] = { "0x7fff1234" };
	static const uint64_t ip1[] = { 0x401a, 0x4040, 0x7f00007a };
	static const uint64_t ip2[] = { 0x7f001234, 0x4052, 0x7f00007a };
	struct pprof_site sites[] = {
		{ 3, 3000, 2, 2000, 3, s1, ip1 },
		{ 5, 500, -1, -4, 3, s2, ip2 },	/* negative estimates read 0 */
		{ 1, 64, 1, 64, 1, s3, NULL, 4242 },
		{ 1, 8, 0, 0, 0, NULL, NULL },
	};
	struct pprof_info info = { .period = 524288, .time_ns = 1700000000000000000LL, .duration_ns = 2500000000LL,
				   .ncomments = 1, .comment = { "a note" } };
	void *gz = NULL;
	size_t n = 0;
	Profile *p = NULL;
	const char *name, *file;
	uint64_t addr;
	int64_t inuse = 0;

	if (!ASSERT_OK(pprof__encode(&info, sites, 4, &gz, &n), "encode"))
		goto cleanup;
	ASSERT_TRUE(n > 18 && ((uint8_t *)gz)[0] == 0x1f && ((uint8_t *)gz)[1] == 0x8b, "gzip magic");
	p = decode(gz, n);
	if (!ASSERT_OK_PTR(p, "decode"))
		goto cleanup;
	ASSERT_EQ(S(p, 0)[0], 0, "string_table[0] is empty");
	if (!ASSERT_EQ(p->n_sample_type, 4, "sample types"))
		goto cleanup;
	ASSERT_EQ(strcmp(S(p, p->sample_type[0]->type), "alloc_objects"), 0, "type 0");
	ASSERT_EQ(strcmp(S(p, p->sample_type[0]->unit), "count"), 0, "unit 0");
	ASSERT_EQ(strcmp(S(p, p->sample_type[1]->type), "alloc_space"), 0, "type 1");
	ASSERT_EQ(strcmp(S(p, p->sample_type[1]->unit), "bytes"), 0, "unit 1");
	ASSERT_EQ(strcmp(S(p, p->sample_type[2]->type), "inuse_objects"), 0, "type 2");
	ASSERT_EQ(strcmp(S(p, p->sample_type[3]->type), "inuse_space"), 0, "type 3");
	ASSERT_EQ(strcmp(S(p, p->sample_type[3]->unit), "bytes"), 0, "unit 3");
	ASSERT_EQ(strcmp(S(p, p->default_sample_type), "inuse_space"), 0, "default type");
	if (ASSERT_OK_PTR(p->period_type, "period type")) {
		ASSERT_EQ(strcmp(S(p, p->period_type->type), "space"), 0, "period type");
		ASSERT_EQ(strcmp(S(p, p->period_type->unit), "bytes"), 0, "period unit");
	}
	ASSERT_EQ(p->period, 524288, "period");
	ASSERT_EQ(p->time_nanos, 1700000000000000000LL, "time");
	ASSERT_EQ(p->duration_nanos, 2500000000LL, "duration");
	if (ASSERT_EQ(p->n_comment, 1, "comments"))
		ASSERT_EQ(strcmp(S(p, p->comment[0]), "a note"), 0, "comment");
	if (!ASSERT_EQ(p->n_sample, 4, "samples"))
		goto cleanup;
	ASSERT_EQ(p->sample[0]->n_value, 4, "values");
	ASSERT_EQ(p->sample[0]->value[0], 3, "alloc_objects");
	ASSERT_EQ(p->sample[0]->value[1], 3000, "alloc_space");
	ASSERT_EQ(p->sample[0]->value[2], 2, "inuse_objects");
	ASSERT_EQ(p->sample[0]->value[3], 2000, "inuse_space");
	ASSERT_EQ(p->sample[0]->n_label, 0, "no pid: no label");
	if (ASSERT_EQ(p->sample[2]->n_label, 1, "pid label")) {
		ASSERT_EQ(strcmp(S(p, p->sample[2]->label[0]->key), "pid"), 0, "label key");
		ASSERT_EQ(p->sample[2]->label[0]->num, 4242, "label num");
	}
	ASSERT_EQ(p->sample[1]->value[2], 0, "negative inuse_objects");
	ASSERT_EQ(p->sample[1]->value[3], 0, "negative inuse_space");
	for (size_t i = 0; i < p->n_sample; i++)
		inuse += p->sample[i]->value[3];
	ASSERT_EQ(inuse, 2064, "inuse_space summed");

	/* stacks: the leaf first, symbols without their offset, objects as mappings */
	if (!ASSERT_EQ(p->sample[0]->n_location_id, 3, "frames of site 0"))
		goto cleanup;
	frame_of(p, p->sample[0], 0, &name, &file, &addr);
	ASSERT_EQ(strcmp(name, "leaf_a"), 0, "leaf's function");
	ASSERT_EQ(strcmp(file, "allocwork"), 0, "leaf's mapping");
	ASSERT_EQ(addr, 0x401a, "leaf's address");
	frame_of(p, p->sample[0], 2, &name, &file, &addr);
	ASSERT_EQ(strcmp(name, "__libc_start_call_main"), 0, "root's function");
	ASSERT_EQ(strcmp(file, "libc.so.6"), 0, "root's mapping");
	/* one location per address: both sites' roots are one */
	ASSERT_EQ(p->sample[0]->location_id[2], p->sample[1]->location_id[2], "shared root location");
	ASSERT_NEQ(p->sample[0]->location_id[1], p->sample[1]->location_id[1], "main at two addresses");
	frame_of(p, p->sample[1], 1, &name, &file, &addr);
	ASSERT_EQ(strcmp(name, "main"), 0, "main");
	/* ... two locations of one function */
	ASSERT_EQ(loc(p, p->sample[0]->location_id[1])->line[0]->function_id,
		  loc(p, p->sample[1]->location_id[1])->line[0]->function_id, "one function main");
	frame_of(p, p->sample[1], 0, &name, &file, &addr);
	ASSERT_EQ(strcmp(name, "libfoo.so+0x1234"), 0, "no symbol: the frame's text");
	ASSERT_EQ(strcmp(file, "libfoo.so"), 0, "no symbol: its object");
	frame_of(p, p->sample[2], 0, &name, &file, &addr);
	ASSERT_EQ(strcmp(name, "0x7fff1234"), 0, "no object");
	ASSERT_EQ(strcmp(file, ""), 0, "no object: no mapping");
	ASSERT_EQ(addr, 0, "address not known");
	ASSERT_EQ(p->sample[3]->n_location_id, 1, "no stack: one frame");
	frame_of(p, p->sample[3], 0, &name, &file, &addr);
	ASSERT_EQ(strcmp(name, "(no stack)"), 0, "no stack");
	ASSERT_EQ(p->n_mapping, 3, "mappings: allocwork, libc.so.6, libfoo.so");
	for (size_t i = 0; i < p->n_mapping; i++)
		ASSERT_TRUE(p->mapping[i]->has_functions, "mapping symbolized");
	ASSERT_EQ(p->n_location, 7, "locations");
	ASSERT_EQ(p->n_function, 6, "functions");
cleanup:
	if (p)
		perftools__profiles__profile__free_unpacked(p, NULL);
	free(gz);
}

TEST(pprof_session_frames)
{
	/* sessions keep no addresses: one location per distinct frame text */
	static const char *const a[] = { "f+0x10 (x)", "g+0x1 (x)" };
	static const char *const b[] = { "f+0x20 (x)", "g+0x1 (x)" };
	struct pprof_site sites[] = { { 1, 10, 1, 10, 2, a, NULL }, { 1, 20, 1, 20, 2, b, NULL } };
	struct pprof_info info = { .period = 1 };
	void *gz = NULL;
	size_t n = 0;
	Profile *p = NULL;

	if (!ASSERT_OK(pprof__encode(&info, sites, 2, &gz, &n), "encode"))
		goto cleanup;
	p = decode(gz, n);
	if (!ASSERT_OK_PTR(p, "decode") || !ASSERT_EQ(p->n_sample, 2, "samples"))
		goto cleanup;
	ASSERT_EQ(p->n_location, 3, "locations by text");
	ASSERT_EQ(p->n_function, 2, "functions f and g");
	ASSERT_EQ(p->n_mapping, 1, "mapping x");
	ASSERT_EQ(p->sample[0]->location_id[1], p->sample[1]->location_id[1], "g shared");
	ASSERT_EQ(p->period, 1, "period");
cleanup:
	if (p)
		perftools__profiles__profile__free_unpacked(p, NULL);
	free(gz);
}
