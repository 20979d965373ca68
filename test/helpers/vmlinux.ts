/**
 * CO-RE fixtures are compiled at test time against a vmlinux.h that bpftool writes from the
 * running kernel's BTF, once per test process, as users of libbpf-tools do.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLANG } from './tools.js';

export const CORE_FIXTURES = fileURLToPath(new URL('../../../test/fixtures/core/', import.meta.url));

let dir: string | undefined;

/** A directory holding vmlinux.h for the running kernel. */
export function vmlinuxDir(): string {
  if (dir) return dir;
  dir = mkdtempSync(join(tmpdir(), `tsbpf-vmlinux-${process.pid}-`));
  process.on('exit', () => rmSync(dir!, { recursive: true, force: true }));
  const header = execFileSync('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'c'], { maxBuffer: 256 << 20 });
  writeFileSync(join(dir, 'vmlinux.h'), header);
  return dir;
}

/** Compiles test/fixtures/core/<file> with BTF against vmlinux.h; returns the object's path. */
export function compileCoreFixture(file: string): string {
  const include = vmlinuxDir();
  const obj = join(include, file.replace(/\.c$/, '.o'));
  execFileSync(
    CLANG,
    ['-O2', '-g', '-target', 'bpf', '-D__TARGET_ARCH_x86', `-I${include}`, '-I/usr/include/x86_64-linux-gnu', '-Wall', '-c', join(CORE_FIXTURES, file), '-o', obj],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return obj;
}
