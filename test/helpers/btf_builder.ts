/**
 * Writes raw BTF blobs for tests: base and split BTF, and deliberately broken records,
 * independently of the core's parser (uapi layouts from include/uapi/linux/btf.h).
 */
const KIND = {
  INT: 1, PTR: 2, ARRAY: 3, STRUCT: 4, UNION: 5, ENUM: 6, FWD: 7, TYPEDEF: 8, VOLATILE: 9, CONST: 10, RESTRICT: 11,
  FUNC: 12, FUNC_PROTO: 13, VAR: 14, DATASEC: 15, FLOAT: 16, DECL_TAG: 17, TYPE_TAG: 18, ENUM64: 19,
} as const;

export class BtfBuilder {
  private readonly types: Buffer[] = [];
  private strings = Buffer.from([0]);
  private readonly stringIds = new Map<string, number>([['', 0]]);
  readonly startId: number;
  private readonly startStr: number;

  /** For split BTF: the base's end id (one past its last type) and its string section length. */
  constructor(base?: { endId: number; strLen: number }) {
    this.startId = base ? base.endId : 1;
    this.startStr = base ? base.strLen : 0;
    if (base) {
      this.strings = Buffer.alloc(0);
      this.stringIds.clear();
    }
  }

  /** Offset of `s`, added to this blob's strings unless it is there (or known from the base). */
  str(s: string, baseOffset?: number): number {
    if (baseOffset !== undefined) return baseOffset;
    const known = this.stringIds.get(s);
    if (known !== undefined) return known;
    const off = this.startStr + this.strings.length;
    this.strings = Buffer.concat([this.strings, Buffer.from(s + '\0', 'latin1')]);
    this.stringIds.set(s, off);
    return off;
  }

  /** Appends a raw record: name offset, info word, size/type, then extra u32s. Returns its id. */
  raw(nameOff: number, kind: number, vlen: number, sizeOrType: number, extra: number[] = [], kflag = false): number {
    const b = Buffer.alloc(12 + extra.length * 4);
    b.writeUInt32LE(nameOff, 0);
    b.writeUInt32LE((((kflag ? 1 : 0) << 31) | (kind << 24) | vlen) >>> 0, 4);
    b.writeUInt32LE(sizeOrType >>> 0, 8);
    extra.forEach((v, i) => b.writeUInt32LE(v >>> 0, 12 + i * 4));
    this.types.push(b);
    return this.startId + this.types.length - 1;
  }

  int(name: string, size: number, signed = false): number {
    return this.raw(this.str(name), KIND.INT, 0, size, [((signed ? 1 : 0) << 24) | (size * 8)]);
  }
  ptr(type: number): number {
    return this.raw(0, KIND.PTR, 0, type);
  }
  typedef(name: string, type: number): number {
    return this.raw(this.str(name), KIND.TYPEDEF, 0, type);
  }
  qual(kind: 'CONST' | 'VOLATILE' | 'RESTRICT', type: number): number {
    return this.raw(0, KIND[kind], 0, type);
  }
  typeTag(name: string, type: number): number {
    return this.raw(this.str(name), KIND.TYPE_TAG, 0, type);
  }
  array(type: number, index: number, nelems: number): number {
    return this.raw(0, KIND.ARRAY, 0, 0, [type, index, nelems]);
  }
  struct(name: string, size: number, members: Array<[string, number, number, number?]>, union = false): number {
    const kflag = members.some((m) => m[3]);
    const extra = members.flatMap(([n, t, off, bits]) => [this.str(n), t, kflag ? ((bits ?? 0) << 24) | off : off]);
    return this.raw(this.str(name), union ? KIND.UNION : KIND.STRUCT, members.length, size, extra, kflag);
  }
  enum(name: string, size: number, values: Array<[string, number]>, signed = false): number {
    return this.raw(this.str(name), KIND.ENUM, values.length, size, values.flatMap(([n, v]) => [this.str(n), v]), signed);
  }
  enum64(name: string, values: Array<[string, bigint]>): number {
    const extra = values.flatMap(([n, v]) => [this.str(n), Number(v & 0xffffffffn), Number(v >> 32n)]);
    return this.raw(this.str(name), KIND.ENUM64, values.length, 8, extra);
  }
  fwd(name: string, union = false): number {
    return this.raw(this.str(name), KIND.FWD, 0, 0, [], union);
  }
  funcProto(ret: number, params: Array<[string, number]>): number {
    return this.raw(0, KIND.FUNC_PROTO, params.length, ret, params.flatMap(([n, t]) => [this.str(n), t]));
  }
  func(name: string, proto: number, linkage = 1): number {
    return this.raw(this.str(name), KIND.FUNC, linkage, proto);
  }
  variable(name: string, type: number, linkage = 1): number {
    return this.raw(this.str(name), KIND.VAR, 0, type, [linkage]);
  }
  datasec(name: string, size: number, vars: Array<[number, number, number]>): number {
    return this.raw(this.str(name), KIND.DATASEC, vars.length, size, vars.flat());
  }
  float(name: string, size: number): number {
    return this.raw(this.str(name), KIND.FLOAT, 0, size);
  }
  declTag(name: string, type: number, component: number): number {
    return this.raw(this.str(name), KIND.DECL_TAG, 0, type, [component]);
  }

  get stringLength(): number {
    return this.strings.length;
  }

  /** The blob: 24-byte header, types, strings. */
  build(opts: { hdrLen?: number } = {}): Buffer {
    const types = Buffer.concat(this.types);
    const hdrLen = opts.hdrLen ?? 24;
    const hdr = Buffer.alloc(hdrLen);
    hdr.writeUInt16LE(0xeb9f, 0);
    hdr[2] = 1;
    hdr.writeUInt32LE(hdrLen, 4);
    hdr.writeUInt32LE(0, 8);
    hdr.writeUInt32LE(types.length, 12);
    hdr.writeUInt32LE(types.length, 16);
    hdr.writeUInt32LE(this.strings.length, 20);
    return Buffer.concat([hdr, types, this.strings]);
  }
}
