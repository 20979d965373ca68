/**
 * Feature probes. The core holds the table (what to ask, which kernel added it); this
 * module runs a probe on first use and remembers conclusive answers for the process.
 * A permission error is "unknown", never "no", and is asked again next time.
 */
import type { Core } from '../bridge/core.js';
import { TSBPF_FEATURE_PROG_TEST_RUN, TSBPF_VERDICT_NO, TSBPF_VERDICT_YES, tsbpf_probe_result, type Ptr } from '../bridge/generated/abi.js';
import { NotSupportedError, errnoName } from './errors.js';
import { core } from './runtime.js';

export type Verdict = 'yes' | 'no' | 'unknown';

export interface FeatureResult {
  /** The feature's name ('prog_test_run'). */
  readonly name: string;
  readonly verdict: Verdict;
  /** The first Linux release with the feature ('4.12'). */
  readonly minKernel: string;
  /** The errno that decided a 'no' or 'unknown' ('EPERM'). */
  readonly errno?: string;
}

/** Feature ids of the core's probe table. */
export const Feature = {
  ProgTestRun: TSBPF_FEATURE_PROG_TEST_RUN,
} as const;
export type Feature = (typeof Feature)[keyof typeof Feature];

const cache = new WeakMap<Core, Map<number, FeatureResult>>();

function kernelVersion(v: number): string {
  return `${v >> 16}.${(v >> 8) & 0xff}`;
}

/** Runs (or recalls) the probe of `feature`. */
export function probe(feature: Feature, c: Core = core()): FeatureResult {
  let known = cache.get(c);
  if (!known) cache.set(c, (known = new Map()));
  const hit = known.get(feature);
  if (hit) return hit;
  const p = c.struct(tsbpf_probe_result);
  const ret = c.fn.tsbpf_feature_probe(feature, p as Ptr<'tsbpf_probe_result'>);
  c.check(ret, 'feature probe');
  const fds = c.u32(p, tsbpf_probe_result.n_fds);
  for (let i = 0; i < fds; i++) c.closeFd(c.mem.dv.getInt32(p + tsbpf_probe_result.fds.off + 4 * i, true));
  const v = c.u32(p, tsbpf_probe_result.verdict);
  const err = c.i32(p, tsbpf_probe_result.err);
  const result: FeatureResult = {
    name: c.cstring(c.u32(p, tsbpf_probe_result.name)),
    verdict: v === TSBPF_VERDICT_YES ? 'yes' : v === TSBPF_VERDICT_NO ? 'no' : 'unknown',
    minKernel: kernelVersion(c.u32(p, tsbpf_probe_result.min_kernel)),
    ...(err ? { errno: errnoName(err) } : {}),
  };
  if (result.verdict !== 'unknown') known.set(feature, result);
  return result;
}

/** Throws NotSupportedError when the probe says the kernel lacks `feature`. */
export function requireFeature(feature: Feature, command: string, c: Core = core()): void {
  if (c.supported[feature]) return; // the hot path: a known yes
  const r = probe(feature, c);
  if (r.verdict === 'yes') c.supported[feature] = true;
  if (r.verdict === 'no')
    throw new NotSupportedError({ feature: r.name, minKernel: r.minKernel, command, errno: 0 });
}
