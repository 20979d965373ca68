#!/usr/bin/env node
// Writes regression inputs of the CO-RE fuzz targets from real objects (run after make build):
//   test/fixtures/fuzz/fuzz_core_relo/<object>-<program>: a corpus program, its BTF as both
//     local and target (or relocs_read's target), its instructions, func/line info, CO-RE records;
//   test/fixtures/fuzz/fuzz_btf_split/<name>: base BTF + split BTF pairs.
// The layouts are those core/fuzz/fuzz_core_relo.c and fuzz_btf_split.c read.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const { loadCollectionSpec, CoreRelocationKinds, Btf } = await import(join(root, 'dist/src/index.js'));
const { core } = await import(join(root, 'dist/src/runtime.js'));
const corpus = process.env.TSBPF_CORPUS ?? join(root, '../../shared/corpus');
const c = core();

function strOffset(btf, s) {
  c.resetArena();
  const p = c.stageCString(s);
  const off = c.fn.tsbpf_btf_str_offset(Btf.handleOf(btf).ptr, p);
  if (off < 0) throw new Error(`no string ${s}`);
  return off;
}

function coreInput(local, target, prog, flags) {
  const hdr = Buffer.alloc(15);
  const localBytes = local.bytes();
  const targetBytes = target.bytes();
  const n = prog.instructions.length / 8;
  hdr[0] = flags;
  hdr.writeUInt32LE(localBytes.length, 1);
  hdr.writeUInt32LE(targetBytes.length, 5);
  hdr.writeUInt16LE(n - 1, 9); // the target reads n % 512 + 1
  hdr.writeUInt16LE(Math.min(prog.funcInfo.length / 8, 7), 11);
  hdr.writeUInt16LE(Math.min(prog.lineInfo.length / 16, 31), 13);
  const relos = Buffer.alloc(prog.coreRelocations.length * 16);
  prog.coreRelocations.forEach((r, i) => {
    relos.writeUInt32LE(r.instruction, i * 16); // the target turns this slot into insn_off
    relos.writeUInt32LE(r.typeId, i * 16 + 4);
    relos.writeUInt32LE(strOffset(local, r.accessString), i * 16 + 8);
    relos.writeUInt32LE(CoreRelocationKinds.indexOf(r.kind), i * 16 + 12);
  });
  return Buffer.concat([
    hdr, localBytes, targetBytes, Buffer.from(prog.instructions),
    Buffer.from(prog.funcInfo).subarray(0, Math.min(prog.funcInfo.length, 7 * 8)),
    Buffer.from(prog.lineInfo).subarray(0, Math.min(prog.lineInfo.length, 31 * 16)),
    relos,
  ]);
}

const out = join(root, 'test/fixtures/fuzz/fuzz_core_relo');
mkdirSync(out, { recursive: true });
const relocs = loadCollectionSpec(join(corpus, 'cilium-ebpf/btf/testdata/relocs-el.elf'));
for (const name of ['fields', 'types', 'enums', 'err_ambiguous']) {
  writeFileSync(join(out, `relocs-${name}`), coreInput(relocs.types, relocs.types, relocs.programs[name], 1));
}
const read = loadCollectionSpec(join(corpus, 'cilium-ebpf/btf/testdata/relocs_read-el.elf'));
const readTarget = loadCollectionSpec(join(corpus, 'cilium-ebpf/btf/testdata/relocs_read_tgt-el.elf')).types;
writeFileSync(join(out, 'relocs_read-reads'), coreInput(read.types, readTarget, read.programs.reads, 1));
const errors = loadCollectionSpec(join(corpus, 'cilium-ebpf/testdata/errors-el.elf'));
writeFileSync(join(out, 'errors-poisoned_double'), coreInput(errors.types, readTarget, errors.programs.poisoned_double, 1));
// Found by the fuzzer: a line_info record whose source line is not a string of the BTF made
// a program BTF whose line_info pointed outside its strings (now refused).
{
  const p = errors.programs.poisoned_single;
  const li = Buffer.from(p.lineInfo);
  li.writeUInt32LE(0xfffffff0, 8);
  writeFileSync(join(out, 'errors-bad-line-string'), coreInput(errors.types, readTarget, { ...p, lineInfo: li }, 1));
}

// Split BTF: relocs_read_tgt's BTF as the base, a module-like blob on top of it.
const split = join(root, 'test/fixtures/fuzz/fuzz_btf_split');
mkdirSync(split, { recursive: true });
const base = readTarget.bytes();
const baseInfo = { endId: readTarget.endId, strLen: base.readUInt32LE(20) };
function splitBlob(types, strings) {
  const strs = Buffer.from(strings.map((s) => `${s}\0`).join(''), 'latin1');
  const t = Buffer.concat(types);
  const h = Buffer.alloc(24);
  h.writeUInt16LE(0xeb9f, 0);
  h[2] = 1;
  h.writeUInt32LE(24, 4);
  h.writeUInt32LE(0, 8);
  h.writeUInt32LE(t.length, 12);
  h.writeUInt32LE(t.length, 16);
  h.writeUInt32LE(strs.length, 20);
  return Buffer.concat([h, t, strs]);
}
function rec(nameOff, kind, vlen, st, extra = [], kflag = 0) {
  const b = Buffer.alloc(12 + extra.length * 4);
  b.writeUInt32LE(nameOff, 0);
  b.writeUInt32LE(((kflag << 31) | (kind << 24) | vlen) >>> 0, 4);
  b.writeUInt32LE(st, 8);
  extra.forEach((v, i) => b.writeUInt32LE(v >>> 0, 12 + i * 4));
  return b;
}
// Strings of the split blob start after the base's: "mod_s" at strLen, "v" after it.
const s0 = baseInfo.strLen;
const modBlob = splitBlob(
  [
    rec(s0, 4, 2, 8, [s0 + 6, 1, 0, s0 + 6, baseInfo.endId + 1, 32]), // struct mod_s { <base type 1> v; ptr v; }
    rec(0, 2, 0, baseInfo.endId), // pointer to mod_s
    rec(s0 + 8, 8, 0, baseInfo.endId), // typedef mod_s___flavour
  ],
  ['mod_s', 'v', 'mod_s___flavour'],
);
const len = Buffer.alloc(4);
len.writeUInt32LE(base.length);
writeFileSync(join(split, 'module-on-relocs_read_tgt'), Buffer.concat([len, base, modBlob]));
writeFileSync(join(split, 'module-truncated'), Buffer.concat([len, base, modBlob.subarray(0, 30)]));
console.log('wrote fuzz inputs');
