/* Object name rules; see object_name.h. */
#include "object_name.h"

static bool name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
	       c == '.';
}

int32_t tsbpf_object_name_check(const char *name)
{
	size_t i;

	for (i = 0; name[i]; i++) {
		if (i >= BPF_OBJ_NAME_LEN - 1)
			return tsbpf_error(-EINVAL, "name \"%.16s...\" is longer than %d characters", name,
					   BPF_OBJ_NAME_LEN - 1);
		if (!name_char_ok(name[i]))
			return tsbpf_error(-EINVAL,
					   "name contains an illegal character at position %zu (0x%02x): "
					   "use only letters, digits, '_' and '.'",
					   i, (unsigned char)name[i]);
	}
	return 0;
}

void tsbpf_object_name_copy(char dst[BPF_OBJ_NAME_LEN], const char *name)
{
	size_t n = strlen(name);

	if (n > BPF_OBJ_NAME_LEN - 1)
		n = BPF_OBJ_NAME_LEN - 1;
	memcpy(dst, name, n);
	dst[n] = '\0';
}
