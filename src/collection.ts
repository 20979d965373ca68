/**
 * Collections: a CollectionSpec (a parsed BPF object) loaded into the kernel as programs,
 * maps and global variables, as cilium/ebpf's NewCollection and libbpf's bpf_object__load
 * do.
 *
 * A load goes in three steps. First everything that can be refused without the kernel is
 * checked: the options, which programs and maps to load, the plan of every map (the core's
 * tsbpf_collection_map_plan), the CO-RE relocations and externs (the hook below, where
 * issue 7's resolver plugs in). Then the kernel objects are made in dependency order: the
 * object's BTF (rewritten for the kernel by the core's tsbpf_collection_btf), the maps
 * (inner map templates, pins, initial contents, .rodata frozen), the programs (map fds
 * written into their instructions by the core's tsbpf_collection_relocate, with the BTF,
 * func_info and line_info, so verifier logs show source lines), and last the prog arrays
 * and maps of maps, which hold the fds of the programs and maps just made. A failure at
 * any point closes (and unpins) everything this load made.
 */
import { join } from 'node:path';
import type { Core } from '../bridge/core.js';
import {
  TSBPF_COLL_PIN_BY_NAME,
  TSBPF_MAP_SRC_BTF,
  TSBPF_MAP_SRC_DATA,
  TSBPF_MAP_SRC_LEGACY,
  TSBPF_MAP_SRC_STRUCT_OPS,
  TSBPF_RELOC_CALL,
  TSBPF_RELOC_FUNC_ADDR,
  TSBPF_RELOC_KCONFIG,
  TSBPF_RELOC_MAP_FD,
  TSBPF_RELOC_MAP_VALUE,
  tsbpf_btf_load_opts as BtfLoadOpts,
  tsbpf_coll_btf as KernelBtf,
  tsbpf_coll_map as Plan,
  tsbpf_coll_reloc as Reloc,
  type Ptr,
} from '../bridge/generated/abi.js';
import { Btf, type BtfKindName } from './btf.js';
import { CollectionSpec, VariableSpec, type CollectionMapSpec, type CollectionProgramSpec, type Relocation } from './collection_spec.js';
import { BpfError, NotSupportedError, VerifierError } from './errors.js';
import { Feature, probe } from './features.js';
import { AttachType, AttachTypeNames, MapType, MapTypeNames, ProgramType } from './generated/uapi.js';
import { BpfMap, MapFlags, createMap, possibleCpus } from './map.js';
import { unpinPath } from './object.js';
import { Program, loadProgram } from './program.js';
import { core } from './runtime.js';
import { resolveCoreAndExterns } from './core_resolver.js';
import { checkKeys, describe, integer, invalid, string } from './validate.js';

const OP = 'Collection.load';
const U32_MAX = 0xffffffff;
const EINVAL = 22;
const ENOENT = 2;
const BPF_F_RDONLY_PROG = 1 << 7;
/** What tsbpf itself cannot do yet is EOPNOTSUPP; ENOTSUPP stays the kernel's answer. */
const EOPNOTSUPP = 95;

/** Options of {@link Collection.load}. */
export interface CollectionOptions {
  /**
   * Load only these programs, and the maps they use. Without it (and without `maps`) every
   * program whose section names a program type is loaded, except those whose section
   * starts with '?'.
   */
  programs?: readonly string[];
  /** Load these maps too; with `programs` omitted, only these maps (and no programs). */
  maps?: readonly string[];
  /**
   * Use an existing map instead of creating one, by name. It must match the map's type,
   * key and value sizes, max entries and flags (as the object's map would be created); the
   * collection holds a clone of it, which it neither populates nor freezes.
   */
  mapReplacements?: Readonly<Record<string, BpfMap<any, any>>>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /**
   * A directory on bpffs for maps with pinning LIBBPF_PIN_BY_NAME (and iproute2's
   * PIN_GLOBAL_NS): such a map is opened from `<pinPath>/<name>` when pinned there and
   * compatible, else created and pinned there. Required when the object has such maps.
   */
  pinPath?: string;
  /** Verifier log level of every program load (see LogLevel); logs then stay in Program.verifierLog. */
  logLevel?: number;
  /** First size of each verifier log buffer in bytes. */
  logSize?: number;
  /**
   * The types CO-RE relocations and __ksym/kfunc externs resolve against instead of the
   * running kernel's BTF: a Btf, a path, or bytes of raw BTF or of a BPF object.
   */
  kernelTypes?: Btf | string | Uint8Array;
  /**
   * CONFIG_* values for __kconfig externs (by name: 'y', 'm', '"text"', '100'), or the path
   * of a kernel config file (plain or gzipped). Default: /boot/config-$(uname -r), else
   * /proc/config.gz.
   */
  kernelConfig?: Readonly<Record<string, string>> | string;
}

const OPTION_KEYS = ['programs', 'maps', 'mapReplacements', 'pinPath', 'logLevel', 'logSize', 'kernelTypes', 'kernelConfig'] as const;

// ======================================================================================
// HOOK: CO-RE relocations and extern resolution (issue 7).
//
// One resolver: tsbpf's own (src/core_resolver.ts: applyCoRe and resolveExterns of
// src/core_relo.ts), or another installed with setExternResolver(). Collection.load calls it once per
// load, after choosing what to load and before creating anything in the kernel, with
// every program to load that has CO-RE relocations (spec.coreRelocations) or relocations
// of kind 'kconfig', 'ksym', 'kfunc' or 'extern'. The resolver:
//   - patches each program's `instructions` (a private copy of its linked stream) in
//     place: CO-RE relocations, __ksym variables (ld_imm64 of an address or BTF id),
//     kfunc calls (imm = BTF id, off = index in its fdArrays entry), anything else it
//     resolves (an undefined symbol's constant);
//   - returns the initial value of the .kconfig map (spec.kconfigSize bytes) when a
//     program has 'kconfig' relocations: the loader creates that map (an array of one
//     element, BPF_F_RDONLY_PROG, typed by the .kconfig DATASEC, frozen), exposes it as
//     collection.maps['.kconfig'] and points the relocations at it;
//   - returns fdArrays (by program name) for BPF_PROG_LOAD's fd_array, and release(),
//     which the loader calls once the load is over (success or failure);
//   - throws a BpfError (NotSupportedError for what it cannot do) naming the program and
//     the relocation or extern, to refuse.
// The loader then applies only 'map', 'mapValue', 'kconfig', 'call' and 'funcAddr'
// relocations (in the core) and takes every other instruction as the resolver left it.
// Without a resolver such programs are refused with a NotSupportedError naming what they
// need (refuseCoreAndExterns).
// ======================================================================================

/** A program handed to the extern resolver. */
export interface ResolveProgram {
  readonly name: string;
  readonly spec: CollectionProgramSpec;
  /** A private copy of spec.instructions: patch it in place. */
  readonly instructions: Uint8Array;
  /**
   * Set by the resolver when the program needs BTF of its own (CO-RE gives each program a
   * compact BTF in which TYPE_ID_LOCAL ids live): the blob, and func_info / line_info
   * renumbered for it. The loader loads it as the program's BTF instead of the object's.
   */
  btf?: Uint8Array;
  funcInfo?: Uint8Array;
  lineInfo?: Uint8Array;
  /** The program as the resolver relocated it: what explainError() is asked about. */
  relocated?: CollectionProgramSpec;
}

/** What the loader hands the extern resolver. */
export interface ResolveRequest {
  readonly spec: CollectionSpec;
  /** The programs to load that need the resolver, in load order. */
  readonly programs: readonly ResolveProgram[];
  readonly options: Readonly<CollectionOptions>;
}

/** What the extern resolver hands back. */
export interface ResolveResult {
  /** The .kconfig map's initial value: spec.kconfigSize bytes. */
  kconfig?: Uint8Array;
  /** Turns a program's load error into one that names the relocation or extern behind it. */
  explainError?(program: ResolveProgram, error: unknown): unknown;
  /** fd_array of BPF_PROG_LOAD by program name (module BTF fds that kfunc calls index). */
  fdArrays?: Readonly<Record<string, readonly number[]>>;
  /** Releases what the resolver opened (module BTF fds); called once the load is over. */
  release?(): void;
}

export type ExternResolver = (request: ResolveRequest) => ResolveResult;

/** tsbpf's own resolver (src/core_resolver.ts) until a test installs another. */
let externResolver: ExternResolver | undefined = resolveCoreAndExterns;

/**
 * @internal Installs the CO-RE and extern resolver (issue 7's src/core_relo.ts), or removes
 * it with undefined. Returns the one it replaces.
 */
export function setExternResolver(resolver: ExternResolver | undefined): ExternResolver | undefined {
  const old = externResolver;
  externResolver = resolver;
  return old;
}

/** Relocation kinds the resolver owns. */
const EXTERN_KINDS: ReadonlySet<Relocation['kind']> = new Set(['kconfig', 'ksym', 'kfunc', 'extern']);

function needsResolver(p: CollectionProgramSpec): boolean {
  return p.coreRelocations.length > 0 || p.relocations.some((r) => EXTERN_KINDS.has(r.kind));
}

/** The refusal without a resolver: what the first such program needs, in words. */
function refuseCoreAndExterns(spec: CollectionSpec, name: string): NotSupportedError {
  const p = spec.programs[name]!;
  const needs: string[] = [];
  const features: string[] = [];
  if (p.coreRelocations.length) {
    const r = p.coreRelocations[0]!;
    let type = `type [${r.typeId}]`;
    try {
      if (spec.types) type = spec.types.typeName(r.typeId);
    } catch {
      /* the id alone then */
    }
    const n = p.coreRelocations.length;
    needs.push(
      `${n === 1 ? 'a CO-RE relocation' : `${n} CO-RE relocations`} (${n === 1 ? '' : 'first: '}${r.kind} of ${type}, ` +
        `access ${r.accessString}, instruction ${r.instruction})`,
    );
    features.push('CO-RE relocations');
  }
  const byKind = (kind: Relocation['kind']): string[] => [
    ...new Set(p.relocations.filter((r) => r.kind === kind).map((r) => (r as { extern: string }).extern)),
  ];
  const kconfig = byKind('kconfig');
  if (kconfig.length) {
    needs.push(`the kconfig values ${kconfig.join(', ')} (__kconfig externs)`);
    features.push('__kconfig externs');
  }
  const ksym = byKind('ksym');
  if (ksym.length) {
    needs.push(`the kernel symbols ${ksym.join(', ')} (__ksym externs)`);
    features.push('__ksym externs');
  }
  const kfunc = byKind('kfunc');
  if (kfunc.length) {
    needs.push(`the kernel functions ${kfunc.join(', ')} (kfuncs)`);
    features.push('kfunc calls');
  }
  const other = byKind('extern');
  if (other.length) {
    needs.push(`${other.join(', ')}, which the object refers to but does not define`);
    features.push('undefined symbols');
  }
  const advice = other.length
    ? 'define the symbol in the object, or link the objects that define it first (bpftool gen object); or leave the program out with options.programs'
    : 'leave the program out with options.programs until tsbpf resolves them';
  return new NotSupportedError({
    feature: features.join(', '),
    minKernel: '',
    command: OP,
    errno: EOPNOTSUPP,
    reason: `program "${name}" needs ${needs.join('; ')}: tsbpf does not resolve ${features.join(' or ')} yet`,
    advice,
  });
}

// ---- variables ---------------------------------------------------------------------------

const KEY0 = new Uint8Array(4);

/**
 * A global variable of a loaded collection: `size` bytes at `offset` of its data map's
 * value. Reads and writes go through the map's memory when the map is mapped into this
 * process (BPF_F_MMAPABLE, Linux 5.5: no syscall), else through lookup and update.
 * Variables of .rodata sections are read-only: the map is frozen once loaded.
 */
export class Variable {
  readonly name: string;
  /** The data map (section) holding it: ".data", ".bss", ".rodata", ... */
  readonly mapName: string;
  readonly offset: number;
  readonly size: number;
  /** The VAR in the object's BTF (0 without BTF). */
  readonly typeId: number;
  /** True in a frozen map (.rodata): set() throws. */
  readonly readOnly: boolean;
  readonly #map: BpfMap;
  #mem: Buffer | null | undefined;

  /** @internal */
  constructor(spec: VariableSpec, map: BpfMap, readOnly: boolean) {
    this.name = spec.name;
    this.mapName = spec.mapName;
    this.offset = spec.offset;
    this.size = spec.size;
    this.typeId = spec.typeId;
    this.readOnly = readOnly;
    this.#map = map;
  }

  /**
   * A live view of the variable's bytes in the map's memory, when the map is mapped into
   * this process and writable; undefined otherwise. Writes are seen by programs at once.
   */
  get memory(): Buffer | undefined {
    const mem = this.#memory();
    return mem ? mem.subarray(this.offset, this.offset + this.size) : undefined;
  }

  /** The variable's current bytes (a copy). */
  get(): Buffer {
    const mem = this.#memory();
    if (mem) return Buffer.from(mem.subarray(this.offset, this.offset + this.size));
    const value = this.#map.lookup(KEY0);
    if (!value) throw new BpfError({ command: 'Variable.get', errno: ENOENT, reason: `map ${this.mapName} has no element 0` });
    return Buffer.from(value.subarray(this.offset, this.offset + this.size));
  }

  /**
   * Writes the variable: bytes of exactly `size`, or an integer for a variable of 1, 2, 4
   * or 8 bytes (little endian; negative numbers in two's complement).
   */
  set(value: Uint8Array | number | bigint): void {
    if (this.readOnly)
      throw new BpfError({
        command: 'Variable.set',
        errno: 1,
        reason: `variable ${this.name} is in ${this.mapName}, which is frozen once loaded`,
        advice: 'set read-only variables in the CollectionSpec (spec.variables[name].set()) before loading',
      });
    const bytes = Buffer.alloc(this.size);
    new VariableSpec(this.name, this.mapName, 0, this.size, this.typeId, false, bytes).set(value);
    const mem = this.#memory();
    if (mem) {
      mem.set(bytes, this.offset);
      return;
    }
    const whole = this.#map.lookup(KEY0);
    if (!whole) throw new BpfError({ command: 'Variable.set', errno: ENOENT, reason: `map ${this.mapName} has no element 0` });
    whole.set(bytes, this.offset);
    this.#map.update(KEY0, whole);
  }

  #memory(): Buffer | undefined {
    if (this.#mem === undefined) {
      this.#mem = null;
      const m = this.#map;
      if (!this.readOnly && m.type === MapType.Array && m.flags & MapFlags.Mmapable) {
        try {
          this.#mem = m.memory();
        } catch {
          /* a runtime without mmap: lookup and update instead */
        }
      }
    }
    if (this.#mem && this.#map.closed) throw new BpfError({ command: 'Variable', errno: 9, reason: `the collection of variable ${this.name} is closed` });
    return this.#mem ?? undefined;
  }

  toString(): string {
    return `Variable(${this.name}, ${this.mapName}+${this.offset}, ${this.size} bytes${this.readOnly ? ', read-only' : ''})`;
  }
}

// ---- the collection ------------------------------------------------------------------------

const TOKEN = Symbol('Collection');

function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/**
 * Programs, maps and global variables loaded from one CollectionSpec. The collection owns
 * them: close() closes each once (maps pinned by name stay pinned). Take one out of it with
 * detachProgram()/detachMap() to keep it beyond close().
 */
export class Collection {
  /** Loaded programs by name. */
  readonly programs: Record<string, Program>;
  /** Maps by name (data sections by section name: ".data", ".rodata", ...; ".kconfig"). */
  readonly maps: Record<string, BpfMap>;
  /** Global variables of the loaded data maps, by name. */
  readonly variables: Record<string, Variable>;
  #closed = false;

  /** @internal */
  constructor(token: symbol, programs: Record<string, Program>, maps: Record<string, BpfMap>, variables: Record<string, Variable>) {
    if (token !== TOKEN) throw new TypeError('use Collection.load() to get a Collection');
    this.programs = programs;
    this.maps = maps;
    this.variables = variables;
  }

  /**
   * Loads a CollectionSpec into the kernel (see the module comment for the steps). Throws
   * BpfError naming the program or map that failed (`program "xdp_prog": ...`;
   * VerifierError with the verifier's log and the C source line it stopped at),
   * NotSupportedError for programs needing CO-RE relocations or externs that no resolver
   * handles, for struct_ops maps and for extension programs. Nothing is left behind by a
   * failed load. Requires Linux 4.18 for BTF (5.2 for global data, 5.5 to map it).
   */
  static load(spec: CollectionSpec, options: CollectionOptions = {}): Collection {
    return new Loader(spec, options).run();
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Removes a program from the collection and hands it over: close() no longer closes it. */
  detachProgram(name: string): Program {
    const p = this.programs[name];
    if (!p) throw invalid('Collection.detachProgram', `no program named ${JSON.stringify(name)} in this collection`);
    delete this.programs[name];
    return p;
  }

  /** Removes a map from the collection and hands it over (its variables stay usable while it is open). */
  detachMap(name: string): BpfMap {
    const m = this.maps[name];
    if (!m) throw invalid('Collection.detachMap', `no map named ${JSON.stringify(name)} in this collection`);
    delete this.maps[name];
    return m;
  }

  /** Closes every program and map of the collection. Calling it again does nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of Object.values(this.programs)) p.close();
    for (const m of Object.values(this.maps)) m.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return `Collection(${Object.keys(this.programs).length} programs, ${Object.keys(this.maps).length} maps${this.#closed ? ', closed' : ''})`;
  }
}

// ---- the loader ------------------------------------------------------------------------------

interface MapPlan {
  kernelName: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  keyTypeId: number;
  valueTypeId: number;
  pinByName: boolean;
  freeze: boolean;
}

/** A map this load made or opened, and whether the load may write its initial contents. */
interface LoadedMap {
  map: BpfMap;
  populate: boolean;
}

/** The kernel's version of an object's BTF (a pure function of it), made once per spec's BTF. */
const kernelBtf = new WeakMap<Btf, Buffer>();

const FD_VALUE_TYPES: ReadonlySet<number> = new Set([MapType.ProgArray, MapType.ArrayOfMaps, MapType.HashOfMaps]);

class Loader {
  readonly #spec: CollectionSpec;
  readonly #opts: CollectionOptions;
  readonly #c: Core;
  #programNames: string[] = [];
  #mapNames: string[] = [];
  #btfFd = 0;
  #mmapable = false;
  readonly #maps = new Map<string, LoadedMap>();
  readonly #programs = new Map<string, Program>();
  readonly #pinned: string[] = [];
  #kconfig: BpfMap | undefined;
  #resolved: ResolveResult | undefined;
  readonly #patched = new Map<string, Uint8Array>();
  /** Programs the resolver handled, by name (their own BTF, their relocated spec). */
  readonly #resolvedPrograms = new Map<string, ResolveProgram>();
  readonly #attachIds = new Map<string, number>();

  constructor(spec: CollectionSpec, opts: CollectionOptions) {
    if (!(spec instanceof CollectionSpec)) throw invalid(OP, `expected a CollectionSpec (from loadCollectionSpec), got ${describe(spec)}`);
    checkKeys(OP, 'CollectionOptions', opts, OPTION_KEYS);
    this.#spec = spec;
    this.#opts = opts;
    this.#c = core();
  }

  run(): Collection {
    this.#choose();
    this.#refuseEarly();
    try {
      this.#resolve();
      this.#mmapable = probe(Feature.MmapableMaps, this.#c).verdict === 'yes';
      if (this.#spec.types) this.#btfFd = this.#loadBtf(this.#spec.types);
      for (const name of this.#mapNames) this.#maps.set(name, this.#loadMap(name));
      this.#loadKconfig();
      for (const name of this.#programNames) this.#programs.set(name, this.#loadProgram(name));
      for (const name of this.#mapNames) this.#populateFds(name);
      return this.#finish();
    } catch (e) {
      this.#abort();
      throw e;
    } finally {
      if (this.#btfFd) this.#c.closeFd(this.#btfFd);
      this.#btfFd = 0;
      this.#resolved?.release?.();
    }
  }

  // ---- step 1: what to load, and what to refuse before the kernel is asked ----------------

  #choose(): void {
    const spec = this.#spec;
    const o = this.#opts;
    const names = (key: 'programs' | 'maps', known: Record<string, unknown>): string[] | undefined => {
      const v = o[key];
      if (v === undefined) return undefined;
      if (!Array.isArray(v)) throw invalid(OP, `"${key}" must be an array of names, got ${describe(v)}`);
      for (const n of v) {
        if (typeof n !== 'string') throw invalid(OP, `"${key}" must hold names (strings), got ${describe(n)}`);
        if (!Object.hasOwn(known, n))
          throw invalid(OP, `"${key}" names ${JSON.stringify(n)}, which the object does not define (it has: ${Object.keys(known).join(', ') || 'none'})`);
      }
      return [...new Set(v as string[])];
    };
    const progs = names('programs', spec.programs);
    const maps = names('maps', spec.maps);
    if (o.mapReplacements !== undefined) {
      if (typeof o.mapReplacements !== 'object' || o.mapReplacements === null)
        throw invalid(OP, `"mapReplacements" must be an object of BpfMaps by name, got ${describe(o.mapReplacements)}`);
      for (const [n, m] of Object.entries(o.mapReplacements)) {
        if (!Object.hasOwn(spec.maps, n)) throw invalid(OP, `"mapReplacements" names map ${JSON.stringify(n)}, which the object does not define`);
        if (!(m instanceof BpfMap)) throw invalid(OP, `"mapReplacements.${n}" must be a BpfMap, got ${describe(m)}`);
      }
    }
    if (o.pinPath !== undefined) string(OP, 'pinPath', o.pinPath);
    if (o.logLevel !== undefined) integer(OP, 'logLevel', o.logLevel, 0, U32_MAX);
    if (o.logSize !== undefined) integer(OP, 'logSize', o.logSize, 0, U32_MAX);
    if (o.kernelTypes !== undefined && !(o.kernelTypes instanceof Btf) && typeof o.kernelTypes !== 'string' && !(o.kernelTypes instanceof Uint8Array))
      throw invalid(OP, `"kernelTypes" must be a Btf, a path or bytes, got ${describe(o.kernelTypes)}`);
    if (o.kernelConfig !== undefined && typeof o.kernelConfig !== 'string' && (typeof o.kernelConfig !== 'object' || o.kernelConfig === null))
      throw invalid(OP, `"kernelConfig" must be a path or an object of CONFIG_ values, got ${describe(o.kernelConfig)}`);

    if (progs) {
      for (const n of progs) {
        const p = spec.programs[n]!;
        if (!p.type)
          throw invalid(OP, `program "${n}" has no program type: section "${p.sectionName}" names none (it can still be a callee of other programs)`);
      }
      this.#programNames = progs;
    } else if (maps) {
      this.#programNames = [];
    } else {
      this.#programNames = Object.keys(spec.programs).filter((n) => spec.programs[n]!.type && spec.programs[n]!.autoload);
    }

    let mapSet: Set<string>;
    if (!progs && !maps) mapSet = new Set(Object.keys(spec.maps));
    else {
      mapSet = new Set(maps ?? []);
      for (const n of this.#programNames)
        for (const r of spec.programs[n]!.relocations) if (r.kind === 'map' || r.kind === 'mapValue') mapSet.add(r.map);
    }
    // Maps of maps bring the maps their initial slots name.
    for (const n of mapSet) {
      const m = spec.maps[n];
      if (!m) throw invalid(OP, `a program refers to map ${JSON.stringify(n)}, which the object does not define`);
      if (m.type !== MapType.ArrayOfMaps && m.type !== MapType.HashOfMaps) continue;
      for (const c of m.contents) if (typeof c.value === 'string') mapSet.add(c.value);
    }
    // Spec order, so that loads are reproducible.
    this.#mapNames = Object.keys(spec.maps).filter((n) => mapSet.has(n));
  }

  #refuseEarly(): void {
    const spec = this.#spec;
    const progs = new Set(this.#programNames);
    const replaced = this.#opts.mapReplacements ?? {};
    for (const name of this.#mapNames) {
      const m = spec.maps[name]!;
      this.#plan(m, false, { mmapable: false, haveBtf: false }); // refuses struct_ops, extra bytes, pinning
      if (m.innerMap) this.#plan(m.innerMap, true, { mmapable: false, haveBtf: false });
      if (pinsByName(m) && this.#opts.pinPath === undefined && !Object.hasOwn(replaced, name))
        throw invalid(OP, `map "${name}" is pinned by name: give "pinPath", a directory on bpffs (e.g. /sys/fs/bpf/myapp)`);
      // A program array the loader fills must get every program its slots name: one left
      // out would make tail calls into its slot miss without a word (cilium/ebpf refuses it too).
      if (m.type !== MapType.ProgArray || Object.hasOwn(replaced, name)) continue;
      for (const c of m.contents) {
        if (typeof c.value !== 'string' || progs.has(c.value)) continue;
        throw new BpfError({
          command: OP,
          errno: EINVAL,
          reason: `map "${name}" (a program array) holds program "${c.value}" in slot ${c.key}, which is not being loaded`,
          advice: `add "${c.value}" to options.programs, or pass your own "${name}" in options.mapReplacements`,
        });
      }
    }
    for (const name of this.#programNames) {
      const p = spec.programs[name]!;
      if (p.type === ProgramType.StructOps)
        throw new NotSupportedError({
          feature: 'struct_ops programs',
          minKernel: '',
          command: OP,
          errno: EOPNOTSUPP,
          reason: `program "${name}" is a struct_ops program: tsbpf does not load struct_ops yet`,
          advice: 'leave it out with options.programs',
        });
      if (p.type === ProgramType.Ext)
        throw new NotSupportedError({
          feature: 'extension programs in a collection',
          minKernel: '',
          command: OP,
          errno: EOPNOTSUPP,
          reason: `program "${name}" is an extension (freplace) of another program, which a collection load cannot name`,
          advice: 'leave it out with options.programs and load it with Program.load({ attachTarget })',
        });
      // Tracing, LSM and iterator programs: their attach target, from the kernel's BTF (a file, not a request).
      if (p.attachBtf) this.#attachIds.set(name, kernelAttachTarget(name, p));
    }
  }

  /** Runs the extern resolver (the hook above), or refuses. */
  #resolve(): void {
    const spec = this.#spec;
    const need = this.#programNames.filter((n) => needsResolver(spec.programs[n]!));
    if (!need.length) return;
    if (!externResolver) throw refuseCoreAndExterns(spec, need[0]!);
    const programs: ResolveProgram[] = need.map((name) => ({ name, spec: spec.programs[name]!, instructions: Buffer.from(spec.programs[name]!.instructions) }));
    this.#resolved = externResolver({ spec, programs, options: this.#opts });
    for (const p of programs) {
      if (p.instructions.length !== p.spec.instructions.length)
        throw new BpfError({ command: OP, errno: EINVAL, reason: `program "${p.name}": the extern resolver changed the program's length` });
      this.#patched.set(p.name, p.instructions);
      this.#resolvedPrograms.set(p.name, p);
    }
  }

  // ---- step 2: the kernel objects ---------------------------------------------------------

  #loadBtf(types: Btf): number {
    let blob = kernelBtf.get(types);
    if (!blob) {
      blob = this.#kernelBtf(types.bytes(), "the object's BTF");
      kernelBtf.set(types, blob);
    }
    return this.#sendBtf(blob, "the object's BTF");
  }

  /** BTF rewritten for the kernel in the core (extern VARs, FUNC linkage, DATASEC order). */
  #kernelBtf(bytes: Uint8Array, what: string): Buffer {
    const c = this.#c;
    c.resetArena();
    const src = c.stage(bytes);
    const out = c.struct(KernelBtf);
    const r = c.fn.tsbpf_collection_btf(src as Ptr<'void'>, bytes.length, out as Ptr<'tsbpf_coll_btf'>);
    if (r < 0) throw context(c.error(r), what);
    const data = c.u32(out, KernelBtf.data);
    const blob = c.bytes(data, c.u32(out, KernelBtf.size));
    c.free(data);
    return blob;
  }

  #sendBtf(blob: Uint8Array, what: string): number {
    const c = this.#c;
    c.resetArena();
    const data = c.stage(blob);
    const o = c.struct(BtfLoadOpts);
    c.setU32(o, BtfLoadOpts.data, data);
    c.setU32(o, BtfLoadOpts.size, blob.length);
    const fd = c.fn.tsbpf_btf_load(o as Ptr<'tsbpf_btf_load_opts'>);
    if (fd >= 0) return fd;
    const err = c.error(fd);
    const len = c.u32(o, BtfLoadOpts.log_len);
    const log = len ? c.cstring(c.u32(o, BtfLoadOpts.log), len).trim().split('\n').slice(-3).join(' / ') : '';
    throw context(err, `${what}${log ? ` (kernel BTF log: ${log})` : ''}`);
  }

  #plan(m: CollectionMapSpec, inner: boolean, k: { mmapable: boolean; haveBtf: boolean }): MapPlan {
    const c = this.#c;
    c.resetArena();
    const name = c.stageCString(m.name);
    const extra = m.extra && m.extra.length ? c.stage(m.extra) : 0;
    const p = c.struct(Plan);
    c.setU32(p, Plan.name, name);
    c.setU32(p, Plan.source, SOURCE[m.source]);
    c.setU32(p, Plan.type, m.type);
    c.setU32(p, Plan.key_size, m.keySize);
    c.setU32(p, Plan.value_size, m.valueSize);
    c.setU32(p, Plan.max_entries, m.maxEntries);
    c.setU32(p, Plan.flags, m.flags);
    c.setU32(p, Plan.pinning, m.pinning);
    c.setU32(p, Plan.key_type, m.keyTypeId);
    c.setU32(p, Plan.value_type, m.valueTypeId);
    c.setU32(p, Plan.have_btf, k.haveBtf ? 1 : 0);
    c.setU32(p, Plan.mmapable, k.mmapable ? 1 : 0);
    c.setU32(p, Plan.n_cpus, m.type === MapType.PerfEventArray || m.type === MapType.Cpumap ? possibleCpus() : 0);
    c.setU32(p, Plan.is_inner, inner ? 1 : 0);
    c.setU32(p, Plan.extra, extra);
    c.setU32(p, Plan.extra_size, m.extra ? m.extra.length : 0);
    const r = c.fn.tsbpf_collection_map_plan(p as Ptr<'tsbpf_coll_map'>);
    if (r < 0) {
      const err = c.error(r);
      if (err.code === 'ENOTSUPP')
        throw new NotSupportedError({
          feature: m.type === MapType.StructOps || m.source === 'struct_ops' ? 'struct_ops maps' : `map pinning type ${m.pinning}`,
          minKernel: '',
          command: OP,
          errno: EOPNOTSUPP,
          reason: err.reason,
          advice: 'leave the map out with options.programs and options.maps',
        });
      throw new BpfError({ command: OP, errno: err.errno, reason: err.reason, advice: '' });
    }
    return {
      kernelName: c.cstring(p + Plan.out_name.off, 16),
      keySize: c.u32(p, Plan.out_key_size),
      valueSize: c.u32(p, Plan.out_value_size),
      maxEntries: c.u32(p, Plan.out_max_entries),
      flags: c.u32(p, Plan.out_flags),
      keyTypeId: c.u32(p, Plan.out_key_type),
      valueTypeId: c.u32(p, Plan.out_value_type),
      pinByName: c.u32(p, Plan.out_pinning) === TSBPF_COLL_PIN_BY_NAME,
      freeze: c.u32(p, Plan.freeze) !== 0,
    };
  }

  #create(m: CollectionMapSpec, plan: MapPlan, inner: BpfMap | undefined): BpfMap {
    const btf = this.#btfFd && plan.valueTypeId ? { fd: this.#btfFd, keyTypeId: plan.keyTypeId, valueTypeId: plan.valueTypeId } : undefined;
    const spec = {
      type: m.type,
      keySize: plan.keySize,
      valueSize: plan.valueSize,
      maxEntries: plan.maxEntries,
      flags: plan.flags,
      name: plan.kernelName,
      ...(m.numaNode ? { numaNode: m.numaNode } : {}),
      ...(m.mapExtra ? { mapExtra: m.mapExtra } : {}),
      ...(inner ? { innerMap: inner } : {}),
    };
    try {
      return createMap(spec, btf);
    } catch (e) {
      // The kernel checks key and value types against the map type (an array's key must
      // be a 32-bit integer, not an enum): as libbpf does, create the map without them.
      if (!btf || !(e instanceof BpfError) || e.code !== 'EINVAL') throw e;
      return createMap(spec, undefined);
    }
  }

  #loadMap(name: string): LoadedMap {
    const m = this.#spec.maps[name]!;
    const plan = this.#plan(m, false, { mmapable: this.#mmapable, haveBtf: this.#btfFd !== 0 });
    const replacement = this.#opts.mapReplacements?.[name];
    if (replacement) {
      compatible(name, plan, m.type, replacement, 'the replacement');
      return { map: replacement.clone(), populate: false };
    }
    let path: string | undefined;
    if (plan.pinByName) {
      path = join(this.#opts.pinPath!, name);
      const pinned = openPin(name, path);
      if (pinned) {
        try {
          compatible(name, plan, m.type, pinned, `the map pinned at ${path}`);
        } catch (e) {
          pinned.close();
          throw e;
        }
        // A map shared through a pin keeps what others put in it.
        return { map: pinned, populate: false };
      }
    }
    let map: BpfMap;
    try {
      let template: BpfMap | undefined;
      if (m.innerMap) template = this.#create(m.innerMap, this.#plan(m.innerMap, true, { mmapable: this.#mmapable, haveBtf: this.#btfFd !== 0 }), undefined);
      try {
        map = this.#create(m, plan, template);
      } finally {
        template?.close(); // the outer map keeps what it needs of the template
      }
    } catch (e) {
      throw context(e, `map "${name}"`);
    }
    try {
      if (path) {
        map.pin(path);
        this.#pinned.push(path);
      }
      this.#writeContents(name, m, map);
      if (plan.freeze) map.freeze();
    } catch (e) {
      map.close();
      throw context(e, `map "${name}"`);
    }
    return { map, populate: true };
  }

  /** Initial contents that are bytes (global data, legacy contents); fds come last. */
  #writeContents(name: string, m: CollectionMapSpec, map: BpfMap): void {
    for (const c of m.contents) {
      if (typeof c.value === 'string') continue;
      if (m.source === 'data' && allZero(c.value)) continue; // a new array is zeroed already
      map.update(slotKey(name, map, c.key), c.value);
    }
  }

  #loadKconfig(): void {
    const spec = this.#spec;
    const users = this.#programNames.filter((n) => spec.programs[n]!.relocations.some((r) => r.kind === 'kconfig'));
    if (!users.length) return;
    const bytes = this.#resolved?.kconfig;
    if (!(bytes instanceof Uint8Array) || bytes.length !== spec.kconfigSize)
      throw new BpfError({
        command: OP,
        errno: EINVAL,
        reason: `program "${users[0]}" reads __kconfig externs, but the extern resolver gave ${bytes instanceof Uint8Array ? `${bytes.length} bytes` : 'no values'} for the ${spec.kconfigSize}-byte .kconfig map`,
      });
    let ds = 0;
    try {
      ds = spec.types?.typesByName('.kconfig', 'DATASEC')[0]?.id ?? 0;
    } catch {
      /* untyped then */
    }
    const kconfig: CollectionMapSpec = {
      name: '.kconfig', type: MapType.Array, keySize: 4, valueSize: spec.kconfigSize, maxEntries: 1, flags: BPF_F_RDONLY_PROG,
      numaNode: 0, mapExtra: 0n, pinning: 0, contents: [{ key: 0, value: bytes }], source: 'data', keyTypeId: 0,
      valueTypeId: ds, btfVarId: 0, tags: [],
    };
    const plan = this.#plan(kconfig, false, { mmapable: this.#mmapable, haveBtf: this.#btfFd !== 0 });
    const map = this.#create(kconfig, plan, undefined);
    this.#kconfig = map;
    try {
      this.#writeContents('.kconfig', kconfig, map);
      map.freeze();
    } catch (e) {
      throw context(e, 'map ".kconfig"');
    }
  }

  #loadProgram(name: string): Program {
    const c = this.#c;
    const p = this.#spec.programs[name]!;
    const code = this.#relocate(name, p);
    const fdArray = this.#resolved?.fdArrays?.[name];
    const attachBtfId = this.#attachIds.get(name);
    const resolved = this.#resolvedPrograms.get(name);
    let ownBtfFd = 0;
    try {
      // A program with BTF of its own (CO-RE) loads with it; the others share the object's.
      if (resolved?.btf && this.#btfFd) ownBtfFd = this.#sendBtf(this.#kernelBtf(resolved.btf, `program "${name}"'s BTF`), `program "${name}"'s BTF`);
      const btf = ownBtfFd
        ? { btfFd: ownBtfFd, funcInfo: resolved!.funcInfo ?? p.funcInfo, lineInfo: resolved!.lineInfo ?? p.lineInfo }
        : this.#btfFd !== 0
          ? { btfFd: this.#btfFd, funcInfo: p.funcInfo, lineInfo: p.lineInfo }
          : {};
      c.resetArena();
      const kernelName = objectName(c, name);
      return loadProgram(
        {
          type: p.type,
          instructions: code,
          license: p.license,
          name: kernelName,
          ...(p.attachType ? { expectedAttachType: p.attachType as AttachType } : {}),
          ...(p.flags ? { flags: p.flags } : {}),
          ...(p.kernelVersion ? { kernelVersion: p.kernelVersion } : {}),
          ...(attachBtfId ? { attachBtfId } : {}),
          ...(this.#opts.logLevel !== undefined ? { logLevel: this.#opts.logLevel } : {}),
          ...(this.#opts.logSize !== undefined ? { logSize: this.#opts.logSize } : {}),
        },
        { ...btf, ...(fdArray ? { fdArray } : {}) },
      );
    } catch (e) {
      const explained = resolved && this.#resolved?.explainError ? this.#resolved.explainError(resolved, e) : e;
      throw programError(name, explained);
    } finally {
      // The program holds its BTF: the fd is ours to close.
      if (ownBtfFd) c.closeFd(ownBtfFd);
    }
  }

  /** The program's instructions with map fds written in (by the core). */
  #relocate(name: string, p: CollectionProgramSpec): Uint8Array {
    const c = this.#c;
    const code = this.#patched.get(name) ?? p.instructions;
    const relocs: Array<[number, number, number, number, number]> = [];
    for (const r of p.relocations) {
      switch (r.kind) {
        case 'map':
        case 'mapValue': {
          const m = this.#maps.get(r.map);
          if (!m) throw new BpfError({ command: OP, errno: EINVAL, reason: `program "${name}": map "${r.map}" was not loaded` });
          const kind = r.kind === 'map' ? TSBPF_RELOC_MAP_FD : TSBPF_RELOC_MAP_VALUE;
          relocs.push([r.instruction, kind, m.map.fd, r.kind === 'mapValue' ? r.offset : 0, m.map.valueSize]);
          break;
        }
        case 'kconfig':
          relocs.push([r.instruction, TSBPF_RELOC_KCONFIG, this.#kconfig!.fd, r.offset, this.#kconfig!.valueSize]);
          break;
        case 'call':
          relocs.push([r.instruction, TSBPF_RELOC_CALL, -1, 0, 0]);
          break;
        case 'funcAddr':
          relocs.push([r.instruction, TSBPF_RELOC_FUNC_ADDR, -1, 0, 0]);
          break;
        default:
          break; // the extern resolver patched these
      }
    }
    c.resetArena();
    const insns = c.stage(code);
    const table = c.stageAlloc(relocs.length * Reloc.$size || 8);
    const dv = c.mem.dv;
    relocs.forEach(([insn, kind, fd, offset, valueSize], i) => {
      const at = table + i * Reloc.$size;
      dv.setUint32(at + Reloc.insn.off, insn, true);
      dv.setUint32(at + Reloc.kind.off, kind, true);
      dv.setInt32(at + Reloc.fd.off, fd, true);
      dv.setUint32(at + Reloc.offset.off, offset, true);
      dv.setUint32(at + Reloc.value_size.off, valueSize, true);
      dv.setUint32(at + Reloc.pad.off, 0, true);
    });
    const r = c.fn.tsbpf_collection_relocate(insns as Ptr<'uint8_t'>, code.length / 8, table as Ptr<'tsbpf_coll_reloc'>, relocs.length);
    if (r < 0) throw context(c.error(r), `program "${name}"`);
    return c.bytes(insns, code.length);
  }

  /** Slots of prog arrays and maps of maps, now that their programs and maps exist. */
  #populateFds(name: string): void {
    const loaded = this.#maps.get(name)!;
    const m = this.#spec.maps[name]!;
    if (!loaded.populate || !FD_VALUE_TYPES.has(m.type)) return;
    for (const c of m.contents) {
      if (typeof c.value !== 'string') continue;
      const target = m.type === MapType.ProgArray ? this.#programs.get(c.value) : this.#maps.get(c.value)?.map;
      if (!target)
        throw new BpfError({ command: OP, errno: EINVAL, reason: `map "${name}": slot ${c.key} names ${c.value}, which was not loaded` });
      try {
        loaded.map.update(slotKey(name, loaded.map, c.key), target);
      } catch (e) {
        throw context(e, `map "${name}": slot ${c.key} (${c.value})`);
      }
    }
  }

  #finish(): Collection {
    const programs = dict<Program>();
    const maps = dict<BpfMap>();
    const variables = dict<Variable>();
    for (const [n, p] of this.#programs) programs[n] = p;
    for (const [n, m] of this.#maps) maps[n] = m.map;
    if (this.#kconfig) maps['.kconfig'] = this.#kconfig;
    for (const [n, v] of Object.entries(this.#spec.variables)) {
      const m = this.#maps.get(v.mapName);
      if (!m) continue;
      variables[n] = new Variable(v, m.map, v.readOnly);
    }
    return new Collection(TOKEN, programs, maps, variables);
  }

  /** Undoes a failed load: closes what it made, removes the pins it made. */
  #abort(): void {
    for (const p of this.#programs.values()) p.close();
    this.#kconfig?.close();
    for (const m of this.#maps.values()) m.map.close();
    for (const path of this.#pinned) {
      try {
        unpinPath(path);
      } catch {
        /* gone already */
      }
    }
  }
}

const SOURCE: Readonly<Record<CollectionMapSpec['source'], number>> = {
  btf: TSBPF_MAP_SRC_BTF,
  legacy: TSBPF_MAP_SRC_LEGACY,
  data: TSBPF_MAP_SRC_DATA,
  struct_ops: TSBPF_MAP_SRC_STRUCT_OPS,
};

function pinsByName(m: CollectionMapSpec): boolean {
  if (m.pinning === 1) return true;
  // iproute2's bpf_elf_map: pinning is the second u32 after the 20 standard bytes.
  return m.source === 'legacy' && m.extra?.length === 16 && (m.extra[4] === 1 || m.extra[4] === 2);
}

function allZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** The 4-byte key of an initial slot. */
function slotKey(name: string, map: BpfMap, key: number): Uint8Array {
  if (map.keySize !== 4)
    throw new BpfError({ command: OP, errno: EINVAL, reason: `map "${name}": initial contents need 4-byte keys, the map's are ${map.keySize} bytes` });
  const k = new Uint8Array(4);
  new DataView(k.buffer).setUint32(0, key, true);
  return k;
}

/** Throws unless `m` can stand in for the planned map. */
function compatible(name: string, plan: MapPlan, type: number, m: BpfMap, what: string): void {
  const diffs: string[] = [];
  const typeName = (t: number) => (MapTypeNames[t] ?? `type ${t}`).replace(/^BPF_MAP_TYPE_/, '').toLowerCase();
  if (m.type !== type) diffs.push(`type ${typeName(m.type)} instead of ${typeName(type)}`);
  if (m.keySize !== plan.keySize) diffs.push(`key size ${m.keySize} instead of ${plan.keySize}`);
  if (m.valueSize !== plan.valueSize) diffs.push(`value size ${m.valueSize} instead of ${plan.valueSize}`);
  if (m.maxEntries !== plan.maxEntries) diffs.push(`max entries ${m.maxEntries} instead of ${plan.maxEntries}`);
  if (m.flags !== plan.flags) diffs.push(`flags 0x${m.flags.toString(16)} instead of 0x${plan.flags.toString(16)}`);
  if (diffs.length)
    throw new BpfError({
      command: OP,
      errno: EINVAL,
      reason: `map "${name}": ${what} is incompatible: ${diffs.join(', ')}`,
      advice: 'remove or replace the old map, or make the object match it',
    });
}

/** The map pinned at path, or undefined when nothing is pinned there. */
function openPin(name: string, path: string): BpfMap | undefined {
  try {
    return BpfMap.loadPinned(path);
  } catch (e) {
    if (e instanceof BpfError && e.code === 'ENOENT') return undefined;
    throw context(e, `map "${name}": opening the pin ${path}`);
  }
}

function objectName(c: Core, name: string): string {
  const p = c.stageCString(name);
  const out = c.stageAlloc(16);
  c.fn.tsbpf_collection_name(p as Ptr<'char'>, out as Ptr<'uint8_t'>);
  return c.cstring(out, 16);
}

/**
 * The kernel BTF type a tracing, LSM or iterator program attaches to, found by name in
 * vmlinux's BTF as libbpf names them. Kernel modules' BTF and other programs as targets
 * are not searched.
 */
function kernelAttachTarget(name: string, p: CollectionProgramSpec): number {
  const target = p.attachTo;
  let want: [string, BtfKindName];
  switch (p.attachType as number) {
    case AttachType.TraceFentry:
    case AttachType.TraceFexit:
    case AttachType.ModifyReturn:
      want = [target, 'FUNC'];
      break;
    case AttachType.LsmMac:
    case AttachType.LsmCgroup:
      want = [`bpf_lsm_${target}`, 'FUNC'];
      break;
    case AttachType.TraceRawTp:
      want = [`btf_trace_${target}`, 'TYPEDEF'];
      break;
    case AttachType.TraceIter:
      want = [`bpf_iter_${target}`, 'FUNC'];
      break;
    default:
      throw new NotSupportedError({
        feature: `attaching ${AttachTypeNames[p.attachType] ?? `attach type ${p.attachType}`} programs by BTF`,
        minKernel: '',
        command: OP,
        errno: EOPNOTSUPP,
        reason: `program "${name}" (section "${p.sectionName}") needs an attach target tsbpf does not look up`,
        advice: 'load it with Program.load and attachBtfId',
      });
  }
  if (!target) throw invalid(OP, `program "${name}": section "${p.sectionName}" names no attach target`);
  const found = Btf.kernel().typesByName(want[0], want[1]);
  if (!found.length)
    throw new BpfError({
      command: OP,
      errno: ENOENT,
      reason: `program "${name}": ${want[1]} ${want[0]} (its attach target) is not in the kernel's BTF`,
      advice: 'check the section name; targets in kernel modules and other programs are not looked up',
    });
  return found[0]!.id;
}

/** The verifier's last source line annotation before it stopped: " at file.c:12: code". */
function sourceLine(log: readonly string[]): string {
  for (let i = log.length - 1; i >= 0; i--) {
    const m = /^; (.*) @ (\S+):(\d+)$/.exec(log[i]!.trim());
    if (m) return ` at ${m[2]}:${m[3]} (${m[1]!.trim()})`;
  }
  return '';
}

/** The advice part of a BpfError's message, to keep it when adding context. */
function adviceOf(e: BpfError): string {
  const at = e.message.indexOf(e.reason);
  if (at < 0) return '';
  const rest = e.message.slice(at + e.reason.length + 2); // ": what (CODE). advice"
  const dot = rest.indexOf('. ');
  return dot >= 0 ? rest.slice(dot + 2) : '';
}

/** The same error, its reason prefixed with what failed ('map "x"'). */
/** @internal The error `e` with `what` (such as `program "x"`) put before its reason. */
export function context(e: unknown, what: string): unknown {
  if (!(e instanceof BpfError) || e.reason.startsWith(what)) return e;
  if (e instanceof VerifierError)
    return new VerifierError({ command: e.command, errno: e.errno, reason: `${what}: ${e.reason}`, log: e.log, truncated: e.truncated, advice: adviceOf(e), cause: e });
  if (e instanceof NotSupportedError)
    return new NotSupportedError({ feature: e.feature, minKernel: e.minKernel, command: e.command, errno: e.errno, reason: `${what}: ${e.reason}`, advice: adviceOf(e), cause: e });
  return new BpfError({ command: e.command, errno: e.errno, reason: `${what}: ${e.reason}`, advice: adviceOf(e), cause: e });
}

function programError(name: string, e: unknown): unknown {
  if (e instanceof VerifierError)
    return new VerifierError({
      command: e.command,
      errno: e.errno,
      reason: `program "${name}": the verifier rejected it${sourceLine(e.log)}`,
      log: e.log,
      truncated: e.truncated,
      advice: adviceOf(e),
      cause: e,
    });
  return context(e, `program "${name}"`);
}

