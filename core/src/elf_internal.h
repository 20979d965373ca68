/*
 * The ELF reader's working state, shared by elf.c (file structure), elf_maps.c (maps,
 * data sections, variables, externs, struct_ops) and elf_link.c (functions,
 * relocations, .BTF.ext records, linking).
 */
#ifndef TSBPF_ELF_INTERNAL_H
#define TSBPF_ELF_INTERNAL_H

#include "btf_ext.h"
#include "btf_internal.h"
#include "internal.h"
#include "tsbpf/elf.h"

/* ELF constants (the core does not rely on a C library's <elf.h>). */
#define EM_NONE 0
#define EM_BPF 247
#define ET_REL 1
#define SHT_NULL 0
#define SHT_PROGBITS 1
#define SHT_SYMTAB 2
#define SHT_STRTAB 3
#define SHT_RELA 4
#define SHT_NOBITS 8
#define SHT_REL 9
#define SHF_EXECINSTR 0x4
#define SHF_COMPRESSED 0x800
#define SHN_UNDEF 0
#define SHN_LORESERVE 0xff00
#define SHN_XINDEX 0xffff
#define STB_LOCAL 0
#define STB_GLOBAL 1
#define STB_WEAK 2
#define STT_NOTYPE 0
#define STT_OBJECT 1
#define STT_FUNC 2
#define STT_SECTION 3
#define STV_INTERNAL 1
#define STV_HIDDEN 2

#define EHDR_SIZE 64
#define SHDR_SIZE 64
#define SYM_SIZE 24
#define REL_SIZE 16
#define INSN_SIZE 8

#define OP_LD_IMM64 (BPF_LD | BPF_IMM | BPF_DW)
#define OP_CALL (BPF_JMP | BPF_CALL)

/* Limits on what the parser builds from untrusted input. */
#define ELF_MAX_SECTIONS (1u << 16)
#define ELF_MAX_DATA_SECTION (1u << 28)  /* a global data map's value */
#define ELF_MAX_LINKED_SLOTS (1u << 22)  /* all linked instruction streams together */
#define ELF_MAX_PROG_SLOTS (1u << 20)    /* one linked program: the verifier's own cap */

enum sec_kind {
	SEC_OTHER = 0,
	SEC_PROG,       /* executable code; .text holds subprograms */
	SEC_MAPS,       /* legacy map definitions ("maps", "maps/...") */
	SEC_BTF_MAPS,   /* .maps */
	SEC_DATA,       /* .data*, .rodata*, .bss* */
	SEC_STRUCT_OPS, /* .struct_ops, .struct_ops.link */
	SEC_LICENSE,
	SEC_VERSION,
	SEC_BTF,
	SEC_BTF_EXT,
};

struct elf_sec {
	const char *name;
	uint32_t type;
	uint64_t flags;
	uint64_t size;
	uint64_t addralign;
	uint64_t entsize;
	uint32_t link;
	uint32_t info;
	const uint8_t *data; /* file bytes; NULL for NOBITS and empty sections */
	uint32_t kind;
	int32_t rel;        /* the SHT_REL section relocating this one, or -1 */
	uint32_t sym_first; /* its symbols in obj->secsyms, sorted by value */
	uint32_t sym_cnt;
	uint32_t func_first; /* its functions in obj->funcs, by offset */
	uint32_t func_cnt;
	uint32_t refs; /* relocations of code, .maps or struct_ops sections that point here */
	int32_t map;   /* a data section's map, or -1 */
	struct elf_rel *rels; /* the relocations of this section, sorted by offset */
	uint32_t nrels;
};

struct elf_sym {
	const char *name;
	uint64_t value;
	uint64_t size;
	uint32_t shndx;
	uint8_t bind;
	uint8_t type;
	uint8_t vis;
	int32_t ext; /* externs[] index of an undefined symbol, or -1 */
	int32_t map; /* maps[] index of the map this symbol defines, or -1 */
};

struct elf_rel {
	uint32_t off; /* in the relocated section */
	uint32_t sym;
};

/* A relocation of one function's own instructions (slot relative to its start). */
struct local_reloc {
	uint32_t slot;
	uint32_t kind;
	uint32_t target;
	uint32_t offset;
	const char *symbol;
};

struct func_priv {
	uint32_t sym;
	uint8_t *insns; /* own instructions with pseudo sources set by relocation kind */
	uint32_t lr_first, lr_cnt;
	uint32_t rec_first[3], rec_cnt[3]; /* own .BTF.ext records, in obj->recs[k] */
};

/* An own .BTF.ext record: slot, then the record's other three fields. */
struct ext_rec {
	uint32_t v[4];
};

/* A growable array. */
struct vec {
	void *p;
	uint32_t n, cap;
};

struct obj {
	struct tsbpf_elf_object pub;
	const uint8_t *file;
	uint32_t size;
	struct elf_sec *secs;
	uint32_t nsecs;
	struct elf_sym *syms;
	uint32_t nsyms;
	uint32_t *secsyms;
	uint32_t *byname; /* the same symbols sorted by (section, name) */
	struct tsbpf_btf *btf; /* owned until taken */
	struct btf_ext ext;
	int32_t maps_sec; /* .maps, or -1 */
	struct vec funcs;  /* struct tsbpf_elf_func */
	struct vec fpriv;  /* struct func_priv */
	struct vec maps;   /* struct tsbpf_elf_map */
	struct vec values; /* struct tsbpf_elf_map_value */
	struct vec vars;   /* struct tsbpf_elf_var */
	struct vec externs;
	struct vec lrel;    /* struct local_reloc */
	struct vec relocs;  /* struct tsbpf_elf_reloc */
	struct vec callees; /* uint32_t */
	struct vec recs[3]; /* struct ext_rec: own .BTF.ext records of each function */
	struct vec strings; /* char *: strings the object built */
	struct vec values_decls; /* BTF maps with a 'values' member, for the values pass */
	uint8_t *linked;
	uint8_t *own_insns;
	uint8_t *ext_out[3]; /* linked .BTF.ext records of every function */
};

/* Reserves one zeroed element; NULL when memory or the element cap runs out. */
void *vec_push(struct vec *v, size_t elem);
void vec_free(struct vec *v);
#define VEC_AT(v, type, i) (&((type *)(v)->p)[i])

/* A string the object owns (freed on close); NULL on OOM. */
const char *obj_strdup(struct obj *o, const char *a, const char *b);

/* Variables of a DATASEC by name (BTF strings), for lookups in O(log n). */
struct ds_entry {
	const char *name;
	const uint8_t *secinfo; /* struct btf_var_secinfo: type, offset, size */
};
struct ds_index {
	struct ds_entry *e;
	uint32_t n;
};
/* Builds the index of DATASEC `ds` (empty for 0). Returns 0 or -TSBPF_ERR_NOMEM. */
int32_t ds_index_build(const struct obj *o, uint32_t ds, struct ds_index *out);
/* The secinfo of the variable named `name`, or NULL. */
const uint8_t *ds_index_find(const struct ds_index *x, const char *name);
void ds_index_free(struct ds_index *x);
/* Fails naming the first name of `names` (n entries, may be reordered) that appears twice. */
int32_t check_unique(const char **names, uint32_t n, const char *what);

/* Symbols of a section and lookups. */
struct elf_sym *sec_sym_at(struct obj *o, uint32_t sec, uint64_t value);
struct elf_sym *sec_sym_named(struct obj *o, uint32_t sec, const char *name);
/* Index of the section named `name`, or -1. */
int32_t sec_by_name(const struct obj *o, const char *name);
/* Index of the relocation at `off` in section `sec`, or -1. */
int32_t sec_rel_at(const struct obj *o, uint32_t sec, uint32_t off);
/* The DATASEC named `name` (0 without BTF or without it). */
uint32_t btf_datasec(const struct obj *o, const char *name);

int32_t elf_section_type(const char *name, struct tsbpf_elf_sec_type *out);

/* elf_maps.c */
int32_t elf_collect_externs(struct obj *o);
int32_t elf_collect_maps(struct obj *o);
int32_t elf_collect_map_values(struct obj *o);
int32_t elf_collect_vars(struct obj *o);

/* elf_link.c */
int32_t elf_collect_funcs(struct obj *o);
int32_t elf_relocate_funcs(struct obj *o);
int32_t elf_collect_ext_records(struct obj *o);
int32_t elf_link(struct obj *o);
/* The function starting at byte `off` of section `sec`, or -1. */
int32_t func_at(const struct obj *o, uint32_t sec, uint64_t off);

#endif
