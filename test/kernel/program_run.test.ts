// BPF_PROG_TEST_RUN options on the real kernel: contexts in and out, run-on-cpu, XDP live
// frames (the frames really reach the network stack), batch sizes.
import dgram from 'node:dgram';
import { cpus } from 'node:os';
import { BpfError, Program, ProgramFlags, ProgramType, RunFlags, asm } from '../../src/index.js';
import { BPF_FUNC_get_smp_processor_id, call, concat, exit, insn, movImm, storeImm32 } from '../helpers/bytecode.js';
import { kernelTest } from '../helpers/kernel.js';

const XDP_DROP = 1, XDP_PASS = 2, XDP_TX = 3;

kernelTest('run-on-cpu: a raw tracepoint program reports the CPU it ran on', (t) => {
  using prog = Program.load({
    type: ProgramType.RawTracepoint,
    license: 'GPL',
    instructions: concat(call(BPF_FUNC_get_smp_processor_id), exit()),
  });
  const n = Math.min(cpus().length, 4);
  for (let cpu = 0; cpu < n; cpu++) {
    const r = prog.run({ context: new Uint8Array(8), flags: RunFlags.RunOnCpu, cpu });
    t.is(r.retval, cpu);
    t.is(r.context, undefined);
  }
  // A cpu without the flag is refused by the kernel.
  const err = t.throws(() => prog.run({ context: new Uint8Array(8), cpu: 1 }), { instanceOf: BpfError });
  t.is(err!.code, 'EINVAL');
});

kernelTest('a syscall program returns the context it changed', (t) => {
  using prog = Program.load({
    type: ProgramType.Syscall,
    license: 'GPL',
    flags: ProgramFlags.Sleepable,
    instructions: concat(storeImm32(1, 4, 0x1234), movImm(0, 3), exit()),
  });
  const r = prog.run({ context: new Uint8Array([1, 2, 3, 4, 0, 0, 0, 0]) });
  t.is(r.retval, 3);
  t.deepEqual([...r.context!], [1, 2, 3, 4, 0x34, 0x12, 0, 0]);
});

kernelTest('a tc program sees the __sk_buff context passed in and returns the one it changed', (t) => {
  // r2 = 42; *(u32 *)(r1 + 8) = r2 (skb->mark); r0 = 0
  using prog = Program.load({
    type: ProgramType.SchedCls,
    license: 'GPL',
    instructions: concat(movImm(2, 42), insn(0x63, 1, 2, 8, 0), movImm(0, 0), exit()),
  });
  const SKB_SIZE = 192; // sizeof(struct __sk_buff) in 6.x
  const ctx = Buffer.alloc(SKB_SIZE);
  ctx.writeUInt32LE(3, 32); // priority
  const r = prog.run({ data: Buffer.alloc(64), context: ctx });
  t.is(r.context!.length, SKB_SIZE);
  t.is(r.context!.readUInt32LE(8), 42);
  t.is(r.context!.readUInt32LE(32), 3);
  // No context back when asked for none.
  t.is(prog.run({ data: Buffer.alloc(64), context: ctx, contextOutSize: 0 }).context, undefined);
});

/** An Ethernet + IPv6 + UDP frame from and to ::1 (IPv6 accepts loopback addresses on lo). */
function udp6Frame(port: number, payload: Buffer): Buffer {
  const sum = (b: Buffer, init = 0): number => {
    let s = init;
    for (let i = 0; i + 1 < b.length; i += 2) s += b.readUInt16BE(i);
    if (b.length & 1) s += b[b.length - 1]! << 8;
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    return s;
  };
  const eth = Buffer.alloc(14);
  eth.writeUInt16BE(0x86dd, 12);
  const lo = Buffer.alloc(16);
  lo[15] = 1;
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(40000, 0);
  udp.writeUInt16BE(port, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  const ip6 = Buffer.alloc(40);
  ip6[0] = 0x60;
  ip6.writeUInt16BE(8 + payload.length, 4);
  ip6[6] = 17; // UDP
  ip6[7] = 64;
  lo.copy(ip6, 8);
  lo.copy(ip6, 24);
  const pseudo = Buffer.concat([lo, lo, Buffer.from([0, 0, 0, 8 + payload.length, 0, 0, 0, 17])]);
  udp.writeUInt16BE(~sum(Buffer.concat([udp, payload]), sum(pseudo)) & 0xffff || 0xffff, 6);
  return Buffer.concat([eth, ip6, udp, payload]);
}

kernelTest('XDP live frames: XDP_PASS delivers `repeat` real packets to a socket; DROP and TX deliver none', async (t) => {
  const sock = dgram.createSocket('udp6');
  await new Promise<void>((resolve) => sock.bind(0, '::1', resolve));
  const received: string[] = [];
  sock.on('message', (m) => received.push(m.toString()));
  const settle = () => new Promise((r) => setTimeout(r, 150));
  try {
    const frame = udp6Frame(sock.address().port, Buffer.from('live'));
    const cases: [number, number, number | undefined, number][] = [
      // [return code, repeat, batch size, packets that reach the socket]
      [XDP_PASS, 5, undefined, 5],
      [XDP_PASS, 7, 2, 7],
      [XDP_PASS, 0, undefined, 1], // the kernel runs at least once
      [XDP_DROP, 5, undefined, 0],
      [XDP_TX, 5, undefined, 0], // sent out of lo's XDP path, not up the stack
    ];
    for (const [code, repeat, batchSize, expected] of cases) {
      using prog = Program.load({ type: ProgramType.Xdp, license: 'GPL', instructions: [asm.mov64Imm(asm.R0, code), asm.exit()] });
      received.length = 0;
      prog.run({ data: frame, flags: RunFlags.XdpLiveFrames, repeat, ...(batchSize ? { batchSize } : {}) });
      await settle();
      t.is(received.length, expected, `return ${code}, repeat ${repeat}`);
      if (expected) t.deepEqual([...new Set(received)], ['live']);
    }
    // Without live frames nothing leaves the test run.
    using pass = Program.load({ type: ProgramType.Xdp, license: 'GPL', instructions: [asm.mov64Imm(asm.R0, XDP_PASS), asm.exit()] });
    received.length = 0;
    t.is(pass.run({ data: frame, repeat: 5 }).retval, XDP_PASS);
    await settle();
    t.is(received.length, 0);
  } finally {
    sock.close();
  }
});

kernelTest('XDP batch sizes: above 256 is E2BIG, without live frames EINVAL', (t) => {
  using prog = Program.load({ type: ProgramType.Xdp, license: 'GPL', instructions: [asm.mov64Imm(asm.R0, XDP_DROP), asm.exit()] });
  const data = Buffer.alloc(64);
  const big = t.throws(() => prog.run({ data, flags: RunFlags.XdpLiveFrames, repeat: 1, batchSize: 257 }), { instanceOf: BpfError });
  t.is(big!.code, 'E2BIG');
  t.regex(big!.message, /batchSize is at most 256/);
  const notLive = t.throws(() => prog.run({ data, batchSize: 4 }), { instanceOf: BpfError });
  t.is(notLive!.code, 'EINVAL');
  t.notThrows(() => prog.run({ data, flags: RunFlags.XdpLiveFrames, repeat: 1, batchSize: 256 }));
});
