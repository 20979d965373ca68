// `tsbpf prog test`: load an object's program and run it, through a child process.
import { chmodSync, copyFileSync, rmSync, writeFileSync } from 'node:fs';
import test from 'ava';
import { NOBODY, tsbpf, tsbpfAs, tsbpfJson } from '../helpers/cli.js';
import { kernelTest } from '../helpers/kernel.js';
import { compileFixture } from '../helpers/tools.js';

interface ProgTestJson {
  program: string;
  type: string;
  retval: number;
  repeat: number;
  nsPerRun: number;
  dataIn: string;
  dataOut: string;
}

kernelTest('prog test runs an XDP program on the given packet: return value, changed packet, ns per run', (t) => {
  const obj = compileFixture('prog_test.bpf.c');
  const r = tsbpfJson<ProgTestJson>('prog', 'test', obj, 'swap_len', '--data', '0102 0304 0506 0708 090a 0b0c 0d0e 0f10');
  t.is(r.program, 'swap_len');
  t.is(r.type, 'xdp');
  t.is(r.retval, 16);
  t.is(r.repeat, 1);
  t.is(r.dataIn.replace(/\s/g, ''), '0102030405060708090a0b0c0d0e0f10');
  t.is(r.dataOut.replace(/\s/g, ''), '0201030405060708090a0b0c0d0e0f10');
  const many = tsbpfJson<ProgTestJson>('prog', 'test', obj, 'swap_len', '--repeat', '1000');
  t.is(many.repeat, 1000);
  t.is(many.retval, 64);
  t.true(many.nsPerRun > 0);
  const human = tsbpf('prog', 'test', obj, 'swap_len', '--data', '01020304050607080910111213141516');
  t.is(human.status, 0, human.stderr);
  t.regex(human.stdout, /return value\s+16 \(0x10\)/);
  t.regex(human.stdout, /16 bytes in, 16 bytes out\n/);
  t.regex(human.stdout, /00000000 {2}02 01 03 04 05 06 07 08 {2}09 10 11 12 13 14 15 16/);
});

kernelTest('prog test takes a packet from a file, and defaults to 64 zero bytes', (t) => {
  const obj = compileFixture('prog_test.bpf.c');
  const file = `/tmp/tsbpf-test-${process.pid}-packet`;
  writeFileSync(file, Buffer.alloc(100, 0xaa));
  t.teardown(() => rmSync(file, { force: true }));
  t.is(tsbpfJson<ProgTestJson>('prog', 'test', obj, 'swap_len', '--data', `@${file}`).retval, 100);
  const plain = tsbpfJson<ProgTestJson>('prog', 'test', obj, 'seven');
  t.is(plain.retval, 7);
  t.is(plain.dataIn.replace(/\s/g, ''), '00'.repeat(64));
  t.regex(tsbpf('prog', 'test', obj, 'seven').stdout, /64 bytes in, 64 bytes out \(unchanged\)/);
});

kernelTest('prog test fails in one line: unknown program, missing file, not an ELF, no permission', (t) => {
  const obj = compileFixture('prog_test.bpf.c');
  const unknown = tsbpf('prog', 'test', obj, 'nope');
  t.is(unknown.status, 1);
  t.regex(unknown.stderr, /^tsbpf: prog test: .* has no program "nope".*its programs: swap_len, seven\n$/);
  const missing = tsbpf('prog', 'test', '/nonexistent.o', 'x');
  t.is(missing.status, 1);
  t.is(missing.stderr.split('\n').length, 2, missing.stderr);
  t.regex(missing.stderr, /nonexistent\.o/);
  const notElf = tsbpf('prog', 'test', '/etc/hostname', 'x');
  t.is(notElf.status, 1);
  t.regex(notElf.stderr, /^tsbpf: .*ELF/);
  // A copy nobody may read: the fixture itself sits in a private temporary directory.
  const readable = `/tmp/tsbpf-test-${process.pid}-prog_test.o`;
  copyFileSync(obj, readable);
  chmodSync(readable, 0o644);
  t.teardown(() => rmSync(readable, { force: true }));
  const nobody = tsbpfAs(NOBODY, 'prog', 'test', readable, 'seven');
  t.is(nobody.status, 1);
  t.regex(nobody.stderr, /^tsbpf: .*\(EPERM\)/);
  t.is(nobody.stderr.trim().split('\n').length, 1, nobody.stderr);
});

test('prog test refuses bad arguments with exit code 2', (t) => {
  const cases: [string[], RegExp][] = [
    [['prog', 'test', 'x.o'], /missing program/],
    [['prog', 'test', 'x.o', 'p', '--data', 'xyz'], /--data takes hex bytes/],
    [['prog', 'test', 'x.o', 'p', '--data', '123'], /--data takes hex bytes/],
    [['prog', 'test', 'x.o', 'p', '--repeat', '0'], /--repeat takes a whole number/],
    [['prog', 'test', 'x.o', 'p', '--repeat', 'many'], /--repeat takes a whole number/],
  ];
  for (const [args, message] of cases) {
    const r = tsbpf(...args);
    t.is(r.status, 2, args.join(' '));
    t.regex(r.stderr, message, args.join(' '));
  }
});
