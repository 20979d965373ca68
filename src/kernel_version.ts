/** The running kernel's release and its version as KERNEL_VERSION(major, minor, patch) packs it. */
import { release } from 'node:os';
import { native } from '../bridge/core.js';

let running: string | undefined;

/** The running kernel's release ("6.18.44-..."), as uname -r prints it. Read from /proc
 *  through the runtime's host, because Deno refuses os.release() without --allow-sys. */
export function kernelRelease(): string {
  if (running === undefined) {
    const text = native().readSysFile('/proc/sys/kernel/osrelease');
    running = typeof text === 'string' ? text.trim() : release();
  }
  return running;
}

/** KERNEL_VERSION(major, minor, patch) of a release string (default: the running kernel),
 *  patch capped at 255 as the kernel and libbpf do; 0 when it does not parse. */
export function kernelVersionCode(rel: string = kernelRelease()): number {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(rel);
  if (!m) return 0;
  return ((Number(m[1]) << 16) + (Number(m[2]) << 8) + Math.min(Number(m[3] ?? 0), 255)) >>> 0;
}
