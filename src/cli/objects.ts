/**
 * Loaded programs and maps as the list, show and dump commands print them: opened by id or
 * pin, described by one record each (from the kernel's info, plus the memlock figure the
 * kernel only shows in fdinfo), and walked by id with objects that vanish mid-walk skipped.
 */
import { readFileSync } from 'node:fs';
import { Btf } from '../btf.js';
import { BpfError } from '../errors.js';
import { BpfMap } from '../map.js';
import { Program } from '../program.js';
import { exact, mapTypeName, parseTarget, programTypeName, sinceBoot } from './format.js';

/** A program as `prog list` / `prog show` print it (bpftool prog show's fields). */
export interface ProgramRecord {
  id: number;
  type: string;
  name: string;
  tag: string;
  gplCompatible: boolean;
  /** When it was loaded: seconds since the epoch (bpftool's loaded_at), and as ISO 8601 text. */
  loadedAt: number | undefined;
  loadedAtIso: string | undefined;
  uid: number | undefined;
  xlatedBytes: number;
  jited: boolean;
  jitedBytes: number;
  memlockBytes: number | undefined;
  mapIds: number[];
  btfId: number | undefined;
  verifiedInstructions: number | undefined;
  runCount: number | bigint | undefined;
  runTimeNs: number | bigint | undefined;
  attachBtfObjId: number | undefined;
  attachBtfId: number | undefined;
}

/** A map as `map list` / `map show` print it (bpftool map show's fields). */
export interface MapRecord {
  id: number;
  type: string;
  name: string;
  flags: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  memlockBytes: number | undefined;
  btfId: number;
  frozen: boolean;
  mapExtra: number | bigint;
}

/** A figure of /proc/self/fdinfo/<fd> ('memlock'), or undefined. */
function fdinfo(fd: number, field: string): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s*(\\d+)$`, 'm').exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'latin1'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export function programRecord(p: Program): ProgramRecord {
  const i = p.info();
  // Whole seconds: the boot time it is computed from is only known to about 10 ms, and
  // differs by that much between two readings.
  const loadedAt = i.loadTime === undefined ? undefined : Math.floor(sinceBoot(i.loadTime).getTime() / 1000);
  return {
    id: i.id,
    type: programTypeName(i.type),
    name: i.name,
    tag: i.tag,
    gplCompatible: i.gplCompatible,
    loadedAt,
    loadedAtIso: loadedAt === undefined ? undefined : new Date(loadedAt * 1000).toISOString(),
    uid: i.createdByUid,
    xlatedBytes: i.xlatedSize,
    jited: i.jitedSize > 0,
    jitedBytes: i.jitedSize,
    memlockBytes: fdinfo(p.fd, 'memlock'),
    mapIds: i.mapIds ?? [],
    btfId: i.btfId || undefined,
    verifiedInstructions: i.verifiedInstructions,
    runCount: i.runCount === undefined ? undefined : exact(i.runCount),
    runTimeNs: i.runTime === undefined ? undefined : exact(i.runTime),
    attachBtfObjId: i.attachBtfObjId || undefined,
    attachBtfId: i.attachBtfId || undefined,
  };
}

export function mapRecord(m: BpfMap<unknown, unknown>): MapRecord {
  const i = m.info();
  return {
    id: i.id,
    type: mapTypeName(i.type),
    name: i.name,
    flags: i.flags,
    keySize: i.keySize,
    valueSize: i.valueSize,
    maxEntries: i.maxEntries,
    memlockBytes: fdinfo(m.fd, 'memlock'),
    btfId: i.btfId,
    frozen: i.frozen,
    mapExtra: exact(i.mapExtra),
  };
}

/** Opens `<id|pinned-path>` as a program; `pinned` is the path when one was given. */
export function openProgram(target: string): { prog: Program; pinned: string | undefined } {
  const t = parseTarget(target);
  return 'id' in t ? { prog: Program.fromId(t.id), pinned: undefined } : { prog: Program.loadPinned(t.path), pinned: t.path };
}

/** Opens `<id|pinned-path>` as a map; `pinned` is the path when one was given. */
export function openMap(target: string): { map: BpfMap<Buffer, Buffer>; pinned: string | undefined } {
  const t = parseTarget(target);
  return 'id' in t ? { map: BpfMap.fromId(t.id), pinned: undefined } : { map: BpfMap.loadPinned(t.path), pinned: t.path };
}

function vanished(e: unknown): boolean {
  return e instanceof BpfError && e.code === 'ENOENT';
}

/**
 * `describe` of every object of one kind, by id. Objects that go away between the id walk
 * and opening them are skipped; any other failure (EPERM) ends the walk with its error.
 */
export function* eachObject<H extends { close(): void }, R>(
  ids: () => Iterable<number>,
  open: (id: number) => H,
  describe: (h: H) => R,
): Generator<R> {
  for (const id of ids()) {
    let h: H;
    try {
      h = open(id);
    } catch (e) {
      if (vanished(e)) continue;
      throw e;
    }
    try {
      yield describe(h);
    } finally {
      h.close();
    }
  }
}

/** The C name of BTF type `id` of BTF object `btfId` ('struct record'), or '' when unknown. */
export function btfTypeName(btf: Btf | undefined, id: number): string {
  if (!btf || !id) return '';
  try {
    return btf.typeName(id);
  } catch {
    return '';
  }
}

/** The BTF object, or undefined when it cannot be had (gone, not permitted, unparsable). */
export function fetchBtf(id: number): Btf | undefined {
  if (!id) return undefined;
  try {
    return Btf.fromId(id);
  } catch {
    return undefined;
  }
}

