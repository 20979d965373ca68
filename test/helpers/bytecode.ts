/**
 * Raw BPF bytecode for tests that need instructions the assembler does not build yet (the
 * full assembler is its own piece of work). Each helper returns 8-byte instruction slots.
 */

/** One instruction: opcode, registers, offset and 32-bit immediate, little-endian. */
export function insn(code: number, dst: number, src: number, off: number, imm: number): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  b[0] = code;
  b[1] = ((src & 0xf) << 4) | (dst & 0xf);
  v.setInt16(2, off, true);
  v.setInt32(4, imm, true);
  return b;
}

/** The two slots of a 64-bit immediate load; src 1 (BPF_PSEUDO_MAP_FD) makes imm a map fd. */
export function ldImm64(dst: number, src: number, imm: number): Uint8Array {
  return concat(insn(0x18, dst, src, 0, imm), insn(0, 0, 0, 0, 0));
}

export const movImm = (dst: number, imm: number): Uint8Array => insn(0xb7, dst, 0, 0, imm); // BPF_ALU64|BPF_MOV|BPF_K
export const addImm = (dst: number, imm: number): Uint8Array => insn(0x07, dst, 0, 0, imm); // BPF_ALU64|BPF_ADD|BPF_K
export const call = (helper: number): Uint8Array => insn(0x85, 0, 0, 0, helper); // BPF_JMP|BPF_CALL
export const exit = (): Uint8Array => insn(0x95, 0, 0, 0, 0); // BPF_JMP|BPF_EXIT
/** *(u32 *)(dst + off) = imm */
export const storeImm32 = (dst: number, off: number, imm: number): Uint8Array => insn(0x62, dst, 0, off, imm); // BPF_ST|BPF_MEM|BPF_W

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Helper ids of <linux/bpf.h> the tests call. */
export const BPF_FUNC_get_smp_processor_id = 8;
