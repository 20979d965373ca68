// Parsing benchmarks; bench/baseline/elf.c does the same with libbpf.
//   elf_open_relocs      loadCollectionSpec of btf/testdata/relocs-el.elf (15.9 KB, 103 CO-RE relocations)
//   elf_open_manyprogs   loadCollectionSpec of testdata/manyprogs-el.elf, the largest corpus object (36.8 KB, 30 programs)
//   btf_parse_vmlinux    Btf.parse of /sys/kernel/btf/vmlinux (bytes already read)
//   btf_index_vmlinux    the first typeByName on vmlinux BTF, which builds the name index
//   btf_find_vmlinux     typeByName on vmlinux BTF, the name index already built
// Prints op=<name> n=<count> ns_per_op=<float>.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Btf, loadCollectionSpec } from '../src/index.js';
import { corpusDir } from '../test/helpers/corpus.js';
import { iterations, report } from './timing.js';

const n = iterations(2000);
const dir = corpusDir();

for (const [op, file] of [
  ['elf_open_relocs', 'cilium-ebpf/btf/testdata/relocs-el.elf'],
  ['elf_open_manyprogs', 'cilium-ebpf/testdata/manyprogs-el.elf'],
] as const) {
  const bytes = readFileSync(join(dir, file));
  for (let warm = 0; warm < 2; warm++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) loadCollectionSpec(bytes);
    if (warm) report(op, n, process.hrtime.bigint() - t0);
  }
}

const vmlinux = readFileSync('/sys/kernel/btf/vmlinux');
const m = Math.max(3, Math.floor(n / 100));
Btf.parse(vmlinux); // warm-up
{
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < m; i++) Btf.parse(vmlinux);
  report('btf_parse_vmlinux', m, process.hrtime.bigint() - t0);
}
{
  // The name index is built on the first lookup: time that on fresh parses.
  let index = 0n;
  let btf = Btf.parse(vmlinux);
  for (let i = 0; i < m; i++) {
    btf = Btf.parse(vmlinux);
    const t0 = process.hrtime.bigint();
    btf.typeByName('task_struct', 'STRUCT');
    index += process.hrtime.bigint() - t0;
  }
  report('btf_index_vmlinux', m, index);
  const k = n * 10;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < k; i++) btf.typeByName(i & 1 ? 'task_struct' : 'sk_buff', 'STRUCT');
  report('btf_find_vmlinux', k, process.hrtime.bigint() - t0);
}
