#!/usr/bin/env node
// Runs each TypeScript benchmark (dist/bench/<name>.bench.js) beside its raw C baseline
// (bench/baseline/<name>.c), alternating them for several rounds in one go, and prints the
// median ns per operation of each side and their ratio. With --runtime the TypeScript side
// runs on each runtime listed (node, bun, deno, or all), each through its own FFI.
//   node scripts/run-bench.mjs [--rounds N] [--n ITERATIONS] [--runtime node,bun,deno|all] [name ...]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { RUNTIMES, runtimeCommand } from './runtimes.mjs';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
let rounds = 3;
let n;
let runtimes = ['node'];
const names = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--rounds') rounds = Number(args[++i]);
  else if (args[i] === '--n') n = args[++i];
  else if (args[i] === '--runtime') runtimes = args[++i] === 'all' ? RUNTIMES : args[i].split(',');
  else names.push(args[i]);
}
for (const r of runtimes) if (!RUNTIMES.includes(r)) throw new Error(`unknown runtime ${r} (one of ${RUNTIMES.join(', ')}, all)`);

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
const sides = ['c', ...runtimes];
const rows = [];
for (const name of benches) {
  const src = join(root, 'bench/baseline', `${name}.c`);
  const bin = join(root, 'build/bench', name);
  const js = join(root, 'dist/bench', `${name}.bench.js`);
  if (!existsSync(js)) throw new Error(`${js} missing: run make build`);
  const hasC = existsSync(src);
  if (hasC) execFileSync('cc', ['-O2', '-Wall', '-o', bin, src, `-I${join(root, 'bench/baseline')}`], { stdio: 'inherit' });
  const commands = runtimes.map((rt) => {
    const cmd = runtimeCommand(rt, js, n ? [n] : []);
    if (!cmd) throw new Error(`${rt} is not installed: run make setup`);
    return [rt, cmd];
  });
  const samples = new Map(); // op -> { c: [], node: [], bun: [], ... }
  const add = (ops, side) => {
    for (const [op, v] of ops) {
      if (!samples.has(op)) samples.set(op, Object.fromEntries(sides.map((s) => [s, []])));
      samples.get(op)[side].push(v);
    }
  };
  for (let r = 0; r < rounds; r++) {
    if (hasC) add(run(bin, n ? [n] : []), 'c');
    for (const [rt, cmd] of commands) add(run(cmd.cmd, cmd.args), rt);
  }
  for (const [op, s] of samples) rows.push({ op, ...Object.fromEntries(sides.map((k) => [k, s[k].length ? median(s[k]) : undefined])) });
}

const fmt = (v) => (v === undefined ? '-' : v.toFixed(1));
const label = (rt) => (runtimes.length === 1 && rt === 'node' ? 'tsbpf' : `tsbpf/${rt}`);
console.log(`\nmedian of ${rounds} alternating rounds, ns per operation\n`);
console.log(['op'.padEnd(26), 'raw C'.padStart(12), ...runtimes.flatMap((rt) => [label(rt).padStart(14), 'ratio'.padStart(8)])].join(''));
for (const r of rows) {
  const cells = runtimes.flatMap((rt) => [fmt(r[rt]).padStart(14), (r.c && r[rt] ? (r[rt] / r.c).toFixed(2) : '-').padStart(8)]);
  console.log([r.op.padEnd(26), fmt(r.c).padStart(12), ...cells].join(''));
}
for (const r of rows) {
  if (r.c !== undefined) console.log(`op=${r.op} side=c ns_per_op=${r.c.toFixed(1)}`);
  for (const rt of runtimes) if (r[rt] !== undefined) console.log(`op=${r.op} side=ts ns_per_op=${r[rt].toFixed(1)} runtime=${rt}`);
}
