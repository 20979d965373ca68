#!/usr/bin/env node
// Runs every libFuzzer target of build/native (the core built natively under ASan and UBSan)
// for a while, one at a time, and prints per target: executions, coverage and peak RSS.
//   node scripts/run-fuzz.mjs [--seconds N] [target ...]      (make fuzz FUZZ_SECONDS=N)
// Seeds are regenerated first (scripts/fuzz-seeds.mjs); see scripts/fuzz-lib.mjs for where
// inputs come from and what happens to a crash. Exits 1 if any target failed.
import { describe, fuzzTarget, fuzzTargets, writeSeeds } from './fuzz-lib.mjs';

const args = process.argv.slice(2);
let seconds = 60;
const only = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--seconds') seconds = Number(args[++i]);
  else only.push(args[i]);
}
if (!(seconds > 0)) throw new Error('--seconds needs a positive number');

const targets = fuzzTargets(only);
if (targets.length === 0) {
  console.log('no fuzz targets in build/native: run make fuzz-build');
  process.exit(1);
}
console.log(writeSeeds());
let failed = 0;
for (const target of targets) {
  const r = await fuzzTarget(target, seconds);
  console.log(describe(r, seconds));
  if (!r.ok) {
    failed++;
    for (const l of r.tail) console.log(`    ${l}`);
    if (r.minimized) console.log(`    minimised input: ${r.minimized} (commit it under test/fixtures/fuzz/${target}/ with the fix)`);
  }
}
process.exit(failed ? 1 : 0);
