/* Raw C baseline for bench/asm.bench.ts: the same 1024-instruction program written as
 * struct bpf_insn (the kernel's BPF_* macro style), read back field by field, and printed
 * with snprintf. No validation: the floor of the work. */
#include "bench.h"

#define N 1024

static struct bpf_insn insns[N + 128];
static volatile uint64_t sink;

static unsigned int build(void)
{
	unsigned int k = 0;

	for (int i = 0; k < N; i++) {
		insns[k++] = (struct bpf_insn){ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 1, .imm = i };
		insns[k++] = (struct bpf_insn){ .code = BPF_ALU64 | BPF_ADD | BPF_X, .dst_reg = 0, .src_reg = 1 };
		insns[k++] = (struct bpf_insn){ .code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = 2, .src_reg = 10, .off = -8 };
		insns[k++] = (struct bpf_insn){ .code = BPF_STX | BPF_MEM | BPF_DW, .dst_reg = 10, .src_reg = 2, .off = -16 };
		insns[k++] = (struct bpf_insn){ .code = BPF_JMP | BPF_JEQ | BPF_K, .dst_reg = 2, .off = 1, .imm = 7 };
		insns[k++] = (struct bpf_insn){ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_get_prandom_u32 };
		insns[k++] = (struct bpf_insn){ .code = BPF_LD | BPF_IMM | BPF_DW, .dst_reg = 1, .imm = 0 };
		insns[k++] = (struct bpf_insn){ .imm = i };
		insns[k++] = (struct bpf_insn){ .code = BPF_STX | BPF_ATOMIC | BPF_DW, .dst_reg = 10, .src_reg = 1, .off = -24, .imm = BPF_ADD };
	}
	return k;
}

int main(int argc, char **argv)
{
	long n = iterations(argc, argv, 200);
	unsigned int slots = build();
	char line[128];
	uint64_t t0;

	for (int warm = 0; warm < 2; warm++) {
		t0 = now_ns();
		for (long i = 0; i < n; i++)
			sink += build();
		if (warm)
			report("asm_build_assemble", n * N, now_ns() - t0);
	}
	for (int warm = 0; warm < 2; warm++) {
		t0 = now_ns();
		for (long i = 0; i < n; i++)
			for (unsigned int s = 0; s < slots; s++) {
				const struct bpf_insn *in = &insns[s];
				sink += in->code + in->dst_reg + in->src_reg + (uint64_t)in->off + (uint64_t)in->imm;
				if (in->code == (BPF_LD | BPF_IMM | BPF_DW))
					sink += (uint64_t)insns[++s].imm << 32;
			}
		if (warm)
			report("asm_decode", n * N, now_ns() - t0);
	}
	for (int warm = 0; warm < 2; warm++) {
		t0 = now_ns();
		for (long i = 0; i < n; i++)
			for (unsigned int s = 0; s < slots; s++) {
				const struct bpf_insn *in = &insns[s];
				sink += (uint64_t)snprintf(line, sizeof(line), "r%d %s %d (r%d + %d)", in->dst_reg,
							   in->code & 0x08 ? "+=" : "=", in->imm, in->src_reg, in->off);
				if (in->code == (BPF_LD | BPF_IMM | BPF_DW))
					s++;
			}
		if (warm)
			report("asm_disassemble", n * N, now_ns() - t0);
	}
	return 0;
}
