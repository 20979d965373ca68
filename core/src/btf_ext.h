/*
 * .BTF.ext records by section. Records keep the file's layout (insn_off in bytes
 * from the start of the section) and are only referenced, never copied.
 */
#ifndef TSBPF_BTF_EXT_H
#define TSBPF_BTF_EXT_H

#include "btf_internal.h"

enum { BTF_EXT_FUNC = 0, BTF_EXT_LINE = 1, BTF_EXT_CORE = 2 };

/* The last CO-RE relocation kind (BPF_CORE_TYPE_MATCHES). */
#define BTF_EXT_CORE_KIND_MAX 12

struct btf_ext_sec {
	const char *name;    /* the ELF section, by its name in the BTF strings */
	const uint8_t *recs; /* count records of rec_size bytes */
	uint32_t count;
};

struct btf_ext_kind {
	uint32_t rec_size;
	uint32_t nsecs;
	uint32_t total;
	struct btf_ext_sec *secs;
};

struct btf_ext {
	struct btf_ext_kind func, line, core;
};

/* Parses a .BTF.ext section against the object's BTF. On failure nothing needs freeing. */
int32_t btf_ext_parse(const uint8_t *data, uint32_t size, const struct tsbpf_btf *btf, struct btf_ext *out);
void btf_ext_free(struct btf_ext *ext);
/* The records of one section, or NULL. */
const struct btf_ext_sec *btf_ext_find(const struct btf_ext_kind *k, const char *name);

#endif
