/**
 * Maps: create them, open them by id or pin, and read and write their elements one at a
 * time, in batches, or straight through memory (BPF_F_MMAPABLE arrays).
 *
 * Each BpfMap owns a handle in the core (core/src/map*.c) with buffers for one key, one
 * value and a batch. An operation encodes its key and value into those buffers and calls a
 * scalar-argument export; the core builds the bpf_attr, converts per-CPU values between the
 * packed layout seen here and the kernel's 8-byte slots, and sends the request. Nothing is
 * allocated on the way in, and lookups may decode into a buffer the caller owns.
 */
import type { Core } from '../bridge/core.js';
import type { WasmMemory } from '../bridge/memory.js';
import type { PreparedRequest } from '../bridge/host.js';
import {
  TSBPF_MAP_FD_VALUES,
  TSBPF_MAP_OP_DELETE,
  TSBPF_MAP_OP_FIRST_KEY,
  TSBPF_MAP_OP_LOOKUP,
  TSBPF_MAP_OP_LOOKUP_AND_DELETE,
  TSBPF_MAP_OP_NEXT_KEY,
  TSBPF_MAP_OP_UPDATE,
  TSBPF_MAP_KEYLESS,
  TSBPF_MAP_PERCPU,
  TSBPF_MAP_VALUE_IN,
  tsbpf_map as H,
  tsbpf_map_create_opts as CreateOpts,
  tsbpf_map_info as InfoLayout,
  tsbpf_map_request as Req,
  type CoreFunctions,
  type Ptr,
} from '../bridge/generated/abi.js';
import { native } from '../bridge/core.js';
import { bytes as bytesCodec, Codec, CodecError, copyBytes } from './codec.js';
import { BpfError, commandName } from './errors.js';
import { FdHandle } from './fd.js';
import { MapType, MapTypeNames } from './generated/uapi.js';
import { fdById, fdObjectType, ObjectKind, objectIds, openPinned, pinFd, unpinPath } from './object.js';
import { core } from './runtime.js';
import { cString, checkKeys, describe, integer, invalid } from './validate.js';

const CREATE = 'BPF_MAP_CREATE';
const LOOKUP = 'BPF_MAP_LOOKUP_ELEM';
const UPDATE = 'BPF_MAP_UPDATE_ELEM';
const DELETE = 'BPF_MAP_DELETE_ELEM';
const LOOKUP_AND_DELETE = 'BPF_MAP_LOOKUP_AND_DELETE_ELEM';
const NEXT_KEY = 'BPF_MAP_GET_NEXT_KEY';
const LOOKUP_BATCH = 'BPF_MAP_LOOKUP_BATCH';
const LOOKUP_AND_DELETE_BATCH = 'BPF_MAP_LOOKUP_AND_DELETE_BATCH';
const UPDATE_BATCH = 'BPF_MAP_UPDATE_BATCH';
const DELETE_BATCH = 'BPF_MAP_DELETE_BATCH';
const U32_MAX = 0xffffffff;
const ENOENT = 2;
const EINVAL = 22;
const ENOMEM = 12;

/** Flags of BPF_MAP_CREATE (map_flags). */
export const MapFlags = {
  NoPrealloc: 1 << 0,
  NoCommonLru: 1 << 1,
  NumaNode: 1 << 2,
  /** User space may only read (also an open flag of fromId / loadPinned). */
  Rdonly: 1 << 3,
  /** User space may only write (also an open flag). */
  Wronly: 1 << 4,
  StackBuildId: 1 << 5,
  ZeroSeed: 1 << 6,
  RdonlyProg: 1 << 7,
  WronlyProg: 1 << 8,
  Clone: 1 << 9,
  /** Array maps whose memory user space can map: see {@link BpfMap.memory}. Linux 5.5. */
  Mmapable: 1 << 10,
  PreserveElems: 1 << 11,
  InnerMap: 1 << 12,
} as const;

/** Flags of element updates and lookups. */
export const UpdateFlags = {
  /** Create or replace. */
  Any: 0,
  /** Create only: EEXIST if the key exists. */
  NoExist: 1,
  /** Replace only: ENOENT if the key does not exist. For queues and stacks: push over the oldest. */
  Exist: 2,
  /** Take the value's bpf_spin_lock while copying (values with a spin lock, BTF-described). */
  Lock: 4,
} as const;

/** What to create. Sizes come from the codecs when given; a size given as well must agree. */
export interface MapSpec<K = Buffer, V = Buffer> {
  /** The map type, e.g. MapType.Hash. */
  type: MapType;
  /** Bytes per key; 0 for queues, stacks and bloom filters. Default: the key codec's size, else 0. */
  keySize?: number;
  /** Bytes per value (per CPU for per-CPU maps). Default: the value codec's size, else 0. */
  valueSize?: number;
  maxEntries: number;
  /** {@link MapFlags}. */
  flags?: number;
  /** Object name: at most 15 characters of [A-Za-z0-9_.]. */
  name?: string;
  /** For ArrayOfMaps and HashOfMaps: a map (or the spec of one) that inner maps must resemble. */
  innerMap?: BpfMap<unknown, unknown> | MapSpec<unknown, unknown>;
  /** NUMA node to allocate on (sets MapFlags.NumaNode). */
  numaNode?: number;
  /** Type-specific: the number of hash functions of a bloom filter, for instance. */
  mapExtra?: number | bigint;
  /** How keys encode: codec.u32, codec.struct({...}), ... Default: raw bytes. */
  key?: Codec<K>;
  /** How values (each CPU's, for per-CPU maps) encode. Default: raw bytes. */
  value?: Codec<V>;
}

const SPEC_KEYS = ['type', 'keySize', 'valueSize', 'maxEntries', 'flags', 'name', 'innerMap', 'numaNode', 'mapExtra', 'key', 'value'] as const;

/** Options of {@link BpfMap.fromId} and {@link BpfMap.loadPinned}. */
export interface OpenOptions<K = Buffer, V = Buffer> {
  key?: Codec<K>;
  value?: Codec<V>;
  /** MapFlags.Rdonly or MapFlags.Wronly to open with fewer rights. */
  flags?: number;
}

const OPEN_KEYS = ['key', 'value', 'flags'] as const;

/** What the kernel says about a map. */
export interface MapInfo {
  type: MapType;
  /** 'BPF_MAP_TYPE_HASH' and so on. */
  typeName: string;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  name: string;
  /** True once the map was frozen (read from /proc/self/fdinfo). */
  frozen: boolean;
  ifindex: number;
  btfId: number;
  btfKeyTypeId: number;
  btfValueTypeId: number;
  mapExtra: bigint;
}

/** The per-CPU map types: values are one slot per possible CPU. */
export type PerCpuMapType =
  | typeof MapType.PercpuHash
  | typeof MapType.PercpuArray
  | typeof MapType.LruPercpuHash
  | typeof MapType.PercpuCgroupStorage;

/** Entries read by a batch lookup. */
export interface BatchEntries<K, V> {
  keys: K[];
  values: V[];
}

/**
 * Where a batch lookup resumes. Start with `new BatchCursor()`, pass it to successive
 * lookupBatch calls of one map until `done`; it can be kept and resumed later, or reset().
 * A cursor belongs to the map it was first used with.
 */
export class BatchCursor {
  /** @internal The kernel's token after the last call (undefined: start from the beginning). */
  _token: Uint8Array | undefined;
  /** @internal */
  _owner: object | undefined;
  #done = false;

  /** True once the map had no more entries to give. */
  get done(): boolean {
    return this.#done;
  }

  /** @internal */
  _finish(): void {
    this.#done = true;
  }

  /** Starts over from the first entry. */
  reset(): void {
    this._token = undefined;
    this.#done = false;
  }
}

let cpuCount: number | undefined;

/** @internal Counts the CPUs of a kernel CPU list such as "0-3,5,7-8". */
export function parseCpuList(text: string): number {
  let n = 0;
  const t = text.trim();
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(t)) throw new Error(`tsbpf: cannot parse the CPU list "${t}"`);
  for (const part of t.split(',')) {
    const [a, b] = part.split('-').map(Number) as [number, number | undefined];
    if (b !== undefined && b < a) throw new Error(`tsbpf: bad CPU range "${part}"`);
    n += b === undefined ? 1 : b - a + 1;
  }
  return n;
}

/**
 * How many CPUs the kernel may ever bring online (/sys/devices/system/cpu/possible): the
 * number of values per element of a per-CPU map.
 */
export function possibleCpus(): number {
  if (cpuCount !== undefined) return cpuCount;
  const text = native().readSysFile(POSSIBLE_CPUS);
  if (typeof text === 'number')
    throw new BpfError({
      command: 'possible CPUs',
      errno: -text,
      reason: `cannot read ${POSSIBLE_CPUS}, which sizes the values of per-CPU maps`,
      advice: 'mount sysfs at /sys',
    });
  cpuCount = parseCpuList(text);
  return cpuCount;
}

const POSSIBLE_CPUS = '/sys/devices/system/cpu/possible';

/** The core handle a collected map leaves behind is freed here; FdHandle closes its fd. */
interface HeldHandle {
  core: Core;
  h: number;
}
const handles = new FinalizationRegistry<HeldHandle>((held) => held.core.fn.tsbpf_map__free(held.h as Ptr<'tsbpf_map'>));

/** A mapping of map memory; unmapped when its ArrayBuffer is collected. */
interface Mapping {
  addr: number;
  length: number;
  buffer: Buffer;
  ab: ArrayBuffer;
}
const mappings = new FinalizationRegistry<{ addr: number; length: number }>(({ addr, length }) => {
  native().munmap?.(addr, length);
});

const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 0x01;
const MAP_PRIVATE = 0x02;
const MAP_FIXED = 0x10;
const MAP_ANONYMOUS = 0x20;

/** A codec of whole per-CPU values: one element per possible CPU, packed. */
function perCpu<T>(of: Codec<T>, n: number): Codec<T[]> {
  const size = of.size;
  return {
    size: size * n,
    align: of.align,
    name: `${of.name} x ${n} CPUs`,
    encode(v, dv, u8, off) {
      if (!Array.isArray(v) || v.length !== n)
        throw new CodecError(`must be an array of ${n} values, one per possible CPU, got ${describe(v)}`);
      for (let i = 0; i < n; i++) {
        const e = v[i] as unknown;
        if (e instanceof Uint8Array) {
          if (e.length !== size) throw new CodecError(`for CPU ${i} is ${e.length} bytes, values are ${size} bytes (valueSize)`);
          copyBytes(u8, off + i * size, e, 0, size);
        } else {
          try {
            of.encode(e as T, dv, u8, off + i * size);
          } catch (err) {
            if (err instanceof CodecError) throw new CodecError(`for CPU ${i} ${err.message}`);
            throw err;
          }
        }
      }
    },
    decode(dv, u8, off) {
      const out = new Array<T>(n);
      for (let i = 0; i < n; i++) out[i] = of.decode(dv, u8, off + i * size);
      return out;
    },
  };
}

interface Meta {
  type: MapType;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  name: string;
}

const TOKEN = Symbol('BpfMap');

/**
 * A BPF map. Owns its file descriptor and a handle in the core. `K` is what keys decode
 * to, `V` what values decode to (an array with one entry per possible CPU for per-CPU
 * maps). Raw Uint8Array/Buffer keys and values are accepted by every map.
 */
export class BpfMap<K = Buffer, V = Buffer> extends FdHandle {
  readonly type: MapType;
  readonly keySize: number;
  /** Bytes per value; per CPU for per-CPU maps. */
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly name: string;
  /** Values per element: the possible CPUs for per-CPU maps, else 1. */
  readonly valuesPerElement: number;
  readonly keyCodec: Codec<K> | undefined;
  /** The codec of one value (one CPU's, for per-CPU maps). */
  readonly valueCodec: Codec<unknown>;
  readonly #core: Core;
  readonly #mem: WasmMemory;
  readonly #fn: CoreFunctions;
  #h: number;
  readonly #keyPtr: number;
  readonly #valuePtr: number;
  readonly #nextKeyPtr: number;
  /** Bytes of a whole value as passed here: valueSize x valuesPerElement. */
  readonly #valueLen: number;
  readonly #traits: number;
  readonly #kc: Codec<K>;
  readonly #vc: Codec<V>;
  #mapping: Mapping | undefined;
  #pinned: string | undefined;
  /** Prepared element requests by op * 8 + flags: undefined not yet asked, null unavailable. */
  #prepared: (PreparedRequest | null | undefined)[] = [];

  /** @internal */
  constructor(token: symbol, fd: number, meta: Meta, kc: Codec<unknown> | undefined, vc: Codec<unknown> | undefined, c: Core) {
    if (token !== TOKEN) throw new TypeError('use BpfMap.create(), fromId() or loadPinned() to get a BpfMap');
    super(fd, c);
    this.type = meta.type;
    this.keySize = meta.keySize;
    this.valueSize = meta.valueSize;
    this.maxEntries = meta.maxEntries;
    this.flags = meta.flags;
    this.name = meta.name;
    this.#core = c;
    this.#mem = c.mem;
    this.#fn = c.fn;
    const h = c.fn.tsbpf_map__new(fd, meta.type, meta.keySize, meta.valueSize, meta.maxEntries, possibleCpus()) >>> 0;
    if (h === 0) {
      const err = c.error(-ENOMEM);
      super.close();
      throw err;
    }
    this.#h = h;
    handles.register(this, { core: c, h }, this);
    this.#keyPtr = c.u32(h, H.key);
    this.#valuePtr = c.u32(h, H.value);
    this.#nextKeyPtr = c.u32(h, H.next_key);
    this.#traits = c.u32(h, H.traits);
    this.valuesPerElement = c.u32(h, H.n_values);
    this.#valueLen = meta.valueSize * this.valuesPerElement;
    this.keyCodec = kc as Codec<K> | undefined;
    this.#kc = (kc ?? bytesCodec(Math.max(meta.keySize, 1))) as Codec<K>;
    const one = vc ?? bytesCodec(Math.max(meta.valueSize, 1));
    this.valueCodec = one;
    this.#vc = (this.#traits & TSBPF_MAP_PERCPU ? perCpu(one, this.valuesPerElement) : one) as Codec<V>;
  }

  protected get kind(): string {
    return 'map';
  }

  /**
   * Creates a map. Sizes are checked against the codecs before the kernel is asked; the
   * kernel's refusal names what this map type needs. Requires Linux 3.19 (map types have
   * their own minimums: LRU 4.10, LPM trie 4.11, maps of maps 4.12, queue/stack 4.20,
   * bloom filter 5.16; mapExtra 5.16).
   */
  static create<K = Buffer, V = Buffer>(spec: MapSpec<K, V> & { type: PerCpuMapType }): BpfMap<K, V[]>;
  static create<K = Buffer, V = Buffer>(spec: MapSpec<K, V>): BpfMap<K, V>;
  static create<K, V>(spec: MapSpec<K, V>, /** @internal */ btf?: MapBtf): BpfMap<K, V> {
    checkKeys(CREATE, 'MapSpec', spec, SPEC_KEYS);
    const type = integer(CREATE, 'type', spec.type, 0, U32_MAX) as MapType;
    const kc = spec.key === undefined ? undefined : checkCodec(CREATE, 'key', spec.key);
    const vc = spec.value === undefined ? undefined : checkCodec(CREATE, 'value', spec.value);
    const keySize = sizeFor(CREATE, 'keySize', spec.keySize, kc, 'key');
    const valueSize = sizeFor(CREATE, 'valueSize', spec.valueSize, vc, 'value');
    const maxEntries = integer(CREATE, 'maxEntries', spec.maxEntries, 0, U32_MAX);
    let flags = integer(CREATE, 'flags', spec.flags, 0, U32_MAX, 0);
    const name = spec.name === undefined ? '' : cString(CREATE, 'name', spec.name);
    const numaNode = spec.numaNode === undefined ? undefined : integer(CREATE, 'numaNode', spec.numaNode, 0, U32_MAX);
    if (numaNode !== undefined) flags = (flags | MapFlags.NumaNode) >>> 0;
    const mapExtra = u64Option(CREATE, 'mapExtra', spec.mapExtra);

    let inner: BpfMap<unknown, unknown> | undefined;
    let ownInner = false;
    if (spec.innerMap instanceof BpfMap) inner = spec.innerMap;
    else if (spec.innerMap !== undefined) {
      if (typeof spec.innerMap !== 'object' || spec.innerMap === null)
        throw invalid(CREATE, `"innerMap" must be a BpfMap or a MapSpec, got ${describe(spec.innerMap)}`);
      inner = BpfMap.create(spec.innerMap as MapSpec<unknown, unknown>);
      ownInner = true;
    }
    try {
      const c = core();
      c.resetArena();
      const namePtr = name ? c.stageCString(name) : 0;
      const o = c.struct(CreateOpts);
      c.setU32(o, CreateOpts.map_type, type);
      c.setU32(o, CreateOpts.key_size, keySize);
      c.setU32(o, CreateOpts.value_size, valueSize);
      c.setU32(o, CreateOpts.max_entries, maxEntries);
      c.setU32(o, CreateOpts.map_flags, flags);
      c.setU32(o, CreateOpts.inner_map_fd, inner ? inner.fd : 0);
      c.setU32(o, CreateOpts.numa_node, numaNode ?? 0);
      c.setU32(o, CreateOpts.name, namePtr);
      c.mem.dv.setBigUint64(o + CreateOpts.map_extra.off, mapExtra, true);
      if (btf) {
        c.setU32(o, CreateOpts.btf_fd, btf.fd);
        c.setU32(o, CreateOpts.btf_key_type_id, btf.keyTypeId);
        c.setU32(o, CreateOpts.btf_value_type_id, btf.valueTypeId);
      }
      const fd = c.fn.tsbpf_map_create(o as Ptr<'tsbpf_map_create_opts'>);
      if (fd < 0) throw c.error(fd, name ? `map "${name}"` : undefined);
      return new BpfMap<K, V>(TOKEN, fd, { type, keySize, valueSize, maxEntries, flags, name }, kc, vc, c);
    } finally {
      if (ownInner) inner!.close();
    }
  }

  /** Opens the map with this id (see {@link BpfMap.ids}). Requires Linux 4.13. */
  static fromId<K = Buffer, V = Buffer>(id: number, opts: OpenOptions<K, V> = {}): BpfMap<K, V> {
    const cmd = 'BPF_MAP_GET_FD_BY_ID';
    checkKeys(cmd, 'OpenOptions', opts, OPEN_KEYS);
    const n = integer(cmd, 'id', id, 0, U32_MAX);
    const flags = integer(cmd, 'flags', opts.flags, 0, U32_MAX, 0);
    const c = core();
    return BpfMap.#open(c, fdById(c, ObjectKind.Map, n, flags), opts, cmd);
  }

  /**
   * Opens the map pinned at `path` on a bpffs mount. Throws a BpfError when nothing is
   * pinned there (ENOENT) or the pin is not a map (EINVAL). Requires Linux 4.4.
   */
  static loadPinned<K = Buffer, V = Buffer>(path: string, opts: OpenOptions<K, V> = {}): BpfMap<K, V> {
    const cmd = 'BPF_OBJ_GET';
    checkKeys(cmd, 'OpenOptions', opts, OPEN_KEYS);
    const flags = integer(cmd, 'flags', opts.flags, 0, U32_MAX, 0);
    const c = core();
    const fd = openPinned(c, path, flags);
    // The info of a program fd would read as a map's: refuse anything but a map.
    const what = fdObjectType(fd);
    if (what !== undefined && what !== 'map') {
      c.closeFd(fd);
      throw new BpfError({ command: cmd, errno: EINVAL, reason: `${path} is a pinned ${what}, not a map`, advice: '' });
    }
    return BpfMap.#open(c, fd, opts, cmd);
  }

  static #open<K, V>(c: Core, fd: number, opts: OpenOptions<K, V>, cmd: string): BpfMap<K, V> {
    let info: MapInfo;
    try {
      info = readInfo(c, fd);
      const kc = opts.key === undefined ? undefined : checkCodec(cmd, 'key', opts.key);
      const vc = opts.value === undefined ? undefined : checkCodec(cmd, 'value', opts.value);
      if (kc && kc.size !== info.keySize)
        throw invalid(cmd, `the key codec ${kc.name} is ${kc.size} bytes, but this map's keys are ${info.keySize} bytes`);
      if (vc && vc.size !== info.valueSize)
        throw invalid(cmd, `the value codec ${vc.name} is ${vc.size} bytes, but this map's values are ${info.valueSize} bytes`);
      return new BpfMap<K, V>(TOKEN, fd, { ...info, flags: info.flags }, kc, vc, c);
    } catch (e) {
      c.closeFd(fd);
      throw e;
    }
  }

  /** The ids of every map the kernel has loaded, in increasing order. Requires Linux 4.13. */
  static ids(): Generator<number> {
    return objectIds(core(), ObjectKind.Map);
  }

  /** Pins the map at `path` on a bpffs mount, so that it outlives this process. Requires Linux 4.4. */
  pin(path: string): void {
    pinFd(this.#core, this.fd, path);
    this.#pinned = path;
  }

  /** Removes the pin at `path` (default: where pin() put it). The map lives on while anything holds it. */
  unpin(path?: string): void {
    const p = path ?? this.#pinned;
    if (p === undefined) throw invalid('unpin', 'this map was not pinned by pin(): give the path');
    unpinPath(p);
    if (p === this.#pinned) this.#pinned = undefined;
  }

  /** A second handle on the same map (a duplicated fd), with the same codecs; close each. */
  clone(): BpfMap<K, V> {
    const fd = this.#core.dupFd(this.fd, 'clone');
    return new BpfMap<K, V>(
      TOKEN,
      fd,
      { type: this.type, keySize: this.keySize, valueSize: this.valueSize, maxEntries: this.maxEntries, flags: this.flags, name: this.name },
      this.keyCodec,
      this.valueCodec,
      this.#core,
    );
  }

  /** What the kernel reports about this map now. Requires Linux 4.13. */
  info(): MapInfo {
    return readInfo(this.#core, this.fd);
  }

  /**
   * Makes the map read-only for user space (programs may still write it). Updates then
   * fail with EPERM. Requires Linux 5.2.
   */
  freeze(): void {
    this.#core.check(this.#fn.tsbpf_map_freeze(this.fd), this.#context());
  }

  /** Closes the map: frees its core handle, retires its memory mapping, closes the fd. Idempotent. */
  override close(): void {
    const h = this.#h;
    if (h !== 0) {
      this.#h = 0;
      this.#prepared = [];
      handles.unregister(this);
      this.#fn.tsbpf_map__free(h as Ptr<'tsbpf_map'>);
    }
    this.#retireMapping();
    super.close();
  }

  // ---- single elements ----------------------------------------------------------------

  /**
   * The value at `key`, or undefined when there is none. With `out`, the raw value (all
   * CPUs' slots, packed, for per-CPU maps) is copied into it and `out` is returned.
   * For prog arrays and maps of maps the value is the id of the program or map.
   */
  lookup(key: K | Uint8Array): V | undefined;
  lookup<O extends Uint8Array>(key: K | Uint8Array, out: O): O | undefined;
  lookup(key: K | Uint8Array, out?: Uint8Array): V | Uint8Array | undefined {
    const h = this.#live();
    if (this.#traits & TSBPF_MAP_KEYLESS) throw this.#keyless(LOOKUP, 'peek()');
    if (out !== undefined) this.#checkOut(out, LOOKUP); // before the kernel is asked
    this.#putKey(key, LOOKUP);
    const p = this.#prepared[TSBPF_MAP_OP_LOOKUP * 8];
    const r = p ? p.run() : p === null ? this.#fn.tsbpf_map__lookup(h as Ptr<'tsbpf_map'>, 0) : this.#first(TSBPF_MAP_OP_LOOKUP, 0);
    if (r !== 0) {
      if (r === -ENOENT) return undefined;
      throw this.#failed(TSBPF_MAP_OP_LOOKUP, r, TSBPF_MAP_OP_LOOKUP * 8);
    }
    return out === undefined ? this.#getValue(LOOKUP) : this.#copyValue(out);
  }

  /** True when `key` has a value. For a bloom filter: {@link contains} of the value. */
  has(key: K | V | Uint8Array): boolean {
    if (this.#traits & TSBPF_MAP_VALUE_IN) return this.contains(key as V);
    return this.lookup(key as K) !== undefined;
  }

  /**
   * Sets the value at `key`. flags: {@link UpdateFlags} (NoExist: EEXIST if present; Exist:
   * ENOENT if absent). A full hash map throws E2BIG, an index past an array's end E2BIG.
   * Prog arrays and maps of maps take the Program or BpfMap itself as the value.
   */
  update(key: K | Uint8Array, value: V | Uint8Array | FdHandle, flags = 0): void {
    const h = this.#live();
    if (this.#traits & TSBPF_MAP_KEYLESS) throw this.#keyless(UPDATE, 'push()');
    this.#putKey(key, UPDATE);
    this.#putValue(value, this.#valuePtr, UPDATE);
    if (this.#op(TSBPF_MAP_OP_UPDATE, flagsArg(UPDATE, flags)) !== 0) throw this.#lastError;
  }

  /** Deletes `key`; returns false when it was not there. Array elements cannot be deleted (EINVAL). */
  delete(key: K | Uint8Array): boolean {
    const h = this.#live();
    if (this.#traits & TSBPF_MAP_KEYLESS) throw this.#keyless(DELETE, 'pop()');
    this.#putKey(key, DELETE);
    const r = this.#op(TSBPF_MAP_OP_DELETE, 0);
    if (r === 0) return true;
    if (r === -ENOENT) return false;
    throw this.#lastError;
  }

  /** Deletes `key` and returns the value it had, or undefined. Hash maps need Linux 5.14. */
  lookupAndDelete(key: K | Uint8Array): V | undefined {
    const h = this.#live();
    if (this.#traits & TSBPF_MAP_KEYLESS) throw this.#keyless(LOOKUP_AND_DELETE, 'pop()');
    this.#putKey(key, LOOKUP_AND_DELETE);
    const r = this.#op(TSBPF_MAP_OP_LOOKUP_AND_DELETE, 0);
    if (r === 0) return this.#getValue(LOOKUP_AND_DELETE);
    if (r === -ENOENT) return undefined;
    throw this.#lastError;
  }

  /** The key after `key` (the first key without one), or undefined after the last. Requires Linux 4.12 for the first key. */
  nextKey(key?: K | Uint8Array): K | undefined {
    this.#live();
    if (this.#traits & TSBPF_MAP_KEYLESS) throw this.#keyless(NEXT_KEY, 'pop()');
    if (key !== undefined) this.#putKey(key, NEXT_KEY);
    const r = this.#op(key === undefined ? TSBPF_MAP_OP_FIRST_KEY : TSBPF_MAP_OP_NEXT_KEY, 0);
    if (r === -ENOENT) return undefined;
    if (r !== 0) throw this.#lastError;
    return this.#getKey(this.#nextKeyPtr, NEXT_KEY);
  }

  // ---- queues, stacks, bloom filters ------------------------------------------------------

  /**
   * Queue, stack or bloom filter: adds `value`. A full queue or stack throws E2BIG, unless
   * flags is UpdateFlags.Exist, which replaces the oldest element. Requires Linux 4.20
   * (bloom filters 5.16).
   */
  push(value: V | Uint8Array, flags = 0): void {
    const h = this.#live();
    if (!(this.#traits & TSBPF_MAP_KEYLESS)) throw this.#keyed(UPDATE, 'push');
    this.#putValue(value, this.#valuePtr, UPDATE);
    if (this.#op(TSBPF_MAP_OP_UPDATE, flagsArg(UPDATE, flags)) !== 0) throw this.#lastError;
  }

  /** Queue or stack: removes and returns the next element, or undefined when empty. */
  pop(): V | undefined {
    const h = this.#live();
    if (!(this.#traits & TSBPF_MAP_KEYLESS) || this.#traits & TSBPF_MAP_VALUE_IN) throw this.#keyed(LOOKUP_AND_DELETE, 'pop');
    const r = this.#op(TSBPF_MAP_OP_LOOKUP_AND_DELETE, 0);
    if (r === 0) return this.#getValue(LOOKUP_AND_DELETE);
    if (r === -ENOENT) return undefined;
    throw this.#lastError;
  }

  /** Queue or stack: the next element without removing it, or undefined when empty. */
  peek(): V | undefined {
    const h = this.#live();
    if (!(this.#traits & TSBPF_MAP_KEYLESS) || this.#traits & TSBPF_MAP_VALUE_IN) throw this.#keyed(LOOKUP, 'peek');
    const r = this.#op(TSBPF_MAP_OP_LOOKUP, 0);
    if (r === 0) return this.#getValue(LOOKUP);
    if (r === -ENOENT) return undefined;
    throw this.#lastError;
  }

  /** Bloom filter: false when `value` was certainly never pushed, true when it probably was. Requires Linux 5.16. */
  contains(value: V | Uint8Array): boolean {
    const h = this.#live();
    if (!(this.#traits & TSBPF_MAP_VALUE_IN)) throw this.#keyed(LOOKUP, 'contains');
    this.#putValue(value, this.#valuePtr, LOOKUP);
    const r = this.#op(TSBPF_MAP_OP_LOOKUP, 0);
    if (r === 0) return true;
    if (r === -ENOENT) return false;
    throw this.#lastError;
  }

  // ---- iteration --------------------------------------------------------------------------

  /**
   * Every key, by BPF_MAP_GET_NEXT_KEY. Keys deleted during the walk may make a hash map
   * start over (the kernel's rule), so delete after walking, or use lookupAndDeleteBatch.
   */
  *keys(): Generator<K, void, undefined> {
    const walk = this.#walk(false);
    for (let k = walk.next(); k !== undefined; k = walk.next()) yield this.#getKey(this.#keyPtr, NEXT_KEY);
  }

  /** Every [key, value] pair, by next-key and lookup (two requests per entry, as in C). */
  *entries(): Generator<[K, V], void, undefined> {
    const walk = this.#walk(true);
    while (walk.next() !== undefined) yield [this.#getKey(this.#keyPtr, NEXT_KEY), this.#getValue(LOOKUP)];
  }

  /**
   * Calls `fn(value, key, map)` for every entry, as Map.prototype.forEach does: the same
   * walk as {@link entries} without an iterator object and a pair per entry.
   */
  forEach(fn: (value: V, key: K, map: this) => void): void {
    const walk = this.#walk(true);
    while (walk.next() !== undefined) fn(this.#getValue(LOOKUP), this.#getKey(this.#keyPtr, NEXT_KEY), this);
  }

  /** Every value, in the order of {@link keys}. */
  *values(): Generator<V, void, undefined> {
    const walk = this.#walk(true);
    while (walk.next() !== undefined) yield this.#getValue(LOOKUP);
  }

  /**
   * A walk over the keys: each next() leaves the current key in the handle's key buffer
   * (and its value in the value buffer when `values`), or returns undefined at the end.
   * The walk keeps its position itself, so other operations may run between steps.
   */
  #walk(values: boolean): { next(): true | undefined } {
    const ks = this.keySize;
    const at = new Uint8Array(ks);
    let started = false;
    let done = false;
    return {
      next: (): true | undefined => {
        if (done) return undefined;
        this.#live();
        if (this.#traits & TSBPF_MAP_KEYLESS) throw this.#keyless(NEXT_KEY, 'pop()');
        const u8 = this.#core.mem.u8;
        // Keys deleted between next-key and lookup are skipped; a map that keeps changing
        // under the walk ends it with an error instead of looping.
        for (let skips = 0; skips < 1_000_000; skips++) {
          let r: number;
          if (started) {
            copyBytes(u8, this.#keyPtr, at, 0, ks);
            r = this.#op(TSBPF_MAP_OP_NEXT_KEY, 0);
          } else {
            r = this.#op(TSBPF_MAP_OP_FIRST_KEY, 0);
          }
          if (r === -ENOENT) {
            done = true;
            return undefined;
          }
          if (r !== 0) throw this.#lastError;
          started = true;
          copyBytes(at, 0, u8, this.#nextKeyPtr, ks);
          copyBytes(u8, this.#keyPtr, u8, this.#nextKeyPtr, ks);
          if (!values) return true;
          r = this.#op(TSBPF_MAP_OP_LOOKUP, 0);
          if (r === 0) return true;
          if (r !== -ENOENT) throw this.#lastError;
        }
        throw new BpfError({ command: NEXT_KEY, errno: 11 /* EAGAIN */, reason: 'the map changed under the walk: a million keys in a row vanished' });
      },
    };
  }

  [Symbol.iterator](): Generator<[K, V], void, undefined> {
    return this.entries();
  }

  // ---- batches ------------------------------------------------------------------------------

  /**
   * Up to `count` entries after `cursor`, decoded. Call again with the same cursor until it
   * is done. Hash maps hand out whole buckets: a `count` below a bucket's size is ENOSPC.
   * flags: UpdateFlags.Lock. Requires Linux 5.6.
   */
  lookupBatch(cursor: BatchCursor, count: number, flags = 0): BatchEntries<K, V> {
    return this.#decodedBatch(cursor, count, false, flags, LOOKUP_BATCH);
  }

  /** Like {@link lookupBatch}, deleting what it returns. Requires Linux 5.6. */
  lookupAndDeleteBatch(cursor: BatchCursor, count: number, flags = 0): BatchEntries<K, V> {
    return this.#decodedBatch(cursor, count, true, flags, LOOKUP_AND_DELETE_BATCH);
  }

  /**
   * Batch lookup into caller-owned buffers, without allocating: `keys` holds n keys,
   * `values` n values (valueSize x valuesPerElement bytes each), for the same n. Returns how
   * many entries were written. Requires Linux 5.6.
   */
  lookupBatchRaw(cursor: BatchCursor, keys: Uint8Array, values: Uint8Array, flags = 0): number {
    return this.#rawBatch(cursor, keys, values, false, flags, LOOKUP_BATCH);
  }

  /** {@link lookupBatchRaw}, deleting what it returns. */
  lookupAndDeleteBatchRaw(cursor: BatchCursor, keys: Uint8Array, values: Uint8Array, flags = 0): number {
    return this.#rawBatch(cursor, keys, values, true, flags, LOOKUP_AND_DELETE_BATCH);
  }

  /**
   * Sets many entries in one request. `keys` and `values` are arrays of the same length, or
   * packed raw bytes. Returns the count; a failure part-way throws, saying how many were
   * done. flags: {@link UpdateFlags}. Requires Linux 5.6.
   */
  updateBatch(keys: readonly (K | Uint8Array)[] | Uint8Array, values: readonly (V | Uint8Array)[] | Uint8Array, flags = 0): number {
    const h = this.#live();
    const n = this.#batchCount(keys, this.keySize, 'keys', UPDATE_BATCH);
    const nv = this.#batchCount(values, this.#valueLen, 'values', UPDATE_BATCH);
    if (n !== nv) throw invalid(UPDATE_BATCH, `${n} keys but ${nv} values`);
    if (n === 0) return 0;
    this.#reserve(h, n);
    this.#putBatchKeys(h, keys, n, UPDATE_BATCH);
    const vp = this.#core.u32(h, H.batch_values);
    if (values instanceof Uint8Array) this.#core.mem.u8.set(values, vp);
    else for (let i = 0; i < n; i++) this.#putValue(values[i]!, vp + i * this.#valueLen, UPDATE_BATCH);
    const r = this.#fn.tsbpf_map__update_batch(h as Ptr<'tsbpf_map'>, n, flagsArg(UPDATE_BATCH, flags));
    if (r < 0) throw this.#error(r);
    return r;
  }

  /** Deletes many keys in one request; a missing key stops it with ENOENT. Requires Linux 5.6. */
  deleteBatch(keys: readonly (K | Uint8Array)[] | Uint8Array, flags = 0): number {
    const h = this.#live();
    const n = this.#batchCount(keys, this.keySize, 'keys', DELETE_BATCH);
    if (n === 0) return 0;
    this.#reserve(h, n);
    this.#putBatchKeys(h, keys, n, DELETE_BATCH);
    const r = this.#fn.tsbpf_map__delete_batch(h as Ptr<'tsbpf_map'>, n, flagsArg(DELETE_BATCH, flags));
    if (r < 0) throw this.#error(r);
    return r;
  }

  // ---- memory-mapped arrays -------------------------------------------------------------------

  /**
   * The memory of a BPF_F_MMAPABLE array, mapped into this process: reads and writes go
   * straight to the map, with no syscall. Element i sits at i x round_up(valueSize, 8).
   * The same Buffer is returned until close(); afterwards the map memory is unmapped and
   * Buffers obtained earlier read zeros instead of crashing the process.
   * Requires Linux 5.5.
   */
  memory(): Buffer {
    const fd = this.fd;
    if (this.#mapping) return this.#mapping.buffer;
    const cmd = 'mmap';
    if (this.type !== MapType.Array || !(this.flags & MapFlags.Mmapable))
      throw invalid(cmd, 'only array maps created with MapFlags.Mmapable can be mapped into memory');
    const nat = native();
    if (!nat.mmap || !nat.munmap || !nat.view)
      throw new BpfError({ command: cmd, errno: 95 /* EOPNOTSUPP */, reason: 'this runtime cannot map memory', advice: 'use lookup() and update()' });
    const length = ((this.valueSize + 7) & ~7) * this.maxEntries;
    if (length === 0) throw invalid(cmd, 'the map has no memory to map');
    const addr = nat.mmap(0, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (addr < 0)
      throw new BpfError({
        command: cmd,
        errno: -addr,
        reason: `cannot map ${length} bytes of the map`,
        ...(addr === -1 ? { advice: 'a frozen map cannot be mapped writable' } : {}),
      });
    const ab = nat.view(addr, length);
    const buffer = Buffer.from(ab);
    mappings.register(ab, { addr, length });
    this.#mapping = { addr, length, buffer, ab };
    return buffer;
  }

  /**
   * Drops the map memory. The address range stays reserved (as zeroed private memory) until
   * the ArrayBuffer is collected, so a stale Buffer never touches someone else's memory.
   */
  #retireMapping(): void {
    const m = this.#mapping;
    if (!m) return;
    this.#mapping = undefined;
    native().mmap?.(m.addr, m.length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  }

  // ---- internals ------------------------------------------------------------------------------

  /** The error of the last failed #op, built only when it failed for a reason other than ENOENT. */
  #lastError: BpfError | undefined;

  /**
   * Runs element operation `op` on the staged key and value: a prepared request when the
   * host offers them, else through the core. Returns 0 or -errno; for errors other than
   * ENOENT, #lastError holds the BpfError to throw.
   */
  #op(op: number, flags: number): number {
    const slot = op * 8 + flags;
    const p = flags < 8 ? this.#prepared[slot] : null;
    const r = p ? p.run() : p === null ? this.#viaCore(op, flags) : this.#first(op, flags);
    if (r < 0 && (r !== -ENOENT || op === TSBPF_MAP_OP_UPDATE)) this.#lastError = this.#failed(op, r, flags < 8 ? slot : -1);
    return r;
  }

  #viaCore(op: number, flags: number): number {
    const h = this.#h as Ptr<'tsbpf_map'>;
    const fn = this.#fn;
    switch (op) {
      case TSBPF_MAP_OP_LOOKUP:
        return fn.tsbpf_map__lookup(h, flags);
      case TSBPF_MAP_OP_UPDATE:
        return fn.tsbpf_map__update(h, flags);
      case TSBPF_MAP_OP_DELETE:
        return fn.tsbpf_map__delete(h);
      case TSBPF_MAP_OP_NEXT_KEY:
        return fn.tsbpf_map__next_key(h, 0);
      case TSBPF_MAP_OP_FIRST_KEY:
        return fn.tsbpf_map__next_key(h, 1);
      default:
        return fn.tsbpf_map__lookup_and_delete(h, flags);
    }
  }

  /** The first call of an op and flags: prepares the request when the host can replay it. */
  #first(op: number, flags: number): number {
    const c = this.#core;
    let p: PreparedRequest | null = null;
    const prepare = c.host.prepare;
    if (prepare) {
      const d = this.#fn.tsbpf_map__prepare(this.#h as Ptr<'tsbpf_map'>, op, flags) >>> 0;
      if (d !== 0)
        p = prepare.call(c.host, c.mem, c.u32(d, Req.cmd), c.u32(d, Req.attr), c.u32(d, Req.attr_size), c.u32(d, Req.fixups), c.u32(d, Req.n_fixups)) ?? null;
    }
    this.#prepared[op * 8 + flags] = p;
    return p ? p.run() : this.#viaCore(op, flags);
  }

  /** The BpfError of a failed op; a replayed request asks the core for the reason it would have given. */
  #failed(op: number, r: number, slot: number): BpfError {
    if (!this.#prepared[slot]) return this.#error(r); // the core sent it and recorded why
    const c = this.#core;
    c.fn.tsbpf_map__explain(this.#h as Ptr<'tsbpf_map'>, op, r);
    const reason = c.cstring(c.fn.tsbpf_last_error_reason());
    const ctx = this.#context();
    return new BpfError({ command: commandName(c.fn.tsbpf_last_error_command()), errno: -r, reason: ctx ? `${ctx}: ${reason}` : reason });
  }

  /** The core handle; throws the FdHandle error once closed. */
  #live(): number {
    const h = this.#h;
    if (h === 0) return this.fd; // throws: closed
    return h;
  }

  #context(): string | undefined {
    return this.name ? `map "${this.name}"` : undefined;
  }

  #error(r: number): BpfError {
    return this.#core.error(r, this.#context());
  }

  #keyless(cmd: string, instead: string): BpfError {
    return invalid(cmd, `${typeName(this.type)} maps have no keys: use ${instead}`);
  }

  #keyed(cmd: string, op: string): BpfError {
    return invalid(cmd, `${op}() is for ${op === 'contains' ? 'bloom filters' : op === 'push' ? 'queues, stacks and bloom filters' : 'queues and stacks'}, not ${typeName(this.type)} maps`);
  }

  #putKey(key: K | Uint8Array, cmd: string): void {
    const mem = this.#mem;
    if (key instanceof Uint8Array) {
      if (key.length !== this.keySize) throw sizeError(cmd, 'key', key.length, this.keySize, 'keySize');
      copyBytes(mem.u8, this.#keyPtr, key, 0, key.length);
      return;
    }
    try {
      this.#kc.encode(key, mem.dv, mem.u8, this.#keyPtr);
    } catch (e) {
      throw codecError(cmd, 'key', e);
    }
  }

  #putValue(value: V | Uint8Array | FdHandle, at: number, cmd: string): void {
    const mem = this.#mem;
    if (value instanceof Uint8Array) {
      if (value.length !== this.#valueLen)
        throw sizeError(cmd, 'value', value.length, this.#valueLen, this.valuesPerElement > 1 ? `valueSize x ${this.valuesPerElement} CPUs` : 'valueSize');
      copyBytes(mem.u8, at, value, 0, value.length);
      return;
    }
    if (value instanceof FdHandle) {
      if (!(this.#traits & TSBPF_MAP_FD_VALUES) || this.valueSize !== 4)
        throw invalid(cmd, `a ${value.constructor.name} is a value only in prog arrays and maps of maps`);
      mem.dv.setUint32(at, value.fd, true);
      return;
    }
    try {
      this.#vc.encode(value, mem.dv, mem.u8, at);
    } catch (e) {
      throw codecError(cmd, 'value', e);
    }
  }

  #getKey(at: number, cmd: string): K {
    const mem = this.#mem;
    try {
      return this.#kc.decode(mem.dv, mem.u8, at);
    } catch (e) {
      throw codecError(cmd, 'key', e);
    }
  }

  #getValue(cmd: string, at = this.#valuePtr): V {
    const mem = this.#mem;
    try {
      return this.#vc.decode(mem.dv, mem.u8, at);
    } catch (e) {
      throw codecError(cmd, 'value', e);
    }
  }

  #checkOut(out: unknown, cmd: string): void {
    if (!(out instanceof Uint8Array) || out.length !== this.#valueLen)
      throw invalid(cmd, `"out" must be a Uint8Array of ${this.#valueLen} bytes, got ${describe(out)}`);
  }

  /** Copies the value into `out`, which lookup() has checked before asking the kernel. */
  #copyValue<O extends Uint8Array>(out: O): O {
    copyBytes(out, 0, this.#core.mem.u8, this.#valuePtr, this.#valueLen);
    return out;
  }

  #reserve(h: number, n: number): void {
    const r = this.#fn.tsbpf_map__batch_reserve(h as Ptr<'tsbpf_map'>, n);
    if (r < 0) throw this.#error(r);
  }

  /** Entries in a batch argument: an array's length, or packed bytes / per-entry size. */
  #batchCount(items: readonly unknown[] | Uint8Array, size: number, what: string, cmd: string): number {
    if (items instanceof Uint8Array) {
      if (size === 0 || items.length % size !== 0)
        throw invalid(cmd, `"${what}" holds ${items.length} bytes, not a multiple of ${size} (one entry)`);
      return items.length / size;
    }
    if (!Array.isArray(items)) throw invalid(cmd, `"${what}" must be an array or a Uint8Array, got ${describe(items)}`);
    return items.length;
  }

  #putBatchKeys(h: number, keys: readonly (K | Uint8Array)[] | Uint8Array, n: number, cmd: string): void {
    const kp = this.#core.u32(h, H.batch_keys);
    if (keys instanceof Uint8Array) {
      this.#core.mem.u8.set(keys, kp);
      return;
    }
    const ks = this.keySize;
    const mem = this.#core.mem;
    for (let i = 0; i < n; i++) {
      const key = keys[i]!;
      if (key instanceof Uint8Array) {
        if (key.length !== ks) throw sizeError(cmd, `keys[${i}]`, key.length, ks, 'keySize');
        copyBytes(mem.u8, kp + i * ks, key, 0, ks);
      } else {
        try {
          this.#kc.encode(key, mem.dv, mem.u8, kp + i * ks);
        } catch (e) {
          throw codecError(cmd, `keys[${i}]`, e);
        }
      }
    }
  }

  /** Runs a batch lookup; the entries are left in the handle's batch buffers. */
  #batchLookup(cursor: BatchCursor, count: number, del: boolean, flags: number, cmd: string): number {
    const h = this.#live();
    if (!(cursor instanceof BatchCursor)) throw invalid(cmd, `"cursor" must be a BatchCursor, got ${describe(cursor)}`);
    if (!(Number.isInteger(count) && count >= 1 && count <= 1 << 24))
      throw invalid(cmd, `"count" must be an integer from 1 to ${1 << 24}, got ${describe(count)}`);
    if (cursor._owner !== undefined && cursor._owner !== this)
      throw invalid(cmd, 'this cursor belongs to another map: use a new BatchCursor per map');
    if (cursor.done) return 0;
    const c = this.#core;
    const token = cursor._token;
    if (token) c.mem.u8.set(token, c.u32(h, H.batch_token));
    const r = this.#fn.tsbpf_map__lookup_batch(h as Ptr<'tsbpf_map'>, count, token ? 1 : 0, del ? 1 : 0, flagsArg(cmd, flags));
    if (r < 0) throw this.#error(r);
    cursor._owner = this;
    const tp = c.u32(h, H.batch_token);
    const size = c.u32(h, H.batch_token_size);
    const saved = token ?? new Uint8Array(size);
    copyBytes(saved, 0, c.mem.u8, tp, size);
    cursor._token = saved;
    if (c.u32(h, H.batch_done)) cursor._finish();
    return r;
  }

  #decodedBatch(cursor: BatchCursor, count: number, del: boolean, flags: number, cmd: string): BatchEntries<K, V> {
    const n = this.#batchLookup(cursor, count, del, flags, cmd);
    const keys = new Array<K>(n);
    const values = new Array<V>(n);
    if (n === 0) return { keys, values };
    const h = this.#h;
    const kp = this.#core.u32(h, H.batch_keys);
    const vp = this.#core.u32(h, H.batch_values);
    for (let i = 0; i < n; i++) {
      keys[i] = this.#getKey(kp + i * this.keySize, cmd);
      values[i] = this.#getValue(cmd, vp + i * this.#valueLen);
    }
    return { keys, values };
  }

  #rawBatch(cursor: BatchCursor, keys: Uint8Array, values: Uint8Array, del: boolean, flags: number, cmd: string): number {
    if (!(keys instanceof Uint8Array) || !(values instanceof Uint8Array))
      throw invalid(cmd, '"keys" and "values" must be Uint8Arrays');
    const ks = this.keySize;
    const vl = this.#valueLen;
    if (keys.length % ks !== 0 || values.length % vl !== 0 || keys.length / ks !== values.length / vl || keys.length === 0)
      throw invalid(
        cmd,
        `"keys" (${keys.length} bytes) and "values" (${values.length} bytes) must hold the same number of entries of ${ks} and ${vl} bytes`,
      );
    const n = this.#batchLookup(cursor, keys.length / ks, del, flags, cmd);
    if (n === 0) return 0;
    const c = this.#core;
    const u8 = c.mem.u8;
    const kp = c.u32(this.#h, H.batch_keys);
    const vp = c.u32(this.#h, H.batch_values);
    keys.set(u8.subarray(kp, kp + n * ks));
    values.set(u8.subarray(vp, vp + n * vl));
    return n;
  }
}

/** @internal The BTF a map is created with: a loaded BTF object and type ids in it. */
export interface MapBtf {
  fd: number;
  keyTypeId: number;
  valueTypeId: number;
}

/** @internal BpfMap.create with BTF key and value types (a collection's maps). */
export function createMap<K, V>(spec: MapSpec<K, V>, btf: MapBtf | undefined): BpfMap<K, V> {
  // The implementation's signature: the public overloads leave the internal parameter out.
  const create = BpfMap.create as (spec: MapSpec<K, V>, btf?: MapBtf) => BpfMap<K, V>;
  return create.call(BpfMap, spec, btf);
}

/** The kernel's short name of a map type, as messages use it: 'percpu_hash'. */
function typeName(type: number): string {
  const name = MapTypeNames[type];
  return name ? name.replace(/^BPF_MAP_TYPE_/, '').toLowerCase() : `type ${type}`;
}

function flagsArg(cmd: string, flags: number): number {
  if ((flags >>> 0) !== flags) throw invalid(cmd, `"flags" must be an integer from 0 to ${U32_MAX}, got ${describe(flags)}`);
  return flags;
}

function sizeError(cmd: string, what: string, got: number, want: number, field: string): BpfError {
  return new BpfError({
    command: cmd,
    errno: EINVAL,
    reason: `${what} is ${got} bytes, but this map's ${what.startsWith('key') ? 'keys' : 'values'} are ${want} bytes (${field})`,
    advice: '',
  });
}

function codecError(cmd: string, what: string, e: unknown): unknown {
  if (e instanceof CodecError) return new BpfError({ command: cmd, errno: EINVAL, reason: `${what} ${e.message}`, advice: '', cause: e });
  return e;
}

function checkCodec<T>(cmd: string, what: string, c: Codec<T>): Codec<T> {
  if (typeof c !== 'object' || c === null || typeof c.encode !== 'function' || typeof c.decode !== 'function' || !Number.isInteger(c.size))
    throw invalid(cmd, `"${what}" must be a codec (codec.u32, codec.struct({...}), ...), got ${describe(c)}`);
  return c;
}

function sizeFor(cmd: string, name: string, given: unknown, c: Codec<unknown> | undefined, what: string): number {
  if (given === undefined) return c ? c.size : 0;
  const n = integer(cmd, name, given, 0, U32_MAX);
  if (c && c.size !== n) throw invalid(cmd, `the ${what} codec ${c.name} is ${c.size} bytes, but "${name}" is ${n}`);
  return n;
}

function u64Option(cmd: string, name: string, v: unknown): bigint {
  if (v === undefined) return 0n;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'bigint' && v >= 0n && v <= 0xffffffffffffffffn) return v;
  throw invalid(cmd, `"${name}" must be an integer from 0 to 2^64-1, got ${describe(v)}`);
}

/** The map's info from the core, plus the frozen flag the kernel only shows in fdinfo. */
function readInfo(c: Core, fd: number): MapInfo {
  c.resetArena();
  const p = c.stageAlloc(InfoLayout.$size);
  c.check(c.fn.tsbpf_map_get_info(fd, p as Ptr<'tsbpf_map_info'>));
  const u8 = c.mem.u8;
  let end = p + InfoLayout.name.off;
  while (end < p + InfoLayout.name.off + InfoLayout.name.count && u8[end] !== 0) end++;
  const type = c.u32(p, InfoLayout.map_type) as MapType;
  return {
    type,
    typeName: MapTypeNames[type] ?? `BPF_MAP_TYPE_${type}`,
    id: c.u32(p, InfoLayout.id),
    keySize: c.u32(p, InfoLayout.key_size),
    valueSize: c.u32(p, InfoLayout.value_size),
    maxEntries: c.u32(p, InfoLayout.max_entries),
    flags: c.u32(p, InfoLayout.map_flags),
    name: Buffer.from(u8.subarray(p + InfoLayout.name.off, end)).toString('latin1'),
    frozen: fdinfoFrozen(fd),
    ifindex: c.u32(p, InfoLayout.ifindex),
    btfId: c.u32(p, InfoLayout.btf_id),
    btfKeyTypeId: c.u32(p, InfoLayout.btf_key_type_id),
    btfValueTypeId: c.u32(p, InfoLayout.btf_value_type_id),
    mapExtra: c.u64(p, InfoLayout.map_extra),
  };
}

function fdinfoFrozen(fd: number): boolean {
  try {
    const fdinfo = native().readSysFile(`/proc/self/fdinfo/${fd}`);
    return typeof fdinfo === 'string' && /^frozen:\s*1$/m.test(fdinfo);
  } catch {
    return false;
  }
}
