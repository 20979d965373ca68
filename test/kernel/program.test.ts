// Programs on the real kernel: load, test-run, benchmark, verifier errors, fd hygiene.
import { defaultCore } from '../../bridge/core.js';
import { BpfError, Program, ProgramType, VerifierError, asm } from '../../src/index.js';
import { kernelTest, openFdCount } from '../helpers/kernel.js';

const RET42 = [asm.mov64Imm(asm.R0, 42), asm.exit()];

for (const [name, type] of [
  ['socket filter', ProgramType.SocketFilter],
  ['XDP', ProgramType.Xdp],
] as const) {
  kernelTest(`mov r0, 42; exit as ${name} returns 42 through test()`, (t) => {
    using prog = Program.load({ type, license: 'MIT', instructions: RET42, name: 'ret42' });
    t.true(prog.fd > 2);
    const r = prog.test(Buffer.alloc(64, 7));
    t.is(r.retval, 42);
    // The program does not touch the packet: it comes back as it went in (the kernel
    // rebuilds the Ethernet header of an skb, so compare the payload after it).
    t.is(r.data.length, 64);
    t.deepEqual(r.data.subarray(14), Buffer.alloc(50, 7));
  });
}

kernelTest('raw bytecode loads like assembler output', (t) => {
  const code = new Uint8Array([0xb7, 0, 0, 0, 7, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
  using prog = Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: code });
  t.is(prog.test(Buffer.alloc(14)).retval, 7);
});

kernelTest('benchmark() returns a positive time per run', (t) => {
  using prog = Program.load({ type: ProgramType.Xdp, license: 'MIT', instructions: RET42 });
  const r = prog.benchmark(Buffer.alloc(64), 10_000);
  t.is(r.retval, 42);
  t.is(r.repeat, 10_000);
  t.true(r.nsPerRun > 0, `nsPerRun ${r.nsPerRun}`);
  t.true(r.nsPerRun < 1_000_000, `nsPerRun ${r.nsPerRun}`);
});

kernelTest('a program that exits without setting r0 throws VerifierError with R0 !read_ok', (t) => {
  const err = t.throws(() => Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: [asm.exit()] }), {
    instanceOf: VerifierError,
  }) as VerifierError;
  t.is(err.code, 'EACCES');
  t.is(err.command, 'BPF_PROG_LOAD');
  t.true(err.log.some((l) => l.includes('R0 !read_ok')), err.log.join('\n'));
  t.regex(err.message, /R0 !read_ok/);
});

kernelTest('bad test-run inputs throw the named errors without a syscall', (t) => {
  using prog = Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: RET42 });
  const core = defaultCore();
  const before = core.fn.tsbpf_request_count();
  t.throws(() => prog.test(Buffer.alloc(0)), { instanceOf: BpfError, message: /missing input/ });
  t.throws(() => prog.test(Buffer.allocUnsafe(2 ** 32)), { instanceOf: BpfError, message: /input is too long/ });
  t.throws(() => prog.benchmark(Buffer.alloc(14), 2 ** 32), { instanceOf: BpfError, message: /repeat is too high/ });
  t.is(core.fn.tsbpf_request_count(), before);
});

kernelTest('close() twice is harmless; use after close throws', (t) => {
  const prog = Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: RET42 });
  prog.close();
  t.notThrows(() => prog.close());
  t.true(prog.closed);
  const err = t.throws(() => prog.test(Buffer.alloc(14)), { instanceOf: BpfError });
  t.is(err!.code, 'EBADF');
  t.regex(err!.message, /closed/);
});

kernelTest.serial('loading and closing 1,000 programs leaves the fd count unchanged', (t) => {
  const before = openFdCount();
  for (let i = 0; i < 1000; i++) {
    const prog = Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: RET42 });
    prog.close();
  }
  t.is(openFdCount(), before);
});

kernelTest('an unknown program type is an EINVAL BpfError with advice', (t) => {
  const err = t.throws(() => Program.load({ type: 999 as ProgramType, license: 'MIT', instructions: RET42 }), {
    instanceOf: BpfError,
  });
  t.is(err!.code, 'EINVAL');
  t.regex(err!.message, /BPF_PROG_LOAD/);
});
