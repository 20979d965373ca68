// BTF objects the kernel holds, fetched by id (Btf.objectInfo, Btf.fromId: BPF_BTF_GET_FD_BY_ID
// and BPF_OBJ_GET_INFO_BY_FD with the blob), against bpftool's view of the same objects and
// against the files the BTF came from.
import { readFileSync } from 'node:fs';
import { BpfError, Btf } from '../../src/index.js';
import { bpftoolJson, bpftoolLoadAll } from '../helpers/cli.js';
import { kernelTest } from '../helpers/kernel.js';
import { bpftoolBtf, compileFixture } from '../helpers/tools.js';

interface BpftoolBtf {
  id: number;
  size: number;
  kernel: boolean;
  name?: string;
}

kernelTest("vmlinux by id: the same bytes as /sys/kernel/btf/vmlinux, parsed to the same types", (t) => {
  const vmlinux = bpftoolJson<BpftoolBtf[]>('btf', 'list').find((b) => b.kernel && b.name === 'vmlinux');
  t.truthy(vmlinux);
  const info = Btf.objectInfo(vmlinux!.id);
  t.deepEqual(info, { id: vmlinux!.id, name: 'vmlinux', kernel: true, size: vmlinux!.size });
  const btf = Btf.fromId(vmlinux!.id);
  t.true(btf.bytes().equals(readFileSync('/sys/kernel/btf/vmlinux')));
  t.is(btf.length, Btf.kernel().length);
  t.is(btf.typeName(btf.typeByName('task_struct', 'STRUCT').id), 'struct task_struct');
});

kernelTest("a program's BTF by id: bpftool's size and name, the object's types", (t) => {
  const file = compileFixture('cli.bpf.c');
  const loaded = bpftoolLoadAll(file);
  t.teardown(loaded.remove);
  const map = bpftoolJson<{ btf_id: number }>('map', 'show', 'pinned', `${loaded.maps}/records`);
  const listed = bpftoolJson<BpftoolBtf[]>('btf', 'list').find((b) => b.id === map.btf_id)!;
  t.deepEqual(Btf.objectInfo(map.btf_id), { id: map.btf_id, name: '', kernel: false, size: listed.size });
  const btf = Btf.fromId(map.btf_id);
  t.is(btf.bytes().length, listed.size);
  // What the kernel holds is the object's BTF as libbpf sanitised and loaded it: the same types.
  t.is(btf.length, bpftoolJson<{ types: unknown[] }>('btf', 'dump', 'id', String(map.btf_id)).types.length);
  t.is(btf.length, bpftoolBtf(file).length);
  t.is(btf.typeName(btf.typeByName('record', 'STRUCT').id), 'struct record');
});

kernelTest('an id with no BTF object is ENOENT; ids out of range are refused before the kernel', (t) => {
  const e = t.throws(() => Btf.fromId(0x7ffffff0), { instanceOf: BpfError });
  t.is(e?.code, 'ENOENT');
  t.regex(e!.message, /^BPF_BTF_GET_FD_BY_ID: no BTF object with id 2147483632/);
  t.throws(() => Btf.objectInfo(0), { instanceOf: BpfError, message: /"id" must be an integer from 1/ });
});
