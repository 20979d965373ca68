/*
 * Externs the kernel defines: finding a __ksym variable or kfunc in kernel BTF (by libbpf's
 * rules: a variable by its name, a function by its essential name, vmlinux before modules,
 * with a compatible type), rewriting the instruction that refers to it, and encoding
 * .kconfig values into the bytes of the .kconfig map.
 */
#include <stdio.h>

#include "core_relo_internal.h"

/* ---- kernel symbols ----------------------------------------------------------------- */

/* The next type of this blob (not its base) above `after` named exactly `name` (len bytes). */
static int32_t find_named(const struct tsbpf_btf *tb, const char *name, size_t len, uint32_t kind, uint32_t after)
{
	size_t ess = btf_essential_len(name);
	int32_t r;

	/* The name index chains names by essential name, so exact names are found there too. */
	for (r = btf_find_essential(tb, name, ess, kind, after); r > 0; r = btf_find_essential(tb, name, ess, kind, (uint32_t)r)) {
		const char *other = btf_name(tb, (uint32_t)r);

		if (btf_kind(tb, (uint32_t)r) == kind && strlen(other) == len && memcmp(other, name, len) == 0)
			return r;
	}
	return r;
}

int32_t tsbpf_core_find_ksym(const struct tsbpf_btf *local, uint32_t local_id, const struct tsbpf_btf *const *targets,
			     uint32_t n_targets, uint32_t *target)
{
	const uint8_t *t;
	const char *name;
	char ess[256];
	uint32_t kind, local_type;
	size_t len;
	bool incompatible = false;
	struct core_type lt;

	tsbpf_begin(-1);
	if (!local || (n_targets && !targets) || !target)
		return tsbpf_error(-EINVAL, "ksym: missing arguments");
	t = btf_type_rec(local, local_id);
	kind = t ? btf_rec_kind(t) : BTF_KIND_UNKN;
	if (kind != BTF_KIND_VAR && kind != BTF_KIND_FUNC)
		return tsbpf_error(-EINVAL, "ksym: local type [%u] is not a VAR or FUNC", local_id);
	name = core_str(local, btf_rec_name_off(t));
	/* Variables are looked up by their name, functions by their essential name (libbpf). */
	len = kind == BTF_KIND_FUNC ? btf_essential_len(name) : strlen(name);
	if (len == 0 || len >= sizeof(ess))
		return tsbpf_error(-EINVAL, "ksym: local type [%u] has no usable name", local_id);
	memcpy(ess, name, len);
	ess[len] = '\0';
	if (kind == BTF_KIND_VAR) {
		if (!core_resolve(local, btf_rec_size_type(t), &lt))
			return tsbpf_error(-TSBPF_ERR_FORMAT, "ksym %s: its type is broken", name);
		local_type = lt.id;
	} else {
		local_type = btf_rec_size_type(t); /* the FUNC_PROTO */
	}
	for (uint32_t i = 0; i < n_targets; i++) {
		const struct tsbpf_btf *tb = targets[i];
		int32_t r;

		if (!tb)
			continue;
		for (r = find_named(tb, ess, len, kind, 0); r > 0; r = find_named(tb, ess, len, kind, (uint32_t)r)) {
			const uint8_t *kt = btf_type_rec(tb, (uint32_t)r);
			uint32_t ktype = btf_rec_size_type(kt);
			int32_t c;

			if (kind == BTF_KIND_VAR) {
				struct core_type k;

				if (!core_resolve(tb, ktype, &k))
					continue;
				ktype = k.id;
			}
			c = core_types_are_compat(local, local_type, tb, ktype);
			if (c > 0) {
				*target = i;
				return r;
			}
			incompatible = true;
		}
		if (r < 0 && r != -ENOENT)
			return tsbpf_error(r, "ksym %s: out of memory", ess);
	}
	if (incompatible)
		return tsbpf_error(-TSBPF_ERR_RELOC, "ksym %s: the kernel's %s has a type incompatible with the declaration",
				   name, kind == BTF_KIND_FUNC ? "function" : "variable");
	return tsbpf_error(-ENOENT, "ksym %s: no %s of that name in the kernel's BTF", name,
			   kind == BTF_KIND_FUNC ? "function" : "variable");
}

/* ---- instruction patches ------------------------------------------------------------- */

int32_t tsbpf_extern_patch(uint8_t *insns, uint32_t insn_cnt, uint32_t slot, uint32_t how, uint64_t value, int32_t aux)
{
	uint8_t *insn;
	bool ldimm64, call;

	tsbpf_begin(-1);
	if (!insns || slot >= insn_cnt)
		return tsbpf_error(-EINVAL, "extern: instruction %u is outside the program (%u instructions)", slot, insn_cnt);
	insn = insns + (size_t)slot * 8;
	ldimm64 = insn[0] == (BPF_LD | BPF_IMM | BPF_DW) && slot + 1 < insn_cnt;
	call = insn[0] == (BPF_JMP | BPF_CALL);
	switch (how) {
	case TSBPF_PATCH_BTF_ID:
	case TSBPF_PATCH_ADDR:
		if (!ldimm64)
			return tsbpf_error(-TSBPF_ERR_RELOC, "extern: instruction %u (opcode 0x%02x) is not a 64-bit load",
					   slot, insn[0]);
		insn[1] = (uint8_t)((insn[1] & 0x0f) | (how == TSBPF_PATCH_BTF_ID ? BPF_PSEUDO_BTF_ID << 4 : 0));
		wr32(insn + 4, (uint32_t)value);
		wr32(insn + 12, how == TSBPF_PATCH_BTF_ID ? (uint32_t)aux : (uint32_t)(value >> 32));
		return 2;
	case TSBPF_PATCH_KFUNC:
	case TSBPF_PATCH_KFUNC_POISON:
		if (ldimm64) {
			/* The address of a kfunc (bpf_ksym_exists): its BTF id, or 0 when missing. */
			insn[1] = (uint8_t)((insn[1] & 0x0f) | (how == TSBPF_PATCH_KFUNC ? BPF_PSEUDO_BTF_ID << 4 : 0));
			wr32(insn + 4, how == TSBPF_PATCH_KFUNC ? (uint32_t)value : 0);
			wr32(insn + 12, 0);
			return 2;
		}
		if (!call)
			return tsbpf_error(-TSBPF_ERR_RELOC, "extern: instruction %u (opcode 0x%02x) is neither a call nor a 64-bit load",
					   slot, insn[0]);
		if (how == TSBPF_PATCH_KFUNC) {
			if (aux < 0 || aux > INT16_MAX)
				return tsbpf_error(-EINVAL, "extern: fd_array index %d does not fit a call's offset", aux);
			insn[1] = (uint8_t)(BPF_PSEUDO_KFUNC_CALL << 4);
			insn[2] = (uint8_t)aux;
			insn[3] = (uint8_t)(aux >> 8);
			wr32(insn + 4, (uint32_t)value);
		} else {
			/* A helper call the verifier rejects, naming the extern, if it is reachable. */
			if (aux < 0 || aux > 1000000)
				return tsbpf_error(-EINVAL, "extern: extern index %d is out of range", aux);
			insn[1] = 0;
			insn[2] = insn[3] = 0;
			wr32(insn + 4, (uint32_t)(TSBPF_KFUNC_POISON_BASE + aux));
		}
		return 1;
	default:
		return tsbpf_error(-EINVAL, "extern: unknown patch kind %u", how);
	}
}

/* ---- .kconfig values ----------------------------------------------------------------- */

enum kcfg { KCFG_UNKNOWN, KCFG_CHAR, KCFG_BOOL, KCFG_INT, KCFG_TRISTATE, KCFG_CHAR_ARR };

/* libbpf's classification of a kconfig extern's type. */
static enum kcfg kcfg_type(const struct tsbpf_btf *btf, uint32_t id, bool *is_signed, uint32_t *size, int depth)
{
	struct core_type t;
	uint32_t sz;

	*is_signed = false;
	if (depth > 2 || !core_resolve(btf, id, &t) || !t.t)
		return KCFG_UNKNOWN;
	sz = btf_rec_size_type(t.t);
	switch (t.kind) {
	case BTF_KIND_INT: {
		uint32_t enc = core_int_encoding(t.t);

		*size = sz;
		if (enc & BTF_INT_BOOL)
			return sz == 1 ? KCFG_BOOL : KCFG_UNKNOWN;
		*is_signed = enc & BTF_INT_SIGNED;
		if (sz == 1)
			return KCFG_CHAR;
		return sz == 2 || sz == 4 || sz == 8 ? KCFG_INT : KCFG_UNKNOWN;
	}
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
		*size = sz;
		if ((t.kind == BTF_KIND_ENUM && sz != 4) || strcmp(btf_name(btf, t.id), "libbpf_tristate") != 0)
			return KCFG_UNKNOWN;
		return KCFG_TRISTATE;
	case BTF_KIND_ARRAY: {
		bool s;
		uint32_t esz = 0, n = rd32(t.t + BTF_TYPE_LEN + 8);

		if (n == 0 || kcfg_type(btf, rd32(t.t + BTF_TYPE_LEN), &s, &esz, depth + 1) != KCFG_CHAR)
			return KCFG_UNKNOWN;
		*size = n;
		return KCFG_CHAR_ARR;
	}
	default:
		return KCFG_UNKNOWN;
	}
}

/* strtoull(value, 0) for a whole string: optional '-', 0x hex, 0 octal or decimal. */
static bool parse_num(const char *s, uint64_t *out)
{
	bool neg = false;
	unsigned base = 10;
	uint64_t v = 0;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	} else if (s[0] == '0' && s[1]) {
		base = 8;
		s++;
	}
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (*s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return false;
		if (d >= base || v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*out = neg ? (uint64_t)0 - v : v;
	return true;
}

int32_t tsbpf_kconfig_encode(const struct tsbpf_btf *btf, uint32_t var_id, const char *value, uint8_t *out, uint32_t size)
{
	const uint8_t *v;
	const char *name;
	enum kcfg kind;
	bool is_signed = false;
	uint32_t sz = 0;
	uint64_t num;
	size_t len;

	tsbpf_begin(-1);
	if (!btf || !value || (size && !out))
		return tsbpf_error(-EINVAL, "kconfig: missing arguments");
	v = btf_type_rec(btf, var_id);
	if (!v || btf_rec_kind(v) != BTF_KIND_VAR)
		return tsbpf_error(-EINVAL, "kconfig: type [%u] is not a VAR", var_id);
	name = core_str(btf, btf_rec_name_off(v));
	kind = kcfg_type(btf, btf_rec_size_type(v), &is_signed, &sz, 0);
	if (kind == KCFG_UNKNOWN)
		return tsbpf_error(-EINVAL,
				   "kconfig %s: its type is not one a config value fits (bool, char, an integer of 1 to 8 bytes, enum libbpf_tristate, a char array)",
				   name);
	if (sz != size)
		return tsbpf_error(-EINVAL, "kconfig %s: its slot is %u bytes, its type %u", name, size, sz);
	memset(out, 0, size);
	switch (value[0]) {
	case 'y':
	case 'n':
	case 'm':
		switch (kind) {
		case KCFG_BOOL:
			if (value[0] == 'm')
				return tsbpf_error(-EINVAL, "kconfig %s: the value 'm' (module) needs a tristate or char, not a bool", name);
			out[0] = value[0] == 'y';
			return 0;
		case KCFG_TRISTATE:
			/* enum libbpf_tristate: TRI_NO = 0, TRI_YES = 1, TRI_MODULE = 2 */
			wr32(out, value[0] == 'y' ? 1 : value[0] == 'm' ? 2 : 0);
			return 0;
		case KCFG_CHAR:
			out[0] = (uint8_t)value[0];
			return 0;
		default:
			return tsbpf_error(-EINVAL, "kconfig %s: the value '%c' needs a bool, tristate or char type", name,
					   value[0]);
		}
	case '"':
		if (kind != KCFG_CHAR_ARR)
			return tsbpf_error(-EINVAL, "kconfig %s: a string value needs a char array", name);
		len = strlen(value);
		if (len < 2 || value[len - 1] != '"')
			return tsbpf_error(-EINVAL, "kconfig %s: the string %.60s has no closing quote", name, value);
		len -= 2;
		/* Cut to the array; the terminating NUL only when there is room (cilium/ebpf). */
		memcpy(out, value + 1, len < size ? len : size);
		return 0;
	default:
		if (!parse_num(value, &num))
			return tsbpf_error(-EINVAL, "kconfig %s: '%.60s' is not a number", name, value);
		if (kind != KCFG_INT && kind != KCFG_CHAR && kind != KCFG_BOOL)
			return tsbpf_error(-EINVAL, "kconfig %s: the number %.60s needs an integer, char or bool type", name, value);
		if (kind == KCFG_BOOL && num > 1)
			return tsbpf_error(-EINVAL, "kconfig %s: %llu is not a boolean", name, (unsigned long long)num);
		if (sz < 8) {
			uint32_t bits = sz * 8;
			bool fits = is_signed ? num + (1ull << (bits - 1)) < (1ull << bits) : (num >> bits) == 0;

			if (!fits)
				return tsbpf_error(-ERANGE, "kconfig %s: %.60s does not fit in %u %s bytes", name, value, sz,
						   is_signed ? "signed" : "unsigned");
		}
		for (uint32_t i = 0; i < sz; i++)
			out[i] = (uint8_t)(num >> (8 * i));
		return 0;
	}
}
