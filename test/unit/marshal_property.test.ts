// Marshalling round trips through the real core, with fast-check, on a fake kernel that
// keeps map elements in the kernel's layout:
//  - map values of any size, per-CPU or not, through update, lookup, batch update and batch
//    lookup: the kernel sees each CPU's value in an 8-byte-rounded slot with zeroed padding,
//    and every value comes back as it went in;
//  - struct codecs of random fields: decode(encode(v)) is v, and the layout agrees with the
//    core's BTF layout rules (a struct described in BTF with the codec's offsets is neither
//    packed nor misaligned for the core);
//  - BTF built by an independent writer (test/helpers/btf_builder.ts), standalone or split on
//    a base: every type decodes to what was written, lookups by name find exactly the types
//    of that name in id order, sizes match a model.
import test from 'ava';
import fc from 'fast-check';
import { attrU32, setAttrU32 } from '../../bridge/fake_host.js';
import { BatchCursor, Btf, BpfMap, MapType, codec, possibleCpus, type Codec } from '../../src/index.js';
import { BtfBuilder } from '../helpers/btf_builder.js';
import { fakeCore } from '../helpers/fake.js';

const ELEM = { key: 8, value: 16 };
const BATCH = { in_batch: 0, out_batch: 8, keys: 16, values: 24, count: 32 };
const ENOENT = 2;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * A fake kernel hash map: elements stored as the kernel stores them (key bytes -> value
 * bytes in the kernel's layout), element and batch commands, batch positions as indexes.
 */
function fakeMap(s: ReturnType<typeof fakeCore>, kernelValueLen: number, seen: Uint8Array[]) {
  const store = new Map<string, { key: Uint8Array; value: Uint8Array }>();
  s.host.on('BPF_MAP_CREATE', () => s.host.fd());
  s.host.on('BPF_MAP_UPDATE_ELEM', (req) => {
    const key = req.buffer(ELEM.key)!.data.slice();
    const value = req.buffer(ELEM.value)!.data.slice();
    if (value.length !== kernelValueLen) return -22;
    seen.push(value);
    store.set(hex(key), { key, value });
    return 0;
  });
  s.host.on('BPF_MAP_LOOKUP_ELEM', (req) => {
    const e = store.get(hex(req.buffer(ELEM.key)!.data));
    if (!e) return -ENOENT;
    req.buffer(ELEM.value)!.data.set(e.value);
    return 0;
  });
  s.host.on('BPF_MAP_UPDATE_BATCH', (req) => {
    const n = attrU32(req.attr, BATCH.count);
    const keys = req.buffer(BATCH.keys)!.data;
    const values = req.buffer(BATCH.values)!.data;
    const ks = keys.length / n;
    if (values.length !== n * kernelValueLen) return -22;
    for (let i = 0; i < n; i++) {
      const value = values.slice(i * kernelValueLen, (i + 1) * kernelValueLen);
      seen.push(value);
      store.set(hex(keys.subarray(i * ks, (i + 1) * ks)), { key: keys.slice(i * ks, (i + 1) * ks), value });
    }
    return 0;
  });
  s.host.on('BPF_MAP_LOOKUP_BATCH', (req) => {
    const count = attrU32(req.attr, BATCH.count);
    const inBatch = req.buffer(BATCH.in_batch);
    const start = inBatch ? new DataView(inBatch.data.buffer, inBatch.data.byteOffset).getUint32(0, true) : 0;
    const all = [...store.values()];
    const keys = req.buffer(BATCH.keys)!.data;
    const values = req.buffer(BATCH.values)!.data;
    const ks = keys.length / count;
    const n = Math.min(count, all.length - start);
    for (let i = 0; i < n; i++) {
      keys.set(all[start + i]!.key, i * ks);
      values.set(all[start + i]!.value, i * kernelValueLen);
    }
    new DataView(req.buffer(BATCH.out_batch)!.data.buffer, req.buffer(BATCH.out_batch)!.data.byteOffset).setUint32(0, start + n, true);
    setAttrU32(req.attr, BATCH.count, n);
    return start + n >= all.length ? -ENOENT : 0;
  });
  return store;
}

test.serial('map values of any size, per-CPU or not, survive update, lookup and batches in the kernel layout', (t) => {
  const cpus = possibleCpus();
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 0, max: 0xffff_ffff }),
      (perCpu, valueSize, entries, batchSize, seed) => {
        const s = fakeCore();
        try {
          const slot = perCpu ? (valueSize + 7) & ~7 : valueSize;
          const kernelLen = perCpu ? slot * cpus : valueSize;
          const seen: Uint8Array[] = [];
          fakeMap(s, kernelLen, seen);
          const m = BpfMap.create({ type: perCpu ? MapType.PercpuHash : MapType.Hash, key: codec.u32, valueSize, maxEntries: 64 });
          // Deterministic values from the seed: each CPU's value differs.
          let x = seed;
          const byte = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24);
          const valueOf = (): Uint8Array | Uint8Array[] => {
            const one = () => Uint8Array.from({ length: valueSize }, byte);
            return perCpu ? Array.from({ length: cpus }, one) : one();
          };
          const want = new Map<number, Uint8Array | Uint8Array[]>();
          const half = Math.ceil(entries / 2);
          for (let k = 0; k < half; k++) {
            const v = valueOf();
            want.set(k, v);
            m.update(k, v as never);
          }
          const rest = Array.from({ length: entries - half }, (_, i) => half + i);
          const restValues = rest.map(() => valueOf());
          rest.forEach((k, i) => want.set(k, restValues[i]!));
          if (rest.length) m.updateBatch(rest, restValues as never);
          // What the kernel holds: each CPU's bytes in its slot, padding zeroed.
          for (const kv of seen) {
            for (let c = 0; c < (perCpu ? cpus : 1); c++)
              for (let b = valueSize; b < slot; b++) if (kv[c * slot + b] !== 0) return false;
          }
          const same = (a: unknown, b: Uint8Array | Uint8Array[]) =>
            Array.isArray(b) ? Array.isArray(a) && a.length === b.length && b.every((v, i) => hex(a[i] as Uint8Array) === hex(v)) : hex(a as Uint8Array) === hex(b);
          for (const [k, v] of want) if (!same(m.lookup(k), v)) return false;
          const cursor = new BatchCursor();
          const got = new Map<number, unknown>();
          while (!cursor.done) {
            const { keys, values } = m.lookupBatch(cursor, batchSize);
            keys.forEach((k, i) => got.set(k as number, values[i]));
          }
          if (got.size !== want.size) return false;
          for (const [k, v] of want) if (!same(got.get(k), v)) return false;
          m.close();
          return true;
        } finally {
          s.restore();
        }
      },
    ),
    { numRuns: 150 },
  );
  t.pass();
});

// ---- struct codecs ---------------------------------------------------------------------------

interface Field {
  name: string;
  codec: Codec<unknown>;
  value: fc.Arbitrary<unknown>;
  /** BTF: an INT of this many bytes, or an array of them. */
  btf: { size: number; count: number; signed: boolean };
}

const scalar = (c: Codec<unknown>, value: fc.Arbitrary<unknown>, signed = false): Omit<Field, 'name'> => ({
  codec: c,
  value,
  btf: { size: c.size, count: 1, signed },
});

const FIELD_KINDS: Omit<Field, 'name'>[] = [
  scalar(codec.u8, fc.integer({ min: 0, max: 0xff })),
  scalar(codec.i8, fc.integer({ min: -0x80, max: 0x7f }), true),
  scalar(codec.u16, fc.integer({ min: 0, max: 0xffff })),
  scalar(codec.i16, fc.integer({ min: -0x8000, max: 0x7fff }), true),
  scalar(codec.u32, fc.integer({ min: 0, max: 0xffff_ffff })),
  scalar(codec.i32, fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }), true),
  scalar(codec.u64, fc.maxSafeNat()),
  scalar(codec.i64, fc.maxSafeInteger(), true),
  scalar(codec.u64big, fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })),
  scalar(codec.i64big, fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), true),
  scalar(codec.f64, fc.double({ noNaN: true })),
  scalar(codec.bool, fc.boolean()),
  { codec: codec.array(codec.u16, 3), value: fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 3, maxLength: 3 }), btf: { size: 2, count: 3, signed: false } },
  { codec: codec.array(codec.u32, 2), value: fc.array(fc.integer({ min: 0, max: 0xffff_ffff }), { minLength: 2, maxLength: 2 }), btf: { size: 4, count: 2, signed: false } },
  { codec: codec.cstring(5), value: fc.string({ unit: fc.constantFrom('a', 'b', 'z', '0'), maxLength: 5 }), btf: { size: 1, count: 5, signed: true } },
];

const fieldsArb: fc.Arbitrary<Field[]> = fc
  .array(fc.integer({ min: 0, max: FIELD_KINDS.length - 1 }), { minLength: 1, maxLength: 10 })
  .map((kinds) => kinds.map((k, i) => ({ name: `f${i}`, ...FIELD_KINDS[k]! })));

test.serial('struct codecs: encode then decode is the identity, and the layout is one the core accepts as C layout', (t) => {
  fc.assert(
    fc.property(
      fieldsArb.chain((fields) => fc.tuple(fc.constant(fields), fc.tuple(...fields.map((f) => f.value)))),
      ([fields, values]) => {
        const c = codec.struct(Object.fromEntries(fields.map((f) => [f.name, f.codec])));
        const obj = Object.fromEntries(fields.map((f, i) => [f.name, values[i]]));
        const mem = new Uint8Array(c.size + 16).fill(0xee);
        const dv = new DataView(mem.buffer);
        c.encode(obj, dv, mem, 8);
        // Nothing written outside the struct.
        if (mem.subarray(0, 8).some((b) => b !== 0xee) || mem.subarray(8 + c.size).some((b) => b !== 0xee)) return false;
        const back = c.decode(dv, mem, 8) as Record<string, unknown>;
        for (const [i, f] of fields.entries()) {
          const v = values[i];
          const w = back[f.name];
          if (f.codec === codec.f64 ? !Object.is(w, v) && !(v === 0 && w === 0) : JSON.stringify(w, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x)) !== JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x)))
            return false;
        }
        // The same struct in BTF, with the codec's member offsets: the core's layout rules must
        // find it naturally aligned (not packed) and of the codec's alignment.
        const b = new BtfBuilder();
        const ints = new Map<string, number>();
        const intOf = (size: number, signed: boolean) => {
          const key = `${size}${signed}`;
          if (!ints.has(key)) ints.set(key, b.int(`i${key}`, size, signed));
          return ints.get(key)!;
        };
        const idx = intOf(4, false);
        let off = 0;
        const members: [string, number, number][] = fields.map((f) => {
          const el = intOf(f.btf.size, f.btf.signed);
          const type = f.btf.count > 1 || f.codec.name.startsWith('char[') ? b.array(el, idx, f.btf.count) : el;
          const a = f.codec.align;
          off = Math.ceil(off / a) * a;
          const at = off;
          off += f.codec.size;
          return [f.name, type, at * 8];
        });
        const id = b.struct('s', c.size, members);
        const btf = Btf.parse(b.build());
        return btf.sizeof(id) === c.size && btf.alignof(id) === c.align;
      },
    ),
    { numRuns: 300 },
  );
  t.pass();
});

// ---- BTF writer -> core parser ----------------------------------------------------------------

type Spec =
  | { kind: 'INT'; name: string; size: number; signed: boolean }
  | { kind: 'PTR' | 'CONST' | 'VOLATILE' | 'RESTRICT'; ref: number }
  | { kind: 'TYPEDEF' | 'TYPE_TAG'; name: string; ref: number }
  | { kind: 'ARRAY'; ref: number; nelems: number }
  | { kind: 'STRUCT' | 'UNION'; name: string; members: [string, number, number][] }
  | { kind: 'ENUM'; name: string; values: [string, number][] }
  | { kind: 'FWD'; name: string; union: boolean }
  | { kind: 'FUNC_PROTO'; ret: number; params: [string, number][] }
  | { kind: 'FLOAT'; name: string; size: number }
  | { kind: 'DECL_TAG'; name: string; ref: number; component: number };

/** Few names, so that several types share one: lookups by name must return them all, in order. */
const nameArb = fc.constantFrom('a', 'b', 'ab', 'task', 'x_y', 'long');

/** A type whose references point at earlier ids (0 is void), as a compiler writes them. */
function specArb(count: number, start: number): fc.Arbitrary<Spec> {
  const ref = fc.integer({ min: 0, max: start + count - 1 });
  return fc.oneof(
    fc.record({ kind: fc.constant('INT' as const), name: nameArb, size: fc.constantFrom(1, 2, 4, 8, 16), signed: fc.boolean() }),
    fc.record({ kind: fc.constantFrom('PTR' as const, 'CONST' as const, 'VOLATILE' as const, 'RESTRICT' as const), ref }),
    fc.record({ kind: fc.constantFrom('TYPEDEF' as const, 'TYPE_TAG' as const), name: nameArb, ref }),
    fc.record({ kind: fc.constant('ARRAY' as const), ref, nelems: fc.integer({ min: 0, max: 20 }) }),
    fc.record({ kind: fc.constantFrom('STRUCT' as const, 'UNION' as const), name: nameArb, members: fc.array(fc.tuple(nameArb, ref, fc.integer({ min: 0, max: 256 })), { maxLength: 4 }) }),
    fc.record({ kind: fc.constant('ENUM' as const), name: nameArb, values: fc.array(fc.tuple(nameArb, fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff })), { maxLength: 4 }) }),
    fc.record({ kind: fc.constant('FWD' as const), name: nameArb, union: fc.boolean() }),
    fc.record({ kind: fc.constant('FUNC_PROTO' as const), ret: ref, params: fc.array(fc.tuple(nameArb, ref), { maxLength: 3 }) }),
    fc.record({ kind: fc.constant('FLOAT' as const), name: nameArb, size: fc.constantFrom(4, 8) }),
    fc.record({ kind: fc.constant('DECL_TAG' as const), name: nameArb, ref: ref.filter((r) => r > 0), component: fc.integer({ min: -1, max: 3 }) }),
  );
}

/** Writes the specs with the builder; returns each one's id. */
function write(b: BtfBuilder, specs: Spec[], anInt: number): number[] {
  return specs.map((s) => {
    switch (s.kind) {
      case 'INT':
        return b.int(s.name, s.size, s.signed);
      case 'PTR':
        return b.ptr(s.ref);
      case 'CONST':
      case 'VOLATILE':
      case 'RESTRICT':
        return b.qual(s.kind, s.ref);
      case 'TYPEDEF':
        return b.typedef(s.name, s.ref);
      case 'TYPE_TAG':
        return b.typeTag(s.name, s.ref);
      case 'ARRAY':
        return b.array(s.ref, anInt, s.nelems);
      case 'STRUCT':
      case 'UNION':
        return b.struct(s.name, 64, s.members, s.kind === 'UNION');
      case 'ENUM':
        return b.enum(s.name, 4, s.values, true);
      case 'FWD':
        return b.fwd(s.name, s.union);
      case 'FUNC_PROTO':
        return b.funcProto(s.ret, s.params);
      case 'FLOAT':
        return b.float(s.name, s.size);
      case 'DECL_TAG':
        return b.declTag(s.name, s.ref, s.component);
    }
  });
}

/** The size a C compiler gives a type, with the core's depth limit; undefined for no size. */
function modelSizeof(all: Map<number, Spec>, id: number, depth = 0): number | undefined | 'deep' {
  if (depth >= 32) return 'deep';
  const s = all.get(id);
  if (!s) return undefined;
  switch (s.kind) {
    case 'INT':
    case 'FLOAT':
      return s.size;
    case 'STRUCT':
    case 'UNION':
      return 64;
    case 'ENUM':
      return 4;
    case 'PTR':
      return 8;
    case 'CONST':
    case 'VOLATILE':
    case 'RESTRICT':
    case 'TYPEDEF':
    case 'TYPE_TAG':
      return modelSizeof(all, s.ref, depth + 1);
    case 'ARRAY': {
      if (s.nelems === 0) return 0;
      const el = modelSizeof(all, s.ref, depth + 1);
      return typeof el === 'number' ? el * s.nelems : el;
    }
    default:
      return undefined;
  }
}

function checkTypes(btf: Btf, all: Map<number, Spec>, names: Map<number, string>): string | undefined {
  for (const [id, s] of all) {
    const got = btf.type(id) as unknown as Record<string, unknown>;
    if (got.kind !== s.kind) return `[${id}] kind ${String(got.kind)}, wrote ${s.kind}`;
    const name = 'name' in s ? s.name : '';
    if (got.name !== name) return `[${id}] name "${String(got.name)}", wrote "${name}"`;
    switch (s.kind) {
      case 'INT':
        if (got.size !== s.size || got.signed !== s.signed || got.bits !== s.size * 8) return `[${id}] INT ${JSON.stringify(got)}`;
        break;
      case 'PTR':
      case 'CONST':
      case 'VOLATILE':
      case 'RESTRICT':
      case 'TYPEDEF':
      case 'TYPE_TAG':
        if (got.type !== s.ref) return `[${id}] type ${String(got.type)}, wrote ${s.ref}`;
        break;
      case 'ARRAY':
        if (got.type !== s.ref || got.nelems !== s.nelems) return `[${id}] ARRAY ${JSON.stringify(got)}`;
        break;
      case 'STRUCT':
      case 'UNION': {
        const m = got.members as { name: string; type: number; bitOffset: number }[];
        if (m.length !== s.members.length || m.some((x, i) => x.name !== s.members[i]![0] || x.type !== s.members[i]![1] || x.bitOffset !== s.members[i]![2]))
          return `[${id}] members ${JSON.stringify(m)}`;
        break;
      }
      case 'ENUM': {
        const v = got.values as { name: string; value: bigint }[];
        if (v.length !== s.values.length || v.some((x, i) => x.name !== s.values[i]![0] || x.value !== BigInt(s.values[i]![1])))
          return `[${id}] values ${JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? String(x) : x))}`;
        break;
      }
      case 'FUNC_PROTO': {
        const p = got.params as { name: string; type: number }[];
        if (got.returnType !== s.ret || p.length !== s.params.length || p.some((x, i) => x.name !== s.params[i]![0] || x.type !== s.params[i]![1]))
          return `[${id}] FUNC_PROTO ${JSON.stringify(got)}`;
        break;
      }
      case 'DECL_TAG':
        if (got.type !== s.ref || got.componentIdx !== s.component) return `[${id}] DECL_TAG ${JSON.stringify(got)}`;
        break;
      default:
    }
    const size = modelSizeof(all, id);
    if (typeof size === 'number' && size <= 0x7fff_ffff) {
      if (btf.sizeof(id) !== size) return `[${id}] sizeof ${btf.sizeof(id)}, model ${size}`;
    } else if (size === undefined && s.kind !== 'ARRAY') {
      try {
        btf.sizeof(id);
        return `[${id}] ${s.kind} has a size`;
      } catch {
        /* no size: right */
      }
    }
  }
  for (const name of new Set(names.values())) {
    const want = [...names].filter(([, n]) => n === name).map(([id]) => id);
    const got = btf.typesByName(name).map((x) => x.id);
    if (JSON.stringify(got) !== JSON.stringify(want)) return `typesByName("${name}") ${JSON.stringify(got)}, want ${JSON.stringify(want)}`;
  }
  return undefined;
}

test.serial('BTF from an independent writer parses back type by type, by name and by size; split BTF continues its base', (t) => {
  const { restore } = fakeCore();
  t.teardown(restore);
  const typesArb = (start: number) =>
    fc.integer({ min: 1, max: 30 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => specArb(i, start))));
  let failure: string | undefined;
  fc.assert(
    fc.property(typesArb(2), typesArb(40), fc.boolean(), (baseSpecs, splitSpecs, split) => {
      // Base: an INT for array indexes first, then the random types.
      const b = new BtfBuilder();
      const anInt = b.int('idx', 4);
      const baseIds = write(b, baseSpecs, anInt);
      const all = new Map<number, Spec>([[anInt, { kind: 'INT', name: 'idx', size: 4, signed: false }]]);
      baseIds.forEach((id, i) => all.set(id, baseSpecs[i]!));
      const base = Btf.parse(b.build());
      let btf = base;
      if (split) {
        // Split references must stay below the split's own ids as written: remap the random
        // references (drawn relative to 40) into the base's and the split's id space.
        const sb = new BtfBuilder({ endId: base.endId, strLen: b.stringLength });
        const shift = (r: number) => (r < 40 ? Math.min(r, base.endId - 1) : base.endId + (r - 40));
        const specs = splitSpecs.map((s): Spec => {
          const fix = { ...s } as Spec & { ref?: number; ret?: number };
          if ('ref' in fix && fix.ref !== undefined) fix.ref = shift(fix.ref) || (s.kind === 'DECL_TAG' ? 1 : 0);
          if ('ret' in fix && fix.ret !== undefined) fix.ret = shift(fix.ret);
          if (fix.kind === 'STRUCT' || fix.kind === 'UNION') fix.members = fix.members.map(([n, r, o]) => [n, shift(r), o]);
          if (fix.kind === 'FUNC_PROTO') fix.params = fix.params.map(([n, r]) => [n, shift(r)]);
          return fix;
        });
        const ids = write(sb, specs, anInt);
        ids.forEach((id, i) => all.set(id, specs[i]!));
        btf = Btf.parse(sb.build(), { base });
        if (btf.startId !== base.endId) {
          failure = `split starts at ${btf.startId}, base ends at ${base.endId}`;
          return false;
        }
      }
      const names = new Map<number, string>();
      for (const [id, s] of all) if ('name' in s && s.name) names.set(id, s.name);
      failure = checkTypes(btf, all, names);
      return failure === undefined;
    }),
    { numRuns: 200 },
  );
  t.is(failure, undefined);
});
