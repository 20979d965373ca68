// The bridge refuses requests a correct core never sends, before touching native memory.
import test from 'ava';
import { Core } from '../../bridge/core.js';
import { FakeHost } from '../../bridge/fake_host.js';
import type { Native } from '../../bridge/native.js';
import { SyscallHost } from '../../bridge/syscall_host.js';
import { BpfError } from '../../src/index.js';

/** A Native that must never be reached; addresses come from the real runtime. */
function trapNative(calls: string[]): Native {
  return {
    bpf: () => {
      calls.push('bpf');
      return 0;
    },
    close: () => 0,
    dupCloexec: (fd) => fd,
    readSysFile: () => -2,
    addressOf: () => 0x10000000,
    setsockopt: () => {
      calls.push('setsockopt');
      return 0;
    },
  };
}

interface Fix {
  off: number;
  ptr: number;
  len: number;
  dir: number;
}

/** Writes an attr and a fix-up table into Wasm memory and sends them to the host. */
function send(core: Core, host: SyscallHost, attrSize: number, fixups: Fix[], tamper?: (a: number, f: number) => void) {
  const attr = core.malloc(256 + 64) + 7 & ~7; // 8-aligned inside the block
  const table = core.malloc(16 * Math.max(1, fixups.length));
  const dv = core.mem.dv;
  fixups.forEach((f, i) => {
    dv.setUint32(table + 16 * i, f.off, true);
    dv.setUint32(table + 16 * i + 4, f.ptr, true);
    dv.setUint32(table + 16 * i + 8, f.len, true);
    dv.setUint32(table + 16 * i + 12, f.dir, true);
  });
  tamper?.(attr, table);
  return host.hostBpf(core.mem, 1, attr, attrSize, table, fixups.length);
}

test('a well-formed request reaches the kernel entry point', (t) => {
  const calls: string[] = [];
  const host = new SyscallHost(trapNative(calls));
  const core = new Core({ host });
  const buf = core.malloc(64);
  t.is(send(core, host, 32, [{ off: 8, ptr: buf, len: 4, dir: 1 }, { off: 16, ptr: buf + 8, len: 8, dir: 2 }]), 0);
  t.deepEqual(calls, ['bpf']);
});

test('requests a tampered core could send are refused and nothing is copied', (t) => {
  const calls: string[] = [];
  const host = new SyscallHost(trapNative(calls));
  const core = new Core({ host });
  const buf = core.malloc(256);
  const size = core.mem.byteLength;
  const cases: [string, number, Fix[], RegExp][] = [
    ['pointer past the end of memory', 32, [{ off: 8, ptr: size - 4, len: 16, dir: 1 }], /points outside Wasm memory/],
    ['length wrapping around 2^32', 32, [{ off: 8, ptr: buf, len: 0xffffffff, dir: 2 }], /over the .*-byte limit/],
    ['huge length', 32, [{ off: 8, ptr: 8, len: 1 << 30, dir: 2 }], /points outside Wasm memory/],
    ['null pointer with a length', 32, [{ off: 8, ptr: 0, len: 8, dir: 1 }], /points outside Wasm memory/],
    ['unaligned attr field', 32, [{ off: 4, ptr: buf, len: 8, dir: 1 }], /not an 8-byte field/],
    ['field past the attr', 32, [{ off: 32, ptr: buf, len: 8, dir: 1 }], /not an 8-byte field/],
    ['no direction', 32, [{ off: 8, ptr: buf, len: 8, dir: 0 }], /direction 0/],
    ['unknown direction bits', 32, [{ off: 8, ptr: buf, len: 8, dir: 16 | 1 }], /direction 17/],
    ['nested in itself', 32, [{ off: 0, ptr: buf, len: 8, dir: 4 | 1 }], /nests in fix-up 0/],
    ['nested past its parent', 32, [{ off: 8, ptr: buf, len: 16, dir: 3 }, { off: 16, ptr: buf + 64, len: 8, dir: 4 | 1 }], /offset 16 of fix-up 0's buffer/],
    ['two fix-ups on one field', 32, [{ off: 8, ptr: buf, len: 8, dir: 1 }, { off: 8, ptr: buf + 16, len: 8, dir: 1 }], /same pointer field/],
    ['overlapping outputs', 32, [{ off: 8, ptr: buf, len: 16, dir: 2 }, { off: 16, ptr: buf + 8, len: 16, dir: 2 }], /overlap/],
    ['input overlapping an output', 32, [{ off: 8, ptr: buf, len: 16, dir: 1 }, { off: 16, ptr: buf + 8, len: 16, dir: 2 }], /overlap/],
    ['attr too large', 512, [], /attr size 512/],
    ['empty attr', 0, [], /attr size 0/],
    ['too many fix-ups', 256, Array.from({ length: 9 }, (_, i) => ({ off: 8 * i, ptr: buf + 16 * i, len: 8, dir: 1 })), /9 fix-ups/],
  ];
  for (const [what, attrSize, fixups, message] of cases) {
    const err = t.throws(() => send(core, host, attrSize, fixups), { instanceOf: BpfError }, what);
    t.regex(err!.message, message, what);
    t.is(err!.code, 'EFAULT', what);
  }
  t.deepEqual(calls, [], 'no request reached the kernel');
});

test('a buffer overlapping the attr itself is refused', (t) => {
  const calls: string[] = [];
  const host = new SyscallHost(trapNative(calls));
  const core = new Core({ host });
  const attr = (core.malloc(320) + 7) & ~7;
  const table = core.malloc(16);
  const dv = core.mem.dv;
  dv.setUint32(table, 8, true);
  dv.setUint32(table + 4, attr + 16, true);
  dv.setUint32(table + 8, 8, true);
  dv.setUint32(table + 12, 2, true);
  t.throws(() => host.hostBpf(core.mem, 1, attr, 32, table, 1), { message: /overlaps the attr/ });
  t.deepEqual(calls, []);
});

test('the fake host validates requests exactly like the syscall host', (t) => {
  const fake = new FakeHost();
  const core = new Core({ host: fake });
  const raw = core.host;
  const table = core.malloc(16);
  const attr = (core.malloc(64) + 7) & ~7;
  const dv = core.mem.dv;
  dv.setUint32(table, 8, true);
  dv.setUint32(table + 4, core.mem.byteLength - 2, true);
  dv.setUint32(table + 8, 8, true);
  dv.setUint32(table + 12, 1, true);
  t.throws(() => raw.hostBpf(core.mem, 1, attr, 32, table, 1), { instanceOf: BpfError, message: /outside Wasm memory/ });
  t.is(fake.requests.length, 0);
});

test('the syscall host restores Wasm addresses in the attr and copies outputs back', (t) => {
  let seen: Uint8Array | undefined;
  const scratch: { addr: number } = { addr: 0 };
  const native: Native = {
    bpf: (_cmd, attrAddr, size) => {
      t.is(attrAddr, scratch.addr);
      seen = new Uint8Array(size);
      return 0;
    },
    close: () => 0,
    dupCloexec: (fd) => fd,
    readSysFile: () => -2,
    addressOf: () => (scratch.addr = 0x7f0000001000),
    setsockopt: () => 0,
  };
  const host = new SyscallHost(native, { zeroCopy: false });
  const core = new Core({ host });
  const attr = (core.malloc(320) + 7) & ~7;
  const buf = core.malloc(16);
  const table = core.malloc(16);
  const dv = core.mem.dv;
  dv.setUint32(attr + 8, buf, true); // the core writes the Wasm address into the field
  dv.setUint32(table, 8, true);
  dv.setUint32(table + 4, buf, true);
  dv.setUint32(table + 8, 16, true);
  dv.setUint32(table + 12, 3, true);
  t.is(host.hostBpf(core.mem, 1, attr, 16, table, 1), 0);
  t.truthy(seen);
  t.is(core.mem.dv.getUint32(attr + 8, true), buf);
  t.is(core.mem.dv.getUint32(attr + 12, true), 0);
});

test('a nested fix-up patches the pointer inside its parent buffer, and is restored after', (t) => {
  const BASE = 0x7f0000100000;
  let host: SyscallHost | undefined;
  let parentSeen: DataView | undefined;
  const native: Native = {
    bpf: () => {
      // Look at what the kernel would see: the parent's copy in scratch memory.
      const scratch = (host as unknown as { scratch: { u8: Uint8Array } }).scratch.u8;
      parentSeen = new DataView(scratch.buffer.slice(256, 256 + 32));
      return 0;
    },
    close: () => 0,
    dupCloexec: (fd) => fd,
    readSysFile: () => -2,
    addressOf: () => BASE,
    setsockopt: () => 0,
  };
  host = new SyscallHost(native, { zeroCopy: false });
  const core = new Core({ host });
  const attr = (core.malloc(320) + 7) & ~7;
  const info = core.malloc(32);
  const ids = core.malloc(16);
  const table = core.malloc(32);
  const dv = core.mem.dv;
  dv.setUint32(info + 16, ids, true); // the core left the Wasm address of ids in info
  dv.setUint32(info + 24, 0xaabbccdd, true); // an ordinary field
  const fix = [
    [16, info, 32, 3], // attr+16 -> info, in and out
    [16, ids, 16, 2 | 4 | (0 << 8)], // info+16 -> ids, out, nested in fix-up 0
  ];
  fix.forEach((f, i) => f.forEach((v, j) => dv.setUint32(table + 16 * i + 4 * j, v!, true)));
  t.is(host.hostBpf(core.mem, 15, attr, 24, table, 2), 0);
  // The kernel saw the native address of ids' scratch copy (after attr 256 + info 32).
  t.is(parentSeen!.getBigUint64(16, true), BigInt(BASE + 256 + 32));
  t.is(parentSeen!.getUint32(24, true), 0xaabbccdd);
  // Back in Wasm memory the pointer is the Wasm one again.
  const after = core.mem.dv;
  t.is(after.getUint32(info + 16, true), ids);
  t.is(after.getUint32(info + 20, true), 0);
  t.is(after.getUint32(attr + 16, true), info);
});

/** A Native that records what the kernel would see, with Wasm memory at a fixed fake address. */
function recordingNative(base: number, seen: { attrAddr?: number; attr?: DataView }[], peek: () => Uint8Array): Native {
  return {
    bpf: (_cmd, attrAddr, size) => {
      const mem = peek();
      const off = attrAddr - base;
      // Zero-copy: the attr is read straight out of Wasm memory at base + its Wasm address.
      seen.push({ attrAddr, attr: new DataView(mem.slice(off, off + size).buffer) });
      return 0;
    },
    setsockopt: () => 0,
    close: () => 0,
    dupCloexec: (fd) => fd,
    readSysFile: () => -2,
    addressOf: () => base,
  };
}

test('zero-copy: pointer fields carry base + Wasm address during the call and are restored after; outputs are zeroed first', (t) => {
  const BASE = 0x7f0000200000;
  const seen: { attrAddr?: number; attr?: DataView }[] = [];
  let core: Core | undefined;
  const host = new SyscallHost(recordingNative(BASE, seen, () => core!.mem.u8));
  core = new Core({ host });
  const attr = (core.malloc(320) + 7) & ~7;
  const key = core.malloc(8);
  const value = core.malloc(8);
  const table = core.malloc(32);
  const dv = core.mem.dv;
  dv.setUint32(attr + 8, key, true);
  dv.setUint32(attr + 16, value, true);
  dv.setUint32(key, 0x11223344, true);
  dv.setUint32(value, 0xdeadbeef, true); // stale bytes the kernel might not overwrite
  const fix = [
    [8, key, 4, 1],
    [16, value, 8, 2],
  ];
  fix.forEach((f, i) => f.forEach((v, j) => dv.setUint32(table + 16 * i + 4 * j, v!, true)));
  t.is(host.hostBpf(core.mem, 1, attr, 32, table, 2), 0);
  t.is(seen[0]!.attrAddr, BASE + attr);
  t.is(seen[0]!.attr!.getBigUint64(8, true), BigInt(BASE + key));
  t.is(seen[0]!.attr!.getBigUint64(16, true), BigInt(BASE + value));
  const after = core.mem.dv;
  t.is(after.getBigUint64(attr + 8, true), BigInt(key), 'the core sees its own addresses again');
  t.is(after.getBigUint64(attr + 16, true), BigInt(value));
  t.is(after.getUint32(value, true), 0, 'an output-only buffer is zeroed before the call');
  t.is(after.getUint32(key, true), 0x11223344, 'inputs are left alone');
});

test('the validation cache revalidates a request whose fix-up table changed', (t) => {
  const calls: string[] = [];
  const host = new SyscallHost(trapNative(calls));
  const core = new Core({ host });
  const buf = core.malloc(64);
  const attr = (core.malloc(320) + 7) & ~7;
  const table = core.malloc(16);
  const write = (ptr: number, len: number) => {
    const dv = core.mem.dv;
    dv.setUint32(table, 8, true);
    dv.setUint32(table + 4, ptr, true);
    dv.setUint32(table + 8, len, true);
    dv.setUint32(table + 12, 2, true);
  };
  write(buf, 8);
  t.is(host.hostBpf(core.mem, 1, attr, 32, table, 1), 0);
  t.is(host.hostBpf(core.mem, 1, attr, 32, table, 1), 0, 'the same request again: cached');
  write(core.mem.byteLength - 4, 8); // the same table, now pointing past the end of memory
  t.throws(() => host.hostBpf(core.mem, 1, attr, 32, table, 1), { instanceOf: BpfError, message: /points outside Wasm memory/ });
  write(buf, 8);
  t.throws(() => host.hostBpf(core.mem, 1, attr, 512, table, 1), { message: /attr size 512/ }, 'a changed attr size is checked too');
  t.deepEqual(calls, ['bpf', 'bpf']);
});

test('prepared requests: validated once, replayed with native pointers, refused when they cannot be', (t) => {
  const BASE = 0x7f0000300000;
  const seen: { attrAddr?: number; attr?: DataView }[] = [];
  let replayAttr: ArrayBuffer | undefined;
  const native: Native = {
    bpf: (cmd, attrAddr, size) => {
      seen.push({ attrAddr, attr: new DataView(replayAttr!.slice(0, size)) });
      return cmd === 1 ? -2 : 0;
    },
    setsockopt: () => 0,
    close: () => 0,
    dupCloexec: (fd) => fd,
    readSysFile: () => -2,
    // Wasm memory sits at BASE (BASE + 1 MiB once it grew); the replay's own attr copy at 0x500000.
    addressOf: (buf) => (buf.byteLength > 1 << 16 ? (buf.byteLength > 32 << 20 ? BASE + (1 << 20) : BASE) : ((replayAttr = buf), 0x500000)),
  };
  const host = new SyscallHost(native);
  const core = new Core({ host });
  const attr = (core.malloc(320) + 7) & ~7;
  const key = core.malloc(8);
  const table = core.malloc(32);
  const dv = core.mem.dv;
  dv.setUint32(attr, 7, true); // map_fd
  dv.setUint32(attr + 8, key, true);
  const write = (f: number[][]) => f.forEach((x, i) => x.forEach((v, j) => core.mem.dv.setUint32(table + 16 * i + 4 * j, v!, true)));
  write([[8, key, 4, 1]]);
  const p = host.prepare(core.mem, 1, attr, 32, table, 1);
  t.truthy(p);
  t.is(p!.run(), -2, 'the result of bpf(2), errno included');
  t.is(p!.run(), -2);
  t.is(seen.length, 2);
  t.is(seen[0]!.attrAddr, 0x500000, 'the replay sends its own copy of the attr');
  t.is(seen[0]!.attr!.getUint32(0, true), 7);
  t.is(seen[0]!.attr!.getBigUint64(8, true), BigInt(BASE + key), 'with the native address of the key');
  t.is(core.mem.dv.getBigUint64(attr + 8, true), BigInt(key), 'the core\'s attr is untouched');
  core.malloc(48 << 20); // memory grows: a runtime may move it, so the replay asks again
  t.is(p!.run(), -2);
  t.is(seen[2]!.attr!.getBigUint64(8, true), BigInt(BASE + (1 << 20) + key), 'pointers follow the new base');
  write([[8, core.mem.byteLength - 2, 4, 1]]);
  t.throws(() => host.prepare(core.mem, 1, attr, 32, table, 1), { message: /outside Wasm memory/ });
  write([[8, key, 4, 1]]);
  t.is(host.prepare(core.mem, 0 /* MAP_CREATE returns an fd */, attr, 32, table, 1), undefined);
  t.is(new SyscallHost(native, { zeroCopy: false }).prepare(core.mem, 1, attr, 32, table, 1), undefined, 'copy mode has nothing to replay');
});
