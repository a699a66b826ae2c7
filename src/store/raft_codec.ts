// Conversion between the Raft state machine's messages (src/raft/types.ts) and their wire form
// (raftpb.Message, a flat record as in proto/raft.proto). Decoding never trusts its input: a field
// of the wrong shape becomes a WireFormatError, and RaftNode.step checks what the fields claim.
import type { ConfState, Entry, Message, Snapshot } from '../raft/index.js';
import { raftpb } from '../proto/index.js';

export class WireFormatError extends Error {
  readonly code = 'WireFormat';
}

const T = raftpb.MessageType;
const EMPTY = new Uint8Array(0);

function encodeConfState(cs: ConfState): raftpb.IConfState {
  return {
    voters: [...cs.voters],
    learners: [...cs.learners],
    votersOutgoing: [...cs.votersOutgoing],
    learnersNext: [...cs.learnersNext],
    autoLeave: cs.autoLeave,
  };
}

export function decodeConfState(cs: raftpb.IConfState | null | undefined): ConfState {
  return {
    voters: (cs?.voters ?? []).map(Number),
    learners: (cs?.learners ?? []).map(Number),
    votersOutgoing: (cs?.votersOutgoing ?? []).map(Number),
    learnersNext: (cs?.learnersNext ?? []).map(Number),
    autoLeave: cs?.autoLeave ?? false,
  };
}

export function encodeSnapshot(s: Snapshot): raftpb.ISnapshot {
  return { meta: { index: s.meta.index, term: s.meta.term, confState: encodeConfState(s.meta.confState) }, data: s.data };
}

export function decodeSnapshot(s: raftpb.ISnapshot | null | undefined): Snapshot {
  if (!s?.meta) throw new WireFormatError('snapshot without metadata');
  return {
    meta: { index: Number(s.meta.index ?? 0), term: Number(s.meta.term ?? 0), confState: decodeConfState(s.meta.confState) },
    data: s.data ?? EMPTY,
  };
}

function encodeEntry(e: Entry): raftpb.IEntry {
  return { term: e.term, index: e.index, kind: e.kind === 'confChange' ? raftpb.EntryKind.ENTRY_CONF_CHANGE : raftpb.EntryKind.ENTRY_NORMAL, data: e.data };
}

function decodeEntry(e: raftpb.IEntry): Entry {
  let kind: Entry['kind'];
  switch (e.kind ?? raftpb.EntryKind.ENTRY_NORMAL) {
    case raftpb.EntryKind.ENTRY_NORMAL:
      kind = 'normal';
      break;
    case raftpb.EntryKind.ENTRY_CONF_CHANGE:
      kind = 'confChange';
      break;
    default:
      throw new WireFormatError(`unknown entry kind ${String(e.kind)}`);
  }
  return { term: Number(e.term ?? 0), index: Number(e.index ?? 0), kind, data: e.data ?? EMPTY };
}

export function encodeMessage(m: Message): raftpb.IMessage {
  const base = { from: m.from, to: m.to, term: m.term };
  switch (m.type) {
    case 'append':
      return { ...base, type: T.MSG_APPEND, index: m.index, logTerm: m.logTerm, commit: m.commit, entries: m.entries.map(encodeEntry) };
    case 'appendResponse':
      return { ...base, type: T.MSG_APPEND_RESPONSE, index: m.index, reject: m.reject, hintIndex: m.hintIndex, hintTerm: m.hintTerm };
    case 'vote':
    case 'preVote':
      return { ...base, type: m.type === 'vote' ? T.MSG_VOTE : T.MSG_PRE_VOTE, lastIndex: m.lastIndex, lastTerm: m.lastTerm, transfer: m.transfer };
    case 'voteResponse':
    case 'preVoteResponse':
      return { ...base, type: m.type === 'voteResponse' ? T.MSG_VOTE_RESPONSE : T.MSG_PRE_VOTE_RESPONSE, reject: m.reject };
    case 'heartbeat':
      return { ...base, type: T.MSG_HEARTBEAT, commit: m.commit, readSeq: m.readSeq };
    case 'heartbeatResponse':
      return { ...base, type: T.MSG_HEARTBEAT_RESPONSE, readSeq: m.readSeq };
    case 'snapshot':
      return { ...base, type: T.MSG_SNAPSHOT, snapshot: encodeSnapshot(m.snapshot) };
    case 'timeoutNow':
      return { ...base, type: T.MSG_TIMEOUT_NOW };
    case 'propose':
      return { ...base, type: T.MSG_PROPOSE, entries: m.entries.map(encodeEntry) };
    case 'readIndex':
      return { ...base, type: T.MSG_READ_INDEX, context: m.context };
    case 'readIndexResponse':
      return { ...base, type: T.MSG_READ_INDEX_RESPONSE, index: m.index, context: m.context };
    case 'transferLeader':
      return { ...base, type: T.MSG_TRANSFER_LEADER, target: m.target };
  }
}

export function decodeMessage(w: raftpb.IMessage): Message {
  const base = { from: Number(w.from ?? 0), to: Number(w.to ?? 0), term: Number(w.term ?? 0) };
  const n = (v: number | null | undefined): number => Number(v ?? 0);
  switch (w.type ?? T.MSG_APPEND) {
    case T.MSG_APPEND:
      return { ...base, type: 'append', index: n(w.index), logTerm: n(w.logTerm), commit: n(w.commit), entries: (w.entries ?? []).map(decodeEntry) };
    case T.MSG_APPEND_RESPONSE:
      return { ...base, type: 'appendResponse', index: n(w.index), reject: w.reject ?? false, hintIndex: n(w.hintIndex), hintTerm: n(w.hintTerm) };
    case T.MSG_VOTE:
      return { ...base, type: 'vote', lastIndex: n(w.lastIndex), lastTerm: n(w.lastTerm), transfer: w.transfer ?? false };
    case T.MSG_PRE_VOTE:
      return { ...base, type: 'preVote', lastIndex: n(w.lastIndex), lastTerm: n(w.lastTerm), transfer: w.transfer ?? false };
    case T.MSG_VOTE_RESPONSE:
      return { ...base, type: 'voteResponse', reject: w.reject ?? false };
    case T.MSG_PRE_VOTE_RESPONSE:
      return { ...base, type: 'preVoteResponse', reject: w.reject ?? false };
    case T.MSG_HEARTBEAT:
      return { ...base, type: 'heartbeat', commit: n(w.commit), readSeq: n(w.readSeq) };
    case T.MSG_HEARTBEAT_RESPONSE:
      return { ...base, type: 'heartbeatResponse', readSeq: n(w.readSeq) };
    case T.MSG_SNAPSHOT:
      return { ...base, type: 'snapshot', snapshot: decodeSnapshot(w.snapshot) };
    case T.MSG_TIMEOUT_NOW:
      return { ...base, type: 'timeoutNow' };
    case T.MSG_PROPOSE:
      return { ...base, type: 'propose', entries: (w.entries ?? []).map(decodeEntry) };
    case T.MSG_READ_INDEX:
      return { ...base, type: 'readIndex', context: w.context ?? EMPTY };
    case T.MSG_READ_INDEX_RESPONSE:
      return { ...base, type: 'readIndexResponse', index: n(w.index), context: w.context ?? EMPTY };
    case T.MSG_TRANSFER_LEADER:
      return { ...base, type: 'transferLeader', target: n(w.target) };
    default:
      throw new WireFormatError(`unknown raft message type ${String(w.type)}`);
  }
}
