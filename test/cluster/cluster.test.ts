// A real three-node cluster, then four, as processes on loopback. The steps build on each other,
// as an operator's day would: init, load, splits, a crash, restarts, a placement-driver failover,
// a store lost for good and replaced by a new node.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ClassicLevel } from 'classic-level';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { PdClient, RawKvClient } from '../../src/client/index.js';
import { userRange as dataRange } from '../../src/kv/keys.js';
import { ProcessCluster, ensureBuilt, failureTrackingSteps, waitUntil, type ProcNode } from './harness.js';

const ELECTION_TIMEOUT_MS = 1000; // 10 ticks of 100 ms
const STORE_DOWN_TIMEOUT_MS = 8000;
const KEYS = 100_000;

const cluster = new ProcessCluster({
  'raft-tick-interval': '100ms',
  'raft-election-ticks': '10',
  'store-down-timeout': `${STORE_DOWN_TIMEOUT_MS}ms`,
  'region-split-size': '192KiB',
  'raft-log-gc-threshold': '64',
  'log-level': process.env.CAIRN_TEST_LOG_LEVEL ?? 'info',
});
let n1: ProcNode;
let n2: ProcNode;
let n3: ProcNode;
let kv: RawKvClient;
let pd: PdClient;
let failed = false;
/** Measured figures, printed at the end for the record. */
const figures: Record<string, number | string> = {};

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const keyOf = (i: number): string => `user${String(i).padStart(7, '0')}`;
const valueOf = (i: number, round = 0): string => `value-${i}-${round}-${'x'.repeat(16)}`;

async function allRegions(): Promise<Awaited<ReturnType<PdClient['scanRegions']>>> {
  return pd.scanRegions(new Uint8Array(0), new Uint8Array(0), 0);
}

/** Writes one key in every Region, returning how long the slowest write took. */
async function writeEverywhere(round: number): Promise<number> {
  const regions = await allRegions();
  const started = Date.now();
  await Promise.all(
    regions.map(async ({ region }) => {
      const key = region.startKey.byteLength > 0 ? `${dec(region.startKey)}~probe` : 'a~probe';
      await kv.put(enc(key), enc(`probe-${round}`));
    }),
  );
  return Date.now() - started;
}

async function storeIdOf(node: ProcNode): Promise<number> {
  return (await cluster.nodeStatus(node)).storeId;
}

describe('a cluster of real processes', () => {
  beforeAll(async () => {
    ensureBuilt();
    await cluster.setup();
    n1 = await cluster.define('n1');
    n2 = await cluster.define('n2');
    n3 = await cluster.define('n3');
    cluster.joinList = [n1.grpc, n2.grpc, n3.grpc];
    for (const n of [n1, n2, n3]) cluster.start(n);
    ({ kv, pd } = cluster.kvClient());
  }, 120_000);

  afterAll(async () => {
    process.stdout.write(`cluster figures: ${JSON.stringify(figures)}\n`);
    const keep = failed || process.env.CAIRN_KEEP_LOGS === '1';
    if (keep) process.stdout.write(`cluster logs kept in ${cluster.rootDir}\n`);
    await cluster.close(keep);
  });

  const step = failureTrackingSteps(() => {
    failed = true;
  });

  step('nodes start alive but not ready; init bootstraps the cluster once and is safe to re-run', async () => {
    await waitUntil(async () => {
      try {
        return (await cluster.http(n1, '/health')).status === 200;
      } catch {
        return false;
      }
    }, 30_000, 'n1 to be alive');
    const notReady = await cluster.http(n1, '/health?ready=1');
    expect(notReady.status).toBe(503);
    const init = cluster.cli(['init', `--host=${n1.grpc}`]);
    expect(init.stderr).toBe('');
    expect(init.status).toBe(0);
    expect(init.stdout).toMatch(/cluster successfully initialized/);
    for (const n of [n1, n2, n3]) await cluster.waitReady(n);
    const again = cluster.cli(['init', `--host=${n2.grpc}`]);
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/already initialized/);
  }, 180_000);

  step(`${KEYS} keys are written and read back`, async () => {
    const started = Date.now();
    const batch = 500;
    const batches: number[] = [];
    for (let i = 0; i < KEYS; i += batch) batches.push(i);
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < batches.length) {
          const from = batches[next++]!;
          const mutations = [];
          for (let i = from; i < Math.min(from + batch, KEYS); i++) mutations.push({ op: 'put' as const, key: enc(keyOf(i)), value: enc(valueOf(i)) });
          await kv.batchWrite(mutations);
        }
      }),
    );
    figures.loadKeysPerSecond = Math.round(KEYS / ((Date.now() - started) / 1000));
    const readStarted = Date.now();
    const pairs = await kv.scan(enc(''), enc(''), KEYS);
    figures.scanAllMs = Date.now() - readStarted;
    expect(pairs.length).toBe(KEYS);
    pairs.forEach((p, i) => {
      expect(dec(p.key)).toBe(keyOf(i));
      expect(dec(p.value)).toBe(valueOf(i));
    });
    for (let i = 0; i < KEYS; i += 997) expect(dec((await kv.get(enc(keyOf(i))))!)).toBe(valueOf(i));
    expect(await kv.get(enc('user-missing'))).toBeUndefined();
  }, 300_000);

  step('Regions split into at least 8, each with 3 voters and a leader; scans stay correct across boundaries', async () => {
    // Splits and replica additions settle a little after the load; wait until the listing, from
    // any node, shows at least 8 Regions, each with 3 peers and a leader.
    type Line = { id: number; start: string; end: string; peers: Array<{ role: string }>; leader: unknown };
    let lines: Line[] = [];
    await waitUntil(async () => {
      const listed = cluster.cli(['debug', 'regions', `--host=${n3.grpc}`]);
      if (listed.status !== 0) return false;
      lines = listed.stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);
      // Three voters: a Region still promoting a learner would not survive the kill that follows.
      return lines.length >= 8 && lines.every((l) => l.peers.length === 3 && l.peers.every((p) => p.role === 'voter') && l.leader !== null);
    }, 120_000, 'at least 8 fully replicated regions with leaders', 1000);
    figures.regions = lines.length;
    expect(lines.length).toBeGreaterThanOrEqual(8);
    for (const line of lines) {
      expect(line.peers.map((p) => p.role)).toEqual(['voter', 'voter', 'voter']);
      expect(line.leader).not.toBeNull();
    }
    // The ranges tile the key space.
    expect(lines[0]!.start).toBe('');
    expect(lines[lines.length - 1]!.end).toBe('');
    for (let i = 1; i < lines.length; i++) expect(lines[i]!.start).toBe(lines[i - 1]!.end);
    // A scan across several boundaries, with a limit, in key order.
    const from = 31_337;
    const pairs = await kv.scan(enc(keyOf(from)), enc(keyOf(from + 20_000)), 15_000);
    expect(pairs.length).toBe(15_000);
    pairs.forEach((p, i) => expect(dec(p.key)).toBe(keyOf(from + i)));
  }, 180_000);

  let killed: ProcNode;

  step('kill -9 of the node holding most leaders: writes succeed again within election timeout + 2 s', async () => {
    const counts = await Promise.all([n1, n2, n3].map(async (n) => (await cluster.regions(n)).filter((r) => r.leader).length));
    const most = counts.indexOf(Math.max(...counts));
    killed = [n1, n2, n3][most]!;
    figures.leadersOnKilledNode = counts[most]!;
    await writeEverywhere(0);
    await cluster.kill9(killed);
    const killedAt = Date.now();
    figures.killedAt = new Date(killedAt).toISOString();
    await writeEverywhere(1);
    figures.failoverMs = Date.now() - killedAt;
    expect(Date.now() - killedAt).toBeLessThan(ELECTION_TIMEOUT_MS + 2000);
  }, 60_000);

  step('the killed node restarts and catches up', async () => {
    // Writes while it is down, so that it has something to catch up on.
    for (let i = 0; i < 2000; i += 10) await kv.put(enc(keyOf(i)), enc(valueOf(i, 1)));
    const started = Date.now();
    cluster.start(killed);
    await cluster.waitReady(killed);
    await waitUntil(async () => caughtUp(killed), 60_000, `${killed.name} to catch up`, 250);
    figures.restartCatchUpMs = Date.now() - started;
    expect(dec((await kv.get(enc(keyOf(1990))))!)).toBe(valueOf(1990, 1));
  }, 120_000);

  step('a node that missed compacted log entries catches up by snapshot', async () => {
    const victim = killed === n2 ? n3 : n2;
    await cluster.kill9(victim);
    // Far more entries than the log keeps (GC threshold 64, 128 kept behind the applied index).
    for (let round = 2; round < 6; round++) {
      const mutations = [];
      for (let i = 0; i < KEYS; i += 400) mutations.push({ op: 'put' as const, key: enc(keyOf(i)), value: enc(valueOf(i, round)) });
      for (const m of mutations) await kv.put(m.key, m.value);
    }
    const started = Date.now();
    cluster.start(victim);
    await cluster.waitReady(victim);
    await waitUntil(async () => caughtUp(victim), 90_000, `${victim.name} to catch up by snapshot`, 250);
    figures.snapshotCatchUpMs = Date.now() - started;
    expect(readFileSync(victim.log, 'utf8')).toMatch(/applied a snapshot/);
  }, 180_000);

  step('killing the placement-driver leader elects another; timestamps never go backwards', async () => {
    const before = await pd.getTimestamp();
    const statuses = await Promise.all([n1, n2, n3].map((n) => cluster.nodeStatus(n)));
    const leaderIndex = statuses.findIndex((s) => s.pdLeader);
    expect(leaderIndex).toBeGreaterThanOrEqual(0);
    const pdLeader = [n1, n2, n3][leaderIndex]!;
    await cluster.kill9(pdLeader);
    const killedAt = Date.now();
    const after = await pd.getTimestamp();
    figures.pdFailoverMs = Date.now() - killedAt;
    // physical << 18 | logical does not fit a double: compare as bigints.
    const ts = (t: { physical: number; logical: number }): bigint => (BigInt(t.physical) << 18n) | BigInt(t.logical);
    expect(ts(after) > ts(before)).toBe(true);
    const more = await pd.getTimestamps(100);
    for (let i = 1; i < more.length; i++) expect(ts(more[i]!) > ts(more[i - 1]!)).toBe(true);
    cluster.start(pdLeader);
    await cluster.waitReady(pdLeader);
  }, 120_000);

  step('a fourth node takes over the replicas of a store that stays down past the store-down timeout', async () => {
    const n4 = await cluster.define('n4');
    cluster.start(n4);
    await cluster.waitReady(n4);
    const goneStore = await storeIdOf(n3);
    await cluster.kill9(n3);
    const started = Date.now();
    await waitUntil(async () => {
      const regions = await allRegions();
      return regions.every(
        (r) => r.leader !== undefined && r.region.peers.length === 3 && r.region.peers.every((p) => p.role === 0 && p.storeId !== goneStore),
      );
    }, STORE_DOWN_TIMEOUT_MS + 120_000, 'every region to have 3 replicas off the dead store', 500);
    figures.replaceDownStoreMs = Date.now() - started;
    // Data is intact.
    const pairs = await kv.scan(enc(''), enc(''), KEYS);
    expect(pairs.length).toBe(KEYS);
  }, 240_000);

  step('every live replica holds the same data, byte for byte', async () => {
    const live = cluster.nodes.filter((n) => n.proc !== undefined);
    expect(live).toHaveLength(3);
    for (const n of live) await waitUntil(async () => caughtUp(n), 60_000, `${n.name} to apply everything`, 250);
    for (const n of live) expect(await cluster.terminate(n)).toBe(0);
    const digests: Array<{ keys: number; digest: string }> = [];
    for (const n of live) {
      const db = new ClassicLevel<Uint8Array, Uint8Array>(n.dir, { keyEncoding: 'view', valueEncoding: 'view' });
      await db.open();
      const hash = createHash('sha256');
      let keys = 0;
      try {
        for await (const [k, v] of db.iterator(dataRange(new Uint8Array(0), new Uint8Array(0)))) {
          hash.update(k).update(v);
          keys++;
        }
      } finally {
        await db.close();
      }
      digests.push({ keys, digest: hash.digest('hex') });
    }
    figures.replicaKeys = digests[0]!.keys;
    // Every user key plus the probes written in each Region.
    expect(digests[0]!.keys).toBeGreaterThan(KEYS);
    for (const d of digests) expect(d).toEqual(digests[0]);
  }, 120_000);
});

/** Every Region this node holds has applied as far as the Region's leader has. */
async function caughtUp(node: ProcNode): Promise<boolean> {
  const others = cluster.nodes.filter((n) => n !== node && n.proc !== undefined);
  const leaderApplied = new Map<number, number>();
  for (const o of others) {
    try {
      for (const r of await cluster.regions(o)) if (r.leader) leaderApplied.set(r.id, r.appliedIndex);
    } catch {
      // a node that is down
    }
  }
  const mine = await cluster.regions(node);
  if (mine.length === 0) return false;
  return mine.every((r) => {
    const want = leaderApplied.get(r.id);
    return want === undefined || r.appliedIndex >= want;
  });
}
