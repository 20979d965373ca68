/* Raw C baseline for bench/core_relo.bench.ts: libbpf 1.1 (loaded with dlopen) parsing the
 * kernel's BTF: the first btf__load_vmlinux_btf() of the process, its first lookup by name
 * (libbpf scans every type; it keeps no index), and a warm load. libbpf relocates CO-RE only
 * while loading programs into the kernel, so the relocation ops have no C side. Also prints
 * the resident memory the first load added. */
#include <dlfcn.h>
#include <sys/resource.h>

#include "bench.h"

static long rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, resident = 0;

	if (!f || fscanf(f, "%ld %ld", &pages, &resident) != 2)
		die("statm");
	fclose(f);
	return resident * sysconf(_SC_PAGESIZE);
}

int main(int argc, char **argv)
{
	long n = iterations(argc, argv, 200);
	long m = n / 20 > 3 ? n / 20 : 3;
	void *h = dlopen("libbpf.so.1", RTLD_NOW);
	uint64_t t0, t1, t2;
	long rss0, rss1;

	if (!h) {
		fprintf(stderr, "%s\n", dlerror());
		return 1;
	}
	void *(*load_vmlinux)(void) = dlsym(h, "btf__load_vmlinux_btf");
	void (*btf_free)(void *) = dlsym(h, "btf__free");
	int (*find)(const void *, const char *, unsigned int) = dlsym(h, "btf__find_by_name_kind");

	rss0 = rss_bytes();
	t0 = now_ns();
	void *b = load_vmlinux();
	t1 = now_ns();
	if (!b || find(b, "task_struct", 4) <= 0)
		die("btf__load_vmlinux_btf");
	t2 = now_ns();
	rss1 = rss_bytes();
	report("kernel_btf_first", 1, t1 - t0);
	report("kernel_index_first", 1, t2 - t1);
	printf("mem op=kernel_btf rss_bytes=%ld\n", rss1 - rss0);
	btf_free(b);

	t0 = now_ns();
	for (long i = 0; i < m; i++) {
		b = load_vmlinux();
		if (!b)
			die("btf__load_vmlinux_btf");
		btf_free(b);
	}
	report("kernel_btf_load", m, now_ns() - t0);
	return 0;
}
