/* insn.c - a small x86-64 decoder for the prologues of allocator entry points:
 * enough to step over instructions that leave the arguments and rsp alone. */
#include <stdio.h>
#include <string.h>
#include "elf/insn.h"

enum { R_AX, R_CX, R_DX, R_BX, R_SP, R_BP, R_SI, R_DI, R_8, R_9 };
static const int arg_regs[6] = { R_DI, R_SI, R_DX, R_CX, R_8, R_9 };

#define MAX_SCAN 64	/* bytes of prologue worth walking (jemalloc's free: a jne at +48) */

struct dec {
	int len;	/* 0: not understood */
	int emulated;	/* push, jmp, jcc, call */
	int dest;	/* register written, -1 none (flags or memory only) */
};

/* Decodes ModRM (+SIB, displacement); returns bytes used or 0. */
static int modrm_len(const uint8_t *p, size_t n, int *mod, int *reg, int *rm)
{
	int used = 1;

	if (n < 1)
		return 0;
	*mod = p[0] >> 6;
	*reg = (p[0] >> 3) & 7;
	*rm = p[0] & 7;
	if (*mod != 3 && *rm == 4) {	/* SIB */
		if (n < 2)
			return 0;
		used++;
		if (*mod == 0 && (p[1] & 7) == 5)
			used += 4;
	}
	if (*mod == 0 && *rm == 5)
		used += 4;		/* rip-relative */
	else if (*mod == 1)
		used += 1;
	else if (*mod == 2)
		used += 4;
	return (size_t)used <= n ? used : 0;
}

static void decode(const uint8_t *p, size_t n, struct dec *d)
{
	int rex = 0, opsz16 = 0, mod, reg, rm, m;
	size_t i = 0;
	uint8_t op;

	memset(d, 0, sizeof(*d));
	d->dest = -1;
	if (n >= 4 && p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa) {
		d->len = 4;	/* endbr64 */
		return;
	}
	/* operand size, rep, and segment prefixes (%fs: thread-local reads in fast paths) */
	while (i < n && (p[i] == 0x66 || p[i] == 0xf2 || p[i] == 0xf3 || p[i] == 0x2e || p[i] == 0x3e ||
			 p[i] == 0x64 || p[i] == 0x65)) {
		opsz16 |= p[i] == 0x66;
		i++;
	}
	if (i < n && (p[i] & 0xf0) == 0x40)
		rex = p[i++];
	if (i >= n)
		return;
	op = p[i++];
#define RB(x) ((x) | ((rex & 1) << 3))	/* rm / opcode register with REX.B */
#define RR(x) ((x) | ((rex & 4) << 1))	/* reg field with REX.R */
#define MODRM() do { m = modrm_len(p + i, n - i, &mod, &reg, &rm); if (!m) return; i += m; } while (0)
	switch (op) {
	case 0x50 ... 0x57:		/* push */
		d->emulated = 1;
		break;
	case 0x70 ... 0x7f:		/* jcc rel8 */
	case 0xeb:			/* jmp rel8 */
		i += 1;
		d->emulated = 1;
		break;
	case 0xe8:			/* call rel32 */
	case 0xe9:			/* jmp rel32 */
		i += 4;
		d->emulated = 1;
		break;
	case 0x90:			/* nop */
		break;
	case 0x0f:
		if (i >= n)
			return;
		op = p[i++];
		if (op >= 0x80 && op <= 0x8f) {	/* jcc rel32 */
			i += 4;
			d->emulated = 1;
		} else if (op == 0x1f) {	/* nop r/m */
			MODRM();
		} else if (op == 0xb6 || op == 0xb7 || op == 0xbe || op == 0xbf) { /* movzx, movsx */
			MODRM();
			d->dest = RR(reg);
		} else {
			return;
		}
		break;
	case 0x84: case 0x85:		/* test */
	case 0x38: case 0x39: case 0x3a: case 0x3b: /* cmp */
		MODRM();
		break;
	case 0x3c: i += 1; break;	/* cmp al, imm8 */
	case 0x3d: i += opsz16 ? 2 : 4; break;
	case 0xa8: i += 1; break;	/* test al, imm8 */
	case 0xa9: i += opsz16 ? 2 : 4; break;
	case 0x04: case 0x0c: case 0x24: case 0x2c: case 0x34: /* add/or/and/sub/xor al, imm8 */
		i += 1;
		d->dest = R_AX;
		break;
	case 0x05: case 0x0d: case 0x25: case 0x2d: case 0x35: /* ... eax/rax, imm32 */
		i += opsz16 ? 2 : 4;
		d->dest = R_AX;
		break;
	case 0xc1: case 0xd1: case 0xd3: /* group 2: rol..sar r/m, imm8 / 1 / cl */
		MODRM();
		i += op == 0xc1;
		if (mod == 3)
			d->dest = RB(rm);
		break;
	case 0x63:			/* movsxd r, r/m32 */
		MODRM();
		d->dest = RR(reg);
		break;
	case 0x80: case 0x81: case 0x83: /* group 1: add..cmp r/m, imm */
		MODRM();
		i += op == 0x81 ? (opsz16 ? 2 : 4) : 1;
		if (reg != 7 && mod == 3)	/* everything but cmp writes r/m */
			d->dest = RB(rm);
		break;
	case 0xf6: case 0xf7:		/* only test r/m, imm */
		MODRM();
		if (reg != 0)
			return;
		i += op == 0xf7 ? (opsz16 ? 2 : 4) : 1;
		break;
	case 0x88: case 0x89:		/* mov r/m, r */
	case 0x00: case 0x01: case 0x08: case 0x09: case 0x20: case 0x21:
	case 0x28: case 0x29: case 0x30: case 0x31: /* add/or/and/sub/xor r/m, r */
		MODRM();
		if (mod == 3)
			d->dest = RB(rm);
		break;
	case 0x8a: case 0x8b: case 0x8d: /* mov r, r/m; lea */
	case 0x02: case 0x03: case 0x0a: case 0x0b: case 0x22: case 0x23:
	case 0x2a: case 0x2b: case 0x32: case 0x33:
		MODRM();
		if (op == 0x8d && mod == 3)
			return;
		d->dest = RR(reg);
		break;
	case 0xb8 ... 0xbf:		/* mov reg, imm */
		i += (rex & 8) ? 8 : (opsz16 ? 2 : 4);
		d->dest = RB(op & 7);
		break;
	case 0xc7:			/* mov r/m, imm32 */
		MODRM();
		if (reg != 0)
			return;
		i += opsz16 ? 2 : 4;
		if (mod == 3)
			d->dest = RB(rm);
		break;
	default:
		return;
	}
	if (i <= n)
		d->len = (int)i;
#undef RB
#undef RR
#undef MODRM
}

int insn__len(const uint8_t *code, size_t len)
{
	struct dec d;

	decode(code, len, &d);
	return d.len;
}

int insn__emulated(const uint8_t *code, size_t len)
{
	struct dec d;

	decode(code, len, &d);
	return d.len && d.emulated;
}

static int is_arg(int reg, int nargs)
{
	for (int k = 0; k < nargs && k < 6; k++)
		if (arg_regs[k] == reg)
			return 1;
	return 0;
}

/* A branch anywhere in the function into (0, off] would make the probe fire twice
 * per call. rel32 targets are exact; rel8 ones are matched on raw bytes, so a false
 * hit only costs the cheaper placement, never a wrong count. */
static int branch_into(const uint8_t *code, size_t len, uint32_t off)
{
	for (size_t i = 0; i + 2 <= len; i++) {
		int64_t t = -1;

		if ((code[i] == 0xe8 || code[i] == 0xe9) && i + 5 <= len) {
			int32_t rel;
			memcpy(&rel, code + i + 1, 4);
			t = (int64_t)i + 5 + rel;
		} else if (code[i] == 0x0f && (code[i + 1] & 0xf0) == 0x80 && i + 6 <= len) {
			int32_t rel;
			memcpy(&rel, code + i + 2, 4);
			t = (int64_t)i + 6 + rel;
		} else if ((code[i] == 0xeb || (code[i] & 0xf0) == 0x70) && i > off) {
			t = (int64_t)i + 2 + (int8_t)code[i + 1];
		}
		if (t > 0 && t <= off)
			return 1;
	}
	return 0;
}

void insn__place(const uint8_t *code, size_t len, int nargs, struct insn_place *out)
{
	size_t off = 0, lim = len < MAX_SCAN ? len : MAX_SCAN;
	struct dec d;

	memset(out, 0, sizeof(*out));
	while (off < lim) {
		decode(code + off, len - off, &d);
		if (!d.len) {
			snprintf(out->why, sizeof(out->why), "+%zu: instruction not decoded", off);
			return;
		}
		if (d.emulated) {
			if (off && branch_into(code, len, (uint32_t)off)) {
				snprintf(out->why, sizeof(out->why),
					 "+%zu emulated but a branch lands inside the prologue", off);
				return;
			}
			out->offset = (uint32_t)off;
			out->emulated = 1;
			snprintf(out->why, sizeof(out->why), "+%zu: emulated instruction", off);
			return;
		}
		if (d.dest == R_SP || (d.dest >= 0 && is_arg(d.dest, nargs))) {
			snprintf(out->why, sizeof(out->why), "+%zu writes an argument or rsp", off);
			return;
		}
		off += d.len;
	}
	snprintf(out->why, sizeof(out->why), "no emulated instruction in the first %zu bytes", lim);
}
