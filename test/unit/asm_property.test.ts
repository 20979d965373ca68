// Properties of the instruction codec, with fast-check: every valid instruction survives
// encode -> decode unchanged; random bytes either decode (and then re-encode to the same
// bytes) or fail with an InstructionError naming the slot and the reason, never a crash.
import test from 'ava';
import fc from 'fast-check';
import { BpfError, asm } from '../../src/index.js';
import { fakeCore } from '../helpers/fake.js';

type Register = asm.Register;
type Insn = asm.Instruction;

const reg = fc.integer({ min: 0, max: 10 }) as fc.Arbitrary<Register>;
const i32 = fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const i16 = fc.integer({ min: -0x8000, max: 0x7fff });
const i64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
const nonZero = i32.filter((v) => v !== 0);

const pick = <T>(...xs: T[]) => fc.constantFrom(...xs);
const anyImm = pick(asm.add64Imm, asm.sub64Imm, asm.mul64Imm, asm.or64Imm, asm.and64Imm, asm.xor64Imm, asm.mov64Imm,
  asm.add32Imm, asm.sub32Imm, asm.mul32Imm, asm.or32Imm, asm.and32Imm, asm.xor32Imm, asm.mov32Imm);
const divImm = pick(asm.div64Imm, asm.sdiv64Imm, asm.mod64Imm, asm.smod64Imm, asm.div32Imm, asm.sdiv32Imm, asm.mod32Imm, asm.smod32Imm);
const shift64 = pick(asm.lsh64Imm, asm.rsh64Imm, asm.arsh64Imm);
const shift32 = pick(asm.lsh32Imm, asm.rsh32Imm, asm.arsh32Imm);
const regOps = pick(asm.add64Reg, asm.sub64Reg, asm.mul64Reg, asm.div64Reg, asm.sdiv64Reg, asm.or64Reg, asm.and64Reg,
  asm.lsh64Reg, asm.rsh64Reg, asm.mod64Reg, asm.smod64Reg, asm.xor64Reg, asm.mov64Reg, asm.arsh64Reg, asm.add32Reg,
  asm.sub32Reg, asm.mul32Reg, asm.div32Reg, asm.sdiv32Reg, asm.or32Reg, asm.and32Reg, asm.lsh32Reg, asm.rsh32Reg,
  asm.mod32Reg, asm.smod32Reg, asm.xor32Reg, asm.mov32Reg, asm.arsh32Reg);
const unary = pick(asm.neg64, asm.neg32, asm.le16, asm.le32, asm.le64, asm.be16, asm.be32, asm.be64, asm.bswap16, asm.bswap32, asm.bswap64);
const jmpImm = pick(asm.jeqImm, asm.jgtImm, asm.jgeImm, asm.jsetImm, asm.jneImm, asm.jsgtImm, asm.jsgeImm, asm.jltImm,
  asm.jleImm, asm.jsltImm, asm.jsleImm, asm.jeq32Imm, asm.jgt32Imm, asm.jge32Imm, asm.jset32Imm, asm.jne32Imm,
  asm.jsgt32Imm, asm.jsge32Imm, asm.jlt32Imm, asm.jle32Imm, asm.jslt32Imm, asm.jsle32Imm);
const jmpReg = pick(asm.jeqReg, asm.jgtReg, asm.jgeReg, asm.jsetReg, asm.jneReg, asm.jsgtReg, asm.jsgeReg, asm.jltReg,
  asm.jleReg, asm.jsltReg, asm.jsleReg, asm.jeq32Reg, asm.jgt32Reg, asm.jge32Reg, asm.jset32Reg, asm.jne32Reg,
  asm.jsgt32Reg, asm.jsge32Reg, asm.jlt32Reg, asm.jle32Reg, asm.jslt32Reg, asm.jsle32Reg);
const loads = pick(asm.ldxB, asm.ldxH, asm.ldxW, asm.ldxDW, asm.ldxsB, asm.ldxsH, asm.ldxsW, asm.stxB, asm.stxH, asm.stxW, asm.stxDW,
  asm.atomicAdd64, asm.atomicOr64, asm.atomicAnd64, asm.atomicXor64, asm.atomicFetchAdd64, asm.atomicFetchOr64,
  asm.atomicFetchAnd64, asm.atomicFetchXor64, asm.atomicXchg64, asm.atomicCmpXchg64, asm.atomicAdd32, asm.atomicOr32,
  asm.atomicAnd32, asm.atomicXor32, asm.atomicFetchAdd32, asm.atomicFetchOr32, asm.atomicFetchAnd32, asm.atomicFetchXor32,
  asm.atomicXchg32, asm.atomicCmpXchg32);
const stores = pick(asm.stB, asm.stH, asm.stW, asm.stDW);

/** Every valid instruction, built by the builders with operands anywhere in their range. */
const instruction: fc.Arbitrary<Insn> = fc.oneof(
  fc.tuple(anyImm, reg, i32).map(([f, d, v]) => f(d, v)),
  fc.tuple(divImm, reg, nonZero).map(([f, d, v]) => f(d, v)),
  fc.tuple(shift64, reg, fc.integer({ min: 0, max: 63 })).map(([f, d, v]) => f(d, v)),
  fc.tuple(shift32, reg, fc.integer({ min: 0, max: 31 })).map(([f, d, v]) => f(d, v)),
  fc.tuple(regOps, reg, reg).map(([f, d, s]) => f(d, s)),
  fc.tuple(unary, reg).map(([f, d]) => f(d)),
  fc.tuple(reg, reg, pick<8 | 16 | 32>(8, 16, 32)).map(([d, s, b]) => asm.movsx64Reg(d, s, b)),
  fc.tuple(reg, reg, pick<8 | 16>(8, 16)).map(([d, s, b]) => asm.movsx32Reg(d, s, b)),
  fc.tuple(jmpImm, reg, i32, i16).map(([f, d, v, o]) => f(d, v, o)),
  fc.tuple(jmpReg, reg, reg, i16).map(([f, d, s, o]) => f(d, s, o)),
  i16.map((o) => asm.ja(o)),
  i32.map((o) => asm.gotol(o)),
  i16.map((o) => asm.mayGoto(o)),
  fc.integer({ min: 0, max: 0x7fff_ffff }).map((h) => asm.call(h)),
  i32.map((o) => asm.callSubprog(o)),
  fc.tuple(i32, i16).map(([id, m]) => asm.callKfunc(id, m)),
  fc.constant(asm.exit()),
  fc.tuple(reg, i64).map(([d, v]) => asm.ldImm64(d, v)),
  fc.tuple(reg, u32, u32).map(([d, id, m]) => asm.ldBtfId(d, id, m)),
  fc.tuple(reg, i32).map(([d, o]) => asm.ldFunc(d, o)),
  fc.tuple(reg, u32).map(([d, i]) => asm.ldMapIdx(d, i)),
  fc.tuple(reg, u32, u32).map(([d, i, o]) => asm.ldMapIdxValue(d, i, o)),
  fc.tuple(reg, fc.integer({ min: 0, max: 0x7fff_ffff })).map(([d, fd]) => asm.raw(asm.Opcode.LD_IMM64, d, 1, 0, BigInt(fd))),
  fc.tuple(reg, fc.integer({ min: 0, max: 0x7fff_ffff }), u32).map(([d, fd, o]) =>
    asm.raw(asm.Opcode.LD_IMM64, d, 2, 0, BigInt.asIntN(64, (BigInt(o) << 32n) | BigInt(fd))),
  ),
  fc.tuple(pick(asm.ldAbsB, asm.ldAbsH, asm.ldAbsW), i32).map(([f, v]) => f(v)),
  fc.tuple(pick(asm.ldIndB, asm.ldIndH, asm.ldIndW), reg, i32).map(([f, s, v]) => f(s, v)),
  fc.tuple(loads, reg, reg, i16).map(([f, d, s, o]) => f(d, s, o)),
  fc.tuple(stores, reg, i16, i32).map(([f, d, o, v]) => f(d, o, v)),
);

function fake(t: { teardown(fn: () => void): void }): void {
  const { restore } = fakeCore();
  t.teardown(restore);
}

test('decode(assemble(i)) = i for every valid instruction, and it prints as it disassembles', (t) => {
  fake(t);
  fc.assert(
    fc.property(instruction, (insn) => {
      const code = asm.assemble([insn], { fragment: true });
      if (code.length !== insn.width * 8) return false;
      t.deepEqual(asm.decode(code, { fragment: true }), [insn]);
      const text = asm.disassemble(code);
      return text.length === 1 && text[0] === insn.toString();
    }),
    { numRuns: 3000 },
  );
});

test('decode(assemble(program)) = program for sequences of valid instructions', (t) => {
  fake(t);
  fc.assert(
    fc.property(fc.array(instruction, { maxLength: 40 }), (insns) => {
      const code = asm.assemble(insns, { fragment: true });
      t.deepEqual(asm.decode(code, { fragment: true }), insns);
      return code.length === insns.reduce((n, i) => n + i.width * 8, 0);
    }),
    { numRuns: 500 },
  );
});

/** Checks one decode attempt: success re-encodes to the same bytes; failure names a slot and a reason. */
function decodeOrExplain(t: { deepEqual(a: unknown, b: unknown): void }, bytes: Uint8Array, fragment: boolean): boolean {
  let insns: Insn[];
  try {
    insns = asm.decode(bytes, { fragment });
  } catch (e) {
    if (!(e instanceof BpfError)) throw e;
    if (bytes.length % 8 !== 0) return /not a whole number of 8-byte instructions/.test(e.message);
    if (!(e instanceof asm.InstructionError)) return false;
    return e.index >= 0 && e.index < bytes.length / 8 && new RegExp(`^asm\\.decode: instruction ${e.index}: \\S`).test(e.message);
  }
  t.deepEqual(Buffer.from(asm.assemble(insns, { fragment })), Buffer.from(bytes));
  asm.disassemble(bytes);
  return true;
}

test('random bytes decode (and re-encode to themselves) or fail naming the slot and the reason', (t) => {
  fake(t);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (b, frag) => decodeOrExplain(t, b, frag)), { numRuns: 5000 });
});

const VALID_CODES = Object.values(asm.Opcode);

test('random slots with real opcodes and small fields decode or fail naming the slot and the reason', (t) => {
  fake(t);
  // Real opcodes, registers in or near range and small offsets reach deep into the checks.
  const slot = fc
    .tuple(fc.constantFrom(...VALID_CODES, 0), fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 12 }),
      fc.constantFrom(0, 1, -1, 2, 8, 16, 32, 3), fc.constantFrom(0, 1, -1, 16, 32, 64, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1, 7))
    .map(([code, dst, src, off, imm]) => {
      const b = new Uint8Array(8);
      const dv = new DataView(b.buffer);
      b[0] = code;
      b[1] = (dst & 15) | ((src & 15) << 4);
      dv.setInt16(2, off, true);
      dv.setInt32(4, imm, true);
      return b;
    });
  fc.assert(
    fc.property(fc.array(slot, { maxLength: 12 }), fc.boolean(), (slots, frag) => {
      const bytes = new Uint8Array(slots.length * 8);
      slots.forEach((s, i) => bytes.set(s, i * 8));
      return decodeOrExplain(t, bytes, frag);
    }),
    { numRuns: 5000 },
  );
});
