// The assembler's symbolic side and its refusals: labels, jumps and calls to labels, maps
// by name or object, the errors that name an instruction and a reason, decoding's checks,
// printing options and the program tag (against node:crypto). All on a fake host: the
// assembler must never need the kernel.
import test from 'ava';
import { createHash } from 'node:crypto';
import { BpfError, Program, ProgramType, asm } from '../../src/index.js';
import { fakeCore } from '../helpers/fake.js';

const { R0, R1, R2, R3, R6, R10 } = asm;

function fake(t: { teardown(fn: () => void): void }) {
  const setup = fakeCore();
  t.teardown(setup.restore);
  return setup;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const slots = (b: Uint8Array) => b.length / 8;

test('labels resolve forward and backward jumps, calls, gotol, may_goto and function addresses', (t) => {
  const { host } = fake(t);
  const code = asm.assemble([
    asm.mov64Imm(R0, 0), // 0
    asm.label('loop'),
    asm.add64Imm(R0, 1), // 1
    asm.jltImm(R0, 10, 'loop'), // 2: back to 1 -> off -2
    asm.jeqImm(R0, 10, 'done'), // 3: to 9 -> off +5
    asm.call('sub'), // 4: to 10 -> imm +5
    asm.ldFunc(R2, 'sub'), // 5-6: to 10 -> imm +4 (counted from the first half, as the kernel does)
    asm.gotol('done'), // 7: to 9 -> imm +1
    asm.mayGoto('done'), // 8: to 9 -> off 0
    asm.label('done'),
    asm.exit(), // 9
    asm.label('sub'),
    asm.label('alias'), // two labels may name one instruction
    asm.mov64Imm(R0, 1), // 10
    asm.ja('alias'), // 11: to 10 -> off -2
    asm.ldFunc(R3, 'loop'), // 12-13: to 1 -> imm -12, the low half of imm
    asm.exit(), // 14
  ]);
  t.deepEqual(asm.disassemble(code), [
    'r0 = 0',
    'r0 += 1',
    'if r0 < 10 goto -2',
    'if r0 == 10 goto +5',
    'call 5',
    'ld_pseudo r2, 4, 4',
    'gotol +1',
    'may_goto +0',
    'exit',
    'r0 = 1',
    'goto -2',
    `ld_pseudo r3, 4, ${2 ** 32 - 12}`,
    'exit',
  ]);
  t.is(slots(code), 15);
  t.is(host.requests.length, 0);
});

test('maps resolve by name (fd and value offset) and by object, and the fd is read at assembly', (t) => {
  fake(t);
  const m = { fd: 7 };
  const insns = [
    asm.ldMapFd(R1, 'counters'),
    asm.ldMapValue(R2, 'counters', 24),
    asm.ldMapFd(R3, m),
    asm.ldMapValue(R3, m, 8),
    asm.exit(),
  ];
  t.deepEqual(asm.disassemble(asm.assemble(insns, { maps: { counters: { fd: 12 } } })), [
    'ld_pseudo r1, 1, 12',
    `ld_pseudo r2, 2, ${(24n << 32n) | 12n}`,
    'ld_pseudo r3, 1, 7',
    `ld_pseudo r3, 2, ${(8n << 32n) | 7n}`,
    'exit',
  ]);
  const later = { fd: 3 };
  const insn = asm.ldMapFd(R1, later);
  (later as { fd: number }).fd = 9;
  t.deepEqual(asm.decode(asm.assemble([insn, asm.exit()])), [asm.raw(asm.Opcode.LD_IMM64, 1, 1, 0, 9n), asm.exit()]);
});

test('instructions print themselves, symbols by name', (t) => {
  fake(t);
  const cases: [asm.Instruction, string][] = [
    [asm.label('out'), 'out:'],
    [asm.jeqImm(R1, 0, 'out'), 'if r1 == 0 goto <out>'],
    [asm.jne32Reg(R1, R2, 'out'), 'if w1 != w2 goto <out>'],
    [asm.ja('out'), 'goto <out>'],
    [asm.gotol('far'), 'gotol <far>'],
    [asm.mayGoto('out'), 'may_goto <out>'],
    [asm.call('fn'), 'call <fn>'],
    [asm.ldFunc(R2, 'cb'), 'ld_pseudo r2, 4, <cb>'],
    [asm.ldMapFd(R1, 'm'), 'ld_pseudo r1, 1, <m>'],
    [asm.ldMapValue(R1, 'm', 16), 'ld_pseudo r1, 2, <m+16>'],
    [asm.ldMapValue(R1, 'm'), 'ld_pseudo r1, 2, <m>'],
    [asm.ldMapFd(R1, { fd: 4 }), 'ld_pseudo r1, 1, 4'],
    [asm.ldImm64(R1, 2n ** 64n - 1n), 'r1 = -1 ll'],
  ];
  for (const [insn, text] of cases) t.is(insn.toString(), text);
  t.is(asm.label('out').width, 0);
  t.is(asm.ldImm64(R1, 1).width, 2);
  t.is(asm.exit().width, 1);
  t.is(asm.mov64Imm(R1, 255).toString({ hex: true }), 'r1 = 0xff');
  t.is(asm.ldxW(R1, R2, -8).toString({ hex: true, alu32: true }), 'w1 = *(u32 *)(r2 - 0x8)');
  t.is(`${asm.jgtImm(R1, -1, -3)}`, 'if r1 > -1 goto -3');
  t.throws(() => asm.exit().toString({ colour: true } as never), { instanceOf: BpfError, message: /unknown option "colour"/ });
  t.throws(() => asm.raw(0x8c, 0, 0, 0, 0).toString(), { instanceOf: BpfError, message: /unknown opcode 0x8c/ });
});

// [name, instructions, options, expected index, message]
const ASSEMBLY_ERRORS: [string, asm.Instruction[], asm.AssembleOptions, number, RegExp][] = [
  ['undefined label', [asm.mov64Imm(R0, 0), asm.jeqImm(R0, 0, 'nowhere'), asm.exit()], {}, 1, /instruction 1: label 'nowhere' is not defined/],
  ['label defined twice', [asm.label('a'), asm.mov64Imm(R0, 0), asm.label('a'), asm.exit()], {}, 2, /label 'a' is already defined by instruction 0/],
  ['call to an undefined subprogram', [asm.call('f'), asm.exit()], {}, 0, /label 'f' is not defined/],
  ['jump past the end', [asm.mov64Imm(R0, 0), asm.ja(1), asm.exit()], {}, 1, /jump target 3 is outside the program \(instructions 0 to 2\)/],
  ['jump before the start', [asm.ja(-2), asm.exit()], {}, 0, /jump target -1 is outside the program/],
  ['jump to a label at the end', [asm.ja('end'), asm.exit(), asm.label('end')], {}, 0, /jump target 2 is outside the program/],
  ['jump into an ld_imm64', [asm.ja(1), asm.ldImm64(R0, 1), asm.exit()], {}, 0, /jump target 2 is the second half of the ld_imm64 at instruction 1/],
  ['call outside the program', [asm.callSubprog(5), asm.exit()], {}, 0, /call target 6 is outside the program/],
  ['function address outside', [asm.ldFunc(R1, 9), asm.exit()], {}, 0, /function address 10 is outside the program/],
  ['unknown map', [asm.ldMapFd(R1, 'nope'), asm.exit()], { maps: { other: { fd: 3 } } }, 0, /map 'nope' is not among the 1 maps given/],
  ['symbol on an instruction that takes none', [new asm.Instruction(asm.Opcode.MOV64_IMM, 0, 0, 0, 0, 'x'), asm.exit()], {}, 0, /mov does not refer to a label or map, but names 'x'/],
  ['helper call with a label', [new asm.Instruction(asm.Opcode.CALL, 0, 0, 0, 0, 'x')], {}, 0, /call helper does not refer to a label or map/],
  ['register r11', [asm.mov64Imm(11 as asm.Register, 1)], {}, 0, /register r11 does not exist \(dst; r0 to r10\)/],
  ['negative register', [asm.mov64Reg(R1, -1 as asm.Register)], {}, 0, /register r-1 does not exist \(src/],
  ['reserved src', [asm.raw(asm.Opcode.ADD64_IMM, 1, 2, 0, 5)], {}, 0, /add uses reserved field src \(2, must be 0\)/],
  ['reserved imm', [asm.raw(asm.Opcode.ADD64_REG, 1, 2, 0, 5)], {}, 0, /add uses reserved field imm \(5, must be 0\)/],
  ['reserved dst of exit', [asm.raw(asm.Opcode.EXIT, 1, 0, 0, 0)], {}, 0, /exit uses reserved field dst/],
  ['reserved off of add', [asm.raw(asm.Opcode.ADD64_REG, 1, 2, 3, 0)], {}, 0, /opcode 0x0f with off 3 is no instruction \(off must be 0 for add\)/],
  ['div by an off that is neither div nor sdiv', [asm.raw(asm.Opcode.DIV64_REG, 1, 2, 2, 0)], {}, 0, /off must be 0 for div, 1 for sdiv/],
  ['movsx of 24 bits', [asm.movsx64Reg(R1, R2, 24 as 8)], {}, 0, /off must be 0 for mov, 8 for movsx8, 16 for movsx16, 32 for movsx32/],
  ['movsx32 of 32 bits', [asm.movsx32Reg(R1, R2, 32 as 8)], {}, 0, /with off 32 is no instruction/],
  ['byte swap of 8 bits', [asm.raw(asm.Opcode.BE, 1, 0, 0, 8)], {}, 0, /opcode 0xdc with imm 8 is no instruction \(imm must be 16 for be16, 32 for be32, 64 for be64\)/],
  ['unknown atomic', [asm.raw(asm.Opcode.ATOMIC64, 1, 2, 0, 0x31)], {}, 0, /opcode 0xdb with imm 0x31 is no instruction \(imm must be 0x0 for atomic_add, 0x1 for atomic_fetch_add, 0x40 for atomic_or/],
  ['unknown opcode', [asm.raw(0x8c, 0, 0, 0, 0)], {}, 0, /unknown opcode 0x8c/],
  ['opcode beyond a byte', [asm.raw(0x1ff, 0, 0, 0, 0)], {}, 0, /opcode 511 is not a byte/],
  ['call in JMP32', [asm.raw(0x86, 0, 0, 0, 1)], {}, 0, /unknown opcode 0x86/],
  ['imm beyond 32 bits', [asm.mov64Imm(R1, 2 ** 31)], {}, 0, /immediate 2147483648 does not fit in 32 bits/],
  ['offset beyond 16 bits', [asm.ldxW(R1, R2, 40000)], {}, 0, /offset 40000 does not fit in 16 bits/],
  ['division by zero', [asm.div64Imm(R1, 0)], {}, 0, /div by zero/],
  ['signed modulo by zero', [asm.smod32Imm(R1, 0)], {}, 0, /smod by zero/],
  ['64-bit shift by 64', [asm.lsh64Imm(R1, 64)], {}, 0, /lsh by 64 is out of range for a 64-bit shift \(0 to 63\)/],
  ['32-bit shift by -1', [asm.arsh32Imm(R1, -1)], {}, 0, /arsh by -1 is out of range for a 32-bit shift/],
  ['map fd ld_imm64 with an upper half', [asm.raw(asm.Opcode.LD_IMM64, 1, 1, 0, 1n << 32n)], {}, 0, /uses reserved field imm of its second half/],
  ['ld_imm64 with an unknown source', [asm.raw(asm.Opcode.LD_IMM64, 1, 7, 0, 0n)], {}, 0, /src must be 0 for ld_imm64, 1 for ld_imm64 \(map fd\)/],
  ['ld_abs with a destination', [asm.raw(asm.Opcode.LD_ABS_B, 1, 0, 0, 0)], {}, 0, /ld_abs uses reserved field dst/],
  ['kfunc call with a destination', [asm.raw(asm.Opcode.CALL, 1, 2, 0, 5)], {}, 0, /call kfunc uses reserved field dst/],
  ['may_goto with an imm', [asm.raw(asm.Opcode.MAY_GOTO, 0, 0, 0, 1)], { fragment: true }, 0, /may_goto uses reserved field imm/],
  ['gotol with an off', [asm.raw(asm.Opcode.GOTOL, 0, 0, 1, 0)], { fragment: true }, 0, /gotol uses reserved field off/],
];

for (const [name, insns, opts, index, message] of ASSEMBLY_ERRORS) {
  test(`assemble refuses: ${name}`, (t) => {
    const { host } = fake(t);
    const err = t.throws(() => asm.assemble(insns, opts), { instanceOf: asm.InstructionError, message }) as asm.InstructionError;
    t.is(err.index, index);
    t.is(err.command, 'asm.assemble');
    t.is(err.code, 'EINVAL');
    t.is(host.requests.length, 0);
  });
}

test('a label beyond 16-bit reach is refused for jumps, and reached by gotol', (t) => {
  fake(t);
  const body = Array.from({ length: 40_000 }, () => asm.mov64Imm(R0, 0));
  t.throws(() => asm.assemble([asm.ja('far'), ...body, asm.label('far'), asm.exit()]), {
    message: /instruction 0: label 'far' is 40000 instructions away, beyond the reach of a 16-bit jump offset \(gotol reaches it\)/,
  });
  t.throws(() => asm.assemble([asm.jeqImm(R0, 0, 'far'), ...body, asm.label('far'), asm.exit()]), { message: /16-bit jump offset$|16-bit jump offset:/ });
  const code = asm.assemble([asm.gotol('far'), ...body, asm.label('far'), asm.exit()]);
  t.is(asm.disassemble(code.subarray(0, 8))[0], 'gotol +40000');
});

test('the TypeScript side refuses operands it cannot pass to the core, naming the instruction', (t) => {
  fake(t);
  const cases: [unknown[], RegExp][] = [
    [[asm.exit(), asm.mov64Imm(R0, 1.5)], /instruction 1: imm must be an integer, got 1.5/],
    [[asm.mov64Imm(R0, NaN)], /instruction 0: imm must be an integer/],
    [[asm.ldxW(R1, R2, 0.5)], /instruction 0: off must be an integer, got 0.5/],
    [[asm.mov64Reg(R1, 2 ** 40 as asm.Register)], /instruction 0: src must be an integer/],
    [[asm.raw(asm.Opcode.LD_IMM64, 0, 0, 0, 1n << 64n)], /instruction 0: imm 18446744073709551616 does not fit in 64 bits/],
    [[asm.exit(), 'exit'], /instruction 1 is not an asm instruction/],
    [[asm.ldMapFd(R1, { fd: -1 })], /instruction 0: the map has no open fd \(fd is -1\)/],
    [[asm.label('')], /instruction 0: the label or map name must be a non-empty string/],
    [[asm.ja('a\0b')], /without NUL/],
  ];
  for (const [insns, message] of cases) t.throws(() => asm.assemble(insns as asm.Instruction[]), { instanceOf: BpfError, message });
  t.throws(() => asm.assemble([asm.ldMapFd(R1, 'm')], { maps: { m: { fd: 1.5 } } }), { message: /"maps.m" must have an open map fd, got fd 1.5/ });
  t.throws(() => asm.assemble([], { mapz: {} } as never), { message: /unknown option "mapz" in AssembleOptions/ });
  t.throws(() => asm.ldMapValue(R1, 'm', -1), { message: /the map value offset must be a u32, got -1/ });
  t.throws(() => asm.ldBtfId(R1, 2 ** 32), { message: /btfId must be a u32/ });
});

// [name, bytes (hex), fragment, index, message]
const DECODE_ERRORS: [string, string, boolean, number, RegExp][] = [
  ['unknown opcode', 'b700000000000000' + 'ff00000000000000', false, 1, /instruction 1: unknown opcode 0xff/],
  ['ld_imm64 cut off', '1801000000000000', true, 0, /instruction 0: ld_imm64 is cut off/],
  ['second half with a code', '1801000000000000' + '0700000000000000', true, 1, /instruction 1: the second half of the ld_imm64 at instruction 0 must have code, registers and offset 0 \(has code 0x07/],
  ['second half with registers', '1801000000000000' + '0012000000000000', true, 1, /has code 0x00, dst 2, src 1, off 0/],
  ['register r12', '070c000000000000', true, 0, /register r12 does not exist/],
  ['reserved field', 'b710000001000000', true, 0, /mov uses reserved field src \(1, must be 0\)/],
  ['jump out of the program', '0500020000000000' + '9500000000000000', false, 0, /jump target 3 is outside the program \(instructions 0 to 1\)/],
  ['jump into an ld_imm64', '0500010000000000' + '1801000000000000' + '0000000000000000' + '9500000000000000', false, 0, /jump target 2 is the second half/],
  ['subprogram call out of the program', '8510000005000000', false, 0, /instruction 0: call target 6 is outside the program \(instructions 0 to 0\)/],
];

for (const [name, h, fragment, index, message] of DECODE_ERRORS) {
  test(`decode refuses: ${name}`, (t) => {
    fake(t);
    const err = t.throws(() => asm.decode(Buffer.from(h, 'hex'), { fragment }), { instanceOf: asm.InstructionError, message }) as asm.InstructionError;
    t.is(err.index, index);
    t.is(err.command, 'asm.decode');
  });
}

test('decode checks targets only for whole programs; disassemble never does', (t) => {
  fake(t);
  // An ELF section calling into another section: the call's target lies outside it.
  const section = Buffer.from('8510000007000000' + '9500000000000000', 'hex');
  t.throws(() => asm.decode(section), { message: /instruction 0: call target 8 is outside the program/ });
  t.deepEqual(asm.decode(section, { fragment: true }).map(String), ['call 7', 'exit']);
  t.deepEqual(asm.disassemble(section), ['call 7', 'exit']);
  t.deepEqual(asm.decode(new Uint8Array(0)), []);
  t.deepEqual(asm.disassemble(new Uint8Array(0)), []);
  t.throws(() => asm.decode(new Uint8Array(12)), { instanceOf: BpfError, message: /bytecode of 12 bytes is not a whole number of 8-byte instructions/ });
  t.throws(() => asm.decode([1, 2] as never), { message: /bytecode must be a Uint8Array/ });
});

test('assemble(decode(bytes)) gives the bytes back for a clang-like program', (t) => {
  fake(t);
  const prog = [
    asm.mov64Reg(R6, R1),
    asm.stW(R10, -4, 0),
    asm.mov64Reg(R2, R10),
    asm.add64Imm(R2, -4),
    asm.ldMapFd(R1, { fd: 3 }),
    asm.call(asm.Helper.mapLookupElem),
    asm.jeqImm(R0, 0, 1),
    asm.atomicAdd64(R0, R6, 0),
    asm.mov64Imm(R0, 0),
    asm.exit(),
  ];
  const code = asm.assemble(prog);
  t.is(hex(asm.assemble(asm.decode(code))), hex(code));
});

const sha = (algo: 'sha1' | 'sha256', b: Uint8Array) => createHash(algo).update(b).digest('hex').slice(0, 16);

test('the program tag is the first 8 bytes of SHA-1 / SHA-256 of the bytecode, at every padding length', (t) => {
  fake(t);
  // 0 to 40 instructions cross every SHA block boundary case (55/56/64-byte remainders).
  for (let n = 0; n <= 40; n++) {
    const code = asm.assemble(Array.from({ length: n }, (_, i) => asm.mov64Imm(R0, i * 7919)), { fragment: true });
    t.is(asm.programTag(code, 'sha1'), sha('sha1', code), `${n} instructions, sha1`);
    t.is(asm.programTag(code, 'sha256'), sha('sha256', code), `${n} instructions, sha256`);
  }
  const big = new Uint8Array(8 * 5000).fill(0xb7);
  t.is(asm.programTag(big, 'sha256'), sha('sha256', big));
});

test('the program tag ignores the fds of map references, as the kernel does, and nothing else', (t) => {
  fake(t);
  const prog = (fd: number, off: number, imm: number) => [
    asm.ldMapFd(R1, { fd }),
    asm.ldMapValue(R2, { fd }, off),
    asm.ldImm64(R3, imm),
    asm.exit(),
  ];
  const a = asm.assemble(prog(3, 8, 1));
  const b = asm.assemble(prog(200, 8, 1));
  for (const h of ['sha1', 'sha256'] as const) {
    t.is(asm.programTag(a, h), asm.programTag(b, h));
    // The kernel zeroes both halves of a map ld_imm64, so the value offset does not count either.
    t.is(asm.programTag(a, h), asm.programTag(asm.assemble(prog(3, 16, 1)), h));
    // A plain ld_imm64 keeps its value.
    t.not(asm.programTag(a, h), asm.programTag(asm.assemble(prog(3, 8, 2)), h));
    // Zeroing by hand gives the same hash.
    const zeroed = Buffer.from(a);
    for (const slot of [0, 1, 2, 3]) zeroed.writeInt32LE(0, slot * 8 + 4);
    t.is(asm.programTag(a, h), sha(h, zeroed));
  }
  t.is(asm.programTag(prog(3, 8, 1), 'sha1'), asm.programTag(a, 'sha1'), 'instructions are assembled first');
  t.throws(() => asm.programTag(a, 'md5' as 'sha1'), { message: /hash must be 'sha1' or 'sha256'/ });
  t.throws(() => asm.programTag(new Uint8Array(9), 'sha1'), { message: /not a whole number of 8-byte instructions/ });
});

test('Program.load takes maps by name and refuses an unknown one before any syscall', (t) => {
  const { host } = fake(t);
  host.on('BPF_PROG_LOAD', () => host.fd());
  const insns = [asm.ldMapFd(R1, 'm'), asm.mov64Imm(R0, 0), asm.exit()];
  const prog = Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: insns, maps: { m: { fd: 42 } } });
  const [req] = host.of('BPF_PROG_LOAD');
  t.deepEqual(asm.disassemble(req!.inputs.get(8)!), ['ld_pseudo r1, 1, 42', 'r0 = 0', 'exit']);
  prog.close();
  t.throws(() => Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: insns }), {
    instanceOf: asm.InstructionError,
    message: /map 'm' is not among the 0 maps given/,
  });
  t.is(host.of('BPF_PROG_LOAD').length, 1);
});

test('Opcode lists every opcode byte by name', (t) => {
  t.is(asm.Opcode.ADD64_IMM, 0x07);
  t.is(asm.Opcode.LDXS_B, 0x91);
  t.is(asm.Opcode.MAY_GOTO, 0xe5);
  t.is(Object.keys(asm.Opcode).length, 126);
});
