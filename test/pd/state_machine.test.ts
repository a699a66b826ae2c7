// The PD's replicated state machine: each command's effect and refusal, the routing index after
// splits and merges, and the persisted form (writes → load gives back an equal state machine).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { metapb, pdstatepb } from '../../src/proto/index.js';
import { PdStateMachine, MAX_REGIONS_PER_COMMAND, type PdApplyResult } from '../../src/pd/state_machine.js';
import { clusterStateKey, regionKey, storeKey } from '../../src/pd/state_layout.js';
import { StorageCorruptionError } from '../../src/storage/errors.js';
import { pdStateKey } from '../../src/storage/keys.js';
import { bootstrapCommand, key, region, store } from './builders.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function bootstrapped(): PdStateMachine {
  const sm = new PdStateMachine();
  expect(sm.apply(bootstrapCommand()).outcome).toEqual({ kind: 'bootstrapped', clusterId: 7 });
  return sm;
}

function routedId(sm: PdStateMachine, k: string): number | undefined {
  return sm.regionByKey(key(k))?.id;
}

describe('bootstrap', () => {
  it('happens exactly once: the second bootstrap is rejected, writes nothing and changes nothing', () => {
    const sm = bootstrapped();
    const before = sm.snapshotPairs();
    const again = sm.apply(bootstrapCommand(99, 5_000));
    expect(again.outcome).toMatchObject({ kind: 'rejected', reason: 'already-bootstrapped' });
    expect(again).toHaveLength(0);
    expect(sm.clusterId).toBe(7);
    expect(sm.snapshotPairs()).toEqual(before);
  });

  it('persists cluster state, the first store and the first region, and allocates ids above theirs', () => {
    const sm = new PdStateMachine();
    const writes = sm.apply(bootstrapCommand());
    expect(writes.map((w) => hex(w.key))).toEqual([hex(clusterStateKey()), hex(storeKey(1)), hex(regionKey(2))]);
    expect(sm.clusterState()).toEqual({
      clusterId: 7,
      bootstrapped: true,
      bootstrapTimeMs: 1_000,
      idAllocatedEnd: 4, // peer 3 was the largest id used
      tsoPhysicalLimitMs: 0,
    });
    expect(routedId(sm, '')).toBe(2);
    expect(routedId(sm, 'zzz')).toBe(2);
  });

  it('refuses a first region that does not cover the key space or has no peer on the store', () => {
    const sm = new PdStateMachine();
    const partial = bootstrapCommand();
    partial.bootstrap!.region = region(2, 'a', '', { confVer: 1, version: 1 }, [[3, 1]]);
    expect(sm.apply(partial).outcome).toMatchObject({ kind: 'rejected', reason: 'malformed' });
    const elsewhere = bootstrapCommand();
    elsewhere.bootstrap!.region = region(2, '', '', { confVer: 1, version: 1 }, [[3, 9]]);
    expect(sm.apply(elsewhere).outcome).toMatchObject({ kind: 'rejected', reason: 'malformed' });
    expect(sm.bootstrapped).toBe(false);
  });
});

describe('malformed and unknown commands', () => {
  it('are ignored deterministically with a reason, and write nothing', () => {
    const sm = bootstrapped();
    const before = sm.snapshotPairs();
    const cases: pdstatepb.IPdCommand[] = [
      {},
      { allocIdWindow: { end: 10 }, tsoWindow: { physicalLimitMs: 10 } },
      { allocIdWindow: { end: -1 } },
      { tsoWindow: { physicalLimitMs: 2 ** 50 } },
      { putStore: { store: { id: 0, address: 'x' } } },
      { putStore: { store: { id: 5, address: '' } } },
      { putRegions: { regions: Array.from({ length: MAX_REGIONS_PER_COMMAND + 1 }, (_, i) => region(100 + i, '', '', { confVer: 1, version: 1 }, [[1, 1]])) } },
    ];
    for (const command of cases) {
      const result = sm.apply(command);
      expect(result.outcome.kind).toBe('rejected');
      expect(result).toHaveLength(0);
    }
    expect(sm.snapshotPairs()).toEqual(before);
  });

  it('reports invalid regions of a PutRegions individually and applies the valid ones', () => {
    const sm = bootstrapped();
    const result = sm.apply({
      putRegions: {
        regions: [
          region(2, '', 'm', { confVer: 1, version: 2 }, [[3, 1]]),
          region(8, 'z', 'a', { confVer: 1, version: 2 }, [[9, 1]]), // empty range
          region(10, 'm', '', { confVer: 1, version: 2 }, [[11, 1], [12, 1]]), // two peers on one store
        ],
      },
    });
    expect(result.outcome).toMatchObject({ kind: 'regions-put', updated: [2], invalid: [8, 10] });
  });
});

describe('id and TSO windows', () => {
  it('hands out disjoint id windows starting at 1, and refuses a window not past the last', () => {
    const sm = new PdStateMachine();
    expect(sm.apply({ allocIdWindow: { end: 1_001 } }).outcome).toEqual({ kind: 'id-window', start: 1, end: 1_001 });
    expect(sm.apply({ allocIdWindow: { end: 2_001 } }).outcome).toEqual({ kind: 'id-window', start: 1_001, end: 2_001 });
    expect(sm.apply({ allocIdWindow: { end: 1_500 } }).outcome).toMatchObject({ kind: 'rejected', reason: 'window-not-ahead' });
    expect(sm.apply({ allocIdWindow: { end: 10_000_000 } }).outcome).toMatchObject({ kind: 'rejected', reason: 'too-large' });
    expect(sm.idAllocatedEnd).toBe(2_001);
  });

  it('only moves the TSO limit forward and reports the limit it replaced', () => {
    const sm = new PdStateMachine();
    expect(sm.apply({ tsoWindow: { physicalLimitMs: 5_000 } }).outcome).toEqual({ kind: 'tso-window', previousLimitMs: 0, limitMs: 5_000 });
    expect(sm.apply({ tsoWindow: { physicalLimitMs: 4_000 } }).outcome).toMatchObject({ kind: 'rejected', reason: 'window-not-ahead' });
    expect(sm.apply({ tsoWindow: { physicalLimitMs: 9_000 } }).outcome).toEqual({ kind: 'tso-window', previousLimitMs: 5_000, limitMs: 9_000 });
    expect(sm.tsoPhysicalLimitMs).toBe(9_000);
  });
});

describe('stores', () => {
  it('needs a bootstrapped cluster', () => {
    const sm = new PdStateMachine();
    expect(sm.apply({ putStore: { store: store(4) } }).outcome).toMatchObject({ kind: 'rejected', reason: 'not-bootstrapped' });
  });

  it('never revives a tombstone and refuses an address another live store uses', () => {
    const sm = bootstrapped();
    expect(sm.apply({ putStore: { store: store(4) } }).outcome).toEqual({ kind: 'store-put', storeId: 4 });
    expect(sm.apply({ putStore: { store: store(5, { address: store(4).address }) } }).outcome).toMatchObject({
      kind: 'rejected',
      reason: 'address-in-use',
      detail: expect.stringContaining('store 4'),
    });
    expect(sm.apply({ putStore: { store: store(4, { state: metapb.StoreState.STORE_TOMBSTONE }) } }).outcome.kind).toBe('store-put');
    expect(sm.apply({ putStore: { store: store(4) } }).outcome).toMatchObject({ kind: 'rejected', reason: 'store-tombstone' });
    expect(sm.getStore(4)?.state).toBe(metapb.StoreState.STORE_TOMBSTONE);
    // The tombstone's address is free again.
    expect(sm.apply({ putStore: { store: store(5, { address: store(4).address }) } }).outcome.kind).toBe('store-put');
  });

  it('writes nothing for an identical PutStore', () => {
    const sm = bootstrapped();
    expect(sm.apply({ putStore: { store: store(1) } })).toHaveLength(0);
  });
});

describe('regions and routing', () => {
  const split = (sm: PdStateMachine): PdApplyResult =>
    sm.apply({
      putRegions: {
        regions: [
          region(10, '', 'm', { confVer: 1, version: 2 }, [[11, 1]]),
          region(2, 'm', '', { confVer: 1, version: 2 }, [[3, 1]]),
        ],
      },
    });

  it('routes by key after a split; the parent is replaced by its newer halves', () => {
    const sm = bootstrapped();
    const result = split(sm);
    expect(result.outcome).toMatchObject({ kind: 'regions-put', updated: [10, 2], removed: [2] });
    expect(routedId(sm, 'a')).toBe(10);
    expect(routedId(sm, 'm')).toBe(2);
    expect(routedId(sm, 'zz')).toBe(2);
    expect(sm.scanRegions(key(''), key(''), 10).map((r) => r.id)).toEqual([10, 2]);
    expect(sm.scanRegions(key('n'), key(''), 10).map((r) => r.id)).toEqual([2]);
    expect(sm.scanRegions(key(''), key('m'), 10).map((r) => r.id)).toEqual([10]);
    expect(sm.scanRegions(key(''), key(''), 1).map((r) => r.id)).toEqual([10]);
  });

  it('ignores stale reports: an older epoch of the same region, or an older region overlapping newer ones', () => {
    const sm = bootstrapped();
    split(sm);
    const before = sm.snapshotPairs();
    // The pre-split parent (version 1) arrives late: older than the halves it overlaps.
    const stale = sm.apply({ putRegions: { regions: [region(2, '', '', { confVer: 1, version: 1 }, [[3, 1]])] } });
    expect(stale.outcome).toMatchObject({ kind: 'regions-put', stale: [2], updated: [] });
    // An older conf_ver of region 10 is stale too, even with the same version.
    const olderConf = sm.apply({ putRegions: { regions: [region(10, '', 'm', { confVer: 0, version: 2 }, [[11, 1]])] } });
    expect(olderConf.outcome).toMatchObject({ stale: [10] });
    // A region never seen before, overlapping newer regions with an older version, is stale too.
    const olderOverlap = sm.apply({ putRegions: { regions: [region(30, 'a', 'c', { confVer: 5, version: 1 }, [[31, 1]])] } });
    expect(olderOverlap.outcome).toMatchObject({ stale: [30] });
    expect(sm.snapshotPairs()).toEqual(before);
    expect(routedId(sm, 'a')).toBe(10);
  });

  it('accepts a newer conf_ver (membership change) and a merge that removes the source region', () => {
    const sm = bootstrapped();
    split(sm);
    const added = sm.apply({ putRegions: { regions: [region(10, '', 'm', { confVer: 2, version: 2 }, [[11, 1], [12, 4]])] } });
    expect(added.outcome).toMatchObject({ updated: [10] });
    expect(sm.getRegion(10)?.peers.map((p) => p.storeId)).toEqual([1, 4]);
    const merged = sm.apply({ putRegions: { regions: [region(2, '', '', { confVer: 2, version: 3 }, [[3, 1]])] } });
    expect(merged.outcome).toMatchObject({ updated: [2], removed: [10] });
    expect(merged.some((w) => w.value === null && hex(w.key) === hex(regionKey(10)))).toBe(true);
    expect(sm.getRegion(10)).toBeUndefined();
    expect(routedId(sm, 'a')).toBe(2);
  });
});

describe('persistence', () => {
  it('refuses a damaged value and a key this version does not write', () => {
    const sm = bootstrapped();
    const pairs = sm.snapshotPairs();
    const [stateKey, stateValue] = pairs[0]!;
    const flipped = Uint8Array.from(stateValue);
    flipped[0]! ^= 0x01;
    expect(() => PdStateMachine.load([[stateKey, flipped], ...pairs.slice(1)])).toThrow(StorageCorruptionError);
    expect(() => PdStateMachine.load([...pairs, [pdStateKey(Uint8Array.of(0x7f)), stateValue]])).toThrow(StorageCorruptionError);
    // A record copied under another key fails its checksum.
    const [, storeValue] = pairs[1]!;
    expect(() => PdStateMachine.load([[storeKey(9), storeValue]])).toThrow(StorageCorruptionError);
  });

  it('restore() replaces the contents in place (a Raft snapshot of the PD group)', () => {
    const source = bootstrapped();
    source.apply({ allocIdWindow: { end: 5_000 } });
    const target = new PdStateMachine();
    target.apply({ tsoWindow: { physicalLimitMs: 123 } });
    target.restore(source.snapshotPairs());
    expect(target.snapshotPairs()).toEqual(source.snapshotPairs());
    expect(target.idAllocatedEnd).toBe(5_000);
  });

  // Commands over a small universe of ids and keys, so that overlaps, stale epochs, tombstones
  // and address clashes actually happen.
  const keys = ['', 'b', 'd', 'k', 'p', 'x'];
  const peerArb = fc.tuple(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 1 }));
  const regionArb = fc
    .record({
      id: fc.integer({ min: 1, max: 8 }),
      start: fc.constantFrom(...keys),
      end: fc.constantFrom(...keys),
      confVer: fc.integer({ min: 0, max: 4 }),
      version: fc.integer({ min: 0, max: 4 }),
      peers: fc.uniqueArray(peerArb, { minLength: 1, maxLength: 3, selector: (p) => p[1] }),
    })
    .map((r) => region(r.id, r.start, r.end, { confVer: r.confVer, version: r.version }, r.peers.map(([p, s, role]) => [p, s, role] as const)));
  const commandArb: fc.Arbitrary<pdstatepb.IPdCommand> = fc.oneof(
    fc.constant(bootstrapCommand()),
    fc.integer({ min: 1, max: 50_000 }).map((end) => ({ allocIdWindow: { end } })),
    fc.integer({ min: 1, max: 50_000 }).map((limit) => ({ tsoWindow: { physicalLimitMs: limit } })),
    fc
      .record({ id: fc.integer({ min: 1, max: 5 }), addr: fc.integer({ min: 1, max: 3 }), state: fc.integer({ min: 0, max: 2 }) })
      .map(({ id, addr, state }) => ({ putStore: { store: store(id, { address: `10.0.0.${addr}:1`, state }) } })),
    fc.array(regionArb, { minLength: 1, maxLength: 4 }).map((regions) => ({ putRegions: { regions } })),
  );

  it('property: apply → persist the writes → load gives an equal state machine, and a replica applying decoded entries agrees', () => {
    fc.assert(
      fc.property(fc.array(commandArb, { maxLength: 40 }), (commands) => {
        const live = new PdStateMachine();
        const replica = new PdStateMachine();
        const disk = new Map<string, [Uint8Array, Uint8Array]>();
        for (const command of commands) {
          const result = live.apply(command);
          // The replica applies the command as the store does: decoded from its log entry.
          const replicaResult = replica.apply(pdstatepb.PdCommand.decode(pdstatepb.PdCommand.encode(command).finish()));
          expect(replicaResult.outcome).toEqual(result.outcome);
          expect([...replicaResult]).toEqual([...result]);
          for (const write of result) {
            if (write.value === null) disk.delete(hex(write.key));
            else disk.set(hex(write.key), [write.key, write.value]);
          }
          // Routing never holds overlapping regions.
          const routed = live.regions();
          for (let i = 1; i < routed.length; i++) {
            const prev = routed[i - 1]!;
            expect(prev.endKey.byteLength).toBeGreaterThan(0);
            expect(Buffer.compare(prev.endKey, routed[i]!.startKey)).toBeLessThanOrEqual(0);
          }
        }
        const loaded = PdStateMachine.load(disk.values());
        expect(loaded.clusterState()).toEqual(live.clusterState());
        expect(loaded.stores()).toEqual(live.stores());
        expect(loaded.regions()).toEqual(live.regions());
        expect(loaded.snapshotPairs()).toEqual(live.snapshotPairs());
        // The persisted form is exactly the snapshot (no leftovers, nothing missing).
        const diskPairs = [...disk.values()].sort((a, b) => Buffer.compare(a[0], b[0]));
        const snapshot = live.snapshotPairs().filter(([k]) => disk.has(hex(k)) || hex(k) !== hex(clusterStateKey()));
        expect(diskPairs).toEqual(snapshot);
        for (const probe of ['', 'a', 'c', 'k', 'q', 'zz']) expect(routedId(loaded, probe)).toBe(routedId(live, probe));
      }),
      { numRuns: 300 },
    );
  });
});
