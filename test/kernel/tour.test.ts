// The tour `make run` shows: it must keep working and telling the truth.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { rmSync } from 'node:fs';
import { kernelTest } from '../helpers/kernel.js';
import { CLANG } from '../helpers/tools.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

kernelTest('the make-run tour classifies every crafted frame, counts them and runs the assembled program', (t) => {
  const obj = `/tmp/tsbpf-test-${process.pid}-classifier.bpf.o`;
  execFileSync(CLANG, ['-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', `${root}examples/classifier.bpf.c`, '-o', obj]);
  t.teardown(() => rmSync(obj, { force: true }));
  const started = Date.now();
  const out = execFileSync(process.execPath, [`${root}dist/examples/tour.js`, obj], { encoding: 'utf8', timeout: 60_000 });
  t.true(Date.now() - started < 60_000);
  const rows: [string, string, string][] = [
    ['IPv4 TCP SYN to port 443', 'XDP_PASS', 'ipv4 tcp'],
    ['IPv6 UDP', 'XDP_PASS', 'ipv6'],
    ['ARP who-has 10.0.0.2', 'XDP_PASS', 'arp'],
    ['IPv4 cut off after 10 bytes', 'XDP_DROP', 'malformed'],
  ];
  for (const [frame, verdict, cls] of rows)
    t.regex(out, new RegExp(`${frame.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+\\d+ bytes\\s+${verdict}\\s+${cls}\\n`));
  t.regex(out, /malformed\s+3 frames\s+112 bytes/);
  t.regex(out, /returns 55, and the map holds 55/);
  t.regex(out, /R0 !read_ok/);
  t.regex(out, /program types \d+ of \d+, map types \d+ of \d+/);
});
