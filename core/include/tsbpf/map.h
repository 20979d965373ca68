/*
 * Maps: BPF_MAP_CREATE, a per-map handle whose staging buffers the host fills
 * and reads for element and batch operations, BPF_MAP_FREEZE, and the map's
 * info decoded from struct bpf_map_info.
 *
 * Element operations take scalar arguments only: the host writes the key (and
 * the value, for updates) into the handle's buffers, calls the operation, and
 * reads the result from the same buffers. Values there are in the host's
 * layout: for per-CPU maps one value_size slot per possible CPU, packed; the
 * core converts to and from the kernel's layout (slots rounded up to 8 bytes).
 */
#ifndef TSBPF_MAP_H
#define TSBPF_MAP_H

#include "abi.h"

/* Length of the name field, NUL included (BPF_OBJ_NAME_LEN). */
#define TSBPF_MAP_NAME_LEN 16

/* Options of tsbpf_map_create; fields map 1:1 onto the BPF_MAP_CREATE attr. */
struct tsbpf_map_create_opts {
	uint32_t sz;
	uint32_t map_type;
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t map_flags;
	uint32_t inner_map_fd;
	uint32_t numa_node;
	const char *name;
	uint32_t map_ifindex;
	uint32_t btf_fd;
	uint32_t btf_key_type_id;
	uint32_t btf_value_type_id;
	uint32_t btf_vmlinux_value_type_id;
	uint32_t pad;
	uint64_t map_extra;
};

/* BPF_MAP_CREATE. Checks the name first. Returns the map fd. */
TSBPF_API int32_t tsbpf_map_create(const struct tsbpf_map_create_opts *opts);

/* BPF_MAP_FREEZE: user space may no longer write the map. Requires Linux 5.2. */
TSBPF_API int32_t tsbpf_map_freeze(uint32_t fd);

/* What the kernel reports about a map (from struct bpf_map_info). */
struct tsbpf_map_info {
	uint32_t map_type;
	uint32_t id;
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t map_flags;
	uint8_t name[TSBPF_MAP_NAME_LEN];
	uint32_t ifindex;
	uint32_t btf_id;
	uint32_t btf_key_type_id;
	uint32_t btf_value_type_id;
	uint32_t btf_vmlinux_value_type_id;
	uint32_t pad;
	uint64_t map_extra;
};

/* BPF_OBJ_GET_INFO_BY_FD on a map, decoded into *info. */
TSBPF_API int32_t tsbpf_map_get_info(uint32_t fd, struct tsbpf_map_info *info);

/* What a map type's elements look like to user space, decided by the core. */
enum tsbpf_map_trait {
	TSBPF_MAP_PERCPU = 1,    /* a value holds one slot per possible CPU */
	TSBPF_MAP_FD_VALUES = 2, /* updates take an fd, lookups return the object's id */
	TSBPF_MAP_KEYLESS = 4,   /* queue, stack, bloom filter: operations take no key */
	TSBPF_MAP_VALUE_IN = 8,  /* a lookup reads the value instead of writing it (bloom filter) */
};

/*
 * A map handle. The host reads it and writes only the buffers: key, value,
 * batch_keys, batch_values and batch_token (next_key is the kernel's output). Pointers stay valid until the next
 * batch call (which may move the batch buffers) or tsbpf_map__free.
 */
struct tsbpf_map {
	uint32_t fd;
	uint32_t map_type;
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t n_values;
	uint32_t traits;
	uint8_t *key;
	uint8_t *value;
	uint8_t *next_key;
	uint32_t batch_cap;
	uint8_t *batch_keys;
	uint8_t *batch_values;
	uint32_t batch_token_size;
	uint8_t *batch_token;
	uint32_t batch_count;
	uint32_t batch_done;
};

/* A handle for the map at fd (not owned: tsbpf_map__free does not close it).
 * n_cpus is the number of possible CPUs; it sizes per-CPU values. NULL on
 * bad sizes or no memory, with the reason recorded. */
TSBPF_API struct tsbpf_map *tsbpf_map__new(uint32_t fd, uint32_t map_type, uint32_t key_size, uint32_t value_size, uint32_t max_entries, uint32_t n_cpus);
TSBPF_API void tsbpf_map__free(struct tsbpf_map *map);

/*
 * Element operations on map->key and map->value. Return 0, or -ENOENT for a
 * missing element without recording a reason (an absent key is an answer, not
 * a failure), or another negative error with its reason.
 * flags: BPF_F_LOCK for lookups; BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK for updates.
 */
TSBPF_API int32_t tsbpf_map__lookup(struct tsbpf_map *map, uint32_t flags);
TSBPF_API int32_t tsbpf_map__update(struct tsbpf_map *map, uint32_t flags);
TSBPF_API int32_t tsbpf_map__delete(struct tsbpf_map *map);
/* Lookup and delete (pop for queues and stacks). Hash maps need Linux 5.14. */
TSBPF_API int32_t tsbpf_map__lookup_and_delete(struct tsbpf_map *map, uint32_t flags);
/* The key after map->key (the first key when `first`), written into map->next_key. */
TSBPF_API int32_t tsbpf_map__next_key(struct tsbpf_map *map, uint32_t first);

/* Element operations, for tsbpf_map__prepare and tsbpf_map__explain. */
enum tsbpf_map_op {
	TSBPF_MAP_OP_LOOKUP = 0,
	TSBPF_MAP_OP_UPDATE = 1,
	TSBPF_MAP_OP_DELETE = 2,
	TSBPF_MAP_OP_LOOKUP_AND_DELETE = 3,
	TSBPF_MAP_OP_NEXT_KEY = 4,  /* key -> next_key */
	TSBPF_MAP_OP_FIRST_KEY = 5, /* the first key -> next_key */
};

/* A request the core built for the host to validate once and replay. */
struct tsbpf_map_request {
	uint32_t cmd;
	uint32_t attr_size;
	const void *attr;
	const struct tsbpf_fixup *fixups;
	uint32_t n_fixups;
};

/*
 * Builds the request of element operation `op` with `flags` on the handle's key
 * and value buffers, for the host to validate once and replay: the request stays
 * the same while only the bytes in the buffers change, so a replay needs neither
 * the core nor a new validation. The description is valid until the next call
 * of tsbpf_map__prepare on this handle. NULL when the operation needs the core
 * on every call (per-CPU values whose size is not a multiple of 8). A replay
 * does not zero the value before a lookup.
 */
TSBPF_API const struct tsbpf_map_request *tsbpf_map__prepare(struct tsbpf_map *map, uint32_t op, uint32_t flags);
/* Records the reason a replayed operation failed with err, as the operation itself
 * would have. Returns err. */
TSBPF_API int32_t tsbpf_map__explain(struct tsbpf_map *map, uint32_t op, int32_t err);

/*
 * Batch operations (Linux 5.6) on batch_keys and batch_values, `count` entries.
 * tsbpf_map__batch_reserve makes the buffers hold count entries before the
 * host fills them for an update or delete. They return the number of entries
 * processed (also in batch_count). A lookup resumes after batch_token when
 * `resume` is set, leaves the next token there, and sets batch_done once the
 * map has no more entries.
 */
TSBPF_API int32_t tsbpf_map__batch_reserve(struct tsbpf_map *map, uint32_t count);
TSBPF_API int32_t tsbpf_map__lookup_batch(struct tsbpf_map *map, uint32_t count, uint32_t resume, uint32_t and_delete, uint32_t elem_flags);
TSBPF_API int32_t tsbpf_map__update_batch(struct tsbpf_map *map, uint32_t count, uint32_t elem_flags);
TSBPF_API int32_t tsbpf_map__delete_batch(struct tsbpf_map *map, uint32_t count, uint32_t elem_flags);

#endif
