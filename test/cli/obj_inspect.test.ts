// `tsbpf obj inspect` through a child process, against oracles that are not tsbpf: the
// corpus manifest (written by other tools), llvm-readelf-14 (symbols, sections, license),
// bpftool's BTF dump (type counts) and, for an object bpftool can load, what the kernel
// created (`bpftool map show`).
import test from 'ava';
import { loadCollectionSpec } from '../../src/index.js';
import { bpftoolJson, bpftoolLoadAll, tsbpf, tsbpfJson } from '../helpers/cli.js';
import { corpusFile, manifest } from '../helpers/corpus.js';
import { kernelTest } from '../helpers/kernel.js';
import { bpftoolBtf, compileFixture, readelfBytes, readelfSections, readelfSymbols } from '../helpers/tools.js';

interface Inspect {
  file: string;
  license: string;
  kernelVersion: number;
  programs: Array<{ name: string; section: string; type: string; attachType: string; instructions: number; linkedInstructions: number; calls: string[] }>;
  subprograms: Array<{ name: string; section: string; instructions: number }>;
  maps: Array<{
    name: string;
    type: string;
    keySize: number;
    valueSize: number;
    maxEntries: number;
    flags: number;
    pinning: string | number;
    source: string;
    keyType: string;
    valueType: string;
    slots?: { key: number; name: string }[];
    innerMap?: Record<string, unknown>;
  }>;
  variables: Array<{ name: string; section: string; offset: number; size: number; type: string; readOnly: boolean }>;
  externs: Array<{ name: string; kind: string; weak: boolean; type: string }>;
  btf: null | { types: number; funcInfo: number; lineInfo: number; coreRelocations: number };
}

const FLAG_NAMES: Record<string, number> = { rdonly_prog: 1 << 7, link: 1 << 13 };
const NO_VALUE_SIZE = new Set(['ringbuf', 'perf_event_array', 'arena']);

/** Variables as llvm-readelf sees them: global or weak, visible objects of data sections. */
function readelfVariables(file: string): Array<{ name: string; section: string; offset: number; size: number }> {
  return readelfSymbols(file)
    .filter((s) => s.type === 'OBJECT' && s.bind !== 'LOCAL' && s.vis === 'DEFAULT' && /^\.(data|rodata|bss)/.test(s.section))
    .map((s) => ({ name: s.name, section: s.section, offset: s.value, size: s.size }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Functions llvm-readelf lists in executable sections: name -> [section, instruction slots]. */
function readelfFunctions(file: string): Map<string, [string, number]> {
  const exec = new Set(readelfSections(file).filter((s) => s?.flags.includes('X')).map((s) => s!.name));
  return new Map(readelfSymbols(file).filter((s) => s.type === 'FUNC' && exec.has(s.section)).map((s) => [s.name, [s.section, s.size / 8]]));
}

function byName<T extends { name: string }>(list: T[]): T[] {
  return [...list].sort((a, b) => a.name.localeCompare(b.name));
}

test('every corpus object: programs, maps, externs, license and BTF counts match the manifest; variables and functions match llvm-readelf', (t) => {
  let inspected = 0;
  for (const entry of manifest()) {
    const file = corpusFile(entry);
    let parses = true;
    try {
      loadCollectionSpec(file);
    } catch {
      parses = false;
    }
    if (!parses) {
      // Objects the library refuses are refused by the command: one line, exit 1.
      const r = tsbpf('obj', 'inspect', file);
      t.is(r.status, 1, entry.file);
      t.regex(r.stderr, /^tsbpf: loadCollectionSpec: .+\n$/, entry.file);
      continue;
    }
    inspected++;
    const got = tsbpfJson<Inspect>('obj', 'inspect', file);
    const where = entry.file;
    t.is(got.license, entry.license ?? '', `${where}: license`);
    t.deepEqual(
      byName(got.programs).map((p) => [p.name, p.section, p.type, p.instructions]),
      byName(entry.programs).map((p) => [p.name, p.section, p.type, p.insns]),
      `${where}: programs`,
    );
    t.deepEqual(
      byName(got.subprograms).map((p) => [p.name, p.section, p.instructions]),
      byName(entry.subprogs).map((p) => [p.name, p.section, p.insns]),
      `${where}: subprograms`,
    );
    const maps = new Map(got.maps.map((m) => [m.name, m]));
    t.deepEqual([...maps.keys()].sort(), entry.maps.map((m) => m.name).sort(), `${where}: map names`);
    for (const want of entry.maps) {
      const m = maps.get(want.name);
      if (!m) continue;
      const flags = typeof want.flags === 'string' ? FLAG_NAMES[want.flags] : want.flags;
      t.deepEqual(
        [m.type, m.keySize, m.maxEntries, m.flags, m.pinning],
        [want.type, want.key_size ?? 0, want.max_entries ?? 0, flags, want.pinning === 1 ? 'by_name' : (want.pinning ?? 'none')],
        `${where}: map ${want.name}`,
      );
      if (!(NO_VALUE_SIZE.has(want.type) && want.kind === 'btf')) t.is(m.valueSize, want.value_size ?? 0, `${where}: map ${want.name} value size`);
      t.is(m.keyType || undefined, want.key_type, `${where}: map ${want.name} key type`);
      if (want.kind !== 'data') t.is(m.valueType || undefined, want.value_type, `${where}: map ${want.name} value type`);
    }
    // The manifest writes externs as kind:name, with "extern" for what no rule classifies.
    t.deepEqual(
      got.externs.map((e) => `${e.kind === 'unknown' ? 'extern' : e.kind}:${e.name}`).sort(),
      [...entry.externs].sort(),
      `${where}: externs`,
    );
    if (entry.btf) {
      t.truthy(got.btf, `${where}: BTF`);
      const ext = entry.btf_ext ?? { func_info: 0, line_info: 0, core_relo: 0 };
      t.deepEqual(
        [got.btf?.funcInfo, got.btf?.lineInfo, got.btf?.coreRelocations],
        [ext.func_info, ext.line_info, ext.core_relo],
        `${where}: .BTF.ext counts`,
      );
    } else {
      t.is(got.btf, null, `${where}: no BTF`);
    }
    t.deepEqual(
      byName(got.variables).map(({ name, section, offset, size }) => ({ name, section, offset, size })),
      readelfVariables(file),
      `${where}: variables`,
    );
    const fns = readelfFunctions(file);
    for (const p of [...got.programs, ...got.subprograms]) t.deepEqual([p.section, p.instructions], fns.get(p.name), `${where}: ${p.name} in llvm-readelf`);
  }
  t.true(inspected >= 45, `${inspected} objects inspected`);
});

test('a fixture compiled by clang-14: every field against llvm-readelf and bpftool, and the human tables say the same', (t) => {
  const file = compileFixture('collection.bpf.c');
  const got = tsbpfJson<Inspect>('obj', 'inspect', file);
  t.is(got.license, readelfBytes(file, 'license').toString('latin1').replace(/\0+$/, ''));
  t.is(got.btf?.types, bpftoolBtf(file).length, 'BTF type count as bpftool btf dump counts them');
  t.deepEqual(byName(got.variables).map(({ name, section, offset, size }) => ({ name, section, offset, size })), readelfVariables(file));
  const fns = readelfFunctions(file);
  t.deepEqual(
    [...got.programs, ...got.subprograms].map((p) => p.name).sort(),
    [...fns.keys()].sort(),
    'every function llvm-readelf lists, as program or subprogram',
  );
  for (const p of [...got.programs, ...got.subprograms]) t.deepEqual([p.section, p.instructions], fns.get(p.name), p.name);
  // Types printed from BTF: the C declarations of the fixture.
  const vars = new Map(got.variables.map((v) => [v.name, v]));
  t.is(vars.get('counter')?.type, '__u64');
  t.is(vars.get('threshold')?.type, 'const volatile __u32');
  t.is(vars.get('pair_var')?.type, 'struct pair');
  t.is(vars.get('greeting')?.type, 'const volatile char[6]');
  t.is(vars.get('threshold')?.readOnly, true);
  const maps = new Map(got.maps.map((m) => [m.name, m]));
  t.deepEqual(maps.get('hash_map'), {
    name: 'hash_map',
    type: 'hash',
    keySize: 4,
    valueSize: 16,
    maxEntries: 128,
    flags: 1,
    pinning: 'none',
    source: 'btf',
    keyType: '__u32',
    valueType: 'struct pair',
  });
  t.is(maps.get('pinned_lru')?.pinning, 'by_name');
  t.deepEqual(maps.get('jump_table')?.slots, [{ key: 2, name: 'tail_target' }]);
  t.deepEqual(maps.get('outer')?.slots, [{ key: 0, name: 'inner_a' }, { key: 3, name: 'inner_b' }]);
  t.like(maps.get('outer')?.innerMap, { type: 'array', keySize: 4, valueSize: 8, maxEntries: 8 });
  t.deepEqual(
    got.externs.map((e) => [e.name, e.kind, e.weak]).sort(),
    [
      ['CONFIG_BPF_SYSCALL', 'kconfig', true],
      ['LINUX_KERNEL_VERSION', 'kconfig', false],
      ['bpf_prog_active', 'ksym', false],
    ],
  );
  const xdp = got.programs.find((p) => p.name === 'xdp_first')!;
  t.deepEqual([xdp.type, xdp.attachType, xdp.calls.sort()], ['xdp', 'xdp', ['add_counter', 'count_cb', 'leaf', 'shared']]);

  const human = tsbpf('obj', 'inspect', file);
  t.is(human.status, 0, human.stderr);
  t.regex(human.stdout, /^ {2}license {9}"Dual MIT\/GPL"$/m);
  t.regex(human.stdout, new RegExp(`^ {2}BTF {13}${got.btf!.types} types; \\.BTF\\.ext: ${got.btf!.funcInfo} func_info, ${got.btf!.lineInfo} line_info, ${got.btf!.coreRelocations} CO-RE relocations$`, 'm'));
  for (const p of got.programs)
    t.regex(human.stdout, new RegExp(`^ {2}${p.name} +${p.section.replace(/[?/]/g, '\\$&')} +${p.type} +${p.attachType || '-'} +${p.instructions} +${p.linkedInstructions} `, 'm'), p.name);
  for (const v of got.variables) t.regex(human.stdout, new RegExp(`^ {2}${v.name} +${v.section.replace(/\./g, '\\.')} +${v.offset} +${v.size} `, 'm'), v.name);
  t.regex(human.stdout, /^ {2}hash_map +hash +4 +16 +128 +0x1 \(no_prealloc\) +none +__u32 +struct pair$/m);
  t.regex(human.stdout, /^Externs \(3\)$/m);
});

test('an object without BTF: no types, no variables typed, the BTF line says none', (t) => {
  const file = compileFixture('legacy.bpf.c', { btf: false });
  const got = tsbpfJson<Inspect>('obj', 'inspect', file);
  t.is(got.btf, null);
  t.true(got.maps.length > 0);
  for (const m of got.maps) t.deepEqual([m.source === 'legacy' || m.source === 'data', m.keyType], [true, '']);
  t.not(got.kernelVersion, 0, 'legacy.bpf.c has a version section');
  const version = readelfBytes(file, 'version').readUInt32LE(0);
  t.is(got.kernelVersion, version);
  const human = tsbpf('obj', 'inspect', file);
  t.regex(human.stdout, /^ {2}BTF {13}none$/m);
  t.regex(human.stdout, new RegExp(`^ {2}kernel version  ${version >>> 16}\\.${(version >>> 8) & 0xff}\\.${version & 0xff}$`, 'm'));
});

kernelTest('maps as inspected are the maps the kernel creates from the object (bpftool loadall, then bpftool map show)', (t) => {
  const file = compileFixture('cli.bpf.c');
  const got = tsbpfJson<Inspect>('obj', 'inspect', file);
  const loaded = bpftoolLoadAll(file);
  t.teardown(loaded.remove);
  // The maps the loaded programs use, by id (other tests load maps of their own meanwhile).
  const ids = new Set<number>();
  for (const prog of ['count', 'pass']) for (const id of bpftoolJson<{ map_ids: number[] }>('prog', 'show', 'pinned', `${loaded.progs}/${prog}`).map_ids) ids.add(id);
  type Shown = { name: string; type: string; bytes_key: number; bytes_value: number; max_entries: number; flags: number };
  const shown = [...ids].map((id) => bpftoolJson<Shown>('map', 'show', 'id', String(id)));
  const ours = got.maps.filter((m) => m.source === 'btf');
  t.deepEqual(ours.map((m) => m.name).sort(), ['per_cpu', 'records', 'small']);
  for (const m of ours) {
    const k = shown.find((s) => s.name === m.name);
    t.truthy(k, `${m.name} is loaded`);
    t.deepEqual([k?.type, k?.bytes_key, k?.bytes_value, k?.max_entries, k?.flags], [m.type, m.keySize, m.valueSize, m.maxEntries, m.flags], m.name);
  }
});
