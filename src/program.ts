/**
 * Programs: load instructions into the kernel, run them with BPF_PROG_TEST_RUN, benchmark
 * them, pin them, find them by id, read their info, and attach them to containers (cgroups)
 * and sockets. Loading and running are decided in the core (attr layout, verifier-log
 * retries, output sizing, the decoding of struct bpf_prog_info); this module validates
 * options and turns results into JavaScript values.
 */
import { Buffer } from 'node:buffer';
import { native, type Core } from '../bridge/core.js';
import {
  TSBPF_ATTACH_ALLOW_MULTI,
  TSBPF_ATTACH_ALLOW_OVERRIDE,
  TSBPF_ATTACH_REPLACE,
  TSBPF_PROG_ANY_ALIGNMENT,
  TSBPF_PROG_INFO_HAVE_ATTACH_BTF,
  TSBPF_PROG_INFO_HAVE_BTF,
  TSBPF_PROG_INFO_HAVE_MAP_IDS,
  TSBPF_PROG_INFO_HAVE_RECURSION,
  TSBPF_PROG_INFO_HAVE_RUN_STATS,
  TSBPF_PROG_INFO_HAVE_VERIFIED,
  TSBPF_PROG_INFO_WANT_MAP_IDS,
  TSBPF_PROG_INFO_WANT_XLATED,
  TSBPF_PROG_INFO_XLATED_WITHHELD,
  TSBPF_PROG_SLEEPABLE,
  TSBPF_PROG_STRICT_ALIGNMENT,
  TSBPF_PROG_TEST_RND_HI32,
  TSBPF_PROG_TEST_STATE_FREQ,
  TSBPF_PROG_XDP_DEV_BOUND_ONLY,
  TSBPF_PROG_XDP_HAS_FRAGS,
  TSBPF_QUERY_EFFECTIVE,
  TSBPF_STATS_RUN_TIME,
  TSBPF_TEST_RUN_ON_CPU,
  TSBPF_TEST_RUN_SKB_CHECKSUM_COMPLETE,
  TSBPF_TEST_RUN_XDP_LIVE_FRAMES,
  tsbpf_prog_info as InfoS,
  tsbpf_prog_load_opts as LoadOpts,
  tsbpf_prog_query as QueryS,
  tsbpf_test_run_opts as RunOpts,
  type Ptr,
} from '../bridge/generated/abi.js';
import { assemble, decode, Instruction } from './asm.js';
import { PLAN_MAX_INPUT, TestRunPlan } from './test_run_plan.js';
import { BpfError, NotSupportedError, VerifierError, ENOTSUPP } from './errors.js';
import { Feature, requireFeature } from './features.js';
import { FdHandle } from './fd.js';
import { AttachType, AttachTypeNames, ProgramType, ProgramTypeNames } from './generated/uapi.js';
import { ObjectKind, fdById, fdObjectType, objectIds, openPinned, pinFd, unpinPath } from './object.js';
import { kernelVersionCode } from './kernel_version.js';
import { core } from './runtime.js';
import { bytes, cString as cStringArg, checkKeys, describe, integer, invalid } from './validate.js';

const LOAD = 'BPF_PROG_LOAD';
const RUN = 'BPF_PROG_TEST_RUN';
const INFO = 'BPF_OBJ_GET_INFO_BY_FD';
const U32_MAX = 0xffffffff;
const EINVAL = 22;

/** Flags of {@link ProgramSpec.flags} (BPF_F_* of BPF_PROG_LOAD). */
export const ProgramFlags = {
  /** Make the verifier check alignment strictly, as on architectures that need it. 4.12. */
  StrictAlignment: TSBPF_PROG_STRICT_ALIGNMENT,
  /** Let the verifier accept unaligned accesses (testing only). 5.0. */
  AnyAlignment: TSBPF_PROG_ANY_ALIGNMENT,
  /** Randomise the upper halves of 32-bit subregisters (verifier testing). 5.3. */
  TestRndHi32: TSBPF_PROG_TEST_RND_HI32,
  /** Make the verifier store states more often (verifier testing). 5.4. */
  TestStateFreq: TSBPF_PROG_TEST_STATE_FREQ,
  /** The program may sleep (fentry/lsm/iterators/syscall programs). 5.10. */
  Sleepable: TSBPF_PROG_SLEEPABLE,
  /** An XDP program that handles multi-buffer frames. 5.18. */
  XdpHasFrags: TSBPF_PROG_XDP_HAS_FRAGS,
  /** An XDP program bound to the device of `ifindex`. 6.3. */
  XdpDevBoundOnly: TSBPF_PROG_XDP_DEV_BOUND_ONLY,
} as const;

/** Flags of {@link RunOptions.flags} (BPF_F_TEST_* of BPF_PROG_TEST_RUN). */
export const RunFlags = {
  /** Run on {@link RunOptions.cpu} instead of the current CPU (raw tracepoints). 5.10. */
  RunOnCpu: TSBPF_TEST_RUN_ON_CPU,
  /** XDP: honour the return code, sending the frames for real (XDP_PASS, XDP_TX, redirect). 5.18. */
  XdpLiveFrames: TSBPF_TEST_RUN_XDP_LIVE_FRAMES,
  /** skb programs: the packet arrives with CHECKSUM_COMPLETE. 6.7. */
  SkbChecksumComplete: TSBPF_TEST_RUN_SKB_CHECKSUM_COMPLETE,
} as const;

/** Flags of {@link Program.attach} (BPF_F_* of BPF_PROG_ATTACH). */
export const AttachFlags = {
  /** Programs in sub-cgroups may override this one. 4.10. */
  AllowOverride: TSBPF_ATTACH_ALLOW_OVERRIDE,
  /** Several programs run in attach order; sub-cgroups add their own. 4.15. */
  AllowMulti: TSBPF_ATTACH_ALLOW_MULTI,
  /** Replace the given program in place (set by passing `replace`). 5.6. */
  Replace: TSBPF_ATTACH_REPLACE,
} as const;

/**
 * Verifier log levels for {@link ProgramSpec.logLevel}, OR-ed together. They are the
 * kernel's internal BPF_LOG_* bits (include/linux/bpf_verifier.h), stable since 5.2.
 */
export const LogLevel = {
  /** Each branch the verifier explores, and why it failed. */
  Branch: 1,
  /** Every instruction with the register state (large). */
  Instruction: 2,
  /** Statistics: instructions processed, states, time. */
  Stats: 4,
} as const;
const LOG_LEVEL_MASK = 0xf; // includes BPF_LOG_FIXED (6.4)

/** Statistics kinds of {@link Program.enableStats}. */
export const StatsType = {
  /** run_cnt and run_time_ns of every program. 5.8. */
  RunTime: TSBPF_STATS_RUN_TIME,
} as const;
export type StatsType = (typeof StatsType)[keyof typeof StatsType];

/** What to load. */
export interface ProgramSpec {
  /** The program type, e.g. ProgramType.SocketFilter. */
  type: ProgramType;
  /** Assembler output, or raw bytecode (8 bytes per instruction slot). */
  instructions: readonly Instruction[] | Uint8Array;
  /** The license; GPL-only helpers need a GPL-compatible one. */
  license: string;
  /** Object name (at most 15 characters of [A-Za-z0-9_.]), shown by bpftool. */
  name?: string;
  /**
   * The attach type the program is verified for. Some types need it (cgroup sock_addr
   * hooks, tracing); others accept it to narrow their context. Requires Linux 4.17.
   */
  expectedAttachType?: AttachType;
  /** KERNEL_VERSION of the running kernel; kprobes before 5.0 need it. Filled in for Kprobe. */
  kernelVersion?: number;
  /** {@link ProgramFlags}, OR-ed together. */
  flags?: number;
  /** The network device an offloaded or device-bound XDP program is meant for. */
  ifindex?: number;
  /** BTF type id of the attach target (tracing, LSM, struct_ops and extension programs). */
  attachBtfId?: number;
  /** The program an extension (freplace) or fentry/fexit program attaches to. */
  attachTarget?: Program;
  /** Like attachTarget, as a raw fd. */
  attachProgFd?: number;
  /** The BTF object (a kernel module's) that attachBtfId refers to. Requires Linux 5.11. */
  attachBtfObjFd?: number;
  /**
   * Verifier log level ({@link LogLevel}) for every attempt; the log of a successful load
   * is then in {@link Program.verifierLog}. 0 (default) asks for a log only after a failure.
   */
  logLevel?: number;
  /** Size of the first verifier log buffer in bytes; it grows as the kernel asks. */
  logSize?: number;
  /** Maps the instructions name (asm.ldMapFd(dst, 'name')), by name: a BpfMap or anything with a map `fd`. */
  maps?: Readonly<Record<string, { readonly fd: number }>>;
}

const SPEC_KEYS = [
  'type', 'instructions', 'license', 'name', 'expectedAttachType', 'kernelVersion', 'flags', 'ifindex',
  'attachBtfId', 'attachTarget', 'attachProgFd', 'attachBtfObjFd', 'logLevel', 'logSize', 'maps',
] as const;

/** Options of {@link Program.run}: every input of BPF_PROG_TEST_RUN. */
export interface RunOptions {
  /** Packet data the program runs on. */
  data?: Uint8Array;
  /** Context (struct __sk_buff, xdp_md, raw tracepoint arguments, ...) passed in. */
  context?: Uint8Array;
  /** Size of the output data buffer; default: input length + 256. */
  dataOutSize?: number;
  /**
   * Size of the output context buffer; default: the context's length. 0 asks for no
   * context back. Raw tracepoint programs never return one; syscall programs return it
   * in place.
   */
  contextOutSize?: number;
  /** Runs per call (the kernel reports the mean duration). Default 0, which the kernel runs once. */
  repeat?: number;
  /** {@link RunFlags}, OR-ed together. */
  flags?: number;
  /** CPU to run on, with RunFlags.RunOnCpu. */
  cpu?: number;
  /** Frames per batch with RunFlags.XdpLiveFrames (kernel default 64, at most 256). */
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
  /** Output context, when a context was passed and the program type returns one. */
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

/**
 * What the kernel knows about a loaded program (BPF_OBJ_GET_INFO_BY_FD). Fields a kernel
 * is too old to report are undefined, never a made-up zero.
 */
export interface ProgramInfo {
  type: ProgramType;
  id: number;
  /** The name given at load time (at most 15 characters). 4.15. */
  name: string;
  /** The program's tag: a hash of its instructions, 16 hex digits, as bpftool shows it. */
  tag: string;
  /** When it was loaded, in nanoseconds since boot (CLOCK_BOOTTIME). 4.15. */
  loadTime: bigint | undefined;
  /** The uid of the process that loaded it. 4.15. */
  createdByUid: number | undefined;
  /** Ids of the maps the program uses. 4.15. */
  mapIds: number[] | undefined;
  /** Size of the JIT-compiled code in bytes (0 when not JIT-compiled, or without CAP_BPF). */
  jitedSize: number;
  /** Size of the translated (post-verifier) bytecode in bytes. */
  xlatedSize: number;
  /**
   * The translated bytecode (8 bytes per instruction slot); undefined when the kernel
   * withholds it (kernel.kptr_restrict, no CAP_BPF).
   */
  xlated: Uint8Array | undefined;
  /**
   * The translated bytecode decoded by the core's decoder (asm.decode), on first access;
   * undefined when `xlated` is. Throws an InstructionError naming the slot if the kernel's
   * rewrite holds something the decoder refuses.
   */
  readonly instructions: Instruction[] | undefined;
  /** Instructions the verifier processed. 5.16. */
  verifiedInstructions: number | undefined;
  /** Times the program ran while statistics were enabled ({@link Program.enableStats}). 5.1. */
  runCount: bigint | undefined;
  /** Total run time in nanoseconds while statistics were enabled. 5.1. */
  runTime: bigint | undefined;
  /** Runs skipped because another program was running on the CPU. 5.12. */
  recursionMisses: bigint | undefined;
  /** Id of the program's BTF object (0: none). 5.0. */
  btfId: number | undefined;
  /** True when the license is GPL-compatible. */
  gplCompatible: boolean;
  /** The BTF object and type id the program is attached to (tracing, LSM). 5.16. */
  attachBtfObjId: number | undefined;
  attachBtfId: number | undefined;
}

/** Run-time statistics of {@link Program.stats}. */
export interface ProgramStats {
  runCount: bigint;
  /** Total run time in nanoseconds. */
  runTime: bigint;
  recursionMisses: bigint;
}

/** What {@link Program.query} found attached to a container. */
export interface AttachedPrograms {
  /** Ids of the programs, in the order the kernel runs them. */
  ids: number[];
  /** The flags the programs were attached with ({@link AttachFlags}); 0 for effective queries. */
  attachFlags: number;
  /** Counts changes to the list on targets that keep a revision (tcx, netkit; 6.6); else 0. */
  revision: number;
}

const TOKEN = Symbol('Program');

// Socket options from <asm-generic/socket.h> (x86-64, arm64, riscv64 use these values).
const SOL_SOCKET = 1;
const SO_ATTACH_BPF = 50;
const SO_DETACH_BPF = 27;

/** A loaded BPF program. Owns its file descriptor. */
export class Program extends FdHandle {
  readonly type: ProgramType;
  /** The name given at load time, or the kernel's copy of it. */
  readonly name: string;
  /** The verifier's log of a load with {@link ProgramSpec.logLevel} > 0, line by line; else empty. */
  readonly verifierLog: readonly string[];
  readonly #core: Core;
  #id = 0;
  #pinned: string | undefined;
  /** Replayed test runs of test() (index 1: with output) and benchmark() (index 0). */
  readonly #plans: (TestRunPlan | null | undefined)[] = [undefined, undefined];

  /** @internal */
  constructor(token: symbol, fd: number, type: ProgramType, name: string, c: Core, log: readonly string[] = NO_LOG) {
    if (token !== TOKEN) throw new TypeError('use Program.load() to create a Program');
    super(fd, c);
    this.type = type;
    this.name = name;
    this.verifierLog = log;
    this.#core = c;
  }

  protected get kind(): string {
    return 'program';
  }

  /**
   * Loads a program into the kernel. A program the verifier rejects throws VerifierError
   * with the whole log; other failures throw BpfError with advice. A failed load is
   * retried with a verifier log (grown as the kernel asks) and on EAGAIN.
   * Requires Linux 3.19 (BPF_PROG_LOAD); program types have their own minimums.
   */
  static load(spec: ProgramSpec): Program;
  static load(spec: ProgramSpec, /** @internal */ extras?: LoadExtras): Program {
    checkSpecKeys(spec);
    const type = programType(spec.type);
    const license = cStringArg(LOAD, 'license', spec.license);
    const name = spec.name === undefined ? '' : cStringArg(LOAD, 'name', spec.name);
    const code = bytecode(spec.instructions, spec.maps);
    // The common spec sets none of the fields below: skip their checks (the hot path of a load).
    let expected = 0, kernelVersion = type === ProgramType.Kprobe ? kernelVersionCode() : 0, flags = 0, ifindex = 0;
    let attachBtfId = 0, attachBtfObjFd = 0, attachProgFd = 0, logLevel = 0, logSize = 0;
    if (spec.expectedAttachType !== undefined) expected = attachType(LOAD, 'expectedAttachType', spec.expectedAttachType);
    if (spec.kernelVersion !== undefined) kernelVersion = integer(LOAD, 'kernelVersion', spec.kernelVersion, 0, U32_MAX);
    if (spec.flags !== undefined) flags = integer(LOAD, 'flags', spec.flags, 0, U32_MAX);
    if (spec.ifindex !== undefined) ifindex = integer(LOAD, 'ifindex', spec.ifindex, 0, U32_MAX);
    if (spec.attachBtfId !== undefined) attachBtfId = integer(LOAD, 'attachBtfId', spec.attachBtfId, 0, U32_MAX);
    if (spec.attachBtfObjFd !== undefined) attachBtfObjFd = integer(LOAD, 'attachBtfObjFd', spec.attachBtfObjFd, 0, 0x7fffffff);
    if (spec.attachProgFd !== undefined) attachProgFd = integer(LOAD, 'attachProgFd', spec.attachProgFd, 0, 0x7fffffff);
    if (spec.attachTarget !== undefined) {
      if (!(spec.attachTarget instanceof Program))
        throw invalid(LOAD, `"attachTarget" must be a Program, got ${describe(spec.attachTarget)}`);
      if (spec.attachProgFd !== undefined) throw invalid(LOAD, 'give "attachTarget" or "attachProgFd", not both');
      attachProgFd = spec.attachTarget.fd;
    }
    if (spec.logLevel !== undefined) {
      logLevel = integer(LOAD, 'logLevel', spec.logLevel, 0, U32_MAX);
      if (logLevel & ~LOG_LEVEL_MASK)
        throw invalid(LOAD, `"logLevel" ${logLevel} has bits the kernel does not define: use LogLevel.Branch, Instruction and Stats`);
    }
    if (spec.logSize !== undefined) logSize = integer(LOAD, 'logSize', spec.logSize, 0, U32_MAX);

    const c = core();
    c.resetArena();
    const insns = code.length ? c.stage(code) : 0;
    const lic = c.stage(cString(license));
    const namePtr = name ? c.stage(cString(name)) : 0;
    const o = c.struct(LoadOpts);
    // One view for all the fields: staging is done, memory cannot grow until the call.
    const dv = c.mem.dv;
    dv.setUint32(o + LoadOpts.prog_type.off, type, true);
    dv.setUint32(o + LoadOpts.insns.off, insns, true);
    dv.setUint32(o + LoadOpts.insn_cnt.off, code.length / 8, true);
    dv.setUint32(o + LoadOpts.license.off, lic, true);
    dv.setUint32(o + LoadOpts.name.off, namePtr, true);
    if (expected) dv.setUint32(o + LoadOpts.expected_attach_type.off, expected, true);
    if (flags) dv.setUint32(o + LoadOpts.prog_flags.off, flags, true);
    if (kernelVersion) dv.setUint32(o + LoadOpts.kern_version.off, kernelVersion, true);
    if (ifindex) dv.setUint32(o + LoadOpts.prog_ifindex.off, ifindex, true);
    if (attachBtfId) dv.setUint32(o + LoadOpts.attach_btf_id.off, attachBtfId, true);
    if (attachProgFd) dv.setUint32(o + LoadOpts.attach_prog_fd.off, attachProgFd, true);
    if (attachBtfObjFd) dv.setUint32(o + LoadOpts.attach_btf_obj_fd.off, attachBtfObjFd, true);
    if (logLevel) dv.setUint32(o + LoadOpts.log_level.off, logLevel, true);
    if (logSize) dv.setUint32(o + LoadOpts.log_size.off, logSize, true);
    if (extras) stageExtras(c, o, extras);
    const fd = c.fn.tsbpf_prog_load(o as Ptr<'tsbpf_prog_load_opts'>);
    if (fd < 0) throw loadError(c, o, fd, name, type);
    return new Program(TOKEN, fd, type, name, c, logLevel ? logLines(c, o) : NO_LOG);
  }

  /**
   * Opens the program pinned at `path` (on a bpffs mount). Throws a BpfError when nothing
   * is pinned there or when the pin is not a program. Requires Linux 4.4.
   */
  static loadPinned(path: string): Program {
    const c = core();
    const fd = openPinned(c, path);
    const what = fdObjectType(fd);
    if (what !== undefined && what !== 'prog') {
      c.closeFd(fd);
      throw new BpfError({ command: 'BPF_OBJ_GET', errno: EINVAL, reason: `${path} is a pinned ${what}, not a program`, advice: '' });
    }
    const prog = Program.#adopt(c, fd);
    prog.#pinned = path;
    return prog;
  }

  /**
   * Opens the loaded program with this id (from {@link Program.ids}, bpftool or a query).
   * An id with no program throws a BpfError with code ENOENT. Requires Linux 4.13.
   */
  static fromId(id: number): Program {
    const n = integer('BPF_PROG_GET_FD_BY_ID', 'id', id, 1, U32_MAX);
    const c = core();
    return Program.#adopt(c, fdById(c, ObjectKind.Program, n));
  }

  /**
   * Takes ownership of a program fd obtained elsewhere (it is closed with the Program, and
   * on failure). Requires Linux 4.13.
   */
  static fromFd(fd: number): Program {
    const n = integer(INFO, 'fd', fd, 0, 0x7fffffff);
    const what = fdObjectType(n);
    const c = core();
    if (what !== undefined && what !== 'prog') {
      c.closeFd(n);
      throw new BpfError({ command: INFO, errno: EINVAL, reason: `fd ${n} is a ${what}, not a program`, advice: '' });
    }
    return Program.#adopt(c, n);
  }

  /** Wraps an fd: its type and name come from the kernel. Closes the fd on failure. */
  static #adopt(c: Core, fd: number): Program {
    let info: ProgramInfo;
    try {
      info = readInfo(c, fd, 0);
    } catch (e) {
      c.closeFd(fd);
      throw e;
    }
    const prog = new Program(TOKEN, fd, info.type, info.name, c);
    prog.#id = info.id;
    return prog;
  }

  /**
   * The ids of every program loaded in the kernel, in increasing order, read lazily:
   * programs may come and go while iterating. Requires Linux 4.13.
   */
  static ids(): Generator<number> {
    return objectIds(core(), ObjectKind.Program);
  }

  /**
   * Makes the kernel count runs and run time of every program (ProgramInfo.runCount and
   * runTime) until the returned handle is closed. Collecting costs a little on every run.
   * Requires Linux 5.8.
   */
  static enableStats(type: StatsType = StatsType.RunTime): StatsHandle {
    const t = integer('BPF_ENABLE_STATS', 'type', type, 0, U32_MAX);
    const c = core();
    return new StatsHandle(c.check(c.fn.tsbpf_enable_stats(t)), c);
  }

  /**
   * The programs attached to a container fd (a cgroup directory opened with
   * fs.openSync(dir, 'r'), a socket map, ...) for one attach type. With
   * `effective`, a cgroup's list includes what it inherits. Requires Linux 4.15.
   */
  static query(target: number, type: AttachType, opts: { effective?: boolean } = {}): AttachedPrograms {
    const cmd = 'BPF_PROG_QUERY';
    checkKeys(cmd, 'query options', opts, ['effective']);
    const fd = integer(cmd, 'target', target, 0, 0x7fffffff);
    const at = attachType(cmd, 'attachType', type);
    const c = core();
    const q = c.struct(QueryS);
    c.setU32(q, QueryS.target_fd, fd);
    c.setU32(q, QueryS.attach_type, at);
    c.setU32(q, QueryS.query_flags, opts.effective ? TSBPF_QUERY_EFFECTIVE : 0);
    c.check(c.fn.tsbpf_prog_query(q as Ptr<'tsbpf_prog_query'>));
    return {
      ids: u32Array(c, c.u32(q, QueryS.prog_ids), c.u32(q, QueryS.count)),
      attachFlags: c.u32(q, QueryS.attach_flags),
      revision: Number(c.u64(q, QueryS.revision)),
    };
  }

  /** Removes the BPF filter from a socket (SO_DETACH_BPF). ENOENT when it has none. */
  static detachSocket(socket: number): void {
    const fd = integer('SO_DETACH_BPF', 'socket', socket, 0, 0x7fffffff);
    const r = native().setsockopt(fd, SOL_SOCKET, SO_DETACH_BPF, new Uint8Array(4));
    if (r < 0) throw new BpfError({ command: 'SO_DETACH_BPF', errno: -r, reason: `cannot detach the filter of socket fd ${fd}` });
  }

  /** The program's id, unique while it is loaded. Requires Linux 4.13. */
  get id(): number {
    if (this.#id === 0) this.#id = readInfo(this.#core, this.fd, 0).id;
    return this.#id;
  }

  /** The path this handle pinned or was opened from, if any. */
  get pinnedPath(): string | undefined {
    return this.#pinned;
  }

  /**
   * What the kernel knows about the program: type, name, tag, id, load time, map ids,
   * sizes, translated instructions, verifier and run statistics. Requires Linux 4.13.
   */
  info(): ProgramInfo {
    return readInfo(this.#core, this.fd, TSBPF_PROG_INFO_WANT_MAP_IDS | TSBPF_PROG_INFO_WANT_XLATED);
  }

  /** Run count and time; zero unless statistics are enabled ({@link Program.enableStats}). Requires Linux 5.8. */
  stats(): ProgramStats {
    const i = readInfo(this.#core, this.fd, 0);
    if (i.runCount === undefined || i.runTime === undefined)
      throw new NotSupportedError({ feature: 'program run statistics', minKernel: '5.1', command: INFO, errno: 0 });
    return { runCount: i.runCount, runTime: i.runTime, recursionMisses: i.recursionMisses ?? 0n };
  }

  /**
   * Pins the program at `path`, which must be on a bpffs mount (/sys/fs/bpf/...). Pinning
   * again at another path moves the pin. Requires Linux 4.4.
   */
  pin(path: string): void {
    const p = cStringArg('BPF_OBJ_PIN', 'path', path);
    if (p === this.#pinned) return;
    pinFd(this.#core, this.fd, p);
    const old = this.#pinned;
    this.#pinned = p;
    if (old !== undefined) unpinPath(old);
  }

  /** Removes the pin this handle made or was opened from. Does nothing when there is none. */
  unpin(): void {
    if (this.#pinned === undefined) return;
    unpinPath(this.#pinned);
    this.#pinned = undefined;
  }

  /** A second handle on the same program (a new close-on-exec fd), closed independently. */
  clone(): Program {
    const c = this.#core;
    const prog = new Program(TOKEN, c.dupFd(this.fd, 'clone'), this.type, this.name, c, this.verifierLog);
    prog.#id = this.#id;
    return prog;
  }

  /**
   * The program as a value of a program array map (BPF_MAP_TYPE_PROG_ARRAY) update: its fd
   * in 4 native-endian bytes. The map keeps its own reference; close the Program whenever.
   */
  marshalBinary(): Uint8Array {
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, this.fd, LITTLE_ENDIAN);
    return out;
  }

  /**
   * Attaches the program to a container fd (a cgroup directory, a socket map, a network
   * namespace) for `type`. `flags` are {@link AttachFlags}; `replace` swaps an attached
   * program in place. The attachment outlives this handle: undo it with detach().
   * Requires Linux 4.10.
   */
  attach(target: number, type: AttachType, flags = 0, replace?: Program): void {
    const cmd = 'BPF_PROG_ATTACH';
    const fd = integer(cmd, 'target', target, 0, 0x7fffffff);
    const at = attachType(cmd, 'attachType', type);
    const f = integer(cmd, 'flags', flags, 0, U32_MAX);
    if (replace !== undefined && !(replace instanceof Program))
      throw invalid(cmd, `"replace" must be a Program, got ${describe(replace)}`);
    const c = this.#core;
    c.check(c.fn.tsbpf_prog_attach(fd, this.fd, at, f, replace ? replace.fd : 0));
  }

  /** Detaches the program from a container fd. ENOENT when it is not attached there. Requires Linux 4.10. */
  detach(target: number, type: AttachType): void {
    const cmd = 'BPF_PROG_DETACH';
    const fd = integer(cmd, 'target', target, 0, 0x7fffffff);
    const at = attachType(cmd, 'attachType', type);
    const c = this.#core;
    c.check(c.fn.tsbpf_prog_detach(fd, this.fd, at));
  }

  /**
   * Attaches this socket filter to a socket fd (SO_ATTACH_BPF): the socket then receives
   * only what the program lets through, cut to the length it returns (0 drops).
   * Replaces an earlier filter. Requires Linux 3.19.
   */
  attachSocket(socket: number): void {
    const cmd = 'SO_ATTACH_BPF';
    const fd = integer(cmd, 'socket', socket, 0, 0x7fffffff);
    const value = new Uint8Array(4);
    new DataView(value.buffer).setInt32(0, this.fd, LITTLE_ENDIAN);
    const r = native().setsockopt(fd, SOL_SOCKET, SO_ATTACH_BPF, value);
    if (r < 0) throw new BpfError({ command: cmd, errno: -r, reason: `cannot attach program ${this.name || `fd ${this.fd}`} to socket fd ${fd}` });
  }

  /** Runs the program once on `input` and returns r0 and the packet it left. Requires Linux 4.12. */
  test(input: Uint8Array): TestResult {
    const data = bytes(RUN, 'input', input);
    const plan = this.#plan(data, true);
    if (plan?.run(data, 1)) return { retval: plan.retval, data: this.#core.bytes(plan.outPtr, plan.outLength) };
    const r = this.#testRun(data, undefined, 1, true);
    return { retval: r.retval, data: r.data };
  }

  /**
   * Runs the program `repeat` times in the kernel and returns the mean time per run.
   * Interrupted runs (EINTR) are restarted. Requires Linux 4.12.
   */
  benchmark(input: Uint8Array, repeat: number): BenchmarkResult {
    const n = repeatCount(repeat, 1);
    const data = bytes(RUN, 'input', input);
    const plan = n <= U32_MAX ? this.#plan(data, false) : undefined;
    if (plan?.run(data, n)) return { retval: plan.retval, nsPerRun: plan.duration, repeat: n };
    const r = this.#testRun(data, undefined, n, false);
    return { retval: r.retval, nsPerRun: r.duration, repeat: n };
  }

  /**
   * The replayed test run for packets like `data`, planned on first use (and again for a
   * larger packet); undefined when the core's path must take it: an empty or large packet,
   * or a host that cannot replay requests.
   */
  #plan(data: Uint8Array, wantOut: boolean): TestRunPlan | undefined {
    if (data.length === 0 || data.length > PLAN_MAX_INPUT) return undefined;
    const i = wantOut ? 1 : 0;
    let plan = this.#plans[i];
    if (plan === null) return undefined;
    if (plan && data.length <= plan.capacity) return plan;
    plan?.free();
    // Room for the packets seen so far, rounded up, so that sizes in a loop plan once.
    const capacity = Math.min(PLAN_MAX_INPUT, Math.max(256, 2 ** Math.ceil(Math.log2(data.length))));
    plan = TestRunPlan.create(this.#core, this.fd, capacity, wantOut, this) ?? null;
    this.#plans[i] = plan;
    return plan ?? undefined;
  }

  /** Closes the program's fd (and frees its planned test runs). Calling it again does nothing. */
  override close(): void {
    for (let i = 0; i < this.#plans.length; i++) {
      this.#plans[i]?.free();
      this.#plans[i] = undefined;
    }
    super.close();
  }

  /**
   * BPF_PROG_TEST_RUN with every option. Requires Linux 4.12 (context: 5.2, cpu: 5.10,
   * XDP live frames and batch size: 5.18).
   */
  run(opts: RunOptions): RunResult {
    checkKeys(RUN, 'RunOptions', opts, RUN_KEYS);
    const data = opts.data === undefined ? undefined : bytes(RUN, 'data', opts.data);
    const context = opts.context === undefined ? undefined : bytes(RUN, 'context', opts.context);
    return this.#testRun(data ?? new Uint8Array(0), context, repeatCount(opts.repeat === undefined ? 0 : opts.repeat, 0), true, opts);
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
    // What the program type does with the context: raw tracepoints refuse a ctx_out
    // buffer, syscall programs write the context back into ctx_in.
    const inPlace = this.type === ProgramType.Syscall;
    const ctxOut = wantOut && !!context && !(opts?.contextOutSize === 0) && !RAW_TRACEPOINTS.has(this.type);

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
      c.setU32(o, RunOpts.want_ctx_out, ctxOut ? 1 : 0);
      c.setU32(o, RunOpts.ctx_in_place, inPlace && ctxOut ? 1 : 0);
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
    const ctxOutPtr = c.u32(o, RunOpts.ctx_out);
    return {
      retval: c.u32(o, RunOpts.retval),
      duration: c.u32(o, RunOpts.duration),
      data: wantOut ? c.bytes(c.u32(o, RunOpts.data_out), c.u32(o, RunOpts.data_size_out)) : EMPTY,
      context: ctxOutPtr ? c.bytes(ctxOutPtr, c.u32(o, RunOpts.ctx_size_out)) : undefined,
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

  override toString(): string {
    const type = ProgramTypeNames[this.type] ?? `type ${this.type}`;
    return `Program(${type}${this.name ? ` ${this.name}` : ''}, ${this.closed ? 'closed' : `fd ${this.fd}`})`;
  }
}

/** The fd of {@link Program.enableStats}: statistics are collected while it is open. */
export class StatsHandle extends FdHandle {
  /** @internal */
  constructor(fd: number, c: Core) {
    super(fd, c);
  }

  protected get kind(): string {
    return 'statistics handle';
  }
}

/**
 * @internal What a collection load adds to a program load: the object's BTF (its fd, and
 * the program's func_info and line_info records against it), the fds of fd_array.
 */
export interface LoadExtras {
  btfFd?: number;
  /** struct bpf_func_info records, 8 bytes each. */
  funcInfo?: Uint8Array;
  /** struct bpf_line_info records, 16 bytes each. */
  lineInfo?: Uint8Array;
  fdArray?: readonly number[];
}

/** @internal Program.load with the extras of a collection load. */
export function loadProgram(spec: ProgramSpec, extras: LoadExtras | undefined): Program {
  // The implementation's signature: the public one leaves the internal parameter out.
  const load = Program.load as (spec: ProgramSpec, extras?: LoadExtras) => Program;
  return load.call(Program, spec, extras);
}

/** Stages the extras (after the opts struct is filled: staging may move Wasm memory, so fields are set by offset). */
function stageExtras(c: Core, o: number, x: LoadExtras): void {
  const fi = x.funcInfo && x.funcInfo.length ? c.stage(x.funcInfo) : 0;
  const li = x.lineInfo && x.lineInfo.length ? c.stage(x.lineInfo) : 0;
  let fds = 0;
  if (x.fdArray && x.fdArray.length) {
    const b = new Uint8Array(x.fdArray.length * 4);
    const dv = new DataView(b.buffer);
    x.fdArray.forEach((fd, i) => dv.setInt32(i * 4, fd, true));
    fds = c.stage(b);
  }
  if (x.btfFd) c.setU32(o, LoadOpts.prog_btf_fd, x.btfFd);
  if (fi) {
    c.setU32(o, LoadOpts.func_info_rec_size, 8);
    c.setU32(o, LoadOpts.func_info, fi);
    c.setU32(o, LoadOpts.func_info_cnt, x.funcInfo!.length / 8);
  }
  if (li) {
    c.setU32(o, LoadOpts.line_info_rec_size, 16);
    c.setU32(o, LoadOpts.line_info, li);
    c.setU32(o, LoadOpts.line_info_cnt, x.lineInfo!.length / 16);
  }
  if (fds) {
    c.setU32(o, LoadOpts.fd_array, fds);
    c.setU32(o, LoadOpts.fd_array_cnt, x.fdArray!.length);
  }
}

const EMPTY = Buffer.alloc(0);
const NO_LOG: readonly string[] = Object.freeze([]);
const SPEC_KEY_SET: ReadonlySet<string> = new Set(SPEC_KEYS);

/** Unknown keys are errors (a misspelt option must not be ignored); no allocation when all are known. */
function checkSpecKeys(spec: ProgramSpec): void {
  if (typeof spec !== 'object' || spec === null) throw invalid(LOAD, 'ProgramSpec must be an object');
  for (const key in spec) if (!SPEC_KEY_SET.has(key)) checkKeys(LOAD, 'ProgramSpec', spec, SPEC_KEYS);
}

/** NUL-terminated UTF-8, remembered for the last few strings (licenses and names repeat). */
const cStrings = new Map<string, Uint8Array>();
function cString(s: string): Uint8Array {
  let b = cStrings.get(s);
  if (b === undefined) {
    const utf8 = Buffer.from(s, 'utf8');
    b = new Uint8Array(utf8.length + 1);
    b.set(utf8);
    if (cStrings.size >= 16) cStrings.clear();
    cStrings.set(s, b);
  }
  return b;
}
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const RAW_TRACEPOINTS: ReadonlySet<number> = new Set([ProgramType.RawTracepoint, ProgramType.RawTracepointWritable]);

/** A program type the generated table knows, other than BPF_PROG_TYPE_UNSPEC. */
function programType(value: unknown): ProgramType {
  const t = integer(LOAD, 'type', value, 0, U32_MAX);
  if (t === ProgramType.Unspec) throw invalid(LOAD, '"type" is BPF_PROG_TYPE_UNSPEC: choose a ProgramType such as ProgramType.SocketFilter');
  if (ProgramTypeNames[t] === undefined)
    throw invalid(LOAD, `"type" ${t} is not a program type (known: 1 to ${maxKey(ProgramTypeNames)}, see ProgramType)`);
  return t as ProgramType;
}

function attachType(command: string, name: string, value: unknown): AttachType {
  const t = integer(command, name, value, 0, U32_MAX);
  if (AttachTypeNames[t] === undefined)
    throw invalid(command, `"${name}" ${t} is not an attach type (known: 0 to ${maxKey(AttachTypeNames)}, see AttachType)`);
  return t as AttachType;
}

function maxKey(table: Readonly<Record<number, string>>): number {
  return Math.max(...Object.keys(table).map(Number));
}

/** The instructions of a spec as bytecode. */
function bytecode(instructions: unknown, maps: ProgramSpec['maps']): Uint8Array {
  if (instructions instanceof Uint8Array) {
    if (instructions.length % 8 !== 0)
      throw invalid(LOAD, `"instructions" holds ${instructions.length} bytes, not a multiple of 8 (one instruction slot)`);
    return instructions;
  }
  if (Array.isArray(instructions)) return assemble(instructions, { maps });
  throw invalid(LOAD, '"instructions" must be an array of asm instructions or a Uint8Array of bytecode');
}

function u32Array(c: Core, p: number, n: number): number[] {
  const out = new Array<number>(n);
  const dv = c.mem.dv;
  for (let i = 0; i < n; i++) out[i] = dv.getUint32(p + 4 * i, true);
  return out;
}

function readInfo(c: Core, fd: number, want: number): ProgramInfo {
  const p = c.struct(InfoS);
  c.setU32(p, InfoS.want, want);
  c.check(c.fn.tsbpf_prog_get_info(fd, p as Ptr<'tsbpf_prog_info'>));
  const have = c.u32(p, InfoS.have);
  const has = (bit: number): boolean => (have & bit) !== 0;
  const tag = Buffer.from(c.bytes(p + InfoS.tag.off, 8)).toString('hex');
  const xlatedPtr = c.u32(p, InfoS.xlated);
  const xlatedSize = c.u32(p, InfoS.xlated_prog_len);
  const xlated =
    want & TSBPF_PROG_INFO_WANT_XLATED && !has(TSBPF_PROG_INFO_XLATED_WITHHELD) && xlatedPtr
      ? new Uint8Array(c.bytes(xlatedPtr, xlatedSize))
      : undefined;
  let decoded: Instruction[] | undefined;
  return {
    type: c.u32(p, InfoS.type) as ProgramType,
    id: c.u32(p, InfoS.id),
    name: c.cstring(p + InfoS.name.off, 16),
    tag,
    loadTime: has(TSBPF_PROG_INFO_HAVE_MAP_IDS) ? c.u64(p, InfoS.load_time) : undefined,
    createdByUid: has(TSBPF_PROG_INFO_HAVE_MAP_IDS) ? c.u32(p, InfoS.created_by_uid) : undefined,
    mapIds:
      want & TSBPF_PROG_INFO_WANT_MAP_IDS && has(TSBPF_PROG_INFO_HAVE_MAP_IDS)
        ? u32Array(c, c.u32(p, InfoS.map_ids), c.u32(p, InfoS.nr_map_ids))
        : undefined,
    jitedSize: c.u32(p, InfoS.jited_prog_len),
    xlatedSize,
    xlated,
    get instructions() {
      // Jumps in a rewritten program may point anywhere the kernel put them: decode as a fragment.
      if (xlated && !decoded) decoded = decode(xlated, { fragment: true });
      return decoded;
    },
    verifiedInstructions: has(TSBPF_PROG_INFO_HAVE_VERIFIED) ? c.u32(p, InfoS.verified_insns) : undefined,
    runCount: has(TSBPF_PROG_INFO_HAVE_RUN_STATS) ? c.u64(p, InfoS.run_cnt) : undefined,
    runTime: has(TSBPF_PROG_INFO_HAVE_RUN_STATS) ? c.u64(p, InfoS.run_time_ns) : undefined,
    recursionMisses: has(TSBPF_PROG_INFO_HAVE_RECURSION) ? c.u64(p, InfoS.recursion_misses) : undefined,
    btfId: has(TSBPF_PROG_INFO_HAVE_BTF) ? c.u32(p, InfoS.btf_id) : undefined,
    gplCompatible: c.u32(p, InfoS.gpl_compatible) !== 0,
    attachBtfObjId: has(TSBPF_PROG_INFO_HAVE_ATTACH_BTF) ? c.u32(p, InfoS.attach_btf_obj_id) : undefined,
    attachBtfId: has(TSBPF_PROG_INFO_HAVE_ATTACH_BTF) ? c.u32(p, InfoS.attach_btf_id) : undefined,
  };
}

/** A repeat count; the upper bound (u32) is the core's to enforce. */
function repeatCount(value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min)
    throw invalid(RUN, `"repeat" must be an integer of at least ${min}, got ${describe(value)}`);
  return value;
}

/** The verifier log the core left, line by line. */
function logLines(c: Core, o: number): string[] {
  const len = c.u32(o, LoadOpts.log_len);
  if (len === 0) return [];
  const log = c.cstring(c.u32(o, LoadOpts.log), len).split('\n');
  while (log.length && log[log.length - 1] === '') log.pop();
  return log;
}

/** The error of a failed load: VerifierError when the kernel left a log. */
function loadError(c: Core, o: number, ret: number, name: string, type: ProgramType): BpfError {
  const base = c.error(ret);
  const log = logLines(c, o);
  if (log.length === 0) {
    if (base.code !== 'EINVAL' || c.fn.tsbpf_last_kernel_error() === 0) return base;
    // An empty log with EINVAL: the verifier never ran, the attributes were refused.
    return new BpfError({
      command: LOAD,
      errno: base.errno,
      reason: `the kernel refused to load a ${ProgramTypeNames[type] ?? `type ${type}`} program${name ? ` "${name}"` : ''} before verifying it`,
      cause: base,
    });
  }
  return new VerifierError({
    command: LOAD,
    errno: base.errno,
    reason: name ? `the verifier rejected program "${name}"` : 'the verifier rejected the program',
    log,
    truncated: c.u32(o, LoadOpts.log_truncated) !== 0,
    cause: base,
  });
}
