/**
 * What every kind of BPF object shares: pinning to bpffs, opening a pin, walking the ids
 * the kernel has loaded, and opening an object by id. Program, BpfMap and the other handle
 * types build their pin/loadPinned/fromId/ids on these.
 */
import { readlinkSync, statfsSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Core } from '../bridge/core.js';
import type { Ptr } from '../bridge/generated/abi.js';
import { TSBPF_OBJ_BTF, TSBPF_OBJ_LINK, TSBPF_OBJ_MAP, TSBPF_OBJ_PROG } from '../bridge/generated/abi.js';
import { BpfError } from './errors.js';
import { cString } from './validate.js';

/** Object kinds of the core's id commands. */
export const ObjectKind = {
  Program: TSBPF_OBJ_PROG,
  Map: TSBPF_OBJ_MAP,
  Btf: TSBPF_OBJ_BTF,
  Link: TSBPF_OBJ_LINK,
} as const;
export type ObjectKind = (typeof ObjectKind)[keyof typeof ObjectKind];

const ENOENT = 2;

/** statfs f_type of bpffs (BPF_FS_MAGIC in <linux/magic.h>). */
const BPF_FS_MAGIC = 0xcafe4a11;

/** Pins fd at path, which must be on a bpffs mount. */
export function pinFd(c: Core, fd: number, path: string): void {
  const p = cString('BPF_OBJ_PIN', 'path', path);
  c.resetArena();
  const r = c.fn.tsbpf_obj_pin(fd, c.stageCString(p) as Ptr<'char'>);
  if (r >= 0) return;
  const err = c.error(r);
  // The kernel answers EPERM for a directory outside bpffs; say which it is.
  if (err.code === 'EPERM') {
    const dir = dirname(p);
    let type: number | undefined;
    try {
      type = statfsSync(dir).type;
    } catch {
      /* the kernel's answer stands */
    }
    if (type !== undefined && type >>> 0 !== BPF_FS_MAGIC)
      throw new BpfError({
        command: 'BPF_OBJ_PIN',
        errno: err.errno,
        reason: `cannot pin to ${p}: ${dir} is not on a bpffs mount (filesystem type 0x${(type >>> 0).toString(16)})`,
        advice: 'pin under a bpffs mount such as /sys/fs/bpf (mount -t bpf bpf /sys/fs/bpf)',
        cause: err,
      });
  }
  throw err;
}

/** Removes a pin. The object lives on while something else holds it. */
export function unpinPath(path: string): void {
  const p = cString('unpin', 'path', path);
  try {
    unlinkSync(p);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new BpfError({ command: 'unpin', errno: -(err.errno ?? -ENOENT), reason: `cannot remove the pin ${p}`, cause: e });
  }
}

/** Opens the object pinned at path; flags are BPF_F_RDONLY / BPF_F_WRONLY. */
export function openPinned(c: Core, path: string, flags = 0): number {
  const p = cString('BPF_OBJ_GET', 'path', path);
  c.resetArena();
  return c.check(c.fn.tsbpf_obj_get(c.stageCString(p) as Ptr<'char'>, flags));
}

/** A new fd for the object of `kind` with this id. */
export function fdById(c: Core, kind: ObjectKind, id: number, flags = 0): number {
  return c.check(c.fn.tsbpf_obj_get_fd_by_id(kind, id >>> 0, flags));
}

/** The ids of every object of `kind` the kernel has loaded, in increasing order. */
export function* objectIds(c: Core, kind: ObjectKind): Generator<number> {
  const out = c.malloc(4);
  try {
    let id = 0;
    for (;;) {
      const r = c.fn.tsbpf_obj_get_next_id(kind, id, out as Ptr<'uint32_t'>);
      if (r === -ENOENT) return;
      c.check(r);
      id = c.mem.dv.getUint32(out, true);
      yield id;
    }
  } finally {
    c.free(out);
  }
}

/** 'prog', 'map', 'link', 'btf' for a BPF object fd; undefined when it cannot tell. */
export function fdObjectType(fd: number): string | undefined {
  try {
    const m = /^anon_inode:bpf[-_](\w+)$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
    return m ? m[1] : 'non-BPF file';
  } catch {
    return undefined; // no /proc: the kernel's answers will have to do
  }
}
