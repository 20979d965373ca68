/*
 * Feature probes: a declarative table of what to ask the kernel and how to
 * read its answer. The core never caches: the host memoises conclusive
 * answers (yes or no) and asks again after an inconclusive one.
 */
#ifndef TSBPF_PROBE_H
#define TSBPF_PROBE_H

#include "abi.h"

enum tsbpf_feature {
	TSBPF_FEATURE_PROG_TEST_RUN = 0,
	TSBPF_FEATURE__COUNT,
};

enum tsbpf_verdict {
	TSBPF_VERDICT_NO = 0,
	TSBPF_VERDICT_YES = 1,
	TSBPF_VERDICT_UNKNOWN = 2, /* e.g. EPERM: says nothing about the kernel */
};

#define TSBPF_PROBE_MAX_FDS 4

struct tsbpf_probe_result {
	uint32_t sz;
	uint32_t verdict;
	int32_t err;          /* the errno that decided (0 for yes) */
	uint32_t min_kernel;  /* KERNEL_VERSION() of the release that added it */
	const char *name;     /* static NUL-terminated name */
	uint32_t n_fds;       /* fds the probe created: the host must close them */
	int32_t fds[4];
};

TSBPF_API uint32_t tsbpf_feature_count(void);
/* Runs probe `feature`. Returns 0 when a verdict was reached (conclusive or
 * not), or a negative error for an unknown feature id. */
TSBPF_API int32_t tsbpf_feature_probe(uint32_t feature, struct tsbpf_probe_result *out);
/* Fills name and min_kernel without probing. */
TSBPF_API int32_t tsbpf_feature_describe(uint32_t feature, struct tsbpf_probe_result *out);

#endif
