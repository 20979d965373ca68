/**
 * Values decoded through BTF, as `tsbpf map dump` prints them: integers (exact: a 64-bit
 * value beyond 2^53 stays a bigint), bool, enums by name, char arrays as strings, structs
 * and unions as objects, arrays as arrays, pointers in hex. The rules for strings and enums
 * are bpftool's (a char array is a string when it holds printable characters up to a NUL;
 * an enum value prints as its name when one matches), so its formatted dump can serve as
 * the oracle; unlike bpftool, bitfields are numbers and pointers are hex strings.
 */
import type { Btf, BtfType } from '../btf.js';
import { exact } from './format.js';

/** Printed as is by people, as a string in JSON: enum names, pointers, 128-bit integers. */
export class Symbolic {
  constructor(readonly text: string) {}
}

export type Value = number | bigint | string | boolean | null | Symbolic | Value[] | { [name: string]: Value };

class OutOfRange extends Error {}

function bitsAt(data: Uint8Array, bitOffset: number, bits: number): bigint {
  const first = bitOffset >> 3;
  const last = (bitOffset + bits + 7) >> 3;
  if (last > data.length) throw new OutOfRange();
  let v = 0n;
  for (let i = last - 1; i >= first; i--) v = (v << 8n) | BigInt(data[i]!);
  return (v >> BigInt(bitOffset & 7)) & ((1n << BigInt(bits)) - 1n);
}

function skipModifiers(btf: Btf, id: number): BtfType {
  let t = btf.type(id);
  for (let depth = 0; depth < 64; depth++) {
    if (t.kind !== 'TYPEDEF' && t.kind !== 'CONST' && t.kind !== 'VOLATILE' && t.kind !== 'RESTRICT' && t.kind !== 'TYPE_TAG') return t;
    t = btf.type(t.type);
  }
  throw new OutOfRange();
}

/** bpftool's rule: a 1-byte int named char (or with the char encoding), printable up to a NUL. */
function asString(btf: Btf, elemType: number, data: Uint8Array, bitOffset: number, n: number): string | undefined {
  // Typedefs of char do not count, as in bpftool; qualifiers do.
  let e = btf.type(elemType);
  while (e.kind === 'CONST' || e.kind === 'VOLATILE' || e.kind === 'RESTRICT' || e.kind === 'TYPE_TAG') e = btf.type(e.type);
  if (e.kind !== 'INT' || e.size !== 1 || (!e.char && e.name !== 'char') || n === 0 || bitOffset & 7) return undefined;
  const start = bitOffset >> 3;
  if (start + n > data.length) throw new OutOfRange();
  for (let i = 0; i < n; i++) {
    const c = data[start + i]!;
    if (c === 0) return Buffer.from(data.subarray(start, start + i)).toString('latin1');
    if (c <= 0x1f || c >= 0x7f) return undefined;
  }
  return undefined; // no NUL
}

function decode(btf: Btf, id: number, data: Uint8Array, bitOffset: number, bitfield: number, depth: number): Value {
  if (depth > 32) throw new OutOfRange();
  const t = skipModifiers(btf, id);
  switch (t.kind) {
    case 'INT': {
      const bits = bitfield || t.bits;
      const raw = bitsAt(data, bitOffset + t.bitOffset, bits);
      if (t.bool) return raw !== 0n;
      if (bits > 64) return new Symbolic(`0x${raw.toString(16)}`);
      return exact(t.signed ? BigInt.asIntN(bits, raw) : raw);
    }
    case 'ENUM':
    case 'ENUM64': {
      const bits = bitfield || t.size * 8;
      const raw = bitsAt(data, bitOffset, bits);
      const v = t.signed || t.kind === 'ENUM' ? BigInt.asIntN(bits, raw) : raw;
      // bpftool compares enum values as signed 64-bit numbers; BTF keeps 32-bit ones either way.
      const match = t.values.find((e) => e.value === v || BigInt.asUintN(bits, e.value) === raw);
      return match ? new Symbolic(match.name) : exact(v);
    }
    case 'FLOAT': {
      if (bitOffset & 7) throw new OutOfRange();
      const at = bitOffset >> 3;
      if (at + t.size > data.length) throw new OutOfRange();
      const dv = new DataView(data.buffer, data.byteOffset + at, t.size);
      if (t.size === 4) return dv.getFloat32(0, true);
      if (t.size === 8) return dv.getFloat64(0, true);
      return new Symbolic(`0x${bitsAt(data, bitOffset, t.size * 8).toString(16)}`);
    }
    case 'PTR':
      return new Symbolic(`0x${bitsAt(data, bitOffset, 64).toString(16)}`);
    case 'ARRAY': {
      const s = asString(btf, t.type, data, bitOffset, t.nelems);
      if (s !== undefined) return s;
      const size = btf.sizeof(t.type);
      const out: Value[] = [];
      for (let i = 0; i < t.nelems; i++) out.push(decode(btf, t.type, data, bitOffset + i * size * 8, 0, depth + 1));
      return out;
    }
    case 'STRUCT':
    case 'UNION': {
      const out: { [name: string]: Value } = {};
      for (const m of t.members) {
        const v = decode(btf, m.type, data, bitOffset + m.bitOffset, m.bitfieldSize, depth + 1);
        // An anonymous struct or union's members belong to the enclosing one, as in C.
        if (m.name === '' && v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Symbolic)) Object.assign(out, v);
        else out[m.name] = v;
      }
      return out;
    }
    case 'DATASEC': {
      const out: { [name: string]: Value } = {};
      for (const s of t.vars) {
        const v = btf.type(s.type);
        if (v.kind === 'VAR') out[v.name] = decode(btf, v.type, data, bitOffset + s.offset * 8, 0, depth + 1);
      }
      return out;
    }
    case 'VAR':
      return decode(btf, t.type, data, bitOffset, 0, depth + 1);
    default:
      // void, forward declarations, functions: nothing to show but the bytes.
      throw new OutOfRange();
  }
}

/**
 * `data` decoded as BTF type `id`, or undefined when the type does not describe the bytes
 * (sizes differ, a type without a layout, a corrupt offset): the caller shows them raw.
 */
export function decodeBtf(btf: Btf, id: number, data: Uint8Array): Value | undefined {
  try {
    if (btf.sizeof(id) !== data.length) return undefined;
    return decode(btf, id, data, 0, 0, 0);
  } catch {
    return undefined;
  }
}

/** The value as plain JSON data: symbols become strings. */
export function plain(v: Value): unknown {
  if (v instanceof Symbolic) return v.text;
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = plain(x);
    return out;
  }
  return v;
}

function oneLine(v: Value): string {
  if (v instanceof Symbolic) return v.text;
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return `[${v.map(oneLine).join(', ')}]`;
  if (typeof v === 'object') {
    const e = Object.entries(v);
    return e.length ? `{ ${e.map(([k, x]) => `${k}: ${oneLine(x)}`).join(', ')} }` : '{}';
  }
  return String(v);
}

/**
 * The value for people: on one line when it fits in `width` columns, else one member or
 * element per line, indented, with nested values again on one line where they fit.
 */
export function render(v: Value, width = 100, indent = ''): string {
  const flat = oneLine(v);
  if (flat.length + indent.length <= width || v === null || typeof v !== 'object' || v instanceof Symbolic) return flat;
  const inner = `${indent}  `;
  if (Array.isArray(v)) return `[\n${v.map((x) => inner + render(x, width, inner)).join(',\n')}\n${indent}]`;
  return `{\n${Object.entries(v)
    .map(([k, x]) => `${inner}${k}: ${render(x, width, inner)}`)
    .join(',\n')}\n${indent}}`;
}
