/*
 * Instructions: the structured form the host builds, and its encoding into
 * the kernel's 8-byte struct bpf_insn.
 */
#ifndef TSBPF_INSN_H
#define TSBPF_INSN_H

#include "abi.h"

/* Opcode bytes the assembler uses, checked against <linux/bpf.h> in insn.c. */
enum tsbpf_op {
	TSBPF_OP_MOV64_IMM = 0xb7,
	TSBPF_OP_EXIT = 0x95,
};

/* One instruction as the host describes it. A 64-bit immediate (ld_imm64)
 * becomes two raw instructions when encoded. */
struct tsbpf_insn {
	uint8_t code;
	uint8_t dst;
	uint8_t src;
	uint8_t pad;
	int16_t off;
	uint16_t pad2;
	int64_t imm;
};

/* Encodes n instructions into out (out_cap bytes). Returns the number of bytes
 * written or a negative error naming the offending instruction. */
TSBPF_API int32_t tsbpf_insns_encode(const struct tsbpf_insn *insns, uint32_t n, uint8_t *out, uint32_t out_cap);

#endif
