/*
 * Assembly and decoding. Assembly resolves the symbolic form (labels, jumps and calls to
 * labels, maps by name) and encodes it into the kernel's struct bpf_insn; decoding turns
 * bytecode back into the structured form. Both validate every instruction against the
 * opcode table and, for a whole program, every jump and call target.
 */
#include <stdio.h>
#include <stdlib.h>

#include "insn_internal.h"

/* The kernel loads at most 1M instructions; far beyond that is a mistake, not a program. */
#define MAX_SLOTS (1u << 24)

/* Outputs owned by the core, reused across calls. */
static struct tsbpf_buf code_out;
static struct tsbpf_buf insns_out;
static struct {
	char *p;
	uint32_t len;
	uint32_t cap;
} text_out;

static void put_le(uint8_t *p, const struct tsbpf_insn *in, bool second)
{
	struct bpf_insn raw;

	memset(&raw, 0, sizeof(raw));
	if (!second) {
		raw.code = (uint8_t)in->code;
		raw.dst_reg = (uint8_t)in->dst & 0xf;
		raw.src_reg = (uint8_t)in->src & 0xf;
		raw.off = (int16_t)in->off;
		raw.imm = (int32_t)(uint32_t)(uint64_t)in->imm;
	} else {
		raw.imm = (int32_t)(uint32_t)((uint64_t)in->imm >> 32);
	}
	memcpy(p, &raw, sizeof(raw));
}

/* A bit per slot: set where a slot is the second half of an ld_imm64. */
static bool bit(const uint8_t *bits, uint32_t i)
{
	return bits[i / 8] & (1u << (i % 8));
}

/*
 * Checks that a jump, call or function reference at `slot` lands on an instruction of a
 * program of `n_slots` slots. Returns false with the reason in `why`.
 */
static bool check_target(const struct insn_op *op, const struct tsbpf_insn *in, uint32_t slot, uint32_t n_slots,
			 const uint8_t *second, char *why, size_t why_len)
{
	int64_t rel, target;
	const char *what;

	if (!insn_rel_target(op, in, &rel))
		return true;
	what = op->shape == SH_CALL ? "call target" : op->shape == SH_LDDW ? "function address" : "jump target";
	target = (int64_t)slot + 1 + rel;
	if (target < 0 || target >= (int64_t)n_slots) {
		snprintf(why, why_len, "%s %lld is outside the program (instructions 0 to %u)", what, (long long)target,
			 n_slots - 1);
		return false;
	}
	if (bit(second, (uint32_t)target)) {
		snprintf(why, why_len, "%s %lld is the second half of the ld_imm64 at instruction %lld", what,
			 (long long)target, (long long)target - 1);
		return false;
	}
	return true;
}

/* ---- names ------------------------------------------------------------------------- */

/* The name at `off` in the string table, or NULL if it is not a NUL-terminated string there. */
static const char *name_at(const char *strtab, uint32_t strtab_len, uint32_t off)
{
	if (!off || !strtab || off >= strtab_len || !memchr(strtab + off, '\0', strtab_len - off) || !strtab[off])
		return NULL;
	return strtab + off;
}

struct label {
	const char *name;
	uint32_t slot;
	uint32_t entry;
};

struct labels {
	struct label *slots;
	uint32_t mask;
};

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;
	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

/* The label's place in the table: where it is, or the empty place it would go. */
static struct label *label_find(struct labels *t, const char *name)
{
	uint32_t i = name_hash(name) & t->mask;
	while (t->slots[i].name && strcmp(t->slots[i].name, name))
		i = (i + 1) & t->mask;
	return &t->slots[i];
}

/* ---- assembly ---------------------------------------------------------------------- */

struct assembly {
	struct tsbpf_asm_opts *o;
	struct labels labels;
	uint32_t *slot_of; /* entry -> first slot */
	uint8_t *second;   /* slots that are second halves */
	uint32_t n_slots;
};

static int32_t fail(struct assembly *a, int32_t err, uint32_t entry, const char *why)
{
	a->o->error_index = (int32_t)entry;
	return tsbpf_error(err, "instruction %u: %s", entry, why);
}

/* Slots and labels: where each entry lands, and the slot each label names. */
static int32_t layout(struct assembly *a)
{
	struct tsbpf_asm_opts *o = a->o;
	uint32_t slot = 0, cap = 16, n_labels = 0;
	char why[320];

	/* the label table stays under half full */
	for (uint32_t i = 0; i < o->n_insns; i++)
		n_labels += o->insns[i].kind == TSBPF_INSN_KIND_LABEL;
	while (cap < 2 * n_labels + 2)
		cap *= 2;
	a->labels.slots = calloc(cap, sizeof(struct label));
	a->labels.mask = cap - 1;
	a->slot_of = malloc(((size_t)o->n_insns + 1) * sizeof(uint32_t));
	if (!a->labels.slots || !a->slot_of)
		return tsbpf_error(-TSBPF_ERR_NOMEM, "out of memory for %u instructions", o->n_insns);
	for (uint32_t i = 0; i < o->n_insns; i++) {
		const struct tsbpf_insn *e = &o->insns[i];

		a->slot_of[i] = slot;
		if (e->kind == TSBPF_INSN_KIND_LABEL) {
			const char *name = name_at(o->strtab, o->strtab_len, e->sym);
			struct label *l;

			if (!name)
				return fail(a, -TSBPF_ERR_FORMAT, i, "a label needs a name in the string table");
			if (e->code || e->dst || e->src || e->off || e->imm) {
				snprintf(why, sizeof(why), "label '%s' carries instruction fields", name);
				return fail(a, -TSBPF_ERR_FORMAT, i, why);
			}
			l = label_find(&a->labels, name);
			if (l->name) {
				snprintf(why, sizeof(why), "label '%s' is already defined by instruction %u", name, l->entry);
				return fail(a, -TSBPF_ERR_LABEL, i, why);
			}
			*l = (struct label){ name, slot, i };
			continue;
		}
		if (e->kind != TSBPF_INSN_KIND_INSN) {
			snprintf(why, sizeof(why), "unknown entry kind %u", e->kind);
			return fail(a, -TSBPF_ERR_FORMAT, i, why);
		}
		slot += e->code == TSBPF_OP_LD_IMM64 ? 2 : 1;
		if (slot > MAX_SLOTS) {
			snprintf(why, sizeof(why), "the program exceeds %u instructions", MAX_SLOTS);
			return fail(a, -E2BIG, i, why);
		}
	}
	a->slot_of[o->n_insns] = slot;
	a->n_slots = slot;
	a->second = calloc(slot / 8 + 1, 1);
	if (!a->second)
		return tsbpf_error(-TSBPF_ERR_NOMEM, "out of memory for %u instructions", o->n_insns);
	for (uint32_t i = 0; i < o->n_insns; i++)
		if (o->insns[i].kind == TSBPF_INSN_KIND_INSN && o->insns[i].code == TSBPF_OP_LD_IMM64)
			a->second[(a->slot_of[i] + 1) / 8] |= (uint8_t)(1u << ((a->slot_of[i] + 1) % 8));
	return 0;
}

/* Puts what a symbol stands for into the instruction's fields. */
static int32_t resolve(struct assembly *a, uint32_t i, const struct insn_op *op, struct tsbpf_insn *r, const char *sym)
{
	struct tsbpf_asm_opts *o = a->o;
	char why[320];
	int64_t unused;

	if (op->shape == SH_LDDW && (r->src == TSBPF_LD_MAP_FD || r->src == TSBPF_LD_MAP_VALUE)) {
		for (uint32_t m = 0; m < o->n_maps; m++) {
			const char *name = name_at(o->strtab, o->strtab_len, o->maps[m].name);
			if (name && !strcmp(name, sym)) {
				uint64_t hi = r->src == TSBPF_LD_MAP_VALUE ? (uint64_t)r->imm >> 32 : 0;
				r->imm = (int64_t)(hi << 32 | (uint32_t)o->maps[m].fd);
				return 0;
			}
		}
		snprintf(why, sizeof(why), "map '%s' is not among the %u maps given", sym, o->n_maps);
		return fail(a, -TSBPF_ERR_RELOC, i, why);
	}
	if (insn_rel_target(op, r, &unused)) {
		struct label *l = label_find(&a->labels, sym);
		int64_t rel;

		if (!l->name) {
			snprintf(why, sizeof(why), "label '%s' is not defined", sym);
			return fail(a, -TSBPF_ERR_LABEL, i, why);
		}
		rel = (int64_t)l->slot - ((int64_t)a->slot_of[i] + 1);
		if (op->shape == SH_JMP_K || op->shape == SH_JMP_X || op->shape == SH_JA || op->shape == SH_MAY_GOTO) {
			if (rel < INT16_MIN || rel > INT16_MAX) {
				snprintf(why, sizeof(why),
					 "label '%s' is %lld instructions away, beyond the reach of a 16-bit jump offset%s",
					 sym, (long long)rel, op->shape == SH_JA ? " (gotol reaches it)" : "");
				return fail(a, -TSBPF_ERR_RELOC, i, why);
			}
			r->off = (int32_t)rel;
		} else if (op->shape == SH_LDDW) {
			r->imm = (int64_t)(uint32_t)(int32_t)rel; /* the low half only */
		} else {
			r->imm = rel;
		}
		return 0;
	}
	snprintf(why, sizeof(why), "%s does not refer to a label or map, but names '%s'", op->name, sym);
	return fail(a, -TSBPF_ERR_FORMAT, i, why);
}

static int32_t check_maps(struct assembly *a)
{
	struct tsbpf_asm_opts *o = a->o;

	for (uint32_t m = 0; m < o->n_maps; m++) {
		const char *name = name_at(o->strtab, o->strtab_len, o->maps[m].name);
		if (!name)
			return tsbpf_error(-EINVAL, "map %u has no name in the string table", m);
		if (o->maps[m].fd < 0)
			return tsbpf_error(-EBADF, "map '%s' has fd %d", name, (int)o->maps[m].fd);
		for (uint32_t k = 0; k < m; k++) {
			const char *other = name_at(o->strtab, o->strtab_len, o->maps[k].name);
			if (!strcmp(name, other))
				return tsbpf_error(-EINVAL, "map '%s' is given twice", name);
		}
	}
	return 0;
}

static int32_t assemble(struct assembly *a)
{
	struct tsbpf_asm_opts *o = a->o;
	char why[320];
	int32_t err;

	if ((err = check_maps(a)) < 0 || (err = layout(a)) < 0)
		return err;
	if (!tsbpf_buf_reserve(&code_out, a->n_slots * 8 + 8))
		return tsbpf_error(-TSBPF_ERR_NOMEM, "out of memory for %u bytes of bytecode", a->n_slots * 8);
	for (uint32_t i = 0; i < o->n_insns; i++) {
		struct tsbpf_insn r = o->insns[i];
		const struct insn_op *op;
		const char *sym = NULL;
		uint32_t slot = a->slot_of[i];

		if (r.kind == TSBPF_INSN_KIND_LABEL)
			continue;
		if (r.sym && !(sym = name_at(o->strtab, o->strtab_len, r.sym)))
			return fail(a, -TSBPF_ERR_FORMAT, i, "its symbol is not a name in the string table");
		if (!(op = insn_check(&r, sym != NULL, why, sizeof(why))))
			return fail(a, -TSBPF_ERR_FORMAT, i, why);
		if (sym) {
			if ((err = resolve(a, i, op, &r, sym)) < 0)
				return err;
			/* the resolved fields pass the same checks as written ones */
			if (!(op = insn_check(&r, false, why, sizeof(why))))
				return fail(a, -TSBPF_ERR_FORMAT, i, why);
		}
		if (!(o->flags & TSBPF_INSNS_FRAGMENT) &&
		    !check_target(op, &r, slot, a->n_slots, a->second, why, sizeof(why)))
			return fail(a, -TSBPF_ERR_FORMAT, i, why);
		put_le(code_out.data + slot * 8, &r, false);
		if (op->shape == SH_LDDW)
			put_le(code_out.data + slot * 8 + 8, &r, true);
	}
	o->code = code_out.data;
	o->code_len = a->n_slots * 8;
	return (int32_t)o->code_len;
}

int32_t tsbpf_insns_assemble(struct tsbpf_asm_opts *o)
{
	struct assembly a;
	int32_t ret;

	tsbpf_begin(-1);
	if (!OPTS_VALID(o, struct tsbpf_asm_opts))
		return tsbpf_error(-EINVAL, "invalid tsbpf_asm_opts");
	o->code = NULL;
	o->code_len = 0;
	o->error_index = -1;
	if (o->flags & ~(uint32_t)TSBPF_INSNS_FRAGMENT)
		return tsbpf_error(-EINVAL, "unknown assembly flags 0x%x", o->flags);
	if ((o->n_insns && !o->insns) || (o->n_maps && !o->maps) || (o->strtab_len && !o->strtab))
		return tsbpf_error(-EINVAL, "missing instruction, map or string buffer");
	if (o->n_insns > MAX_SLOTS)
		return tsbpf_error(-E2BIG, "%u instructions are more than %u", o->n_insns, MAX_SLOTS);
	memset(&a, 0, sizeof(a));
	a.o = o;
	ret = assemble(&a);
	free(a.labels.slots);
	free(a.slot_of);
	free(a.second);
	return ret;
}

/* ---- decoding ---------------------------------------------------------------------- */

static bool text_append(const char *s, uint32_t n)
{
	if (text_out.len + n + 2 > text_out.cap) {
		uint32_t cap = text_out.cap ? text_out.cap : 4096;
		char *p;
		while (cap < text_out.len + n + 2)
			cap *= 2;
		p = realloc(text_out.p, cap);
		if (!p)
			return false;
		text_out.p = p;
		text_out.cap = cap;
	}
	memcpy(text_out.p + text_out.len, s, n);
	text_out.len += n;
	text_out.p[text_out.len++] = '\n';
	text_out.p[text_out.len] = '\0';
	return true;
}

static int32_t decode_fail(struct tsbpf_decode_opts *o, int32_t err, uint32_t slot, const char *why)
{
	o->error_index = (int32_t)slot;
	return tsbpf_error(err, "instruction %u: %s", slot, why);
}

static int32_t decode(struct tsbpf_decode_opts *o, uint8_t *second)
{
	uint32_t n_slots = o->code_len / 8, n = 0;
	struct tsbpf_insn *out;
	char why[320];

	if (!tsbpf_buf_reserve(&insns_out, (n_slots + 1) * (uint32_t)sizeof(struct tsbpf_insn)))
		return tsbpf_error(-TSBPF_ERR_NOMEM, "out of memory for %u instructions", n_slots);
	out = (struct tsbpf_insn *)insns_out.data;
	for (uint32_t s = 0; s < n_slots;) {
		struct bpf_insn raw;
		struct tsbpf_insn *d = &out[n];

		memcpy(&raw, o->code + s * 8, sizeof(raw));
		*d = (struct tsbpf_insn){ .code = raw.code, .dst = raw.dst_reg, .src = raw.src_reg, .off = raw.off,
					  .imm = raw.imm, .width = 1 };
		if (raw.code == TSBPF_OP_LD_IMM64) {
			struct bpf_insn hi;

			if (s + 1 >= n_slots)
				return decode_fail(o, -TSBPF_ERR_FORMAT, s,
						   "ld_imm64 is cut off: the bytecode ends before its second half");
			memcpy(&hi, o->code + (s + 1) * 8, sizeof(hi));
			if (hi.code || hi.dst_reg || hi.src_reg || hi.off) {
				snprintf(why, sizeof(why),
					 "the second half of the ld_imm64 at instruction %u must have code, registers and "
					 "offset 0 (has code 0x%02x, dst %u, src %u, off %d)",
					 s, hi.code, hi.dst_reg, hi.src_reg, hi.off);
				return decode_fail(o, -TSBPF_ERR_FORMAT, s + 1, why);
			}
			d->imm = (int64_t)((uint64_t)(uint32_t)hi.imm << 32 | (uint32_t)raw.imm);
			d->width = 2;
			second[(s + 1) / 8] |= (uint8_t)(1u << ((s + 1) % 8));
		}
		if (!insn_check(d, false, why, sizeof(why)))
			return decode_fail(o, -TSBPF_ERR_FORMAT, s, why);
		s += d->width;
		n++;
	}
	if (!(o->flags & TSBPF_INSNS_FRAGMENT) || (o->flags & TSBPF_INSNS_TEXT)) {
		uint32_t s = 0;
		text_out.len = 0;
		for (uint32_t i = 0; i < n; s += out[i].width, i++) {
			const struct insn_op *op = insn_check(&out[i], false, why, sizeof(why));
			CORE_ASSERT(op);
			if (!(o->flags & TSBPF_INSNS_FRAGMENT) && !check_target(op, &out[i], s, n_slots, second, why, sizeof(why)))
				return decode_fail(o, -TSBPF_ERR_FORMAT, s, why);
			if (o->flags & TSBPF_INSNS_TEXT) {
				char line[TSBPF_INSN_TEXT_MAX];
				uint32_t len = insn_print(op, &out[i], NULL, o->flags, line, sizeof(line));
				if (!text_append(line, len))
					return tsbpf_error(-TSBPF_ERR_NOMEM, "out of memory for the disassembly");
			}
		}
		if (o->flags & TSBPF_INSNS_TEXT) {
			o->text = text_out.p ? text_out.p : "";
			o->text_len = text_out.len;
		}
	}
	o->insns = out;
	o->n_insns = n;
	return (int32_t)n;
}

int32_t tsbpf_insns_decode(struct tsbpf_decode_opts *o)
{
	uint8_t *second;
	int32_t ret;

	tsbpf_begin(-1);
	if (!OPTS_VALID(o, struct tsbpf_decode_opts))
		return tsbpf_error(-EINVAL, "invalid tsbpf_decode_opts");
	o->insns = NULL;
	o->n_insns = 0;
	o->text = NULL;
	o->text_len = 0;
	o->error_index = -1;
	if (o->flags & ~(uint32_t)(TSBPF_INSNS_FRAGMENT | TSBPF_INSNS_TEXT | TSBPF_INSNS_HEX | TSBPF_INSNS_ALU32))
		return tsbpf_error(-EINVAL, "unknown decoding flags 0x%x", o->flags);
	if (o->code_len && !o->code)
		return tsbpf_error(-EINVAL, "missing bytecode");
	if (o->code_len % 8)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "bytecode of %u bytes is not a whole number of 8-byte instructions",
				   o->code_len);
	if (o->code_len / 8 > MAX_SLOTS)
		return tsbpf_error(-E2BIG, "%u instructions are more than %u", o->code_len / 8, MAX_SLOTS);
	second = calloc(o->code_len / 64 + 1, 1);
	if (!second)
		return tsbpf_error(-TSBPF_ERR_NOMEM, "out of memory");
	ret = decode(o, second);
	free(second);
	return ret;
}
