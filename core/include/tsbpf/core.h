/*
 * The core's context: version handshake, Wasm heap for the host, and the
 * error state every exported function leaves behind when it fails.
 *
 * Convention: every exported function returns >= 0 on success, -errno for
 * argument and kernel errors, and -TSBPF_ERR_* for the core's own failures.
 * On failure tsbpf_last_error_reason() explains it in words, and
 * tsbpf_last_error_command() names the bpf command (or -1 for none).
 */
#ifndef TSBPF_CORE_H
#define TSBPF_CORE_H

#include "abi.h"

TSBPF_API uint32_t tsbpf_abi_version(void);

/* Wasm heap for buffers the host fills or reads. */
TSBPF_API void *tsbpf_malloc(uint32_t size);
TSBPF_API void tsbpf_free(void *ptr);

/* NUL-terminated reason of the last failure ("" when none). */
TSBPF_API const char *tsbpf_last_error_reason(void);
/* The bpf command the last failure belongs to, or -1. */
TSBPF_API int32_t tsbpf_last_error_command(void);
/* The negative errno of the last failed bpf() request of the current call, or 0 when
 * the kernel was not asked or did not fail: tells the core's own refusals apart. */
TSBPF_API int32_t tsbpf_last_kernel_error(void);
/* How many bpf() requests the core has sent since it started (for tests). */
TSBPF_API uint32_t tsbpf_request_count(void);

#endif
