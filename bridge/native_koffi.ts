/**
 * Native calls through koffi onto libc, for Node. syscall() is declared with a fixed
 * prototype instead of its variadic one: on x86-64 and arm64 Linux the integer arguments
 * travel in the same registers either way, and a fixed prototype is much cheaper to call.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { readSysFileWithFs, type Native } from './native.js';

/** SYS_bpf per architecture (asm/unistd.h). */
const SYS_BPF: Record<string, number> = { x64: 321, arm64: 280, riscv64: 280 };
const F_DUPFD_CLOEXEC = 1030;

type Koffi = typeof import('koffi');

export function createKoffiNative(): Native {
  // Loaded on demand, so that a runtime with its own FFI never loads koffi's addon.
  const koffi = createRequire(import.meta.url)('koffi') as Koffi;
  const nr = SYS_BPF[process.arch];
  if (nr === undefined) throw new Error(`tsbpf: unsupported architecture ${process.arch}`);
  const libc = koffi.load('libc.so.6');
  const syscall = libc.func('long syscall(long nr, long cmd, uint64_t attr, long size)') as (
    nr: number,
    cmd: number,
    attr: number,
    size: number,
  ) => number;
  const close = libc.func('int close(int fd)') as (fd: number) => number;
  const fcntl = libc.func('int fcntl(int fd, int cmd, int arg)') as (fd: number, cmd: number, arg: number) => number;
  const setsockopt = libc.func('int setsockopt(int fd, int level, int name, const void *value, uint32_t len)') as (
    fd: number,
    level: number,
    name: number,
    value: Uint8Array,
    len: number,
  ) => number;
  const mmap = libc.func('intptr_t mmap(intptr_t addr, size_t length, int prot, int flags, int fd, int64_t offset)') as (
    addr: number,
    length: number,
    prot: number,
    flags: number,
    fd: number,
    offset: number,
  ) => number;
  const munmap = libc.func('int munmap(intptr_t addr, size_t length)') as (addr: number, length: number) => number;
  // koffi.errno() keeps the last failure's value after a success, so read it only on -1.
  const check = (r: number): number => (r < 0 ? -koffi.errno() : r);
  return {
    bpf: (cmd, attrAddr, size) => check(syscall(nr, cmd, attrAddr, size)),
    close: (fd) => check(close(fd)),
    dupCloexec: (fd, minFd) => check(fcntl(fd, F_DUPFD_CLOEXEC, minFd)),
    addressOf: (buffer) => Number(koffi.address(buffer)),
    readSysFile: readSysFileWithFs(readFileSync),
    setsockopt: (fd, level, name, value) => check(setsockopt(fd, level, name, value, value.length)),
    // MAP_FAILED is (void *)-1; every real address is positive in user space.
    mmap: (addr, length, prot, flags, fd, offset) => check(mmap(addr, length, prot, flags, fd, offset)),
    munmap: (addr, length) => check(munmap(addr, length)),
    view: (addr, length) => koffi.view(addr, length),
  };
}
