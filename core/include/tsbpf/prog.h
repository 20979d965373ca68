/*
 * Program commands: BPF_PROG_LOAD with the verifier-log retry policy,
 * BPF_PROG_TEST_RUN with output-buffer sizing and EINTR handling, the
 * program's info decoded from struct bpf_prog_info, attaching to a container
 * (BPF_PROG_ATTACH / DETACH / QUERY) and run-time statistics.
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

/* Verifier log sizes: first retry size, and the cap on growth (the kernel
 * refuses a log_size above UINT_MAX >> 2 with EINVAL). */
#define TSBPF_LOG_SIZE_DEFAULT (64u * 1024)
#define TSBPF_LOG_SIZE_MAX ((1u << 30) - 1)

/* BPF_PROG_LOAD prog_flags (checked against <linux/bpf.h> in prog_load.c). */
enum tsbpf_prog_flag {
	TSBPF_PROG_STRICT_ALIGNMENT = 1,
	TSBPF_PROG_ANY_ALIGNMENT = 2,
	TSBPF_PROG_TEST_RND_HI32 = 4,
	TSBPF_PROG_TEST_STATE_FREQ = 8,
	TSBPF_PROG_SLEEPABLE = 16,
	TSBPF_PROG_XDP_HAS_FRAGS = 32,
	TSBPF_PROG_XDP_DEV_BOUND_ONLY = 64,
};

/* BPF_PROG_TEST_RUN flags (checked in prog_test_run.c). */
enum tsbpf_test_run_flag {
	TSBPF_TEST_RUN_ON_CPU = 1,
	TSBPF_TEST_RUN_XDP_LIVE_FRAMES = 2,
	TSBPF_TEST_RUN_SKB_CHECKSUM_COMPLETE = 4,
};

/* BPF_PROG_ATTACH flags (checked in prog_attach.c). */
enum tsbpf_attach_flag {
	TSBPF_ATTACH_ALLOW_OVERRIDE = 1,
	TSBPF_ATTACH_ALLOW_MULTI = 2,
	TSBPF_ATTACH_REPLACE = 4,
};

/* BPF_PROG_QUERY flags. */
enum tsbpf_query_flag {
	TSBPF_QUERY_EFFECTIVE = 1,
};

/* BPF_ENABLE_STATS types (checked in prog_info.c). */
enum tsbpf_stats_type {
	TSBPF_STATS_RUN_TIME = 0,
};

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

/* Returns the program fd or a negative error. When the kernel wrote a verifier
 * log (a failure, or any load with log_level > 0), log/log_len point at its
 * text, owned by the core and valid until the next load. attach_prog_fd and
 * attach_btf_obj_fd share one attr field: set at most one. */
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
	/* The kernel writes the context back into ctx_in (syscall programs): the
	 * core passes ctx_in for writing and reports it as ctx_out. */
	uint32_t ctx_in_place;
	/* outputs */
	uint32_t retval;
	uint32_t duration;
	const void *data_out;
	uint32_t data_size_out;
	const void *ctx_out;
	uint32_t ctx_size_out;
	uint32_t attempts;
};

/* Runs BPF_PROG_TEST_RUN. Output buffers are owned by the core and valid
 * until the next call. Retries on EINTR and grows the output buffers when
 * the kernel says they were too small. */
TSBPF_API int32_t tsbpf_prog_test_run(struct tsbpf_test_run_opts *opts);

/*
 * A test run planned once and replayed by the host for each packet (Program.test() and
 * benchmark() in a loop): the request the core built, the Wasm buffers it points at, and
 * where in the attr the host sets the sizes and repeat of each run and reads its results.
 * Anything but a plain success (EINTR, ENOSPC, an error) the host sends through
 * tsbpf_prog_test_run instead, which applies the core's policies.
 */
struct tsbpf_test_run_plan {
	uint32_t sz;
	uint32_t cmd;
	const void *attr;
	uint32_t attr_size;
	const void *fixups;
	uint32_t n_fixups;
	void *data_in;          /* copy each packet here ... */
	uint32_t data_in_cap;   /* ... at most this many bytes */
	const void *data_out;   /* the program's output packet */
	uint32_t data_out_cap;
	/* byte offsets in the attr: */
	uint32_t off_data_size_in;
	uint32_t off_data_size_out;
	uint32_t off_repeat;
	uint32_t off_retval;
	uint32_t off_duration;
};

/* Plans test runs of prog_fd on packets of up to data_in_cap bytes (want_data_out 0: no
 * output buffer, as benchmarks need). Returns 0; the plan owns core memory until
 * tsbpf_prog_test_run_plan_free. */
TSBPF_API int32_t tsbpf_prog_test_run_plan(uint32_t prog_fd, uint32_t data_in_cap, uint32_t want_data_out, struct tsbpf_test_run_plan *plan);
TSBPF_API void tsbpf_prog_test_run_plan_free(struct tsbpf_test_run_plan *plan);

/* Bits of tsbpf_prog_info.want: which arrays to fetch in a second request. */
enum tsbpf_prog_info_want {
	TSBPF_PROG_INFO_WANT_MAP_IDS = 1,
	TSBPF_PROG_INFO_WANT_XLATED = 2,
};

/* Bits of tsbpf_prog_info.have: what this kernel reported. Older kernels fill
 * a shorter struct bpf_prog_info; their missing fields read as zero. */
enum tsbpf_prog_info_have {
	TSBPF_PROG_INFO_HAVE_BASICS = 1,      /* type, id, tag, sizes: 4.13 */
	TSBPF_PROG_INFO_HAVE_MAP_IDS = 2,     /* map ids, load time, uid, name: 4.15 */
	TSBPF_PROG_INFO_HAVE_BTF = 4,         /* btf_id: 5.0 */
	TSBPF_PROG_INFO_HAVE_RUN_STATS = 8,   /* run_time_ns, run_cnt: 5.1 */
	TSBPF_PROG_INFO_HAVE_RECURSION = 16,  /* recursion_misses: 5.12 */
	TSBPF_PROG_INFO_HAVE_VERIFIED = 32,   /* verified_insns: 5.16 */
	TSBPF_PROG_INFO_HAVE_ATTACH_BTF = 64, /* attach_btf_obj_id, attach_btf_id: 5.16 */
	TSBPF_PROG_INFO_XLATED_WITHHELD = 128, /* the kernel kept the xlated bytes back */
};

/*
 * struct bpf_prog_info, decoded by the core (the host never sees the kernel's
 * layout). Arrays are owned by the core and valid until the next call.
 */
struct tsbpf_prog_info {
	uint32_t sz;
	uint32_t want;
	uint32_t have;
	uint32_t type;
	uint32_t id;
	uint8_t tag[8];
	uint8_t name[16];
	uint32_t created_by_uid;
	uint64_t load_time;
	uint32_t jited_prog_len;
	uint32_t xlated_prog_len;
	uint32_t verified_insns;
	uint32_t btf_id;
	uint32_t ifindex;
	uint32_t gpl_compatible;
	uint32_t attach_btf_obj_id;
	uint32_t attach_btf_id;
	uint64_t run_time_ns;
	uint64_t run_cnt;
	uint64_t recursion_misses;
	uint32_t nr_map_ids;
	const uint32_t *map_ids;
	const uint8_t *xlated;
};

/* BPF_OBJ_GET_INFO_BY_FD on a program, then (if `want` asks) a second request
 * for its map ids and translated instructions through nested fix-ups. */
TSBPF_API int32_t tsbpf_prog_get_info(uint32_t fd, struct tsbpf_prog_info *info);

/* BPF_PROG_ATTACH of prog_fd to a container (cgroup directory, socket map,
 * ...). replace_fd > 0 replaces that program (adds BPF_F_REPLACE). Returns 0. */
TSBPF_API int32_t tsbpf_prog_attach(uint32_t target_fd, uint32_t prog_fd, uint32_t attach_type, uint32_t flags, uint32_t replace_fd);
/* BPF_PROG_DETACH; prog_fd 0 detaches whatever single program is attached. */
TSBPF_API int32_t tsbpf_prog_detach(uint32_t target_fd, uint32_t prog_fd, uint32_t attach_type);

struct tsbpf_prog_query {
	uint32_t sz;
	uint32_t target_fd;
	uint32_t attach_type;
	uint32_t query_flags;
	/* outputs */
	uint32_t attach_flags;
	uint32_t count;
	const uint32_t *prog_ids;
	uint64_t revision;
};

/* BPF_PROG_QUERY: the ids of the programs attached to a container, asked in
 * two steps (count, then ids) and again if the list grew in between. */
TSBPF_API int32_t tsbpf_prog_query(struct tsbpf_prog_query *q);

/* BPF_ENABLE_STATS: returns an fd; statistics are collected while it is open. */
TSBPF_API int32_t tsbpf_enable_stats(uint32_t type);

#endif
