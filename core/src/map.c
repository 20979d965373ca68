/*
 * Maps: creation, freezing, info, and the handles element and batch operations
 * run on (see tsbpf/map.h).
 */
#include <stdio.h>
#include <stdlib.h>

#include "map_priv.h"
#include "object_name.h"
#include "tsbpf/obj.h"

/* Kernel map type names, by enum bpf_map_type value (newer ones than the 6.1 header included). */
static const char *const type_names[] = {
	"unspec",	   "hash",	       "array",		 "prog_array",
	"perf_event_array", "percpu_hash",   "percpu_array",	 "stack_trace",
	"cgroup_array",	   "lru_hash",	       "lru_percpu_hash",	 "lpm_trie",
	"array_of_maps",   "hash_of_maps",   "devmap",		 "sockmap",
	"cpumap",	   "xskmap",	       "sockhash",		 "cgroup_storage",
	"reuseport_sockarray", "percpu_cgroup_storage", "queue",	 "stack",
	"sk_storage",	   "devmap_hash",    "struct_ops",	 "ringbuf",
	"inode_storage",   "task_storage",   "bloom_filter",	 "user_ringbuf",
	"cgrp_storage",	   "arena",
};

const char *map_type_name(uint32_t type)
{
	return type < ARRAY_SIZE(type_names) ? type_names[type] : "unknown";
}

/* Values of enum bpf_map_type the traits below name; checked against the header where it has them. */
enum {
	T_PROG_ARRAY = 3,
	T_PERF_EVENT_ARRAY = 4,
	T_PERCPU_HASH = 5,
	T_PERCPU_ARRAY = 6,
	T_CGROUP_ARRAY = 8,
	T_LRU_PERCPU_HASH = 10,
	T_LPM_TRIE = 11,
	T_ARRAY_OF_MAPS = 12,
	T_HASH_OF_MAPS = 13,
	T_PERCPU_CGROUP_STORAGE = 21,
	T_QUEUE = 22,
	T_STACK = 23,
	T_RINGBUF = 27,
	T_BLOOM_FILTER = 30,
};
_Static_assert(BPF_MAP_TYPE_PROG_ARRAY == T_PROG_ARRAY && BPF_MAP_TYPE_PERCPU_HASH == T_PERCPU_HASH &&
		       BPF_MAP_TYPE_PERCPU_ARRAY == T_PERCPU_ARRAY && BPF_MAP_TYPE_LRU_PERCPU_HASH == T_LRU_PERCPU_HASH &&
		       BPF_MAP_TYPE_LPM_TRIE == T_LPM_TRIE && BPF_MAP_TYPE_ARRAY_OF_MAPS == T_ARRAY_OF_MAPS &&
		       BPF_MAP_TYPE_HASH_OF_MAPS == T_HASH_OF_MAPS &&
		       BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE == T_PERCPU_CGROUP_STORAGE && BPF_MAP_TYPE_QUEUE == T_QUEUE &&
		       BPF_MAP_TYPE_STACK == T_STACK && BPF_MAP_TYPE_RINGBUF == T_RINGBUF &&
		       BPF_MAP_TYPE_BLOOM_FILTER == T_BLOOM_FILTER && BPF_MAP_TYPE_CGROUP_ARRAY == T_CGROUP_ARRAY &&
		       BPF_MAP_TYPE_PERF_EVENT_ARRAY == T_PERF_EVENT_ARRAY,
	       "map type values");
_Static_assert(sizeof(type_names) / sizeof(type_names[0]) == 34, "a name per map type up to arena");

static uint32_t traits_of(uint32_t type)
{
	switch (type) {
	case T_PERCPU_HASH:
	case T_PERCPU_ARRAY:
	case T_LRU_PERCPU_HASH:
	case T_PERCPU_CGROUP_STORAGE:
		return TSBPF_MAP_PERCPU;
	case T_PROG_ARRAY:
	case T_PERF_EVENT_ARRAY:
	case T_CGROUP_ARRAY:
	case T_ARRAY_OF_MAPS:
	case T_HASH_OF_MAPS:
		return TSBPF_MAP_FD_VALUES;
	case T_QUEUE:
	case T_STACK:
		return TSBPF_MAP_KEYLESS;
	case T_BLOOM_FILTER:
		return TSBPF_MAP_KEYLESS | TSBPF_MAP_VALUE_IN;
	default:
		return 0;
	}
}

/* What the kernel wants of a map type, for an EINVAL at creation. */
static const char *create_hint(const struct tsbpf_map_create_opts *o)
{
	if (o->max_entries == 0 && o->map_type != T_PERCPU_CGROUP_STORAGE && o->map_type != BPF_MAP_TYPE_CGROUP_STORAGE)
		return "max_entries must be at least 1";
	switch (o->map_type) {
	case BPF_MAP_TYPE_ARRAY:
	case T_PERCPU_ARRAY:
		return "array maps need key_size 4";
	case T_PROG_ARRAY:
	case T_PERF_EVENT_ARRAY:
	case T_CGROUP_ARRAY:
		return "fd arrays need key_size 4 and value_size 4";
	case T_ARRAY_OF_MAPS:
	case T_HASH_OF_MAPS:
		return "maps of maps need value_size 4 and an inner map (inner_map_fd) of a type that may be nested";
	case T_LPM_TRIE:
		return "LPM tries need BPF_F_NO_PREALLOC, key_size 4 + 1..256 data bytes, and a value_size";
	case T_QUEUE:
	case T_STACK:
		return "queues and stacks need key_size 0";
	case T_BLOOM_FILTER:
		return "bloom filters need key_size 0, a value_size, and map_extra (hash functions) of at most 15";
	case T_RINGBUF:
		return "ring buffers need key_size 0, value_size 0 and max_entries a power-of-2 multiple of the page size";
	default:
		return "check key_size, value_size, max_entries and flags for this map type";
	}
}

int32_t tsbpf_map_create(const struct tsbpf_map_create_opts *o)
{
	struct tsbpf_request req;
	union bpf_attr *a = &req.attr;
	int32_t ret;

	tsbpf_begin(BPF_MAP_CREATE);
	if (!OPTS_VALID(o, struct tsbpf_map_create_opts))
		return tsbpf_error(-EINVAL, "invalid options struct");
	if (o->name && (ret = tsbpf_object_name_check(o->name)) < 0)
		return ret;
	REQ_INIT(&req, map_extra);
	a->map_type = o->map_type;
	a->key_size = o->key_size;
	a->value_size = o->value_size;
	a->max_entries = o->max_entries;
	a->map_flags = o->map_flags;
	a->inner_map_fd = o->inner_map_fd;
	a->numa_node = o->numa_node;
	if (o->name)
		tsbpf_object_name_copy(a->map_name, o->name);
	a->map_ifindex = o->map_ifindex;
	a->btf_fd = o->btf_fd;
	a->btf_key_type_id = o->btf_key_type_id;
	a->btf_value_type_id = o->btf_value_type_id;
	a->btf_vmlinux_value_type_id = o->btf_vmlinux_value_type_id;
	a->map_extra = o->map_extra;
	ret = tsbpf_request_send(&req, BPF_MAP_CREATE);
	if (ret >= 0)
		return ret;
	if (ret == -EINVAL)
		return tsbpf_error(ret,
				   "the kernel refused a %s map with key_size %u, value_size %u, max_entries %u, flags 0x%x: %s",
				   map_type_name(o->map_type), o->key_size, o->value_size, o->max_entries, o->map_flags,
				   create_hint(o));
	return tsbpf_error(ret, "cannot create a %s map", map_type_name(o->map_type));
}

int32_t tsbpf_map_freeze(uint32_t fd)
{
	struct tsbpf_request req;
	int32_t ret;

	tsbpf_begin(BPF_MAP_FREEZE);
	REQ_INIT(&req, map_fd);
	req.attr.map_fd = fd;
	ret = tsbpf_request_send(&req, BPF_MAP_FREEZE);
	if (ret == -EBUSY)
		return tsbpf_error(ret, "the map is memory-mapped writable or already frozen");
	if (ret < 0)
		return tsbpf_error(ret, "cannot freeze map fd %u", fd);
	return ret;
}

int32_t tsbpf_map_get_info(uint32_t fd, struct tsbpf_map_info *info)
{
	struct bpf_map_info k;
	uint32_t len = sizeof(k);
	int32_t ret;

	if (!info) {
		tsbpf_begin(BPF_OBJ_GET_INFO_BY_FD);
		return tsbpf_error(-EINVAL, "missing info struct");
	}
	ret = tsbpf_obj_get_info(fd, &k, &len);
	if (ret < 0)
		return ret;
	memset(info, 0, sizeof(*info));
	info->map_type = k.type;
	info->id = k.id;
	info->key_size = k.key_size;
	info->value_size = k.value_size;
	info->max_entries = k.max_entries;
	info->map_flags = k.map_flags;
	memcpy(info->name, k.name, sizeof(info->name));
	info->name[sizeof(info->name) - 1] = 0;
	info->ifindex = k.ifindex;
	info->btf_id = k.btf_id;
	info->btf_key_type_id = k.btf_key_type_id;
	info->btf_value_type_id = k.btf_value_type_id;
	info->btf_vmlinux_value_type_id = k.btf_vmlinux_value_type_id;
	info->map_extra = k.map_extra;
	return 0;
}

/* Largest value (all CPUs together) or key a handle accepts: far above what the kernel allows. */
#define MAP_BUF_MAX (1u << 28)

struct tsbpf_map *tsbpf_map__new(uint32_t fd, uint32_t map_type, uint32_t key_size, uint32_t value_size,
				 uint32_t max_entries, uint32_t n_cpus)
{
	struct map_priv *m;
	uint32_t traits = traits_of(map_type), n = 1, stride = value_size, user_len, kernel_len;

	tsbpf_begin(-1);
	if (traits & TSBPF_MAP_PERCPU) {
		if (n_cpus == 0) {
			tsbpf_error(-EINVAL, "a per-CPU map needs the number of possible CPUs");
			return NULL;
		}
		n = n_cpus;
		stride = (value_size + 7) & ~7u;
	}
	if (key_size > MAP_BUF_MAX || stride < value_size || tsbpf_mul_overflows(value_size, n, &user_len) ||
	    tsbpf_mul_overflows(stride, n, &kernel_len) || kernel_len > MAP_BUF_MAX) {
		tsbpf_error(-E2BIG, "key size %u or value size %u x %u is too large", key_size, value_size, n);
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		goto nomem;
	m->pub.fd = fd;
	m->pub.map_type = map_type;
	m->pub.key_size = key_size;
	m->pub.value_size = value_size;
	m->pub.max_entries = max_entries;
	m->pub.n_values = n;
	m->pub.traits = traits;
	m->stride = stride;
	m->kvalue_len = kernel_len;
	/* Never zero-sized, so that every buffer has an address; 8-aligned for the host's word copies. */
	m->pub.key = calloc(1, key_size + 8);
	m->pub.next_key = calloc(1, key_size + 8);
	m->pub.value = calloc(1, user_len + 8);
	m->kvalue = stride == value_size ? m->pub.value : calloc(1, kernel_len + 8);
	/* Hash maps resume from a u32 bucket index, the others from a key. */
	m->pub.batch_token_size = key_size > 8 ? key_size : 8;
	m->pub.batch_token = calloc(1, m->pub.batch_token_size);
	m->out_token = calloc(1, m->pub.batch_token_size);
	if (!m->pub.key || !m->pub.next_key || !m->pub.value || !m->kvalue || !m->pub.batch_token || !m->out_token) {
		tsbpf_map__free(&m->pub);
		goto nomem;
	}
	return &m->pub;
nomem:
	tsbpf_error(-TSBPF_ERR_NOMEM, "no core memory for a map handle");
	return NULL;
}

void tsbpf_map__free(struct tsbpf_map *map)
{
	struct map_priv *m = map_priv(map);

	if (!map)
		return;
	if (map_padded(m))
		free(m->kvalue);
	free(m->pub.key);
	free(m->pub.next_key);
	free(m->pub.value);
	free(m->pub.batch_token);
	free(m->out_token);
	free(m->keys.data);
	free(m->values.data);
	free(m->kvalues.data);
	free(m);
}

void map_values_pack(const struct map_priv *m, uint8_t *dst, const uint8_t *src, uint32_t n)
{
	uint32_t slots = n * m->pub.n_values, vs = m->pub.value_size;

	for (uint32_t i = 0; i < slots; i++)
		memcpy(dst + (size_t)i * vs, src + (size_t)i * m->stride, vs);
}

void map_values_spread(const struct map_priv *m, uint8_t *dst, const uint8_t *src, uint32_t n)
{
	uint32_t slots = n * m->pub.n_values, vs = m->pub.value_size, pad = m->stride - vs;

	for (uint32_t i = 0; i < slots; i++) {
		uint8_t *slot = dst + (size_t)i * m->stride;

		memcpy(slot, src + (size_t)i * vs, vs);
		memset(slot + vs, 0, pad);
	}
}

static bool is_array(uint32_t type)
{
	switch (type) {
	case BPF_MAP_TYPE_ARRAY:
	case T_PERCPU_ARRAY:
	case T_PROG_ARRAY:
	case T_PERF_EVENT_ARRAY:
	case T_CGROUP_ARRAY:
	case T_ARRAY_OF_MAPS:
		return true;
	default:
		return false;
	}
}

/* The reason for err, without the operation's prefix; `detail` is a caller's buffer. */
static const char *op_reason(const struct map_priv *m, int32_t err, const char *op, char *detail, size_t cap)
{
	uint32_t t = m->pub.map_type;
	bool update = strcmp(op, "update") == 0 || strcmp(op, "batch update") == 0;

	switch (err) {
	case -EEXIST:
		return "the key exists and BPF_NOEXIST was given";
	case -ENOENT:
		return update ? "the key does not exist and BPF_EXIST was given" : "the key does not exist";
	case -E2BIG:
		if (is_array(t))
			snprintf(detail, cap, "the index is not below max_entries (%u)", m->pub.max_entries);
		else if (t == T_QUEUE || t == T_STACK)
			snprintf(detail, cap,
				 "it is full (%u entries): pop one first, or push with BPF_EXIST to replace the oldest",
				 m->pub.max_entries);
		else
			snprintf(detail, cap, "the map is full (max_entries %u)", m->pub.max_entries);
		return detail;
	case -EPERM:
		return "user space may not write this map (it is frozen, or was opened read-only)";
	case -EINVAL:
		if (strstr(op, "delete") && (t == BPF_MAP_TYPE_ARRAY || t == T_PERCPU_ARRAY))
			return "array elements always exist and cannot be deleted";
		return "the kernel rejected the arguments (flags, or a flag this map type does not take, such as "
		       "BPF_F_LOCK without a bpf_spin_lock in the value)";
	case -ENOTSUPP:
	case -EOPNOTSUPP:
		return "this map type does not support the operation";
	case -EBADF:
		return "a file descriptor is not open or not of the right kind";
	default:
		return "failed";
	}
}

int32_t map_op_error(const struct map_priv *m, int32_t err, const char *op, const char *suffix)
{
	char detail[160];

	return tsbpf_error(err, "%s on a %s map: %s%s", op, map_type_name(m->pub.map_type),
			   op_reason(m, err, op, detail, sizeof(detail)), suffix ? suffix : "");
}
