#!/usr/bin/env node
// Writes the seed inputs of the parser fuzz targets into build/fuzz-seeds/<target>/ (not
// committed: they are derived from data that lives elsewhere), from
//   - every object of the shared corpus (TSBPF_CORPUS, else ../shared/corpus beside the
//     checkout, else /work/shared/corpus), when it is there;
//   - clang-14 builds of the BPF C sources in test/fixtures/{bpf,asm}, with and without -g.
// Each object gives: itself (fuzz_elf), its .BTF (fuzz_btf, standalone, and as the base of a
// small split blob built here), its .BTF and .BTF.ext (fuzz_btf_ext), its code sections
// (fuzz_insn). Seeds are named by content, so rerunning rewrites the same files.
//   node scripts/fuzz-seeds.mjs [--out DIR]
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const outRoot = args[0] === '--out' ? args[1] : join(root, 'build/fuzz-seeds');
const clang = process.env.CLANG ?? 'clang-14';

/** Every regular file under dir whose name looks like an object. */
function objectsUnder(dir) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) found.push(...objectsUnder(p));
    else if (/\.(o|elf)$/.test(name)) found.push(p);
  }
  return found;
}

function corpusDir() {
  for (const dir of [process.env.TSBPF_CORPUS, join(root, '../shared/corpus'), join(root, '../../shared/corpus'), '/work/shared/corpus']) {
    if (dir && existsSync(dir)) return dir;
  }
  return undefined;
}

/** The sections of an ELF64 little-endian file: name, type, flags, bytes. */
function sections(buf) {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2 || buf[5] !== 1) return [];
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const shentsize = buf.readUInt16LE(0x3a);
  const shnum = buf.readUInt16LE(0x3c);
  const shstrndx = buf.readUInt16LE(0x3e);
  const hdr = (i) => {
    const o = shoff + i * shentsize;
    return {
      name: buf.readUInt32LE(o),
      type: buf.readUInt32LE(o + 4),
      flags: Number(buf.readBigUInt64LE(o + 8)),
      offset: Number(buf.readBigUInt64LE(o + 0x18)),
      size: Number(buf.readBigUInt64LE(o + 0x20)),
    };
  };
  const strtab = hdr(shstrndx);
  const out = [];
  for (let i = 0; i < shnum; i++) {
    const h = hdr(i);
    const start = strtab.offset + h.name;
    const name = buf.subarray(start, buf.indexOf(0, start)).toString('latin1');
    const bytes = h.type === 8 /* NOBITS */ ? Buffer.alloc(0) : buf.subarray(h.offset, h.offset + h.size);
    out.push({ name, type: h.type, flags: h.flags, bytes });
  }
  return out;
}

const u32 = (v) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};

/**
 * A split BTF blob on top of a base with `baseTypes` types and `baseStrLen` bytes of strings:
 * a pointer to and a typedef of the base's type 1, a struct with a member of each, a FUNC_PROTO,
 * and a DECL_TAG, with names in the split's own strings (whose offsets continue the base's).
 */
function splitBlob(baseTypes, baseStrLen) {
  const strs = Buffer.from('\0split_t\0member\0tag\0', 'latin1');
  const s = (i) => baseStrLen + i;
  const first = baseTypes + 1;
  const type = (name, kind, vlen, st, extra = []) =>
    Buffer.concat([u32(name), u32((kind << 24) | vlen), u32(st), ...extra.map(u32)]);
  const types = Buffer.concat([
    type(0, 2 /* PTR */, 0, 1),
    type(s(1), 8 /* TYPEDEF */, 0, 1),
    type(s(1), 4 /* STRUCT */, 2, 16, [s(9), first, 0, s(9), first + 1, 64]),
    type(0, 13 /* FUNC_PROTO */, 1, first + 1, [s(9), first]),
    type(s(16), 17 /* DECL_TAG */, 0, first + 2, [0xffffffff]),
  ]);
  const hdr = Buffer.concat([Buffer.from([0x9f, 0xeb, 1, 0]), u32(24), u32(0), u32(types.length), u32(types.length), u32(strs.length)]);
  return Buffer.concat([hdr, types, strs]);
}

/** Type count and string length of a standalone BTF blob, read from its header and types. */
function btfShape(btf) {
  const hdrLen = btf.readUInt32LE(4);
  const typeOff = hdrLen + btf.readUInt32LE(8);
  const typeLen = btf.readUInt32LE(12);
  const strLen = btf.readUInt32LE(20);
  let off = typeOff;
  let n = 0;
  const extra = { 1: 4, 3: 12, 4: 12, 5: 12, 6: 8, 13: 8, 14: 4, 15: 12, 17: 4, 19: 12 };
  while (off + 12 <= typeOff + typeLen) {
    const info = btf.readUInt32LE(off + 4);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const per = extra[kind] ?? 0;
    off += 12 + ([4, 5, 6, 13, 15, 19].includes(kind) ? per * vlen : per);
    n++;
  }
  return { types: n, strLen };
}

const written = new Map();
function seed(target, bytes) {
  const dir = join(outRoot, target);
  if (!written.has(target)) {
    mkdirSync(dir, { recursive: true });
    written.set(target, 0);
  }
  const name = createHash('sha1').update(bytes).digest('hex').slice(0, 16);
  writeFileSync(join(dir, name), bytes);
  written.set(target, written.get(target) + 1);
}

function seedObject(bytes) {
  seed('fuzz_elf', bytes);
  const secs = sections(bytes);
  const btf = secs.find((s) => s.name === '.BTF')?.bytes;
  const ext = secs.find((s) => s.name === '.BTF.ext')?.bytes;
  for (const s of secs) if (s.flags & 4 /* SHF_EXECINSTR */ && s.bytes.length) seed('fuzz_insn', s.bytes);
  if (!btf) return;
  seed('fuzz_btf', Buffer.concat([Buffer.from([0]), btf]));
  const shape = btfShape(btf);
  for (const mode of [1, 3]) seed('fuzz_btf', Buffer.concat([Buffer.from([mode]), u32(btf.length), btf, splitBlob(shape.types, shape.strLen)]));
  if (ext) seed('fuzz_btf_ext', Buffer.concat([u32(btf.length), btf, ext]));
  if (btf.length < 512) seed('fuzz_btf_load', Buffer.concat([Buffer.from([btf.length & 0xff, btf.length >> 8]), btf]));
}

const objects = [];
const corpus = corpusDir();
if (corpus) for (const p of objectsUnder(corpus)) objects.push(readFileSync(p));
else console.log('fuzz-seeds: no shared corpus found (set TSBPF_CORPUS); seeding from the fixtures only');

// Each source with BTF, with BTF for ISA v3 (atomics need it), and without BTF (CO-RE
// sources need -g: those variants fail to build and are skipped).
const VARIANTS = [['-g'], ['-g', '-mcpu=v3'], []];
const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-seeds-'));
let built = 0;
let refused = 0;
try {
  for (const dir of ['test/fixtures/bpf', 'test/fixtures/asm']) {
    for (const file of readdirSync(join(root, dir)).filter((f) => f.endsWith('.c'))) {
      VARIANTS.forEach((variant, i) => {
        const out = join(tmp, `${file}.${i}.o`);
        const flags = ['-O2', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-Wno-unused-function', ...variant];
        try {
          execFileSync(clang, [...flags, '-c', join(root, dir, file), '-o', out], { stdio: 'ignore' });
          objects.push(readFileSync(out));
          built++;
        } catch {
          refused++;
        }
      });
    }
  }
  if (built === 0) console.log(`fuzz-seeds: ${clang} built none of the fixtures (is it installed?)`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

for (const bytes of objects) seedObject(bytes);
console.log(
  `fuzz-seeds: ${objects.length} objects (${built} fixture builds, ${refused} variants skipped) -> ${[...written].map(([t, n]) => `${t} ${n}`).join(', ')} (in ${outRoot})`,
);
