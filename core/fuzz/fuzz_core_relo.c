/*
 * libFuzzer target of the CO-RE engine and extern resolution. Input:
 *   u8 flags | u32 local_len | u32 target_len | u16 n_insns | u16 n_func | u16 n_line |
 *   local BTF | target BTF | instructions (8 bytes each) | func_info (8) | line_info (16) |
 *   relocation records (16 bytes each, the rest)
 * Relocation records point at instructions modulo the program's length, so most of them
 * reach the matching code. Invariants: a relocation run either succeeds (every result is
 * patched or poisoned, the count of poisoned ones is returned, a poisoned instruction is a
 * call of the poison helper, and with TSBPF_CORE_PROG_BTF the program's BTF parses and its
 * func_info names FUNCs of it) or fails with a reason. Extern lookups and .kconfig encoding
 * run on the same BTF.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "btf_internal.h"
#include "tsbpf/btf.h"
#include "tsbpf/core.h"
#include "tsbpf/core_relo.h"
#include "fuzz_check.h"

#define HDR 15u

static uint32_t rd(const uint8_t *p, unsigned n)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static void check_result(const struct tsbpf_core_relo_opts *o, const uint8_t *insns)
{
	uint32_t poisoned = 0;

	for (uint32_t i = 0; i < o->relo_cnt; i++) {
		const struct tsbpf_core_result *r = &o->results[i];

		CHECK(r->status == TSBPF_CORE_PATCHED || r->status == TSBPF_CORE_POISONED);
		CHECK(r->insn < o->insn_cnt && (r->slots == 1 || r->slots == 2));
		CHECK(r->desc != NULL);
		if (r->status == TSBPF_CORE_POISONED) {
			poisoned++;
			CHECK(insns[(size_t)r->insn * 8] == (BPF_JMP | BPF_CALL));
			CHECK(rd(insns + (size_t)r->insn * 8 + 4, 4) == TSBPF_CORE_POISON_HELPER);
		}
	}
	CHECK(poisoned == o->poisoned);
}

static void check_prog_btf(const struct tsbpf_core_relo_opts *o)
{
	struct tsbpf_btf *prog = NULL;

	CHECK(o->btf != NULL && o->btf_size >= 24);
	CHECK(tsbpf_btf_open(o->btf, o->btf_size, NULL, 0, &prog) == 0);
	for (uint32_t i = 0; i < o->func_info_out_cnt; i++) {
		uint32_t id = rd((const uint8_t *)o->func_info_out + (size_t)i * 8 + 4, 4);

		CHECK(btf_kind(prog, id) == BTF_KIND_FUNC);
	}
	for (uint32_t i = 0; i < o->line_info_out_cnt; i++) {
		const uint8_t *li = (const uint8_t *)o->line_info_out + (size_t)i * 16;

		CHECK(tsbpf_btf_str(prog, rd(li + 8, 4)) != NULL);
		if (i)
			CHECK(rd(li, 4) > rd(li - 16, 4));
	}
	tsbpf_btf_close(prog);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tsbpf_btf *local = NULL, *target = NULL;
	const struct tsbpf_btf *targets[1];
	uint32_t local_len, target_len, n_insns, n_func, n_line, n_relo, off = HDR;
	uint8_t *insns, *relos;
	struct tsbpf_core_result *results;
	struct tsbpf_core_relo_opts o = { .sz = sizeof(o) };
	int32_t r;

	if (size < HDR)
		return 0;
	local_len = rd(data + 1, 4);
	target_len = rd(data + 5, 4);
	n_insns = rd(data + 9, 2) % 512 + 1;
	n_func = rd(data + 11, 2) % 8;
	n_line = rd(data + 13, 2) % 32;
	if (local_len > size - off)
		local_len = (uint32_t)(size - off);
	if (tsbpf_btf_open(data + off, local_len, NULL, 0, &local) < 0)
		return 0;
	off += local_len;
	if (target_len > size - off)
		target_len = (uint32_t)(size - off);
	if (tsbpf_btf_open(data + off, target_len, NULL, 0, &target) < 0)
		target = NULL;
	off += target_len;
	if ((uint64_t)n_insns * 8 + n_func * 8u + n_line * 16u > size - off) {
		tsbpf_btf_close(local);
		tsbpf_btf_close(target);
		return 0;
	}
	/* Private copies: the engine patches instructions in place. */
	insns = malloc((size_t)n_insns * 8);
	memcpy(insns, data + off, (size_t)n_insns * 8);
	off += n_insns * 8;
	o.func_info = data + off;
	o.func_info_cnt = n_func;
	off += n_func * 8;
	o.line_info = data + off;
	o.line_info_cnt = n_line;
	off += n_line * 16;
	n_relo = (uint32_t)((size - off) / 16);
	relos = malloc(n_relo ? (size_t)n_relo * 16 : 1);
	if (n_relo)
		memcpy(relos, data + off, (size_t)n_relo * 16);
	for (uint32_t i = 0; i < n_relo; i++) {
		uint8_t *rec = relos + (size_t)i * 16;
		uint32_t slot = rd(rec, 4) % n_insns;

		rec[0] = (uint8_t)(slot * 8);
		rec[1] = (uint8_t)(slot * 8 >> 8);
		rec[2] = (uint8_t)(slot * 8 >> 16);
		rec[3] = 0;
		rec[12] %= 13; /* a known kind, mostly */
	}
	results = calloc(n_relo ? n_relo : 1, sizeof(*results));
	targets[0] = target;
	o.flags = data[0] & 1 ? TSBPF_CORE_PROG_BTF : 0;
	o.local = local;
	o.targets = targets;
	o.n_targets = target ? 1 : (data[0] & 2 ? 1 : 0);
	if (o.n_targets && !target)
		targets[0] = local; /* relocate against itself */
	o.insns = insns;
	o.insn_cnt = n_insns;
	o.relos = relos;
	o.relo_cnt = n_relo;
	o.results = results;
	r = tsbpf_core_relocate(&o);
	if (r >= 0) {
		CHECK((uint32_t)r == o.poisoned);
		check_result(&o, insns);
		if (o.flags & TSBPF_CORE_PROG_BTF)
			check_prog_btf(&o);
	} else {
		CHECK(tsbpf_last_error_reason()[0] != '\0');
	}

	/* Externs over the same types: every VAR and FUNC of the local BTF looked up in the target. */
	{
		struct tsbpf_btf_info info;
		uint8_t value[64];
		char text[24] = { 0 };
		size_t tn = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
		uint32_t which;

		tsbpf_btf_info(local, &info);
		/* The input's last bytes as a .kconfig value. */
		memcpy(text, data + size - tn, tn);
		for (uint32_t id = 1; id < info.end_id && id < 256; id++) {
			uint32_t kind = btf_kind(local, id);
			int32_t k;

			if (kind != BTF_KIND_VAR && kind != BTF_KIND_FUNC)
				continue;
			k = tsbpf_core_find_ksym(local, id, targets, target ? 1 : 0, &which);
			CHECK(k != 0);
			if (k > 0)
				CHECK(which == 0 && btf_kind(target, (uint32_t)k) == kind);
			if (kind == BTF_KIND_VAR) {
				int32_t sz = btf_sizeof(local, id);

				if (sz > 0 && sz <= (int32_t)sizeof(value))
					(void)tsbpf_kconfig_encode(local, id, text, value, (uint32_t)sz);
			}
		}
		for (uint32_t i = 0; i < n_relo && i < 8; i++)
			(void)tsbpf_extern_patch(insns, n_insns, relos[(size_t)i * 16] / 8 + (relos[(size_t)i * 16 + 1] << 5), 1 + i % 4,
						 rd(relos + (size_t)i * 16 + 4, 4), (int32_t)(relos[(size_t)i * 16 + 8] % 3));
	}
	free(results);
	free(relos);
	free(insns);
	tsbpf_btf_close(local);
	tsbpf_btf_close(target);
	return 0;
}
