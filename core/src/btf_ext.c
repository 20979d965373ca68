/*
 * .BTF.ext: func_info, line_info and CO-RE relocation records, grouped by the ELF
 * section whose instructions they describe. Parsing validates the header, every
 * block's bounds and record size, and every string offset and type id a record names;
 * the records themselves stay in the caller's buffer.
 */
#include <stdlib.h>

#include "btf_ext.h"

#define EXT_HDR_MIN 24u  /* magic .. line_info_len */
#define EXT_HDR_CORE 32u /* .. core_relo_len */

static const char *const kind_desc[] = { "func_info", "line_info", "CO-RE relocation" };
static const uint32_t min_rec[] = { 8, 16, 16 };

/* Checks the fields of one record that refer into the BTF. */
static int32_t check_record(uint32_t which, const uint8_t *r, const struct tsbpf_btf *btf, const char *sec,
			    uint32_t idx)
{
	uint32_t end = btf_end_id(btf);

	switch (which) {
	case BTF_EXT_FUNC:
		if (rd32(r + 4) >= end || btf_kind(btf, rd32(r + 4)) != BTF_KIND_FUNC)
			return tsbpf_error(-TSBPF_ERR_FORMAT,
					   ".BTF.ext: func_info %u of section '%s' names type [%u], which is not a FUNC",
					   idx, sec, rd32(r + 4));
		return 0;
	case BTF_EXT_LINE:
		if (!btf_str(btf, rd32(r + 4)) || !btf_str(btf, rd32(r + 8)))
			return tsbpf_error(-TSBPF_ERR_FORMAT,
					   ".BTF.ext: line_info %u of section '%s' has a file or line string outside the BTF strings",
					   idx, sec);
		return 0;
	default:
		if (rd32(r + 4) >= end)
			return tsbpf_error(-TSBPF_ERR_FORMAT,
					   ".BTF.ext: CO-RE relocation %u of section '%s' names type [%u], beyond the last type [%u]",
					   idx, sec, rd32(r + 4), end - 1);
		if (!btf_str(btf, rd32(r + 8)))
			return tsbpf_error(-TSBPF_ERR_FORMAT,
					   ".BTF.ext: CO-RE relocation %u of section '%s' has an access string outside the BTF strings",
					   idx, sec);
		if (rd32(r + 12) > BTF_EXT_CORE_KIND_MAX)
			return tsbpf_error(-TSBPF_ERR_FORMAT,
					   ".BTF.ext: CO-RE relocation %u of section '%s' has unknown kind %u", idx, sec,
					   rd32(r + 12));
		return 0;
	}
}

static int32_t parse_block(uint32_t which, const uint8_t *p, uint32_t len, const struct tsbpf_btf *btf,
			   struct btf_ext_kind *out)
{
	uint32_t rec_size, off, nsecs = 0;
	int32_t err;

	if (len == 0)
		return 0;
	if (len < 4)
		return tsbpf_error(-TSBPF_ERR_FORMAT, ".BTF.ext: the %s block is %u bytes, too short for its record size",
				   kind_desc[which], len);
	rec_size = rd32(p);
	if (rec_size < min_rec[which] || rec_size % 4)
		return tsbpf_error(-TSBPF_ERR_FORMAT, ".BTF.ext: %s record size %u (must be a multiple of 4, at least %u)",
				   kind_desc[which], rec_size, min_rec[which]);
	/* Pass 1: bounds, and how many sections there are. */
	for (off = 4; off < len; nsecs++) {
		uint32_t n;

		if (len - off < 8)
			return tsbpf_error(-TSBPF_ERR_FORMAT,
					   ".BTF.ext: %s block: the section header at offset %u is cut off", kind_desc[which],
					   off);
		n = rd32(p + off + 4);
		if (!btf_str(btf, rd32(p + off)))
			return tsbpf_error(-TSBPF_ERR_FORMAT,
					   ".BTF.ext: %s block: section name offset %u at offset %u is outside the BTF strings",
					   kind_desc[which], rd32(p + off), off);
		if (n == 0)
			return tsbpf_error(-TSBPF_ERR_FORMAT, ".BTF.ext: %s block: section '%s' has no records",
					   kind_desc[which], btf_str(btf, rd32(p + off)));
		if ((uint64_t)n * rec_size > len - off - 8)
			return tsbpf_error(-TSBPF_ERR_FORMAT,
					   ".BTF.ext: %s block: section '%s' claims %u records of %u bytes, more than the %u bytes left",
					   kind_desc[which], btf_str(btf, rd32(p + off)), n, rec_size, len - off - 8);
		off += 8 + n * rec_size;
	}
	out->secs = calloc(nsecs, sizeof(*out->secs));
	if (!out->secs)
		return tsbpf_error(-TSBPF_ERR_NOMEM, ".BTF.ext: out of memory");
	out->rec_size = rec_size;
	out->nsecs = nsecs;
	/* Pass 2: record the sections and check every record's references. */
	off = 4;
	for (uint32_t s = 0; s < nsecs; s++) {
		struct btf_ext_sec *sec = &out->secs[s];

		sec->name = btf_str(btf, rd32(p + off));
		sec->count = rd32(p + off + 4);
		sec->recs = p + off + 8;
		for (uint32_t i = 0; i < sec->count; i++)
			if ((err = check_record(which, sec->recs + (size_t)i * rec_size, btf, sec->name, i)))
				return err;
		out->total += sec->count;
		off += 8 + sec->count * rec_size;
	}
	return 0;
}

int32_t btf_ext_parse(const uint8_t *data, uint32_t size, const struct tsbpf_btf *btf, struct btf_ext *out)
{
	uint32_t hdr_len, data_len, offs[3] = { 0 }, lens[3] = { 0 };
	int32_t err;

	memset(out, 0, sizeof(*out));
	if (size < EXT_HDR_MIN)
		return tsbpf_error(-TSBPF_ERR_FORMAT, ".BTF.ext: %u bytes are too few for the header", size);
	if (rd16(data) != BTF_MAGIC)
		return tsbpf_error(-TSBPF_ERR_FORMAT, ".BTF.ext: bad magic 0x%04x%s", rd16(data),
				   rd16(data) == 0x9feb ? " (big-endian is not supported)" : "");
	if (data[2] != 1)
		return tsbpf_error(-TSBPF_ERR_FORMAT, ".BTF.ext: version %u is not supported (only 1)", data[2]);
	if (data[3] != 0)
		return tsbpf_error(-TSBPF_ERR_FORMAT, ".BTF.ext: unknown header flags 0x%x", data[3]);
	hdr_len = rd32(data + 4);
	if (hdr_len < EXT_HDR_MIN || hdr_len > size)
		return tsbpf_error(-TSBPF_ERR_FORMAT, ".BTF.ext: header length %u is outside [%u, %u]", hdr_len,
				   EXT_HDR_MIN, size);
	data_len = size - hdr_len;
	for (uint32_t k = 0; k < 3; k++) {
		if (k == BTF_EXT_CORE && hdr_len < EXT_HDR_CORE)
			break;
		offs[k] = rd32(data + 8 + 8 * k);
		lens[k] = rd32(data + 12 + 8 * k);
		if ((uint64_t)offs[k] + lens[k] > data_len)
			return tsbpf_error(-TSBPF_ERR_FORMAT,
					   ".BTF.ext: the %s block (offset %u, %u bytes) runs past the end of the data (%u bytes)",
					   kind_desc[k], offs[k], lens[k], data_len);
	}
	for (uint32_t k = 0; k < 3; k++) {
		struct btf_ext_kind *kind = k == BTF_EXT_FUNC ? &out->func : k == BTF_EXT_LINE ? &out->line : &out->core;

		if ((err = parse_block(k, data + hdr_len + offs[k], lens[k], btf, kind))) {
			btf_ext_free(out);
			return err;
		}
	}
	return 0;
}

void btf_ext_free(struct btf_ext *ext)
{
	free(ext->func.secs);
	free(ext->line.secs);
	free(ext->core.secs);
	memset(ext, 0, sizeof(*ext));
}

const struct btf_ext_sec *btf_ext_find(const struct btf_ext_kind *k, const char *name)
{
	for (uint32_t i = 0; i < k->nsecs; i++)
		if (strcmp(k->secs[i].name, name) == 0)
			return &k->secs[i];
	return NULL;
}
