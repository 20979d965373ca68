#!/usr/bin/env node
// Runs the whole test suite and ends with the plain line "N passed, N failed":
//   1. ava over dist/test (unit tests on the fake host, kernel tests on the real bpf(2)),
//      read through its TAP output;
//   2. the committed fuzz regression inputs (test/fixtures/fuzz/<target>/), replayed by the
//      sanitizer build of each libFuzzer target in build/native.
// Arguments are passed to ava (a file glob, --match ...).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

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

async function runAva(args) {
  const ava = spawn(process.execPath, [join(root, 'node_modules/ava/entrypoints/cli.mjs'), '--tap', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: process.env,
  });
  const lines = createInterface({ input: ava.stdout });
  let detail = null;
  for await (const line of lines) {
    const m = /^(not ok|ok) \d+ - (.*?)(?: # (SKIP|TODO).*)?$/.exec(line);
    if (m) {
      detail = null;
      const [, status, title, directive] = m;
      if (directive === 'SKIP' && requireKernel && !FEATURE_SKIP.test(title)) {
        // CI: a kernel test may skip only because a probe showed the kernel lacks a feature.
        failed++;
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
        detail = [];
        failures.push({ title, detail });
        console.log(paint(31, `  ✘ ${title}`));
      }
      continue;
    }
    if (detail && /^\s{2}/.test(line) && !/^\s*(---|\.\.\.)\s*$/.test(line)) {
      detail.push(line);
      console.log(paint(31, `    ${line.trim()}`));
    } else if (/^# (?!tests|pass|skip|fail|todo)/.test(line)) {
      console.log(line); // t.log() output and ava's own notes
    }
  }
  const code = await new Promise((resolve) => ava.on('close', resolve));
  // ava exits non-zero without a failing test when, for example, a file crashed or timed out.
  if (code !== 0 && failures.length === 0) {
    failed++;
    failures.push({ title: `ava exited with code ${code}`, detail: [] });
    console.log(paint(31, `  ✘ ava exited with code ${code}`));
  }
}

function replayFuzz() {
  const fixtures = join(root, 'test/fixtures/fuzz');
  if (!existsSync(fixtures)) return;
  for (const target of readdirSync(fixtures).sort()) {
    const dir = join(fixtures, target);
    if (!statSync(dir).isDirectory()) continue;
    const inputs = readdirSync(dir).filter((f) => !f.startsWith('.'));
    const bin = join(root, 'build/native', target);
    const title = `fuzz › ${target} replays ${inputs.length} regression inputs`;
    if (!existsSync(bin)) {
      failed++;
      failures.push({ title, detail: [`missing ${bin}: run make fuzz-build`] });
      console.log(paint(31, `  ✘ ${title} (binary missing)`));
      continue;
    }
    if (inputs.length === 0) continue;
    const r = spawnSync(bin, ['-runs=1', ...inputs.map((f) => join(dir, f))], { encoding: 'utf8' });
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

await runAva(process.argv.slice(2));
if (process.argv.length <= 2) replayFuzz();

console.log('');
if (failures.length) {
  console.log(paint(31, 'Failed:'));
  for (const f of failures) console.log(paint(31, `  ${f.title}`));
}
if (skipped) console.log(`${skipped} skipped`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
