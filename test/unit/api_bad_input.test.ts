// The bad-input matrix of the public API: wrong types, negative, huge, NaN and fractional
// numbers, closed handles, empty and oversized buffers, unknown option keys, strings with
// NUL bytes. Each row expects a BpfError with a given command, errno code and message
// fragment: never a TypeError or RangeError from deep inside, never a crash, and (unless
// the row says the kernel answers) no request reaching the kernel. Runs on the fake host.
import test, { type ExecutionContext } from 'ava';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AttachType,
  BatchCursor,
  Btf,
  BpfError,
  BpfMap,
  MapType,
  Program,
  ProgramType,
  asm,
  codec,
  features,
  loadCollectionSpec,
  sectionProgramType,
} from '../../src/index.js';
import { fakeCore } from '../helpers/fake.js';

interface Row {
  /** What the row tries. */
  name: string;
  call: () => unknown;
  /** The BpfError's command. */
  command: string;
  /** The BpfError's code ('EINVAL'). */
  code: string;
  /** A fragment of its message. */
  message: RegExp;
}

/** Runs the rows: each must throw exactly the BpfError it names. Lists every row that did not. */
function matrix(t: ExecutionContext, rows: Row[]): void {
  const wrong: string[] = [];
  for (const row of rows) {
    let thrown: unknown;
    try {
      row.call();
    } catch (e) {
      thrown = e;
    }
    if (thrown === undefined) {
      wrong.push(`${row.name}: did not throw`);
    } else if (!(thrown instanceof BpfError)) {
      const e = thrown as Error;
      wrong.push(`${row.name}: threw ${e?.constructor?.name ?? typeof e} (${e?.message ?? String(e)}), not a BpfError`);
    } else if (thrown.command !== row.command || thrown.code !== row.code || !row.message.test(thrown.message)) {
      wrong.push(`${row.name}: threw ${thrown.command} ${thrown.code} "${thrown.message}", expected ${row.command} ${row.code} ${row.message}`);
    }
  }
  t.deepEqual(wrong, [], `${wrong.length} of ${rows.length} rows`);
}

/** A fake kernel that loads programs and creates maps, and nothing else. */
function setup() {
  const s = fakeCore();
  s.host.on('BPF_PROG_LOAD', () => s.host.fd());
  s.host.on('BPF_MAP_CREATE', () => s.host.fd());
  return s;
}

const EINVAL = 'EINVAL';
const LOAD = 'BPF_PROG_LOAD';
const RUN = 'BPF_PROG_TEST_RUN';
const ret0 = [asm.mov64Imm(asm.R0, 0), asm.exit()];
const spec = { type: ProgramType.SocketFilter, license: 'MIT', instructions: ret0 };

/** The kinds of wrong numbers every integer option is tried with. */
const BAD_NUMBERS: [string, unknown][] = [
  ['negative', -1],
  ['fractional', 1.5],
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['above u32', 2 ** 32],
  ['a string', '1'],
  ['null', null],
];

test.serial('Program.load: bad specs are refused before the kernel, naming the option', (t) => {
  const { host, restore } = setup();
  t.teardown(restore);
  const rows: Row[] = [
    { name: 'spec null', call: () => Program.load(null as never), command: LOAD, code: EINVAL, message: /ProgramSpec must be an object/ },
    { name: 'spec a number', call: () => Program.load(42 as never), command: LOAD, code: EINVAL, message: /ProgramSpec must be an object/ },
    { name: 'unknown key', call: () => Program.load({ ...spec, licence: 'GPL' } as never), command: LOAD, code: EINVAL, message: /unknown option "licence"/ },
    { name: 'type unspec', call: () => Program.load({ ...spec, type: 0 as ProgramType }), command: LOAD, code: EINVAL, message: /BPF_PROG_TYPE_UNSPEC/ },
    { name: 'type unknown', call: () => Program.load({ ...spec, type: 9999 as ProgramType }), command: LOAD, code: EINVAL, message: /not a program type/ },
    ...BAD_NUMBERS.map(([what, v]): Row => ({ name: `type ${what}`, call: () => Program.load({ ...spec, type: v as ProgramType }), command: LOAD, code: EINVAL, message: /"type" must be an integer/ })),
    { name: 'license missing', call: () => Program.load({ ...spec, license: undefined as never }), command: LOAD, code: EINVAL, message: /"license" must be a string/ },
    { name: 'license a number', call: () => Program.load({ ...spec, license: 1 as never }), command: LOAD, code: EINVAL, message: /"license" must be a string/ },
    { name: 'license with a NUL', call: () => Program.load({ ...spec, license: 'MIT\0GPL' }), command: LOAD, code: EINVAL, message: /"license" must not contain a NUL/ },
    { name: 'name a number', call: () => Program.load({ ...spec, name: 5 as never }), command: LOAD, code: EINVAL, message: /"name" must be a string/ },
    { name: 'name too long', call: () => Program.load({ ...spec, name: 'n'.repeat(16) }), command: LOAD, code: EINVAL, message: /name.*(long|15)/ },
    { name: 'name with a bad character', call: () => Program.load({ ...spec, name: 'a-b' }), command: LOAD, code: EINVAL, message: /name/ },
    { name: 'name with a NUL', call: () => Program.load({ ...spec, name: 'a\0b' }), command: LOAD, code: EINVAL, message: /"name" must not contain a NUL/ },
    { name: 'instructions missing', call: () => Program.load({ ...spec, instructions: undefined as never }), command: LOAD, code: EINVAL, message: /"instructions" must be/ },
    { name: 'instructions a string', call: () => Program.load({ ...spec, instructions: 'r0 = 0' as never }), command: LOAD, code: EINVAL, message: /"instructions" must be/ },
    { name: 'bytecode not whole slots', call: () => Program.load({ ...spec, instructions: new Uint8Array(12) }), command: LOAD, code: EINVAL, message: /not a multiple of 8/ },
    { name: 'no instructions', call: () => Program.load({ ...spec, instructions: [] }), command: LOAD, code: EINVAL, message: /no instructions/ },
    { name: 'empty bytecode', call: () => Program.load({ ...spec, instructions: new Uint8Array(0) }), command: LOAD, code: EINVAL, message: /no instructions/ },
    { name: 'numbers for instructions', call: () => Program.load({ ...spec, instructions: [1, 2] as never }), command: 'asm.assemble', code: EINVAL, message: /instruction 0 is not an asm instruction/ },
    { name: 'register 11', call: () => Program.load({ ...spec, instructions: [asm.mov64Imm(11 as asm.Register, 0), asm.exit()] }), command: 'asm.assemble', code: EINVAL, message: /instruction 0/ },
    { name: 'map that is not a map', call: () => Program.load({ ...spec, instructions: [asm.ldMapFd(asm.R1, 'm'), ...ret0], maps: { m: 5 as never } }), command: 'asm.assemble', code: EINVAL, message: /"maps.m" must have an open map fd/ },
    { name: 'map with a negative fd', call: () => Program.load({ ...spec, instructions: [asm.ldMapFd(asm.R1, 'm'), ...ret0], maps: { m: { fd: -1 } } }), command: 'asm.assemble', code: EINVAL, message: /"maps.m" must have an open map fd/ },
    { name: 'expectedAttachType unknown', call: () => Program.load({ ...spec, expectedAttachType: 9999 as AttachType }), command: LOAD, code: EINVAL, message: /not an attach type/ },
    ...BAD_NUMBERS.map(([what, v]): Row => ({ name: `flags ${what}`, call: () => Program.load({ ...spec, flags: v as number }), command: LOAD, code: EINVAL, message: /"flags" must be an integer/ })),
    ...BAD_NUMBERS.map(([what, v]): Row => ({ name: `logSize ${what}`, call: () => Program.load({ ...spec, logSize: v as number }), command: LOAD, code: EINVAL, message: /"logSize" must be an integer/ })),
    { name: 'logLevel with unknown bits', call: () => Program.load({ ...spec, logLevel: 16 }), command: LOAD, code: EINVAL, message: /"logLevel" 16 has bits/ },
    { name: 'kernelVersion above u32', call: () => Program.load({ ...spec, kernelVersion: 2 ** 33 }), command: LOAD, code: EINVAL, message: /"kernelVersion" must be an integer/ },
    { name: 'attachTarget not a Program', call: () => Program.load({ ...spec, attachTarget: {} as Program }), command: LOAD, code: EINVAL, message: /"attachTarget" must be a Program/ },
    { name: 'attachProgFd negative', call: () => Program.load({ ...spec, attachProgFd: -1 }), command: LOAD, code: EINVAL, message: /"attachProgFd" must be an integer/ },
  ];
  matrix(t, rows);
  t.is(host.requests.length, 0, 'nothing reached the kernel');
});

test.serial('Program: bad inputs to test, run, benchmark, pin, attach and the static calls; closed handles', (t) => {
  const { host, restore } = setup();
  t.teardown(restore);
  const prog = Program.load(spec);
  const closed = Program.load(spec);
  closed.close();
  const pkt = new Uint8Array(64);
  const rows: Row[] = [
    { name: 'test() a string', call: () => prog.test('abc' as never), command: RUN, code: EINVAL, message: /"input" must be a Uint8Array/ },
    { name: 'test() null', call: () => prog.test(null as never), command: RUN, code: EINVAL, message: /"input" must be a Uint8Array/ },
    { name: 'run() null', call: () => prog.run(null as never), command: RUN, code: EINVAL, message: /RunOptions must be an object/ },
    { name: 'run() unknown key', call: () => prog.run({ data: pkt, repeats: 2 } as never), command: RUN, code: EINVAL, message: /unknown option "repeats"/ },
    { name: 'run() data a number', call: () => prog.run({ data: 5 as never }), command: RUN, code: EINVAL, message: /"data" must be a Uint8Array/ },
    { name: 'run() context a string', call: () => prog.run({ data: pkt, context: 'ctx' as never }), command: RUN, code: EINVAL, message: /"context" must be a Uint8Array/ },
    ...BAD_NUMBERS.map(([what, v]): Row => ({ name: `run() repeat ${what}`, call: () => prog.run({ data: pkt, repeat: v as number }), command: RUN, code: EINVAL, message: /repeat/ })),
    ...BAD_NUMBERS.map(([what, v]): Row => ({ name: `run() dataOutSize ${what}`, call: () => prog.run({ data: pkt, dataOutSize: v as number }), command: RUN, code: EINVAL, message: /"dataOutSize" must be an integer/ })),
    ...BAD_NUMBERS.map(([what, v]): Row => ({ name: `run() cpu ${what}`, call: () => prog.run({ data: pkt, cpu: v as number }), command: RUN, code: EINVAL, message: /"cpu" must be an integer/ })),
    { name: 'run() batchSize fractional', call: () => prog.run({ data: pkt, batchSize: 0.5 }), command: RUN, code: EINVAL, message: /"batchSize" must be an integer/ },
    { name: 'benchmark() repeat 0', call: () => prog.benchmark(pkt, 0), command: RUN, code: EINVAL, message: /"repeat" must be an integer of at least 1/ },
    { name: 'benchmark() repeat NaN', call: () => prog.benchmark(pkt, NaN), command: RUN, code: EINVAL, message: /"repeat"/ },
    { name: 'benchmark() repeat Infinity', call: () => prog.benchmark(pkt, Infinity), command: RUN, code: EINVAL, message: /"repeat"/ },
    { name: 'benchmark() repeat above u32', call: () => prog.benchmark(pkt, 2 ** 40), command: RUN, code: EINVAL, message: /repeat/ },
    { name: 'benchmark() input a number', call: () => prog.benchmark(7 as never, 1), command: RUN, code: EINVAL, message: /"input" must be a Uint8Array/ },
    { name: 'pin() a number', call: () => prog.pin(42 as never), command: 'BPF_OBJ_PIN', code: EINVAL, message: /"path" must be a string/ },
    { name: 'pin() empty', call: () => prog.pin(''), command: 'BPF_OBJ_PIN', code: EINVAL, message: /empty path/ },
    { name: 'pin() with a NUL', call: () => prog.pin('/sys/fs/bpf/a\0b'), command: 'BPF_OBJ_PIN', code: EINVAL, message: /"path" must not contain a NUL/ },
    { name: 'pin() too long', call: () => prog.pin(`/sys/fs/bpf/${'x'.repeat(5000)}`), command: 'BPF_OBJ_PIN', code: 'ENAMETOOLONG', message: /limit is 4095/ },
    { name: 'attach() target negative', call: () => prog.attach(-1, AttachType.CgroupInetIngress), command: 'BPF_PROG_ATTACH', code: EINVAL, message: /"target" must be an integer/ },
    { name: 'attach() target a string', call: () => prog.attach('3' as never, AttachType.CgroupInetIngress), command: 'BPF_PROG_ATTACH', code: EINVAL, message: /"target" must be an integer/ },
    { name: 'attach() unknown type', call: () => prog.attach(3, 9999 as AttachType), command: 'BPF_PROG_ATTACH', code: EINVAL, message: /not an attach type/ },
    { name: 'attach() flags NaN', call: () => prog.attach(3, AttachType.CgroupInetIngress, NaN), command: 'BPF_PROG_ATTACH', code: EINVAL, message: /"flags" must be an integer/ },
    { name: 'attach() replace not a Program', call: () => prog.attach(3, AttachType.CgroupInetIngress, 0, {} as Program), command: 'BPF_PROG_ATTACH', code: EINVAL, message: /"replace" must be a Program/ },
    { name: 'detach() target fractional', call: () => prog.detach(1.5, AttachType.CgroupInetIngress), command: 'BPF_PROG_DETACH', code: EINVAL, message: /"target" must be an integer/ },
    { name: 'attachSocket() negative', call: () => prog.attachSocket(-3), command: 'SO_ATTACH_BPF', code: EINVAL, message: /"socket" must be an integer/ },
    { name: 'Program.fromId(0)', call: () => Program.fromId(0), command: 'BPF_PROG_GET_FD_BY_ID', code: EINVAL, message: /"id" must be an integer from 1/ },
    { name: 'Program.fromId(2^32)', call: () => Program.fromId(2 ** 32), command: 'BPF_PROG_GET_FD_BY_ID', code: EINVAL, message: /"id" must be an integer/ },
    { name: 'Program.fromFd(-1)', call: () => Program.fromFd(-1), command: 'BPF_OBJ_GET_INFO_BY_FD', code: EINVAL, message: /"fd" must be an integer/ },
    { name: 'Program.loadPinned(42)', call: () => Program.loadPinned(42 as never), command: 'BPF_OBJ_GET', code: EINVAL, message: /"path" must be a string/ },
    { name: 'Program.loadPinned("")', call: () => Program.loadPinned(''), command: 'BPF_OBJ_GET', code: EINVAL, message: /empty path/ },
    { name: 'Program.loadPinned() with a NUL', call: () => Program.loadPinned('/sys/fs/bpf/x\0'), command: 'BPF_OBJ_GET', code: EINVAL, message: /"path" must not contain a NUL/ },
    { name: 'Program.query() target a string', call: () => Program.query('x' as never, AttachType.CgroupInetIngress), command: 'BPF_PROG_QUERY', code: EINVAL, message: /"target" must be an integer/ },
    { name: 'Program.query() unknown option', call: () => Program.query(3, AttachType.CgroupInetIngress, { effectiv: true } as never), command: 'BPF_PROG_QUERY', code: EINVAL, message: /unknown option "effectiv"/ },
    { name: 'Program.enableStats(-1)', call: () => Program.enableStats(-1 as never), command: 'BPF_ENABLE_STATS', code: EINVAL, message: /"type" must be an integer/ },
    { name: 'Program.detachSocket(NaN)', call: () => Program.detachSocket(NaN), command: 'SO_DETACH_BPF', code: EINVAL, message: /"socket" must be an integer/ },
    { name: 'closed: test()', call: () => closed.test(pkt), command: 'program', code: 'EBADF', message: /closed/ },
    { name: 'closed: run()', call: () => closed.run({ data: pkt }), command: 'program', code: 'EBADF', message: /closed/ },
    { name: 'closed: benchmark()', call: () => closed.benchmark(pkt, 10), command: 'program', code: 'EBADF', message: /closed/ },
    { name: 'closed: pin()', call: () => closed.pin('/sys/fs/bpf/x'), command: 'program', code: 'EBADF', message: /closed/ },
    { name: 'closed: attach()', call: () => closed.attach(3, AttachType.CgroupInetIngress), command: 'program', code: 'EBADF', message: /closed/ },
    { name: 'closed: info()', call: () => closed.info(), command: 'program', code: 'EBADF', message: /closed/ },
    { name: 'closed: clone()', call: () => closed.clone(), command: 'program', code: 'EBADF', message: /closed/ },
    { name: 'closed: as a map value', call: () => closed.marshalBinary(), command: 'program', code: 'EBADF', message: /closed/ },
    { name: 'closed: as attachTarget', call: () => Program.load({ ...spec, attachTarget: closed }), command: 'program', code: 'EBADF', message: /closed/ },
  ];
  matrix(t, rows);
  t.deepEqual(host.requests.map((r) => r.command), ['BPF_PROG_LOAD', 'BPF_PROG_LOAD'], 'only the two loads reached the kernel');
  prog.close();
});

const CREATE = 'BPF_MAP_CREATE';
const mapSpec = { type: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 16 };

test.serial('BpfMap.create: bad specs are refused before the kernel, naming the option', (t) => {
  const { host, restore } = setup();
  t.teardown(restore);
  const rows: Row[] = [
    { name: 'spec null', call: () => BpfMap.create(null as never), command: CREATE, code: EINVAL, message: /MapSpec must be an object/ },
    { name: 'spec a string', call: () => BpfMap.create('hash' as never), command: CREATE, code: EINVAL, message: /MapSpec must be an object/ },
    { name: 'unknown key', call: () => BpfMap.create({ ...mapSpec, maxEntry: 3 } as never), command: CREATE, code: EINVAL, message: /unknown option "maxEntry"/ },
    ...BAD_NUMBERS.map(([what, v]): Row => ({ name: `type ${what}`, call: () => BpfMap.create({ ...mapSpec, type: v as MapType }), command: CREATE, code: EINVAL, message: /"type" must be an integer/ })),
    ...BAD_NUMBERS.map(([what, v]): Row => ({ name: `keySize ${what}`, call: () => BpfMap.create({ ...mapSpec, keySize: v as number }), command: CREATE, code: EINVAL, message: /"keySize" must be an integer/ })),
    ...BAD_NUMBERS.map(([what, v]): Row => ({ name: `valueSize ${what}`, call: () => BpfMap.create({ ...mapSpec, valueSize: v as number }), command: CREATE, code: EINVAL, message: /"valueSize" must be an integer/ })),
    ...BAD_NUMBERS.map(([what, v]): Row => ({ name: `maxEntries ${what}`, call: () => BpfMap.create({ ...mapSpec, maxEntries: v as number }), command: CREATE, code: EINVAL, message: /"maxEntries" must be an integer/ })),
    ...BAD_NUMBERS.map(([what, v]): Row => ({ name: `flags ${what}`, call: () => BpfMap.create({ ...mapSpec, flags: v as number }), command: CREATE, code: EINVAL, message: /"flags" must be an integer/ })),
    { name: 'numaNode negative', call: () => BpfMap.create({ ...mapSpec, numaNode: -1 }), command: CREATE, code: EINVAL, message: /"numaNode" must be an integer/ },
    { name: 'mapExtra negative', call: () => BpfMap.create({ ...mapSpec, mapExtra: -1n }), command: CREATE, code: EINVAL, message: /"mapExtra"/ },
    { name: 'mapExtra above u64', call: () => BpfMap.create({ ...mapSpec, mapExtra: 1n << 64n }), command: CREATE, code: EINVAL, message: /"mapExtra"/ },
    { name: 'mapExtra a string', call: () => BpfMap.create({ ...mapSpec, mapExtra: '1' as never }), command: CREATE, code: EINVAL, message: /"mapExtra"/ },
    { name: 'name a number', call: () => BpfMap.create({ ...mapSpec, name: 3 as never }), command: CREATE, code: EINVAL, message: /"name" must be a string/ },
    { name: 'name too long', call: () => BpfMap.create({ ...mapSpec, name: 'm'.repeat(20) }), command: CREATE, code: EINVAL, message: /longer than 15/ },
    { name: 'name with a bad character', call: () => BpfMap.create({ ...mapSpec, name: 'a b' }), command: CREATE, code: EINVAL, message: /illegal character/ },
    { name: 'name with a NUL', call: () => BpfMap.create({ ...mapSpec, name: 'a\0' }), command: CREATE, code: EINVAL, message: /"name" must not contain a NUL/ },
    { name: 'key not a codec', call: () => BpfMap.create({ ...mapSpec, keySize: undefined, key: {} as never }), command: CREATE, code: EINVAL, message: /"key" must be a codec/ },
    { name: 'value a number', call: () => BpfMap.create({ ...mapSpec, valueSize: undefined, value: 8 as never }), command: CREATE, code: EINVAL, message: /"value" must be a codec/ },
    { name: 'codec and size disagree', call: () => BpfMap.create({ ...mapSpec, key: codec.u64 }), command: CREATE, code: EINVAL, message: /codec u64 is 8 bytes, but "keySize" is 4/ },
    { name: 'innerMap a number', call: () => BpfMap.create({ ...mapSpec, type: MapType.ArrayOfMaps, innerMap: 3 as never }), command: CREATE, code: EINVAL, message: /"innerMap" must be a BpfMap or a MapSpec/ },
    { name: 'innerMap a bad spec', call: () => BpfMap.create({ ...mapSpec, type: MapType.ArrayOfMaps, innerMap: { type: MapType.Hash } as never }), command: CREATE, code: EINVAL, message: /"keySize"|"maxEntries"/ },
  ];
  matrix(t, rows);
  t.is(host.requests.length, 0, 'nothing reached the kernel');
});

test.serial('BpfMap: bad keys, values, flags, batches and cursors; the wrong operation for the type; closed maps', (t) => {
  const { host, restore } = setup();
  t.teardown(restore);
  const raw = BpfMap.create(mapSpec);
  const typed = BpfMap.create({ type: MapType.Hash, key: codec.u32, value: codec.struct({ a: codec.u32, b: codec.u64 }), maxEntries: 16 });
  const queue = BpfMap.create({ type: MapType.Queue, keySize: 0, valueSize: 4, maxEntries: 4 });
  const closed = BpfMap.create(mapSpec);
  closed.close();
  const k4 = new Uint8Array(4);
  const v8 = new Uint8Array(8);
  const LOOKUP = 'BPF_MAP_LOOKUP_ELEM';
  const UPDATE = 'BPF_MAP_UPDATE_ELEM';
  const DELETE = 'BPF_MAP_DELETE_ELEM';
  const BATCH = 'BPF_MAP_LOOKUP_BATCH';
  const rows: Row[] = [
    { name: 'raw key too short', call: () => raw.lookup(new Uint8Array(3)), command: LOOKUP, code: EINVAL, message: /key is 3 bytes, but this map's keys are 4 bytes/ },
    { name: 'raw key empty', call: () => raw.lookup(new Uint8Array(0)), command: LOOKUP, code: EINVAL, message: /key is 0 bytes/ },
    { name: 'raw key oversized', call: () => raw.delete(new Uint8Array(1 << 20)), command: DELETE, code: EINVAL, message: /key is 1048576 bytes/ },
    { name: 'raw key a string', call: () => raw.lookup('abcd' as never), command: LOOKUP, code: EINVAL, message: /key must be 4 bytes/ },
    { name: 'raw key undefined', call: () => raw.lookup(undefined as never), command: LOOKUP, code: EINVAL, message: /key must be 4 bytes/ },
    { name: 'raw value too long', call: () => raw.update(k4, new Uint8Array(9)), command: UPDATE, code: EINVAL, message: /value is 9 bytes, but this map's values are 8 bytes/ },
    { name: 'raw value null', call: () => raw.update(k4, null as never), command: UPDATE, code: EINVAL, message: /value must be 8 bytes/ },
    ...BAD_NUMBERS.map(([what, v]): Row => ({ name: `update flags ${what}`, call: () => raw.update(k4, v8, v as number), command: UPDATE, code: EINVAL, message: /"flags" must be an integer/ })),
    { name: 'a Program as a hash value', call: () => raw.update(k4, Program.load(spec)), command: UPDATE, code: EINVAL, message: /a Program is a value only in prog arrays/ },
    ...BAD_NUMBERS.map(([what, v]): Row => ({ name: `u32 key ${what}`, call: () => typed.lookup(v as number), command: LOOKUP, code: EINVAL, message: /key must be an integer from 0 to 4294967295/ })),
    { name: 'u32 key a bigint', call: () => typed.lookup(1n as never), command: LOOKUP, code: EINVAL, message: /key must be an integer/ },
    { name: 'struct value missing a field', call: () => typed.update(1, { a: 1 } as never), command: UPDATE, code: EINVAL, message: /value is missing field "b"/ },
    { name: 'struct value with an extra field', call: () => typed.update(1, { a: 1, b: 2, c: 3 } as never), command: UPDATE, code: EINVAL, message: /unknown field "c"/ },
    { name: 'struct field NaN', call: () => typed.update(1, { a: NaN, b: 2 }), command: UPDATE, code: EINVAL, message: /field "a" must be an integer/ },
    { name: 'struct field above 2^53', call: () => typed.update(1, { a: 1, b: 2 ** 60 }), command: UPDATE, code: EINVAL, message: /field "b" must be an integer from 0 to 2\^53-1/ },
    { name: 'struct value an array', call: () => typed.update(1, [1, 2] as never), command: UPDATE, code: EINVAL, message: /must be an object with fields a, b/ },
    { name: 'lookup into a short out buffer', call: () => raw.lookup(k4, new Uint8Array(4)), command: LOOKUP, code: EINVAL, message: /"out" must be a Uint8Array of 8 bytes/ },
    { name: 'batch cursor not a cursor', call: () => raw.lookupBatch({} as never, 4), command: BATCH, code: EINVAL, message: /"cursor" must be a BatchCursor/ },
    ...[0, -1, 1.5, NaN, 2 ** 25, '4'].map((v): Row => ({ name: `batch count ${String(v)}`, call: () => raw.lookupBatch(new BatchCursor(), v as number), command: BATCH, code: EINVAL, message: /"count" must be an integer from 1/ })),
    { name: 'raw batch with mismatched buffers', call: () => raw.lookupBatchRaw(new BatchCursor(), new Uint8Array(8), new Uint8Array(8)), command: BATCH, code: EINVAL, message: /must hold the same number of entries/ },
    { name: 'raw batch with empty buffers', call: () => raw.lookupBatchRaw(new BatchCursor(), new Uint8Array(0), new Uint8Array(0)), command: BATCH, code: EINVAL, message: /must hold the same number of entries/ },
    { name: 'update batch keys a string', call: () => raw.updateBatch('keys' as never, [v8]), command: 'BPF_MAP_UPDATE_BATCH', code: EINVAL, message: /"keys" must be an array or a Uint8Array/ },
    { name: 'update batch with more keys than values', call: () => raw.updateBatch([k4, k4], [v8]), command: 'BPF_MAP_UPDATE_BATCH', code: EINVAL, message: /2 keys but 1 values/ },
    { name: 'update batch packed keys not whole', call: () => raw.updateBatch(new Uint8Array(6), new Uint8Array(8)), command: 'BPF_MAP_UPDATE_BATCH', code: EINVAL, message: /"keys" holds 6 bytes, not a multiple of 4/ },
    { name: 'update batch with a short key', call: () => raw.updateBatch([k4, new Uint8Array(2)], [v8, v8]), command: 'BPF_MAP_UPDATE_BATCH', code: EINVAL, message: /keys\[1\] is 2 bytes/ },
    { name: 'delete batch flags NaN', call: () => raw.deleteBatch([k4], NaN), command: 'BPF_MAP_DELETE_BATCH', code: EINVAL, message: /"flags" must be an integer/ },
    { name: 'push on a hash map', call: () => raw.push(v8), command: UPDATE, code: EINVAL, message: /push\(\) is for queues/ },
    { name: 'pop on a hash map', call: () => raw.pop(), command: 'BPF_MAP_LOOKUP_AND_DELETE_ELEM', code: EINVAL, message: /pop\(\) is for queues and stacks/ },
    { name: 'lookup on a queue', call: () => queue.lookup(k4), command: LOOKUP, code: EINVAL, message: /queue maps have no keys: use peek\(\)/ },
    { name: 'nextKey on a queue', call: () => queue.nextKey(), command: 'BPF_MAP_GET_NEXT_KEY', code: EINVAL, message: /queue maps have no keys/ },
    { name: 'push a short value on a queue', call: () => queue.push(new Uint8Array(2)), command: UPDATE, code: EINVAL, message: /value is 2 bytes/ },
    { name: 'contains on a queue', call: () => queue.contains(new Uint8Array(4)), command: LOOKUP, code: EINVAL, message: /contains\(\) is for bloom filters/ },
    { name: 'memory() of a hash map', call: () => raw.memory(), command: 'mmap', code: EINVAL, message: /only array maps created with MapFlags.Mmapable/ },
    { name: 'unpin() without a pin', call: () => raw.unpin(), command: 'unpin', code: EINVAL, message: /was not pinned/ },
    { name: 'pin() with a NUL', call: () => raw.pin('/sys/fs/bpf/m\0'), command: 'BPF_OBJ_PIN', code: EINVAL, message: /must not contain a NUL/ },
    { name: 'BpfMap.fromId(-1)', call: () => BpfMap.fromId(-1), command: 'BPF_MAP_GET_FD_BY_ID', code: EINVAL, message: /"id" must be an integer/ },
    { name: 'BpfMap.fromId() unknown option', call: () => BpfMap.fromId(1, { keyCodec: codec.u32 } as never), command: 'BPF_MAP_GET_FD_BY_ID', code: EINVAL, message: /unknown option "keyCodec"/ },
    { name: 'BpfMap.loadPinned("")', call: () => BpfMap.loadPinned(''), command: 'BPF_OBJ_GET', code: EINVAL, message: /empty path/ },
    { name: 'BpfMap.loadPinned() flags -1', call: () => BpfMap.loadPinned('/sys/fs/bpf/x', { flags: -1 }), command: 'BPF_OBJ_GET', code: EINVAL, message: /"flags" must be an integer/ },
    { name: 'closed: lookup()', call: () => closed.lookup(k4), command: 'map', code: 'EBADF', message: /this map is closed/ },
    { name: 'closed: update()', call: () => closed.update(k4, v8), command: 'map', code: 'EBADF', message: /closed/ },
    { name: 'closed: delete()', call: () => closed.delete(k4), command: 'map', code: 'EBADF', message: /closed/ },
    { name: 'closed: keys()', call: () => [...closed.keys()], command: 'map', code: 'EBADF', message: /closed/ },
    { name: 'closed: lookupBatch()', call: () => closed.lookupBatch(new BatchCursor(), 4), command: 'map', code: 'EBADF', message: /closed/ },
    { name: 'closed: updateBatch()', call: () => closed.updateBatch([k4], [v8]), command: 'map', code: 'EBADF', message: /closed/ },
    { name: 'closed: push()', call: () => closed.push(v8), command: 'map', code: 'EBADF', message: /closed/ },
    { name: 'closed: memory()', call: () => closed.memory(), command: 'map', code: 'EBADF', message: /closed/ },
    { name: 'closed: freeze()', call: () => closed.freeze(), command: 'map', code: 'EBADF', message: /closed/ },
    { name: 'closed: pin()', call: () => closed.pin('/sys/fs/bpf/x'), command: 'map', code: 'EBADF', message: /closed/ },
    { name: 'closed: as an inner map', call: () => BpfMap.create({ ...mapSpec, type: MapType.ArrayOfMaps, keySize: 4, valueSize: 4, innerMap: closed }), command: 'map', code: 'EBADF', message: /closed/ },
    { name: 'closed: as an asm map', call: () => asm.assemble([asm.ldMapFd(asm.R1, 'm'), ...ret0], { maps: { m: closed } }), command: 'map', code: 'EBADF', message: /closed/ },
  ];
  matrix(t, rows);
  const reached = host.requests.map((r) => r.command).filter((c) => c !== 'BPF_MAP_CREATE' && c !== 'BPF_PROG_LOAD');
  t.deepEqual(reached, [], 'no element request reached the kernel');
  for (const m of [raw, typed, queue]) m.close();
});

test.serial('asm: bad operands are InstructionErrors naming the instruction; bad options are refused', (t) => {
  const { restore } = setup();
  t.teardown(restore);
  const ASM = 'asm.assemble';
  const one = (insn: asm.Instruction) => () => asm.assemble([insn, asm.exit()]);
  const rows: Row[] = [
    { name: 'register 11', call: one(asm.mov64Imm(11 as asm.Register, 1)), command: ASM, code: EINVAL, message: /instruction 0/ },
    { name: 'register -1', call: one(asm.mov64Reg(asm.R0, -1 as asm.Register)), command: ASM, code: EINVAL, message: /src/ },
    { name: 'register a string', call: one(asm.mov64Reg(asm.R0, 'r1' as never)), command: ASM, code: EINVAL, message: /src/ },
    { name: 'immediate above i32', call: one(asm.mov64Imm(asm.R0, 2 ** 31)), command: ASM, code: EINVAL, message: /imm/ },
    { name: 'immediate NaN', call: one(asm.mov64Imm(asm.R0, NaN)), command: ASM, code: EINVAL, message: /imm/ },
    { name: 'immediate fractional', call: one(asm.add64Imm(asm.R0, 0.5)), command: ASM, code: EINVAL, message: /imm/ },
    { name: 'offset above i16', call: one(asm.ldxW(asm.R0, asm.R1, 40000)), command: ASM, code: EINVAL, message: /off/ },
    { name: 'offset fractional', call: one(asm.stxDW(asm.R10, asm.R1, -7.5)), command: ASM, code: EINVAL, message: /off/ },
    { name: 'jump to a missing label', call: () => asm.assemble([asm.ja('nowhere'), asm.exit()]), command: ASM, code: EINVAL, message: /nowhere/ },
    { name: 'jump offset NaN', call: one(asm.jeqImm(asm.R0, 1, NaN)), command: ASM, code: EINVAL, message: /off/ },
    { name: 'division by zero', call: one(asm.div64Imm(asm.R0, 0)), command: ASM, code: EINVAL, message: /instruction 0/ },
    { name: 'shift beyond 63', call: one(asm.lsh64Imm(asm.R0, 64)), command: ASM, code: EINVAL, message: /instruction 0/ },
    { name: 'a label named with a NUL', call: () => asm.assemble([asm.label('a\0b'), asm.exit()]), command: ASM, code: EINVAL, message: /NUL|label/ },
    { name: 'ld_imm64 of a huge bigint', call: one(asm.ldImm64(asm.R0, 1n << 64n)), command: ASM, code: EINVAL, message: /imm/ },
    { name: 'instructions a string', call: () => asm.assemble('exit' as never), command: ASM, code: EINVAL, message: /instructions must be an array/ },
    { name: 'assemble() unknown option', call: () => asm.assemble([asm.exit()], { fragmnt: true } as never), command: ASM, code: EINVAL, message: /unknown option "fragmnt"/ },
    { name: 'decode() a string', call: () => asm.decode('\x95' as never), command: 'asm.decode', code: EINVAL, message: /bytecode must be a Uint8Array/ },
    { name: 'decode() 7 bytes', call: () => asm.decode(new Uint8Array(7)), command: 'asm.decode', code: EINVAL, message: /7 bytes|multiple of 8/ },
    { name: 'decode() an unknown opcode', call: () => asm.decode(new Uint8Array([0xff, 0, 0, 0, 0, 0, 0, 0])), command: 'asm.decode', code: EINVAL, message: /slot 0|0xff/ },
    { name: 'disassemble() null', call: () => asm.disassemble(null as never), command: 'asm.disassemble', code: EINVAL, message: /must be/ },
    { name: 'programTag() unknown algorithm', call: () => asm.programTag(new Uint8Array(8), 'md5' as never), command: 'asm.programTag', code: EINVAL, message: /md5/ },
  ];
  matrix(t, rows);
});

test.serial('loadCollectionSpec and features: bad arguments are BpfErrors', (t) => {
  const { host, restore } = setup();
  t.teardown(restore);
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-bad-input-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const junk = join(dir, 'junk.o');
  writeFileSync(junk, 'not an object');
  const OPEN = 'loadCollectionSpec';
  const rows: Row[] = [
    { name: 'a number', call: () => loadCollectionSpec(42 as never), command: OPEN, code: EINVAL, message: /expected a file path or the bytes/ },
    { name: 'null', call: () => loadCollectionSpec(null as never), command: OPEN, code: EINVAL, message: /expected a file path or the bytes/ },
    { name: 'an array of bytes', call: () => loadCollectionSpec([0x7f, 0x45] as never), command: OPEN, code: EINVAL, message: /expected a file path or the bytes/ },
    { name: 'an empty path', call: () => loadCollectionSpec(''), command: OPEN, code: EINVAL, message: /empty path/ },
    { name: 'a path with a NUL', call: () => loadCollectionSpec(`${junk}\0.o`), command: OPEN, code: EINVAL, message: /"path" must not contain a NUL/ },
    { name: 'a missing file', call: () => loadCollectionSpec(join(dir, 'missing.o')), command: OPEN, code: 'ENOENT', message: /cannot read .*missing\.o/ },
    { name: 'a directory', call: () => loadCollectionSpec(dir), command: OPEN, code: 'EISDIR', message: /cannot read .*tsbpf-bad-input/ },
    { name: 'a file that is no ELF', call: () => loadCollectionSpec(junk), command: OPEN, code: EINVAL, message: /junk\.o: ELF: 13 bytes are too few/ },
    { name: 'no bytes', call: () => loadCollectionSpec(new Uint8Array(0)), command: OPEN, code: EINVAL, message: /ELF: 0 bytes/ },
    { name: 'bytes that are no ELF', call: () => loadCollectionSpec(new Uint8Array(100).fill(0x7f)), command: OPEN, code: EINVAL, message: /not an ELF file/ },
    { name: 'sectionProgramType() with a NUL', call: () => sectionProgramType('xdp\0'), command: 'sectionProgramType', code: EINVAL, message: /must not contain a NUL/ },
    { name: 'sectionProgramType() a number', call: () => sectionProgramType(5 as never), command: 'sectionProgramType', code: EINVAL, message: /must be a string/ },
    { name: 'features.probe(unknown)', call: () => features.probe(9999 as never), command: 'features.probe', code: EINVAL, message: /"feature" must be an integer from 0 to/ },
    { name: 'features.probe("ringbuf")', call: () => features.probe('ringbuf' as never), command: 'features.probe', code: EINVAL, message: /"feature" must be an integer/ },
    { name: 'features.programType(-1)', call: () => features.programType(-1 as ProgramType), command: 'features.programType', code: EINVAL, message: /"type" must be an integer/ },
    { name: 'features.mapType(NaN)', call: () => features.mapType(NaN as MapType), command: 'features.mapType', code: EINVAL, message: /"type" must be an integer/ },
    { name: 'features.helper(type, 1.5)', call: () => features.helper(ProgramType.SocketFilter, 1.5 as never), command: 'features.helper', code: EINVAL, message: /"helper" must be an integer/ },
    { name: 'features.helper("xdp", 1)', call: () => features.helper('xdp' as never, 1 as never), command: 'features.helper', code: EINVAL, message: /"prog" must be an integer/ },
    { name: 'features.probeAll() unknown option', call: () => features.probeAll({ everything: true } as never), command: 'features.probeAll', code: EINVAL, message: /unknown option "everything"/ },
    { name: 'features.probeAll() onProgress not a function', call: () => features.probeAll({ onProgress: 1 } as never), command: 'features.probeAll', code: EINVAL, message: /"onProgress" must be a function/ },
  ];
  matrix(t, rows);
  t.is(host.requests.length, 0, 'no probe reached the kernel');
});

test.serial('Btf: bad blobs, options, ids and names are BpfErrors', (t) => {
  const { host, restore } = setup();
  t.teardown(restore);
  const OP = 'BTF';
  // A minimal valid blob: the header, one INT type, the strings "\0int\0".
  const hdr = [0x9f, 0xeb, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 16, 0, 0, 0, 5, 0, 0, 0];
  const int = [1, 0, 0, 0, 0, 0, 0, 1, 4, 0, 0, 0, 32, 0, 0, 0];
  const good = new Uint8Array([...hdr, ...int, 0, 0x69, 0x6e, 0x74, 0]);
  const btf = Btf.parse(good);
  const rows: Row[] = [
    { name: 'parse() a string', call: () => Btf.parse('btf' as never), command: OP, code: EINVAL, message: /"data" must be/ },
    { name: 'parse() no bytes', call: () => Btf.parse(new Uint8Array(0)), command: OP, code: EINVAL, message: /too few for the 24-byte header/ },
    { name: 'parse() a cut header', call: () => Btf.parse(good.subarray(0, 20)), command: OP, code: EINVAL, message: /too few/ },
    { name: 'parse() a cut type', call: () => Btf.parse(good.subarray(0, 30)), command: OP, code: EINVAL, message: /runs past|section/ },
    { name: 'parse() base not a Btf', call: () => Btf.parse(good, { base: {} as never }), command: OP, code: EINVAL, message: /"base" must be a Btf/ },
    { name: 'parse() unknown option', call: () => Btf.parse(good, { bas: btf } as never), command: OP, code: EINVAL, message: /unknown option "bas"/ },
    { name: 'load() a path with a NUL', call: () => Btf.load('/sys/kernel/btf/vmlinux\0x'), command: OP, code: EINVAL, message: /must not contain a NUL/ },
    { name: 'load() an empty path', call: () => Btf.load(''), command: OP, code: EINVAL, message: /empty path/ },
    { name: 'load() a missing file', call: () => Btf.load('/nonexistent/btf'), command: OP, code: 'ENOENT', message: /cannot read \/nonexistent\/btf/ },
    { name: 'type(-1)', call: () => btf.type(-1), command: OP, code: EINVAL, message: /"id" must be an integer/ },
    { name: 'type(1.5)', call: () => btf.type(1.5), command: OP, code: EINVAL, message: /"id" must be an integer/ },
    { name: 'type(past the end)', call: () => btf.type(2), command: OP, code: 'ENOENT', message: /no type \[2\]/ },
    { name: 'typeByName(42)', call: () => btf.typeByName(42 as never), command: OP, code: EINVAL, message: /"name" must be a string/ },
    { name: 'typeByName() unknown kind', call: () => btf.typeByName('int', 'INTEGER' as never), command: OP, code: EINVAL, message: /unknown BTF kind "INTEGER"/ },
    { name: 'typeByName() missing', call: () => btf.typeByName('long'), command: OP, code: 'ENOENT', message: /no type named "long"/ },
    { name: 'sizeof(void)', call: () => btf.sizeof(0), command: OP, code: EINVAL, message: /void has no size/ },
    { name: 'sizeof(NaN)', call: () => btf.sizeof(NaN), command: OP, code: EINVAL, message: /"id" must be an integer/ },
    { name: 'string(past the end)', call: () => btf.string(100), command: OP, code: 'ERANGE', message: /outside the string section/ },
    { name: 'declTags() component -2', call: () => btf.declTags(1, -2), command: OP, code: EINVAL, message: /"componentIdx" must be an integer/ },
  ];
  matrix(t, rows);
  t.is(btf.typeByName('int').id, 1, 'the blob itself is fine');
  t.is(host.requests.length, 0);
});
