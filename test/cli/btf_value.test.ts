// The BTF value decoder behind `tsbpf map dump`, on BTF written by hand (test/helpers/
// btf_builder.ts) for the kinds the kernel test's fixture cannot reach with clang-14:
// 128-bit integers, floats, 64-bit enums, signed enums, anonymous members, bitfields
// across bytes, strings through qualifiers but not typedefs, and types without a layout.
import test from 'ava';
import { Btf } from '../../src/index.js';
import { decodeBtf, plain, render } from '../../src/cli/btf_value.js';
import { BtfBuilder } from '../helpers/btf_builder.js';

const INT = 1;
const CHAR = 2;
const BOOL = 4;

function build() {
  const b = new BtfBuilder();
  const int = (name: string, size: number, enc: number, bits = size * 8, off = 0): number =>
    b.raw(b.str(name), 1, 0, size, [(enc << 24) | (off << 16) | bits]);
  const u8 = int('unsigned char', 1, 0);
  const char = int('char', 1, INT);
  const boolT = int('_Bool', 1, BOOL);
  const s32 = int('int', 4, INT);
  const u32 = int('unsigned int', 4, 0);
  const u128 = int('unsigned __int128', 16, 0);
  const s64 = int('long', 8, INT);
  const f32 = b.float('float', 4);
  const f64 = b.float('double', 8);
  const e64 = b.enum64('big', [['HUGE', 0x1_0000_0000n], ['SMALL', 1n]]);
  const eSigned = b.enum('neg', 4, [['MINUS', -1], ['ZERO', 0]], true);
  const constChar = b.qual('CONST', char);
  const charTd = b.typedef('my_char', char);
  const str = b.array(constChar, u32, 6);
  const notStr = b.array(charTd, u32, 6);
  const bytes = b.array(u8, u32, 3);
  const anon = b.struct('', 4, [['lo', u32, 0]], true);
  const ptr = b.ptr(u32);
  // struct all { u128 wide; float f; double d; enum big e; enum neg n; const char s[6];
  //              my_char t[6]; u8 b[3]; bool ok; union { u32 lo; }; u32 x:5; u32 y:12 (crosses a byte); long l; u32 *p; }
  const all = b.struct('all', 96, [
    ['wide', u128, 0],
    ['f', f32, 128],
    ['d', f64, 192],
    ['e', e64, 256],
    ['n', eSigned, 320],
    ['s', str, 352],
    ['t', notStr, 400],
    ['b', bytes, 448],
    ['ok', boolT, 472],
    ['', anon, 480],
    ['x', u32, 512, 5],
    ['y', u32, 517, 12],
    ['l', s64, 576],
    ['p', ptr, 640],
  ]);
  const fwd = b.fwd('opaque');
  const v1 = b.variable('one', u32);
  const v2 = b.variable('two', s32);
  const sec = b.datasec('.data', 8, [[v1, 0, 4], [v2, 4, 4]]);
  return { btf: Btf.parse(b.build()), all, fwd, sec, u32 };
}

test('every kind decodes as map dump prints it', (t) => {
  const { btf, all } = build();
  const d = Buffer.alloc(96);
  d.writeBigUInt64LE(0x1122334455667788n, 0);
  d.writeBigUInt64LE(0x99n, 8);
  d.writeFloatLE(1.5, 16);
  d.writeDoubleLE(-2.25, 24);
  d.writeBigUInt64LE(0x1_0000_0000n, 32);
  d.writeInt32LE(-1, 40);
  d.write('hello\0', 44, 'latin1');
  d.write('world\0', 50, 'latin1');
  d.set([7, 8, 9], 56);
  d.writeUInt8(1, 59);
  d.writeUInt32LE(0xdeadbeef, 60);
  // x = 21 in bits 0..4, y = 0xabc in bits 5..16 of the word at byte 64.
  d.writeUInt32LE((21 | (0xabc << 5)) >>> 0, 64);
  d.writeBigInt64LE(-(2n ** 62n), 72);
  d.writeBigUInt64LE(0xffff888800001000n, 80);
  const v = decodeBtf(btf, all, d);
  t.deepEqual(plain(v!), {
    wide: '0x991122334455667788',
    f: 1.5,
    d: -2.25,
    e: 'HUGE',
    n: 'MINUS',
    s: 'hello',
    t: [119, 111, 114, 108, 100, 0],
    b: [7, 8, 9],
    ok: true,
    lo: 0xdeadbeef,
    x: 21,
    y: 0xabc,
    l: -(2n ** 62n),
    p: '0xffff888800001000',
  });
  // Values without a matching enumerator print as numbers.
  d.writeBigUInt64LE(5n, 32);
  d.writeInt32LE(3, 40);
  t.like(plain(decodeBtf(btf, all, d)!), { e: 5, n: 3 });
});

test('bytes the type does not describe are left to the caller', (t) => {
  const { btf, all, fwd, u32 } = build();
  t.is(decodeBtf(btf, all, Buffer.alloc(95)), undefined, 'size mismatch');
  t.is(decodeBtf(btf, fwd, Buffer.alloc(0)), undefined, 'a forward declaration has no layout');
  t.is(decodeBtf(btf, u32, Buffer.alloc(4, 0xff)), 0xffffffff);
});

test('data sections decode as their variables', (t) => {
  const { btf, sec } = build();
  const d = Buffer.alloc(8);
  d.writeUInt32LE(7, 0);
  d.writeInt32LE(-7, 4);
  t.deepEqual(plain(decodeBtf(btf, sec, d)!), { one: 7, two: -7 });
});

test('render: one line when it fits, one member per line otherwise', (t) => {
  t.is(render({ a: 1, b: 'x', c: [1, 2] }), '{ a: 1, b: "x", c: [1, 2] }');
  const long = { alpha: 'a'.repeat(40), beta: { gamma: 'g'.repeat(40), delta: [1, 2, 3] } };
  t.is(render(long, 60), ['{', `  alpha: "${'a'.repeat(40)}",`, '  beta: {', `    gamma: "${'g'.repeat(40)}",`, '    delta: [1, 2, 3]', '  }', '}'].join('\n'));
  const { btf, all } = build();
  const text = render(decodeBtf(btf, all, Buffer.alloc(96))!);
  t.regex(text, /^ {2}e: 0,$/m, 'an enum without a zero enumerator prints its number');
  t.regex(text, /^ {2}n: ZERO,$/m, 'enumerators print bare');
  t.regex(text, /^ {2}p: 0x0$/m, 'pointers print in hex, bare');
});
