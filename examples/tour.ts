// make run: a short tour of tsbpf on the real kernel.
import { BpfError, Program, ProgramType, VerifierError, asm, features } from '../src/index.js';

function heading(text: string): void {
  console.log(`\n\x1b[1m${text}\x1b[0m`);
}

heading('1. Assemble a program and load it into the kernel');
const instructions = [asm.mov64Imm(asm.R0, 42), asm.exit()];
const bytecode = asm.assemble(instructions);
console.log(`   r0 = 42; exit  ->  ${Buffer.from(bytecode).toString('hex').replace(/(.{16})/g, '$1 ').trim()}`);
using prog = Program.load({ type: ProgramType.Xdp, name: 'tour_ret42', license: 'MIT', instructions });
console.log(`   loaded as an XDP program, fd ${prog.fd}`);

heading('2. Run it on a 64-byte packet (BPF_PROG_TEST_RUN)');
const packet = Buffer.alloc(64, 0xab);
const { retval, data } = prog.test(packet);
console.log(`   return value ${retval}, ${data.length} bytes came back unchanged: ${data.equals(packet)}`);

heading('3. Benchmark it in the kernel');
const bench = prog.benchmark(packet, 1_000_000);
console.log(`   ${bench.repeat.toLocaleString('en')} runs, ${bench.nsPerRun} ns per run (measured by the kernel)`);

heading('4. Let the verifier reject a program');
try {
  Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: [asm.exit()] });
} catch (e) {
  if (!(e instanceof VerifierError)) throw e;
  console.log(`   ${e.name} (${e.code}); the verifier log says:`);
  for (const line of e.log) console.log(`     | ${line}`);
}

heading('5. Ask the kernel what it supports');
const testRun = features.probe(features.Feature.ProgTestRun);
console.log(`   ${testRun.name}: ${testRun.verdict} (since Linux ${testRun.minKernel})`);

heading('6. Bad input gets a clear error, before any syscall');
try {
  prog.test(Buffer.alloc(0));
} catch (e) {
  if (!(e instanceof BpfError)) throw e;
  console.log(`   ${e.message}`);
}
console.log('');
