// The package's bin entry: `tsbpf` is dist/src/cli/main.js, which the build makes
// executable (tsc does not), so `npx tsbpf` works from the repository and from an install.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));

test('package.json names the compiled command, which is executable and starts with a node shebang', (t) => {
  const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { bin: Record<string, string> };
  t.is(pkg.bin.tsbpf, './dist/src/cli/main.js');
  const main = `${root}dist/src/cli/main.js`;
  t.is(statSync(main).mode & 0o111, 0o111, 'executable by everyone (make build sets it)');
  t.is(readFileSync(main, 'utf8').split('\n')[0], '#!/usr/bin/env node');
});

test('npx tsbpf runs it from the repository', (t) => {
  const r = spawnSync('npx', ['--no-install', 'tsbpf', '--help'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false' },
  });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^usage: tsbpf <command>/);
  t.regex(r.stdout, /^ {2}map dump <id\|pinned-path> /m);
});
