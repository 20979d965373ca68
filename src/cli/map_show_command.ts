/** `tsbpf map show <id|pinned-path>`: one map in detail, with its BTF key and value types. */
import type { CommandSpec } from './args.js';
import { mapFlagsText } from './format.js';
import { btfTypeName, fetchBtf, mapRecord, openMap } from './objects.js';
import { table } from './table.js';

export const mapShowCommand: CommandSpec = {
  name: 'map show',
  usage: '<id|pinned-path>',
  summary: 'Show one map. What map list prints, plus its flags by name and its key and value types from BTF.',
  args: ['map'],
  flags: {},
  run(args, _flags, out) {
    const opened = openMap(args.map!);
    using m = opened.map;
    const info = m.info();
    const btf = fetchBtf(info.btfId);
    const r = {
      ...mapRecord(m),
      keyType: btfTypeName(btf, info.btfKeyTypeId) || undefined,
      valueType: btfTypeName(btf, info.btfValueTypeId) || undefined,
      pinned: opened.pinned,
    };
    out.result(r);
    const rows: (string | number)[][] = [
      ['id', r.id],
      ['type', r.type],
      ['name', r.name || '-'],
      ['flags', mapFlagsText(r.flags)],
      ['key', `${r.keySize} bytes${r.keyType ? ` (${r.keyType})` : ''}`],
      ['value', `${r.valueSize} bytes${r.valueType ? ` (${r.valueType})` : ''}`],
      ['max entries', r.maxEntries],
      ['memlock', r.memlockBytes === undefined ? '-' : `${r.memlockBytes} bytes`],
      ['btf id', r.btfId || '-'],
      ['frozen', r.frozen ? 'yes' : 'no'],
    ];
    if (r.mapExtra) rows.push(['map extra', String(r.mapExtra)]);
    if (r.pinned) rows.push(['pinned', r.pinned]);
    for (const l of table(['', ''], rows).slice(1)) out.line(l);
  },
};
