#!/usr/bin/env node
// Runs every libFuzzer target of build/native (the core built natively under ASan and UBSan)
// for a while and prints, per target, executions, coverage and the verdict.
//   node scripts/run-fuzz.mjs [--seconds N] [target ...]
// Working corpora live in .fuzz-out/<target>/ (not committed), seeded from
// test/fixtures/fuzz-seeds/<target>/ when that exists and from the committed regression
// inputs in test/fixtures/fuzz/<target>/. A crash is written to .fuzz-out/<target>/ and
// should be minimised (-minimize_crash=1) and committed under test/fixtures/fuzz/<target>/
// once fixed, where `make test` replays it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
let seconds = 60;
const only = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--seconds') seconds = Number(args[++i]);
  else only.push(args[i]);
}

const binDir = join(root, 'build/native');
const targets = readdirSync(binDir)
  .filter((f) => f.startsWith('fuzz_'))
  .filter((f) => only.length === 0 || only.includes(f))
  .sort();

let failed = 0;
for (const target of targets) {
  const out = join(root, '.fuzz-out', target);
  const corpus = join(out, 'corpus');
  mkdirSync(corpus, { recursive: true });
  const dirs = [corpus];
  for (const seed of [join(root, 'test/fixtures/fuzz-seeds', target), join(root, 'test/fixtures/fuzz', target)]) {
    if (existsSync(seed)) dirs.push(seed);
  }
  const r = spawnSync(
    join(binDir, target),
    [`-max_total_time=${seconds}`, '-print_final_stats=1', `-artifact_prefix=${out}/`, '-rss_limit_mb=2048', ...dirs],
    { encoding: 'utf8', maxBuffer: 256 << 20 },
  );
  const log = `${r.stdout}\n${r.stderr}`;
  const stat = (name) => (new RegExp(`stat::${name}:\\s+(\\d+)`).exec(log) ?? [])[1] ?? '?';
  const cov = (/cov: (\d+) ft: (\d+)/.exec(log.split('\n').filter((l) => l.includes('cov:')).at(-1) ?? '') ?? []).slice(1);
  const ok = r.status === 0;
  if (!ok) failed++;
  console.log(
    `${target}: ${ok ? 'clean' : 'FAILED'} — ${stat('number_of_executed_units')} executions in ${seconds}s, ` +
      `coverage ${cov[0] ?? '?'} edges / ${cov[1] ?? '?'} features, peak RSS ${stat('peak_rss_mb')} MB`,
  );
  if (!ok) console.log(log.split('\n').filter((l) => /ERROR|SUMMARY|artifact|#\d+/.test(l)).slice(-12).join('\n'));
}
process.exit(failed ? 1 : 0);
