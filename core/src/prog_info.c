/*
 * A program's info: BPF_OBJ_GET_INFO_BY_FD into struct bpf_prog_info, decoded
 * into struct tsbpf_prog_info so that the host never mirrors the kernel's
 * layout. Also BPF_ENABLE_STATS, which makes run_cnt and run_time_ns count.
 */
#include "internal.h"
#include "tsbpf/prog.h"

_Static_assert(TSBPF_STATS_RUN_TIME == BPF_STATS_RUN_TIME, "BPF_STATS_RUN_TIME");
_Static_assert(sizeof(((struct bpf_prog_info *)0)->tag) == 8, "tag size");
_Static_assert(sizeof(((struct bpf_prog_info *)0)->name) == 16, "name size");
_Static_assert(offsetof(struct bpf_prog_info, map_ids) % 8 == 0, "map_ids alignment");
_Static_assert(offsetof(struct bpf_prog_info, xlated_prog_insns) % 8 == 0, "xlated_prog_insns alignment");

/* The map list can grow between the two requests (BPF_PROG_BIND_MAP): ask again. */
#define MAX_INFO_ATTEMPTS 4

/* Answers no kernel gives: a program holds at most a million instructions before the
 * verifier rewrites them (8x that leaves room for every rewrite), and a few thousand maps.
 * Larger counts are refused before the core allocates (and zeroes) that much. */
#define INFO_MAX_XLATED (64u << 20)
#define INFO_MAX_MAP_IDS (1u << 20)
/* Buffers kept between calls; one huge program's answer is not kept for the process's life. */
#define INFO_KEEP_XLATED (1u << 20)
#define INFO_KEEP_MAP_IDS (64u << 10)

static struct tsbpf_buf map_ids_buf, xlated_buf;

#define KNOWS(len, field) ((len) >= offsetofend(struct bpf_prog_info, field))

static int32_t get_info(uint32_t fd, struct bpf_prog_info *info, uint32_t *len, uint32_t nr_map_ids,
			uint32_t xlated_len)
{
	struct tsbpf_request req;
	int32_t parent, ret;

	REQ_INIT(&req, info);
	req.attr.info.bpf_fd = fd;
	req.attr.info.info_len = *len;
	parent = REQ_PTR(&req, info.info, info, *len, TSBPF_FIXUP_INOUT);
	if (nr_map_ids) {
		info->nr_map_ids = nr_map_ids;
		tsbpf_request_nested_ptr(&req, parent, offsetof(struct bpf_prog_info, map_ids), map_ids_buf.data,
					 nr_map_ids * 4, TSBPF_FIXUP_OUT);
	}
	if (xlated_len) {
		info->xlated_prog_len = xlated_len;
		tsbpf_request_nested_ptr(&req, parent, offsetof(struct bpf_prog_info, xlated_prog_insns),
					 xlated_buf.data, xlated_len, TSBPF_FIXUP_OUT);
	}
	ret = tsbpf_request_send(&req, BPF_OBJ_GET_INFO_BY_FD);
	if (ret < 0)
		return tsbpf_error(ret, "cannot read the info of program fd %u", fd);
	/* The kernel reports how much of the struct it knows; never claim more than the buffer. */
	if (req.attr.info.info_len < *len)
		*len = req.attr.info.info_len;
	return 0;
}

static bool all_zero(const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Second request: the arrays. Scalars come from the first one, because a kernel
 * that withholds the xlated bytes stops filling the struct there. */
static int32_t get_arrays(uint32_t fd, struct tsbpf_prog_info *out, uint32_t nr_map_ids, uint32_t xlated_len)
{
	struct bpf_prog_info info;
	uint32_t len, bytes;
	int32_t ret;

	for (int attempt = 0;; attempt++) {
		if (nr_map_ids > INFO_MAX_MAP_IDS || xlated_len > INFO_MAX_XLATED ||
		    tsbpf_mul_overflows(nr_map_ids, 4, &bytes))
			return tsbpf_error(-TSBPF_ERR_KERNEL, "the kernel reported %u map ids and %u bytes of instructions",
					   nr_map_ids, xlated_len);
		if (!tsbpf_buf_reserve(&map_ids_buf, bytes ? bytes : 4) || !tsbpf_buf_reserve(&xlated_buf, xlated_len ? xlated_len : 8))
			return tsbpf_error(-TSBPF_ERR_NOMEM, "no memory for the program's map ids and instructions");
		memset(&info, 0, sizeof(info));
		memset(xlated_buf.data, 0, xlated_len);
		len = sizeof(info);
		if ((ret = get_info(fd, &info, &len, nr_map_ids, xlated_len)) < 0)
			return ret;
		if (!(out->want & TSBPF_PROG_INFO_WANT_MAP_IDS) || info.nr_map_ids <= nr_map_ids ||
		    attempt + 1 >= MAX_INFO_ATTEMPTS)
			break;
		nr_map_ids = info.nr_map_ids;
	}
	if (out->want & TSBPF_PROG_INFO_WANT_MAP_IDS) {
		out->nr_map_ids = info.nr_map_ids < nr_map_ids ? info.nr_map_ids : nr_map_ids;
		out->map_ids = (const uint32_t *)map_ids_buf.data;
	}
	if (out->want & TSBPF_PROG_INFO_WANT_XLATED) {
		/*
		 * Under kernel.kptr_restrict (or without the capability to dump) the kernel
		 * clears the pointer and leaves the buffer alone. The host restores the pointer
		 * field, so tell by the bytes: no valid program starts with an all-zero insn.
		 */
		if (xlated_len && all_zero(xlated_buf.data, xlated_len < 8 ? xlated_len : 8))
			out->have |= TSBPF_PROG_INFO_XLATED_WITHHELD;
		else
			out->xlated = xlated_len ? xlated_buf.data : NULL;
	}
	return 0;
}

int32_t tsbpf_prog_get_info(uint32_t fd, struct tsbpf_prog_info *out)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info), want, nr_maps, xlated_len;
	int32_t ret;

	tsbpf_begin(BPF_OBJ_GET_INFO_BY_FD);
	if (!OPTS_VALID(out, struct tsbpf_prog_info))
		return tsbpf_error(-EINVAL, "invalid info struct");
	want = out->want;
	memset(out, 0, sizeof(*out));
	out->sz = sizeof(*out);
	out->want = want;

	tsbpf_buf_trim(&map_ids_buf, INFO_KEEP_MAP_IDS);
	tsbpf_buf_trim(&xlated_buf, INFO_KEEP_XLATED);
	memset(&info, 0, sizeof(info));
	if ((ret = get_info(fd, &info, &len, 0, 0)) < 0)
		return ret;
	if (KNOWS(len, xlated_prog_insns))
		out->have |= TSBPF_PROG_INFO_HAVE_BASICS;
	if (KNOWS(len, name))
		out->have |= TSBPF_PROG_INFO_HAVE_MAP_IDS;
	if (KNOWS(len, btf_id))
		out->have |= TSBPF_PROG_INFO_HAVE_BTF;
	if (KNOWS(len, run_cnt))
		out->have |= TSBPF_PROG_INFO_HAVE_RUN_STATS;
	if (KNOWS(len, recursion_misses))
		out->have |= TSBPF_PROG_INFO_HAVE_RECURSION;
	if (KNOWS(len, verified_insns))
		out->have |= TSBPF_PROG_INFO_HAVE_VERIFIED;
	if (KNOWS(len, attach_btf_id))
		out->have |= TSBPF_PROG_INFO_HAVE_ATTACH_BTF;

	out->type = info.type;
	out->id = info.id;
	memcpy(out->tag, info.tag, sizeof(out->tag));
	memcpy(out->name, info.name, sizeof(out->name));
	out->name[sizeof(out->name) - 1] = 0;
	out->created_by_uid = info.created_by_uid;
	out->load_time = info.load_time;
	out->jited_prog_len = info.jited_prog_len;
	out->xlated_prog_len = info.xlated_prog_len;
	out->verified_insns = info.verified_insns;
	out->btf_id = info.btf_id;
	out->ifindex = info.ifindex;
	out->gpl_compatible = info.gpl_compatible;
	out->attach_btf_obj_id = info.attach_btf_obj_id;
	out->attach_btf_id = info.attach_btf_id;
	out->run_time_ns = info.run_time_ns;
	out->run_cnt = info.run_cnt;
	out->recursion_misses = info.recursion_misses;

	nr_maps = (want & TSBPF_PROG_INFO_WANT_MAP_IDS) ? info.nr_map_ids : 0;
	xlated_len = (want & TSBPF_PROG_INFO_WANT_XLATED) ? info.xlated_prog_len : 0;
	if (xlated_len % sizeof(struct bpf_insn))
		return tsbpf_error(-TSBPF_ERR_KERNEL, "the kernel reported %u bytes of instructions, not whole instructions",
				   xlated_len);
	if (!nr_maps && !xlated_len)
		return 0; /* nothing to fetch: no maps, no instructions wanted */
	return get_arrays(fd, out, nr_maps, xlated_len);
}

int32_t tsbpf_enable_stats(uint32_t type)
{
	struct tsbpf_request req;
	int32_t ret;

	tsbpf_begin(BPF_ENABLE_STATS);
	REQ_INIT(&req, enable_stats.type);
	req.attr.enable_stats.type = type;
	ret = tsbpf_request_send(&req, BPF_ENABLE_STATS);
	if (ret < 0)
		return tsbpf_error(ret, "cannot enable statistics of type %u", type);
	return ret;
}
