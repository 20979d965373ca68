/**
 * Feature probes: what this kernel supports. The core holds the table (what to ask, how to
 * read the answer, which release added each feature); this module runs a probe on first
 * use and remembers conclusive answers for the life of the process. A permission error is
 * "unknown", never "no", and is asked again next time.
 */
import type { Core } from '../bridge/core.js';
import {
  TSBPF_FEATURE_BATCH_OPS,
  TSBPF_FEATURE_BOUNDED_LOOPS,
  TSBPF_FEATURE_BTF,
  TSBPF_FEATURE_BTF_FUNC,
  TSBPF_FEATURE_GLOBAL_DATA,
  TSBPF_FEATURE_JMP32,
  TSBPF_FEATURE_LARGE_PROGRAMS,
  TSBPF_FEATURE_LINKS,
  TSBPF_FEATURE_LOG_TRUE_SIZE,
  TSBPF_FEATURE_MAP_NAME,
  TSBPF_FEATURE_MMAPABLE_MAPS,
  TSBPF_FEATURE_PROG_NAME,
  TSBPF_FEATURE_PROG_TEST_RUN,
  TSBPF_FEATURE_RINGBUF,
  TSBPF_FEATURE__COUNT,
  TSBPF_VERDICT_NO,
  TSBPF_VERDICT_YES,
  tsbpf_probe_env,
  tsbpf_probe_result,
  type Ptr,
} from '../bridge/generated/abi.js';
import { NotSupportedError, errnoName } from './errors.js';
import { Helper, HelperNames, MapType, MapTypeNames, ProgramType, ProgramTypeNames } from './generated/uapi.js';
import { kernelVersionCode } from './kernel_version.js';
import { core } from './runtime.js';
import { checkKeys, integer, invalid } from './validate.js';

const U32_MAX = 0xffffffff;
/** Helper ids are the immediate of a call instruction: non-negative i32. */
const HELPER_MAX = 0x7fffffff;

export type Verdict = 'yes' | 'no' | 'unknown';

export interface FeatureResult {
  /** What was probed ('prog_test_run', 'BPF_PROG_TYPE_XDP', 'bpf_map_lookup_elem'). */
  readonly name: string;
  readonly verdict: Verdict;
  /** The first Linux release with the feature ('4.12'), or '' when the table does not know. */
  readonly minKernel: string;
  /** The errno that decided a 'no' or 'unknown' ('EPERM'). */
  readonly errno?: string;
}

/** Capabilities probed by the core's table (besides program types, map types and helpers). */
export const Feature = {
  /** BPF_PROG_TEST_RUN (4.12). */
  ProgTestRun: TSBPF_FEATURE_PROG_TEST_RUN,
  /** Program names (4.15). */
  ProgName: TSBPF_FEATURE_PROG_NAME,
  /** Map names (4.15). */
  MapName: TSBPF_FEATURE_MAP_NAME,
  /** BPF_BTF_LOAD (4.18). */
  Btf: TSBPF_FEATURE_BTF,
  /** BTF FUNC and FUNC_PROTO kinds (5.0). */
  BtfFunc: TSBPF_FEATURE_BTF_FUNC,
  /** Bounded loops (5.3). */
  BoundedLoops: TSBPF_FEATURE_BOUNDED_LOOPS,
  /** Programs over 4096 instructions (5.2). */
  LargePrograms: TSBPF_FEATURE_LARGE_PROGRAMS,
  /** 32-bit jumps, ISA v3 (5.1). */
  Jmp32: TSBPF_FEATURE_JMP32,
  /** Direct map value access: global variables (5.2). */
  GlobalData: TSBPF_FEATURE_GLOBAL_DATA,
  /** BPF_F_MMAPABLE arrays (5.5). */
  MmapableMaps: TSBPF_FEATURE_MMAPABLE_MAPS,
  /** Ring buffer maps (5.8). */
  Ringbuf: TSBPF_FEATURE_RINGBUF,
  /** Batch map commands (5.6). */
  BatchOps: TSBPF_FEATURE_BATCH_OPS,
  /** BPF links: BPF_LINK_CREATE (5.7). */
  Links: TSBPF_FEATURE_LINKS,
  /** The kernel reports the size a whole verifier log needs (6.4). */
  LogTrueSize: TSBPF_FEATURE_LOG_TRUE_SIZE,
} as const;
export type Feature = (typeof Feature)[keyof typeof Feature];

const cache = new WeakMap<Core, Map<string, FeatureResult>>();

function kernelVersionString(v: number): string {
  return v ? `${v >> 16}.${(v >> 8) & 0xff}` : '';
}

function cached(c: Core, key: string, run: () => FeatureResult): FeatureResult {
  let known = cache.get(c);
  if (!known) cache.set(c, (known = new Map()));
  const hit = known.get(key);
  if (hit) return hit;
  const result = run();
  if (result.verdict !== 'unknown') known.set(key, result);
  return result;
}

/** Runs one probe of the core and reads its result, closing the fds it left. */
function runProbe(c: Core, name: string | undefined, call: (result: number, env: number) => number): FeatureResult {
  const env = c.struct(tsbpf_probe_env);
  c.setU32(env, tsbpf_probe_env.kernel_version, kernelVersionCode());
  const p = c.struct(tsbpf_probe_result);
  c.check(call(p, env), 'feature probe');
  const fds = c.u32(p, tsbpf_probe_result.n_fds);
  for (let i = 0; i < fds; i++) c.closeFd(c.mem.dv.getInt32(p + tsbpf_probe_result.fds.off + 4 * i, true));
  const v = c.u32(p, tsbpf_probe_result.verdict);
  const err = c.i32(p, tsbpf_probe_result.err);
  return {
    name: name ?? c.cstring(c.u32(p, tsbpf_probe_result.name)),
    verdict: v === TSBPF_VERDICT_YES ? 'yes' : v === TSBPF_VERDICT_NO ? 'no' : 'unknown',
    minKernel: kernelVersionString(c.u32(p, tsbpf_probe_result.min_kernel)),
    ...(err ? { errno: errnoName(err) } : {}),
  };
}

/** Probes a capability of the core's table. */
export function probe(feature: Feature, c: Core = core()): FeatureResult {
  const f = integer('features.probe', 'feature', feature, 0, TSBPF_FEATURE__COUNT - 1);
  return cached(c, `f${f}`, () => runProbe(c, undefined, (p) => c.fn.tsbpf_feature_probe(f, p as Ptr<'tsbpf_probe_result'>)));
}

/** Can programs of this type be loaded? */
export function programType(type: ProgramType, c: Core = core()): FeatureResult {
  type = integer('features.programType', 'type', type, 0, U32_MAX) as ProgramType;
  return cached(c, `p${type}`, () =>
    runProbe(c, ProgramTypeNames[type] ?? `program type ${type}`, (p, env) =>
      c.fn.tsbpf_probe_prog_type(type, env as Ptr<'tsbpf_probe_env'>, p as Ptr<'tsbpf_probe_result'>),
    ),
  );
}

/** Can maps of this type be created? */
export function mapType(type: MapType, c: Core = core()): FeatureResult {
  type = integer('features.mapType', 'type', type, 0, U32_MAX) as MapType;
  return cached(c, `m${type}`, () =>
    runProbe(c, MapTypeNames[type] ?? `map type ${type}`, (p) =>
      c.fn.tsbpf_probe_map_type(type, p as Ptr<'tsbpf_probe_result'>),
    ),
  );
}

/** Can programs of type `prog` call `helper`? 'unknown' for types whose loads need an
 *  attach target (tracing, ext, lsm, struct_ops), as with bpftool. */
export function helper(prog: ProgramType, helper: Helper, c: Core = core()): FeatureResult {
  prog = integer('features.helper', 'prog', prog, 0, U32_MAX) as ProgramType;
  helper = integer('features.helper', 'helper', helper, 0, HELPER_MAX) as Helper;
  return cached(c, `h${prog}:${helper}`, () =>
    runProbe(c, HelperNames[helper] ?? `helper ${helper}`, (p, env) =>
      c.fn.tsbpf_probe_helper(prog, helper, env as Ptr<'tsbpf_probe_env'>, p as Ptr<'tsbpf_probe_result'>),
    ),
  );
}

/** Throws NotSupportedError when the probe says the kernel lacks `feature`. */
export function requireFeature(feature: Feature, command: string, c: Core = core()): void {
  if (c.supported[feature]) return; // the hot path: a known yes
  const r = probe(feature, c);
  if (r.verdict === 'yes') c.supported[feature] = true;
  if (r.verdict === 'no')
    throw new NotSupportedError({ feature: r.name, minKernel: r.minKernel, command, errno: 0 });
}

export interface FeatureReport {
  /** By the kernel's name ('BPF_PROG_TYPE_XDP'). */
  programTypes: Record<string, FeatureResult>;
  /** By the kernel's name ('BPF_MAP_TYPE_HASH'). */
  mapTypes: Record<string, FeatureResult>;
  /** Other capabilities, by name ('bounded_loops'). */
  misc: Record<string, FeatureResult>;
  /** For each loadable program type, the helpers it may call ('bpf_map_lookup_elem'). */
  helpers?: Record<string, string[]>;
}

export interface ProbeAllOptions {
  /** Also probe every helper for every program type (thousands of loads). Default false. */
  helpers?: boolean;
  /** Called as probes finish: done of total. */
  onProgress?: (done: number, total: number) => void;
}

/** Probes everything: program types, map types, other capabilities, and optionally helpers. */
export function probeAll(opts: ProbeAllOptions = {}, c: Core = core()): FeatureReport {
  checkKeys('features.probeAll', 'ProbeAllOptions', opts, ['helpers', 'onProgress']);
  if (opts.onProgress !== undefined && typeof opts.onProgress !== 'function')
    throw invalid('features.probeAll', '"onProgress" must be a function');
  const progTypes = Object.values(ProgramType).filter((t) => t !== ProgramType.Unspec);
  const mapTypes = Object.values(MapType).filter((t) => t !== MapType.Unspec);
  const helpers = Object.values(Helper).filter((h) => h !== Helper.unspec);
  let total = progTypes.length + mapTypes.length + TSBPF_FEATURE__COUNT;
  let done = 0;
  const step = (): void => {
    done++;
    if (opts.onProgress && (done % 16 === 0 || done === total)) opts.onProgress(done, total);
  };
  const report: FeatureReport = { programTypes: {}, mapTypes: {}, misc: {} };
  for (const t of progTypes) {
    report.programTypes[ProgramTypeNames[t]!] = programType(t, c);
    step();
  }
  for (const t of mapTypes) {
    report.mapTypes[MapTypeNames[t]!] = mapType(t, c);
    step();
  }
  for (let f = 0; f < TSBPF_FEATURE__COUNT; f++) {
    const r = probe(f as Feature, c);
    report.misc[r.name] = r;
    step();
  }
  if (opts.helpers) {
    const loadable = progTypes.filter((t) => report.programTypes[ProgramTypeNames[t]!]!.verdict === 'yes');
    total += loadable.length * helpers.length;
    report.helpers = {};
    for (const t of loadable) {
      const ok: string[] = [];
      for (const h of helpers) {
        if (helper(t, h, c).verdict === 'yes') ok.push(HelperNames[h]!);
        step();
      }
      report.helpers[ProgramTypeNames[t]!] = ok;
    }
  }
  return report;
}
