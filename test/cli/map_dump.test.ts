// `tsbpf map dump` through a child process, against `bpftool map dump --json` of the same
// maps: the cli fixture loaded by bpftool (maps with BTF: a struct of every kind of member,
// a per-CPU array, an array of structs, global data sections), filled here with values that
// reach every formatting rule; maps without BTF; and maps whose lookups fail or that have
// no keys. bpftool's formatted dump differs from tsbpf's in two documented ways: it prints
// bitfields as hex strings and pointers as plain numbers; the comparison allows exactly those.
import test from 'ava';
import { BpfMap, MapType, Program, ProgramType, asm, codec, possibleCpus } from '../../src/index.js';
import { bpftoolJson, bpftoolLoadAll, tsbpf, tsbpfJson, tsbpfOnTty, type BpftoolLoad } from '../helpers/cli.js';
import { kernelTest } from '../helpers/kernel.js';
import { compileFixture } from '../helpers/tools.js';

interface Entry {
  key: string[];
  value?: string[] | { error: string };
  values?: { cpu: number; value: string[] }[];
  formatted?: { key?: unknown; value?: unknown; values?: { cpu: number; value: unknown }[] };
}

/** struct record of cli.bpf.c, laid out as clang lays it out (72 bytes). */
function record(r: {
  u8v?: number;
  s16v?: number;
  s32v?: number;
  u64v?: bigint;
  s64v?: bigint;
  flag?: number;
  name?: Uint8Array | string;
  color?: number;
  low?: number;
  mid?: number;
  high?: number;
  port?: number;
  delta?: number;
  word?: number;
  ports?: [number, number, number];
  ptr?: bigint;
}): Buffer {
  const b = Buffer.alloc(72);
  b.writeUInt8(r.u8v ?? 0, 0);
  b.writeInt16LE(r.s16v ?? 0, 2);
  b.writeInt32LE(r.s32v ?? 0, 4);
  b.writeBigUInt64LE(r.u64v ?? 0n, 8);
  b.writeBigInt64LE(r.s64v ?? 0n, 16);
  b.writeUInt8(r.flag ?? 0, 24);
  if (r.name !== undefined) Buffer.from(r.name).copy(b, 25, 0, 8);
  b.writeUInt32LE(r.color ?? 0, 36);
  b.writeUInt32LE(((r.low ?? 0) | ((r.mid ?? 0) << 3) | ((r.high ?? 0) << 16)) >>> 0, 40);
  b.writeUInt16LE(r.port ?? 0, 44);
  b.writeInt8(r.delta ?? 0, 46);
  b.writeUInt32LE(r.word ?? 0, 48);
  (r.ports ?? [0, 0, 0]).forEach((p, i) => b.writeUInt16LE(p, 52 + 2 * i));
  b.writeBigUInt64LE(r.ptr ?? 0n, 64);
  return b;
}

const u32 = (n: number): Buffer => Buffer.from(Uint32Array.of(n).buffer);

const RECORDS: [number, Buffer][] = [
  [1, record({ u8v: 200, s16v: -300, s32v: -70000, u64v: 0xffffffffffffffffn, s64v: -5n, flag: 1, name: 'bob', color: 7, low: 5, mid: 1000, high: 0xffff, port: 8080, delta: -2, word: 0x04030201, ports: [1, 2, 3], ptr: 0xffff888812345678n })],
  [2, record({})],
  // An enum value without a name, a char array that is not a string (control byte; no NUL).
  [3, record({ color: 5, name: Uint8Array.of(1, 0x61, 0, 0, 0, 0, 0, 0), s64v: -(1n << 63n), u8v: 255, delta: -128, low: 7, mid: 8191 })],
  [4, record({ name: 'abcdefgh', u64v: 1n << 53n, s32v: -1, word: 0xffffffff })],
];

/** Fills the fixture's maps through tsbpf's map API. */
function fill(loaded: BpftoolLoad): void {
  using records = BpfMap.loadPinned(`${loaded.maps}/records`);
  for (const [k, v] of RECORDS) records.update(u32(k), v);
  using perCpu = BpfMap.loadPinned(`${loaded.maps}/per_cpu`, { key: codec.u32, value: codec.u64big });
  // Per-CPU maps take one value per possible CPU; loadPinned's types cannot know the map is one.
  perCpu.update(1, Array.from({ length: possibleCpus() }, (_, cpu) => (BigInt(cpu) << 40n) + 7n) as unknown as bigint);
  using small = BpfMap.loadPinned(`${loaded.maps}/small`);
  small.update(u32(2), Buffer.from([0x50, 0x00, 0xff, 0x00]));
}

/**
 * Compares tsbpf's formatted value with bpftool's; returns the differences. Allowed: bpftool
 * prints bitfields as hex strings ("0x5") and pointers as numbers where tsbpf prints numbers
 * and hex strings, and wraps data sections as {".data": [{var: value}, ...]}.
 */
function differences(ours: unknown, theirs: unknown, path: string, out: string[]): void {
  const big = (v: unknown): bigint | undefined =>
    typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : typeof v === 'string' && /^(-?\d+|0x[0-9a-f]+)$/.test(v) ? BigInt(v) : undefined;
  if (theirs && typeof theirs === 'object' && !Array.isArray(theirs)) {
    const keys = Object.keys(theirs);
    const only = (theirs as Record<string, unknown>)[keys[0]!];
    if (keys.length === 1 && keys[0]!.startsWith('.') && Array.isArray(only)) theirs = Object.assign({}, ...only);
  }
  if (typeof ours === 'string' && /^0x[0-9a-f]+$/.test(ours)) {
    if (big(ours) !== big(theirs)) out.push(`${path}: tsbpf ${ours}, bpftool ${String(theirs)}`);
    return;
  }
  if (typeof theirs === 'string' && /^0x[0-9a-f]+$/.test(theirs)) {
    if (big(ours) !== big(theirs)) out.push(`${path}: tsbpf ${String(ours)}, bpftool ${theirs}`);
    return;
  }
  if (big(ours) !== undefined && big(theirs) !== undefined) {
    if (big(ours) !== big(theirs)) out.push(`${path}: tsbpf ${String(ours)}, bpftool ${String(theirs)}`);
    return;
  }
  if (Array.isArray(ours) && Array.isArray(theirs)) {
    if (ours.length !== theirs.length) out.push(`${path}: ${ours.length} elements, bpftool ${theirs.length}`);
    ours.forEach((v, i) => differences(v, theirs[i], `${path}[${i}]`, out));
    return;
  }
  if (ours && theirs && typeof ours === 'object' && typeof theirs === 'object' && !Array.isArray(ours) && !Array.isArray(theirs)) {
    const a = Object.keys(ours);
    const b = Object.keys(theirs);
    if (a.join() !== b.join()) out.push(`${path}: members ${a.join(',')}, bpftool ${b.join(',')}`);
    for (const k of a) differences((ours as Record<string, unknown>)[k], (theirs as Record<string, unknown>)[k], `${path}.${k}`, out);
    return;
  }
  if (ours !== theirs) out.push(`${path}: tsbpf ${JSON.stringify(ours)}, bpftool ${JSON.stringify(theirs)}`);
}

/** Dumps `target` with both tools and compares raw bytes exactly and formatted values as above. */
function compareDump(ours: Entry[], theirs: Entry[], label: string): string[] {
  const out: string[] = [];
  const byKey = new Map(theirs.map((e) => [e.key.join(), e]));
  if (ours.length !== theirs.length) out.push(`${label}: ${ours.length} entries, bpftool ${theirs.length}`);
  for (const e of ours) {
    const k = e.key.join();
    const b = byKey.get(k);
    if (!b) {
      out.push(`${label} key ${k}: not in bpftool's dump`);
      continue;
    }
    if (JSON.stringify(e.value) !== JSON.stringify(b.value)) out.push(`${label} key ${k}: value ${JSON.stringify(e.value)}, bpftool ${JSON.stringify(b.value)}`);
    if (JSON.stringify(e.values) !== JSON.stringify(b.values)) out.push(`${label} key ${k}: per-CPU values differ`);
    if ((e.formatted === undefined) !== (b.formatted === undefined)) out.push(`${label} key ${k}: formatted ${e.formatted !== undefined}, bpftool ${b.formatted !== undefined}`);
    else if (e.formatted) differences(e.formatted, b.formatted, `${label}[${k}]`, out);
  }
  return out;
}

kernelTest('maps with BTF: every entry, raw and formatted, as bpftool map dump shows it; by pin and by id alike', (t) => {
  const loaded = bpftoolLoadAll(compileFixture('cli.bpf.c'));
  t.teardown(loaded.remove);
  fill(loaded);
  const problems: string[] = [];
  let formatted = 0;
  for (const name of ['records', 'per_cpu', 'small', 'cli_data', 'cli_bss', 'cli_rodata']) {
    const pin = `${loaded.maps}/${name}`;
    const ours = tsbpfJson<Entry[]>('map', 'dump', pin);
    const theirs = bpftoolJson<Entry[]>('map', 'dump', 'pinned', pin);
    problems.push(...compareDump(ours, theirs, name));
    formatted += ours.filter((e) => e.formatted).length;
    const id = String(bpftoolJson<{ id: number }>('map', 'show', 'pinned', pin).id);
    t.deepEqual(tsbpfJson<Entry[]>('map', 'dump', id), ours, `${name}: by id as by pin`);
  }
  t.deepEqual(problems, []);
  t.true(formatted >= 4 + 2 + 3 + 3, `${formatted} formatted entries`);

  // Spot checks of the values themselves (the oracle could share a mistake).
  const records = new Map(tsbpfJson<Entry[]>('map', 'dump', `${loaded.maps}/records`).map((e) => [e.formatted?.key, e.formatted?.value as Record<string, unknown>]));
  t.like(records.get(1), { u8v: 200, s16v: -300, u64v: '18446744073709551615', flag: true, name: 'bob', color: 'BLUE', low: 5, mid: 1000, high: 65535, ptr: '0xffff888812345678' });
  t.like(records.get(1), { in: { port: 8080, delta: -2 }, either: { word: 67305985, bytes: [1, 2, 3, 4] }, ports: [1, 2, 3] });
  t.like(records.get(3), { color: 5, name: [1, 97, 0, 0, 0, 0, 0, 0], s64v: '-9223372036854775808', in: { port: 0, delta: -128 }, low: 7, mid: 8191 });
  t.like(records.get(4), { name: [97, 98, 99, 100, 101, 102, 103, 104], u64v: '9007199254740992', s32v: -1 });
  const perCpu = tsbpfJson<Entry[]>('map', 'dump', `${loaded.maps}/per_cpu`);
  t.deepEqual(
    perCpu.find((e) => e.formatted?.key === 1)?.formatted?.values?.map((v) => v.value),
    Array.from({ length: possibleCpus() }, (_, cpu) => Number((BigInt(cpu) << 40n) + 7n)),
  );
});

kernelTest('the human dump: one entry per key, structs on several lines when long, per-CPU values per CPU', (t) => {
  const loaded = bpftoolLoadAll(compileFixture('cli.bpf.c'));
  t.teardown(loaded.remove);
  fill(loaded);
  const r = tsbpf('map', 'dump', `${loaded.maps}/records`);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^map \d+ records \(hash, key 4 B, value 72 B\)$/m);
  for (const line of ['1: {', '  u64v: 18446744073709551615,', '  name: "bob",', '  color: BLUE,', '  in: { port: 8080, delta: -2 },', '  ptr: 0xffff888812345678', '  color: 5,'])
    t.true(r.stdout.split('\n').includes(line), line);
  t.regex(r.stdout, /^4 entries$/m);
  const small = tsbpf('map', 'dump', `${loaded.maps}/small`);
  t.true(small.stdout.split('\n').includes('2: { port: 80, delta: -1 }'), small.stdout);
  const perCpu = tsbpf('map', 'dump', `${loaded.maps}/per_cpu`);
  t.true(perCpu.stdout.includes(`1:\n  cpu0: 7\n`), perCpu.stdout);
  const data = tsbpf('map', 'dump', `${loaded.maps}/cli_data`);
  t.true(data.stdout.split('\n').includes('00 00 00 00: { label: "tsbpf" }'), data.stdout);
});

kernelTest('maps without BTF print raw bytes; failed lookups show their error; keyless maps are refused', (t) => {
  using hash = BpfMap.create({ type: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 8 });
  hash.update(u32(3), Buffer.from('0102030405060708', 'hex'));
  hash.update(u32(9), Buffer.alloc(8, 0xff));
  const id = String(hash.info().id);
  const problems = compareDump(tsbpfJson<Entry[]>('map', 'dump', id), bpftoolJson<Entry[]>('map', 'dump', 'id', id), 'hash');
  t.deepEqual(problems, []);
  const human = tsbpf('map', 'dump', id);
  t.regex(human.stdout, /, no BTF\)$/m);
  t.true(human.stdout.split('\n').includes('03 00 00 00: 01 02 03 04 05 06 07 08'));

  // Perf event arrays answer user-space lookups with ENOTSUPP: each entry carries the error.
  using perf = BpfMap.create({ type: MapType.PerfEventArray, keySize: 4, valueSize: 4, maxEntries: 2 });
  const perfId = String(perf.info().id);
  const ours = tsbpfJson<Entry[]>('map', 'dump', perfId);
  const theirs = bpftoolJson<Entry[]>('map', 'dump', 'id', perfId);
  t.deepEqual(ours.map((e) => e.key), theirs.map((e) => e.key));
  for (const e of [...ours, ...theirs]) t.truthy(e.value && 'error' in e.value, JSON.stringify(e));
  t.regex(tsbpf('map', 'dump', perfId).stdout, /^00 00 00 00: <ENOTSUPP>$/m);

  // A prog array's values read as program ids, as the kernel hands them out.
  using progs = BpfMap.create({ type: MapType.ProgArray, keySize: 4, valueSize: 4, maxEntries: 2 });
  using prog = Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: [asm.mov64Imm(asm.R0, 0), asm.exit()] });
  progs.update(u32(1), prog);
  const slots = tsbpfJson<Entry[]>('map', 'dump', String(progs.info().id));
  t.deepEqual(slots.map((e) => e.value), [[...u32(prog.id)].map((b) => `0x${b.toString(16).padStart(2, '0')}`)]);

  using queue = BpfMap.create({ type: MapType.Queue, keySize: 0, valueSize: 4, maxEntries: 2 });
  const q = tsbpf('map', 'dump', String(queue.info().id));
  t.is(q.status, 1);
  t.regex(q.stderr, /^tsbpf: map dump: map \d+ \(unnamed\) is a queue map: it has no keys to walk: .*\n$/);
});

kernelTest.serial('progress on a terminal for a dump that takes more than a second, none for a quick one or on a pipe', (t) => {
  const n = 60_000;
  using big = BpfMap.create({ type: MapType.Hash, key: codec.u32, value: codec.u64big, maxEntries: n });
  const keys = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < n; i += 10_000) big.updateBatch(keys.slice(i, i + 10_000), keys.slice(i, i + 10_000).map(BigInt));
  const id = String(big.info().id);
  // Progress from the first entry on: the test does not depend on how fast this machine is.
  const tty = tsbpfOnTty('map', 'dump', id, { TSBPF_PROGRESS_AFTER_MS: '0' });
  t.is(tty.status, 0);
  // (Boolean checks: a failing t.regex would print the whole 60,000-line output.)
  t.true(new RegExp(`^${n} entries\\r?$`, 'm').test(tty.stdout), tty.stdout.slice(-200));
  t.true(new RegExp(`\\rdumping map ${id}: \\d+ entries\\x1b\\[K`).test(tty.stdout), JSON.stringify(tty.stdout.slice(0, 200)));
  t.true(tty.stdout.includes('\r\x1b[K'), 'the progress line is erased at the end');
  const piped = tsbpf('map', 'dump', id);
  t.is(piped.stderr, '');
  using small = BpfMap.create({ type: MapType.Array, keySize: 4, valueSize: 4, maxEntries: 4 });
  const quick = tsbpfOnTty('map', 'dump', String(small.info().id));
  t.is(quick.status, 0);
  t.notRegex(quick.stdout, /dumping/);
});

test('a pinned path that does not exist is one line with ENOENT', (t) => {
  const r = tsbpf('map', 'dump', '/sys/fs/bpf/tsbpf-test-no-such-pin');
  t.is(r.status, 1);
  t.regex(r.stderr, /^tsbpf: BPF_OBJ_GET: cannot open the pin \/sys\/fs\/bpf\/tsbpf-test-no-such-pin: no such entry \(ENOENT\)/);
  t.is(r.stderr.split('\n').length, 2);
});
