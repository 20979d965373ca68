/**
 * Native calls through Bun's own FFI (bun:ffi) onto libc, so that a Bun user needs neither
 * koffi nor its addon. Same prototypes as the koffi host: syscall() and fcntl() are declared
 * with fixed arguments, which on x86-64 and arm64 Linux travel in the same registers as the
 * variadic ones. Addresses travel as u64 numbers (user addresses are below 2^47).
 *
 * Adding a method to Native: declare its libc function in SYMBOLS with bun:ffi's type names
 * ('i32', 'i64', 'u32', 'u64' for an address) and implement it in the returned object.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { readSysFileWithFs, type Native } from './native.js';

/** SYS_bpf per architecture (asm/unistd.h). */
const SYS_BPF: Record<string, number> = { x64: 321, arm64: 280, riscv64: 280 };
const F_DUPFD_CLOEXEC = 1030;

type BunType = 'i32' | 'u32' | 'i64' | 'u64' | 'i64_fast' | 'ptr';
interface BunSymbol {
  args: readonly BunType[];
  returns: BunType;
}

/** The part of bun:ffi used here (Bun's types are not a dependency of tsbpf). */
interface BunFfi {
  dlopen<S extends Record<string, BunSymbol>>(
    path: string,
    symbols: S,
  ): { symbols: { [K in keyof S]: (...args: number[]) => number } };
  ptr(view: ArrayBuffer | ArrayBufferView): number;
  read: { i32(address: number, offset: number): number };
  toArrayBuffer(address: number, byteOffset: number, byteLength: number): ArrayBuffer;
}

const SYMBOLS = {
  // i64_fast returns a number (not a BigInt) whenever the value is a safe integer.
  syscall: { args: ['i64', 'i64', 'u64', 'i64'], returns: 'i64_fast' },
  close: { args: ['i32'], returns: 'i32' },
  fcntl: { args: ['i32', 'i32', 'i32'], returns: 'i32' },
  setsockopt: { args: ['i32', 'i32', 'i32', 'ptr', 'u32'], returns: 'i32' },
  // Addresses as u64 / i64_fast numbers: user addresses are below 2^47; MAP_FAILED is -1.
  mmap: { args: ['u64', 'u64', 'i32', 'i32', 'i32', 'i64'], returns: 'i64_fast' },
  munmap: { args: ['u64', 'u64'], returns: 'i32' },
  __errno_location: { args: [], returns: 'ptr' },
} as const satisfies Record<string, BunSymbol>;

export function createBunNative(): Native {
  // bun:ffi exists only in Bun; require() keeps Node and Deno from ever resolving it.
  const ffi = createRequire(import.meta.url)('bun:ffi') as BunFfi;
  const nr = SYS_BPF[process.arch];
  if (nr === undefined) throw new Error(`tsbpf: unsupported architecture ${process.arch}`);
  const { syscall, close, fcntl, setsockopt, mmap, munmap, __errno_location } = ffi.dlopen('libc.so.6', SYMBOLS).symbols;
  // errno is thread-local and FFI calls run on the JavaScript thread: its address is fixed.
  const errnoAddr = __errno_location();
  const read32 = ffi.read.i32;
  const check = (r: number): number => (r < 0 ? -read32(errnoAddr, 0) : r);
  return {
    bpf: (cmd, attrAddr, size) => check(syscall(nr, cmd, attrAddr, size)),
    close: (fd) => check(close(fd)),
    dupCloexec: (fd, minFd) => check(fcntl(fd, F_DUPFD_CLOEXEC, minFd)),
    setsockopt: (fd, level, name, value) => check(setsockopt(fd, level, name, ffi.ptr(value), value.length)),
    addressOf: (buffer) => ffi.ptr(buffer),
    readSysFile: readSysFileWithFs(readFileSync),
    mmap: (addr, length, prot, flags, fd, offset) => check(mmap(addr, length, prot, flags, fd, offset)),
    munmap: (addr, length) => check(munmap(addr, length)),
    view: (addr, length) => ffi.toArrayBuffer(addr, 0, length),
  };
}
