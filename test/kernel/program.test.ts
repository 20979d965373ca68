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

kernelTest('replayed test runs: packets of growing sizes, then a refused one, all answered as the core would', (t) => {
  // An XDP program that returns the packet length (data_end - data).
  using prog = Program.load({
    type: ProgramType.Xdp,
    license: 'MIT',
    instructions: [
      asm.ldxW(asm.R2, asm.R1, 0), // r2 = ctx->data
      asm.ldxW(asm.R3, asm.R1, 4), // r3 = ctx->data_end
      asm.mov64Reg(asm.R0, asm.R3),
      asm.sub64Reg(asm.R0, asm.R2),
      asm.exit(),
    ],
  });
  // Sizes stay within XDP's linear area (3520 bytes here), where data_end - data is the whole packet.
  for (const size of [14, 64, 300, 256, 3000, 1500]) {
    const packet = Buffer.alloc(size, size & 0xff);
    const r = prog.test(packet);
    t.is(r.retval, size, `retval for ${size} bytes`);
    t.deepEqual(r.data, packet, `data for ${size} bytes`);
    t.is(prog.benchmark(packet, 3).retval, size);
  }
  // Shorter than an Ethernet header: the replay fails, the core's path gives its error.
  t.throws(() => prog.test(Buffer.alloc(10)), { instanceOf: BpfError, code: 'EINVAL' });
  // And a plan keeps working afterwards.
  t.is(prog.test(Buffer.alloc(20)).retval, 20);
});

kernelTest.serial('programs that were test-run leave no core memory behind when closed', (t) => {
  const core = defaultCore();
  const packet = Buffer.alloc(1500);
  const cycle = (): void => {
    const prog = Program.load({ type: ProgramType.Xdp, license: 'MIT', instructions: RET42 });
    prog.test(packet);
    prog.benchmark(packet, 2);
    prog.close();
  };
  for (let i = 0; i < 200; i++) cycle();
  const before = core.mem.byteLength;
  for (let i = 0; i < 2000; i++) cycle();
  // Each leaked plan would hold about 3.8 KB: 2,000 of them would grow memory by 7 MB.
  t.true(core.mem.byteLength - before <= 1 << 20, `Wasm memory grew by ${core.mem.byteLength - before} bytes`);
});
