/**
 * The toolchain the tests use as compiler and oracles: clang-14 to build BPF objects from the
 * C sources in test/fixtures/bpf at test time, llvm-readelf-14 and bpftool to read them
 * independently of tsbpf. `make setup` installs all three; a missing tool fails the test.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/bpf/', import.meta.url));

export const CLANG = process.env.CLANG ?? 'clang-14';
const BASE_FLAGS = ['-O2', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-Wall', '-Wno-unused-function'];

let outDir: string | undefined;
function out(name: string): string {
  if (!outDir) {
    outDir = mkdtempSync(join(tmpdir(), `tsbpf-fixtures-${process.pid}-`));
    process.on('exit', () => rmSync(outDir!, { recursive: true, force: true }));
  }
  return join(outDir, name);
}

/** Compiles test/fixtures/bpf/<file> (with BTF unless btf is false); returns the object's path. */
export function compileFixture(file: string, opts: { btf?: boolean; defines?: string[] } = {}): string {
  const obj = out(`${file.replace(/\.c$/, '')}${opts.btf === false ? '.nobtf' : ''}${(opts.defines ?? []).join('_')}.o`);
  const flags = [...BASE_FLAGS, ...(opts.btf === false ? [] : ['-g']), ...(opts.defines ?? []).map((d) => `-D${d}`)];
  execFileSync(CLANG, [...flags, '-c', join(FIXTURES, file), '-o', obj], { stdio: ['ignore', 'ignore', 'pipe'] });
  return obj;
}

/** Compiles a C snippet (with BPF headers available) into an object; returns its path. */
export function compileSource(name: string, source: string): string {
  const obj = out(`${name}.o`);
  execFileSync(CLANG, [...BASE_FLAGS, '-g', '-x', 'c', '-', '-c', '-o', obj], { input: source, stdio: ['pipe', 'ignore', 'pipe'] });
  return obj;
}

export function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 512 << 20 });
}

export interface ElfSymbol {
  num: number;
  value: number;
  size: number;
  type: string;
  bind: string;
  vis: string;
  section: string;
  name: string;
}

/** llvm-readelf's view of the symbol table, with section indexes turned into names. */
export function readelfSymbols(path: string): ElfSymbol[] {
  const sections = readelfSections(path);
  const out: ElfSymbol[] = [];
  for (const line of run('llvm-readelf-14', ['-s', '-W', path]).split('\n')) {
    const m = /^\s*(\d+):\s+([0-9a-f]+)\s+(\d+)\s+(\w+)\s+(\w+)\s+(\w+)\s+(\w+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const ndx = m[7]!;
    out.push({
      num: Number(m[1]),
      value: parseInt(m[2]!, 16),
      size: Number(m[3]),
      type: m[4]!,
      bind: m[5]!,
      vis: m[6]!,
      section: /^\d+$/.test(ndx) ? sections[Number(ndx)]!.name : ndx,
      name: m[8]!.trim(),
    });
  }
  return out;
}

export interface ElfSection {
  index: number;
  name: string;
  type: string;
  size: number;
  flags: string;
}

export function readelfSections(path: string): ElfSection[] {
  const out: ElfSection[] = [];
  for (const line of run('llvm-readelf-14', ['-S', '-W', path]).split('\n')) {
    const m = /^\s*\[\s*(\d+)\]\s+(\S*)\s+(\S+)\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)\s+[0-9a-f]+\s*([A-Za-z]*)\s+\d+/.exec(line);
    if (!m) continue;
    out[Number(m[1])] = { index: Number(m[1]), name: m[2]!, type: m[3]!, size: parseInt(m[4]!, 16), flags: m[5]! };
  }
  return out;
}

/** A section's bytes, from llvm-readelf's hex dump. */
export function readelfBytes(path: string, section: string): Buffer {
  const hex: string[] = [];
  for (const line of run('llvm-readelf-14', ['-x', section, path]).split('\n')) {
    const m = /^\s*0x[0-9a-f]+\s+((?:[0-9a-f]{2,8}\s)+)/.exec(line);
    if (m) hex.push(m[1]!.replace(/\s+/g, ''));
  }
  return Buffer.from(hex.join(''), 'hex');
}

/** bpftool's JSON dump of a BTF file (an object's .BTF, or raw BTF with an optional base). */
export function bpftoolBtf(path: string, base?: string): Array<Record<string, unknown>> {
  const args = [...(base ? ['-B', base] : []), 'btf', 'dump', 'file', path, '--json'];
  return (JSON.parse(run('bpftool', args)) as { types: Array<Record<string, unknown>> }).types;
}
