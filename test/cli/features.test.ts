// `tsbpf features` and the command's general behaviour, through a child process.
import test from 'ava';
import { bpftoolJson, tsbpf, tsbpfJson } from '../helpers/cli.js';
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

interface BpftoolProbe {
  program_types: Record<string, boolean>;
  map_types: Record<string, boolean>;
  helpers: Record<string, string[]>;
}

interface FeaturesJson {
  programTypes: Record<string, { verdict: string; errno?: string; minKernel: string }>;
  mapTypes: Record<string, { verdict: string; errno?: string; minKernel: string }>;
  misc: Record<string, { verdict: string }>;
  helpers?: Record<string, string[]>;
}

kernelTest('tsbpf features --json agrees with bpftool feature probe kernel on every program and map type bpftool knows', (t) => {
  const ours = tsbpfJson<FeaturesJson>('features', '--helpers');
  const theirs = bpftoolJson<BpftoolProbe>('feature', 'probe', 'kernel', 'full');
  const differences: string[] = [];
  const known = new Set<string>();
  const compareKind = (kind: 'PROG' | 'MAP', entries: Record<string, boolean>, mine: FeaturesJson['programTypes']): void => {
    for (const [key, supported] of Object.entries(entries)) {
      const name = `BPF_${kind}_TYPE_${key.replace(/^have_/, '').replace(/_(prog|map)_type$/, '').toUpperCase()}`;
      known.add(name);
      const r = mine[name];
      if (!r || (r.verdict === 'yes') !== supported) differences.push(`${name}: bpftool ${supported}, tsbpf ${r?.verdict}`);
    }
  };
  compareKind('PROG', theirs.program_types, ours.programTypes);
  compareKind('MAP', theirs.map_types, ours.mapTypes);
  t.true(known.size > 55, `${known.size} types compared`);
  t.deepEqual(differences, []);
  // Types newer than bpftool 7.1 (libbpf 1.1, Linux 6.1): tsbpf probes them, bpftool cannot.
  const newer = [...Object.entries(ours.programTypes), ...Object.entries(ours.mapTypes)].filter(([name]) => !known.has(name));
  const version = (v: string): number => v.split('.').reduce((n, x) => n * 1000 + Number(x), 0);
  for (const [name, r] of newer) t.true(version(r.minKernel) > version('6.1'), `${name} (since ${r.minKernel}) is unknown to bpftool 7.1`);
  t.log(`probed by tsbpf only: ${newer.map(([n, r]) => `${n}=${r.verdict}`).join(', ')}`);
  // Where bpftool says "no" and tsbpf "unknown": the kernel refused with EPERM, which is not a "no".
  const unknown = Object.entries(ours.programTypes).filter(([, r]) => r.verdict === 'unknown');
  for (const [name, r] of unknown) t.is(r.errno, 'EPERM', name);
  t.log(`unknown to tsbpf (EPERM), "no" to bpftool: ${unknown.map(([n]) => n).join(', ') || 'none'}`);

  // Helpers: bpftool 7.1 decides from the verifier's wording, which changed: it accepts
  // helpers the verifier refuses. Its "no" stays reliable, so every helper tsbpf accepts
  // must be in bpftool's list for that type, unless bpftool does not know the helper.
  const bpftoolKnows = new Set(Object.values(theirs.helpers).flat());
  const ourHelpers = ours.helpers ?? {};
  let accepted = 0;
  let bpftoolOnly = 0;
  const wrong: string[] = [];
  for (const [key, list] of Object.entries(theirs.helpers)) {
    const type = `BPF_PROG_TYPE_${key.replace(/_available_helpers$/, '').toUpperCase()}`;
    const theirList = new Set(list);
    const mine = ourHelpers[type] ?? [];
    for (const h of mine) {
      accepted++;
      if (bpftoolKnows.has(h) && !theirList.has(h)) wrong.push(`${type}: tsbpf accepts ${h}, bpftool refuses it`);
    }
    bpftoolOnly += list.filter((h) => !mine.includes(h)).length;
  }
  t.deepEqual(wrong, []);
  t.true(accepted > 1000, `${accepted} helper verdicts compared`);
  t.log(`${accepted} helpers accepted by tsbpf; ${bpftoolOnly} more accepted by bpftool 7.1 only`);
});
