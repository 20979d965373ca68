/*
 * The BTF handle's layout and the helpers the ELF reader and .BTF.ext parser use
 * on it. Records are read byte by byte in little endian: the blob comes from an
 * untrusted file and need not be aligned.
 */
#ifndef TSBPF_BTF_INTERNAL_H
#define TSBPF_BTF_INTERNAL_H

#include <linux/btf.h>

#include "internal.h"
#include "tsbpf/btf.h"

/* Kinds newer than the 6.1 uapi header would be added here; ENUM64 (19) is the last one. */
#define BTF_KIND_LAST BTF_KIND_ENUM64

/* Limits on untrusted input: far above what real BTF uses. */
#define BTF_MAX_TYPES (1u << 24)      /* type ids are 32-bit, the kernel caps at 2^20ish */
#define BTF_MAX_RESOLVE_DEPTH 32      /* typedef/qualifier/array chains, as the kernel */

struct tsbpf_btf {
	const uint8_t *data; /* header + types + strings */
	uint8_t *owned;      /* freed on close when the handle owns its bytes */
	uint32_t size;
	uint32_t hdr_len;
	const uint8_t *types; /* type section */
	uint32_t types_len;
	const char *strs; /* string section */
	uint32_t strs_len;
	uint32_t start_id;  /* id of this blob's first type: 1, or after the base's last */
	uint32_t start_str; /* offset of this blob's first string: 0, or after the base's */
	uint32_t nr_types;  /* types in this blob (void not counted) */
	uint32_t *offsets;  /* nr_types offsets into `types`, by id - start_id */
	const struct tsbpf_btf *base;
	/* Name indexes, each built on its first lookup: chained hashes over this blob's type
	 * ids, one for FUNC and DECL_TAG names, one for the other kinds (btf.c). */
	uint32_t *name_buckets; /* nbuckets heads, 0 = empty, else local index + 1 */
	uint32_t *name_next;    /* per local index: next local index + 1 in its chain */
	uint32_t nbuckets;
	uint32_t *func_buckets; /* the FUNC and DECL_TAG index */
	uint32_t nfuncbuckets;
};

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* The bytes of a BTF header every kernel knows: types right after it, strings after them. */
#define BTF_HDR_LEN 24u

/* Writes that header at p for a blob of types_len bytes of types and strs_len of strings. */
static inline void btf_write_header(uint8_t *p, uint32_t types_len, uint32_t strs_len)
{
	memset(p, 0, BTF_HDR_LEN);
	p[0] = BTF_MAGIC & 0xff;
	p[1] = BTF_MAGIC >> 8;
	p[2] = 1; /* version */
	wr32(p + 4, BTF_HDR_LEN);
	wr32(p + 12, types_len);
	wr32(p + 16, types_len);
	wr32(p + 20, strs_len);
}

/* The raw 12-byte btf_type record of `id`, or NULL for void and ids out of range. */
const uint8_t *btf_type_rec(const struct tsbpf_btf *btf, uint32_t id);

static inline uint32_t btf_rec_name_off(const uint8_t *t)
{
	return rd32(t);
}
static inline uint32_t btf_rec_info(const uint8_t *t)
{
	return rd32(t + 4);
}
static inline uint32_t btf_rec_kind(const uint8_t *t)
{
	return (btf_rec_info(t) >> 24) & 0x1f;
}
static inline uint32_t btf_rec_vlen(const uint8_t *t)
{
	return btf_rec_info(t) & 0xffff;
}
static inline bool btf_rec_kflag(const uint8_t *t)
{
	return btf_rec_info(t) >> 31;
}
/* size or type: the union in struct btf_type */
static inline uint32_t btf_rec_size_type(const uint8_t *t)
{
	return rd32(t + 8);
}

/* Bytes of a validated type record, its members included. */
uint32_t btf_rec_len(const uint8_t *t);
/* Kind of `id` (BTF_KIND_UNKN for void or a bad id). */
uint32_t btf_kind(const struct tsbpf_btf *btf, uint32_t id);
/* Name of `id` ("" for anonymous types, void and bad ids). */
const char *btf_name(const struct tsbpf_btf *btf, uint32_t id);
/* Like tsbpf_btf_str without the error state. */
const char *btf_str(const struct tsbpf_btf *btf, uint32_t off);
/* Skips typedefs, qualifiers and type tags; -TSBPF_ERR_FORMAT when the chain is too long. */
int32_t btf_skip_mods(const struct tsbpf_btf *btf, uint32_t id);
/* Like the exported functions, without touching the error state on success. */
int32_t btf_sizeof(const struct tsbpf_btf *btf, uint32_t id);
int32_t btf_alignof(const struct tsbpf_btf *btf, uint32_t id);
int32_t btf_find(const struct tsbpf_btf *btf, const char *name, uint32_t kind, uint32_t after_id);
/* Length of `name` without its ___flavour suffix (libbpf's "essential" name). */
size_t btf_essential_len(const char *name);
/* The first type id above `after_id` of this blob (not its base) whose essential name is the
 * `len` bytes at `name`; -ENOENT when there is none, -TSBPF_ERR_NOMEM. `kind` says which
 * index to search: FUNC and DECL_TAG names are kept apart from the others (ANY: both); the
 * caller still checks the kind of what it finds. */
int32_t btf_find_essential(const struct tsbpf_btf *btf, const char *name, size_t len, uint32_t kind, uint32_t after_id);
/* One past the last type id. */
static inline uint32_t btf_end_id(const struct tsbpf_btf *btf)
{
	return btf->start_id + btf->nr_types;
}
/* "STRUCT", "INT", ... for messages. */
const char *btf_kind_name(uint32_t kind);

/* Parses with the handle taking a private, writable copy of the bytes (for fix-ups). */
int32_t btf_open_copy(const void *data, uint32_t size, struct tsbpf_btf **out);
/* The writable record of `id` in a handle that owns its bytes (NULL otherwise). */
uint8_t *btf_type_rec_mut(struct tsbpf_btf *btf, uint32_t id);

#endif
