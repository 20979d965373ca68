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

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->len + 1 >= t->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->len = t->len + (uint32_t)n < t->cap ? t->len + (uint32_t)n : t->cap - 1;
}

/* A signed number as LLVM formats an immediate: 42, -1, 0x2a, -0x1. */
static void put_imm(struct text *t, int64_t v, bool hex)
{
	if (!hex)
		put(t, "%lld", (long long)v);
	else if (v < 0)
		put(t, "-0x%llx", (unsigned long long)(0 - (uint64_t)v));
	else
		put(t, "0x%llx", (unsigned long long)v);
}

/* A jump offset: +3, -4, or <label>. */
static void put_target(struct text *t, int64_t rel, const char *sym, bool hex)
{
	if (sym) {
		put(t, "<%s>", sym);
		return;
	}
	if (rel >= 0)
		put(t, "+");
	put_imm(t, rel, hex);
}

/* A memory operand without its parentheses: r1 + 4, r10 - 8. */
static void put_addr(struct text *t, int32_t base, int32_t off, bool hex)
{
	put(t, "r%d %c ", (int)base, off < 0 ? '-' : '+');
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
		put(&t, "%c%d %s ", r, (int)in->dst, op->sym);
		put_imm(&t, in->imm, hex);
		break;
	case SH_ALU_X:
		put(&t, "%c%d %s %c%d", r, (int)in->dst, op->sym, r, (int)in->src);
		break;
	case SH_MOV_K:
		put(&t, "%c%d = ", r, (int)in->dst);
		put_imm(&t, in->imm, hex);
		break;
	case SH_MOV_X:
		put(&t, "%c%d = %s%c%d", r, (int)in->dst, op->sym, r, (int)in->src);
		break;
	case SH_NEG:
		put(&t, "%c%d = -%c%d", r, (int)in->dst, r, (int)in->dst);
		break;
	case SH_END:
		/* LLVM prints be/le on full registers whatever the class */
		put(&t, "r%d = %s r%d", (int)in->dst, op->sym, (int)in->dst);
		break;
	case SH_JMP_K:
		put(&t, "if %c%d %s ", r, (int)in->dst, op->sym);
		put_imm(&t, in->imm, hex);
		put(&t, " goto ");
		put_target(&t, rel, sym, hex);
		break;
	case SH_JMP_X:
		put(&t, "if %c%d %s %c%d goto ", r, (int)in->dst, op->sym, r, (int)in->src);
		put_target(&t, rel, sym, hex);
		break;
	case SH_JA:
	case SH_GOTOL:
	case SH_MAY_GOTO:
		put(&t, "%s ", op->sym);
		put_target(&t, rel, sym, hex);
		break;
	case SH_CALL:
		put(&t, "call ");
		if (sym)
			put(&t, "<%s>", sym);
		else
			put_imm(&t, in->imm, hex);
		break;
	case SH_EXIT:
		put(&t, "exit");
		break;
	case SH_LDDW:
		if (in->src == TSBPF_LD_IMM) {
			put(&t, "r%d = ", (int)in->dst);
			put_imm(&t, in->imm, hex);
			put(&t, " ll");
			break;
		}
		put(&t, "ld_pseudo r%d, ", (int)in->dst);
		put_imm(&t, in->src, hex);
		put(&t, ", ");
		if (!sym) {
			put_imm(&t, in->imm, hex);
		} else if (in->src == TSBPF_LD_MAP_VALUE && (in->imm >> 32)) {
			put(&t, "<%s+", sym);
			put_imm(&t, in->imm >> 32, hex);
			put(&t, ">");
		} else {
			put(&t, "<%s>", sym);
		}
		break;
	case SH_LD_ABS:
		put(&t, "r0 = *(%s *)skb[", op->sym);
		put_imm(&t, in->imm, hex);
		put(&t, "]");
		break;
	case SH_LD_IND:
		put(&t, "r0 = *(%s *)skb[r%d", op->sym, (int)in->src);
		if (in->imm) {
			put(&t, " %c ", in->imm < 0 ? '-' : '+');
			put_imm(&t, in->imm < 0 ? -in->imm : in->imm, hex);
		}
		put(&t, "]");
		break;
	case SH_LDX:
		r = alu32 && narrow && (in->code & 0xe0) == BPF_MEM ? 'w' : 'r';
		put(&t, "%c%d = *(%s *)(", r, (int)in->dst, op->sym);
		put_addr(&t, in->src, in->off, hex);
		put(&t, ")");
		break;
	case SH_ST:
		put(&t, "*(%s *)(", op->sym);
		put_addr(&t, in->dst, in->off, hex);
		put(&t, ") = ");
		put_imm(&t, in->imm, hex);
		break;
	case SH_STX:
		put(&t, "*(%s *)(", op->sym);
		put_addr(&t, in->dst, in->off, hex);
		put(&t, ") = %c%d", alu32 && narrow ? 'w' : 'r', (int)in->src);
		break;
	case SH_ATOMIC: {
		bool w = narrow;
		const char *size = w ? "u32" : "u64";
		char v = w ? 'w' : 'r';

		if (in->imm == TSBPF_ATOMIC_XCHG || in->imm == TSBPF_ATOMIC_CMPXCHG) {
			bool cmp = in->imm == TSBPF_ATOMIC_CMPXCHG;
			put(&t, "%c%d = %s%s(", v, cmp ? 0 : (int)in->src, op->sym, w ? "32_32" : "_64");
			put_addr(&t, in->dst, in->off, hex);
			if (cmp)
				put(&t, ", %c0", v);
			put(&t, ", %c%d)", v, (int)in->src);
		} else if (in->imm & TSBPF_ATOMIC_FETCH) {
			put(&t, "%c%d = atomic_fetch_%s((%s *)(", v, (int)in->src, op->sym, size);
			put_addr(&t, in->dst, in->off, hex);
			put(&t, "), %c%d)", v, (int)in->src);
		} else {
			/* LLVM's one non-alu32 form of a 32-bit atomic is the plain add */
			if (w && in->imm == TSBPF_ATOMIC_ADD && !alu32)
				v = 'r';
			put(&t, "lock *(%s *)(", size);
			put_addr(&t, in->dst, in->off, hex);
			put(&t, ") %s= %c%d", op->sym, v, (int)in->src);
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
