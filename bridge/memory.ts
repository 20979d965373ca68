/**
 * Views of the core's WebAssembly memory. Growing the memory detaches the old ArrayBuffer;
 * the core reports every growth through emscripten_notify_memory_growth, which calls
 * refresh(). The getters also notice a detached view (length 0) on their own, which costs
 * far less than asking the Memory object for its buffer on every access.
 */
import type { WasmMemoryObject } from './wasm_api.js';

export class WasmMemory {
  private _u8: Uint8Array;
  private _u32: Uint32Array;
  private _dv: DataView;

  constructor(readonly memory: WasmMemoryObject) {
    const buf = memory.buffer;
    this._u8 = new Uint8Array(buf);
    this._u32 = new Uint32Array(buf);
    this._dv = new DataView(buf);
  }

  /** Rebuilds the views over the current buffer. */
  refresh(): void {
    const buf = this.memory.buffer;
    if (buf === this._u8.buffer) return;
    this._u8 = new Uint8Array(buf);
    this._u32 = new Uint32Array(buf);
    this._dv = new DataView(buf);
  }

  get u8(): Uint8Array {
    if (this._u8.length === 0) this.refresh();
    return this._u8;
  }

  get u32(): Uint32Array {
    if (this._u8.length === 0) this.refresh();
    return this._u32;
  }

  get dv(): DataView {
    if (this._u8.length === 0) this.refresh();
    return this._dv;
  }

  /** Current size of Wasm memory in bytes. */
  get byteLength(): number {
    return this.u8.length;
  }
}

/**
 * Copies len bytes between two buffers, each given as byte and word views over the same
 * ArrayBuffer. Aligned copies move 32-bit words; small copies avoid subarray()+set(),
 * whose allocation costs more than the copy itself for the buffers most requests carry.
 */
export function copyBytes(
  d8: Uint8Array,
  d32: Uint32Array,
  dstOff: number,
  s8: Uint8Array,
  s32: Uint32Array,
  srcOff: number,
  len: number,
): void {
  if (len > 96) {
    d8.set(s8.subarray(srcOff, srcOff + len), dstOff);
    return;
  }
  let i = 0;
  if (((dstOff | srcOff) & 3) === 0) {
    const words = len >>> 2;
    const dw = dstOff >>> 2;
    const sw = srcOff >>> 2;
    for (; i < words; i++) d32[dw + i] = s32[sw + i]!;
    i <<= 2;
  }
  for (; i < len; i++) d8[dstOff + i] = s8[srcOff + i]!;
}
