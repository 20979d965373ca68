/*
 * Commands shared by every kind of BPF object (see tsbpf/obj.h).
 */
#include "internal.h"
#include "tsbpf/obj.h"

/* bpffs paths are ordinary paths: PATH_MAX includes the terminating NUL. */
#define PATH_MAX_LINUX 4096

static int32_t check_path(const char *path)
{
	size_t n;

	if (!path || !path[0])
		return tsbpf_error(-EINVAL, "empty path: give a path on a bpffs mount, such as /sys/fs/bpf/name");
	n = strlen(path);
	if (n >= PATH_MAX_LINUX)
		return tsbpf_error(-ENAMETOOLONG, "path is %zu bytes long, the limit is %d", n, PATH_MAX_LINUX - 1);
	return (int32_t)n;
}

int32_t tsbpf_obj_pin(uint32_t fd, const char *path)
{
	struct tsbpf_request req;
	int32_t n, ret;

	tsbpf_begin(BPF_OBJ_PIN);
	if ((n = check_path(path)) < 0)
		return n;
	REQ_INIT(&req, file_flags);
	req.attr.bpf_fd = fd;
	REQ_PTR(&req, pathname, path, (uint32_t)n + 1, TSBPF_FIXUP_IN);
	ret = tsbpf_request_send(&req, BPF_OBJ_PIN);
	if (ret < 0)
		return tsbpf_error(ret, "cannot pin to %s", path);
	return ret;
}

int32_t tsbpf_obj_get(const char *path, uint32_t file_flags)
{
	struct tsbpf_request req;
	int32_t n, ret;

	tsbpf_begin(BPF_OBJ_GET);
	if ((n = check_path(path)) < 0)
		return n;
	REQ_INIT(&req, file_flags);
	req.attr.file_flags = file_flags;
	REQ_PTR(&req, pathname, path, (uint32_t)n + 1, TSBPF_FIXUP_IN);
	ret = tsbpf_request_send(&req, BPF_OBJ_GET);
	if (ret < 0)
		return tsbpf_error(ret, "cannot open the pin %s", path);
	return ret;
}

static const struct {
	enum bpf_cmd next_id, fd_by_id;
	const char *name;
} kinds[] = {
	[TSBPF_OBJ_PROG] = { BPF_PROG_GET_NEXT_ID, BPF_PROG_GET_FD_BY_ID, "program" },
	[TSBPF_OBJ_MAP] = { BPF_MAP_GET_NEXT_ID, BPF_MAP_GET_FD_BY_ID, "map" },
	[TSBPF_OBJ_BTF] = { BPF_BTF_GET_NEXT_ID, BPF_BTF_GET_FD_BY_ID, "BTF object" },
	[TSBPF_OBJ_LINK] = { BPF_LINK_GET_NEXT_ID, BPF_LINK_GET_FD_BY_ID, "link" },
};

int32_t tsbpf_obj_get_next_id(uint32_t kind, uint32_t start_id, uint32_t *next_id)
{
	struct tsbpf_request req;
	int32_t ret;

	tsbpf_begin(kind < ARRAY_SIZE(kinds) ? (int32_t)kinds[kind].next_id : -1);
	if (kind >= ARRAY_SIZE(kinds) || !next_id)
		return tsbpf_error(-EINVAL, "unknown object kind %u", kind);
	REQ_INIT(&req, next_id);
	req.attr.start_id = start_id;
	ret = tsbpf_request_send(&req, kinds[kind].next_id);
	if (ret < 0)
		return ret == -ENOENT ? ret : tsbpf_error(ret, "cannot list %s ids", kinds[kind].name);
	*next_id = req.attr.next_id;
	return 0;
}

int32_t tsbpf_obj_get_fd_by_id(uint32_t kind, uint32_t id, uint32_t open_flags)
{
	struct tsbpf_request req;
	int32_t ret;

	tsbpf_begin(kind < ARRAY_SIZE(kinds) ? (int32_t)kinds[kind].fd_by_id : -1);
	if (kind >= ARRAY_SIZE(kinds))
		return tsbpf_error(-EINVAL, "unknown object kind %u", kind);
	REQ_INIT(&req, open_flags);
	req.attr.start_id = id;
	req.attr.open_flags = open_flags;
	ret = tsbpf_request_send(&req, kinds[kind].fd_by_id);
	if (ret < 0)
		return tsbpf_error(ret, "no %s with id %u", kinds[kind].name, id);
	return ret;
}

int32_t tsbpf_obj_get_info(uint32_t fd, void *info, uint32_t *info_len)
{
	struct tsbpf_request req;
	int32_t ret;

	tsbpf_begin(BPF_OBJ_GET_INFO_BY_FD);
	if (!info || !info_len || !*info_len)
		return tsbpf_error(-EINVAL, "missing info buffer");
	memset(info, 0, *info_len);
	REQ_INIT(&req, info);
	req.attr.info.bpf_fd = fd;
	req.attr.info.info_len = *info_len;
	REQ_PTR(&req, info.info, info, *info_len, TSBPF_FIXUP_INOUT);
	ret = tsbpf_request_send(&req, BPF_OBJ_GET_INFO_BY_FD);
	if (ret < 0)
		return tsbpf_error(ret, "cannot read the info of fd %u", fd);
	/* The kernel reports the size it knows; never claim more than the buffer. */
	if (req.attr.info.info_len < *info_len)
		*info_len = req.attr.info.info_len;
	return ret;
}
