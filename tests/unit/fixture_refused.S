/* refused.S - fixture: a program with no libc whose malloc starts with an
 * instruction the kernel will not place a uprobe on (in %dx,%al). It never calls
 * malloc: it only sleeps, so fragscope can try to attach to it by PID. */
	.globl malloc, free, _start
	.type malloc, @function
	.type free, @function
	.text
malloc:
	inb %dx, %al
	xor %eax, %eax
	ret
free:
	inb %dx, %al
	ret
_start:
	/* nanosleep({60, 0}) then exit(0) */
	lea ts(%rip), %rdi
	xor %esi, %esi
	mov $35, %eax
	syscall
	mov $60, %eax
	xor %edi, %edi
	syscall
	.data
ts:	.quad 60, 0
