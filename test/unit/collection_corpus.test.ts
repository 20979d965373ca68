// Every object of the conformance corpus (BPF objects built by cilium/ebpf) parses, and its
// CollectionSpec matches the corpus manifest field by field: programs, subprograms, maps,
// externs, license, BTF and .BTF.ext record counts. The manifest was written from the files
// by other tools (llvm-readelf, bpftool), so it is an independent oracle. Objects whose
// origin says parsing must fail must fail, with the reason their origin gives.
import test from 'ava';
import { basename } from 'node:path';
import { BpfError, CollectionSpec, loadCollectionSpec, type CollectionMapSpec, type CollectionProgramSpec } from '../../src/index.js';
import { MapTypeNames, ProgramTypeNames } from '../../src/generated/uapi.js';
import { corpusFile, manifest, type ManifestEntry, type ManifestInner, type ManifestMap } from '../helpers/corpus.js';

const BPF_F_RDONLY_PROG = 1 << 7;
const BPF_F_LINK = 1 << 13;
const NO_VALUE_SIZE = new Set(['ringbuf', 'perf_event_array', 'arena']);

function progTypeName(type: number): string {
  return (ProgramTypeNames[type] ?? `type ${type}`).replace(/^BPF_PROG_TYPE_/, '').toLowerCase();
}

function mapTypeName(type: number): string {
  return (MapTypeNames[type] ?? `type ${type}`).replace(/^BPF_MAP_TYPE_/, '').toLowerCase();
}

/** What the origin's tests say about parsing: only "parsing must fail" matters here. */
function mustFail(e: ManifestEntry): boolean {
  return /parsing must fail/i.test(e.expect);
}

/** Why each must-fail object fails, as its origin's test asserts. */
const FAILURES: Record<string, { code: string; reason: RegExp }> = {
  'invalid_btf_map_init-el.elf': { code: 'ENOTSUPP', reason: /map hash_map has a non-zero byte .*static initialisers of BTF map definitions are not supported/ },
  'invalid_map_static-el.elf': { code: 'EINVAL', reason: /section xdp: function xdp_prog: instruction \d+ .*static qualifier on map definition: found reference to hash_map/ },
};

/** Linked objects whose .BTF.ext describes functions the linker dropped (weak ones overridden). */
const LINKER_GAPS = new Set(['linked-el.elf']);

function typeName(spec: CollectionSpec, id: number): string | undefined {
  return id && spec.types ? spec.types.typeName(id) : undefined;
}

function u32s(bytes: Uint8Array | undefined): number[] {
  const out: number[] = [];
  for (let i = 0; bytes && i + 4 <= bytes.length; i += 4) out.push(Buffer.from(bytes).readUInt32LE(i));
  return out;
}

function checkInner(t: import('ava').ExecutionContext, spec: CollectionSpec, m: CollectionMapSpec, want: ManifestInner): void {
  const inner = m.innerMap;
  t.truthy(inner, `${m.name}: inner map template`);
  if (!inner) return;
  t.is(inner.name, `${m.name}_inner`);
  t.is(inner.type as number, want.type, `${m.name}: inner type`);
  t.is(inner.maxEntries, want.max_entries, `${m.name}: inner max_entries`);
  t.is(inner.keySize, want.key_size, `${m.name}: inner key_size`);
  t.is(inner.valueSize, want.value_size, `${m.name}: inner value_size`);
  t.is(typeName(spec, inner.keyTypeId), want.key_type, `${m.name}: inner key type`);
  t.is(typeName(spec, inner.valueTypeId), want.value_type, `${m.name}: inner value type`);
}

function checkMap(t: import('ava').ExecutionContext, spec: CollectionSpec, want: ManifestMap): void {
  const m = spec.maps[want.name];
  t.truthy(m, `map ${want.name} is in the spec`);
  if (!m) return;
  const where = `map ${want.name}`;
  t.is(m.source, want.kind, `${where}: source`);
  t.is(mapTypeName(m.type as number), want.type, `${where}: type`);
  t.is(m.keySize, want.key_size ?? 0, `${where}: key size`);
  t.is(m.maxEntries, want.max_entries ?? 0, `${where}: max entries`);
  const flags = want.flags === 'rdonly_prog' ? BPF_F_RDONLY_PROG : want.flags === 'link' ? BPF_F_LINK : want.flags;
  t.is(m.flags, flags, `${where}: flags`);
  if (NO_VALUE_SIZE.has(want.type) && want.kind === 'btf') {
    // cilium/ebpf's rule: these map types keep value size 0; a declared value type stays.
    t.is(m.valueSize, 0, `${where}: value size stays 0 for ${want.type}`);
    if (want.value_size !== null && want.value_size !== undefined)
      t.is(spec.types!.sizeof(m.valueTypeId), want.value_size, `${where}: declared value type size`);
    else t.is(m.valueTypeId, 0);
  } else {
    t.is(m.valueSize, want.value_size ?? 0, `${where}: value size`);
  }
  t.is(typeName(spec, m.keyTypeId), want.key_type, `${where}: key type`);
  if (want.kind !== 'data') t.is(typeName(spec, m.valueTypeId), want.value_type, `${where}: value type`);
  else if (spec.types && m.valueTypeId) t.is(spec.types.type(m.valueTypeId).kind, 'DATASEC', `${where}: data maps carry their DATASEC`);
  t.is(m.pinning, want.pinning ?? 0, `${where}: pinning`);
  t.is(m.mapExtra, BigInt(want.map_extra ?? 0), `${where}: map_extra`);
  if (want.kind === 'legacy') {
    t.is<number | undefined, number | undefined>(20 + (m.extra?.length ?? 0), want.def_size, `${where}: definition size`);
    t.deepEqual(u32s(m.extra), want.extra ?? [], `${where}: extra fields`);
  } else {
    t.is(m.extra, undefined);
  }
  if (want.kind === 'data') {
    const value = m.contents[0]?.value;
    t.true(value instanceof Uint8Array && value.length === m.valueSize, `${where}: contents hold the section`);
  }
  if (want.inner === 'prog') {
    t.is(m.innerMap, undefined);
    for (const c of m.contents) t.truthy(typeof c.value === 'string' && spec.programs[c.value], `${where}: slot ${c.key} names a program`);
  } else if (want.inner) {
    checkInner(t, spec, m, want.inner);
    for (const c of m.contents) t.truthy(typeof c.value === 'string' && spec.maps[c.value], `${where}: slot ${c.key} names a map`);
  } else {
    t.is(m.innerMap, undefined, `${where}: no inner map`);
  }
}

/** The linked stream: each function's slots are its own instructions, calls land on spans. */
function checkLinking(t: import('ava').ExecutionContext, spec: CollectionSpec, p: CollectionProgramSpec): void {
  const all = { ...spec.programs, ...spec.subprograms };
  const insns = Buffer.from(p.instructions);
  const total = p.functions.reduce((n, f) => n + f.count, 0);
  t.is(insns.length, total * 8, `${p.name}: stream is the sum of its functions`);
  const relocated = new Set(p.relocations.map((r) => r.instruction));
  for (const f of p.functions) {
    const own = all[f.name];
    t.truthy(own, `${p.name}: linked function ${f.name} exists`);
    if (!own) continue;
    t.is(own.functions[0]!.count, f.count);
    const ownInsns = Buffer.from(own.instructions);
    for (let i = 0; i < f.count; i++) {
      const a = insns.subarray((f.offset + i) * 8, (f.offset + i) * 8 + 8);
      const b = ownInsns.subarray(i * 8, i * 8 + 8);
      if (relocated.has(f.offset + i)) t.is(a[0], b[0], `${p.name}: ${f.name}+${i} opcode`);
      else if (!a.equals(b)) t.fail(`${p.name}: instruction ${f.name}+${i} differs from the function's own`);
    }
  }
  const spans = new Map(p.functions.map((f) => [f.name, f.offset]));
  for (const r of p.relocations) {
    t.true(r.instruction < total, `${p.name}: relocation inside the stream`);
    if (r.kind !== 'call' && r.kind !== 'funcAddr') continue;
    const imm = insns.readInt32LE(r.instruction * 8 + 4);
    t.is<number | undefined, number | undefined>(r.instruction + 1 + imm, spans.get(r.function), `${p.name}: ${r.kind} at ${r.instruction} reaches ${r.function}`);
    t.is(insns[r.instruction * 8 + 1]! >> 4, r.kind === 'call' ? 1 : 4, `${p.name}: pseudo source of the ${r.kind}`);
  }
  // func_info: one record per function, at its first instruction, in order.
  const fi = Buffer.from(p.funcInfo);
  if (fi.length) {
    const starts = [];
    for (let i = 0; i < fi.length; i += 8) starts.push(fi.readUInt32LE(i));
    t.deepEqual(starts, p.functions.map((f) => f.offset), `${p.name}: func_info starts`);
    t.is(fi.readUInt32LE(4), p.btfFunc);
  }
}

for (const entry of manifest()) {
  const name = basename(entry.file);
  test(`${entry.file.replace(/^cilium-ebpf\//, '')}: ${mustFail(entry) ? 'parsing fails as its origin expects' : 'matches the manifest'}`, (t) => {
    if (mustFail(entry)) {
      const e = t.throws(() => loadCollectionSpec(corpusFile(entry)), { instanceOf: BpfError });
      const want = FAILURES[name];
      t.truthy(want, `a reason is on record for ${name}`);
      t.is<string | undefined, string | undefined>(e?.code, want?.code);
      t.regex(e?.reason ?? '', want?.reason ?? /$^/);
      t.is(e?.command, 'loadCollectionSpec');
      return;
    }
    const spec = loadCollectionSpec(corpusFile(entry));

    t.deepEqual(Object.keys(spec.programs).sort(), entry.programs.map((p) => p.name).sort(), 'program names');
    for (const want of entry.programs) {
      const p = spec.programs[want.name]!;
      t.is(p.sectionName, want.section, `${want.name}: section`);
      t.is(p.functions[0]!.count, want.insns, `${want.name}: instructions`);
      t.is(p.binding as string, want.bind, `${want.name}: binding`);
      t.is(progTypeName(p.type), want.type, `${want.name}: program type`);
      t.is(p.sectionMatch, want.match, `${want.name}: section rule`);
      t.is(p.license, entry.license ?? '');
      checkLinking(t, spec, p);
    }
    t.deepEqual(Object.keys(spec.subprograms).sort(), entry.subprogs.map((p) => p.name).sort(), 'subprogram names');
    for (const want of entry.subprogs) {
      const p = spec.subprograms[want.name]!;
      t.is(p.sectionName, want.section);
      t.is(p.functions[0]!.count, want.insns, `${want.name}: instructions`);
      t.is(p.binding as string, want.bind);
      checkLinking(t, spec, p);
    }

    t.deepEqual(Object.keys(spec.maps).sort(), entry.maps.map((m) => m.name).sort(), 'map names');
    for (const want of entry.maps) checkMap(t, spec, want);

    const externs = Object.values(spec.externs).map((e) => `${e.kind === 'unknown' ? 'extern' : e.kind}:${e.name}`);
    t.deepEqual(externs.sort(), [...entry.externs].sort(), 'externs');
    t.is(spec.license, entry.license ?? '', 'license');
    t.is(spec.types !== undefined, entry.btf, 'BTF');

    const ext = entry.btf_ext ?? { func_info: 0, line_info: 0, core_relo: 0, core_kinds: {} };
    t.deepEqual(spec.extInfoCounts, { funcInfo: ext.func_info, lineInfo: ext.line_info, coreRelocations: ext.core_relo }, '.BTF.ext counts');
    // Every record belongs to exactly one function: the functions' own records add up.
    const kinds: Record<string, number> = {};
    let funcInfo = 0;
    let lineInfo = 0;
    for (const p of [...Object.values(spec.programs), ...Object.values(spec.subprograms)]) {
      const own = p.functions[0]!.count;
      for (const r of p.coreRelocations) if (r.instruction < own) kinds[r.kind] = (kinds[r.kind] ?? 0) + 1;
      for (let i = 0; i < p.funcInfo.length; i += 8) if (Buffer.from(p.funcInfo).readUInt32LE(i) < own) funcInfo++;
      for (let i = 0; i < p.lineInfo.length; i += 16) if (Buffer.from(p.lineInfo).readUInt32LE(i) < own) lineInfo++;
    }
    t.deepEqual(kinds, ext.core_kinds, 'CO-RE relocations by kind');
    if (LINKER_GAPS.has(name)) {
      // The linker keeps the records of functions it replaced; they describe no function.
      t.true(funcInfo < ext.func_info && lineInfo < ext.line_info);
    } else {
      t.is(funcInfo, ext.func_info, 'func_info records are each assigned to one function');
      t.is(lineInfo, ext.line_info, 'line_info records are each assigned to one function');
    }

    EXPECT[name]?.(t, spec);
  });
}

type Check = (t: import('ava').ExecutionContext, spec: CollectionSpec) => void;

const loaderExpect: Check = (t, spec) => {
  const offsets = Object.fromEntries(Object.values(spec.variables).map((v) => [v.name, `${v.mapName}+${v.offset}`]));
  t.deepEqual(offsets, {
    arg: '.rodata+4', arg2: '.rodata.test+0', arg3: '.data.test+0', key1: '.bss+0', key2: '.data+0', key3: '.rodata+0', neg: '.rodata+12', uneg: '.rodata+8',
  });
  t.is(spec.programs.xdp_prog!.attachType, 37 /* BPF_XDP */);
  const asm = spec.programs.asm_relocation!;
  t.deepEqual(asm.relocations, [{ kind: 'extern', instruction: 0, extern: 'MY_CONST' }]);
  t.deepEqual(spec.variables.neg!.value, Buffer.from([0xfe, 0xff, 0xff, 0xff]));
  t.deepEqual(spec.variables.uneg!.value, Buffer.from([0xff, 0xff, 0xff, 0xff]));
  if (spec.types) {
    // TestProgInfoExtBTF: 28 line infos, func infos of xdp_prog and its callees.
    t.is(spec.programs.xdp_prog!.lineInfo.length / 16, 28);
    t.deepEqual(spec.programs.xdp_prog!.functions.map((f) => f.name), ['xdp_prog', 'static_fn', 'global_fn', 'global_fn2', 'global_fn3']);
    t.deepEqual(spec.maps.bpf_decl_map!.tags, ['a', 'b']);
    t.deepEqual(spec.maps.btf_decl_map!.tags, ['a', 'b']);
    t.is(spec.types.typesByName('bpf_map_def').length > 0, true);
    const fn = spec.types.typeByName('global_fn', 'FUNC');
    t.is(fn.kind === 'FUNC' && fn.linkage, 'global');
    t.is(spec.types.type(spec.variables.key3!.typeId).kind, 'VAR');
  }
};

const EXPECT: Record<string, Check> = {
  'loader-clang-14-el.elf': loaderExpect,
  'loader-clang-17-el.elf': loaderExpect,
  'loader-clang-22-el.elf': loaderExpect,
  'loader_nobtf-el.elf': loaderExpect,
  'btf_map_init-el.elf': (t, spec) => {
    t.deepEqual(spec.maps.prog_array_init!.contents, [{ key: 1, value: 'tail_1' }]);
    t.deepEqual(spec.maps.outer_map_init!.contents, [{ key: 1, value: 'inner_map' }]);
  },
  'struct_ops-el.elf': (t, spec) => {
    const m = spec.maps.testmod_ops!;
    t.is(spec.programs.test_1!.attachTo, 'bpf_testmod_ops:test_1');
    t.deepEqual(m.structOps, [{ member: 'test_1', offset: 0, program: 'test_1' }]);
    const value = Buffer.from(m.contents[0]!.value as Uint8Array);
    t.is(value.length, 24);
    t.is(value.readUInt32LE(16), 0xdeadbeef);
  },
  'arena-el.elf': (t, spec) => {
    t.is(spec.maps.arena!.mapExtra, 1n << 44n);
    t.is(spec.maps.arena!.flags, 0x400);
  },
  'strings-el.elf': (t, spec) => {
    const value = Buffer.from(spec.maps['.rodata.str1.1']!.contents[0]!.value as Uint8Array);
    t.true(value.toString('latin1').includes('This string is allocated in the string section\n\0'));
  },
  'kconfig-el.elf': (t, spec) => {
    const kc = Object.values(spec.externs).filter((e) => e.kind === 'kconfig');
    t.is(kc.length, 5);
    // Laid out by size and alignment in declaration order, as the .kconfig map will be.
    let end = 0;
    for (const e of kc) {
      t.true(e.offset >= end && e.offset % Math.min(e.size, 8) === 0, `${e.name} at ${e.offset}`);
      end = e.offset + e.size;
    }
    t.is(spec.kconfigSize, end);
    for (const r of spec.programs.kconfig!.relocations) {
      t.is(r.kind, 'kconfig');
      if (r.kind === 'kconfig') t.is(r.offset, spec.externs[r.extern]!.offset);
    }
  },
  'variables-el.elf': (t, spec) => {
    t.is(spec.variables.hidden, undefined);
    t.truthy(spec.variables.weak);
    for (const v of ['var_bss', 'var_data', 'var_rodata']) t.truthy(spec.variables[v], v);
    t.true(spec.variables.var_rodata!.readOnly);
    t.false(spec.variables.var_data!.readOnly);
  },
  'test_bpfel.o': (t, spec) => {
    t.truthy(spec.variables.my_constant);
    t.truthy(spec.variables.struct_const);
    const e = spec.types!.typeByName('e', 'ENUM');
    t.deepEqual(e.kind === 'ENUM' && e.values, [{ name: 'HOOPY', value: 0n }, { name: 'FROOD', value: 1n }]);
    t.is(spec.types!.sizeof(spec.types!.typeByName('barfoo').id), 16);
  },
  'ksym-el.elf': (t, spec) => {
    t.true(spec.externs.missing_weak_ksym!.weak);
    t.false(spec.externs.missing_ksym!.weak);
    t.true(spec.programs.ksym_test!.relocations.some((r) => r.kind === 'ksym' && r.extern === 'bpf_init'));
  },
  'kfunc-el.elf': (t, spec) => {
    const calls = spec.programs.call_kfunc!.relocations.filter((r) => r.kind === 'kfunc');
    t.deepEqual(calls.map((r) => r.kind === 'kfunc' && r.extern), ['bpf_skb_ct_lookup', 'bpf_ct_release']);
    for (const r of calls) t.is(spec.programs.call_kfunc!.instructions[r.instruction * 8 + 1]! >> 4, 2 /* BPF_PSEUDO_KFUNC_CALL */);
  },
  'subprog_reloc-el.elf': (t, spec) => {
    const p = spec.programs.fp_relocation!;
    t.true(p.relocations.some((r) => r.kind === 'funcAddr' && r.function === 'sub_prog'));
  },
  'fentry_fexit-el.elf': (t, spec) => {
    t.is(spec.programs.trace_on_entry!.attachTo, 'target');
    t.true(spec.programs.trace_on_entry!.attachBtf);
    t.is(spec.programs.trace_on_exit!.attachType, 25 /* BPF_TRACE_FEXIT */);
  },
  'relocs-el.elf': (t, spec) => {
    t.is(spec.types!.typesByName('ambiguous').length, 1);
    t.is(spec.types!.typesByName('ambiguous___flavour').length, 1);
  },
};

test('corpus: every object is in the manifest and every must-fail object has a recorded reason', (t) => {
  const entries = manifest();
  t.true(entries.length >= 50);
  for (const e of entries.filter(mustFail)) t.truthy(FAILURES[basename(e.file)], basename(e.file));
});

test('CollectionSpec.clone: maps, variables and programs are copied, BTF is shared', (t) => {
  const entry = manifest().find((e) => e.file.endsWith('loader-clang-14-el.elf'))!;
  const spec = loadCollectionSpec(corpusFile(entry));
  const copy = spec.clone();
  copy.variables.arg!.set(0x01020304);
  copy.programs.xdp_prog!.instructions[0] = 0xff;
  copy.maps.hash_map!.maxEntries = 99;
  t.is(spec.variables.arg!.value.readUInt32LE(0), 1);
  t.is(copy.variables.arg!.value.readUInt32LE(0), 0x01020304);
  t.is(Buffer.from(copy.maps['.rodata']!.contents[0]!.value as Uint8Array).readUInt32LE(4), 0x01020304);
  t.not(spec.programs.xdp_prog!.instructions[0], 0xff);
  t.is(spec.maps.hash_map!.maxEntries, 1);
  t.is(copy.types, spec.types);
  t.not(copy.maps.btf_outer_map!.innerMap, spec.maps.btf_outer_map!.innerMap);
  t.deepEqual(copy.maps.btf_outer_map!.innerMap, spec.maps.btf_outer_map!.innerMap);
});

test('VariableSpec.set: integers of the variable size, bytes of exactly its size, nothing else', (t) => {
  const entry = manifest().find((e) => e.file.endsWith('loader-clang-14-el.elf'))!;
  const spec = loadCollectionSpec(corpusFile(entry));
  const v = spec.variables.neg!;
  v.set(-5);
  t.is(v.value.readInt32LE(0), -5);
  v.set(0xffffffff);
  t.is(v.value.readUInt32LE(0), 0xffffffff);
  v.set(Buffer.from([1, 2, 3, 4]));
  t.is(v.value.readUInt32LE(0), 0x04030201);
  t.is(Buffer.from(spec.maps['.rodata']!.contents[0]!.value as Uint8Array).readUInt32LE(12), 0x04030201);
  const bad: Array<[unknown, RegExp]> = [
    [2 ** 32, /does not fit in the 4 bytes of variable neg/],
    [-(2 ** 31) - 1, /does not fit/],
    [1.5, /expected bytes or an integer/],
    ['1', /expected bytes or an integer/],
    [Buffer.alloc(3), /variable neg is 4 bytes, got 3/],
  ];
  for (const [value, reason] of bad) {
    const e = t.throws(() => v.set(value as number), { instanceOf: BpfError });
    t.regex(e?.message ?? '', reason);
  }
  t.is(v.value.readUInt32LE(0), 0x04030201, 'a refused value changes nothing');
});
