/**
 * A small ELF64 little-endian reader for tests that corrupt objects on purpose: where each
 * header field and symbol sits in the file, so a test can break exactly one of them and
 * predict the error. Deliberately independent of the core's parser.
 */
export interface Section {
  index: number;
  name: string;
  /** File offset of the section header. */
  hdr: number;
  type: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  entsize: number;
}

export interface Symbol {
  index: number;
  name: string;
  /** File offset of the symbol table entry. */
  at: number;
  info: number;
  shndx: number;
  value: number;
  size: number;
}

export class Elf {
  readonly bytes: Buffer;
  readonly sections: Section[] = [];
  readonly symbols: Symbol[] = [];

  constructor(data: Uint8Array) {
    this.bytes = Buffer.from(data);
    const b = this.bytes;
    const shoff = Number(b.readBigUInt64LE(40));
    const shnum = b.readUInt16LE(60);
    const shstrndx = b.readUInt16LE(62);
    for (let i = 0; i < shnum; i++) {
      const hdr = shoff + i * 64;
      this.sections.push({
        index: i,
        name: '',
        hdr,
        type: b.readUInt32LE(hdr + 4),
        offset: Number(b.readBigUInt64LE(hdr + 24)),
        size: Number(b.readBigUInt64LE(hdr + 32)),
        link: b.readUInt32LE(hdr + 40),
        info: b.readUInt32LE(hdr + 44),
        entsize: Number(b.readBigUInt64LE(hdr + 56)),
      });
    }
    const strs = this.sections[shstrndx]!;
    for (const s of this.sections) s.name = this.cstr(strs.offset + b.readUInt32LE(s.hdr));
    const symtab = this.sections.find((s) => s.type === 2)!;
    const strtab = this.sections[symtab.link]!;
    for (let i = 0; i < symtab.size / 24; i++) {
      const at = symtab.offset + i * 24;
      this.symbols.push({
        index: i,
        name: this.cstr(strtab.offset + b.readUInt32LE(at)),
        at,
        info: b[at + 4]!,
        shndx: b.readUInt16LE(at + 6),
        value: Number(b.readBigUInt64LE(at + 8)),
        size: Number(b.readBigUInt64LE(at + 16)),
      });
    }
  }

  private cstr(at: number): string {
    const end = this.bytes.indexOf(0, at);
    return this.bytes.toString('latin1', at, end);
  }

  section(name: string): Section {
    const s = this.sections.find((x) => x.name === name);
    if (!s) throw new Error(`no section ${name}`);
    return s;
  }

  symbol(name: string): Symbol {
    const s = this.symbols.find((x) => x.name === name);
    if (!s) throw new Error(`no symbol ${name}`);
    return s;
  }

  /** A copy of the file with `edit` applied. */
  with(edit: (b: Buffer) => void): Buffer {
    const copy = Buffer.from(this.bytes);
    edit(copy);
    return copy;
  }
}
