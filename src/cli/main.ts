#!/usr/bin/env node
/**
 * The tsbpf command: a bpftool-like view of BPF on this machine through tsbpf.
 * Human-readable output by default, --json on every command, one-line errors with a
 * non-zero exit code (1: the operation failed, 2: the command line was wrong).
 */
import { BpfError } from '../errors.js';
import { UsageError, helpText, parseArgs, type CommandSpec, type Output } from './args.js';
import { featuresCommand } from './features_command.js';

export const COMMANDS: CommandSpec[] = [featuresCommand];

function usage(): string {
  const lines = ['usage: tsbpf <command> [arguments] [--json] [--help]', '', 'commands:'];
  for (const c of COMMANDS) lines.push(`  ${`${c.name} ${c.usage}`.padEnd(40)}${c.summary.split('.')[0]}`);
  lines.push('', 'Run tsbpf <command> --help for the options of a command.');
  return lines.join('\n');
}

interface CliOutput extends Output {
  /** Erases a progress line left on the terminal. */
  done(): void;
}

function makeOutput(json: boolean): CliOutput {
  let progressShown = false;
  return {
    json,
    line: (text = '') => {
      if (!json) process.stdout.write(`${text}\n`);
    },
    result: (value) => {
      if (json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
    progress: (text) => {
      if (!process.stderr.isTTY) return;
      process.stderr.write(`\r${text}\x1b[K`);
      progressShown = true;
    },
    done: () => {
      if (progressShown) process.stderr.write('\r\x1b[K');
    },
  };
}

/** Finds the command named by the leading words of argv ('prog test ...'). */
function findCommand(argv: string[]): { spec: CommandSpec; rest: string[] } | undefined {
  for (const spec of [...COMMANDS].sort((a, b) => b.name.split(' ').length - a.name.split(' ').length)) {
    const words = spec.name.split(' ');
    if (words.every((w, i) => argv[i] === w)) return { spec, rest: argv.slice(words.length) };
  }
  return undefined;
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === 'help') {
    process.stdout.write(`${usage()}\n`);
    return argv.length === 0 ? 2 : 0;
  }
  const found = findCommand(argv);
  const json = argv.includes('--json');
  try {
    if (!found) throw new UsageError(`unknown command "${argv.filter((a) => !a.startsWith('--')).join(' ')}"`);
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
      process.stderr.write(`tsbpf: ${e.message}${e.command ? ` (see tsbpf ${e.command.name} --help)` : ' (see tsbpf --help)'}\n`);
      return 2;
    }
    const message = e instanceof BpfError || e instanceof Error ? e.message : String(e);
    if (json) process.stdout.write(`${JSON.stringify({ error: message, ...(e instanceof BpfError ? { code: e.code, command: e.command } : {}) })}\n`);
    process.stderr.write(`tsbpf: ${message}\n`);
    return 1;
  }
}

// `tsbpf ... | head` closes the pipe early: that is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});
process.exitCode = await main(process.argv.slice(2));
