/*
 * Printing instructions in llvm-objdump's BPF syntax ("r1 = *(u32 *)(r2 + 4)",
 * "if w1 > 5 goto +3", "lock *(u64 *)(r1 + 0) += r2"). Numbers are decimal, or hex as with
 * --print-imm-hex; sub-64-bit loads and stores print w registers as with --mattr=+alu32.
 *
 * Where LLVM's text would drop a field, the field is printed: the upper half of a pseudo
 * ld_imm64 (a map value's offset) is part of the printed 64-bit immediate, and a non-zero
 * imm of ld_ind shows as skb[r1 + 4]. Instructions newer than LLVM 14 use the syntax later
 * LLVM prints (s/=, (s8), bswap16, gotol, may_goto, *(s8 *), stores of an immediate).
 */
#include <stdio.h>

#include "insn_internal.h"

struct text {
	char *p;
	uint32_t cap;
	uint32_t len;
};

/* Appenders without printf: a disassembly prints millions of these, and vsnprintf is slow. */
static void put_c(struct text *t, char c)
{
	if (t->len + 1 < t->cap) {
		t->p[t->len++] = c;
		t->p[t->len] = '\0';
	}
}

static void put_s(struct text *t, const char *s)
{
	while (*s)
		put_c(t, *s++);
}

static void put_u64(struct text *t, uint64_t v, unsigned base)
{
	char digits[24];
	int n = 0;

	do {
		digits[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n)
		put_c(t, digits[--n]);
}

/* A signed number as LLVM formats an immediate: 42, -1, 0x2a, -0x1. */
static void put_imm(struct text *t, int64_t v, bool hex)
{
	uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	if (v < 0)
		put_c(t, '-');
	if (hex)
		put_s(t, "0x");
	put_u64(t, mag, hex ? 16 : 10);
}

/* r1, w10 */
static void put_reg(struct text *t, char prefix, int32_t n)
{
	put_c(t, prefix);
	put_imm(t, n, false);
}

/* A jump offset: +3, -4, or <label>. */
static void put_target(struct text *t, int64_t rel, const char *sym, bool hex)
{
	if (sym) {
		put_c(t, '<');
		put_s(t, sym);
		put_c(t, '>');
		return;
	}
	if (rel >= 0)
		put_c(t, '+');
	put_imm(t, rel, hex);
}

/* A memory operand without its parentheses: r1 + 4, r10 - 8. */
static void put_addr(struct text *t, int32_t base, int32_t off, bool hex)
{
	put_reg(t, 'r', base);
	put_s(t, off < 0 ? " - " : " + ");
	put_imm(t, off < 0 ? -(int64_t)off : off, hex);
}

uint32_t insn_print(const struct insn_op *op, const struct tsbpf_insn *in, const char *sym, uint32_t flags, char *out,
		    uint32_t cap)
{
	struct text t = { out, cap, 0 };
	bool hex = flags & TSBPF_INSNS_HEX;
	bool alu32 = flags & TSBPF_INSNS_ALU32;
	uint8_t cls = (uint8_t)(in->code & 0x07);
	/* 32-bit classes name the lower halves of registers */
	char r = cls == BPF_ALU || cls == BPF_JMP32 ? 'w' : 'r';
	bool narrow = (in->code & 0x18) != BPF_DW;
	int64_t rel = 0;

	CORE_ASSERT(cap > 0);
	out[0] = '\0';
	insn_rel_target(op, in, &rel);
	switch (op->shape) {
	case SH_ALU_K:
	case SH_ALU_X:
		put_reg(&t, r, in->dst);
		put_c(&t, ' ');
		put_s(&t, op->sym);
		put_c(&t, ' ');
		if (op->shape == SH_ALU_K)
			put_imm(&t, in->imm, hex);
		else
			put_reg(&t, r, in->src);
		break;
	case SH_MOV_K:
		put_reg(&t, r, in->dst);
		put_s(&t, " = ");
		put_imm(&t, in->imm, hex);
		break;
	case SH_MOV_X:
		put_reg(&t, r, in->dst);
		put_s(&t, " = ");
		put_s(&t, op->sym); /* "(s8)" for movsx */
		put_reg(&t, r, in->src);
		break;
	case SH_NEG:
		put_reg(&t, r, in->dst);
		put_s(&t, " = -");
		put_reg(&t, r, in->dst);
		break;
	case SH_END:
		/* LLVM prints be/le on full registers whatever the class */
		put_reg(&t, 'r', in->dst);
		put_s(&t, " = ");
		put_s(&t, op->sym);
		put_c(&t, ' ');
		put_reg(&t, 'r', in->dst);
		break;
	case SH_JMP_K:
	case SH_JMP_X:
		put_s(&t, "if ");
		put_reg(&t, r, in->dst);
		put_c(&t, ' ');
		put_s(&t, op->sym);
		put_c(&t, ' ');
		if (op->shape == SH_JMP_K)
			put_imm(&t, in->imm, hex);
		else
			put_reg(&t, r, in->src);
		put_s(&t, " goto ");
		put_target(&t, rel, sym, hex);
		break;
	case SH_JA:
	case SH_GOTOL:
	case SH_MAY_GOTO:
		put_s(&t, op->sym);
		put_c(&t, ' ');
		put_target(&t, rel, sym, hex);
		break;
	case SH_CALL:
		put_s(&t, "call ");
		if (sym)
			put_target(&t, 0, sym, hex);
		else
			put_imm(&t, in->imm, hex);
		break;
	case SH_EXIT:
		put_s(&t, "exit");
		break;
	case SH_LDDW:
		if (in->src == TSBPF_LD_IMM) {
			put_reg(&t, 'r', in->dst);
			put_s(&t, " = ");
			put_imm(&t, in->imm, hex);
			put_s(&t, " ll");
			break;
		}
		put_s(&t, "ld_pseudo ");
		put_reg(&t, 'r', in->dst);
		put_s(&t, ", ");
		put_imm(&t, in->src, hex);
		put_s(&t, ", ");
		if (!sym) {
			put_imm(&t, in->imm, hex);
		} else {
			put_c(&t, '<');
			put_s(&t, sym);
			if (in->src == TSBPF_LD_MAP_VALUE && (in->imm >> 32)) {
				put_c(&t, '+');
				put_imm(&t, in->imm >> 32, hex);
			}
			put_c(&t, '>');
		}
		break;
	case SH_LD_ABS:
	case SH_LD_IND:
		put_s(&t, "r0 = *(");
		put_s(&t, op->sym);
		put_s(&t, " *)skb[");
		if (op->shape == SH_LD_ABS) {
			put_imm(&t, in->imm, hex);
		} else {
			put_reg(&t, 'r', in->src);
			if (in->imm) {
				put_s(&t, in->imm < 0 ? " - " : " + ");
				put_imm(&t, in->imm < 0 ? -in->imm : in->imm, hex);
			}
		}
		put_c(&t, ']');
		break;
	case SH_LDX:
		put_reg(&t, alu32 && narrow && (in->code & 0xe0) == BPF_MEM ? 'w' : 'r', in->dst);
		put_s(&t, " = *(");
		put_s(&t, op->sym);
		put_s(&t, " *)(");
		put_addr(&t, in->src, in->off, hex);
		put_c(&t, ')');
		break;
	case SH_ST:
	case SH_STX:
		put_s(&t, "*(");
		put_s(&t, op->sym);
		put_s(&t, " *)(");
		put_addr(&t, in->dst, in->off, hex);
		put_s(&t, ") = ");
		if (op->shape == SH_ST)
			put_imm(&t, in->imm, hex);
		else
			put_reg(&t, alu32 && narrow ? 'w' : 'r', in->src);
		break;
	case SH_ATOMIC: {
		char v = narrow ? 'w' : 'r';

		if (in->imm == TSBPF_ATOMIC_XCHG || in->imm == TSBPF_ATOMIC_CMPXCHG) {
			bool cmp = in->imm == TSBPF_ATOMIC_CMPXCHG;
			/* xchg_64(r1 + 8, r2), cmpxchg32_32(r1 + 8, w0, w2) */
			put_reg(&t, v, cmp ? 0 : in->src);
			put_s(&t, " = ");
			put_s(&t, op->sym);
			put_s(&t, narrow ? "32_32(" : "_64(");
			put_addr(&t, in->dst, in->off, hex);
			if (cmp) {
				put_s(&t, ", ");
				put_reg(&t, v, 0);
			}
			put_s(&t, ", ");
			put_reg(&t, v, in->src);
			put_c(&t, ')');
		} else if (in->imm & TSBPF_ATOMIC_FETCH) {
			put_reg(&t, v, in->src);
			put_s(&t, " = atomic_fetch_");
			put_s(&t, op->sym);
			put_s(&t, narrow ? "((u32 *)(" : "((u64 *)(");
			put_addr(&t, in->dst, in->off, hex);
			put_s(&t, "), ");
			put_reg(&t, v, in->src);
			put_c(&t, ')');
		} else {
			/* LLVM's one non-alu32 form of a 32-bit atomic is the plain add */
			if (narrow && in->imm == TSBPF_ATOMIC_ADD && !alu32)
				v = 'r';
			put_s(&t, narrow ? "lock *(u32 *)(" : "lock *(u64 *)(");
			put_addr(&t, in->dst, in->off, hex);
			put_s(&t, ") ");
			put_s(&t, op->sym);
			put_s(&t, "= ");
			put_reg(&t, v, in->src);
		}
		break;
	}
	default:
		CORE_ASSERT(0);
	}
	return t.len;
}

int32_t tsbpf_insn_format(const struct tsbpf_insn *insn, const char *strtab, uint32_t strtab_len, uint32_t flags,
			  char *out, uint32_t out_cap)
{
	const struct insn_op *op;
	const char *sym = NULL;
	char why[256];

	tsbpf_begin(-1);
	if (!insn || !out || out_cap < TSBPF_INSN_TEXT_MAX)
		return tsbpf_error(-EINVAL, "missing instruction or output buffer (needs %u bytes)", TSBPF_INSN_TEXT_MAX);
	if (insn->sym) {
		if (!strtab || insn->sym >= strtab_len || !memchr(strtab + insn->sym, '\0', strtab_len - insn->sym))
			return tsbpf_error(-EINVAL, "symbol offset %u is outside the string table", insn->sym);
		sym = strtab + insn->sym;
	}
	if (insn->kind == TSBPF_INSN_KIND_LABEL) {
		if (!sym)
			return tsbpf_error(-TSBPF_ERR_FORMAT, "label without a name");
		return (int32_t)(snprintf(out, out_cap, "%s:", sym) < (int)out_cap ? strlen(out) : out_cap - 1);
	}
	if (insn->kind != TSBPF_INSN_KIND_INSN)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "unknown entry kind %u", insn->kind);
	op = insn_check(insn, sym != NULL, why, sizeof(why));
	if (!op)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "%s", why);
	return (int32_t)insn_print(op, insn, sym, flags, out, out_cap);
}
