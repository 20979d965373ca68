/*
 * BPF_BTF_LOAD (see tsbpf/btf_load.h).
 */
#include "internal.h"
#include "tsbpf/btf_load.h"
#include "verifier_log.h"

/* Kernel 6.4 added `__u32 btf_log_true_size` after btf_log_level (not in the 6.1 header). */
#define BTF_LOAD_LOG_TRUE_SIZE_OFF offsetofend(union bpf_attr, btf_log_level)
#define BTF_LOAD_ATTR_SIZE (BTF_LOAD_LOG_TRUE_SIZE_OFF + sizeof(uint32_t))

static int32_t build(struct tsbpf_request *req, const void *arg)
{
	const struct tsbpf_btf_load_opts *o = arg;

	tsbpf_request_init(req, BTF_LOAD_ATTR_SIZE);
	req->attr.btf_size = o->size;
	REQ_PTR(req, btf, o->data, o->size, TSBPF_FIXUP_IN);
	return 0;
}

static const struct tsbpf_log_fields btf_log_fields = {
	.level_off = offsetof(union bpf_attr, btf_log_level),
	.size_off = offsetof(union bpf_attr, btf_log_size),
	.buf_off = ATTR_PTR_OFF(btf_log_buf),
	.true_size_off = BTF_LOAD_LOG_TRUE_SIZE_OFF,
};

int32_t tsbpf_btf_load(struct tsbpf_btf_load_opts *o)
{
	struct tsbpf_log_result res;
	int32_t ret;

	tsbpf_begin(BPF_BTF_LOAD);
	if (!OPTS_VALID(o, struct tsbpf_btf_load_opts))
		return tsbpf_error(-EINVAL, "invalid options struct");
	if (!o->data || !o->size)
		return tsbpf_error(-EINVAL, "empty BTF blob");
	ret = tsbpf_load_with_log(BPF_BTF_LOAD, build, o, &btf_log_fields, o->log_level, o->log_size, &res);
	TSBPF_LOG_RESULT_STORE(o, &res);
	if (ret < 0)
		return tsbpf_error(ret, "the kernel refused the BTF");
	return ret;
}
