/*
 * Functions of a BPF object: one per function symbol of each code section; the
 * relocations of their instructions, classified by what they point at (a map, a
 * global variable, an extern, another function); their .BTF.ext records; and the
 * linking of each function with the functions it calls into one instruction stream,
 * as the kernel wants a program with its bpf-to-bpf callees appended.
 */
#include <stdio.h>
#include <stdlib.h>

#include "elf_internal.h"

static struct tsbpf_elf_func *fn(struct obj *o, uint32_t i)
{
	return VEC_AT(&o->funcs, struct tsbpf_elf_func, i);
}

static struct func_priv *fp(struct obj *o, uint32_t i)
{
	return VEC_AT(&o->fpriv, struct func_priv, i);
}

int32_t func_at(const struct obj *o, uint32_t sec, uint64_t off)
{
	const struct elf_sec *s = &o->secs[sec];
	const struct tsbpf_elf_func *f;
	uint32_t lo = 0, hi = s->func_cnt;

	if (s->kind != SEC_PROG || s->func_cnt == 0)
		return -1;
	f = (const struct tsbpf_elf_func *)o->funcs.p + s->func_first;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (f[mid].offset < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->func_cnt && f[lo].offset == off ? (int32_t)(s->func_first + lo) : -1;
}

/* The function whose instructions cover byte `off` of section `sec`, or -1. */
static int32_t func_containing(const struct obj *o, uint32_t sec, uint64_t off)
{
	const struct elf_sec *s = &o->secs[sec];
	const struct tsbpf_elf_func *f;
	uint32_t lo = 0, hi = s->func_cnt;

	if (s->kind != SEC_PROG || s->func_cnt == 0)
		return -1;
	f = (const struct tsbpf_elf_func *)o->funcs.p + s->func_first;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (f[mid].offset <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return -1;
	f += lo - 1;
	return off < (uint64_t)f->offset + (uint64_t)f->insn_cnt * INSN_SIZE ? (int32_t)(s->func_first + lo - 1) : -1;
}

/* ---- functions ------------------------------------------------------------------------- */

static int32_t section_funcs(struct obj *o, uint32_t sec)
{
	struct elf_sec *s = &o->secs[sec];
	struct tsbpf_elf_sec_type st;
	uint64_t end = 0;
	bool is_text = strcmp(s->name, ".text") == 0;

	if (s->sym_cnt == 0)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: section %s holds code but no function symbol names it", s->name);
	elf_section_type(s->name, &st);
	s->func_first = o->funcs.n;
	for (uint32_t k = 0; k < s->sym_cnt; k++) {
		uint32_t si = o->secsyms[s->sym_first + k];
		const struct elf_sym *sym = &o->syms[si];
		struct tsbpf_elf_func *f;
		struct func_priv *p;

		/* Aliases: the first symbol at an offset names the function. */
		if (k > 0 && sym->value == o->syms[o->secsyms[s->sym_first + k - 1]].value)
			continue;
		if (sym->value % INSN_SIZE || sym->size % INSN_SIZE)
			return tsbpf_error(-TSBPF_ERR_FORMAT,
					   "ELF: section %s: function %s (offset %llu, %llu bytes) is not aligned to 8-byte instructions",
					   s->name, sym->name, (unsigned long long)sym->value, (unsigned long long)sym->size);
		if (sym->size == 0)
			return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: section %s: function %s has no instructions (size 0)",
					   s->name, sym->name);
		if (sym->value > s->size || sym->size > s->size - sym->value)
			return tsbpf_error(-TSBPF_ERR_FORMAT,
					   "ELF: section %s: function %s (offset %llu, %llu bytes) runs past the end of the section (%llu bytes)",
					   s->name, sym->name, (unsigned long long)sym->value, (unsigned long long)sym->size,
					   (unsigned long long)s->size);
		if (sym->value < end)
			return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: section %s: function %s at offset %llu overlaps the one before it",
					   s->name, sym->name, (unsigned long long)sym->value);
		end = sym->value + sym->size;
		f = vec_push(&o->funcs, sizeof(*f));
		p = vec_push(&o->fpriv, sizeof(*p));
		if (!f || !p)
			return tsbpf_error(-TSBPF_ERR_NOMEM, "ELF: out of memory for functions");
		f->name = sym->name;
		f->section = s->name;
		f->section_index = sec;
		f->binding = sym->bind;
		f->is_program = !is_text;
		if (!is_text) {
			f->prog_type = st.prog_type;
			f->attach_type = st.attach_type;
			f->prog_flags = st.prog_flags;
			f->sec_flags = st.sec_flags;
			f->match = st.match;
		}
		f->attach_to = !is_text && st.attach_to_off ? s->name + st.attach_to_off : "";
		f->offset = (uint32_t)sym->value;
		f->insn_cnt = (uint32_t)(sym->size / INSN_SIZE);
		p->sym = si;
		p->insns = malloc(sym->size);
		if (!p->insns)
			return tsbpf_error(-TSBPF_ERR_NOMEM, "ELF: out of memory for instructions");
		memcpy(p->insns, s->data + sym->value, sym->size);
		for (uint32_t i = 0; i < f->insn_cnt; i++) {
			if (p->insns[i * INSN_SIZE] != OP_LD_IMM64)
				continue;
			if (i + 1 == f->insn_cnt)
				return tsbpf_error(-TSBPF_ERR_FORMAT,
						   "ELF: section %s: function %s: the 64-bit load at instruction %u is cut off by the end of the function",
						   s->name, f->name, i);
			i++;
		}
	}
	s->func_cnt = o->funcs.n - s->func_first;
	return 0;
}

int32_t elf_collect_funcs(struct obj *o)
{
	const char **names;
	int32_t err;

	for (uint32_t i = 1; i < o->nsecs; i++)
		if (o->secs[i].kind == SEC_PROG && (err = section_funcs(o, i)))
			return err;
	if (!o->funcs.n)
		return 0;
	names = malloc(o->funcs.n * sizeof(*names));
	if (!names)
		return tsbpf_error(-TSBPF_ERR_NOMEM, "ELF: out of memory");
	for (uint32_t i = 0; i < o->funcs.n; i++)
		names[i] = fn(o, i)->name;
	err = check_unique(names, o->funcs.n, "function");
	free(names);
	return err;
}

/* ---- relocations ----------------------------------------------------------------------- */

struct insn_ctx {
	struct obj *o;
	uint32_t func;
	uint32_t slot;
	uint8_t *insn;
};

static int32_t insn_error(const struct insn_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int32_t insn_error(const struct insn_ctx *c, const char *fmt, ...)
{
	const struct tsbpf_elf_func *f = fn(c->o, c->func);
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return tsbpf_error(-TSBPF_ERR_RELOC, "ELF: section %s: function %s: instruction %u (offset %u): %s", f->section,
			   f->name, c->slot, f->offset + c->slot * INSN_SIZE, what);
}

static void set_src(uint8_t *insn, uint8_t src)
{
	insn[1] = (uint8_t)((insn[1] & 0x0f) | (src << 4));
}

static void set_imm(uint8_t *insn, int32_t imm)
{
	wr32(insn + 4, (uint32_t)imm);
}

static int32_t push_local(struct obj *o, uint32_t slot, uint32_t kind, uint32_t target, uint32_t offset,
			  const char *symbol)
{
	struct local_reloc *r = vec_push(&o->lrel, sizeof(*r));

	if (!r)
		return tsbpf_error(-TSBPF_ERR_NOMEM, "ELF: out of memory for relocations");
	r->slot = slot;
	r->kind = kind;
	r->target = target;
	r->offset = offset;
	r->symbol = symbol;
	return 0;
}

/* The legacy or BTF map a symbol defines (or an alias at its offset does). */
static int32_t map_of(struct obj *o, const struct elf_sym *sym)
{
	const struct elf_sym *at;

	if (sym->map >= 0)
		return sym->map;
	at = sec_sym_at(o, sym->shndx, sym->value);
	return at ? at->map : -1;
}

static const char *bind_name(uint8_t bind)
{
	return bind == STB_LOCAL ? "local" : bind == STB_GLOBAL ? "global" : bind == STB_WEAK ? "weak" : "unknown";
}

/* A symbol's name, or for a section symbol the section's. */
static const char *sym_label(const struct obj *o, const struct elf_sym *sym)
{
	if (sym->name[0] || sym->shndx == SHN_UNDEF || sym->shndx >= o->nsecs)
		return sym->name;
	return o->secs[sym->shndx].name;
}

static int32_t reloc_extern(const struct insn_ctx *c, struct elf_sym *sym, bool is_call, bool is_ld)
{
	struct tsbpf_elf_extern *e;
	uint32_t kind;

	if (sym->ext < 0)
		return insn_error(c, "refers to an undefined symbol without a name");
	if (sym->bind != STB_GLOBAL && sym->bind != STB_WEAK)
		return insn_error(c, "refers to undefined symbol %s with %s binding", sym->name, bind_name(sym->bind));
	e = VEC_AT(&c->o->externs, struct tsbpf_elf_extern, sym->ext);
	if (!is_call && !is_ld)
		return insn_error(c, "refers to extern %s but is neither a call nor a 64-bit load (opcode 0x%02x)", sym->name,
				  c->insn[0]);
	switch (e->kind) {
	case TSBPF_EXTERN_KFUNC:
		kind = TSBPF_RELOC_KFUNC;
		if (is_call) {
			set_src(c->insn, BPF_PSEUDO_KFUNC_CALL);
			set_imm(c->insn, 0);
		}
		break;
	case TSBPF_EXTERN_KCONFIG:
		kind = is_ld ? TSBPF_RELOC_KCONFIG : TSBPF_RELOC_EXTERN;
		if (is_ld) {
			set_src(c->insn, BPF_PSEUDO_MAP_VALUE);
			set_imm(c->insn, 0);
			set_imm(c->insn + INSN_SIZE, (int32_t)e->offset);
		}
		break;
	case TSBPF_EXTERN_KSYM:
		kind = is_ld ? TSBPF_RELOC_KSYM : TSBPF_RELOC_EXTERN;
		break;
	default:
		kind = TSBPF_RELOC_EXTERN;
		break;
	}
	e->references++;
	return push_local(c->o, c->slot, kind, (uint32_t)sym->ext, kind == TSBPF_RELOC_KCONFIG ? e->offset : 0, sym->name);
}

static int32_t classify(const struct insn_ctx *c, struct elf_sym *sym)
{
	struct obj *o = c->o;
	uint8_t code = c->insn[0], src = c->insn[1] >> 4;
	bool is_call = code == OP_CALL, is_ld = code == OP_LD_IMM64;
	int32_t imm = (int32_t)rd32(c->insn + 4), target;
	const struct elf_sec *t;
	int64_t off;

	if (sym->shndx == SHN_UNDEF)
		return reloc_extern(c, sym, is_call, is_ld);
	if (sym->shndx >= o->nsecs)
		return insn_error(c, "refers to symbol %s in special section 0x%x (absolute and common symbols are not supported)",
				  sym_label(o, sym), sym->shndx);
	t = &o->secs[sym->shndx];
	switch (t->kind) {
	case SEC_MAPS:
	case SEC_BTF_MAPS:
		if (!is_ld)
			return insn_error(c, "refers to map %s but is not a 64-bit load (opcode 0x%02x)", sym_label(o, sym), code);
		if (sym->bind == STB_LOCAL) {
			const struct elf_sym *m = sec_sym_at(o, sym->shndx, sym->value + (sym->type == STT_SECTION ? imm : 0));

			return insn_error(c, "possible erroneous static qualifier on map definition: found reference to %s",
					  m ? m->name : sym_label(o, sym));
		}
		if (sym->bind != STB_GLOBAL)
			return insn_error(c, "map %s: unsupported binding %s", sym_label(o, sym), bind_name(sym->bind));
		if (sym->type != STT_OBJECT && sym->type != STT_NOTYPE)
			return insn_error(c, "map %s: the symbol has type %u, not an object", sym_label(o, sym), sym->type);
		target = map_of(o, sym);
		if (target < 0)
			return insn_error(c, "refers to %s, but no map is defined at offset %llu of section %s", sym_label(o, sym),
					  (unsigned long long)sym->value, t->name);
		set_src(c->insn, BPF_PSEUDO_MAP_FD);
		set_imm(c->insn, 0);
		set_imm(c->insn + INSN_SIZE, 0);
		VEC_AT(&o->maps, struct tsbpf_elf_map, target)->references++;
		return push_local(o, c->slot, TSBPF_RELOC_MAP_FD, (uint32_t)target, 0, sym_label(o, sym));
	case SEC_DATA:
		if (!is_ld)
			return insn_error(c, "refers to %s in %s but is not a 64-bit load (opcode 0x%02x)", sym_label(o, sym), t->name,
					  code);
		if (sym->type == STT_SECTION ? sym->bind != STB_LOCAL
		    : sym->type == STT_OBJECT ? sym->bind > STB_WEAK
		    : sym->type == STT_NOTYPE ? sym->bind != STB_LOCAL
					      : true)
			return insn_error(c, "direct load of %s in %s: unsupported symbol type %u with %s binding", sym_label(o, sym),
					  t->name, sym->type, bind_name(sym->bind));
		/* A REL relocation's addend is the immediate already in the instruction. */
		off = (int64_t)sym->value + imm;
		if (off < 0 || (uint64_t)off > t->size)
			return insn_error(c, "direct load of %s: offset %lld is outside section %s (%llu bytes)", sym_label(o, sym),
					  (long long)off, t->name, (unsigned long long)t->size);
		CORE_ASSERT(t->map >= 0);
		set_src(c->insn, BPF_PSEUDO_MAP_VALUE);
		set_imm(c->insn, 0);
		set_imm(c->insn + INSN_SIZE, (int32_t)off);
		VEC_AT(&o->maps, struct tsbpf_elf_map, t->map)->references++;
		return push_local(o, c->slot, TSBPF_RELOC_MAP_VALUE, (uint32_t)t->map, (uint32_t)off,
				  sym->type == STT_SECTION ? t->name : sym_label(o, sym));
	case SEC_PROG:
		if (is_call) {
			if (src != BPF_PSEUDO_CALL)
				return insn_error(c, "call to %s: source register %u is not BPF_PSEUDO_CALL", sym_label(o, sym), src);
			if (sym->type != STT_FUNC && sym->type != STT_NOTYPE && sym->type != STT_SECTION)
				return insn_error(c, "call to %s: the symbol has type %u, not a function", sym_label(o, sym), sym->type);
			/* The immediate counts instructions from the symbol, less one. */
			off = (int64_t)sym->value + ((int64_t)imm + 1) * INSN_SIZE;
		} else if (is_ld) {
			if (sym->type != STT_FUNC && sym->type != STT_SECTION)
				return insn_error(c, "load of %s: the symbol has type %u, not a function", sym_label(o, sym), sym->type);
			off = (int64_t)sym->value + imm;
		} else {
			return insn_error(c, "refers to function %s but is neither a call nor a 64-bit load (opcode 0x%02x)",
					  sym_label(o, sym), code);
		}
		target = off < 0 ? -1 : func_at(o, sym->shndx, (uint64_t)off);
		if (target < 0)
			return insn_error(c, "%s %s: no function starts at offset %lld of section %s", is_call ? "call to" : "load of",
					  sym_label(o, sym), (long long)off, t->name);
		if (is_ld)
			set_src(c->insn, BPF_PSEUDO_FUNC);
		return push_local(o, c->slot, is_call ? TSBPF_RELOC_CALL : TSBPF_RELOC_FUNC_ADDR, (uint32_t)target, 0,
				  fn(o, (uint32_t)target)->name);
	default:
		return insn_error(c, "refers to %s in section %s, which holds neither code, maps nor global data", sym_label(o, sym),
				  t->name);
	}
}

/* Calls within a section that old LLVM resolved itself carry no relocation: a call with
 * src BPF_PSEUDO_CALL and a relative immediate. */
static int32_t relative_call(const struct insn_ctx *c)
{
	const struct tsbpf_elf_func *f = fn(c->o, c->func);
	int64_t off = (int64_t)f->offset + ((int64_t)c->slot + 1 + (int32_t)rd32(c->insn + 4)) * INSN_SIZE;
	int32_t target = off < 0 ? -1 : func_at(c->o, f->section_index, (uint64_t)off);

	if (target < 0)
		return insn_error(c, "bpf-to-bpf call to offset %lld of section %s, where no function starts", (long long)off,
				  f->section);
	return push_local(c->o, c->slot, TSBPF_RELOC_CALL, (uint32_t)target, 0, fn(c->o, (uint32_t)target)->name);
}

int32_t elf_relocate_funcs(struct obj *o)
{
	for (uint32_t sec = 1; sec < o->nsecs; sec++) {
		const struct elf_sec *s = &o->secs[sec];
		uint32_t used = 0;

		if (s->kind != SEC_PROG)
			continue;
		for (uint32_t fi = s->func_first; fi < s->func_first + s->func_cnt; fi++) {
			struct func_priv *p = fp(o, fi);
			struct insn_ctx c = { .o = o, .func = fi };
			uint32_t cnt = fn(o, fi)->insn_cnt, base = fn(o, fi)->offset;
			int32_t err;

			p->lr_first = o->lrel.n;
			for (c.slot = 0; c.slot < cnt; c.slot++) {
				int32_t r = s->nrels ? sec_rel_at(o, sec, base + c.slot * INSN_SIZE) : -1;

				c.insn = p->insns + (size_t)c.slot * INSN_SIZE;
				if (r >= 0) {
					err = classify(&c, &o->syms[s->rels[r].sym]);
					used++;
				} else if (c.insn[0] == OP_CALL && (c.insn[1] >> 4) == BPF_PSEUDO_CALL) {
					err = relative_call(&c);
				} else {
					err = 0;
				}
				if (err)
					return err;
				if (c.insn[0] == OP_LD_IMM64)
					c.slot++; /* the second half carries no relocation of its own */
			}
			p->lr_cnt = o->lrel.n - p->lr_first;
		}
		if (used != s->nrels) {
			/* Every instruction start was looked up. Relocations in the gaps between
			 * functions are ignored: linked objects keep those of functions the linker
			 * replaced. One on the second half of a 64-bit load is corrupt. */
			for (uint32_t r = 0; r < s->nrels; r++) {
				int32_t f = func_containing(o, sec, s->rels[r].off);
				const struct func_priv *p;
				uint32_t slot;

				if (f < 0)
					continue;
				p = fp(o, (uint32_t)f);
				slot = (s->rels[r].off - fn(o, (uint32_t)f)->offset) / INSN_SIZE;
				for (uint32_t i = 0; i < slot; i++)
					if (p->insns[i * INSN_SIZE] == OP_LD_IMM64 && ++i == slot)
						return tsbpf_error(-TSBPF_ERR_RELOC,
								   "ELF: section %s: function %s: the relocation at offset %u (symbol %s) points at the second half of the 64-bit load at instruction %u",
								   s->name, fn(o, (uint32_t)f)->name, s->rels[r].off,
								   sym_label(o, &o->syms[s->rels[r].sym]), slot - 1);
			}
		}
	}
	return 0;
}

/* ---- .BTF.ext records ------------------------------------------------------------------ */

static const char *const ext_desc[] = { "func_info", "line_info", "CO-RE relocation" };

static int32_t ext_records(struct obj *o, uint32_t k)
{
	const struct btf_ext_kind *kind = k == BTF_EXT_FUNC ? &o->ext.func : k == BTF_EXT_LINE ? &o->ext.line : &o->ext.core;
	uint32_t *count, total = 0;
	struct ext_rec *out;

	if (!kind->nsecs)
		return 0;
	count = calloc(o->funcs.n ? o->funcs.n : 1, sizeof(uint32_t));
	if (!count)
		return tsbpf_error(-TSBPF_ERR_NOMEM, "ELF: out of memory");
	/* Pass 1 counts the records of each function, pass 2 stores them in place. */
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t si = 0; si < kind->nsecs; si++) {
			const struct btf_ext_sec *es = &kind->secs[si];
			int32_t sec = sec_by_name(o, es->name);

			if (sec < 0 || o->secs[sec].kind != SEC_PROG)
				continue; /* records of a section the object lacks: nothing uses them */
			for (uint32_t i = 0; i < es->count; i++) {
				const uint8_t *r = es->recs + (size_t)i * kind->rec_size;
				uint32_t off = rd32(r);
				struct ext_rec *rec;
				int32_t f = func_containing(o, (uint32_t)sec, off);

				if (f < 0)
					continue;
				if ((off - fn(o, (uint32_t)f)->offset) % INSN_SIZE) {
					free(count);
					return tsbpf_error(-TSBPF_ERR_FORMAT,
							   ".BTF.ext: %s %u of section %s points at byte %u, not at an instruction",
							   ext_desc[k], i, es->name, off);
				}
				if (pass == 0) {
					count[f]++;
					continue;
				}
				rec = VEC_AT(&o->recs[k], struct ext_rec, fp(o, (uint32_t)f)->rec_first[k] + count[f]++);
				rec->v[0] = (off - fn(o, (uint32_t)f)->offset) / INSN_SIZE;
				rec->v[1] = rd32(r + 4);
				rec->v[2] = k == BTF_EXT_FUNC ? 0 : rd32(r + 8);
				rec->v[3] = k == BTF_EXT_FUNC ? 0 : rd32(r + 12);
			}
		}
		if (pass == 0) {
			for (uint32_t f = 0; f < o->funcs.n; f++) {
				fp(o, f)->rec_first[k] = total;
				fp(o, f)->rec_cnt[k] = count[f];
				total += count[f];
				count[f] = 0;
			}
			out = malloc((size_t)(total ? total : 1) * sizeof(*out));
			if (!out) {
				free(count);
				return tsbpf_error(-TSBPF_ERR_NOMEM, "ELF: out of memory");
			}
			o->recs[k].p = out;
			o->recs[k].n = o->recs[k].cap = total;
		}
	}
	free(count);
	return 0;
}

int32_t elf_collect_ext_records(struct obj *o)
{
	int32_t err;

	for (uint32_t k = 0; k < 3; k++)
		if ((err = ext_records(o, k)))
			return err;
	return 0;
}

/* ---- linking --------------------------------------------------------------------------- */

static const uint32_t ext_rec_size[3] = { 8, 16, 16 };

/* The functions a root needs, root first, then callees in the order calls reach them. */
static int32_t closure(struct obj *o, uint32_t root, uint32_t *order, uint32_t *seen, uint32_t stamp, uint32_t *n,
		       uint64_t *slots)
{
	uint32_t cnt = 1;

	order[0] = root;
	seen[root] = stamp;
	*slots = fn(o, root)->insn_cnt;
	for (uint32_t i = 0; i < cnt; i++) {
		const struct func_priv *p = fp(o, order[i]);

		for (uint32_t r = p->lr_first; r < p->lr_first + p->lr_cnt; r++) {
			const struct local_reloc *lr = VEC_AT(&o->lrel, struct local_reloc, r);

			if ((lr->kind != TSBPF_RELOC_CALL && lr->kind != TSBPF_RELOC_FUNC_ADDR) || seen[lr->target] == stamp)
				continue;
			seen[lr->target] = stamp;
			order[cnt++] = lr->target;
			*slots += fn(o, lr->target)->insn_cnt;
		}
		if (*slots > ELF_MAX_PROG_SLOTS)
			return tsbpf_error(-TSBPF_ERR_FORMAT,
					   "ELF: function %s with the functions it calls exceeds %u instructions", fn(o, root)->name,
					   ELF_MAX_PROG_SLOTS);
	}
	*n = cnt;
	return 0;
}

int32_t elf_link(struct obj *o)
{
	uint32_t nf = o->funcs.n, *order, *seen, *base, n, slot_pos = 0, rec_pos[3] = { 0 };
	uint64_t total = 0, slots, recs[3] = { 0 }, relocs = 0;
	int32_t err = 0;

	order = calloc(nf ? nf : 1, sizeof(uint32_t));
	seen = calloc(nf ? nf : 1, sizeof(uint32_t));
	base = calloc(nf ? nf : 1, sizeof(uint32_t));
	if (!order || !seen || !base) {
		err = tsbpf_error(-TSBPF_ERR_NOMEM, "ELF: out of memory");
		goto out;
	}
	/* Pass 1: sizes, within the budget. */
	for (uint32_t f = 0; f < nf; f++) {
		if ((err = closure(o, f, order, seen, f + 1, &n, &slots)))
			goto out;
		total += slots;
		for (uint32_t i = 0; i < n; i++) {
			relocs += fp(o, order[i])->lr_cnt;
			for (uint32_t k = 0; k < 3; k++)
				recs[k] += fp(o, order[i])->rec_cnt[k];
		}
		if (total > ELF_MAX_LINKED_SLOTS || relocs > ELF_MAX_LINKED_SLOTS || recs[1] > ELF_MAX_LINKED_SLOTS ||
		    recs[2] > ELF_MAX_LINKED_SLOTS) {
			err = tsbpf_error(-TSBPF_ERR_FORMAT,
					  "ELF: linking every function with its callees needs more than %u instructions or records",
					  ELF_MAX_LINKED_SLOTS);
			goto out;
		}
	}
	o->linked = malloc((size_t)(total ? total : 1) * INSN_SIZE);
	for (uint32_t k = 0; k < 3; k++)
		o->ext_out[k] = malloc((size_t)(recs[k] ? recs[k] : 1) * ext_rec_size[k]);
	if (!o->linked || !o->ext_out[0] || !o->ext_out[1] || !o->ext_out[2]) {
		err = tsbpf_error(-TSBPF_ERR_NOMEM, "ELF: out of memory for %llu linked instructions", (unsigned long long)total);
		goto out;
	}
	memset(seen, 0, nf * sizeof(uint32_t));
	/* Pass 2: copy, patch calls, translate relocations and records. */
	for (uint32_t f = 0; f < nf; f++) {
		struct tsbpf_elf_func *root = fn(o, f);
		uint8_t *code = o->linked + (size_t)slot_pos * INSN_SIZE;
		uint32_t pos = 0, reloc_first = o->relocs.n, callee_first = o->callees.n;
		uint32_t rec_start[3] = { rec_pos[0], rec_pos[1], rec_pos[2] };

		closure(o, f, order, seen, f + 1, &n, &slots);
		for (uint32_t i = 0; i < n; i++) {
			base[order[i]] = pos;
			pos += fn(o, order[i])->insn_cnt;
		}
		for (uint32_t i = 0; i < n; i++) {
			const struct func_priv *p = fp(o, order[i]);
			uint32_t b = base[order[i]];

			memcpy(code + (size_t)b * INSN_SIZE, p->insns, (size_t)fn(o, order[i])->insn_cnt * INSN_SIZE);
			if (i > 0) {
				uint32_t *c = vec_push(&o->callees, sizeof(uint32_t));

				if (!c) {
					err = tsbpf_error(-TSBPF_ERR_NOMEM, "ELF: out of memory");
					goto out;
				}
				*c = order[i];
			}
			for (uint32_t r = p->lr_first; r < p->lr_first + p->lr_cnt; r++) {
				const struct local_reloc *lr = VEC_AT(&o->lrel, struct local_reloc, r);
				struct tsbpf_elf_reloc *out = vec_push(&o->relocs, sizeof(*out));

				if (!out) {
					err = tsbpf_error(-TSBPF_ERR_NOMEM, "ELF: out of memory");
					goto out;
				}
				out->insn = b + lr->slot;
				out->kind = lr->kind;
				out->target = lr->target;
				out->offset = lr->offset;
				out->symbol = lr->symbol;
				/* A call's immediate is the distance to the callee, less one. */
				if (lr->kind == TSBPF_RELOC_CALL || lr->kind == TSBPF_RELOC_FUNC_ADDR)
					set_imm(code + (size_t)out->insn * INSN_SIZE,
						(int32_t)((int64_t)base[lr->target] - (int64_t)out->insn - 1));
			}
			for (uint32_t k = 0; k < 3; k++) {
				for (uint32_t r = 0; r < p->rec_cnt[k]; r++) {
					const uint32_t *in = VEC_AT(&o->recs[k], struct ext_rec, p->rec_first[k] + r)->v;
					uint8_t *dst = o->ext_out[k] + (size_t)(rec_pos[k] + r) * ext_rec_size[k];
					uint32_t at = b + in[0];

					wr32(dst, k == BTF_EXT_CORE ? at * INSN_SIZE : at);
					wr32(dst + 4, in[1]);
					if (k != BTF_EXT_FUNC) {
						wr32(dst + 8, in[2]);
						wr32(dst + 12, in[3]);
					}
				}
				if (i == 0)
					*(k == 0 ? &root->own_func_info : k == 1 ? &root->own_line_info : &root->own_core_relos) =
						p->rec_cnt[k];
				if (i == 0 && k == BTF_EXT_FUNC && p->rec_cnt[k] &&
				    VEC_AT(&o->recs[k], struct ext_rec, p->rec_first[k])->v[0] == 0)
					root->btf_func = VEC_AT(&o->recs[k], struct ext_rec, p->rec_first[k])->v[1];
				rec_pos[k] += p->rec_cnt[k];
			}
		}
		root->insns = code;
		root->linked_cnt = pos;
		root->reloc_first = reloc_first;
		root->reloc_cnt = o->relocs.n - reloc_first;
		root->callee_first = callee_first;
		root->callee_cnt = o->callees.n - callee_first;
		root->func_info = o->ext_out[0] + (size_t)rec_start[0] * ext_rec_size[0];
		root->func_info_cnt = rec_pos[0] - rec_start[0];
		root->line_info = o->ext_out[1] + (size_t)rec_start[1] * ext_rec_size[1];
		root->line_info_cnt = rec_pos[1] - rec_start[1];
		root->core_relos = o->ext_out[2] + (size_t)rec_start[2] * ext_rec_size[2];
		root->core_relo_cnt = rec_pos[2] - rec_start[2];
		slot_pos += pos;
	}
out:
	free(order);
	free(seen);
	free(base);
	return err;
}
