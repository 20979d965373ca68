/**
 * Errors of tsbpf. Every failure is a {@link BpfError} carrying the bpf command, the errno
 * and its symbolic code, and a message that says what to do. The errno ↔ meaning table and
 * the advice for each errno live here and nowhere else.
 */
import { constants as osConstants } from 'node:os';
import { BpfCommandNames } from './generated/uapi.js';

/** The kernel's internal ENOTSUPP, which bpf(2) leaks to user space; libc has no name for it. */
export const ENOTSUPP = 524;

const errnoByName: Readonly<Record<string, number>> = { ...osConstants.errno, ENOTSUPP };
const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(errnoByName)) {
  // os.constants lists aliases (EWOULDBLOCK = EAGAIN, EDEADLOCK = EDEADLK): keep the first,
  // except that 95 is EOPNOTSUPP, the name the kernel's headers and strerror use (not ENOTSUP).
  if (!errnoNames.has(value) || name === 'EOPNOTSUPP') errnoNames.set(value, name);
}

/** The symbolic name of an errno value ('EPERM'), or 'E<number>' when unknown. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

/** The errno value of a symbolic name, or undefined. */
export function errnoValue(name: string): number | undefined {
  return errnoByName[name];
}

const descriptions: Record<string, string> = {
  EPERM: 'operation not permitted',
  ENOENT: 'no such entry',
  ESRCH: 'no such process',
  EINTR: 'interrupted',
  EIO: 'I/O error',
  ENXIO: 'no such device or address',
  E2BIG: 'argument too big',
  EBADF: 'bad file descriptor',
  EAGAIN: 'try again',
  ENOMEM: 'out of memory',
  EACCES: 'permission denied',
  EFAULT: 'bad address',
  EBUSY: 'busy',
  EEXIST: 'already exists',
  ENODEV: 'no such device',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EINVAL: 'invalid argument',
  ENOSPC: 'no space left',
  ERANGE: 'out of range',
  ENAMETOOLONG: 'name too long',
  ELOOP: 'too many levels of symbolic links',
  EOPNOTSUPP: 'operation not supported',
  ENOTSUPP: 'not supported by this kernel',
  ENOSYS: 'function not implemented',
  ENOTEMPTY: 'not empty',
  EMFILE: 'too many open files',
  ENOTSOCK: 'not a socket',
};

/** Advice for an errno, given the command that produced it. One function, one table. */
export function adviceFor(command: string, code: string): string {
  switch (code) {
    case 'EPERM':
      return command === 'BPF_OBJ_PIN' || command === 'BPF_OBJ_GET'
        ? 'check that the path is on a bpffs mount (mount -t bpf bpf /sys/fs/bpf) and that you may write there'
        : 'run as root or grant CAP_BPF and CAP_SYS_ADMIN (CAP_PERFMON for tracing, CAP_NET_ADMIN for networking ' +
            'program types and attaching); on kernels before 5.11 also raise RLIMIT_MEMLOCK (ulimit -l unlimited)';
    case 'EACCES':
      return command === 'BPF_PROG_LOAD'
        ? 'the verifier rejected the program: read the verifier log'
        : 'check the permissions of the object or path';
    case 'E2BIG':
      if (command === 'BPF_PROG_LOAD')
        return 'the program has more instructions than this kernel accepts (4,096 without CAP_BPF or before 5.2, ' +
          '1 million with it), or sets a field this kernel is too old to know: split it with bpf-to-bpf calls or ' +
          'tail calls, or leave the newer option unset';
      if (command === 'BPF_PROG_TEST_RUN') return 'an input is larger than the kernel accepts (batchSize is at most 256)';
      // Element commands: the map is full, or an index is past the end of an array.
      if (command.startsWith('BPF_MAP_') && command !== 'BPF_MAP_CREATE')
        return 'delete entries, raise maxEntries, or use an LRU map that evicts old entries';
      return 'the request is larger than this kernel accepts: a field may be newer than the kernel';
    case 'EINVAL':
      switch (command) {
        case 'BPF_PROG_LOAD':
          return 'check that this kernel knows the program type and accepts its flags; cgroup socket-address hooks ' +
            'need expectedAttachType, tracing, LSM and extension programs need attachBtfId (and a target)';
        case 'BPF_PROG_TEST_RUN':
          return 'this program type takes other inputs: packets need at least 14 bytes, raw tracepoints take only ' +
            'a context, and flags, cpu and batchSize apply to some types only';
        case 'BPF_PROG_ATTACH':
        case 'BPF_PROG_DETACH':
        case 'BPF_PROG_QUERY':
          return 'the attach type must suit the program type (and its expectedAttachType), and the target fd must be ' +
            'a container of that kind, such as a cgroup v2 directory for cgroup hooks';
        case 'SO_ATTACH_BPF':
          return 'only socket filter programs (ProgramType.SocketFilter) attach to sockets';
        default:
          return 'the kernel rejected an argument: check types, sizes and flags against what this kernel supports';
      }
    case 'ENOSPC':
      return command === 'BPF_PROG_LOAD'
        ? 'the verifier log did not fit: give a larger logSize'
        : 'the map is full or the buffer is too small';
    case 'EFAULT':
      return 'the kernel could not read or write a buffer: this is a bug in tsbpf, please report it';
    case 'EBADF':
      return 'the file descriptor is not open or is not a BPF object of the right kind';
    case 'ENOENT':
      if (command === 'BPF_PROG_DETACH') return 'the program is not attached to that target with that attach type';
      if (command === 'SO_DETACH_BPF') return 'the socket has no BPF filter attached';
      return 'the object does not exist (or is gone): check the id, key or path';
    case 'EEXIST':
      return command === 'BPF_PROG_ATTACH'
        ? 'a program is already attached there: attach with AttachFlags.AllowMulti (or AllowOverride), or pass the program to replace'
        : 'the object already exists: use another name, key or flag';
    case 'ENOMEM':
      return 'the kernel is out of memory for BPF objects: free some or raise RLIMIT_MEMLOCK on old kernels';
    case 'EMFILE':
      return 'the process has too many open file descriptors: close handles you no longer need';
    case 'ENOTSOCK':
      return 'the file descriptor is not a socket';
    case 'ENOTSUPP':
    case 'EOPNOTSUPP':
      return 'this kernel does not support the operation for this object type';
    case 'EBUSY':
      return 'the object is in use: detach or close what holds it';
    default:
      return '';
  }
}

export interface BpfErrorOptions {
  /** The bpf command, such as 'BPF_PROG_LOAD', or the name of the operation. */
  command: string;
  /** The errno value; 0 when no syscall was made and no errno applies. */
  errno: number;
  /** What went wrong, in words. */
  reason: string;
  /** What to do about it; defaults to the advice for the errno. */
  advice?: string;
  cause?: unknown;
}

/** A failure of a bpf operation: command, errno, its code and actionable advice. */
export class BpfError extends Error {
  /** The bpf command ('BPF_PROG_LOAD') or operation the error belongs to. */
  readonly command: string;
  /** The errno value (0 when none applies). */
  readonly errno: number;
  /** The symbolic errno ('EPERM'). */
  readonly code: string;
  /** The reason, without command and advice. */
  readonly reason: string;

  constructor(opts: BpfErrorOptions) {
    const code = opts.errno ? errnoName(opts.errno) : 'EINVAL';
    const advice = opts.advice ?? adviceFor(opts.command, code);
    const what = descriptions[code] ? `${descriptions[code]} (${code})` : code;
    super(`${opts.command}: ${opts.reason}: ${what}${advice ? `. ${advice}` : ''}`, { cause: opts.cause });
    this.name = 'BpfError';
    this.command = opts.command;
    this.errno = opts.errno || (errnoByName.EINVAL as number);
    this.code = code;
    this.reason = opts.reason;
  }
}

/** How many log lines {@link VerifierError.message} shows at most. */
const MESSAGE_LOG_LINES = 2;

/** A program the verifier rejected. `log` holds the whole verifier log, one entry per line. */
export class VerifierError extends BpfError {
  readonly log: string[];
  /** True when the kernel's log did not fit in the largest buffer tsbpf tried. */
  readonly truncated: boolean;

  constructor(opts: BpfErrorOptions & { log: string[]; truncated: boolean }) {
    super({ ...opts, reason: `${opts.reason}: ${summarize(opts.log, opts.truncated)}`, advice: opts.advice ?? '' });
    this.name = 'VerifierError';
    this.log = opts.log;
    this.truncated = opts.truncated;
  }
}

/**
 * The last meaningful line of the log, plus the line before it when that one gives the
 * context (the verifier prints the failing instruction, then the reason), and how many
 * lines were left out.
 */
function summarize(log: string[], truncated: boolean): string {
  const lines = log.map((l) => l.trimEnd()).filter((l) => l.length > 0);
  // The verifier ends with statistics ("processed N insns ..."), which say nothing about the error.
  while (lines.length > 1 && /^(processed \d+ insns|verification time|stack depth)/.test(lines[lines.length - 1]!))
    lines.pop();
  if (lines.length === 0) return truncated ? 'verifier log truncated' : 'empty verifier log';
  const shown = lines.slice(-MESSAGE_LOG_LINES);
  const omitted = log.length - shown.length;
  return `${shown.join(' / ')}${omitted > 0 ? ` (${omitted} lines omitted${truncated ? ', log truncated' : ''})` : ''}`;
}

/**
 * A feature is missing: the kernel lacks it (`minKernel` names the first release with it),
 * or tsbpf does not implement it yet (`reason` and `advice` then say so, and `minKernel`
 * is empty). `feature` names it.
 */
export class NotSupportedError extends BpfError {
  readonly feature: string;
  readonly minKernel: string;

  constructor(opts: { feature: string; minKernel: string; command: string; errno: number; cause?: unknown; reason?: string; advice?: string }) {
    super({
      command: opts.command,
      errno: opts.errno || ENOTSUPP,
      reason: opts.reason ?? `${opts.feature} is not supported by this kernel`,
      advice: opts.advice ?? `it needs Linux ${opts.minKernel} or later`,
      cause: opts.cause,
    });
    this.name = 'NotSupportedError';
    this.feature = opts.feature;
    this.minKernel = opts.minKernel;
  }
}

/** The name of a bpf command number, for error messages. */
export function commandName(cmd: number): string {
  return BpfCommandNames[cmd] ?? `bpf command ${cmd}`;
}
