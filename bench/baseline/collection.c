/* Raw C baseline for bench/collection.bench.ts: libbpf 1.1 (loaded with dlopen, so the bench
 * runner needs no link flags) opening, loading and closing testdata/variables-el.elf, as
 * collection_open_load_variables does. libbpf 1.1 refuses manyprogs-el.elf (legacy maps), so
 * the manyprogs ops have no C side; collection_load_variables (the spec parsed once) has no
 * libbpf equivalent either: a bpf_object loads once. */
#include <dlfcn.h>

#include "corpus.h"

#define CHUNKS 10

static void *(*open_mem)(const void *, size_t, const void *);
static int (*obj_load)(void *);
static void (*obj_close)(void *);
static char *obj;
static size_t len;

static void open_load_close(void)
{
	void *o = open_mem(obj, len, NULL);

	if (!o)
		die("bpf_object__open_mem");
	if (obj_load(o))
		die("bpf_object__load");
	obj_close(o);
}

int main(int argc, char **argv)
{
	long n = iterations(argc, argv, 200);
	long per = n / CHUNKS > 0 ? n / CHUNKS : 1;
	void *h = dlopen("libbpf.so.1", RTLD_NOW);
	uint64_t chunks[CHUNKS], t0;
	char path[512];

	if (!h) {
		fprintf(stderr, "%s\n", dlerror());
		return 1;
	}
	open_mem = dlsym(h, "bpf_object__open_mem");
	obj_load = dlsym(h, "bpf_object__load");
	obj_close = dlsym(h, "bpf_object__close");
	void *(*set_print)(int (*)(int, const char *, va_list)) = dlsym(h, "libbpf_set_print");
	set_print(quiet);
	snprintf(path, sizeof(path), "%s/cilium-ebpf/testdata/variables-el.elf", corpus());
	obj = read_file(path, &len);
	for (int i = 0; i < 5; i++)
		open_load_close();
	for (int k = 0; k < CHUNKS; k++) {
		t0 = now_ns();
		for (long i = 0; i < per; i++)
			open_load_close();
		chunks[k] = now_ns() - t0;
	}
	qsort(chunks, CHUNKS, sizeof(chunks[0]), cmp_u64);
	report("collection_open_load_variables", per, chunks[CHUNKS / 2]);
	return 0;
}
