/*
 * An object's BTF as the kernel accepts it (see tsbpf/collection.h).
 *
 * clang writes what a linker would finish: the ELF reader already filled in the DATASEC
 * sizes and variable offsets. What is left are the kernel's own rules for a BTF blob
 * (kernel/bpf/btf.c), which every kernel since BTF_KIND_VAR (5.2) applies:
 *  - a VAR's linkage is static or allocated, never extern (__kconfig and __ksym
 *    declarations are extern);
 *  - a FUNC's linkage is static or global, never extern (kfuncs, forward declarations),
 *    and every parameter of a FUNC's prototype has a name;
 *  - a DATASEC holds only VARs, each sized by its type, in increasing offset order
 *    without overlap. .ksyms holds FUNCs (kfuncs) and VARs of any type, even void: each
 *    entry becomes a 4-byte int VAR at 4 x its index, as libbpf lays it out, the FUNCs
 *    replaced by one placeholder VAR appended to the blob.
 * Nothing else differs on this kernel (6.18 knows every BTF kind clang emits). The result
 * is parsed again before it is returned, so a rewrite never hands the kernel malformed BTF.
 */
#include <stdlib.h>

#include "btf_internal.h"
#include "tsbpf/collection.h"

#define TSBPF_COLL_BTF_PLACEHOLDER "tsbpf_placeholder"
#define REC_LEN 12u

/* The writable record of type `id` in the output. */
static uint8_t *out_rec(const struct tsbpf_btf *in, uint8_t *types, uint32_t id)
{
	return types + in->offsets[id - in->start_id];
}

/* An INT of 4 bytes, signed, named "int": what libbpf gives ksym VARs. 0 if none. */
static uint32_t find_int(const struct tsbpf_btf *btf)
{
	for (uint32_t id = btf->start_id; id < btf_end_id(btf); id++) {
		const uint8_t *t = btf_type_rec(btf, id);

		if (btf_rec_kind(t) == BTF_KIND_INT && btf_rec_size_type(t) == 4 && strcmp(btf_name(btf, id), "int") == 0)
			return id;
	}
	return 0;
}

struct needs {
	uint32_t ksyms;       /* the .ksyms DATASEC, 0 without one */
	uint32_t ksym_funcs;  /* FUNC entries of .ksyms */
	uint32_t ksym_vars;   /* VAR entries of .ksyms */
	uint32_t unnamed;     /* unnamed parameters of FUNCs' prototypes */
	uint32_t int_id;      /* an existing int, or 0 */
};

static void survey(const struct tsbpf_btf *btf, struct needs *n)
{
	int32_t ks = btf_find(btf, ".ksyms", BTF_KIND_DATASEC, 0);

	memset(n, 0, sizeof(*n));
	n->ksyms = ks > 0 ? (uint32_t)ks : 0;
	if (n->ksyms) {
		const uint8_t *t = btf_type_rec(btf, n->ksyms);

		for (uint32_t i = 0; i < btf_rec_vlen(t); i++) {
			uint32_t k = btf_kind(btf, rd32(t + REC_LEN + 12 * i));

			n->ksym_funcs += k == BTF_KIND_FUNC;
			n->ksym_vars += k == BTF_KIND_VAR;
		}
	}
	for (uint32_t id = btf->start_id; id < btf_end_id(btf); id++) {
		const uint8_t *t = btf_type_rec(btf, id), *proto;

		if (btf_rec_kind(t) != BTF_KIND_FUNC)
			continue;
		proto = btf_type_rec(btf, btf_rec_size_type(t));
		if (!proto || btf_rec_kind(proto) != BTF_KIND_FUNC_PROTO)
			continue; /* the kernel refuses that FUNC anyway; nothing to name */
		for (uint32_t i = 0; i < btf_rec_vlen(proto); i++)
			n->unnamed += rd32(proto + REC_LEN + 8 * i) == 0 && rd32(proto + REC_LEN + 8 * i + 4) != 0;
	}
	n->int_id = find_int(btf);
}

static int cmp_secinfo(const void *a, const void *b)
{
	uint32_t x = rd32((const uint8_t *)a + 4), y = rd32((const uint8_t *)b + 4);

	return x < y ? -1 : x > y;
}

/* Puts a DATASEC's variables in offset order (qsort is not stable: ties keep no order,
 * but the kernel refuses ties anyway). Returns whether anything moved. */
static int32_t sort_datasec(uint8_t *t, bool *moved)
{
	uint32_t vlen = btf_rec_vlen(t);
	uint8_t *v = t + REC_LEN, *copy;

	*moved = false;
	for (uint32_t i = 1; i < vlen; i++)
		if (rd32(v + 12 * i + 4) < rd32(v + 12 * (i - 1) + 4))
			*moved = true;
	if (!*moved)
		return 0;
	copy = malloc((size_t)vlen * 12);
	if (!copy)
		return tsbpf_error(-TSBPF_ERR_NOMEM, "BTF: out of memory");
	memcpy(copy, v, (size_t)vlen * 12);
	qsort(copy, vlen, 12, cmp_secinfo);
	memcpy(v, copy, (size_t)vlen * 12);
	free(copy);
	return 0;
}

/* info word: kind << 24 | vlen (kflag 0) */
static uint32_t info_word(uint32_t kind, uint32_t vlen)
{
	return kind << 24 | vlen;
}

static int32_t rewrite(const struct tsbpf_btf *in, const struct needs *n, struct tsbpf_coll_btf *out)
{
	bool placeholder_var = n->ksym_funcs > 0;
	bool need_int = n->ksyms && !n->int_id;
	bool need_str = placeholder_var || n->unnamed > 0;
	uint32_t name_len = (uint32_t)sizeof(TSBPF_COLL_BTF_PLACEHOLDER);
	uint32_t add_types = (need_int ? REC_LEN + 4 : 0) + (placeholder_var ? REC_LEN + 4 : 0);
	uint32_t add_strs = (need_str ? name_len : 0) + (need_int ? 4 : 0);
	uint64_t total = (uint64_t)BTF_HDR_LEN + in->types_len + add_types + in->strs_len + add_strs;
	uint32_t types_len = in->types_len + add_types, strs_len = in->strs_len + add_strs;
	uint32_t name_off = in->strs_len, int_name_off = in->strs_len + (need_str ? name_len : 0);
	uint32_t next_id = btf_end_id(in), int_id = n->int_id, var_id = 0;
	uint8_t *buf, *types, *p;

	if (total > TSBPF_FIXUP_MAX_LEN)
		return tsbpf_error(-E2BIG, "BTF: %llu bytes are too many", (unsigned long long)total);
	buf = malloc((size_t)total);
	if (!buf)
		return tsbpf_error(-TSBPF_ERR_NOMEM, "BTF: out of memory for %llu bytes", (unsigned long long)total);
	btf_write_header(buf, types_len, strs_len);
	types = buf + BTF_HDR_LEN;
	memcpy(types, in->types, in->types_len);
	p = types + in->types_len;
	if (need_int) {
		int_id = next_id++;
		wr32(p, int_name_off);
		wr32(p + 4, info_word(BTF_KIND_INT, 0));
		wr32(p + 8, 4);
		wr32(p + 12, BTF_INT_SIGNED << 24 | 32);
		p += REC_LEN + 4;
		out->added_types++;
	}
	if (placeholder_var) {
		var_id = next_id++;
		wr32(p, name_off);
		wr32(p + 4, info_word(BTF_KIND_VAR, 0));
		wr32(p + 8, int_id);
		wr32(p + 12, BTF_VAR_GLOBAL_ALLOCATED);
		p += REC_LEN + 4;
		out->added_types++;
	}
	p = types + types_len;
	memcpy(p, in->strs, in->strs_len);
	if (need_str)
		memcpy(p + name_off, TSBPF_COLL_BTF_PLACEHOLDER, name_len);
	if (need_int)
		memcpy(p + int_name_off, "int", 4);

	for (uint32_t id = in->start_id; id < btf_end_id(in); id++) {
		uint8_t *t = out_rec(in, types, id);
		uint32_t kind = btf_rec_kind(t);

		if (kind == BTF_KIND_FUNC) {
			uint32_t proto = btf_rec_size_type(t);

			if (btf_rec_vlen(t) == BTF_FUNC_EXTERN) {
				wr32(t + 4, (btf_rec_info(t) & ~0xffffu) | BTF_FUNC_GLOBAL);
				out->extern_funcs++;
			}
			if (proto >= in->start_id && proto < btf_end_id(in) && btf_kind(in, proto) == BTF_KIND_FUNC_PROTO) {
				uint8_t *pt = out_rec(in, types, proto);

				for (uint32_t i = 0; i < btf_rec_vlen(pt); i++) {
					uint8_t *param = pt + REC_LEN + 8 * i;

					if (rd32(param) == 0 && rd32(param + 4) != 0) {
						wr32(param, name_off);
						out->named_params++;
					}
				}
			}
		} else if (kind == BTF_KIND_VAR && rd32(t + REC_LEN) == BTF_VAR_GLOBAL_EXTERN) {
			wr32(t + REC_LEN, BTF_VAR_GLOBAL_ALLOCATED);
			out->extern_vars++;
		} else if (kind == BTF_KIND_DATASEC && id == n->ksyms) {
			uint32_t vlen = btf_rec_vlen(t);

			for (uint32_t i = 0; i < vlen; i++) {
				uint8_t *si = t + REC_LEN + 12 * i;
				uint32_t entry = rd32(si);
				uint32_t ek = btf_kind(in, entry);

				if (ek == BTF_KIND_FUNC) {
					wr32(si, var_id);
					out->ksym_funcs++;
				} else if (ek == BTF_KIND_VAR && entry >= in->start_id) {
					wr32(out_rec(in, types, entry) + 8, int_id);
					out->ksym_vars++;
				} else {
					free(buf);
					return tsbpf_error(-TSBPF_ERR_FORMAT, "BTF: .ksyms entry %u is %s [%u], neither a VAR nor a FUNC", i,
							   btf_kind_name(ek), entry);
				}
				wr32(si + 4, 4 * i);
				wr32(si + 8, 4);
			}
			wr32(t + 8, 4 * vlen);
		} else if (kind == BTF_KIND_DATASEC) {
			bool moved;
			int32_t err = sort_datasec(t, &moved);

			if (err) {
				free(buf);
				return err;
			}
			out->sorted_datasecs += moved;
		}
	}
	out->data = buf;
	out->size = (uint32_t)total;
	return 0;
}

int32_t tsbpf_collection_btf(const void *data, uint32_t size, struct tsbpf_coll_btf *out)
{
	struct tsbpf_btf *in, *check;
	struct needs n;
	int32_t err;

	tsbpf_begin(-1);
	if (!OPTS_VALID(out, struct tsbpf_coll_btf))
		return tsbpf_error(-EINVAL, "invalid options struct");
	memset((uint8_t *)out + sizeof(out->sz), 0, sizeof(*out) - sizeof(out->sz));
	if ((err = tsbpf_btf_open(data, size, NULL, 0, &in)))
		return err;
	survey(in, &n);
	err = rewrite(in, &n, out);
	tsbpf_btf_close(in);
	if (err)
		return err;
	/* The rewrite must itself be well-formed BTF. */
	err = tsbpf_btf_open(out->data, out->size, NULL, 0, &check);
	if (err) {
		free(out->data);
		out->data = NULL;
		out->size = 0;
		return tsbpf_error(-TSBPF_ERR_INTERNAL, "BTF: the rewritten blob does not parse");
	}
	tsbpf_btf_close(check);
	return 0;
}
