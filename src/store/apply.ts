// Applying a Region's committed entries. Every replica runs this on the same entries in the same
// order against the same Region descriptor, so every decision here (an epoch check, a split's
// validity) comes out the same everywhere: nothing may depend on local timing or local state
// beyond the Region itself.
import type { Entry } from '../raft/index.js';
import { raftcmdpb, type kvpb } from '../proto/index.js';
import { RecordTag, decodeTs, recordKey } from '../kv/index.js';
import type { WriteBatch } from '../storage/write_batch.js';
import { decodeCommand, decodeConfChangeWithContext } from './command.js';
import type { Peer } from './peer.js';
import {
  cloneRegion,
  compareBytes,
  describeRegion,
  endKey,
  epochOf,
  keyInRegion,
  peersForConfState,
  peersOf,
  startKey,
  type Region,
} from './region.js';
import type { Store } from './store.js';

export interface SplitResult {
  readonly left: Region;
  readonly right: Region;
  /** This store's peer id in the right Region. */
  readonly rightPeerId: number;
  /**
   * This store's peer of the right Region, its state staged in the same batch as the split (so
   * both halves are durable together); registered with the store once that batch commits.
   * Undefined when the store already hosts an initialised peer of that Region.
   */
  readonly rightPeer: Peer | undefined;
}

export interface ApplyEffects {
  readonly lastIndex: number;
  readonly lastTerm: number;
  /** Answers to proposers, run once the apply batch is durable and visible. */
  readonly settle: Array<() => void>;
  readonly splits: SplitResult[];
  /** This peer is no longer a member: destroy it. */
  readonly destroySelf: boolean;
  /** The Region descriptor changed (split, membership): tell the placement driver. */
  readonly regionChanged: boolean;
  readonly writtenBytes: number;
  readonly writtenKeys: number;
}

const EMPTY = new Uint8Array(0);

/** The engine key a replicated write names, or why it names none. */
function engineKeyOf(key: Uint8Array, tag: number, ts: Uint8Array | null | undefined): Uint8Array | string {
  const versioned = tag === RecordTag.Write || tag === RecordTag.Data;
  if (!versioned && tag !== RecordTag.Raw && tag !== RecordTag.Lock) return `unknown record tag ${tag}`;
  if (versioned !== (ts !== null && ts !== undefined && ts.byteLength > 0)) return `record tag ${tag} with${versioned ? 'out' : ''} a timestamp`;
  try {
    return recordKey(key, tag, versioned ? decodeTs(ts) : undefined);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

function epochNotMatch(region: Region, why: string): kvpb.IRegionError {
  return { message: `stale region epoch: ${why}`, epochNotMatch: { currentRegions: [region] } };
}

export function applyRegionEntries(store: Store, batch: WriteBatch, peer: Peer, entries: readonly Entry[]): ApplyEffects {
  const settle: Array<() => void> = [];
  const splits: SplitResult[] = [];
  let destroySelf = false;
  let regionChanged = false;
  let writtenBytes = 0;
  let writtenKeys = 0;

  for (const e of entries) {
    if (e.kind === 'confChange') {
      const changed = applyConfChangeEntry(store, batch, peer, e, settle);
      if (changed) {
        regionChanged = true;
        if (!peersOf(peer.region).some((p) => p.id === peer.peerId)) destroySelf = true;
      }
      continue;
    }
    if (e.data.byteLength === 0) continue; // a new leader's empty entry
    let cmd: raftcmdpb.RaftCommand;
    try {
      cmd = decodeCommand(e.data);
    } catch (err) {
      // Every replica meets the same bytes and skips them alike.
      store.logger.warn('skipping an undecodable committed command', { region: peer.groupId, index: e.index, error: String(err) });
      continue;
    }
    const header = cmd.header ?? {};
    const region = peer.region;
    const current = epochOf(region);
    const proposed = { confVer: Number(header.regionEpoch?.confVer ?? 0), version: Number(header.regionEpoch?.version ?? 0) };
    if (Number(header.regionId ?? 0) !== peer.groupId) {
      settle.push(() => peer.settleProposal(e.index, e.term, { kind: 'regionError', error: { message: 'command for another region', regionNotFound: { regionId: Number(header.regionId ?? 0) } } }));
      continue;
    }
    if (cmd.admin?.split) {
      const result = applySplit(store, batch, peer, cmd.admin.split, proposed);
      if (result.kind === 'ok') {
        splits.push(result.split);
        regionChanged = true;
        settle.push(() => peer.settleProposal(e.index, e.term, { kind: 'applied', result: result.split }));
      } else {
        const error = result.error;
        settle.push(() => peer.settleProposal(e.index, e.term, { kind: 'regionError', error }));
      }
      continue;
    }
    if (cmd.gcSafePoint && cmd.gcSafePoint.byteLength > 0) {
      // Region-wide, not tied to a key range: applies whatever the version (and never lowers it).
      let safePoint: bigint;
      try {
        safePoint = decodeTs(cmd.gcSafePoint);
      } catch {
        settle.push(() => peer.settleProposal(e.index, e.term, { kind: 'regionError', error: { message: 'malformed gc safe point' } }));
        continue;
      }
      if (safePoint > peer.gcSafePoint) peer.gcSafePoint = safePoint;
      if (cmd.writes.length === 0) {
        settle.push(() => peer.settleProposal(e.index, e.term, { kind: 'applied', result: undefined }));
        continue;
      }
    }
    // A write proposed against another key range (a split came in between) must not land here:
    // its keys may now belong to another Region.
    if (proposed.version !== current.version) {
      const error = epochNotMatch(region, `command proposed at version ${proposed.version}, region is at ${current.version}`);
      settle.push(() => peer.settleProposal(e.index, e.term, { kind: 'regionError', error }));
      continue;
    }
    let outside: Uint8Array | undefined;
    for (const w of cmd.writes) {
      const key = w.put?.key ?? w.delete?.key ?? new Uint8Array(0);
      if (!keyInRegion(key, region)) {
        outside = key;
        break;
      }
    }
    if (outside !== undefined) {
      const key = outside;
      settle.push(() =>
        peer.settleProposal(e.index, e.term, {
          kind: 'regionError',
          error: { message: 'key not in region', keyNotInRegion: { key, regionId: peer.groupId, startKey: startKey(region), endKey: endKey(region) } },
        }),
      );
      continue;
    }
    const staged: Array<[Uint8Array, Uint8Array | undefined]> = [];
    let malformed: string | undefined;
    for (const w of cmd.writes) {
      const op = w.put ?? w.delete;
      const located = op ? engineKeyOf(op.key ?? EMPTY, op.tag ?? 0, op.ts) : 'a write with neither put nor delete';
      if (typeof located === 'string') {
        malformed = located;
        break;
      }
      staged.push([located, w.put ? (w.put.value ?? EMPTY) : undefined]);
    }
    if (malformed !== undefined) {
      // Every replica meets the same bytes and refuses them alike.
      const message = `malformed write command: ${malformed}`;
      settle.push(() => peer.settleProposal(e.index, e.term, { kind: 'regionError', error: { message } }));
      continue;
    }
    for (const [key, value] of staged) {
      if (value !== undefined) {
        batch.put(key, value);
        writtenBytes += key.byteLength + value.byteLength;
        writtenKeys++;
      } else {
        batch.del(key);
      }
    }
    settle.push(() => peer.settleProposal(e.index, e.term, { kind: 'applied', result: undefined }));
  }
  const last = entries[entries.length - 1]!;
  return { lastIndex: last.index, lastTerm: last.term, settle, splits, destroySelf, regionChanged, writtenBytes, writtenKeys };
}

function applyConfChangeEntry(store: Store, batch: WriteBatch, peer: Peer, e: Entry, settle: Array<() => void>): boolean {
  let decoded: ReturnType<typeof decodeConfChangeWithContext>;
  try {
    decoded = decodeConfChangeWithContext(e.data);
  } catch (err) {
    store.logger.warn('skipping an undecodable conf change', { region: peer.groupId, index: e.index, error: String(err) });
    return false;
  }
  const { cc, context } = decoded;
  const region = peer.region;
  const current = epochOf(region);
  // Leaving a joint configuration is proposed by Raft itself and carries no context.
  const leaving = cc.changes.length === 0;
  if (!leaving) {
    const proposed = Number(context.header?.regionEpoch?.confVer ?? -1);
    if (proposed !== current.confVer) {
      const error = epochNotMatch(region, `membership change proposed at conf_ver ${proposed}, region is at ${current.confVer}`);
      settle.push(() => peer.settleProposal(e.index, e.term, { kind: 'regionError', error }));
      return false;
    }
  }
  const result = peer.raft.applyConfChange(cc);
  if (result.rejected !== undefined) {
    const error: kvpb.IRegionError = { message: `membership change refused: ${result.rejected}` };
    settle.push(() => peer.settleProposal(e.index, e.term, { kind: 'regionError', error }));
    return false;
  }
  const known = [...peersOf(region), ...context.peers.map((p) => ({ id: Number(p.id ?? 0), storeId: Number(p.storeId ?? 0), role: p.role ?? 0 }))];
  const updated = cloneRegion(region);
  updated.peers = peersForConfState(result.confState, known);
  updated.epoch = { confVer: current.confVer + 1, version: current.version };
  peer.region = updated;
  store.stageRegionState(batch, updated);
  peer.storage.stageSetConfState(batch, result.confState);
  store.logger.info('applied a membership change', { region: describeRegion(updated), index: e.index });
  settle.push(() => peer.settleProposal(e.index, e.term, { kind: 'applied', result: updated }));
  return true;
}

type SplitOutcome = { kind: 'ok'; split: SplitResult } | { kind: 'error'; error: kvpb.IRegionError };

function applySplit(
  store: Store,
  batch: WriteBatch,
  peer: Peer,
  split: raftcmdpb.ISplitCommand,
  proposed: { confVer: number; version: number },
): SplitOutcome {
  const region = peer.region;
  const current = epochOf(region);
  if (proposed.version !== current.version || proposed.confVer !== current.confVer) {
    return { kind: 'error', error: epochNotMatch(region, 'split proposed against an older epoch') };
  }
  const splitKey = split.splitKey ?? new Uint8Array(0);
  const end = endKey(region);
  if (compareBytes(splitKey, startKey(region)) <= 0 || (end.byteLength > 0 && compareBytes(splitKey, end) >= 0)) {
    return { kind: 'error', error: { message: 'split key is not strictly inside the region' } };
  }
  if (peer.raft.status().config.votersOutgoing.length > 0) {
    return { kind: 'error', error: { message: 'cannot split during a membership change' } };
  }
  const peers = peersOf(region);
  const newPeerIds = (split.newPeerIds ?? []).map(Number);
  const newRegionId = Number(split.newRegionId ?? 0);
  if (newPeerIds.length !== peers.length || newRegionId === 0) {
    return { kind: 'error', error: { message: 'split ids do not match the region' } };
  }
  const version = current.version + 1;
  const left = cloneRegion(region);
  left.endKey = splitKey;
  left.epoch = { confVer: current.confVer, version };
  const right: Region = {
    id: newRegionId,
    startKey: splitKey,
    endKey: end,
    epoch: { confVer: current.confVer, version },
    peers: peers.map((p, i) => ({ id: newPeerIds[i], storeId: p.storeId, role: p.role })),
  };
  peer.region = left;
  store.stageRegionState(batch, left);
  const self = peers.findIndex((p) => p.id === peer.peerId);
  const rightPeerId = newPeerIds[self] ?? 0;
  const rightPeer = store.prepareSplitPeer(batch, right, rightPeerId, peer.gcSafePoint);
  store.logger.info('applied a split', { left: describeRegion(left), right: describeRegion(right) });
  return { kind: 'ok', split: { left, right, rightPeerId, rightPeer } };
}
