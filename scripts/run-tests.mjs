#!/usr/bin/env node
// Runs the whole test suite and ends with the plain line "N passed, N failed":
//   1. ava over dist/test (unit tests on the fake host, kernel tests on the real bpf(2)),
//      read through its TAP output;
//   2. the committed fuzz regression inputs (test/fixtures/fuzz/<target>/) and seeds
//      (test/fixtures/fuzz-seeds/<target>/), replayed by the sanitizer build of each libFuzzer
//      target in build/native, and the self-test of the fuzz targets' scripted kernel;
//   3. the runtime suite (dist/test/runtimes/suite.js, the core of the kernel tests without
//      ava) under Node, Bun and Deno, each through its own FFI;
//   4. with TSBPF_FUZZ_SECONDS=N (CI sets it), every libFuzzer target fuzzed for N seconds,
//      one at a time, each counted as a test (see scripts/fuzz-lib.mjs).
// Arguments are passed to ava (a file glob, --match ...); `--runtimes [node,bun,deno]`
// runs only the runtime suite, on the runtimes listed (default: all three).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, fuzzTarget, fuzzTargets, writeSeeds } from './fuzz-lib.mjs';
import { RUNTIMES, runtimeCommand } from './runtimes.mjs';

const root = new URL('..', import.meta.url).pathname;
const useColor = process.stdout.isTTY;
const paint = (code, s) => (useColor ? `\x1b[${code}m${s}\x1b[0m` : s);

// TSBPF_REQUIRE_KERNEL=1 (CI): skipping is allowed only for tests whose title says the
// kernel lacks a feature, as test/helpers/kernel.ts's kernelTest.requires() writes it.
const requireKernel = process.env.TSBPF_REQUIRE_KERNEL === '1';
const FEATURE_SKIP = /\(skipped: this kernel lacks /;

let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];

/**
 * Counts the TAP lines of a test process (ava's, or a runtime suite's) and prints them as
 * checks and crosses; `prefix` names the process in every title ('bun › ').
 * Returns whether a plan line (1..N) was seen and how many results were failures.
 */
async function readTap(input, prefix = '') {
  const lines = createInterface({ input });
  let detail = null;
  let plan = false;
  let failedHere = 0;
  for await (const line of lines) {
    const m = /^(not ok|ok) \d+ - (.*?)(?: # (SKIP|TODO).*)?$/.exec(line);
    if (m) {
      detail = null;
      const [, status, rawTitle, directive] = m;
      const title = prefix + rawTitle;
      if (directive === 'SKIP' && requireKernel && !FEATURE_SKIP.test(title)) {
        // CI: a kernel test may skip only because a probe showed the kernel lacks a feature.
        failed++;
        failedHere++;
        failures.push({ title: `${title} (skipped, but CI requires every kernel test)`, detail: [] });
        console.log(paint(31, `  ✘ ${title} (skipped, but CI requires it to run)`));
      } else if (directive === 'SKIP') {
        skipped++;
        console.log(paint(33, `  - ${title} (skipped)`));
      } else if (directive === 'TODO') {
        console.log(paint(33, `  - ${title} (todo)`));
      } else if (status === 'ok') {
        passed++;
        console.log(paint(32, `  ✔ ${title}`));
      } else {
        failed++;
        failedHere++;
        detail = [];
        failures.push({ title, detail });
        console.log(paint(31, `  ✘ ${title}`));
      }
      continue;
    }
    if (/^1\.\.\d+$/.test(line)) plan = true;
    if (detail && /^\s{2}/.test(line) && !/^\s*(---|\.\.\.)\s*$/.test(line)) {
      detail.push(line);
      console.log(paint(31, `    ${line.trim()}`));
    } else if (/^# (?!tests|pass|skip|fail|todo)/.test(line)) {
      console.log(line); // t.log() output and ava's own notes
    }
  }
  return { plan, failedHere };
}

/** Counts a failure that is not a test's own (a crash, a missing binary). */
function failOutside(title, detail = []) {
  failed++;
  failures.push({ title, detail });
  console.log(paint(31, `  ✘ ${title}`));
  for (const l of detail) console.log(paint(31, `    ${l}`));
}

async function runAva(args) {
  const ava = spawn(process.execPath, [join(root, 'node_modules/ava/entrypoints/cli.mjs'), '--tap', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: process.env,
  });
  const { failedHere } = await readTap(ava.stdout);
  const code = await new Promise((resolve) => ava.on('close', resolve));
  // ava exits non-zero without a failing test when, for example, a file crashed or timed out.
  if (code !== 0 && failedHere === 0) failOutside(`ava exited with code ${code}`);
}

/**
 * The BPF object the runtime suite loads (test/fixtures/bpf/runtime.bpf.c), compiled here
 * on Node: the suite runs where Deno may read only the package and start no compiler.
 */
let runtimeObject;
function compileRuntimeObject() {
  if (runtimeObject) return runtimeObject; // once, though the suite runs again on the copy bridge
  const out = join(root, 'build/runtimes/runtime.bpf.o');
  mkdirSync(join(root, 'build/runtimes'), { recursive: true });
  const clang = process.env.CLANG ?? 'clang-14';
  const args = ['-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-Wall', '-c', join(root, 'test/fixtures/bpf/runtime.bpf.c'), '-o', out];
  const r = spawnSync(clang, args, { encoding: 'utf8' });
  if (r.status !== 0) failOutside(`runtime suite: ${clang} could not build runtime.bpf.c: ${r.error?.message ?? r.stderr}`);
  runtimeObject = out;
  return out;
}

/**
 * The runtime suite under each runtime. Deno gets only the permissions a user of tsbpf
 * grants (FFI, reading the package) plus writing under bpffs for the pin case.
 */
async function runRuntimes(names, { label = '', env = {} } = {}) {
  const suite = join(root, 'dist/test/runtimes/suite.js');
  const object = compileRuntimeObject();
  for (const name of names) {
    const cmd = runtimeCommand(name, suite, ['--expect', name, '--object', object], { gc: true, denoFlags: ['--allow-write=/sys/fs/bpf'] });
    if (!cmd) {
      failOutside(`${name} › runtime suite (${name} is not installed: run make setup)`);
      continue;
    }
    const childEnv = { ...process.env, ...env };
    const child = spawn(cmd.cmd, cmd.args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: childEnv, timeout: 300_000 });
    const { plan, failedHere } = await readTap(child.stdout, `${name}${label} › `);
    const [code, signal] = await new Promise((resolve) => child.on('close', (c, s) => resolve([c, s])));
    if ((code !== 0 || !plan) && failedHere === 0)
      failOutside(`${name} › runtime suite exited with ${signal ?? `code ${code}`}${plan ? '' : ' before it finished'}`);
  }
}

/**
 * Replays the committed inputs of each fuzz target under its sanitizer build: the regression
 * inputs of test/fixtures/fuzz/<target>/ (crashers once found, now fixed) and the seeds of
 * test/fixtures/fuzz-seeds/<target>/. One test per target.
 */
function replayFuzz() {
  const dirsOf = (target) =>
    ['test/fixtures/fuzz', 'test/fixtures/fuzz-seeds'].map((d) => join(root, d, target)).filter((d) => existsSync(d) && statSync(d).isDirectory());
  const names = new Set();
  for (const base of ['test/fixtures/fuzz', 'test/fixtures/fuzz-seeds']) {
    const dir = join(root, base);
    if (existsSync(dir)) for (const t of readdirSync(dir)) names.add(t);
  }
  for (const target of [...names].sort()) {
    const [regressions = 0, seeds = 0] = ['test/fixtures/fuzz', 'test/fixtures/fuzz-seeds'].map((d) => {
      const p = join(root, d, target);
      return existsSync(p) ? readdirSync(p).filter((f) => !f.startsWith('.')).length : 0;
    });
    const inputs = dirsOf(target).flatMap((d) => readdirSync(d).filter((f) => !f.startsWith('.')).map((f) => join(d, f)));
    const bin = join(root, 'build/native', target);
    const title = `fuzz › ${target} replays ${regressions} regression inputs and ${seeds} seeds`;
    if (!existsSync(bin)) {
      failed++;
      failures.push({ title, detail: [`missing ${bin}: run make fuzz-build`] });
      console.log(paint(31, `  ✘ ${title} (binary missing)`));
      continue;
    }
    if (inputs.length === 0) continue;
    const r = spawnSync(bin, ['-runs=1', ...inputs], { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.status === 0) {
      passed++;
      console.log(paint(32, `  ✔ ${title}`));
    } else {
      failed++;
      const tail = `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-15);
      failures.push({ title, detail: tail });
      console.log(paint(31, `  ✘ ${title}`));
      for (const l of tail) console.log(paint(31, `    ${l}`));
    }
  }
}

/** The scripted kernel of the fuzz targets must still catch bad requests (its own TAP test). */
async function runStubSelftest() {
  const bin = join(root, 'build/native/stub_selftest');
  if (!existsSync(bin)) {
    failOutside('host stub › build/native/stub_selftest is missing: run make fuzz-build');
    return;
  }
  const child = spawn(bin, [], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const { plan, failedHere } = await readTap(child.stdout, 'host stub › ');
  const code = await new Promise((resolve) => child.on('close', resolve));
  if ((code !== 0 || !plan) && failedHere === 0) failOutside(`host stub › stub_selftest exited with code ${code}`);
}

/** Fuzzes every target for `seconds` (CI): each run is a test that passes when it stays clean. */
async function runFuzz(seconds) {
  const targets = fuzzTargets();
  if (targets.length === 0) {
    failOutside('fuzz › no targets in build/native (run make fuzz-build)');
    return;
  }
  console.log(`# ${writeSeeds()}`);
  for (const target of targets) {
    const r = await fuzzTarget(target, seconds);
    const title = `fuzz › ${describe(r, seconds)}`;
    if (r.ok) {
      passed++;
      console.log(paint(32, `  ✔ ${title}`));
    } else {
      const detail = [...r.tail, ...(r.minimized ? [`minimised input: ${r.minimized}`] : [])];
      failed++;
      failures.push({ title, detail });
      console.log(paint(31, `  ✘ ${title}`));
      for (const l of detail) console.log(paint(31, `    ${l}`));
    }
  }
}

const argv = process.argv.slice(2);
if (argv[0] === '--runtimes') {
  const names = argv[1] ? argv[1].split(',') : RUNTIMES;
  for (const n of names) if (!RUNTIMES.includes(n)) throw new Error(`unknown runtime ${n} (one of ${RUNTIMES.join(', ')})`);
  await runRuntimes(names);
} else {
  await runAva(argv);
  if (argv.length === 0) {
    replayFuzz();
    await runStubSelftest();
    await runRuntimes(RUNTIMES);
    // The bridge's other way of handing buffers to the kernel: through native copies.
    await runRuntimes(['node'], { label: ' (copy bridge)', env: { TSBPF_BRIDGE: 'copy' } });
    const fuzzSeconds = Number(process.env.TSBPF_FUZZ_SECONDS ?? 0);
    if (fuzzSeconds > 0) await runFuzz(fuzzSeconds);
  }
}

console.log('');
if (failures.length) {
  console.log(paint(31, 'Failed:'));
  for (const f of failures) console.log(paint(31, `  ${f.title}`));
}
if (skipped) console.log(`${skipped} skipped`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
