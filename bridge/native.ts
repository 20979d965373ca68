/**
 * The few native calls tsbpf needs from its runtime, behind one small interface that each
 * runtime's FFI implements: native_koffi.ts (Node), native_bun.ts (bun:ffi), native_deno.ts
 * (Deno.dlopen). A new call goes into the interface and into each of the three. Everything
 * here works on native addresses of ArrayBuffers the caller keeps alive.
 */
export interface Native {
  /** bpf(cmd, attr, size) on an attr at a native address; returns the result or -errno. */
  bpf(cmd: number, attrAddr: number, size: number): number;
  /** close(2); returns 0 or -errno. */
  close(fd: number): number;
  /** fcntl(fd, F_DUPFD_CLOEXEC, minFd); returns the new fd or -errno. */
  dupCloexec(fd: number, minFd: number): number;
  /** The native address of an ArrayBuffer's memory; stable for the buffer's lifetime. */
  addressOf(buffer: ArrayBuffer): number;
  /** The text of a small kernel pseudo-file (/sys, /proc), or -errno. Deno's permission
   *  model refuses /sys to anything short of --allow-all, so Deno reads it through libc. */
  readSysFile(path: string): string | number;
  /** The bytes of a kernel file of any size (/sys/kernel/btf/vmlinux), or -errno. Only
   *  where node:fs may not read it (Deno); elsewhere tsbpf reads through node:fs. */
  readKernelFile?(path: string): Uint8Array | number;
  /** setsockopt(fd, level, name, value, value.length); returns 0 or -errno. */
  setsockopt(fd: number, level: number, name: number, value: Uint8Array): number;
  /** mmap(2) with the given address hint (0: any); returns the address or -errno. Optional:
   *  a runtime without it cannot map BPF_F_MMAPABLE maps. */
  mmap?(addr: number, length: number, prot: number, flags: number, fd: number, offset: number): number;
  /** munmap(2); returns 0 or -errno. */
  munmap?(addr: number, length: number): number;
  /** An ArrayBuffer over `length` bytes of native memory at `addr`, without a copy. The
   *  memory must stay mapped while the ArrayBuffer is reachable. */
  view?(addr: number, length: number): ArrayBuffer;
}

import { createBunNative } from './native_bun.js';
import { createDenoNative } from './native_deno.js';
import { createKoffiNative } from './native_koffi.js';

/** The JavaScript runtimes tsbpf runs on. */
export type RuntimeName = 'node' | 'bun' | 'deno';

/** The FFI behind each implementation of Native. */
const BACKENDS = {
  koffi: createKoffiNative,
  'bun:ffi': createBunNative,
  deno: createDenoNative,
} as const satisfies Record<string, () => Native>;

export type NativeBackend = keyof typeof BACKENDS;

/** Each runtime's own FFI: a Bun or Deno user never needs koffi. */
const DEFAULT_BACKEND: Record<RuntimeName, NativeBackend> = { node: 'koffi', bun: 'bun:ffi', deno: 'deno' };

interface DenoPermissions {
  permissions: { querySync(desc: { name: 'env'; variable: string }): { state: string } };
}

/** Which runtime this is: Bun and Deno announce themselves with a global of their name. */
export function runtimeName(): RuntimeName {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  if (g.Bun !== undefined) return 'bun';
  if (g.Deno !== undefined) return 'deno';
  return 'node';
}

/**
 * An environment variable, or undefined where the runtime does not let us read it: Deno
 * without --allow-env would throw, or prompt on a terminal, so ask only when granted.
 */
export function envVar(name: string): string | undefined {
  const deno = (globalThis as { Deno?: DenoPermissions }).Deno;
  if (deno && deno.permissions.querySync({ name: 'env', variable: name }).state !== 'granted') return undefined;
  const proc = (globalThis as { process?: { env: Record<string, string | undefined> } }).process;
  return proc?.env[name];
}

/** The FFI Native uses here: the runtime's own, or the one TSBPF_NATIVE names (koffi, bun:ffi, deno). */
export function nativeBackend(): NativeBackend {
  const forced = envVar('TSBPF_NATIVE');
  if (!forced) return DEFAULT_BACKEND[runtimeName()];
  if (!Object.hasOwn(BACKENDS, forced))
    throw new Error(`tsbpf: TSBPF_NATIVE=${forced} is not one of ${Object.keys(BACKENDS).join(', ')}`);
  return forced as NativeBackend;
}

/** readSysFile for runtimes whose node:fs may read /sys. */
export function readSysFileWithFs(readFileSync: (path: string, enc: 'utf8') => string): (path: string) => string | number {
  return (path) => {
    try {
      return readFileSync(path, 'utf8');
    } catch (e) {
      // node:fs reports errno negated on Linux; keep the convention of this interface.
      return -Math.abs((e as { errno?: number }).errno ?? 2);
    }
  };
}

let cached: Native | undefined;

/** The Native of the current runtime, created on first use. */
export function nativeForRuntime(): Native {
  cached ??= BACKENDS[nativeBackend()]();
  return cached;
}
