// Loading collections without a kernel: the core's pure decisions (how each map is created,
// relocation of map fds into instructions, the object's BTF rewritten for the kernel,
// object names), the refusals Collection.load makes before it asks the kernel anything
// (checked on a fake host that fails the test on any request), and a whole load on a
// scripted fake kernel: the attr bytes of each request, and what a failure halfway closes.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Core } from '../../bridge/core.js';
import { attrU32, setAttrU32 } from '../../bridge/fake_host.js';
import {
  TSBPF_MAP_SRC_BTF,
  TSBPF_MAP_SRC_DATA,
  TSBPF_MAP_SRC_LEGACY,
  TSBPF_MAP_SRC_STRUCT_OPS,
  TSBPF_RELOC_CALL,
  TSBPF_RELOC_EXTERN,
  TSBPF_RELOC_KSYM,
  TSBPF_RELOC_MAP_FD,
  TSBPF_RELOC_MAP_VALUE,
  tsbpf_coll_btf as KernelBtf,
  tsbpf_coll_map as Plan,
  tsbpf_coll_reloc as Reloc,
  type Ptr,
} from '../../bridge/generated/abi.js';
import { BpfError, Btf, Collection, MapType, NotSupportedError, loadCollectionSpec, type BtfType } from '../../src/index.js';
import { setExternResolver } from '../../src/collection.js';
import { corpusDir } from '../helpers/corpus.js';
import { fakeCore } from '../helpers/fake.js';
import { compileFixture } from '../helpers/tools.js';

const corpus = (f: string) => join(corpusDir(), 'cilium-ebpf', f);
const BPF_F_RDONLY_PROG = 0x80;
const BPF_F_MMAPABLE = 0x400;
const BPF_F_NO_PREALLOC = 1;

// ---- tsbpf_collection_map_plan ----------------------------------------------------------

interface PlanIn {
  name?: string;
  source?: number;
  type: number;
  keySize?: number;
  valueSize?: number;
  maxEntries?: number;
  flags?: number;
  pinning?: number;
  keyType?: number;
  valueType?: number;
  haveBtf?: boolean;
  mmapable?: boolean;
  nCpus?: number;
  inner?: boolean;
  extra?: number[];
}

interface PlanOut {
  name: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  keyType: number;
  valueType: number;
  pinning: number;
  freeze: boolean;
}

function plan(c: Core, p: PlanIn): PlanOut | BpfError {
  c.resetArena();
  const name = c.stageCString(p.name ?? 'm');
  const extra = p.extra ? c.stage(Uint8Array.from(p.extra)) : 0;
  const o = c.struct(Plan);
  c.setU32(o, Plan.name, name);
  c.setU32(o, Plan.source, p.source ?? TSBPF_MAP_SRC_BTF);
  c.setU32(o, Plan.type, p.type);
  c.setU32(o, Plan.key_size, p.keySize ?? 4);
  c.setU32(o, Plan.value_size, p.valueSize ?? 8);
  c.setU32(o, Plan.max_entries, p.maxEntries ?? 1);
  c.setU32(o, Plan.flags, p.flags ?? 0);
  c.setU32(o, Plan.pinning, p.pinning ?? 0);
  c.setU32(o, Plan.key_type, p.keyType ?? 0);
  c.setU32(o, Plan.value_type, p.valueType ?? 0);
  c.setU32(o, Plan.have_btf, p.haveBtf === false ? 0 : 1);
  c.setU32(o, Plan.mmapable, p.mmapable === false ? 0 : 1);
  c.setU32(o, Plan.n_cpus, p.nCpus ?? 0);
  c.setU32(o, Plan.is_inner, p.inner ? 1 : 0);
  c.setU32(o, Plan.extra, extra);
  c.setU32(o, Plan.extra_size, p.extra?.length ?? 0);
  const r = c.fn.tsbpf_collection_map_plan(o as Ptr<'tsbpf_coll_map'>);
  if (r < 0) return c.error(r);
  return {
    name: c.cstring(o + Plan.out_name.off, 16),
    keySize: c.u32(o, Plan.out_key_size),
    valueSize: c.u32(o, Plan.out_value_size),
    maxEntries: c.u32(o, Plan.out_max_entries),
    flags: c.u32(o, Plan.out_flags),
    keyType: c.u32(o, Plan.out_key_type),
    valueType: c.u32(o, Plan.out_value_type),
    pinning: c.u32(o, Plan.out_pinning),
    freeze: c.u32(o, Plan.freeze) !== 0,
  };
}

const DATA = { source: TSBPF_MAP_SRC_DATA, type: MapType.Array, keySize: 4, valueSize: 24, maxEntries: 1 };

const planRows: Array<[string, PlanIn, Partial<PlanOut> | RegExp]> = [
  ['.rodata: mmapable, frozen, typed by its DATASEC with a void key', { ...DATA, name: '.rodata', flags: BPF_F_RDONLY_PROG, keyType: 3, valueType: 42 },
    { name: '.rodata', flags: BPF_F_RDONLY_PROG | BPF_F_MMAPABLE, freeze: true, keyType: 0, valueType: 42 }],
  ['.data on a kernel without BPF_F_MMAPABLE', { ...DATA, name: '.data', valueType: 42, mmapable: false }, { flags: 0, freeze: false, valueType: 42 }],
  ['.bss without loaded BTF', { ...DATA, name: '.bss', valueType: 42, haveBtf: false }, { flags: BPF_F_MMAPABLE, valueType: 0 }],
  ['a data map must be a one-element array', { ...DATA, maxEntries: 2 }, /one-element array/],
  ['BTF hash: key and value types', { type: MapType.Hash, keyType: 5, valueType: 7, flags: BPF_F_NO_PREALLOC }, { keyType: 5, valueType: 7, flags: BPF_F_NO_PREALLOC, freeze: false }],
  ['BTF hash without loaded BTF', { type: MapType.Hash, keyType: 5, valueType: 7, haveBtf: false }, { keyType: 0, valueType: 0 }],
  ['a value type without a key type: no BTF', { type: MapType.Hash, valueType: 7 }, { keyType: 0, valueType: 0 }],
  ['ring buffer: its value type only describes records', { type: MapType.Ringbuf, keySize: 0, valueSize: 0, maxEntries: 4096, keyType: 1, valueType: 7 },
    { keySize: 0, valueSize: 0, maxEntries: 4096, keyType: 0, valueType: 0 }],
  ['perf event array: 4-byte keys and values, one slot per CPU', { type: MapType.PerfEventArray, keySize: 0, valueSize: 0, maxEntries: 4096, nCpus: 2, valueType: 9, keyType: 1 },
    { keySize: 4, valueSize: 4, maxEntries: 2, valueType: 0 }],
  ['perf event array: fewer slots than CPUs stay', { type: MapType.PerfEventArray, keySize: 4, valueSize: 4, maxEntries: 1, nCpus: 2 }, { maxEntries: 1 }],
  ['perf event array: 8-byte keys are refused', { type: MapType.PerfEventArray, keySize: 8, valueSize: 4, nCpus: 2 }, /4-byte keys and values/],
  ['array of maps: 4-byte values', { type: MapType.ArrayOfMaps, valueSize: 0, keyType: 1, valueType: 2 }, { valueSize: 4, keyType: 0, valueType: 0 }],
  ['array of maps: other value sizes are refused', { type: MapType.ArrayOfMaps, valueSize: 8 }, /4-byte values/],
  ['struct_ops maps are not supported', { type: MapType.StructOps, source: TSBPF_MAP_SRC_STRUCT_OPS }, /struct_ops maps are not supported/],
  ['legacy: zero extra bytes are accepted', { type: MapType.Hash, source: TSBPF_MAP_SRC_LEGACY, extra: [0, 0, 0, 0] }, { pinning: 0 }],
  ['legacy: a non-zero extra byte is refused, naming it', { name: 'invalid_map', type: MapType.Hash, source: TSBPF_MAP_SRC_LEGACY, extra: [1, 0, 0, 0] },
    /map "invalid_map": byte 20 of its 24-byte legacy definition is 0x01/],
  ['iproute2: PIN_GLOBAL_NS pins by name', { type: MapType.Hash, source: TSBPF_MAP_SRC_LEGACY, extra: [0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] }, { pinning: 1 }],
  ['iproute2: no pinning', { type: MapType.Hash, source: TSBPF_MAP_SRC_LEGACY, extra: new Array(16).fill(0) }, { pinning: 0 }],
  ['iproute2: a map id is refused', { type: MapType.Hash, source: TSBPF_MAP_SRC_LEGACY, extra: [5, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] }, /iproute2 field id is 5/],
  ['iproute2: an inner map index is refused', { type: MapType.Hash, source: TSBPF_MAP_SRC_LEGACY, extra: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0] }, /inner_idx is 1/],
  ['extra bytes on a BTF map are refused', { type: MapType.Hash, extra: [0, 0, 0, 0] }, /legacy maps only/],
  ['LIBBPF_PIN_BY_NAME', { type: MapType.Hash, pinning: 1 }, { pinning: 1 }],
  ['other pinning values are refused', { type: MapType.Hash, pinning: 2 }, /pinning 2 is not supported/],
  ['an inner map template cannot be pinned', { type: MapType.Hash, pinning: 1, inner: true }, /inner map template cannot be pinned/],
  ['long names are cut to 15 characters', { name: 'btf_outer_map_anon_inner', type: MapType.Hash }, { name: 'btf_outer_map_a' }],
  ['characters the kernel refuses become _', { name: 'a-b/c d', type: MapType.Hash }, { name: 'a_b_c_d' }],
];

for (const [title, input, want] of planRows) {
  test.serial(`map plan: ${title}`, (t) => {
    const { core, restore } = fakeCore();
    t.teardown(restore);
    const got = plan(core, input);
    if (want instanceof RegExp) {
      t.true(got instanceof BpfError, 'refused');
      t.regex((got as BpfError).reason, want);
      return;
    }
    if (got instanceof BpfError) return t.fail(got.message);
    t.like(got, want);
    t.is(core.fn.tsbpf_request_count(), 0, 'pure: no request');
  });
}

// ---- tsbpf_collection_relocate -----------------------------------------------------------

/** ld_imm64 r1 with source register `src`, then `exit`; a bpf-to-bpf call at slot 3. */
function program(src: number): Uint8Array {
  const b = Buffer.alloc(5 * 8);
  b[0] = 0x18;
  b[1] = 0x01 | (src << 4);
  b.writeUInt32LE(0xdead, 4);
  b.writeUInt32LE(0xbeef, 12);
  b[16] = 0x95;
  b[24] = 0x85;
  b[25] = 0x10;
  b.writeInt32LE(-1, 28);
  b[32] = 0x95;
  return b;
}

function relocate(c: Core, code: Uint8Array, relocs: Array<Partial<Record<'insn' | 'kind' | 'fd' | 'offset' | 'value_size', number>>>): Buffer | BpfError {
  c.resetArena();
  const insns = c.stage(code);
  const table = c.stageAlloc(Reloc.$size * Math.max(relocs.length, 1));
  relocs.forEach((r, i) => {
    const at = table + i * Reloc.$size;
    c.mem.dv.setUint32(at + Reloc.insn.off, r.insn ?? 0, true);
    c.mem.dv.setUint32(at + Reloc.kind.off, r.kind ?? TSBPF_RELOC_MAP_FD, true);
    c.mem.dv.setInt32(at + Reloc.fd.off, r.fd ?? 7, true);
    c.mem.dv.setUint32(at + Reloc.offset.off, r.offset ?? 0, true);
    c.mem.dv.setUint32(at + Reloc.value_size.off, r.value_size ?? 0, true);
  });
  const ret = c.fn.tsbpf_collection_relocate(insns as Ptr<'uint8_t'>, code.length / 8, table as Ptr<'tsbpf_coll_reloc'>, relocs.length);
  if (ret < 0) return c.error(ret);
  return c.bytes(insns, code.length);
}

test.serial('relocate: a map fd goes into the first immediate, and the second is zeroed', (t) => {
  const { core, restore } = fakeCore();
  t.teardown(restore);
  const out = relocate(core, program(1), [{ insn: 0, kind: TSBPF_RELOC_MAP_FD, fd: 12345 }, { insn: 3, kind: TSBPF_RELOC_CALL, fd: -1 }]);
  if (out instanceof BpfError) return t.fail(out.message);
  t.is(out.readUInt32LE(4), 12345);
  t.is(out.readUInt32LE(12), 0);
  t.deepEqual(out.subarray(16), Buffer.from(program(1)).subarray(16), 'nothing else changes');
});

test.serial('relocate: a map value gets the fd and the offset into the value', (t) => {
  const { core, restore } = fakeCore();
  t.teardown(restore);
  const out = relocate(core, program(2), [{ insn: 0, kind: TSBPF_RELOC_MAP_VALUE, fd: 9, offset: 20, value_size: 24 }]);
  if (out instanceof BpfError) return t.fail(out.message);
  t.is(out.readUInt32LE(4), 9);
  t.is(out.readUInt32LE(12), 20);
});

const badRelocs: Array<[string, number, Parameters<typeof relocate>[2], RegExp]> = [
  ['past the end', 1, [{ insn: 5 }], /relocation 0 \(map, instruction 5\): outside the program's 5 instructions/],
  ['not a 64-bit load', 1, [{ insn: 2 }], /opcode 0x95 is not a 64-bit load/],
  ['the wrong pseudo source', 2, [{ insn: 0, kind: TSBPF_RELOC_MAP_FD }], /source register 2, expected 1/],
  ['no fd', 1, [{ insn: 0, fd: -1 }], /no map fd/],
  ['an offset past the value', 2, [{ insn: 0, kind: TSBPF_RELOC_MAP_VALUE, offset: 24, value_size: 24 }], /offset 24 is outside the map's 24-byte value/],
  ['a call that is not one', 1, [{ insn: 0, kind: TSBPF_RELOC_CALL }], /is not a bpf-to-bpf call/],
  ['an extern nobody resolved', 0, [{ insn: 0, kind: TSBPF_RELOC_EXTERN }], /externs are resolved before relocation/],
  ['a ksym nobody resolved', 0, [{ insn: 0, kind: TSBPF_RELOC_KSYM }], /externs are resolved before relocation/],
  ['an unknown kind', 1, [{ insn: 0, kind: 99 }], /unknown relocation kind 99/],
];

for (const [title, src, relocs, want] of badRelocs) {
  test.serial(`relocate refuses ${title}`, (t) => {
    const { core, restore } = fakeCore();
    t.teardown(restore);
    const out = relocate(core, program(src), relocs);
    t.true(out instanceof BpfError);
    t.regex((out as BpfError).reason, want);
  });
}

// ---- tsbpf_collection_btf ------------------------------------------------------------------

interface Rewritten {
  bytes: Buffer;
  counts: Record<'extern_vars' | 'extern_funcs' | 'ksym_funcs' | 'ksym_vars' | 'named_params' | 'sorted_datasecs' | 'added_types', number>;
}

function rewrite(c: Core, btf: Uint8Array): Rewritten {
  c.resetArena();
  const p = c.stage(btf);
  const o = c.struct(KernelBtf);
  c.check(c.fn.tsbpf_collection_btf(p as Ptr<'void'>, btf.length, o as Ptr<'tsbpf_coll_btf'>));
  const data = c.u32(o, KernelBtf.data);
  const bytes = c.bytes(data, c.u32(o, KernelBtf.size));
  c.free(data);
  const counts = {} as Rewritten['counts'];
  for (const k of ['extern_vars', 'extern_funcs', 'ksym_funcs', 'ksym_vars', 'named_params', 'sorted_datasecs', 'added_types'] as const)
    counts[k] = c.u32(o, KernelBtf[k]);
  return { bytes, counts };
}

/** What the kernel's BTF checks demand (kernel/bpf/btf.c), checked on a parsed blob. */
function kernelRules(t: { fail(m: string): void; true(v: boolean, m?: string): void }, btf: Btf, what: string): void {
  for (const ty of btf) {
    if (ty.kind === 'VAR' && ty.linkage === 'extern') t.fail(`${what}: VAR ${ty.name} keeps extern linkage`);
    if (ty.kind === 'FUNC') {
      if (ty.linkage === 'extern') t.fail(`${what}: FUNC ${ty.name} keeps extern linkage`);
      const proto = btf.type(ty.type) as Extract<BtfType, { kind: 'FUNC_PROTO' }>;
      for (const p of proto.params) if (p.type && !p.name) t.fail(`${what}: FUNC ${ty.name} has an unnamed parameter`);
    }
    if (ty.kind === 'DATASEC') {
      let end = 0;
      for (const v of ty.vars) {
        const vt = btf.type(v.type);
        if (vt.kind !== 'VAR') t.fail(`${what}: DATASEC ${ty.name} holds a ${vt.kind}`);
        if (v.offset < end) t.fail(`${what}: DATASEC ${ty.name}: ${vt.name} at ${v.offset} overlaps or is out of order`);
        if (v.size < btf.sizeof(v.type)) t.fail(`${what}: DATASEC ${ty.name}: ${vt.name} is smaller than its type`);
        end = v.offset + v.size;
      }
      t.true(end <= ty.size, `${what}: DATASEC ${ty.name} holds its variables`);
    }
  }
}

function objectBtf(path: string): Btf {
  const types = loadCollectionSpec(path).types;
  if (!types) throw new Error(`${path} has no BTF`);
  return types;
}

test.serial('BTF rewrite: ksym externs (VARs and kfuncs) laid out as libbpf does, placeholders added', (t) => {
  const { core, restore } = fakeCore();
  t.teardown(restore);
  for (const f of ['testdata/ksym-el.elf', 'testdata/kfunc-el.elf', 'testdata/invalid-kfunc-el.elf', 'testdata/errors-el.elf']) {
    const before = objectBtf(corpus(f));
    const { bytes, counts } = rewrite(core, before.bytes());
    const after = Btf.parse(bytes);
    kernelRules(t, after, f);
    const ksyms = after.typeByName('.ksyms', 'DATASEC') as Extract<BtfType, { kind: 'DATASEC' }>;
    t.is(ksyms.size, 4 * ksyms.vars.length, `${f}: .ksyms size`);
    ksyms.vars.forEach((v, i) => {
      t.is(v.offset, 4 * i, `${f}: .ksyms entry ${i} offset`);
      t.is(v.size, 4);
      t.is(after.sizeof(v.type), 4);
    });
    const old = before.typeByName('.ksyms', 'DATASEC') as Extract<BtfType, { kind: 'DATASEC' }>;
    const funcs = old.vars.filter((v) => before.type(v.type).kind === 'FUNC').length;
    t.is(counts.ksym_funcs, funcs, `${f}: FUNC entries replaced`);
    t.is(counts.ksym_vars, old.vars.length - funcs);
    t.is(after.length, before.length + counts.added_types, `${f}: only the placeholder types are added`);
    if (funcs) t.is(after.typeByName('tsbpf_placeholder', 'VAR').kind, 'VAR');
    // Every original type keeps its name and kind.
    for (let id = 1; id < before.endId; id++) {
      t.is(after.type(id).name, before.type(id).name);
      t.is(after.type(id).kind, before.type(id).kind);
    }
  }
});

test.serial('BTF rewrite: __kconfig externs become allocated, forward declarations global with named parameters', (t) => {
  const { core, restore } = fakeCore();
  t.teardown(restore);
  const kconfig = rewrite(core, objectBtf(corpus('testdata/kconfig-el.elf')).bytes());
  t.is(kconfig.counts.extern_vars, 5, 'the five kconfig VARs');
  kernelRules(t, Btf.parse(kconfig.bytes), 'kconfig-el.elf');
  const fwd = rewrite(core, objectBtf(corpus('testdata/fwd_decl-el.elf')).bytes());
  t.true(fwd.counts.extern_funcs >= 1);
  const after = Btf.parse(fwd.bytes);
  kernelRules(t, after, 'fwd_decl-el.elf');
  t.is((after.typeByName('fwd', 'FUNC') as Extract<BtfType, { kind: 'FUNC' }>).linkage, 'global');
});

test.serial('BTF rewrite: every corpus object and fixture meets the kernel\'s rules, and bpftool reads the result', (t) => {
  const { core, restore } = fakeCore();
  t.teardown(restore);
  const dir = mkdtempSync(join(tmpdir(), `tsbpf-btf-${process.pid}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const files = execFileSync('find', [join(corpusDir(), 'cilium-ebpf'), '-name', '*.o', '-o', '-name', '*.elf'], { encoding: 'utf8' })
    .trim().split('\n').filter((f) => !/invalid_(btf_map_init|map_static)/.test(f));
  files.push(compileFixture('load.bpf.c'), compileFixture('collection.bpf.c'));
  let checked = 0;
  for (const f of files) {
    const types = loadCollectionSpec(f).types;
    if (!types) continue;
    const { bytes } = rewrite(core, types.bytes());
    kernelRules(t, Btf.parse(bytes), f);
    const out = join(dir, 'btf');
    writeFileSync(out, bytes);
    const dumped = JSON.parse(execFileSync('bpftool', ['btf', 'dump', 'file', out, '--json'], { encoding: 'utf8' })) as { types: unknown[] };
    t.is(dumped.types.length, Btf.parse(bytes).length, `${f}: bpftool sees every type`);
    checked++;
  }
  t.true(checked >= 40, `${checked} objects`);
});

test.serial('BTF rewrite: DATASEC variables out of offset order are sorted', (t) => {
  const { core, restore } = fakeCore();
  t.teardown(restore);
  // Swap the first two variables of .data in a fixture's BTF: the rewrite puts them back.
  const btf = objectBtf(compileFixture('load.bpf.c'));
  const bytes = Buffer.from(btf.bytes());
  const data = btf.typeByName('.data', 'DATASEC') as Extract<BtfType, { kind: 'DATASEC' }>;
  t.true(data.vars.length >= 2);
  const hdr = bytes.readUInt32LE(4);
  const typeOff = hdr + bytes.readUInt32LE(8);
  // Find the record of .data: walk to it through the parsed ids (records before it are sized by kind).
  let off = typeOff;
  for (let id = 1; id < data.id; id++) off += recordSize(btf.type(id));
  const first = off + 12;
  const a = Buffer.from(bytes.subarray(first, first + 12));
  bytes.copy(bytes, first, first + 12, first + 24);
  a.copy(bytes, first + 12);
  t.not((Btf.parse(bytes).type(data.id) as typeof data).vars[0]!.offset, data.vars[0]!.offset, 'swapped');
  const { bytes: out, counts } = rewrite(core, bytes);
  t.is(counts.sorted_datasecs, 1);
  t.deepEqual((Btf.parse(out).type(data.id) as typeof data).vars, data.vars);
});

function recordSize(ty: BtfType): number {
  switch (ty.kind) {
    case 'INT': case 'VAR': case 'DECL_TAG': return 16;
    case 'ARRAY': return 24;
    case 'STRUCT': case 'UNION': return 12 + 12 * ty.members.length;
    case 'DATASEC': return 12 + 12 * ty.vars.length;
    case 'ENUM64': return 12 + 12 * ty.values.length;
    case 'ENUM': return 12 + 8 * ty.values.length;
    case 'FUNC_PROTO': return 12 + 8 * ty.params.length;
    default: return 12;
  }
}

test.serial('BTF rewrite refuses bytes that are not BTF, naming the problem', (t) => {
  const { core, restore } = fakeCore();
  t.teardown(restore);
  for (const [bytes, want] of [
    [Buffer.alloc(8), /too few for the 24-byte header/],
    [Buffer.from('eb9f01001800000000000000000000000000000000000000', 'hex'), /big-endian/],
  ] as const) {
    const e = t.throws(() => rewrite(core, bytes), { instanceOf: BpfError });
    t.regex(e!.message, want);
  }
});

test.serial('object names: cut to 15 characters, other characters replaced', (t) => {
  const { core, restore } = fakeCore();
  t.teardown(restore);
  for (const [name, want] of [
    ['xdp_prog', 'xdp_prog'],
    ['count_egress_packets', 'count_egress_pa'],
    ['.rodata.str1.1', '.rodata.str1.1'],
    ['a$b', 'a_b'],
    ['', ''],
  ]) {
    core.resetArena();
    const p = core.stageCString(name!);
    const out = core.stageAlloc(16);
    t.is(core.fn.tsbpf_collection_name(p as Ptr<'char'>, out as Ptr<'uint8_t'>), want!.length);
    t.is(core.cstring(out, 16), want!);
  }
});

// ---- refusals before any request ---------------------------------------------------------
// A fake host without handlers throws on any request, failing the test: each of these
// loads must fail before asking the kernel anything (so nothing can leak).

const refusals: Array<[string, string, Record<string, unknown>, RegExp, (new (...a: never[]) => Error)?]> = [
  ['an unknown option', 'testdata/strings-el.elf', { program: ['filter'] }, /unknown option "program" in CollectionOptions/],
  ['an unknown program', 'testdata/strings-el.elf', { programs: ['nope'] }, /"programs" names "nope", which the object does not define \(it has: filter\)/],
  ['an unknown map', 'testdata/strings-el.elf', { maps: ['nope'] }, /"maps" names "nope"/],
  ['programs that is not an array', 'testdata/strings-el.elf', { programs: 'filter' }, /"programs" must be an array/],
  ['a program without a program type', 'testdata/loader-clang-14-el.elf', { programs: ['static_fn'] }, /program "static_fn" has no program type: section "static"/],
  ['a replacement for a map the object lacks', 'testdata/strings-el.elf', { mapReplacements: { nope: {} } }, /"mapReplacements" names map "nope"/],
  ['a replacement that is not a BpfMap', 'testdata/strings-el.elf', { mapReplacements: { my_map: {} } }, /"mapReplacements.my_map" must be a BpfMap/],
  ['a map pinned by name without pinPath', 'testdata/loader-clang-14-el.elf', { programs: ['xdp_prog'], maps: ['btf_pin'] }, /map "btf_pin" is pinned by name: give "pinPath"/],
  ['iproute2 PIN_GLOBAL_NS without pinPath', 'testdata/iproute2_map_compat-el.elf', {}, /map "hash_map" is pinned by name/],
  ['a prog array whose slot names a program left out (TestUnassignedProgArray)', 'testdata/btf_map_init-el.elf', { programs: ['tail_main'] },
    /map "prog_array_init" \(a program array\) holds program "tail_1" in slot 1, which is not being loaded/],
  ['a legacy definition with non-zero extra bytes (TestLoadInvalidMap)', 'testdata/invalid_map-el.elf', {}, /map "invalid_map": byte 20 of its 24-byte legacy definition/],
  ['without a resolver: CO-RE relocations, naming the first', 'testdata/manyprogs-el.elf', {},
    /program "kprobe_execve0" needs 3 CO-RE relocations \(first: field_byte_offset of struct task_struct, access 0:0, instruction 3\): tsbpf does not resolve CO-RE relocations yet/, NotSupportedError],
  ['without a resolver: kconfig externs, listing every one', 'testdata/kconfig-el.elf', {},
    /program "kconfig" needs the kconfig values LINUX_KERNEL_VERSION, LINUX_HAS_SYSCALL_WRAPPER, CONFIG_HZ, CONFIG_BPF_SYSCALL, CONFIG_DEFAULT_HOSTNAME \(__kconfig externs\)/, NotSupportedError],
  ['without a resolver: ksym externs', 'testdata/ksym-el.elf', { programs: ['ksym_test'] }, /program "ksym_test" needs the kernel symbols bpf_trace_run1, bpf_init \(__ksym externs\)/, NotSupportedError],
  ['without a resolver: kfuncs', 'testdata/kfunc-el.elf', { programs: ['call_kfunc'] }, /the kernel functions bpf_skb_ct_lookup, bpf_ct_release \(kfuncs\)/, NotSupportedError],
  ['an undefined function (TestForwardFunctionDeclaration)', 'testdata/fwd_decl-el.elf', {}, /program "call_fwd" needs fwd, which the object refers to but does not define/, NotSupportedError],
  ['an undefined constant of inline asm', 'testdata/loader-clang-14-el.elf', { programs: ['asm_relocation'] }, /program "asm_relocation" needs MY_CONST/, NotSupportedError],
  ['struct_ops maps', 'examples/sched_ext/bpf_bpfel.o', {}, /map "minimal_sched": struct_ops maps are not supported/, NotSupportedError],
  ['struct_ops programs', 'testdata/struct_ops-el.elf', { programs: ['test_1'] }, /program "test_1" is a struct_ops program/, NotSupportedError],
  ['extension programs', 'testdata/freplace-el.elf', {}, /program "replacement" is an extension \(freplace\)/, NotSupportedError],
];

for (const [title, file, options, want, type] of refusals) {
  test.serial(`refused before any request: ${title}`, (t) => {
    const { host, restore } = fakeCore();
    t.teardown(restore);
    // These show what the loader says when no CO-RE/extern resolver is installed.
    if (title.startsWith('without a resolver')) {
      const previous = setExternResolver(undefined);
      t.teardown(() => setExternResolver(previous));
    }
    const spec = loadCollectionSpec(corpus(file));
    const e = t.throws(() => Collection.load(spec, options as never), { instanceOf: type ?? BpfError });
    t.regex(e!.message, want);
    t.is(host.requests.length, 0, 'the kernel was not asked');
  });
}

test.serial('without a resolver, a NotSupportedError for CO-RE names the feature and EOPNOTSUPP, not a kernel limit', (t) => {
  const { restore } = fakeCore();
  t.teardown(restore);
  const previous = setExternResolver(undefined);
  t.teardown(() => setExternResolver(previous));
  const e = t.throws(() => Collection.load(loadCollectionSpec(corpus('testdata/manyprogs-el.elf'))), { instanceOf: NotSupportedError }) as NotSupportedError;
  t.is(e.feature, 'CO-RE relocations');
  t.is(e.code, 'EOPNOTSUPP');
  t.is(e.minKernel, '');
  t.notRegex(e.message, /this kernel/);
});

test.serial('the extern resolver hook: called once with private copies, refusals pass through', (t) => {
  const { host, restore } = fakeCore();
  t.teardown(restore);
  const spec = loadCollectionSpec(corpus('testdata/kconfig-el.elf'));
  const calls: string[][] = [];
  const previous = setExternResolver((req) => {
    calls.push(req.programs.map((p) => p.name));
    t.is(req.spec, spec);
    t.not(req.programs[0]!.instructions, spec.programs.kconfig!.instructions, 'a copy');
    t.deepEqual(Buffer.from(req.programs[0]!.instructions), Buffer.from(spec.programs.kconfig!.instructions));
    throw new NotSupportedError({ feature: 'test', minKernel: '', command: 'test', errno: 95, reason: 'resolver says no', advice: '' });
  });
  t.teardown(() => setExternResolver(previous));
  t.throws(() => Collection.load(spec), { message: /resolver says no/ });
  t.deepEqual(calls, [['kconfig']]);
  t.is(host.requests.length, 0);
});

// ---- a whole load on a scripted kernel ---------------------------------------------------

// union bpf_attr offsets (include/uapi/linux/bpf.h, 6.1).
const MAP = { type: 0, key: 4, value: 8, max: 12, flags: 16, inner: 20, name: 28, btf_fd: 48, btf_key: 52, btf_value: 56 };
const PROG = { type: 0, insn_cnt: 4, insns: 8, name: 48, expected: 68, btf_fd: 72, func_info_cnt: 88, line_info_cnt: 104 };
const BTF_LOAD = { btf: 0 };

function scripted() {
  const setup = fakeCore();
  const { host } = setup;
  const made: number[] = [];
  const fd = () => {
    const n = host.fd();
    made.push(n);
    return n;
  };
  host.on('BPF_BTF_LOAD', fd);
  host.on('BPF_MAP_CREATE', fd);
  host.on('BPF_MAP_UPDATE_ELEM', () => 0);
  host.on('BPF_MAP_FREEZE', () => 0);
  host.on('BPF_PROG_LOAD', fd);
  host.on('BPF_OBJ_GET_INFO_BY_FD', (req) => {
    setAttrU32(req.attr, 4, 0); // no info: the fake has none to give
    return 0;
  });
  return { ...setup, made };
}

test.serial('a load on a scripted kernel: BTF, typed maps, relocated programs with func_info and line_info', (t) => {
  const { host, restore, made } = scripted();
  t.teardown(restore);
  const spec = loadCollectionSpec(compileFixture('load.bpf.c'));
  const coll = Collection.load(spec);
  const btfFd = host.of('BPF_BTF_LOAD')[0]!.result;
  const blob = host.of('BPF_BTF_LOAD')[0]!.inputs.get(BTF_LOAD.btf)!;
  t.true(Btf.parse(blob).length >= spec.types!.length, 'the kernel gets the rewritten BTF');
  const byName = new Map(host.of('BPF_MAP_CREATE').map((r) => [Buffer.from(r.attr.subarray(MAP.name, MAP.name + 16)).toString().replace(/\0.*$/s, ''), r]));
  const stats = byName.get('stats_by_len')!;
  t.is(attrU32(stats.attr, MAP.btf_fd), btfFd, 'typed map: the BTF fd');
  t.is(attrU32(stats.attr, MAP.btf_key), spec.maps.stats_by_len!.keyTypeId);
  t.is(attrU32(stats.attr, MAP.btf_value), spec.maps.stats_by_len!.valueTypeId);
  const ring = byName.get('events')!;
  t.is(attrU32(ring.attr, MAP.btf_value), 0, 'ring buffer: untyped');
  const rodata = byName.get('.rodata')!;
  t.is(attrU32(rodata.attr, MAP.flags), BPF_F_RDONLY_PROG | BPF_F_MMAPABLE);
  t.is(attrU32(rodata.attr, MAP.btf_key), 0);
  t.is(attrU32(rodata.attr, MAP.btf_value), spec.maps['.rodata']!.valueTypeId);
  const outer = byName.get('outer')!;
  t.not(attrU32(outer.attr, MAP.inner), 0, 'the outer map is created with an inner template');
  t.true(host.closed.includes(attrU32(outer.attr, MAP.inner)), 'the template is closed after');
  t.is(host.of('BPF_MAP_FREEZE').length, 1, 'only .rodata is frozen');

  const loads = host.of('BPF_PROG_LOAD');
  t.deepEqual(loads.map((r) => Buffer.from(r.attr.subarray(PROG.name, PROG.name + 16)).toString().replace(/\0.*$/s, '')).sort(),
    ['count', 'inner_lookup', 'tail_entry', 'tail_target', 'xdp_pass'], 'autoload: optional_prog (SEC("?socket")) is left out');
  const count = loads.find((r) => Buffer.from(r.attr.subarray(PROG.name, PROG.name + 6)).toString() === 'count\0')!;
  const p = spec.programs.count!;
  t.is(attrU32(count.attr, PROG.btf_fd), btfFd);
  t.is(attrU32(count.attr, PROG.func_info_cnt), p.funcInfo.length / 8);
  t.is(attrU32(count.attr, PROG.line_info_cnt), p.lineInfo.length / 16);
  t.true(p.functions.length >= 3, 'count calls two subprograms');
  const insns = Buffer.from(count.inputs.get(PROG.insns)!);
  const mapFd = (name: string) => coll.maps[name]!.fd;
  for (const r of p.relocations) {
    if (r.kind === 'map') t.is(insns.readInt32LE(r.instruction * 8 + 4), mapFd(r.map), `instruction ${r.instruction} -> ${r.map}`);
    if (r.kind === 'mapValue') {
      t.is(insns.readInt32LE(r.instruction * 8 + 4), mapFd(r.map));
      t.is(insns.readUInt32LE(r.instruction * 8 + 12), r.offset);
    }
  }
  const xdp = loads.find((r) => attrU32(r.attr, PROG.type) === 6)!;
  t.is(attrU32(xdp.attr, PROG.expected), 37, 'XDP: expected attach type BPF_XDP from the section');
  // Prog array and map of maps slots point at what the load made.
  const updates = host.of('BPF_MAP_UPDATE_ELEM');
  t.true(updates.some((u) => attrU32(u.attr, 0) === mapFd('jump_table')));
  t.true(updates.some((u) => attrU32(u.attr, 0) === mapFd('outer')));
  t.true(host.closed.includes(btfFd), 'the BTF fd is closed once loaded');
  coll.close();
  t.deepEqual(made.filter((f) => !host.closed.includes(f)), [], 'close() closes everything the load made');
});

test.serial('a failure halfway closes every fd the load made, the BTF included', (t) => {
  const { host, restore, made } = scripted();
  t.teardown(restore);
  let n = 0;
  host.on('BPF_PROG_LOAD', () => (++n >= 3 ? -13 /* EACCES, and again with a log */ : host.fd()));
  const before = host.fd(); // fds after this one are the load's
  const spec = loadCollectionSpec(compileFixture('load.bpf.c'));
  const e = t.throws(() => Collection.load(spec), { instanceOf: BpfError });
  t.regex(e!.message, /^BPF_PROG_LOAD: program "\w+": /);
  const progFds = host.of('BPF_PROG_LOAD').map((r) => r.result).filter((r) => r > 0);
  const all = [...made, ...progFds].filter((f) => f > before);
  t.true(all.length > 10);
  t.deepEqual([...new Set(host.closed)].filter((f) => f > before).sort(), [...new Set(all)].sort(), 'everything made is closed');
});

test.serial('a BTF the kernel refuses fails the load with the BTF log, before any map exists', (t) => {
  const { host, restore } = scripted();
  t.teardown(restore);
  // The core retries a refused BTF load with a log; the second answer writes one.
  const BTF_LOG_BUF = 8;
  host.script('BPF_BTF_LOAD', () => -22, (req) => {
    req.buffer(BTF_LOG_BUF)!.data.set(Buffer.from('[7] VAR x type_id=1 linkage=2\nInvalid linkage\n\0'));
    return -22;
  });
  const spec = loadCollectionSpec(compileFixture('load.bpf.c'));
  const e = t.throws(() => Collection.load(spec), { instanceOf: BpfError });
  t.regex(e!.message, /^BPF_BTF_LOAD: the object's BTF \(kernel BTF log: \[7\] VAR x type_id=1 linkage=2 \/ Invalid linkage\)/);
  t.is(host.of('BPF_MAP_CREATE').filter((r) => r.result > 0 && !host.closed.includes(r.result)).length, 0, 'nothing left open');
  t.is(host.of('BPF_PROG_LOAD').length, 0);
});

test.serial('refused before any request: a tracing program whose attach target is not in the kernel\'s BTF', (t) => {
  const { host, restore } = fakeCore();
  t.teardown(restore);
  const spec = loadCollectionSpec(compileFixture('attach_btf.bpf.c'));
  const e = t.throws(() => Collection.load(spec, { programs: ['no_target'] }), { instanceOf: BpfError });
  t.regex(e!.message, /program "no_target": FUNC no_such_kernel_function_tsbpf \(its attach target\) is not in the kernel's BTF/);
  t.is(host.requests.length, 0);
});
