/**
 * `tsbpf map dump <id|pinned-path>`: every entry of a map, keys and values decoded through
 * the map's BTF (fetched from the kernel by the map's btf_id) where it has one, raw bytes
 * otherwise; per-CPU maps show one value per possible CPU. --json prints bpftool's shape
 * (`bpftool map dump --json`): raw bytes as hex strings, the decoded form under "formatted".
 */
import type { Btf } from '../btf.js';
import { BpfError } from '../errors.js';
import type { BpfMap } from '../map.js';
import type { CommandSpec } from './args.js';
import { decodeBtf, plain, render, type Value } from './btf_value.js';
import { failure, hexByteArray, hexBytes, mapTypeName } from './format.js';
import { fetchBtf, openMap } from './objects.js';

/** One entry as --json prints it. */
interface Entry {
  key: string[];
  /** The value's bytes, or the error a lookup of this key gave (bpftool's shape). */
  value?: string[] | { error: string };
  values?: { cpu: number; value: string[] }[];
  formatted?: { key?: unknown; value?: unknown; values?: { cpu: number; value: unknown }[] };
}

/** Map types whose elements have no key to walk (queue, stack, bloom filter, ring buffers, arena). */
const KEYLESS = new Set(['queue', 'stack', 'bloom_filter', 'ringbuf', 'user_ringbuf', 'arena']);

function decoded(btf: Btf | undefined, id: number, bytes: Uint8Array): Value | undefined {
  return btf && id ? decodeBtf(btf, id, bytes) : undefined;
}

export const mapDumpCommand: CommandSpec = {
  name: 'map dump',
  usage: '<id|pinned-path>',
  summary: "Print every entry of a map. Keys and values are decoded through the map's BTF where it has one and shown as raw bytes otherwise; per-CPU maps show a value per CPU.",
  args: ['map'],
  flags: {},
  run(args, _flags, out) {
    const opened = openMap(args.map!);
    using m: BpfMap<Buffer, Buffer> = opened.map;
    const info = m.info();
    const type = mapTypeName(info.type);
    if (KEYLESS.has(type))
      throw failure(
        'map dump',
        `map ${info.id} (${info.name || 'unnamed'}) is a ${type} map: it has no keys to walk`,
        95,
        'its elements can only be taken out (pop) or, for ring buffers, read as events',
      );
    const btf = fetchBtf(info.btfId);
    const entries: Entry[] = [];
    const lines: string[] = [];
    let n = 0;
    for (const key of m.keys()) {
      if (++n % 256 === 0) out.progress(`dumping map ${info.id}: ${n} entries`);
      const k = decoded(btf, info.btfKeyTypeId, key);
      // The lines for people are only made when they will be printed.
      const keyText = out.json ? '' : k === undefined ? hexBytes(key) : render(k);
      let value: Buffer | Buffer[] | undefined;
      try {
        value = m.lookup(key) as Buffer | Buffer[] | undefined;
      } catch (e) {
        if (!(e instanceof BpfError)) throw e;
        // Some map types answer lookups from user space with an error (perf event arrays):
        // the entry is shown with it, as bpftool does.
        entries.push({ key: hexByteArray(key), value: { error: e.message } });
        lines.push(`${keyText}: <${e.code}>`);
        continue;
      }
      if (value === undefined) continue; // deleted since the walk found it
      const entry: Entry = { key: hexByteArray(key) };
      const formatted: NonNullable<Entry['formatted']> = {};
      if (k !== undefined) formatted.key = plain(k);
      if (Array.isArray(value)) {
        entry.values = value.map((v, cpu) => ({ cpu, value: hexByteArray(v) }));
        const vs = value.map((v) => decoded(btf, info.btfValueTypeId, v));
        if (vs.every((v) => v !== undefined)) formatted.values = vs.map((v, cpu) => ({ cpu, value: plain(v!) }));
        if (!out.json) {
          lines.push(`${keyText}:`);
          value.forEach((v, cpu) => lines.push(`  cpu${cpu}: ${vs[cpu] === undefined ? hexBytes(v) : render(vs[cpu]!, 100, '  ')}`));
        }
      } else {
        entry.value = hexByteArray(value);
        const v = decoded(btf, info.btfValueTypeId, value);
        if (v !== undefined) formatted.value = plain(v);
        if (!out.json) lines.push(`${keyText}: ${v === undefined ? hexBytes(value) : render(v)}`);
      }
      if (Object.keys(formatted).length) entry.formatted = formatted;
      entries.push(entry);
    }
    out.result(entries);
    const why = info.btfId ? (btf ? '' : `, BTF ${info.btfId} unavailable`) : ', no BTF';
    out.line(`map ${info.id} ${info.name || '(unnamed)'} (${type}, key ${info.keySize} B, value ${info.valueSize} B${why})`);
    for (const l of lines) out.line(l);
    out.line(`${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}`);
  },
};
