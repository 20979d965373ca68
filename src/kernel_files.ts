/**
 * Reading the kernel's files (/sys/kernel/btf, /proc/kallsyms, /boot/config-*) on every
 * runtime: node:fs first; where node:fs is refused (Deno allows /sys and /proc only with
 * --allow-all), through the runtime host's libc, which --allow-ffi already permits.
 */
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { native } from '../bridge/core.js';
import { errnoName } from './errors.js';

/** The file's bytes; throws node:fs's error, or an Error with the errno's `code`. */
export function readKernelFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const read = native().readKernelFile;
    if (!read || (e as NodeJS.ErrnoException).code === 'ENOENT') throw e;
    const data = read(path);
    if (typeof data === 'number') throw Object.assign(new Error(`cannot read ${path}: ${errnoName(-data)}`), { code: errnoName(-data) });
    return Buffer.from(data.buffer, data.byteOffset, data.length);
  }
}
