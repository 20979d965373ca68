// Programs on each runtime: load, test-run, run, benchmark, verifier errors, bad inputs.
// The same cases as test/kernel/program.test.ts, reduced to what proves the runtime's host.
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { defaultCore } from '../../bridge/core.js';
import { BpfError, Program, ProgramType, VerifierError, asm } from '../../src/index.js';
import { group, kernelCheck } from './harness.js';

const RET42 = [asm.mov64Imm(asm.R0, 42), asm.exit()];

group('program', () => {
  for (const [name, type] of [
    ['socket filter', ProgramType.SocketFilter],
    ['XDP', ProgramType.Xdp],
  ] as const) {
    kernelCheck(`mov r0, 42; exit as ${name} returns 42 and the packet through test()`, () => {
      using prog = Program.load({ type, license: 'MIT', instructions: RET42, name: 'ret42' });
      assert.ok(prog.fd > 2, `fd ${prog.fd}`);
      const r = prog.test(Buffer.alloc(64, 7));
      assert.equal(r.retval, 42);
      assert.equal(r.data.length, 64);
      // The kernel rebuilds an skb's Ethernet header: compare the payload after it.
      assert.deepEqual([...r.data.subarray(14)], Array(50).fill(7));
    });
  }

  kernelCheck('raw bytecode larger than the bridge scratch (10,000 instructions) loads and counts to 9,999', () => {
    // r0 = 0; 9,998 x r0 += 1; r0 += 1; exit: 80 KB of instructions, so the bridge must take the
    // address of a freshly grown native buffer, and a wrong byte would change the result.
    const n = 10_000;
    const code = new Uint8Array(n * 8);
    code.set([0xb7, 0, 0, 0, 0, 0, 0, 0], 0); // mov r0, 0
    for (let i = 1; i < n - 1; i++) code.set([0x07, 0, 0, 0, 1, 0, 0, 0], i * 8); // add r0, 1
    code.set([0x95, 0, 0, 0, 0, 0, 0, 0], (n - 1) * 8); // exit
    using prog = Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: code });
    assert.equal(prog.test(Buffer.alloc(14)).retval, n - 2);
  });

  kernelCheck('run() with repeat returns the retval and the output packet', () => {
    using prog = Program.load({ type: ProgramType.Xdp, license: 'MIT', instructions: RET42 });
    const data = Buffer.alloc(64);
    data.write('tsbpf', 20);
    const r = prog.run({ data, repeat: 10 });
    assert.equal(r.retval, 42);
    assert.deepEqual(r.data, data);
    assert.equal(r.context, undefined);
  });

  kernelCheck('benchmark() returns a positive time per run', () => {
    using prog = Program.load({ type: ProgramType.Xdp, license: 'MIT', instructions: RET42 });
    const r = prog.benchmark(Buffer.alloc(64), 10_000);
    assert.equal(r.retval, 42);
    assert.equal(r.repeat, 10_000);
    assert.ok(r.nsPerRun > 0 && r.nsPerRun < 1_000_000, `nsPerRun ${r.nsPerRun}`);
  });

  kernelCheck('a program that exits without setting r0 throws VerifierError with R0 !read_ok', () => {
    assert.throws(
      () => Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: [asm.exit()] }),
      (e: unknown) => {
        assert.ok(e instanceof VerifierError, String(e));
        assert.equal(e.code, 'EACCES');
        assert.equal(e.errno, 13);
        assert.equal(e.command, 'BPF_PROG_LOAD');
        assert.ok(e.log.some((l) => l.includes('R0 !read_ok')), e.log.join('\n'));
        assert.match(e.message, /R0 !read_ok/);
        return true;
      },
    );
  });

  kernelCheck('an unknown program type is an EINVAL BpfError from the kernel, with advice', () => {
    assert.throws(() => Program.load({ type: 999 as ProgramType, license: 'MIT', instructions: RET42 }), (e: unknown) => {
      assert.ok(e instanceof BpfError && !(e instanceof VerifierError), String(e));
      assert.equal(e.code, 'EINVAL');
      assert.equal(e.errno, 22);
      assert.match(e.message, /BPF_PROG_LOAD.*EINVAL/);
      return true;
    });
  });

  kernelCheck('bad inputs throw the named errors without a syscall', () => {
    using prog = Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: RET42 });
    const core = defaultCore();
    const before = core.fn.tsbpf_request_count();
    assert.throws(() => prog.test(Buffer.alloc(0)), { name: 'BpfError', message: /missing input/ });
    assert.throws(() => prog.benchmark(Buffer.alloc(14), 2 ** 32), { name: 'BpfError', message: /repeat is too high/ });
    assert.throws(() => prog.test('packet' as unknown as Uint8Array), { name: 'BpfError', message: /"input" must be a Uint8Array/ });
    assert.throws(() => prog.run({ data: Buffer.alloc(14), repeats: 2 } as never), { name: 'BpfError', message: /unknown option "repeats"/ });
    assert.throws(() => Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: new Uint8Array(12) }), {
      name: 'BpfError',
      message: /not a multiple of 8/,
    });
    assert.equal(core.fn.tsbpf_request_count(), before);
  });

  kernelCheck('close() twice is harmless; use after close throws EBADF', () => {
    const prog = Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: RET42 });
    prog.close();
    prog.close();
    assert.equal(prog.closed, true);
    assert.throws(() => prog.test(Buffer.alloc(14)), (e: unknown) => e instanceof BpfError && e.code === 'EBADF' && /closed/.test(e.message));
  });
});
