// Differential test: thousands of random operations on real maps, each checked against a
// JavaScript model of the kernel's semantics, errors included (EEXIST, ENOENT, E2BIG,
// EINVAL). A failure names the seed and the step; rerun one with TSBPF_SEED=<seed>.
import type { ExecutionContext } from 'ava';
import { BatchCursor, BpfError, BpfMap, MapFlags, MapType, UpdateFlags, codec } from '../../src/index.js';
import { kernelTest } from '../helpers/kernel.js';

const STEPS = 4000;
const SEED = Number(process.env.TSBPF_SEED ?? 0x5eed);

/** mulberry32: a small seeded PRNG, so a failure can be replayed exactly. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What a map operation returns or throws, in a form both sides can be compared in. */
type Outcome = { ok: unknown } | { error: string };

function outcome(fn: () => unknown): Outcome {
  try {
    return { ok: fn() };
  } catch (e) {
    if (e instanceof BpfError) return { error: e.code };
    throw e;
  }
}

/** The kernel's rules for one map type, over a JavaScript Map. */
interface Model {
  readonly entries: Map<number, number>;
  update(k: number, v: number, flags: number): Outcome;
  lookup(k: number): Outcome;
  delete(k: number): Outcome;
  lookupAndDelete(k: number): Outcome;
  /** Outcomes a run must include ("update EEXIST", "lookup", ...). */
  readonly expect: Record<string, true>;
}

function hashModel(max: number, full: boolean): Model {
  const m = new Map<number, number>();
  const expect: Record<string, true> = { update: true, 'update EEXIST': true, 'update ENOENT': true, lookup: true, delete: true, lookupAndDelete: true, entries: true };
  if (full) expect['update E2BIG'] = true;
  return {
    entries: m,
    expect,
    update(k, v, flags) {
      const has = m.has(k);
      if (flags === UpdateFlags.NoExist && has) return { error: 'EEXIST' };
      if (flags === UpdateFlags.Exist && !has) return { error: 'ENOENT' };
      if (!has && m.size >= max) return { error: 'E2BIG' };
      m.set(k, v);
      return { ok: undefined };
    },
    lookup: (k) => ({ ok: m.get(k) }),
    delete: (k) => ({ ok: m.delete(k) }),
    lookupAndDelete(k) {
      const v = m.get(k);
      m.delete(k);
      return { ok: v };
    },
  };
}

function arrayModel(max: number): Model {
  const m = new Map<number, number>();
  for (let k = 0; k < max; k++) m.set(k, 0);
  return {
    entries: m,
    expect: { update: true, 'update EEXIST': true, 'update E2BIG': true, lookup: true, 'delete EINVAL': true, 'lookupAndDelete ENOTSUPP': true, entries: true },
    update(k, v, flags) {
      if (k >= max) return { error: 'E2BIG' }; // checked before the flags
      if (flags === UpdateFlags.NoExist) return { error: 'EEXIST' };
      m.set(k, v);
      return { ok: undefined };
    },
    lookup: (k) => ({ ok: m.get(k) }),
    delete: () => ({ error: 'EINVAL' }),
    lookupAndDelete: () => ({ error: 'ENOTSUPP' }),
  };
}

const FLAGS = [UpdateFlags.Any, UpdateFlags.NoExist, UpdateFlags.Exist];

function run(t: ExecutionContext, type: MapType, maxEntries: number, keySpace: number, model: Model, seed: number, flags = 0): void {
  using map = BpfMap.create({ type, key: codec.u32, value: codec.u32, maxEntries, flags });
  const random = rng(seed);
  const pick = (n: number) => Math.floor(random() * n);
  const counts: Record<string, number> = {};
  for (let step = 0; step < STEPS; step++) {
    const k = pick(keySpace);
    const v = pick(2 ** 32);
    const r = random();
    let op: string;
    let got: Outcome;
    let want: Outcome;
    if (r < 0.4) {
      const flags = FLAGS[pick(3)]!;
      op = `update(${k}, ${v}, ${flags})`;
      got = outcome(() => map.update(k, v, flags));
      want = model.update(k, v, flags);
    } else if (r < 0.65) {
      op = `lookup(${k})`;
      got = outcome(() => map.lookup(k));
      want = model.lookup(k);
    } else if (r < 0.85) {
      op = `delete(${k})`;
      got = outcome(() => map.delete(k));
      want = model.delete(k);
    } else if (r < 0.95) {
      op = `lookupAndDelete(${k})`;
      got = outcome(() => map.lookupAndDelete(k));
      want = model.lookupAndDelete(k);
    } else {
      // The whole content, two ways: the element walk and a batch lookup.
      op = 'entries()';
      got = { ok: [...map.entries()].sort((a, b) => a[0] - b[0]) };
      want = { ok: [...model.entries].sort((a, b) => a[0] - b[0]) };
      if (JSON.stringify(got) === JSON.stringify(want)) {
        op = 'lookupBatch()';
        const cursor = new BatchCursor();
        const all: [number, number][] = [];
        while (!cursor.done) {
          const b = map.lookupBatch(cursor, 64);
          b.keys.forEach((key, i) => all.push([key, b.values[i]!]));
        }
        got = { ok: all.sort((a, b) => a[0] - b[0]) };
      }
    }
    const name = op.replace(/\(.*/, '').replace('lookupBatch', 'entries');
    const key = 'error' in want ? `${name} ${want.error}` : name;
    counts[key] = (counts[key] ?? 0) + 1;
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      t.fail(`seed ${seed}, step ${step}: ${op} gave ${JSON.stringify(got)}, the model says ${JSON.stringify(want)}`);
      return;
    }
  }
  t.log(`seed ${seed}: ${Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  // Every kind of outcome the model knows must have come up, or the run proved little.
  for (const expected of Object.keys(model.expect)) t.true((counts[expected] ?? 0) > 0, `no "${expected}" in ${STEPS} steps`);
}

kernelTest(`hash map against the model (${STEPS} random steps)`, (t) => {
  const model = hashModel(1024, false);
  run(t, MapType.Hash, 1024, 200, model, SEED);
});

kernelTest(`small hash map reaching max_entries against the model, E2BIG included (${STEPS} random steps)`, (t) => {
  run(t, MapType.Hash, 12, 40, hashModel(12, true), SEED + 1);
});

kernelTest(`small hash map without preallocation against the model (${STEPS} random steps)`, (t) => {
  run(t, MapType.Hash, 16, 40, hashModel(16, true), SEED + 2, MapFlags.NoPrealloc);
});

kernelTest(`array map against the model (${STEPS} random steps)`, (t) => {
  run(t, MapType.Array, 32, 40, arrayModel(32), SEED + 3);
});
