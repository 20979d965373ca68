/*
 * A kernel BTF object's info and blob (see tsbpf/btf_info.h).
 */
#include "internal.h"
#include "tsbpf/btf_info.h"

_Static_assert(offsetof(struct bpf_btf_info, btf) % 8 == 0, "btf pointer alignment");
_Static_assert(offsetof(struct bpf_btf_info, name) % 8 == 0, "name pointer alignment");

/* vmlinux's BTF is about 6 MB; nothing the kernel holds comes near this. */
#define BTF_SIZE_MAX (256u << 20)

static struct tsbpf_buf blob_buf;

static int32_t get_info(uint32_t fd, struct bpf_btf_info *info, char *name, const void *blob, uint32_t blob_len)
{
	struct tsbpf_request req;
	uint32_t len = sizeof(*info);
	int32_t parent, ret;

	REQ_INIT(&req, info);
	req.attr.info.bpf_fd = fd;
	req.attr.info.info_len = len;
	parent = REQ_PTR(&req, info.info, info, len, TSBPF_FIXUP_INOUT);
	/* The kernel wants the name pointer and its length both set or both zero. */
	info->name_len = TSBPF_BTF_NAME_LEN;
	tsbpf_request_nested_ptr(&req, parent, offsetof(struct bpf_btf_info, name), name, TSBPF_BTF_NAME_LEN,
				 TSBPF_FIXUP_OUT);
	if (blob_len) {
		info->btf_size = blob_len;
		tsbpf_request_nested_ptr(&req, parent, offsetof(struct bpf_btf_info, btf), blob, blob_len,
					 TSBPF_FIXUP_OUT);
	}
	ret = tsbpf_request_send(&req, BPF_OBJ_GET_INFO_BY_FD);
	/* ENOSPC: the name did not fit. It was truncated and NUL-terminated; the rest stands. */
	if (ret < 0 && ret != -ENOSPC)
		return tsbpf_error(ret, "cannot read the info of BTF fd %u", fd);
	return 0;
}

int32_t tsbpf_btf_get_info(uint32_t fd, struct tsbpf_btf_obj_info *out)
{
	struct bpf_btf_info info;
	uint32_t want, size;
	int32_t ret;

	tsbpf_begin(BPF_OBJ_GET_INFO_BY_FD);
	/* The last blob is the caller's until now: do not keep a vmlinux-sized buffer around. */
	tsbpf_buf_trim(&blob_buf, 1u << 20);
	if (!OPTS_VALID(out, struct tsbpf_btf_obj_info))
		return tsbpf_error(-EINVAL, "invalid info struct");
	want = out->want;
	memset(out, 0, sizeof(*out));
	out->sz = sizeof(*out);
	out->want = want;

	memset(&info, 0, sizeof(info));
	if ((ret = get_info(fd, &info, (char *)out->name, NULL, 0)) < 0)
		return ret;
	out->name[TSBPF_BTF_NAME_LEN - 1] = 0;
	out->id = info.id;
	out->kernel_btf = info.kernel_btf;
	out->btf_size = info.btf_size;
	if (!(want & TSBPF_BTF_INFO_WANT_DATA) || !info.btf_size)
		return 0;

	size = info.btf_size;
	if (size > BTF_SIZE_MAX)
		return tsbpf_error(-TSBPF_ERR_KERNEL, "the kernel reported a BTF object of %u bytes", size);
	if (!tsbpf_buf_reserve(&blob_buf, size))
		return tsbpf_error(-TSBPF_ERR_NOMEM, "no memory for %u bytes of BTF", size);
	memset(&info, 0, sizeof(info));
	if ((ret = get_info(fd, &info, (char *)out->name, blob_buf.data, size)) < 0)
		return ret;
	out->name[TSBPF_BTF_NAME_LEN - 1] = 0;
	/* BTF objects are immutable: a different size means a different object behind the fd. */
	if (info.btf_size != size)
		return tsbpf_error(-TSBPF_ERR_KERNEL, "the BTF object changed size between two requests (%u, then %u bytes)",
				   size, info.btf_size);
	out->data = blob_buf.data;
	return 0;
}
