/*
 * Feature probes against a scripted kernel: every capability probe, program types, map
 * types (with the BTF or inner map some need) and helpers per program type, with fuzzed
 * ids and kernel answers.
 * Invariants: a known probe reaches a verdict (yes, no, unknown) and never an error; an
 * unknown id is an error with a reason; every fd the kernel handed out during the probe is
 * in the result for the host to close (none leaks), and no more than the result holds; the
 * name is a string.
 */
#include <stdint.h>
#include <string.h>
#include <stdio.h>

#include "host_stub.h"
#include "tsbpf/core.h"
#include "tsbpf/probe.h"
#include "fuzz_check.h"

static void check(int32_t ret, const struct tsbpf_probe_result *r)
{
	if (ret < 0) {
		CHECK(tsbpf_last_error_reason()[0] != '\0');
		return;
	}
	CHECK(r->verdict <= TSBPF_VERDICT_UNKNOWN);
	CHECK(r->n_fds <= TSBPF_PROBE_MAX_FDS);
	if (r->n_fds != stub_fds())
		fprintf(stderr, "fuzz_probe: the kernel handed out %u fds, the result holds %u (verdict %u)\n", stub_fds(),
			r->n_fds, r->verdict);
	CHECK(r->n_fds == stub_fds());
	if (r->verdict == TSBPF_VERDICT_YES)
		CHECK(r->err == 0);
	if (r->name)
		CHECK(strlen(r->name) > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tsbpf_probe_result r;
	struct tsbpf_probe_env env = { .sz = sizeof(env) };
	uint8_t pick;
	int32_t ret;

	stub_reset(data, size);
	stub_take(&pick, 1);
	memset(&r, 0, sizeof(r));
	r.sz = sizeof(r);
	env.kernel_version = stub_take32();
	switch (pick % 4) {
	case 0: {
		uint32_t f = stub_take32() % (tsbpf_feature_count() + 2);

		ret = tsbpf_feature_probe(f, &r);
		CHECK((ret == 0) == (f < tsbpf_feature_count()));
		if (ret == 0)
			CHECK(r.name != NULL);
		break;
	}
	case 1:
		ret = tsbpf_probe_prog_type(stub_take32() % 40, pick & 0x80 ? &env : NULL, &r);
		CHECK(ret == 0);
		break;
	case 2:
		ret = tsbpf_probe_map_type(stub_take32() % 40, &r);
		CHECK(ret == 0);
		break;
	default: {
		uint32_t type = stub_take32() % 40;

		ret = tsbpf_probe_helper(type, stub_take32() % 256, pick & 0x80 ? &env : NULL, &r);
		CHECK(ret == 0);
	}
	}
	check(ret, &r);
	return 0;
}
