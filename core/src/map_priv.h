/*
 * The map handle's private half, shared by map.c (creation, info, handles),
 * map_elem.c (element operations) and map_batch.c (batch operations).
 */
#ifndef TSBPF_MAP_PRIV_H
#define TSBPF_MAP_PRIV_H

#include "internal.h"
#include "tsbpf/map.h"

struct map_priv {
	struct tsbpf_map pub; /* first: the host's pointer is the handle's */
	uint32_t stride;      /* bytes of one value slot in the kernel's layout */
	uint32_t kvalue_len;  /* bytes of one whole value in the kernel's layout */
	uint8_t *kvalue;      /* == pub.value unless per-CPU slots need padding */
	uint8_t *out_token;
	struct tsbpf_buf keys, values, kvalues;
	struct tsbpf_request req;           /* the last prepared request */
	struct tsbpf_map_request prepared;  /* its description for the host */
};

static inline struct map_priv *map_priv(struct tsbpf_map *map)
{
	return (struct map_priv *)map;
}

/* True when values must be converted between the host's and the kernel's layout. */
static inline bool map_padded(const struct map_priv *m)
{
	return m->kvalue != m->pub.value;
}

/* Kernel layout -> host layout for n values (per-CPU slots packed). */
void map_values_pack(const struct map_priv *m, uint8_t *dst, const uint8_t *src, uint32_t n);
/* Host layout -> kernel layout for n values (padding zeroed). */
void map_values_spread(const struct map_priv *m, uint8_t *dst, const uint8_t *src, uint32_t n);

/* The kernel's name of the map type, for messages ("hash", "percpu_array"). */
const char *map_type_name(uint32_t type);

/* Records the reason for a failed element or batch operation, worded for the operation
 * and the map type, with `suffix` (or NULL) appended. Returns err. */
int32_t map_op_error(const struct map_priv *m, int32_t err, const char *op, const char *suffix);

#endif
