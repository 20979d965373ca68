// Map benchmarks; bench/baseline/map.c makes the same requests in raw C, measured the same
// way: each op runs in REPS slices and reports its fastest slice (ns per op), which keeps
// the comparison stable on a machine shared with other work. A u32 -> u64 hash and array
// through codecs, as a counter map is used. Prints op=<name> n=<count> ns_per_op=<float>.
import { BatchCursor, BpfMap, MapType, codec } from '../src/index.js';
import { iterations } from './timing.js';

const n = iterations(200_000);
const REPS = 5;
const BIG = 65536;
const BATCH = 4096;
let sink = 0;

/** Runs `slice` REPS times; each call returns how many ops it did. Prints the best ns/op. */
function measure(op: string, slice: () => number): void {
  let best = Infinity;
  let total = 0;
  for (let r = 0; r < REPS; r++) {
    const t0 = process.hrtime.bigint();
    const ops = slice();
    const ns = Number(process.hrtime.bigint() - t0);
    best = Math.min(best, ns / ops);
    total += ops;
  }
  console.log(`op=${op} n=${total} ns_per_op=${best.toFixed(1)}`);
}

{
  using hash = BpfMap.create({ type: MapType.Hash, key: codec.u32, value: codec.u64, maxEntries: BIG });
  using array = BpfMap.create({ type: MapType.Array, key: codec.u32, value: codec.u64, maxEntries: 1024 });
  const per = Math.floor(n / REPS);

  // Warm up the JIT on every path measured below; the C side needs none.
  for (let i = 0; i < 20_000; i++) {
    hash.update(i & 1023, i);
    sink += hash.lookup(i & 1023)!;
    sink += array.lookup(i & 1023)!;
    hash.delete(i & 1023);
    hash.update(i & 1023, i, 1);
  }

  measure('hash_update', () => {
    for (let i = 0; i < per; i++) hash.update(i & 1023, i);
    return per;
  });
  measure('hash_lookup', () => {
    for (let i = 0; i < per; i++) sink += hash.lookup(i & 1023)!;
    return per;
  });
  measure('array_lookup', () => {
    for (let i = 0; i < per; i++) sink += array.lookup(i & 1023)!;
    return per;
  });
  measure('hash_delete_insert', () => {
    for (let i = 0; i < per / 2; i++) {
      hash.delete(i & 1023);
      hash.update(i & 1023, i, 1 /* NoExist */);
    }
    return per / 2;
  });

  // Per element: whole sweeps of a 65,536-entry hash, BATCH entries per request, into
  // reused buffers.
  for (let k = 0; k < BIG; k++) hash.update(k, k);
  const keys = Buffer.alloc(BATCH * 4);
  const values = Buffer.alloc(BATCH * 8);
  const sweeps = Math.max(1, Math.floor(n / 25000));
  measure('batch_lookup', () => {
    let elements = 0;
    for (let s = 0; s < sweeps; s++) {
      const cursor = new BatchCursor();
      while (!cursor.done) {
        const got = hash.lookupBatchRaw(cursor, keys, values);
        for (let i = 0; i < got; i++) sink += values.readUInt32LE(i * 8);
        elements += got;
      }
    }
    return elements;
  });

  // Per element: next-key + lookup over the same map, decoded through the codecs.
  measure('iterate', () => {
    let elements = 0;
    for (const [, v] of hash.entries()) {
      sink += v;
      elements++;
    }
    return elements;
  });
}

{
  const creates = Math.max(1, Math.floor(n / 100));
  measure('create_map', () => {
    for (let i = 0; i < creates; i++) BpfMap.create({ type: MapType.Hash, key: codec.u32, value: codec.u64, maxEntries: 1024 }).close();
    return creates;
  });
}
if (sink === -1) console.log(sink);
