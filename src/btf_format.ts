/**
 * Prints BTF types as C, the way `bpftool btf dump file ... format c` writes each one:
 * definitions of structs, unions and enums (anonymous members inline, bitfields, the
 * explicit padding that reproduces the layout, `__attribute__((packed))`), typedefs, and
 * declarations of any type with C's inside-out declarator syntax (pointers to arrays,
 * arrays of function pointers). The algorithm follows libbpf's btf_dump.c.
 */
import type { Btf, BtfType } from './btf.js';

const PADS: ReadonlyArray<readonly [string, number]> = [
  ['long', 64],
  ['int', 32],
  ['short', 16],
  ['char', 8],
];

const tabs = (lvl: number): string => '\t'.repeat(lvl);
const roundUp = (v: number, to: number): number => Math.ceil(v / to) * to;

/** One type as a C declaration or definition, ending in ';' for definitions. */
export function formatType(btf: Btf, id: number): string {
  const t = btf.type(id);
  switch (t.kind) {
    case 'STRUCT':
    case 'UNION':
      return `${structDef(btf, t, 0)};`;
    case 'ENUM':
    case 'ENUM64':
      return `${enumDef(t, 0)};`;
    case 'TYPEDEF':
      return `typedef ${decl(btf, t.type, t.name, 0)};`;
    case 'FWD':
      return `${t.union ? 'union' : 'struct'} ${t.name};`;
    case 'FUNC':
      return `${t.linkage === 'static' ? 'static ' : t.linkage === 'extern' ? 'extern ' : ''}${decl(btf, t.type, t.name, 0)};`;
    case 'VAR':
      return `${t.linkage === 'static' ? 'static ' : t.linkage === 'extern' ? 'extern ' : ''}${decl(btf, t.type, t.name, 0)};`;
    case 'DATASEC':
      return [
        `/* section ${t.name} (${t.size} bytes) */`,
        ...t.vars.map((v) => `${formatType(btf, v.type)} /* offset ${v.offset}, ${v.size} bytes */`),
      ].join('\n');
    case 'DECL_TAG':
      return `/* __attribute__((btf_decl_tag("${t.name}"))) on ${btf.typeName(t.type)}${t.componentIdx >= 0 ? ` member ${t.componentIdx}` : ''} */`;
    default:
      return decl(btf, id, '', 0);
  }
}

/** The declaration of `name` with type `id` ("int (*cb)(void *)", "char comm[16]"). */
export function decl(btf: Btf, id: number, name: string, lvl: number): string {
  const stack: number[] = [];
  for (let depth = 0; ; depth++) {
    if (depth > 64) throw new Error(`BTF: the declaration chain of type [${id}] is too deep`);
    stack.push(id);
    if (id === 0) break;
    const t = btf.type(id);
    if (t.kind === 'PTR' || t.kind === 'VOLATILE' || t.kind === 'CONST' || t.kind === 'RESTRICT' || t.kind === 'TYPE_TAG') id = t.type;
    else if (t.kind === 'FUNC_PROTO') id = t.returnType;
    else if (t.kind === 'ARRAY') id = t.type;
    else break;
  }
  return chain(btf, stack, name, lvl);
}

function isMod(t: BtfType): boolean {
  return t.kind === 'VOLATILE' || t.kind === 'CONST' || t.kind === 'RESTRICT' || t.kind === 'TYPE_TAG';
}

/** Qualifiers on top of the stack, written before a base type ("const int"). */
function mods(btf: Btf, stack: number[]): string {
  let out = '';
  while (stack.length) {
    const t = btf.type(stack[stack.length - 1]!);
    if (t.kind === 'VOLATILE') out += 'volatile ';
    else if (t.kind === 'CONST') out += 'const ';
    else if (t.kind === 'RESTRICT') out += 'restrict ';
    else break;
    stack.pop();
  }
  return out;
}

function dropMods(btf: Btf, stack: number[]): void {
  while (stack.length && isMod(btf.type(stack[stack.length - 1]!))) stack.pop();
}

function nameAfter(name: string, lastWasPtr: boolean): string {
  return name && !lastWasPtr ? ` ${name}` : name;
}

/**
 * Writes the chain popped from the top of `stack` (the base type is on top, the outermost
 * declarator at the bottom): base type and qualifiers first, then pointers, then the name,
 * with parentheses where an array or function declarator would otherwise bind first.
 */
function chain(btf: Btf, stack: number[], name: string, lvl: number): string {
  let out = '';
  let lastWasPtr = true;
  while (stack.length) {
    const id = stack.pop()!;
    if (id === 0) {
      out += `${mods(btf, stack)}void`;
      lastWasPtr = false;
      continue;
    }
    const t = btf.type(id);
    switch (t.kind) {
      case 'INT':
      case 'FLOAT':
      case 'TYPEDEF':
        out += `${mods(btf, stack)}${t.name}`;
        break;
      case 'STRUCT':
      case 'UNION':
        out += mods(btf, stack);
        out += t.name ? `${t.kind === 'STRUCT' ? 'struct' : 'union'} ${t.name}` : structDef(btf, t, lvl);
        break;
      case 'ENUM':
      case 'ENUM64':
        out += mods(btf, stack);
        out += t.name ? `enum ${t.name}` : enumDef(t, lvl);
        break;
      case 'FWD':
        out += `${mods(btf, stack)}${t.union ? 'union' : 'struct'} ${t.name}`;
        break;
      case 'PTR':
        out += lastWasPtr ? '*' : ' *';
        break;
      case 'VOLATILE':
        out += ' volatile';
        break;
      case 'CONST':
        out += ' const';
        break;
      case 'RESTRICT':
        out += ' restrict';
        break;
      case 'TYPE_TAG':
        out += `${mods(btf, stack)} __attribute__((btf_type_tag("${t.name}")))`;
        break;
      case 'ARRAY': {
        // Qualifiers of an array itself mean nothing in C (GCC emits them anyway).
        dropMods(btf, stack);
        if (!stack.length) return `${out}${nameAfter(name, lastWasPtr)}[${t.nelems}]`;
        const multidim = btf.type(stack[stack.length - 1]!).kind === 'ARRAY';
        if (name && !lastWasPtr) out += ' ';
        if (!multidim) out += '(';
        out += chain(btf, stack, name, lvl);
        if (!multidim) out += ')';
        return `${out}[${t.nelems}]`;
      }
      case 'FUNC_PROTO': {
        dropMods(btf, stack);
        if (stack.length) out += ` (${chain(btf, stack, name, lvl)})`;
        else out += nameAfter(name, lastWasPtr);
        // clang writes f(void) as one parameter of type void.
        if (t.params.length === 0 || (t.params.length === 1 && t.params[0]!.type === 0)) return `${out}(void)`;
        const params = t.params.map((p, i) => (i === t.params.length - 1 && p.type === 0 ? '...' : decl(btf, p.type, p.name, lvl)));
        return `${out}(${params.join(', ')})`;
      }
      default:
        out += `/* ${t.kind} */`;
    }
    lastWasPtr = t.kind === 'PTR';
  }
  return out + nameAfter(name, lastWasPtr);
}

/** A struct is packed when a member sits off its alignment, or the size is not a multiple of it. */
function isPacked(btf: Btf, t: Extract<BtfType, { kind: 'STRUCT' | 'UNION' }>): boolean {
  let max = 1;
  for (const m of t.members) {
    const a = alignOf(btf, m.type);
    if (a && m.bitfieldSize === 0 && m.bitOffset % (8 * a) !== 0) return true;
    max = Math.max(max, a);
  }
  return t.size % max !== 0;
}

function alignOf(btf: Btf, id: number): number {
  try {
    return btf.alignof(id);
  } catch {
    return 0;
  }
}

function sizeOf(btf: Btf, id: number): number {
  try {
    return btf.sizeof(id);
  } catch {
    return 0;
  }
}

/** Explicit padding from bit `cur` to bit `next`, as btf_dump writes it (`long: 64;`, `int: 0;`). */
function padding(cur: number, next: number, nextAlign: number, inBitfield: boolean, lvl: number): string {
  if (cur >= next) return '';
  let out = '';
  let newOff = 0;
  let [padType, padBits] = PADS[0]!;
  for (const [type, bits] of PADS) {
    padType = type;
    padBits = bits;
    newOff = roundUp(cur, bits);
    if (newOff <= next) break;
  }
  if (newOff > cur && newOff <= next) {
    // An explicit `<type>: 0` makes the compiler align where its own rules would not.
    if (inBitfield || (newOff === next && roundUp(cur, nextAlign * 8) !== newOff) || (newOff !== next && next - newOff <= newOff - cur))
      out += `\n${tabs(lvl)}${padType}: ${inBitfield ? newOff - cur : 0};`;
    cur = newOff;
  }
  while (cur !== next) {
    const bits = Math.min(next - cur, padBits);
    if (bits === padBits) {
      out += `\n${tabs(lvl)}${padType}: ${padBits};`;
      cur += bits;
      continue;
    }
    // The smallest type that holds the rest.
    for (let i = PADS.length - 1; i >= 0; i--) {
      const [type, size] = PADS[i]!;
      if (size < bits) continue;
      out += `\n${tabs(lvl)}${type}: ${bits};`;
      cur += bits;
      break;
    }
  }
  return out;
}

function structDef(btf: Btf, t: Extract<BtfType, { kind: 'STRUCT' | 'UNION' }>, lvl: number): string {
  const isStruct = t.kind === 'STRUCT';
  const packed = isStruct && isPacked(btf, t);
  let out = `${isStruct ? 'struct' : 'union'}${t.name ? ` ${t.name}` : ''} {`;
  let off = 0;
  let prevBitfield = false;
  for (const m of t.members) {
    const inBitfield = prevBitfield && m.bitfieldSize !== 0;
    out += padding(off, m.bitOffset, packed ? 1 : alignOf(btf, m.type), inBitfield, lvl + 1);
    out += `\n${tabs(lvl + 1)}${decl(btf, m.type, m.name, lvl + 1)}`;
    if (m.bitfieldSize) {
      out += `: ${m.bitfieldSize}`;
      off = m.bitOffset + m.bitfieldSize;
      prevBitfield = true;
    } else {
      off = m.bitOffset + Math.max(0, sizeOf(btf, m.type)) * 8;
      prevBitfield = false;
    }
    out += ';';
  }
  if (isStruct) out += padding(off, t.size * 8, alignOf(btf, t.id), false, lvl + 1);
  out += t.members.length || t.size ? `\n${tabs(lvl)}}` : '}';
  return packed ? `${out} __attribute__((packed))` : out;
}

function enumDef(t: Extract<BtfType, { kind: 'ENUM' | 'ENUM64' }>, lvl: number): string {
  let out = `enum${t.name ? ` ${t.name}` : ''}`;
  if (!t.values.length) return out;
  out += ' {';
  const suffix = t.kind === 'ENUM64' ? (t.signed ? 'LL' : 'ULL') : '';
  for (const v of t.values) out += `\n${tabs(lvl + 1)}${v.name} = ${v.value}${suffix},`;
  out += `\n${tabs(lvl)}}`;
  // Sizes C would not choose by itself.
  if (t.size === 1) out += ' __attribute__((mode(byte)))';
  else if (t.size === 8 && (t.kind === 'ENUM' || t.values.every((v) => BigInt.asUintN(64, v.value) >> 32n === 0n)))
    out += ' __attribute__((mode(word)))';
  return out;
}
