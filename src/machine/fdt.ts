/**
 * Flattened device tree (DTB) writer: version 17, last compatible version 16 (devicetree spec
 * v0.4, chapter 5). Nodes are built as a tree, then serialised as header, memory reservation
 * block, structure block and strings block, the order dtc uses.
 */
const FDT_MAGIC = 0xd00dfeed;
const FDT_VERSION = 17;
const FDT_LAST_COMP_VERSION = 16;
const FDT_BEGIN_NODE = 1;
const FDT_END_NODE = 2;
const FDT_PROP = 3;
const FDT_END = 9;
const HEADER_BYTES = 40;

const utf8 = new TextEncoder();

/** Property value encoders; cells are big-endian. */
export const fdtValue = {
  empty(): Uint8Array {
    return new Uint8Array(0);
  },
  u32(...cells: number[]): Uint8Array {
    const bytes = new Uint8Array(4 * cells.length);
    const view = new DataView(bytes.buffer);
    cells.forEach((cell, i) => {
      if (!Number.isInteger(cell) || cell < 0 || cell > 0xffffffff) throw new RangeError(`bad FDT cell ${cell}`);
      view.setUint32(4 * i, cell);
    });
    return bytes;
  },
  /** Each value as two cells (high, low). */
  u64(...values: (number | bigint)[]): Uint8Array {
    const bytes = new Uint8Array(8 * values.length);
    const view = new DataView(bytes.buffer);
    values.forEach((value, i) => view.setBigUint64(8 * i, BigInt(value)));
    return bytes;
  },
  string(text: string): Uint8Array {
    return fdtValue.strings(text);
  },
  /** NUL-terminated strings back to back (e.g. a compatible list). */
  strings(...texts: string[]): Uint8Array {
    const parts = texts.map((text) => utf8.encode(text));
    const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length + 1, 0));
    let at = 0;
    for (const part of parts) {
      bytes.set(part, at);
      at += part.length + 1;
    }
    return bytes;
  },
};

export class FdtNode {
  readonly properties: { name: string; value: Uint8Array }[] = [];
  readonly children: FdtNode[] = [];

  constructor(readonly name: string) {}

  /** Adds a child node and returns it. */
  addNode(name: string): FdtNode {
    if (this.children.some((child) => child.name === name)) throw new Error(`duplicate FDT node ${name}`);
    const child = new FdtNode(name);
    this.children.push(child);
    return child;
  }

  set(name: string, value: Uint8Array): this {
    if (this.properties.some((property) => property.name === name)) throw new Error(`duplicate FDT property ${name}`);
    this.properties.push({ name, value });
    return this;
  }

  setU32(name: string, ...cells: number[]): this {
    return this.set(name, fdtValue.u32(...cells));
  }

  setU64(name: string, ...values: (number | bigint)[]): this {
    return this.set(name, fdtValue.u64(...values));
  }

  setString(name: string, text: string): this {
    return this.set(name, fdtValue.string(text));
  }

  setStrings(name: string, ...texts: string[]): this {
    return this.set(name, fdtValue.strings(...texts));
  }

  setEmpty(name: string): this {
    return this.set(name, fdtValue.empty());
  }
}

export interface FdtOptions {
  /** Regions the OS must not use, for the memory reservation block. */
  reservations?: { address: number | bigint; size: number | bigint }[];
  bootCpuidPhys?: number;
}

/** Growable big-endian byte buffer. */
class BlobWriter {
  private bytes = new Uint8Array(1024);
  length = 0;

  private reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + extra));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  u32(value: number): void {
    this.reserve(4);
    new DataView(this.bytes.buffer).setUint32(this.length, value);
    this.length += 4;
  }

  raw(data: Uint8Array): void {
    this.reserve(data.length);
    this.bytes.set(data, this.length);
    this.length += data.length;
  }

  alignTo4(): void {
    const padding = (4 - (this.length & 3)) & 3;
    this.reserve(padding);
    this.bytes.fill(0, this.length, this.length + padding);
    this.length += padding;
  }

  result(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

/** Serialises the tree rooted at `root` (whose name must be empty) into a DTB. */
export function buildFdt(root: FdtNode, options: FdtOptions = {}): Uint8Array {
  if (root.name !== '') throw new Error('the FDT root node has an empty name');
  const strings = new BlobWriter();
  const stringOffsets = new Map<string, number>();
  const nameOffset = (name: string): number => {
    let offset = stringOffsets.get(name);
    if (offset === undefined) {
      offset = strings.length;
      stringOffsets.set(name, offset);
      strings.raw(fdtValue.string(name));
    }
    return offset;
  };

  const struct = new BlobWriter();
  const writeNode = (node: FdtNode): void => {
    struct.u32(FDT_BEGIN_NODE);
    struct.raw(fdtValue.string(node.name));
    struct.alignTo4();
    for (const { name, value } of node.properties) {
      struct.u32(FDT_PROP);
      struct.u32(value.length);
      struct.u32(nameOffset(name));
      struct.raw(value);
      struct.alignTo4();
    }
    node.children.forEach(writeNode);
    struct.u32(FDT_END_NODE);
  };
  writeNode(root);
  struct.u32(FDT_END);

  const reservations = options.reservations ?? [];
  const reservationBytes = 16 * (reservations.length + 1); // plus the terminating empty entry
  const reservationOffset = HEADER_BYTES; // already 8-byte aligned
  const structOffset = reservationOffset + reservationBytes;
  const stringsOffset = structOffset + struct.length;
  const totalSize = stringsOffset + strings.length;

  const blob = new Uint8Array(totalSize);
  const view = new DataView(blob.buffer);
  const header = [
    FDT_MAGIC,
    totalSize,
    structOffset,
    stringsOffset,
    reservationOffset,
    FDT_VERSION,
    FDT_LAST_COMP_VERSION,
    options.bootCpuidPhys ?? 0,
    strings.length,
    struct.length,
  ];
  header.forEach((word, i) => view.setUint32(4 * i, word));
  reservations.forEach(({ address, size }, i) => {
    view.setBigUint64(reservationOffset + 16 * i, BigInt(address));
    view.setBigUint64(reservationOffset + 16 * i + 8, BigInt(size));
  });
  blob.set(struct.result(), structOffset);
  blob.set(strings.result(), stringsOffset);
  return blob;
}
