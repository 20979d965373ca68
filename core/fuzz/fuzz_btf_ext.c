/*
 * libFuzzer target of the .BTF.ext parser: func_info, line_info and CO-RE relocation
 * records against the object's BTF (the ELF reader links them into programs; fuzz_elf
 * covers that with whole objects).
 *
 * Input: a u32 length, the .BTF blob of that length, then the .BTF.ext bytes. Each part is
 * copied into a buffer of its exact size. Without a valid BTF there is nothing to check
 * records against, so the input is skipped.
 *
 * Invariants: a result or an error, never both (a failure leaves nothing to free: LeakSanitizer
 * sees the rest); every section's records lie inside the .BTF.ext bytes and are read here;
 * each section's name is a BTF string; each record's references hold (a FUNC for func_info,
 * strings for line_info, a type id, an access string and a known kind for CO-RE); totals add
 * up; and lookup by section name finds a section of that name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "btf_ext.h"
#include "tsbpf/btf.h"
#include "tsbpf/core.h"
#include "fuzz_check.h"

static void check_kind(const struct btf_ext_kind *k, uint32_t which, const uint8_t *ext, size_t ext_len,
		       const struct tsbpf_btf *btf)
{
	static const uint32_t min_rec[] = { 8, 16, 16 };
	struct tsbpf_btf_info bi;
	uint64_t total = 0;

	CHECK(tsbpf_btf_info(btf, &bi) == 0);
	if (k->nsecs == 0) {
		CHECK(k->total == 0);
		return;
	}
	CHECK(k->rec_size >= min_rec[which] && k->rec_size % 4 == 0);
	for (uint32_t s = 0; s < k->nsecs; s++) {
		const struct btf_ext_sec *sec = &k->secs[s];
		const struct btf_ext_sec *found;

		CHECK(sec->name != NULL && sec->count > 0);
		fuzz_sink ^= (uint8_t)strlen(sec->name);
		CHECK(sec->recs >= ext && sec->recs + (uint64_t)sec->count * k->rec_size <= ext + ext_len);
		for (uint64_t i = 0; i < (uint64_t)sec->count * k->rec_size; i++)
			fuzz_sink ^= sec->recs[i];
		for (uint32_t i = 0; i < sec->count; i++) {
			const uint8_t *r = sec->recs + (size_t)i * k->rec_size;
			struct tsbpf_btf_type_info t;
			uint32_t a, b, c;

			memcpy(&a, r + 4, 4);
			memcpy(&b, r + 8 < r + k->rec_size ? r + 8 : r, 4);
			memcpy(&c, r + 12 < r + k->rec_size ? r + 12 : r, 4);
			if (which == BTF_EXT_FUNC) {
				CHECK(tsbpf_btf_type(btf, a, &t) == 0 && t.kind == 12 /* FUNC */);
			} else if (which == BTF_EXT_LINE) {
				CHECK(tsbpf_btf_str(btf, a) != NULL && tsbpf_btf_str(btf, b) != NULL);
			} else {
				CHECK(a < bi.end_id && tsbpf_btf_str(btf, b) != NULL && c <= BTF_EXT_CORE_KIND_MAX);
			}
		}
		found = btf_ext_find(k, sec->name);
		CHECK(found != NULL && strcmp(found->name, sec->name) == 0 && found <= sec);
		total += sec->count;
	}
	CHECK(total == k->total);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tsbpf_btf *btf = NULL;
	struct btf_ext ext;
	uint8_t *btf_bytes, *ext_bytes;
	uint32_t btf_len;
	size_t ext_len;
	int32_t ret;

	if (size < 4 || size > (1u << 28))
		return 0;
	memcpy(&btf_len, data, 4);
	data += 4;
	size -= 4;
	btf_len = (uint32_t)(btf_len % (size + 1));
	btf_bytes = fuzz_copy(data, btf_len);
	if (tsbpf_btf_open(btf_bytes, btf_len, NULL, 0, &btf) < 0) {
		free(btf_bytes);
		return 0;
	}
	ext_len = size - btf_len;
	ext_bytes = fuzz_copy(data + btf_len, ext_len);
	memset(&ext, 0xa5, sizeof(ext));
	ret = btf_ext_parse(ext_bytes, (uint32_t)ext_len, btf, &ext);
	if (ret < 0) {
		CHECK(tsbpf_last_error_reason()[0] != '\0');
		/* Nothing left to free: the handle is all zeros again. */
		CHECK(ext.func.secs == NULL && ext.line.secs == NULL && ext.core.secs == NULL);
	} else {
		CHECK(ret == 0);
		check_kind(&ext.func, BTF_EXT_FUNC, ext_bytes, ext_len, btf);
		check_kind(&ext.line, BTF_EXT_LINE, ext_bytes, ext_len, btf);
		check_kind(&ext.core, BTF_EXT_CORE, ext_bytes, ext_len, btf);
		btf_ext_free(&ext);
	}
	tsbpf_btf_close(btf);
	free(btf_bytes);
	free(ext_bytes);
	return 0;
}
