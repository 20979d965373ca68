/** `tsbpf prog show <id|pinned-path>`: one loaded program in detail. */
import { BpfMap } from '../map.js';
import type { CommandSpec } from './args.js';
import { localTime } from './format.js';
import { openProgram, programRecord } from './objects.js';
import { table } from './table.js';

/** The name of map `id`, or '' when it is gone. */
function mapName(id: number): string {
  try {
    using m = BpfMap.fromId(id);
    return m.name;
  } catch {
    return '';
  }
}

export const progShowCommand: CommandSpec = {
  name: 'prog show',
  usage: '<id|pinned-path>',
  summary: 'Show one loaded program. What prog list prints, plus its maps by name and its verifier and run statistics.',
  args: ['program'],
  flags: {},
  run(args, _flags, out) {
    const opened = openProgram(args.program!);
    using p = opened.prog;
    const r = { ...programRecord(p), pinned: opened.pinned };
    const maps = r.mapIds.map((id) => ({ id, name: mapName(id) }));
    out.result({ ...r, maps });
    const rows: (string | number)[][] = [
      ['id', r.id],
      ['type', r.type],
      ['name', r.name || '-'],
      ['tag', r.tag],
      ['gpl compatible', r.gplCompatible ? 'yes' : 'no'],
      ['loaded at', r.loadedAt === undefined ? '-' : `${localTime(new Date(r.loadedAt * 1000))} (uid ${r.uid})`],
      ['translated', `${r.xlatedBytes} bytes (${r.xlatedBytes / 8} instructions)`],
      ['jited', r.jited ? `${r.jitedBytes} bytes` : 'no'],
      ['memlock', r.memlockBytes === undefined ? '-' : `${r.memlockBytes} bytes`],
      ['maps', maps.map((m) => `${m.id}${m.name ? ` (${m.name})` : ''}`).join(', ') || '-'],
      ['btf id', r.btfId ?? '-'],
    ];
    if (r.verifiedInstructions !== undefined) rows.push(['verified', `${r.verifiedInstructions} instructions`]);
    if (r.runCount !== undefined && r.runCount !== 0) rows.push(['runs', `${r.runCount} (${r.runTimeNs} ns in total)`]);
    if (r.attachBtfId) rows.push(['attach btf', `object ${r.attachBtfObjId}, type ${r.attachBtfId}`]);
    if (r.pinned) rows.push(['pinned', r.pinned]);
    for (const l of table(['', ''], rows).slice(1)) out.line(l);
  },
};
