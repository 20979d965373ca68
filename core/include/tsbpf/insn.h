/*
 * Instructions: the core's one table of the BPF instruction set (ISA v4, as the kernel's
 * Documentation/bpf/standardization describes it, plus may_goto), and what is built on it:
 *  - assembly: structured instructions with labels, jumps and calls to labels and maps named
 *    by their fd, resolved and encoded into the kernel's 8-byte struct bpf_insn;
 *  - decoding: raw bytecode back into structured instructions, validated;
 *  - printing: llvm-objdump's BPF syntax;
 *  - the program tag the kernel reports (bpf_prog_calc_tag).
 *
 * The host only gathers operands: every opcode below is checked against <linux/bpf.h> in
 * insn_table.c, and every rule (registers, reserved fields, ld_imm64 pairs, jump targets)
 * is the core's.
 */
#ifndef TSBPF_INSN_H
#define TSBPF_INSN_H

#include "abi.h"

/*
 * Every opcode byte of the ISA. Where one byte stands for several instructions, another
 * field tells them apart: off for sdiv/smod (TSBPF_OFF_SIGNED) and movsx (8/16/32), imm for
 * byte swaps (16/32/64) and atomics (enum tsbpf_atomic_op), src for calls and ld_imm64.
 */
enum tsbpf_opcode {
	TSBPF_OP_ADD64_IMM = 0x07,
	TSBPF_OP_ADD64_REG = 0x0f,
	TSBPF_OP_SUB64_IMM = 0x17,
	TSBPF_OP_SUB64_REG = 0x1f,
	TSBPF_OP_MUL64_IMM = 0x27,
	TSBPF_OP_MUL64_REG = 0x2f,
	TSBPF_OP_DIV64_IMM = 0x37,
	TSBPF_OP_DIV64_REG = 0x3f,
	TSBPF_OP_OR64_IMM = 0x47,
	TSBPF_OP_OR64_REG = 0x4f,
	TSBPF_OP_AND64_IMM = 0x57,
	TSBPF_OP_AND64_REG = 0x5f,
	TSBPF_OP_LSH64_IMM = 0x67,
	TSBPF_OP_LSH64_REG = 0x6f,
	TSBPF_OP_RSH64_IMM = 0x77,
	TSBPF_OP_RSH64_REG = 0x7f,
	TSBPF_OP_NEG64 = 0x87,
	TSBPF_OP_MOD64_IMM = 0x97,
	TSBPF_OP_MOD64_REG = 0x9f,
	TSBPF_OP_XOR64_IMM = 0xa7,
	TSBPF_OP_XOR64_REG = 0xaf,
	TSBPF_OP_MOV64_IMM = 0xb7,
	TSBPF_OP_MOV64_REG = 0xbf,
	TSBPF_OP_ARSH64_IMM = 0xc7,
	TSBPF_OP_ARSH64_REG = 0xcf,
	TSBPF_OP_BSWAP = 0xd7,
	TSBPF_OP_ADD32_IMM = 0x04,
	TSBPF_OP_ADD32_REG = 0x0c,
	TSBPF_OP_SUB32_IMM = 0x14,
	TSBPF_OP_SUB32_REG = 0x1c,
	TSBPF_OP_MUL32_IMM = 0x24,
	TSBPF_OP_MUL32_REG = 0x2c,
	TSBPF_OP_DIV32_IMM = 0x34,
	TSBPF_OP_DIV32_REG = 0x3c,
	TSBPF_OP_OR32_IMM = 0x44,
	TSBPF_OP_OR32_REG = 0x4c,
	TSBPF_OP_AND32_IMM = 0x54,
	TSBPF_OP_AND32_REG = 0x5c,
	TSBPF_OP_LSH32_IMM = 0x64,
	TSBPF_OP_LSH32_REG = 0x6c,
	TSBPF_OP_RSH32_IMM = 0x74,
	TSBPF_OP_RSH32_REG = 0x7c,
	TSBPF_OP_NEG32 = 0x84,
	TSBPF_OP_MOD32_IMM = 0x94,
	TSBPF_OP_MOD32_REG = 0x9c,
	TSBPF_OP_XOR32_IMM = 0xa4,
	TSBPF_OP_XOR32_REG = 0xac,
	TSBPF_OP_MOV32_IMM = 0xb4,
	TSBPF_OP_MOV32_REG = 0xbc,
	TSBPF_OP_ARSH32_IMM = 0xc4,
	TSBPF_OP_ARSH32_REG = 0xcc,
	TSBPF_OP_LE = 0xd4,
	TSBPF_OP_BE = 0xdc,
	TSBPF_OP_JA = 0x05,
	TSBPF_OP_JEQ_IMM = 0x15,
	TSBPF_OP_JEQ_REG = 0x1d,
	TSBPF_OP_JGT_IMM = 0x25,
	TSBPF_OP_JGT_REG = 0x2d,
	TSBPF_OP_JGE_IMM = 0x35,
	TSBPF_OP_JGE_REG = 0x3d,
	TSBPF_OP_JSET_IMM = 0x45,
	TSBPF_OP_JSET_REG = 0x4d,
	TSBPF_OP_JNE_IMM = 0x55,
	TSBPF_OP_JNE_REG = 0x5d,
	TSBPF_OP_JSGT_IMM = 0x65,
	TSBPF_OP_JSGT_REG = 0x6d,
	TSBPF_OP_JSGE_IMM = 0x75,
	TSBPF_OP_JSGE_REG = 0x7d,
	TSBPF_OP_CALL = 0x85,
	TSBPF_OP_EXIT = 0x95,
	TSBPF_OP_JLT_IMM = 0xa5,
	TSBPF_OP_JLT_REG = 0xad,
	TSBPF_OP_JLE_IMM = 0xb5,
	TSBPF_OP_JLE_REG = 0xbd,
	TSBPF_OP_JSLT_IMM = 0xc5,
	TSBPF_OP_JSLT_REG = 0xcd,
	TSBPF_OP_JSLE_IMM = 0xd5,
	TSBPF_OP_JSLE_REG = 0xdd,
	TSBPF_OP_MAY_GOTO = 0xe5,
	TSBPF_OP_GOTOL = 0x06,
	TSBPF_OP_JEQ32_IMM = 0x16,
	TSBPF_OP_JEQ32_REG = 0x1e,
	TSBPF_OP_JGT32_IMM = 0x26,
	TSBPF_OP_JGT32_REG = 0x2e,
	TSBPF_OP_JGE32_IMM = 0x36,
	TSBPF_OP_JGE32_REG = 0x3e,
	TSBPF_OP_JSET32_IMM = 0x46,
	TSBPF_OP_JSET32_REG = 0x4e,
	TSBPF_OP_JNE32_IMM = 0x56,
	TSBPF_OP_JNE32_REG = 0x5e,
	TSBPF_OP_JSGT32_IMM = 0x66,
	TSBPF_OP_JSGT32_REG = 0x6e,
	TSBPF_OP_JSGE32_IMM = 0x76,
	TSBPF_OP_JSGE32_REG = 0x7e,
	TSBPF_OP_JLT32_IMM = 0xa6,
	TSBPF_OP_JLT32_REG = 0xae,
	TSBPF_OP_JLE32_IMM = 0xb6,
	TSBPF_OP_JLE32_REG = 0xbe,
	TSBPF_OP_JSLT32_IMM = 0xc6,
	TSBPF_OP_JSLT32_REG = 0xce,
	TSBPF_OP_JSLE32_IMM = 0xd6,
	TSBPF_OP_JSLE32_REG = 0xde,
	TSBPF_OP_LD_IMM64 = 0x18,
	TSBPF_OP_LD_ABS_W = 0x20,
	TSBPF_OP_LD_ABS_H = 0x28,
	TSBPF_OP_LD_ABS_B = 0x30,
	TSBPF_OP_LD_IND_W = 0x40,
	TSBPF_OP_LD_IND_H = 0x48,
	TSBPF_OP_LD_IND_B = 0x50,
	TSBPF_OP_LDX_W = 0x61,
	TSBPF_OP_LDX_H = 0x69,
	TSBPF_OP_LDX_B = 0x71,
	TSBPF_OP_LDX_DW = 0x79,
	TSBPF_OP_LDXS_W = 0x81,
	TSBPF_OP_LDXS_H = 0x89,
	TSBPF_OP_LDXS_B = 0x91,
	TSBPF_OP_ST_W = 0x62,
	TSBPF_OP_ST_H = 0x6a,
	TSBPF_OP_ST_B = 0x72,
	TSBPF_OP_ST_DW = 0x7a,
	TSBPF_OP_STX_W = 0x63,
	TSBPF_OP_STX_H = 0x6b,
	TSBPF_OP_STX_B = 0x73,
	TSBPF_OP_STX_DW = 0x7b,
	TSBPF_OP_ATOMIC32 = 0xc3,
	TSBPF_OP_ATOMIC64 = 0xdb,
};

/* The off field that turns div/mod into sdiv/smod and a register mov into movsx. */
enum tsbpf_insn_off {
	TSBPF_OFF_SIGNED = 1,
	TSBPF_OFF_MOVSX8 = 8,
	TSBPF_OFF_MOVSX16 = 16,
	TSBPF_OFF_MOVSX32 = 32,
};

/* The imm of TSBPF_OP_ATOMIC32/64: an operation, plus TSBPF_ATOMIC_FETCH to return the old value. */
enum tsbpf_atomic_op {
	TSBPF_ATOMIC_ADD = 0x00,
	TSBPF_ATOMIC_OR = 0x40,
	TSBPF_ATOMIC_AND = 0x50,
	TSBPF_ATOMIC_XOR = 0xa0,
	TSBPF_ATOMIC_FETCH = 0x01,
	TSBPF_ATOMIC_XCHG = 0xe1,
	TSBPF_ATOMIC_CMPXCHG = 0xf1,
};

/* The src of TSBPF_OP_LD_IMM64: what the 64-bit immediate is (BPF_PSEUDO_*). */
enum tsbpf_ld_pseudo {
	TSBPF_LD_IMM = 0,
	TSBPF_LD_MAP_FD = 1,
	TSBPF_LD_MAP_VALUE = 2,
	TSBPF_LD_BTF_ID = 3,
	TSBPF_LD_FUNC = 4,
	TSBPF_LD_MAP_IDX = 5,
	TSBPF_LD_MAP_IDX_VALUE = 6,
};

/* The src of TSBPF_OP_CALL: what imm names. */
enum tsbpf_call_kind {
	TSBPF_CALL_HELPER = 0,
	TSBPF_CALL_SUBPROG = 1,
	TSBPF_CALL_KFUNC = 2,
};

/* What an entry of the structured form is. */
enum tsbpf_insn_kind {
	TSBPF_INSN_KIND_INSN = 0,
	TSBPF_INSN_KIND_LABEL = 1,
};

/* Flags of assembly, decoding and printing. */
enum tsbpf_insns_flag {
	TSBPF_INSNS_FRAGMENT = 1, /* a piece of a program: jump and call targets are not checked */
	TSBPF_INSNS_TEXT = 2,     /* decode: also print every instruction */
	TSBPF_INSNS_HEX = 4,      /* print immediates in hex, as llvm-objdump --print-imm-hex */
	TSBPF_INSNS_ALU32 = 8,    /* print w registers for sub-64-bit memory access, as --mattr=+alu32 */
};

/* Hash of the program tag: SHA-1 before Linux 6.18, SHA-256 since. */
enum tsbpf_tag_hash {
	TSBPF_TAG_SHA1 = 1,
	TSBPF_TAG_SHA256 = 2,
};

/* Room one printed instruction may take, NUL included. */
#define TSBPF_INSN_TEXT_MAX 160

/*
 * One entry of the structured form: an instruction (ld_imm64 is one instruction of width 2
 * with a 64-bit imm), or a label definition naming the next instruction.
 *
 * Fields are wider than their encoding so that the core, not a silent truncation, rejects
 * an out-of-range operand. `sym` is the offset of a NUL-terminated name in the string
 * table (0: none; byte 0 of the table is NUL): for a label definition its name, for a jump,
 * gotol, may_goto, call (src TSBPF_CALL_SUBPROG) or ld_imm64 of a function (TSBPF_LD_FUNC)
 * the label it targets, for ld_imm64 of a map (TSBPF_LD_MAP_FD, TSBPF_LD_MAP_VALUE) the
 * name of the map. A map value reference keeps its offset in the upper 32 bits of imm.
 */
struct tsbpf_insn {
	int32_t code;
	int32_t dst;
	int32_t src;
	int32_t off;
	int64_t imm;
	uint32_t sym;
	uint16_t kind;
	uint16_t width;
};

/* A map the assembly may name: `name` is an offset in the string table. */
struct tsbpf_asm_map {
	uint32_t name;
	int32_t fd;
};

/*
 * Options of tsbpf_insns_assemble. Inputs first, then fields the core fills.
 * `error_index` is the index of the entry an error is about, or -1.
 */
struct tsbpf_asm_opts {
	uint32_t sz;
	uint32_t flags;
	const struct tsbpf_insn *insns;
	uint32_t n_insns;
	const char *strtab;
	uint32_t strtab_len;
	const struct tsbpf_asm_map *maps;
	uint32_t n_maps;
	/* outputs */
	const uint8_t *code;
	uint32_t code_len;
	int32_t error_index;
};

/*
 * Options of tsbpf_insns_decode. `error_index` is the slot (8-byte unit) an error is
 * about, or -1. The text, when asked for, has one line per instruction, each ended by '\n'.
 */
struct tsbpf_decode_opts {
	uint32_t sz;
	uint32_t flags;
	const uint8_t *code;
	uint32_t code_len;
	/* outputs */
	const struct tsbpf_insn *insns;
	uint32_t n_insns;
	const char *text;
	uint32_t text_len;
	int32_t error_index;
};

/* Resolves labels and map names and encodes the entries into bytecode, owned by the core
 * and valid until the next call. Returns the number of bytes, or a negative error whose
 * reason names the entry ("instruction 4: ..."). */
TSBPF_API int32_t tsbpf_insns_assemble(struct tsbpf_asm_opts *opts);
/* Decodes and validates bytecode; returns the number of instructions (ld_imm64 counts once). */
TSBPF_API int32_t tsbpf_insns_decode(struct tsbpf_decode_opts *opts);
/* Prints one entry (symbols by name) into out; returns the text's length without the NUL. */
TSBPF_API int32_t tsbpf_insn_format(const struct tsbpf_insn *insn, const char *strtab, uint32_t strtab_len, uint32_t flags, char *out, uint32_t out_cap);
/* The tag the kernel gives this bytecode: the first 8 bytes of its hash with the fds of
 * map references zeroed. Writes 8 bytes to out; returns 8. */
TSBPF_API int32_t tsbpf_insns_tag(const uint8_t *code, uint32_t code_len, uint32_t hash, uint8_t *out);

#endif
