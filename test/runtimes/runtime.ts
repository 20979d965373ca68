// What each runtime must supply: its own FFI (never koffi outside Node), errno through that
// FFI, fd hygiene, `using`, the FinalizationRegistry safety net, node:fs for pins.
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { createRequire } from 'node:module';
import process from 'node:process';
import { defaultCore, native } from '../../bridge/core.js';
import { envVar, nativeBackend, runtimeName } from '../../bridge/native.js';
import { openHandleCount } from '../../src/fd.js';
import { openPinned, pinFd, unpinPath } from '../../src/object.js';
import { BpfError, Program, ProgramType, asm } from '../../src/index.js';
import { check, expectedRuntime, gcFunction, group, kernelCheck } from './harness.js';

const RET42 = [asm.mov64Imm(asm.R0, 42), asm.exit()];
const OWN_FFI = { node: 'koffi', bun: 'bun:ffi', deno: 'deno' } as const;
const EBADF = 9;

/** The lowest free fd from 3 up: a leaked fd would take it, since the kernel hands out the lowest. */
function lowestFreeFd(): number {
  const n = native();
  const fd = n.dupCloexec(2, 3);
  assert.ok(fd >= 3, `dup failed: ${fd}`);
  assert.equal(n.close(fd), 0);
  return fd;
}

/** Whether koffi's module (or its addon) was loaded into this process. */
function koffiLoaded(): boolean {
  const cache = createRequire(import.meta.url).cache as Record<string, unknown> | undefined;
  return Object.keys(cache ?? {}).some((k) => /[/\\]koffi[/\\]|koffi\.node$/.test(k));
}

group('runtime', () => {
  check('runtime detection picks the runtime’s own FFI', () => {
    const expected = expectedRuntime();
    assert.equal(runtimeName(), expected);
    assert.equal(nativeBackend(), OWN_FFI[expected]);
  });

  check('the environment is read only where the runtime allows it (Deno: not without --allow-env)', () => {
    // The runner starts Deno without --allow-env, as a user of tsbpf may: reading must not throw or prompt.
    const home = envVar('HOME');
    if (expectedRuntime() === 'deno') assert.equal(home, undefined);
    else assert.equal(home, process.env.HOME);
  });

  kernelCheck('koffi is loaded on Node only', () => {
    Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: RET42 }).close();
    assert.equal(koffiLoaded(), expectedRuntime() === 'node');
  });

  check('errno comes back through the runtime’s FFI (close and dup of a bad fd: -EBADF)', () => {
    const n = native();
    assert.equal(n.close(-1), -EBADF);
    assert.equal(n.dupCloexec(-1, 3), -EBADF);
    // A success after a failure is not mistaken for one.
    assert.ok(lowestFreeFd() >= 3);
    assert.equal(n.close(-1), -EBADF);
  });

  check('addressOf() is stable for a buffer and distinct between buffers', () => {
    const n = native();
    const a = new ArrayBuffer(4096);
    const b = new ArrayBuffer(4096);
    assert.equal(n.addressOf(a), n.addressOf(a));
    const da = n.addressOf(a);
    const db = n.addressOf(b);
    assert.ok(Number.isSafeInteger(da) && da > 0, `address ${da}`);
    assert.ok(Math.abs(da - db) >= 4096, `${da} and ${db} overlap`);
  });

  kernelCheck('loading and closing 200 programs leaves no fd behind', () => {
    const before = lowestFreeFd();
    for (let i = 0; i < 200; i++) Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: RET42 }).close();
    assert.equal(lowestFreeFd(), before);
  });

  kernelCheck('`using` closes the program at the end of the block (Symbol.dispose)', () => {
    let outer: Program;
    {
      using prog = Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: RET42 });
      outer = prog;
      assert.equal(prog.closed, false);
    }
    assert.equal(outer.closed, true);
  });

  kernelCheck('the FinalizationRegistry closes the fd of a program nobody closed', async () => {
    const gc = gcFunction();
    assert.ok(gc, 'no way to force a GC: start node with --expose-gc, deno with --v8-flags=--expose-gc');
    const handles = openHandleCount();
    const free = lowestFreeFd();
    // Created in another function, so no local keeps it alive.
    (() => {
      for (let i = 0; i < 4; i++) Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: RET42 });
    })();
    assert.equal(openHandleCount(), handles + 4);
    for (let i = 0; i < 100 && openHandleCount() > handles; i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(openHandleCount(), handles);
    assert.equal(lowestFreeFd(), free);
  });

  kernelCheck('pin, open the pin and unpin through node:fs', () => {
    const path = `/sys/fs/bpf/tsbpf-test-${process.pid}-${runtimeName()}-prog`;
    const c = defaultCore();
    using prog = Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: RET42 });
    pinFd(c, prog.fd, path);
    try {
      const fd = openPinned(c, path);
      assert.ok(fd > 2);
      c.closeFd(fd);
    } finally {
      unpinPath(path);
    }
    assert.throws(() => unpinPath(path), (e: unknown) => e instanceof BpfError && e.code === 'ENOENT');
    assert.throws(() => openPinned(c, path), (e: unknown) => e instanceof BpfError && e.code === 'ENOENT' && e.command === 'BPF_OBJ_GET');
  });
});
