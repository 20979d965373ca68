/*
 * Raw C baseline for bench/map.bench.ts: the same bpf(2) requests, made the way a
 * careful C program makes them (attr on the stack, zeroed per call, no library), and
 * measured the same way: each op runs in REPS slices and reports its fastest slice.
 * A u32 -> u64 hash and array, as a counter map would be.
 */
#include <errno.h>

#include "bench.h"

#define REPS 5
#define BIG 65536  /* entries of the map batch_lookup and iterate walk */
#define BATCH 4096 /* entries per batch request */

static volatile uint64_t sink;

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

/* One slice of each op; each returns how many ops it did. */
static int hash_fd, array_fd;
static long per, sweeps, creates;

static long hash_update(void)
{
	for (long i = 0; i < per; i++) {
		uint32_t key = (uint32_t)(i & 1023);
		uint64_t value = (uint64_t)i;

		if (elem(BPF_MAP_UPDATE_ELEM, hash_fd, &key, &value, BPF_ANY))
			die("BPF_MAP_UPDATE_ELEM");
	}
	return per;
}

static long lookup(int fd)
{
	for (long i = 0; i < per; i++) {
		uint32_t key = (uint32_t)(i & 1023);
		uint64_t value;

		if (elem(BPF_MAP_LOOKUP_ELEM, fd, &key, &value, 0))
			die("BPF_MAP_LOOKUP_ELEM");
		sink += value;
	}
	return per;
}

static long hash_lookup(void)
{
	return lookup(hash_fd);
}

static long array_lookup(void)
{
	return lookup(array_fd);
}

/* One op: delete a key, then insert it again. */
static long hash_delete_insert(void)
{
	for (long i = 0; i < per / 2; i++) {
		uint32_t key = (uint32_t)(i & 1023);
		uint64_t value = (uint64_t)i;

		if (elem(BPF_MAP_DELETE_ELEM, hash_fd, &key, NULL, 0) ||
		    elem(BPF_MAP_UPDATE_ELEM, hash_fd, &key, &value, BPF_NOEXIST))
			die("delete/insert");
	}
	return per / 2;
}

/* Whole sweeps of the big map in batches: elements done. */
static long batch_lookup(void)
{
	static uint32_t keys[BATCH];
	static uint64_t values[BATCH];
	long elements = 0;

	for (long s = 0; s < sweeps; s++) {
		uint32_t token = 0;
		int first = 1;
		long ret;

		do {
			union bpf_attr a;

			memset(&a, 0, sizeof(a));
			a.batch.map_fd = hash_fd;
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
	return elements;
}

/* One walk with next-key + lookup: elements done. */
static long iterate(void)
{
	uint32_t cur, next;
	uint64_t value;
	long elements = 0;
	int first = 1;

	while (next_key(hash_fd, first ? NULL : &cur, &next) == 0) {
		if (elem(BPF_MAP_LOOKUP_ELEM, hash_fd, &next, &value, 0) == 0)
			sink += value;
		cur = next;
		first = 0;
		elements++;
	}
	return elements;
}

/* Create and close a 1024-entry hash. */
static long create_map(void)
{
	for (long i = 0; i < creates; i++) {
		int fd = create(BPF_MAP_TYPE_HASH, 1024);

		if (fd < 0)
			die("BPF_MAP_CREATE");
		close(fd);
	}
	return creates;
}

static void measure(const char *op, long (*slice)(void))
{
	double best = 1e300;
	long total = 0;

	for (int r = 0; r < REPS; r++) {
		uint64_t t0 = now_ns();
		long ops = slice();
		double ns = (double)(now_ns() - t0) / (double)ops;

		if (ns < best)
			best = ns;
		total += ops;
	}
	printf("op=%s n=%ld ns_per_op=%.1f\n", op, total, best);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	long n = iterations(argc, argv, 200000);

	per = n / REPS;
	sweeps = n / 25000 > 0 ? n / 25000 : 1;
	creates = n / 100 > 0 ? n / 100 : 1;
	hash_fd = create(BPF_MAP_TYPE_HASH, BIG);
	array_fd = create(BPF_MAP_TYPE_ARRAY, 1024);
	if (hash_fd < 0 || array_fd < 0)
		die("BPF_MAP_CREATE");
	measure("hash_update", hash_update);
	measure("hash_lookup", hash_lookup);
	measure("array_lookup", array_lookup);
	measure("hash_delete_insert", hash_delete_insert);
	for (uint32_t key = 0; key < BIG; key++) {
		uint64_t value = key;

		if (elem(BPF_MAP_UPDATE_ELEM, hash_fd, &key, &value, BPF_ANY))
			die("fill");
	}
	measure("batch_lookup", batch_lookup);
	measure("iterate", iterate);
	measure("create_map", create_map);
	close(hash_fd);
	close(array_fd);
	return 0;
}
