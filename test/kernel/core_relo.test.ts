// CO-RE on the real kernel: the corpus objects cilium/ebpf tests relocation with load and
// return what their origin's tests expect (relocs, relocs_read, relocs_enum, errors), and
// our own program compiled against this kernel's vmlinux.h reads the current task's fields
// and gets the values the kernel reports elsewhere. Programs are loaded both without BTF
// (Program.load) and with their own BTF, func_info and line_info (as Collection.load will).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import {
  Btf,
  BpfError,
  CoreRelocationError,
  Program,
  ProgramType,
  VerifierError,
  applyCoRe,
  coreRelocationResults,
  explainLoadError,
  loadCollectionSpec,
  relocateProgram,
  resolveExterns,
  type CollectionProgramSpec,
} from '../../src/index.js';
import { Helper } from '../../src/generated/uapi.js';
import { corpusDir } from '../helpers/corpus.js';
import { kernelTest } from '../helpers/kernel.js';
import { loadWithBtf } from '../helpers/prog_btf.js';
import { compileCoreFixture } from '../helpers/vmlinux.js';

const corpus = (f: string): string => `${corpusDir()}/cilium-ebpf/${f}`;

/** A BTF blob with no types at all (cilium's "empty kernel BTF"). */
function emptyBtf(): Btf {
  const b = Buffer.alloc(25);
  b.writeUInt16LE(0xeb9f, 0);
  b[2] = 1;
  b.writeUInt32LE(24, 4);
  b.writeUInt32LE(1, 20);
  return Btf.parse(b);
}

/** Loads without BTF and runs once on an empty packet. */
function runPlain(p: CollectionProgramSpec): number {
  const prog = Program.load({ type: p.type, license: p.license || 'GPL', flags: p.flags, instructions: p.instructions });
  try {
    return prog.test(Buffer.alloc(64)).retval;
  } finally {
    prog.close();
  }
}

function runWithBtf(p: CollectionProgramSpec): number {
  const prog = loadWithBtf(p, p.type);
  try {
    return prog.test(Buffer.alloc(64)).retval;
  } finally {
    prog.close();
  }
}

// ---- the corpus -------------------------------------------------------------------------

kernelTest('relocs-el.elf: every program relocated against the object\'s own BTF loads and returns 0; err_* fail as ambiguous', (t) => {
  const spec = loadCollectionSpec(corpus('btf/testdata/relocs-el.elf'));
  // cilium's AnyTypesByName: one type each, the flavour counting separately.
  t.is(spec.types!.typesByName('ambiguous').length, 1);
  t.is(spec.types!.typesByName('ambiguous___flavour').length, 1);
  const names = Object.keys(spec.programs);
  t.deepEqual(names.sort(), ['enums', 'err_ambiguous', 'err_ambiguous_flavour', 'fields', 'type_ids', 'types']);
  for (const name of names) {
    if (name.startsWith('err_')) {
      const e = t.throws(() => relocateProgram(spec, name, { kernelTypes: spec.types! }), { instanceOf: CoreRelocationError }, name);
      t.true(e!.ambiguous, name);
      t.is(e!.program, name);
      t.regex(e!.message, /ambiguous relocation: candidates \[\d+\] struct ambiguous and \[\d+\] struct ambiguous___flavour/);
      continue;
    }
    const p = relocateProgram(spec, name, { kernelTypes: spec.types! });
    const results = coreRelocationResults(p)!;
    t.is(results.length, spec.programs[name]!.coreRelocations.length, name);
    t.true(results.every((r) => r.status === 'patched'), name);
    t.is(runPlain(p), 0, `${name} without BTF: a non-zero return is the failing line of relocs.c`);
    t.is(runWithBtf(p), 0, `${name} with its own BTF`);
  }
  // The whole spec at once names the first program that cannot be relocated.
  t.throws(() => applyCoRe(spec, { kernelTypes: spec.types! }), { instanceOf: CoreRelocationError, message: /program err_ambiguous/ });
});

kernelTest('relocs_read-el.elf against relocs_read_tgt-el.elf (as a path, parsed, or bytes) reads every field right', (t) => {
  const spec = loadCollectionSpec(corpus('btf/testdata/relocs_read-el.elf'));
  const target = corpus('btf/testdata/relocs_read_tgt-el.elf');
  for (const [how, kernelTypes] of [
    ['path', target],
    ['Btf', loadCollectionSpec(target).types!],
    ['bytes', readFileSync(target)],
  ] as const) {
    const p = applyCoRe(spec, { kernelTypes }).programs.reads!;
    t.is(runPlain(p), 0, `${how}: a non-zero return is the failing line of relocs_read.c`);
    t.is(runWithBtf(p), 0, how);
    const results = coreRelocationResults(p)!;
    // Bitfields moved (a and b swapped) and f lost its bitfield: shifts changed.
    const shifts = results.filter((r) => r.kind === 'field_lshift_u64' && r.localValue !== r.targetValue);
    t.true(shifts.length >= 4, how);
    // The nonexistent struct and enum read 0 instead of poisoning.
    t.true(results.filter((r) => r.description.includes('nonexist')).every((r) => r.status === 'patched' && r.targetValue === 0n), how);
  }
});

kernelTest('relocs_enum-el.elf against vmlinux: the enum value the kernel lacks is poisoned in dead code, and the program loads', (t) => {
  const spec = loadCollectionSpec(corpus('btf/testdata/relocs_enum-el.elf'));
  const p = applyCoRe(spec).programs.core_ld64imm!;
  const results = coreRelocationResults(p)!;
  t.deepEqual(results.map((r) => [r.kind, r.status, r.targetValue]), [
    ['enumval_exists', 'patched', 0n],
    ['enumval_value', 'poisoned', 0n],
  ]);
  t.is(results[0]!.target, undefined);
  t.is(results[0]!.candidates, 1, 'vmlinux has enum cgroup_subsys_id, without cpuset_cgrp_id_lublub');
  t.is(runPlain(p), 0);
  t.is(runWithBtf(p), 0);
});

kernelTest('errors-el.elf against empty kernel BTF: poisoned loads fail, naming the relocation, the program and the source line', (t) => {
  const spec = loadCollectionSpec(corpus('testdata/errors-el.elf'));
  const empty = emptyBtf();
  const resolved = resolveExterns(applyCoRe(spec, { kernelTypes: empty }), { kernelTypes: empty });
  for (const [name, line, what] of [
    ['poisoned_single', 20, /field_byte_offset of \[\d+\] struct nonexist\.non_exist/],
    ['poisoned_double', 24, /enumval_value of \[\d+\] enum nonexist_enum::NON_EXIST = 1/],
  ] as const) {
    const p = resolved.spec.programs[name]!;
    // Without BTF: the error names what the verifier tripped on.
    const plain = t.throws(() => runPlain(p), { instanceOf: VerifierError });
    const explained = explainLoadError(p, plain) as VerifierError;
    t.true(explained instanceof VerifierError, name);
    t.regex(explained.message, new RegExp(`program ${name}: the verifier reached instruction \\d+, poisoned by CO-RE relocation #1`), name);
    t.regex(explained.message, what, name);
    t.regex(explained.message, new RegExp(`errors\\.c:${line}:`), name);
    t.deepEqual(explained.log, plain!.log);
    // With BTF: the verifier's own log says it, at the instruction (TestCOREPoisonLineInfo).
    const withBtf = t.throws(() => runWithBtf(p), { instanceOf: VerifierError });
    t.true(withBtf!.log.some((l) => l.startsWith('; instruction poisoned by CO-RE')), name);
    t.regex((explainLoadError(p, withBtf) as Error).message, what);
  }
  // The weak kfunc the kernel lacks: its call is poisoned with its own helper id.
  t.deepEqual(resolved.values.invalid_kfunc, { kind: 'kfunc', name: 'invalid_kfunc', missing: true });
  const kp = resolved.spec.programs.poisoned_kfunc!;
  const e = t.throws(() => runPlain(kp), { instanceOf: VerifierError });
  t.true(e!.log.some((l) => /invalid func unknown#2002000000/.test(l)));
  t.regex((explainLoadError(kp, e) as Error).message, /program poisoned_kfunc: it calls kfunc invalid_kfunc, which this kernel does not have/);
  // Errors that are not about poisons come back as they were.
  const other = new BpfError({ command: 'BPF_PROG_LOAD', errno: 1, reason: 'x' });
  t.is(explainLoadError(kp, other), other);
});

// ---- our own CO-RE program against this kernel --------------------------------------------

const OUT_SIZE = 160;

/** struct out of task.bpf.c, decoded. */
function decodeOut(b: Buffer) {
  let o = 0;
  const u32 = () => ((o += 4), b.readUInt32LE(o - 4));
  const u64 = () => ((o = (o + 7) & ~7), (o += 8), b.readBigUInt64LE(o - 8));
  const str = () => ((o += 16), b.subarray(o - 16, o).toString('latin1').replace(/\0.*$/s, ''));
  return {
    pid: u32(), tgid: u32(), btfPid: u32(), btfTgid: u32(), pidTgid: u64(), comm: str(), helperComm: str(),
    leaderTgid: u32(), flavourTgid: u32(), flags: u32(), flavourFlagsLo: u32(), flavourFlagsHi: u32(),
    taskSize: u32(), commSize: u32(), commOffset: u32(), hasPid: u32(), hasFake: u32(), taskExists: u32(),
    taskId: u32(), helperId: u32(), helperExists: u32(), fakeHelperExists: u32(), dumpable: u64(), dumpableWord: u64(),
    dumpableOffset: u32(), dumpableSize: u32(),
  };
}

let dump: string | undefined;
/** bpftool's text dump of vmlinux BTF, once per test process. */
function vmlinuxDump(): string {
  dump ??= execFileSync('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux'], { encoding: 'utf8', maxBuffer: 512 << 20 });
  return dump;
}

/** bpftool's view of vmlinux BTF: a type's id and size, a member's bit offset. */
function bpftoolStruct(name: string): { id: number; size: number; members: Map<string, number> } {
  const out = vmlinuxDump();
  const m = new RegExp(`^\\[(\\d+)\\] STRUCT '${name}' size=(\\d+) vlen=(\\d+)$`, 'm').exec(out);
  if (!m) throw new Error(`bpftool has no struct ${name}`);
  const members = new Map<string, number>();
  const lines = out.slice(m.index).split('\n').slice(1, 1 + Number(m[3]));
  for (const l of lines) {
    const mm = /^\s+'(\w*)' type_id=\d+ bits_offset=(\d+)/.exec(l);
    if (mm) members.set(mm[1]!, Number(mm[2]));
  }
  return { id: Number(m[1]), size: Number(m[2]), members };
}

kernelTest('task.bpf.c: CO-RE reads of the current task give this process\'s pid, tgid and comm, and BTF facts bpftool agrees with', (t) => {
  const spec = loadCollectionSpec(compileCoreFixture('task.bpf.c'));
  const relocated = applyCoRe(spec);
  const p = relocated.programs.read_task!;
  t.is(p.type, ProgramType.Syscall);
  const results = coreRelocationResults(p)!;
  t.true(results.length >= 20);
  t.true(results.every((r) => r.status === 'patched'), 'nothing poisoned in read_task');
  t.true(results.some((r) => r.target?.btf === 'vmlinux'));
  const task = bpftoolStruct('task_struct');
  const comm = (readFileSync('/proc/self/comm', 'utf8').trim()).slice(0, 15);
  for (const withBtf of [false, true]) {
    const prog = withBtf ? loadWithBtf(p, p.type) : Program.load({ type: p.type, flags: p.flags, license: 'GPL', instructions: p.instructions });
    try {
      const run = prog.run({ context: Buffer.alloc(OUT_SIZE) });
      t.is(run.retval, 0);
      const o = decodeOut(run.context!);
      const how = withBtf ? 'with BTF' : 'without BTF';
      // The test runs on the process's main thread: its thread id is the pid.
      t.is(o.tgid, process.pid, how);
      t.is(o.pid, process.pid, how);
      t.is(o.btfPid, process.pid, `${how}: a direct load through bpf_get_current_task_btf()`);
      t.is(o.btfTgid, process.pid, how);
      t.is(o.pidTgid, (BigInt(process.pid) << 32n) | BigInt(process.pid), how);
      t.is(o.comm, comm, how);
      t.is(o.helperComm, comm, how);
      t.is(o.leaderTgid, process.pid, `${how}: two levels of BPF_CORE_READ`);
      t.is(o.flavourTgid, process.pid, `${how}: through a flavour with another layout`);
      t.is(o.flavourFlagsLo, o.flags, `${how}: a 64-bit local field narrowed to the kernel's 32 bits`);
      t.is(o.flavourFlagsHi, 0, how);
      t.is(o.taskSize, task.size, how);
      t.is(o.commSize, 16, how);
      t.is(o.commOffset * 8, task.members.get('comm')!, how);
      t.deepEqual([o.hasPid, o.hasFake, o.taskExists], [1, 0, 1], how);
      t.is(o.taskId, task.id, how);
      t.is(o.helperId, Helper.getCurrentTaskBtf, how);
      t.deepEqual([o.helperExists, o.fakeHelperExists], [1, 0], how);
      // The bitfield: what BPF_CORE_READ_BITFIELD_PROBED computed equals the bits bpftool
      // places there, cut from the raw 8 bytes the program read at the relocated offset.
      const bit = task.members.get('user_dumpable')! - o.dumpableOffset * 8;
      t.true(bit >= 0 && bit < 64 - 1, how);
      t.is(o.dumpable, (o.dumpableWord >> BigInt(bit)) & 1n, how);
      t.is(o.dumpableSize, 4, `${how}: an unsigned int bitfield is loaded as 4 bytes`);
      if (withBtf) {
        // The kernel kept the line info: bpftool prints the source lines.
        const xlated = execFileSync('bpftool', ['prog', 'dump', 'xlated', 'id', String(prog.id), 'linum'], { encoding: 'utf8' });
        t.regex(xlated, /BPF_CORE_READ\(t, pid\)/);
        t.regex(xlated, /task\.bpf\.c/);
      }
    } finally {
      prog.close();
    }
  }
});

kernelTest('task.bpf.c: an unguarded read of a member the kernel lacks is rejected at the poisoned instruction; a guarded one loads', (t) => {
  const spec = loadCollectionSpec(compileCoreFixture('task.bpf.c'));
  const relocated = applyCoRe(spec, { programs: ['read_missing', 'read_missing_guarded'] });
  t.is(relocated.programs.read_task!.instructions.length, spec.programs.read_task!.instructions.length);
  t.deepEqual(Buffer.from(relocated.programs.read_task!.instructions), Buffer.from(spec.programs.read_task!.instructions), 'programs not asked for are left alone');
  const missing = relocated.programs.read_missing!;
  const [r] = coreRelocationResults(missing)!;
  t.is(r!.status, 'poisoned');
  t.is(r!.candidates, 1, 'task_struct___fake finds task_struct by its essential name');
  t.regex(r!.reason!, /none of the 1 target types named like struct task_struct___fake has this field/);
  for (const withBtf of [false, true]) {
    const e = t.throws(() => (withBtf ? loadWithBtf(missing, missing.type) : Program.load({ type: missing.type, flags: missing.flags, license: 'GPL', instructions: missing.instructions })), { instanceOf: VerifierError });
    const x = explainLoadError(missing, e) as Error;
    t.regex(x.message, /program read_missing: the verifier reached instruction \d+, poisoned by CO-RE relocation #0 \(field_byte_offset of \[\d+\] struct task_struct___fake\.no_such_member_anywhere/);
    t.regex(x.message, /task\.bpf\.c:\d+: /);
    if (withBtf) t.true(e!.log.some((l) => l.startsWith('; instruction poisoned by CO-RE: field_byte_offset of')));
  }
  const guarded = relocated.programs.read_missing_guarded!;
  t.deepEqual(coreRelocationResults(guarded)!.map((x) => [x.kind, x.status, x.targetValue]), [
    ['field_exists', 'patched', 0n],
    ['field_byte_offset', 'poisoned', 0n],
  ]);
  for (const withBtf of [false, true]) {
    const prog = withBtf ? loadWithBtf(guarded, guarded.type) : Program.load({ type: guarded.type, flags: guarded.flags, license: 'GPL', instructions: guarded.instructions });
    t.is(prog.run({ context: Buffer.alloc(OUT_SIZE) }).context!.readUInt32LE(0), 7);
    prog.close();
  }
});

kernelTest('the kernel BTF is parsed once; module BTF is listed (none here) and refused by bad names', (t) => {
  t.is(Btf.kernel(), Btf.kernel());
  const mods = Btf.kernelModules();
  t.true(Array.isArray(mods));
  for (const m of mods) t.is(Btf.kernelModule(m).base, Btf.kernel());
  const e = t.throws(() => Btf.kernelModule('no_such_module_here'), { instanceOf: BpfError });
  t.is(e!.code, 'ENOENT');
  t.throws(() => Btf.kernelModule('../etc'), { message: /is not a kernel module name/ });
  t.throws(() => Btf.kernelModule('vmlinux'), { message: /is not a kernel module name/ });
});
