/*
 * A scripted kernel for the native fuzz harnesses: each host_bpf() call consumes bytes of
 * the fuzz input to decide its answer (result, bytes written to output buffers, attr
 * fields overwritten), the way the real kernel could answer. Output buffers are written
 * through the attr's own pointer fields for their full declared length, so AddressSanitizer
 * catches any fix-up whose length exceeds its buffer (beyond 1 MiB only the first 64 KiB and
 * the last bytes are written: enough for ASan, and an input stays fast).
 *
 * Before answering, the stub checks the request the way the bridge and the kernel would
 * see it, and traps (with a line on stderr) on anything a correct core never sends:
 *  - the fix-up table: known direction bits, 8-byte fields inside the attr or the parent's
 *    buffer, parents before children, one fix-up per field, no overlap with a written buffer,
 *    the pointer in the field equal to the fix-up's;
 *  - the kernel's view of the commands it knows (<linux/bpf.h>): every non-NULL pointer field
 *    has a fix-up, no fix-up sits on a field that is not a pointer, and the length the kernel
 *    derives from the attr (insn_cnt * 8, log_size, info_len, nr_map_ids * 4, prog_cnt * 4,
 *    data_size_in, a batch's count * key_size, a string's NUL, ...) fits in the fix-up.
 * Element and batch requests are checked against a map's sizes only for the maps a harness
 * declared with stub_map().
 */
#ifndef TSBPF_FUZZ_HOST_STUB_H
#define TSBPF_FUZZ_HOST_STUB_H

#include <stddef.h>
#include <stdint.h>

/* Feeds the bytes the next host_bpf() calls consume; forgets the declared maps. */
void stub_reset(const uint8_t *script, size_t len);
/* How many requests the core sent since the last reset. */
unsigned stub_calls(void);
/* Takes n bytes of the remaining fuzz input (zeros once it runs out). */
void stub_take(void *dst, size_t n);
/* The next 1 or 4 bytes of the input as a number (zeros once it runs out). */
uint8_t stub_take8(void);
uint32_t stub_take32(void);
/* How many bytes of the input are left. */
size_t stub_left(void);
/* How many new fds the stub handed out since the last reset: results >= 0 of the commands
 * that return an fd (MAP_CREATE, PROG_LOAD, BTF_LOAD, OBJ_GET, *_GET_FD_BY_ID, ...). */
unsigned stub_fds(void);
/* Declares the map at fd: the kernel reads key_size bytes per key and value_len bytes per
 * value (per-CPU maps: one 8-byte-rounded slot per possible CPU). Up to 8 maps. */
void stub_map(uint32_t fd, uint32_t key_size, uint32_t value_len);

#endif
