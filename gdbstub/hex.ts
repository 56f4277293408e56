/** Hex and little-endian helpers shared by the GDB remote protocol layers. */

/** Decodes an even-length hex string, or null when it is not one. */
export function decodeHex(text: string): Uint8Array | null {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return null;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function encodeHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

export function encodeTextHex(text: string): string {
  return encodeHex(new TextEncoder().encode(text));
}

/** A non-empty hex number without sign or prefix (GDB addresses and lengths), or null. */
export function parseHexBig(text: string): bigint | null {
  return /^[0-9a-fA-F]+$/.test(text) ? BigInt(`0x${text}`) : null;
}

/** Like parseHexBig, limited to safe integers (lengths, register numbers, kinds). */
export function parseHexInt(text: string): number | null {
  const value = parseHexBig(text);
  return value !== null && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : null;
}

/** `value` as `size` little-endian bytes (truncated to the size). */
export function toLittleEndian(value: bigint, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = Number((value >> BigInt(8 * i)) & 0xffn);
  return out;
}

export function fromLittleEndian(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!);
  return value;
}
