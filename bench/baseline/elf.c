/* Raw C baseline for bench/elf.bench.ts: libbpf (loaded with dlopen, so the bench runner
 * needs no link flags) doing the same parsing: bpf_object__open_mem of a corpus object and
 * btf__parse of vmlinux BTF, plus a lookup by name. libbpf 1.1 refuses manyprogs-el.elf
 * (legacy maps), so that op has no C side. */
#include <dlfcn.h>

#include "corpus.h"

int main(int argc, char **argv)
{
	long n = iterations(argc, argv, 2000);
	void *h = dlopen("libbpf.so.1", RTLD_NOW);
	char path[512];
	size_t len, vlen;
	char *obj, *vmlinux;
	uint64_t t0;

	if (!h) {
		fprintf(stderr, "%s\n", dlerror());
		return 1;
	}
	void *(*open_mem)(const void *, size_t, const void *) = dlsym(h, "bpf_object__open_mem");
	void (*obj_close)(void *) = dlsym(h, "bpf_object__close");
	void *(*btf_parse)(const char *, void *) = dlsym(h, "btf__parse");
	void (*btf_free)(void *) = dlsym(h, "btf__free");
	int (*find)(const void *, const char *, unsigned int) = dlsym(h, "btf__find_by_name_kind");
	void *(*set_print)(int (*)(int, const char *, va_list)) = dlsym(h, "libbpf_set_print");

	set_print(quiet);
	snprintf(path, sizeof(path), "%s/cilium-ebpf/btf/testdata/relocs-el.elf", corpus());
	obj = read_file(path, &len);
	for (int warm = 0; warm < 2; warm++) {
		t0 = now_ns();
		for (long i = 0; i < n; i++) {
			void *o = open_mem(obj, len, NULL);

			if (!o)
				die("bpf_object__open_mem");
			obj_close(o);
		}
		if (warm)
			report("elf_open_relocs", n, now_ns() - t0);
	}

	vmlinux = read_file("/sys/kernel/btf/vmlinux", &vlen);
	free(vmlinux);
	long m = n / 100 > 3 ? n / 100 : 3;
	t0 = now_ns();
	for (long i = 0; i < m; i++) {
		void *b = btf_parse("/sys/kernel/btf/vmlinux", NULL);

		if (!b)
			die("btf__parse");
		btf_free(b);
	}
	report("btf_parse_vmlinux", m, now_ns() - t0);

	void *b = btf_parse("/sys/kernel/btf/vmlinux", NULL);
	if (find(b, "task_struct", 4) <= 0)
		die("btf__find_by_name_kind");
	t0 = now_ns();
	for (long i = 0; i < n * 10; i++)
		if (find(b, i & 1 ? "task_struct" : "sk_buff", 4) <= 0)
			die("btf__find_by_name_kind");
	report("btf_find_vmlinux", n * 10, now_ns() - t0);
	btf_free(b);
	return 0;
}
