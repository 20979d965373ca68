/*
 * Feature probes: a declarative table of what to ask the kernel and how to read its answer,
 * for program types, map types, helpers (per program type) and other capabilities. Each
 * probe makes a real minimal request. The core never caches: the host memoises conclusive
 * answers (yes or no) and asks again after an inconclusive one.
 */
#ifndef TSBPF_PROBE_H
#define TSBPF_PROBE_H

#include "abi.h"

/* Capabilities that are neither a program type, a map type nor a helper. */
enum tsbpf_feature {
	TSBPF_FEATURE_PROG_TEST_RUN = 0,
	TSBPF_FEATURE_PROG_NAME = 1,
	TSBPF_FEATURE_MAP_NAME = 2,
	TSBPF_FEATURE_BTF = 3,
	TSBPF_FEATURE_BTF_FUNC = 4,
	TSBPF_FEATURE_BOUNDED_LOOPS = 5,
	TSBPF_FEATURE_LARGE_PROGRAMS = 6,
	TSBPF_FEATURE_JMP32 = 7,
	TSBPF_FEATURE_GLOBAL_DATA = 8,
	TSBPF_FEATURE_MMAPABLE_MAPS = 9,
	TSBPF_FEATURE_RINGBUF = 10,
	TSBPF_FEATURE_BATCH_OPS = 11,
	TSBPF_FEATURE_LINKS = 12,
	TSBPF_FEATURE_LOG_TRUE_SIZE = 13,
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
	uint32_t min_kernel;  /* KERNEL_VERSION() of the release that added it, 0 if unknown */
	const char *name;     /* static NUL-terminated name */
	uint32_t n_fds;       /* fds the probe created: the host must close them */
	int32_t fds[4];
};

/* What the host knows about the kernel, which some probes need. */
struct tsbpf_probe_env {
	uint32_t sz;
	uint32_t kernel_version; /* KERNEL_VERSION() of the running kernel (kprobes before 5.0) */
};

TSBPF_API uint32_t tsbpf_feature_count(void);
/* Runs probe `feature`. Returns 0 when a verdict was reached (conclusive or not), or a
 * negative error for an unknown feature id. */
TSBPF_API int32_t tsbpf_feature_probe(uint32_t feature, struct tsbpf_probe_result *out);
/* Fills name and min_kernel without probing. */
TSBPF_API int32_t tsbpf_feature_describe(uint32_t feature, struct tsbpf_probe_result *out);

/* Can programs of this type be loaded? (A minimal `r0 = 0; exit`.) */
TSBPF_API int32_t tsbpf_probe_prog_type(uint32_t prog_type, const struct tsbpf_probe_env *env, struct tsbpf_probe_result *out);
/* Can maps of this type be created? */
TSBPF_API int32_t tsbpf_probe_map_type(uint32_t map_type, struct tsbpf_probe_result *out);
/* Can programs of this type call this helper? */
TSBPF_API int32_t tsbpf_probe_helper(uint32_t prog_type, uint32_t helper, const struct tsbpf_probe_env *env, struct tsbpf_probe_result *out);

#endif
