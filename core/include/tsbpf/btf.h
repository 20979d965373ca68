/*
 * BTF: parsing of type information (a .BTF section, /sys/kernel/btf/vmlinux, or a
 * module's split BTF) into a handle that answers questions by type id: kind, name,
 * members, size, alignment, and lookup by name.
 *
 * The parser validates the whole blob once (header, every type record and every
 * type id and string offset it names) and keeps a flat index of type offsets: no
 * allocation per type, so vmlinux (~130k types) costs one array of u32. A name
 * index for lookups is built on the first lookup by name.
 *
 * Pure functions over bytes: nothing here asks the kernel.
 */
#ifndef TSBPF_BTF_H
#define TSBPF_BTF_H

#include "abi.h"

/* An opened BTF blob. */
struct tsbpf_btf;

/* Flags of tsbpf_btf_open. */
enum tsbpf_btf_open_flags {
	/* The handle takes ownership of `data` (a tsbpf_malloc'd buffer) and frees it
	 * on close. Without it the caller keeps `data` alive until the handle is closed. */
	TSBPF_BTF_OWN_DATA = 1,
};

/* tsbpf_btf_find's wildcard for "any kind". */
#define TSBPF_BTF_KIND_ANY 0xffffffff

/*
 * One type, decoded. Fields that do not apply to the kind are zero.
 *  - size: INT, ENUM, ENUM64, STRUCT, UNION, DATASEC, FLOAT
 *  - type: the referenced type of PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG,
 *          FUNC (its FUNC_PROTO), FUNC_PROTO (return type), VAR, DECL_TAG;
 *          the element type of ARRAY
 *  - index_type, nelems: ARRAY
 *  - int_encoding (BTF_INT_SIGNED/CHAR/BOOL), int_offset, int_bits: INT
 *  - linkage: FUNC (BTF_FUNC_STATIC/GLOBAL/EXTERN) and VAR (BTF_VAR_*)
 *  - component_idx: DECL_TAG (-1 when it tags the declaration itself)
 *  - vlen: how many members/values/params/vars tsbpf_btf_members returns
 */
struct tsbpf_btf_type_info {
	uint32_t id;
	uint32_t kind;
	const char *name;
	uint32_t name_off;
	uint32_t vlen;
	uint32_t kflag;
	uint32_t size;
	uint32_t type;
	uint32_t index_type;
	uint32_t nelems;
	uint32_t int_encoding;
	uint32_t int_offset;
	uint32_t int_bits;
	uint32_t linkage;
	int32_t component_idx;
	uint32_t pad;
};

/*
 * One member of a STRUCT/UNION, value of an ENUM/ENUM64, parameter of a FUNC_PROTO
 * or variable of a DATASEC.
 *  - type: member, parameter or variable type (0 for enum values)
 *  - offset: STRUCT/UNION: bit offset; DATASEC: byte offset
 *  - bitfield_size: STRUCT/UNION with kflag set: the bitfield's width (0 = none)
 *  - size: DATASEC: the variable's size
 *  - value: ENUM/ENUM64: the value's 64 bits (sign-extended for a signed ENUM)
 */
struct tsbpf_btf_member_info {
	const char *name;
	uint32_t name_off;
	uint32_t type;
	uint32_t offset;
	uint32_t bitfield_size;
	uint32_t size;
	uint32_t pad;
	uint64_t value;
};

/* What a handle holds: its raw bytes (with any fix-ups applied) and its id range. */
struct tsbpf_btf_info {
	const void *data;
	uint32_t size;
	uint32_t start_id;
	uint32_t end_id;
	uint32_t start_str;
	uint32_t str_len;
	uint32_t type_len;
};

/*
 * Parses `size` bytes of BTF. `base` is NULL for standalone BTF (an object's .BTF,
 * vmlinux), or the base of a split BTF blob (a module's), whose type ids and string
 * offsets continue after the base's; the base must outlive the handle.
 * On success *out is the handle; close it with tsbpf_btf_close. Fails with
 * -TSBPF_ERR_FORMAT and a reason naming the record and offset of the first problem.
 */
TSBPF_API int32_t tsbpf_btf_open(const void *data, uint32_t size, const struct tsbpf_btf *base, uint32_t flags, struct tsbpf_btf **out);
TSBPF_API void tsbpf_btf_close(struct tsbpf_btf *btf);
/* Fills *out. Returns 0. */
TSBPF_API int32_t tsbpf_btf_info(const struct tsbpf_btf *btf, struct tsbpf_btf_info *out);
/* Decodes type `id` (0 is void; ids of a split blob's base are answered by the base).
 * Returns 0, or -ENOENT for an id outside [0, end_id). */
TSBPF_API int32_t tsbpf_btf_type(const struct tsbpf_btf *btf, uint32_t id, struct tsbpf_btf_type_info *out);
/* Decodes up to `cap` members of type `id` into out. Returns vlen (which may exceed cap). */
TSBPF_API int32_t tsbpf_btf_members(const struct tsbpf_btf *btf, uint32_t id, struct tsbpf_btf_member_info *out, uint32_t cap);
/* The first type id above `after_id` named `name` (and of `kind` unless TSBPF_BTF_KIND_ANY),
 * searching the base first. Returns the id, or -ENOENT. */
TSBPF_API int32_t tsbpf_btf_find(const struct tsbpf_btf *btf, const char *name, uint32_t kind, uint32_t after_id);
/* Size in bytes of type `id`, through typedefs, qualifiers and arrays; -EINVAL for types
 * without a size (void, FUNC, FUNC_PROTO, FWD), -TSBPF_ERR_FORMAT for loops or overflow. */
TSBPF_API int32_t tsbpf_btf_sizeof(const struct tsbpf_btf *btf, uint32_t id);
/* Alignment in bytes of type `id` as a C compiler for BPF lays it out (1 for packed structs). */
TSBPF_API int32_t tsbpf_btf_alignof(const struct tsbpf_btf *btf, uint32_t id);
/* The id reached by skipping typedefs, qualifiers and type tags from `id`. */
TSBPF_API int32_t tsbpf_btf_resolve(const struct tsbpf_btf *btf, uint32_t id);
/* The DECL_TAG types that tag type `id` (component_idx -1: the declaration itself; else the
 * member or parameter of that index), in id order, up to `cap` of them into out.
 * Returns how many there are (which may exceed cap). Scans every type: O(types). */
TSBPF_API int32_t tsbpf_btf_decl_tags(const struct tsbpf_btf *btf, uint32_t id, int32_t component_idx, uint32_t *out, uint32_t cap);
/* The NUL-terminated string at offset `off` of the string section, or NULL. */
TSBPF_API const char *tsbpf_btf_str(const struct tsbpf_btf *btf, uint32_t off);
/* The offset of string `s` in this blob's string section (its first occurrence as a whole
 * string; the base's are searched first), or -ENOENT. Scans the section: O(its size). */
TSBPF_API int32_t tsbpf_btf_str_offset(const struct tsbpf_btf *btf, const char *s);

#endif
