// Attaching programs on the real kernel: to a cgroup v2 directory the test creates
// (attach, query, replace, detach, and a real packet from a process inside the cgroup),
// and to sockets with SO_ATTACH_BPF.
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { closeSync, openSync } from 'node:fs';
import { AttachFlags, AttachType, BpfError, Program, ProgramType, asm } from '../../src/index.js';
import { cgroup2Available, createCgroup, type TestCgroup } from '../helpers/cgroup.js';
import { kernelTest } from '../helpers/kernel.js';
import { receive, send, socketPair } from '../helpers/socket.js';

let serial = 0;

/** A fresh cgroup for one test, removed afterwards even when the test fails. */
function withCgroup(t: { teardown(fn: () => void): void }): TestCgroup {
  if (!cgroup2Available()) throw new Error('cgroup v2 is not mounted at /sys/fs/cgroup/unified');
  const cg = createCgroup(`tsbpf-test-${process.pid}-${serial++}`);
  t.teardown(() => cg.remove());
  return cg;
}

/** A cgroup skb program that returns `verdict` (1 lets the packet through, 0 drops it). */
function skbVerdict(verdict: 0 | 1, attach: AttachType, name: string): Program {
  // To count packets as well, load a map and add a lookup + atomic add before the return.
  return Program.load({
    type: ProgramType.CgroupSkb,
    expectedAttachType: attach,
    license: 'GPL',
    name,
    instructions: [asm.mov64Imm(asm.R0, verdict), asm.exit()],
  });
}

kernelTest('attach, query (and bpftool cgroup show), replace, detach on a cgroup directory', (t) => {
  const cg = withCgroup(t);
  const type = AttachType.CgroupInetIngress;
  using a = skbVerdict(1, type, 'first');
  using b = skbVerdict(1, type, 'second');
  using c = skbVerdict(1, type, 'third');
  t.deepEqual(Program.query(cg.fd, type).ids, []);

  a.attach(cg.fd, type, AttachFlags.AllowMulti);
  b.attach(cg.fd, type, AttachFlags.AllowMulti);
  const q = Program.query(cg.fd, type);
  t.deepEqual(q.ids, [a.id, b.id]);
  t.is(q.attachFlags, AttachFlags.AllowMulti);
  const shown = JSON.parse(execFileSync('bpftool', ['cgroup', 'show', cg.path, '--json'], { encoding: 'utf8' })) as { id: number; attach_type: string }[];
  t.deepEqual(shown.map((p) => [p.id, p.attach_type]), [[a.id, 'cgroup_inet_ingress'], [b.id, 'cgroup_inet_ingress']]);

  // The effective list of a cgroup includes what it inherits; here that is the same two.
  t.deepEqual(Program.query(cg.fd, type, { effective: true }).ids, [a.id, b.id]);
  // Nothing on the other hook.
  t.deepEqual(Program.query(cg.fd, AttachType.CgroupInetEgress).ids, []);

  c.attach(cg.fd, type, AttachFlags.AllowMulti, a);
  t.deepEqual(Program.query(cg.fd, type).ids, [c.id, b.id]);

  const before = Program.query(cg.fd, type).revision;
  c.detach(cg.fd, type);
  b.detach(cg.fd, type);
  const after = Program.query(cg.fd, type);
  t.deepEqual(after.ids, []);
  // Kernels that keep a revision for the list count each change.
  if (before > 0) t.is(after.revision, before + 2);

  const err = t.throws(() => a.detach(cg.fd, type), { instanceOf: BpfError });
  t.is(err!.code, 'ENOENT');
  t.regex(err!.message, /not attached to that target/);
});

kernelTest('attaching to the wrong kind of hook or target is a BpfError that says what must match', (t) => {
  const cg = withCgroup(t);
  using prog = skbVerdict(1, AttachType.CgroupInetIngress, 'mismatch');
  const wrongHook = t.throws(() => prog.attach(cg.fd, AttachType.CgroupInet4Connect), { instanceOf: BpfError });
  t.is(wrongHook!.code, 'EINVAL');
  t.regex(wrongHook!.message, /attach type must suit the program type/);
  const notCgroup = t.throws(() => prog.attach(0, AttachType.CgroupInetIngress), { instanceOf: BpfError });
  t.is(notCgroup!.command, 'BPF_PROG_ATTACH');
});

kernelTest('an egress program on a cgroup decides whether a packet sent from inside it leaves', async (t) => {
  const cg = withCgroup(t);
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  const received: string[] = [];
  sock.on('message', (m) => received.push(m.toString()));
  t.teardown(() => sock.close());
  const sender = `
const s = require('dgram').createSocket('udp4');
s.send('from the cgroup', ${sock.address().port}, '127.0.0.1', (err) => { console.log(err ? err.code : 'sent'); s.close(); });`;

  for (const [verdict, outcome, delivered] of [
    [0, 'EPERM', 0],
    [1, 'sent', 1],
  ] as const) {
    using prog = skbVerdict(verdict, AttachType.CgroupInetEgress, `egress_${verdict}`);
    prog.attach(cg.fd, AttachType.CgroupInetEgress);
    received.length = 0;
    try {
      t.is(await cg.run(sender), outcome, `verdict ${verdict}`);
      await new Promise((r) => setTimeout(r, 100));
      t.is(received.length, delivered, `verdict ${verdict}`);
    } finally {
      prog.detach(cg.fd, AttachType.CgroupInetEgress);
    }
  }
  // A process outside the cgroup is not affected while a dropping program is attached.
  using drop = skbVerdict(0, AttachType.CgroupInetEgress, 'egress_out');
  drop.attach(cg.fd, AttachType.CgroupInetEgress);
  try {
    received.length = 0;
    const outside = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) =>
      outside.send('from outside', sock.address().port, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
    );
    outside.close();
    await new Promise((r) => setTimeout(r, 100));
    t.deepEqual(received, ['from outside']);
  } finally {
    drop.detach(cg.fd, AttachType.CgroupInetEgress);
  }
});

kernelTest('a socket filter on a socket pair lets through what its return value says', (t) => {
  const pair = socketPair();
  t.teardown(() => pair.close());
  const [tx, rx] = pair.fds;
  const message = Buffer.from('hello, filter');
  // [return value, what arrives]: 0 drops, n keeps the first n bytes, -1 (u32 max) keeps all.
  const cases: [number, Buffer | undefined][] = [
    [0, undefined],
    [5, message.subarray(0, 5)],
    [-1, message],
  ];
  for (const [ret, expected] of cases) {
    using prog = Program.load({ type: ProgramType.SocketFilter, license: 'GPL', instructions: [asm.mov64Imm(asm.R0, ret), asm.exit()] });
    prog.attachSocket(rx);
    t.is(send(tx, message), message.length);
    t.deepEqual(receive(rx), expected, `return ${ret}`);
    t.is(receive(rx), undefined);
  }
  Program.detachSocket(rx);
  send(tx, message);
  t.deepEqual(receive(rx), message);
  // The filter's program is gone from the socket; detaching again says so.
  const err = t.throws(() => Program.detachSocket(rx), { instanceOf: BpfError });
  t.is(err!.code, 'ENOENT');
  t.regex(err!.message, /no BPF filter attached/);
});

kernelTest('SO_ATTACH_BPF refuses other program types and non-sockets with clear errors', (t) => {
  const pair = socketPair();
  t.teardown(() => pair.close());
  using xdp = Program.load({ type: ProgramType.Xdp, license: 'GPL', instructions: [asm.mov64Imm(asm.R0, 0), asm.exit()], name: 'not_a_filter' });
  const wrong = t.throws(() => xdp.attachSocket(pair.fds[0]), { instanceOf: BpfError });
  t.is(wrong!.code, 'EINVAL');
  t.regex(wrong!.message, /only socket filter programs/);
  using filter = Program.load({ type: ProgramType.SocketFilter, license: 'GPL', instructions: [asm.mov64Imm(asm.R0, 0), asm.exit()] });
  const file = openSync('/dev/null', 'r');
  t.teardown(() => closeSync(file));
  const notSocket = t.throws(() => filter.attachSocket(file), { instanceOf: BpfError });
  t.is(notSocket!.code, 'ENOTSOCK');
  t.regex(notSocket!.message, /not a socket/);
});
