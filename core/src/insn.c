/*
 * Encoding of structured instructions into the kernel's struct bpf_insn.
 */
#include "internal.h"
#include "tsbpf/insn.h"

_Static_assert(TSBPF_OP_MOV64_IMM == (BPF_ALU64 | BPF_MOV | BPF_K), "mov64 imm opcode");
_Static_assert(TSBPF_OP_EXIT == (BPF_JMP | BPF_EXIT), "exit opcode");
_Static_assert(sizeof(struct bpf_insn) == 8, "struct bpf_insn is 8 bytes");

static bool is_ld_imm64(uint8_t code)
{
	return code == (BPF_LD | BPF_IMM | BPF_DW);
}

int32_t tsbpf_insns_encode(const struct tsbpf_insn *insns, uint32_t n, uint8_t *out, uint32_t out_cap)
{
	uint32_t pos = 0;

	tsbpf_begin(-1);
	if (n && (!insns || !out))
		return tsbpf_error(-EINVAL, "missing instruction buffer");
	for (uint32_t i = 0; i < n; i++) {
		const struct tsbpf_insn *s = &insns[i];
		uint32_t width = is_ld_imm64(s->code) ? 16 : 8;
		struct bpf_insn raw[2];

		if (s->dst > 10 || s->src > 10)
			return tsbpf_error(-TSBPF_ERR_FORMAT, "instruction %u: register r%u does not exist",
					   i, s->dst > 10 ? s->dst : s->src);
		if (!is_ld_imm64(s->code) && (s->imm > INT32_MAX || s->imm < INT32_MIN))
			return tsbpf_error(-TSBPF_ERR_FORMAT,
					   "instruction %u: immediate %lld does not fit in 32 bits", i,
					   (long long)s->imm);
		if (out_cap - pos < width)
			return tsbpf_error(-E2BIG, "instruction %u: output buffer of %u bytes is full", i, out_cap);
		memset(raw, 0, sizeof(raw));
		raw[0].code = s->code;
		raw[0].dst_reg = s->dst;
		raw[0].src_reg = s->src;
		raw[0].off = s->off;
		raw[0].imm = (int32_t)(uint32_t)(uint64_t)s->imm;
		if (width == 16)
			raw[1].imm = (int32_t)(uint32_t)((uint64_t)s->imm >> 32);
		memcpy(out + pos, raw, width);
		pos += width;
	}
	return (int32_t)pos;
}
