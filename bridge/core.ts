/**
 * Loads core.wasm and wraps it: ABI handshake, the host behind its one import, typed access
 * to its exports, and the small amount of memory plumbing every caller needs (staging
 * buffers, reading structs and strings, turning a failure into a BpfError).
 */
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { BpfError, commandName, errnoValue } from '../src/errors.js';
import {
  ABI_VERSION,
  EXPORTED_FUNCTIONS,
  TSBPF_ERR_BASE,
  TSBPF_ERR_FORMAT,
  TSBPF_ERR_INTERNAL,
  TSBPF_ERR_KERNEL,
  TSBPF_ERR_LABEL,
  TSBPF_ERR_MAX,
  TSBPF_ERR_NOMEM,
  TSBPF_ERR_NOTSUP,
  TSBPF_ERR_RELOC,
  type CoreFunctions,
  type Field,
  type Ptr,
  type StructLayout,
} from './generated/abi.js';
import { adaptHost, type Host, type RawHost } from './host.js';
import { WasmMemory } from './memory.js';
import { Wasm, type WasmMemoryObject, type WasmModuleObject } from './wasm_api.js';
import { envVar, nativeForRuntime, type Native } from './native.js';
import { SyscallHost } from './syscall_host.js';

/** Imports core.wasm may have, each with the reason it exists. Anything else is refused. */
export const ALLOWED_IMPORTS: Readonly<Record<string, string>> = {
  'env.host_bpf': 'the one kernel entry point: bpf(2) with pointer fix-ups',
  'env.emscripten_notify_memory_growth': 'memory grew: refresh the views of Wasm memory',
};

/** errno and code of each core-specific error (negative TSBPF_ERR_* returns). */
const CORE_ERRORS: Record<number, { errno: string; what: string }> = {
  [TSBPF_ERR_FORMAT]: { errno: 'EINVAL', what: 'malformed input' },
  [TSBPF_ERR_RELOC]: { errno: 'EINVAL', what: 'relocation failed' },
  [TSBPF_ERR_LABEL]: { errno: 'EINVAL', what: 'unknown label' },
  [TSBPF_ERR_NOMEM]: { errno: 'ENOMEM', what: 'out of core memory' },
  [TSBPF_ERR_INTERNAL]: { errno: 'EFAULT', what: 'internal error' },
  [TSBPF_ERR_KERNEL]: { errno: 'EIO', what: 'unexpected kernel answer' },
  [TSBPF_ERR_NOTSUP]: { errno: 'ENOTSUPP', what: 'not supported' },
};

let compiled: WasmModuleObject | undefined;

/** How the syscall host hands buffers to the kernel: 'zero-copy' (default) or 'copy'. */
export function bridgeMode(): 'zero-copy' | 'copy' {
  const mode = envVar('TSBPF_BRIDGE') ?? 'zero-copy';
  if (mode !== 'zero-copy' && mode !== 'copy') throw new Error(`tsbpf: TSBPF_BRIDGE=${mode} is not "zero-copy" or "copy"`);
  return mode;
}

/** Where core.wasm sits: next to dist/ in a package, or in the build tree in a checkout. */
function wasmCandidates(): URL[] {
  return [
    new URL('../core.wasm', import.meta.url), // dist/bridge/core.js -> dist/core.wasm
    new URL('../../build/wasm/core.wasm', import.meta.url), // dist/bridge in a checkout
    new URL('../build/wasm/core.wasm', import.meta.url), // bridge/ run from source
  ];
}

/** The compiled core.wasm, compiled once per process. */
export function coreModule(): WasmModuleObject {
  if (compiled) return compiled;
  const override = envVar('TSBPF_CORE_WASM');
  const candidates = override ? [new URL(`file://${override}`)] : wasmCandidates();
  let bytes: Uint8Array | undefined;
  let refused: Error | undefined;
  for (const url of candidates) {
    try {
      bytes = readFileSync(url);
      break;
    } catch (e) {
      // Try the next place; remember a refusal other than absence (Deno without --allow-read).
      if ((e as { code?: string }).code !== 'ENOENT') refused ??= e as Error;
    }
  }
  if (!bytes) {
    const where = candidates.map((u) => u.pathname).join(', ');
    if (refused) throw new Error(`tsbpf: cannot read core.wasm (looked at ${where}): ${refused.message}`, { cause: refused });
    throw new Error(`tsbpf: core.wasm not found (looked at ${where}); run make build`);
  }
  compiled = new Wasm.Module(bytes);
  return compiled;
}

export interface CoreOptions {
  /** The host behind host_bpf; defaults to real syscalls through the runtime's FFI. */
  host?: RawHost | Host;
}

/** An instance of core.wasm bound to a host. */
export class Core {
  readonly fn: CoreFunctions;
  readonly mem: WasmMemory;
  readonly host: RawHost;
  private arenaPtr = 0;
  private arenaCap = 0;
  private arenaUsed = 0;
  private readonly arenaSpill: number[] = [];
  private readonly structs: Record<string, number> = Object.create(null);
  /** Features known to be present, by feature id: the fast path of requireFeature(). */
  readonly supported: boolean[] = [];

  constructor(opts: CoreOptions = {}) {
    const module = coreModule();
    // TSBPF_BRIDGE=copy makes the kernel work on native copies instead of Wasm memory itself.
    const host = opts.host ?? new SyscallHost(nativeForRuntime(), { zeroCopy: bridgeMode() !== 'copy' });
    this.host = 'hostBpf' in host ? host : adaptHost(host);
    for (const imp of Wasm.Module.imports(module)) {
      const name = `${imp.module}.${imp.name}`;
      if (!(name in ALLOWED_IMPORTS)) throw new Error(`tsbpf: core.wasm imports ${name}, which the bridge does not provide`);
    }
    let mem: WasmMemory | undefined;
    const instance = new Wasm.Instance(module, {
      env: {
        host_bpf: (cmd: number, attrPtr: number, attrSize: number, fixupsPtr: number, nFixups: number) =>
          this.host.hostBpf(mem!, cmd, attrPtr >>> 0, attrSize >>> 0, fixupsPtr >>> 0, nFixups >>> 0),
        emscripten_notify_memory_growth: () => mem?.refresh(),
      },
    });
    const exports = instance.exports as unknown as CoreFunctions & { memory: WasmMemoryObject; _initialize(): void };
    mem = new WasmMemory(exports.memory);
    this.mem = mem;
    exports._initialize();
    for (const name of EXPORTED_FUNCTIONS) {
      if (typeof exports[name] !== 'function') throw new Error(`tsbpf: core.wasm does not export ${name}`);
    }
    this.fn = exports;
    const version = this.fn.tsbpf_abi_version();
    if (version !== ABI_VERSION)
      throw new Error(`tsbpf: core.wasm has ABI version ${version}, this bridge needs ${ABI_VERSION}: rebuild with make build`);
  }

  // ---- memory ---------------------------------------------------------------------------

  malloc(size: number): number {
    const p = this.fn.tsbpf_malloc(size);
    if (p === 0) throw new BpfError({ command: 'tsbpf', errno: errnoValue('ENOMEM')!, reason: `cannot allocate ${size} bytes in core memory` });
    return p;
  }

  free(ptr: number): void {
    if (ptr) this.fn.tsbpf_free(ptr as Ptr<'void'>);
  }

  /**
   * Staging area for the inputs of one call (instructions, strings, packet data). Pointers
   * stay valid until the next resetArena(); every public operation starts with one.
   */
  resetArena(): void {
    if (this.arenaSpill.length) {
      for (let i = 0; i < this.arenaSpill.length; i++) this.free(this.arenaSpill[i]!);
      this.arenaSpill.length = 0;
    }
    this.arenaUsed = 0;
  }

  /** Reserves `size` bytes (8-aligned) in the staging area. */
  stageAlloc(size: number): number {
    const need = (size + 7) & ~7;
    if (this.arenaUsed + need > this.arenaCap) {
      if (need > 1 << 20) {
        // Large inputs get their own block, freed at the next reset.
        const p = this.malloc(need);
        this.arenaSpill.push(p);
        return p;
      }
      if (this.arenaPtr) this.arenaSpill.push(this.arenaPtr);
      this.arenaCap = Math.max(64 << 10, need * 2);
      this.arenaPtr = this.malloc(this.arenaCap);
      // The old block is freed at the next reset, so earlier pointers of this call stay valid.
      this.arenaUsed = 0;
    }
    const p = this.arenaPtr + this.arenaUsed;
    this.arenaUsed += need;
    return p;
  }

  /** Copies bytes into the staging area. */
  stage(bytes: Uint8Array): number {
    const p = this.stageAlloc(bytes.length);
    this.mem.u8.set(bytes, p);
    return p;
  }

  /** Copies a string, NUL-terminated, into the staging area. */
  stageCString(s: string): number {
    const bytes = Buffer.from(s, 'utf8');
    const p = this.stageAlloc(bytes.length + 1);
    const u8 = this.mem.u8;
    u8.set(bytes, p);
    u8[p + bytes.length] = 0;
    return p;
  }

  /** A zeroed instance of an options struct with `sz` set; one per layout, reused. */
  struct(layout: StructLayout & { sz?: Field }): number {
    let p = this.structs[layout.$name];
    if (p === undefined) {
      p = this.malloc(layout.$size);
      this.structs[layout.$name] = p;
    }
    const u8 = this.mem.u8;
    u8.fill(0, p, p + layout.$size);
    // sz is the first field of every options struct (checked by the generated layout).
    if (layout.sz) this.mem.u32[p >>> 2] = layout.$size;
    return p;
  }

  u32(p: number, f: Field): number {
    return this.mem.dv.getUint32(p + f.off, true);
  }

  i32(p: number, f: Field): number {
    return this.mem.dv.getInt32(p + f.off, true);
  }

  u64(p: number, f: Field): bigint {
    return this.mem.dv.getBigUint64(p + f.off, true);
  }

  setU32(p: number, f: Field, v: number): void {
    this.mem.dv.setUint32(p + f.off, v, true);
  }

  /** Writes a u64 from a non-negative safe integer without a BigInt. */
  setU64(p: number, f: Field, v: number): void {
    const dv = this.mem.dv;
    dv.setUint32(p + f.off, v >>> 0, true);
    dv.setUint32(p + f.off + 4, Math.floor(v / 0x100000000), true);
  }

  /** Copies `len` bytes out of Wasm memory into a new Buffer. */
  bytes(p: number, len: number): Buffer {
    const out = Buffer.allocUnsafe(len);
    const u8 = this.mem.u8;
    if (len <= 32) for (let i = 0; i < len; i++) out[i] = u8[p + i]!;
    else out.set(u8.subarray(p, p + len));
    return out;
  }

  /** Reads a NUL-terminated UTF-8 string. */
  cstring(p: number, max = 1 << 30): string {
    if (!p) return '';
    const u8 = this.mem.u8;
    let end = p;
    const limit = Math.min(u8.length, p + max);
    while (end < limit && u8[end] !== 0) end++;
    return Buffer.from(u8.buffer, p, end - p).toString('utf8');
  }

  // ---- errors ---------------------------------------------------------------------------

  /** The BpfError for a negative return of the core, from the reason it recorded. */
  error(ret: number, context?: string): BpfError {
    const cmd = this.fn.tsbpf_last_error_command();
    const reason = this.cstring(this.fn.tsbpf_last_error_reason()) || 'failed';
    const command = cmd >= 0 ? commandName(cmd) : 'tsbpf';
    const full = context ? `${context}: ${reason}` : reason;
    const code = -ret;
    // When the kernel was not asked, the reason is the core's own and says what to do.
    const advice = this.fn.tsbpf_last_kernel_error() === 0 ? '' : undefined;
    if (code >= TSBPF_ERR_BASE && code < TSBPF_ERR_MAX) {
      const known = CORE_ERRORS[code] ?? { errno: 'EINVAL', what: 'core error' };
      return new BpfError({ command, errno: errnoValue(known.errno)!, reason: full, ...(advice === '' ? { advice } : {}) });
    }
    return new BpfError({ command, errno: code, reason: full, ...(advice === '' ? { advice } : {}) });
  }

  /** Closes an fd the core's kernel handed out (a fake host just records it). */
  closeFd(fd: number): void {
    this.host.close(fd);
  }

  /** Duplicates an fd (close-on-exec, 3 or above); throws a BpfError on failure. */
  dupFd(fd: number, command: string): number {
    const r = this.host.dup(fd);
    if (r < 0) throw new BpfError({ command, errno: -r, reason: `cannot duplicate fd ${fd}` });
    return r;
  }

  /** Returns ret, or throws the BpfError it stands for. */
  check(ret: number, context?: string): number {
    if (ret < 0) throw this.error(ret, context);
    return ret;
  }
}

let shared: Core | undefined;

/** The process-wide core on the real kernel, created on first use. */
export function defaultCore(): Core {
  shared ??= new Core();
  return shared;
}

/** The runtime's native calls (close, dup, ...) used next to the core. */
export function native(): Native {
  return nativeForRuntime();
}
