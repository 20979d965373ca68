/*
 * Kernel object names (programs, maps, links): at most BPF_OBJ_NAME_LEN - 1
 * bytes of [A-Za-z0-9_.], as bpf_obj_name_cpy() in kernel/bpf/syscall.c
 * enforces.
 */
#ifndef TSBPF_OBJECT_NAME_H
#define TSBPF_OBJECT_NAME_H

#include "internal.h"

/* Returns 0 or -EINVAL with a reason naming the offending character. */
int32_t tsbpf_object_name_check(const char *name);
/* Copies a checked name into the attr's fixed-size field. */
void tsbpf_object_name_copy(char dst[BPF_OBJ_NAME_LEN], const char *name);

#endif
