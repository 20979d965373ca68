/**
 * `tsbpf prog test <file.o> <program>`: loads the object (the program and the maps it
 * uses), runs the program once or `--repeat` times on a packet with BPF_PROG_TEST_RUN, and
 * prints the return value, the packet it left and the time per run the kernel measured.
 */
import { readFileSync } from 'node:fs';
import { Buffer } from 'node:buffer';
import { Collection } from '../collection.js';
import { loadCollectionSpec } from '../collection_spec.js';
import { UsageError, type CommandSpec } from './args.js';
import { failure, hexBytes, programTypeName } from './format.js';

const DEFAULT_PACKET = 64;

/** Reads --data / --context: hex digits (spaces and colons allowed) or @file. */
function bytesArgument(flag: string, text: string): Buffer {
  if (text.startsWith('@')) {
    try {
      return readFileSync(text.slice(1));
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw failure('prog test', `cannot read ${text.slice(1)} for --${flag}`, Math.abs(err.errno ?? 2), '');
    }
  }
  const hex = text.replace(/[\s:]/g, '').replace(/^0x/i, '');
  if (!/^([0-9a-f]{2})*$/i.test(hex)) throw new UsageError(`--${flag} takes hex bytes (like 0a1b2c) or @file, got "${text}"`);
  return Buffer.from(hex, 'hex');
}

/** Rows of 16 bytes, as hexdump -C prints them (without the text column). */
function hexRows(b: Uint8Array): string[] {
  const rows: string[] = [];
  for (let i = 0; i < b.length; i += 16) {
    const row = [...b.subarray(i, i + 16)].map((x) => x.toString(16).padStart(2, '0'));
    rows.push(`${i.toString(16).padStart(8, '0')}  ${row.slice(0, 8).join(' ')}  ${row.slice(8).join(' ')}`.trimEnd());
  }
  return rows;
}

export const progTestCommand: CommandSpec = {
  name: 'prog test',
  usage: '<file.o> <program> [--data HEX|@file] [--context HEX|@file] [--repeat N]',
  summary:
    'Load a program of an object (with the maps it uses) and run it with BPF_PROG_TEST_RUN: return value, output packet, ns per run.',
  args: ['file.o', 'program'],
  flags: {
    data: { value: true, description: `packet data: hex bytes or @file (default: ${DEFAULT_PACKET} zero bytes)` },
    context: { value: true, description: 'context (struct __sk_buff, xdp_md, ...): hex bytes or @file' },
    repeat: { value: true, description: 'runs in the kernel; the time is their mean (default 1)' },
  },
  run(args, flags, out) {
    const file = args['file.o']!;
    const name = args.program!;
    let repeat = 1;
    if (typeof flags.repeat === 'string') {
      if (!/^\d+$/.test(flags.repeat) || Number(flags.repeat) < 1 || Number(flags.repeat) > 0xffffffff)
        throw new UsageError(`--repeat takes a whole number from 1 to 4294967295, got "${flags.repeat}"`);
      repeat = Number(flags.repeat);
    }
    const data = typeof flags.data === 'string' ? bytesArgument('data', flags.data) : Buffer.alloc(DEFAULT_PACKET);
    const context = typeof flags.context === 'string' ? bytesArgument('context', flags.context) : undefined;

    const spec = loadCollectionSpec(file);
    const programSpec = spec.programs[name];
    if (!programSpec) {
      const known = Object.keys(spec.programs);
      throw failure('prog test', `${file} has no program "${name}"`, 2, known.length ? `its programs: ${known.join(', ')}` : 'it has no programs');
    }
    using collection = Collection.load(spec, { programs: [name] });
    const prog = collection.programs[name]!;
    const r = prog.run({ data, repeat, ...(context ? { context } : {}) });

    out.result({
      program: name,
      type: programTypeName(prog.type),
      retval: r.retval,
      repeat,
      nsPerRun: r.duration,
      dataIn: hexBytes(data),
      dataOut: hexBytes(r.data),
      ...(r.context ? { contextOut: hexBytes(r.context) } : {}),
    });
    out.line(`${name} (${programTypeName(prog.type)}) from ${file}`);
    out.line(`  return value  ${r.retval} (0x${r.retval.toString(16)})`);
    out.line(`  time          ${r.duration} ns per run (${repeat.toLocaleString('en')} run${repeat === 1 ? '' : 's'}, measured by the kernel)`);
    out.line(`  packet        ${data.length} bytes in, ${r.data.length} bytes out${r.data.equals(data) ? ' (unchanged)' : ''}`);
    if (!r.data.equals(data)) for (const row of hexRows(r.data)) out.line(`    ${row}`);
    if (r.context) {
      out.line(`  context out   ${r.context.length} bytes`);
      for (const row of hexRows(r.context)) out.line(`    ${row}`);
    }
  },
};
