/*
 * The host of native builds (fuzzing): there is no kernel behind it, so every bpf()
 * request fails with ENOSYS. Targets exercise the core's pure paths.
 */
#include "tsbpf/abi.h"

int32_t host_bpf(uint32_t cmd, void *attr, uint32_t attr_size, const struct tsbpf_fixup *fixups, uint32_t n_fixups)
{
	(void)cmd;
	(void)attr;
	(void)attr_size;
	(void)fixups;
	(void)n_fixups;
	return -38; /* ENOSYS */
}
