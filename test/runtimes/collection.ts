// A clang-compiled object on each runtime: parsed from the file, a .rodata constant set
// before load, loaded with its BTF, map, subprogram, kconfig externs and CO-RE relocation,
// run, and read back through its hash map and its .bss variables (the map's memory,
// mmapped through the runtime's FFI).
// The object is test/fixtures/bpf/runtime.bpf.c, which scripts/run-tests.mjs compiles
// into build/runtimes/ before starting the runtimes (Deno may read only the package).
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import process from 'node:process';
import { BpfError, Btf, Collection, loadCollectionSpec } from '../../src/index.js';
import { group, kernelCheck } from './harness.js';

const XDP_DROP = 1;

/** Where the runner put the compiled object (--object PATH). */
function objectPath(): string {
  const i = process.argv.indexOf('--object');
  if (i < 0 || !process.argv[i + 1]) throw new Error('no --object PATH: run the suite through scripts/run-tests.mjs');
  return process.argv[i + 1]!;
}

group('collection', () => {
  kernelCheck('a clang-compiled object loads with its map, globals, subprogram, kconfig externs and CO-RE, and runs', () => {
    const spec = loadCollectionSpec(objectPath());
    assert.deepEqual(Object.keys(spec.programs), ['count_sizes']);
    assert.equal(spec.maps.sizes?.keySize, 4);
    spec.variables.verdict!.set(XDP_DROP);
    using coll = Collection.load(spec);
    const prog = coll.programs.count_sizes!;
    for (const len of [64, 64, 100]) assert.equal(prog.test(Buffer.alloc(len)).retval, XDP_DROP);
    const sizes = new Map([...coll.maps.sizes!.entries()].map(([k, v]) => [k.readUInt32LE(0), v.readBigUInt64LE(0)]));
    assert.deepEqual(sizes, new Map([[64, 2n], [100, 1n]]));
    assert.equal(coll.variables.packets!.get().readBigUInt64LE(0), 3n);
    coll.variables.packets!.set(0n);
    prog.test(Buffer.alloc(64));
    assert.equal(coll.variables.packets!.get().readBigUInt64LE(0), 1n);
    assert.throws(() => coll.variables.verdict!.set(0), (e: unknown) => e instanceof BpfError);
    // Externs and CO-RE, resolved from the kernel's release, config and BTF.
    const u32 = (name: string): number => coll.variables[name]!.get().readUInt32LE(0);
    assert.ok(u32('seen_version') >= (5 << 16), `LINUX_KERNEL_VERSION ${u32('seen_version').toString(16)}`);
    assert.equal(u32('seen_bpf_syscall'), 1, 'CONFIG_BPF_SYSCALL=y');
    const btf = Btf.kernel();
    assert.equal(u32('pid_offset') * 8, btf.field(btf.typeByName('task_struct', 'STRUCT').id, 'pid')!.bitOffset);
  });

  kernelCheck('bytes that are not an ELF object are a BpfError naming the problem', () => {
    assert.throws(
      () => loadCollectionSpec(Buffer.from('not an object')),
      (e: unknown) => e instanceof BpfError && /ELF/i.test(e.message),
    );
  });

  kernelCheck("the kernel's BTF, which CO-RE relocates against, reads on every runtime (Deno: through libc)", () => {
    const btf = Btf.kernel();
    const task = btf.typeByName('task_struct', 'STRUCT');
    assert.ok(task, 'task_struct in vmlinux BTF');
    assert.ok(btf.field(task.id, 'pid'), 'task_struct.pid');
  });
});
