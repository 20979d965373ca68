/*
 * BTF parsing: header, type section and string section, validated in two linear
 * passes into a flat index of type offsets; decoding of single types; sizes and
 * alignments; lookup by name through a hash index built on first use.
 */
#include <stdio.h>
#include <stdlib.h>

#include "btf_internal.h"

#define BTF_HDR_LEN 24u
#define BTF_TYPE_LEN 12u

static const char *const kind_names[] = {
	[BTF_KIND_UNKN] = "UNKN",	  [BTF_KIND_INT] = "INT",	    [BTF_KIND_PTR] = "PTR",
	[BTF_KIND_ARRAY] = "ARRAY",	  [BTF_KIND_STRUCT] = "STRUCT",	    [BTF_KIND_UNION] = "UNION",
	[BTF_KIND_ENUM] = "ENUM",	  [BTF_KIND_FWD] = "FWD",	    [BTF_KIND_TYPEDEF] = "TYPEDEF",
	[BTF_KIND_VOLATILE] = "VOLATILE", [BTF_KIND_CONST] = "CONST",	    [BTF_KIND_RESTRICT] = "RESTRICT",
	[BTF_KIND_FUNC] = "FUNC",	  [BTF_KIND_FUNC_PROTO] = "FUNC_PROTO", [BTF_KIND_VAR] = "VAR",
	[BTF_KIND_DATASEC] = "DATASEC",	  [BTF_KIND_FLOAT] = "FLOAT",	    [BTF_KIND_DECL_TAG] = "DECL_TAG",
	[BTF_KIND_TYPE_TAG] = "TYPE_TAG", [BTF_KIND_ENUM64] = "ENUM64",
};

const char *btf_kind_name(uint32_t kind)
{
	return kind <= BTF_KIND_LAST ? kind_names[kind] : "unknown kind";
}

/* Bytes that follow the 12-byte btf_type record of each kind. */
static bool extra_len(uint32_t kind, uint32_t vlen, uint32_t *out)
{
	switch (kind) {
	case BTF_KIND_INT:
	case BTF_KIND_VAR:
	case BTF_KIND_DECL_TAG:
		*out = 4;
		return true;
	case BTF_KIND_ARRAY:
		*out = 12;
		return true;
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
	case BTF_KIND_DATASEC:
	case BTF_KIND_ENUM64:
		*out = vlen * 12;
		return true;
	case BTF_KIND_ENUM:
	case BTF_KIND_FUNC_PROTO:
		*out = vlen * 8;
		return true;
	case BTF_KIND_PTR:
	case BTF_KIND_FWD:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_FUNC:
	case BTF_KIND_FLOAT:
	case BTF_KIND_TYPE_TAG:
		*out = 0;
		return true;
	default:
		return false;
	}
}

uint32_t btf_rec_len(const uint8_t *t)
{
	uint32_t extra = 0;

	extra_len(btf_rec_kind(t), btf_rec_vlen(t), &extra);
	return BTF_TYPE_LEN + extra;
}

const char *btf_str(const struct tsbpf_btf *btf, uint32_t off)
{
	if (off < btf->start_str)
		return btf->base ? btf_str(btf->base, off) : NULL;
	off -= btf->start_str;
	/* The section ends with NUL (checked at open), so any offset inside it is a string. */
	return off < btf->strs_len ? btf->strs + off : NULL;
}

const uint8_t *btf_type_rec(const struct tsbpf_btf *btf, uint32_t id)
{
	if (id == 0)
		return NULL;
	if (id < btf->start_id)
		return btf->base ? btf_type_rec(btf->base, id) : NULL;
	if (id - btf->start_id >= btf->nr_types)
		return NULL;
	return btf->types + btf->offsets[id - btf->start_id];
}

uint8_t *btf_type_rec_mut(struct tsbpf_btf *btf, uint32_t id)
{
	if (!btf->owned || id < btf->start_id || id - btf->start_id >= btf->nr_types)
		return NULL;
	return (uint8_t *)btf->types + btf->offsets[id - btf->start_id];
}

uint32_t btf_kind(const struct tsbpf_btf *btf, uint32_t id)
{
	const uint8_t *t = btf_type_rec(btf, id);

	return t ? btf_rec_kind(t) : BTF_KIND_UNKN;
}

const char *btf_name(const struct tsbpf_btf *btf, uint32_t id)
{
	const uint8_t *t = btf_type_rec(btf, id);
	const char *s = t ? btf_str(btf, btf_rec_name_off(t)) : NULL;

	return s ? s : "";
}

/* ---- parsing ------------------------------------------------------------------------ */

struct parse {
	struct tsbpf_btf *btf;
	uint32_t end_id;
};

static int32_t bad(const struct parse *p, uint32_t id, uint32_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int32_t bad(const struct parse *p, uint32_t id, uint32_t off, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return tsbpf_error(-TSBPF_ERR_FORMAT, "BTF: type [%u] (%s) at offset %u of the type section: %s", id,
			   btf_kind_name(btf_rec_kind(p->btf->types + off)), off, what);
}

static int32_t check_str(const struct parse *p, uint32_t id, uint32_t off, uint32_t name_off, const char *what)
{
	if (btf_str(p->btf, name_off))
		return 0;
	return tsbpf_error(-TSBPF_ERR_FORMAT,
			   "BTF: type [%u] at offset %u of the type section: %s name offset %u is outside the string section",
			   id, off, what, name_off);
}

static int32_t check_ref(const struct parse *p, uint32_t id, uint32_t off, uint32_t ref, const char *what)
{
	if (ref < p->end_id)
		return 0;
	return tsbpf_error(-TSBPF_ERR_FORMAT,
			   "BTF: type [%u] (%s) at offset %u of the type section: %s refers to type [%u], but the last type is [%u]",
			   id, btf_kind_name(btf_rec_kind(p->btf->types + off)), off, what, ref, p->end_id - 1);
}

/* Pass 1: every record fits, every kind is known; counts the types. */
static int32_t scan_types(struct tsbpf_btf *btf, uint32_t *count)
{
	uint32_t off = 0, n = 0;

	while (off < btf->types_len) {
		const uint8_t *t;
		uint32_t kind, extra;

		if (btf->types_len - off < BTF_TYPE_LEN)
			return tsbpf_error(-TSBPF_ERR_FORMAT,
					   "BTF: type [%u] at offset %u of the type section: only %u of its 12 bytes are there",
					   btf->start_id + n, off, btf->types_len - off);
		t = btf->types + off;
		kind = btf_rec_kind(t);
		if (kind == BTF_KIND_UNKN || kind > BTF_KIND_LAST)
			return tsbpf_error(-TSBPF_ERR_FORMAT,
					   "BTF: type [%u] at offset %u of the type section: unknown kind %u",
					   btf->start_id + n, off, kind);
		if (!extra_len(kind, btf_rec_vlen(t), &extra) || btf->types_len - off - BTF_TYPE_LEN < extra)
			return tsbpf_error(-TSBPF_ERR_FORMAT,
					   "BTF: type [%u] (%s, vlen %u) at offset %u of the type section: its %u bytes of members run past the end of the section (%u bytes)",
					   btf->start_id + n, btf_kind_name(kind), btf_rec_vlen(t), off, extra,
					   btf->types_len);
		if (n == BTF_MAX_TYPES)
			return tsbpf_error(-TSBPF_ERR_FORMAT, "BTF: more than %u types", BTF_MAX_TYPES);
		off += BTF_TYPE_LEN + extra;
		n++;
	}
	*count = n;
	return 0;
}

/* Pass 2: per-kind rules, names and references. */
static int32_t check_type(const struct parse *p, uint32_t id, uint32_t off)
{
	const uint8_t *t = p->btf->types + off;
	const uint8_t *x = t + BTF_TYPE_LEN;
	uint32_t kind = btf_rec_kind(t), vlen = btf_rec_vlen(t), st = btf_rec_size_type(t);
	int32_t err;

	if ((err = check_str(p, id, off, btf_rec_name_off(t), "its")))
		return err;
	switch (kind) {
	case BTF_KIND_INT: {
		uint32_t enc = rd32(x);

		if (st == 0 || st > 16)
			return bad(p, id, off, "INT size must be 1 to 16 bytes, not %u", st);
		if (BTF_INT_OFFSET(enc) + BTF_INT_BITS(enc) > st * 8)
			return bad(p, id, off, "%u bits at bit %u do not fit in %u bytes", BTF_INT_BITS(enc), BTF_INT_OFFSET(enc), st);
		return 0;
	}
	case BTF_KIND_PTR:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_TYPE_TAG:
	case BTF_KIND_FUNC:
	case BTF_KIND_VAR:
	case BTF_KIND_DECL_TAG:
		if (kind == BTF_KIND_DECL_TAG && (int32_t)rd32(x) < -1)
			return bad(p, id, off, "component index %d is below -1", (int32_t)rd32(x));
		return check_ref(p, id, off, st, "it");
	case BTF_KIND_ARRAY:
		if ((err = check_ref(p, id, off, rd32(x), "its element type")))
			return err;
		return check_ref(p, id, off, rd32(x + 4), "its index type");
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
	case BTF_KIND_DATASEC:
		for (uint32_t i = 0; i < vlen; i++, x += 12) {
			if (kind != BTF_KIND_DATASEC && (err = check_str(p, id, off, rd32(x), "a member's")))
				return err;
			if ((err = check_ref(p, id, off, rd32(x + (kind == BTF_KIND_DATASEC ? 0 : 4)),
					     kind == BTF_KIND_DATASEC ? "a variable" : "a member")))
				return err;
		}
		return 0;
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
		if (st != 1 && st != 2 && st != 4 && st != 8)
			return bad(p, id, off, "enum size must be 1, 2, 4 or 8 bytes, not %u", st);
		for (uint32_t i = 0; i < vlen; i++, x += kind == BTF_KIND_ENUM ? 8 : 12)
			if ((err = check_str(p, id, off, rd32(x), "a value's")))
				return err;
		return 0;
	case BTF_KIND_FUNC_PROTO:
		if ((err = check_ref(p, id, off, st, "its return type")))
			return err;
		for (uint32_t i = 0; i < vlen; i++, x += 8) {
			if ((err = check_str(p, id, off, rd32(x), "a parameter's")))
				return err;
			if ((err = check_ref(p, id, off, rd32(x + 4), "a parameter")))
				return err;
		}
		return 0;
	case BTF_KIND_FWD:
	case BTF_KIND_FLOAT:
		return 0;
	}
	return bad(p, id, off, "unknown kind %u", kind);
}

static int32_t parse_header(struct tsbpf_btf *btf)
{
	const uint8_t *h = btf->data;
	uint16_t magic;
	uint32_t hdr_len, type_off, type_len, str_off, str_len, data_len;

	if (btf->size < BTF_HDR_LEN)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "BTF: %u bytes are too few for the 24-byte header", btf->size);
	magic = rd16(h);
	if (magic == 0x9feb)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "BTF: big-endian BTF is not supported");
	if (magic != BTF_MAGIC)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "BTF: bad magic 0x%04x (expected 0x%04x)", magic, BTF_MAGIC);
	if (h[2] != 1)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "BTF: version %u is not supported (only 1)", h[2]);
	if (h[3] != 0)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "BTF: unknown header flags 0x%x", h[3]);
	hdr_len = rd32(h + 4);
	type_off = rd32(h + 8);
	type_len = rd32(h + 12);
	str_off = rd32(h + 16);
	str_len = rd32(h + 20);
	if (hdr_len < BTF_HDR_LEN || hdr_len > btf->size)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "BTF: header length %u is outside [24, %u]", hdr_len, btf->size);
	data_len = btf->size - hdr_len;
	if ((uint64_t)type_off + type_len > data_len)
		return tsbpf_error(-TSBPF_ERR_FORMAT,
				   "BTF: type section (offset %u, %u bytes) runs past the end of the data (%u bytes)",
				   type_off, type_len, data_len);
	if ((uint64_t)str_off + str_len > data_len)
		return tsbpf_error(-TSBPF_ERR_FORMAT,
				   "BTF: string section (offset %u, %u bytes) runs past the end of the data (%u bytes)",
				   str_off, str_len, data_len);
	if (type_off % 4)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "BTF: type section offset %u is not 4-byte aligned", type_off);
	if (type_len && str_len && type_off < (uint64_t)str_off + str_len && str_off < (uint64_t)type_off + type_len)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "BTF: the type and string sections overlap");
	btf->hdr_len = hdr_len;
	btf->types = h + hdr_len + type_off;
	btf->types_len = type_len;
	btf->strs = (const char *)h + hdr_len + str_off;
	btf->strs_len = str_len;
	if (!btf->base && (str_len == 0 || btf->strs[0] != '\0'))
		return tsbpf_error(-TSBPF_ERR_FORMAT, "BTF: the string section must start with an empty string");
	if (str_len && btf->strs[str_len - 1] != '\0')
		return tsbpf_error(-TSBPF_ERR_FORMAT, "BTF: the string section does not end with a NUL byte");
	return 0;
}

static int32_t btf_parse(struct tsbpf_btf *btf)
{
	struct parse p = { .btf = btf };
	uint32_t count, off = 0;
	int32_t err;

	if ((err = parse_header(btf)))
		return err;
	if (btf->base) {
		btf->start_id = btf_end_id(btf->base);
		btf->start_str = btf->base->start_str + btf->base->strs_len;
	} else {
		btf->start_id = 1;
		btf->start_str = 0;
	}
	if ((err = scan_types(btf, &count)))
		return err;
	if ((uint64_t)btf->start_id + count > UINT32_MAX / 2)
		return tsbpf_error(-TSBPF_ERR_FORMAT, "BTF: too many types");
	btf->offsets = malloc((count ? count : 1) * sizeof(uint32_t));
	if (!btf->offsets)
		return tsbpf_error(-TSBPF_ERR_NOMEM, "BTF: cannot allocate the index of %u types", count);
	btf->nr_types = count;
	p.end_id = btf->start_id + count;
	for (uint32_t i = 0; i < count; i++) {
		uint32_t extra;
		const uint8_t *t = btf->types + off;

		btf->offsets[i] = off;
		extra_len(btf_rec_kind(t), btf_rec_vlen(t), &extra);
		off += BTF_TYPE_LEN + extra;
	}
	for (uint32_t i = 0; i < count; i++)
		if ((err = check_type(&p, btf->start_id + i, btf->offsets[i])))
			return err;
	return 0;
}

static int32_t open_common(struct tsbpf_btf *btf, struct tsbpf_btf **out)
{
	int32_t err = btf_parse(btf);

	if (err) {
		btf->owned = NULL; /* the caller still owns its buffer when open fails */
		tsbpf_btf_close(btf);
		return err;
	}
	*out = btf;
	return 0;
}

int32_t tsbpf_btf_open(const void *data, uint32_t size, const struct tsbpf_btf *base, uint32_t flags,
		       struct tsbpf_btf **out)
{
	struct tsbpf_btf *btf;

	tsbpf_begin(-1);
	if (!out || (!data && size))
		return tsbpf_error(-EINVAL, "BTF: missing buffer");
	if (flags & ~(uint32_t)TSBPF_BTF_OWN_DATA)
		return tsbpf_error(-EINVAL, "BTF: unknown flags 0x%x", flags);
	*out = NULL;
	btf = calloc(1, sizeof(*btf));
	if (!btf)
		return tsbpf_error(-TSBPF_ERR_NOMEM, "BTF: out of memory");
	btf->data = data;
	btf->size = size;
	btf->base = base;
	if (flags & TSBPF_BTF_OWN_DATA)
		btf->owned = (uint8_t *)data;
	return open_common(btf, out);
}

int32_t btf_open_copy(const void *data, uint32_t size, struct tsbpf_btf **out)
{
	struct tsbpf_btf *btf = calloc(1, sizeof(*btf));
	uint8_t *copy = malloc(size ? size : 1);
	int32_t err;

	*out = NULL;
	if (!btf || !copy) {
		free(btf);
		free(copy);
		return tsbpf_error(-TSBPF_ERR_NOMEM, "BTF: out of memory");
	}
	memcpy(copy, data, size);
	btf->data = copy;
	btf->size = size;
	btf->owned = copy;
	err = btf_parse(btf);
	if (err) {
		tsbpf_btf_close(btf); /* frees the copy too */
		return err;
	}
	*out = btf;
	return 0;
}

void tsbpf_btf_close(struct tsbpf_btf *btf)
{
	if (!btf)
		return;
	free(btf->offsets);
	free(btf->name_buckets);
	free(btf->func_buckets);
	free(btf->name_next);
	free(btf->owned);
	free(btf);
}

int32_t tsbpf_btf_info(const struct tsbpf_btf *btf, struct tsbpf_btf_info *out)
{
	tsbpf_begin(-1);
	if (!btf || !out)
		return tsbpf_error(-EINVAL, "BTF: missing handle");
	memset(out, 0, sizeof(*out));
	out->data = btf->data;
	out->size = btf->size;
	out->start_id = btf->start_id;
	out->end_id = btf_end_id(btf);
	out->start_str = btf->start_str;
	out->str_len = btf->strs_len;
	out->type_len = btf->types_len;
	return 0;
}

/* ---- decoding ----------------------------------------------------------------------- */

int32_t tsbpf_btf_type(const struct tsbpf_btf *btf, uint32_t id, struct tsbpf_btf_type_info *out)
{
	const uint8_t *t, *x;
	uint32_t kind, st;

	tsbpf_begin(-1);
	if (!btf || !out)
		return tsbpf_error(-EINVAL, "BTF: missing handle");
	memset(out, 0, sizeof(*out));
	out->id = id;
	out->name = "";
	if (id == 0)
		return 0; /* void: kind UNKN, no name */
	t = btf_type_rec(btf, id);
	if (!t)
		return tsbpf_error(-ENOENT, "BTF: no type [%u] (the last is [%u])", id, btf_end_id(btf) - 1);
	x = t + BTF_TYPE_LEN;
	kind = btf_rec_kind(t);
	st = btf_rec_size_type(t);
	out->kind = kind;
	out->name_off = btf_rec_name_off(t);
	out->name = btf_str(btf, out->name_off);
	out->vlen = btf_rec_vlen(t);
	out->kflag = btf_rec_kflag(t);
	switch (kind) {
	case BTF_KIND_INT:
		out->size = st;
		out->int_encoding = BTF_INT_ENCODING(rd32(x));
		out->int_offset = BTF_INT_OFFSET(rd32(x));
		out->int_bits = BTF_INT_BITS(rd32(x));
		break;
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
	case BTF_KIND_DATASEC:
	case BTF_KIND_FLOAT:
		out->size = st;
		break;
	case BTF_KIND_ARRAY:
		out->type = rd32(x);
		out->index_type = rd32(x + 4);
		out->nelems = rd32(x + 8);
		break;
	case BTF_KIND_FUNC:
		out->type = st;
		out->linkage = out->vlen;
		out->vlen = 0;
		break;
	case BTF_KIND_VAR:
		out->type = st;
		out->linkage = rd32(x);
		break;
	case BTF_KIND_DECL_TAG:
		out->type = st;
		out->component_idx = (int32_t)rd32(x);
		break;
	case BTF_KIND_FWD:
		break;
	default: /* PTR, TYPEDEF, qualifiers, TYPE_TAG, FUNC_PROTO */
		out->type = st;
		break;
	}
	/* Only kinds with member records report a vlen. */
	if (kind != BTF_KIND_STRUCT && kind != BTF_KIND_UNION && kind != BTF_KIND_ENUM && kind != BTF_KIND_ENUM64 &&
	    kind != BTF_KIND_FUNC_PROTO && kind != BTF_KIND_DATASEC)
		out->vlen = 0;
	return 0;
}

int32_t tsbpf_btf_members(const struct tsbpf_btf *btf, uint32_t id, struct tsbpf_btf_member_info *out, uint32_t cap)
{
	const uint8_t *t, *x;
	uint32_t kind, vlen, n;
	bool kflag;

	tsbpf_begin(-1);
	if (!btf || (cap && !out))
		return tsbpf_error(-EINVAL, "BTF: missing handle");
	t = btf_type_rec(btf, id);
	if (!t)
		return id == 0 ? 0 : tsbpf_error(-ENOENT, "BTF: no type [%u]", id);
	kind = btf_rec_kind(t);
	vlen = btf_rec_vlen(t);
	kflag = btf_rec_kflag(t);
	x = t + BTF_TYPE_LEN;
	switch (kind) {
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
	case BTF_KIND_FUNC_PROTO:
	case BTF_KIND_DATASEC:
		break;
	default:
		return 0;
	}
	n = vlen < cap ? vlen : cap;
	for (uint32_t i = 0; i < n; i++) {
		struct tsbpf_btf_member_info *m = &out[i];
		const char *name;

		memset(m, 0, sizeof(*m));
		switch (kind) {
		case BTF_KIND_STRUCT:
		case BTF_KIND_UNION: {
			uint32_t o = rd32(x + 8);

			m->name_off = rd32(x);
			m->type = rd32(x + 4);
			m->offset = kflag ? o & 0xffffff : o;
			m->bitfield_size = kflag ? o >> 24 : 0;
			x += 12;
			break;
		}
		case BTF_KIND_ENUM:
			m->name_off = rd32(x);
			/* A signed enum's 32-bit values are sign-extended, an unsigned one's are not. */
			m->value = kflag ? (uint64_t)(int64_t)(int32_t)rd32(x + 4) : (uint64_t)rd32(x + 4);
			x += 8;
			break;
		case BTF_KIND_ENUM64:
			m->name_off = rd32(x);
			m->value = (uint64_t)rd32(x + 4) | (uint64_t)rd32(x + 8) << 32;
			x += 12;
			break;
		case BTF_KIND_FUNC_PROTO:
			m->name_off = rd32(x);
			m->type = rd32(x + 4);
			x += 8;
			break;
		case BTF_KIND_DATASEC:
			m->type = rd32(x);
			m->offset = rd32(x + 4);
			m->size = rd32(x + 8);
			x += 12;
			break;
		}
		name = btf_str(btf, m->name_off);
		m->name = name ? name : "";
	}
	return (int32_t)vlen;
}

int32_t tsbpf_btf_decl_tags(const struct tsbpf_btf *btf, uint32_t id, int32_t component_idx, uint32_t *out, uint32_t cap)
{
	int32_t n = 0;

	tsbpf_begin(-1);
	if (!btf || (cap && !out))
		return tsbpf_error(-EINVAL, "BTF: missing handle");
	if (btf->base) {
		n = tsbpf_btf_decl_tags(btf->base, id, component_idx, out, cap);
		if (n < 0)
			return n;
	}
	for (uint32_t i = 0; i < btf->nr_types; i++) {
		const uint8_t *t = btf->types + btf->offsets[i];

		if (btf_rec_kind(t) != BTF_KIND_DECL_TAG || btf_rec_size_type(t) != id ||
		    (int32_t)rd32(t + BTF_TYPE_LEN) != component_idx)
			continue;
		if ((uint32_t)n < cap)
			out[n] = btf->start_id + i;
		n++;
	}
	return n;
}

const char *tsbpf_btf_str(const struct tsbpf_btf *btf, uint32_t off)
{
	return btf ? btf_str(btf, off) : NULL;
}

int32_t tsbpf_btf_str_offset(const struct tsbpf_btf *btf, const char *s)
{
	size_t len;

	tsbpf_begin(-1);
	if (!btf || !s)
		return tsbpf_error(-EINVAL, "BTF: missing handle or string");
	if (btf->base) {
		int32_t r = tsbpf_btf_str_offset(btf->base, s);

		if (r >= 0)
			return r;
	}
	len = strlen(s);
	/* Strings start at offset 0 and after every NUL; the section ends with a NUL. */
	for (uint32_t off = 0; off + len < btf->strs_len;) {
		const char *at = btf->strs + off;
		size_t n = strlen(at);

		if (n == len && memcmp(at, s, len) == 0 && off + btf->start_str <= INT32_MAX)
			return (int32_t)(off + btf->start_str);
		off += (uint32_t)n + 1;
	}
	/* A string may also be the tail of a longer one (offsets into the middle are valid). */
	for (uint32_t off = 0; off + len < btf->strs_len;) {
		const char *at = btf->strs + off;
		size_t n = strlen(at);

		if (n > len && memcmp(at + n - len, s, len) == 0 && off + n - len + btf->start_str <= INT32_MAX)
			return (int32_t)(off + n - len + btf->start_str);
		off += (uint32_t)n + 1;
	}
	return tsbpf_error(-ENOENT, "BTF: no string \"%.60s\" in the string section", s);
}

/* ---- sizes and alignment ------------------------------------------------------------ */

static bool is_modifier(uint32_t kind)
{
	return kind == BTF_KIND_TYPEDEF || kind == BTF_KIND_VOLATILE || kind == BTF_KIND_CONST ||
	       kind == BTF_KIND_RESTRICT || kind == BTF_KIND_TYPE_TAG;
}

int32_t btf_skip_mods(const struct tsbpf_btf *btf, uint32_t id)
{
	for (int depth = 0; depth < BTF_MAX_RESOLVE_DEPTH; depth++) {
		const uint8_t *t = btf_type_rec(btf, id);

		if (!t || !is_modifier(btf_rec_kind(t)))
			return (int32_t)id;
		id = btf_rec_size_type(t);
	}
	return -TSBPF_ERR_FORMAT;
}

int32_t btf_sizeof(const struct tsbpf_btf *btf, uint32_t id)
{
	uint64_t mult = 1;

	for (int depth = 0; depth < BTF_MAX_RESOLVE_DEPTH; depth++) {
		const uint8_t *t = btf_type_rec(btf, id);
		uint64_t size;

		if (!t)
			return -EINVAL; /* void, or an id that cannot be there after validation */
		switch (btf_rec_kind(t)) {
		case BTF_KIND_INT:
		case BTF_KIND_ENUM:
		case BTF_KIND_ENUM64:
		case BTF_KIND_STRUCT:
		case BTF_KIND_UNION:
		case BTF_KIND_DATASEC:
		case BTF_KIND_FLOAT:
			size = mult * btf_rec_size_type(t);
			return size > INT32_MAX ? -TSBPF_ERR_FORMAT : (int32_t)size;
		case BTF_KIND_PTR:
			size = mult * 8;
			return size > INT32_MAX ? -TSBPF_ERR_FORMAT : (int32_t)size;
		case BTF_KIND_TYPEDEF:
		case BTF_KIND_VOLATILE:
		case BTF_KIND_CONST:
		case BTF_KIND_RESTRICT:
		case BTF_KIND_TYPE_TAG:
		case BTF_KIND_VAR:
			id = btf_rec_size_type(t);
			break;
		case BTF_KIND_ARRAY:
			/* Both factors are below 2^32 and mult stays below 2^31: no overflow. */
			mult *= rd32(t + BTF_TYPE_LEN + 8);
			if (mult > INT32_MAX)
				return -TSBPF_ERR_FORMAT;
			if (mult == 0)
				return 0;
			id = rd32(t + BTF_TYPE_LEN);
			break;
		default:
			return -EINVAL; /* FUNC, FUNC_PROTO, FWD, DECL_TAG: no size */
		}
	}
	return -TSBPF_ERR_FORMAT; /* a loop, or a chain longer than any compiler emits */
}

/* Work budget of one alignof: a struct of N members of a struct of N members ... visits
 * exponentially many nodes in crafted BTF; real types stay far below it. */
#define ALIGNOF_BUDGET 100000

static int32_t alignof_rec(const struct tsbpf_btf *btf, uint32_t id, int depth, uint32_t *budget)
{
	for (; depth < BTF_MAX_RESOLVE_DEPTH; depth++) {
		const uint8_t *t = btf_type_rec(btf, id);
		uint32_t kind, size;

		if (!t)
			return -EINVAL;
		if (*budget == 0)
			return -TSBPF_ERR_FORMAT;
		(*budget)--;
		kind = btf_rec_kind(t);
		size = btf_rec_size_type(t);
		switch (kind) {
		case BTF_KIND_INT:
		case BTF_KIND_ENUM:
		case BTF_KIND_ENUM64:
		case BTF_KIND_FLOAT:
			/* Scalars align to their size, capped at the pointer size (8 on BPF). */
			return size < 8 ? (int32_t)(size ? size : 1) : 8;
		case BTF_KIND_PTR:
			return 8;
		case BTF_KIND_TYPEDEF:
		case BTF_KIND_VOLATILE:
		case BTF_KIND_CONST:
		case BTF_KIND_RESTRICT:
		case BTF_KIND_TYPE_TAG:
		case BTF_KIND_VAR:
			id = size;
			break;
		case BTF_KIND_ARRAY:
			id = rd32(t + BTF_TYPE_LEN);
			break;
		case BTF_KIND_STRUCT:
		case BTF_KIND_UNION: {
			const uint8_t *m = t + BTF_TYPE_LEN;
			uint32_t vlen = btf_rec_vlen(t), max = 1;
			bool kflag = btf_rec_kflag(t);

			for (uint32_t i = 0; i < vlen; i++, m += 12) {
				int32_t a = alignof_rec(btf, rd32(m + 4), depth + 1, budget);
				uint32_t o = rd32(m + 8), bits = kflag ? o >> 24 : 0, bitoff = kflag ? o & 0xffffff : o;

				if (a < 0)
					return a;
				if ((uint32_t)a > max)
					max = (uint32_t)a;
				/* A member off its natural alignment means the struct is packed. */
				if (bits == 0 && bitoff % (8 * (uint32_t)a))
					return 1;
			}
			/* So does a size that is not a multiple of the largest alignment. */
			return size % max ? 1 : (int32_t)max;
		}
		default:
			return -EINVAL; /* void, FUNC, FUNC_PROTO, FWD, DATASEC, DECL_TAG */
		}
	}
	return -TSBPF_ERR_FORMAT;
}

int32_t btf_alignof(const struct tsbpf_btf *btf, uint32_t id)
{
	uint32_t budget = ALIGNOF_BUDGET;

	return alignof_rec(btf, id, 0, &budget);
}

static int32_t size_error(const struct tsbpf_btf *btf, uint32_t id, int32_t err, const char *what)
{
	if (id != 0 && !btf_type_rec(btf, id))
		return tsbpf_error(-ENOENT, "BTF: no type [%u] (the last is [%u])", id, btf_end_id(btf) - 1);
	if (id == 0)
		return tsbpf_error(-EINVAL, "BTF: void has no %s", what);
	if (err == -EINVAL)
		return tsbpf_error(err, "BTF: type [%u] (%s '%s') has no %s", id, btf_kind_name(btf_kind(btf, id)),
				   btf_name(btf, id), what);
	return tsbpf_error(err, "BTF: the %s of type [%u] (%s '%s') cannot be computed: a reference loop, a chain deeper than %d, or a size above 2^31",
			   what, id, btf_kind_name(btf_kind(btf, id)), btf_name(btf, id), BTF_MAX_RESOLVE_DEPTH);
}

int32_t tsbpf_btf_sizeof(const struct tsbpf_btf *btf, uint32_t id)
{
	int32_t r;

	tsbpf_begin(-1);
	if (!btf)
		return tsbpf_error(-EINVAL, "BTF: missing handle");
	r = btf_sizeof(btf, id);
	return r < 0 ? size_error(btf, id, r, "size") : r;
}

int32_t tsbpf_btf_alignof(const struct tsbpf_btf *btf, uint32_t id)
{
	int32_t r;

	tsbpf_begin(-1);
	if (!btf)
		return tsbpf_error(-EINVAL, "BTF: missing handle");
	r = btf_alignof(btf, id);
	return r < 0 ? size_error(btf, id, r, "alignment") : r;
}

int32_t tsbpf_btf_resolve(const struct tsbpf_btf *btf, uint32_t id)
{
	int32_t r;

	tsbpf_begin(-1);
	if (!btf)
		return tsbpf_error(-EINVAL, "BTF: missing handle");
	if (id != 0 && !btf_type_rec(btf, id))
		return tsbpf_error(-ENOENT, "BTF: no type [%u] (the last is [%u])", id, btf_end_id(btf) - 1);
	r = btf_skip_mods(btf, id);
	if (r < 0)
		return tsbpf_error(r, "BTF: type [%u] starts a typedef/qualifier chain deeper than %d (a loop?)", id,
				   BTF_MAX_RESOLVE_DEPTH);
	return r;
}

/* ---- lookup by name ----------------------------------------------------------------- */

size_t btf_essential_len(const char *name)
{
	size_t n = strlen(name);

	/* The last "x___y" where neither x nor y is an underscore ends the essential name. */
	for (size_t i = n >= 5 ? n - 5 + 1 : 0; i-- > 0;)
		if (name[i] != '_' && name[i + 1] == '_' && name[i + 2] == '_' && name[i + 3] == '_' && name[i + 4] != '_')
			return i + 1;
	return n;
}

static uint32_t hash_name(const char *s, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

/* hash_name of the essential part of `s`, in one pass over the string. */
static uint32_t hash_essential(const char *s)
{
	uint32_t h = 2166136261u, ess = 0;
	bool flavoured = false;

	for (size_t i = 0; s[i]; i++) {
		h = (h ^ (uint8_t)s[i]) * 16777619u;
		/* "x___y": the hash so far covers the essential name ending at x. Each read
		 * stops at the NUL: a character is only looked at if the one before is '_'. */
		if (s[i] != '_' && s[i + 1] == '_' && s[i + 2] == '_' && s[i + 3] == '_' && s[i + 4] && s[i + 4] != '_') {
			ess = h;
			flavoured = true;
		}
	}
	return flavoured ? ess : h;
}

/*
 * Two indexes, each built on its first use: one of FUNC (and DECL_TAG) names, and one of
 * every other named type. vmlinux has 56,000 FUNCs and 15,000 other named types, and CO-RE
 * only ever looks up the others. Each hashes the essential part of a name (without a
 * ___flavour suffix), so one chain holds a name and all its flavours: exact lookups compare
 * the whole name, CO-RE candidate searches the essential part. A type is in one index only,
 * so both share one array of chain links.
 */
static bool in_func_index(uint32_t kind)
{
	return kind == BTF_KIND_FUNC || kind == BTF_KIND_DECL_TAG;
}

static bool build_name_index(struct tsbpf_btf *btf, bool funcs)
{
	uint32_t n = 16, count = 0;
	uint32_t *buckets;

	if (!btf->name_next) {
		btf->name_next = calloc(btf->nr_types ? btf->nr_types : 1, sizeof(uint32_t));
		if (!btf->name_next)
			return false;
	}
	for (uint32_t i = 0; i < btf->nr_types; i++) {
		const uint8_t *t = btf->types + btf->offsets[i];

		count += btf_rec_name_off(t) != 0 && in_func_index(btf_rec_kind(t)) == funcs;
	}
	while (n < count && n < (1u << 30))
		n <<= 1;
	buckets = calloc(n, sizeof(uint32_t));
	if (!buckets)
		return false;
	/* Insert from the last id down, so every chain runs in ascending id order. */
	for (uint32_t i = btf->nr_types; i-- > 0;) {
		const uint8_t *t = btf->types + btf->offsets[i];
		const char *name;
		uint32_t b;

		if (!btf_rec_name_off(t) || in_func_index(btf_rec_kind(t)) != funcs)
			continue;
		name = btf_str(btf, btf_rec_name_off(t));
		if (!name || !name[0])
			continue;
		b = hash_essential(name) & (n - 1);
		btf->name_next[i] = buckets[b];
		buckets[b] = i + 1;
	}
	if (funcs) {
		btf->func_buckets = buckets;
		btf->nfuncbuckets = n;
	} else {
		btf->name_buckets = buckets;
		btf->nbuckets = n;
	}
	return true;
}

/* The chain head for `hash` in the index of `funcs`, building it first; -1 on OOM. */
static int64_t chain(const struct tsbpf_btf *btf, bool funcs, uint32_t hash)
{
	struct tsbpf_btf *mut = (struct tsbpf_btf *)btf; /* the indexes are caches */

	if (funcs) {
		if (!btf->func_buckets && !build_name_index(mut, true))
			return -1;
		return btf->func_buckets[hash & (btf->nfuncbuckets - 1)];
	}
	if (!btf->name_buckets && !build_name_index(mut, false))
		return -1;
	return btf->name_buckets[hash & (btf->nbuckets - 1)];
}

/* The first own type above after_id in one index named `name` (of `kind` unless ANY). */
static int32_t find_in(const struct tsbpf_btf *btf, bool funcs, const char *name, uint32_t hash, uint32_t kind,
		       uint32_t after_id)
{
	int64_t head = chain(btf, funcs, hash);

	if (head < 0)
		return -TSBPF_ERR_NOMEM;
	for (uint32_t i = (uint32_t)head; i; i = btf->name_next[i - 1]) {
		uint32_t id = btf->start_id + i - 1;
		const uint8_t *t = btf->types + btf->offsets[i - 1];

		if (id <= after_id)
			continue;
		if (kind != TSBPF_BTF_KIND_ANY && btf_rec_kind(t) != kind)
			continue;
		if (strcmp(btf_str(btf, btf_rec_name_off(t)), name) == 0)
			return (int32_t)id;
	}
	return -ENOENT;
}

/* The smaller of two answers of find_in (an id beats -ENOENT; errors win). */
static int32_t first_of(int32_t a, int32_t b)
{
	if (a < 0 && a != -ENOENT)
		return a;
	if (b < 0 && b != -ENOENT)
		return b;
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

int32_t btf_find(const struct tsbpf_btf *btf, const char *name, uint32_t kind, uint32_t after_id)
{
	uint32_t hash;

	if (!name || !name[0])
		return -ENOENT;
	if (btf->base && after_id < btf->start_id) {
		int32_t r = btf_find(btf->base, name, kind, after_id);

		if (r >= 0)
			return r;
		if (r != -ENOENT)
			return r;
	}
	hash = hash_name(name, btf_essential_len(name));
	if (kind == TSBPF_BTF_KIND_ANY)
		return first_of(find_in(btf, false, name, hash, kind, after_id), find_in(btf, true, name, hash, kind, after_id));
	return find_in(btf, in_func_index(kind), name, hash, kind, after_id);
}

static int32_t find_essential_in(const struct tsbpf_btf *btf, bool funcs, const char *name, size_t len,
				 uint32_t after_id)
{
	int64_t head = chain(btf, funcs, hash_name(name, len));

	if (head < 0)
		return -TSBPF_ERR_NOMEM;
	for (uint32_t i = (uint32_t)head; i; i = btf->name_next[i - 1]) {
		uint32_t id = btf->start_id + i - 1;
		const char *other;

		if (id <= after_id)
			continue;
		other = btf_str(btf, btf_rec_name_off(btf->types + btf->offsets[i - 1]));
		if (btf_essential_len(other) == len && memcmp(other, name, len) == 0)
			return (int32_t)id;
	}
	return -ENOENT;
}

int32_t btf_find_essential(const struct tsbpf_btf *btf, const char *name, size_t len, uint32_t kind, uint32_t after_id)
{
	if (len == 0)
		return -ENOENT;
	if (kind == TSBPF_BTF_KIND_ANY)
		return first_of(find_essential_in(btf, false, name, len, after_id), find_essential_in(btf, true, name, len, after_id));
	return find_essential_in(btf, in_func_index(kind), name, len, after_id);
}

int32_t tsbpf_btf_find(const struct tsbpf_btf *btf, const char *name, uint32_t kind, uint32_t after_id)
{
	int32_t r;

	tsbpf_begin(-1);
	if (!btf || !name)
		return tsbpf_error(-EINVAL, "BTF: missing handle or name");
	r = btf_find(btf, name, kind, after_id);
	if (r == -TSBPF_ERR_NOMEM)
		return tsbpf_error(r, "BTF: cannot allocate the name index");
	if (r == -ENOENT)
		return tsbpf_error(r, "BTF: no type named '%s'%s%s", name, kind == TSBPF_BTF_KIND_ANY ? "" : " of kind ",
				   kind == TSBPF_BTF_KIND_ANY ? "" : btf_kind_name(kind));
	return r;
}
