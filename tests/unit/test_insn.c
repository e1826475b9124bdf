/* test_insn.c - probe placement on prologues copied from this machine's glibc 2.36
 * and jemalloc 5.3 (objdump -d), and on hand-made sequences for the edge cases. */
#include <stdint.h>
#include "insn.h"
#include "test.h"

#define PLACE(bytes, nargs, out) insn__place(bytes, sizeof(bytes), nargs, out)

static bool placed(const struct insn_place *p, uint32_t offset, int emulated, const char *what)
{
	bool ok = ASSERT_EQ(p->offset, offset, what);

	ok &= ASSERT_EQ(p->emulated, emulated, what);
	if (!ok)
		printf("    why: %s\n", p->why);
	return ok;
}

TEST(insn_glibc_malloc)
{
	/* push %r12; push %rbp; push %rbx; mov %rdi,%rbx; sub $0x10,%rsp; cmpb $0,..(%rip) */
	static const uint8_t code[] = {
		0x41, 0x54, 0x55, 0x53, 0x48, 0x89, 0xfb, 0x48, 0x83, 0xec, 0x10, 0x80,
		0x3d, 0x46, 0x1b, 0x14, 0x00, 0x00, 0x0f, 0x84, 0xf8, 0x01, 0x00, 0x00,
		0x48, 0x85, 0xdb, 0x0f, 0x88, 0xfd, 0x01, 0x00,
	};
	struct insn_place p;

	PLACE(code, 1, &p);
	placed(&p, 0, 1, "push %r12 at +0 is emulated");
}

TEST(insn_glibc_free)
{
	/* test %rdi,%rdi; je +0xbf; push %rbp; lea -0x10(%rdi),%rsi; ... */
	static const uint8_t code[] = {
		0x48, 0x85, 0xff, 0x0f, 0x84, 0xbf, 0x00, 0x00, 0x00, 0x55, 0x48, 0x8d,
		0x77, 0xf0, 0x53, 0x48, 0x83, 0xec, 0x18, 0x48, 0x8b, 0x1d, 0xd6, 0x9e,
		0x13, 0x00, 0x48, 0x8b, 0x47, 0xf8, 0x64, 0x8b,
	};
	struct insn_place p;

	PLACE(code, 1, &p);
	placed(&p, 3, 1, "past test %rdi,%rdi onto je rel32");
}

TEST(insn_glibc_aligned_alloc)
{
	/* The whole function (0x34 bytes): cmpb $0,..(%rip); je +7; jmp ...; ... */
	static const uint8_t code[] = {
		0x80, 0x3d, 0x71, 0x0e, 0x14, 0x00, 0x00, 0x74, 0x07, 0xe9, 0x32, 0xf6,
		0xff, 0xff, 0x66, 0x90, 0x48, 0x83, 0xec, 0x18, 0x48, 0x89, 0x74, 0x24,
		0x08, 0x48, 0x89, 0x3c, 0x24, 0xe8, 0xbe, 0xbc, 0xff, 0xff, 0x48, 0x8b,
		0x74, 0x24, 0x08, 0x48, 0x8b, 0x3c, 0x24, 0x48, 0x83, 0xc4, 0x18, 0xe9,
		0x0c, 0xf6, 0xff, 0xff,
	};
	struct insn_place p;

	PLACE(code, 2, &p);
	placed(&p, 7, 1, "past cmpb $0,disp32(%rip) onto je rel8");
}

TEST(insn_glibc_reallocarray)
{
	/* The whole function: mov %rsi,%rax; mul %rdx; ... mul is not decoded */
	static const uint8_t code[] = {
		0x48, 0x89, 0xf0, 0x48, 0xf7, 0xe2, 0x48, 0x89, 0xc6, 0x70, 0x05, 0xe9,
		0x40, 0xb8, 0xf8, 0xff, 0x48, 0x8b, 0x05, 0xe9, 0x85, 0x13, 0x00, 0x64,
		0xc7, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x31, 0xc0, 0xc3,
	};
	struct insn_place p;

	PLACE(code, 3, &p);
	placed(&p, 0, 0, "mul %rdx not understood: stay at +0");
	ASSERT_HAS_STR(p.why, "+3", "why names the offset it stopped at");
}

TEST(insn_jemalloc_malloc)
{
	/* cmp $0x1000,%rdi; ja rel32; lea ..(%rip),%rdx; ... */
	static const uint8_t code[] = {
		0x48, 0x81, 0xff, 0x00, 0x10, 0x00, 0x00, 0x0f, 0x87, 0x93, 0x00, 0x00,
		0x00, 0x48, 0x8d, 0x15, 0x5c, 0x7f, 0x2c, 0x00, 0x48, 0x8d, 0x47, 0x07,
		0x48, 0x8b, 0x0d, 0x49, 0x96, 0x0a, 0x00, 0x48,
	};
	struct insn_place p;

	PLACE(code, 1, &p);
	placed(&p, 7, 1, "past cmp $imm32,%rdi onto ja rel32");
}

TEST(insn_jemalloc_rallocx)
{
	/* The whole function (7 bytes): xor %ecx,%ecx; jmp rel32 */
	static const uint8_t code[] = { 0x31, 0xc9, 0xe9, 0xe9, 0x1c, 0xff, 0xff };
	struct insn_place p;

	PLACE(code, 3, &p);
	placed(&p, 2, 1, "rcx is not among 3 arguments: onto jmp");
	PLACE(code, 4, &p);
	placed(&p, 0, 0, "rcx is the 4th argument: stay at +0");
}

TEST(insn_arg_written_before_push)
{
	static const uint8_t mov_rdi[] = { 0x48, 0x89, 0xc7, 0x55 };	/* mov %rax,%rdi; push %rbp */
	static const uint8_t mov_rsi[] = { 0x48, 0x89, 0xc6, 0x55 };	/* mov %rax,%rsi; push %rbp */
	static const uint8_t mov_r8[] = { 0x49, 0x89, 0xc0, 0x55 };	/* mov %rax,%r8; push %rbp */
	static const uint8_t load_rdx[] = { 0x48, 0x8b, 0x55, 0x08, 0x53 }; /* mov 8(%rbp),%rdx; push */
	static const uint8_t imm_rdi[] = { 0xbf, 0x01, 0x00, 0x00, 0x00, 0x53 }; /* mov $1,%edi; push */
	struct insn_place p;

	PLACE(mov_rdi, 1, &p);
	placed(&p, 0, 0, "mov to rdi");
	PLACE(mov_rsi, 1, &p);
	placed(&p, 3, 1, "rsi is not read with one argument");
	PLACE(mov_rsi, 2, &p);
	placed(&p, 0, 0, "rsi is the 2nd argument");
	PLACE(mov_r8, 4, &p);
	placed(&p, 3, 1, "r8 (REX.B) is not among 4 arguments");
	PLACE(mov_r8, 5, &p);
	placed(&p, 0, 0, "r8 is the 5th argument");
	PLACE(load_rdx, 2, &p);
	placed(&p, 4, 1, "rdx is not among 2 arguments");
	PLACE(load_rdx, 3, &p);
	placed(&p, 0, 0, "load into rdx, the 3rd argument");
	PLACE(imm_rdi, 1, &p);
	placed(&p, 0, 0, "mov imm into edi");
	ASSERT_HAS_STR(p.why, "writes an argument", "why");
}

TEST(insn_rsp_written_before_push)
{
	static const uint8_t sub_rsp[] = { 0x48, 0x83, 0xec, 0x08, 0x55 };	/* sub $8,%rsp; push */
	static const uint8_t cmp_rsp[] = { 0x48, 0x83, 0xfc, 0x08, 0x55 };	/* cmp $8,%rsp; push */
	struct insn_place p;

	PLACE(sub_rsp, 0, &p);
	placed(&p, 0, 0, "sub from rsp");
	PLACE(cmp_rsp, 0, &p);
	placed(&p, 4, 1, "cmp only reads rsp");
}

TEST(insn_endbr64)
{
	static const uint8_t code[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x41, 0x54, 0x55 };
	struct insn_place p;

	PLACE(code, 1, &p);
	placed(&p, 4, 1, "past endbr64 onto push %r12");
}

TEST(insn_branch_into_prologue)
{
	/* test %rdi,%rdi; je ret; add $1,%rax; jmp rel32 to +3 (the je); ret */
	static const uint8_t jmp32[] = {
		0x48, 0x85, 0xff, 0x74, 0x09, 0x48, 0x83, 0xc0, 0x01,
		0xe9, 0xf5, 0xff, 0xff, 0xff, 0xc3,
	};
	/* the same, jumping to +0: a new call, which a probe at +3 counts once */
	static const uint8_t jmp32_start[] = {
		0x48, 0x85, 0xff, 0x74, 0x09, 0x48, 0x83, 0xc0, 0x01,
		0xe9, 0xf2, 0xff, 0xff, 0xff, 0xc3,
	};
	/* test %rdi,%rdi; je ret; nop; nop; jmp rel8 to +3; ret */
	static const uint8_t jmp8[] = { 0x48, 0x85, 0xff, 0x74, 0x04, 0x90, 0x90, 0xeb, 0xfa, 0xc3 };
	/* test %rdi,%rdi; je ret; nop; nop; jne rel32 to +3; ret */
	static const uint8_t jcc32[] = {
		0x48, 0x85, 0xff, 0x74, 0x08, 0x90, 0x90,
		0x0f, 0x85, 0xf6, 0xff, 0xff, 0xff, 0xc3,
	};
	struct insn_place p;

	PLACE(jmp32, 1, &p);
	placed(&p, 0, 0, "jmp rel32 back to +3");
	ASSERT_HAS_STR(p.why, "branch", "why");
	PLACE(jmp32_start, 1, &p);
	placed(&p, 3, 1, "jmp rel32 back to +0");
	PLACE(jmp8, 1, &p);
	placed(&p, 0, 0, "jmp rel8 back to +3");
	PLACE(jcc32, 1, &p);
	placed(&p, 0, 0, "jne rel32 back to +3");
}

TEST(insn_nothing_to_place_on)
{
	static const uint8_t ret[] = { 0xc3 };
	uint8_t nops[64];
	struct insn_place p;

	insn__place(NULL, 0, 1, &p);
	placed(&p, 0, 0, "empty function");
	PLACE(ret, 1, &p);
	placed(&p, 0, 0, "ret is not decoded");
	memset(nops, 0x90, sizeof(nops));
	nops[sizeof(nops) - 1] = 0x55;	/* a push beyond the bytes worth walking */
	PLACE(nops, 1, &p);
	placed(&p, 0, 0, "no emulated instruction in the first 48 bytes");
	ASSERT_HAS_STR(p.why, "48", "why");
}

TEST(insn_len)
{
	static const struct {
		const char *what;
		uint8_t code[12];
		size_t n;
		int len;
	} cases[] = {
		{ "push %r12", { 0x41, 0x54 }, 2, 2 },
		{ "push %rbp", { 0x55 }, 1, 1 },
		{ "mov %rdi,%rbx", { 0x48, 0x89, 0xfb }, 3, 3 },
		{ "sub $0x10,%rsp", { 0x48, 0x83, 0xec, 0x10 }, 4, 4 },
		{ "cmpb $0,disp32(%rip)", { 0x80, 0x3d, 0x46, 0x1b, 0x14, 0x00, 0x00 }, 7, 7 },
		{ "cmp $imm32,%rdi", { 0x48, 0x81, 0xff, 0x00, 0x10, 0x00, 0x00 }, 7, 7 },
		{ "je rel32", { 0x0f, 0x84, 0xbf, 0x00, 0x00, 0x00 }, 6, 6 },
		{ "je rel8", { 0x74, 0x07 }, 2, 2 },
		{ "call rel32", { 0xe8, 0xbe, 0xbc, 0xff, 0xff }, 5, 5 },
		{ "lea -0x10(%rdi),%rsi", { 0x48, 0x8d, 0x77, 0xf0 }, 4, 4 },
		{ "mov disp32(%rip),%rbx", { 0x48, 0x8b, 0x1d, 0xd6, 0x9e, 0x13, 0x00 }, 7, 7 },
		{ "mov (%rsp),%rdi (SIB)", { 0x48, 0x8b, 0x3c, 0x24 }, 4, 4 },
		{ "mov %rsi,8(%rsp) (SIB+disp8)", { 0x48, 0x89, 0x74, 0x24, 0x08 }, 5, 5 },
		{ "movabs $imm64,%rax", { 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8 }, 10, 10 },
		{ "mov $imm32,%edi", { 0xbf, 1, 0, 0, 0 }, 5, 5 },
		{ "movl $imm32,(%rax)", { 0xc7, 0x00, 0x0c, 0x00, 0x00, 0x00 }, 6, 6 },
		{ "nopw 0(%rax,%rax,1)", { 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00 }, 6, 6 },
		{ "cs nopw 0(%rax,%rax,1)", { 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0 }, 10, 10 },
		{ "endbr64", { 0xf3, 0x0f, 0x1e, 0xfa }, 4, 4 },
		{ "xor %ecx,%ecx", { 0x31, 0xc9 }, 2, 2 },
		{ "test $0x2,%al", { 0xf6, 0xc0, 0x02 }, 3, 3 },
		{ "mul %rdx (not understood)", { 0x48, 0xf7, 0xe2 }, 3, 0 },
		{ "movslq %esi,%r12 (not understood)", { 0x4c, 0x63, 0xe6 }, 3, 0 },
		{ "ret (not understood)", { 0xc3 }, 1, 0 },
		{ "je rel32 cut short", { 0x0f, 0x84, 0xbf, 0x00 }, 4, 0 },
		{ "disp32 cut short", { 0x48, 0x8b, 0x1d, 0xd6, 0x9e }, 5, 0 },
		{ "REX alone", { 0x48 }, 1, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ASSERT_EQ(insn__len(cases[i].code, cases[i].n), cases[i].len, cases[i].what);
}
