/**
 * BTF, the BPF Type Format: the type information of a BPF object (its .BTF section), of
 * the kernel (/sys/kernel/btf/vmlinux) and of kernel modules (split BTF whose ids continue
 * after vmlinux's). The core parses and validates the bytes once and answers questions by
 * type id; this module decodes its answers into plain objects, on demand, so a 6 MB vmlinux
 * costs one parse and an index of offsets, not 100k JavaScript objects.
 */
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { native, type Core } from '../bridge/core.js';
import {
  TSBPF_BTF_INFO_WANT_DATA,
  TSBPF_BTF_KIND_ANY,
  TSBPF_BTF_OWN_DATA,
  tsbpf_btf_info as InfoLayout,
  tsbpf_btf_member_info as MemberLayout,
  tsbpf_btf_obj_info as ObjInfoLayout,
  tsbpf_btf_type_info as TypeLayout,
  type Ptr,
} from '../bridge/generated/abi.js';
import { BpfError, errnoValue } from './errors.js';
import { readKernelFile } from './kernel_files.js';
import { ObjectKind, fdById } from './object.js';
import { core } from './runtime.js';
import { formatType } from './btf_format.js';
import { bytes as checkBytes, cString, checkKeys, integer, invalid, string } from './validate.js';

const OP = 'BTF';

/** BTF kinds, by the names the kernel and bpftool use. */
export const BtfKind = {
  VOID: 0,
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
} as const;
export type BtfKindName = keyof typeof BtfKind;
const kindNames = Object.keys(BtfKind) as BtfKindName[];

/** Linkage of a FUNC or VAR. */
export type BtfLinkage = 'static' | 'global' | 'extern';
const FUNC_LINKAGE: readonly BtfLinkage[] = ['static', 'global', 'extern'];
/** VAR linkage values are static, allocated (global) and extern. */
const VAR_LINKAGE: readonly BtfLinkage[] = ['static', 'global', 'extern'];

export interface BtfMember {
  name: string;
  /** The member's type id. */
  type: number;
  /** Offset from the start of the struct in bits. */
  bitOffset: number;
  /** Width of a bitfield in bits, 0 for a normal member. */
  bitfieldSize: number;
}

export interface BtfEnumValue {
  name: string;
  value: bigint;
}

export interface BtfParam {
  /** Empty for unnamed parameters. */
  name: string;
  /** 0 for the `...` of a variadic function. */
  type: number;
}

export interface BtfVarSecinfo {
  /** The VAR (or FUNC, in .ksyms) type id. */
  type: number;
  offset: number;
  size: number;
}

interface Base<K extends BtfKindName> {
  id: number;
  kind: K;
  /** Empty for anonymous types. */
  name: string;
}

/** One BTF type, decoded. `type` fields are ids: look them up with {@link Btf.type}. */
export type BtfType =
  | Base<'VOID'>
  | (Base<'INT'> & { size: number; signed: boolean; char: boolean; bool: boolean; bitOffset: number; bits: number })
  | (Base<'PTR' | 'TYPEDEF' | 'VOLATILE' | 'CONST' | 'RESTRICT' | 'TYPE_TAG'> & { type: number })
  | (Base<'ARRAY'> & { type: number; indexType: number; nelems: number })
  | (Base<'STRUCT' | 'UNION'> & { size: number; members: BtfMember[] })
  | (Base<'ENUM' | 'ENUM64'> & { size: number; signed: boolean; values: BtfEnumValue[] })
  | (Base<'FWD'> & { union: boolean })
  | (Base<'FUNC'> & { type: number; linkage: BtfLinkage })
  | (Base<'FUNC_PROTO'> & { returnType: number; params: BtfParam[] })
  | (Base<'VAR'> & { type: number; linkage: BtfLinkage })
  | (Base<'DATASEC'> & { size: number; vars: BtfVarSecinfo[] })
  | (Base<'FLOAT'> & { size: number })
  | (Base<'DECL_TAG'> & { type: number; componentIdx: number });

/** What the kernel says about a BTF object it holds ({@link Btf.objectInfo}). */
export interface BtfObjectInfo {
  id: number;
  /** 'vmlinux', a module's name, or '' for BTF loaded by a program (BPF_BTF_LOAD). Linux 5.11. */
  name: string;
  /** True for the kernel's and modules' own BTF. Linux 5.11. */
  kernel: boolean;
  /** Size of the blob in bytes. */
  size: number;
}

/** Options of {@link Btf.parse}. */
export interface BtfParseOptions {
  /** The base of split BTF (vmlinux for a module's BTF): ids and strings continue after it. */
  base?: Btf;
}

interface Handle {
  core: Core;
  ptr: number;
}

const registry = new FinalizationRegistry<Handle>((h) => h.core.fn.tsbpf_btf_close(h.ptr as Ptr<'tsbpf_btf'>));

/** Scratch memory per core for the BTF calls: outputs and a name to look up. */
const scratch = new WeakMap<Core, { ptr: number; cap: number }>();
function scratchBuf(c: Core, size: number): number {
  let s = scratch.get(c);
  if (!s || s.cap < size) {
    if (s) c.free(s.ptr);
    const cap = Math.max(4096, size * 2);
    s = { ptr: c.malloc(cap), cap };
    scratch.set(c, s);
  }
  return s.ptr;
}

const PROT_READ = 1;
const MAP_PRIVATE = 2;

const TOKEN = Symbol('Btf');

/** Opens BTF object `id`, reads its info (and blob), closes it. */
function readObject(c: Core, id: number, withData: boolean): { info: BtfObjectInfo; data: Buffer | undefined } {
  const fd = fdById(c, ObjectKind.Btf, id);
  try {
    const p = c.struct(ObjInfoLayout);
    c.setU32(p, ObjInfoLayout.want, withData ? TSBPF_BTF_INFO_WANT_DATA : 0);
    c.check(c.fn.tsbpf_btf_get_info(fd, p as Ptr<'tsbpf_btf_obj_info'>));
    const size = c.u32(p, ObjInfoLayout.btf_size);
    const data = withData ? c.bytes(c.u32(p, ObjInfoLayout.data), size) : undefined;
    return {
      info: {
        id: c.u32(p, ObjInfoLayout.id),
        name: c.cstring(p + ObjInfoLayout.name.off, ObjInfoLayout.name.count),
        kernel: c.u32(p, ObjInfoLayout.kernel_btf) !== 0,
        size,
      },
      data,
    };
  } finally {
    c.closeFd(fd);
  }
}
const kernelCache = new WeakMap<Core, Btf>();
const moduleCache = new WeakMap<Core, Map<string, Btf>>();
const KERNEL_BTF_DIR = '/sys/kernel/btf';

/**
 * Reads a file straight into core memory (one copy, no JavaScript buffer of its size), or
 * through a Buffer when its size is unknown up front (pseudo-files reporting 0) or changes
 * while it is read. Returns the core buffer (tsbpf_malloc'd) and its length.
 */
function readIntoCore(c: Core, path: string): { ptr: number; len: number } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    // Refused by node:fs (Deno and /sys): read it whole through the host instead.
    return copyIntoCore(c, readKernelFile(path));
  }
  try {
    const size = fstatSync(fd).size;
    if (size > 0) {
      const ptr = c.malloc(size);
      // sysfs hands out at most a page per read(2): 1,300 reads for vmlinux. Linux 6.16+
      // can map it instead (and any regular file can be): one copy from the mapping.
      const nat = native();
      if (nat.mmap && nat.view && nat.munmap) {
        const addr = nat.mmap(0, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (addr > 0) {
          try {
            c.mem.u8.set(new Uint8Array(nat.view(addr, size)), ptr);
          } finally {
            nat.munmap(addr, size);
          }
          return { ptr, len: size };
        }
      }
      let off = 0;
      // Memory cannot grow while this loop runs (no core call), so the view stays valid.
      const u8 = c.mem.u8;
      while (off < size) {
        const n = readSync(fd, u8, ptr + off, size - off, null);
        if (n === 0) break;
        off += n;
      }
      if (off === size && readSync(fd, Buffer.alloc(1), 0, 1, null) === 0) return { ptr, len: size };
      c.free(ptr);
    }
  } finally {
    closeSync(fd);
  }
  return copyIntoCore(c, readFileSync(path));
}

function copyIntoCore(c: Core, data: Uint8Array): { ptr: number; len: number } {
  const ptr = c.malloc(data.length || 1);
  c.mem.u8.set(data, ptr);
  return { ptr, len: data.length };
}

/** Name of a type without its ___flavour suffix, as CO-RE compares names ("task_struct___old" -> "task_struct"). */
export function essentialName(name: string): string {
  for (let i = name.length - 5; i >= 0; i--) {
    if (name[i] !== '_' && name.startsWith('___', i + 1) && name[i + 4] !== '_') return name.slice(0, i + 1);
  }
  return name;
}

/** A member reached by {@link Btf.fields} or {@link Btf.field}. */
export interface BtfField {
  /** Dotted path of names from the walked type ("pid", "thread_info.flags"); anonymous members add no name. */
  path: string;
  /** The member's own name. */
  name: string;
  /** The member's type id. */
  type: number;
  /** Offset from the start of the walked type, in bits (through anonymous members). */
  bitOffset: number;
  /** Width of a bitfield in bits, 0 for a normal member. */
  bitfieldSize: number;
  /** The STRUCT or UNION the member belongs to. */
  parent: number;
}

/** Options of {@link Btf.fields}. */
export interface BtfFieldsOptions {
  /** Also walk into named members of struct or union type (their fields get "outer.inner" paths). Default false. */
  deep?: boolean;
}

/**
 * Parsed BTF. Immutable: a CollectionSpec and its clones share one. The core memory it
 * holds is freed when the object is garbage collected.
 */
export class Btf {
  /** The first type id of this blob: 1, or for split BTF the one after its base's last. */
  readonly startId: number;
  /** One past the last type id. */
  readonly endId: number;
  /** The base of split BTF. */
  readonly base: Btf | undefined;
  readonly #h: Handle;
  readonly #cache = new Map<number, BtfType>();

  /** @internal */
  constructor(token: symbol, c: Core, ptr: number, base: Btf | undefined) {
    if (token !== TOKEN) throw new TypeError('use Btf.parse() or loadCollectionSpec() to get BTF');
    this.#h = { core: c, ptr };
    this.base = base;
    registry.register(this, this.#h);
    const info = c.struct(InfoLayout);
    c.check(c.fn.tsbpf_btf_info(ptr as Ptr<'tsbpf_btf'>, info as Ptr<'tsbpf_btf_info'>));
    this.startId = c.u32(info, InfoLayout.start_id);
    this.endId = c.u32(info, InfoLayout.end_id);
  }

  /** @internal Wraps a handle the core created (an ELF object's BTF); takes ownership. */
  static fromHandle(c: Core, ptr: number): Btf {
    return new Btf(TOKEN, c, ptr, undefined);
  }

  /**
   * Parses raw BTF (a .BTF section's bytes, or /sys/kernel/btf/*). Throws a BpfError naming
   * the record and offset of the first problem. Needs no kernel support.
   */
  static parse(data: Uint8Array, opts: BtfParseOptions = {}): Btf {
    checkBytes(OP, 'data', data);
    checkKeys(OP, 'BtfParseOptions', opts, ['base']);
    if (opts.base !== undefined && !(opts.base instanceof Btf)) throw invalid(OP, '"base" must be a Btf');
    const c = opts.base ? opts.base.#h.core : core();
    const buf = c.malloc(data.length || 1);
    c.mem.u8.set(data, buf);
    return Btf.#open(c, buf, data.length, opts.base);
  }

  /** Parses `len` bytes at core address `buf` (tsbpf_malloc'd; the handle takes it, or frees it on failure). */
  static #open(c: Core, buf: number, len: number, base: Btf | undefined): Btf {
    const out = scratchBuf(c, 4);
    const ret = c.fn.tsbpf_btf_open(
      buf as Ptr<'void'>,
      len,
      (base ? base.#h.ptr : 0) as Ptr<'tsbpf_btf'>,
      TSBPF_BTF_OWN_DATA,
      out as Ptr<'tsbpf_btf *'>,
    );
    if (ret < 0) {
      const err = c.error(ret);
      c.free(buf);
      throw new BpfError({ command: OP, errno: err.errno, reason: err.reason, advice: '' });
    }
    return new Btf(TOKEN, c, c.mem.dv.getUint32(out, true), base);
  }

  /**
   * Reads and parses a BTF file: the kernel's (default /sys/kernel/btf/vmlinux), or a module's
   * with `base` set to the kernel's. Requires a kernel built with CONFIG_DEBUG_INFO_BTF (5.4+).
   */
  static load(path = '/sys/kernel/btf/vmlinux', opts: BtfParseOptions = {}): Btf {
    if (cString(OP, 'path', path) === '') throw invalid(OP, 'empty path: give the path of a BTF file');
    checkKeys(OP, 'BtfParseOptions', opts, ['base']);
    if (opts.base !== undefined && !(opts.base instanceof Btf)) throw invalid(OP, '"base" must be a Btf');
    const c = opts.base ? opts.base.#h.core : core();
    let file: { ptr: number; len: number };
    try {
      file = readIntoCore(c, path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
      throw new BpfError({ command: OP, errno: errnoValue(code) ?? 5, reason: `cannot read ${path}`, cause: e, advice: '' });
    }
    try {
      return Btf.#open(c, file.ptr, file.len, opts.base);
    } catch (e) {
      if (e instanceof BpfError) throw new BpfError({ command: OP, errno: e.errno, reason: `${path}: ${e.reason}`, advice: '' });
      throw e;
    }
  }

  /**
   * The running kernel's BTF (/sys/kernel/btf/vmlinux), parsed on first use and shared
   * afterwards: what CO-RE relocations and attach targets resolve against. Requires Linux
   * 5.4+ built with CONFIG_DEBUG_INFO_BTF; throws ENOENT otherwise.
   */
  static kernel(): Btf {
    const c = core();
    let k = kernelCache.get(c);
    if (!k) {
      k = Btf.load(`${KERNEL_BTF_DIR}/vmlinux`);
      kernelCache.set(c, k);
    }
    return k;
  }

  /**
   * What the kernel says about the BTF object with this id (a program's or map's btfId).
   * Throws a BpfError with code ENOENT when there is none, EPERM without CAP_SYS_ADMIN.
   * Requires Linux 4.18.
   */
  static objectInfo(id: number): BtfObjectInfo {
    return readObject(core(), integer('BPF_BTF_GET_FD_BY_ID', 'id', id, 1, 0xffffffff), false).info;
  }

  /**
   * Fetches the BTF object with this id from the kernel (a map's or program's types, as
   * `bpftool btf dump id N` does) and parses it. A module's BTF is split BTF: it is parsed
   * on the kernel's ({@link Btf.kernel}). Throws a BpfError with code ENOENT when there is
   * no such object, EPERM without CAP_SYS_ADMIN. Requires Linux 4.18 (modules: 5.11).
   */
  static fromId(id: number): Btf {
    const c = core();
    const { info, data } = readObject(c, integer('BPF_BTF_GET_FD_BY_ID', 'id', id, 1, 0xffffffff), true);
    const split = info.kernel && info.name !== 'vmlinux';
    try {
      return Btf.parse(data!, split ? { base: Btf.kernel() } : {});
    } catch (e) {
      // BTF loaded by a program may still be split on the kernel's (BPF_BTF_LOAD of a
      // module program's types): try that before giving up.
      if (split || !(e instanceof BpfError)) throw e;
      try {
        return Btf.parse(data!, { base: Btf.kernel() });
      } catch {
        throw new BpfError({ command: OP, errno: e.errno, reason: `BTF object ${id}: ${e.reason}`, advice: '' });
      }
    }
  }

  /**
   * The names of the kernel modules that have BTF (the entries of /sys/kernel/btf besides
   * vmlinux), sorted. Empty when the kernel has no module BTF (CONFIG_DEBUG_INFO_BTF_MODULES,
   * Linux 5.11) or no BTF at all.
   */
  static kernelModules(): string[] {
    let names: string[];
    try {
      names = readdirSync(KERNEL_BTF_DIR);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    return names.filter((n) => n !== 'vmlinux').sort();
  }

  /**
   * A kernel module's BTF (/sys/kernel/btf/<name>): split BTF on {@link Btf.kernel}, so its
   * type ids continue after vmlinux's. Parsed on first use and shared afterwards. Requires
   * Linux 5.11 with CONFIG_DEBUG_INFO_BTF_MODULES; throws ENOENT for a module without BTF
   * (or not loaded).
   */
  static kernelModule(name: string): Btf {
    string(OP, 'name', name);
    if (!/^[\w.-]+$/.test(name) || name === 'vmlinux' || name === '.' || name === '..')
      throw invalid(OP, `"${name}" is not a kernel module name`);
    const base = Btf.kernel();
    const c = core();
    let cache = moduleCache.get(c);
    if (!cache) moduleCache.set(c, (cache = new Map()));
    let m = cache.get(name);
    if (!m) {
      m = Btf.load(`${KERNEL_BTF_DIR}/${name}`, { base });
      cache.set(name, m);
    }
    return m;
  }

  /** @internal The core handle (struct tsbpf_btf *) and the core that owns it. */
  static handleOf(btf: Btf): { core: Core; ptr: number } {
    return btf.#h;
  }

  /** The raw bytes, with the fix-ups applied to an object's BTF (DATASEC sizes and offsets). */
  bytes(): Buffer {
    const c = this.#h.core;
    const info = c.struct(InfoLayout);
    c.check(c.fn.tsbpf_btf_info(this.#h.ptr as Ptr<'tsbpf_btf'>, info as Ptr<'tsbpf_btf_info'>));
    return c.bytes(c.u32(info, InfoLayout.data), c.u32(info, InfoLayout.size));
  }

  /** Number of types in this blob (without void and without a base's). */
  get length(): number {
    return this.endId - this.startId;
  }

  /** Type `id` (0 is void; a split blob answers its base's ids too). Throws for unknown ids. */
  type(id: number): BtfType {
    integer(OP, 'id', id, 0, 0xffffffff);
    if (this.base && id < this.startId) return this.base.type(id);
    let t = this.#cache.get(id);
    if (!t) {
      t = this.#decode(id);
      this.#cache.set(id, t);
    }
    return t;
  }

  /** Every type named `name` (of `kind`, if given), in id order, the base's first. */
  typesByName(name: string, kind?: BtfKindName): BtfType[] {
    string(OP, 'name', name);
    if (kind !== undefined && !(kind in BtfKind)) throw invalid(OP, `unknown BTF kind "${String(kind)}"`);
    const c = this.#h.core;
    const bytes = Buffer.from(name, 'utf8');
    const out: BtfType[] = [];
    if (bytes.includes(0)) return out;
    const k = kind === undefined ? TSBPF_BTF_KIND_ANY : BtfKind[kind];
    let after = 0;
    for (;;) {
      const p = scratchBuf(c, bytes.length + 1);
      c.mem.u8.set(bytes, p);
      c.mem.u8[p + bytes.length] = 0;
      const id = c.fn.tsbpf_btf_find(this.#h.ptr as Ptr<'tsbpf_btf'>, p as Ptr<'char'>, k, after);
      if (id < 0) {
        if (id === -2) return out; // ENOENT: no more
        throw c.error(id);
      }
      out.push(this.type(id));
      after = id;
    }
  }

  /** The one type named `name` (of `kind`, if given). Throws if there is none or more than one. */
  typeByName(name: string, kind?: BtfKindName): BtfType {
    const all = this.typesByName(name, kind);
    const what = `${kind ?? 'type'} named "${name}"`;
    if (all.length === 0) throw new BpfError({ command: OP, errno: 2, reason: `no ${what}`, advice: '' });
    if (all.length > 1)
      throw new BpfError({ command: OP, errno: 22, reason: `${all.length} ${what}: ids ${all.map((t) => t.id).join(', ')}`, advice: '' });
    return all[0]!;
  }

  /** Size in bytes of type `id`, through typedefs, qualifiers and arrays. */
  sizeof(id: number): number {
    integer(OP, 'id', id, 0, 0xffffffff);
    const c = this.#h.core;
    return this.#checked(c.fn.tsbpf_btf_sizeof(this.#h.ptr as Ptr<'tsbpf_btf'>, id));
  }

  /** Alignment in bytes of type `id` as clang lays it out for BPF (1 for packed structs). */
  alignof(id: number): number {
    integer(OP, 'id', id, 0, 0xffffffff);
    const c = this.#h.core;
    return this.#checked(c.fn.tsbpf_btf_alignof(this.#h.ptr as Ptr<'tsbpf_btf'>, id));
  }

  /** The id reached from `id` by skipping typedefs, qualifiers and type tags. */
  resolve(id: number): number {
    integer(OP, 'id', id, 0, 0xffffffff);
    const c = this.#h.core;
    return this.#checked(c.fn.tsbpf_btf_resolve(this.#h.ptr as Ptr<'tsbpf_btf'>, id));
  }

  /** The string at `offset` of the string section (type names, line info file names). */
  string(offset: number): string {
    integer(OP, 'offset', offset, 0, 0xffffffff);
    const c = this.#h.core;
    const p = c.fn.tsbpf_btf_str(this.#h.ptr as Ptr<'tsbpf_btf'>, offset);
    if (!p) throw new BpfError({ command: OP, errno: 34, reason: `string offset ${offset} is outside the string section`, advice: '' });
    return c.cstring(p);
  }

  /**
   * The names of the BTF declaration tags (`__attribute__((btf_decl_tag("x")))`) on type `id`:
   * on the declaration itself (componentIdx -1, the default), or on its member or parameter
   * of that index.
   */
  declTags(id: number, componentIdx = -1): string[] {
    integer(OP, 'id', id, 0, 0xffffffff);
    integer(OP, 'componentIdx', componentIdx, -1, 0xffff);
    const c = this.#h.core;
    const h = this.#h.ptr as Ptr<'tsbpf_btf'>;
    let cap = 8;
    for (;;) {
      const p = scratchBuf(c, cap * 4);
      const n = this.#checked(c.fn.tsbpf_btf_decl_tags(h, id, componentIdx, p as Ptr<'uint32_t'>, cap));
      if (n > cap) {
        cap = n;
        continue;
      }
      const ids: number[] = [];
      for (let i = 0; i < n; i++) ids.push(c.mem.dv.getUint32(p + i * 4, true));
      return ids.map((tag) => this.type(tag).name);
    }
  }

  /** A C-like name for messages: "struct foo", "enum e", "uint32_t", "int *". */
  typeName(id: number): string {
    const t = this.type(id);
    switch (t.kind) {
      case 'VOID':
        return 'void';
      case 'STRUCT':
      case 'UNION':
      case 'ENUM':
      case 'ENUM64':
      case 'FWD': {
        const tag = t.kind === 'FWD' ? (t.union ? 'union' : 'struct') : t.kind === 'ENUM64' ? 'enum' : t.kind.toLowerCase();
        return t.name ? `${tag} ${t.name}` : `${tag} (anon)`;
      }
      case 'PTR':
        return `${this.typeName(t.type)} *`;
      case 'CONST':
      case 'VOLATILE':
      case 'RESTRICT':
        return `${t.kind.toLowerCase()} ${this.typeName(t.type)}`;
      case 'ARRAY':
        return `${this.typeName(t.type)}[${t.nelems}]`;
      case 'TYPE_TAG':
        return this.typeName(t.type);
      default:
        return t.name || `(anon ${t.kind})`;
    }
  }

  /** The type reached from `id` by skipping typedefs, qualifiers and type tags. */
  resolveType(id: number): BtfType {
    return this.type(this.resolve(id));
  }

  /**
   * The members of struct or union `id` (typedefs and qualifiers followed), in order, with
   * their offsets from the start of `id`: members of anonymous structs and unions are
   * walked into, as C lets them be named directly; with `deep`, members of named struct
   * and union members too. Throws for a type that is not a struct or union.
   */
  *fields(id: number, opts: BtfFieldsOptions = {}): Generator<BtfField> {
    checkKeys(OP, 'fields options', opts, ['deep']);
    const deep = opts.deep === true;
    const root = this.resolveType(id);
    if (root.kind !== 'STRUCT' && root.kind !== 'UNION')
      throw invalid(OP, `type [${id}] (${this.typeName(id)}) is not a struct or union`);
    const walk = function* (btf: Btf, t: Extract<BtfType, { kind: 'STRUCT' | 'UNION' }>, prefix: string, base: number, depth: number): Generator<BtfField> {
      if (depth > 64) throw invalid(OP, `type [${id}]: members nest deeper than 64 levels`);
      for (const m of t.members) {
        const bitOffset = base + m.bitOffset;
        const inner = btf.resolveType(m.type);
        const composite = inner.kind === 'STRUCT' || inner.kind === 'UNION';
        if (!m.name && composite) {
          yield* walk(btf, inner, prefix, bitOffset, depth + 1);
          continue;
        }
        const path = prefix ? `${prefix}.${m.name}` : m.name;
        yield { path, name: m.name, type: m.type, bitOffset, bitfieldSize: m.bitfieldSize, parent: t.id };
        if (deep && composite) yield* walk(btf, inner, path, bitOffset, depth + 1);
      }
    };
    yield* walk(this, root, '', 0, 0);
  }

  /**
   * The member at a dotted path from struct or union `id` ("se.vruntime", "thread_info.flags"),
   * looked up as C would: through anonymous members and typedefs. Array members can be
   * indexed ("comm[3]" is the fourth element). Undefined when there is no such member.
   */
  field(id: number, path: string): BtfField | undefined {
    string(OP, 'path', path);
    const parts = path.split('.');
    if (parts.some((p) => !/^[A-Za-z_]\w*(?:\[\d+\])*$/.test(p)))
      throw invalid(OP, `"${path}" is not a member path (names separated by '.', optional [index])`);
    let cur = id;
    let bitOffset = 0;
    let found: BtfField | undefined;
    for (const part of parts) {
      const m = /^([A-Za-z_]\w*)((?:\[\d+\])*)$/.exec(part)!;
      const t = this.resolveType(cur);
      if (t.kind !== 'STRUCT' && t.kind !== 'UNION') return undefined;
      let hit: BtfField | undefined;
      for (const f of this.fields(t.id)) {
        if (f.name === m[1]) {
          hit = f;
          break;
        }
      }
      if (!hit) return undefined;
      bitOffset += hit.bitOffset;
      let type = hit.type;
      for (const idx of m[2]!.match(/\d+/g) ?? []) {
        const arr = this.resolveType(type);
        if (arr.kind !== 'ARRAY' || Number(idx) >= arr.nelems) return undefined;
        bitOffset += Number(idx) * this.sizeof(arr.type) * 8;
        type = arr.type;
      }
      found = { ...hit, path, type, bitOffset, bitfieldSize: m[2] ? 0 : hit.bitfieldSize };
      cur = type;
    }
    return found;
  }

  /**
   * Type `id` as C, as `bpftool btf dump file ... format c` prints it: the full definition
   * of a struct, union or enum (anonymous members inline, bitfields, explicit padding,
   * packing), `typedef ...;`, a function's or variable's declaration, or the spelling of
   * any other type ("const char *").
   */
  formatC(id: number): string {
    integer(OP, 'id', id, 0, 0xffffffff);
    return formatType(this, id);
  }

  /** Every type of this blob, in id order (not the base's). */
  *[Symbol.iterator](): IterableIterator<BtfType> {
    for (let id = this.startId; id < this.endId; id++) yield this.type(id);
  }

  #checked(ret: number): number {
    if (ret < 0) {
      const err = this.#h.core.error(ret);
      throw new BpfError({ command: OP, errno: err.errno, reason: err.reason, advice: '' });
    }
    return ret;
  }

  #decode(id: number): BtfType {
    const c = this.#h.core;
    const h = this.#h.ptr as Ptr<'tsbpf_btf'>;
    const p = c.struct(TypeLayout);
    const r = c.fn.tsbpf_btf_type(h, id, p as Ptr<'tsbpf_btf_type_info'>);
    if (r < 0) {
      const err = c.error(r);
      throw new BpfError({ command: OP, errno: err.errno, reason: err.reason, advice: '' });
    }
    const kindNum = c.u32(p, TypeLayout.kind);
    const kind = kindNames[kindNum] ?? 'VOID';
    const name = c.cstring(c.u32(p, TypeLayout.name));
    const size = c.u32(p, TypeLayout.size);
    const type = c.u32(p, TypeLayout.type);
    const kflag = c.u32(p, TypeLayout.kflag) !== 0;
    const vlen = c.u32(p, TypeLayout.vlen);
    const linkage = c.u32(p, TypeLayout.linkage);
    const snapshot = {
      intEncoding: c.u32(p, TypeLayout.int_encoding),
      intOffset: c.u32(p, TypeLayout.int_offset),
      intBits: c.u32(p, TypeLayout.int_bits),
      indexType: c.u32(p, TypeLayout.index_type),
      nelems: c.u32(p, TypeLayout.nelems),
      componentIdx: c.i32(p, TypeLayout.component_idx),
    };
    const members = vlen ? this.#members(id, vlen) : [];
    switch (kind) {
      case 'VOID':
        return { id, kind, name: '' };
      case 'INT':
        return {
          id,
          kind,
          name,
          size,
          signed: (snapshot.intEncoding & 1) !== 0,
          char: (snapshot.intEncoding & 2) !== 0,
          bool: (snapshot.intEncoding & 4) !== 0,
          bitOffset: snapshot.intOffset,
          bits: snapshot.intBits,
        };
      case 'PTR':
      case 'TYPEDEF':
      case 'VOLATILE':
      case 'CONST':
      case 'RESTRICT':
      case 'TYPE_TAG':
        return { id, kind, name, type };
      case 'ARRAY':
        return { id, kind, name, type, indexType: snapshot.indexType, nelems: snapshot.nelems };
      case 'STRUCT':
      case 'UNION':
        return {
          id,
          kind,
          name,
          size,
          members: members.map((m) => ({ name: m.name, type: m.type, bitOffset: m.offset, bitfieldSize: m.bitfieldSize })),
        };
      case 'ENUM':
      case 'ENUM64':
        return {
          id,
          kind,
          name,
          size,
          signed: kflag,
          values: members.map((m) => ({ name: m.name, value: kflag ? BigInt.asIntN(64, m.value) : m.value })),
        };
      case 'FWD':
        return { id, kind, name, union: kflag };
      case 'FUNC':
        return { id, kind, name, type, linkage: FUNC_LINKAGE[linkage] ?? 'static' };
      case 'FUNC_PROTO':
        return { id, kind, name, returnType: type, params: members.map((m) => ({ name: m.name, type: m.type })) };
      case 'VAR':
        return { id, kind, name, type, linkage: VAR_LINKAGE[linkage] ?? 'static' };
      case 'DATASEC':
        return { id, kind, name, size, vars: members.map((m) => ({ type: m.type, offset: m.offset, size: m.size })) };
      case 'FLOAT':
        return { id, kind, name, size };
      case 'DECL_TAG':
        return { id, kind, name, type, componentIdx: snapshot.componentIdx };
    }
  }

  #members(id: number, vlen: number): Array<{ name: string; type: number; offset: number; bitfieldSize: number; size: number; value: bigint }> {
    const c = this.#h.core;
    const size = MemberLayout.$size;
    const p = scratchBuf(c, vlen * size);
    const n = c.fn.tsbpf_btf_members(this.#h.ptr as Ptr<'tsbpf_btf'>, id, p as Ptr<'tsbpf_btf_member_info'>, vlen);
    if (n < 0) throw c.error(n);
    const out = [];
    for (let i = 0; i < Math.min(n, vlen); i++) {
      const m = p + i * size;
      out.push({
        name: c.cstring(c.u32(m, MemberLayout.name)),
        type: c.u32(m, MemberLayout.type),
        offset: c.u32(m, MemberLayout.offset),
        bitfieldSize: c.u32(m, MemberLayout.bitfield_size),
        size: c.u32(m, MemberLayout.size),
        value: c.u64(m, MemberLayout.value),
      });
    }
    return out;
  }
}
