// The BTF parser: every type of the running kernel's vmlinux BTF and of every corpus object
// decodes exactly as bpftool (libbpf) decodes it; split BTF continues its base's ids and
// strings; lookups, sizes and alignments; malformed blobs are refused with the record and
// offset at fault.
import test from 'ava';
import fc from 'fast-check';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BpfError, Btf, loadCollectionSpec } from '../../src/index.js';
import { BtfBuilder } from '../helpers/btf_builder.js';
import { bpftoolShape, withoutDatasecLayout } from '../helpers/btf_json.js';
import { corpusFile, manifest } from '../helpers/corpus.js';
import { bpftoolBtf } from '../helpers/tools.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';

test('vmlinux: all types decode as bpftool decodes them', (t) => {
  const btf = Btf.load(VMLINUX);
  const want = bpftoolBtf(VMLINUX);
  t.is(btf.startId, 1);
  t.is(btf.length, want.length);
  t.true(want.length > 50_000);
  let differ = 0;
  for (const w of want) {
    const got = bpftoolShape(btf.type(w.id as number));
    if (JSON.stringify(got) !== JSON.stringify(w)) {
      differ++;
      if (differ <= 3) t.deepEqual(got, w);
    }
  }
  t.is(differ, 0, 'types that differ from bpftool');
});

test('vmlinux: lookups by name, sizes and resolution', (t) => {
  const btf = Btf.kernel();
  t.is(Btf.kernel(), btf, 'parsed once and shared');
  const task = btf.typeByName('task_struct', 'STRUCT');
  t.is(task.kind, 'STRUCT');
  t.is(btf.sizeof(task.id), task.kind === 'STRUCT' ? task.size : -1);
  t.is(btf.alignof(task.id) % 8, 0, 'task_struct holds pointers');
  const u32 = btf.typeByName('u32', 'TYPEDEF');
  t.is(btf.sizeof(u32.id), 4);
  t.is(btf.typeName(btf.resolve(u32.id)), 'unsigned int');
  t.is(btf.alignof(u32.id), 4);
  const pid = btf.typeByName('pid_t');
  t.is(btf.sizeof(pid.id), 4);
  // Names shared by several kinds: the kind filter picks one, no filter sees all.
  const all = btf.typesByName('task_struct');
  t.true(all.some((x) => x.kind === 'STRUCT'));
  t.deepEqual(btf.typesByName('no_such_type_anywhere'), []);
  const e = t.throws(() => btf.typeByName('no_such_type_anywhere'), { instanceOf: BpfError });
  t.is(e?.code, 'ENOENT');
  t.regex(e?.message ?? '', /no type named "no_such_type_anywhere"/);
  // A kernel function and its prototype.
  const fn = btf.typeByName('do_unlinkat', 'FUNC');
  const proto = btf.type(fn.kind === 'FUNC' ? fn.type : 0);
  t.is(proto.kind, 'FUNC_PROTO');
  t.true(proto.kind === 'FUNC_PROTO' && proto.params.length >= 2);
  // Every STRUCT's size agrees with sizeof, and every member fits inside it.
  let structs = 0;
  for (const ty of btf) {
    if (ty.kind !== 'STRUCT') continue;
    structs++;
    if (btf.sizeof(ty.id) !== ty.size) t.fail(`sizeof(${ty.name})`);
    for (const m of ty.members) if (m.bitOffset + m.bitfieldSize > ty.size * 8) t.fail(`${ty.name}.${m.name} outside the struct`);
  }
  t.true(structs > 1000);
});

test('every corpus object: each BTF type decodes as bpftool decodes it', (t) => {
  let objects = 0;
  for (const entry of manifest()) {
    if (!entry.btf || /parsing must fail/i.test(entry.expect)) continue;
    const spec = loadCollectionSpec(corpusFile(entry));
    const want = bpftoolBtf(corpusFile(entry));
    t.is(spec.types!.length, want.length, entry.file);
    for (const w of want) {
      t.deepEqual(withoutDatasecLayout(bpftoolShape(spec.types!.type(w.id as number))), withoutDatasecLayout(w), `${entry.file}: [${String(w.id)}]`);
    }
    objects++;
  }
  t.true(objects >= 45);
});

function splitPair(): { base: Buffer; split: Buffer; ids: Record<string, number> } {
  const b = new BtfBuilder();
  const int = b.int('int', 4, true);
  const u64 = b.int('unsigned long', 8);
  const task = b.struct('task', 16, [['pid', int, 0], ['flags', u64, 64]]);
  const base = b.build();
  const s = new BtfBuilder({ endId: b.startId + 3, strLen: b.stringLength });
  const ptr = s.ptr(task);
  const mod = s.struct('module_state', 24, [['owner', ptr, 0], ['refs', int, 64], ['state', u64, 128]]);
  const again = s.typedef('task', task); // a name the base has too
  const reused = s.typedef('pid_type', int);
  return { base, split: s.build(), ids: { int, u64, task, ptr, mod, again, reused } };
}

test('split BTF: ids and strings continue after the base; lookups span both (bpftool -B agrees)', (t) => {
  const { base, split, ids } = splitPair();
  const b = Btf.parse(base);
  const s = Btf.parse(split, { base: b });
  t.is(s.startId, 4);
  t.is(s.endId, 8);
  t.is(s.length, 4);
  t.is(s.base, b);
  t.deepEqual(s.type(ids.task!), b.type(ids.task!), 'base ids answered through the split');
  const mod = s.type(ids.mod!);
  t.deepEqual(mod.kind === 'STRUCT' && mod.members.map((m) => [m.name, m.type, m.bitOffset]), [['owner', ids.ptr, 0], ['refs', ids.int, 64], ['state', ids.u64, 128]]);
  t.is(s.typeName(ids.ptr!), 'struct task *');
  t.is(s.sizeof(ids.mod!), 24);
  t.is(s.alignof(ids.mod!), 8);
  t.deepEqual(s.typesByName('task').map((x) => [x.id, x.kind]), [[ids.task, 'STRUCT'], [ids.again, 'TYPEDEF']]);
  t.is(s.typeByName('task', 'TYPEDEF').id, ids.again!);
  t.is(s.typeByName('module_state').id, ids.mod!);
  t.deepEqual([...s].map((x) => x.id), [4, 5, 6, 7], 'iteration covers the split blob only');
  // The oracle: bpftool reads the same pair.
  const dir = tmpdir();
  const basePath = join(dir, `tsbpf-btf-base-${process.pid}`);
  const splitPath = join(dir, `tsbpf-btf-split-${process.pid}`);
  writeFileSync(basePath, base);
  writeFileSync(splitPath, split);
  t.teardown(() => {
    rmSync(basePath, { force: true });
    rmSync(splitPath, { force: true });
  });
  const want = bpftoolBtf(splitPath, basePath);
  t.deepEqual(want.map((w) => w.id), [4, 5, 6, 7]);
  for (const w of want) t.deepEqual(bpftoolShape(s.type(w.id as number)), w);
});

test('split BTF over vmlinux: a module-like blob referring to kernel types', (t) => {
  const vmlinux = Btf.load();
  const info = readFileSync(VMLINUX);
  const strLen = info.readUInt32LE(20);
  const task = vmlinux.typeByName('task_struct', 'STRUCT').id;
  const s = new BtfBuilder({ endId: vmlinux.endId, strLen });
  const ptr = s.ptr(task);
  const mine = s.struct('my_module_thing', 8, [['task', ptr, 0]]);
  const mod = Btf.parse(s.build(), { base: vmlinux });
  t.is(mod.startId, vmlinux.endId);
  t.is(mod.typeName(ptr), 'struct task_struct *');
  t.is(mod.typeByName('my_module_thing').id, mine);
  t.is(mod.typeByName('task_struct', 'STRUCT').id, task);
});

test('types of every kind decode with their fields', (t) => {
  const b = new BtfBuilder();
  const int = b.int('int', 4, true);
  const ch = b.int('char', 1);
  const arr = b.array(ch, int, 16);
  const st = b.struct('s', 24, [['a', int, 0], ['bits', int, 32, 3], ['name', arr, 64]]);
  const un = b.struct('u', 16, [['x', int, 0], ['y', arr, 0]], true);
  const en = b.enum('e', 4, [['NEG', -2], ['POS', 3]], true);
  const en64 = b.enum64('big', [['HUGE', 1n << 60n]]);
  const fwd = b.fwd('later', true);
  const cst = b.qual('CONST', st);
  const vol = b.qual('VOLATILE', cst);
  const tag = b.typeTag('user', int);
  const proto = b.funcProto(int, [['x', int], ['', 0]]);
  const fn = b.func('f', proto, 1);
  const v = b.variable('g', st, 1);
  const ds = b.datasec('.data', 24, [[v, 0, 24]]);
  const fl = b.float('double', 8);
  const dt = b.declTag('tag', st, 1);
  const btf = Btf.parse(b.build());
  t.deepEqual(btf.type(0), { id: 0, kind: 'VOID', name: '' });
  t.deepEqual(btf.type(int), { id: int, kind: 'INT', name: 'int', size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 });
  t.deepEqual(btf.type(arr), { id: arr, kind: 'ARRAY', name: '', type: ch, indexType: int, nelems: 16 });
  t.deepEqual(btf.type(st), {
    id: st, kind: 'STRUCT', name: 's', size: 24,
    members: [{ name: 'a', type: int, bitOffset: 0, bitfieldSize: 0 }, { name: 'bits', type: int, bitOffset: 32, bitfieldSize: 3 }, { name: 'name', type: arr, bitOffset: 64, bitfieldSize: 0 }],
  });
  t.is(btf.type(un).kind, 'UNION');
  t.deepEqual(btf.type(en), { id: en, kind: 'ENUM', name: 'e', size: 4, signed: true, values: [{ name: 'NEG', value: -2n }, { name: 'POS', value: 3n }] });
  t.deepEqual(btf.type(en64), { id: en64, kind: 'ENUM64', name: 'big', size: 8, signed: false, values: [{ name: 'HUGE', value: 1n << 60n }] });
  t.deepEqual(btf.type(fwd), { id: fwd, kind: 'FWD', name: 'later', union: true });
  t.deepEqual(btf.type(fn), { id: fn, kind: 'FUNC', name: 'f', type: proto, linkage: 'global' });
  t.deepEqual(btf.type(proto), { id: proto, kind: 'FUNC_PROTO', name: '', returnType: int, params: [{ name: 'x', type: int }, { name: '', type: 0 }] });
  t.deepEqual(btf.type(v), { id: v, kind: 'VAR', name: 'g', type: st, linkage: 'global' });
  t.deepEqual(btf.type(ds), { id: ds, kind: 'DATASEC', name: '.data', size: 24, vars: [{ type: v, offset: 0, size: 24 }] });
  t.deepEqual(btf.type(fl), { id: fl, kind: 'FLOAT', name: 'double', size: 8 });
  t.deepEqual(btf.type(dt), { id: dt, kind: 'DECL_TAG', name: 'tag', type: st, componentIdx: 1 });
  t.deepEqual(btf.type(tag), { id: tag, kind: 'TYPE_TAG', name: 'user', type: int });
  t.deepEqual(btf.declTags(st, 1), ['tag']);
  t.deepEqual(btf.declTags(st), []);
  t.deepEqual(btf.declTags(int), []);
  // Sizes and alignments through qualifiers, arrays and VARs.
  t.is(btf.sizeof(vol), 24);
  t.is(btf.sizeof(arr), 16);
  t.is(btf.sizeof(v), 24);
  t.is(btf.alignof(vol), 4);
  t.is(btf.alignof(arr), 1);
  t.is(btf.resolve(vol), st);
  t.is(btf.resolve(tag), int);
  t.is(btf.typeName(vol), 'volatile const struct s');
  t.is(btf.typeName(arr), 'char[16]');
  // Things without a size say so.
  for (const [id, what] of [[0, /void has no size/], [fn, /type \[\d+\] \(FUNC 'f'\) has no size/], [proto, /FUNC_PROTO/], [fwd, /FWD 'later'/]] as const) {
    const e = t.throws(() => btf.sizeof(id), { instanceOf: BpfError });
    t.regex(e?.reason ?? '', what);
    t.is(e?.code, 'EINVAL');
  }
  const e = t.throws(() => btf.type(999), { instanceOf: BpfError });
  t.regex(e?.reason ?? '', /no type \[999\] \(the last is \[\d+\]\)/);
  t.is(e?.code, 'ENOENT');
});

test('a typedef loop is an error, not a hang', (t) => {
  const b = new BtfBuilder();
  const a = b.typedef('a', 2);
  b.typedef('b', a);
  const btf = Btf.parse(b.build());
  for (const f of [() => btf.sizeof(a), () => btf.alignof(a), () => btf.resolve(a)]) {
    const e = t.throws(f, { instanceOf: BpfError });
    t.regex(e?.reason ?? '', /loop/);
  }
});

test('alignment: natural, packed (a member off its alignment, or a size that is not a multiple)', (t) => {
  const b = new BtfBuilder();
  const u8 = b.int('u8', 1);
  const u32 = b.int('u32', 4);
  const u64 = b.int('u64', 8);
  const natural = b.struct('natural', 16, [['a', u8, 0], ['b', u64, 64]]);
  const packedMember = b.struct('packed_member', 5, [['a', u8, 0], ['b', u32, 8]]);
  const packedSize = b.struct('packed_size', 9, [['b', u64, 0], ['a', u8, 64]]);
  const bitfields = b.struct('bits', 4, [['x', u32, 0, 3], ['y', u32, 3, 13]]);
  const btf = Btf.parse(b.build());
  t.is(btf.alignof(natural), 8);
  t.is(btf.alignof(packedMember), 1);
  t.is(btf.alignof(packedSize), 1);
  t.is(btf.alignof(bitfields), 4);
});

const good = (() => {
  const b = new BtfBuilder();
  const int = b.int('int', 4, true);
  b.struct('s', 8, [['a', int, 0], ['b', int, 32]]);
  return b.build();
})();

function patched(edit: (b: Buffer) => void, from: Buffer = good): Buffer {
  const copy = Buffer.from(from);
  edit(copy);
  return copy;
}

const TYPES = 24; // offset of the type section in the blobs built here
const refusals: Array<[string, () => Buffer, RegExp]> = [
  ['empty', () => Buffer.alloc(0), /^BTF: 0 bytes are too few for the 24-byte header$/],
  ['truncated header', () => good.subarray(0, 20), /^BTF: 20 bytes are too few/],
  ['bad magic', () => patched((b) => b.writeUInt16LE(0xbeef, 0)), /^BTF: bad magic 0xbeef/],
  ['big endian', () => patched((b) => b.writeUInt16LE(0x9feb, 0)), /^BTF: big-endian BTF is not supported$/],
  ['version', () => patched((b) => (b[2] = 9)), /^BTF: version 9 is not supported/],
  ['flags', () => patched((b) => (b[3] = 1)), /^BTF: unknown header flags 0x1$/],
  ['header length', () => patched((b) => b.writeUInt32LE(8, 4)), /^BTF: header length 8 is outside \[24, \d+\]$/],
  ['type section past the end', () => patched((b) => b.writeUInt32LE(0xffff, 12)), /^BTF: type section \(offset 0, 65535 bytes\) runs past the end of the data/],
  ['misaligned type section', () => patched((b) => b.writeUInt32LE(2, 8)), /^BTF: type section offset 2 is not 4-byte aligned$/],
  ['overlapping sections', () => patched((b) => b.writeUInt32LE(4, 16)), /^BTF: the type and string sections overlap$/],
  ['strings without a leading empty string', () => patched((b) => (b[b.readUInt32LE(16) + TYPES] = 0x41)), /must start with an empty string/],
  ['strings without a final NUL', () => patched((b) => (b[b.length - 1] = 0x41)), /does not end with a NUL byte/],
  ['a type cut off', () => patched((b) => b.writeUInt32LE(b.readUInt32LE(12) - 4, 12)), /^BTF: type \[2\] \(STRUCT, vlen 2\) at offset 16 of the type section: its 24 bytes of members run past the end of the section/],
  ['unknown kind', () => patched((b) => (b[TYPES + 7] = 25)), /^BTF: type \[1\] at offset 0 of the type section: unknown kind 25$/],
  ['kind 0', () => patched((b) => (b[TYPES + 7] = 0)), /unknown kind 0$/],
  ['INT wider than 16 bytes', () => patched((b) => b.writeUInt32LE(32, TYPES + 8)), /type \[1\] \(INT\) at offset 0 of the type section: INT size must be 1 to 16 bytes, not 32/],
  ['INT bits beyond its size', () => patched((b) => b.writeUInt32LE(64, TYPES + 12)), /64 bits at bit 0 do not fit in 4 bytes/],
  ['a member type beyond the last', () => patched((b) => b.writeUInt32LE(77, TYPES + 16 + 12 + 4)), /type \[2\] \(STRUCT\) at offset 16 .*: a member refers to type \[77\], but the last type is \[2\]$/],
  ['a name beyond the strings', () => patched((b) => b.writeUInt32LE(5000, TYPES + 16)), /type \[2\] at offset 16 of the type section: its name offset 5000 is outside the string section/],
  ['a member name beyond the strings', () => patched((b) => b.writeUInt32LE(5000, TYPES + 28)), /a member's name offset 5000 is outside the string section/],
];

for (const [title, make, reason] of refusals) {
  test(`BTF refused: ${title}`, (t) => {
    const e = t.throws(() => Btf.parse(make()), { instanceOf: BpfError });
    t.regex(e?.reason ?? '', reason);
    t.is(e?.code, 'EINVAL');
    t.is(e?.command, 'BTF');
  });
}

test('Btf.load of a missing file and a non-BTF file: errors naming the path', (t) => {
  const e = t.throws(() => Btf.load('/nonexistent/vmlinux'), { instanceOf: BpfError });
  t.is(e?.code, 'ENOENT');
  const bad = t.throws(() => Btf.load('/proc/self/cmdline'), { instanceOf: BpfError });
  t.regex(bad?.reason ?? '', /^\/proc\/self\/cmdline: BTF: /);
  t.throws(() => Btf.parse('x' as unknown as Uint8Array), { instanceOf: BpfError, message: /"data" must be a Uint8Array/ });
  t.throws(() => Btf.parse(good, { base: {} as Btf }), { instanceOf: BpfError, message: /"base" must be a Btf/ });
});

test('fast-check: random bytes and mutated BTF are parsed or refused, never crash', (t) => {
  const check = (bytes: Uint8Array) => {
    try {
      const btf = Btf.parse(bytes);
      for (const ty of btf) {
        try {
          btf.sizeof(ty.id);
          btf.alignof(ty.id);
          btf.resolve(ty.id);
        } catch (e) {
          if (!(e instanceof BpfError)) throw e;
        }
        if (ty.name) btf.typesByName(ty.name);
      }
    } catch (e) {
      if (!(e instanceof BpfError && e.reason.startsWith('BTF: '))) throw e;
    }
    return true;
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), check), { numRuns: 300 });
  const vm = readFileSync(VMLINUX).subarray(0, 64 << 10);
  const base = Buffer.concat([good, vm.subarray(24, 4096)]);
  for (const seed of [good, base]) {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: seed.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (edits) => {
        const b = Buffer.from(seed);
        for (const [at, v] of edits) b[at] = v;
        return check(b);
      }),
      { numRuns: 300 },
    );
  }
  t.pass();
});
