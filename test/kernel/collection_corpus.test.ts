// Every object of the shared corpus (cilium/ebpf's test data, driven by its manifest.json)
// through Collection.load on the real kernel. Each object has a verdict below, with the
// reason: it loads (and its programs return what the origin's tests expect), it needs
// CO-RE or extern resolution (issue 7: refused with a NotSupportedError naming what), this
// kernel lacks what it needs (the load may only fail with that errno), the library refuses
// it by design, or it does not even parse. An object the table does not know must load.
import type { ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  BpfError,
  Collection,
  CoreRelocationError,
  MapFlags,
  MapType,
  NotSupportedError,
  UpdateFlags,
  VerifierError,
  loadCollectionSpec,
  type CollectionOptions,
  type CollectionSpec,
} from '../../src/index.js';
import { corpusDir, corpusFile, manifest, type ManifestEntry } from '../helpers/corpus.js';
import { kernelTest, openFdCount } from '../helpers/kernel.js';

type T = ExecutionContext<unknown>;

interface Loads {
  kind: 'loads';
  why?: string;
  /** Options beyond a temporary pin path. */
  options?: (spec: CollectionSpec) => CollectionOptions;
  /** Changes to the spec before loading (variables). */
  before?: (spec: CollectionSpec) => void;
  /** What the origin's tests check, on the loaded collection. */
  check?: (t: T, coll: Collection, spec: CollectionSpec, pinDir: string) => void;
}
interface KernelLacks {
  kind: 'kernel';
  why: string;
  /** If the load fails, only with this code. */
  code: string;
  options?: (spec: CollectionSpec) => CollectionOptions;
  /** Options of a load that avoids what the kernel lacks and must work. */
  rest?: (spec: CollectionSpec) => CollectionOptions;
  /** What the origin's tests check, on that load. */
  restCheck?: (t: T, coll: Collection) => void;
}
interface Refused {
  kind: 'refused';
  why: string;
  /** Options of the refused load (default: none). */
  options?: (spec: CollectionSpec) => CollectionOptions;
  error: RegExp;
  type: new (...args: never[]) => BpfError;
  /** More refusals to check. */
  check?: (t: T, spec: CollectionSpec) => void;
  rest?: (spec: CollectionSpec) => CollectionOptions;
  restCheck?: (t: T, coll: Collection) => void;
}
interface ParseFails {
  kind: 'parse';
  error: RegExp;
}
type Verdict = Loads | KernelLacks | Refused | ParseFails;

const ZERO64 = Buffer.alloc(64);
const run = (coll: Collection, name: string, input: Uint8Array = ZERO64) => coll.programs[name]!.test(input).retval;
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const allBut = (...skip: string[]) => (spec: CollectionSpec): CollectionOptions => ({
  programs: Object.keys(spec.programs).filter((n) => spec.programs[n]!.type && !skip.includes(n)),
  maps: Object.keys(spec.maps),
});
const only = (...programs: string[]) => (): CollectionOptions => ({ programs });
const mapsOnly = (spec: CollectionSpec): CollectionOptions => ({ maps: Object.keys(spec.maps) });

function checkLoader(t: T, coll: Collection, spec: CollectionSpec, pinDir: string): void {
  t.is(run(coll, 'xdp_prog'), 7, 'xdp_prog returns 7');
  t.is(run(coll, 'data_sections'), 0, 'data_sections returns 0 (else the failing line)');
  for (const n of ['no_relocation', 'anon_const']) t.is(typeof run(coll, n), 'number');
  if (spec.types) {
    t.true(existsSync(join(pinDir, 'btf_pin')), 'btf_pin is pinned by name');
    const info = JSON.parse(execFileSync('bpftool', ['prog', 'show', 'id', String(coll.programs.xdp_prog!.id), '--json'], { encoding: 'utf8' })) as { btf_id?: number };
    t.true((info.btf_id ?? 0) > 0, 'xdp_prog carries the object BTF');
    // func_info of xdp_prog and the functions it calls (TestProgInfoExtBTF): bpftool prints each by name.
    const xlated = execFileSync('bpftool', ['prog', 'dump', 'xlated', 'id', String(coll.programs.xdp_prog!.id)], { encoding: 'utf8' });
    for (const f of ['xdp_prog', 'static_fn', 'global_fn2', 'global_fn3']) t.regex(xlated, new RegExp(`\\b${f}\\(`), `func_info names ${f}`);
  }
  const vars = coll.variables;
  t.is(vars.arg!.get().readUInt32LE(0), spec.variables.arg!.value.readUInt32LE(0));
  t.true(vars.key3!.readOnly, '.rodata variables are read-only once loaded');
  t.true(coll.maps['.rodata']!.info().frozen);
}

const VERDICTS: Record<string, Verdict> = {
  'btf/testdata/relocs-el.elf': {
    kind: 'refused',
    why: 'TestCORERelocation: err_ambiguous and err_ambiguous_flavour are ambiguous against the object\'s own BTF; the rest load (TestCORERelocationLoad)',
    options: (spec) => ({ kernelTypes: spec.types!.bytes() }),
    error: /program err_ambiguous: .*ambiguous relocation: candidates \[32\] struct ambiguous and \[35\] struct ambiguous___flavour/,
    type: CoreRelocationError,
    rest: (spec) => ({ kernelTypes: spec.types!.bytes(), programs: ['type_ids', 'types', 'enums', 'fields'] }),
    restCheck: (t, coll) => {
      for (const n of ['type_ids', 'types', 'enums', 'fields']) t.is(run(coll, n), 0, `${n} returns 0 (else its failing line)`);
    },
  },
  'btf/testdata/relocs_enum-el.elf': {
    kind: 'loads', why: 'TestLD64IMMReloc: CO-RE enum values in ld_imm64, against vmlinux',
    check: (t, coll) => t.is(run(coll, 'core_ld64imm'), 0),
  },
  'btf/testdata/relocs_read-el.elf': {
    kind: 'loads', why: 'TestCORERelocationRead: against relocs_read_tgt-el.elf',
    options: () => ({ kernelTypes: corpusPath('btf/testdata/relocs_read_tgt-el.elf') }),
    check: (t, coll) => t.is(run(coll, 'reads'), 0, 'reads returns 0 (else its failing line)'),
  },
  'btf/testdata/relocs_read_tgt-el.elf': { kind: 'loads', why: 'BTF source only: its .bss map' },
  'btf/testdata/tags-el.elf': {
    kind: 'refused', why: 'prog calls fwdDecl, which no object defines', error: /program "prog" needs fwdDecl/, type: NotSupportedError, rest: mapsOnly,
  },
  'cmd/bpf2go/test/test_bpfel.o': {
    kind: 'loads',
    check: (t, coll) => {
      t.is(run(coll, 'filter'), 1, 'my_constant (FROOD) + struct_const.bar');
      t.is(coll.variables.my_constant!.get().readUInt32LE(0), 1);
    },
  },
  'cmd/bpf2go/testdata/minimal-el.elf': { kind: 'loads', check: (t, coll) => t.is(run(coll, 'filter'), 1) },
  'docs/examples/getting_started/counter_bpfel.o': {
    kind: 'loads',
    check: (t, coll) => {
      t.is(run(coll, 'count_packets'), 2, 'XDP_PASS');
      t.is(coll.maps.pkt_count!.lookup(u32(0))!.readBigUInt64LE(0), 1n, 'pkt_count[0] incremented');
      t.is(run(coll, 'count_packets'), 2);
      t.is(coll.maps.pkt_count!.lookup(u32(0))!.readBigUInt64LE(0), 2n);
    },
  },
  'docs/examples/variables/variables_bpfel.o': { kind: 'loads' },
  'examples/cgroup_skb/bpf_bpfel.o': { kind: 'loads' },
  'examples/fentry/bpf_bpfel.o': { kind: 'kernel', why: 'fentry loads fail with EPERM here', code: 'EPERM', rest: mapsOnly },
  'examples/kprobe/bpf_bpfel.o': { kind: 'loads', why: 'kprobes load (attaching them is what this kernel lacks)' },
  'examples/kprobe_percpu/bpf_bpfel.o': { kind: 'loads' },
  'examples/kprobepin/bpf_bpfel.o': { kind: 'loads' },
  'examples/ringbuffer/bpf_bpfel.o': { kind: 'loads' },
  'examples/sched_ext/bpf_bpfel.o': {
    kind: 'refused', why: 'struct_ops maps are not supported (and this kernel has no sched_ext)', error: /map "minimal_sched": struct_ops maps are not supported/, type: NotSupportedError,
  },
  'examples/tcprtt/bpf_bpfel.o': { kind: 'kernel', why: 'fentry loads fail with EPERM here (its CO-RE relocations apply)', code: 'EPERM', rest: mapsOnly },
  'examples/tcprtt_sockops/bpf_bpfel.o': { kind: 'loads', why: '21 CO-RE relocations against vmlinux' },
  'examples/tcx/bpf_bpfel.o': { kind: 'loads' },
  'examples/tracepoint_in_c/bpf_bpfel.o': { kind: 'loads' },
  'examples/uretprobe/bpf_x86_bpfel.o': { kind: 'loads' },
  'examples/xdp/bpf_bpfel.o': { kind: 'loads' },
  'examples/xdp_live_frame/bpf_bpfel.o': { kind: 'loads' },
  'testdata/arena-el.elf': {
    kind: 'loads',
    check: (t, coll) => {
      const i = coll.maps.arena!.info();
      t.is(i.type, MapType.Arena);
      t.is(i.maxEntries, 100);
      t.is(i.flags & MapFlags.Mmapable, MapFlags.Mmapable);
      t.is(i.mapExtra, 1n << 44n);
    },
  },
  'testdata/btf_map_init-el.elf': {
    kind: 'loads',
    check: (t, coll) => {
      t.is(run(coll, 'tail_1'), 42);
      t.is(run(coll, 'tail_main'), 42, 'the tail call through prog_array_init slot 1 reaches tail_1');
      t.is(coll.maps.prog_array_init!.lookup(u32(1))!.readUInt32LE(0), coll.programs.tail_1!.id, 'slot 1 holds tail_1');
      t.is(coll.maps.prog_array_init!.lookup(u32(0)), undefined, 'slot 0 stays empty');
      t.is(coll.maps.outer_map_init!.lookup(u32(1))!.readUInt32LE(0), coll.maps.inner_map!.info().id, 'slot 1 holds inner_map');
    },
  },
  'testdata/constants-el.elf': {
    kind: 'loads',
    why: 'once ret is set to 1: sk_lookup programs return 0 or 1, which the verifier checks against the frozen .rodata',
    before: (spec) => spec.variables.ret!.set(1),
    check: (t, coll) => t.true(coll.maps['.rodata']!.info().frozen),
  },
  'testdata/errors-el.elf': {
    kind: 'refused',
    why: 'TestCOREPoisonLineInfo: against an empty kernel BTF every relocation is poisoned, and the error says where',
    options: () => ({ kernelTypes: EMPTY_BTF }),
    error: /program "poisoned_single": the verifier rejected it at .*instruction poisoned by CO-RE: field_byte_offset of \[4\] struct nonexist\.non_exist/,
    type: VerifierError,
    check: (t, spec) => {
      for (const [name, want] of [
        ['poisoned_double', /instruction poisoned by CO-RE: enumval_value of \[7\] enum nonexist_enum::NON_EXIST/],
        ['poisoned_kfunc', /invalid func unknown#2002000000/],
      ] as const) {
        const e = t.throws(() => Collection.load(spec, { kernelTypes: EMPTY_BTF, programs: [name] }), { instanceOf: VerifierError }) as VerifierError;
        t.regex(e.message, want, name);
        if (name === 'poisoned_double') t.true(e.log.some((l) => l.startsWith('; instruction poisoned by CO-RE')), 'the log shows the poison note');
      }
    },
  },
  'testdata/fentry_fexit-el.elf': {
    kind: 'kernel', why: 'fentry/fexit loads fail with EPERM here; the tc program loads', code: 'EPERM', rest: only('target'),
  },
  'testdata/freplace-el.elf': {
    kind: 'refused', why: 'an extension program needs its target program', error: /program "replacement" is an extension/, type: NotSupportedError,
    rest: only('sched_process_exec'),
  },
  'testdata/fwd_decl-el.elf': { kind: 'refused', why: 'call_fwd calls fwd, which no object defines', error: /program "call_fwd" needs fwd/, type: NotSupportedError },
  'testdata/invalid-kfunc-el.elf': {
    kind: 'kernel', why: 'TestInvalidKfunc: its kfunc lives in bpf_testmod, which this kernel lacks: refused naming it', code: 'ENOENT',
  },
  'testdata/invalid_btf_map_init-el.elf': { kind: 'parse', error: /static initialisers of BTF map definitions are not supported/ },
  'testdata/invalid_map-el.elf': { kind: 'refused', why: 'a legacy definition with a non-zero sixth word', error: /map "invalid_map": byte 20/, type: BpfError },
  'testdata/invalid_map_static-el.elf': { kind: 'parse', error: /static qualifier on map definition/ },
  'testdata/iproute2_map_compat-el.elf': {
    kind: 'loads', why: "iproute2's PIN_GLOBAL_NS: pinned by name under the pin path",
    check: (t, _coll, _spec, pinDir) => t.true(existsSync(join(pinDir, 'hash_map'))),
  },
  'testdata/kconfig-el.elf': {
    kind: 'loads', why: 'TestKconfig: the .kconfig map from uname, the kernel config and kallsyms',
    check: (t, coll) => {
      t.is(run(coll, 'kconfig'), 0, 'kconfig returns 0 (else its failing line)');
      t.true(coll.maps['.kconfig']!.info().frozen);
    },
  },
  'testdata/kfunc-el.elf': {
    kind: 'kernel', why: 'TestKfunc: call_kfunc returns 1; benchmark is an fentry program, which fails with EPERM here', code: 'EPERM',
    rest: only('call_kfunc', 'weak_kfunc_missing', 'call_weak_kfunc'),
    restCheck: (t, coll) => t.is(run(coll, 'call_kfunc'), 1, 'bpf_skb_ct_lookup and bpf_ct_release, called by BTF id'),
  },
  'testdata/kfunc-kmod-el.elf': { kind: 'kernel', why: 'TestKfuncKmod: needs bpf_testmod, which this kernel lacks', code: 'ENOENT' },
  'testdata/ksym-el.elf': {
    kind: 'kernel',
    why: 'TestKsym: typed ksyms of data need CONFIG_KALLSYMS_ALL, which this kernel lacks; missing strong ksyms are refused; the rest load',
    code: 'ENOENT',
    rest: only('ksym_test', 'missing_weak_ksym_test', 'missing_weak_typed_ksym_test'),
    restCheck: (t, coll) => {
      t.is(run(coll, 'ksym_test'), 0);
      const kallsyms = readFileSync('/proc/kallsyms', 'utf8');
      const addr = (sym: string): bigint => BigInt(`0x${new RegExp(`^([0-9a-f]+) \\w ${sym}$`, 'm').exec(kallsyms)![1]}`);
      const bss = coll.variables;
      t.is(bss.out__bpf_init_addr!.get().readBigUInt64LE(0), addr('bpf_init'), 'bpf_init');
      t.is(bss.out__bpf_trace_run1_addr!.get().readBigUInt64LE(0), addr('bpf_trace_run1'), 'bpf_trace_run1');
      t.is(run(coll, 'missing_weak_ksym_test'), 0, 'a missing weak ksym reads 0');
      t.is(run(coll, 'missing_weak_typed_ksym_test'), 0);
    },
  },
  'testdata/linked-el.elf': {
    kind: 'loads',
    check: (t, coll) => {
      for (const n of Object.keys(coll.programs)) t.is(run(coll, n), 0, `${n} returns 0 (an overridden weak definition returns its line)`);
      for (const [n, m] of Object.entries(coll.maps)) t.is(m.maxEntries, 1, `${n}: max entries 1`);
    },
  },
  'testdata/linked1-el.elf': {
    kind: 'refused', why: 'a linker input: entry_l2 calls l2, defined in linked2', error: /program "entry_l2" needs l2/, type: NotSupportedError,
    rest: allBut('entry_l2'),
  },
  'testdata/linked2-el.elf': {
    kind: 'refused', why: 'a linker input: entry_l1 calls l1, defined in linked1', error: /program "entry_l1" needs l1/, type: NotSupportedError,
    rest: allBut('entry_l1'),
  },
  'testdata/loader-clang-14-el.elf': { kind: 'loads', why: 'all but asm_relocation (undefined MY_CONST)', options: allBut('asm_relocation'), check: checkLoader },
  'testdata/loader-clang-17-el.elf': { kind: 'loads', options: allBut('asm_relocation'), check: checkLoader },
  'testdata/loader-clang-22-el.elf': { kind: 'loads', options: allBut('asm_relocation'), check: checkLoader },
  'testdata/loader_nobtf-el.elf': { kind: 'loads', options: allBut('asm_relocation'), check: checkLoader },
  'testdata/manyprogs-el.elf': { kind: 'loads', why: '30 kprobes with 90 CO-RE relocations against vmlinux, sharing a legacy map' },
  'testdata/map_spin_lock-el.elf': {
    kind: 'loads',
    check: (t, coll) => {
      // BPF_F_LOCK needs the value's BTF (with its bpf_spin_lock) given at creation.
      const m = coll.maps.spin_lock_map!;
      m.update(u32(1), Buffer.from([5, 0, 0, 0, 0, 0, 0, 0]), UpdateFlags.Lock);
      t.is(m.lookup(u32(1))!.readInt32LE(0), 5);
    },
  },
  'testdata/raw_tracepoint-el.elf': { kind: 'loads' },
  'testdata/strings-el.elf': {
    kind: 'loads',
    check: (t, coll) => {
      const key = Buffer.alloc(48);
      key.write('This string is allocated in the string section\n');
      t.is(run(coll, 'filter', Buffer.alloc(15)), 2);
      t.is(coll.maps.my_map!.lookup(key)!.readUInt32LE(0), 1, 'my_map gets the string as its key');
      const str = coll.maps['.rodata.str1.1']!.info();
      t.is(str.flags & MapFlags.RdonlyProg, MapFlags.RdonlyProg);
      t.true(str.frozen);
    },
  },
  'testdata/struct_ops-el.elf': {
    kind: 'refused', why: 'struct_ops (and bpf_testmod, which this kernel lacks)', error: /map "testmod_ops": struct_ops maps are not supported/, type: NotSupportedError,
  },
  'testdata/subprog_reloc-el.elf': { kind: 'loads', check: (t, coll) => t.is(run(coll, 'fp_relocation'), 42, 'bpf_for_each_map_elem with a callback') },
  'testdata/variables-el.elf': {
    kind: 'loads',
    before: (spec) => {
      spec.variables.var_rodata!.set(12345);
      spec.variables.var_data!.set(4242424242);
      const s = Buffer.alloc(16);
      s.writeBigUInt64LE(0xan, 0);
      s.writeBigUInt64LE(0xbn, 8);
      spec.variables.var_struct!.set(s);
      const pad = Buffer.alloc(32);
      pad.writeUInt32LE(0xa, 0);
      pad.writeBigUInt64LE(0xbn, 8);
      pad.writeUInt16LE(0xc, 16);
      pad[18] = 0xd;
      pad.writeBigUInt64LE(0xen, 24);
      spec.variables.var_struct_pad!.set(pad);
      const arr = Buffer.alloc(8192);
      arr[8191] = 0xff;
      spec.variables.var_array!.set(arr);
    },
    check: (t, coll) => {
      t.false('hidden' in coll.variables, 'hidden variables stay private');
      t.true('weak' in coll.variables);
      t.is(run(coll, 'get_bss'), 0);
      coll.variables.var_bss!.set(4242424242); // through the map's memory, after load
      t.is(run(coll, 'get_bss'), 4242424242, 'the program sees a variable set after load');
      t.is(run(coll, 'get_data'), 4242424242, 'set before load');
      t.is(run(coll, 'get_rodata'), 12345);
      t.throws(() => coll.variables.var_rodata!.set(1), { message: /frozen once loaded/ });
      t.throws(() => coll.maps['.rodata']!.update(u32(0), Buffer.alloc(4)), { code: 'EPERM' } as never);
      t.is(run(coll, 'check_struct'), 1);
      t.is(run(coll, 'check_struct_pad'), 1);
      t.is(run(coll, 'check_array'), 1, 'the last byte of an 8 KiB variable');
      const atomic = coll.variables.var_atomic!;
      const live = atomic.memory!;
      t.is(run(coll, 'add_atomic'), 0);
      t.is(run(coll, 'add_atomic'), 0);
      t.is(atomic.get().readUInt32LE(0), 2, 'add_atomic ran twice');
      t.is(live.readUInt32LE(0), 2, 'the live view saw it');
      t.is(run(coll, 'set_vars'), 0);
      t.is(coll.variables.weak!.get().readUInt32LE(0), 0xbeef2);
    },
  },
};

let pinSeq = 0;
function pinDir(): string {
  const dir = `/sys/fs/bpf/tsbpf-test-${process.pid}-corpus-${pinSeq++}`;
  mkdirSync(dir, { recursive: true });
  return dir;
}

function loadWith(t: T, spec: CollectionSpec, options: CollectionOptions): { coll: Collection; dir: string } {
  const dir = pinDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return { coll: Collection.load(spec, { pinPath: dir, ...options }), dir };
}

/** What every loaded collection shows, whatever the object. */
function generalChecks(t: T, entry: ManifestEntry, coll: Collection): void {
  for (const m of entry.maps) {
    const map = coll.maps[m.name];
    if (!map) continue;
    t.is(map.info().type, MapType[m.type.replace(/(^|_)(\w)/g, (_, _u, c: string) => c.toUpperCase()) as keyof typeof MapType],
      `${entry.file}: map ${m.name} is a ${m.type}`);
  }
  for (const [name, prog] of Object.entries(coll.programs)) {
    const info = prog.info();
    t.is(info.name, name.slice(0, 15).replace(/[^A-Za-z0-9_.]/g, '_'), `${name}: the kernel's name`);
    if (entry.btf_ext?.func_info) t.true((info.btfId ?? 0) > 0, `${name}: loaded with the object's BTF`);
  }
}

/** The load that avoids what fails must work, and do what the origin's tests check. */
function checkRest(t: T, spec: CollectionSpec, options: CollectionOptions, check?: (t: T, coll: Collection) => void): void {
  const { coll } = loadWith(t, spec, options);
  try {
    check?.(t, coll);
  } finally {
    coll.close();
  }
}

/** A BTF blob with no types: what cilium/ebpf's TestCOREPoisonLineInfo relocates against. */
const EMPTY_BTF = (() => {
  const b = Buffer.alloc(25);
  b.writeUInt16LE(0xeb9f, 0); // magic
  b[2] = 1; // version
  b.writeUInt32LE(24, 4); // header length
  b.writeUInt32LE(1, 20); // string section: the empty string
  return b;
})();

const corpusPath = (file: string): string => `${corpusDir()}/cilium-ebpf/${file}`;

for (const entry of manifest()) {
  const verdict: Verdict = VERDICTS[entry.file.replace(/^cilium-ebpf\//, '')] ?? { kind: 'loads', why: 'not in the table: must load' };
  const title = `corpus ${entry.file.replace(/^cilium-ebpf\//, '')}: ${verdict.kind}`;
  kernelTest(title, (t) => {
    if (verdict.kind === 'parse') {
      t.throws(() => loadCollectionSpec(corpusFile(entry)), { instanceOf: BpfError, message: verdict.error });
      return;
    }
    const spec = loadCollectionSpec(corpusFile(entry));
    const fds = openFdCount();
    switch (verdict.kind) {
      case 'loads': {
        verdict.before?.(spec);
        const { coll, dir } = loadWith(t, spec, verdict.options?.(spec) ?? {});
        try {
          generalChecks(t, entry, coll);
          verdict.check?.(t, coll, spec, dir);
          if (!verdict.options) {
            const want = entry.programs.filter((p) => p.type !== 'unspec').map((p) => p.name).sort();
            t.deepEqual(Object.keys(coll.programs).sort(), want, 'every program with a type loads');
          }
        } finally {
          coll.close();
        }
        break;
      }
      case 'kernel': {
        let coll: Collection | undefined;
        try {
          coll = loadWith(t, spec, verdict.options?.(spec) ?? {}).coll;
          // A kernel that has the feature: the load must then be whole.
          generalChecks(t, entry, coll);
          t.pass(`loads on this kernel after all (${verdict.why})`);
        } catch (e) {
          t.true(e instanceof BpfError && e.code === verdict.code, `fails only with ${verdict.code}: ${String(e)}`);
          t.regex((e as BpfError).message, /program "\w+"/, 'the error names the program');
        } finally {
          coll?.close();
        }
        if (verdict.rest) checkRest(t, spec, verdict.rest(spec), verdict.restCheck);
        break;
      }
      case 'refused': {
        const e = t.throws(() => loadWith(t, spec, verdict.options?.(spec) ?? {}), { instanceOf: verdict.type });
        t.regex(e!.message, verdict.error);
        verdict.check?.(t, spec);
        if (verdict.rest) checkRest(t, spec, verdict.rest(spec), verdict.restCheck);
        break;
      }
    }
    t.is(openFdCount(), fds, 'no fd left behind');
  });
}

kernelTest('corpus: the table covers every manifest entry, and every entry of the table is in the manifest', (t) => {
  const files = new Set(manifest().map((e) => e.file.replace(/^cilium-ebpf\//, '')));
  t.deepEqual(Object.keys(VERDICTS).filter((f) => !files.has(f)), []);
  t.deepEqual([...files].filter((f) => !(f in VERDICTS)), []);
});

kernelTest('corpus: constants-el.elf without setting ret is rejected at the C source line that returns it', (t) => {
  const spec = loadCollectionSpec(corpusFile(manifest().find((e) => e.file.endsWith('constants-el.elf'))!));
  const e = t.throws(() => Collection.load(spec), { instanceOf: VerifierError }) as VerifierError;
  t.regex(e.message, /program "freeze_rodata": the verifier rejected it at constants\.c:15 \(return ret;\)/);
  t.regex(e.message, /should have been in \[0, 1\]/);
});
