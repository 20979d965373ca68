/** `tsbpf map list`: every map the kernel holds, like `bpftool map show`. */
import { BpfMap } from '../map.js';
import type { CommandSpec } from './args.js';
import { eachObject, mapRecord, type MapRecord } from './objects.js';
import { table } from './table.js';

export const mapListCommand: CommandSpec = {
  name: 'map list',
  usage: '',
  summary: 'List every BPF map. Id, type, name, flags, key and value sizes, entries, memory and BTF, as bpftool map show prints them.',
  args: [],
  flags: {},
  run(_args, _flags, out) {
    const rows: MapRecord[] = [];
    for (const r of eachObject(() => BpfMap.ids(), (id) => BpfMap.fromId(id), mapRecord)) {
      rows.push(r);
      if (rows.length % 64 === 0) out.progress(`reading maps: ${rows.length}`);
    }
    out.result(rows);
    if (rows.length === 0) {
      out.line('no maps');
      return;
    }
    const lines = table(
      ['id', 'type', 'name', 'flags', 'key', 'value', 'max entries', 'memlock', 'btf', 'frozen'],
      rows.map((r) => [
        r.id,
        r.type,
        r.name,
        `0x${r.flags.toString(16)}`,
        r.keySize,
        r.valueSize,
        r.maxEntries,
        r.memlockBytes ?? '-',
        r.btfId || '-',
        r.frozen ? 'yes' : '',
      ]),
    );
    for (const l of lines) out.line(l);
    out.line(`${rows.length} map${rows.length === 1 ? '' : 's'}`);
  },
};
