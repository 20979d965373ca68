/*
 * BPF objects: parsing a clang-compiled ELF64 little-endian relocatable object into
 * the description of a collection: functions (programs and subprograms, each linked
 * with the subprograms it calls into one instruction stream), maps (BTF-defined,
 * legacy, global data sections, struct_ops), variables, externs, license, kernel
 * version, BTF and .BTF.ext records.
 *
 * tsbpf_elf_open is a pure function of the bytes: every offset and size of the file
 * is bounds-checked, and a malformed object fails with -TSBPF_ERR_FORMAT and a reason
 * naming the section, symbol or offset at fault. Nothing here asks the kernel; fds
 * are filled in at load time through the relocation records.
 */
#ifndef TSBPF_ELF_H
#define TSBPF_ELF_H

#include "abi.h"
#include "btf.h"

/* How a section name maps to a program type. */
enum tsbpf_sec_match {
	TSBPF_SEC_UNKNOWN = 0, /* no rule: program type 0 (unspecified) */
	TSBPF_SEC_LIBBPF = 1,  /* libbpf's rule accepts it ("xdp", "kprobe/x", "socket") */
	TSBPF_SEC_PREFIX = 2,  /* only cilium/ebpf's prefix rule accepts it ("socket/2", "sk_lookup/") */
};

/* Properties of the section rule, as libbpf's SEC_* flags. */
enum tsbpf_sec_flags {
	TSBPF_SEC_ATTACH_BTF = 1,   /* attaches to a kernel function or type named by attach_to */
	TSBPF_SEC_SLEEPABLE = 2,    /* loads with BPF_F_SLEEPABLE */
	TSBPF_SEC_XDP_FRAGS = 4,    /* loads with BPF_F_XDP_HAS_FRAGS */
	TSBPF_SEC_USDT = 8,         /* a USDT probe */
	TSBPF_SEC_ATTACHABLE = 16,  /* the expected attach type is needed at load */
	TSBPF_SEC_ATTACH_OPT = 32,  /* the expected attach type may be dropped on old kernels */
	TSBPF_SEC_NO_AUTOLOAD = 64, /* the section name starts with '?' */
};

/* Where a map definition came from. */
enum tsbpf_elf_map_source {
	TSBPF_MAP_SRC_BTF = 1,        /* a variable in .maps, described by BTF */
	TSBPF_MAP_SRC_LEGACY = 2,     /* a struct bpf_map_def in a "maps" section */
	TSBPF_MAP_SRC_DATA = 3,       /* a .data/.rodata/.bss section: a one-element array */
	TSBPF_MAP_SRC_STRUCT_OPS = 4, /* a variable in .struct_ops or .struct_ops.link */
};

/* What a relocation asks of the loader. Targets index the object's arrays. */
enum tsbpf_elf_reloc_kind {
	TSBPF_RELOC_MAP_FD = 1,    /* ld_imm64 (src BPF_PSEUDO_MAP_FD): imm = fd of maps[target] */
	TSBPF_RELOC_MAP_VALUE = 2, /* ld_imm64 (src BPF_PSEUDO_MAP_VALUE): fd of maps[target]; offset is in the second imm */
	TSBPF_RELOC_KCONFIG = 3,   /* ld_imm64 (src BPF_PSEUDO_MAP_VALUE) into the .kconfig map at offset: externs[target] */
	TSBPF_RELOC_KSYM = 4,      /* ld_imm64 of the kernel variable externs[target]: its address or BTF id */
	TSBPF_RELOC_KFUNC = 5,     /* call (src BPF_PSEUDO_KFUNC_CALL) or ld_imm64 of kernel function externs[target] */
	TSBPF_RELOC_EXTERN = 6,    /* reference to an undefined symbol no rule resolves: externs[target] */
	TSBPF_RELOC_CALL = 7,      /* bpf-to-bpf call to funcs[target], already resolved by linking */
	TSBPF_RELOC_FUNC_ADDR = 8, /* ld_imm64 (src BPF_PSEUDO_FUNC) of funcs[target], already resolved */
};

enum tsbpf_elf_extern_kind {
	TSBPF_EXTERN_UNKNOWN = 0, /* an undefined symbol: inline asm, a forward declaration */
	TSBPF_EXTERN_KCONFIG = 1, /* __kconfig: a variable of the .kconfig section */
	TSBPF_EXTERN_KSYM = 2,    /* __ksym variable: a kernel symbol */
	TSBPF_EXTERN_KFUNC = 3,   /* __ksym function: a kernel function (kfunc) */
};

enum tsbpf_elf_value_kind {
	TSBPF_VALUE_PROG = 1, /* funcs[target]'s fd goes in the slot */
	TSBPF_VALUE_MAP = 2,  /* maps[target]'s fd goes in the slot */
};

/*
 * A function: a program (in an executable section other than .text) or a subprogram
 * (in .text). `insns` is its instruction stream linked with every function it calls,
 * appended in order (callees[callee_first ..]), calls already pointing at them; the
 * relocations, func_info, line_info and CO-RE records are in that stream's coordinates:
 * func_info and line_info as the kernel's struct bpf_func_info / bpf_line_info
 * (insn_off in instructions), CO-RE records as struct bpf_core_relo (insn_off in bytes).
 * The first own_* records belong to the function's own instructions.
 */
struct tsbpf_elf_func {
	const char *name;
	const char *section;
	uint32_t section_index;
	uint32_t binding;
	uint32_t is_program;
	uint32_t prog_type;
	uint32_t attach_type;
	uint32_t prog_flags;
	uint32_t sec_flags;
	uint32_t match;
	const char *attach_to;
	uint32_t offset;
	uint32_t insn_cnt;
	const uint8_t *insns;
	uint32_t linked_cnt;
	uint32_t reloc_first;
	uint32_t reloc_cnt;
	uint32_t callee_first;
	uint32_t callee_cnt;
	const uint8_t *func_info;
	uint32_t func_info_cnt;
	const uint8_t *line_info;
	uint32_t line_info_cnt;
	const uint8_t *core_relos;
	uint32_t core_relo_cnt;
	uint32_t own_func_info;
	uint32_t own_line_info;
	uint32_t own_core_relos;
	uint32_t btf_func;
};

/* A relocation of a function's linked stream: instruction slot `insn` needs `kind`. */
struct tsbpf_elf_reloc {
	uint32_t insn;
	uint32_t kind;
	uint32_t target;
	uint32_t offset;
	const char *symbol;
};

/*
 * A map. Sizes follow cilium/ebpf's rules: a BTF key or value type sets the size, but
 * ring buffers, perf event arrays and arenas keep value_size 0 (value_type stays).
 * Inner map templates of map-in-map definitions are entries with is_inner set.
 * `data` (data_size bytes, NULL for .bss: zeros) is the initial value of data and
 * struct_ops maps; `extra` is a legacy definition's tail after the 20 standard bytes.
 */
struct tsbpf_elf_map {
	const char *name;
	uint32_t source;
	uint32_t section_index;
	uint32_t type;
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t flags;
	uint32_t numa_node;
	uint32_t pinning;
	uint32_t pad;
	uint64_t map_extra;
	uint32_t key_type;
	uint32_t value_type;
	uint32_t btf_var;
	int32_t inner;
	uint32_t is_inner;
	const uint8_t *data;
	uint32_t data_size;
	const uint8_t *extra;
	uint32_t extra_size;
	uint32_t values_first;
	uint32_t values_cnt;
	uint32_t values_decl;
	uint32_t def_offset;
	uint32_t def_size;
	uint32_t references;
	uint32_t pad2;
};

/* An initial slot of a prog array, map-in-map or struct_ops map: slot is the array
 * index, or for struct_ops the byte offset of `member` in the struct. */
struct tsbpf_elf_map_value {
	uint32_t map;
	uint32_t slot;
	uint32_t kind;
	uint32_t target;
	const char *member;
};

/* A global variable of a data section (maps[map]), at `offset`, `size` bytes. */
struct tsbpf_elf_var {
	const char *name;
	uint32_t map;
	uint32_t offset;
	uint32_t size;
	uint32_t btf_var;
	uint32_t binding;
	uint32_t pad;
};

/* An undefined symbol the object refers to. kconfig: offset and size in .kconfig. */
struct tsbpf_elf_extern {
	const char *name;
	uint32_t kind;
	uint32_t binding;
	uint32_t btf_id;
	uint32_t offset;
	uint32_t size;
	uint32_t references;
};

/* The parsed object. Strings and arrays live until tsbpf_elf_close; strings may point
 * into the caller's bytes, which must stay alive as long. */
struct tsbpf_elf_object {
	const char *license;
	uint32_t kernel_version;
	uint32_t has_version;
	struct tsbpf_btf *btf;
	uint32_t btf_ext_funcs;
	uint32_t btf_ext_lines;
	uint32_t btf_ext_core_relos;
	uint32_t kconfig_size;
	const struct tsbpf_elf_func *funcs;
	uint32_t n_funcs;
	const struct tsbpf_elf_map *maps;
	uint32_t n_maps;
	const struct tsbpf_elf_map_value *values;
	uint32_t n_values;
	const struct tsbpf_elf_var *vars;
	uint32_t n_vars;
	const struct tsbpf_elf_extern *externs;
	uint32_t n_externs;
	const struct tsbpf_elf_reloc *relocs;
	uint32_t n_relocs;
	const uint32_t *callees;
	uint32_t n_callees;
	uint32_t n_sections;
	uint32_t n_symbols;
};

/* What a section name says about its programs (tsbpf_elf_section_type). */
struct tsbpf_elf_sec_type {
	uint32_t prog_type;
	uint32_t attach_type;
	uint32_t prog_flags;
	uint32_t sec_flags;
	uint32_t match;
	uint32_t attach_to_off;
};

/* Parses `size` bytes of ELF. On success *out is the object; free it with tsbpf_elf_close. */
TSBPF_API int32_t tsbpf_elf_open(const void *data, uint32_t size, struct tsbpf_elf_object **out);
TSBPF_API void tsbpf_elf_close(struct tsbpf_elf_object *obj);
/* Hands the object's BTF (NULL without one) to the caller, who closes it with
 * tsbpf_btf_close; the object's strings that point into it stay valid until then. */
TSBPF_API struct tsbpf_btf *tsbpf_elf_take_btf(struct tsbpf_elf_object *obj);
/* Program type, expected attach type, load flags and tsbpf_sec_flags of a section name,
 * and where its attach target starts (attach_to_off into name, 0 for none), by libbpf's
 * table with cilium/ebpf's prefix rule as a fallback. Returns out->match. */
TSBPF_API int32_t tsbpf_elf_section_type(const char *name, struct tsbpf_elf_sec_type *out);

#endif
