/*
 * The pure parts of a collection load (tsbpf/collection.h) on arbitrary input. The first
 * byte picks the entry point; the rest is its input:
 *   0: tsbpf_collection_btf on BTF bytes. Invariant: on success the blob parses, and no
 *      VAR or FUNC keeps extern linkage (what the kernel refuses).
 *   1: tsbpf_collection_map_plan on a map described by the bytes. Invariant: a perf event
 *      array or map of maps gets 4-byte values, a frozen map is a read-only data map.
 *   2: tsbpf_collection_relocate on instructions and relocations from the bytes.
 *      Invariant: on success every map relocation's immediate holds its fd.
 */
#include <linux/bpf.h>
#include <linux/btf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "host_stub.h"
#include "tsbpf/btf.h"
#include "tsbpf/collection.h"
#include "tsbpf/core.h"
#include "tsbpf/elf.h"

static uint32_t rd(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void btf_case(const uint8_t *data, size_t size)
{
	struct tsbpf_coll_btf out = { .sz = sizeof(out) };
	struct tsbpf_btf *btf;
	uint8_t *copy = malloc(size ? size : 1);

	if (!copy)
		return;
	memcpy(copy, data, size);
	if (tsbpf_collection_btf(copy, (uint32_t)size, &out) < 0) {
		if (out.data)
			__builtin_trap(); /* a failure hands nothing out */
		free(copy);
		return;
	}
	free(copy);
	if (tsbpf_btf_open(out.data, out.size, NULL, 0, &btf) < 0)
		__builtin_trap();
	for (uint32_t id = 1;; id++) {
		struct tsbpf_btf_type_info t;

		if (tsbpf_btf_type(btf, id, &t) < 0)
			break;
		if ((t.kind == BTF_KIND_VAR && t.linkage == BTF_VAR_GLOBAL_EXTERN) ||
		    (t.kind == BTF_KIND_FUNC && t.linkage == BTF_FUNC_EXTERN))
			__builtin_trap();
	}
	tsbpf_btf_close(btf);
	tsbpf_free(out.data);
}

static void plan_case(const uint8_t *data, size_t size)
{
	uint8_t buf[64] = { 0 };
	struct tsbpf_coll_map m = { .sz = sizeof(m), .name = "fuzz" };

	memcpy(buf, data, size < sizeof(buf) ? size : sizeof(buf));
	m.source = buf[0] % 6;
	m.type = buf[1] % 40;
	m.key_size = rd(buf + 2) & 0xff;
	m.value_size = rd(buf + 6) & 0xff;
	m.max_entries = rd(buf + 10);
	m.flags = rd(buf + 14);
	m.pinning = buf[18] % 4;
	m.key_type = buf[19];
	m.value_type = buf[20];
	m.have_btf = buf[21] & 1;
	m.mmapable = buf[22] & 1;
	m.n_cpus = buf[23];
	m.is_inner = buf[24] & 1;
	m.extra_size = buf[25] % 24;
	m.extra = buf + 26;
	if (tsbpf_collection_map_plan(&m) < 0)
		return;
	if ((m.type == BPF_MAP_TYPE_PERF_EVENT_ARRAY || m.type == BPF_MAP_TYPE_ARRAY_OF_MAPS ||
	     m.type == BPF_MAP_TYPE_HASH_OF_MAPS) &&
	    m.out_value_size != 4)
		__builtin_trap();
	if (m.freeze && (m.source != TSBPF_MAP_SRC_DATA || !(m.flags & BPF_F_RDONLY_PROG)))
		__builtin_trap();
	if (m.out_name[15] != 0)
		__builtin_trap();
}

static void reloc_case(const uint8_t *data, size_t size)
{
	uint32_t n_insns, n_relocs;
	uint8_t *insns;
	struct tsbpf_coll_reloc *relocs;

	if (size < 2)
		return;
	n_relocs = data[0] % 8;
	data++, size--;
	if (size < n_relocs * 8u)
		return;
	n_insns = (uint32_t)((size - n_relocs * 8u) / 8);
	insns = malloc(n_insns * 8u + 1);
	relocs = calloc(n_relocs + 1, sizeof(*relocs));
	if (!insns || !relocs)
		goto out;
	for (uint32_t i = 0; i < n_relocs; i++) {
		relocs[i].insn = data[8 * i] % (n_insns + 2);
		relocs[i].kind = data[8 * i + 1] % 10;
		relocs[i].fd = (int8_t)data[8 * i + 2];
		relocs[i].offset = data[8 * i + 3];
		relocs[i].value_size = data[8 * i + 4];
	}
	memcpy(insns, data + n_relocs * 8u, n_insns * 8u);
	if (tsbpf_collection_relocate(insns, n_insns, relocs, n_relocs) == 0) {
		for (uint32_t i = 0; i < n_relocs; i++) {
			const struct tsbpf_coll_reloc *r = &relocs[i];
			uint32_t k = r->kind;
			bool later = false;

			if (k != TSBPF_RELOC_MAP_FD && k != TSBPF_RELOC_MAP_VALUE && k != TSBPF_RELOC_KCONFIG)
				continue;
			if (r->insn + 1 >= n_insns)
				__builtin_trap(); /* a 64-bit load needs its second half */
			/* A later relocation of this slot, or of the slot before (its second half
			 * takes the value offset), may have written it again. */
			for (uint32_t j = i + 1; j < n_relocs; j++)
				later |= relocs[j].insn == r->insn || relocs[j].insn + 1 == r->insn;
			if (!later && rd(insns + 8 * r->insn + 4) != (uint32_t)r->fd)
				__builtin_trap();
		}
	}
out:
	free(insns);
	free(relocs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static const uint8_t none[1];

	stub_reset(none, 0);
	switch (data[0] % 3) {
	case 0:
		btf_case(data + 1, size - 1);
		break;
	case 1:
		plan_case(data + 1, size - 1);
		break;
	default:
		reloc_case(data + 1, size - 1);
	}
	if (stub_calls() != 0)
		__builtin_trap(); /* pure: the kernel is never asked */
	return 0;
}
