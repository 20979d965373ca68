// Truncated, corrupted and random ELF bytes: every one is refused with a BpfError whose
// reason names what is wrong and where (section, symbol, offset), never a crash or another
// kind of exception. Table-driven corruptions of a real object compiled from
// test/fixtures/bpf/legacy.bpf.c, then fast-check over random and mutated bytes.
import test from 'ava';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { BpfError, loadCollectionSpec } from '../../src/index.js';
import { Elf } from '../helpers/elf_edit.js';
import { compileFixture } from '../helpers/tools.js';

let legacy: Elf;
let modern: Elf;

test.before(() => {
  legacy = new Elf(readFileSync(compileFixture('legacy.bpf.c')));
  modern = new Elf(readFileSync(compileFixture('collection.bpf.c')));
});

/** Offsets of the BTF types in a .BTF section's bytes, by id. */
function btfTypeOffsets(elf: Elf): { base: number; offsets: number[] } {
  const s = elf.section('.BTF');
  const b = elf.bytes;
  const hdr = s.offset;
  const base = hdr + b.readUInt32LE(hdr + 4) + b.readUInt32LE(hdr + 8);
  const len = b.readUInt32LE(hdr + 12);
  const offsets = [0];
  for (let off = 0; off < len; ) {
    offsets.push(off);
    const info = b.readUInt32LE(base + off + 4);
    const kind = (info >> 24) & 0x1f;
    const vlen = info & 0xffff;
    const extra = [0, 4, 0, 12, 12 * vlen, 12 * vlen, 8 * vlen, 0, 0, 0, 0, 0, 0, 8 * vlen, 4, 12 * vlen, 0, 4, 0, 12 * vlen][kind]!;
    off += 12 + extra;
  }
  return { base, offsets };
}

function refused(t: import('ava').ExecutionContext, bytes: Uint8Array, reason: RegExp, code = 'EINVAL'): void {
  const e = t.throws(() => loadCollectionSpec(bytes), { instanceOf: BpfError });
  t.regex(e?.reason ?? '', reason);
  t.is(e?.code, code);
  t.is(e?.command, 'loadCollectionSpec');
}

type Case = [string, () => Uint8Array, RegExp];

const u16 = (at: number, v: number) => (b: Buffer) => b.writeUInt16LE(v, at);
const u32 = (at: number, v: number) => (b: Buffer) => b.writeUInt32LE(v, at);
const u64 = (at: number, v: number) => (b: Buffer) => b.writeBigUInt64LE(BigInt(v), at);

const cases: Case[] = [
  ['empty input', () => new Uint8Array(0), /^ELF: 0 bytes are too few for the 64-byte ELF header$/],
  ['63 bytes', () => legacy.bytes.subarray(0, 63), /^ELF: 63 bytes are too few for the 64-byte ELF header$/],
  ['bad magic', () => legacy.with((b) => b.write('\x7fELG', 0, 'latin1')), /not an ELF file \(bad magic at offset 0\)/],
  ['32-bit class', () => legacy.with((b) => (b[4] = 1)), /class 1 is not ELF64/],
  ['big endian', () => legacy.with((b) => (b[5] = 2)), /big-endian objects are not supported/],
  ['unknown data encoding', () => legacy.with((b) => (b[5] = 7)), /unknown data encoding 7 at offset 5/],
  ['an executable', () => legacy.with(u16(16, 2)), /type 2 is not a relocatable object/],
  ['x86-64 machine', () => legacy.with(u16(18, 62)), /machine 62 is not BPF \(247\)/],
  ['section header size', () => legacy.with(u16(58, 40)), /section header size 40 \(expected 64\)/],
  ['section headers beyond the file', () => legacy.with(u64(40, 1 << 30)), /section header table offset 1073741824 is outside the file/],
  ['too many section headers', () => legacy.with(u16(60, 0xfff0)), /65520 section headers at offset \d+ run past the end of the file/],
  ['name table index', () => legacy.with(u16(62, 200)), /section name table index 200 is not a section \(there are \d+\)/],
  [
    'a section beyond the end of the file',
    () => legacy.with(u64(legacy.section('classifier').hdr + 32, 1 << 20)),
    /^ELF: section \d+ \(offset \d+, 1048576 bytes\) runs past the end of the file/,
  ],
  ['a section name offset', () => legacy.with(u32(legacy.section('classifier').hdr, 0xffffff)), /^ELF: section \d+: name offset 16777215 is outside the section name table$/],
  ['symbol table entry size', () => legacy.with(u64(legacy.section('.symtab').hdr + 56, 16)), /symbol table entry size 16 \(expected 24\)/],
  ['a symbol name offset', () => legacy.with(u32(legacy.symbol('cls').at, 0xfffff)), /^ELF: symbol \d+: name offset 1048575 is outside the string table$/],
  ['a symbol in a missing section', () => legacy.with(u16(legacy.symbol('cls').at + 6, 900)), /^ELF: symbol \d+ \('cls'\) is in section 900, which does not exist$/],
  [
    'a relocation naming a missing symbol',
    () => legacy.with(u32(legacy.section('.relclassifier').offset + 12, 5000)),
    /^ELF: relocation 0 of section classifier at offset \d+: symbol 5000 does not exist/,
  ],
  [
    'a relocation between instructions',
    () => legacy.with(u64(legacy.section('.relclassifier').offset, 41)),
    /^ELF: relocation 0 of section classifier: offset 41 is not aligned to an instruction/,
  ],
  [
    'a relocation outside its section',
    () => legacy.with(u64(legacy.section('.relclassifier').offset, 4096)),
    /^ELF: relocation 0 of section classifier: offset 4096 is outside the section/,
  ],
  [
    'a relocation on the second half of a 64-bit load',
    () => legacy.with(u64(legacy.section('.relclassifier').offset, Number(legacy.bytes.readBigUInt64LE(legacy.section('.relclassifier').offset)) + 8)),
    /^ELF: section classifier: function cls: the relocation at offset \d+ \(symbol counts\) points at the second half of the 64-bit load at instruction \d+/,
  ],
  ['a function past its section', () => legacy.with(u64(legacy.symbol('cls').at + 16, 4096)), /^ELF: section classifier: function cls \(offset 0, 4096 bytes\) runs past the end of the section/],
  ['a misaligned function', () => legacy.with(u64(legacy.symbol('cls').at + 8, 4)), /function cls \(offset 4, \d+ bytes\) is not aligned to 8-byte instructions/],
  ['an empty function', () => legacy.with(u64(legacy.symbol('cls').at + 16, 0)), /function cls has no instructions \(size 0\)/],
  [
    'a map load that is not a 64-bit load',
    () => legacy.with((b) => (b[legacy.section('classifier').offset + Number(b.readBigUInt64LE(legacy.section('.relclassifier').offset))] = 0xb7)),
    /^ELF: section classifier: function cls: instruction \d+ \(offset \d+\): refers to map counts but is not a 64-bit load \(opcode 0xb7\)/,
  ],
  ['a short kernel version', () => legacy.with(u64(legacy.section('version').hdr + 32, 2)), /section version is 2 bytes, too short for the 4-byte kernel version/],
  ['a short legacy map', () => legacy.with(u64(legacy.symbol('counts').at + 16, 8)), /section maps: map counts: its 8-byte definition lacks the value size/],
  ['a legacy map past its section', () => legacy.with(u64(legacy.symbol('tc_map').at + 8, 1000)), /section maps: map tc_map \(offset 1000, 36 bytes\) runs past the end of the section/],
  ['no symbol table', () => legacy.with(u32(legacy.section('.symtab').hdr + 4, 0x70000000)), /^ELF: no symbol table$/],
  ['two relocation sections for one section', () => legacy.with(u32(legacy.section('.rel.BTF').hdr + 44, legacy.section('classifier').index)), /section classifier has two relocation sections/],
  ['.BTF.ext without .BTF', () => legacy.with((b) => b.write('.XTF', legacy.bytes.indexOf('.BTF\0'), 'latin1')), /^ELF: the object has \.BTF\.ext but no \.BTF$/],
  ['BTF magic', () => legacy.with(u16(legacy.section('.BTF').offset, 0x1234)), /^BTF: bad magic 0x1234 \(expected 0xeb9f\)$/],
  ['big-endian BTF', () => legacy.with(u16(legacy.section('.BTF').offset, 0x9feb)), /^BTF: big-endian BTF is not supported$/],
  ['BTF version', () => legacy.with((b) => (b[legacy.section('.BTF').offset + 2] = 2)), /^BTF: version 2 is not supported/],
  ['BTF type section length', () => legacy.with(u32(legacy.section('.BTF').offset + 12, 1 << 24)), /^BTF: type section \(offset 0, 16777216 bytes\) runs past the end of the data/],
  ['BTF string section length', () => legacy.with(u32(legacy.section('.BTF').offset + 20, 1 << 24)), /^BTF: string section \(offset \d+, 16777216 bytes\) runs past the end/],
  [
    'a BTF type of unknown kind',
    () => {
      const { base, offsets } = btfTypeOffsets(legacy);
      return legacy.with((b) => (b[base + offsets[3]! + 7] = 31));
    },
    /^BTF: type \[3\] at offset \d+ of the type section: unknown kind 31$/,
  ],
  [
    'a BTF type referring past the last type',
    () => {
      const { base, offsets } = btfTypeOffsets(legacy);
      const id = offsets.findIndex((o, i) => i > 0 && ((legacy.bytes.readUInt32LE(base + o + 4) >> 24) & 0x1f) === 2);
      return legacy.with(u32(base + offsets[id]! + 8, 99999));
    },
    /^BTF: type \[\d+\] \(PTR\) at offset \d+ of the type section: it refers to type \[99999\], but the last type is \[\d+\]$/,
  ],
  [
    'a BTF name outside the strings',
    () => {
      const { base, offsets } = btfTypeOffsets(legacy);
      return legacy.with(u32(base + offsets[1]!, 0xffffff));
    },
    /^BTF: type \[1\] at offset 0 of the type section: its name offset 16777215 is outside the string section$/,
  ],
  ['.BTF.ext magic', () => legacy.with(u16(legacy.section('.BTF.ext').offset, 1)), /^\.BTF\.ext: bad magic 0x0001$/],
  [
    '.BTF.ext func_info record size',
    () => {
      const ext = legacy.section('.BTF.ext').offset;
      const funcOff = legacy.bytes.readUInt32LE(ext + 8);
      return legacy.with(u32(ext + legacy.bytes.readUInt32LE(ext + 4) + funcOff, 6));
    },
    /^\.BTF\.ext: func_info record size 6 \(must be a multiple of 4, at least 8\)$/,
  ],
  [
    '.BTF.ext records past the block',
    () => {
      const ext = legacy.section('.BTF.ext').offset;
      const lineOff = legacy.bytes.readUInt32LE(ext + 16);
      return legacy.with(u32(ext + legacy.bytes.readUInt32LE(ext + 4) + lineOff + 8, 1000));
    },
    /^\.BTF\.ext: line_info block: section 'classifier' claims 1000 records of 16 bytes, more than the \d+ bytes left$/,
  ],
  [
    'a BTF map definition that is not a struct',
    () => {
      const { base, offsets } = btfTypeOffsets(modern);
      // The VAR of the first map in .maps points at its struct: point it at an INT instead.
      const varId = offsets.findIndex((o, i) => i > 0 && ((modern.bytes.readUInt32LE(base + o + 4) >> 24) & 0x1f) === 14);
      const intId = offsets.findIndex((o, i) => i > 0 && ((modern.bytes.readUInt32LE(base + o + 4) >> 24) & 0x1f) === 1);
      return modern.with(u32(base + offsets[varId]! + 8, intId));
    },
    /^ELF: section \.maps: map \w+ is not a struct$/,
  ],
  ['two functions with one name', () => modern.with(u32(modern.symbol('leaf').at, modern.bytes.readUInt32LE(modern.symbol('shared').at))), /^ELF: function shared is defined twice$/],
  ['two legacy maps with one name', () => legacy.with(u32(legacy.symbol('tc_map').at, legacy.bytes.readUInt32LE(legacy.symbol('counts').at))), /^ELF: map counts is defined twice$/],
  ['two variables with one name', () => modern.with(u32(modern.symbol('zeroed').at, modern.bytes.readUInt32LE(modern.symbol('counter').at))), /^ELF: variable counter is defined twice$/],
  [
    'a .maps symbol missing',
    () => modern.with((b) => b.write('hash_mop', modern.bytes.indexOf('hash_map\0', modern.section('.strtab').offset), 'latin1')),
    /^ELF: section \.maps: no symbol for map hash_map$/,
  ],
];

for (const [title, make, reason] of cases) {
  test(`refused: ${title}`, (t) => refused(t, make(), reason));
}

test('a file truncated anywhere is refused with a reason, or (cut in non-essential tail) still parses', (t) => {
  const full = legacy.bytes;
  let refusals = 0;
  for (let len = 0; len < full.length; len += 7) {
    try {
      loadCollectionSpec(full.subarray(0, len));
    } catch (e) {
      if (!(e instanceof BpfError)) throw e;
      t.true(e.reason.length > 10);
      t.regex(e.reason, /^(ELF|BTF|\.BTF\.ext): /);
      refusals++;
    }
  }
  // The section header table sits at the end: every proper prefix loses it.
  t.is(refusals, Math.ceil(full.length / 7));
});

test('a path that does not exist: ENOENT naming the path', (t) => {
  const e = t.throws(() => loadCollectionSpec('/nonexistent/x.o'), { instanceOf: BpfError });
  t.is(e?.code, 'ENOENT');
  t.regex(e?.message ?? '', /cannot read \/nonexistent\/x\.o/);
  const bad = t.throws(() => loadCollectionSpec(42 as unknown as string), { instanceOf: BpfError });
  t.regex(bad?.message ?? '', /expected a file path or the bytes of an ELF object, got 42/);
});

// Random bytes, bytes that start like an ELF header, and valid objects with random bytes
// overwritten or cut: the only acceptable outcomes are a spec or a BpfError with a reason.
function outcome(bytes: Uint8Array): 'ok' | 'refused' {
  try {
    const spec = loadCollectionSpec(bytes);
    for (const p of [...Object.values(spec.programs), ...Object.values(spec.subprograms)]) {
      const slots = p.instructions.length / 8;
      for (const r of p.relocations) if (r.instruction >= slots) throw new Error(`relocation outside ${p.name}`);
      if (p.functions.reduce((n, f) => n + f.count, 0) !== slots) throw new Error(`bad layout of ${p.name}`);
    }
    for (const v of Object.values(spec.variables)) v.value.readUInt8(0);
    if (spec.types) for (const ty of spec.types) void ty.name;
    return 'ok';
  } catch (e) {
    if (e instanceof BpfError && e.reason.length > 0 && e.command === 'loadCollectionSpec') return 'refused';
    throw e;
  }
}

test('fast-check: random bytes are refused with a reason', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => outcome(bytes) === 'refused'),
    { numRuns: 300 },
  );
  // Bytes with a plausible ELF header in front.
  const header = legacy.bytes.subarray(0, 64);
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 2048 }), (tail) => outcome(Buffer.concat([header, tail])) === 'refused'),
    { numRuns: 300 },
  );
  t.pass();
});

test('fast-check: mutated objects parse or are refused, never crash', (t) => {
  for (const base of [legacy.bytes, modern.bytes]) {
    const mutation = fc.array(fc.tuple(fc.nat({ max: base.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(mutation, fc.nat({ max: base.length }), (edits, cut) => {
        const bytes = Buffer.from(base);
        for (const [at, v] of edits) bytes[at] = v;
        outcome(bytes);
        outcome(bytes.subarray(0, cut));
        return true;
      }),
      { numRuns: 400 },
    );
  }
  t.pass();
});
