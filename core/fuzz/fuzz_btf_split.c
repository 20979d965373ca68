/*
 * libFuzzer target of the kernel-BTF parser with split BTF (a module's BTF on vmlinux).
 * Input: a 4-byte length n, then n bytes of base BTF, then the split blob. The base must
 * parse for the split one to be tried. Invariants: open succeeds with a handle or fails with
 * a reason and no handle; a split handle's ids start where the base's end; every id below
 * end_id decodes, and its members, size, alignment and name lookups answer without
 * crashing; a lookup by name finds a type of that name (exact, or by essential name).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "btf_internal.h"
#include "tsbpf/btf.h"
#include "tsbpf/core.h"
#include "fuzz_check.h"

/* Visits up to 4096 types of `btf` (the split part when it has a base). */
static void walk(const struct tsbpf_btf *btf)
{
	struct tsbpf_btf_info info;
	struct tsbpf_btf_member_info members[16];
	struct tsbpf_btf_type_info t;

	CHECK(tsbpf_btf_info(btf, &info) == 0);
	CHECK(info.end_id >= info.start_id);
	for (uint32_t id = info.start_id; id < info.end_id && id < info.start_id + 4096; id++) {
		int32_t n;

		CHECK(tsbpf_btf_type(btf, id, &t) == 0);
		CHECK(t.id == id);
		n = tsbpf_btf_members(btf, id, members, 16);
		CHECK(n >= 0 && (uint32_t)n == t.vlen);
		(void)tsbpf_btf_sizeof(btf, id);
		(void)tsbpf_btf_alignof(btf, id);
		CHECK(tsbpf_btf_resolve(btf, id) >= 0 || tsbpf_last_error_reason()[0]);
		if (t.name && t.name[0]) {
			int32_t found = tsbpf_btf_find(btf, t.name, t.kind, 0);
			size_t len = btf_essential_len(t.name);
			int32_t ess = btf_find_essential(btf, t.name, len, t.kind, id - 1);

			/* The first of that name and kind is this one or an earlier one. */
			CHECK(found > 0 && (uint32_t)found <= id);
			CHECK(strcmp(btf_name(btf, (uint32_t)found), t.name) == 0);
			/* Within this blob, the essential-name search finds this type first. */
			if (!btf->base)
				CHECK(ess == (int32_t)id);
			CHECK(tsbpf_btf_str_offset(btf, t.name) >= 0);
		}
	}
	CHECK(tsbpf_btf_find(btf, "", TSBPF_BTF_KIND_ANY, 0) < 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tsbpf_btf *base = NULL, *split = NULL;
	uint32_t n;
	int32_t r;

	if (size < 4)
		return 0;
	memcpy(&n, data, 4);
	data += 4;
	size -= 4;
	if (n > size)
		n = (uint32_t)size;
	r = tsbpf_btf_open(data, n, NULL, 0, &base);
	CHECK((r == 0) == (base != NULL));
	if (r < 0) {
		CHECK(tsbpf_last_error_reason()[0] != '\0');
		return 0;
	}
	walk(base);
	r = tsbpf_btf_open(data + n, (uint32_t)(size - n), base, 0, &split);
	CHECK((r == 0) == (split != NULL));
	if (r == 0) {
		struct tsbpf_btf_info bi, si;

		CHECK(tsbpf_btf_info(base, &bi) == 0 && tsbpf_btf_info(split, &si) == 0);
		CHECK(si.start_id == bi.end_id);
		CHECK(si.start_str == bi.str_len);
		walk(split);
		tsbpf_btf_close(split);
	} else {
		CHECK(tsbpf_last_error_reason()[0] != '\0');
	}
	tsbpf_btf_close(base);
	return 0;
}
