/*
 * Element operations on a map handle: the key and value come from the
 * handle's buffers, so each call takes only scalars (see tsbpf/map.h). The
 * same builder serves prepared requests, which the host replays without
 * calling back into the core.
 */
#include "map_priv.h"

static const enum bpf_cmd op_cmd[] = {
	[TSBPF_MAP_OP_LOOKUP] = BPF_MAP_LOOKUP_ELEM,
	[TSBPF_MAP_OP_UPDATE] = BPF_MAP_UPDATE_ELEM,
	[TSBPF_MAP_OP_DELETE] = BPF_MAP_DELETE_ELEM,
	[TSBPF_MAP_OP_LOOKUP_AND_DELETE] = BPF_MAP_LOOKUP_AND_DELETE_ELEM,
	[TSBPF_MAP_OP_NEXT_KEY] = BPF_MAP_GET_NEXT_KEY,
	[TSBPF_MAP_OP_FIRST_KEY] = BPF_MAP_GET_NEXT_KEY,
};

static const char *op_name(const struct map_priv *m, uint32_t op)
{
	bool keyless = m->pub.traits & TSBPF_MAP_KEYLESS;

	switch (op) {
	case TSBPF_MAP_OP_LOOKUP:
		return keyless && !(m->pub.traits & TSBPF_MAP_VALUE_IN) ? "peek" : "lookup";
	case TSBPF_MAP_OP_UPDATE:
		return keyless ? "push" : "update";
	case TSBPF_MAP_OP_DELETE:
		return "delete";
	case TSBPF_MAP_OP_NEXT_KEY:
	case TSBPF_MAP_OP_FIRST_KEY:
		return "next key";
	default:
		return keyless ? "pop" : "lookup and delete";
	}
}

/* Builds the request of an element operation on the handle's key and kernel-layout value. */
static void elem_build(struct tsbpf_request *req, const struct map_priv *m, uint32_t op, uint32_t flags)
{
	if (op == TSBPF_MAP_OP_NEXT_KEY || op == TSBPF_MAP_OP_FIRST_KEY) {
		tsbpf_request_init(req, offsetofend(union bpf_attr, next_key));
		req->attr.map_fd = m->pub.fd;
		if (op == TSBPF_MAP_OP_NEXT_KEY)
			REQ_PTR(req, key, m->pub.key, m->pub.key_size, TSBPF_FIXUP_IN);
		REQ_PTR(req, next_key, m->pub.next_key, m->pub.key_size, TSBPF_FIXUP_OUT);
		return;
	}
	/* Delete's last field is the key: older kernels refuse a larger attr. */
	tsbpf_request_init(req, op == TSBPF_MAP_OP_DELETE ? offsetofend(union bpf_attr, key)
							  : offsetofend(union bpf_attr, flags));
	req->attr.map_fd = m->pub.fd;
	if (op != TSBPF_MAP_OP_DELETE)
		req->attr.flags = flags;
	if (m->pub.key_size)
		REQ_PTR(req, key, m->pub.key, m->pub.key_size, TSBPF_FIXUP_IN);
	if (op == TSBPF_MAP_OP_DELETE)
		return;
	if (op == TSBPF_MAP_OP_UPDATE || (op == TSBPF_MAP_OP_LOOKUP && m->pub.traits & TSBPF_MAP_VALUE_IN))
		REQ_PTR(req, value, m->kvalue, m->kvalue_len, TSBPF_FIXUP_IN);
	else
		REQ_PTR(req, value, m->kvalue, m->kvalue_len, TSBPF_FIXUP_OUT);
}

/* One element operation: build, convert the value, send, convert back. */
static int32_t elem_op(struct tsbpf_map *map, uint32_t op, uint32_t flags)
{
	struct map_priv *m = map_priv(map);
	struct tsbpf_request req;
	bool value_out = op == TSBPF_MAP_OP_LOOKUP_AND_DELETE ||
			 (op == TSBPF_MAP_OP_LOOKUP && !(m->pub.traits & TSBPF_MAP_VALUE_IN));
	int32_t ret;

	tsbpf_begin(op_cmd[op]);
	if ((op == TSBPF_MAP_OP_NEXT_KEY || op == TSBPF_MAP_OP_FIRST_KEY) && m->pub.traits & TSBPF_MAP_KEYLESS)
		return tsbpf_error(-EINVAL, "%s maps have no keys to walk", map_type_name(m->pub.map_type));
	if (op == TSBPF_MAP_OP_UPDATE && map_padded(m))
		map_values_spread(m, m->kvalue, m->pub.value, 1);
	elem_build(&req, m, op, flags);
	ret = tsbpf_request_send(&req, op_cmd[op]);
	if (ret < 0) {
		/* An absent element is an answer: no reason to format on the hot path. */
		if (ret == -ENOENT && op != TSBPF_MAP_OP_UPDATE)
			return ret;
		return map_op_error(m, ret, op_name(m, op), NULL);
	}
	if (value_out && map_padded(m))
		map_values_pack(m, m->pub.value, m->kvalue, 1);
	return 0;
}

int32_t tsbpf_map__lookup(struct tsbpf_map *map, uint32_t flags)
{
	return elem_op(map, TSBPF_MAP_OP_LOOKUP, flags);
}

int32_t tsbpf_map__update(struct tsbpf_map *map, uint32_t flags)
{
	return elem_op(map, TSBPF_MAP_OP_UPDATE, flags);
}

int32_t tsbpf_map__delete(struct tsbpf_map *map)
{
	return elem_op(map, TSBPF_MAP_OP_DELETE, 0);
}

int32_t tsbpf_map__lookup_and_delete(struct tsbpf_map *map, uint32_t flags)
{
	return elem_op(map, TSBPF_MAP_OP_LOOKUP_AND_DELETE, flags);
}

const struct tsbpf_map_request *tsbpf_map__prepare(struct tsbpf_map *map, uint32_t op, uint32_t flags)
{
	struct map_priv *m = map_priv(map);
	struct tsbpf_map_request *out = &m->prepared;

	tsbpf_begin(-1);
	if (op >= ARRAY_SIZE(op_cmd)) {
		tsbpf_error(-EINVAL, "unknown map operation %u", op);
		return NULL;
	}
	if ((op == TSBPF_MAP_OP_NEXT_KEY || op == TSBPF_MAP_OP_FIRST_KEY) && m->pub.traits & TSBPF_MAP_KEYLESS) {
		tsbpf_error(-EINVAL, "%s maps have no keys to walk", map_type_name(m->pub.map_type));
		return NULL;
	}
	/* Padded per-CPU values need the core on every call. */
	if (map_padded(m) && op != TSBPF_MAP_OP_NEXT_KEY && op != TSBPF_MAP_OP_FIRST_KEY) {
		tsbpf_error(-EOPNOTSUPP, "values of this map need converting on every call");
		return NULL;
	}
	elem_build(&m->req, m, op, flags);
	out->cmd = op_cmd[op];
	out->attr = &m->req.attr;
	out->attr_size = m->req.size;
	out->fixups = m->req.fixups;
	out->n_fixups = m->req.n_fixups;
	return out;
}

int32_t tsbpf_map__explain(struct tsbpf_map *map, uint32_t op, int32_t err)
{
	struct map_priv *m = map_priv(map);

	tsbpf_begin(op < ARRAY_SIZE(op_cmd) ? (int32_t)op_cmd[op] : -1);
	if (op >= ARRAY_SIZE(op_cmd))
		return tsbpf_error(-EINVAL, "unknown map operation %u", op);
	return map_op_error(m, err, op_name(m, op), NULL);
}

int32_t tsbpf_map__next_key(struct tsbpf_map *map, uint32_t first)
{
	return elem_op(map, first ? TSBPF_MAP_OP_FIRST_KEY : TSBPF_MAP_OP_NEXT_KEY, 0);
}
