/*
 * Loading a parsed BPF object (a collection) into the kernel: the decisions that need no
 * kernel, made here so that the host only sequences the syscalls.
 *
 *  - tsbpf_collection_btf: the object's BTF as this kernel accepts it (extern VARs and
 *    FUNCs given a linkage the kernel allows, .ksyms laid out as libbpf does, DATASEC
 *    variables in offset order, unnamed parameters named), as a new blob.
 *  - tsbpf_collection_map_plan: how one map of the object is created (sizes the kernel
 *    fixes for some types, BPF_F_MMAPABLE for global data, which BTF ids it may take,
 *    iproute2's pinning field, whether to freeze it), refusing what tsbpf cannot honour.
 *  - tsbpf_collection_relocate: writes map fds (and value offsets) into the 64-bit loads
 *    of a program's linked instructions, checking each instruction is what the
 *    relocation says it is.
 *  - tsbpf_collection_name: an ELF name turned into a kernel object name.
 *
 * Pure functions: nothing here asks the kernel.
 */
#ifndef TSBPF_COLLECTION_H
#define TSBPF_COLLECTION_H

#include "abi.h"

/* What tsbpf_collection_btf produced and changed (the placeholder VAR it may add, and the
 * parameters it names, are called "tsbpf_placeholder"). `data` is tsbpf_malloc'd: free it with tsbpf_free. */
struct tsbpf_coll_btf {
	uint32_t sz;
	uint8_t *data;
	uint32_t size;
	uint32_t extern_vars;
	uint32_t extern_funcs;
	uint32_t ksym_funcs;
	uint32_t ksym_vars;
	uint32_t named_params;
	uint32_t sorted_datasecs;
	uint32_t added_types;
};

/*
 * Rewrites `size` bytes of an object's BTF (with its DATASEC sizes and offsets already
 * filled in, as tsbpf_elf_open leaves them) into a blob for BPF_BTF_LOAD. Requires
 * standalone BTF. Fails with -TSBPF_ERR_FORMAT when the input is not valid BTF.
 */
TSBPF_API int32_t tsbpf_collection_btf(const void *data, uint32_t size, struct tsbpf_coll_btf *out);

/* Pinning of a planned map (LIBBPF_PIN_* values). */
enum tsbpf_coll_pin {
	TSBPF_COLL_PIN_NONE = 0,
	TSBPF_COLL_PIN_BY_NAME = 1,
};

/*
 * A map of the object (inputs, from its CollectionMapSpec) and how to create it (outputs).
 * `source` is a TSBPF_MAP_SRC_* value; key_type/value_type are ids in the object's BTF;
 * have_btf says the object's BTF is loaded in the kernel; mmapable that the kernel has
 * BPF_F_MMAPABLE (Linux 5.5); n_cpus the possible CPUs; is_inner that this is the template
 * of a map-in-map's inner maps.
 */
struct tsbpf_coll_map {
	uint32_t sz;
	const char *name;
	uint32_t source;
	uint32_t type;
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t flags;
	uint32_t pinning;
	uint32_t key_type;
	uint32_t value_type;
	uint32_t have_btf;
	uint32_t mmapable;
	uint32_t n_cpus;
	uint32_t is_inner;
	const uint8_t *extra;
	uint32_t extra_size;
	/* outputs */
	uint32_t out_key_size;
	uint32_t out_value_size;
	uint32_t out_max_entries;
	uint32_t out_flags;
	uint32_t out_key_type;
	uint32_t out_value_type;
	uint32_t out_pinning;
	uint32_t freeze;
	uint8_t out_name[16];
};

/* Plans one map. Returns 0, or a negative error naming the map and what cannot be done. */
TSBPF_API int32_t tsbpf_collection_map_plan(struct tsbpf_coll_map *map);

/*
 * One relocation of a program's linked instructions, as the loader resolved it: `kind` is a
 * TSBPF_RELOC_* value; for TSBPF_RELOC_MAP_FD, MAP_VALUE and KCONFIG `fd` is the map's fd,
 * and for the latter two `offset` bytes into its value of `value_size` bytes.
 */
struct tsbpf_coll_reloc {
	uint32_t insn;
	uint32_t kind;
	int32_t fd;
	uint32_t offset;
	uint32_t value_size;
	uint32_t pad;
};

/*
 * Applies relocations to `insn_cnt` instruction slots at `insns`, in place. Calls and
 * function addresses (already linked) are only checked. Extern kinds (ksym, kfunc, an
 * unresolved symbol) are refused with -TSBPF_ERR_NOTSUP: the CO-RE and extern resolver
 * patches those before. Fails with -TSBPF_ERR_RELOC naming the relocation's index and
 * instruction when an instruction does not match its relocation.
 */
TSBPF_API int32_t tsbpf_collection_relocate(uint8_t *insns, uint32_t insn_cnt, const struct tsbpf_coll_reloc *relocs, uint32_t n);

/*
 * The kernel object name (at most 15 characters of [A-Za-z0-9_.]) for an ELF name: other
 * characters become '_', longer names are cut. Writes 16 bytes (NUL-terminated) to out.
 * Returns the length.
 */
TSBPF_API int32_t tsbpf_collection_name(const char *name, uint8_t *out);

#endif
