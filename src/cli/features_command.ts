/** `tsbpf features`: what this kernel supports, probed by real minimal loads. */
import { BpfError } from '../errors.js';
import { features } from '../index.js';
import type { FeatureResult } from '../features.js';
import type { CommandSpec } from './args.js';
import { table } from './table.js';

function mark(r: FeatureResult): string {
  return r.verdict === 'yes' ? 'yes' : r.verdict === 'no' ? 'no' : `unknown (${r.errno ?? '?'})`;
}

export const featuresCommand: CommandSpec = {
  name: 'features',
  usage: '[--helpers]',
  summary: 'Probe what this kernel supports. Program types, map types and capabilities, each by a real minimal load; with --helpers also the helpers each program type may call.',
  args: [],
  flags: { helpers: { description: 'also probe every helper for every program type (thousands of loads)' } },
  run(_args, flags, out) {
    const report = features.probeAll({
      helpers: flags.helpers === true,
      onProgress: (done, total) => out.progress(`probing ${done}/${total}`),
    });
    // Without the privilege to load programs and create maps every such probe is "unknown
    // (EPERM)": that is a failure to probe, not a report. (A few capability probes, such as
    // links, send commands the kernel answers before checking privileges.)
    const all = [...Object.values(report.programTypes), ...Object.values(report.mapTypes)];
    if (all.every((r) => r.verdict === 'unknown' && r.errno === 'EPERM'))
      throw new BpfError({ command: 'features', errno: 1, reason: 'every program load and map creation was refused' });
    out.result(report);
    const section = (title: string, entries: Record<string, FeatureResult>, strip: RegExp): void => {
      out.line(title);
      const rows = Object.entries(entries).map(([name, r]) => [name.replace(strip, '').toLowerCase(), mark(r), r.minKernel]);
      for (const l of table(['name', 'supported', 'since'], rows)) out.line(`  ${l}`);
      out.line();
    };
    section('Program types', report.programTypes, /^BPF_PROG_TYPE_/);
    section('Map types', report.mapTypes, /^BPF_MAP_TYPE_/);
    section('Capabilities', report.misc, /^$/);
    if (report.helpers) {
      out.line('Helpers per program type');
      for (const [prog, list] of Object.entries(report.helpers))
        out.line(`  ${prog.replace(/^BPF_PROG_TYPE_/, '').toLowerCase()}: ${list.length} helpers`);
    }
  },
};
