// The JavaScript runtimes tsbpf is tested and benchmarked on, and how to start a script
// under each. Bun and Deno come from npm (devDependencies), so `npm ci` provides both.
//   runtimeCommand('deno', 'dist/test/runtimes/suite.js', ['--expect', 'deno'])
//     -> { cmd: '.../deno', args: ['run', '--allow-ffi', ..., 'dist/test/runtimes/suite.js', '--expect', 'deno'] }
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const modules = join(root, 'node_modules');

export const RUNTIMES = ['node', 'bun', 'deno'];

/** True when path is an ELF executable (npm's bun.exe is a text placeholder until its postinstall runs). */
function isElf(path) {
  if (!existsSync(path)) return false;
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(4);
    return readSync(fd, head, 0, 4, 0) === 4 && head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    closeSync(fd);
  }
}

function onPath(name) {
  const r = spawnSync(name, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? name : undefined;
}

/**
 * Bun's binary. Its postinstall moves the platform package's binary over the placeholder
 * node_modules/bun/bin/bun.exe; when postinstall did not run (--ignore-scripts), the
 * binary is still in @oven/bun-<platform>/bin.
 */
function findBun() {
  const arch = process.arch === 'arm64' ? 'aarch64' : process.arch;
  const candidates = [
    process.env.TSBPF_BUN,
    join(modules, 'bun/bin/bun.exe'),
    ...['', '-baseline', '-musl', '-musl-baseline'].map((v) => join(modules, `@oven/bun-linux-${arch}${v}/bin/bun`)),
  ];
  return candidates.find((p) => p && isElf(p)) ?? onPath('bun');
}

/** Deno's binary: the platform package's copy, then the one its postinstall placed. */
function findDeno() {
  const candidates = [
    process.env.TSBPF_DENO,
    join(modules, `@deno/linux-${process.arch}-glibc/deno`),
    join(modules, 'deno/deno'),
  ];
  return candidates.find((p) => p && isElf(p)) ?? onPath('deno');
}

/**
 * Permissions a Deno user of tsbpf grants: FFI (libc) and reading the package (core.wasm).
 * The tests add writing under bpffs (pins) and a GC they can trigger.
 */
export const DENO_FLAGS = ['--allow-ffi', `--allow-read=${root}`];

/**
 * How to run `script` with `args` under `runtime`; undefined when that runtime is not
 * installed. `extra` are runtime flags (e.g. node's --expose-gc).
 */
export function runtimeCommand(runtime, script, args = [], { gc = false, denoFlags = [] } = {}) {
  switch (runtime) {
    case 'node':
      return { cmd: process.execPath, args: [...(gc ? ['--expose-gc'] : []), script, ...args] };
    case 'bun': {
      const bun = findBun();
      return bun && { cmd: bun, args: [script, ...args] }; // Bun.gc() needs no flag
    }
    case 'deno': {
      const deno = findDeno();
      const flags = [...DENO_FLAGS, ...denoFlags, ...(gc ? ['--v8-flags=--expose-gc'] : [])];
      return deno && { cmd: deno, args: ['run', '--quiet', ...flags, script, ...args] };
    }
    default:
      throw new Error(`unknown runtime ${runtime} (one of ${RUNTIMES.join(', ')})`);
  }
}
