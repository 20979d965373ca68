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
  /** mmap(2) with the given address hint (0: any); returns the address or -errno. Optional:
   *  a runtime without it cannot map BPF_F_MMAPABLE maps. */
  mmap?(addr: number, length: number, prot: number, flags: number, fd: number, offset: number): number;
  /** munmap(2); returns 0 or -errno. */
  munmap?(addr: number, length: number): number;
  /** An ArrayBuffer over `length` bytes of native memory at `addr`, without a copy. The
   *  memory must stay mapped while the ArrayBuffer is reachable. */
  view?(addr: number, length: number): ArrayBuffer;
}

import { createKoffiNative } from './native_koffi.js';

let cached: Native | undefined;

/** The Native of the current runtime, created on first use. */
export function nativeForRuntime(): Native {
  cached ??= createKoffiNative();
  return cached;
}
