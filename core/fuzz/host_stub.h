/*
 * A scripted kernel for the native fuzz harnesses: each host_bpf() call consumes bytes of
 * the fuzz input to decide its answer (result, bytes written to output buffers, attr
 * fields overwritten), the way the real kernel could answer. Output buffers are written
 * through the attr's own pointer fields for their full declared length, so AddressSanitizer
 * catches any fix-up whose length exceeds its buffer.
 */
#ifndef TSBPF_FUZZ_HOST_STUB_H
#define TSBPF_FUZZ_HOST_STUB_H

#include <stddef.h>
#include <stdint.h>

/* Feeds the bytes the next host_bpf() calls consume. */
void stub_reset(const uint8_t *script, size_t len);
/* How many requests the core sent since the last reset. */
unsigned stub_calls(void);
/* Takes n bytes of the remaining fuzz input (zeros once it runs out). */
void stub_take(void *dst, size_t n);

#endif
