// `tsbpf prog list/show` and `tsbpf map list/show` through a child process, against what
// bpftool says about the same objects (`bpftool prog show --json`, `bpftool map show --json`).
// The objects are the cli fixture loaded by bpftool itself, plus a program and a map the
// test creates with tsbpf; other tests on the machine load and close objects meanwhile, so
// only these are compared.
import test from 'ava';
import { BpfMap, MapType, Program, ProgramType, asm } from '../../src/index.js';
import { eachObject } from '../../src/cli/objects.js';
import { bpftoolJson, bpftoolLoadAll, tsbpf, tsbpfJson } from '../helpers/cli.js';
import { kernelTest } from '../helpers/kernel.js';
import { compileFixture } from '../helpers/tools.js';

interface ProgRow {
  id: number;
  type: string;
  name: string;
  tag: string;
  gplCompatible: boolean;
  loadedAt: number;
  loadedAtIso: string;
  uid: number;
  xlatedBytes: number;
  jited: boolean;
  jitedBytes: number;
  memlockBytes: number;
  mapIds: number[];
  btfId?: number;
  verifiedInstructions?: number;
}

interface BpftoolProg {
  id: number;
  type: string;
  name?: string;
  tag: string;
  gpl_compatible: boolean;
  loaded_at: number;
  uid: number;
  bytes_xlated: number;
  jited: boolean;
  bytes_jited?: number;
  bytes_memlock: number;
  map_ids?: number[];
  btf_id?: number;
}

interface MapRow {
  id: number;
  type: string;
  name: string;
  flags: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  memlockBytes: number;
  btfId: number;
  frozen: boolean;
  keyType?: string;
  valueType?: string;
  pinned?: string;
}

interface BpftoolMap {
  id: number;
  type: string;
  name?: string;
  flags: number;
  bytes_key: number;
  bytes_value: number;
  max_entries: number;
  bytes_memlock: number;
  frozen: number;
  btf_id?: number;
}

/** Our record in bpftool's terms, field by field. */
function asBpftoolProg(r: ProgRow): Record<string, unknown> {
  return {
    id: r.id,
    type: r.type,
    name: r.name || undefined,
    tag: r.tag,
    gpl_compatible: r.gplCompatible,
    uid: r.uid,
    bytes_xlated: r.xlatedBytes,
    jited: r.jited,
    bytes_jited: r.jited ? r.jitedBytes : undefined,
    bytes_memlock: r.memlockBytes,
    map_ids: r.mapIds.length ? r.mapIds : undefined,
    btf_id: r.btfId,
  };
}

function pickProg(b: BpftoolProg): Record<string, unknown> {
  const { id, type, name, tag, gpl_compatible, uid, bytes_xlated, jited, bytes_jited, bytes_memlock, map_ids, btf_id } = b;
  return { id, type, name, tag, gpl_compatible, uid, bytes_xlated, jited, bytes_jited, bytes_memlock, map_ids, btf_id };
}

function asBpftoolMap(r: MapRow): Record<string, unknown> {
  return {
    id: r.id,
    type: r.type,
    name: r.name || undefined,
    flags: r.flags,
    bytes_key: r.keySize,
    bytes_value: r.valueSize,
    max_entries: r.maxEntries,
    bytes_memlock: r.memlockBytes,
    frozen: r.frozen ? 1 : 0,
    btf_id: r.btfId || undefined,
  };
}

function pickMap(b: BpftoolMap): Record<string, unknown> {
  const { id, type, name, flags, bytes_key, bytes_value, max_entries, bytes_memlock, frozen, btf_id } = b;
  return { id, type, name, flags, bytes_key, bytes_value, max_entries, bytes_memlock, frozen, btf_id };
}

const socketFilter = (): Program =>
  Program.load({ type: ProgramType.SocketFilter, name: 'tsbpf_cli_test', license: 'MIT', instructions: [asm.mov64Imm(asm.R0, 7), asm.exit()] });

kernelTest('prog list: our programs as bpftool prog show sees them; closed ones are gone', (t) => {
  const loaded = bpftoolLoadAll(compileFixture('cli.bpf.c'));
  t.teardown(loaded.remove);
  using own = socketFilter();
  const closed = socketFilter();
  const closedId = closed.id;
  closed.close();
  const ids = [
    bpftoolJson<BpftoolProg>('prog', 'show', 'pinned', `${loaded.progs}/count`).id,
    bpftoolJson<BpftoolProg>('prog', 'show', 'pinned', `${loaded.progs}/pass`).id,
    own.id,
  ];
  const listed = new Map(tsbpfJson<ProgRow[]>('prog', 'list').map((r) => [r.id, r]));
  t.false(listed.has(closedId), 'a closed program is not listed');
  for (const id of ids) {
    const ours = listed.get(id);
    t.truthy(ours, `program ${id} is listed`);
    if (!ours) continue;
    const theirs = bpftoolJson<BpftoolProg>('prog', 'show', 'id', String(id));
    t.deepEqual(asBpftoolProg(ours), pickProg(theirs), `program ${id}`);
    // Both turn the boot-relative load time into wall-clock seconds, each with its own clock reading.
    t.true(Math.abs(ours.loadedAt - theirs.loaded_at) <= 2, `loaded_at ${ours.loadedAt} vs ${theirs.loaded_at}`);
    t.is(Math.floor(new Date(ours.loadedAtIso).getTime() / 1000), ours.loadedAt);
  }
  t.is(listed.get(own.id)?.name, 'tsbpf_cli_test');
  t.is(listed.get(ids[0]!)?.mapIds.length, 5, 'count uses records, per_cpu and three data maps');
  t.true((listed.get(ids[0]!)?.verifiedInstructions ?? 0) > 0);

  const human = tsbpf('prog', 'list');
  t.is(human.status, 0, human.stderr);
  t.regex(human.stdout, /^id +type +name +tag +loaded at +uid +xlated +jited +memlock +maps +btf$/m);
  for (const id of ids) {
    const r = listed.get(id)!;
    t.regex(human.stdout, new RegExp(`^${id} +${r.type} +${r.name} +${r.tag} +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +${r.uid} +${r.xlatedBytes} +${r.jitedBytes} +${r.memlockBytes} +${r.mapIds.join(',') || '-'} +${r.btfId ?? '-'}$`, 'm'));
  }
  t.regex(human.stdout, /^\d+ programs?$/m);
});

kernelTest('prog show: by id and by pin, with its maps by name', (t) => {
  const loaded = bpftoolLoadAll(compileFixture('cli.bpf.c'));
  t.teardown(loaded.remove);
  const pin = `${loaded.progs}/count`;
  const theirs = bpftoolJson<BpftoolProg>('prog', 'show', 'pinned', pin);
  const byId = tsbpfJson<ProgRow & { maps: { id: number; name: string }[]; pinned?: string }>('prog', 'show', String(theirs.id));
  const byPin = tsbpfJson<ProgRow & { maps: { id: number; name: string }[]; pinned?: string }>('prog', 'show', pin);
  t.deepEqual(asBpftoolProg(byId), pickProg(theirs));
  // Each process reads the boot time anew: the load time may land on either side of a second.
  const stable = (r: typeof byId) => ({ ...r, pinned: undefined, loadedAt: undefined, loadedAtIso: undefined });
  t.deepEqual(stable(byPin), stable(byId));
  t.true(Math.abs(byPin.loadedAt - byId.loadedAt) <= 1);
  t.is(byPin.pinned, pin);
  t.is(byId.pinned, undefined);
  const names = new Map(byId.maps.map((m) => [m.id, m.name]));
  for (const id of theirs.map_ids!) t.is(names.get(id), bpftoolJson<BpftoolMap>('map', 'show', 'id', String(id)).name, `map ${id}`);
  t.deepEqual([...names.values()].sort(), ['cli.bss', 'cli.data', 'cli.rodata', 'per_cpu', 'records']);
  const human = tsbpf('prog', 'show', pin);
  t.is(human.status, 0, human.stderr);
  t.regex(human.stdout, new RegExp(`^id +${theirs.id}$`, 'm'));
  t.regex(human.stdout, new RegExp(`^tag +${theirs.tag}$`, 'm'));
  t.regex(human.stdout, new RegExp(`^translated +${theirs.bytes_xlated} bytes \\(${theirs.bytes_xlated / 8} instructions\\)$`, 'm'));
  t.regex(human.stdout, /^maps +\d+ \(records\), /m);
  t.regex(human.stdout, new RegExp(`^pinned +${pin}$`, 'm'));
});

kernelTest('map list and map show: our maps as bpftool map show sees them', (t) => {
  const loaded = bpftoolLoadAll(compileFixture('cli.bpf.c'));
  t.teardown(loaded.remove);
  using own = BpfMap.create({ type: MapType.LruHash, keySize: 8, valueSize: 16, maxEntries: 64, name: 'tsbpf_cli_map' });
  const frozen = BpfMap.create({ type: MapType.Array, keySize: 4, valueSize: 4, maxEntries: 1 });
  t.teardown(() => frozen.close());
  frozen.freeze();
  const pins = ['records', 'small', 'per_cpu', 'cli_rodata'].map((n) => `${loaded.maps}/${n}`);
  const ids = [...pins.map((p) => bpftoolJson<BpftoolMap>('map', 'show', 'pinned', p).id), own.info().id, frozen.info().id];
  const listed = new Map(tsbpfJson<MapRow[]>('map', 'list').map((r) => [r.id, r]));
  for (const id of ids) {
    const ours = listed.get(id);
    t.truthy(ours, `map ${id} is listed`);
    if (ours) t.deepEqual(asBpftoolMap(ours), pickMap(bpftoolJson<BpftoolMap>('map', 'show', 'id', String(id))), `map ${id}`);
  }
  t.true(listed.get(frozen.info().id)?.frozen);
  t.true(listed.get(ids[3]!)?.frozen, '.rodata is frozen by libbpf');
  const human = tsbpf('map', 'list');
  t.is(human.status, 0, human.stderr);
  t.regex(human.stdout, /^id +type +name +flags +key +value +max entries +memlock +btf +frozen$/m);
  t.regex(human.stdout, new RegExp(`^${own.info().id} +lru_hash +tsbpf_cli_map +0x0 +8 +16 +64 +\\d+ +-$`, 'm'));

  const shown = tsbpfJson<MapRow>('map', 'show', pins[0]!);
  t.deepEqual(asBpftoolMap(shown), pickMap(bpftoolJson<BpftoolMap>('map', 'show', 'pinned', pins[0]!)));
  t.deepEqual([shown.keyType, shown.valueType, shown.pinned], ['__u32', 'struct record', pins[0]]);
  const small = tsbpf('map', 'show', String(ids[1]));
  t.is(small.status, 0, small.stderr);
  t.regex(small.stdout, /^flags +0x80 \(rdonly_prog\)$/m);
  t.regex(small.stdout, /^value +4 bytes \(struct inner\)$/m);
  t.notRegex(small.stdout, /^pinned/m);
  const noBtf = tsbpfJson<MapRow>('map', 'show', String(own.info().id));
  t.deepEqual([noBtf.btfId, noBtf.keyType, noBtf.valueType], [0, undefined, undefined]);
});

kernelTest('objects that vanish between the id walk and opening them are skipped, not errors', (t) => {
  using kept = socketFilter();
  const gone = socketFilter();
  const goneId = gone.id;
  gone.close();
  const seen = [...eachObject(() => [goneId, kept.id], (id) => Program.fromId(id), (p) => p.id)];
  t.deepEqual(seen, [kept.id]);
  // Other failures are not swallowed.
  t.throws(() => [...eachObject(() => [1], () => { throw new Error('boom'); }, () => 0)], { message: 'boom' });
});

test('an id out of range is a usage error', (t) => {
  for (const args of [['prog', 'show', '0'], ['map', 'show', '4294967296'], ['map', 'dump', '00']]) {
    const r = tsbpf(...args);
    t.is(r.status, 2, args.join(' '));
    t.regex(r.stderr, /^tsbpf: \d+ is not an object id \(1 to 4294967295\) \(see tsbpf --help\)\n$/);
  }
});

kernelTest('a pin of the other kind is refused in one line', (t) => {
  const loaded = bpftoolLoadAll(compileFixture('cli.bpf.c'));
  t.teardown(loaded.remove);
  const cases: [string[], RegExp][] = [
    [['map', 'show', `${loaded.progs}/count`], /^tsbpf: BPF_OBJ_GET: \S+\/count is a pinned prog, not a map: invalid argument \(EINVAL\)\n$/],
    [['map', 'dump', `${loaded.progs}/pass`], /^tsbpf: BPF_OBJ_GET: \S+\/pass is a pinned prog, not a map/],
    [['prog', 'show', `${loaded.maps}/records`], /^tsbpf: BPF_OBJ_GET: \S+\/records is a pinned map, not a program: invalid argument \(EINVAL\)\n$/],
  ];
  for (const [args, message] of cases) {
    const r = tsbpf(...args);
    t.is(r.status, 1, args.join(' '));
    t.regex(r.stderr, message);
    t.is(r.stdout, '');
  }
});
