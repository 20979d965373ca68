/** Runs the compiled tsbpf command in a child process. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function tsbpf(...args: string[]): CliResult {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 120_000, maxBuffer: 256 << 20 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The unprivileged user the permission tests run the command as (nobody). */
export const NOBODY = 65534;

/** tsbpf run as user and group `uid` with no supplementary groups and no capabilities. */
export function tsbpfAs(uid: number, ...args: string[]): CliResult {
  const r = spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', process.execPath, main, ...args], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * tsbpf with a terminal on stdout and stderr (through script(1)), for output that only a
 * terminal gets, such as progress. Both streams arrive mixed, as a person would see them.
 */
export function tsbpfOnTty(...args: (string | Record<string, string>)[]): CliResult {
  // A trailing object adds environment variables.
  const env = typeof args.at(-1) === 'object' ? (args.pop() as Record<string, string>) : {};
  const command = [process.execPath, main, ...(args as string[])].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('script', ['-qefc', command, '/dev/null'], {
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 256 << 20,
    env: { ...process.env, ...env },
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * JSON.parse that keeps integers of 16 digits or more exact, as decimal strings: both tsbpf
 * and bpftool print 64-bit values as plain digits, which JSON.parse would round.
 */
export function parseJsonExact(text: string): unknown {
  return JSON.parse(text.replace(/"(?:[^"\\]|\\.)*"|-?\d{16,}(?![.eE\d])/g, (m) => (m.startsWith('"') ? m : `"${m}"`)));
}

/** Runs tsbpf with --json, requires success, and parses its output exactly. */
export function tsbpfJson<T = unknown>(...args: string[]): T {
  const r = tsbpf(...args, '--json');
  if (r.status !== 0) throw new Error(`tsbpf ${args.join(' ')} --json: exit ${r.status}: ${r.stderr}`);
  return parseJsonExact(r.stdout) as T;
}

/** bpftool's --json output, parsed exactly. */
export function bpftoolJson<T = unknown>(...args: string[]): T {
  return parseJsonExact(execFileSync('bpftool', [...args, '--json'], { encoding: 'utf8', maxBuffer: 256 << 20 })) as T;
}

/** Where `bpftool prog loadall` pinned an object's programs and maps. */
export interface BpftoolLoad {
  progs: string;
  maps: string;
  /** Removes both pin directories (the objects go when nothing else holds them). */
  remove(): void;
}

let loads = 0;

/**
 * Loads every program of an object with bpftool (libbpf creates its maps, global data
 * included, with BTF), pinning programs and maps under /sys/fs/bpf/tsbpf-test-<pid>-*.
 */
export function bpftoolLoadAll(object: string): BpftoolLoad {
  const base = `/sys/fs/bpf/tsbpf-test-${process.pid}-${loads++}`;
  const progs = `${base}-progs`;
  const maps = `${base}-maps`;
  const remove = (): void => {
    rmSync(progs, { recursive: true, force: true });
    rmSync(maps, { recursive: true, force: true });
  };
  remove();
  mkdirSync(maps, { recursive: true });
  try {
    execFileSync('bpftool', ['prog', 'loadall', object, progs, 'pinmaps', maps], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    remove();
    throw e;
  }
  return { progs, maps, remove };
}
