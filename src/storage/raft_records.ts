// Binary layouts of the Raft records (see keys.ts for where they live). Each body starts with a
// tag naming the record type, so a value of one type stored under another type's key is caught
// even if its checksum were somehow right. All integers are little-endian; u64 fields hold safe
// integers only. Trailing u32 is the CRC-32 of key ‖ body (record.ts).
//
//   entry         : tag=0x01 | kind u8 (0 normal, 1 confChange) | term u64 | dataLen u32 | data
//   hard state    : tag=0x02 | term u64 | vote u64 | commit u64
//   snapshot      : tag=0x03 | index u64 | term u64 | conf state fields | dataLen u32 | data
//   conf state    : tag=0x04 | conf state fields
//   truncated     : tag=0x05 | index u64 | term u64
//   conf state fields: autoLeave u8 | 4 × (count u32 | count × node id u64)
//                      in the order voters, learners, votersOutgoing, learnersNext

import type { ConfState, Entry, EntryKind, HardState, Snapshot } from '../raft/types.js';
import { RecordDecodeError, RecordReader, RecordWriter } from './record.js';

const TAG_ENTRY = 0x01;
const TAG_HARD_STATE = 0x02;
const TAG_SNAPSHOT = 0x03;
const TAG_CONF_STATE = 0x04;
const TAG_TRUNCATED_STATE = 0x05;

/** The compaction point of a log: the last discarded entry's index and term. */
export interface TruncatedState {
  readonly index: number;
  readonly term: number;
}

function readTag(reader: RecordReader, expected: number, what: string): void {
  const tag = reader.u8('tag');
  if (tag !== expected) {
    throw new RecordDecodeError(`expected a ${what} record (tag ${expected}), found tag ${tag}`);
  }
}

// ---- entries ------------------------------------------------------------------------------------

const ENTRY_KIND_CODES: Record<EntryKind, number> = { normal: 0, confChange: 1 };

export function encodeEntry(key: Uint8Array, entry: Entry): Uint8Array {
  return new RecordWriter(1 + 1 + 8 + 4 + entry.data.byteLength)
    .u8(TAG_ENTRY)
    .u8(ENTRY_KIND_CODES[entry.kind])
    .u64(entry.term)
    .u32(entry.data.byteLength)
    .bytesField(entry.data)
    .finish(key);
}

/** `index` comes from the key: the value does not repeat it. */
export function decodeEntry(key: Uint8Array, value: Uint8Array, index: number): Entry {
  const reader = new RecordReader(key, value);
  readTag(reader, TAG_ENTRY, 'raft log entry');
  const kindCode = reader.u8('kind');
  let kind: EntryKind;
  if (kindCode === 0) kind = 'normal';
  else if (kindCode === 1) kind = 'confChange';
  else throw new RecordDecodeError(`unknown entry kind ${kindCode}`);
  const term = reader.u64('term');
  const data = reader.bytesField(reader.u32('data length'), 'data');
  reader.end();
  return { term, index, kind, data };
}

// ---- hard state ---------------------------------------------------------------------------------

export function encodeHardState(key: Uint8Array, hardState: HardState): Uint8Array {
  return new RecordWriter(1 + 8 * 3)
    .u8(TAG_HARD_STATE)
    .u64(hardState.term)
    .u64(hardState.vote)
    .u64(hardState.commit)
    .finish(key);
}

export function decodeHardState(key: Uint8Array, value: Uint8Array): HardState {
  const reader = new RecordReader(key, value);
  readTag(reader, TAG_HARD_STATE, 'raft hard state');
  const term = reader.u64('term');
  const vote = reader.u64('vote');
  const commit = reader.u64('commit');
  reader.end();
  return { term, vote, commit };
}

// ---- conf state ---------------------------------------------------------------------------------

function confStateSize(cs: ConfState): number {
  return (
    1 +
    4 * 4 +
    8 * (cs.voters.length + cs.learners.length + cs.votersOutgoing.length + cs.learnersNext.length)
  );
}

function writeNodeIds(writer: RecordWriter, ids: readonly number[]): void {
  writer.u32(ids.length);
  for (const id of ids) writer.u64(id);
}

function writeConfState(writer: RecordWriter, cs: ConfState): void {
  writer.u8(cs.autoLeave ? 1 : 0);
  writeNodeIds(writer, cs.voters);
  writeNodeIds(writer, cs.learners);
  writeNodeIds(writer, cs.votersOutgoing);
  writeNodeIds(writer, cs.learnersNext);
}

function readNodeIds(reader: RecordReader, what: string): number[] {
  const count = reader.u32(`${what} count`);
  const ids: number[] = [];
  // Each id is read with a bounds check, so a corrupt count fails fast instead of allocating.
  for (let i = 0; i < count; i++) ids.push(reader.u64(`${what}[${i}]`));
  return ids;
}

function readConfState(reader: RecordReader): ConfState {
  const autoLeaveCode = reader.u8('autoLeave');
  if (autoLeaveCode > 1) throw new RecordDecodeError(`autoLeave flag is ${autoLeaveCode}`);
  const voters = readNodeIds(reader, 'voters');
  const learners = readNodeIds(reader, 'learners');
  const votersOutgoing = readNodeIds(reader, 'votersOutgoing');
  const learnersNext = readNodeIds(reader, 'learnersNext');
  return { voters, learners, votersOutgoing, learnersNext, autoLeave: autoLeaveCode === 1 };
}

export function encodeConfState(key: Uint8Array, cs: ConfState): Uint8Array {
  const writer = new RecordWriter(1 + confStateSize(cs)).u8(TAG_CONF_STATE);
  writeConfState(writer, cs);
  return writer.finish(key);
}

export function decodeConfState(key: Uint8Array, value: Uint8Array): ConfState {
  const reader = new RecordReader(key, value);
  readTag(reader, TAG_CONF_STATE, 'raft conf state');
  const cs = readConfState(reader);
  reader.end();
  return cs;
}

// ---- snapshot -----------------------------------------------------------------------------------

export function encodeSnapshot(key: Uint8Array, snapshot: Snapshot): Uint8Array {
  const { meta, data } = snapshot;
  const writer = new RecordWriter(1 + 8 + 8 + confStateSize(meta.confState) + 4 + data.byteLength)
    .u8(TAG_SNAPSHOT)
    .u64(meta.index)
    .u64(meta.term);
  writeConfState(writer, meta.confState);
  return writer.u32(data.byteLength).bytesField(data).finish(key);
}

export function decodeSnapshot(key: Uint8Array, value: Uint8Array): Snapshot {
  const reader = new RecordReader(key, value);
  readTag(reader, TAG_SNAPSHOT, 'raft snapshot');
  const index = reader.u64('index');
  const term = reader.u64('term');
  const confState = readConfState(reader);
  const data = reader.bytesField(reader.u32('data length'), 'data');
  reader.end();
  return { meta: { index, term, confState }, data };
}

// ---- truncated state ----------------------------------------------------------------------------

export function encodeTruncatedState(key: Uint8Array, state: TruncatedState): Uint8Array {
  return new RecordWriter(1 + 8 + 8)
    .u8(TAG_TRUNCATED_STATE)
    .u64(state.index)
    .u64(state.term)
    .finish(key);
}

export function decodeTruncatedState(key: Uint8Array, value: Uint8Array): TruncatedState {
  const reader = new RecordReader(key, value);
  readTag(reader, TAG_TRUNCATED_STATE, 'raft truncated state');
  const index = reader.u64('index');
  const term = reader.u64('term');
  reader.end();
  return { index, term };
}
