// Reading 64-bit fields of decoded messages. src/proto/index.ts switches protobufjs to plain
// numbers, but only after generated.js has been evaluated, and generated.js computes the prototype
// defaults of uint64 fields at that moment: a 64-bit field absent from the wire (that is, zero) reads
// as a Long object, which is truthy and never === 0. Every 64-bit field the client reads goes
// through u64() so that zero is 0 whichever way it arrived.

interface LongLike {
  toNumber(): number;
}

export function u64(value: number | LongLike | null | undefined): number {
  if (typeof value === 'number') return value;
  if (value && typeof (value as Partial<LongLike>).toNumber === 'function') return (value as LongLike).toNumber();
  return 0;
}
