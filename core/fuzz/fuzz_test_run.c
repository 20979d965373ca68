/*
 * BPF_PROG_TEST_RUN input checks, output sizing, growth and EINTR restarts, against a
 * scripted kernel. Invariants: the call ends; success reports output sizes that fit the
 * buffers it returns (every returned byte is read here, so ASan sees an overflow); a
 * failure leaves a reason and no output.
 */
#include <stdint.h>
#include <string.h>

#include "host_stub.h"
#include "tsbpf/core.h"
#include "tsbpf/prog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tsbpf_test_run_opts o;
	uint8_t in[128], ctx[64];
	volatile uint8_t sink = 0;
	int32_t ret;

	memset(&o, 0, sizeof(o));
	stub_reset(data, size);
	stub_take(in, sizeof(in));
	stub_take(ctx, sizeof(ctx));
	o.sz = sizeof(o);
	stub_take(&o.data_size_in, 8);
	stub_take(&o.repeat, 8);
	stub_take(&o.data_out_cap, 4);
	stub_take(&o.ctx_size_in, 4);
	stub_take(&o.ctx_out_cap, 4);
	stub_take(&o.want_data_out, 4);
	stub_take(&o.want_ctx_out, 4);
	/* Sizes above the buffers are what the core must refuse; keep the rest in range. */
	if (o.data_size_in <= UINT32_MAX)
		o.data_size_in %= sizeof(in) + 1;
	o.ctx_size_in %= sizeof(ctx) + 1;
	o.data_out_cap %= 4096;
	o.ctx_out_cap %= 4096;
	o.data_in = o.data_size_in ? in : NULL;
	o.ctx_in = o.ctx_size_in ? ctx : NULL;
	ret = tsbpf_prog_test_run(&o);
	if (ret < 0) {
		if (tsbpf_last_error_reason()[0] == '\0' || o.data_out || o.ctx_out)
			__builtin_trap();
		return 0;
	}
	for (uint32_t i = 0; i < o.data_size_out; i++)
		sink ^= ((const uint8_t *)o.data_out)[i];
	for (uint32_t i = 0; i < o.ctx_size_out; i++)
		sink ^= ((const uint8_t *)o.ctx_out)[i];
	(void)sink;
	return 0;
}
