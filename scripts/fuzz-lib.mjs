// Runs the libFuzzer targets of build/native (the core built natively under ASan and UBSan):
// shared by scripts/run-fuzz.mjs (make fuzz) and scripts/run-tests.mjs (CI's short runs).
//
// A target's inputs come from, in order: its working corpus (.fuzz-out/<target>/corpus, not
// committed, where new inputs land), the generated seeds (build/fuzz-seeds/<target>, written
// by scripts/fuzz-seeds.mjs from the shared corpus and fixture builds), the committed seeds
// (test/fixtures/fuzz-seeds/<target>) and the committed regression inputs
// (test/fixtures/fuzz/<target>). A crash is minimised on the spot (-minimize_crash=1) into
// .fuzz-out/<target>/minimized-<name>: commit that file under test/fixtures/fuzz/<target>/
// once the bug is fixed, and `make test` replays it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';

export const root = new URL('..', import.meta.url).pathname;
export const binDir = join(root, 'build/native');

/** The fuzz targets built in build/native, sorted. */
export function fuzzTargets(only = []) {
  if (!existsSync(binDir)) return [];
  return readdirSync(binDir)
    .filter((f) => /^fuzz_[a-z0-9_]+$/.test(f))
    .filter((f) => only.length === 0 || only.includes(f))
    .sort();
}

/** Writes build/fuzz-seeds (quick: a few clang builds); returns its summary line. */
export function writeSeeds() {
  const r = spawnSync(process.execPath, [join(root, 'scripts/fuzz-seeds.mjs')], { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`.trim();
}

function inputDirs(target, corpus) {
  const dirs = [corpus];
  for (const d of ['build/fuzz-seeds', 'test/fixtures/fuzz-seeds', 'test/fixtures/fuzz']) {
    const p = join(root, d, target);
    if (existsSync(p)) dirs.push(p);
  }
  return dirs;
}

/**
 * Fuzzes one target for `seconds`. Resolves to { target, ok, executions, edges, features,
 * rssMb, crash, minimized, tail } (numbers as libFuzzer printed them, '?' when absent).
 * `rssLimitMb` is libFuzzer's -rss_limit_mb (a malloc above it is a crash too).
 */
export async function fuzzTarget(target, seconds, { rssLimitMb = 2048, extraArgs = [] } = {}) {
  const out = join(root, '.fuzz-out', target);
  const corpus = join(out, 'corpus');
  mkdirSync(corpus, { recursive: true });
  const args = [
    `-max_total_time=${seconds}`,
    '-print_final_stats=1',
    `-artifact_prefix=${out}/`,
    `-rss_limit_mb=${rssLimitMb}`,
    '-timeout=25',
    ...extraArgs,
    ...inputDirs(target, corpus),
  ];
  const child = spawn(join(binDir, target), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (chunk) => {
    log += chunk;
    if (log.length > 4 << 20) log = log.slice(-(2 << 20)); // keep the end: stats and crash reports
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const status = await new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? signal)));
  const stat = (name) => (new RegExp(`stat::${name}:\\s+(\\d+)`).exec(log) ?? [])[1] ?? '?';
  const lastCov = log.split('\n').filter((l) => /cov: \d+ ft: \d+/.test(l)).at(-1) ?? '';
  const [, edges = '?', features = '?'] = /cov: (\d+) ft: (\d+)/.exec(lastCov) ?? [];
  const crash = (/Test unit written to (\S+)/.exec(log) ?? [])[1];
  let minimized;
  if (status !== 0 && crash && existsSync(crash)) minimized = minimize(target, crash, out);
  return {
    target,
    ok: status === 0,
    executions: stat('number_of_executed_units'),
    edges,
    features,
    rssMb: stat('peak_rss_mb'),
    crash,
    minimized,
    tail: log
      .split('\n')
      .filter((l) => /ERROR|SUMMARY|host_stub|fuzz_\w+:|artifact|#\d+ 0x/.test(l))
      .slice(0, 24),
  };
}

/** Minimises a crashing input (libFuzzer's -minimize_crash); returns the minimised file. */
function minimize(target, crash, out) {
  const dest = join(out, `minimized-${basename(crash)}`);
  spawnSync(join(binDir, target), ['-minimize_crash=1', '-max_total_time=60', `-exact_artifact_path=${dest}`, crash], {
    stdio: 'ignore',
  });
  return existsSync(dest) ? dest : undefined;
}

/** One line per run, as make fuzz and the test runner print it. */
export function describe(r, seconds) {
  return (
    `${r.target}: ${r.ok ? 'clean' : 'FAILED'} — ${r.executions} executions in ${seconds}s, ` +
    `coverage ${r.edges} edges / ${r.features} features, peak RSS ${r.rssMb} MB`
  );
}
