// Map benchmarks; bench/baseline/map.c makes the same requests in raw C.
// Prints op=<name> n=<count> ns_per_op=<float>. A u32 -> u64 hash and array, through codecs,
// as a counter map is used.
import { BatchCursor, BpfMap, MapType, codec } from '../src/index.js';
import { iterations, report } from './timing.js';

const n = iterations(200_000);
const BIG = 65536;
const BATCH = 4096;
let sink = 0;

const time = (op: string, count: number, fn: () => void): void => {
  const t0 = process.hrtime.bigint();
  fn();
  report(op, count, process.hrtime.bigint() - t0);
};

{
  using hash = BpfMap.create({ type: MapType.Hash, key: codec.u32, value: codec.u64, maxEntries: BIG });
  using array = BpfMap.create({ type: MapType.Array, key: codec.u32, value: codec.u64, maxEntries: 1024 });

  // Warm up the JIT on every path measured below, as the C side needs no warm-up.
  for (let i = 0; i < 20_000; i++) {
    hash.update(i & 1023, i);
    sink += hash.lookup(i & 1023)!;
    sink += array.lookup(i & 1023)!;
    hash.delete(i & 1023);
    hash.update(i & 1023, i, 1);
  }

  time('hash_update', n, () => {
    for (let i = 0; i < n; i++) hash.update(i & 1023, i);
  });
  time('hash_lookup', n, () => {
    for (let i = 0; i < n; i++) sink += hash.lookup(i & 1023)!;
  });
  time('array_lookup', n, () => {
    for (let i = 0; i < n; i++) sink += array.lookup(i & 1023)!;
  });
  time('hash_delete_insert', n / 2, () => {
    for (let i = 0; i < n / 2; i++) {
      hash.delete(i & 1023);
      hash.update(i & 1023, i, 1 /* NoExist */);
    }
  });

  for (let k = 0; k < BIG; k++) hash.update(k, k);
  const keys = Buffer.alloc(BATCH * 4);
  const values = Buffer.alloc(BATCH * 8);
  let rounds = Math.max(1, Math.floor(n / 5000));
  let elements = 0;
  let t0 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) {
    const cursor = new BatchCursor();
    while (!cursor.done) {
      const got = hash.lookupBatchRaw(cursor, keys, values);
      for (let i = 0; i < got; i++) sink += values.readUInt32LE(i * 8);
      elements += got;
    }
  }
  report('batch_lookup', elements, process.hrtime.bigint() - t0);

  rounds = Math.max(1, Math.floor(n / 50000));
  elements = 0;
  t0 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) {
    for (const [, v] of hash.entries()) {
      sink += v;
      elements++;
    }
  }
  report('iterate', elements, process.hrtime.bigint() - t0);
}

{
  const creates = Math.floor(n / 20);
  time('create_map', creates, () => {
    for (let i = 0; i < creates; i++) BpfMap.create({ type: MapType.Hash, key: codec.u32, value: codec.u64, maxEntries: 1024 }).close();
  });
}
if (sink === -1) console.log(sink);
