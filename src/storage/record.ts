// The framing shared by every stored value: a fixed binary body written field by field, followed
// by a CRC-32 of key ‖ body. Integers are little-endian inside values (keys use big-endian, see
// keys.ts, because only keys need to sort).

import { crc32 } from 'node:zlib';

const CHECKSUM_SIZE = 4;
const U32 = 0x1_0000_0000;

/** A value that does not decode. Callers turn it into a StorageCorruptionError naming the key. */
export class RecordDecodeError extends Error {}

export class RecordWriter {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private offset = 0;

  /** `bodySize` is exact: a size computed wrongly is a bug caught by `finish`. */
  constructor(bodySize: number) {
    this.bytes = new Uint8Array(bodySize + CHECKSUM_SIZE);
    this.view = new DataView(this.bytes.buffer);
  }

  u8(value: number): this {
    this.view.setUint8(this.offset, value);
    this.offset += 1;
    return this;
  }

  u32(value: number): this {
    this.view.setUint32(this.offset, value, true);
    this.offset += 4;
    return this;
  }

  /** A non-negative safe integer as u64. */
  u64(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`cannot store ${value} as an unsigned 64-bit integer`);
    }
    this.view.setUint32(this.offset, value >>> 0, true);
    this.view.setUint32(this.offset + 4, Math.floor(value / U32), true);
    this.offset += 8;
    return this;
  }

  bytesField(value: Uint8Array): this {
    this.bytes.set(value, this.offset);
    this.offset += value.byteLength;
    return this;
  }

  /** Seals the record for `key`: the checksum binds the value to the key it is stored under. */
  finish(key: Uint8Array): Uint8Array {
    const bodyEnd = this.bytes.byteLength - CHECKSUM_SIZE;
    if (this.offset !== bodyEnd) {
      throw new Error(`record body is ${this.offset} bytes, expected ${bodyEnd}`);
    }
    const checksum = crc32(this.bytes.subarray(0, bodyEnd), crc32(key));
    this.view.setUint32(bodyEnd, checksum, true);
    return this.bytes;
  }
}

export class RecordReader {
  private readonly body: Uint8Array;
  private readonly view: DataView;
  private offset = 0;

  /** Verifies the checksum before any field is read, so no field of a damaged record is trusted. */
  constructor(key: Uint8Array, value: Uint8Array) {
    if (value.byteLength < CHECKSUM_SIZE) {
      throw new RecordDecodeError(`value is ${value.byteLength} bytes, too short to hold a checksum`);
    }
    const bodyEnd = value.byteLength - CHECKSUM_SIZE;
    this.body = value.subarray(0, bodyEnd);
    this.view = new DataView(value.buffer, value.byteOffset, value.byteLength);
    const stored = this.view.getUint32(bodyEnd, true);
    const computed = crc32(this.body, crc32(key));
    if (stored !== computed) {
      throw new RecordDecodeError(
        `checksum mismatch (stored ${hex32(stored)}, computed ${hex32(computed)})`,
      );
    }
  }

  private need(size: number, what: string): void {
    if (this.offset + size > this.body.byteLength) {
      throw new RecordDecodeError(
        `truncated: ${what} needs ${size} bytes at offset ${this.offset}, body is ${this.body.byteLength}`,
      );
    }
  }

  u8(what: string): number {
    this.need(1, what);
    const value = this.view.getUint8(this.offset);
    this.offset += 1;
    return value;
  }

  u32(what: string): number {
    this.need(4, what);
    const value = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return value;
  }

  u64(what: string): number {
    this.need(8, what);
    const low = this.view.getUint32(this.offset, true);
    const high = this.view.getUint32(this.offset + 4, true);
    this.offset += 8;
    if (high > 0x1f_ffff) throw new RecordDecodeError(`${what} exceeds the safe integer range`);
    return high * U32 + low;
  }

  /** A view into the record (no copy): the record buffer belongs to the caller from now on. */
  bytesField(size: number, what: string): Uint8Array {
    this.need(size, what);
    const value = this.body.subarray(this.offset, this.offset + size);
    this.offset += size;
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }

  /** Asserts the whole body was consumed: trailing bytes mean a layout this code did not write. */
  end(): void {
    if (this.offset !== this.body.byteLength) {
      throw new RecordDecodeError(`${this.body.byteLength - this.offset} unexpected trailing bytes`);
    }
  }
}

function hex32(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}
