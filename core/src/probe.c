/*
 * Feature probes as a table: each entry names the feature, the first kernel
 * that has it, and a function that asks the kernel and reads the answer.
 * Probes leave their fds in the result for the host to close: the core
 * cannot close an fd itself.
 */
#include "internal.h"
#include "tsbpf/probe.h"
#include "tsbpf/prog.h"

#define KERNEL_VERSION(a, b, c) (((a) << 16) + ((b) << 8) + (c))

struct probe {
	const char *name;
	uint32_t min_kernel;
	void (*run)(struct tsbpf_probe_result *out);
};

static void keep_fd(struct tsbpf_probe_result *out, int32_t fd)
{
	if (fd >= 0 && out->n_fds < TSBPF_PROBE_MAX_FDS)
		out->fds[out->n_fds++] = fd;
}

/* Errors that say nothing about the kernel's abilities, only about ours. */
static bool inconclusive(int32_t err)
{
	return err == -EPERM || err == -EACCES || err == -ENOMEM || err <= -TSBPF_ERR_BASE;
}

static void decide(struct tsbpf_probe_result *out, int32_t err)
{
	out->err = err < 0 ? -err : 0;
	if (err >= 0)
		out->verdict = TSBPF_VERDICT_YES;
	else if (inconclusive(err))
		out->verdict = TSBPF_VERDICT_UNKNOWN;
	else
		out->verdict = TSBPF_VERDICT_NO;
}

/* r0 = 0; exit */
static const uint8_t ret0_insns[16] = { 0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0 };

static int32_t load_ret0(uint32_t prog_type)
{
	struct tsbpf_prog_load_opts o = {
		.sz = sizeof(o),
		.prog_type = prog_type,
		.insns = ret0_insns,
		.insn_cnt = 2,
		.license = "GPL",
	};
	return tsbpf_prog_load(&o);
}

/* Kernel 4.12: BPF_PROG_TEST_RUN; a socket filter needs 14 bytes (an
 * Ethernet header) of input. An unknown command answers EINVAL. */
static void probe_prog_test_run(struct tsbpf_probe_result *out)
{
	static const uint8_t pkt[14];
	struct tsbpf_test_run_opts o = { .sz = sizeof(o), .data_in = pkt, .data_size_in = sizeof(pkt), .repeat = 1 };
	int32_t fd = load_ret0(BPF_PROG_TYPE_SOCKET_FILTER), err;

	if (fd < 0) {
		out->verdict = TSBPF_VERDICT_UNKNOWN;
		out->err = -fd;
		return;
	}
	keep_fd(out, fd);
	o.prog_fd = (uint32_t)fd;
	err = tsbpf_prog_test_run(&o);
	if (err == -TSBPF_ERR_NOTSUP)
		err = -ENOTSUPP;
	decide(out, err);
}

static const struct probe probes[TSBPF_FEATURE__COUNT] = {
	[TSBPF_FEATURE_PROG_TEST_RUN] = { "prog_test_run", KERNEL_VERSION(4, 12, 0), probe_prog_test_run },
};

uint32_t tsbpf_feature_count(void)
{
	return TSBPF_FEATURE__COUNT;
}

int32_t tsbpf_feature_describe(uint32_t feature, struct tsbpf_probe_result *out)
{
	tsbpf_begin(-1);
	if (!OPTS_VALID(out, struct tsbpf_probe_result))
		return tsbpf_error(-EINVAL, "invalid result struct");
	if (feature >= TSBPF_FEATURE__COUNT)
		return tsbpf_error(-EINVAL, "unknown feature %u", feature);
	out->name = probes[feature].name;
	out->min_kernel = probes[feature].min_kernel;
	return 0;
}

int32_t tsbpf_feature_probe(uint32_t feature, struct tsbpf_probe_result *out)
{
	int32_t err = tsbpf_feature_describe(feature, out);

	if (err < 0)
		return err;
	out->verdict = TSBPF_VERDICT_UNKNOWN;
	out->err = 0;
	out->n_fds = 0;
	probes[feature].run(out);
	return 0;
}
