// `tsbpf disasm` through a child process, against llvm-objdump-14: every function of every
// program of every corpus object and of fixtures compiled by clang-14 at test time, slot by
// slot (`-d`), with the relocations objdump lists (`-r`) at the same slots, immediates in
// hex (`--print-imm-hex`), and the C source lines objdump interleaves (`-S`, which reads
// the DWARF line table and the source file, where tsbpf reads .BTF.ext line info).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { loadCollectionSpec } from '../../src/index.js';
import { tsbpf, tsbpfJson } from '../helpers/cli.js';
import { corpusFile, manifest } from '../helpers/corpus.js';
import { compileFixture, readelfSymbols, type ElfSymbol } from '../helpers/tools.js';

interface Insn {
  offset: number;
  text: string;
  bytes: string;
  function?: string;
  label?: string;
  target?: { offset: number; name: string };
  relocation?: string;
  helper?: string;
  source?: { file: string; line: number; column: number; text: string };
}
interface Disasm {
  name: string;
  section: string;
  type: string;
  instructions: Insn[];
}

interface ObjdumpInsn {
  text: string;
  /** The symbol of the relocation objdump lists for this instruction. */
  reloc?: string;
  /** The source line printed just before it (-S). */
  source?: string;
}

const normalise = (s: string): string => s.replace(/\s+<[^<>]+>$/, '').replace(/\s+/g, ' ').trim();

/**
 * objdump's instructions per function symbol: name -> slot within the function -> insn.
 * Local labels (LBB0_3) continue the function they are in.
 */
function objdump(file: string, flags: string[], functions: Set<string>): Map<string, Map<number, ObjdumpInsn>> {
  const out = execFileSync('llvm-objdump-14', ['-dr', '--no-show-raw-insn', ...flags, file], {
    encoding: 'utf8',
    maxBuffer: 256 << 20,
    stdio: ['ignore', 'pipe', 'ignore'], // -S warns on stderr when a source file is missing
  });
  const result = new Map<string, Map<number, ObjdumpInsn>>();
  let fn: Map<number, ObjdumpInsn> | undefined;
  let start = 0;
  let last: ObjdumpInsn | undefined;
  let source: string | undefined;
  for (const line of out.split('\n')) {
    let m = /^([0-9a-f]{16}) <(.+)>:$/.exec(line);
    if (m) {
      if (functions.has(m[2]!)) {
        fn = new Map();
        result.set(m[2]!, fn);
        start = parseInt(m[1]!, 16) / 8;
      }
      continue;
    }
    if (/^Disassembly of section/.test(line)) fn = undefined;
    m = /^; (.*)$/.exec(line);
    if (m) {
      source = m[1]!.trim();
      continue;
    }
    m = /^\s+[0-9a-f]+:\s+R_BPF_\w+\s+(\S+)/.exec(line);
    if (m && last) {
      last.reloc = m[1];
      continue;
    }
    m = /^\s*(\d+):\t(.*)$/.exec(line);
    if (m && fn) {
      last = { text: normalise(m[2]!), ...(source !== undefined ? { source } : {}) };
      source = undefined;
      fn.set(Number(m[1]) - start, last);
    }
  }
  return result;
}

/** Function names of an object (programs and subprograms), from its spec. */
function functionNames(file: string): Set<string> {
  const spec = loadCollectionSpec(file);
  return new Set([...Object.keys(spec.programs), ...Object.keys(spec.subprograms)]);
}

/** Splits a program's linked stream into its functions: name -> slot within it -> insn. */
function byFunction(p: Disasm): Map<string, Map<number, Insn>> {
  const out = new Map<string, Map<number, Insn>>();
  let fn: Map<number, Insn> | undefined;
  let start = 0;
  for (const i of p.instructions) {
    if (i.function) {
      fn = new Map();
      out.set(i.function, fn);
      start = i.offset;
    }
    fn!.set(i.offset - start, i);
  }
  return out;
}

interface Tally {
  compared: number;
  relocations: number;
  problems: string[];
}

/**
 * Checks one instruction that refers to something the loader resolves against objdump's
 * view of the same slot; returns a problem or undefined. `symbols` is llvm-readelf's table.
 */
function checkReference(insn: Insn, w: ObjdumpInsn, fnStart: number, slot: number, symbols: Map<string, ElfSymbol>): string | undefined {
  const callee = insn.target && symbols.get(insn.target.name)?.type === 'FUNC' ? symbols.get(insn.target.name)! : undefined;
  if (callee && (insn.relocation === undefined || insn.relocation === callee.name)) {
    // A bpf-to-bpf call (or function address): objdump shows a relocation against the
    // function or its section, or, inside one section, the offset the compiler resolved.
    if (w.reloc) return w.reloc === callee.name || w.reloc === callee.section ? undefined : `calls ${callee.name}, objdump relocates "${w.reloc}"`;
    const m = /^call (-?\d+)$/.exec(w.text);
    if (!m) return `calls ${callee.name}, objdump shows "${w.text}" without a relocation`;
    return fnStart + slot + 1 + Number(m[1]) === callee.value / 8 ? undefined : `calls ${callee.name}, objdump's call lands elsewhere`;
  }
  const rel = insn.relocation!;
  if (!w.reloc) return `tsbpf relocates "${rel}", objdump shows no relocation`;
  let m = /^(?:map|ksym|kfunc|extern|kconfig) (\S+)/.exec(rel);
  if (m) return w.reloc === m[1] ? undefined : `tsbpf refers to ${rel}, objdump to "${w.reloc}"`;
  m = /^(\S+)\+(\d+)/.exec(rel); // a map value: section + offset
  if (!m) return `unexpected relocation text "${rel}"`;
  const [, section, offset] = m;
  if (w.reloc === section) {
    // Against the section symbol: the offset is the instruction's immediate.
    const imm = /^r\d+ = (-?\d+) ll$/.exec(w.text)?.[1];
    return Number(imm) === Number(offset) ? undefined : `tsbpf refers to ${rel}, objdump to ${section} + ${imm}`;
  }
  const sym = symbols.get(w.reloc);
  return sym && sym.section === section && sym.value === Number(offset) ? undefined : `tsbpf refers to ${rel}, objdump to "${w.reloc}"`;
}

function compare(file: string, label: string, tally: Tally, hex = false): void {
  const names = functionNames(file);
  const symbols = new Map(readelfSymbols(file).filter((s) => s.name).map((s) => [s.name, s]));
  const theirs = objdump(file, hex ? ['--print-imm-hex'] : [], names);
  const ours = tsbpfJson<Disasm[]>('disasm', file, ...(hex ? ['--hex'] : []));
  for (const prog of ours) {
    for (const [fn, insns] of byFunction(prog)) {
      const want = theirs.get(fn);
      if (!want) {
        tally.problems.push(`${label} ${prog.name}: objdump has no function ${fn}`);
        continue;
      }
      // objdump gives a function whatever follows it up to the next symbol: in linked objects,
      // code the linker dropped. The symbol's size says where the function ends.
      const fnStart = symbols.get(fn)!.value / 8;
      const size = symbols.get(fn)!.size / 8;
      const last = [...insns.values()].at(-1)!;
      const slots = last.offset - [...insns.values()][0]!.offset + (last.bytes.length > 23 ? 2 : 1);
      if (slots !== size) tally.problems.push(`${label} ${prog.name}/${fn}: ${slots} slots, llvm-readelf ${size}`);
      const theirCount = [...want.keys()].filter((k) => k < size).length;
      if (theirCount !== insns.size) tally.problems.push(`${label} ${prog.name}/${fn}: ${insns.size} instructions, objdump ${theirCount}`);
      for (const [slot, insn] of insns) {
        const w = want.get(slot);
        const where = `${label} ${prog.name}/${fn} #${slot}`;
        if (!w) {
          tally.problems.push(`${where}: objdump has no instruction here`);
          continue;
        }
        if (insn.relocation || (insn.target && names.has(insn.target.name))) {
          tally.relocations++;
          const problem = hex ? undefined : checkReference(insn, w, fnStart, slot, symbols);
          if (problem) tally.problems.push(`${where}: ${problem}`);
          continue;
        }
        if (w.reloc) tally.problems.push(`${where}: objdump relocates "${w.reloc}", tsbpf shows no relocation`);
        tally.compared++;
        if (normalise(insn.text) !== w.text) tally.problems.push(`${where}: tsbpf "${insn.text}", objdump "${w.text}"`);
      }
    }
  }
}

test('every function of every corpus program, slot by slot, as llvm-objdump -dr shows it', (t) => {
  const tally: Tally = { compared: 0, relocations: 0, problems: [] };
  let objects = 0;
  for (const entry of manifest()) {
    const file = corpusFile(entry);
    try {
      loadCollectionSpec(file);
    } catch {
      continue; // refused objects: see obj_inspect.test.ts
    }
    objects++;
    compare(file, entry.file, tally);
  }
  t.deepEqual(tally.problems.slice(0, 20), [], `${tally.problems.length} problems`);
  t.log(`${objects} objects, ${tally.compared} instructions and ${tally.relocations} relocations compared`);
  t.true(tally.compared > 2000 && tally.relocations > 200, `${tally.compared} instructions, ${tally.relocations} relocations`);
});

test('fixtures compiled by clang-14, in decimal and in hex (--hex, objdump --print-imm-hex)', (t) => {
  const tally: Tally = { compared: 0, relocations: 0, problems: [] };
  for (const f of ['collection.bpf.c', 'cli.bpf.c', 'legacy.bpf.c']) {
    const file = compileFixture(f);
    compare(file, f, tally);
    compare(file, `${f} (hex)`, tally, true);
  }
  t.deepEqual(tally.problems.slice(0, 20), [], `${tally.problems.length} problems`);
  t.true(tally.compared > 300, `${tally.compared} instructions`);
});

test('source lines: tsbpf (.BTF.ext line info) and llvm-objdump -S (DWARF and the source file) agree slot by slot', (t) => {
  // objdump prints a line where its DWARF row changes; BTF keeps fewer rows, so tsbpf may
  // show a line once where objdump repeats it. Both directions are checked against the
  // line in force (the last one shown in the function) on the other side.
  const problems: string[] = [];
  let checked = 0;
  /** fn -> slot -> [shown here, in force here] */
  type Listing = Map<string, Map<number, [string | undefined, string | undefined]>>;
  const inForce = (shown: Map<number, string>, size: number): Map<number, [string | undefined, string | undefined]> => {
    const out = new Map<number, [string | undefined, string | undefined]>();
    let cur: string | undefined;
    for (let i = 0; i < size; i++) {
      if (shown.has(i)) cur = shown.get(i);
      out.set(i, [shown.get(i), cur]);
    }
    return out;
  };
  for (const f of ['collection.bpf.c', 'cli.bpf.c']) {
    const file = compileFixture(f);
    const symbols = new Map(readelfSymbols(file).map((x) => [x.name, x]));
    const theirs: Listing = new Map();
    for (const [name, insns] of objdump(file, ['-S'], functionNames(file))) {
      const shown = new Map([...insns].filter(([, i]) => i.source !== undefined).map(([slot, i]) => [slot, i.source!]));
      theirs.set(name, inForce(shown, symbols.get(name)!.size / 8));
    }
    const human = tsbpf('disasm', file);
    t.is(human.status, 0, human.stderr);
    // The human listing: "<fn>:" starts a function, "; text" is a source line, "  slot: insn" an instruction.
    const oursShown = new Map<string, Map<number, string>>();
    let fn = '';
    let start = -1;
    let pending: string | undefined;
    for (const line of human.stdout.split('\n')) {
      let m = /^<(.+)>:$/.exec(line);
      if (m) {
        fn = m[1]!;
        start = -1;
        if (!oursShown.has(fn)) oursShown.set(fn, new Map());
        continue;
      }
      m = /^; (.*)$/.exec(line);
      if (m) {
        pending = m[1]!;
        continue;
      }
      m = /^\s+(\d+): /.exec(line);
      if (m && fn) {
        if (start < 0) start = Number(m[1]);
        if (pending !== undefined) oursShown.get(fn)!.set(Number(m[1]) - start, pending);
        pending = undefined;
      }
    }
    for (const [name, want] of theirs) {
      const ours = inForce(oursShown.get(name) ?? new Map(), want.size);
      for (const [slot, [theirShown, theirForce]] of want) {
        const [ourShown, ourForce] = ours.get(slot)!;
        // A function's first instruction: DWARF points at the opening brace, BTF at the declaration.
        if (slot === 0) {
          if (theirShown !== undefined && theirShown !== ourShown && !(theirShown === '{' && ourShown?.includes(`${name}(`)))
            problems.push(`${f} ${name} #0: objdump "${theirShown}", tsbpf "${ourShown}"`);
          continue;
        }
        if (theirShown !== undefined) {
          checked++;
          if (theirShown !== ourShown && theirShown !== ourForce) problems.push(`${f} ${name} #${slot}: objdump shows "${theirShown}", tsbpf has "${ourForce}"`);
        }
        if (ourShown !== undefined) {
          checked++;
          if (ourShown !== theirShown && ourShown !== theirForce) problems.push(`${f} ${name} #${slot}: tsbpf shows "${ourShown}", objdump has "${theirForce}"`);
        }
      }
    }
  }
  t.deepEqual(problems, []);
  t.true(checked > 80, `${checked} source lines compared`);
});

test('the human listing: one header per program, functions, labels at jump targets, relocations named', (t) => {
  const file = compileFixture('cli.bpf.c');
  const r = tsbpf('disasm', file, 'count');
  t.is(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  t.is(lines[0], 'count: socket_filter, section socket, 42 instruction slots');
  t.is(lines[1], '<count>:');
  t.true(lines.includes('<bump>:'));
  const json = tsbpfJson<Disasm[]>('disasm', file, 'count');
  t.is(json.length, 1);
  for (const i of json[0]!.instructions) {
    if (i.target) t.true(lines.includes(`${i.target.name}:`) || lines.includes(`<${i.target.name}>:`), `label ${i.target.name}`);
    const note = i.relocation && !i.target ? `  ; ${i.relocation}` : i.helper ? `  ; ${i.helper}` : '';
    const text = `${i.text}${i.target ? ` <${i.target.name}>` : ''}${note}`;
    t.true(lines.some((l) => l.endsWith(`${i.offset}: ${text}`)), text);
  }
  t.true(json[0]!.instructions.some((i) => i.relocation === 'map records'));
  t.true(json[0]!.instructions.some((i) => i.relocation === '.bss+0 (packets)'));
  t.true(json[0]!.instructions.some((i) => i.target?.name === 'bump'));
  t.deepEqual(json[0]!.instructions.filter((i) => i.helper).map((i) => [i.text, i.helper]), [
    ['call 1', 'bpf_map_lookup_elem'],
    ['call 1', 'bpf_map_lookup_elem'],
  ]);
  // --raw adds each instruction's bytes, which are the object's: 16 bytes for ld_imm64.
  const raw = tsbpf('disasm', file, 'count', '--raw');
  t.regex(raw.stdout, /^\s+5: 18 1[0-9a-f] 00 00 00 00 00 00 00 00 00 00 00 00 00 00 +ld_pseudo r1, 1, 0 {2}; map records$/m);
  // A subprogram can be named too.
  const sub = tsbpfJson<Disasm[]>('disasm', file, 'bump');
  t.deepEqual([sub[0]!.name, sub[0]!.section, sub[0]!.instructions[0]!.function], ['bump', '.text', 'bump']);
});
