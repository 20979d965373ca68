/* Raw C baseline for bench/prog.bench.ts: test_run_1, prog_load_2 and prog_load_1000. */
#include "bench.h"

static const struct bpf_insn ret42[2] = {
	{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 42 },
	{ .code = BPF_JMP | BPF_EXIT },
};

static struct bpf_insn long_prog[1000];

#define CHUNKS 10

/* Loads and closes a socket filter m times after a short warm-up, in CHUNKS chunks, and
 * reports the median chunk's mean, as bench/prog.bench.ts does. */
static void loads(const char *op, const struct bpf_insn *insns, unsigned int cnt, long m)
{
	long per = m / CHUNKS > 0 ? m / CHUNKS : 1;
	uint64_t chunks[CHUNKS], t0;
	int fd;

	for (long i = 0; i < (m < 50 ? m : 50); i++) {
		fd = load_prog(BPF_PROG_TYPE_SOCKET_FILTER, insns, cnt);
		if (fd < 0)
			die("BPF_PROG_LOAD");
		close(fd);
	}
	for (int k = 0; k < CHUNKS; k++) {
		t0 = now_ns();
		for (long i = 0; i < per; i++) {
			fd = load_prog(BPF_PROG_TYPE_SOCKET_FILTER, insns, cnt);
			if (fd < 0)
				die("BPF_PROG_LOAD");
			close(fd);
		}
		chunks[k] = now_ns() - t0;
	}
	qsort(chunks, CHUNKS, sizeof(chunks[0]), cmp_u64);
	report(op, per, chunks[CHUNKS / 2]);
}

int main(int argc, char **argv)
{
	long n = iterations(argc, argv, 200000);
	unsigned char in[64] = { 0 }, out[64 + 256];
	union bpf_attr a;
	uint64_t t0;
	int fd = load_prog(BPF_PROG_TYPE_XDP, ret42, 2);

	if (fd < 0)
		die("BPF_PROG_LOAD");
	/* BPF_PROG_TEST_RUN, repeat 1, 64-byte input, output buffer, as Program.test() does. */
	for (int warm = 0; warm < 2; warm++) {
		t0 = now_ns();
		for (long i = 0; i < n; i++) {
			memset(&a, 0, sizeof(a));
			a.test.prog_fd = fd;
			a.test.data_in = (uintptr_t)in;
			a.test.data_size_in = sizeof(in);
			a.test.data_out = (uintptr_t)out;
			a.test.data_size_out = sizeof(out);
			a.test.repeat = 1;
			if (sys_bpf(BPF_PROG_TEST_RUN, &a, sizeof(a)) || a.test.retval != 42)
				die("BPF_PROG_TEST_RUN");
		}
		if (warm)
			report("test_run_1", n, now_ns() - t0);
	}
	close(fd);

	loads("prog_load_2", ret42, 2, n / 20);

	/* r0 = 0; 998 x r0 += 1; exit */
	long_prog[0] = (struct bpf_insn){ .code = BPF_ALU64 | BPF_MOV | BPF_K, .imm = 0 };
	for (int i = 1; i < 999; i++)
		long_prog[i] = (struct bpf_insn){ .code = BPF_ALU64 | BPF_ADD | BPF_K, .imm = 1 };
	long_prog[999] = (struct bpf_insn){ .code = BPF_JMP | BPF_EXIT };
	loads("prog_load_1000", long_prog, 1000, n / 200);
	return 0;
}
