// Collection benchmarks; bench/baseline/collection.c does the same with libbpf 1.1 (dlopen).
//   collection_parse_manyprogs      loadCollectionSpec of testdata/manyprogs-el.elf, the largest corpus
//                                   object (36.8 KB: 30 kprobe programs sharing a legacy map, 90 CO-RE
//                                   relocations). libbpf 1.1 refuses it (legacy maps): no C side.
//   collection_load_manyprogs       Collection.load + close of that spec: BTF, 1 map, 30 programs.
//                                   Until a CO-RE resolver is installed (issue 7) a bench-only one leaves
//                                   the 90 field offsets as compiled (the programs read through
//                                   bpf_probe_read, so the verifier accepts them): everything but CO-RE.
//   collection_load_variables       Collection.load + close of testdata/variables-el.elf (8 programs,
//                                   7 global data maps, one of 8 KiB), the spec parsed once.
//   collection_open_load_variables  the same with the parse in the loop: what libbpf's
//                                   bpf_object__open_mem + bpf_object__load + bpf_object__close does.
// Loads report the median of ten chunks (the machine is shared). Prints op=<name> n=<count> ns_per_op=<float>.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Collection, loadCollectionSpec, type CollectionSpec } from '../src/index.js';
import { setExternResolver } from '../src/collection.js';
import { corpusDir } from '../test/helpers/corpus.js';
import { iterations, report } from './timing.js';

const n = iterations(200);
const dir = join(corpusDir(), 'cilium-ebpf/testdata');
const manyprogs = readFileSync(join(dir, 'manyprogs-el.elf'));
const variables = readFileSync(join(dir, 'variables-el.elf'));
const CHUNKS = 10;

function chunked(op: string, m: number, once: () => void): void {
  for (let i = 0; i < Math.min(5, m); i++) once();
  const per = Math.max(1, Math.floor(m / CHUNKS));
  const chunks: bigint[] = [];
  for (let k = 0; k < CHUNKS; k++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < per; i++) once();
    chunks.push(process.hrtime.bigint() - t0);
  }
  chunks.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  report(op, per, chunks[CHUNKS >> 1]!);
}

for (let warm = 0; warm < 2; warm++) {
  const k = n * 10;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < k; i++) loadCollectionSpec(manyprogs);
  if (warm) report('collection_parse_manyprogs', k, process.hrtime.bigint() - t0);
}

const installed = setExternResolver(undefined);
if (!installed) console.error('# collection_load_manyprogs: no CO-RE resolver installed (issue 7); CO-RE offsets left as compiled');
setExternResolver(installed ?? (() => ({})));
const many: CollectionSpec = loadCollectionSpec(manyprogs);
chunked('collection_load_manyprogs', Math.max(CHUNKS, Math.floor(n / 4)), () => Collection.load(many).close());
setExternResolver(installed);

const vars = loadCollectionSpec(variables);
chunked('collection_load_variables', n, () => Collection.load(vars).close());
chunked('collection_open_load_variables', n, () => Collection.load(loadCollectionSpec(variables)).close());
