/**
 * Checks of public options at the boundary, before the core is called: unknown keys are
 * errors, and a wrong type or range names the option and what it must be.
 */
import { BpfError } from './errors.js';

const EINVAL = 22;

export function invalid(command: string, reason: string): BpfError {
  return new BpfError({ command, errno: EINVAL, reason, advice: '' });
}

/** Throws for keys of `opts` that are not in `allowed`. */
export function checkKeys(command: string, what: string, opts: object, allowed: readonly string[]): void {
  if (typeof opts !== 'object' || opts === null) throw invalid(command, `${what} must be an object`);
  for (const key of Object.keys(opts)) {
    if (!allowed.includes(key))
      throw invalid(command, `unknown option "${key}" in ${what} (known: ${allowed.join(', ')})`);
  }
}

/** An integer in [min, max], or the default when undefined. */
export function integer(command: string, name: string, value: unknown, min: number, max: number, dflt?: number): number {
  if (value === undefined && dflt !== undefined) return dflt;
  if (typeof value === 'bigint' && value >= BigInt(min) && value <= BigInt(max)) return Number(value);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw invalid(command, `"${name}" must be an integer from ${min} to ${max}, got ${describe(value)}`);
  return value;
}

export function string(command: string, name: string, value: unknown, dflt?: string): string {
  if (value === undefined && dflt !== undefined) return dflt;
  if (typeof value !== 'string') throw invalid(command, `"${name}" must be a string, got ${describe(value)}`);
  return value;
}

/**
 * A string the kernel reads as a C string (a license, a name, a path): a NUL byte inside
 * would silently cut it short, so it is refused.
 */
export function cString(command: string, name: string, value: unknown, dflt?: string): string {
  const s = string(command, name, value, dflt);
  if (s.includes('\0')) throw invalid(command, `"${name}" must not contain a NUL byte, got ${describe(s)}`);
  return s;
}

export function bytes(command: string, name: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array))
    throw invalid(command, `"${name}" must be a Uint8Array or Buffer, got ${describe(value)}`);
  return value;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return `${value.constructor.name}(${value.length})`;
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'object') return 'an object';
  return `${typeof value === 'bigint' ? `${value}n` : String(value)}`;
}
