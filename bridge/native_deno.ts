/**
 * Native calls through Deno's own FFI (Deno.dlopen) onto libc, so that a Deno user needs
 * neither koffi nor npm: `deno run --allow-ffi --allow-read`. Same prototypes as the koffi
 * host: syscall() and fcntl() are declared with fixed arguments, which on x86-64 and arm64
 * Linux travel in the same registers as the variadic ones. Addresses travel as u64 numbers
 * (user addresses are below 2^47).
 *
 * Adding a method to Native: declare its libc function in SYMBOLS with Deno's type names
 * ('i32', 'i64', 'u32', 'u64' for an address) and implement it in the returned object.
 */
import type { Native } from './native.js';

/** SYS_bpf per architecture (asm/unistd.h). */
const SYS_BPF: Record<string, number> = { x64: 321, arm64: 280, riscv64: 280 };
const F_DUPFD_CLOEXEC = 1030;
const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;

type DenoType = 'i32' | 'u32' | 'i64' | 'u64' | 'pointer' | 'buffer';
interface DenoSymbol {
  parameters: readonly DenoType[];
  result: DenoType;
}
type DenoPointer = object | null;

/** The part of the Deno namespace used here (Deno's types are not a dependency of tsbpf). */
export interface DenoFfi {
  dlopen<S extends Record<string, DenoSymbol>>(
    path: string,
    symbols: S,
  ): { symbols: { [K in keyof S]: (...args: number[]) => number | bigint | DenoPointer } };
  UnsafePointer: {
    of(buffer: ArrayBuffer | ArrayBufferView): DenoPointer;
    value(pointer: DenoPointer): number | bigint;
    create(value: bigint): DenoPointer;
  };
  UnsafePointerView: {
    new (pointer: DenoPointer): { getInt32(offset: number): number };
    getArrayBuffer(pointer: DenoPointer, byteLength: number): ArrayBuffer;
  };
  build: { arch: string };
}

const SYMBOLS = {
  syscall: { parameters: ['i64', 'i64', 'u64', 'i64'], result: 'i64' },
  close: { parameters: ['i32'], result: 'i32' },
  fcntl: { parameters: ['i32', 'i32', 'i32'], result: 'i32' },
  setsockopt: { parameters: ['i32', 'i32', 'i32', 'buffer', 'u32'], result: 'i32' },
  open: { parameters: ['buffer', 'i32'], result: 'i32' },
  read: { parameters: ['i32', 'buffer', 'u64'], result: 'i64' },
  // Addresses as 64-bit integers (BigInts in Deno's FFI); MAP_FAILED is -1.
  mmap: { parameters: ['u64', 'u64', 'i32', 'i32', 'i32', 'i64'], result: 'i64' },
  munmap: { parameters: ['u64', 'u64'], result: 'i32' },
  __errno_location: { parameters: [], result: 'pointer' },
} as const satisfies Record<string, DenoSymbol>;

/** Deno names architectures as Rust does. */
const ARCH: Record<string, string> = { x86_64: 'x64', aarch64: 'arm64', riscv64gc: 'riscv64', riscv64: 'riscv64' };

export function createDenoNative(): Native {
  const deno = (globalThis as { Deno?: DenoFfi }).Deno;
  if (!deno) throw new Error('tsbpf: the Deno host needs the Deno runtime');
  const arch = ARCH[deno.build.arch] ?? deno.build.arch;
  const nr = SYS_BPF[arch];
  if (nr === undefined) throw new Error(`tsbpf: unsupported architecture ${arch}`);
  let lib: ReturnType<typeof deno.dlopen<typeof SYMBOLS>>;
  try {
    lib = deno.dlopen('libc.so.6', SYMBOLS);
  } catch (e) {
    // Usually a missing permission: say which flags tsbpf needs, keeping Deno's own words.
    throw new Error(`tsbpf: cannot load libc through Deno's FFI (run deno with --allow-ffi --allow-read): ${(e as Error).message}`, {
      cause: e,
    });
  }
  const s = lib.symbols;
  // Deno's fast path for a 64-bit parameter takes a BigInt; a number goes the slow way
  // (measured: about 0.5 us more per bpf call). Keep the BigInts of small values and of
  // the last attr address (the bridge's scratch buffer, which rarely changes).
  const syscall = s.syscall as unknown as (nr: bigint, cmd: bigint, attr: bigint, size: bigint) => bigint;
  const small: bigint[] = [];
  const big = (v: number): bigint => (v < 1024 ? (small[v] ??= BigInt(v)) : BigInt(v));
  const bigNr = BigInt(nr);
  let lastAddr = -1;
  let lastAddrBig = 0n;
  const close = s.close as (fd: number) => number;
  const fcntl = s.fcntl as (fd: number, cmd: number, arg: number) => number;
  const open = s.open as unknown as (path: Uint8Array, flags: number) => number;
  const read = s.read as unknown as (fd: number, buf: Uint8Array, len: bigint) => bigint;
  const mmap = s.mmap as unknown as (addr: bigint, len: bigint, prot: number, flags: number, fd: number, off: bigint) => bigint;
  const munmap = s.munmap as unknown as (addr: bigint, len: bigint) => number;
  const setsockopt = s.setsockopt as unknown as (fd: number, level: number, name: number, value: Uint8Array, len: number) => number;
  // errno is thread-local and FFI calls run on the JavaScript thread: its address is fixed.
  const errnoView = new deno.UnsafePointerView(s.__errno_location() as DenoPointer);
  const check = (r: number): number => (r < 0 ? -errnoView.getInt32(0) : r);
  /** A whole file through open and read (sysfs hands out a page per read), up to max bytes. */
  const readAll = (path: string, max: number): Uint8Array | number => {
    const fd = open(new TextEncoder().encode(`${path}\0`), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return check(fd);
    try {
      let buf = new Uint8Array(Math.min(max, 64 << 10));
      let len = 0;
      for (;;) {
        if (len === buf.length) {
          if (len >= max) return -27; // EFBIG
          const grown = new Uint8Array(Math.min(max, buf.length * 2));
          grown.set(buf);
          buf = grown;
        }
        const n = Number(read(fd, buf.subarray(len), BigInt(buf.length - len)));
        if (n < 0) return check(n);
        if (n === 0) return buf.subarray(0, len);
        len += n;
      }
    } finally {
      close(fd);
    }
  };
  return {
    bpf: (cmd, attrAddr, size) => {
      if (attrAddr !== lastAddr) {
        lastAddr = attrAddr;
        lastAddrBig = BigInt(attrAddr);
      }
      // The 64-bit result comes back as a BigInt; bpf(2) results fit in 32 bits.
      return check(Number(syscall(bigNr, big(cmd), lastAddrBig, big(size))));
    },
    close: (fd) => check(close(fd)),
    dupCloexec: (fd, minFd) => check(fcntl(fd, F_DUPFD_CLOEXEC, minFd)),
    setsockopt: (fd, level, name, value) => check(setsockopt(fd, level, name, value, value.length)),
    mmap: (addr, length, prot, flags, fd, offset) =>
      check(Number(mmap(BigInt(addr), BigInt(length), prot, flags, fd, BigInt(offset)))),
    munmap: (addr, length) => check(munmap(BigInt(addr), BigInt(length))),
    view: (addr, length) => deno.UnsafePointerView.getArrayBuffer(deno.UnsafePointer.create(BigInt(addr)), length),
    // libc, not Deno.readFile: Deno refuses /sys to anything short of --allow-all.
    readSysFile: (path) => {
      const data = readAll(path, 1 << 20);
      return typeof data === 'number' ? data : new TextDecoder().decode(data);
    },
    readKernelFile: (path) => readAll(path, 1 << 30),
    addressOf: (buffer) => Number(deno.UnsafePointer.value(deno.UnsafePointer.of(buffer))),
  };
}
