/*
 * libFuzzer target of the ELF reader: tsbpf_elf_open and everything it derives (sections,
 * symbols, relocations, maps, variables, externs, .BTF.ext records, linking).
 * Invariants:
 *  - a result or an error, never both: a failure leaves a reason and *out NULL;
 *  - every array the object publishes is readable for its full count (each byte is read
 *    here, so AddressSanitizer sees an overrun), every string is NUL-terminated;
 *  - every index points inside the array it indexes: relocations, callees, map values,
 *    inner maps, variables' maps, relocation targets by kind;
 *  - each linked stream is the function's own instructions followed by its callees', and
 *    every relocation and .BTF.ext record lies inside it;
 *  - a variable lies inside its map's initial value;
 *  - the BTF handed over by tsbpf_elf_take_btf outlives the object, and the strings that
 *    point into it stay readable until it is closed.
 * Each linked stream is also decoded (either result is fine) to feed the decoder object code.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tsbpf/btf.h"
#include "tsbpf/core.h"
#include "tsbpf/elf.h"
#include "tsbpf/insn.h"
#include "fuzz_check.h"

static void check_funcs(const struct tsbpf_elf_object *o)
{
	for (uint32_t i = 0; i < o->n_funcs; i++) {
		const struct tsbpf_elf_func *f = &o->funcs[i];
		uint64_t span = f->insn_cnt;
		struct tsbpf_elf_sec_type st;

		fuzz_touch_str(f->name);
		fuzz_touch_str(f->section);
		fuzz_touch_str(f->attach_to);
		CHECK(f->section_index < o->n_sections);
		CHECK(f->insn_cnt > 0 && f->linked_cnt >= f->insn_cnt);
		fuzz_touch(f->insns, (uint64_t)f->linked_cnt * 8);
		/* The stream is the function, then each callee whole, in order. */
		CHECK((uint64_t)f->callee_first + f->callee_cnt <= o->n_callees);
		for (uint32_t k = 0; k < f->callee_cnt; k++) {
			uint32_t c = o->callees[f->callee_first + k];

			CHECK(c < o->n_funcs && c != i);
			span += o->funcs[c].insn_cnt;
		}
		CHECK(span == f->linked_cnt);
		CHECK((uint64_t)f->reloc_first + f->reloc_cnt <= o->n_relocs);
		for (uint32_t r = 0; r < f->reloc_cnt; r++) {
			const struct tsbpf_elf_reloc *rel = &o->relocs[f->reloc_first + r];

			CHECK(rel->insn < f->linked_cnt);
			switch (rel->kind) {
			case TSBPF_RELOC_MAP_FD:
			case TSBPF_RELOC_MAP_VALUE:
				CHECK(rel->target < o->n_maps);
				break;
			case TSBPF_RELOC_KCONFIG:
			case TSBPF_RELOC_KSYM:
			case TSBPF_RELOC_KFUNC:
			case TSBPF_RELOC_EXTERN:
				CHECK(rel->target < o->n_externs);
				break;
			case TSBPF_RELOC_CALL:
			case TSBPF_RELOC_FUNC_ADDR:
				CHECK(rel->target < o->n_funcs);
				break;
			default:
				CHECK(0);
			}
			if (rel->symbol)
				fuzz_touch_str(rel->symbol);
		}
		/* .BTF.ext records, in the stream's coordinates. */
		CHECK(f->own_func_info <= f->func_info_cnt && f->own_line_info <= f->line_info_cnt &&
		      f->own_core_relos <= f->core_relo_cnt);
		fuzz_touch(f->func_info, (uint64_t)f->func_info_cnt * 8);
		fuzz_touch(f->line_info, (uint64_t)f->line_info_cnt * 16);
		fuzz_touch(f->core_relos, (uint64_t)f->core_relo_cnt * 16);
		for (uint32_t k = 0; k < f->func_info_cnt; k++) {
			uint32_t at;
			memcpy(&at, f->func_info + 8 * k, 4);
			CHECK(at < f->linked_cnt);
		}
		for (uint32_t k = 0; k < f->line_info_cnt; k++) {
			uint32_t at;
			memcpy(&at, f->line_info + 16 * k, 4);
			CHECK(at < f->linked_cnt);
		}
		for (uint32_t k = 0; k < f->core_relo_cnt; k++) {
			uint32_t at;
			memcpy(&at, f->core_relos + 16 * k, 4);
			CHECK(at % 8 == 0 && at / 8 < f->linked_cnt);
		}
		/* The section's rule, asked again, says the same. */
		if (f->is_program) {
			CHECK(tsbpf_elf_section_type(f->section, &st) == (int32_t)st.match);
			CHECK(st.prog_type == f->prog_type && st.match == f->match);
			CHECK(st.attach_to_off <= strlen(f->section));
		}
		/* Either result is fine: the object may hold instructions the decoder refuses. */
		{
			struct tsbpf_decode_opts d = { .sz = sizeof(d) };
			int32_t n;

			d.code = f->insns;
			d.code_len = f->linked_cnt * 8;
			n = tsbpf_insns_decode(&d);
			CHECK(n >= 0 || tsbpf_last_error_reason()[0] != '\0');
		}
	}
}

static void check_maps(const struct tsbpf_elf_object *o)
{
	for (uint32_t i = 0; i < o->n_maps; i++) {
		const struct tsbpf_elf_map *m = &o->maps[i];

		fuzz_touch_str(m->name);
		CHECK(m->source >= TSBPF_MAP_SRC_BTF && m->source <= TSBPF_MAP_SRC_STRUCT_OPS);
		CHECK(m->inner == -1 || (m->inner >= 0 && (uint32_t)m->inner < o->n_maps && (uint32_t)m->inner != i));
		if (m->inner >= 0)
			CHECK(o->maps[m->inner].is_inner);
		if (m->data)
			fuzz_touch(m->data, m->data_size);
		fuzz_touch(m->extra, m->extra_size);
		CHECK((uint64_t)m->values_first + m->values_cnt <= o->n_values);
		for (uint32_t k = 0; k < m->values_cnt; k++) {
			const struct tsbpf_elf_map_value *v = &o->values[m->values_first + k];

			CHECK(v->map == i);
			CHECK(v->kind == TSBPF_VALUE_PROG ? v->target < o->n_funcs
							 : v->kind == TSBPF_VALUE_MAP && v->target < o->n_maps);
			if (m->source == TSBPF_MAP_SRC_STRUCT_OPS)
				fuzz_touch_str(v->member);
		}
	}
	for (uint32_t i = 0; i < o->n_vars; i++) {
		const struct tsbpf_elf_var *v = &o->vars[i];

		fuzz_touch_str(v->name);
		CHECK(v->map < o->n_maps);
		CHECK(o->maps[v->map].source == TSBPF_MAP_SRC_DATA);
		CHECK((uint64_t)v->offset + v->size <= o->maps[v->map].data_size);
	}
	for (uint32_t i = 0; i < o->n_externs; i++)
		fuzz_touch_str(o->externs[i].name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tsbpf_elf_object *obj = (struct tsbpf_elf_object *)1;
	struct tsbpf_btf *btf;
	struct tsbpf_btf_info bi;
	int32_t ret;

	if (size > UINT32_MAX)
		return 0;
	ret = tsbpf_elf_open(data, (uint32_t)size, &obj);
	if (ret < 0) {
		CHECK(obj == NULL && tsbpf_last_error_reason()[0] != '\0');
		return 0;
	}
	CHECK(ret == 0 && obj != NULL);
	/* Take the BTF first, as the host does: the object's strings that point into it must
	 * stay readable while both live, and the BTF must outlive the object. */
	btf = tsbpf_elf_take_btf(obj);
	CHECK(obj->btf == btf);
	CHECK(tsbpf_elf_take_btf(obj) == NULL);
	fuzz_touch_str(obj->license);
	check_funcs(obj);
	check_maps(obj);
	if (btf) {
		CHECK(tsbpf_btf_info(btf, &bi) == 0 && bi.start_id == 1 && bi.end_id >= 1);
		for (uint32_t i = 0; i < obj->n_funcs; i++)
			CHECK(obj->funcs[i].btf_func < bi.end_id);
		for (uint32_t i = 0; i < obj->n_maps; i++)
			CHECK(obj->maps[i].key_type < bi.end_id && obj->maps[i].value_type < bi.end_id &&
			      obj->maps[i].btf_var < bi.end_id);
		for (uint32_t i = 0; i < obj->n_externs; i++)
			CHECK(obj->externs[i].btf_id < bi.end_id);
	} else {
		CHECK(obj->btf_ext_funcs == 0 && obj->btf_ext_lines == 0 && obj->btf_ext_core_relos == 0);
	}
	tsbpf_elf_close(obj);
	if (btf) {
		struct tsbpf_btf_type_info t;

		/* Still whole after the object is gone (it may have fixed up DATASEC sizes). */
		fuzz_touch(bi.data, bi.size);
		for (uint32_t id = 0; id < bi.end_id && id < 4096; id++)
			CHECK(tsbpf_btf_type(btf, id, &t) == 0 && t.name != NULL);
		tsbpf_btf_close(btf);
	}
	return 0;
}
