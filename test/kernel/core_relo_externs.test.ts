// Externs the kernel defines, resolved by resolveExterns and checked against what the
// kernel reports by other means (uname, the config in /proc/config.gz read by zcat,
// /proc/kallsyms, bpftool's view of vmlinux BTF), then run: the test plays the loader's
// part (Collection.load is not on this branch) by creating the .kconfig and .bss maps and
// writing their fds into the instructions.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import {
  BpfError,
  BpfMap,
  MapType,
  Program,
  VerifierError,
  applyCoRe,
  explainLoadError,
  kernelConfig,
  kernelVersionCode,
  loadCollectionSpec,
  parseKernelConfig,
  resolveExterns,
  type CollectionProgramSpec,
} from '../../src/index.js';
import { corpusDir } from '../helpers/corpus.js';
import { kernelTest } from '../helpers/kernel.js';
import { compileCoreFixture } from '../helpers/vmlinux.js';

const corpus = (f: string): string => `${corpusDir()}/cilium-ebpf/${f}`;

/** The running kernel's config as zcat prints it: the oracle for what resolveExterns read. */
function zcatConfig(): Map<string, string> {
  return parseKernelConfig(execFileSync('zcat', ['/proc/config.gz'], { encoding: 'utf8', maxBuffer: 64 << 20 }));
}

/** Addresses of kernel symbols, from /proc/kallsyms. */
function kallsyms(names: string[]): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const line of readFileSync('/proc/kallsyms', 'utf8').split('\n')) {
    const [addr, , name] = line.split(/\s+/);
    if (name && names.includes(name) && !out.has(name)) out.set(name, BigInt(`0x${addr}`));
  }
  return out;
}

let dump: string | undefined;
/** bpftool's text dump of vmlinux BTF, once per test process. */
function vmlinuxDump(): string {
  dump ??= execFileSync('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux'], { encoding: 'utf8', maxBuffer: 512 << 20 });
  return dump;
}

/** bpftool's id of a named type in vmlinux. */
function bpftoolId(kind: string, name: string): number {
  const out = vmlinuxDump();
  const m = new RegExp(`^\\[(\\d+)\\] ${kind} '${name}'`, 'm').exec(out);
  if (!m) throw new Error(`bpftool has no ${kind} ${name}`);
  return Number(m[1]);
}

/** What the loader does: an array map holding `value`, for a data section or .kconfig. */
function dataMap(value: Uint8Array): BpfMap {
  const m = BpfMap.create({ type: MapType.Array, keySize: 4, valueSize: value.length, maxEntries: 1 });
  m.update(Buffer.alloc(4), value);
  return m;
}

/** A copy of the program's bytecode with the fds of its data maps written into its 64-bit loads. */
function bindMaps(p: CollectionProgramSpec, maps: Record<string, BpfMap>): Buffer {
  const insns = Buffer.from(p.instructions);
  for (const r of p.relocations) {
    const name = r.kind === 'mapValue' ? r.map : r.kind === 'kconfig' ? '.kconfig' : undefined;
    if (name === undefined) continue;
    const m = maps[name];
    if (!m) throw new Error(`no map ${name} for instruction ${r.instruction}`);
    insns.writeInt32LE(m.fd, r.instruction * 8 + 4);
  }
  return insns;
}

function load(p: CollectionProgramSpec, insns: Uint8Array = p.instructions): Program {
  return Program.load({ type: p.type, flags: p.flags, license: p.license || 'GPL', instructions: insns });
}

kernelTest('kconfig-el.elf: the .kconfig map holds this kernel\'s values, and the program returns 0 with it', (t) => {
  const spec = loadCollectionSpec(corpus('testdata/kconfig-el.elf'));
  const r = resolveExterns(spec);
  const cfg = zcatConfig();
  const kv = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim().split(/[.-]/).map(Number);
  const want = Buffer.alloc(spec.kconfigSize);
  want.writeUInt32LE((kv[0]! << 16) + (kv[1]! << 8) + Math.min(kv[2]!, 255), spec.externs.LINUX_KERNEL_VERSION!.offset);
  // x86_64 kernels wrap syscalls: kallsyms has __x64_sys_bpf.
  want[spec.externs.LINUX_HAS_SYSCALL_WRAPPER!.offset] = kallsyms(['__x64_sys_bpf']).size;
  want.writeUInt32LE(Number(cfg.get('CONFIG_HZ')), spec.externs.CONFIG_HZ!.offset);
  want.writeUInt32LE(cfg.get('CONFIG_BPF_SYSCALL') === 'y' ? 1 : 2, spec.externs.CONFIG_BPF_SYSCALL!.offset);
  // char[1] gets the first character of "(none)", cut without a terminating NUL (cilium/ebpf).
  want[spec.externs.CONFIG_DEFAULT_HOSTNAME!.offset] = cfg.get('CONFIG_DEFAULT_HOSTNAME')!.charCodeAt(1);
  t.deepEqual(r.kconfig, want);
  t.is(kernelVersionCode(), want.readUInt32LE(0));
  t.is(kernelConfig().get('CONFIG_HZ'), cfg.get('CONFIG_HZ'));
  const m = dataMap(r.kconfig!);
  try {
    const prog = load(r.spec.programs.kconfig!, bindMaps(r.spec.programs.kconfig!, { '.kconfig': m }));
    t.is(prog.test(Buffer.alloc(64)).retval, 0, 'a non-zero return is the failing line of kconfig.c');
    prog.close();
  } finally {
    m.close();
  }
});

kernelTest('externs.bpf.c: every kconfig type libbpf allows, kfuncs by BTF id, a missing weak kfunc guarded and unguarded', (t) => {
  const spec = applyCoRe(loadCollectionSpec(compileCoreFixture('externs.bpf.c')));
  const r = resolveExterns(spec);
  const cfg = zcatConfig();
  t.deepEqual(r.values.bpf_task_from_pid, { kind: 'kfunc', name: 'bpf_task_from_pid', btfId: bpftoolId('FUNC', 'bpf_task_from_pid') });
  t.deepEqual(r.values.bpf_task_release, { kind: 'kfunc', name: 'bpf_task_release', btfId: bpftoolId('FUNC', 'bpf_task_release') });
  t.deepEqual(r.values.bpf_tsbpf_no_such_kfunc, { kind: 'kfunc', name: 'bpf_tsbpf_no_such_kfunc', missing: true });
  t.deepEqual(r.values.CONFIG_TSBPF_NOT_SET, { kind: 'kconfig', name: 'CONFIG_TSBPF_NOT_SET', missing: true });
  t.deepEqual(r.modules, [], 'everything is in vmlinux');
  t.false(r.spec.programs.externs!.relocations.some((x) => x.kind === 'kfunc'), 'kfunc relocations are done');
  const m = dataMap(r.kconfig!);
  try {
    const p = r.spec.programs.externs!;
    const prog = load(p, bindMaps(p, { '.kconfig': m }));
    const out = prog.run({ context: Buffer.alloc(112) }).context!;
    prog.close();
    const i64 = (i: number) => Number(out.readBigInt64LE(i * 8));
    t.is(i64(0), kernelVersionCode(release()));
    t.is(i64(1), 1, 'LINUX_HAS_SYSCALL_WRAPPER');
    t.true(i64(2) === 0 || i64(2) === 1, 'LINUX_HAS_BPF_COOKIE');
    t.is(i64(3), cfg.get('CONFIG_BPF_SYSCALL') === 'y' ? 1 : 0);
    t.is(i64(4), ({ y: 1, m: 2, n: 0 } as Record<string, number>)[cfg.get('CONFIG_BPF_JIT') ?? 'n']!);
    t.is(i64(5), cfg.get('CONFIG_X86_64')!.charCodeAt(0), 'a char extern gets the letter');
    t.is(i64(6), Number(cfg.get('CONFIG_HZ')));
    t.is(i64(7), Number(cfg.get('CONFIG_NR_CPUS')));
    t.deepEqual([i64(8), i64(9)], [0, 0], 'weak externs the config lacks read 0');
    t.is(out.subarray(80, 96).toString('latin1').replace(/\0+$/, ''), JSON.parse(cfg.get('CONFIG_DEFAULT_HOSTNAME')!));
    t.is(out.subarray(96, 100).toString('latin1'), JSON.parse(cfg.get('CONFIG_LOCALVERSION')!).slice(0, 4));
    t.is(out.readUInt32LE(100), process.pid, 'bpf_task_from_pid(our pid)->tgid');
    t.is(out.readUInt32LE(104), 77, 'the missing weak kfunc is dead code');
  } finally {
    m.close();
  }
  // Unguarded, the poisoned call is reached: the error names the kfunc.
  const e = t.throws(() => load(r.spec.programs.call_missing!), { instanceOf: VerifierError });
  t.regex((explainLoadError(r.spec.programs.call_missing!, e) as Error).message, /program call_missing: it calls kfunc bpf_tsbpf_no_such_kfunc, which this kernel does not have/);
});

kernelTest('.kconfig encoding follows libbpf\'s rules for each type, and refuses values that do not fit', (t) => {
  const spec = loadCollectionSpec(compileCoreFixture('externs.bpf.c'));
  const base: Record<string, string> = {
    CONFIG_BPF_SYSCALL: 'y', CONFIG_BPF_JIT: 'y', CONFIG_X86_64: 'y', CONFIG_HZ: '100', CONFIG_NR_CPUS: '8',
    CONFIG_DEFAULT_HOSTNAME: '"h"', CONFIG_LOCALVERSION: '""',
  };
  const bytes = (name: string, value: string): Buffer | Error => {
    try {
      const r = resolveExterns(spec, { kernelConfig: { ...base, [name]: value }, programs: ['externs'] });
      const e = spec.externs[name]!;
      return r.kconfig!.subarray(e.offset, e.offset + e.size);
    } catch (err) {
      return err as Error;
    }
  };
  const ok: Array<[string, string, number[]]> = [
    ['CONFIG_BPF_SYSCALL', 'n', [0]],
    ['CONFIG_BPF_SYSCALL', '1', [1]],
    ['CONFIG_BPF_JIT', 'm', [2, 0, 0, 0]],
    ['CONFIG_BPF_JIT', 'n', [0, 0, 0, 0]],
    ['CONFIG_X86_64', 'm', [0x6d]],
    ['CONFIG_X86_64', '65', [65]],
    ['CONFIG_HZ', '-2', [0xfe, 0xff, 0xff, 0xff]],
    ['CONFIG_HZ', '0x10', [16, 0, 0, 0]],
    ['CONFIG_HZ', '010', [8, 0, 0, 0]],
    ['CONFIG_HZ', '2147483647', [0xff, 0xff, 0xff, 0x7f]],
    ['CONFIG_NR_CPUS', '65535', [0xff, 0xff]],
    ['CONFIG_TSBPF_SIGNED', '-9223372036854775808', [0, 0, 0, 0, 0, 0, 0, 0x80]],
    ['CONFIG_LOCALVERSION', '"ab"', [0x61, 0x62, 0, 0]],
    ['CONFIG_LOCALVERSION', '"abcdef"', [0x61, 0x62, 0x63, 0x64]],
  ];
  for (const [name, value, want] of ok) t.deepEqual(bytes(name, value), Buffer.from(want), `${name}=${value}`);
  const bad: Array<[string, string, RegExp]> = [
    ['CONFIG_BPF_SYSCALL', 'm', /'m' \(module\) needs a tristate or char, not a bool/],
    ['CONFIG_BPF_SYSCALL', '2', /2 is not a boolean/],
    ['CONFIG_HZ', 'y', /the value 'y' needs a bool, tristate or char type/],
    ['CONFIG_HZ', '2147483648', /does not fit in 4 signed bytes/],
    ['CONFIG_HZ', '12abc', /is not a number/],
    ['CONFIG_NR_CPUS', '65536', /does not fit in 2 unsigned bytes/],
    ['CONFIG_NR_CPUS', '-1', /does not fit in 2 unsigned bytes/],
    ['CONFIG_BPF_JIT', '3', /needs an integer, char or bool type/],
    ['CONFIG_HZ', '"100"', /a string value needs a char array/],
    ['CONFIG_LOCALVERSION', '"open', /has no closing quote/],
  ];
  for (const [name, value, re] of bad) {
    const e = bytes(name, value);
    t.true(e instanceof BpfError, `${name}=${value}`);
    t.regex((e as Error).message, re, `${name}=${value}`);
    t.regex((e as Error).message, new RegExp(`kconfig ${name}`), `${name}=${value}: names the extern`);
  }
  // A strong extern the config does not set.
  const { CONFIG_HZ: _, ...noHz } = base;
  t.throws(() => resolveExterns(spec, { kernelConfig: noHz, programs: ['externs'] }), { instanceOf: BpfError, message: /\.kconfig extern CONFIG_HZ: this kernel's config does not set it/ });
  // Options are checked.
  t.throws(() => resolveExterns(spec, { kernelConfig: 5 as never }), { message: /"kernelConfig" must be a path or an object/ });
  t.throws(() => resolveExterns(spec, { programs: ['nope'] }), { message: /no program named "nope"/ });
});

kernelTest('ksym-el.elf: untyped ksyms get kallsyms addresses, typed ones BTF ids; missing strong ones fail, missing weak ones read 0', (t) => {
  const spec = loadCollectionSpec(corpus('testdata/ksym-el.elf'));
  // Per-CPU variables are in kallsyms only with CONFIG_KALLSYMS_ALL (not here): the typed
  // ones are checked against bpftool's ids and by what the verifier made of them.
  const addr = kallsyms(['bpf_init', 'bpf_trace_run1', 'bpf_prog_active', 'softnet_data']);
  t.true(addr.has('bpf_init') && addr.has('bpf_trace_run1'));
  const r = resolveExterns(spec, { programs: ['ksym_test', 'typed_ksym_test', 'missing_weak_ksym_test', 'missing_weak_typed_ksym_test', 'typed_ksym_mod_var_test'] });
  t.deepEqual(r.values.bpf_init, { kind: 'ksym', name: 'bpf_init', address: addr.get('bpf_init') });
  t.deepEqual(r.values.bpf_trace_run1, { kind: 'ksym', name: 'bpf_trace_run1', address: addr.get('bpf_trace_run1') });
  t.deepEqual(r.values.bpf_prog_active, { kind: 'ksym', name: 'bpf_prog_active', btfId: bpftoolId('VAR', 'bpf_prog_active') });
  t.deepEqual(r.values.softnet_data, { kind: 'ksym', name: 'softnet_data', btfId: bpftoolId('VAR', 'softnet_data') });
  t.deepEqual(r.values.missing_weak_ksym, { kind: 'ksym', name: 'missing_weak_ksym', missing: true });
  t.deepEqual(r.values.bpf_testmod_ksym_percpu, { kind: 'ksym', name: 'bpf_testmod_ksym_percpu', missing: true }, 'no bpf_testmod here');
  // Run them, with the .bss map their addresses go to (TestKsym).
  const bssSpec = spec.maps['.bss']!;
  const kallsymsAll = zcatConfig().get('CONFIG_KALLSYMS_ALL') === 'y';
  for (const [prog, vars] of [
    ['ksym_test', ['out__bpf_init_addr', 'bpf_init', 'out__bpf_trace_run1_addr', 'bpf_trace_run1']],
    ['typed_ksym_test', ['out__bpf_prog_active_addr', 'bpf_prog_active', 'out__softnet_data_addr', 'softnet_data']],
  ] as const) {
    const bss = dataMap(Buffer.alloc(bssSpec.valueSize));
    try {
      const p = r.spec.programs[prog]!;
      if (prog === 'typed_ksym_test' && !kallsymsAll) {
        // The kernel turns the BTF id into the variable's address through kallsyms, which
        // holds data symbols only with CONFIG_KALLSYMS_ALL: its refusal names the variable
        // the id stands for.
        const e = t.throws(() => load(p, bindMaps(p, { '.bss': bss })), { instanceOf: VerifierError });
        t.regex(e!.log.join('\n'), /failed to find the address for kernel symbol '(softnet_data|bpf_prog_active)'/);
        continue;
      }
      const loaded = load(p, bindMaps(p, { '.bss': bss }));
      t.is(loaded.test(Buffer.alloc(64)).retval, 0);
      loaded.close();
      const value = bss.lookup(Buffer.alloc(4))!;
      for (let i = 0; i < vars.length; i += 2) {
        const v = spec.variables[vars[i]!]!;
        const want = kallsyms([vars[i + 1]!]).get(vars[i + 1]!);
        t.is(value.readBigUInt64LE(v.offset), want ?? -1n, `${prog}: ${vars[i + 1]} at its kallsyms address`);
      }
    } finally {
      bss.close();
    }
  }
  for (const name of ['missing_weak_ksym_test', 'missing_weak_typed_ksym_test']) {
    const loaded = load(r.spec.programs[name]!);
    t.is(loaded.test(Buffer.alloc(64)).retval, 0, name);
    loaded.close();
  }
  t.throws(() => resolveExterns(spec, { programs: ['missing_ksym_test'] }), { instanceOf: BpfError, message: /ksym missing_ksym: not in \/proc\/kallsyms/ });
  const typed = t.throws(() => resolveExterns(spec, { programs: ['missing_typed_ksym_test'] }), { instanceOf: BpfError });
  t.regex(typed!.message, /ksym missing_typed_ksym: no variable of that name in the kernel's BTF/);
  t.is(typed!.code, 'ENOENT');
  // Every extern at once: the missing strong one fails the whole spec, as libbpf.
  t.throws(() => resolveExterns(spec), { message: /missing_ksym/ });
});
