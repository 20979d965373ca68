/*
 * CO-RE ("compile once, run everywhere"): relocation of a program compiled against one set
 * of types (its object's BTF) to the types of the kernel it runs on (vmlinux BTF, module
 * BTF, or any BTF the caller supplies), and resolution of the externs the kernel defines
 * (__ksym variables, kfuncs, .kconfig values).
 *
 * Pure functions over BTF handles and instruction bytes: nothing here asks the kernel.
 * The rules are libbpf's (tools/lib/bpf/relo_core.c), re-implemented:
 *  - candidates are the target types of a compatible kind whose "essential" name (the name
 *    without a ___flavour suffix) equals the local type's; vmlinux (targets[0]) first, and
 *    module BTFs (targets[1..], split on targets[0]) only when vmlinux has none;
 *  - every candidate that matches must give the same answer, else the relocation is
 *    ambiguous and fails naming both candidates;
 *  - a relocation no candidate satisfies poisons its instruction (a call of the invalid
 *    helper 0xbad2310), so the verifier rejects the program only if that code is reachable.
 */
#ifndef TSBPF_CORE_RELO_H
#define TSBPF_CORE_RELO_H

#include "abi.h"
#include "btf.h"

/* The helper id a poisoned instruction calls: "bad relo" (libbpf's and cilium's value). */
#define TSBPF_CORE_POISON_HELPER 195896080
/* A call of a missing weak kfunc becomes a call of helper TSBPF_KFUNC_POISON_BASE + extern index. */
#define TSBPF_KFUNC_POISON_BASE 2002000000
/* tsbpf_core_result.target when no target type was used. */
#define TSBPF_CORE_NO_TARGET 0xffffffff
/* Most accessors in one access string ("0:1:2..."), as libbpf. */
#define TSBPF_CORE_SPEC_MAX 64

/* What happened to one relocation. */
enum tsbpf_core_status {
	TSBPF_CORE_PATCHED = 1,  /* the instruction now holds the target's value */
	TSBPF_CORE_POISONED = 2, /* nothing satisfies it: the instruction calls helper 0xbad2310 */
};

/* Flags of tsbpf_core_relocate. */
enum tsbpf_core_flags {
	/* Also write the program's own BTF: the object's types the program needs (its FUNCs
	 * and the local types of TYPE_ID_LOCAL relocations), renumbered compactly, with
	 * func_info renumbered and line_info marking poisoned instructions. */
	TSBPF_CORE_PROG_BTF = 1,
};

/*
 * The outcome of one relocation: the instruction (`slots` 2 for a 64-bit load), the local
 * root type, the candidate used (`target` index and `target_type`; TSBPF_CORE_NO_TARGET
 * when none matched), how many candidates the name found, and the values before and
 * after. `desc` describes the access: "[8] struct s.a (0:1 @ offset 4)"; it lives until
 * the next call.
 */
struct tsbpf_core_result {
	uint32_t insn;
	uint32_t kind;
	uint32_t status;
	uint32_t local_type;
	uint32_t target;
	uint32_t target_type;
	uint32_t candidates;
	uint32_t slots;
	uint64_t orig_val;
	uint64_t new_val;
	const char *desc;
	uint32_t pad2;
};

/*
 * Options of tsbpf_core_relocate. Inputs first, then what the core fills.
 *  - local: the object's BTF (not split);
 *  - targets, n_targets: the target BTFs; targets[0] is vmlinux (or its stand-in) and
 *    may be the only one; n_targets 0 means "no kernel types": every relocation that
 *    needs a target is unsatisfied;
 *  - insns, insn_cnt: the program's linked instruction stream, patched in place;
 *  - relos, relo_cnt: its CO-RE records (struct bpf_core_relo, insn_off in bytes);
 *  - func_info, line_info: its .BTF.ext records (struct bpf_func_info, bpf_line_info),
 *    needed with TSBPF_CORE_PROG_BTF;
 *  - results: relo_cnt entries the core fills.
 * With TSBPF_CORE_PROG_BTF, btf/btf_size, func_info_out and line_info_out describe the
 * program's BTF and records; they stay valid until the next call.
 */
struct tsbpf_core_relo_opts {
	uint32_t sz;
	uint32_t flags;
	const struct tsbpf_btf *local;
	const struct tsbpf_btf *const *targets;
	uint32_t n_targets;
	uint8_t *insns;
	uint32_t insn_cnt;
	const void *relos;
	uint32_t relo_cnt;
	const void *func_info;
	uint32_t func_info_cnt;
	const void *line_info;
	uint32_t line_info_cnt;
	struct tsbpf_core_result *results;
	/* outputs */
	uint32_t poisoned;
	const void *btf;
	uint32_t btf_size;
	const void *func_info_out;
	uint32_t func_info_out_cnt;
	const void *line_info_out;
	uint32_t line_info_out_cnt;
};

/*
 * Relocates one program. Returns how many relocations were poisoned (>= 0), or
 * -TSBPF_ERR_RELOC naming the relocation (index, instruction, kind, type) when one cannot
 * be applied at all: an ambiguous match, an access string that does not fit the local
 * type, an instruction that does not hold what the compiler should have put there, or a
 * value that does not fit the instruction. -EINVAL for bad arguments. On failure the
 * instructions may be partly patched.
 */
TSBPF_API int32_t tsbpf_core_relocate(struct tsbpf_core_relo_opts *opts);

/*
 * Finds the kernel's definition of an extern declared in `local` (a VAR of .ksyms or a
 * FUNC, type `local_id`): the VAR or FUNC of the same essential name in targets[0], else
 * in a module (targets[1..]), whose type is compatible with the local declaration.
 * Returns its type id and sets *target to the index of the BTF holding it; -ENOENT when
 * there is none; -TSBPF_ERR_RELOC when one exists with an incompatible type.
 */
TSBPF_API int32_t tsbpf_core_find_ksym(const struct tsbpf_btf *local, uint32_t local_id, const struct tsbpf_btf *const *targets, uint32_t n_targets, uint32_t *target);

/* How tsbpf_extern_patch rewrites an instruction. */
enum tsbpf_extern_patch_kind {
	TSBPF_PATCH_BTF_ID = 1,       /* ld_imm64: src BPF_PSEUDO_BTF_ID, imm = value (type id), imm2 = aux (BTF object fd, 0 for vmlinux) */
	TSBPF_PATCH_ADDR = 2,         /* ld_imm64: src 0, imm64 = value (an address, or 0 for a missing weak extern) */
	TSBPF_PATCH_KFUNC = 3,        /* kfunc call: src BPF_PSEUDO_KFUNC_CALL, imm = value (type id), off = aux (fd_array index, 0 for vmlinux); ld_imm64 of a kfunc: as TSBPF_PATCH_BTF_ID with imm2 0 */
	TSBPF_PATCH_KFUNC_POISON = 4, /* missing weak kfunc: a call becomes a call of helper TSBPF_KFUNC_POISON_BASE + aux; an ld_imm64 loads 0 */
};

/* Rewrites instruction slot `slot` of `insns` for an extern. Returns 1 when it patched a call,
 * 2 for a 64-bit load; -TSBPF_ERR_RELOC when the instruction is not of a form the patch
 * applies to. */
TSBPF_API int32_t tsbpf_extern_patch(uint8_t *insns, uint32_t insn_cnt, uint32_t slot, uint32_t how, uint64_t value, int32_t aux);

/*
 * Encodes a .kconfig value for the extern VAR `var_id` of `btf` into out (`size` bytes,
 * its slot in the .kconfig map) by libbpf's rules: "y", "n" and "m" for bool (y/n only),
 * libbpf_tristate and char types; a quoted string for char arrays (cut to the array, as
 * cilium/ebpf does: no terminating NUL when it does not fit); a number (decimal, 0x hex,
 * 0 octal, with a sign for signed types) for integers, enums and chars, which must fit.
 * Fails with -EINVAL and a reason naming the extern.
 */
TSBPF_API int32_t tsbpf_kconfig_encode(const struct tsbpf_btf *btf, uint32_t var_id, const char *value, uint8_t *out, uint32_t size);

#endif
