// Programs built only with the assembler, on the real kernel: a bounded loop, a helper
// call, a bpf-to-bpf call and map references by name (the map made by bpftool, checked
// with bpftool afterwards); the ISA v4 instructions and the other encodings clang-14 cannot
// emit, run for their results; and the program tag computed by the core against the tag
// the kernel reports (bpf_prog_info.tag and bpftool).
import { execFileSync } from 'node:child_process';
import { release } from 'node:os';
import type { Ptr } from '../../bridge/generated/abi.js';
import { Program, ProgramType, asm } from '../../src/index.js';
import { openPinned, unpinPath } from '../../src/object.js';
import { core } from '../../src/runtime.js';
import { kernelTest } from '../helpers/kernel.js';

const { R0, R1, R2, R3, R6, R7, R8, R10 } = asm;

/** The hash the running kernel tags programs with: SHA-256 since Linux 6.18. */
function kernelTagHash(): asm.TagHash {
  const [major = 0, minor = 0] = release().split('.').map((n) => parseInt(n, 10));
  return major > 6 || (major === 6 && minor >= 18) ? 'sha256' : 'sha1';
}

/** The tag and id the kernel reports for a program fd (BPF_OBJ_GET_INFO_BY_FD). */
function kernelTag(fd: number): { tag: string; id: number } {
  const c = core();
  const info = c.malloc(256);
  const len = c.malloc(4);
  try {
    c.mem.dv.setUint32(len, 256, true);
    c.check(c.fn.tsbpf_obj_get_info(fd, info as Ptr<'void'>, len as Ptr<'uint32_t'>));
    // struct bpf_prog_info: __u32 type, __u32 id, __u8 tag[8]
    return { id: c.mem.dv.getUint32(info + 4, true), tag: c.bytes(info + 8, 8).toString('hex') };
  } finally {
    c.free(info);
    c.free(len);
  }
}

function bpftoolJson(args: string[]): unknown {
  return JSON.parse(execFileSync('bpftool', [...args, '--json'], { encoding: 'utf8' }));
}

/** The u64 values of an array map with 4-byte keys, as bpftool dumps them. */
function dumpArray(pin: string): Map<number, bigint> {
  const entries = bpftoolJson(['map', 'dump', 'pinned', pin]) as { key: string[]; value: string[] }[];
  const le = (bytes: string[]) => bytes.reduceRight((acc, b) => (acc << 8n) | BigInt(parseInt(b, 16)), 0n);
  return new Map(entries.map((e) => [Number(le(e.key)), le(e.value)]));
}

kernelTest.serial('a program built with the assembler loops, calls a helper and a subprogram, and writes a map named in it', (t) => {
  const pin = `/sys/fs/bpf/tsbpf-test-${process.pid}-m`;
  // Direct value access (ld_imm64 of a map value) needs an array of one entry, as global data is.
  const pinV = `/sys/fs/bpf/tsbpf-test-${process.pid}-v`;
  execFileSync('bpftool', ['map', 'create', pin, 'type', 'array', 'key', '4', 'value', '8', 'entries', '4', 'name', 'm']);
  t.teardown(() => unpinPath(pin));
  execFileSync('bpftool', ['map', 'create', pinV, 'type', 'array', 'key', '4', 'value', '8', 'entries', '1', 'name', 'v']);
  t.teardown(() => unpinPath(pinV));
  const c = core();
  const fd = openPinned(c, pin);
  t.teardown(() => c.closeFd(fd));
  const fdV = openPinned(c, pinV);
  t.teardown(() => c.closeFd(fdV));
  const insns = [
    asm.mov64Imm(R7, 0), // sum
    asm.mov64Imm(R8, 0), // i
    asm.label('loop'),
    asm.add64Reg(R7, R8),
    asm.add64Imm(R8, 1),
    asm.jltImm(R8, 10, 'loop'), // bounded: sum of 0..9 = 45
    asm.mov64Reg(R1, R7),
    asm.call('twice'), // 90
    asm.mov64Reg(R7, R0),
    asm.stW(R10, -4, 1), // key 1
    asm.mov64Reg(R2, R10),
    asm.add64Imm(R2, -4),
    asm.ldMapFd(R1, 'm'),
    asm.call(asm.Helper.mapLookupElem),
    asm.jeqImm(R0, 0, 'out'),
    asm.stxDW(R0, R7, 0), // m[1] = 90
    asm.ldMapValue(R1, 'v', 4), // the upper half of v[0], without a helper
    asm.stW(R1, 0, 7),
    asm.mov64Imm(R2, 5),
    asm.atomicAdd32(R1, R2, 0), // v[0] = 12 << 32
    asm.label('out'),
    asm.mov64Reg(R0, R7),
    asm.exit(),
    asm.label('twice'),
    asm.mov64Reg(R0, R1),
    asm.lsh64Imm(R0, 1),
    asm.exit(),
  ];
  const maps = { m: { fd }, v: { fd: fdV } };
  using prog = Program.load({ type: ProgramType.SocketFilter, license: 'GPL', name: 'asm_loop', instructions: insns, maps });
  t.is(prog.test(Buffer.alloc(64)).retval, 90);
  t.deepEqual(dumpArray(pin), new Map([[0, 0n], [1, 90n], [2, 0n], [3, 0n]]));
  t.deepEqual(dumpArray(pinV), new Map([[0, 12n << 32n]]));

  // The kernel's tag is the core's, with the map's fd zeroed: any fd gives the same tag.
  const { tag, id } = kernelTag(prog.fd);
  const hash = kernelTagHash();
  t.is(tag, asm.programTag(insns, hash, { maps }));
  t.is(tag, asm.programTag(insns, hash, { maps: { m: { fd: 1234 }, v: { fd: 99 } } }));
  t.not(tag, asm.programTag(insns, hash === 'sha1' ? 'sha256' : 'sha1', { maps }));
  const shown = bpftoolJson(['prog', 'show', 'id', String(id)]) as { tag: string; name: string };
  t.is(shown.tag, tag);
  t.is(shown.name, 'asm_loop');
});

// [name, instructions, input packet byte 14 onwards, expected r0 (u32)]
const RUNS: [string, asm.Instruction[], number[], number | ((retval: number) => boolean)][] = [
  ['sdiv', [asm.mov64Imm(R0, -7), asm.sdiv64Imm(R0, 2), asm.exit()], [], -3 >>> 0],
  ['sdiv32 by a register', [asm.mov32Imm(R0, -9), asm.mov32Imm(R1, 4), asm.sdiv32Reg(R0, R1), asm.exit()], [], -2 >>> 0],
  ['smod', [asm.mov64Imm(R0, -7), asm.smod64Imm(R0, 3), asm.exit()], [], -1 >>> 0],
  ['smod32 by a register', [asm.mov32Imm(R0, 7), asm.mov32Imm(R1, -4), asm.smod32Reg(R0, R1), asm.exit()], [], 3],
  ['mod', [asm.mov64Imm(R0, 47), asm.mod64Imm(R0, 10), asm.exit()], [], 7],
  ['movsx8', [asm.mov64Imm(R1, 0x80), asm.movsx64Reg(R0, R1, 8), asm.exit()], [], 0xffffff80],
  ['movsx16 keeps the sign in the upper half', [asm.mov64Imm(R1, 0x8000), asm.movsx64Reg(R0, R1, 16), asm.rsh64Imm(R0, 32), asm.exit()], [], 0xffffffff],
  ['movsx32', [asm.mov32Imm(R1, -2), asm.movsx64Reg(R0, R1, 32), asm.rsh64Imm(R0, 32), asm.exit()], [], 0xffffffff],
  ['movsx32 from 8 bits', [asm.mov64Imm(R1, 0xff), asm.movsx32Reg(R0, R1, 8), asm.exit()], [], 0xffffffff],
  ['bswap16', [asm.mov64Imm(R0, 0x1234), asm.bswap16(R0), asm.exit()], [], 0x3412],
  ['bswap32', [asm.mov64Imm(R0, 0x12345678), asm.bswap32(R0), asm.exit()], [], 0x78563412],
  ['bswap64', [asm.ldImm64(R0, 0x0102030405060708n), asm.bswap64(R0), asm.exit()], [], 0x04030201],
  ['be16', [asm.mov64Imm(R0, 0x1234), asm.be16(R0), asm.exit()], [], 0x3412],
  ['le16 truncates', [asm.mov64Imm(R0, 0x12345678), asm.le16(R0), asm.exit()], [], 0x5678],
  ['gotol', [asm.mov64Imm(R0, 7), asm.jeqImm(R0, 1, 'skip'), asm.gotol('end'), asm.label('skip'), asm.mov64Imm(R0, 1), asm.label('end'), asm.exit()], [], 7],
  ['ldxs', [asm.stB(R10, -1, 0xfe), asm.ldxsB(R0, R10, -1), asm.exit()], [], 0xfffffffe],
  ['ldxsH', [asm.stH(R10, -2, 0x8001), asm.ldxsH(R0, R10, -2), asm.rsh64Imm(R0, 32), asm.exit()], [], 0xffffffff],
  ['jset', [asm.mov64Imm(R0, 1), asm.mov64Imm(R1, 6), asm.jsetImm(R1, 2, 'yes'), asm.exit(), asm.label('yes'), asm.mov64Imm(R0, 2), asm.exit()], [], 2],
  ['jset32 not taken', [asm.mov64Imm(R0, 1), asm.ldImm64(R1, 1n << 33n), asm.jset32Imm(R1, -1, 'yes'), asm.exit(), asm.label('yes'), asm.mov64Imm(R0, 2), asm.exit()], [], 1],
  // The kernel's budget for may_goto is a count (8M) or, since 6.14, a time: many rounds either way.
  ['may_goto bounds a loop', [asm.mov64Imm(R0, 0), asm.label('loop'), asm.mayGoto('out'), asm.add64Imm(R0, 1), asm.ja('loop'), asm.label('out'), asm.exit()], [], (r) => r >= 0x10000],
  ['atomic fetch_add, xchg, cmpxchg on the stack', [
    asm.stDW(R10, -8, 5),
    asm.mov64Imm(R1, 3),
    asm.atomicFetchAdd64(R10, R1, -8), // r1 = 5, mem 8
    asm.mov64Imm(R2, 100),
    asm.atomicXchg64(R10, R2, -8), // r2 = 8, mem 100
    asm.mov64Imm(R0, 100),
    asm.mov64Imm(R3, 1000),
    asm.atomicCmpXchg64(R10, R3, -8), // r0 = 100, mem 1000
    asm.ldxDW(R3, R10, -8),
    asm.add64Reg(R0, R1), asm.add64Reg(R0, R2), asm.add64Reg(R0, R3), // 100 + 5 + 8 + 1000
    asm.exit(),
  ], [], 1113],
  ['32-bit atomics', [
    asm.stW(R10, -4, 0xf0),
    asm.mov32Imm(R1, 0x0f),
    asm.atomicFetchOr32(R10, R1, -4), // w1 = 0xf0, mem 0xff
    asm.mov32Imm(R2, 0x3c),
    asm.atomicAnd32(R10, R2, -4), // mem 0x3c
    asm.mov32Imm(R0, 0x3c),
    asm.mov32Imm(R3, 1),
    asm.atomicCmpXchg32(R10, R3, -4), // w0 = 0x3c, mem 1
    asm.ldxW(R3, R10, -4),
    asm.add64Reg(R0, R1), asm.add64Reg(R0, R3), // 0x3c + 0xf0 + 1
    asm.exit(),
  ], [], 0x12d],
  ['ld_abs and ld_ind read the packet in network order', [
    asm.mov64Reg(R6, R1),
    asm.ldAbsH(0), // 0x1234
    asm.mov64Reg(R7, R0),
    asm.mov64Imm(R1, 1),
    asm.ldIndB(R1, 1), // byte 2: 0x56
    asm.add64Reg(R0, R7),
    asm.exit(),
  ], [0x12, 0x34, 0x56], 0x1234 + 0x56],
];

for (const [name, instructions, payload, expected] of RUNS) {
  kernelTest(`assembled ${name} runs as the kernel defines it`, (t) => {
    using prog = Program.load({ type: ProgramType.SocketFilter, license: 'GPL', instructions });
    const packet = Buffer.alloc(64);
    Buffer.from(payload).copy(packet, 14);
    const { retval } = prog.test(packet);
    if (typeof expected === 'number') t.is(retval, expected);
    else t.true(expected(retval), `r0 = ${retval}`);
    t.is(kernelTag(prog.fd).tag, asm.programTag(instructions, kernelTagHash()));
  });
}
