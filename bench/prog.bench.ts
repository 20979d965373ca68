// Program benchmarks; bench/baseline/prog.c does the same work in raw C.
// Prints op=<name> n=<count> ns_per_op=<float>.
import { Program, ProgramType, asm } from '../src/index.js';
import { report, iterations } from './timing.js';

const n = iterations(200_000);
const ret42 = [asm.mov64Imm(asm.R0, 42), asm.exit()];

{
  using prog = Program.load({ type: ProgramType.Xdp, license: 'MIT', instructions: ret42 });
  const input = Buffer.alloc(64);
  for (let warm = 0; warm < 2; warm++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      if (prog.test(input).retval !== 42) throw new Error('wrong retval');
    }
    if (warm) report('test_run_1', n, process.hrtime.bigint() - t0);
  }
}

const CHUNKS = 10;

/**
 * Loads and closes `code` m times after a short warm-up, in CHUNKS chunks, and reports the
 * median chunk's mean: the machine is shared, and a burst of someone else's work should
 * move one chunk, not the result. bench/baseline/prog.c measures the same way.
 */
function loads(op: string, code: Uint8Array, m: number): void {
  for (let i = 0; i < Math.min(50, m); i++) Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: code }).close();
  const per = Math.max(1, Math.floor(m / CHUNKS));
  const chunks: bigint[] = [];
  for (let k = 0; k < CHUNKS; k++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < per; i++) Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: code }).close();
    chunks.push(process.hrtime.bigint() - t0);
  }
  chunks.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  report(op, per, chunks[CHUNKS >> 1]!);
}

loads('prog_load_2', asm.assemble(ret42), Math.floor(n / 20));

// r0 = 0; 998 x r0 += 1; exit: 1,000 instructions, built as bytecode (8 bytes each).
const long = new Uint8Array(1000 * 8);
long.set([0xb7, 0, 0, 0, 0, 0, 0, 0], 0); // BPF_ALU64 | BPF_MOV | BPF_K
for (let i = 1; i < 999; i++) long.set([0x07, 0, 0, 0, 1, 0, 0, 0], i * 8); // BPF_ALU64 | BPF_ADD | BPF_K
long.set([0x95, 0, 0, 0, 0, 0, 0, 0], 999 * 8); // BPF_JMP | BPF_EXIT
loads('prog_load_1000', long, Math.floor(n / 200));
