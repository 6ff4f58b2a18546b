/* Start-up of the EdgeDRNN firmware: interrupts off (on a board the BIOS jumps here with its
 * own enabled, whose handlers use the SRAM this firmware takes over), stack in the SRAM,
 * .bss zeroed, main(), then halt. */
    .section .text.start, "ax"
    .global _start
_start:
    csrci mstatus, 8
    csrw mie, zero
    .option push
    .option norelax
    la gp, __global_pointer$
    .option pop
    la sp, _stack_top
    la t0, _bss_start
    la t1, _bss_end
1:  bgeu t0, t1, 2f
    sw zero, 0(t0)
    addi t0, t0, 4
    j 1b
2:  call main
3:  j 3b
