// The key space of a store's single LevelDB. The first byte of every key says what kind of record
// it is; numbers inside keys are big-endian u64 so that LevelDB's bytewise order is numeric order
// (a Raft group's log is one contiguous, index-ordered range).
//
// | first byte | kind                          | rest of the key                 | value (see codec files)      |
// |------------|-------------------------------|---------------------------------|------------------------------|
// | 0x01       | engine format marker          | (nothing)                       | magic, format version        |
// | 0x02       | store identity (reserved)     | (nothing)                       | cluster id, store id         |
// | 0x10       | raft log entry                | group id u64, entry index u64   | term, kind, payload          |
// | 0x11       | raft hard state               | group id u64                    | term, vote, commit           |
// | 0x12       | raft snapshot                 | group id u64                    | index, term, conf state, data|
// | 0x13       | raft conf state (applied)     | group id u64                    | conf state                   |
// | 0x14       | raft truncated state          | group id u64                    | compaction index and term    |
// | 0x15       | region local state            | region id u64                   | descriptor, peer state       |
// | 0x16       | region apply state            | region id u64                   | applied index and term       |
// | 0x17       | region tombstone              | region id u64                   | last epoch and peer id       |
// | 0x20       | user data: raw values and     | defined by src/kv/keys.ts       | defined by src/kv            |
// |            | transaction records           |                                 |                              |
// | 0x21-0x2f  | (reserved)                    |                                 |                              |
// | 0x30       | placement-driver state        | defined by src/pd               |                              |
//
// Region state, apply state and tombstones are owned by src/store and placement-driver keys by
// src/pd; their values are protobuf records (proto/raft_cmd.proto, proto/pd_state.proto) whose
// integrity LevelDB's own block checksums cover. User data keys are laid out by src/kv so that a
// Region [start, end) is one contiguous key range.
//
// Kinds come first (rather than the group id) so that one scan of a kind visits every group: a
// store restarting with thousands of groups reads all hard states in one range scan.
//
// Every value ends with a CRC-32 computed over the key and the value, so a record copied under a
// wrong key fails its check just like a flipped bit does.

export const KeyKind = {
  formatMarker: 0x01,
  storeIdentity: 0x02,
  raftLogEntry: 0x10,
  raftHardState: 0x11,
  raftSnapshot: 0x12,
  raftConfState: 0x13,
  raftTruncatedState: 0x14,
  regionState: 0x15,
  regionApplyState: 0x16,
  regionTombstone: 0x17,
  userData: 0x20,
  pdState: 0x30,
} as const;

const U32 = 0x1_0000_0000;

/** Writes a non-negative safe integer as u64 big-endian at `offset`. */
export function writeU64BE(target: Uint8Array, offset: number, value: number): void {
  const view = new DataView(target.buffer, target.byteOffset, target.byteLength);
  view.setUint32(offset, Math.floor(value / U32));
  view.setUint32(offset + 4, value >>> 0);
}

/** Reads a u64 big-endian; undefined when it does not fit a safe integer. */
export function readU64BE(source: Uint8Array, offset: number): number | undefined {
  const view = new DataView(source.buffer, source.byteOffset, source.byteLength);
  const high = view.getUint32(offset);
  const low = view.getUint32(offset + 4);
  if (high > 0x1f_ffff) return undefined;
  return high * U32 + low;
}

function assertId(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${what} must be a non-negative safe integer, got ${value}`);
  }
}

function groupKey(kind: number, groupId: number): Uint8Array {
  assertId('raft group id', groupId);
  const key = new Uint8Array(9);
  key[0] = kind;
  writeU64BE(key, 1, groupId);
  return key;
}

export const RAFT_LOG_ENTRY_KEY_LENGTH = 17;

export function raftLogEntryKey(groupId: number, index: number): Uint8Array {
  assertId('raft group id', groupId);
  assertId('raft log index', index);
  const key = new Uint8Array(RAFT_LOG_ENTRY_KEY_LENGTH);
  key[0] = KeyKind.raftLogEntry;
  writeU64BE(key, 1, groupId);
  writeU64BE(key, 9, index);
  return key;
}

/** Bounds covering every log entry key of a group, for iterators: [gte, lt). */
export function raftLogEntryRange(groupId: number): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: raftLogEntryKey(groupId, 0), lt: groupKey(KeyKind.raftLogEntry, groupId + 1) };
}

/** The entry index of a raft log entry key, or undefined if the key is not one of `groupId`'s. */
export function raftLogEntryIndex(key: Uint8Array, groupId: number): number | undefined {
  if (key.byteLength !== RAFT_LOG_ENTRY_KEY_LENGTH || key[0] !== KeyKind.raftLogEntry) return undefined;
  if (readU64BE(key, 1) !== groupId) return undefined;
  return readU64BE(key, 9);
}

export function raftHardStateKey(groupId: number): Uint8Array {
  return groupKey(KeyKind.raftHardState, groupId);
}

export function raftSnapshotKey(groupId: number): Uint8Array {
  return groupKey(KeyKind.raftSnapshot, groupId);
}

export function raftConfStateKey(groupId: number): Uint8Array {
  return groupKey(KeyKind.raftConfState, groupId);
}

export function raftTruncatedStateKey(groupId: number): Uint8Array {
  return groupKey(KeyKind.raftTruncatedState, groupId);
}

export function regionStateKey(regionId: number): Uint8Array {
  return groupKey(KeyKind.regionState, regionId);
}

export function regionApplyStateKey(regionId: number): Uint8Array {
  return groupKey(KeyKind.regionApplyState, regionId);
}

export function regionTombstoneKey(regionId: number): Uint8Array {
  return groupKey(KeyKind.regionTombstone, regionId);
}

/** The range of one kind of per-group key over all groups, for a scan at startup: [gte, lt). */
export function groupKindRange(kind: number): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: Uint8Array.of(kind), lt: Uint8Array.of(kind + 1) };
}

/** The group (or Region) id of a per-group key. */
export function groupIdOfKey(key: Uint8Array): number | undefined {
  return key.byteLength >= 9 ? readU64BE(key, 1) : undefined;
}

export function storeIdentityKey(): Uint8Array {
  return Uint8Array.of(KeyKind.storeIdentity);
}

/** A placement-driver state key: the pdState byte followed by `suffix`. */
export function pdStateKey(suffix: Uint8Array): Uint8Array {
  const key = new Uint8Array(suffix.byteLength + 1);
  key[0] = KeyKind.pdState;
  key.set(suffix, 1);
  return key;
}

export const PD_STATE_RANGE = { gte: Uint8Array.of(KeyKind.pdState), lt: Uint8Array.of(KeyKind.pdState + 1) } as const;

export function formatMarkerKey(): Uint8Array {
  return Uint8Array.of(KeyKind.formatMarker);
}

export function keyHex(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex');
}

/** A human-readable name for a key, for error messages and logs. */
export function describeKey(key: Uint8Array): string {
  const hex = keyHex(key);
  const kind = key[0];
  const groupId = key.byteLength >= 9 ? readU64BE(key, 1) : undefined;
  switch (kind) {
    case KeyKind.formatMarker:
      if (key.byteLength === 1) return `format-marker [${hex}]`;
      break;
    case KeyKind.raftLogEntry:
      if (key.byteLength === RAFT_LOG_ENTRY_KEY_LENGTH) {
        return `raft-log-entry(group=${groupId}, index=${readU64BE(key, 9)}) [${hex}]`;
      }
      break;
    case KeyKind.raftHardState:
      if (key.byteLength === 9) return `raft-hard-state(group=${groupId}) [${hex}]`;
      break;
    case KeyKind.raftSnapshot:
      if (key.byteLength === 9) return `raft-snapshot(group=${groupId}) [${hex}]`;
      break;
    case KeyKind.raftConfState:
      if (key.byteLength === 9) return `raft-conf-state(group=${groupId}) [${hex}]`;
      break;
    case KeyKind.raftTruncatedState:
      if (key.byteLength === 9) return `raft-truncated-state(group=${groupId}) [${hex}]`;
      break;
  }
  return `[${hex}]`;
}
