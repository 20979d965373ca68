/**
 * A test harness small enough to run unchanged under Node, Bun and Deno (ava runs only on
 * Node). Case files register cases with check() and kernelCheck(); suite.ts imports them
 * and calls run(), which runs every case in order and prints TAP lines
 * (`ok 3 - program › ...`, `not ok ...`, `# SKIP ...`) that scripts/run-tests.mjs counts.
 * Assertions use node:assert, which all three runtimes provide.
 */
import process from 'node:process';
import { BpfError, Program, ProgramType, asm } from '../../src/index.js';
import { runtimeName, type RuntimeName } from '../../bridge/native.js';

type Body = () => void | Promise<void>;

interface Case {
  title: string;
  body: Body;
  kernel: boolean;
}

const cases: Case[] = [];
let current = 'suite';

/** Names the cases registered by `body` ('program', 'map'), as ava names a file. */
export function group(name: string, body: () => void): void {
  const previous = current;
  current = name;
  try {
    body();
  } finally {
    current = previous;
  }
}

/** A case that needs no kernel. */
export function check(title: string, body: Body): void {
  cases.push({ title: `${current} › ${title}`, body, kernel: false });
}

/** A case that calls the real bpf(2); skipped, saying why, when the process may not. */
export function kernelCheck(title: string, body: Body): void {
  cases.push({ title: `${current} › ${title}`, body, kernel: true });
}

/** The runtime the runner started this suite under (--expect NAME), or the detected one. */
export function expectedRuntime(): RuntimeName {
  const i = process.argv.indexOf('--expect');
  return (i >= 0 ? process.argv[i + 1] : runtimeName()) as RuntimeName;
}

/** A full garbage collection, where the runtime lets us ask for one (node --expose-gc, Deno's V8 flag, Bun.gc). */
export function gcFunction(): (() => void) | undefined {
  const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
  const bun = g.Bun;
  if (bun) return () => bun.gc(true);
  return g.gc;
}

function mayUseBpf(): boolean {
  try {
    Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: [asm.mov64Imm(asm.R0, 0), asm.exit()] }).close();
    return true;
  } catch (e) {
    if (e instanceof BpfError && e.code === 'EPERM') return false;
    throw e;
  }
}

/** The error's message and stack as TAP detail lines (two-space indent). */
function detail(e: unknown): string[] {
  const text = e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
  return ['  ---', ...text.split('\n').slice(0, 20).map((l) => `  ${l}`), '  ...'];
}

/** Runs every registered case, prints TAP, and sets the exit code (1 when a case failed). */
export async function run(): Promise<void> {
  let privileged: boolean | undefined;
  let failed = 0;
  let n = 0;
  for (const c of cases) {
    n++;
    try {
      if (c.kernel) {
        privileged ??= mayUseBpf();
        if (!privileged) {
          console.log(`ok ${n} - ${c.title} (skipped: no CAP_BPF/CAP_SYS_ADMIN) # SKIP`);
          continue;
        }
      }
      await c.body();
      console.log(`ok ${n} - ${c.title}`);
    } catch (e) {
      failed++;
      console.log(`not ok ${n} - ${c.title}`);
      for (const line of detail(e)) console.log(line);
    }
  }
  console.log(`1..${n}`);
  process.exitCode = failed ? 1 : 0;
}
