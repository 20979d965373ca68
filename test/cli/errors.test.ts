// Every way a tsbpf command can fail, through a child process: the command line (exit 2,
// one line naming the help to read), the file (missing, a directory, not an ELF, a
// truncated ELF), the object (an unknown program, id or pin) and the privilege (run as
// nobody: one line with EPERM, exit 1). Never a stack trace, never more than one line, and
// with --json the error is also on stdout as JSON.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BpfMap, MapType, Program, ProgramType, asm } from '../../src/index.js';
import { COMMANDS } from '../../src/cli/commands.js';
import { NOBODY, tsbpf, tsbpfAs, tsbpfJson, type CliResult } from '../helpers/cli.js';
import { corpusFile, manifest } from '../helpers/corpus.js';
import { kernelTest } from '../helpers/kernel.js';

/** One line on stderr starting "tsbpf: ", matching `message`, nothing on stdout, no stack. */
function oneLineFailure(t: import('ava').ExecutionContext, r: CliResult, status: number, message: RegExp, what: string): void {
  t.is(r.status, status, `${what}: exit status (${r.stderr.trim()})`);
  t.regex(r.stderr, /^tsbpf: [^\n]+\n$/, `${what}: one line on stderr`);
  t.regex(r.stderr, message, what);
  t.notRegex(r.stderr, /\n\s+at /, `${what}: no stack trace`);
  t.is(r.stdout, '', `${what}: nothing on stdout`);
}

let dir: string;
test.before(() => {
  dir = mkdtempSync(join(tmpdir(), `tsbpf-cli-errors-${process.pid}-`));
  writeFileSync(join(dir, 'text.o'), 'not an object\n');
  const real = readFileSync(corpusFile(manifest().find((e) => e.file.endsWith('examples/xdp/bpf_bpfel.o'))!));
  writeFileSync(join(dir, 'truncated.o'), real.subarray(0, 200));
  writeFileSync(join(dir, 'empty.o'), '');
});
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test('command-line mistakes: exit 2, one line naming the help to read', (t) => {
  const cases: [string[], RegExp][] = [
    [['nonsense'], /^tsbpf: unknown command "nonsense" \(see tsbpf --help\)\n$/],
    [['prog'], /^tsbpf: "prog" needs a subcommand: list, show, test \(see tsbpf --help\)\n$/],
    [['map', 'drop', '1'], /^tsbpf: "map" has no subcommand "drop": list, show, dump \(see tsbpf --help\)\n$/],
    [['obj'], /^tsbpf: "obj" needs a subcommand: inspect/],
    [['obj', 'inspect'], /^tsbpf: missing file \(see tsbpf obj inspect --help\)\n$/],
    [['disasm'], /^tsbpf: missing file \(see tsbpf disasm --help\)\n$/],
    [['disasm', 'a.o', 'prog', 'extra'], /^tsbpf: unexpected argument extra \(see tsbpf disasm --help\)\n$/],
    [['prog', 'show'], /^tsbpf: missing program \(see tsbpf prog show --help\)\n$/],
    [['map', 'dump'], /^tsbpf: missing map \(see tsbpf map dump --help\)\n$/],
    [['prog', 'list', 'extra'], /^tsbpf: unexpected argument extra \(see tsbpf prog list --help\)\n$/],
    [['map', 'list', '--bogus'], /^tsbpf: unknown option --bogus \(see tsbpf map list --help\)\n$/],
    [['features', '--json=yes'], /^tsbpf: --json takes no value \(see tsbpf features --help\)\n$/],
    [['map', 'show', '0'], /^tsbpf: 0 is not an object id/],
  ];
  for (const [args, message] of cases) {
    const r = tsbpf(...args);
    t.is(r.status, 2, args.join(' '));
    t.regex(r.stderr, message, args.join(' '));
    t.is(r.stdout, '', args.join(' '));
  }
  const bare = tsbpf();
  t.is(bare.status, 2);
  t.regex(bare.stdout, /^usage: tsbpf <command>/);
});

test('--help on every command: usage line, summary, its options and the global ones', (t) => {
  const top = tsbpf('--help');
  t.is(top.status, 0);
  for (const name of COMMANDS.map((c) => c.name)) {
    t.true(top.stdout.includes(`  ${name} `), `${name} in tsbpf --help`);
    const r = tsbpf(...name.split(' '), '--help');
    t.is(r.status, 0, name);
    t.regex(r.stdout, new RegExp(`^usage: tsbpf ${name}\\b`), name);
    t.regex(r.stdout, /^ {2}--json +print the result as JSON$/m, name);
    t.regex(r.stdout, /^ {2}--help +show help for the command$/m, name);
  }
  t.regex(tsbpf('disasm', '--help').stdout, /^ {2}--hex +/m);
});

test('files that are not BPF objects: exit 1, one line saying what is wrong with the file', (t) => {
  const cases: [string, RegExp][] = [
    [join(dir, 'missing.o'), /^tsbpf: loadCollectionSpec: cannot read \S+missing\.o: no such entry \(ENOENT\)\n$/],
    [dir, /^tsbpf: loadCollectionSpec: cannot read \S+: is a directory \(EISDIR\)\n$/],
    [join(dir, 'text.o'), /^tsbpf: loadCollectionSpec: \S+text\.o: ELF: 14 bytes are too few for the 64-byte ELF header: invalid argument \(EINVAL\)\n$/],
    [join(dir, 'empty.o'), /^tsbpf: loadCollectionSpec: \S+empty\.o: ELF: .*\(EINVAL\)\n$/],
    [join(dir, 'truncated.o'), /^tsbpf: loadCollectionSpec: \S+truncated\.o: ELF: .*\(EINVAL\)\n$/],
  ];
  for (const [file, message] of cases) {
    for (const command of [['obj', 'inspect'], ['disasm']]) oneLineFailure(t, tsbpf(...command, file), 1, message, `${command.join(' ')} ${file}`);
  }
  // With --json the error is on stdout too, as an object.
  const r = tsbpf('obj', 'inspect', join(dir, 'missing.o'), '--json');
  t.is(r.status, 1);
  t.like(JSON.parse(r.stdout), { code: 'ENOENT', command: 'loadCollectionSpec' });
  t.regex(JSON.parse(r.stdout).error, /cannot read/);
});

test('disasm of a program the object does not have names the ones it has', (t) => {
  const file = corpusFile(manifest().find((e) => e.file.endsWith('examples/xdp/bpf_bpfel.o'))!);
  oneLineFailure(t, tsbpf('disasm', file, 'nope'), 1, /^tsbpf: disasm: \S+ has no program named "nope" \(it has: xdp_prog_func\): no such entry \(ENOENT\)\n$/, 'unknown program');
  t.is(tsbpfJson<unknown[]>('disasm', file, 'xdp_prog_func').length, 1);
});

kernelTest('ids and pins that name nothing: exit 1, one line with ENOENT', (t) => {
  const gone = Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: [asm.mov64Imm(asm.R0, 0), asm.exit()] });
  const progId = String(gone.id);
  gone.close();
  const map = BpfMap.create({ type: MapType.Array, keySize: 4, valueSize: 4, maxEntries: 1 });
  const mapId = String(map.info().id);
  map.close();
  const cases: [string[], RegExp][] = [
    [['prog', 'show', progId], new RegExp(`^tsbpf: BPF_PROG_GET_FD_BY_ID: no program with id ${progId}: no such entry \\(ENOENT\\)`)],
    [['map', 'show', mapId], new RegExp(`^tsbpf: BPF_MAP_GET_FD_BY_ID: no map with id ${mapId}: no such entry \\(ENOENT\\)`)],
    [['map', 'dump', mapId], /^tsbpf: BPF_MAP_GET_FD_BY_ID: no map with id \d+: no such entry \(ENOENT\)/],
    [['map', 'dump', '/sys/fs/bpf/tsbpf-test-none'], /^tsbpf: BPF_OBJ_GET: cannot open the pin \/sys\/fs\/bpf\/tsbpf-test-none: no such entry \(ENOENT\)/],
    [['prog', 'show', '/nonexistent/pin'], /^tsbpf: BPF_OBJ_GET: cannot open the pin \/nonexistent\/pin: no such entry \(ENOENT\)/],
  ];
  for (const [args, message] of cases) oneLineFailure(t, tsbpf(...args), 1, message, args.join(' '));
});

kernelTest('without privileges: one line with EPERM and exit 1 for every command that needs the kernel', (t) => {
  using prog = Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: [asm.mov64Imm(asm.R0, 0), asm.exit()] });
  using map = BpfMap.create({ type: MapType.Array, keySize: 4, valueSize: 4, maxEntries: 1 });
  const cases: string[][] = [
    ['prog', 'list'],
    ['map', 'list'],
    ['prog', 'show', String(prog.id)],
    ['map', 'show', String(map.info().id)],
    ['map', 'dump', String(map.info().id)],
    ['features'],
  ];
  for (const args of cases) {
    oneLineFailure(t, tsbpfAs(NOBODY, ...args), 1, /\(EPERM\)\. run as root or grant CAP_BPF and CAP_SYS_ADMIN/, `${args.join(' ')} as nobody`);
    const json = tsbpfAs(NOBODY, ...args, '--json');
    t.is(json.status, 1);
    t.is(JSON.parse(json.stdout).code, 'EPERM', `${args.join(' ')} --json as nobody`);
  }
});

test('reading objects needs no privileges: obj inspect and disasm work as nobody', (t) => {
  const file = corpusFile(manifest().find((e) => e.file.endsWith('examples/xdp/bpf_bpfel.o'))!);
  for (const args of [['obj', 'inspect', file], ['disasm', file]]) {
    const r = tsbpfAs(NOBODY, ...args);
    t.is(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    t.is(r.stderr, '');
    t.regex(r.stdout, /xdp_prog_func/);
  }
});
