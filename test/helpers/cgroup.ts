/**
 * A cgroup v2 directory of the test's own, and a way to run a process inside it.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, rmdirSync } from 'node:fs';

export const CGROUP2_ROOT = '/sys/fs/cgroup/unified';

export interface TestCgroup {
  readonly path: string;
  /** The directory opened read-only: the target fd of BPF_PROG_ATTACH. */
  readonly fd: number;
  /** Runs `node -e script` inside the cgroup; resolves with its stdout+stderr, trimmed. */
  run(script: string): Promise<string>;
  /** Closes the fd and removes the directory (the cgroup must be empty by then). */
  remove(): void;
}

export function cgroup2Available(): boolean {
  return existsSync(`${CGROUP2_ROOT}/cgroup.procs`);
}

export function createCgroup(name: string): TestCgroup {
  const path = `${CGROUP2_ROOT}/${name}`;
  mkdirSync(path);
  const fd = openSync(path, 'r');
  return {
    path,
    fd,
    run(script) {
      // The child moves itself into the cgroup before it runs the script.
      const prelude = `require('fs').writeFileSync(${JSON.stringify(`${path}/cgroup.procs`)}, String(process.pid));\n`;
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['-e', prelude + script], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (out += d));
        child.on('error', reject);
        child.on('close', () => resolve(out.trim()));
      });
    },
    remove() {
      closeSync(fd);
      rmdirSync(path);
    },
  };
}
