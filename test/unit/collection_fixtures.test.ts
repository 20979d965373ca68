// Our own BPF C sources (test/fixtures/bpf), compiled by clang-14 when the tests run, parsed
// into CollectionSpecs and checked against the C source (what each map and variable must be)
// and against independent readers of the same object: llvm-readelf for symbols and section
// bytes, bpftool for every BTF type, and the compiler's own sizeof/_Alignof stored in .rodata.
import test from 'ava';
import { BpfError, Btf, loadCollectionSpec, sectionProgramType, type CollectionSpec } from '../../src/index.js';
import { AttachType, MapType, ProgramType } from '../../src/generated/uapi.js';
import { bpftoolShape, withoutDatasecLayout } from '../helpers/btf_json.js';
import { bpftoolBtf, compileFixture, compileSource, readelfBytes, readelfSections, readelfSymbols } from '../helpers/tools.js';

const BPF_F_NO_PREALLOC = 1;
const BPF_F_RDONLY_PROG = 1 << 7;
const BPF_F_SLEEPABLE = 1 << 4;

let obj = '';
let spec: CollectionSpec;

test.before(() => {
  obj = compileFixture('collection.bpf.c');
  spec = loadCollectionSpec(obj);
});

test('programs and subprograms are the function symbols of code sections (llvm-readelf)', (t) => {
  const sections = readelfSections(obj);
  const funcs = readelfSymbols(obj).filter((s) => s.type === 'FUNC');
  const code = new Set(sections.filter((s) => s?.flags.includes('X')).map((s) => s.name));
  const progs = funcs.filter((s) => code.has(s.section) && s.section !== '.text');
  const subs = funcs.filter((s) => s.section === '.text');
  t.deepEqual(Object.keys(spec.programs).sort(), progs.map((s) => s.name).sort());
  t.deepEqual(Object.keys(spec.subprograms).sort(), subs.map((s) => s.name).sort());
  t.true(progs.length >= 8 && subs.length >= 4);
  for (const s of [...progs, ...subs]) {
    const p = spec.programs[s.name] ?? spec.subprograms[s.name]!;
    t.is(p.sectionName, s.section, s.name);
    t.is(p.functions[0]!.count * 8, s.size, `${s.name}: size`);
    t.is(p.binding, s.bind.toLowerCase() as 'global', `${s.name}: binding`);
  }
  // Two programs share a section, and both link the subprograms they call.
  t.is(spec.programs.xdp_first!.sectionName, spec.programs.xdp_second!.sectionName);
});

test('each function\'s instructions are the section bytes at its symbol; relocated ones get pseudo sources', (t) => {
  const syms = readelfSymbols(obj);
  const bytesOf = new Map<string, Buffer>();
  for (const p of [...Object.values(spec.programs), ...Object.values(spec.subprograms)]) {
    const sym = syms.find((s) => s.name === p.name && s.type === 'FUNC')!;
    if (!bytesOf.has(p.sectionName)) bytesOf.set(p.sectionName, readelfBytes(obj, p.sectionName));
    const section = bytesOf.get(p.sectionName)!;
    const own = Buffer.from(p.instructions).subarray(0, p.functions[0]!.count * 8);
    const raw = section.subarray(sym.value, sym.value + sym.size);
    const relocated = new Map(p.relocations.filter((r) => r.instruction < p.functions[0]!.count).map((r) => [r.instruction, r]));
    for (let i = 0; i < p.functions[0]!.count; i++) {
      const a = own.subarray(i * 8, i * 8 + 8);
      const b = raw.subarray(i * 8, i * 8 + 8);
      const r = relocated.get(i);
      if (!r && relocated.has(i - 1) && own[(i - 1) * 8] === 0x18) continue; // second half of a relocated 64-bit load
      if (!r) {
        t.deepEqual(a, b, `${p.name}: instruction ${i}`);
        continue;
      }
      t.is(a[0], b[0], `${p.name}: instruction ${i} keeps its opcode`);
      t.is(a[1]! & 0xf, b[1]! & 0xf, `${p.name}: instruction ${i} keeps its destination`);
      const src = a[1]! >> 4;
      const imm2 = a[0] === 0x18 ? own.readInt32LE(i * 8 + 12) : 0;
      switch (r.kind) {
        case 'map':
          t.is(src, 1, `${p.name}:${i} BPF_PSEUDO_MAP_FD`);
          break;
        case 'mapValue':
        case 'kconfig':
          t.is(src, 2, `${p.name}:${i} BPF_PSEUDO_MAP_VALUE`);
          t.is(imm2, r.offset, `${p.name}:${i} offset in the second half`);
          break;
        case 'funcAddr':
          t.is(src, 4, `${p.name}:${i} BPF_PSEUDO_FUNC`);
          break;
        case 'call':
          t.is(src, 1, `${p.name}:${i} BPF_PSEUDO_CALL`);
          break;
        default:
          break;
      }
    }
  }
});

test('every BTF type agrees with bpftool (DATASEC layouts aside: tsbpf fills them in)', (t) => {
  const want = bpftoolBtf(obj);
  const btf = spec.types!;
  t.is(btf.length, want.length);
  for (const w of want) t.deepEqual(withoutDatasecLayout(bpftoolShape(btf.type(w.id as number))), withoutDatasecLayout(w), `type ${String(w.id)}`);
  // The fix-ups: each data DATASEC has its section's size, its variables their symbols' offsets.
  const sections = readelfSections(obj);
  const syms = readelfSymbols(obj);
  for (const name of ['.data', '.rodata', '.bss', '.data.custom', '.rodata.layout']) {
    const ds = btf.typeByName(name, 'DATASEC');
    if (ds.kind !== 'DATASEC') continue;
    t.is(ds.size, sections.find((s) => s?.name === name)!.size, `${name} size`);
    for (const v of ds.vars) {
      const sym = syms.find((s) => s.name === btf.type(v.type).name && s.section === name);
      if (sym) t.is(v.offset, sym.value, `${name}: ${sym.name} offset`);
    }
  }
});

test('Btf.bytes(): the object\'s BTF with DATASEC layouts filled in, parseable on its own', (t) => {
  const raw = spec.types!.bytes();
  const again = Btf.parse(raw);
  t.is(again.length, spec.types!.length);
  const ds = again.typeByName('.data', 'DATASEC');
  t.is(ds.kind === 'DATASEC' && ds.size, spec.maps['.data']!.valueSize);
  for (const ty of again) t.deepEqual(ty, spec.types!.type(ty.id));
});

test('BTF sizes and alignments agree with what clang computed (sizeof/_Alignof stored in .rodata.layout)', (t) => {
  const btf = spec.types!;
  const stored = (name: string) => spec.variables[name]!.value.readUInt32LE(0);
  const cases: Array<[string, number]> = [
    ['packed', btf.typeByName('packed_s', 'STRUCT').id],
    ['aligned', btf.typeByName('aligned_s', 'STRUCT').id],
    ['bits', btf.typeByName('bits', 'STRUCT').id],
    ['mixed', btf.typeByName('mixed', 'UNION').id],
  ];
  for (const [name, id] of cases) {
    t.is(btf.sizeof(id), stored(`size_${name}`), `sizeof ${name}`);
    // BTF records no aligned(N) attribute: like libbpf, tsbpf infers the natural alignment
    // (8 for aligned_s, where clang says 16), so that case only checks the size.
    if (name !== 'aligned') t.is(btf.alignof(id), stored(`align_${name}`), `alignof ${name}`);
  }
  t.is(btf.alignof(cases[1]![1]), 8);
  const arr = spec.variables.pair_arr!;
  t.is(btf.sizeof(arr.typeId), stored('size_pair_arr'), 'sizeof through VAR -> ARRAY -> TYPEDEF');
  t.is(btf.alignof(arr.typeId), stored('align_pair_arr'));
  t.is(btf.typeName(btf.resolve(btf.typeByName('pair_t').id)), 'struct pair');
});

test('maps: what the C source declares', (t) => {
  const m = spec.maps;
  const btf = spec.types!;
  const got = (name: string) => {
    const x = m[name]!;
    return [x.source, x.type, x.keySize, x.valueSize, x.maxEntries, x.flags, x.pinning];
  };
  t.deepEqual(got('hash_map'), ['btf', MapType.Hash, 4, 16, 128, BPF_F_NO_PREALLOC, 0]);
  t.deepEqual(got('sized_array'), ['btf', MapType.Array, 4, 16, 4, 0, 0]);
  t.deepEqual(got('pinned_lru'), ['btf', MapType.LruPercpuHash, 8, 4, 32, 0, 1]);
  t.deepEqual(got('events'), ['btf', MapType.Ringbuf, 0, 0, 4096, 0, 0]);
  t.deepEqual(got('perf'), ['btf', MapType.PerfEventArray, 4, 4, 0, 0, 0]);
  t.deepEqual(got('jump_table'), ['btf', MapType.ProgArray, 4, 4, 4, 0, 0]);
  t.deepEqual(got('outer'), ['btf', MapType.HashOfMaps, 4, 4, 4, 0, 0]);
  t.deepEqual(got('.data'), ['data', MapType.Array, 4, 32, 1, 0, 0]);
  t.deepEqual(got('.rodata'), ['data', MapType.Array, 4, 4, 1, BPF_F_RDONLY_PROG, 0]);
  t.deepEqual(got('.rodata.msg'), ['data', MapType.Array, 4, 6, 1, BPF_F_RDONLY_PROG, 0]);
  t.deepEqual(got('.data.custom'), ['data', MapType.Array, 4, 5, 1, 0, 0]);
  t.deepEqual(got('.bss'), ['data', MapType.Array, 4, 120, 1, 0, 0]);
  t.is(btf.typeName(m.hash_map!.keyTypeId), '__u32');
  t.is(btf.typeName(m.hash_map!.valueTypeId), 'struct pair');
  t.is(btf.typeName(m.events!.valueTypeId), 'struct event', 'a ring buffer keeps its declared value type');
  t.is(m.sized_array!.keyTypeId, 0);
  t.deepEqual(m.jump_table!.contents, [{ key: 2, value: 'tail_target' }]);
  t.deepEqual(m.outer!.contents, [{ key: 0, value: 'inner_a' }, { key: 3, value: 'inner_b' }]);
  const inner = m.outer!.innerMap!;
  t.deepEqual([inner.name, inner.type, inner.keySize, inner.valueSize, inner.maxEntries], ['outer_inner', MapType.Array, 4, 8, 8]);
  t.is(m.outer_inner, undefined, 'the template is not a map of its own');
  t.is(btf.type(m['.data']!.valueTypeId).kind, 'DATASEC');
  t.deepEqual(Buffer.from(m['.data.custom']!.contents[0]!.value as Uint8Array), Buffer.from([1, 2, 3, 4, 5]));
  t.deepEqual(Buffer.from(m['.bss']!.contents[0]!.value as Uint8Array), Buffer.alloc(120), '.bss starts zeroed');
});

test('variables: global and weak symbols of data sections; static and hidden ones stay private', (t) => {
  const v = spec.variables;
  t.is(v.static_var, undefined);
  t.is(v.hidden_var, undefined);
  t.truthy(v.weak_var);
  t.is(v.counter!.value.readBigUInt64LE(0), 7n);
  t.is(v.threshold!.value.readUInt32LE(0), 100);
  t.true(v.threshold!.readOnly);
  t.is(v.greeting!.value.toString('latin1'), 'hello\0');
  t.deepEqual([v.pair_var!.mapName, v.pair_var!.size], ['.data', 16]);
  t.is(v.pair_var!.value.readUInt32LE(0), 1);
  t.is(v.pair_var!.value.readBigUInt64LE(8), 2n);
  t.is(spec.types!.typeName((spec.types!.type(v.pair_var!.typeId) as { type: number }).type), 'struct pair');
  v.threshold!.set(5);
  t.is(Buffer.from(spec.maps['.rodata']!.contents[0]!.value as Uint8Array).readUInt32LE(0), 5, 'set() writes the map contents');
});

test('relocations: maps, global data, kconfig, ksym, calls and callbacks', (t) => {
  const caller = spec.programs.tail_caller!;
  t.deepEqual(
    caller.relocations.map((r) => [r.kind, 'map' in r ? r.map : 'extern' in r ? r.extern : r.function]),
    [['map', 'jump_table'], ['kconfig', 'CONFIG_BPF_SYSCALL'], ['kconfig', 'LINUX_KERNEL_VERSION']],
  );
  t.deepEqual(spec.externs.LINUX_KERNEL_VERSION, { name: 'LINUX_KERNEL_VERSION', kind: 'kconfig', weak: false, btfId: spec.externs.LINUX_KERNEL_VERSION!.btfId, offset: 0, size: 4 });
  t.true(spec.externs.CONFIG_BPF_SYSCALL!.weak);
  t.is(spec.externs.bpf_prog_active!.kind, 'ksym');
  t.true(spec.kconfigSize >= 5);
  const first = spec.programs.xdp_first!;
  t.deepEqual(first.functions.map((f) => f.name), ['xdp_first', 'count_cb', 'shared', 'leaf', 'add_counter']);
  t.true(first.relocations.some((r) => r.kind === 'funcAddr' && r.function === 'count_cb'));
  t.true(first.relocations.some((r) => r.kind === 'mapValue' && r.map === '.rodata' && r.offset === 0));
  // hidden_var is not a variable, but code still reaches it through .data.
  const hiddenOffset = spec.types!.typeByName('.data', 'DATASEC');
  t.truthy(hiddenOffset);
  t.true(first.relocations.some((r) => r.kind === 'mapValue' && r.map === '.data' && r.offset === 24));
  // The shared subprograms are linked into both xdp programs.
  t.deepEqual(spec.programs.xdp_second!.functions.map((f) => f.name), ['xdp_second', 'shared', 'leaf', 'add_counter']);
  t.deepEqual(spec.subprograms.shared!.functions.map((f) => f.name), ['shared', 'leaf', 'add_counter']);
});

test('program types, attach types and targets come from the section names', (t) => {
  const p = spec.programs;
  const got = (n: string) => [p[n]!.type, p[n]!.attachType, p[n]!.attachTo, p[n]!.sectionMatch, p[n]!.autoload];
  t.deepEqual(got('xdp_first'), [ProgramType.Xdp, AttachType.Xdp, '', 'libbpf', true]);
  t.deepEqual(got('tail_caller'), [ProgramType.SchedCls, 0, '', 'libbpf', true]);
  t.deepEqual(got('outer_user'), [ProgramType.SocketFilter, 0, '', 'prefix', true]);
  t.deepEqual(got('core_reads'), [ProgramType.Kprobe, 0, 'do_nanosleep', 'libbpf', true]);
  t.deepEqual(got('optional_tp'), [ProgramType.Tracepoint, 0, 'syscalls/sys_enter_openat', 'libbpf', false]);
  t.deepEqual(got('btf_attached'), [ProgramType.Tracing, AttachType.TraceFentry, 'do_unlinkat', 'libbpf', true]);
  t.true(p.btf_attached!.attachBtf);
  t.is(p.xdp_first!.license, 'Dual MIT/GPL');
});

test('CO-RE relocations: kinds, local types and access strings', (t) => {
  const relos = spec.programs.core_reads!.coreRelocations;
  t.deepEqual(relos.map((r) => [r.kind, spec.types!.typeName(r.typeId), r.accessString]), [
    ['field_exists', 'struct task_struct___local', '0:1'],
    ['field_byte_offset', 'struct task_struct___local', '0:0'],
  ]);
  const insns = Buffer.from(spec.programs.core_reads!.instructions);
  for (const r of relos) t.true(r.instruction * 8 < insns.length);
  t.is(spec.extInfoCounts.coreRelocations, 2);
});

test('func_info and line_info are the kernel layout of the linked stream', (t) => {
  const p = spec.programs.xdp_first!;
  const fi = Buffer.from(p.funcInfo);
  t.is(fi.length, p.functions.length * 8);
  for (let i = 0; i < p.functions.length; i++) {
    t.is(fi.readUInt32LE(i * 8), p.functions[i]!.offset);
    const fn = spec.types!.type(fi.readUInt32LE(i * 8 + 4));
    t.deepEqual([fn.kind, fn.name], ['FUNC', p.functions[i]!.name]);
  }
  const li = Buffer.from(p.lineInfo);
  let prev = -1;
  for (let i = 0; i < li.length; i += 16) {
    const insn = li.readUInt32LE(i);
    t.true(insn > prev, 'line_info sorted by instruction');
    prev = insn;
    t.regex(spec.types!.string(li.readUInt32LE(i + 4)), /collection\.bpf\.c$/);
    // Line 0 marks code the compiler made up; every other record carries its source text.
    t.is(spec.types!.string(li.readUInt32LE(i + 8)).length > 0, li.readUInt32LE(i + 12) >> 10 > 0);
  }
  t.is(spec.types!.string(li.readUInt32LE(8)), 'int xdp_first(struct xdp_md *ctx)');
});

test('legacy maps: struct bpf_map_def and iproute2 bpf_elf_map, with and without BTF; version section', (t) => {
  for (const btf of [true, false]) {
    const s = loadCollectionSpec(compileFixture('legacy.bpf.c', { btf }));
    t.deepEqual(
      Object.values(s.maps).map((m) => [m.name, m.source, m.type, m.keySize, m.valueSize, m.maxEntries, m.flags]),
      [
        ['counts', 'legacy', MapType.Array, 4, 8, 16, 0],
        ['tc_map', 'legacy', MapType.Hash, 8, 4, 64, BPF_F_NO_PREALLOC],
      ],
    );
    t.is(s.maps.counts!.extra, undefined);
    // id, pinning (2: PIN_GLOBAL_NS), inner_id, inner_idx
    t.deepEqual([...new Uint32Array(new Uint8Array(s.maps.tc_map!.extra!).buffer)], [0, 2, 0, 0]);
    t.is(s.kernelVersion, 0x060100);
    t.is(s.license, 'GPL');
    t.is(s.types === undefined, !btf);
    t.deepEqual(s.programs.cls!.relocations.map((r) => r.kind === 'map' && r.map), ['counts', 'tc_map']);
    t.is(s.programs.cls!.type, ProgramType.SchedCls);
    t.is(s.programs.cls!.funcInfo.length, btf ? 8 : 0);
  }
});

// Sources the parser must refuse, with the reason it must give. Each is compiled by clang,
// so they are real objects, not hand-made bytes.
const HEADER = '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n';
const REFUSED: Array<[string, string, RegExp, string]> = [
  [
    'static BTF map used by code',
    `static struct { __uint(type, BPF_MAP_TYPE_ARRAY); __type(key, __u32); __type(value, __u32); __uint(max_entries, 1); } m SEC(".maps");
     SEC("socket") int p(void *c) { __u32 k = 0; return bpf_map_lookup_elem(&m, &k) != 0; }`,
    /function p: instruction \d+ \(offset \d+\): possible erroneous static qualifier on map definition: found reference to m/,
    'EINVAL',
  ],
  [
    'unknown field in a BTF map definition',
    `struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __uint(flavour, 3); } m SEC(".maps");`,
    /map m: field 'flavour' .*unrecognized field/,
    'EINVAL',
  ],
  [
    'both key and key_size',
    `struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, __u64); __uint(key_size, 8); __uint(max_entries, 1); } m SEC(".maps");`,
    /map m: field 'key_size' .*both key and key_size are given/,
    'EINVAL',
  ],
  [
    'a key that is not a pointer',
    `struct { __uint(type, BPF_MAP_TYPE_HASH); int key; __type(value, __u32); __uint(max_entries, 1); } m SEC(".maps");`,
    /map m: field 'key' .*not a pointer \(expected __type\(\)\)/,
    'EINVAL',
  ],
  [
    'map-in-map values in a plain array',
    `struct inner { __uint(type, BPF_MAP_TYPE_ARRAY); __type(key, __u32); __type(value, __u32); __uint(max_entries, 1); };
     struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __array(values, struct inner); } m SEC(".maps");`,
    /an array of maps needs an outer map of type array or hash of maps/,
    'EINVAL',
  ],
  [
    'a BTF map with a static initialiser',
    `struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); } m SEC(".maps") = { .max_entries = (void *)1 };`,
    /map m has a non-zero byte at offset \d+ of its definition/,
    'ENOTSUPP',
  ],
  [
    'a legacy map definition shorter than struct bpf_map_def',
    `struct short_def { unsigned int type, key_size, value_size; } m SEC("maps") = { 1, 4, 4 };`,
    /section maps: map m: its 12-byte definition lacks the max entries/,
    'EINVAL',
  ],
];

for (const [title, source, reason, code] of REFUSED) {
  test(`refused: ${title}`, (t) => {
    const path = compileSource(title.replace(/\W+/g, '_'), HEADER + source);
    const e = t.throws(() => loadCollectionSpec(path), { instanceOf: BpfError });
    t.regex(e?.reason ?? '', reason);
    t.is(e?.code, code);
    t.true(e?.message.startsWith(`loadCollectionSpec: ${path}: `));
  });
}

test('sectionProgramType: libbpf conventions, cilium prefixes, flags and attach targets', (t) => {
  const table: Array<[string, number, number, string, string, number?]> = [
    ['socket', ProgramType.SocketFilter, 0, 'libbpf', ''],
    ['socket/2', ProgramType.SocketFilter, 0, 'prefix', ''],
    ['sk_lookup/', ProgramType.SkLookup, AttachType.SkLookup, 'prefix', ''],
    ['sk_lookup', ProgramType.SkLookup, AttachType.SkLookup, 'libbpf', ''],
    ['xdp', ProgramType.Xdp, AttachType.Xdp, 'libbpf', ''],
    ['xdp.frags', ProgramType.Xdp, AttachType.Xdp, 'libbpf', '', 1 << 5],
    ['xdp/devmap', ProgramType.Xdp, AttachType.XdpDevmap, 'libbpf', ''],
    ['kprobe/do_sys_open', ProgramType.Kprobe, 0, 'libbpf', 'do_sys_open'],
    ['kretprobe/x', ProgramType.Kprobe, 0, 'libbpf', 'x'],
    ['uprobe/bin:func', ProgramType.Kprobe, 0, 'libbpf', 'bin:func'],
    ['uprobe.s/bin:func', ProgramType.Kprobe, 0, 'libbpf', 'bin:func', BPF_F_SLEEPABLE],
    ['kprobe.multi/tcp_*', ProgramType.Kprobe, AttachType.TraceKprobeMulti, 'libbpf', 'tcp_*'],
    ['tracepoint/syscalls/sys_enter_openat', ProgramType.Tracepoint, 0, 'libbpf', 'syscalls/sys_enter_openat'],
    ['tp/a/b', ProgramType.Tracepoint, 0, 'libbpf', 'a/b'],
    ['raw_tp/sys_enter', ProgramType.RawTracepoint, 0, 'libbpf', 'sys_enter'],
    ['raw_tracepoint.w/x', ProgramType.RawTracepointWritable, 0, 'libbpf', 'x'],
    ['tp_btf/task_newtask', ProgramType.Tracing, AttachType.TraceRawTp, 'libbpf', 'task_newtask'],
    ['fentry/do_unlinkat', ProgramType.Tracing, AttachType.TraceFentry, 'libbpf', 'do_unlinkat'],
    ['fexit/x', ProgramType.Tracing, AttachType.TraceFexit, 'libbpf', 'x'],
    ['fentry.s/x', ProgramType.Tracing, AttachType.TraceFentry, 'libbpf', 'x', BPF_F_SLEEPABLE],
    ['fmod_ret/x', ProgramType.Tracing, AttachType.ModifyReturn, 'libbpf', 'x'],
    ['freplace/subprog', ProgramType.Ext, 0, 'libbpf', 'subprog'],
    ['lsm/file_open', ProgramType.Lsm, AttachType.LsmMac, 'libbpf', 'file_open'],
    ['iter/task', ProgramType.Tracing, AttachType.TraceIter, 'libbpf', 'task'],
    ['syscall', ProgramType.Syscall, 0, 'libbpf', '', BPF_F_SLEEPABLE],
    ['struct_ops/test_1', ProgramType.StructOps, 0, 'libbpf', ''],
    ['struct_ops.s/x', ProgramType.StructOps, 0, 'libbpf', '', BPF_F_SLEEPABLE],
    ['tc', ProgramType.SchedCls, 0, 'libbpf', ''],
    ['classifier', ProgramType.SchedCls, 0, 'libbpf', ''],
    ['tcx/ingress', ProgramType.SchedCls, AttachType.TcxIngress, 'libbpf', ''],
    ['tc/egress', ProgramType.SchedCls, AttachType.TcxEgress, 'libbpf', ''],
    ['action', ProgramType.SchedAct, 0, 'libbpf', ''],
    ['cgroup_skb/egress', ProgramType.CgroupSkb, AttachType.CgroupInetEgress, 'libbpf', ''],
    ['cgroup/skb', ProgramType.CgroupSkb, 0, 'libbpf', ''],
    ['cgroup/connect4', ProgramType.CgroupSockAddr, AttachType.CgroupInet4Connect, 'libbpf', ''],
    ['cgroup/sock', ProgramType.CgroupSock, AttachType.CgroupInetSockCreate, 'libbpf', ''],
    ['cgroup/sock_release', ProgramType.CgroupSock, AttachType.CgroupInetSockRelease, 'libbpf', ''],
    ['cgroup/dev', ProgramType.CgroupDevice, AttachType.CgroupDevice, 'libbpf', ''],
    ['cgroup/getsockopt', ProgramType.CgroupSockopt, AttachType.CgroupGetsockopt, 'libbpf', ''],
    ['sockops', ProgramType.SockOps, AttachType.CgroupSockOps, 'libbpf', ''],
    ['sk_skb/stream_verdict', ProgramType.SkSkb, AttachType.SkSkbStreamVerdict, 'libbpf', ''],
    ['sk_msg', ProgramType.SkMsg, AttachType.SkMsgVerdict, 'libbpf', ''],
    ['sk_reuseport/migrate', ProgramType.SkReuseport, AttachType.SkReuseportSelectOrMigrate, 'libbpf', ''],
    ['flow_dissector', ProgramType.FlowDissector, AttachType.FlowDissector, 'libbpf', ''],
    ['perf_event', ProgramType.PerfEvent, 0, 'libbpf', ''],
    ['lwt_xmit', ProgramType.LwtXmit, 0, 'libbpf', ''],
    ['netfilter', ProgramType.Netfilter, AttachType.Netfilter, 'libbpf', ''],
    ['usdt/bin:prov:name', ProgramType.Kprobe, 0, 'libbpf', 'bin:prov:name'],
    ['?xdp', ProgramType.Xdp, AttachType.Xdp, 'libbpf', ''],
    ['xdpfoo', ProgramType.Xdp, AttachType.Xdp, 'prefix', ''],
    ['kprobefoo', 0, 0, 'unknown', ''],
    ['.text', 0, 0, 'unknown', ''],
    ['static', 0, 0, 'unknown', ''],
    ['', 0, 0, 'unknown', ''],
  ];
  for (const [name, type, attach, match, to, flags] of table) {
    const r = sectionProgramType(name);
    t.deepEqual([r.type, r.attachType, r.match, r.attachTo, r.flags], [type, attach, match, to, flags ?? 0], name);
  }
  t.false(sectionProgramType('?xdp').autoload);
  t.true(sectionProgramType('lsm.s/x').attachBtf);
  t.false(sectionProgramType('kprobe/x').attachBtf);
});

test('a large object: 3000 variables, 300 maps, 200 programs sharing subprograms', (t) => {
  const lines = [HEADER];
  for (let i = 0; i < 3000; i++) lines.push(`__u32 var${i} = ${i + 1};`);
  for (let i = 0; i < 300; i++)
    lines.push(`struct { __uint(type, BPF_MAP_TYPE_ARRAY); __type(key, __u32); __type(value, __u64); __uint(max_entries, ${i + 1}); } map${i} SEC(".maps");`);
  lines.push('__attribute__((noinline)) int sub(int x) { return x + var0; }');
  lines.push('__attribute__((noinline)) int sub2(int x) { return sub(x) * 2; }');
  for (let i = 0; i < 200; i++)
    lines.push(`SEC("socket") int prog${i}(void *c) { __u32 k = 0; return sub2(var${i * 7}) + (bpf_map_lookup_elem(&map${i}, &k) != 0); }`);
  const path = compileSource('large', lines.join('\n'));
  const t0 = process.hrtime.bigint();
  const s = loadCollectionSpec(path);
  t.log(`parsed in ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1)} ms`);
  t.is(Object.keys(s.variables).length, 3000);
  t.is(Object.keys(s.maps).filter((m) => m.startsWith('map')).length, 300);
  t.is(Object.keys(s.programs).length, 200);
  t.is(s.variables.var2999!.value.readUInt32LE(0), 3000);
  t.is(s.maps.map299!.maxEntries, 300);
  const p = s.programs.prog150!;
  t.deepEqual(p.functions.map((f) => f.name), ['prog150', 'sub2', 'sub']);
  t.true(p.relocations.some((r) => r.kind === 'map' && r.map === 'map150'));
  t.true(p.relocations.some((r) => r.kind === 'mapValue' && r.map === '.data' && r.offset === s.variables.var1050!.offset));
});
