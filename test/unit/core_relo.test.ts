// The CO-RE engine on hand-built BTF: every relocation kind in every instruction form it
// patches, candidate matching (flavours, anonymous members, arrays, modules), libbpf's
// compatibility and type-match rules, poisoning, ambiguity and the other refusals, and the
// program's own BTF with its renumbered func_info and annotated line_info. No kernel:
// these are pure functions of bytes.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BpfError,
  Btf,
  CoreRelocationError,
  asm,
  relocateInstructions,
  type CoreRelocation,
  type CoreRelocationKind,
  type CoreRelocationResult,
} from '../../src/index.js';
import { BtfBuilder } from '../helpers/btf_builder.js';

const POISON = 195896080;

const imm = (i: asm.Instruction): bigint => BigInt(i.imm);

/** A relocation of slot `insn` against local type `typeId`. */
function rel(instruction: number, typeId: number, accessString: string, kind: CoreRelocationKind): CoreRelocation {
  return { instruction, typeId, accessString, kind };
}

interface Case {
  local: BtfBuilder;
  target: BtfBuilder;
  insns: asm.Instruction[];
  relos: CoreRelocation[];
}

/** Relocates and returns the decoded instructions and results. */
function run(c: Case, extra: { modules?: Record<string, BtfBuilder>; funcInfo?: Uint8Array; lineInfo?: Uint8Array } = {}) {
  // Access strings must be in the local BTF's strings.
  for (const r of c.relos) c.local.str(r.accessString);
  const localTypes = Btf.parse(c.local.build());
  const kernelTypes = Btf.parse(c.target.build());
  const kernelModules: Record<string, Btf> = {};
  for (const [name, b] of Object.entries(extra.modules ?? {})) kernelModules[name] = Btf.parse(b.build(), { base: kernelTypes });
  const out = relocateInstructions({
    instructions: asm.assemble(c.insns),
    relocations: c.relos,
    localTypes,
    kernelTypes,
    ...(extra.modules ? { kernelModules } : {}),
    ...(extra.funcInfo ? { funcInfo: extra.funcInfo } : {}),
    ...(extra.lineInfo ? { lineInfo: extra.lineInfo } : {}),
  });
  return { ...out, decoded: asm.decode(out.instructions), text: asm.disassemble(out.instructions), localTypes, kernelTypes };
}

/** A base BTF with int, unsigned int, char, long and unsigned long: ids 1..5. */
function scalars(b: BtfBuilder) {
  return {
    int: b.int('int', 4, true),
    uint: b.int('unsigned int', 4),
    char: b.int('char', 1, true),
    long: b.int('long', 8, true),
    ulong: b.int('unsigned long', 8),
  };
}

// ---- field relocations ----------------------------------------------------------------

test('field_byte_offset in every instruction form: ALU immediate, load, store, store immediate', (t) => {
  const local = new BtfBuilder();
  const l = scalars(local);
  const ls = local.struct('s', 8, [['a', l.int, 0], ['b', l.int, 32]]);
  const target = new BtfBuilder();
  const g = scalars(target);
  target.struct('s', 24, [['x', g.long, 0], ['b', g.int, 64], ['pad', g.int, 96], ['a', g.int, 128]]);
  const out = run({
    local,
    target,
    insns: [asm.add64Imm(asm.R1, 4), asm.ldxW(asm.R0, asm.R1, 4), asm.stxW(asm.R1, asm.R0, 4), asm.stW(asm.R1, 0, 7), asm.add32Imm(asm.R2, 4), asm.exit()],
    relos: [rel(0, ls, '0:1', 'field_byte_offset'), rel(1, ls, '0:1', 'field_byte_offset'), rel(2, ls, '0:1', 'field_byte_offset'), rel(3, ls, '0:0', 'field_byte_offset'), rel(4, ls, '0:1', 'field_byte_offset')],
  });
  t.deepEqual(out.text.slice(0, 5), ['r1 += 8', 'r0 = *(u32 *)(r1 + 8)', '*(u32 *)(r1 + 8) = r0', '*(u32 *)(r1 + 16) = 7', 'w2 += 8']);
  t.true(out.results.every((r) => r.status === 'patched' && r.target?.btf === 'kernelTypes'));
  t.deepEqual(out.results.map((r) => [r.localValue, r.targetValue]), [[4n, 8n], [4n, 8n], [4n, 8n], [0n, 16n], [4n, 8n]]);
  t.is(out.results[0]!.description, '[6] struct s.b (0:1 @ offset 4)');
});

test('field_byte_size, field_exists and field_signed', (t) => {
  const local = new BtfBuilder();
  const l = scalars(local);
  const en = local.enum('e', 4, [['A', 0]], true);
  const ls = local.struct('s', 16, [['a', l.int, 0], ['u', l.uint, 32], ['e', en, 64], ['gone', l.int, 96]]);
  const target = new BtfBuilder();
  const g = scalars(target);
  const ten = target.enum('e', 4, [['A', 0]], true);
  target.struct('s', 24, [['u', g.ulong, 0], ['a', g.long, 64], ['e', ten, 128]]);
  const out = run({
    local,
    target,
    insns: [asm.mov64Imm(asm.R0, 4), asm.mov64Imm(asm.R0, 1), asm.mov64Imm(asm.R0, 1), asm.mov64Imm(asm.R0, 1), asm.mov64Imm(asm.R0, 0), asm.mov64Imm(asm.R0, 1), asm.exit()],
    relos: [
      rel(0, ls, '0:0', 'field_byte_size'),
      rel(1, ls, '0:0', 'field_exists'),
      rel(2, ls, '0:3', 'field_exists'),
      rel(3, ls, '0:0', 'field_signed'),
      rel(4, ls, '0:1', 'field_signed'),
      rel(5, ls, '0:2', 'field_signed'),
    ],
  });
  t.deepEqual(out.decoded.slice(0, 6).map(imm), [8n, 1n, 0n, 1n, 0n, 1n]);
  // A missing field is an answer (0), not a poison.
  t.is(out.results[2]!.status, 'patched');
  t.is(out.results[2]!.candidates, 1);
});

test('bitfields: byte offset, size and shifts follow the field to its new place and width', (t) => {
  // relocs_read.c's struct bits, local and target (relocs_read_tgt.c).
  const local = new BtfBuilder();
  const u8 = local.int('unsigned char', 1);
  const u16 = local.int('unsigned short', 2);
  const u64 = local.int('unsigned long', 8);
  const ls = local.struct('bits', 16, [['x', local.int('int', 4, true), 0], ['a', u8, 32, 4], ['b', u8, 36, 2], ['c', u16, 38, 1], ['f', u64, 64, 16]]);
  const target = new BtfBuilder();
  const t8 = target.int('unsigned char', 1);
  const t16 = target.int('unsigned short', 2);
  target.struct('bits', 8, [['b', t8, 0, 2], ['a', t8, 2, 4], ['c', t16, 8, 1], ['f', t16, 16]]);
  const kinds: CoreRelocationKind[] = ['field_byte_offset', 'field_byte_size', 'field_lshift_u64', 'field_rshift_u64'];
  const relos: CoreRelocation[] = [];
  const insns: asm.Instruction[] = [];
  // The compiler's local values: a (bits 32..35): byte 4, size 1, lshift 64-(32+4-32)=60, rshift 60.
  const localValues: Record<string, number[]> = { '0:1': [4, 1, 60, 60], '0:2': [4, 1, 58, 62], '0:3': [4, 2, 57, 63], '0:4': [8, 8, 48, 48] };
  for (const [access, vals] of Object.entries(localValues)) {
    kinds.forEach((k, i) => {
      relos.push(rel(insns.length, ls, access, k));
      insns.push(asm.mov64Imm(asm.R0, vals[i]!));
    });
  }
  insns.push(asm.exit());
  const out = run({ local, target, insns, relos });
  const got = out.results.map((r) => Number(r.targetValue));
  // a: bits 2..5 of byte 0; b: bits 0..1; c: bit 8 of the u16 at 0; f: a plain u16 at byte 2.
  t.deepEqual(got, [0, 1, 58, 60, 0, 1, 62, 62, 0, 2, 55, 63, 2, 2, 48, 48]);
  t.deepEqual(out.decoded.slice(0, 16).map((i) => Number(i.imm)), got);
});

test('loads change size where zero extension keeps the value, and are poisoned where it would not', (t) => {
  const local = new BtfBuilder();
  const l = scalars(local);
  const lp = local.ptr(l.int);
  const ls = local.struct('s', 24, [['u', l.uint, 0], ['i', l.int, 32], ['p', lp, 64], ['w', l.ulong, 128]]);
  const target = new BtfBuilder();
  const g = scalars(target);
  const gp = target.ptr(g.int);
  target.struct('s', 24, [['u', g.ulong, 0], ['i', g.long, 64], ['p', gp, 128], ['w', g.uint, 160]]);
  const out = run({
    local,
    target,
    insns: [asm.ldxW(asm.R0, asm.R1, 0), asm.ldxW(asm.R0, asm.R1, 4), asm.ldxDW(asm.R0, asm.R1, 8), asm.ldxDW(asm.R0, asm.R1, 16), asm.exit()],
    relos: [rel(0, ls, '0:0', 'field_byte_offset'), rel(1, ls, '0:1', 'field_byte_offset'), rel(2, ls, '0:2', 'field_byte_offset'), rel(3, ls, '0:3', 'field_byte_offset')],
  });
  t.is(out.text[0], 'r0 = *(u64 *)(r1 + 0)', 'unsigned 4 -> 8 bytes: widened');
  t.is(out.text[1], `call ${POISON}`, 'signed 4 -> 8 bytes: a wrong value either way, poisoned');
  t.is(out.results[1]!.status, 'poisoned');
  t.regex(out.results[1]!.reason!, /another size/);
  t.is(out.text[2], 'r0 = *(u64 *)(r1 + 16)', 'pointer to pointer');
  t.is(out.text[3], 'r0 = *(u32 *)(r1 + 20)', 'unsigned 8 -> 4 bytes: narrowed');
});

test('arrays, nested members, members of anonymous structs and flexible arrays', (t) => {
  const local = new BtfBuilder();
  const l = scalars(local);
  const idx = l.int;
  const inner = local.struct('inner', 8, [['p', l.int, 0], ['q', l.int, 32]]);
  const arr = local.array(inner, idx, 4);
  const flexElem = local.array(l.int, idx, 0);
  const outer = local.struct('outer', 40, [['n', l.int, 0], ['items', arr, 32], ['tail', flexElem, 288]]);
  const target = new BtfBuilder();
  const g = scalars(target);
  const tinner = target.struct('inner', 12, [['q', g.int, 0], ['z', g.int, 32], ['p', g.int, 64]]);
  const tarr = target.array(tinner, g.int, 8);
  const anon = target.struct('', 100, [['items', tarr, 32]]);
  const tflex = target.array(g.int, g.int, 0);
  target.struct('outer', 120, [['n', g.long, 0], ['', anon, 64], ['tail', tflex, 896]]);
  const out = run({
    local,
    target,
    insns: [asm.add64Imm(asm.R1, 24), asm.add64Imm(asm.R1, 96), asm.add64Imm(asm.R1, 4), asm.exit()],
    relos: [
      rel(0, outer, '0:1:2:1', 'field_byte_offset'), // items[2].q: local 4 + 2*8 + 4
      rel(1, outer, '1:2:5', 'field_byte_offset'), // outer[1].tail[5]: 40 + 36 + 5*4
      rel(2, outer, '0:1:0:0', 'field_byte_offset'), // items[0].p
    ],
  });
  // Target: the anonymous struct sits at byte 8, items at 4 inside it, elements 12 bytes.
  t.is(out.results[0]!.targetValue, 8n + 4n + 2n * 12n + 0n);
  t.is(out.results[2]!.targetValue, 8n + 4n + 8n);
  // tail is a flexible array in both: index 5 is fine; outer[1] steps over the target's 120 bytes.
  t.is(out.results[1]!.status, 'patched');
  t.is(out.results[1]!.targetValue, 120n + 112n + 20n);
  t.is(out.results[0]!.description, '[9] struct outer.items[2].q (0:1:2:1 @ offset 24)');
});

// ---- type and enum relocations --------------------------------------------------------

test('type relocations: local and target ids, existence and size, in ALU and 64-bit load forms', (t) => {
  const local = new BtfBuilder();
  const l = scalars(local);
  const ls = local.struct('task', 8, [['pid', l.int, 0]]);
  const lt = local.typedef('task_t', ls);
  const missing = local.struct('nowhere', 4, [['x', l.int, 0]]);
  const target = new BtfBuilder();
  const g = scalars(target);
  const ts = target.struct('task', 64, [['pid', g.int, 0]]);
  const tt = target.typedef('task_t', ts);
  const out = run({
    local,
    target,
    insns: [
      asm.mov64Imm(asm.R0, ls), asm.mov64Imm(asm.R0, ls), asm.mov64Imm(asm.R0, 1), asm.mov64Imm(asm.R0, 8),
      asm.ldImm64(asm.R0, 8n), asm.mov64Imm(asm.R0, lt), asm.mov64Imm(asm.R0, 1), asm.mov64Imm(asm.R0, 4), asm.mov64Imm(asm.R0, missing), asm.exit(),
    ],
    relos: [
      rel(0, ls, '0', 'type_id_local'),
      rel(1, ls, '0', 'type_id_target'),
      rel(2, ls, '0', 'type_exists'),
      rel(3, ls, '0', 'type_size'),
      rel(4, ls, '0', 'type_size'),
      rel(6, lt, '0', 'type_id_target'),
      rel(7, missing, '0', 'type_exists'),
      rel(8, missing, '0', 'type_size'),
      rel(9, missing, '0', 'type_id_target'),
    ],
  });
  const imm = out.decoded.map((i) => BigInt(i.imm));
  t.is(imm[0], 1n, 'type_id_local: the id in the program BTF (the only type it needs, so 1)');
  t.is(imm[1], BigInt(ts));
  t.is(imm[2], 1n);
  t.is(imm[3], 64n);
  t.is(imm[4], 64n, 'a 64-bit load keeps its form');
  t.is(imm[5], BigInt(tt), 'a typedef relocates to the typedef of that name');
  t.deepEqual([imm[6], imm[7], imm[8]], [0n, 0n, 0n], 'a missing type reads 0 for existence, size and id');
  t.true(out.results.every((r) => r.status === 'patched'));
});

test('type_matches follows the kernel rules: sizes, signedness, member names, enumerators, arities, forward declarations behind pointers', (t) => {
  const build = (b: BtfBuilder, variant: 'same' | 'int-size' | 'int-sign' | 'member' | 'enum-val' | 'array-len' | 'fwd' | 'proto') => {
    const i32 = b.int('int', 4, true);
    const i64 = b.int('long', 8, true);
    const u32 = b.int('unsigned int', 4);
    const inner = variant === 'fwd' ? b.fwd('inner') : b.struct('inner', 4, [['v', i32, 0]]);
    const ptr = b.ptr(inner);
    const en = b.enum('color', 4, variant === 'enum-val' ? [['RED', 0]] : [['RED', 0], ['BLUE', 1]]);
    const arr = b.array(i32, i32, variant === 'array-len' ? 3 : 4);
    const proto = b.funcProto(i32, variant === 'proto' ? [['a', i32]] : [['a', i32], ['b', i32]]);
    const fp = b.ptr(proto);
    const members: Array<[string, number, number]> = [
      ['x', variant === 'int-size' ? i64 : variant === 'int-sign' ? u32 : i32, 0],
      [variant === 'member' ? 'renamed' : 'p', ptr, 64],
      ['c', en, 128],
      ['a', arr, 160],
      ['f', fp, 320],
    ];
    return b.struct('thing', 48, members);
  };
  const variants = ['same', 'int-size', 'int-sign', 'member', 'enum-val', 'array-len', 'fwd', 'proto'] as const;
  const expected: Record<(typeof variants)[number], bigint> = {
    // A target enum with fewer values than the local one does not match ('enum-val').
    same: 1n, 'int-size': 0n, 'int-sign': 0n, member: 0n, 'enum-val': 0n, 'array-len': 0n, fwd: 1n, proto: 0n,
  };
  for (const v of variants) {
    const local = new BtfBuilder();
    const lid = build(local, 'same');
    const target = new BtfBuilder();
    build(target, v);
    const out = run({ local, target, insns: [asm.mov64Imm(asm.R0, 1), asm.exit()], relos: [rel(0, lid, '0', 'type_matches')] });
    t.is(imm(out.decoded[0]!), expected[v], v);
  }
});

test('enum values: existence and value by name, signed, 64-bit (ld_imm64) and across ENUM/ENUM64', (t) => {
  const local = new BtfBuilder();
  const le = local.enum('mode', 4, [['OFF', 0], ['ON', 1], ['GONE', 2]]);
  const ls = local.enum('delta', 4, [['NEG', -5]], true);
  const l64 = local.enum64('big', [['LARGE', 0x1ffffffffn]]);
  const target = new BtfBuilder();
  target.enum('mode', 4, [['ON', 40], ['OFF', 30]]);
  target.enum('delta', 4, [['NEG', -7]], true);
  target.enum64('big', [['LARGE', 0x2ffffffffn]]);
  const out = run({
    local,
    target,
    insns: [
      asm.mov64Imm(asm.R0, 1), asm.mov64Imm(asm.R0, 1), asm.mov64Imm(asm.R0, 1), asm.mov64Imm(asm.R0, -5), asm.ldImm64(asm.R0, 0x1ffffffffn),
      asm.mov64Imm(asm.R0, 2), asm.exit(),
    ],
    relos: [
      rel(0, le, '1', 'enumval_exists'),
      rel(1, le, '1', 'enumval_value'),
      rel(2, le, '2', 'enumval_exists'),
      rel(3, ls, '0', 'enumval_value'),
      rel(4, l64, '0', 'enumval_value'),
      rel(6, le, '2', 'enumval_value'),
    ],
  });
  t.deepEqual(out.decoded.slice(0, 5).map(imm), [1n, 40n, 0n, -7n, 0x2ffffffffn]);
  t.is(out.results[0]!.description, '[1] enum mode::ON = 1');
  t.is(out.text[5], `call ${POISON}`, 'a missing value poisons its use (the 64-bit load takes one line of text)');
  t.is(out.results[5]!.status, 'poisoned');
});

// ---- candidates -------------------------------------------------------------------------

test('flavours: a local ___suffix type finds the plain target type, and candidates that agree are not ambiguous', (t) => {
  const local = new BtfBuilder();
  const l = scalars(local);
  const ls = local.struct('sock___v2', 8, [['fam', l.int, 32]]);
  const target = new BtfBuilder();
  const g = scalars(target);
  target.struct('sock', 16, [['x', g.long, 0], ['fam', g.int, 64]]);
  target.struct('sock___copy', 16, [['x', g.long, 0], ['fam', g.int, 64]]);
  target.struct('sock___unrelated', 4, [['other', g.int, 0]]);
  const out = run({ local, target, insns: [asm.add64Imm(asm.R1, 4), asm.exit()], relos: [rel(0, ls, '0:0', 'field_byte_offset')] });
  t.is(imm(out.decoded[0]!), 8n);
  t.is(out.results[0]!.candidates, 3);
  t.is(out.results[0]!.target?.typeId, 6, 'the first matching candidate');
});

test('ambiguous candidates fail, naming both (as cilium/ebpf err_ambiguous and err_ambiguous_flavour)', (t) => {
  for (const localName of ['pair', 'pair___flavour']) {
    const local = new BtfBuilder();
    const l = scalars(local);
    const ls = local.struct(localName, 8, [['a', l.int, 0], ['b', l.char, 32]]);
    const target = new BtfBuilder();
    const g = scalars(target);
    target.struct('pair', 8, [['a', g.int, 0], ['b', g.char, 32]]);
    target.struct('pair___flavour', 12, [['a', g.char, 0], ['b', g.int, 64]]);
    for (const [kind, access, insn] of [
      ['type_id_target', '0', asm.mov64Imm(asm.R0, ls)],
      ['field_byte_offset', '0:1', asm.add64Imm(asm.R1, 4)],
    ] as const) {
      const e = t.throws(() => run({ local, target, insns: [insn, asm.exit()], relos: [rel(0, ls, access, kind)] }), { instanceOf: CoreRelocationError });
      t.true(e!.ambiguous, `${localName} ${kind}`);
      t.regex(e!.message, /ambiguous relocation: candidates \[6\] struct pair and \[7\] struct pair___flavour (give different values|put the field at different offsets)/);
      t.regex(e!.message, new RegExp(`CO-RE relocation #0 \\(${kind} of \\[6\\] struct ${localName}`));
    }
  }
});

test('a later relocation of the same type only considers the candidates that matched before', (t) => {
  const local = new BtfBuilder();
  const l = scalars(local);
  const ls = local.struct('conn', 8, [['a', l.int, 0], ['b', l.int, 32]]);
  const target = new BtfBuilder();
  const g = scalars(target);
  target.struct('conn', 8, [['a', g.int, 0], ['b', g.int, 32]]);
  target.struct('conn___old', 8, [['b', g.int, 0], ['c', g.int, 32]]);
  // "a" is only in the first; after it, "b" is looked for there only (not ambiguous).
  const out = run({
    local,
    target,
    insns: [asm.add64Imm(asm.R1, 0), asm.add64Imm(asm.R1, 4), asm.exit()],
    relos: [rel(0, ls, '0:0', 'field_byte_offset'), rel(1, ls, '0:1', 'field_byte_offset')],
  });
  t.deepEqual(out.results.map((r) => r.targetValue), [0n, 4n]);
});

test('module BTF is searched only when the kernel types have no candidate, and reported by module name', (t) => {
  const local = new BtfBuilder();
  const l = scalars(local);
  const inVmlinux = local.struct('core_thing', 4, [['v', l.int, 0]]);
  const inModule = local.struct('mod_thing', 8, [['v', l.int, 32]]);
  const target = new BtfBuilder();
  const g = scalars(target);
  target.struct('core_thing', 4, [['v', g.int, 0]]);
  const base = Btf.parse(target.build());
  const mod = new BtfBuilder({ endId: base.endId, strLen: target.stringLength });
  const mt = mod.struct('mod_thing', 16, [['pad', 1, 0], ['v', 1, 64]]);
  const out = run(
    { local, target, insns: [asm.add64Imm(asm.R1, 0), asm.add64Imm(asm.R1, 4), asm.mov64Imm(asm.R0, inModule), asm.exit()], relos: [rel(0, inVmlinux, '0:0', 'field_byte_offset'), rel(1, inModule, '0:0', 'field_byte_offset'), rel(2, inModule, '0', 'type_id_target')] },
    { modules: { my_mod: mod } },
  );
  t.deepEqual(out.results.map((r) => r.target?.btf), ['kernelTypes', 'my_mod', 'my_mod']);
  t.is(out.results[1]!.targetValue, 8n);
  t.is(out.results[2]!.targetValue, BigInt(mt), 'split BTF ids continue after the base');
});

// ---- poisoning and refusals ------------------------------------------------------------

test('unsatisfied relocations poison their instruction: one call, or two for a 64-bit load', (t) => {
  const local = new BtfBuilder();
  const l = scalars(local);
  const ls = local.struct('absent', 8, [['a', l.int, 0]]);
  const le = local.enum('absent_e', 8, [['X', 3]]);
  const target = new BtfBuilder();
  scalars(target);
  const out = run({
    local,
    target,
    insns: [asm.ldxW(asm.R0, asm.R1, 0), asm.ldImm64(asm.R0, 3n), asm.mov64Imm(asm.R0, 1), asm.exit()],
    relos: [rel(0, ls, '0:0', 'field_byte_offset'), rel(1, le, '0', 'enumval_value'), rel(3, ls, '0:0', 'field_exists')],
  });
  t.deepEqual(out.text, [`call ${POISON}`, `call ${POISON}`, `call ${POISON}`, 'r0 = 0', 'exit']);
  t.deepEqual(out.results.map((r) => r.status), ['poisoned', 'poisoned', 'patched']);
  t.regex(out.results[0]!.reason!, /no type named like struct absent in kernelTypes/);
});

test('refusals name the relocation: bad access strings, unexpected instructions, anonymous types, values too large', (t) => {
  const local = new BtfBuilder();
  const l = scalars(local);
  const ls = local.struct('s', 8, [['a', l.int, 0], ['b', l.int, 32]]);
  const anon = local.struct('', 4, [['x', l.int, 0]]);
  const arr = local.array(l.int, l.int, 2);
  const holder = local.struct('h', 8, [['arr', arr, 0]]);
  const target = new BtfBuilder();
  const g = scalars(target);
  target.struct('s', 70000, [['a', g.int, 0], ['b', g.int, 8 * 65536]]);
  target.struct('h', 8, [['arr', target.array(g.int, g.int, 2), 0]]);
  const cases: Array<[string, asm.Instruction, CoreRelocation, RegExp]> = [
    ['member index out of range', asm.add64Imm(asm.R1, 4), rel(0, ls, '0:7', 'field_byte_offset'), /access string "0:7": a member index is past the last member/],
    ['not a number', asm.add64Imm(asm.R1, 4), rel(0, ls, '0:x', 'field_byte_offset'), /not a list of numbers/],
    ['array index past the end', asm.add64Imm(asm.R1, 4), rel(0, holder, '0:0:5', 'field_byte_offset'), /array index is past the array's end/],
    ['type relocation with an access path', asm.mov64Imm(asm.R0, 1), rel(0, ls, '0:1', 'type_exists'), /must be "0"/],
    ['enum relocation on a struct', asm.mov64Imm(asm.R0, 1), rel(0, ls, '0', 'enumval_exists'), /needs an enum/],
    ['the compiler value differs', asm.add64Imm(asm.R1, 9), rel(0, ls, '0:1', 'field_byte_offset'), /holds 9 where the compiler's value 4 was expected/],
    ['an instruction without an immediate', asm.add64Reg(asm.R1, asm.R2), rel(0, ls, '0:1', 'field_byte_offset'), /has no immediate to patch/],
    ['a jump', asm.ja(0), rel(0, ls, '0:1', 'field_byte_offset'), /cannot carry a CO-RE value/],
    ['an anonymous type', asm.mov64Imm(asm.R0, 1), rel(0, anon, '0', 'type_exists'), /only named types can be relocated/],
    ['an offset beyond a load\'s 16 bits', asm.ldxW(asm.R0, asm.R1, 4), rel(0, ls, '0:1', 'field_byte_offset'), /offset 65536 does not fit/],
  ];
  for (const [what, insn, r, re] of cases) {
    const e = t.throws(() => run({ local, target, insns: [insn, asm.exit()], relos: [r] }), { instanceOf: CoreRelocationError }, what);
    t.regex(e!.message, re, what);
    t.regex(e!.message, /CO-RE relocation #0 .* at instruction 0/, what);
    t.false(e!.ambiguous);
  }
  // Arguments are checked before the core runs.
  const localTypes = Btf.parse(local.build());
  t.throws(() => relocateInstructions({ instructions: asm.assemble([asm.exit()]), relocations: [rel(3, ls, '0', 'type_exists')], localTypes }), { instanceOf: BpfError, message: /instruction slot below 1/ });
  t.throws(() => relocateInstructions({ instructions: new Uint8Array(7), relocations: [], localTypes }), { message: /8 bytes per slot/ });
  t.throws(() => relocateInstructions({ instructions: asm.assemble([asm.exit()]), relocations: [], localTypes, kernelTypes: 5 as never }), { message: /"kernelTypes" must be a Btf, a path or bytes/ });
  t.throws(() => relocateInstructions({ instructions: asm.assemble([asm.exit()]), relocations: [], localTypes, bogus: 1 } as never), { message: /unknown option "bogus"/ });
});

// ---- the program's BTF ------------------------------------------------------------------

/** func_info {insn, type} and line_info {insn, file, line, line_col} records. */
function records(recs: number[][], size: number): Buffer {
  const b = Buffer.alloc(recs.length * size);
  recs.forEach((r, i) => r.forEach((v, j) => b.writeUInt32LE(v, i * size + j * 4)));
  return b;
}

test('the program BTF holds its FUNCs and the TYPE_ID_LOCAL types first, renumbered; bpftool reads it; line_info marks poisons', (t) => {
  const local = new BtfBuilder();
  const l = scalars(local);
  for (let i = 0; i < 20; i++) local.struct(`unused${i}`, 4, [['x', l.int, 0]]);
  const used = local.struct('used', 8, [['a', l.int, 0], ['p', local.ptr(l.char), 0]]);
  const absent = local.struct('absent', 4, [['m', l.int, 0]]);
  const proto = local.funcProto(l.int, [['ctx', local.ptr(0)]]);
  const fn = local.func('prog', proto);
  const file = local.str('prog.c');
  const lines = [local.str('int prog(void *ctx) {'), local.str('  return x->m;'), local.str('}')];
  const target = new BtfBuilder();
  scalars(target);
  const out = run(
    {
      local,
      target,
      insns: [asm.mov64Imm(asm.R0, used), asm.ldxW(asm.R0, asm.R1, 0), asm.mov64Imm(asm.R0, 1), asm.exit()],
      relos: [rel(0, used, '0', 'type_id_local'), rel(1, absent, '0:0', 'field_byte_offset')],
    },
    { funcInfo: records([[0, fn]], 8), lineInfo: records([[0, file, lines[0]!, (10 << 10) | 1], [1, file, lines[1]!, (11 << 10) | 3], [3, file, lines[2]!, 12 << 10]], 16) },
  );
  const prog = Btf.parse(out.btf!);
  t.deepEqual([prog.type(1).kind, prog.type(1).name], ['FUNC', 'prog']);
  t.deepEqual([prog.type(2).kind, prog.type(2).name], ['STRUCT', 'used']);
  t.is(imm(out.decoded[0]!), 2n, 'type_id_local is the id in the program BTF');
  t.is(out.funcInfo!.readUInt32LE(4), 1, 'func_info names the renumbered FUNC');
  t.false([...prog].some((x) => x.name.startsWith('unused')), 'unused types are left out');
  t.true(prog.length < 10);
  // bpftool agrees on every type.
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-core-'));
  try {
    writeFileSync(join(dir, 'prog.btf'), out.btf!);
    const dump = execFileSync('bpftool', ['btf', 'dump', 'file', join(dir, 'prog.btf')], { encoding: 'utf8' });
    t.regex(dump, /\[1\] FUNC 'prog' type_id=\d+ linkage=global/);
    t.regex(dump, /\[2\] STRUCT 'used' size=8 vlen=2/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // line_info: the poisoned load at 1 gets a note (line 0, so the verifier prints it), the
  // instructions after it go back to their line.
  const li = out.lineInfo!;
  const recs = [];
  for (let i = 0; i < li.length; i += 16) recs.push([li.readUInt32LE(i), prog.string(li.readUInt32LE(i + 8)), li.readUInt32LE(i + 12) >>> 10]);
  t.deepEqual(recs, [
    [0, 'int prog(void *ctx) {', 10],
    [1, 'instruction poisoned by CO-RE: field_byte_offset of [28] struct absent.m (0:0 @ offset 0), line 11: return x->m;', 0],
    [2, '  return x->m;', 11],
    [3, '}', 12],
  ]);
});

// ---- results ----------------------------------------------------------------------------

test('results describe each relocation', (t) => {
  const local = new BtfBuilder();
  const l = scalars(local);
  const ls = local.struct('s', 4, [['a', l.int, 0]]);
  const target = new BtfBuilder();
  const g = scalars(target);
  target.struct('s', 8, [['z', g.int, 0], ['a', g.int, 32]]);
  const out = run({ local, target, insns: [asm.add64Imm(asm.R1, 0), asm.exit()], relos: [rel(0, ls, '0:0', 'field_byte_offset')] });
  const want: CoreRelocationResult = {
    index: 0,
    instruction: 0,
    kind: 'field_byte_offset',
    status: 'patched',
    description: '[6] struct s.a (0:0 @ offset 0)',
    localTypeId: ls,
    target: { btf: 'kernelTypes', typeId: 6 },
    candidates: 1,
    localValue: 0n,
    targetValue: 4n,
  };
  t.deepEqual(out.results[0], want);
});
