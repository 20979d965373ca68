/**
 * Validation of the requests core.wasm sends through host_bpf. Every host runs this before
 * touching native memory: a request that points outside Wasm memory, overlaps itself or
 * names an impossible attr field is refused with a BpfError, and nothing is copied.
 */
import { BpfError, commandName } from '../src/errors.js';
import {
  TSBPF_ATTR_MAX,
  TSBPF_FIXUP_IN,
  TSBPF_FIXUP_INOUT,
  TSBPF_FIXUP_MAX_LEN,
  TSBPF_FIXUP_NESTED,
  TSBPF_FIXUP_OUT,
  TSBPF_FIXUP_PARENT_SHIFT,
  TSBPF_MAX_FIXUPS,
  tsbpf_fixup,
} from './generated/abi.js';

export { TSBPF_FIXUP_IN, TSBPF_FIXUP_OUT, TSBPF_FIXUP_INOUT };

/** Bits of a fix-up's `dir` word: direction, nested flag, parent index. */
const DIR_MASK = TSBPF_FIXUP_INOUT;
const KNOWN_BITS = DIR_MASK | TSBPF_FIXUP_NESTED | (0xf << TSBPF_FIXUP_PARENT_SHIFT);

const EFAULT = 14;
const FIXUP_WORDS = tsbpf_fixup.$size / 4;

/** The fix-ups of one request, decoded into reusable arrays (no allocation per call). */
export class Fixups {
  count = 0;
  /** Offset of the pointer field: in the attr, or in the parent's buffer. */
  readonly attrOff = new Uint32Array(TSBPF_MAX_FIXUPS);
  readonly ptr = new Uint32Array(TSBPF_MAX_FIXUPS);
  readonly len = new Uint32Array(TSBPF_MAX_FIXUPS);
  /** TSBPF_FIXUP_IN / OUT bits only. */
  readonly dir = new Uint32Array(TSBPF_MAX_FIXUPS);
  /** Index of the fix-up whose buffer holds the pointer field, or -1 for the attr. */
  readonly parent = new Int32Array(TSBPF_MAX_FIXUPS);
  /** Wasm address of each pointer field (in the attr or the parent's buffer). */
  readonly fieldAt = new Uint32Array(TSBPF_MAX_FIXUPS);
  /**
   * The inputs of the last request that passed validation. Validation depends on nothing
   * else, so a request with identical inputs (a map lookup repeated on one handle) passes
   * again without the checks.
   */
  readonly seen = new Uint32Array(4 + TSBPF_MAX_FIXUPS * FIXUP_WORDS);
  seenValid = false;
}

function refuse(cmd: number, why: string): never {
  throw new BpfError({
    command: commandName(cmd),
    errno: EFAULT,
    reason: `core.wasm sent an invalid request (${why}); nothing was copied`,
    advice: 'this is a bug in tsbpf or a damaged core.wasm: please report it',
  });
}

function overlaps(a: number, alen: number, b: number, blen: number): boolean {
  return alen > 0 && blen > 0 && a < b + blen && b < a + alen;
}

/**
 * Checks a request against the bounds of Wasm memory (memSize bytes) and decodes its
 * fix-ups into `out`. Throws a BpfError (EFAULT) for anything a correct core never sends.
 */
export function validateRequest(
  u32: Uint32Array,
  memSize: number,
  cmd: number,
  attrPtr: number,
  attrSize: number,
  fixupsPtr: number,
  nFixups: number,
  out: Fixups,
): void {
  const seen = out.seen;
  if (out.seenValid && seen[0] === attrPtr && seen[1] === attrSize && seen[2] === memSize && seen[3] === nFixups && nFixups <= TSBPF_MAX_FIXUPS) {
    const words = nFixups * FIXUP_WORDS;
    const base = fixupsPtr >>> 2;
    let i = 0;
    // fixupsPtr is among the inputs too: the table words are compared where they are now.
    if (fixupsPtr % 4 === 0 && fixupsPtr + words * 4 <= memSize) for (; i < words; i++) if (u32[base + i] !== seen[4 + i]) break;
    if (i === words) return;
  }
  out.seenValid = false;
  validateFresh(u32, memSize, cmd, attrPtr, attrSize, fixupsPtr, nFixups, out);
  seen[0] = attrPtr;
  seen[1] = attrSize;
  seen[2] = memSize;
  seen[3] = nFixups;
  seen.set(u32.subarray(fixupsPtr >>> 2, (fixupsPtr >>> 2) + nFixups * FIXUP_WORDS), 4);
  out.seenValid = true;
}

function validateFresh(
  u32: Uint32Array,
  memSize: number,
  cmd: number,
  attrPtr: number,
  attrSize: number,
  fixupsPtr: number,
  nFixups: number,
  out: Fixups,
): void {
  if (attrSize === 0 || attrSize > TSBPF_ATTR_MAX) refuse(cmd, `attr size ${attrSize} is outside 1..${TSBPF_ATTR_MAX}`);
  if (attrPtr === 0 || attrPtr % 8 !== 0 || attrPtr + attrSize > memSize)
    refuse(cmd, `attr at ${attrPtr}+${attrSize} is not an aligned range of Wasm memory`);
  if (nFixups > TSBPF_MAX_FIXUPS) refuse(cmd, `${nFixups} fix-ups, at most ${TSBPF_MAX_FIXUPS} allowed`);
  if (nFixups > 0 && (fixupsPtr === 0 || fixupsPtr % 4 !== 0 || fixupsPtr + nFixups * tsbpf_fixup.$size > memSize))
    refuse(cmd, `fix-up table at ${fixupsPtr} is outside Wasm memory`);
  out.count = nFixups;
  const base = fixupsPtr / 4;
  for (let i = 0; i < nFixups; i++) {
    const w = base + i * FIXUP_WORDS;
    const attrOff = u32[w + tsbpf_fixup.attr_off.off / 4]!;
    const ptr = u32[w + tsbpf_fixup.ptr.off / 4]!;
    const len = u32[w + tsbpf_fixup.len.off / 4]!;
    const word = u32[w + tsbpf_fixup.dir.off / 4]!;
    const dir = word & DIR_MASK;
    const parent = word & TSBPF_FIXUP_NESTED ? (word >>> TSBPF_FIXUP_PARENT_SHIFT) & 0xf : -1;
    if ((word & ~KNOWN_BITS) !== 0 || dir === 0) refuse(cmd, `fix-up ${i} has direction ${word}`);
    if (parent >= i) refuse(cmd, `fix-up ${i} nests in fix-up ${parent}, which does not come before it`);
    // Pointer fields are 8-byte words the host patches as two aligned u32s: a parent buffer
    // off 8-byte alignment would have the kernel read a pointer made of mixed bytes.
    if (parent >= 0 && out.ptr[parent]! % 8 !== 0)
      refuse(cmd, `fix-up ${i} nests in fix-up ${parent}, whose buffer at ${out.ptr[parent]} is not 8-byte aligned`);
    const holderLen = parent < 0 ? attrSize : out.len[parent]!;
    if (attrOff % 8 !== 0 || attrOff + 8 > holderLen)
      refuse(
        cmd,
        `fix-up ${i} patches offset ${attrOff} ${parent < 0 ? 'of the attr' : `of fix-up ${parent}'s buffer`}, ` +
          `not an 8-byte field inside ${holderLen} bytes`,
      );
    if (len > TSBPF_FIXUP_MAX_LEN) refuse(cmd, `fix-up ${i} is ${len} bytes, over the ${TSBPF_FIXUP_MAX_LEN}-byte limit`);
    if (ptr === 0 || ptr + len > memSize) refuse(cmd, `fix-up ${i} (${ptr}+${len}) points outside Wasm memory`);
    if (overlaps(ptr, len, attrPtr, attrSize)) refuse(cmd, `fix-up ${i} overlaps the attr`);
    // Aligned fields are equal or disjoint. Two parents may share bytes (inputs may overlap):
    // one field patched twice would send the kernel to the wrong buffer.
    const fieldAt = (parent < 0 ? attrPtr : out.ptr[parent]!) + attrOff;
    for (let j = 0; j < i; j++) {
      if (out.fieldAt[j] === fieldAt) refuse(cmd, `fix-ups ${j} and ${i} patch the same pointer field`);
      const written = (dir & TSBPF_FIXUP_OUT) !== 0 || (out.dir[j]! & TSBPF_FIXUP_OUT) !== 0;
      if (written && overlaps(ptr, len, out.ptr[j]!, out.len[j]!))
        refuse(cmd, `fix-ups ${j} and ${i} overlap and one of them is written back`);
    }
    out.parent[i] = parent;
    out.fieldAt[i] = fieldAt;
    out.attrOff[i] = attrOff;
    out.ptr[i] = ptr;
    out.len[i] = len;
    out.dir[i] = dir;
  }
}
