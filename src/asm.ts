/**
 * The assembler: registers, builders named after the operation, and assemble(), which the
 * core turns into bytecode. Builders only gather operands; the core encodes and validates.
 */
import {
  TSBPF_OP_EXIT,
  TSBPF_OP_MOV64_IMM,
  tsbpf_insn,
  type Ptr,
} from '../bridge/generated/abi.js';
import { core } from './runtime.js';

/** A BPF register, r0 to r10. */
export type Register = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10;
export const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5, R6 = 6, R7 = 7, R8 = 8, R9 = 9, R10 = 10;

/** One instruction, as the assembler's builders describe it. */
export class Instruction {
  constructor(
    readonly code: number,
    readonly dst: number,
    readonly src: number,
    readonly off: number,
    readonly imm: number | bigint,
  ) {}
}

/** r[dst] = imm (64-bit move of a sign-extended 32-bit immediate). */
export function mov64Imm(dst: Register, imm: number): Instruction {
  return new Instruction(TSBPF_OP_MOV64_IMM, dst, 0, 0, imm);
}

/** Return r0 to the caller. */
export function exit(): Instruction {
  return new Instruction(TSBPF_OP_EXIT, 0, 0, 0, 0);
}

/** Encodes instructions into kernel bytecode (8 bytes per slot). */
export function assemble(insns: readonly Instruction[]): Uint8Array {
  const c = core();
  c.resetArena();
  const inPtr = c.stageAlloc(insns.length * tsbpf_insn.$size);
  const dv = c.mem.dv;
  insns.forEach((insn, i) => {
    const p = inPtr + i * tsbpf_insn.$size;
    dv.setUint8(p + tsbpf_insn.code.off, insn.code);
    dv.setUint8(p + tsbpf_insn.dst.off, insn.dst);
    dv.setUint8(p + tsbpf_insn.src.off, insn.src);
    dv.setUint8(p + tsbpf_insn.pad.off, 0);
    dv.setInt16(p + tsbpf_insn.off.off, insn.off, true);
    dv.setUint16(p + tsbpf_insn.pad2.off, 0, true);
    dv.setBigInt64(p + tsbpf_insn.imm.off, BigInt(insn.imm), true);
  });
  const cap = insns.length * 16;
  const outPtr = c.stageAlloc(cap);
  const n = c.check(
    c.fn.tsbpf_insns_encode(inPtr as Ptr<'tsbpf_insn'>, insns.length, outPtr as Ptr<'uint8_t'>, cap),
    'cannot assemble',
  );
  return new Uint8Array(c.bytes(outPtr, n));
}

export { Helper, HelperNames } from './generated/uapi.js';
