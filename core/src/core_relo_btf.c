/*
 * The program's own BTF: the object's types a program needs when it is loaded (the FUNCs
 * its func_info names and the local types its TYPE_ID_LOCAL relocations return), with
 * everything they refer to, numbered compactly (the needed types first), plus the object's string
 * section and any strings the loader adds (the notes on poisoned instructions).
 *
 * Keeping the string section whole keeps every line_info string offset valid; keeping
 * only the types the program uses keeps the kernel from refusing the program for a type
 * it never needed, and gives TYPE_ID_LOCAL the ids the kernel will see.
 */
#include <stdlib.h>

#include "core_relo_internal.h"

/* The i-th type id a record refers to, or false past the last one. */
static bool ref_at(const uint8_t *t, uint32_t i, uint32_t *ref)
{
	const uint8_t *x = t + BTF_TYPE_LEN;
	uint32_t vlen = btf_rec_vlen(t);

	switch (btf_rec_kind(t)) {
	case BTF_KIND_PTR:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_TYPE_TAG:
	case BTF_KIND_FUNC:
	case BTF_KIND_VAR:
	case BTF_KIND_DECL_TAG:
		if (i > 0)
			return false;
		*ref = btf_rec_size_type(t);
		return true;
	case BTF_KIND_ARRAY:
		if (i > 1)
			return false;
		*ref = rd32(x + 4 * i);
		return true;
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		if (i >= vlen)
			return false;
		*ref = rd32(x + (size_t)i * 12 + 4);
		return true;
	case BTF_KIND_DATASEC:
		if (i >= vlen)
			return false;
		*ref = rd32(x + (size_t)i * 12);
		return true;
	case BTF_KIND_FUNC_PROTO:
		if (i > vlen)
			return false;
		*ref = i == 0 ? btf_rec_size_type(t) : rd32(x + (size_t)(i - 1) * 8 + 4);
		return true;
	default: /* INT, ENUM, ENUM64, FWD, FLOAT */
		return false;
	}
}

/* Rewrites the type ids a copied record refers to. */
static void remap_refs(uint8_t *t, const uint32_t *new_id)
{
	uint8_t *x = t + BTF_TYPE_LEN;
	uint32_t vlen = btf_rec_vlen(t);

	switch (btf_rec_kind(t)) {
	case BTF_KIND_PTR:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_TYPE_TAG:
	case BTF_KIND_FUNC:
	case BTF_KIND_VAR:
	case BTF_KIND_DECL_TAG:
		wr32(t + 8, new_id[btf_rec_size_type(t)]);
		break;
	case BTF_KIND_ARRAY:
		wr32(x, new_id[rd32(x)]);
		wr32(x + 4, new_id[rd32(x + 4)]);
		break;
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		for (uint32_t i = 0; i < vlen; i++)
			wr32(x + (size_t)i * 12 + 4, new_id[rd32(x + (size_t)i * 12 + 4)]);
		break;
	case BTF_KIND_DATASEC:
		for (uint32_t i = 0; i < vlen; i++)
			wr32(x + (size_t)i * 12, new_id[rd32(x + (size_t)i * 12)]);
		break;
	case BTF_KIND_FUNC_PROTO:
		wr32(t + 8, new_id[btf_rec_size_type(t)]);
		for (uint32_t i = 0; i < vlen; i++)
			wr32(x + (size_t)i * 8 + 4, new_id[rd32(x + (size_t)i * 8 + 4)]);
		break;
	default:
		break;
	}
}

void prog_btf_free(struct prog_btf *sel)
{
	free(sel->new_id);
	free(sel->order);
	memset(sel, 0, sizeof(*sel));
}

int32_t prog_btf_select(const struct tsbpf_btf *local, const uint32_t *roots, uint32_t n_roots, struct prog_btf *out)
{
	uint32_t n = btf_end_id(local);

	memset(out, 0, sizeof(*out));
	out->n_ids = n;
	out->new_id = calloc(n, sizeof(uint32_t));
	out->order = malloc((size_t)n * sizeof(uint32_t));
	if (!out->new_id || !out->order) {
		prog_btf_free(out);
		return tsbpf_error(-TSBPF_ERR_NOMEM, "CO-RE: out of memory for the program's BTF");
	}
	/* The roots first, in the order given (the program's FUNCs, then the types its
	 * TYPE_ID_LOCAL relocations name: the ids the program sees), then everything they refer
	 * to, breadth first. The order is the queue. */
	for (uint32_t r = 0; r < n_roots; r++) {
		uint32_t id = roots[r];

		if (id == 0 || id >= n || out->new_id[id])
			continue;
		out->order[out->count] = id;
		out->new_id[id] = ++out->count;
	}
	for (uint32_t q = 0; q < out->count; q++) {
		const uint8_t *t = btf_type_rec(local, out->order[q]);
		uint32_t ref;

		for (uint32_t i = 0; t && ref_at(t, i, &ref); i++) {
			if (ref == 0 || ref >= n || out->new_id[ref])
				continue;
			out->order[out->count] = ref;
			out->new_id[ref] = ++out->count;
		}
	}
	return 0;
}

int32_t prog_btf_write(const struct tsbpf_btf *local, const struct prog_btf *sel, const char *extra, uint32_t extra_len,
		       struct tsbpf_buf *out, uint32_t *size)
{
	uint64_t types_len = 0, total;
	uint8_t *p;

	for (uint32_t i = 0; i < sel->count; i++)
		types_len += btf_rec_len(btf_type_rec(local, sel->order[i]));
	total = 24 + types_len + local->strs_len + extra_len;
	if (total > (1u << 30))
		return tsbpf_error(-TSBPF_ERR_NOMEM, "CO-RE: the program's BTF would be larger than 1 GiB");
	if (!tsbpf_buf_reserve(out, (uint32_t)total))
		return tsbpf_error(-TSBPF_ERR_NOMEM, "CO-RE: out of memory for the program's BTF");
	p = out->data;
	memset(p, 0, 24);
	p[0] = BTF_MAGIC & 0xff;
	p[1] = BTF_MAGIC >> 8;
	p[2] = 1;
	wr32(p + 4, 24);
	wr32(p + 8, 0);
	wr32(p + 12, (uint32_t)types_len);
	wr32(p + 16, (uint32_t)types_len);
	wr32(p + 20, local->strs_len + extra_len);
	p += 24;
	for (uint32_t i = 0; i < sel->count; i++) {
		const uint8_t *t = btf_type_rec(local, sel->order[i]);
		uint32_t len = btf_rec_len(t);

		memcpy(p, t, len);
		remap_refs(p, sel->new_id);
		p += len;
	}
	memcpy(p, local->strs, local->strs_len);
	if (extra_len)
		memcpy(p + local->strs_len, extra, extra_len);
	*size = (uint32_t)total;
	return 0;
}
