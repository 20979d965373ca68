/*
 * BPF_BTF_LOAD marshalling and its verifier-log retry policy, against a scripted kernel.
 * The blob is a fuzzed buffer of its exact size; log level and size are fuzzed.
 * Invariants: the call ends (the stub traps a retry loop that never does); a result or an
 * error, never both; a new fd is the result; the log it reports lies inside the log buffer
 * and is NUL-terminated; the stub checks btf_size and btf_log_size against the buffers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host_stub.h"
#include "tsbpf/btf_load.h"
#include "tsbpf/core.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tsbpf_btf_load_opts o;
	uint8_t *blob, huge;
	uint16_t blob_len;
	int32_t ret;

	memset(&o, 0, sizeof(o));
	stub_reset(data, size);
	stub_take(&blob_len, 2);
	blob_len %= 512;
	blob = malloc(blob_len ? blob_len : 1);
	CHECK(blob);
	stub_take(blob, blob_len);
	o.sz = sizeof(o);
	stub_take(&o.log_level, 4);
	stub_take(&o.log_size, 4);
	stub_take(&huge, 1);
	o.log_level %= 3;
	/* Keep memory bounded: a log of up to 1 GiB is legal (the core clamps larger requests),
	 * but allocating one on every other input would slow the fuzzer to a crawl. */
	if (huge != 0xa5)
		o.log_size %= 1u << 20;
	o.data = blob_len ? blob : NULL;
	o.size = blob_len;
	ret = tsbpf_btf_load(&o);
	if (ret < 0)
		CHECK(tsbpf_last_error_reason()[0] != '\0');
	else
		CHECK(stub_fds() == 1);
	CHECK(o.attempts == stub_calls());
	if (o.log_len)
		CHECK(o.log && o.log[o.log_len] == '\0' && strlen(o.log) == o.log_len);
	free(blob);
	return 0;
}
