/**
 * A scripted host for unit tests of the core: no kernel, no privileges.
 *
 * It denies by default: a command without a handler throws, failing the test that sent it.
 * Handlers see the decoded request (attr bytes, input buffers) and may write the attr and
 * output buffers, as the kernel would. Every request is recorded. Fake fds start at 10000
 * so nothing real is ever closed by mistake.
 */
import { BpfCommand } from '../src/generated/uapi.js';
import { commandName } from '../src/errors.js';
import { adaptHost, type BpfRequest, type Host, type RawHost } from './host.js';

export type FakeHandler = (req: BpfRequest) => number;

export interface RecordedRequest {
  readonly cmd: number;
  readonly command: string;
  /** The attr as the core sent it. */
  readonly attr: Uint8Array;
  /** Copies of the input buffers, keyed by attr offset. */
  readonly inputs: ReadonlyMap<number, Uint8Array>;
  /** Output buffer lengths, keyed by attr offset. */
  readonly outputs: ReadonlyMap<number, number>;
  readonly result: number;
}

export const FAKE_FD_BASE = 10000;

export class FakeHost implements Host {
  readonly requests: RecordedRequest[] = [];
  private readonly handlers = new Map<number, FakeHandler[]>();
  private nextFd = FAKE_FD_BASE;

  /** Handles `cmd` (a number or 'BPF_PROG_LOAD') with `handler`, every time. */
  on(cmd: number | keyof typeof BpfCommand, handler: FakeHandler): this {
    const n = typeof cmd === 'number' ? cmd : BpfCommand[cmd];
    this.handlers.set(n, [handler]);
    return this;
  }

  /** Handles the next calls of `cmd` with these handlers in order; the last one repeats. */
  script(cmd: number | keyof typeof BpfCommand, ...handlers: FakeHandler[]): this {
    const n = typeof cmd === 'number' ? cmd : BpfCommand[cmd];
    this.handlers.set(n, [...handlers]);
    return this;
  }

  /** Fds closed through this host, in order. */
  readonly closed: number[] = [];

  close(fd: number): number {
    this.closed.push(fd);
    return 0;
  }

  /** Duplicates a fake fd: a fresh one, recorded as a copy of `fd`. */
  readonly dups = new Map<number, number>();

  dup(fd: number): number {
    const copy = this.fd();
    this.dups.set(copy, fd);
    return copy;
  }

  /** A fresh fake file descriptor. */
  fd(): number {
    return this.nextFd++;
  }

  /** Requests of one command. */
  of(cmd: keyof typeof BpfCommand): RecordedRequest[] {
    return this.requests.filter((r) => r.cmd === BpfCommand[cmd]);
  }

  bpf(req: BpfRequest): number {
    const list = this.handlers.get(req.cmd);
    if (!list || list.length === 0) throw new Error(`FakeHost: unexpected ${commandName(req.cmd)} request`);
    const handler = list.length > 1 ? list.shift()! : list[0]!;
    const attr = req.attr.slice();
    const inputs = new Map<number, Uint8Array>();
    const outputs = new Map<number, number>();
    for (const b of req.buffers) {
      if (b.in) inputs.set(b.attrOffset, b.data.slice());
      if (b.out) outputs.set(b.attrOffset, b.data.length);
    }
    const result = handler(req);
    this.requests.push({ cmd: req.cmd, command: req.command, attr, inputs, outputs, result });
    return result;
  }

  /** This host behind the raw interface core.wasm calls. */
  raw(): RawHost {
    return adaptHost(this);
  }
}

/** Little-endian field access on attr bytes, for handlers and assertions. */
export function attrU32(attr: Uint8Array, off: number): number {
  return new DataView(attr.buffer, attr.byteOffset, attr.byteLength).getUint32(off, true);
}

export function setAttrU32(attr: Uint8Array, off: number, value: number): void {
  new DataView(attr.buffer, attr.byteOffset, attr.byteLength).setUint32(off, value, true);
}

export function attrU64(attr: Uint8Array, off: number): bigint {
  return new DataView(attr.buffer, attr.byteOffset, attr.byteLength).getBigUint64(off, true);
}
