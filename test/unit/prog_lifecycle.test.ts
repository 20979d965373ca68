// The program lifecycle on a fake host: the attr bytes of the newer ProgramSpec fields, the
// two requests of info() with nested fix-ups, attach/detach/query, statistics, clone and
// the refusals that need no kernel.
import test from 'ava';
import { release } from 'node:os';
import { attrU32, attrU64, setAttrU32 } from '../../bridge/fake_host.js';
import type { BpfRequest } from '../../bridge/host.js';
import {
  AttachFlags, AttachType, BpfError, LogLevel, Program, ProgramFlags, ProgramType, asm,
} from '../../src/index.js';
import { fakeCore } from '../helpers/fake.js';

// Offsets in union bpf_attr and struct bpf_prog_info (include/uapi/linux/bpf.h, 6.1).
const LOAD = {
  log_level: 24, log_size: 28, kern_version: 40, prog_flags: 44, prog_ifindex: 64, expected_attach_type: 68,
  attach_btf_id: 108, attach_prog_fd: 112,
};
const INFO_ATTR = { bpf_fd: 0, info_len: 4, info: 8 };
const INFO = {
  type: 0, id: 4, tag: 8, jited_prog_len: 16, xlated_prog_len: 20, xlated_prog_insns: 32, load_time: 40,
  created_by_uid: 48, nr_map_ids: 52, map_ids: 56, name: 64, gpl_compatible: 84, btf_id: 128, run_time_ns: 192,
  run_cnt: 200, recursion_misses: 208, verified_insns: 216, attach_btf_obj_id: 220, attach_btf_id: 224, size: 232,
};
const ATTACH = { target_fd: 0, attach_bpf_fd: 4, attach_type: 8, attach_flags: 12, replace_bpf_fd: 16 };
const QUERY = { target_fd: 0, attach_type: 4, query_flags: 8, attach_flags: 12, prog_ids: 16, prog_cnt: 24, revision: 56 };
const ENOENT = 2, ENOSPC = 28;
const RET0 = [asm.mov64Imm(asm.R0, 0), asm.exit()];

function loaded(type: ProgramType = ProgramType.SocketFilter) {
  const setup = fakeCore();
  setup.host.on('BPF_PROG_LOAD', () => setup.host.fd());
  const prog = Program.load({ type, license: 'GPL', instructions: RET0 });
  return { ...setup, prog };
}

function dv(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

test.serial('BPF_PROG_LOAD: expectedAttachType, flags, kernelVersion, ifindex and attach target fields', (t) => {
  const { host, restore } = fakeCore();
  t.teardown(restore);
  host.on('BPF_PROG_LOAD', () => host.fd());
  const target = Program.load({ type: ProgramType.SocketFilter, license: 'GPL', instructions: RET0 });
  const prog = Program.load({
    type: ProgramType.Tracing,
    license: 'GPL',
    instructions: RET0,
    expectedAttachType: AttachType.TraceFentry,
    flags: ProgramFlags.Sleepable,
    kernelVersion: 0x060112,
    ifindex: 3,
    attachBtfId: 4242,
    attachTarget: target,
  });
  const a = host.of('BPF_PROG_LOAD').at(-1)!.attr;
  t.is(attrU32(a, LOAD.expected_attach_type), AttachType.TraceFentry);
  t.is(attrU32(a, LOAD.prog_flags), 16);
  t.is(attrU32(a, LOAD.kern_version), 0x060112);
  t.is(attrU32(a, LOAD.prog_ifindex), 3);
  t.is(attrU32(a, LOAD.attach_btf_id), 4242);
  t.is(attrU32(a, LOAD.attach_prog_fd), target.fd);
  prog.close();

  // attach_btf_obj_fd shares the field with attach_prog_fd.
  Program.load({ type: ProgramType.Tracing, license: 'GPL', instructions: RET0, attachBtfId: 1, attachBtfObjFd: 77 }).close();
  t.is(attrU32(host.of('BPF_PROG_LOAD').at(-1)!.attr, LOAD.attach_prog_fd), 77);
});

test.serial('BPF_PROG_LOAD: kprobes get the running kernel version when none is given', (t) => {
  const { host, restore } = fakeCore();
  t.teardown(restore);
  host.on('BPF_PROG_LOAD', () => host.fd());
  Program.load({ type: ProgramType.Kprobe, license: 'GPL', instructions: RET0 }).close();
  const v = attrU32(host.of('BPF_PROG_LOAD')[0]!.attr, LOAD.kern_version);
  const [major, minor] = release().split('.').map(Number);
  t.is(v >> 16, major!);
  t.is((v >> 8) & 0xff, minor!);
  Program.load({ type: ProgramType.SocketFilter, license: 'GPL', instructions: RET0 }).close();
  t.is(attrU32(host.of('BPF_PROG_LOAD')[1]!.attr, LOAD.kern_version), 0);
});

test.serial('BPF_PROG_LOAD: a log level asks for the log on the first attempt and keeps it on success', (t) => {
  const { host, restore } = fakeCore();
  t.teardown(restore);
  host.on('BPF_PROG_LOAD', (req) => {
    t.is(attrU32(req.attr, LOAD.log_level), LogLevel.Branch | LogLevel.Stats);
    t.is(attrU32(req.attr, LOAD.log_size), 4096);
    req.buffer(32)!.data.set(Buffer.from('processed 2 insns\nstack depth 0\n\0'));
    return host.fd();
  });
  const prog = Program.load({
    type: ProgramType.SocketFilter, license: 'GPL', instructions: RET0, logLevel: LogLevel.Branch | LogLevel.Stats, logSize: 4096,
  });
  t.deepEqual(prog.verifierLog, ['processed 2 insns', 'stack depth 0']);
  t.is(host.of('BPF_PROG_LOAD').length, 1);
  t.deepEqual(prog.clone().verifierLog, prog.verifierLog);
});

test.serial('BPF_PROG_LOAD: spec errors are refused before any syscall, naming the option', (t) => {
  const { host, restore, core } = fakeCore();
  t.teardown(restore);
  host.on('BPF_PROG_LOAD', () => host.fd());
  const target = Program.load({ type: ProgramType.SocketFilter, license: 'GPL', instructions: RET0 });
  const before = core.fn.tsbpf_request_count();
  const base = { type: ProgramType.SocketFilter, license: 'GPL', instructions: RET0 };
  const cases: [string, object, RegExp][] = [
    ['unknown type', { ...base, type: 999 }, /"type" 999 is not a program type/],
    ['unspecified type', { ...base, type: ProgramType.Unspec }, /BPF_PROG_TYPE_UNSPEC/],
    ['fractional type', { ...base, type: 1.5 }, /"type" must be an integer/],
    ['unknown attach type', { ...base, expectedAttachType: 1000 }, /"expectedAttachType" 1000 is not an attach type/],
    ['log level bits', { ...base, logLevel: 0x10 }, /"logLevel" 16 has bits the kernel does not define/],
    ['target and fd', { ...base, attachTarget: target, attachProgFd: 5 }, /"attachTarget" or "attachProgFd", not both/],
    ['target not a program', { ...base, attachTarget: 5 }, /"attachTarget" must be a Program/],
    ['prog fd and btf obj fd', { ...base, attachProgFd: 5, attachBtfObjFd: 6 }, /share one attr field/],
    ['negative flags', { ...base, flags: -1 }, /"flags" must be an integer/],
    ['name with a dash', { ...base, name: 'my-prog' }, /illegal character at position 2/],
    ['empty instructions', { ...base, instructions: [] }, /no instructions/],
  ];
  for (const [what, spec, message] of cases) {
    const err = t.throws(() => Program.load(spec as never), { instanceOf: BpfError }, what);
    t.regex(err!.message, message, what);
    t.is(err!.code, 'EINVAL', what);
    t.is(err!.command, 'BPF_PROG_LOAD', what);
  }
  t.is(core.fn.tsbpf_request_count(), before);
});

/** A handler for the two BPF_OBJ_GET_INFO_BY_FD requests of info(). */
function infoHandler(t: { is(a: unknown, b: unknown, m?: string): void }, opts: { maps: number[]; xlated: Uint8Array; len?: number }) {
  return (req: BpfRequest): number => {
    const info = req.buffer(INFO_ATTR.info)!;
    t.is(info.in && info.out, true, 'info is read and written');
    const d = dv(info.data);
    const userMaps = d.getUint32(INFO.nr_map_ids, true);
    const userXlated = d.getUint32(INFO.xlated_prog_len, true);
    d.setUint32(INFO.type, ProgramType.Xdp, true);
    d.setUint32(INFO.id, 4711, true);
    info.data.set([1, 2, 3, 4, 5, 6, 7, 0xff], INFO.tag);
    d.setUint32(INFO.jited_prog_len, 40, true);
    d.setUint32(INFO.xlated_prog_len, opts.xlated.length, true);
    d.setBigUint64(INFO.load_time, 123456789n, true);
    d.setUint32(INFO.created_by_uid, 1000, true);
    d.setUint32(INFO.nr_map_ids, opts.maps.length, true);
    info.data.set(Buffer.from('my_prog\0'), INFO.name);
    d.setUint32(INFO.gpl_compatible, 1, true);
    d.setUint32(INFO.btf_id, 9, true);
    d.setBigUint64(INFO.run_time_ns, 5000n, true);
    d.setBigUint64(INFO.run_cnt, 7n, true);
    d.setUint32(INFO.verified_insns, 12, true);
    if (userMaps) {
      const ids = req.nested(0, INFO.map_ids)!;
      t.is(ids.out && !ids.in, true, 'map ids are written');
      t.is(ids.data.length, userMaps * 4);
      opts.maps.slice(0, userMaps).forEach((id, i) => dv(ids.data).setUint32(4 * i, id, true));
    }
    if (userXlated) {
      const x = req.nested(0, INFO.xlated_prog_insns)!;
      t.is(x.data.length, opts.xlated.length);
      x.data.set(opts.xlated);
    }
    setAttrU32(req.attr, INFO_ATTR.info_len, opts.len ?? INFO.size);
    return 0;
  };
}

test.serial('info(): counts first, then map ids and instructions through nested fix-ups', (t) => {
  const { host, restore, prog } = loaded();
  t.teardown(restore);
  const xlated = new Uint8Array([0xb7, 0, 0, 0, 2, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
  host.on('BPF_OBJ_GET_INFO_BY_FD', infoHandler(t, { maps: [11, 12], xlated }));
  const info = prog.info();
  const reqs = host.of('BPF_OBJ_GET_INFO_BY_FD');
  t.is(reqs.length, 2);
  t.is(attrU32(reqs[0]!.attr, INFO_ATTR.bpf_fd), prog.fd);
  t.is(attrU32(reqs[0]!.attr, INFO_ATTR.info_len), INFO.size);
  // The first request asks for no arrays: its pointers are NULL.
  t.is(reqs[0]!.outputs.size, 1);
  t.is(reqs[1]!.outputs.size, 3);
  const { instructions, ...plain } = info;
  t.deepEqual(instructions!.map(String), ['r0 = 2', 'exit']);
  t.deepEqual(plain, {
    type: ProgramType.Xdp,
    id: 4711,
    name: 'my_prog',
    tag: '01020304050607ff',
    loadTime: 123456789n,
    createdByUid: 1000,
    mapIds: [11, 12],
    jitedSize: 40,
    xlatedSize: 16,
    xlated,
    verifiedInstructions: 12,
    runCount: 7n,
    runTime: 5000n,
    recursionMisses: 0n,
    btfId: 9,
    gplCompatible: true,
    attachBtfObjId: 0,
    attachBtfId: 0,
  });
  // id needs one request only, and is remembered.
  t.is(prog.id, 4711);
  t.is(prog.id, 4711);
  t.is(host.of('BPF_OBJ_GET_INFO_BY_FD').length, 3);
});

test.serial('info(): a map list that grew between the requests is asked for again', (t) => {
  const { host, restore, prog } = loaded();
  t.teardown(restore);
  const xlated = new Uint8Array([0xb7, 0, 0, 0, 2, 0, 0, 0]);
  host.script(
    'BPF_OBJ_GET_INFO_BY_FD',
    infoHandler(t, { maps: [1], xlated }),
    infoHandler(t, { maps: [1, 2, 3], xlated }),
    infoHandler(t, { maps: [1, 2, 3], xlated }),
  );
  t.deepEqual(prog.info().mapIds, [1, 2, 3]);
  t.is(host.of('BPF_OBJ_GET_INFO_BY_FD').length, 3);
});

test.serial('info(): fields an older kernel does not fill are undefined; withheld instructions too', (t) => {
  const { host, restore, prog } = loaded();
  t.teardown(restore);
  // A 4.15-era kernel: its struct ends at the name; the xlated buffer stays zero (withheld).
  host.script(
    'BPF_OBJ_GET_INFO_BY_FD',
    infoHandler(t, { maps: [], xlated: new Uint8Array(16), len: INFO.name + 16 + 8 }),
    (req) => {
      req.nested(0, INFO.xlated_prog_insns)!.data.fill(0);
      setAttrU32(req.attr, INFO_ATTR.info_len, INFO.name + 24);
      return 0;
    },
  );
  const info = prog.info();
  t.is(info.name, 'my_prog');
  t.is(info.loadTime, 123456789n);
  t.deepEqual(info.mapIds, []);
  t.is(info.xlatedSize, 16);
  t.is(info.xlated, undefined);
  t.is(info.verifiedInstructions, undefined);
  t.is(info.runCount, undefined);
  t.is(info.btfId, undefined);
});

test.serial('attach, detach: attr fields, and replace sets BPF_F_REPLACE', (t) => {
  const { host, restore, prog } = loaded(ProgramType.CgroupSkb);
  t.teardown(restore);
  host.on('BPF_PROG_ATTACH', () => 0).on('BPF_PROG_DETACH', () => 0);
  const old = prog.clone();
  prog.attach(55, AttachType.CgroupInetEgress, AttachFlags.AllowMulti);
  prog.attach(55, AttachType.CgroupInetEgress, AttachFlags.AllowMulti, old);
  prog.detach(55, AttachType.CgroupInetEgress);
  const [a1, a2] = host.of('BPF_PROG_ATTACH');
  t.is(a1!.attr.length, 20); // offsetofend(replace_bpf_fd)
  t.is(attrU32(a1!.attr, ATTACH.target_fd), 55);
  t.is(attrU32(a1!.attr, ATTACH.attach_bpf_fd), prog.fd);
  t.is(attrU32(a1!.attr, ATTACH.attach_type), AttachType.CgroupInetEgress);
  t.is(attrU32(a1!.attr, ATTACH.attach_flags), AttachFlags.AllowMulti);
  t.is(attrU32(a1!.attr, ATTACH.replace_bpf_fd), 0);
  t.is(attrU32(a2!.attr, ATTACH.attach_flags), AttachFlags.AllowMulti | AttachFlags.Replace);
  t.is(attrU32(a2!.attr, ATTACH.replace_bpf_fd), old.fd);
  const [d] = host.of('BPF_PROG_DETACH');
  t.is(d!.attr.length, 12);
  t.is(attrU32(d!.attr, ATTACH.attach_bpf_fd), prog.fd);

  const before = host.requests.length;
  t.throws(() => prog.attach(55, AttachType.CgroupInetEgress, AttachFlags.Replace), { message: /BPF_F_REPLACE needs the program to replace/ });
  t.throws(() => prog.attach(55, 999 as AttachType), { message: /"attachType" 999 is not an attach type/ });
  t.throws(() => prog.attach(-1, AttachType.CgroupInetEgress), { message: /"target" must be an integer/ });
  t.is(host.requests.length, before);

  host.on('BPF_PROG_DETACH', () => -ENOENT);
  const err = t.throws(() => prog.detach(55, AttachType.CgroupInetEgress), { instanceOf: BpfError });
  t.is(err!.code, 'ENOENT');
  t.regex(err!.message, /not attached to that target/);
});

test.serial('query: counts, then reads the ids, and asks again when the list grew', (t) => {
  const { host, restore } = fakeCore();
  t.teardown(restore);
  let listed = [21, 22, 23];
  host.on('BPF_PROG_QUERY', (req) => {
    t.is(req.attr.length, 64); // up to the revision of 6.6+
    t.is(attrU32(req.attr, QUERY.target_fd), 9);
    t.is(attrU32(req.attr, QUERY.attach_type), AttachType.CgroupInetIngress);
    const cnt = attrU32(req.attr, QUERY.prog_cnt);
    const ids = req.buffer(QUERY.prog_ids);
    setAttrU32(req.attr, QUERY.prog_cnt, listed.length);
    setAttrU32(req.attr, QUERY.attach_flags, AttachFlags.AllowMulti);
    new DataView(req.attr.buffer, req.attr.byteOffset).setBigUint64(QUERY.revision, 17n, true);
    if (!cnt) {
      t.is(ids, undefined);
      listed = [21, 22, 23, 24]; // a program is attached before the second request
      return 0;
    }
    listed.slice(0, cnt).forEach((id, i) => dv(ids!.data).setUint32(4 * i, id, true));
    return cnt < listed.length ? -ENOSPC : 0;
  });
  t.deepEqual(Program.query(9, AttachType.CgroupInetIngress), { ids: [21, 22, 23, 24], attachFlags: 2, revision: 17 });
  t.deepEqual(host.of('BPF_PROG_QUERY').map((r) => attrU32(r.attr, QUERY.prog_cnt)), [0, 3, 4]);

  Program.query(9, AttachType.CgroupInetIngress, { effective: true });
  t.is(attrU32(host.of('BPF_PROG_QUERY').at(-1)!.attr, QUERY.query_flags), 1);
  t.throws(() => Program.query(9, AttachType.CgroupInetIngress, { effectiv: true } as never), { message: /unknown option "effectiv"/ });
});

test.serial('query: an empty list takes one request', (t) => {
  const { host, restore } = fakeCore();
  t.teardown(restore);
  host.on('BPF_PROG_QUERY', () => 0);
  t.deepEqual(Program.query(9, AttachType.CgroupInetIngress), { ids: [], attachFlags: 0, revision: 0 });
  t.is(host.of('BPF_PROG_QUERY').length, 1);
});

test.serial('enableStats: BPF_ENABLE_STATS with the type, and a handle that closes the fd', (t) => {
  const { host, restore } = fakeCore();
  t.teardown(restore);
  host.on('BPF_ENABLE_STATS', () => host.fd());
  const stats = Program.enableStats();
  const [req] = host.of('BPF_ENABLE_STATS');
  t.is(req!.attr.length, 4);
  t.is(attrU32(req!.attr, 0), 0); // BPF_STATS_RUN_TIME
  stats.close();
  stats.close();
  t.deepEqual(host.closed, [req!.result]);
});

test.serial('clone: a dup closed independently; marshalBinary: the fd in 4 bytes', (t) => {
  const { host, restore, prog } = loaded();
  t.teardown(restore);
  const copy = prog.clone();
  const copyFd = copy.fd;
  t.not(copyFd, prog.fd);
  t.is(host.dups.get(copyFd), prog.fd);
  t.is(copy.type, prog.type);
  copy.close();
  t.deepEqual(host.closed, [copyFd]);
  t.false(prog.closed);
  t.deepEqual([...prog.marshalBinary()], [prog.fd & 0xff, (prog.fd >> 8) & 0xff, 0, 0]);
  prog.close();
  t.throws(() => prog.marshalBinary(), { instanceOf: BpfError, message: /closed/ });
});

test.serial('fromId: id 0 is refused; an id without a program is ENOENT; the fd of a found one is adopted', (t) => {
  const { host, restore, core } = fakeCore();
  t.teardown(restore);
  t.throws(() => Program.fromId(0), { message: /"id" must be an integer from 1/ });
  t.is(core.fn.tsbpf_request_count(), 0);
  host.on('BPF_PROG_GET_FD_BY_ID', (req) => (attrU32(req.attr, 0) === 4711 ? host.fd() : -ENOENT));
  host.on('BPF_OBJ_GET_INFO_BY_FD', infoHandler(t, { maps: [], xlated: new Uint8Array(0) }));
  const err = t.throws(() => Program.fromId(5), { instanceOf: BpfError });
  t.is(err!.code, 'ENOENT');
  t.regex(err!.message, /no program with id 5/);
  const prog = Program.fromId(4711);
  t.is(prog.type, ProgramType.Xdp);
  t.is(prog.name, 'my_prog');
  t.is(prog.id, 4711);
  // An fd whose info cannot be read is closed, not leaked.
  host.on('BPF_OBJ_GET_INFO_BY_FD', () => -22);
  t.throws(() => Program.fromId(4711));
  t.is(host.closed.length, 1);
});

test.serial('run: syscall programs get their context back in place; raw tracepoints get none', (t) => {
  const RUN = { ctx_size_in: 40, ctx_size_out: 44, ctx_in: 48, ctx_out: 56 };
  const sys = loaded(ProgramType.Syscall);
  t.teardown(sys.restore);
  sys.host.on('BPF_PROG_TEST_RUN', (req) => {
    const ctx = req.buffer(RUN.ctx_in)!;
    t.true(ctx.in && ctx.out);
    t.is(attrU64(req.attr, RUN.ctx_out), 0n);
    ctx.data[0] = 7;
    return 0;
  });
  const r = sys.prog.run({ context: new Uint8Array(8) });
  t.deepEqual([...r.context!], [7, 0, 0, 0, 0, 0, 0, 0]);
  sys.restore();

  const raw = loaded(ProgramType.RawTracepoint);
  t.teardown(raw.restore);
  raw.host.on('BPF_PROG_TEST_RUN', (req) => {
    t.false(req.buffer(RUN.ctx_in)!.out);
    t.is(req.buffer(RUN.ctx_out), undefined);
    t.is(attrU32(req.attr, RUN.ctx_size_out), 0);
    t.is(attrU32(req.attr, 32 /* repeat */), 0);
    return 0;
  });
  t.is(raw.prog.run({ context: new Uint8Array(16) }).context, undefined);
});

test.serial('BPF_PROG_LOAD: EPERM, E2BIG and EINVAL without a log say what to do', (t) => {
  const { host, restore } = fakeCore();
  t.teardown(restore);
  const cases: [number, string, RegExp][] = [
    [1, 'EPERM', /run as root or grant CAP_BPF.*RLIMIT_MEMLOCK/],
    [7, 'E2BIG', /more instructions than this kernel accepts.*leave the newer option unset/],
    [22, 'EINVAL', /before verifying it.*this kernel knows the program type.*expectedAttachType/],
  ];
  for (const [errno, code, advice] of cases) {
    host.on('BPF_PROG_LOAD', () => -errno);
    const err = t.throws(() => Program.load({ type: ProgramType.SocketFilter, license: 'GPL', instructions: RET0 }), { instanceOf: BpfError });
    t.is(err!.code, code);
    t.is(err!.command, 'BPF_PROG_LOAD');
    t.regex(err!.message, advice, code);
  }
});
