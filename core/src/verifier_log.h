/*
 * The verifier-log retry policy as a pure function: given what the last
 * attempt asked for and what the kernel answered, decide whether to load
 * again and with which log. Kept apart so unit tests can drive it with
 * scripted answers.
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

#endif
