/*
 * Shared helpers of the core's sources: error state, bounds-safe arithmetic
 * and the request builder every bpf command goes through.
 */
#ifndef TSBPF_INTERNAL_H
#define TSBPF_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <linux/bpf.h>
/* Linux's errno values, not the C library's: emscripten's libc numbers them as WASI does
 * (EINVAL is 28 there), while the host hands back the kernel's values. Never include
 * <errno.h> in the core. */
#include <linux/errno.h>

#include "tsbpf/abi.h"
#include "tsbpf/core.h"

#define offsetofend(TYPE, FIELD) (offsetof(TYPE, FIELD) + sizeof(((TYPE *)0)->FIELD))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* No abort(), no assert(): either would pull WASI imports into core.wasm. */
#define CORE_ASSERT(x)                   \
	do {                             \
		if (!(x))                \
			__builtin_trap(); \
	} while (0)

/* The kernel's internal ENOTSUPP leaks out of bpf(2) but is not in the uapi headers. */
#define ENOTSUPP 524
_Static_assert(EINVAL == 22 && ENOSPC == 28 && EAGAIN == 11, "Linux errno values");

/* Records why the current call failed and returns `err` (negative). */
int32_t tsbpf_error(int32_t err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Clears the error state; every exported entry point starts with this. */
void tsbpf_begin(int32_t cmd);

/*
 * Options structs carry their own size. A host built against an older header
 * passes a smaller sz (the missing fields read as zero); a newer host may pass
 * a larger one only if the bytes the core does not know are zero.
 */
bool tsbpf_opts_valid(const void *opts, uint32_t sz, size_t known);
#define OPTS_VALID(opts, type) tsbpf_opts_valid((opts), (opts) ? (opts)->sz : 0, sizeof(type))

/* A bpf() request under construction: the attr plus its pointer fix-ups. */
struct tsbpf_request {
	union bpf_attr attr;
	uint8_t tail[TSBPF_ATTR_MAX - sizeof(union bpf_attr)];
	uint32_t size;
	uint32_t n_fixups;
	struct tsbpf_fixup fixups[TSBPF_MAX_FIXUPS];
	/* The buffers as real pointers: fixups[].ptr is 32 bits, native builds are not. */
	uint8_t *bufs[TSBPF_MAX_FIXUPS];
};

/* Zeroes the first `size` bytes of the attr; size is offsetofend of the last
 * field the command uses, so an older kernel never sees unknown fields. */
void tsbpf_request_init(struct tsbpf_request *req, size_t size);
/* Points the 8-byte attr field at `off` to `len` bytes at `p`. Returns the fix-up's
 * index (for nested fix-ups), or -1 for a NULL pointer, which needs none. */
int32_t tsbpf_request_ptr(struct tsbpf_request *req, size_t off, const void *p, uint32_t len, uint32_t dir);
/* Points the 8-byte field at `off` inside the buffer of fix-up `parent` (an index
 * returned by tsbpf_request_ptr) to `len` bytes at `p`. Returns the new fix-up's index. */
int32_t tsbpf_request_nested_ptr(struct tsbpf_request *req, int32_t parent, size_t off, const void *p, uint32_t len,
				 uint32_t dir);
/* Sends the request; returns the syscall result or -errno. */
int32_t tsbpf_request_send(struct tsbpf_request *req, enum bpf_cmd cmd);

#define REQ_INIT(req, last_field) tsbpf_request_init((req), offsetofend(union bpf_attr, last_field))
/* Offset of a pointer field of the attr; does not compile unless the field is 8 bytes. */
#define ATTR_PTR_OFF(field) \
	(offsetof(union bpf_attr, field) + 0 * sizeof(char[sizeof(((union bpf_attr *)0)->field) == 8 ? 1 : -1]))
/* Points an attr pointer field at a buffer; evaluates to the fix-up's index. */
#define REQ_PTR(req, field, p, len, dir) tsbpf_request_ptr((req), ATTR_PTR_OFF(field), (p), (len), (dir))

/* Grow-only buffer owned by the core, reused across calls. */
struct tsbpf_buf {
	uint8_t *data;
	uint32_t cap;
};
/* Makes buf hold at least `size` bytes (contents not kept). Returns false on OOM. */
bool tsbpf_buf_reserve(struct tsbpf_buf *buf, uint32_t size);
/* Frees buf if it holds more than `keep` bytes: one huge answer should not pin
 * that much Wasm memory for the life of the process. */
void tsbpf_buf_trim(struct tsbpf_buf *buf, uint32_t keep);

/* Saturating helpers for sizes that come from untrusted input. */
static inline bool tsbpf_mul_overflows(uint32_t a, uint32_t b, uint32_t *out)
{
	return __builtin_mul_overflow(a, b, out);
}

#endif
