/**
 * Codecs: how JavaScript values become the bytes of map keys and values, and back. A map
 * created with `key: codec.u32, value: codec.u64` takes and returns numbers, so nobody
 * hand-packs bytes for a counter; a map without codecs takes and returns raw bytes.
 *
 * Integers are little-endian, as the kernel stores them on every architecture tsbpf runs on
 * (x86-64, arm64, riscv64). Structs follow the C layout rules clang uses for BPF: each field
 * at a multiple of its alignment, the whole padded to the largest alignment.
 */

/** Thrown by a codec for a value it cannot encode or decode; maps turn it into a BpfError. */
export class CodecError extends Error {
  override readonly name = 'CodecError';
}

/** A fixed-size binary layout of values of type T. */
export interface Codec<T> {
  /** Bytes one encoded value takes. */
  readonly size: number;
  /** Alignment in bytes, for placing the codec inside a struct. */
  readonly align: number;
  /** The layout in words, for messages: 'u32', 'struct { a: u32; b: u64 }'. */
  readonly name: string;
  /** Writes `value` at `off` (both views cover the same memory). Throws CodecError. */
  encode(value: T, dv: DataView, u8: Uint8Array, off: number): void;
  /** Reads the value at `off`. Throws CodecError when it has no JavaScript form (a u64 above 2^53 as a number). */
  decode(dv: DataView, u8: Uint8Array, off: number): T;
}

/** The JavaScript type a codec stands for. */
export type Decoded<C> = C extends Codec<infer T> ? T : never;

function describe(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof Uint8Array) return `${v.constructor.name}(${v.length})`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v === null) return 'null';
  return typeof v === 'object' ? 'an object' : String(v);
}

function integerCodec(
  name: string,
  size: 1 | 2 | 4,
  min: number,
  max: number,
  set: (dv: DataView, off: number, v: number) => void,
  get: (dv: DataView, off: number) => number,
): Codec<number> {
  return {
    size,
    align: size,
    name,
    encode(v, dv, _u8, off) {
      // One comparison chain rejects NaN, fractions, out-of-range and non-numbers alike.
      if (!(typeof v === 'number' && v >= min && v <= max && Math.floor(v) === v))
        throw new CodecError(`must be an integer from ${min} to ${max} (${name}), got ${describe(v)}`);
      set(dv, off, v);
    },
    decode: (dv, _u8, off) => get(dv, off),
  };
}

const TWO32 = 0x100000000;
const MAX_HI = 0x1fffff; // the high word of Number.MAX_SAFE_INTEGER

/** Unsigned 8-bit integer. */
export const u8 = integerCodec('u8', 1, 0, 0xff, (dv, o, v) => dv.setUint8(o, v), (dv, o) => dv.getUint8(o));
/** Signed 8-bit integer. */
export const i8 = integerCodec('i8', 1, -0x80, 0x7f, (dv, o, v) => dv.setInt8(o, v), (dv, o) => dv.getInt8(o));
/** Unsigned 16-bit integer. */
export const u16 = integerCodec('u16', 2, 0, 0xffff, (dv, o, v) => dv.setUint16(o, v, true), (dv, o) => dv.getUint16(o, true));
/** Signed 16-bit integer. */
export const i16 = integerCodec('i16', 2, -0x8000, 0x7fff, (dv, o, v) => dv.setInt16(o, v, true), (dv, o) => dv.getInt16(o, true));
/** Unsigned 32-bit integer. */
export const u32 = integerCodec('u32', 4, 0, 0xffffffff, (dv, o, v) => dv.setUint32(o, v, true), (dv, o) => dv.getUint32(o, true));
/** Signed 32-bit integer. */
export const i32 = integerCodec('i32', 4, -0x80000000, 0x7fffffff, (dv, o, v) => dv.setInt32(o, v, true), (dv, o) => dv.getInt32(o, true));

/**
 * Unsigned 64-bit integer as a number: counters and sizes, without BigInt. Encodes any safe
 * integer from 0 (or a bigint up to 2^64-1); decoding a value above 2^53-1 throws, since a
 * number would round it: use {@link u64big} for such maps.
 */
export const u64: Codec<number> = {
  size: 8,
  align: 8,
  name: 'u64',
  encode(v, dv, _u8, off) {
    if (typeof v === 'number' && v >= 0 && v <= Number.MAX_SAFE_INTEGER && Math.floor(v) === v) {
      dv.setUint32(off, v >>> 0, true);
      dv.setUint32(off + 4, (v / TWO32) >>> 0, true);
    } else if (typeof v === 'bigint' && v >= 0n && v <= 0xffffffffffffffffn) {
      dv.setBigUint64(off, v, true);
    } else {
      throw new CodecError(`must be an integer from 0 to 2^53-1 (u64 as a number; use codec.u64big beyond), got ${describe(v)}`);
    }
  },
  decode(dv, _u8, off) {
    const hi = dv.getUint32(off + 4, true);
    if (hi > MAX_HI)
      throw new CodecError(`holds ${dv.getBigUint64(off, true)}, above 2^53-1: read this map with codec.u64big to get it exactly`);
    return hi * TWO32 + dv.getUint32(off, true);
  },
};

/** Signed 64-bit integer as a number, within ±(2^53-1); see {@link u64}. */
export const i64: Codec<number> = {
  size: 8,
  align: 8,
  name: 'i64',
  encode(v, dv, _u8, off) {
    if (typeof v === 'number' && Number.isSafeInteger(v)) {
      dv.setUint32(off, v >>> 0, true);
      dv.setInt32(off + 4, Math.floor(v / TWO32), true);
    } else if (typeof v === 'bigint' && v >= -0x8000000000000000n && v <= 0x7fffffffffffffffn) {
      dv.setBigInt64(off, v, true);
    } else {
      throw new CodecError(`must be an integer within ±(2^53-1) (i64 as a number; use codec.i64big beyond), got ${describe(v)}`);
    }
  },
  decode(dv, _u8, off) {
    const hi = dv.getInt32(off + 4, true);
    const v = hi * TWO32 + dv.getUint32(off, true);
    if (!Number.isSafeInteger(v))
      throw new CodecError(`holds ${dv.getBigInt64(off, true)}, beyond ±(2^53-1): read this map with codec.i64big to get it exactly`);
    return v;
  },
};

/** Unsigned 64-bit integer as a bigint (exact over the whole range). */
export const u64big: Codec<bigint> = {
  size: 8,
  align: 8,
  name: 'u64',
  encode(v, dv, _u8, off) {
    if (typeof v === 'bigint' && v >= 0n && v <= 0xffffffffffffffffn) dv.setBigUint64(off, v, true);
    else if (typeof v === 'number' && v >= 0 && Number.isSafeInteger(v)) dv.setBigUint64(off, BigInt(v), true);
    else throw new CodecError(`must be an integer from 0 to 2^64-1 (u64), got ${describe(v)}`);
  },
  decode: (dv, _u8, off) => dv.getBigUint64(off, true),
};

/** Signed 64-bit integer as a bigint. */
export const i64big: Codec<bigint> = {
  size: 8,
  align: 8,
  name: 'i64',
  encode(v, dv, _u8, off) {
    if (typeof v === 'bigint' && v >= -0x8000000000000000n && v <= 0x7fffffffffffffffn) dv.setBigInt64(off, v, true);
    else if (typeof v === 'number' && Number.isSafeInteger(v)) dv.setBigInt64(off, BigInt(v), true);
    else throw new CodecError(`must be an integer from -2^63 to 2^63-1 (i64), got ${describe(v)}`);
  },
  decode: (dv, _u8, off) => dv.getBigInt64(off, true),
};

/** IEEE 754 single-precision float. */
export const f32: Codec<number> = {
  size: 4,
  align: 4,
  name: 'f32',
  encode(v, dv, _u8, off) {
    if (typeof v !== 'number') throw new CodecError(`must be a number (f32), got ${describe(v)}`);
    dv.setFloat32(off, v, true);
  },
  decode: (dv, _u8, off) => dv.getFloat32(off, true),
};

/** IEEE 754 double-precision float. */
export const f64: Codec<number> = {
  size: 8,
  align: 8,
  name: 'f64',
  encode(v, dv, _u8, off) {
    if (typeof v !== 'number') throw new CodecError(`must be a number (f64), got ${describe(v)}`);
    dv.setFloat64(off, v, true);
  },
  decode: (dv, _u8, off) => dv.getFloat64(off, true),
};

/** A boolean stored in one byte (0 or 1; any non-zero byte reads as true). */
export const bool: Codec<boolean> = {
  size: 1,
  align: 1,
  name: 'bool',
  encode(v, dv, _u8, off) {
    if (typeof v !== 'boolean') throw new CodecError(`must be a boolean, got ${describe(v)}`);
    dv.setUint8(off, v ? 1 : 0);
  },
  decode: (dv, _u8, off) => dv.getUint8(off) !== 0,
};

/** Copies `n` bytes; small copies avoid subarray(), which allocates. */
export function copyBytes(dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, n: number): void {
  if (n > 32) dst.set(src.subarray(srcOff, srcOff + n), dstOff);
  else for (let i = 0; i < n; i++) dst[dstOff + i] = src[srcOff + i]!;
}

/** `size` raw bytes, read back as a Buffer (a copy). */
export function bytes(size: number): Codec<Buffer> {
  checkSize('bytes', size);
  return {
    size,
    align: 1,
    name: `u8[${size}]`,
    encode(v, _dv, u8, off) {
      if (!(v instanceof Uint8Array) || v.length !== size)
        throw new CodecError(`must be ${size} bytes (a Uint8Array or Buffer), got ${describe(v)}`);
      copyBytes(u8, off, v, 0, size);
    },
    decode(_dv, u8, off) {
      const out = Buffer.allocUnsafe(size);
      copyBytes(out, 0, u8, off, size);
      return out;
    },
  };
}

/**
 * A NUL-padded string in `size` bytes (a C `char name[size]`). Encoding refuses strings whose
 * UTF-8 form does not fit; decoding stops at the first NUL.
 */
export function cstring(size: number): Codec<string> {
  checkSize('cstring', size);
  return {
    size,
    align: 1,
    name: `char[${size}]`,
    encode(v, _dv, u8, off) {
      if (typeof v !== 'string') throw new CodecError(`must be a string, got ${describe(v)}`);
      const b = Buffer.from(v, 'utf8');
      if (b.length > size) throw new CodecError(`must fit in ${size} bytes, got ${b.length} bytes of UTF-8`);
      u8.fill(0, off, off + size);
      u8.set(b, off);
    },
    decode(_dv, u8, off) {
      let end = off;
      while (end < off + size && u8[end] !== 0) end++;
      return Buffer.from(u8.buffer, u8.byteOffset + off, end - off).toString('utf8');
    },
  };
}

/** A fixed-length array (a C `T name[length]`). */
export function array<T>(of: Codec<T>, length: number): Codec<T[]> {
  checkSize('array length', length);
  const size = of.size * length;
  return {
    size,
    align: of.align,
    name: `${of.name}[${length}]`,
    encode(v, dv, u8, off) {
      if (!Array.isArray(v) || v.length !== length)
        throw new CodecError(`must be an array of ${length} ${of.name}, got ${describe(v)}`);
      for (let i = 0; i < length; i++) of.encode(v[i] as T, dv, u8, off + i * of.size);
    },
    decode(dv, u8, off) {
      const out = new Array<T>(length);
      for (let i = 0; i < length; i++) out[i] = of.decode(dv, u8, off + i * of.size);
      return out;
    },
  };
}

/** The object type a struct codec of `fields` stands for. */
export type StructOf<F extends Record<string, Codec<unknown>>> = { [K in keyof F]: Decoded<F[K]> };

/**
 * A C struct: fields in declaration order, each at a multiple of its alignment, the size
 * rounded up to the largest alignment; padding bytes are written as zero. `packed: true`
 * lays fields out back to back (`__attribute__((packed))`).
 *
 * ```ts
 * const flow = codec.struct({ saddr: codec.u32, daddr: codec.u32, sport: codec.u16, dport: codec.u16, proto: codec.u8 });
 * flow.size; // 16 (13 bytes of fields, padded to a multiple of 4)
 * ```
 */
export function struct<F extends Record<string, Codec<unknown>>>(fields: F, opts: { packed?: boolean } = {}): Codec<StructOf<F>> {
  const names = Object.keys(fields);
  if (names.length === 0) throw new CodecError('a struct needs at least one field');
  const offsets: number[] = [];
  let off = 0;
  let align = 1;
  for (const name of names) {
    const f = fields[name]!;
    const a = opts.packed ? 1 : f.align;
    off = Math.ceil(off / a) * a;
    offsets.push(off);
    off += f.size;
    align = Math.max(align, a);
  }
  const size = Math.ceil(off / align) * align;
  const codecs = names.map((n) => fields[n]!);
  return {
    size,
    align,
    name: `struct { ${names.map((n, i) => `${n}: ${codecs[i]!.name}`).join('; ')} }`,
    encode(v, dv, u8, base) {
      if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array)
        throw new CodecError(`must be an object with fields ${names.join(', ')}, got ${describe(v)}`);
      u8.fill(0, base, base + size);
      for (let i = 0; i < names.length; i++) {
        const name = names[i]!;
        const fv = (v as Record<string, unknown>)[name];
        if (fv === undefined) throw new CodecError(`is missing field "${name}" (${codecs[i]!.name})`);
        try {
          codecs[i]!.encode(fv, dv, u8, base + offsets[i]!);
        } catch (e) {
          if (e instanceof CodecError) throw new CodecError(`field "${name}" ${e.message}`);
          throw e;
        }
      }
      for (const key of Object.keys(v)) {
        if (!(key in fields)) throw new CodecError(`has unknown field "${key}" (known: ${names.join(', ')})`);
      }
    },
    decode(dv, u8, base) {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < names.length; i++) out[names[i]!] = codecs[i]!.decode(dv, u8, base + offsets[i]!);
      return out as StructOf<F>;
    },
  };
}

/** A key of an LPM trie: how many leading bits of `data` count, and the data (an address). */
export interface LpmKey {
  prefixLen: number;
  data: Uint8Array;
}

/**
 * Keys of an LPM trie map (struct bpf_lpm_trie_key: a u32 prefix length, then `dataSize`
 * bytes, such as 4 for IPv4 or 16 for IPv6). Shorter data is zero-padded. The map's keySize
 * is 4 + dataSize. Decoded data is a Buffer.
 */
export function lpmKey(dataSize: number): Codec<LpmKey> {
  checkSize('lpmKey data size', dataSize);
  const maxBits = dataSize * 8;
  return {
    size: 4 + dataSize,
    align: 4,
    name: `lpm_key { prefixlen: u32; data: u8[${dataSize}] }`,
    encode(v, dv, u8, off) {
      if (typeof v !== 'object' || v === null || !(v.data instanceof Uint8Array))
        throw new CodecError(`must be { prefixLen, data } with data a Uint8Array, got ${describe(v)}`);
      const { prefixLen, data } = v;
      if (!(typeof prefixLen === 'number' && Number.isInteger(prefixLen) && prefixLen >= 0 && prefixLen <= maxBits))
        throw new CodecError(`prefixLen must be an integer from 0 to ${maxBits}, got ${describe(prefixLen)}`);
      if (data.length > dataSize) throw new CodecError(`data must be at most ${dataSize} bytes, got ${data.length}`);
      dv.setUint32(off, prefixLen, true);
      u8.fill(0, off + 4, off + 4 + dataSize);
      copyBytes(u8, off + 4, data, 0, data.length);
    },
    decode(dv, u8, off) {
      const data = Buffer.allocUnsafe(dataSize);
      copyBytes(data, 0, u8, off + 4, dataSize);
      return { prefixLen: dv.getUint32(off, true), data };
    },
  };
}

function checkSize(what: string, n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 1 << 24) throw new CodecError(`${what} must be an integer from 1 to ${1 << 24}, got ${describe(n)}`);
}
