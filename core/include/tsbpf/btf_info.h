/*
 * A BTF object the kernel holds (a program's or map's types, vmlinux, a module's):
 * BPF_OBJ_GET_INFO_BY_FD into struct bpf_btf_info, and the blob itself, so the host can
 * parse it with tsbpf_btf_open as `bpftool btf dump id N` does.
 */
#ifndef TSBPF_BTF_INFO_H
#define TSBPF_BTF_INFO_H

#include "abi.h"

/* Room for the object's name ("vmlinux", a module's name), NUL included. */
#define TSBPF_BTF_NAME_LEN 64

/* Bits of tsbpf_btf_obj_info.want. */
enum tsbpf_btf_info_want {
	TSBPF_BTF_INFO_WANT_DATA = 1, /* also fetch the BTF blob */
};

/* struct bpf_btf_info, decoded. `data` is owned by the core until the next call. */
struct tsbpf_btf_obj_info {
	uint32_t sz;
	uint32_t want;
	/* outputs */
	uint32_t id;
	uint32_t kernel_btf;
	uint32_t btf_size;
	const uint8_t *data;
	uint8_t name[TSBPF_BTF_NAME_LEN];
};

/* BPF_OBJ_GET_INFO_BY_FD on a BTF fd (from BPF_BTF_GET_FD_BY_ID or BPF_BTF_LOAD): id,
 * name and size first, then (if `want` asks) the blob through a second request.
 * Requires Linux 4.18 (name and kernel_btf: 5.11; older kernels leave them zero). */
TSBPF_API int32_t tsbpf_btf_get_info(uint32_t fd, struct tsbpf_btf_obj_info *info);

#endif
