/*
 * Maps of a BPF object: legacy struct bpf_map_def entries in "maps" sections,
 * BTF-defined maps in .maps (with inner map templates and initial `values`), global
 * data sections as one-element arrays, struct_ops variables; and the object's global
 * variables and externs. What counts as an error follows cilium/ebpf.
 */
#include <stdlib.h>

#include "elf_internal.h"

#define MAP_F_LINK (1u << 13) /* BPF_F_LINK: 6.4, newer than the uapi header */
#define MAP_TYPE_ARENA 33     /* 6.9 */

static struct tsbpf_elf_map *map_at(struct obj *o, uint32_t i)
{
	return VEC_AT(&o->maps, struct tsbpf_elf_map, i);
}

static int32_t new_map(struct obj *o, const char *name, uint32_t source, uint32_t sec, uint32_t *index)
{
	struct tsbpf_elf_map *m = vec_push(&o->maps, sizeof(*m));

	if (!m)
		return tsbpf_error(-TSBPF_ERR_NOMEM, "ELF: out of memory for maps");
	m->name = name;
	m->source = source;
	m->section_index = sec;
	m->inner = -1;
	*index = o->maps.n - 1;
	return 0;
}

/* The VAR id of secinfo (0 for NULL). */
static uint32_t si_var(const uint8_t *si)
{
	return si ? rd32(si) : 0;
}

/* ---- externs --------------------------------------------------------------------------- */

int32_t elf_collect_externs(struct obj *o)
{
	struct ds_index kconfig, ksyms;
	const char **names;
	int32_t err;

	if ((err = ds_index_build(o, btf_datasec(o, ".kconfig"), &kconfig)))
		return err;
	if ((err = ds_index_build(o, btf_datasec(o, ".ksyms"), &ksyms))) {
		ds_index_free(&kconfig);
		return err;
	}
	for (uint32_t i = 1; i < o->nsyms && !err; i++) {
		struct elf_sym *sym = &o->syms[i];
		struct tsbpf_elf_extern *e;
		const uint8_t *si;

		if (sym->shndx != SHN_UNDEF || !sym->name[0])
			continue;
		e = vec_push(&o->externs, sizeof(*e));
		if (!e) {
			err = tsbpf_error(-TSBPF_ERR_NOMEM, "ELF: out of memory for externs");
			break;
		}
		e->name = sym->name;
		e->binding = sym->bind;
		sym->ext = (int32_t)(o->externs.n - 1);
		if ((si = ds_index_find(&kconfig, sym->name)) && btf_kind(o->btf, rd32(si)) == BTF_KIND_VAR) {
			e->kind = TSBPF_EXTERN_KCONFIG;
			e->btf_id = rd32(si);
			e->offset = rd32(si + 4);
			e->size = rd32(si + 8);
		} else if ((si = ds_index_find(&ksyms, sym->name))) {
			e->kind = btf_kind(o->btf, rd32(si)) == BTF_KIND_FUNC ? TSBPF_EXTERN_KFUNC : TSBPF_EXTERN_KSYM;
			e->btf_id = rd32(si);
		}
	}
	ds_index_free(&kconfig);
	ds_index_free(&ksyms);
	if (err || !o->externs.n)
		return err;
	names = malloc(o->externs.n * sizeof(*names));
	if (!names)
		return tsbpf_error(-TSBPF_ERR_NOMEM, "ELF: out of memory");
	for (uint32_t i = 0; i < o->externs.n; i++)
		names[i] = VEC_AT(&o->externs, struct tsbpf_elf_extern, i)->name;
	err = check_unique(names, o->externs.n, "undefined symbol");
	free(names);
	return err;
}

/* ---- legacy maps ----------------------------------------------------------------------- */

static int32_t legacy_defs(struct obj *o, uint32_t sec, const struct ds_index *ds);

static int32_t legacy_maps(struct obj *o, uint32_t sec)
{
	const struct elf_sec *s = &o->secs[sec];
	struct ds_index ds;
	int32_t err;

	if (s->sym_cnt == 0)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: section %s: no symbols name its map definitions", s->name);
	if (!s->data)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: section %s has no contents", s->name);
	if ((err = ds_index_build(o, btf_datasec(o, s->name), &ds)))
		return err;
	err = legacy_defs(o, sec, &ds);
	ds_index_free(&ds);
	return err;
}

static int32_t legacy_defs(struct obj *o, uint32_t sec, const struct ds_index *ds)
{
	static const char *const fields[] = { "type", "key size", "value size", "max entries", "flags" };
	const struct elf_sec *s = &o->secs[sec];

	for (uint32_t k = 0; k < s->sym_cnt; k++) {
		struct elf_sym *sym = &o->syms[o->secsyms[s->sym_first + k]];
		struct tsbpf_elf_map *m;
		const uint8_t *def;
		uint32_t idx;
		int32_t err;

		if (sym->value > s->size || sym->size > s->size - sym->value)
			return tsbpf_error(-TSBPF_ERR_FORMAT,
					   "ELF: section %s: map %s (offset %llu, %llu bytes) runs past the end of the section",
					   s->name, sym->name, (unsigned long long)sym->value, (unsigned long long)sym->size);
		if (sym->size < 20)
			return tsbpf_error(-TSBPF_ERR_FORMAT,
					   "ELF: section %s: map %s: its %llu-byte definition lacks the %s (struct bpf_map_def is 20 bytes)",
					   s->name, sym->name, (unsigned long long)sym->size, fields[sym->size / 4]);
		if ((err = new_map(o, sym->name, TSBPF_MAP_SRC_LEGACY, sec, &idx)))
			return err;
		m = map_at(o, idx);
		def = s->data + sym->value;
		m->type = rd32(def);
		m->key_size = rd32(def + 4);
		m->value_size = rd32(def + 8);
		m->max_entries = rd32(def + 12);
		m->flags = rd32(def + 16);
		/* iproute2's bpf_elf_map and old struct bpf_map_def variants carry more fields:
		 * kept as bytes; creating the map refuses non-zero ones it cannot honour. */
		m->extra = sym->size > 20 ? def + 20 : NULL;
		m->extra_size = (uint32_t)sym->size - 20;
		m->def_offset = (uint32_t)sym->value;
		m->def_size = (uint32_t)sym->size;
		m->btf_var = si_var(ds_index_find(ds, sym->name));
		sym->map = (int32_t)idx;
	}
	return 0;
}

/* ---- BTF maps -------------------------------------------------------------------------- */

struct map_def_ctx {
	const char *map;
	uint32_t struct_id;
	uint32_t member;
	const char *field;
};

static int32_t def_error(const struct obj *o, const struct map_def_ctx *c, const char *what)
{
	return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: section .maps: map %s: field '%s' (member %u of type [%u]): %s", c->map,
			   c->field, c->member, c->struct_id, what);
}

/* __uint(name, N) is a pointer to an array of N elements; __ulong(name, N) an enum whose
 * only value is N. */
static int32_t uint_from_btf(const struct obj *o, const struct map_def_ctx *c, uint32_t type, uint64_t *out)
{
	const uint8_t *t = btf_type_rec(o->btf, type);

	if (t && btf_rec_kind(t) == BTF_KIND_PTR) {
		const uint8_t *a = btf_type_rec(o->btf, btf_rec_size_type(t));

		if (!a || btf_rec_kind(a) != BTF_KIND_ARRAY)
			return def_error(o, c, "a pointer, but not to an array (expected __uint())");
		*out = rd32(a + 12 + 8);
		return 0;
	}
	if (t && (btf_rec_kind(t) == BTF_KIND_ENUM || btf_rec_kind(t) == BTF_KIND_ENUM64)) {
		if (btf_rec_vlen(t) == 0)
			return def_error(o, c, "an enum without values");
		*out = btf_rec_kind(t) == BTF_KIND_ENUM ? rd32(t + 12 + 4) : rd64(t + 12 + 4);
		return 0;
	}
	return def_error(o, c, "neither a pointer to an array nor an enum (expected __uint() or __ulong())");
}

/* __type(key, T) is a pointer to T. */
static int32_t type_from_btf(const struct obj *o, const struct map_def_ctx *c, uint32_t type, uint32_t *id,
			     uint32_t *size)
{
	const uint8_t *t = btf_type_rec(o->btf, type);
	int32_t sz;

	if (!t || btf_rec_kind(t) != BTF_KIND_PTR)
		return def_error(o, c, "not a pointer (expected __type())");
	*id = btf_rec_size_type(t);
	sz = btf_sizeof(o->btf, *id);
	if (sz < 0)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: section .maps: map %s: field '%s': type [%u] (%s '%s') has no size",
				   c->map, c->field, *id, btf_kind_name(btf_kind(o->btf, *id)), btf_name(o->btf, *id));
	*size = (uint32_t)sz;
	return 0;
}

/* Private per-map state for the values pass. */
struct values_decl {
	uint32_t map;
	uint32_t sym;
	uint32_t off; /* byte offset of the values member in the definition */
};

static int32_t btf_map_def(struct obj *o, struct vec *decls, const char *name, uint32_t struct_id, uint32_t sym_idx,
			   bool inner, uint32_t *out)
{
	const uint8_t *t = btf_type_rec(o->btf, struct_id);
	uint32_t vlen = btf_rec_vlen(t), idx, key_type = 0, value_type = 0, key_size = 0, value_size = 0;
	uint64_t type = 0, flags = 0, max_entries = 0, numa = 0, pinning = 0, extra = 0, u;
	bool kflag = btf_rec_kflag(t), have_key = false, have_value = false;
	struct map_def_ctx c = { .map = name, .struct_id = struct_id };
	struct tsbpf_elf_map *m;
	int32_t inner_idx = -1, err;
	uint32_t values_decl = 0;
	int64_t values_off = -1;

	if (!name)
		return tsbpf_error(-TSBPF_ERR_NOMEM, "ELF: out of memory");

	for (uint32_t i = 0; i < vlen; i++) {
		const uint8_t *mem = t + 12 + 12 * i;
		uint32_t mtype = rd32(mem + 4), bitoff = kflag ? rd32(mem + 8) & 0xffffff : rd32(mem + 8);
		const char *f = btf_str(o->btf, rd32(mem));

		c.member = i;
		c.field = f;
		if (strcmp(f, "type") == 0) {
			if ((err = uint_from_btf(o, &c, mtype, &type)))
				return err;
		} else if (strcmp(f, "map_flags") == 0) {
			if ((err = uint_from_btf(o, &c, mtype, &flags)))
				return err;
		} else if (strcmp(f, "max_entries") == 0) {
			if ((err = uint_from_btf(o, &c, mtype, &max_entries)))
				return err;
		} else if (strcmp(f, "numa_node") == 0) {
			if ((err = uint_from_btf(o, &c, mtype, &numa)))
				return err;
		} else if (strcmp(f, "map_extra") == 0) {
			if ((err = uint_from_btf(o, &c, mtype, &extra)))
				return err;
		} else if (strcmp(f, "pinning") == 0) {
			if (inner)
				return def_error(o, &c, "inner maps cannot be pinned");
			if ((err = uint_from_btf(o, &c, mtype, &pinning)))
				return err;
		} else if (strcmp(f, "key") == 0) {
			if (key_size)
				return def_error(o, &c, "both key and key_size are given");
			if ((err = type_from_btf(o, &c, mtype, &key_type, &key_size)))
				return err;
			have_key = true;
		} else if (strcmp(f, "value") == 0) {
			if (value_size)
				return def_error(o, &c, "both value and value_size are given");
			if ((err = type_from_btf(o, &c, mtype, &value_type, &value_size)))
				return err;
			have_value = true;
		} else if (strcmp(f, "key_size") == 0) {
			if (have_key || key_size)
				return def_error(o, &c, "both key and key_size are given");
			if ((err = uint_from_btf(o, &c, mtype, &u)))
				return err;
			if (u > UINT32_MAX)
				return def_error(o, &c, "larger than 32 bits");
			key_size = (uint32_t)u;
		} else if (strcmp(f, "value_size") == 0) {
			if (have_value || value_size)
				return def_error(o, &c, "both value and value_size are given");
			if ((err = uint_from_btf(o, &c, mtype, &u)))
				return err;
			if (u > UINT32_MAX)
				return def_error(o, &c, "larger than 32 bits");
			value_size = (uint32_t)u;
		} else if (strcmp(f, "values") == 0) {
			const uint8_t *arr = btf_type_rec(o->btf, mtype), *ptr;
			int32_t target;

			if (i != vlen - 1)
				return def_error(o, &c, "'values' must be the last member");
			if (value_size != 0 && value_size != 4)
				return def_error(o, &c, "value_size must be 0 or 4 with 'values'");
			if (!arr || btf_rec_kind(arr) != BTF_KIND_ARRAY)
				return def_error(o, &c, "not an array (expected __array())");
			ptr = btf_type_rec(o->btf, rd32(arr + 12));
			if (!ptr || btf_rec_kind(ptr) != BTF_KIND_PTR)
				return def_error(o, &c, "not an array of pointers (expected __array())");
			if (bitoff % 8)
				return def_error(o, &c, "not at a byte offset");
			value_size = 4;
			values_decl = rd32(arr + 12 + 8);
			values_off = bitoff / 8;
			target = btf_skip_mods(o->btf, btf_rec_size_type(ptr));
			if (target > 0 && btf_kind(o->btf, (uint32_t)target) == BTF_KIND_STRUCT) {
				uint32_t in;

				if (type != BPF_MAP_TYPE_ARRAY_OF_MAPS && type != BPF_MAP_TYPE_HASH_OF_MAPS)
					return def_error(o, &c, "an array of maps needs an outer map of type array or hash of maps");
				if (inner)
					return def_error(o, &c, "inner maps cannot have inner maps");
				if ((err = btf_map_def(o, decls, obj_strdup(o, name, "_inner"), (uint32_t)target, sym_idx, true,
						       &in)))
					return err;
				inner_idx = (int32_t)in;
			} else if (target > 0 && btf_kind(o->btf, (uint32_t)target) == BTF_KIND_FUNC_PROTO) {
				if (type != BPF_MAP_TYPE_PROG_ARRAY)
					return def_error(o, &c, "an array of functions needs a map of type program array");
			} else {
				return def_error(o, &c, "the array's elements point at neither a map definition nor a function");
			}
		} else {
			return def_error(o, &c, "unrecognized field in a BTF map definition");
		}
	}
	if (type > UINT32_MAX || flags > UINT32_MAX || max_entries > UINT32_MAX || numa > UINT32_MAX || pinning > UINT32_MAX)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: section .maps: map %s: a field does not fit in 32 bits", name);
	/* These map types take no value size (the kernel fixes or forbids it); a declared
	 * value type still describes the records. */
	if (have_value &&
	    (type == BPF_MAP_TYPE_RINGBUF || type == BPF_MAP_TYPE_PERF_EVENT_ARRAY || type == MAP_TYPE_ARENA))
		value_size = 0;
	if (inner) {
		m = vec_push(&o->maps, sizeof(*m));
		if (!m)
			return tsbpf_error(-TSBPF_ERR_NOMEM, "ELF: out of memory for maps");
		m->name = name;
		m->source = TSBPF_MAP_SRC_BTF;
		m->section_index = (uint32_t)o->maps_sec;
		m->is_inner = 1;
		idx = o->maps.n - 1;
	} else if ((err = new_map(o, name, TSBPF_MAP_SRC_BTF, (uint32_t)o->maps_sec, &idx))) {
		return err;
	}
	m = map_at(o, idx);
	m->type = (uint32_t)type;
	m->key_size = key_size;
	m->value_size = value_size;
	m->max_entries = (uint32_t)max_entries;
	m->flags = (uint32_t)flags;
	m->numa_node = (uint32_t)numa;
	m->pinning = (uint32_t)pinning;
	m->map_extra = extra;
	m->key_type = key_type;
	m->value_type = value_type;
	m->inner = inner_idx;
	m->values_decl = values_decl;
	if (!inner) {
		const struct elf_sym *sym = &o->syms[sym_idx];

		m->def_offset = (uint32_t)sym->value;
		m->def_size = (uint32_t)sym->size;
		if (values_off >= 0) {
			struct values_decl *d = vec_push(decls, sizeof(*d));

			if (!d)
				return tsbpf_error(-TSBPF_ERR_NOMEM, "ELF: out of memory");
			d->map = idx;
			d->sym = sym_idx;
			d->off = (uint32_t)values_off;
		}
	}
	*out = idx;
	return 0;
}

static int32_t btf_maps(struct obj *o)
{
	uint32_t sec = (uint32_t)o->maps_sec, ds;
	const struct elf_sec *s = &o->secs[sec];
	const uint8_t *dt;

	if (!o->btf)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: section .maps needs BTF, but the object has no .BTF section");
	ds = btf_datasec(o, ".maps");
	dt = ds ? btf_type_rec(o->btf, ds) : NULL;
	if ((dt ? btf_rec_vlen(dt) : 0) != s->sym_cnt)
		return tsbpf_error(-TSBPF_ERR_FORMAT,
				   "ELF: section .maps has %u symbols, but its BTF DATASEC describes %u variables",
				   s->sym_cnt, dt ? btf_rec_vlen(dt) : 0);
	for (uint32_t i = 0; dt && i < btf_rec_vlen(dt); i++) {
		uint32_t var = rd32(dt + 12 + 12 * i), idx;
		const char *name = btf_name(o->btf, var);
		struct elf_sym *sym;
		int32_t def;
		int32_t err;

		if (btf_kind(o->btf, var) != BTF_KIND_VAR)
			return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: section .maps: DATASEC entry %u is %s [%u], not a VAR", i,
					   btf_kind_name(btf_kind(o->btf, var)), var);
		sym = sec_sym_named(o, sec, name);
		if (!sym)
			return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: section .maps: no symbol for map %s", name);
		if (sym->value > s->size || sym->size > s->size - sym->value)
			return tsbpf_error(-TSBPF_ERR_FORMAT,
					   "ELF: section .maps: map %s (offset %llu, %llu bytes) runs past the end of the section",
					   name, (unsigned long long)sym->value, (unsigned long long)sym->size);
		for (uint64_t b = 0; s->data && b < sym->size; b++)
			if (s->data[sym->value + b])
				return tsbpf_error(-TSBPF_ERR_NOTSUP,
						   "ELF: section .maps: map %s has a non-zero byte at offset %llu of its definition: "
						   "static initialisers of BTF map definitions are not supported",
						   name, (unsigned long long)b);
		def = btf_skip_mods(o->btf, btf_rec_size_type(btf_type_rec(o->btf, var)));
		if (def <= 0 || btf_kind(o->btf, (uint32_t)def) != BTF_KIND_STRUCT)
			return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: section .maps: map %s is not a struct", name);
		if ((err = btf_map_def(o, &o->values_decls, name, (uint32_t)def, (uint32_t)(sym - o->syms), false, &idx)))
			return err;
		map_at(o, idx)->btf_var = var;
		sym->map = (int32_t)idx;
	}
	return 0;
}

/* ---- data sections and struct_ops ------------------------------------------------------- */

static int32_t data_map(struct obj *o, uint32_t sec)
{
	struct elf_sec *s = &o->secs[sec];
	struct tsbpf_elf_map *m;
	uint32_t idx;
	int32_t err;

	/* A section nothing refers to and no symbol names is a compiler leftover. */
	if (s->refs == 0 && s->sym_cnt == 0)
		return 0;
	if (s->size > ELF_MAX_DATA_SECTION)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: data section %s is %llu bytes; at most %u are supported", s->name,
				   (unsigned long long)s->size, ELF_MAX_DATA_SECTION);
	if ((err = new_map(o, s->name, TSBPF_MAP_SRC_DATA, sec, &idx)))
		return err;
	m = map_at(o, idx);
	m->type = BPF_MAP_TYPE_ARRAY;
	m->key_size = 4;
	m->value_size = (uint32_t)s->size;
	m->max_entries = 1;
	m->flags = strncmp(s->name, ".rodata", 7) == 0 ? BPF_F_RDONLY_PROG : 0;
	m->data = s->data;
	m->data_size = (uint32_t)s->size;
	m->value_type = btf_datasec(o, s->name);
	m->def_size = (uint32_t)s->size;
	s->map = (int32_t)idx;
	return 0;
}

static int32_t struct_ops_maps(struct obj *o, uint32_t sec)
{
	const struct elf_sec *s = &o->secs[sec];
	uint32_t ds = btf_datasec(o, s->name);
	const uint8_t *dt = ds ? btf_type_rec(o->btf, ds) : NULL;

	if (!dt)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: section %s: no BTF DATASEC describes its variables", s->name);
	for (uint32_t i = 0; i < btf_rec_vlen(dt); i++) {
		const uint8_t *si = dt + 12 + 12 * i;
		uint32_t var = rd32(si), off = rd32(si + 4), idx;
		const char *name = btf_name(o->btf, var);
		struct tsbpf_elf_map *m;
		int32_t st, size, err;

		if (btf_kind(o->btf, var) != BTF_KIND_VAR)
			return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: section %s: DATASEC entry %u is not a VAR", s->name, i);
		st = btf_skip_mods(o->btf, btf_rec_size_type(btf_type_rec(o->btf, var)));
		if (st <= 0 || btf_kind(o->btf, (uint32_t)st) != BTF_KIND_STRUCT)
			return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: section %s: variable %s is not a struct", s->name, name);
		size = btf_sizeof(o->btf, (uint32_t)st);
		if (size < 0 || (uint64_t)off + (uint32_t)size > s->size)
			return tsbpf_error(-TSBPF_ERR_FORMAT,
					   "ELF: section %s: variable %s (offset %u, %d bytes) runs past the end of the section",
					   s->name, name, off, size);
		if ((err = new_map(o, name, TSBPF_MAP_SRC_STRUCT_OPS, sec, &idx)))
			return err;
		m = map_at(o, idx);
		m->type = BPF_MAP_TYPE_STRUCT_OPS;
		m->key_size = 4;
		m->value_size = (uint32_t)size;
		m->max_entries = 1;
		m->flags = strcmp(s->name, ".struct_ops.link") == 0 ? MAP_F_LINK : 0;
		m->value_type = (uint32_t)st;
		m->btf_var = var;
		m->data = s->data ? s->data + off : NULL;
		m->data_size = (uint32_t)size;
		m->def_offset = off;
		m->def_size = (uint32_t)size;
	}
	return 0;
}

static int32_t unique_maps(struct obj *o)
{
	const char **names = malloc((o->maps.n ? o->maps.n : 1) * sizeof(*names));
	uint32_t n = 0;
	int32_t err;

	if (!names)
		return tsbpf_error(-TSBPF_ERR_NOMEM, "ELF: out of memory");
	for (uint32_t i = 0; i < o->maps.n; i++)
		if (!map_at(o, i)->is_inner)
			names[n++] = map_at(o, i)->name;
	err = check_unique(names, n, "map");
	free(names);
	return err;
}

int32_t elf_collect_maps(struct obj *o)
{
	int32_t err;

	vec_free(&o->values_decls);
	for (uint32_t i = 1; i < o->nsecs; i++)
		if (o->secs[i].kind == SEC_MAPS && (err = legacy_maps(o, i)))
			return err;
	if (o->maps_sec >= 0 && (err = btf_maps(o)))
		return err;
	for (uint32_t i = 1; i < o->nsecs; i++)
		if (o->secs[i].kind == SEC_DATA && (err = data_map(o, i)))
			return err;
	for (uint32_t i = 1; i < o->nsecs; i++) {
		if (o->secs[i].kind != SEC_STRUCT_OPS)
			continue;
		if (!o->btf)
			return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: section %s needs BTF, but the object has no .BTF section",
					   o->secs[i].name);
		if ((err = struct_ops_maps(o, i)))
			return err;
	}
	return unique_maps(o);
}

/* ---- initial values -------------------------------------------------------------------- */

static int32_t push_value(struct obj *o, uint32_t map, uint32_t slot, uint32_t kind, uint32_t target, const char *member)
{
	struct tsbpf_elf_map_value *v = vec_push(&o->values, sizeof(*v));

	if (!v)
		return tsbpf_error(-TSBPF_ERR_NOMEM, "ELF: out of memory");
	v->map = map;
	v->slot = slot;
	v->kind = kind;
	v->target = target;
	v->member = member;
	return 0;
}

/* The BTF map a symbol of .maps defines (through an alias at the same offset, too). */
static int32_t btf_map_of(struct obj *o, const struct elf_sym *sym)
{
	const struct elf_sym *at;

	if (sym->map >= 0)
		return map_at(o, (uint32_t)sym->map)->source == TSBPF_MAP_SRC_BTF ? sym->map : -1;
	at = sec_sym_at(o, (uint32_t)o->maps_sec, sym->value);
	return at && at->map >= 0 && map_at(o, (uint32_t)at->map)->source == TSBPF_MAP_SRC_BTF ? at->map : -1;
}

static int32_t btf_map_values(struct obj *o, const struct values_decl *d)
{
	const struct elf_sym *def = &o->syms[d->sym];
	uint32_t sec = (uint32_t)o->maps_sec, first = o->values.n, mtype = map_at(o, d->map)->type;
	const char *name = map_at(o, d->map)->name;
	uint64_t start, n;
	int32_t err;

	if (d->off > def->size)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: section .maps: map %s: 'values' at offset %u is past its %llu bytes",
				   name, d->off, (unsigned long long)def->size);
	start = def->value + d->off;
	n = (def->size - d->off) / 8;
	for (uint32_t i = 0; i < n; i++) {
		int32_t r = sec_rel_at(o, sec, (uint32_t)(start + 8ull * i)), target;
		const struct elf_sym *sym;

		if (r < 0)
			continue;
		sym = &o->syms[o->secs[sec].rels[r].sym];
		if (sym->type == STT_FUNC && mtype == BPF_MAP_TYPE_PROG_ARRAY) {
			target = sym->shndx < o->nsecs ? func_at(o, sym->shndx, sym->value) : -1;
			if (target < 0 || !VEC_AT(&o->funcs, struct tsbpf_elf_func, target)->is_program)
				return tsbpf_error(-TSBPF_ERR_FORMAT,
						   "ELF: section .maps: map %s: values[%u] refers to %s, which is not a program",
						   name, i, sym->name);
			err = push_value(o, d->map, i, TSBPF_VALUE_PROG, (uint32_t)target, "");
		} else if (sym->type == STT_OBJECT && mtype != BPF_MAP_TYPE_PROG_ARRAY) {
			target = sym->shndx == sec ? btf_map_of(o, sym) : -1;
			if (target < 0)
				return tsbpf_error(-TSBPF_ERR_FORMAT,
						   "ELF: section .maps: map %s: values[%u] refers to %s, which is not a map in .maps",
						   name, i, sym->name);
			err = push_value(o, d->map, i, TSBPF_VALUE_MAP, (uint32_t)target, "");
		} else {
			return tsbpf_error(-TSBPF_ERR_FORMAT,
					   "ELF: section .maps: map %s: values[%u] refers to %s, a symbol of type %u, which cannot go in this map",
					   name, i, sym->name, sym->type);
		}
		if (err)
			return err;
	}
	map_at(o, d->map)->values_first = first;
	map_at(o, d->map)->values_cnt = o->values.n - first;
	return 0;
}

static int32_t struct_ops_values(struct obj *o, uint32_t map)
{
	struct tsbpf_elf_map *m = map_at(o, map);
	const struct elf_sec *s = &o->secs[m->section_index];
	const uint8_t *st = btf_type_rec(o->btf, m->value_type);
	const char *st_name = btf_name(o->btf, m->value_type);
	uint32_t first = o->values.n;

	for (uint32_t r = 0; r < s->nrels; r++) {
		uint32_t off = s->rels[r].off, moff = off - m->def_offset;
		const struct elf_sym *sym = &o->syms[s->rels[r].sym];
		struct tsbpf_elf_func *f;
		const char *member = NULL, *attach;
		int32_t target, err;

		if (off < m->def_offset || off - m->def_offset >= m->data_size)
			continue;
		for (uint32_t i = 0; i < btf_rec_vlen(st); i++) {
			const uint8_t *mem = st + 12 + 12 * i;
			uint32_t bitoff = btf_rec_kflag(st) ? rd32(mem + 8) & 0xffffff : rd32(mem + 8);

			if (bitoff % 8 == 0 && bitoff / 8 == moff)
				member = btf_str(o->btf, rd32(mem));
		}
		if (!member)
			return tsbpf_error(-TSBPF_ERR_FORMAT,
					   "ELF: section %s: struct_ops %s: the relocation at offset %u is not at a member of %s",
					   s->name, m->name, off, st_name);
		target = sym->type == STT_FUNC && sym->shndx < o->nsecs ? func_at(o, sym->shndx, sym->value) : -1;
		if (target < 0)
			return tsbpf_error(-TSBPF_ERR_FORMAT, "ELF: section %s: struct_ops %s.%s refers to %s, which is not a program",
					   s->name, m->name, member, sym->name);
		f = VEC_AT(&o->funcs, struct tsbpf_elf_func, target);
		if (!f->is_program || f->prog_type != BPF_PROG_TYPE_STRUCT_OPS)
			return tsbpf_error(-TSBPF_ERR_FORMAT,
					   "ELF: section %s: struct_ops %s.%s refers to %s, which is not a struct_ops program",
					   s->name, m->name, member, sym->name);
		attach = obj_strdup(o, st_name, ":");
		attach = attach ? obj_strdup(o, attach, member) : NULL;
		if (!attach)
			return tsbpf_error(-TSBPF_ERR_NOMEM, "ELF: out of memory");
		f->attach_to = attach;
		if ((err = push_value(o, map, moff, TSBPF_VALUE_PROG, (uint32_t)target, member)))
			return err;
		m = map_at(o, map);
	}
	m->values_first = first;
	m->values_cnt = o->values.n - first;
	return 0;
}

int32_t elf_collect_map_values(struct obj *o)
{
	int32_t err = 0;

	for (uint32_t i = 0; i < o->values_decls.n && !err; i++)
		err = btf_map_values(o, VEC_AT(&o->values_decls, struct values_decl, i));
	vec_free(&o->values_decls);
	for (uint32_t i = 0; i < o->maps.n && !err; i++)
		if (map_at(o, i)->source == TSBPF_MAP_SRC_STRUCT_OPS)
			err = struct_ops_values(o, i);
	return err;
}

/* ---- variables ------------------------------------------------------------------------- */

static int32_t section_vars(struct obj *o, uint32_t s, const struct ds_index *ds)
{
	const struct elf_sec *sec = &o->secs[s];

	for (uint32_t k = 0; k < sec->sym_cnt; k++) {
		const struct elf_sym *sym = &o->syms[o->secsyms[sec->sym_first + k]];
		const uint8_t *si;
		struct tsbpf_elf_var *v;

		/* Hidden and static variables stay private to the object; compiler
		 * temporaries start with a dot. */
		if (sym->vis == STV_HIDDEN || sym->vis == STV_INTERNAL)
			continue;
		if (sym->bind != STB_GLOBAL && sym->bind != STB_WEAK)
			continue;
		if (sym->name[0] == '.')
			continue;
		if (sym->value > sec->size || sym->size > sec->size - sym->value)
			return tsbpf_error(-TSBPF_ERR_FORMAT,
					   "ELF: data section %s: variable %s (offset %llu, %llu bytes) runs past the end of the section",
					   sec->name, sym->name, (unsigned long long)sym->value, (unsigned long long)sym->size);
		si = ds_index_find(ds, sym->name);
		if (si && rd32(si + 4) != sym->value)
			return tsbpf_error(-TSBPF_ERR_FORMAT,
					   "ELF: data section %s: variable %s is at offset %u in BTF but %llu in the symbol table",
					   sec->name, sym->name, rd32(si + 4), (unsigned long long)sym->value);
		if (si && rd32(si + 8) != sym->size)
			return tsbpf_error(-TSBPF_ERR_FORMAT,
					   "ELF: data section %s: variable %s is %u bytes in BTF but %llu in the symbol table",
					   sec->name, sym->name, rd32(si + 8), (unsigned long long)sym->size);
		v = vec_push(&o->vars, sizeof(*v));
		if (!v)
			return tsbpf_error(-TSBPF_ERR_NOMEM, "ELF: out of memory");
		v->name = sym->name;
		v->map = (uint32_t)sec->map;
		v->offset = (uint32_t)sym->value;
		v->size = (uint32_t)sym->size;
		v->btf_var = si_var(si);
		v->binding = sym->bind;
	}
	return 0;
}

int32_t elf_collect_vars(struct obj *o)
{
	const char **names;
	int32_t err = 0;

	for (uint32_t s = 1; s < o->nsecs && !err; s++) {
		struct ds_index ds;

		if (o->secs[s].kind != SEC_DATA || o->secs[s].map < 0)
			continue;
		if ((err = ds_index_build(o, btf_datasec(o, o->secs[s].name), &ds)))
			return err;
		err = section_vars(o, s, &ds);
		ds_index_free(&ds);
	}
	if (err || !o->vars.n)
		return err;
	names = malloc(o->vars.n * sizeof(*names));
	if (!names)
		return tsbpf_error(-TSBPF_ERR_NOMEM, "ELF: out of memory");
	for (uint32_t i = 0; i < o->vars.n; i++)
		names[i] = VEC_AT(&o->vars, struct tsbpf_elf_var, i)->name;
	err = check_unique(names, o->vars.n, "variable");
	free(names);
	return err;
}
