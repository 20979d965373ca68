/**
 * Kernel tests call the real bpf(2). Where the process lacks the privileges they skip with
 * the reason in the title; in CI (TSBPF_REQUIRE_KERNEL=1) they never skip, so a missing
 * privilege is a failure there.
 */
import test, { type ImplementationFn } from 'ava';
import { readdirSync } from 'node:fs';
import { BpfError, Program, ProgramType, asm, features } from '../../src/index.js';

export const REQUIRE_KERNEL = process.env.TSBPF_REQUIRE_KERNEL === '1';

let privileged: boolean | undefined;

/** True when this process may load BPF programs. */
export function canUseBpf(): boolean {
  if (privileged !== undefined) return privileged;
  try {
    Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: [asm.mov64Imm(asm.R0, 0), asm.exit()] }).close();
    privileged = true;
  } catch (e) {
    if (!(e instanceof BpfError) || e.code !== 'EPERM') throw e;
    privileged = false;
  }
  return privileged;
}

/** A test that needs the kernel. */
export function kernelTest(title: string, impl: ImplementationFn<[]>): void {
  if (REQUIRE_KERNEL || canUseBpf()) test(title, impl);
  else test.skip(`${title} (skipped: no CAP_BPF/CAP_SYS_ADMIN)`, impl);
}

/** kernelTest, run alone (for tests that count the process's fds). */
kernelTest.serial = function serial(title: string, impl: ImplementationFn<[]>): void {
  if (REQUIRE_KERNEL || canUseBpf()) test.serial(title, impl);
  else test.skip(`${title} (skipped: no CAP_BPF/CAP_SYS_ADMIN)`, impl);
};

/** How many file descriptors this process has open. */
export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/**
 * A kernel test that needs `feature`: it skips, saying so, only when the feature probe
 * answers "no" on this kernel. CI accepts exactly this kind of skip.
 */
kernelTest.requires = function requires(feature: features.Feature, title: string, impl: ImplementationFn<[]>): void {
  if (!REQUIRE_KERNEL && !canUseBpf()) {
    test.skip(`${title} (skipped: no CAP_BPF/CAP_SYS_ADMIN)`, impl);
    return;
  }
  const probe = features.probe(feature);
  if (probe.verdict === 'no') test.skip(`${title} (skipped: this kernel lacks ${probe.name}, added in ${probe.minKernel})`, impl);
  else test(title, impl);
};
