/**
 * Formatting shared by the tsbpf commands: kernel enum names as bpftool prints them
 * ('socket_filter', 'percpu_array'), flags, byte sizes, hex bytes, wall-clock times of
 * boot-relative timestamps, and JSON that keeps 64-bit integers exact.
 */
import { readFileSync } from 'node:fs';
import { BpfError } from '../errors.js';
import { UsageError } from './args.js';
import { AttachTypeNames, MapTypeNames, ProgramTypeNames } from '../generated/uapi.js';

/** 'socket_filter' for BPF_PROG_TYPE_SOCKET_FILTER; 'type 99' for one this build does not know. */
export function programTypeName(type: number): string {
  const n = ProgramTypeNames[type];
  return n ? n.slice('BPF_PROG_TYPE_'.length).toLowerCase() : `type ${type}`;
}

/** 'percpu_array' for BPF_MAP_TYPE_PERCPU_ARRAY. */
export function mapTypeName(type: number): string {
  const n = MapTypeNames[type];
  return n ? n.slice('BPF_MAP_TYPE_'.length).toLowerCase() : `type ${type}`;
}

/**
 * 'cgroup_inet_egress' for BPF_CGROUP_INET_EGRESS. 0 is both "none" and
 * BPF_CGROUP_INET_INGRESS: it is named only for cgroup_skb programs, where it means ingress.
 */
export function attachTypeName(type: number, programType: number): string {
  if (type === 0 && ProgramTypeNames[programType] !== 'BPF_PROG_TYPE_CGROUP_SKB') return '';
  const n = AttachTypeNames[type];
  return n ? n.replace(/^BPF_/, '').toLowerCase() : `type ${type}`;
}

/** Map flags by name (BPF_F_*), as the kernel's uapi defines them. */
const MAP_FLAGS: [number, string][] = [
  [1 << 0, 'no_prealloc'],
  [1 << 1, 'no_common_lru'],
  [1 << 2, 'numa_node'],
  [1 << 3, 'rdonly'],
  [1 << 4, 'wronly'],
  [1 << 5, 'stack_build_id'],
  [1 << 6, 'zero_seed'],
  [1 << 7, 'rdonly_prog'],
  [1 << 8, 'wronly_prog'],
  [1 << 9, 'clone'],
  [1 << 10, 'mmapable'],
  [1 << 11, 'preserve_elems'],
  [1 << 12, 'inner_map'],
  [1 << 13, 'link'],
  [1 << 14, 'path_fd'],
  [1 << 15, 'vtype_btf_obj_fd'],
  [1 << 16, 'token_fd'],
  [1 << 17, 'segv_on_fault'],
  [1 << 18, 'no_user_conv'],
];

/** '0x480 (rdonly_prog,mmapable)', or '0' without flags. */
export function mapFlagsText(flags: number): string {
  if (!flags) return '0';
  const names: string[] = [];
  let rest = flags >>> 0;
  for (const [bit, name] of MAP_FLAGS) {
    if (rest & bit) {
      names.push(name);
      rest = (rest & ~bit) >>> 0;
    }
  }
  if (rest) names.push(`0x${rest.toString(16)}`);
  return `0x${(flags >>> 0).toString(16)} (${names.join(',')})`;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const HEX_0X = HEX.map((h) => `0x${h}`);

/** Bytes as two-digit hex separated by spaces: '01 00 00 00'. */
export function hexBytes(b: Uint8Array): string {
  let s = b.length ? HEX[b[0]!]! : '';
  for (let i = 1; i < b.length; i++) s += ` ${HEX[b[i]!]!}`;
  return s;
}

/** Bytes as bpftool's JSON shows them: ['0x01', '0x00', ...]. */
export function hexByteArray(b: Uint8Array): string[] {
  const out = new Array<string>(b.length);
  for (let i = 0; i < b.length; i++) out[i] = HEX_0X[b[i]!]!;
  return out;
}

let bootTimeMs: number | undefined;

/**
 * The wall-clock time at boot, in milliseconds since the epoch: now minus the time since
 * boot (CLOCK_BOOTTIME, which /proc/uptime reports), as bpftool computes "loaded_at".
 */
function bootTime(): number {
  if (bootTimeMs === undefined) {
    const uptime = Number(readFileSync('/proc/uptime', 'latin1').split(' ')[0]);
    bootTimeMs = Date.now() - uptime * 1000;
  }
  return bootTimeMs;
}

/** A boot-relative timestamp in nanoseconds as a Date. */
export function sinceBoot(ns: bigint): Date {
  return new Date(bootTime() + Number(ns / 1_000_000n));
}

/** '2025-11-25 23:14:57' in local time, as bpftool prints loaded_at. */
export function localTime(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A bigint as a number when it is exactly representable, else kept as a bigint. */
export function exact(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/**
 * JSON text of a value, indented by two spaces. Unlike JSON.stringify, a bigint is
 * written as its exact digits (as bpftool writes 64-bit values); undefined properties
 * are left out, and arrays of scalars (bytes, ids) stay on one line.
 */
export function toJson(value: unknown): string {
  const parts: string[] = [];
  writeJson(value, '', parts);
  return parts.join('');
}

function writeJson(value: unknown, indent: string, out: string[]): void {
  switch (typeof value) {
    case 'bigint':
      out.push(value.toString());
      return;
    case 'number':
      out.push(Number.isFinite(value) ? String(value) : 'null');
      return;
    case 'boolean':
      out.push(String(value));
      return;
    case 'string':
      out.push(JSON.stringify(value));
      return;
    default:
      if (typeof value !== 'object' || value === null) {
        out.push('null');
        return;
      }
  }
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) {
      out.push('[]');
    } else if (value.every((v) => v === null || (typeof v !== 'object' && typeof v !== 'bigint'))) {
      out.push(JSON.stringify(value));
    } else if (value.every((v) => v === null || typeof v !== 'object')) {
      out.push('[');
      value.forEach((v, i) => {
        if (i) out.push(',');
        writeJson(v, inner, out);
      });
      out.push(']');
    } else {
      out.push('[\n');
      value.forEach((v, i) => {
        out.push(i ? `,\n${inner}` : inner);
        writeJson(v, inner, out);
      });
      out.push(`\n${indent}]`);
    }
    return;
  }
  let first = true;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === undefined) continue;
    out.push(first ? `{\n${inner}` : `,\n${inner}`, JSON.stringify(k), ': ');
    first = false;
    writeJson(v, inner, out);
  }
  out.push(first ? '{}' : `\n${indent}}`);
}

/** A failure of a command that is not the kernel's (an unknown program name, say). */
export function failure(command: string, reason: string, errno = 22, advice = ''): BpfError {
  return new BpfError({ command, errno, reason, advice });
}

/** Reads `<id|pinned-path>` arguments: a decimal id, or a path. */
export function parseTarget(text: string): { id: number } | { path: string } {
  if (/^\d+$/.test(text)) {
    const id = Number(text);
    if (id < 1 || id > 0xffffffff) throw new UsageError(`${text} is not an object id (1 to 4294967295)`);
    return { id };
  }
  return { path: text };
}
