/**
 * The host that performs real bpf(2) calls: the one choke point every kernel request of
 * the core passes through. It validates the request, copies the attr and every input
 * buffer into native scratch memory it owns (reused across calls), patches the attr's
 * pointer fields with native addresses, calls the kernel, and copies the attr and every
 * output buffer back into Wasm memory.
 */
import { TSBPF_ATTR_MAX } from './generated/abi.js';
import type { RawHost } from './host.js';
import { WasmMemory, copyBytes } from './memory.js';
import type { Native } from './native.js';
import { Fixups, TSBPF_FIXUP_IN, TSBPF_FIXUP_OUT, validateRequest } from './request.js';

/** bpf commands whose result is a new file descriptor (enum bpf_cmd values). */
const FD_COMMANDS = new Set([
  0 /* MAP_CREATE */, 5 /* PROG_LOAD */, 7 /* OBJ_GET */, 13 /* PROG_GET_FD_BY_ID */, 14 /* MAP_GET_FD_BY_ID */,
  17 /* RAW_TRACEPOINT_OPEN */, 18 /* BTF_LOAD */, 19 /* BTF_GET_FD_BY_ID */, 28 /* LINK_CREATE */,
  30 /* LINK_GET_FD_BY_ID */, 32 /* ENABLE_STATS */, 33 /* ITER_CREATE */, 36 /* TOKEN_CREATE */,
]);

/** Scratch memory kept between calls; a larger request gets a buffer of its own for one call. */
const SCRATCH_KEEP_MAX = 16 << 20;
const SCRATCH_INITIAL = 64 << 10;

const align8 = (n: number): number => (n + 7) & ~7;

/** Native memory the kernel reads and writes: an ArrayBuffer and its address. */
class Scratch {
  readonly u8: Uint8Array;
  readonly u32: Uint32Array;
  readonly addr: number;
  constructor(readonly buf: ArrayBuffer, native: Native) {
    this.u8 = new Uint8Array(buf);
    this.u32 = new Uint32Array(buf);
    this.addr = native.addressOf(buf);
  }
}

export class SyscallHost implements RawHost {
  private scratch: Scratch;
  private readonly fixups = new Fixups();
  private readonly place = new Uint32Array(8);

  constructor(readonly native: Native) {
    this.scratch = new Scratch(new ArrayBuffer(SCRATCH_INITIAL), native);
  }

  /** Scratch of at least `size` bytes: the kept one (grown if needed) or a one-off. */
  private scratchFor(size: number): Scratch {
    if (size <= this.scratch.buf.byteLength) return this.scratch;
    let cap = this.scratch.buf.byteLength;
    while (cap < size) cap *= 2;
    const s = new Scratch(new ArrayBuffer(cap), this.native);
    if (cap <= SCRATCH_KEEP_MAX) this.scratch = s;
    return s;
  }

  hostBpf(mem: WasmMemory, cmd: number, attrPtr: number, attrSize: number, fixupsPtr: number, nFixups: number): number {
    const f = this.fixups;
    const w8 = mem.u8;
    const w32 = mem.u32;
    validateRequest(w32, w8.length, cmd, attrPtr, attrSize, fixupsPtr, nFixups, f);
    const n = f.count;

    // Layout: the attr first, then each buffer 8-byte aligned.
    let total = TSBPF_ATTR_MAX;
    for (let i = 0; i < n; i++) {
      this.place[i] = total;
      total += align8(f.len[i]!);
    }
    const s = this.scratchFor(total);
    const s8 = s.u8;
    const s32 = s.u32;
    copyBytes(s8, s32, 0, w8, w32, attrPtr, attrSize);
    for (let i = 0; i < n; i++) {
      const at = this.place[i]!;
      const len = f.len[i]!;
      if (f.dir[i]! & TSBPF_FIXUP_IN) copyBytes(s8, s32, at, w8, w32, f.ptr[i]!, len);
      else s8.fill(0, at, at + len);
    }
    // Patch pointer fields after every buffer is in place: nested ones live in a buffer.
    for (let i = 0; i < n; i++) {
      const addr = s.addr + this.place[i]!;
      const p = f.parent[i]!;
      const word = ((p < 0 ? 0 : this.place[p]!) + f.attrOff[i]!) >>> 2;
      s32[word] = addr >>> 0;
      s32[word + 1] = (addr / 0x100000000) >>> 0;
    }

    let r = this.native.bpf(cmd, s.addr, attrSize);

    // The kernel writes results into the attr and the output buffers: copy them back,
    // then put the Wasm addresses back into the pointer fields so the core never sees
    // native ones.
    copyBytes(w8, w32, attrPtr, s8, s32, 0, attrSize);
    for (let i = 0; i < n; i++) {
      if (f.dir[i]! & TSBPF_FIXUP_OUT) copyBytes(w8, w32, f.ptr[i]!, s8, s32, this.place[i]!, f.len[i]!);
    }
    for (let i = 0; i < n; i++) {
      const p = f.parent[i]!;
      if (p >= 0 && !(f.dir[p]! & TSBPF_FIXUP_OUT)) continue; // that buffer was not copied back
      const word = ((p < 0 ? attrPtr : f.ptr[p]!) + f.attrOff[i]!) >>> 2;
      w32[word] = f.ptr[i]!;
      w32[word + 1] = 0;
    }
    if (r >= 0 && r < 3 && FD_COMMANDS.has(cmd)) r = this.moveAboveStdio(r);
    return r;
  }

  close(fd: number): number {
    return this.native.close(fd);
  }

  dup(fd: number): number {
    return this.native.dupCloexec(fd, 3);
  }

  /** A new fd in 0..2 (stdio was closed) would be clobbered by the next print: move it up. */
  private moveAboveStdio(fd: number): number {
    const moved = this.native.dupCloexec(fd, 3);
    this.native.close(fd);
    return moved;
  }
}
