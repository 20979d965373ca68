/**
 * The host that performs real bpf(2) calls: the one choke point every kernel request of
 * the core passes through. It validates the request, then hands the kernel Wasm memory
 * itself: the pointer fields of the attr (and nested ones inside buffers) are patched in
 * place with native addresses (the base of Wasm memory plus the Wasm address), the kernel
 * reads and writes the buffers directly, and the Wasm addresses are put back afterwards.
 * Output-only buffers are zeroed first, so the core never reads stale bytes the kernel did
 * not write.
 *
 * A runtime that cannot give the address of Wasm memory gets the copy path instead: the
 * attr and buffers are copied into native scratch memory the host owns, and back.
 */
import { TSBPF_ATTR_MAX, TSBPF_FIXUP_MAX_LEN } from './generated/abi.js';
import { BpfError, commandName } from '../src/errors.js';
import type { PreparedRequest, RawHost } from './host.js';
import { WasmMemory, copyBytes } from './memory.js';
import type { Native } from './native.js';
import { Fixups, TSBPF_FIXUP_IN, TSBPF_FIXUP_OUT, validateRequest } from './request.js';

/** bpf commands whose result is a new file descriptor (enum bpf_cmd values). */
const FD_COMMANDS = new Set([
  0 /* MAP_CREATE */, 5 /* PROG_LOAD */, 7 /* OBJ_GET */, 13 /* PROG_GET_FD_BY_ID */, 14 /* MAP_GET_FD_BY_ID */,
  17 /* RAW_TRACEPOINT_OPEN */, 18 /* BTF_LOAD */, 19 /* BTF_GET_FD_BY_ID */, 28 /* LINK_CREATE */,
  30 /* LINK_GET_FD_BY_ID */, 32 /* ENABLE_STATS */, 33 /* ITER_CREATE */, 36 /* TOKEN_CREATE */,
]);
/** FD_COMMANDS as a table: element commands return 0 on success, and a Set lookup per call shows. */
const RETURNS_FD = new Uint8Array(64);
for (const cmd of FD_COMMANDS) RETURNS_FD[cmd] = 1;

/** Scratch memory kept between calls; a larger request gets a buffer of its own for one call. */
const SCRATCH_KEEP_MAX = 16 << 20;
/** The most scratch one request may need: inputs may overlap in Wasm memory, but each gets
 *  its own copy, so eight of them could ask for eight times the memory. */
const SCRATCH_MAX = TSBPF_FIXUP_MAX_LEN;
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
  private scratchBuf: Scratch | undefined;
  private readonly fixups = new Fixups();
  private readonly place = new Uint32Array(8);
  private readonly zeroCopy: boolean;
  /** The view of Wasm memory memBase belongs to; a grown memory gets new views. (Comparing
   *  views, not buffers: TypedArray.prototype.buffer is a slow call.) */
  private memView: Uint8Array | undefined;
  private memBase = 0;

  /** `zeroCopy: false` forces the copy path (tests; runtimes whose Wasm memory may move). */
  constructor(
    readonly native: Native,
    opts: { zeroCopy?: boolean } = {},
  ) {
    this.zeroCopy = opts.zeroCopy ?? true;
  }

  private get scratch(): Scratch {
    this.scratchBuf ??= new Scratch(new ArrayBuffer(SCRATCH_INITIAL), this.native);
    return this.scratchBuf;
  }

  private set scratch(s: Scratch) {
    this.scratchBuf = s;
  }

  /** The native address of Wasm memory, or -1 when the runtime cannot give it. */
  private baseOf(view: Uint8Array): number {
    if (view !== this.memView) {
      this.memView = view;
      try {
        this.memBase = this.zeroCopy ? this.native.addressOf(view.buffer as ArrayBuffer) : -1;
      } catch {
        this.memBase = -1;
      }
      if (!(this.memBase > 0)) this.memBase = -1;
    }
    return this.memBase;
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
    const base = this.baseOf(w8);
    let r = base < 0 ? this.copied(w8, w32, cmd, attrPtr, attrSize) : this.inPlace(w8, w32, base, cmd, attrPtr, attrSize);
    if (r >= 0 && r < 3 && RETURNS_FD[cmd] === 1) r = this.moveAboveStdio(r);
    return r;
  }

  /** Zero-copy: the kernel works on Wasm memory through patched pointer fields. */
  private inPlace(w8: Uint8Array, w32: Uint32Array, base: number, cmd: number, attrPtr: number, attrSize: number): number {
    const f = this.fixups;
    const n = f.count;
    for (let i = 0; i < n; i++) {
      if (f.dir[i] !== TSBPF_FIXUP_OUT) continue;
      const p = f.ptr[i]!;
      const len = f.len[i]!;
      if (len <= 32) for (let j = 0; j < len; j++) w8[p + j] = 0;
      else w8.fill(0, p, p + len);
    }
    // Patch after zeroing: a nested pointer may live in an output buffer.
    for (let i = 0; i < n; i++) {
      const p = f.parent[i]!;
      const word = ((p < 0 ? attrPtr : f.ptr[p]!) + f.attrOff[i]!) >>> 2;
      const addr = base + f.ptr[i]!;
      w32[word] = addr >>> 0;
      w32[word + 1] = (addr / 0x100000000) >>> 0;
    }
    const r = this.native.bpf(cmd, base + attrPtr, attrSize);
    for (let i = 0; i < n; i++) {
      const p = f.parent[i]!;
      const word = ((p < 0 ? attrPtr : f.ptr[p]!) + f.attrOff[i]!) >>> 2;
      w32[word] = f.ptr[i]!;
      w32[word + 1] = 0;
    }
    return r;
  }

  /** Copy path: attr and buffers go through native scratch memory. */
  private copied(w8: Uint8Array, w32: Uint32Array, cmd: number, attrPtr: number, attrSize: number): number {
    const f = this.fixups;
    const n = f.count;

    // Layout: the attr first, then each buffer 8-byte aligned.
    let total = TSBPF_ATTR_MAX;
    for (let i = 0; i < n; i++) {
      this.place[i] = total;
      total += align8(f.len[i]!);
    }
    if (total > SCRATCH_MAX)
      throw new BpfError({
        command: commandName(cmd),
        errno: 12 /* ENOMEM */,
        reason: `the request needs ${total} bytes of native scratch memory, more than the copy bridge allows (${SCRATCH_MAX}); nothing was copied`,
        advice: 'use the zero-copy bridge (unset TSBPF_BRIDGE), or send smaller buffers',
      });
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

    const r = this.native.bpf(cmd, s.addr, attrSize);

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
    return r;
  }

  /**
   * A request replayed without the core: the attr is copied once into native memory the
   * prepared request owns, its pointer fields patched with the native addresses of the
   * Wasm buffers (zero-copy), and each run() is one bpf(2) call. Only plain element
   * requests qualify: no nested fix-ups, no new fds, and a runtime that can give the
   * address of Wasm memory.
   */
  prepare(mem: WasmMemory, cmd: number, attrPtr: number, attrSize: number, fixupsPtr: number, nFixups: number): PreparedRequest | undefined {
    const f = new Fixups();
    const w8 = mem.u8;
    validateRequest(mem.u32, w8.length, cmd, attrPtr, attrSize, fixupsPtr, nFixups, f);
    if (RETURNS_FD[cmd] === 1 || this.baseOf(w8) < 0) return undefined;
    for (let i = 0; i < f.count; i++) if (f.parent[i]! >= 0) return undefined;
    return new Replay(this, mem, cmd, w8.slice(attrPtr, attrPtr + attrSize), f);
  }

  /** @internal The native address of Wasm memory for this view (see baseOf). */
  base(view: Uint8Array): number {
    return this.baseOf(view);
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

/** A prepared request: its own copy of the attr, with native pointers into Wasm memory. */
class Replay implements PreparedRequest {
  private readonly buf: ArrayBuffer;
  readonly attr: Uint32Array;
  private readonly addr: number;
  private readonly size: number;
  private view: Uint8Array | undefined;
  private readonly native: Native;
  private readonly offsets: number[] = [];
  private readonly ptrs: number[] = [];

  constructor(
    private readonly host: SyscallHost,
    private readonly mem: WasmMemory,
    private readonly cmd: number,
    attr: Uint8Array,
    f: Fixups,
  ) {
    this.size = attr.length;
    this.native = host.native;
    this.buf = new ArrayBuffer(align8(attr.length));
    new Uint8Array(this.buf).set(attr);
    this.attr = new Uint32Array(this.buf);
    this.addr = host.native.addressOf(this.buf);
    for (let i = 0; i < f.count; i++) {
      this.offsets.push(f.attrOff[i]! >>> 2);
      this.ptrs.push(f.ptr[i]!);
    }
    this.rebase(mem.u8);
  }

  /** Points the fields at Wasm memory's current native address (it may move when memory grows). */
  private rebase(view: Uint8Array): void {
    const base = this.host.base(view);
    if (base < 0) throw new Error('tsbpf: the address of Wasm memory is no longer available');
    for (let i = 0; i < this.offsets.length; i++) {
      const addr = base + this.ptrs[i]!;
      this.attr[this.offsets[i]!] = addr >>> 0;
      this.attr[this.offsets[i]! + 1] = (addr / 0x100000000) >>> 0;
    }
    this.view = view;
  }

  run(): number {
    if (this.mem.u8 !== this.view) this.rebase(this.mem.u8);
    return this.native.bpf(this.cmd, this.addr, this.size);
  }
}
