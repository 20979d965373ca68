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

{
  const code = asm.assemble(ret42);
  const m = Math.floor(n / 20);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < m; i++) Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: code }).close();
  report('prog_load_2', m, process.hrtime.bigint() - t0);
}
