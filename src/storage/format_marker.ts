// The record that identifies a directory as a Cairn store and says which on-disk format it uses.
// Layout: magic "CAIRN-DB" (8 bytes) | format version u32 LE | CRC-32 of key ‖ preceding bytes.
// Magic and version sit at fixed offsets in every format version, so a future build's marker is
// recognised (and refused by version) even if the rest of its layout changes.

import { StorageCorruptionError, StorageFormatError } from './errors.js';
import { formatMarkerKey } from './keys.js';
import { RecordDecodeError, RecordReader, RecordWriter } from './record.js';

export const STORAGE_FORMAT_MAGIC = 'CAIRN-DB';
// 2: user data keys are memcomparable-encoded with a record tag (src/kv/keys.ts).
export const STORAGE_FORMAT_VERSION = 2;

const MAGIC_BYTES = new TextEncoder().encode(STORAGE_FORMAT_MAGIC);

export function encodeFormatMarker(): Uint8Array {
  return new RecordWriter(MAGIC_BYTES.byteLength + 4)
    .bytesField(MAGIC_BYTES)
    .u32(STORAGE_FORMAT_VERSION)
    .finish(formatMarkerKey());
}

/** Throws unless `value` is this build's format marker. */
export function checkFormatMarker(dir: string, value: Uint8Array): void {
  const magic = value.subarray(0, MAGIC_BYTES.byteLength);
  if (magic.byteLength !== MAGIC_BYTES.byteLength || !magic.every((byte, i) => byte === MAGIC_BYTES[i])) {
    throw new StorageFormatError(
      dir,
      `the format marker has magic ${JSON.stringify(Buffer.from(magic).toString('latin1'))} ` +
        `(hex ${Buffer.from(magic).toString('hex')}), expected ${JSON.stringify(STORAGE_FORMAT_MAGIC)}`,
    );
  }
  if (value.byteLength < MAGIC_BYTES.byteLength + 4) {
    throw new StorageFormatError(
      dir,
      `the format marker is ${value.byteLength} bytes, too short to hold a version`,
    );
  }
  const version = new DataView(value.buffer, value.byteOffset, value.byteLength).getUint32(
    MAGIC_BYTES.byteLength,
    true,
  );
  if (version !== STORAGE_FORMAT_VERSION) {
    throw new StorageFormatError(
      dir,
      `it uses storage format version ${version}; this build reads version ${STORAGE_FORMAT_VERSION} only`,
    );
  }
  const key = formatMarkerKey();
  try {
    const reader = new RecordReader(key, value);
    reader.bytesField(MAGIC_BYTES.byteLength, 'magic');
    reader.u32('version');
    reader.end();
  } catch (error) {
    if (error instanceof RecordDecodeError) throw new StorageCorruptionError(key, error.message);
    throw error;
  }
}
