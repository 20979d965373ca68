// The bpf_attr bytes the core builds for BPF_PROG_LOAD and BPF_PROG_TEST_RUN, checked on a
// fake host against the offsets of <linux/bpf.h>, and the retry policies the core applies.
import test from 'ava';
import { attrU32, attrU64, setAttrU32 } from '../../bridge/fake_host.js';
import { BpfError, NotSupportedError, Program, ProgramType, VerifierError, asm } from '../../src/index.js';
import { fakeCore } from '../helpers/fake.js';

// Offsets in union bpf_attr (include/uapi/linux/bpf.h).
const LOAD = {
  prog_type: 0, insn_cnt: 4, insns: 8, license: 16, log_level: 24, log_size: 28, log_buf: 32,
  kern_version: 40, prog_flags: 44, prog_name: 48, expected_attach_type: 68, log_true_size: 140,
};
const RUN = {
  prog_fd: 0, retval: 4, data_size_in: 8, data_size_out: 12, data_in: 16, data_out: 24, repeat: 32,
  duration: 36, ctx_size_in: 40, ctx_size_out: 44, ctx_in: 48, ctx_out: 56, flags: 64, cpu: 68, batch_size: 72,
};
const EPERM = 1, EACCES = 13, EAGAIN = 11, ENOSPC = 28, EINTR = 4, EINVAL = 22;
const RET42 = [asm.mov64Imm(asm.R0, 42), asm.exit()];
const RET42_BYTES = [0xb7, 0, 0, 0, 42, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];

function text(bytes: Uint8Array | undefined): string {
  return Buffer.from(bytes ?? []).toString('latin1');
}

test.serial('BPF_PROG_LOAD: attr fields and buffers sit where <linux/bpf.h> puts them', (t) => {
  const { host, restore } = fakeCore();
  t.teardown(restore);
  host.on('BPF_PROG_LOAD', () => host.fd());
  const prog = Program.load({ type: ProgramType.Xdp, license: 'Dual MIT/GPL', name: 'ret_42', instructions: RET42 });
  t.is(prog.fd, 10000);
  const [req] = host.of('BPF_PROG_LOAD');
  t.truthy(req);
  const a = req!.attr;
  // 144 bytes: the 6.1 header's attr plus the log_true_size field kernels 6.4+ write back.
  t.is(a.length, 144);
  t.is(attrU32(a, LOAD.prog_type), ProgramType.Xdp);
  t.is(attrU32(a, LOAD.insn_cnt), 2);
  t.deepEqual([...req!.inputs.get(LOAD.insns)!], RET42_BYTES);
  t.is(text(req!.inputs.get(LOAD.license)), 'Dual MIT/GPL\0');
  t.is(text(a.subarray(LOAD.prog_name, LOAD.prog_name + 16)), 'ret_42'.padEnd(16, '\0'));
  // The first attempt asks for no log: a log costs verifier time.
  t.is(attrU32(a, LOAD.log_level), 0);
  t.is(attrU64(a, LOAD.log_buf), 0n);
  t.is(req!.outputs.size, 0);
  prog.close();
  t.deepEqual(host.closed, [10000]);
});

test.serial('BPF_PROG_LOAD: a failure is retried once with a log, which becomes a VerifierError', (t) => {
  const { host, restore } = fakeCore();
  t.teardown(restore);
  const log = '0: (95) exit\nR0 !read_ok\nprocessed 1 insns (limit 1000000) max_states_per_insn 0 total_states 0\n';
  host.script(
    'BPF_PROG_LOAD',
    () => -EACCES,
    (req) => {
      t.is(attrU32(req.attr, LOAD.log_level), 1);
      t.is(attrU32(req.attr, LOAD.log_size), 64 * 1024);
      const buf = req.buffer(LOAD.log_buf)!;
      t.true(buf.out && !buf.in);
      t.is(buf.data.length, 64 * 1024);
      buf.data.set(Buffer.from(log + '\0'));
      return -EACCES;
    },
  );
  const err = t.throws(() => Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: [asm.exit()] }), {
    instanceOf: VerifierError,
  }) as VerifierError;
  t.is(host.of('BPF_PROG_LOAD').length, 2);
  t.deepEqual(err.log, log.trimEnd().split('\n'));
  t.is(err.code, 'EACCES');
  t.is(err.command, 'BPF_PROG_LOAD');
  t.false(err.truncated);
  // The message shows the meaningful end of the log, not the statistics line.
  t.regex(err.message, /0: \(95\) exit \/ R0 !read_ok/);
  t.notRegex(err.message, /processed 1 insns/);
});

test.serial('BPF_PROG_LOAD: a log cut short grows to the size the kernel reports', (t) => {
  const { host, restore } = fakeCore();
  t.teardown(restore);
  host.script(
    'BPF_PROG_LOAD',
    () => -EACCES,
    (req) => {
      const buf = req.buffer(LOAD.log_buf)!;
      buf.data.fill(0x61, 0, buf.data.length - 1);
      setAttrU32(req.attr, LOAD.log_true_size, 200_000);
      return -ENOSPC;
    },
    (req) => {
      t.is(attrU32(req.attr, LOAD.log_size), 200_000);
      req.buffer(LOAD.log_buf)!.data.set(Buffer.from('the whole log\n\0'));
      return -EACCES;
    },
  );
  const err = t.throws(() => Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: RET42 }), {
    instanceOf: VerifierError,
  }) as VerifierError;
  t.deepEqual(err.log, ['the whole log']);
  t.is(host.of('BPF_PROG_LOAD').length, 3);
});

test.serial('BPF_PROG_LOAD: EAGAIN is retried, a bounded number of times', (t) => {
  const { host, restore } = fakeCore();
  t.teardown(restore);
  host.script('BPF_PROG_LOAD', () => -EAGAIN, () => -EAGAIN, () => host.fd());
  Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: RET42 }).close();
  t.is(host.of('BPF_PROG_LOAD').length, 3);

  const again = fakeCore();
  t.teardown(again.restore);
  again.host.on('BPF_PROG_LOAD', () => -EAGAIN);
  t.throws(() => Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: RET42 }), { instanceOf: BpfError });
  const n = again.host.of('BPF_PROG_LOAD').length;
  t.true(n > 3 && n <= 8, `${n} attempts`);
});

test.serial('BPF_PROG_LOAD: bad specs are refused before any syscall', (t) => {
  const { host, restore, core } = fakeCore();
  t.teardown(restore);
  const cases: [string, unknown, RegExp][] = [
    ['empty instructions', { type: ProgramType.SocketFilter, license: 'MIT', instructions: [] }, /no instructions/],
    ['empty bytecode', { type: ProgramType.SocketFilter, license: 'MIT', instructions: new Uint8Array(0) }, /no instructions/],
    ['ragged bytecode', { type: ProgramType.SocketFilter, license: 'MIT', instructions: new Uint8Array(12) }, /multiple of 8/],
    ['no license', { type: ProgramType.SocketFilter, instructions: RET42 }, /"license" must be a string/],
    ['unknown key', { type: ProgramType.SocketFilter, license: 'MIT', instructions: RET42, licence: 'x' }, /unknown option "licence"/],
    ['illegal name', { type: ProgramType.SocketFilter, license: 'MIT', instructions: RET42, name: 'a-b' }, /illegal character/],
    ['long name', { type: ProgramType.SocketFilter, license: 'MIT', instructions: RET42, name: 'x'.repeat(16) }, /longer than 15/],
    ['negative type', { type: -1, license: 'MIT', instructions: RET42 }, /"type" must be an integer/],
  ];
  for (const [what, spec, message] of cases) {
    const err = t.throws(() => Program.load(spec as never), { instanceOf: BpfError }, what);
    t.regex(err!.message, message, what);
    t.is(err!.code, 'EINVAL', what);
  }
  t.is(host.requests.length, 0);
  t.is(core.fn.tsbpf_request_count(), 0);
});

/** A fake that loads any program and runs test runs with `run`. */
function fakeRunner(run: Parameters<ReturnType<typeof fakeCore>['host']['script']>[1][]) {
  const setup = fakeCore();
  setup.host.on('BPF_PROG_LOAD', () => setup.host.fd());
  setup.host.script('BPF_PROG_TEST_RUN', ...run);
  const prog = Program.load({ type: ProgramType.Xdp, license: 'MIT', instructions: RET42 });
  return { ...setup, prog };
}

test.serial('BPF_PROG_TEST_RUN: attr fields and buffers sit where <linux/bpf.h> puts them', (t) => {
  const input = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');
  const { host, restore, prog } = fakeRunner([
    (req) => {
      const out = req.buffer(RUN.data_out)!;
      t.true(out.out && !out.in);
      // Output room: the input plus headroom for programs that grow the packet.
      t.is(out.data.length, input.length + 256);
      t.is(attrU32(req.attr, RUN.data_size_out), input.length + 256);
      out.data.set(Buffer.from('reply'));
      setAttrU32(req.attr, RUN.data_size_out, 5);
      setAttrU32(req.attr, RUN.retval, 42);
      setAttrU32(req.attr, RUN.duration, 7);
      return 0;
    },
  ]);
  t.teardown(restore);
  const r = prog.test(input);
  t.is(r.retval, 42);
  t.is(r.data.toString(), 'reply');
  const [req] = host.of('BPF_PROG_TEST_RUN');
  const a = req!.attr;
  t.is(a.length, 76); // offsetofend(test.batch_size)
  t.is(attrU32(a, RUN.prog_fd), prog.fd);
  t.is(attrU32(a, RUN.data_size_in), input.length);
  t.deepEqual(req!.inputs.get(RUN.data_in), new Uint8Array(input));
  t.is(attrU32(a, RUN.repeat), 1);
  t.is(attrU64(a, RUN.ctx_in), 0n);
  t.is(attrU64(a, RUN.ctx_out), 0n);
});

test.serial('BPF_PROG_TEST_RUN: run() passes context, flags, cpu and batch size', (t) => {
  const { host, restore, prog } = fakeRunner([
    (req) => {
      const ctxOut = req.buffer(RUN.ctx_out)!;
      t.is(ctxOut.data.length, 24);
      ctxOut.data.fill(9);
      setAttrU32(req.attr, RUN.ctx_size_out, 24);
      return 0;
    },
  ]);
  t.teardown(restore);
  const r = prog.run({ data: Buffer.alloc(14), context: Buffer.alloc(24, 1), repeat: 3, flags: 1, cpu: 1, batchSize: 64 });
  const a = host.of('BPF_PROG_TEST_RUN')[0]!.attr;
  t.is(attrU32(a, RUN.ctx_size_in), 24);
  t.is(attrU32(a, RUN.repeat), 3);
  t.is(attrU32(a, RUN.flags), 1);
  t.is(attrU32(a, RUN.cpu), 1);
  t.is(attrU32(a, RUN.batch_size), 64);
  t.deepEqual(r.context, Buffer.alloc(24, 9));
});

test.serial('BPF_PROG_TEST_RUN: output larger than the buffer grows it and runs again', (t) => {
  const { host, restore, prog } = fakeRunner([
    (req) => {
      setAttrU32(req.attr, RUN.data_size_out, 5000);
      return -ENOSPC;
    },
    (req) => {
      const out = req.buffer(RUN.data_out)!;
      t.true(out.data.length >= 5000);
      out.data.fill(0xab, 0, 5000);
      setAttrU32(req.attr, RUN.data_size_out, 5000);
      return 0;
    },
  ]);
  t.teardown(restore);
  const r = prog.test(Buffer.alloc(64));
  t.is(r.data.length, 5000);
  t.true(r.data.every((b) => b === 0xab));
  t.is(host.of('BPF_PROG_TEST_RUN').length, 2);
});

test.serial('BPF_PROG_TEST_RUN: a size beyond the buffer without ENOSPC is refused, never copied', (t) => {
  const { restore, prog } = fakeRunner([
    (req) => {
      setAttrU32(req.attr, RUN.data_size_out, 1 << 20);
      return 0;
    },
  ]);
  t.teardown(restore);
  const err = t.throws(() => prog.test(Buffer.alloc(64)), { instanceOf: BpfError });
  t.regex(err!.message, /reported 1048576 bytes of output data for a 320-byte buffer/);
});

test.serial('BPF_PROG_TEST_RUN: benchmark() restarts interrupted runs', (t) => {
  const { host, restore, prog } = fakeRunner([
    () => -EINTR,
    () => -EINTR,
    (req) => {
      t.is(attrU32(req.attr, RUN.repeat), 1000);
      // A benchmark asks for no output data.
      t.is(req.buffer(RUN.data_out), undefined);
      setAttrU32(req.attr, RUN.duration, 123);
      return 0;
    },
  ]);
  t.teardown(restore);
  const r = prog.benchmark(Buffer.alloc(64), 1000);
  t.deepEqual(r, { retval: 0, nsPerRun: 123, repeat: 1000 });
  t.is(host.of('BPF_PROG_TEST_RUN').length, 3);
});

test.serial('BPF_PROG_TEST_RUN: bad inputs are refused by the core before any syscall', (t) => {
  const { host, restore, prog, core } = fakeRunner([() => 0]);
  t.teardown(restore);
  const before = core.fn.tsbpf_request_count();
  const cases: [string, () => unknown, RegExp, string][] = [
    ['empty input', () => prog.test(Buffer.alloc(0)), /missing input/, 'EINVAL'],
    ['input over 2^32-1 bytes', () => prog.test(Buffer.allocUnsafe(2 ** 32)), /input is too long/, 'E2BIG'],
    ['repeat over 2^32-1', () => prog.benchmark(Buffer.alloc(14), 2 ** 32), /repeat is too high/, 'EINVAL'],
    ['repeat zero for benchmark', () => prog.benchmark(Buffer.alloc(14), 0), /"repeat" must be an integer of at least 1/, 'EINVAL'],
    ['input not bytes', () => prog.test('abc' as never), /"input" must be a Uint8Array/, 'EINVAL'],
    ['unknown run option', () => prog.run({ data: Buffer.alloc(14), repeats: 2 } as never), /unknown option "repeats"/, 'EINVAL'],
  ];
  for (const [what, fn, message, code] of cases) {
    const err = t.throws(fn, { instanceOf: BpfError }, what);
    t.regex(err!.message, message, what);
    t.is(err!.code, code, what);
    t.is(err!.command, 'BPF_PROG_TEST_RUN', what);
  }
  t.is(core.fn.tsbpf_request_count(), before);
  t.is(host.of('BPF_PROG_TEST_RUN').length, 0);
});

test.serial('BPF_PROG_TEST_RUN: a kernel without it yields NotSupportedError (probe: 2-insn socket filter, 14 bytes)', (t) => {
  // Before 4.12 the command does not exist: every BPF_PROG_TEST_RUN answers EINVAL.
  const { host, restore, prog } = fakeRunner([() => -EINVAL]);
  t.teardown(restore);
  const err = t.throws(() => prog.test(Buffer.alloc(64)), { instanceOf: NotSupportedError }) as NotSupportedError;
  t.is(err.feature, 'prog_test_run');
  t.is(err.minKernel, '4.12');
  // The probe loaded its own socket filter and ran it on 14 bytes.
  const probeLoad = host.of('BPF_PROG_LOAD').at(-1)!;
  t.is(attrU32(probeLoad.attr, LOAD.prog_type), ProgramType.SocketFilter);
  t.is(attrU32(probeLoad.attr, LOAD.insn_cnt), 2);
  t.is(attrU32(host.of('BPF_PROG_TEST_RUN').at(-1)!.attr, RUN.data_size_in), 14);
  // ... and closed it.
  t.true(host.closed.includes(probeLoad.result));
});

test.serial('feature probe: a permission error is inconclusive and not cached', (t) => {
  const { host, restore, prog } = fakeRunner([() => -EINVAL]);
  t.teardown(restore);
  // The probe's own load fails with EPERM: "unknown", so the original error stands.
  host.on('BPF_PROG_LOAD', () => -EPERM);
  const err = t.throws(() => prog.test(Buffer.alloc(64)), { instanceOf: BpfError });
  t.false(err instanceof NotSupportedError);
  t.is(err!.code, 'EINVAL');
  const loadsBefore = host.of('BPF_PROG_LOAD').length;
  t.throws(() => prog.test(Buffer.alloc(64)));
  t.true(host.of('BPF_PROG_LOAD').length > loadsBefore, 'an unknown answer is asked again');
});

test.serial('feature probes: conclusive answers are cached, EPERM is not, fds are closed', async (t) => {
  const { host, restore } = fakeCore();
  t.teardown(restore);
  const { features, MapType } = await import('../../src/index.js');
  host.script('BPF_MAP_CREATE', () => -EINVAL);
  t.is(features.mapType(MapType.Hash).verdict, 'no');
  t.is(features.mapType(MapType.Hash).verdict, 'no');
  t.is(host.of('BPF_MAP_CREATE').length, 1, 'a "no" is cached');
  host.script('BPF_MAP_CREATE', () => -EPERM);
  t.is(features.mapType(MapType.Array).verdict, 'unknown');
  t.is(features.mapType(MapType.Array).errno, 'EPERM');
  t.is(host.of('BPF_MAP_CREATE').length, 3, 'an "unknown" is asked again');
  const fd = host.fd() + 1;
  host.script('BPF_MAP_CREATE', () => host.fd());
  t.is(features.mapType(MapType.PercpuArray).verdict, 'yes');
  t.deepEqual(host.closed, [fd]);
});
