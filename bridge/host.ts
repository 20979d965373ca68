/**
 * The two levels of host the core can run on.
 *
 * - {@link RawHost} is what core.wasm's `env.host_bpf` import calls: raw Wasm addresses.
 *   The syscall host implements it directly, because it is the hot path.
 * - {@link Host} is the friendly level: one decoded request with the attr bytes and a view
 *   of each fix-up's buffer. Fakes for unit tests implement it; {@link adaptHost} turns it
 *   into a RawHost, validating the request first exactly as the syscall host does.
 */
import { commandName } from '../src/errors.js';
import { WasmMemory } from './memory.js';
import { Fixups, TSBPF_FIXUP_IN, TSBPF_FIXUP_OUT, validateRequest } from './request.js';

export interface RawHost {
  hostBpf(
    mem: WasmMemory,
    cmd: number,
    attrPtr: number,
    attrSize: number,
    fixupsPtr: number,
    nFixups: number,
  ): number;
  /** Closes an fd the kernel returned; returns 0 or -errno. */
  close(fd: number): number;
  /** Duplicates an fd (close-on-exec, never below 3); returns the new fd or -errno. */
  dup(fd: number): number;
  /**
   * Validates a request once and returns a way to send it again and again without the
   * core: for element operations whose attr stays the same while only the bytes of the
   * buffers it points at change. Optional: hosts without it (the fake host) get every
   * request through hostBpf. Returns undefined when this request cannot be prepared.
   */
  prepare?(mem: WasmMemory, cmd: number, attrPtr: number, attrSize: number, fixupsPtr: number, nFixups: number): PreparedRequest | undefined;
}

/** A validated request the host replays. */
export interface PreparedRequest {
  /** Sends the request; returns the syscall's result or -errno. */
  run(): number;
  /**
   * The words of the attr the kernel reads and writes on each run (its own copy, in native
   * memory). Callers set input fields and read results only at offsets the core gave them.
   */
  readonly attr: Uint32Array;
}

/** A buffer a request points at: `data` is a live view into Wasm memory. */
export interface RequestBuffer {
  /** Offset of the pointer field: inside the attr, or inside the parent's buffer. */
  readonly attrOffset: number;
  /** Index (in `buffers`) of the buffer holding the pointer, or -1 for the attr. */
  readonly parent: number;
  readonly in: boolean;
  readonly out: boolean;
  /** Read it for inputs, write it for outputs. */
  readonly data: Uint8Array;
}

export interface BpfRequest {
  readonly cmd: number;
  /** 'BPF_PROG_LOAD' and so on. */
  readonly command: string;
  /** The attr bytes as the core built them (pointer fields hold Wasm addresses).
   *  Writes are copied back, as the kernel's writes into the attr are. */
  readonly attr: Uint8Array;
  readonly buffers: readonly RequestBuffer[];
  /** The buffer whose pointer sits at this attr offset. */
  buffer(attrOffset: number): RequestBuffer | undefined;
  /** The buffer whose pointer sits at this offset of buffer `parent`. */
  nested(parent: number, offset: number): RequestBuffer | undefined;
}

export interface Host {
  /** Returns the syscall's result or -errno. */
  bpf(req: BpfRequest): number;
  /** Closes an fd this host handed out. */
  close?(fd: number): number;
  /** Duplicates an fd this host handed out. */
  dup?(fd: number): number;
}

/** Runs a friendly Host behind the raw interface. */
export function adaptHost(host: Host): RawHost {
  const fixups = new Fixups();
  return {
    close: (fd) => host.close?.(fd) ?? 0,
    dup: (fd) => host.dup?.(fd) ?? -9 /* EBADF */,
    hostBpf(mem, cmd, attrPtr, attrSize, fixupsPtr, nFixups) {
      validateRequest(mem.u32, mem.byteLength, cmd, attrPtr, attrSize, fixupsPtr, nFixups, fixups);
      const u8 = mem.u8;
      const attr = u8.slice(attrPtr, attrPtr + attrSize);
      const buffers: RequestBuffer[] = [];
      for (let i = 0; i < fixups.count; i++) {
        const ptr = fixups.ptr[i]!;
        buffers.push({
          attrOffset: fixups.attrOff[i]!,
          parent: fixups.parent[i]!,
          in: (fixups.dir[i]! & TSBPF_FIXUP_IN) !== 0,
          out: (fixups.dir[i]! & TSBPF_FIXUP_OUT) !== 0,
          data: u8.subarray(ptr, ptr + fixups.len[i]!),
        });
      }
      const req: BpfRequest = {
        cmd,
        command: commandName(cmd),
        attr,
        buffers,
        buffer: (off) => buffers.find((b) => b.parent < 0 && b.attrOffset === off),
        nested: (parent, off) => buffers.find((b) => b.parent === parent && b.attrOffset === off),
      };
      const result = host.bpf(req);
      // Copy the attr back, keeping the pointer fields the core wrote (the kernel never changes them).
      const keep = new Set(buffers.filter((b) => b.parent < 0).map((b) => b.attrOffset));
      const now = mem.u8;
      for (let off = 0; off < attrSize; off++) {
        if (keep.has(off - (off % 8))) continue;
        now[attrPtr + off] = attr[off]!;
      }
      return result;
    },
  };
}
