/**
 * CollectionSpec: what a clang-compiled BPF object (ELF) describes, before anything is
 * loaded: programs linked with their subprograms, maps (BTF-defined, legacy, global data,
 * struct_ops), global variables, externs, license, kernel version and BTF. The core parses
 * the ELF; this module turns its answer into plain, cloneable JavaScript objects that own no
 * file descriptors, and lets variables be set before loading.
 */
import { readFileSync } from 'node:fs';
import type { Core } from '../bridge/core.js';
import {
  tsbpf_elf_extern as ExternLayout,
  tsbpf_elf_func as FuncLayout,
  tsbpf_elf_map as MapLayout,
  tsbpf_elf_map_value as ValueLayout,
  tsbpf_elf_object as ObjectLayout,
  tsbpf_elf_reloc as RelocLayout,
  tsbpf_elf_sec_type as SecTypeLayout,
  tsbpf_elf_var as VarLayout,
  TSBPF_SEC_ATTACH_BTF,
  TSBPF_SEC_NO_AUTOLOAD,
  type Ptr,
} from '../bridge/generated/abi.js';
import { Btf } from './btf.js';
import { BpfError, errnoValue } from './errors.js';
import type { AttachType, MapType, ProgramType } from './generated/uapi.js';
import { core } from './runtime.js';
import { cString, describe, invalid } from './validate.js';

const OP = 'loadCollectionSpec';

/** How a section name was matched to a program type. */
export type SectionMatch = 'libbpf' | 'prefix' | 'unknown';
const MATCH: readonly SectionMatch[] = ['unknown', 'libbpf', 'prefix'];

export type SymbolBinding = 'local' | 'global' | 'weak';
const BINDING: Readonly<Record<number, SymbolBinding>> = { 0: 'local', 1: 'global', 2: 'weak' };

/**
 * What an instruction of a program's stream needs from the loader. `instruction` is the
 * index of the instruction slot in {@link CollectionProgramSpec.instructions} (8 bytes per
 * slot; a 64-bit load takes two). The instruction already has the right pseudo source
 * register: the loader writes the file descriptor or BTF id into its immediate.
 */
export type Relocation =
  /** A map's fd (src BPF_PSEUDO_MAP_FD). */
  | { kind: 'map'; instruction: number; map: string }
  /** The address of `offset` bytes into a map's value: a global variable (BPF_PSEUDO_MAP_VALUE). */
  | { kind: 'mapValue'; instruction: number; map: string; offset: number }
  /** The value of a __kconfig extern, `offset` bytes into the .kconfig map. */
  | { kind: 'kconfig'; instruction: number; extern: string; offset: number }
  /** The address or BTF id of a __ksym variable. */
  | { kind: 'ksym'; instruction: number; extern: string }
  /** A call of (or the address of) a kernel function, a kfunc. */
  | { kind: 'kfunc'; instruction: number; extern: string }
  /** A reference to an undefined symbol no rule resolves (inline asm, a forward declaration). */
  | { kind: 'extern'; instruction: number; extern: string }
  /** A bpf-to-bpf call, already pointing at `function` in the linked stream. */
  | { kind: 'call'; instruction: number; function: string }
  /** The address of `function` (a callback), already pointing at it in the linked stream. */
  | { kind: 'funcAddr'; instruction: number; function: string };

const RELOC_KIND = ['', 'map', 'mapValue', 'kconfig', 'ksym', 'kfunc', 'extern', 'call', 'funcAddr'] as const;

/** CO-RE relocation kinds (enum bpf_core_relo_kind), by name. */
export const CoreRelocationKinds = [
  'field_byte_offset',
  'field_byte_size',
  'field_exists',
  'field_signed',
  'field_lshift_u64',
  'field_rshift_u64',
  'type_id_local',
  'type_id_target',
  'type_exists',
  'type_size',
  'enumval_exists',
  'enumval_value',
  'type_matches',
] as const;
export type CoreRelocationKind = (typeof CoreRelocationKinds)[number];

/** A CO-RE relocation of an instruction, from .BTF.ext (resolved against kernel BTF at load). */
export interface CoreRelocation {
  /** Instruction slot in the linked stream. */
  instruction: number;
  /** The local type the access starts from, an id in the object's BTF. */
  typeId: number;
  /** The access path, "0:1:2" (member indexes) or an enum value index. */
  accessString: string;
  kind: CoreRelocationKind;
}

/** Where one function sits in a program's linked stream. */
export interface FunctionSpan {
  name: string;
  /** First instruction slot. */
  offset: number;
  /** Number of instruction slots. */
  count: number;
}

/** A program (or subprogram) of an object, linked with the subprograms it calls. */
export interface CollectionProgramSpec {
  name: string;
  /** The ELF section: "xdp", "kprobe/sys_execve", ".text" for subprograms. */
  sectionName: string;
  /** Program type implied by the section name (0 when no rule matches). */
  type: ProgramType;
  /** Expected attach type implied by the section name (0 for none). */
  attachType: AttachType | number;
  /** What to attach to: the section name's suffix ("sys_execve"), or "struct:member" for struct_ops. */
  attachTo: string;
  /** BPF_PROG_LOAD flags the section implies (BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS). */
  flags: number;
  license: string;
  kernelVersion: number;
  /** Bytecode: the function, then every function it calls, calls already resolved. */
  instructions: Uint8Array;
  relocations: Relocation[];
  /** The layout of `instructions`: this function first, then its callees in order. */
  functions: FunctionSpan[];
  /** The program's FUNC type in the object's BTF (0 without BTF). */
  btfFunc: number;
  /**
   * The BTF to load with this program (BPF_PROG_LOAD prog_btf_fd) when it is not the
   * collection's `types`: applyCoRe sets it to the program's own compact BTF, to which
   * btfFunc, funcInfo, lineInfo and the CO-RE local type ids then refer.
   */
  btf?: Uint8Array;
  /** struct bpf_func_info records (8 bytes each, insn_off in instructions), for BPF_PROG_LOAD. */
  funcInfo: Uint8Array;
  /** struct bpf_line_info records (16 bytes each), for BPF_PROG_LOAD. */
  lineInfo: Uint8Array;
  coreRelocations: CoreRelocation[];
  binding: SymbolBinding;
  sectionMatch: SectionMatch;
  /** False when the section name starts with '?' (libbpf: do not load by default). */
  autoload: boolean;
  /** The program attaches to a kernel function or type found by name in BTF (fentry, lsm, iter...). */
  attachBtf: boolean;
}

/** An initial element: a key and its value bytes, or the name of the program or map whose fd goes there. */
export interface MapContent {
  key: number;
  value: Uint8Array | string;
}

export type MapSource = 'btf' | 'legacy' | 'data' | 'struct_ops';
const SOURCE: readonly MapSource[] = ['btf', 'btf', 'legacy', 'data', 'struct_ops'];

/** A map of an object. Field names follow BpfMap.create's MapSpec. */
export interface CollectionMapSpec {
  name: string;
  type: MapType;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  numaNode: number;
  mapExtra: bigint;
  /** 0: not pinned; 1: pinned by name under the loader's pin path (LIBBPF_PIN_BY_NAME). */
  pinning: number;
  /** The template of a map-in-map's inner maps. */
  innerMap?: CollectionMapSpec;
  /** Initial contents: data sections' bytes, prog array and map-in-map slots by name. */
  contents: MapContent[];
  source: MapSource;
  /** BTF ids in the object's types: key and value type (for data maps: the DATASEC), the VAR. */
  keyTypeId: number;
  valueTypeId: number;
  btfVarId: number;
  /** BTF declaration tags of the map's variable. */
  tags: string[];
  /** Legacy definitions: the bytes after the standard 20 (iproute2's id, pinning, inner_id, inner_idx). */
  extra?: Uint8Array;
  /** struct_ops: the function pointer members and the programs they name. */
  structOps?: Array<{ member: string; offset: number; program: string }>;
}

/** An undefined symbol the object refers to, for the loader (issue: kconfig/ksym resolution) to resolve. */
export interface ExternSpec {
  name: string;
  kind: 'kconfig' | 'ksym' | 'kfunc' | 'unknown';
  weak: boolean;
  /** The VAR or FUNC describing it in the object's BTF (0 for none). */
  btfId: number;
  /** kconfig: where its value goes in the .kconfig map, and its size. */
  offset: number;
  size: number;
}
const EXTERN_KIND: readonly ExternSpec['kind'][] = ['unknown', 'kconfig', 'ksym', 'kfunc'];

/**
 * A global variable: `size` bytes at `offset` of a data map's initial value. `value` is a
 * view of those bytes, so setting it before loading changes what the map starts with.
 */
export class VariableSpec {
  readonly name: string;
  /** The data map (section) holding it: ".data", ".rodata", ".bss", ... */
  readonly mapName: string;
  readonly offset: number;
  readonly size: number;
  /** The VAR in the object's BTF (0 without BTF). */
  readonly typeId: number;
  /** In a .rodata section: constant for the program once loaded (the map is frozen). */
  readonly readOnly: boolean;
  #contents: Uint8Array;

  /** @internal */
  constructor(name: string, mapName: string, offset: number, size: number, typeId: number, readOnly: boolean, contents: Uint8Array) {
    this.name = name;
    this.mapName = mapName;
    this.offset = offset;
    this.size = size;
    this.typeId = typeId;
    this.readOnly = readOnly;
    this.#contents = contents;
  }

  /** The variable's bytes in the map's initial value (a live view: writes change the spec). */
  get value(): Buffer {
    return Buffer.from(this.#contents.buffer, this.#contents.byteOffset + this.offset, this.size);
  }

  /**
   * Sets the initial value: bytes of exactly `size`, or an integer for a variable of 1, 2, 4
   * or 8 bytes (little endian; negative numbers in two's complement).
   */
  set(value: Uint8Array | number | bigint): void {
    const cmd = 'VariableSpec.set';
    const view = this.value;
    if (value instanceof Uint8Array) {
      if (value.length !== this.size)
        throw invalid(cmd, `variable ${this.name} is ${this.size} bytes, got ${value.length}`);
      view.set(value);
      return;
    }
    if ((typeof value !== 'number' || !Number.isInteger(value)) && typeof value !== 'bigint')
      throw invalid(cmd, `variable ${this.name}: expected bytes or an integer, got ${describe(value)}`);
    if (![1, 2, 4, 8].includes(this.size))
      throw invalid(cmd, `variable ${this.name} is ${this.size} bytes: set it from bytes, not an integer`);
    const v = BigInt(value);
    const bits = BigInt(this.size * 8);
    if (v < -(1n << (bits - 1n)) || v >= 1n << bits)
      throw invalid(cmd, `${String(value)} does not fit in the ${this.size} bytes of variable ${this.name}`);
    if (this.size === 8) view.writeBigUInt64LE(BigInt.asUintN(64, v));
    else view.writeUIntLE(Number(BigInt.asUintN(this.size * 8, v)), 0, this.size);
  }

  /** @internal A copy bound to another contents buffer (for CollectionSpec.clone). */
  rebind(contents: Uint8Array): VariableSpec {
    return new VariableSpec(this.name, this.mapName, this.offset, this.size, this.typeId, this.readOnly, contents);
  }
}

/** Counts of .BTF.ext records in the object, over all sections. */
export interface ExtInfoCounts {
  funcInfo: number;
  lineInfo: number;
  coreRelocations: number;
}

const TOKEN = Symbol('CollectionSpec');

/** Everything a BPF object describes. Cloneable; owns no file descriptors. */
export class CollectionSpec {
  /** Programs by name: functions of executable sections other than .text. */
  readonly programs: Record<string, CollectionProgramSpec>;
  /** Functions of .text (bpf-to-bpf call targets), linked the same way. */
  readonly subprograms: Record<string, CollectionProgramSpec>;
  /** Maps by name; data sections by section name (".data", ".rodata", ".bss", ...). */
  readonly maps: Record<string, CollectionMapSpec>;
  /** Global variables by name (global and weak symbols of data sections, not hidden ones). */
  readonly variables: Record<string, VariableSpec>;
  /** Undefined symbols by name. */
  readonly externs: Record<string, ExternSpec>;
  /** The "license" section (empty when absent). */
  readonly license: string;
  /** The "version" section (0 when absent). */
  readonly kernelVersion: number;
  /** Size of the .kconfig map the externs of kind kconfig need (0 for none). */
  readonly kconfigSize: number;
  /** The object's BTF, with DATASEC sizes and offsets fixed up; undefined without a .BTF section. */
  readonly types: Btf | undefined;
  readonly extInfoCounts: ExtInfoCounts;

  /** @internal */
  constructor(token: symbol, init: Omit<CollectionSpec, 'clone'>) {
    if (token !== TOKEN) throw new TypeError('use loadCollectionSpec() to get a CollectionSpec');
    this.programs = init.programs;
    this.subprograms = init.subprograms;
    this.maps = init.maps;
    this.variables = init.variables;
    this.externs = init.externs;
    this.license = init.license;
    this.kernelVersion = init.kernelVersion;
    this.kconfigSize = init.kconfigSize;
    this.types = init.types;
    this.extInfoCounts = init.extInfoCounts;
  }

  /** A deep copy: changing its maps, programs or variables leaves this one alone. BTF is shared (immutable). */
  clone(): CollectionSpec {
    const maps = dict<CollectionMapSpec>();
    for (const [k, m] of Object.entries(this.maps)) maps[k] = cloneMap(m);
    const variables = dict<VariableSpec>();
    for (const [k, v] of Object.entries(this.variables)) {
      const contents = maps[v.mapName]?.contents[0]?.value;
      if (!(contents instanceof Uint8Array)) throw new Error(`internal: variable ${k} has no data map`);
      variables[k] = v.rebind(contents);
    }
    const programs = dict<CollectionProgramSpec>();
    for (const [k, p] of Object.entries(this.programs)) programs[k] = cloneProgram(p);
    const subprograms = dict<CollectionProgramSpec>();
    for (const [k, p] of Object.entries(this.subprograms)) subprograms[k] = cloneProgram(p);
    const externs = dict<ExternSpec>();
    for (const [k, e] of Object.entries(this.externs)) externs[k] = { ...e };
    return new CollectionSpec(TOKEN, {
      programs,
      subprograms,
      maps,
      variables,
      externs,
      license: this.license,
      kernelVersion: this.kernelVersion,
      kconfigSize: this.kconfigSize,
      types: this.types,
      extInfoCounts: { ...this.extInfoCounts },
    });
  }
}

function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

function cloneProgram(p: CollectionProgramSpec): CollectionProgramSpec {
  return {
    ...p,
    // Buffer.prototype.slice shares memory: copy with Buffer.from.
    instructions: Buffer.from(p.instructions),
    relocations: p.relocations.map((r) => ({ ...r })),
    functions: p.functions.map((f) => ({ ...f })),
    funcInfo: Buffer.from(p.funcInfo),
    lineInfo: Buffer.from(p.lineInfo),
    coreRelocations: p.coreRelocations.map((r) => ({ ...r })),
    ...(p.btf ? { btf: Buffer.from(p.btf) } : {}),
  };
}

function cloneMap(m: CollectionMapSpec): CollectionMapSpec {
  const out: CollectionMapSpec = {
    ...m,
    contents: m.contents.map((c) => ({ key: c.key, value: typeof c.value === 'string' ? c.value : Buffer.from(c.value) })),
    tags: [...m.tags],
  };
  if (m.innerMap) out.innerMap = cloneMap(m.innerMap);
  if (m.extra) out.extra = Buffer.from(m.extra);
  if (m.structOps) out.structOps = m.structOps.map((s) => ({ ...s }));
  return out;
}

/**
 * Parses a BPF object file (a path, or its bytes) into a CollectionSpec. Nothing is loaded
 * into the kernel: this needs no kernel support and no privileges. Throws a BpfError naming
 * the section, symbol or offset at fault when the file is not a well-formed little-endian
 * BPF ELF object, ENOENT (and friends) when the path cannot be read, and ENOTSUPP for
 * constructs tsbpf does not support (static initialisers of BTF map definitions).
 */
export function loadCollectionSpec(pathOrBytes: string | Uint8Array): CollectionSpec {
  let data: Uint8Array;
  let label = '';
  if (typeof pathOrBytes === 'string') {
    label = `${pathOrBytes}: `;
    const path = cString(OP, 'path', pathOrBytes);
    if (path === '') throw invalid(OP, 'empty path: give the path of a BPF object file, or its bytes');
    try {
      data = readFileSync(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
      throw new BpfError({ command: OP, errno: errnoValue(code) ?? 5, reason: `cannot read ${pathOrBytes}`, cause: e, advice: '' });
    }
  } else if (pathOrBytes instanceof Uint8Array) {
    data = pathOrBytes;
  } else {
    throw invalid(OP, `expected a file path or the bytes of an ELF object, got ${describe(pathOrBytes)}`);
  }
  const c = core();
  const buf = c.malloc(data.length || 1);
  const out = c.malloc(8);
  try {
    c.mem.u8.set(data, buf);
    const ret = c.fn.tsbpf_elf_open(buf as Ptr<'void'>, data.length, out as Ptr<'tsbpf_elf_object *'>);
    if (ret < 0) {
      const err = c.error(ret);
      throw new BpfError({ command: OP, errno: err.errno, reason: `${label}${err.reason}`, advice: '' });
    }
    const obj = c.mem.dv.getUint32(out, true);
    try {
      return readObject(c, obj);
    } finally {
      c.fn.tsbpf_elf_close(obj as Ptr<'tsbpf_elf_object'>);
    }
  } finally {
    c.free(buf);
    c.free(out);
  }
}

/**
 * The program type, expected attach type, load flags and attach target a section name
 * implies, by libbpf's SEC() conventions, with cilium/ebpf's prefix rule as a fallback.
 * Pure: needs no kernel.
 */
export function sectionProgramType(sectionName: string): {
  type: ProgramType;
  attachType: number;
  flags: number;
  match: SectionMatch;
  attachTo: string;
  attachBtf: boolean;
  autoload: boolean;
} {
  cString('sectionProgramType', 'sectionName', sectionName);
  const c = core();
  const bytes = Buffer.from(sectionName, 'utf8');
  const p = c.malloc(bytes.length + 1);
  try {
    c.mem.u8.set(bytes, p);
    c.mem.u8[p + bytes.length] = 0;
    const o = c.struct(SecTypeLayout);
    c.check(c.fn.tsbpf_elf_section_type(p as Ptr<'char'>, o as Ptr<'tsbpf_elf_sec_type'>));
    const off = c.u32(o, SecTypeLayout.attach_to_off);
    const sec = c.u32(o, SecTypeLayout.sec_flags);
    return {
      type: c.u32(o, SecTypeLayout.prog_type) as ProgramType,
      attachType: c.u32(o, SecTypeLayout.attach_type),
      flags: c.u32(o, SecTypeLayout.prog_flags),
      match: MATCH[c.u32(o, SecTypeLayout.match)] ?? 'unknown',
      attachTo: off ? bytes.subarray(off).toString('utf8') : '',
      attachBtf: (sec & TSBPF_SEC_ATTACH_BTF) !== 0,
      autoload: (sec & TSBPF_SEC_NO_AUTOLOAD) === 0,
    };
  } finally {
    c.free(p);
  }
}

/** Reads the core's parsed object into JavaScript values. */
function readObject(c: Core, obj: number): CollectionSpec {
  const u32 = (p: number, f: { off: number }) => c.mem.dv.getUint32(p + f.off, true);
  const str = (p: number) => c.cstring(p);
  const btfPtr = u32(obj, ObjectLayout.btf);
  // The BTF outlives the object: take it before anything can fail.
  const types = btfPtr ? Btf.fromHandle(c, c.fn.tsbpf_elf_take_btf(obj as Ptr<'tsbpf_elf_object'>)) : undefined;
  const license = str(u32(obj, ObjectLayout.license));
  const kernelVersion = u32(obj, ObjectLayout.kernel_version);

  const nFuncs = u32(obj, ObjectLayout.n_funcs);
  const funcsPtr = u32(obj, ObjectLayout.funcs);
  const funcNames: string[] = [];
  for (let i = 0; i < nFuncs; i++) funcNames.push(str(u32(funcsPtr + i * FuncLayout.$size, FuncLayout.name)));
  const nMaps = u32(obj, ObjectLayout.n_maps);
  const mapsPtr = u32(obj, ObjectLayout.maps);
  const mapNames: string[] = [];
  for (let i = 0; i < nMaps; i++) mapNames.push(str(u32(mapsPtr + i * MapLayout.$size, MapLayout.name)));
  const nExterns = u32(obj, ObjectLayout.n_externs);
  const externsPtr = u32(obj, ObjectLayout.externs);
  const externs = dict<ExternSpec>();
  const externNames: string[] = [];
  for (let i = 0; i < nExterns; i++) {
    const e = externsPtr + i * ExternLayout.$size;
    const name = str(u32(e, ExternLayout.name));
    externNames.push(name);
    externs[name] = {
      name,
      kind: EXTERN_KIND[u32(e, ExternLayout.kind)] ?? 'unknown',
      weak: u32(e, ExternLayout.binding) === 2,
      btfId: u32(e, ExternLayout.btf_id),
      offset: u32(e, ExternLayout.offset),
      size: u32(e, ExternLayout.size),
    };
  }

  // Programs and subprograms.
  const relocsPtr = u32(obj, ObjectLayout.relocs);
  const calleesPtr = u32(obj, ObjectLayout.callees);
  const programs = dict<CollectionProgramSpec>();
  const subprograms = dict<CollectionProgramSpec>();
  const ownCounts: number[] = [];
  for (let i = 0; i < nFuncs; i++) ownCounts.push(u32(funcsPtr + i * FuncLayout.$size, FuncLayout.insn_cnt));
  for (let i = 0; i < nFuncs; i++) {
    const f = funcsPtr + i * FuncLayout.$size;
    const linked = u32(f, FuncLayout.linked_cnt);
    const relocations: Relocation[] = [];
    const relocFirst = u32(f, FuncLayout.reloc_first);
    for (let r = 0; r < u32(f, FuncLayout.reloc_cnt); r++) {
      const rp = relocsPtr + (relocFirst + r) * RelocLayout.$size;
      relocations.push(relocation(u32(rp, RelocLayout.kind), u32(rp, RelocLayout.insn), u32(rp, RelocLayout.target), u32(rp, RelocLayout.offset), mapNames, externNames, funcNames));
    }
    const functions: FunctionSpan[] = [{ name: funcNames[i]!, offset: 0, count: ownCounts[i]! }];
    let pos = ownCounts[i]!;
    const calleeFirst = u32(f, FuncLayout.callee_first);
    for (let k = 0; k < u32(f, FuncLayout.callee_cnt); k++) {
      const callee = c.mem.dv.getUint32(calleesPtr + (calleeFirst + k) * 4, true);
      functions.push({ name: funcNames[callee]!, offset: pos, count: ownCounts[callee]! });
      pos += ownCounts[callee]!;
    }
    const coreRelocations: CoreRelocation[] = [];
    const corePtr = u32(f, FuncLayout.core_relos);
    for (let k = 0; k < u32(f, FuncLayout.core_relo_cnt); k++) {
      const rp = corePtr + k * 16;
      coreRelocations.push({
        instruction: c.mem.dv.getUint32(rp, true) / 8,
        typeId: c.mem.dv.getUint32(rp + 4, true),
        accessString: types ? types.string(c.mem.dv.getUint32(rp + 8, true)) : '',
        kind: CoreRelocationKinds[c.mem.dv.getUint32(rp + 12, true)] ?? 'field_byte_offset',
      });
    }
    const secFlags = u32(f, FuncLayout.sec_flags);
    const spec: CollectionProgramSpec = {
      name: funcNames[i]!,
      sectionName: str(u32(f, FuncLayout.section)),
      type: u32(f, FuncLayout.prog_type) as ProgramType,
      attachType: u32(f, FuncLayout.attach_type),
      attachTo: str(u32(f, FuncLayout.attach_to)),
      flags: u32(f, FuncLayout.prog_flags),
      license,
      kernelVersion,
      instructions: c.bytes(u32(f, FuncLayout.insns), linked * 8),
      relocations,
      functions,
      btfFunc: u32(f, FuncLayout.btf_func),
      funcInfo: c.bytes(u32(f, FuncLayout.func_info), u32(f, FuncLayout.func_info_cnt) * 8),
      lineInfo: c.bytes(u32(f, FuncLayout.line_info), u32(f, FuncLayout.line_info_cnt) * 16),
      coreRelocations,
      binding: BINDING[u32(f, FuncLayout.binding)] ?? 'global',
      sectionMatch: MATCH[u32(f, FuncLayout.match)] ?? 'unknown',
      autoload: (secFlags & TSBPF_SEC_NO_AUTOLOAD) === 0,
      attachBtf: (secFlags & TSBPF_SEC_ATTACH_BTF) !== 0,
    };
    (u32(f, FuncLayout.is_program) ? programs : subprograms)[spec.name] = spec;
  }

  // Maps: inner map templates hang off their outer maps.
  const valuesPtr = u32(obj, ObjectLayout.values);
  const built: CollectionMapSpec[] = [];
  for (let i = 0; i < nMaps; i++) {
    const m = mapsPtr + i * MapLayout.$size;
    const dataPtr = u32(m, MapLayout.data);
    const dataSize = u32(m, MapLayout.data_size);
    const source = SOURCE[u32(m, MapLayout.source)] ?? 'btf';
    const contents: MapContent[] = [];
    if (source === 'data') contents.push({ key: 0, value: dataPtr ? c.bytes(dataPtr, dataSize) : Buffer.alloc(dataSize) });
    if (source === 'struct_ops') contents.push({ key: 0, value: dataPtr ? c.bytes(dataPtr, dataSize) : Buffer.alloc(dataSize) });
    const structOps: Array<{ member: string; offset: number; program: string }> = [];
    const vFirst = u32(m, MapLayout.values_first);
    for (let k = 0; k < u32(m, MapLayout.values_cnt); k++) {
      const v = valuesPtr + (vFirst + k) * ValueLayout.$size;
      const target = u32(v, ValueLayout.target);
      const name = u32(v, ValueLayout.kind) === 1 ? funcNames[target]! : mapNames[target]!;
      if (source === 'struct_ops') structOps.push({ member: str(u32(v, ValueLayout.member)), offset: u32(v, ValueLayout.slot), program: name });
      else contents.push({ key: u32(v, ValueLayout.slot), value: name });
    }
    const btfVar = u32(m, MapLayout.btf_var);
    const spec: CollectionMapSpec = {
      name: mapNames[i]!,
      type: u32(m, MapLayout.type) as MapType,
      keySize: u32(m, MapLayout.key_size),
      valueSize: u32(m, MapLayout.value_size),
      maxEntries: u32(m, MapLayout.max_entries),
      flags: u32(m, MapLayout.flags),
      numaNode: u32(m, MapLayout.numa_node),
      mapExtra: c.mem.dv.getBigUint64(m + MapLayout.map_extra.off, true),
      pinning: u32(m, MapLayout.pinning),
      contents,
      source,
      keyTypeId: u32(m, MapLayout.key_type),
      valueTypeId: u32(m, MapLayout.value_type),
      btfVarId: btfVar,
      tags: types && btfVar ? types.declTags(btfVar) : [],
    };
    const extraSize = u32(m, MapLayout.extra_size);
    if (extraSize) spec.extra = c.bytes(u32(m, MapLayout.extra), extraSize);
    if (source === 'struct_ops') spec.structOps = structOps;
    built.push(spec);
  }
  const maps = dict<CollectionMapSpec>();
  for (let i = 0; i < nMaps; i++) {
    const m = mapsPtr + i * MapLayout.$size;
    const inner = c.mem.dv.getInt32(m + MapLayout.inner.off, true);
    if (inner >= 0) built[i]!.innerMap = built[inner]!;
    if (!u32(m, MapLayout.is_inner)) maps[built[i]!.name] = built[i]!;
  }

  const variables = dict<VariableSpec>();
  const varsPtr = u32(obj, ObjectLayout.vars);
  for (let i = 0; i < u32(obj, ObjectLayout.n_vars); i++) {
    const v = varsPtr + i * VarLayout.$size;
    const map = built[u32(v, VarLayout.map)]!;
    const name = str(u32(v, VarLayout.name));
    variables[name] = new VariableSpec(
      name,
      map.name,
      u32(v, VarLayout.offset),
      u32(v, VarLayout.size),
      u32(v, VarLayout.btf_var),
      map.name.startsWith('.rodata'),
      map.contents[0]!.value as Uint8Array,
    );
  }

  return new CollectionSpec(TOKEN, {
    programs,
    subprograms,
    maps,
    variables,
    externs,
    license,
    kernelVersion,
    kconfigSize: u32(obj, ObjectLayout.kconfig_size),
    types,
    extInfoCounts: {
      funcInfo: u32(obj, ObjectLayout.btf_ext_funcs),
      lineInfo: u32(obj, ObjectLayout.btf_ext_lines),
      coreRelocations: u32(obj, ObjectLayout.btf_ext_core_relos),
    },
  });
}

function relocation(
  kind: number,
  instruction: number,
  target: number,
  offset: number,
  maps: string[],
  externs: string[],
  funcs: string[],
): Relocation {
  switch (RELOC_KIND[kind]) {
    case 'map':
      return { kind: 'map', instruction, map: maps[target]! };
    case 'mapValue':
      return { kind: 'mapValue', instruction, map: maps[target]!, offset };
    case 'kconfig':
      return { kind: 'kconfig', instruction, extern: externs[target]!, offset };
    case 'ksym':
      return { kind: 'ksym', instruction, extern: externs[target]! };
    case 'kfunc':
      return { kind: 'kfunc', instruction, extern: externs[target]! };
    case 'extern':
      return { kind: 'extern', instruction, extern: externs[target]! };
    case 'call':
      return { kind: 'call', instruction, function: funcs[target]! };
    case 'funcAddr':
      return { kind: 'funcAddr', instruction, function: funcs[target]! };
    default:
      throw new BpfError({ command: OP, errno: 22, reason: `internal: unknown relocation kind ${kind}`, advice: '' });
  }
}
