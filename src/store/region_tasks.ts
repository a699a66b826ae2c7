// The work around the loop that is not Raft itself: reporting Regions to the placement driver and
// carrying out the steps it sends back, deciding splits, compacting logs, generating snapshots,
// creating the Regions splits give birth to, and destroying peers that were removed.
import { describeConfChange, type ConfChange, type ConfChangeSingle } from '../raft/index.js';
import { pdpb, raftcmdpb, type metapb } from '../proto/index.js';
import { userKeyOf, userRange as dataRange } from '../kv/keys.js';
import type { SplitResult } from './apply.js';
import type { PeerChange } from './command.js';
import type { Peer } from './peer.js';
import type { PlacementClient } from './placement.js';
import { compareBytes, describeRegion, endKey, epochOf, startKey } from './region.js';
import type { Store } from './store.js';

const SPLIT_SCAN_CHUNK = 1000;
/** After a check found a Region too large but could not split it, the next check waits this long. */
const SPLIT_RETRY_PAUSE_TICKS = 10;
/** A follower this far behind the applied index is reported as pending (catching up). */
const PENDING_LAG_ENTRIES = 100;
/** A failed store heartbeat (say, during a placement-driver election) is retried after this long. */
const STORE_HEARTBEAT_RETRY_MS = 1_000;

export class RegionTasks {
  private placement: PlacementClient | undefined;
  private storeHeartbeatTimer: NodeJS.Timeout | undefined;
  private storeHeartbeatRetry: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly heartbeatDue = new Set<Peer>();
  private readonly hibernateNotices = new Set<Peer>();
  private readonly deletingRanges: Array<{ start: Uint8Array; end: Uint8Array }> = [];
  private splitsInFlight = 0;
  private readonly safePointListeners: Array<(safePoint: bigint) => void> = [];

  constructor(private readonly store: Store) {}

  /** Called with the garbage-collection safe point of every store heartbeat's answer. */
  onGcSafePoint(listener: (safePoint: bigint) => void): void {
    this.safePointListeners.push(listener);
  }

  /** The placement driver, once the store is attached to one. */
  get placementClient(): PlacementClient | undefined {
    return this.placement;
  }

  setPlacement(client: PlacementClient): void {
    this.placement = client;
    client.onOperator((response) => this.handleOperator(response));
    // At once rather than one interval later: a restarted store must not look down for longer
    // than it takes to say it is back.
    this.sendStoreHeartbeat();
  }

  start(): void {
    const interval = this.store.tuning.storeHeartbeatIntervalMs;
    const beat = (): void => {
      this.sendStoreHeartbeat();
      this.storeHeartbeatTimer = setTimeout(beat, interval);
      this.storeHeartbeatTimer.unref();
    };
    beat();
  }

  stop(): void {
    this.stopped = true;
    if (this.storeHeartbeatTimer) clearTimeout(this.storeHeartbeatTimer);
    if (this.storeHeartbeatRetry) clearTimeout(this.storeHeartbeatRetry);
  }

  // ---- Ticks and iterations ------------------------------------------------------------------------

  onTick(): void {
    const now = this.store.now();
    const interval = this.store.tuning.regionHeartbeatIntervalMs;
    const hibernate = this.store.tuning.hibernate;
    for (const peer of this.store.peers.values()) {
      if (peer.isSystem || !peer.isLeader()) continue;
      if (now - peer.lastHeartbeatMs >= interval) this.heartbeatDue.add(peer);
      this.maybeCheckSplit(peer);
      if (!hibernate.enabled || peer.hibernating) continue;
      if (!this.leaderIsIdle(peer)) {
        peer.idleTicks = 0;
        continue;
      }
      if (++peer.idleTicks >= hibernate.idleTicks) this.hibernate(peer);
    }
  }

  /**
   * A leader may stop ticking when nothing can change without an outside event: every entry
   * is committed, applied and held by every member, and no request, transfer, membership change
   * or snapshot is under way.
   */
  private leaderIsIdle(peer: Peer): boolean {
    if (peer.pendingProposals.size > 0 || peer.readBatches.size > 0 || peer.nextReads !== undefined) return false;
    if (peer.snapshotRequested || peer.snapshotGenerating || peer.splitCheckInFlight) return false;
    const core = peer.raft.core;
    const last = core.log.lastIndex();
    if (core.leadTransferee !== 0 || core.log.committed !== last || peer.appliedIndex !== last) return false;
    // A learner is always on its way to becoming a voter: the placement driver promotes it once a
    // heartbeat shows it caught up, and a sleeping leader would never send that heartbeat.
    if (core.tracker.config.voters.isJoint || core.tracker.config.learners.size > 0) return false;
    let caughtUp = true;
    core.tracker.visit((_, pr) => {
      if (pr.match !== last) caughtUp = false;
    });
    return caughtUp;
  }

  private hibernate(peer: Peer): void {
    peer.hibernating = true;
    // The placement driver hears the Region's last state before it goes quiet.
    this.heartbeatDue.add(peer);
    // The notice must be the leader's last message: it goes out after this iteration's
    // messages (the heartbeats of this very tick among them), or a follower would be woken by
    // a heartbeat that arrives after it.
    this.hibernateNotices.add(peer);
    this.store.logger.debug('region hibernating', { region: peer.groupId });
  }

  /** Follow-up work once an iteration's writes are durable and its peers advanced. */
  async afterIteration(peers: readonly Peer[]): Promise<void> {
    for (const peer of peers) {
      if (peer.snapshotRequested && !peer.snapshotGenerating && !peer.destroyed) this.store.generateSnapshot(peer);
    }
    for (const peer of this.heartbeatDue) this.sendRegionHeartbeat(peer);
    this.heartbeatDue.clear();
    for (const peer of this.hibernateNotices) if (peer.hibernating && peer.isLeader()) this.store.sendHibernateNotices(peer);
    this.hibernateNotices.clear();
    await this.compactLogs(peers);
  }

  heartbeatSoon(peer: Peer): void {
    this.heartbeatDue.add(peer);
  }

  /** Reports every Region this store leads (a new placement-driver leader knows no leaders). */
  heartbeatAllLeaders(): void {
    for (const peer of this.store.peers.values()) if (!peer.isSystem && peer.isLeader()) this.heartbeatDue.add(peer);
    this.store.notify();
  }

  wake(peer: Peer, reason: 'traffic' | 'leaderUnreachable' = 'traffic'): void {
    if (!peer.hibernating) return;
    peer.hibernating = false;
    peer.idleTicks = 0;
    // Ticks that did not happen cannot vouch for a lease; a follower whose leader's store just
    // broke its connection need not wait out a lease nobody holds.
    peer.raft.resumeAfterPause({ leaderUnreachable: reason === 'leaderUnreachable' });
    this.store.touch(peer);
    this.store.logger.debug('region awake', { region: peer.groupId });
  }

  // ---- The placement driver ------------------------------------------------------------------------

  private sendStoreHeartbeat(): void {
    const placement = this.placement;
    if (placement === undefined || this.store.storeId === 0) return;
    const status = this.store.status();
    placement
      .storeHeartbeat({
        storeId: this.store.storeId,
        regionCount: status.regions,
        leaderCount: status.leaders,
        startTimeMs: 0,
      })
      .then(({ gcSafePoint }) => {
        for (const listener of this.safePointListeners) listener(gcSafePoint);
      })
      .catch((err: unknown) => {
        this.store.logger.debug('store heartbeat failed', { error: err instanceof Error ? err.message : String(err) });
        if (this.stopped || this.storeHeartbeatRetry !== undefined) return;
        this.storeHeartbeatRetry = setTimeout(() => {
          this.storeHeartbeatRetry = undefined;
          this.sendStoreHeartbeat();
        }, STORE_HEARTBEAT_RETRY_MS);
        this.storeHeartbeatRetry.unref();
      });
  }

  private sendRegionHeartbeat(peer: Peer): void {
    const placement = this.placement;
    if (placement === undefined || peer.destroyed || !peer.isLeader()) return;
    peer.lastHeartbeatMs = this.store.now();
    const status = peer.raft.status();
    const pendingPeers: metapb.IPeer[] = [];
    const downPeers: pdpb.IPeerStats[] = [];
    for (const p of peer.region.peers ?? []) {
      const id = Number(p.id ?? 0);
      if (id === peer.peerId) continue;
      const pr = status.progress?.get(id);
      if (pr === undefined || pr.state === 'snapshot' || pr.match + PENDING_LAG_ENTRIES < peer.appliedIndex) pendingPeers.push(p);
      if (pr !== undefined && !pr.recentActive) downPeers.push({ peer: p, downSeconds: 0 });
    }
    placement.regionHeartbeat({
      region: peer.region,
      leader: peer.selfMeta(),
      pendingPeers,
      downPeers,
      approximateSize: peer.approximateSize + peer.writtenBytes,
      approximateKeys: peer.approximateKeys + peer.writtenKeys,
      term: status.term,
    });
  }

  /** Carries out an operator step the placement driver sent for a Region this store leads. */
  private handleOperator(res: pdpb.IRegionHeartbeatResponse): void {
    const peer = this.store.peers.get(Number(res.regionId ?? 0));
    if (peer === undefined || peer.isSystem || !peer.isLeader()) return;
    const e = epochOf(peer.region);
    const asked = { confVer: Number(res.regionEpoch?.confVer ?? 0), version: Number(res.regionEpoch?.version ?? 0) };
    if (asked.confVer !== e.confVer || asked.version !== e.version) return; // based on a stale view; PD will resend
    if (res.transferLeader?.peer) {
      peer.raft.transferLeader(Number(res.transferLeader.peer.id ?? 0));
      this.store.touch(peer);
      this.store.notify();
      return;
    }
    const changes: PeerChange[] = [];
    const single = res.changePeer ? [res.changePeer] : res.changePeerV2?.changes ?? [];
    for (const c of single) {
      if (!c.peer) continue;
      const type: ConfChangeSingle['type'] =
        c.changeType === pdpb.ChangeType.ADD_LEARNER ? 'addLearner' : c.changeType === pdpb.ChangeType.REMOVE_NODE ? 'removeNode' : 'addNode';
      changes.push({ type, peer: c.peer });
    }
    if (changes.length === 0 && !res.changePeerV2) return;
    const header: raftcmdpb.ICommandHeader = { regionId: peer.groupId, peer: peer.selfMeta(), regionEpoch: peer.region.epoch ?? {} };
    const context = raftcmdpb.ConfChangeContext.encode({ header, peers: changes.map((c) => c.peer) }).finish();
    const cc: ConfChange = {
      transition: changes.length > 1 ? 'jointImplicit' : 'auto',
      changes: changes.map((c) => ({ type: c.type, nodeId: Number(c.peer.id ?? 0) })),
      context,
    };
    const result = peer.raft.proposeConfChange(cc);
    this.store.logger.info('proposed a membership change from the placement driver', {
      region: peer.groupId,
      change: describeConfChange(cc),
      result: result.kind,
      ...(result.kind === 'dropped' ? { reason: result.reason, detail: result.detail } : {}),
    });
    this.store.touch(peer);
    this.store.notify();
  }

  // ---- Splits --------------------------------------------------------------------------------------

  private maybeCheckSplit(peer: Peer): void {
    const { maxSizeBytes, maxKeys } = this.store.tuning.split;
    if (peer.splitCheckInFlight || this.placement === undefined) return;
    if (this.store.now() < peer.splitCheckNotBeforeMs) return;
    // Scanning is not free: check again only after a sixteenth of the limit was written.
    if (!peer.splitCheckDue && peer.writtenBytes < maxSizeBytes / 16 && peer.writtenKeys < maxKeys / 16) return;
    peer.splitCheckInFlight = true;
    this.splitsInFlight++;
    peer.splitCheckDue = false;
    this.checkSplit(peer)
      .then((oversizedButNotSplit) => {
        if (oversizedButNotSplit) this.splitCheckLater(peer);
      })
      .catch((err: unknown) => {
        this.store.logger.warn('split check failed', { region: peer.groupId, error: err instanceof Error ? err.message : String(err) });
        this.splitCheckLater(peer);
      })
      .finally(() => {
        peer.splitCheckInFlight = false;
        this.splitsInFlight--;
      });
  }

  /** Owes the Region another split check, after a pause (so a failing split does not spin). */
  private splitCheckLater(peer: Peer): void {
    peer.splitCheckDue = true;
    peer.splitCheckNotBeforeMs = this.store.now() + SPLIT_RETRY_PAUSE_TICKS * this.store.tuning.raft.tickIntervalMs;
  }

  /** Scans the Region; proposes a split if it is too large. True when it is but no split was applied. */
  private async checkSplit(peer: Peer): Promise<boolean> {
    const { maxSizeBytes, maxKeys } = this.store.tuning.split;
    const region = peer.region;
    const epoch = epochOf(region);
    const it = this.store.engine.db.iterator(dataRange(startKey(region), endKey(region)));
    let size = 0;
    let keys = 0;
    // Remember keys at every half-way candidate cheaply: the key where the running size first
    // passes half of the total is found in a second pass only when a split is needed.
    try {
      for (;;) {
        const chunk = await it.nextv(SPLIT_SCAN_CHUNK);
        if (chunk.length === 0) break;
        for (const [k, v] of chunk) {
          size += k.byteLength + v.byteLength;
          keys++;
        }
      }
    } finally {
      await it.close();
    }
    peer.approximateSize = size;
    peer.approximateKeys = keys;
    peer.writtenBytes = 0;
    peer.writtenKeys = 0;
    if (size <= maxSizeBytes && keys <= maxKeys) return false;
    const bySize = size > maxSizeBytes;
    const splitKey = await this.findMiddle(peer, bySize ? size / 2 : keys / 2, bySize);
    // No key to split at (one huge key): nothing to retry until more is written.
    if (splitKey === undefined) return false;
    if (!peer.isLeader() || peer.destroyed) return false;
    const now = epochOf(peer.region);
    if (now.version !== epoch.version || now.confVer !== epoch.confVer) return true;
    const ids = await this.placement!.askSplit(peer.region);
    const command: raftcmdpb.IRaftCommand = {
      header: { regionId: peer.groupId, peer: peer.selfMeta(), regionEpoch: peer.region.epoch ?? {} },
      admin: { split: { splitKey, newRegionId: ids.newRegionId, newPeerIds: ids.newPeerIds } },
    };
    this.store.logger.info('splitting a region', { region: describeRegion(peer.region), sizeBytes: size, keys, splitKey: Buffer.from(splitKey).toString('hex') });
    const outcome = await this.store.proposeCommand(peer, command);
    if (outcome.kind === 'regionError') {
      this.store.logger.info('split not applied', { region: peer.groupId, error: outcome.error.message });
      return true;
    }
    return false;
  }

  /** The first user key at which the running size (or count) passes `target`. */
  private async findMiddle(peer: Peer, target: number, bySize: boolean): Promise<Uint8Array | undefined> {
    const region = peer.region;
    const it = this.store.engine.db.iterator(dataRange(startKey(region), endKey(region)));
    let running = 0;
    let firstKey: Uint8Array | undefined;
    try {
      for (;;) {
        const chunk = await it.nextv(SPLIT_SCAN_CHUNK);
        if (chunk.length === 0) return undefined;
        for (const [k, v] of chunk) {
          running += bySize ? k.byteLength + v.byteLength : 1;
          firstKey ??= userKeyOf(k);
          if (running < target) continue;
          // Split at a user key (all its records and versions go right), never at the Region's
          // first one: the left half would be empty.
          const key = userKeyOf(k);
          if (compareBytes(key, firstKey) > 0) return key;
        }
      }
    } finally {
      await it.close();
    }
  }

  onSplitApplied(left: Peer, split: SplitResult): void {
    const store = this.store;
    const right = split.rightPeer;
    // Either half may still be over the limit (a check splits once, in the middle).
    left.splitCheckDue = true;
    if (right === undefined) return;
    store.adoptSplitPeer(right);
    if (left.isLeader()) {
      // The left leader's store leads the right half too, so the split costs no election wait.
      // Stores that have not applied the split yet drop the vote requests (their left Region
      // still covers the range), so campaign again shortly if still leaderless.
      right.raft.campaign();
      const retry = setTimeout(() => {
        if (!right.destroyed && right.leaderId() === 0) {
          right.raft.campaign();
          store.touch(right);
          store.notify();
        }
      }, 3 * store.tuning.raft.tickIntervalMs);
      retry.unref();
      this.heartbeatSoon(left);
      this.heartbeatSoon(right);
      this.placement?.reportSplit(split.left, split.right).catch((err: unknown) =>
        store.logger.warn('reporting a split failed', { error: err instanceof Error ? err.message : String(err) }),
      );
    }
    store.touch(right);
    store.notify();
  }

  // ---- Log compaction ------------------------------------------------------------------------------

  private async compactLogs(peers: readonly Peer[]): Promise<void> {
    const { thresholdEntries, keepEntries } = this.store.tuning.logGc;
    const todo = peers.filter((p) => !p.destroyed && p.appliedIndex - p.storage.firstIndex() > thresholdEntries);
    if (todo.length === 0) return;
    const batch = this.store.engine.newBatch();
    for (const peer of todo) {
      const index = peer.appliedIndex;
      const compactTo = index - keepEntries;
      if (compactTo < peer.storage.firstIndex()) continue;
      // The storage's rule: a compaction never passes the latest snapshot, so record one (its
      // data is produced on demand from the engine when a follower needs it).
      if (peer.storage.snapshot().meta.index < index) peer.storage.stageCreateSnapshot(batch, index, peer.raft.status().config, new Uint8Array(0));
      peer.storage.stageCompact(batch, compactTo);
    }
    await batch.commit({ sync: false });
  }

  // ---- Destroying peers ----------------------------------------------------------------------------

  /** The peer applied its own removal: delete its state and, if no other Region covers it, its data. */
  destroyRemovedPeer(peer: Peer): void {
    if (peer.destroyed) return;
    peer.destroyed = true;
    const store = this.store;
    const batch = store.engine.newBatch();
    peer.storage.stageDestroy(batch);
    store.stageTombstone(batch, peer.region, peer.peerId);
    const range = { start: startKey(peer.region), end: endKey(peer.region) };
    const ownData = peer.initialized && store.overlappingPeer(range.start, range.end, peer.groupId) === undefined;
    batch
      .commit({ sync: true })
      .then(async () => {
        store.peers.delete(peer.groupId);
        const error = { message: `region ${peer.groupId} was removed from this store`, regionNotFound: { regionId: peer.groupId } };
        peer.failProposals(error);
        peer.failReads(error);
        store.logger.info('destroyed a removed peer', { region: describeRegion(peer.region), peer: peer.peerId });
        if (ownData) await this.deleteRange(range.start, range.end);
      })
      .catch((err: unknown) => store.logger.warn('destroying a peer failed', { region: peer.groupId, error: String(err) }));
  }

  /** A message says our peer is stale (removed, or replaced by a newer peer of ours). */
  destroyStalePeer(peer: Peer, epoch: metapb.IRegionEpoch): void {
    if (peer.isLeader()) return;
    const ours = epochOf(peer.region);
    const theirs = { confVer: Number(epoch.confVer ?? 0), version: Number(epoch.version ?? 0) };
    if (peer.initialized && theirs.confVer <= ours.confVer) return;
    this.destroyRemovedPeer(peer);
  }

  /** Deletes user data in [start, end) in bounded batches. */
  private async deleteRange(start: Uint8Array, end: Uint8Array): Promise<void> {
    this.deletingRanges.push({ start, end });
    const db = this.store.engine.db;
    const range = dataRange(start, end);
    let removed = 0;
    for (;;) {
      const it = db.keys({ gte: range.gte, lt: range.lt, limit: SPLIT_SCAN_CHUNK });
      const keys = await it.all();
      if (keys.length === 0) break;
      // A Region may have taken the range over meanwhile: never delete its keys.
      if (this.store.overlappingPeer(start, end) !== undefined) break;
      const batch = this.store.engine.newBatch();
      for (const k of keys) batch.del(k);
      await batch.commit({ sync: false });
      removed += keys.length;
    }
    this.deletingRanges.splice(this.deletingRanges.findIndex((r) => r.start === start), 1);
    this.store.logger.info('deleted the data of a removed region', { keys: removed, start: Buffer.from(start).toString('hex') });
  }

  get splitChecksInFlight(): number {
    return this.splitsInFlight;
  }
}
