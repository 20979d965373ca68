/**
 * Command-line parsing for the tsbpf command: each command declares its positional
 * arguments and flags; anything undeclared is a usage error that names the command's help.
 */
export interface FlagSpec {
  /** Takes a value (--data HEX) rather than being a switch (--json). */
  value?: boolean;
  description: string;
}

export interface CommandSpec {
  /** 'prog test' */
  name: string;
  /** '<file.o> <program>' */
  usage: string;
  summary: string;
  /** Positional argument names; a trailing '?' marks an optional one. */
  args: string[];
  flags: Record<string, FlagSpec>;
  run(args: Record<string, string>, flags: Record<string, string | boolean>, out: Output): void | Promise<void>;
}

export interface Output {
  json: boolean;
  /** A line for people (suppressed with --json). */
  line(text?: string): void;
  /** The machine-readable result of the command (printed with --json). */
  result(value: unknown): void;
  /** Progress for work that takes a while: on stderr, only on a terminal. */
  progress(text: string): void;
}

export class UsageError extends Error {
  constructor(message: string, readonly command?: CommandSpec) {
    super(message);
    this.name = 'UsageError';
  }
}

export const GLOBAL_FLAGS: Record<string, FlagSpec> = {
  json: { description: 'print the result as JSON' },
  help: { description: 'show help for the command' },
};

/** Splits argv (after the command words) into positionals and flags, checked against the spec. */
export function parseArgs(spec: CommandSpec, argv: string[]): { args: Record<string, string>; flags: Record<string, string | boolean> } {
  const flags: Record<string, string | boolean> = {};
  const positional: string[] = [];
  const known = { ...GLOBAL_FLAGS, ...spec.flags };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const [name, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
      const f = known[name];
      if (!f) throw new UsageError(`unknown option --${name}`, spec);
      if (f.value) {
        const v = inline ?? argv[++i];
        if (v === undefined) throw new UsageError(`--${name} needs a value`, spec);
        flags[name] = v;
      } else {
        if (inline !== undefined) throw new UsageError(`--${name} takes no value`, spec);
        flags[name] = true;
      }
      continue;
    }
    positional.push(a);
  }
  if (flags.help) return { args: {}, flags };
  const args: Record<string, string> = {};
  const required = spec.args.filter((n) => !n.endsWith('?')).length;
  if (positional.length < required) throw new UsageError(`missing ${spec.args[positional.length]}`, spec);
  if (positional.length > spec.args.length) throw new UsageError(`unexpected argument ${positional[spec.args.length]}`, spec);
  spec.args.forEach((name, i) => {
    if (positional[i] !== undefined) args[name.replace(/\?$/, '')] = positional[i]!;
  });
  return { args, flags };
}

export function helpText(spec: CommandSpec): string {
  const lines = [`usage: tsbpf ${spec.name} ${spec.usage}`.trimEnd(), '', spec.summary, '', 'options:'];
  for (const [name, f] of Object.entries({ ...spec.flags, ...GLOBAL_FLAGS })) {
    lines.push(`  --${name}${f.value ? ' <value>' : ''}`.padEnd(24) + f.description);
  }
  return lines.join('\n');
}
