/*
 * The contract between core.wasm and its host.
 *
 * Everything the host may call is declared with TSBPF_API in the headers of
 * this directory; scripts/gen-abi.mjs reads them and writes the emcc export
 * list and the TypeScript bindings, so a declaration here is the single place
 * a function or a struct layout is defined.
 *
 * Rules the generator relies on (it refuses anything else):
 *  - exported functions are declared on one line: `TSBPF_API <type> <name>(<params>);`
 *  - parameter and return types are int32_t, uint32_t, int64_t, uint64_t, void
 *    or a pointer;
 *  - structs shared with the host are declared `struct tsbpf_<name> { ... };`
 *    with one field per line of type uint8_t, uint16_t, int16_t, uint32_t,
 *    int32_t, uint64_t, int64_t, a pointer (4 bytes in Wasm), or a fixed
 *    array of one of those. Layouts are checked by generated _Static_asserts
 *    in Wasm builds; native builds (fuzzing) have 8-byte pointers and are
 *    never seen by the host.
 */
#ifndef TSBPF_ABI_H
#define TSBPF_ABI_H

#include <stddef.h>
#include <stdint.h>

/* Bumped whenever a declaration in core/include changes incompatibly. The
 * bridge refuses a core.wasm whose tsbpf_abi_version() differs. */
#define TSBPF_ABI_VERSION 1

#if defined(__wasm__)
#define TSBPF_API __attribute__((visibility("default"), used))
#define TSBPF_IMPORT(name) __attribute__((import_module("env"), import_name(name)))
#else
#define TSBPF_API __attribute__((visibility("default")))
#define TSBPF_IMPORT(name)
#endif

/*
 * Core-specific failures use their own negative range, below every errno
 * (errno values stay under 4096), like libbpf's LIBBPF_ERRNO__ codes.
 */
enum tsbpf_error {
	TSBPF_ERR_BASE = 4000,
	TSBPF_ERR_FORMAT = 4001,   /* malformed input bytes (ELF, BTF, instructions) */
	TSBPF_ERR_RELOC = 4002,    /* a relocation cannot be applied */
	TSBPF_ERR_LABEL = 4003,    /* a jump or call names a label that does not exist */
	TSBPF_ERR_NOMEM = 4004,    /* the core ran out of Wasm memory */
	TSBPF_ERR_INTERNAL = 4005, /* a broken invariant inside the core */
	TSBPF_ERR_KERNEL = 4006,   /* the kernel answered something impossible */
	TSBPF_ERR_NOTSUP = 4007,   /* the kernel lacks the feature (see the probe) */
	TSBPF_ERR_MAX = 4100,
};

/*
 * A pointer fix-up: "at byte `attr_off` of the attr, put the native address of
 * `len` bytes that live at Wasm address `ptr`". The host copies the bytes into
 * native memory first when TSBPF_FIXUP_IN is set and back into Wasm memory
 * after the syscall when TSBPF_FIXUP_OUT is set. A NULL pointer needs no fix-up.
 *
 * A nested fix-up (TSBPF_FIXUP_NESTED) patches a pointer inside the buffer of an
 * earlier fix-up instead of the attr: bpf_prog_info's map_ids, for instance.
 * `attr_off` is then the offset inside that buffer, and the parent's index sits
 * in bits 8..11 of `dir`. Pointer fields are 8 bytes at 8-byte aligned offsets.
 */
enum tsbpf_fixup_dir {
	TSBPF_FIXUP_IN = 1,
	TSBPF_FIXUP_OUT = 2,
	TSBPF_FIXUP_INOUT = 3,
	TSBPF_FIXUP_NESTED = 4,
	TSBPF_FIXUP_PARENT_SHIFT = 8,
};

struct tsbpf_fixup {
	uint32_t attr_off;
	uint32_t ptr;
	uint32_t len;
	uint32_t dir;
};

/* Limits the host enforces on every request. */
#define TSBPF_MAX_FIXUPS 8
#define TSBPF_ATTR_MAX 256
#define TSBPF_FIXUP_MAX_LEN (1u << 30)

/*
 * The one import: performs bpf(cmd, attr, attr_size) after applying the
 * fix-ups. Returns the syscall's result (an fd, 0, a count) or -errno.
 * The attr is copied back into Wasm memory afterwards (the kernel writes
 * results into it), with the pointer fields restored to their Wasm values.
 */
TSBPF_IMPORT("host_bpf")
extern int32_t host_bpf(uint32_t cmd, void *attr, uint32_t attr_size,
			const struct tsbpf_fixup *fixups, uint32_t n_fixups);

#endif
