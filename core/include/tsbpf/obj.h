/*
 * Commands every kind of BPF object shares: pinning to bpffs, opening a pin, walking ids,
 * opening by id, and reading the object's info struct.
 */
#ifndef TSBPF_OBJ_H
#define TSBPF_OBJ_H

#include "abi.h"

/* Object kinds, for the commands that come in one flavour per kind. */
enum tsbpf_obj_kind {
	TSBPF_OBJ_PROG = 0,
	TSBPF_OBJ_MAP = 1,
	TSBPF_OBJ_BTF = 2,
	TSBPF_OBJ_LINK = 3,
};

/* BPF_OBJ_PIN: pins fd at path (on a bpffs mount). Returns 0. */
TSBPF_API int32_t tsbpf_obj_pin(uint32_t fd, const char *path);
/* BPF_OBJ_GET: opens the object pinned at path; file_flags are BPF_F_RDONLY/WRONLY. */
TSBPF_API int32_t tsbpf_obj_get(const char *path, uint32_t file_flags);
/* BPF_{PROG,MAP,BTF,LINK}_GET_NEXT_ID: the first id above start_id into *next_id.
 * Returns 0, or -ENOENT after the last one. */
TSBPF_API int32_t tsbpf_obj_get_next_id(uint32_t kind, uint32_t start_id, uint32_t *next_id);
/* BPF_{PROG,MAP,BTF,LINK}_GET_FD_BY_ID: a new fd for the object with this id. */
TSBPF_API int32_t tsbpf_obj_get_fd_by_id(uint32_t kind, uint32_t id, uint32_t open_flags);
/* BPF_OBJ_GET_INFO_BY_FD into info (*info_len bytes); *info_len becomes what the kernel
 * filled. Zeroes info first, so fields the kernel does not know read as zero. */
TSBPF_API int32_t tsbpf_obj_get_info(uint32_t fd, void *info, uint32_t *info_len);

#endif
