// The program lifecycle on the real kernel, with bpftool as the independent oracle: info,
// ids, pins, clones, statistics, bad inputs and fd hygiene.
import { execFileSync } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { existsSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { defaultCore } from '../../bridge/core.js';
import { openHandleCount } from '../../src/fd.js';
import { ProgramTypeNames } from '../../src/generated/uapi.js';
import { BpfError, LogLevel, Program, ProgramType, asm } from '../../src/index.js';
import { openPinned } from '../../src/object.js';
import { concat, exit, ldImm64, movImm } from '../helpers/bytecode.js';
import { kernelTest, openFdCount } from '../helpers/kernel.js';

const RET0 = [asm.mov64Imm(asm.R0, 0), asm.exit()];
const PIN_PREFIX = `/sys/fs/bpf/tsbpf-test-${process.pid}`;

interface BpftoolProg {
  id: number;
  type: string;
  name?: string;
  tag: string;
  gpl_compatible: boolean;
  loaded_at: number;
  uid: number;
  bytes_xlated: number;
  bytes_jited: number;
  map_ids?: number[];
  run_cnt?: number;
  run_time_ns?: number;
}

function bpftool<T>(...args: string[]): T {
  return JSON.parse(execFileSync('bpftool', [...args, '--json'], { encoding: 'utf8' })) as T;
}

/** bpftool's name of a program type: the kernel's, without the prefix, in lower case. */
function bpftoolType(type: number): string {
  return ProgramTypeNames[type]!.replace('BPF_PROG_TYPE_', '').toLowerCase();
}

/** A program that references an array map created by bpftool (ld_imm64 with BPF_PSEUDO_MAP_FD). */
function withMap(run: (prog: Program, mapId: number) => void): void {
  const mapPath = `${PIN_PREFIX}-m`;
  execFileSync('bpftool', ['map', 'create', mapPath, 'type', 'array', 'key', '4', 'value', '4', 'entries', '1', 'name', 'm']);
  const c = defaultCore();
  let mapFd = -1;
  try {
    mapFd = openPinned(c, mapPath);
    const mapId = bpftool<{ id: number }>('map', 'show', 'pinned', mapPath).id;
    using prog = Program.load({
      type: ProgramType.SocketFilter,
      license: 'GPL',
      name: 'uses_map',
      instructions: concat(ldImm64(1, 1, mapFd), movImm(0, 0), exit()),
    });
    run(prog, mapId);
  } finally {
    if (mapFd >= 0) c.closeFd(mapFd);
    unlinkSync(mapPath);
  }
}

kernelTest('info() agrees with bpftool prog show: name, type, tag, map ids, sizes, uid, load time', (t) => {
  withMap((prog, mapId) => {
    const info = prog.info();
    const seen = bpftool<BpftoolProg>('prog', 'show', 'id', String(prog.id));
    t.is(info.id, prog.id);
    t.is(seen.id, info.id);
    t.is(seen.name, 'uses_map');
    t.is(info.name, 'uses_map');
    t.is(seen.type, 'socket_filter');
    t.is(bpftoolType(info.type), seen.type);
    t.is(info.tag, seen.tag);
    t.deepEqual(info.mapIds, [mapId]);
    t.deepEqual(seen.map_ids, [mapId]);
    t.is(info.xlatedSize, seen.bytes_xlated);
    t.is(info.jitedSize, seen.bytes_jited);
    t.is(info.createdByUid, seen.uid);
    t.is(info.gplCompatible, seen.gpl_compatible);
    // bpftool prints the load time in seconds since the epoch; tsbpf keeps the kernel's
    // nanoseconds since boot. They must agree to within the clock's granularity.
    const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    const bootEpoch = Date.now() / 1000 - uptime;
    t.true(Math.abs(bootEpoch + Number(info.loadTime!) / 1e9 - seen.loaded_at) < 3, `${info.loadTime} vs ${seen.loaded_at}`);
    t.is(info.verifiedInstructions, 3);
  });
});

kernelTest('info().xlated holds the bytes bpftool prog dump xlated writes', (t) => {
  const file = `/tmp/tsbpf-test-${process.pid}-xlated`;
  try {
    using prog = Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: [asm.mov64Imm(asm.R0, 7), asm.exit()] });
    execFileSync('bpftool', ['prog', 'dump', 'xlated', 'id', String(prog.id), 'file', file]);
    const info = prog.info();
    t.deepEqual(Buffer.from(info.xlated!), readFileSync(file));
    t.is(info.xlated!.length, 16);
    t.deepEqual(info.mapIds, []);
  } finally {
    rmSync(file, { force: true });
  }
});

kernelTest('info().instructions decodes the translated program through the core', (t) => {
  using prog = Program.load({
    type: ProgramType.SocketFilter,
    license: 'MIT',
    instructions: [
      asm.mov64Imm(asm.R6, 0),
      asm.label('loop'),
      asm.add64Imm(asm.R6, 1),
      asm.jltImm(asm.R6, 3, 'loop'),
      asm.call(asm.Helper.getPrandomU32),
      asm.mov64Reg(asm.R0, asm.R6),
      asm.exit(),
    ],
  });
  const insns = prog.info().instructions!;
  t.is(insns.length, 6);
  t.deepEqual(
    insns.filter((_, i) => i !== 3).map(String),
    ['r6 = 0', 'r6 += 1', 'if r6 < 3 goto -2', 'r0 = r6', 'exit'],
  );
  // The kernel rewrote the helper call's immediate to its own offset: still a call.
  t.regex(String(insns[3]), /^call /);
});

kernelTest('fromId() opens the program bpftool lists under that id; ids() includes it', (t) => {
  using prog = Program.load({ type: ProgramType.Xdp, license: 'MIT', instructions: RET0, name: 'by_id' });
  const ids = [...Program.ids()];
  t.true(ids.includes(prog.id));
  t.deepEqual(ids, [...ids].sort((a, b) => a - b));
  using again = Program.fromId(prog.id);
  t.not(again.fd, prog.fd);
  t.is(again.id, prog.id);
  t.is(again.type, ProgramType.Xdp);
  t.is(again.name, 'by_id');
  t.is(again.test(Buffer.alloc(64)).retval, 0);
});

kernelTest('fromId() of an id that does not exist is a BpfError with ENOENT', (t) => {
  // Ids only grow: one past the largest loaded id does not exist (yet).
  const unused = Math.max(0, ...Program.ids()) + 1_000_000;
  const err = t.throws(() => Program.fromId(unused), { instanceOf: BpfError });
  t.is(err!.code, 'ENOENT');
  t.is(err!.command, 'BPF_PROG_GET_FD_BY_ID');
  t.regex(err!.message, new RegExp(`no program with id ${unused}`));
});

kernelTest('pin, bpftool prog show pinned, loadPinned, repin, unpin', (t) => {
  const path = `${PIN_PREFIX}-pin`;
  const moved = `${PIN_PREFIX}-pin2`;
  try {
    using prog = Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: RET0, name: 'pinned' });
    prog.pin(path);
    t.is(prog.pinnedPath, path);
    const seen = bpftool<BpftoolProg>('prog', 'show', 'pinned', path);
    t.is(seen.id, prog.id);
    t.is(seen.name, 'pinned');
    prog.pin(path); // the same path again: nothing to do

    {
      using opened = Program.loadPinned(path);
      t.is(opened.id, prog.id);
      t.is(opened.type, ProgramType.SocketFilter);
      t.is(opened.name, 'pinned');
      t.is(opened.pinnedPath, path);
    }
    prog.pin(moved);
    t.false(existsSync(path));
    t.is(bpftool<BpftoolProg>('prog', 'show', 'pinned', moved).id, prog.id);
    prog.unpin();
    t.false(existsSync(moved));
    t.is(prog.pinnedPath, undefined);
    prog.unpin(); // nothing pinned: nothing to do
    const err = t.throws(() => Program.loadPinned(moved), { instanceOf: BpfError });
    t.is(err!.code, 'ENOENT');
  } finally {
    rmSync(path, { force: true });
    rmSync(moved, { force: true });
  }
});

kernelTest('a pin outside bpffs is a BpfError that names the filesystem', (t) => {
  using prog = Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: RET0 });
  const err = t.throws(() => prog.pin(`/tmp/tsbpf-test-${process.pid}-pin`), { instanceOf: BpfError });
  t.is(err!.command, 'BPF_OBJ_PIN');
  t.is(err!.code, 'EPERM');
  t.regex(err!.message, /\/tmp is not on a bpffs mount/);
  t.is(prog.pinnedPath, undefined);
});

kernelTest('loadPinned refuses a pinned map', (t) => {
  const path = `${PIN_PREFIX}-notprog`;
  execFileSync('bpftool', ['map', 'create', path, 'type', 'array', 'key', '4', 'value', '4', 'entries', '1', 'name', 'm']);
  try {
    const before = openFdCount();
    const err = t.throws(() => Program.loadPinned(path), { instanceOf: BpfError });
    t.regex(err!.message, /is a pinned map, not a program/);
    t.is(openFdCount(), before);
  } finally {
    unlinkSync(path);
  }
});

kernelTest('fromFd() adopts a program fd and refuses (and closes) any other fd', (t) => {
  using prog = Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: RET0, name: 'adopted' });
  const c = defaultCore();
  using adopted = Program.fromFd(c.dupFd(prog.fd, 'test'));
  t.is(adopted.id, prog.id);
  t.is(adopted.name, 'adopted');
  t.is(adopted.type, ProgramType.SocketFilter);

  const path = `${PIN_PREFIX}-fromfd`;
  execFileSync('bpftool', ['map', 'create', path, 'type', 'array', 'key', '4', 'value', '4', 'entries', '1', 'name', 'm']);
  try {
    const before = openFdCount();
    const mapFd = openPinned(c, path);
    const err = t.throws(() => Program.fromFd(mapFd), { instanceOf: BpfError });
    t.regex(err!.message, /is a map, not a program/);
    t.is(openFdCount(), before);
  } finally {
    unlinkSync(path);
  }
});

kernelTest('clone() is an independent handle on the same program', (t) => {
  const prog = Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: [asm.mov64Imm(asm.R0, 5), asm.exit()] });
  const copy = prog.clone();
  t.not(copy.fd, prog.fd);
  t.is(copy.id, prog.id);
  prog.close();
  // The program lives on through the clone.
  t.is(copy.test(Buffer.alloc(14)).retval, 5);
  t.is(bpftool<BpftoolProg>('prog', 'show', 'id', String(copy.id)).id, copy.id);
  copy.close();
  t.throws(() => copy.test(Buffer.alloc(14)), { instanceOf: BpfError, message: /closed/ });
});

kernelTest.serial('enableStats() makes run count and run time count; closing it stops them', (t) => {
  using prog = Program.load({ type: ProgramType.Xdp, license: 'MIT', instructions: RET0 });
  t.deepEqual(prog.stats(), { runCount: 0n, runTime: 0n, recursionMisses: 0n });
  {
    using stats = Program.enableStats();
    prog.benchmark(Buffer.alloc(64), 100);
    t.truthy(stats);
  }
  const s = prog.stats();
  t.true(s.runCount >= 100n, `runCount ${s.runCount}`);
  t.true(s.runTime > 0n);
  // bpftool sees the same numbers.
  const seen = bpftool<BpftoolProg>('prog', 'show', 'id', String(prog.id));
  t.is(BigInt(seen.run_cnt ?? 0), s.runCount);
  // Statistics are off again (unless another process enabled them): no change.
  prog.benchmark(Buffer.alloc(64), 100);
  const after = prog.stats().runCount;
  if (readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'utf8').trim() === '0') t.is(after, s.runCount);
  t.is(prog.info().runCount, after);
});

kernelTest('a log level returns the verifier log of a successful load', (t) => {
  using prog = Program.load({
    type: ProgramType.SocketFilter,
    license: 'MIT',
    instructions: RET0,
    logLevel: LogLevel.Branch | LogLevel.Stats,
  });
  t.true(prog.verifierLog.some((l) => /^processed 2 insns/.test(l)), prog.verifierLog.join('\n'));
  using quiet = Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: RET0 });
  t.deepEqual(quiet.verifierLog, []);
});

kernelTest('marshalBinary() is the fd in 4 bytes', (t) => {
  using prog = Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: RET0 });
  const b = prog.marshalBinary();
  t.is(b.length, 4);
  t.is(new DataView(b.buffer).getUint32(0, true), prog.fd);
});

kernelTest('bad inputs each get a clear BpfError', (t) => {
  using prog = Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: RET0 });
  const cases: [string, () => unknown, string, RegExp][] = [
    ['empty instructions', () => Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: [] }), 'EINVAL', /no instructions/],
    ['unknown program type', () => Program.load({ type: 999 as ProgramType, license: 'MIT', instructions: RET0 }), 'EINVAL', /"type" 999 is not a program type/],
    ['illegal name', () => Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: RET0, name: 'bad name!' }), 'EINVAL', /illegal character at position 3 \(0x20\)/],
    ['pin path outside bpffs', () => prog.pin(`/dev/shm/tsbpf-test-${process.pid}`), 'EPERM', /not on a bpffs mount/],
    ['missing expectedAttachType', () => Program.load({ type: ProgramType.CgroupSockAddr, license: 'MIT', instructions: RET0 }), 'EINVAL', /before verifying it.*need expectedAttachType/],
    // One instruction over the kernel's limit of 1 million (BPF_COMPLEXITY_LIMIT_INSNS).
    ['too many instructions', () => Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: new Uint8Array(8 * 1_000_001) }), 'E2BIG', /more instructions than this kernel accepts/],
  ];
  for (const [what, fn, code, message] of cases) {
    const err = t.throws(fn, { instanceOf: BpfError }, what);
    t.is(err!.code, code, what);
    t.regex(err!.message, message, what);
  }
});

kernelTest.serial('1,000 load/clone/close cycles leave the fd count and the handle count unchanged', (t) => {
  const fds = openFdCount();
  const handles = openHandleCount();
  for (let i = 0; i < 1000; i++) {
    const prog = Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: RET0 });
    const copy = prog.clone();
    prog.close();
    copy.close();
  }
  t.is(openFdCount(), fds);
  t.is(openHandleCount(), handles);
});

/** The engine's collector, for the finalizer tests. */
function collectGarbage(): () => void {
  setFlagsFromString('--expose_gc');
  return runInNewContext('gc') as () => void;
}

kernelTest.serial('a forgotten program is closed by the collector; a closed one never closes a reused fd', async (t) => {
  const gc = collectGarbage();
  const settle = async () => {
    for (let i = 0; i < 5; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await settle();
  const before = openFdCount();
  const handles = openHandleCount();
  (() => {
    Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: RET0 });
  })();
  t.is(openFdCount(), before + 1);
  await settle();
  t.is(openFdCount(), before);
  t.is(openHandleCount(), handles);

  // A handle closed by hand and then collected must not close the fd number again:
  // by then it may belong to someone else.
  let reused: Program | undefined;
  (() => {
    const first = Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: RET0 });
    const fd = first.fd;
    first.close();
    reused = Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: [asm.mov64Imm(asm.R0, 9), asm.exit()] });
    t.is(reused.fd, fd, 'the kernel hands out the lowest free fd');
  })();
  await settle();
  t.is(reused!.test(Buffer.alloc(14)).retval, 9);
  reused!.close();
});
