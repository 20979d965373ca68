/**
 * CO-RE: relocating compiled-once programs against the BTF of the kernel they run on, and
 * resolving the externs the kernel defines (.kconfig values, __ksym variables, kfuncs).
 *
 * Both are pure transformations of a {@link CollectionSpec}: `applyCoRe` returns a copy
 * whose programs have every CO-RE relocation applied (or the instruction poisoned) and
 * carry their own compact BTF; `resolveExterns` returns a copy with ksym and kfunc
 * references patched, plus the contents of the .kconfig map. The loader then only has to
 * write file descriptors. The matching rules are libbpf's and live in the core
 * (core/src/core_relo*.c); this module gathers the inputs (kernel BTF, kernel config,
 * kallsyms) and reads the answers.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { arch } from 'node:os';
import { gunzipSync } from 'node:zlib';
import type { Core } from '../bridge/core.js';
import {
  TSBPF_CORE_NO_TARGET,
  TSBPF_CORE_POISONED,
  TSBPF_CORE_POISON_HELPER,
  TSBPF_CORE_PROG_BTF,
  TSBPF_KFUNC_POISON_BASE,
  TSBPF_PATCH_ADDR,
  TSBPF_PATCH_BTF_ID,
  TSBPF_PATCH_KFUNC,
  TSBPF_PATCH_KFUNC_POISON,
  tsbpf_core_relo_opts as Opts,
  tsbpf_core_result as Result,
  type Ptr,
} from '../bridge/generated/abi.js';
import { Btf } from './btf.js';
import { readKernelFile } from './kernel_files.js';
import { kernelRelease, kernelVersionCode } from './kernel_version.js';
import {
  CoreRelocationKinds,
  loadCollectionSpec,
  type CollectionProgramSpec,
  type CollectionSpec,
  type CoreRelocation,
  type CoreRelocationKind,
  type ExternSpec,
} from './collection_spec.js';
import { BpfError, VerifierError, errnoValue } from './errors.js';
import { helper, type FeatureResult } from './features.js';
import { Helper, ProgramType } from './generated/uapi.js';
import { core } from './runtime.js';
import { checkKeys, describe, invalid } from './validate.js';

const OP = 'CO-RE';
const EXTERN_OP = 'resolveExterns';

/** Target types: a parsed Btf, the path of a BTF file or BPF object (its .BTF), or the bytes of either. */
export type TypesSource = Btf | string | Uint8Array;

/** Options of {@link applyCoRe} and {@link relocateProgram}. */
export interface CoReOptions {
  /**
   * The types to relocate against instead of the running kernel's (vmlinux BTF, then module
   * BTF): a Btf, a path or bytes of raw BTF (a btfhub file) or of a BPF object (its .BTF).
   * Module BTF is not searched then.
   */
  kernelTypes?: TypesSource;
  /**
   * Module BTF to search when `kernelTypes` has no type of a name: split BTF on kernelTypes,
   * by module name. Default: the running kernel's modules when kernelTypes is not given, else none.
   */
  kernelModules?: Readonly<Record<string, Btf>>;
  /** Only these programs (by name); default all. */
  programs?: readonly string[];
}

/** What happened to one CO-RE relocation. */
export interface CoreRelocationResult {
  /** Index of the relocation in the program's coreRelocations. */
  index: number;
  /** Instruction slot. */
  instruction: number;
  kind: CoreRelocationKind;
  /** 'patched': the instruction holds the target's value; 'poisoned': nothing satisfies it, the instruction calls helper 0xbad2310. */
  status: 'patched' | 'poisoned';
  /** The local access: "[8] struct s._2 (0:1 @ offset 4)". */
  description: string;
  /** The local root type, an id in the object's BTF. */
  localTypeId: number;
  /** The target type used: in which BTF ('vmlinux', a module name, or 'kernelTypes') and its id. */
  target?: { btf: string; typeId: number };
  /** How many target types had the local type's essential name and kind. */
  candidates: number;
  /** The value the compiler put in the instruction, and the one it holds now. */
  localValue: bigint;
  targetValue: bigint;
  /** For a poisoned relocation, why nothing satisfies it. */
  reason?: string;
  /** The C source line of the instruction, from line_info. */
  source?: SourceLine;
}

export interface SourceLine {
  file: string;
  line: number;
  column: number;
  text: string;
}

/** A relocation that cannot be applied at all: ambiguous candidates, a malformed access, an instruction that does not match. */
export class CoreRelocationError extends BpfError {
  /** The program whose relocation failed. */
  readonly program: string;
  /** True when several target types matched and disagree (cilium/ebpf's errAmbiguousRelocation). */
  readonly ambiguous: boolean;

  constructor(program: string, reason: string, errno: number) {
    super({ command: OP, errno, reason: `program ${program}: ${reason}`, advice: '' });
    this.name = 'CoreRelocationError';
    this.program = program;
    this.ambiguous = /ambiguous relocation/.test(reason);
  }
}

interface ProgramRecord {
  program: string;
  results: CoreRelocationResult[];
  /** Instruction slots each relocation covers (2 for a 64-bit load). */
  slots: number[];
}

/**
 * Results of the relocation that produced a program spec, under a symbol key of the spec:
 * object spread (CollectionSpec.clone) copies it, JSON and Object.keys do not see it.
 */
const RECORD = Symbol('tsbpf.coreRelocations');
const records = {
  get(p: CollectionProgramSpec): ProgramRecord | undefined {
    return (p as unknown as Record<symbol, ProgramRecord | undefined>)[RECORD];
  },
  set(p: CollectionProgramSpec, r: ProgramRecord): void {
    (p as unknown as Record<symbol, ProgramRecord>)[RECORD] = r;
  },
};

/** Strings of a BTF by content: access strings are text in the spec, offsets in the core. */
const stringOffsets = new WeakMap<Btf, Map<string, number>>();

interface Targets {
  main: Btf;
  /** Names of the BTFs for results: targets[i] -> names[i]. */
  mainName: string;
  /** Module BTFs, loaded only when asked for. */
  modules: (() => Array<{ name: string; btf: Btf }>) | undefined;
}

function isElf(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46;
}

/** @internal The Btf a `kernelTypes` source names, parsed once for callers of both applyCoRe
 *  and resolveExterns; errors name the operation that needed it first. */
export function kernelTypesOf(source: TypesSource, needs: 'CO-RE' | 'externs'): Btf {
  return typesOf(source, needs === 'CO-RE' ? OP : EXTERN_OP, '"kernelTypes"');
}

function typesOf(source: TypesSource, op: string, what: string): Btf {
  if (source instanceof Btf) return source;
  if (typeof source === 'string') {
    const head = Buffer.alloc(4);
    let fd: number;
    try {
      fd = openSync(source, 'r');
    } catch (e) {
      throw new BpfError({ command: op, errno: 2, reason: `cannot open ${what} ${source}`, cause: e, advice: '' });
    }
    try {
      readSync(fd, head, 0, 4, 0);
    } finally {
      closeSync(fd);
    }
    if (!isElf(head)) return Btf.load(source);
    const types = loadCollectionSpec(source).types;
    if (!types) throw invalid(op, `${what} ${source} is a BPF object without BTF`);
    return types;
  }
  if (source instanceof Uint8Array) {
    if (!isElf(source)) return Btf.parse(source);
    const types = loadCollectionSpec(source).types;
    if (!types) throw invalid(op, `${what} is a BPF object without BTF`);
    return types;
  }
  throw invalid(op, `${what} must be a Btf, a path or bytes, got ${describe(source)}`);
}

function targetsFor(kernelTypes: TypesSource | undefined, op: string, kernelModules?: Readonly<Record<string, Btf>>): Targets {
  if (kernelModules !== undefined) {
    if (typeof kernelModules !== 'object' || kernelModules === null) throw invalid(op, `"kernelModules" must be an object of Btf by module name, got ${describe(kernelModules)}`);
    for (const [name, b] of Object.entries(kernelModules))
      if (!(b instanceof Btf) || !b.base) throw invalid(op, `"kernelModules.${name}" must be split BTF (a Btf parsed with a base)`);
  }
  if (kernelTypes !== undefined) {
    const main = typesOf(kernelTypes, op, '"kernelTypes"');
    const mods = Object.entries(kernelModules ?? {}).map(([name, btf]) => ({ name, btf }));
    for (const m of mods) if (m.btf.base !== main) throw invalid(op, `"kernelModules.${m.name}" is split BTF on another base than kernelTypes`);
    return { main, mainName: 'kernelTypes', modules: mods.length ? () => mods : undefined };
  }
  if (kernelModules !== undefined) {
    const main = Btf.kernel();
    const mods = Object.entries(kernelModules).map(([name, btf]) => ({ name, btf }));
    for (const m of mods) if (m.btf.base !== main) throw invalid(op, `"kernelModules.${m.name}" is split BTF on another base than the kernel's`);
    return { main, mainName: 'vmlinux', modules: () => mods };
  }
  let modules: Array<{ name: string; btf: Btf }> | undefined;
  return {
    main: Btf.kernel(),
    mainName: 'vmlinux',
    modules: () => (modules ??= Btf.kernelModules().map((name) => ({ name, btf: Btf.kernelModule(name) }))),
  };
}

function accessOffset(c: Core, local: Btf, access: string): number {
  let known = stringOffsets.get(local);
  if (!known) stringOffsets.set(local, (known = new Map()));
  let off = known.get(access);
  if (off === undefined) {
    const p = c.stageCString(access);
    off = c.fn.tsbpf_btf_str_offset(Btf.handleOf(local).ptr as Ptr<'tsbpf_btf'>, p as Ptr<'char'>);
    if (off < 0) throw c.error(off, OP);
    known.set(access, off);
  }
  return off;
}

/** Source lines of a program by instruction, from its line_info (records in instruction order). */
function sourceLines(local: Btf, lineInfo: Uint8Array): (insn: number) => SourceLine | undefined {
  const n = Math.floor(lineInfo.length / 16);
  const dv = new DataView(lineInfo.buffer, lineInfo.byteOffset, lineInfo.byteLength);
  const cache = new Map<number, SourceLine | undefined>();
  return (insn) => {
    // The last record at or before insn.
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (dv.getUint32(mid * 16, true) <= insn) lo = mid + 1;
      else hi = mid;
    }
    const at = lo - 1;
    if (at < 0) return undefined;
    if (cache.has(at)) return cache.get(at);
    const col = dv.getUint32(at * 16 + 12, true);
    let line: SourceLine | undefined;
    try {
      line = { file: local.string(dv.getUint32(at * 16 + 4, true)), line: col >>> 10, column: col & 0x3ff, text: local.string(dv.getUint32(at * 16 + 8, true)).trim() };
    } catch {
      line = undefined;
    }
    cache.set(at, line);
    return line;
  };
}

interface RawOutcome {
  instructions: Buffer;
  results: CoreRelocationResult[];
  slots: number[];
  btf?: Buffer;
  funcInfo?: Buffer;
  lineInfo?: Buffer;
}

/** One run of the core over a program against `targets`. */
function runCore(c: Core, local: Btf, prog: CollectionProgramSpec, targets: Btf[], names: string[]): RawOutcome {
  c.resetArena();
  const n = prog.coreRelocations.length;
  const relos = Buffer.alloc(n * 16);
  prog.coreRelocations.forEach((r, i) => {
    relos.writeUInt32LE(r.instruction * 8, i * 16);
    relos.writeUInt32LE(r.typeId, i * 16 + 4);
    relos.writeUInt32LE(accessOffset(c, local, r.accessString), i * 16 + 8);
    relos.writeUInt32LE(CoreRelocationKinds.indexOf(r.kind), i * 16 + 12);
  });
  const withBtf = prog.funcInfo.length > 0 || prog.lineInfo.length > 0 || prog.coreRelocations.some((r) => r.kind === 'type_id_local');
  const insns = c.stage(prog.instructions);
  const relosPtr = n ? c.stage(relos) : 0;
  const fi = prog.funcInfo.length ? c.stage(prog.funcInfo) : 0;
  const li = prog.lineInfo.length ? c.stage(prog.lineInfo) : 0;
  const results = n ? c.stageAlloc(n * Result.$size) : 0;
  const targetsPtr = targets.length ? c.stageAlloc(targets.length * 4) : 0;
  const o = c.struct(Opts);
  const dv = c.mem.dv;
  targets.forEach((t, i) => dv.setUint32(targetsPtr + i * 4, Btf.handleOf(t).ptr, true));
  dv.setUint32(o + Opts.flags.off, withBtf ? TSBPF_CORE_PROG_BTF : 0, true);
  dv.setUint32(o + Opts.local.off, Btf.handleOf(local).ptr, true);
  dv.setUint32(o + Opts.targets.off, targetsPtr, true);
  dv.setUint32(o + Opts.n_targets.off, targets.length, true);
  dv.setUint32(o + Opts.insns.off, insns, true);
  dv.setUint32(o + Opts.insn_cnt.off, prog.instructions.length / 8, true);
  dv.setUint32(o + Opts.relos.off, relosPtr, true);
  dv.setUint32(o + Opts.relo_cnt.off, n, true);
  dv.setUint32(o + Opts.func_info.off, fi, true);
  dv.setUint32(o + Opts.func_info_cnt.off, prog.funcInfo.length / 8, true);
  dv.setUint32(o + Opts.line_info.off, li, true);
  dv.setUint32(o + Opts.line_info_cnt.off, prog.lineInfo.length / 16, true);
  dv.setUint32(o + Opts.results.off, results, true);
  const ret = c.fn.tsbpf_core_relocate(o as Ptr<'tsbpf_core_relo_opts'>);
  if (ret < 0) {
    const err = c.error(ret);
    throw new CoreRelocationError(prog.name, err.reason, err.errno);
  }
  const out: RawOutcome = { instructions: c.bytes(insns, prog.instructions.length), results: [], slots: [] };
  const sourceOf = sourceLines(local, prog.lineInfo);
  for (let i = 0; i < n; i++) {
    const r = results + i * Result.$size;
    const target = c.u32(r, Result.target);
    const status = c.u32(r, Result.status) === TSBPF_CORE_POISONED ? 'poisoned' : 'patched';
    const candidates = c.u32(r, Result.candidates);
    const res: CoreRelocationResult = {
      index: i,
      instruction: c.u32(r, Result.insn),
      kind: prog.coreRelocations[i]!.kind,
      status,
      description: c.cstring(c.u32(r, Result.desc)),
      localTypeId: c.u32(r, Result.local_type),
      candidates,
      localValue: c.u64(r, Result.orig_val),
      targetValue: c.u64(r, Result.new_val),
    };
    if (target !== TSBPF_CORE_NO_TARGET) res.target = { btf: names[target] ?? `target ${target}`, typeId: c.u32(r, Result.target_type) };
    if (status === 'poisoned') {
      const name = local.typeName(res.localTypeId);
      res.reason =
        candidates === 0
          ? `no type named like ${name} in ${names.join(' or ') || 'the (empty) target types'}`
          : res.target
            ? `${res.target.btf} type [${res.target.typeId}] has the field with another size, and a load of this sign or type cannot be resized`
            : `none of the ${candidates} target types named like ${name} has this ${res.kind.startsWith('enumval') ? 'value' : 'field'}`;
    }
    const source = sourceOf(res.instruction);
    if (source) res.source = { ...source };
    out.results.push(res);
    out.slots.push(c.u32(r, Result.slots));
  }
  if (withBtf) {
    const p = c.u32(o, Opts.btf);
    out.btf = c.bytes(p, c.u32(o, Opts.btf_size));
    out.funcInfo = c.bytes(c.u32(o, Opts.func_info_out), c.u32(o, Opts.func_info_out_cnt) * 8);
    out.lineInfo = c.bytes(c.u32(o, Opts.line_info_out), c.u32(o, Opts.line_info_out_cnt) * 16);
  }
  return out;
}

/** Relocates against targets[0], then again with module BTF if vmlinux lacks a type by name. */
function relocateOutcome(c: Core, local: Btf, prog: CollectionProgramSpec, targets: Targets | undefined): RawOutcome {
  let outcome = targets ? runCore(c, local, prog, [targets.main], [targets.mainName]) : runCore(c, local, prog, [], []);
  // Module BTF only when vmlinux lacks a type by name (libbpf's order), loaded only then.
  if (targets?.modules && outcome.results.some((r) => r.candidates === 0 && r.kind !== 'type_id_local')) {
    const mods = targets.modules();
    if (mods.length)
      outcome = runCore(c, local, prog, [targets.main, ...mods.map((m) => m.btf)], [targets.mainName, ...mods.map((m) => m.name)]);
  }
  return outcome;
}

function relocateOne(c: Core, local: Btf, prog: CollectionProgramSpec, targets: Targets | undefined): CollectionProgramSpec {
  const outcome = relocateOutcome(c, local, prog, targets);
  const out: CollectionProgramSpec = {
    ...prog,
    instructions: outcome.instructions,
    relocations: prog.relocations.map((r) => ({ ...r })),
    functions: prog.functions.map((f) => ({ ...f })),
    coreRelocations: prog.coreRelocations.map((r) => ({ ...r })),
    funcInfo: outcome.funcInfo ?? Buffer.from(prog.funcInfo),
    lineInfo: outcome.lineInfo ?? Buffer.from(prog.lineInfo),
  };
  if (outcome.btf) {
    out.btf = outcome.btf;
    out.btfFunc = out.funcInfo.length >= 8 ? Buffer.from(out.funcInfo).readUInt32LE(4) : 0;
  }
  records.set(out, { program: prog.name, results: outcome.results, slots: outcome.slots });
  return out;
}

function checkTypesSource(op: string, name: string, v: unknown): void {
  if (v !== undefined && !(v instanceof Btf) && typeof v !== 'string' && !(v instanceof Uint8Array))
    throw invalid(op, `"${name}" must be a Btf, a path or bytes, got ${describe(v)}`);
}

function checkCoReOptions(opts: CoReOptions): void {
  checkKeys(OP, 'CO-RE options', opts, ['kernelTypes', 'kernelModules', 'programs']);
  checkTypesSource(OP, 'kernelTypes', opts.kernelTypes);
  if (opts.programs !== undefined && (!Array.isArray(opts.programs) || opts.programs.some((p) => typeof p !== 'string')))
    throw invalid(OP, `"programs" must be an array of program names, got ${describe(opts.programs)}`);
}

/**
 * Applies the CO-RE relocations of every program of `spec` (or of `opts.programs`) against
 * the running kernel's BTF (vmlinux, then module BTF for types vmlinux lacks) or
 * `opts.kernelTypes`, and returns a relocated copy; `spec` is left as it was.
 *
 * Each relocated program holds the patched instructions and, when the object has BTF, its
 * own compact BTF in `btf` (the FUNCs it needs and the types TYPE_ID_LOCAL relocations
 * name), with `funcInfo`, `lineInfo` and `btfFunc` renumbered for it: load it with that
 * BTF. A relocation no target satisfies poisons its instruction (a call of helper
 * 0xbad2310) and gets a line_info note, so the load fails only if that code is reachable;
 * {@link explainLoadError} then names the relocation and the source line.
 *
 * Throws CoreRelocationError when a relocation cannot be applied at all: several target
 * types match and disagree (`ambiguous`), a malformed access string, or an instruction that
 * does not hold what the compiler should have put there. Needs Linux 5.4+ with
 * CONFIG_DEBUG_INFO_BTF for the kernel's BTF (not with kernelTypes); no privileges.
 */
export function applyCoRe(spec: CollectionSpec, opts: CoReOptions = {}): CollectionSpec {
  checkCoReOptions(opts);
  const names = opts.programs ?? Object.keys(spec.programs);
  for (const name of names) if (!spec.programs[name]) throw invalid(OP, `no program named "${name}" in the collection`);
  const out = spec.clone();
  const local = spec.types;
  if (!local) {
    const withCore = names.find((n) => spec.programs[n]!.coreRelocations.length > 0);
    if (withCore) throw invalid(OP, `program ${withCore} has CO-RE relocations but the object has no BTF`);
    return out;
  }
  // The kernel's BTF is read only when some program has something to relocate.
  let targets: Targets | undefined;
  const c = core();
  for (const name of names) {
    const prog = spec.programs[name]!;
    if (prog.coreRelocations.length) targets ??= targetsFor(opts.kernelTypes, OP, opts.kernelModules);
    out.programs[name] = relocateOne(c, local, prog, targets);
  }
  return out;
}

/** {@link applyCoRe} for one program: its relocated copy. */
export function relocateProgram(spec: CollectionSpec, name: string, opts: Omit<CoReOptions, 'programs'> = {}): CollectionProgramSpec {
  checkCoReOptions(opts);
  if (!spec.programs[name]) throw invalid(OP, `no program named "${name}" in the collection`);
  return applyCoRe(spec, { ...opts, programs: [name] }).programs[name]!;
}

/** Input of {@link relocateInstructions}. */
export interface RelocateInstructionsOptions {
  /** The program's bytecode (8 bytes per slot); not modified. */
  instructions: Uint8Array;
  /** Its CO-RE relocations; typeId and accessString refer to `localTypes`. */
  relocations: readonly CoreRelocation[];
  /** The BTF the program was compiled with. */
  localTypes: Btf;
  /** As {@link CoReOptions.kernelTypes}; default the running kernel's BTF. */
  kernelTypes?: TypesSource;
  /** As {@link CoReOptions.kernelModules}. */
  kernelModules?: Readonly<Record<string, Btf>>;
  /** struct bpf_func_info and bpf_line_info records of the program (for its own BTF). */
  funcInfo?: Uint8Array;
  lineInfo?: Uint8Array;
  /** Name for messages. */
  name?: string;
}

/** Output of {@link relocateInstructions}. */
export interface RelocatedInstructions {
  instructions: Buffer;
  results: CoreRelocationResult[];
  /** The program's own BTF and records, when it has func_info, line_info or TYPE_ID_LOCAL relocations. */
  btf?: Buffer;
  funcInfo?: Buffer;
  lineInfo?: Buffer;
}

/**
 * The engine of {@link applyCoRe} for bytecode that does not come from a CollectionSpec
 * (a program assembled by hand against BTF built by hand, a test): applies `relocations` to a
 * copy of `instructions`. Throws CoreRelocationError like applyCoRe.
 */
export function relocateInstructions(opts: RelocateInstructionsOptions): RelocatedInstructions {
  checkKeys(OP, 'relocateInstructions options', opts, ['instructions', 'relocations', 'localTypes', 'kernelTypes', 'kernelModules', 'funcInfo', 'lineInfo', 'name']);
  if (!(opts.localTypes instanceof Btf)) throw invalid(OP, `"localTypes" must be a Btf, got ${describe(opts.localTypes)}`);
  checkTypesSource(OP, 'kernelTypes', opts.kernelTypes);
  if (!(opts.instructions instanceof Uint8Array) || opts.instructions.length % 8)
    throw invalid(OP, `"instructions" must be bytecode (8 bytes per slot), got ${describe(opts.instructions)}`);
  if (!Array.isArray(opts.relocations)) throw invalid(OP, `"relocations" must be an array, got ${describe(opts.relocations)}`);
  const slots = opts.instructions.length / 8;
  for (const r of opts.relocations) {
    if (!Number.isInteger(r.instruction) || r.instruction < 0 || r.instruction >= slots || !CoreRelocationKinds.includes(r.kind) || typeof r.accessString !== 'string' || !Number.isInteger(r.typeId) || r.typeId < 0)
      throw invalid(OP, `bad relocation ${JSON.stringify(r)}: it needs an instruction slot below ${slots}, a typeId, an accessString and a kind of CoreRelocationKinds`);
  }
  for (const k of ['funcInfo', 'lineInfo'] as const) {
    const v = opts[k];
    if (v !== undefined && (!(v instanceof Uint8Array) || v.length % (k === 'funcInfo' ? 8 : 16)))
      throw invalid(OP, `"${k}" must be bytes of ${k === 'funcInfo' ? 8 : 16}-byte records, got ${describe(v)}`);
  }
  const pseudo = {
    name: opts.name ?? '(instructions)',
    instructions: opts.instructions,
    coreRelocations: opts.relocations,
    funcInfo: opts.funcInfo ?? new Uint8Array(0),
    lineInfo: opts.lineInfo ?? new Uint8Array(0),
  } as unknown as CollectionProgramSpec;
  const c = core();
  const targets = opts.relocations.length ? targetsFor(opts.kernelTypes, OP, opts.kernelModules) : undefined;
  const out = relocateOutcome(c, opts.localTypes, pseudo, targets);
  return {
    instructions: out.instructions,
    results: out.results,
    ...(out.btf ? { btf: out.btf, funcInfo: out.funcInfo!, lineInfo: out.lineInfo! } : {}),
  };
}

/** What each CO-RE relocation of a program returned by {@link applyCoRe} resolved to; undefined for other specs. */
export function coreRelocationResults(program: CollectionProgramSpec): CoreRelocationResult[] | undefined {
  return records.get(program)?.results.map((r) => ({ ...r }));
}

/**
 * Explains a failed load of a program returned by {@link applyCoRe} (or resolveExterns): when
 * the verifier rejected a poisoned instruction, a VerifierError (same log) whose message
 * names the relocation, the program and the source line; when it rejected a call of a
 * missing weak kfunc, one naming the kfunc. Other errors come back unchanged.
 */
export function explainLoadError(program: CollectionProgramSpec, error: unknown): unknown {
  if (!(error instanceof VerifierError)) return error;
  const rec = records.get(program);
  const lines = error.log;
  const failed = (helperId: number): number | undefined => {
    for (let i = lines.length - 1; i >= 0; i--) {
      const m = new RegExp(`^(\\d+): \\(85\\) call (?:unknown)?#${helperId}\\b`).exec(lines[i]!);
      if (m) return Number(m[1]);
    }
    return undefined;
  };
  if (rec && lines.some((l) => l.includes(`unknown#${TSBPF_CORE_POISON_HELPER}`))) {
    const at = failed(TSBPF_CORE_POISON_HELPER);
    // The failing call is the poisoned instruction (or the second half of a poisoned 64-bit load).
    const r =
      rec.results.find((x, i) => x.status === 'poisoned' && at !== undefined && at >= x.instruction && at < x.instruction + rec.slots[i]!) ??
      rec.results.find((x) => x.status === 'poisoned');
    if (r) {
      const where = r.source ? ` [${r.source.file}:${r.source.line}: ${r.source.text}]` : '';
      return new VerifierError({
        command: error.command,
        errno: error.errno,
        reason: `program ${rec.program}: the verifier reached instruction ${at ?? r.instruction}, poisoned by CO-RE relocation #${r.index} (${r.kind} of ${r.description}): ${r.reason ?? 'unsatisfied'}${where}`,
        log: lines,
        truncated: error.truncated,
        advice: 'guard the access with bpf_core_field_exists()/bpf_core_type_exists(), or relocate against types that have it',
      });
    }
  }
  const kfunc = lines.map((l) => new RegExp(`unknown#(${TSBPF_KFUNC_POISON_BASE}|20020\\d{5})\\b`).exec(l)).find((m) => m);
  if (kfunc) {
    const idx = Number(kfunc[1]) - TSBPF_KFUNC_POISON_BASE;
    const name = externPoisons.get(program)?.[idx] ?? `extern #${idx}`;
    return new VerifierError({
      command: error.command,
      errno: error.errno,
      reason: `program ${program.name}: it calls kfunc ${name}, which this kernel does not have (a weak extern resolved to nothing), and the verifier reached the call`,
      log: lines,
      truncated: error.truncated,
      advice: 'guard the call with bpf_ksym_exists(), or run on a kernel with the kfunc',
    });
  }
  return error;
}

// ---- externs ------------------------------------------------------------------------------

/** What an extern resolved to. */
export type ExternValue =
  /** A .kconfig value: its bytes in the .kconfig map. */
  | { kind: 'kconfig'; name: string; bytes: Buffer; found: boolean }
  /** A typed __ksym variable or a kfunc: its BTF id, in vmlinux or a module. */
  | { kind: 'ksym' | 'kfunc'; name: string; btfId: number; module?: string }
  /** An untyped __ksym variable: its address from /proc/kallsyms. */
  | { kind: 'ksym'; name: string; address: bigint }
  /** A weak extern the kernel does not define: it reads 0 (a kfunc call is poisoned). */
  | { kind: 'ksym' | 'kfunc' | 'kconfig'; name: string; missing: true };

/** Options of {@link resolveExterns}. */
export interface ExternOptions {
  /** Where __ksym variables and kfuncs are looked up instead of the running kernel's BTF. */
  kernelTypes?: TypesSource;
  /** As {@link CoReOptions.kernelModules}. */
  kernelModules?: Readonly<Record<string, Btf>>;
  /**
   * The kernel configuration: CONFIG_* values by name ('y', 'm', '"text"', '100'), or the
   * path of a config file (plain or gzipped). Default: /boot/config-$(uname -r), else
   * /proc/config.gz.
   */
  kernelConfig?: Readonly<Record<string, string>> | string;
  /** The path of the kallsyms file untyped ksyms are read from (default /proc/kallsyms). */
  kallsyms?: string;
  /**
   * Only the externs these programs refer to (by name); default every extern of the spec.
   * A strong extern the kernel lacks fails only the programs that use it.
   */
  programs?: readonly string[];
}

/** Where the loader must put a module's BTF object fd. */
export interface ModuleBtfUse {
  /** The module (its name under /sys/kernel/btf). */
  module: string;
  /** Its index in BPF_PROG_LOAD's fd_array, which its kfunc calls carry in their offset. */
  fdArrayIndex: number;
  /** 64-bit loads (typed ksyms, kfunc addresses) whose second immediate must hold the module's BTF fd. */
  loads: Array<{ program: string; instruction: number }>;
}

/** The result of {@link resolveExterns}. */
export interface ExternResolution {
  /** A copy of the spec with ksym and kfunc references patched (and removed from `relocations`). */
  spec: CollectionSpec;
  /** The contents of the .kconfig map (spec.kconfigSize bytes); undefined without kconfig externs. */
  kconfig: Buffer | undefined;
  /** Module BTF the programs refer to; empty when everything is in vmlinux. */
  modules: ModuleBtfUse[];
  /** What every extern resolved to, by name. */
  values: Record<string, ExternValue>;
}

/** Names of missing weak kfuncs by poison index, under a symbol key of the program spec (as RECORD). */
const POISONS = Symbol('tsbpf.kfuncPoisons');
const externPoisons = {
  get(p: CollectionProgramSpec): Record<number, string> | undefined {
    return (p as unknown as Record<symbol, Record<number, string> | undefined>)[POISONS];
  },
  set(p: CollectionProgramSpec, v: Record<number, string>): void {
    (p as unknown as Record<symbol, Record<number, string>>)[POISONS] = v;
  },
};

let kernelConfigCache: Map<string, string> | undefined;

/** Parses kernel config text ("CONFIG_X=value" lines) into a map. */
export function parseKernelConfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(CONFIG_\w+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

function readConfigFile(path: string): Map<string, string> {
  const raw = readKernelFile(path);
  const gz = raw.length > 2 && raw[0] === 0x1f && raw[1] === 0x8b;
  return parseKernelConfig((gz ? gunzipSync(raw) : raw).toString('utf8'));
}

/**
 * The running kernel's configuration, from /boot/config-$(uname -r) or /proc/config.gz
 * (CONFIG_IKCONFIG_PROC), read once per process. Throws ENOENT when neither exists.
 */
export function kernelConfig(): Map<string, string> {
  if (kernelConfigCache) return kernelConfigCache;
  const paths = [`/boot/config-${kernelRelease()}`, '/proc/config.gz'];
  for (const p of paths) {
    try {
      kernelConfigCache = readConfigFile(p);
      return kernelConfigCache;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue;
      // Deno without --allow-read of /boot throws NotCapable, which has no errno.
      throw new BpfError({
        command: EXTERN_OP, errno: errnoValue(code ?? 'EACCES') ?? 13, reason: `cannot read ${p}: ${(e as Error).message}`, cause: e,
        advice: 'grant read access to the kernel config (Deno: --allow-read=/boot,/proc), or pass options.kernelConfig',
      });
    }
  }
  throw new BpfError({ command: EXTERN_OP, errno: 2, reason: `no kernel config in ${paths.join(' or ')}`, advice: 'enable CONFIG_IKCONFIG_PROC or install the config under /boot' });
}

export { kernelVersionCode };

/** The prefix of syscall wrappers on this architecture (libbpf's arch_specific_syscall_pfx). */
function syscallPrefix(): string | undefined {
  const map: Record<string, string> = {
    x64: 'x64', ia32: 'ia32', arm64: 'arm64', arm: 'arm', s390x: 's390x', s390: 's390',
    riscv64: 'riscv', ppc64: 'powerpc64', ppc: 'powerpc', loong64: 'loongarch', mips: 'mips', mipsel: 'mips',
  };
  return map[arch()];
}

/** Addresses of kernel symbols from kallsyms, for the names asked. Zero addresses (kptr_restrict) are an error. */
function kallsymsAddresses(path: string, names: Set<string>): Map<string, bigint> {
  const out = new Map<string, bigint>();
  if (!names.size) return out;
  const text = readKernelFile(path).toString('utf8');
  let hidden = false;
  for (const line of text.split('\n')) {
    const sp1 = line.indexOf(' ');
    const sp2 = line.indexOf(' ', sp1 + 1);
    if (sp1 < 0 || sp2 < 0) continue;
    const tab = line.indexOf('\t', sp2 + 1);
    const name = line.slice(sp2 + 1, tab < 0 ? undefined : tab);
    if (!names.has(name)) continue;
    const addr = BigInt(`0x${line.slice(0, sp1)}`);
    if (addr === 0n) {
      hidden = true;
      continue;
    }
    const known = out.get(name);
    if (known !== undefined && known !== addr)
      throw new BpfError({ command: EXTERN_OP, errno: 22, reason: `ksym ${name} is ambiguous: kallsyms has it at 0x${known.toString(16)} and 0x${addr.toString(16)}`, advice: '' });
    out.set(name, addr);
  }
  if (hidden && out.size < names.size)
    throw new BpfError({ command: EXTERN_OP, errno: 1, reason: `${path} shows no addresses`, advice: 'run as root, or lower the kernel.kptr_restrict sysctl' });
  return out;
}

function kernelHasSyscallWrapper(targets: Targets, kallsymsPath: string): boolean {
  const prefix = syscallPrefix();
  if (!prefix) return false;
  const name = `__${prefix}_sys_bpf`;
  if (targets.main.typesByName(name, 'FUNC').length) return true;
  try {
    return kallsymsAddresses(kallsymsPath, new Set([name])).size > 0;
  } catch {
    return false;
  }
}

function checkExternOptions(opts: ExternOptions): void {
  checkKeys(EXTERN_OP, 'extern options', opts, ['kernelTypes', 'kernelModules', 'kernelConfig', 'kallsyms', 'programs']);
  if (opts.programs !== undefined && (!Array.isArray(opts.programs) || opts.programs.some((p) => typeof p !== 'string')))
    throw invalid(EXTERN_OP, `"programs" must be an array of program names, got ${describe(opts.programs)}`);
  checkTypesSource(EXTERN_OP, 'kernelTypes', opts.kernelTypes);
  if (opts.kernelConfig !== undefined && typeof opts.kernelConfig !== 'string' && (typeof opts.kernelConfig !== 'object' || opts.kernelConfig === null))
    throw invalid(EXTERN_OP, `"kernelConfig" must be a path or an object of CONFIG_* values, got ${describe(opts.kernelConfig)}`);
  if (opts.kallsyms !== undefined && typeof opts.kallsyms !== 'string') throw invalid(EXTERN_OP, `"kallsyms" must be a path, got ${describe(opts.kallsyms)}`);
}

/** Encodes one .kconfig value into `out` at the extern's slot. */
function encodeKconfig(c: Core, local: Btf, e: ExternSpec, value: string, out: Buffer): void {
  c.resetArena();
  const v = c.stageCString(value);
  const dst = c.stageAlloc(e.size);
  const ret = c.fn.tsbpf_kconfig_encode(Btf.handleOf(local).ptr as Ptr<'tsbpf_btf'>, e.btfId, v as Ptr<'char'>, dst as Ptr<'uint8_t'>, e.size);
  if (ret < 0) throw c.error(ret, EXTERN_OP);
  out.set(c.bytes(dst, e.size), e.offset);
}

type KsymAnswer = { found: true; target: number; id: number } | { found: false; incompatible: boolean; reason: string };

function findKsym(c: Core, local: Btf, e: ExternSpec, btfs: Btf[]): KsymAnswer {
  c.resetArena();
  const arr = c.stageAlloc(btfs.length * 4 || 4);
  const out = c.stageAlloc(4);
  const dv = c.mem.dv;
  btfs.forEach((b, i) => dv.setUint32(arr + i * 4, Btf.handleOf(b).ptr, true));
  const r = c.fn.tsbpf_core_find_ksym(Btf.handleOf(local).ptr as Ptr<'tsbpf_btf'>, e.btfId, arr as Ptr<'tsbpf_btf *'>, btfs.length, out as Ptr<'uint32_t'>);
  if (r > 0) return { found: true, target: c.mem.dv.getUint32(out, true), id: r };
  const err = c.error(r, EXTERN_OP);
  if (err.code === 'ENOENT' || /incompatible/.test(err.reason)) return { found: false, incompatible: err.code !== 'ENOENT', reason: err.reason };
  throw err;
}

/**
 * Resolves the externs of `spec` that the kernel defines and returns what the loader needs:
 *  - `kconfig`: the .kconfig map's contents. LINUX_KERNEL_VERSION (the running kernel's
 *    KERNEL_VERSION), LINUX_HAS_SYSCALL_WRAPPER, LINUX_HAS_BPF_COOKIE and CONFIG_* values
 *    from the kernel config, encoded by the extern's type (libbpf's rules: bool, tristate,
 *    char, integers, char arrays). Missing weak values read 0; a missing strong one throws.
 *  - typed __ksym variables and kfuncs patched with their BTF ids (a 64-bit load with
 *    BPF_PSEUDO_BTF_ID; a call with BPF_PSEUDO_KFUNC_CALL), untyped __ksym variables with
 *    their address from /proc/kallsyms. A missing weak one reads 0, and a call of a missing
 *    weak kfunc is poisoned (rejected by the verifier only if reachable).
 *  - `modules`: module BTF objects whose fds the loader must add (fd_array, imm2).
 * The relocations of kinds 'ksym' and 'kfunc' are removed from the copy's programs; the
 * loader still writes the .kconfig map's fd for relocations of kind 'kconfig'.
 * Throws BpfError naming the extern when a strong one cannot be resolved. kfuncs need
 * Linux 5.13 (5.18 for module kfuncs), typed ksyms 5.10, reading kallsyms root.
 */
export function resolveExterns(spec: CollectionSpec, opts: ExternOptions = {}): ExternResolution {
  checkExternOptions(opts);
  const out = spec.clone();
  const values: Record<string, ExternValue> = Object.create(null) as Record<string, ExternValue>;
  const progNames = opts.programs ?? Object.keys(spec.programs);
  for (const name of progNames) if (!spec.programs[name]) throw invalid(EXTERN_OP, `no program named "${name}" in the collection`);
  const used = new Set<string>();
  for (const name of progNames)
    for (const r of spec.programs[name]!.relocations) if ('extern' in r) used.add(r.extern);
  // Every extern when all programs are asked for (an unreferenced one too, as libbpf); else those used.
  const externs = Object.values(spec.externs).filter((e) => opts.programs === undefined || used.has(e.name));
  const local = spec.types;
  const c = core();
  let targets: Targets | undefined;
  const getTargets = (): Targets => (targets ??= targetsFor(opts.kernelTypes, EXTERN_OP, opts.kernelModules));
  const kallsymsPath = opts.kallsyms ?? '/proc/kallsyms';

  // .kconfig
  let kconfig: Buffer | undefined;
  const kconfigExterns = externs.filter((e) => e.kind === 'kconfig');
  if (kconfigExterns.length) {
    if (!local) throw invalid(EXTERN_OP, 'kconfig externs need the object\'s BTF');
    kconfig = Buffer.alloc(spec.kconfigSize);
    let config: Map<string, string> | undefined;
    const configValue = (name: string): string | undefined => {
      if (!config) {
        const src = opts.kernelConfig;
        config = src === undefined ? kernelConfig() : typeof src === 'string' ? readConfigFile(src) : new Map(Object.entries(src));
      }
      return config.get(name);
    };
    for (const e of kconfigExterns) {
      let value: string | undefined;
      if (e.name === 'LINUX_KERNEL_VERSION') value = String(kernelVersionCode());
      else if (e.name === 'LINUX_HAS_SYSCALL_WRAPPER') value = kernelHasSyscallWrapper(getTargets(), kallsymsPath) ? '1' : '0';
      else if (e.name === 'LINUX_HAS_BPF_COOKIE') {
        const r: FeatureResult = helper(ProgramType.Tracepoint, Helper.getAttachCookie);
        value = r.verdict === 'yes' ? '1' : '0';
      } else if (e.name.startsWith('CONFIG_')) value = configValue(e.name);
      else throw invalid(EXTERN_OP, `.kconfig extern ${e.name} is neither CONFIG_* nor one of LINUX_KERNEL_VERSION, LINUX_HAS_SYSCALL_WRAPPER, LINUX_HAS_BPF_COOKIE`);
      if (value === undefined) {
        if (!e.weak)
          throw new BpfError({ command: EXTERN_OP, errno: 2, reason: `.kconfig extern ${e.name}: this kernel's config does not set it`, advice: 'declare it __weak to read 0 when it is not set' });
        values[e.name] = { kind: 'kconfig', name: e.name, missing: true };
        continue;
      }
      encodeKconfig(c, local, e, value, kconfig);
      values[e.name] = { kind: 'kconfig', name: e.name, bytes: Buffer.from(kconfig.subarray(e.offset, e.offset + e.size)), found: true };
    }
  }

  // __ksym variables and kfuncs
  const symbolExterns = externs.filter((e) => e.kind === 'ksym' || e.kind === 'kfunc');
  const modules: ModuleBtfUse[] = [];
  const moduleUse = (name: string): ModuleBtfUse => {
    let m = modules.find((x) => x.module === name);
    if (!m) modules.push((m = { module: name, fdArrayIndex: modules.length + 1, loads: [] }));
    return m;
  };
  type Resolved = { how: 'btf'; id: number; module?: string } | { how: 'addr'; address: bigint } | { how: 'missing' };
  const resolved = new Map<string, Resolved>();
  const untyped = symbolExterns.filter((e) => e.kind === 'ksym' && (!local || !e.btfId || typeOfVar(local, e.btfId) === 0));
  const addresses = untyped.length ? kallsymsAddresses(kallsymsPath, new Set(untyped.map((e) => e.name))) : new Map<string, bigint>();
  for (const e of symbolExterns) {
    if (untyped.includes(e)) {
      const a = addresses.get(e.name);
      if (a !== undefined) {
        resolved.set(e.name, { how: 'addr', address: a });
        values[e.name] = { kind: 'ksym', name: e.name, address: a };
      } else if (e.weak) {
        resolved.set(e.name, { how: 'missing' });
        values[e.name] = { kind: 'ksym', name: e.name, missing: true };
      } else throw new BpfError({ command: EXTERN_OP, errno: 2, reason: `ksym ${e.name}: not in ${kallsymsPath}`, advice: 'declare it __weak to read 0 when the kernel lacks it' });
      continue;
    }
    if (!local || !e.btfId) throw invalid(EXTERN_OP, `${e.kind} ${e.name} needs the object's BTF`);
    const t = getTargets();
    let answer = findKsym(c, local, e, [t.main]);
    let names = [t.mainName];
    if (!answer.found && !answer.incompatible && t.modules) {
      const mods = t.modules();
      if (mods.length) {
        answer = findKsym(c, local, e, [t.main, ...mods.map((m) => m.btf)]);
        names = [t.mainName, ...mods.map((m) => m.name)];
      }
    }
    if (answer.found) {
      const module = answer.target > 0 ? names[answer.target] : undefined;
      resolved.set(e.name, { how: 'btf', id: answer.id, ...(module ? { module } : {}) });
      values[e.name] = { kind: e.kind as 'ksym' | 'kfunc', name: e.name, btfId: answer.id, ...(module ? { module } : {}) };
      if (module) moduleUse(module);
    } else if (e.weak) {
      resolved.set(e.name, { how: 'missing' });
      values[e.name] = { kind: e.kind as 'ksym' | 'kfunc', name: e.name, missing: true };
    } else {
      throw new BpfError({ command: EXTERN_OP, errno: answer.incompatible ? 22 : 2, reason: answer.reason, advice: answer.incompatible ? '' : 'declare it __weak to run on kernels without it' });
    }
  }
  const externIndex = new Map(Object.keys(spec.externs).map((e, i) => [e, i]));
  for (const name of progNames) {
    const prog = out.programs[name]!;
    const uses = prog.relocations.filter((r) => r.kind === 'ksym' || r.kind === 'kfunc');
    if (!uses.length) continue;
    c.resetArena();
    const insns = c.stage(prog.instructions);
    const poisons: Record<number, string> = {};
    for (const r of uses) {
      const ext = (r as { extern: string }).extern;
      const how = resolved.get(ext);
      if (!how) continue;
      const idx = externIndex.get(ext) ?? 0;
      let ret: number;
      if (how.how === 'addr') ret = c.fn.tsbpf_extern_patch(insns as Ptr<'uint8_t'>, prog.instructions.length / 8, r.instruction, TSBPF_PATCH_ADDR, how.address, 0);
      else if (how.how === 'missing') {
        ret = r.kind === 'kfunc'
          ? c.fn.tsbpf_extern_patch(insns as Ptr<'uint8_t'>, prog.instructions.length / 8, r.instruction, TSBPF_PATCH_KFUNC_POISON, 0n, idx)
          : c.fn.tsbpf_extern_patch(insns as Ptr<'uint8_t'>, prog.instructions.length / 8, r.instruction, TSBPF_PATCH_ADDR, 0n, 0);
        if (r.kind === 'kfunc') poisons[idx] = ext;
      } else {
        const fdIndex = how.module ? moduleUse(how.module).fdArrayIndex : 0;
        ret = r.kind === 'kfunc'
          ? c.fn.tsbpf_extern_patch(insns as Ptr<'uint8_t'>, prog.instructions.length / 8, r.instruction, TSBPF_PATCH_KFUNC, BigInt(how.id), fdIndex)
          : c.fn.tsbpf_extern_patch(insns as Ptr<'uint8_t'>, prog.instructions.length / 8, r.instruction, TSBPF_PATCH_BTF_ID, BigInt(how.id), 0);
        if (ret === 2 && how.module) moduleUse(how.module).loads.push({ program: name, instruction: r.instruction });
      }
      if (ret < 0) throw c.error(ret, `${EXTERN_OP}: program ${name}: ${ext}`);
    }
    const patched: CollectionProgramSpec = {
      ...prog,
      instructions: c.bytes(insns, prog.instructions.length),
      relocations: prog.relocations.filter((r) => !((r.kind === 'ksym' || r.kind === 'kfunc') && resolved.has((r as { extern: string }).extern))),
    };
    if (Object.keys(poisons).length) externPoisons.set(patched, poisons);
    out.programs[name] = patched;
  }
  return { spec: out, kconfig, modules, values };
}

/** The type a VAR declares (0 for void), through typedefs and qualifiers. */
function typeOfVar(btf: Btf, id: number): number {
  const t = btf.type(id);
  if (t.kind !== 'VAR') return -1;
  return btf.resolve(t.type);
}

/** @internal For tests: forget the cached kernel config. */
export function resetKernelConfigCache(): void {
  kernelConfigCache = undefined;
}
