// Byte-string keys as the client handles them. Keys order bytewise (memcomparable encodings are
// built on that), an empty start key means "from the beginning" and an empty end key "to the end".

export const EMPTY_KEY: Uint8Array = new Uint8Array(0);

/** Bytewise order: negative, zero or positive like `Array.prototype.sort` expects. */
export function compareKeys(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/** The smallest key greater than `key`: scans resume there after the last key they returned. */
export function keyAfter(key: Uint8Array): Uint8Array {
  const next = new Uint8Array(key.byteLength + 1);
  next.set(key);
  return next;
}

/** True when `key` lies before the range end `end`, where an empty end is +infinity. */
export function beforeEnd(key: Uint8Array, end: Uint8Array): boolean {
  return end.byteLength === 0 || compareKeys(key, end) < 0;
}

/**
 * A string that identifies the key's bytes, for use as a Map key. latin1 maps every byte to one
 * code unit, so it is a bijection and costs no hex expansion.
 */
export function keyIdentity(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

const FORMAT_LIMIT = 32;

/** A short printable form for error messages and logs: printable ASCII as is, otherwise hex. */
export function formatKey(key: Uint8Array): string {
  if (key.byteLength === 0) return '""';
  const shown = key.subarray(0, FORMAT_LIMIT);
  const printable = shown.every((b) => b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c);
  const body = printable ? `"${Buffer.from(shown).toString('latin1')}"` : `0x${Buffer.from(shown).toString('hex')}`;
  return key.byteLength > FORMAT_LIMIT ? `${body}…(${key.byteLength} bytes)` : body;
}
