// make run: a tour of tsbpf on the real kernel.
//   1. load a packet classifier that clang compiled from examples/classifier.bpf.c,
//   2. run it on crafted Ethernet frames and read its per-class counters back,
//   3. benchmark it, 4. build a program with the assembler, 5. ask what the kernel supports.
// Usage: node dist/examples/tour.js [classifier.bpf.o]
import { Buffer } from 'node:buffer';
import { fileURLToPath } from 'node:url';
import {
  BpfMap,
  Collection,
  MapType,
  Program,
  ProgramType,
  VerifierError,
  asm,
  codec,
  features,
  loadCollectionSpec,
} from '../src/index.js';

const tty = process.stdout.isTTY;
const bold = (s: string): string => (tty ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string): string => (tty ? `\x1b[2m${s}\x1b[0m` : s);
let step = 0;
const heading = (text: string): void => console.log(`\n${bold(`${++step}. ${text}`)}`);
const say = (text = ''): void => console.log(`   ${text}`);

const objectPath =
  process.argv[2] ?? fileURLToPath(new URL('../../build/examples/classifier.bpf.o', import.meta.url));

// ---- crafted frames -------------------------------------------------------------------

const MAC_A = [0x02, 0, 0, 0, 0, 0x0a];
const MAC_B = [0x02, 0, 0, 0, 0, 0x0b];

function ethernet(type: number, payload: number[]): Buffer {
  return Buffer.from([...MAC_B, ...MAC_A, type >> 8, type & 0xff, ...payload]);
}

/** An IPv4 header (no options unless ihl says otherwise), then the payload. */
function ipv4(protocol: number, payload: number[], ihl = 5): number[] {
  const total = 20 + payload.length;
  return [0x40 | ihl, 0, total >> 8, total & 0xff, 0, 1, 0x40, 0, 64, protocol, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...payload];
}

function ipv6(next: number, payload: number[]): number[] {
  const addr = (last: number): number[] => [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), last];
  return [0x60, 0, 0, 0, payload.length >> 8, payload.length & 0xff, next, 64, ...addr(1), ...addr(2), ...payload];
}

const tcpSyn = [0xc0, 0x01, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0];
const udpDns = [0xc0, 0x02, 0, 53, 0, 8 + 12, 0, 0, 0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
const icmpEcho = [8, 0, 0, 0, 0, 1, 0, 1];
const arpWhoHas = [0, 1, 0x08, 0, 6, 4, 0, 1, ...MAC_A, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2];

const frames: [string, Buffer][] = [
  ['IPv4 TCP SYN to port 443', ethernet(0x0800, ipv4(6, tcpSyn))],
  ['IPv4 UDP DNS query', ethernet(0x0800, ipv4(17, udpDns))],
  ['IPv4 ICMP echo request', ethernet(0x0800, ipv4(1, icmpEcho))],
  ['IPv4 GRE', ethernet(0x0800, ipv4(47, [0, 0, 0x08, 0]))],
  ['IPv6 UDP', ethernet(0x86dd, ipv6(17, udpDns))],
  ['ARP who-has 10.0.0.2', ethernet(0x0806, arpWhoHas)],
  ['LLDP (an unknown EtherType)', ethernet(0x88cc, Array(30).fill(0))],
  ['IPv4 claiming a 12-byte header', ethernet(0x0800, ipv4(6, tcpSyn, 3))],
  ['IPv4 cut off after 10 bytes', ethernet(0x0800, ipv4(6, []).slice(0, 10))],
  ['IPv6 cut off after 20 bytes', ethernet(0x86dd, ipv6(17, []).slice(0, 20))],
];

const XDP_VERDICT: Record<number, string> = { 0: 'XDP_ABORTED', 1: 'XDP_DROP', 2: 'XDP_PASS', 3: 'XDP_TX', 4: 'XDP_REDIRECT' };

// ---- 1. load ----------------------------------------------------------------------------

heading('Load a packet classifier compiled by clang');
const spec = loadCollectionSpec(objectPath);
const progSpec = spec.programs.classify_packet!;
say(`${objectPath.replace(`${process.cwd()}/`, '')}: ${Object.keys(spec.programs).length} program, ` +
  `${Object.keys(spec.maps).length} maps, ${spec.types?.length ?? 0} BTF types, license ${spec.license}`);
say(`classify_packet: ${progSpec.instructions.length / 8} instructions in section "${progSpec.sectionName}"`);
using collection = Collection.load(spec);
const prog = collection.programs.classify_packet!;
// Reopened by id with codecs, so that lookups give numbers (the collection's handle gives bytes).
const counts = BpfMap.fromId(collection.maps.class_counts!.info().id, { key: codec.u32, value: codec.u64 });
say(`loaded into the kernel: program id ${prog.id}, map class_counts id ${counts.info().id} ` +
  `(a per-CPU array: ${counts.valuesPerElement} values per class)`);

// The class names come from the object's BTF, as the C source declared them.
const classEnum = spec.types!.typeByName('pkt_class', 'ENUM');
const classNames = classEnum.kind === 'ENUM' ? classEnum.values.filter((v) => !v.name.endsWith('__COUNT')).map((v) => v.name.replace(/^CLASS_/, '').toLowerCase().replace('_', ' ')) : [];

// ---- 2. run -----------------------------------------------------------------------------

heading('Run it on crafted frames (BPF_PROG_TEST_RUN)');
const total = (key: number): bigint => (counts.lookup(key) as unknown as number[]).reduce((a, b) => a + BigInt(b), 0n);
const before = classNames.map((_, i) => total(i));
const width = Math.max(...frames.map(([name]) => name.length));
for (const [name, frame] of frames) {
  const snapshot = classNames.map((_, i) => total(i));
  const { retval } = prog.test(frame);
  const counted = classNames.findIndex((_, i) => total(i) !== snapshot[i]);
  say(`${name.padEnd(width)}  ${String(frame.length).padStart(3)} bytes  ${(XDP_VERDICT[retval] ?? String(retval)).padEnd(9)}  ${classNames[counted] ?? '?'}`);
}

// ---- 3. counters ------------------------------------------------------------------------

heading('Read the counters back from its map, and its global data');
const bytesSeen = collection.variables.bytes_seen!;
for (let i = 0; i < classNames.length; i++) {
  const n = total(i) - before[i]!;
  if (n === 0n) continue;
  const bytes = bytesSeen.get().readBigUInt64LE(i * 8);
  say(`${classNames[i]!.padEnd(12)} ${String(n).padStart(2)} frame${n === 1n ? ' ' : 's'}  ${String(bytes).padStart(4)} bytes`);
}
say(dim(`(class_counts is summed over the CPUs of a per-CPU array; bytes_seen is a global array read through its .bss map)`));

// ---- 4. benchmark -----------------------------------------------------------------------

heading('Benchmark it');
const tcp = frames[0]![1];
const inKernel = prog.benchmark(tcp, 1_000_000);
say(`in the kernel: ${inKernel.nsPerRun} ns per frame over ${inKernel.repeat.toLocaleString('en')} runs (the kernel's own clock)`);
const n = 100_000;
const t0 = process.hrtime.bigint();
for (let i = 0; i < n; i++) prog.test(tcp);
const perCall = Number(process.hrtime.bigint() - t0) / n;
say(`from JavaScript: ${Math.round(perCall)} ns per prog.test() call, ${Math.round(1e9 / perCall).toLocaleString('en')} frames/s`);

// ---- 5. assembler -----------------------------------------------------------------------

heading('Build a program with the assembler');
using sums = BpfMap.create({ type: MapType.Array, key: codec.u32, value: codec.u64, maxEntries: 1, name: 'sums' });
const instructions = [
  asm.mov64Imm(asm.R0, 0), // sum
  asm.mov64Imm(asm.R1, 1), // i
  asm.label('loop'),
  asm.add64Reg(asm.R0, asm.R1),
  asm.add64Imm(asm.R1, 1),
  asm.jleImm(asm.R1, 10, 'loop'), // a bounded loop: the verifier follows it to the end
  asm.ldMapValue(asm.R2, 'sums'), // r2 = &sums[0], resolved to the map when loading
  asm.stxDW(asm.R2, asm.R0, 0),
  asm.exit(),
];
const bytecode = asm.assemble(instructions, { maps: { sums } });
for (const line of asm.disassemble(bytecode)) say(dim(`  ${line}`));
using summer = Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions, maps: { sums } });
const sum = summer.test(Buffer.alloc(14)).retval;
say(`returns ${sum}, and the map holds ${sums.lookup(0)}: the sum of 1 to 10, computed in the kernel`);
try {
  Program.load({ type: ProgramType.SocketFilter, license: 'MIT', instructions: [asm.exit()] });
} catch (e) {
  if (!(e instanceof VerifierError)) throw e;
  say(`a program that never sets r0 is refused: ${e.log.at(-2)} ${dim(`(${e.code}, ${e.log.length} lines of verifier log)`)}`);
}

// ---- 6. features ------------------------------------------------------------------------

heading('Ask the kernel what it supports');
const report = features.probeAll();
const yes = (rs: Record<string, features.FeatureResult>): number => Object.values(rs).filter((r) => r.verdict === 'yes').length;
say(`program types ${yes(report.programTypes)} of ${Object.keys(report.programTypes).length}, ` +
  `map types ${yes(report.mapTypes)} of ${Object.keys(report.mapTypes).length} (each decided by a real minimal load)`);
say(Object.values(report.misc).map((r) => `${r.name} ${r.verdict === 'yes' ? '✓' : r.verdict === 'no' ? '✗' : '?'}`).join(', '));
counts.close();

console.log(`\n${dim('More: tsbpf --help  (features, obj inspect, disasm, prog test, prog/map list, map dump)')}\n`);
