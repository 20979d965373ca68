// Feature probes on the real kernel, with bpftool as the independent oracle.
import { execFileSync } from 'node:child_process';
import { release } from 'node:os';
import { MapType, ProgramType, asm, features } from '../../src/index.js';

const { Helper } = asm;
import { kernelTest, openFdCount } from '../helpers/kernel.js';

function kernelAtLeast(version: string): boolean {
  const [maj, min] = version.split('.').map(Number);
  const m = /^(\d+)\.(\d+)/.exec(release())!;
  const [kmaj, kmin] = [Number(m[1]), Number(m[2])];
  return kmaj > maj! || (kmaj === maj && kmin >= min!);
}

interface BpftoolFeatures {
  program_types: Record<string, boolean>;
  map_types: Record<string, boolean>;
}

function bpftool(): BpftoolFeatures {
  return JSON.parse(execFileSync('bpftool', ['feature', 'probe', 'kernel', '--json'], { encoding: 'utf8' }));
}

kernelTest('program and map type probes agree with bpftool feature probe', (t) => {
  const report = features.probeAll();
  const oracle = bpftool();
  const differences: string[] = [];
  let compared = 0;
  for (const [key, theirs] of Object.entries(oracle.program_types)) {
    const name = `BPF_PROG_TYPE_${key.replace(/^have_/, '').replace(/_prog_type$/, '').toUpperCase()}`;
    const ours = report.programTypes[name];
    compared++;
    if (!ours || (ours.verdict === 'yes') !== theirs) differences.push(`${name}: bpftool ${theirs}, tsbpf ${ours?.verdict}`);
  }
  for (const [key, theirs] of Object.entries(oracle.map_types)) {
    const name = `BPF_MAP_TYPE_${key.replace(/^have_/, '').replace(/_map_type$/, '').toUpperCase()}`;
    const ours = report.mapTypes[name];
    compared++;
    if (!ours || (ours.verdict === 'yes') !== theirs) differences.push(`${name}: bpftool ${theirs}, tsbpf ${ours?.verdict}`);
  }
  t.true(compared > 50, `${compared} types compared`);
  t.deepEqual(differences, []);
});

kernelTest('every capability probe says yes on a kernel at or past its minimum', (t) => {
  const report = features.probeAll();
  for (const r of Object.values(report.misc)) {
    if (kernelAtLeast(r.minKernel)) t.is(r.verdict, 'yes', `${r.name} (since ${r.minKernel}): ${r.errno ?? ''}`);
  }
  for (const [name, r] of Object.entries(report.mapTypes)) {
    // Map types do not depend on kernel configuration, except the storage of inodes (LSM).
    if (r.minKernel && kernelAtLeast(r.minKernel) && name !== 'BPF_MAP_TYPE_INODE_STORAGE')
      t.is(r.verdict, 'yes', `${name} (since ${r.minKernel}): ${r.errno ?? ''}`);
  }
});

kernelTest('helper probes tell allowed calls from forbidden ones', (t) => {
  t.is(features.helper(ProgramType.SocketFilter, Helper.mapLookupElem).verdict, 'yes');
  t.is(features.helper(ProgramType.Xdp, Helper.ktimeGetNs).verdict, 'yes');
  // XDP works on xdp_md, not on an skb: the verifier refuses the skb helpers.
  t.is(features.helper(ProgramType.Xdp, Helper.skbLoadBytes).verdict, 'no');
  t.is(features.helper(ProgramType.SocketFilter, Helper.xdpAdjustHead).verdict, 'no');
  // Tracing programs need an attach target before a call is even looked at.
  t.is(features.helper(ProgramType.Tracing, Helper.ktimeGetNs).verdict, 'unknown');
});

kernelTest('probes close every fd they open, and answer from the cache the second time', (t) => {
  const before = openFdCount();
  features.probeAll({ helpers: true });
  t.is(openFdCount(), before);
  const r1 = features.mapType(MapType.Hash);
  t.is(features.mapType(MapType.Hash), r1);
});
