/*
 * The CO-RE relocation engine: for each bpf_core_relo record of a program, parse the local
 * access ("0:1:2" from a local root type), find candidate target types by essential name,
 * match the access against each candidate, compute the local and target values, check
 * that every matching candidate agrees, and patch the instruction (or poison it).
 *
 * The rules are libbpf's (relo_core.c), written anew; comments say why where a rule is
 * not obvious. Everything is bounded: access strings by TSBPF_CORE_SPEC_MAX, type chains
 * by BTF_MAX_RESOLVE_DEPTH, recursion by explicit levels.
 */
#include <stdio.h>
#include <stdlib.h>

#include "core_relo_internal.h"

#define SPEC_MAX TSBPF_CORE_SPEC_MAX
#define MATCH_LEVELS 32 /* nesting of function prototypes and structs in type matching */

static const char *const kind_names[] = {
	[BPF_CORE_FIELD_BYTE_OFFSET] = "field_byte_offset", [BPF_CORE_FIELD_BYTE_SIZE] = "field_byte_size",
	[BPF_CORE_FIELD_EXISTS] = "field_exists",	     [BPF_CORE_FIELD_SIGNED] = "field_signed",
	[BPF_CORE_FIELD_LSHIFT_U64] = "field_lshift_u64",   [BPF_CORE_FIELD_RSHIFT_U64] = "field_rshift_u64",
	[BPF_CORE_TYPE_ID_LOCAL] = "type_id_local",	     [BPF_CORE_TYPE_ID_TARGET] = "type_id_target",
	[BPF_CORE_TYPE_EXISTS] = "type_exists",	     [BPF_CORE_TYPE_SIZE] = "type_size",
	[BPF_CORE_ENUMVAL_EXISTS] = "enumval_exists",	     [BPF_CORE_ENUMVAL_VALUE] = "enumval_value",
	[BPF_CORE_TYPE_MATCHES] = "type_matches",
};

const char *core_kind_name(uint32_t kind)
{
	return kind < ARRAY_SIZE(kind_names) && kind_names[kind] ? kind_names[kind] : "unknown";
}

static bool is_field_kind(uint32_t k)
{
	return k <= BPF_CORE_FIELD_RSHIFT_U64;
}

static bool is_type_kind(uint32_t k)
{
	return k == BPF_CORE_TYPE_ID_LOCAL || k == BPF_CORE_TYPE_ID_TARGET || k == BPF_CORE_TYPE_EXISTS ||
	       k == BPF_CORE_TYPE_SIZE || k == BPF_CORE_TYPE_MATCHES;
}

static bool is_enumval_kind(uint32_t k)
{
	return k == BPF_CORE_ENUMVAL_EXISTS || k == BPF_CORE_ENUMVAL_VALUE;
}

/* A printf-free string builder: descriptions are made for every relocation, and vsnprintf
 * costs microseconds per call in Wasm. */
struct sbuf {
	char *p;
	size_t cap, len;
};

static void sb_char(struct sbuf *b, char c)
{
	if (b->len + 1 < b->cap)
		b->p[b->len++] = c;
	if (b->cap) /* an empty buffer has no room even for the NUL */
		b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	while (*s && b->len + 1 < b->cap)
		b->p[b->len++] = *s++;
	if (b->cap)
		b->p[b->len] = '\0';
}

static void sb_u64(struct sbuf *b, uint64_t v)
{
	char t[20];
	int n = 0;

	do
		t[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < 20);
	while (n)
		sb_char(b, t[--n]);
}

static void sb_i64(struct sbuf *b, int64_t v)
{
	if (v < 0) {
		sb_char(b, '-');
		sb_u64(b, (uint64_t)0 - (uint64_t)v);
	} else {
		sb_u64(b, (uint64_t)v);
	}
}

static void label_into(const struct tsbpf_btf *btf, uint32_t id, struct sbuf *b)
{
	const char *name = btf_name(btf, id);
	const char *what = NULL;

	switch (btf_kind(btf, id)) {
	case BTF_KIND_STRUCT:
		what = "struct ";
		break;
	case BTF_KIND_UNION:
		what = "union ";
		break;
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
		what = "enum ";
		break;
	case BTF_KIND_TYPEDEF:
		what = "typedef ";
		break;
	case BTF_KIND_FWD:
		what = "fwd ";
		break;
	case BTF_KIND_UNKN:
		break;
	default:
		/* ints and floats by name; pointers, arrays and the rest by kind */
		break;
	}
	sb_char(b, '[');
	sb_u64(b, id);
	sb_str(b, "] ");
	if (btf_kind(btf, id) == BTF_KIND_UNKN) {
		sb_str(b, "void");
	} else if (what) {
		sb_str(b, what);
		sb_str(b, name[0] ? name : "(anon)");
	} else {
		sb_str(b, name[0] ? name : btf_kind_name(btf_kind(btf, id)));
	}
}

void core_type_label(const struct tsbpf_btf *btf, uint32_t id, char *buf, size_t cap)
{
	struct sbuf b = { buf, cap, 0 };

	if (cap)
		buf[0] = '\0';
	label_into(btf, id, &b);
}

/* ---- type compatibility ------------------------------------------------------------- */

/*
 * Compatibility for type-based relocations (TYPE_EXISTS, TYPE_SIZE, TYPE_ID_TARGET) and
 * for kernel externs: the root names already matched; below them only the shape counts.
 * Structs, unions, enums and forward declarations of the same kind are compatible; ints
 * are unless they are old-style bitfields; pointers, arrays and prototypes recurse.
 */
static int32_t types_compat(const struct tsbpf_btf *lb, uint32_t lid, const struct tsbpf_btf *tb, uint32_t tid, int level)
{
	struct core_type l, t;

	if (!core_kind_compat(btf_kind(lb, lid), btf_kind(tb, tid)))
		return 0;
	for (int depth = 0; depth < MATCH_LEVELS; depth++) {
		if (!core_resolve(lb, lid, &l) || !core_resolve(tb, tid, &t))
			return -TSBPF_ERR_FORMAT;
		if (!core_kind_compat(l.kind, t.kind))
			return 0;
		switch (l.kind) {
		case BTF_KIND_UNKN:
		case BTF_KIND_STRUCT:
		case BTF_KIND_UNION:
		case BTF_KIND_ENUM:
		case BTF_KIND_ENUM64:
		case BTF_KIND_FWD:
			return 1;
		case BTF_KIND_INT:
			return core_int_offset(l.t) == 0 && core_int_offset(t.t) == 0;
		case BTF_KIND_PTR:
			lid = btf_rec_size_type(l.t);
			tid = btf_rec_size_type(t.t);
			continue;
		case BTF_KIND_ARRAY:
			lid = rd32(l.t + BTF_TYPE_LEN);
			tid = rd32(t.t + BTF_TYPE_LEN);
			continue;
		case BTF_KIND_FUNC_PROTO: {
			uint32_t n = btf_rec_vlen(l.t);

			if (n != btf_rec_vlen(t.t))
				return 0;
			for (uint32_t i = 0; i < n; i++) {
				struct core_type lp, tp;
				int32_t r;

				if (level <= 0)
					return -TSBPF_ERR_FORMAT;
				/* Parameters compare below their typedefs: the kind check at the
				 * top of types_compat must not see a typedef on one side only. */
				if (!core_resolve(lb, rd32(l.t + BTF_TYPE_LEN + i * 8 + 4), &lp) ||
				    !core_resolve(tb, rd32(t.t + BTF_TYPE_LEN + i * 8 + 4), &tp))
					return -TSBPF_ERR_FORMAT;
				r = types_compat(lb, lp.id, tb, tp.id, level - 1);
				if (r <= 0)
					return r;
			}
			lid = btf_rec_size_type(l.t);
			tid = btf_rec_size_type(t.t);
			continue;
		}
		default:
			return 0;
		}
	}
	return -TSBPF_ERR_FORMAT;
}

int32_t core_types_are_compat(const struct tsbpf_btf *local, uint32_t local_id, const struct tsbpf_btf *targ,
			      uint32_t targ_id)
{
	return types_compat(local, local_id, targ, targ_id, MATCH_LEVELS);
}

/* Names equal up to a ___flavour suffix; an anonymous target matches only an anonymous local. */
static bool names_match(const char *local, const char *targ)
{
	size_t ll, tl;

	if (!targ[0])
		return !local[0];
	ll = btf_essential_len(local);
	tl = btf_essential_len(targ);
	return ll == tl && memcmp(local, targ, ll) == 0;
}

static int32_t types_match(const struct tsbpf_btf *lb, uint32_t lid, const struct tsbpf_btf *tb, uint32_t tid,
			   bool behind_ptr, int level);

static int32_t enums_match(const struct tsbpf_btf *lb, const uint8_t *l, const struct tsbpf_btf *tb, const uint8_t *t)
{
	uint32_t ln = btf_rec_vlen(l), tn = btf_rec_vlen(t);

	if (btf_rec_size_type(l) != btf_rec_size_type(t) || ln > tn)
		return 0;
	/* Every local enumerator needs a target one of the same name (values may differ). */
	for (uint32_t i = 0; i < ln; i++) {
		const char *name = core_str(lb, core_enum_name_off(l, i));
		bool found = false;

		for (uint32_t j = 0; j < tn && !found; j++)
			found = names_match(name, core_str(tb, core_enum_name_off(t, j)));
		if (!found)
			return 0;
	}
	return 1;
}

static int32_t composites_match(const struct tsbpf_btf *lb, const uint8_t *l, const struct tsbpf_btf *tb,
				const uint8_t *t, bool behind_ptr, int level)
{
	uint32_t ln = btf_rec_vlen(l), tn = btf_rec_vlen(t);

	if (ln > tn)
		return 0;
	/* Every local member needs a target member of the same name whose type matches. */
	for (uint32_t i = 0; i < ln; i++) {
		const char *name = core_str(lb, rd32(core_member(l, i)));
		bool found = false;

		for (uint32_t j = 0; j < tn && !found; j++) {
			int32_t r;

			if (!names_match(name, core_str(tb, rd32(core_member(t, j)))))
				continue;
			r = types_match(lb, rd32(core_member(l, i) + 4), tb, rd32(core_member(t, j) + 4), behind_ptr,
					level - 1);
			if (r < 0)
				return r;
			found = r > 0;
		}
		if (!found)
			return 0;
	}
	return 1;
}

/*
 * The kernel's "type match" (TYPE_MATCHES): stricter than compatibility. After typedefs
 * and qualifiers, kinds must be equal (a struct or union behind a pointer may match a
 * forward declaration), names must match (modulo flavour), ints must agree in size and
 * signedness, arrays in length, enums in size with every local enumerator present, structs
 * and unions in every local member (by name, recursively), prototypes in arity.
 */
static int32_t types_match(const struct tsbpf_btf *lb, uint32_t lid, const struct tsbpf_btf *tb, uint32_t tid,
			   bool behind_ptr, int level)
{
	struct core_type l, t;

	if (level <= 0)
		return -TSBPF_ERR_FORMAT;
	for (int depth = 0; depth < MATCH_LEVELS; depth++) {
		if (!core_resolve(lb, lid, &l) || !core_resolve(tb, tid, &t))
			return -TSBPF_ERR_FORMAT;
		if (!names_match(l.t ? core_str(lb, btf_rec_name_off(l.t)) : "", t.t ? core_str(tb, btf_rec_name_off(t.t)) : ""))
			return 0;
		switch (l.kind) {
		case BTF_KIND_UNKN:
			return t.kind == BTF_KIND_UNKN;
		case BTF_KIND_FWD: {
			bool lu = btf_rec_kflag(l.t);

			if (t.kind == BTF_KIND_FWD)
				return lu == btf_rec_kflag(t.t);
			/* Behind a pointer, a forward declaration stands for its struct or union. */
			return behind_ptr && ((t.kind == BTF_KIND_STRUCT && !lu) || (t.kind == BTF_KIND_UNION && lu));
		}
		case BTF_KIND_ENUM:
		case BTF_KIND_ENUM64:
			return core_is_enum(t.kind) ? enums_match(lb, l.t, tb, t.t) : 0;
		case BTF_KIND_STRUCT:
		case BTF_KIND_UNION:
			if (behind_ptr) {
				if (l.kind == t.kind)
					return 1;
				return t.kind == BTF_KIND_FWD && (l.kind == BTF_KIND_UNION) == btf_rec_kflag(t.t);
			}
			if (l.kind != t.kind)
				return 0;
			return composites_match(lb, l.t, tb, t.t, behind_ptr, level);
		case BTF_KIND_INT:
			if (t.kind != BTF_KIND_INT)
				return 0;
			return btf_rec_size_type(l.t) == btf_rec_size_type(t.t) &&
			       (core_int_encoding(l.t) & BTF_INT_SIGNED) == (core_int_encoding(t.t) & BTF_INT_SIGNED);
		case BTF_KIND_PTR:
			if (t.kind != BTF_KIND_PTR)
				return 0;
			behind_ptr = true;
			lid = btf_rec_size_type(l.t);
			tid = btf_rec_size_type(t.t);
			continue;
		case BTF_KIND_ARRAY:
			if (t.kind != BTF_KIND_ARRAY || rd32(l.t + BTF_TYPE_LEN + 8) != rd32(t.t + BTF_TYPE_LEN + 8))
				return 0;
			lid = rd32(l.t + BTF_TYPE_LEN);
			tid = rd32(t.t + BTF_TYPE_LEN);
			continue;
		case BTF_KIND_FUNC_PROTO: {
			uint32_t n = btf_rec_vlen(l.t);

			if (t.kind != BTF_KIND_FUNC_PROTO || n != btf_rec_vlen(t.t))
				return 0;
			for (uint32_t i = 0; i < n; i++) {
				int32_t r = types_match(lb, rd32(l.t + BTF_TYPE_LEN + i * 8 + 4), tb,
							rd32(t.t + BTF_TYPE_LEN + i * 8 + 4), behind_ptr, level - 1);

				if (r <= 0)
					return r;
			}
			lid = btf_rec_size_type(l.t);
			tid = btf_rec_size_type(t.t);
			continue;
		}
		default:
			return 0;
		}
	}
	return -TSBPF_ERR_FORMAT;
}

/* Field compatibility: what a field access may find at the other end. */
static int32_t fields_compat(const struct tsbpf_btf *lb, uint32_t lid, const struct tsbpf_btf *tb, uint32_t tid)
{
	struct core_type l, t;

	for (int depth = 0; depth < MATCH_LEVELS; depth++) {
		if (!core_resolve(lb, lid, &l) || !core_resolve(tb, tid, &t))
			return -TSBPF_ERR_FORMAT;
		if (core_is_composite(l.kind) && core_is_composite(t.kind))
			return 1;
		if (!core_kind_compat(l.kind, t.kind))
			return 0;
		switch (l.kind) {
		case BTF_KIND_PTR:
		case BTF_KIND_FLOAT:
			return 1;
		case BTF_KIND_FWD:
		case BTF_KIND_ENUM:
		case BTF_KIND_ENUM64: {
			const char *ln = core_str(lb, btf_rec_name_off(l.t)), *tn = core_str(tb, btf_rec_name_off(t.t));
			size_t a = btf_essential_len(ln), b = btf_essential_len(tn);

			/* Either is anonymous, or both have the same essential name. */
			return a == 0 || b == 0 || (a == b && memcmp(ln, tn, a) == 0);
		}
		case BTF_KIND_INT:
			return core_int_offset(l.t) == 0 && core_int_offset(t.t) == 0;
		case BTF_KIND_ARRAY:
			lid = rd32(l.t + BTF_TYPE_LEN);
			tid = rd32(t.t + BTF_TYPE_LEN);
			continue;
		default:
			return 0;
		}
	}
	return -TSBPF_ERR_FORMAT;
}

/* ---- access specs ------------------------------------------------------------------- */

struct acc {
	uint32_t type_id; /* the type indexed (typedefs skipped): composite, array element, enum */
	uint32_t idx;
	const char *name; /* member or enumerator name; NULL for an array index */
};

struct spec {
	const struct tsbpf_btf *btf;
	uint32_t root_id;
	uint32_t kind;
	uint32_t len; /* accessors that mean something: named members and array indexes */
	struct acc acc[SPEC_MAX];
	uint32_t raw_len; /* every index of the access string, anonymous members too */
	uint32_t raw[SPEC_MAX];
	uint64_t bit_offset;
};

/* An array's elements may be indexed past nelems only if it is a struct's last member of
 * length 0 (a flexible array member). */
static bool is_flex(const struct tsbpf_btf *btf, const struct acc *prev, uint32_t nelems)
{
	const uint8_t *t;

	if (!prev->name || nelems > 0)
		return false;
	t = btf_type_rec(btf, prev->type_id);
	return t && prev->idx == btf_rec_vlen(t) - 1;
}

/* Bit offsets stay far below 2^32 in real types; crafted BTF must not wrap them. */
#define BIT_OFFSET_MAX (1ull << 40)

/* Parses the local access string into spec. Returns 0, or < 0 with `why` set. */
static int32_t parse_spec(const struct tsbpf_btf *btf, uint32_t type_id, const char *access, uint32_t kind,
			  struct spec *spec, const char **why)
{
	struct core_type t;
	const char *s = access;
	uint32_t id;
	int32_t sz;

	/* Only the counters: the accessor arrays (1.3 KiB) are written before they are read. */
	spec->len = spec->raw_len = 0;
	spec->bit_offset = 0;
	spec->btf = btf;
	spec->root_id = type_id;
	spec->kind = kind;
	if (!s[0] || s[0] == ':') {
		*why = "the access string is empty";
		return -EINVAL;
	}
	if (is_type_kind(kind)) {
		if (strcmp(s, "0") != 0) {
			*why = "a type relocation's access string must be \"0\"";
			return -EINVAL;
		}
		return 0;
	}
	while (*s) {
		uint64_t v = 0;

		if (*s == ':')
			s++;
		if (*s < '0' || *s > '9') {
			*why = "the access string is not a list of numbers separated by ':'";
			return -EINVAL;
		}
		while (*s >= '0' && *s <= '9') {
			v = v * 10 + (uint64_t)(*s++ - '0');
			if (v > INT32_MAX) {
				*why = "an index of the access string is out of range";
				return -EINVAL;
			}
		}
		if (*s && *s != ':') {
			*why = "the access string is not a list of numbers separated by ':'";
			return -EINVAL;
		}
		if (spec->raw_len == SPEC_MAX) {
			*why = "the access string is longer than 64 steps";
			return -EINVAL;
		}
		spec->raw[spec->raw_len++] = (uint32_t)v;
	}
	if (!core_resolve(btf, type_id, &t) || !t.t) {
		*why = "the local type is void or a typedef/qualifier loop";
		return -EINVAL;
	}
	id = t.id;
	spec->acc[0].type_id = id;
	spec->acc[0].idx = spec->raw[0];
	spec->acc[0].name = NULL;
	spec->len = 1;
	if (is_enumval_kind(kind)) {
		if (!core_is_enum(t.kind) || spec->raw_len > 1 || spec->raw[0] >= btf_rec_vlen(t.t)) {
			*why = "an enum value relocation needs an enum and the index of one of its values";
			return -EINVAL;
		}
		spec->acc[0].name = core_str(btf, core_enum_name_off(t.t, spec->raw[0]));
		return 0;
	}
	if (!is_field_kind(kind)) {
		*why = "unknown relocation kind";
		return -EINVAL;
	}
	/* The first index steps over whole objects: p[n] from a pointer to the root type. */
	sz = btf_sizeof(btf, id);
	if (sz < 0) {
		*why = "the root type has no size";
		return -EINVAL;
	}
	spec->bit_offset = (uint64_t)spec->raw[0] * (uint64_t)sz * 8;
	for (uint32_t i = 1; i < spec->raw_len; i++) {
		uint32_t idx = spec->raw[i];

		if (!core_resolve(btf, id, &t) || !t.t) {
			*why = "the access runs into void or a typedef loop";
			return -EINVAL;
		}
		if (core_is_composite(t.kind)) {
			const uint8_t *m;

			if (idx >= btf_rec_vlen(t.t)) {
				*why = "a member index is past the last member";
				return -EINVAL;
			}
			m = core_member(t.t, idx);
			spec->bit_offset += core_member_bit_offset(t.t, idx);
			/* Anonymous members are steps of the raw spec only. */
			if (rd32(m)) {
				const char *name = core_str(btf, rd32(m));

				if (!name[0]) {
					*why = "a member's name is outside the strings";
					return -EINVAL;
				}
				spec->acc[spec->len].type_id = id;
				spec->acc[spec->len].idx = idx;
				spec->acc[spec->len].name = name;
				spec->len++;
			}
			id = rd32(m + 4);
		} else if (t.kind == BTF_KIND_ARRAY) {
			uint32_t nelems = rd32(t.t + BTF_TYPE_LEN + 8);
			struct core_type e;

			if (!core_resolve(btf, rd32(t.t + BTF_TYPE_LEN), &e)) {
				*why = "an array's element type is broken";
				return -EINVAL;
			}
			if (!is_flex(btf, &spec->acc[spec->len - 1], nelems) && idx >= nelems) {
				*why = "an array index is past the array's end";
				return -EINVAL;
			}
			id = e.id;
			spec->acc[spec->len].type_id = id;
			spec->acc[spec->len].idx = idx;
			spec->acc[spec->len].name = NULL;
			spec->len++;
			sz = btf_sizeof(btf, id);
			if (sz < 0) {
				*why = "an array's element type has no size";
				return -EINVAL;
			}
			spec->bit_offset += (uint64_t)idx * (uint64_t)sz * 8;
		} else {
			*why = "the access steps into a type that is neither a struct, a union nor an array";
			return -EINVAL;
		}
		if (spec->bit_offset > BIT_OFFSET_MAX) {
			*why = "the field's offset is out of range";
			return -EINVAL;
		}
	}
	return 0;
}

/* "struct s.a[3].b (0:1:3:2 @ offset 12)", "enum e::ONE = 1", "struct s". */
static void format_spec(const struct spec *spec, char *buf, size_t cap)
{
	struct sbuf b = { buf, cap, 0 };

	if (cap)
		buf[0] = '\0';
	label_into(spec->btf, spec->root_id, &b);
	if (is_type_kind(spec->kind))
		return;
	if (is_enumval_kind(spec->kind)) {
		struct core_type t;

		if (core_resolve(spec->btf, spec->root_id, &t) && t.t) {
			uint64_t v = core_enum_value(t.t, spec->acc[0].idx);

			sb_str(&b, "::");
			sb_str(&b, spec->acc[0].name);
			sb_str(&b, " = ");
			if (btf_rec_kflag(t.t))
				sb_i64(&b, (int64_t)v);
			else
				sb_u64(&b, v);
		}
		return;
	}
	for (uint32_t i = 0; i < spec->len; i++) {
		if (spec->acc[i].name) {
			sb_char(&b, '.');
			sb_str(&b, spec->acc[i].name);
		} else if (i > 0 || spec->acc[i].idx > 0) {
			sb_char(&b, '[');
			sb_u64(&b, spec->acc[i].idx);
			sb_char(&b, ']');
		}
	}
	sb_str(&b, " (");
	for (uint32_t i = 0; i < spec->raw_len; i++) {
		if (i)
			sb_char(&b, ':');
		sb_u64(&b, spec->raw[i]);
	}
	sb_str(&b, " @ offset ");
	sb_u64(&b, spec->bit_offset / 8);
	if (spec->bit_offset % 8) {
		sb_char(&b, '.');
		sb_u64(&b, spec->bit_offset % 8);
	}
	sb_char(&b, ')');
}

/* ---- matching a local spec against a candidate --------------------------------------- */

/*
 * Finds the target member named like the local accessor's, looking through anonymous
 * structs and unions, and records the steps in the target spec. 1 found (and compatible),
 * 0 not, < 0 error.
 */
static int32_t match_member(const struct tsbpf_btf *lb, const struct acc *la, const struct tsbpf_btf *tb, uint32_t tid,
			    struct spec *ts, uint32_t *next_id, int level)
{
	struct core_type t;
	const uint8_t *lt = btf_type_rec(lb, la->type_id);
	const uint8_t *lm;
	const char *lname;

	if (level <= 0)
		return -TSBPF_ERR_FORMAT;
	if (!core_resolve(tb, tid, &t))
		return -TSBPF_ERR_FORMAT;
	if (!core_is_composite(t.kind) || !lt)
		return 0;
	lm = core_member(lt, la->idx);
	lname = core_str(lb, rd32(lm));
	for (uint32_t i = 0, n = btf_rec_vlen(t.t); i < n; i++) {
		const uint8_t *m = core_member(t.t, i);
		uint32_t off = core_member_bit_offset(t.t, i);
		const char *name = core_str(tb, rd32(m));
		int32_t r;

		if (ts->raw_len == SPEC_MAX)
			return -E2BIG;
		ts->bit_offset += off;
		ts->raw[ts->raw_len++] = i;
		if (!name[0]) {
			r = match_member(lb, la, tb, rd32(m + 4), ts, next_id, level - 1);
			if (r)
				return r;
		} else if (strcmp(lname, name) == 0) {
			if (ts->len == SPEC_MAX)
				return -E2BIG;
			ts->acc[ts->len].type_id = t.id;
			ts->acc[ts->len].idx = i;
			ts->acc[ts->len].name = name;
			ts->len++;
			*next_id = rd32(m + 4);
			r = fields_compat(lb, rd32(lm + 4), tb, rd32(m + 4));
			if (r == 0)
				ts->len--;
			return r;
		}
		ts->bit_offset -= off;
		ts->raw_len--;
	}
	return 0;
}

/* Matches the local spec against candidate `tid`: 1 with *ts filled, 0 no match, < 0 error. */
static int32_t spec_match(const struct spec *ls, const struct tsbpf_btf *tb, uint32_t tid, struct spec *ts)
{
	struct core_type t;

	ts->len = ts->raw_len = 0;
	ts->bit_offset = 0;
	ts->btf = tb;
	ts->root_id = tid;
	ts->kind = ls->kind;
	if (is_type_kind(ls->kind)) {
		if (ls->kind == BPF_CORE_TYPE_MATCHES)
			return types_match(ls->btf, ls->root_id, tb, tid, false, MATCH_LEVELS);
		return types_compat(ls->btf, ls->root_id, tb, tid, MATCH_LEVELS);
	}
	if (is_enumval_kind(ls->kind)) {
		size_t len = btf_essential_len(ls->acc[0].name);

		if (!core_resolve(tb, tid, &t))
			return -TSBPF_ERR_FORMAT;
		if (!core_is_enum(t.kind))
			return 0;
		for (uint32_t i = 0, n = btf_rec_vlen(t.t); i < n; i++) {
			const char *name = core_str(tb, core_enum_name_off(t.t, i));

			if (btf_essential_len(name) == len && memcmp(name, ls->acc[0].name, len) == 0) {
				ts->acc[0].type_id = t.id;
				ts->acc[0].idx = i;
				ts->acc[0].name = name;
				ts->len = 1;
				ts->raw[0] = i;
				ts->raw_len = 1;
				return 1;
			}
		}
		return 0;
	}
	for (uint32_t i = 0; i < ls->len; i++) {
		const struct acc *la = &ls->acc[i];

		if (!core_resolve(tb, tid, &t))
			return -TSBPF_ERR_FORMAT;
		if (la->name) {
			int32_t r = match_member(ls->btf, la, tb, tid, ts, &tid, MATCH_LEVELS);

			if (r <= 0)
				return r;
		} else {
			int32_t sz;

			/* The first accessor indexes the root itself; later ones an array. */
			if (i > 0) {
				struct core_type e;
				uint32_t nelems;

				if (t.kind != BTF_KIND_ARRAY)
					return 0;
				nelems = rd32(t.t + BTF_TYPE_LEN + 8);
				if (!is_flex(tb, &ts->acc[ts->len - 1], nelems) && la->idx >= nelems)
					return 0;
				if (!core_resolve(tb, rd32(t.t + BTF_TYPE_LEN), &e))
					return -TSBPF_ERR_FORMAT;
				tid = e.id;
			}
			if (ts->raw_len == SPEC_MAX || ts->len == SPEC_MAX)
				return -E2BIG;
			ts->acc[ts->len].type_id = tid;
			ts->acc[ts->len].idx = la->idx;
			ts->acc[ts->len].name = NULL;
			ts->len++;
			ts->raw[ts->raw_len++] = la->idx;
			sz = btf_sizeof(tb, tid);
			if (sz < 0)
				return sz == -EINVAL ? 0 : sz;
			ts->bit_offset += (uint64_t)la->idx * (uint64_t)sz * 8;
		}
		if (ts->bit_offset > BIT_OFFSET_MAX)
			return 0;
	}
	return 1;
}

/* ---- values ------------------------------------------------------------------------- */

struct res {
	uint64_t orig_val, new_val;
	bool poison;
	bool validate;
	bool fail_memsz_adjust;
	uint32_t orig_sz, new_sz;
	uint32_t orig_type_id, new_type_id;
};

#define POISON 1 /* calc_*: "no value: poison the instruction" */

/* Size of the innermost element of a (possibly multi-dimensional) array, or of the type. */
static int32_t elem_size(const struct tsbpf_btf *btf, uint32_t id, uint32_t *elem_id)
{
	struct core_type t;

	for (int depth = 0; depth < BTF_MAX_RESOLVE_DEPTH; depth++) {
		if (!core_resolve(btf, id, &t))
			return -EINVAL;
		if (t.kind != BTF_KIND_ARRAY) {
			*elem_id = t.id;
			return btf_sizeof(btf, t.id);
		}
		id = rd32(t.t + BTF_TYPE_LEN);
	}
	return -EINVAL;
}

/* A field's value for one side (spec NULL: the target has none). Returns 0, POISON, or < 0
 * with *why set. */
static int32_t calc_field(uint32_t kind, const struct spec *spec, uint64_t *val, uint32_t *field_sz, uint32_t *type_id,
			  bool *validate, const char **why)
{
	const struct acc *acc;
	const uint8_t *t;
	struct core_type mt;
	uint64_t bit_off, byte_off, bit_sz, byte_sz;
	bool bitfield;
	int32_t sz;

	*field_sz = 0;
	if (kind == BPF_CORE_FIELD_EXISTS) {
		*val = spec ? 1 : 0;
		return 0;
	}
	if (!spec)
		return POISON;
	acc = &spec->acc[spec->len - 1];
	t = btf_type_rec(spec->btf, acc->type_id);
	if (!acc->name) {
		/* The field is an array element (or the root object itself). */
		if (kind == BPF_CORE_FIELD_BYTE_OFFSET) {
			uint32_t elem = 0;

			*val = spec->bit_offset / 8;
			sz = elem_size(spec->btf, acc->type_id, &elem);
			if (sz < 0) {
				*why = "the element has no size";
				return -EINVAL;
			}
			*field_sz = (uint32_t)sz;
			*type_id = acc->type_id;
		} else if (kind == BPF_CORE_FIELD_BYTE_SIZE) {
			sz = btf_sizeof(spec->btf, acc->type_id);
			if (sz < 0) {
				*why = "the element has no size";
				return -EINVAL;
			}
			*val = (uint64_t)sz;
		} else {
			*why = "this kind cannot apply to an array element";
			return -EINVAL;
		}
		if (validate)
			*validate = true;
		return 0;
	}
	if (!t || !core_is_composite(btf_rec_kind(t)) || acc->idx >= btf_rec_vlen(t)) {
		*why = "broken field accessor";
		return -EINVAL;
	}
	if (!core_resolve(spec->btf, rd32(core_member(t, acc->idx) + 4), &mt)) {
		*why = "the field's type is broken";
		return -EINVAL;
	}
	bit_off = spec->bit_offset;
	bit_sz = core_member_bitfield_size(t, acc->idx);
	bitfield = bit_sz > 0;
	if (bitfield) {
		/* The smallest aligned load of the field's type size (doubled as needed) that
		 * covers every bit of the bitfield. */
		byte_sz = mt.t ? btf_rec_size_type(mt.t) : 0;
		if (byte_sz == 0 || byte_sz > 8) {
			*why = "a bitfield of a type without a usable size";
			return -EINVAL;
		}
		byte_off = bit_off / 8 / byte_sz * byte_sz;
		while (bit_off + bit_sz - byte_off * 8 > byte_sz * 8) {
			if (byte_sz >= 8) {
				*why = "the bitfield cannot be read with one 64-bit load";
				return -E2BIG;
			}
			byte_sz *= 2;
			byte_off = bit_off / 8 / byte_sz * byte_sz;
		}
	} else {
		sz = btf_sizeof(spec->btf, mt.id);
		if (sz < 0) {
			*why = "the field has no size";
			return -EINVAL;
		}
		byte_sz = (uint64_t)sz;
		byte_off = bit_off / 8;
		bit_sz = byte_sz * 8;
	}
	/* The compiler's values for bitfields may legitimately differ from ours (it may
	 * pick another load size), so only non-bitfield values are checked, and signedness. */
	if (validate)
		*validate = !bitfield;
	switch (kind) {
	case BPF_CORE_FIELD_BYTE_OFFSET:
		*val = byte_off;
		if (!bitfield) {
			uint32_t elem = 0;

			sz = elem_size(spec->btf, mt.id, &elem);
			if (sz < 0) {
				*why = "the field has no size";
				return -EINVAL;
			}
			*field_sz = (uint32_t)sz;
			*type_id = mt.id;
		}
		break;
	case BPF_CORE_FIELD_BYTE_SIZE:
		*val = byte_sz;
		break;
	case BPF_CORE_FIELD_SIGNED:
		*val = (core_is_enum(mt.kind) && btf_rec_kflag(mt.t)) ||
		       (mt.kind == BTF_KIND_INT && (core_int_encoding(mt.t) & BTF_INT_SIGNED));
		if (validate)
			*validate = true;
		break;
	case BPF_CORE_FIELD_LSHIFT_U64:
		/* Little endian: shift the field's top bit up to bit 63. */
		*val = 64 - (bit_off + bit_sz - byte_off * 8);
		break;
	case BPF_CORE_FIELD_RSHIFT_U64:
		*val = 64 - bit_sz;
		if (validate)
			*validate = true;
		break;
	default:
		*why = "unknown field relocation";
		return -EINVAL;
	}
	return 0;
}

static int32_t calc_type(uint32_t kind, const struct spec *spec, uint64_t *val, bool *validate, const char **why)
{
	int32_t sz;

	if (validate)
		*validate = true;
	if (!spec) {
		/* Nothing matched: TYPE_ID_TARGET and TYPE_SIZE read 0 like the existence checks
		 * (libbpf), so code guarded by bpf_core_type_exists() stays valid. */
		*val = 0;
		return 0;
	}
	switch (kind) {
	case BPF_CORE_TYPE_ID_TARGET:
		*val = spec->root_id;
		/* Type ids move when objects are linked: the compiler's value means nothing. */
		if (validate)
			*validate = false;
		break;
	case BPF_CORE_TYPE_EXISTS:
	case BPF_CORE_TYPE_MATCHES:
		*val = 1;
		break;
	case BPF_CORE_TYPE_SIZE:
		sz = btf_sizeof(spec->btf, spec->root_id);
		if (sz < 0) {
			*why = "the type has no size";
			return -EINVAL;
		}
		*val = (uint64_t)sz;
		break;
	default:
		*why = "unknown type relocation";
		return -EINVAL;
	}
	return 0;
}

static int32_t calc_enumval(uint32_t kind, const struct spec *spec, uint64_t *val)
{
	const uint8_t *t;

	if (kind == BPF_CORE_ENUMVAL_EXISTS) {
		*val = spec ? 1 : 0;
		return 0;
	}
	if (!spec)
		return POISON;
	t = btf_type_rec(spec->btf, spec->acc[0].type_id);
	*val = t ? core_enum_value(t, spec->acc[0].idx) : 0;
	return 0;
}

/* Local and target values of a relocation (target spec NULL: no candidate matched). */
static int32_t calc_relo(uint32_t kind, const struct spec *ls, const struct spec *ts, struct res *res, const char **why)
{
	int32_t err = 0;

	memset(res, 0, sizeof(*res));
	res->validate = true;
	if (is_field_kind(kind)) {
		err = calc_field(kind, ls, &res->orig_val, &res->orig_sz, &res->orig_type_id, &res->validate, why);
		if (!err)
			err = calc_field(kind, ts, &res->new_val, &res->new_sz, &res->new_type_id, NULL, why);
		if (!err && ts && res->orig_sz != res->new_sz) {
			const uint8_t *o = btf_type_rec(ls->btf, res->orig_type_id);
			const uint8_t *n = btf_type_rec(ts->btf, res->new_type_id);

			/* A load or store may change size only where zero extension keeps the
			 * value: pointers (32-bit kernel pointers) and unsigned integers. */
			if (!(o && n && btf_rec_kind(o) == BTF_KIND_PTR && btf_rec_kind(n) == BTF_KIND_PTR) &&
			    !(o && n && btf_rec_kind(o) == BTF_KIND_INT && btf_rec_kind(n) == BTF_KIND_INT &&
			      !(core_int_encoding(o) & BTF_INT_SIGNED) && !(core_int_encoding(n) & BTF_INT_SIGNED)))
				res->fail_memsz_adjust = true;
		}
	} else if (is_type_kind(kind)) {
		err = calc_type(kind, ls, &res->orig_val, &res->validate, why);
		if (!err)
			err = calc_type(kind, ts, &res->new_val, NULL, why);
	} else if (is_enumval_kind(kind)) {
		err = calc_enumval(kind, ls, &res->orig_val);
		if (!err)
			err = calc_enumval(kind, ts, &res->new_val);
	} else {
		*why = "unknown relocation kind";
		return -EINVAL;
	}
	if (err == POISON) {
		res->poison = true;
		err = 0;
	}
	return err;
}

/* ---- patching ----------------------------------------------------------------------- */

static void poison_one(uint8_t *insn)
{
	memset(insn, 0, 8);
	insn[0] = BPF_JMP | BPF_CALL;
	wr32(insn + 4, TSBPF_CORE_POISON_HELPER);
}

static int32_t size_bytes(uint8_t code)
{
	switch (BPF_SIZE(code)) {
	case BPF_DW:
		return 8;
	case BPF_W:
		return 4;
	case BPF_H:
		return 2;
	default:
		return 1;
	}
}

static int32_t size_code(uint32_t bytes)
{
	switch (bytes) {
	case 8:
		return BPF_DW;
	case 4:
		return BPF_W;
	case 2:
		return BPF_H;
	case 1:
		return BPF_B;
	default:
		return -1;
	}
}

/* Patches (or poisons) the instruction at slot `slot`. Returns 0, or < 0 with *why set. */
static int32_t patch_insn(uint8_t *insns, uint32_t insn_cnt, uint32_t slot, struct res *res, char *why, size_t cap)
{
	uint8_t *insn = insns + (size_t)slot * 8;
	uint8_t code = insn[0], cls = BPF_CLASS(code);
	bool ldimm64 = code == (BPF_LD | BPF_IMM | BPF_DW);

	if (ldimm64 && slot + 1 >= insn_cnt) {
		snprintf(why, cap, "the 64-bit load at instruction %u has no second half", slot);
		return -EINVAL;
	}
	if (res->poison) {
poison:
		/* Both halves of an ld_imm64, so the verifier does not trip on a lone second half. */
		if (ldimm64)
			poison_one(insn + 8);
		poison_one(insn);
		return 0;
	}
	switch (cls) {
	case BPF_ALU:
	case BPF_ALU64: {
		int32_t imm = (int32_t)rd32(insn + 4);

		if (BPF_SRC(code) != BPF_K) {
			snprintf(why, cap, "instruction %u (opcode 0x%02x) has no immediate to patch", slot, code);
			return -EINVAL;
		}
		if (res->validate && (uint32_t)imm != (uint32_t)res->orig_val) {
			snprintf(why, cap, "instruction %u holds %d where the compiler's value %llu was expected", slot, imm,
				 (unsigned long long)res->orig_val);
			return -EINVAL;
		}
		if (res->new_val > UINT32_MAX && res->new_val < 0xffffffff80000000ull) {
			snprintf(why, cap, "the value %llu does not fit the 32-bit immediate of instruction %u",
				 (unsigned long long)res->new_val, slot);
			return -ERANGE;
		}
		wr32(insn + 4, (uint32_t)res->new_val);
		return 0;
	}
	case BPF_LDX:
	case BPF_ST:
	case BPF_STX: {
		int16_t off = (int16_t)rd16(insn + 2);

		if (res->validate && (int64_t)off != (int64_t)res->orig_val) {
			snprintf(why, cap, "instruction %u has offset %d where the compiler's value %llu was expected", slot,
				 off, (unsigned long long)res->orig_val);
			return -EINVAL;
		}
		if (res->new_val > INT16_MAX) {
			snprintf(why, cap, "the offset %llu does not fit instruction %u", (unsigned long long)res->new_val,
				 slot);
			return -ERANGE;
		}
		if (res->fail_memsz_adjust) {
			/* A signed or non-integer field changed size: any load would read a wrong value. */
			res->poison = true;
			goto poison;
		}
		if (res->new_sz != res->orig_sz) {
			int32_t code_sz;

			if (size_bytes(code) != (int32_t)res->orig_sz) {
				snprintf(why, cap, "instruction %u accesses %d bytes where the field has %u", slot,
					 size_bytes(code), res->orig_sz);
				return -EINVAL;
			}
			code_sz = size_code(res->new_sz);
			if (code_sz < 0) {
				snprintf(why, cap, "the field's new size %u cannot be loaded by instruction %u", res->new_sz,
					 slot);
				return -EINVAL;
			}
			insn[0] = (uint8_t)(BPF_MODE(code) | (uint8_t)code_sz | cls);
		}
		insn[2] = (uint8_t)res->new_val;
		insn[3] = (uint8_t)(res->new_val >> 8);
		return 0;
	}
	case BPF_LD: {
		const uint8_t *hi = insn + 8;
		uint64_t imm;

		/* Only a plain 64-bit constant load (src 0, no offsets) holds a relocatable value. */
		if (!ldimm64 || (insn[1] >> 4) != 0 || rd16(insn + 2) != 0 || hi[0] != 0 || hi[1] != 0 || rd16(hi + 2) != 0) {
			snprintf(why, cap, "instruction %u (opcode 0x%02x) is not a plain 64-bit constant load", slot, code);
			return -EINVAL;
		}
		imm = (uint64_t)rd32(insn + 4) | (uint64_t)rd32(hi + 4) << 32;
		if (res->validate && imm != res->orig_val) {
			snprintf(why, cap, "instruction %u holds %llu where the compiler's value %llu was expected", slot,
				 (unsigned long long)imm, (unsigned long long)res->orig_val);
			return -EINVAL;
		}
		wr32(insn + 4, (uint32_t)res->new_val);
		wr32(insn + 12, (uint32_t)(res->new_val >> 32));
		return 0;
	}
	default:
		snprintf(why, cap, "instruction %u (opcode 0x%02x) cannot carry a CO-RE value", slot, code);
		return -EINVAL;
	}
}

/* ---- the driver --------------------------------------------------------------------- */

struct cand {
	uint32_t target;
	uint32_t id;
};

struct cand_list {
	struct cand *c;
	uint32_t n;
	uint32_t found; /* candidates found by name, before pruning */
};

struct engine {
	struct tsbpf_core_relo_opts *o;
	uint32_t *cand_slot; /* by local type id: index + 1 into lists */
	struct cand_list *lists;
	uint32_t n_lists;
	const uint32_t *local_map; /* by local id: id in the program's BTF (NULL: identity) */
	uint32_t local_map_n;
};

/* Candidates of local type `id` (named `name`), found once per call. */
static int32_t candidates(struct engine *e, uint32_t id, const char *name, uint32_t kind, struct cand_list **out)
{
	struct tsbpf_core_relo_opts *o = e->o;
	struct cand_list *l;
	size_t len = btf_essential_len(name);
	uint32_t cap = 0;

	if (e->cand_slot[id]) {
		*out = &e->lists[e->cand_slot[id] - 1];
		return 0;
	}
	l = &e->lists[e->n_lists];
	memset(l, 0, sizeof(*l));
	/* vmlinux first; modules only when it has nothing by that name (as libbpf). */
	for (uint32_t t = 0; t < o->n_targets && (t == 0 || l->n == 0); t++) {
		const struct tsbpf_btf *tb = o->targets[t];
		int32_t r;

		if (!tb)
			continue;
		for (r = btf_find_essential(tb, name, len, kind, 0); r > 0; r = btf_find_essential(tb, name, len, kind, (uint32_t)r)) {
			if (!core_kind_compat(btf_kind(tb, (uint32_t)r), kind))
				continue;
			if (l->n == cap) {
				uint32_t ncap = cap ? cap * 2 : 4;
				struct cand *nc = ncap > (1u << 20) ? NULL : realloc(l->c, ncap * sizeof(*nc));

				if (!nc) {
					free(l->c);
					return -TSBPF_ERR_NOMEM;
				}
				l->c = nc;
				cap = ncap;
			}
			l->c[l->n].target = t;
			l->c[l->n].id = (uint32_t)r;
			l->n++;
		}
		if (r < 0 && r != -ENOENT) {
			free(l->c);
			return r;
		}
	}
	l->found = l->n;
	e->cand_slot[id] = ++e->n_lists;
	*out = l;
	return 0;
}

static struct tsbpf_buf desc_buf;

static int32_t relo_error(uint32_t i, uint32_t kind, const char *desc, uint32_t slot, int32_t err, const char *why)
{
	int32_t code = err == -TSBPF_ERR_NOMEM ? err : -TSBPF_ERR_RELOC;

	return tsbpf_error(code, "CO-RE relocation #%u (%s of %s) at instruction %u: %s", i, core_kind_name(kind), desc,
			   slot, why);
}

/* Relocates one record. */
static int32_t relocate_one(struct engine *e, uint32_t i, const uint8_t *rec, struct tsbpf_core_result *out,
			    char *desc, size_t desc_cap)
{
	struct tsbpf_core_relo_opts *o = e->o;
	const struct tsbpf_btf *lb = o->local;
	uint32_t insn_off = rd32(rec), type_id = rd32(rec + 4), kind = rd32(rec + 12);
	uint32_t slot = insn_off / 8;
	const char *access = btf_str(lb, rd32(rec + 8));
	const char *name, *why = NULL;
	struct spec ls, cs, ts;
	struct res res, cres;
	char msg[320];
	bool matched = false;
	int32_t err;

	memset(out, 0, sizeof(*out));
	out->insn = slot;
	out->kind = kind;
	out->local_type = type_id;
	out->target = TSBPF_CORE_NO_TARGET;
	if (desc_cap) {
		struct sbuf b = { desc, desc_cap, 0 };

		sb_char(&b, '[');
		sb_u64(&b, type_id);
		sb_char(&b, ']');
	}
	if (insn_off % 8 || slot >= o->insn_cnt)
		return relo_error(i, kind, desc, slot, -EINVAL, "the instruction offset is outside the program");
	if (kind > BPF_CORE_TYPE_MATCHES)
		return relo_error(i, kind, desc, slot, -EINVAL, "unknown relocation kind");
	if (type_id == 0 || type_id >= btf_end_id(lb))
		return relo_error(i, kind, desc, slot, -EINVAL, "the local type id is not in the object's BTF");
	if (!access)
		return relo_error(i, kind, desc, slot, -EINVAL, "the access string is outside the BTF strings");
	out->slots = o->insns[(size_t)slot * 8] == (BPF_LD | BPF_IMM | BPF_DW) ? 2 : 1;
	core_type_label(lb, type_id, desc, desc_cap);
	err = parse_spec(lb, type_id, access, kind, &ls, &why);
	if (err) {
		snprintf(msg, sizeof(msg), "access string \"%.40s\": %s", access, why);
		return relo_error(i, kind, desc, slot, err, msg);
	}
	format_spec(&ls, desc, desc_cap);

	if (kind == BPF_CORE_TYPE_ID_LOCAL) {
		/* The id the type has in the BTF loaded with the program. */
		uint32_t id = e->local_map ? (type_id < e->local_map_n ? e->local_map[type_id] : 0) : type_id;

		memset(&res, 0, sizeof(res));
		res.orig_val = res.new_val = id;
		res.validate = false;
		if (id == 0)
			return relo_error(i, kind, desc, slot, -EINVAL, "internal: the local type is not in the program's BTF");
	} else {
		struct cand_list *cl;
		uint32_t j = 0;

		name = btf_name(lb, type_id);
		if (!name[0])
			return relo_error(i, kind, desc, slot, -EINVAL,
					  "only named types can be relocated (an anonymous type has no counterpart to look for)");
		err = candidates(e, type_id, name, btf_kind(lb, type_id), &cl);
		if (err)
			return relo_error(i, kind, desc, slot, err, "out of memory for candidates");
		out->candidates = cl->found;
		for (uint32_t c = 0; c < cl->n; c++) {
			const struct tsbpf_btf *tb = o->targets[cl->c[c].target];

			err = spec_match(&ls, tb, cl->c[c].id, &cs);
			if (err < 0) {
				char label[160];

				core_type_label(tb, cl->c[c].id, label, sizeof(label));
				snprintf(msg, sizeof(msg), "matching candidate %s of target %u failed: %s", label,
					 cl->c[c].target, err == -E2BIG ? "the access nests too deep" : "malformed BTF");
				return relo_error(i, kind, desc, slot, err, msg);
			}
			if (err == 0)
				continue;
			err = calc_relo(kind, &ls, &cs, &cres, &why);
			if (err)
				return relo_error(i, kind, desc, slot, err, why);
			if (!matched) {
				res = cres;
				ts = cs;
				matched = true;
				out->target = cl->c[c].target;
				out->target_type = cl->c[c].id;
			} else if (cs.bit_offset != ts.bit_offset || cres.poison != res.poison || cres.new_val != res.new_val) {
				char a[160], b[160];

				/* Two candidates disagree: guessing would read the wrong memory. */
				core_type_label(o->targets[out->target], out->target_type, a, sizeof(a));
				core_type_label(tb, cl->c[c].id, b, sizeof(b));
				if (cs.bit_offset != ts.bit_offset)
					snprintf(msg, sizeof(msg),
						 "ambiguous relocation: candidates %s and %s put the field at different offsets (bit %llu and %llu)",
						 a, b, (unsigned long long)ts.bit_offset, (unsigned long long)cs.bit_offset);
				else
					snprintf(msg, sizeof(msg),
						 "ambiguous relocation: candidates %s and %s give different values (%s%llu and %s%llu)",
						 a, b, res.poison ? "poison " : "", (unsigned long long)res.new_val,
						 cres.poison ? "poison " : "", (unsigned long long)cres.new_val);
				return relo_error(i, kind, desc, slot, -EINVAL, msg);
			}
			/* Later relocations of the same local type only look at candidates that matched. */
			cl->c[j++] = cl->c[c];
		}
		if (j > 0)
			cl->n = j;
		if (!matched) {
			err = calc_relo(kind, &ls, NULL, &res, &why);
			if (err)
				return relo_error(i, kind, desc, slot, err, why);
		}
	}
	err = patch_insn(o->insns, o->insn_cnt, slot, &res, msg, sizeof(msg));
	if (err)
		return relo_error(i, kind, desc, slot, err, msg);
	out->status = res.poison ? TSBPF_CORE_POISONED : TSBPF_CORE_PATCHED;
	out->orig_val = res.orig_val;
	out->new_val = res.new_val;
	return 0;
}

int32_t core_relocate_records(struct tsbpf_core_relo_opts *o, const uint32_t *local_map, uint32_t local_map_n);

/* Relocates every record of o; the results' descriptions go to desc_buf. */
int32_t core_relocate_records(struct tsbpf_core_relo_opts *o, const uint32_t *local_map, uint32_t local_map_n)
{
	struct engine e = { .o = o, .local_map = local_map, .local_map_n = local_map_n };
	const uint32_t desc_cap = 256;
	uint32_t n_types = btf_end_id(o->local);
	int32_t err = 0;

	o->poisoned = 0;
	if (o->relo_cnt == 0)
		return 0;
	if (o->relo_cnt > (1u << 20))
		return tsbpf_error(-EINVAL, "CO-RE: %u relocations are more than any program holds", o->relo_cnt);
	if (!tsbpf_buf_reserve(&desc_buf, o->relo_cnt * desc_cap))
		return tsbpf_error(-TSBPF_ERR_NOMEM, "CO-RE: out of memory");
	e.cand_slot = calloc(n_types, sizeof(uint32_t));
	e.lists = calloc(o->relo_cnt, sizeof(*e.lists));
	if (!e.cand_slot || !e.lists) {
		free(e.cand_slot);
		free(e.lists);
		return tsbpf_error(-TSBPF_ERR_NOMEM, "CO-RE: out of memory");
	}
	for (uint32_t i = 0; i < o->relo_cnt && !err; i++) {
		char *desc = (char *)desc_buf.data + (size_t)i * desc_cap;

		err = relocate_one(&e, i, (const uint8_t *)o->relos + (size_t)i * 16, &o->results[i], desc, desc_cap);
		o->results[i].desc = desc;
		if (!err && o->results[i].status == TSBPF_CORE_POISONED)
			o->poisoned++;
	}
	for (uint32_t i = 0; i < e.n_lists; i++)
		free(e.lists[i].c);
	free(e.lists);
	free(e.cand_slot);
	return err;
}
