/* insn.h - where to put a uprobe in a function's first instructions (x86-64).
 * The kernel emulates push, jmp/jcc/call and single-steps the rest (~13x dearer here),
 * so the probe moves forward to the first emulated instruction while the argument
 * registers and the stack pointer are still as the caller left them. */
#ifndef FS_INSN_H
#define FS_INSN_H

#include <stddef.h>
#include <stdint.h>

struct insn_place {
	uint32_t offset;	/* bytes from the function's start */
	int emulated;		/* the instruction there is one the kernel emulates */
	char why[96];		/* what was decided, for -v */
};

/* code: the function's bytes (as many as known, up to its size); nargs: integer
 * arguments the probe reads (rdi, rsi, rdx, rcx, r8, r9). Never fails: offset 0 is
 * always a valid answer. */
void insn__place(const uint8_t *code, size_t len, int nargs, struct insn_place *out);

/* Length of one instruction of the subset the placer understands, or 0. */
int insn__len(const uint8_t *code, size_t len);

/* 1 if the first instruction of code is one the kernel emulates. */
int insn__emulated(const uint8_t *code, size_t len);

#endif
