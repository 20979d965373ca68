#!/usr/bin/env node
// Runs each TypeScript benchmark (dist/bench/<name>.bench.js) beside its raw C baseline
// (bench/baseline/<name>.c), alternating them for several rounds in one go, and prints the
// median ns per operation of each side and their ratio.
//   node scripts/run-bench.mjs [--rounds N] [--n ITERATIONS] [name ...]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
let rounds = 3;
let n;
const names = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--rounds') rounds = Number(args[++i]);
  else if (args[i] === '--n') n = args[++i];
  else names.push(args[i]);
}

const benches = readdirSync(join(root, 'bench'))
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .filter((name) => names.length === 0 || names.includes(name));

function parse(out) {
  const ops = new Map();
  for (const line of out.split('\n')) {
    const m = /^op=(\S+) n=(\d+) ns_per_op=([\d.]+)/.exec(line);
    if (m) ops.set(m[1], Number(m[3]));
  }
  return ops;
}

function run(cmd, argv) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', cwd: root, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return parse(r.stdout);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

mkdirSync(join(root, 'build/bench'), { recursive: true });
const rows = [];
for (const name of benches) {
  const src = join(root, 'bench/baseline', `${name}.c`);
  const bin = join(root, 'build/bench', name);
  const js = join(root, 'dist/bench', `${name}.bench.js`);
  if (!existsSync(js)) throw new Error(`${js} missing: run make build`);
  const hasC = existsSync(src);
  if (hasC) execFileSync('cc', ['-O2', '-Wall', '-o', bin, src, `-I${join(root, 'bench/baseline')}`], { stdio: 'inherit' });
  const samples = new Map(); // op -> { c: [], ts: [] }
  const add = (ops, side) => {
    for (const [op, v] of ops) {
      if (!samples.has(op)) samples.set(op, { c: [], ts: [] });
      samples.get(op)[side].push(v);
    }
  };
  for (let r = 0; r < rounds; r++) {
    if (hasC) add(run(bin, n ? [n] : []), 'c');
    add(run(process.execPath, [js, ...(n ? [n] : [])]), 'ts');
  }
  for (const [op, { c, ts }] of samples) rows.push({ bench: name, op, c: c.length ? median(c) : undefined, ts: ts.length ? median(ts) : undefined });
}

const fmt = (v) => (v === undefined ? '-' : v.toFixed(1));
console.log(`\nmedian of ${rounds} alternating rounds, ns per operation\n`);
console.log(['op'.padEnd(26), 'raw C'.padStart(12), 'tsbpf'.padStart(12), 'ratio'.padStart(8)].join(''));
for (const r of rows) {
  const ratio = r.c && r.ts ? (r.ts / r.c).toFixed(2) : '-';
  console.log([r.op.padEnd(26), fmt(r.c).padStart(12), fmt(r.ts).padStart(12), ratio.padStart(8)].join(''));
}
for (const r of rows) {
  if (r.c !== undefined) console.log(`op=${r.op} side=c ns_per_op=${r.c.toFixed(1)}`);
  if (r.ts !== undefined) console.log(`op=${r.op} side=ts ns_per_op=${r.ts.toFixed(1)}`);
}
