// Collection.load on the real kernel with our own BPF C sources (test/fixtures/bpf, built by
// clang-14 when the tests run): maps of several types, global variables set before load and
// read after a run, subprograms, a tail call through a program array, a map of maps, a
// verifier error pointing at its C source line, pins, replacements, subsets, and fd leaks.
// bpftool is the independent witness of what the kernel got.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import {
  BpfError,
  BpfMap,
  Btf,
  Collection,
  LogLevel,
  MapFlags,
  MapType,
  NotSupportedError,
  ProgramType,
  VerifierError,
  codec,
  loadCollectionSpec,
  possibleCpus,
  type CollectionSpec,
} from '../../src/index.js';
import { setExternResolver } from '../../src/collection.js';
import { openHandleCount } from '../../src/fd.js';
import { corpusDir } from '../helpers/corpus.js';
import { kernelTest, openFdCount } from '../helpers/kernel.js';
import { FIXTURES, compileFixture, compileSource } from '../helpers/tools.js';

const PACKET = Buffer.alloc(64); // a socket filter sees skb->len = 64 - 14 (Ethernet header)
const SKB_LEN = 50;
const XDP_PASS = 2;

let loadObj: string | undefined;
function loadSpec(): CollectionSpec {
  loadObj ??= compileFixture('load.bpf.c');
  return loadCollectionSpec(loadObj);
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

function bpftool<T>(...args: string[]): T {
  return JSON.parse(execFileSync('bpftool', [...args, '--json'], { encoding: 'utf8' })) as T;
}

let pinSeq = 0;
function pinDir(): string {
  const dir = `/sys/fs/bpf/tsbpf-test-${process.pid}-coll-${pinSeq++}`;
  mkdirSync(dir, { recursive: true });
  return dir;
}

kernelTest('maps of several types are created as the object declares them, typed by its BTF', (t) => {
  const spec = loadSpec();
  using coll = Collection.load(spec);
  const want: Record<string, [MapType, number, number, number, number]> = {
    stats_by_len: [MapType.Hash, 4, 16, 16, 0],
    counters: [MapType.Array, 4, 8, 4, 0],
    per_cpu: [MapType.PercpuArray, 4, 8, 1, 0],
    recent: [MapType.LruHash, 8, 4, 8, 0],
    routes: [MapType.LpmTrie, 8, 4, 8, MapFlags.NoPrealloc],
    lengths: [MapType.Queue, 0, 4, 4, 0],
    events: [MapType.Ringbuf, 0, 0, 4096, 0],
    legacy_array: [MapType.Array, 4, 4, 2, 0],
    jump_table: [MapType.ProgArray, 4, 4, 2, 0],
    outer: [MapType.ArrayOfMaps, 4, 4, 2, 0],
    inner_a: [MapType.Array, 4, 4, 1, 0],
    '.data': [MapType.Array, 4, spec.maps['.data']!.valueSize, 1, MapFlags.Mmapable],
    '.rodata': [MapType.Array, 4, spec.maps['.rodata']!.valueSize, 1, MapFlags.RdonlyProg | MapFlags.Mmapable],
    '.bss': [MapType.Array, 4, spec.maps['.bss']!.valueSize, 1, MapFlags.Mmapable],
    '.data.custom': [MapType.Array, 4, 4, 1, MapFlags.Mmapable],
  };
  for (const [name, [type, key, value, max, flags]] of Object.entries(want)) {
    const i = coll.maps[name]!.info();
    t.deepEqual([i.type, i.keySize, i.valueSize, i.maxEntries, i.flags], [type, key, value, max, flags], name);
    t.is(i.name, name);
  }
  t.deepEqual(Object.keys(coll.maps).sort(), Object.keys(spec.maps).sort(), 'every map of the object');
  // bpftool reads the BTF ids the kernel got: typed maps, untyped ones.
  const show = (name: string) => bpftool<{ btf_id?: number }>('map', 'show', 'id', String(coll.maps[name]!.info().id));
  for (const name of ['stats_by_len', 'counters', 'recent', '.data', '.rodata']) t.true((show(name).btf_id ?? 0) > 0, `${name} is typed`);
  for (const name of ['events', 'jump_table', 'outer', 'lengths', 'legacy_array']) t.falsy(show(name).btf_id, `${name} is not`);
  t.is(coll.maps.stats_by_len!.info().btfKeyTypeId, spec.maps.stats_by_len!.keyTypeId);
  t.is(coll.maps.stats_by_len!.info().btfValueTypeId, spec.maps.stats_by_len!.valueTypeId);
});

kernelTest('bpftool dumps a BTF-defined map with typed values, and the program carries the BTF and line info', (t) => {
  using coll = Collection.load(loadSpec());
  coll.programs.count!.test(PACKET);
  const dump = bpftool<Array<{ formatted: { key: number; value: { packets: number; last_len: number; flags: number } } }>>(
    'map', 'dump', 'id', String(coll.maps.stats_by_len!.info().id));
  t.deepEqual(dump.map((e) => e.formatted), [{ key: SKB_LEN, value: { packets: 1, last_len: SKB_LEN, flags: 10 } }]);
  const data = bpftool<Array<{ formatted: { value: Record<string, Array<Record<string, unknown>>> } }>>(
    'map', 'dump', 'id', String(coll.maps['.data']!.info().id));
  t.deepEqual(data[0]!.formatted.value['.data']!.map((v) => Object.keys(v)[0]).sort(), ['data_counter', 'pair']);
  const prog = bpftool<{ btf_id?: number }>('prog', 'show', 'id', String(coll.programs.count!.id));
  t.true((prog.btf_id ?? 0) > 0, 'btf_id set');
  t.is(prog.btf_id, coll.programs.count!.info().btfId);
  const linum = execFileSync('bpftool', ['prog', 'dump', 'xlated', 'id', String(coll.programs.count!.id), 'linum'], { encoding: 'utf8' });
  const source = readFileSync(join(FIXTURES, 'load.bpf.c'), 'utf8').split('\n');
  const line = source.findIndex((l) => l.includes('data_counter++;')) + 1;
  t.regex(linum, new RegExp(`; data_counter\\+\\+; \\[file:\\S*load\\.bpf\\.c line_num:${line} `), 'line_info maps instructions to the source');
  t.regex(linum, /^int count\(struct __sk_buff \* skb\):/m, 'func_info names the program');
  t.regex(linum, /^int global_add\(int a, int b\):/m, 'and its global subprogram');
});

kernelTest('global variables: set before load, read and written after a run', (t) => {
  const spec = loadSpec();
  spec.variables.threshold!.set(4);
  spec.variables.multiplier!.set(5);
  spec.variables.data_counter!.set(100);
  using coll = Collection.load(spec);
  const v = coll.variables;
  t.deepEqual(Object.keys(v).sort(), ['bss_hits', 'custom_value', 'data_counter', 'multiplier', 'pair', 'threshold']);
  // count: len > threshold, so it returns global_add(scale(len), 1) = len * multiplier + 1.
  t.is(coll.programs.count!.test(PACKET).retval, SKB_LEN * 5 + 1, 'the subprograms see .rodata as set before load');
  t.is(v.data_counter!.get().readUInt32LE(0), 101);
  t.is(v.bss_hits!.get().readBigUInt64LE(0), 1n);
  t.is(v.custom_value!.get().readUInt32LE(0), 0xabce, 'a custom data section');
  t.deepEqual([...v.pair!.get()], [1, 0, 0, 0, 2, 0, 0, 0]);
  // Writable variables go through the map's memory; the program sees the write.
  v.data_counter!.set(7);
  t.is(v.data_counter!.memory!.readUInt32LE(0), 7);
  coll.programs.count!.test(PACKET);
  t.is(v.data_counter!.get().readUInt32LE(0), 8);
  t.is(coll.maps['.data']!.lookup(u32(0))!.readUInt32LE(0), 8, 'the map agrees');
  // .rodata is read-only for user space once loaded.
  t.true(v.threshold!.readOnly);
  t.is(v.threshold!.memory, undefined);
  t.is(v.threshold!.get().readUInt32LE(0), 4);
  t.throws(() => v.threshold!.set(9), { instanceOf: BpfError, message: /frozen once loaded/ });
  t.true(coll.maps['.rodata']!.info().frozen);
  // Sizes are checked as the spec's are.
  t.throws(() => v.bss_hits!.set(Buffer.alloc(4)), { message: /bss_hits is 8 bytes, got 4/ });
  t.throws(() => v.data_counter!.set(2 ** 32), { message: /does not fit in the 4 bytes/ });
  // The spec is untouched by the load.
  t.is(spec.variables.data_counter!.value.readUInt32LE(0), 100);
});

kernelTest('variables of a replaced data map read and write the map given', (t) => {
  const spec = loadSpec();
  const replacement = BpfMap.create({ type: MapType.Array, keySize: 4, valueSize: spec.maps['.bss']!.valueSize, maxEntries: 1, flags: MapFlags.Mmapable });
  using coll = Collection.load(spec, { mapReplacements: { '.bss': replacement } });
  replacement.close();
  coll.variables.bss_hits!.set(41n);
  coll.programs.count!.test(PACKET);
  t.is(coll.variables.bss_hits!.get().readBigUInt64LE(0), 42n);
});

kernelTest('a tail call through a program array filled from the object', (t) => {
  using coll = Collection.load(loadSpec());
  t.is(coll.programs.tail_entry!.test(PACKET).retval, 42, 'slot 1 holds tail_target');
  t.is(coll.maps.jump_table!.lookup(u32(1))!.readUInt32LE(0), coll.programs.tail_target!.id);
  coll.maps.jump_table!.delete(u32(1));
  t.is(coll.programs.tail_entry!.test(PACKET).retval, 1, 'an empty slot: the tail call misses');
});

kernelTest('a map of maps filled from the object: lookups go to the inner map of the slot', (t) => {
  using coll = Collection.load(loadSpec());
  t.is(coll.maps.outer!.lookup(u32(0))!.readUInt32LE(0), coll.maps.inner_a!.info().id);
  t.is(coll.programs.inner_lookup!.test(PACKET).retval, 0);
  coll.maps.inner_a!.update(u32(0), u32(77));
  t.is(coll.programs.inner_lookup!.test(PACKET).retval, 77);
  coll.maps.inner_b!.update(u32(0), u32(88));
  coll.maps.outer!.update(u32(0), coll.maps.inner_b!);
  t.is(coll.programs.inner_lookup!.test(PACKET).retval, 88, 'another inner map of the template');
});

kernelTest('XDP with a legacy map, a per-CPU array, an LRU hash, an LPM trie and a queue', (t) => {
  const spec = loadSpec();
  using coll = Collection.load(spec);
  t.is(coll.programs.xdp_pass!.test(PACKET).retval, XDP_PASS);
  t.is(coll.maps.legacy_array!.lookup(u32(1))!.readUInt32LE(0), 1);
  const perCpu = coll.maps.per_cpu!.lookup(u32(0)) as unknown as Buffer[];
  t.is(perCpu.length, possibleCpus());
  t.is(perCpu.reduce((sum, v) => sum + v.readBigUInt64LE(0), 0n), 1n, 'one run on one CPU');
  const key = Buffer.alloc(8);
  key.writeBigUInt64LE(3n);
  t.is(coll.maps.recent!.lookup(key)!.readUInt32LE(0), 1, 'keyed by the multiplier (3)');
  coll.maps.routes!.update(Buffer.from([8, 0, 0, 0, 127, 0, 0, 0]), u32(1));
  t.is(coll.programs.xdp_pass!.test(PACKET).retval, 1 /* XDP_DROP */, 'the route 127/8 matches 127.0.0.1');
  coll.programs.count!.test(PACKET);
  t.is(coll.maps.lengths!.pop()!.readUInt32LE(0), SKB_LEN, 'count pushed the length on the queue');
});

kernelTest('a verifier error names the program and the C source line, and leaves nothing behind', (t) => {
  const obj = compileFixture('verifier_error.bpf.c');
  const source = readFileSync(join(FIXTURES, 'verifier_error.bpf.c'), 'utf8').split('\n');
  const line = source.findIndex((l) => l.includes('REJECTED HERE')) + 1;
  const fds = openFdCount();
  const handles = openHandleCount();
  const e = t.throws(() => Collection.load(loadCollectionSpec(obj)), { instanceOf: VerifierError }) as VerifierError;
  t.regex(e.message, new RegExp(`^BPF_PROG_LOAD: program "no_null_check": the verifier rejected it at verifier_error\\.bpf\\.c:${line} \\(return \\*v;`));
  t.regex(e.message, /R0 invalid mem access 'map_value_or_null'/);
  t.is(e.code, 'EACCES');
  t.true(e.log.some((l) => l === `; return *v; /* REJECTED HERE: the lookup may return NULL */ @ verifier_error.bpf.c:${line}`), 'the log has the source line');
  t.is(openFdCount(), fds, 'the map, the BTF and the program loaded before are closed');
  t.is(openHandleCount(), handles);
  // The rest of the object loads.
  using coll = Collection.load(loadCollectionSpec(obj), { programs: ['fine'] });
  t.is(coll.programs.fine!.test(PACKET).retval, 0);
});

kernelTest('log level: each program keeps the verifier log of its load', (t) => {
  using coll = Collection.load(loadSpec(), { programs: ['count'], logLevel: LogLevel.Branch | LogLevel.Stats });
  t.true(coll.programs.count!.verifierLog.some((l) => /^processed \d+ insns/.test(l)));
  t.true(coll.programs.count!.verifierLog.some((l) => /^Func#\d+ \('global_add'\) is safe for any args/.test(l)), 'func_info made global_add a global function');
  t.throws(() => Collection.load(loadSpec(), { logLevel: 1 << 8 }), { message: /"logLevel" 256 has bits/ });
});

kernelTest('program subsets: the named programs and the maps they use; prog arrays must get their programs', (t) => {
  const spec = loadSpec();
  {
    using coll = Collection.load(spec, { programs: ['inner_lookup'] });
    t.deepEqual(Object.keys(coll.programs), ['inner_lookup']);
    t.deepEqual(Object.keys(coll.maps).sort(), ['inner_a', 'outer'], 'outer, and inner_a which its slot 0 names');
    t.deepEqual(Object.keys(coll.variables), []);
  }
  const e = t.throws(() => Collection.load(spec, { programs: ['tail_entry'] }), { instanceOf: BpfError });
  t.regex(e!.message, /map "jump_table" \(a program array\) holds program "tail_target" in slot 1, which is not being loaded/);
  {
    using coll = Collection.load(spec, { programs: ['tail_entry', 'tail_target'] });
    t.deepEqual(Object.keys(coll.maps), ['jump_table']);
    t.is(coll.programs.tail_entry!.test(PACKET).retval, 42);
  }
  {
    using coll = Collection.load(spec, { maps: ['counters', '.rodata'] });
    t.deepEqual(Object.keys(coll.programs), []);
    t.deepEqual(Object.keys(coll.maps).sort(), ['.rodata', 'counters']);
    t.deepEqual(Object.keys(coll.variables).sort(), ['multiplier', 'threshold']);
  }
  {
    // SEC("?socket") is left out by default, and loads when named.
    using all = Collection.load(spec);
    t.false('optional_prog' in all.programs);
    using coll = Collection.load(spec, { programs: ['optional_prog'] });
    t.is(coll.programs.optional_prog!.test(PACKET).retval, 7);
  }
});

kernelTest('map replacements: a compatible map is used (cloned), an incompatible one refused naming the difference', (t) => {
  const spec = loadSpec();
  using mine = BpfMap.create({ type: MapType.Array, key: codec.u32, value: codec.u64, maxEntries: 4 });
  mine.update(0, 100);
  {
    using coll = Collection.load(spec, { programs: ['count'], mapReplacements: { counters: mine } });
    coll.programs.count!.test(PACKET);
    t.is(mine.lookup(0), 101, 'the program counted in the map given');
    t.not(coll.maps.counters!.fd, mine.fd, 'the collection holds its own fd');
  }
  t.false(mine.closed, 'closing the collection leaves the replacement open');
  using wrong = BpfMap.create({ type: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 5 });
  const e = t.throws(() => Collection.load(spec, { mapReplacements: { counters: wrong } }), { instanceOf: BpfError });
  t.regex(e!.message, /map "counters": the replacement is incompatible: max entries 5 instead of 4/);
  using hash = BpfMap.create({ type: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 4 });
  t.throws(() => Collection.load(spec, { mapReplacements: { counters: hash } }), { message: /type hash instead of array/ });
});

const PINNED = `
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} shared SEC(".maps");
SEC("socket") int bump(struct __sk_buff *skb) {
	__u32 k = 1;
	__u64 one = 1, *v = bpf_map_lookup_elem(&shared, &k);
	if (v) { __sync_fetch_and_add(v, 1); return *v; }
	bpf_map_update_elem(&shared, &k, &one, BPF_ANY);
	return 1;
}
#ifdef BROKEN
SEC("socket") int broken(struct __sk_buff *skb) { __u32 k = 0; __u64 *v = bpf_map_lookup_elem(&shared, &k); return *v; }
#endif
`;

kernelTest('pinning by name: created and pinned, then reused (with its contents); an incompatible pin is refused', (t) => {
  const dir = pinDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const spec = loadCollectionSpec(compileSource('pinned', `#define MAX 8\n${PINNED}`));
  let id: number;
  {
    using coll = Collection.load(spec, { pinPath: dir });
    t.true(existsSync(join(dir, 'shared')));
    id = coll.maps.shared!.info().id;
    t.is(coll.programs.bump!.test(PACKET).retval, 1);
  }
  t.true(existsSync(join(dir, 'shared')), 'the pin outlives the collection');
  {
    using coll = Collection.load(spec, { pinPath: dir });
    t.is(coll.maps.shared!.info().id, id, 'the same map');
    t.is(coll.programs.bump!.test(PACKET).retval, 2, 'with what the first collection put in it');
  }
  const other = loadCollectionSpec(compileSource('pinned16', `#define MAX 16\n${PINNED}`));
  const e = t.throws(() => Collection.load(other, { pinPath: dir }), { instanceOf: BpfError });
  t.regex(e!.message, new RegExp(`map "shared": the map pinned at ${dir}/shared is incompatible: max entries 8 instead of 16`));
  t.throws(() => Collection.load(spec, { pinPath: '/tmp' }), { message: /map "shared"/ }, 'a pin path off bpffs');
});

kernelTest('a failed load removes the pins it made and closes every fd', (t) => {
  const dir = pinDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const spec = loadCollectionSpec(compileSource('pinned_broken', `#define MAX 8\n#define BROKEN\n${PINNED}`));
  const fds = openFdCount();
  t.throws(() => Collection.load(spec, { pinPath: dir }), { instanceOf: VerifierError, message: /program "broken"/ });
  t.false(existsSync(join(dir, 'shared')), 'the pin made by the failed load is gone');
  t.is(openFdCount(), fds);
});

kernelTest.serial('no fd leak: 200 loads and closes, and 20 failed loads', (t) => {
  const spec = loadSpec();
  const verr = loadCollectionSpec(compileFixture('verifier_error.bpf.c'));
  Collection.load(spec).close(); // warm up: probes, kernel BTF
  const fds = openFdCount();
  const handles = openHandleCount();
  for (let i = 0; i < 200; i++) {
    const coll = Collection.load(spec);
    if (i === 0) t.is(openFdCount(), fds + Object.keys(coll.maps).length + Object.keys(coll.programs).length, 'a collection holds one fd per map and program');
    coll.close();
    coll.close();
  }
  for (let i = 0; i < 20; i++) t.throws(() => Collection.load(verr), { instanceOf: VerifierError });
  t.is(openFdCount(), fds, 'every fd is closed');
  t.is(openHandleCount(), handles);
});

kernelTest('close() closes every program and map once; detached ones stay open', (t) => {
  const coll = Collection.load(loadSpec());
  const prog = coll.detachProgram('tail_target');
  const map = coll.detachMap('counters');
  const others = [...Object.values(coll.programs), ...Object.values(coll.maps)];
  coll.close();
  t.true(coll.closed);
  t.true(others.every((h) => h.closed));
  t.false(prog.closed || map.closed);
  t.is(prog.test(PACKET).retval, 42);
  prog.close();
  map.close();
  coll.close();
  t.throws(() => coll.variables.data_counter!.get(), { instanceOf: BpfError });
  t.throws(() => coll.detachProgram('nope'), { message: /no program named "nope"/ });
});

kernelTest('programs attached by BTF: the loader finds iterator and tracepoint targets in the kernel\'s BTF', (t) => {
  const spec = loadCollectionSpec(compileFixture('attach_btf.bpf.c'));
  using coll = Collection.load(spec, { programs: ['dump_task', 'on_switch', 'raw_switch'] });
  const kernel = Btf.kernel();
  t.is(coll.programs.dump_task!.type, ProgramType.Tracing);
  t.is(coll.programs.dump_task!.info().attachBtfId, kernel.typeByName('bpf_iter_task', 'FUNC').id);
  t.is(coll.programs.on_switch!.info().attachBtfId, kernel.typeByName('btf_trace_sched_switch', 'TYPEDEF').id);
  const e = t.throws(() => Collection.load(spec, { programs: ['no_target'] }), { instanceOf: BpfError });
  t.regex(e!.message, /program "no_target": FUNC no_such_kernel_function_tsbpf \(its attach target\) is not in the kernel's BTF/);
});

// The hook for issue 7, exercised with a test resolver: a kconfig-only object loads once
// something provides the values, through a .kconfig map the loader makes.
kernelTest('the extern resolver hook: kconfig values become a frozen, typed .kconfig map', (t) => {
  const spec = loadCollectionSpec(join(corpusDir(), 'cilium-ebpf/testdata/kconfig-el.elf'));
  const previous = setExternResolver((req) => {
    const kconfig = Buffer.alloc(req.spec.kconfigSize);
    const [a, b, c] = release().split(/[.-]/).map(Number) as [number, number, number];
    const put: Record<string, (at: number) => void> = {
      LINUX_KERNEL_VERSION: (at) => kconfig.writeUInt32LE((a << 16) + (b << 8) + Math.min(c, 255), at),
      LINUX_HAS_SYSCALL_WRAPPER: (at) => kconfig.writeUInt8(1, at),
      CONFIG_HZ: (at) => kconfig.writeUInt32LE(250, at),
      CONFIG_BPF_SYSCALL: (at) => kconfig.writeUInt32LE(1 /* TRI_YES */, at),
      CONFIG_DEFAULT_HOSTNAME: (at) => kconfig.write('(', at),
    };
    for (const e of Object.values(req.spec.externs)) put[e.name]!(e.offset);
    return { kconfig };
  });
  t.teardown(() => setExternResolver(previous));
  using coll = Collection.load(spec);
  t.is(coll.programs.kconfig!.test(PACKET).retval, 0, 'every kconfig value seen (else the failing line)');
  const map = coll.maps['.kconfig']!;
  t.true(map.info().frozen);
  t.is(map.info().flags & MapFlags.RdonlyProg, MapFlags.RdonlyProg);
  const dump = bpftool<Array<{ formatted: { value: { '.kconfig': Array<Record<string, unknown>> } } }>>('map', 'dump', 'id', String(map.info().id));
  t.deepEqual(dump[0]!.formatted.value['.kconfig'].map((v) => Object.keys(v)[0]).sort(),
    ['CONFIG_BPF_SYSCALL', 'CONFIG_DEFAULT_HOSTNAME', 'CONFIG_HZ', 'LINUX_HAS_SYSCALL_WRAPPER', 'LINUX_KERNEL_VERSION']);
  // A resolver that leaves the values out is an error naming the program.
  setExternResolver(() => ({}));
  t.throws(() => Collection.load(spec), { message: /program "kconfig" reads __kconfig externs, but the extern resolver gave no values/ });
});

kernelTest('without a resolver, a program with CO-RE relocations fails with a NotSupportedError, not a verifier error', (t) => {
  const previous = setExternResolver(undefined);
  t.teardown(() => setExternResolver(previous));
  const spec = loadCollectionSpec(compileFixture('collection.bpf.c'));
  const withCore = Object.keys(spec.programs).filter((n) => spec.programs[n]!.coreRelocations.length);
  t.true(withCore.length > 0);
  const e = t.throws(() => Collection.load(spec, { programs: [withCore[0]!] }), { instanceOf: NotSupportedError }) as NotSupportedError;
  t.regex(e.message, new RegExp(`program "${withCore[0]}" needs (a|\\d+) CO-RE relocations?`));
  t.is(e.feature.split(', ')[0], 'CO-RE relocations');
});

kernelTest('a map whose BTF key type the kernel refuses for its map type is created without BTF types, as libbpf does', (t) => {
  // An array map's key must be a 32-bit integer in BTF; an enum of the same size is refused.
  const spec = loadCollectionSpec(
    compileSource(
      'enum_key',
      `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
enum color { RED, GREEN };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2); __type(key, enum color); __type(value, __u64); } by_color SEC(".maps");
char LICENSE[] SEC("license") = "MIT";`,
    ),
  );
  using coll = Collection.load(spec);
  const info = coll.maps.by_color!.info();
  t.is(info.keySize, 4);
  t.is(info.btfKeyTypeId, 0);
  coll.maps.by_color!.update(Buffer.from([1, 0, 0, 0]), Buffer.alloc(8, 7));
  t.deepEqual(coll.maps.by_color!.lookup(Buffer.from([1, 0, 0, 0])), Buffer.alloc(8, 7));
});
