/*
 * libFuzzer target of the BTF parser (tsbpf_btf_open) and every query on an opened blob,
 * standalone or as split BTF on top of a base.
 *
 * Input: a mode byte, then
 *  - mode bit 0 clear: one blob (an object's .BTF, vmlinux);
 *  - mode bit 0 set: a u32 length, the base blob of that length, then the split blob.
 * Each blob is copied into a buffer of its exact size, so a read past its end is caught
 * even when more input follows. Bit 1 hands the split blob's buffer to the handle
 * (TSBPF_BTF_OWN_DATA): on failure the caller still owns it, on success close frees it.
 *
 * Invariants: a result or an error, never both; a split handle's ids continue its base's;
 * every id below end_id decodes, with a name and members inside the blob; sizes, alignments
 * and resolution end (no loop or recursion runs away) and resolve to ids that exist;
 * lookup by name returns a type of that name and kind, the first one after after_id.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tsbpf/btf.h"
#include "tsbpf/core.h"
#include "fuzz_check.h"

/* Per-type queries cost O(types) for decl tags and lookups: bound them per input. */
#define MAX_QUERIED 512
/* Linux's ENOENT (the core returns the kernel's errno values). */
#define ENOENT_VALUE 2

static void query(const struct tsbpf_btf *btf)
{
	struct tsbpf_btf_info bi;
	struct tsbpf_btf_type_info t, again;
	uint32_t tags[4];

	CHECK(tsbpf_btf_info(btf, &bi) == 0);
	CHECK(bi.start_id >= 1 && bi.end_id >= bi.start_id);
	fuzz_touch(bi.data, bi.size);
	CHECK(tsbpf_btf_type(btf, bi.end_id, &t) == -ENOENT_VALUE);
	for (uint32_t id = 0; id < bi.end_id; id++) {
		int32_t r;

		if (id >= MAX_QUERIED && id < bi.end_id - MAX_QUERIED / 4)
			id = bi.end_id - MAX_QUERIED / 4; /* the first and the last types */
		CHECK(tsbpf_btf_type(btf, id, &t) == 0);
		CHECK(t.id == id && t.name != NULL);
		fuzz_touch(t.name, strlen(t.name) + 1);
		if (t.vlen) {
			struct tsbpf_btf_member_info *m = malloc(t.vlen * sizeof(*m));

			CHECK(m);
			CHECK(tsbpf_btf_members(btf, id, m, t.vlen) == (int32_t)t.vlen);
			for (uint32_t k = 0; k < t.vlen; k++) {
				CHECK(m[k].name != NULL);
				fuzz_touch(m[k].name, strlen(m[k].name) + 1);
				CHECK(m[k].type < bi.end_id);
			}
			free(m);
		}
		/* Fewer slots than members: never written past cap. */
		CHECK(tsbpf_btf_members(btf, id, NULL, 0) == (int32_t)t.vlen);
		r = tsbpf_btf_sizeof(btf, id);
		CHECK(r >= 0 || tsbpf_last_error_reason()[0] != '\0');
		r = tsbpf_btf_alignof(btf, id);
		CHECK((r > 0 && r <= 8) || (r < 0 && tsbpf_last_error_reason()[0] != '\0'));
		r = tsbpf_btf_resolve(btf, id);
		CHECK((r >= 0 && (uint32_t)r < bi.end_id) || (r < 0 && tsbpf_last_error_reason()[0] != '\0'));
		if (id < 64) {
			r = tsbpf_btf_decl_tags(btf, id, -1, tags, 4);
			CHECK(r >= 0);
			for (int32_t k = 0; k < r && k < 4; k++) {
				CHECK(tsbpf_btf_type(btf, tags[k], &again) == 0 && again.kind == 17 /* DECL_TAG */);
				CHECK(again.type == id && again.component_idx == -1);
			}
		}
		if (t.name[0] && id < MAX_QUERIED) {
			/* The first type of this name and kind at or before id; ids after it in order. */
			r = tsbpf_btf_find(btf, t.name, t.kind, 0);
			CHECK(r > 0 && (uint32_t)r <= id);
			CHECK(tsbpf_btf_type(btf, (uint32_t)r, &again) == 0);
			CHECK(again.kind == t.kind && strcmp(again.name, t.name) == 0);
			r = tsbpf_btf_find(btf, t.name, TSBPF_BTF_KIND_ANY, id - 1);
			CHECK(r == (int32_t)id);
			r = tsbpf_btf_find(btf, t.name, t.kind, id);
			CHECK(r == -ENOENT_VALUE || (r > (int32_t)id && (uint32_t)r < bi.end_id));
		}
		if (id + 1 == bi.end_id)
			break;
	}
	/* String offsets: inside a blob's section is a string, anything else NULL. */
	for (uint32_t off = 0; off < 64; off++) {
		const char *s = tsbpf_btf_str(btf, off * 7);

		if (s)
			fuzz_touch(s, strlen(s) + 1);
	}
	CHECK(tsbpf_btf_str(btf, bi.start_str + bi.str_len) == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tsbpf_btf *base = NULL, *btf = (struct tsbpf_btf *)1;
	uint8_t mode, *base_bytes = NULL, *bytes;
	uint32_t base_len = 0, flags;
	size_t len;
	int32_t ret;

	if (size < 1 || size > (1u << 28))
		return 0;
	mode = data[0];
	data++;
	size--;
	if (mode & 1) {
		if (size < 4)
			return 0;
		memcpy(&base_len, data, 4);
		data += 4;
		size -= 4;
		base_len = (uint32_t)(base_len % (size + 1));
		base_bytes = fuzz_copy(data, base_len);
		ret = tsbpf_btf_open(base_bytes, base_len, NULL, 0, &base);
		if (ret < 0) {
			CHECK(base == NULL && tsbpf_last_error_reason()[0] != '\0');
			free(base_bytes);
			return 0;
		}
		data += base_len;
		size -= base_len;
	}
	len = size;
	bytes = fuzz_copy(data, len);
	flags = mode & 2 ? TSBPF_BTF_OWN_DATA : 0;
	ret = tsbpf_btf_open(bytes, (uint32_t)len, base, flags, &btf);
	if (ret < 0) {
		CHECK(btf == NULL && tsbpf_last_error_reason()[0] != '\0');
		free(bytes);
	} else {
		struct tsbpf_btf_info bi, basei;

		CHECK(ret == 0 && btf != NULL);
		CHECK(tsbpf_btf_info(btf, &bi) == 0);
		if (base) {
			CHECK(tsbpf_btf_info(base, &basei) == 0);
			CHECK(bi.start_id == basei.end_id && bi.start_str == basei.start_str + basei.str_len);
		} else {
			CHECK(bi.start_id == 1 && bi.start_str == 0);
		}
		query(btf);
		tsbpf_btf_close(btf);
		if (!flags)
			free(bytes);
	}
	if (base)
		query(base);
	tsbpf_btf_close(base);
	free(base_bytes);
	return 0;
}
