/**
 * Real sockets for kernel tests, through koffi: a socket pair, send and a non-blocking
 * receive, so that a test can see what a socket filter lets through.
 */
import { createRequire } from 'node:module';

type Koffi = typeof import('koffi');
const koffi = createRequire(import.meta.url)('koffi') as Koffi;
const libc = koffi.load('libc.so.6');
const socketpairFn = libc.func('int socketpair(int domain, int type, int protocol, _Out_ int *sv)') as (
  d: number,
  t: number,
  p: number,
  sv: number[],
) => number;
const sendFn = libc.func('long send(int fd, const void *buf, size_t len, int flags)') as (
  fd: number,
  buf: Uint8Array,
  len: number,
  flags: number,
) => number;
const recvFn = libc.func('long recv(int fd, _Out_ void *buf, size_t len, int flags)') as (
  fd: number,
  buf: Uint8Array,
  len: number,
  flags: number,
) => number;
const closeFn = libc.func('int close(int fd)') as (fd: number) => number;

export const AF_UNIX = 1;
export const SOCK_DGRAM = 2;
const MSG_DONTWAIT = 0x40;
const EAGAIN = 11;

/** A connected pair of sockets; close() closes both. */
export interface SocketPair {
  readonly fds: [number, number];
  close(): void;
}

export function socketPair(type = SOCK_DGRAM): SocketPair {
  const sv = [-1, -1];
  if (socketpairFn(AF_UNIX, type, 0, sv) !== 0) throw new Error(`socketpair failed: errno ${koffi.errno()}`);
  const fds: [number, number] = [sv[0]!, sv[1]!];
  return {
    fds,
    close: () => {
      closeFn(fds[0]);
      closeFn(fds[1]);
    },
  };
}

/** Sends one datagram; returns the bytes the kernel accepted. */
export function send(fd: number, data: Uint8Array): number {
  const r = sendFn(fd, data, data.length, MSG_DONTWAIT);
  if (r < 0) throw new Error(`send failed: errno ${koffi.errno()}`);
  return r;
}

/** Receives one datagram without waiting; undefined when nothing is queued. */
export function receive(fd: number, max = 65536): Buffer | undefined {
  const buf = Buffer.alloc(max);
  const r = recvFn(fd, buf, max, MSG_DONTWAIT);
  if (r < 0) {
    const errno = koffi.errno();
    if (errno === EAGAIN) return undefined;
    throw new Error(`recv failed: errno ${errno}`);
  }
  return buf.subarray(0, r);
}
