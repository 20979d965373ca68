/*
 * Compile-time checks of the layouts the host relies on. If a header drifts,
 * the build breaks here instead of a kernel call misbehaving at run time.
 */
#include "internal.h"
#include "tsbpf/btf.h"
#include "tsbpf/elf.h"
#include "tsbpf/insn.h"
#include "tsbpf/probe.h"
#include "tsbpf/prog.h"

#include "../generated/abi_layout.h"

/* The attr fits what the host copies, and its pointer fields are 8 bytes at
 * 8-byte aligned offsets (the host refuses unaligned fix-ups). */
_Static_assert(sizeof(union bpf_attr) <= TSBPF_ATTR_MAX, "bpf_attr larger than TSBPF_ATTR_MAX");
_Static_assert(_Alignof(union bpf_attr) == 8, "bpf_attr alignment");
_Static_assert(offsetof(struct tsbpf_request, tail) == sizeof(union bpf_attr), "attr tail follows the attr");
_Static_assert(offsetof(union bpf_attr, insns) % 8 == 0, "insns alignment");
_Static_assert(offsetof(union bpf_attr, license) % 8 == 0, "license alignment");
_Static_assert(offsetof(union bpf_attr, log_buf) % 8 == 0, "log_buf alignment");
_Static_assert(offsetof(union bpf_attr, test.data_in) % 8 == 0, "test.data_in alignment");
_Static_assert(offsetof(union bpf_attr, test.data_out) % 8 == 0, "test.data_out alignment");
_Static_assert(offsetof(union bpf_attr, test.ctx_in) % 8 == 0, "test.ctx_in alignment");
_Static_assert(offsetof(union bpf_attr, test.ctx_out) % 8 == 0, "test.ctx_out alignment");
_Static_assert(sizeof(struct tsbpf_fixup) == 16, "fixup record is four u32");

/* Offsets the unit tests check against the attr bytes the core emits. */
_Static_assert(offsetof(union bpf_attr, prog_type) == 0, "prog_type");
_Static_assert(offsetof(union bpf_attr, insn_cnt) == 4, "insn_cnt");
_Static_assert(offsetof(union bpf_attr, insns) == 8, "insns");
_Static_assert(offsetof(union bpf_attr, license) == 16, "license");
_Static_assert(offsetof(union bpf_attr, test.prog_fd) == 0, "test.prog_fd");
_Static_assert(offsetof(union bpf_attr, test.retval) == 4, "test.retval");
_Static_assert(offsetof(union bpf_attr, test.data_in) == 16, "test.data_in");

/* Keep the translation unit non-empty in every configuration. */
int tsbpf_layout_checked;
