/*
 * A kernel BTF object's info and blob (tsbpf_btf_get_info) against a scripted kernel:
 * whatever sizes, names and errors it answers with. Invariants: on success the name is
 * NUL-terminated, and a blob is handed out exactly when one was asked for and the kernel
 * reported a size. (Its own target: the sizes the kernel may report make the core allocate
 * up to 256 MiB, which would slow the other object commands' fuzzing a hundredfold.)
 */
#include <stdint.h>
#include <string.h>

#include "host_stub.h"
#include "tsbpf/btf_info.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tsbpf_btf_obj_info info;
	uint8_t want;

	stub_reset(data, size);
	stub_take(&want, 1);
	memset(&info, 0, sizeof(info));
	info.sz = sizeof(info);
	info.want = want & 1 ? TSBPF_BTF_INFO_WANT_DATA : 0;
	if (tsbpf_btf_get_info(3, &info) < 0)
		return 0;
	if (memchr(info.name, 0, sizeof(info.name)) == NULL)
		__builtin_trap();
	if ((info.data != NULL) != ((info.want & TSBPF_BTF_INFO_WANT_DATA) && info.btf_size))
		__builtin_trap();
	if (info.data) {
		/* The blob must be readable for its whole reported size. */
		volatile uint8_t sink = 0;
		for (uint32_t i = 0; i < info.btf_size; i += 4096)
			sink ^= info.data[i];
		sink ^= info.data[info.btf_size - 1];
		(void)sink;
	}
	return 0;
}
