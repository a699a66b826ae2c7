// How the PD's replicated state is laid out under the placement-driver prefix (0x30) of a store's
// LevelDB (see src/storage/keys.ts). Each member of the PD Raft group persists the same keys.
//
// | key                                  | value                                   |
// |--------------------------------------|-----------------------------------------|
// | 0x30 0x01                            | pdstatepb.ClusterState                  |
// | 0x30 0x02 <store id, u64 big-endian> | metapb.Store                            |
// | 0x30 0x03 <region id, u64 big-endian>| metapb.Region                           |
//
// Values are the protobuf encoding followed by a CRC-32 over key ‖ encoding, the framing every
// stored value in the engine uses (src/storage/record.ts), so a flipped bit or a record copied
// under the wrong key is refused at load instead of silently routing requests wrong. Big-endian
// ids keep stores and Regions in id order in a scan. Any other key under 0x30 is refused at load:
// it would be written by a newer version whose meaning this one does not know.

import { metapb, pdstatepb } from '../proto/index.js';
import { KeyKind, pdStateKey, readU64BE, writeU64BE } from '../storage/keys.js';
import { RecordDecodeError, RecordReader, RecordWriter } from '../storage/record.js';

export const PdKeyKind = {
  clusterState: 0x01,
  store: 0x02,
  region: 0x03,
} as const;

export function clusterStateKey(): Uint8Array {
  return pdStateKey(Uint8Array.of(PdKeyKind.clusterState));
}

export function storeKey(storeId: number): Uint8Array {
  return idKey(PdKeyKind.store, storeId);
}

export function regionKey(regionId: number): Uint8Array {
  return idKey(PdKeyKind.region, regionId);
}

function idKey(kind: number, id: number): Uint8Array {
  const suffix = new Uint8Array(9);
  suffix[0] = kind;
  writeU64BE(suffix, 1, id);
  return pdStateKey(suffix);
}

export type PdKey =
  | { readonly kind: 'clusterState' }
  | { readonly kind: 'store'; readonly id: number }
  | { readonly kind: 'region'; readonly id: number };

/** What a key under the PD prefix names; undefined for a key this version does not write. */
export function parsePdKey(key: Uint8Array): PdKey | undefined {
  if (key.byteLength < 2 || key[0] !== KeyKind.pdState) return undefined;
  const kind = key[1];
  if (kind === PdKeyKind.clusterState && key.byteLength === 2) return { kind: 'clusterState' };
  if ((kind === PdKeyKind.store || kind === PdKeyKind.region) && key.byteLength === 10) {
    const id = readU64BE(key, 2);
    if (id === undefined || id === 0) return undefined;
    return { kind: kind === PdKeyKind.store ? 'store' : 'region', id };
  }
  return undefined;
}

/** Frames a protobuf encoding for storage under `key`. */
export function sealValue(key: Uint8Array, encoded: Uint8Array): Uint8Array {
  return new RecordWriter(encoded.byteLength).bytesField(encoded).finish(key);
}

/** The protobuf encoding inside a stored value; throws RecordDecodeError when the checksum fails. */
export function openValue(key: Uint8Array, value: Uint8Array): Uint8Array {
  const reader = new RecordReader(key, value);
  return reader.bytesField(value.byteLength - 4, 'protobuf body');
}

export function encodeClusterState(key: Uint8Array, state: pdstatepb.IClusterState): Uint8Array {
  return sealValue(key, pdstatepb.ClusterState.encode(state).finish());
}

export function encodeStore(key: Uint8Array, store: metapb.IStore): Uint8Array {
  return sealValue(key, metapb.Store.encode(store).finish());
}

export function encodeRegion(key: Uint8Array, region: metapb.IRegion): Uint8Array {
  return sealValue(key, metapb.Region.encode(region).finish());
}

/** Decodes with protobufjs, turning its exceptions into RecordDecodeError for one error path. */
export function decodeBody<T>(decode: (body: Uint8Array) => T, key: Uint8Array, value: Uint8Array): T {
  const body = openValue(key, value);
  try {
    return decode(body);
  } catch (error) {
    throw new RecordDecodeError(`protobuf does not decode: ${(error as Error).message}`);
  }
}
