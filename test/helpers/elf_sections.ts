/**
 * The smallest ELF reader the instruction tests need: the executable sections of a
 * little-endian ELF64 object (what llvm-objdump -d disassembles), by name. The real ELF
 * loader lives in the core; this one only serves as the tests' independent view.
 */

export interface CodeSection {
  name: string;
  bytes: Uint8Array;
}

const SHT_PROGBITS = 1;
const SHF_EXECINSTR = 4n;

export function codeSections(file: Uint8Array): CodeSection[] {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (dv.getUint32(0, false) !== 0x7f454c46) throw new Error('not an ELF file');
  if (file[4] !== 2 || file[5] !== 1) throw new Error('not a little-endian ELF64 file');
  const shoff = Number(dv.getBigUint64(0x28, true));
  const shentsize = dv.getUint16(0x3a, true);
  const shnum = dv.getUint16(0x3c, true);
  const shstrndx = dv.getUint16(0x3e, true);
  const header = (i: number) => {
    const p = shoff + i * shentsize;
    return {
      name: dv.getUint32(p, true),
      type: dv.getUint32(p + 4, true),
      flags: dv.getBigUint64(p + 8, true),
      offset: Number(dv.getBigUint64(p + 24, true)),
      size: Number(dv.getBigUint64(p + 32, true)),
    };
  };
  const names = header(shstrndx);
  const nameAt = (off: number) => {
    let end = names.offset + off;
    while (file[end] !== 0) end++;
    return Buffer.from(file.subarray(names.offset + off, end)).toString('latin1');
  };
  const out: CodeSection[] = [];
  for (let i = 1; i < shnum; i++) {
    const h = header(i);
    if (h.type !== SHT_PROGBITS || (h.flags & SHF_EXECINSTR) === 0n) continue;
    out.push({ name: nameAt(h.name), bytes: file.subarray(h.offset, h.offset + h.size) });
  }
  return out;
}
