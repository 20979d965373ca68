/*
 * Map commands against a scripted kernel: BPF_MAP_CREATE from fuzzed options, a map handle
 * of fuzzed type and sizes (per-CPU maps with a fuzzed CPU count), then a fuzzed sequence of
 * element operations, prepared requests (replayed through host_bpf as the bridge does),
 * explanations, batch operations with fuzzed counts and flags, freezing and info.
 *
 * The stub is told the map's sizes (stub_map), so every element and batch request is checked
 * against what the kernel would read and write: key_size per key, round_up(value_size, 8) per
 * CPU for per-CPU values, count keys and values per batch.
 * Invariants: a result or an error, never both (an absent element may fail without a reason,
 * as documented); the handle's buffers hold what it claims (each is written here for its full
 * length); a batch reports at most the entries asked for, never more than its buffers hold.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host_stub.h"
#include "tsbpf/core.h"
#include "tsbpf/map.h"
#include "fuzz_check.h"

#define ENOENT_VALUE 2

/* A size: mostly small, any 32-bit value when the top bit asks for it. */
static uint32_t take_size(uint32_t small)
{
	uint32_t v = stub_take32();

	return v & 0x80000000u ? v << 1 : v % small;
}

static int is_percpu(uint32_t type)
{
	return type == 5 || type == 6 || type == 10 || type == 21;
}

/* A failure must leave a reason, except an absent element, which is an answer. */
static void check_ret(int32_t ret, int absent_ok)
{
	if (ret >= 0)
		return;
	if (ret == -ENOENT_VALUE && absent_ok)
		return;
	CHECK(tsbpf_last_error_reason()[0] != '\0');
}

static void check_handle(const struct tsbpf_map *m, uint32_t user_value_len)
{
	/* Writable for their whole length: ASan sees a short allocation. */
	memset(m->key, 0x11, m->key_size);
	memset(m->value, 0x22, user_value_len);
	memset(m->next_key, 0x33, m->key_size);
	memset(m->batch_token, 0x44, m->batch_token_size);
	CHECK(m->batch_token_size >= 4);
}

static void check_batch(const struct tsbpf_map *m, int32_t ret, uint32_t count, uint32_t user_value_len)
{
	if (ret < 0) {
		CHECK(tsbpf_last_error_reason()[0] != '\0');
		CHECK(m->batch_count <= count);
		return;
	}
	CHECK((uint32_t)ret == m->batch_count && m->batch_count <= count && m->batch_count <= m->batch_cap);
	CHECK(m->batch_done <= 1);
	fuzz_touch(m->batch_keys, (uint64_t)m->batch_count * m->key_size);
	fuzz_touch(m->batch_values, (uint64_t)m->batch_count * user_value_len);
	fuzz_touch(m->batch_token, m->batch_token_size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tsbpf_map_create_opts o;
	struct tsbpf_map_info info;
	struct tsbpf_map *m;
	char name[24];
	uint32_t fd, ncpus, n_values, user_value_len, kernel_value_len;
	int32_t ret;

	stub_reset(data, size);
	memset(&o, 0, sizeof(o));
	o.sz = sizeof(o);
	o.map_type = stub_take8() % 36;
	o.key_size = take_size(72);
	o.value_size = take_size(72);
	o.max_entries = stub_take32();
	o.map_flags = stub_take32();
	o.map_extra = stub_take32();
	stub_take(name, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	if (name[0] & 1)
		o.name = name;
	ncpus = stub_take8() % 9;
	fd = 3 + stub_take8() % 4;

	ret = tsbpf_map_create(&o);
	check_ret(ret, 0);

	n_values = is_percpu(o.map_type) ? ncpus : 1;
	user_value_len = o.value_size * n_values;
	kernel_value_len = is_percpu(o.map_type) ? ((o.value_size + 7) & ~7u) * ncpus : o.value_size;
	if (o.key_size > 4096 || o.value_size > (64u << 10) || kernel_value_len > (64u << 10)) {
		/* No kernel makes such a map: the handle must refuse it or hold it, but pushing
		 * megabytes through the stub on every input would slow the fuzzer to a crawl. */
		if (name[1] == 0x7f && (m = tsbpf_map__new(fd, o.map_type, o.key_size, o.value_size, o.max_entries, ncpus)))
			tsbpf_map__free(m);
		return 0;
	}
	m = tsbpf_map__new(fd, o.map_type, o.key_size, o.value_size, o.max_entries, ncpus);
	if (!m) {
		CHECK(tsbpf_last_error_reason()[0] != '\0');
		return 0;
	}
	CHECK(m->fd == fd && m->map_type == o.map_type && m->key_size == o.key_size && m->value_size == o.value_size);
	CHECK(m->n_values == n_values && n_values > 0);
	check_handle(m, user_value_len);
	stub_map(fd, o.key_size, kernel_value_len);

	for (int step = 0; step < 24 && stub_left() > 0; step++) {
		uint8_t op = stub_take8();
		uint32_t flags = stub_take8() & 7 ? stub_take8() & 7 : stub_take32(), count;

		switch (op % 14) {
		case 0:
			check_ret(tsbpf_map__lookup(m, flags), 1);
			break;
		case 1:
			stub_take(m->value, user_value_len);
			check_ret(tsbpf_map__update(m, flags), 0);
			break;
		case 2:
			check_ret(tsbpf_map__delete(m), 1);
			break;
		case 3:
			check_ret(tsbpf_map__lookup_and_delete(m, flags), 1);
			break;
		case 4:
			stub_take(m->key, m->key_size);
			check_ret(tsbpf_map__next_key(m, op & 0x80), 1);
			break;
		case 5: {
			uint32_t what = (op >> 4) % 7;
			const struct tsbpf_map_request *r = tsbpf_map__prepare(m, what, flags);

			if (!r) {
				CHECK(tsbpf_last_error_reason()[0] != '\0');
				break;
			}
			CHECK(r->attr && r->attr_size > 0 && r->attr_size <= TSBPF_ATTR_MAX);
			CHECK(r->n_fixups <= TSBPF_MAX_FIXUPS && (r->n_fixups == 0 || r->fixups));
			/* The host's replay: the same request again and again, no core in between. */
			for (int k = 0; k < 2; k++) {
				ret = host_bpf(r->cmd, (void *)r->attr, r->attr_size, r->fixups, r->n_fixups);
				if (ret < 0 && ret != -ENOENT_VALUE)
					CHECK(tsbpf_map__explain(m, what, ret) == ret &&
					      tsbpf_last_error_reason()[0] != '\0');
			}
			break;
		}
		case 6:
			ret = (int32_t)stub_take32();
			CHECK(tsbpf_map__explain(m, op >> 4, ret) == ((op >> 4) < 6 ? ret : -22));
			CHECK(tsbpf_last_error_reason()[0] != '\0');
			break;
		case 7:
			count = op & 0x80 ? stub_take32() : stub_take32() % 512;
			ret = tsbpf_map__batch_reserve(m, count);
			check_ret(ret, 0);
			if (ret == 0)
				CHECK(m->batch_cap >= count && m->batch_keys && m->batch_values);
			break;
		case 8:
			count = stub_take32() % 512;
			ret = tsbpf_map__lookup_batch(m, count, op & 0x10, op & 0x20, flags);
			check_batch(m, ret, count, user_value_len);
			break;
		case 9:
		case 10:
			count = stub_take32() % 512;
			if (count <= m->batch_cap && count) {
				stub_take(m->batch_keys, (size_t)count * m->key_size);
				stub_take(m->batch_values, (size_t)count * user_value_len);
			}
			ret = op % 14 == 9 ? tsbpf_map__update_batch(m, count, flags)
					   : tsbpf_map__delete_batch(m, count, flags);
			check_batch(m, ret, count, user_value_len);
			break;
		case 11:
			check_ret(tsbpf_map_freeze(fd), 0);
			break;
		case 12:
			ret = tsbpf_map_get_info(fd, &info);
			check_ret(ret, 0);
			if (ret >= 0)
				CHECK(memchr(info.name, 0, sizeof(info.name)) != NULL);
			break;
		default:
			stub_take(m->key, m->key_size);
			check_ret(tsbpf_map__lookup(m, 0), 1);
			fuzz_touch(m->value, user_value_len);
		}
	}
	tsbpf_map__free(m);
	return 0;
}
