/*
 * BPF_PROG_LOAD: marshals the options into the attr, applies the verifier-log
 * retry policy, and leaves the log where the host can read it.
 */
#include "internal.h"
#include "object_name.h"
#include "tsbpf/prog.h"
#include "verifier_log.h"

/*
 * Kernel 6.4 added `__u32 log_true_size` right after core_relo_rec_size; the
 * uapi header we build against (6.1) predates it, so the field is addressed
 * by offset in the attr's tail. Older kernels accept the longer attr because
 * the extra bytes are zero.
 */
#define PROG_LOAD_LOG_TRUE_SIZE_OFF offsetofend(union bpf_attr, core_relo_rec_size)
#define PROG_LOAD_ATTR_SIZE (PROG_LOAD_LOG_TRUE_SIZE_OFF + sizeof(uint32_t))
_Static_assert(PROG_LOAD_ATTR_SIZE <= TSBPF_ATTR_MAX, "attr tail too small for log_true_size");

_Static_assert(TSBPF_PROG_STRICT_ALIGNMENT == BPF_F_STRICT_ALIGNMENT, "BPF_F_STRICT_ALIGNMENT");
_Static_assert(TSBPF_PROG_ANY_ALIGNMENT == BPF_F_ANY_ALIGNMENT, "BPF_F_ANY_ALIGNMENT");
_Static_assert(TSBPF_PROG_TEST_RND_HI32 == BPF_F_TEST_RND_HI32, "BPF_F_TEST_RND_HI32");
_Static_assert(TSBPF_PROG_TEST_STATE_FREQ == BPF_F_TEST_STATE_FREQ, "BPF_F_TEST_STATE_FREQ");
_Static_assert(TSBPF_PROG_SLEEPABLE == BPF_F_SLEEPABLE, "BPF_F_SLEEPABLE");
_Static_assert(TSBPF_PROG_XDP_HAS_FRAGS == BPF_F_XDP_HAS_FRAGS, "BPF_F_XDP_HAS_FRAGS");
/* BPF_F_XDP_DEV_BOUND_ONLY (6.3) is newer than the header: 1 << 6 in later ones. */
_Static_assert(TSBPF_LOG_SIZE_MAX == (UINT32_MAX >> 2), "the kernel's largest log_size");

static int32_t checked_len(uint32_t rec_size, uint32_t cnt, uint32_t *len, const char *what)
{
	if (tsbpf_mul_overflows(rec_size, cnt, len) || *len > TSBPF_FIXUP_MAX_LEN)
		return tsbpf_error(-E2BIG, "%s: %u records of %u bytes is too large", what, cnt, rec_size);
	return 0;
}

static int32_t build(struct tsbpf_request *req, const void *arg)
{
	const struct tsbpf_prog_load_opts *o = arg;
	union bpf_attr *a = &req->attr;
	uint32_t insns_len, func_len, line_len, fd_len;
	int32_t err;

	if ((err = checked_len(8, o->insn_cnt, &insns_len, "instructions")) ||
	    (err = checked_len(o->func_info_rec_size, o->func_info_cnt, &func_len, "func_info")) ||
	    (err = checked_len(o->line_info_rec_size, o->line_info_cnt, &line_len, "line_info")) ||
	    (err = checked_len(4, o->fd_array_cnt, &fd_len, "fd_array")))
		return err;

	tsbpf_request_init(req, PROG_LOAD_ATTR_SIZE);
	a->prog_type = o->prog_type;
	a->expected_attach_type = o->expected_attach_type;
	a->prog_flags = o->prog_flags;
	a->insn_cnt = o->insn_cnt;
	a->kern_version = o->kern_version;
	a->prog_ifindex = o->prog_ifindex;
	a->prog_btf_fd = o->prog_btf_fd;
	a->attach_btf_id = o->attach_btf_id;
	/* attach_prog_fd and attach_btf_obj_fd share one field in the kernel. */
	a->attach_prog_fd = o->attach_prog_fd ? o->attach_prog_fd : o->attach_btf_obj_fd;
	if (o->name)
		tsbpf_object_name_copy(a->prog_name, o->name);

	REQ_PTR(req, insns, o->insns, insns_len, TSBPF_FIXUP_IN);
	REQ_PTR(req, license, o->license,
		(uint32_t)strlen(o->license) + 1, TSBPF_FIXUP_IN);
	if (o->func_info_cnt) {
		a->func_info_rec_size = o->func_info_rec_size;
		a->func_info_cnt = o->func_info_cnt;
		REQ_PTR(req, func_info, o->func_info, func_len, TSBPF_FIXUP_IN);
	}
	if (o->line_info_cnt) {
		a->line_info_rec_size = o->line_info_rec_size;
		a->line_info_cnt = o->line_info_cnt;
		REQ_PTR(req, line_info, o->line_info, line_len, TSBPF_FIXUP_IN);
	}
	if (o->fd_array_cnt)
		REQ_PTR(req, fd_array, o->fd_array, fd_len, TSBPF_FIXUP_IN);
	return 0;
}

static const struct tsbpf_log_fields prog_log_fields = {
	.level_off = offsetof(union bpf_attr, log_level),
	.size_off = offsetof(union bpf_attr, log_size),
	.buf_off = ATTR_PTR_OFF(log_buf),
	.true_size_off = PROG_LOAD_LOG_TRUE_SIZE_OFF,
};

int32_t tsbpf_prog_load(struct tsbpf_prog_load_opts *o)
{
	struct tsbpf_log_result res;
	int32_t ret;

	tsbpf_begin(BPF_PROG_LOAD);
	if (!OPTS_VALID(o, struct tsbpf_prog_load_opts))
		return tsbpf_error(-EINVAL, "invalid options struct");
	o->log = NULL;
	o->log_len = o->log_truncated = o->log_true_size = o->attempts = 0;
	if (!o->insns || !o->insn_cnt)
		return tsbpf_error(-EINVAL, "no instructions: a program needs at least one instruction");
	if (!o->license)
		return tsbpf_error(-EINVAL, "missing license: pass the program's license, e.g. 'GPL' or 'MIT'");
	if (o->name && (ret = tsbpf_object_name_check(o->name)) < 0)
		return ret;
	if (o->attach_prog_fd && o->attach_btf_obj_fd)
		return tsbpf_error(-EINVAL, "attach_prog_fd and attach_btf_obj_fd share one attr field: set only one "
					    "(a program to extend, or the BTF object of a kernel module)");
	if ((o->func_info_cnt && !o->func_info) || (o->line_info_cnt && !o->line_info) ||
	    (o->fd_array_cnt && !o->fd_array))
		return tsbpf_error(-EINVAL, "a record count is set without its buffer");

	ret = tsbpf_load_with_log(BPF_PROG_LOAD, build, o, &prog_log_fields, o->log_level, o->log_size, &res);
	TSBPF_LOG_RESULT_STORE(o, &res);
	if (ret < 0)
		return tsbpf_error(ret, "the kernel refused the program");
	return ret;
}
