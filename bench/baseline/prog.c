/* Raw C baseline for bench/prog.bench.ts: test_run_1 and prog_load_2. */
#include "bench.h"

static const struct bpf_insn ret42[2] = {
	{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 42 },
	{ .code = BPF_JMP | BPF_EXIT },
};

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

	n /= 20;
	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		fd = load_prog(BPF_PROG_TYPE_SOCKET_FILTER, ret42, 2);
		if (fd < 0)
			die("BPF_PROG_LOAD");
		close(fd);
	}
	report("prog_load_2", n, now_ns() - t0);
	return 0;
}
