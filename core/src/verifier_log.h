/*
 * Loads with a log (BPF_PROG_LOAD, BPF_BTF_LOAD): the retry policy as a pure function, and
 * the loop that applies it. The policy: load without a log first (a log costs verifier
 * time), retry once with a log after a failure, grow the buffer to what the kernel says it
 * needs (log_true_size, 6.4+) or double it, retry EAGAIN a few times; all capped.
 */
#ifndef TSBPF_VERIFIER_LOG_H
#define TSBPF_VERIFIER_LOG_H

#include "internal.h"
#include "tsbpf/prog.h"

/* Loads interrupted by a signal answer EAGAIN; retry this many times. */
#define TSBPF_MAX_EAGAIN_RETRIES 5

struct tsbpf_log_policy {
	uint32_t level;     /* log level of the next attempt (0: no log) */
	uint32_t size;      /* log buffer size of the next attempt */
	uint32_t max_size;  /* never grow past this */
	uint32_t requested; /* the size the caller asked for, if any */
	uint32_t eagain;    /* EAGAIN retries so far */
	uint32_t attempts;  /* attempts made so far */
	bool truncated;     /* the last log did not fit */
};

/* level and size are what the caller asked for (0: only on failure). */
void tsbpf_log_policy_init(struct tsbpf_log_policy *p, uint32_t level, uint32_t size);
/*
 * err: the attempt's result; log_used: bytes of log text the kernel wrote;
 * log_true_size: what the kernel says the whole log needs (0 if unknown).
 * Returns true to retry with p->level / p->size.
 */
bool tsbpf_log_policy_next(struct tsbpf_log_policy *p, int32_t err, uint32_t log_used, uint32_t log_true_size);

/* What a load under the policy produced. The log text is owned by the core and stays
 * valid until the next load. */
struct tsbpf_log_result {
	const char *log;
	uint32_t log_len;
	uint32_t log_true_size;
	uint32_t attempts;
	bool truncated;
};

/*
 * Builds the request of one attempt: everything but the log, which the loop adds.
 * Returns 0, or a negative error that ends the load.
 */
typedef int32_t (*tsbpf_load_build_fn)(struct tsbpf_request *req, const void *arg);

/* Describes where a load command keeps its log fields in the attr. */
struct tsbpf_log_fields {
	size_t level_off, size_off, buf_off; /* log_level, log_size, log_buf */
	size_t true_size_off;                /* log_true_size (6.4+), inside the attr sent */
};

/* Copies a load's log result into an options struct with the usual output fields. */
#define TSBPF_LOG_RESULT_STORE(o, res)                    \
	do {                                              \
		(o)->attempts = (res)->attempts;          \
		(o)->log_true_size = (res)->log_true_size; \
		(o)->log_truncated = (res)->truncated;     \
		(o)->log = (res)->log;                    \
		(o)->log_len = (res)->log_len;            \
	} while (0)

/* Sends `cmd` under the log policy. Returns the command's result or a negative error. */
int32_t tsbpf_load_with_log(enum bpf_cmd cmd, tsbpf_load_build_fn build, const void *arg,
			    const struct tsbpf_log_fields *fields, uint32_t level, uint32_t size,
			    struct tsbpf_log_result *res);

#endif
