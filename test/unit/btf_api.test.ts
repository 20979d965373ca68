// The typed BTF API: printing types as C (checked against `bpftool btf dump ... format c`
// for every struct, union, enum and typedef of the running kernel and of a C source full of
// awkward declarators), walking members through anonymous structs and unions, looking
// members up by path, and the essential-name rule CO-RE matches by.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BpfError, Btf, essentialName, loadCollectionSpec } from '../../src/index.js';
import { BtfBuilder } from '../helpers/btf_builder.js';
import { compileSource } from '../helpers/tools.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';

/** Top-level definitions of bpftool's C output, by "struct x" / "union x" / "enum x" / "typedef x". */
function bpftoolDefinitions(path: string): Map<string, string> {
  const text = execFileSync('bpftool', ['btf', 'dump', 'file', path, 'format', 'c'], { encoding: 'utf8', maxBuffer: 512 << 20 });
  const lines = text.split('\n');
  const defs = new Map<string, string>();
  for (let i = 0; i < lines.length; i++) {
    const open = /^(struct|union|enum) (\w+) \{$/.exec(lines[i]!);
    if (open) {
      let j = i;
      while (!/^\}.*;$/.test(lines[j]!)) j++;
      defs.set(`${open[1]} ${open[2]}`, lines.slice(i, j + 1).join('\n'));
      i = j;
      continue;
    }
    const td = /^typedef .*?(\w+)(\)\(.*\))?(\[\d+\])*;$/.exec(lines[i]!);
    if (td && lines[i]!.startsWith('typedef ') && !lines[i]!.endsWith('{')) {
      // The declared name: the identifier before any parameter list or array suffix.
      const name = /(\w+)\)?(?:\(.*\))?(?:\[\d+\])*;$/.exec(lines[i]!.replace(/\(\*(\w+)\)/, '$1'))?.[1];
      if (name) defs.set(`typedef ${name}`, lines[i]!);
      continue;
    }
    const tdOpen = /^typedef (struct|union|enum) \{$/.exec(lines[i]!);
    if (tdOpen) {
      let j = i;
      while (!/^\}.*;$/.test(lines[j]!)) j++;
      const name = /^\} (\w+);$/.exec(lines[j]!)?.[1];
      if (name) defs.set(`typedef ${name}`, lines.slice(i, j + 1).join('\n'));
      i = j;
    }
  }
  return defs;
}

/** libbpf 1.1 (Debian's bpftool) does not write enum mode attributes yet; newer libbpf does, as tsbpf. */
const withoutMode = (s: string): string => s.replace(/ __attribute__\(\(mode\(\w+\)\)\)/g, '');

function compareAll(t: import('ava').ExecutionContext, btf: Btf, defs: Map<string, string>, what: string): number {
  const counts = new Map<string, number>();
  for (const ty of btf) if (ty.name) counts.set(`${ty.kind}:${ty.name}`, (counts.get(`${ty.kind}:${ty.name}`) ?? 0) + 1);
  let compared = 0;
  let differ = 0;
  for (const ty of btf) {
    const tag = ty.kind === 'STRUCT' ? 'struct' : ty.kind === 'UNION' ? 'union' : ty.kind === 'ENUM' || ty.kind === 'ENUM64' ? 'enum' : ty.kind === 'TYPEDEF' ? 'typedef' : undefined;
    if (!tag || !ty.name) continue;
    const want = defs.get(`${tag} ${ty.name}`);
    // bpftool renames duplicate names (x___2) throughout its output: compare the others.
    if (!want || want.includes('___') || (counts.get(`${ty.kind}:${ty.name}`) ?? 0) > 1) continue;
    compared++;
    const got = withoutMode(btf.formatC(ty.id));
    if (got !== want) {
      differ++;
      if (differ <= 3) t.is(got, want, `${what}: ${tag} ${ty.name}`);
    }
  }
  t.is(differ, 0, `${what}: definitions that differ from bpftool's`);
  return compared;
}

test('formatC prints every struct, union, enum and typedef of vmlinux as bpftool does', (t) => {
  const btf = Btf.kernel();
  const compared = compareAll(t, btf, bpftoolDefinitions(VMLINUX), 'vmlinux');
  t.true(compared > 10_000, `compared ${compared}`);
});

const AWKWARD = `
typedef int (*handler_t)(void *ctx, const char *name, ...);
typedef char name_t[16];
typedef const volatile unsigned long long cv_u64;
struct list { struct list *next, *prev; };
enum small { S_A = -1, S_B = 5 };
enum big { B_A = 0x100000000ULL };
struct awkward {
	int (*callbacks[4])(int, long);
	char (*grid)[8][3];
	const char *const names[2];
	void (*(*make)(int))(void);
	struct { int x; union { short y; char z; }; } nested;
	enum { ANON_ONE = 1 } anon_enum;
	unsigned int flag_a: 1, flag_b: 3;
	long: 0;
	unsigned char after;
	struct list head;
	handler_t h;
	name_t name;
	cv_u64 counter;
	enum small sm;
	enum big bg;
	int tail[];
};
struct __attribute__((packed)) packed_one { char c; int i; short s; };
union u { int a; char b[3]; };
struct awkward awkward_v;
struct packed_one packed_v;
union u u_v;
handler_t handler_v;
name_t name_v;
cv_u64 cv_v;
`;

test('formatC writes awkward declarators as bpftool does: function pointers, arrays of them, pointers to arrays, packing, padding', (t) => {
  const obj = compileSource('btf_api_awkward', AWKWARD);
  const btf = loadCollectionSpec(obj).types!;
  const defs = bpftoolDefinitions(obj);
  const compared = compareAll(t, btf, defs, 'awkward.c');
  t.true(compared >= 8, `compared ${compared}`);
  const awkward = btf.formatC(btf.typeByName('awkward', 'STRUCT').id);
  t.regex(awkward, /\tint \(\*callbacks\[4\]\)\(int, long\);/);
  t.regex(awkward, /\tchar \(\*grid\)\[8\]\[3\];/);
  t.regex(awkward, /\tvoid \(\* \(\*make\)\(int\)\)\(void\);/);
  t.regex(awkward, /\tconst char \* const names\[2\];/);
  t.regex(awkward, /\tlong: 0;\n\tunsigned char after;/);
  t.regex(btf.formatC(btf.typeByName('packed_one', 'STRUCT').id), /\} __attribute__\(\(packed\)\);$/);
});

test('formatC of other kinds: variables, functions, forward declarations, plain types', (t) => {
  const b = new BtfBuilder();
  const int = b.int('int', 4, true);
  const char = b.int('char', 1, true);
  const cchar = b.qual('CONST', char);
  const pc = b.ptr(cchar);
  const proto = b.funcProto(int, [['fd', int], ['path', pc]]);
  const fn = b.func('open_it', proto, 1);
  const fwd = b.fwd('opaque', true);
  const arr = b.array(pc, int, 3);
  const v = b.variable('table', arr, 1);
  const big = b.enum64('big', [['B_A', 0x100000000n]]);
  const small64 = b.enum64('small64', [['S_A', 1n]]);
  const byte = b.enum('tiny', 1, [['T_A', 1]]);
  const btf = Btf.parse(b.build());
  // clang-14 cannot emit ENUM64; these follow libbpf's btf_dump (mode attributes where C
  // would pick another size by itself).
  t.is(btf.formatC(big), 'enum big {\n\tB_A = 4294967296ULL,\n};');
  t.is(btf.formatC(small64), 'enum small64 {\n\tS_A = 1ULL,\n} __attribute__((mode(word)));');
  t.is(btf.formatC(byte), 'enum tiny {\n\tT_A = 1,\n} __attribute__((mode(byte)));');
  t.is(btf.formatC(fn), 'int open_it(int fd, const char *path);');
  t.is(btf.formatC(fwd), 'union opaque;');
  t.is(btf.formatC(v), 'const char *table[3];');
  t.is(btf.formatC(pc), 'const char *');
  t.is(btf.formatC(0), 'void');
  t.is(btf.formatC(proto), 'int(int fd, const char *path)');
  t.throws(() => btf.formatC(99), { instanceOf: BpfError, message: /no type \[99\]/ });
});

test('fields walks members through anonymous structs and unions with offsets from the outer type; field finds one by path', (t) => {
  const btf = Btf.kernel();
  const task = btf.typeByName('task_struct', 'STRUCT');
  if (task.kind !== 'STRUCT') throw new Error('not a struct');
  const all = [...btf.fields(task.id)];
  const byPath = new Map(all.map((f) => [f.path, f]));
  // Members of named struct members are not walked unless asked.
  t.true(byPath.has('pid') && byPath.has('comm') && byPath.has('se'));
  t.false(byPath.has('se.vruntime'));
  t.true(all.every((f) => f.bitOffset + f.bitfieldSize <= task.size * 8));
  // Every member of task_struct itself is there at its bpftool offset; anonymous ones are
  // replaced by their members.
  for (const m of task.members) if (m.name) t.is(byPath.get(m.name)?.bitOffset, m.bitOffset, m.name);
  const bitfield = all.find((f) => f.name === 'user_dumpable')!;
  t.is(bitfield.bitfieldSize, 1);
  const deep = new Map([...btf.fields(task.id, { deep: true })].map((f) => [f.path, f]));
  const se = byPath.get('se')!;
  const vr = deep.get('se.vruntime')!;
  const seType = btf.resolveType(se.type);
  if (seType.kind !== 'STRUCT') throw new Error('se is not a struct');
  t.is(vr.bitOffset, se.bitOffset + seType.members.find((m) => m.name === 'vruntime')!.bitOffset);
  t.deepEqual(btf.field(task.id, 'se.vruntime'), { ...vr, path: 'se.vruntime' });
  const comm = btf.field(task.id, 'comm[3]')!;
  t.is(comm.bitOffset, byPath.get('comm')!.bitOffset + 24);
  t.is(btf.typeName(comm.type), 'char');
  t.is(btf.field(task.id, 'no_such_member'), undefined);
  t.is(btf.field(task.id, 'comm[16]'), undefined, 'past the end');
  t.is(btf.field(task.id, 'pid.x'), undefined, 'pid is not a struct');
  t.throws(() => btf.field(task.id, 'a..b'), { message: /is not a member path/ });
  t.throws(() => [...btf.fields(btf.typeByName('pid_t').id)], { message: /is not a struct or union/ });
  t.throws(() => [...btf.fields(task.id, { deeper: true } as never)], { message: /unknown option "deeper"/ });
});

test('fields through typedefs and qualifiers, and nested anonymous members on hand-built BTF', (t) => {
  const b = new BtfBuilder();
  const int = b.int('int', 4, true);
  const inner = b.struct('', 8, [['x', int, 0], ['y', int, 32]]);
  const un = b.struct('', 8, [['', inner, 0], ['z', int, 0]], true);
  const outer = b.struct('outer', 16, [['head', int, 0], ['', un, 64]]);
  const td = b.typedef('outer_t', b.qual('CONST', outer));
  const btf = Btf.parse(b.build());
  t.deepEqual([...btf.fields(td)].map((f) => [f.path, f.bitOffset, f.parent]), [
    ['head', 0, outer],
    ['x', 64, inner],
    ['y', 96, inner],
    ['z', 64, un],
  ]);
  t.is(btf.resolveType(td).name, 'outer');
  t.is(btf.field(td, 'y')!.bitOffset, 96);
});

test('essentialName drops the last ___flavour suffix as libbpf does', (t) => {
  const cases: Array<[string, string]> = [
    ['task_struct', 'task_struct'],
    ['task_struct___old', 'task_struct'],
    ['task_struct___v5_10', 'task_struct'],
    ['a___b___c', 'a___b'],
    ['x____y', 'x____y'],
    ['x___', 'x___'],
    ['___x', '___x'],
    ['a___b', 'a'],
    ['', ''],
    ['abc', 'abc'],
  ];
  for (const [name, want] of cases) t.is(essentialName(name), want, name);
});

test('a module\'s split BTF on the running kernel\'s: ids and strings continue after vmlinux, lookups and C printing span both', (t) => {
  const vmlinux = Btf.kernel();
  const task = vmlinux.typeByName('task_struct', 'STRUCT');
  const raw = vmlinux.bytes();
  const mod = new BtfBuilder({ endId: vmlinux.endId, strLen: raw.readUInt32LE(20) });
  const ptr = mod.ptr(task.id);
  const s = mod.struct('tsbpf_mod_state', 16, [['owner', ptr, 0], ['refs', vmlinux.typeByName('int', 'INT').id, 64]]);
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-modbtf-'));
  try {
    writeFileSync(join(dir, 'tsbpf_mod'), mod.build());
    const m = Btf.load(join(dir, 'tsbpf_mod'), { base: vmlinux });
    t.is(m.startId, vmlinux.endId);
    t.is(m.base, vmlinux);
    t.is(m.typeByName('tsbpf_mod_state', 'STRUCT').id, s);
    t.is(m.typeByName('task_struct', 'STRUCT').id, task.id, 'the base answers through the module');
    t.is(m.formatC(s), 'struct tsbpf_mod_state {\n\tstruct task_struct *owner;\n\tint refs;\n};', 'the tail padding is the compiler\'s own');
    t.deepEqual([...m.fields(s)].map((f) => f.path), ['owner', 'refs']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
