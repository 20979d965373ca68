// Codecs: byte layouts (little-endian integers, C struct layout with padding), round trips,
// and the values each codec refuses.
import test from 'ava';
import { CodecError, type Codec } from '../../src/codec.js';
import { codec } from '../../src/index.js';
import { parseCpuList } from '../../src/map.js';

function encode<T>(c: Codec<T>, v: T): number[] {
  const u8 = new Uint8Array(c.size + 8).fill(0xaa);
  c.encode(v, new DataView(u8.buffer), u8, 4);
  t0(u8, c.size);
  return [...u8.subarray(4, 4 + c.size)];
}

/** The bytes around the encoding are untouched. */
function t0(u8: Uint8Array, size: number): void {
  for (const i of [0, 1, 2, 3, 4 + size, 5 + size, 6 + size, 7 + size])
    if (u8[i] !== 0xaa) throw new Error(`byte ${i} outside the value was written`);
}

function decode<T>(c: Codec<T>, bytes: number[]): T {
  const u8 = new Uint8Array([0, 0, ...bytes]);
  return c.decode(new DataView(u8.buffer), u8, 2);
}

test('integers are little-endian and round-trip at their limits', (t) => {
  const cases: [string, Codec<number>, number, number[]][] = [
    ['u8 max', codec.u8, 255, [255]],
    ['i8 min', codec.i8, -128, [0x80]],
    ['u16', codec.u16, 0x1234, [0x34, 0x12]],
    ['i16 -2', codec.i16, -2, [0xfe, 0xff]],
    ['u32 max', codec.u32, 0xffffffff, [255, 255, 255, 255]],
    ['i32 min', codec.i32, -0x80000000, [0, 0, 0, 0x80]],
    ['u64 2^53-1', codec.u64, Number.MAX_SAFE_INTEGER, [255, 255, 255, 255, 255, 255, 0x1f, 0]],
    ['u64 2^32+1', codec.u64, 2 ** 32 + 1, [1, 0, 0, 0, 1, 0, 0, 0]],
    ['i64 -1', codec.i64, -1, [255, 255, 255, 255, 255, 255, 255, 255]],
    ['i64 -(2^53-1)', codec.i64, -Number.MAX_SAFE_INTEGER, [1, 0, 0, 0, 0, 0, 0xe0, 0xff]],
    ['f64 0.5', codec.f64, 0.5, [0, 0, 0, 0, 0, 0, 0xe0, 0x3f]],
  ];
  for (const [what, c, v, bytes] of cases) {
    t.deepEqual(encode(c, v), bytes, what);
    t.is(decode(c, bytes), v, what);
  }
  t.deepEqual(encode(codec.u64big, 2n ** 64n - 1n), [255, 255, 255, 255, 255, 255, 255, 255]);
  t.is(decode(codec.i64big, [0, 0, 0, 0, 0, 0, 0, 0x80]), -(2n ** 63n));
  t.deepEqual(encode(codec.u64, 2n ** 60n as never), [0, 0, 0, 0, 0, 0, 0, 0x10], 'u64 also takes a bigint');
});

test('a u64 that a number cannot hold exactly is an error naming u64big, not a rounded value', (t) => {
  const err = t.throws(() => decode(codec.u64, [0, 0, 0, 0, 0, 0, 0x20, 0]), { instanceOf: CodecError });
  t.regex(err!.message, /holds 9007199254740992, above 2\^53-1: read this map with codec.u64big/);
  t.throws(() => decode(codec.i64, [0, 0, 0, 0, 0, 0, 0xe0, 0xff - 0x20]), { instanceOf: CodecError, message: /i64big/ });
});

test('each integer codec refuses what it cannot encode', (t) => {
  const bad: [Codec<number | bigint>, unknown][] = [
    [codec.u8, 256],
    [codec.u8, -1],
    [codec.u16, 1.5],
    [codec.u32, NaN],
    [codec.u32, '5'],
    [codec.i32, 2 ** 31],
    [codec.u64, -1],
    [codec.u64, 2 ** 53],
    [codec.i64, 2 ** 53],
    [codec.u64big, -1n],
    [codec.u64big, 2n ** 64n],
    [codec.f32, '1'],
  ];
  for (const [c, v] of bad) t.throws(() => encode(c, v as never), { instanceOf: CodecError }, `${c.name} ${String(v)}`);
});

test('structs follow the C layout: natural alignment, padding zeroed, size rounded up', (t) => {
  const cases: [string, Codec<unknown>, number, number][] = [
    ['u8 then u32', codec.struct({ a: codec.u8, b: codec.u32 }), 8, 4],
    ['u32 then u8', codec.struct({ a: codec.u32, b: codec.u8 }), 8, 4],
    ['u8 u16 u8', codec.struct({ a: codec.u8, b: codec.u16, c: codec.u8 }), 6, 2],
    ['u8 then u64', codec.struct({ a: codec.u8, b: codec.u64 }), 16, 8],
    ['flow key', codec.struct({ saddr: codec.u32, daddr: codec.u32, sport: codec.u16, dport: codec.u16, proto: codec.u8 }), 16, 4],
    ['packed', codec.struct({ a: codec.u8, b: codec.u32 }, { packed: true }), 5, 1],
    ['nested', codec.struct({ a: codec.u8, inner: codec.struct({ x: codec.u16, y: codec.u64 }) }), 24, 8],
    ['array field', codec.struct({ mac: codec.array(codec.u8, 6), vlan: codec.u16 }), 8, 2],
  ];
  for (const [what, c, size, align] of cases) {
    t.is(c.size, size, `${what} size`);
    t.is(c.align, align, `${what} align`);
  }
  const s = codec.struct({ a: codec.u8, b: codec.u32, c: codec.u16 });
  t.deepEqual(encode(s, { a: 1, b: 0x02030405, c: 6 }), [1, 0, 0, 0, 5, 4, 3, 2, 6, 0, 0, 0]);
  t.deepEqual(decode(s, [1, 0xff, 0xff, 0xff, 5, 4, 3, 2, 6, 0, 0xff, 0xff]), { a: 1, b: 0x02030405, c: 6 });
  t.regex(s.name, /struct \{ a: u8; b: u32; c: u16 \}/);
});

test('byte strings, C strings, arrays and LPM keys', (t) => {
  t.deepEqual(encode(codec.bytes(3), Buffer.from([1, 2, 3])), [1, 2, 3]);
  t.deepEqual(decode(codec.bytes(2), [9, 8]), Buffer.from([9, 8]));
  t.throws(() => encode(codec.bytes(3), Buffer.alloc(2)), { message: /must be 3 bytes/ });
  t.deepEqual(encode(codec.cstring(6), 'abc'), [0x61, 0x62, 0x63, 0, 0, 0]);
  t.is(decode(codec.cstring(6), [0x61, 0x62, 0, 0x63, 0, 0]), 'ab');
  t.throws(() => encode(codec.cstring(2), 'abc'), { message: /fit in 2 bytes/ });
  t.deepEqual(encode(codec.array(codec.u16, 2), [1, 0x0203]), [1, 0, 3, 2]);
  t.throws(() => encode(codec.array(codec.u16, 2), [1]), { message: /array of 2 u16/ });
  const lpm = codec.lpmKey(4);
  t.is(lpm.size, 8);
  t.deepEqual(encode(lpm, { prefixLen: 24, data: Buffer.from([10, 1, 2]) }), [24, 0, 0, 0, 10, 1, 2, 0]);
  t.deepEqual(decode(lpm, [16, 0, 0, 0, 192, 168, 0, 0]), { prefixLen: 16, data: Buffer.from([192, 168, 0, 0]) });
  t.throws(() => encode(lpm, { prefixLen: 33, data: Buffer.alloc(4) }), { message: /prefixLen must be an integer from 0 to 32/ });
  t.throws(() => codec.bytes(0), { instanceOf: CodecError });
});

test('CPU lists: the possible CPUs are counted, not the highest number plus one', (t) => {
  const cases: [string, number][] = [
    ['0', 1],
    ['0-1\n', 2],
    ['0-3,5,7-8', 7],
    ['0,2-3', 3],
    ['0-127', 128],
  ];
  for (const [text, n] of cases) t.is(parseCpuList(text), n, text);
  for (const bad of ['', '0-', 'a', '3-1', '0,,1']) t.throws(() => parseCpuList(bad), undefined, bad);
});
