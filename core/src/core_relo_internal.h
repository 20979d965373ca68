/*
 * Shared by the CO-RE engine (core_relo.c), the program BTF writer (core_relo_btf.c) and
 * extern resolution (core_extern.c): type walking that follows libbpf's rules.
 */
#ifndef TSBPF_CORE_RELO_INTERNAL_H
#define TSBPF_CORE_RELO_INTERNAL_H

#include "btf_internal.h"
#include "tsbpf/core_relo.h"

#ifndef BTF_TYPE_LEN
#define BTF_TYPE_LEN 12u
#endif

/* A type reached by skipping typedefs and modifiers: `t` is NULL for void. */
struct core_type {
	const uint8_t *t;
	uint32_t id;
	uint32_t kind;
};

/* Skips typedefs, qualifiers and type tags from `id`. False for an id outside the BTF or a
 * chain too deep to be real. */
static inline bool core_resolve(const struct tsbpf_btf *btf, uint32_t id, struct core_type *out)
{
	int32_t r = btf_skip_mods(btf, id);

	if (r < 0)
		return false;
	out->id = (uint32_t)r;
	out->t = btf_type_rec(btf, out->id);
	if (!out->t && out->id != 0)
		return false;
	out->kind = out->t ? btf_rec_kind(out->t) : BTF_KIND_UNKN;
	return true;
}

static inline bool core_is_composite(uint32_t kind)
{
	return kind == BTF_KIND_STRUCT || kind == BTF_KIND_UNION;
}

static inline bool core_is_enum(uint32_t kind)
{
	return kind == BTF_KIND_ENUM || kind == BTF_KIND_ENUM64;
}

/* Same kind, or both enums (ENUM and ENUM64 relocate against each other). */
static inline bool core_kind_compat(uint32_t a, uint32_t b)
{
	return a == b || (core_is_enum(a) && core_is_enum(b));
}

/* Member i of a STRUCT/UNION record. */
static inline const uint8_t *core_member(const uint8_t *t, uint32_t i)
{
	return t + BTF_TYPE_LEN + (size_t)i * 12;
}

static inline uint32_t core_member_bit_offset(const uint8_t *t, uint32_t i)
{
	uint32_t o = rd32(core_member(t, i) + 8);

	return btf_rec_kflag(t) ? o & 0xffffff : o;
}

static inline uint32_t core_member_bitfield_size(const uint8_t *t, uint32_t i)
{
	return btf_rec_kflag(t) ? rd32(core_member(t, i) + 8) >> 24 : 0;
}

/* Name offset of value i of an ENUM or ENUM64 record. */
static inline uint32_t core_enum_name_off(const uint8_t *t, uint32_t i)
{
	return rd32(t + BTF_TYPE_LEN + (size_t)i * (btf_rec_kind(t) == BTF_KIND_ENUM ? 8 : 12));
}

/* Value i of an ENUM (sign-extended when the enum is signed) or ENUM64 record. */
static inline uint64_t core_enum_value(const uint8_t *t, uint32_t i)
{
	if (btf_rec_kind(t) == BTF_KIND_ENUM) {
		uint32_t v = rd32(t + BTF_TYPE_LEN + (size_t)i * 8 + 4);

		return btf_rec_kflag(t) ? (uint64_t)(int64_t)(int32_t)v : v;
	}
	return rd64(t + BTF_TYPE_LEN + (size_t)i * 12 + 4);
}

/* Encoding bits of an INT record. */
static inline uint32_t core_int_encoding(const uint8_t *t)
{
	return (rd32(t + BTF_TYPE_LEN) >> 24) & 0x0f;
}

static inline uint32_t core_int_offset(const uint8_t *t)
{
	return (rd32(t + BTF_TYPE_LEN) >> 16) & 0xff;
}

/* "" for NULL (void, bad offsets). */
static inline const char *core_str(const struct tsbpf_btf *btf, uint32_t off)
{
	const char *s = btf_str(btf, off);

	return s ? s : "";
}

/* libbpf's bpf_core_types_are_compat: 1 compatible, 0 not, < 0 malformed or too deep. */
int32_t core_types_are_compat(const struct tsbpf_btf *local, uint32_t local_id, const struct tsbpf_btf *targ,
			      uint32_t targ_id);

/* Names of the relocation kinds, as CoreRelocationKinds in TypeScript. */
const char *core_kind_name(uint32_t kind);

/* "[8] struct s", "[10] typedef s_t", "[4] struct (anon)" into buf. */
void core_type_label(const struct tsbpf_btf *btf, uint32_t id, char *buf, size_t cap);

/* core_relo_btf.c: the program's own BTF. */
struct prog_btf {
	uint32_t *new_id; /* by local id: the id in the program's BTF, 0 when not included */
	uint32_t n_ids;   /* local end id */
	uint32_t *order;  /* the local ids included, in new id order */
	uint32_t count;
};

/* Chooses the local types the program's BTF holds: `roots` (numbered first, in order) and
 * everything they refer to. */
int32_t prog_btf_select(const struct tsbpf_btf *local, const uint32_t *roots, uint32_t n_roots, struct prog_btf *out);
/* Writes the BTF blob: the selected types renumbered, the local string section, then `extra`
 * (extra_len bytes of NUL-terminated strings). */
int32_t prog_btf_write(const struct tsbpf_btf *local, const struct prog_btf *sel, const char *extra, uint32_t extra_len,
		       struct tsbpf_buf *out, uint32_t *size);
void prog_btf_free(struct prog_btf *sel);

#endif
