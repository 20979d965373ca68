/*
 * Program commands: BPF_PROG_LOAD with the verifier-log retry policy and
 * BPF_PROG_TEST_RUN with output-buffer sizing and EINTR handling.
 */
#ifndef TSBPF_PROG_H
#define TSBPF_PROG_H

#include "abi.h"

/* Room added to the input length for the output buffer of a test run, so a
 * program that grows the packet (bpf_xdp_adjust_head, skb_change_tail) fits
 * without a second run in the common case. */
#define TSBPF_TEST_RUN_HEADROOM 256
/* No program type produces more output than this (XDP with fragments stays under
 * 100 KiB); a larger size reported by the kernel is an error, not a reason to allocate. */
#define TSBPF_TEST_RUN_OUTPUT_MAX (64u << 20)

/* Verifier log sizes: first retry size, and the cap on growth. */
#define TSBPF_LOG_SIZE_DEFAULT (64u * 1024)
#define TSBPF_LOG_SIZE_MAX (1u << 30)

/*
 * Options of tsbpf_prog_load. Inputs first, then fields the core fills.
 * `log_level` 0 means: load without a log and retry with level 1 only if the
 * load fails. A non-zero level asks for that log on every attempt.
 */
struct tsbpf_prog_load_opts {
	uint32_t sz;
	uint32_t prog_type;
	uint32_t expected_attach_type;
	uint32_t prog_flags;
	const void *insns;
	uint32_t insn_cnt;
	const char *license;
	uint32_t kern_version;
	const char *name;
	uint32_t prog_ifindex;
	uint32_t prog_btf_fd;
	uint32_t func_info_rec_size;
	const void *func_info;
	uint32_t func_info_cnt;
	uint32_t line_info_rec_size;
	const void *line_info;
	uint32_t line_info_cnt;
	uint32_t attach_btf_id;
	uint32_t attach_prog_fd;
	uint32_t attach_btf_obj_fd;
	const int32_t *fd_array;
	uint32_t fd_array_cnt;
	uint32_t log_level;
	uint32_t log_size;
	/* outputs */
	const char *log;
	uint32_t log_len;
	uint32_t log_truncated;
	uint32_t log_true_size;
	uint32_t attempts;
};

/* Returns the program fd or a negative error. On a failure with a verifier
 * log, log/log_len point at the log text, owned by the core and valid
 * until the next call. */
TSBPF_API int32_t tsbpf_prog_load(struct tsbpf_prog_load_opts *opts);

/*
 * Options of tsbpf_prog_test_run. Sizes are 64-bit so that the core, not the
 * caller, rejects inputs that do not fit the kernel's u32 fields.
 * data_out_cap 0 sizes the output buffer as input + TSBPF_TEST_RUN_HEADROOM;
 * ctx_out_cap 0 sizes it as the context input.
 */
struct tsbpf_test_run_opts {
	uint32_t sz;
	uint32_t prog_fd;
	uint64_t data_size_in;
	uint64_t repeat;
	const void *data_in;
	uint32_t data_out_cap;
	const void *ctx_in;
	uint32_t ctx_size_in;
	uint32_t ctx_out_cap;
	uint32_t flags;
	uint32_t cpu;
	uint32_t batch_size;
	uint32_t want_data_out;
	uint32_t want_ctx_out;
	/* outputs */
	uint32_t retval;
	uint32_t duration;
	const void *data_out;
	uint32_t data_size_out;
	const void *ctx_out;
	uint32_t ctx_size_out;
	uint32_t attempts;
	uint32_t pad;
};

/* Runs BPF_PROG_TEST_RUN. Output buffers are owned by the core and valid
 * until the next call. Retries on EINTR and grows the output buffers when
 * the kernel says they were too small. */
TSBPF_API int32_t tsbpf_prog_test_run(struct tsbpf_test_run_opts *opts);

#endif
