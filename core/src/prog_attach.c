/*
 * Attaching programs to containers the kernel keeps a program list for (a
 * cgroup directory, a socket map, a network namespace, a lirc device):
 * BPF_PROG_ATTACH, BPF_PROG_DETACH and BPF_PROG_QUERY.
 */
#include "internal.h"
#include "tsbpf/prog.h"

_Static_assert(TSBPF_ATTACH_ALLOW_OVERRIDE == BPF_F_ALLOW_OVERRIDE, "BPF_F_ALLOW_OVERRIDE");
_Static_assert(TSBPF_ATTACH_ALLOW_MULTI == BPF_F_ALLOW_MULTI, "BPF_F_ALLOW_MULTI");
_Static_assert(TSBPF_ATTACH_REPLACE == BPF_F_REPLACE, "BPF_F_REPLACE");
_Static_assert(TSBPF_QUERY_EFFECTIVE == BPF_F_QUERY_EFFECTIVE, "BPF_F_QUERY_EFFECTIVE");

/*
 * Kernel 6.6 appended link_ids, link_attach_flags and a u64 revision to the query
 * struct; the 6.1 header ends at prog_attach_flags. The revision is addressed by
 * offset in the attr's tail: older kernels accept the longer attr because the
 * extra bytes are zero, and leave the revision at zero.
 */
#define QUERY_REVISION_OFF 56
#define QUERY_ATTR_SIZE (QUERY_REVISION_OFF + sizeof(uint64_t))
_Static_assert(offsetofend(union bpf_attr, query.prog_attach_flags) == 40, "query struct of the 6.1 header");
_Static_assert(QUERY_ATTR_SIZE <= TSBPF_ATTR_MAX, "attr tail too small for query.revision");

/* A list that keeps growing between two requests is asked for at most this often. */
#define MAX_QUERY_ATTEMPTS 8
/* A cgroup holds at most 64 programs per attach type: a count far above is no real answer,
 * and must not make the core allocate gigabytes. */
#define QUERY_MAX_PROGS (1u << 20)
#define QUERY_KEEP_BYTES (64u << 10)

static struct tsbpf_buf ids_buf;

int32_t tsbpf_prog_attach(uint32_t target_fd, uint32_t prog_fd, uint32_t attach_type, uint32_t flags,
			  uint32_t replace_fd)
{
	struct tsbpf_request req;
	int32_t ret;

	tsbpf_begin(BPF_PROG_ATTACH);
	if (replace_fd)
		flags |= BPF_F_REPLACE;
	else if (flags & BPF_F_REPLACE)
		return tsbpf_error(-EINVAL, "BPF_F_REPLACE needs the program to replace");
	REQ_INIT(&req, replace_bpf_fd);
	req.attr.target_fd = target_fd;
	req.attr.attach_bpf_fd = prog_fd;
	req.attr.attach_type = attach_type;
	req.attr.attach_flags = flags;
	req.attr.replace_bpf_fd = replace_fd;
	ret = tsbpf_request_send(&req, BPF_PROG_ATTACH);
	if (ret < 0)
		return tsbpf_error(ret, "cannot attach program fd %u to fd %u as attach type %u", prog_fd, target_fd,
				   attach_type);
	return ret;
}

int32_t tsbpf_prog_detach(uint32_t target_fd, uint32_t prog_fd, uint32_t attach_type)
{
	struct tsbpf_request req;
	int32_t ret;

	tsbpf_begin(BPF_PROG_DETACH);
	REQ_INIT(&req, attach_type);
	req.attr.target_fd = target_fd;
	req.attr.attach_bpf_fd = prog_fd;
	req.attr.attach_type = attach_type;
	ret = tsbpf_request_send(&req, BPF_PROG_DETACH);
	if (ret < 0)
		return tsbpf_error(ret, "cannot detach program fd %u from fd %u (attach type %u)", prog_fd, target_fd,
				   attach_type);
	return ret;
}

static int32_t query(struct tsbpf_prog_query *q, uint32_t cnt, uint32_t *total)
{
	struct tsbpf_request req;
	int32_t ret;

	tsbpf_request_init(&req, QUERY_ATTR_SIZE);
	req.attr.query.target_fd = q->target_fd;
	req.attr.query.attach_type = q->attach_type;
	req.attr.query.query_flags = q->query_flags;
	req.attr.query.prog_cnt = cnt;
	if (cnt)
		REQ_PTR(&req, query.prog_ids, ids_buf.data, cnt * 4, TSBPF_FIXUP_OUT);
	ret = tsbpf_request_send(&req, BPF_PROG_QUERY);
	if (ret < 0 && ret != -ENOSPC)
		return tsbpf_error(ret, "cannot query the programs attached to fd %u (attach type %u)", q->target_fd,
				   q->attach_type);
	*total = req.attr.query.prog_cnt;
	q->attach_flags = req.attr.query.attach_flags;
	memcpy(&q->revision, (uint8_t *)&req.attr + QUERY_REVISION_OFF, sizeof(q->revision));
	return ret;
}

int32_t tsbpf_prog_query(struct tsbpf_prog_query *q)
{
	uint32_t cnt = 0, total = 0, bytes;
	int32_t ret;

	tsbpf_begin(BPF_PROG_QUERY);
	if (!OPTS_VALID(q, struct tsbpf_prog_query))
		return tsbpf_error(-EINVAL, "invalid query struct");
	q->attach_flags = q->count = 0;
	q->prog_ids = NULL;
	q->revision = 0;
	tsbpf_buf_trim(&ids_buf, QUERY_KEEP_BYTES);
	for (int attempt = 0; attempt < MAX_QUERY_ATTEMPTS; attempt++) {
		if (cnt) {
			if (cnt > QUERY_MAX_PROGS || tsbpf_mul_overflows(cnt, 4, &bytes))
				return tsbpf_error(-TSBPF_ERR_KERNEL, "the kernel reported %u attached programs", cnt);
			if (!tsbpf_buf_reserve(&ids_buf, bytes))
				return tsbpf_error(-TSBPF_ERR_NOMEM, "no memory for %u program ids", cnt);
		}
		ret = query(q, cnt, &total);
		if (ret < 0 && ret != -ENOSPC)
			return ret;
		/* The first request only counts; a later one that fit is the answer. */
		if (total == 0 || (cnt && ret == 0)) {
			q->count = total < cnt ? total : cnt;
			q->prog_ids = q->count ? (const uint32_t *)ids_buf.data : NULL;
			return 0;
		}
		cnt = total; /* the list grew in between: ask with the new count */
	}
	return tsbpf_error(-EAGAIN, "the list of attached programs kept changing while it was read");
}
