/** `tsbpf prog list`: every program the kernel has loaded, like `bpftool prog show`. */
import { Program } from '../program.js';
import type { CommandSpec } from './args.js';
import { localTime } from './format.js';
import { eachObject, programRecord, type ProgramRecord } from './objects.js';
import { table } from './table.js';

export const progListCommand: CommandSpec = {
  name: 'prog list',
  usage: '',
  summary: 'List every loaded BPF program. Id, type, name, tag, load time, owner, sizes and maps, as bpftool prog show prints them.',
  args: [],
  flags: {},
  run(_args, _flags, out) {
    const rows: ProgramRecord[] = [];
    for (const r of eachObject(() => Program.ids(), (id) => Program.fromId(id), programRecord)) {
      rows.push(r);
      if (rows.length % 64 === 0) out.progress(`reading programs: ${rows.length}`);
    }
    out.result(rows);
    if (rows.length === 0) {
      out.line('no programs loaded');
      return;
    }
    const lines = table(
      ['id', 'type', 'name', 'tag', 'loaded at', 'uid', 'xlated', 'jited', 'memlock', 'maps', 'btf'],
      rows.map((r) => [
        r.id,
        r.type,
        r.name,
        r.tag,
        r.loadedAt === undefined ? '-' : localTime(new Date(r.loadedAt * 1000)),
        r.uid ?? '-',
        r.xlatedBytes,
        r.jited ? r.jitedBytes : '-',
        r.memlockBytes ?? '-',
        r.mapIds.join(',') || '-',
        r.btfId ?? '-',
      ]),
    );
    for (const l of lines) out.line(l);
    out.line(`${rows.length} program${rows.length === 1 ? '' : 's'}`);
  },
};
