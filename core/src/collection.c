/*
 * The pure parts of loading a collection (see tsbpf/collection.h): how each map is
 * created, relocating a program's instructions with the fds of its maps, and object names.
 */
#include <stdio.h>

#include "internal.h"
#include "tsbpf/collection.h"
#include "tsbpf/elf.h"

#define OP_LD_IMM64 (BPF_LD | BPF_IMM | BPF_DW)
#define OP_CALL (BPF_JMP | BPF_CALL)
#define MAP_TYPE_ARENA 33

/* Little-endian words of instructions and definitions. */
static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- names ----------------------------------------------------------------------------- */

static bool name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
}

static int32_t object_name(const char *name, uint8_t out[16])
{
	int32_t n = 0;

	for (; name && name[n] && n < (int32_t)BPF_OBJ_NAME_LEN - 1; n++)
		out[n] = (uint8_t)(name_char_ok(name[n]) ? name[n] : '_');
	memset(out + n, 0, (size_t)(BPF_OBJ_NAME_LEN - n));
	return n;
}

int32_t tsbpf_collection_name(const char *name, uint8_t *out)
{
	tsbpf_begin(-1);
	if (!out)
		return tsbpf_error(-EINVAL, "missing output buffer");
	return object_name(name, out);
}

/* ---- maps ------------------------------------------------------------------------------ */

/* Map types whose creation takes no BTF key or value type: the kernel refuses one (they
 * hold fds, or have no map_check_btf), so the object's types only describe them. */
static bool takes_btf_types(uint32_t type)
{
	switch (type) {
	case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
	case BPF_MAP_TYPE_CGROUP_ARRAY:
	case BPF_MAP_TYPE_STACK_TRACE:
	case BPF_MAP_TYPE_ARRAY_OF_MAPS:
	case BPF_MAP_TYPE_HASH_OF_MAPS:
	case BPF_MAP_TYPE_DEVMAP:
	case BPF_MAP_TYPE_DEVMAP_HASH:
	case BPF_MAP_TYPE_CPUMAP:
	case BPF_MAP_TYPE_XSKMAP:
	case BPF_MAP_TYPE_SOCKMAP:
	case BPF_MAP_TYPE_SOCKHASH:
	case BPF_MAP_TYPE_QUEUE:
	case BPF_MAP_TYPE_STACK:
	case BPF_MAP_TYPE_RINGBUF:
	case BPF_MAP_TYPE_USER_RINGBUF:
	case BPF_MAP_TYPE_STRUCT_OPS:
	case MAP_TYPE_ARENA:
		return false;
	default:
		return true;
	}
}

/*
 * A legacy definition's bytes after the standard 20. iproute2's struct bpf_elf_map adds
 * id, pinning, inner_id and inner_idx (16 bytes): pinning 1 (PIN_OBJECT_NS) or 2
 * (PIN_GLOBAL_NS) becomes pinning by name under the loader's pin path, as tc's own
 * directories are nothing tsbpf knows. Every other extra byte must be zero: a field tsbpf
 * does not know (inner_map_idx, an id) silently ignored would make a different map.
 */
static int32_t legacy_extra(struct tsbpf_coll_map *m, const char *name)
{
	const uint8_t *x = m->extra;
	uint32_t n = m->extra_size;

	if (n == 16 && get32(x + 4) <= 2) {
		static const char *const fields[] = { "id", "pinning", "inner_id", "inner_idx" };

		for (uint32_t f = 0; f < 4; f++)
			if (f != 1 && get32(x + 4 * f))
				return tsbpf_error(-EINVAL,
						   "map \"%s\": iproute2 field %s is %u: map ids and inner map indexes are not supported",
						   name, fields[f], get32(x + 4 * f));
		if (get32(x + 4))
			m->out_pinning = TSBPF_COLL_PIN_BY_NAME;
		return 0;
	}
	for (uint32_t i = 0; i < n; i++)
		if (x[i])
			return tsbpf_error(-EINVAL,
					   "map \"%s\": byte %u of its %u-byte legacy definition is 0x%02x: fields after "
					   "struct bpf_map_def's 20 bytes (inner map index, NUMA node) are not supported unless zero",
					   name, 20 + i, 20 + n, x[i]);
	return 0;
}

int32_t tsbpf_collection_map_plan(struct tsbpf_coll_map *m)
{
	char name[BPF_OBJ_NAME_LEN + 48];
	int32_t err;

	tsbpf_begin(-1);
	if (!OPTS_VALID(m, struct tsbpf_coll_map))
		return tsbpf_error(-EINVAL, "invalid options struct");
	snprintf(name, sizeof(name), "%s", m->name ? m->name : "");
	object_name(m->name, m->out_name);
	m->out_key_size = m->key_size;
	m->out_value_size = m->value_size;
	m->out_max_entries = m->max_entries;
	m->out_flags = m->flags;
	m->out_key_type = m->out_value_type = 0;
	m->out_pinning = TSBPF_COLL_PIN_NONE;
	m->freeze = 0;

	if (m->type == BPF_MAP_TYPE_STRUCT_OPS || m->source == TSBPF_MAP_SRC_STRUCT_OPS)
		return tsbpf_error(-TSBPF_ERR_NOTSUP,
				   "map \"%s\": struct_ops maps are not supported: they need the kernel's struct_ops "
				   "types and programs attached by member",
				   name);
	if (m->extra_size && (!m->extra || m->source != TSBPF_MAP_SRC_LEGACY))
		return tsbpf_error(-EINVAL, "map \"%s\": extra definition bytes belong to legacy maps only", name);
	if (m->extra_size && (err = legacy_extra(m, name)))
		return err;

	switch (m->pinning) {
	case TSBPF_COLL_PIN_NONE:
		break;
	case TSBPF_COLL_PIN_BY_NAME:
		m->out_pinning = TSBPF_COLL_PIN_BY_NAME;
		break;
	default:
		return tsbpf_error(-TSBPF_ERR_NOTSUP, "map \"%s\": pinning %u is not supported (only LIBBPF_PIN_BY_NAME, 1)",
				   name, m->pinning);
	}
	if (m->is_inner && m->out_pinning)
		return tsbpf_error(-EINVAL, "map \"%s\": an inner map template cannot be pinned", name);

	/* Sizes the kernel decides for some types, as cilium/ebpf and libbpf fix them up. */
	switch (m->type) {
	case BPF_MAP_TYPE_ARRAY_OF_MAPS:
	case BPF_MAP_TYPE_HASH_OF_MAPS:
		if (m->value_size != 0 && m->value_size != 4)
			return tsbpf_error(-EINVAL, "map \"%s\": a map of maps has 4-byte values (map fds), not %u", name,
					   m->value_size);
		m->out_value_size = 4;
		break;
	case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
		if ((m->key_size != 0 && m->key_size != 4) || (m->value_size != 0 && m->value_size != 4))
			return tsbpf_error(-EINVAL, "map \"%s\": a perf event array has 4-byte keys and values, not %u and %u",
					   name, m->key_size, m->value_size);
		m->out_key_size = m->out_value_size = 4;
		/* One slot per possible CPU; larger constants in old objects are clamped. */
		if (m->n_cpus && (m->max_entries == 0 || m->max_entries > m->n_cpus))
			m->out_max_entries = m->n_cpus;
		break;
	case BPF_MAP_TYPE_CPUMAP:
		if (m->n_cpus && (m->max_entries == 0 || m->max_entries > m->n_cpus))
			m->out_max_entries = m->n_cpus;
		break;
	default:
		break;
	}

	if (m->source == TSBPF_MAP_SRC_DATA) {
		if (m->type != BPF_MAP_TYPE_ARRAY || m->key_size != 4 || m->max_entries != 1)
			return tsbpf_error(-EINVAL, "map \"%s\": a global data map is a one-element array with 4-byte keys", name);
		/* libbpf and cilium/ebpf map global data into user space when the kernel can. */
		if (m->mmapable)
			m->out_flags |= BPF_F_MMAPABLE;
		/* .rodata: constant for programs, frozen once written so the verifier may rely on it. */
		m->freeze = (m->flags & BPF_F_RDONLY_PROG) != 0;
		if (m->have_btf && m->value_type) {
			m->out_key_type = 0; /* the kernel accepts a void key for a DATASEC value */
			m->out_value_type = m->value_type;
		}
		return 0;
	}
	if (m->have_btf && m->key_type && m->value_type && takes_btf_types(m->type)) {
		m->out_key_type = m->key_type;
		m->out_value_type = m->value_type;
	}
	return 0;
}

/* ---- relocation ------------------------------------------------------------------------ */

static const char *const reloc_names[] = {
	[TSBPF_RELOC_MAP_FD] = "map",	    [TSBPF_RELOC_MAP_VALUE] = "map value", [TSBPF_RELOC_KCONFIG] = "kconfig",
	[TSBPF_RELOC_KSYM] = "ksym",	    [TSBPF_RELOC_KFUNC] = "kfunc",	    [TSBPF_RELOC_EXTERN] = "extern",
	[TSBPF_RELOC_CALL] = "call",	    [TSBPF_RELOC_FUNC_ADDR] = "function address",
};

static int32_t reloc_error(uint32_t i, const struct tsbpf_coll_reloc *r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int32_t reloc_error(uint32_t i, const struct tsbpf_coll_reloc *r, const char *fmt, ...)
{
	char what[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return tsbpf_error(-TSBPF_ERR_RELOC, "relocation %u (%s, instruction %u): %s", i,
			   r->kind < ARRAY_SIZE(reloc_names) && reloc_names[r->kind] ? reloc_names[r->kind] : "unknown",
			   r->insn, what);
}

int32_t tsbpf_collection_relocate(uint8_t *insns, uint32_t insn_cnt, const struct tsbpf_coll_reloc *relocs, uint32_t n)
{
	tsbpf_begin(-1);
	if ((!insns && insn_cnt) || (!relocs && n))
		return tsbpf_error(-EINVAL, "missing instructions or relocations");
	for (uint32_t i = 0; i < n; i++) {
		const struct tsbpf_coll_reloc *r = &relocs[i];
		uint8_t *insn, code, src;

		if (r->insn >= insn_cnt)
			return reloc_error(i, r, "outside the program's %u instructions", insn_cnt);
		insn = insns + (size_t)r->insn * 8;
		code = insn[0];
		src = insn[1] >> 4;
		switch (r->kind) {
		case TSBPF_RELOC_MAP_FD:
		case TSBPF_RELOC_MAP_VALUE:
		case TSBPF_RELOC_KCONFIG: {
			uint8_t want = r->kind == TSBPF_RELOC_MAP_FD ? BPF_PSEUDO_MAP_FD : BPF_PSEUDO_MAP_VALUE;

			if (code != OP_LD_IMM64 || r->insn + 1 >= insn_cnt)
				return reloc_error(i, r, "opcode 0x%02x is not a 64-bit load", code);
			if (src != want)
				return reloc_error(i, r, "source register %u, expected %u", src, want);
			if (r->fd < 0)
				return reloc_error(i, r, "no map fd (%d)", r->fd);
			if (r->kind != TSBPF_RELOC_MAP_FD && r->offset >= r->value_size)
				return reloc_error(i, r, "offset %u is outside the map's %u-byte value", r->offset, r->value_size);
			put32(insn + 4, (uint32_t)r->fd);
			/* The second half's immediate holds the offset into the value (0 for a map fd). */
			put32(insn + 8 + 4, r->kind == TSBPF_RELOC_MAP_FD ? 0 : r->offset);
			break;
		}
		case TSBPF_RELOC_CALL:
			if (code != OP_CALL || src != BPF_PSEUDO_CALL)
				return reloc_error(i, r, "opcode 0x%02x source %u is not a bpf-to-bpf call", code, src);
			break;
		case TSBPF_RELOC_FUNC_ADDR:
			if (code != OP_LD_IMM64 || src != BPF_PSEUDO_FUNC)
				return reloc_error(i, r, "opcode 0x%02x source %u is not the address of a function", code, src);
			break;
		case TSBPF_RELOC_KSYM:
		case TSBPF_RELOC_KFUNC:
		case TSBPF_RELOC_EXTERN:
			return tsbpf_error(-TSBPF_ERR_NOTSUP,
					   "relocation %u (%s, instruction %u): externs are resolved before relocation", i,
					   reloc_names[r->kind], r->insn);
		default:
			return reloc_error(i, r, "unknown relocation kind %u", r->kind);
		}
	}
	return 0;
}
