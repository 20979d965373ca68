/*
 * BPF_BTF_LOAD: hands a BTF blob to the kernel, with the same log policy as program loads.
 */
#ifndef TSBPF_BTF_LOAD_H
#define TSBPF_BTF_LOAD_H

#include "abi.h"

struct tsbpf_btf_load_opts {
	uint32_t sz;
	const void *data;
	uint32_t size;
	uint32_t log_level;
	uint32_t log_size;
	/* outputs */
	const char *log;
	uint32_t log_len;
	uint32_t log_truncated;
	uint32_t log_true_size;
	uint32_t attempts;
};

/* Returns the BTF object's fd or a negative error; on failure log/log_len hold the
 * kernel's BTF verifier log, owned by the core until the next load. Requires Linux 4.18. */
TSBPF_API int32_t tsbpf_btf_load(struct tsbpf_btf_load_opts *opts);

#endif
