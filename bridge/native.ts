/**
 * The few native calls tsbpf needs from its runtime, behind one small interface so that
 * a runtime other than Node (Bun's or Deno's FFI) can supply them. Everything here works
 * on native addresses of ArrayBuffers the caller keeps alive.
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
  /** setsockopt(fd, level, name, value, value.length); returns 0 or -errno. */
  setsockopt(fd: number, level: number, name: number, value: Uint8Array): number;
}

import { createKoffiNative } from './native_koffi.js';

let cached: Native | undefined;

/** The Native of the current runtime, created on first use. */
export function nativeForRuntime(): Native {
  cached ??= createKoffiNative();
  return cached;
}
