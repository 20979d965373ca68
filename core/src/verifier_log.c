/*
 * Verifier-log retry policy (see verifier_log.h). Mirrors what cilium/ebpf
 * and libbpf do: load without a log first (a log costs verifier time), retry
 * once with a log after a failure, and grow the buffer as the kernel asks.
 */
#include "verifier_log.h"

/* The kernel refuses log buffers smaller than this. */
#define LOG_SIZE_MIN 128

static uint32_t clamp_size(uint32_t size, uint32_t max)
{
	if (size < LOG_SIZE_MIN)
		return LOG_SIZE_MIN;
	return size > max ? max : size;
}

void tsbpf_log_policy_init(struct tsbpf_log_policy *p, uint32_t level, uint32_t size)
{
	memset(p, 0, sizeof(*p));
	p->level = level;
	p->max_size = TSBPF_LOG_SIZE_MAX;
	p->requested = size;
	if (level)
		p->size = clamp_size(size ? size : TSBPF_LOG_SIZE_DEFAULT, p->max_size);
}

bool tsbpf_log_policy_next(struct tsbpf_log_policy *p, int32_t err, uint32_t log_used, uint32_t log_true_size)
{
	uint32_t want;

	p->attempts++;
	p->truncated = false;
	if (err >= 0)
		return false;
	if (err == -EAGAIN && p->eagain < TSBPF_MAX_EAGAIN_RETRIES) {
		p->eagain++;
		return true;
	}
	if (p->level == 0) {
		/* First failure without a log: ask again, this time with one. */
		p->level = 1;
		p->size = clamp_size(p->requested ? p->requested : TSBPF_LOG_SIZE_DEFAULT, p->max_size);
		return true;
	}
	/* ENOSPC, or a log filled to the brim: the log was cut short. */
	if (err == -ENOSPC || log_used + 1 >= p->size) {
		p->truncated = true;
		if (p->size >= p->max_size)
			return false;
		if (log_true_size > p->size)
			want = log_true_size;
		else
			want = p->size > p->max_size / 2 ? p->max_size : p->size * 2;
		p->size = clamp_size(want, p->max_size);
		return true;
	}
	return false;
}
