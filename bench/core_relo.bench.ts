// Kernel BTF and CO-RE; bench/baseline/core_relo.c does the same with libbpf.
//   kernel_btf_first       the first Btf.kernel() of a fresh process: read (mapped on 6.16+) and
//                          parse /sys/kernel/btf/vmlinux, core functions run for the first time
//   kernel_index_first     the first lookup by name after it, which builds the name index
//   kernel_btf_load        Btf.load of vmlinux once warm (read + parse)
//   core_relocate_relocs   applyCoRe of relocs-el.elf's 4 loadable programs (101 relocations)
//                          against the object's own BTF
//   core_relocate_vmlinux  applyCoRe of examples/tcprtt_sockops (21 relocations) against
//                          vmlinux, its BTF already parsed
// The first two are medians over 5 fresh processes (this script runs itself with --cold);
// those also print what the kernel's BTF costs in memory:
//   mem op=kernel_btf wasm_bytes=<Wasm memory growth> heap_bytes=<JS heap> external_bytes=<...> rss_bytes=<...>
// Prints op=<name> n=<count> ns_per_op=<float>.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Btf, applyCoRe, loadCollectionSpec } from '../src/index.js';
import { core } from '../src/runtime.js';
import { corpusDir } from '../test/helpers/corpus.js';
import { iterations, report } from './timing.js';

const gc = (globalThis as { gc?: () => void }).gc;

if (process.argv.includes('--cold')) {
  const c = core();
  gc?.();
  const wasm0 = c.mem.u8.buffer.byteLength;
  const m0 = process.memoryUsage();
  const t0 = process.hrtime.bigint();
  const k = Btf.kernel();
  const t1 = process.hrtime.bigint();
  k.typeByName('task_struct', 'STRUCT');
  const t2 = process.hrtime.bigint();
  gc?.();
  const m1 = process.memoryUsage();
  console.log(`cold first=${t1 - t0} index=${t2 - t1} wasm=${c.mem.u8.buffer.byteLength - wasm0} heap=${m1.heapUsed - m0.heapUsed} external=${m1.external - m0.external} rss=${m1.rss - m0.rss}`);
  process.exit(0);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cold: Record<string, number[]> = { first: [], index: [], wasm: [], heap: [], external: [], rss: [] };
for (let i = 0; i < 5; i++) {
  const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--cold'], { encoding: 'utf8' });
  const m = /cold (.*)/.exec(r.stdout);
  if (!m) throw new Error(`cold run failed: ${r.stdout}${r.stderr}`);
  for (const kv of m[1]!.split(' ')) {
    const [k, v] = kv.split('=');
    cold[k!]!.push(Number(v));
  }
}
report('kernel_btf_first', 1, BigInt(median(cold.first!)));
report('kernel_index_first', 1, BigInt(median(cold.index!)));
console.log(`mem op=kernel_btf wasm_bytes=${median(cold.wasm!)} heap_bytes=${median(cold.heap!)} external_bytes=${median(cold.external!)} rss_bytes=${median(cold.rss!)}`);

const n = iterations(200);
const m = Math.max(3, Math.floor(n / 20));
Btf.load('/sys/kernel/btf/vmlinux'); // warm
{
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < m; i++) Btf.load('/sys/kernel/btf/vmlinux');
  report('kernel_btf_load', m, process.hrtime.bigint() - t0);
}

const dir = corpusDir();
const relocs = loadCollectionSpec(join(dir, 'cilium-ebpf/btf/testdata/relocs-el.elf'));
const programs = ['type_ids', 'types', 'enums', 'fields'];
const sockops = loadCollectionSpec(join(dir, 'cilium-ebpf/examples/tcprtt_sockops/bpf_bpfel.o'));
Btf.kernel().typeByName('task_struct', 'STRUCT');
for (const [op, run] of [
  ['core_relocate_relocs', () => applyCoRe(relocs, { kernelTypes: relocs.types!, programs })],
  ['core_relocate_vmlinux', () => applyCoRe(sockops)],
] as const) {
  for (let warm = 0; warm < 2; warm++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) run();
    if (warm) report(op, n, process.hrtime.bigint() - t0);
  }
}
