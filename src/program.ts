/**
 * Programs: load instructions into the kernel, run them with BPF_PROG_TEST_RUN, benchmark
 * them. Loading and running are decided in the core (attr layout, verifier-log retries,
 * output sizing); this module validates options and turns results into JavaScript values.
 */
import { Buffer } from 'node:buffer';
import type { Core } from '../bridge/core.js';
import { tsbpf_prog_load_opts as LoadOpts, tsbpf_test_run_opts as RunOpts, type Ptr } from '../bridge/generated/abi.js';
import { assemble, Instruction } from './asm.js';
import { BpfError, NotSupportedError, VerifierError, ENOTSUPP } from './errors.js';
import { Feature, requireFeature } from './features.js';
import { FdHandle } from './fd.js';
import { ProgramType, ProgramTypeNames } from './generated/uapi.js';
import { core } from './runtime.js';
import { bytes, checkKeys, describe, integer, invalid, string } from './validate.js';

const LOAD = 'BPF_PROG_LOAD';
const RUN = 'BPF_PROG_TEST_RUN';
const U32_MAX = 0xffffffff;
const EINVAL = 22;

/** What to load. */
export interface ProgramSpec {
  /** The program type, e.g. ProgramType.SocketFilter. */
  type: ProgramType;
  /** Assembler output, or raw bytecode (8 bytes per instruction slot). */
  instructions: readonly Instruction[] | Uint8Array;
  /** The license; GPL-only helpers need a GPL-compatible one. */
  license: string;
  /** Object name (at most 15 characters of [A-Za-z0-9_.]). */
  name?: string;
  /** Verifier log level for every attempt; 0 (default) asks for a log only after a failure. */
  logLevel?: number;
  /** Size of the first verifier log buffer in bytes; it grows as the kernel asks. */
  logSize?: number;
  /** Maps the instructions name (asm.ldMapFd(dst, 'name')), by name: a BpfMap or anything with a map `fd`. */
  maps?: Readonly<Record<string, { readonly fd: number }>>;
}

const SPEC_KEYS = ['type', 'instructions', 'license', 'name', 'logLevel', 'logSize', 'maps'] as const;

/** Options of {@link Program.run}: every input of BPF_PROG_TEST_RUN. */
export interface RunOptions {
  /** Packet data the program runs on. */
  data?: Uint8Array;
  /** Context (struct __sk_buff, xdp_md, ...) passed in. */
  context?: Uint8Array;
  /** Size of the output data buffer; default: input length + 256. */
  dataOutSize?: number;
  /** Size of the output context buffer; default: context length. */
  contextOutSize?: number;
  /** Runs per call (the kernel reports the mean duration). Default 1. */
  repeat?: number;
  /** BPF_F_TEST_* flags. */
  flags?: number;
  /** CPU to run on (with BPF_F_TEST_RUN_ON_CPU). */
  cpu?: number;
  /** Batch size for XDP live frames. */
  batchSize?: number;
}

const RUN_KEYS = ['data', 'context', 'dataOutSize', 'contextOutSize', 'repeat', 'flags', 'cpu', 'batchSize'] as const;

export interface RunResult {
  /** The program's return value (r0), as the kernel reports it (u32). */
  retval: number;
  /** Mean duration of one run in nanoseconds, as the kernel measures it. */
  duration: number;
  /** Output data (the packet after the program ran). */
  data: Buffer;
  /** Output context, when a context was passed. */
  context: Buffer | undefined;
}

export interface TestResult {
  retval: number;
  data: Buffer;
}

export interface BenchmarkResult {
  retval: number;
  /** Mean nanoseconds per run, measured by the kernel. */
  nsPerRun: number;
  repeat: number;
}

const TOKEN = Symbol('Program');

/** A loaded BPF program. Owns its file descriptor. */
export class Program extends FdHandle {
  readonly type: ProgramType;
  readonly name: string;
  readonly #core: Core;

  /** @internal */
  constructor(token: symbol, fd: number, type: ProgramType, name: string, c: Core) {
    if (token !== TOKEN) throw new TypeError('use Program.load() to create a Program');
    super(fd, c);
    this.type = type;
    this.name = name;
    this.#core = c;
  }

  protected get kind(): string {
    return 'program';
  }

  /**
   * Loads a program into the kernel. A program the verifier rejects throws VerifierError
   * with the whole log; other failures throw BpfError with advice.
   * Requires Linux 3.19 (BPF_PROG_LOAD); program types have their own minimums.
   */
  static load(spec: ProgramSpec): Program {
    checkKeys(LOAD, 'ProgramSpec', spec, SPEC_KEYS);
    const type = integer(LOAD, 'type', spec.type, 0, U32_MAX) as ProgramType;
    const license = string(LOAD, 'license', spec.license);
    const name = spec.name === undefined ? '' : string(LOAD, 'name', spec.name);
    const logLevel = integer(LOAD, 'logLevel', spec.logLevel, 0, U32_MAX, 0);
    const logSize = integer(LOAD, 'logSize', spec.logSize, 0, U32_MAX, 0);
    let code: Uint8Array;
    if (spec.instructions instanceof Uint8Array) {
      code = spec.instructions;
      if (code.length % 8 !== 0)
        throw invalid(LOAD, `"instructions" holds ${code.length} bytes, not a multiple of 8 (one instruction slot)`);
    } else if (Array.isArray(spec.instructions)) {
      code = assemble(spec.instructions, { maps: spec.maps });
    } else {
      throw invalid(LOAD, '"instructions" must be an array of asm instructions or a Uint8Array of bytecode');
    }

    const c = core();
    c.resetArena();
    const o = c.struct(LoadOpts);
    c.setU32(o, LoadOpts.prog_type, type);
    c.setU32(o, LoadOpts.insns, code.length ? c.stage(code) : 0);
    c.setU32(o, LoadOpts.insn_cnt, code.length / 8);
    c.setU32(o, LoadOpts.license, c.stageCString(license));
    if (name) c.setU32(o, LoadOpts.name, c.stageCString(name));
    c.setU32(o, LoadOpts.log_level, logLevel);
    c.setU32(o, LoadOpts.log_size, logSize);
    const fd = c.fn.tsbpf_prog_load(o as Ptr<'tsbpf_prog_load_opts'>);
    if (fd < 0) throw loadError(c, o, fd, name);
    return new Program(TOKEN, fd, type, name, c);
  }

  /** Runs the program once on `input` and returns r0 and the packet it left. Requires Linux 4.12. */
  test(input: Uint8Array): TestResult {
    const r = this.#testRun(bytes(RUN, 'input', input), undefined, 1, true);
    return { retval: r.retval, data: r.data };
  }

  /**
   * Runs the program `repeat` times in the kernel and returns the mean time per run.
   * Interrupted runs (EINTR) are restarted. Requires Linux 4.12.
   */
  benchmark(input: Uint8Array, repeat: number): BenchmarkResult {
    const n = repeatCount(repeat, 1);
    const r = this.#testRun(bytes(RUN, 'input', input), undefined, n, false);
    return { retval: r.retval, nsPerRun: r.duration, repeat: n };
  }

  /** BPF_PROG_TEST_RUN with every option. Requires Linux 4.12 (context: 5.2, cpu: 5.10, batch: 5.18). */
  run(opts: RunOptions): RunResult {
    checkKeys(RUN, 'RunOptions', opts, RUN_KEYS);
    const data = opts.data === undefined ? undefined : bytes(RUN, 'data', opts.data);
    const context = opts.context === undefined ? undefined : bytes(RUN, 'context', opts.context);
    return this.#testRun(data ?? new Uint8Array(0), context, repeatCount(opts.repeat ?? 1, 0), true, opts);
  }

  #testRun(data: Uint8Array, context: Uint8Array | undefined, repeat: number, wantOut: boolean, opts?: RunOptions): RunResult {
    const fd = this.fd;
    const c = this.#core;
    const dataOutCap = opts ? integer(RUN, 'dataOutSize', opts.dataOutSize, 0, U32_MAX, 0) : 0;
    const ctxOutCap = opts ? integer(RUN, 'contextOutSize', opts.contextOutSize, 0, U32_MAX, 0) : 0;
    const flags = opts ? integer(RUN, 'flags', opts.flags, 0, U32_MAX, 0) : 0;
    const cpu = opts ? integer(RUN, 'cpu', opts.cpu, 0, U32_MAX, 0) : 0;
    const batchSize = opts ? integer(RUN, 'batchSize', opts.batchSize, 0, U32_MAX, 0) : 0;
    if (context && context.length > U32_MAX) throw invalid(RUN, `context is too long: ${context.length} bytes`);

    // Stage inputs first: staging may grow Wasm memory, which invalidates views.
    c.resetArena();
    const dataPtr = data.length > 0 && data.length <= U32_MAX ? c.stage(data) : 0;
    const ctxPtr = context && context.length > 0 ? c.stage(context) : 0;
    const o = c.struct(RunOpts);
    c.setU32(o, RunOpts.prog_fd, fd);
    // Lengths go to the core unchecked: it rejects what the kernel cannot take.
    c.setU64(o, RunOpts.data_size_in, data.length);
    c.setU64(o, RunOpts.repeat, repeat);
    c.setU32(o, RunOpts.data_in, dataPtr);
    c.setU32(o, RunOpts.want_data_out, wantOut ? 1 : 0);
    if (context) {
      c.setU32(o, RunOpts.ctx_size_in, context.length);
      c.setU32(o, RunOpts.ctx_in, ctxPtr);
      c.setU32(o, RunOpts.want_ctx_out, wantOut ? 1 : 0);
    }
    if (opts) {
      c.setU32(o, RunOpts.data_out_cap, dataOutCap);
      c.setU32(o, RunOpts.ctx_out_cap, ctxOutCap);
      c.setU32(o, RunOpts.flags, flags);
      c.setU32(o, RunOpts.cpu, cpu);
      c.setU32(o, RunOpts.batch_size, batchSize);
    }
    const ret = c.fn.tsbpf_prog_test_run(o as Ptr<'tsbpf_test_run_opts'>);
    if (ret < 0) throw this.#runError(c, ret);
    return {
      retval: c.u32(o, RunOpts.retval),
      duration: c.u32(o, RunOpts.duration),
      data: wantOut ? c.bytes(c.u32(o, RunOpts.data_out), c.u32(o, RunOpts.data_size_out)) : EMPTY,
      context: wantOut && context ? c.bytes(c.u32(o, RunOpts.ctx_out), c.u32(o, RunOpts.ctx_size_out)) : undefined,
    };
  }

  /**
   * Turns a failed run into the right error. EINVAL and ENOTSUPP are ambiguous (a bad
   * input, this program type, or no BPF_PROG_TEST_RUN at all), so only then is the
   * feature probe asked: keeping it off the hot path and after the core's own checks.
   */
  #runError(c: Core, ret: number): BpfError {
    const err = c.error(ret);
    // The core's own refusals (missing input, too long) need no probe: the kernel was not asked.
    if (c.fn.tsbpf_last_kernel_error() === 0) return err;
    if (err.errno !== ENOTSUPP && err.errno !== EINVAL) return err;
    requireFeature(Feature.ProgTestRun, RUN, c);
    if (err.errno !== ENOTSUPP) return err;
    return new NotSupportedError({
      feature: `BPF_PROG_TEST_RUN for ${ProgramTypeNames[this.type] ?? `program type ${this.type}`} programs`,
      minKernel: 'a newer kernel',
      command: RUN,
      errno: ENOTSUPP,
      cause: err,
    });
  }
}

const EMPTY = Buffer.alloc(0);

/** A repeat count; the upper bound (u32) is the core's to enforce. */
function repeatCount(value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min)
    throw invalid(RUN, `"repeat" must be an integer of at least ${min}, got ${describe(value)}`);
  return value;
}

/** The error of a failed load: VerifierError when the kernel left a log. */
function loadError(c: Core, o: number, ret: number, name: string): BpfError {
  const base = c.error(ret);
  const logLen = c.u32(o, LoadOpts.log_len);
  if (logLen === 0) return base;
  const log = c.cstring(c.u32(o, LoadOpts.log), logLen).split('\n');
  while (log.length && log[log.length - 1] === '') log.pop();
  return new VerifierError({
    command: LOAD,
    errno: base.errno,
    reason: name ? `the verifier rejected program "${name}"` : 'the verifier rejected the program',
    log,
    truncated: c.u32(o, LoadOpts.log_truncated) !== 0,
    cause: base,
  });
}
