#!/usr/bin/env node
/**
 * The tsbpf command: a bpftool-like view of BPF on this machine through tsbpf.
 * Human-readable output by default, --json on every command, one-line errors with a
 * non-zero exit code (1: the operation failed, 2: the command line was wrong).
 */
import { envVar } from '../../bridge/native.js';
import { BpfError } from '../errors.js';
import { UsageError, helpText, parseArgs, type CommandSpec, type Output } from './args.js';
import { COMMANDS } from './commands.js';
import { toJson } from './format.js';

function usage(): string {
  const lines = ['usage: tsbpf <command> [arguments] [--json] [--help]', '', 'commands:'];
  for (const c of COMMANDS) lines.push(`  ${`${c.name} ${c.usage}`.padEnd(34)}${c.summary.split('. ')[0]}`);
  lines.push('', 'Run tsbpf <command> --help for the options of a command.');
  return lines.join('\n');
}

interface CliOutput extends Output {
  /** Erases a progress line left on the terminal. */
  done(): void;
}

/** Progress appears only once a command has run this long (TSBPF_PROGRESS_AFTER_MS sets it,
 *  so tests need not rely on a dump being slow), and is redrawn at most this often. */
const PROGRESS_AFTER_MS = Number(envVar('TSBPF_PROGRESS_AFTER_MS') ?? 1000);
const PROGRESS_EVERY_MS = 100;

/** Output is written in chunks of about this size (a long listing is not a write per line). */
const FLUSH_AT = 64 * 1024;

function makeOutput(json: boolean): CliOutput {
  const started = Date.now();
  let shownAt = 0;
  let progressShown = false;
  let pending: string[] = [];
  let pendingSize = 0;
  const flush = (): void => {
    if (pending.length) process.stdout.write(pending.join(''));
    pending = [];
    pendingSize = 0;
  };
  return {
    json,
    line: (text = '') => {
      if (json) return;
      pending.push(`${text}\n`);
      pendingSize += text.length + 1;
      if (pendingSize >= FLUSH_AT) flush();
    },
    result: (value) => {
      if (json) process.stdout.write(`${toJson(value)}\n`);
    },
    progress: (text) => {
      if (!process.stderr.isTTY) return;
      const now = Date.now();
      if (now - started < PROGRESS_AFTER_MS || now - shownAt < PROGRESS_EVERY_MS) return;
      shownAt = now;
      process.stderr.write(`\r${text}\x1b[K`);
      progressShown = true;
    },
    done: () => {
      if (progressShown) process.stderr.write('\r\x1b[K');
      flush();
    },
  };
}

/** Finds the command named by the leading words of argv ('prog list ...'). */
function findCommand(argv: string[]): { spec: CommandSpec; rest: string[] } | undefined {
  for (const spec of [...COMMANDS].sort((a, b) => b.name.split(' ').length - a.name.split(' ').length)) {
    const words = spec.name.split(' ');
    if (words.every((w, i) => argv[i] === w)) return { spec, rest: argv.slice(words.length) };
  }
  return undefined;
}

/** The usage error for argv that names no command: a group without its subcommand, or nothing known. */
function unknownCommand(argv: string[]): UsageError {
  const group = COMMANDS.filter((c) => c.name.startsWith(`${argv[0]} `)).map((c) => c.name.split(' ')[1]);
  if (group.length) {
    const sub = argv[1] === undefined || argv[1].startsWith('--') ? 'needs a subcommand' : `has no subcommand "${argv[1]}"`;
    return new UsageError(`"${argv[0]}" ${sub}: ${group.join(', ')}`);
  }
  return new UsageError(`unknown command "${argv.filter((a) => !a.startsWith('--')).join(' ')}"`);
}

/** An error as one line: messages never span lines, whatever the kernel or a log said. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === 'help') {
    process.stdout.write(`${usage()}\n`);
    return argv.length === 0 ? 2 : 0;
  }
  const found = findCommand(argv);
  const json = argv.includes('--json');
  try {
    if (!found) throw unknownCommand(argv);
    const { args, flags } = parseArgs(found.spec, found.rest);
    if (flags.help) {
      process.stdout.write(`${helpText(found.spec)}\n`);
      return 0;
    }
    const out = makeOutput(json);
    try {
      await found.spec.run(args, flags, out);
    } finally {
      out.done();
    }
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`tsbpf: ${oneLine(e.message)}${e.command ? ` (see tsbpf ${e.command.name} --help)` : ' (see tsbpf --help)'}\n`);
      return 2;
    }
    // Anything else is reported in one line too; TSBPF_DEBUG=1 adds the stack for bug reports.
    const message = oneLine(e instanceof Error ? e.message : String(e));
    if (json) process.stdout.write(`${JSON.stringify({ error: message, ...(e instanceof BpfError ? { code: e.code, command: e.command } : {}) })}\n`);
    process.stderr.write(`tsbpf: ${message}\n`);
    if (process.env.TSBPF_DEBUG === '1' && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
}

// `tsbpf ... | head` closes the pipe early: that is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});
process.exitCode = await main(process.argv.slice(2));
