/** The running kernel's version as KERNEL_VERSION(major, minor, patch) packs it. */
import { release } from 'node:os';

/** KERNEL_VERSION(major, minor, patch) of a release string (default: the running kernel),
 *  patch capped at 255 as the kernel and libbpf do; 0 when it does not parse. */
export function kernelVersionCode(rel: string = release()): number {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(rel);
  if (!m) return 0;
  return ((Number(m[1]) << 16) + (Number(m[2]) << 8) + Math.min(Number(m[3] ?? 0), 255)) >>> 0;
}
