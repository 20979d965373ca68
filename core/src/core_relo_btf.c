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

/* Where in a record its i-th type id sits (bytes from the record's start), or 0 past the
 * last one (offset 0 is the name, never a type id). */
static uint32_t ref_off(const uint8_t *t, uint32_t i)
{
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
		return i == 0 ? 8 : 0;
	case BTF_KIND_ARRAY: /* element type, index type */
		return i < 2 ? BTF_TYPE_LEN + 4 * i : 0;
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION: /* members: name, type, offset */
		return i < vlen ? BTF_TYPE_LEN + i * 12 + 4 : 0;
	case BTF_KIND_DATASEC: /* variables: type, offset, size */
		return i < vlen ? BTF_TYPE_LEN + i * 12 : 0;
	case BTF_KIND_FUNC_PROTO: /* the return type, then params: name, type */
		if (i == 0)
			return 8;
		return i <= vlen ? BTF_TYPE_LEN + (i - 1) * 8 + 4 : 0;
	default: /* INT, ENUM, ENUM64, FWD, FLOAT */
		return 0;
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
		uint32_t off;

		for (uint32_t i = 0; t && (off = ref_off(t, i)) != 0; i++) {
			uint32_t ref = rd32(t + off);

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
	total = BTF_HDR_LEN + types_len + local->strs_len + extra_len;
	if (total > (1u << 30))
		return tsbpf_error(-TSBPF_ERR_NOMEM, "CO-RE: the program's BTF would be larger than 1 GiB");
	if (!tsbpf_buf_reserve(out, (uint32_t)total))
		return tsbpf_error(-TSBPF_ERR_NOMEM, "CO-RE: out of memory for the program's BTF");
	p = out->data;
	btf_write_header(p, (uint32_t)types_len, local->strs_len + extra_len);
	p += BTF_HDR_LEN;
	for (uint32_t i = 0; i < sel->count; i++) {
		const uint8_t *t = btf_type_rec(local, sel->order[i]);
		uint32_t len = btf_rec_len(t), off;

		memcpy(p, t, len);
		for (uint32_t k = 0; (off = ref_off(p, k)) != 0; k++)
			wr32(p + off, sel->new_id[rd32(p + off)]);
		p += len;
	}
	memcpy(p, local->strs, local->strs_len);
	if (extra_len)
		memcpy(p + local->strs_len, extra, extra_len);
	*size = (uint32_t)total;
	return 0;
}
