/*
 * Batch operations (BPF_MAP_*_BATCH, Linux 5.6): many entries per request,
 * in buffers the handle owns and grows, with the kernel's resume token kept
 * in the handle between calls.
 */
#include <stdio.h>

#include "map_priv.h"

/* Entries one batch call may carry: bounds every buffer below 2^31 bytes. */
#define BATCH_MAX_ENTRIES (1u << 24)

static int32_t reserve(struct map_priv *m, uint32_t count)
{
	uint32_t klen, vlen, kvlen;

	if (count == 0)
		return tsbpf_error(-EINVAL, "a batch needs at least one entry");
	if (count > BATCH_MAX_ENTRIES || tsbpf_mul_overflows(count, m->pub.key_size, &klen) ||
	    tsbpf_mul_overflows(count, m->pub.value_size * m->pub.n_values, &vlen) ||
	    tsbpf_mul_overflows(count, m->kvalue_len, &kvlen) || klen > TSBPF_FIXUP_MAX_LEN ||
	    kvlen > TSBPF_FIXUP_MAX_LEN)
		return tsbpf_error(-E2BIG, "a batch of %u entries is too large", count);
	if (count <= m->pub.batch_cap)
		return 0;
	/* +8: a zero-sized key or value still needs an address. */
	if (!tsbpf_buf_reserve(&m->keys, klen + 8) || !tsbpf_buf_reserve(&m->values, vlen + 8) ||
	    (map_padded(m) && !tsbpf_buf_reserve(&m->kvalues, kvlen + 8)))
		return tsbpf_error(-TSBPF_ERR_NOMEM, "no core memory for a batch of %u entries", count);
	m->pub.batch_keys = m->keys.data;
	m->pub.batch_values = m->values.data;
	m->pub.batch_cap = count;
	return 0;
}

int32_t tsbpf_map__batch_reserve(struct tsbpf_map *map, uint32_t count)
{
	tsbpf_begin(-1);
	return reserve(map_priv(map), count);
}

static uint8_t *kernel_values(struct map_priv *m)
{
	return map_padded(m) ? m->kvalues.data : m->values.data;
}

/* The attr every batch command shares. */
static void batch_init(struct tsbpf_request *req, const struct map_priv *m, uint32_t count, uint32_t elem_flags)
{
	REQ_INIT(req, batch);
	req->attr.batch.map_fd = m->pub.fd;
	req->attr.batch.count = count;
	req->attr.batch.elem_flags = elem_flags;
}

/* The count the kernel reports, never more than was asked. */
static uint32_t reported(const struct tsbpf_request *req, uint32_t count)
{
	return req->attr.batch.count < count ? req->attr.batch.count : count;
}

static int32_t batch_error(struct map_priv *m, int32_t err, const char *op, uint32_t done, uint32_t count)
{
	char suffix[64];

	if (err == -ENOTSUPP || err == -EOPNOTSUPP || (err == -EINVAL && m->pub.traits & TSBPF_MAP_KEYLESS))
		return tsbpf_error(err, "%s is not supported by %s maps: use single-element operations", op,
				   map_type_name(m->pub.map_type));
	suffix[0] = 0;
	/* The kernel leaves count alone when it fails before the first entry. */
	if (done < count)
		snprintf(suffix, sizeof(suffix), " (%u of %u entries were done)", done, count);
	return map_op_error(m, err, op, suffix);
}

int32_t tsbpf_map__lookup_batch(struct tsbpf_map *map, uint32_t count, uint32_t resume, uint32_t and_delete,
				uint32_t elem_flags)
{
	struct map_priv *m = map_priv(map);
	enum bpf_cmd cmd = and_delete ? BPF_MAP_LOOKUP_AND_DELETE_BATCH : BPF_MAP_LOOKUP_BATCH;
	struct tsbpf_request req;
	uint32_t n;
	int32_t ret;

	tsbpf_begin(cmd);
	m->pub.batch_count = 0;
	m->pub.batch_done = 0;
	if ((ret = reserve(m, count)) < 0)
		return ret;
	batch_init(&req, m, count, elem_flags);
	if (resume)
		REQ_PTR(&req, batch.in_batch, m->pub.batch_token, m->pub.batch_token_size, TSBPF_FIXUP_IN);
	REQ_PTR(&req, batch.out_batch, m->out_token, m->pub.batch_token_size, TSBPF_FIXUP_OUT);
	REQ_PTR(&req, batch.keys, m->keys.data, count * m->pub.key_size, TSBPF_FIXUP_OUT);
	REQ_PTR(&req, batch.values, kernel_values(m), count * m->kvalue_len, TSBPF_FIXUP_OUT);
	ret = tsbpf_request_send(&req, cmd);
	/* ENOENT: the walk is over; the entries of this last call are still valid. */
	if (ret < 0 && ret != -ENOENT) {
		if (ret == -ENOSPC)
			return tsbpf_error(ret,
					   "batch lookup: a hash bucket holds more than %u entries: ask for more entries "
					   "per call",
					   count);
		return batch_error(m, ret, and_delete ? "batch lookup and delete" : "batch lookup", count, count);
	}
	n = reported(&req, count);
	if (map_padded(m))
		map_values_pack(m, m->values.data, m->kvalues.data, n);
	memcpy(m->pub.batch_token, m->out_token, m->pub.batch_token_size);
	m->pub.batch_count = n;
	m->pub.batch_done = ret == -ENOENT;
	return (int32_t)n;
}

int32_t tsbpf_map__update_batch(struct tsbpf_map *map, uint32_t count, uint32_t elem_flags)
{
	struct map_priv *m = map_priv(map);
	struct tsbpf_request req;
	int32_t ret;

	tsbpf_begin(BPF_MAP_UPDATE_BATCH);
	m->pub.batch_count = 0;
	if (count > m->pub.batch_cap)
		return tsbpf_error(-EINVAL, "batch update of %u entries, but the buffers hold %u", count,
				   m->pub.batch_cap);
	if (count == 0)
		return 0;
	if (map_padded(m))
		map_values_spread(m, m->kvalues.data, m->values.data, count);
	batch_init(&req, m, count, elem_flags);
	REQ_PTR(&req, batch.keys, m->keys.data, count * m->pub.key_size, TSBPF_FIXUP_IN);
	REQ_PTR(&req, batch.values, kernel_values(m), count * m->kvalue_len, TSBPF_FIXUP_IN);
	ret = tsbpf_request_send(&req, BPF_MAP_UPDATE_BATCH);
	m->pub.batch_count = reported(&req, count);
	if (ret < 0)
		return batch_error(m, ret, "batch update", m->pub.batch_count, count);
	return (int32_t)m->pub.batch_count;
}

int32_t tsbpf_map__delete_batch(struct tsbpf_map *map, uint32_t count, uint32_t elem_flags)
{
	struct map_priv *m = map_priv(map);
	struct tsbpf_request req;
	int32_t ret;

	tsbpf_begin(BPF_MAP_DELETE_BATCH);
	m->pub.batch_count = 0;
	if (count > m->pub.batch_cap)
		return tsbpf_error(-EINVAL, "batch delete of %u entries, but the buffers hold %u", count,
				   m->pub.batch_cap);
	if (count == 0)
		return 0;
	batch_init(&req, m, count, elem_flags);
	REQ_PTR(&req, batch.keys, m->keys.data, count * m->pub.key_size, TSBPF_FIXUP_IN);
	ret = tsbpf_request_send(&req, BPF_MAP_DELETE_BATCH);
	m->pub.batch_count = reported(&req, count);
	if (ret < 0)
		return batch_error(m, ret, "batch delete", m->pub.batch_count, count);
	return (int32_t)m->pub.batch_count;
}
