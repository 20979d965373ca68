/**
 * The conformance corpus: BPF objects built by others (cilium/ebpf's test data), kept beside
 * the repository in shared/corpus with a manifest of what each contains. TSBPF_CORPUS
 * overrides where it is.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../..', import.meta.url)); // dist/test/helpers -> repo

export interface ManifestProgram {
  name: string;
  section: string;
  insns: number;
  bind: string;
  type: string;
  match: 'libbpf' | 'prefix' | 'unknown';
}

export interface ManifestInner {
  type: number;
  max_entries: number;
  key_size: number;
  key_type?: string;
  value_size: number;
  value_type?: string;
}

export interface ManifestMap {
  name: string;
  kind: 'btf' | 'legacy' | 'data' | 'struct_ops';
  type: string;
  key_size: number | null;
  value_size: number | null;
  max_entries: number | null;
  flags: number | 'rdonly_prog' | 'link';
  key_type?: string;
  value_type?: string;
  def_size?: number;
  extra?: number[];
  pinning?: number;
  inner?: 'prog' | ManifestInner;
  values_init?: number;
  map_extra?: number;
}

export interface ManifestEntry {
  file: string;
  size: number;
  programs: ManifestProgram[];
  subprogs: Array<{ name: string; section: string; insns: number; bind: string }>;
  maps: ManifestMap[];
  externs: string[];
  license: string | null;
  btf: boolean;
  btf_ext: null | { func_info: number; line_info: number; core_relo: number; core_kinds: Record<string, number> };
  expect: string;
}

/** The corpus directory, or a thrown error saying how to point at it. */
export function corpusDir(): string {
  const candidates = [process.env.TSBPF_CORPUS, join(root, '../../shared/corpus'), join(root, '../shared/corpus'), '/work/shared/corpus'];
  for (const dir of candidates) if (dir && existsSync(join(dir, 'manifest.json'))) return dir;
  throw new Error(`the BPF object corpus (manifest.json) was not found in ${candidates.filter(Boolean).join(', ')}: set TSBPF_CORPUS`);
}

export function manifest(): ManifestEntry[] {
  return JSON.parse(readFileSync(join(corpusDir(), 'manifest.json'), 'utf8')) as ManifestEntry[];
}

export function corpusFile(entry: ManifestEntry): string {
  return join(corpusDir(), entry.file);
}
