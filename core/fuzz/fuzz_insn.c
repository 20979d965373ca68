/*
 * libFuzzer target of the instruction codec. The input is read two ways:
 *  - as bytecode: decoding either succeeds (then the text has one line per instruction and
 *    assembling the decoded instructions gives the same bytes back) or fails with a reason
 *    and the slot it is about, never both;
 *  - as structured entries (struct tsbpf_insn) followed by a string table, with two maps:
 *    assembly either yields whole slots or fails with a reason naming an entry.
 * Each run also formats every entry and computes both tags.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tsbpf/core.h"
#include "tsbpf/insn.h"
#include "fuzz_check.h"

static void fuzz_bytecode(const uint8_t *data, size_t size, uint32_t flags)
{
	struct tsbpf_decode_opts d = { .sz = sizeof(d), .flags = flags | TSBPF_INSNS_TEXT };
	uint32_t len = (uint32_t)(size & ~(size_t)7);
	uint8_t tag[8];
	int32_t n;

	d.code = data;
	d.code_len = len;
	n = tsbpf_insns_decode(&d);
	if (n < 0) {
		CHECK(tsbpf_last_error_reason()[0] != '\0');
		CHECK(d.error_index == -1 || (uint32_t)d.error_index < len / 8);
		return;
	}
	CHECK(d.error_index == -1 && (uint32_t)n == d.n_insns);
	{
		/* one line per instruction */
		uint32_t lines = 0;
		for (uint32_t i = 0; i < d.text_len; i++)
			lines += d.text[i] == '\n';
		CHECK(lines == (uint32_t)n);
	}
	{
		/* the decoded instructions assemble to the same bytes */
		struct tsbpf_insn *copy = malloc((size_t)n * sizeof(*copy) + 1);
		struct tsbpf_asm_opts a = { .sz = sizeof(a), .flags = flags & TSBPF_INSNS_FRAGMENT };
		int32_t ret;

		CHECK(copy);
		if (n)
			memcpy(copy, d.insns, (size_t)n * sizeof(*copy));
		a.insns = copy;
		a.n_insns = (uint32_t)n;
		ret = tsbpf_insns_assemble(&a);
		CHECK(ret == (int32_t)len && (len == 0 || memcmp(a.code, data, len) == 0));
		free(copy);
	}
	CHECK(tsbpf_insns_tag(data, len, TSBPF_TAG_SHA1, tag) == 8);
	CHECK(tsbpf_insns_tag(data, len, TSBPF_TAG_SHA256, tag) == 8);
}

static void fuzz_entries(const uint8_t *data, size_t size)
{
	size_t n = size / sizeof(struct tsbpf_insn) / 2;
	size_t used = n * sizeof(struct tsbpf_insn);
	struct tsbpf_insn *insns = malloc(used + 1);
	char *strtab = malloc(size - used + 1);
	struct tsbpf_asm_map maps[2] = { { 1, 3 }, { 2, 4 } };
	struct tsbpf_asm_opts a = { .sz = sizeof(a) };
	char text[TSBPF_INSN_TEXT_MAX];
	int32_t ret;

	CHECK(insns && strtab);
	memcpy(insns, data, used);
	memcpy(strtab, data + used, size - used);
	a.flags = size && (data[0] & 1) ? TSBPF_INSNS_FRAGMENT : 0;
	a.insns = insns;
	a.n_insns = (uint32_t)n;
	a.strtab = strtab;
	a.strtab_len = (uint32_t)(size - used);
	a.maps = maps;
	a.n_maps = a.strtab_len > 2 ? 2 : 0;
	ret = tsbpf_insns_assemble(&a);
	if (ret < 0) {
		CHECK(tsbpf_last_error_reason()[0] != '\0' && a.code == NULL);
		CHECK(a.error_index == -1 || (uint32_t)a.error_index < n);
	} else {
		CHECK(ret % 8 == 0 && (uint32_t)ret == a.code_len);
	}
	for (size_t i = 0; i < n; i++) {
		int32_t len = tsbpf_insn_format(&insns[i], strtab, a.strtab_len, (uint32_t)i & 12, text, sizeof(text));
		CHECK(len < 0 || ((uint32_t)len < sizeof(text) && strlen(text) == (size_t)len));
	}
	free(insns);
	free(strtab);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t flags = size ? (data[size - 1] & (TSBPF_INSNS_FRAGMENT | TSBPF_INSNS_HEX | TSBPF_INSNS_ALU32)) : 0;

	fuzz_bytecode(data, size, flags);
	fuzz_entries(data, size);
	return 0;
}
