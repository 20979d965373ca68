/**
 * `tsbpf disasm <file.o> [program]`: a program's instructions as linked for loading (the
 * function, then the subprograms it calls), in llvm-objdump's syntax through
 * asm.disassemble, with slot offsets, labels for jump targets and functions, what each
 * relocated instruction refers to, and, where the object has .BTF.ext line info, the C
 * source line above the instructions it compiled to (as `llvm-objdump -S` and
 * `bpftool prog dump xlated linum` show them). Needs no kernel.
 */
import * as asm from '../asm.js';
import type { Btf } from '../btf.js';
import { loadCollectionSpec, type CollectionProgramSpec, type CollectionSpec, type Relocation } from '../collection_spec.js';
import type { CommandSpec } from './args.js';
import { HelperNames } from '../generated/uapi.js';
import { failure, hexBytes, programTypeName } from './format.js';

interface SourceLine {
  file: string;
  line: number;
  column: number;
  text: string;
}

interface InstructionJson {
  /** Slot in the program's linked stream (8 bytes each; ld_imm64 takes two). */
  offset: number;
  text: string;
  bytes: string;
  /** The function that starts at this slot. */
  function?: string;
  /** The label of a jump target ('.L21'). */
  label?: string;
  /** Where a jump, call or function address goes: a slot, and its function or label. */
  target?: { offset: number; name: string };
  /** What the loader patches into this instruction. */
  relocation?: string;
  /** The helper a call instruction calls ('bpf_map_lookup_elem'). */
  helper?: string;
  /** The line info record that starts at this slot. */
  source?: SourceLine;
}

const BPF_JMP = 0x05;
const BPF_JMP32 = 0x06;
const BPF_CALL = 0x80;
const BPF_EXIT = 0x90;
const BPF_PSEUDO_CALL = 1;
const BPF_PSEUDO_FUNC = 4;

function relocationText(r: Relocation, spec: CollectionSpec): string {
  switch (r.kind) {
    case 'map':
      return `map ${r.map}`;
    case 'mapValue': {
      // Name the global variable the address points at, as llvm-objdump -r does.
      const v = Object.values(spec.variables).find((x) => x.mapName === r.map && x.offset === r.offset);
      return `${r.map}+${r.offset}${v ? ` (${v.name})` : ''}`;
    }
    case 'kconfig':
      return `kconfig ${r.extern} (.kconfig+${r.offset})`;
    case 'ksym':
    case 'kfunc':
    case 'extern':
      return `${r.kind} ${r.extern}`;
    case 'call':
    case 'funcAddr':
      return r.function;
  }
}

/** Line info records by slot: struct bpf_line_info {insn_off, file_name_off, line_off, line_col}. */
function lineInfo(p: CollectionProgramSpec, btf: Btf | undefined): Map<number, SourceLine> {
  const out = new Map<number, SourceLine>();
  if (!btf) return out;
  const dv = new DataView(p.lineInfo.buffer, p.lineInfo.byteOffset, p.lineInfo.byteLength);
  for (let i = 0; i + 16 <= p.lineInfo.byteLength; i += 16) {
    const lineCol = dv.getUint32(i + 12, true);
    try {
      out.set(dv.getUint32(i, true), {
        file: btf.string(dv.getUint32(i + 4, true)),
        line: lineCol >>> 10,
        column: lineCol & 0x3ff,
        text: btf.string(dv.getUint32(i + 8, true)).trim(),
      });
    } catch {
      // A string offset outside the table: the core validated the records, so this is
      // unreachable for parsed objects; skip the record rather than fail the listing.
    }
  }
  return out;
}

function disassembleProgram(p: CollectionProgramSpec, spec: CollectionSpec, hex: boolean): InstructionJson[] {
  const decoded = asm.decode(p.instructions, { fragment: true });
  const texts = asm.disassemble(p.instructions, { hex });
  const functions = new Map(p.functions.map((f) => [f.offset, f.name]));
  const relocations = new Map(p.relocations.map((r) => [r.instruction, relocationText(r, spec)]));
  const lines = lineInfo(p, spec.types);
  const out: InstructionJson[] = [];
  const labels = new Map<number, string>();
  let slot = 0;
  decoded.forEach((insn, i) => {
    const code = insn.code;
    const cls = code & 7;
    const op = code & 0xf0;
    let target: number | undefined;
    let helper: string | undefined;
    if ((cls === BPF_JMP || cls === BPF_JMP32) && op === BPF_CALL) {
      if (insn.src === BPF_PSEUDO_CALL) target = slot + 1 + Number(insn.imm);
      else if (insn.src === 0) helper = HelperNames[Number(insn.imm)];
    } else if ((cls === BPF_JMP || cls === BPF_JMP32) && op !== BPF_EXIT) {
      // gotol (JMP32 | JA) keeps its offset in imm.
      target = slot + 1 + (cls === BPF_JMP32 && op === 0 ? Number(insn.imm) : insn.off);
    } else if (insn.width === 2 && insn.src === BPF_PSEUDO_FUNC) {
      target = slot + 1 + Number(insn.imm);
    }
    const entry: InstructionJson = {
      offset: slot,
      text: texts[i]!,
      bytes: hexBytes(p.instructions.subarray(slot * 8, (slot + insn.width) * 8)),
    };
    if (target !== undefined) {
      const name = functions.get(target) ?? labels.get(target) ?? `.L${target}`;
      if (!functions.has(target)) labels.set(target, name);
      entry.target = { offset: target, name };
    }
    const fn = functions.get(slot);
    if (fn) entry.function = fn;
    const rel = relocations.get(slot);
    if (rel) entry.relocation = rel;
    if (helper) entry.helper = helper;
    const src = lines.get(slot);
    if (src) entry.source = src;
    out.push(entry);
    slot += insn.width;
  });
  for (const e of out) {
    const l = labels.get(e.offset);
    if (l) e.label = l;
  }
  return out;
}

export const disasmCommand: CommandSpec = {
  name: 'disasm',
  usage: '<file.o> [program]',
  summary:
    "Disassemble the programs of a BPF object. All of them or the one named, as linked for loading (with the subprograms they call), with labels, relocations and the C source lines of .BTF.ext line info.",
  args: ['file', 'program?'],
  flags: {
    hex: { description: 'immediates and offsets in hex (llvm-objdump --print-imm-hex)' },
    raw: { description: "show each instruction's bytes" },
  },
  run(args, flags, out) {
    const spec = loadCollectionSpec(args.file!);
    let chosen: CollectionProgramSpec[];
    if (args.program !== undefined) {
      const p = spec.programs[args.program] ?? spec.subprograms[args.program];
      if (!p) {
        const known = [...Object.keys(spec.programs), ...Object.keys(spec.subprograms)];
        throw failure(
          'disasm',
          `${args.file} has no program named "${args.program}" (${known.length ? `it has: ${known.join(', ')}` : 'it has no programs'})`,
          2,
        );
      }
      chosen = [p];
    } else {
      chosen = Object.values(spec.programs);
    }
    const result = chosen.map((p) => ({
      name: p.name,
      section: p.sectionName,
      type: programTypeName(p.type),
      instructions: disassembleProgram(p, spec, flags.hex === true),
    }));
    out.result(result);
    if (result.length === 0) out.line(`${args.file} has no programs`);
    result.forEach((p, k) => {
      if (k) out.line();
      const total = chosen[k]!.instructions.length / 8;
      out.line(`${p.name}: ${p.type || 'unknown type'}, section ${p.section}, ${total} instruction slots`);
      // A source line is shown where it changes, and again after a label or function
      // start, as llvm-objdump -S does: `current` is the line info record in force.
      let last: SourceLine | undefined;
      let current: SourceLine | undefined;
      const width = String(Math.max(total - 1, 0)).length;
      for (const insn of p.instructions) {
        if (insn.function) {
          out.line(`<${insn.function}>:`);
          last = current = undefined;
        } else if (insn.label) {
          out.line(`${insn.label}:`);
          last = undefined;
        }
        if (insn.source) current = insn.source;
        const s = current;
        if (s && s.line !== 0 && (!last || last.line !== s.line || last.file !== s.file)) {
          out.line(`; ${s.text}`);
          last = s;
        }
        let text = insn.text;
        if (insn.target) text += ` <${insn.target.name}>`;
        const note = insn.relocation && !insn.target ? `  ; ${insn.relocation}` : insn.helper ? `  ; ${insn.helper}` : '';
        const raw = flags.raw ? `${insn.bytes.padEnd(47)}  ` : '';
        out.line(`${String(insn.offset).padStart(width + 4)}: ${raw}${text}${note}`);
      }
    });
  },
};
