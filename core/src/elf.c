/*
 * The ELF reader: file header, section headers and names, the symbol table and
 * relocation sections, classification of sections, license and version, the BTF
 * and .BTF.ext sections with the DATASEC fix-ups an object file needs; then the
 * passes of elf_maps.c and elf_link.c, in order.
 */
#include <stdio.h>
#include <stdlib.h>

#include "elf_internal.h"

/* ---- small helpers -------------------------------------------------------------------- */

void *vec_push(struct vec *v, size_t elem)
{
	uint8_t *slot;

	if (v->n == v->cap) {
		uint32_t cap = v->cap ? v->cap * 2 : 8;
		void *p;

		if (v->cap >= (1u << 26) || (uint64_t)cap * elem > (1u << 30))
			return NULL;
		p = realloc(v->p, (size_t)cap * elem);
		if (!p)
			return NULL;
		v->p = p;
		v->cap = cap;
	}
	slot = (uint8_t *)v->p + (size_t)v->n++ * elem;
	memset(slot, 0, elem);
	return slot;
}

void vec_free(struct vec *v)
{
	free(v->p);
	memset(v, 0, sizeof(*v));
}

const char *obj_strdup(struct obj *o, const char *a, const char *b)
{
	size_t la = strlen(a), lb = b ? strlen(b) : 0;
	char **slot, *s;

	if (la + lb > (1u << 20))
		return NULL;
	s = malloc(la + lb + 1);
	if (!s)
		return NULL;
	memcpy(s, a, la);
	if (lb)
		memcpy(s + la, b, lb);
	s[la + lb] = '\0';
	slot = vec_push(&o->strings, sizeof(char *));
	if (!slot) {
		free(s);
		return NULL;
	}
	*slot = s;
	return s;
}

static uint64_t rd64le(const uint8_t *p)
{
	return rd64(p);
}

/* ---- file structure ------------------------------------------------------------------- */

static int32_t read_header(struct obj *o, uint64_t *shoff, uint32_t *shnum, uint32_t *shstrndx)
{
	const uint8_t *h = o->file;
	uint16_t machine;

	if (o->size < EHDR_SIZE)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: %u bytes are too few for the 64-byte ELF header", o->size);
	if (memcmp(h, "\177ELF", 4) != 0)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: not an ELF file (bad magic at offset 0)");
	if (h[4] != 2)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: class %u is not ELF64 (BPF objects are 64-bit)", h[4]);
	if (h[5] == 2)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: big-endian objects are not supported (compile with -target bpfel)");
	if (h[5] != 1)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: unknown data encoding %u at offset 5", h[5]);
	if (rd16(h + 16) != ET_REL)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: type %u is not a relocatable object (ET_REL, as clang -c writes)",
				   rd16(h + 16));
	machine = rd16(h + 18);
	if (machine != EM_BPF && machine != EM_NONE)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: machine %u is not BPF (%u)", machine, EM_BPF);
	*shoff = rd64le(h + 40);
	if (rd16(h + 58) != SHDR_SIZE)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: section header size %u (expected %u)", rd16(h + 58), SHDR_SIZE);
	*shnum = rd16(h + 60);
	*shstrndx = rd16(h + 62);
	if (*shoff == 0 || *shoff >= o->size)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: section header table offset %llu is outside the file (%u bytes)",
				   (unsigned long long)*shoff, o->size);
	/* Extended numbering: the real counts sit in section 0. */
	if (o->size - *shoff < SHDR_SIZE)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: the section header table at offset %llu is cut off",
				   (unsigned long long)*shoff);
	if (*shnum == 0) {
		uint64_t n = rd64le(h + *shoff + 32);

		if (n > ELF_MAX_SECTIONS)
			return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: %llu sections are too many", (unsigned long long)n);
		*shnum = (uint32_t)n;
	}
	if (*shstrndx == SHN_XINDEX)
		*shstrndx = rd32(h + *shoff + 40);
	if (*shnum == 0)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: no sections");
	if ((uint64_t)*shnum * SHDR_SIZE > o->size - *shoff)
		return tsbpf_error(-TSBPF_ERR_FORMAT,
				   "ELF: %u section headers at offset %llu run past the end of the file (%u bytes)", *shnum,
				   (unsigned long long)*shoff, o->size);
	if (*shstrndx >= *shnum)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: section name table index %u is not a section (there are %u)",
				   *shstrndx, *shnum);
	return 0;
}

/* A NUL-terminated string at `off` of string table section `tab`, or NULL. */
static const char *strtab_at(const struct obj *o, uint32_t tab, uint64_t off)
{
	const struct elf_sec *s = &o->secs[tab];

	if (!s->data || off >= s->size)
		return NULL;
	return memchr(s->data + off, '\0', s->size - off) ? (const char *)s->data + off : NULL;
}

static int32_t read_sections(struct obj *o, uint64_t shoff, uint32_t shnum, uint32_t shstrndx)
{
	o->secs = calloc(shnum, sizeof(*o->secs));
	if (!o->secs)
		return tsbpf_error(-TSBPF_ERR_NOMEM, "ELF: out of memory for %u sections", shnum);
	o->nsecs = shnum;
	for (uint32_t i = 0; i < shnum; i++) {
		const uint8_t *sh = o->file + shoff + (uint64_t)i * SHDR_SIZE;
		struct elf_sec *s = &o->secs[i];
		uint64_t off = rd64le(sh + 24);

		s->type = rd32(sh + 4);
		s->flags = rd64le(sh + 8);
		s->size = rd64le(sh + 32);
		s->link = rd32(sh + 40);
		s->info = rd32(sh + 44);
		s->addralign = rd64le(sh + 48);
		s->entsize = rd64le(sh + 56);
		s->rel = -1;
		s->map = -1;
		if (i == 0 || s->type == SHT_NOBITS || s->type == SHT_NULL || s->size == 0)
			continue;
		if (off > o->size || s->size > o->size - off)
			return tsbpf_error(-TSBPF_ERR_FORMAT,
					   "ELF: section %u (offset %llu, %llu bytes) runs past the end of the file (%u bytes)",
					   i, (unsigned long long)off, (unsigned long long)s->size, o->size);
		s->data = o->file + off;
	}
	if (o->secs[shstrndx].type != SHT_STRTAB)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: section name table (section %u) is not a string table",
				   shstrndx);
	for (uint32_t i = 0; i < shnum; i++) {
		uint32_t name_off = rd32(o->file + shoff + (uint64_t)i * SHDR_SIZE);

		o->secs[i].name = i == 0 ? "" : strtab_at(o, shstrndx, name_off);
		if (!o->secs[i].name)
			return tsbpf_error(-TSBPF_ERR_FORMAT,
					   "ELF: section %u: name offset %u is outside the section name table", i, name_off);
	}
	return 0;
}

static int32_t read_symbols(struct obj *o)
{
	int32_t symtab = -1;
	const struct elf_sec *s;

	for (uint32_t i = 1; i < o->nsecs; i++) {
		if (o->secs[i].type != SHT_SYMTAB)
			continue;
		if (symtab >= 0)
			return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: two symbol tables (sections %d and %u)", symtab, i);
		symtab = (int32_t)i;
	}
	if (symtab < 0)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: no symbol table");
	s = &o->secs[symtab];
	if (s->entsize != SYM_SIZE)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: symbol table entry size %llu (expected %u)",
				   (unsigned long long)s->entsize, SYM_SIZE);
	if (s->size % SYM_SIZE)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: symbol table size %llu is not a multiple of %u",
				   (unsigned long long)s->size, SYM_SIZE);
	if (s->link == 0 || s->link >= o->nsecs || o->secs[s->link].type != SHT_STRTAB)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: the symbol table's string table (section %u) is not a string table",
				   s->link);
	o->nsyms = (uint32_t)(s->size / SYM_SIZE);
	o->syms = calloc(o->nsyms ? o->nsyms : 1, sizeof(*o->syms));
	if (!o->syms)
		return tsbpf_error(-TSBPF_ERR_NOMEM, "ELF: out of memory for %u symbols", o->nsyms);
	for (uint32_t i = 0; i < o->nsyms; i++) {
		const uint8_t *e = s->data + (size_t)i * SYM_SIZE;
		struct elf_sym *sym = &o->syms[i];
		uint32_t name_off = rd32(e);

		sym->name = strtab_at(o, s->link, name_off);
		if (!sym->name)
			return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: symbol %u: name offset %u is outside the string table", i,
					   name_off);
		sym->bind = e[4] >> 4;
		sym->type = e[4] & 0xf;
		sym->vis = e[5] & 0x3;
		sym->shndx = rd16(e + 6);
		sym->value = rd64le(e + 8);
		sym->size = rd64le(e + 16);
		sym->ext = -1;
		sym->map = -1;
		if (sym->shndx >= o->nsecs && sym->shndx < SHN_LORESERVE)
			return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: symbol %u ('%s') is in section %u, which does not exist",
					   i, sym->name, sym->shndx);
	}
	o->pub.n_symbols = o->nsyms;
	return 0;
}

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static bool is_data_section(const char *name)
{
	return strcmp(name, ".bss") == 0 || has_prefix(name, ".bss.") || has_prefix(name, ".data") ||
	       has_prefix(name, ".rodata");
}

static int32_t classify_sections(struct obj *o)
{
	o->maps_sec = -1;
	for (uint32_t i = 1; i < o->nsecs; i++) {
		struct elf_sec *s = &o->secs[i];
		const char *n = s->name;

		if (s->type == SHT_REL) {
			struct elf_sec *t;

			if (s->info == 0 || s->info >= o->nsecs)
				return tsbpf_error(-TSBPF_ERR_FORMAT,
						   "ELF: relocation section %s applies to section %u, which does not exist", n,
						   s->info);
			t = &o->secs[s->info];
			if (t->rel >= 0)
				return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: section %s has two relocation sections", t->name);
			t->rel = (int32_t)i;
			continue;
		}
		if (strcmp(n, ".BTF") == 0)
			s->kind = SEC_BTF;
		else if (strcmp(n, ".BTF.ext") == 0)
			s->kind = SEC_BTF_EXT;
		else if (has_prefix(n, "license"))
			s->kind = SEC_LICENSE;
		else if (has_prefix(n, "version"))
			s->kind = SEC_VERSION;
		else if (has_prefix(n, "maps"))
			s->kind = SEC_MAPS;
		else if (strcmp(n, ".maps") == 0) {
			s->kind = SEC_BTF_MAPS;
			o->maps_sec = (int32_t)i;
		} else if (is_data_section(n)) {
			if (s->type != SHT_PROGBITS && s->type != SHT_NOBITS)
				continue;
			s->kind = SEC_DATA;
		} else if (strcmp(n, ".struct_ops") == 0 || strcmp(n, ".struct_ops.link") == 0)
			s->kind = SEC_STRUCT_OPS;
		else if (s->type == SHT_PROGBITS && (s->flags & SHF_EXECINSTR) && s->size > 0)
			s->kind = SEC_PROG;
		else
			continue;
		if (s->flags & SHF_COMPRESSED)
			return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: section %s is compressed, which is not supported", n);
		if (s->size > UINT32_MAX)
			return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: section %s is %llu bytes, more than 4 GiB", n,
					   (unsigned long long)s->size);
	}
	return 0;
}

/* Symbols sort by value, then by index: (value, index) pairs keep qsort context-free. */
struct sym_key {
	uint64_t value;
	uint32_t idx;
};

static int cmp_key(const void *a, const void *b)
{
	const struct sym_key *x = a, *y = b;

	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* (name, index) pairs keep the sort by name context-free too. */
struct name_key {
	const char *name;
	uint32_t idx;
};

static int cmp_name_key(const void *a, const void *b)
{
	const struct name_key *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Which symbols a section keeps, by cilium/ebpf's rules: named data objects in map and
 * data sections; functions (and untyped globals, from old clang) in code sections. */
static bool keep_symbol(const struct elf_sec *s, const struct elf_sym *sym)
{
	if (!sym->name[0])
		return false;
	switch (s->kind) {
	case SEC_MAPS:
	case SEC_BTF_MAPS:
	case SEC_DATA:
	case SEC_STRUCT_OPS:
		return sym->type == STT_NOTYPE || sym->type == STT_OBJECT;
	case SEC_PROG:
		return sym->type == STT_FUNC || (sym->type == STT_NOTYPE && sym->bind != STB_LOCAL);
	default:
		return false;
	}
}

static int32_t assign_symbols(struct obj *o)
{
	struct sym_key *keys;
	struct name_key *names;
	uint32_t n = 0, *count;

	count = calloc(o->nsecs, sizeof(uint32_t));
	keys = calloc(o->nsyms ? o->nsyms : 1, sizeof(*keys));
	o->secsyms = calloc(o->nsyms ? o->nsyms : 1, sizeof(uint32_t));
	if (!count || !keys || !o->secsyms) {
		free(count);
		free(keys);
		return tsbpf_error(-TSBPF_ERR_NOMEM, "ELF: out of memory for the symbol index");
	}
	for (uint32_t i = 1; i < o->nsyms; i++) {
		const struct elf_sym *sym = &o->syms[i];

		if (sym->shndx == SHN_UNDEF || sym->shndx >= o->nsecs || !keep_symbol(&o->secs[sym->shndx], sym))
			continue;
		count[sym->shndx]++;
	}
	for (uint32_t s = 0; s < o->nsecs; s++) {
		o->secs[s].sym_first = n;
		n += count[s];
		count[s] = o->secs[s].sym_first;
	}
	for (uint32_t i = 1; i < o->nsyms; i++) {
		const struct elf_sym *sym = &o->syms[i];

		if (sym->shndx == SHN_UNDEF || sym->shndx >= o->nsecs || !keep_symbol(&o->secs[sym->shndx], sym))
			continue;
		o->secsyms[count[sym->shndx]++] = i;
	}
	for (uint32_t s = 0; s < o->nsecs; s++) {
		struct elf_sec *sec = &o->secs[s];

		sec->sym_cnt = count[s] - sec->sym_first;
		for (uint32_t k = 0; k < sec->sym_cnt; k++) {
			keys[k].idx = o->secsyms[sec->sym_first + k];
			keys[k].value = o->syms[keys[k].idx].value;
		}
		qsort(keys, sec->sym_cnt, sizeof(*keys), cmp_key);
		for (uint32_t k = 0; k < sec->sym_cnt; k++)
			o->secsyms[sec->sym_first + k] = keys[k].idx;
	}
	free(count);
	free(keys);
	/* The same symbols by (section, name), for lookups by name. */
	o->byname = malloc((n ? n : 1) * sizeof(uint32_t));
	names = malloc((n ? n : 1) * sizeof(*names));
	if (!o->byname || !names) {
		free(names);
		return tsbpf_error(-TSBPF_ERR_NOMEM, "ELF: out of memory for the symbol index");
	}
	for (uint32_t s = 0; s < o->nsecs; s++) {
		const struct elf_sec *sec = &o->secs[s];

		for (uint32_t k = 0; k < sec->sym_cnt; k++) {
			names[k].idx = o->secsyms[sec->sym_first + k];
			names[k].name = o->syms[names[k].idx].name;
		}
		qsort(names, sec->sym_cnt, sizeof(*names), cmp_name_key);
		for (uint32_t k = 0; k < sec->sym_cnt; k++)
			o->byname[sec->sym_first + k] = names[k].idx;
	}
	free(names);
	return 0;
}

struct elf_sym *sec_sym_at(struct obj *o, uint32_t sec, uint64_t value)
{
	const struct elf_sec *s = &o->secs[sec];
	uint32_t lo = 0, hi = s->sym_cnt;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (o->syms[o->secsyms[s->sym_first + mid]].value < value)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < s->sym_cnt && o->syms[o->secsyms[s->sym_first + lo]].value == value)
		return &o->syms[o->secsyms[s->sym_first + lo]];
	return NULL;
}

struct elf_sym *sec_sym_named(struct obj *o, uint32_t sec, const char *name)
{
	const struct elf_sec *s = &o->secs[sec];
	uint32_t lo = 0, hi = s->sym_cnt;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = strcmp(o->syms[o->byname[s->sym_first + mid]].name, name);

		if (c == 0)
			return &o->syms[o->byname[s->sym_first + mid]];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int cmp_ds_entry(const void *a, const void *b)
{
	return strcmp(((const struct ds_entry *)a)->name, ((const struct ds_entry *)b)->name);
}

int32_t ds_index_build(const struct obj *o, uint32_t ds, struct ds_index *out)
{
	const uint8_t *t = ds ? btf_type_rec(o->btf, ds) : NULL;
	uint32_t vlen = t ? btf_rec_vlen(t) : 0;

	memset(out, 0, sizeof(*out));
	if (!vlen)
		return 0;
	out->e = malloc(vlen * sizeof(*out->e));
	if (!out->e)
		return tsbpf_error(-TSBPF_ERR_NOMEM, "ELF: out of memory");
	out->n = vlen;
	for (uint32_t i = 0; i < vlen; i++) {
		out->e[i].secinfo = t + 12 + 12 * i;
		out->e[i].name = btf_name(o->btf, rd32(out->e[i].secinfo));
	}
	qsort(out->e, vlen, sizeof(*out->e), cmp_ds_entry);
	return 0;
}

const uint8_t *ds_index_find(const struct ds_index *x, const char *name)
{
	struct ds_entry key = { .name = name };
	const struct ds_entry *e = x->n ? bsearch(&key, x->e, x->n, sizeof(*x->e), cmp_ds_entry) : NULL;

	return e ? e->secinfo : NULL;
}

void ds_index_free(struct ds_index *x)
{
	free(x->e);
	memset(x, 0, sizeof(*x));
}

static int cmp_str_ptr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int32_t check_unique(const char **names, uint32_t n, const char *what)
{
	qsort(names, n, sizeof(*names), cmp_str_ptr);
	for (uint32_t i = 1; i < n; i++)
		if (strcmp(names[i - 1], names[i]) == 0)
			return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: %s %s is defined twice", what, names[i]);
	return 0;
}

int32_t sec_by_name(const struct obj *o, const char *name)
{
	for (uint32_t i = 1; i < o->nsecs; i++)
		if (strcmp(o->secs[i].name, name) == 0 && o->secs[i].type != SHT_REL)
			return (int32_t)i;
	return -1;
}

static int cmp_rel(const void *a, const void *b)
{
	const struct elf_rel *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* Reads the relocations of every section whose relocations the loader uses: code,
 * .maps and struct_ops. Others (.BTF, .BTF.ext, debug info, data) are not needed. */
static int32_t read_relocations(struct obj *o)
{
	for (uint32_t i = 1; i < o->nsecs; i++) {
		struct elf_sec *t = &o->secs[i];
		const struct elf_sec *r;

		if (t->rel < 0 || (t->kind != SEC_PROG && t->kind != SEC_BTF_MAPS && t->kind != SEC_STRUCT_OPS))
			continue;
		r = &o->secs[t->rel];
		if (r->entsize != REL_SIZE || r->size % REL_SIZE)
			return tsbpf_error(-TSBPF_ERR_FORMAT,
					   "ELF: relocation section %s: entry size %llu and size %llu (expected %u-byte entries)",
					   r->name, (unsigned long long)r->entsize, (unsigned long long)r->size, REL_SIZE);
		if (r->size / REL_SIZE > (1u << 24))
			return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: relocation section %s is too large", r->name);
		t->nrels = (uint32_t)(r->size / REL_SIZE);
		t->rels = calloc(t->nrels ? t->nrels : 1, sizeof(*t->rels));
		if (!t->rels)
			return tsbpf_error(-TSBPF_ERR_NOMEM, "ELF: out of memory for relocations");
		for (uint32_t k = 0; k < t->nrels; k++) {
			const uint8_t *e = r->data + (size_t)k * REL_SIZE;
			uint64_t off = rd64le(e), info = rd64le(e + 8);
			uint64_t symi = info >> 32;
			uint32_t width = t->kind == SEC_PROG ? INSN_SIZE : 8;

			if (off % (t->kind == SEC_PROG ? INSN_SIZE : 4) || off > t->size || t->size - off < width)
				return tsbpf_error(-TSBPF_ERR_FORMAT,
						   "ELF: relocation %u of section %s: offset %llu is %s", k, t->name,
						   (unsigned long long)off,
						   off % (t->kind == SEC_PROG ? INSN_SIZE : 4) ? "not aligned to an instruction or slot"
											     : "outside the section");
			if (symi == 0 || symi >= o->nsyms)
				return tsbpf_error(-TSBPF_ERR_FORMAT,
						   "ELF: relocation %u of section %s at offset %llu: symbol %llu does not exist (there are %u)",
						   k, t->name, (unsigned long long)off, (unsigned long long)symi, o->nsyms);
			t->rels[k].off = (uint32_t)off;
			t->rels[k].sym = (uint32_t)symi;
		}
		qsort(t->rels, t->nrels, sizeof(*t->rels), cmp_rel);
		for (uint32_t k = 1; k < t->nrels; k++)
			if (t->rels[k].off == t->rels[k - 1].off)
				return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: section %s has two relocations at offset %u",
						   t->name, t->rels[k].off);
		/* References decide which data sections become maps. */
		for (uint32_t k = 0; k < t->nrels; k++) {
			const struct elf_sym *sym = &o->syms[t->rels[k].sym];

			if (sym->shndx != SHN_UNDEF && sym->shndx < o->nsecs)
				o->secs[sym->shndx].refs++;
		}
	}
	return 0;
}

int32_t sec_rel_at(const struct obj *o, uint32_t sec, uint32_t off)
{
	const struct elf_sec *s = &o->secs[sec];
	uint32_t lo = 0, hi = s->nrels;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (s->rels[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->nrels && s->rels[lo].off == off ? (int32_t)lo : -1;
}

static int32_t read_license_version(struct obj *o)
{
	for (uint32_t i = 1; i < o->nsecs; i++) {
		const struct elf_sec *s = &o->secs[i];

		if (s->kind == SEC_LICENSE) {
			const uint8_t *nul = s->data ? memchr(s->data, '\0', s->size) : NULL;
			size_t len = s->data ? (nul ? (size_t)(nul - s->data) : s->size) : 0;
			char *copy;

			if (len > 4096)
				return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: section %s: a license of %zu bytes is too long",
						   s->name, len);
			copy = malloc(len + 1);
			if (!copy)
				return tsbpf_error(-TSBPF_ERR_NOMEM, "ELF: out of memory");
			if (len)
				memcpy(copy, s->data, len);
			copy[len] = '\0';
			o->pub.license = obj_strdup(o, copy, NULL);
			free(copy);
			if (!o->pub.license)
				return tsbpf_error(-TSBPF_ERR_NOMEM, "ELF: out of memory");
		} else if (s->kind == SEC_VERSION) {
			if (!s->data || s->size < 4)
				return tsbpf_error(-TSBPF_ERR_FORMAT,
						   "ELF: section %s is %llu bytes, too short for the 4-byte kernel version",
						   s->name, (unsigned long long)s->size);
			o->pub.kernel_version = rd32(s->data);
			o->pub.has_version = 1;
		}
	}
	if (!o->pub.license)
		o->pub.license = "";
	return 0;
}

uint32_t btf_datasec(const struct obj *o, const char *name)
{
	int32_t id;

	if (!o->btf)
		return 0;
	id = btf_find(o->btf, name, BTF_KIND_DATASEC, 0);
	return id > 0 ? (uint32_t)id : 0;
}

/*
 * clang leaves DATASEC sizes and the offsets of global variables at 0 in object files
 * (the linker is expected to fill them in): take them from the ELF section sizes and
 * symbol values, as libbpf does before loading. .kconfig has no section: its variables
 * are laid out by their sizes and alignments.
 */
static int32_t fixup_datasecs(struct obj *o)
{
	struct tsbpf_btf *btf = o->btf;

	for (uint32_t id = btf->start_id; id < btf_end_id(btf); id++) {
		uint8_t *t = btf_type_rec_mut(btf, id);
		const char *name;
		uint8_t *v;
		uint32_t vlen;
		int32_t sec;

		if (btf_rec_kind(t) != BTF_KIND_DATASEC)
			continue;
		name = btf_name(btf, id);
		vlen = btf_rec_vlen(t);
		v = t + 12;
		if (strcmp(name, ".ksyms") == 0)
			continue;
		if (strcmp(name, ".kconfig") == 0) {
			uint32_t off = 0;

			for (uint32_t i = 0; i < vlen; i++, v += 12) {
				uint32_t var = rd32(v);
				int32_t size = btf_sizeof(btf, var), align = btf_alignof(btf, var);

				if (btf_kind(btf, var) != BTF_KIND_VAR || size < 0 || align <= 0)
					return tsbpf_error(-TSBPF_ERR_FORMAT,
							   "BTF: .kconfig variable %u ('%s') has no size or alignment", i,
							   btf_name(btf, var));
				off = (off + (uint32_t)align - 1) / (uint32_t)align * (uint32_t)align;
				wr32(v + 4, off);
				wr32(v + 8, (uint32_t)size);
				if ((uint64_t)off + (uint32_t)size > (1u << 20))
					return tsbpf_error(-TSBPF_ERR_FORMAT, "BTF: .kconfig is larger than 1 MiB");
				off += (uint32_t)size;
			}
			wr32(t + 8, off);
			o->pub.kconfig_size = off;
			continue;
		}
		if (btf_rec_size_type(t) != 0)
			continue;
		sec = sec_by_name(o, name);
		if (sec < 0)
			continue; /* nothing to take the size from; left as is */
		wr32(t + 8, (uint32_t)o->secs[sec].size);
		for (uint32_t i = 0; i < vlen; i++, v += 12) {
			const struct elf_sym *sym = sec_sym_named(o, (uint32_t)sec, btf_name(btf, rd32(v)));

			if (sym && sym->value <= UINT32_MAX)
				wr32(v + 4, (uint32_t)sym->value);
		}
	}
	return 0;
}

static int32_t read_btf(struct obj *o)
{
	int32_t btf_sec = -1, ext_sec = -1, err;

	for (uint32_t i = 1; i < o->nsecs; i++) {
		if (o->secs[i].kind == SEC_BTF)
			btf_sec = (int32_t)i;
		else if (o->secs[i].kind == SEC_BTF_EXT)
			ext_sec = (int32_t)i;
	}
	if (btf_sec < 0) {
		if (ext_sec >= 0)
			return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: the object has .BTF.ext but no .BTF");
		return 0;
	}
	if (!o->secs[btf_sec].data)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: section .BTF is empty");
	err = btf_open_copy(o->secs[btf_sec].data, (uint32_t)o->secs[btf_sec].size, &o->btf);
	if (err)
		return err;
	o->pub.btf = o->btf;
	if (ext_sec >= 0) {
		if (!o->secs[ext_sec].data)
			return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: section .BTF.ext is empty");
		err = btf_ext_parse(o->secs[ext_sec].data, (uint32_t)o->secs[ext_sec].size, o->btf, &o->ext);
		if (err)
			return err;
		o->pub.btf_ext_funcs = o->ext.func.total;
		o->pub.btf_ext_lines = o->ext.line.total;
		o->pub.btf_ext_core_relos = o->ext.core.total;
	}
	return 0;
}

static void publish(struct obj *o)
{
	o->pub.funcs = o->funcs.p;
	o->pub.n_funcs = o->funcs.n;
	o->pub.maps = o->maps.p;
	o->pub.n_maps = o->maps.n;
	o->pub.values = o->values.p;
	o->pub.n_values = o->values.n;
	o->pub.vars = o->vars.p;
	o->pub.n_vars = o->vars.n;
	o->pub.externs = o->externs.p;
	o->pub.n_externs = o->externs.n;
	o->pub.relocs = o->relocs.p;
	o->pub.n_relocs = o->relocs.n;
	o->pub.callees = o->callees.p;
	o->pub.n_callees = o->callees.n;
	o->pub.n_sections = o->nsecs;
}

static int32_t elf_parse(struct obj *o)
{
	uint64_t shoff;
	uint32_t shnum, shstrndx;
	int32_t err;

	if ((err = read_header(o, &shoff, &shnum, &shstrndx)) || (err = read_sections(o, shoff, shnum, shstrndx)) ||
	    (err = read_symbols(o)) || (err = classify_sections(o)) || (err = read_license_version(o)) ||
	    (err = assign_symbols(o)) || (err = read_relocations(o)) || (err = read_btf(o)))
		return err;
	if (o->btf && (err = fixup_datasecs(o)))
		return err;
	if ((err = elf_collect_externs(o)) || (err = elf_collect_funcs(o)) || (err = elf_collect_maps(o)) ||
	    (err = elf_collect_map_values(o)) || (err = elf_collect_vars(o)) || (err = elf_relocate_funcs(o)) ||
	    (err = elf_collect_ext_records(o)) || (err = elf_link(o)))
		return err;
	publish(o);
	return 0;
}

int32_t tsbpf_elf_open(const void *data, uint32_t size, struct tsbpf_elf_object **out)
{
	struct obj *o;
	int32_t err;

	tsbpf_begin(-1);
	if (!out || (!data && size))
		return tsbpf_error(-EINVAL, "ELF: missing buffer");
	*out = NULL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return tsbpf_error(-TSBPF_ERR_NOMEM, "ELF: out of memory");
	o->file = data;
	o->size = size;
	err = elf_parse(o);
	if (err) {
		tsbpf_elf_close(&o->pub);
		return err;
	}
	*out = &o->pub;
	return 0;
}

void tsbpf_elf_close(struct tsbpf_elf_object *pub)
{
	struct obj *o = (struct obj *)pub;

	if (!o)
		return;
	for (uint32_t i = 0; i < o->nsecs; i++)
		free(o->secs[i].rels);
	free(o->secs);
	free(o->syms);
	free(o->secsyms);
	free(o->byname);
	btf_ext_free(&o->ext);
	tsbpf_btf_close(o->btf);
	for (uint32_t i = 0; i < o->fpriv.n; i++)
		free(VEC_AT(&o->fpriv, struct func_priv, i)->insns);
	for (uint32_t i = 0; i < o->strings.n; i++)
		free(*VEC_AT(&o->strings, char *, i));
	vec_free(&o->funcs);
	vec_free(&o->fpriv);
	vec_free(&o->maps);
	vec_free(&o->values);
	vec_free(&o->vars);
	vec_free(&o->externs);
	vec_free(&o->lrel);
	vec_free(&o->relocs);
	vec_free(&o->callees);
	vec_free(&o->strings);
	vec_free(&o->values_decls);
	for (int k = 0; k < 3; k++) {
		vec_free(&o->recs[k]);
		free(o->ext_out[k]);
	}
	free(o->linked);
	free(o->own_insns);
	free(o);
}

struct tsbpf_btf *tsbpf_elf_take_btf(struct tsbpf_elf_object *pub)
{
	struct obj *o = (struct obj *)pub;
	struct tsbpf_btf *btf;

	tsbpf_begin(-1);
	if (!o)
		return NULL;
	btf = o->btf;
	o->btf = NULL;
	return btf;
}
