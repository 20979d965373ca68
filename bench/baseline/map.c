/*
 * Raw C baseline for bench/map.bench.ts: the same bpf(2) requests, made the way a
 * careful C program makes them (attr on the stack, zeroed per call, no library).
 * A u32 -> u64 hash and array, as a counter map would be.
 */
#include <errno.h>

#include "bench.h"

#define BIG 65536	/* entries of the map batch_lookup and iterate walk */
#define BATCH 4096	/* entries per batch request */

static int create(enum bpf_map_type type, unsigned int max_entries)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_type = type;
	a.key_size = 4;
	a.value_size = 8;
	a.max_entries = max_entries;
	return (int)sys_bpf(BPF_MAP_CREATE, &a, sizeof(a));
}

static long elem(int cmd, int fd, const void *key, void *value, uint64_t flags)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = fd;
	a.key = (uintptr_t)key;
	a.value = (uintptr_t)value;
	a.flags = flags;
	return sys_bpf(cmd, &a, sizeof(a));
}

static long next_key(int fd, const void *key, void *next)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = fd;
	a.key = (uintptr_t)key;
	a.next_key = (uintptr_t)next;
	return sys_bpf(BPF_MAP_GET_NEXT_KEY, &a, sizeof(a));
}

int main(int argc, char **argv)
{
	long n = iterations(argc, argv, 200000);
	volatile uint64_t sink = 0;
	uint32_t key, keys[BATCH], token = 0;
	uint64_t value, values[BATCH], t0;
	int hash = create(BPF_MAP_TYPE_HASH, BIG), array = create(BPF_MAP_TYPE_ARRAY, 1024);

	if (hash < 0 || array < 0)
		die("BPF_MAP_CREATE");

	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		key = (uint32_t)(i & 1023);
		value = (uint64_t)i;
		if (elem(BPF_MAP_UPDATE_ELEM, hash, &key, &value, BPF_ANY))
			die("BPF_MAP_UPDATE_ELEM");
	}
	report("hash_update", n, now_ns() - t0);

	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		key = (uint32_t)(i & 1023);
		if (elem(BPF_MAP_LOOKUP_ELEM, hash, &key, &value, 0))
			die("BPF_MAP_LOOKUP_ELEM");
		sink += value;
	}
	report("hash_lookup", n, now_ns() - t0);

	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		key = (uint32_t)(i & 1023);
		if (elem(BPF_MAP_LOOKUP_ELEM, array, &key, &value, 0))
			die("BPF_MAP_LOOKUP_ELEM");
		sink += value;
	}
	report("array_lookup", n, now_ns() - t0);

	/* One op: delete a key, then insert it again. */
	t0 = now_ns();
	for (long i = 0; i < n / 2; i++) {
		key = (uint32_t)(i & 1023);
		value = (uint64_t)i;
		if (elem(BPF_MAP_DELETE_ELEM, hash, &key, NULL, 0) ||
		    elem(BPF_MAP_UPDATE_ELEM, hash, &key, &value, BPF_NOEXIST))
			die("delete/insert");
	}
	report("hash_delete_insert", n / 2, now_ns() - t0);

	/* Fill the big map, then walk it in batches: ns per element. */
	for (key = 0; key < BIG; key++) {
		value = key;
		if (elem(BPF_MAP_UPDATE_ELEM, hash, &key, &value, BPF_ANY))
			die("fill");
	}
	long rounds = n / 5000 > 0 ? n / 5000 : 1, elements = 0;
	t0 = now_ns();
	for (long r = 0; r < rounds; r++) {
		union bpf_attr a;
		int first = 1;
		long ret;

		do {
			memset(&a, 0, sizeof(a));
			a.batch.map_fd = hash;
			a.batch.in_batch = first ? 0 : (uintptr_t)&token;
			a.batch.out_batch = (uintptr_t)&token;
			a.batch.keys = (uintptr_t)keys;
			a.batch.values = (uintptr_t)values;
			a.batch.count = BATCH;
			ret = sys_bpf(BPF_MAP_LOOKUP_BATCH, &a, sizeof(a));
			if (ret && errno != ENOENT)
				die("BPF_MAP_LOOKUP_BATCH");
			for (uint32_t i = 0; i < a.batch.count; i++)
				sink += values[i];
			elements += a.batch.count;
			first = 0;
		} while (ret == 0);
	}
	report("batch_lookup", elements, now_ns() - t0);

	/* Walk with next-key + lookup: ns per element. */
	rounds = n / 50000 > 0 ? n / 50000 : 1;
	elements = 0;
	t0 = now_ns();
	for (long r = 0; r < rounds; r++) {
		uint32_t cur, next;
		int first = 1;

		while (next_key(hash, first ? NULL : &cur, &next) == 0) {
			if (elem(BPF_MAP_LOOKUP_ELEM, hash, &next, &value, 0) == 0)
				sink += value;
			cur = next;
			first = 0;
			elements++;
		}
	}
	report("iterate", elements, now_ns() - t0);

	/* Create and close a 1024-entry hash. */
	long creates = n / 20;
	t0 = now_ns();
	for (long i = 0; i < creates; i++) {
		int fd = create(BPF_MAP_TYPE_HASH, 1024);

		if (fd < 0)
			die("BPF_MAP_CREATE");
		close(fd);
	}
	report("create_map", creates, now_ns() - t0);
	close(hash);
	close(array);
	return (int)(sink & 0);
}
