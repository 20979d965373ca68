/**
 * Loads a relocated program together with its own BTF, func_info and line_info, straight
 * through the core (BPF_BTF_LOAD, then BPF_PROG_LOAD with prog_btf_fd): the way
 * Collection.load will, before Program.load takes BTF options. Tests use it to show that
 * the kernel accepts the program's BTF and prints the poison notes in its log.
 */
import {
  tsbpf_btf_load_opts as BtfOpts,
  tsbpf_prog_load_opts as LoadOpts,
  type Ptr,
} from '../../bridge/generated/abi.js';
import { BpfError, Program, VerifierError, type CollectionProgramSpec, type ProgramType } from '../../src/index.js';
import { core } from '../../src/runtime.js';

function logOf(c: ReturnType<typeof core>, o: number, lenField: { off: number }, logField: { off: number }): string[] {
  const len = c.mem.dv.getUint32(o + lenField.off, true);
  if (!len) return [];
  return c.cstring(c.mem.dv.getUint32(o + logField.off, true), len).split('\n').filter((l) => l !== '');
}

/** BPF_BTF_LOAD of raw BTF; returns the fd (close it) or throws with the kernel's BTF log. */
export function loadBtf(data: Uint8Array): number {
  const c = core();
  c.resetArena();
  const p = c.stage(data);
  const o = c.struct(BtfOpts);
  c.setU32(o, BtfOpts.data, p);
  c.setU32(o, BtfOpts.size, data.length);
  const fd = c.fn.tsbpf_btf_load(o as Ptr<'tsbpf_btf_load_opts'>);
  if (fd < 0) {
    const err = c.error(fd);
    throw new BpfError({ command: 'BPF_BTF_LOAD', errno: err.errno, reason: `${err.reason}: ${logOf(c, o, BtfOpts.log_len, BtfOpts.log).slice(-3).join(' / ')}`, advice: '' });
  }
  return fd;
}

/** Loads `prog` with its BTF (prog.btf), func_info and line_info. Throws VerifierError with the log. */
export function loadWithBtf(prog: CollectionProgramSpec, type: ProgramType, opts: { license?: string; logLevel?: number } = {}): Program {
  if (!prog.btf) throw new Error(`program ${prog.name} has no BTF of its own`);
  const c = core();
  const btfFd = loadBtf(prog.btf);
  try {
    c.resetArena();
    const insns = c.stage(prog.instructions);
    const lic = c.stageCString(opts.license ?? (prog.license || 'GPL'));
    const fi = prog.funcInfo.length ? c.stage(prog.funcInfo) : 0;
    const li = prog.lineInfo.length ? c.stage(prog.lineInfo) : 0;
    const o = c.struct(LoadOpts);
    c.setU32(o, LoadOpts.prog_type, type);
    c.setU32(o, LoadOpts.prog_flags, prog.flags);
    c.setU32(o, LoadOpts.insns, insns);
    c.setU32(o, LoadOpts.insn_cnt, prog.instructions.length / 8);
    c.setU32(o, LoadOpts.license, lic);
    c.setU32(o, LoadOpts.prog_btf_fd, btfFd);
    if (fi) {
      c.setU32(o, LoadOpts.func_info_rec_size, 8);
      c.setU32(o, LoadOpts.func_info, fi);
      c.setU32(o, LoadOpts.func_info_cnt, prog.funcInfo.length / 8);
    }
    if (li) {
      c.setU32(o, LoadOpts.line_info_rec_size, 16);
      c.setU32(o, LoadOpts.line_info, li);
      c.setU32(o, LoadOpts.line_info_cnt, prog.lineInfo.length / 16);
    }
    if (opts.logLevel) c.setU32(o, LoadOpts.log_level, opts.logLevel);
    const fd = c.fn.tsbpf_prog_load(o as Ptr<'tsbpf_prog_load_opts'>);
    if (fd < 0) {
      const err = c.error(fd);
      const log = logOf(c, o, LoadOpts.log_len, LoadOpts.log);
      if (!log.length) throw err;
      throw new VerifierError({ command: 'BPF_PROG_LOAD', errno: err.errno, reason: `the verifier rejected program "${prog.name}"`, log, truncated: false });
    }
    return Program.fromFd(fd);
  } finally {
    c.closeFd(btfFd);
  }
}
