/*
 * What the instruction sources share: the opcode table's entry type, the checks every
 * path (assembly, decoding, printing) applies, and the printer.
 */
#ifndef TSBPF_INSN_INTERNAL_H
#define TSBPF_INSN_INTERNAL_H

#include "internal.h"
#include "tsbpf/insn.h"

/* The uapi header is 6.1; these came later (Documentation/bpf/standardization/instruction-set.rst). */
#ifndef BPF_MEMSX
#define BPF_MEMSX 0x80 /* LDX mode: load and sign-extend (Linux 6.6) */
#endif
#ifndef BPF_JCOND
#define BPF_JCOND 0xe0 /* JMP op: conditional pseudo jump, may_goto (Linux 6.9) */
#endif
#ifndef BPF_MAY_GOTO
#define BPF_MAY_GOTO 0 /* src of BPF_JCOND */
#endif

/* How an instruction's fields are used: which are registers, offsets, immediates, and
 * which are reserved (must be zero). */
enum insn_shape {
	SH_ALU_K,    /* dst op= imm */
	SH_ALU_X,    /* dst op= src */
	SH_MOV_K,    /* dst = imm */
	SH_MOV_X,    /* dst = src, dst = (s8)src */
	SH_NEG,      /* dst = -dst */
	SH_END,      /* dst = be16 dst, bswap16 */
	SH_JMP_K,    /* if dst op imm goto off */
	SH_JMP_X,    /* if dst op src goto off */
	SH_JA,       /* goto off */
	SH_GOTOL,    /* gotol imm */
	SH_MAY_GOTO, /* may_goto off */
	SH_CALL,     /* call imm */
	SH_EXIT,     /* exit */
	SH_LDDW,     /* dst = imm64 (two slots) */
	SH_LD_ABS,   /* r0 = *(size *)skb[imm] */
	SH_LD_IND,   /* r0 = *(size *)skb[src + imm] */
	SH_LDX,      /* dst = *(size *)(src + off) */
	SH_ST,       /* *(size *)(dst + off) = imm */
	SH_STX,      /* *(size *)(dst + off) = src */
	SH_ATOMIC,   /* atomic op on *(size *)(dst + off) with src */
};

/* The field that tells apart instructions sharing an opcode byte. */
enum insn_key {
	KEY_NONE,
	KEY_OFF,
	KEY_IMM,
	KEY_SRC,
};

/* One instruction of the ISA. */
struct insn_op {
	uint8_t code;
	uint8_t shape;
	uint8_t key;
	int32_t key_val;
	const char *name; /* in messages: "sdiv", "jeq", "atomic_fetch_add" */
	const char *sym;  /* in llvm-objdump's text: "s/=", "==", "bswap16", "add" */
};

/*
 * The op an instruction is, or NULL with the reason in `why` (an unknown opcode, or a
 * distinguishing field that names no instruction). Only code and the key field are read.
 */
const struct insn_op *insn_op_find(const struct tsbpf_insn *in, char *why, size_t why_len);

/*
 * Every check of one instruction that needs nothing but the instruction: the op exists,
 * registers are r0..r10, reserved fields are zero, immediates fit. `has_sym` says the
 * entry names a symbol (then the fields the symbol resolves are not checked yet).
 * Returns the op, or NULL with the reason in `why`.
 */
const struct insn_op *insn_check(const struct tsbpf_insn *in, bool has_sym, char *why, size_t why_len);

/* The relative target of a jump, gotol, may_goto, bpf-to-bpf call or ld_imm64 of a
 * function (counted in slots from the next instruction), and whether it has one. */
bool insn_rel_target(const struct insn_op *op, const struct tsbpf_insn *in, int64_t *rel);

/*
 * Prints one checked instruction in llvm-objdump's syntax. `sym` is the name the entry
 * refers to (NULL: print numbers). Returns the length written (< cap, NUL-terminated).
 */
uint32_t insn_print(const struct insn_op *op, const struct tsbpf_insn *in, const char *sym, uint32_t flags, char *out,
		    uint32_t cap);

#endif
