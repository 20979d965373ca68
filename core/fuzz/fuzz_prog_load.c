/*
 * BPF_PROG_LOAD marshalling and the verifier-log retry policy, against a scripted kernel.
 * Invariants: the call ends; a failure leaves a reason; the log it reports lies inside the
 * log buffer and is NUL-terminated.
 */
#include <stdint.h>
#include <string.h>

#include "host_stub.h"
#include "tsbpf/core.h"
#include "tsbpf/prog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tsbpf_prog_load_opts o;
	uint8_t insns[64];
	char name[20];
	int32_t ret;

	memset(&o, 0, sizeof(o));
	stub_reset(data, size);
	stub_take(insns, sizeof(insns));
	stub_take(name, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	o.sz = sizeof(o);
	stub_take(&o.prog_type, 4);
	stub_take(&o.log_level, 4);
	stub_take(&o.log_size, 4);
	o.log_level %= 3;
	o.log_size %= 1u << 20; /* keep memory bounded */
	o.insns = insns;
	stub_take(&o.insn_cnt, 4);
	o.insn_cnt %= sizeof(insns) / 8 + 1;
	o.license = "GPL";
	if (name[0] & 1)
		o.name = name;
	ret = tsbpf_prog_load(&o);
	if (ret < 0 && tsbpf_last_error_reason()[0] == '\0')
		__builtin_trap();
	if (o.log_len && (!o.log || o.log[o.log_len] != '\0' || strlen(o.log) != o.log_len))
		__builtin_trap();
	return 0;
}
