/**
 * The assembler: registers, a builder for every instruction of the BPF instruction set
 * (named after the operation, as cilium/ebpf's asm package names them), labels, and the
 * core's assembly, decoding, disassembly and program tag.
 *
 * Builders only gather operands. The core (core/src/insn*.c, with the one opcode table)
 * encodes, validates and resolves labels and map names, so a bad operand is reported by
 * assemble() with the index of the instruction and the reason.
 *
 * Kernel minimums: the base instruction set needs Linux 3.18 (BPF_PROG_LOAD); JMP32
 * jumps 5.1; backward jumps (bounded loops) 5.3; bpf-to-bpf calls 4.16; atomic fetch,
 * xchg, cmpxchg and atomic and/or/xor 5.12; kfunc calls 5.13; ld_imm64 of a function 5.13;
 * the ISA v4 instructions (sdiv, smod, movsx, bswap, gotol, sign-extending loads) 6.6;
 * may_goto 6.9; stores of an immediate (st) are old but clang emits them only since v4.
 */
import * as abi from '../bridge/generated/abi.js';
import {
  tsbpf_asm_map as MapLayout,
  tsbpf_asm_opts as AsmOpts,
  tsbpf_decode_opts as DecodeOpts,
  tsbpf_insn as Layout,
  type Ptr,
} from '../bridge/generated/abi.js';
import type { Core } from '../bridge/core.js';
import { BpfError } from './errors.js';
import { core } from './runtime.js';
import { checkKeys, describe, invalid } from './validate.js';

export { Helper, HelperNames } from './generated/uapi.js';

// ---- registers ----------------------------------------------------------------------------

/** A BPF register: r0 (return value), r1-r5 (arguments), r6-r9 (callee-saved), r10 (frame pointer). */
export type Register = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10;
export const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5, R6 = 6, R7 = 7, R8 = 8, R9 = 9, R10 = 10;
/** The read-only frame pointer, r10. */
export const RFP = 10;

/** Every opcode byte of the instruction set, by name (ADD64_IMM, JEQ32_REG, LDXS_B, ...). */
export const Opcode = Object.freeze(
  Object.fromEntries(
    Object.entries(abi)
      .filter(([k]) => k.startsWith('TSBPF_OP_'))
      .map(([k, v]) => [k.slice('TSBPF_OP_'.length), v]),
  ),
) as { readonly [K in keyof typeof abi as K extends `TSBPF_OP_${infer N}` ? N : never]: number };

/** Anything that holds an open map fd: a BpfMap, or `{ fd }` of a map opened elsewhere. */
export interface MapLike {
  readonly fd: number;
}

/** Where a jump or call goes: a label's name, or an offset in instructions from the next one. */
export type Target = string | number;

/** Options of the printed syntax. */
export interface TextOptions {
  /** Immediates and offsets in hex, as `llvm-objdump --print-imm-hex` prints them. */
  hex?: boolean;
  /** w registers for 8- to 32-bit loads and stores, as `llvm-objdump --mattr=+alu32` prints them. */
  alu32?: boolean;
}

const TEXT_KEYS = ['hex', 'alu32'] as const;

// ---- instructions -------------------------------------------------------------------------

/**
 * One instruction: the fields of the kernel's struct bpf_insn, with ld_imm64 as one
 * instruction of width 2 whose `imm` is a bigint (every other `imm` is a number). A jump,
 * call or ld_imm64 may name a label or map in `symbol` instead of giving the number; the
 * core resolves it in assemble().
 */
export class Instruction {
  constructor(
    readonly code: number,
    readonly dst: number,
    readonly src: number,
    readonly off: number,
    readonly imm: number | bigint,
    /** The label a jump or call targets, or the map an ld_imm64 names. */
    readonly symbol: string | undefined = undefined,
    /** A map given as an object: its fd is read when the program is assembled. */
    readonly map: MapLike | undefined = undefined,
  ) {}

  /** Slots the instruction takes in bytecode: 2 for ld_imm64, 0 for a label, else 1. */
  get width(): 0 | 1 | 2 {
    return this.code === abi.TSBPF_OP_LD_IMM64 ? 2 : 1;
  }

  /** True for a label definition. */
  get isLabel(): boolean {
    return false;
  }

  /** The instruction in llvm-objdump's syntax (`r0 = 42`, `if r1 > 5 goto <out>`). */
  toString(opts: TextOptions = {}): string {
    return formatOne(this, textFlags('asm.format', opts));
  }
}

/** A label: names the instruction that follows it, for jumps, calls and ld_imm64 of a function. */
export class Label extends Instruction {
  constructor(readonly name: string) {
    super(0, 0, 0, 0, 0, name);
  }

  override get width(): 0 | 1 | 2 {
    return 0;
  }

  override get isLabel(): boolean {
    return true;
  }
}

/** An error about one instruction: `index` is its position (in the array given to assemble(),
 * or the 8-byte slot of decoded bytecode). */
export class InstructionError extends BpfError {
  readonly index: number;

  constructor(command: string, errno: number, reason: string, index: number) {
    super({ command, errno, reason, advice: '' });
    this.name = 'InstructionError';
    this.index = index;
  }
}

/** Defines a label for the next instruction. */
export function label(name: string): Label {
  return new Label(name);
}

/** Any instruction from its raw fields (the core still validates it). */
export function raw(code: number, dst: number, src: number, off: number, imm: number | bigint): Instruction {
  return new Instruction(code, dst, src, off, code === abi.TSBPF_OP_LD_IMM64 ? BigInt(imm) : imm);
}

// ---- ALU ----------------------------------------------------------------------------------

type ImmBuilder = (dst: Register, imm: number) => Instruction;
type RegBuilder = (dst: Register, src: Register) => Instruction;
const aluImm = (code: number, off = 0): ImmBuilder => (dst, imm) => new Instruction(code, dst, 0, off, imm);
const aluReg = (code: number, off = 0): RegBuilder => (dst, src) => new Instruction(code, dst, src, off, 0);
const signed = abi.TSBPF_OFF_SIGNED;

/** dst += imm */ export const add64Imm = aluImm(abi.TSBPF_OP_ADD64_IMM);
/** dst += src */ export const add64Reg = aluReg(abi.TSBPF_OP_ADD64_REG);
/** dst -= imm */ export const sub64Imm = aluImm(abi.TSBPF_OP_SUB64_IMM);
/** dst -= src */ export const sub64Reg = aluReg(abi.TSBPF_OP_SUB64_REG);
/** dst *= imm */ export const mul64Imm = aluImm(abi.TSBPF_OP_MUL64_IMM);
/** dst *= src */ export const mul64Reg = aluReg(abi.TSBPF_OP_MUL64_REG);
/** dst /= imm, unsigned */ export const div64Imm = aluImm(abi.TSBPF_OP_DIV64_IMM);
/** dst /= src, unsigned */ export const div64Reg = aluReg(abi.TSBPF_OP_DIV64_REG);
/** dst s/= imm, signed (Linux 6.6) */ export const sdiv64Imm = aluImm(abi.TSBPF_OP_DIV64_IMM, signed);
/** dst s/= src, signed (Linux 6.6) */ export const sdiv64Reg = aluReg(abi.TSBPF_OP_DIV64_REG, signed);
/** dst |= imm */ export const or64Imm = aluImm(abi.TSBPF_OP_OR64_IMM);
/** dst |= src */ export const or64Reg = aluReg(abi.TSBPF_OP_OR64_REG);
/** dst &= imm */ export const and64Imm = aluImm(abi.TSBPF_OP_AND64_IMM);
/** dst &= src */ export const and64Reg = aluReg(abi.TSBPF_OP_AND64_REG);
/** dst <<= imm */ export const lsh64Imm = aluImm(abi.TSBPF_OP_LSH64_IMM);
/** dst <<= src */ export const lsh64Reg = aluReg(abi.TSBPF_OP_LSH64_REG);
/** dst >>= imm, logical */ export const rsh64Imm = aluImm(abi.TSBPF_OP_RSH64_IMM);
/** dst >>= src, logical */ export const rsh64Reg = aluReg(abi.TSBPF_OP_RSH64_REG);
/** dst %= imm, unsigned */ export const mod64Imm = aluImm(abi.TSBPF_OP_MOD64_IMM);
/** dst %= src, unsigned */ export const mod64Reg = aluReg(abi.TSBPF_OP_MOD64_REG);
/** dst s%= imm, signed (Linux 6.6) */ export const smod64Imm = aluImm(abi.TSBPF_OP_MOD64_IMM, signed);
/** dst s%= src, signed (Linux 6.6) */ export const smod64Reg = aluReg(abi.TSBPF_OP_MOD64_REG, signed);
/** dst ^= imm */ export const xor64Imm = aluImm(abi.TSBPF_OP_XOR64_IMM);
/** dst ^= src */ export const xor64Reg = aluReg(abi.TSBPF_OP_XOR64_REG);
/** dst = imm, sign-extended to 64 bits */ export const mov64Imm = aluImm(abi.TSBPF_OP_MOV64_IMM);
/** dst = src */ export const mov64Reg = aluReg(abi.TSBPF_OP_MOV64_REG);
/** dst s>>= imm, arithmetic */ export const arsh64Imm = aluImm(abi.TSBPF_OP_ARSH64_IMM);
/** dst s>>= src, arithmetic */ export const arsh64Reg = aluReg(abi.TSBPF_OP_ARSH64_REG);
/** wdst += imm */ export const add32Imm = aluImm(abi.TSBPF_OP_ADD32_IMM);
/** wdst += wsrc */ export const add32Reg = aluReg(abi.TSBPF_OP_ADD32_REG);
/** wdst -= imm */ export const sub32Imm = aluImm(abi.TSBPF_OP_SUB32_IMM);
/** wdst -= wsrc */ export const sub32Reg = aluReg(abi.TSBPF_OP_SUB32_REG);
/** wdst *= imm */ export const mul32Imm = aluImm(abi.TSBPF_OP_MUL32_IMM);
/** wdst *= wsrc */ export const mul32Reg = aluReg(abi.TSBPF_OP_MUL32_REG);
/** wdst /= imm, unsigned */ export const div32Imm = aluImm(abi.TSBPF_OP_DIV32_IMM);
/** wdst /= wsrc, unsigned */ export const div32Reg = aluReg(abi.TSBPF_OP_DIV32_REG);
/** wdst s/= imm, signed (Linux 6.6) */ export const sdiv32Imm = aluImm(abi.TSBPF_OP_DIV32_IMM, signed);
/** wdst s/= wsrc, signed (Linux 6.6) */ export const sdiv32Reg = aluReg(abi.TSBPF_OP_DIV32_REG, signed);
/** wdst |= imm */ export const or32Imm = aluImm(abi.TSBPF_OP_OR32_IMM);
/** wdst |= wsrc */ export const or32Reg = aluReg(abi.TSBPF_OP_OR32_REG);
/** wdst &= imm */ export const and32Imm = aluImm(abi.TSBPF_OP_AND32_IMM);
/** wdst &= wsrc */ export const and32Reg = aluReg(abi.TSBPF_OP_AND32_REG);
/** wdst <<= imm */ export const lsh32Imm = aluImm(abi.TSBPF_OP_LSH32_IMM);
/** wdst <<= wsrc */ export const lsh32Reg = aluReg(abi.TSBPF_OP_LSH32_REG);
/** wdst >>= imm, logical */ export const rsh32Imm = aluImm(abi.TSBPF_OP_RSH32_IMM);
/** wdst >>= wsrc, logical */ export const rsh32Reg = aluReg(abi.TSBPF_OP_RSH32_REG);
/** wdst %= imm, unsigned */ export const mod32Imm = aluImm(abi.TSBPF_OP_MOD32_IMM);
/** wdst %= wsrc, unsigned */ export const mod32Reg = aluReg(abi.TSBPF_OP_MOD32_REG);
/** wdst s%= imm, signed (Linux 6.6) */ export const smod32Imm = aluImm(abi.TSBPF_OP_MOD32_IMM, signed);
/** wdst s%= wsrc, signed (Linux 6.6) */ export const smod32Reg = aluReg(abi.TSBPF_OP_MOD32_REG, signed);
/** wdst ^= imm */ export const xor32Imm = aluImm(abi.TSBPF_OP_XOR32_IMM);
/** wdst ^= wsrc */ export const xor32Reg = aluReg(abi.TSBPF_OP_XOR32_REG);
/** wdst = imm (the upper half of dst becomes zero) */ export const mov32Imm = aluImm(abi.TSBPF_OP_MOV32_IMM);
/** wdst = wsrc (the upper half of dst becomes zero) */ export const mov32Reg = aluReg(abi.TSBPF_OP_MOV32_REG);
/** wdst s>>= imm, arithmetic */ export const arsh32Imm = aluImm(abi.TSBPF_OP_ARSH32_IMM);
/** wdst s>>= wsrc, arithmetic */ export const arsh32Reg = aluReg(abi.TSBPF_OP_ARSH32_REG);

/** dst = -dst */
export function neg64(dst: Register): Instruction {
  return new Instruction(abi.TSBPF_OP_NEG64, dst, 0, 0, 0);
}

/** wdst = -wdst */
export function neg32(dst: Register): Instruction {
  return new Instruction(abi.TSBPF_OP_NEG32, dst, 0, 0, 0);
}

/** dst = (s8|s16|s32) src: the low `bits` of src, sign-extended to 64 bits (Linux 6.6). */
export function movsx64Reg(dst: Register, src: Register, bits: 8 | 16 | 32): Instruction {
  return new Instruction(abi.TSBPF_OP_MOV64_REG, dst, src, bits, 0);
}

/** wdst = (s8|s16) wsrc: the low `bits` of src, sign-extended to 32 bits (Linux 6.6). */
export function movsx32Reg(dst: Register, src: Register, bits: 8 | 16): Instruction {
  return new Instruction(abi.TSBPF_OP_MOV32_REG, dst, src, bits, 0);
}

const endian = (code: number, bits: 16 | 32 | 64) => (dst: Register) => new Instruction(code, dst, 0, 0, bits);
/** dst = htole16(dst): the low 16 bits, zero-extended (a no-op swap on little-endian hosts) */
export const le16 = endian(abi.TSBPF_OP_LE, 16);
/** dst = htole32(dst) */ export const le32 = endian(abi.TSBPF_OP_LE, 32);
/** dst = htole64(dst) */ export const le64 = endian(abi.TSBPF_OP_LE, 64);
/** dst = htobe16(dst) */ export const be16 = endian(abi.TSBPF_OP_BE, 16);
/** dst = htobe32(dst) */ export const be32 = endian(abi.TSBPF_OP_BE, 32);
/** dst = htobe64(dst) */ export const be64 = endian(abi.TSBPF_OP_BE, 64);
/** dst = bswap16(dst), unconditional byte swap (Linux 6.6) */ export const bswap16 = endian(abi.TSBPF_OP_BSWAP, 16);
/** dst = bswap32(dst) (Linux 6.6) */ export const bswap32 = endian(abi.TSBPF_OP_BSWAP, 32);
/** dst = bswap64(dst) (Linux 6.6) */ export const bswap64 = endian(abi.TSBPF_OP_BSWAP, 64);

// ---- jumps and calls ----------------------------------------------------------------------

const target = (t: Target): { off: number; symbol: string | undefined } =>
  typeof t === 'string' ? { off: 0, symbol: t } : { off: t, symbol: undefined };
type JmpImm = (dst: Register, imm: number, to: Target) => Instruction;
type JmpReg = (dst: Register, src: Register, to: Target) => Instruction;
const jmpImm = (code: number): JmpImm => (dst, imm, to) => {
  const t = target(to);
  return new Instruction(code, dst, 0, t.off, imm, t.symbol);
};
const jmpReg = (code: number): JmpReg => (dst, src, to) => {
  const t = target(to);
  return new Instruction(code, dst, src, t.off, 0, t.symbol);
};

/** if dst == imm goto to */ export const jeqImm = jmpImm(abi.TSBPF_OP_JEQ_IMM);
/** if dst == src goto to */ export const jeqReg = jmpReg(abi.TSBPF_OP_JEQ_REG);
/** if dst > imm goto to (unsigned) */ export const jgtImm = jmpImm(abi.TSBPF_OP_JGT_IMM);
/** if dst > src goto to (unsigned) */ export const jgtReg = jmpReg(abi.TSBPF_OP_JGT_REG);
/** if dst >= imm goto to (unsigned) */ export const jgeImm = jmpImm(abi.TSBPF_OP_JGE_IMM);
/** if dst >= src goto to (unsigned) */ export const jgeReg = jmpReg(abi.TSBPF_OP_JGE_REG);
/** if dst & imm goto to */ export const jsetImm = jmpImm(abi.TSBPF_OP_JSET_IMM);
/** if dst & src goto to */ export const jsetReg = jmpReg(abi.TSBPF_OP_JSET_REG);
/** if dst != imm goto to */ export const jneImm = jmpImm(abi.TSBPF_OP_JNE_IMM);
/** if dst != src goto to */ export const jneReg = jmpReg(abi.TSBPF_OP_JNE_REG);
/** if dst s> imm goto to (signed) */ export const jsgtImm = jmpImm(abi.TSBPF_OP_JSGT_IMM);
/** if dst s> src goto to (signed) */ export const jsgtReg = jmpReg(abi.TSBPF_OP_JSGT_REG);
/** if dst s>= imm goto to (signed) */ export const jsgeImm = jmpImm(abi.TSBPF_OP_JSGE_IMM);
/** if dst s>= src goto to (signed) */ export const jsgeReg = jmpReg(abi.TSBPF_OP_JSGE_REG);
/** if dst < imm goto to (unsigned) */ export const jltImm = jmpImm(abi.TSBPF_OP_JLT_IMM);
/** if dst < src goto to (unsigned) */ export const jltReg = jmpReg(abi.TSBPF_OP_JLT_REG);
/** if dst <= imm goto to (unsigned) */ export const jleImm = jmpImm(abi.TSBPF_OP_JLE_IMM);
/** if dst <= src goto to (unsigned) */ export const jleReg = jmpReg(abi.TSBPF_OP_JLE_REG);
/** if dst s< imm goto to (signed) */ export const jsltImm = jmpImm(abi.TSBPF_OP_JSLT_IMM);
/** if dst s< src goto to (signed) */ export const jsltReg = jmpReg(abi.TSBPF_OP_JSLT_REG);
/** if dst s<= imm goto to (signed) */ export const jsleImm = jmpImm(abi.TSBPF_OP_JSLE_IMM);
/** if dst s<= src goto to (signed) */ export const jsleReg = jmpReg(abi.TSBPF_OP_JSLE_REG);
/** if wdst == imm goto to (Linux 5.1) */ export const jeq32Imm = jmpImm(abi.TSBPF_OP_JEQ32_IMM);
/** if wdst == wsrc goto to (Linux 5.1) */ export const jeq32Reg = jmpReg(abi.TSBPF_OP_JEQ32_REG);
/** if wdst > imm goto to (Linux 5.1) */ export const jgt32Imm = jmpImm(abi.TSBPF_OP_JGT32_IMM);
/** if wdst > wsrc goto to (Linux 5.1) */ export const jgt32Reg = jmpReg(abi.TSBPF_OP_JGT32_REG);
/** if wdst >= imm goto to (Linux 5.1) */ export const jge32Imm = jmpImm(abi.TSBPF_OP_JGE32_IMM);
/** if wdst >= wsrc goto to (Linux 5.1) */ export const jge32Reg = jmpReg(abi.TSBPF_OP_JGE32_REG);
/** if wdst & imm goto to (Linux 5.1) */ export const jset32Imm = jmpImm(abi.TSBPF_OP_JSET32_IMM);
/** if wdst & wsrc goto to (Linux 5.1) */ export const jset32Reg = jmpReg(abi.TSBPF_OP_JSET32_REG);
/** if wdst != imm goto to (Linux 5.1) */ export const jne32Imm = jmpImm(abi.TSBPF_OP_JNE32_IMM);
/** if wdst != wsrc goto to (Linux 5.1) */ export const jne32Reg = jmpReg(abi.TSBPF_OP_JNE32_REG);
/** if wdst s> imm goto to (Linux 5.1) */ export const jsgt32Imm = jmpImm(abi.TSBPF_OP_JSGT32_IMM);
/** if wdst s> wsrc goto to (Linux 5.1) */ export const jsgt32Reg = jmpReg(abi.TSBPF_OP_JSGT32_REG);
/** if wdst s>= imm goto to (Linux 5.1) */ export const jsge32Imm = jmpImm(abi.TSBPF_OP_JSGE32_IMM);
/** if wdst s>= wsrc goto to (Linux 5.1) */ export const jsge32Reg = jmpReg(abi.TSBPF_OP_JSGE32_REG);
/** if wdst < imm goto to (Linux 5.1) */ export const jlt32Imm = jmpImm(abi.TSBPF_OP_JLT32_IMM);
/** if wdst < wsrc goto to (Linux 5.1) */ export const jlt32Reg = jmpReg(abi.TSBPF_OP_JLT32_REG);
/** if wdst <= imm goto to (Linux 5.1) */ export const jle32Imm = jmpImm(abi.TSBPF_OP_JLE32_IMM);
/** if wdst <= wsrc goto to (Linux 5.1) */ export const jle32Reg = jmpReg(abi.TSBPF_OP_JLE32_REG);
/** if wdst s< imm goto to (Linux 5.1) */ export const jslt32Imm = jmpImm(abi.TSBPF_OP_JSLT32_IMM);
/** if wdst s< wsrc goto to (Linux 5.1) */ export const jslt32Reg = jmpReg(abi.TSBPF_OP_JSLT32_REG);
/** if wdst s<= imm goto to (Linux 5.1) */ export const jsle32Imm = jmpImm(abi.TSBPF_OP_JSLE32_IMM);
/** if wdst s<= wsrc goto to (Linux 5.1) */ export const jsle32Reg = jmpReg(abi.TSBPF_OP_JSLE32_REG);

/** goto to: an unconditional jump within 16-bit reach. */
export function ja(to: Target): Instruction {
  const t = target(to);
  return new Instruction(abi.TSBPF_OP_JA, 0, 0, t.off, 0, t.symbol);
}

/** gotol to: an unconditional jump with a 32-bit offset (Linux 6.6). */
export function gotol(to: Target): Instruction {
  const t = target(to);
  return new Instruction(abi.TSBPF_OP_GOTOL, 0, 0, 0, t.off, t.symbol);
}

/** may_goto to: jumps once the kernel's loop budget runs out, else falls through (Linux 6.9). */
export function mayGoto(to: Target): Instruction {
  const t = target(to);
  return new Instruction(abi.TSBPF_OP_MAY_GOTO, 0, 0, t.off, 0, t.symbol);
}

/**
 * call fn: a helper by id (`asm.Helper.mapLookupElem`), or the subprogram at a label
 * (a bpf-to-bpf call, Linux 4.16). Arguments go in r1-r5, the result comes back in r0.
 */
export function call(fn: number | string): Instruction {
  return typeof fn === 'string' ? callSubprog(fn) : new Instruction(abi.TSBPF_OP_CALL, 0, abi.TSBPF_CALL_HELPER, 0, fn);
}

/** call the subprogram at a label, or `offset` instructions after the next one (a bpf-to-bpf call, Linux 4.16). */
export function callSubprog(to: Target): Instruction {
  const t = target(to);
  return new Instruction(abi.TSBPF_OP_CALL, 0, abi.TSBPF_CALL_SUBPROG, 0, t.off, t.symbol);
}

/** call a kernel function by its BTF id; `module` is its BTF's index in fd_array, 0 for vmlinux (Linux 5.13). */
export function callKfunc(btfId: number, module = 0): Instruction {
  return new Instruction(abi.TSBPF_OP_CALL, 0, abi.TSBPF_CALL_KFUNC, module, btfId);
}

/** Return r0 to the caller. */
export function exit(): Instruction {
  return new Instruction(abi.TSBPF_OP_EXIT, 0, 0, 0, 0);
}

// ---- 64-bit immediates --------------------------------------------------------------------

const U32 = 0x1_0000_0000n;
const lddw = (dst: Register, src: number, imm: bigint | number, symbol?: string, map?: MapLike) =>
  new Instruction(abi.TSBPF_OP_LD_IMM64, dst, src, 0, imm, symbol, map);
const u32 = (what: string, v: number): bigint => {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw invalid('asm', `${what} must be a u32, got ${describe(v)}`);
  return BigInt(v);
};

/** dst = imm, a 64-bit constant (two instruction slots). */
export function ldImm64(dst: Register, imm: number | bigint): Instruction {
  const v = BigInt(imm);
  // Unsigned 64-bit constants are accepted and kept in the signed form decode() returns.
  return lddw(dst, abi.TSBPF_LD_IMM, v >= 0n && v < 1n << 64n ? BigInt.asIntN(64, v) : v);
}

/** dst = the map itself, for helpers taking a map: a name resolved by assemble()'s `maps`, or a map object. */
export function ldMapFd(dst: Register, map: string | MapLike): Instruction {
  return typeof map === 'string' ? lddw(dst, abi.TSBPF_LD_MAP_FD, 0n, map) : lddw(dst, abi.TSBPF_LD_MAP_FD, 0n, undefined, map);
}

/** dst = address of the first value of an array map, plus `offset` bytes (Linux 5.2). */
export function ldMapValue(dst: Register, map: string | MapLike, offset = 0): Instruction {
  const imm = u32('the map value offset', offset) << 32n;
  return typeof map === 'string'
    ? lddw(dst, abi.TSBPF_LD_MAP_VALUE, imm, map)
    : lddw(dst, abi.TSBPF_LD_MAP_VALUE, imm, undefined, map);
}

/** dst = address of the kernel variable with this BTF id; `moduleFd` is its module's BTF fd, 0 for vmlinux (Linux 5.10). */
export function ldBtfId(dst: Register, btfId: number, moduleFd = 0): Instruction {
  return lddw(dst, abi.TSBPF_LD_BTF_ID, BigInt.asIntN(64, (u32('moduleFd', moduleFd) << 32n) | u32('btfId', btfId)));
}

/** dst = address of the subprogram at a label, for callbacks such as bpf_loop (Linux 5.13). */
export function ldFunc(dst: Register, to: Target): Instruction {
  const t = target(to);
  // The offset is the low half of imm, as decode() reads it back.
  return lddw(dst, abi.TSBPF_LD_FUNC, Number.isSafeInteger(t.off) ? BigInt.asUintN(32, BigInt(t.off)) : t.off, t.symbol);
}

/** dst = the map at `index` of the program's fd_array (Linux 5.14). */
export function ldMapIdx(dst: Register, index: number): Instruction {
  return lddw(dst, abi.TSBPF_LD_MAP_IDX, u32('index', index));
}

/** dst = address of the value of the map at `index` of fd_array, plus `offset` (Linux 5.14). */
export function ldMapIdxValue(dst: Register, index: number, offset = 0): Instruction {
  return lddw(dst, abi.TSBPF_LD_MAP_IDX_VALUE, BigInt.asIntN(64, (u32('offset', offset) << 32n) | u32('index', index)));
}

// ---- legacy packet loads ------------------------------------------------------------------

/** r0 = *(u8 *)skb[imm], big-endian packet byte (socket filters; r6 must hold the context). */
export const ldAbsB = (imm: number) => new Instruction(abi.TSBPF_OP_LD_ABS_B, 0, 0, 0, imm);
/** r0 = *(u16 *)skb[imm], converted from network order */ export const ldAbsH = (imm: number) => new Instruction(abi.TSBPF_OP_LD_ABS_H, 0, 0, 0, imm);
/** r0 = *(u32 *)skb[imm], converted from network order */ export const ldAbsW = (imm: number) => new Instruction(abi.TSBPF_OP_LD_ABS_W, 0, 0, 0, imm);
/** r0 = *(u8 *)skb[src + imm] */ export const ldIndB = (src: Register, imm = 0) => new Instruction(abi.TSBPF_OP_LD_IND_B, 0, src, 0, imm);
/** r0 = *(u16 *)skb[src + imm] */ export const ldIndH = (src: Register, imm = 0) => new Instruction(abi.TSBPF_OP_LD_IND_H, 0, src, 0, imm);
/** r0 = *(u32 *)skb[src + imm] */ export const ldIndW = (src: Register, imm = 0) => new Instruction(abi.TSBPF_OP_LD_IND_W, 0, src, 0, imm);

// ---- memory -------------------------------------------------------------------------------

type Load = (dst: Register, src: Register, off: number) => Instruction;
type Store = (dst: Register, off: number, imm: number) => Instruction;
type StoreReg = (dst: Register, src: Register, off: number) => Instruction;
const ldx = (code: number): Load => (dst, src, off) => new Instruction(code, dst, src, off, 0);
const st = (code: number): Store => (dst, off, imm) => new Instruction(code, dst, 0, off, imm);
const stx = (code: number): StoreReg => (dst, src, off) => new Instruction(code, dst, src, off, 0);

/** dst = *(u8 *)(src + off) */ export const ldxB = ldx(abi.TSBPF_OP_LDX_B);
/** dst = *(u16 *)(src + off) */ export const ldxH = ldx(abi.TSBPF_OP_LDX_H);
/** dst = *(u32 *)(src + off) */ export const ldxW = ldx(abi.TSBPF_OP_LDX_W);
/** dst = *(u64 *)(src + off) */ export const ldxDW = ldx(abi.TSBPF_OP_LDX_DW);
/** dst = *(s8 *)(src + off), sign-extended (Linux 6.6) */ export const ldxsB = ldx(abi.TSBPF_OP_LDXS_B);
/** dst = *(s16 *)(src + off), sign-extended (Linux 6.6) */ export const ldxsH = ldx(abi.TSBPF_OP_LDXS_H);
/** dst = *(s32 *)(src + off), sign-extended (Linux 6.6) */ export const ldxsW = ldx(abi.TSBPF_OP_LDXS_W);
/** *(u8 *)(dst + off) = imm */ export const stB = st(abi.TSBPF_OP_ST_B);
/** *(u16 *)(dst + off) = imm */ export const stH = st(abi.TSBPF_OP_ST_H);
/** *(u32 *)(dst + off) = imm */ export const stW = st(abi.TSBPF_OP_ST_W);
/** *(u64 *)(dst + off) = imm, sign-extended */ export const stDW = st(abi.TSBPF_OP_ST_DW);
/** *(u8 *)(dst + off) = src */ export const stxB = stx(abi.TSBPF_OP_STX_B);
/** *(u16 *)(dst + off) = src */ export const stxH = stx(abi.TSBPF_OP_STX_H);
/** *(u32 *)(dst + off) = src */ export const stxW = stx(abi.TSBPF_OP_STX_W);
/** *(u64 *)(dst + off) = src */ export const stxDW = stx(abi.TSBPF_OP_STX_DW);

// ---- atomics ------------------------------------------------------------------------------

const atomic = (code: number, op: number): StoreReg => (dst, src, off) => new Instruction(code, dst, src, off, op);
const A32 = abi.TSBPF_OP_ATOMIC32, A64 = abi.TSBPF_OP_ATOMIC64, FETCH = abi.TSBPF_ATOMIC_FETCH;

/** lock *(u64 *)(dst + off) += src */ export const atomicAdd64 = atomic(A64, abi.TSBPF_ATOMIC_ADD);
/** lock *(u64 *)(dst + off) |= src (Linux 5.12) */ export const atomicOr64 = atomic(A64, abi.TSBPF_ATOMIC_OR);
/** lock *(u64 *)(dst + off) &= src (Linux 5.12) */ export const atomicAnd64 = atomic(A64, abi.TSBPF_ATOMIC_AND);
/** lock *(u64 *)(dst + off) ^= src (Linux 5.12) */ export const atomicXor64 = atomic(A64, abi.TSBPF_ATOMIC_XOR);
/** src = atomic_fetch_add((u64 *)(dst + off), src) (Linux 5.12) */ export const atomicFetchAdd64 = atomic(A64, abi.TSBPF_ATOMIC_ADD | FETCH);
/** src = atomic_fetch_or((u64 *)(dst + off), src) (Linux 5.12) */ export const atomicFetchOr64 = atomic(A64, abi.TSBPF_ATOMIC_OR | FETCH);
/** src = atomic_fetch_and((u64 *)(dst + off), src) (Linux 5.12) */ export const atomicFetchAnd64 = atomic(A64, abi.TSBPF_ATOMIC_AND | FETCH);
/** src = atomic_fetch_xor((u64 *)(dst + off), src) (Linux 5.12) */ export const atomicFetchXor64 = atomic(A64, abi.TSBPF_ATOMIC_XOR | FETCH);
/** src = xchg_64(dst + off, src) (Linux 5.12) */ export const atomicXchg64 = atomic(A64, abi.TSBPF_ATOMIC_XCHG);
/** r0 = cmpxchg_64(dst + off, r0, src): stores src if the value equals r0; r0 gets the old value (Linux 5.12) */
export const atomicCmpXchg64 = atomic(A64, abi.TSBPF_ATOMIC_CMPXCHG);
/** lock *(u32 *)(dst + off) += src */ export const atomicAdd32 = atomic(A32, abi.TSBPF_ATOMIC_ADD);
/** lock *(u32 *)(dst + off) |= src (Linux 5.12) */ export const atomicOr32 = atomic(A32, abi.TSBPF_ATOMIC_OR);
/** lock *(u32 *)(dst + off) &= src (Linux 5.12) */ export const atomicAnd32 = atomic(A32, abi.TSBPF_ATOMIC_AND);
/** lock *(u32 *)(dst + off) ^= src (Linux 5.12) */ export const atomicXor32 = atomic(A32, abi.TSBPF_ATOMIC_XOR);
/** wsrc = atomic_fetch_add((u32 *)(dst + off), wsrc) (Linux 5.12) */ export const atomicFetchAdd32 = atomic(A32, abi.TSBPF_ATOMIC_ADD | FETCH);
/** wsrc = atomic_fetch_or((u32 *)(dst + off), wsrc) (Linux 5.12) */ export const atomicFetchOr32 = atomic(A32, abi.TSBPF_ATOMIC_OR | FETCH);
/** wsrc = atomic_fetch_and((u32 *)(dst + off), wsrc) (Linux 5.12) */ export const atomicFetchAnd32 = atomic(A32, abi.TSBPF_ATOMIC_AND | FETCH);
/** wsrc = atomic_fetch_xor((u32 *)(dst + off), wsrc) (Linux 5.12) */ export const atomicFetchXor32 = atomic(A32, abi.TSBPF_ATOMIC_XOR | FETCH);
/** wsrc = xchg32_32(dst + off, wsrc) (Linux 5.12) */ export const atomicXchg32 = atomic(A32, abi.TSBPF_ATOMIC_XCHG);
/** w0 = cmpxchg32_32(dst + off, w0, wsrc) (Linux 5.12) */ export const atomicCmpXchg32 = atomic(A32, abi.TSBPF_ATOMIC_CMPXCHG);

// ---- the core's side ----------------------------------------------------------------------

/** Options of {@link assemble}. */
export interface AssembleOptions {
  /** The maps ld_imm64 instructions name, by name: a BpfMap or anything with a map `fd`. */
  maps?: Readonly<Record<string, MapLike>>;
  /** A piece of a program: jump and call targets outside it are allowed. */
  fragment?: boolean;
}

const ASSEMBLE_KEYS = ['maps', 'fragment'] as const;
const ASM = 'asm.assemble';

/** Names in a string table whose byte 0 is NUL (offset 0 means "no name"). */
class StringTable {
  private readonly offsets = new Map<string, number>();
  private readonly parts: Buffer[] = [Buffer.alloc(1)];
  private size = 1;

  add(command: string, name: string, what: string): number {
    let off = this.offsets.get(name);
    if (off !== undefined) return off;
    if (typeof name !== 'string' || name.length === 0 || name.includes('\0'))
      throw invalid(command, `${what} must be a non-empty string without NUL, got ${describe(name)}`);
    const bytes = Buffer.from(`${name}\0`, 'utf8');
    off = this.size;
    this.offsets.set(name, off);
    this.parts.push(bytes);
    this.size += bytes.length;
    return off;
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts, this.size);
  }
}

const I32_MAX = 0x7fff_ffff;
const I64_MIN = -(1n << 63n), I64_MAX = (1n << 63n) - 1n;

function field(command: string, i: number, name: string, v: unknown): number {
  if (typeof v === 'number' && (v | 0) === v) return v;
  throw new InstructionError(command, 22, `instruction ${i}: ${name} must be an integer, got ${describe(v)}`, i);
}

/** The immediate as two 32-bit halves [low, high]. */
function immediate(command: string, i: number, insn: Instruction, out: Int32Array, at: number): void {
  let v: number | bigint = insn.imm;
  if (insn.map !== undefined) {
    const fd = insn.map?.fd;
    if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0 || fd > I32_MAX)
      throw new InstructionError(command, 9, `instruction ${i}: the map has no open fd (fd is ${describe(fd)})`, i);
    v = (BigInt(v) & ~(U32 - 1n)) | BigInt(fd);
  }
  if (typeof v === 'number' && (v | 0) === v) {
    out[at] = v;
    out[at + 1] = v < 0 ? -1 : 0;
    return;
  }
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v))
      throw new InstructionError(command, 22, `instruction ${i}: imm must be an integer, got ${describe(v)}`, i);
    v = BigInt(v);
  }
  if (typeof v !== 'bigint')
    throw new InstructionError(command, 22, `instruction ${i}: imm must be an integer, got ${describe(v)}`, i);
  if (v < I64_MIN || v > I64_MAX)
    throw new InstructionError(command, 22, `instruction ${i}: imm ${v} does not fit in 64 bits`, i);
  out[at] = Number(BigInt.asIntN(32, v));
  out[at + 1] = Number(BigInt.asIntN(32, v >> 32n));
}

// struct tsbpf_insn as 32-bit words of the (little-endian) Wasm memory; the layout is checked once.
const W = Layout.$size / 4;
const W_CODE = Layout.code.off / 4, W_DST = Layout.dst.off / 4, W_SRC = Layout.src.off / 4, W_OFF = Layout.off.off / 4;
const W_IMM = Layout.imm.off / 4, W_SYM = Layout.sym.off / 4, W_KIND = Layout.kind.off / 4;
if (Layout.kind.off + 2 !== Layout.width.off || Layout.imm.off % 8 !== 0 || Layout.$size % 8 !== 0)
  throw new Error('tsbpf: struct tsbpf_insn has an unexpected layout');

/** Writes instructions as struct tsbpf_insn at p (8-aligned; views taken after every allocation). */
function writeInsns(c: Core, p: number, insns: readonly Instruction[], syms: Uint32Array, command: string): void {
  const words = new Int32Array(c.mem.u8.buffer, p, insns.length * W);
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i]!;
    const q = i * W;
    words[q + W_SYM] = syms[i]!;
    if (insn.isLabel) {
      words[q + W_CODE] = words[q + W_DST] = words[q + W_SRC] = words[q + W_OFF] = 0;
      words[q + W_IMM] = words[q + W_IMM + 1] = 0;
      words[q + W_KIND] = abi.TSBPF_INSN_KIND_LABEL; // kind, and width 0
      continue;
    }
    words[q + W_CODE] = field(command, i, 'code', insn.code);
    words[q + W_DST] = field(command, i, 'dst', insn.dst);
    words[q + W_SRC] = field(command, i, 'src', insn.src);
    words[q + W_OFF] = field(command, i, 'off', insn.off);
    immediate(command, i, insn, words, q + W_IMM);
    words[q + W_KIND] = abi.TSBPF_INSN_KIND_INSN;
  }
}

/** The core's error as a BpfError of `command`, an InstructionError when it names an instruction. */
function coreError(c: Core, ret: number, command: string, index: number): BpfError {
  const e = c.error(ret);
  return index >= 0
    ? new InstructionError(command, e.errno, e.reason, index)
    : new BpfError({ command, errno: e.errno, reason: e.reason, advice: '' });
}

/**
 * Encodes instructions into bytecode (8 bytes per slot), resolving labels, jumps and calls
 * to labels, and maps named in ld_imm64 instructions against `opts.maps`. Throws an
 * InstructionError naming the instruction's index and the reason for an invalid
 * instruction, an undefined label, an unknown map or a target outside the program.
 */
export function assemble(insns: readonly Instruction[], opts: AssembleOptions = {}): Uint8Array {
  checkKeys(ASM, 'AssembleOptions', opts, ASSEMBLE_KEYS);
  if (!Array.isArray(insns)) throw invalid(ASM, `instructions must be an array, got ${describe(insns)}`);
  const strtab = new StringTable();
  const syms = new Uint32Array(insns.length);
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i];
    if (!(insn instanceof Instruction))
      throw new InstructionError(ASM, 22, `instruction ${i} is not an asm instruction: ${describe(insn)}`, i);
    if (insn.symbol !== undefined) syms[i] = strtab.add(ASM, insn.symbol, `instruction ${i}: the label or map name`);
  }
  const maps: [number, number][] = [];
  if (opts.maps !== undefined) {
    if (typeof opts.maps !== 'object' || opts.maps === null) throw invalid(ASM, `"maps" must be an object, got ${describe(opts.maps)}`);
    for (const [name, m] of Object.entries(opts.maps)) {
      const fd = (m as MapLike | undefined)?.fd;
      if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0 || fd > I32_MAX)
        throw invalid(ASM, `"maps.${name}" must have an open map fd, got fd ${describe(fd)}`);
      maps.push([strtab.add(ASM, name, `"maps" key`), fd]);
    }
  }
  const c = core();
  c.resetArena();
  const o = c.struct(AsmOpts);
  const table = strtab.bytes();
  const tablePtr = c.stage(table);
  const insnPtr = c.stageAlloc(insns.length * Layout.$size);
  const mapPtr = c.stageAlloc(maps.length * MapLayout.$size);
  writeInsns(c, insnPtr, insns, syms, ASM);
  const dv = c.mem.dv;
  maps.forEach(([name, fd], k) => {
    dv.setUint32(mapPtr + k * MapLayout.$size + MapLayout.name.off, name, true);
    dv.setInt32(mapPtr + k * MapLayout.$size + MapLayout.fd.off, fd, true);
  });
  c.setU32(o, AsmOpts.flags, opts.fragment ? abi.TSBPF_INSNS_FRAGMENT : 0);
  c.setU32(o, AsmOpts.insns, insnPtr);
  c.setU32(o, AsmOpts.n_insns, insns.length);
  c.setU32(o, AsmOpts.strtab, tablePtr);
  c.setU32(o, AsmOpts.strtab_len, table.length);
  c.setU32(o, AsmOpts.maps, mapPtr);
  c.setU32(o, AsmOpts.n_maps, maps.length);
  const ret = c.fn.tsbpf_insns_assemble(o as Ptr<'tsbpf_asm_opts'>);
  if (ret < 0) throw coreError(c, ret, ASM, c.i32(o, AsmOpts.error_index));
  const p = c.u32(o, AsmOpts.code);
  return c.mem.u8.slice(p, p + c.u32(o, AsmOpts.code_len));
}

/** Options of {@link decode}. */
export interface DecodeOptions {
  /** A piece of a program (an ELF section, say): jump and call targets are not checked. */
  fragment?: boolean;
}

const DECODE = 'asm.decode';
const DISASM = 'asm.disassemble';

function textFlags(command: string, opts: TextOptions): number {
  checkKeys(command, 'TextOptions', opts, TEXT_KEYS);
  return (opts.hex ? abi.TSBPF_INSNS_HEX : 0) | (opts.alu32 ? abi.TSBPF_INSNS_ALU32 : 0);
}

function runDecode(command: string, code: Uint8Array, flags: number): { c: Core; o: number; n: number } {
  if (!(code instanceof Uint8Array)) throw invalid(command, `bytecode must be a Uint8Array, got ${describe(code)}`);
  const c = core();
  c.resetArena();
  const o = c.struct(DecodeOpts);
  const p = code.length ? c.stage(code) : 0;
  c.setU32(o, DecodeOpts.flags, flags);
  c.setU32(o, DecodeOpts.code, p);
  c.setU32(o, DecodeOpts.code_len, code.length);
  const n = c.fn.tsbpf_insns_decode(o as Ptr<'tsbpf_decode_opts'>);
  if (n < 0) throw coreError(c, n, command, c.i32(o, DecodeOpts.error_index));
  return { c, o, n };
}

/**
 * Decodes bytecode into instructions (ld_imm64 becomes one instruction) and validates it:
 * known opcodes, registers r0-r10, reserved fields zero, complete ld_imm64 pairs, and
 * (unless `fragment`) jump and call targets inside the program. Throws an InstructionError
 * naming the 8-byte slot and the reason.
 */
export function decode(code: Uint8Array, opts: DecodeOptions = {}): Instruction[] {
  checkKeys(DECODE, 'DecodeOptions', opts, ['fragment']);
  const { c, o, n } = runDecode(DECODE, code, opts.fragment ? abi.TSBPF_INSNS_FRAGMENT : 0);
  const p = c.u32(o, DecodeOpts.insns);
  const dv = c.mem.dv;
  const out: Instruction[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const q = p + i * Layout.$size;
    const wide = dv.getUint16(q + Layout.width.off, true) === 2;
    out[i] = new Instruction(
      dv.getInt32(q + Layout.code.off, true),
      dv.getInt32(q + Layout.dst.off, true),
      dv.getInt32(q + Layout.src.off, true),
      dv.getInt32(q + Layout.off.off, true),
      wide ? dv.getBigInt64(q + Layout.imm.off, true) : dv.getInt32(q + Layout.imm.off, true),
    );
  }
  return out;
}

/**
 * Disassembles bytecode into llvm-objdump's BPF syntax, one line per instruction (an
 * ld_imm64 is one line). Jump targets are printed, not checked; an invalid instruction
 * throws an InstructionError as decode() does.
 */
export function disassemble(code: Uint8Array, opts: TextOptions = {}): string[] {
  const flags = textFlags(DISASM, opts) | abi.TSBPF_INSNS_TEXT | abi.TSBPF_INSNS_FRAGMENT;
  const { c, o, n } = runDecode(DISASM, code, flags);
  if (n === 0) return [];
  const text = c.cstring(c.u32(o, DecodeOpts.text), c.u32(o, DecodeOpts.text_len));
  return text.slice(0, -1).split('\n');
}

function formatOne(insn: Instruction, flags: number): string {
  const strtab = new StringTable();
  const sym = insn.symbol !== undefined ? strtab.add('asm.format', insn.symbol, 'the label or map name') : 0;
  const c = core();
  c.resetArena();
  const table = strtab.bytes();
  const tablePtr = c.stage(table);
  const p = c.stageAlloc(Layout.$size);
  const out = c.stageAlloc(abi.TSBPF_INSN_TEXT_MAX);
  writeInsns(c, p, [insn], Uint32Array.of(sym), 'asm.format');
  const n = c.fn.tsbpf_insn_format(
    p as Ptr<'tsbpf_insn'>,
    tablePtr as Ptr<'char'>,
    table.length,
    flags,
    out as Ptr<'char'>,
    abi.TSBPF_INSN_TEXT_MAX,
  );
  if (n < 0) throw coreError(c, n, 'asm.format', -1);
  return c.cstring(out, n);
}

/** The hash behind a program tag: 'sha1' before Linux 6.18, 'sha256' since. */
export type TagHash = 'sha1' | 'sha256';

/**
 * The tag the kernel reports for this program (bpftool's "tag", bpf_prog_info.tag), as 16
 * hex digits: the first 8 bytes of the hash of its bytecode with map fds zeroed. The kernel
 * hashes with SHA-1 before Linux 6.18 and SHA-256 since, so pass the kernel's choice.
 */
export function programTag(code: Uint8Array | readonly Instruction[], hash: TagHash, opts: AssembleOptions = {}): string {
  const cmd = 'asm.programTag';
  if (hash !== 'sha1' && hash !== 'sha256') throw invalid(cmd, `hash must be 'sha1' or 'sha256', got ${describe(hash)}`);
  const bytes = code instanceof Uint8Array ? code : assemble(code, opts);
  const c = core();
  c.resetArena();
  const p = bytes.length ? c.stage(bytes) : 0;
  const out = c.stageAlloc(8);
  const ret = c.fn.tsbpf_insns_tag(
    p as Ptr<'uint8_t'>,
    bytes.length,
    hash === 'sha1' ? abi.TSBPF_TAG_SHA1 : abi.TSBPF_TAG_SHA256,
    out as Ptr<'uint8_t'>,
  );
  if (ret < 0) throw coreError(c, ret, cmd, -1);
  return c.bytes(out, 8).toString('hex');
}
