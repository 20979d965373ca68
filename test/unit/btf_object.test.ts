// Btf.objectInfo and Btf.fromId on the fake host: the two BPF_OBJ_GET_INFO_BY_FD requests
// (sizes and name, then the blob through a nested fix-up), the fd closed afterwards, and the
// kernel's odd answers: a name that does not fit (ENOSPC), a blob that changes size, no
// such object, no permission.
import test from 'ava';
import { attrU32 } from '../../bridge/fake_host.js';
import type { BpfRequest } from '../../bridge/host.js';
import { BpfError, Btf } from '../../src/index.js';
import { BtfBuilder } from '../helpers/btf_builder.js';
import { fakeCore } from '../helpers/fake.js';

const ENOENT = 2;
const EPERM = 1;
const ENOSPC = 28;
const INFO_ATTR = { bpf_fd: 0, info_len: 4, info: 8 };
/** struct bpf_btf_info (include/uapi/linux/bpf.h). */
const BTF_INFO = { btf: 0, btf_size: 8, id: 12, name: 16, name_len: 24, kernel_btf: 28, size: 32 };

function blob(): Buffer {
  const b = new BtfBuilder();
  const u32 = b.int('unsigned int', 4);
  b.struct('pair', 8, [['a', u32, 0], ['b', u32, 32]]);
  return b.build();
}

/** Answers info requests as the kernel does for a BTF object holding `data`. */
function infoHandler(data: Buffer, opts: { id: number; name: string; kernel: boolean; sizes?: number[] }) {
  let call = 0;
  return (req: BpfRequest): number => {
    const info = req.buffer(INFO_ATTR.info)!;
    const d = new DataView(info.data.buffer, info.data.byteOffset, info.data.byteLength);
    const size = opts.sizes?.[call++] ?? data.length;
    const want = d.getUint32(BTF_INFO.btf_size, true);
    const blobBuf = req.nested(0, BTF_INFO.btf);
    if (blobBuf) blobBuf.data.set(data.subarray(0, Math.min(want, blobBuf.data.length)));
    d.setUint32(BTF_INFO.btf_size, size, true);
    d.setUint32(BTF_INFO.id, opts.id, true);
    d.setUint32(BTF_INFO.kernel_btf, opts.kernel ? 1 : 0, true);
    const nameBuf = req.nested(0, BTF_INFO.name)!;
    const nameLen = d.getUint32(BTF_INFO.name_len, true);
    d.setUint32(BTF_INFO.name_len, opts.name.length, true);
    if (opts.name.length + 1 > nameLen) {
      nameBuf.data.set(Buffer.from(`${opts.name.slice(0, nameLen - 1)}\0`));
      return -ENOSPC;
    }
    nameBuf.data.set(Buffer.from(`${opts.name}\0`));
    return 0;
  };
}

test.serial('fromId: sizes and name first, then the blob; the fd is closed; the types parse', (t) => {
  const { host, restore } = fakeCore();
  t.teardown(restore);
  const data = blob();
  let fd = 0;
  host.on('BPF_BTF_GET_FD_BY_ID', (req) => (attrU32(req.attr, 0) === 42 ? (fd = host.fd()) : -ENOENT));
  host.on('BPF_OBJ_GET_INFO_BY_FD', infoHandler(data, { id: 42, name: '', kernel: false }));
  const btf = Btf.fromId(42);
  t.true(btf.bytes().equals(data));
  t.is(btf.typeName(btf.typeByName('pair').id), 'struct pair');
  const reqs = host.of('BPF_OBJ_GET_INFO_BY_FD');
  t.is(reqs.length, 2);
  t.is(attrU32(reqs[0]!.attr, INFO_ATTR.bpf_fd), fd);
  t.is(attrU32(reqs[0]!.attr, INFO_ATTR.info_len), BTF_INFO.size);
  t.is(reqs[0]!.outputs.size, 2, 'info and name, no blob');
  t.is(reqs[1]!.outputs.size, 3, 'info, name and the blob');
  t.deepEqual(host.closed, [fd]);
});

test.serial('objectInfo: one request; a name longer than the buffer is cut, not an error', (t) => {
  const { host, restore } = fakeCore();
  t.teardown(restore);
  host.on('BPF_BTF_GET_FD_BY_ID', () => host.fd());
  const long = `module_${'x'.repeat(80)}`;
  host.on('BPF_OBJ_GET_INFO_BY_FD', infoHandler(blob(), { id: 7, name: long, kernel: true }));
  t.deepEqual(Btf.objectInfo(7), { id: 7, name: long.slice(0, 63), kernel: true, size: blob().length });
  t.is(host.of('BPF_OBJ_GET_INFO_BY_FD').length, 1);
  t.is(host.closed.length, 1);
});

test.serial('a blob that changes size between the requests is an error, and the fd is still closed', (t) => {
  const { host, restore } = fakeCore();
  t.teardown(restore);
  const data = blob();
  host.on('BPF_BTF_GET_FD_BY_ID', () => host.fd());
  host.on('BPF_OBJ_GET_INFO_BY_FD', infoHandler(data, { id: 3, name: '', kernel: false, sizes: [data.length, data.length + 8] }));
  const e = t.throws(() => Btf.fromId(3), { instanceOf: BpfError });
  t.regex(e!.message, /the BTF object changed size between two requests/);
  t.is(host.closed.length, 1);
});

test.serial('an impossible size is refused before any allocation', (t) => {
  const { host, restore } = fakeCore();
  t.teardown(restore);
  host.on('BPF_BTF_GET_FD_BY_ID', () => host.fd());
  host.on('BPF_OBJ_GET_INFO_BY_FD', infoHandler(blob(), { id: 3, name: '', kernel: false, sizes: [0x7fffffff] }));
  t.throws(() => Btf.fromId(3), { instanceOf: BpfError, message: /reported a BTF object of 2147483647 bytes/ });
  t.is(host.of('BPF_OBJ_GET_INFO_BY_FD').length, 1);
});

test.serial('no such object, no permission: the kernel error, with the id', (t) => {
  const { host, restore } = fakeCore();
  t.teardown(restore);
  host.script('BPF_BTF_GET_FD_BY_ID', () => -ENOENT, () => -EPERM);
  t.throws(() => Btf.fromId(5), { instanceOf: BpfError, code: 'ENOENT', message: /no BTF object with id 5/ });
  t.throws(() => Btf.objectInfo(5), { instanceOf: BpfError, code: 'EPERM' });
  t.is(host.of('BPF_OBJ_GET_INFO_BY_FD').length, 0);
});
