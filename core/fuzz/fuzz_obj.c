/*
 * Object commands: pin/get paths and the info-length answer of BPF_OBJ_GET_INFO_BY_FD,
 * against a scripted kernel. Invariant: the info length reported never exceeds the buffer.
 */
#include <stdint.h>
#include <string.h>

#include "host_stub.h"
#include "tsbpf/core.h"
#include "tsbpf/obj.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	uint8_t info[96];
	uint32_t len, next;
	uint8_t pick;

	stub_reset(data, size);
	stub_take(&pick, 1);
	stub_take(path, sizeof(path));
	path[sizeof(path) - 1] = '\0';
	switch (pick % 5) {
	case 0:
		tsbpf_obj_pin(3, path);
		break;
	case 1:
		tsbpf_obj_get(path, 0);
		break;
	case 2:
		stub_take(&len, 4);
		len %= sizeof(info) + 1;
		if (tsbpf_obj_get_info(3, info, &len) >= 0 && len > sizeof(info))
			__builtin_trap();
		break;
	case 3:
		tsbpf_obj_get_next_id(pick % 7, 0, &next);
		break;
	default:
		tsbpf_obj_get_fd_by_id(pick % 7, 1, 0);
	}
	return 0;
}
