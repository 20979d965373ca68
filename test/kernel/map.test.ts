// Maps on the real kernel: every operation on every common map type, with bpftool and
// /proc as independent witnesses of what the kernel holds.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import {
  BatchCursor,
  BpfError,
  BpfMap,
  MapFlags,
  MapType,
  Program,
  ProgramType,
  UpdateFlags,
  asm,
  codec,
  possibleCpus,
} from '../../src/index.js';
import { kernelTest, openFdCount } from '../helpers/kernel.js';

const RET0 = [asm.mov64Imm(asm.R0, 0), asm.exit()];

function fdinfo(fd: number, field: string): number {
  const m = new RegExp(`^${field}:\\s*(\\d+)$`, 'm').exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  if (!m) throw new Error(`no ${field} in fdinfo of ${fd}`);
  return Number(m[1]);
}

/** What bpftool says the map holds, keys and values as hex strings. */
function bpftoolDump(id: number): { key: string; value?: string; values?: { cpu: number; value: string }[] }[] {
  const hex = (bytes: string[]) => bytes.map((b) => b.slice(2)).join('');
  const raw = JSON.parse(execFileSync('bpftool', ['map', 'dump', 'id', String(id), '--json'], { encoding: 'utf8' })) as {
    key: string[];
    value?: string[];
    values?: { cpu: number; value: string[] }[];
  }[];
  return raw.map((e) => ({
    key: hex(e.key),
    ...(e.value ? { value: hex(e.value) } : {}),
    ...(e.values ? { values: e.values.map((v) => ({ cpu: v.cpu, value: hex(v.value) })) } : {}),
  }));
}

kernelTest('hash: update with each flag, lookup, has, delete, lookupAndDelete', (t) => {
  using m = BpfMap.create({ type: MapType.Hash, key: codec.u32, value: codec.u64, maxEntries: 4, name: 'kt_hash' });
  t.is(m.lookup(1), undefined);
  m.update(1, 10);
  m.update(2, 2 ** 52, UpdateFlags.NoExist);
  t.is(m.lookup(1), 10);
  t.is(m.lookup(2), 2 ** 52);
  t.true(m.has(2));
  t.throws(() => m.update(1, 11, UpdateFlags.NoExist), { instanceOf: BpfError, code: 'EEXIST' } as never);
  t.throws(() => m.update(3, 11, UpdateFlags.Exist), { instanceOf: BpfError, code: 'ENOENT' } as never);
  m.update(1, 12, UpdateFlags.Exist);
  t.is(m.lookup(1), 12);
  t.is(m.lookupAndDelete(1), 12);
  t.is(m.lookup(1), undefined);
  t.true(m.delete(2));
  t.false(m.delete(2));
  // Raw bytes work on a typed map too.
  m.update(Buffer.from([3, 0, 0, 0]), Buffer.from([7, 0, 0, 0, 0, 0, 0, 0]));
  t.is(m.lookup(3), 7);
  t.deepEqual(m.lookup(Buffer.from([3, 0, 0, 0]), Buffer.alloc(8)), Buffer.from([7, 0, 0, 0, 0, 0, 0, 0]));
});

kernelTest('hash: a full map refuses a new key with E2BIG, but still replaces existing ones', (t) => {
  using m = BpfMap.create({ type: MapType.Hash, key: codec.u32, value: codec.u32, maxEntries: 2 });
  m.update(1, 1);
  m.update(2, 2);
  const err = t.throws(() => m.update(3, 3), { instanceOf: BpfError });
  t.is(err!.code, 'E2BIG');
  t.regex(err!.message, /the map is full \(max_entries 2\)/);
  m.update(2, 20);
  t.is(m.lookup(2), 20);
});

kernelTest('hash: keys(), values(), entries() and nextKey() walk every element once', (t) => {
  using m = BpfMap.create({ type: MapType.Hash, key: codec.u32, value: codec.u32, maxEntries: 256 });
  for (let k = 0; k < 200; k++) m.update(k, k * 3);
  const entries = [...m.entries()];
  t.is(entries.length, 200);
  t.deepEqual(
    entries.sort((a, b) => a[0] - b[0]),
    Array.from({ length: 200 }, (_, k) => [k, k * 3]),
  );
  t.deepEqual([...m.keys()].sort((a, b) => a - b), Array.from({ length: 200 }, (_, k) => k));
  t.is([...m.values()].reduce((a, b) => a + b, 0), (3 * 199 * 200) / 2);
  // nextKey follows the same order as keys().
  const order = [...m.keys()];
  t.is(m.nextKey(), order[0]);
  t.is(m.nextKey(order[0]), order[1]);
  t.is(m.nextKey(order[199]), undefined);
  // Other operations between steps do not disturb the walk.
  let n = 0;
  for (const [k] of m.entries()) {
    t.is(m.lookup(k), k * 3);
    n++;
  }
  t.is(n, 200);
});

kernelTest('array: elements exist from the start, cannot be deleted, and stop at max_entries', (t) => {
  using m = BpfMap.create({ type: MapType.Array, key: codec.u32, value: codec.struct({ hits: codec.u32, bytes: codec.u64 }), maxEntries: 3 });
  t.deepEqual(m.lookup(2), { hits: 0, bytes: 0 });
  m.update(1, { hits: 5, bytes: 1500 });
  t.deepEqual(m.lookup(1), { hits: 5, bytes: 1500 });
  t.is(m.lookup(3), undefined);
  t.throws(() => m.update(3, { hits: 1, bytes: 1 }), { code: 'E2BIG', message: /not below max_entries \(3\)/ } as never);
  t.throws(() => m.update(0, { hits: 1, bytes: 1 }, UpdateFlags.NoExist), { code: 'EEXIST' } as never);
  t.throws(() => m.delete(0), { code: 'EINVAL', message: /cannot be deleted/ } as never);
  t.deepEqual([...m.keys()], [0, 1, 2]);
});

for (const [name, type] of [
  ['per-CPU hash', MapType.PercpuHash],
  ['per-CPU array', MapType.PercpuArray],
  ['LRU per-CPU hash', MapType.LruPercpuHash],
] as const) {
  kernelTest(`${name}: one value per possible CPU, with and without padding to 8 bytes`, (t) => {
    const n = possibleCpus();
    t.is(n, parseCpus(readFileSync('/sys/devices/system/cpu/possible', 'utf8')));
    using narrow = BpfMap.create({ type, key: codec.u32, value: codec.u16, maxEntries: 4 });
    using wide = BpfMap.create({ type, key: codec.u32, value: codec.u64, maxEntries: 4 });
    const small = Array.from({ length: n }, (_, i) => 1000 + i);
    const big = Array.from({ length: n }, (_, i) => 2 ** 40 + i);
    narrow.update(1, small);
    wide.update(1, big);
    t.deepEqual(narrow.lookup(1), small);
    t.deepEqual(wide.lookup(1), big);
    t.deepEqual([...narrow.entries()].find(([k]) => k === 1)?.[1], small);
    // bpftool reads the kernel's layout: each CPU's slot holds our value.
    const dump = bpftoolDump(narrow.info().id).find((e) => e.key === '01000000')!;
    t.deepEqual(
      dump.values!.map((v) => v.value),
      small.map((v) => Buffer.from([v & 0xff, v >> 8]).toString('hex')),
    );
    const c = new BatchCursor();
    const batch = wide.lookupBatch(c, 16);
    t.deepEqual(batch.values[batch.keys.indexOf(1)], big);
  });
}

function parseCpus(text: string): number {
  return text
    .trim()
    .split(',')
    .reduce((n, part) => {
      const [a, b] = part.split('-').map(Number);
      return n + (b === undefined ? 1 : b - a! + 1);
    }, 0);
}

kernelTest('LRU hash: a full map evicts instead of refusing', (t) => {
  using m = BpfMap.create({ type: MapType.LruHash, key: codec.u32, value: codec.u32, maxEntries: 16, flags: MapFlags.NoCommonLru });
  for (let k = 0; k < 200; k++) m.update(k, k);
  const n = [...m.keys()].length;
  t.true(n > 0 && n <= 16, `${n} entries`);
  t.is(m.lookup(199), 199, 'the newest entry survives');
});

kernelTest('LPM trie: the longest matching prefix wins', (t) => {
  using m = BpfMap.create({ type: MapType.LpmTrie, key: codec.lpmKey(4), value: codec.u32, maxEntries: 16, flags: MapFlags.NoPrealloc });
  const ip = (s: string) => Buffer.from(s.split('.').map(Number));
  m.update({ prefixLen: 8, data: ip('10.0.0.0') }, 8);
  m.update({ prefixLen: 16, data: ip('10.1.0.0') }, 16);
  m.update({ prefixLen: 0, data: Buffer.alloc(0) }, 0);
  t.is(m.lookup({ prefixLen: 32, data: ip('10.1.2.3') }), 16);
  t.is(m.lookup({ prefixLen: 32, data: ip('10.2.2.3') }), 8);
  t.is(m.lookup({ prefixLen: 32, data: ip('192.168.0.1') }), 0);
  t.true(m.delete({ prefixLen: 16, data: ip('10.1.0.0') }));
  t.is(m.lookup({ prefixLen: 32, data: ip('10.1.2.3') }), 8);
  const keys = [...m.keys()].map((k) => `${[...k.data].join('.')}/${k.prefixLen}`).sort();
  t.deepEqual(keys, ['0.0.0.0/0', '10.0.0.0/8']);
});

kernelTest('queue and stack: push, peek, pop in their order; a full one refuses or replaces', (t) => {
  using q = BpfMap.create({ type: MapType.Queue, value: codec.u32, maxEntries: 3 });
  using s = BpfMap.create({ type: MapType.Stack, value: codec.u32, maxEntries: 3 });
  for (const v of [1, 2, 3]) {
    q.push(v);
    s.push(v);
  }
  const err = t.throws(() => q.push(4), { instanceOf: BpfError });
  t.is(err!.code, 'E2BIG');
  t.regex(err!.message, /push on a queue map: it is full \(3 entries\)/);
  q.push(4, UpdateFlags.Exist); // replaces the oldest
  t.is(q.peek(), 2);
  t.deepEqual([q.pop(), q.pop(), q.pop(), q.pop()], [2, 3, 4, undefined]);
  t.deepEqual([s.pop(), s.peek(), s.pop(), s.pop(), s.pop()], [3, 2, 2, 1, undefined]);
});

kernelTest('bloom filter: every pushed value is found, most others are not', (t) => {
  using b = BpfMap.create({ type: MapType.BloomFilter, value: codec.u32, maxEntries: 1000, mapExtra: 3 });
  t.is(b.info().mapExtra, 3n);
  for (let v = 0; v < 100; v++) b.push(v * 7919);
  for (let v = 0; v < 100; v++) t.true(b.has(v * 7919));
  let hits = 0;
  for (let v = 0; v < 1000; v++) if (b.contains(1_000_000 + v)) hits++;
  t.true(hits < 100, `${hits} false positives in 1000`);
  t.throws(() => b.pop(), { message: /pop\(\) is for queues and stacks/ });
});

kernelTest('prog array: entries are set from a Program; lookups give its id', (t) => {
  using prog = Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: RET0 });
  using m = BpfMap.create({ type: MapType.ProgArray, key: codec.u32, value: codec.u32, maxEntries: 4 });
  m.update(2, prog);
  t.is(m.lookup(2), fdinfo(prog.fd, 'prog_id'));
  t.is(m.lookup(1), undefined);
  t.true(m.delete(2));
  t.throws(() => m.update(0, m), { instanceOf: BpfError }, 'a map is not a program');
});

kernelTest('maps of maps: entries are set from a BpfMap; lookups give its id, which fromId opens', (t) => {
  const spec = { type: MapType.Array, key: codec.u32, value: codec.u32, maxEntries: 2 } as const;
  using template = BpfMap.create(spec);
  using inner = BpfMap.create(spec);
  inner.update(1, 4242);
  for (const type of [MapType.ArrayOfMaps, MapType.HashOfMaps]) {
    using outer = BpfMap.create({ type, key: codec.u32, value: codec.u32, maxEntries: 4, innerMap: template });
    outer.update(3, inner);
    const id = outer.lookup(3)!;
    t.is(id, inner.info().id);
    using again = BpfMap.fromId(id, { key: codec.u32, value: codec.u32 });
    t.is(again.lookup(1), 4242);
  }
  using fromSpec = BpfMap.create({ type: MapType.ArrayOfMaps, keySize: 4, valueSize: 4, maxEntries: 1, innerMap: spec });
  fromSpec.update(Buffer.alloc(4), inner);
  t.is(fromSpec.lookup(Buffer.alloc(4))!.readUInt32LE(0), inner.info().id);
});

kernelTest('mmapable array: memory() is the map itself, and retires safely on close', (t) => {
  const m = BpfMap.create({ type: MapType.Array, key: codec.u32, value: codec.u32, maxEntries: 10, flags: MapFlags.Mmapable });
  const mem = m.memory();
  t.is(mem.length, 8 * 10, 'slots of round_up(4, 8) bytes');
  t.is(m.memory(), mem, 'one mapping per map');
  m.update(3, 77);
  t.is(mem.readUInt32LE(3 * 8), 77);
  mem.writeUInt32LE(1234, 5 * 8);
  t.is(m.lookup(5), 1234);
  t.throws(() => m.freeze(), { code: 'EBUSY' } as never, 'a writable mapping prevents freezing');
  m.close();
  t.is(mem.readUInt32LE(3 * 8), 0, 'after close the range reads zeros instead of crashing');
  using plain = BpfMap.create({ type: MapType.Array, key: codec.u32, value: codec.u32, maxEntries: 1 });
  t.throws(() => plain.memory(), { instanceOf: BpfError, message: /created with MapFlags.Mmapable/ });
  using frozen = BpfMap.create({ type: MapType.Array, key: codec.u32, value: codec.u32, maxEntries: 2, flags: MapFlags.Mmapable });
  frozen.freeze();
  t.throws(() => frozen.memory(), { instanceOf: BpfError, code: 'EPERM' } as never);
});

kernelTest('batches: lookup resumes with a cursor until done, update and delete in one request each', (t) => {
  using m = BpfMap.create({ type: MapType.Hash, key: codec.u32, value: codec.u32, maxEntries: 1024 });
  const keys = Array.from({ length: 1000 }, (_, i) => i * 3);
  t.is(m.updateBatch(keys, keys.map((k) => k + 1)), 1000);
  const seen = new Map<number, number>();
  const cursor = new BatchCursor();
  let calls = 0;
  while (!cursor.done) {
    const b = m.lookupBatch(cursor, 64);
    b.keys.forEach((k, i) => seen.set(k, b.values[i]!));
    calls++;
  }
  t.is(seen.size, 1000);
  t.true(calls >= 1000 / 64);
  for (const k of keys) t.is(seen.get(k), k + 1);
  // The raw form fills caller buffers, and a cursor can be kept and resumed later.
  const kb = Buffer.alloc(4 * 100);
  const vb = Buffer.alloc(4 * 100);
  const raw = new BatchCursor();
  const n1 = m.lookupBatchRaw(raw, kb, vb);
  t.true(n1 > 0 && n1 <= 100);
  t.is(vb.readUInt32LE(0), kb.readUInt32LE(0) + 1);
  let total = n1;
  while (!raw.done) total += m.lookupBatchRaw(raw, kb, vb);
  t.is(total, 1000);
  t.is(m.deleteBatch(keys.slice(0, 500)), 500);
  t.is([...m.keys()].length, 500);
  const err = t.throws(() => m.deleteBatch([0]), { instanceOf: BpfError });
  t.is(err!.code, 'ENOENT');
  // Lookup-and-delete empties the map.
  const drain = new BatchCursor();
  let drained = 0;
  while (!drain.done) drained += m.lookupAndDeleteBatch(drain, 128).keys.length;
  t.is(drained, 500);
  t.is(m.nextKey(), undefined);
});

kernelTest('batches on arrays and per-CPU arrays', (t) => {
  using a = BpfMap.create({ type: MapType.Array, key: codec.u32, value: codec.u64, maxEntries: 50 });
  a.updateBatch([0, 10, 49], [1, 2, 3]);
  const all = a.lookupBatch(new BatchCursor(), 100);
  t.is(all.keys.length, 50);
  t.deepEqual([all.values[0], all.values[10], all.values[49], all.values[1]], [1, 2, 3, 0]);
  const n = possibleCpus();
  using p = BpfMap.create({ type: MapType.PercpuArray, key: codec.u32, value: codec.u32, maxEntries: 4 });
  const vals = [0, 1, 2, 3].map((k) => Array.from({ length: n }, (_, c) => k * 100 + c));
  p.updateBatch([0, 1, 2, 3], vals);
  t.deepEqual(p.lookupBatch(new BatchCursor(), 4).values, vals);
  t.deepEqual(p.lookup(2), vals[2]);
});

kernelTest('freeze: user space may no longer write, reads still work, info() says frozen', (t) => {
  using m = BpfMap.create({ type: MapType.Hash, key: codec.u32, value: codec.u32, maxEntries: 4 });
  m.update(1, 1);
  t.false(m.info().frozen);
  m.freeze();
  t.true(m.info().frozen);
  const err = t.throws(() => m.update(1, 2), { instanceOf: BpfError });
  t.is(err!.code, 'EPERM');
  t.regex(err!.message, /user space may not write this map \(it is frozen/);
  t.throws(() => m.delete(1), { code: 'EPERM' } as never);
  t.is(m.lookup(1), 1);
});

kernelTest('info, ids, fromId, clone, pin and loadPinned agree on one map', (t) => {
  using m = BpfMap.create({ type: MapType.Hash, key: codec.u32, value: codec.u16, maxEntries: 9, name: 'kt_info', flags: MapFlags.NoPrealloc });
  const info = m.info();
  t.like(info, { type: MapType.Hash, typeName: 'BPF_MAP_TYPE_HASH', keySize: 4, valueSize: 2, maxEntries: 9, flags: MapFlags.NoPrealloc, name: 'kt_info', frozen: false });
  t.is(info.id, fdinfo(m.fd, 'map_id'));
  t.true([...BpfMap.ids()].includes(info.id));
  m.update(5, 55);

  using byId = BpfMap.fromId(info.id, { key: codec.u32, value: codec.u16 });
  t.is(byId.lookup(5), 55);
  t.is(byId.name, 'kt_info');
  t.throws(() => BpfMap.fromId(info.id, { key: codec.u64 }), { message: /key codec u64 is 8 bytes, but this map's keys are 4 bytes/ });

  const copy = m.clone();
  t.not(copy.fd, m.fd);
  t.is(copy.info().id, info.id);
  copy.close();
  t.is(m.lookup(5), 55, 'closing a clone leaves the original open');

  const path = `/sys/fs/bpf/tsbpf-test-${process.pid}-map-pin`;
  m.pin(path);
  t.teardown(() => {
    if (existsSync(path)) execFileSync('rm', ['-f', path]);
  });
  using pinned = BpfMap.loadPinned(path, { key: codec.u32, value: codec.u16 });
  t.is(pinned.info().id, info.id);
  t.is(pinned.lookup(5), 55);
  using ro = BpfMap.loadPinned(path, { key: codec.u32, value: codec.u16, flags: MapFlags.Rdonly });
  t.throws(() => ro.update(5, 1), { code: 'EPERM' } as never);
  m.unpin();
  t.false(existsSync(path));
  t.throws(() => BpfMap.fromId(0xfffffff0), { instanceOf: BpfError, code: 'ENOENT' } as never);
  using numa = BpfMap.create({ type: MapType.Hash, keySize: 4, valueSize: 4, maxEntries: 4, numaNode: 0 });
  t.is(numa.info().flags, MapFlags.NumaNode);
});

kernelTest('bpftool map dump agrees with entries() on a map filled by tsbpf', (t) => {
  using m = BpfMap.create({ type: MapType.Hash, key: codec.u32, value: codec.struct({ a: codec.u16, b: codec.u32 }), maxEntries: 64 });
  for (let k = 0; k < 40; k++) m.update(k * 1_000_003, { a: k, b: 0xabcd0000 + k });
  const fromBpftool = new Map(bpftoolDump(m.info().id).map((e) => [e.key, e.value]));
  const fromTsbpf = new Map(
    [...m.entries()].map(([k, v]) => {
      const kb = Buffer.alloc(4);
      kb.writeUInt32LE(k);
      const vb = Buffer.alloc(8);
      vb.writeUInt16LE(v.a, 0);
      vb.writeUInt32LE(v.b, 4);
      return [kb.toString('hex'), vb.toString('hex')];
    }),
  );
  t.is(fromTsbpf.size, 40);
  t.deepEqual([...fromBpftool].sort(), [...fromTsbpf].sort());
});

/** One BPF instruction: code, dst, src, off, imm. */
function insn(code: number, dst: number, src: number, off: number, imm: number): Buffer {
  const b = Buffer.alloc(8);
  b[0] = code;
  b[1] = (src << 4) | dst;
  b.writeInt16LE(off, 2);
  b.writeInt32LE(imm, 4);
  return b;
}
/** ld_imm64 dst, map fd (src_reg 1 = BPF_PSEUDO_MAP_FD): two instruction slots. */
const ldMapFd = (dst: number, fd: number) => Buffer.concat([insn(0x18, dst, 1, 0, fd), insn(0, 0, 0, 0, 0)]);

kernelTest('a program updates a map (hand-written bytecode, run with test()); TypeScript reads it back', (t) => {
  using m = BpfMap.create({ type: MapType.Hash, key: codec.u32, value: codec.u64, maxEntries: 8 });
  const code = Buffer.concat([
    insn(0x62, 10, 0, -4, 7), // *(u32 *)(r10 - 4) = 7            key
    insn(0x7a, 10, 0, -16, 4242), // *(u64 *)(r10 - 16) = 4242    value
    ldMapFd(1, m.fd), // r1 = map
    insn(0xbf, 2, 10, 0, 0), // r2 = r10
    insn(0x07, 2, 0, 0, -4), // r2 += -4
    insn(0xbf, 3, 10, 0, 0), // r3 = r10
    insn(0x07, 3, 0, 0, -16), // r3 += -16
    insn(0xb7, 4, 0, 0, 0), // r4 = BPF_ANY
    insn(0x85, 0, 0, 0, 2), // call bpf_map_update_elem
    insn(0xb7, 0, 0, 0, 0), // r0 = 0
    insn(0x95, 0, 0, 0, 0), // exit
  ]);
  using prog = Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: code });
  t.is(m.lookup(7), undefined);
  t.is(prog.test(Buffer.alloc(64)).retval, 0);
  t.is(m.lookup(7), 4242);
});

kernelTest('a program increments an array element atomically after a lookup; each test() counts', (t) => {
  using m = BpfMap.create({ type: MapType.Array, key: codec.u32, value: codec.u64, maxEntries: 4 });
  m.update(2, 100);
  const code = Buffer.concat([
    insn(0x62, 10, 0, -4, 2), // *(u32 *)(r10 - 4) = 2
    ldMapFd(1, m.fd),
    insn(0xbf, 2, 10, 0, 0), // r2 = r10
    insn(0x07, 2, 0, 0, -4), // r2 += -4
    insn(0x85, 0, 0, 0, 1), // call bpf_map_lookup_elem
    insn(0x15, 0, 0, 2, 0), // if r0 == 0 goto +2
    insn(0xb7, 1, 0, 0, 1), // r1 = 1
    insn(0xdb, 0, 1, 0, 0), // lock *(u64 *)(r0 + 0) += r1
    insn(0xb7, 0, 0, 0, 0), // r0 = 0
    insn(0x95, 0, 0, 0, 0), // exit
  ]);
  using prog = Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: code });
  for (let i = 0; i < 5; i++) prog.test(Buffer.alloc(64));
  t.is(m.lookup(2), 105);
});

kernelTest('bad inputs give clear BpfErrors and nothing crashes', (t) => {
  using q = BpfMap.create({ type: MapType.Queue, value: codec.u32, maxEntries: 1 });
  q.push(1);
  t.throws(() => q.push(2), { code: 'E2BIG', message: /it is full/ } as never);
  const batch = t.throws(() => q.lookupBatch(new BatchCursor(), 4), { instanceOf: BpfError });
  t.regex(batch!.message, /batch lookup is not supported by queue maps/);
  using h = BpfMap.create({ type: MapType.Hash, keySize: 8, valueSize: 16, maxEntries: 4 });
  t.throws(() => h.update(Buffer.alloc(4), Buffer.alloc(16)), { message: /key is 4 bytes, but this map's keys are 8 bytes \(keySize\)/ });
  t.throws(() => h.update(Buffer.alloc(8), Buffer.alloc(15)), { message: /value is 15 bytes, but this map's values are 16 bytes \(valueSize\)/ });
  t.throws(() => h.update(Buffer.alloc(8), Buffer.alloc(16), UpdateFlags.Lock), { code: 'EINVAL', message: /BPF_F_LOCK/ } as never);
  t.throws(() => BpfMap.create({ type: MapType.LpmTrie, keySize: 8, valueSize: 4, maxEntries: 4 }), { code: 'EINVAL', message: /BPF_F_NO_PREALLOC/ } as never);
  t.throws(() => BpfMap.create({ type: 9999 as MapType, keySize: 4, valueSize: 4, maxEntries: 4 }), { code: 'EINVAL' } as never);
});

kernelTest.serial('creating and closing 500 maps, clones and mappings leaves the fd count unchanged', (t) => {
  const before = openFdCount();
  for (let i = 0; i < 500; i++) {
    const m = BpfMap.create({ type: MapType.Array, key: codec.u32, value: codec.u32, maxEntries: 4, flags: i % 5 === 0 ? MapFlags.Mmapable : 0 });
    if (i % 5 === 0) m.memory();
    const c = m.clone();
    m.close();
    c.close();
  }
  t.is(openFdCount(), before);
});
