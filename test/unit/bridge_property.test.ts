// Properties of the bridge's choke point, with fast-check: for any request a tampered core
// could send (fix-ups out of bounds, overlapping, of huge or wrapping lengths, nested under
// bad parents, on unaligned holders, aliasing one pointer field), the syscall host either
// refuses it with an EFAULT BpfError before anything is copied (the kernel entry point is
// never reached, Wasm memory is unchanged) or, when an independent model of the rules says
// it is valid, hands the kernel exactly the buffers declared: every pointer the kernel reads
// (in the attr or inside a parent buffer) is the native address of its buffer, inputs arrive
// whole, outputs come back whole, and the core sees its own Wasm addresses again after.
// Both ways of handing memory to the kernel are checked: zero-copy and the copy path.
import test from 'ava';
import fc from 'fast-check';
import { Core } from '../../bridge/core.js';
import type { Native } from '../../bridge/native.js';
import { SyscallHost } from '../../bridge/syscall_host.js';
import { BpfError } from '../../src/index.js';

const ATTR_MAX = 256;
const MAX_FIXUPS = 8;
const MAX_LEN = 1 << 30;
const NESTED = 4;
const KNOWN_DIR_BITS = 3 | NESTED | (0xf << 8);

interface Fix {
  off: number;
  ptr: number;
  len: number;
  dir: number;
}

interface Req {
  attrOff: number; // attr at region + attrOff
  attrSize: number;
  fixups: Fix[];
}

/** Where requests live: a block of Wasm memory the core allocated for the test. */
const REGION = 64 << 10;

/**
 * The rules of a valid request, written out independently of bridge/request.ts: byte ranges
 * in Wasm memory, and the pointer fields the kernel will read.
 */
function modelValid(r: { attrPtr: number; attrSize: number; fixups: Fix[] }, memSize: number): boolean {
  const { attrPtr, attrSize, fixups } = r;
  if (!(attrSize >= 1 && attrSize <= ATTR_MAX)) return false;
  if (attrPtr === 0 || attrPtr % 8 !== 0 || attrPtr + attrSize > memSize) return false;
  if (fixups.length > MAX_FIXUPS) return false;
  const fields: [number, number][] = []; // absolute [start, end) of every pointer field
  const disjoint = (a: number, al: number, b: number, bl: number) => al === 0 || bl === 0 || a + al <= b || b + bl <= a;
  for (let i = 0; i < fixups.length; i++) {
    const f = fixups[i]!;
    if (f.dir & ~KNOWN_DIR_BITS || (f.dir & 3) === 0) return false;
    const parent = f.dir & NESTED ? (f.dir >>> 8) & 0xf : -1;
    if (parent >= i) return false;
    const holder = parent < 0 ? { ptr: attrPtr, len: attrSize } : fixups[parent]!;
    // A parent buffer holds 8-byte pointer fields: it must be 8-aligned like any kernel struct.
    if (parent >= 0 && holder.ptr % 8 !== 0) return false;
    if (f.off % 8 !== 0 || f.off + 8 > holder.len) return false;
    if (f.len > MAX_LEN) return false;
    if (f.ptr === 0 || f.ptr + f.len > memSize) return false;
    if (!disjoint(f.ptr, f.len, attrPtr, attrSize)) return false;
    const field: [number, number] = [holder.ptr + f.off, 8];
    for (let j = 0; j < i; j++) {
      const g = fixups[j]!;
      if (!disjoint(field[0], 8, fields[j]![0], 8)) return false; // one field, two pointers
      if ((f.dir | g.dir) & 2 && !disjoint(f.ptr, f.len, g.ptr, g.len)) return false;
    }
    fields.push(field);
  }
  return true;
}

/** Fake native addresses: Wasm memory at BASE, other buffers (copy scratch) far above. */
class FakeKernel implements Native {
  static readonly BASE = 0x10_0000_0000;
  private readonly buffers: { buf: ArrayBuffer; addr: number }[] = [];
  private next = 0x20_0000_0000;
  calls = 0;
  /** What the kernel does with a request; set per test case. */
  onBpf: (kernel: FakeKernel, attrAddr: number, size: number) => number = () => 0;

  constructor(private readonly wasm: () => ArrayBuffer) {}

  addressOf(buf: ArrayBuffer): number {
    if (buf === this.wasm()) return FakeKernel.BASE;
    const known = this.buffers.find((b) => b.buf === buf);
    if (known) return known.addr;
    const addr = this.next;
    this.next += 0x1_0000_0000;
    this.buffers.push({ buf, addr });
    return addr;
  }

  /** The bytes behind a native address, as the kernel's copy_from_user would find them. */
  peek(addr: number, len: number): Uint8Array | undefined {
    const inside = (base: number, buf: ArrayBuffer) => addr >= base && addr + len <= base + buf.byteLength;
    const w = this.wasm();
    if (inside(FakeKernel.BASE, w)) return new Uint8Array(w, addr - FakeKernel.BASE, len);
    for (const b of this.buffers) if (inside(b.addr, b.buf)) return new Uint8Array(b.buf, addr - b.addr, len);
    return undefined;
  }

  u64(addr: number): number | undefined {
    const v = this.peek(addr, 8);
    if (!v) return undefined;
    const dv = new DataView(v.buffer, v.byteOffset, 8);
    return dv.getUint32(0, true) + dv.getUint32(4, true) * 0x1_0000_0000;
  }

  bpf(_cmd: number, attrAddr: number, size: number): number {
    this.calls++;
    return this.onBpf(this, attrAddr, size);
  }

  close(): number {
    return 0;
  }
  dupCloexec(fd: number): number {
    return fd;
  }
  readSysFile(): number {
    return -2;
  }
  setsockopt(): number {
    return 0;
  }
}

/** The byte the fake kernel writes at position j of output buffer i. */
const pattern = (i: number, j: number) => ((i * 37 + j * 11) & 0xff) | 1;

interface Rig {
  core: Core;
  host: SyscallHost;
  kernel: FakeKernel;
  region: number;
}

function rig(zeroCopy: boolean): Rig {
  let core: Core | undefined;
  const kernel = new FakeKernel(() => core!.mem.u8.buffer as ArrayBuffer);
  const host = new SyscallHost(kernel, { zeroCopy });
  core = new Core({ host });
  const region = (core.malloc(REGION + 64) + 63) & ~63;
  return { core, host, kernel, region };
}

/** Fix-ups whose pointers mostly land in the test's region, with every kind of mistake mixed in. */
function fixupArb(memSize: () => number): fc.Arbitrary<Fix> {
  const inRegion = fc.integer({ min: 1024, max: REGION - 8 });
  return fc.record({
    off: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 17 }).map((k) => k * 8) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 300 }) }),
    ptr: fc.oneof(
      { weight: 8, arbitrary: inRegion.map((p) => p & ~7) },
      { weight: 2, arbitrary: inRegion },
      { weight: 1, arbitrary: fc.constantFrom(0, 0xffff_fff0, 0x8000_0000, -1 >>> 0) },
      { weight: 1, arbitrary: fc.constant(-1).map(() => memSize() - 4) },
    ),
    len: fc.oneof(
      { weight: 8, arbitrary: fc.integer({ min: 0, max: 128 }) },
      { weight: 1, arbitrary: fc.constantFrom(MAX_LEN, MAX_LEN + 1, 0x8000_0000, 0xffff_ffff, 0x1_0000) },
    ),
    dir: fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 1, max: 3 }) },
      { weight: 4, arbitrary: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 8 })).map(([d, p]) => d | NESTED | (p << 8)) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff_ffff }) },
    ),
  });
}

/** Anything at all, mostly wrong. */
function randomRequestArb(memSize: () => number): fc.Arbitrary<Req> {
  return fc.record({
    attrOff: fc.oneof({ weight: 9, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(4, 8, 1) }),
    attrSize: fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 8, max: 144 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 256, 257, 0xffff_ffff) }),
    fixups: fc.array(fixupArb(memSize), { maxLength: 9 }),
  });
}

/**
 * Requests shaped as the core builds them (distinct attr fields, children at 8-aligned
 * offsets of parents that hold them, buffers laid out one after another), then with at
 * most one thing changed: a near miss of every rule.
 */
function shapedRequestArb(): fc.Arbitrary<Req> {
  const plan = fc.array(
    fc.record({ parentPick: fc.integer({ min: -3, max: 7 }), len: fc.integer({ min: 0, max: 96 }), dir: fc.integer({ min: 1, max: 3 }), gap: fc.integer({ min: 0, max: 3 }) }),
    { minLength: 1, maxLength: 8 },
  );
  const mutation = fc.option(
    fc.record({ which: fc.nat(), what: fc.constantFrom('ptr+4', 'ptr+1', 'len+8', 'len huge', 'off+8', 'off+4', 'share ptr', 'share field', 'parent self', 'dir 0', 'dir bits') }),
    { freq: 2 },
  );
  return fc.tuple(fc.integer({ min: 16, max: 144 }).map((n) => n & ~7), plan, mutation).map(([attrSize, steps, mut]) => {
    const fixups: Fix[] = [];
    const used = new Map<number, number>(); // next free field offset per holder (-1: attr)
    let cursor = 1024;
    for (const st of steps) {
      // A parent must be a buffer that can hold at least one pointer field.
      const candidates = fixups.map((f, i) => i).filter((i) => !(fixups[i]!.dir & NESTED) && fixups[i]!.len >= 8);
      const parent = st.parentPick >= 0 && candidates.length ? candidates[st.parentPick % candidates.length]! : -1;
      const holderLen = parent < 0 ? attrSize : fixups[parent]!.len;
      const off = used.get(parent) ?? 0;
      if (off + 8 > holderLen) continue;
      used.set(parent, off + 8);
      const len = Math.max(st.len, 8);
      fixups.push({ off, ptr: cursor, len, dir: st.dir | (parent >= 0 ? NESTED | (parent << 8) : 0) });
      cursor = (cursor + len + st.gap * 8 + 7) & ~7;
    }
    if (mut && fixups.length) {
      const i = mut.which % fixups.length;
      const f = fixups[i]!;
      const other = fixups[(i + 1) % fixups.length]!;
      switch (mut.what) {
        case 'ptr+4': f.ptr += 4; break;
        case 'ptr+1': f.ptr += 1; break;
        case 'len+8': f.len += 8; break;
        case 'len huge': f.len = 0xffff_fff0; break;
        case 'off+8': f.off += 8; break;
        case 'off+4': f.off += 4; break;
        case 'share ptr': f.ptr = other.ptr; break;
        case 'share field': f.off = other.off; f.dir = (f.dir & 3) | (other.dir & ~3); break;
        case 'parent self': f.dir = (f.dir & 3) | NESTED | (i << 8); break;
        case 'dir 0': f.dir &= ~3; break;
        default: f.dir |= 0x10;
      }
    }
    return { attrOff: 0, attrSize, fixups };
  });
}

function requestArb(memSize: () => number): fc.Arbitrary<Req> {
  return fc.oneof(randomRequestArb(memSize), shapedRequestArb());
}

/** Writes the request into Wasm memory as the core would (pointer fields holding Wasm addresses). */
function place(r: Rig, req: Req): { attrPtr: number; table: number; fixups: Fix[] } {
  const attrPtr = r.region + req.attrOff;
  const table = r.region + 512;
  const dv = r.core.mem.dv;
  const u8 = r.core.mem.u8;
  u8.fill(0, r.region, r.region + REGION);
  // Some recognisable input bytes in the buffer area.
  for (let p = r.region + 1024; p < r.region + REGION; p += 97) u8[p] = (p * 7) & 0xff;
  // Pointers the generator drew inside the region are offsets into it.
  const fixups = req.fixups.map((f) => ({ ...f, ptr: f.ptr >= 1024 && f.ptr < REGION ? r.region + f.ptr : f.ptr }));
  fixups.forEach((f, i) => {
    dv.setUint32(table + 16 * i, f.off, true);
    dv.setUint32(table + 16 * i + 4, f.ptr, true);
    dv.setUint32(table + 16 * i + 8, f.len, true);
    dv.setUint32(table + 16 * i + 12, f.dir, true);
  });
  return { attrPtr, table, fixups };
}

/** Writes each pointer field's Wasm address where the core would, if it lies in the region. */
function writeFields(r: Rig, attrPtr: number, attrSize: number, fixups: Fix[]): void {
  const dv = r.core.mem.dv;
  fixups.forEach((f, i) => {
    const parent = f.dir & NESTED ? (f.dir >>> 8) & 0xf : -1;
    const holder = parent < 0 ? attrPtr : fixups[parent]?.ptr;
    if (holder === undefined) return;
    const at = holder + f.off;
    if (at >= r.region && at + 8 <= r.region + REGION && (parent >= 0 || f.off + 8 <= attrSize)) {
      dv.setUint32(at, f.ptr, true);
      dv.setUint32(at + 4, 0, true);
    }
  });
}

/**
 * The fake kernel of an accepted request: reads every pointer field where the kernel would
 * (in the attr it was given, or inside the parent buffer it found there), checks that it
 * leads to `len` bytes it can reach, that inputs hold what the core staged, then writes the
 * pattern into outputs (keeping the pointer fields inside them, as the kernel writes a
 * struct back with the pointers it was given).
 */
function kernelOf(attrPtr: number, fixups: Fix[], inputs: Uint8Array[], problems: string[]) {
  const fieldBytes = new Set<number>();
  fixups.forEach((f) => {
    const parent = f.dir & NESTED ? (f.dir >>> 8) & 0xf : -1;
    const holder = parent < 0 ? attrPtr : fixups[parent]?.ptr;
    if (holder !== undefined) for (let b = 0; b < 8; b++) fieldBytes.add(holder + f.off + b);
  });
  return (k: FakeKernel, attrAddr: number, size: number): number => {
    const holders: number[] = []; // native address of each buffer
    for (let i = 0; i < fixups.length; i++) {
      const f = fixups[i]!;
      const parent = f.dir & NESTED ? (f.dir >>> 8) & 0xf : -1;
      const holder = parent < 0 ? attrAddr : holders[parent]!;
      if (parent < 0 && f.off + 8 > size) problems.push(`fix-up ${i}: field past the attr`);
      const addr = k.u64(holder + f.off);
      if (addr === undefined) {
        problems.push(`fix-up ${i}: the kernel cannot read the pointer field at ${holder + f.off}`);
        return -14;
      }
      holders.push(addr);
      const buf = k.peek(addr, f.len);
      if (!buf) {
        problems.push(`fix-up ${i}: the pointer 0x${addr.toString(16)} does not lead to ${f.len} reachable bytes`);
        return -14;
      }
      // Pointer fields inside an input (a parent's children, or another parent's sharing its
      // bytes) hold native addresses now; every other byte arrives as the core staged it.
      if (f.dir & 1)
        for (let j = 0; j < f.len; j++)
          if (!fieldBytes.has(f.ptr + j) && buf[j] !== inputs[i]![j]) {
            problems.push(`fix-up ${i}: byte ${j} of the input arrived changed`);
            break;
          }
    }
    fixups.forEach((f, i) => {
      if (!(f.dir & 2)) return;
      const buf = k.peek(holders[i]!, f.len)!;
      const keep = new Set<number>();
      fixups.forEach((g, j) => {
        if (g.dir & NESTED && ((g.dir >>> 8) & 0xf) === i) for (let b = 0; b < 8; b++) keep.add(g.off + b);
      });
      for (let j = 0; j < f.len; j++) if (!keep.has(j)) buf[j] = pattern(i, j);
    });
    return 0;
  };
}

function checkProperty(zeroCopy: boolean) {
  return (t: import('ava').ExecutionContext) => {
    const r = rig(zeroCopy);
    const fresh = rig(zeroCopy); // validation cache: a long-lived host must agree with a fresh one
    const memSize = () => r.core.mem.byteLength;
    let accepted = 0;
    let refused = 0;
    let lastFailure = '';
    try {
      fc.assert(fc.property(requestArb(memSize), (req) => check(req)), { numRuns: 1000 });
    } catch (e) {
      t.fail(`${(e as Error).message}\nlast failure: ${lastFailure}`);
    }
    function check(req: Req): boolean {
        const { attrPtr, table, fixups } = place(r, req);
        writeFields(r, attrPtr, req.attrSize, fixups);
        const valid = modelValid({ attrPtr, attrSize: req.attrSize, fixups }, memSize());
        const before = r.core.mem.u8.slice(r.region, r.region + REGION);
        const inputs = fixups.map((f) => (f.dir & 1 && f.ptr + f.len <= memSize() && f.len <= MAX_LEN ? r.core.mem.u8.slice(f.ptr, f.ptr + f.len) : new Uint8Array(0)));
        const problems: string[] = [];
        r.kernel.onBpf = kernelOf(attrPtr, fixups, inputs, problems);
        const calls = r.kernel.calls;
        let error: unknown;
        try {
          r.host.hostBpf(r.core.mem, 1, attrPtr, req.attrSize, table, fixups.length);
        } catch (e) {
          error = e;
        }
        // The same request on a host that never saw another one.
        const f2 = place(fresh, req);
        writeFields(fresh, f2.attrPtr, req.attrSize, f2.fixups);
        fresh.kernel.onBpf = () => 0;
        let freshError: unknown;
        try {
          fresh.host.hostBpf(fresh.core.mem, 1, f2.attrPtr, req.attrSize, f2.table, fixups.length);
        } catch (e) {
          freshError = e;
        }
        const fail = (why: string) => {
          lastFailure = `${why}: ${error instanceof Error ? error.message : String(error)} ${problems.join('; ')}`;
          return false;
        };
        if ((error === undefined) !== (freshError === undefined)) return fail('a fresh host decided otherwise');
        if (!valid) {
          refused++;
          if (!(error instanceof BpfError) || error.code !== 'EFAULT' || !/nothing was copied/.test(error.message))
            return fail('not refused with EFAULT');
          if (r.kernel.calls !== calls) return fail('the kernel was called');
          if (!Buffer.from(r.core.mem.u8.subarray(r.region, r.region + REGION)).equals(Buffer.from(before))) return fail('memory changed');
          return true;
        }
        accepted++;
        if (error !== undefined || problems.length) return fail('refused or mishandled a valid request');
        // After: outputs hold what the kernel wrote, pointer fields the Wasm addresses again.
        const u8 = r.core.mem.u8;
        const dv = r.core.mem.dv;
        for (let i = 0; i < fixups.length; i++) {
          const f = fixups[i]!;
          const parent = f.dir & NESTED ? (f.dir >>> 8) & 0xf : -1;
          const holder = parent < 0 ? attrPtr : fixups[parent]!.ptr;
          if (dv.getUint32(holder + f.off, true) !== f.ptr || dv.getUint32(holder + f.off + 4, true) !== 0)
            return fail(`fix-up ${i}: the pointer field was not restored`);
          if (!(f.dir & 2)) continue;
          const kept = new Set<number>();
          fixups.forEach((g) => {
            if (g.dir & NESTED && ((g.dir >>> 8) & 0xf) === i) for (let b = 0; b < 8; b++) kept.add(g.off + b);
          });
          for (let j = 0; j < f.len; j++) if (!kept.has(j) && u8[f.ptr + j] !== pattern(i, j)) return fail(`fix-up ${i}: output byte ${j}`);
        }
        return true;
    }
    t.log(`${accepted} accepted, ${refused} refused`);
    t.true(accepted > 200 && refused > 200, 'both kinds of request were generated');
  };
}

test('zero-copy: every request is refused before the kernel or reaches it exactly as declared', checkProperty(true));
test('copy path: every request is refused before the kernel or reaches it exactly as declared', checkProperty(false));

test('regressions found by the properties', (t) => {
  for (const zeroCopy of [true, false]) {
    const r = rig(zeroCopy);
    const cases: [string, Req, RegExp][] = [
      // A nested field in a parent buffer that is not 8-aligned: the zero-copy host patched
      // the 4-aligned word below it, and the kernel read a pointer made of mixed bytes.
      ['parent not 8-aligned', { attrOff: 0, attrSize: 32, fixups: [{ off: 8, ptr: 1028, len: 32, dir: 3 }, { off: 8, ptr: 2048, len: 8, dir: 2 | NESTED }] }, /not 8-byte aligned/],
      // Two parents over the same bytes, each with a child at the same place: one pointer
      // field, two different buffers behind it.
      ['one field, two pointers', { attrOff: 0, attrSize: 32, fixups: [{ off: 8, ptr: 1024, len: 16, dir: 1 }, { off: 16, ptr: 1024, len: 16, dir: 1 }, { off: 0, ptr: 2048, len: 8, dir: 2 | NESTED }, { off: 0, ptr: 4096, len: 64, dir: 2 | NESTED | (1 << 8) }] }, /same pointer field/],
      // Wrap-around of a 32-bit end: 0xfffffff0 + 0x20 is 0x10 in u32 arithmetic.
      ['end wraps at 2^32', { attrOff: 0, attrSize: 32, fixups: [{ off: 8, ptr: 0xffff_fff0, len: 0x20, dir: 1 }] }, /outside Wasm memory/],
    ];
    for (const [what, req, message] of cases) {
      const { attrPtr, table, fixups } = place(r, req);
      writeFields(r, attrPtr, req.attrSize, fixups);
      t.false(modelValid({ attrPtr, attrSize: req.attrSize, fixups }, r.core.mem.byteLength), what);
      const err = t.throws(() => r.host.hostBpf(r.core.mem, 1, attrPtr, req.attrSize, table, fixups.length), { instanceOf: BpfError }, what);
      t.regex(err!.message, message, what);
    }
    t.is(r.kernel.calls, 0);
  }
});

test('copy path: inputs too large for native scratch memory are an ENOMEM BpfError, not a RangeError', (t) => {
  const r = rig(false);
  const len = 150 << 20;
  const big = r.core.malloc(len); // Wasm memory grows past 150 MiB
  // Eight overlapping inputs of 150 MiB: a legal request that needs 1.2 GiB of scratch.
  const fixups: Fix[] = Array.from({ length: 8 }, (_, i) => ({ off: 8 * i, ptr: big, len, dir: 1 }));
  const { attrPtr, table } = place(r, { attrOff: 0, attrSize: 64, fixups });
  writeFields(r, attrPtr, 64, fixups);
  t.true(modelValid({ attrPtr, attrSize: 64, fixups }, r.core.mem.byteLength));
  const err = t.throws(() => r.host.hostBpf(r.core.mem, 1, attrPtr, 64, table, 8), { instanceOf: BpfError });
  t.is(err!.code, 'ENOMEM');
  t.regex(err!.message, /scratch/);
  t.is(r.kernel.calls, 0);
});
