// Maps on each runtime: element operations, iteration, batches, per-CPU values, zero-copy
// memory (mmap through the runtime's FFI), map-in-map, and a program writing to a map.
// The same cases as test/kernel/map.test.ts, reduced to what proves the runtime's host.
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { BatchCursor, BpfError, BpfMap, MapFlags, MapType, Program, ProgramType, asm, codec } from '../../src/index.js';
import { group, kernelCheck } from './harness.js';

group('map', () => {
  kernelCheck('hash: update, lookup, delete; a missing key is undefined', () => {
    using m = BpfMap.create({ type: MapType.Hash, key: codec.u32, value: codec.u64, maxEntries: 16 });
    m.update(1, 10);
    m.update(2, 20);
    assert.equal(m.lookup(1), 10);
    assert.equal(m.lookup(3), undefined);
    assert.equal(m.delete(1), true);
    assert.equal(m.delete(1), false);
    assert.deepEqual([...m.entries()], [[2, 20]]);
  });

  kernelCheck('array: values by index, iteration in order, wrong sizes refused before the syscall', () => {
    using m = BpfMap.create({ type: MapType.Array, key: codec.u32, value: codec.u32, maxEntries: 4 });
    for (let i = 0; i < 4; i++) m.update(i, i * i);
    assert.deepEqual([...m.values()], [0, 1, 4, 9]);
    using raw = BpfMap.create({ type: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 1 });
    assert.throws(() => raw.lookup(Buffer.alloc(3)), (e: unknown) => e instanceof BpfError && /4/.test(e.message));
  });

  kernelCheck('batch lookup with a resumable cursor returns every entry once', () => {
    using m = BpfMap.create({ type: MapType.Hash, key: codec.u32, value: codec.u32, maxEntries: 1024 });
    const keys = Array.from({ length: 1000 }, (_, i) => i);
    m.updateBatch(keys, keys.map((k) => k * 3));
    const cursor = new BatchCursor();
    const seen = new Map<number, number>();
    for (;;) {
      const { keys: ks, values: vs } = m.lookupBatch(cursor, 128);
      ks.forEach((k, i) => seen.set(k, vs[i]!));
      if (cursor.done) break;
    }
    assert.equal(seen.size, 1000);
    for (const [k, v] of seen) assert.equal(v, k * 3);
  });

  kernelCheck('per-CPU arrays hold one value per possible CPU', () => {
    using m = BpfMap.create({ type: MapType.PercpuArray, key: codec.u32, value: codec.u32, maxEntries: 1 });
    const values = Array.from({ length: m.valuesPerElement }, (_, i) => i + 7);
    m.update(0, values as never);
    assert.deepEqual(m.lookup(0), values);
  });

  kernelCheck('an mmapable array is a zero-copy Buffer shared with the kernel', () => {
    using m = BpfMap.create({ type: MapType.Array, key: codec.u32, value: codec.u64, maxEntries: 4, flags: MapFlags.Mmapable });
    const mem = m.memory();
    m.update(2, 0x1234);
    assert.equal(mem.readBigUInt64LE(16), 0x1234n);
    mem.writeBigUInt64LE(99n, 8);
    assert.equal(m.lookup(1), 99);
  });

  kernelCheck('map-in-map: an inner map stored by fd reads back as its id', () => {
    using inner = BpfMap.create({ type: MapType.Array, key: codec.u32, value: codec.u32, maxEntries: 1 });
    using outer = BpfMap.create({ type: MapType.ArrayOfMaps, keySize: 4, valueSize: 4, maxEntries: 2, innerMap: inner });
    outer.update(Buffer.from([1, 0, 0, 0]), inner);
    assert.equal(outer.lookup(Buffer.from([1, 0, 0, 0]))!.readUInt32LE(0), inner.info().id);
  });

  kernelCheck('a program built with the assembler writes a map the runtime reads', () => {
    using m = BpfMap.create({ type: MapType.Array, key: codec.u32, value: codec.u64, maxEntries: 1 });
    using prog = Program.load({
      type: ProgramType.SocketFilter,
      license: 'MIT',
      maps: { counter: m },
      instructions: [
        asm.ldMapValue(asm.R1, 'counter', 0),
        asm.mov64Imm(asm.R2, 41),
        asm.stxDW(asm.R1, asm.R2, 0),
        asm.mov64Imm(asm.R0, 0),
        asm.exit(),
      ],
    });
    prog.test(Buffer.alloc(14));
    assert.equal(m.lookup(0), 41);
  });
});
