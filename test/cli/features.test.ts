// `tsbpf features` and the command's general behaviour, through a child process.
import test from 'ava';
import { tsbpf } from '../helpers/cli.js';
import { kernelTest } from '../helpers/kernel.js';

kernelTest('tsbpf features prints tables; --json parses back', (t) => {
  const human = tsbpf('features');
  t.is(human.status, 0, human.stderr);
  t.regex(human.stdout, /^Program types/m);
  t.regex(human.stdout, /^\s+xdp\s+yes\s+4\.8$/m);
  t.regex(human.stdout, /^\s+bounded_loops\s+yes\s+5\.3$/m);
  const json = tsbpf('features', '--json');
  t.is(json.status, 0, json.stderr);
  const report = JSON.parse(json.stdout);
  t.is(report.programTypes.BPF_PROG_TYPE_XDP.verdict, 'yes');
  t.is(report.mapTypes.BPF_MAP_TYPE_HASH.verdict, 'yes');
  t.is(report.misc.prog_test_run.verdict, 'yes');
});

test('usage errors exit 2 with one line naming the help to read', (t) => {
  const cases: [string[], RegExp][] = [
    [['nonsense'], /^tsbpf: unknown command "nonsense" \(see tsbpf --help\)\n$/],
    [['features', '--bogus'], /^tsbpf: unknown option --bogus \(see tsbpf features --help\)\n$/],
    [['features', 'extra'], /^tsbpf: unexpected argument extra/],
  ];
  for (const [args, message] of cases) {
    const r = tsbpf(...args);
    t.is(r.status, 2, args.join(' '));
    t.regex(r.stderr, message);
    t.is(r.stdout, '');
  }
});

test('--help works for the command and for each subcommand', (t) => {
  const top = tsbpf('--help');
  t.is(top.status, 0);
  t.regex(top.stdout, /^usage: tsbpf <command>/);
  t.regex(top.stdout, /features/);
  const sub = tsbpf('features', '--help');
  t.is(sub.status, 0);
  t.regex(sub.stdout, /^usage: tsbpf features/);
  t.regex(sub.stdout, /--json/);
});
