/**
 * Our decoded BTF types written the way `bpftool btf dump --json` writes them, so bpftool
 * (libbpf's parser) can serve as the oracle of every field.
 */
import type { BtfType } from '../../src/index.js';

type Json = Record<string, unknown>;

const anon = (name: string) => name || '(anon)';

export function bpftoolShape(t: BtfType): Json {
  const base: Json = { id: t.id, kind: t.kind, name: anon(t.name) };
  switch (t.kind) {
    case 'VOID':
      return base;
    case 'INT':
      return {
        ...base,
        size: t.size,
        bits_offset: t.bitOffset,
        nr_bits: t.bits,
        encoding: t.signed ? 'SIGNED' : t.char ? 'CHAR' : t.bool ? 'BOOL' : '(none)',
      };
    case 'PTR':
    case 'TYPEDEF':
    case 'VOLATILE':
    case 'CONST':
    case 'RESTRICT':
    case 'TYPE_TAG':
      return { ...base, type_id: t.type };
    case 'ARRAY':
      return { ...base, type_id: t.type, index_type_id: t.indexType, nr_elems: t.nelems };
    case 'STRUCT':
    case 'UNION':
      return {
        ...base,
        size: t.size,
        vlen: t.members.length,
        members: t.members.map((m) => ({
          name: anon(m.name),
          type_id: m.type,
          bits_offset: m.bitOffset,
          ...(m.bitfieldSize ? { bitfield_size: m.bitfieldSize } : {}),
        })),
      };
    case 'ENUM':
    case 'ENUM64':
      return {
        ...base,
        encoding: t.signed ? 'SIGNED' : 'UNSIGNED',
        size: t.size,
        vlen: t.values.length,
        values: t.values.map((v) => ({ name: v.name, val: Number(t.kind === 'ENUM' && !t.signed ? bpftoolEnum32(v.value) : v.value) })),
      };
    case 'FWD':
      return { ...base, fwd_kind: t.union ? 'union' : 'struct' };
    case 'FUNC':
      return { ...base, type_id: t.type, linkage: t.linkage };
    case 'FUNC_PROTO':
      return {
        ...base,
        ret_type_id: t.returnType,
        vlen: t.params.length,
        params: t.params.map((p) => ({ name: anon(p.name), type_id: p.type })),
      };
    case 'VAR':
      return { ...base, type_id: t.type, linkage: t.linkage === 'global' ? 'global' : t.linkage };
    case 'DATASEC':
      return { ...base, size: t.size, vlen: t.vars.length, vars: t.vars.map((v) => ({ type_id: v.type, offset: v.offset, size: v.size })) };
    case 'FLOAT':
      return { ...base, size: t.size };
    case 'DECL_TAG':
      return { ...base, type_id: t.type, component_idx: t.componentIdx };
  }
}

/**
 * bpftool 7.1 prints each value of a 32-bit enum as a signed 32-bit number widened to 64
 * bits, even for unsigned enums (0xefffffff comes out as 18446744073441116159): mimic it.
 */
function bpftoolEnum32(v: bigint): bigint {
  return BigInt.asUintN(64, BigInt.asIntN(32, v));
}

/** bpftool prints an object's BTF before the loader's fix-ups: DATASEC sizes and offsets. */
export function withoutDatasecLayout(j: Json): Json {
  if (j.kind !== 'DATASEC') return j;
  const vars = (j.vars as Json[]).map((v) => ({ type_id: v.type_id }));
  return { ...j, size: undefined, vars };
}
