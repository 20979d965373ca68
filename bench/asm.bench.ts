// Assembler benchmarks, per instruction of a 1024-instruction program: build + assemble,
// decode, disassemble. bench/baseline/asm.c does the same work in raw C (struct writes,
// field reads, snprintf), which is the floor: it validates nothing.
// Prints op=<name> n=<count> ns_per_op=<float>.
import { asm } from '../src/index.js';
import { iterations, report } from './timing.js';

const n = iterations(200);
const { R0, R1, R2, R10 } = asm;

function program(): asm.Instruction[] {
  const out: asm.Instruction[] = [];
  for (let i = 0; out.length < 1024; i++) {
    out.push(
      asm.mov64Imm(R1, i),
      asm.add64Reg(R0, R1),
      asm.ldxW(R2, R10, -8),
      asm.stxDW(R10, R2, -16),
      asm.jeqImm(R2, 7, 1),
      asm.call(asm.Helper.getPrandomU32),
      asm.ldImm64(R1, BigInt(i) << 32n),
      asm.atomicAdd64(R10, R1, -24),
    );
  }
  return out;
}

let code: Uint8Array = new Uint8Array(0);
for (let warm = 0; warm < 2; warm++) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) code = asm.assemble(program(), { fragment: true });
  if (warm) report('asm_build_assemble', n * 1024, process.hrtime.bigint() - t0);
}
for (let warm = 0; warm < 2; warm++) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if (asm.decode(code, { fragment: true }).length !== 1024) throw new Error('decode');
  if (warm) report('asm_decode', n * 1024, process.hrtime.bigint() - t0);
}
for (let warm = 0; warm < 2; warm++) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if (asm.disassemble(code).length !== 1024) throw new Error('disassemble');
  if (warm) report('asm_disassemble', n * 1024, process.hrtime.bigint() - t0);
}
