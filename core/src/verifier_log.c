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

/* One log buffer for every load: the text is valid until the next load. */
static struct tsbpf_buf log_buf;

static void put_u32(struct tsbpf_request *req, size_t off, uint32_t v)
{
	memcpy((uint8_t *)&req->attr + off, &v, sizeof(v));
}

int32_t tsbpf_load_with_log(enum bpf_cmd cmd, tsbpf_load_build_fn build, const void *arg,
			    const struct tsbpf_log_fields *fields, uint32_t level, uint32_t size,
			    struct tsbpf_log_result *res)
{
	struct tsbpf_log_policy pol;
	struct tsbpf_request req;
	uint32_t log_used = 0, true_size = 0;
	int32_t ret;

	memset(res, 0, sizeof(*res));
	tsbpf_buf_trim(&log_buf, TSBPF_LOG_SIZE_DEFAULT);
	tsbpf_log_policy_init(&pol, level, size);
	for (;;) {
		if ((ret = build(&req, arg)) < 0)
			return ret;
		CORE_ASSERT(fields->true_size_off + 4 <= req.size);
		if (pol.level) {
			if (!tsbpf_buf_reserve(&log_buf, pol.size))
				return tsbpf_error(-TSBPF_ERR_NOMEM, "no memory for a %u-byte log", pol.size);
			log_buf.data[0] = '\0';
			put_u32(&req, fields->level_off, pol.level);
			put_u32(&req, fields->size_off, pol.size);
			tsbpf_request_ptr(&req, fields->buf_off, log_buf.data, pol.size, TSBPF_FIXUP_OUT);
		}
		ret = tsbpf_request_send(&req, cmd);
		log_used = 0;
		true_size = 0;
		if (pol.level) {
			/* Never trust the kernel to have terminated the text. */
			log_buf.data[pol.size - 1] = '\0';
			log_used = (uint32_t)strlen((const char *)log_buf.data);
			memcpy(&true_size, (uint8_t *)&req.attr + fields->true_size_off, sizeof(true_size));
		}
		if (!tsbpf_log_policy_next(&pol, ret, log_used, true_size))
			break;
	}
	res->attempts = pol.attempts;
	res->log_true_size = true_size;
	res->truncated = pol.truncated;
	if (log_used) {
		res->log = (const char *)log_buf.data;
		res->log_len = log_used;
	}
	return ret;
}
