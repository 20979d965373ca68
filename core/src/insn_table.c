/*
 * The one table of the BPF instruction set, and the checks of a single instruction.
 * Everything else (assembly, decoding, printing, the host's builders) reads it.
 */
#include <stdio.h>

#include "insn_internal.h"

/* Each opcode the host sees, against the kernel's own macros. */
#define OPC(name, value) _Static_assert(TSBPF_OP_##name == (value), "opcode " #name)
OPC(ADD64_IMM, BPF_ALU64 | BPF_ADD | BPF_K);
OPC(ADD64_REG, BPF_ALU64 | BPF_ADD | BPF_X);
OPC(SUB64_IMM, BPF_ALU64 | BPF_SUB | BPF_K);
OPC(SUB64_REG, BPF_ALU64 | BPF_SUB | BPF_X);
OPC(MUL64_IMM, BPF_ALU64 | BPF_MUL | BPF_K);
OPC(MUL64_REG, BPF_ALU64 | BPF_MUL | BPF_X);
OPC(DIV64_IMM, BPF_ALU64 | BPF_DIV | BPF_K);
OPC(DIV64_REG, BPF_ALU64 | BPF_DIV | BPF_X);
OPC(OR64_IMM, BPF_ALU64 | BPF_OR | BPF_K);
OPC(OR64_REG, BPF_ALU64 | BPF_OR | BPF_X);
OPC(AND64_IMM, BPF_ALU64 | BPF_AND | BPF_K);
OPC(AND64_REG, BPF_ALU64 | BPF_AND | BPF_X);
OPC(LSH64_IMM, BPF_ALU64 | BPF_LSH | BPF_K);
OPC(LSH64_REG, BPF_ALU64 | BPF_LSH | BPF_X);
OPC(RSH64_IMM, BPF_ALU64 | BPF_RSH | BPF_K);
OPC(RSH64_REG, BPF_ALU64 | BPF_RSH | BPF_X);
OPC(NEG64, BPF_ALU64 | BPF_NEG | BPF_K);
OPC(MOD64_IMM, BPF_ALU64 | BPF_MOD | BPF_K);
OPC(MOD64_REG, BPF_ALU64 | BPF_MOD | BPF_X);
OPC(XOR64_IMM, BPF_ALU64 | BPF_XOR | BPF_K);
OPC(XOR64_REG, BPF_ALU64 | BPF_XOR | BPF_X);
OPC(MOV64_IMM, BPF_ALU64 | BPF_MOV | BPF_K);
OPC(MOV64_REG, BPF_ALU64 | BPF_MOV | BPF_X);
OPC(ARSH64_IMM, BPF_ALU64 | BPF_ARSH | BPF_K);
OPC(ARSH64_REG, BPF_ALU64 | BPF_ARSH | BPF_X);
OPC(BSWAP, BPF_ALU64 | BPF_END | BPF_TO_LE);
OPC(ADD32_IMM, BPF_ALU | BPF_ADD | BPF_K);
OPC(ADD32_REG, BPF_ALU | BPF_ADD | BPF_X);
OPC(SUB32_IMM, BPF_ALU | BPF_SUB | BPF_K);
OPC(SUB32_REG, BPF_ALU | BPF_SUB | BPF_X);
OPC(MUL32_IMM, BPF_ALU | BPF_MUL | BPF_K);
OPC(MUL32_REG, BPF_ALU | BPF_MUL | BPF_X);
OPC(DIV32_IMM, BPF_ALU | BPF_DIV | BPF_K);
OPC(DIV32_REG, BPF_ALU | BPF_DIV | BPF_X);
OPC(OR32_IMM, BPF_ALU | BPF_OR | BPF_K);
OPC(OR32_REG, BPF_ALU | BPF_OR | BPF_X);
OPC(AND32_IMM, BPF_ALU | BPF_AND | BPF_K);
OPC(AND32_REG, BPF_ALU | BPF_AND | BPF_X);
OPC(LSH32_IMM, BPF_ALU | BPF_LSH | BPF_K);
OPC(LSH32_REG, BPF_ALU | BPF_LSH | BPF_X);
OPC(RSH32_IMM, BPF_ALU | BPF_RSH | BPF_K);
OPC(RSH32_REG, BPF_ALU | BPF_RSH | BPF_X);
OPC(NEG32, BPF_ALU | BPF_NEG | BPF_K);
OPC(MOD32_IMM, BPF_ALU | BPF_MOD | BPF_K);
OPC(MOD32_REG, BPF_ALU | BPF_MOD | BPF_X);
OPC(XOR32_IMM, BPF_ALU | BPF_XOR | BPF_K);
OPC(XOR32_REG, BPF_ALU | BPF_XOR | BPF_X);
OPC(MOV32_IMM, BPF_ALU | BPF_MOV | BPF_K);
OPC(MOV32_REG, BPF_ALU | BPF_MOV | BPF_X);
OPC(ARSH32_IMM, BPF_ALU | BPF_ARSH | BPF_K);
OPC(ARSH32_REG, BPF_ALU | BPF_ARSH | BPF_X);
OPC(LE, BPF_ALU | BPF_END | BPF_TO_LE);
OPC(BE, BPF_ALU | BPF_END | BPF_TO_BE);
OPC(JA, BPF_JMP | BPF_JA);
OPC(JEQ_IMM, BPF_JMP | BPF_JEQ | BPF_K);
OPC(JEQ_REG, BPF_JMP | BPF_JEQ | BPF_X);
OPC(JGT_IMM, BPF_JMP | BPF_JGT | BPF_K);
OPC(JGT_REG, BPF_JMP | BPF_JGT | BPF_X);
OPC(JGE_IMM, BPF_JMP | BPF_JGE | BPF_K);
OPC(JGE_REG, BPF_JMP | BPF_JGE | BPF_X);
OPC(JSET_IMM, BPF_JMP | BPF_JSET | BPF_K);
OPC(JSET_REG, BPF_JMP | BPF_JSET | BPF_X);
OPC(JNE_IMM, BPF_JMP | BPF_JNE | BPF_K);
OPC(JNE_REG, BPF_JMP | BPF_JNE | BPF_X);
OPC(JSGT_IMM, BPF_JMP | BPF_JSGT | BPF_K);
OPC(JSGT_REG, BPF_JMP | BPF_JSGT | BPF_X);
OPC(JSGE_IMM, BPF_JMP | BPF_JSGE | BPF_K);
OPC(JSGE_REG, BPF_JMP | BPF_JSGE | BPF_X);
OPC(CALL, BPF_JMP | BPF_CALL | BPF_K);
OPC(EXIT, BPF_JMP | BPF_EXIT | BPF_K);
OPC(JLT_IMM, BPF_JMP | BPF_JLT | BPF_K);
OPC(JLT_REG, BPF_JMP | BPF_JLT | BPF_X);
OPC(JLE_IMM, BPF_JMP | BPF_JLE | BPF_K);
OPC(JLE_REG, BPF_JMP | BPF_JLE | BPF_X);
OPC(JSLT_IMM, BPF_JMP | BPF_JSLT | BPF_K);
OPC(JSLT_REG, BPF_JMP | BPF_JSLT | BPF_X);
OPC(JSLE_IMM, BPF_JMP | BPF_JSLE | BPF_K);
OPC(JSLE_REG, BPF_JMP | BPF_JSLE | BPF_X);
OPC(MAY_GOTO, BPF_JMP | BPF_JCOND | BPF_K);
OPC(GOTOL, BPF_JMP32 | BPF_JA);
OPC(JEQ32_IMM, BPF_JMP32 | BPF_JEQ | BPF_K);
OPC(JEQ32_REG, BPF_JMP32 | BPF_JEQ | BPF_X);
OPC(JGT32_IMM, BPF_JMP32 | BPF_JGT | BPF_K);
OPC(JGT32_REG, BPF_JMP32 | BPF_JGT | BPF_X);
OPC(JGE32_IMM, BPF_JMP32 | BPF_JGE | BPF_K);
OPC(JGE32_REG, BPF_JMP32 | BPF_JGE | BPF_X);
OPC(JSET32_IMM, BPF_JMP32 | BPF_JSET | BPF_K);
OPC(JSET32_REG, BPF_JMP32 | BPF_JSET | BPF_X);
OPC(JNE32_IMM, BPF_JMP32 | BPF_JNE | BPF_K);
OPC(JNE32_REG, BPF_JMP32 | BPF_JNE | BPF_X);
OPC(JSGT32_IMM, BPF_JMP32 | BPF_JSGT | BPF_K);
OPC(JSGT32_REG, BPF_JMP32 | BPF_JSGT | BPF_X);
OPC(JSGE32_IMM, BPF_JMP32 | BPF_JSGE | BPF_K);
OPC(JSGE32_REG, BPF_JMP32 | BPF_JSGE | BPF_X);
OPC(JLT32_IMM, BPF_JMP32 | BPF_JLT | BPF_K);
OPC(JLT32_REG, BPF_JMP32 | BPF_JLT | BPF_X);
OPC(JLE32_IMM, BPF_JMP32 | BPF_JLE | BPF_K);
OPC(JLE32_REG, BPF_JMP32 | BPF_JLE | BPF_X);
OPC(JSLT32_IMM, BPF_JMP32 | BPF_JSLT | BPF_K);
OPC(JSLT32_REG, BPF_JMP32 | BPF_JSLT | BPF_X);
OPC(JSLE32_IMM, BPF_JMP32 | BPF_JSLE | BPF_K);
OPC(JSLE32_REG, BPF_JMP32 | BPF_JSLE | BPF_X);
OPC(LD_IMM64, BPF_LD | BPF_IMM | BPF_DW);
OPC(LD_ABS_W, BPF_LD | BPF_ABS | BPF_W);
OPC(LD_ABS_H, BPF_LD | BPF_ABS | BPF_H);
OPC(LD_ABS_B, BPF_LD | BPF_ABS | BPF_B);
OPC(LD_IND_W, BPF_LD | BPF_IND | BPF_W);
OPC(LD_IND_H, BPF_LD | BPF_IND | BPF_H);
OPC(LD_IND_B, BPF_LD | BPF_IND | BPF_B);
OPC(LDX_W, BPF_LDX | BPF_MEM | BPF_W);
OPC(LDX_H, BPF_LDX | BPF_MEM | BPF_H);
OPC(LDX_B, BPF_LDX | BPF_MEM | BPF_B);
OPC(LDX_DW, BPF_LDX | BPF_MEM | BPF_DW);
OPC(LDXS_W, BPF_LDX | BPF_MEMSX | BPF_W);
OPC(LDXS_H, BPF_LDX | BPF_MEMSX | BPF_H);
OPC(LDXS_B, BPF_LDX | BPF_MEMSX | BPF_B);
OPC(ST_W, BPF_ST | BPF_MEM | BPF_W);
OPC(ST_H, BPF_ST | BPF_MEM | BPF_H);
OPC(ST_B, BPF_ST | BPF_MEM | BPF_B);
OPC(ST_DW, BPF_ST | BPF_MEM | BPF_DW);
OPC(STX_W, BPF_STX | BPF_MEM | BPF_W);
OPC(STX_H, BPF_STX | BPF_MEM | BPF_H);
OPC(STX_B, BPF_STX | BPF_MEM | BPF_B);
OPC(STX_DW, BPF_STX | BPF_MEM | BPF_DW);
OPC(ATOMIC32, BPF_STX | BPF_ATOMIC | BPF_W);
OPC(ATOMIC64, BPF_STX | BPF_ATOMIC | BPF_DW);
#undef OPC

_Static_assert(TSBPF_ATOMIC_ADD == BPF_ADD && TSBPF_ATOMIC_OR == BPF_OR && TSBPF_ATOMIC_AND == BPF_AND &&
		       TSBPF_ATOMIC_XOR == BPF_XOR && TSBPF_ATOMIC_FETCH == BPF_FETCH &&
		       TSBPF_ATOMIC_XCHG == BPF_XCHG && TSBPF_ATOMIC_CMPXCHG == BPF_CMPXCHG,
	       "atomic operations");
_Static_assert(TSBPF_LD_MAP_FD == BPF_PSEUDO_MAP_FD && TSBPF_LD_MAP_VALUE == BPF_PSEUDO_MAP_VALUE &&
		       TSBPF_LD_BTF_ID == BPF_PSEUDO_BTF_ID && TSBPF_LD_FUNC == BPF_PSEUDO_FUNC &&
		       TSBPF_LD_MAP_IDX == BPF_PSEUDO_MAP_IDX && TSBPF_LD_MAP_IDX_VALUE == BPF_PSEUDO_MAP_IDX_VALUE,
	       "ld_imm64 pseudo sources");
_Static_assert(TSBPF_CALL_SUBPROG == BPF_PSEUDO_CALL && TSBPF_CALL_KFUNC == BPF_PSEUDO_KFUNC_CALL, "call sources");
_Static_assert(sizeof(struct bpf_insn) == 8, "struct bpf_insn is 8 bytes");

#define K(code, shape, name, sym) { code, shape, KEY_NONE, 0, name, sym }
#define KO(code, shape, off, name, sym) { code, shape, KEY_OFF, off, name, sym }
#define KI(code, shape, imm, name, sym) { code, shape, KEY_IMM, imm, name, sym }
#define KS(code, shape, src, name, sym) { code, shape, KEY_SRC, src, name, sym }

/* ALU and ALU64 operations whose only variant is the source. */
#define ALU(op, name, sym)                                                     \
	KO(TSBPF_OP_##op##64_IMM, SH_ALU_K, 0, name, sym),                     \
	KO(TSBPF_OP_##op##64_REG, SH_ALU_X, 0, name, sym),                     \
	KO(TSBPF_OP_##op##32_IMM, SH_ALU_K, 0, name, sym),                     \
	KO(TSBPF_OP_##op##32_REG, SH_ALU_X, 0, name, sym)
/* div and mod: off 1 makes them signed. */
#define ALU_SIGNED(op, name, sym, sname, ssym)                                 \
	KO(TSBPF_OP_##op##64_IMM, SH_ALU_K, 0, name, sym),                     \
	KO(TSBPF_OP_##op##64_IMM, SH_ALU_K, TSBPF_OFF_SIGNED, sname, ssym),    \
	KO(TSBPF_OP_##op##64_REG, SH_ALU_X, 0, name, sym),                     \
	KO(TSBPF_OP_##op##64_REG, SH_ALU_X, TSBPF_OFF_SIGNED, sname, ssym),    \
	KO(TSBPF_OP_##op##32_IMM, SH_ALU_K, 0, name, sym),                     \
	KO(TSBPF_OP_##op##32_IMM, SH_ALU_K, TSBPF_OFF_SIGNED, sname, ssym),    \
	KO(TSBPF_OP_##op##32_REG, SH_ALU_X, 0, name, sym),                     \
	KO(TSBPF_OP_##op##32_REG, SH_ALU_X, TSBPF_OFF_SIGNED, sname, ssym)
#define JMP(op, name, sym)                                                     \
	K(TSBPF_OP_##op##_IMM, SH_JMP_K, name, sym),                           \
	K(TSBPF_OP_##op##_REG, SH_JMP_X, name, sym),                           \
	K(TSBPF_OP_##op##32_IMM, SH_JMP_K, name, sym),                         \
	K(TSBPF_OP_##op##32_REG, SH_JMP_X, name, sym)
#define ATOMIC(code)                                                                       \
	KI(code, SH_ATOMIC, TSBPF_ATOMIC_ADD, "atomic_add", "+"),                          \
	KI(code, SH_ATOMIC, TSBPF_ATOMIC_ADD | TSBPF_ATOMIC_FETCH, "atomic_fetch_add", "add"), \
	KI(code, SH_ATOMIC, TSBPF_ATOMIC_OR, "atomic_or", "|"),                            \
	KI(code, SH_ATOMIC, TSBPF_ATOMIC_OR | TSBPF_ATOMIC_FETCH, "atomic_fetch_or", "or"),    \
	KI(code, SH_ATOMIC, TSBPF_ATOMIC_AND, "atomic_and", "&"),                          \
	KI(code, SH_ATOMIC, TSBPF_ATOMIC_AND | TSBPF_ATOMIC_FETCH, "atomic_fetch_and", "and"), \
	KI(code, SH_ATOMIC, TSBPF_ATOMIC_XOR, "atomic_xor", "^"),                          \
	KI(code, SH_ATOMIC, TSBPF_ATOMIC_XOR | TSBPF_ATOMIC_FETCH, "atomic_fetch_xor", "xor"), \
	KI(code, SH_ATOMIC, TSBPF_ATOMIC_XCHG, "atomic_xchg", "xchg"),                     \
	KI(code, SH_ATOMIC, TSBPF_ATOMIC_CMPXCHG, "atomic_cmpxchg", "cmpxchg")

/* Entries sharing an opcode byte are adjacent; the index below relies on it. */
static const struct insn_op ops[] = {
	ALU(ADD, "add", "+="),
	ALU(SUB, "sub", "-="),
	ALU(MUL, "mul", "*="),
	ALU_SIGNED(DIV, "div", "/=", "sdiv", "s/="),
	ALU(OR, "or", "|="),
	ALU(AND, "and", "&="),
	ALU(LSH, "lsh", "<<="),
	ALU(RSH, "rsh", ">>="),
	ALU_SIGNED(MOD, "mod", "%=", "smod", "s%="),
	ALU(XOR, "xor", "^="),
	ALU(ARSH, "arsh", "s>>="),
	K(TSBPF_OP_NEG64, SH_NEG, "neg", "-"),
	K(TSBPF_OP_NEG32, SH_NEG, "neg", "-"),
	KO(TSBPF_OP_MOV64_IMM, SH_MOV_K, 0, "mov", ""),
	KO(TSBPF_OP_MOV64_REG, SH_MOV_X, 0, "mov", ""),
	KO(TSBPF_OP_MOV64_REG, SH_MOV_X, TSBPF_OFF_MOVSX8, "movsx8", "(s8)"),
	KO(TSBPF_OP_MOV64_REG, SH_MOV_X, TSBPF_OFF_MOVSX16, "movsx16", "(s16)"),
	KO(TSBPF_OP_MOV64_REG, SH_MOV_X, TSBPF_OFF_MOVSX32, "movsx32", "(s32)"),
	KO(TSBPF_OP_MOV32_IMM, SH_MOV_K, 0, "mov", ""),
	KO(TSBPF_OP_MOV32_REG, SH_MOV_X, 0, "mov", ""),
	KO(TSBPF_OP_MOV32_REG, SH_MOV_X, TSBPF_OFF_MOVSX8, "movsx8", "(s8)"),
	KO(TSBPF_OP_MOV32_REG, SH_MOV_X, TSBPF_OFF_MOVSX16, "movsx16", "(s16)"),
	KI(TSBPF_OP_LE, SH_END, 16, "le16", "le16"),
	KI(TSBPF_OP_LE, SH_END, 32, "le32", "le32"),
	KI(TSBPF_OP_LE, SH_END, 64, "le64", "le64"),
	KI(TSBPF_OP_BE, SH_END, 16, "be16", "be16"),
	KI(TSBPF_OP_BE, SH_END, 32, "be32", "be32"),
	KI(TSBPF_OP_BE, SH_END, 64, "be64", "be64"),
	KI(TSBPF_OP_BSWAP, SH_END, 16, "bswap16", "bswap16"),
	KI(TSBPF_OP_BSWAP, SH_END, 32, "bswap32", "bswap32"),
	KI(TSBPF_OP_BSWAP, SH_END, 64, "bswap64", "bswap64"),

	K(TSBPF_OP_JA, SH_JA, "ja", "goto"),
	K(TSBPF_OP_GOTOL, SH_GOTOL, "gotol", "gotol"),
	JMP(JEQ, "jeq", "=="),
	JMP(JGT, "jgt", ">"),
	JMP(JGE, "jge", ">="),
	JMP(JSET, "jset", "&"),
	JMP(JNE, "jne", "!="),
	JMP(JSGT, "jsgt", "s>"),
	JMP(JSGE, "jsge", "s>="),
	JMP(JLT, "jlt", "<"),
	JMP(JLE, "jle", "<="),
	JMP(JSLT, "jslt", "s<"),
	JMP(JSLE, "jsle", "s<="),
	KS(TSBPF_OP_CALL, SH_CALL, TSBPF_CALL_HELPER, "call helper", "call"),
	KS(TSBPF_OP_CALL, SH_CALL, TSBPF_CALL_SUBPROG, "call subprog", "call"),
	KS(TSBPF_OP_CALL, SH_CALL, TSBPF_CALL_KFUNC, "call kfunc", "call"),
	K(TSBPF_OP_EXIT, SH_EXIT, "exit", "exit"),
	KS(TSBPF_OP_MAY_GOTO, SH_MAY_GOTO, BPF_MAY_GOTO, "may_goto", "may_goto"),

	KS(TSBPF_OP_LD_IMM64, SH_LDDW, TSBPF_LD_IMM, "ld_imm64", ""),
	KS(TSBPF_OP_LD_IMM64, SH_LDDW, TSBPF_LD_MAP_FD, "ld_imm64 (map fd)", ""),
	KS(TSBPF_OP_LD_IMM64, SH_LDDW, TSBPF_LD_MAP_VALUE, "ld_imm64 (map value)", ""),
	KS(TSBPF_OP_LD_IMM64, SH_LDDW, TSBPF_LD_BTF_ID, "ld_imm64 (btf id)", ""),
	KS(TSBPF_OP_LD_IMM64, SH_LDDW, TSBPF_LD_FUNC, "ld_imm64 (func)", ""),
	KS(TSBPF_OP_LD_IMM64, SH_LDDW, TSBPF_LD_MAP_IDX, "ld_imm64 (map idx)", ""),
	KS(TSBPF_OP_LD_IMM64, SH_LDDW, TSBPF_LD_MAP_IDX_VALUE, "ld_imm64 (map idx value)", ""),
	K(TSBPF_OP_LD_ABS_W, SH_LD_ABS, "ld_abs", "u32"),
	K(TSBPF_OP_LD_ABS_H, SH_LD_ABS, "ld_abs", "u16"),
	K(TSBPF_OP_LD_ABS_B, SH_LD_ABS, "ld_abs", "u8"),
	K(TSBPF_OP_LD_IND_W, SH_LD_IND, "ld_ind", "u32"),
	K(TSBPF_OP_LD_IND_H, SH_LD_IND, "ld_ind", "u16"),
	K(TSBPF_OP_LD_IND_B, SH_LD_IND, "ld_ind", "u8"),
	K(TSBPF_OP_LDX_W, SH_LDX, "ldx", "u32"),
	K(TSBPF_OP_LDX_H, SH_LDX, "ldx", "u16"),
	K(TSBPF_OP_LDX_B, SH_LDX, "ldx", "u8"),
	K(TSBPF_OP_LDX_DW, SH_LDX, "ldx", "u64"),
	K(TSBPF_OP_LDXS_W, SH_LDX, "ldxs", "s32"),
	K(TSBPF_OP_LDXS_H, SH_LDX, "ldxs", "s16"),
	K(TSBPF_OP_LDXS_B, SH_LDX, "ldxs", "s8"),
	K(TSBPF_OP_ST_W, SH_ST, "st", "u32"),
	K(TSBPF_OP_ST_H, SH_ST, "st", "u16"),
	K(TSBPF_OP_ST_B, SH_ST, "st", "u8"),
	K(TSBPF_OP_ST_DW, SH_ST, "st", "u64"),
	K(TSBPF_OP_STX_W, SH_STX, "stx", "u32"),
	K(TSBPF_OP_STX_H, SH_STX, "stx", "u16"),
	K(TSBPF_OP_STX_B, SH_STX, "stx", "u8"),
	K(TSBPF_OP_STX_DW, SH_STX, "stx", "u64"),
	ATOMIC(TSBPF_OP_ATOMIC32),
	ATOMIC(TSBPF_OP_ATOMIC64),
};

/* ops[] position of the first entry of each opcode byte (+1; 0 = none), and their count. */
static uint8_t first_op[256];
static uint8_t n_ops[256];
_Static_assert(ARRAY_SIZE(ops) < 255, "the index holds positions in a byte");

static void build_index(void)
{
	if (n_ops[ops[0].code])
		return;
	for (uint32_t i = 0; i < ARRAY_SIZE(ops); i++) {
		uint8_t c = ops[i].code;
		if (!n_ops[c])
			first_op[c] = (uint8_t)(i + 1);
		/* adjacency: a second run of the same byte would be lost */
		CORE_ASSERT(first_op[c] + n_ops[c] == i + 1);
		n_ops[c]++;
	}
}

static const char *key_field(uint8_t key)
{
	return key == KEY_OFF ? "off" : key == KEY_IMM ? "imm" : "src";
}

static int64_t key_value(const struct tsbpf_insn *in, uint8_t key)
{
	return key == KEY_OFF ? in->off : key == KEY_IMM ? in->imm : key == KEY_SRC ? in->src : 0;
}

#define WHY(...) (snprintf(why, why_len, __VA_ARGS__), (const struct insn_op *)NULL)

const struct insn_op *insn_op_find(const struct tsbpf_insn *in, char *why, size_t why_len)
{
	const struct insn_op *first;
	uint32_t n;
	size_t used;
	bool hex;

	build_index();
	if (in->code < 0 || in->code > 0xff)
		return WHY("opcode %d is not a byte", (int)in->code);
	n = n_ops[in->code];
	if (!n)
		return WHY("unknown opcode 0x%02x", (unsigned)in->code);
	first = &ops[first_op[in->code] - 1];
	if (first->key == KEY_NONE)
		return first;
	for (uint32_t i = 0; i < n; i++)
		if (key_value(in, first[i].key) == first[i].key_val)
			return &first[i];
	/* atomic operations are bit patterns: hex says more */
	hex = first->shape == SH_ATOMIC;
	used = (size_t)snprintf(why, why_len, hex ? "opcode 0x%02x with %s 0x%llx is no instruction (%s must be"
						  : "opcode 0x%02x with %s %lld is no instruction (%s must be",
				(unsigned)in->code, key_field(first->key), (long long)key_value(in, first->key),
				key_field(first->key));
	for (uint32_t i = 0; i < n && used < why_len; i++)
		used += (size_t)snprintf(why + used, why_len - used, hex ? "%s 0x%x for %s" : "%s %d for %s", i ? "," : "",
					 first[i].key_val, first[i].name);
	if (used < why_len)
		snprintf(why + used, why_len - used, ")");
	return NULL;
}

bool insn_rel_target(const struct insn_op *op, const struct tsbpf_insn *in, int64_t *rel)
{
	switch (op->shape) {
	case SH_JMP_K:
	case SH_JMP_X:
	case SH_JA:
	case SH_MAY_GOTO:
		*rel = in->off;
		return true;
	case SH_GOTOL:
		*rel = in->imm;
		return true;
	case SH_CALL:
		*rel = in->imm;
		return in->src == TSBPF_CALL_SUBPROG;
	case SH_LDDW:
		/* a function's offset is the low half, signed; the high half is zero */
		*rel = (int32_t)(uint32_t)(uint64_t)in->imm;
		return in->src == TSBPF_LD_FUNC;
	default:
		return false;
	}
}

/* Which fields an instruction of each shape uses: the rest are reserved (zero). */
enum { F_DST = 1, F_SRC = 2, F_OFF = 4, F_IMM = 8 };
static const uint8_t shape_fields[] = {
	[SH_ALU_K] = F_DST | F_IMM,
	[SH_ALU_X] = F_DST | F_SRC,
	[SH_MOV_K] = F_DST | F_IMM,
	[SH_MOV_X] = F_DST | F_SRC,
	[SH_NEG] = F_DST,
	[SH_END] = F_DST,
	[SH_JMP_K] = F_DST | F_OFF | F_IMM,
	[SH_JMP_X] = F_DST | F_SRC | F_OFF,
	[SH_JA] = F_OFF,
	[SH_GOTOL] = F_IMM,
	[SH_MAY_GOTO] = F_OFF,
	[SH_CALL] = F_IMM,
	[SH_EXIT] = 0,
	[SH_LDDW] = F_DST | F_IMM,
	[SH_LD_ABS] = F_IMM,
	[SH_LD_IND] = F_SRC | F_IMM,
	[SH_LDX] = F_DST | F_SRC | F_OFF,
	[SH_ST] = F_DST | F_OFF | F_IMM,
	[SH_STX] = F_DST | F_SRC | F_OFF,
	[SH_ATOMIC] = F_DST | F_SRC | F_OFF,
};

const struct insn_op *insn_check(const struct tsbpf_insn *in, bool has_sym, char *why, size_t why_len)
{
	const struct insn_op *op = insn_op_find(in, why, why_len);
	uint8_t fields;
	bool wide;

	if (!op)
		return NULL;
	fields = shape_fields[op->shape];
	/* the key field holds the key's value, which insn_op_find matched */
	if (op->key == KEY_OFF)
		fields |= F_OFF;
	else if (op->key == KEY_IMM)
		fields |= F_IMM;
	else if (op->key == KEY_SRC)
		fields |= F_SRC;
	/* a kfunc call's off picks the module BTF (an fd_array index) */
	if (op->shape == SH_CALL && in->src == TSBPF_CALL_KFUNC)
		fields |= F_OFF;

	if ((fields & F_DST) && (in->dst < 0 || in->dst > 10))
		return WHY("%s: register r%d does not exist (dst; r0 to r10)", op->name, (int)in->dst);
	if (!(fields & F_DST) && in->dst)
		return WHY("%s uses reserved field dst (%d, must be 0)", op->name, (int)in->dst);
	if ((fields & F_SRC) && op->key != KEY_SRC && (in->src < 0 || in->src > 10))
		return WHY("%s: register r%d does not exist (src; r0 to r10)", op->name, (int)in->src);
	if (!(fields & F_SRC) && in->src)
		return WHY("%s uses reserved field src (%d, must be 0)", op->name, (int)in->src);
	if ((fields & F_OFF) && (in->off < INT16_MIN || in->off > INT16_MAX))
		return WHY("%s: offset %d does not fit in 16 bits", op->name, (int)in->off);
	if (!(fields & F_OFF) && in->off)
		return WHY("%s uses reserved field off (%d, must be 0)", op->name, (int)in->off);

	wide = op->shape == SH_LDDW;
	if (!(fields & F_IMM) && in->imm)
		return WHY("%s uses reserved field imm (%lld, must be 0)", op->name, (long long)in->imm);
	if (!wide && (in->imm < INT32_MIN || in->imm > INT32_MAX))
		return WHY("%s: immediate %lld does not fit in 32 bits", op->name, (long long)in->imm);

	if (wide && !has_sym) {
		int64_t hi = (int64_t)((uint64_t)in->imm >> 32);
		/* the kernel keeps the upper half for value offsets and module BTF fds only */
		if (hi && (in->src == TSBPF_LD_MAP_FD || in->src == TSBPF_LD_MAP_IDX || in->src == TSBPF_LD_FUNC))
			return WHY("%s uses reserved field imm of its second half (%lld, must be 0)", op->name,
				   (long long)hi);
	}
	if (op->shape == SH_ALU_K && !has_sym) {
		uint8_t alu = (uint8_t)(in->code & 0xf0);
		int64_t bits = (in->code & 0x07) == BPF_ALU64 ? 64 : 32;
		if ((alu == BPF_DIV || alu == BPF_MOD) && in->imm == 0)
			return WHY("%s by zero", op->name);
		if ((alu == BPF_LSH || alu == BPF_RSH || alu == BPF_ARSH) && (in->imm < 0 || in->imm >= bits))
			return WHY("%s by %lld is out of range for a %lld-bit shift (0 to %lld)", op->name,
				   (long long)in->imm, (long long)bits, (long long)(bits - 1));
	}
	return op;
}
