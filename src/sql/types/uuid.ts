// uuid values: reading every spelling PostgreSQL accepts, the canonical text form the Datum holds,
// the 16-byte form of the wire protocol and of storage, and gen_random_uuid().
import { randomBytes } from 'node:crypto';
import { sqlErrors } from '../errors.js';

/** A uuid is 16 bytes. */
export const UUID_BYTES = 16;

function isHexDigit(c: string | undefined): boolean {
  return c !== undefined && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'));
}

/**
 * uuid_in: 32 hex digits, in either case, optionally inside one pair of braces, with at most one
 * '-' after any group of four digits (so "a0ee-bc99-..." and the plain 32-digit form both read).
 * Returns the canonical lower-case 8-4-4-4-12 form.
 */
export function parseUuid(text: string): string {
  let pos = 0;
  const braces = text[0] === '{';
  if (braces) pos++;
  let hex = '';
  for (let byte = 0; byte < UUID_BYTES; byte++) {
    const hi = text[pos];
    const lo = text[pos + 1];
    if (!isHexDigit(hi) || !isHexDigit(lo)) throw sqlErrors.invalidText('uuid', text);
    hex += hi! + lo!;
    pos += 2;
    // A hyphen may follow every second byte except the last one.
    if (text[pos] === '-' && byte % 2 === 1 && byte < UUID_BYTES - 1) pos++;
  }
  if (braces) {
    if (text[pos] !== '}') throw sqlErrors.invalidText('uuid', text);
    pos++;
  }
  if (pos !== text.length) throw sqlErrors.invalidText('uuid', text);
  return canonical(hex.toLowerCase());
}

function canonical(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The 16 bytes of a canonical uuid string. */
export function uuidToBytes(u: string): Uint8Array {
  const hex = u.replace(/-/g, '');
  if (hex.length !== 2 * UUID_BYTES || !/^[0-9a-fA-F]+$/.test(hex)) throw sqlErrors.internal(`not a canonical uuid: ${u}`);
  const out = new Uint8Array(UUID_BYTES);
  for (let i = 0; i < UUID_BYTES; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The canonical string of 16 uuid bytes (uuid_recv). */
export function uuidFromBytes(b: Uint8Array): string {
  if (b.length !== UUID_BYTES) throw sqlErrors.internal(`a uuid is ${UUID_BYTES} bytes, not ${b.length}`);
  let hex = '';
  for (const byte of b) hex += byte.toString(16).padStart(2, '0');
  return canonical(hex);
}

/** gen_random_uuid(): a version 4 (random) uuid from the system's cryptographic generator. */
export function randomUuid(): string {
  const b = randomBytes(UUID_BYTES);
  // RFC 4122: version 4 in the high nibble of byte 6, variant 10xx in the top bits of byte 8.
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  return uuidFromBytes(b);
}
