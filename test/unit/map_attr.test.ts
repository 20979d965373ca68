// The bpf_attr bytes the core builds for map commands, checked on a fake host against the
// offsets of <linux/bpf.h>, and the conversions it does: per-CPU padding, batch cursors,
// keyless maps, errors worded for the operation.
import test from 'ava';
import { attrU32, attrU64, setAttrU32 } from '../../bridge/fake_host.js';
import { BatchCursor, BpfError, BpfMap, MapFlags, MapType, UpdateFlags, codec, possibleCpus } from '../../src/index.js';
import { fakeCore } from '../helpers/fake.js';

// Offsets in union bpf_attr (include/uapi/linux/bpf.h).
const CREATE = {
  map_type: 0, key_size: 4, value_size: 8, max_entries: 12, map_flags: 16, inner_map_fd: 20, numa_node: 24,
  map_name: 28, map_ifindex: 44, btf_fd: 48, map_extra: 64,
};
const ELEM = { map_fd: 0, key: 8, value: 16, next_key: 16, flags: 24 };
const BATCH = { in_batch: 0, out_batch: 8, keys: 16, values: 24, count: 32, map_fd: 36, elem_flags: 40, flags: 48 };
const ENOENT = 2, EEXIST = 17, E2BIG = 7, EINVAL = 22, ENOSPC = 28, ENOTSUPP = 524;

/** A fake core that creates maps (fds from 10000) and answers element commands with `handlers`. */
function setup() {
  const s = fakeCore();
  s.host.on('BPF_MAP_CREATE', () => s.host.fd());
  return s;
}

function u32le(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

test.serial('BPF_MAP_CREATE: every spec field lands where <linux/bpf.h> puts it', (t) => {
  const { host, restore } = setup();
  t.teardown(restore);
  using inner = BpfMap.create({ type: MapType.Array, keySize: 4, valueSize: 4, maxEntries: 1 });
  using m = BpfMap.create({
    type: MapType.HashOfMaps,
    key: codec.u32,
    valueSize: 4,
    maxEntries: 77,
    flags: MapFlags.NoPrealloc,
    name: 'outer.map_1',
    innerMap: inner,
    numaNode: 3,
    mapExtra: 0x1_0000_0002n,
  });
  const req = host.of('BPF_MAP_CREATE')[1]!;
  const a = req.attr;
  t.is(a.length, 72, 'offsetofend(map_extra)');
  t.is(attrU32(a, CREATE.map_type), MapType.HashOfMaps);
  t.is(attrU32(a, CREATE.key_size), 4);
  t.is(attrU32(a, CREATE.value_size), 4);
  t.is(attrU32(a, CREATE.max_entries), 77);
  t.is(attrU32(a, CREATE.map_flags), MapFlags.NoPrealloc | MapFlags.NumaNode, 'numaNode sets BPF_F_NUMA_NODE');
  t.is(attrU32(a, CREATE.inner_map_fd), inner.fd);
  t.is(attrU32(a, CREATE.numa_node), 3);
  t.is(Buffer.from(a.subarray(CREATE.map_name, CREATE.map_name + 16)).toString('latin1'), 'outer.map_1'.padEnd(16, '\0'));
  t.is(attrU64(a, CREATE.map_extra), 0x1_0000_0002n);
  t.is(m.keySize, 4);
  t.is(m.maxEntries, 77);
});

test.serial('BPF_MAP_CREATE: an inner map given as a spec is created for the call and closed after', (t) => {
  const { host, restore } = setup();
  t.teardown(restore);
  using m = BpfMap.create({ type: MapType.ArrayOfMaps, keySize: 4, valueSize: 4, maxEntries: 2, innerMap: { type: MapType.Hash, keySize: 8, valueSize: 8, maxEntries: 4 } });
  const [innerReq, outerReq] = host.of('BPF_MAP_CREATE');
  t.is(attrU32(innerReq!.attr, CREATE.map_type), MapType.Hash);
  t.is(attrU32(outerReq!.attr, CREATE.inner_map_fd), innerReq!.result);
  t.deepEqual(host.closed, [innerReq!.result]);
  t.is(m.fd, outerReq!.result);
});

test.serial('BPF_MAP_CREATE: bad specs are refused before any syscall, naming the option', (t) => {
  const { host, restore, core } = setup();
  t.teardown(restore);
  const cases: [string, unknown, RegExp][] = [
    ['unknown option', { type: MapType.Hash, keySize: 4, valueSize: 4, maxEntries: 1, max: 3 }, /unknown option "max"/],
    ['negative maxEntries', { type: MapType.Hash, keySize: 4, valueSize: 4, maxEntries: -1 }, /"maxEntries" must be an integer/],
    ['fractional keySize', { type: MapType.Hash, keySize: 4.5, valueSize: 4, maxEntries: 1 }, /"keySize" must be an integer/],
    ['codec and size disagree', { type: MapType.Hash, key: codec.u32, keySize: 8, valueSize: 4, maxEntries: 1 }, /codec u32 is 4 bytes, but "keySize" is 8/],
    ['not a codec', { type: MapType.Hash, key: 'u32', valueSize: 4, maxEntries: 1 }, /"key" must be a codec/],
    ['illegal name', { type: MapType.Hash, keySize: 4, valueSize: 4, maxEntries: 1, name: 'my-map' }, /illegal character at position 2/],
    ['long name', { type: MapType.Hash, keySize: 4, valueSize: 4, maxEntries: 1, name: 'a'.repeat(16) }, /longer than 15/],
    ['negative mapExtra', { type: MapType.Hash, keySize: 4, valueSize: 4, maxEntries: 1, mapExtra: -1 }, /"mapExtra" must be an integer/],
    ['bad innerMap', { type: MapType.ArrayOfMaps, keySize: 4, valueSize: 4, maxEntries: 1, innerMap: 5 }, /"innerMap" must be a BpfMap or a MapSpec/],
  ];
  for (const [what, spec, message] of cases) {
    const err = t.throws(() => BpfMap.create(spec as never), { instanceOf: BpfError }, what);
    t.regex(err!.message, message, what);
    t.is(err!.code, 'EINVAL', what);
  }
  t.is(host.requests.length, 0);
  t.is(core.fn.tsbpf_request_count(), 0);
});

test.serial('BPF_MAP_CREATE: the kernel\'s EINVAL is explained for the map type', (t) => {
  const { host, restore } = fakeCore();
  t.teardown(restore);
  host.on('BPF_MAP_CREATE', () => -EINVAL);
  const cases: [object, RegExp][] = [
    [{ type: MapType.LpmTrie, keySize: 8, valueSize: 8, maxEntries: 16 }, /lpm_trie map .* LPM tries need BPF_F_NO_PREALLOC/],
    [{ type: MapType.Queue, keySize: 4, valueSize: 8, maxEntries: 16 }, /queues and stacks need key_size 0/],
    [{ type: MapType.Array, keySize: 8, valueSize: 8, maxEntries: 16 }, /array maps need key_size 4/],
    [{ type: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 0 }, /max_entries must be at least 1/],
  ];
  for (const [spec, message] of cases) {
    const err = t.throws(() => BpfMap.create(spec as never), { instanceOf: BpfError });
    t.regex(err!.message, message);
    t.is(err!.command, 'BPF_MAP_CREATE');
  }
});

test.serial('element commands: fd, key, value and flags sit where <linux/bpf.h> puts them', (t) => {
  const { host, restore } = setup();
  t.teardown(restore);
  using m = BpfMap.create({ type: MapType.Hash, key: codec.u32, value: codec.u64, maxEntries: 8 });
  host.on('BPF_MAP_UPDATE_ELEM', () => 0);
  host.on('BPF_MAP_LOOKUP_ELEM', (req) => {
    const v = req.buffer(ELEM.value)!;
    t.true(v.out && !v.in);
    t.is(v.data.length, 8);
    new DataView(v.data.buffer, v.data.byteOffset).setBigUint64(0, 2n ** 40n + 5n, true);
    return 0;
  });
  host.on('BPF_MAP_DELETE_ELEM', () => 0);
  m.update(0xdeadbeef, 2 ** 40 + 5, UpdateFlags.NoExist);
  t.is(m.lookup(0xdeadbeef), 2 ** 40 + 5);
  t.true(m.delete(7));

  const up = host.of('BPF_MAP_UPDATE_ELEM')[0]!;
  t.is(up.attr.length, 32, 'offsetofend(flags)');
  t.is(attrU32(up.attr, ELEM.map_fd), m.fd);
  t.is(attrU64(up.attr, ELEM.flags), 1n);
  t.deepEqual([...up.inputs.get(ELEM.key)!], [0xef, 0xbe, 0xad, 0xde]);
  t.deepEqual([...up.inputs.get(ELEM.value)!], [5, 0, 0, 0, 0, 1, 0, 0]);
  const look = host.of('BPF_MAP_LOOKUP_ELEM')[0]!;
  t.is(attrU64(look.attr, ELEM.flags), 0n);
  const del = host.of('BPF_MAP_DELETE_ELEM')[0]!;
  t.is(del.attr.length, 16, 'delete stops at the key: older kernels refuse the flags field');
  t.deepEqual([...del.inputs.get(ELEM.key)!], [7, 0, 0, 0]);
});

test.serial('absent keys are answers: lookup gives undefined, delete false, without a reason formatted', (t) => {
  const { host, restore, core } = setup();
  t.teardown(restore);
  using m = BpfMap.create({ type: MapType.Hash, key: codec.u32, value: codec.u32, maxEntries: 8 });
  host.on('BPF_MAP_LOOKUP_ELEM', () => -ENOENT);
  host.on('BPF_MAP_DELETE_ELEM', () => -ENOENT);
  host.on('BPF_MAP_LOOKUP_AND_DELETE_ELEM', () => -ENOENT);
  t.is(m.lookup(1), undefined);
  t.is(core.cstring(core.fn.tsbpf_last_error_reason()), '');
  t.false(m.delete(1));
  t.is(m.lookupAndDelete(1), undefined);
  t.false(m.has(1));
});

test.serial('update errors are worded for the operation and keep their errno', (t) => {
  const { host, restore } = setup();
  t.teardown(restore);
  using hash = BpfMap.create({ type: MapType.Hash, key: codec.u32, value: codec.u32, maxEntries: 8, name: 'counts' });
  using arr = BpfMap.create({ type: MapType.Array, key: codec.u32, value: codec.u32, maxEntries: 4 });
  const cases: [BpfMap<number, number>, number, number, string, RegExp][] = [
    [hash, -EEXIST, UpdateFlags.NoExist, 'EEXIST', /map "counts": update on a hash map: the key exists and BPF_NOEXIST was given/],
    [hash, -ENOENT, UpdateFlags.Exist, 'ENOENT', /the key does not exist and BPF_EXIST was given/],
    [hash, -E2BIG, 0, 'E2BIG', /the map is full \(max_entries 8\)/],
    [arr, -E2BIG, 0, 'E2BIG', /the index is not below max_entries \(4\)/],
    [hash, -1, 0, 'EPERM', /frozen/],
  ];
  for (const [m, ret, flags, code, message] of cases) {
    host.on('BPF_MAP_UPDATE_ELEM', () => ret);
    const err = t.throws(() => m.update(1, 1, flags), { instanceOf: BpfError });
    t.is(err!.code, code);
    t.is(err!.command, 'BPF_MAP_UPDATE_ELEM');
    t.regex(err!.message, message);
  }
  host.on('BPF_MAP_DELETE_ELEM', () => -EINVAL);
  t.throws(() => arr.delete(0), { message: /array elements always exist and cannot be deleted/ });
});

test.serial('keys and values are checked before any syscall, naming the expected size', (t) => {
  const { host, restore, core } = setup();
  t.teardown(restore);
  using raw = BpfMap.create({ type: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 8 });
  using typed = BpfMap.create({ type: MapType.Hash, key: codec.u16, value: codec.struct({ a: codec.u32, b: codec.u8 }), maxEntries: 8 });
  const before = core.fn.tsbpf_request_count();
  const cases: [string, () => unknown, RegExp][] = [
    ['short raw key', () => raw.lookup(Buffer.alloc(3)), /key is 3 bytes, but this map's keys are 4 bytes \(keySize\)/],
    ['long raw value', () => raw.update(Buffer.alloc(4), Buffer.alloc(9)), /value is 9 bytes, but this map's values are 8 bytes \(valueSize\)/],
    ['number on a raw map', () => raw.lookup(5 as never), /key must be 4 bytes/],
    ['u16 out of range', () => typed.lookup(70000), /key must be an integer from 0 to 65535 \(u16\), got 70000/],
    ['missing struct field', () => typed.update(1, { a: 1 } as never), /value is missing field "b"/],
    ['extra struct field', () => typed.update(1, { a: 1, b: 2, c: 3 } as never), /value has unknown field "c"/],
    ['bad struct field', () => typed.update(1, { a: -1, b: 2 }), /value field "a" must be an integer from 0 to 4294967295/],
    ['bad flags', () => typed.update(1, { a: 1, b: 2 }, -1), /"flags" must be an integer/],
    ['push on a hash', () => typed.push({ a: 1, b: 2 }), /push\(\) is for queues, stacks and bloom filters/],
  ];
  for (const [what, fn, message] of cases) {
    const err = t.throws(fn, { instanceOf: BpfError }, what);
    t.regex(err!.message, message, what);
    t.is(err!.code, 'EINVAL', what);
  }
  t.is(core.fn.tsbpf_request_count(), before);
  t.is(host.requests.filter((r) => r.command !== 'BPF_MAP_CREATE').length, 0);
});

test.serial('per-CPU values: the core pads each CPU slot to 8 bytes and packs them back', (t) => {
  const { host, restore } = setup();
  t.teardown(restore);
  const n = possibleCpus();
  using m = BpfMap.create({ type: MapType.PercpuArray, key: codec.u32, value: codec.u32, maxEntries: 4 });
  t.is(m.valuesPerElement, n);
  let sent: Uint8Array | undefined;
  host.on('BPF_MAP_UPDATE_ELEM', (req) => {
    sent = req.buffer(ELEM.value)!.data.slice();
    return 0;
  });
  host.on('BPF_MAP_LOOKUP_ELEM', (req) => {
    const v = req.buffer(ELEM.value)!.data;
    t.is(v.length, 8 * n, 'the kernel gets round_up(4, 8) bytes per possible CPU');
    const dv = new DataView(v.buffer, v.byteOffset, v.length);
    for (let cpu = 0; cpu < n; cpu++) {
      dv.setUint32(cpu * 8, 100 + cpu, true);
      dv.setUint32(cpu * 8 + 4, 0xffffffff, true); // padding the host must not see
    }
    return 0;
  });
  const values = Array.from({ length: n }, (_, i) => i + 1);
  m.update(0, values);
  const dv = new DataView(sent!.buffer);
  for (let cpu = 0; cpu < n; cpu++) {
    t.is(dv.getUint32(cpu * 8, true), cpu + 1);
    t.is(dv.getUint32(cpu * 8 + 4, true), 0, 'padding is zeroed');
  }
  t.deepEqual(m.lookup(0), Array.from({ length: n }, (_, i) => 100 + i));
  const raw = m.lookup(0, Buffer.alloc(4 * n));
  t.is(raw!.readUInt32LE(0), 100);
  t.throws(() => m.update(0, [1]), { instanceOf: BpfError, message: new RegExp(`array of ${n} values, one per possible CPU`) });
});

test.serial('batch lookup: the cursor starts with a NULL in_batch, resumes from the token, ends on ENOENT', (t) => {
  const { host, restore } = setup();
  t.teardown(restore);
  using m = BpfMap.create({ type: MapType.Hash, key: codec.u32, value: codec.u32, maxEntries: 16 });
  let call = 0;
  host.on('BPF_MAP_LOOKUP_BATCH', (req) => {
    call++;
    const a = req.attr;
    t.is(a.length, 56, 'offsetofend(batch)');
    t.is(attrU32(a, BATCH.map_fd), m.fd);
    t.is(attrU32(a, BATCH.count), 3);
    const inBatch = req.buffer(BATCH.in_batch);
    if (call === 1) t.is(attrU64(a, BATCH.in_batch), 0n);
    else t.deepEqual([...inBatch!.data.subarray(0, 4)], [call - 1, 0, 0, 0], 'the token of the previous call');
    const keys = new DataView(req.buffer(BATCH.keys)!.data.buffer, req.buffer(BATCH.keys)!.data.byteOffset);
    const values = new DataView(req.buffer(BATCH.values)!.data.buffer, req.buffer(BATCH.values)!.data.byteOffset);
    const n = call === 1 ? 3 : 1;
    for (let i = 0; i < n; i++) {
      keys.setUint32(i * 4, call * 10 + i, true);
      values.setUint32(i * 4, call * 100 + i, true);
    }
    req.buffer(BATCH.out_batch)!.data.set(u32le(call));
    setAttrU32(a, BATCH.count, n);
    return call === 1 ? 0 : -ENOENT;
  });
  const cursor = new BatchCursor();
  t.deepEqual(m.lookupBatch(cursor, 3), { keys: [10, 11, 12], values: [100, 101, 102] });
  t.false(cursor.done);
  t.deepEqual(m.lookupBatch(cursor, 3), { keys: [20], values: [200] });
  t.true(cursor.done);
  t.deepEqual(m.lookupBatch(cursor, 3), { keys: [], values: [] }, 'a finished cursor asks nothing');
  t.is(call, 2);
  using other = BpfMap.create({ type: MapType.Hash, key: codec.u32, value: codec.u32, maxEntries: 16 });
  cursor.reset();
  t.throws(() => other.lookupBatch(cursor, 3), { instanceOf: BpfError, message: /belongs to another map/ });
});

test.serial('batch errors: ENOSPC asks for a larger count, an unsupported map type says so', (t) => {
  const { host, restore } = setup();
  t.teardown(restore);
  using m = BpfMap.create({ type: MapType.Hash, key: codec.u32, value: codec.u32, maxEntries: 16 });
  host.on('BPF_MAP_LOOKUP_BATCH', (req) => {
    setAttrU32(req.attr, BATCH.count, 0);
    return -ENOSPC;
  });
  t.throws(() => m.lookupBatch(new BatchCursor(), 1), { message: /holds more than 1 entries: ask for more entries per call/ });
  host.on('BPF_MAP_UPDATE_BATCH', () => -ENOTSUPP);
  const err = t.throws(() => m.updateBatch([1, 2], [3, 4]), { instanceOf: BpfError });
  t.is(err!.code, 'ENOTSUPP');
  t.regex(err!.message, /batch update is not supported by hash maps: use single-element operations/);
  host.on('BPF_MAP_UPDATE_BATCH', (req) => {
    setAttrU32(req.attr, BATCH.count, 1);
    return -E2BIG;
  });
  t.throws(() => m.updateBatch([1, 2], [3, 4]), { message: /the map is full .* \(1 of 2 entries were done\)/ });
});

test.serial('batch update and delete send keys and values packed, from arrays or raw bytes', (t) => {
  const { host, restore } = setup();
  t.teardown(restore);
  using m = BpfMap.create({ type: MapType.Hash, key: codec.u16, value: codec.u32, maxEntries: 16 });
  host.on('BPF_MAP_UPDATE_BATCH', (req) => (attrU32(req.attr, BATCH.count), 0));
  host.on('BPF_MAP_DELETE_BATCH', () => 0);
  t.is(m.updateBatch([1, 2, Buffer.from([3, 0])], [10, 20, 30], UpdateFlags.NoExist), 3);
  const up = host.of('BPF_MAP_UPDATE_BATCH')[0]!;
  t.deepEqual([...up.inputs.get(BATCH.keys)!], [1, 0, 2, 0, 3, 0]);
  t.deepEqual([...up.inputs.get(BATCH.values)!], [10, 0, 0, 0, 20, 0, 0, 0, 30, 0, 0, 0]);
  t.is(attrU32(up.attr, BATCH.count), 3);
  t.is(attrU32(up.attr, BATCH.elem_flags), UpdateFlags.NoExist);
  t.is(m.deleteBatch(Buffer.from([5, 0, 6, 0])), 2);
  t.deepEqual([...host.of('BPF_MAP_DELETE_BATCH')[0]!.inputs.get(BATCH.keys)!], [5, 0, 6, 0]);
  t.throws(() => m.updateBatch([1, 2], [1]), { message: /2 keys but 1 values/ });
  t.throws(() => m.deleteBatch(Buffer.alloc(3)), { message: /holds 3 bytes, not a multiple of 2/ });
});

test.serial('queues, stacks and bloom filters send no key; a bloom filter lookup reads the value', (t) => {
  const { host, restore } = setup();
  t.teardown(restore);
  using q = BpfMap.create({ type: MapType.Queue, value: codec.u32, maxEntries: 4 });
  using bloom = BpfMap.create({ type: MapType.BloomFilter, value: codec.u64, maxEntries: 64, mapExtra: 3 });
  host.on('BPF_MAP_UPDATE_ELEM', () => 0);
  host.on('BPF_MAP_LOOKUP_AND_DELETE_ELEM', (req) => {
    req.buffer(ELEM.value)!.data.set(u32le(9));
    return 0;
  });
  host.on('BPF_MAP_LOOKUP_ELEM', (req) => {
    const v = req.buffer(ELEM.value)!;
    t.true(v.in && !v.out, 'the bloom filter reads the value');
    return v.data[0] === 42 ? 0 : -ENOENT;
  });
  q.push(9, UpdateFlags.Exist);
  t.is(q.pop(), 9);
  bloom.push(42);
  t.true(bloom.has(42));
  t.false(bloom.contains(43));
  for (const r of host.requests.filter((x) => x.command !== 'BPF_MAP_CREATE')) t.is(attrU64(r.attr, ELEM.key), 0n, r.command);
  t.is(attrU64(host.of('BPF_MAP_UPDATE_ELEM')[0]!.attr, ELEM.flags), BigInt(UpdateFlags.Exist));
  t.throws(() => q.lookup(0 as never), { message: /queue maps have no keys: use peek\(\)/ });
  t.throws(() => q.update(0 as never, 1), { message: /use push\(\)/ });
  t.throws(() => [...q.keys()], { message: /have no keys/ });
});

test.serial('iteration walks next-key then lookup, and skips keys deleted in between', (t) => {
  const { host, restore } = setup();
  t.teardown(restore);
  using m = BpfMap.create({ type: MapType.Hash, key: codec.u32, value: codec.u32, maxEntries: 8 });
  const keys = [5, 6, 7];
  host.on('BPF_MAP_GET_NEXT_KEY', (req) => {
    const k = req.buffer(ELEM.key);
    const cur = k ? new DataView(k.data.buffer, k.data.byteOffset).getUint32(0, true) : -1;
    const next = cur < 0 ? keys[0] : keys[keys.indexOf(cur) + 1];
    if (next === undefined) return -ENOENT;
    req.buffer(ELEM.next_key)!.data.set(u32le(next));
    return 0;
  });
  host.on('BPF_MAP_LOOKUP_ELEM', (req) => {
    const k = req.buffer(ELEM.key)!.data[0]!;
    if (k === 6) return -ENOENT; // deleted by someone else between next-key and lookup
    req.buffer(ELEM.value)!.data.set(u32le(k * 10));
    return 0;
  });
  t.deepEqual([...m.entries()], [[5, 50], [7, 70]]);
  t.deepEqual([...m.keys()], [5, 6, 7]);
  t.deepEqual([...m.values()], [50, 70]);
  t.is(m.nextKey(), 5);
  t.is(m.nextKey(5), 6);
  t.is(m.nextKey(7), undefined);
  t.is(attrU64(host.of('BPF_MAP_GET_NEXT_KEY')[0]!.attr, ELEM.key), 0n, 'the first key: a NULL key');
});

test.serial('handles: close is idempotent, use after close throws, dispose closes', (t) => {
  const { host, restore } = setup();
  t.teardown(restore);
  const m = BpfMap.create({ type: MapType.Hash, key: codec.u32, value: codec.u32, maxEntries: 8 });
  const fd = m.fd;
  m.close();
  m.close();
  t.deepEqual(host.closed, [fd]);
  const err = t.throws(() => m.lookup(1), { instanceOf: BpfError });
  t.is(err!.code, 'EBADF');
  t.regex(err!.message, /this map is closed/);
  t.throws(() => m.update(1, 1), { code: 'EBADF' } as never);
  t.throws(() => [...m.entries()], { instanceOf: BpfError, message: /closed/ });
  {
    using scoped = BpfMap.create({ type: MapType.Array, key: codec.u32, value: codec.u32, maxEntries: 1 });
    t.false(scoped.closed);
  }
  t.is(host.closed.length, 2);
});
