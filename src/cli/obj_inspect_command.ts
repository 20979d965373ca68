/**
 * `tsbpf obj inspect <file.o>`: what a BPF object holds, from loadCollectionSpec: programs
 * and subprograms, maps, global variables, externs, license, kernel version and a summary
 * of its BTF. Needs no kernel and no privileges.
 */
import { loadCollectionSpec, type CollectionMapSpec, type CollectionProgramSpec, type CollectionSpec } from '../collection_spec.js';
import type { CommandSpec } from './args.js';
import { attachTypeName, mapFlagsText, mapTypeName, programTypeName } from './format.js';
import { btfTypeName } from './objects.js';
import { table } from './table.js';

function programJson(p: CollectionProgramSpec) {
  return {
    name: p.name,
    section: p.sectionName,
    type: programTypeName(p.type),
    attachType: attachTypeName(p.attachType, p.type),
    attachTo: p.attachTo,
    /** The function's own instruction slots (its ELF symbol's size / 8). */
    instructions: p.functions[0]!.count,
    /** Slots once linked with the subprograms it calls. */
    linkedInstructions: p.instructions.length / 8,
    calls: p.functions.slice(1).map((f) => f.name),
    binding: p.binding,
    autoload: p.autoload,
  };
}

function mapJson(spec: CollectionSpec, m: CollectionMapSpec): Record<string, unknown> {
  return {
    name: m.name,
    type: mapTypeName(m.type),
    keySize: m.keySize,
    valueSize: m.valueSize,
    maxEntries: m.maxEntries,
    flags: m.flags,
    pinning: m.pinning === 0 ? 'none' : m.pinning === 1 ? 'by_name' : m.pinning,
    source: m.source,
    keyType: btfTypeName(spec.types, m.keyTypeId),
    valueType: btfTypeName(spec.types, m.valueTypeId),
    innerMap: m.innerMap ? mapJson(spec, m.innerMap) : undefined,
    // Prog arrays and maps of maps initialised in C: which program or map each slot holds.
    slots: m.contents.some((c) => typeof c.value === 'string')
      ? m.contents.filter((c) => typeof c.value === 'string').map((c) => ({ key: c.key, name: c.value as string }))
      : undefined,
  };
}

/** The type a VAR declares, by name ('__u64', 'struct pair'). */
function varType(spec: CollectionSpec, varId: number): string {
  if (!spec.types || !varId) return '';
  try {
    const v = spec.types.type(varId);
    return v.kind === 'VAR' ? spec.types.typeName(v.type) : '';
  } catch {
    return '';
  }
}

function versionText(v: number): string {
  return v ? `${v >>> 16}.${(v >>> 8) & 0xff}.${v & 0xff}` : 'none';
}

export const objInspectCommand: CommandSpec = {
  name: 'obj inspect',
  usage: '<file.o>',
  summary: 'Show what a BPF object file holds. Programs, maps, global variables, externs, license, kernel version and a BTF summary; needs no kernel.',
  args: ['file'],
  flags: {},
  run(args, _flags, out) {
    const spec = loadCollectionSpec(args.file!);
    const programs = Object.values(spec.programs).map(programJson);
    const subprograms = Object.values(spec.subprograms).map(programJson);
    const maps = Object.values(spec.maps).map((m) => mapJson(spec, m));
    const variables = Object.values(spec.variables).map((v) => ({
      name: v.name,
      section: v.mapName,
      offset: v.offset,
      size: v.size,
      type: varType(spec, v.typeId),
      readOnly: v.readOnly,
    }));
    const externs = Object.values(spec.externs).map((e) => ({
      name: e.name,
      kind: e.kind,
      weak: e.weak,
      type: varType(spec, e.btfId) || (spec.types && e.btfId ? spec.types.typeName(e.btfId) : ''),
    }));
    const btf = spec.types
      ? {
          types: spec.types.length,
          funcInfo: spec.extInfoCounts.funcInfo,
          lineInfo: spec.extInfoCounts.lineInfo,
          coreRelocations: spec.extInfoCounts.coreRelocations,
        }
      : null;
    out.result({ file: args.file, license: spec.license, kernelVersion: spec.kernelVersion, programs, subprograms, maps, variables, externs, btf });

    out.line(`${args.file}`);
    out.line(`  license         ${spec.license ? JSON.stringify(spec.license) : 'none'}`);
    out.line(`  kernel version  ${versionText(spec.kernelVersion)}`);
    out.line(
      `  BTF             ${btf ? `${btf.types} types; .BTF.ext: ${btf.funcInfo} func_info, ${btf.lineInfo} line_info, ${btf.coreRelocations} CO-RE relocations` : 'none'}`,
    );
    const section = (title: string, header: string[], rows: (string | number)[][]): void => {
      out.line();
      if (rows.length === 0) {
        out.line(`${title}: none`);
        return;
      }
      out.line(`${title} (${rows.length})`);
      for (const l of table(header, rows)) out.line(`  ${l}`);
    };
    section(
      'Programs',
      ['name', 'section', 'type', 'attach type', 'insns', 'linked', 'calls'],
      programs.map((p) => [p.name, p.section, p.type, p.attachType || '-', p.instructions, p.linkedInstructions, p.calls.join(',') || '-']),
    );
    section(
      'Subprograms',
      ['name', 'section', 'insns', 'linked', 'calls'],
      subprograms.map((p) => [p.name, p.section, p.instructions, p.linkedInstructions, p.calls.join(',') || '-']),
    );
    section(
      'Maps',
      ['name', 'type', 'key', 'value', 'max entries', 'flags', 'pinning', 'key type', 'value type'],
      maps.map((m) => [
        m.name as string,
        m.type as string,
        m.keySize as number,
        m.valueSize as number,
        m.maxEntries as number,
        mapFlagsText(m.flags as number),
        String(m.pinning),
        (m.keyType as string) || '-',
        (m.valueType as string) || '-',
      ]),
    );
    section(
      'Variables',
      ['name', 'section', 'offset', 'size', 'type'],
      variables.map((v) => [v.name, v.section, v.offset, v.size, v.type || '-']),
    );
    section(
      'Externs',
      ['name', 'kind', 'weak', 'type'],
      externs.map((e) => [e.name, e.kind, e.weak ? 'yes' : 'no', e.type || '-']),
    );
  },
};
